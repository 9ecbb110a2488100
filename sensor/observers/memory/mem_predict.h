/* mem_predict.h - OOM prediction: sample memory cgroups and processes periodically, fit
 * the usage trend, and say when it reaches the limit within the horizon.
 *
 * Owns two bounded tables: the memory cgroups that have a limit (found by walking the
 * memory hierarchy, v1 or v2, every MEM_PRED_DISCOVER_TICKS samples; at most
 * MEM_PRED_MAX_CGROUPS) and the processes of the node (at most MEM_PRED_MAX_PROCS, from
 * /proc every sample). A cgroup's usage is its working set (usage less inactive file
 * pages: what reclaim cannot take); a process's is its resident memory, and its limit is
 * the smallest headroom among its limited memory cgroups, or the node's MemAvailable
 * when none applies. What does not fit a table is counted, not tracked.
 */
#ifndef TAPIO_MEM_PREDICT_H
#define TAPIO_MEM_PREDICT_H

#include <stdint.h>
#include <uv.h>

#include "observers/memory/mem_cgroups.h"

#define MEM_PRED_MAX_CGROUPS 1024
#define MEM_PRED_MAX_PROCS 4096
#define MEM_PRED_DISCOVER_TICKS 5
#define MEM_PRED_MAX_DEPTH 8

enum mem_pred_subject { MEM_PRED_CGROUP = 1, MEM_PRED_PROCESS = 2 };

struct mem_pred_cfg {
	const char *root; /* "/" */
	long page_size;
	uint64_t interval_ms;
	uint64_t window_ms;
	uint64_t horizon_ms;
};

/* A memory cgroup as the sampler last read it. */
struct mem_pred_cgroup {
	const char *path;
	uint64_t id; /* inode of its directory in the memory hierarchy */
	int version;
	uint64_t usage, limit, working_set;
};

struct mem_prediction {
	int subject;			  /* enum mem_pred_subject */
	uint32_t pid;			  /* MEM_PRED_PROCESS */
	const struct mem_pred_cgroup *cg; /* the limit's cgroup; NULL: the node's memory */
	uint64_t usage, limit, headroom;
	double growth_per_sec;
	uint64_t eta_ms;
	uint32_t samples;
	uint64_t span_ms;
};

typedef void (*mem_pred_emit_fn)(void *arg, const struct mem_prediction *p);
/* Called after each discovery with every tracked cgroup (for pressure triggers). */
typedef void (*mem_pred_cgroups_fn)(void *arg, const struct mem_hier *h,
				    const struct mem_pred_cgroup *const *cgs, int n);

struct mem_pred_stats {
	uint64_t cgroups, procs;    /* tracked now */
	uint64_t cgroups_untracked; /* limited cgroups past the table */
	uint64_t procs_untracked;   /* processes past the table (last sample) */
	uint64_t predictions;
};

struct mem_predict;

/* Finds the memory hierarchy under cfg->root (without one, only processes are tracked,
 * against the node's memory). Returns NULL when cfg->interval_ms is 0 (prediction off)
 * or on no memory. */
struct mem_predict *mem_predict_new(const struct mem_pred_cfg *cfg, mem_pred_emit_fn emit,
				    mem_pred_cgroups_fn cgroups, void *arg);
/* Runs the sampler on a libuv timer every cfg->interval_ms. */
int mem_predict_start(struct mem_predict *m, uv_loop_t *loop);
/* One sample at now_ms (the timer calls this; tests call it directly). */
void mem_predict_tick(struct mem_predict *m, uint64_t now_ms);
void mem_predict_stats(const struct mem_predict *m, struct mem_pred_stats *out);
const struct mem_hier *mem_predict_hier(const struct mem_predict *m);
/* Stops the timer; the memory goes once libuv has closed it. */
void mem_predict_free(struct mem_predict *m);

#endif
