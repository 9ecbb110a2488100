/* test_net_http1.c - HTTP/1.x reconstruction from captured byte sequences: one exchange
 * with its fields, sizes and latency; requests split across reads down to one byte per
 * read; pipelining; HEAD, chunked, 100 Continue and read-until-close responses; bytes the
 * capture cut inside a body (skipped) and inside headers (sync lost, regained at the next
 * message); malformed input rejected; kernel-reported gaps; protocol upgrades. Every
 * input lives in a heap block of its exact size, so ASan catches any over-read. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "observers/network/net_http1.h"

#define MS 1000000ull
#define MAX_SEEN 16

static struct net_exchange seen[MAX_SEEN];
static int n_seen;
static struct net_http1_stats stats;
static struct net_http1 h;

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
	net_http1_init(&h, &stats, collect, NULL);
}

TestSuite(net_http1, .init = setup);

/* Feeds s as one call: the first cap bytes captured (cap < 0: all). */
static void feed_cut(int request_dir, const char *s, long cap, uint64_t ts)
{
	size_t len = strlen(s), c = cap < 0 ? len : (size_t)cap;
	uint8_t *copy = malloc(c ? c : 1);

	memcpy(copy, s, c);
	net_http1_feed(&h, request_dir, copy, c, len, ts);
	free(copy);
}

static void feed(int request_dir, const char *s, uint64_t ts)
{
	feed_cut(request_dir, s, -1, ts);
}

static const char get_req[] = "GET /index.html?q=1 HTTP/1.1\r\n"
			      "Host: example.test:8080\r\n"
			      "User-Agent: curl/7.88.1\r\n"
			      "Accept: */*\r\n\r\n";
static const char ok_resp[] = "HTTP/1.1 200 OK\r\n"
			      "Content-Type: text/plain\r\n"
			      "Content-Length: 5\r\n\r\n"
			      "hello";

Test(net_http1, one_exchange_has_its_fields_sizes_and_latency)
{
	feed(1, get_req, 10 * MS);
	cr_assert_eq(n_seen, 0);
	feed(0, ok_resp, 13 * MS);
	cr_assert_eq(n_seen, 1);
	cr_assert_str_eq(seen[0].method, "GET");
	cr_assert_str_eq(seen[0].path, "/index.html?q=1");
	cr_assert_str_eq(seen[0].host, "example.test:8080");
	cr_assert_eq(seen[0].status, 200);
	cr_assert_eq(seen[0].version, 11);
	cr_assert_eq(seen[0].request_bytes, strlen(get_req));
	cr_assert_eq(seen[0].response_bytes, strlen(ok_resp));
	cr_assert_eq(seen[0].start_ns, 10 * MS);
	cr_assert_eq(seen[0].end_ns, 13 * MS);
	cr_assert_eq(seen[0].path_truncated, 0);
	cr_assert_eq(stats.desync, 0);
	cr_assert_eq(stats.unanswered, 0);
}

Test(net_http1, request_split_across_reads_byte_by_byte)
{
	char one[2] = {0};

	for (size_t i = 0; i < strlen(get_req); i++) {
		one[0] = get_req[i];
		feed(1, one, (20 + i) * MS);
	}
	/* and the response in two reads, split inside a header name and the body */
	char part1[40], part2[sizeof(ok_resp)];

	memcpy(part1, ok_resp, 39);
	part1[39] = 0;
	strcpy(part2, ok_resp + 39);
	feed(0, part1, 200 * MS);
	cr_assert_eq(n_seen, 0);
	feed(0, part2, 201 * MS);
	cr_assert_eq(n_seen, 1);
	cr_assert_str_eq(seen[0].host, "example.test:8080");
	cr_assert_str_eq(seen[0].path, "/index.html?q=1");
	cr_assert_eq(seen[0].start_ns, 20 * MS, "the request starts at its first byte");
	cr_assert_eq(seen[0].end_ns, 201 * MS);
	cr_assert_eq(seen[0].request_bytes, strlen(get_req));
	cr_assert_eq(seen[0].response_bytes, strlen(ok_resp));
}

Test(net_http1, pipelined_requests_pair_in_order)
{
	char both[512];

	snprintf(both, sizeof(both), "%s%s", "GET /a HTTP/1.1\r\nHost: h\r\n\r\n",
		 "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz");
	feed(1, both, 1 * MS);
	snprintf(both, sizeof(both), "%s%s", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
		 "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
	feed(0, both, 5 * MS);
	cr_assert_eq(n_seen, 2);
	cr_assert_str_eq(seen[0].method, "GET");
	cr_assert_str_eq(seen[0].path, "/a");
	cr_assert_eq(seen[0].status, 404);
	cr_assert_eq(seen[0].request_bytes, strlen("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"));
	cr_assert_eq(seen[0].response_bytes,
		     strlen("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"));
	cr_assert_str_eq(seen[1].method, "POST");
	cr_assert_str_eq(seen[1].path, "/b");
	cr_assert_eq(seen[1].status, 201);
	cr_assert_eq(seen[1].request_bytes,
		     strlen("POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"));
	cr_assert_eq(seen[1].response_bytes,
		     strlen("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"));
}

Test(net_http1, head_response_has_no_body_whatever_its_length_says)
{
	feed(1, "HEAD /big HTTP/1.1\r\nHost: h\r\n\r\n", 1 * MS);
	feed(0, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", 2 * MS);
	cr_assert_eq(n_seen, 1);
	cr_assert_str_eq(seen[0].method, "HEAD");
	/* the next exchange parses: the parser did not wait for 100000 body bytes */
	feed(1, "GET /next HTTP/1.1\r\n\r\n", 3 * MS);
	feed(0, "HTTP/1.1 204 No Content\r\n\r\n", 4 * MS);
	cr_assert_eq(n_seen, 2);
	cr_assert_eq(seen[1].status, 204);
	cr_assert_eq(stats.desync, 0);
}

Test(net_http1, chunked_response_and_interim_100_continue)
{
	const char *chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			      "4\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n";

	feed(1, "PUT /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", 1 * MS);
	feed(0, "HTTP/1.1 100 Continue\r\n\r\n", 2 * MS);
	cr_assert_eq(n_seen, 0, "100 Continue is not the answer");
	feed(1, "data", 3 * MS);
	feed(0, chunked, 4 * MS);
	cr_assert_eq(n_seen, 1);
	cr_assert_eq(seen[0].status, 200);
	cr_assert_str_eq(seen[0].method, "PUT");
	cr_assert_eq(seen[0].response_bytes, strlen(chunked));
	cr_assert_eq(seen[0].end_ns, 4 * MS);
}

Test(net_http1, body_bytes_beyond_the_capture_bound_are_skipped)
{
	char resp[256];
	const char *hdr = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n";
	size_t hl = strlen(hdr);
	uint8_t *copy;

	feed(1, "GET /big HTTP/1.1\r\n\r\n", 1 * MS);
	/* one read of 60000 bytes of which the kernel copied the headers and 10 bytes */
	snprintf(resp, sizeof(resp), "%s0123456789", hdr);
	copy = malloc(hl + 10);
	memcpy(copy, resp, hl + 10);
	net_http1_feed(&h, 0, copy, hl + 10, 60000, 2 * MS);
	free(copy);
	cr_assert_eq(n_seen, 0);
	/* a second read with the rest, nothing of it captured */
	net_http1_feed(&h, 0, (const uint8_t *)"", 0, hl + 100000 - 60000, 3 * MS);
	cr_assert_eq(n_seen, 1);
	cr_assert_eq(seen[0].response_bytes, hl + 100000);
	cr_assert_eq(seen[0].end_ns, 3 * MS);
	cr_assert_eq(stats.desync, 0);
}

Test(net_http1, headers_cut_by_the_capture_lose_sync_until_the_next_message)
{
	feed(1, "GET /one HTTP/1.1\r\nHost: h\r\n\r\n", 1 * MS);
	feed_cut(0, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", 10, 2 * MS);
	cr_assert_eq(n_seen, 0);
	cr_assert_eq(stats.desync, 1);
	cr_assert_eq(stats.unanswered, 1);
	/* bytes that do not start a message are ignored while lost */
	feed(0, "junk that is no status line", 3 * MS);
	feed(1, "GET /two HTTP/1.1\r\n\r\n", 4 * MS);
	feed(0, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n", 5 * MS);
	cr_assert_eq(n_seen, 1);
	cr_assert_str_eq(seen[0].path, "/two");
	cr_assert_eq(seen[0].status, 500);
	cr_assert_eq(seen[0].start_ns, 4 * MS);
}

Test(net_http1, malformed_input_is_rejected_without_an_exchange)
{
	feed(1, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", 1 * MS);
	feed(0, "HTTP/1.1 abc Broken\r\n\r\n", 2 * MS);
	cr_assert_eq(n_seen, 0);
	cr_assert_eq(stats.desync, 1);
	/* a request line with a control byte in the target */
	feed(1, "GET /a\x01b HTTP/1.1\r\n\r\n", 3 * MS);
	cr_assert_eq(stats.desync, 2);
	feed(0, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 4 * MS);
	cr_assert_eq(n_seen, 0, "a response to a rejected request pairs with nothing");
	/* a header line without a colon; and a bad chunk size */
	feed(1, "GET /y HTTP/1.1\r\nNoColonHere\r\n\r\n", 5 * MS);
	cr_assert_eq(stats.desync, 3);
	feed(1, "GET /z HTTP/1.1\r\n\r\n", 6 * MS);
	feed(0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 7 * MS);
	cr_assert_eq(n_seen, 0);
	cr_assert_eq(stats.desync, 4);
}

Test(net_http1, a_gap_drops_pending_requests_and_resyncs)
{
	feed(1, "GET /lost HTTP/1.1\r\n\r\n", 1 * MS);
	net_http1_gap(&h);
	cr_assert_eq(stats.unanswered, 1);
	feed(0, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2 * MS);
	cr_assert_eq(n_seen, 0);
	feed(1, "DELETE /item/7 HTTP/1.1\r\n\r\n", 3 * MS);
	feed(0, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", 4 * MS);
	cr_assert_eq(n_seen, 1);
	cr_assert_str_eq(seen[0].method, "DELETE");
	cr_assert_str_eq(seen[0].path, "/item/7");
}

Test(net_http1, response_until_close_completes_at_eof)
{
	feed(1, "GET /old HTTP/1.0\r\n\r\n", 1 * MS);
	feed(0, "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>", 2 * MS);
	feed(0, "</html>", 3 * MS);
	cr_assert_eq(n_seen, 0);
	net_http1_eof(&h, 4 * MS);
	cr_assert_eq(n_seen, 1);
	cr_assert_eq(seen[0].version, 10);
	cr_assert_eq(seen[0].end_ns, 4 * MS);
	cr_assert_eq(seen[0].response_bytes,
		     strlen("HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html></html>"));
}

Test(net_http1, long_paths_and_hosts_are_cut_at_their_bounds)
{
	char req[1200];
	char path[600];

	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = 0;
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nhOsT: %0200d\r\n\r\n", path, 7);
	feed(1, req, 1 * MS);
	feed(0, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2 * MS);
	cr_assert_eq(n_seen, 1);
	cr_assert_eq(strlen(seen[0].path), NET_PATH_MAX);
	cr_assert_eq(seen[0].path_truncated, 1);
	cr_assert_eq(strlen(seen[0].host), NET_HOST_MAX);
}

Test(net_http1, only_the_host_header_value_is_kept)
{
	feed(1, "GET / HTTP/1.1\r\nHostname: nope\r\nX-Host: nope\r\nHo", 1 * MS);
	feed(1, "st: yes.test\r\nAuthorization: secret\r\n\r\n", 2 * MS);
	feed(0, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 3 * MS);
	cr_assert_eq(n_seen, 1);
	cr_assert_str_eq(seen[0].host, "yes.test");
}

Test(net_http1, pipeline_overflow_counts_the_oldest_unanswered)
{
	for (int i = 0; i < NET_HTTP1_PIPELINE + 2; i++)
		feed(1, "GET /p HTTP/1.1\r\n\r\n", (uint64_t)(i + 1) * MS);
	cr_assert_eq(stats.unanswered, 2);
	feed(0, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 100 * MS);
	cr_assert_eq(n_seen, 1);
	cr_assert_eq(seen[0].start_ns, 3 * MS, "paired with the oldest one kept");
}

Test(net_http1, an_upgrade_ends_parsing)
{
	feed(1, "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", 1 * MS);
	feed(0,
	     "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "
	     "websocket\r\n\r\n",
	     2 * MS);
	cr_assert_eq(n_seen, 1);
	cr_assert_eq(seen[0].status, 101);
	feed(1, "\x81\x85 binary frames", 3 * MS);
	cr_assert_eq(stats.desync, 0, "bytes after the switch are not HTTP and are ignored");
}

Test(net_http1, message_start_recognition)
{
	cr_assert(net_http1_is_request_start((const uint8_t *)"OPTIONS * HTTP/1.1", 18));
	cr_assert_not(net_http1_is_request_start((const uint8_t *)"GET", 3));
	cr_assert_not(net_http1_is_request_start((const uint8_t *)"GETX /", 6));
	cr_assert(net_http1_is_response_start((const uint8_t *)"HTTP/1.0 200", 12));
	cr_assert_not(net_http1_is_response_start((const uint8_t *)"HTTP/2 200", 10));
}
