/* proc_cache.h - bounded LRU cache of the node's processes, keyed by pid.
 *
 * Owns the entries and their strings. Filled by the /proc scan at start, by the process
 * observer's events, and on a miss from the kernel's proc_state map or /proc (see
 * enrich.h); every observer's events are enriched from it. Single-threaded (loop thread).
 * Lookups and inserts are O(1); when full, an insert evicts the least recently used entry.
 */
#ifndef TAPIO_PROC_CACHE_H
#define TAPIO_PROC_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define PCACHE_COMM_LEN 16

/* Entry flags. */
#define PCACHE_F_EXITED 0x1  /* the process exited; kept for late events of other observers */
#define PCACHE_F_PARTIAL 0x2 /* binary/args unknown (seen only through fork) */
#define PCACHE_F_PROCFS 0x4  /* read from /proc: start_ns has clock-tick precision */

struct pcache_entry {
	uint32_t pid;
	uint32_t ppid;
	uint32_t uid;
	uint32_t gid;
	uint64_t start_ns;  /* process start, CLOCK_MONOTONIC ns; 0 = unknown */
	uint64_t cgroup_id; /* cgroup v2 id; 0 = unknown */
	uint32_t flags;	    /* PCACHE_F_* */
	char comm[PCACHE_COMM_LEN];
	char *binary;	 /* owned by the entry (pcache_set_binary); "" when unknown, never NULL */
	char *args;	 /* owned (pcache_set_args): argv strings each NUL-terminated, back to
			  * back, one more NUL after args_len; never NULL */
	size_t args_len; /* bytes in args */
	/* private to proc_cache.c */
	struct pcache_entry *lru_prev, *lru_next, *hash_next;
};

struct pcache_stats {
	uint32_t size;
	uint32_t capacity;
	uint64_t hits;
	uint64_t misses;
	uint64_t evictions;
};

struct pcache;

/* capacity >= 1. Returns NULL on allocation failure. */
struct pcache *pcache_new(uint32_t capacity);
void pcache_free(struct pcache *c);

/* The entry for pid, made most recently used; NULL when absent. Counts a hit or miss. */
struct pcache_entry *pcache_lookup(struct pcache *c, uint32_t pid);
/* Same, without touching LRU order or the hit/miss counters. */
struct pcache_entry *pcache_peek(const struct pcache *c, uint32_t pid);
/* The entry for pid, reset to empty (pid set, everything else zero, binary "" and args
 * empty) and most recently used; an existing entry for pid is reused, otherwise the least
 * recently used entry is evicted when the cache is full. NULL only on allocation failure. */
struct pcache_entry *pcache_insert(struct pcache *c, uint32_t pid);
void pcache_remove(struct pcache *c, uint32_t pid);

/* Replace the entry's strings (copies; binary NULL means ""; args may be NULL with len 0). */
int pcache_set_binary(struct pcache_entry *e, const char *binary);
int pcache_set_args(struct pcache_entry *e, const char *args, size_t len);

void pcache_get_stats(const struct pcache *c, struct pcache_stats *out);

#endif
