/* net_cgroup.c - see net_cgroup.h. */
#include "observers/network/net_cgroup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/cgroup2.h"
#include "core/event.h"
#include "core/log.h"
#include "core/observer.h"
#include "core/sensor.h"
#include "core/ticker.h"
#include "network.skel.h"
#include "observers/network/net_udp.h"

#define CGROUP_PROGRAMS "skb_egress, skb_ingress, udp_release, udp_recvmsg{4,6}"

struct net_cgroup {
	struct observer *o;
	int cgroup_fd;
	struct net_udp_fds fds;
	struct net_udp *sweep;
	struct ticker *ticker; /* the sweep's */
};

/* Loads the smallest cgroup/sock_release program: the kernel refuses the attach type
 * before 5.9. */
static int release_supported(char *why, size_t len)
{
	const struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_CGROUP_INET_SOCK_RELEASE);
	int fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_SOCK, "tapio_release", "GPL", insns, 2, &opts);

	if (fd < 0) {
		snprintf(why, len,
			 "no cgroup/sock_release (5.9+), so no UDP socket's close (no UDP flows, "
			 "no plaintext HTTP capture): %s",
			 strerror(errno));
		return 0;
	}
	close(fd);
	return 1;
}

/* Packet programs off (no UDP flows, no plaintext capture): no programs, and UDP tables
 * of one entry (what a map cannot go below). */
static void programs_off(struct network_bpf *skel)
{
	bpf_program__set_autoload(skel->progs.skb_egress, false);
	bpf_program__set_autoload(skel->progs.skb_ingress, false);
	bpf_program__set_autoload(skel->progs.udp_release, false);
	bpf_program__set_autoload(skel->progs.udp_recvmsg4, false);
	bpf_program__set_autoload(skel->progs.udp_recvmsg6, false);
	bpf_map__set_max_entries(skel->maps.net_udp_flows, 1);
	bpf_map__set_max_entries(skel->maps.net_udp_socks, 1);
}

struct net_cgroup *net_cgroup_open(struct observer *o, struct network_bpf *skel)
{
	uint32_t entries = o->sensor->cfg->net_udp_flows;
	struct net_cgroup *n;
	char why[160];

	if (!release_supported(why, sizeof(why))) {
		observer_skip(o, CGROUP_PROGRAMS, "%s", why);
		programs_off(skel);
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (n)
		n->cgroup_fd = cgroup2_root_open(o, CGROUP_PROGRAMS);
	if (!n || n->cgroup_fd < 0) {
		free(n);
		programs_off(skel);
		return NULL;
	}
	n->o = o;
	bpf_map__set_max_entries(skel->maps.net_udp_flows, entries);
	bpf_map__set_max_entries(skel->maps.net_udp_socks, entries);
	return n;
}

/* A summary becomes an event of the socket's owner. */
static void emit(void *ctx, const struct net_udp_report *r)
{
	struct net_cgroup *n = ctx;
	struct net_udp_pb b;
	struct event_ctx c;

	event_begin(&c, n->o, &r->h, PB_TYPE(NETWORK_UDP_FLOW));
	net_udp_to_pb(r, n->o->sensor->mono_to_real_ns, &b);
	c.ev.payload_case = PB_PAYLOAD(UDP_FLOW);
	c.ev.udp_flow = &b.msg;
	event_publish(&c);
}

static void on_tick(void *arg)
{
	struct net_cgroup *n = arg;

	net_udp_sweep(n->sweep, sensor_mono_ns());
}

/* The release program goes first: a socket that gets flows is then sure to be seen
 * closing (flows of a close missed would never end). A failure leaves none attached. */
static int attach(struct net_cgroup *n, struct network_bpf *skel)
{
	struct bpf_program *progs[] = {skel->progs.udp_release, skel->progs.udp_recvmsg4,
				       skel->progs.udp_recvmsg6, skel->progs.skb_ingress,
				       skel->progs.skb_egress};
	struct bpf_link **links[] = {&skel->links.udp_release, &skel->links.udp_recvmsg4,
				     &skel->links.udp_recvmsg6, &skel->links.skb_ingress,
				     &skel->links.skb_egress};
	int err;

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		*links[i] = bpf_program__attach_cgroup(progs[i], n->cgroup_fd);
		if (*links[i])
			continue;
		err = -errno;
		for (size_t k = 0; k <= i; k++) {
			bpf_link__destroy(*links[k]);
			*links[k] = NULL;
		}
		observer_skip(n->o, CGROUP_PROGRAMS, "attaching %s: %s",
			      bpf_program__name(progs[i]), strerror(-err));
		return err;
	}
	return 0;
}

static int start_sweep(struct net_cgroup *n, struct network_bpf *skel)
{
	const struct config *cfg = n->o->sensor->cfg;
	uint64_t flush_ns = (uint64_t)cfg->net_udp_flush_s * 1000000000ULL;
	struct net_udp_tables t;

	n->fds.flows = bpf_map__fd(skel->maps.net_udp_flows);
	n->fds.socks = bpf_map__fd(skel->maps.net_udp_socks);
	net_udp_bpf_tables(&n->fds, &t);
	n->sweep = net_udp_new(cfg->net_udp_flows, flush_ns, &t, emit, n);
	if (!n->sweep)
		return -ENOMEM;
	n->ticker = ticker_start(&n->o->sensor->loop, NET_UDP_TICK_MS, on_tick, n);
	if (!n->ticker)
		return -ENOMEM;
	log_info("network: UDP flows: %u tracked at most, a summary every %u s while open",
		 cfg->net_udp_flows, cfg->net_udp_flush_s);
	return 0;
}

int net_cgroup_start(struct net_cgroup *n, struct network_bpf *skel)
{
	int err = attach(n, skel);

	close(n->cgroup_fd);
	n->cgroup_fd = -1;
	/* Without its programs the rest of the observer still runs (the skip says why). */
	return err ? 0 : start_sweep(n, skel);
}

void net_cgroup_free(struct net_cgroup *n)
{
	if (!n)
		return;
	if (n->cgroup_fd >= 0)
		close(n->cgroup_fd);
	ticker_stop(n->ticker);
	net_udp_free(n->sweep);
	free(n);
}
