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
	struct hub *h = hub_new("boot-1", "node-a", 0);
	pb_event ev = TAPIO__SENSOR__V1__EVENT__INIT;

	cr_assert_eq(hub_publish(h, &ev), 1);
	cr_assert_str_eq(ev.boot_id, "boot-1");
	cr_assert_eq(publish(h, 1, PB_TYPE(PROCESS_EXEC)), 2);
	cr_assert_eq(hub_last_seq(h), 2);
	hub_free(h);
}

Test(hub, batches_carry_packed_events_in_order)
{
	struct hub *h = hub_new("b", "n", 0);
	struct subscriber *s =
		hub_subscribe(h, &(struct subscriber_options){
					 .filters = NULL, .queue_size = 100, .ready = on_ready});
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
	struct hub *h = hub_new("b", "n", 0);
	struct subscriber *s1, *s2;
	pb_events_response *r;

	f1.event_types = exec;
	f1.n_event_types = 1;
	f2.pids = pid;
	f2.n_pids = 1;
	s1 = hub_subscribe(h, &(struct subscriber_options){
				      .filters = filter_compile(a1, 1, NULL, 0, err, sizeof(err)),
				      .queue_size = 10,
				      .ready = on_ready});
	s2 = hub_subscribe(h, &(struct subscriber_options){
				      .filters = filter_compile(a2, 1, NULL, 0, err, sizeof(err)),
				      .queue_size = 10,
				      .ready = on_ready});
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
	struct hub *h = hub_new("b", "node-x", 0);
	struct subscriber *s = hub_subscribe(
		h,
		&(struct subscriber_options){.filters = NULL, .queue_size = 3, .ready = on_ready});
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
	struct hub *h = hub_new("b", "n", 0);
	struct subscriber *s = hub_subscribe(
		h,
		&(struct subscriber_options){.filters = NULL, .queue_size = 1, .ready = on_ready});
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
	struct hub *h = hub_new("b", "n", 0);
	struct subscriber *a = hub_subscribe(
		h,
		&(struct subscriber_options){.filters = NULL, .queue_size = 8, .ready = on_ready});
	struct subscriber *b = hub_subscribe(
		h,
		&(struct subscriber_options){.filters = NULL, .queue_size = 8, .ready = on_ready});
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

/* ---- resume ring, announced losses, notice rate limit ------------------------------- */

static struct subscriber *resume_sub(struct hub *h, const char *boot, uint64_t after,
				     uint32_t qsize)
{
	return hub_subscribe(h, &(struct subscriber_options){.queue_size = qsize,
							     .ready = on_ready,
							     .resume = 1,
							     .resume_boot_id = boot,
							     .resume_after_seq = after});
}

Test(hub, resume_replays_exactly_what_was_missed)
{
	struct hub *h = hub_new("boot-r", "n", 100);
	struct subscriber *s;
	pb_events_response *r;

	for (uint32_t i = 1; i <= 10; i++)
		publish(h, i, PB_TYPE(PROCESS_EXEC));
	s = resume_sub(h, "boot-r", 6, 100);
	publish(h, 11, PB_TYPE(PROCESS_EXEC)); /* live, right after the replay */
	r = take(s, 100);
	cr_assert_eq(r->n_events, 5, "7..10 replayed, then 11 live");
	for (size_t i = 0; i < 5; i++)
		cr_assert_eq(r->events[i]->seq, 7 + i, "no gap, no duplicate");
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);
	hub_free(h);
}

Test(hub, resume_applies_the_filters_to_the_replay)
{
	char *exits[] = {"process_exit"};
	pb_filter f = TAPIO__SENSOR__V1__EVENT_FILTER__INIT;
	pb_filter *allow[] = {&f};
	char e[128];
	struct hub *h = hub_new("boot-r", "n", 100);
	struct subscriber *s;
	pb_events_response *r;

	f.event_types = exits;
	f.n_event_types = 1;
	for (uint32_t i = 1; i <= 6; i++)
		publish(h, i, i % 2 ? PB_TYPE(PROCESS_EXEC) : PB_TYPE(PROCESS_EXIT));
	s = hub_subscribe(h, &(struct subscriber_options){
				     .filters = filter_compile(allow, 1, NULL, 0, e, sizeof(e)),
				     .queue_size = 10,
				     .ready = on_ready,
				     .resume = 1,
				     .resume_boot_id = "boot-r",
				     .resume_after_seq = 1});
	r = take(s, 100);
	cr_assert_eq(r->n_events, 3);
	cr_assert_eq(r->events[0]->seq, 2);
	cr_assert_eq(r->events[2]->seq, 6);
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);
	hub_free(h);
}

Test(hub, resume_beyond_the_ring_counts_exactly_what_is_gone)
{
	struct hub *h = hub_new("boot-r", "n", 4);
	struct hub_ring_stats rs;
	struct subscriber *s;
	pb_events_response *r;

	for (uint32_t i = 1; i <= 10; i++)
		publish(h, i, PB_TYPE(PROCESS_EXEC));
	hub_get_ring_stats(h, &rs);
	cr_assert_eq(rs.size, 4);
	cr_assert_eq(rs.oldest_seq, 7);
	cr_assert_eq(rs.newest_seq, 10);
	s = resume_sub(h, "boot-r", 2, 100);
	r = take(s, 100);
	cr_assert_eq(r->n_events, 5, "the notice, then 7..10");
	cr_assert_eq(r->events[0]->lost->source, PB_LOSS(RESUME_GAP));
	cr_assert_eq(r->events[0]->lost->count, 4, "3, 4, 5, 6 are gone");
	cr_assert_eq(r->events[1]->seq, 7);
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);
	hub_free(h);
}

Test(hub, resume_of_another_run_or_of_the_present)
{
	struct hub *h = hub_new("boot-r", "n", 4);
	struct subscriber *s;
	pb_events_response *r;

	publish(h, 1, PB_TYPE(PROCESS_EXEC));
	s = resume_sub(h, "boot-old", 1, 100);
	r = take(s, 100);
	cr_assert_eq(r->n_events, 1, "only the notice: nothing of another run is replayed");
	cr_assert_eq(r->events[0]->lost->source, PB_LOSS(RESUME_GAP));
	cr_assert_eq(r->events[0]->lost->count, 0, "unknown");
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);
	s = resume_sub(h, "boot-r", 1, 100);
	cr_assert_null(take(s, 100), "up to date: nothing to replay");
	hub_free(h);
}

Test(hub, kernel_losses_reach_only_subscribers_of_that_observer)
{
	char *obs[] = {"process"};
	pb_filter f = TAPIO__SENSOR__V1__EVENT_FILTER__INIT;
	pb_filter *allow[] = {&f};
	char e[128];
	struct hub *h = hub_new("b", "n", 0);
	struct subscriber *all =
		hub_subscribe(h, &(struct subscriber_options){.queue_size = 8, .ready = on_ready});
	struct subscriber *proc;
	struct subscriber_stats st;
	pb_events_response *r;

	f.observers = obs;
	f.n_observers = 1;
	proc = hub_subscribe(h, &(struct subscriber_options){
					.filters = filter_compile(allow, 1, NULL, 0, e, sizeof(e)),
					.queue_size = 8,
					.ready = on_ready});
	hub_report_loss(h, 2 /* another observer */, PB_LOSS(RATE_LIMITED), 5, 1000, 2000);
	hub_report_loss(h, PB_OBSERVER(PROCESS), PB_LOSS(RINGBUF_FULL), 3, 1000, 2000);
	hub_report_loss(h, PB_OBSERVER(PROCESS), PB_LOSS(RINGBUF_FULL), 4, 2000, 3000);
	r = take(all, 8);
	cr_assert_eq(r->n_events, 2);
	cr_assert_eq(r->events[0]->lost->observer, 2);
	cr_assert_eq(r->events[0]->lost->count, 5);
	cr_assert_eq(r->events[1]->lost->count, 7, "merged into one notice");
	cr_assert_eq(r->events[1]->lost->first->nanos, 1000);
	cr_assert_eq(r->events[1]->lost->last->nanos, 3000);
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);
	r = take(proc, 8);
	cr_assert_eq(r->n_events, 1, "nothing about an observer it did not ask for");
	cr_assert_eq(r->events[0]->lost->source, PB_LOSS(RINGBUF_FULL));
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);
	subscriber_get_stats(proc, &st);
	cr_assert_eq(st.lost[PB_LOSS(RINGBUF_FULL)], 7);
	cr_assert_eq(st.notices, 1);
	hub_free(h);
}

Test(hub, queue_full_notices_are_at_most_one_a_second)
{
	struct hub *h = hub_new("b", "n", 0);
	struct subscriber *s =
		hub_subscribe(h, &(struct subscriber_options){.queue_size = 1, .ready = on_ready});
	struct subscriber_stats st;
	pb_events_response *r;
	uint64_t events = 0, lost = 0, notices = 0;

	/* A client that never keeps up: every batch finds the queue overflowed. */
	for (int round = 0; round < 50; round++) {
		publish(h, 1, PB_TYPE(PROCESS_EXEC));
		publish(h, 2, PB_TYPE(PROCESS_EXEC));
		publish(h, 3, PB_TYPE(PROCESS_EXEC));
		r = take(s, 1);
		for (size_t i = 0; r && i < r->n_events; i++) {
			if (r->events[i]->payload_case == PB_PAYLOAD(LOST)) {
				notices++;
				lost += r->events[i]->lost->count;
			} else {
				events++;
			}
		}
		if (r)
			tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);
	}
	cr_assert_eq(notices, 1, "50 rounds within a second: one notice");
	subscriber_get_stats(s, &st);
	cr_assert_eq(events, 50);
	cr_assert_eq(st.dropped, 100);
	cr_assert_eq(lost + st.dropped - lost, 100);
	cr_assert(lost >= 2 && lost <= 100);
	hub_free(h);
}
