/* tapio_task.bpf.h - facts about a task and its cgroup read through CO-RE, for programs
 * that have no helper for them (cgroup_skb on 5.10 has no bpf_get_current_cgroup_id, and
 * no helper gives another task's cgroup). Include after tapio_common.bpf.h.
 */
#ifndef TAPIO_TASK_BPF_H
#define TAPIO_TASK_BPF_H

/* 5.4 and older: kernfs_node.id was a union of {ino, generation} and a u64. */
union kernfs_node_id___pre55 {
	__u64 id;
} __attribute__((preserve_access_index));

struct kernfs_node___pre55 {
	union kernfs_node_id___pre55 id;
} __attribute__((preserve_access_index));

/* The id of a cgroup's kernfs node: the cgroup id user space sees (its inode number). */
static __always_inline __u64 tp_kn_id(struct kernfs_node *kn)
{
	if (bpf_core_type_exists(union kernfs_node_id___pre55))
		return BPF_CORE_READ((struct kernfs_node___pre55 *)kn, id.id);
	return BPF_CORE_READ(kn, id);
}

/* The id of the task's cgroup v2 cgroup: what bpf_get_current_cgroup_id() returns. */
static __always_inline __u64 tp_task_cgroup_id(struct task_struct *task)
{
	struct kernfs_node *kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn);

	return kn ? tp_kn_id(kn) : 0;
}

#endif
