/* UDP flows in user space: when a flow's summary is due (periodic boundaries, a close and
 * its grace, a kernel socket gone idle), the sweep over tables of the test's own (what it
 * reports, deletes and leaves), the same sweep over real BPF hash maps, the UdpFlow
 * message, and the --net-udp-* and --net-sample udp flags. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "core/config.h"
#include "observers/network/net_udp.h"

#define S 1000000000ULL /* one second, ns */
#define FLUSH (30 * S)

/* ---- decisions ------------------------------------------------------------------------- */

static struct net_udp_flow flow_at(uint64_t first, uint64_t last, uint8_t flags)
{
	struct net_udp_flow f;

	memset(&f, 0, sizeof(f));
	f.first_ns = first;
	f.last_ns = last;
	f.flags = flags;
	return f;
}

Test(net_udp_decide, the_first_interval_is_always_summed_up_later_ones_when_active)
{
	struct net_udp_sock open = {0};
	struct net_udp_flow f = flow_at(100 * S, 100 * S, NET_UDP_F_REPORT);

	cr_assert_eq(net_udp_decide(&f, &open, 110 * S, 109 * S, FLUSH), NET_UDP_NONE);
	cr_assert_eq(net_udp_decide(&f, &open, 130 * S, 129 * S, FLUSH), NET_UDP_PERIODIC,
		     "boundary 1 at 130 s, even for a single datagram");
	cr_assert_eq(net_udp_decide(&f, &open, 131 * S, 130 * S, FLUSH), NET_UDP_NONE,
		     "that boundary was the sweep before's");
	cr_assert_eq(net_udp_decide(&f, &open, 160 * S, 159 * S, FLUSH), NET_UDP_NONE,
		     "nothing since 130 s");
	f.last_ns = 145 * S;
	cr_assert_eq(net_udp_decide(&f, &open, 160 * S, 159 * S, FLUSH), NET_UDP_PERIODIC);
	cr_assert_eq(net_udp_decide(&f, &open, 170 * S, 165 * S, FLUSH), NET_UDP_NONE);
	cr_assert_eq(net_udp_decide(&f, &open, 99 * S, 0, FLUSH), NET_UDP_NONE,
		     "a sweep before the first datagram");
	f.last_ns = 175 * S;
	cr_assert_eq(net_udp_decide(&f, &open, 195 * S, 185 * S, FLUSH), NET_UDP_PERIODIC,
		     "a late sweep still sends the boundary it passed");
}

Test(net_udp_decide, closed_after_its_grace_missing_socket_at_once)
{
	struct net_udp_sock closed = {0};
	struct net_udp_flow f = flow_at(100 * S, 100 * S, NET_UDP_F_REPORT);

	closed.closed_ns = 200 * S;
	cr_assert_eq(
		net_udp_decide(&f, &closed, 200 * S + NET_UDP_CLOSE_GRACE_NS - 1, 199 * S, FLUSH),
		NET_UDP_NONE, "a datagram on its way in may still come");
	cr_assert_eq(net_udp_decide(&f, &closed, 200 * S + NET_UDP_CLOSE_GRACE_NS, 199 * S, FLUSH),
		     NET_UDP_CLOSED);
	cr_assert_eq(net_udp_decide(&f, NULL, 101 * S, 100 * S, FLUSH), NET_UDP_CLOSED);
}

Test(net_udp_decide, a_kernel_sockets_flow_ends_when_idle)
{
	struct net_udp_sock tunnel = {.flags = NET_UDP_F_KERNEL};
	struct net_udp_flow f = flow_at(100 * S, 100 * S, NET_UDP_F_REPORT | NET_UDP_F_KERNEL);
	uint64_t idle = 100 * S + NET_UDP_IDLE_FLUSHES * FLUSH;

	cr_assert_eq(net_udp_decide(&f, &tunnel, idle - 1, idle - 2 * S, FLUSH), NET_UDP_NONE);
	cr_assert_eq(net_udp_decide(&f, &tunnel, idle, idle - S, FLUSH), NET_UDP_IDLE);
	f.flags = NET_UDP_F_REPORT;
	cr_assert_eq(net_udp_decide(&f, &tunnel, idle, idle - S, FLUSH), NET_UDP_NONE,
		     "a user socket's flow lives as long as the socket");
}

/* ---- tables of the test's own ------------------------------------------------------------ */

#define MAX 16

struct fake {
	int nflows, nsocks;
	struct net_udp_key keys[MAX];
	struct net_udp_flow flows[MAX];
	uint64_t cookies[MAX];
	struct net_udp_sock socks[MAX];
	int deleted_flows, deleted_socks;
};

static struct fake tb;
static struct net_udp_report got[MAX];
static int ngot;

static int flow_index(const struct net_udp_key *k)
{
	for (int i = 0; i < tb.nflows; i++)
		if (!memcmp(&tb.keys[i], k, sizeof(*k)))
			return i;
	return -1;
}

static int sock_index(uint64_t cookie)
{
	for (int i = 0; i < tb.nsocks; i++)
		if (tb.cookies[i] == cookie)
			return i;
	return -1;
}

/* As the kernel's get_next_key: an unknown prev starts over. */
static int next_flow(void *ctx, const struct net_udp_key *prev, struct net_udp_key *next)
{
	int i = prev ? flow_index(prev) + 1 : 0;

	if (i >= tb.nflows)
		return -ENOENT;
	*next = tb.keys[i];
	return 0;
}

static int get_flow(void *ctx, const struct net_udp_key *k, struct net_udp_flow *f)
{
	int i = flow_index(k);

	if (i < 0)
		return -ENOENT;
	*f = tb.flows[i];
	return 0;
}

static int del_flow(void *ctx, const struct net_udp_key *k)
{
	int i = flow_index(k);

	if (i < 0)
		return -ENOENT;
	tb.nflows--;
	tb.keys[i] = tb.keys[tb.nflows];
	tb.flows[i] = tb.flows[tb.nflows];
	tb.deleted_flows++;
	return 0;
}

static int next_sock(void *ctx, const uint64_t *prev, uint64_t *next)
{
	int i = prev ? sock_index(*prev) + 1 : 0;

	if (i >= tb.nsocks)
		return -ENOENT;
	*next = tb.cookies[i];
	return 0;
}

static int get_sock(void *ctx, uint64_t cookie, struct net_udp_sock *s)
{
	int i = sock_index(cookie);

	if (i < 0)
		return -ENOENT;
	*s = tb.socks[i];
	return 0;
}

static int del_sock(void *ctx, uint64_t cookie)
{
	int i = sock_index(cookie);

	if (i < 0)
		return -ENOENT;
	tb.nsocks--;
	tb.cookies[i] = tb.cookies[tb.nsocks];
	tb.socks[i] = tb.socks[tb.nsocks];
	tb.deleted_socks++;
	return 0;
}

static const struct net_udp_tables fake_tables = {
	next_flow, get_flow, del_flow, next_sock, get_sock, del_sock, NULL,
};

static void collect(void *ctx, const struct net_udp_report *r)
{
	cr_assert_lt(ngot, MAX);
	got[ngot++] = *r;
}

static struct net_udp_sock *add_sock(uint64_t cookie, uint32_t pid, uint8_t flags)
{
	struct net_udp_sock *s = &tb.socks[tb.nsocks];

	memset(s, 0, sizeof(*s));
	tb.cookies[tb.nsocks++] = cookie;
	s->owner.pid = pid;
	s->owner.tid = pid + 1;
	s->owner.start_ns = 7 * S;
	s->owner.cgroup_id = 42;
	strcpy(s->owner.comm, "dnsclient");
	s->netns = 4026531840u;
	s->flags = flags;
	return s;
}

static struct net_udp_flow *add_flow(uint64_t cookie, uint16_t rport, uint64_t first, uint8_t flags)
{
	struct net_udp_key *k = &tb.keys[tb.nflows];
	struct net_udp_flow *f = &tb.flows[tb.nflows++];

	memset(k, 0, sizeof(*k));
	k->cookie = cookie;
	k->family = AF_INET;
	k->raddr[0] = 10, k->raddr[3] = 53;
	k->rport = rport;
	*f = flow_at(first, first, flags);
	f->family = AF_INET;
	f->laddr[0] = 127, f->laddr[3] = 1;
	f->lport = 41000;
	f->tx_packets = 1;
	f->tx_bytes = 33;
	return f;
}

static struct net_udp *fresh(uint32_t capacity)
{
	struct net_udp *u;

	memset(&tb, 0, sizeof(tb));
	ngot = 0;
	u = net_udp_new(capacity, FLUSH, &fake_tables, collect, NULL);
	cr_assert_not_null(u);
	return u;
}

Test(net_udp_sweep, an_open_socket_gets_periodic_summaries_of_active_flows)
{
	struct net_udp *u = fresh(MAX);
	struct net_udp_flow *f;
	struct net_udp_stats st;

	add_sock(5, 1234, 0);
	f = add_flow(5, 53, 100 * S, NET_UDP_F_REPORT);
	net_udp_sweep(u, 101 * S);
	cr_assert_eq(ngot, 0);
	f->tx_packets = 3, f->tx_bytes = 99, f->last_ns = 120 * S;
	net_udp_sweep(u, 130 * S + 5);
	cr_assert_eq(ngot, 1);
	cr_assert_eq(got[0].reason, NET_UDP_PERIODIC);
	cr_assert_eq(got[0].h.ts_ns, 130 * S + 5);
	cr_assert_eq(got[0].h.pid, 1234);
	cr_assert_eq(got[0].h.tid, 1235);
	cr_assert_eq(got[0].h.start_ns, 7 * S);
	cr_assert_eq(got[0].h.cgroup_id, 42);
	cr_assert_str_eq(got[0].h.comm, "dnsclient");
	cr_assert_eq(got[0].owner_known, 1);
	cr_assert_eq(got[0].netns, 4026531840u);
	cr_assert_eq(got[0].flow.tx_packets, 3);
	cr_assert_eq(got[0].key.rport, 53);
	net_udp_sweep(u, 131 * S);
	net_udp_sweep(u, 161 * S);
	cr_assert_eq(ngot, 1, "no datagram since the last boundary: no summary");
	cr_assert_eq(tb.nflows, 1, "an open socket's flow stays");
	net_udp_get_stats(u, &st);
	cr_assert_eq(st.periodic, 1);
	cr_assert_eq(st.sweeps, 4);
	net_udp_free(u);
}

Test(net_udp_sweep, a_closed_socket_gets_the_last_summaries_then_goes)
{
	struct net_udp *u = fresh(MAX);
	struct net_udp_sock *s;
	struct net_udp_stats st;

	s = add_sock(9, 0, 0);
	add_flow(9, 53, 100 * S, NET_UDP_F_REPORT);
	add_flow(9, 54, 100 * S, NET_UDP_F_REPORT | NET_UDP_F_OTHER);
	add_flow(9, 55, 100 * S, 0); /* not admitted: never reported */
	add_sock(10, 77, 0);
	add_flow(10, 53, 100 * S, NET_UDP_F_REPORT);
	s->closed_ns = 105 * S;
	net_udp_sweep(u, 105 * S + 1000);
	cr_assert_eq(ngot, 0, "within the grace");
	cr_assert_eq(tb.nflows, 4);
	net_udp_sweep(u, 106 * S);
	cr_assert_eq(ngot, 2);
	for (int i = 0; i < ngot; i++) {
		cr_assert_eq(got[i].reason, NET_UDP_CLOSED);
		cr_assert_eq(got[i].h.ts_ns, 105 * S, "the time of the close");
		cr_assert_eq(got[i].owner_known, 0, "no owner learnt");
		cr_assert_eq(got[i].h.pid, 0);
		cr_assert_eq(got[i].key.cookie, 9);
	}
	cr_assert_eq(tb.nflows, 1, "the open socket's flow is left");
	cr_assert_eq(tb.keys[0].cookie, 10);
	cr_assert_eq(tb.nsocks, 1);
	cr_assert_eq(tb.cookies[0], 10);
	net_udp_get_stats(u, &st);
	cr_assert_eq(st.closed, 2);
	cr_assert_eq(st.unowned, 0, "the socket was there, with no owner");
	net_udp_free(u);
}

Test(net_udp_sweep, a_flow_without_its_socket_ends_with_no_owner)
{
	struct net_udp *u = fresh(MAX);
	struct net_udp_stats st;

	add_flow(3, 53, 100 * S, NET_UDP_F_REPORT);
	net_udp_sweep(u, 101 * S);
	cr_assert_eq(ngot, 1);
	cr_assert_eq(got[0].reason, NET_UDP_CLOSED);
	cr_assert_eq(got[0].h.ts_ns, 101 * S);
	cr_assert_eq(got[0].netns, 0);
	cr_assert_eq(tb.nflows, 0);
	net_udp_get_stats(u, &st);
	cr_assert_eq(st.unowned, 1);
	net_udp_free(u);
}

Test(net_udp_sweep, a_kernel_sockets_idle_flow_ends_its_socket_stays)
{
	struct net_udp *u = fresh(MAX);
	struct net_udp_flow *busy;
	struct net_udp_stats st;
	uint64_t idle = 100 * S + NET_UDP_IDLE_FLUSHES * FLUSH;

	add_sock(4, 0, NET_UDP_F_KERNEL);
	add_flow(4, 4789, 100 * S, NET_UDP_F_REPORT | NET_UDP_F_KERNEL);
	busy = add_flow(4, 4790, 100 * S, NET_UDP_F_REPORT | NET_UDP_F_KERNEL);
	busy->last_ns = idle - S;
	net_udp_sweep(u, idle);
	cr_assert_eq(ngot, 2);
	for (int i = 0; i < ngot; i++)
		cr_assert_eq(got[i].reason,
			     got[i].key.rport == 4789 ? NET_UDP_IDLE : NET_UDP_PERIODIC,
			     "the busy one's boundary falls on this sweep too");
	cr_assert_eq(tb.nflows, 1);
	cr_assert_eq(tb.keys[0].rport, 4790);
	cr_assert_eq(tb.nsocks, 1);
	net_udp_get_stats(u, &st);
	cr_assert_eq(st.idle, 1);
	net_udp_free(u);
}

Test(net_udp_sweep, closed_sockets_without_flows_go_at_the_socket_walk)
{
	struct net_udp *u = fresh(MAX);

	add_sock(1, 10, 0)->closed_ns = 100 * S;
	add_sock(2, 11, 0);
	add_sock(3, 12, 0)->closed_ns = 101 * S - 1000; /* within its grace */
	net_udp_sweep(u, 101 * S);
	cr_assert_eq(tb.nsocks, 2);
	cr_assert_neq(sock_index(2), -1);
	cr_assert_neq(sock_index(3), -1);
	net_udp_sweep(u, 102 * S);
	cr_assert_eq(tb.nsocks, 2, "the socket table is walked once per flush interval");
	net_udp_sweep(u, 101 * S + FLUSH);
	cr_assert_eq(tb.nsocks, 1);
	cr_assert_eq(tb.cookies[0], 2);
	net_udp_free(u);
}

Test(net_udp_sweep, one_sweep_looks_at_no_more_flows_than_its_capacity)
{
	struct net_udp *u = fresh(2);

	add_sock(1, 10, 0);
	for (int i = 0; i < 5; i++)
		add_flow(1, (uint16_t)(1000 + i), 100 * S, NET_UDP_F_REPORT);
	net_udp_sweep(u, 130 * S);
	cr_assert_eq(ngot, 2);
	net_udp_free(u);
}

/* ---- the same over BPF hash maps ---------------------------------------------------------- */

Test(net_udp_sweep, real_bpf_maps_are_read_and_deleted_from)
{
	struct net_udp_fds fds;
	struct net_udp_tables t;
	struct net_udp_key k = {.cookie = 77, .family = AF_INET, .rport = 53};
	struct net_udp_flow f = flow_at(100 * S, 100 * S, NET_UDP_F_REPORT);
	struct net_udp_sock s = {.netns = 1, .owner = {.pid = 99}};
	uint64_t cookie = 77;
	struct net_udp *u;

	fds.flows = bpf_map_create(BPF_MAP_TYPE_HASH, "t_flows", sizeof(k), sizeof(f), 4, NULL);
	fds.socks = bpf_map_create(BPF_MAP_TYPE_HASH, "t_socks", 8, sizeof(s), 4, NULL);
	cr_assert(fds.flows >= 0 && fds.socks >= 0, "bpf_map_create: %s (root?)", strerror(errno));
	cr_assert_eq(bpf_map_update_elem(fds.flows, &k, &f, BPF_ANY), 0);
	cr_assert_eq(bpf_map_update_elem(fds.socks, &cookie, &s, BPF_ANY), 0);
	net_udp_bpf_tables(&fds, &t);
	ngot = 0;
	u = net_udp_new(4, FLUSH, &t, collect, NULL);
	net_udp_sweep(u, 130 * S);
	cr_assert_eq(ngot, 1);
	cr_assert_eq(got[0].reason, NET_UDP_PERIODIC);
	cr_assert_eq(got[0].h.pid, 99);
	s.closed_ns = 131 * S;
	cr_assert_eq(bpf_map_update_elem(fds.socks, &cookie, &s, BPF_ANY), 0);
	net_udp_sweep(u, 132 * S);
	cr_assert_eq(ngot, 2);
	cr_assert_eq(got[1].reason, NET_UDP_CLOSED);
	cr_assert_lt(bpf_map_lookup_elem(fds.flows, &k, &f), 0, "the flow was deleted");
	cr_assert_lt(bpf_map_lookup_elem(fds.socks, &cookie, &s), 0, "and its socket");
	net_udp_free(u);
	close(fds.flows);
	close(fds.socks);
}

/* ---- the message ---------------------------------------------------------------------- */

static struct net_udp_report report_of(uint8_t reason, uint8_t flags)
{
	struct net_udp_report r;

	memset(&r, 0, sizeof(r));
	r.key.cookie = 4097;
	r.key.family = AF_INET6;
	r.key.raddr[15] = 1; /* ::1 */
	r.key.rport = 5353;
	r.flow.family = AF_INET6;
	r.flow.laddr[10] = r.flow.laddr[11] = 0xff; /* ::ffff:127.0.0.1 */
	r.flow.laddr[12] = 127, r.flow.laddr[15] = 1;
	r.flow.lport = 40000;
	r.flow.first_ns = 5 * S;
	r.flow.last_ns = 6 * S + 250;
	r.flow.tx_packets = 3, r.flow.tx_bytes = 300;
	r.flow.rx_packets = 2, r.flow.rx_bytes = 80;
	r.flow.flags = flags;
	r.netns = 4026532247u;
	r.reason = reason;
	r.owner_known = 1;
	return r;
}

Test(net_udp_pb, every_field_of_the_message)
{
	struct net_udp_report r = report_of(NET_UDP_CLOSED, NET_UDP_F_REPORT);
	struct net_udp_pb b;
	Tapio__Sensor__V1__UdpFlow *x = &b.msg;

	net_udp_to_pb(&r, 1000 * (int64_t)S, &b);
	cr_assert_str_eq(x->local->ip, "127.0.0.1", "a v4-mapped address shown as IPv4");
	cr_assert_eq(x->local->port, 40000);
	cr_assert_str_eq(x->remote->ip, "::1");
	cr_assert_eq(x->remote->port, 5353);
	cr_assert_eq(x->netns, 4026532247u);
	cr_assert_eq(x->packets_sent, 3);
	cr_assert_eq(x->bytes_sent, 300);
	cr_assert_eq(x->packets_received, 2);
	cr_assert_eq(x->bytes_received, 80);
	cr_assert_eq(x->first_seen->seconds, 1005);
	cr_assert_eq(x->first_seen->nanos, 0);
	cr_assert_eq(x->last_seen->seconds, 1006);
	cr_assert_eq(x->last_seen->nanos, 250);
	cr_assert_eq(x->report, TAPIO__SENSOR__V1__UDP_FLOW_REPORT__UDP_FLOW_REPORT_CLOSED);
	cr_assert_eq(x->other_remotes, 0);
	cr_assert_eq(x->socket_cookie, 4097);
	cr_assert_eq(x->owner_known, 1);
	cr_assert_eq(x->kernel_socket, 0);
}

Test(net_udp_pb, other_remotes_have_no_remote_and_reasons_map)
{
	struct net_udp_report r = report_of(NET_UDP_PERIODIC, NET_UDP_F_OTHER | NET_UDP_F_KERNEL);
	struct net_udp_pb b;

	net_udp_to_pb(&r, 0, &b);
	cr_assert_null(b.msg.remote);
	cr_assert_eq(b.msg.other_remotes, 1);
	cr_assert_eq(b.msg.kernel_socket, 1);
	cr_assert_eq(b.msg.report, TAPIO__SENSOR__V1__UDP_FLOW_REPORT__UDP_FLOW_REPORT_PERIODIC);
	r.reason = NET_UDP_IDLE;
	net_udp_to_pb(&r, 0, &b);
	cr_assert_eq(b.msg.report, TAPIO__SENSOR__V1__UDP_FLOW_REPORT__UDP_FLOW_REPORT_IDLE);
	r.reason = NET_UDP_NONE;
	net_udp_to_pb(&r, 0, &b);
	cr_assert_eq(b.msg.report, TAPIO__SENSOR__V1__UDP_FLOW_REPORT__UDP_FLOW_REPORT_UNSPECIFIED);
}

/* ---- flags ------------------------------------------------------------------------------ */

static enum config_result parse(struct config *c, char **argv, int argc, char *err, size_t n)
{
	config_init(c);
	return config_parse_args(c, argc, argv, err, n);
}

Test(net_udp_config, flush_flows_and_the_udp_sampling_class)
{
	struct config c;
	char err[256];
	char *ok[] = {
		"tapio-sensor", "--net-udp-flush", "2", "--net-udp-flows", "4", "--net-sample",
		"udp=5"};
	char *bad_flush[] = {"tapio-sensor", "--net-udp-flush", "0"};
	char *bad_flows[] = {"tapio-sensor", "--net-udp-flows", "2000000"};

	cr_assert_eq(parse(&c, ok, 1, err, sizeof(err)), CONFIG_OK, "%s", err);
	cr_assert_eq(c.net_udp_flush_s, 30);
	cr_assert_eq(c.net_udp_flows, NET_UDP_FLOW_ENTRIES);
	cr_assert_eq(c.net_sample[NET_CLASS_UDP], 1);
	config_free(&c);
	cr_assert_eq(parse(&c, ok, 7, err, sizeof(err)), CONFIG_OK, "%s", err);
	cr_assert_eq(c.net_udp_flush_s, 2);
	cr_assert_eq(c.net_udp_flows, 4);
	cr_assert_eq(c.net_sample[NET_CLASS_UDP], 5);
	cr_assert_str_eq(config_net_classes[NET_CLASS_UDP], "udp");
	config_free(&c);
	cr_assert_eq(parse(&c, bad_flush, 3, err, sizeof(err)), CONFIG_ERROR);
	cr_assert_str_eq(err, "--net-udp-flush 0: expected an integer 1-3600");
	config_free(&c);
	cr_assert_eq(parse(&c, bad_flows, 3, err, sizeof(err)), CONFIG_ERROR);
	cr_assert_str_eq(err, "--net-udp-flows 2000000: expected an integer 1-1048576");
	config_free(&c);
}
