/* memory.h - records of the memory observer (bpf/memory.bpf.c), shared with
 * sensor/observers/memory/memory.c.
 *
 * Two records: an OOM kill (the victim, its memory, and the chain of memory cgroups from
 * the victim's up to the root, each with usage and limit as the kernel had them when
 * the victim was chosen) and a reclaim stall (a task that had to reclaim memory itself
 * before its allocation could go on). Page counts are in pages; the sensor multiplies by
 * the page size.
 */
#ifndef TAPIO_MEMORY_H
#define TAPIO_MEMORY_H

#include "tapio_event.h"

#define MEM_CG_DEPTH 8		/* memory cgroup levels recorded, from the victim's up */
#define MEM_CG_NAME 128		/* bytes of one cgroup path component */
#define MEM_RECLAIM_TASKS 10240 /* tasks in reclaim at the same time (bounded map) */
#define MEM_STALL_PROCS 10240	/* processes with recent reclaim stalls (bounded map) */
#define MEM_KILL_STASH 256	/* OOM kills between the signal and mark_victim */
#define MEM_ALLOC_ENTRIES 10240 /* outstanding allocations tracked (the seed's 10K) */
#define MEM_ALLOC_SITES 10240	/* (process, stack) allocation sites */
#define MEM_ALLOC_STACKS 8192	/* distinct allocation stacks */
#define MEM_ALLOC_PENDING 10240 /* threads inside an allocator call */

/* Observer-specific counter slots. */
enum mem_counter {
	/* mark_victim of a task the OOM killer did not signal (it was already exiting and
	 * only got access to reserves): not a kill, not streamed. */
	MEM_CNT_OOM_NOT_KILLED = TP_CNT_OBSERVER,
	/* A kill whose memory cgroup chain was deeper than MEM_CG_DEPTH (upper levels cut). */
	MEM_CNT_CG_TRUNCATED,
	/* Reclaim begin could not be remembered (map full): that stall is not measured. */
	MEM_CNT_RECLAIM_TRACK_FULL,
	/* Reclaim end without its begin (started before the sensor, or the entry evicted). */
	MEM_CNT_RECLAIM_UNMATCHED,
	/* Stalls shorter than the streaming threshold: counted in the per-process totals
	 * only (not a loss: below the configured threshold). */
	MEM_CNT_RECLAIM_SHORT,
	/* The per-process stall table was full: that stall is missing from the totals that
	 * pressure events list. */
	MEM_CNT_STALL_TABLE_FULL,
	/* The outstanding-allocation map (MEM_ALLOC_ENTRIES) was full: that allocation is
	 * not tracked (its free is then ignored too). */
	MEM_CNT_ALLOC_MAP_FULL,
	/* No stack for an allocation (stack map full, hash collision, unreadable stack):
	 * it is tracked under the "unknown stack" site. */
	MEM_CNT_ALLOC_STACK_LOST,
	/* The site table was full: that allocation is not tracked. */
	MEM_CNT_ALLOC_SITES_FULL,
	/* Allocator entry could not be remembered until its return: not tracked. */
	MEM_CNT_ALLOC_PENDING_FULL,
	/* Written by the sensor, never by BPF: selected processes it could not track (more
	 * than it tracks at once, or probes that would not attach), and cgroups or
	 * processes that did not fit the prediction and pressure tables. */
	MEM_CNT_USER_UNTRACKED,
	/* Written by the sensor: blocks taken off the books before an allocation window
	 * (--memory-alloc-duty) because a newer block of the process overlaps them: they were
	 * freed while no probe watched. Not a loss; how much the windows' sweep corrects. */
	MEM_CNT_ALLOC_FREES_INFERRED,
};

/* Kinds of reclaim stall. */
enum mem_reclaim_kind {
	MEM_RECLAIM_DIRECT = 1, /* the node ran low: global direct reclaim */
	MEM_RECLAIM_CGROUP = 2, /* a memory cgroup reached its limit (memcg reclaim) */
};

/* One memory cgroup as the kernel had it. */
struct mem_cg_level {
	__u64 id;		 /* kernfs id: the inode of its directory */
	__u64 usage_pages;	 /* page_counter usage of memory */
	__u64 max_pages;	 /* its limit (PAGE_COUNTER_MAX when none) */
	__u64 memsw_usage_pages; /* cgroup v1: memory+swap counter; v2: swap */
	__u64 memsw_max_pages;
	char name[MEM_CG_NAME]; /* last path component */
};

#define MEM_CG_F_V2 0x1	       /* the memory controller is on the default hierarchy */
#define MEM_CG_F_TRUNCATED 0x2 /* the chain went on above cg[MEM_CG_DEPTH - 1] */

/* h describes the victim (pid, tid, comm, start, cgroup v2 id); the record is written
 * in the context of the task whose allocation ran the OOM killer (trigger_*). */
struct mem_oom_event {
	struct tp_event_header h;
	__u32 trigger_pid;
	__u32 trigger_tid;
	char trigger_comm[TP_TASK_COMM_LEN];
	__u64 total_vm_pages;
	__u64 rss_anon_pages;
	__u64 rss_file_pages;
	__u64 rss_shmem_pages;
	__s32 oom_score_adj;
	__u32 uid;
	__u32 cg_levels; /* entries used in cg[]: cg[0] is the victim's memory cgroup */
	__u32 cg_flags;	 /* MEM_CG_F_* */
	struct mem_cg_level cg[MEM_CG_DEPTH];
};

/* A reclaim stall at least as long as the configured threshold; h is the stalled task,
 * h.ts_ns the end of the stall. */
struct mem_reclaim_event {
	struct tp_event_header h;
	__u64 duration_ns;
	__u64 nr_reclaimed; /* pages */
	__u32 kind;	    /* enum mem_reclaim_kind */
	__u32 order;	    /* allocation order that stalled */
};

/* Reclaim stalls of one process (key: tgid) in a two-bucket window of
 * mem_stall_window_ns: `cur` since cur_start, `prev` the bucket before it. Pressure
 * events list what the last one to two windows held. */
struct mem_stall_stat {
	__u64 cur_start;
	__u64 cur_ns;
	__u64 prev_ns;
	__u64 last_ns; /* end of the last stall */
	__u64 cgroup_id;
	__u32 cur_count;
	__u32 prev_count;
	char comm[TP_TASK_COMM_LEN];
};

/* ---- allocation tracking (uprobes on libc, attached per selected process) ---------- */

enum mem_alloc_kind {
	MEM_ALLOC_MALLOC = 1,
	MEM_ALLOC_CALLOC,
	MEM_ALLOC_REALLOC,
	MEM_ALLOC_MMAP,
};

/* An outstanding allocation. */
struct mem_alloc_key {
	__u32 pid;
	__u32 pad;
	__u64 addr;
};

struct mem_alloc_info {
	__u64 size;
	__u64 ts_ns;
	__s32 stack_id; /* in mem_alloc_stacks, -1 when none */
	__u32 kind;	/* enum mem_alloc_kind */
};

/* Allocations of one process from one stack. */
struct mem_site_key {
	__u32 pid;
	__s32 stack_id;
};

struct mem_site_stat {
	__s64 bytes;	   /* outstanding */
	__s64 count;	   /* outstanding allocations */
	__u64 total_bytes; /* allocated since tracking began */
	__u64 total_count;
};

#endif
