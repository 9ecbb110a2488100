/* net_http1.h - HTTP/1.x exchanges reconstructed from the bytes of one connection.
 *
 * Owns the two http_parser instances of a connection (requests one way, responses the
 * other), the requests waiting for their responses (pipelining, bounded) and the rules
 * for bytes that were not captured: inside a body of known length they are skipped,
 * anywhere else the direction loses sync and waits for the bytes that start a message
 * (a method, or "HTTP/1."). Input is what the kernel captured per call: the first `cap`
 * of `len` bytes.
 */
#ifndef TAPIO_NET_HTTP1_H
#define TAPIO_NET_HTTP1_H

#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

#include "observers/network/net_exchange.h"

#define NET_HTTP1_PIPELINE 8 /* requests awaiting a response, per connection */

struct net_http1_dir {
	http_parser parser;
	int lost;	    /* out of sync: ignore bytes until a message starts */
	int in_message;	    /* between message begin and complete */
	int in_body;	    /* in a body of known length */
	uint64_t body_left; /* bytes of that body still to come */
	uint64_t msg_bytes; /* bytes of the current message so far */
	char field[8];	    /* current header name, lower case, when it may be "host" */
	size_t field_len;   /* length so far; > sizeof(field) means "not host" */
	int field_done;	    /* the value that follows belongs to field */
};

struct net_http1_request {
	struct net_exchange x; /* request fields and start */
	int complete;	       /* the whole request was seen */
};

struct net_http1_stats {
	uint64_t desync;     /* directions that lost sync (malformed or missing bytes) */
	uint64_t unanswered; /* requests dropped without a response */
};

struct net_http1 {
	struct net_http1_dir req, resp;
	struct net_http1_request pending[NET_HTTP1_PIPELINE];
	unsigned head, count; /* FIFO of pending */
	int dead;	      /* protocol switched (101, CONNECT): nothing more to parse */
	struct net_http1_stats *stats;
	net_exchange_fn cb;
	void *cb_ctx;
	uint64_t now; /* timestamp of the bytes being parsed */
};

/* Sets up h; stats (shared by many connections) and cb receive what happens. */
void net_http1_init(struct net_http1 *h, struct net_http1_stats *stats, net_exchange_fn cb,
		    void *cb_ctx);
/* Drops pending requests (counted unanswered); h can be initialised again. */
void net_http1_reset(struct net_http1 *h);
/* Bytes of one call: request_dir says whether they go the request way; data holds the
 * first cap of len bytes; ts is when the call finished. */
void net_http1_feed(struct net_http1 *h, int request_dir, const uint8_t *data, size_t cap,
		    size_t len, uint64_t ts);
/* Bytes of the connection were lost in both directions (the kernel says so). */
void net_http1_gap(struct net_http1 *h);
/* The connection closed at ts: a response that runs to the end of the stream is complete;
 * requests still waiting are dropped (counted unanswered). */
void net_http1_eof(struct net_http1 *h, uint64_t ts);
/* 1 when b (n bytes) starts a request line / a status line. */
int net_http1_is_request_start(const uint8_t *b, size_t n);
int net_http1_is_response_start(const uint8_t *b, size_t n);

#endif
