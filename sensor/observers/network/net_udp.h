/* net_udp.h - UDP flows of the network observer, in user space.
 *
 * The kernel (bpf/network.bpf.c) counts every datagram of every UDP socket into a flow
 * (socket, remote endpoint) and marks a socket closed; it never deletes. Once a tick the
 * sweep here reads both tables and
 *   - sends a summary of each flow of an open socket at the end of every flush interval
 *     that saw a datagram of it (intervals counted from the flow's first datagram, so
 *     summaries of many flows spread over time);
 *   - sends the last summary of each flow of a closed socket and deletes flows and socket
 *     (NET_UDP_CLOSE_GRACE_NS after the close: a datagram already on its way to the
 *     socket when it closed is still counted);
 *   - ends a kernel socket's flow (a tunnel's: it never closes where a program sees it)
 *     once idle for NET_UDP_IDLE_FLUSHES intervals.
 * Only flows admitted when they started (NET_UDP_F_REPORT) are sent; counts are
 * cumulative. The tables are reached through struct net_udp_tables so that tests drive the
 * sweep with tables of their own.
 */
#ifndef TAPIO_NET_UDP_H
#define TAPIO_NET_UDP_H

#include <stdint.h>

#include "core/pb.h"
#include "network.h"
#include "observers/network/net_pb.h"

#define NET_UDP_TICK_MS 1000
#define NET_UDP_IDLE_FLUSHES 4
#define NET_UDP_CLOSE_GRACE_NS 50000000ULL

enum net_udp_reason {
	NET_UDP_NONE = 0,
	NET_UDP_PERIODIC = 1,
	NET_UDP_CLOSED = 2,
	NET_UDP_IDLE = 3,
};

/* One summary on its way to becoming an event. */
struct net_udp_report {
	struct tp_event_header h; /* the socket's owner (pid 0: unknown); ts_ns: taken when */
	struct net_udp_key key;
	struct net_udp_flow flow;
	uint32_t netns;
	uint8_t reason; /* enum net_udp_reason */
	uint8_t owner_known;
};

/* The kernel's tables. Each returns 0 or a negative errno; next_*: the key after prev
 * (NULL: the first), -ENOENT after the last. */
struct net_udp_tables {
	int (*next_flow)(void *ctx, const struct net_udp_key *prev, struct net_udp_key *next);
	int (*get_flow)(void *ctx, const struct net_udp_key *k, struct net_udp_flow *f);
	int (*del_flow)(void *ctx, const struct net_udp_key *k);
	int (*next_sock)(void *ctx, const uint64_t *prev, uint64_t *next);
	int (*get_sock)(void *ctx, uint64_t cookie, struct net_udp_sock *s);
	int (*del_sock)(void *ctx, uint64_t cookie);
	void *ctx;
};

/* The tables as BPF maps: ctx is a struct net_udp_fds that outlives the sweep. */
struct net_udp_fds {
	int flows;
	int socks;
};
void net_udp_bpf_tables(struct net_udp_fds *fds, struct net_udp_tables *t);

typedef void (*net_udp_emit_fn)(void *ctx, const struct net_udp_report *r);

struct net_udp_stats {
	uint64_t periodic; /* summaries sent, by reason */
	uint64_t closed;
	uint64_t idle;
	uint64_t unowned; /* flows found without their socket: sent with no owner */
	uint64_t sweeps;
};

struct net_udp;

/* capacity: entries of each table; flush_ns: the flush interval. NULL on ENOMEM. */
struct net_udp *net_udp_new(uint32_t capacity, uint64_t flush_ns, const struct net_udp_tables *t,
			    net_udp_emit_fn emit, void *ctx);
/* One sweep at `now` (CLOCK_MONOTONIC ns), every NET_UDP_TICK_MS. */
void net_udp_sweep(struct net_udp *u, uint64_t now);
void net_udp_get_stats(const struct net_udp *u, struct net_udp_stats *s);
void net_udp_free(struct net_udp *u);

/* What the sweep at `now` does with flow f of socket s (NULL: the socket has no entry);
 * prev is the time of the sweep before. */
enum net_udp_reason net_udp_decide(const struct net_udp_flow *f, const struct net_udp_sock *s,
				   uint64_t now, uint64_t prev, uint64_t flush_ns);

/* A report as a UdpFlow message; the strings and sub-messages live in *b. */
struct net_udp_pb {
	Tapio__Sensor__V1__UdpFlow msg;
	struct net_ep_buf local;
	struct net_ep_buf remote;
	pb_timestamp first;
	pb_timestamp last;
};
void net_udp_to_pb(const struct net_udp_report *r, int64_t mono_to_real_ns, struct net_udp_pb *b);

#endif
