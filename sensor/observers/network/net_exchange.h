/* net_exchange.h - one request and its response, as the network observer's protocol
 * parsers (net_http1.c, net_h2.c) report it.
 *
 * Owns only the record and its bounds; the parsers fill it from captured bytes and hand
 * it to a callback that turns it into an event. Strings are NUL-terminated and cut at
 * their bound (path_truncated says when the path was).
 */
#ifndef TAPIO_NET_EXCHANGE_H
#define TAPIO_NET_EXCHANGE_H

#include <stdint.h>

#define NET_METHOD_MAX 16
#define NET_PATH_MAX 256
#define NET_HOST_MAX 128
#define NET_CTYPE_MAX 32 /* enough to tell application/grpc */

struct net_exchange {
	int version; /* 10, 11 (HTTP/1.x) or 20 (HTTP/2) */
	char method[NET_METHOD_MAX + 1];
	char path[NET_PATH_MAX + 1];
	int path_truncated;
	char host[NET_HOST_MAX + 1];
	unsigned status; /* 0: no response status seen */
	uint64_t request_bytes;
	uint64_t response_bytes;
	uint64_t start_ns; /* first byte of the request */
	uint64_t end_ns;   /* last byte of the response */
	/* HTTP/2 */
	int grpc; /* content-type application/grpc[+...] */
	unsigned grpc_status;
	int grpc_status_present;
	uint32_t stream_id;
	int reset; /* ended by RST_STREAM */
};

typedef void (*net_exchange_fn)(void *ctx, const struct net_exchange *x);

/* Appends n bytes to a bounded string of capacity max (plus NUL); returns 1 when
 * something did not fit. */
int net_str_append(char *dst, size_t max, const char *src, size_t n);

#endif
