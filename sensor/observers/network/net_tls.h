/* net_tls.h - where OpenSSL lives on the node, for the network observer's uprobes.
 *
 * A uprobe on a library file fires in every process that maps that file, including
 * processes that start later, so one attachment per distinct libssl.so.3 file covers
 * the node. Owns the list of places a distribution puts it.
 */
#ifndef TAPIO_NET_TLS_H
#define TAPIO_NET_TLS_H

#include <limits.h>
#include <stddef.h>

/* The first libssl.so.3 found under root ("/" for the node) in the usual library
 * directories, resolved to its real path in out. Returns 0, or -1 when there is none. */
int net_tls_find_libssl(const char *root, char *out, size_t outlen);

#endif
