/* net_ssl.h - the network observer's libssl uprobes inside the sensor: one set of ten
 * (SSL_read, SSL_write and their _ex forms, SSL_do_handshake; entry and return) on each
 * distinct libssl.so.3 file the node's processes map.
 *
 * The node's own copy (found in the library directories) is attached at start, through the
 * skeleton's links, and stays. The others (each container image brings its own) are found
 * in /proc/PID/maps at start and every NET_SSL_SCAN_MS, attached through
 * /proc/PID/map_files (the file the process really maps, under any overlay), and detached
 * once no process maps them. A process that maps a copy not seen before is covered from
 * the next scan; one that maps a copy already attached, at once.
 */
#ifndef TAPIO_NET_SSL_H
#define TAPIO_NET_SSL_H

#define NET_SSL_SCAN_MS 2000
#define NET_SSL_MAX_LIBS 64 /* distinct libssl.so.3 files with uprobes */

struct observer;
struct network_bpf;
struct net_ssl;

/* Before load: NULL with the programs off when this kernel has no uprobes (the reason
 * recorded with observer_skip()) or memory ran out. */
struct net_ssl *net_ssl_open(struct observer *o, struct network_bpf *skel);
/* After load: attaches the node's copy, scans, and starts the scan timer. 0 or -errno. */
int net_ssl_start(struct net_ssl *s);
/* One scan of /proc (what the timer runs): attaches copies newly mapped, detaches those
 * no longer mapped. */
void net_ssl_scan(struct net_ssl *s);
void net_ssl_free(struct net_ssl *s);

#endif
