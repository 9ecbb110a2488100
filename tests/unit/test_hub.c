/* The hub: sequence numbers, per-subscriber filtering and queues, batches that are valid
 * GetEventsResponse messages, and loss notices placed where the gap is. */
#include <criterion/criterion.h>
#include <string.h>

#include "hub/filter.h"
#include "hub/hub.h"

static int ready_calls;

static void on_ready(void *ctx)
{
	(void)ctx;
	ready_calls++;
}

static uint64_t publish(struct hub *h, uint32_t pid, int type)
{
	pb_process p = TAPIO__SENSOR__V1__PROCESS__INIT;
	pb_event ev = TAPIO__SENSOR__V1__EVENT__INIT;

	p.pid = pid;
	ev.observer = PB_OBSERVER(PROCESS);
	ev.type = type;
	ev.process = &p;
	return hub_publish(h, &ev);
}

static pb_events_response *take(struct subscriber *s, uint32_t max)
{
	size_t len;
	uint8_t *buf = subscriber_take(s, max, &len);
	pb_events_response *r;

	if (!buf)
		return NULL;
	r = tapio__sensor__v1__get_events_response__unpack(NULL, len, buf);
	free(buf);
	cr_assert_not_null(r, "a batch is a valid GetEventsResponse");
	return r;
}

Test(hub, sequence_numbers_and_boot_id)
{
	struct hub *h = hub_new("boot-1", "node-a");
	pb_event ev = TAPIO__SENSOR__V1__EVENT__INIT;

	cr_assert_eq(hub_publish(h, &ev), 1);
	cr_assert_str_eq(ev.boot_id, "boot-1");
	cr_assert_eq(publish(h, 1, PB_TYPE(PROCESS_EXEC)), 2);
	cr_assert_eq(hub_last_seq(h), 2);
	hub_free(h);
}

Test(hub, batches_carry_packed_events_in_order)
{
	struct hub *h = hub_new("b", "n");
	struct subscriber *s = hub_subscribe(h, NULL, 100, on_ready, NULL);
	pb_events_response *r;

	ready_calls = 0;
	for (uint32_t i = 1; i <= 5; i++)
		publish(h, 100 + i, PB_TYPE(PROCESS_EXEC));
	cr_assert_eq(ready_calls, 5);
	cr_assert_eq(subscriber_queued(s), 5);
	r = take(s, 3);
	cr_assert_eq(r->n_events, 3);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(r->events[i]->seq, i + 1);
		cr_assert_eq(r->events[i]->process->pid, 101 + i);
		cr_assert_str_eq(r->events[i]->boot_id, "b");
	}
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);
	r = take(s, 100);
	cr_assert_eq(r->n_events, 2);
	cr_assert_eq(r->events[1]->seq, 5);
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);
	cr_assert_null(take(s, 100), "nothing left");
	hub_free(h);
}

Test(hub, subscribers_get_only_their_events)
{
	char *exec[] = {"process_exec"};
	uint32_t pid[] = {7};
	pb_filter f1 = TAPIO__SENSOR__V1__EVENT_FILTER__INIT, f2 = f1;
	pb_filter *a1[] = {&f1}, *a2[] = {&f2};
	char err[128];
	struct hub *h = hub_new("b", "n");
	struct subscriber *s1, *s2;
	pb_events_response *r;

	f1.event_types = exec;
	f1.n_event_types = 1;
	f2.pids = pid;
	f2.n_pids = 1;
	s1 = hub_subscribe(h, filter_compile(a1, 1, NULL, 0, err, sizeof(err)), 10, on_ready, NULL);
	s2 = hub_subscribe(h, filter_compile(a2, 1, NULL, 0, err, sizeof(err)), 10, on_ready, NULL);
	cr_assert_eq(hub_subscriber_count(h), 2);
	publish(h, 7, PB_TYPE(PROCESS_EXEC));
	publish(h, 7, PB_TYPE(PROCESS_EXIT));
	publish(h, 8, PB_TYPE(PROCESS_EXEC));
	r = take(s1, 10);
	cr_assert_eq(r->n_events, 2);
	cr_assert_eq(r->events[0]->seq, 1);
	cr_assert_eq(r->events[1]->seq, 3);
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);
	r = take(s2, 10);
	cr_assert_eq(r->n_events, 2);
	cr_assert_eq(r->events[0]->seq, 1);
	cr_assert_eq(r->events[1]->seq, 2);
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);
	hub_unsubscribe(s1);
	cr_assert_eq(hub_subscriber_count(h), 1);
	hub_free(h);
}

Test(hub, full_queue_drops_newest_and_notice_marks_the_gap)
{
	struct hub *h = hub_new("b", "node-x");
	struct subscriber *s = hub_subscribe(h, NULL, 3, on_ready, NULL);
	struct subscriber_stats st;
	pb_events_response *r;

	for (uint32_t i = 1; i <= 10; i++)
		publish(h, i, PB_TYPE(PROCESS_EXEC));
	subscriber_get_stats(s, &st);
	cr_assert_eq(st.queued, 3);
	cr_assert_eq(st.dropped, 7);
	cr_assert_eq(hub_total_dropped(h), 7);
	cr_assert(subscriber_has_notice(s));

	r = take(s, 2); /* the gap comes after event 3: not in this batch */
	cr_assert_eq(r->n_events, 2);
	cr_assert_eq(r->events[0]->seq, 1);
	cr_assert_eq(r->events[1]->seq, 2);
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);

	publish(h, 11, PB_TYPE(PROCESS_EXEC)); /* room again: queued after the gap */
	r = take(s, 10);
	cr_assert_eq(r->n_events, 3);
	cr_assert_eq(r->events[0]->seq, 3);
	cr_assert_eq(r->events[1]->type, PB_TYPE(LOST_EVENTS));
	cr_assert_eq(r->events[1]->observer, PB_OBSERVER(SENSOR));
	cr_assert_str_eq(r->events[1]->node, "node-x");
	cr_assert_eq(r->events[1]->payload_case, PB_PAYLOAD(LOST));
	cr_assert_eq(r->events[1]->lost->source, PB_LOSS(SUBSCRIBER_QUEUE_FULL));
	cr_assert_eq(r->events[1]->lost->count, 7);
	cr_assert_not_null(r->events[1]->lost->first);
	cr_assert_eq(r->events[2]->seq, 11);
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);
	cr_assert_not(subscriber_has_notice(s));

	subscriber_get_stats(s, &st);
	cr_assert_eq(st.delivered, 4);
	cr_assert_eq(st.delivered + st.dropped, hub_last_seq(h), "every event accounted for");
	hub_free(h);
}

Test(hub, notice_alone_when_queue_is_empty)
{
	struct hub *h = hub_new("b", "n");
	struct subscriber *s = hub_subscribe(h, NULL, 1, on_ready, NULL);
	pb_events_response *r;

	publish(h, 1, PB_TYPE(PROCESS_EXEC));
	publish(h, 2, PB_TYPE(PROCESS_EXEC));
	r = take(s, 1);
	cr_assert_eq(r->n_events, 2, "event 1 then the notice for event 2");
	cr_assert_eq(r->events[0]->seq, 1);
	cr_assert_eq(r->events[1]->lost->count, 1);
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);
	cr_assert_null(take(s, 1));
	hub_unsubscribe(s);
	cr_assert_eq(hub_total_dropped(h), 1, "drops of gone subscribers still count");
	hub_free(h);
}

Test(hub, unsubscribe_releases_queued_events)
{
	struct hub *h = hub_new("b", "n");
	struct subscriber *a = hub_subscribe(h, NULL, 8, on_ready, NULL);
	struct subscriber *b = hub_subscribe(h, NULL, 8, on_ready, NULL);
	pb_events_response *r;

	publish(h, 1, PB_TYPE(PROCESS_EXEC));
	publish(h, 2, PB_TYPE(PROCESS_EXEC));
	hub_unsubscribe(a); /* b still holds references to the same events */
	r = take(b, 8);
	cr_assert_eq(r->n_events, 2);
	cr_assert_eq(r->events[1]->process->pid, 2);
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);
	hub_free(h);
}
