/* dns_filter.h - the DNS part of a subscriber's filters (EventFilter.dns): query names
 * (exact, or a domain and everything under it), response codes and a minimum latency.
 * Compiled once per subscription by hub/filter.c, which calls dns_filter_match for each
 * event of a filter that sets it. Names are turned into the form events carry at
 * compile time, so matching is plain string comparison.
 */
#ifndef TAPIO_DNS_FILTER_H
#define TAPIO_DNS_FILTER_H

#include <stddef.h>

#include "core/pb.h"

struct dns_filter;

/* Compiles f. where names it in messages ("allow[0].dns"). NULL with a one-line message
 * in err naming the field ("allow[0].dns.rcodes[1]: unknown rcode \"NXDOMIAN\"") when a
 * value is bad, or on allocation failure. */
struct dns_filter *dns_filter_compile(const Tapio__Sensor__V1__DnsFilter *f, const char *where,
				      char *err, size_t errlen);
/* 1 when ev is a DNS event that matches every field f sets. */
int dns_filter_match(const struct dns_filter *f, const pb_event *ev);
void dns_filter_free(struct dns_filter *f);

#endif
