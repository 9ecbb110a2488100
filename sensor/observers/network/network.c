/* network.c - the network observer (bpf/network.bpf.c): TCP connections (connect,
 * accept, close with bytes and RTT), TCP health (retransmits, resets), packet drops with
 * the kernel's reason, UDP flows, and HTTP/1 and HTTP/2 (gRPC) exchanges from the bytes
 * of plaintext sockets and of OpenSSL sessions.
 *
 * Owns the skeleton, the decoding of the kernel's records into events, the parser table
 * (net_l7.c) and the drop reason names (net_reasons.c); the cgroup programs (packets:
 * plaintext bytes and UDP flows) are net_cgroup.c, the UDP flow sweep net_udp.c, the
 * libssl uprobes net_ssl.c. The sensor's own losses (parser table evictions, streams it
 * could not decode, requests left unanswered) are written to the observer's counter slots
 * so that status reports them beside the kernel's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/event.h"
#include "core/features.h"
#include "core/log.h"
#include "core/observer.h"
#include "core/sensor.h"
#include "core/utf8.h"
#include "network.h"
#include "network.skel.h"
#include "observers/network/net_l7.h"
#include "observers/network/net_pb.h"
#include "observers/network/net_reasons.h"
#include "observers/network/net_ssl.h"
#include "observers/network/net_cgroup.h"
#include "observers/network/net_selftest.h"

typedef Tapio__Sensor__V1__Endpoint pb_endpoint;
typedef Tapio__Sensor__V1__TcpConnection pb_tcp_conn;
typedef Tapio__Sensor__V1__TcpRetransmit pb_retransmit;
typedef Tapio__Sensor__V1__TcpReset pb_reset;
typedef Tapio__Sensor__V1__PacketDrop pb_drop;
typedef Tapio__Sensor__V1__HttpRequest pb_http;
typedef Tapio__Sensor__V1__GrpcCall pb_grpc;

struct net_priv {
	struct net_l7 *l7;
	struct net_reasons reasons;
	struct net_l7_stats flushed; /* last values written to the counter slots */
	struct net_cgroup *cgroup;   /* NULL: no packet programs (no UDP flows, no plaintext) */
	struct net_ssl *ssl;	     /* NULL: no uprobes (no TLS plaintext) */
};

static struct network_bpf *skel_of(struct observer *o)
{
	return o->skel;
}

static struct net_priv *priv_of(struct observer *o)
{
	return o->priv;
}

/* ---- connection records ------------------------------------------------------------ */

static int pb_direction(uint8_t d)
{
	return d == NET_DIR_OUTBOUND
		       ? TAPIO__SENSOR__V1__CONNECTION_DIRECTION__CONNECTION_DIRECTION_OUTBOUND
	       : d == NET_DIR_INBOUND
		       ? TAPIO__SENSOR__V1__CONNECTION_DIRECTION__CONNECTION_DIRECTION_INBOUND
		       : 0;
}

static int pb_state(uint8_t s)
{
	return s <= 12 ? s : 0; /* the proto numbers TCP states as the kernel does */
}

static int decode_conn(struct observer *o, const struct net_conn_event *e)
{
	struct event_ctx c;
	pb_tcp_conn x = TAPIO__SENSOR__V1__TCP_CONNECTION__INIT;
	struct net_ep_buf l, r;
	int type = e->h.type == TP_EV_NET_CONNECT  ? PB_TYPE(NETWORK_CONNECT)
		   : e->h.type == TP_EV_NET_ACCEPT ? PB_TYPE(NETWORK_ACCEPT)
						   : PB_TYPE(NETWORK_CLOSE);

	if (e->h.type == TP_EV_NET_CLOSE)
		net_l7_close(priv_of(o)->l7, e->sk, e->h.ts_ns);
	event_begin(&c, o, &e->h, type);
	x.local = net_endpoint(&l, e->ep.family, e->ep.laddr, e->ep.lport);
	x.remote = net_endpoint(&r, e->ep.family, e->ep.raddr, e->ep.rport);
	x.direction = pb_direction(e->direction);
	x.netns = e->netns;
	x.handshake_ns = e->handshake_ns;
	x.duration_ns = e->duration_ns;
	x.bytes_sent = e->bytes_sent;
	x.bytes_received = e->bytes_received;
	x.srtt_us = e->srtt_us;
	x.retransmits = e->total_retrans;
	x.state_before_close = pb_state(e->old_state);
	x.owner_known = e->owner_known;
	c.ev.payload_case = PB_PAYLOAD(TCP_CONNECTION);
	c.ev.tcp_connection = &x;
	event_publish(&c);
	return 0;
}

static int decode_tcp(struct observer *o, const struct net_tcp_event *e)
{
	struct event_ctx c;
	struct net_ep_buf l, r;

	if (e->h.type == TP_EV_NET_RETRANSMIT) {
		pb_retransmit x = TAPIO__SENSOR__V1__TCP_RETRANSMIT__INIT;

		event_begin(&c, o, &e->h, PB_TYPE(NETWORK_RETRANSMIT));
		x.local = net_endpoint(&l, e->ep.family, e->ep.laddr, e->ep.lport);
		x.remote = net_endpoint(&r, e->ep.family, e->ep.raddr, e->ep.rport);
		x.state = pb_state(e->state);
		x.direction = pb_direction(e->direction);
		x.netns = e->netns;
		x.owner_known = e->owner_known;
		c.ev.payload_case = PB_PAYLOAD(TCP_RETRANSMIT);
		c.ev.tcp_retransmit = &x;
		event_publish(&c);
		return 0;
	}
	pb_reset x = TAPIO__SENSOR__V1__TCP_RESET__INIT;

	event_begin(&c, o, &e->h, PB_TYPE(NETWORK_RESET));
	x.local = net_endpoint(&l, e->ep.family, e->ep.laddr, e->ep.lport);
	x.remote = net_endpoint(&r, e->ep.family, e->ep.raddr, e->ep.rport);
	x.origin = e->kind == NET_RESET_SENT
			   ? TAPIO__SENSOR__V1__RESET_ORIGIN__RESET_ORIGIN_SENT
			   : TAPIO__SENSOR__V1__RESET_ORIGIN__RESET_ORIGIN_RECEIVED;
	x.state = pb_state(e->state);
	x.direction = pb_direction(e->direction);
	x.netns = e->netns;
	x.owner_known = e->owner_known;
	c.ev.payload_case = PB_PAYLOAD(TCP_RESET);
	c.ev.tcp_reset = &x;
	event_publish(&c);
	return 0;
}

static int decode_drop(struct observer *o, const struct net_drop_event *e)
{
	struct event_ctx c;
	pb_drop x = TAPIO__SENSOR__V1__PACKET_DROP__INIT;
	struct net_ep_buf s, d;
	const char *name = NULL;

	event_begin(&c, o, &e->h, PB_TYPE(NETWORK_DROP));
	x.source = net_endpoint(&s, e->ep.family, e->ep.laddr, e->ep.lport);
	x.destination = net_endpoint(&d, e->ep.family, e->ep.raddr, e->ep.rport);
	x.ip_protocol = e->ep.protocol;
	x.reason_available = e->reason_known;
	if (e->reason_known) {
		name = net_reasons_name(&priv_of(o)->reasons, e->reason);
		x.reason_code = e->reason;
	}
	x.reason = (char *)(name ? name : "");
	x.owner_known = e->owner_known;
	c.ev.payload_case = PB_PAYLOAD(PACKET_DROP);
	c.ev.packet_drop = &x;
	event_publish(&c);
	return 0;
}

/* ---- HTTP and gRPC ----------------------------------------------------------------- */

struct l7_strings {
	char method[NET_METHOD_MAX + 1];
	char path[NET_PATH_MAX + 1];
	char host[NET_HOST_MAX + 1];
	char service[NET_PATH_MAX + 1];
	const char *rpc; /* points into service */
};

/* Bytes from the network become protobuf strings: valid UTF-8 only. */
static void scrub_copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
	utf8_scrub(dst, strlen(dst));
}

/* "/package.Service/Method" -> "package.Service", "Method". */
static void split_grpc_path(struct l7_strings *s)
{
	char *slash;

	scrub_copy(s->service, sizeof(s->service), s->path[0] == '/' ? s->path + 1 : s->path);
	slash = strrchr(s->service, '/');
	if (slash) {
		*slash = 0;
		s->rpc = slash + 1;
	} else {
		s->rpc = "";
	}
}

static int pb_role(uint8_t role)
{
	return role == NET_ROLE_CLIENT	 ? TAPIO__SENSOR__V1__L7_ROLE__L7_ROLE_CLIENT
	       : role == NET_ROLE_SERVER ? TAPIO__SENSOR__V1__L7_ROLE__L7_ROLE_SERVER
					 : 0;
}

static const char *version_name(int v)
{
	return v == 20 ? "2" : v == 10 ? "1.0" : "1.1";
}

static void emit_grpc(struct event_ctx *c, const struct net_l7_conn *conn,
		      const struct net_exchange *x, struct l7_strings *s, struct net_ep_buf *l,
		      struct net_ep_buf *r)
{
	pb_grpc g = TAPIO__SENSOR__V1__GRPC_CALL__INIT;

	split_grpc_path(s);
	g.service = s->service;
	g.method = (char *)s->rpc;
	g.grpc_status = x->grpc_status;
	g.grpc_status_present = x->grpc_status_present;
	g.http_status = x->status;
	g.request_bytes = x->request_bytes;
	g.response_bytes = x->response_bytes;
	g.latency_ns = x->end_ns > x->start_ns ? x->end_ns - x->start_ns : 0;
	g.authority = s->host;
	g.stream_id = x->stream_id;
	g.reset = x->reset;
	g.role = pb_role(conn->role);
	g.tls = conn->tls;
	g.local = net_endpoint(l, conn->ep.family, conn->ep.laddr, conn->ep.lport);
	g.remote = net_endpoint(r, conn->ep.family, conn->ep.raddr, conn->ep.rport);
	c->ev.payload_case = PB_PAYLOAD(GRPC);
	c->ev.grpc = &g;
	event_publish(c);
}

static void emit_exchange(void *ctx, const struct net_l7_conn *conn, const struct net_exchange *x)
{
	struct observer *o = ctx;
	struct event_ctx c;
	struct l7_strings s;
	struct net_ep_buf l, r;
	pb_http h = TAPIO__SENSOR__V1__HTTP_REQUEST__INIT;

	scrub_copy(s.method, sizeof(s.method), x->method);
	scrub_copy(s.path, sizeof(s.path), x->path);
	scrub_copy(s.host, sizeof(s.host), x->host);
	event_begin(&c, o, &conn->last, x->grpc ? PB_TYPE(NETWORK_GRPC) : PB_TYPE(NETWORK_HTTP));
	if (x->grpc) {
		emit_grpc(&c, conn, x, &s, &l, &r);
		return;
	}
	h.method = s.method;
	h.path = s.path;
	h.path_truncated = x->path_truncated;
	h.host = s.host;
	h.status = x->status;
	h.request_bytes = x->request_bytes;
	h.response_bytes = x->response_bytes;
	h.latency_ns = x->end_ns > x->start_ns ? x->end_ns - x->start_ns : 0;
	h.version = (char *)version_name(x->version);
	h.role = pb_role(conn->role);
	h.tls = conn->tls;
	h.local = net_endpoint(&l, conn->ep.family, conn->ep.laddr, conn->ep.lport);
	h.remote = net_endpoint(&r, conn->ep.family, conn->ep.raddr, conn->ep.rport);
	c.ev.payload_case = PB_PAYLOAD(HTTP);
	c.ev.http = &h;
	event_publish(&c);
}

/* The sensor's own losses go to their counter slots (CPU 0's value; the kernel never
 * writes these slots), only when they changed. */
static void flush_counters(struct observer *o)
{
	struct net_priv *p = priv_of(o);
	struct net_l7_stats now;
	int ncpu = libbpf_num_possible_cpus(), fd;
	uint64_t vals[3];

	net_l7_get_stats(p->l7, &now);
	if (!memcmp(&now, &p->flushed, sizeof(now)) || ncpu <= 0)
		return;
	vals[0] = now.evicted;
	vals[1] = now.desync;
	vals[2] = now.unanswered;
	fd = bpf_map__fd(skel_of(o)->maps.tp_counters);
	for (uint32_t i = 0; i < 3; i++) {
		uint64_t *per_cpu = calloc((size_t)ncpu, sizeof(*per_cpu));
		uint32_t slot = NET_CNT_L7_EVICTED + i;

		if (!per_cpu)
			return;
		per_cpu[0] = vals[i];
		bpf_map_update_elem(fd, &slot, per_cpu, BPF_ANY);
		free(per_cpu);
	}
	p->flushed = now;
}

static int decode_data(struct observer *o, const void *data, size_t len)
{
	const struct net_data_event *d = data;

	if (len < sizeof(*d) || d->cap > len - sizeof(*d) || d->cap > NET_DATA_LARGE ||
	    d->cap > d->len)
		return -1;
	if (d->proto != NET_PROTO_HTTP1 && d->proto != NET_PROTO_HTTP2)
		return -1;
	if (d->flags & NET_DATA_F_CLOSE)
		net_l7_close(priv_of(o)->l7, d->sk, d->h.ts_ns);
	else
		net_l7_data(priv_of(o)->l7, d, (const uint8_t *)data + sizeof(*d));
	return 0;
}

static int net_decode(struct observer *o, const void *data, size_t len)
{
	const struct tp_event_header *h = data;
	int rc = -1;

	if (len < sizeof(*h))
		return -1;
	switch (h->type) {
	case TP_EV_NET_CONNECT:
	case TP_EV_NET_ACCEPT:
	case TP_EV_NET_CLOSE:
		if (len >= sizeof(struct net_conn_event))
			rc = decode_conn(o, data);
		break;
	case TP_EV_NET_RETRANSMIT:
	case TP_EV_NET_RESET:
		if (len >= sizeof(struct net_tcp_event))
			rc = decode_tcp(o, data);
		break;
	case TP_EV_NET_DROP:
		if (len >= sizeof(struct net_drop_event))
			rc = decode_drop(o, data);
		break;
	case TP_EV_NET_DATA:
		rc = decode_data(o, data, len);
		break;
	}
	flush_counters(o);
	return rc;
}

/* ---- lifecycle --------------------------------------------------------------------- */

_Static_assert(NET_CLASS_COUNT == CONFIG_NET_CLASSES, "sampling classes: bpf vs config");

/* Per-class sampling (--net-sample), said once at start: it is not silent. */
static void set_sampling(struct observer *o)
{
	const struct config *cfg = o->sensor->cfg;
	struct network_bpf *skel = skel_of(o);

	for (int i = 0; i < NET_CLASS_COUNT; i++) {
		skel->rodata->net_sample_every[i] = cfg->net_sample[i];
		if (cfg->net_sample[i] > 1)
			log_info("network: %s events sampled 1 of %u", config_net_classes[i],
				 cfg->net_sample[i]);
	}
}

static int net_open(struct observer *o, const struct features *f)
{
	struct network_bpf *skel;
	struct net_priv *p;

	if (!features_has(f, FEAT_RAW_TP))
		return -EOPNOTSUPP; /* every program but the uprobes is a raw tracepoint */
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	skel = network_bpf__open_opts(observer_open_opts(o));
	if (!skel) {
		free(p);
		return -errno;
	}
	o->priv = p;
	o->skel = skel;
	o->skeleton = skel->skeleton;
	o->limits = (struct tp_limits *)&skel->rodata->tp_limits;
	set_sampling(o);
	bpf_map__set_max_entries(skel->maps.net_conns, o->sensor->cfg->net_conns);
	/* Our own gRPC stream is not worth parsing (and would feed itself), except when the
	 * self-test talks HTTP to itself. */
	skel->rodata->net_self_tgid = o->sensor->cfg->self_test ? 0 : (uint32_t)getpid();
	p->ssl = net_ssl_open(o, skel);
	p->cgroup = net_cgroup_open(o, skel);
	return 0;
}

static int net_loaded(struct observer *o)
{
	struct net_priv *p = priv_of(o);
	const char *btf = o->sensor->cfg->btf_path;
	int n;

	p->l7 = net_l7_new(NET_L7_DEFAULT_CONNS, emit_exchange, o);
	if (!p->l7)
		return -ENOMEM;
	n = net_reasons_load(&p->reasons, btf);
	if (n < 0)
		log_warn("network: drop reason names unavailable: %s", strerror(-n));
	else if (n == 0)
		log_info("network: this kernel gives no drop reasons (before 5.17)");
	if (p->cgroup && (n = net_cgroup_start(p->cgroup, skel_of(o))) != 0)
		return n;
	return p->ssl ? net_ssl_start(p->ssl) : 0;
}

static void net_destroy(struct observer *o)
{
	struct net_priv *p = priv_of(o);

	if (p) {
		/* Their timers read the maps and attach programs: stopped first. */
		net_cgroup_free(p->cgroup);
		net_ssl_free(p->ssl);
	}
	network_bpf__destroy(skel_of(o));
	net_selftest_stop();
	if (p) {
		net_l7_free(p->l7);
		net_reasons_free(&p->reasons);
		free(p);
	}
	o->priv = NULL;
}

const struct observer_ops network_observer = {
	.name = "network",
	.description = "TCP connections and health, drops, UDP flows, HTTP/1 and gRPC (plaintext "
		       "and OpenSSL)",
	.proto_id = PB_OBSERVER(NETWORK),
	.default_rate = 2000, /* the seed's network limit */
	.default_sample = 1,
	.default_ringbuf = TP_RINGBUF_HIGH,
	.counter_names =
		(const char *const[]){"conn_table_full", "listen_table_full", "call_state_full",
				      "tls_socket_unknown", "capture_truncated", "l7_table_evicted",
				      "l7_desync", "l7_unanswered", "udp_table_full",
				      "sock_storage_failed", NULL},
	.open = net_open,
	.loaded = net_loaded,
	.decode = net_decode,
	.destroy = net_destroy,
	.self_test_start = net_selftest_start,
	.self_test_event = net_selftest_event,
};
