/* dns.bpf.c - DNS queries and responses of every client socket on the node.
 *
 * Two cgroup_skb programs attached to the root of the cgroup v2 hierarchy see every
 * packet of every socket of every process, in every network namespace (the cgroup, not
 * the namespace, decides which programs run). Egress: a query (QR = 0) to a configured
 * DNS port, sent in the context of the sending task, which names the process. Ingress: a
 * response (QR = 1) from a DNS port, in softirq: it is attributed through the socket's
 * owner kept in socket storage, and in user space through the query it answers. Packets
 * a local DNS server sends or receives are not reported (the client side is).
 *
 * Every packet of the node passes here, so a packet that is not DNS costs a few plain
 * loads from its linear data (parse_fast); the helpers, the owner's CO-RE reads and the
 * socket storage are spent only on DNS messages that will be sent to user space.
 *
 * Admission is per transaction: a new query passes the query-rate meter (above the
 * threshold only 1 of tp_limits.sample_every new queries is kept) and then the token
 * bucket, paying for itself and its response. The verdict is kept in dns_inflight so the
 * response shares its query's fate, and each refusal is counted under its reason.
 *
 * TCP: the 2-byte length prefix frames messages in the stream; the offset of the next
 * message of each direction is kept in socket storage, so segments that continue a
 * message are never mistaken for the start of one.
 *
 * Helpers are limited to what cgroup_skb has on 5.10: no bpf_get_current_pid_tgid, comm
 * or cgroup id there, so the task is read through bpf_get_current_task() and CO-RE.
 */
#include "vmlinux.h"
#include "dns.h"
#define TP_SCRATCH_SIZE sizeof(struct dns_record)
#include "tapio_common.bpf.h"
#include "tapio_task.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define IP6_EXT_MAX 4 /* IPv6 extension headers skipped before giving up */

const volatile struct dns_settings dns_settings = {};

/* A transaction: what pairs a response with its query. Words read whole by key_hash. */
struct dns_key {
	__u8 family;
	__u8 proto;
	__u16 id;
	__u16 client_port;
	__u16 server_port;
	__u8 client[16];
	__u8 server[16];
} __attribute__((aligned(8)));

enum { V_EMIT = 0, V_SAMPLED = 1, V_LIMITED = 2 };

/* Outstanding transactions and the verdict each got, one 64-bit word per slot at the
 * slot its key hashes to, written and read whole (no lock, no torn entry):
 *   bit 63      1: a used slot is never 0
 *   bits 20-62  the key's hash (43 bits: a false match is a 1 in 10^13 event)
 *   bits 3-19   when, in units of 2^27 ns (134 ms), modulo 2^17 (4.9 hours)
 *   bit 2       the query was kept as a sample
 *   bits 0-1    the verdict (V_*)
 * A new query takes its slot whatever was there; as with an LRU eviction, the displaced
 * query's response then counts as unmatched. The verifier inlines array lookups, so a
 * query costs a hash and a store where a hash map took a lock and an allocation. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DNS_INFLIGHT_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} dns_inflight SEC(".maps");

#define SLOT_USED (1ULL << 63)
#define SLOT_TAG 0xfffffffffff00000ULL /* with SLOT_USED */
#define SLOT_TIME_UNIT 27
#define SLOT_TIME_MASK 0x1ffffULL
#define SLOT_SAMPLED 0x4ULL
#define SLOT_VERDICT 0x3ULL

/* The task a socket's queries come from (process-wide fields of its thread group). */
struct dns_owner {
	__u64 start_ns;
	__u64 cgroup_id;
	__u32 pid;
	__u32 tid;
	__u32 netns;
	__u32 set;
	char comm[TP_TASK_COMM_LEN];
};

enum { TCP_SYNC_NONE = 0, TCP_AT_PREFIX = 1, TCP_AT_BODY = 2 };

/* Where the next DNS message of one direction of a TCP stream starts. */
struct dns_tcp_dir {
	__u32 next;    /* sequence number of the next length prefix (or body) */
	__u16 pending; /* TCP_AT_BODY: the body's length, read from the last segment */
	__u8 mode;     /* TCP_* */
	__u8 pad;
};

struct dns_sock {
	struct dns_owner owner;
	struct dns_tcp_dir tcp[2]; /* by DNS_DIR_* */
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct dns_sock);
} dns_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tp_bucket);
} dns_meter SEC(".maps");

/* One packet's addressing. */
struct dns_pkt {
	__u64 now; /* when the program saw it */
	__u32 l4;  /* offset of the transport header */
	__u32 len; /* bytes from the network header on */
	__u8 family;
	__u8 proto;
	__u16 sport; /* host order */
	__u16 dport;
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 udp_len; /* UDP: the header's length field... */
	__u8 dns[4];   /* ...and the message's first 4 bytes (id, flags) */
	__u8 direct;   /* 1 when parse_fast read those two from the linear data */
};

/* One DNS message found in a packet. */
struct dns_msg {
	__u32 off;     /* of the message in the packet */
	__u32 avail;   /* message bytes in this packet */
	__u32 wirelen; /* the message's length */
	int dir;
	__u8 hdr[4]; /* id and flags, when already read (have_hdr) */
	__u8 have_hdr;
};

static __always_inline void owner_from_task(struct dns_owner *o)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	o->pid = BPF_CORE_READ(task, tgid);
	o->tid = BPF_CORE_READ(task, pid);
	o->start_ns = BPF_CORE_READ(task, group_leader, start_time);
	o->cgroup_id = tp_task_cgroup_id(task);
	o->netns = BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
	/* The process's name: the sending thread may have named itself ("isc-net-0000"). */
	if (BPF_CORE_READ_STR_INTO(&o->comm, task, group_leader, comm) < 0)
		o->comm[0] = 0;
	o->set = 1;
}

static __always_inline int is_dns_port(__u16 port)
{
	for (__u32 i = 0; i < DNS_MAX_PORTS; i++) {
		if (i >= dns_settings.nports)
			return 0;
		if (dns_settings.ports[i] == port)
			return 1;
	}
	return 0;
}

/* The fast path: every packet of every socket comes here, so the headers are read from
 * the packet's linear data with plain loads (no helper call). Returns 0 for a packet to
 * or from a DNS port (dir says which) with everything of p filled but len and now; -1
 * for any other; 1 when only the helper-based parser can tell (IPv6 extension headers,
 * headers beyond the linear data). */
static __always_inline int parse_fast(struct __sk_buff *skb, struct dns_pkt *p, int dir)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	__u8 *h = data;
	__u16 *ports;
	__u32 l4;

	if ((void *)(h + 40) > end)
		return 1;
	if ((h[0] >> 4) == 4) {
		if (((h[6] & 0x1f) | h[7]) != 0)
			return -1; /* not the first fragment */
		if (h[9] != IPPROTO_UDP && h[9] != IPPROTO_TCP)
			return -1;
		l4 = (h[0] & 0xf) * 4;
		p->family = AF_INET;
		p->proto = h[9];
	} else if ((h[0] >> 4) == 6) {
		if (h[6] != IPPROTO_UDP && h[6] != IPPROTO_TCP)
			return 1;
		l4 = 40;
		p->family = AF_INET6;
		p->proto = h[6];
	} else {
		return -1;
	}
	ports = data + l4;
	if (l4 < 20 || (void *)(ports + 2) > end)
		return 1;
	p->sport = bpf_ntohs(ports[0]);
	p->dport = bpf_ntohs(ports[1]);
	if (!is_dns_port(dir == DNS_DIR_QUERY ? p->dport : p->sport))
		return -1;
	p->l4 = l4;
	if (p->family == AF_INET) {
		__builtin_memcpy(p->saddr, h + 12, 4);
		__builtin_memcpy(p->daddr, h + 16, 4);
	} else {
		__builtin_memcpy(p->saddr, h + 8, 16);
		__builtin_memcpy(p->daddr, h + 24, 16);
	}
	/* UDP: its length and the DNS id and flags too, when they are in the linear data
	 * (they are for what a socket sends or receives whole). */
	if (p->proto == IPPROTO_UDP && (void *)((__u8 *)ports + 12) <= end) {
		__u8 *u = (__u8 *)ports;

		p->udp_len = (__u16)u[4] << 8 | u[5];
		__builtin_memcpy(p->dns, u + 8, 4);
		p->direct = 1;
	}
	return 0;
}

/* The slow path, through bpf_skb_load_bytes: IPv6 extension headers (hop-by-hop,
 * routing, destination options, fragment) are skipped. Same results as parse_fast. */
static __always_inline int parse_slow(struct __sk_buff *skb, struct dns_pkt *p, int dir)
{
	__u8 h[40], ext[2];
	__u16 ports[2];
	__u32 off;
	__u8 next;

	if (bpf_skb_load_bytes(skb, 0, h, 20) < 0)
		return -1;
	if ((h[0] >> 4) == 4) {
		if ((h[0] & 0xf) < 5 || ((h[6] & 0x1f) | h[7]) != 0)
			return -1;
		off = (h[0] & 0xf) * 4;
		next = h[9];
		p->family = AF_INET;
		__builtin_memcpy(p->saddr, h + 12, 4);
		__builtin_memcpy(p->daddr, h + 16, 4);
	} else if ((h[0] >> 4) == 6) {
		if (bpf_skb_load_bytes(skb, 0, h, sizeof(h)) < 0)
			return -1;
		off = sizeof(h);
		next = h[6];
		p->family = AF_INET6;
		__builtin_memcpy(p->saddr, h + 8, 16);
		__builtin_memcpy(p->daddr, h + 24, 16);
		for (int i = 0; i < IP6_EXT_MAX; i++) {
			if (next != 0 && next != 43 && next != 60 && next != 44)
				break;
			if (bpf_skb_load_bytes(skb, off, ext, sizeof(ext)) < 0)
				return -1;
			off += next == 44 ? 8 : (ext[1] + 1) * 8;
			next = ext[0];
		}
	} else {
		return -1;
	}
	if (next != IPPROTO_UDP && next != IPPROTO_TCP)
		return -1;
	if (bpf_skb_load_bytes(skb, off, ports, sizeof(ports)) < 0)
		return -1;
	p->l4 = off;
	p->proto = next;
	p->sport = bpf_ntohs(ports[0]);
	p->dport = bpf_ntohs(ports[1]);
	return is_dns_port(dir == DNS_DIR_QUERY ? p->dport : p->sport) ? 0 : -1;
}

/* The token bucket of tapio_ratelimit.h; cost is capped at the burst so that a query
 * paying for its response can pass even at the smallest rates. */
static __always_inline int rate_take(__u64 now, __u64 cost)
{
	__u32 zero = 0;
	struct tp_cpu_state *st = bpf_map_lookup_elem(&tp_state, &zero);

	if (!st)
		return 0;
	if (tp_limits.burst_ns && cost > tp_limits.burst_ns)
		cost = tp_limits.burst_ns;
	return tp_bucket_take(&st->bucket, now, cost, tp_limits.burst_ns);
}

/* 1 while new queries arrive faster than the threshold (this CPU's share of it). */
static __always_inline int over_threshold(__u64 now)
{
	__u32 zero = 0;
	struct tp_bucket *meter;

	if (dns_settings.meter_cost_ns == 0)
		return 0;
	meter = bpf_map_lookup_elem(&dns_meter, &zero);
	if (!meter)
		return 0;
	return !tp_bucket_take(meter, now, dns_settings.meter_cost_ns, dns_settings.meter_burst_ns);
}

static __always_inline void count_refusal(__u32 verdict)
{
	tp_count(verdict == V_SAMPLED ? TP_CNT_SAMPLED_OUT : TP_CNT_RATE_LIMITED);
}

/* A new query: sampling over the threshold, then the rate limit (for two records). */
static __always_inline __u32 decide(__u64 now, __u32 *flags)
{
	__u32 zero = 0;
	struct tp_cpu_state *st;

	*flags = 0;
	if (tp_limits.sample_every > 1 && over_threshold(now)) {
		st = bpf_map_lookup_elem(&tp_state, &zero);
		if (!st || !tp_sample_keep(&st->sample_counter, tp_limits.sample_every))
			return V_SAMPLED;
		*flags = DNS_F_SAMPLED;
	}
	if (!rate_take(now, 2 * tp_limits.cost_ns))
		return V_LIMITED;
	return V_EMIT;
}

static __always_inline __u64 mix(__u64 h, __u64 w)
{
	h ^= w;
	h *= 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

/* Seeded at load: ids and ports chosen by a process cannot aim at one slot. */
static __always_inline __u64 key_hash(const struct dns_key *k)
{
	const __u64 *w = (const __u64 *)k;
	__u64 h = dns_settings.hash_seed;

	for (int i = 0; i < (int)(sizeof(*k) / 8); i++)
		h = mix(h, w[i]);
	return h;
}

static __always_inline __u64 *slot_of(const struct dns_key *k, __u64 *tag)
{
	__u64 h = key_hash(k);
	__u32 idx = (__u32)(h % DNS_INFLIGHT_ENTRIES);

	*tag = (h & SLOT_TAG) | SLOT_USED;
	return bpf_map_lookup_elem(&dns_inflight, &idx);
}

static __always_inline __u64 slot_time(__u64 now)
{
	return (now >> SLOT_TIME_UNIT) & SLOT_TIME_MASK;
}

/* The slot holds this query, sent less than the timeout ago. */
static __always_inline int slot_live(__u64 v, __u64 tag, __u64 now)
{
	__u64 age = (slot_time(now) - (v >> 3)) & SLOT_TIME_MASK;

	return (v & SLOT_TAG) == tag && age <= (dns_settings.timeout_ns >> SLOT_TIME_UNIT);
}

static __always_inline int admit_query(const struct dns_key *k, __u64 now, __u32 *flags)
{
	__u64 tag, v, *slot = slot_of(k, &tag);
	__u32 verdict;

	if (!slot)
		return 0;
	v = *(volatile __u64 *)slot;
	if (slot_live(v, tag, now)) {
		/* A retransmission shares the first transmission's fate. */
		*flags = (v & SLOT_SAMPLED ? DNS_F_SAMPLED : 0) | DNS_F_RETRANSMIT;
		if ((v & SLOT_VERDICT) != V_EMIT) {
			count_refusal(v & SLOT_VERDICT);
			return 0;
		}
		if (!rate_take(now, tp_limits.cost_ns)) {
			tp_count(TP_CNT_RATE_LIMITED);
			return 0;
		}
		return 1;
	}
	verdict = decide(now, flags);
	*(volatile __u64 *)slot =
		tag | slot_time(now) << 3 | (*flags & DNS_F_SAMPLED ? SLOT_SAMPLED : 0) | verdict;
	if (verdict != V_EMIT) {
		count_refusal(verdict);
		return 0;
	}
	return 1;
}

static __always_inline int admit_response(const struct dns_key *k, __u64 now, __u32 *flags)
{
	__u64 tag, v, *slot = slot_of(k, &tag);

	if (!slot)
		return 0;
	v = *(volatile __u64 *)slot;
	if ((v & SLOT_TAG) == tag) {
		*(volatile __u64 *)slot = 0;
		*flags = v & SLOT_SAMPLED ? DNS_F_SAMPLED : 0;
		if ((v & SLOT_VERDICT) == V_EMIT)
			return 1;
		count_refusal(v & SLOT_VERDICT);
		return 0;
	}
	/* Its query was sent before the sensor started, or lost its slot. */
	tp_count(DNS_CNT_UNMATCHED);
	if (!rate_take(now, tp_limits.cost_ns)) {
		tp_count(TP_CNT_RATE_LIMITED);
		return 0;
	}
	*flags = DNS_F_UNMATCHED;
	return 1;
}

static __always_inline struct dns_sock *sock_state(struct __sk_buff *skb, __u64 create)
{
	struct bpf_sock *sk = skb->sk;
	struct dns_sock *s = NULL;

	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (sk)
		s = bpf_sk_storage_get(&dns_socks, sk, 0, create);
	if (!s && create)
		tp_count(DNS_CNT_SOCK_STORAGE);
	return s;
}

/* Who the record is about, for a message that passed admission (so that refused
 * traffic costs none of this). A query: the sending task, remembered as the socket's
 * owner for its responses. A response: that owner, when the socket has one. */
static __always_inline void resolve_owner(struct __sk_buff *skb, int dir, struct dns_owner *o)
{
	struct dns_sock *s;

	if (o->set)
		return;
	if (dir == DNS_DIR_QUERY) {
		owner_from_task(o);
		s = sock_state(skb, BPF_SK_STORAGE_GET_F_CREATE);
		if (s)
			s->owner = *o;
		return;
	}
	s = sock_state(skb, 0);
	if (s && s->owner.set)
		*o = s->owner;
}

static __always_inline void fill_header(struct tp_event_header *h, const struct dns_owner *o,
					__u64 now, __u16 type)
{
	h->ts_ns = now;
	h->cgroup_id = o->cgroup_id;
	h->start_ns = o->start_ns;
	h->pid = o->pid;
	h->tid = o->tid;
	h->type = type;
	h->flags = 0;
	h->size = sizeof(struct dns_record);
	__builtin_memcpy(h->comm, o->comm, sizeof(h->comm));
}

static __always_inline void fill_record(struct __sk_buff *skb, struct dns_record *e,
					const struct dns_pkt *p, const struct dns_msg *m,
					const struct dns_owner *o, __u32 flags, __u32 size)
{
	fill_header(&e->h, o, p->now,
		    m->dir == DNS_DIR_QUERY ? TP_EV_DNS_QUERY : TP_EV_DNS_RESPONSE);
	e->h.size = size;
	if (!o->set) /* no owner known: at least the socket's cgroup (its container) */
		e->h.cgroup_id = bpf_skb_cgroup_id(skb);
	e->family = p->family;
	e->proto = p->proto;
	e->direction = m->dir;
	e->flags = flags | (m->dir == DNS_DIR_RESPONSE && o->set ? DNS_F_OWNER : 0);
	e->sample_every = flags & DNS_F_SAMPLED ? tp_limits.sample_every : 0;
	e->netns = o->netns;
	e->pad = 0;
	e->wirelen = m->wirelen;
	if (m->dir == DNS_DIR_QUERY) {
		e->client_port = p->sport;
		e->server_port = p->dport;
		__builtin_memcpy(e->client, p->saddr, 16);
		__builtin_memcpy(e->server, p->daddr, 16);
	} else {
		e->client_port = p->dport;
		e->server_port = p->sport;
		__builtin_memcpy(e->client, p->daddr, 16);
		__builtin_memcpy(e->server, p->saddr, 16);
	}
}

/* Copies 1..cap bytes of the message (avail >= a DNS header here) and sends the record.
 * cap is a power of two; the mask keeps the verifier's bound on the length through
 * clang's code. */
#define COPY_AND_SUBMIT(skb, e, m, cap)                                                            \
	do {                                                                                       \
		__u32 n = ((m)->avail > (cap) ? (cap) : (m)->avail) - 1;                           \
		asm volatile("%[n] &= %[mask]" : [n] "+r"(n) : [mask] "i"((cap)-1));               \
		if (bpf_skb_load_bytes(skb, (m)->off, (e)->data, n + 1) < 0) {                     \
			tp_count(TP_CNT_READ_ERROR);                                               \
			tp_discard(e);                                                             \
			break;                                                                     \
		}                                                                                  \
		(e)->caplen = n + 1;                                                               \
		if ((m)->avail > (cap) || (m)->avail < (m)->wirelen)                               \
			(e)->h.flags |= TP_F_TRUNCATED;                                            \
		tp_submit(skb, e, DNS_RECORD_FIXED + n + 1);                                       \
	} while (0)

/* Two sizes of record, so that the common short message takes a third of the ring
 * buffer space a full capture does (a reservation's size must be a constant). */
static __always_inline void emit(struct __sk_buff *skb, const struct dns_pkt *p,
				 const struct dns_msg *m, const struct dns_owner *o, __u32 flags)
{
	struct dns_record *e;

	if (m->avail <= DNS_CAPTURE_SHORT) {
		e = tp_reserve(DNS_RECORD_FIXED + DNS_CAPTURE_SHORT);
		if (!e)
			return;
		fill_record(skb, e, p, m, o, flags, DNS_RECORD_FIXED + DNS_CAPTURE_SHORT);
		COPY_AND_SUBMIT(skb, e, m, DNS_CAPTURE_SHORT);
		return;
	}
	e = tp_reserve(sizeof(*e));
	if (!e)
		return;
	fill_record(skb, e, p, m, o, flags, sizeof(*e));
	COPY_AND_SUBMIT(skb, e, m, DNS_CAPTURE);
}

/* A DNS message at m->off: checks it is one of a client (a query out, a response in),
 * admits it and emits it. o: the owner when already known (TCP), else unset. */
static __noinline void handle_msg(struct __sk_buff *skb, const struct dns_pkt *p,
				  const struct dns_msg *m, struct dns_owner *o)
{
	struct dns_key k = {};
	__u8 hdr[4];
	__u32 flags = 0;
	int ok;

	if (m->avail < DNS_HEADER_LEN) {
		tp_count(DNS_CNT_SHORT);
		return;
	}
	if (m->have_hdr) {
		__builtin_memcpy(hdr, m->hdr, sizeof(hdr));
	} else if (bpf_skb_load_bytes(skb, m->off, hdr, sizeof(hdr)) < 0) {
		tp_count(TP_CNT_READ_ERROR);
		return;
	}
	if ((hdr[2] >> 7) != m->dir)
		return; /* a local server's side of a lookup */
	k.family = p->family;
	k.proto = p->proto;
	k.id = (__u16)hdr[0] << 8 | hdr[1];
	if (m->dir == DNS_DIR_QUERY) {
		k.client_port = p->sport;
		k.server_port = p->dport;
		__builtin_memcpy(k.client, p->saddr, 16);
		__builtin_memcpy(k.server, p->daddr, 16);
		ok = admit_query(&k, p->now, &flags);
	} else {
		k.client_port = p->dport;
		k.server_port = p->sport;
		__builtin_memcpy(k.client, p->daddr, 16);
		__builtin_memcpy(k.server, p->saddr, 16);
		ok = admit_response(&k, p->now, &flags);
	}
	if (!ok)
		return;
	resolve_owner(skb, m->dir, o);
	emit(skb, p, m, o, flags);
}

static __always_inline void handle_udp(struct __sk_buff *skb, const struct dns_pkt *p, int dir)
{
	struct dns_owner o = {};
	struct dns_msg m = {.dir = dir};
	__u16 h[4];
	__u32 ulen;

	if (p->direct) {
		ulen = p->udp_len;
		__builtin_memcpy(m.hdr, p->dns, sizeof(m.hdr));
		m.have_hdr = 1;
	} else if (bpf_skb_load_bytes(skb, p->l4, h, sizeof(h)) < 0) {
		return;
	} else {
		ulen = bpf_ntohs(h[2]);
	}
	m.off = p->l4 + 8;
	if (ulen < 8 || p->len < m.off)
		return;
	m.wirelen = ulen - 8;
	m.avail = p->len - m.off < m.wirelen ? p->len - m.off : m.wirelen;
	handle_msg(skb, p, &m, &o);
}

/* Walks the messages of one TCP segment (payload [off, off + plen), first byte at seq),
 * starting where the stream state says the next one begins. */
static __always_inline void tcp_messages(struct __sk_buff *skb, const struct dns_pkt *p,
					 struct dns_tcp_dir *st, __u32 seq, __u32 off, __u32 plen,
					 int dir, struct dns_owner *o)
{
	struct dns_msg m = {.dir = dir};
	__u32 pos = 0, mlen;
	__u16 prefix;
	__s32 d;

	if (st->mode != TCP_SYNC_NONE) {
		d = (__s32)(st->next - seq);
		if (d < 0 || (__u32)d >= plen)
			return; /* continues a message, repeats old data, or arrived early */
		pos = d;
	} else {
		st->mode = TCP_AT_PREFIX; /* first data seen: it starts with a message */
	}
	for (int i = 0; i < DNS_TCP_MSGS_PER_SEGMENT; i++) {
		if (st->mode == TCP_AT_PREFIX) {
			if (plen - pos < 2) {
				st->mode = TCP_SYNC_NONE; /* the prefix is split: resync */
				tp_count(DNS_CNT_TCP_DESYNC);
				return;
			}
			if (bpf_skb_load_bytes(skb, off + pos, &prefix, 2) < 0)
				return;
			mlen = bpf_ntohs(prefix);
			pos += 2;
			if (pos == plen) {
				st->mode = TCP_AT_BODY;
				st->pending = mlen;
				st->next = seq + pos;
				return;
			}
		} else {
			mlen = st->pending;
		}
		m.off = off + pos;
		m.avail = plen - pos < mlen ? plen - pos : mlen;
		m.wirelen = mlen;
		handle_msg(skb, p, &m, o);
		pos += mlen;
		st->mode = TCP_AT_PREFIX;
		st->next = seq + pos;
		if (pos >= plen)
			return;
	}
}

static __always_inline void handle_tcp(struct __sk_buff *skb, const struct dns_pkt *p, int dir)
{
	struct dns_tcp_dir local = {}, *st = &local;
	struct dns_owner o = {};
	struct dns_sock *s;
	__u8 th[20];
	__u32 off, seq;
	int syn;

	if (bpf_skb_load_bytes(skb, p->l4, th, sizeof(th)) < 0)
		return;
	off = p->l4 + (th[12] >> 4) * 4;
	syn = dir == DNS_DIR_QUERY && (th[13] & 0x02);
	if (p->len <= off && !syn)
		return; /* no payload: ACK, FIN */
	s = sock_state(skb, BPF_SK_STORAGE_GET_F_CREATE);
	/* connect() sends the SYN in the task's own context; later segments may leave from
	 * softirq, so the owner seen at the SYN is kept for the connection. */
	if (s && (syn || (dir == DNS_DIR_QUERY && !s->owner.set)))
		owner_from_task(&s->owner);
	if (s && s->owner.set)
		o = s->owner;
	if (p->len <= off)
		return;
	seq = (__u32)th[4] << 24 | (__u32)th[5] << 16 | (__u32)th[6] << 8 | th[7];
	if (s)
		st = &s->tcp[dir & 1];
	tcp_messages(skb, p, st, seq, off, p->len - off, dir, &o);
}

static __always_inline void handle(struct __sk_buff *skb, int dir)
{
	struct dns_pkt p = {};
	int rc = parse_fast(skb, &p, dir);

	if (rc > 0)
		rc = parse_slow(skb, &p, dir);
	if (rc < 0)
		return;
	p.len = skb->len;
	p.now = bpf_ktime_get_ns();
	if (p.proto == IPPROTO_UDP)
		handle_udp(skb, &p, dir);
	else
		handle_tcp(skb, &p, dir);
}

SEC("cgroup_skb/egress")
int dns_egress(struct __sk_buff *skb)
{
	handle(skb, DNS_DIR_QUERY);
	return 1; /* observe only: always let the packet pass */
}

SEC("cgroup_skb/ingress")
int dns_ingress(struct __sk_buff *skb)
{
	handle(skb, DNS_DIR_RESPONSE);
	return 1;
}
