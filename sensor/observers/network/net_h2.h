/* net_h2.h - HTTP/2 exchanges (gRPC calls among them) reconstructed from the bytes of
 * one connection.
 *
 * Owns the frame parser of each direction, the two HPACK decoders (nghttp2's inflater;
 * their dynamic tables are why every header block of a connection must be seen), and the
 * open streams (bounded). A stream becomes an exchange when the server ends it or either
 * side resets it. Only :method, :path, :authority, :status, content-type and grpc-status
 * are kept. Bytes the capture cut are fine inside DATA and other frames whose payload
 * does not matter; anywhere else (frame headers, header blocks, SETTINGS) the connection
 * can no longer be decoded and is given up (counted).
 */
#ifndef TAPIO_NET_H2_H
#define TAPIO_NET_H2_H

#include <stddef.h>
#include <stdint.h>

#include "observers/network/net_exchange.h"

#define NET_H2_STREAMS 32      /* open streams per connection */
#define NET_H2_TABLE_MAX 65536 /* largest HPACK table a peer may make us keep */
#define NET_H2_PREFACE_LEN 24

struct nghttp2_hd_inflater;

struct net_h2_stream {
	uint32_t id; /* 0: free slot */
	int request_done;
	char ctype[NET_CTYPE_MAX + 1];
	struct net_exchange x;
};

struct net_h2_dir {
	unsigned preface_left; /* client to server: preface bytes still expected */
	uint8_t hdr[9];
	unsigned hdr_have;
	uint32_t frame_len, frame_off; /* payload length and bytes of it seen */
	uint8_t type, flags;
	uint32_t sid;
	uint32_t prefix_len; /* pad length / priority / promised id before a block */
	uint32_t pad_len;    /* padding after it (known once the prefix is read) */
	int in_block;	     /* a header block is open (until END_HEADERS) */
	uint32_t block_sid;
	int block_end_stream; /* END_STREAM of the HEADERS that opened it */
	int block_promise;    /* PUSH_PROMISE: decode for the table, keep nothing */
	uint8_t setting[6];
	unsigned setting_have;
	int64_t table_size; /* table size to apply after the open block (-1: none) */
	struct nghttp2_hd_inflater *inflater;
};

struct net_h2_stats {
	uint64_t desync;     /* connections given up (cut or malformed bytes) */
	uint64_t unanswered; /* streams dropped without an end */
};

struct net_h2 {
	struct net_h2_dir dir[2]; /* [0] client to server, [1] server to client */
	struct net_h2_stream streams[NET_H2_STREAMS];
	int dead;
	struct net_h2_stats *stats;
	net_exchange_fn cb;
	void *cb_ctx;
	uint64_t now;
};

/* Returns 0, or -1 when the decoders could not be allocated. */
int net_h2_init(struct net_h2 *h, struct net_h2_stats *stats, net_exchange_fn cb, void *cb_ctx);
/* Frees the decoders; open streams are counted unanswered. */
void net_h2_free(struct net_h2 *h);
/* Bytes of one call: to_server says which way they go; data holds the first cap of len
 * bytes; ts is when the call finished. */
void net_h2_feed(struct net_h2 *h, int to_server, const uint8_t *data, size_t cap, size_t len,
		 uint64_t ts);
/* Bytes were lost: the connection cannot be decoded any more. */
void net_h2_gap(struct net_h2 *h);

#endif
