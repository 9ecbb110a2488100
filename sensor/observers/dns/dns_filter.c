/* dns_filter.c - see dns_filter.h. */
#include "observers/dns/dns_filter.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/errmsg.h"
#include "observers/dns/dns_wire.h"

#define RCODE_MAX 4095 /* 12 bits with the EDNS extension */

struct name_match {
	int suffix;
	size_t len;
	char *name; /* canonical form */
};

struct dns_filter {
	struct name_match *names;
	size_t n_names;
	uint16_t *rcodes;
	size_t n_rcodes;
	uint64_t min_latency_ns;
};

void dns_filter_free(struct dns_filter *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_names; i++)
		free(f->names[i].name);
	free(f->names);
	free(f->rcodes);
	free(f);
}

static int compile_name(struct name_match *m, const Tapio__Sensor__V1__DnsNameMatch *pm,
			const char *where, size_t i, char *err, size_t len)
{
	char canon[DNSW_NAME_BUF];
	const char *text;
	int rc;

	if (pm->match_case == TAPIO__SENSOR__V1__DNS_NAME_MATCH__MATCH_EXACT) {
		text = pm->exact;
	} else if (pm->match_case == TAPIO__SENSOR__V1__DNS_NAME_MATCH__MATCH_SUFFIX) {
		text = pm->suffix;
		m->suffix = 1;
		if (text[0] == '.' && text[1]) /* ".cluster.local" says the same */
			text++;
	} else {
		return errmsg(err, len, "%s.query_names[%zu]: set exact or suffix", where, i);
	}
	rc = dnsw_name_canonical(text, canon);
	if (rc)
		return errmsg(err, len, "%s.query_names[%zu]: \"%s\" is not a DNS name (%s)", where,
			      i, text, dnsw_strerror(rc));
	if (m->suffix && !strcmp(canon, "."))
		return errmsg(err, len,
			      "%s.query_names[%zu]: the root as a suffix matches every name; "
			      "leave it out",
			      where, i);
	m->name = strdup(canon);
	m->len = strlen(canon);
	return m->name ? 0 : errmsg(err, len, "out of memory");
}

/* The mnemonics are the ones events carry: every code's name is tried. */
static int rcode_by_name(const char *name)
{
	char buf[DNSW_MNEMONIC_BUF];

	for (int code = 0; code <= RCODE_MAX; code++)
		if (!strcasecmp(name, dnsw_rcode_name((uint16_t)code, buf, sizeof(buf))))
			return code;
	return -1;
}

static int compile_rcodes(struct dns_filter *f, const Tapio__Sensor__V1__DnsFilter *pf,
			  const char *where, char *err, size_t len)
{
	if (!pf->n_rcodes)
		return 0;
	f->rcodes = calloc(pf->n_rcodes, sizeof(*f->rcodes));
	if (!f->rcodes)
		return errmsg(err, len, "out of memory");
	for (size_t i = 0; i < pf->n_rcodes; i++) {
		int code = rcode_by_name(pf->rcodes[i]);

		if (code < 0)
			return errmsg(err, len,
				      "%s.rcodes[%zu]: unknown rcode \"%s\" (a mnemonic like "
				      "NXDOMAIN, or RCODE<n>)",
				      where, i, pf->rcodes[i]);
		f->rcodes[f->n_rcodes++] = (uint16_t)code;
	}
	return 0;
}

struct dns_filter *dns_filter_compile(const Tapio__Sensor__V1__DnsFilter *pf, const char *where,
				      char *err, size_t errlen)
{
	struct dns_filter *f = calloc(1, sizeof(*f));

	if (!f) {
		errmsg(err, errlen, "out of memory");
		return NULL;
	}
	f->min_latency_ns = pf->min_latency_ns;
	if (pf->n_query_names) {
		f->names = calloc(pf->n_query_names, sizeof(*f->names));
		if (!f->names) {
			errmsg(err, errlen, "out of memory");
			goto fail;
		}
	}
	for (size_t i = 0; i < pf->n_query_names; i++) {
		if (compile_name(&f->names[i], pf->query_names[i], where, i, err, errlen) < 0)
			goto fail;
		f->n_names++;
	}
	if (compile_rcodes(f, pf, where, err, errlen) < 0)
		goto fail;
	return f;
fail:
	dns_filter_free(f);
	return NULL;
}

/* A domain suffix matches on a label boundary: the name itself or ".<suffix>" at its
 * end. */
static int name_match(const struct name_match *m, const char *name)
{
	size_t n = strlen(name);

	if (!m->suffix || n == m->len)
		return n == m->len && !memcmp(name, m->name, n);
	return n > m->len && name[n - m->len - 1] == '.' &&
	       !memcmp(name + n - m->len, m->name, m->len);
}

static int any_name(const struct dns_filter *f, const char *name)
{
	for (size_t i = 0; i < f->n_names; i++)
		if (name_match(&f->names[i], name))
			return 1;
	return 0;
}

static int any_rcode(const struct dns_filter *f, uint32_t rcode)
{
	for (size_t i = 0; i < f->n_rcodes; i++)
		if (f->rcodes[i] == rcode)
			return 1;
	return 0;
}

int dns_filter_match(const struct dns_filter *f, const pb_event *ev)
{
	const Tapio__Sensor__V1__DnsEvent *x = ev->payload_case == PB_PAYLOAD(DNS) ? ev->dns : NULL;

	if (!x)
		return 0;
	if (f->n_names && !(x->query_name && any_name(f, x->query_name)))
		return 0;
	if (f->n_rcodes && !(ev->type == PB_TYPE(DNS_RESPONSE) && any_rcode(f, x->rcode)))
		return 0;
	if (f->min_latency_ns &&
	    !(ev->type != PB_TYPE(DNS_QUERY) && x->latency_ns >= f->min_latency_ns))
		return 0;
	return 1;
}
