/* network.h - records of the network observer (bpf/network.bpf.c), shared with
 * sensor/observers/network/network.c and its helpers (net_*.c).
 *
 * Four record families: TCP connection lifecycle (connect, accept, close), TCP health
 * (retransmit, reset), packet drops, and captured application bytes (one record per
 * TCP segment of a plaintext stream, in sequence order, or per SSL_read/SSL_write call),
 * which user space reassembles into HTTP/1 and HTTP/2 (gRPC) exchanges. UDP flows are no
 * records: the kernel keeps them in two tables (net_udp_socks, net_udp_flows) that the
 * sensor reads (observers/network/net_udp.c).
 */
#ifndef TAPIO_NETWORK_H
#define TAPIO_NETWORK_H

#include "tapio_event.h"

#define NET_CONN_ENTRIES 10240	/* connection tracking table (the seed's 10K) */
#define NET_CLOSED_ENTRIES 1024 /* recently closed connections (LRU) */
#define NET_LISTEN_ENTRIES 4096 /* listening sockets, for the owner of accepted ones */
#define NET_STASH_ENTRIES 10240 /* threads inside an SSL call (per-thread entry) */
#define NET_TLS_ENTRIES 10240	/* SSL object -> socket */
#define NET_DATA_SMALL 448	/* bytes captured by a small data record */
#define NET_DATA_LARGE 4096	/* bytes captured at most per record (the capture bound) */
#define NET_CLASSIFY_BYTES 16	/* bytes looked at to recognise a protocol */

/* UDP flows and UDP sockets tracked by default (--net-udp-flows). */
#define NET_UDP_FLOW_ENTRIES 10240
/* Remote endpoints with a flow of their own, per socket. */
#define NET_UDP_REMOTES 32

/* Per-protocol sampling classes (sampling is 1 of N per class, then the rate limit). */
enum net_class {
	NET_CLASS_CONN = 0, /* connect, accept, close */
	NET_CLASS_HEALTH,   /* retransmit, reset, drop */
	NET_CLASS_HTTP,	    /* HTTP/1 requests (decided per request) */
	NET_CLASS_GRPC,	    /* HTTP/2 connections (decided per connection) */
	NET_CLASS_UDP,	    /* UDP flows (decided per flow, when it starts) */
	NET_CLASS_COUNT,
};

/* Observer-specific counter slots. The L7 ones are written by the sensor itself: it keeps
 * its user-space losses in the same table so status shows them with the rest. */
enum net_counter {
	NET_CNT_CONN_FULL = TP_CNT_OBSERVER, /* connection table full: not tracked */
	NET_CNT_LISTEN_FULL,		     /* listener table full: accepts lack an owner */
	NET_CNT_STASH_FULL,		     /* per-thread SSL call state full: call not seen */
	NET_CNT_TLS_UNMAPPED,		     /* SSL call on a socket never seen: not captured */
	NET_CNT_CAPTURE_CUT,		     /* a record's bytes beyond the capture bound */
	NET_CNT_L7_EVICTED,		     /* sensor: parser state evicted (table full) */
	NET_CNT_L7_DESYNC,		     /* sensor: stream unparseable (gap, bad input) */
	NET_CNT_L7_UNANSWERED,		     /* sensor: request dropped without a response */
	NET_CNT_UDP_FULL,   /* UDP datagrams not counted: flow or socket table full */
	NET_CNT_SK_STORAGE, /* a TCP socket got no capture state (no memory): not captured */
	NET_CNT_COUNT_END,
};

/* Where a connection came from. */
enum net_direction {
	NET_DIR_UNKNOWN = 0,
	NET_DIR_OUTBOUND = 1, /* this host connected (active open) */
	NET_DIR_INBOUND = 2,  /* this host accepted (passive open) */
};

/* What the bytes of a stream are (per socket, and separately per TLS session). */
enum net_proto {
	NET_PROTO_UNKNOWN = 0, /* nothing seen yet */
	NET_PROTO_HTTP1 = 1,
	NET_PROTO_HTTP2 = 2,
	NET_PROTO_OTHER = 3, /* not a protocol we parse (or TLS records): never captured */
};

/* Which side of the application protocol this socket is. */
enum net_role {
	NET_ROLE_UNKNOWN = 0,
	NET_ROLE_CLIENT = 1, /* sends requests */
	NET_ROLE_SERVER = 2, /* receives requests */
};

/* Addresses of a socket or packet. v4 addresses use the first 4 bytes. */
struct net_endpoints {
	__u8 laddr[16];
	__u8 raddr[16];
	__u16 lport; /* host byte order */
	__u16 rport;
	__u16 family;  /* AF_INET or AF_INET6 */
	__u8 protocol; /* IPPROTO_TCP, IPPROTO_UDP, ... */
	__u8 pad;
};

/* The process a socket belongs to: what tp_event_header needs. */
struct net_owner {
	__u64 start_ns;
	__u64 cgroup_id;
	__u32 pid;
	__u32 tid;
	char comm[TP_TASK_COMM_LEN];
};

/* Capture state of one byte stream of a socket (plaintext, or inside TLS). */
struct net_stream_state {
	__u8 proto; /* enum net_proto */
	__u8 role;  /* enum net_role */
	__u8 skip;  /* the current HTTP/1 message was not admitted: do not capture */
	__u8 gap;   /* bytes were skipped since the last captured record */
};

#define NET_CONN_F_OWNER_LISTENER 0x1 /* owner is the listening socket's process */
#define NET_CONN_F_SENDER 0x2	      /* owner is the process that sent on it */
#define NET_CONN_F_TLS 0x4	      /* OpenSSL reads/writes this socket */
#define NET_CONN_F_ESTABLISHED 0x8    /* reached ESTABLISHED while tracked */

/* Connection tracking entry (key: struct sock address). */
struct net_conn {
	struct net_owner owner;
	__u64 id;	      /* tells connections that reuse one socket address apart */
	__u64 start_ns;	      /* connect() or SYN received; 0 = before the sensor */
	__u64 established_ns; /* 0 = not (yet) established */
	__u32 netns;
	__u8 direction; /* enum net_direction */
	__u8 flags;	/* NET_CONN_F_* */
	__u16 pad;
	struct net_stream_state plain; /* proto only: the socket keeps the rest (net_sk) */
	struct net_stream_state tls;
	struct net_endpoints ep; /* as established */
};

/* Listener key: network namespace and local port. */
struct net_listen_key {
	__u32 netns;
	__u16 port;
	__u16 family;
};

/* TP_EV_NET_CONNECT, TP_EV_NET_ACCEPT, TP_EV_NET_CLOSE. The header names the socket's
 * owner (pid 0 when unknown), not the task the kernel happened to run. */
struct net_conn_event {
	struct tp_event_header h;
	struct net_endpoints ep;
	__u64 sk;
	__u64 duration_ns;  /* close: start to close, 0 when the start was not seen */
	__u64 handshake_ns; /* SYN (sent or received) to ESTABLISHED, 0 when unknown */
	__u64 bytes_sent;   /* close: bytes the peer acknowledged */
	__u64 bytes_received;
	__u32 srtt_us; /* close: smoothed RTT */
	__u32 total_retrans;
	__u32 netns;
	__u8 direction; /* enum net_direction */
	__u8 old_state; /* close: the state before CLOSE (TCP_* of the kernel) */
	__u8 flags;	/* NET_CONN_F_* */
	__u8 owner_known;
};

#define NET_RESET_SENT 1
#define NET_RESET_RECEIVED 2

/* TP_EV_NET_RETRANSMIT, TP_EV_NET_RESET. */
struct net_tcp_event {
	struct tp_event_header h;
	struct net_endpoints ep;
	__u64 sk; /* 0 for a reset sent for a packet that had no socket */
	__u32 netns;
	__u8 state;	/* TCP_* of the socket at the time */
	__u8 kind;	/* reset: NET_RESET_* */
	__u8 direction; /* enum net_direction */
	__u8 owner_known;
};

/* TP_EV_NET_DROP: addresses as in the packet (laddr = source, raddr = destination). */
struct net_drop_event {
	struct tp_event_header h;
	struct net_endpoints ep;
	__u64 location;	   /* kernel address that freed the packet */
	__u32 reason;	   /* enum skb_drop_reason value of the running kernel */
	__u8 reason_known; /* 0: the kernel has no drop reasons (before 5.17) */
	__u8 owner_known;
	__u16 pad;
};

#define NET_DATA_EGRESS 1  /* the process wrote these bytes */
#define NET_DATA_INGRESS 2 /* the process read them */

#define NET_DATA_F_TLS 0x1 /* plaintext of a TLS session (OpenSSL) */
#define NET_DATA_F_GAP 0x2 /* bytes of this stream were not captured before this record */
#define NET_DATA_F_CLOSE                                                                           \
	0x4 /* no bytes: the connection closed (its close event was not
			      * streamed, the parser state still has to go) */

/* TP_EV_NET_DATA: the first `cap` of the `len` bytes of one segment or SSL call. Two sizes exist
 * (net_data_small, net_data_large); the bytes follow the fixed part in both. */
struct net_data_event {
	struct tp_event_header h;
	struct net_endpoints ep;
	__u64 sk;
	__u64 conn_id; /* net_conn.id: a new value is a new connection on the same sk */
	__u32 len;
	__u16 cap;
	__u8 dir;   /* NET_DATA_EGRESS / NET_DATA_INGRESS */
	__u8 flags; /* NET_DATA_F_* */
	__u8 proto; /* enum net_proto of the stream */
	__u8 role;  /* enum net_role of the socket */
	__u8 pad[6];
	/* the captured bytes follow */
};

struct net_data_small {
	struct net_data_event d;
	char data[NET_DATA_SMALL];
};

struct net_data_large {
	struct net_data_event d;
	char data[NET_DATA_LARGE];
};

/* ---- UDP flows ------------------------------------------------------------------------
 * One flow per (socket, remote endpoint), for a socket's first NET_UDP_REMOTES remotes;
 * datagrams with any further remote are summed in the socket's "other" flow (remote all
 * zero, family 0). The kernel creates sockets and flows and counts into them; the sensor
 * reads both tables, reports, and is the only one to delete entries. */

/* Flow key: the socket (its cookie, never reused while the machine runs) and the remote. */
struct net_udp_key {
	__u64 cookie;
	__u8 raddr[16]; /* v4: first 4 bytes */
	__u16 rport;	/* host byte order */
	__u8 family;	/* AF_INET, AF_INET6; 0 for the "other" flow */
	__u8 pad[5];
};

#define NET_UDP_F_REPORT 0x1 /* admitted when it started (sampling, rate limit): reported */
#define NET_UDP_F_OTHER 0x2  /* the socket's remotes beyond NET_UDP_REMOTES, summed */
#define NET_UDP_F_KERNEL 0x4 /* a kernel socket (a tunnel's): no close is ever seen */

/* Counts of one flow. Packets count GSO/GRO segments; bytes are UDP payload. */
struct net_udp_flow {
	__u64 first_ns; /* first datagram seen (CLOCK_MONOTONIC) */
	__u64 last_ns;
	__u64 tx_packets;
	__u64 tx_bytes;
	__u64 rx_packets;
	__u64 rx_bytes;
	__u8 laddr[16]; /* the local address of the first datagram */
	__u16 lport;
	__u8 family; /* of laddr */
	__u8 flags;  /* NET_UDP_F_* */
	__u32 pad;
};

/* One UDP socket with flows (key: its cookie). */
struct net_udp_sock {
	struct net_owner owner; /* pid 0: not known (yet) */
	__u64 closed_ns;	/* 0 while open */
	__u32 netns;
	__u32 remotes; /* flows of its own it was given (at most NET_UDP_REMOTES) */
	__u8 flags;    /* NET_UDP_F_KERNEL */
	__u8 pad[7];
};

#endif
