/* hub.h - where every event meets every subscriber.
 *
 * Owns the sequence numbers, the packed (wire-format) events and the subscribers' queues.
 * An event is packed once, when it is published; each subscriber whose filters pass it
 * holds a reference in its own bounded queue, and a response message is the
 * concatenation of queued events (a GetEventsResponse is `repeated Event events = 1`, so
 * no event is packed twice). A full queue drops the newest event and counts it; the
 * subscriber then receives a LostEvents notice in place of what it missed.
 * Single-threaded: the loop thread only.
 */
#ifndef TAPIO_HUB_H
#define TAPIO_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "core/pb.h"

struct hub;
struct subscriber;
struct filter_set;

struct hub_event {
	uint32_t refs;
	uint64_t seq;
	size_t len;
	uint8_t data[]; /* packed tapio.sensor.v1.Event */
};

struct subscriber_stats {
	uint64_t delivered; /* events handed to the transport */
	uint64_t dropped;   /* events lost to a full queue */
	uint32_t queued;
	uint32_t capacity;
};

/* Called after an event was queued for the subscriber (the transport decides whether to
 * send now or wait to fill a batch). */
typedef void (*subscriber_ready_fn)(void *ctx);

/* boot_id and node are copied; they go into every event and notice. */
struct hub *hub_new(const char *boot_id, const char *node);
void hub_free(struct hub *h);

/* Assigns ev->seq and ev->boot_id, packs ev and queues it for every subscriber whose
 * filters pass it. Returns the sequence number. */
uint64_t hub_publish(struct hub *h, pb_event *ev);
uint64_t hub_last_seq(const struct hub *h);
uint32_t hub_subscriber_count(const struct hub *h);
/* Sum of queue drops over all subscribers since start (gone ones included). */
uint64_t hub_total_dropped(const struct hub *h);

/* Adds a subscriber that owns `filters` (may be NULL: everything). */
struct subscriber *hub_subscribe(struct hub *h, struct filter_set *filters, uint32_t queue_size,
				 subscriber_ready_fn ready, void *ctx);
void hub_unsubscribe(struct subscriber *s);

uint32_t subscriber_queued(const struct subscriber *s);
/* 1 when a loss notice waits to be sent. */
int subscriber_has_notice(const struct subscriber *s);
/* Packs a loss notice (if one is pending) and up to max queued events into one
 * GetEventsResponse. Returns a malloc'd buffer (*len bytes) or NULL when there is
 * nothing to send. The caller frees it. */
uint8_t *subscriber_take(struct subscriber *s, uint32_t max, size_t *len);
void subscriber_get_stats(const struct subscriber *s, struct subscriber_stats *out);

void hub_event_unref(struct hub_event *e);

#endif
