/* test_net_l7.c - the network observer's parser table and its helpers: records routed by
 * role and direction to the right parser; a socket reused for another protocol starts
 * over; kernel gap marks; the least recently used connection evicted when the table is
 * full (counted, its pending requests counted unanswered); close finishing a response
 * that runs to the end of the stream. Also the drop reason names read from a BTF file
 * (one made here with libbpf), the libssl lookup, and --net-sample parsing. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "core/config.h"
#include "observers/network/net_l7.h"
#include "observers/network/net_reasons.h"
#include "observers/network/net_tls.h"

#define MS 1000000ull
#define MAX_SEEN 16

struct seen {
	struct net_exchange x;
	uint64_t sk;
	uint32_t pid;
	uint8_t role, tls;
};

static struct seen seen[MAX_SEEN];
static int n_seen;

static void collect(void *ctx, const struct net_l7_conn *c, const struct net_exchange *x)
{
	cr_assert_lt(n_seen, MAX_SEEN);
	seen[n_seen].x = *x;
	seen[n_seen].sk = c->sk;
	seen[n_seen].pid = c->last.pid;
	seen[n_seen].role = c->role;
	seen[n_seen].tls = c->tls;
	n_seen++;
}

static void reset_seen(void)
{
	memset(seen, 0, sizeof(seen));
	n_seen = 0;
}

/* One data record as the kernel would send it, with its bytes right after. */
static void data(struct net_l7 *t, uint64_t sk, uint8_t proto, uint8_t role, uint8_t dir,
		 uint8_t flags, const char *bytes, uint64_t ts)
{
	size_t n = strlen(bytes);
	struct net_data_event *d = calloc(1, sizeof(*d) + n);

	d->h.type = TP_EV_NET_DATA;
	d->h.pid = 1000 + (uint32_t)(sk & 0xff);
	d->h.ts_ns = ts;
	d->sk = sk;
	d->len = (uint32_t)n;
	d->cap = (uint16_t)n;
	d->dir = dir;
	d->flags = flags;
	d->proto = proto;
	d->role = role;
	d->ep.family = 2;
	d->ep.lport = 8080;
	memcpy((char *)(d + 1), bytes, n);
	net_l7_data(t, d, (const uint8_t *)(d + 1));
	free(d);
}

static const char req[] = "GET /a HTTP/1.1\r\nHost: t\r\n\r\n";
static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

Test(net_l7, client_and_server_sides_route_by_direction)
{
	struct net_l7 *t = net_l7_new(8, collect, NULL);

	reset_seen();
	/* the client writes the request and reads the response; the server the opposite */
	data(t, 0x11, NET_PROTO_HTTP1, NET_ROLE_CLIENT, NET_DATA_EGRESS, 0, req, 1 * MS);
	data(t, 0x22, NET_PROTO_HTTP1, NET_ROLE_SERVER, NET_DATA_INGRESS, 0, req, 2 * MS);
	data(t, 0x22, NET_PROTO_HTTP1, NET_ROLE_SERVER, NET_DATA_EGRESS, 0, resp, 3 * MS);
	data(t, 0x11, NET_PROTO_HTTP1, NET_ROLE_CLIENT, NET_DATA_INGRESS, NET_DATA_F_TLS, resp,
	     4 * MS);
	cr_assert_eq(n_seen, 1, "a TLS record restarts the plaintext stream of that socket");
	cr_assert_eq(seen[0].sk, 0x22);
	cr_assert_eq(seen[0].role, NET_ROLE_SERVER);
	cr_assert_eq(seen[0].pid, 1000 + 0x22);
	cr_assert_eq(seen[0].x.start_ns, 2 * MS);
	cr_assert_eq(seen[0].x.end_ns, 3 * MS);
	data(t, 0x11, NET_PROTO_HTTP1, NET_ROLE_CLIENT, NET_DATA_EGRESS, NET_DATA_F_TLS, req,
	     5 * MS);
	data(t, 0x11, NET_PROTO_HTTP1, NET_ROLE_CLIENT, NET_DATA_INGRESS, NET_DATA_F_TLS, resp,
	     6 * MS);
	cr_assert_eq(n_seen, 2);
	cr_assert_eq(seen[1].tls, 1);
	cr_assert_eq(seen[1].role, NET_ROLE_CLIENT);
	cr_assert_eq(net_l7_size(t), 2);
	net_l7_free(t);
}

Test(net_l7, least_recently_used_is_evicted_when_full)
{
	struct net_l7 *t = net_l7_new(3, collect, NULL);
	struct net_l7_stats st;

	reset_seen();
	for (uint64_t sk = 1; sk <= 3; sk++)
		data(t, sk, NET_PROTO_HTTP1, NET_ROLE_CLIENT, NET_DATA_EGRESS, 0, req, sk * MS);
	/* touch 1: 2 is now the least recently used */
	data(t, 1, NET_PROTO_HTTP1, NET_ROLE_CLIENT, NET_DATA_INGRESS, 0, resp, 10 * MS);
	data(t, 4, NET_PROTO_HTTP1, NET_ROLE_CLIENT, NET_DATA_EGRESS, 0, req, 11 * MS);
	net_l7_get_stats(t, &st);
	cr_assert_eq(st.evicted, 1);
	cr_assert_eq(st.unanswered, 1, "2's request went with it");
	cr_assert_eq(net_l7_size(t), 3);
	/* 3 and 4 still pair their responses; 2 starts over and cannot */
	data(t, 3, NET_PROTO_HTTP1, NET_ROLE_CLIENT, NET_DATA_INGRESS, 0, resp, 12 * MS);
	data(t, 4, NET_PROTO_HTTP1, NET_ROLE_CLIENT, NET_DATA_INGRESS, 0, resp, 13 * MS);
	data(t, 2, NET_PROTO_HTTP1, NET_ROLE_CLIENT, NET_DATA_INGRESS, 0, resp, 14 * MS);
	cr_assert_eq(n_seen, 3);
	cr_assert_eq(seen[0].sk, 1);
	cr_assert_eq(seen[1].sk, 3);
	cr_assert_eq(seen[2].sk, 4);
	net_l7_get_stats(t, &st);
	cr_assert_eq(st.evicted, 2, "2 came back and pushed out the least recent again");
	net_l7_free(t);
}

Test(net_l7, many_connections_through_a_small_table)
{
	struct net_l7 *t = net_l7_new(64, collect, NULL);
	struct net_l7_stats st;

	reset_seen();
	for (uint64_t sk = 1; sk <= 1000; sk++) {
		data(t, sk * 64, NET_PROTO_HTTP1, NET_ROLE_SERVER, NET_DATA_INGRESS, 0, req, sk);
		if (sk % 2)
			net_l7_close(t, sk * 64, sk);
	}
	net_l7_get_stats(t, &st);
	cr_assert_eq(net_l7_size(t), 64);
	cr_assert_eq(st.evicted, 500 - 64);
	cr_assert_eq(st.unanswered, 1000 - 64);
	net_l7_free(t);
}

Test(net_l7, a_new_connection_on_a_reused_socket_address_starts_over)
{
	struct net_l7 *t = net_l7_new(4, collect, NULL);
	struct net_l7_stats st;
	size_t n = strlen(req);
	struct net_data_event *d = calloc(1, sizeof(*d) + n);

	reset_seen();
	data(t, 3, NET_PROTO_HTTP1, NET_ROLE_CLIENT, NET_DATA_EGRESS, 0, req, 1 * MS);
	/* the same struct sock address, another connection: its request came first */
	d->sk = 3;
	d->conn_id = 77;
	d->len = (uint32_t)n;
	d->cap = (uint16_t)n;
	d->dir = NET_DATA_EGRESS;
	d->proto = NET_PROTO_HTTP1;
	d->role = NET_ROLE_CLIENT;
	d->h.ts_ns = 2 * MS;
	memcpy(d + 1, req, n);
	net_l7_data(t, d, (const uint8_t *)(d + 1));
	net_l7_get_stats(t, &st);
	cr_assert_eq(st.unanswered, 1, "the old connection's request");
	cr_assert_eq(net_l7_size(t), 1);
	free(d);
	net_l7_free(t);
}

Test(net_l7, close_ends_a_response_that_runs_to_the_end_and_forgets)
{
	struct net_l7 *t = net_l7_new(4, collect, NULL);

	reset_seen();
	data(t, 7, NET_PROTO_HTTP1, NET_ROLE_CLIENT, NET_DATA_EGRESS, 0, "GET / HTTP/1.0\r\n\r\n",
	     1 * MS);
	data(t, 7, NET_PROTO_HTTP1, NET_ROLE_CLIENT, NET_DATA_INGRESS, 0,
	     "HTTP/1.0 200 OK\r\n\r\nbody", 2 * MS);
	cr_assert_eq(n_seen, 0);
	net_l7_close(t, 7, 3 * MS);
	cr_assert_eq(n_seen, 1);
	cr_assert_eq(seen[0].x.end_ns, 3 * MS);
	cr_assert_eq(net_l7_size(t), 0);
	net_l7_close(t, 7, 4 * MS); /* unknown now: nothing happens */
	net_l7_free(t);
}

Test(net_l7, gap_marks_and_http2_routing)
{
	struct net_l7 *t = net_l7_new(4, collect, NULL);
	struct net_l7_stats st;

	reset_seen();
	data(t, 9, NET_PROTO_HTTP1, NET_ROLE_CLIENT, NET_DATA_EGRESS, 0, req, 1 * MS);
	data(t, 9, NET_PROTO_HTTP1, NET_ROLE_CLIENT, NET_DATA_EGRESS, NET_DATA_F_GAP, req, 2 * MS);
	data(t, 9, NET_PROTO_HTTP1, NET_ROLE_CLIENT, NET_DATA_INGRESS, 0, resp, 3 * MS);
	cr_assert_eq(n_seen, 1);
	cr_assert_eq(seen[0].x.start_ns, 2 * MS, "paired with the request after the gap");
	/* HTTP/2: a bad preface gives the connection up, a gap on it changes nothing more */
	data(t, 10, NET_PROTO_HTTP2, NET_ROLE_CLIENT, NET_DATA_EGRESS, 0, "PRI * HTTP/1.1\r\n", 4);
	data(t, 10, NET_PROTO_HTTP2, NET_ROLE_CLIENT, NET_DATA_EGRESS, NET_DATA_F_GAP, "x", 5);
	net_l7_get_stats(t, &st);
	cr_assert_eq(st.desync, 2);
	cr_assert_eq(st.unanswered, 1);
	net_l7_free(t);
}

Test(net_l7, records_of_no_parsed_protocol_are_refused)
{
	struct net_l7 *t = net_l7_new(2, collect, NULL);
	struct net_l7_stats st;

	data(t, 5, NET_PROTO_OTHER, NET_ROLE_CLIENT, NET_DATA_EGRESS, 0, "xyz", 1);
	net_l7_get_stats(t, &st);
	cr_assert_eq(st.desync, 1);
	cr_assert_null(net_l7_new(0, collect, NULL));
	net_l7_free(t);
	net_l7_free(NULL);
}

/* ---- drop reason names ------------------------------------------------------------- */

static char *write_btf(struct btf *b)
{
	static char path[] = "/tmp/tapio-test-btf-XXXXXX";
	uint32_t size;
	const void *raw = btf__raw_data(b, &size);
	int fd;

	strcpy(path, "/tmp/tapio-test-btf-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, raw, size), (ssize_t)size);
	close(fd);
	return path;
}

Test(net_reasons, names_come_from_the_kernels_btf)
{
	struct btf *b = btf__new_empty();
	struct net_reasons r;
	char *path;
	int id;

	id = btf__add_enum(b, "skb_drop_reason", 4);
	cr_assert_gt(id, 0);
	cr_assert_eq(btf__add_enum_value(b, "SKB_NOT_DROPPED_YET", 0), 0);
	cr_assert_eq(btf__add_enum_value(b, "SKB_CONSUMED", 1), 0);
	cr_assert_eq(btf__add_enum_value(b, "SKB_DROP_REASON_NOT_SPECIFIED", 2), 0);
	cr_assert_eq(btf__add_enum_value(b, "SKB_DROP_REASON_NO_SOCKET", 3), 0);
	cr_assert_eq(btf__add_enum_value(b, "SKB_DROP_REASON_NETFILTER_DROP", 12), 0);
	path = write_btf(b);
	cr_assert_eq(net_reasons_load(&r, path), 5);
	cr_assert_str_eq(net_reasons_name(&r, 3), "NO_SOCKET");
	cr_assert_str_eq(net_reasons_name(&r, 12), "NETFILTER_DROP");
	cr_assert_str_eq(net_reasons_name(&r, 1), "CONSUMED");
	cr_assert_null(net_reasons_name(&r, 4));
	net_reasons_free(&r);
	unlink(path);
	btf__free(b);
}

Test(net_reasons, a_kernel_without_reasons_has_none)
{
	struct btf *b = btf__new_empty();
	struct net_reasons r;
	char *path;

	cr_assert_gt(btf__add_int(b, "int", 4, BTF_INT_SIGNED), 0);
	path = write_btf(b);
	cr_assert_eq(net_reasons_load(&r, path), 0);
	cr_assert_null(net_reasons_name(&r, 3));
	net_reasons_free(&r);
	unlink(path);
	btf__free(b);
	cr_assert_lt(net_reasons_load(&r, "/nonexistent/vmlinux"), 0);
}

Test(net_reasons, the_running_kernels_table_loads)
{
	struct net_reasons r;
	int n = net_reasons_load(&r, NULL);

	cr_assert_geq(n, 0);
	net_reasons_free(&r);
}

/* ---- libssl -------------------------------------------------------------------------- */

Test(net_tls, libssl_is_found_under_a_root_and_resolved)
{
	char root[] = "/tmp/tapio-test-root-XXXXXX", path[512], out[PATH_MAX], real[PATH_MAX];
	FILE *f;

	cr_assert_not_null(mkdtemp(root));
	cr_assert_eq(net_tls_find_libssl(root, out, sizeof(out)), -1);
	snprintf(path, sizeof(path), "%s/usr", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/usr/lib64", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/usr/lib64/libssl.so.3.0.2", root);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/usr/lib64/libssl.so.3", root);
	cr_assert_eq(symlink("libssl.so.3.0.2", path), 0);
	cr_assert_eq(net_tls_find_libssl(root, out, sizeof(out)), 0);
	snprintf(path, sizeof(path), "%s/usr/lib64/libssl.so.3.0.2", root);
	cr_assert_not_null(realpath(path, real));
	cr_assert_str_eq(out, real, "the link is resolved to the file the uprobe goes on");
	cr_assert_eq(net_tls_find_libssl(root, out, 8), -1, "a path that does not fit");
	unlink(real);
	snprintf(path, sizeof(path), "%s/usr/lib64/libssl.so.3", root);
	unlink(path);
	snprintf(path, sizeof(path), "%s/usr/lib64", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/usr", root);
	rmdir(path);
	rmdir(root);
}

/* ---- --net-sample -------------------------------------------------------------------- */

static enum config_result parse(struct config *c, char **argv, int argc, char *err, size_t n)
{
	config_init(c);
	return config_parse_args(c, argc, argv, err, n);
}

Test(net_config, net_sample_sets_one_class)
{
	struct config c;
	char err[256];
	char *ok[] = {"tapio-sensor", "--net-sample", "http=10", "--net-sample", "grpc=3"};
	char *bad_class[] = {"tapio-sensor", "--net-sample", "smtp=2"};
	char *bad_n[] = {"tapio-sensor", "--net-sample", "http=0"};
	char *no_eq[] = {"tapio-sensor", "--net-sample", "http"};

	cr_assert_eq(parse(&c, ok, 5, err, sizeof(err)), CONFIG_OK, "%s", err);
	cr_assert_eq(c.net_sample[0], 1);
	cr_assert_eq(c.net_sample[1], 1);
	cr_assert_eq(c.net_sample[2], 10);
	cr_assert_eq(c.net_sample[3], 3);
	config_free(&c);
	cr_assert_eq(parse(&c, bad_class, 3, err, sizeof(err)), CONFIG_ERROR);
	cr_assert_str_eq(err, "--net-sample smtp=2: expected CLASS=N, CLASS one of connection, "
			      "health, http, grpc, udp");
	config_free(&c);
	cr_assert_eq(parse(&c, bad_n, 3, err, sizeof(err)), CONFIG_ERROR);
	cr_assert_str_eq(err, "--net-sample http=0: expected N 1-1000000 (keep 1 of N)");
	config_free(&c);
	cr_assert_eq(parse(&c, no_eq, 3, err, sizeof(err)), CONFIG_ERROR);
	config_free(&c);
}
