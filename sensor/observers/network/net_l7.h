/* net_l7.h - the network observer's table of connections whose bytes it parses.
 *
 * Owns one entry per socket (key: the kernel's struct sock address, as every record
 * carries it), bounded: when full, the least recently used connection is dropped and
 * counted. Each entry holds the parser its bytes need (HTTP/1 or HTTP/2, allocated when
 * first needed) and routes every captured call to it: the request way is the egress of a
 * client and the ingress of a server. Finished exchanges go to the emit callback with the
 * connection, whose `last` header names the process that made the call completing it.
 */
#ifndef TAPIO_NET_L7_H
#define TAPIO_NET_L7_H

#include <stddef.h>
#include <stdint.h>

#include "network.h"
#include "observers/network/net_exchange.h"
#include "observers/network/net_h2.h"
#include "observers/network/net_http1.h"

#define NET_L7_DEFAULT_CONNS 4096

struct net_l7_conn {
	uint64_t sk;
	uint64_t conn_id; /* the kernel's id of the connection on this socket address */
	uint8_t proto;	  /* enum net_proto */
	uint8_t role;	  /* enum net_role */
	uint8_t tls;
	struct net_endpoints ep;
	struct tp_event_header last; /* header of the record being parsed */
	struct net_http1 *http1;
	struct net_h2 *h2;
	/* table links (indices; -1 = none) */
	int32_t prev, next, chain;
	int used;
};

struct net_l7_stats {
	uint64_t evicted; /* connections dropped because the table was full */
	uint64_t desync;
	uint64_t unanswered;
};

typedef void (*net_l7_emit_fn)(void *ctx, const struct net_l7_conn *c,
			       const struct net_exchange *x);

struct net_l7;

struct net_l7 *net_l7_new(uint32_t capacity, net_l7_emit_fn emit, void *ctx);
void net_l7_free(struct net_l7 *t);
/* One data record and its captured bytes (d->cap of them). */
void net_l7_data(struct net_l7 *t, const struct net_data_event *d, const uint8_t *bytes);
/* The socket closed at ts: finish what ends with the stream, forget the connection. */
void net_l7_close(struct net_l7 *t, uint64_t sk, uint64_t ts);
void net_l7_get_stats(const struct net_l7 *t, struct net_l7_stats *out);
uint32_t net_l7_size(const struct net_l7 *t);

#endif
