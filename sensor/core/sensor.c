/* sensor.c - see sensor.h. Start order: probe, caches, hub, observers, server; stop
 * order: server (streams get their final status), observers (detach, drain), then the
 * loop ends when its last handle is closed and everything is freed. */
#include "core/sensor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "api/server.h"
#include "core/log.h"
#include "core/mounts.h"
#include "core/selftest.h"
#include "enrich/enrich.h"
#include "hub/hub.h"

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t sensor_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t sensor_mono_to_unix(const struct sensor *s, uint64_t mono_ns)
{
	return mono_ns + (uint64_t)s->mono_to_real_ns;
}

static int libbpf_to_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	if ((level == LIBBPF_DEBUG || level == LIBBPF_INFO) && log_get_level() < LOG_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[n - 1] = 0;
	log_msg(level == LIBBPF_WARN ? LOG_WARN : LOG_DEBUG, "libbpf: %s", line);
	return 0;
}

static void read_boot_id(struct sensor *s)
{
	int fd = open("/proc/sys/kernel/random/uuid", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, s->boot_id, 36) : -1;

	if (fd >= 0)
		close(fd);
	if (n != 36) /* no procfs uuid: time and pid still tell runs apart */
		snprintf(s->boot_id, sizeof(s->boot_id), "%016llx-%08x",
			 (unsigned long long)clock_ns(CLOCK_REALTIME), (unsigned)getpid());
	s->boot_id[36] = 0;
}

/* Kernel-side drops reach subscribers as loss notices: once a second, what each observer
 * dropped since the last look, by reason. */
static void announce_losses(struct sensor *s, uint64_t since_ns, uint64_t now_ns)
{
	static const struct {
		int slot, source;
	} map[] = {
		{TP_CNT_RINGBUF_FULL, PB_LOSS(RINGBUF_FULL)},
		{TP_CNT_RATE_LIMITED, PB_LOSS(RATE_LIMITED)},
		{TP_CNT_SAMPLED_OUT, PB_LOSS(SAMPLED_OUT)},
	};

	for (int i = 0; i < s->n_observers; i++) {
		struct observer *o = &s->observers[i];
		struct observer_stats st;

		if (o->state != OBSERVER_RUNNING)
			continue;
		observer_read_stats(o, &st);
		for (size_t k = 0; k < sizeof(map) / sizeof(map[0]); k++) {
			uint64_t n = st.counters[map[k].slot], d = n - o->announced[map[k].slot];

			if (n > o->announced[map[k].slot])
				hub_report_loss(s->hub, o->ops->proto_id, map[k].source, d,
						since_ns, now_ns);
			o->announced[map[k].slot] = n;
		}
	}
}

static void on_stats(uv_timer_t *t)
{
	struct sensor *s = t->data;
	uint64_t now = clock_ns(CLOCK_REALTIME);

	announce_losses(s, s->last_stats_ns, now);
	s->last_stats_ns = now;
	hub_tick(s->hub);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct sensor *s = h->data;

	log_info("%s received, stopping", strsignal(signum));
	sensor_stop(s, 0);
}

static void teardown(struct sensor *s)
{
	server_free(s->server);
	s->server = NULL;
	hub_free(s->hub);
	s->hub = NULL;
	enrich_free(s->enrich);
	s->enrich = NULL;
	mounts_release();
}

/* Closes every handle left (after a failed start) and runs the loop until they are. */
static void close_walk(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void on_server_stopped(void *arg);

static void abort_start(struct sensor *s)
{
	s->stopping = 1;
	if (s->server) {
		server_stop(s->server, on_server_stopped, s);
		uv_run(&s->loop, UV_RUN_DEFAULT); /* until the server has stopped */
	} else {
		observers_stop(s);
	}
	uv_walk(&s->loop, close_walk, NULL);
	uv_run(&s->loop, UV_RUN_DEFAULT);
	teardown(s);
	uv_loop_close(&s->loop);
}

/* The listeners are bound first: a bad address fails in a moment, before any BPF is
 * loaded, with nothing else printed. The loop does not run yet, so no call is handled
 * before the observers are up. */
static int start_parts(struct sensor *s)
{
	char err[512];
	int n;

	s->enrich = enrich_new(s->cfg->proc_cache_size, "/");
	s->hub = hub_new(s->boot_id, s->cfg->node_name, s->cfg->resume_ring);
	if (!s->enrich || !s->hub) {
		log_error("out of memory");
		return -1;
	}
	if (!s->cfg->self_test) { /* the self-test reads the hub itself */
		s->server = server_start(s, err, sizeof(err));
		if (!s->server) {
			log_error("%s", err);
			return -1;
		}
	}
	log_info("tapio-sensor %s starting on %s (kernel %s), boot id %s", TAPIO_VERSION,
		 s->cfg->node_name, s->kernel_release, s->boot_id);
	features_probe(&s->features, s->cfg->btf_path[0] ? s->cfg->btf_path : NULL);
	features_log(&s->features);
	n = enrich_scan_proc(s->enrich);
	log_info("process cache: %d processes read from /proc", n);
	if (observers_start(s) == 0) {
		log_error("no observer could start (see the errors above)");
		return -1;
	}
	return s->cfg->self_test ? selftest_start(s) : 0;
}

int sensor_start(struct sensor *s, struct config *cfg)
{
	struct utsname u;

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	uv_loop_init(&s->loop);
	signal(SIGPIPE, SIG_IGN);
	read_boot_id(s);
	if (uname(&u) == 0)
		snprintf(s->kernel_release, sizeof(s->kernel_release), "%s", u.release);
	s->started_unix_ns = clock_ns(CLOCK_REALTIME);
	s->mono_to_real_ns = (int64_t)(s->started_unix_ns - sensor_mono_ns());
	libbpf_set_print(libbpf_to_log);
	if (start_parts(s) < 0) {
		abort_start(s);
		return -1;
	}
	uv_signal_init(&s->loop, &s->sig_int);
	uv_signal_init(&s->loop, &s->sig_term);
	s->sig_int.data = s->sig_term.data = s;
	uv_signal_start(&s->sig_int, on_signal, SIGINT);
	uv_signal_start(&s->sig_term, on_signal, SIGTERM);
	s->last_stats_ns = clock_ns(CLOCK_REALTIME);
	uv_timer_init(&s->loop, &s->stats_timer);
	s->stats_timer.data = s;
	uv_timer_start(&s->stats_timer, on_stats, 1000, 1000);
	log_info("ready");
	return 0;
}

static void on_server_stopped(void *arg)
{
	struct sensor *s = arg;

	observers_stop(s);
}

void sensor_stop(struct sensor *s, int exit_code)
{
	if (s->stopping)
		return;
	s->stopping = 1;
	s->exit_code = exit_code;
	uv_close((uv_handle_t *)&s->sig_int, NULL);
	uv_close((uv_handle_t *)&s->sig_term, NULL);
	uv_close((uv_handle_t *)&s->stats_timer, NULL);
	if (s->server)
		server_stop(s->server, on_server_stopped, s);
	else
		on_server_stopped(s);
}

int sensor_run(struct sensor *s)
{
	uv_run(&s->loop, UV_RUN_DEFAULT);
	teardown(s);
	if (uv_loop_close(&s->loop) != 0)
		log_warn("event loop closed with handles still open");
	log_info("stopped");
	return s->exit_code;
}
