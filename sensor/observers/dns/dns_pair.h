/* dns_pair.h - DNS query/response pairing for the DNS observer, independent of the kernel.
 *
 * Owns a bounded table of outstanding queries keyed by (transaction id, client address and
 * port, server address and port, protocol), IPv4 or IPv6. A response removes its query and
 * yields the latency; dnsp_expire reports each query that got no response within a timeout
 * exactly once and removes it. A retransmission (same key again) keeps the first timestamp.
 * When the table is full the oldest query is evicted (counted, and handed to the caller).
 * Every operation is O(1) on average; the table allocates only in dnsp_new.
 * Single-threaded (the loop thread); timestamps are the caller's, in ns (CLOCK_MONOTONIC).
 */
#ifndef TAPIO_DNS_PAIR_H
#define TAPIO_DNS_PAIR_H

#include <stddef.h>
#include <stdint.h>

#define DNSP_DEFAULT_CAPACITY 4096
#define DNSP_MAX_CAPACITY (1u << 24)
#define DNSP_QNAME_BUF 256 /* query name kept for timeouts; longer names are cut */

/* Build keys with dnsp_key_v4/dnsp_key_v6: they zero the unused address bytes, which the
 * table compares. Addresses are in network order, ports and id in host order. */
struct dnsp_key {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t proto;	/* IPPROTO_UDP or IPPROTO_TCP */
	uint16_t id;	/* DNS transaction id */
	uint16_t client_port;
	uint16_t server_port;
	uint8_t client[16]; /* IPv4 uses the first 4 bytes */
	uint8_t server[16];
};

/* What the caller wants back with the response or the timeout: who asked, and what. */
struct dnsp_info {
	uint64_t cgroup_id;
	uint64_t start_ns; /* the querying process's start (tells a reused pid apart) */
	uint32_t pid;
	uint32_t tid;
	uint32_t netns;	       /* network namespace inode, 0 unknown */
	uint32_t sample_every; /* the query was kept as 1 of this many; 0 = not sampled */
	uint16_t qtype;
	uint8_t qname_cut; /* qname holds a prefix of the name */
	char comm[16];
	char qname[DNSP_QNAME_BUF];
};

/* An outstanding query, as handed back by a match, a timeout or an eviction. */
struct dnsp_pending {
	struct dnsp_key key;
	uint64_t query_ns;     /* first transmission */
	uint32_t retransmits;  /* further queries with the same key */
	struct dnsp_info info; /* from the first transmission */
};

struct dnsp_stats {
	uint32_t size;
	uint32_t capacity;
	uint64_t queries;     /* first transmissions recorded */
	uint64_t retransmits; /* queries whose key was already outstanding */
	uint64_t matched;     /* responses that found their query */
	uint64_t unmatched;   /* responses without an outstanding query */
	uint64_t expired;     /* queries reported by dnsp_expire */
	uint64_t evicted;     /* queries dropped to make room */
};

enum dnsp_query_result {
	DNSP_NEW = 0,	     /* recorded */
	DNSP_RETRANSMIT = 1, /* key already outstanding: first timestamp kept, count bumped */
	DNSP_EVICTED = 2,    /* recorded after evicting the oldest query (into *evicted) */
};

struct dnsp_table;

/* capacity 1..DNSP_MAX_CAPACITY; NULL (errno set) otherwise or on allocation failure. The
 * hash is keyed with a random seed, so crafted ids and ports cannot pile up in one chain. */
struct dnsp_table *dnsp_new(uint32_t capacity);
void dnsp_free(struct dnsp_table *t);

void dnsp_key_v4(struct dnsp_key *k, uint8_t proto, uint16_t id, const uint8_t client[4],
		 uint16_t client_port, const uint8_t server[4], uint16_t server_port);
void dnsp_key_v6(struct dnsp_key *k, uint8_t proto, uint16_t id, const uint8_t client[16],
		 uint16_t client_port, const uint8_t server[16], uint16_t server_port);

/* Copies name into info->qname, cut at DNSP_QNAME_BUF - 1 bytes but never inside a \DDD
 * escape (setting qname_cut). */
void dnsp_info_set_qname(struct dnsp_info *info, const char *name);

/* Records a query sent at now_ns. info may be NULL (zeroed). When the table is full the
 * oldest query is evicted and, if evicted is not NULL, copied there. Returns an enum
 * dnsp_query_result. */
int dnsp_query(struct dnsp_table *t, const struct dnsp_key *k, uint64_t now_ns,
	       const struct dnsp_info *info, struct dnsp_pending *evicted);

/* Finds and removes the query answered at now_ns. Returns 0 with *latency_ns = now_ns minus
 * the first transmission's time (0 if the clocks disagree) and the query in *match (either
 * may be NULL); -1 when no query is outstanding for the key (counted as unmatched). */
int dnsp_response(struct dnsp_table *t, const struct dnsp_key *k, uint64_t now_ns,
		  uint64_t *latency_ns, struct dnsp_pending *match);

/* Copies the outstanding query of key k into *out (when not NULL), leaving it in place.
 * Returns 0, or -1 when none is outstanding. Counts nothing. */
int dnsp_lookup(const struct dnsp_table *t, const struct dnsp_key *k, struct dnsp_pending *out);

/* Called once per timed-out query, after it was removed (the callback may use the table). */
typedef void (*dnsp_expire_fn)(const struct dnsp_pending *p, uint64_t age_ns, void *ctx);

/* Removes every query with now_ns - query_ns >= timeout_ns, oldest first, calling cb (may
 * be NULL) for each. Returns how many. */
uint32_t dnsp_expire(struct dnsp_table *t, uint64_t now_ns, uint64_t timeout_ns, dnsp_expire_fn cb,
		     void *ctx);

void dnsp_get_stats(const struct dnsp_table *t, struct dnsp_stats *out);

#endif
