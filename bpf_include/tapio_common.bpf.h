/* tapio_common.bpf.h - what every Tapio BPF program shares.
 *
 * Owns: the standard includes, the null-checking read wrappers, the event output path
 * (ring buffer, or the perf buffer fallback for kernels before 5.8), the admission
 * check (1:N sampling, then the token bucket) and the per-CPU counters that make every
 * drop visible. Each BPF object gets its own copy of these maps; the sensor finds them
 * by name ("events", "tp_counters", "tp_state", "tp_scratch").
 */
#ifndef TAPIO_COMMON_BPF_H
#define TAPIO_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#include "tapio_event.h"
#include "tapio_ratelimit.h"

#define MAX_STACK_DEPTH TP_MAX_STACK_DEPTH
#define MAX_STRING_SIZE TP_MAX_STRING_SIZE
#define TASK_COMM_LEN TP_TASK_COMM_LEN

#ifndef TP_SCRATCH_SIZE
#define TP_SCRATCH_SIZE 4096 /* largest record of the object, for the perf fallback */
#endif

char LICENSE[] SEC("license") = "GPL";

/* Set by the sensor before load. */
const volatile struct tp_limits tp_limits = {};

/* The output channel. The sensor turns it into a PERF_EVENT_ARRAY when the kernel has no
 * ring buffer or the perf buffer is forced; its size is set per observer at load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TP_RINGBUF_MEDIUM);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TP_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tp_counters SEC(".maps");

struct tp_cpu_state {
	struct tp_bucket bucket;
	__u64 sample_counter;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tp_cpu_state);
} tp_state SEC(".maps");

struct tp_scratch_buf {
	__u8 data[TP_SCRATCH_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tp_scratch_buf);
} tp_scratch SEC(".maps");

static __always_inline void tp_count(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&tp_counters, &slot);

	if (v)
		*v += 1; /* per-CPU slot: no other writer */
}

/* The seed's safety template: never hand a NULL source to a probe read. */
static __always_inline int safe_probe_read(void *dst, __u32 size, const void *src)
{
	if (!src)
		return -1;
	return bpf_probe_read_kernel(dst, size, src);
}

static __always_inline int safe_probe_read_str(void *dst, __u32 size, const void *src)
{
	if (!src)
		return -1;
	return bpf_probe_read_kernel_str(dst, size, src);
}

static __always_inline int safe_probe_read_user(void *dst, __u32 size, const void *src)
{
	if (!src)
		return -1;
	return bpf_probe_read_user(dst, size, src);
}

static __always_inline int safe_probe_read_user_str(void *dst, __u32 size, const void *src)
{
	if (!src)
		return -1;
	return bpf_probe_read_user_str(dst, size, src);
}

/* The clock a token bucket reads. coarse_ok: the caller's program type may call
 * bpf_ktime_get_coarse_ns (5.11+; not tracing programs, which may run inside the
 * timekeeping code), a constant at every call. A bucket refilled a tick at a time admits
 * as many events per second, and on a packet's path the precise clock cost more than the
 * rest of the decision. Where the kernel lacks the helper the sensor leaves coarse_clock
 * 0 and the verifier drops the call as dead code. Readings of both clocks may meet in
 * one bucket: one behind its last update counts as no time passed (tapio_ratelimit.h). */
static __always_inline __u64 tp_bucket_clock(const int coarse_ok)
{
	if (coarse_ok && tp_limits.coarse_clock)
		return bpf_ktime_get_coarse_ns();
	return bpf_ktime_get_ns();
}

/* Sampling first (cheap, deterministic), then the token bucket at `now`: a reading the
 * caller has already taken, or 0 to read tp_bucket_clock (only for an event sampling
 * keeps; clock reads are dear on some virtual machines). Returns 1 to emit. Each refusal
 * is counted under its reason. coarse_ok: see tp_bucket_clock. */
static __always_inline int tp_admit_at(__u64 now, const int coarse_ok)
{
	__u32 zero = 0;
	struct tp_cpu_state *st = bpf_map_lookup_elem(&tp_state, &zero);

	if (!st)
		return 0;
	if (!tp_sample_keep(&st->sample_counter, tp_limits.sample_every)) {
		tp_count(TP_CNT_SAMPLED_OUT);
		return 0;
	}
	if (!now)
		now = tp_bucket_clock(coarse_ok);
	if (!tp_bucket_take(&st->bucket, now, tp_limits.cost_ns, tp_limits.burst_ns)) {
		tp_count(TP_CNT_RATE_LIMITED);
		return 0;
	}
	return 1;
}

/* Whether the token bucket would refuse an event now (sampling aside), with nothing
 * charged: a caller skips the work of an event that could not pass. coarse_ok: see
 * tp_bucket_clock. */
static __always_inline int tp_bucket_dry(const int coarse_ok)
{
	__u32 zero = 0;
	struct tp_cpu_state *st = bpf_map_lookup_elem(&tp_state, &zero);

	return st && !tp_bucket_can_pay(&st->bucket, tp_bucket_clock(coarse_ok), tp_limits.cost_ns,
					tp_limits.burst_ns);
}

static __always_inline int tp_admit(void)
{
	return tp_admit_at(0, 0);
}

/* Space for one record of `size` bytes (a compile-time constant), or NULL (counted). */
static __always_inline void *tp_reserve(__u32 size)
{
	__u32 zero = 0;
	void *e;

	if (tp_limits.use_perfbuf) {
		if (size > TP_SCRATCH_SIZE)
			return NULL;
		return bpf_map_lookup_elem(&tp_scratch, &zero);
	}
	e = bpf_ringbuf_reserve(&events, size, 0);
	if (!e)
		tp_count(TP_CNT_RINGBUF_FULL);
	return e;
}

/* Hands a reserved record to user space. `size` is the number of bytes to send: the
 * perf path may send less than was reserved. */
static __always_inline void tp_submit(void *ctx, void *e, __u32 size)
{
	if (tp_limits.use_perfbuf) {
		__u64 n = size;

		/* The register handed to the helper is the one bounded: a size the compiler
		 * recomputes (or narrows to 32 bits) loses the bounds the verifier saw. */
		asm volatile("%[n] &= 0xffff" : [n] "+r"(n));
		if (n > TP_SCRATCH_SIZE)
			n = TP_SCRATCH_SIZE;
		if (bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, n) < 0) {
			tp_count(TP_CNT_RINGBUF_FULL);
			return;
		}
	} else {
		/* Waking user space per record costs more than the record at high rates: wake
		 * it when enough has piled up (output.c also drains on a timer). */
		__u64 waiting = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

		bpf_ringbuf_submit(e, waiting >= tp_limits.wakeup_bytes ? BPF_RB_FORCE_WAKEUP
									: BPF_RB_NO_WAKEUP);
	}
	tp_count(TP_CNT_EMITTED);
}

static __always_inline void tp_discard(void *e)
{
	if (!tp_limits.use_perfbuf)
		bpf_ringbuf_discard(e, 0);
}

/* Fills the common header for the current task. */
static __always_inline void tp_fill_header(struct tp_event_header *h, __u16 type, __u32 size)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();

	h->ts_ns = bpf_ktime_get_ns();
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->start_ns = BPF_CORE_READ(task, group_leader, start_time);
	h->pid = id >> 32;
	h->tid = (__u32)id;
	h->type = type;
	h->flags = 0;
	h->size = size;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/* Admission, space and header in one step: the record to fill in, or NULL when it is not
 * to be sent (every reason counted). size is a compile-time constant. */
static __always_inline void *tp_begin(__u16 type, __u32 size)
{
	struct tp_event_header *h;

	if (!tp_admit())
		return NULL;
	h = tp_reserve(size);
	if (!h)
		return NULL;
	tp_fill_header(h, type, size);
	return h;
}

#endif
