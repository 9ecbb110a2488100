/* mem_oom.h - reading an OOM kill record: which memory cgroup was at its limit (a cgroup
 * OOM) or none (a system OOM), and the cgroup paths the record's chain spells.
 *
 * Pure functions on struct mem_oom_event (bpf/memory.h), unit tested without a kernel.
 */
#ifndef TAPIO_MEM_OOM_H
#define TAPIO_MEM_OOM_H

#include <stddef.h>
#include <stdint.h>

#include "memory.h"

/* page_counter limits at or above this many pages mean "no limit" (the kernel's
 * PAGE_COUNTER_MAX is LONG_MAX / PAGE_SIZE; v1 rounds 2^63 - 1 down to pages). */
#define MEM_PAGES_UNLIMITED (1ULL << 50)
/* A memory cgroup is at its limit when less than this many pages are left: the OOM
 * killer runs only when the charge (at most 2^3 pages for a cgroup OOM) does not fit,
 * and per-CPU charge caches (64 pages) may hold the rest. */
#define MEM_OOM_SLACK_PAGES 64

/* 1 when a limit of `max_pages` exists and `usage_pages` is within the slack of it. */
int mem_oom_at_limit(uint64_t usage_pages, uint64_t max_pages);

/* The level of e->cg[] whose limit was reached: the nearest to the victim whose memory
 * (or, on cgroup v1, memory+swap) counter is at its limit; -1 when none was (a system
 * OOM). */
int mem_oom_limit_level(const struct mem_oom_event *e);

/* Writes the path of e->cg[level] ("/a/b", names from the top down) to out. A chain cut
 * at MEM_CG_DEPTH starts with "/..."; out is "" when level is outside the chain. */
void mem_oom_cg_path(const struct mem_oom_event *e, int level, char *out, size_t len);

#endif
