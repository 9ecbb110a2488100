/* mem_symbols.h - turn user-space addresses of a live process into function, module and
 * source line, for allocation stacks.
 *
 * Built on libdw's dwfl: the process's mappings come from /proc/<pid>/maps, the ELF files
 * through /proc/<pid>/root (so processes in containers resolve too), symbols from
 * .symtab/.dynsym and lines from DWARF when the file has them. Each process gets one
 * symbolizer with a bounded cache of resolved addresses: stacks share frames, so a frame
 * is resolved once. A process that maps new code (dlopen) is re-read when an address
 * falls outside what was known.
 */
#ifndef TAPIO_MEM_SYMBOLS_H
#define TAPIO_MEM_SYMBOLS_H

#include <stdint.h>
#include <sys/types.h>

#define MEM_SYM_NAME 128
#define MEM_SYM_CACHE 1024 /* resolved addresses kept per process */

struct mem_frame {
	uint64_t addr;
	uint64_t offset;	     /* from the start of function */
	uint32_t line;		     /* 0 when unknown */
	char function[MEM_SYM_NAME]; /* "" when no symbol covers addr */
	char module[MEM_SYM_NAME];   /* file name of the mapping, "" when unmapped */
	char file[MEM_SYM_NAME];     /* source file, "" when unknown */
};

struct mem_sym;

struct mem_sym *mem_sym_new(pid_t pid);
void mem_sym_free(struct mem_sym *s);

/* Resolves addr (a return address: the call it returns from is looked up). Returns 0
 * with *out filled (function "" when no symbol), or -1 when the address is in no
 * mapping even after re-reading the process's maps. */
int mem_sym_lookup(struct mem_sym *s, uint64_t addr, struct mem_frame *out);

struct mem_sym_stats {
	uint64_t lookups, cache_hits, reloads;
};
void mem_sym_get_stats(const struct mem_sym *s, struct mem_sym_stats *out);

#endif
