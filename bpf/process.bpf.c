/* process.bpf.c - process lifecycle: fork, exec and exit from the sched tracepoints.
 *
 * Raw tracepoints (no tracefs needed, 4.17+), every kernel struct read through CO-RE.
 * Streamed records pass the observer's sampling and rate limit; the proc_state map is
 * kept up to date for every process regardless, so the sensor's process cache stays
 * right when lifecycle events are dropped.
 */
#include "vmlinux.h"
#include "process.h"
#define TP_SCRATCH_SIZE sizeof(struct proc_exec_event)
#include "tapio_common.bpf.h"
#include "tapio_task.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PROC_STATE_ENTRIES);
	__type(key, __u32);
	__type(value, struct proc_info);
} proc_state SEC(".maps");

/* Builds the new entry in a per-CPU slot: struct proc_info is too big for the stack
 * next to the record being built. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct proc_info);
} proc_info_scratch SEC(".maps");

/* Before 6.15 kernfs_node's parent pointer was called `parent`. */
struct kernfs_node___pre615 {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(kn->__parent))
		return BPF_CORE_READ(kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___pre615 *)kn, parent);
}

/* The cgroup that names the task's container: its unified-hierarchy cgroup, or on a
 * host without cgroup v2 placement, its memory controller cgroup (v1). */
static __always_inline struct cgroup *task_container_cgroup(struct task_struct *task)
{
	struct cgroup *cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	int memory_id;

	if (cg && BPF_CORE_READ(cg, level) > 0)
		return cg;
	memory_id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	if (memory_id < 0 || memory_id >= 12)
		return cg;
	return BPF_CORE_READ(task, cgroups, subsys[memory_id], cgroup);
}

static __always_inline void read_cgroup_names(struct task_struct *task, struct proc_exec_event *e)
{
	struct cgroup *cg = task_container_cgroup(task);
	struct kernfs_node *kn;

	if (!cg)
		return;
	kn = BPF_CORE_READ(cg, kn);
	if (!kn)
		return;
	safe_probe_read_str(e->cgroup_name, sizeof(e->cgroup_name), BPF_CORE_READ(kn, name));
	kn = kn_parent(kn);
	if (kn && BPF_CORE_READ(cg, level) > 1)
		safe_probe_read_str(e->cgroup_parent, sizeof(e->cgroup_parent),
				    BPF_CORE_READ(kn, name));
}

static __always_inline void fill_info(struct proc_info *info, struct task_struct *task)
{
	info->ppid = BPF_CORE_READ(task, real_parent, tgid);
	info->uid = BPF_CORE_READ(task, cred, uid.val);
	info->gid = BPF_CORE_READ(task, cred, gid.val);
	info->start_ns = BPF_CORE_READ(task, group_leader, start_time);
	info->cgroup_id = tp_task_cgroup_id(task);
	BPF_CORE_READ_STR_INTO(&info->comm, task, comm);
}

static __always_inline void read_args(struct task_struct *task, struct proc_exec_event *e)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	unsigned long start, end;
	__u64 len;

	if (!mm)
		return;
	start = BPF_CORE_READ(mm, arg_start);
	end = BPF_CORE_READ(mm, arg_end);
	if (end <= start)
		return;
	len = end - start;
	if (len > PROC_ARGS_SIZE) {
		len = PROC_ARGS_SIZE;
		e->h.flags |= TP_F_TRUNCATED;
	}
	/* Keep the verifier's bound on len: clang may otherwise reuse an unbounded copy. */
	asm volatile("%[len] &= 0x7ff" : [len] "+r"(len));
	if (len > PROC_ARGS_SIZE)
		return;
	if (safe_probe_read_user(e->args, len, (const void *)start) == 0)
		e->args_len = len;
	else
		tp_count(TP_CNT_READ_ERROR);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct proc_exec_event *e;
	struct proc_info *info;
	__u32 zero = 0, pid;

	info = bpf_map_lookup_elem(&proc_info_scratch, &zero);
	if (!info)
		return 0;
	fill_info(info, task);
	info->flags = 0;
	if (safe_probe_read_str(info->filename, sizeof(info->filename),
				BPF_CORE_READ(bprm, filename)) < 0)
		info->filename[0] = 0;
	pid = BPF_CORE_READ(task, tgid);
	if (bpf_map_update_elem(&proc_state, &pid, info, BPF_ANY) != 0)
		tp_count(PROC_CNT_STATE_FULL);

	e = tp_begin(TP_EV_PROCESS_EXEC, sizeof(*e));
	if (!e)
		return 0;
	e->info = *info;
	e->old_tid = (__u32)old_pid != e->h.tid ? (__u32)old_pid : 0;
	e->args_len = 0;
	e->pad = 0;
	e->cgroup_name[0] = 0;
	e->cgroup_parent[0] = 0;
	read_cgroup_names(task, e);
	read_args(task, e);
	tp_submit(ctx, e, sizeof(*e));
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *p)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct proc_exit_event *e;
	__u32 pid;

	/* Only when the last thread of the group exits: signal->live reached zero. */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	pid = BPF_CORE_READ(task, tgid);
	/* A streamed exit leaves the entry for the sensor to read while it decodes the
	 * record (then deletes it); an exit nobody will hear of removes it here. */
	e = tp_begin(TP_EV_PROCESS_EXIT, sizeof(*e));
	if (!e) {
		bpf_map_delete_elem(&proc_state, &pid);
		return 0;
	}
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->exit_code = BPF_CORE_READ(task, exit_code);
	tp_submit(ctx, e, sizeof(*e));
	return 0;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	struct proc_fork_event *e;
	struct proc_info *info, *pinfo;
	__u32 zero = 0, ppid, cpid;

	cpid = BPF_CORE_READ(child, pid);
	if ((__u32)BPF_CORE_READ(child, tgid) != cpid)
		return 0; /* a new thread, not a new process */

	ppid = BPF_CORE_READ(parent, tgid);
	info = bpf_map_lookup_elem(&proc_info_scratch, &zero);
	if (!info)
		return 0;
	pinfo = bpf_map_lookup_elem(&proc_state, &ppid);
	if (pinfo) {
		*info = *pinfo; /* the child runs the parent's program until it execs */
	} else {
		info->filename[0] = 0;
		info->flags = PROC_INFO_FROM_FORK;
	}
	fill_info(info, child);
	if (bpf_map_update_elem(&proc_state, &cpid, info, BPF_ANY) != 0)
		tp_count(PROC_CNT_STATE_FULL);

	e = tp_begin(TP_EV_PROCESS_FORK, sizeof(*e));
	if (!e)
		return 0;
	e->parent_pid = e->h.pid;
	e->parent_tid = e->h.tid;
	e->h.pid = cpid;
	e->h.tid = cpid;
	e->h.start_ns = info->start_ns;
	tp_submit(ctx, e, sizeof(*e));
	return 0;
}

/* ---- fork failures -------------------------------------------------------------------
 * fexit on kernel_clone sees every way into it (fork, vfork, clone, clone3) with the clone
 * flags; where fentry/fexit is not available (or the kernel has no kernel_clone: before
 * 5.10) the sensor attaches the syscalls' exit tracepoints instead. */

#define PF_KTHREAD 0x00200000

static __always_inline void emit_fork_failed(void *ctx, long ret, __u64 flags, __u32 fexit)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct proc_fork_failed_event *e;

	if (BPF_CORE_READ(task, flags) & PF_KTHREAD)
		return; /* kthreadd failing to start a kernel thread is not a process's fork */
	e = tp_begin(TP_EV_PROCESS_FORK_FAILED, sizeof(*e));
	if (!e)
		return;
	e->err = (__s32)-ret;
	e->via_fexit = fexit;
	e->clone_flags = flags;
	tp_submit(ctx, e, sizeof(*e));
}

SEC("fexit/kernel_clone")
int BPF_PROG(fork_failed_fexit, struct kernel_clone_args *args, pid_t ret)
{
	if (ret < 0)
		emit_fork_failed(ctx, ret, BPF_CORE_READ(args, flags), 1);
	return 0;
}

/* The syscalls:sys_exit_* record (its format is ABI): common fields, the syscall number,
 * the return value. */
struct sys_exit_record {
	__u64 common;
	long nr;
	long ret;
};

#define FORK_FAILED_TP(name)                                                                       \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                                 \
	int fork_failed_##name(struct sys_exit_record *ctx)                                        \
	{                                                                                          \
		if (ctx->ret < 0)                                                                  \
			emit_fork_failed(ctx, ctx->ret, 0, 0);                                     \
		return 0;                                                                          \
	}

FORK_FAILED_TP(clone)
FORK_FAILED_TP(clone3)
FORK_FAILED_TP(fork)
FORK_FAILED_TP(vfork)
