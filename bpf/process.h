/* process.h - records of the process lifecycle observer (bpf/process.bpf.c), shared with
 * sensor/observers/process/process.c. */
#ifndef TAPIO_PROCESS_H
#define TAPIO_PROCESS_H

#include "tapio_event.h"

#define PROC_ARGS_SIZE 1024  /* argv bytes copied per exec (NUL separated) */
#define PROC_CGROUP_NAME 128 /* bytes of one cgroup path component */
#define PROC_STATE_ENTRIES 10240

/* Observer-specific counter slots. */
enum proc_counter {
	PROC_CNT_STATE_FULL = TP_CNT_OBSERVER, /* proc_state update failed */
};

/* What the kernel side remembers of every live process, whether or not its events were
 * streamed: the sensor reads it on a process cache miss (key: pid). */
struct proc_info {
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u32 flags;	/* PROC_INFO_* */
	__u64 start_ns; /* task start, CLOCK_MONOTONIC ns */
	__u64 cgroup_id;
	char comm[TP_TASK_COMM_LEN];
	char filename[TP_MAX_STRING_SIZE];
};

#define PROC_INFO_FROM_FORK 0x1 /* no exec seen since the sensor started: filename unknown */

struct proc_exec_event {
	struct tp_event_header h;
	struct proc_info info;
	__u32 old_tid;
	__u16 args_len; /* bytes used in args */
	__u16 pad;
	/* Last two components of the task's cgroup path (unified hierarchy, or the
	 * memory controller's on a v1-only host). */
	char cgroup_name[PROC_CGROUP_NAME];
	char cgroup_parent[PROC_CGROUP_NAME];
	char args[PROC_ARGS_SIZE];
};

struct proc_exit_event {
	struct tp_event_header h;
	__u32 ppid;
	__u32 exit_code; /* task->exit_code: status << 8 | core 0x80 | signal */
};

/* h.pid/h.tid are the child's; the record is emitted in the parent's context. */
struct proc_fork_event {
	struct tp_event_header h;
	__u32 parent_pid;
	__u32 parent_tid;
};

/* A fork/vfork/clone/clone3 that failed (EAGAIN at pids.max or RLIMIT_NPROC, ENOMEM,
 * EINVAL...). clone_flags is known only on the fexit path (0 from the tracepoints). */
struct proc_fork_failed_event {
	struct tp_event_header h;
	__s32 err; /* positive errno */
	__u32 via_fexit;
	__u64 clone_flags;
};

#endif
