/* enrich.h - who did it: process, parent and container for any event.
 *
 * Owns the process cache (proc_cache.h) and the cgroup -> container table, and the
 * order of sources on a cache miss: the process observer's kernel-side proc_state map
 * (right even when lifecycle events were rate limited), then /proc. A cached entry whose
 * start time differs from the event's belongs to an earlier process with the same pid
 * and is refreshed.
 */
#ifndef TAPIO_ENRICH_H
#define TAPIO_ENRICH_H

#include <stdint.h>

#include "enrich/container.h"
#include "enrich/oci.h"
#include "enrich/proc_cache.h"

struct enrich;

/* What the sensor knows of one cgroup. */
struct cgroup_info {
	uint64_t id;
	int is_container;
	struct container_ref ref;
	struct oci_meta meta; /* pod and container names from the OCI bundle, when found */
	char path[256];	      /* "" when only the last components are known */
};

struct enrich *enrich_new(uint32_t cache_capacity, const char *root);
void enrich_free(struct enrich *e);
/* Fills the cache from /proc (at start). Returns the number of processes read. */
int enrich_scan_proc(struct enrich *e);
/* The kernel's proc_state map (key pid, value struct proc_info), or -1 to forget it. */
void enrich_set_state_map(struct enrich *e, int fd);

/* The process exited: its kernel-side proc_state entry is no longer needed. */
void enrich_process_exited(struct enrich *e, uint32_t pid, uint64_t start_ns);
/* The process pid that started at start_ns (0 = any), from the cache or, on a miss,
 * the kernel map or /proc; NULL when nobody knows it. */
struct pcache_entry *enrich_process(struct enrich *e, uint32_t pid, uint64_t start_ns);
/* The cgroup of cgroup_id; pid is a process in it, read from /proc on a miss. NULL for
 * cgroup ids the sensor cannot place. */
const struct cgroup_info *enrich_cgroup(struct enrich *e, uint64_t cgroup_id, uint32_t pid);
/* Records a cgroup from its path (full, or the last components as the kernel sends). */
const struct cgroup_info *enrich_learn_cgroup(struct enrich *e, uint64_t cgroup_id,
					      const char *path);
struct pcache *enrich_cache(struct enrich *e);

#endif
