/* net_selftest.c - see net_selftest.h. */
#define _GNU_SOURCE /* accept4 */
#include "observers/network/net_selftest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/selftest.h"
#include "core/sensor.h"

enum { V_CLIENT, V_SERVER, V_CLOSED, V_SEEN, V_UDP_CLIENT, V_UDP_SERVER };

#define SEEN_CONNECT 0x01
#define SEEN_ACCEPT 0x02
#define SEEN_CLOSE 0x04
#define SEEN_HTTP_CLIENT 0x08
#define SEEN_HTTP_SERVER 0x10
#define SEEN_RESET 0x20
#define SEEN_DROP 0x40
#define SEEN_UDP_CLIENT 0x80
#define SEEN_UDP_SERVER 0x100
#define SEEN_ALL 0x1ff

/* The UDP exchange: requests of one size out, replies of another back. */
#define UDP_REQUESTS 3
#define UDP_REQUEST_BYTES 100
#define UDP_REPLIES 2
#define UDP_REPLY_BYTES 40

static const char request[] = "GET /tapio-selftest?x=1 HTTP/1.1\r\nHost: tapio-selftest\r\n\r\n";
static const char response[] = "HTTP/1.1 204 No Content\r\nServer: tapio\r\n\r\n";

static int loopback_socket(uint16_t port, struct sockaddr_in *a)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static uint16_t local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t n = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &n) < 0)
		return 0;
	return ntohs(a.sin_port);
}

/* Writes all of s, then reads exactly as many bytes on the other socket. */
static int transfer(int from, int to, const char *s, size_t n)
{
	char buf[256];
	size_t got = 0;

	if (write(from, s, n) != (ssize_t)n)
		return -1;
	while (got < n) {
		ssize_t k = read(to, buf, sizeof(buf));

		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

/* The HTTP exchange over a fresh connection. Returns 0 or -1 (errno set). */
static int exchange(struct selftest_case *c)
{
	struct sockaddr_in a;
	int l = loopback_socket(0, &a), cl = -1, srv = -1, rc = -1;

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 4) < 0)
		goto out;
	c->v[V_SERVER] = local_port(l);
	cl = loopback_socket((uint16_t)c->v[V_SERVER], &a);
	if (cl < 0 || connect(cl, (struct sockaddr *)&a, sizeof(a)) < 0)
		goto out;
	c->v[V_CLIENT] = local_port(cl);
	srv = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (srv < 0 || transfer(cl, srv, request, sizeof(request) - 1) < 0 ||
	    transfer(srv, cl, response, sizeof(response) - 1) < 0)
		goto out;
	rc = 0;
out:
	if (cl >= 0)
		close(cl);
	if (srv >= 0)
		close(srv);
	if (l >= 0)
		close(l);
	return rc;
}

/* A connect to a port just released: refused with a reset, the SYN dropped. */
static int refused(struct selftest_case *c)
{
	struct sockaddr_in a;
	int s = loopback_socket(0, &a), rc;

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (s >= 0)
			close(s);
		return -1;
	}
	c->v[V_CLOSED] = local_port(s);
	close(s);
	s = loopback_socket((uint16_t)c->v[V_CLOSED], &a);
	if (s < 0)
		return -1;
	rc = connect(s, (struct sockaddr *)&a, sizeof(a));
	close(s);
	if (rc == 0 || errno != ECONNREFUSED)
		return errno = rc == 0 ? EADDRINUSE : errno, -1;
	return 0;
}

static int udp_socket(struct sockaddr_in *a)
{
	socklen_t n = sizeof(*a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && (bind(fd, (struct sockaddr *)a, sizeof(*a)) < 0 ||
			getsockname(fd, (struct sockaddr *)a, &n) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* n datagrams of `size` bytes from one socket to the other, each read at once: loopback
 * delivers within sendto(), and nothing here may block the loop. */
static int udp_send(int from, int to, const struct sockaddr_in *dst, int n, size_t size)
{
	char buf[UDP_REQUEST_BYTES];

	memset(buf, 'u', sizeof(buf));
	for (int i = 0; i < n; i++)
		if (sendto(from, buf, size, 0, (const struct sockaddr *)dst, sizeof(*dst)) !=
			    (ssize_t)size ||
		    recv(to, buf, sizeof(buf), MSG_DONTWAIT) != (ssize_t)size)
			return -1;
	return 0;
}

/* Requests and replies between two UDP sockets, both closed after: each has one flow. */
static int udp_exchange(struct selftest_case *c)
{
	struct sockaddr_in ca, sa;
	int cl = udp_socket(&ca), sv = udp_socket(&sa), rc = -1;

	if (cl >= 0 && sv >= 0) {
		c->v[V_UDP_CLIENT] = ntohs(ca.sin_port);
		c->v[V_UDP_SERVER] = ntohs(sa.sin_port);
		if (udp_send(cl, sv, &sa, UDP_REQUESTS, UDP_REQUEST_BYTES) == 0 &&
		    udp_send(sv, cl, &ca, UDP_REPLIES, UDP_REPLY_BYTES) == 0)
			rc = 0;
	}
	if (cl >= 0)
		close(cl);
	if (sv >= 0)
		close(sv);
	return rc;
}

/* Refused connects again every second until the case is done. A perf buffer (the
 * fallback before 5.8) has been seen to leave samples unannounced until the next one
 * arrives: fresh samples make what is waiting readable. */
static uv_timer_t nudge;
static int nudge_open;

static void on_nudge(uv_timer_t *t)
{
	struct selftest_case *c = t->data;
	struct sockaddr_in a;
	int s;

	if (c->done) {
		uv_timer_stop(t);
		return;
	}
	s = loopback_socket((uint16_t)c->v[V_CLOSED], &a);
	if (s < 0)
		return;
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
		selftest_fail(c, "port %llu was closed, then accepted a connection",
			      (unsigned long long)c->v[V_CLOSED]);
	close(s);
}

void net_selftest_start(struct observer *o, struct selftest_case *c)
{
	if (exchange(c) < 0)
		return selftest_fail(c, "loopback HTTP exchange: %s", strerror(errno));
	if (refused(c) < 0)
		return selftest_fail(c, "connect to a closed port: %s", strerror(errno));
	if (udp_exchange(c) < 0)
		return selftest_fail(c, "loopback UDP exchange: %s", strerror(errno));
	if (uv_timer_init(&o->sensor->loop, &nudge) == 0) {
		nudge_open = 1;
		nudge.data = c;
		uv_timer_start(&nudge, on_nudge, 1000, 1000);
	}
}

void net_selftest_stop(void)
{
	if (nudge_open && !uv_is_closing((uv_handle_t *)&nudge))
		uv_close((uv_handle_t *)&nudge, NULL);
	nudge_open = 0;
}

static int is_loopback(const Tapio__Sensor__V1__Endpoint *e)
{
	return e && !strcmp(e->ip, "127.0.0.1");
}

static int ports(const Tapio__Sensor__V1__Endpoint *l, const Tapio__Sensor__V1__Endpoint *r,
		 uint64_t lport, uint64_t rport)
{
	return is_loopback(l) && is_loopback(r) && l->port == lport && r->port == rport;
}

static int mine(const pb_event *ev)
{
	return ev->process && ev->process->pid == (uint32_t)getpid();
}

static unsigned check_conn(struct selftest_case *c, const pb_event *ev)
{
	const Tapio__Sensor__V1__TcpConnection *t = ev->tcp_connection;
	uint64_t cl = c->v[V_CLIENT], sv = c->v[V_SERVER];

	if (ev->type == PB_TYPE(NETWORK_CONNECT) && ports(t->local, t->remote, cl, sv))
		return mine(ev) && t->owner_known
			       ? SEEN_CONNECT
			       : (selftest_fail(c, "connect: pid %u", ev->process->pid), 0);
	if (ev->type == PB_TYPE(NETWORK_ACCEPT) && ports(t->local, t->remote, sv, cl))
		return mine(ev) ? SEEN_ACCEPT
				: (selftest_fail(c, "accept: pid %u", ev->process->pid), 0);
	if (ev->type != PB_TYPE(NETWORK_CLOSE) || !ports(t->local, t->remote, cl, sv))
		return 0;
	if (!mine(ev) || t->bytes_sent != sizeof(request) - 1 ||
	    t->bytes_received != sizeof(response) - 1 || t->duration_ns == 0)
		return selftest_fail(c,
				     "close: pid %u, sent %llu (expected %zu), received %llu "
				     "(expected %zu), duration %llu",
				     ev->process->pid, (unsigned long long)t->bytes_sent,
				     sizeof(request) - 1, (unsigned long long)t->bytes_received,
				     sizeof(response) - 1, (unsigned long long)t->duration_ns),
		       0;
	return SEEN_CLOSE;
}

static unsigned check_http(struct selftest_case *c, const pb_event *ev)
{
	const Tapio__Sensor__V1__HttpRequest *h = ev->http;
	int client = h->role == TAPIO__SENSOR__V1__L7_ROLE__L7_ROLE_CLIENT;
	uint64_t lport = client ? c->v[V_CLIENT] : c->v[V_SERVER];
	uint64_t rport = client ? c->v[V_SERVER] : c->v[V_CLIENT];

	if (!ports(h->local, h->remote, lport, rport))
		return 0;
	if (!mine(ev) || strcmp(h->method, "GET") || strcmp(h->path, "/tapio-selftest?x=1") ||
	    strcmp(h->host, "tapio-selftest") || h->status != 204 ||
	    h->request_bytes != sizeof(request) - 1 || h->response_bytes != sizeof(response) - 1)
		return selftest_fail(c, "http (%s): %s %s host %s status %u sizes %llu/%llu",
				     client ? "client" : "server", h->method, h->path, h->host,
				     h->status, (unsigned long long)h->request_bytes,
				     (unsigned long long)h->response_bytes),
		       0;
	return client ? SEEN_HTTP_CLIENT : SEEN_HTTP_SERVER;
}

static unsigned check_refused(struct selftest_case *c, const pb_event *ev)
{
	if (ev->payload_case == PB_PAYLOAD(TCP_RESET)) {
		const Tapio__Sensor__V1__TcpReset *r = ev->tcp_reset;

		if (r->origin != TAPIO__SENSOR__V1__RESET_ORIGIN__RESET_ORIGIN_RECEIVED ||
		    !is_loopback(r->remote) || r->remote->port != c->v[V_CLOSED])
			return 0;
		if (!mine(ev) || r->state != TAPIO__SENSOR__V1__TCP_STATE__TCP_STATE_SYN_SENT)
			return selftest_fail(c, "reset received: pid %u state %d", ev->process->pid,
					     r->state),
			       0;
		return SEEN_RESET;
	}
	if (ev->payload_case == PB_PAYLOAD(PACKET_DROP)) {
		const Tapio__Sensor__V1__PacketDrop *d = ev->packet_drop;

		if (d->ip_protocol != IPPROTO_TCP || !is_loopback(d->destination) ||
		    d->destination->port != c->v[V_CLOSED])
			return 0;
		if (d->reason_available && strcmp(d->reason, "NO_SOCKET"))
			return selftest_fail(c, "drop of the SYN: reason %s (%u)", d->reason,
					     d->reason_code),
			       0;
		return SEEN_DROP;
	}
	return 0;
}

/* The inode of this process's network namespace: what the kernel side reads from the
 * socket through CO-RE. */
static uint64_t own_netns(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) == 0 ? st.st_ino : 0;
}

/* The final summary of one side's flow: exact datagrams and bytes both ways, and the
 * socket's network namespace. */
static unsigned check_udp(struct selftest_case *c, const pb_event *ev)
{
	const Tapio__Sensor__V1__UdpFlow *u = ev->udp_flow;
	uint64_t cl = c->v[V_UDP_CLIENT], sv = c->v[V_UDP_SERVER];
	int client = ports(u->local, u->remote, cl, sv);
	uint64_t out = client ? UDP_REQUESTS : UDP_REPLIES,
		 in = client ? UDP_REPLIES : UDP_REQUESTS;
	uint64_t out_size = client ? UDP_REQUEST_BYTES : UDP_REPLY_BYTES;
	uint64_t in_size = client ? UDP_REPLY_BYTES : UDP_REQUEST_BYTES;

	if (!client && !ports(u->local, u->remote, sv, cl))
		return 0;
	if (u->report != TAPIO__SENSOR__V1__UDP_FLOW_REPORT__UDP_FLOW_REPORT_CLOSED)
		return 0;
	if (!mine(ev) || !u->owner_known || u->netns != own_netns() || u->packets_sent != out ||
	    u->bytes_sent != out * out_size || u->packets_received != in ||
	    u->bytes_received != in * in_size)
		return selftest_fail(c,
				     "udp %s: pid %u, netns %u (expected %llu), sent %llu/%llu "
				     "bytes, received %llu/%llu (expected %llu/%llu, %llu/%llu)",
				     client ? "client" : "server",
				     ev->process ? ev->process->pid : 0, u->netns,
				     (unsigned long long)own_netns(),
				     (unsigned long long)u->packets_sent,
				     (unsigned long long)u->bytes_sent,
				     (unsigned long long)u->packets_received,
				     (unsigned long long)u->bytes_received, (unsigned long long)out,
				     (unsigned long long)(out * out_size), (unsigned long long)in,
				     (unsigned long long)(in * in_size)),
		       0;
	return client ? SEEN_UDP_CLIENT : SEEN_UDP_SERVER;
}

/* What is still missing, shown if the case times out. */
static void progress(struct selftest_case *c)
{
	static const char *const names[] = {"connect",	   "accept",	  "close",
					    "http client", "http server", "reset",
					    "drop",	   "udp client",  "udp server"};
	size_t n = 0;

	n += (size_t)snprintf(c->detail, sizeof(c->detail), "still missing:");
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]) && n < sizeof(c->detail); i++)
		if (!(c->v[V_SEEN] & (1u << i)))
			n += (size_t)snprintf(c->detail + n, sizeof(c->detail) - n, " %s",
					      names[i]);
}

void net_selftest_event(struct observer *o, struct selftest_case *c, const pb_event *ev)
{
	unsigned seen = 0;

	if (ev->observer != PB_OBSERVER(NETWORK) || !c->v[V_CLIENT])
		return;
	if (ev->payload_case == PB_PAYLOAD(TCP_CONNECTION))
		seen = check_conn(c, ev);
	else if (ev->payload_case == PB_PAYLOAD(HTTP))
		seen = check_http(c, ev);
	else if (ev->payload_case == PB_PAYLOAD(UDP_FLOW))
		seen = check_udp(c, ev);
	else
		seen = check_refused(c, ev);
	c->v[V_SEEN] |= seen;
	if (seen && !c->done)
		progress(c);
	if (c->v[V_SEEN] == SEEN_ALL)
		selftest_pass(c,
			      "connect, accept, close (bytes %zu/%zu), HTTP GET 204 both sides, "
			      "reset and dropped SYN on refused port %llu, UDP flows both sides "
			      "(%d x %d bytes out, %d x %d back)",
			      sizeof(request) - 1, sizeof(response) - 1,
			      (unsigned long long)c->v[V_CLOSED], UDP_REQUESTS, UDP_REQUEST_BYTES,
			      UDP_REPLIES, UDP_REPLY_BYTES);
}
