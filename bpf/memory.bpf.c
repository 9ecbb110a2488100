/* memory.bpf.c - OOM kills and reclaim stalls, from raw tracepoints (no tracefs needed).
 *
 * OOM kill: the OOM killer sends the victim SIGKILL (signal_generate, kernel-private
 * siginfo) and then marks it (oom:mark_victim), both from the task whose allocation
 * failed. Before 6.8 (and Debian's 6.1 backport) mark_victim carries only the victim's
 * tid, so the victim task comes from the signal, remembered per killing thread; a mark
 * without that signal is a task the OOM killer let finish exiting, not a kill. From the
 * victim the record takes its memory (mm counters) and the chain of its memory cgroups
 * with usage and limit: which of them was at its limit tells a cgroup OOM from a
 * system-wide one (the sensor decides, see observers/memory/mem_oom.c). OOM kills are not
 * rate limited: the kernel serialises them and each one costs a process.
 *
 * Reclaim stalls: mm_vmscan_direct_reclaim_begin/end (the node ran low) and
 * mm_vmscan_memcg_reclaim_begin/end (a memory cgroup reached its limit) bracket the time
 * a task spent reclaiming instead of running. Every stall adds to its process's totals
 * (mem_stall_stats, read by the sensor when a pressure trigger fires); stalls of at least
 * mem_reclaim_min_ns are streamed, under the observer's rate limit.
 *
 * Allocation tracking: uprobes on libc's malloc, calloc, realloc, free, mmap and munmap,
 * attached by the sensor to the selected processes only (a uprobe attached with a pid is
 * never hit by another process). The allocator's return (uretprobe) records the block
 * in mem_allocs (bounded, the seed's 10K; a full map is counted) with the user stack of
 * its caller, deduplicated by mem_alloc_stacks, and adds it to its site (process,
 * stack) in mem_sites; free and munmap take it back off. Taken at the return, the stack's
 * first frame is the allocator's caller (at the entry the frame-pointer walk would skip
 * it). An mmap inside malloc (large blocks) is the allocator's own business and is not
 * counted twice. With mem_alloc_sample N > 1 only blocks whose address hashes to 0 mod N
 * are tracked: frees of the others return at once.
 *
 * Every kernel struct read goes through CO-RE; fields that moved between 5.10 and 6.18
 * (mm rss counters, kernfs ids, the mark_victim arguments) are chosen by field checks.
 */
#include "vmlinux.h"
#include "memory.h"
#define TP_SCRATCH_SIZE sizeof(struct mem_oom_event)
#include "tapio_common.bpf.h"
#include "tapio_task.bpf.h"

#define SIGKILL 9
#define SEND_SIG_PRIV 1UL /* ((struct kernel_siginfo *)1): a signal the kernel sent */

/* Set by the sensor before load. */
const volatile __u64 mem_reclaim_min_ns = 1000000;
const volatile __u64 mem_stall_window_ns = 1000000000;
const volatile __u32 mem_alloc_sample = 1;
/* Written by the sensor: 0 once a window of time-sampled tracking has closed, while its
 * probes are still going (a block allocated then might lose its free). */
__u32 mem_alloc_window_open = 1;

/* A victim the OOM killer just signalled, by the killing thread's tid. */
struct kill_stash {
	__u64 task; /* struct task_struct * of the victim */
	__u32 victim_tid;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MEM_KILL_STASH);
	__type(key, __u32);
	__type(value, struct kill_stash);
} kill_stash SEC(".maps");

struct reclaim_start {
	__u64 ts;
	__u32 kind;
	__u32 order;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MEM_RECLAIM_TASKS);
	__type(key, __u32);
	__type(value, struct reclaim_start);
} reclaim_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MEM_STALL_PROCS);
	__type(key, __u32);
	__type(value, struct mem_stall_stat);
} mem_stall_stats SEC(".maps");

/* ---- OOM kills ------------------------------------------------------------------- */

SEC("raw_tp/signal_generate")
int handle_signal_generate(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *t = (struct task_struct *)ctx->args[2];
	struct kill_stash k = {};
	__u32 tid;

	if ((int)ctx->args[0] != SIGKILL || ctx->args[1] != SEND_SIG_PRIV || !t)
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	k.task = (__u64)t;
	k.victim_tid = BPF_CORE_READ(t, pid);
	bpf_map_update_elem(&kill_stash, &tid, &k, BPF_ANY);
	return 0;
}

/* Before 6.15 kernfs_node's parent pointer was called `parent`. */
struct kernfs_node___pre615 {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

/* Until 6.2 the rss counters were atomics in struct mm_rss_stat, then percpu_counters
 * (whose `count` is what get_mm_counter() reads). */
struct mm_rss_stat___pre62 {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___pre62 {
	struct mm_rss_stat___pre62 rss_stat;
} __attribute__((preserve_access_index));

static __always_inline __u64 mm_counter(struct mm_struct *mm, int member)
{
	long v = 0;

	if (member < 0 || member >= 4)
		return 0;
	if (bpf_core_type_exists(struct mm_rss_stat___pre62))
		v = BPF_CORE_READ((struct mm_struct___pre62 *)mm, rss_stat.count[member].counter);
	else
		v = BPF_CORE_READ(mm, rss_stat[member].count);
	return v > 0 ? (__u64)v : 0;
}

static __always_inline void read_victim_memory(struct task_struct *t, struct mem_oom_event *e)
{
	struct mm_struct *mm = BPF_CORE_READ(t, mm);

	e->oom_score_adj = BPF_CORE_READ(t, signal, oom_score_adj);
	e->uid = BPF_CORE_READ(t, cred, uid.val);
	e->total_vm_pages = 0;
	e->rss_file_pages = 0;
	e->rss_anon_pages = 0;
	e->rss_shmem_pages = 0;
	if (!mm)
		return;
	e->total_vm_pages = BPF_CORE_READ(mm, total_vm);
	/* enum {MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES} is anonymous (no
	 * CO-RE relocation possible) and has not changed since 4.5. */
	e->rss_file_pages = mm_counter(mm, 0);
	e->rss_anon_pages = mm_counter(mm, 1);
	e->rss_shmem_pages = mm_counter(mm, 3);
}

static __always_inline void read_cg_level(struct cgroup_subsys_state *css, struct mem_cg_level *l)
{
	/* css is the first member of struct mem_cgroup; the offset keeps that honest. */
	struct mem_cgroup *memcg = (void *)css - bpf_core_field_offset(struct mem_cgroup, css);
	struct cgroup *cg = BPF_CORE_READ(css, cgroup);
	struct kernfs_node *kn = BPF_CORE_READ(cg, kn);

	l->id = kn ? tp_kn_id(kn) : 0;
	l->usage_pages = BPF_CORE_READ(memcg, memory.usage.counter);
	l->max_pages = BPF_CORE_READ(memcg, memory.max);
	l->memsw_usage_pages = BPF_CORE_READ(memcg, memsw.usage.counter);
	l->memsw_max_pages = BPF_CORE_READ(memcg, memsw.max);
	if (!kn || safe_probe_read_str(l->name, sizeof(l->name), BPF_CORE_READ(kn, name)) < 0)
		l->name[0] = 0;
}

/* The victim's memory cgroup and its ancestors below the root, nearest first. */
static __always_inline void read_cg_chain(struct task_struct *t, struct mem_oom_event *e)
{
	int memory_id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	struct cgroup_subsys_state *css;
	struct cgroup *cg;
	__u32 i;

	if (!bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id) || memory_id < 0 ||
	    memory_id >= 12)
		return;
	css = BPF_CORE_READ(t, cgroups, subsys[memory_id]);
	if (css && BPF_CORE_READ(css, cgroup, root, hierarchy_id) == 0)
		e->cg_flags |= MEM_CG_F_V2; /* the default hierarchy has id 0 */
	for (i = 0; i < MEM_CG_DEPTH; i++) {
		if (!css)
			return;
		cg = BPF_CORE_READ(css, cgroup);
		if (!cg || BPF_CORE_READ(cg, level) == 0)
			return;
		read_cg_level(css, &e->cg[i]);
		e->cg_levels = i + 1;
		css = BPF_CORE_READ(css, parent);
	}
	if (css && BPF_CORE_READ(css, cgroup, level) > 0) {
		e->cg_flags |= MEM_CG_F_TRUNCATED;
		tp_count(MEM_CNT_CG_TRUNCATED);
	}
}

static __always_inline void fill_victim_header(struct mem_oom_event *e, struct task_struct *t)
{
	__u64 id = bpf_get_current_pid_tgid();

	tp_fill_header(&e->h, TP_EV_MEMORY_OOM_KILL, sizeof(*e));
	e->trigger_pid = id >> 32;
	e->trigger_tid = (__u32)id;
	__builtin_memcpy(e->trigger_comm, e->h.comm, sizeof(e->trigger_comm));
	e->h.pid = BPF_CORE_READ(t, tgid);
	e->h.tid = BPF_CORE_READ(t, pid);
	e->h.start_ns = BPF_CORE_READ(t, group_leader, start_time);
	e->h.cgroup_id = tp_task_cgroup_id(t);
	BPF_CORE_READ_STR_INTO(&e->h.comm, t, comm);
}

/* The tid mark_victim names: 6.8+ (and Debian 6.1) pass the task, older kernels its pid. */
static __always_inline __u32 marked_tid(struct bpf_raw_tracepoint_args *ctx)
{
	if (bpf_core_field_exists(struct trace_event_raw_mark_victim, __data_loc_comm))
		return BPF_CORE_READ((struct task_struct *)ctx->args[0], pid);
	return (__u32)ctx->args[0];
}

SEC("raw_tp/mark_victim")
int handle_mark_victim(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct kill_stash *k = bpf_map_lookup_elem(&kill_stash, &tid);
	struct task_struct *victim;
	struct mem_oom_event *e;

	if (!k || k->victim_tid != marked_tid(ctx)) {
		tp_count(MEM_CNT_OOM_NOT_KILLED);
		return 0;
	}
	victim = (struct task_struct *)k->task;
	bpf_map_delete_elem(&kill_stash, &tid);
	e = tp_reserve(sizeof(*e));
	if (!e)
		return 0;
	/* Too big for an inlined memset: every scalar is set below, and the sensor reads
	 * only the cg[] entries counted in cg_levels. */
	e->cg_levels = 0;
	e->cg_flags = 0;
	fill_victim_header(e, victim);
	read_victim_memory(victim, e);
	read_cg_chain(victim, e);
	tp_submit(ctx, e, sizeof(*e));
	return 0;
}

/* ---- reclaim stalls -------------------------------------------------------------- */

static __always_inline int reclaim_begin(__u32 kind, __u32 order)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct reclaim_start r = {.ts = bpf_ktime_get_ns(), .kind = kind, .order = order};

	if (bpf_map_update_elem(&reclaim_start, &tid, &r, BPF_ANY) != 0)
		tp_count(MEM_CNT_RECLAIM_TRACK_FULL);
	return 0;
}

/* Adds one stall to the process's two-bucket window. Threads of one process may race
 * here from several CPUs: the sums are atomic, a bucket turn may lose a stall to the
 * other thread's turn, which only shortens that window's figure. */
static __always_inline void account_stall(__u32 pid, __u64 now, __u64 dur)
{
	struct mem_stall_stat *s = bpf_map_lookup_elem(&mem_stall_stats, &pid), init = {};
	__u64 age;

	if (!s) {
		init.cur_start = now;
		init.cur_ns = dur;
		init.cur_count = 1;
		init.last_ns = now;
		init.cgroup_id = bpf_get_current_cgroup_id();
		bpf_get_current_comm(init.comm, sizeof(init.comm));
		if (bpf_map_update_elem(&mem_stall_stats, &pid, &init, BPF_NOEXIST) != 0)
			tp_count(MEM_CNT_STALL_TABLE_FULL);
		return;
	}
	age = now - s->cur_start;
	if (age >= mem_stall_window_ns) {
		s->prev_ns = age < 2 * mem_stall_window_ns ? s->cur_ns : 0;
		s->prev_count = age < 2 * mem_stall_window_ns ? s->cur_count : 0;
		s->cur_ns = 0;
		s->cur_count = 0;
		s->cur_start = now;
	}
	__sync_fetch_and_add(&s->cur_ns, dur);
	__sync_fetch_and_add(&s->cur_count, 1);
	s->last_ns = now;
}

static __always_inline int reclaim_end(void *ctx, __u64 nr_reclaimed)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns(), dur;
	__u32 tid = (__u32)id;
	struct reclaim_start *r = bpf_map_lookup_elem(&reclaim_start, &tid);
	struct mem_reclaim_event *e;
	__u32 kind, order;

	if (!r) {
		tp_count(MEM_CNT_RECLAIM_UNMATCHED);
		return 0;
	}
	dur = now > r->ts ? now - r->ts : 0;
	kind = r->kind;
	order = r->order;
	bpf_map_delete_elem(&reclaim_start, &tid);
	account_stall(id >> 32, now, dur);
	if (dur < mem_reclaim_min_ns) {
		tp_count(MEM_CNT_RECLAIM_SHORT);
		return 0;
	}
	if (!tp_admit())
		return 0;
	e = tp_reserve(sizeof(*e));
	if (!e)
		return 0;
	tp_fill_header(&e->h, TP_EV_MEMORY_RECLAIM, sizeof(*e));
	e->duration_ns = dur;
	e->nr_reclaimed = nr_reclaimed;
	e->kind = kind;
	e->order = order;
	tp_submit(ctx, e, sizeof(*e));
	return 0;
}

SEC("raw_tp/mm_vmscan_direct_reclaim_begin")
int handle_direct_begin(struct bpf_raw_tracepoint_args *ctx)
{
	return reclaim_begin(MEM_RECLAIM_DIRECT, (__u32)ctx->args[0]);
}

SEC("raw_tp/mm_vmscan_direct_reclaim_end")
int handle_direct_end(struct bpf_raw_tracepoint_args *ctx)
{
	return reclaim_end(ctx, ctx->args[0]);
}

SEC("raw_tp/mm_vmscan_memcg_reclaim_begin")
int handle_memcg_begin(struct bpf_raw_tracepoint_args *ctx)
{
	return reclaim_begin(MEM_RECLAIM_CGROUP, (__u32)ctx->args[0]);
}

SEC("raw_tp/mm_vmscan_memcg_reclaim_end")
int handle_memcg_end(struct bpf_raw_tracepoint_args *ctx)
{
	return reclaim_end(ctx, ctx->args[0]);
}

/* ---- allocation tracking --------------------------------------------------------- */

#define MAP_ANONYMOUS 0x20
#define MAP_FAILED_ADDR (~0ULL)

struct alloc_pending {
	__u64 size;
	__u64 old_addr; /* realloc's block */
	__u32 kind;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MEM_ALLOC_PENDING);
	__type(key, __u32);
	__type(value, struct alloc_pending);
} mem_alloc_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MEM_ALLOC_ENTRIES);
	__type(key, struct mem_alloc_key);
	__type(value, struct mem_alloc_info);
} mem_allocs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MEM_ALLOC_SITES);
	__type(key, struct mem_site_key);
	__type(value, struct mem_site_stat);
} mem_sites SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, MEM_ALLOC_STACKS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, TP_MAX_STACK_DEPTH * sizeof(__u64));
} mem_alloc_stacks SEC(".maps");

/* The same blocks are sampled at allocation and at free. */
static __always_inline int sampled(__u64 addr)
{
	__u64 h;

	if (mem_alloc_sample <= 1)
		return 1;
	h = (addr >> 4) * 0x9E3779B97F4A7C15ULL;
	return (h >> 32) % mem_alloc_sample == 0;
}

static __always_inline int alloc_enter(__u32 kind, __u64 size, __u64 old_addr)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct alloc_pending p = {.size = size, .old_addr = old_addr, .kind = kind};

	if (bpf_map_update_elem(&mem_alloc_pending, &tid, &p, BPF_ANY) != 0)
		tp_count(MEM_CNT_ALLOC_PENDING_FULL);
	return 0;
}

static __always_inline void site_add(__u32 pid, __s32 stack_id, __s64 bytes, int is_alloc)
{
	struct mem_site_key k = {.pid = pid, .stack_id = stack_id};
	struct mem_site_stat *st = bpf_map_lookup_elem(&mem_sites, &k), zero = {};

	if (!st) {
		if (!is_alloc)
			return;
		if (bpf_map_update_elem(&mem_sites, &k, &zero, BPF_NOEXIST) != 0 &&
		    !bpf_map_lookup_elem(&mem_sites, &k)) {
			tp_count(MEM_CNT_ALLOC_SITES_FULL);
			return;
		}
		st = bpf_map_lookup_elem(&mem_sites, &k);
		if (!st)
			return;
	}
	__sync_fetch_and_add(&st->bytes, bytes);
	__sync_fetch_and_add(&st->count, is_alloc ? 1 : -1);
	if (is_alloc) {
		__sync_fetch_and_add(&st->total_bytes, bytes);
		__sync_fetch_and_add(&st->total_count, 1);
	}
}

/* Takes a block off the books (free, munmap, the old block of a realloc). */
static __always_inline void block_gone(__u32 pid, __u64 addr)
{
	struct mem_alloc_key k = {.pid = pid, .addr = addr};
	struct mem_alloc_info *a;

	if (!addr || !sampled(addr))
		return;
	a = bpf_map_lookup_elem(&mem_allocs, &k);
	if (!a)
		return; /* allocated before tracking, or not tracked */
	site_add(pid, a->stack_id, -(__s64)a->size, 0);
	bpf_map_delete_elem(&mem_allocs, &k);
}

static __always_inline void block_new(void *ctx, __u32 pid, __u64 addr, __u64 size, __u32 kind)
{
	struct mem_alloc_key k = {.pid = pid, .addr = addr};
	struct mem_alloc_info a = {.size = size, .ts_ns = bpf_ktime_get_ns(), .kind = kind};

	if (!sampled(addr) || !mem_alloc_window_open)
		return;
	a.stack_id = bpf_get_stackid(ctx, &mem_alloc_stacks, BPF_F_USER_STACK);
	if (a.stack_id < 0) {
		a.stack_id = -1;
		tp_count(MEM_CNT_ALLOC_STACK_LOST);
	}
	if (bpf_map_update_elem(&mem_allocs, &k, &a, BPF_NOEXIST) != 0) {
		/* Either full, or the address is still on the books: its free was missed
		 * (the block came back to the allocator some other way). Replace it. */
		if (!bpf_map_lookup_elem(&mem_allocs, &k)) {
			tp_count(MEM_CNT_ALLOC_MAP_FULL);
			return;
		}
		block_gone(pid, addr);
		if (bpf_map_update_elem(&mem_allocs, &k, &a, BPF_NOEXIST) != 0)
			return;
	}
	site_add(pid, a.stack_id, size, 1);
}

/* mmap_ret: the return of mmap (1) or of malloc, calloc, realloc (0). An mmap inside
 * malloc returns while malloc's entry is pending: that return is not malloc's. */
static __always_inline int alloc_return(void *ctx, __u64 ret, int mmap_ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, pid = id >> 32;
	struct alloc_pending *p = bpf_map_lookup_elem(&mem_alloc_pending, &tid), cp;

	if (!p || (p->kind == MEM_ALLOC_MMAP) != mmap_ret)
		return 0;
	cp = *p;
	bpf_map_delete_elem(&mem_alloc_pending, &tid);
	if (cp.kind == MEM_ALLOC_MMAP ? ret == MAP_FAILED_ADDR : ret == 0) {
		/* realloc(p, 0) returns NULL having freed p; any other NULL left p alone */
		if (cp.kind == MEM_ALLOC_REALLOC && cp.size == 0)
			block_gone(pid, cp.old_addr);
		return 0;
	}
	if (cp.kind == MEM_ALLOC_REALLOC)
		block_gone(pid, cp.old_addr);
	block_new(ctx, pid, ret, cp.size, cp.kind);
	return 0;
}

/* Inside malloc, calloc or realloc of this thread (an mmap the allocator makes itself). */
static __always_inline int in_allocator(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	return bpf_map_lookup_elem(&mem_alloc_pending, &tid) != NULL;
}

SEC("uprobe")
int BPF_KPROBE(alloc_malloc, __u64 size)
{
	return alloc_enter(MEM_ALLOC_MALLOC, size, 0);
}

SEC("uprobe")
int BPF_KPROBE(alloc_calloc, __u64 n, __u64 size)
{
	return alloc_enter(MEM_ALLOC_CALLOC, n * size, 0);
}

SEC("uprobe")
int BPF_KPROBE(alloc_realloc, __u64 ptr, __u64 size)
{
	return alloc_enter(MEM_ALLOC_REALLOC, size, ptr);
}

SEC("uprobe")
int BPF_KPROBE(alloc_mmap, __u64 addr, __u64 len, int prot, int flags, int fd)
{
	if (!(flags & MAP_ANONYMOUS) || in_allocator())
		return 0;
	return alloc_enter(MEM_ALLOC_MMAP, len, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(alloc_ret, __u64 ret)
{
	return alloc_return(ctx, ret, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(alloc_mmap_ret, __u64 ret)
{
	return alloc_return(ctx, ret, 1);
}

SEC("uprobe")
int BPF_KPROBE(alloc_free, __u64 ptr)
{
	if (in_allocator())
		return 0; /* realloc freeing its old block: its return accounts for it */
	block_gone(bpf_get_current_pid_tgid() >> 32, ptr);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(alloc_munmap, __u64 addr, __u64 len)
{
	if (in_allocator())
		return 0;
	block_gone(bpf_get_current_pid_tgid() >> 32, addr);
	return 0;
}
