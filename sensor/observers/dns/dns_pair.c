/* dns_pair.c - the outstanding-query table of the DNS observer (see dns_pair.h).
 *
 * Entries live in one array allocated up front, linked three ways by index: a free list,
 * hash chains (bucket count a power of two >= capacity, so chains stay short when full), and
 * a list ordered by query time, oldest first. Expiry and eviction pop the oldest end, so
 * both cost O(1) per query removed. Queries arrive nearly in time order (events of several
 * CPUs interleave a little), so an insert walks back from the newest end only past the few
 * newer entries.
 */
#include "observers/dns/dns_pair.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <sys/socket.h>

#define NIL UINT32_MAX

struct entry {
	struct dnsp_pending p;
	uint32_t hash;
	uint32_t chain; /* next in the bucket, or in the free list */
	uint32_t older, newer;
};

struct dnsp_table {
	struct entry *e;
	uint32_t *buckets;
	uint32_t mask;
	uint32_t capacity;
	uint32_t size;
	uint32_t free_head;
	uint32_t oldest, newest;
	uint64_t seed;
	uint64_t queries, retransmits, matched, unmatched, expired, evicted;
};

static size_t addr_len(const struct dnsp_key *k)
{
	return k->family == AF_INET6 ? 16 : 4;
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static uint64_t addr_word(const uint8_t *a, size_t len, size_t half)
{
	uint8_t b[16] = {0};
	uint64_t w;

	memcpy(b, a, len);
	memcpy(&w, b + 8 * half, sizeof(w));
	return w;
}

/* Seeded so that a client choosing ids and ports cannot predict bucket collisions; only the
 * address bytes the family uses are hashed, matching key_equal. */
static uint32_t key_hash(const struct dnsp_table *t, const struct dnsp_key *k)
{
	size_t len = addr_len(k);
	uint64_t h = t->seed;

	h = mix(h ^ ((uint64_t)k->family | (uint64_t)k->proto << 8 | (uint64_t)k->id << 16 |
		     (uint64_t)k->client_port << 32 | (uint64_t)k->server_port << 48));
	h = mix(h ^ addr_word(k->client, len, 0));
	h = mix(h ^ addr_word(k->client, len, 1));
	h = mix(h ^ addr_word(k->server, len, 0));
	h = mix(h ^ addr_word(k->server, len, 1));
	return (uint32_t)(h ^ h >> 32);
}

static bool key_equal(const struct dnsp_key *a, const struct dnsp_key *b)
{
	return a->family == b->family && a->proto == b->proto && a->id == b->id &&
	       a->client_port == b->client_port && a->server_port == b->server_port &&
	       memcmp(a->client, b->client, addr_len(a)) == 0 &&
	       memcmp(a->server, b->server, addr_len(a)) == 0;
}

static uint64_t random_seed(const void *salt)
{
	uint64_t seed;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
		return seed;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return mix((uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^ (uintptr_t)salt);
}

struct dnsp_table *dnsp_new(uint32_t capacity)
{
	struct dnsp_table *t;
	uint32_t nb = 1;

	if (capacity == 0 || capacity > DNSP_MAX_CAPACITY) {
		errno = EINVAL;
		return NULL;
	}
	while (nb < capacity)
		nb <<= 1;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->e = calloc(capacity, sizeof(*t->e));
	t->buckets = malloc(nb * sizeof(*t->buckets));
	if (!t->e || !t->buckets) {
		dnsp_free(t);
		return NULL;
	}
	memset(t->buckets, 0xff, nb * sizeof(*t->buckets));
	for (uint32_t i = 0; i < capacity; i++)
		t->e[i].chain = i + 1 < capacity ? i + 1 : NIL;
	t->mask = nb - 1;
	t->capacity = capacity;
	t->free_head = 0;
	t->oldest = t->newest = NIL;
	t->seed = random_seed(t);
	return t;
}

void dnsp_free(struct dnsp_table *t)
{
	if (!t)
		return;
	free(t->e);
	free(t->buckets);
	free(t);
}

static void key_fill(struct dnsp_key *k, uint8_t family, uint8_t proto, uint16_t id,
		     uint16_t client_port, uint16_t server_port)
{
	memset(k, 0, sizeof(*k));
	k->family = family;
	k->proto = proto;
	k->id = id;
	k->client_port = client_port;
	k->server_port = server_port;
}

void dnsp_key_v4(struct dnsp_key *k, uint8_t proto, uint16_t id, const uint8_t client[4],
		 uint16_t client_port, const uint8_t server[4], uint16_t server_port)
{
	key_fill(k, AF_INET, proto, id, client_port, server_port);
	memcpy(k->client, client, 4);
	memcpy(k->server, server, 4);
}

void dnsp_key_v6(struct dnsp_key *k, uint8_t proto, uint16_t id, const uint8_t client[16],
		 uint16_t client_port, const uint8_t server[16], uint16_t server_port)
{
	key_fill(k, AF_INET6, proto, id, client_port, server_port);
	memcpy(k->client, client, 16);
	memcpy(k->server, server, 16);
}

/* Walks escapes whole (\DDD is 4 bytes, \X 2) so the cut never leaves half of one. */
void dnsp_info_set_qname(struct dnsp_info *info, const char *name)
{
	size_t i = 0, limit = DNSP_QNAME_BUF - 1;

	while (name[i]) {
		size_t w = 1;

		if (name[i] == '\\')
			w = name[i + 1] >= '0' && name[i + 1] <= '9' ? 4 : 2;
		if (i + w > limit || strnlen(name + i, w) < w)
			break;
		i += w;
	}
	memcpy(info->qname, name, i);
	info->qname[i] = '\0';
	info->qname_cut = name[i] != '\0';
}

/* Keeps the time list sorted: walk back from the newest end past entries sent later. */
static void time_insert(struct dnsp_table *t, uint32_t i)
{
	uint64_t ts = t->e[i].p.query_ns;
	uint32_t after = t->newest;

	while (after != NIL && t->e[after].p.query_ns > ts)
		after = t->e[after].older;
	t->e[i].older = after;
	t->e[i].newer = after == NIL ? t->oldest : t->e[after].newer;
	if (after == NIL)
		t->oldest = i;
	else
		t->e[after].newer = i;
	if (t->e[i].newer == NIL)
		t->newest = i;
	else
		t->e[t->e[i].newer].older = i;
}

static void time_unlink(struct dnsp_table *t, uint32_t i)
{
	struct entry *e = &t->e[i];

	if (e->older == NIL)
		t->oldest = e->newer;
	else
		t->e[e->older].newer = e->newer;
	if (e->newer == NIL)
		t->newest = e->older;
	else
		t->e[e->newer].older = e->older;
}

static void chain_unlink(struct dnsp_table *t, uint32_t i)
{
	uint32_t *link = &t->buckets[t->e[i].hash & t->mask];

	while (*link != i)
		link = &t->e[*link].chain;
	*link = t->e[i].chain;
}

static uint32_t find(const struct dnsp_table *t, const struct dnsp_key *k, uint32_t hash)
{
	uint32_t i = t->buckets[hash & t->mask];

	while (i != NIL && (t->e[i].hash != hash || !key_equal(&t->e[i].p.key, k)))
		i = t->e[i].chain;
	return i;
}

static void entry_remove(struct dnsp_table *t, uint32_t i)
{
	chain_unlink(t, i);
	time_unlink(t, i);
	t->e[i].chain = t->free_head;
	t->free_head = i;
	t->size--;
}

static void entry_add(struct dnsp_table *t, const struct dnsp_key *k, uint32_t hash,
		      uint64_t now_ns, const struct dnsp_info *info)
{
	uint32_t i = t->free_head;
	struct entry *e = &t->e[i];
	uint32_t *bucket = &t->buckets[hash & t->mask];

	t->free_head = e->chain;
	e->p.key = *k;
	e->p.query_ns = now_ns;
	e->p.retransmits = 0;
	if (info)
		e->p.info = *info;
	else
		memset(&e->p.info, 0, sizeof(e->p.info));
	e->hash = hash;
	e->chain = *bucket;
	*bucket = i;
	time_insert(t, i);
	t->size++;
}

int dnsp_query(struct dnsp_table *t, const struct dnsp_key *k, uint64_t now_ns,
	       const struct dnsp_info *info, struct dnsp_pending *evicted)
{
	uint32_t hash = key_hash(t, k);
	uint32_t i = find(t, k, hash);
	int rc = DNSP_NEW;

	if (i != NIL) {
		t->e[i].p.retransmits++;
		t->retransmits++;
		return DNSP_RETRANSMIT;
	}
	if (t->size == t->capacity) {
		if (evicted)
			*evicted = t->e[t->oldest].p;
		entry_remove(t, t->oldest);
		t->evicted++;
		rc = DNSP_EVICTED;
	}
	entry_add(t, k, hash, now_ns, info);
	t->queries++;
	return rc;
}

int dnsp_response(struct dnsp_table *t, const struct dnsp_key *k, uint64_t now_ns,
		  uint64_t *latency_ns, struct dnsp_pending *match)
{
	uint32_t i = find(t, k, key_hash(t, k));
	uint64_t sent;

	if (i == NIL) {
		t->unmatched++;
		return -1;
	}
	sent = t->e[i].p.query_ns;
	if (latency_ns)
		*latency_ns = now_ns >= sent ? now_ns - sent : 0;
	if (match)
		*match = t->e[i].p;
	entry_remove(t, i);
	t->matched++;
	return 0;
}

int dnsp_lookup(const struct dnsp_table *t, const struct dnsp_key *k, struct dnsp_pending *out)
{
	uint32_t i = find(t, k, key_hash(t, k));

	if (i == NIL)
		return -1;
	if (out)
		*out = t->e[i].p;
	return 0;
}

/* The time list is sorted, so the scan stops at the first query still within the timeout;
 * a query stamped after now_ns (clock skew between CPUs) is not expired. */
uint32_t dnsp_expire(struct dnsp_table *t, uint64_t now_ns, uint64_t timeout_ns, dnsp_expire_fn cb,
		     void *ctx)
{
	uint32_t n = 0;

	while (t->oldest != NIL) {
		uint32_t i = t->oldest;
		uint64_t sent = t->e[i].p.query_ns;
		struct dnsp_pending p;

		if (now_ns < sent || now_ns - sent < timeout_ns)
			break;
		p = t->e[i].p;
		entry_remove(t, i);
		t->expired++;
		n++;
		if (cb)
			cb(&p, now_ns - sent, ctx);
	}
	return n;
}

void dnsp_get_stats(const struct dnsp_table *t, struct dnsp_stats *out)
{
	out->size = t->size;
	out->capacity = t->capacity;
	out->queries = t->queries;
	out->retransmits = t->retransmits;
	out->matched = t->matched;
	out->unmatched = t->unmatched;
	out->expired = t->expired;
	out->evicted = t->evicted;
}
