/* selftest.c - see selftest.h. */
#include "core/selftest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/observer.h"
#include "core/sensor.h"
#include "hub/hub.h"

#define SELFTEST_TIMEOUT_MS 20000 /* qemu without KVM is slow */

struct selftest {
	struct sensor *s;
	struct subscriber *sub;
	uv_timer_t timer;
	int finished;
	int exit_code;
};

static struct selftest st;

static void vset(struct selftest_case *c, int passed, const char *fmt, va_list ap)
{
	if (c->done)
		return;
	c->done = 1;
	c->passed = passed;
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
}

void selftest_pass(struct selftest_case *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(c, 1, fmt, ap);
	va_end(ap);
}

void selftest_fail(struct selftest_case *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(c, 0, fmt, ap);
	va_end(ap);
}

static int has_case(const struct observer *o)
{
	return o->state == OBSERVER_RUNNING && o->ops->self_test_start;
}

static void print_observer(const struct observer *o)
{
	const char *result = "SKIP";

	if (o->state == OBSERVER_FAILED)
		result = "FAIL";
	else if (has_case(o))
		result = o->self_test.passed ? "PASS" : "FAIL";
	printf("%-10s %-4s %s\n", o->ops->name, result,
	       o->state == OBSERVER_FAILED     ? o->error
	       : o->state == OBSERVER_DISABLED ? "disabled by --observers"
	       : o->self_test.detail[0]	       ? o->self_test.detail
					       : "timed out: no event seen");
	for (int i = 0; i < o->n_attached; i++)
		printf("%-15s attached %s\n", "", o->attached[i]);
	for (int i = 0; i < o->n_skipped; i++)
		printf("%-15s skipped  %s: %s\n", "", o->skipped[i].program, o->skipped[i].reason);
}

static void on_finished(uv_timer_t *t)
{
	uv_close((uv_handle_t *)t, NULL);
	sensor_stop(st.s, st.exit_code);
}

static void finish(void)
{
	struct sensor *s = st.s;
	int failed = 0, n = 0;

	if (st.finished)
		return;
	st.finished = 1;
	uv_timer_stop(&st.timer);
	printf("tapio-sensor self-test on %s (%s ring buffer)\n\nkernel features:\n",
	       s->kernel_release, s->observers[0].use_perfbuf ? "perf buffer instead of" : "BPF");
	for (int i = 0; i < FEAT_MAX; i++)
		printf("  %-15s %-3s %s\n", s->features.f[i].name,
		       s->features.f[i].available ? "yes" : "no", s->features.f[i].detail);
	printf("\nobserver   result\n");
	for (int i = 0; i < s->n_observers; i++) {
		const struct observer *o = &s->observers[i];

		print_observer(o);
		if (o->state == OBSERVER_FAILED || (has_case(o) && !o->self_test.passed))
			failed++;
		n += has_case(o);
	}
	if (n == 0)
		failed++;
	printf("\nself-test %s: %d observer(s) checked, %d failed\n", failed ? "FAILED" : "PASSED",
	       n, failed);
	fflush(stdout);
	/* This may run inside a ring buffer callback: stop from the next loop turn. */
	st.exit_code = failed ? 1 : 0;
	uv_timer_start(&st.timer, on_finished, 0, 0);
}

static int all_done(void)
{
	for (int i = 0; i < st.s->n_observers; i++)
		if (has_case(&st.s->observers[i]) && !st.s->observers[i].self_test.done)
			return 0;
	return 1;
}

static void dispatch(const pb_event *ev)
{
	for (int i = 0; i < st.s->n_observers; i++) {
		struct observer *o = &st.s->observers[i];

		if (has_case(o) && !o->self_test.done)
			o->ops->self_test_event(o, &o->self_test, ev);
	}
}

static void on_ready(void *ctx)
{
	pb_events_response *r;
	uint8_t *buf;
	size_t len;

	if (st.finished)
		return;
	buf = subscriber_take(st.sub, 1000, &len);
	if (!buf)
		return;
	r = tapio__sensor__v1__get_events_response__unpack(NULL, len, buf);
	free(buf);
	for (size_t i = 0; r && i < r->n_events; i++)
		dispatch(r->events[i]);
	if (r)
		tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);
	if (all_done())
		finish();
}

static void on_timeout(uv_timer_t *t)
{
	for (int i = 0; i < st.s->n_observers; i++) {
		struct observer *o = &st.s->observers[i];

		if (has_case(o) && !o->self_test.done)
			selftest_fail(
				&o->self_test, "timed out after %d ms (%s)", SELFTEST_TIMEOUT_MS,
				o->self_test.detail[0] ? o->self_test.detail : "no event seen");
	}
	finish();
}

int selftest_start(struct sensor *s)
{
	memset(&st, 0, sizeof(st));
	st.s = s;
	st.sub = hub_subscribe(s->hub, &(struct subscriber_options){.filters = NULL,
								    .queue_size = 65536,
								    .ready = on_ready});
	if (!st.sub)
		return -1;
	uv_timer_init(&s->loop, &st.timer);
	uv_timer_start(&st.timer, on_timeout, SELFTEST_TIMEOUT_MS, 0);
	for (int i = 0; i < s->n_observers; i++) {
		struct observer *o = &s->observers[i];

		if (has_case(o))
			o->ops->self_test_start(o, &o->self_test);
	}
	if (all_done())
		finish();
	return 0;
}
