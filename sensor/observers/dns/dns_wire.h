/* dns_wire.h - DNS wire-format parser for the DNS observer (user space, no allocation).
 *
 * Owns the decoding of one DNS message (RFC 1035, AAAA RFC 3596, SRV RFC 2782, EDNS OPT
 * RFC 6891) from a captured byte buffer into a caller-provided struct with fixed-size
 * buffers, the TCP length-prefix framing (RFC 1035 4.2.2), and the mnemonics of types and
 * rcodes. Nothing read from the packet is trusted: every read is bounded by the captured
 * length, compression pointers may only point backwards, hops are limited and wire-format
 * limits (label 63, name 255) are enforced.
 *
 * Capture bound: the kernel copies at most N bytes of a packet, so the parser takes both the
 * captured length and the message's real length. A message cut by the capture after its
 * question parses as DNSW_PARTIAL: the header, the question and every record that was
 * complete are reported and msg->truncated is set. Running out of bytes when nothing was cut
 * means the message itself is malformed (DNSW_ERR_TRUNCATED).
 *
 * Label octets: the two top bits give the label type, so a length octet of 64..127 is not a
 * long label but the extended type 01 (RFC 6891 4.2) and 128..191 the reserved type 10; the
 * parser reports both as DNSW_ERR_LABEL_TYPE. A label over 63 bytes can only be written in
 * presentation form, where dnsw_name_encode reports DNSW_ERR_LABEL_TOO_LONG.
 *
 * Names are rendered in presentation form, lower-cased, without the trailing dot (the root
 * is "."). Inside a label every byte outside '!'..'~', and '.', '\\' and '"', is written as
 * \DDD (decimal), so a rendered name never carries a separator, quote or control byte into
 * logs or JSON, and distinct wire names never render the same (up to ASCII case).
 */
#ifndef TAPIO_DNS_WIRE_H
#define TAPIO_DNS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define DNSW_HEADER_LEN 12
#define DNSW_WIRE_NAME_MAX 255 /* wire bytes of a name, length octets and root included */
#define DNSW_LABEL_MAX 63
/* Worst case of a rendered name is 4 labels of 63/63/63/61 bytes all escaped:
 * 250 * 4 + 3 dots + NUL = 1004; rounded up. */
#define DNSW_NAME_BUF 1024
#define DNSW_TXT_BUF 1024    /* rendered TXT strings; longer ones are cut (txt.cut) */
#define DNSW_MAX_ANSWERS 16  /* answers decoded; the rest are framed and counted */
#define DNSW_MAX_HOPS 32     /* compression pointers followed per name */
#define DNSW_MNEMONIC_BUF 16 /* fits "TYPE65535", "RCODE4095" */
#define DNSW_EDE_NONE 0xffff /* edns.ede when no Extended DNS Error option was present */

/* Record types this parser decodes, and a few more for callers. */
enum {
	DNSW_TYPE_A = 1,
	DNSW_TYPE_NS = 2,
	DNSW_TYPE_CNAME = 5,
	DNSW_TYPE_SOA = 6,
	DNSW_TYPE_PTR = 12,
	DNSW_TYPE_MX = 15,
	DNSW_TYPE_TXT = 16,
	DNSW_TYPE_AAAA = 28,
	DNSW_TYPE_SRV = 33,
	DNSW_TYPE_DNAME = 39,
	DNSW_TYPE_OPT = 41,
	DNSW_TYPE_SVCB = 64,
	DNSW_TYPE_HTTPS = 65,
	DNSW_TYPE_ANY = 255,
};

/* Results. >= 0 means the struct holds a usable message. On an error the struct keeps what
 * was decoded before it: the header whenever the buffer held 12 bytes, the question and
 * answers[0..nanswers) when they were complete. */
enum dnsw_status {
	DNSW_PARTIAL = 1, /* capture cut the message after its question: prefix + truncated */
	DNSW_OK = 0,
	DNSW_ERR_TRUNCATED = -1,      /* bytes end inside a field (header, question, or a record
				      * of a message that was not cut by the capture) */
	DNSW_ERR_BAD_POINTER = -2,    /* compression pointer to itself, forward or out of range */
	DNSW_ERR_POINTER_LOOP = -3,   /* pointer back into the name being read, or too many hops */
	DNSW_ERR_NAME_TOO_LONG = -4,  /* more than 255 wire bytes */
	DNSW_ERR_LABEL_TOO_LONG = -5, /* presentation label over 63 bytes (dnsw_name_encode) */
	DNSW_ERR_LABEL_TYPE = -6,     /* label octet 0x40..0xbf: extended or reserved type */
	DNSW_ERR_COUNTS = -7,	      /* section counts need more bytes than the message has */
	DNSW_ERR_RDATA = -8,	      /* rdata does not match its type (A of 5 bytes, ...) */
	DNSW_ERR_SYNTAX = -9,	      /* bad presentation name (dnsw_name_encode) */
};

struct dnsw_header {
	uint16_t id;
	uint8_t qr; /* 1 = response */
	uint8_t opcode;
	uint8_t aa, tc, rd, ra;
	uint8_t z, ad, cd; /* z is the reserved bit; ad/cd are RFC 4035 */
	uint8_t rcode;	   /* the header's 4 bits; msg->rcode adds the EDNS bits */
	uint16_t qdcount, ancount, nscount, arcount;
};

struct dnsw_question {
	uint16_t qtype;
	uint16_t qclass;
	char name[DNSW_NAME_BUF];
};

struct dnsw_soa {
	uint32_t serial, refresh, retry, expire, minimum;
	char mname[DNSW_NAME_BUF];
	char rname[DNSW_NAME_BUF];
};

/* TXT: each character-string in zone-file form, double-quoted, with '"', '\\' and bytes
 * outside ' '..'~' as \DDD, strings separated by one space: "v=spf1 -all" "x\034y".
 * A quoted list keeps string boundaries (a bare separator would be ambiguous with text that
 * contains it). When the buffer cannot hold everything the text ends with a complete
 * quoted string, the last one possibly cut short, and cut is set. */
struct dnsw_txt {
	uint16_t nstrings; /* character-strings in the rdata, all of them */
	uint8_t cut;	   /* text holds less than all of them */
	char text[DNSW_TXT_BUF];
};

struct dnsw_rr {
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	uint16_t rdlength;
	uint32_t rdoffset; /* rdata's offset in the message, for types not decoded here */
	char name[DNSW_NAME_BUF];
	union {
		uint8_t a[4];		  /* A, network order */
		uint8_t aaaa[16];	  /* AAAA, network order */
		char name[DNSW_NAME_BUF]; /* CNAME, PTR, NS, DNAME */
		struct {
			uint16_t preference;
			char exchange[DNSW_NAME_BUF];
		} mx;
		struct {
			uint16_t priority, weight, port;
			char target[DNSW_NAME_BUF];
		} srv;
		struct dnsw_txt txt;
		struct dnsw_soa soa;
	} rd; /* by type; other types keep type, rdlength and rdoffset only */
};

/* The OPT pseudo-record of the additional section. */
struct dnsw_edns {
	uint16_t udp_size; /* requestor's payload size (the OPT class) */
	uint8_t ext_rcode; /* upper 8 bits of the 12-bit rcode */
	uint8_t version;
	uint8_t do_bit;	   /* DNSSEC OK */
	uint16_t ede;	   /* first Extended DNS Error info code (RFC 8914), else DNSW_EDE_NONE */
	uint16_t rdlength; /* bytes of options */
};

struct dnsw_msg {
	struct dnsw_header hdr;
	uint16_t rcode;		  /* 12 bits: header rcode | edns.ext_rcode << 4 */
	uint8_t has_question;	  /* qdcount >= 1 and the first question was decoded */
	uint8_t truncated;	  /* capture cut the message: later records were not seen */
	uint8_t has_soa;	  /* soa holds the first SOA record of the authority section */
	uint8_t has_edns;	  /* edns holds the first OPT of the additional section */
	uint16_t nanswers;	  /* answers[0..nanswers) decoded */
	uint16_t answers_skipped; /* answers framed but not stored (beyond DNSW_MAX_ANSWERS) */
	uint32_t end;		  /* offset just past the last byte parsed */
	struct dnsw_edns edns;
	struct dnsw_question q;
	struct dnsw_rr soa; /* owner = the zone, rd.soa; what a negative answer carries */
	struct dnsw_rr answers[DNSW_MAX_ANSWERS];
};

/* Parses the message in buf[0..caplen). wirelen is the message's real length (the UDP
 * payload length, or the TCP length prefix); caplen < wirelen means the capture cut it.
 * wirelen below caplen is taken as caplen. Returns an enum dnsw_status. */
int dnsw_parse(const uint8_t *buf, size_t caplen, size_t wirelen, struct dnsw_msg *msg);

/* One message of a DNS-over-TCP stream: a 2-byte big-endian length, then the message. */
struct dnsw_frame {
	const uint8_t *msg; /* the message's first byte in buf (NULL when len < 2) */
	size_t caplen;	    /* message bytes present in buf */
	size_t wirelen;	    /* message length from the prefix */
	size_t needed;	    /* bytes buf must hold for the whole frame: 2 + wirelen
			     * (2 when even the prefix is missing) */
};

/* Frames the message at the start of buf[0..len). DNSW_OK: the whole message is there and
 * the next frame starts at buf + needed. DNSW_PARTIAL: only caplen of wirelen bytes are;
 * dnsw_parse(f.msg, f.caplen, f.wirelen, ...) still decodes the prefix. DNSW_ERR_TRUNCATED:
 * fewer than 2 bytes, or a prefix below the 12-byte header. */
int dnsw_tcp_frame(const uint8_t *buf, size_t len, struct dnsw_frame *f);

/* Presentation name (as rendered above; \DDD and \X escapes, optional trailing dot, "."
 * for the root) to uncompressed wire form in out[0..*len). Case is kept. Returns DNSW_OK,
 * DNSW_ERR_LABEL_TOO_LONG, DNSW_ERR_NAME_TOO_LONG or DNSW_ERR_SYNTAX (empty label, bad
 * escape). */
int dnsw_name_encode(const char *text, uint8_t out[DNSW_WIRE_NAME_MAX], size_t *len);

/* A presentation name (as dnsw_name_encode takes it) in the form the parser renders
 * names in (lower case, escapes as above, no trailing dot; "." for the root), into out
 * (DNSW_NAME_BUF bytes): what a name given by a user must become to compare with the
 * names of parsed messages. Returns DNSW_OK or dnsw_name_encode's error. */
int dnsw_name_canonical(const char *text, char *out);

/* Mnemonics: a string constant, or "TYPE<n>"/"RCODE<n>" written into buf (size bytes,
 * DNSW_MNEMONIC_BUF is enough) and buf returned. */
const char *dnsw_type_name(uint16_t type, char *buf, size_t size);
const char *dnsw_rcode_name(uint16_t rcode, char *buf, size_t size);
/* Constant description of an enum dnsw_status. */
const char *dnsw_strerror(int status);

#endif
