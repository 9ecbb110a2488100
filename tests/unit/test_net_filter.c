/* The network part of the server-side filter: CIDRs (v4, v6, mapped), ports, protocols,
 * HTTP status and latency, and the errors that name the field. */
#include <criterion/criterion.h>
#include <string.h>

#include "hub/filter.h"

typedef Tapio__Sensor__V1__NetworkFilter pb_net_filter;
typedef Tapio__Sensor__V1__Endpoint pb_endpoint;

static char err[256];

struct net_ev {
	pb_event ev;
	pb_endpoint local, remote;
	Tapio__Sensor__V1__HttpRequest http;
	Tapio__Sensor__V1__TcpConnection tcp;
	Tapio__Sensor__V1__PacketDrop drop;
	Tapio__Sensor__V1__UdpFlow udp;
};

static void endpoints(struct net_ev *n, char *lip, uint32_t lport, char *rip, uint32_t rport)
{
	tapio__sensor__v1__endpoint__init(&n->local);
	tapio__sensor__v1__endpoint__init(&n->remote);
	n->local.ip = lip;
	n->local.port = lport;
	n->remote.ip = rip;
	n->remote.port = rport;
	n->ev = (pb_event)TAPIO__SENSOR__V1__EVENT__INIT;
	n->ev.observer = PB_OBSERVER(NETWORK);
}

static void http_event(struct net_ev *n, uint32_t status, uint64_t latency)
{
	endpoints(n, "127.0.0.1", 41000, "127.0.0.1", 8080);
	tapio__sensor__v1__http_request__init(&n->http);
	n->http.local = &n->local;
	n->http.remote = &n->remote;
	n->http.status = status;
	n->http.latency_ns = latency;
	n->ev.type = PB_TYPE(NETWORK_HTTP);
	n->ev.payload_case = PB_PAYLOAD(HTTP);
	n->ev.http = &n->http;
}

static void tcp_event(struct net_ev *n, char *lip, uint32_t lport, char *rip, uint32_t rport)
{
	endpoints(n, lip, lport, rip, rport);
	tapio__sensor__v1__tcp_connection__init(&n->tcp);
	n->tcp.local = &n->local;
	n->tcp.remote = &n->remote;
	n->ev.type = PB_TYPE(NETWORK_CLOSE);
	n->ev.payload_case = PB_PAYLOAD(TCP_CONNECTION);
	n->ev.tcp_connection = &n->tcp;
}

static struct filter_set *compile(pb_net_filter *nf)
{
	pb_filter f = TAPIO__SENSOR__V1__EVENT_FILTER__INIT;
	pb_filter *allow[] = {&f};

	f.network = nf;
	return filter_compile(allow, 1, NULL, 0, err, sizeof(err));
}

static int match(pb_net_filter *nf, const pb_event *ev)
{
	struct filter_set *fs = compile(nf);
	int m;

	cr_assert_not_null(fs, "%s", err);
	m = filter_match(fs, ev);
	filter_free(fs);
	return m;
}

Test(net_filter, cidrs_match_either_endpoint)
{
	pb_net_filter nf = TAPIO__SENSOR__V1__NETWORK_FILTER__INIT;
	char *lo[] = {"127.0.0.0/8"}, *ten[] = {"10.0.0.0/8"}, *host[] = {"10.1.2.3"},
	     *v6[] = {"fd00::/8"}, *v6host[] = {"::1"}, *odd[] = {"10.1.2.0/23"};
	struct net_ev n;

	tcp_event(&n, "10.1.2.3", 5000, "192.168.1.9", 443);
	nf.cidrs = lo, nf.n_cidrs = 1;
	cr_assert_eq(match(&nf, &n.ev), 0);
	nf.cidrs = ten;
	cr_assert_eq(match(&nf, &n.ev), 1);
	nf.cidrs = host;
	cr_assert_eq(match(&nf, &n.ev), 1, "a plain address is a /32");
	nf.cidrs = odd;
	cr_assert_eq(match(&nf, &n.ev), 1, "10.1.2.3 is in 10.1.2.0/23");
	tcp_event(&n, "10.1.4.3", 5000, "192.168.1.9", 443);
	cr_assert_eq(match(&nf, &n.ev), 0, "10.1.4.3 is not");
	nf.cidrs = v6;
	tcp_event(&n, "fd12::7", 5000, "::1", 443);
	cr_assert_eq(match(&nf, &n.ev), 1);
	nf.cidrs = v6host;
	cr_assert_eq(match(&nf, &n.ev), 1, "the remote side");
	nf.cidrs = ten;
	tcp_event(&n, "::ffff:10.9.9.9", 5000, "::1", 443);
	cr_assert_eq(match(&nf, &n.ev), 1, "an IPv4-mapped address is its IPv4 address");
}

Test(net_filter, ports_protocols_status_latency)
{
	pb_net_filter nf = TAPIO__SENSOR__V1__NETWORK_FILTER__INIT;
	uint32_t ports[] = {8080}, other[] = {9090};
	char *http[] = {"http"}, *tcp[] = {"tcp"}, *grpc_udp[] = {"grpc", "udp"};
	struct net_ev n;

	http_event(&n, 404, 5000000);
	nf.ports = ports, nf.n_ports = 1;
	cr_assert_eq(match(&nf, &n.ev), 1);
	nf.ports = other;
	cr_assert_eq(match(&nf, &n.ev), 0);
	nf.n_ports = 0;

	nf.protocols = http, nf.n_protocols = 1;
	cr_assert_eq(match(&nf, &n.ev), 1);
	nf.protocols = tcp;
	cr_assert_eq(match(&nf, &n.ev), 0, "an HTTP exchange is protocol http");
	nf.protocols = grpc_udp, nf.n_protocols = 2;
	cr_assert_eq(match(&nf, &n.ev), 0);
	nf.n_protocols = 0;

	nf.min_http_status = 400;
	cr_assert_eq(match(&nf, &n.ev), 1);
	nf.min_http_status = 500;
	cr_assert_eq(match(&nf, &n.ev), 0);
	nf.min_http_status = 0;

	nf.min_latency_ns = 5000000;
	cr_assert_eq(match(&nf, &n.ev), 1);
	nf.min_latency_ns = 5000001;
	cr_assert_eq(match(&nf, &n.ev), 0);

	tcp_event(&n, "127.0.0.1", 1, "127.0.0.1", 2);
	cr_assert_eq(match(&nf, &n.ev), 0, "a connection has no latency to compare");
}

Test(net_filter, drops_by_ip_protocol_and_other_observers_never)
{
	pb_net_filter nf = TAPIO__SENSOR__V1__NETWORK_FILTER__INIT;
	char *udp[] = {"udp"};
	struct net_ev n;
	pb_event other = TAPIO__SENSOR__V1__EVENT__INIT;

	endpoints(&n, "127.0.0.1", 5353, "127.0.0.1", 9);
	tapio__sensor__v1__packet_drop__init(&n.drop);
	n.drop.source = &n.local;
	n.drop.destination = &n.remote;
	n.drop.ip_protocol = 17;
	n.ev.type = PB_TYPE(NETWORK_DROP);
	n.ev.payload_case = PB_PAYLOAD(PACKET_DROP);
	n.ev.packet_drop = &n.drop;
	nf.protocols = udp, nf.n_protocols = 1;
	cr_assert_eq(match(&nf, &n.ev), 1);
	n.drop.ip_protocol = 6;
	cr_assert_eq(match(&nf, &n.ev), 0);
	other.observer = PB_OBSERVER(PROCESS);
	other.type = PB_TYPE(PROCESS_EXEC);
	cr_assert_eq(match(&nf, &other), 0, "network fields never match a process event");
}

Test(net_filter, udp_flows_by_protocol_port_and_address_even_without_a_remote)
{
	pb_net_filter nf = TAPIO__SENSOR__V1__NETWORK_FILTER__INIT;
	char *udp[] = {"udp"}, *tcp[] = {"tcp"}, *lo[] = {"127.0.0.0/8"}, *ten[] = {"10.0.0.0/8"};
	uint32_t dns[] = {53}, local[] = {41000};
	struct net_ev n;

	endpoints(&n, "127.0.0.1", 41000, "10.0.0.53", 53);
	tapio__sensor__v1__udp_flow__init(&n.udp);
	n.udp.local = &n.local;
	n.udp.remote = &n.remote;
	n.ev.type = PB_TYPE(NETWORK_UDP_FLOW);
	n.ev.payload_case = PB_PAYLOAD(UDP_FLOW);
	n.ev.udp_flow = &n.udp;
	nf.protocols = udp, nf.n_protocols = 1;
	cr_assert_eq(match(&nf, &n.ev), 1);
	nf.protocols = tcp;
	cr_assert_eq(match(&nf, &n.ev), 0, "a UDP flow is protocol udp");
	nf.n_protocols = 0;
	nf.ports = dns, nf.n_ports = 1;
	cr_assert_eq(match(&nf, &n.ev), 1, "the remote port");
	nf.cidrs = ten, nf.n_cidrs = 1;
	cr_assert_eq(match(&nf, &n.ev), 1);
	n.udp.remote = NULL; /* the socket's other remotes, summed */
	cr_assert_eq(match(&nf, &n.ev), 0, "no remote: neither its port nor its address");
	nf.cidrs = lo, nf.ports = local;
	cr_assert_eq(match(&nf, &n.ev), 1, "the local side still matches");
}

Test(net_filter, errors_name_the_field)
{
	pb_net_filter nf = TAPIO__SENSOR__V1__NETWORK_FILTER__INIT;
	char *bad_cidr[] = {"10.0.0.0/8", "10.0/8"}, *bad_bits[] = {"10.0.0.0/33"},
	     *bad_proto[] = {"sctp"}, *proc[] = {"process"};
	uint32_t bad_port[] = {0};
	pb_filter f = TAPIO__SENSOR__V1__EVENT_FILTER__INIT;
	pb_filter *allow[] = {&f};

	nf.cidrs = bad_cidr, nf.n_cidrs = 2;
	cr_assert_null(compile(&nf));
	cr_assert_str_eq(err, "allow[0].network.cidrs[1]: \"10.0/8\" is not an address or CIDR");
	nf.cidrs = bad_bits, nf.n_cidrs = 1;
	cr_assert_null(compile(&nf));
	nf.n_cidrs = 0;
	nf.ports = bad_port, nf.n_ports = 1;
	cr_assert_null(compile(&nf));
	cr_assert_str_eq(err, "allow[0].network.ports[0]: 0 is not a port (1-65535)");
	nf.n_ports = 0;
	nf.protocols = bad_proto, nf.n_protocols = 1;
	cr_assert_null(compile(&nf));
	cr_assert_str_eq(err, "allow[0].network.protocols[0]: unknown protocol \"sctp\" (tcp, udp, "
			      "icmp, http, grpc)");
	nf.n_protocols = 0;
	f.network = &nf;
	f.observers = proc, f.n_observers = 1;
	cr_assert_null(filter_compile(allow, 1, NULL, 0, err, sizeof(err)));
	cr_assert_str_eq(err, "allow[0].network: contradicts observers: \"network\" is not listed");
}
