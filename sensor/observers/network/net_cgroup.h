/* net_cgroup.h - the network observer's cgroup programs inside the sensor: whether this
 * kernel can have them, their attachment on the root of the cgroup v2 hierarchy, and the
 * UDP flow sweep timer and its events (observers/network/net_udp.c does the sweep).
 *
 * The packet programs (skb_egress, skb_ingress) see every packet of every socket of the
 * node: they capture the plaintext bytes of TCP streams and count UDP datagrams into flows;
 * udp_release and udp_recvmsg{4,6} end a UDP socket's flows and name its owner. They come
 * as one: they need cgroup/sock_release (5.9+: without a close, a socket's flows could
 * never end) and the cgroup v2 root; without either all are skipped, with the reason, and
 * the rest of the observer (TLS through the uprobes among it) runs.
 */
#ifndef TAPIO_NET_CGROUP_H
#define TAPIO_NET_CGROUP_H

struct observer;
struct network_bpf;
struct net_cgroup;

/* Before load: sizes the UDP tables (--net-udp-flows), or turns the programs off. NULL
 * when they are off (the reason recorded with observer_skip()) or memory ran out. */
struct net_cgroup *net_cgroup_open(struct observer *o, struct network_bpf *skel);
/* After load: attaches the programs and starts the sweep. 0 or a negative errno. */
int net_cgroup_start(struct net_cgroup *n, struct network_bpf *skel);
void net_cgroup_free(struct net_cgroup *n);

#endif
