/* mem_cgroups.h - memory figures from the cgroup file systems and /proc, for the memory
 * observer's OOM prediction and pressure triggers.
 *
 * Owns finding where the memory controller is mounted (a cgroup v1 hierarchy of its own,
 * or cgroup v2 with "memory" in cgroup.controllers), walking its cgroups, reading a
 * cgroup's usage, limit and inactive file pages (v1 and v2 files), a process's resident
 * memory and memory cgroup, and the node's MemTotal/MemAvailable. Every function takes
 * the root of the file tree ("/" on a node, a directory in unit tests).
 */
#ifndef TAPIO_MEM_CGROUPS_H
#define TAPIO_MEM_CGROUPS_H

#include <stddef.h>
#include <stdint.h>

#define MEM_PATH_MAX 512

struct mem_hier {
	int version;		    /* 1 or 2: where the memory controller is; 0 = nowhere */
	char mount[MEM_PATH_MAX];   /* <root> + its mount point */
	char unified[MEM_PATH_MAX]; /* <root> + the cgroup2 mount ("" if none): PSI files */
};

struct mem_cg_sample {
	uint64_t usage;		/* bytes charged */
	uint64_t limit;		/* bytes; 0 = no limit */
	uint64_t inactive_file; /* bytes reclaim would take first */
};

/* Finds the memory controller from <root>/proc/self/mounts. Returns 0, or -1 when no
 * hierarchy has it (h->version 0). */
int mem_hier_find(const char *root, struct mem_hier *h);

/* Reads the cgroup at `path` ("/a/b") of the memory hierarchy. Returns 0, or -1 when it
 * is gone or has no memory files (the v2 root). */
int mem_cg_read(const struct mem_hier *h, const char *path, struct mem_cg_sample *s);

/* Calls fn for every cgroup below the root of the memory hierarchy, parents first, at
 * most max_depth levels deep, until fn returns non-zero. Returns the number visited. */
int mem_cg_walk(const struct mem_hier *h, int max_depth, int (*fn)(const char *path, void *arg),
		void *arg);

/* The value of `key` in a "key value" per line file (memory.stat, meminfo without the
 * unit); *found is set to 1 when the key was there. */
uint64_t mem_parse_keyed(const char *buf, const char *key, int *found);

/* A limit file's value in bytes: "max" (v2) and v1's "unlimited" 2^63 rounded down to
 * pages both mean none (0). Returns -1 when malformed. */
int mem_parse_limit(const char *buf, uint64_t *bytes);

/* MemTotal and MemAvailable of <root>/proc/meminfo, bytes. Returns 0 or -1. */
int mem_meminfo(const char *root, uint64_t *total, uint64_t *available);

/* Resident memory (bytes, at page_size) and start time (clock ticks) of a process from
 * <root>/proc/<pid>/stat. Returns 0, or -1 when it is gone. */
int mem_proc_stat(const char *root, uint32_t pid, long page_size, uint64_t *rss,
		  uint64_t *start_ticks);

/* The process's cgroup path in the memory hierarchy of `version` (v1: the line that
 * lists "memory"; v2: the "0::" line). Returns 0 or -1. */
int mem_proc_memcg(const char *root, uint32_t pid, int version, char *out, size_t len);

/* The inode number of <mount><path> (a cgroup's id in that hierarchy), 0 if none. */
uint64_t mem_cg_inode(const char *mount, const char *path);

/* Reads a small file whole into buf (terminated). Returns the length or -1. */
int mem_read_file(const char *path, char *buf, size_t len);

#endif
