/* net_tls.h - where OpenSSL lives on the node, for the network observer's uprobes.
 *
 * A uprobe on a library file fires in every process that maps that file, including
 * processes that start later, so one attachment per distinct libssl.so.3 file covers
 * the node. Owns the list of places a distribution puts it, and the reading of the
 * node's processes' memory maps that finds the other copies (a container's image brings
 * its own).
 */
#ifndef TAPIO_NET_TLS_H
#define TAPIO_NET_TLS_H

#include <limits.h>
#include <stddef.h>

/* The first libssl.so.3 found under root ("/" for the node) in the usual library
 * directories, resolved to its real path in out. Returns 0, or -1 when there is none. */
int net_tls_find_libssl(const char *root, char *out, size_t outlen);

/* A process's mapping of a file named libssl.so.3: its address range and the path the
 * process sees (inside its own mount namespace). */
struct net_tls_map {
	unsigned long start, end;
	const char *path;
};

/* Whether a line of /proc/PID/maps maps a libssl.so.3 (also one deleted since, as a
 * package upgrade leaves it): 1 with m filled (m->path points into line), else 0. */
int net_tls_maps_line(const char *line, struct net_tls_map *m);

typedef void (*net_tls_found_fn)(void *ctx, int pid, const struct net_tls_map *m);

/* Calls found() with the first libssl.so.3 mapping of each process under proc ("/proc"):
 * the number of processes whose maps were read, or -errno when proc cannot be listed.
 * Processes that end meanwhile are passed over. */
int net_tls_scan(const char *proc, net_tls_found_fn found, void *ctx);

#endif
