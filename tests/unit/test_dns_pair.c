/* test_dns_pair.c - the DNS query/response pairing table: matching and latency, unmatched
 * responses, timeouts reported once and in order, retransmissions, eviction when full, IPv4
 * and IPv6 keys, key fields that must keep queries apart, query names cut for storage, a
 * lookup that leaves the table alone, and a long random run checked against a plain
 * reference model. */
#include <criterion/criterion.h>

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "observers/dns/dns_pair.h"

#define MS 1000000ull
#define SEC 1000000000ull

static const uint8_t client4[4] = {10, 0, 0, 7};
static const uint8_t server4[4] = {10, 96, 0, 10};
static const uint8_t client6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
static const uint8_t server6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53};

static struct dnsp_key key4(uint16_t id, uint16_t client_port)
{
	struct dnsp_key k;

	dnsp_key_v4(&k, IPPROTO_UDP, id, client4, client_port, server4, 53);
	return k;
}

static struct dnsp_stats stats_of(const struct dnsp_table *t)
{
	struct dnsp_stats s;

	dnsp_get_stats(t, &s);
	return s;
}

static struct dnsp_info info_for(const char *qname, uint16_t qtype, uint32_t pid)
{
	struct dnsp_info i;

	memset(&i, 0, sizeof(i));
	i.qtype = qtype;
	i.pid = pid;
	i.cgroup_id = 1000 + pid;
	dnsp_info_set_qname(&i, qname);
	return i;
}

/* Collects what dnsp_expire reports. */
struct expired {
	unsigned n;
	struct dnsp_pending p[64];
	uint64_t age[64];
};

static void collect(const struct dnsp_pending *p, uint64_t age_ns, void *ctx)
{
	struct expired *e = ctx;

	cr_assert_lt(e->n, 64);
	e->p[e->n] = *p;
	e->age[e->n] = age_ns;
	e->n++;
}

Test(dns_pair, rejects_bad_capacity)
{
	cr_assert_null(dnsp_new(0));
	cr_assert_null(dnsp_new(DNSP_MAX_CAPACITY + 1));
	dnsp_free(NULL);
}

Test(dns_pair, match_gives_latency_and_info)
{
	struct dnsp_table *t = dnsp_new(DNSP_DEFAULT_CAPACITY);
	struct dnsp_key k = key4(0x1234, 40000);
	struct dnsp_info in = info_for("web.test.tapio", 1, 42);
	struct dnsp_pending got;
	uint64_t lat = 0;
	struct dnsp_stats s;

	cr_assert_eq(dnsp_query(t, &k, 5 * SEC, &in, NULL), DNSP_NEW);
	cr_assert_eq(stats_of(t).size, 1);
	cr_assert_eq(dnsp_response(t, &k, 5 * SEC + 3 * MS, &lat, &got), 0);
	cr_assert_eq(lat, 3 * MS);
	cr_assert_eq(got.query_ns, 5 * SEC);
	cr_assert_eq(got.retransmits, 0);
	cr_assert_eq(got.info.pid, 42);
	cr_assert_eq(got.info.cgroup_id, 1042);
	cr_assert_eq(got.info.qtype, 1);
	cr_assert_str_eq(got.info.qname, "web.test.tapio");
	cr_assert_eq(got.key.id, 0x1234);
	s = stats_of(t);
	cr_assert_eq(s.size, 0);
	cr_assert_eq(s.capacity, DNSP_DEFAULT_CAPACITY);
	cr_assert_eq(s.queries, 1);
	cr_assert_eq(s.matched, 1);
	cr_assert_eq(s.unmatched, 0);
	dnsp_free(t);
}

Test(dns_pair, response_without_query_is_counted)
{
	struct dnsp_table *t = dnsp_new(16);
	struct dnsp_key k = key4(1, 40000);
	uint64_t lat = 77;

	cr_assert_eq(dnsp_response(t, &k, SEC, &lat, NULL), -1);
	cr_assert_eq(lat, 77);
	cr_assert_eq(stats_of(t).unmatched, 1);
	dnsp_free(t);
}

Test(dns_pair, second_response_is_unmatched)
{
	struct dnsp_table *t = dnsp_new(16);
	struct dnsp_key k = key4(1, 40000);
	uint64_t lat;

	dnsp_query(t, &k, SEC, NULL, NULL);
	cr_assert_eq(dnsp_response(t, &k, 2 * SEC, &lat, NULL), 0);
	cr_assert_eq(dnsp_response(t, &k, 2 * SEC, &lat, NULL), -1);
	cr_assert_eq(stats_of(t).matched, 1);
	cr_assert_eq(stats_of(t).unmatched, 1);
	dnsp_free(t);
}

Test(dns_pair, null_info_and_outputs)
{
	struct dnsp_table *t = dnsp_new(4);
	struct dnsp_key k = key4(1, 1);
	struct dnsp_pending got;

	dnsp_query(t, &k, SEC, NULL, NULL);
	cr_assert_eq(dnsp_response(t, &k, 2 * SEC, NULL, &got), 0);
	cr_assert_eq(got.info.pid, 0);
	cr_assert_str_eq(got.info.qname, "");
	dnsp_query(t, &k, SEC, NULL, NULL);
	cr_assert_eq(dnsp_response(t, &k, 2 * SEC, NULL, NULL), 0);
	dnsp_free(t);
}

Test(dns_pair, response_before_query_time_has_zero_latency)
{
	struct dnsp_table *t = dnsp_new(4);
	struct dnsp_key k = key4(1, 1);
	uint64_t lat = 99;

	dnsp_query(t, &k, 10 * SEC, NULL, NULL);
	cr_assert_eq(dnsp_response(t, &k, 10 * SEC - 5, &lat, NULL), 0);
	cr_assert_eq(lat, 0);
	dnsp_free(t);
}

Test(dns_pair, timeout_reported_once)
{
	struct dnsp_table *t = dnsp_new(16);
	struct dnsp_key k = key4(7, 40000);
	struct dnsp_info in = info_for("slow.example", 28, 9);
	struct expired e = {0};
	uint64_t lat;

	dnsp_query(t, &k, SEC, &in, NULL);
	cr_assert_eq(dnsp_expire(t, 2 * SEC, 5 * SEC, collect, &e), 0);
	cr_assert_eq(dnsp_expire(t, 7 * SEC, 5 * SEC, collect, &e), 1);
	cr_assert_eq(e.n, 1);
	cr_assert_eq(e.age[0], 6 * SEC);
	cr_assert_str_eq(e.p[0].info.qname, "slow.example");
	cr_assert_eq(e.p[0].key.id, 7);
	cr_assert_eq(dnsp_expire(t, 9 * SEC, 5 * SEC, collect, &e), 0);
	cr_assert_eq(e.n, 1);
	/* the late response no longer matches */
	cr_assert_eq(dnsp_response(t, &k, 9 * SEC, &lat, NULL), -1);
	cr_assert_eq(stats_of(t).expired, 1);
	cr_assert_eq(stats_of(t).size, 0);
	dnsp_free(t);
}

Test(dns_pair, timeout_boundary)
{
	struct dnsp_table *t = dnsp_new(16);
	struct dnsp_key k = key4(1, 1);

	dnsp_query(t, &k, SEC, NULL, NULL);
	cr_assert_eq(dnsp_expire(t, 3 * SEC - 1, 2 * SEC, NULL, NULL), 0);
	cr_assert_eq(dnsp_expire(t, 3 * SEC, 2 * SEC, NULL, NULL), 1);
	/* a query stamped after now (another CPU's clock) is not expired */
	dnsp_query(t, &k, 10 * SEC, NULL, NULL);
	cr_assert_eq(dnsp_expire(t, 9 * SEC, 0, NULL, NULL), 0);
	dnsp_free(t);
}

Test(dns_pair, expire_reports_oldest_first_and_keeps_young_ones)
{
	struct dnsp_table *t = dnsp_new(16);
	struct expired e = {0};
	/* arrival order is not time order: events of several CPUs interleave */
	static const uint64_t sent[] = {5, 1, 3, 9, 2, 8, 4};

	for (unsigned i = 0; i < 7; i++) {
		struct dnsp_key k = key4((uint16_t)i, 1000);

		dnsp_query(t, &k, sent[i] * SEC, NULL, NULL);
	}
	/* 10 s with a 6 s timeout: sent at 4 s or before */
	cr_assert_eq(dnsp_expire(t, 10 * SEC, 6 * SEC, collect, &e), 4);
	cr_assert_eq(e.p[0].query_ns, 1 * SEC);
	cr_assert_eq(e.p[1].query_ns, 2 * SEC);
	cr_assert_eq(e.p[2].query_ns, 3 * SEC);
	cr_assert_eq(e.p[3].query_ns, 4 * SEC);
	cr_assert_eq(stats_of(t).size, 3);
	cr_assert_eq(dnsp_expire(t, 20 * SEC, 5 * SEC, collect, &e), 3);
	cr_assert_eq(e.p[4].query_ns, 5 * SEC);
	cr_assert_eq(e.p[5].query_ns, 8 * SEC);
	cr_assert_eq(e.p[6].query_ns, 9 * SEC);
	dnsp_free(t);
}

/* The callback runs after removal, so it may use the table. */
static void requery(const struct dnsp_pending *p, uint64_t age_ns, void *ctx)
{
	struct dnsp_table *t = ctx;
	struct dnsp_key k = p->key;

	k.id++;
	cr_assert_eq(dnsp_query(t, &k, p->query_ns + age_ns, &p->info, NULL), DNSP_NEW);
}

Test(dns_pair, callback_may_use_the_table)
{
	struct dnsp_table *t = dnsp_new(2);
	struct dnsp_key a = key4(1, 1), b = key4(10, 1);

	dnsp_query(t, &a, SEC, NULL, NULL);
	dnsp_query(t, &b, SEC, NULL, NULL);
	cr_assert_eq(dnsp_expire(t, 5 * SEC, SEC, requery, t), 2);
	cr_assert_eq(stats_of(t).size, 2); /* ids 2 and 11, stamped 5 s: not expired again */
	a.id = 2;
	b.id = 11;
	cr_assert_eq(dnsp_response(t, &a, 6 * SEC, NULL, NULL), 0);
	cr_assert_eq(dnsp_response(t, &b, 6 * SEC, NULL, NULL), 0);
	dnsp_free(t);
}

Test(dns_pair, retransmission_keeps_first_timestamp)
{
	struct dnsp_table *t = dnsp_new(16);
	struct dnsp_key k = key4(0xbeef, 51000);
	struct dnsp_info first = info_for("a.example", 1, 1), again = info_for("b", 1, 2);
	struct dnsp_pending got;
	uint64_t lat;

	cr_assert_eq(dnsp_query(t, &k, 1 * SEC, &first, NULL), DNSP_NEW);
	cr_assert_eq(dnsp_query(t, &k, 2 * SEC, &again, NULL), DNSP_RETRANSMIT);
	cr_assert_eq(dnsp_query(t, &k, 3 * SEC, &again, NULL), DNSP_RETRANSMIT);
	cr_assert_eq(stats_of(t).size, 1);
	cr_assert_eq(stats_of(t).queries, 1);
	cr_assert_eq(stats_of(t).retransmits, 2);
	/* the retransmission does not restart the timeout */
	cr_assert_eq(dnsp_expire(t, 3 * SEC + 500 * MS, 2 * SEC, NULL, NULL), 1);
	cr_assert_eq(dnsp_query(t, &k, 10 * SEC, &first, NULL), DNSP_NEW);
	cr_assert_eq(dnsp_query(t, &k, 11 * SEC, &again, NULL), DNSP_RETRANSMIT);
	cr_assert_eq(dnsp_response(t, &k, 11 * SEC + 20 * MS, &lat, &got), 0);
	cr_assert_eq(lat, SEC + 20 * MS);
	cr_assert_eq(got.retransmits, 1);
	cr_assert_str_eq(got.info.qname, "a.example");
	dnsp_free(t);
}

Test(dns_pair, full_table_evicts_the_oldest)
{
	struct dnsp_table *t = dnsp_new(4);
	struct dnsp_pending ev;
	struct dnsp_key k;
	uint64_t lat;

	for (uint16_t i = 0; i < 4; i++) {
		k = key4(i, 1);
		cr_assert_eq(dnsp_query(t, &k, (10u - i) * SEC, NULL, NULL), DNSP_NEW);
	}
	/* oldest is id 3 (7 s) */
	k = key4(100, 1);
	cr_assert_eq(dnsp_query(t, &k, 20 * SEC, NULL, &ev), DNSP_EVICTED);
	cr_assert_eq(ev.key.id, 3);
	cr_assert_eq(ev.query_ns, 7 * SEC);
	k = key4(101, 1);
	cr_assert_eq(dnsp_query(t, &k, 21 * SEC, NULL, NULL), DNSP_EVICTED);
	cr_assert_eq(stats_of(t).evicted, 2);
	cr_assert_eq(stats_of(t).size, 4);
	k = key4(3, 1);
	cr_assert_eq(dnsp_response(t, &k, 22 * SEC, &lat, NULL), -1);
	k = key4(2, 1);
	cr_assert_eq(dnsp_response(t, &k, 22 * SEC, &lat, NULL), -1);
	k = key4(0, 1);
	cr_assert_eq(dnsp_response(t, &k, 22 * SEC, &lat, NULL), 0);
	cr_assert_eq(lat, 12 * SEC);
	/* a free slot again: no eviction */
	k = key4(102, 1);
	cr_assert_eq(dnsp_query(t, &k, 23 * SEC, NULL, NULL), DNSP_NEW);
	dnsp_free(t);
}

Test(dns_pair, capacity_one)
{
	struct dnsp_table *t = dnsp_new(1);
	struct dnsp_key a = key4(1, 1), b = key4(2, 1);
	uint64_t lat;

	cr_assert_eq(dnsp_query(t, &a, SEC, NULL, NULL), DNSP_NEW);
	cr_assert_eq(dnsp_query(t, &a, SEC, NULL, NULL), DNSP_RETRANSMIT);
	cr_assert_eq(dnsp_query(t, &b, SEC, NULL, NULL), DNSP_EVICTED);
	cr_assert_eq(dnsp_response(t, &b, 2 * SEC, &lat, NULL), 0);
	cr_assert_eq(dnsp_expire(t, 100 * SEC, SEC, NULL, NULL), 0);
	dnsp_free(t);
}

Test(dns_pair, ipv6_keys)
{
	struct dnsp_table *t = dnsp_new(16);
	struct dnsp_key k6, k4;
	uint64_t lat;

	dnsp_key_v6(&k6, IPPROTO_UDP, 5, client6, 40000, server6, 53);
	cr_assert_eq(k6.family, AF_INET6);
	dnsp_query(t, &k6, SEC, NULL, NULL);
	/* same first four address bytes, same ports and id, but IPv4 */
	dnsp_key_v4(&k4, IPPROTO_UDP, 5, client6, 40000, server6, 53);
	cr_assert_eq(dnsp_response(t, &k4, 2 * SEC, &lat, NULL), -1);
	cr_assert_eq(dnsp_response(t, &k6, 2 * SEC, &lat, NULL), 0);
	cr_assert_eq(lat, SEC);
	/* addresses differing only in the last byte */
	dnsp_query(t, &k6, SEC, NULL, NULL);
	k6.client[15] ^= 1;
	cr_assert_eq(dnsp_response(t, &k6, 2 * SEC, &lat, NULL), -1);
	k6.client[15] ^= 1;
	k6.server[8] ^= 1;
	cr_assert_eq(dnsp_response(t, &k6, 2 * SEC, &lat, NULL), -1);
	k6.server[8] ^= 1;
	cr_assert_eq(dnsp_response(t, &k6, 2 * SEC, &lat, NULL), 0);
	dnsp_free(t);
}

Test(dns_pair, same_id_from_different_clients)
{
	struct dnsp_table *t = dnsp_new(16);
	struct dnsp_key a, b, c, d, e;
	static const uint8_t other_client[4] = {10, 0, 0, 8};
	static const uint8_t other_server[4] = {10, 96, 0, 11};
	uint64_t lat;

	dnsp_key_v4(&a, IPPROTO_UDP, 77, client4, 40000, server4, 53);
	dnsp_key_v4(&b, IPPROTO_UDP, 77, other_client, 40000, server4, 53);
	dnsp_key_v4(&c, IPPROTO_UDP, 77, client4, 40001, server4, 53);
	dnsp_key_v4(&d, IPPROTO_TCP, 77, client4, 40000, server4, 53);
	dnsp_key_v4(&e, IPPROTO_UDP, 77, client4, 40000, other_server, 53);
	cr_assert_eq(dnsp_query(t, &a, 1 * SEC, NULL, NULL), DNSP_NEW);
	cr_assert_eq(dnsp_query(t, &b, 2 * SEC, NULL, NULL), DNSP_NEW);
	cr_assert_eq(dnsp_query(t, &c, 3 * SEC, NULL, NULL), DNSP_NEW);
	cr_assert_eq(dnsp_query(t, &d, 4 * SEC, NULL, NULL), DNSP_NEW);
	cr_assert_eq(dnsp_query(t, &e, 5 * SEC, NULL, NULL), DNSP_NEW);
	cr_assert_eq(stats_of(t).size, 5);
	cr_assert_eq(dnsp_response(t, &c, 10 * SEC, &lat, NULL), 0);
	cr_assert_eq(lat, 7 * SEC);
	cr_assert_eq(dnsp_response(t, &e, 10 * SEC, &lat, NULL), 0);
	cr_assert_eq(lat, 5 * SEC);
	cr_assert_eq(dnsp_response(t, &a, 10 * SEC, &lat, NULL), 0);
	cr_assert_eq(lat, 9 * SEC);
	cr_assert_eq(dnsp_response(t, &d, 10 * SEC, &lat, NULL), 0);
	cr_assert_eq(lat, 6 * SEC);
	cr_assert_eq(dnsp_response(t, &b, 10 * SEC, &lat, NULL), 0);
	cr_assert_eq(lat, 8 * SEC);
	dnsp_free(t);
}

/* Only the address bytes of the family count: stray bytes after an IPv4 address do not. */
Test(dns_pair, ipv4_ignores_unused_address_bytes)
{
	struct dnsp_table *t = dnsp_new(16);
	struct dnsp_key k = key4(3, 3), dirty;
	uint64_t lat;

	dnsp_query(t, &k, SEC, NULL, NULL);
	dirty = k;
	memset(dirty.client + 4, 0xaa, 12);
	memset(dirty.server + 4, 0x55, 12);
	cr_assert_eq(dnsp_response(t, &dirty, 2 * SEC, &lat, NULL), 0);
	dnsp_free(t);
}

Test(dns_pair, qname_cut_never_splits_an_escape)
{
	struct dnsp_info in;
	char name[400];

	/* 253 plain bytes, then an escape that would end past byte 255 */
	memset(name, 'a', 253);
	strcpy(name + 253, "\\046bcdef");
	dnsp_info_set_qname(&in, name);
	cr_assert(in.qname_cut);
	cr_assert_eq(strlen(in.qname), 253);
	/* the escape fits exactly */
	memset(name, 'a', 251);
	strcpy(name + 251, "\\046x");
	dnsp_info_set_qname(&in, name);
	cr_assert(in.qname_cut);
	cr_assert_eq(strlen(in.qname), 255);
	cr_assert_str_eq(in.qname + 251, "\\046");
	/* a name that fits is kept whole */
	name[255] = '\0';
	dnsp_info_set_qname(&in, name);
	cr_assert_not(in.qname_cut);
	cr_assert_eq(strlen(in.qname), 255);
	/* a dangling escape at the end is dropped and reported */
	dnsp_info_set_qname(&in, "ab\\04");
	cr_assert(in.qname_cut);
	cr_assert_str_eq(in.qname, "ab");
	dnsp_info_set_qname(&in, "");
	cr_assert_not(in.qname_cut);
	cr_assert_str_eq(in.qname, "");
}

/* ---- random operations against a reference model ---- */

#define MODEL_CAP 64
#define MODEL_KEYS 200

struct model_entry {
	bool live;
	uint64_t sent;
	uint32_t retransmits;
	uint64_t order; /* insertion sequence, to find the oldest among equal times */
};

static struct model_entry model[MODEL_KEYS];
static uint64_t model_seq;

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* Keys are spread over both families, both protocols and many ports. */
static struct dnsp_key model_key(unsigned i)
{
	struct dnsp_key k;
	uint8_t c6[16];

	if (i % 2) {
		memcpy(c6, client6, 16);
		c6[14] = (uint8_t)i;
		dnsp_key_v6(&k, i % 3 ? IPPROTO_UDP : IPPROTO_TCP, (uint16_t)(i / 7), c6,
			    (uint16_t)(30000 + i), server6, 53);
	} else {
		dnsp_key_v4(&k, i % 3 ? IPPROTO_UDP : IPPROTO_TCP, (uint16_t)(i / 7), client4,
			    (uint16_t)(30000 + i), server4, 53);
	}
	return k;
}

static unsigned model_size(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < MODEL_KEYS; i++)
		n += model[i].live;
	return n;
}

/* The oldest by time; among equal times the first inserted, as the table's sorted list. */
static int model_oldest(void)
{
	int best = -1;

	for (unsigned i = 0; i < MODEL_KEYS; i++) {
		if (!model[i].live)
			continue;
		if (best < 0 || model[i].sent < model[best].sent ||
		    (model[i].sent == model[best].sent && model[i].order < model[best].order))
			best = (int)i;
	}
	return best;
}

static void model_query(struct dnsp_table *t, unsigned i, uint64_t now)
{
	struct dnsp_key k = model_key(i);
	struct dnsp_pending ev;
	int want = DNSP_NEW, victim = -1;

	if (model[i].live) {
		model[i].retransmits++;
		want = DNSP_RETRANSMIT;
	} else if (model_size() == MODEL_CAP) {
		victim = model_oldest();
		want = DNSP_EVICTED;
	}
	cr_assert_eq(dnsp_query(t, &k, now, NULL, &ev), want);
	if (victim >= 0) {
		struct dnsp_key vk = model_key((unsigned)victim);

		cr_assert_eq(ev.key.id, vk.id);
		cr_assert_eq(ev.key.client_port, vk.client_port);
		model[victim].live = false;
	}
	if (want != DNSP_RETRANSMIT)
		model[i] = (struct model_entry){true, now, 0, model_seq++};
}

static void model_response(struct dnsp_table *t, unsigned i, uint64_t now)
{
	struct dnsp_key k = model_key(i);
	struct dnsp_pending got;
	uint64_t lat;
	int rc = dnsp_response(t, &k, now, &lat, &got);

	if (!model[i].live) {
		cr_assert_eq(rc, -1);
		return;
	}
	cr_assert_eq(rc, 0);
	cr_assert_eq(got.query_ns, model[i].sent);
	cr_assert_eq(got.retransmits, model[i].retransmits);
	cr_assert_eq(lat, now >= model[i].sent ? now - model[i].sent : 0);
	model[i].live = false;
}

struct model_expiry {
	uint64_t last_sent;
	unsigned n;
};

static void model_expired(const struct dnsp_pending *p, uint64_t age_ns, void *ctx)
{
	struct model_expiry *me = ctx;
	unsigned i = (unsigned)(p->key.client_port - 30000);

	cr_assert_lt(i, MODEL_KEYS);
	cr_assert(model[i].live, "key %u expired twice or never queried", i);
	cr_assert_eq(p->query_ns, model[i].sent);
	cr_assert_geq(p->query_ns, me->last_sent); /* oldest first */
	me->last_sent = p->query_ns;
	model[i].live = false;
	me->n++;
}

static void model_expire(struct dnsp_table *t, uint64_t now, uint64_t timeout)
{
	struct model_expiry me = {0, 0};
	unsigned want = 0;

	for (unsigned i = 0; i < MODEL_KEYS; i++)
		want += model[i].live && now >= model[i].sent && now - model[i].sent >= timeout;
	cr_assert_eq(dnsp_expire(t, now, timeout, model_expired, &me), want);
	cr_assert_eq(me.n, want);
}

Test(dns_pair, random_run_matches_the_model)
{
	struct dnsp_table *t = dnsp_new(MODEL_CAP);
	uint64_t now = 1000 * SEC;

	for (int step = 0; step < 100000; step++) {
		unsigned op = rnd() % 100, i = rnd() % MODEL_KEYS;
		/* time mostly moves forward, with some jitter backwards (CPU interleaving) */
		uint64_t stamp = now + rnd() % (50 * MS) - 20 * MS;

		now += rnd() % (2 * MS);
		if (op < 55)
			model_query(t, i, stamp);
		else if (op < 95)
			model_response(t, i, stamp);
		else
			model_expire(t, now, rnd() % (100 * MS));
		cr_assert_eq(stats_of(t).size, model_size());
	}
	dnsp_free(t);
}

Test(dns_pair, lookup_reads_without_removing_or_counting)
{
	struct dnsp_table *t = dnsp_new(8);
	struct dnsp_key k = key4(7, 41000), other = key4(8, 41000);
	struct dnsp_info in = info_for("look.example", 28, 5);
	struct dnsp_pending got;
	struct dnsp_stats s;

	cr_assert_eq(dnsp_lookup(t, &k, &got), -1);
	cr_assert_eq(dnsp_query(t, &k, 1 * SEC, &in, NULL), DNSP_NEW);
	cr_assert_eq(dnsp_query(t, &k, 2 * SEC, &in, NULL), DNSP_RETRANSMIT);
	cr_assert_eq(dnsp_lookup(t, &k, &got), 0);
	cr_assert_eq(got.retransmits, 1);
	cr_assert_eq(got.query_ns, 1 * SEC);
	cr_assert_eq(got.info.pid, 5);
	cr_assert_str_eq(got.info.qname, "look.example");
	cr_assert_eq(dnsp_lookup(t, &k, NULL), 0, "out may be NULL");
	cr_assert_eq(dnsp_lookup(t, &other, &got), -1);
	s = stats_of(t);
	cr_assert_eq(s.size, 1, "still outstanding");
	cr_assert_eq(s.matched, 0);
	cr_assert_eq(s.unmatched, 0, "a miss of lookup is not an unmatched response");
	dnsp_free(t);
}
