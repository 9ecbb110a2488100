/* dns_wire.c - DNS wire-format parser: header, first question, answers, the authority SOA,
 * the EDNS OPT record, names with compression, TCP framing and mnemonics (see dns_wire.h).
 *
 * Bounds discipline: a reader only touches buf[off] after checking off against a limit that
 * is at most the captured length, and compares lengths from the packet by subtraction from
 * that limit (never by adding them to an offset), so no packet value can overflow a check.
 */
#include "observers/dns/dns_wire.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Smallest wire size of a question (root name + type + class) and of a record (root name +
 * type, class, ttl, rdlength): what the section counts promise at the least. */
#define QUESTION_MIN 5
#define RR_MIN 11
#define RR_FIXED 10 /* type, class, ttl, rdlength after the owner name */
#define SOA_FIXED 20
#define EDNS_OPT_EDE 15

_Static_assert(DNSW_NAME_BUF >= 1004, "a fully escaped 255-byte name renders to 1003 chars");
_Static_assert(DNSW_TXT_BUF >= 8, "room for one quoted escape");

struct parser {
	const uint8_t *buf;
	size_t cap;  /* captured bytes: every read stays below */
	size_t wire; /* the message's real length */
	size_t off;  /* next unread byte; moves only past complete fields */
	bool hard;   /* a field claimed to run past the message itself, not just the capture */
};

/* Fixed part of a record, read after its owner name. */
struct rr_head {
	uint16_t type, rclass, rdlength;
	uint32_t ttl;
	size_t name_off;
	size_t rdoff;
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static char *put_ddd(char *o, uint8_t c)
{
	o[0] = '\\';
	o[1] = (char)('0' + c / 100);
	o[2] = (char)('0' + c / 10 % 10);
	o[3] = (char)('0' + c % 10);
	return o + 4;
}

/* Lower-case, and escape whatever could end a label, a quoted string or a log line. */
static char *put_label(char *o, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];

		if (c >= 'A' && c <= 'Z')
			c |= 0x20;
		if (c > ' ' && c < 0x7f && c != '.' && c != '\\' && c != '"')
			*o++ = (char)c;
		else
			o = put_ddd(o, c);
	}
	return o;
}

/* A pointer at *pos moves the walk to an earlier offset. Requiring the target to lie before
 * the start of the run being read (run) makes successive runs strictly decreasing, so a walk
 * always ends; a target inside the current run could only re-read it. */
static int follow_pointer(const uint8_t *buf, size_t lim, size_t *pos, size_t *run, unsigned *hops)
{
	size_t target;

	if (lim - *pos < 2)
		return DNSW_ERR_TRUNCATED;
	target = (size_t)(buf[*pos] & 0x3f) << 8 | buf[*pos + 1];
	if (target >= *pos || target < DNSW_HEADER_LEN)
		return DNSW_ERR_BAD_POINTER;
	if (target >= *run || ++*hops > DNSW_MAX_HOPS)
		return DNSW_ERR_POINTER_LOOP;
	*pos = *run = target;
	return DNSW_OK;
}

/* Reads the name at off. Its own (inline) bytes must lie below lim, the end of the buffer or
 * of the rdata holding it; bytes reached through pointers lie below cap. Renders into out
 * (DNSW_NAME_BUF bytes) unless out is NULL, and sets *next past the inline bytes. */
static int name_read(const uint8_t *buf, size_t cap, size_t off, size_t lim, char *out,
		     size_t *next)
{
	size_t pos = off, run = off, wire = 1; /* 1: the root octet */
	unsigned hops = 0;
	bool jumped = false;
	char *o = out;
	int rc;

	for (;;) {
		uint8_t len;

		if (pos >= lim)
			return DNSW_ERR_TRUNCATED;
		len = buf[pos];
		if (len == 0)
			break;
		if ((len & 0xc0) == 0xc0) {
			if (!jumped)
				*next = pos + 2;
			rc = follow_pointer(buf, lim, &pos, &run, &hops);
			if (rc)
				return rc;
			jumped = true;
			lim = cap;
			continue;
		}
		if (len & 0xc0)
			return DNSW_ERR_LABEL_TYPE;
		wire += 1u + len;
		if (wire > DNSW_WIRE_NAME_MAX)
			return DNSW_ERR_NAME_TOO_LONG;
		if (len >= lim - pos)
			return DNSW_ERR_TRUNCATED;
		if (o && o != out)
			*o++ = '.';
		if (o)
			o = put_label(o, buf + pos + 1, len);
		pos += 1u + len;
	}
	if (!jumped)
		*next = pos + 1;
	if (o && o == out)
		*o++ = '.';
	if (o)
		*o = '\0';
	return DNSW_OK;
}

static void header_read(const uint8_t *b, struct dnsw_header *h)
{
	h->id = rd16(b);
	h->qr = b[2] >> 7;
	h->opcode = (b[2] >> 3) & 0xf;
	h->aa = (b[2] >> 2) & 1;
	h->tc = (b[2] >> 1) & 1;
	h->rd = b[2] & 1;
	h->ra = b[3] >> 7;
	h->z = (b[3] >> 6) & 1;
	h->ad = (b[3] >> 5) & 1;
	h->cd = (b[3] >> 4) & 1;
	h->rcode = b[3] & 0xf;
	h->qdcount = rd16(b + 4);
	h->ancount = rd16(b + 6);
	h->nscount = rd16(b + 8);
	h->arcount = rd16(b + 10);
}

/* Rejects counts no message of this length could hold, before any loop trusts them. */
static bool counts_fit(const struct dnsw_header *h, size_t wire)
{
	size_t rrs = (size_t)h->ancount + h->nscount + h->arcount;

	return DNSW_HEADER_LEN + QUESTION_MIN * (size_t)h->qdcount + RR_MIN * rrs <= wire;
}

static int question_read(struct parser *p, struct dnsw_msg *m)
{
	size_t next;
	int rc = name_read(p->buf, p->cap, p->off, p->cap, m->q.name, &next);

	if (rc)
		return rc;
	if (p->cap - next < 4)
		return DNSW_ERR_TRUNCATED;
	m->q.qtype = rd16(p->buf + next);
	m->q.qclass = rd16(p->buf + next + 2);
	p->off = next + 4;
	m->has_question = 1;
	return DNSW_OK;
}

/* Questions after the first are only framed. */
static int questions_skip(struct parser *p, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		size_t next;
		int rc = name_read(p->buf, p->cap, p->off, p->cap, NULL, &next);

		if (rc)
			return rc;
		if (p->cap - next < 4)
			return DNSW_ERR_TRUNCATED;
		p->off = next + 4;
	}
	return DNSW_OK;
}

/* Owner name (rendered into name unless NULL) and fixed fields; the rdata must be captured
 * whole. p->off moves past the record only when all of it is there. */
static int rr_head_read(struct parser *p, char *name, struct rr_head *h)
{
	size_t next;
	int rc = name_read(p->buf, p->cap, p->off, p->cap, name, &next);

	if (rc)
		return rc;
	if (p->cap - next < RR_FIXED)
		return DNSW_ERR_TRUNCATED;
	h->name_off = p->off;
	h->type = rd16(p->buf + next);
	h->rclass = rd16(p->buf + next + 2);
	h->ttl = rd32(p->buf + next + 4);
	h->rdlength = rd16(p->buf + next + 8);
	h->rdoff = next + RR_FIXED;
	if (h->rdlength > p->wire - h->rdoff)
		p->hard = true;
	if (h->rdlength > p->cap - h->rdoff)
		return DNSW_ERR_TRUNCATED;
	p->off = h->rdoff + h->rdlength;
	return DNSW_OK;
}

/* A name filling the rdata from rdoff + skip to its end exactly. */
static int rd_name(const struct parser *p, const struct rr_head *h, size_t skip, char *out)
{
	size_t end = h->rdoff + h->rdlength, next;
	int rc;

	if (h->rdlength < skip + 1)
		return DNSW_ERR_RDATA;
	rc = name_read(p->buf, p->cap, h->rdoff + skip, end, out, &next);
	if (rc == DNSW_ERR_TRUNCATED || (rc == DNSW_OK && next != end))
		return DNSW_ERR_RDATA;
	return rc;
}

static int rd_fixed(const struct parser *p, const struct rr_head *h, uint8_t *out, size_t len)
{
	if (h->rdlength != len)
		return DNSW_ERR_RDATA;
	memcpy(out, p->buf + h->rdoff, len);
	return DNSW_OK;
}

static int rd_soa(const struct parser *p, const struct rr_head *h, struct dnsw_soa *soa)
{
	size_t end = h->rdoff + h->rdlength, mid, tail;
	int rc = name_read(p->buf, p->cap, h->rdoff, end, soa->mname, &mid);

	if (rc == DNSW_OK)
		rc = name_read(p->buf, p->cap, mid, end, soa->rname, &tail);
	if (rc == DNSW_ERR_TRUNCATED || (rc == DNSW_OK && end - tail != SOA_FIXED))
		return DNSW_ERR_RDATA;
	if (rc)
		return rc;
	soa->serial = rd32(p->buf + tail);
	soa->refresh = rd32(p->buf + tail + 4);
	soa->retry = rd32(p->buf + tail + 8);
	soa->expire = rd32(p->buf + tail + 12);
	soa->minimum = rd32(p->buf + tail + 16);
	return DNSW_OK;
}

/* Width of c inside a quoted TXT string, its text written to esc. */
static size_t txt_char(uint8_t c, char esc[4])
{
	if (c >= ' ' && c < 0x7f && c != '"' && c != '\\') {
		esc[0] = (char)c;
		return 1;
	}
	put_ddd(esc, c);
	return 4;
}

/* Appends one quoted string at *pos. Two bytes stay reserved for the closing quote and the
 * NUL, so a string cut short is still closed. */
static void txt_append(struct dnsw_txt *t, size_t *pos, const uint8_t *s, size_t n)
{
	char *o = t->text + *pos;
	char *end = t->text + DNSW_TXT_BUF - 2;

	if (end - o < 2) {
		t->cut = 1;
		return;
	}
	if (*pos)
		*o++ = ' ';
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		char esc[4];
		size_t w = txt_char(s[i], esc);

		if ((size_t)(end - o) < w) {
			t->cut = 1;
			break;
		}
		memcpy(o, esc, w);
		o += w;
	}
	*o++ = '"';
	*o = '\0';
	*pos = (size_t)(o - t->text);
}

/* character-strings back to back, each a length octet then that many bytes. */
static int rd_txt(const struct parser *p, const struct rr_head *h, struct dnsw_txt *t)
{
	const uint8_t *r = p->buf + h->rdoff;
	size_t n = h->rdlength, i = 0, pos = 0;

	t->nstrings = 0;
	t->cut = 0;
	t->text[0] = '\0';
	while (i < n) {
		size_t len = r[i];

		if (len >= n - i)
			return DNSW_ERR_RDATA;
		if (!t->cut)
			txt_append(t, &pos, r + i + 1, len);
		t->nstrings++;
		i += 1 + len;
	}
	return DNSW_OK;
}

static int rdata_read(const struct parser *p, const struct rr_head *h, struct dnsw_rr *rr)
{
	const uint8_t *r = p->buf + h->rdoff;

	switch (h->type) {
	case DNSW_TYPE_A:
		return rd_fixed(p, h, rr->rd.a, sizeof(rr->rd.a));
	case DNSW_TYPE_AAAA:
		return rd_fixed(p, h, rr->rd.aaaa, sizeof(rr->rd.aaaa));
	case DNSW_TYPE_NS:
	case DNSW_TYPE_CNAME:
	case DNSW_TYPE_PTR:
	case DNSW_TYPE_DNAME:
		return rd_name(p, h, 0, rr->rd.name);
	case DNSW_TYPE_MX:
		if (h->rdlength < 2)
			return DNSW_ERR_RDATA;
		rr->rd.mx.preference = rd16(r);
		return rd_name(p, h, 2, rr->rd.mx.exchange);
	case DNSW_TYPE_SRV:
		if (h->rdlength < 6)
			return DNSW_ERR_RDATA;
		rr->rd.srv.priority = rd16(r);
		rr->rd.srv.weight = rd16(r + 2);
		rr->rd.srv.port = rd16(r + 4);
		return rd_name(p, h, 6, rr->rd.srv.target);
	case DNSW_TYPE_TXT:
		return rd_txt(p, h, &rr->rd.txt);
	case DNSW_TYPE_SOA:
		return rd_soa(p, h, &rr->rd.soa);
	default:
		return DNSW_OK;
	}
}

static int answer_read(struct parser *p, struct dnsw_rr *rr)
{
	struct rr_head h;
	int rc = rr_head_read(p, rr->name, &h);

	if (rc)
		return rc;
	rr->type = h.type;
	rr->rclass = h.rclass;
	rr->ttl = h.ttl;
	rr->rdlength = h.rdlength;
	rr->rdoffset = (uint32_t)h.rdoff;
	return rdata_read(p, &h, rr);
}

static int answers_read(struct parser *p, struct dnsw_msg *m)
{
	for (unsigned i = 0; i < m->hdr.ancount; i++) {
		struct rr_head h;
		int rc;

		if (m->nanswers < DNSW_MAX_ANSWERS) {
			rc = answer_read(p, &m->answers[m->nanswers]);
			if (rc)
				return rc;
			m->nanswers++;
			continue;
		}
		rc = rr_head_read(p, NULL, &h);
		if (rc)
			return rc;
		m->answers_skipped++;
	}
	return DNSW_OK;
}

/* Every owner is rendered into soa.name until an SOA keeps it: a negative answer's
 * authority holds that one record, so there is no other name to spend time on. */
static int authority_read(struct parser *p, struct dnsw_msg *m)
{
	for (unsigned i = 0; i < m->hdr.nscount; i++) {
		struct rr_head h;
		int rc = rr_head_read(p, m->has_soa ? NULL : m->soa.name, &h);

		if (rc)
			return rc;
		if (m->has_soa || h.type != DNSW_TYPE_SOA)
			continue;
		m->soa.type = h.type;
		m->soa.rclass = h.rclass;
		m->soa.ttl = h.ttl;
		m->soa.rdlength = h.rdlength;
		m->soa.rdoffset = (uint32_t)h.rdoff;
		rc = rd_soa(p, &h, &m->soa.rd.soa);
		if (rc)
			return rc;
		m->has_soa = 1;
	}
	if (!m->has_soa)
		m->soa.name[0] = '\0';
	return DNSW_OK;
}

/* OPT options are code, length, data; only the first Extended DNS Error is kept. */
static int edns_options(const uint8_t *r, size_t n, struct dnsw_edns *e)
{
	size_t i = 0;

	while (n - i >= 4) {
		uint16_t code = rd16(r + i), len = rd16(r + i + 2);

		if (len > n - i - 4)
			return DNSW_ERR_RDATA;
		if (code == EDNS_OPT_EDE && len >= 2 && e->ede == DNSW_EDE_NONE)
			e->ede = rd16(r + i + 4);
		i += 4u + len;
	}
	return i == n ? DNSW_OK : DNSW_ERR_RDATA;
}

/* The OPT record's class and TTL are reused as payload size and flag fields (RFC 6891). */
static int edns_read(const struct parser *p, const struct rr_head *h, struct dnsw_msg *m)
{
	struct dnsw_edns *e = &m->edns;
	int rc;

	e->udp_size = h->rclass;
	e->ext_rcode = (uint8_t)(h->ttl >> 24);
	e->version = (uint8_t)(h->ttl >> 16);
	e->do_bit = (h->ttl >> 15) & 1;
	e->rdlength = h->rdlength;
	rc = edns_options(p->buf + h->rdoff, h->rdlength, e);
	if (rc)
		return rc;
	m->rcode = (uint16_t)(m->hdr.rcode | e->ext_rcode << 4);
	m->has_edns = 1;
	return DNSW_OK;
}

/* Only an OPT owned by the root counts as EDNS; other additional records are framed. */
static int additional_read(struct parser *p, struct dnsw_msg *m)
{
	for (unsigned i = 0; i < m->hdr.arcount; i++) {
		struct rr_head h;
		int rc = rr_head_read(p, NULL, &h);

		if (rc)
			return rc;
		if (h.type != DNSW_TYPE_OPT || m->has_edns || p->buf[h.name_off] != 0)
			continue;
		rc = edns_read(p, &h, m);
		if (rc)
			return rc;
	}
	return DNSW_OK;
}

static int records_read(struct parser *p, struct dnsw_msg *m)
{
	int rc = m->hdr.qdcount > 1 ? questions_skip(p, m->hdr.qdcount - 1u) : DNSW_OK;

	if (rc == DNSW_OK)
		rc = answers_read(p, m);
	if (rc == DNSW_OK)
		rc = authority_read(p, m);
	if (rc == DNSW_OK)
		rc = additional_read(p, m);
	return rc;
}

/* Only the scalars and the first byte of each string: the arrays stay untouched until a
 * record is decoded into them, which keeps a parse of a short message cheap. */
static void msg_reset(struct dnsw_msg *m)
{
	memset(&m->hdr, 0, sizeof(m->hdr));
	m->rcode = 0;
	m->has_question = m->truncated = m->has_soa = m->has_edns = 0;
	m->nanswers = m->answers_skipped = 0;
	m->end = 0;
	memset(&m->edns, 0, sizeof(m->edns));
	m->edns.ede = DNSW_EDE_NONE;
	m->q.qtype = m->q.qclass = 0;
	m->q.name[0] = '\0';
	m->soa.name[0] = '\0';
}

int dnsw_parse(const uint8_t *buf, size_t caplen, size_t wirelen, struct dnsw_msg *msg)
{
	struct parser p = {
		.buf = buf,
		.cap = buf ? caplen : 0,
		.wire = wirelen < caplen ? caplen : wirelen,
		.off = DNSW_HEADER_LEN,
	};
	int rc;

	msg_reset(msg);
	if (p.cap < DNSW_HEADER_LEN)
		return DNSW_ERR_TRUNCATED;
	header_read(buf, &msg->hdr);
	msg->rcode = msg->hdr.rcode;
	msg->end = DNSW_HEADER_LEN;
	if (!counts_fit(&msg->hdr, p.wire))
		return DNSW_ERR_COUNTS;
	rc = msg->hdr.qdcount ? question_read(&p, msg) : DNSW_OK;
	msg->end = (uint32_t)p.off;
	if (rc)
		return rc;
	rc = records_read(&p, msg);
	msg->end = (uint32_t)p.off;
	if (rc == DNSW_ERR_TRUNCATED && p.cap < p.wire && !p.hard) {
		msg->truncated = 1;
		return DNSW_PARTIAL;
	}
	return rc;
}

int dnsw_tcp_frame(const uint8_t *buf, size_t len, struct dnsw_frame *f)
{
	f->msg = NULL;
	f->caplen = 0;
	f->wirelen = 0;
	f->needed = 2;
	if (!buf || len < 2)
		return DNSW_ERR_TRUNCATED;
	f->wirelen = rd16(buf);
	f->needed = 2 + f->wirelen;
	if (f->wirelen < DNSW_HEADER_LEN)
		return DNSW_ERR_TRUNCATED;
	f->msg = buf + 2;
	f->caplen = len - 2 < f->wirelen ? len - 2 : f->wirelen;
	return f->caplen == f->wirelen ? DNSW_OK : DNSW_PARTIAL;
}

/* \DDD (decimal, at most 255) or \X for the literal X; *s points at the backslash. */
static int escape_decode(const char **s, uint8_t *out)
{
	const char *p = *s + 1;

	if (*p >= '0' && *p <= '9') {
		unsigned v = 0;

		for (int i = 0; i < 3; i++, p++) {
			if (*p < '0' || *p > '9')
				return DNSW_ERR_SYNTAX;
			v = v * 10 + (unsigned)(*p - '0');
		}
		if (v > 255)
			return DNSW_ERR_SYNTAX;
		*out = (uint8_t)v;
	} else if (*p) {
		*out = (uint8_t)*p++;
	} else {
		return DNSW_ERR_SYNTAX;
	}
	*s = p;
	return DNSW_OK;
}

/* out[lab] is the current label's length octet, its content follows; the checks keep room
 * for the root octet, so the last index written is at most 254. */
int dnsw_name_encode(const char *text, uint8_t out[DNSW_WIRE_NAME_MAX], size_t *len)
{
	size_t lab = 0, llen = 0;
	const char *s = text;

	if (strcmp(text, ".") == 0) {
		out[0] = 0;
		*len = 1;
		return DNSW_OK;
	}
	while (*s) {
		uint8_t c = (uint8_t)*s;
		int rc;

		if (c == '.') {
			if (llen == 0)
				return DNSW_ERR_SYNTAX;
			out[lab] = (uint8_t)llen;
			lab += 1 + llen;
			llen = 0;
			s++;
			continue;
		}
		if (c == '\\') {
			rc = escape_decode(&s, &c);
			if (rc)
				return rc;
		} else {
			s++;
		}
		if (llen == DNSW_LABEL_MAX)
			return DNSW_ERR_LABEL_TOO_LONG;
		if (lab + 1 + llen > DNSW_WIRE_NAME_MAX - 2)
			return DNSW_ERR_NAME_TOO_LONG;
		out[lab + 1 + llen++] = c;
	}
	if (llen == 0 && lab == 0)
		return DNSW_ERR_SYNTAX;
	if (llen) {
		out[lab] = (uint8_t)llen;
		lab += 1 + llen;
	}
	out[lab] = 0;
	*len = lab + 1;
	return DNSW_OK;
}

/* The wire form holds no compression pointer, so rendering reads it whole from offset 0. */
int dnsw_name_canonical(const char *text, char *out)
{
	uint8_t wire[DNSW_WIRE_NAME_MAX];
	size_t len, next;
	int rc = dnsw_name_encode(text, wire, &len);

	if (rc)
		return rc;
	return name_read(wire, len, 0, len, out, &next);
}

/* IANA "Resource Record (RR) TYPEs", the ones a node's traffic plausibly carries. */
static const struct {
	uint16_t type;
	const char *name;
} type_names[] = {
	{1, "A"},	    {2, "NS"},	    {5, "CNAME"},   {6, "SOA"},	      {12, "PTR"},
	{13, "HINFO"},	    {15, "MX"},	    {16, "TXT"},    {17, "RP"},	      {18, "AFSDB"},
	{24, "SIG"},	    {25, "KEY"},    {28, "AAAA"},   {29, "LOC"},      {33, "SRV"},
	{35, "NAPTR"},	    {36, "KX"},	    {37, "CERT"},   {39, "DNAME"},    {41, "OPT"},
	{42, "APL"},	    {43, "DS"},	    {44, "SSHFP"},  {45, "IPSECKEY"}, {46, "RRSIG"},
	{47, "NSEC"},	    {48, "DNSKEY"}, {49, "DHCID"},  {50, "NSEC3"},    {51, "NSEC3PARAM"},
	{52, "TLSA"},	    {53, "SMIMEA"}, {55, "HIP"},    {59, "CDS"},      {60, "CDNSKEY"},
	{61, "OPENPGPKEY"}, {62, "CSYNC"},  {63, "ZONEMD"}, {64, "SVCB"},     {65, "HTTPS"},
	{99, "SPF"},	    {249, "TKEY"},  {250, "TSIG"},  {251, "IXFR"},    {252, "AXFR"},
	{255, "ANY"},	    {256, "URI"},   {257, "CAA"},
};

const char *dnsw_type_name(uint16_t type, char *buf, size_t size)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (type_names[i].type == type)
			return type_names[i].name;
	}
	snprintf(buf, size, "TYPE%u", (unsigned)type);
	return buf;
}

/* RFC 6895 registry; 16 is both BADVERS (OPT) and BADSIG (TSIG): the EDNS meaning is the
 * one a response's 12-bit rcode carries. */
static const char *const rcode_names[] = {
	"NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",   "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE",  "DSOTYPENI",
	NULL,	    NULL,      NULL,	   NULL,       "BADVERS",  "BADKEY",
	"BADTIME",  "BADMODE", "BADNAME",  "BADALG",   "BADTRUNC", "BADCOOKIE",
};

const char *dnsw_rcode_name(uint16_t rcode, char *buf, size_t size)
{
	if (rcode < sizeof(rcode_names) / sizeof(rcode_names[0]) && rcode_names[rcode])
		return rcode_names[rcode];
	snprintf(buf, size, "RCODE%u", (unsigned)rcode);
	return buf;
}

/* Indexed by status - DNSW_ERR_SYNTAX. */
static const char *const status_texts[] = {
	"bad presentation name",
	"rdata does not match its type",
	"section counts do not fit the message",
	"extended or reserved label type",
	"label longer than 63 bytes",
	"name longer than 255 bytes",
	"compression pointer loop or too many hops",
	"compression pointer forward, to itself or out of range",
	"message ends inside a field",
	"ok",
	"message cut by the capture bound",
};

const char *dnsw_strerror(int status)
{
	if (status < DNSW_ERR_SYNTAX || status > DNSW_PARTIAL)
		return "unknown status";
	return status_texts[status - DNSW_ERR_SYNTAX];
}
