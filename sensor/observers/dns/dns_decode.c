/* dns_decode.c - DNS records to query, response and timeout events (see dns_decode.h).
 *
 * A query is recorded in the pairing table with who sent it and what it asked, then
 * published. A response takes its query out of the table: the event names the querying
 * process (the response arrived in softirq, where the kernel could only name the socket's
 * owner) and carries the latency. A query still in the table after the timeout is
 * published as a timeout. Strings point into the decoder's parsed message or the pairing
 * entry and live until event_publish() returns.
 */
#include "observers/dns/dns_decode.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/event.h"
#include "core/observer.h"
#include "core/utf8.h"
#include "observers/dns/dns_pair.h"
#include "observers/dns/dns_wire.h"

typedef Tapio__Sensor__V1__DnsEvent pb_dns;
typedef Tapio__Sensor__V1__DnsAnswer pb_dns_answer;

struct dnsd {
	struct observer *o;
	struct dnsp_table *pairs;
	uint64_t timeout_ns;
	uint64_t malformed;
	struct dnsw_msg msg; /* large: parsed into once per record */
};

/* The parts of a DnsEvent that need storage of their own. */
struct dns_out {
	pb_dns pb;
	char client[INET6_ADDRSTRLEN];
	char server[INET6_ADDRSTRLEN];
	char qtype[DNSW_MNEMONIC_BUF];
	char rcode[DNSW_MNEMONIC_BUF];
	pb_dns_answer answers[DNSW_MAX_ANSWERS];
	pb_dns_answer *answer_ptrs[DNSW_MAX_ANSWERS];
	char types[DNSW_MAX_ANSWERS][DNSW_MNEMONIC_BUF];
	char addrs[DNSW_MAX_ANSWERS][INET6_ADDRSTRLEN];
};

struct dnsd *dnsd_new(struct observer *o, uint32_t capacity, uint64_t timeout_ns)
{
	struct dnsd *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->pairs = dnsp_new(capacity);
	if (!d->pairs) {
		free(d);
		return NULL;
	}
	d->o = o;
	d->timeout_ns = timeout_ns;
	return d;
}

void dnsd_free(struct dnsd *d)
{
	if (!d)
		return;
	dnsp_free(d->pairs);
	free(d);
}

void dnsd_counters(const struct dnsd *d, uint64_t out[DNSD_USER_COUNTERS])
{
	struct dnsp_stats st;

	dnsp_get_stats(d->pairs, &st);
	out[DNS_CNT_MALFORMED - DNS_CNT_USER_FIRST] = d->malformed;
	out[DNS_CNT_PAIR_EVICTED - DNS_CNT_USER_FIRST] = st.evicted;
	out[DNS_CNT_TIMEOUTS - DNS_CNT_USER_FIRST] = st.expired;
	out[DNS_CNT_UNPAIRED - DNS_CNT_USER_FIRST] = st.unmatched;
}

static void record_key(const struct dns_record *r, uint16_t id, struct dnsp_key *k)
{
	if (r->family == AF_INET6)
		dnsp_key_v6(k, r->proto, id, r->client, r->client_port, r->server, r->server_port);
	else
		dnsp_key_v4(k, r->proto, id, r->client, r->client_port, r->server, r->server_port);
}

static void addr_text(const struct dnsp_key *k, const uint8_t *a, char *out)
{
	if (!inet_ntop(k->family, a, out, INET6_ADDRSTRLEN))
		out[0] = 0;
}

/* What every DnsEvent carries: the transaction's key. */
static void fill_key(struct dns_out *x, const struct dnsp_key *k)
{
	tapio__sensor__v1__dns_event__init(&x->pb);
	x->pb.id = k->id;
	x->pb.transport = k->proto == IPPROTO_TCP
				  ? TAPIO__SENSOR__V1__DNS_TRANSPORT__DNS_TRANSPORT_TCP
				  : TAPIO__SENSOR__V1__DNS_TRANSPORT__DNS_TRANSPORT_UDP;
	addr_text(k, k->client, x->client);
	addr_text(k, k->server, x->server);
	x->pb.client_address = x->client;
	x->pb.client_port = k->client_port;
	x->pb.server_address = x->server;
	x->pb.server_port = k->server_port;
}

static void fill_question(struct dns_out *x, const char *name, uint16_t qtype)
{
	x->pb.query_name = (char *)name;
	x->pb.query_type = qtype;
	x->pb.query_type_name = (char *)dnsw_type_name(qtype, x->qtype, sizeof(x->qtype));
}

/* Header flags, length, capture and parse status of the message in d->msg. */
static void fill_message(struct dns_out *x, const struct dnsd *d, const struct dns_record *r,
			 int rc)
{
	const struct dnsw_msg *m = &d->msg;

	x->pb.authoritative = m->hdr.aa;
	x->pb.truncated = m->hdr.tc;
	x->pb.recursion_desired = m->hdr.rd;
	x->pb.recursion_available = m->hdr.ra;
	x->pb.message_length = r->wirelen;
	x->pb.capture_truncated = r->caplen < r->wirelen;
	x->pb.parse_error = rc < 0 ? (char *)dnsw_strerror(rc) : "";
	if (m->has_question)
		fill_question(x, m->q.name, m->q.qtype);
}

static void fill_answer(struct dns_out *x, int i, struct dnsw_rr *rr)
{
	pb_dns_answer *a = &x->answers[i];

	tapio__sensor__v1__dns_answer__init(a);
	utf8_scrub(rr->name, strlen(rr->name));
	a->name = rr->name;
	a->type = rr->type;
	a->type_name = (char *)dnsw_type_name(rr->type, x->types[i], sizeof(x->types[i]));
	a->ttl = rr->ttl;
	switch (rr->type) {
	case DNSW_TYPE_A:
		inet_ntop(AF_INET, rr->rd.a, x->addrs[i], sizeof(x->addrs[i]));
		a->address = x->addrs[i];
		break;
	case DNSW_TYPE_AAAA:
		inet_ntop(AF_INET6, rr->rd.aaaa, x->addrs[i], sizeof(x->addrs[i]));
		a->address = x->addrs[i];
		break;
	case DNSW_TYPE_CNAME:
	case DNSW_TYPE_DNAME:
	case DNSW_TYPE_PTR:
	case DNSW_TYPE_NS:
		utf8_scrub(rr->rd.name, strlen(rr->rd.name));
		a->target = rr->rd.name;
		break;
	case DNSW_TYPE_MX:
		utf8_scrub(rr->rd.mx.exchange, strlen(rr->rd.mx.exchange));
		a->target = rr->rd.mx.exchange;
		a->preference = rr->rd.mx.preference;
		break;
	case DNSW_TYPE_SRV:
		utf8_scrub(rr->rd.srv.target, strlen(rr->rd.srv.target));
		a->target = rr->rd.srv.target;
		a->priority = rr->rd.srv.priority;
		a->weight = rr->rd.srv.weight;
		a->port = rr->rd.srv.port;
		break;
	case DNSW_TYPE_TXT:
		utf8_scrub(rr->rd.txt.text, strlen(rr->rd.txt.text));
		a->text = rr->rd.txt.text;
		break;
	default:
		break; /* type and TTL only */
	}
	x->answer_ptrs[i] = a;
}

static void fill_response(struct dns_out *x, struct dnsd *d)
{
	struct dnsw_msg *m = &d->msg;

	x->pb.rcode = m->rcode;
	x->pb.rcode_name = (char *)dnsw_rcode_name(m->rcode, x->rcode, sizeof(x->rcode));
	x->pb.answer_count = m->hdr.ancount;
	for (int i = 0; i < m->nanswers; i++)
		fill_answer(x, i, &m->answers[i]);
	x->pb.answers = x->answer_ptrs;
	x->pb.n_answers = m->nanswers;
}

/* A record header standing for the querying process of a pairing entry. */
static void info_header(struct tp_event_header *h, const struct dnsp_info *in, uint64_t ts_ns)
{
	memset(h, 0, sizeof(*h));
	h->ts_ns = ts_ns;
	h->cgroup_id = in->cgroup_id;
	h->start_ns = in->start_ns;
	h->pid = in->pid;
	h->tid = in->tid;
	memcpy(h->comm, in->comm, sizeof(h->comm));
	h->comm[sizeof(h->comm) - 1] = 0;
}

static void publish(struct dnsd *d, const struct tp_event_header *h, int type, struct dns_out *x)
{
	struct event_ctx c;

	event_begin(&c, d->o, h, type);
	c.ev.payload_case = PB_PAYLOAD(DNS);
	c.ev.dns = &x->pb;
	event_publish(&c);
}

static void info_from_query(struct dnsp_info *in, const struct dns_record *r,
			    const struct dnsw_msg *m)
{
	memset(in, 0, offsetof(struct dnsp_info, qname));
	in->cgroup_id = r->h.cgroup_id;
	in->start_ns = r->h.start_ns;
	in->pid = r->h.pid;
	in->tid = r->h.tid;
	in->netns = r->netns;
	in->sample_every = r->flags & DNS_F_SAMPLED ? r->sample_every : 0;
	memcpy(in->comm, r->h.comm, sizeof(in->comm));
	in->comm[sizeof(in->comm) - 1] = 0;
	in->qtype = m->has_question ? m->q.qtype : 0;
	dnsp_info_set_qname(in, m->has_question ? m->q.name : "");
}

static void decode_query(struct dnsd *d, const struct dns_record *r, int rc)
{
	struct dns_out x;
	struct dnsp_key k;
	struct dnsp_info in;
	struct dnsp_pending p;

	record_key(r, d->msg.hdr.id, &k);
	info_from_query(&in, r, &d->msg);
	dnsp_query(d->pairs, &k, r->h.ts_ns, &in, NULL);
	fill_key(&x, &k);
	fill_message(&x, d, r, rc);
	x.pb.netns_inode = r->netns;
	x.pb.sampled = !!in.sample_every;
	x.pb.sample_every = in.sample_every;
	if (dnsp_lookup(d->pairs, &k, &p) == 0)
		x.pb.retransmits = p.retransmits;
	publish(d, &r->h, PB_TYPE(DNS_QUERY), &x);
}

static void decode_response(struct dnsd *d, const struct dns_record *r, int rc)
{
	struct tp_event_header h;
	struct dns_out x;
	struct dnsp_key k;
	struct dnsp_pending p;
	uint64_t latency = 0;

	record_key(r, d->msg.hdr.id, &k);
	fill_key(&x, &k);
	fill_message(&x, d, r, rc);
	fill_response(&x, d);
	if (dnsp_response(d->pairs, &k, r->h.ts_ns, &latency, &p) == 0) {
		info_header(&h, &p.info, r->h.ts_ns);
		x.pb.netns_inode = p.info.netns;
		x.pb.latency_ns = latency;
		x.pb.retransmits = p.retransmits;
		x.pb.sampled = !!p.info.sample_every;
		x.pb.sample_every = p.info.sample_every;
		if (!d->msg.has_question) /* what was asked is known from the query */
			fill_question(&x, p.info.qname, p.info.qtype);
	} else {
		h = r->h; /* the socket's owner when the kernel knew it, else pid 0 */
		x.pb.netns_inode = r->netns;
		x.pb.unmatched = 1;
		x.pb.sampled = !!(r->flags & DNS_F_SAMPLED);
		x.pb.sample_every = x.pb.sampled ? r->sample_every : 0;
	}
	publish(d, &h, PB_TYPE(DNS_RESPONSE), &x);
}

/* The record's own bounds: nothing in it is trusted before these checks. */
static int record_valid(const struct dns_record *r, size_t len)
{
	if (len < DNS_RECORD_FIXED)
		return 0;
	if (r->h.type != TP_EV_DNS_QUERY && r->h.type != TP_EV_DNS_RESPONSE)
		return 0;
	if (r->direction != (r->h.type == TP_EV_DNS_QUERY ? DNS_DIR_QUERY : DNS_DIR_RESPONSE))
		return 0;
	if (r->family != AF_INET && r->family != AF_INET6)
		return 0;
	if (r->proto != IPPROTO_UDP && r->proto != IPPROTO_TCP)
		return 0;
	if (r->caplen < DNS_HEADER_LEN || r->caplen > DNS_CAPTURE ||
	    r->caplen > len - DNS_RECORD_FIXED || r->caplen > r->wirelen)
		return 0;
	return 1;
}

int dnsd_record(struct dnsd *d, const void *data, size_t len)
{
	struct dns_record r;
	int rc;

	/* The ring buffer is mapped read-only, and only caplen bytes of data are there. */
	if (len > sizeof(r))
		len = sizeof(r);
	memcpy(&r, data, len);
	if (!record_valid(&r, len))
		return -1;
	r.h.comm[sizeof(r.h.comm) - 1] = 0;
	rc = dnsw_parse(r.data, r.caplen, r.wirelen, &d->msg);
	if (rc < 0)
		d->malformed++;
	utf8_scrub(d->msg.q.name, strlen(d->msg.q.name));
	if (r.direction == DNS_DIR_QUERY)
		decode_query(d, &r, rc);
	else
		decode_response(d, &r, rc);
	return 0;
}

struct expire_ctx {
	struct dnsd *d;
	uint64_t now_ns;
};

static void on_expired(const struct dnsp_pending *p, uint64_t age_ns, void *arg)
{
	struct expire_ctx *e = arg;
	struct tp_event_header h;
	struct dns_out x;

	info_header(&h, &p->info, e->now_ns);
	fill_key(&x, &p->key);
	fill_question(&x, p->info.qname, p->info.qtype);
	x.pb.netns_inode = p->info.netns;
	x.pb.latency_ns = age_ns;
	x.pb.retransmits = p->retransmits;
	x.pb.sampled = !!p->info.sample_every;
	x.pb.sample_every = p->info.sample_every;
	publish(e->d, &h, PB_TYPE(DNS_TIMEOUT), &x);
}

uint32_t dnsd_expire(struct dnsd *d, uint64_t now_ns)
{
	struct expire_ctx e = {d, now_ns};

	return dnsp_expire(d->pairs, now_ns, d->timeout_ns, on_expired, &e);
}
