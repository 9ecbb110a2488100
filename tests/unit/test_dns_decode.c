/* The DNS observer's user-space half on synthetic kernel records: query and response
 * events with the querying process and latency from the pairing, every answer type the
 * event carries, NXDOMAIN, TCP over IPv6, retransmissions, timeouts, unmatched and
 * malformed responses, capture cuts, sampling marks, the counters, and rejection of
 * records whose own fields are out of bounds. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "decode_fixture.h"
#include "dns.h"
#include "observers/dns/dns_decode.h"
#include "observers/dns/dns_wire.h"

extern const struct observer_ops dns_observer;

#define TIMEOUT_NS 2000000000ULL
#define T0 5000000000ULL

typedef Tapio__Sensor__V1__DnsEvent pb_dns;

static struct dnsd *dec;
static pb_events_response *last;

static void setup(void)
{
	decode_setup(&dns_observer, 1);
	s.mono_to_real_ns = 1000000000000LL;
	dec = dnsd_new(o, 16, TIMEOUT_NS);
	cr_assert_not_null(dec);
	last = NULL;
}

static void teardown(void)
{
	if (last)
		tapio__sensor__v1__get_events_response__free_unpacked(last, NULL);
	dnsd_free(dec);
	decode_teardown();
}

TestSuite(dns_decode, .init = setup, .fini = teardown);

/* ---- DNS messages, built byte by byte ---- */

struct wb {
	uint8_t b[2048];
	size_t n;
};

static void w16(struct wb *w, unsigned v)
{
	w->b[w->n++] = (uint8_t)(v >> 8);
	w->b[w->n++] = (uint8_t)v;
}

static void w32(struct wb *w, uint32_t v)
{
	w16(w, v >> 16);
	w16(w, v & 0xffff);
}

static void wname(struct wb *w, const char *name)
{
	size_t len;

	cr_assert_eq(dnsw_name_encode(name, w->b + w->n, &len), DNSW_OK);
	w->n += len;
}

static void wbytes(struct wb *w, const void *p, size_t n)
{
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

/* Header and one question. */
static void msg(struct wb *w, uint16_t id, uint16_t flags, const char *qname, uint16_t qtype,
		unsigned ancount)
{
	w->n = 0;
	w16(w, id);
	w16(w, flags);
	w16(w, 1);
	w16(w, ancount);
	w16(w, 0);
	w16(w, 0);
	wname(w, qname);
	w16(w, qtype);
	w16(w, 1);
}

/* A record owned by the question's name (pointer to offset 12); rdata given. */
static void rr(struct wb *w, uint16_t type, uint32_t ttl, const void *rd, size_t rdlen)
{
	w16(w, 0xc00c);
	w16(w, type);
	w16(w, 1);
	w32(w, ttl);
	w16(w, (unsigned)rdlen);
	wbytes(w, rd, rdlen);
}

/* A record whose rdata is a name (after `pre` bytes of fixed fields). */
static void rr_name(struct wb *w, uint16_t type, uint32_t ttl, const uint8_t *pre, size_t prelen,
		    const char *target)
{
	uint8_t rd[300];
	size_t len;

	if (prelen)
		memcpy(rd, pre, prelen);
	cr_assert_eq(dnsw_name_encode(target, rd + prelen, &len), DNSW_OK);
	rr(w, type, ttl, rd, prelen + len);
}

/* ---- records ---- */

static void record(struct dns_record *r, int dir, int family, int proto, const struct wb *w,
		   uint64_t ts)
{
	memset(r, 0, sizeof(*r));
	r->h.ts_ns = ts;
	r->h.start_ns = 4000000000ULL;
	r->h.cgroup_id = 777;
	r->h.pid = 4242;
	r->h.tid = 4243;
	r->h.type = dir == DNS_DIR_QUERY ? TP_EV_DNS_QUERY : TP_EV_DNS_RESPONSE;
	r->h.size = sizeof(*r);
	strcpy(r->h.comm, "dig");
	r->family = family;
	r->proto = proto;
	r->direction = dir;
	r->client_port = 40000;
	r->server_port = 53;
	r->netns = 4026531840u;
	if (family == AF_INET) {
		inet_pton(AF_INET, "127.0.0.1", r->client);
		inet_pton(AF_INET, "127.0.0.77", r->server);
	} else {
		inet_pton(AF_INET6, "fd00::1", r->client);
		inet_pton(AF_INET6, "fd00::53", r->server);
	}
	r->wirelen = (uint16_t)w->n;
	r->caplen = (uint16_t)(w->n < DNS_CAPTURE ? w->n : DNS_CAPTURE);
	memcpy(r->data, w->b, r->caplen);
}

/* A response's record as the kernel sends it from softirq: no owner known. */
static void as_unowned(struct dns_record *r)
{
	r->h.pid = 0;
	r->h.tid = 0;
	r->h.cgroup_id = 0;
	r->h.start_ns = 0;
	r->h.comm[0] = 0;
	r->netns = 0;
}

static void feed(struct dns_record *r)
{
	cr_assert_eq(dnsd_record(dec, r, DNS_RECORD_FIXED + r->caplen), 0);
}

/* The next published event. */
static pb_event *next(void)
{
	size_t len;
	uint8_t *buf;

	if (last)
		tapio__sensor__v1__get_events_response__free_unpacked(last, NULL);
	buf = subscriber_take(sub, 1, &len);
	cr_assert_not_null(buf, "an event was published");
	last = tapio__sensor__v1__get_events_response__unpack(NULL, len, buf);
	free(buf);
	cr_assert_not_null(last);
	cr_assert_eq(last->n_events, 1);
	cr_assert_eq(last->events[0]->observer, PB_OBSERVER(DNS));
	cr_assert_eq(last->events[0]->payload_case, PB_PAYLOAD(DNS));
	return last->events[0];
}

static void assert_none(void)
{
	size_t len;
	uint8_t *buf = subscriber_take(sub, 1, &len);

	cr_assert_null(buf, "no further event");
}

static uint64_t counter(int slot)
{
	uint64_t v[DNSD_USER_COUNTERS];

	dnsd_counters(dec, v);
	return v[slot - DNS_CNT_USER_FIRST];
}

static const uint8_t addr_web[4] = {10, 0, 0, 5};

Test(dns_decode, query_then_answer_names_the_asking_process)
{
	struct dns_record r;
	struct wb w;
	pb_event *ev;
	pb_dns *x;

	msg(&w, 0x1234, 0x0100, "Web.Test.Tapio", DNSW_TYPE_A, 0);
	record(&r, DNS_DIR_QUERY, AF_INET, IPPROTO_UDP, &w, T0);
	feed(&r);
	ev = next();
	x = ev->dns;
	cr_assert_eq(ev->type, PB_TYPE(DNS_QUERY));
	cr_assert_eq(ev->process->pid, 4242);
	cr_assert_eq(ev->tid, 4243);
	cr_assert_str_eq(ev->process->comm, "dig");
	cr_assert_eq(ev->process->cgroup_id, 777);
	cr_assert_eq(x->id, 0x1234);
	cr_assert_str_eq(x->query_name, "web.test.tapio");
	cr_assert_eq(x->query_type, 1);
	cr_assert_str_eq(x->query_type_name, "A");
	cr_assert_eq(x->transport, TAPIO__SENSOR__V1__DNS_TRANSPORT__DNS_TRANSPORT_UDP);
	cr_assert_str_eq(x->client_address, "127.0.0.1");
	cr_assert_eq(x->client_port, 40000);
	cr_assert_str_eq(x->server_address, "127.0.0.77");
	cr_assert_eq(x->server_port, 53);
	cr_assert_eq(x->netns_inode, 4026531840u);
	cr_assert(x->recursion_desired);
	cr_assert_eq(x->message_length, w.n);
	cr_assert_eq(x->retransmits, 0);
	cr_assert_str_eq(x->parse_error, "");
	cr_assert_not(x->sampled);

	msg(&w, 0x1234, 0x8580, "web.test.tapio", DNSW_TYPE_A, 1);
	rr(&w, DNSW_TYPE_A, 300, addr_web, 4);
	record(&r, DNS_DIR_RESPONSE, AF_INET, IPPROTO_UDP, &w, T0 + 1500000);
	as_unowned(&r);
	feed(&r);
	ev = next();
	x = ev->dns;
	cr_assert_eq(ev->type, PB_TYPE(DNS_RESPONSE));
	cr_assert_eq(ev->process->pid, 4242, "the query's process, not the softirq's");
	cr_assert_str_eq(ev->process->comm, "dig");
	cr_assert_eq(ev->tid, 4243);
	cr_assert_eq(ev->process->cgroup_id, 777);
	cr_assert_eq(ev->time->seconds, 1005);
	cr_assert_eq(ev->time->nanos, 1500000);
	cr_assert_eq(x->latency_ns, 1500000);
	cr_assert_eq(x->netns_inode, 4026531840u);
	cr_assert_eq(x->rcode, 0);
	cr_assert_str_eq(x->rcode_name, "NOERROR");
	cr_assert(x->authoritative);
	cr_assert(x->recursion_available);
	cr_assert_not(x->unmatched);
	cr_assert_eq(x->answer_count, 1);
	cr_assert_eq(x->n_answers, 1);
	cr_assert_str_eq(x->answers[0]->name, "web.test.tapio");
	cr_assert_str_eq(x->answers[0]->type_name, "A");
	cr_assert_eq(x->answers[0]->ttl, 300);
	cr_assert_str_eq(x->answers[0]->address, "10.0.0.5");
	assert_none();
	cr_assert_eq(dnsd_expire(dec, T0 + 10 * TIMEOUT_NS), 0, "answered: no timeout");
	cr_assert_eq(counter(DNS_CNT_UNPAIRED), 0);
}

Test(dns_decode, answer_types_cname_chain_mx_srv_txt_ptr_aaaa)
{
	static const uint8_t v6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5};
	static const uint8_t mx_pref[2] = {0, 10}, srv_fixed[6] = {0, 1, 0, 5, 0x1f, 0x90};
	static const uint8_t txt[] = "\013v=spf1 -all\004a\"b\\";
	static const uint8_t other[3] = {1, 2, 3};
	struct dns_record r;
	struct wb w;
	pb_dns *x;

	msg(&w, 7, 0x8180, "www.test.tapio", DNSW_TYPE_ANY, 9);
	rr_name(&w, DNSW_TYPE_CNAME, 60, NULL, 0, "web.test.tapio");
	rr(&w, DNSW_TYPE_A, 61, addr_web, 4);
	rr(&w, DNSW_TYPE_AAAA, 62, v6, 16);
	rr_name(&w, DNSW_TYPE_MX, 63, mx_pref, 2, "mail.test.tapio");
	rr_name(&w, DNSW_TYPE_SRV, 64, srv_fixed, 6, "web.test.tapio");
	rr(&w, DNSW_TYPE_TXT, 65, txt, sizeof(txt) - 1);
	rr_name(&w, DNSW_TYPE_PTR, 66, NULL, 0, "host.test.tapio");
	rr_name(&w, DNSW_TYPE_NS, 67, NULL, 0, "ns.test.tapio");
	rr(&w, 65280, 68, other, sizeof(other));
	record(&r, DNS_DIR_RESPONSE, AF_INET, IPPROTO_UDP, &w, T0);
	feed(&r);
	x = next()->dns;
	cr_assert_eq(x->n_answers, 9);
	cr_assert_str_eq(x->query_type_name, "ANY");
	cr_assert_str_eq(x->answers[0]->type_name, "CNAME");
	cr_assert_str_eq(x->answers[0]->target, "web.test.tapio");
	cr_assert_eq(x->answers[0]->ttl, 60);
	cr_assert_str_eq(x->answers[1]->address, "10.0.0.5");
	cr_assert_str_eq(x->answers[2]->type_name, "AAAA");
	cr_assert_str_eq(x->answers[2]->address, "fd00::5");
	cr_assert_str_eq(x->answers[3]->target, "mail.test.tapio");
	cr_assert_eq(x->answers[3]->preference, 10);
	cr_assert_str_eq(x->answers[4]->target, "web.test.tapio");
	cr_assert_eq(x->answers[4]->priority, 1);
	cr_assert_eq(x->answers[4]->weight, 5);
	cr_assert_eq(x->answers[4]->port, 8080);
	cr_assert_str_eq(x->answers[5]->text, "\"v=spf1 -all\" \"a\\034b\\092\"");
	cr_assert_str_eq(x->answers[6]->type_name, "PTR");
	cr_assert_str_eq(x->answers[6]->target, "host.test.tapio");
	cr_assert_str_eq(x->answers[7]->target, "ns.test.tapio");
	cr_assert_str_eq(x->answers[8]->type_name, "TYPE65280");
	cr_assert_eq(x->answers[8]->type, 65280);
	cr_assert_eq(x->answers[8]->ttl, 68);
	cr_assert_str_empty(x->answers[8]->address);
	cr_assert_str_empty(x->answers[8]->target);
}

Test(dns_decode, nxdomain_and_servfail_and_refused)
{
	static const struct {
		uint16_t flags;
		unsigned rcode;
		const char *name;
	} cases[] = {{0x8183, 3, "NXDOMAIN"}, {0x8182, 2, "SERVFAIL"}, {0x8185, 5, "REFUSED"}};
	struct dns_record r;
	struct wb w;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pb_dns *x;

		msg(&w, (uint16_t)(100 + i), 0x0100, "nx.test.tapio", DNSW_TYPE_A, 0);
		record(&r, DNS_DIR_QUERY, AF_INET, IPPROTO_UDP, &w, T0);
		feed(&r);
		next();
		msg(&w, (uint16_t)(100 + i), cases[i].flags, "nx.test.tapio", DNSW_TYPE_A, 0);
		record(&r, DNS_DIR_RESPONSE, AF_INET, IPPROTO_UDP, &w, T0 + 1000);
		feed(&r);
		x = next()->dns;
		cr_assert_eq(x->rcode, cases[i].rcode);
		cr_assert_str_eq(x->rcode_name, cases[i].name);
		cr_assert_eq(x->n_answers, 0);
		cr_assert_eq(x->latency_ns, 1000);
		cr_assert_not(x->unmatched);
	}
}

Test(dns_decode, tcp_over_ipv6_pairs_on_its_own_transport)
{
	struct dns_record r;
	struct wb w;
	pb_dns *x;

	msg(&w, 9, 0x0100, "web.test.tapio", DNSW_TYPE_AAAA, 0);
	record(&r, DNS_DIR_QUERY, AF_INET6, IPPROTO_TCP, &w, T0);
	feed(&r);
	x = next()->dns;
	cr_assert_eq(x->transport, TAPIO__SENSOR__V1__DNS_TRANSPORT__DNS_TRANSPORT_TCP);
	cr_assert_str_eq(x->client_address, "fd00::1");
	cr_assert_str_eq(x->server_address, "fd00::53");

	/* The same id and addresses over UDP is another transaction. */
	msg(&w, 9, 0x8180, "web.test.tapio", DNSW_TYPE_AAAA, 0);
	record(&r, DNS_DIR_RESPONSE, AF_INET6, IPPROTO_UDP, &w, T0 + 10);
	feed(&r);
	cr_assert(next()->dns->unmatched);
	record(&r, DNS_DIR_RESPONSE, AF_INET6, IPPROTO_TCP, &w, T0 + 20);
	feed(&r);
	x = next()->dns;
	cr_assert_not(x->unmatched);
	cr_assert_eq(x->latency_ns, 20);
	cr_assert_eq(x->transport, TAPIO__SENSOR__V1__DNS_TRANSPORT__DNS_TRANSPORT_TCP);
}

Test(dns_decode, retransmission_keeps_first_time_and_counts)
{
	struct dns_record r;
	struct wb w;
	pb_dns *x;

	msg(&w, 11, 0x0100, "slow.test.tapio", DNSW_TYPE_A, 0);
	record(&r, DNS_DIR_QUERY, AF_INET, IPPROTO_UDP, &w, T0);
	feed(&r);
	cr_assert_eq(next()->dns->retransmits, 0);
	record(&r, DNS_DIR_QUERY, AF_INET, IPPROTO_UDP, &w, T0 + 1000000000ULL);
	r.flags = DNS_F_RETRANSMIT;
	feed(&r);
	cr_assert_eq(next()->dns->retransmits, 1);
	msg(&w, 11, 0x8180, "slow.test.tapio", DNSW_TYPE_A, 0);
	record(&r, DNS_DIR_RESPONSE, AF_INET, IPPROTO_UDP, &w, T0 + 1200000000ULL);
	feed(&r);
	x = next()->dns;
	cr_assert_eq(x->retransmits, 1);
	cr_assert_eq(x->latency_ns, 1200000000ULL);
}

Test(dns_decode, unanswered_query_times_out_once)
{
	struct dns_record r;
	struct wb w;
	pb_event *ev;
	pb_dns *x;

	msg(&w, 21, 0x0100, "void.test.tapio", DNSW_TYPE_AAAA, 0);
	record(&r, DNS_DIR_QUERY, AF_INET, IPPROTO_UDP, &w, T0);
	r.flags = DNS_F_SAMPLED;
	r.sample_every = 10;
	feed(&r);
	x = next()->dns;
	cr_assert(x->sampled);
	cr_assert_eq(x->sample_every, 10);
	cr_assert_eq(dnsd_expire(dec, T0 + TIMEOUT_NS - 1), 0);
	cr_assert_eq(dnsd_expire(dec, T0 + TIMEOUT_NS + 5), 1);
	ev = next();
	x = ev->dns;
	cr_assert_eq(ev->type, PB_TYPE(DNS_TIMEOUT));
	cr_assert_eq(ev->process->pid, 4242);
	cr_assert_str_eq(ev->process->comm, "dig");
	cr_assert_eq(ev->tid, 4243);
	cr_assert_eq(ev->time->seconds, 1007);
	cr_assert_str_eq(x->query_name, "void.test.tapio");
	cr_assert_str_eq(x->query_type_name, "AAAA");
	cr_assert_eq(x->id, 21);
	cr_assert_str_eq(x->server_address, "127.0.0.77");
	cr_assert_eq(x->server_port, 53);
	cr_assert_eq(x->latency_ns, TIMEOUT_NS + 5);
	cr_assert_eq(x->netns_inode, 4026531840u);
	cr_assert(x->sampled);
	cr_assert_eq(x->sample_every, 10);
	cr_assert_eq(counter(DNS_CNT_TIMEOUTS), 1);
	cr_assert_eq(dnsd_expire(dec, T0 + 10 * TIMEOUT_NS), 0, "reported once");
	assert_none();

	/* Its late answer is a response without a query. */
	msg(&w, 21, 0x8180, "void.test.tapio", DNSW_TYPE_AAAA, 0);
	record(&r, DNS_DIR_RESPONSE, AF_INET, IPPROTO_UDP, &w, T0 + 3 * TIMEOUT_NS);
	feed(&r);
	cr_assert(next()->dns->unmatched);
	cr_assert_eq(counter(DNS_CNT_UNPAIRED), 1);
}

Test(dns_decode, unmatched_response_names_the_socket_owner)
{
	struct dns_record r;
	struct wb w;
	pb_event *ev;
	pb_dns *x;

	msg(&w, 31, 0x8180, "web.test.tapio", DNSW_TYPE_A, 1);
	rr(&w, DNSW_TYPE_A, 5, addr_web, 4);
	record(&r, DNS_DIR_RESPONSE, AF_INET, IPPROTO_UDP, &w, T0);
	r.flags = DNS_F_UNMATCHED | DNS_F_OWNER;
	feed(&r);
	ev = next();
	x = ev->dns;
	cr_assert(x->unmatched);
	cr_assert_eq(x->latency_ns, 0);
	cr_assert_eq(ev->process->pid, 4242);
	cr_assert_str_eq(ev->process->comm, "dig");
	cr_assert_eq(x->netns_inode, 4026531840u);
	cr_assert_str_eq(x->answers[0]->address, "10.0.0.5");
	cr_assert_eq(counter(DNS_CNT_UNPAIRED), 1);
}

Test(dns_decode, malformed_response_is_counted_and_reported_as_far_as_decoded)
{
	struct dns_record r;
	struct wb w;
	pb_dns *x;

	msg(&w, 41, 0x0100, "loop.test.tapio", DNSW_TYPE_A, 0);
	record(&r, DNS_DIR_QUERY, AF_INET, IPPROTO_UDP, &w, T0);
	feed(&r);
	next();
	/* An answer whose owner is a pointer to itself. */
	msg(&w, 41, 0x8180, "loop.test.tapio", DNSW_TYPE_A, 1);
	w16(&w, 0xc000 | (unsigned)w.n);
	w16(&w, 1);
	w16(&w, 1);
	w32(&w, 1);
	w16(&w, 4);
	wbytes(&w, addr_web, 4);
	record(&r, DNS_DIR_RESPONSE, AF_INET, IPPROTO_UDP, &w, T0 + 7);
	feed(&r);
	x = next()->dns;
	cr_assert_str_eq(x->parse_error, dnsw_strerror(DNSW_ERR_BAD_POINTER));
	cr_assert_str_eq(x->query_name, "loop.test.tapio");
	cr_assert_eq(x->n_answers, 0);
	cr_assert_eq(x->answer_count, 1);
	cr_assert_not(x->unmatched, "the header still pairs it");
	cr_assert_eq(x->latency_ns, 7);
	cr_assert_eq(counter(DNS_CNT_MALFORMED), 1);

	/* A query whose question runs past the message: what was asked is unknown. */
	msg(&w, 42, 0x0100, "cut.test.tapio", DNSW_TYPE_A, 0);
	w.n -= 3;
	record(&r, DNS_DIR_QUERY, AF_INET, IPPROTO_UDP, &w, T0);
	feed(&r);
	x = next()->dns;
	cr_assert_str_eq(x->parse_error, dnsw_strerror(DNSW_ERR_TRUNCATED));
	cr_assert_str_eq(x->query_name, "");
	cr_assert_eq(x->id, 42);
	cr_assert_eq(counter(DNS_CNT_MALFORMED), 2);
	/* Its response supplies nothing new either; the pairing still works. */
	msg(&w, 42, 0x8180, "cut.test.tapio", DNSW_TYPE_A, 0);
	record(&r, DNS_DIR_RESPONSE, AF_INET, IPPROTO_UDP, &w, T0 + 3);
	feed(&r);
	x = next()->dns;
	cr_assert_str_eq(x->query_name, "cut.test.tapio");
	cr_assert_eq(x->latency_ns, 3);
}

Test(dns_decode, question_from_the_query_when_the_response_has_none)
{
	struct dns_record r;
	struct wb w;
	pb_dns *x;

	msg(&w, 51, 0x0100, "web.test.tapio", DNSW_TYPE_MX, 0);
	record(&r, DNS_DIR_QUERY, AF_INET, IPPROTO_UDP, &w, T0);
	feed(&r);
	next();
	/* FORMERR with an empty question section. */
	w.n = 0;
	w16(&w, 51);
	w16(&w, 0x8181);
	for (int i = 0; i < 4; i++)
		w16(&w, 0);
	record(&r, DNS_DIR_RESPONSE, AF_INET, IPPROTO_UDP, &w, T0 + 9);
	feed(&r);
	x = next()->dns;
	cr_assert_str_eq(x->rcode_name, "FORMERR");
	cr_assert_str_eq(x->query_name, "web.test.tapio");
	cr_assert_str_eq(x->query_type_name, "MX");
	cr_assert_str_eq(x->parse_error, "");
}

Test(dns_decode, capture_cut_keeps_what_fits_and_says_so)
{
	struct dns_record r;
	struct wb w;
	pb_dns *x;

	msg(&w, 61, 0x8180, "many.test.tapio", DNSW_TYPE_A, 40);
	for (int i = 0; i < 40; i++)
		rr(&w, DNSW_TYPE_A, 1, addr_web, 4);
	cr_assert_gt(w.n, DNS_CAPTURE);
	record(&r, DNS_DIR_RESPONSE, AF_INET, IPPROTO_UDP, &w, T0);
	cr_assert_eq(r.caplen, DNS_CAPTURE);
	feed(&r);
	x = next()->dns;
	cr_assert(x->capture_truncated);
	cr_assert_eq(x->message_length, w.n);
	cr_assert_eq(x->answer_count, 40);
	cr_assert_eq(x->n_answers, 16);
	cr_assert_str_eq(x->parse_error, "", "a cut by the capture is not an error");
	cr_assert_eq(counter(DNS_CNT_MALFORMED), 0);
}

Test(dns_decode, full_pairing_table_evicts_the_oldest)
{
	struct dns_record r;
	struct wb w;

	for (int i = 0; i < 17; i++) {
		msg(&w, (uint16_t)(200 + i), 0x0100, "fill.test.tapio", DNSW_TYPE_A, 0);
		record(&r, DNS_DIR_QUERY, AF_INET, IPPROTO_UDP, &w, T0 + (uint64_t)i);
		feed(&r);
		next();
	}
	cr_assert_eq(counter(DNS_CNT_PAIR_EVICTED), 1);
	msg(&w, 200, 0x8180, "fill.test.tapio", DNSW_TYPE_A, 0);
	record(&r, DNS_DIR_RESPONSE, AF_INET, IPPROTO_UDP, &w, T0 + 100);
	feed(&r);
	cr_assert(next()->dns->unmatched, "the evicted query cannot be paired");
	cr_assert_eq(dnsd_expire(dec, T0 + 100 + TIMEOUT_NS), 16);
}

Test(dns_decode, records_out_of_bounds_are_rejected)
{
	struct dns_record r, bad;
	struct wb w;

	msg(&w, 71, 0x0100, "web.test.tapio", DNSW_TYPE_A, 0);
	record(&r, DNS_DIR_QUERY, AF_INET, IPPROTO_UDP, &w, T0);
	cr_assert_eq(dnsd_record(dec, &r, DNS_RECORD_FIXED - 1), -1, "shorter than fixed part");
	cr_assert_eq(dnsd_record(dec, &r, DNS_RECORD_FIXED + r.caplen - 1), -1, "data cut");
	bad = r;
	bad.h.type = TP_EV_PROCESS_EXEC;
	cr_assert_eq(dnsd_record(dec, &bad, sizeof(bad)), -1, "type");
	bad = r;
	bad.direction = DNS_DIR_RESPONSE;
	cr_assert_eq(dnsd_record(dec, &bad, sizeof(bad)), -1, "direction against type");
	bad = r;
	bad.family = 99;
	cr_assert_eq(dnsd_record(dec, &bad, sizeof(bad)), -1, "family");
	bad = r;
	bad.proto = 1;
	cr_assert_eq(dnsd_record(dec, &bad, sizeof(bad)), -1, "protocol");
	bad = r;
	bad.caplen = 11;
	cr_assert_eq(dnsd_record(dec, &bad, sizeof(bad)), -1, "below a DNS header");
	bad = r;
	bad.caplen = DNS_CAPTURE + 1;
	bad.wirelen = 60000;
	cr_assert_eq(dnsd_record(dec, &bad, sizeof(bad)), -1, "beyond the capture bound");
	bad = r;
	bad.wirelen = bad.caplen - 1;
	cr_assert_eq(dnsd_record(dec, &bad, sizeof(bad)), -1, "more captured than sent");
	assert_none();
	/* Longer than a record (the perf buffer pads): only the record is read. */
	cr_assert_eq(dnsd_record(dec, &r, sizeof(r)), 0);
	cr_assert_str_eq(next()->dns->query_name, "web.test.tapio");
}

Test(dns_decode, hostile_bytes_never_reach_a_string_unescaped)
{
	static const uint8_t label[] = {5, 'a', 0xff, '"', '\n', '.', 4, 't', 'e', 's', 't', 0};
	struct dns_record r;
	struct wb w;
	pb_dns *x;

	w.n = 0;
	w16(&w, 81);
	w16(&w, 0x0100);
	w16(&w, 1);
	for (int i = 0; i < 3; i++)
		w16(&w, 0);
	wbytes(&w, label, sizeof(label));
	w16(&w, DNSW_TYPE_TXT);
	w16(&w, 1);
	record(&r, DNS_DIR_QUERY, AF_INET, IPPROTO_UDP, &w, T0);
	memcpy(r.h.comm, "\xff\xfe-bad-comm-xyz!", 16); /* no terminator, not UTF-8 */
	feed(&r);
	x = next()->dns;
	cr_assert_str_eq(x->query_name, "a\\255\\034\\010\\046.test");
	cr_assert_str_eq(last->events[0]->process->comm, "?"
							 "?-bad-comm-xyz");
}
