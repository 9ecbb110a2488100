/* cgroup2.h - an fd of the root of the cgroup v2 hierarchy, where observers attach their
 * cgroup programs (cgroup_skb, cgroup/sock_*): programs there run for every socket of
 * every process of the node, in every network namespace.
 */
#ifndef TAPIO_CGROUP2_H
#define TAPIO_CGROUP2_H

struct observer;

/* The root where cgroup v2 is mounted (/sys/fs/cgroup on a v2 host,
 * /sys/fs/cgroup/unified on a hybrid one), else through a private mount that is gone
 * again when this returns (the fd, and what is attached through it, stay valid). Returns
 * the fd (O_CLOEXEC), or a negative errno after recording with observer_skip() that
 * `programs` are not attached, and why. */
int cgroup2_root_open(struct observer *o, const char *programs);

#endif
