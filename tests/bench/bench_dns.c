/* bench_dns: DNS lookups over loopback UDP, as a client sees them.
 *
 * A responder thread bound to ADDR:PORT answers every query at once (the query with QR
 * and RA set and one A record appended), so the server costs next to nothing and what is
 * measured is the path through the kernel (and the DNS observer's programs, when a sensor
 * runs). The client side, in the main thread, runs in one of two modes:
 *
 *   bench_dns latency ADDR PORT SECONDS [external]
 *	one lookup at a time, back to back: prints lookups/s and the latency (mean, p50,
 *	p99) of each lookup as the client sees it. BPF run-time statistics are on while
 *	it runs (BPF_ENABLE_STATS, held by this process), so the time the programs on the
 *	lookup's path took can be read from them afterwards. "external": no responder of
 *	ours, a real server already answers on ADDR:PORT (for bench.test.tapio A);
 *   bench_dns rate ADDR PORT SECONDS RATE
 *	queries paced at RATE/s (a batch every millisecond), answers drained by a second
 *	thread: prints queries sent, answers received and the rate achieved;
 *   bench_dns decode LOOKUPS
 *	no kernel: the observer's user-space half on synthetic records (a query, then its
 *	response with a CNAME and an A record), through pairing, parsing, enrichment and
 *	the hub with one subscriber drained in batches of 1000: prints ns per lookup.
 *
 * Queries are for bench.test.tapio A with the id counting up. Figures only, no verdict.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "core/observer.h"
#include "core/sensor.h"
#include "dns.h"
#include "enrich/enrich.h"
#include "hub/hub.h"
#include "observers/dns/dns_decode.h"
#include "observers/dns/dns_wire.h"

extern const struct observer_ops dns_observer;

static const uint8_t question[] = {5, 'b', 'e', 'n', 'c', 'h', 4, 't', 'e', 's', 't',
				   5, 't', 'a', 'p', 'i', 'o', 0, 0,   1,   0,	 1};
static const uint8_t answer[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 9};

static atomic_int stop;
static atomic_ullong answered;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static size_t build_query(uint8_t *q, uint16_t id)
{
	memset(q, 0, 12);
	q[0] = (uint8_t)(id >> 8);
	q[1] = (uint8_t)id;
	q[2] = 0x01; /* RD */
	q[5] = 1;
	memcpy(q + 12, question, sizeof(question));
	return 12 + sizeof(question);
}

static void *responder(void *arg)
{
	int fd = *(int *)arg;
	uint8_t buf[512];

	while (!atomic_load(&stop)) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf) - sizeof(answer), 0,
				     (struct sockaddr *)&from, &flen);

		if (n < 12)
			continue; /* timeout tick (SO_RCVTIMEO) or junk */
		buf[2] |= 0x80;
		buf[3] = 0x80;
		buf[7] = 1;
		memcpy(buf + n, answer, sizeof(answer));
		sendto(fd, buf, (size_t)n + sizeof(answer), 0, (struct sockaddr *)&from, flen);
	}
	return NULL;
}

static int udp_socket(int timeout_ms)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), big = 4 << 20;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	return fd;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int run_latency(int fd, double seconds)
{
	size_t cap = 1 << 22, n = 0, lost = 0;
	uint64_t *lat = malloc(cap * sizeof(*lat)), end, sum = 0;
	uint8_t q[64], r[512];
	uint16_t id = 0;

	if (!lat)
		return 1;
	end = now_ns() + (uint64_t)(seconds * 1e9);
	while (n < cap) {
		size_t len = build_query(q, ++id);
		uint64_t t0 = now_ns();
		ssize_t got;

		if (t0 >= end)
			break;
		if (send(fd, q, len, 0) < 0)
			return perror("send"), 1;
		do
			got = recv(fd, r, sizeof(r), 0);
		while (got >= 2 && (r[0] << 8 | r[1]) != id);
		if (got < 0) {
			lost++;
			continue;
		}
		lat[n] = now_ns() - t0;
		sum += lat[n++];
	}
	if (!n)
		return fprintf(stderr, "no answer\n"), 1;
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("lookups %zu (%.0f/s), latency mean %.2f us, p50 %.2f us, p99 %.2f us, "
	       "unanswered %zu\n",
	       n, n / seconds, sum / 1e3 / n, lat[n / 2] / 1e3, lat[n * 99 / 100] / 1e3, lost);
	free(lat);
	return 0;
}

static void *drain(void *arg)
{
	int fd = *(int *)arg;
	uint8_t r[512];

	while (!atomic_load(&stop))
		if (recv(fd, r, sizeof(r), 0) > 0)
			atomic_fetch_add(&answered, 1);
	return NULL;
}

static int run_rate(int fd, double seconds, double rate)
{
	uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9), sent = 0;
	uint8_t q[64];
	pthread_t th;

	pthread_create(&th, NULL, drain, &fd);
	for (uint64_t t = start; t < end; t = now_ns()) {
		uint64_t due = (uint64_t)((t - start) / 1e9 * rate);
		struct timespec pause = {0, 1000000};

		while (sent < due) {
			size_t len = build_query(q, (uint16_t)++sent);

			if (send(fd, q, len, 0) < 0 && errno != EAGAIN && errno != ENOBUFS)
				return perror("send"), 1;
		}
		nanosleep(&pause, NULL);
	}
	usleep(200000); /* the last answers */
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	printf("rate %.0f/s: sent %llu, answered %llu (%.0f lookups/s)\n", rate,
	       (unsigned long long)sent, (unsigned long long)atomic_load(&answered),
	       atomic_load(&answered) / seconds);
	return 0;
}

static void on_ready(void *ctx)
{
	(void)ctx;
}

/* A query record for bench.test.tapio A and its response record (CNAME to
 * web.test.tapio, then its A), as the kernel side would send them. */
static void make_records(struct dns_record *q, struct dns_record *r)
{
	/* Offsets: the question's name at 12 (its "test.tapio" at 18), the CNAME record
	 * at 34, its target web.test.tapio at 46. */
	static const uint8_t cname[] = {0xc0, 0x0c, 0, 5, 0,   1,   0,	 0,    0,
					60,   0,    6, 3, 'w', 'e', 'b', 0xc0, 0x12};
	static const uint8_t a[] = {0xc0, 0x2e, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 5};
	size_t n;

	memset(q, 0, sizeof(*q));
	q->h.type = TP_EV_DNS_QUERY;
	q->h.pid = q->h.tid = 4242;
	q->h.cgroup_id = 777;
	strcpy(q->h.comm, "bench");
	q->family = AF_INET;
	q->proto = IPPROTO_UDP;
	q->direction = DNS_DIR_QUERY;
	q->server_port = 53;
	inet_pton(AF_INET, "127.0.0.1", q->client);
	inet_pton(AF_INET, "127.0.0.53", q->server);
	n = build_query(q->data, 0);
	q->caplen = q->wirelen = (uint16_t)n;
	*r = *q;
	r->h.type = TP_EV_DNS_RESPONSE;
	r->direction = DNS_DIR_RESPONSE;
	r->data[2] |= 0x80;
	r->data[3] = 0x80;
	r->data[7] = 2;
	memcpy(r->data + n, cname, sizeof(cname));
	memcpy(r->data + n + sizeof(cname), a, sizeof(a));
	r->caplen = r->wirelen = (uint16_t)(n + sizeof(cname) + sizeof(a));
}

static int run_decode(long lookups)
{
	static struct sensor s;
	static struct dns_record q, r;
	static struct dnsw_msg msg;
	struct config cfg;
	struct observer *o = &s.observers[0];
	struct subscriber *sub;
	struct dnsd *dec;
	uint64_t t0, t1, bytes = 0;
	size_t len;

	config_init(&cfg);
	s.cfg = &cfg;
	s.enrich = enrich_new(cfg.proc_cache_size, "/nonexistent-root");
	s.hub = hub_new("bench", "bench-node", 0);
	o->ops = &dns_observer;
	o->sensor = &s;
	sub = hub_subscribe(s.hub, &(struct subscriber_options){.filters = NULL,
								.queue_size = 65536,
								.ready = on_ready});
	dec = dnsd_new(o, DNS_INFLIGHT_ENTRIES, 5000000000ULL);
	if (!dec)
		return perror("dnsd_new"), 1;
	make_records(&q, &r);
	if (dnsw_parse(r.data, r.caplen, r.wirelen, &msg) != DNSW_OK || msg.nanswers != 2 ||
	    strcmp(msg.answers[1].name, "web.test.tapio"))
		return fprintf(stderr, "decode: the synthetic response does not parse\n"), 1;
	t0 = now_ns();
	for (long i = 0; i < lookups; i++) {
		q.data[0] = r.data[0] = (uint8_t)(i >> 8);
		q.data[1] = r.data[1] = (uint8_t)i;
		q.client_port = r.client_port = (uint16_t)(1024 + i / 65536 % 60000);
		q.h.ts_ns = (uint64_t)i * 1000;
		r.h.ts_ns = q.h.ts_ns + 500;
		dnsd_record(dec, &q, DNS_RECORD_FIXED + q.caplen);
		dnsd_record(dec, &r, DNS_RECORD_FIXED + r.caplen);
		if (subscriber_queued(sub) >= 1000) {
			free(subscriber_take(sub, 1000, &len));
			bytes += len;
		}
	}
	t1 = now_ns();
	printf("decode: %ld lookups (query + response, CNAME + A): %.0f ns per lookup, "
	       "%.0f lookups/s on one core, %.0f bytes per lookup on the wire\n",
	       lookups, (double)(t1 - t0) / (double)lookups,
	       (double)lookups * 1e9 / (double)(t1 - t0), (double)bytes / (double)lookups);
	dnsd_free(dec);
	hub_free(s.hub);
	enrich_free(s.enrich);
	config_free(&cfg);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int sfd = -1, cfd, rc, external;
	pthread_t th;
	double seconds;

	if (argc == 3 && !strcmp(argv[1], "decode"))
		return run_decode(atol(argv[2]));
	external = argc == 6 && !strcmp(argv[1], "latency") && !strcmp(argv[5], "external");
	if (argc < 5 || (strcmp(argv[1], "latency") && strcmp(argv[1], "rate")) ||
	    (!strcmp(argv[1], "rate") && argc < 6)) {
		fprintf(stderr, "usage: bench_dns latency ADDR PORT SECONDS [external]\n"
				"       bench_dns rate ADDR PORT SECONDS RATE\n"
				"       bench_dns decode LOOKUPS\n");
		return 2;
	}
	seconds = atof(argv[4]);
	a.sin_port = htons((uint16_t)atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &a.sin_addr) != 1)
		return fprintf(stderr, "bad address %s\n", argv[2]), 2;
	if (!external) {
		sfd = udp_socket(100);
		if (sfd < 0 || bind(sfd, (struct sockaddr *)&a, sizeof(a)) < 0)
			return perror("responder socket"), 1;
		pthread_create(&th, NULL, responder, &sfd);
	}
	cfd = udp_socket(1000);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return perror("client socket"), 1;
	if (!strcmp(argv[1], "latency")) {
		int stats = bpf_enable_stats(BPF_STATS_RUN_TIME); /* off again when we exit */

		rc = run_latency(cfd, seconds);
		if (stats >= 0)
			close(stats);
	} else
		rc = run_rate(cfd, seconds, atof(argv[5]));
	atomic_store(&stop, 1);
	if (!external) {
		pthread_join(th, NULL);
		close(sfd);
	}
	close(cfd);
	return rc;
}
