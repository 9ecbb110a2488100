/* mem_overlap.c - see mem_overlap.h. */
#include "observers/memory/mem_overlap.h"

#include <stdlib.h>

static int by_pid_addr(const void *x, const void *y)
{
	const struct mem_block *a = x, *b = y;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

static uint64_t block_end(const struct mem_block *b)
{
	uint64_t size = b->size ? b->size : 1;

	return b->addr + size < b->addr ? UINT64_MAX : b->addr + size;
}

int mem_overlap_mark(struct mem_block *v, int n)
{
	int marked = 0;

	if (n <= 0)
		return 0;
	qsort(v, n, sizeof(*v), by_pid_addr);
	for (int i = 0; i < n; i++)
		v[i].stale = 0;
	/* Every block that starts inside block i overlaps it (sorted by address, the ones
	 * starting before i were paired with it when their own turn came). */
	for (int i = 0; i < n; i++) {
		uint64_t end = block_end(&v[i]);

		for (int j = i + 1; j < n && v[j].pid == v[i].pid && v[j].addr < end; j++) {
			struct mem_block *older = v[j].ts_ns < v[i].ts_ns ? &v[j] : &v[i];

			if (!older->stale) {
				older->stale = 1;
				marked++;
			}
		}
	}
	return marked;
}
