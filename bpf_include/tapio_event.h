/* tapio_event.h - event layout shared by the BPF programs and the sensor.
 *
 * Owns: the common event header every observer's record starts with, the global event
 * type numbers, the per-CPU counter slots (drop reasons), the ring buffer size classes
 * and the string bounds. Fixed-width types only: both sides compile this file.
 */
#ifndef TAPIO_EVENT_H
#define TAPIO_EVENT_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define TP_TASK_COMM_LEN 16
#define TP_MAX_STRING_SIZE 256
#define TP_MAX_STACK_DEPTH 20

/* Ring buffer size classes (the seed's LOW / MEDIUM / HIGH). */
#define TP_RINGBUF_LOW (128 * 1024)
#define TP_RINGBUF_MEDIUM (256 * 1024)
#define TP_RINGBUF_HIGH (512 * 1024)

/* Event types, unique across observers; the observer's block of 16 starts at
 * 16 * observer number. Numbers are stable: they are the kernel/user ABI. */
enum tp_event_type {
	TP_EV_NONE = 0,
	TP_EV_PROCESS_EXEC = 16,
	TP_EV_PROCESS_EXIT = 17,
	TP_EV_PROCESS_FORK = 18,
	TP_EV_PROCESS_FORK_FAILED = 19,
	TP_EV_DNS_QUERY = 32, /* dns observer (2): 32-47 */
	TP_EV_DNS_RESPONSE = 33,
	TP_EV_NET_CONNECT = 48, /* network observer (3): 48-63 */
	TP_EV_NET_ACCEPT = 49,
	TP_EV_NET_CLOSE = 50,
	TP_EV_NET_RETRANSMIT = 51,
	TP_EV_NET_RESET = 52,
	TP_EV_NET_DROP = 53,
	TP_EV_NET_DATA = 54,
	TP_EV_MEMORY_OOM_KILL = 64, /* memory observer (4): 64-79 */
	TP_EV_MEMORY_RECLAIM = 65,
};

/* Per-CPU counter slots, one array per BPF object. Slots from TP_CNT_OBSERVER on are
 * the observer's own (named by its sensor side). */
enum tp_counter {
	TP_CNT_EMITTED = 0,  /* records handed to the ring buffer */
	TP_CNT_RINGBUF_FULL, /* reserve failed: user space fell behind */
	TP_CNT_RATE_LIMITED, /* token bucket empty */
	TP_CNT_SAMPLED_OUT,  /* not the 1-in-N sample */
	TP_CNT_READ_ERROR,   /* a kernel/user memory read failed; event sent partial */
	TP_CNT_OBSERVER,     /* first observer-specific slot */
	TP_CNT_MAX = 24,
};

/* Flags in tp_event_header.flags. */
#define TP_F_TRUNCATED 0x1 /* a bounded field was cut */

/* The header every record starts with. */
struct tp_event_header {
	__u64 ts_ns;	 /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 cgroup_id; /* cgroup v2 id of the task (0 without a unified hierarchy) */
	__u64 start_ns;	 /* start of the process (group leader), CLOCK_MONOTONIC: with pid,
			  * it tells a reused pid from the process the sensor cached */
	__u32 pid;	 /* thread group id */
	__u32 tid;	 /* thread id */
	__u16 type;	 /* enum tp_event_type */
	__u16 flags;	 /* TP_F_* */
	__u32 size;	 /* bytes of the whole record, header included */
	char comm[TP_TASK_COMM_LEN];
};

/* Load-time limits of one BPF object (const volatile rodata, set by the sensor). */
struct tp_limits {
	__u64 cost_ns;	    /* token cost: 1e9 * nr_cpus / rate; 0 = unlimited */
	__u64 burst_ns;	    /* bucket capacity in the same unit */
	__u32 sample_every; /* keep 1 of every N events; 0 or 1 = keep all */
	__u32 use_perfbuf;  /* 1: emit through the perf buffer instead of the ring buffer */
	/* Ring buffer: wake the sensor only once this many bytes wait (0: on every record);
	 * it drains on a timer too, so a quiet stream is not held back for long. */
	__u32 wakeup_bytes;
	/* 1: the token buckets read bpf_ktime_get_coarse_ns (5.11+), precise to a tick,
	 * which costs a fraction of the precise clock (see tp_bucket_clock). */
	__u32 coarse_clock;
};

#endif
