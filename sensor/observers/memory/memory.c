/* memory.c - the memory observer: OOM kills, reclaim stalls, memory pressure, OOM
 * prediction.
 *
 * Kernel side (bpf/memory.bpf.c): OOM kill and reclaim stall records, per-process reclaim
 * stall totals, and the libc uprobes of allocation tracking. User side, on the sensor's
 * loop: PSI triggers on the node and on every limited memory cgroup (mem_psi.c), the
 * sampler that predicts OOMs (mem_predict.c), and the allocation tracker (mem_alloc.c:
 * selection, attach, reports, leak suspects). This file loads them and turns kernel
 * records, pressure and predictions into events; the arithmetic lives in mem_oom.c and
 * mem_trend.c, the self-test case in mem_selftest.c.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/event.h"
#include "core/features.h"
#include "core/log.h"
#include "core/observer.h"
#include "core/sensor.h"
#include "core/utf8.h"
#include "enrich/container.h"
#include "memory.h"
#include "memory.skel.h"
#include "observers/memory/mem_alloc.h"
#include "observers/memory/mem_cgroups.h"
#include "observers/memory/mem_oom.h"
#include "observers/memory/mem_predict.h"
#include "observers/memory/mem_psi.h"
#include "observers/memory/memory_obs.h"

#define MEM_STALLED_MAX 16 /* processes listed in a pressure event */

static struct memory_bpf *skel_of(struct observer *o)
{
	return o->skel;
}

static struct mem_obs *state_of(struct observer *o)
{
	return o->priv;
}

static int mem_open(struct observer *o, const struct features *f)
{
	const struct config *cfg = o->sensor->cfg;
	struct memory_bpf *skel;
	struct mem_obs *m;

	if (!features_has(f, FEAT_RAW_TP))
		return -EOPNOTSUPP; /* every program is a raw tracepoint */
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	skel = memory_bpf__open_opts(observer_open_opts(o));
	if (!skel) {
		free(m);
		return -errno;
	}
	m->page_size = sysconf(_SC_PAGESIZE);
	m->stall_window_ns = (uint64_t)cfg->mem_psi_window_us * 1000;
	m->stats_fd = -1;
	o->priv = m;
	o->skel = skel;
	o->skeleton = skel->skeleton;
	o->limits = (struct tp_limits *)&skel->rodata->tp_limits;
	skel->rodata->mem_reclaim_min_ns = (uint64_t)cfg->mem_reclaim_min_us * 1000;
	skel->rodata->mem_stall_window_ns = m->stall_window_ns;
	skel->rodata->mem_alloc_sample = cfg->mem_alloc_sample ? cfg->mem_alloc_sample : 1;
	/* The uprobes attach per selected process (mem_alloc.c), never with the skeleton. */
	bpf_program__set_autoattach(skel->progs.alloc_malloc, false);
	bpf_program__set_autoattach(skel->progs.alloc_calloc, false);
	bpf_program__set_autoattach(skel->progs.alloc_realloc, false);
	bpf_program__set_autoattach(skel->progs.alloc_mmap, false);
	bpf_program__set_autoattach(skel->progs.alloc_ret, false);
	bpf_program__set_autoattach(skel->progs.alloc_mmap_ret, false);
	bpf_program__set_autoattach(skel->progs.alloc_free, false);
	bpf_program__set_autoattach(skel->progs.alloc_munmap, false);
	return 0;
}

/* ---- OOM kills ------------------------------------------------------------------- */

static void fill_cgroup(struct observer *o, pb_mem_cgroup *pb, const struct mem_oom_event *e,
			int level, char *path, size_t len)
{
	const struct mem_cg_level *l = &e->cg[level];
	long psz = state_of(o)->page_size;

	mem_oom_cg_path(e, level, path, len);
	utf8_scrub(path, strlen(path));
	tapio__sensor__v1__memory_cgroup__init(pb);
	pb->path = path;
	pb->id = l->id;
	pb->cgroup_version = e->cg_flags & MEM_CG_F_V2 ? 2 : 1;
	pb->usage_bytes = l->usage_pages * psz;
	pb->limit_bytes = l->max_pages >= MEM_PAGES_UNLIMITED ? 0 : l->max_pages * psz;
}

/* When the victim's cgroup v2 placement named no container (a v1-only host, or the
 * victim gone before the sensor could read /proc), its memory cgroup path may. */
static void container_from_path(struct mem_event *me, const char *path)
{
	if (me->c.ev.container || !container_parse_cgroup_path(path, &me->ref))
		return;
	tapio__sensor__v1__container__init(&me->container);
	me->container.id = me->ref.id;
	me->container.runtime = (char *)container_runtime_name(me->ref.runtime);
	snprintf(me->cg_path, sizeof(me->cg_path), "%s", path);
	me->container.cgroup_path = me->cg_path;
	me->c.ev.container = &me->container;
}

static int decode_oom(struct observer *o, struct mem_oom_event *e)
{
	struct mem_obs *m = state_of(o);
	pb_mem_oom_kill x = TAPIO__SENSOR__V1__MEMORY_OOM_KILL__INIT;
	pb_mem_cgroup cg, victim_cg;
	char path[MEM_CG_DEPTH * (MEM_CG_NAME + 1) + 8], vpath[sizeof(path)];
	struct mem_event me;
	int level;

	e->h.comm[TP_TASK_COMM_LEN - 1] = 0;
	e->trigger_comm[TP_TASK_COMM_LEN - 1] = 0;
	utf8_scrub(e->trigger_comm, strlen(e->trigger_comm));
	if (e->cg_levels > MEM_CG_DEPTH)
		return -1;
	level = mem_oom_limit_level(e);
	event_begin(&me.c, o, &e->h, PB_TYPE(MEMORY_OOM_KILL));
	x.scope = level >= 0 ? PB_OOM_SCOPE(CGROUP) : PB_OOM_SCOPE(SYSTEM);
	if (e->cg_levels) {
		fill_cgroup(o, &victim_cg, e, 0, vpath, sizeof(vpath));
		fill_cgroup(o, &cg, e, level >= 0 ? level : 0, path, sizeof(path));
		x.cgroup = &cg;
		x.victim_cgroup = &victim_cg;
		container_from_path(&me, vpath);
	}
	x.anon_rss_bytes = e->rss_anon_pages * m->page_size;
	x.file_rss_bytes = e->rss_file_pages * m->page_size;
	x.shmem_rss_bytes = e->rss_shmem_pages * m->page_size;
	x.rss_bytes = x.anon_rss_bytes + x.file_rss_bytes + x.shmem_rss_bytes;
	x.total_vm_bytes = e->total_vm_pages * m->page_size;
	x.oom_score_adj = e->oom_score_adj;
	x.trigger_pid = e->trigger_pid;
	x.trigger_tid = e->trigger_tid;
	x.trigger_comm = e->trigger_comm;
	x.node_memory_bytes = m->node_total;
	me.c.ev.payload_case = PB_PAYLOAD(MEMORY_OOM_KILL);
	me.c.ev.memory_oom_kill = &x;
	event_publish(&me.c);
	return 0;
}

static int decode_reclaim(struct observer *o, const struct mem_reclaim_event *e)
{
	pb_mem_reclaim x = TAPIO__SENSOR__V1__MEMORY_RECLAIM_STALL__INIT;
	struct event_ctx c;

	event_begin(&c, o, &e->h, PB_TYPE(MEMORY_RECLAIM_STALL));
	x.kind = e->kind == MEM_RECLAIM_CGROUP ? PB_RECLAIM_KIND(CGROUP) : PB_RECLAIM_KIND(DIRECT);
	x.duration_ns = e->duration_ns;
	x.reclaimed_bytes = e->nr_reclaimed * state_of(o)->page_size;
	x.order = e->order;
	c.ev.payload_case = PB_PAYLOAD(MEMORY_RECLAIM_STALL);
	c.ev.memory_reclaim_stall = &x;
	event_publish(&c);
	return 0;
}

static int mem_decode(struct observer *o, const void *data, size_t len)
{
	const struct tp_event_header *h = data;

	if (len < sizeof(*h))
		return -1;
	switch (h->type) {
	case TP_EV_MEMORY_OOM_KILL: {
		struct mem_oom_event *copy; /* the ring is read-only; strings get cut */
		int rc;

		if (len < sizeof(*copy) || !(copy = malloc(sizeof(*copy))))
			return -1;
		memcpy(copy, data, sizeof(*copy));
		rc = decode_oom(o, copy);
		free(copy);
		return rc;
	}
	case TP_EV_MEMORY_RECLAIM:
		if (len < sizeof(struct mem_reclaim_event))
			return -1;
		return decode_reclaim(o, data);
	default:
		return -1;
	}
}

/* ---- events built in user space (pressure, prediction) ----------------------------- */

void mem_obs_begin(struct mem_event *me, struct observer *o, uint32_t pid, int type)
{
	struct tp_event_header h = {.ts_ns = sensor_mono_ns(), .pid = pid, .tid = pid};

	memset(me, 0, sizeof(*me));
	event_begin(&me->c, o, &h, type);
	if (!pid) {
		me->c.ev.process = NULL;
		me->c.ev.parent = NULL;
		me->c.ev.tid = 0;
	}
}

static void fill_pred_cgroup(pb_mem_cgroup *pb, const struct mem_pred_cgroup *cg)
{
	tapio__sensor__v1__memory_cgroup__init(pb);
	pb->path = (char *)cg->path;
	pb->id = cg->id;
	pb->cgroup_version = cg->version;
	pb->usage_bytes = cg->usage;
	pb->limit_bytes = cg->limit;
}

static void on_prediction(void *arg, const struct mem_prediction *p)
{
	struct observer *o = arg;
	pb_mem_prediction x = TAPIO__SENSOR__V1__MEMORY_OOM_PREDICTION__INIT;
	pb_mem_cgroup cg;
	struct mem_event me;

	mem_obs_begin(&me, o, p->subject == MEM_PRED_PROCESS ? p->pid : 0,
		      PB_TYPE(MEMORY_OOM_PREDICTION));
	x.subject =
		p->subject == MEM_PRED_PROCESS ? PB_PRED_SUBJECT(PROCESS) : PB_PRED_SUBJECT(CGROUP);
	if (p->cg) {
		fill_pred_cgroup(&cg, p->cg);
		x.cgroup = &cg;
		container_from_path(&me, p->cg->path);
	}
	x.usage_bytes = p->usage;
	x.limit_bytes = p->limit;
	x.headroom_bytes = p->headroom;
	x.growth_bytes_per_sec = p->growth_per_sec;
	x.time_to_oom_ms = p->eta_ms;
	x.samples = p->samples;
	x.window_ms = p->span_ms;
	me.c.ev.payload_case = PB_PAYLOAD(MEMORY_OOM_PREDICTION);
	me.c.ev.memory_oom_prediction = &x;
	event_publish(&me.c);
}

static int by_stall_desc(const void *a, const void *b)
{
	const struct mem_stalled *x = a, *y = b;

	return x->stall_ns < y->stall_ns ? 1 : x->stall_ns > y->stall_ns ? -1 : 0;
}

/* Whether pid's cgroup v2 path is cg_path or below it. */
static int pid_in_cgroup(uint32_t pid, const char *cg_path)
{
	char path[MEM_PATH_MAX];
	size_t n = strlen(cg_path);

	if (mem_proc_memcg("/", pid, 2, path, sizeof(path)) < 0)
		return 0;
	return !strncmp(path, cg_path, n) && (path[n] == 0 || path[n] == '/');
}

int mem_obs_collect_stalls(int fd, uint64_t now, uint64_t window_ns, const char *cg_path,
			   struct mem_stalled *out, int max)
{
	struct mem_stall_stat st;
	uint32_t key, next, *prev = NULL;
	int n = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &st) != 0 || now < st.cur_start)
			continue;
		if (mem_stall_recent(&st, now, window_ns, &out[n].stall_ns, &out[n].stalls) < 0)
			continue;
		if (cg_path && cg_path[0] && !pid_in_cgroup(key, cg_path))
			continue;
		out[n].pid = key;
		out[n].cgroup_id = st.cgroup_id;
		memcpy(out[n].comm, st.comm, TP_TASK_COMM_LEN);
		out[n].comm[TP_TASK_COMM_LEN] = 0;
		utf8_scrub(out[n].comm, strlen(out[n].comm));
		if (++n == max) { /* keep the longest max: sort, and let the rest compete */
			qsort(out, n, sizeof(*out), by_stall_desc);
			n = max - 1;
		}
	}
	qsort(out, n, sizeof(*out), by_stall_desc);
	return n;
}

int mem_stall_recent(const struct mem_stall_stat *st, uint64_t now, uint64_t window_ns,
		     uint64_t *stall_ns, uint32_t *stalls)
{
	uint64_t age = now - st->cur_start;

	if (age >= 2 * window_ns)
		return -1; /* both buckets are older than the last two windows */
	*stall_ns = st->cur_ns;
	*stalls = st->cur_count;
	if (age < window_ns) {
		*stall_ns += st->prev_ns;
		*stalls += st->prev_count;
	}
	return *stall_ns ? 0 : -1;
}

static void on_pressure(void *arg, const struct mem_psi_fired *f)
{
	struct observer *o = arg;
	struct mem_obs *m = state_of(o);
	pb_mem_pressure x = TAPIO__SENSOR__V1__MEMORY_PRESSURE__INIT;
	pb_mem_stalled pbs[MEM_STALLED_MAX], *ptrs[MEM_STALLED_MAX];
	struct mem_stalled st[MEM_STALLED_MAX + 1];
	struct mem_event me;
	int n = 0;

	mem_obs_begin(&me, o, 0, PB_TYPE(MEMORY_PRESSURE));
	x.stage = f->full ? PB_PRESSURE_STAGE(FULL) : PB_PRESSURE_STAGE(SOME);
	x.cgroup_path = (char *)f->cgroup_path;
	x.cgroup_id = f->cgroup_id;
	x.threshold_us = f->threshold_us;
	x.window_us = f->window_us;
	if (f->line_read) {
		x.avg10 = f->line.avg10;
		x.avg60 = f->line.avg60;
		x.avg300 = f->line.avg300;
		x.total_us = f->line.total_us;
	}
	if (m->stats_fd >= 0)
		n = mem_obs_collect_stalls(m->stats_fd, sensor_mono_ns(), m->stall_window_ns,
					   f->cgroup_path, st, MEM_STALLED_MAX + 1);
	if (n > MEM_STALLED_MAX)
		n = MEM_STALLED_MAX;
	for (int i = 0; i < n; i++) {
		tapio__sensor__v1__memory_stalled_process__init(&pbs[i]);
		pbs[i].pid = st[i].pid;
		pbs[i].comm = st[i].comm;
		pbs[i].stall_ns = st[i].stall_ns;
		pbs[i].stalls = st[i].stalls;
		pbs[i].cgroup_id = st[i].cgroup_id;
		ptrs[i] = &pbs[i];
	}
	x.stalled = ptrs;
	x.n_stalled = n;
	if (f->cgroup_path[0])
		container_from_path(&me, f->cgroup_path);
	me.c.ev.payload_case = PB_PAYLOAD(MEMORY_PRESSURE);
	me.c.ev.memory_pressure = &x;
	event_publish(&me.c);
}

/* Keeps a pressure trigger on every limited memory cgroup, through its cgroup v2 twin
 * (the same path in the unified hierarchy on a hybrid host). */
static void on_cgroups(void *arg, const struct mem_hier *h,
		       const struct mem_pred_cgroup *const *cgs, int n)
{
	struct mem_obs *m = state_of(arg);
	char file[MEM_PATH_MAX * 2 + 32];
	int full = 0;

	if (!m->psi || !h->unified[0])
		return;
	mem_psi_sync_begin(m->psi);
	for (int i = 0; i < n; i++) {
		uint64_t id = mem_cg_inode(h->unified, cgs[i]->path);

		snprintf(file, sizeof(file), "%s%s/memory.pressure", h->unified, cgs[i]->path);
		if (!id || access(file, R_OK) != 0)
			continue;
		if (mem_psi_watch(m->psi, file, cgs[i]->path, id) == -ENOSPC)
			full++;
	}
	mem_psi_sync_end(m->psi);
	m->psi_untracked = full;
	mem_obs_update_user_counters(arg);
	if (full && !m->psi_full_logged) {
		m->psi_full_logged = 1;
		log_warn("memory: %d limited cgroup(s) get no pressure trigger (at most %d)", full,
			 MEM_PSI_MAX_CGROUPS);
	}
}

static void start_pressure(struct observer *o)
{
	const struct config *cfg = o->sensor->cfg;
	struct mem_obs *m = state_of(o);
	int err;

	if (!cfg->mem_psi_stall_us) {
		observer_skip(o, "psi", "pressure triggers off (--memory-psi-stall-us 0)");
		return;
	}
	m->psi = mem_psi_new(&o->sensor->loop, cfg->mem_psi_stall_us, cfg->mem_psi_window_us,
			     on_pressure, o);
	if (!m->psi)
		return;
	err = mem_psi_watch(m->psi, "/proc/pressure/memory", "", 0);
	if (err == -EINVAL && cfg->mem_psi_window_us % 2000000)
		observer_skip(o, "psi /proc/pressure/memory",
			      "%s: without CAP_SYS_RESOURCE the window must be a multiple of 2 s",
			      strerror(-err));
	else if (err)
		observer_skip(o, "psi /proc/pressure/memory", "%s (kernel without PSI, or psi=0)",
			      strerror(-err));
	else
		snprintf(o->attached[o->n_attached++], sizeof(o->attached[0]),
			 "psi triggers (/proc/pressure/memory, cgroup memory.pressure)");
}

static void start_prediction(struct observer *o)
{
	const struct config *cfg = o->sensor->cfg;
	struct mem_obs *m = state_of(o);
	struct mem_pred_cfg pc = {
		.root = "/",
		.page_size = m->page_size,
		.interval_ms = cfg->mem_sample_ms,
		.window_ms = (uint64_t)cfg->mem_predict_window_s * 1000,
		.horizon_ms = (uint64_t)cfg->mem_predict_horizon_s * 1000,
	};

	if (!cfg->mem_sample_ms) {
		observer_skip(o, "oom prediction", "sampling off (--memory-sample-ms 0)");
		return;
	}
	m->pred = mem_predict_new(&pc, on_prediction, on_cgroups, o);
	if (!m->pred || mem_predict_start(m->pred, &o->sensor->loop) != 0) {
		observer_skip(o, "oom prediction", "cannot start the sampler: %s",
			      strerror(ENOMEM));
		return;
	}
	if (!mem_predict_hier(m->pred)->version)
		observer_skip(o, "oom prediction of cgroups",
			      "no memory cgroup controller mounted (processes only)");
}

/* Writes a count of the sensor's own into a counter slot (CPU 0's share; the others 0). */
static void set_user_counter(int fd, uint32_t slot, uint64_t *vals, uint64_t value)
{
	vals[0] = value;
	bpf_map_update_elem(fd, &slot, vals, BPF_ANY);
}

void mem_obs_update_user_counters(struct observer *o)
{
	struct mem_obs *m = state_of(o);
	int ncpu = libbpf_num_possible_cpus();
	struct mem_pred_stats ps = {0};
	uint64_t *vals;
	int fd;

	if (!o->skeleton || ncpu <= 0 || !(vals = calloc(ncpu, sizeof(*vals))))
		return;
	if (m->pred)
		mem_predict_stats(m->pred, &ps);
	fd = bpf_map__fd(skel_of(o)->maps.tp_counters);
	if (fd >= 0) {
		set_user_counter(fd, MEM_CNT_USER_UNTRACKED, vals,
				 mem_alloc_untracked(m->alloc) + ps.cgroups_untracked +
					 ps.procs_untracked + m->psi_untracked);
		set_user_counter(fd, MEM_CNT_ALLOC_FREES_INFERRED, vals,
				 mem_alloc_frees_inferred(m->alloc));
	}
	free(vals);
}

static void start_tracking(struct observer *o)
{
	const struct config *cfg = o->sensor->cfg;
	struct memory_bpf *skel = skel_of(o);
	struct mem_obs *m = state_of(o);
	struct mem_alloc_cfg ac = {
		.selectors = cfg->mem_track,
		.n_selectors = cfg->n_mem_track,
		.sample = cfg->mem_alloc_sample,
		.duty_milli = cfg->mem_alloc_duty_milli,
		.window_ms = cfg->mem_alloc_window_ms,
		.report_ms = (uint64_t)cfg->mem_report_interval_s * 1000,
		.leak_window_ms = (uint64_t)cfg->mem_leak_window_s * 1000,
		.root = "/",
	};
	struct mem_alloc_bpf ab = {
		.malloc = skel->progs.alloc_malloc,
		.calloc = skel->progs.alloc_calloc,
		.realloc = skel->progs.alloc_realloc,
		.mmap = skel->progs.alloc_mmap,
		.ret = skel->progs.alloc_ret,
		.mmap_ret = skel->progs.alloc_mmap_ret,
		.free = skel->progs.alloc_free,
		.munmap = skel->progs.alloc_munmap,
		.allocs_fd = bpf_map__fd(skel->maps.mem_allocs),
		.sites_fd = bpf_map__fd(skel->maps.mem_sites),
		.stacks_fd = bpf_map__fd(skel->maps.mem_alloc_stacks),
		.pending_fd = bpf_map__fd(skel->maps.mem_alloc_pending),
		.window_open = &skel->data->mem_alloc_window_open,
	};

	if (!cfg->n_mem_track) {
		observer_skip(o, "allocation tracking", "no process selected (--memory-track)");
		return;
	}
	if (!features_has(&o->sensor->features, FEAT_UPROBE)) {
		observer_skip(o, "allocation tracking", "uprobes unavailable: %s",
			      features_detail(&o->sensor->features, FEAT_UPROBE));
		return;
	}
	m->alloc = mem_alloc_new(o, &ac, &ab);
	if (!m->alloc || mem_alloc_start(m->alloc, &o->sensor->loop) != 0) {
		observer_skip(o, "allocation tracking", "cannot start: %s", strerror(ENOMEM));
		return;
	}
	if (cfg->mem_alloc_duty_milli < MEM_ALLOC_DUTY_FULL)
		snprintf(o->attached[o->n_attached++], sizeof(o->attached[0]),
			 "libc uprobes of selected processes (%d selection(s)), attached %g %% "
			 "of the time in %u ms windows",
			 cfg->n_mem_track, cfg->mem_alloc_duty_milli / 1000.0,
			 cfg->mem_alloc_window_ms);
	else
		snprintf(o->attached[o->n_attached++], sizeof(o->attached[0]),
			 "libc uprobes of selected processes (%d selection(s))", cfg->n_mem_track);
}

/* After load, before the BPF programs attach: the user-space parts (their entries in
 * the attach list come before the programs'). */
static int mem_loaded(struct observer *o)
{
	struct mem_obs *m = state_of(o);
	uint64_t avail;

	m->stats_fd = bpf_map__fd(skel_of(o)->maps.mem_stall_stats);
	if (mem_meminfo("/", &m->node_total, &avail) < 0)
		m->node_total = 0;
	start_pressure(o);
	start_prediction(o);
	start_tracking(o);
	return 0;
}

static void mem_destroy(struct observer *o)
{
	struct mem_obs *m = state_of(o);

	mem_selftest_cleanup(o);
	if (m) {
		mem_alloc_free(m->alloc); /* its links go before the skeleton's programs */
		mem_psi_free(m->psi);
		mem_predict_free(m->pred);
		free(m);
	}
	o->priv = NULL;
	memory_bpf__destroy(skel_of(o));
}

const struct observer_ops memory_observer = {
	.name = "memory",
	.description = "memory: OOM kills, reclaim stalls, pressure (PSI), OOM prediction, "
		       "allocation tracking (--memory-track)",
	.proto_id = PB_OBSERVER(MEMORY),
	.default_rate = 500, /* the seed's memory limit */
	.default_sample = 1,
	.default_ringbuf = TP_RINGBUF_HIGH,
	.counter_names =
		(const char *const[]){"oom_not_killed", "cgroup_chain_truncated",
				      "reclaim_track_full", "reclaim_unmatched", "reclaim_short",
				      "stall_table_full", "alloc_map_full", "alloc_stack_lost",
				      "alloc_sites_full", "alloc_pending_full", "user_untracked",
				      "alloc_frees_inferred", NULL},
	.open = mem_open,
	.loaded = mem_loaded,
	.decode = mem_decode,
	.destroy = mem_destroy,
	.self_test_start = mem_selftest_start,
	.self_test_event = mem_selftest_event,
};
