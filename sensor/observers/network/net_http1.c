/* net_http1.c - see net_http1.h. The parsing itself is http_parser's (Debian's
 * libhttp-parser); this file decides what to feed it and pairs requests with responses.
 *
 * Message sizes come from pausing the parser in on_message_complete: http_parser_execute
 * then returns the bytes consumed up to and including the message's last byte.
 */
#include "observers/network/net_http1.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static const uint8_t zeros[4096];

int net_str_append(char *dst, size_t max, const char *src, size_t n)
{
	size_t have = strnlen(dst, max), room = max - have;
	int cut = n > room;

	if (cut)
		n = room;
	memcpy(dst + have, src, n);
	dst[have + n] = 0;
	return cut;
}

static const char *const methods[] = {"GET ",	  "POST ",  "PUT ",	"HEAD ", "DELETE ",
				      "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "};

int net_http1_is_request_start(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t m = strlen(methods[i]);

		if (n >= m && !memcmp(b, methods[i], m))
			return 1;
	}
	return 0;
}

int net_http1_is_response_start(const uint8_t *b, size_t n)
{
	return n >= 7 && !memcmp(b, "HTTP/1.", 7);
}

static struct net_http1 *conn_of(http_parser *p)
{
	return p->data;
}

static int is_request(http_parser *p)
{
	return p == &conn_of(p)->req.parser;
}

static struct net_http1_dir *dir_of(http_parser *p)
{
	struct net_http1 *h = conn_of(p);

	return is_request(p) ? &h->req : &h->resp;
}

static struct net_http1_request *tail(struct net_http1 *h)
{
	if (!h->count)
		return NULL;
	return &h->pending[(h->head + h->count - 1) % NET_HTTP1_PIPELINE];
}

static struct net_http1_request *front(struct net_http1 *h)
{
	return h->count ? &h->pending[h->head] : NULL;
}

static void pop(struct net_http1 *h)
{
	h->head = (h->head + 1) % NET_HTTP1_PIPELINE;
	h->count--;
}

static int on_message_begin(http_parser *p)
{
	struct net_http1 *h = conn_of(p);
	struct net_http1_dir *d = dir_of(p);
	struct net_http1_request *r;

	d->in_message = 1;
	d->in_body = 0;
	d->field_len = 0;
	d->field_done = 0;
	if (!is_request(p))
		return 0;
	if (h->count == NET_HTTP1_PIPELINE) {
		pop(h); /* the oldest never got an answer we could see */
		h->stats->unanswered++;
	}
	h->count++;
	r = tail(h);
	memset(r, 0, sizeof(*r));
	r->x.start_ns = h->now;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
	struct net_http1_request *r = tail(conn_of(p));

	if (r && net_str_append(r->x.path, NET_PATH_MAX, at, n))
		r->x.path_truncated = 1;
	return 0;
}

/* Header names arrive in pieces; only "host" matters (requests). */
static int on_header_field(http_parser *p, const char *at, size_t n)
{
	struct net_http1_dir *d = dir_of(p);

	if (d->field_done) {
		d->field_len = 0;
		d->field_done = 0;
	}
	for (size_t i = 0; i < n; i++, d->field_len++) {
		char c = at[i];

		if (d->field_len >= sizeof(d->field))
			continue;
		d->field[d->field_len] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	struct net_http1_dir *d = dir_of(p);
	struct net_http1_request *r = tail(conn_of(p));

	d->field_done = 1;
	if (is_request(p) && r && d->field_len == 4 && !memcmp(d->field, "host", 4))
		net_str_append(r->x.host, NET_HOST_MAX, at, n);
	return 0;
}

static void note_body(struct net_http1_dir *d, http_parser *p)
{
	d->in_body =
		!(p->flags & F_CHUNKED) && p->content_length != ULLONG_MAX && p->content_length > 0;
	d->body_left = d->in_body ? p->content_length : 0;
}

static int on_headers_complete(http_parser *p)
{
	struct net_http1 *h = conn_of(p);
	struct net_http1_dir *d = dir_of(p);
	struct net_http1_request *r;

	if (is_request(p)) {
		r = tail(h);
		if (r) {
			snprintf(r->x.method, sizeof(r->x.method), "%s",
				 http_method_str((enum http_method)p->method));
			r->x.version = p->http_major * 10 + p->http_minor;
		}
		note_body(d, p);
		return 0;
	}
	r = front(h);
	if (r && !strcmp(r->x.method, "HEAD"))
		return 1; /* a response to HEAD has headers only, whatever they say */
	note_body(d, p);
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct net_http1_dir *d = dir_of(p);

	d->body_left = n < d->body_left ? d->body_left - n : 0;
	return 0;
}

static int on_message_complete(http_parser *p)
{
	http_parser_pause(p, 1); /* run() finishes the message with its exact size */
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

static void dir_start(struct net_http1 *h, struct net_http1_dir *d, enum http_parser_type type)
{
	memset(d, 0, sizeof(*d));
	http_parser_init(&d->parser, type);
	d->parser.data = h;
}

static void clear_pending(struct net_http1 *h)
{
	h->stats->unanswered += h->count;
	h->count = 0;
	h->head = 0;
}

/* Both directions wait for the start of a message; what was pending cannot be paired. */
static void lose_sync(struct net_http1 *h)
{
	h->req.lost = 1;
	h->resp.lost = 1;
	h->req.in_message = 0;
	h->resp.in_message = 0;
	clear_pending(h);
}

static void finish_response(struct net_http1 *h, http_parser *p, uint64_t bytes)
{
	struct net_http1_request *r = front(h);
	unsigned status = p->status_code;

	if (status >= 100 && status < 200 && status != 101)
		return; /* interim (100 Continue): the real response follows */
	/* Switching protocols, or a tunnel: what follows is not HTTP/1. */
	if (status == 101 || (r && !strcmp(r->x.method, "CONNECT") && status / 100 == 2))
		h->dead = 1;
	if (!r)
		return; /* its request was before what we saw */
	r->x.status = status;
	r->x.response_bytes = bytes;
	r->x.end_ns = h->now;
	h->cb(h->cb_ctx, &r->x);
	pop(h);
}

static void finish_message(struct net_http1 *h, struct net_http1_dir *d)
{
	struct net_http1_request *r;

	d->in_message = 0;
	d->in_body = 0;
	if (d == &h->req) {
		r = tail(h);
		if (r) {
			r->complete = 1;
			r->x.request_bytes = d->msg_bytes;
		}
	} else {
		finish_response(h, &d->parser, d->msg_bytes);
	}
	d->msg_bytes = 0;
}

/* Parses n bytes (n == 0: end of stream). */
static void run(struct net_http1 *h, struct net_http1_dir *d, const uint8_t *data, size_t n)
{
	int eof = n == 0;

	while ((n > 0 || eof) && !d->lost && !h->dead) {
		size_t used = http_parser_execute(&d->parser, &settings, (const char *)data, n);
		enum http_errno err = HTTP_PARSER_ERRNO(&d->parser);

		d->msg_bytes += used;
		data += used;
		n -= used;
		if (err == HPE_PAUSED) {
			finish_message(h, d);
			http_parser_pause(&d->parser, 0);
			/* A request asking for an upgrade stops the parser; whether the
			 * protocol changes is the response's to say (finish_response). */
			if (d->parser.upgrade)
				dir_start(h, d, d == &h->req ? HTTP_REQUEST : HTTP_RESPONSE);
		} else if (err != HPE_OK) {
			h->stats->desync++;
			lose_sync(h);
		} else if (used == 0 && !eof) {
			h->stats->desync++; /* no progress without an error: never loop */
			lose_sync(h);
		}
		if (eof)
			break;
	}
}

/* Bytes the kernel did not copy: inside a body of known length they change nothing
 * but the count; anywhere else the stream is lost. */
static void skip(struct net_http1 *h, struct net_http1_dir *d, size_t n)
{
	while (n > 0 && d->in_body && !d->lost && !h->dead) {
		size_t k = n < sizeof(zeros) ? n : sizeof(zeros);

		if (k > d->body_left)
			k = d->body_left;
		run(h, d, zeros, k);
		n -= k;
	}
	if (n > 0 && !h->dead) {
		h->stats->desync++;
		lose_sync(h);
	}
}

void net_http1_init(struct net_http1 *h, struct net_http1_stats *stats, net_exchange_fn cb,
		    void *cb_ctx)
{
	memset(h, 0, sizeof(*h));
	h->stats = stats;
	h->cb = cb;
	h->cb_ctx = cb_ctx;
	dir_start(h, &h->req, HTTP_REQUEST);
	dir_start(h, &h->resp, HTTP_RESPONSE);
}

void net_http1_reset(struct net_http1 *h)
{
	clear_pending(h);
}

void net_http1_gap(struct net_http1 *h)
{
	if (h->req.in_message || h->resp.in_message || h->count)
		h->stats->desync++;
	lose_sync(h);
}

void net_http1_feed(struct net_http1 *h, int request_dir, const uint8_t *data, size_t cap,
		    size_t len, uint64_t ts)
{
	struct net_http1_dir *d = request_dir ? &h->req : &h->resp;

	if (h->dead || len == 0)
		return;
	if (cap > len)
		cap = len;
	h->now = ts;
	if (d->lost) {
		int start = request_dir ? net_http1_is_request_start(data, cap)
					: net_http1_is_response_start(data, cap);

		if (!start)
			return;
		dir_start(h, d, request_dir ? HTTP_REQUEST : HTTP_RESPONSE);
	}
	if (cap)
		run(h, d, data, cap);
	if (len > cap && !d->lost)
		skip(h, d, len - cap);
}

void net_http1_eof(struct net_http1 *h, uint64_t ts)
{
	h->now = ts;
	if (h->resp.in_message && !h->resp.lost && !h->dead)
		run(h, &h->resp, NULL, 0);
	net_http1_reset(h);
}
