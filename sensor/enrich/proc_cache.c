/* proc_cache.c - bounded LRU cache of processes keyed by pid.
 *
 * A hash table with chaining (bucket count a power of two >= capacity, so chains stay short
 * at full load) plus a doubly linked list in recency order: the head is the most recently
 * used entry, the tail the next to evict. Entries are allocated one by one as the cache
 * grows; an eviction recycles the evicted entry's memory for the new pid, so a full cache
 * does no allocation per insert except for the strings.
 */
#include "enrich/proc_cache.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Beyond this the bucket count (a power of two >= capacity) would not fit in 32 bits. */
#define PCACHE_MAX_CAPACITY (1u << 31)

struct pcache {
	struct pcache_entry **buckets;
	uint32_t mask; /* bucket count - 1 */
	uint32_t capacity;
	uint32_t size;
	struct pcache_entry *lru_head; /* most recently used */
	struct pcache_entry *lru_tail; /* least recently used: evicted first */
	uint64_t hits, misses, evictions;
};

/* Shared "" for empty binary/args: a reset or a failed-then-cleared entry needs no
 * allocation, so pcache_insert can only fail when a new entry must be allocated. */
static char pcache_empty[1];

/* Pids are mostly small and sequential; mixing all bits before masking keeps pids that
 * differ only in high bits (pid namespaces, pid_max wrap) from sharing a bucket. */
static uint32_t pcache_hash(uint32_t pid)
{
	pid ^= pid >> 16;
	pid *= 0x85ebca6bu;
	pid ^= pid >> 13;
	pid *= 0xc2b2ae35u;
	pid ^= pid >> 16;
	return pid;
}

static uint32_t bucket_count(uint32_t capacity)
{
	uint32_t n = 1;

	while (n < capacity)
		n <<= 1;
	return n;
}

struct pcache *pcache_new(uint32_t capacity)
{
	struct pcache *c;
	uint32_t n;

	if (capacity == 0 || capacity > PCACHE_MAX_CAPACITY) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	n = bucket_count(capacity);
	c->buckets = calloc(n, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return NULL;
	}
	c->mask = n - 1;
	c->capacity = capacity;
	return c;
}

static void free_strings(struct pcache_entry *e)
{
	if (e->binary != pcache_empty)
		free(e->binary);
	if (e->args != pcache_empty)
		free(e->args);
	e->binary = pcache_empty;
	e->args = pcache_empty;
	e->args_len = 0;
}

void pcache_free(struct pcache *c)
{
	struct pcache_entry *e, *next;

	if (!c)
		return;
	for (e = c->lru_head; e; e = next) {
		next = e->lru_next;
		free_strings(e);
		free(e);
	}
	free(c->buckets);
	free(c);
}

static struct pcache_entry **bucket_of(const struct pcache *c, uint32_t pid)
{
	return &c->buckets[pcache_hash(pid) & c->mask];
}

static struct pcache_entry *find(const struct pcache *c, uint32_t pid)
{
	struct pcache_entry *e;

	for (e = *bucket_of(c, pid); e; e = e->hash_next)
		if (e->pid == pid)
			return e;
	return NULL;
}

static void lru_unlink(struct pcache *c, struct pcache_entry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		c->lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		c->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(struct pcache *c, struct pcache_entry *e)
{
	e->lru_prev = NULL;
	e->lru_next = c->lru_head;
	if (c->lru_head)
		c->lru_head->lru_prev = e;
	else
		c->lru_tail = e;
	c->lru_head = e;
}

static void touch(struct pcache *c, struct pcache_entry *e)
{
	if (c->lru_head == e)
		return;
	lru_unlink(c, e);
	lru_push_front(c, e);
}

static void hash_add(struct pcache *c, struct pcache_entry *e)
{
	struct pcache_entry **b = bucket_of(c, e->pid);

	e->hash_next = *b;
	*b = e;
}

static void hash_del(struct pcache *c, struct pcache_entry *e)
{
	struct pcache_entry **pp;

	for (pp = bucket_of(c, e->pid); *pp; pp = &(*pp)->hash_next) {
		if (*pp == e) {
			*pp = e->hash_next;
			e->hash_next = NULL;
			return;
		}
	}
}

struct pcache_entry *pcache_lookup(struct pcache *c, uint32_t pid)
{
	struct pcache_entry *e = find(c, pid);

	if (!e) {
		c->misses++;
		return NULL;
	}
	c->hits++;
	touch(c, e);
	return e;
}

struct pcache_entry *pcache_peek(const struct pcache *c, uint32_t pid)
{
	return find(c, pid);
}

/* Clears everything the caller sees, keeping the entry's place in the hash and LRU list. */
static void reset(struct pcache_entry *e, uint32_t pid)
{
	struct pcache_entry *prev = e->lru_prev, *next = e->lru_next, *hnext = e->hash_next;

	free_strings(e);
	memset(e, 0, sizeof(*e));
	e->pid = pid;
	e->binary = pcache_empty;
	e->args = pcache_empty;
	e->lru_prev = prev;
	e->lru_next = next;
	e->hash_next = hnext;
}

/* Takes the least recently used entry out of the cache for reuse as a new pid's entry. */
static struct pcache_entry *evict_lru(struct pcache *c)
{
	struct pcache_entry *e = c->lru_tail;

	lru_unlink(c, e);
	hash_del(c, e);
	c->size--;
	c->evictions++;
	return e;
}

struct pcache_entry *pcache_insert(struct pcache *c, uint32_t pid)
{
	struct pcache_entry *e = find(c, pid);

	if (e) {
		reset(e, pid);
		touch(c, e);
		return e;
	}
	if (c->size >= c->capacity) {
		e = evict_lru(c);
	} else {
		e = calloc(1, sizeof(*e));
		if (!e)
			return NULL;
		e->binary = pcache_empty;
		e->args = pcache_empty;
	}
	reset(e, pid);
	e->hash_next = NULL;
	hash_add(c, e);
	lru_push_front(c, e);
	c->size++;
	return e;
}

void pcache_remove(struct pcache *c, uint32_t pid)
{
	struct pcache_entry *e = find(c, pid);

	if (!e)
		return;
	lru_unlink(c, e);
	hash_del(c, e);
	c->size--;
	free_strings(e);
	free(e);
}

int pcache_set_binary(struct pcache_entry *e, const char *binary)
{
	char *copy = pcache_empty;

	if (binary && binary[0]) {
		copy = strdup(binary);
		if (!copy)
			return -1;
	}
	if (e->binary != pcache_empty)
		free(e->binary);
	e->binary = copy;
	return 0;
}

int pcache_set_args(struct pcache_entry *e, const char *args, size_t len)
{
	char *copy = pcache_empty;

	if (args && len > 0) {
		if (len == SIZE_MAX) {
			errno = EOVERFLOW;
			return -1;
		}
		/* One byte more than given, always NUL: a consumer reading the last argument
		 * as a C string stops inside the buffer even if the source was truncated. */
		copy = malloc(len + 1);
		if (!copy)
			return -1;
		memcpy(copy, args, len);
		copy[len] = '\0';
	} else {
		len = 0;
	}
	if (e->args != pcache_empty)
		free(e->args);
	e->args = copy;
	e->args_len = len;
	return 0;
}

void pcache_get_stats(const struct pcache *c, struct pcache_stats *out)
{
	out->size = c->size;
	out->capacity = c->capacity;
	out->hits = c->hits;
	out->misses = c->misses;
	out->evictions = c->evictions;
}
