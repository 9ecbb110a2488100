/* net_udp.c - see net_udp.h. */
#include "observers/network/net_udp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

struct net_udp {
	struct net_udp_tables t;
	net_udp_emit_fn emit;
	void *ctx;
	uint32_t capacity;
	uint64_t flush_ns;
	uint64_t prev;		  /* time of the sweep before; 0 before the first */
	uint64_t next_sock_walk;  /* when the socket table is walked next */
	struct net_udp_key *keys; /* the flows of one sweep */
	uint64_t *cookies;	  /* sockets to delete after it, or the socket table's keys */
	struct net_udp_stats stats;
};

/* ---- the tables as BPF maps --------------------------------------------------------- */

static int errno_of(int rc)
{
	return rc < 0 ? -errno : 0;
}

static int bpf_next_flow(void *ctx, const struct net_udp_key *prev, struct net_udp_key *next)
{
	return errno_of(bpf_map_get_next_key(((struct net_udp_fds *)ctx)->flows, prev, next));
}

static int bpf_get_flow(void *ctx, const struct net_udp_key *k, struct net_udp_flow *f)
{
	return errno_of(bpf_map_lookup_elem(((struct net_udp_fds *)ctx)->flows, k, f));
}

static int bpf_del_flow(void *ctx, const struct net_udp_key *k)
{
	return errno_of(bpf_map_delete_elem(((struct net_udp_fds *)ctx)->flows, k));
}

static int bpf_next_sock(void *ctx, const uint64_t *prev, uint64_t *next)
{
	return errno_of(bpf_map_get_next_key(((struct net_udp_fds *)ctx)->socks, prev, next));
}

static int bpf_get_sock(void *ctx, uint64_t cookie, struct net_udp_sock *s)
{
	return errno_of(bpf_map_lookup_elem(((struct net_udp_fds *)ctx)->socks, &cookie, s));
}

static int bpf_del_sock(void *ctx, uint64_t cookie)
{
	return errno_of(bpf_map_delete_elem(((struct net_udp_fds *)ctx)->socks, &cookie));
}

void net_udp_bpf_tables(struct net_udp_fds *fds, struct net_udp_tables *t)
{
	t->next_flow = bpf_next_flow;
	t->get_flow = bpf_get_flow;
	t->del_flow = bpf_del_flow;
	t->next_sock = bpf_next_sock;
	t->get_sock = bpf_get_sock;
	t->del_sock = bpf_del_sock;
	t->ctx = fds;
}

/* ---- decisions ---------------------------------------------------------------------- */

/* A closed socket's flows wait NET_UDP_CLOSE_GRACE_NS: a datagram that was on its way in
 * when the socket closed may still create a flow, which must find the entry (a missing
 * one would be made afresh, as if the socket were open). */
static enum net_udp_reason decide_closed(const struct net_udp_sock *s, uint64_t now)
{
	if (!s)
		return NET_UDP_CLOSED;
	return now >= s->closed_ns + NET_UDP_CLOSE_GRACE_NS ? NET_UDP_CLOSED : NET_UDP_NONE;
}

/* Summaries fall at first_ns + k * flush; the one at boundary k is sent by the first sweep
 * after it, when the interval before it saw a datagram (the first interval always has). */
static enum net_udp_reason decide_periodic(const struct net_udp_flow *f, uint64_t now,
					   uint64_t prev, uint64_t flush_ns)
{
	uint64_t k, boundary;

	if (now <= f->first_ns)
		return NET_UDP_NONE;
	k = (now - f->first_ns) / flush_ns;
	boundary = f->first_ns + k * flush_ns;
	if (k == 0 || boundary <= prev)
		return NET_UDP_NONE;
	return k == 1 || f->last_ns > boundary - flush_ns ? NET_UDP_PERIODIC : NET_UDP_NONE;
}

enum net_udp_reason net_udp_decide(const struct net_udp_flow *f, const struct net_udp_sock *s,
				   uint64_t now, uint64_t prev, uint64_t flush_ns)
{
	if (!s || s->closed_ns)
		return decide_closed(s, now);
	if ((f->flags & NET_UDP_F_KERNEL) && now > f->last_ns &&
	    now - f->last_ns >= NET_UDP_IDLE_FLUSHES * flush_ns)
		return NET_UDP_IDLE;
	return decide_periodic(f, now, prev, flush_ns);
}

/* ---- the sweep ---------------------------------------------------------------------- */

struct net_udp *net_udp_new(uint32_t capacity, uint64_t flush_ns, const struct net_udp_tables *t,
			    net_udp_emit_fn emit, void *ctx)
{
	struct net_udp *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->keys = calloc(capacity ? capacity : 1, sizeof(*u->keys));
	u->cookies = calloc(capacity ? capacity : 1, sizeof(*u->cookies));
	if (!u->keys || !u->cookies) {
		net_udp_free(u);
		return NULL;
	}
	u->t = *t;
	u->emit = emit;
	u->ctx = ctx;
	u->capacity = capacity;
	u->flush_ns = flush_ns ? flush_ns : 1;
	return u;
}

void net_udp_free(struct net_udp *u)
{
	if (!u)
		return;
	free(u->keys);
	free(u->cookies);
	free(u);
}

void net_udp_get_stats(const struct net_udp *u, struct net_udp_stats *s)
{
	*s = u->stats;
}

/* The flows' keys, first (deleting while walking would restart the walk). Bounded: the
 * kernel may add keys meanwhile. */
static size_t collect_flows(struct net_udp *u)
{
	const struct net_udp_key *prev = NULL;
	size_t n = 0;

	while (n < u->capacity && u->t.next_flow(u->t.ctx, prev, &u->keys[n]) == 0) {
		prev = &u->keys[n];
		n++;
	}
	return n;
}

static void count(struct net_udp *u, enum net_udp_reason why, int owned)
{
	if (why == NET_UDP_PERIODIC)
		u->stats.periodic++;
	else if (why == NET_UDP_CLOSED)
		u->stats.closed++;
	else
		u->stats.idle++;
	if (!owned)
		u->stats.unowned++;
}

static void report(struct net_udp *u, const struct net_udp_key *k, const struct net_udp_flow *f,
		   const struct net_udp_sock *s, enum net_udp_reason why, uint64_t now)
{
	struct net_udp_report r;

	memset(&r, 0, sizeof(r));
	r.h.ts_ns = why == NET_UDP_CLOSED && s ? s->closed_ns : now;
	r.h.size = sizeof(r.h);
	if (s && s->owner.pid) {
		r.h.pid = s->owner.pid;
		r.h.tid = s->owner.tid;
		r.h.start_ns = s->owner.start_ns;
		r.h.cgroup_id = s->owner.cgroup_id;
		memcpy(r.h.comm, s->owner.comm, sizeof(r.h.comm));
		r.owner_known = 1;
	}
	r.key = *k;
	r.flow = *f;
	r.netns = s ? s->netns : 0;
	r.reason = (uint8_t)why;
	count(u, why, s != NULL);
	u->emit(u->ctx, &r);
}

/* One flow: summary, and the end of it. Returns 1 when its socket is to be deleted. */
static int visit(struct net_udp *u, const struct net_udp_key *k, uint64_t now)
{
	struct net_udp_flow f;
	struct net_udp_sock s;
	int have_sock;
	enum net_udp_reason why;

	if (u->t.get_flow(u->t.ctx, k, &f) != 0)
		return 0;
	have_sock = u->t.get_sock(u->t.ctx, k->cookie, &s) == 0;
	why = net_udp_decide(&f, have_sock ? &s : NULL, now, u->prev, u->flush_ns);
	if (why == NET_UDP_NONE)
		return 0;
	if (f.flags & NET_UDP_F_REPORT)
		report(u, k, &f, have_sock ? &s : NULL, why, now);
	if (why == NET_UDP_PERIODIC)
		return 0;
	u->t.del_flow(u->t.ctx, k);
	return why == NET_UDP_CLOSED && have_sock;
}

/* Every flush interval: closed sockets whose flows are gone (a flow the full table could
 * not take leaves its socket without one) are deleted too. */
static void walk_socks(struct net_udp *u, uint64_t now)
{
	const uint64_t *prev = NULL;
	struct net_udp_sock s;
	size_t n = 0;

	while (n < u->capacity && u->t.next_sock(u->t.ctx, prev, &u->cookies[n]) == 0) {
		prev = &u->cookies[n];
		n++;
	}
	for (size_t i = 0; i < n; i++)
		if (u->t.get_sock(u->t.ctx, u->cookies[i], &s) == 0 && s.closed_ns &&
		    decide_closed(&s, now) == NET_UDP_CLOSED)
			u->t.del_sock(u->t.ctx, u->cookies[i]);
}

void net_udp_sweep(struct net_udp *u, uint64_t now)
{
	size_t n = collect_flows(u), dead = 0;

	for (size_t i = 0; i < n; i++)
		if (visit(u, &u->keys[i], now))
			u->cookies[dead++] = u->keys[i].cookie;
	/* A socket with several flows is listed once per flow: deleting again is harmless. */
	for (size_t i = 0; i < dead; i++)
		u->t.del_sock(u->t.ctx, u->cookies[i]);
	if (now >= u->next_sock_walk) {
		walk_socks(u, now);
		u->next_sock_walk = now + u->flush_ns;
	}
	u->prev = now;
	u->stats.sweeps++;
}

/* ---- protobuf ----------------------------------------------------------------------- */

static int pb_reason(uint8_t why)
{
	switch (why) {
	case NET_UDP_PERIODIC:
		return TAPIO__SENSOR__V1__UDP_FLOW_REPORT__UDP_FLOW_REPORT_PERIODIC;
	case NET_UDP_CLOSED:
		return TAPIO__SENSOR__V1__UDP_FLOW_REPORT__UDP_FLOW_REPORT_CLOSED;
	case NET_UDP_IDLE:
		return TAPIO__SENSOR__V1__UDP_FLOW_REPORT__UDP_FLOW_REPORT_IDLE;
	default:
		return TAPIO__SENSOR__V1__UDP_FLOW_REPORT__UDP_FLOW_REPORT_UNSPECIFIED;
	}
}

void net_udp_to_pb(const struct net_udp_report *r, int64_t mono_to_real_ns, struct net_udp_pb *b)
{
	Tapio__Sensor__V1__UdpFlow *x = &b->msg;
	const struct net_udp_flow *f = &r->flow;

	tapio__sensor__v1__udp_flow__init(x);
	x->local = net_endpoint(&b->local, f->family, f->laddr, f->lport);
	if (!(f->flags & NET_UDP_F_OTHER))
		x->remote = net_endpoint(&b->remote, r->key.family, r->key.raddr, r->key.rport);
	x->netns = r->netns;
	x->packets_sent = f->tx_packets;
	x->bytes_sent = f->tx_bytes;
	x->packets_received = f->rx_packets;
	x->bytes_received = f->rx_bytes;
	pb_set_time(&b->first, (uint64_t)((int64_t)f->first_ns + mono_to_real_ns));
	pb_set_time(&b->last, (uint64_t)((int64_t)f->last_ns + mono_to_real_ns));
	x->first_seen = &b->first;
	x->last_seen = &b->last;
	x->report = pb_reason(r->reason);
	x->other_remotes = (f->flags & NET_UDP_F_OTHER) != 0;
	x->socket_cookie = r->key.cookie;
	x->owner_known = r->owner_known;
	x->kernel_socket = (f->flags & NET_UDP_F_KERNEL) != 0;
}
