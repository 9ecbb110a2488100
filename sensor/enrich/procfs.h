/* procfs.h - read processes and cgroup placement from /proc and the cgroup mounts.
 *
 * Every function takes the root of the file tree ("/" on a node, a fixture directory in
 * unit tests), so the same code reads the real system and test data.
 */
#ifndef TAPIO_PROCFS_H
#define TAPIO_PROCFS_H

#include <stddef.h>
#include <stdint.h>

#include "enrich/proc_cache.h"

/* Fills e (already reset by pcache_insert, e->pid set) from <root>/proc/<pid>/: ppid,
 * uid, gid (real ids, from status), comm, binary (exe link target; "" if unreadable, as
 * for kernel threads), args (cmdline), start_ns (stat field 22, converted from clock ticks
 * to ns), and sets PCACHE_F_PROCFS. Writes the process's cgroup path to cgroup_path (the
 * unified "0::" line when present and not "/", otherwise the memory controller's v1 line;
 * "" when neither). Returns 0, or -1 with errno when the process is gone. */
int procfs_read_process(const char *root, uint32_t pid, struct pcache_entry *e, char *cgroup_path,
			size_t cgroup_path_len);

/* Only the cgroup path of pid (same choice of line as procfs_read_process). Returns 0,
 * or -1 when the process is gone or has no cgroup placement. */
int procfs_read_cgroup(const char *root, uint32_t pid, char *out, size_t len);

/* <root><rel> into out, where rel starts with '/'; a root of "/" or "" means the real
 * root. Returns 0, or -1 with errno ENAMETOOLONG when out is too short. */
int procfs_join(char *out, size_t len, const char *root, const char *rel);

/* Calls fn for every numeric entry of <root>/proc. Returns the number of pids visited,
 * or -1 with errno when <root>/proc cannot be opened. */
int procfs_scan(const char *root, void (*fn)(uint32_t pid, void *arg), void *arg);

/* Where the cgroup v2 (unified) hierarchy is mounted, read from <root>/proc/self/mounts:
 * "/sys/fs/cgroup" on a pure v2 host, "/sys/fs/cgroup/unified" on a hybrid one. Writes
 * it to out and returns 0, or -1 when there is none. */
int procfs_unified_mount(const char *root, char *out, size_t len);

/* The cgroup v2 id of a unified-hierarchy cgroup path ("/libpod_parent/libpod-<id>"): the
 * inode number of <mount><path>, which is what bpf_get_current_cgroup_id() returns.
 * 0 when it does not exist. */
uint64_t procfs_cgroup_id(const char *mount, const char *path);

#endif
