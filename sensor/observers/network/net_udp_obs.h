/* net_udp_obs.h - the UDP flows of the network observer inside the sensor: whether this
 * kernel can have them, the attachment of their cgroup programs, the sweep timer, and the
 * events (observers/network/net_udp.c does the sweep).
 *
 * They need cgroup/sock_release (5.9+: without a close, a socket's flows could never end)
 * and the root of the cgroup v2 hierarchy; without either the three programs are skipped,
 * with the reason, and the rest of the observer runs.
 */
#ifndef TAPIO_NET_UDP_OBS_H
#define TAPIO_NET_UDP_OBS_H

struct observer;
struct network_bpf;
struct net_udp_obs;

/* Before load: sizes the tables (--net-udp-flows), or turns the programs off. NULL when
 * UDP flows are off (the reason recorded with observer_skip()) or memory ran out. */
struct net_udp_obs *net_udp_obs_open(struct observer *o, struct network_bpf *skel);
/* After load: attaches the programs and starts the sweep. 0 or a negative errno. */
int net_udp_obs_start(struct net_udp_obs *n, struct network_bpf *skel);
void net_udp_obs_free(struct net_udp_obs *n);

#endif
