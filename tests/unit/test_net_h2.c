/* test_net_h2.c - HTTP/2 and gRPC reconstruction from captured byte sequences. Header
 * blocks are made by nghttp2's own HPACK encoder, frames by hand: a unary gRPC call with
 * its service, method, status, sizes and latency; the same bytes one per read; streams
 * interleaved with dynamic-table references between them; CONTINUATION, padding and
 * priority; trailers-only responses; resets; a table size raised through SETTINGS;
 * DATA beyond the capture bound; and input that must be rejected (a cut header block, a
 * bad preface, an interrupted block, undecodable HPACK, a gap). Inputs are heap blocks
 * of their exact size, so ASan catches any over-read. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "observers/network/net_h2.h"

#define MS 1000000ull
#define MAX_SEEN 48
#define C2S 1
#define S2C 0

static struct net_exchange seen[MAX_SEEN];
static int n_seen;
static struct net_h2_stats stats;
static struct net_h2 h;
static nghttp2_hd_deflater *client_enc, *server_enc;

static void collect(void *ctx, const struct net_exchange *x)
{
	cr_assert_lt(n_seen, MAX_SEEN);
	seen[n_seen++] = *x;
}

static void setup(void)
{
	memset(seen, 0, sizeof(seen));
	n_seen = 0;
	memset(&stats, 0, sizeof(stats));
	cr_assert_eq(net_h2_init(&h, &stats, collect, NULL), 0);
	cr_assert_eq(nghttp2_hd_deflate_new(&client_enc, 4096), 0);
	/* the server's encoder may use a bigger table when the client's SETTINGS allow */
	cr_assert_eq(nghttp2_hd_deflate_new(&server_enc, 65536), 0);
}

static void teardown(void)
{
	net_h2_free(&h);
	nghttp2_hd_deflate_del(client_enc);
	nghttp2_hd_deflate_del(server_enc);
}

TestSuite(net_h2, .init = setup, .fini = teardown);

/* A growing byte buffer. */
struct buf {
	uint8_t b[65536];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	cr_assert_leq(b->n + n, sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void frame_header(struct buf *b, size_t len, uint8_t type, uint8_t flags, uint32_t sid)
{
	uint8_t h9[9] = {
		(uint8_t)(len >> 16), (uint8_t)(len >> 8),  (uint8_t)len,	 type,	      flags,
		(uint8_t)(sid >> 24), (uint8_t)(sid >> 16), (uint8_t)(sid >> 8), (uint8_t)sid};

	put(b, h9, 9);
}

static void frame(struct buf *b, uint8_t type, uint8_t flags, uint32_t sid, const void *p, size_t n)
{
	frame_header(b, n, type, flags, sid);
	if (n)
		put(b, p, n);
}

#define NV(n, v)                                                                                   \
	{                                                                                          \
		(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE \
	}

/* An HPACK block of the given fields. */
static size_t block(nghttp2_hd_deflater *enc, const nghttp2_nv *nv, size_t n, uint8_t *out,
		    size_t max)
{
	ssize_t k = nghttp2_hd_deflate_hd(enc, out, max, nv, n);

	cr_assert_gt(k, 0);
	return (size_t)k;
}

static void headers(struct buf *b, nghttp2_hd_deflater *enc, uint32_t sid, uint8_t flags,
		    const nghttp2_nv *nv, size_t n)
{
	uint8_t blk[4096];
	size_t k = block(enc, nv, n, blk, sizeof(blk));

	frame(b, 0x1, flags | 0x4, sid, blk, k);
}

static void preface(struct buf *b)
{
	put(b, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
	frame(b, 0x4, 0, 0, NULL, 0); /* empty SETTINGS */
}

static void grpc_request(struct buf *b, uint32_t sid, const char *path_nv_value)
{
	nghttp2_nv nv[] = {
		NV(":method", "POST"),
		NV(":scheme", "http"),
		{(uint8_t *)":path", (uint8_t *)path_nv_value, 5, strlen(path_nv_value),
		 NGHTTP2_NV_FLAG_NONE},
		NV(":authority", "localhost:50051"),
		NV("content-type", "application/grpc"),
		NV("te", "trailers"),
		NV("grpc-timeout", "5S"),
	};
	uint8_t msg[10] = {0, 0, 0, 0, 5, 0x0a, 3, 'b', 'o', 'b'};

	headers(b, client_enc, sid, 0, nv, 7);
	frame(b, 0x0, 0x1, sid, msg, sizeof(msg));
}

static void grpc_response(struct buf *b, uint32_t sid, const char *status)
{
	nghttp2_nv hv[] = {NV(":status", "200"), NV("content-type", "application/grpc")};
	nghttp2_nv tv[] = {{(uint8_t *)"grpc-status", (uint8_t *)status, 11, strlen(status),
			    NGHTTP2_NV_FLAG_NONE},
			   NV("grpc-message", "")};
	uint8_t msg[12] = {0, 0, 0, 0, 7, 0x0a, 5, 'h', 'e', 'l', 'l', 'o'};

	headers(b, server_enc, sid, 0, hv, 2);
	frame(b, 0x0, 0, sid, msg, sizeof(msg));
	headers(b, server_enc, sid, 0x1, tv, 2);
}

/* Hands b to the parser as one call (cap < 0: all of it captured). */
static void send_cut(int to_server, const struct buf *b, long cap, uint64_t ts)
{
	size_t c = cap < 0 ? b->n : (size_t)cap;
	uint8_t *copy = malloc(c ? c : 1);

	memcpy(copy, b->b, c);
	net_h2_feed(&h, to_server, copy, c, b->n, ts);
	free(copy);
}

static void send_all(int to_server, const struct buf *b, uint64_t ts)
{
	send_cut(to_server, b, -1, ts);
}

static void server_preface(struct buf *b)
{
	frame(b, 0x4, 0, 0, NULL, 0);
	frame(b, 0x4, 0x1, 0, NULL, 0); /* SETTINGS ACK */
}

Test(net_h2, unary_grpc_call_has_service_method_status_sizes_and_latency)
{
	static struct buf c, s;

	preface(&c);
	grpc_request(&c, 1, "/helloworld.Greeter/SayHello");
	server_preface(&s);
	grpc_response(&s, 1, "0");
	send_all(C2S, &c, 10 * MS);
	cr_assert_eq(n_seen, 0);
	send_all(S2C, &s, 17 * MS);
	cr_assert_eq(n_seen, 1);
	cr_assert_str_eq(seen[0].method, "POST");
	cr_assert_str_eq(seen[0].path, "/helloworld.Greeter/SayHello");
	cr_assert_str_eq(seen[0].host, "localhost:50051");
	cr_assert_eq(seen[0].grpc, 1);
	cr_assert_eq(seen[0].grpc_status_present, 1);
	cr_assert_eq(seen[0].grpc_status, 0);
	cr_assert_eq(seen[0].status, 200);
	cr_assert_eq(seen[0].request_bytes, 10);
	cr_assert_eq(seen[0].response_bytes, 12);
	cr_assert_eq(seen[0].start_ns, 10 * MS);
	cr_assert_eq(seen[0].end_ns, 17 * MS);
	cr_assert_eq(seen[0].stream_id, 1);
	cr_assert_eq(seen[0].version, 20);
	cr_assert_eq(seen[0].reset, 0);
	cr_assert_eq(stats.desync, 0);
}

Test(net_h2, one_byte_per_read)
{
	static struct buf c, s;
	static struct buf one;

	preface(&c);
	grpc_request(&c, 1, "/pkg.Svc/Call");
	server_preface(&s);
	grpc_response(&s, 1, "5");
	for (size_t i = 0; i < c.n; i++) {
		one.n = 0;
		put(&one, c.b + i, 1);
		send_all(C2S, &one, (100 + i) * MS);
	}
	for (size_t i = 0; i < s.n; i++) {
		one.n = 0;
		put(&one, s.b + i, 1);
		send_all(S2C, &one, (1000 + i) * MS);
	}
	cr_assert_eq(n_seen, 1);
	cr_assert_str_eq(seen[0].path, "/pkg.Svc/Call");
	cr_assert_eq(seen[0].grpc_status, 5);
	cr_assert_eq(seen[0].end_ns, (1000 + s.n - 1) * MS);
	cr_assert_eq(stats.desync, 0);
}

Test(net_h2, interleaved_streams_with_dynamic_table_references)
{
	static struct buf c, s, c2, s2;

	preface(&c);
	grpc_request(&c, 1, "/a.A/One");
	grpc_request(&c, 3, "/a.A/Two"); /* reuses :authority etc. from the table */
	server_preface(&s);
	grpc_response(&s, 3, "0");
	send_all(C2S, &c, 1 * MS);
	send_all(S2C, &s, 2 * MS);
	grpc_request(&c2, 5, "/a.A/Three");
	grpc_response(&s2, 1, "14");
	send_all(C2S, &c2, 3 * MS);
	send_all(S2C, &s2, 4 * MS);
	s2.n = 0;
	grpc_response(&s2, 5, "0");
	send_all(S2C, &s2, 5 * MS);
	cr_assert_eq(n_seen, 3);
	cr_assert_str_eq(seen[0].path, "/a.A/Two");
	cr_assert_str_eq(seen[1].path, "/a.A/One");
	cr_assert_eq(seen[1].grpc_status, 14);
	cr_assert_str_eq(seen[1].host, "localhost:50051");
	cr_assert_str_eq(seen[2].path, "/a.A/Three");
	cr_assert_eq(seen[2].start_ns, 3 * MS);
	cr_assert_eq(stats.desync, 0);
}

Test(net_h2, continuation_padding_and_priority)
{
	static struct buf c, s;
	uint8_t blk[512], payload[600];
	nghttp2_nv nv[] = {NV(":method", "GET"),       NV(":scheme", "https"),
			   NV(":path", "/index.html"), NV(":authority", "www.example.test"),
			   NV("user-agent", "test"),   NV("accept", "*/*")};
	size_t k = block(client_enc, nv, 6, blk, sizeof(blk)), half = k / 2, n = 0;

	preface(&c);
	/* HEADERS with PADDED (3 bytes of padding) and PRIORITY, first half of the block */
	payload[n++] = 3;
	memcpy(payload + n, "\x00\x00\x00\x00\x10", 5);
	n += 5;
	memcpy(payload + n, blk, half);
	n += half;
	memset(payload + n, 0, 3);
	n += 3;
	frame(&c, 0x1, 0x8 | 0x20 | 0x1, 7, payload, n);
	frame(&c, 0x9, 0x4, 7, blk + half, k - half); /* CONTINUATION, END_HEADERS */
	send_all(C2S, &c, 1 * MS);
	nghttp2_nv rv[] = {NV(":status", "404"), NV("content-type", "text/html")};
	headers(&s, server_enc, 7, 0x1, rv, 2);
	send_all(S2C, &s, 2 * MS);
	cr_assert_eq(n_seen, 1);
	cr_assert_str_eq(seen[0].method, "GET");
	cr_assert_str_eq(seen[0].path, "/index.html");
	cr_assert_str_eq(seen[0].host, "www.example.test");
	cr_assert_eq(seen[0].status, 404);
	cr_assert_eq(seen[0].grpc, 0);
	cr_assert_eq(seen[0].grpc_status_present, 0);
}

Test(net_h2, trailers_only_response_and_reset_streams)
{
	static struct buf c, s;
	nghttp2_nv only[] = {NV(":status", "200"), NV("content-type", "application/grpc"),
			     NV("grpc-status", "12")};
	uint8_t rst[4] = {0, 0, 0, 8};

	preface(&c);
	grpc_request(&c, 1, "/x.Y/Unimplemented");
	grpc_request(&c, 3, "/x.Y/Cancelled");
	send_all(C2S, &c, 1 * MS);
	headers(&s, server_enc, 1, 0x1, only, 3);
	frame(&s, 0x3, 0, 3, rst, 4); /* the server resets stream 3 */
	send_all(S2C, &s, 2 * MS);
	cr_assert_eq(n_seen, 2);
	cr_assert_eq(seen[0].grpc_status, 12);
	cr_assert_eq(seen[0].grpc_status_present, 1);
	cr_assert_eq(seen[0].reset, 0);
	cr_assert_str_eq(seen[1].path, "/x.Y/Cancelled");
	cr_assert_eq(seen[1].reset, 1);
	cr_assert_eq(seen[1].grpc_status_present, 0);
}

Test(net_h2, table_size_raised_by_settings)
{
	static struct buf c, s;
	uint8_t setting[6] = {0, 1, 0, 0, 0x20, 0}; /* HEADER_TABLE_SIZE 8192 */
	nghttp2_nv big[] = {NV(":status", "200"), NV("content-type", "application/grpc")};

	put(&c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
	frame(&c, 0x4, 0, 0, setting, 6);
	grpc_request(&c, 1, "/t.T/Big");
	send_all(C2S, &c, 1 * MS);
	/* the server's encoder takes the bigger table the client allowed */
	cr_assert_eq(nghttp2_hd_deflate_change_table_size(server_enc, 8192), 0);
	headers(&s, server_enc, 1, 0x1, big, 2);
	send_all(S2C, &s, 2 * MS);
	cr_assert_eq(n_seen, 1);
	cr_assert_eq(stats.desync, 0);
}

Test(net_h2, table_size_beyond_what_settings_allowed_is_rejected)
{
	static struct buf c, s;
	nghttp2_nv big[] = {NV(":status", "200")};

	preface(&c);
	grpc_request(&c, 1, "/t.T/Big");
	send_all(C2S, &c, 1 * MS);
	cr_assert_eq(nghttp2_hd_deflate_change_table_size(server_enc, 8192), 0);
	headers(&s, server_enc, 1, 0x1, big, 1);
	send_all(S2C, &s, 2 * MS);
	cr_assert_eq(n_seen, 0);
	cr_assert_eq(stats.desync, 1);
	cr_assert_eq(stats.unanswered, 1);
}

Test(net_h2, data_beyond_the_capture_bound_is_skipped)
{
	static struct buf c, s;
	static uint8_t big[20000];
	nghttp2_nv hv[] = {NV(":status", "200"), NV("content-type", "application/grpc")};
	nghttp2_nv tv[] = {NV("grpc-status", "0")};
	size_t cut;

	preface(&c);
	grpc_request(&c, 1, "/s.S/Download");
	send_all(C2S, &c, 1 * MS);
	headers(&s, server_enc, 1, 0, hv, 2);
	frame(&s, 0x0, 0, 1, big, 16384);
	cut = s.n - 16000; /* the kernel copied the headers and a little data */
	send_cut(S2C, &s, (long)cut, 2 * MS);
	s.n = 0;
	frame(&s, 0x0, 0, 1, big, 3616);
	headers(&s, server_enc, 1, 0x1, tv, 1);
	send_all(S2C, &s, 3 * MS);
	cr_assert_eq(n_seen, 1);
	cr_assert_eq(seen[0].response_bytes, 16384 + 3616);
	cr_assert_eq(seen[0].grpc_status_present, 1);
	cr_assert_eq(stats.desync, 0);
}

Test(net_h2, a_header_block_cut_by_the_capture_gives_up)
{
	static struct buf c;

	preface(&c);
	grpc_request(&c, 1, "/c.C/Cut");
	send_cut(C2S, &c, 24 + 9 + 9 + 12, 1 * MS);
	cr_assert_eq(stats.desync, 1);
	cr_assert_eq(stats.unanswered, 1, "the stream its first fields opened");
	c.n = 0;
	grpc_request(&c, 3, "/c.C/After");
	send_all(C2S, &c, 2 * MS);
	cr_assert_eq(n_seen, 0, "a connection given up stays given up");
}

Test(net_h2, malformed_input_is_rejected)
{
	static struct buf c;
	uint8_t junk[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	/* a wrong preface */
	put(&c, "PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n", 24);
	send_all(C2S, &c, 1 * MS);
	cr_assert_eq(stats.desync, 1);

	/* CONTINUATION with no block open */
	net_h2_free(&h);
	cr_assert_eq(net_h2_init(&h, &stats, collect, NULL), 0);
	c.n = 0;
	preface(&c);
	frame(&c, 0x9, 0x4, 1, junk, 4);
	send_all(C2S, &c, 2 * MS);
	cr_assert_eq(stats.desync, 2);

	/* a block interrupted by another frame */
	net_h2_free(&h);
	cr_assert_eq(net_h2_init(&h, &stats, collect, NULL), 0);
	c.n = 0;
	preface(&c);
	frame(&c, 0x1, 0, 1, "\x82", 1); /* HEADERS without END_HEADERS */
	frame(&c, 0x0, 0, 1, "x", 1);
	send_all(C2S, &c, 3 * MS);
	cr_assert_eq(stats.desync, 3);

	/* HPACK that decodes to nothing valid; padding longer than the frame */
	net_h2_free(&h);
	cr_assert_eq(net_h2_init(&h, &stats, collect, NULL), 0);
	c.n = 0;
	preface(&c);
	frame(&c, 0x1, 0x4, 1, junk, sizeof(junk));
	send_all(C2S, &c, 4 * MS);
	cr_assert_eq(stats.desync, 4);
	net_h2_free(&h);
	cr_assert_eq(net_h2_init(&h, &stats, collect, NULL), 0);
	c.n = 0;
	preface(&c);
	frame(&c, 0x1, 0x4 | 0x8, 1, "\x09\x82", 2);
	send_all(C2S, &c, 5 * MS);
	cr_assert_eq(stats.desync, 5);
	cr_assert_eq(n_seen, 0);
}

Test(net_h2, a_gap_gives_up_and_counts_open_streams)
{
	static struct buf c;

	preface(&c);
	grpc_request(&c, 1, "/g.G/Open");
	send_all(C2S, &c, 1 * MS);
	net_h2_gap(&h);
	cr_assert_eq(stats.desync, 1);
	cr_assert_eq(stats.unanswered, 1);
}

Test(net_h2, too_many_open_streams_drop_the_oldest)
{
	static struct buf c;

	preface(&c);
	for (uint32_t i = 0; i < NET_H2_STREAMS + 1; i++) {
		c.n = i == 0 ? c.n : 0;
		grpc_request(&c, 1 + 2 * i, "/m.M/Many");
		send_all(C2S, &c, (i + 1) * MS);
	}
	cr_assert_eq(stats.unanswered, 1);
	c.n = 0;
	grpc_response(&c, 1, "0"); /* the dropped one */
	send_all(S2C, &c, 100 * MS);
	cr_assert_eq(n_seen, 0);
}
