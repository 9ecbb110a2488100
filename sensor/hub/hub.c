/* hub.c - see hub.h. */
#include "hub/hub.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub/filter.h"

struct loss {
	uint64_t count;
	uint64_t first_ns, last_ns; /* wall clock */
	uint32_t after;		    /* queued events that precede the gap */
};

struct subscriber {
	struct hub *hub;
	struct subscriber *prev, *next;
	struct filter_set *filters;
	struct hub_event **q;
	uint32_t cap, head, count;
	struct loss lost;
	uint64_t delivered, dropped;
	subscriber_ready_fn ready;
	void *ctx;
};

struct hub {
	uint64_t seq;
	char boot_id[64];
	char node[256];
	struct subscriber *subs;
	uint32_t n_subs;
	uint64_t dropped_gone; /* drops of subscribers that left */
};

static uint64_t now_unix_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct hub *hub_new(const char *boot_id, const char *node)
{
	struct hub *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	strncpy(h->boot_id, boot_id, sizeof(h->boot_id) - 1);
	strncpy(h->node, node, sizeof(h->node) - 1);
	return h;
}

void hub_free(struct hub *h)
{
	if (!h)
		return;
	while (h->subs)
		hub_unsubscribe(h->subs);
	free(h);
}

void hub_event_unref(struct hub_event *e)
{
	if (e && --e->refs == 0)
		free(e);
}

static void enqueue(struct subscriber *s, struct hub_event *e)
{
	if (s->count == s->cap) {
		uint64_t now = now_unix_ns();

		if (s->lost.count == 0) {
			s->lost.first_ns = now;
			s->lost.after = s->count;
		}
		s->lost.count++;
		s->lost.last_ns = now;
		s->dropped++;
		return;
	}
	e->refs++;
	s->q[(s->head + s->count) % s->cap] = e;
	s->count++;
	s->ready(s->ctx);
}

uint64_t hub_publish(struct hub *h, pb_event *ev)
{
	struct hub_event *e;
	size_t len;

	ev->seq = ++h->seq;
	ev->boot_id = h->boot_id;
	if (!h->subs)
		return ev->seq;
	len = protobuf_c_message_get_packed_size(&ev->base);
	e = malloc(sizeof(*e) + len);
	if (!e)
		return ev->seq;
	e->refs = 1;
	e->seq = ev->seq;
	e->len = protobuf_c_message_pack(&ev->base, e->data);
	for (struct subscriber *s = h->subs; s; s = s->next)
		if (filter_match(s->filters, ev))
			enqueue(s, e);
	hub_event_unref(e);
	return ev->seq;
}

uint64_t hub_last_seq(const struct hub *h)
{
	return h->seq;
}

uint32_t hub_subscriber_count(const struct hub *h)
{
	return h->n_subs;
}

uint64_t hub_total_dropped(const struct hub *h)
{
	uint64_t n = h->dropped_gone;

	for (const struct subscriber *s = h->subs; s; s = s->next)
		n += s->dropped;
	return n;
}

struct subscriber *hub_subscribe(struct hub *h, struct filter_set *filters, uint32_t queue_size,
				 subscriber_ready_fn ready, void *ctx)
{
	struct subscriber *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->q = calloc(queue_size ? queue_size : 1, sizeof(*s->q));
	if (!s->q) {
		free(s);
		return NULL;
	}
	s->hub = h;
	s->cap = queue_size ? queue_size : 1;
	s->filters = filters;
	s->ready = ready;
	s->ctx = ctx;
	s->next = h->subs;
	if (h->subs)
		h->subs->prev = s;
	h->subs = s;
	h->n_subs++;
	return s;
}

void hub_unsubscribe(struct subscriber *s)
{
	struct hub *h = s->hub;

	if (s->prev)
		s->prev->next = s->next;
	else
		h->subs = s->next;
	if (s->next)
		s->next->prev = s->prev;
	h->n_subs--;
	h->dropped_gone += s->dropped;
	while (s->count) {
		hub_event_unref(s->q[s->head]);
		s->head = (s->head + 1) % s->cap;
		s->count--;
	}
	filter_free(s->filters);
	free(s->q);
	free(s);
}

uint32_t subscriber_queued(const struct subscriber *s)
{
	return s->count;
}

int subscriber_has_notice(const struct subscriber *s)
{
	return s->lost.count > 0;
}

/* Packs the pending loss notice as an Event; returns its length (0 if none). */
static size_t pack_notice(struct subscriber *s, uint8_t **out)
{
	pb_timestamp now, first, last;
	pb_lost lost = TAPIO__SENSOR__V1__LOST_EVENTS__INIT;
	pb_event ev = TAPIO__SENSOR__V1__EVENT__INIT;
	size_t len;

	pb_set_time(&now, now_unix_ns());
	pb_set_time(&first, s->lost.first_ns);
	pb_set_time(&last, s->lost.last_ns);
	lost.source = PB_LOSS(SUBSCRIBER_QUEUE_FULL);
	lost.count = s->lost.count;
	lost.first = &first;
	lost.last = &last;
	ev.boot_id = s->hub->boot_id;
	ev.node = s->hub->node;
	ev.time = &now;
	ev.observer = PB_OBSERVER(SENSOR);
	ev.type = PB_TYPE(LOST_EVENTS);
	ev.payload_case = PB_PAYLOAD(LOST);
	ev.lost = &lost;
	len = protobuf_c_message_get_packed_size(&ev.base);
	*out = malloc(len);
	if (!*out)
		return 0;
	protobuf_c_message_pack(&ev.base, *out);
	memset(&s->lost, 0, sizeof(s->lost));
	return len;
}

static size_t varint_len(size_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Writes field 1 (events), wire type 2: tag, length, bytes. */
static uint8_t *put_item(uint8_t *p, const uint8_t *data, size_t len)
{
	*p++ = 0x0a;
	while (len >= 0x80) {
		*p++ = (uint8_t)(len | 0x80);
		len >>= 7;
	}
	*p++ = (uint8_t)len;
	return p;
}

static uint8_t *write_item(uint8_t *p, const uint8_t *data, size_t len)
{
	p = put_item(p, data, len);
	memcpy(p, data, len);
	return p + len;
}

uint8_t *subscriber_take(struct subscriber *s, uint32_t max, size_t *len)
{
	uint8_t *notice = NULL, *buf, *p;
	size_t notice_len = 0, total = 0;
	uint32_t n = s->count < max ? s->count : max, before = n;

	/* The notice goes where the gap is: after the events queued before the first loss. */
	if (s->lost.count && s->lost.after < n)
		before = s->lost.after;
	if (s->lost.count && s->lost.after <= n)
		notice_len = pack_notice(s, &notice);
	for (uint32_t i = 0; i < n; i++) {
		size_t l = s->q[(s->head + i) % s->cap]->len;

		total += 1 + varint_len(l) + l;
	}
	if (notice_len)
		total += 1 + varint_len(notice_len) + notice_len;
	if (total == 0) {
		*len = 0;
		return NULL;
	}
	buf = malloc(total);
	if (!buf) {
		free(notice);
		*len = 0;
		return NULL;
	}
	p = buf;
	for (uint32_t i = 0; i < n; i++) {
		struct hub_event *e = s->q[s->head];

		if (i == before && notice_len)
			p = write_item(p, notice, notice_len);
		p = write_item(p, e->data, e->len);
		hub_event_unref(e);
		s->head = (s->head + 1) % s->cap;
	}
	if (before == n && notice_len)
		p = write_item(p, notice, notice_len);
	s->count -= n;
	s->delivered += n;
	if (s->lost.count)
		s->lost.after -= n; /* still pending: its gap is further down the queue */
	free(notice);
	*len = (size_t)(p - buf);
	return buf;
}

void subscriber_get_stats(const struct subscriber *s, struct subscriber_stats *out)
{
	out->delivered = s->delivered;
	out->dropped = s->dropped;
	out->queued = s->count;
	out->capacity = s->cap;
}
