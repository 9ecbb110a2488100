/* network.bpf.c - TCP connections and health, packet drops, UDP flows, and the application
 * bytes of plaintext and OpenSSL streams.
 *
 * Only attach types that need no kprobes and no tracefs: raw tracepoints (4.17+),
 * BTF-typed tracepoints where the kernel has them (5.5+), uprobes and cgroup programs.
 * Every kernel struct is read through CO-RE.
 *
 *   sock:inet_sock_set_state  connection lifecycle; the connection table (key: struct
 *                             sock address) keeps owner, start and direction, because
 *                             most transitions run in softirq, not in the owner's context
 *   tcp:tcp_retransmit_skb, tcp:tcp_send_reset, tcp:tcp_receive_reset   TCP health
 *   skb:kfree_skb             drops, with the kernel's reason where it has one (5.17+)
 *   sched:sched_process_exit  forgets the per-thread SSL call state of a thread that ends
 *   uprobes on libssl's SSL_read/SSL_write(_ex)   the plaintext of TLS streams;
 *                             SSL_do_handshake, whose first send maps an SSL object to its
 *                             socket (with memory BIOs: the thread's send after the call)
 *   cgroup_skb/egress, cgroup_skb/ingress on the cgroup v2 root   every packet of every
 *                             socket of the node, in any netns, passes: a TCP segment with
 *                             payload on a stream that looks like HTTP/1 or HTTP/2 gives
 *                             a record of its first bytes (in sequence order: what was
 *                             captured once is not captured again); a UDP datagram is
 *                             counted into its flow (socket cookie, remote endpoint); any
 *                             other packet leaves after a few byte loads. A segment sent
 *                             in its process's context names the owner of an accepted
 *                             socket (the process that answers, not the one that listens)
 *                             and, inside an SSL call, the socket of the SSL object. The
 *                             cost is per packet: nothing runs on the system call path of the node
 *   cgroup/sock_release       a UDP socket closed (5.9+): its flows are final
 *   cgroup/recvmsg4, cgroup/recvmsg6   a UDP read that asks for the sender: the owner of
 *                             a socket that has only received
 *
 * Budget: streamed events pass per-class sampling and the observer's token bucket. For
 * HTTP/1 the decision is taken once per request (at the bytes that start it) and holds
 * for the rest of the exchange; for HTTP/2 once per connection, since HPACK needs every
 * header block of a connection; for UDP once per flow when it starts, which pays for all
 * its summaries (the sensor sends them from the flow table: at most one per flush interval
 * and a final one). State (connection and flow tables) is kept whatever is streamed.
 */
#include "vmlinux.h"
#include "network.h"
#define TP_SCRATCH_SIZE sizeof(struct net_data_large)
#include "tapio_common.bpf.h"
#include "tapio_task.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

/* Kernel TCP states (include/net/tcp_states.h; part of the tracepoint ABI). */
enum {
	ST_ESTABLISHED = 1,
	ST_SYN_SENT = 2,
	ST_SYN_RECV = 3,
	ST_CLOSE = 7,
	ST_LAST_ACK = 9,
	ST_LISTEN = 10,
	ST_CLOSING = 11,
};

/* Sampling 1 of N per class (0 or 1: all), set by the sensor before load. */
const volatile __u32 net_sample_every[NET_CLASS_COUNT] = {};
/* The sensor's own process: its bytes are not captured (its event stream would feed
 * itself); 0 = capture everyone (the self-test). */
const volatile __u32 net_self_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NET_CONN_ENTRIES);
	__type(key, __u64);
	__type(value, struct net_conn);
} net_conns SEC(".maps");

/* Connections just closed: a reset sent by close() (linger 0, unread data) comes after
 * the socket reached CLOSE and gave up its port. Not those closed by the last ACK of
 * their teardown (from LAST_ACK or CLOSING): nothing leaves such a socket after it.
 * LRU: nothing else removes them. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NET_CLOSED_ENTRIES);
	__type(key, __u64);
	__type(value, struct net_conn);
} net_closed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NET_LISTEN_ENTRIES);
	__type(key, struct net_listen_key);
	__type(value, struct net_owner);
} net_listeners SEC(".maps");

/* An SSL call of a thread between its entry and its return, then the SSL object whose
 * output the thread's next send may carry (pending). One entry per thread that ever made
 * one, reused in place (no map update on the hot path), removed when the thread exits. */
struct net_io {
	__u64 buf;
	__u64 count_ptr; /* SSL_*_ex: where the byte count is written */
	__u64 ssl;
	__u64 pending_ssl; /* see ssl_pending_set */
	__u64 pending_ns;
	__u8 dir;  /* 0: a handshake, no bytes to capture */
	__u8 live; /* a call is in progress */
	__u8 sent; /* a TCP send ran inside the call (the SSL object writes to a socket) */
	__u8 pad[5];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NET_STASH_ENTRIES);
	__type(key, __u32);
	__type(value, struct net_io);
} net_threads SEC(".maps");

/* SSL calls in progress on the node: while there are none, a TCP send needs no look at
 * its thread. A thread that ended inside one only costs that look. */
static __u64 ssl_calls_live;
/* Threads with a pending SSL object (ssl_pending_set): the same for the sends after a
 * call. */
static __u64 ssl_pending_live;

/* How soon after its SSL call a thread's send is taken to carry the call's output. */
#define NET_TLS_PENDING_NS 1000000

#define NET_MIDWAY_TRIES 8 /* segments a stream picked up midway has to start a message */

/* Capture state of a TCP socket's plaintext, kept on the socket (sk storage): a packet
 * finds it without a table lookup, and it goes with the socket. Made by the first segment
 * that could be captured (sk_state_new).
 *
 * Written only when something changes (a stream classified, a request admitted or not, a
 * gap, bytes captured), never on every segment: a socket's sends run on its process's CPU,
 * its arrivals on the sender's, and a store per segment moved the state's cache line
 * between CPUs on each packet; the storage lookup, which reads that line, waiting for it
 * was the observer's largest cost. So where a direction's new bytes start comes from the
 * kernel's own sequence state (struct bpf_tcp_sock); rcv_next only covers what the
 * kernel has not processed yet (see in_sequence). */
struct net_sk {
	struct net_stream_state st;
	__u32 rcv_next;	    /* after the last arriving bytes captured, while rcv_known */
	__u8 rcv_known;	    /* the last arriving bytes of the stream were captured */
	__u8 owner_settled; /* a send in its process's context was seen */
	__u8 midway;	    /* tries left to find a message start (sk_state_new) */
	__u8 marked;	    /* net_refused holds this socket's mark (refused_mark) */
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct net_sk);
} net_socks SEC(".maps");

/* Sockets whose current HTTP/1 exchange was refused, for their segments to be passed over
 * without their capture state: slot = socket cookie % NET_REFUSED_SLOTS, value = cookie << 1
 * | 1 for a client (whose sends are requests). The socket storage lookup was the dearest
 * part of a packet program: the first one in a system call (a send, and on loopback the
 * arrival it causes) found the helper's code and the storage cold, about 120 ns, while a
 * segment of a refused exchange needs nothing from them. Under the rate limit that is
 * nearly every segment of a busy keep-alive connection. A cookie is never reused, so a
 * mark left by a socket that is gone matches no other; two sockets that share a slot take
 * turns, the one without its mark taking the full path. */
#define NET_REFUSED_SLOTS 4096

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NET_REFUSED_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} net_refused SEC(".maps");

struct net_tls_key {
	__u64 ssl;
	__u32 pid;
	__u32 pad;
};

/* SSL object -> the socket it reads and writes (learnt from a TCP send inside an SSL
 * call). LRU: SSL objects are freed without a hook telling us. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NET_TLS_ENTRIES);
	__type(key, struct net_tls_key);
	__type(value, __u64);
} net_tls_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NET_CLASS_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} net_sample_state SEC(".maps");

/* ---- admission -------------------------------------------------------------------- */

/* now: a clock reading already taken, or 0 (tp_admit_at). coarse_ok: the caller is a
 * packet program (tp_bucket_clock), a constant. */
static __always_inline int net_admit_at(__u32 class, __u64 now, const int coarse_ok)
{
	__u64 *counter = bpf_map_lookup_elem(&net_sample_state, &class);

	if (!counter || class >= NET_CLASS_COUNT)
		return 0;
	if (!tp_sample_keep(counter, net_sample_every[class])) {
		tp_count(TP_CNT_SAMPLED_OUT);
		return 0;
	}
	return tp_admit_at(now, coarse_ok);
}

static __always_inline int net_admit(__u32 class, const int coarse_ok)
{
	return net_admit_at(class, 0, coarse_ok);
}

/* ---- per-thread SSL call state ----------------------------------------------------- */

static __always_inline struct net_io *this_thread(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	return bpf_map_lookup_elem(&net_threads, &tid);
}

static __always_inline void ssl_pending_clear(struct net_io *t)
{
	if (t->pending_ssl) {
		t->pending_ssl = 0;
		__sync_fetch_and_add(&ssl_pending_live, -1);
	}
}

/* Starts an SSL call of the current thread (a pending SSL object is forgotten: what the
 * thread sends next comes from the new call). */
static __always_inline void call_begin(struct net_io *io)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct net_io *t = this_thread();

	io->live = 1;
	if (t) {
		if (!t->live)
			__sync_fetch_and_add(&ssl_calls_live, 1);
		ssl_pending_clear(t);
		*t = *io;
		return;
	}
	if (bpf_map_update_elem(&net_threads, &tid, io, BPF_NOEXIST) != 0)
		tp_count(NET_CNT_STASH_FULL);
	else
		__sync_fetch_and_add(&ssl_calls_live, 1);
}

/* An SSL object that wrote no socket inside its call (a handshake step, or a write that
 * gave bytes) has memory BIOs: its user (gRPC core, Python's asyncio, ...) sends the
 * output itself, right after the call and from the same thread. That send names the
 * socket (note_tls_socket). Each such call says it again, so a send on another socket
 * that followed a call without output (a handshake still waiting for its peer) is put
 * right by the next step before any application bytes flow. */
static __always_inline void ssl_pending_set(struct net_io *io)
{
	if (!io->pending_ssl)
		__sync_fetch_and_add(&ssl_pending_live, 1);
	io->pending_ssl = io->ssl;
	io->pending_ns = bpf_ktime_get_ns();
}

/* wrote: the call gave output (a handshake step, a write that succeeded). */
static __always_inline void call_end(struct net_io *io, int wrote)
{
	if (io->live)
		__sync_fetch_and_add(&ssl_calls_live, -1);
	if (io->live && wrote && !io->sent)
		ssl_pending_set(io);
	io->live = 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(handle_thread_exit, struct task_struct *p)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct net_io *io = bpf_map_lookup_elem(&net_threads, &tid);

	if (!io)
		return 0;
	call_end(io, 0);
	ssl_pending_clear(io);
	bpf_map_delete_elem(&net_threads, &tid);
	return 0;
}

/* ---- socket reads ------------------------------------------------------------------ */

static __always_inline void owner_current(struct net_owner *o)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();

	o->start_ns = BPF_CORE_READ(task, group_leader, start_time);
	o->cgroup_id = bpf_get_current_cgroup_id();
	o->pid = id >> 32;
	o->tid = (__u32)id;
	bpf_get_current_comm(o->comm, sizeof(o->comm));
}

/* The header of a record about a socket: its owner's, not the current task's. */
static __always_inline void header_for(struct tp_event_header *h, __u16 type, __u32 size,
				       const struct net_owner *o)
{
	h->ts_ns = bpf_ktime_get_ns();
	h->type = type;
	h->flags = 0;
	h->size = size;
	if (o) {
		h->cgroup_id = o->cgroup_id;
		h->start_ns = o->start_ns;
		h->pid = o->pid;
		h->tid = o->tid;
		__builtin_memcpy(h->comm, o->comm, sizeof(h->comm));
	} else {
		h->cgroup_id = 0;
		h->start_ns = 0;
		h->pid = 0;
		h->tid = 0;
		__builtin_memset(h->comm, 0, sizeof(h->comm));
	}
}

static __always_inline __u32 sk_netns(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

static __always_inline __u16 sk_protocol(const struct sock *sk)
{
	return (__u16)BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
}

/* Local and remote address of a socket (any kind: full, request or timewait; only the
 * common part is read). */
static __always_inline void sk_endpoints(const struct sock *sk, struct net_endpoints *ep)
{
	__builtin_memset(ep, 0, sizeof(*ep));
	ep->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	ep->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	ep->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	ep->protocol = IPPROTO_TCP;
	if (ep->family == AF_INET) {
		__u32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(ep->laddr, &l, 4);
		__builtin_memcpy(ep->raddr, &r, 4);
	} else if (ep->family == AF_INET6 &&
		   bpf_core_field_exists(sk->__sk_common.skc_v6_rcv_saddr)) {
		BPF_CORE_READ_INTO((struct in6_addr *)ep->laddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO((struct in6_addr *)ep->raddr, sk, __sk_common.skc_v6_daddr);
	}
}

/* ---- connection lifecycle ---------------------------------------------------------- */

/* now: a reading of bpf_ktime_get_ns, which tells the entry apart (its id). */
static __always_inline void conn_init(struct net_conn *c, __u32 netns, __u8 direction, __u64 now)
{
	__builtin_memset(c, 0, sizeof(*c));
	c->id = now;
	c->netns = netns;
	c->direction = direction;
}

static __always_inline struct net_conn *conn_insert(__u64 key, struct net_conn *c)
{
	if (bpf_map_update_elem(&net_conns, &key, c, BPF_NOEXIST) != 0) {
		struct net_conn *old = bpf_map_lookup_elem(&net_conns, &key);

		if (!old)
			tp_count(NET_CNT_CONN_FULL);
		return old;
	}
	return bpf_map_lookup_elem(&net_conns, &key);
}

static __always_inline void on_listen(const struct sock *sk)
{
	struct net_listen_key k = {};
	struct net_owner o;

	k.netns = sk_netns(sk);
	k.port = BPF_CORE_READ(sk, __sk_common.skc_num);
	k.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	owner_current(&o);
	if (bpf_map_update_elem(&net_listeners, &k, &o, BPF_ANY) != 0)
		tp_count(NET_CNT_LISTEN_FULL);
}

static __always_inline void on_unlisten(const struct sock *sk)
{
	struct net_listen_key k = {};

	k.netns = sk_netns(sk);
	k.port = BPF_CORE_READ(sk, __sk_common.skc_num);
	k.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	bpf_map_delete_elem(&net_listeners, &k);
}

/* The entry of a connection that starts, over any of an earlier one at the same socket
 * address (a socket reused for a new connect(), or one whose close went unseen). */
static __always_inline void conn_start(__u64 key, const struct net_conn *c)
{
	/* A lookup takes no lock; the deletion does, and few sockets are there to delete. */
	if (bpf_map_lookup_elem(&net_closed, &key))
		bpf_map_delete_elem(&net_closed, &key);
	if (bpf_map_update_elem(&net_conns, &key, c, BPF_ANY) != 0)
		tp_count(NET_CNT_CONN_FULL);
}

/* connect(): runs in the caller's context. */
static __always_inline void on_syn_sent(const struct sock *sk)
{
	__u64 now = bpf_ktime_get_ns();
	struct net_conn c;

	conn_init(&c, sk_netns(sk), NET_DIR_OUTBOUND, now);
	owner_current(&c.owner);
	c.start_ns = now;
	conn_start((__u64)sk, &c);
}

/* A SYN reached a listener: the new socket belongs, until accept() says otherwise, to
 * the process that listens. */
static __always_inline void on_syn_recv(const struct sock *sk)
{
	struct net_listen_key k = {};
	__u64 now = bpf_ktime_get_ns();
	struct net_owner *lo;
	struct net_conn c;

	conn_init(&c, sk_netns(sk), NET_DIR_INBOUND, now);
	c.start_ns = now;
	k.netns = c.netns;
	k.port = BPF_CORE_READ(sk, __sk_common.skc_num);
	k.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	lo = bpf_map_lookup_elem(&net_listeners, &k);
	if (lo) {
		c.owner = *lo;
		c.flags = NET_CONN_F_OWNER_LISTENER;
	}
	conn_start((__u64)sk, &c);
}

static __always_inline void fill_conn_event(struct net_conn_event *e, const struct sock *sk,
					    const struct net_conn *c, __u16 type)
{
	header_for(&e->h, type, sizeof(*e), c && c->owner.pid ? &c->owner : NULL);
	sk_endpoints(sk, &e->ep);
	e->sk = (__u64)sk;
	e->duration_ns = 0;
	e->handshake_ns = 0;
	e->bytes_sent = 0;
	e->bytes_received = 0;
	e->srtt_us = 0;
	e->total_retrans = 0;
	e->netns = c ? c->netns : sk_netns(sk);
	e->direction = c ? c->direction : NET_DIR_UNKNOWN;
	e->old_state = 0;
	e->flags = c ? c->flags : 0;
	e->owner_known = c && c->owner.pid;
	if (c && c->start_ns && c->established_ns > c->start_ns)
		e->handshake_ns = c->established_ns - c->start_ns;
}

static __always_inline void on_established(void *ctx, const struct sock *sk, int old)
{
	__u64 key = (__u64)sk, now = bpf_ktime_get_ns();
	struct net_conn_event *e;
	struct net_conn *c, fresh;

	c = bpf_map_lookup_elem(&net_conns, &key);
	if (!c) {
		/* The handshake started before the sensor (or the table was full). */
		conn_init(&fresh, sk_netns(sk),
			  old == ST_SYN_SENT ? NET_DIR_OUTBOUND : NET_DIR_INBOUND, now);
		c = conn_insert(key, &fresh);
	}
	if (c) {
		c->established_ns = now;
		c->flags |= NET_CONN_F_ESTABLISHED;
		sk_endpoints(sk, &c->ep);
	}
	if (!net_admit_at(NET_CLASS_CONN, now, 0))
		return;
	e = tp_reserve(sizeof(*e));
	if (!e)
		return;
	fill_conn_event(e, sk, c, old == ST_SYN_SENT ? TP_EV_NET_CONNECT : TP_EV_NET_ACCEPT);
	if (!c)
		e->direction = old == ST_SYN_SENT ? NET_DIR_OUTBOUND : NET_DIR_INBOUND;
	tp_submit(ctx, e, sizeof(*e));
}

static __always_inline void fill_data(struct net_data_event *d, const struct sock *sk,
				      const struct net_conn *c, const struct net_stream_state *st,
				      __u32 len, __u32 cap, __u8 dir, __u8 flags, __u32 size,
				      const int from_skb)
{
	/* A packet names its socket's owner; an SSL call runs in its caller's context. */
	if (from_skb)
		header_for(&d->h, TP_EV_NET_DATA, size, c->owner.pid ? &c->owner : NULL);
	else
		tp_fill_header(&d->h, TP_EV_NET_DATA, size);
	if (c->flags & NET_CONN_F_ESTABLISHED)
		d->ep = c->ep;
	else
		sk_endpoints(sk, &d->ep);
	d->sk = (__u64)sk;
	d->conn_id = c->id;
	d->len = len;
	d->cap = cap;
	d->dir = dir;
	d->flags = flags;
	d->proto = st->proto;
	d->role = st->role;
	__builtin_memset(d->pad, 0, sizeof(d->pad));
}

/* A closed connection whose bytes the sensor parses: when its close event is not
 * streamed, this record (not an event: no admission) still lets the parser state go. */
static __always_inline void close_marker(void *ctx, const struct sock *sk, struct net_conn *c)
{
	struct net_data_event *d;

	if (c->plain.proto != NET_PROTO_HTTP1 && c->plain.proto != NET_PROTO_HTTP2 &&
	    c->tls.proto != NET_PROTO_HTTP1 && c->tls.proto != NET_PROTO_HTTP2)
		return;
	d = tp_reserve(sizeof(*d));
	if (!d)
		return;
	fill_data(d, sk, c, c->tls.proto ? &c->tls : &c->plain, 0, 0, 0, NET_DATA_F_CLOSE,
		  sizeof(*d), 1);
	tp_submit(ctx, d, sizeof(*d));
}

/* Payload bytes: bytes_sent counts data sent, retransmissions included (4.19+);
 * bytes_acked and bytes_received count sequence space, which holds the SYN and FIN
 * too. The peer's FIN arrived exactly when SOCK_DONE is set (tcp_fin). */
static __always_inline void close_counts(struct net_conn_event *e, struct tcp_sock *tp)
{
	const struct sock *sk = (const struct sock *)tp;
	int done_bit = bpf_core_enum_value(enum sock_flags, SOCK_DONE);
	__u64 received = BPF_CORE_READ(tp, bytes_received);

	if (bpf_core_field_exists(tp->bytes_sent) && bpf_core_field_exists(tp->bytes_retrans)) {
		e->bytes_sent = BPF_CORE_READ(tp, bytes_sent) - BPF_CORE_READ(tp, bytes_retrans);
	} else {
		__u64 acked = BPF_CORE_READ(tp, bytes_acked);

		e->bytes_sent = acked ? acked - 1 : 0; /* the SYN */
	}
	if (received && done_bit >= 0 && done_bit < 64 &&
	    (BPF_CORE_READ(sk, __sk_common.skc_flags) & (1ULL << done_bit)))
		received--;
	e->bytes_received = received;
	e->srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3;
	e->total_retrans = BPF_CORE_READ(tp, total_retrans);
}

static __always_inline void on_close(void *ctx, const struct sock *sk, int old)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	__u64 key = (__u64)sk, now;
	struct net_conn_event *e;
	struct net_conn *c;

	c = bpf_map_lookup_elem(&net_conns, &key);
	if (!net_admit(NET_CLASS_CONN, 0))
		goto unreported;
	e = tp_reserve(sizeof(*e));
	if (!e)
		goto unreported;
	fill_conn_event(e, sk, c, TP_EV_NET_CLOSE);
	/* A closed socket has given its local port back (or on the way to TIME_WAIT to the
	 * timewait socket); the port it was bound to stays in inet_sport. */
	if (e->ep.lport == 0)
		e->ep.lport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	now = e->h.ts_ns;
	if (c && c->start_ns && now > c->start_ns)
		e->duration_ns = now - c->start_ns;
	e->old_state = old;
	close_counts(e, tp);
	tp_submit(ctx, e, sizeof(*e));
	goto out;
unreported:
	if (c)
		close_marker(ctx, sk, c);
out:
	if (c) {
		if (old != ST_LAST_ACK && old != ST_CLOSING)
			bpf_map_update_elem(&net_closed, &key, c, BPF_ANY);
		bpf_map_delete_elem(&net_conns, &key);
	}
}

/* Transitions that matter here; the others (FIN_WAIT*, CLOSE_WAIT, LAST_ACK, ...: half of
 * a connection's) leave before any read of the socket. */
static __always_inline int state_wanted(int oldstate, int newstate)
{
	switch (newstate) {
	case ST_LISTEN:
	case ST_SYN_SENT:
	case ST_CLOSE:
		return 1;
	case ST_SYN_RECV:
		return oldstate == ST_LISTEN;
	case ST_ESTABLISHED:
		return oldstate == ST_SYN_SENT || oldstate == ST_SYN_RECV;
	}
	return 0;
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(handle_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
	if (!sk || !state_wanted(oldstate, newstate) || sk_protocol(sk) != IPPROTO_TCP)
		return 0;
	switch (newstate) {
	case ST_LISTEN:
		on_listen(sk);
		break;
	case ST_SYN_SENT:
		on_syn_sent(sk);
		break;
	case ST_SYN_RECV:
		on_syn_recv(sk);
		break;
	case ST_ESTABLISHED:
		on_established(ctx, sk, oldstate);
		break;
	case ST_CLOSE:
		if (oldstate == ST_LISTEN)
			on_unlisten(sk);
		else
			on_close(ctx, sk, oldstate);
		break;
	}
	return 0;
}

/* ---- TCP health -------------------------------------------------------------------- */

static __always_inline void emit_tcp_event(void *ctx, const struct sock *sk, __u16 type, __u8 kind)
{
	__u64 key = (__u64)sk;
	struct net_tcp_event *e;
	struct net_conn *c;

	if (!net_admit(NET_CLASS_HEALTH, 0))
		return;
	e = tp_reserve(sizeof(*e));
	if (!e)
		return;
	c = bpf_map_lookup_elem(&net_conns, &key);
	if (!c)
		c = bpf_map_lookup_elem(&net_closed, &key);
	header_for(&e->h, type, sizeof(*e), c && c->owner.pid ? &c->owner : NULL);
	sk_endpoints(sk, &e->ep);
	if (c && (c->flags & NET_CONN_F_ESTABLISHED) && e->ep.lport == 0)
		e->ep = c->ep; /* the socket closed and gave up its port */
	e->sk = key;
	e->netns = sk_netns(sk);
	e->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	e->kind = kind;
	e->direction = c ? c->direction : NET_DIR_UNKNOWN;
	e->owner_known = c && c->owner.pid;
	tp_submit(ctx, e, sizeof(*e));
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(handle_retransmit, const struct sock *sk, const struct sk_buff *skb)
{
	if (sk)
		emit_tcp_event(ctx, sk, TP_EV_NET_RETRANSMIT, 0);
	return 0;
}

SEC("raw_tp/tcp_receive_reset")
int BPF_PROG(handle_receive_reset, struct sock *sk)
{
	if (sk)
		emit_tcp_event(ctx, sk, TP_EV_NET_RESET, NET_RESET_RECEIVED);
	return 0;
}

/* Addresses and ports of a packet from its headers (network_header is set on every
 * path the drop and reset tracepoints see). Returns 0 when it is not IPv4/IPv6. */
static __always_inline int skb_endpoints(const struct sk_buff *skb, struct net_endpoints *ep)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 th = BPF_CORE_READ(skb, transport_header);
	__u8 first, proto;
	__u32 l4;
	__u16 ports[2];

	__builtin_memset(ep, 0, sizeof(*ep));
	if (!head || nh == (__u16)~0U || safe_probe_read(&first, 1, head + nh) < 0)
		return 0;
	if ((first >> 4) == 4) {
		struct iphdr ip;

		if (safe_probe_read(&ip, sizeof(ip), head + nh) < 0)
			return 0;
		ep->family = AF_INET;
		__builtin_memcpy(ep->laddr, &ip.saddr, 4);
		__builtin_memcpy(ep->raddr, &ip.daddr, 4);
		proto = ip.protocol;
		l4 = nh + (first & 0xf) * 4;
	} else if ((first >> 4) == 6) {
		struct ipv6hdr ip6;

		if (safe_probe_read(&ip6, sizeof(ip6), head + nh) < 0)
			return 0;
		ep->family = AF_INET6;
		__builtin_memcpy(ep->laddr, &ip6.saddr, 16);
		__builtin_memcpy(ep->raddr, &ip6.daddr, 16);
		proto = ip6.nexthdr; /* extension headers are not walked */
		l4 = nh + sizeof(ip6);
	} else {
		return 0;
	}
	ep->protocol = proto;
	if (th != (__u16)~0U && th > nh)
		l4 = th;
	if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) &&
	    safe_probe_read(ports, sizeof(ports), head + l4) == 0) {
		ep->lport = bpf_ntohs(ports[0]);
		ep->rport = bpf_ntohs(ports[1]);
	}
	return 1;
}

/* sk is NULL for a reset answering a packet no socket wanted; skb is NULL for a reset
 * the socket sends on its own (abort, linger 0). */
SEC("raw_tp/tcp_send_reset")
int BPF_PROG(handle_send_reset, const struct sock *sk, const struct sk_buff *skb)
{
	struct net_endpoints ep;
	struct net_tcp_event *e;

	if (sk) {
		emit_tcp_event(ctx, sk, TP_EV_NET_RESET, NET_RESET_SENT);
		return 0;
	}
	if (!skb || !skb_endpoints(skb, &ep) || ep.protocol != IPPROTO_TCP)
		return 0;
	if (!net_admit(NET_CLASS_HEALTH, 0))
		return 0;
	e = tp_reserve(sizeof(*e));
	if (!e)
		return 0;
	header_for(&e->h, TP_EV_NET_RESET, sizeof(*e), NULL);
	/* The packet came in: our side is its destination. */
	__builtin_memcpy(e->ep.laddr, ep.raddr, 16);
	__builtin_memcpy(e->ep.raddr, ep.laddr, 16);
	e->ep.lport = ep.rport;
	e->ep.rport = ep.lport;
	e->ep.family = ep.family;
	e->ep.protocol = ep.protocol;
	e->ep.pad = 0;
	e->sk = 0;
	e->netns = 0;
	e->state = 0;
	e->kind = NET_RESET_SENT;
	e->direction = NET_DIR_UNKNOWN;
	e->owner_known = 0;
	tp_submit(ctx, e, sizeof(*e));
	return 0;
}

/* ---- drops ------------------------------------------------------------------------- */

/* 1 when the kernel says this free is not a drop worth a report: not dropped, consumed
 * (6.3+ passes consume_skb's frees here), no reason given, or the queues of a socket
 * being destroyed emptied (6.8+: what a normal close leaves behind). Values differ per
 * kernel; CO-RE resolves them. */
static __always_inline int normal_free(__u32 reason)
{
	if (reason == 0) /* SKB_NOT_DROPPED_YET */
		return 1;
	if (reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED))
		return 1;
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_CONSUMED) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED))
		return 1;
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_QUEUE_PURGE) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_QUEUE_PURGE))
		return 1;
	return 0;
}

/* Arguments by index: (skb, location[, reason[, rx_sk]]). The reason argument exists
 * exactly when enum skb_drop_reason does (5.17+); on older kernels the read is dead code
 * the verifier never walks, so attaching to the two-argument tracepoint works. */
SEC("raw_tp/kfree_skb")
int handle_kfree_skb(struct bpf_raw_tracepoint_args *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx->args[0];
	struct net_drop_event *e;
	struct net_endpoints ep;
	__u32 reason = 0;
	__u8 known = 0;
	struct sock *sk;
	struct net_conn *c = NULL;
	__u64 key;

	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED)) {
		reason = (__u32)ctx->args[2];
		known = 1;
		if (normal_free(reason))
			return 0;
	}
	if (!skb || !skb_endpoints(skb, &ep))
		return 0;
	if (!net_admit(NET_CLASS_HEALTH, 0))
		return 0;
	e = tp_reserve(sizeof(*e));
	if (!e)
		return 0;
	sk = BPF_CORE_READ(skb, sk);
	key = (__u64)sk;
	if (sk)
		c = bpf_map_lookup_elem(&net_conns, &key);
	header_for(&e->h, TP_EV_NET_DROP, sizeof(*e), c && c->owner.pid ? &c->owner : NULL);
	e->ep = ep;
	e->location = ctx->args[1];
	e->reason = reason;
	e->reason_known = known;
	e->owner_known = c && c->owner.pid;
	e->pad = 0;
	tp_submit(ctx, e, sizeof(*e));
	return 0;
}

/* ---- UDP flows --------------------------------------------------------------------- */

/* Kept whatever is reported: sampling and the rate limit decide, per flow when it starts,
 * only whether the sensor reports it (NET_UDP_F_REPORT). Sized by the sensor before load
 * (--net-udp-flows). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NET_UDP_FLOW_ENTRIES);
	__type(key, struct net_udp_key);
	__type(value, struct net_udp_flow);
} net_udp_flows SEC(".maps");

/* Key: the socket's cookie. Created with a socket's first flow; the sensor deletes it once
 * the socket closed and its flows were reported. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NET_UDP_FLOW_ENTRIES);
	__type(key, __u64);
	__type(value, struct net_udp_sock);
} net_udp_socks SEC(".maps");

#define PF_KTHREAD 0x00200000
#define IP6_EXT_MAX 4 /* IPv6 extension headers skipped before giving up */

/* One datagram, as its socket sees it. */
struct udp_dgram {
	__u8 laddr[16];
	__u8 raddr[16];
	__u16 lport;
	__u16 rport;
	__u32 payload;	/* UDP payload bytes */
	__u32 segments; /* datagrams: a GSO/GRO batch is several */
	__u8 family;
};

static __always_inline int is_ipv6_ext(__u8 next)
{
	return next == 0 || next == 43 || next == 60 || next == 44;
}

/* Every packet of the node comes here: its IP protocol (*proto) is read with plain loads
 * from the linear data. Returns the offset of the transport header, 0 for a packet that
 * is neither IPv4 nor IPv6, -1 when only l4_offset_slow can tell (headers beyond the
 * linear data, IPv6 extension headers first). */
static __always_inline int l4_offset_fast(struct __sk_buff *skb, __u8 *proto)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__u8 *h = data;

	if ((void *)(h + 20) > end)
		return -1;
	if ((h[0] >> 4) == 4) {
		*proto = h[9];
		return (h[0] & 0xf) * 4;
	}
	if ((h[0] >> 4) != 6)
		return 0;
	if ((void *)(h + 40) > end || is_ipv6_ext(h[6]))
		return -1;
	*proto = h[6];
	return 40;
}

/* The same through bpf_skb_load_bytes, walking IPv6 extension headers; -1 when a read
 * failed or more than IP6_EXT_MAX of them came first. */
static __always_inline int l4_offset_slow(struct __sk_buff *skb, __u8 *proto)
{
	__u8 h[40], ext[2], next;
	__u32 off = 40;

	if (bpf_skb_load_bytes(skb, 0, h, 20) < 0)
		return -1;
	if ((h[0] >> 4) == 4) {
		*proto = h[9];
		return (h[0] & 0xf) * 4;
	}
	if ((h[0] >> 4) != 6)
		return 0;
	if (bpf_skb_load_bytes(skb, 0, h, sizeof(h)) < 0)
		return -1;
	next = h[6];
	for (int i = 0; i < IP6_EXT_MAX && is_ipv6_ext(next); i++) {
		if (bpf_skb_load_bytes(skb, off, ext, sizeof(ext)) < 0)
			return -1;
		off += next == 44 ? 8 : (ext[1] + 1) * 8;
		next = ext[0];
	}
	if (is_ipv6_ext(next))
		return -1;
	*proto = next;
	return off;
}

/* Addresses, ports and sizes of a UDP datagram (its UDP header at off): 0, or -1. The
 * program sees the packet from its IP header on, one datagram before fragmentation
 * (egress) or after reassembly (ingress). A datagram whose headers could not be read is
 * counted as a read error. */
static __always_inline int udp_dgram(struct __sk_buff *skb, int egress, int off,
				     struct udp_dgram *d)
{
	__u16 ports[2];
	__u8 ip[40];

	if (off < 20 || off > 0xffff || bpf_skb_load_bytes(skb, 0, ip, 20) < 0 ||
	    bpf_skb_load_bytes(skb, off, ports, sizeof(ports)) < 0)
		goto unreadable;
	__builtin_memset(d, 0, sizeof(*d));
	if ((ip[0] >> 4) == 4) {
		d->family = AF_INET;
		__builtin_memcpy(egress ? d->laddr : d->raddr, ip + 12, 4);
		__builtin_memcpy(egress ? d->raddr : d->laddr, ip + 16, 4);
	} else {
		if (bpf_skb_load_bytes(skb, 0, ip, sizeof(ip)) < 0)
			goto unreadable;
		d->family = AF_INET6;
		__builtin_memcpy(egress ? d->laddr : d->raddr, ip + 8, 16);
		__builtin_memcpy(egress ? d->raddr : d->laddr, ip + 24, 16);
	}
	d->lport = bpf_ntohs(egress ? ports[0] : ports[1]);
	d->rport = bpf_ntohs(egress ? ports[1] : ports[0]);
	d->payload = skb->len > (__u32)off + 8 ? skb->len - off - 8 : 0;
	d->segments = skb->gso_segs > 1 ? skb->gso_segs : 1;
	return 0;
unreadable:
	tp_count(TP_CNT_READ_ERROR);
	return -1;
}

/* The kernel address of the socket a cgroup_skb program sees. The verifier allows no
 * arithmetic on socket pointers, so the pointer is read back from the stack as a number
 * (a program loaded with CAP_PERFMON may); CO-RE reads then work on it. */
static __always_inline const struct sock *sock_of(struct bpf_sock *sk)
{
	struct bpf_sock *volatile slot = sk;
	__u64 addr = 0;

	bpf_probe_read_kernel(&addr, sizeof(addr), (const void *)&slot);
	return (const struct sock *)addr;
}

/* The current task as a socket's owner, where only CO-RE tells (cgroup_skb has no
 * pid/comm/cgroup helpers on 5.10). A kernel thread owns no user socket: left unknown. */
static __always_inline void owner_from_task(struct net_owner *o)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	if (BPF_CORE_READ(task, flags) & PF_KTHREAD)
		return;
	o->pid = BPF_CORE_READ(task, tgid);
	o->tid = BPF_CORE_READ(task, pid);
	o->start_ns = BPF_CORE_READ(task, group_leader, start_time);
	o->cgroup_id = tp_task_cgroup_id(task);
	if (BPF_CORE_READ_STR_INTO(&o->comm, task, comm) < 0)
		o->comm[0] = 0;
}

/* The socket's entry, created with its first flow. What sends owns it: a user socket's
 * datagrams leave in the sender's context. A received one says nothing (softirq, or on
 * loopback the sender's context), nor does a kernel socket's (tunnels send in the context
 * of whatever they carry). */
static __always_inline struct net_udp_sock *udp_sock(struct __sk_buff *skb, __u64 cookie,
						     int egress)
{
	struct net_udp_sock *s = bpf_map_lookup_elem(&net_udp_socks, &cookie), fresh = {};
	struct bpf_sock *bsk = skb->sk;
	const struct sock *sk;

	if (s) {
		if (egress && !s->owner.pid && !(s->flags & NET_UDP_F_KERNEL))
			owner_from_task(&s->owner);
		return s;
	}
	if (!bsk)
		return NULL;
	sk = sock_of(bsk);
	fresh.netns = sk_netns(sk);
	if (bpf_core_field_exists(sk->sk_kern_sock) &&
	    BPF_CORE_READ_BITFIELD_PROBED(sk, sk_kern_sock))
		fresh.flags = NET_UDP_F_KERNEL;
	else if (egress)
		owner_from_task(&fresh.owner);
	bpf_map_update_elem(&net_udp_socks, &cookie, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&net_udp_socks, &cookie); /* NULL: the table is full */
}

/* A datagram of a flow not in the table yet: its own flow while the socket has fewer than
 * NET_UDP_REMOTES, else the socket's "other" flow (k is changed to its key). Admission is
 * decided here, once per flow. NULL when a table is full. */
static __always_inline struct net_udp_flow *udp_flow_start(struct __sk_buff *skb,
							   struct net_udp_key *k,
							   const struct udp_dgram *d, int egress,
							   __u64 now)
{
	struct net_udp_sock *s = udp_sock(skb, k->cookie, egress);
	struct net_udp_flow fresh = {}, *f;
	int own = 1;

	if (!s)
		return NULL;
	if (s->remotes >= NET_UDP_REMOTES) {
		__builtin_memset(k->raddr, 0, sizeof(k->raddr));
		k->rport = 0;
		k->family = 0;
		f = bpf_map_lookup_elem(&net_udp_flows, k);
		if (f)
			return f;
		own = 0;
		fresh.flags = NET_UDP_F_OTHER;
	}
	fresh.first_ns = fresh.last_ns = now;
	__builtin_memcpy(fresh.laddr, d->laddr, sizeof(fresh.laddr));
	fresh.lport = d->lport;
	fresh.family = d->family;
	fresh.flags |= s->flags & NET_UDP_F_KERNEL;
	if (bpf_map_update_elem(&net_udp_flows, k, &fresh, BPF_NOEXIST) != 0)
		return bpf_map_lookup_elem(&net_udp_flows, k); /* another CPU's, or full */
	f = bpf_map_lookup_elem(&net_udp_flows, k);
	if (!f)
		return NULL;
	if (own)
		__sync_fetch_and_add(&s->remotes, 1);
	if (net_admit(NET_CLASS_UDP, 1))
		f->flags |= NET_UDP_F_REPORT; /* no one else writes flags */
	return f;
}

/* Counts a datagram into its flow: per packet, a lookup and two atomic adds. */
static __always_inline void udp_count(struct __sk_buff *skb, int egress, int off)
{
	struct net_udp_key k = {};
	struct net_udp_flow *f;
	struct udp_dgram d;
	__u64 now;

	if (udp_dgram(skb, egress, off, &d) < 0)
		return;
	k.cookie = bpf_get_socket_cookie(skb);
	__builtin_memcpy(k.raddr, d.raddr, sizeof(k.raddr));
	k.rport = d.rport;
	k.family = d.family;
	now = bpf_ktime_get_ns();
	f = bpf_map_lookup_elem(&net_udp_flows, &k);
	if (!f)
		f = udp_flow_start(skb, &k, &d, egress, now);
	if (!f) {
		tp_count(NET_CNT_UDP_FULL);
		return;
	}
	if (egress) {
		__sync_fetch_and_add(&f->tx_packets, d.segments);
		__sync_fetch_and_add(&f->tx_bytes, d.payload);
	} else {
		__sync_fetch_and_add(&f->rx_packets, d.segments);
		__sync_fetch_and_add(&f->rx_bytes, d.payload);
	}
	f->last_ns = now;
}

/* Every inet socket's close (5.9+): a UDP socket with flows is marked closed, and named
 * after its closer if no owner was known. The sensor reports its flows as final. */
SEC("cgroup/sock_release")
int udp_release(struct bpf_sock *ctx)
{
	struct net_udp_sock *s;
	__u64 cookie;

	if (ctx->protocol != IPPROTO_UDP)
		return 1;
	cookie = bpf_get_socket_cookie(ctx);
	s = bpf_map_lookup_elem(&net_udp_socks, &cookie);
	if (!s)
		return 1;
	if (!s->owner.pid)
		owner_from_task(&s->owner);
	s->closed_ns = bpf_ktime_get_ns();
	return 1;
}

/* recvfrom()/recvmsg() on a UDP socket, asking for the sender's address (what a server
 * does to answer), runs these in the reader's context (5.2+): they name the owner of a
 * socket that has only received so far. */
static __always_inline void udp_reader(struct bpf_sock_addr *ctx)
{
	__u64 cookie = bpf_get_socket_cookie(ctx);
	struct net_udp_sock *s = bpf_map_lookup_elem(&net_udp_socks, &cookie);

	if (s && !s->owner.pid && !(s->flags & NET_UDP_F_KERNEL))
		owner_from_task(&s->owner);
}

SEC("cgroup/recvmsg4")
int udp_recvmsg4(struct bpf_sock_addr *ctx)
{
	udp_reader(ctx);
	return 1;
}

SEC("cgroup/recvmsg6")
int udp_recvmsg6(struct bpf_sock_addr *ctx)
{
	udp_reader(ctx);
	return 1;
}

/* ---- byte capture ------------------------------------------------------------------ */

/* Whether bytes were skipped since the last captured record: stored only on a change
 * (struct net_sk says why). */
static __always_inline void set_gap(struct net_stream_state *st, __u8 gap)
{
	if (st->gap != gap)
		st->gap = gap;
}

static __always_inline int is_method(const char *b)
{
	__u32 w = *(__u32 *)b;

	return w == *(__u32 *)"GET " || w == *(__u32 *)"POST" || w == *(__u32 *)"PUT " ||
	       w == *(__u32 *)"HEAD" || w == *(__u32 *)"DELE" || w == *(__u32 *)"PATC" ||
	       w == *(__u32 *)"OPTI" || w == *(__u32 *)"CONN" || w == *(__u32 *)"TRAC";
}

static __always_inline int is_http1_response(const char *b)
{
	return *(__u32 *)b == *(__u32 *)"HTTP" && b[4] == '/' && b[5] == '1' && b[6] == '.';
}

static __always_inline int is_h2_preface(const char *b)
{
	return *(__u64 *)b == *(__u64 *)"PRI * HT" && *(__u64 *)(b + 8) == *(__u64 *)"TP/2.0\r\n";
}

/* A server's connection preface: a SETTINGS frame (type 4, no flags) on stream 0 whose
 * length is a whole number of settings. Servers may send it before reading the
 * client's preface. */
static __always_inline int is_h2_server_preface(const char *b)
{
	__u32 len = (__u8)b[0] << 16 | (__u8)b[1] << 8 | (__u8)b[2];

	return b[3] == 4 && b[4] == 0 && !b[5] && !b[6] && !b[7] && !b[8] && len % 6 == 0 &&
	       len <= 6 * 16;
}

/* First look at a stream: what protocol, which side. The request direction of a client
 * is egress. Bytes that are not HTTP (TLS records among them) mark the stream OTHER. */
static __always_inline void classify(struct net_stream_state *st, const char *b, __u8 dir,
				     const int from_skb)
{
	__u8 out = dir == NET_DATA_EGRESS;

	if (is_h2_preface(b) || is_h2_server_preface(b)) {
		st->proto = NET_PROTO_HTTP2;
		st->role = out == is_h2_preface(b) ? NET_ROLE_CLIENT : NET_ROLE_SERVER;
		/* HPACK state needs every header block: decide once for the connection. */
		if (!net_admit(NET_CLASS_GRPC, from_skb))
			st->proto = NET_PROTO_OTHER;
	} else if (is_method(b)) {
		st->proto = NET_PROTO_HTTP1;
		st->role = out ? NET_ROLE_CLIENT : NET_ROLE_SERVER;
	} else if (is_http1_response(b)) {
		st->proto = NET_PROTO_HTTP1;
		st->role = out ? NET_ROLE_SERVER : NET_ROLE_CLIENT;
	} else {
		st->proto = NET_PROTO_OTHER;
	}
}

/* The direction requests take on a stream: a client sends them. */
static __always_inline __u8 request_dir(const struct net_stream_state *st)
{
	return st->role == NET_ROLE_CLIENT ? NET_DATA_EGRESS : NET_DATA_INGRESS;
}

/* HTTP/1: bytes that start a request take the admission decision for the exchange. */
static __always_inline int http1_wanted(struct net_stream_state *st, const char *b, __u8 dir,
					const int from_skb)
{
	if (dir == request_dir(st) && is_method(b)) {
		__u8 skip = !net_admit(NET_CLASS_HTTP, from_skb);

		if (st->skip != skip)
			st->skip = skip; /* a store only on a change: see struct net_sk */
	}
	return !st->skip;
}

/* Whether `len` bytes starting with head (NET_CLASSIFY_BYTES, zero padded) are captured:
 * the first look at a stream classifies it, and HTTP/1 bytes follow the admission of the
 * exchange they belong to. */
static __always_inline int wanted(struct net_stream_state *st, const char *head, __u32 len,
				  __u8 dir, const int from_skb)
{
	if (st->proto == NET_PROTO_UNKNOWN) {
		if (len < 4)
			return 0; /* too little to tell; the next bytes decide */
		classify(st, head, dir, from_skb);
	}
	if (st->proto == NET_PROTO_OTHER)
		return 0;
	if (st->proto == NET_PROTO_HTTP1 && !http1_wanted(st, head, dir, from_skb)) {
		set_gap(st, 1);
		return 0;
	}
	return 1;
}

/* Where captured bytes come from: a packet (from_skb: skb at off) or a user buffer. */
struct net_src {
	struct __sk_buff *skb;
	__u64 buf;
	__u32 off;
};

/* Copies n (<= limit, the size of dst) bytes of src into dst: 0, or -1. from_skb is a
 * constant at every call: each program keeps only the helper its type may call. */
static __always_inline int src_copy(const struct net_src *src, char *dst, __u64 n, __u64 limit,
				    const int from_skb)
{
	if (!n)
		return 0;
	/* Bounds the verifier keeps up to the call: 1 <= n <= limit (before 5.13 or so, a
	 * length tested for 0 may still be 0 to it, and a spilled one has no bounds). */
	n -= 1;
	asm volatile("%[n] &= 0x1fff" : [n] "+r"(n));
	n += 1;
	if (n > limit)
		return -1;
	if (from_skb)
		return bpf_skb_load_bytes(src->skb, src->off, dst, n) < 0 ? -1 : 0;
	return safe_probe_read_user(dst, n, (const void *)src->buf) < 0 ? -1 : 0;
}

/* One record for `len` bytes of stream st; a record that could not be written leaves a
 * gap mark, so the parser in user space starts over rather than join unrelated bytes. */
static __always_inline void emit_data(void *ctx, const struct sock *sk, const struct net_conn *c,
				      struct net_stream_state *st, const struct net_src *src,
				      __u32 len, __u8 dir, __u8 flags, const int from_skb)
{
	__u64 cap = len < NET_DATA_LARGE ? len : NET_DATA_LARGE;

	if (st->gap)
		flags |= NET_DATA_F_GAP;
	if (len > NET_DATA_LARGE)
		tp_count(NET_CNT_CAPTURE_CUT);
	if (cap <= NET_DATA_SMALL) {
		struct net_data_small *e = tp_reserve(sizeof(*e));

		if (!e)
			goto lost;
		if (src_copy(src, e->data, cap, NET_DATA_SMALL, from_skb) < 0) {
			tp_discard(e);
			tp_count(TP_CNT_READ_ERROR);
			goto lost;
		}
		fill_data(&e->d, sk, c, st, len, cap, dir, flags, sizeof(*e), from_skb);
		tp_submit(ctx, e, sizeof(e->d) + (cap & 0x1ff));
	} else {
		struct net_data_large *e = tp_reserve(sizeof(*e));

		if (!e)
			goto lost;
		if (src_copy(src, e->data, cap, NET_DATA_LARGE, from_skb) < 0) {
			tp_discard(e);
			tp_count(TP_CNT_READ_ERROR);
			goto lost;
		}
		fill_data(&e->d, sk, c, st, len, cap, dir, flags, sizeof(*e), from_skb);
		tp_submit(ctx, e, sizeof(e->d) + (cap & 0x1fff));
	}
	set_gap(st, 0);
	return;
lost:
	set_gap(st, 1);
}

/* wanted() on the first NET_CLASSIFY_BYTES of `len` bytes of src; bytes that could not be
 * read leave a gap. */
static __always_inline int src_wanted(struct net_stream_state *st, const struct net_src *src,
				      __u32 len, __u8 dir, const int from_skb)
{
	char head[NET_CLASSIFY_BYTES] __attribute__((aligned(8))) = {};
	__u64 n = len < NET_CLASSIFY_BYTES ? len : NET_CLASSIFY_BYTES;

	if (src_copy(src, head, n, NET_CLASSIFY_BYTES, from_skb) < 0) {
		tp_count(TP_CNT_READ_ERROR);
		set_gap(st, 1);
		return 0;
	}
	return wanted(st, head, len, dir, from_skb);
}

/* ---- plaintext TCP segments (cgroup_skb) ------------------------------------------- */

/* The payload of a TCP segment: where it starts in the packet, its length, its sequence
 * number. */
struct tcp_seg {
	__u32 off;
	__u32 len;
	__u32 seq;
};

/* The TCP header at off: 0 with t filled for a segment that carries payload, -1 for one
 * that does not (most ACKs) or whose header could not be read. */
static __always_inline int tcp_payload(struct __sk_buff *skb, int off, struct tcp_seg *t)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__u8 buf[16], *th = buf;
	__u32 doff, seq;

	if (off < 20 || off > 0xffff)
		return -1;
	if (off <= 0xff && data + (off & 0xff) + sizeof(buf) <= end)
		th = data + (off & 0xff); /* in the linear data: plain loads */
	else if (bpf_skb_load_bytes(skb, off, buf, sizeof(buf)) < 0)
		return -1;
	doff = (th[12] >> 4) * 4;
	if (doff < 20 || skb->len <= off + doff)
		return -1;
	__builtin_memcpy(&seq, th + 4, sizeof(seq));
	t->off = off + doff;
	t->len = skb->len - t->off;
	t->seq = bpf_ntohl(seq);
	return 0;
}

/* The table entry of a socket that carries data, created for connections older than the
 * sensor (their owner is the first process that sends, see settle_owner). */
static __always_inline struct net_conn *data_conn(const struct sock *sk, __u64 key)
{
	struct net_conn *c = bpf_map_lookup_elem(&net_conns, &key), fresh;
	__u8 state;

	if (c)
		return c;
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if (state == ST_CLOSE || state == ST_LISTEN || state == ST_SYN_SENT)
		return NULL; /* nothing to attach bytes to; CLOSE would leak the entry */
	conn_init(&fresh, sk_netns(sk), NET_DIR_UNKNOWN, bpf_ktime_get_ns());
	fresh.flags = NET_CONN_F_ESTABLISHED;
	sk_endpoints(sk, &fresh.ep);
	return conn_insert(key, &fresh);
}

/* Leaves in t the bytes from `ahead` (its sequence number less the first new one) on:
 * 0 when none is new. */
static __always_inline int seq_trim(struct tcp_seg *t, __s32 ahead)
{
	__u32 old = -ahead;

	if (ahead >= 0)
		return 1;
	if (old >= t->len)
		return 0;
	t->off += old;
	t->len -= old;
	t->seq += old;
	return 1;
}

/* Each byte of a direction is captured once: a retransmission is left out (its new bytes
 * kept), a jump ahead on arrival (a segment missed, or one out of order) marks a gap.
 * Returns 0 when nothing in t is new.
 *
 * The kernel's sequence state tells what is new, read without a store of ours. A send:
 * the egress hook runs inside the transmission, before the kernel moves snd_nxt past
 * bytes sent for the first time; a retransmission starts below it. An arrival: the
 * ingress hook runs before the kernel takes the segment in, so in order means at
 * rcv_nxt, except behind segments that wait in the socket's backlog while its owner
 * holds the lock; for those rcv_next, where the last captured arriving bytes ended,
 * tells (segments that are not captured need no such care: a gap is marked anyway). */
static __always_inline int in_sequence(struct bpf_sock *bsk, struct net_sk *s, struct tcp_seg *t,
				       __u8 dir)
{
	struct bpf_tcp_sock *tp = bpf_tcp_sock(bsk);
	__u32 next;
	__s32 ahead;

	if (!tp)
		return 1;
	if (dir == NET_DATA_EGRESS)
		return seq_trim(t, (__s32)(t->seq - tp->snd_nxt));
	next = tp->rcv_nxt;
	if (s->rcv_known && (__s32)(s->rcv_next - next) > 0)
		next = s->rcv_next;
	ahead = (__s32)(t->seq - next);
	if (ahead > 0)
		set_gap(&s->st, 1);
	return seq_trim(t, ahead);
}

/* Where captured arriving bytes end, for in_sequence: kept while a stream's arrivals are
 * captured, forgotten (once) when they are not. */
static __always_inline void rcv_note(struct net_sk *s, const struct tcp_seg *t, int captured)
{
	if (captured) {
		s->rcv_next = t->seq + t->len;
		if (!s->rcv_known)
			s->rcv_known = 1;
	} else if (s->rcv_known) {
		s->rcv_known = 0;
	}
}

/* Bytes of a segment that the stream wants go out with their connection's owner: 1 when
 * they were handed on (a record, or a gap when there was no room). The connection table
 * is only looked up here: under the rate limit most segments are not wanted. A
 * connection of the sensor's own, or one the table could not hold, is not captured. */
static __always_inline int capture_segment(struct __sk_buff *skb, struct bpf_sock *bsk,
					   struct net_sk *s, const struct tcp_seg *t, __u8 dir)
{
	struct net_src src = {.skb = skb, .off = t->off};
	__u8 was = s->st.proto;
	const struct sock *sk;
	struct net_conn *c;

	if (!src_wanted(&s->st, &src, t->len, dir, 1))
		return 0;
	sk = sock_of(bsk);
	c = data_conn(sk, (__u64)sk);
	if (!c || (net_self_tgid && c->owner.pid == net_self_tgid)) {
		s->st.proto = NET_PROTO_OTHER;
		return 0;
	}
	if (was == NET_PROTO_UNKNOWN)
		c->plain.proto = s->st.proto; /* its close has to reach the parser */
	emit_data(skb, sk, c, &s->st, &src, t->len, dir, 0, 1);
	return 1;
}

/* The current thread and process, where only CO-RE tells (cgroup_skb has no pid helper
 * on 5.10). */
static __always_inline void current_ids(__u32 *tgid, __u32 *tid)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	*tgid = BPF_CORE_READ(task, tgid);
	*tid = BPF_CORE_READ(task, pid);
}

/* The kernel socket of bsk when the current task holds its lock: a segment that leaves
 * then leaves in that process's context (its sendmsg, or the backlog its release_sock
 * processes); timers and ACKs send from softirq, without the lock. NULL otherwise. */
static __always_inline const struct sock *sender_sock(struct bpf_sock *bsk)
{
	const struct sock *sk = sock_of(bsk);

	return BPF_CORE_READ(sk, sk_lock.owned) ? sk : NULL;
}

/* The process that sends on an accepted socket owns it (a pre-forked worker, not the
 * listener's owner), as it does one older than the sensor. Once per socket with capture
 * state (s); at each send in a process's context of one without. */
static __always_inline void settle_owner(struct bpf_sock *bsk, struct net_sk *s)
{
	const struct sock *sk = sender_sock(bsk);
	struct net_conn *c;
	__u64 key;

	if (!sk)
		return;
	if (s)
		s->owner_settled = 1;
	key = (__u64)sk;
	c = bpf_map_lookup_elem(&net_conns, &key);
	if (c && (!c->owner.pid || (c->flags & NET_CONN_F_OWNER_LISTENER))) {
		owner_from_task(&c->owner);
		c->flags = (c->flags & ~NET_CONN_F_OWNER_LISTENER) | NET_CONN_F_SENDER;
	}
}

/* A send inside an SSL call (the handshake's first, when the SSL object writes to the
 * socket itself) or the send right after one (when it has memory BIOs, ssl_pending_set)
 * maps the SSL object to its socket. The thread is looked at first: SSL calls in progress
 * or just made elsewhere on the node cost a send one lookup. */
static __always_inline void note_tls_socket(struct bpf_sock *bsk)
{
	struct net_tls_key k = {};
	const struct sock *sk;
	struct net_conn *c;
	struct net_io *t;
	__u64 key;
	__u32 tid;

	current_ids(&k.pid, &tid);
	t = bpf_map_lookup_elem(&net_threads, &tid);
	if (!t || (!t->live && !t->pending_ssl))
		return;
	sk = sender_sock(bsk); /* a send of this thread's, not one a softirq made here */
	if (!sk)
		return;
	if (t->live) {
		k.ssl = t->ssl;
		t->sent = 1;
	} else {
		k.ssl = t->pending_ssl;
		ssl_pending_clear(t);
		if (bpf_ktime_get_ns() - t->pending_ns > NET_TLS_PENDING_NS)
			return;
	}
	key = (__u64)sk;
	bpf_map_update_elem(&net_tls_socks, &k, &key, BPF_ANY);
	c = bpf_map_lookup_elem(&net_conns, &key);
	if (c)
		c->flags |= NET_CONN_F_TLS;
}

/* A segment glanced at while the token bucket cannot pay for an event: a request (or an
 * HTTP/2 connection) that starts in it would be refused whatever it holds, so only its
 * first bytes are read, to count it as admission would have. */
static __always_inline void count_refused(struct __sk_buff *skb, const struct tcp_seg *t)
{
	char head[4] __attribute__((aligned(4)));

	if (t->len >= sizeof(head) && !bpf_skb_load_bytes(skb, t->off, head, sizeof(head)) &&
	    (is_method(head) || *(__u32 *)head == *(__u32 *)"PRI "))
		tp_count(TP_CNT_RATE_LIMITED);
}

/* A segment of an HTTP/1 stream whose current exchange was refused: 1 when it is left
 * alone, 0 when it takes the full path (where a request that starts in it is admitted or
 * refused). The answer to a refused request is not looked at. Nor is a request while the
 * token bucket could not pay for one (count_refused). */
static __always_inline int refused_segment(struct __sk_buff *skb, struct net_stream_state *st,
					   const struct tcp_seg *t, __u8 dir)
{
	if (dir == request_dir(st)) {
		if (!tp_bucket_dry(1))
			return 0;
		count_refused(skb, t);
	}
	set_gap(st, 1);
	return 1;
}

/* Whether t holds the first bytes of its socket's stream: nothing received yet, nothing
 * sent but the SYN, and t starts where its direction starts. */
static __always_inline int stream_start(struct bpf_sock *bsk, const struct tcp_seg *t, __u8 dir)
{
	struct bpf_tcp_sock *tp = bpf_tcp_sock(bsk);

	if (!tp || tp->bytes_received || tp->bytes_acked > 1 || tp->snd_una != tp->snd_nxt)
		return 0;
	return t->seq == (dir == NET_DATA_EGRESS ? tp->snd_nxt : tp->rcv_nxt);
}

/* The capture state of a socket that has none, made by the first segment that could be
 * captured. While the token bucket cannot pay for an event none could (capture starts
 * with an admission): the segment is glanced at (count_refused) and the socket gets no
 * storage, whose making and freeing were a large part of a short connection's cost. A
 * stream first seen past its start (its start went by so, or before the sensor) is picked
 * up at an HTTP/1 message start, with a gap, its current exchange taken as refused;
 * until then bytes that are not one do not classify it, for NET_MIDWAY_TRIES segments. */
static __always_inline struct net_sk *sk_state_new(struct __sk_buff *skb, struct bpf_sock *bsk,
						   const struct tcp_seg *t, __u8 dir)
{
	struct net_sk *s;
	int fresh;

	if (tp_bucket_dry(1)) {
		count_refused(skb, t);
		return NULL;
	}
	fresh = stream_start(bsk, t, dir);
	s = bpf_sk_storage_get(&net_socks, bsk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!s) {
		tp_count(NET_CNT_SK_STORAGE);
		return NULL;
	}
	if (!fresh) {
		s->st.gap = 1;
		s->st.skip = 1;
		s->midway = NET_MIDWAY_TRIES;
	}
	return s;
}

/* A segment of a stream picked up midway that has not been classified: 1 when it starts
 * an HTTP/1 message (it takes the full path), 0 when it is left alone (a try spent; the
 * last marks the stream OTHER). */
static __always_inline int midway_start(struct __sk_buff *skb, struct net_sk *s,
					const struct tcp_seg *t)
{
	char head[8] __attribute__((aligned(8)));

	if (t->len >= sizeof(head) && !bpf_skb_load_bytes(skb, t->off, head, sizeof(head)) &&
	    (is_method(head) || is_http1_response(head)))
		return 1;
	if (--s->midway == 0)
		s->st.proto = NET_PROTO_OTHER;
	return 0;
}

/* A segment of a socket marked in net_refused: 1 when it is done with (what
 * refused_segment does, without the socket's capture state), 0 when it takes the full
 * path. */
static __always_inline int refused_fast(struct __sk_buff *skb, const struct tcp_seg *t, __u8 dir)
{
	__u64 cookie = bpf_get_socket_cookie(skb), mark, *m;
	__u32 slot = cookie % NET_REFUSED_SLOTS;

	m = bpf_map_lookup_elem(&net_refused, &slot);
	if (!m)
		return 0;
	mark = *m;
	if (mark >> 1 != cookie)
		return 0;
	if ((mark & 1) == (dir == NET_DATA_EGRESS)) { /* a request, which may be admitted */
		if (!tp_bucket_dry(1))
			return 0;
		count_refused(skb, t);
	}
	return 1;
}

/* Keeps the socket's mark in net_refused in step with its capture state: marked while its
 * current HTTP/1 exchange is refused (its gap is set then) and nothing else would be done
 * with a segment (the owner settled, no message start sought, no arrival end to forget).
 * Stored only on a change. */
static __always_inline void refused_mark(struct __sk_buff *skb, struct net_sk *s)
{
	__u8 want = s->st.proto == NET_PROTO_HTTP1 && s->st.skip && s->owner_settled &&
		    !s->midway && !s->rcv_known;
	__u64 cookie, *m;
	__u32 slot;

	if (want == s->marked)
		return;
	cookie = bpf_get_socket_cookie(skb);
	slot = cookie % NET_REFUSED_SLOTS;
	m = bpf_map_lookup_elem(&net_refused, &slot);
	if (!m)
		return;
	if (want)
		*m = cookie << 1 | (s->st.role == NET_ROLE_CLIENT);
	else if (*m >> 1 == cookie)
		*m = 0;
	s->marked = want;
}

/* A segment of a socket with capture state s. */
static __always_inline void stream_segment(struct __sk_buff *skb, struct bpf_sock *bsk,
					   struct net_sk *s, struct tcp_seg *t, __u8 dir)
{
	int captured;

	if (s->st.proto == NET_PROTO_OTHER)
		return;
	if (s->st.skip && s->st.proto == NET_PROTO_HTTP1 && refused_segment(skb, &s->st, t, dir)) {
		captured = 0;
	} else if (s->midway && !midway_start(skb, s, t)) {
		captured = 0;
	} else if (in_sequence(bsk, s, t, dir)) {
		captured = capture_segment(skb, bsk, s, t, dir);
		if (s->midway)
			s->midway = 0;
	} else {
		return; /* nothing new: what was known holds */
	}
	if (dir == NET_DATA_INGRESS)
		rcv_note(s, t, captured);
}

/* A TCP packet (its header at off) of a socket of the node. */
static __always_inline void tcp_segment(struct __sk_buff *skb, int egress, int off)
{
	__u8 dir = egress ? NET_DATA_EGRESS : NET_DATA_INGRESS;
	struct bpf_sock *bsk = skb->sk;
	struct net_sk *s;
	struct tcp_seg t;

	if (!bsk || tcp_payload(skb, off, &t) < 0)
		return;
	bsk = bpf_sk_fullsock(bsk);
	if (!bsk)
		return;
	if (egress && (ssl_calls_live || ssl_pending_live))
		note_tls_socket(bsk);
	if (refused_fast(skb, &t, dir))
		return;
	s = bpf_sk_storage_get(&net_socks, bsk, 0, 0);
	if (!s)
		s = sk_state_new(skb, bsk, &t, dir);
	if (egress && (!s || !s->owner_settled))
		settle_owner(bsk, s);
	if (!s)
		return;
	stream_segment(skb, bsk, s, &t, dir);
	refused_mark(skb, s);
}

/* On the cgroup v2 root: every socket of the node, in every network namespace. */
static __always_inline void packet(struct __sk_buff *skb, int egress)
{
	__u8 proto = 0;
	int off = l4_offset_fast(skb, &proto);

	if (off < 0)
		off = l4_offset_slow(skb, &proto);
	if (off < 0) {
		tp_count(TP_CNT_READ_ERROR);
		return;
	}
	if (off == 0)
		return;
	if (proto == IPPROTO_TCP)
		tcp_segment(skb, egress, off);
	else if (proto == IPPROTO_UDP)
		udp_count(skb, egress, off);
}

/* Both always let the packet pass. */
SEC("cgroup_skb/egress")
int skb_egress(struct __sk_buff *skb)
{
	packet(skb, 1);
	return 1;
}

SEC("cgroup_skb/ingress")
int skb_ingress(struct __sk_buff *skb)
{
	packet(skb, 0);
	return 1;
}

/* ---- OpenSSL ----------------------------------------------------------------------- */

static __always_inline void ssl_enter(void *ssl, const void *buf, void *count_ptr, __u8 dir)
{
	struct net_io io = {};

	io.ssl = (__u64)ssl;
	io.buf = (__u64)buf;
	io.count_ptr = (__u64)count_ptr;
	io.dir = dir;
	call_begin(&io);
}

/* ret: SSL_read/SSL_write's return (bytes, or <= 0), or for the _ex forms 1 on success
 * with the count in *count_ptr. */
static __always_inline void ssl_return(void *ctx, long ret)
{
	struct net_io *io = this_thread();
	struct net_tls_key k = {};
	struct net_src src = {};
	struct net_conn *c;
	__u64 *skp, len = 0;

	if (!io || !io->live || !io->dir)
		return;
	if (io->count_ptr) {
		if (ret == 1)
			bpf_probe_read_user(&len, sizeof(len), (const void *)io->count_ptr);
	} else if (ret > 0) {
		len = ret;
	}
	if (len > 0x7fffffff)
		len = 0;
	if (len == 0)
		goto out;
	k.ssl = io->ssl;
	k.pid = bpf_get_current_pid_tgid() >> 32;
	skp = bpf_map_lookup_elem(&net_tls_socks, &k);
	if (!skp) {
		tp_count(NET_CNT_TLS_UNMAPPED);
		goto out;
	}
	c = bpf_map_lookup_elem(&net_conns, skp);
	src.buf = io->buf;
	if (c && c->tls.proto != NET_PROTO_OTHER &&
	    src_wanted(&c->tls, &src, (__u32)len, io->dir, 0))
		emit_data(ctx, (const struct sock *)*skp, c, &c->tls, &src, (__u32)len, io->dir,
			  NET_DATA_F_TLS, 0);
out:
	call_end(io, io->dir == NET_DATA_EGRESS && len);
}

/* A handshake (SSL_connect and SSL_accept call it) sends before the first SSL_read or
 * SSL_write: its first send maps the SSL object to its socket. Not inside another SSL
 * call, which maps it already. */
SEC("uprobe")
int BPF_KPROBE(ssl_handshake_enter, void *ssl)
{
	struct net_io *io = this_thread();

	if (!io || !io->live)
		ssl_enter(ssl, NULL, NULL, 0);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_handshake_exit, int ret)
{
	struct net_io *io = this_thread();

	if (io && io->live && !io->dir)
		call_end(io, 1);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_enter, void *ssl, const void *buf, int num)
{
	ssl_enter(ssl, buf, NULL, NET_DATA_EGRESS);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_exit, int ret)
{
	ssl_return(ctx, ret);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_enter, void *ssl, void *buf, int num)
{
	ssl_enter(ssl, buf, NULL, NET_DATA_INGRESS);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_exit, int ret)
{
	ssl_return(ctx, ret);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_ex_enter, void *ssl, const void *buf, __u64 num, __u64 *written)
{
	ssl_enter(ssl, buf, written, NET_DATA_EGRESS);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_ex_exit, int ret)
{
	ssl_return(ctx, ret);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_ex_enter, void *ssl, void *buf, __u64 num, __u64 *readbytes)
{
	ssl_enter(ssl, buf, readbytes, NET_DATA_INGRESS);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_ex_exit, int ret)
{
	ssl_return(ctx, ret);
	return 0;
}
