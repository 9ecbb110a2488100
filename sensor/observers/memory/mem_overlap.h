/* mem_overlap.h - which tracked blocks must have been freed unseen: two blocks of one
 * process that overlap cannot both be live, so the older one went back to the allocator
 * before the newer one was handed out.
 *
 * Time-sampled tracking (--memory-alloc-duty) needs this: a block allocated while the
 * uprobes are attached may be freed while they are not, and would otherwise stay on the
 * books for good. Once its memory is handed out again inside a later window, the newer
 * block proves the free. Pure functions on plain arrays, shared with the unit tests.
 */
#ifndef TAPIO_MEM_OVERLAP_H
#define TAPIO_MEM_OVERLAP_H

#include <stdint.h>

struct mem_block {
	uint32_t pid;
	int32_t stack_id;
	uint64_t addr;
	uint64_t size;	/* bytes asked for; 0 counts as 1 (malloc(0) still takes an address) */
	uint64_t ts_ns; /* when it was allocated */
	int stale;	/* out: overlapped by a newer block of the same process */
};

/* Sorts v by process and address and marks every block that a newer block of the same
 * process overlaps. Returns how many were marked. */
int mem_overlap_mark(struct mem_block *v, int n);

#endif
