/* dns_selftest.c - the DNS observer's --self-test case: real lookups, made by the sensor
 * itself, checked end to end.
 *
 * It must run in a bare guest (no resolver, no DNS server, only loopback) and on a node
 * whose own DNS server may hold port 53. Servers of ours listen on an unused loopback
 * address (127.84.83.53) on the first --dns-ports port, or, when a server of the node
 * holds that port on every address, on a free port that the observer then watches for
 * the test. A UDP socket of ours asks for tapio-selftest.invalid (a reserved name, RFC
 * 6761) and our UDP server answers 20 ms later; a TCP connection of ours asks the same of
 * our listener (observers/dns/dns_selftest_tcp.c). For each lookup the kernel's record of the
 * query is checked against the truth (pid, tid, process name, cgroup and network
 * namespace, read through CO-RE), and the events for the decoding and the pairing
 * (name, type, addresses, transport, answer, latency).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/sensor.h"
#include "enrich/procfs.h"
#include "observers/dns/dns_obs.h"
#include "observers/dns/dns_wire.h"

#define ST_SERVER "127.84.83.53" /* loopback, and no resolver's usual address */
#define ST_NAME "tapio-selftest.invalid"
#define ST_ANSWER "192.0.2.53" /* TEST-NET-1 */
#define ST_TTL 42
#define ST_DELAY_MS 20
#define ST_LATENCY_MAX_NS 10000000000ULL

#define SEEN_QUERY 1
#define SEEN_RESPONSE 2
#define SEEN_BOTH (SEEN_QUERY | SEEN_RESPONSE)

const uint8_t dns_st_answer[DNS_ST_ANSWER_LEN] = {0xc0, 0x0c,	0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
						  0x00, ST_TTL, 0x00, 0x04, 192,  0,	2,    53};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Header, then the question ST_NAME A IN. Returns the length, 0 on failure. */
static uint32_t build_query(uint8_t *q, size_t cap, uint16_t id)
{
	uint8_t name[DNSW_WIRE_NAME_MAX];
	size_t nlen;

	if (dnsw_name_encode(ST_NAME, name, &nlen) != DNSW_OK || 12 + nlen + 4 > cap)
		return 0;
	memset(q, 0, 12);
	put16(q, id);
	put16(q + 2, 0x0100); /* RD */
	put16(q + 4, 1);
	memcpy(q + 12, name, nlen);
	put16(q + 12 + nlen, DNSW_TYPE_A);
	put16(q + 14 + nlen, 1);
	return (uint32_t)(12 + nlen + 4);
}

/* Our UDP server's answer, ST_DELAY_MS after the query came in. */
static void on_delay(uv_timer_t *t)
{
	struct dns_obs *d = t->data;
	struct dns_selftest *st = &d->st;
	uint8_t answer[sizeof(st->query) + DNS_ST_ANSWER_LEN];

	memcpy(answer, st->query, st->query_len);
	put16(answer, st->udp.id);
	put16(answer + 2, 0x8180); /* QR, RD, RA */
	put16(answer + 6, 1);	   /* one answer */
	memcpy(answer + st->query_len, dns_st_answer, DNS_ST_ANSWER_LEN);
	st->answer_sent_ns = sensor_mono_ns(); /* before: the kernel's stamp comes later */
	if (sendto(st->server_fd, answer, st->query_len + DNS_ST_ANSWER_LEN, 0,
		   (struct sockaddr *)&st->peer, sizeof(struct sockaddr_in)) < 0)
		selftest_fail(&d->o->self_test, "dns UDP: sending the answer: %s", strerror(errno));
}

static void on_query(uv_poll_t *h, int status, int events)
{
	struct dns_obs *d = h->data;
	struct dns_selftest *st = &d->st;
	uint8_t buf[512];
	socklen_t plen = sizeof(st->peer);

	if (recvfrom(st->server_fd, buf, sizeof(buf), 0, (struct sockaddr *)&st->peer, &plen) < 0)
		return;
	uv_poll_stop(h);
	uv_timer_init(&d->o->sensor->loop, &st->delay);
	st->delay.data = d;
	st->delay_on = 1;
	uv_update_time(&d->o->sensor->loop); /* the delay counts from now, not the loop's start */
	uv_timer_start(&st->delay, on_delay, ST_DELAY_MS, 0);
}

static int bind_at(int type, uint16_t port, uint16_t *bound)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err;

	inet_pton(AF_INET, ST_SERVER, &a.sin_addr);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &alen) == 0 &&
	    (type != SOCK_STREAM || listen(fd, 1) == 0)) {
		*bound = ntohs(a.sin_port);
		return fd;
	}
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* Both servers on port (0: a free one, the UDP one's). 0 or -1 with errno. */
static int bind_servers(struct dns_selftest *st, uint16_t port)
{
	uint16_t got;

	st->server_fd = bind_at(SOCK_DGRAM, port, &got);
	if (st->server_fd < 0)
		return -1;
	st->listen_fd = bind_at(SOCK_STREAM, got, &got);
	if (st->listen_fd < 0) {
		close(st->server_fd);
		st->server_fd = -1;
		return -1;
	}
	st->server_port = got;
	return 0;
}

uint16_t dns_selftest_bind(struct dns_obs *d, uint16_t preferred)
{
	struct dns_selftest *st = &d->st;

	if (bind_servers(st, preferred) == 0)
		return st->server_port;
	if (errno != EADDRINUSE)
		goto fail;
	st->taken_port = preferred;
	/* A free UDP port may be taken for TCP: a few tries. */
	for (int i = 0; i < 8; i++)
		if (bind_servers(st, 0) == 0)
			return st->server_port;
fail:
	snprintf(st->error, sizeof(st->error), "binding our servers at " ST_SERVER ": %s",
		 strerror(errno));
	return 0;
}

static int start_udp(struct dns_obs *d)
{
	struct dns_selftest *st = &d->st;
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);

	uv_poll_init(&d->o->sensor->loop, &st->server_poll, st->server_fd);
	st->server_poll.data = d;
	st->server_on = 1;
	uv_poll_start(&st->server_poll, UV_READABLE, on_query);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	st->udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (st->udp_fd < 0 || bind(st->udp_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(st->udp_fd, (struct sockaddr *)&a, &alen) < 0)
		return -1;
	st->udp.client_port = ntohs(a.sin_port);
	a.sin_port = htons(st->server_port);
	inet_pton(AF_INET, ST_SERVER, &a.sin_addr);
	put16(st->query, st->udp.id);
	if (sendto(st->udp_fd, st->query, st->query_len, 0, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	st->query_sent_ns = sensor_mono_ns(); /* after: the kernel's stamp came earlier */
	return 0;
}

void dns_selftest_start(struct observer *o, struct selftest_case *c)
{
	struct dns_obs *d = o->priv;
	struct dns_selftest *st = &d->st;

	if (st->error[0])
		return selftest_fail(c, "dns: %s", st->error);
	if (getrandom(&st->udp.id, sizeof(st->udp.id), GRND_NONBLOCK) != sizeof(st->udp.id))
		st->udp.id = (uint16_t)time(NULL);
	st->tcp.id = st->udp.id ^ 0x8000;
	st->query_len = build_query(st->query, sizeof(st->query), st->udp.id);
	if (!st->query_len)
		return selftest_fail(c, "dns: cannot build the query");
	if (start_udp(d) < 0)
		return selftest_fail(c, "dns: UDP lookup: %s", strerror(errno));
	if (dns_selftest_tcp_start(d, ST_SERVER) < 0)
		return selftest_fail(c, "dns: TCP lookup: %s", strerror(errno));
}

static struct dns_st_lookup *lookup_of(struct dns_selftest *st, int proto, uint16_t id,
				       uint16_t client_port)
{
	if (proto == IPPROTO_UDP && id == st->udp.id && client_port == st->udp.client_port)
		return &st->udp;
	if (proto == IPPROTO_TCP && id == st->tcp.id && client_port == st->tcp.client_port &&
	    st->tcp.client_port)
		return &st->tcp;
	return NULL;
}

void dns_selftest_record(struct dns_obs *d, const struct dns_record *r, size_t len)
{
	struct dns_st_lookup *l;

	if (r->direction != DNS_DIR_QUERY || len < DNS_RECORD_FIXED + 2)
		return;
	l = lookup_of(&d->st, r->proto, (uint16_t)(r->data[0] << 8 | r->data[1]), r->client_port);
	if (!l)
		return;
	l->have_record = 1;
	l->h = r->h;
	l->netns = r->netns;
}

static uint64_t own_cgroup_id(void)
{
	char line[512], mount[256];
	uint64_t id = 0;
	FILE *f;

	if (procfs_unified_mount("/", mount, sizeof(mount)) < 0)
		return 0;
	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return 0;
	while (!id && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = 0;
		id = procfs_cgroup_id(mount, line + 3);
	}
	fclose(f);
	return id;
}

static void own_comm(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/comm", "re");

	out[0] = 0;
	if (f && fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = 0;
	if (f)
		fclose(f);
}

/* What the kernel read through CO-RE for a query, against the truth: the loop thread
 * (the main thread) sent both. */
static int check_kernel_reads(struct selftest_case *c, const char *what,
			      const struct dns_st_lookup *l)
{
	char comm[32];
	struct stat ns;
	uint64_t cg = own_cgroup_id();

	own_comm(comm, sizeof(comm));
	if (!l->have_record)
		return selftest_fail(c, "dns %s: query event without its kernel record", what), -1;
	if (l->h.pid != (uint32_t)getpid() || l->h.tid != (uint32_t)gettid())
		return selftest_fail(c, "dns %s: query pid/tid %u/%u, expected %d/%d", what,
				     l->h.pid, l->h.tid, getpid(), gettid()),
		       -1;
	if (strncmp(l->h.comm, comm, sizeof(l->h.comm) - 1))
		return selftest_fail(c, "dns %s: query comm \"%.16s\", expected \"%s\"", what,
				     l->h.comm, comm),
		       -1;
	if (cg && l->h.cgroup_id != cg)
		return selftest_fail(c, "dns %s: query cgroup id %llu, expected %llu", what,
				     (unsigned long long)l->h.cgroup_id, (unsigned long long)cg),
		       -1;
	if (stat("/proc/self/ns/net", &ns) == 0 && l->netns != ns.st_ino)
		return selftest_fail(c, "dns %s: query netns %u, expected %llu", what, l->netns,
				     (unsigned long long)ns.st_ino),
		       -1;
	return 0;
}

static int check_common(struct selftest_case *c, const char *what, const struct dns_selftest *st,
			const pb_event *ev)
{
	const Tapio__Sensor__V1__DnsEvent *x = ev->dns;

	if (!ev->process || ev->process->pid != (uint32_t)getpid())
		return selftest_fail(c, "dns %s: event of pid %u, expected %d", what,
				     ev->process ? ev->process->pid : 0, getpid()),
		       -1;
	if (strcmp(x->query_name, ST_NAME) || x->query_type != DNSW_TYPE_A ||
	    strcmp(x->query_type_name, "A"))
		return selftest_fail(c, "dns %s: question %s %s, expected " ST_NAME " A", what,
				     x->query_name, x->query_type_name),
		       -1;
	if (strcmp(x->server_address, ST_SERVER) || x->server_port != st->server_port ||
	    strcmp(x->client_address, "127.0.0.1"))
		return selftest_fail(c, "dns %s: addresses %s:%u -> %s:%u", what, x->client_address,
				     x->client_port, x->server_address, x->server_port),
		       -1;
	return 0;
}

/* min_latency_ns: what the latency must at least be, from our own clock readings. */
static int check_response(struct selftest_case *c, const char *what,
			  const Tapio__Sensor__V1__DnsEvent *x, uint64_t min_latency_ns)
{
	const Tapio__Sensor__V1__DnsAnswer *a = x->n_answers == 1 ? x->answers[0] : NULL;

	if (x->unmatched)
		return selftest_fail(c, "dns %s: response not paired with its query", what), -1;
	if (x->rcode != 0 || strcmp(x->rcode_name, "NOERROR"))
		return selftest_fail(c, "dns %s: rcode %s", what, x->rcode_name), -1;
	if (!a || strcmp(a->name, ST_NAME) || a->type != DNSW_TYPE_A || a->ttl != ST_TTL ||
	    !a->address || strcmp(a->address, ST_ANSWER))
		return selftest_fail(c, "dns %s: answer %s, expected " ST_NAME " A " ST_ANSWER,
				     what, a && a->address ? a->address : "(none)"),
		       -1;
	if (x->latency_ns == 0 || x->latency_ns < min_latency_ns ||
	    x->latency_ns > ST_LATENCY_MAX_NS)
		return selftest_fail(c, "dns %s: latency %llu ns, expected at least %llu ns", what,
				     (unsigned long long)x->latency_ns,
				     (unsigned long long)min_latency_ns),
		       -1;
	return 0;
}

/* Checks one event of a lookup; returns 0 when it was right. */
static int check_event(struct selftest_case *c, struct dns_selftest *st, struct dns_st_lookup *l,
		       const pb_event *ev)
{
	int tcp = l == &st->tcp;
	const char *what = tcp ? "TCP" : "UDP";
	Tapio__Sensor__V1__DnsTransport transport =
		tcp ? TAPIO__SENSOR__V1__DNS_TRANSPORT__DNS_TRANSPORT_TCP
		    : TAPIO__SENSOR__V1__DNS_TRANSPORT__DNS_TRANSPORT_UDP;

	if (check_common(c, what, st, ev) < 0)
		return -1;
	if (ev->dns->transport != transport)
		return selftest_fail(c, "dns %s: transport %d", what, ev->dns->transport), -1;
	if (ev->type == PB_TYPE(DNS_QUERY)) {
		if (check_kernel_reads(c, what, l) < 0)
			return -1;
		l->seen |= SEEN_QUERY;
		return 0;
	}
	if (ev->type != PB_TYPE(DNS_RESPONSE))
		return selftest_fail(c, "dns %s: no response within the timeout", what), -1;
	/* UDP: the kernel stamped the query before query_sent_ns and the answer after
	 * answer_sent_ns (CLOCK_MONOTONIC both), so the latency is at least their gap. */
	if (check_response(c, what, ev->dns, tcp ? 0 : st->answer_sent_ns - st->query_sent_ns) < 0)
		return -1;
	l->seen |= SEEN_RESPONSE;
	l->latency_ns = ev->dns->latency_ns;
	return 0;
}

static void maybe_pass(struct selftest_case *c, const struct dns_selftest *st)
{
	char port[96] = "";

	if (st->udp.seen != SEEN_BOTH || st->tcp.seen != SEEN_BOTH)
		return;
	if (st->taken_port)
		snprintf(port, sizeof(port), " (port %u is taken here: watched %u for the test)",
			 st->taken_port, st->server_port);
	selftest_pass(c,
		      "UDP and TCP lookups of pid %d: pid, tid, comm, cgroup, netns, name, type, "
		      "answer, pairing, latency %.1f / %.1f ms checked%s",
		      getpid(), (double)st->udp.latency_ns / 1e6, (double)st->tcp.latency_ns / 1e6,
		      port);
}

void dns_selftest_event(struct observer *o, struct selftest_case *c, const pb_event *ev)
{
	struct dns_selftest *st = &((struct dns_obs *)o->priv)->st;
	struct dns_st_lookup *l;
	int proto;

	if (ev->observer != PB_OBSERVER(DNS) || ev->payload_case != PB_PAYLOAD(DNS))
		return;
	proto = ev->dns->transport == TAPIO__SENSOR__V1__DNS_TRANSPORT__DNS_TRANSPORT_TCP
			? IPPROTO_TCP
			: IPPROTO_UDP;
	l = lookup_of(st, proto, (uint16_t)ev->dns->id, (uint16_t)ev->dns->client_port);
	if (!l || check_event(c, st, l, ev) < 0)
		return;
	maybe_pass(c, st);
}

void dns_selftest_stop(struct dns_obs *d)
{
	struct dns_selftest *st = &d->st;

	/* Each poll handle is closed before its socket (libuv's rule). */
	if (st->server_on)
		dns_obs_close(d, (uv_handle_t *)&st->server_poll);
	if (st->delay_on)
		dns_obs_close(d, (uv_handle_t *)&st->delay);
	st->server_on = st->delay_on = 0;
	if (st->udp_fd >= 0)
		close(st->udp_fd);
	if (st->server_fd >= 0)
		close(st->server_fd);
	st->udp_fd = st->server_fd = -1;
	dns_selftest_tcp_stop(d);
}
