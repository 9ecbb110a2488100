/* dns_decode.h - the DNS observer's user-space half: kernel records to events.
 *
 * Owns the pairing of queries and responses (observers/dns/dns_pair.c), the parsing of each
 * captured message (observers/dns/dns_wire.c), the DnsEvent of every query, response and
 * timeout, and the counters of what could not be decoded or paired. Independent of the
 * BPF object: it takes struct dns_record bytes (bpf/dns.h) and publishes through
 * core/event.h, so the unit tests drive it with records they build.
 * Single-threaded (the loop thread); times are CLOCK_MONOTONIC ns like the kernel's.
 */
#ifndef TAPIO_DNS_DECODE_H
#define TAPIO_DNS_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "dns.h"

struct observer;
struct dnsd;

#define DNSD_USER_COUNTERS (DNS_CNT_END - DNS_CNT_USER_FIRST)

/* A decoder publishing as observer o, pairing up to capacity outstanding queries, that
 * reports a query as timed out after timeout_ns. NULL (errno set) on failure. */
struct dnsd *dnsd_new(struct observer *o, uint32_t capacity, uint64_t timeout_ns);
void dnsd_free(struct dnsd *d);

/* One record from the kernel. Returns 0, or -1 when the record itself is malformed (wrong
 * size or type, lengths out of bounds). A malformed DNS message in a good record is
 * counted (DNS_CNT_MALFORMED) and still reported as far as it could be decoded. */
int dnsd_record(struct dnsd *d, const void *data, size_t len);

/* Publishes a timeout event for every query outstanding for timeout_ns at now_ns.
 * Returns how many. */
uint32_t dnsd_expire(struct dnsd *d, uint64_t now_ns);

/* The user-space counters, indexed from DNS_CNT_USER_FIRST. */
void dnsd_counters(const struct dnsd *d, uint64_t out[DNSD_USER_COUNTERS]);

#endif
