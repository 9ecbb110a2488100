/* The DNS fields of the server-side filters (EventFilter.dns), through the real filter
 * engine: exact and domain-suffix names in any form a user types them, response codes
 * by mnemonic, minimum latency, which event types each field can match, contradictions
 * with the other fields, and every rejection with the field it names. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/pb.h"
#include "hub/filter.h"

typedef Tapio__Sensor__V1__DnsFilter pb_dns_filter;
typedef Tapio__Sensor__V1__DnsNameMatch pb_name_match;
typedef Tapio__Sensor__V1__DnsEvent pb_dns;

static char err[256];

/* An event of the dns observer. */
static pb_event event(int type, const char *name, uint32_t rcode, uint64_t latency, pb_dns *x)
{
	pb_event ev = TAPIO__SENSOR__V1__EVENT__INIT;

	tapio__sensor__v1__dns_event__init(x);
	ev.observer = PB_OBSERVER(DNS);
	ev.type = type;
	ev.payload_case = PB_PAYLOAD(DNS);
	ev.dns = x;
	x->query_name = (char *)name;
	x->rcode = rcode;
	x->latency_ns = latency;
	return ev;
}

static pb_name_match exact(const char *s)
{
	pb_name_match m = TAPIO__SENSOR__V1__DNS_NAME_MATCH__INIT;

	m.match_case = TAPIO__SENSOR__V1__DNS_NAME_MATCH__MATCH_EXACT;
	m.exact = (char *)s;
	return m;
}

static pb_name_match suffix(const char *s)
{
	pb_name_match m = TAPIO__SENSOR__V1__DNS_NAME_MATCH__INIT;

	m.match_case = TAPIO__SENSOR__V1__DNS_NAME_MATCH__MATCH_SUFFIX;
	m.suffix = (char *)s;
	return m;
}

/* Compiles one allow filter holding d (and observers/types when given). */
static struct filter_set *allow(pb_dns_filter *d, char *observer, char *type)
{
	pb_filter f = TAPIO__SENSOR__V1__EVENT_FILTER__INIT, *list[] = {&f};

	f.dns = d;
	if (observer) {
		f.observers = &observer;
		f.n_observers = 1;
	}
	if (type) {
		f.event_types = &type;
		f.n_event_types = 1;
	}
	err[0] = 0;
	return filter_compile(list, 1, NULL, 0, err, sizeof(err));
}

static int matches(struct filter_set *fs, int type, const char *name, uint32_t rcode,
		   uint64_t latency)
{
	pb_dns x;
	pb_event ev = event(type, name, rcode, latency, &x);

	return filter_match(fs, &ev);
}

Test(dns_filter, exact_names_in_any_form)
{
	pb_name_match m[] = {exact("WEB.Test.Tapio."), exact("a\\046b.test")};
	pb_name_match *mp[] = {&m[0], &m[1]};
	pb_dns_filter d = TAPIO__SENSOR__V1__DNS_FILTER__INIT;
	struct filter_set *fs;

	d.query_names = mp;
	d.n_query_names = 2;
	fs = allow(&d, NULL, NULL);
	cr_assert_not_null(fs, "%s", err);
	cr_assert(matches(fs, PB_TYPE(DNS_QUERY), "web.test.tapio", 0, 0));
	cr_assert(matches(fs, PB_TYPE(DNS_RESPONSE), "web.test.tapio", 3, 5));
	cr_assert(matches(fs, PB_TYPE(DNS_TIMEOUT), "web.test.tapio", 0, 9));
	cr_assert(matches(fs, PB_TYPE(DNS_QUERY), "a\\046b.test", 0, 0), "escapes kept");
	cr_assert_not(matches(fs, PB_TYPE(DNS_QUERY), "www.web.test.tapio", 0, 0));
	cr_assert_not(matches(fs, PB_TYPE(DNS_QUERY), "web.test.tapi", 0, 0));
	filter_free(fs);
}

Test(dns_filter, suffix_matches_the_domain_and_below_only)
{
	pb_name_match m[] = {suffix(".Cluster.Local"), suffix("tapio")};
	pb_name_match *mp[] = {&m[0], &m[1]};
	pb_dns_filter d = TAPIO__SENSOR__V1__DNS_FILTER__INIT;
	struct filter_set *fs;

	d.query_names = mp;
	d.n_query_names = 2;
	fs = allow(&d, "dns", NULL);
	cr_assert_not_null(fs, "%s", err);
	cr_assert(matches(fs, PB_TYPE(DNS_QUERY), "cluster.local", 0, 0));
	cr_assert(matches(fs, PB_TYPE(DNS_QUERY), "web.ns.svc.cluster.local", 0, 0));
	cr_assert(matches(fs, PB_TYPE(DNS_QUERY), "test.tapio", 0, 0));
	cr_assert_not(matches(fs, PB_TYPE(DNS_QUERY), "mycluster.local", 0, 0));
	cr_assert_not(matches(fs, PB_TYPE(DNS_QUERY), "local", 0, 0));
	cr_assert_not(matches(fs, PB_TYPE(DNS_QUERY), "tapio.example", 0, 0));
	cr_assert_not(matches(fs, PB_TYPE(DNS_QUERY), "", 0, 0));
	filter_free(fs);
}

Test(dns_filter, rcodes_match_responses_only)
{
	char *codes[] = {"nxdomain", "SERVFAIL", "RCODE12"};
	pb_dns_filter d = TAPIO__SENSOR__V1__DNS_FILTER__INIT;
	struct filter_set *fs;

	d.rcodes = codes;
	d.n_rcodes = 3;
	fs = allow(&d, NULL, "dns_response");
	cr_assert_not_null(fs, "%s", err);
	cr_assert(matches(fs, PB_TYPE(DNS_RESPONSE), "x.test", 3, 1));
	cr_assert(matches(fs, PB_TYPE(DNS_RESPONSE), "x.test", 2, 1));
	cr_assert(matches(fs, PB_TYPE(DNS_RESPONSE), "x.test", 12, 1));
	cr_assert_not(matches(fs, PB_TYPE(DNS_RESPONSE), "x.test", 0, 1));
	filter_free(fs);
	fs = allow(&d, NULL, NULL);
	cr_assert_not(matches(fs, PB_TYPE(DNS_QUERY), "x.test", 3, 0), "a query has no rcode");
	cr_assert_not(matches(fs, PB_TYPE(DNS_TIMEOUT), "x.test", 3, 9));
	filter_free(fs);
}

Test(dns_filter, min_latency_matches_responses_and_timeouts)
{
	pb_dns_filter d = TAPIO__SENSOR__V1__DNS_FILTER__INIT;
	struct filter_set *fs;

	d.min_latency_ns = 100000000;
	fs = allow(&d, NULL, NULL);
	cr_assert_not_null(fs, "%s", err);
	cr_assert(matches(fs, PB_TYPE(DNS_RESPONSE), "slow.test", 0, 100000000));
	cr_assert(matches(fs, PB_TYPE(DNS_TIMEOUT), "slow.test", 0, 5000000000ULL));
	cr_assert_not(matches(fs, PB_TYPE(DNS_RESPONSE), "fast.test", 0, 99999999));
	cr_assert_not(matches(fs, PB_TYPE(DNS_QUERY), "slow.test", 0, 200000000));
	filter_free(fs);
}

Test(dns_filter, fields_combine_and_other_observers_never_match)
{
	pb_name_match m = suffix("test.tapio"), *mp = &m;
	char *codes[] = {"NXDOMAIN"};
	pb_dns_filter d = TAPIO__SENSOR__V1__DNS_FILTER__INIT;
	pb_event other = TAPIO__SENSOR__V1__EVENT__INIT;
	struct filter_set *fs;

	d.query_names = &mp;
	d.n_query_names = 1;
	d.rcodes = codes;
	d.n_rcodes = 1;
	d.min_latency_ns = 10;
	fs = allow(&d, NULL, NULL);
	cr_assert_not_null(fs, "%s", err);
	cr_assert(matches(fs, PB_TYPE(DNS_RESPONSE), "nx.test.tapio", 3, 10));
	cr_assert_not(matches(fs, PB_TYPE(DNS_RESPONSE), "nx.example", 3, 10));
	cr_assert_not(matches(fs, PB_TYPE(DNS_RESPONSE), "nx.test.tapio", 0, 10));
	cr_assert_not(matches(fs, PB_TYPE(DNS_RESPONSE), "nx.test.tapio", 3, 9));
	other.observer = PB_OBSERVER(PROCESS);
	other.type = PB_TYPE(PROCESS_EXEC);
	cr_assert_not(filter_match(fs, &other));
	filter_free(fs);
}

Test(dns_filter, deny_drops_what_matches)
{
	char *codes[] = {"NXDOMAIN"};
	pb_dns_filter d = TAPIO__SENSOR__V1__DNS_FILTER__INIT;
	pb_filter f = TAPIO__SENSOR__V1__EVENT_FILTER__INIT, *deny[] = {&f};
	struct filter_set *fs;

	d.rcodes = codes;
	d.n_rcodes = 1;
	f.dns = &d;
	fs = filter_compile(NULL, 0, deny, 1, err, sizeof(err));
	cr_assert_not_null(fs, "%s", err);
	cr_assert_not(matches(fs, PB_TYPE(DNS_RESPONSE), "nx.test", 3, 1));
	cr_assert(matches(fs, PB_TYPE(DNS_RESPONSE), "web.test", 0, 1));
	cr_assert(matches(fs, PB_TYPE(DNS_QUERY), "nx.test", 0, 0));
	filter_free(fs);
}

Test(dns_filter, rejections_name_the_field)
{
	char long_label[80];
	pb_name_match bad[4], *bp;
	pb_dns_filter d = TAPIO__SENSOR__V1__DNS_FILTER__INIT;
	char *codes[] = {"NOERROR", "NXDOMIAN"};
	static const char *const want[] = {
		"allow[0].dns.query_names[0]: the root as a suffix matches every name; leave it "
		"out",
		"allow[0].dns.query_names[0]: \"a..b\" is not a DNS name (bad presentation name)",
		"allow[0].dns.query_names[0]: set exact or suffix",
		"allow[0].dns.query_names[0]: \"",
	};

	memset(long_label, 'x', 70);
	long_label[70] = 0;
	bad[0] = suffix(".");
	bad[1] = exact("a..b");
	bad[2] = exact("x");
	bad[2].match_case = TAPIO__SENSOR__V1__DNS_NAME_MATCH__MATCH__NOT_SET;
	bad[3] = exact(long_label);
	for (int i = 0; i < 4; i++) {
		bp = &bad[i];
		d.query_names = &bp;
		d.n_query_names = 1;
		cr_assert_null(allow(&d, NULL, NULL), "case %d accepted", i);
		cr_assert(!strncmp(err, want[i], strlen(want[i])), "case %d: %s", i, err);
	}
	cr_assert(strstr(err, "label longer than 63 bytes"), "%s", err);
	d.n_query_names = 0;
	d.rcodes = codes;
	d.n_rcodes = 2;
	cr_assert_null(allow(&d, NULL, NULL));
	cr_assert_str_eq(err, "allow[0].dns.rcodes[1]: unknown rcode \"NXDOMIAN\" (a mnemonic "
			      "like NXDOMAIN, or RCODE<n>)");
}

Test(dns_filter, contradictions_with_observers_and_types)
{
	pb_dns_filter d = TAPIO__SENSOR__V1__DNS_FILTER__INIT;
	struct filter_set *fs;

	d.min_latency_ns = 1;
	cr_assert_null(allow(&d, "process", NULL));
	cr_assert_str_eq(err, "allow[0].dns: contradicts observers: \"dns\" is not listed");
	cr_assert_null(allow(&d, NULL, "process_exec"));
	cr_assert_str_eq(err, "allow[0].dns: contradicts event_types: no dns type is listed");
	fs = allow(&d, "dns", "dns_timeout");
	cr_assert_not_null(fs, "%s", err);
	cr_assert(matches(fs, PB_TYPE(DNS_TIMEOUT), "x.test", 0, 1));
	cr_assert_not(matches(fs, PB_TYPE(DNS_RESPONSE), "x.test", 0, 1));
	filter_free(fs);
}
