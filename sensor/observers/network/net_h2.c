/* net_h2.c - see net_h2.h. Frames are walked here (RFC 9113 section 4: a 9-byte
 * header, then the payload); header blocks are decoded by nghttp2's HPACK inflater, fed
 * as the bytes arrive, across frames and reads. */
#include "observers/network/net_h2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

enum {
	FT_DATA = 0x0,
	FT_HEADERS = 0x1,
	FT_RST_STREAM = 0x3,
	FT_SETTINGS = 0x4,
	FT_PUSH_PROMISE = 0x5,
	FT_CONTINUATION = 0x9,
};

enum {
	FL_END_STREAM = 0x1,
	FL_ACK = 0x1,
	FL_END_HEADERS = 0x4,
	FL_PADDED = 0x8,
	FL_PRIORITY = 0x20,
};

#define SETTINGS_HEADER_TABLE_SIZE 0x1

static const char preface[NET_H2_PREFACE_LEN + 1] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static void give_up(struct net_h2 *h)
{
	if (h->dead)
		return;
	h->dead = 1;
	h->stats->desync++;
	for (int i = 0; i < NET_H2_STREAMS; i++)
		if (h->streams[i].id) {
			h->streams[i].id = 0;
			h->stats->unanswered++;
		}
}

/* ---- streams ----------------------------------------------------------------------- */

static struct net_h2_stream *find_stream(struct net_h2 *h, uint32_t id)
{
	for (int i = 0; i < NET_H2_STREAMS; i++)
		if (h->streams[i].id == id)
			return &h->streams[i];
	return NULL;
}

/* A slot for a new stream; when all are taken, the oldest is dropped (counted). */
static struct net_h2_stream *new_stream(struct net_h2 *h, uint32_t id)
{
	struct net_h2_stream *s = find_stream(h, 0), *oldest = &h->streams[0];

	if (!s) {
		for (int i = 1; i < NET_H2_STREAMS; i++)
			if (h->streams[i].x.start_ns < oldest->x.start_ns)
				oldest = &h->streams[i];
		h->stats->unanswered++;
		s = oldest;
	}
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->x.version = 20;
	s->x.stream_id = id;
	s->x.start_ns = h->now;
	return s;
}

static void finish_stream(struct net_h2 *h, struct net_h2_stream *s, int reset)
{
	s->x.reset = reset;
	s->x.end_ns = h->now;
	s->x.grpc = !strncmp(s->ctype, "application/grpc", 16);
	h->cb(h->cb_ctx, &s->x);
	s->id = 0;
}

/* ---- header fields ----------------------------------------------------------------- */

static int name_is(const nghttp2_nv *nv, const char *name)
{
	return nv->namelen == strlen(name) && !memcmp(nv->name, name, nv->namelen);
}

static void copy_value(char *dst, size_t max, const nghttp2_nv *nv)
{
	dst[0] = 0;
	net_str_append(dst, max, (const char *)nv->value, nv->valuelen);
}

static unsigned parse_status(const nghttp2_nv *nv)
{
	unsigned v = 0;

	for (size_t i = 0; i < nv->valuelen && i < 4; i++) {
		if (nv->value[i] < '0' || nv->value[i] > '9')
			return 0;
		v = v * 10 + (nv->value[i] - '0');
	}
	return v;
}

static void request_field(struct net_h2_stream *s, const nghttp2_nv *nv)
{
	if (name_is(nv, ":method")) {
		copy_value(s->x.method, NET_METHOD_MAX, nv);
	} else if (name_is(nv, ":path")) {
		s->x.path[0] = 0;
		s->x.path_truncated = net_str_append(s->x.path, NET_PATH_MAX,
						     (const char *)nv->value, nv->valuelen);
	} else if (name_is(nv, ":authority") || (name_is(nv, "host") && !s->x.host[0])) {
		copy_value(s->x.host, NET_HOST_MAX, nv);
	} else if (name_is(nv, "content-type")) {
		copy_value(s->ctype, NET_CTYPE_MAX, nv);
	}
}

static void response_field(struct net_h2_stream *s, const nghttp2_nv *nv)
{
	if (name_is(nv, ":status")) {
		s->x.status = parse_status(nv);
	} else if (name_is(nv, "grpc-status")) {
		s->x.grpc_status = parse_status(nv);
		s->x.grpc_status_present = 1;
	} else if (name_is(nv, "content-type") && !s->ctype[0]) {
		copy_value(s->ctype, NET_CTYPE_MAX, nv);
	}
}

static void on_field(struct net_h2 *h, int to_server, const nghttp2_nv *nv)
{
	struct net_h2_dir *d = &h->dir[to_server ? 0 : 1];
	struct net_h2_stream *s;

	if (d->block_promise)
		return;
	s = find_stream(h, d->block_sid);
	if (to_server) {
		if (!s)
			s = new_stream(h, d->block_sid);
		request_field(s, nv);
	} else if (s) {
		response_field(s, nv);
	}
}

static void apply_table_size(struct net_h2 *h, struct net_h2_dir *d)
{
	if (d->table_size < 0 || d->in_block)
		return;
	if (nghttp2_hd_inflate_change_table_size(d->inflater, (size_t)d->table_size) != 0)
		give_up(h);
	d->table_size = -1;
}

static void block_done(struct net_h2 *h, int to_server)
{
	struct net_h2_dir *d = &h->dir[to_server ? 0 : 1];
	struct net_h2_stream *s = find_stream(h, d->block_sid);

	nghttp2_hd_inflate_end_headers(d->inflater);
	d->in_block = 0;
	apply_table_size(h, d);
	if (d->block_promise || !s || !d->block_end_stream)
		return;
	if (to_server)
		s->request_done = 1;
	else
		finish_stream(h, s, 0);
}

/* Feeds header block bytes to the direction's decoder; final: the block ends here. */
static void inflate(struct net_h2 *h, int to_server, const uint8_t *in, size_t n, int final)
{
	struct net_h2_dir *d = &h->dir[to_server ? 0 : 1];

	for (;;) {
		nghttp2_nv nv;
		int flags = 0;
		ssize_t used = nghttp2_hd_inflate_hd2(d->inflater, &nv, &flags, in, n, final);

		if (used < 0) {
			give_up(h);
			return;
		}
		in += used;
		n -= (size_t)used;
		if (flags & NGHTTP2_HD_INFLATE_EMIT)
			on_field(h, to_server, &nv);
		if (flags & NGHTTP2_HD_INFLATE_FINAL) {
			block_done(h, to_server);
			return;
		}
		if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && n == 0)
			return;
	}
}

/* ---- frames ------------------------------------------------------------------------ */

static int is_block_frame(uint8_t type)
{
	return type == FT_HEADERS || type == FT_CONTINUATION || type == FT_PUSH_PROMISE;
}

static void begin_frame(struct net_h2 *h, struct net_h2_dir *d)
{
	d->frame_len = (uint32_t)d->hdr[0] << 16 | (uint32_t)d->hdr[1] << 8 | d->hdr[2];
	d->type = d->hdr[3];
	d->flags = d->hdr[4];
	d->sid = ((uint32_t)d->hdr[5] << 24 | (uint32_t)d->hdr[6] << 16 | (uint32_t)d->hdr[7] << 8 |
		  d->hdr[8]) &
		 0x7fffffff;
	d->frame_off = 0;
	d->prefix_len = 0;
	d->pad_len = 0;
	d->setting_have = 0;
	/* A header block is a run of frames nothing may interrupt (RFC 9113 6.10). */
	if (d->in_block != (d->type == FT_CONTINUATION) ||
	    (d->in_block && d->sid != d->block_sid)) {
		give_up(h);
		return;
	}
	if (d->type == FT_HEADERS || d->type == FT_PUSH_PROMISE) {
		if (d->flags & FL_PADDED)
			d->prefix_len += 1;
		if (d->type == FT_HEADERS && (d->flags & FL_PRIORITY))
			d->prefix_len += 5;
		if (d->type == FT_PUSH_PROMISE)
			d->prefix_len += 4;
		if (d->prefix_len > d->frame_len) {
			give_up(h);
			return;
		}
		d->in_block = 1;
		d->block_sid = d->sid;
		d->block_end_stream = d->type == FT_HEADERS && (d->flags & FL_END_STREAM);
		d->block_promise = d->type == FT_PUSH_PROMISE;
	}
}

static void end_frame(struct net_h2 *h, int to_server)
{
	struct net_h2_dir *d = &h->dir[to_server ? 0 : 1];
	struct net_h2_stream *s = d->sid ? find_stream(h, d->sid) : NULL;

	d->hdr_have = 0;
	switch (d->type) {
	case FT_DATA:
		if (!s)
			break;
		if (to_server) {
			s->x.request_bytes += d->frame_len;
			if (d->flags & FL_END_STREAM)
				s->request_done = 1;
		} else {
			s->x.response_bytes += d->frame_len;
			if (d->flags & FL_END_STREAM)
				finish_stream(h, s, 0);
		}
		break;
	case FT_RST_STREAM:
		if (s)
			finish_stream(h, s, 1);
		break;
	case FT_HEADERS:
	case FT_PUSH_PROMISE:
	case FT_CONTINUATION:
		/* A block whose last frame had no bytes left to feed ends here. */
		if (d->in_block && (d->flags & FL_END_HEADERS))
			inflate(h, to_server, NULL, 0, 1);
		break;
	}
}

static void setting_byte(struct net_h2 *h, int to_server, uint8_t b)
{
	struct net_h2_dir *d = &h->dir[to_server ? 0 : 1];
	struct net_h2_dir *peer = &h->dir[to_server ? 1 : 0];
	uint32_t value;

	d->setting[d->setting_have++] = b;
	if (d->setting_have < 6)
		return;
	d->setting_have = 0;
	if ((d->setting[0] << 8 | d->setting[1]) != SETTINGS_HEADER_TABLE_SIZE)
		return;
	value = (uint32_t)d->setting[2] << 24 | (uint32_t)d->setting[3] << 16 |
		(uint32_t)d->setting[4] << 8 | d->setting[5];
	/* The sender's decoder table bounds what the other side encodes. */
	peer->table_size = value < NET_H2_TABLE_MAX ? value : NET_H2_TABLE_MAX;
	apply_table_size(h, peer);
}

/* Payload bytes of the current frame (all captured). */
static void payload(struct net_h2 *h, int to_server, const uint8_t *p, size_t n)
{
	struct net_h2_dir *d = &h->dir[to_server ? 0 : 1];

	while (n > 0 && !h->dead) {
		if (d->frame_off < d->prefix_len) {
			if (d->frame_off == 0 && (d->flags & FL_PADDED))
				d->pad_len = p[0];
			if (d->pad_len > d->frame_len - d->prefix_len) {
				give_up(h);
				return;
			}
			d->frame_off++, p++, n--;
			continue;
		}
		if (is_block_frame(d->type)) {
			uint32_t frag_end = d->frame_len - d->pad_len;
			size_t k = d->frame_off < frag_end ? frag_end - d->frame_off : 0;

			if (k > n)
				k = n;
			if (k > 0) {
				d->frame_off += k;
				inflate(h, to_server, p, k,
					d->frame_off == frag_end && (d->flags & FL_END_HEADERS));
				p += k, n -= k;
				continue;
			}
		} else if (d->type == FT_SETTINGS && !(d->flags & FL_ACK)) {
			setting_byte(h, to_server, p[0]);
		}
		d->frame_off++, p++, n--; /* padding, or payload that does not matter */
	}
}

/* ---- input ------------------------------------------------------------------------- */

static void consume(struct net_h2 *h, int to_server, const uint8_t *p, size_t n)
{
	struct net_h2_dir *d = &h->dir[to_server ? 0 : 1];

	while (n > 0 && !h->dead) {
		size_t k;

		if (d->preface_left) {
			size_t off = NET_H2_PREFACE_LEN - d->preface_left;

			k = n < d->preface_left ? n : d->preface_left;
			if (memcmp(p, preface + off, k)) {
				give_up(h);
				return;
			}
			d->preface_left -= k;
		} else if (d->hdr_have < 9) {
			k = 9 - d->hdr_have;
			if (k > n)
				k = n;
			memcpy(d->hdr + d->hdr_have, p, k);
			d->hdr_have += k;
			if (d->hdr_have == 9) {
				begin_frame(h, d);
				if (!h->dead && d->frame_len == 0)
					end_frame(h, to_server);
			}
		} else {
			k = d->frame_len - d->frame_off;
			if (k > n)
				k = n;
			payload(h, to_server, p, k);
			if (!h->dead && d->frame_off == d->frame_len)
				end_frame(h, to_server);
		}
		p += k;
		n -= k;
	}
}

/* Bytes not captured: harmless only inside payloads nobody decodes. */
static void skip(struct net_h2 *h, int to_server, size_t n)
{
	struct net_h2_dir *d = &h->dir[to_server ? 0 : 1];

	while (n > 0 && !h->dead) {
		size_t k;

		if (d->preface_left || d->hdr_have < 9 || is_block_frame(d->type) ||
		    d->type == FT_SETTINGS || d->frame_off < d->prefix_len) {
			give_up(h);
			return;
		}
		k = d->frame_len - d->frame_off;
		if (k > n)
			k = n;
		d->frame_off += k;
		n -= k;
		if (d->frame_off == d->frame_len)
			end_frame(h, to_server);
	}
}

int net_h2_init(struct net_h2 *h, struct net_h2_stats *stats, net_exchange_fn cb, void *cb_ctx)
{
	memset(h, 0, sizeof(*h));
	h->stats = stats;
	h->cb = cb;
	h->cb_ctx = cb_ctx;
	h->dir[0].preface_left = NET_H2_PREFACE_LEN;
	for (int i = 0; i < 2; i++) {
		h->dir[i].table_size = -1;
		if (nghttp2_hd_inflate_new(&h->dir[i].inflater) != 0) {
			net_h2_free(h);
			return -1;
		}
	}
	return 0;
}

void net_h2_free(struct net_h2 *h)
{
	for (int i = 0; i < NET_H2_STREAMS; i++)
		if (h->streams[i].id) {
			h->streams[i].id = 0;
			h->stats->unanswered++;
		}
	for (int i = 0; i < 2; i++) {
		if (h->dir[i].inflater)
			nghttp2_hd_inflate_del(h->dir[i].inflater);
		h->dir[i].inflater = NULL;
	}
	h->dead = 1;
}

void net_h2_feed(struct net_h2 *h, int to_server, const uint8_t *data, size_t cap, size_t len,
		 uint64_t ts)
{
	if (h->dead)
		return;
	if (cap > len)
		cap = len;
	h->now = ts;
	consume(h, to_server, data, cap);
	if (len > cap)
		skip(h, to_server, len - cap);
}

void net_h2_gap(struct net_h2 *h)
{
	give_up(h);
}
