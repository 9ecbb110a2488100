/* mem_alloc.h - allocation tracking of the processes a user selects: which processes,
 * attaching and detaching the libc uprobes per process, and the periodic reports of
 * top outstanding allocation sites and leak suspects.
 *
 * Selection (--memory-track): pid:N, container:ID (prefix of the id its cgroup path
 * names), cgroup:/PATH (the process's cgroup, v2 or any v1 controller's, is PATH or below
 * it), pidns:INODE (the process's PID namespace). The selection is re-evaluated every
 * second against /proc; a matching process gets the uprobes of bpf/memory.bpf.c attached
 * to its own libc with its pid, so no other process ever hits them. At most
 * MEM_ALLOC_MAX_PROCS processes are tracked at once (the rest are counted). The sensor
 * never tracks itself.
 *
 * Every report interval, for each tracked process, the sites of mem_sites (outstanding
 * bytes per stack) are ranked; the top ones are symbolized (mem_symbols.h) and reported,
 * and the MEM_ALLOC_HISTORY largest keep a history of their outstanding bytes: a history
 * that keeps growing over the leak window makes a leak suspect (mem_trend_leaking). When
 * a tracked process exits, its entries leave the BPF maps.
 *
 * Time-sampled tracking (duty below 100 %): each uprobe hit traps into the kernel, a cost
 * no in-kernel sampling takes away (70 to 250 times a glibc malloc/free pair, see
 * tests/bench/bench_memory_tracking.sh). With --memory-alloc-duty PCT the probes are
 * attached to every tracked process for a window of --memory-alloc-window MS, then
 * detached (off the loop: each link waits out a grace period) until the next window; a
 * window costs its length plus the time malloc's and free's probes take to go, and the
 * windows come far enough apart for that to be PCT of the time. Between windows the
 * processes run untouched. Only blocks allocated inside a window count. A block freed
 * between windows leaves no trace, so before each window the blocks that a newer block
 * overlaps come off the books (mem_overlap.h): the memory was handed out again, so it had
 * been freed. Reported figures are then estimates: the tracked ones times the share of
 * the time allocations were not tracked (and times the address sample).
 */
#ifndef TAPIO_MEM_ALLOC_H
#define TAPIO_MEM_ALLOC_H

#include <stdint.h>
#include <uv.h>

#define MEM_ALLOC_MAX_PROCS 64
#define MEM_ALLOC_TOP_SITES 10
#define MEM_ALLOC_HISTORY 128 /* sites per process watched for leaks */
#define MEM_ALLOC_SCAN_MS 1000
#define MEM_ALLOC_DUTY_FULL 100000 /* duty in thousandths of a percent: always attached */

struct observer;
struct bpf_program;
struct bpf_link;

/* The BPF side the tracker drives. */
struct mem_alloc_bpf {
	struct bpf_program *malloc, *calloc, *realloc, *mmap, *ret, *mmap_ret, *free, *munmap;
	int allocs_fd, sites_fd, stacks_fd, pending_fd;
	uint32_t *window_open; /* the programs record new blocks while it is 1 */
};

struct mem_alloc_cfg {
	const char (*selectors)[256];
	int n_selectors;
	uint32_t sample;
	uint32_t duty_milli; /* share of the time the probes are attached, 1/1000 % */
	uint32_t window_ms;  /* one attached window, when duty_milli < MEM_ALLOC_DUTY_FULL */
	uint64_t report_ms;
	uint64_t leak_window_ms;
	const char *root; /* "/" */
};

struct mem_alloc;

/* Whether process pid (as <root>/proc shows it) matches one selector. */
int mem_alloc_match(const char *root, const char *selector, uint32_t pid);

/* NULL when nothing is selected. */
struct mem_alloc *mem_alloc_new(struct observer *o, const struct mem_alloc_cfg *cfg,
				const struct mem_alloc_bpf *bpf);
int mem_alloc_start(struct mem_alloc *a, uv_loop_t *loop);
/* One selection pass (and a report when one is due) at now_ms. */
void mem_alloc_tick(struct mem_alloc *a, uint64_t now_ms);
/* Processes tracked now; selected processes not tracked so far (cap, attach failures). */
int mem_alloc_tracked(const struct mem_alloc *a);
uint64_t mem_alloc_untracked(const struct mem_alloc *a);
/* Blocks taken off the books by the sweep before a window (MEM_CNT_ALLOC_FREES_INFERRED). */
uint64_t mem_alloc_frees_inferred(const struct mem_alloc *a);
/* Detaches everything; the memory goes once libuv has closed the timer. */
void mem_alloc_free(struct mem_alloc *a);

#endif
