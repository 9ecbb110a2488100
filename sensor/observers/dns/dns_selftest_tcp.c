/* dns_selftest_tcp.c - the TCP lookup of the DNS observer's self-test (see
 * dns_selftest.c): our listener (bound by dns_selftest_bind) answers one query on a
 * connection of ours. Everything is non-blocking and driven
 * by poll handles on the sensor's loop, so the kernel sees a real DNS-over-TCP exchange
 * (SYN, the length-prefixed query, the length-prefixed answer) between two sockets of
 * this process.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/sensor.h"
#include "observers/dns/dns_obs.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void fail(struct dns_obs *d, const char *what)
{
	selftest_fail(&d->o->self_test, "dns TCP: %s: %s", what, strerror(errno));
}

/* The server's side: once the whole query is in, the answer in one write. */
static void on_conn(uv_poll_t *h, int status, int events)
{
	struct dns_obs *d = h->data;
	struct dns_selftest *st = &d->st;
	uint8_t out[sizeof(st->conn_buf) + DNS_ST_ANSWER_LEN];
	ssize_t n = recv(st->conn_fd, st->conn_buf + st->conn_len,
			 sizeof(st->conn_buf) - st->conn_len, 0);
	uint32_t qlen;

	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		uv_poll_stop(h);
		return fail(d, "reading the query");
	}
	st->conn_len += (uint32_t)n;
	if (st->conn_len < 2)
		return;
	qlen = (uint32_t)st->conn_buf[0] << 8 | st->conn_buf[1];
	if (st->conn_len < 2 + qlen)
		return;
	uv_poll_stop(h);
	if (qlen < 12 || 2 + qlen + DNS_ST_ANSWER_LEN > sizeof(out))
		return selftest_fail(&d->o->self_test, "dns TCP: query of %u bytes", qlen);
	put16(out, (uint16_t)(qlen + DNS_ST_ANSWER_LEN));
	memcpy(out + 2, st->conn_buf + 2, qlen);
	put16(out + 4, 0x8180); /* QR, RD, RA */
	put16(out + 8, 1);	/* one answer */
	memcpy(out + 2 + qlen, dns_st_answer, DNS_ST_ANSWER_LEN);
	if (send(st->conn_fd, out, 2 + qlen + DNS_ST_ANSWER_LEN, MSG_NOSIGNAL) < 0)
		fail(d, "sending the answer");
}

static void on_accept(uv_poll_t *h, int status, int events)
{
	struct dns_obs *d = h->data;
	struct dns_selftest *st = &d->st;

	st->conn_fd = accept4(st->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (st->conn_fd < 0) {
		if (errno != EAGAIN)
			fail(d, "accept");
		return;
	}
	uv_poll_stop(h);
	uv_poll_init(&d->o->sensor->loop, &st->conn_poll, st->conn_fd);
	st->conn_poll.data = d;
	st->conn_on = 1;
	uv_poll_start(&st->conn_poll, UV_READABLE, on_conn);
}

/* The client's side: connected, it sends the length-prefixed query. Reading the answer
 * is not needed: the kernel sees it arrive. */
static void on_connected(uv_poll_t *h, int status, int events)
{
	struct dns_obs *d = h->data;
	struct dns_selftest *st = &d->st;
	uint8_t q[2 + sizeof(st->query)];
	socklen_t len = sizeof(int);
	int err = 0;

	uv_poll_stop(h);
	if (getsockopt(st->tcp_fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
		errno = err ? err : errno;
		return fail(d, "connect");
	}
	put16(q, (uint16_t)st->query_len);
	memcpy(q + 2, st->query, st->query_len);
	put16(q + 2, st->tcp.id);
	if (send(st->tcp_fd, q, 2 + st->query_len, MSG_NOSIGNAL) < 0)
		fail(d, "sending the query");
}

static int open_client(struct dns_selftest *st, const struct sockaddr_in *server)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	st->tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (st->tcp_fd < 0 || bind(st->tcp_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(st->tcp_fd, (struct sockaddr *)&a, &alen) < 0)
		return -1;
	st->tcp.client_port = ntohs(a.sin_port);
	if (connect(st->tcp_fd, (const struct sockaddr *)server, sizeof(*server)) < 0 &&
	    errno != EINPROGRESS)
		return -1;
	return 0;
}

int dns_selftest_tcp_start(struct dns_obs *d, const char *server)
{
	struct dns_selftest *st = &d->st;
	uv_loop_t *loop = &d->o->sensor->loop;
	struct sockaddr_in a = {.sin_family = AF_INET};

	a.sin_port = htons(st->server_port);
	inet_pton(AF_INET, server, &a.sin_addr);
	if (open_client(st, &a) < 0)
		return -1;
	uv_poll_init(loop, &st->listen_poll, st->listen_fd);
	st->listen_poll.data = d;
	st->listen_on = 1;
	uv_poll_start(&st->listen_poll, UV_READABLE, on_accept);
	uv_poll_init(loop, &st->tcp_poll, st->tcp_fd);
	st->tcp_poll.data = d;
	st->tcp_on = 1;
	uv_poll_start(&st->tcp_poll, UV_WRITABLE, on_connected);
	return 0;
}

void dns_selftest_tcp_stop(struct dns_obs *d)
{
	struct dns_selftest *st = &d->st;

	/* Each poll handle is closed before its socket (libuv's rule). */
	if (st->listen_on)
		dns_obs_close(d, (uv_handle_t *)&st->listen_poll);
	if (st->conn_on)
		dns_obs_close(d, (uv_handle_t *)&st->conn_poll);
	if (st->tcp_on)
		dns_obs_close(d, (uv_handle_t *)&st->tcp_poll);
	st->listen_on = st->conn_on = st->tcp_on = 0;
	if (st->listen_fd >= 0)
		close(st->listen_fd);
	if (st->conn_fd >= 0)
		close(st->conn_fd);
	if (st->tcp_fd >= 0)
		close(st->tcp_fd);
	st->listen_fd = st->conn_fd = st->tcp_fd = -1;
}
