/* hub.c - see hub.h. */
#include "hub/hub.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub/filter.h"
#include "hub/projection.h"

#define NOTICE_INTERVAL_NS 1000000000ULL /* queue-full notices: at most one a second */
#define MAX_PENDING 32			 /* kernel/resume notices waiting per subscriber */

/* Losses of this subscriber's own queue: where the gap is and how big it is. */
struct qloss {
	uint64_t count;
	uint64_t first_ns, last_ns; /* wall clock */
	uint32_t after;		    /* queued events that precede the gap */
};

/* A loss someone else announced (kernel drops, a resume gap). */
struct pending {
	int observer, source;
	uint64_t count, first_ns, last_ns;
};

struct subscriber {
	struct hub *hub;
	struct subscriber *prev, *next;
	struct filter_set *filters;
	struct projection *proj;
	struct hub_event **q;
	uint32_t cap, head, count;
	struct qloss qloss;
	uint64_t last_qnotice_ns;
	struct pending pend[MAX_PENDING];
	int n_pend;
	struct subscriber_stats st;
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
	struct hub_event **ring;
	uint32_t ring_cap, ring_head, ring_count;
};

static uint64_t now_unix_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct hub *hub_new(const char *boot_id, const char *node, uint32_t ring_size)
{
	struct hub *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	strncpy(h->boot_id, boot_id, sizeof(h->boot_id) - 1);
	strncpy(h->node, node, sizeof(h->node) - 1);
	if (ring_size) {
		h->ring = calloc(ring_size, sizeof(*h->ring));
		if (!h->ring) {
			free(h);
			return NULL;
		}
		h->ring_cap = ring_size;
	}
	return h;
}

void hub_free(struct hub *h)
{
	if (!h)
		return;
	while (h->subs)
		hub_unsubscribe(h->subs);
	for (uint32_t i = 0; i < h->ring_count; i++)
		hub_event_unref(h->ring[(h->ring_head + i) % h->ring_cap]);
	free(h->ring);
	free(h);
}

void hub_event_unref(struct hub_event *e)
{
	if (e && --e->refs == 0)
		free(e);
}

/* ---- queueing ----------------------------------------------------------------------- */

static void enqueue(struct subscriber *s, struct hub_event *e)
{
	if (s->count == s->cap) {
		uint64_t now = now_unix_ns();

		if (s->qloss.count == 0) {
			s->qloss.first_ns = now;
			s->qloss.after = s->count;
		}
		s->qloss.count++;
		s->qloss.last_ns = now;
		s->st.dropped++;
		return;
	}
	e->refs++;
	s->q[(s->head + s->count) % s->cap] = e;
	s->count++;
	s->ready(s->ctx);
}

static void retain(struct hub *h, struct hub_event *e)
{
	if (!h->ring_cap)
		return;
	if (h->ring_count == h->ring_cap) {
		hub_event_unref(h->ring[h->ring_head]);
		h->ring_head = (h->ring_head + 1) % h->ring_cap;
		h->ring_count--;
	}
	e->refs++;
	h->ring[(h->ring_head + h->ring_count) % h->ring_cap] = e;
	h->ring_count++;
}

uint64_t hub_publish(struct hub *h, pb_event *ev)
{
	struct hub_event *e;
	size_t len;

	ev->seq = ++h->seq;
	ev->boot_id = h->boot_id;
	if (!h->subs && !h->ring_cap)
		return ev->seq;
	len = protobuf_c_message_get_packed_size(&ev->base);
	e = malloc(sizeof(*e) + len);
	if (!e)
		return ev->seq;
	e->refs = 1;
	e->seq = ev->seq;
	e->len = protobuf_c_message_pack(&ev->base, e->data);
	retain(h, e);
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
		n += s->st.dropped;
	return n;
}

void hub_get_ring_stats(const struct hub *h, struct hub_ring_stats *out)
{
	out->capacity = h->ring_cap;
	out->size = h->ring_count;
	out->oldest_seq = h->ring_count ? h->ring[h->ring_head]->seq : 0;
	out->newest_seq = h->ring_count ? h->seq : 0;
}

/* ---- announced losses --------------------------------------------------------------- */

static void add_pending(struct subscriber *s, int observer, int source, uint64_t count,
			uint64_t first_ns, uint64_t last_ns)
{
	struct pending *p = NULL;

	for (int i = 0; i < s->n_pend && !p; i++)
		if (s->pend[i].observer == observer && s->pend[i].source == source)
			p = &s->pend[i];
	if (!p && s->n_pend < MAX_PENDING) {
		p = &s->pend[s->n_pend++];
		*p = (struct pending){observer, source, 0, first_ns, last_ns};
	}
	if (!p)
		p = &s->pend[MAX_PENDING - 1]; /* full: merged into the last, still counted */
	p->count += count;
	p->last_ns = last_ns;
	s->ready(s->ctx);
}

void hub_report_loss(struct hub *h, int observer, int source, uint64_t count, uint64_t first_ns,
		     uint64_t last_ns)
{
	for (struct subscriber *s = h->subs; s; s = s->next)
		if (filter_may_match_observer(s->filters, observer))
			add_pending(s, observer, source, count, first_ns, last_ns);
}

void hub_tick(struct hub *h)
{
	for (struct subscriber *s = h->subs; s; s = s->next)
		if (subscriber_has_notice(s))
			s->ready(s->ctx);
}

/* ---- subscribing and resuming ------------------------------------------------------- */

static void replay(struct hub *h, struct subscriber *s, uint64_t after)
{
	uint64_t oldest = h->ring_count ? h->ring[h->ring_head]->seq : h->seq + 1;
	uint64_t now = now_unix_ns();

	if (after >= h->seq)
		return; /* nothing missed */
	if (after + 1 < oldest)
		add_pending(s, 0, PB_LOSS(RESUME_GAP), oldest - (after + 1), now, now);
	for (uint32_t i = 0; i < h->ring_count; i++) {
		struct hub_event *e = h->ring[(h->ring_head + i) % h->ring_cap];
		pb_event *ev;

		if (e->seq <= after)
			continue;
		ev = tapio__sensor__v1__event__unpack(NULL, e->len, e->data);
		if (ev && filter_match(s->filters, ev))
			enqueue(s, e);
		if (ev)
			tapio__sensor__v1__event__free_unpacked(ev, NULL);
	}
}

struct subscriber *hub_subscribe(struct hub *h, const struct subscriber_options *o)
{
	struct subscriber *s = calloc(1, sizeof(*s));
	uint32_t cap = o->queue_size ? o->queue_size : 1;

	if (!s)
		return NULL;
	s->q = calloc(cap, sizeof(*s->q));
	if (!s->q) {
		free(s);
		return NULL;
	}
	s->hub = h;
	s->cap = cap;
	s->filters = o->filters;
	s->proj = o->projection;
	s->ready = o->ready;
	s->ctx = o->ctx;
	if (o->resume && strcmp(o->resume_boot_id ? o->resume_boot_id : "", h->boot_id)) {
		uint64_t now = now_unix_ns();

		add_pending(s, 0, PB_LOSS(RESUME_GAP), 0, now, now); /* another run: unknown */
	} else if (o->resume) {
		replay(h, s, o->resume_after_seq);
	}
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
	h->dropped_gone += s->st.dropped;
	while (s->count) {
		hub_event_unref(s->q[s->head]);
		s->head = (s->head + 1) % s->cap;
		s->count--;
	}
	filter_free(s->filters);
	projection_free(s->proj);
	free(s->q);
	free(s);
}

struct subscriber *hub_next_subscriber(const struct hub *h, const struct subscriber *s)
{
	return s ? s->next : h->subs;
}

void *subscriber_ctx(const struct subscriber *s)
{
	return s->ctx;
}

uint32_t subscriber_queued(const struct subscriber *s)
{
	return s->count;
}

static int qnotice_ready(const struct subscriber *s, uint64_t now)
{
	return s->qloss.count && now - s->last_qnotice_ns >= NOTICE_INTERVAL_NS;
}

int subscriber_has_notice(const struct subscriber *s)
{
	return s->n_pend > 0 || qnotice_ready(s, now_unix_ns());
}

/* ---- batches ------------------------------------------------------------------------ */

/* One item of a batch: a packed Event (an event of the queue, possibly projected, or a
 * notice made here). */
struct item {
	const uint8_t *data;
	size_t len;
};

struct batch {
	struct item *items;
	size_t n;
	uint8_t *scratch; /* notices and projected events, back to back */
	size_t used;
};

/* A LostEvents notice, built on the stack. */
struct notice {
	pb_event ev;
	pb_lost lost;
	pb_timestamp now, first, last;
};

static void notice_init(struct notice *n, const struct hub *h, int observer, int source,
			uint64_t count, uint64_t first_ns, uint64_t last_ns)
{
	tapio__sensor__v1__event__init(&n->ev);
	tapio__sensor__v1__lost_events__init(&n->lost);
	pb_set_time(&n->now, now_unix_ns());
	pb_set_time(&n->first, first_ns);
	pb_set_time(&n->last, last_ns);
	n->lost.source = source;
	n->lost.observer = observer;
	n->lost.count = count;
	n->lost.first = &n->first;
	n->lost.last = &n->last;
	n->ev.boot_id = (char *)h->boot_id;
	n->ev.node = (char *)h->node;
	n->ev.time = &n->now;
	n->ev.observer = PB_OBSERVER(SENSOR);
	n->ev.type = PB_TYPE(LOST_EVENTS);
	n->ev.payload_case = PB_PAYLOAD(LOST);
	n->ev.lost = &n->lost;
}

/* Packs a LostEvents notice into the batch's scratch. */
static void add_notice(struct subscriber *s, struct batch *b, int observer, int source,
		       uint64_t count, uint64_t first_ns, uint64_t last_ns)
{
	struct notice n;
	uint8_t *out = b->scratch + b->used;
	size_t len;

	notice_init(&n, s->hub, observer, source, count, first_ns, last_ns);
	len = protobuf_c_message_pack(&n.ev.base, out);
	b->items[b->n++] = (struct item){out, len};
	b->used += len;
	if (source >= 0 && source < HUB_LOSS_SOURCES)
		s->st.lost[source] += count;
	s->st.notices++;
}

/* Room a notice needs in the scratch: one with the widest values. */
static size_t notice_bound(struct subscriber *s)
{
	struct notice n;

	notice_init(&n, s->hub, PB_OBSERVER(SENSOR), PB_LOSS(RESUME_GAP), UINT64_MAX,
		    UINT64_MAX / 2, UINT64_MAX / 2);
	n.now.seconds = n.first.seconds = n.last.seconds = INT64_MAX;
	n.now.nanos = n.first.nanos = n.last.nanos = 999999999;
	return protobuf_c_message_get_packed_size(&n.ev.base);
}

static void add_event(struct subscriber *s, struct batch *b, struct hub_event *e)
{
	ssize_t n;

	if (!s->proj) {
		b->items[b->n++] = (struct item){e->data, e->len};
		return;
	}
	n = projection_apply(s->proj, e->data, e->len, b->scratch + b->used);
	if (n < 0)
		return; /* cannot happen for what the hub packed; skip rather than send garbage */
	b->items[b->n++] = (struct item){b->scratch + b->used, (size_t)n};
	b->used += (size_t)n;
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

/* GetEventsResponse: each item as field 1, wire type 2. */
static uint8_t *serialize(const struct batch *b, size_t *len)
{
	size_t total = 0;
	uint8_t *buf, *p;

	for (size_t i = 0; i < b->n; i++)
		total += 1 + varint_len(b->items[i].len) + b->items[i].len;
	buf = malloc(total ? total : 1);
	if (!buf)
		return NULL;
	p = buf;
	for (size_t i = 0; i < b->n; i++) {
		size_t l = b->items[i].len;

		*p++ = 0x0a;
		while (l >= 0x80) {
			*p++ = (uint8_t)(l | 0x80);
			l >>= 7;
		}
		*p++ = (uint8_t)l;
		memcpy(p, b->items[i].data, b->items[i].len);
		p += b->items[i].len;
	}
	*len = total;
	return buf;
}

static int alloc_batch(struct subscriber *s, struct batch *b, uint32_t n)
{
	size_t scratch = (size_t)(s->n_pend + 1) * notice_bound(s);

	if (s->proj)
		for (uint32_t i = 0; i < n; i++)
			scratch += s->q[(s->head + i) % s->cap]->len;
	b->items = calloc(n + s->n_pend + 1, sizeof(*b->items));
	b->scratch = malloc(scratch);
	b->n = b->used = 0;
	if (!b->items || !b->scratch) {
		free(b->items);
		free(b->scratch);
		return -1;
	}
	return 0;
}

uint8_t *subscriber_take(struct subscriber *s, uint32_t max, size_t *len)
{
	uint32_t n = s->count < max ? s->count : max, gap_at = UINT32_MAX;
	uint64_t now = now_unix_ns();
	struct batch b;
	uint8_t *out;

	*len = 0;
	if (!n && !subscriber_has_notice(s))
		return NULL;
	if (alloc_batch(s, &b, n) < 0)
		return NULL;
	/* What others announced first: it is about the past. */
	for (int i = 0; i < s->n_pend; i++)
		add_notice(s, &b, s->pend[i].observer, s->pend[i].source, s->pend[i].count,
			   s->pend[i].first_ns, s->pend[i].last_ns);
	s->n_pend = 0;
	/* Our own gap where it happened, or deferred to the head of a later batch. */
	if (qnotice_ready(s, now) && s->qloss.after <= n)
		gap_at = s->qloss.after;
	for (uint32_t i = 0; i <= n; i++) {
		if (i == gap_at) {
			add_notice(s, &b, 0, PB_LOSS(SUBSCRIBER_QUEUE_FULL), s->qloss.count,
				   s->qloss.first_ns, s->qloss.last_ns);
			memset(&s->qloss, 0, sizeof(s->qloss));
			s->last_qnotice_ns = now;
		}
		if (i < n) {
			add_event(s, &b, s->q[s->head]);
			/* The reference stays until the batch is serialized. */
			s->head = (s->head + 1) % s->cap;
		}
	}
	if (s->qloss.count)
		s->qloss.after = s->qloss.after > n ? s->qloss.after - n : 0;
	out = b.n ? serialize(&b, len) : NULL;
	for (uint32_t i = 0; i < n; i++)
		hub_event_unref(s->q[(s->head + s->cap - n + i) % s->cap]);
	s->count -= n;
	s->st.delivered += n;
	free(b.items);
	free(b.scratch);
	return out;
}

void subscriber_get_stats(const struct subscriber *s, struct subscriber_stats *out)
{
	*out = s->st;
	out->queued = s->count;
	out->capacity = s->cap;
}
