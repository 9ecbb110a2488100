/* net_l7.c - see net_l7.h. A fixed array of entries, hash chains by index, and a
 * doubly linked recency list (head: most recent) for eviction. */
#include "observers/network/net_l7.h"

#include <stdlib.h>
#include <string.h>

struct net_l7 {
	struct net_l7_conn *e;
	int32_t *buckets;
	uint32_t capacity, nbuckets, size;
	int32_t head, tail, free_list;
	struct net_l7_stats stats;
	struct net_http1_stats http1;
	struct net_h2_stats h2;
	net_l7_emit_fn emit;
	void *ctx;
	struct net_l7_conn *current; /* the entry being fed (for the callbacks) */
};

static uint32_t bucket_of(const struct net_l7 *t, uint64_t sk)
{
	sk ^= sk >> 29;
	sk *= 0xbf58476d1ce4e5b9ULL;
	sk ^= sk >> 32;
	return (uint32_t)sk & (t->nbuckets - 1);
}

struct net_l7 *net_l7_new(uint32_t capacity, net_l7_emit_fn emit, void *ctx)
{
	struct net_l7 *t = calloc(1, sizeof(*t));

	if (!t || capacity == 0)
		goto fail;
	t->capacity = capacity;
	t->nbuckets = 1;
	while (t->nbuckets < capacity)
		t->nbuckets <<= 1;
	t->e = calloc(capacity, sizeof(*t->e));
	t->buckets = malloc(t->nbuckets * sizeof(*t->buckets));
	if (!t->e || !t->buckets)
		goto fail;
	for (uint32_t i = 0; i < t->nbuckets; i++)
		t->buckets[i] = -1;
	for (uint32_t i = 0; i < capacity; i++)
		t->e[i].next = i + 1 < capacity ? (int32_t)i + 1 : -1;
	t->free_list = 0;
	t->head = t->tail = -1;
	t->emit = emit;
	t->ctx = ctx;
	return t;
fail:
	if (t) {
		free(t->e);
		free(t->buckets);
	}
	free(t);
	return NULL;
}

static void drop_parsers(struct net_l7_conn *c)
{
	if (c->http1) {
		net_http1_reset(c->http1);
		free(c->http1);
		c->http1 = NULL;
	}
	if (c->h2) {
		net_h2_free(c->h2);
		free(c->h2);
		c->h2 = NULL;
	}
}

void net_l7_free(struct net_l7 *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < t->capacity; i++)
		if (t->e[i].used)
			drop_parsers(&t->e[i]);
	free(t->e);
	free(t->buckets);
	free(t);
}

static void list_unlink(struct net_l7 *t, int32_t i)
{
	struct net_l7_conn *c = &t->e[i];

	if (c->prev >= 0)
		t->e[c->prev].next = c->next;
	else
		t->head = c->next;
	if (c->next >= 0)
		t->e[c->next].prev = c->prev;
	else
		t->tail = c->prev;
}

static void list_push_front(struct net_l7 *t, int32_t i)
{
	struct net_l7_conn *c = &t->e[i];

	c->prev = -1;
	c->next = t->head;
	if (t->head >= 0)
		t->e[t->head].prev = i;
	t->head = i;
	if (t->tail < 0)
		t->tail = i;
}

static int32_t find(const struct net_l7 *t, uint64_t sk)
{
	for (int32_t i = t->buckets[bucket_of(t, sk)]; i >= 0; i = t->e[i].chain)
		if (t->e[i].sk == sk)
			return i;
	return -1;
}

static void remove_entry(struct net_l7 *t, int32_t i)
{
	struct net_l7_conn *c = &t->e[i];
	int32_t *link = &t->buckets[bucket_of(t, c->sk)];

	while (*link != i)
		link = &t->e[*link].chain;
	*link = c->chain;
	list_unlink(t, i);
	drop_parsers(c);
	memset(c, 0, sizeof(*c));
	c->next = t->free_list;
	t->free_list = i;
	t->size--;
}

static int32_t insert(struct net_l7 *t, uint64_t sk)
{
	uint32_t b = bucket_of(t, sk);
	struct net_l7_conn *c;
	int32_t i;

	if (t->free_list < 0) {
		t->stats.evicted++;
		remove_entry(t, t->tail);
	}
	i = t->free_list;
	c = &t->e[i];
	t->free_list = c->next;
	memset(c, 0, sizeof(*c));
	c->sk = sk;
	c->used = 1;
	c->chain = t->buckets[b];
	t->buckets[b] = i;
	list_push_front(t, i);
	t->size++;
	return i;
}

static void on_exchange(void *ctx, const struct net_exchange *x)
{
	struct net_l7 *t = ctx;

	t->emit(t->ctx, t->current, x);
}

/* Makes c parse `proto`; a new connection on the same socket address, or another kind
 * of stream on it, starts over. */
static int prepare(struct net_l7 *t, struct net_l7_conn *c, const struct net_data_event *d)
{
	int tls = !!(d->flags & NET_DATA_F_TLS);

	if (c->conn_id == d->conn_id && c->proto == d->proto && c->role == d->role &&
	    c->tls == tls && (c->http1 || c->h2))
		return 0;
	drop_parsers(c);
	c->conn_id = d->conn_id;
	c->proto = d->proto;
	c->role = d->role;
	c->tls = (uint8_t)tls;
	if (d->proto == NET_PROTO_HTTP1) {
		c->http1 = malloc(sizeof(*c->http1));
		if (!c->http1)
			return -1;
		net_http1_init(c->http1, &t->http1, on_exchange, t);
		return 0;
	}
	if (d->proto == NET_PROTO_HTTP2) {
		c->h2 = malloc(sizeof(*c->h2));
		if (!c->h2 || net_h2_init(c->h2, &t->h2, on_exchange, t) != 0) {
			free(c->h2);
			c->h2 = NULL;
			return -1;
		}
		return 0;
	}
	return -1;
}

void net_l7_data(struct net_l7 *t, const struct net_data_event *d, const uint8_t *bytes)
{
	struct net_l7_conn *c;
	int32_t i = find(t, d->sk);
	int to_server;

	if (i < 0) {
		i = insert(t, d->sk);
	} else {
		list_unlink(t, i);
		list_push_front(t, i);
	}
	c = &t->e[i];
	if (prepare(t, c, d) < 0) {
		t->stats.desync++;
		return;
	}
	c->ep = d->ep;
	c->last = d->h;
	t->current = c;
	to_server = (d->role == NET_ROLE_CLIENT) == (d->dir == NET_DATA_EGRESS);
	if (c->http1) {
		if (d->flags & NET_DATA_F_GAP)
			net_http1_gap(c->http1);
		net_http1_feed(c->http1, to_server, bytes, d->cap, d->len, d->h.ts_ns);
	} else {
		if (d->flags & NET_DATA_F_GAP)
			net_h2_gap(c->h2);
		net_h2_feed(c->h2, to_server, bytes, d->cap, d->len, d->h.ts_ns);
	}
	t->current = NULL;
}

void net_l7_close(struct net_l7 *t, uint64_t sk, uint64_t ts)
{
	int32_t i = find(t, sk);

	if (i < 0)
		return;
	t->current = &t->e[i];
	if (t->e[i].http1)
		net_http1_eof(t->e[i].http1, ts);
	t->current = NULL;
	remove_entry(t, i);
}

void net_l7_get_stats(const struct net_l7 *t, struct net_l7_stats *out)
{
	*out = t->stats;
	out->desync += t->http1.desync + t->h2.desync;
	out->unanswered += t->http1.unanswered + t->h2.unanswered;
}

uint32_t net_l7_size(const struct net_l7 *t)
{
	return t->size;
}
