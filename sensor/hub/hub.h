/* hub.h - where every event meets every subscriber.
 *
 * Owns the sequence numbers, the packed (wire-format) events, the resume ring of recent
 * events, the subscribers' queues and their loss accounting. An event is packed once,
 * when it is published; each subscriber whose filters pass it holds a reference in its
 * own bounded queue, and a response message is the concatenation of queued events (a
 * GetEventsResponse is `repeated Event events = 1`, so no event is packed twice; a
 * subscriber's field projection prunes the packed bytes). Losses reach each subscriber
 * as in-band LostEvents notices: its own queue overflows where the gap is, and the
 * kernel-side drops of the observers it listens to, at most one notice per source and
 * observer per second. Single-threaded: the loop thread only.
 */
#ifndef TAPIO_HUB_H
#define TAPIO_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "core/pb.h"

struct hub;
struct subscriber;
struct filter_set;
struct projection;

struct hub_event {
	uint32_t refs;
	uint64_t seq;
	size_t len;
	uint8_t data[]; /* packed tapio.sensor.v1.Event */
};

/* Loss sources, as LossSource in the proto. */
#define HUB_LOSS_SOURCES 6

struct subscriber_stats {
	uint64_t delivered;		 /* events handed to the transport */
	uint64_t dropped;		 /* events lost to this subscriber's full queue */
	uint64_t lost[HUB_LOSS_SOURCES]; /* counts announced to it, by LossSource */
	uint64_t notices;		 /* LostEvents notices sent */
	uint32_t queued;
	uint32_t capacity;
};

struct hub_ring_stats {
	uint32_t capacity;
	uint32_t size;
	uint64_t oldest_seq; /* 0 when empty */
	uint64_t newest_seq;
};

/* Called after an event or notice was queued for the subscriber (the transport decides
 * whether to send now or wait to fill a batch). */
typedef void (*subscriber_ready_fn)(void *ctx);

struct subscriber_options {
	struct filter_set *filters;    /* owned by the subscriber from then on; NULL = all */
	struct projection *projection; /* owned; NULL = whole events */
	uint32_t queue_size;
	int resume; /* replay retained events after (boot_id, after_seq) */
	const char *resume_boot_id;
	uint64_t resume_after_seq;
	subscriber_ready_fn ready;
	void *ctx;
};

/* boot_id and node are copied; they go into every event and notice. ring_size: how many
 * recent events are retained for resuming streams (0: none). */
struct hub *hub_new(const char *boot_id, const char *node, uint32_t ring_size);
void hub_free(struct hub *h);

/* Assigns ev->seq and ev->boot_id, packs ev, retains it and queues it for every
 * subscriber whose filters pass it. Returns the sequence number. */
uint64_t hub_publish(struct hub *h, pb_event *ev);
uint64_t hub_last_seq(const struct hub *h);
uint32_t hub_subscriber_count(const struct hub *h);
/* Sum of queue drops over all subscribers since start (gone ones included). */
uint64_t hub_total_dropped(const struct hub *h);
void hub_get_ring_stats(const struct hub *h, struct hub_ring_stats *out);
/* Kernel-side losses of an observer (source: LossSource) between two wall-clock times,
 * announced to every subscriber whose filters may match that observer. */
void hub_report_loss(struct hub *h, int observer, int source, uint64_t count, uint64_t first_ns,
		     uint64_t last_ns);

/* Once a second: wakes subscribers whose deferred notices are now due. */
void hub_tick(struct hub *h);

/* Adds a subscriber; replays retained events first when asked to resume. NULL on
 * allocation failure (opts' filters and projection are then still the caller's). */
struct subscriber *hub_subscribe(struct hub *h, const struct subscriber_options *opts);
void hub_unsubscribe(struct subscriber *s);
/* Iterates subscribers (NULL starts; returns NULL after the last). */
struct subscriber *hub_next_subscriber(const struct hub *h, const struct subscriber *s);

uint32_t subscriber_queued(const struct subscriber *s);
/* 1 when a loss notice is ready to be sent. */
int subscriber_has_notice(const struct subscriber *s);
/* Packs ready loss notices and up to max queued events into one GetEventsResponse.
 * Returns a malloc'd buffer (*len bytes) or NULL when there is nothing to send. */
uint8_t *subscriber_take(struct subscriber *s, uint32_t max, size_t *len);
void subscriber_get_stats(const struct subscriber *s, struct subscriber_stats *out);
/* The transport's context given at subscribe time. */
void *subscriber_ctx(const struct subscriber *s);

void hub_event_unref(struct hub_event *e);

#endif
