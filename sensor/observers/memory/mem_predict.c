/* mem_predict.c - see mem_predict.h. */
#include "observers/memory/mem_predict.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "observers/memory/mem_trend.h"

#define PROC_BUCKETS 8192 /* power of two, twice the table */

struct cg_entry {
	struct mem_pred_cgroup pub;
	char path[MEM_PATH_MAX];
	struct mem_trend trend;
	uint64_t last_emit_ms;
	int predicted;
	int marked;
};

struct proc_entry {
	uint32_t pid;
	int32_t next; /* bucket chain, or the free list */
	uint64_t start_ticks;
	uint64_t rss;
	uint64_t seen_tick;
	uint64_t last_emit_ms;
	int predicted;
	uint64_t cg_gen;     /* generation of the cgroup table cg was resolved at */
	struct cg_entry *cg; /* the limit that applies, NULL: the node */
	char memcg[MEM_PATH_MAX];
	struct mem_trend trend;
};

struct mem_predict {
	struct mem_pred_cfg cfg;
	char root[MEM_PATH_MAX];
	struct mem_hier hier;
	mem_pred_emit_fn emit;
	mem_pred_cgroups_fn cgroups_cb;
	void *arg;
	uv_timer_t timer;
	int timer_started;

	struct cg_entry *cgs[MEM_PRED_MAX_CGROUPS];
	int n_cgs;
	uint64_t cg_gen;
	uint64_t tick;

	struct proc_entry *procs; /* MEM_PRED_MAX_PROCS */
	int32_t buckets[PROC_BUCKETS];
	int32_t free_head;
	int n_procs;

	uint64_t node_total, node_available;
	struct mem_pred_stats stats;
};

struct mem_predict *mem_predict_new(const struct mem_pred_cfg *cfg, mem_pred_emit_fn emit,
				    mem_pred_cgroups_fn cgroups, void *arg)
{
	struct mem_predict *m;

	if (!cfg->interval_ms)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->procs = calloc(MEM_PRED_MAX_PROCS, sizeof(*m->procs));
	if (!m->procs) {
		free(m);
		return NULL;
	}
	m->cfg = *cfg;
	snprintf(m->root, sizeof(m->root), "%s", cfg->root);
	m->cfg.root = m->root;
	m->emit = emit;
	m->cgroups_cb = cgroups;
	m->arg = arg;
	mem_hier_find(m->root, &m->hier); /* none: processes against the node only */
	for (int i = 0; i < PROC_BUCKETS; i++)
		m->buckets[i] = -1;
	for (int i = 0; i < MEM_PRED_MAX_PROCS; i++)
		m->procs[i].next = i + 1 < MEM_PRED_MAX_PROCS ? i + 1 : -1;
	m->free_head = 0;
	return m;
}

const struct mem_hier *mem_predict_hier(const struct mem_predict *m)
{
	return &m->hier;
}

void mem_predict_stats(const struct mem_predict *m, struct mem_pred_stats *out)
{
	*out = m->stats;
	out->cgroups = m->n_cgs;
	out->procs = m->n_procs;
}

/* Emits when a subject first qualifies, then at most once per window. */
static int should_emit(int predicted_now, int *predicted, uint64_t *last_emit, uint64_t now,
		       uint64_t window)
{
	if (!predicted_now) {
		*predicted = 0;
		return 0;
	}
	if (*predicted && now - *last_emit < window)
		return 0;
	*predicted = 1;
	*last_emit = now;
	return 1;
}

/* The fitted growth of t when its history spans at least half the window. */
static int growth(const struct mem_predict *m, const struct mem_trend *t, double *per_sec)
{
	if (mem_trend_span_ms(t) * 2 < m->cfg.window_ms)
		return -1;
	return mem_trend_slope(t, per_sec);
}

/* ---- cgroups ---------------------------------------------------------------------- */

static struct cg_entry *cg_find(struct mem_predict *m, const char *path)
{
	for (int i = 0; i < m->n_cgs; i++)
		if (!strcmp(m->cgs[i]->path, path))
			return m->cgs[i];
	return NULL;
}

static void cg_update(struct cg_entry *c, const struct mem_cg_sample *s)
{
	c->pub.usage = s->usage;
	c->pub.limit = s->limit;
	c->pub.working_set = s->usage > s->inactive_file ? s->usage - s->inactive_file : 0;
}

static int discover_one(const char *path, void *arg)
{
	struct mem_predict *m = arg;
	struct mem_cg_sample s;
	struct cg_entry *c;

	if (mem_cg_read(&m->hier, path, &s) < 0 || s.limit == 0)
		return 0;
	c = cg_find(m, path);
	if (c) {
		c->marked = 1;
		return 0;
	}
	if (m->n_cgs == MEM_PRED_MAX_CGROUPS) {
		m->stats.cgroups_untracked++;
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return 0;
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->pub.path = c->path;
	c->pub.id = mem_cg_inode(m->hier.mount, path);
	c->pub.version = m->hier.version;
	c->marked = 1;
	cg_update(c, &s);
	m->cgs[m->n_cgs++] = c;
	m->cg_gen++;
	return 0;
}

static void cg_remove(struct mem_predict *m, int i)
{
	free(m->cgs[i]);
	m->cgs[i] = m->cgs[--m->n_cgs];
	m->cg_gen++;
}

static void discover(struct mem_predict *m)
{
	m->stats.cgroups_untracked = 0;
	for (int i = 0; i < m->n_cgs; i++)
		m->cgs[i]->marked = 0;
	mem_cg_walk(&m->hier, MEM_PRED_MAX_DEPTH, discover_one, m);
	for (int i = m->n_cgs - 1; i >= 0; i--)
		if (!m->cgs[i]->marked)
			cg_remove(m, i);
	if (m->cgroups_cb)
		m->cgroups_cb(m->arg, &m->hier, (const struct mem_pred_cgroup *const *)m->cgs,
			      m->n_cgs);
}

static uint64_t cg_headroom(const struct cg_entry *c)
{
	return c->pub.limit > c->pub.working_set ? c->pub.limit - c->pub.working_set : 0;
}

static void cg_sample(struct mem_predict *m, uint64_t now)
{
	struct mem_prediction p;
	struct mem_cg_sample s;

	for (int i = m->n_cgs - 1; i >= 0; i--) {
		struct cg_entry *c = m->cgs[i];

		if (mem_cg_read(&m->hier, c->path, &s) < 0 || s.limit == 0) {
			cg_remove(m, i); /* gone, or no longer limited */
			continue;
		}
		cg_update(c, &s);
		mem_trend_add(&c->trend, now, c->pub.working_set, m->cfg.window_ms);
		memset(&p, 0, sizeof(p));
		p.subject = MEM_PRED_CGROUP;
		p.cg = &c->pub;
		p.usage = c->pub.working_set;
		p.limit = c->pub.limit;
		p.headroom = cg_headroom(c);
		if (growth(m, &c->trend, &p.growth_per_sec) < 0)
			continue;
		if (!should_emit(mem_trend_predict(p.headroom, p.growth_per_sec, m->cfg.horizon_ms,
						   &p.eta_ms),
				 &c->predicted, &c->last_emit_ms, now, m->cfg.window_ms))
			continue;
		p.samples = c->trend.n;
		p.span_ms = mem_trend_span_ms(&c->trend);
		m->stats.predictions++;
		m->emit(m->arg, &p);
	}
}

/* ---- processes -------------------------------------------------------------------- */

static struct proc_entry *proc_get(struct mem_predict *m, uint32_t pid, int create)
{
	int32_t *b = &m->buckets[pid & (PROC_BUCKETS - 1)], i;
	struct proc_entry *e;

	for (i = *b; i >= 0; i = m->procs[i].next)
		if (m->procs[i].pid == pid)
			return &m->procs[i];
	if (!create || m->free_head < 0)
		return NULL;
	i = m->free_head;
	e = &m->procs[i];
	m->free_head = e->next;
	memset(e, 0, sizeof(*e));
	e->pid = pid;
	e->next = *b;
	e->cg_gen = UINT64_MAX;
	*b = i;
	m->n_procs++;
	return e;
}

static void proc_drop_stale(struct mem_predict *m)
{
	for (int b = 0; b < PROC_BUCKETS; b++) {
		int32_t *link = &m->buckets[b];

		while (*link >= 0) {
			struct proc_entry *e = &m->procs[*link];
			int32_t i = *link;

			if (e->seen_tick == m->tick) {
				link = &e->next;
				continue;
			}
			*link = e->next;
			e->next = m->free_head;
			m->free_head = i;
			m->n_procs--;
		}
	}
}

static int is_under(const char *path, const char *cg)
{
	size_t n = strlen(cg);

	return !strncmp(path, cg, n) && (path[n] == 0 || path[n] == '/');
}

/* The limited cgroup with the least headroom among the process's memory cgroups. */
static void proc_resolve(struct mem_predict *m, struct proc_entry *e)
{
	e->cg = NULL;
	e->cg_gen = m->cg_gen;
	if (!e->memcg[0])
		return;
	for (int i = 0; i < m->n_cgs; i++)
		if (is_under(e->memcg, m->cgs[i]->path) &&
		    (!e->cg || cg_headroom(m->cgs[i]) < cg_headroom(e->cg)))
			e->cg = m->cgs[i];
}

static void proc_predict(struct mem_predict *m, struct proc_entry *e, uint64_t now)
{
	struct mem_prediction p = {.subject = MEM_PRED_PROCESS, .pid = e->pid};

	if (growth(m, &e->trend, &p.growth_per_sec) < 0 || p.growth_per_sec <= 0)
		return;
	if (e->cg_gen != m->cg_gen)
		proc_resolve(m, e);
	p.usage = e->rss;
	if (e->cg) {
		p.cg = &e->cg->pub;
		p.limit = e->cg->pub.limit;
		p.headroom = cg_headroom(e->cg);
	} else {
		p.limit = m->node_total;
		p.headroom = m->node_available;
	}
	if (!should_emit(
		    mem_trend_predict(p.headroom, p.growth_per_sec, m->cfg.horizon_ms, &p.eta_ms),
		    &e->predicted, &e->last_emit_ms, now, m->cfg.window_ms))
		return;
	p.samples = e->trend.n;
	p.span_ms = mem_trend_span_ms(&e->trend);
	m->stats.predictions++;
	m->emit(m->arg, &p);
}

static void proc_sample_one(struct mem_predict *m, uint32_t pid, uint64_t now)
{
	uint64_t rss, start;
	struct proc_entry *e;

	if (mem_proc_stat(m->root, pid, m->cfg.page_size, &rss, &start) < 0 || rss == 0)
		return; /* gone, or a kernel thread */
	e = proc_get(m, pid, 1);
	if (!e) {
		m->stats.procs_untracked++;
		return;
	}
	if (e->seen_tick && e->start_ticks != start) { /* the pid was reused */
		memset(&e->trend, 0, sizeof(e->trend));
		e->memcg[0] = 0;
		e->predicted = 0;
		e->cg_gen = UINT64_MAX;
	}
	if (!e->seen_tick || e->start_ticks != start) {
		e->start_ticks = start;
		if (!m->hier.version ||
		    mem_proc_memcg(m->root, pid, m->hier.version, e->memcg, sizeof(e->memcg)) < 0)
			e->memcg[0] = 0;
	}
	e->seen_tick = m->tick;
	e->rss = rss;
	mem_trend_add(&e->trend, now, rss, m->cfg.window_ms);
	proc_predict(m, e, now);
}

static void proc_sample(struct mem_predict *m, uint64_t now)
{
	char path[MEM_PATH_MAX + 8];
	struct dirent *d;
	DIR *dp;

	snprintf(path, sizeof(path), "%s/proc", strcmp(m->root, "/") ? m->root : "");
	dp = opendir(path);
	if (!dp)
		return;
	m->stats.procs_untracked = 0;
	while ((d = readdir(dp))) {
		char *end;
		unsigned long pid = strtoul(d->d_name, &end, 10);

		if (*end || !pid || pid > UINT32_MAX)
			continue;
		proc_sample_one(m, (uint32_t)pid, now);
	}
	closedir(dp);
	proc_drop_stale(m);
}

void mem_predict_tick(struct mem_predict *m, uint64_t now_ms)
{
	m->tick++;
	if (m->hier.version && (m->tick - 1) % MEM_PRED_DISCOVER_TICKS == 0)
		discover(m);
	cg_sample(m, now_ms);
	if (mem_meminfo(m->root, &m->node_total, &m->node_available) < 0)
		m->node_total = m->node_available = 0;
	proc_sample(m, now_ms);
}

static void on_timer(uv_timer_t *t)
{
	struct mem_predict *m = t->data;

	mem_predict_tick(m, uv_now(t->loop));
}

int mem_predict_start(struct mem_predict *m, uv_loop_t *loop)
{
	uv_timer_init(loop, &m->timer);
	m->timer.data = m;
	m->timer_started = 1;
	return uv_timer_start(&m->timer, on_timer, 0, m->cfg.interval_ms);
}

static void free_all(struct mem_predict *m)
{
	for (int i = 0; i < m->n_cgs; i++)
		free(m->cgs[i]);
	free(m->procs);
	free(m);
}

static void on_timer_closed(uv_handle_t *h)
{
	free_all(h->data);
}

void mem_predict_free(struct mem_predict *m)
{
	if (!m)
		return;
	if (!m->timer_started) {
		free_all(m);
		return;
	}
	uv_timer_stop(&m->timer);
	uv_close((uv_handle_t *)&m->timer, on_timer_closed);
}
