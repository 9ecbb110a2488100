/* net_filter.c - see net_filter.h. */
#include "observers/network/net_filter.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errmsg.h"

typedef Tapio__Sensor__V1__NetworkFilter pb_net_filter;
typedef Tapio__Sensor__V1__Endpoint pb_endpoint;

enum net_proto {
	NP_TCP = 1,
	NP_UDP = 2,
	NP_ICMP = 4,
	NP_HTTP = 8,
	NP_GRPC = 16,
};

static const struct {
	const char *name;
	unsigned bit;
} protos[] = {
	{"tcp", NP_TCP}, {"udp", NP_UDP}, {"icmp", NP_ICMP}, {"http", NP_HTTP}, {"grpc", NP_GRPC},
};

/* Addresses are kept as IPv6: an IPv4 address is its ::ffff:a.b.c.d form. */
struct cidr {
	uint8_t addr[16];
	int bits;
};

struct net_filter {
	struct cidr *cidrs;
	size_t n_cidrs;
	uint32_t *ports;
	size_t n_ports;
	unsigned protocols;
	uint32_t min_status;
	uint64_t min_latency;
};

/* What a network event says, whatever its payload. */
struct view {
	const pb_endpoint *a, *b;
	unsigned proto;
	int has_status, has_latency;
	uint32_t status;
	uint64_t latency;
};

static int parse_addr(const char *s, uint8_t out[16], int *max_bits)
{
	struct in_addr v4;

	if (inet_pton(AF_INET6, s, out) == 1) {
		*max_bits = 128;
		return 0;
	}
	if (inet_pton(AF_INET, s, &v4) != 1)
		return -1;
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, &v4, 4);
	*max_bits = 32;
	return 0;
}

/* "10.0.0.0/8", "fd00::/8" or a plain address. */
static int parse_cidr(const char *s, struct cidr *c)
{
	char buf[64], *slash, *end;
	int max_bits;
	long bits;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (parse_addr(buf, c->addr, &max_bits) < 0)
		return -1;
	bits = max_bits;
	if (slash) {
		bits = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || bits < 0 || bits > max_bits)
			return -1;
	}
	c->bits = (int)bits + (max_bits == 32 ? 96 : 0);
	return 0;
}

static int in_cidr(const struct cidr *c, const uint8_t a[16])
{
	int full = c->bits / 8, rest = c->bits % 8;

	if (memcmp(a, c->addr, full))
		return 0;
	return !rest || ((a[full] ^ c->addr[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static int compile_lists(struct net_filter *nf, const pb_net_filter *f, const char *where,
			 char *err, size_t len)
{
	nf->cidrs = calloc(f->n_cidrs + 1, sizeof(*nf->cidrs));
	nf->ports = calloc(f->n_ports + 1, sizeof(*nf->ports));
	if (!nf->cidrs || !nf->ports)
		return errmsg(err, len, "out of memory");
	for (size_t i = 0; i < f->n_cidrs; i++, nf->n_cidrs++)
		if (parse_cidr(f->cidrs[i], &nf->cidrs[i]) < 0)
			return errmsg(err, len, "%s.cidrs[%zu]: \"%s\" is not an address or CIDR",
				      where, i, f->cidrs[i]);
	for (size_t i = 0; i < f->n_ports; i++, nf->n_ports++) {
		if (f->ports[i] < 1 || f->ports[i] > 65535)
			return errmsg(err, len, "%s.ports[%zu]: %u is not a port (1-65535)", where,
				      i, f->ports[i]);
		nf->ports[i] = f->ports[i];
	}
	return 0;
}

static int compile_protocols(struct net_filter *nf, const pb_net_filter *f, const char *where,
			     char *err, size_t len)
{
	for (size_t i = 0; i < f->n_protocols; i++) {
		unsigned bit = 0;

		for (size_t k = 0; k < sizeof(protos) / sizeof(protos[0]); k++)
			if (!strcmp(f->protocols[i], protos[k].name))
				bit = protos[k].bit;
		if (!bit)
			return errmsg(err, len,
				      "%s.protocols[%zu]: unknown protocol \"%s\" (tcp, udp, icmp, "
				      "http, grpc)",
				      where, i, f->protocols[i]);
		nf->protocols |= bit;
	}
	return 0;
}

struct net_filter *net_filter_compile(const pb_net_filter *f, const char *where, char *err,
				      size_t errlen)
{
	struct net_filter *nf = calloc(1, sizeof(*nf));

	if (!nf) {
		errmsg(err, errlen, "out of memory");
		return NULL;
	}
	nf->min_status = f->min_http_status;
	nf->min_latency = f->min_latency_ns;
	if (compile_lists(nf, f, where, err, errlen) < 0 ||
	    compile_protocols(nf, f, where, err, errlen) < 0) {
		net_filter_free(nf);
		return NULL;
	}
	return nf;
}

void net_filter_free(struct net_filter *f)
{
	if (!f)
		return;
	free(f->cidrs);
	free(f->ports);
	free(f);
}

static unsigned drop_proto(uint32_t ip_protocol)
{
	switch (ip_protocol) {
	case IPPROTO_TCP:
		return NP_TCP;
	case IPPROTO_UDP:
		return NP_UDP;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return NP_ICMP;
	default:
		return 0;
	}
}

static void endpoints(struct view *v, const pb_endpoint *a, const pb_endpoint *b, unsigned proto)
{
	v->a = a;
	v->b = b;
	v->proto = proto;
}

/* The endpoints and figures of a network event; 0 for any other event. */
static int view_of(const pb_event *ev, struct view *v)
{
	memset(v, 0, sizeof(*v));
	switch (ev->payload_case) {
	case PB_PAYLOAD(TCP_CONNECTION):
		endpoints(v, ev->tcp_connection->local, ev->tcp_connection->remote, NP_TCP);
		return 1;
	case PB_PAYLOAD(TCP_RETRANSMIT):
		endpoints(v, ev->tcp_retransmit->local, ev->tcp_retransmit->remote, NP_TCP);
		return 1;
	case PB_PAYLOAD(TCP_RESET):
		endpoints(v, ev->tcp_reset->local, ev->tcp_reset->remote, NP_TCP);
		return 1;
	case PB_PAYLOAD(PACKET_DROP):
		endpoints(v, ev->packet_drop->source, ev->packet_drop->destination,
			  drop_proto(ev->packet_drop->ip_protocol));
		return 1;
	case PB_PAYLOAD(HTTP):
		endpoints(v, ev->http->local, ev->http->remote, NP_HTTP);
		v->has_status = v->has_latency = 1;
		v->status = ev->http->status;
		v->latency = ev->http->latency_ns;
		return 1;
	case PB_PAYLOAD(GRPC):
		endpoints(v, ev->grpc->local, ev->grpc->remote, NP_GRPC);
		v->has_latency = 1;
		v->latency = ev->grpc->latency_ns;
		return 1;
	case PB_PAYLOAD(UDP_FLOW):
		endpoints(v, ev->udp_flow->local, ev->udp_flow->remote, NP_UDP);
		return 1;
	default:
		return 0;
	}
}

static int endpoint_in(const struct net_filter *f, const pb_endpoint *e)
{
	uint8_t a[16];
	int bits;

	if (!e || !e->ip || parse_addr(e->ip, a, &bits) < 0)
		return 0;
	for (size_t i = 0; i < f->n_cidrs; i++)
		if (in_cidr(&f->cidrs[i], a))
			return 1;
	return 0;
}

static int port_in(const struct net_filter *f, const pb_endpoint *e)
{
	for (size_t i = 0; e && i < f->n_ports; i++)
		if (f->ports[i] == e->port)
			return 1;
	return 0;
}

int net_filter_match(const struct net_filter *f, const pb_event *ev)
{
	struct view v;

	if (!view_of(ev, &v))
		return 0;
	if (f->n_cidrs && !endpoint_in(f, v.a) && !endpoint_in(f, v.b))
		return 0;
	if (f->n_ports && !port_in(f, v.a) && !port_in(f, v.b))
		return 0;
	if (f->protocols && !(f->protocols & v.proto))
		return 0;
	if (f->min_status && !(v.has_status && v.status >= f->min_status))
		return 0;
	return !f->min_latency || (v.has_latency && v.latency >= f->min_latency);
}
