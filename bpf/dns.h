/* dns.h - records of the DNS observer (bpf/dns.bpf.c), shared with sensor/observers/dns*.c.
 *
 * One record is one DNS message of a client socket on this node: a query leaving it
 * (cgroup egress) or a response arriving at it (cgroup ingress), UDP or TCP, with the
 * first DNS_CAPTURE bytes of the message and its real length. The wire format is parsed
 * in user space (observers/dns/dns_wire.c), never in the kernel.
 */
#ifndef TAPIO_DNS_H
#define TAPIO_DNS_H

#include "tapio_event.h"

#define DNS_CAPTURE 512		   /* bytes of a DNS message copied per record */
#define DNS_CAPTURE_SHORT 128	   /* the short record's capture (a power of two) */
#define DNS_MAX_PORTS 16	   /* server ports watched (--dns-ports) */
#define DNS_INFLIGHT_ENTRIES 10240 /* outstanding queries: the seed's connection-tracking bound */
#define DNS_TCP_MSGS_PER_SEGMENT 4 /* DNS messages looked at in one TCP segment */
#define DNS_HEADER_LEN 12

/* record.direction */
#define DNS_DIR_QUERY 0	   /* egress, QR = 0, to a DNS port */
#define DNS_DIR_RESPONSE 1 /* ingress, QR = 1, from a DNS port */

/* record.flags */
#define DNS_F_SAMPLED 0x1    /* kept as 1 of sample_every while over the threshold */
#define DNS_F_OWNER 0x2	     /* the header names the socket's owner (a response) */
#define DNS_F_UNMATCHED 0x4  /* a response the kernel saw no query for */
#define DNS_F_RETRANSMIT 0x8 /* a query whose key was already outstanding */

/* Observer-specific counter slots. The first four are counted by the kernel; the rest
 * are kept by the sensor and published into the same slots (CPU 0) so that status
 * reads every DNS counter in one place. */
enum dns_counter {
	DNS_CNT_UNMATCHED = TP_CNT_OBSERVER,	/* response without an outstanding query */
	DNS_CNT_SOCK_STORAGE,			/* socket storage unavailable: owner unknown */
	DNS_CNT_TCP_DESYNC,			/* TCP stream framing lost (split length prefix) */
	DNS_CNT_SHORT,				/* DNS-port payload shorter than a DNS header */
	DNS_CNT_USER_FIRST,			/* from here on: kept in user space */
	DNS_CNT_MALFORMED = DNS_CNT_USER_FIRST, /* message the parser rejected */
	DNS_CNT_PAIR_EVICTED, /* outstanding query dropped from the full pairing table */
	DNS_CNT_TIMEOUTS,     /* queries without a response in time */
	DNS_CNT_UNPAIRED,     /* responses the sensor had no query for */
	DNS_CNT_END,
};

_Static_assert((int)DNS_CNT_END <= (int)TP_CNT_MAX, "DNS counters fit the counter array");

/* Load-time settings (rodata, set by the sensor). */
struct dns_settings {
	__u16 ports[DNS_MAX_PORTS]; /* host order */
	__u32 nports;
	__u32 pad;
	/* Query-rate meter: a token bucket in the unit of tapio_ratelimit.h. While it is
	 * empty the query rate is above the threshold and new queries are sampled 1 of
	 * tp_limits.sample_every. meter_cost_ns 0: no threshold (never sample). */
	__u64 meter_cost_ns;
	__u64 meter_burst_ns;
	/* An outstanding query older than this is forgotten: the same key again is a new
	 * query, not a retransmission. */
	__u64 timeout_ns;
	__u64 hash_seed; /* random, for the slots of outstanding queries */
};

struct dns_record {
	struct tp_event_header h; /* query: the sending task; response: the socket's
				   * owner when known (DNS_F_OWNER), else pid 0 and
				   * the socket's cgroup */
	__u8 family;		  /* AF_INET or AF_INET6 */
	__u8 proto;		  /* IPPROTO_UDP or IPPROTO_TCP */
	__u8 direction;		  /* DNS_DIR_* */
	__u8 flags;		  /* DNS_F_* */
	__u16 client_port;	  /* host order */
	__u16 server_port;
	__u16 caplen;	    /* bytes in data */
	__u16 wirelen;	    /* the message's real length */
	__u32 sample_every; /* with DNS_F_SAMPLED */
	__u32 netns;	    /* inode of the owner's network namespace, 0 unknown */
	__u32 pad;
	__u8 client[16]; /* network order; IPv4 in the first 4 bytes */
	__u8 server[16];
	__u8 data[DNS_CAPTURE];
};

#define DNS_RECORD_FIXED ((__u32) __builtin_offsetof(struct dns_record, data))

#endif
