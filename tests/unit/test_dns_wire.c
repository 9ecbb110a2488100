/* test_dns_wire.c - the DNS wire-format parser: real dnsmasq responses (every type the
 * observer decodes, NXDOMAIN/SERVFAIL/REFUSED, EDNS, a TC response, a 684-byte answer cut at
 * 512), messages built byte by byte for each malformation the parser must reject, every
 * prefix of every real message, mutated messages, name rendering and encoding, TCP framing
 * and the mnemonics. Every parse reads from a heap copy of exactly the captured length, so
 * ASan and valgrind flag any read past it. */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "observers/dns/dns_wire.h"

/* Real messages, captured with tcpdump -i lo while dig (bind9-dnsutils 9.x) queried a local
 * dnsmasq 2.90 on 127.0.0.77:5353 (test zone from --host-record, --cname, --mx-host,
 * --srv-host, --txt-record, --ptr-record, --address) and a second, authoritative one on
 * 127.0.0.1:5354 (--auth-zone=auth.tapio). The SERVFAIL comes from a minimal upstream server of the
 * first dnsmasq that answered every query with rcode 2, relayed by dnsmasq. dig sent EDNS
 * (udp 1232, a cookie) unless marked +noedns. */

/* dig +noedns web.test.tapio A: the query. */
static const uint8_t q_web_a[32] = {
	0x21, 0x1d, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x03, 0x77, 0x65, 0x62, 0x04, 0x74, 0x65, 0x73, 0x74, 0x05,
	0x74, 0x61, 0x70, 0x69, 0x6f, 0x00, 0x00, 0x01, 0x00, 0x01,
};
/* Its response: one compressed A, no EDNS. */
static const uint8_t r_web_a[48] = {
	0x21, 0x1d, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x03, 0x77, 0x65, 0x62, 0x04, 0x74, 0x65, 0x73, 0x74, 0x05, 0x74, 0x61,
	0x70, 0x69, 0x6f, 0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x01,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x00, 0x00, 0x05,
};
/* web.test.tapio AAAA: fd00::5, OPT in additional. */
static const uint8_t r_web_aaaa[71] = {
	0x70, 0x56, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x03, 0x77, 0x65,
	0x62, 0x04, 0x74, 0x65, 0x73, 0x74, 0x05, 0x74, 0x61, 0x70, 0x69, 0x6f, 0x00, 0x00, 0x1c,
	0x00, 0x01, 0xc0, 0x0c, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0xfd,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
	0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* www.test.tapio A: CNAME to web.test.tapio, then its A. */
static const uint8_t r_www_cname[87] = {
	0x44, 0x5e, 0x85, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x03, 0x77, 0x77,
	0x77, 0x04, 0x74, 0x65, 0x73, 0x74, 0x05, 0x74, 0x61, 0x70, 0x69, 0x6f, 0x00, 0x00, 0x01,
	0x00, 0x01, 0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x03,
	0x77, 0x65, 0x62, 0x04, 0x74, 0x65, 0x73, 0x74, 0x05, 0x74, 0x61, 0x70, 0x69, 0x6f, 0x00,
	0xc0, 0x2c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x00, 0x00,
	0x05, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* test.tapio MX: 10 mail.test.tapio, glue A in additional. */
static const uint8_t r_mx[86] = {
	0xec, 0xce, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x04, 0x74, 0x65,
	0x73, 0x74, 0x05, 0x74, 0x61, 0x70, 0x69, 0x6f, 0x00, 0x00, 0x0f, 0x00, 0x01, 0xc0, 0x0c,
	0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x13, 0x00, 0x0a, 0x04, 0x6d, 0x61,
	0x69, 0x6c, 0x04, 0x74, 0x65, 0x73, 0x74, 0x05, 0x74, 0x61, 0x70, 0x69, 0x6f, 0x00, 0xc0,
	0x2a, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x00, 0x00, 0x19,
	0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* _http._tcp.test.tapio SRV: 1 5 8080 web.test.tapio, glue in additional. */
static const uint8_t r_srv[128] = {
	0x8d, 0x4c, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x05, 0x5f, 0x68,
	0x74, 0x74, 0x70, 0x04, 0x5f, 0x74, 0x63, 0x70, 0x04, 0x74, 0x65, 0x73, 0x74, 0x05, 0x74,
	0x61, 0x70, 0x69, 0x6f, 0x00, 0x00, 0x21, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x21, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x16, 0x00, 0x01, 0x00, 0x05, 0x1f, 0x90, 0x03, 0x77, 0x65,
	0x62, 0x04, 0x74, 0x65, 0x73, 0x74, 0x05, 0x74, 0x61, 0x70, 0x69, 0x6f, 0x00, 0xc0, 0x39,
	0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x00, 0x00, 0x05, 0xc0,
	0x39, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0xfd, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x29,
	0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* txt.test.tapio TXT: "v=spf1 -all" and a string with double quotes. */
static const uint8_t r_txt[90] = {
	0xc6, 0x0d, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x03, 0x74, 0x78,
	0x74, 0x04, 0x74, 0x65, 0x73, 0x74, 0x05, 0x74, 0x61, 0x70, 0x69, 0x6f, 0x00, 0x00, 0x10,
	0x00, 0x01, 0xc0, 0x0c, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x23, 0x0b,
	0x76, 0x3d, 0x73, 0x70, 0x66, 0x31, 0x20, 0x2d, 0x61, 0x6c, 0x6c, 0x16, 0x73, 0x65, 0x63,
	0x6f, 0x6e, 0x64, 0x20, 0x22, 0x71, 0x75, 0x6f, 0x74, 0x65, 0x64, 0x22, 0x20, 0x73, 0x74,
	0x72, 0x69, 0x6e, 0x67, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* dig -x 10.0.0.5: PTR web.test.tapio. */
static const uint8_t r_ptr[78] = {
	0xcf, 0xc6, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x01,
	0x35, 0x01, 0x30, 0x01, 0x30, 0x02, 0x31, 0x30, 0x07, 0x69, 0x6e, 0x2d, 0x61,
	0x64, 0x64, 0x72, 0x04, 0x61, 0x72, 0x70, 0x61, 0x00, 0x00, 0x0c, 0x00, 0x01,
	0xc0, 0x0c, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x03,
	0x77, 0x65, 0x62, 0x04, 0x74, 0x65, 0x73, 0x74, 0x05, 0x74, 0x61, 0x70, 0x69,
	0x6f, 0x00, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* nx.test.tapio A (--address=/nx.test.tapio/): NXDOMAIN. */
static const uint8_t r_nxdomain[42] = {
	0x0e, 0x97, 0x81, 0x83, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x6e,
	0x78, 0x04, 0x74, 0x65, 0x73, 0x74, 0x05, 0x74, 0x61, 0x70, 0x69, 0x6f, 0x00, 0x00,
	0x01, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* x.fail.tapio A: SERVFAIL, OPT with the echoed cookie (12 bytes of options). */
static const uint8_t r_servfail[53] = {
	0x8d, 0x68, 0x81, 0x82, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x78,
	0x04, 0x66, 0x61, 0x69, 0x6c, 0x05, 0x74, 0x61, 0x70, 0x69, 0x6f, 0x00, 0x00, 0x01,
	0x00, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00,
	0x0a, 0x00, 0x08, 0xa7, 0x49, 0x00, 0x0a, 0x1d, 0xe0, 0x33, 0x62,
};
/* other.example A with no upstream: REFUSED, Extended DNS Error 14 (Not Ready). */
static const uint8_t r_refused[48] = {
	0x5d, 0x73, 0x81, 0x85, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x05, 0x6f, 0x74, 0x68, 0x65, 0x72, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70,
	0x6c, 0x65, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x0f, 0x00, 0x02, 0x00, 0x0e,
};
/* Authoritative dnsmasq, +norec auth.tapio NS: owner names not compressed. */
static const uint8_t r_auth_ns[76] = {
	0xaf, 0x40, 0x84, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04,
	0x61, 0x75, 0x74, 0x68, 0x05, 0x74, 0x61, 0x70, 0x69, 0x6f, 0x00, 0x00, 0x02,
	0x00, 0x01, 0x04, 0x61, 0x75, 0x74, 0x68, 0x05, 0x74, 0x61, 0x70, 0x69, 0x6f,
	0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x02, 0x58, 0x00, 0x0f, 0x02, 0x6e,
	0x73, 0x04, 0x74, 0x65, 0x73, 0x74, 0x05, 0x74, 0x61, 0x70, 0x69, 0x6f, 0x00,
	0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* +norec auth.tapio SOA: SOA in answer, NS in authority. */
static const uint8_t r_auth_soa[149] = {
	0xe8, 0xd0, 0x84, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x04, 0x61, 0x75,
	0x74, 0x68, 0x05, 0x74, 0x61, 0x70, 0x69, 0x6f, 0x00, 0x00, 0x06, 0x00, 0x01, 0x04, 0x61,
	0x75, 0x74, 0x68, 0x05, 0x74, 0x61, 0x70, 0x69, 0x6f, 0x00, 0x00, 0x06, 0x00, 0x01, 0x00,
	0x00, 0x02, 0x58, 0x00, 0x3d, 0x02, 0x6e, 0x73, 0x04, 0x74, 0x65, 0x73, 0x74, 0x05, 0x74,
	0x61, 0x70, 0x69, 0x6f, 0x00, 0x0a, 0x68, 0x6f, 0x73, 0x74, 0x6d, 0x61, 0x73, 0x74, 0x65,
	0x72, 0x02, 0x6e, 0x73, 0x04, 0x74, 0x65, 0x73, 0x74, 0x05, 0x74, 0x61, 0x70, 0x69, 0x6f,
	0x00, 0x6b, 0x06, 0xd5, 0x9a, 0x00, 0x00, 0x04, 0xb0, 0x00, 0x00, 0x00, 0xb4, 0x00, 0x12,
	0x75, 0x00, 0x00, 0x00, 0x02, 0x58, 0xc0, 0x1c, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x02,
	0x58, 0x00, 0x0f, 0x02, 0x6e, 0x73, 0x04, 0x74, 0x65, 0x73, 0x74, 0x05, 0x74, 0x61, 0x70,
	0x69, 0x6f, 0x00, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* +norec nope.auth.tapio A: NXDOMAIN with the zone's SOA in authority. */
static const uint8_t r_auth_nxdomain[127] = {
	0x0b, 0xff, 0x84, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x04, 0x6e, 0x6f,
	0x70, 0x65, 0x04, 0x61, 0x75, 0x74, 0x68, 0x05, 0x74, 0x61, 0x70, 0x69, 0x6f, 0x00, 0x00,
	0x01, 0x00, 0x01, 0x04, 0x61, 0x75, 0x74, 0x68, 0x05, 0x74, 0x61, 0x70, 0x69, 0x6f, 0x00,
	0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x02, 0x58, 0x00, 0x3d, 0x02, 0x6e, 0x73, 0x04, 0x74,
	0x65, 0x73, 0x74, 0x05, 0x74, 0x61, 0x70, 0x69, 0x6f, 0x00, 0x0a, 0x68, 0x6f, 0x73, 0x74,
	0x6d, 0x61, 0x73, 0x74, 0x65, 0x72, 0x02, 0x6e, 0x73, 0x04, 0x74, 0x65, 0x73, 0x74, 0x05,
	0x74, 0x61, 0x70, 0x69, 0x6f, 0x00, 0x6b, 0x06, 0xd5, 0x9a, 0x00, 0x00, 0x04, 0xb0, 0x00,
	0x00, 0x00, 0xb4, 0x00, 0x12, 0x75, 0x00, 0x00, 0x00, 0x02, 0x58, 0x00, 0x00, 0x29, 0x04,
	0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* dig +bufsize=4096 many.test.tapio A: 40 A records, 684 bytes. */
static const uint8_t r_many[684] = {
	0xe8, 0x87, 0x85, 0x80, 0x00, 0x01, 0x00, 0x28, 0x00, 0x00, 0x00, 0x01, 0x04, 0x6d, 0x61,
	0x6e, 0x79, 0x04, 0x74, 0x65, 0x73, 0x74, 0x05, 0x74, 0x61, 0x70, 0x69, 0x6f, 0x00, 0x00,
	0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
	0x0a, 0x09, 0x00, 0x03, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x04, 0x0a, 0x09, 0x00, 0x15, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x04, 0x0a, 0x09, 0x00, 0x0b, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x16, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x06, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x17, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x0c, 0xc0, 0x0c, 0x00, 0x01, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x18, 0xc0, 0x0c, 0x00, 0x01,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x02, 0xc0, 0x0c, 0x00,
	0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x19, 0xc0, 0x0c,
	0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x0d, 0xc0,
	0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x1a,
	0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00,
	0x07, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09,
	0x00, 0x1b, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a,
	0x09, 0x00, 0x0e, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
	0x0a, 0x09, 0x00, 0x1c, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x04, 0x0a, 0x09, 0x00, 0x04, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x04, 0x0a, 0x09, 0x00, 0x1d, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x0f, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x1e, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x08, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x1f, 0xc0, 0x0c, 0x00, 0x01, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x10, 0xc0, 0x0c, 0x00, 0x01,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x20, 0xc0, 0x0c, 0x00,
	0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x01, 0xc0, 0x0c,
	0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x21, 0xc0,
	0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x11,
	0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00,
	0x22, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09,
	0x00, 0x09, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a,
	0x09, 0x00, 0x23, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
	0x0a, 0x09, 0x00, 0x12, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x04, 0x0a, 0x09, 0x00, 0x24, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x04, 0x0a, 0x09, 0x00, 0x05, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x25, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x13, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x26, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x0a, 0xc0, 0x0c, 0x00, 0x01, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x27, 0xc0, 0x0c, 0x00, 0x01,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x14, 0xc0, 0x0c, 0x00,
	0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x28, 0x00, 0x00,
	0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* dig +tcp web.test.tapio A: the query and the response as read from the stream. */
static const uint8_t tcp_q_web_a[57] = {
	0x00, 0x37, 0x7f, 0x29, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03,
	0x77, 0x65, 0x62, 0x04, 0x74, 0x65, 0x73, 0x74, 0x05, 0x74, 0x61, 0x70, 0x69, 0x6f, 0x00,
	0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c,
	0x00, 0x0a, 0x00, 0x08, 0x50, 0x3c, 0xf8, 0xb8, 0xd2, 0x23, 0x3e, 0xa7,
};
static const uint8_t tcp_r_web_a[61] = {
	0x00, 0x3b, 0x7f, 0x29, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x01, 0x03, 0x77, 0x65, 0x62, 0x04, 0x74, 0x65, 0x73, 0x74, 0x05, 0x74, 0x61,
	0x70, 0x69, 0x6f, 0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x01, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x00, 0x00, 0x05, 0x00, 0x00,
	0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* dig +noedns +ignore many.test.tapio A: 29 of the 40 fit in 512 bytes, TC set. */
static const uint8_t r_many_tc[497] = {
	0xd2, 0x7c, 0x87, 0x80, 0x00, 0x01, 0x00, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x04, 0x6d, 0x61,
	0x6e, 0x79, 0x04, 0x74, 0x65, 0x73, 0x74, 0x05, 0x74, 0x61, 0x70, 0x69, 0x6f, 0x00, 0x00,
	0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
	0x0a, 0x09, 0x00, 0x15, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x04, 0x0a, 0x09, 0x00, 0x0b, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x04, 0x0a, 0x09, 0x00, 0x16, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x06, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x17, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x0c, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x18, 0xc0, 0x0c, 0x00, 0x01, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x02, 0xc0, 0x0c, 0x00, 0x01,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x19, 0xc0, 0x0c, 0x00,
	0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x0d, 0xc0, 0x0c,
	0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x1a, 0xc0,
	0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x07,
	0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00,
	0x1b, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09,
	0x00, 0x0e, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a,
	0x09, 0x00, 0x1c, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
	0x0a, 0x09, 0x00, 0x04, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x04, 0x0a, 0x09, 0x00, 0x1d, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x04, 0x0a, 0x09, 0x00, 0x0f, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x1e, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x08, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x1f, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x10, 0xc0, 0x0c, 0x00, 0x01, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x20, 0xc0, 0x0c, 0x00, 0x01,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x01, 0xc0, 0x0c, 0x00,
	0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x21, 0xc0, 0x0c,
	0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x11, 0xc0,
	0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00, 0x22,
	0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09, 0x00,
	0x09, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x09,
	0x00, 0x23,
};

struct real_msg {
	const char *name;
	const uint8_t *b;
	size_t len;
};

#define REAL(x)                                                                                    \
	{                                                                                          \
#x, x, sizeof(x)                                                                   \
	}
static const struct real_msg real_msgs[] = {
	REAL(q_web_a),	  REAL(r_web_a),	 REAL(r_web_aaaa), REAL(r_www_cname),
	REAL(r_mx),	  REAL(r_srv),		 REAL(r_txt),	   REAL(r_ptr),
	REAL(r_nxdomain), REAL(r_servfail),	 REAL(r_refused),  REAL(r_auth_ns),
	REAL(r_auth_soa), REAL(r_auth_nxdomain), REAL(r_many),	   REAL(r_many_tc),
};
#define NREAL (sizeof(real_msgs) / sizeof(real_msgs[0]))

/* Large: keep out of the stack. */
static struct dnsw_msg m, ref;

/* Parses a heap copy of exactly caplen bytes, so any read past it is an ASan error. */
static int parse_exact(const uint8_t *b, size_t caplen, size_t wirelen, struct dnsw_msg *out)
{
	uint8_t *copy = malloc(caplen ? caplen : 1);
	int rc;

	cr_assert_not_null(copy);
	if (caplen)
		memcpy(copy, b, caplen);
	rc = dnsw_parse(copy, caplen, wirelen, out);
	free(copy);
	return rc;
}

static int parse_whole(const uint8_t *b, size_t len)
{
	return parse_exact(b, len, len, &m);
}

/* ---- a byte-by-byte message builder ---- */

struct wb {
	uint8_t b[8192];
	size_t n;
};

static void w8(struct wb *w, unsigned v)
{
	cr_assert_lt(w->n, sizeof(w->b));
	w->b[w->n++] = (uint8_t)v;
}

static void w16(struct wb *w, unsigned v)
{
	w8(w, v >> 8);
	w8(w, v & 0xff);
}

static void w32(struct wb *w, uint32_t v)
{
	w16(w, v >> 16);
	w16(w, v & 0xffff);
}

static void wbytes(struct wb *w, const void *p, size_t n)
{
	cr_assert_leq(n, sizeof(w->b) - w->n);
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

/* Dotted ASCII labels then the root octet ("" is the root alone); returns its offset. */
static size_t wname(struct wb *w, const char *name)
{
	size_t at = w->n;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t len = dot ? (size_t)(dot - name) : strlen(name);

		w8(w, (unsigned)len);
		wbytes(w, name, len);
		name += len + (dot ? 1 : 0);
	}
	w8(w, 0);
	return at;
}

/* Labels with no root octet: a pointer has to follow. */
static size_t wlabels(struct wb *w, const char *name)
{
	size_t at = w->n;

	wname(w, name);
	w->n--;
	return at;
}

static void wptr(struct wb *w, size_t target)
{
	w16(w, 0xc000 | (unsigned)target);
}

#define F_RESPONSE 0x8180 /* QR, RD, RA, NOERROR */

static void whdr(struct wb *w, uint16_t id, uint16_t flags, unsigned qd, unsigned an, unsigned ns,
		 unsigned ar)
{
	w->n = 0;
	w16(w, id);
	w16(w, flags);
	w16(w, qd);
	w16(w, an);
	w16(w, ns);
	w16(w, ar);
}

static size_t wquestion(struct wb *w, const char *name, uint16_t type)
{
	size_t at = wname(w, name);

	w16(w, type);
	w16(w, 1);
	return at;
}

/* Fixed part of a record after its owner; returns where rdlength goes (see rr_end). */
static size_t rr_begin(struct wb *w, uint16_t type, uint16_t rclass, uint32_t ttl)
{
	size_t at;

	w16(w, type);
	w16(w, rclass);
	w32(w, ttl);
	at = w->n;
	w16(w, 0);
	return at;
}

static void rr_end(struct wb *w, size_t at)
{
	size_t len = w->n - at - 2;

	w->b[at] = (uint8_t)(len >> 8);
	w->b[at + 1] = (uint8_t)len;
}

/* A header + question "q.test" A at offset 12, the usual start of a built response. */
static void start(struct wb *w, unsigned an, unsigned ns, unsigned ar)
{
	whdr(w, 0x1234, F_RESPONSE, 1, an, ns, ar);
	wquestion(w, "q.test", DNSW_TYPE_A);
}

static int parse_wb(const struct wb *w)
{
	return parse_whole(w->b, w->n);
}

/* A rendered name never carries a control byte, space, quote or bare backslash, has no
 * empty label, and encodes back to wire form. */
static void assert_safe_name(const char *s)
{
	uint8_t wire[DNSW_WIRE_NAME_MAX];
	size_t len = strlen(s), wl;

	cr_assert_lt(len, DNSW_NAME_BUF);
	cr_assert_gt(len, 0);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		cr_assert(c > ' ' && c < 0x7f && c != '"', "byte %u in \"%s\"", c, s);
		if (c == '\\') {
			cr_assert(i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '2' &&
					  s[i + 2] >= '0' && s[i + 2] <= '9' && s[i + 3] >= '0' &&
					  s[i + 3] <= '9',
				  "bad escape in %s", s);
			i += 3;
		}
	}
	if (strcmp(s, ".") != 0) {
		cr_assert_neq(s[0], '.');
		cr_assert_neq(s[len - 1], '.');
		cr_assert_null(strstr(s, ".."));
	}
	cr_assert_eq(dnsw_name_encode(s, wire, &wl), DNSW_OK, "%s", s);
}

static bool rr_equal(const struct dnsw_rr *a, const struct dnsw_rr *b)
{
	if (strcmp(a->name, b->name) || a->type != b->type || a->rclass != b->rclass ||
	    a->ttl != b->ttl || a->rdlength != b->rdlength || a->rdoffset != b->rdoffset)
		return false;
	switch (a->type) {
	case DNSW_TYPE_A:
		return memcmp(a->rd.a, b->rd.a, 4) == 0;
	case DNSW_TYPE_AAAA:
		return memcmp(a->rd.aaaa, b->rd.aaaa, 16) == 0;
	case DNSW_TYPE_CNAME:
	case DNSW_TYPE_NS:
	case DNSW_TYPE_PTR:
		return strcmp(a->rd.name, b->rd.name) == 0;
	case DNSW_TYPE_MX:
		return a->rd.mx.preference == b->rd.mx.preference &&
		       strcmp(a->rd.mx.exchange, b->rd.mx.exchange) == 0;
	case DNSW_TYPE_SRV:
		return a->rd.srv.port == b->rd.srv.port &&
		       strcmp(a->rd.srv.target, b->rd.srv.target) == 0;
	case DNSW_TYPE_TXT:
		return strcmp(a->rd.txt.text, b->rd.txt.text) == 0;
	case DNSW_TYPE_SOA:
		return a->rd.soa.serial == b->rd.soa.serial &&
		       strcmp(a->rd.soa.rname, b->rd.soa.rname) == 0;
	default:
		return true;
	}
}

static const uint8_t ip_web[4] = {10, 0, 0, 5};

/* ---- real messages ---- */

Test(dns_wire, real_query)
{
	cr_assert_eq(parse_whole(q_web_a, sizeof(q_web_a)), DNSW_OK);
	cr_assert_eq(m.hdr.id, 0x211d);
	cr_assert_eq(m.hdr.qr, 0);
	cr_assert_eq(m.hdr.opcode, 0);
	cr_assert_eq(m.hdr.rd, 1);
	cr_assert_eq(m.hdr.ad, 1); /* dig sets AD in queries */
	cr_assert_eq(m.hdr.qdcount, 1);
	cr_assert(m.has_question);
	cr_assert_str_eq(m.q.name, "web.test.tapio");
	cr_assert_eq(m.q.qtype, DNSW_TYPE_A);
	cr_assert_eq(m.q.qclass, 1);
	cr_assert_eq(m.nanswers, 0);
	cr_assert_not(m.has_edns);
	cr_assert_not(m.truncated);
	cr_assert_eq(m.end, sizeof(q_web_a));
}

Test(dns_wire, real_a_without_edns)
{
	cr_assert_eq(parse_whole(r_web_a, sizeof(r_web_a)), DNSW_OK);
	cr_assert_eq(m.hdr.id, 0x211d);
	cr_assert_eq(m.hdr.qr, 1);
	cr_assert_eq(m.hdr.aa, 1);
	cr_assert_eq(m.hdr.rd, 1);
	cr_assert_eq(m.hdr.ra, 1);
	cr_assert_eq(m.hdr.tc, 0);
	cr_assert_eq(m.rcode, 0);
	cr_assert_str_eq(m.q.name, "web.test.tapio");
	cr_assert_eq(m.nanswers, 1);
	cr_assert_str_eq(m.answers[0].name, "web.test.tapio");
	cr_assert_eq(m.answers[0].type, DNSW_TYPE_A);
	cr_assert_eq(m.answers[0].rclass, 1);
	cr_assert_eq(m.answers[0].ttl, 0);
	cr_assert_eq(m.answers[0].rdlength, 4);
	cr_assert_arr_eq(m.answers[0].rd.a, ip_web, 4);
	cr_assert_not(m.has_edns);
	cr_assert_eq(m.end, sizeof(r_web_a));
}

Test(dns_wire, real_aaaa_with_edns)
{
	static const uint8_t fd00_5[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5};

	cr_assert_eq(parse_whole(r_web_aaaa, sizeof(r_web_aaaa)), DNSW_OK);
	cr_assert_eq(m.q.qtype, DNSW_TYPE_AAAA);
	cr_assert_eq(m.nanswers, 1);
	cr_assert_eq(m.answers[0].type, DNSW_TYPE_AAAA);
	cr_assert_arr_eq(m.answers[0].rd.aaaa, fd00_5, 16);
	cr_assert(m.has_edns);
	cr_assert_eq(m.edns.udp_size, 1232);
	cr_assert_eq(m.edns.version, 0);
	cr_assert_eq(m.edns.do_bit, 0);
	cr_assert_eq(m.edns.ede, DNSW_EDE_NONE);
}

Test(dns_wire, real_cname_chain)
{
	cr_assert_eq(parse_whole(r_www_cname, sizeof(r_www_cname)), DNSW_OK);
	cr_assert_str_eq(m.q.name, "www.test.tapio");
	cr_assert_eq(m.nanswers, 2);
	cr_assert_str_eq(m.answers[0].name, "www.test.tapio");
	cr_assert_eq(m.answers[0].type, DNSW_TYPE_CNAME);
	cr_assert_str_eq(m.answers[0].rd.name, "web.test.tapio");
	cr_assert_str_eq(m.answers[1].name, "web.test.tapio");
	cr_assert_eq(m.answers[1].type, DNSW_TYPE_A);
	cr_assert_arr_eq(m.answers[1].rd.a, ip_web, 4);
}

Test(dns_wire, real_mx)
{
	cr_assert_eq(parse_whole(r_mx, sizeof(r_mx)), DNSW_OK);
	cr_assert_str_eq(m.q.name, "test.tapio");
	cr_assert_eq(m.q.qtype, DNSW_TYPE_MX);
	cr_assert_eq(m.nanswers, 1);
	cr_assert_eq(m.answers[0].type, DNSW_TYPE_MX);
	cr_assert_eq(m.answers[0].rd.mx.preference, 10);
	cr_assert_str_eq(m.answers[0].rd.mx.exchange, "mail.test.tapio");
	cr_assert_eq(m.hdr.arcount, 2);
	cr_assert(m.has_edns);
}

Test(dns_wire, real_srv)
{
	cr_assert_eq(parse_whole(r_srv, sizeof(r_srv)), DNSW_OK);
	cr_assert_str_eq(m.q.name, "_http._tcp.test.tapio");
	cr_assert_eq(m.answers[0].type, DNSW_TYPE_SRV);
	cr_assert_eq(m.answers[0].rd.srv.priority, 1);
	cr_assert_eq(m.answers[0].rd.srv.weight, 5);
	cr_assert_eq(m.answers[0].rd.srv.port, 8080);
	cr_assert_str_eq(m.answers[0].rd.srv.target, "web.test.tapio");
	cr_assert_eq(m.hdr.arcount, 3);
	cr_assert(m.has_edns);
	cr_assert_eq(m.end, sizeof(r_srv));
}

Test(dns_wire, real_txt)
{
	cr_assert_eq(parse_whole(r_txt, sizeof(r_txt)), DNSW_OK);
	cr_assert_eq(m.answers[0].type, DNSW_TYPE_TXT);
	cr_assert_eq(m.answers[0].rd.txt.nstrings, 2);
	cr_assert_eq(m.answers[0].rd.txt.cut, 0);
	cr_assert_str_eq(m.answers[0].rd.txt.text,
			 "\"v=spf1 -all\" \"second \\034quoted\\034 string\"");
}

Test(dns_wire, real_ptr)
{
	cr_assert_eq(parse_whole(r_ptr, sizeof(r_ptr)), DNSW_OK);
	cr_assert_str_eq(m.q.name, "5.0.0.10.in-addr.arpa");
	cr_assert_eq(m.q.qtype, DNSW_TYPE_PTR);
	cr_assert_eq(m.answers[0].type, DNSW_TYPE_PTR);
	cr_assert_str_eq(m.answers[0].rd.name, "web.test.tapio");
}

Test(dns_wire, real_nxdomain)
{
	char buf[DNSW_MNEMONIC_BUF];

	cr_assert_eq(parse_whole(r_nxdomain, sizeof(r_nxdomain)), DNSW_OK);
	cr_assert_eq(m.hdr.rcode, 3);
	cr_assert_eq(m.rcode, 3);
	cr_assert_str_eq(dnsw_rcode_name(m.rcode, buf, sizeof(buf)), "NXDOMAIN");
	cr_assert_str_eq(m.q.name, "nx.test.tapio");
	cr_assert_eq(m.nanswers, 0);
	cr_assert_not(m.has_soa);
}

Test(dns_wire, real_servfail)
{
	char buf[DNSW_MNEMONIC_BUF];

	cr_assert_eq(parse_whole(r_servfail, sizeof(r_servfail)), DNSW_OK);
	cr_assert_str_eq(dnsw_rcode_name(m.rcode, buf, sizeof(buf)), "SERVFAIL");
	cr_assert_str_eq(m.q.name, "x.fail.tapio");
	cr_assert(m.has_edns);
	cr_assert_eq(m.edns.rdlength, 12); /* the cookie option */
	cr_assert_eq(m.edns.ede, DNSW_EDE_NONE);
}

Test(dns_wire, real_refused_with_extended_error)
{
	char buf[DNSW_MNEMONIC_BUF];

	cr_assert_eq(parse_whole(r_refused, sizeof(r_refused)), DNSW_OK);
	cr_assert_str_eq(dnsw_rcode_name(m.rcode, buf, sizeof(buf)), "REFUSED");
	cr_assert_str_eq(m.q.name, "other.example");
	cr_assert_eq(m.edns.ede, 14);
}

Test(dns_wire, real_ns_uncompressed_owner)
{
	cr_assert_eq(parse_whole(r_auth_ns, sizeof(r_auth_ns)), DNSW_OK);
	cr_assert_eq(m.hdr.aa, 1);
	cr_assert_eq(m.hdr.rd, 0);
	cr_assert_str_eq(m.answers[0].name, "auth.tapio");
	cr_assert_eq(m.answers[0].type, DNSW_TYPE_NS);
	cr_assert_eq(m.answers[0].ttl, 600);
	cr_assert_str_eq(m.answers[0].rd.name, "ns.test.tapio");
}

Test(dns_wire, real_soa_answer)
{
	const struct dnsw_soa *soa = &m.answers[0].rd.soa;

	cr_assert_eq(parse_whole(r_auth_soa, sizeof(r_auth_soa)), DNSW_OK);
	cr_assert_eq(m.answers[0].type, DNSW_TYPE_SOA);
	cr_assert_str_eq(soa->mname, "ns.test.tapio");
	cr_assert_str_eq(soa->rname, "hostmaster.ns.test.tapio");
	cr_assert_eq(soa->refresh, 1200);
	cr_assert_eq(soa->retry, 180);
	cr_assert_eq(soa->expire, 1209600);
	cr_assert_eq(soa->minimum, 600);
	cr_assert_eq(m.hdr.nscount, 1); /* an NS, so no authority SOA */
	cr_assert_not(m.has_soa);
	cr_assert_str_eq(m.soa.name, "");
}

Test(dns_wire, real_nxdomain_with_authority_soa)
{
	cr_assert_eq(parse_whole(r_auth_nxdomain, sizeof(r_auth_nxdomain)), DNSW_OK);
	cr_assert_eq(m.rcode, 3);
	cr_assert_str_eq(m.q.name, "nope.auth.tapio");
	cr_assert(m.has_soa);
	cr_assert_str_eq(m.soa.name, "auth.tapio");
	cr_assert_eq(m.soa.ttl, 600);
	cr_assert_str_eq(m.soa.rd.soa.mname, "ns.test.tapio");
	cr_assert_eq(m.soa.rd.soa.minimum, 600);
	cr_assert(m.has_edns);
}

/* Answers in 10.9.0.1..40, no address twice. */
static void assert_many_answers(unsigned n)
{
	bool seen[41] = {false};

	for (unsigned i = 0; i < n; i++) {
		const uint8_t *a = m.answers[i].rd.a;

		cr_assert_str_eq(m.answers[i].name, "many.test.tapio");
		cr_assert(a[0] == 10 && a[1] == 9 && a[2] == 0 && a[3] >= 1 && a[3] <= 40);
		cr_assert_not(seen[a[3]]);
		seen[a[3]] = true;
	}
}

Test(dns_wire, real_answers_beyond_the_bound_are_counted)
{
	cr_assert_eq(parse_whole(r_many, sizeof(r_many)), DNSW_OK);
	cr_assert_eq(m.hdr.ancount, 40);
	cr_assert_eq(m.nanswers, DNSW_MAX_ANSWERS);
	cr_assert_eq(m.answers_skipped, 40 - DNSW_MAX_ANSWERS);
	assert_many_answers(m.nanswers);
	cr_assert(m.has_edns); /* reached past the skipped answers */
	cr_assert_not(m.truncated);
}

Test(dns_wire, real_response_cut_at_512_bytes_is_partial)
{
	/* 12 header + 21 question + 29 * 16 answers = 497: the 30th answer is cut. */
	cr_assert_eq(parse_exact(r_many, 512, sizeof(r_many), &m), DNSW_PARTIAL);
	cr_assert(m.truncated);
	cr_assert_str_eq(m.q.name, "many.test.tapio");
	cr_assert_eq(m.nanswers, DNSW_MAX_ANSWERS);
	cr_assert_eq(m.answers_skipped, 29 - DNSW_MAX_ANSWERS);
	cr_assert_eq(m.end, 497);
	cr_assert_not(m.has_edns);
	assert_many_answers(m.nanswers);
}

Test(dns_wire, real_tc_response)
{
	cr_assert_eq(parse_whole(r_many_tc, sizeof(r_many_tc)), DNSW_OK);
	cr_assert_eq(m.hdr.tc, 1);
	cr_assert_eq(m.hdr.ancount, 29);
	cr_assert_not(m.truncated); /* TC is the server's cut, reported in the header */
}

Test(dns_wire, real_names_are_safe)
{
	for (size_t i = 0; i < NREAL; i++) {
		cr_assert_geq(parse_whole(real_msgs[i].b, real_msgs[i].len), 0, "%s",
			      real_msgs[i].name);
		assert_safe_name(m.q.name);
		for (unsigned a = 0; a < m.nanswers; a++)
			assert_safe_name(m.answers[a].name);
	}
}

/* ---- cut at every length ---- */

/* A capture cut at len of a real message: a partial parse reports a prefix of the full one,
 * anything else fails as truncated. */
static void check_cut(const struct real_msg *r, size_t len)
{
	int rc = parse_exact(r->b, len, r->len, &m);

	cr_assert(rc == DNSW_PARTIAL || rc == DNSW_ERR_TRUNCATED, "%s cut at %zu: %d", r->name, len,
		  rc);
	if (rc == DNSW_ERR_TRUNCATED)
		return;
	cr_assert(m.truncated);
	cr_assert(m.has_question);
	cr_assert_str_eq(m.q.name, ref.q.name);
	cr_assert_leq(m.end, len);
	cr_assert_leq(m.nanswers, ref.nanswers);
	cr_assert_leq(m.answers_skipped, ref.answers_skipped);
	for (unsigned i = 0; i < m.nanswers; i++)
		cr_assert(rr_equal(&m.answers[i], &ref.answers[i]), "%s cut at %zu: answer %u",
			  r->name, len, i);
}

Test(dns_wire, every_cut_of_every_real_message)
{
	for (size_t i = 0; i < NREAL; i++) {
		const struct real_msg *r = &real_msgs[i];

		cr_assert_eq(parse_whole(r->b, r->len), DNSW_OK, "%s", r->name);
		ref = m;
		for (size_t len = 0; len < r->len; len++)
			check_cut(r, len);
	}
}

/* The same prefixes taken as whole messages: nothing was cut by a capture, so running out of
 * bytes is the message's fault. */
Test(dns_wire, every_short_real_message_fails)
{
	for (size_t i = 0; i < NREAL; i++) {
		const struct real_msg *r = &real_msgs[i];

		for (size_t len = 0; len < r->len; len++) {
			int rc = parse_exact(r->b, len, len, &m);

			cr_assert(rc == DNSW_ERR_TRUNCATED || rc == DNSW_ERR_COUNTS,
				  "%s at %zu: %d", r->name, len, rc);
		}
	}
}

/* ---- mutated real messages ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void check_mutant(const uint8_t *b, size_t caplen, size_t wirelen)
{
	int rc = parse_exact(b, caplen, wirelen, &m);

	cr_assert(rc >= DNSW_ERR_RDATA && rc <= DNSW_PARTIAL && rc != DNSW_ERR_LABEL_TOO_LONG,
		  "status %d", rc);
	cr_assert_leq(m.end, caplen);
	cr_assert_leq(m.nanswers, DNSW_MAX_ANSWERS);
	if (m.has_question)
		assert_safe_name(m.q.name);
	for (unsigned i = 0; i < m.nanswers; i++)
		assert_safe_name(m.answers[i].name);
	if (rc >= 0 && m.has_soa)
		assert_safe_name(m.soa.name);
}

Test(dns_wire, mutated_real_messages_never_misbehave)
{
	uint8_t buf[1024];

	for (int iter = 0; iter < 20000; iter++) {
		const struct real_msg *r = &real_msgs[rnd() % NREAL];
		unsigned flips = 1 + rnd() % 4;
		size_t caplen = r->len - rnd() % (r->len / 4 + 1);

		memcpy(buf, r->b, r->len);
		for (unsigned f = 0; f < flips; f++) {
			/* Bias towards bytes that steer the parser: lengths and pointers. */
			uint8_t v = (uint8_t)(rnd() % 3 ? rnd() : 0xc0 | rnd() % 64);

			buf[rnd() % r->len] = v;
		}
		check_mutant(buf, caplen, r->len + rnd() % 3);
	}
}

/* ---- built messages: every decoded type ---- */

Test(dns_wire, built_all_types_with_compression)
{
	struct wb w;
	size_t q, at, mail;
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

	whdr(&w, 7, F_RESPONSE, 1, 9, 0, 0);
	q = wquestion(&w, "Svc.Example.COM", DNSW_TYPE_ANY);
	wptr(&w, q);
	at = rr_begin(&w, DNSW_TYPE_A, 1, 300);
	wbytes(&w, (const uint8_t[]){192, 0, 2, 1}, 4);
	rr_end(&w, at);
	wptr(&w, q);
	at = rr_begin(&w, DNSW_TYPE_AAAA, 1, 300);
	wbytes(&w, v6, 16);
	rr_end(&w, at);
	wlabels(&w, "alias");
	wptr(&w, q + 4); /* "example.com" inside the question */
	at = rr_begin(&w, DNSW_TYPE_CNAME, 1, 60);
	wptr(&w, q);
	rr_end(&w, at);
	wptr(&w, q);
	at = rr_begin(&w, DNSW_TYPE_MX, 1, 60);
	w16(&w, 20);
	mail = wlabels(&w, "mail");
	wptr(&w, q + 4);
	rr_end(&w, at);
	wptr(&w, q);
	at = rr_begin(&w, DNSW_TYPE_SRV, 1, 60);
	w16(&w, 0);
	w16(&w, 100);
	w16(&w, 443);
	wptr(&w, mail); /* a pointer to a name that itself ends in a pointer */
	rr_end(&w, at);
	wptr(&w, q);
	at = rr_begin(&w, DNSW_TYPE_NS, 1, 60);
	wlabels(&w, "ns1");
	wptr(&w, q + 4);
	rr_end(&w, at);
	wname(&w, "1.2.0.192.in-addr.arpa");
	at = rr_begin(&w, DNSW_TYPE_PTR, 1, 60);
	wptr(&w, q);
	rr_end(&w, at);
	wptr(&w, q);
	at = rr_begin(&w, DNSW_TYPE_TXT, 1, 60);
	wbytes(&w, "\5hello\0\3a b", 11);
	rr_end(&w, at);
	wptr(&w, q + 4);
	at = rr_begin(&w, DNSW_TYPE_SOA, 1, 3600);
	wptr(&w, q + 4);
	wname(&w, "hostmaster.example.com");
	w32(&w, 2024010101);
	w32(&w, 7200);
	w32(&w, 900);
	w32(&w, 1209600);
	w32(&w, 300);
	rr_end(&w, at);

	cr_assert_eq(parse_wb(&w), DNSW_OK);
	cr_assert_str_eq(m.q.name, "svc.example.com");
	cr_assert_eq(m.q.qtype, DNSW_TYPE_ANY);
	cr_assert_eq(m.nanswers, 9);
	cr_assert_arr_eq(m.answers[0].rd.a, ((uint8_t[]){192, 0, 2, 1}), 4);
	cr_assert_eq(m.answers[0].ttl, 300);
	cr_assert_arr_eq(m.answers[1].rd.aaaa, v6, 16);
	cr_assert_str_eq(m.answers[2].name, "alias.example.com");
	cr_assert_str_eq(m.answers[2].rd.name, "svc.example.com");
	cr_assert_eq(m.answers[3].rd.mx.preference, 20);
	cr_assert_str_eq(m.answers[3].rd.mx.exchange, "mail.example.com");
	cr_assert_eq(m.answers[4].rd.srv.priority, 0);
	cr_assert_eq(m.answers[4].rd.srv.weight, 100);
	cr_assert_eq(m.answers[4].rd.srv.port, 443);
	cr_assert_str_eq(m.answers[4].rd.srv.target, "mail.example.com");
	cr_assert_str_eq(m.answers[5].rd.name, "ns1.example.com");
	cr_assert_str_eq(m.answers[6].name, "1.2.0.192.in-addr.arpa");
	cr_assert_str_eq(m.answers[6].rd.name, "svc.example.com");
	cr_assert_eq(m.answers[7].rd.txt.nstrings, 3);
	cr_assert_str_eq(m.answers[7].rd.txt.text, "\"hello\" \"\" \"a b\"");
	cr_assert_str_eq(m.answers[8].name, "example.com");
	cr_assert_str_eq(m.answers[8].rd.soa.mname, "example.com");
	cr_assert_str_eq(m.answers[8].rd.soa.rname, "hostmaster.example.com");
	cr_assert_eq(m.answers[8].rd.soa.serial, 2024010101);
	cr_assert_eq(m.answers[8].rd.soa.minimum, 300);
	cr_assert_eq(m.end, w.n);
}

Test(dns_wire, other_types_keep_type_and_rdlength)
{
	struct wb w;
	size_t at, rd;

	start(&w, 2, 0, 0);
	wptr(&w, 12);
	at = rr_begin(&w, DNSW_TYPE_HTTPS, 1, 60);
	rd = w.n;
	wbytes(&w, "\x00\x01\x00\x00\x01\x00\x03\x02h2", 10); /* priority 1, ".", alpn h2 */
	rr_end(&w, at);
	wptr(&w, 12);
	at = rr_begin(&w, 0xff00, 1, 60);
	rr_end(&w, at);
	cr_assert_eq(parse_wb(&w), DNSW_OK);
	cr_assert_eq(m.answers[0].type, DNSW_TYPE_HTTPS);
	cr_assert_eq(m.answers[0].rdlength, 10);
	cr_assert_eq(m.answers[0].rdoffset, rd);
	cr_assert_eq(m.answers[1].type, 0xff00);
	cr_assert_eq(m.answers[1].rdlength, 0);
}

Test(dns_wire, more_than_max_answers_are_counted)
{
	struct wb w;

	start(&w, 40, 0, 0);
	for (unsigned i = 0; i < 40; i++) {
		size_t at;

		wptr(&w, 12);
		at = rr_begin(&w, DNSW_TYPE_A, 1, i);
		w32(&w, i);
		rr_end(&w, at);
	}
	cr_assert_eq(parse_wb(&w), DNSW_OK);
	cr_assert_eq(m.nanswers, DNSW_MAX_ANSWERS);
	cr_assert_eq(m.answers_skipped, 40 - DNSW_MAX_ANSWERS);
	cr_assert_eq(m.answers[DNSW_MAX_ANSWERS - 1].ttl, DNSW_MAX_ANSWERS - 1);
	cr_assert_eq(m.end, w.n);
}

/* ---- rdata that does not match its type ---- */

static const uint8_t zeros[64];

static int parse_one_rr(uint16_t type, const void *rdata, size_t len)
{
	struct wb w;
	size_t at;

	start(&w, 1, 0, 0);
	wptr(&w, 12);
	at = rr_begin(&w, type, 1, 60);
	wbytes(&w, rdata, len);
	rr_end(&w, at);
	return parse_wb(&w);
}

Test(dns_wire, rdata_mismatches)
{
	cr_assert_eq(parse_one_rr(DNSW_TYPE_A, "\x01\x02\x03", 3), DNSW_ERR_RDATA);
	cr_assert_eq(parse_one_rr(DNSW_TYPE_A, "\x01\x02\x03\x04\x05", 5), DNSW_ERR_RDATA);
	cr_assert_eq(parse_one_rr(DNSW_TYPE_AAAA, "\x01\x02\x03\x04", 4), DNSW_ERR_RDATA);
	cr_assert_eq(parse_one_rr(DNSW_TYPE_CNAME, "", 0), DNSW_ERR_RDATA);
	/* name ends before the rdata does */
	cr_assert_eq(parse_one_rr(DNSW_TYPE_CNAME, "\x01x\x00\x00", 4), DNSW_ERR_RDATA);
	/* name runs past the rdata */
	cr_assert_eq(parse_one_rr(DNSW_TYPE_PTR, "\x03x", 2), DNSW_ERR_RDATA);
	cr_assert_eq(parse_one_rr(DNSW_TYPE_NS, "\xc0", 1), DNSW_ERR_RDATA);
	cr_assert_eq(parse_one_rr(DNSW_TYPE_MX, "\x00", 1), DNSW_ERR_RDATA);
	cr_assert_eq(parse_one_rr(DNSW_TYPE_MX, "\x00\x0a", 2), DNSW_ERR_RDATA);
	cr_assert_eq(parse_one_rr(DNSW_TYPE_SRV, "\x00\x00\x00\x00\x00", 5), DNSW_ERR_RDATA);
	cr_assert_eq(parse_one_rr(DNSW_TYPE_TXT, "\5abc", 4), DNSW_ERR_RDATA);
	/* a string one byte longer than what is left of the rdata */
	cr_assert_eq(parse_one_rr(DNSW_TYPE_TXT, "\4abc", 4), DNSW_ERR_RDATA);
	/* SOA: two root names, then 20 bytes exactly */
	cr_assert_eq(parse_one_rr(DNSW_TYPE_SOA, zeros, 4), DNSW_ERR_RDATA);
	cr_assert_eq(parse_one_rr(DNSW_TYPE_SOA, zeros, 23), DNSW_ERR_RDATA);
	/* well-formed controls */
	cr_assert_eq(parse_one_rr(DNSW_TYPE_CNAME, "\x00", 1), DNSW_OK);
	cr_assert_str_eq(m.answers[0].rd.name, ".");
	cr_assert_eq(parse_one_rr(DNSW_TYPE_MX, "\x00\x0a\x00", 3), DNSW_OK);
	cr_assert_eq(parse_one_rr(DNSW_TYPE_SOA, zeros, 22), DNSW_OK);
	cr_assert_eq(parse_one_rr(DNSW_TYPE_TXT, "", 0), DNSW_OK);
	cr_assert_eq(m.answers[0].rd.txt.nstrings, 0);
	cr_assert_str_eq(m.answers[0].rd.txt.text, "");
}

/* A pointer in rdata may point anywhere earlier, even before the record. */
Test(dns_wire, rdata_name_pointer_back_into_the_question)
{
	cr_assert_eq(parse_one_rr(DNSW_TYPE_CNAME, "\x03www\xc0\x0c", 6), DNSW_OK);
	cr_assert_str_eq(m.answers[0].rd.name, "www.q.test");
}

/* ---- TXT rendering ---- */

Test(dns_wire, txt_escapes_quotes_backslashes_and_controls)
{
	cr_assert_eq(parse_one_rr(DNSW_TYPE_TXT, "\6a\"b\\\n\xff", 7), DNSW_OK);
	cr_assert_str_eq(m.answers[0].rd.txt.text, "\"a\\034b\\092\\010\\255\"");
}

Test(dns_wire, txt_longer_than_the_buffer_is_cut_cleanly)
{
	uint8_t rd[10 * 256];

	/* Ten strings of 255 quotes: each renders to 1022 bytes. */
	for (int i = 0; i < 10; i++) {
		rd[i * 256] = 255;
		memset(rd + i * 256 + 1, '"', 255);
	}
	cr_assert_eq(parse_one_rr(DNSW_TYPE_TXT, rd, sizeof(rd)), DNSW_OK);
	{
		const struct dnsw_txt *t = &m.answers[0].rd.txt;
		size_t len = strlen(t->text);

		cr_assert_eq(t->nstrings, 10);
		cr_assert(t->cut);
		cr_assert_lt(len, DNSW_TXT_BUF);
		cr_assert_eq(t->text[0], '"');
		cr_assert_eq(t->text[len - 1], '"');
		/* only whole \034 escapes between the quotes */
		cr_assert_eq((len - 2) % 4, 0);
		for (size_t i = 1; i + 1 < len; i += 4)
			cr_assert_eq(memcmp(t->text + i, "\\034", 4), 0);
	}
}

/* Plain text fills the buffer to its last byte: 3 strings of 257 + separators, then 247
 * bytes of the fourth and its closing quote, 1023 bytes and the NUL. */
Test(dns_wire, txt_fills_the_buffer_exactly)
{
	uint8_t rd[4 * 256];

	for (int i = 0; i < 4; i++) {
		rd[i * 256] = 255;
		memset(rd + i * 256 + 1, 'x', 255);
	}
	cr_assert_eq(parse_one_rr(DNSW_TYPE_TXT, rd, sizeof(rd)), DNSW_OK);
	cr_assert(m.answers[0].rd.txt.cut);
	cr_assert_eq(strlen(m.answers[0].rd.txt.text), DNSW_TXT_BUF - 1);
	cr_assert_eq(m.answers[0].rd.txt.text[DNSW_TXT_BUF - 2], '"');
}

Test(dns_wire, txt_many_strings_cut_at_a_string_boundary)
{
	uint8_t rd[300];

	for (int i = 0; i < 100; i++)
		memcpy(rd + i * 3, "\x02xy", 3);
	cr_assert_eq(parse_one_rr(DNSW_TYPE_TXT, rd, sizeof(rd)), DNSW_OK);
	cr_assert_eq(m.answers[0].rd.txt.nstrings, 100);
	cr_assert_eq(m.answers[0].rd.txt.cut, 0); /* 100 * 5 bytes fit */
	cr_assert_eq(strlen(m.answers[0].rd.txt.text), 100 * 5 - 1);
}

/* ---- names ---- */

static int parse_question_bytes(const void *name, size_t len)
{
	struct wb w;

	whdr(&w, 1, 0x0100, 1, 0, 0, 0);
	wbytes(&w, name, len);
	w16(&w, DNSW_TYPE_A);
	w16(&w, 1);
	return parse_wb(&w);
}

Test(dns_wire, names_are_lower_cased_and_escaped)
{
	static const uint8_t name[] = {4, 'W', 'w',  '.',  'W',	 3, 'a', ' ', 'b', 5,
				       0, '"', '\\', 0x7f, 0x80, 3, 'C', 'O', 'M', 0};

	cr_assert_eq(parse_question_bytes(name, sizeof(name)), DNSW_OK);
	cr_assert_str_eq(m.q.name, "ww\\046w.a\\032b.\\000\\034\\092\\127\\128.com");
	assert_safe_name(m.q.name);
}

Test(dns_wire, root_name)
{
	cr_assert_eq(parse_question_bytes("", 1), DNSW_OK);
	cr_assert_str_eq(m.q.name, ".");
}

Test(dns_wire, longest_name_fully_escaped_fits)
{
	uint8_t name[255] = {0};

	/* 63 + 63 + 63 + 61 bytes of 0x00: 255 wire bytes, 1003 rendered. */
	name[0] = 63;
	name[64] = 63;
	name[128] = 63;
	name[192] = 61;
	cr_assert_eq(parse_question_bytes(name, sizeof(name)), DNSW_OK);
	cr_assert_eq(strlen(m.q.name), 1003);
	assert_safe_name(m.q.name);
}

static size_t long_name(uint8_t *out, const unsigned *labels, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		out[len++] = (uint8_t)labels[i];
		memset(out + len, 'a', labels[i]);
		len += labels[i];
	}
	out[len++] = 0;
	return len;
}

Test(dns_wire, name_of_255_bytes_ok_256_too_long)
{
	uint8_t name[300];
	size_t len;

	len = long_name(name, (const unsigned[]){63, 63, 63, 61}, 4);
	cr_assert_eq(len, 255);
	cr_assert_eq(parse_question_bytes(name, len), DNSW_OK);
	cr_assert_eq(strlen(m.q.name), 63 * 3 + 61 + 3);
	len = long_name(name, (const unsigned[]){63, 63, 63, 62}, 4);
	cr_assert_eq(len, 256);
	cr_assert_eq(parse_question_bytes(name, len), DNSW_ERR_NAME_TOO_LONG);
	len = long_name(name,
			(const unsigned[]){1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
					   1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
					   1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
					   1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
					   1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
					   1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
					   1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
			127 + 1);
	cr_assert_eq(len, 257);
	cr_assert_eq(parse_question_bytes(name, len), DNSW_ERR_NAME_TOO_LONG);
}

/* The limit holds across pointers: the suffix counts too. */
Test(dns_wire, name_too_long_through_compression)
{
	struct wb w;
	size_t q, at;
	char big[3 * 64];

	for (int i = 0; i < 3; i++) {
		memset(big + i * 64, 'b', 63);
		big[i * 64 + 63] = i < 2 ? '.' : '\0';
	}
	whdr(&w, 1, F_RESPONSE, 1, 1, 0, 0);
	q = wquestion(&w, big, DNSW_TYPE_A); /* 193 wire bytes */
	w8(&w, 62);
	for (int i = 0; i < 62; i++)
		w8(&w, 'c');
	wptr(&w, q); /* 63 + 193 = 256 */
	at = rr_begin(&w, DNSW_TYPE_A, 1, 1);
	w32(&w, 0);
	rr_end(&w, at);
	cr_assert_eq(parse_wb(&w), DNSW_ERR_NAME_TOO_LONG);
	w.b[q + 193 + 4] = 61; /* one byte shorter, and the label one byte later: 255 */
	w.b[q + 193 + 4 + 62] = 'c';
	memmove(w.b + q + 193 + 4 + 62, w.b + q + 193 + 4 + 63, w.n - (q + 193 + 4 + 63));
	w.n--;
	cr_assert_eq(parse_wb(&w), DNSW_OK);
	cr_assert_eq(strlen(m.answers[0].name), 61 + 1 + 63 * 3 + 2);
}

Test(dns_wire, label_of_63_ok_64_is_the_extended_type)
{
	uint8_t name[70];

	long_name(name, (const unsigned[]){63}, 1);
	cr_assert_eq(parse_question_bytes(name, 65), DNSW_OK);
	cr_assert_eq(strlen(m.q.name), 63);
	/* a length of 64 is the octet 0x40: top bits 01, not a length at all */
	long_name(name, (const unsigned[]){64}, 1);
	cr_assert_eq(parse_question_bytes(name, 66), DNSW_ERR_LABEL_TYPE);
}

Test(dns_wire, extended_and_reserved_label_types)
{
	cr_assert_eq(parse_question_bytes("\x41\x00\x00", 3), DNSW_ERR_LABEL_TYPE);
	cr_assert_eq(parse_question_bytes("\x7f\x00\x00", 3), DNSW_ERR_LABEL_TYPE);
	cr_assert_eq(parse_question_bytes("\x80\x00\x00", 3), DNSW_ERR_LABEL_TYPE);
	cr_assert_eq(parse_question_bytes("\xbf\x00\x00", 3), DNSW_ERR_LABEL_TYPE);
	cr_assert_eq(parse_question_bytes("\1a\x40", 3), DNSW_ERR_LABEL_TYPE);
}

/* Owner name of a single answer after "q.test" A, followed by an A rdata. */
static int parse_owner(const void *owner, size_t len, size_t *owner_off)
{
	struct wb w;
	size_t at;

	start(&w, 1, 0, 0);
	*owner_off = w.n;
	wbytes(&w, owner, len);
	at = rr_begin(&w, DNSW_TYPE_A, 1, 1);
	w32(&w, 0);
	rr_end(&w, at);
	return parse_wb(&w);
}

Test(dns_wire, pointer_to_itself)
{
	size_t off;
	uint8_t p[2] = {0xc0, 24}; /* the owner starts at 24 (12 + 8 + 4) */

	cr_assert_eq(parse_owner(p, 2, &off), DNSW_ERR_BAD_POINTER);
	cr_assert_eq(off, 24);
	cr_assert_eq(parse_question_bytes("\xc0\x0c", 2), DNSW_ERR_BAD_POINTER);
}

Test(dns_wire, forward_pointer)
{
	size_t off;

	cr_assert_eq(parse_owner("\xc0\x1c", 2, &off), DNSW_ERR_BAD_POINTER);
	cr_assert_eq(parse_owner("\xc3\xff", 2, &off), DNSW_ERR_BAD_POINTER); /* out of range */
	cr_assert_eq(parse_question_bytes("\1a\xc0\x20", 4), DNSW_ERR_BAD_POINTER);
}

Test(dns_wire, pointer_into_the_header)
{
	size_t off;

	cr_assert_eq(parse_owner("\xc0\x04", 2, &off), DNSW_ERR_BAD_POINTER);
	cr_assert_eq(parse_owner("\xc0\x00", 2, &off), DNSW_ERR_BAD_POINTER);
}

Test(dns_wire, pointer_loop)
{
	size_t off;

	/* "b" then a pointer back to the "b": the walk would repeat forever */
	cr_assert_eq(parse_owner("\1b\xc0\x18", 4, &off), DNSW_ERR_POINTER_LOOP);
	cr_assert_eq(off, 0x18);
	/* a pointer into the middle of the name being read */
	cr_assert_eq(parse_owner("\2bc\1d\xc0\x19", 7, &off), DNSW_ERR_POINTER_LOOP);
	/* the same in the question: its label, then a pointer back to the question */
	cr_assert_eq(parse_question_bytes("\1a\xc0\x0c", 4), DNSW_ERR_POINTER_LOOP);
}

/* n pointers in an unknown-type rdata, each to the one before, the first to the question;
 * the second answer's owner points at the last: n + 1 hops. */
static int parse_hop_chain(unsigned n)
{
	struct wb w;
	size_t at, first;

	start(&w, 2, 0, 0);
	wptr(&w, 12);
	at = rr_begin(&w, 0xff00, 1, 1);
	first = w.n;
	wptr(&w, 12);
	for (unsigned i = 1; i < n; i++)
		wptr(&w, first + 2 * (i - 1));
	rr_end(&w, at);
	wptr(&w, first + 2 * (n - 1));
	at = rr_begin(&w, DNSW_TYPE_A, 1, 1);
	w32(&w, 0);
	rr_end(&w, at);
	return parse_wb(&w);
}

Test(dns_wire, hop_limit)
{
	cr_assert_eq(parse_hop_chain(DNSW_MAX_HOPS - 1), DNSW_OK);
	cr_assert_str_eq(m.answers[1].name, "q.test");
	cr_assert_eq(parse_hop_chain(DNSW_MAX_HOPS), DNSW_ERR_POINTER_LOOP);
}

/* ---- counts, truncation, capture bound ---- */

Test(dns_wire, short_header)
{
	cr_assert_eq(parse_exact(r_web_a, 11, 11, &m), DNSW_ERR_TRUNCATED);
	cr_assert_eq(parse_exact(r_web_a, 0, 0, &m), DNSW_ERR_TRUNCATED);
	cr_assert_eq(dnsw_parse(NULL, 0, 0, &m), DNSW_ERR_TRUNCATED);
	cr_assert_eq(dnsw_parse(NULL, 100, 100, &m), DNSW_ERR_TRUNCATED);
}

Test(dns_wire, counts_larger_than_the_message)
{
	struct wb w;
	size_t at;

	start(&w, 1, 0, 0); /* 40 bytes: header, question, one A */
	wptr(&w, 12);
	at = rr_begin(&w, DNSW_TYPE_A, 1, 1);
	w32(&w, 0);
	rr_end(&w, at);
	cr_assert_eq(parse_wb(&w), DNSW_OK);
	w.b[7] = 0xff; /* ancount 255 */
	cr_assert_eq(parse_wb(&w), DNSW_ERR_COUNTS);
	cr_assert_eq(m.hdr.ancount, 255);
	w.b[6] = 0xff;
	cr_assert_eq(parse_wb(&w), DNSW_ERR_COUNTS);
	w.b[6] = w.b[7] = 0;
	w.b[4] = 0x10; /* qdcount 4097 */
	cr_assert_eq(parse_wb(&w), DNSW_ERR_COUNTS);
	w.b[4] = 0;
	w.b[11] = 3; /* arcount 3: 12 + 5 + 4 * 11 > 40 */
	cr_assert_eq(parse_wb(&w), DNSW_ERR_COUNTS);
}

/* Counts within the message's minimum size, but the records are not there. */
Test(dns_wire, counts_that_pass_the_minimum_but_run_out)
{
	struct wb w;

	start(&w, 0, 0, 0);
	for (int i = 0; i < 22; i++)
		w8(&w, 0);
	w.b[7] = 2; /* two 11-byte root A records of rdlength 0 would fit; the type bytes say 0 */
	cr_assert_eq(parse_wb(&w), DNSW_OK);
	w.b[w.n - 2] = 0x01; /* second record's rdlength 256 */
	cr_assert_eq(parse_wb(&w), DNSW_ERR_TRUNCATED);
	cr_assert_eq(m.nanswers, 1);
}

/* The capture bound: counts are checked against the real length, not the captured one. */
Test(dns_wire, counts_checked_against_the_wire_length)
{
	cr_assert_eq(parse_exact(r_many, 100, 684, &m), DNSW_PARTIAL);
	cr_assert_eq(m.nanswers, 4); /* 33 + 4 * 16 = 97 */
	cr_assert_eq(m.end, 97);
	cr_assert_eq(parse_exact(r_many, 100, 100, &m), DNSW_ERR_COUNTS);
}

Test(dns_wire, question_cut_is_an_error_even_when_captured_short)
{
	cr_assert_eq(parse_exact(r_many, 30, 684, &m), DNSW_ERR_TRUNCATED);
	cr_assert_eq(m.hdr.ancount, 40); /* the header is still there */
	cr_assert_not(m.has_question);
}

Test(dns_wire, record_claiming_past_the_message_is_not_partial)
{
	struct wb w;
	size_t at;

	start(&w, 1, 0, 0);
	wptr(&w, 12);
	at = rr_begin(&w, 0xff00, 1, 1);
	for (int i = 0; i < 40; i++)
		w8(&w, i);
	rr_end(&w, at);
	/* captured 40 bytes of a 76-byte message whose record claims to go on to 77 */
	w.b[at + 1]++;
	cr_assert_eq(parse_exact(w.b, 40, w.n, &m), DNSW_ERR_TRUNCATED);
	w.b[at + 1]--;
	cr_assert_eq(parse_exact(w.b, 40, w.n, &m), DNSW_PARTIAL);
}

Test(dns_wire, wire_length_below_captured_is_taken_as_captured)
{
	cr_assert_eq(parse_exact(r_web_a, sizeof(r_web_a), 0, &m), DNSW_OK);
	cr_assert_eq(m.nanswers, 1);
}

Test(dns_wire, trailing_bytes_are_ignored)
{
	uint8_t buf[sizeof(r_web_a) + 5] = {0};

	memcpy(buf, r_web_a, sizeof(r_web_a));
	cr_assert_eq(parse_whole(buf, sizeof(buf)), DNSW_OK);
	cr_assert_eq(m.end, sizeof(r_web_a));
}

Test(dns_wire, cut_before_edns_keeps_all_answers)
{
	size_t cut = sizeof(r_www_cname) - 11; /* the OPT record */

	cr_assert_eq(parse_exact(r_www_cname, cut, sizeof(r_www_cname), &m), DNSW_PARTIAL);
	cr_assert_eq(m.nanswers, 2);
	cr_assert(m.truncated);
	cr_assert_not(m.has_edns);
	cr_assert_eq(m.end, cut);
}

/* ---- question counts other than one ---- */

Test(dns_wire, no_question)
{
	struct wb w;

	whdr(&w, 9, 0x8184, 0, 0, 0, 0); /* NOTIMP */
	cr_assert_eq(parse_wb(&w), DNSW_OK);
	cr_assert_not(m.has_question);
	cr_assert_str_eq(m.q.name, "");
	cr_assert_eq(m.rcode, 4);
}

Test(dns_wire, two_questions_first_reported_rest_skipped)
{
	struct wb w;
	size_t at;

	whdr(&w, 9, F_RESPONSE, 2, 1, 0, 0);
	wquestion(&w, "one.test", DNSW_TYPE_A);
	wquestion(&w, "two.test", DNSW_TYPE_AAAA);
	wptr(&w, 12);
	at = rr_begin(&w, DNSW_TYPE_A, 1, 5);
	w32(&w, 0x01020304);
	rr_end(&w, at);
	cr_assert_eq(parse_wb(&w), DNSW_OK);
	cr_assert_eq(m.hdr.qdcount, 2);
	cr_assert_str_eq(m.q.name, "one.test");
	cr_assert_eq(m.nanswers, 1);
	cr_assert_str_eq(m.answers[0].name, "one.test");
}

/* ---- EDNS ---- */

static int parse_opt(uint8_t owner, uint32_t ttl, const void *opts, size_t len)
{
	struct wb w;
	size_t at;

	start(&w, 0, 0, 1);
	w8(&w, owner);
	at = rr_begin(&w, DNSW_TYPE_OPT, 4096, ttl);
	wbytes(&w, opts, len);
	rr_end(&w, at);
	return parse_wb(&w);
}

Test(dns_wire, edns_extended_rcode_and_flags)
{
	char buf[DNSW_MNEMONIC_BUF];

	cr_assert_eq(parse_opt(0, 0x01008000, "", 0), DNSW_OK);
	cr_assert(m.has_edns);
	cr_assert_eq(m.edns.udp_size, 4096);
	cr_assert_eq(m.edns.ext_rcode, 1);
	cr_assert_eq(m.edns.do_bit, 1);
	cr_assert_eq(m.rcode, 16);
	cr_assert_str_eq(dnsw_rcode_name(m.rcode, buf, sizeof(buf)), "BADVERS");
}

Test(dns_wire, edns_options_and_extended_error)
{
	/* a cookie, then EDE 6 (DNSSEC Bogus) with extra text, then a second EDE */
	static const uint8_t opts[] = {0,  10, 0, 8, 1, 2,   3,	  4, 5,	 6, 7, 8, 0,
				       15, 0,  4, 0, 6, 'h', 'i', 0, 15, 0, 2, 0, 9};

	cr_assert_eq(parse_opt(0, 0, opts, sizeof(opts)), DNSW_OK);
	cr_assert_eq(m.edns.ede, 6);
	cr_assert_eq(m.edns.rdlength, sizeof(opts));
	cr_assert_eq(parse_opt(0, 0, opts, 5), DNSW_ERR_RDATA);	 /* option cut */
	cr_assert_eq(parse_opt(0, 0, opts, 14), DNSW_ERR_RDATA); /* stray bytes */
}

Test(dns_wire, opt_not_at_the_root_is_not_edns)
{
	struct wb w;
	size_t at;

	start(&w, 0, 0, 1);
	wptr(&w, 12);
	at = rr_begin(&w, DNSW_TYPE_OPT, 4096, 0);
	rr_end(&w, at);
	cr_assert_eq(parse_wb(&w), DNSW_OK);
	cr_assert_not(m.has_edns);
}

/* ---- presentation to wire ---- */

Test(dns_wire, name_encode)
{
	uint8_t wire[DNSW_WIRE_NAME_MAX];
	size_t len;
	char label64[80];

	cr_assert_eq(dnsw_name_encode("www.Example.com.", wire, &len), DNSW_OK);
	cr_assert_eq(len, 17);
	cr_assert_arr_eq(wire, "\3www\7Example\3com", 17);
	cr_assert_eq(dnsw_name_encode(".", wire, &len), DNSW_OK);
	cr_assert_eq(len, 1);
	cr_assert_eq(wire[0], 0);
	cr_assert_eq(dnsw_name_encode("a\\046b\\.c\\000", wire, &len), DNSW_OK);
	cr_assert_arr_eq(wire, "\6a.b.c\0\0", 8);
	memset(label64, 'x', 64);
	label64[64] = '\0';
	cr_assert_eq(dnsw_name_encode(label64, wire, &len), DNSW_ERR_LABEL_TOO_LONG);
	label64[63] = '\0';
	cr_assert_eq(dnsw_name_encode(label64, wire, &len), DNSW_OK);
	cr_assert_eq(len, 65);
	cr_assert_eq(dnsw_name_encode("", wire, &len), DNSW_ERR_SYNTAX);
	cr_assert_eq(dnsw_name_encode("a..b", wire, &len), DNSW_ERR_SYNTAX);
	cr_assert_eq(dnsw_name_encode(".a", wire, &len), DNSW_ERR_SYNTAX);
	cr_assert_eq(dnsw_name_encode("a\\25", wire, &len), DNSW_ERR_SYNTAX);
	cr_assert_eq(dnsw_name_encode("a\\256", wire, &len), DNSW_ERR_SYNTAX);
	cr_assert_eq(dnsw_name_encode("a\\", wire, &len), DNSW_ERR_SYNTAX);
}

Test(dns_wire, name_encode_length_limit)
{
	char text[400];
	uint8_t wire[DNSW_WIRE_NAME_MAX];
	size_t len;

	/* 63.63.63.61 = 255 wire bytes; one more byte is 256 */
	memset(text, 'a', sizeof(text));
	text[63] = text[127] = text[191] = '.';
	text[253] = '\0';
	cr_assert_eq(dnsw_name_encode(text, wire, &len), DNSW_OK);
	cr_assert_eq(len, 255);
	text[253] = 'a';
	text[254] = '\0';
	cr_assert_eq(dnsw_name_encode(text, wire, &len), DNSW_ERR_NAME_TOO_LONG);
	text[253] = '.';
	cr_assert_eq(dnsw_name_encode(text, wire, &len), DNSW_OK); /* trailing dot */
}

/* Every wire name renders to text that encodes back to the same bytes (up to case). */
Test(dns_wire, render_encode_round_trip)
{
	for (int iter = 0; iter < 2000; iter++) {
		uint8_t name[DNSW_WIRE_NAME_MAX], back[DNSW_WIRE_NAME_MAX];
		size_t len = 0, blen;

		while (len < 200) {
			unsigned l = 1 + rnd() % 40;

			if (len + 1 + l + 1 > 200)
				break;
			name[len++] = (uint8_t)l;
			for (unsigned i = 0; i < l; i++) {
				uint8_t c = (uint8_t)rnd();

				name[len++] = c >= 'A' && c <= 'Z' ? c | 0x20 : c;
			}
		}
		name[len++] = 0;
		cr_assert_eq(parse_question_bytes(name, len), DNSW_OK);
		cr_assert_eq(dnsw_name_encode(m.q.name, back, &blen), DNSW_OK);
		cr_assert_eq(blen, len);
		cr_assert_arr_eq(back, name, len);
	}
}

/* ---- TCP framing ---- */

Test(dns_wire, tcp_whole_message)
{
	struct dnsw_frame f;

	cr_assert_eq(dnsw_tcp_frame(tcp_r_web_a, sizeof(tcp_r_web_a), &f), DNSW_OK);
	cr_assert_eq(f.wirelen, 59);
	cr_assert_eq(f.caplen, 59);
	cr_assert_eq(f.needed, sizeof(tcp_r_web_a));
	cr_assert_eq(f.msg, tcp_r_web_a + 2);
	cr_assert_eq(parse_exact(f.msg, f.caplen, f.wirelen, &m), DNSW_OK);
	cr_assert_eq(m.hdr.id, 0x7f29);
	cr_assert_arr_eq(m.answers[0].rd.a, ip_web, 4);
	cr_assert(m.has_edns);
}

Test(dns_wire, tcp_split_message)
{
	struct dnsw_frame f;

	for (size_t len = 0; len < sizeof(tcp_r_web_a); len++) {
		int rc = dnsw_tcp_frame(tcp_r_web_a, len, &f);

		if (len < 2) {
			cr_assert_eq(rc, DNSW_ERR_TRUNCATED);
			cr_assert_eq(f.needed, 2);
			cr_assert_null(f.msg);
			continue;
		}
		cr_assert_eq(rc, DNSW_PARTIAL);
		cr_assert_eq(f.needed, sizeof(tcp_r_web_a));
		cr_assert_eq(f.caplen, len - 2);
		rc = parse_exact(f.msg, f.caplen, f.wirelen, &m);
		/* 12 header + 20 question */
		cr_assert_eq(rc, f.caplen < 32 ? DNSW_ERR_TRUNCATED : DNSW_PARTIAL, "at %zu", len);
	}
}

Test(dns_wire, tcp_two_messages_back_to_back)
{
	uint8_t stream[sizeof(tcp_q_web_a) + sizeof(tcp_r_web_a)];
	struct dnsw_frame f;
	size_t off = 0;

	memcpy(stream, tcp_q_web_a, sizeof(tcp_q_web_a));
	memcpy(stream + sizeof(tcp_q_web_a), tcp_r_web_a, sizeof(tcp_r_web_a));
	cr_assert_eq(dnsw_tcp_frame(stream, sizeof(stream), &f), DNSW_OK);
	cr_assert_eq(f.wirelen, 55);
	cr_assert_eq(parse_exact(f.msg, f.caplen, f.wirelen, &m), DNSW_OK);
	cr_assert_eq(m.hdr.qr, 0);
	off += f.needed;
	cr_assert_eq(dnsw_tcp_frame(stream + off, sizeof(stream) - off, &f), DNSW_OK);
	cr_assert_eq(parse_exact(f.msg, f.caplen, f.wirelen, &m), DNSW_OK);
	cr_assert_eq(m.hdr.qr, 1);
	cr_assert_eq(m.hdr.id, 0x7f29);
	off += f.needed;
	cr_assert_eq(off, sizeof(stream));
	cr_assert_eq(dnsw_tcp_frame(stream + off, 0, &f), DNSW_ERR_TRUNCATED);
}

Test(dns_wire, tcp_prefix_shorter_than_a_header)
{
	struct dnsw_frame f;
	static const uint8_t tiny[] = {0, 5, 1, 2, 3, 4, 5};

	cr_assert_eq(dnsw_tcp_frame(tiny, sizeof(tiny), &f), DNSW_ERR_TRUNCATED);
	cr_assert_eq(f.wirelen, 5);
	cr_assert_eq(dnsw_tcp_frame((const uint8_t[]){0, 0}, 2, &f), DNSW_ERR_TRUNCATED);
	cr_assert_eq(dnsw_tcp_frame(NULL, 10, &f), DNSW_ERR_TRUNCATED);
}

/* ---- mnemonics ---- */

Test(dns_wire, type_names)
{
	char buf[DNSW_MNEMONIC_BUF];
	static const struct {
		uint16_t type;
		const char *name;
	} cases[] = {
		{1, "A"},	  {28, "AAAA"},		{5, "CNAME"}, {33, "SRV"},
		{12, "PTR"},	  {16, "TXT"},		{15, "MX"},   {2, "NS"},
		{6, "SOA"},	  {65, "HTTPS"},	{64, "SVCB"}, {255, "ANY"},
		{41, "OPT"},	  {39, "DNAME"},	{257, "CAA"}, {0, "TYPE0"},
		{100, "TYPE100"}, {65535, "TYPE65535"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_str_eq(dnsw_type_name(cases[i].type, buf, sizeof(buf)), cases[i].name);
}

Test(dns_wire, rcode_names)
{
	char buf[DNSW_MNEMONIC_BUF];
	static const char *const names[] = {"NOERROR",	"FORMERR", "SERVFAIL",
					    "NXDOMAIN", "NOTIMP",  "REFUSED"};

	for (uint16_t i = 0; i < 6; i++)
		cr_assert_str_eq(dnsw_rcode_name(i, buf, sizeof(buf)), names[i]);
	cr_assert_str_eq(dnsw_rcode_name(9, buf, sizeof(buf)), "NOTAUTH");
	cr_assert_str_eq(dnsw_rcode_name(23, buf, sizeof(buf)), "BADCOOKIE");
	cr_assert_str_eq(dnsw_rcode_name(12, buf, sizeof(buf)), "RCODE12");
	cr_assert_str_eq(dnsw_rcode_name(4095, buf, sizeof(buf)), "RCODE4095");
}

Test(dns_wire, status_texts_are_distinct)
{
	for (int a = DNSW_ERR_SYNTAX; a <= DNSW_PARTIAL; a++) {
		cr_assert_str_neq(dnsw_strerror(a), "unknown status");
		for (int b = a + 1; b <= DNSW_PARTIAL; b++)
			cr_assert_str_neq(dnsw_strerror(a), dnsw_strerror(b));
	}
	cr_assert_str_eq(dnsw_strerror(42), "unknown status");
}

Test(dns_wire, canonical_names_render_like_parsed_ones)
{
	char out[DNSW_NAME_BUF];

	cr_assert_eq(dnsw_name_canonical("WEB.Test.Tapio.", out), DNSW_OK);
	cr_assert_str_eq(out, "web.test.tapio");
	cr_assert_eq(dnsw_name_canonical("a\\.b\\065.test", out), DNSW_OK);
	cr_assert_str_eq(out, "a\\046ba.test", "escapes as the parser writes them");
	cr_assert_eq(dnsw_name_canonical(".", out), DNSW_OK);
	cr_assert_str_eq(out, ".");
	cr_assert_eq(dnsw_name_canonical("a..b", out), DNSW_ERR_SYNTAX);
	cr_assert_eq(dnsw_name_canonical("", out), DNSW_ERR_SYNTAX);
}
