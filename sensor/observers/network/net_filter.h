/* net_filter.h - the network part of a subscriber's filters (EventFilter.network):
 * addresses and CIDRs, ports, protocols, a minimum HTTP status and a minimum latency.
 * Compiled once per subscription by hub/filter.c, which calls net_filter_match for each
 * event of a filter that sets it. CIDRs are parsed at compile time; an event's endpoints
 * are compared as binary addresses (an IPv4 address also matches its ::ffff: form).
 */
#ifndef TAPIO_NET_FILTER_H
#define TAPIO_NET_FILTER_H

#include <stddef.h>

#include "core/pb.h"

struct net_filter;

/* Compiles f. where names it in messages ("allow[0].network"). NULL with a one-line
 * message naming the field ("allow[0].network.cidrs[1]: \"10.0/8\" is not an address or
 * CIDR") when a value is bad, or on allocation failure. */
struct net_filter *net_filter_compile(const Tapio__Sensor__V1__NetworkFilter *f, const char *where,
				      char *err, size_t errlen);
/* 1 when ev is a network event that matches every field f sets. */
int net_filter_match(const struct net_filter *f, const pb_event *ev);
void net_filter_free(struct net_filter *f);

#endif
