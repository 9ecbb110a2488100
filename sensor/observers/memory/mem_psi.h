/* mem_psi.h - memory pressure from PSI triggers, on the sensor's loop.
 *
 * A PSI trigger is a pressure file (/proc/pressure/memory, or a cgroup v2 memory.pressure)
 * opened for writing with "some|full STALL_US WINDOW_US" written to it: the kernel then
 * wakes a poller with POLLPRI when tasks stalled on memory that long within one window
 * (at most once per window). No polling of averages. Each watched file gets two
 * triggers, "some" and "full". Node triggers live as long as the set; cgroup triggers are
 * kept in step with the cgroups the caller names (mark and sweep), at most
 * MEM_PSI_MAX_CGROUPS of them, and go away when their cgroup does (POLLERR).
 */
#ifndef TAPIO_MEM_PSI_H
#define TAPIO_MEM_PSI_H

#include <stdint.h>
#include <uv.h>

#define MEM_PSI_MAX_CGROUPS 64

/* One line of a pressure file. */
struct mem_psi_line {
	double avg10, avg60, avg300;
	uint64_t total_us;
};

struct mem_psi_fired {
	int full;		 /* 1: the "full" line, 0: "some" */
	const char *cgroup_path; /* "" for the node */
	uint64_t cgroup_id;	 /* cgroup v2 id, 0 for the node */
	uint64_t threshold_us;
	uint64_t window_us;
	struct mem_psi_line line; /* the file's line for that stage when it fired */
	int line_read;		  /* 0 when the file could not be read back */
};

struct mem_psi;

typedef void (*mem_psi_fire_fn)(void *arg, const struct mem_psi_fired *f);

/* Parses the "some" (full 0) or "full" (full 1) line of a pressure file. Returns 0 or -1. */
int mem_psi_parse(const char *buf, int full, struct mem_psi_line *out);

struct mem_psi *mem_psi_new(uv_loop_t *loop, uint64_t stall_us, uint64_t window_us,
			    mem_psi_fire_fn fn, void *arg);
/* Watches a pressure file: cgroup_path "" for the node (kept until mem_psi_free), else a
 * cgroup (swept by mem_psi_sync_end unless named again since mem_psi_sync_begin).
 * Returns 0 (also when already watched), -ENOSPC past MEM_PSI_MAX_CGROUPS, or the errno
 * of opening or arming it. */
int mem_psi_watch(struct mem_psi *p, const char *file, const char *cgroup_path, uint64_t cgroup_id);
void mem_psi_sync_begin(struct mem_psi *p);
void mem_psi_sync_end(struct mem_psi *p);
/* Watched files (node and cgroups). */
int mem_psi_count(const struct mem_psi *p);
/* Closes every trigger; the memory goes when libuv has closed the last handle. */
void mem_psi_free(struct mem_psi *p);

#endif
