/* mem_symbols.c - see mem_symbols.h. */
#include "observers/memory/mem_symbols.h"

#include <elfutils/libdwfl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cache_slot {
	uint64_t addr; /* 0 = empty */
	struct mem_frame f;
	int found;
};

struct mem_sym {
	pid_t pid;
	Dwfl *dwfl;
	Dwfl_Callbacks cb;
	char *debuginfo_path;
	struct cache_slot cache[MEM_SYM_CACHE];
	struct mem_sym_stats stats;
};

static int load(struct mem_sym *s)
{
	if (s->dwfl)
		dwfl_end(s->dwfl);
	s->dwfl = dwfl_begin(&s->cb);
	if (!s->dwfl)
		return -1;
	if (dwfl_linux_proc_report(s->dwfl, s->pid) != 0 ||
	    dwfl_report_end(s->dwfl, NULL, NULL) != 0) {
		dwfl_end(s->dwfl);
		s->dwfl = NULL;
		return -1;
	}
	return 0;
}

struct mem_sym *mem_sym_new(pid_t pid)
{
	struct mem_sym *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->pid = pid;
	s->cb.find_elf = dwfl_linux_proc_find_elf;
	s->cb.find_debuginfo = dwfl_standard_find_debuginfo;
	s->cb.debuginfo_path = &s->debuginfo_path;
	if (load(s) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

void mem_sym_free(struct mem_sym *s)
{
	if (!s)
		return;
	if (s->dwfl)
		dwfl_end(s->dwfl);
	free(s);
}

static void base_name(char *out, size_t len, const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	snprintf(out, len, "%s", slash ? slash + 1 : path ? path : "");
}

static int resolve(struct mem_sym *s, uint64_t addr, struct mem_frame *f)
{
	/* A return address points after the call: look up the call itself. */
	Dwarf_Addr pc = addr - 1, line_addr;
	Dwfl_Module *mod = s->dwfl ? dwfl_addrmodule(s->dwfl, pc) : NULL;
	const char *name, *mname, *src;
	GElf_Off off = 0;
	GElf_Sym sym;
	Dwfl_Line *line;
	int lineno = 0;

	memset(f, 0, sizeof(*f));
	f->addr = addr;
	if (!mod)
		return -1;
	mname = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	base_name(f->module, sizeof(f->module), mname);
	name = dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL);
	if (name) {
		snprintf(f->function, sizeof(f->function), "%s", name);
		f->offset = off + 1; /* of the return address, as addr is */
	}
	line = dwfl_module_getsrc(mod, pc);
	src = line ? dwfl_lineinfo(line, &line_addr, &lineno, NULL, NULL, NULL) : NULL;
	if (src) {
		base_name(f->file, sizeof(f->file), src);
		f->line = lineno > 0 ? (uint32_t)lineno : 0;
	}
	return 0;
}

int mem_sym_lookup(struct mem_sym *s, uint64_t addr, struct mem_frame *out)
{
	struct cache_slot *c = &s->cache[(addr >> 2) % MEM_SYM_CACHE];
	int rc;

	s->stats.lookups++;
	if (c->addr == addr && addr) {
		s->stats.cache_hits++;
		*out = c->f;
		return c->found ? 0 : -1;
	}
	rc = resolve(s, addr, out);
	if (rc < 0) { /* new code mapped since the maps were read? */
		s->stats.reloads++;
		if (load(s) == 0)
			rc = resolve(s, addr, out);
	}
	c->addr = addr;
	c->f = *out;
	c->found = rc == 0;
	return rc;
}

void mem_sym_get_stats(const struct mem_sym *s, struct mem_sym_stats *out)
{
	*out = s->stats;
}
