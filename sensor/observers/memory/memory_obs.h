/* memory_obs.h - state and helpers shared by the memory observer's files (memory.c,
 * mem_selftest.c) and its unit tests. Not an interface for other observers.
 */
#ifndef TAPIO_MEMORY_OBS_H
#define TAPIO_MEMORY_OBS_H

#include <stdint.h>
#include <sys/types.h>

#include "core/event.h"
#include "core/pb.h"
#include "core/selftest.h"
#include "enrich/container.h"
#include "memory.h"

typedef Tapio__Sensor__V1__MemoryCgroup pb_mem_cgroup;
typedef Tapio__Sensor__V1__MemoryOomKill pb_mem_oom_kill;
typedef Tapio__Sensor__V1__MemoryReclaimStall pb_mem_reclaim;
typedef Tapio__Sensor__V1__MemoryPressure pb_mem_pressure;
typedef Tapio__Sensor__V1__MemoryStalledProcess pb_mem_stalled;
typedef Tapio__Sensor__V1__MemoryOomPrediction pb_mem_prediction;
typedef Tapio__Sensor__V1__MemoryStackFrame pb_mem_frame;
typedef Tapio__Sensor__V1__MemoryAllocationSite pb_mem_site;
typedef Tapio__Sensor__V1__MemoryAllocationReport pb_mem_report;
typedef Tapio__Sensor__V1__MemoryLeakSuspect pb_mem_leak;

#define PB_OOM_SCOPE(x) TAPIO__SENSOR__V1__MEMORY_OOM_SCOPE__MEMORY_OOM_SCOPE_##x
#define PB_RECLAIM_KIND(x) TAPIO__SENSOR__V1__MEMORY_RECLAIM_KIND__MEMORY_RECLAIM_KIND_##x
#define PB_PRESSURE_STAGE(x) TAPIO__SENSOR__V1__MEMORY_PRESSURE_STAGE__MEMORY_PRESSURE_STAGE_##x
#define PB_PRED_SUBJECT(x)                                                                         \
	TAPIO__SENSOR__V1__MEMORY_PREDICTION_SUBJECT__MEMORY_PREDICTION_SUBJECT_##x

struct mem_psi;
struct mem_predict;
struct mem_alloc;
struct observer;

/* The self-test's scratch (selftest_case.v[] is too small for a path). */
struct mem_selftest {
	pid_t child;
	int reaped;
	int enabled_controller; /* we wrote +memory to a v2 subtree_control */
	char cgroup[1024];	/* the test cgroup's directory, "" when none */
	char subtree[1024];	/* the subtree_control file we changed */
	char rel[64];		/* its path in the hierarchy ("/tapio-selftest-<pid>") */
	uint64_t limit;
};

struct mem_obs {
	long page_size;
	uint64_t node_total;	  /* MemTotal, bytes */
	uint64_t stall_window_ns; /* the PSI window, also the BPF stall buckets' */
	int stats_fd;		  /* mem_stall_stats */
	struct mem_psi *psi;
	struct mem_predict *pred;
	struct mem_alloc *alloc;
	int psi_full_logged;
	uint64_t psi_untracked; /* limited cgroups without a pressure trigger now */
	struct mem_selftest st;
};

/* An event under construction with room for a container read from a cgroup path. */
struct mem_event {
	struct event_ctx c;
	pb_container container;
	struct container_ref ref;
	char cg_path[512];
};

/* Starts an event about process pid (0: about a cgroup or the node, no process). */
void mem_obs_begin(struct mem_event *me, struct observer *o, uint32_t pid, int type);
/* Writes the user-space parts' counts to the counter slots no BPF program writes: what
 * they could not track now (selected processes, cgroups and processes past the tables,
 * cgroups without a pressure trigger; MEM_CNT_USER_UNTRACKED) and the frees the window
 * sweep inferred (MEM_CNT_ALLOC_FREES_INFERRED). */
void mem_obs_update_user_counters(struct observer *o);

/* A process's recent reclaim stalls, as a pressure event lists them. */
struct mem_stalled {
	uint32_t pid;
	uint32_t stalls;
	uint64_t stall_ns;
	uint64_t cgroup_id;
	char comm[TP_TASK_COMM_LEN + 1];
};

/* The stall time of one process in the last one to two windows at `now` (see struct
 * mem_stall_stat). Returns 0, or -1 when it has none. */
int mem_stall_recent(const struct mem_stall_stat *st, uint64_t now, uint64_t window_ns,
		     uint64_t *stall_ns, uint32_t *stalls);
/* Reads the mem_stall_stats map (fd): the processes with recent stalls (of cgroup v2 path
 * cg_path and below, unless NULL or ""), longest first, at most max - 1 of them. */
int mem_obs_collect_stalls(int fd, uint64_t now, uint64_t window_ns, const char *cg_path,
			   struct mem_stalled *out, int max);

/* The self-test case (mem_selftest.c). */
void mem_selftest_start(struct observer *o, struct selftest_case *c);
void mem_selftest_event(struct observer *o, struct selftest_case *c, const pb_event *ev);
/* Ends the test child and removes the test cgroup, if they are still there. */
void mem_selftest_cleanup(struct observer *o);

#endif
