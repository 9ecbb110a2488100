/* mem_oom.c - see mem_oom.h. */
#include "observers/memory/mem_oom.h"

#include <stdio.h>
#include <string.h>

int mem_oom_at_limit(uint64_t usage_pages, uint64_t max_pages)
{
	if (max_pages >= MEM_PAGES_UNLIMITED)
		return 0;
	return usage_pages + MEM_OOM_SLACK_PAGES >= max_pages;
}

int mem_oom_limit_level(const struct mem_oom_event *e)
{
	uint32_t n = e->cg_levels < MEM_CG_DEPTH ? e->cg_levels : MEM_CG_DEPTH;

	for (uint32_t i = 0; i < n; i++) {
		const struct mem_cg_level *l = &e->cg[i];

		if (mem_oom_at_limit(l->usage_pages, l->max_pages))
			return (int)i;
		/* v2 keeps swap apart (swap.max never OOMs); v1's memsw limit does. */
		if (!(e->cg_flags & MEM_CG_F_V2) &&
		    mem_oom_at_limit(l->memsw_usage_pages, l->memsw_max_pages))
			return (int)i;
	}
	return -1;
}

void mem_oom_cg_path(const struct mem_oom_event *e, int level, char *out, size_t len)
{
	uint32_t n = e->cg_levels < MEM_CG_DEPTH ? e->cg_levels : MEM_CG_DEPTH;
	size_t used = 0;
	int w;

	if (!len)
		return;
	out[0] = 0;
	if (level < 0 || (uint32_t)level >= n)
		return;
	if (e->cg_flags & MEM_CG_F_TRUNCATED) {
		w = snprintf(out, len, "/...");
		used = (size_t)w < len ? (size_t)w : len - 1;
	}
	for (int i = (int)n - 1; i >= level; i--) {
		w = snprintf(out + used, len - used, "/%.*s", MEM_CG_NAME, e->cg[i].name);
		if (w < 0 || (size_t)w >= len - used) {
			out[used] = 0; /* cut at the last whole component */
			return;
		}
		used += (size_t)w;
	}
}
