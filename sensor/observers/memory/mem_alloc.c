/* mem_alloc.c - see mem_alloc.h. */
#include "observers/memory/mem_alloc.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/observer.h"
#include "core/sensor.h"
#include "core/utf8.h"
#include "enrich/container.h"
#include "memory.h"
#include "observers/memory/mem_cgroups.h"
#include "observers/memory/mem_overlap.h"
#include "observers/memory/mem_symbols.h"
#include "observers/memory/mem_trend.h"
#include "observers/memory/memory_obs.h"

#define PROBES 10

struct site_hist {
	int32_t stack_id;
	uint64_t tick; /* last report tick it was sampled in */
	uint64_t last_emit_ms;
	int suspected;
	struct mem_trend trend;
};

struct alloc_proc {
	uint32_t pid;
	uint64_t start_ticks;
	uint64_t scan; /* last selection pass that saw it */
	struct bpf_link *links[PROBES];
	struct mem_sym *sym;
	struct site_hist hist[MEM_ALLOC_HISTORY];
	int n_hist;
};

/* A site of the mem_sites map, as a report ranks it. */
struct site {
	uint32_t pid;
	int32_t stack_id;
	struct mem_site_stat st;
};

struct mem_alloc {
	struct observer *o;
	struct mem_alloc_cfg cfg;
	char root[MEM_PATH_MAX];
	struct mem_alloc_bpf bpf;
	struct alloc_proc *procs[MEM_ALLOC_MAX_PROCS];
	int n_procs;
	uint64_t scan, reports, last_report_ms;
	int pid_only; /* every selector is pid:N: no /proc walk needed */
	uint64_t untracked;
	int warned;
	uv_timer_t timer;
	int timer_started;
	struct mem_alloc_reap *reaps; /* links being destroyed in threads */
	/* time-sampled tracking */
	struct mem_alloc_reap *window_reap; /* the last window's links, until they are gone */
	uint64_t detach_ms; /* how long the last window's costly probes took to go */
	uint64_t closed_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) when the last one closed */
	uint64_t period_ms; /* from one window's opening to the next's */
	uv_timer_t window;
	int window_started, window_on, handles_open;
	uint64_t windows, inferred_frees;
};

/* Links destroyed in a thread of their own: each destroy waits out a grace period (~100
 * ms on 6.18, one after the other: a second for a process's ten), which the loop does
 * not wait for. The links of a closed window go so (window_reap), and those of a process
 * untracked while its probes are attached (it exited, or left the selection): once they
 * are gone, the blocks the process may have recorded since it was purged (one that left
 * the selection lives on) are purged too. */
struct mem_alloc_reap {
	int n, costly, done;
	uint32_t pid;	  /* the untracked process; 0: a window's links */
	uint64_t took_ms; /* until the first `costly` links were gone */
	pthread_t thread;
	struct mem_alloc_reap *next;
	struct bpf_link *v[];
};

/* Whether the probes come and go in windows (--memory-alloc-duty below 100). */
static int windowed(const struct mem_alloc *a)
{
	return a->cfg.duty_milli < MEM_ALLOC_DUTY_FULL;
}

/* ---- selection -------------------------------------------------------------------- */

static int is_under(const char *path, const char *cg)
{
	size_t n = strlen(cg);

	if (n == 1 && cg[0] == '/')
		return path[0] == '/';
	return !strncmp(path, cg, n) && (path[n] == 0 || path[n] == '/');
}

/* Whether any cgroup line of the process matches the container id prefix or path. */
static int match_cgroups(const char *root, uint32_t pid, const char *container, const char *cgroup)
{
	char path[MEM_PATH_MAX + 64], rel[64], buf[8192];
	struct container_ref ref;

	snprintf(rel, sizeof(rel), "/proc/%u/cgroup", pid);
	if (snprintf(path, sizeof(path), "%s%s", strcmp(root, "/") ? root : "", rel) >=
		    (int)sizeof(path) ||
	    mem_read_file(path, buf, sizeof(buf)) < 0)
		return 0;
	for (char *line = buf, *next; line && *line; line = next) {
		char *p = strchr(line, ':');

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		p = p ? strchr(p + 1, ':') : NULL;
		if (!p)
			continue;
		p++;
		if (cgroup && is_under(p, cgroup))
			return 1;
		if (container && container_parse_cgroup_path(p, &ref) &&
		    !strncmp(ref.id, container, strlen(container)))
			return 1;
	}
	return 0;
}

int mem_alloc_match(const char *root, const char *sel, uint32_t pid)
{
	char path[MEM_PATH_MAX + 64];
	struct stat st;

	if (!strncmp(sel, "pid:", 4))
		return strtoul(sel + 4, NULL, 10) == pid;
	if (!strncmp(sel, "pidns:", 6)) {
		snprintf(path, sizeof(path), "%s/proc/%u/ns/pid", strcmp(root, "/") ? root : "",
			 pid);
		return stat(path, &st) == 0 && (uint64_t)st.st_ino == strtoull(sel + 6, NULL, 10);
	}
	if (!strncmp(sel, "container:", 10))
		return match_cgroups(root, pid, sel + 10, NULL);
	if (!strncmp(sel, "cgroup:", 7))
		return match_cgroups(root, pid, NULL, sel + 7);
	return 0;
}

static int selected(const struct mem_alloc *a, uint32_t pid)
{
	for (int i = 0; i < a->cfg.n_selectors; i++)
		if (mem_alloc_match(a->root, a->cfg.selectors[i], pid))
			return 1;
	return 0;
}

/* ---- attach and detach ------------------------------------------------------------ */

/* The path of the libc the process mapped, as the process sees it. */
static int find_libc(const char *root, uint32_t pid, char *out, size_t len)
{
	char path[MEM_PATH_MAX + 64], line[1024];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc/%u/maps", strcmp(root, "/") ? root : "", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f)) {
		char *file = strchr(line, '/'), *base, *nl;

		if (!file)
			continue;
		if ((nl = strchr(file, '\n')))
			*nl = 0;
		base = strrchr(file, '/') + 1;
		if (!strncmp(base, "libc.so", 7) ||
		    (!strncmp(base, "libc-", 5) && strstr(base, ".so"))) {
			snprintf(out, len, "%s", file);
			found = 1;
		}
	}
	fclose(f);
	return found ? 0 : -1;
}

struct probe_def {
	const char *func;
	int ret;
	size_t prog; /* offset in struct mem_alloc_bpf */
};

/* Frees and munmaps first: a block allocated while the rest attach is then never freed
 * unseen. Returns before entries, so no entry waits for a return that is not there. */
static const struct probe_def probes[PROBES] = {
	{"free", 0, offsetof(struct mem_alloc_bpf, free)},
	{"munmap", 0, offsetof(struct mem_alloc_bpf, munmap)},
	{"malloc", 1, offsetof(struct mem_alloc_bpf, ret)},
	{"calloc", 1, offsetof(struct mem_alloc_bpf, ret)},
	{"realloc", 1, offsetof(struct mem_alloc_bpf, ret)},
	{"mmap", 1, offsetof(struct mem_alloc_bpf, mmap_ret)},
	{"malloc", 0, offsetof(struct mem_alloc_bpf, malloc)},
	{"calloc", 0, offsetof(struct mem_alloc_bpf, calloc)},
	{"realloc", 0, offsetof(struct mem_alloc_bpf, realloc)},
	{"mmap", 0, offsetof(struct mem_alloc_bpf, mmap)},
};

/* Destroying a uprobe link waits for a grace period, and on 6.18 one destroy waits for
 * the one before it: about 95 ms each, so a process's last probe goes a second after its
 * first. The order is the one that ends the cost soonest: malloc's entry and return (one
 * breakpoint, the most frequent call), then free (DETACH_COSTLY probes), then the rarer
 * calls. Accounting does not depend on it: a block whose free goes unseen is found by the
 * overlap sweep. */
static const int detach_order[PROBES] = {6, 2, 0, 7, 3, 8, 4, 9, 5, 1};
#define DETACH_COSTLY 3

/* Takes the processes' links out of them, in detach order across all processes; *costly
 * (when given): how many of them come first and are DETACH_COSTLY probes. */
static int take_links(struct alloc_proc *const *procs, int n_procs, struct bpf_link **out,
		      int *costly)
{
	int n = 0;

	for (int o = 0; o < PROBES; o++) {
		if (o == DETACH_COSTLY && costly)
			*costly = n;
		for (int j = 0; j < n_procs; j++) {
			int i = detach_order[o];

			if (procs[j]->links[i]) {
				out[n++] = procs[j]->links[i];
				procs[j]->links[i] = NULL;
			}
		}
	}
	return n;
}

static void links_destroy(struct bpf_link **v, int n)
{
	for (int i = 0; i < n; i++)
		bpf_link__destroy(v[i]);
}

static void detach(struct alloc_proc *p)
{
	struct bpf_link *v[PROBES];

	links_destroy(v, take_links(&p, 1, v, NULL));
}

static int attach(struct mem_alloc *a, struct alloc_proc *p)
{
	char libc[MEM_PATH_MAX], path[MEM_PATH_MAX + 64];

	if (find_libc(a->root, p->pid, libc, sizeof(libc)) < 0)
		return -ENOENT;
	snprintf(path, sizeof(path), "/proc/%u/root%s", p->pid, libc);
	for (int i = 0; i < PROBES; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = probes[i].func,
			    .retprobe = probes[i].ret);
		struct bpf_program *prog =
			*(struct bpf_program **)((char *)&a->bpf + probes[i].prog);

		p->links[i] = bpf_program__attach_uprobe_opts(prog, (pid_t)p->pid, path, 0, &uo);
		if (!p->links[i]) {
			int err = -errno;

			detach(p);
			return err;
		}
	}
	return 0;
}

struct id_list {
	int32_t *v;
	int n, cap;
};

/* Room for one more entry in a growing array *v of n entries of elem bytes (room for *cap):
 * 0, or -1 when memory ran out (the array is left as it was). */
static int grow(void **v, int n, int *cap, size_t elem)
{
	void *grown;

	if (n < *cap)
		return 0;
	grown = realloc(*v, ((size_t)*cap * 2 + 64) * elem);
	if (!grown)
		return -1;
	*v = grown;
	*cap = *cap * 2 + 64;
	return 0;
}

static int id_push(struct id_list *l, int32_t id)
{
	void *v = l->v;

	if (grow(&v, l->n, &l->cap, sizeof(*l->v)) < 0)
		return -1;
	l->v = v;
	l->v[l->n++] = id;
	return 0;
}

static int cmp_id(const void *x, const void *y)
{
	int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;

	return a < b ? -1 : a > b;
}

/* The process's blocks. Keys are collected first: deleting during a walk restarts it. */
static void purge_allocs(struct mem_alloc *a, uint32_t pid)
{
	struct mem_alloc_key k, *prev = NULL, *del = NULL, *grown;
	int n = 0, cap = 0;

	while (bpf_map_get_next_key(a->bpf.allocs_fd, prev, &k) == 0) {
		prev = &k;
		if (k.pid != pid)
			continue;
		if (n == cap) {
			grown = realloc(del, (cap * 2 + 64) * sizeof(*del));
			if (!grown)
				break;
			del = grown;
			cap = cap * 2 + 64;
		}
		del[n++] = k;
	}
	for (int i = 0; i < n; i++)
		bpf_map_delete_elem(a->bpf.allocs_fd, &del[i]);
	free(del);
}

/* The process's sites, and the stacks no other process's site uses. */
static void purge_sites(struct mem_alloc *a, uint32_t pid)
{
	struct id_list mine = {0}, others = {0};
	struct mem_site_key k, *prev = NULL;

	while (bpf_map_get_next_key(a->bpf.sites_fd, prev, &k) == 0) {
		prev = &k;
		if (id_push(k.pid == pid ? &mine : &others, k.stack_id) < 0)
			break;
	}
	if (others.n) /* qsort and bsearch want a real array even when empty */
		qsort(others.v, others.n, sizeof(int32_t), cmp_id);
	for (int i = 0; i < mine.n; i++) {
		struct mem_site_key del = {.pid = pid, .stack_id = mine.v[i]};

		bpf_map_delete_elem(a->bpf.sites_fd, &del);
		if (mine.v[i] >= 0 && (!others.n || !bsearch(&mine.v[i], others.v, others.n,
							     sizeof(int32_t), cmp_id)))
			bpf_map_delete_elem(a->bpf.stacks_fd, &mine.v[i]);
	}
	free(mine.v);
	free(others.v);
}

/* A process left tracking: its blocks, sites, and the stacks nobody else uses go. */
static void purge(struct mem_alloc *a, uint32_t pid)
{
	purge_allocs(a, pid);
	purge_sites(a, pid);
}

static struct alloc_proc *find_proc(struct mem_alloc *a, uint32_t pid)
{
	for (int i = 0; i < a->n_procs; i++)
		if (a->procs[i]->pid == pid)
			return a->procs[i];
	return NULL;
}

static void *reap_thread(void *arg)
{
	struct mem_alloc_reap *r = arg;
	uint64_t t0 = uv_hrtime();

	links_destroy(r->v, r->costly);
	r->took_ms = (uv_hrtime() - t0) / 1000000;
	links_destroy(r->v + r->costly, r->n - r->costly);
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Takes the links of procs and destroys them in a thread (inline if none can be had).
 * Returns the job, or NULL when nothing is left to wait for. took_ms times the
 * DETACH_COSTLY probes of a window (pid 0), all the links of a process. */
static struct mem_alloc_reap *reap_start(struct mem_alloc *a, struct alloc_proc *const *procs,
					 int n_procs, uint32_t pid)
{
	struct mem_alloc_reap *r =
		calloc(1, sizeof(*r) + (size_t)n_procs * PROBES * sizeof(r->v[0]));

	if (!r) {
		for (int i = 0; i < n_procs; i++)
			detach(procs[i]);
		return NULL;
	}
	r->n = take_links(procs, n_procs, r->v, &r->costly);
	r->pid = pid;
	if (pid)
		r->costly = r->n;
	if (!r->n || pthread_create(&r->thread, NULL, reap_thread, r)) {
		links_destroy(r->v, r->n);
		free(r);
		return NULL;
	}
	r->next = a->reaps;
	a->reaps = r;
	return r;
}

/* Joins the threads that are done (with wait, all of them): a window's tells how long
 * its costly probes took to go; an untracked process's blocks are purged again, unless
 * the pid is tracked anew. */
static void reap_collect(struct mem_alloc *a, int wait)
{
	struct mem_alloc_reap **pp = &a->reaps, *r;

	while ((r = *pp)) {
		if (!wait && !__atomic_load_n(&r->done, __ATOMIC_ACQUIRE)) {
			pp = &r->next;
			continue;
		}
		pthread_join(r->thread, NULL);
		if (r == a->window_reap) {
			a->detach_ms = r->took_ms;
			a->window_reap = NULL;
		} else {
			if (!find_proc(a, r->pid))
				purge(a, r->pid);
			log_info("memory: pid %u untracked, its probes gone in %llu ms", r->pid,
				 (unsigned long long)r->took_ms);
		}
		*pp = r->next;
		free(r);
	}
}

/* background: the links go in a thread (reap_start), not on the caller's time. */
static void untrack(struct mem_alloc *a, int i, int background)
{
	struct alloc_proc *p = a->procs[i];

	if (background)
		reap_start(a, &p, 1, p->pid);
	else
		detach(p);
	purge(a, p->pid);
	mem_sym_free(p->sym);
	free(p);
	a->procs[i] = a->procs[--a->n_procs];
}

static void track(struct mem_alloc *a, uint32_t pid, uint64_t start)
{
	char libc[MEM_PATH_MAX];
	struct alloc_proc *p;
	int err;

	if (a->n_procs == MEM_ALLOC_MAX_PROCS) {
		a->untracked++;
		if (!a->warned++)
			log_warn("memory: more than %d selected processes: pid %u and later ones "
				 "are not tracked",
				 MEM_ALLOC_MAX_PROCS, pid);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return;
	p->pid = pid;
	p->start_ticks = start;
	p->scan = a->scan;
	if (!windowed(a) || a->window_on)
		err = attach(a, p);
	else
		err = find_libc(a->root, pid, libc, sizeof(libc)) < 0 ? -ENOENT : 0;
	if (err) {
		a->untracked++;
		log_warn("memory: cannot track pid %u: %s", pid,
			 err == -ENOENT ? "no libc mapped (static binary?)" : strerror(-err));
		free(p);
		return;
	}
	a->procs[a->n_procs++] = p;
	log_info("memory: tracking allocations of pid %u", pid);
}

static void consider(struct mem_alloc *a, uint32_t pid)
{
	struct alloc_proc *p;
	uint64_t rss, start;

	if (pid == (uint32_t)getpid() || !selected(a, pid) ||
	    mem_proc_stat(a->root, pid, 4096, &rss, &start) < 0)
		return;
	p = find_proc(a, pid);
	if (p && p->start_ticks == start) {
		p->scan = a->scan;
		return;
	}
	if (!p)
		track(a, pid, start);
	/* A reused pid keeps the old entry unseen: it is untracked below, and the new
	 * process is taken on the next pass. */
}

static void select_procs(struct mem_alloc *a)
{
	char path[MEM_PATH_MAX + 8];
	struct dirent *d;
	DIR *dp;

	a->scan++;
	if (a->pid_only) {
		for (int i = 0; i < a->cfg.n_selectors; i++)
			consider(a, (uint32_t)strtoul(a->cfg.selectors[i] + 4, NULL, 10));
	} else {
		snprintf(path, sizeof(path), "%s/proc", strcmp(a->root, "/") ? a->root : "");
		dp = opendir(path);
		while (dp && (d = readdir(dp))) {
			char *end;
			unsigned long pid = strtoul(d->d_name, &end, 10);

			if (!*end && pid && pid <= UINT32_MAX)
				consider(a, (uint32_t)pid);
		}
		if (dp)
			closedir(dp);
	}
	for (int i = a->n_procs - 1; i >= 0; i--)
		if (a->procs[i]->scan != a->scan)
			untrack(a, i, 1);
}

/* ---- time-sampled tracking -------------------------------------------------------- */

/* Threads caught inside an allocator when its return probe went: nothing will ever
 * return for them, and in_allocator() would make their next free look like realloc's. */
static void clear_pending(struct mem_alloc *a)
{
	uint32_t tid;

	while (bpf_map_get_next_key(a->bpf.pending_fd, NULL, &tid) == 0)
		if (bpf_map_delete_elem(a->bpf.pending_fd, &tid) != 0)
			break;
}

/* A block freed between windows: off its site's books and out of the map. */
static void forget_block(struct mem_alloc *a, const struct mem_block *b)
{
	struct mem_alloc_key k = {.pid = b->pid, .addr = b->addr};
	struct mem_site_key sk = {.pid = b->pid, .stack_id = b->stack_id};
	struct mem_site_stat st;

	if (bpf_map_delete_elem(a->bpf.allocs_fd, &k) != 0)
		return;
	if (bpf_map_lookup_elem(a->bpf.sites_fd, &sk, &st) != 0)
		return;
	st.bytes -= (int64_t)b->size;
	st.count--;
	bpf_map_update_elem(a->bpf.sites_fd, &sk, &st, BPF_EXIST);
}

/* Between windows (no probe runs for a tracked process): the blocks a newer block
 * overlaps were freed unseen. Blocks allocated after the window closed (recorded in the
 * moment the gate took to close) are not the window's: they go as well. */
static void sweep(struct mem_alloc *a)
{
	struct mem_alloc_key k, *prev = NULL;
	struct mem_alloc_info info;
	struct mem_block *v = NULL;
	int n = 0, cap = 0;

	while (bpf_map_get_next_key(a->bpf.allocs_fd, prev, &k) == 0) {
		void *grown = v;

		prev = &k;
		if (bpf_map_lookup_elem(a->bpf.allocs_fd, &k, &info) != 0)
			continue;
		if (grow(&grown, n, &cap, sizeof(*v)) < 0)
			break;
		v = grown;
		v[n++] = (struct mem_block){.pid = k.pid,
					    .stack_id = info.stack_id,
					    .addr = k.addr,
					    .size = info.size,
					    .ts_ns = info.ts_ns};
	}
	mem_overlap_mark(v, n);
	for (int i = 0; i < n; i++) {
		if (v[i].stale)
			a->inferred_frees++;
		if (v[i].stale || (a->closed_ns && v[i].ts_ns > a->closed_ns))
			forget_block(a, &v[i]);
	}
	free(v);
}

/* From one window's opening to the next: a window costs the processes its own length and
 * the time its costly probes take to go (as the last window measured), which makes the
 * duty. */
static uint64_t window_period_ms(const struct mem_alloc *a)
{
	return (a->cfg.window_ms + a->detach_ms) * MEM_ALLOC_DUTY_FULL / a->cfg.duty_milli;
}

static void on_window(uv_timer_t *t);

/* Whether the programs record new blocks: not once a window has closed (its probes take
 * up to a second to go, free's before the rarer allocators'). */
static void set_gate(struct mem_alloc *a, uint32_t open)
{
	if (a->bpf.window_open)
		__atomic_store_n(a->bpf.window_open, open, __ATOMIC_RELEASE);
}

static void window_open(struct mem_alloc *a)
{
	uint64_t t0 = uv_hrtime(), t1;

	reap_collect(a, 0);
	if (a->window_reap) { /* not gone yet: the loop does not wait for it */
		uv_timer_start(&a->window, on_window, 20, 0);
		return;
	}
	clear_pending(a);
	sweep(a);
	set_gate(a, 1);
	for (int i = 0; i < a->n_procs; i++) {
		int err = a->procs[i]->links[0] ? 0 : attach(a, a->procs[i]);

		if (err) /* gone, most likely: the next selection pass tells */
			log_debug("memory: pid %u: probes not attached for this window: %s",
				  a->procs[i]->pid, strerror(-err));
	}
	a->window_on = 1;
	a->windows++;
	t1 = uv_hrtime();
	log_debug("memory: allocation window %llu open: %d processes, %.1f ms to open, the "
		  "last one's malloc and free probes took %llu ms to go, %llu frees inferred",
		  (unsigned long long)a->windows, a->n_procs, (double)(t1 - t0) / 1e6,
		  (unsigned long long)a->detach_ms, (unsigned long long)a->inferred_frees);
	/* The window counts from now, not from when this loop iteration began. */
	uv_update_time(a->window.loop);
	uv_timer_start(&a->window, on_window, a->cfg.window_ms, 0);
}

/* The time until malloc's and free's probes are gone is part of what the processes pay
 * for the window (the rarer calls' probes go after): it counts in the next period. */
static void window_close(struct mem_alloc *a)
{
	a->window_on = 0;
	set_gate(a, 0);
	a->closed_ns = uv_hrtime();
	a->period_ms = window_period_ms(a);
	uv_timer_start(&a->window, on_window, a->period_ms - a->cfg.window_ms, 0);
	a->window_reap = reap_start(a, a->procs, a->n_procs, 0);
}

static void on_window(uv_timer_t *t)
{
	struct mem_alloc *a = t->data;

	if (a->window_on)
		window_close(a);
	else
		window_open(a);
}

/* ---- reports ---------------------------------------------------------------------- */

struct site_list {
	struct site *v;
	int n, cap;
};

static int site_push(struct site_list *l, const struct site *s)
{
	void *v = l->v;

	if (grow(&v, l->n, &l->cap, sizeof(*l->v)) < 0)
		return -1;
	l->v = v;
	l->v[l->n++] = *s;
	return 0;
}

static int by_pid_then_bytes(const void *x, const void *y)
{
	const struct site *a = x, *b = y;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->st.bytes < b->st.bytes ? 1 : a->st.bytes > b->st.bytes ? -1 : 0;
}

static void read_sites(struct mem_alloc *a, struct site_list *l)
{
	struct mem_site_key k, *prev = NULL;
	struct site s;

	while (bpf_map_get_next_key(a->bpf.sites_fd, prev, &k) == 0) {
		prev = &k;
		if (bpf_map_lookup_elem(a->bpf.sites_fd, &k, &s.st) != 0 || !find_proc(a, k.pid))
			continue;
		s.pid = k.pid;
		s.stack_id = k.stack_id;
		if (site_push(l, &s) < 0)
			break;
	}
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), by_pid_then_bytes);
}

/* Room for one site's protobuf, frames included. */
struct site_pb {
	pb_mem_site site;
	pb_mem_frame frames[TP_MAX_STACK_DEPTH];
	pb_mem_frame *frame_ptrs[TP_MAX_STACK_DEPTH];
	struct mem_frame sym[TP_MAX_STACK_DEPTH];
};

/* The share of the time allocations are tracked, in percent: windows of window_ms in
 * each period. */
static double tracked_percent(const struct mem_alloc *a)
{
	if (!windowed(a))
		return 100.0;
	return 100.0 * a->cfg.window_ms / (a->period_ms ? a->period_ms : window_period_ms(a));
}

/* What the tracked blocks stand for: times the address sample, and times the share of
 * the time not tracked. */
static double scale(const struct mem_alloc *a)
{
	return a->cfg.sample * 100.0 / tracked_percent(a);
}

static uint64_t scaled(const struct mem_alloc *a, int64_t v)
{
	return v > 0 ? (uint64_t)((double)v * scale(a) + 0.5) : 0;
}

static void fill_site(struct mem_alloc *a, struct alloc_proc *p, const struct site *s,
		      struct site_pb *out)
{
	uint64_t ips[TP_MAX_STACK_DEPTH] = {0};
	int n = 0;

	tapio__sensor__v1__memory_allocation_site__init(&out->site);
	out->site.outstanding_bytes = scaled(a, s->st.bytes);
	out->site.outstanding_allocations = scaled(a, s->st.count);
	out->site.allocated_bytes = scaled(a, (int64_t)s->st.total_bytes);
	out->site.allocations = scaled(a, (int64_t)s->st.total_count);
	if (s->stack_id >= 0 && bpf_map_lookup_elem(a->bpf.stacks_fd, &s->stack_id, ips) == 0) {
		if (!p->sym)
			p->sym = mem_sym_new((pid_t)p->pid);
		for (int i = 0; i < TP_MAX_STACK_DEPTH && ips[i]; i++, n++) {
			pb_mem_frame *f = &out->frames[n];
			struct mem_frame *sf = &out->sym[n];

			if (!p->sym || mem_sym_lookup(p->sym, ips[i], sf) < 0) {
				memset(sf, 0, sizeof(*sf));
				sf->addr = ips[i];
			}
			utf8_scrub(sf->function, strlen(sf->function));
			utf8_scrub(sf->module, strlen(sf->module));
			utf8_scrub(sf->file, strlen(sf->file));
			tapio__sensor__v1__memory_stack_frame__init(f);
			f->address = sf->addr;
			f->function = sf->function;
			f->offset = sf->offset;
			f->module = sf->module;
			f->file = sf->file;
			f->line = sf->line;
			out->frame_ptrs[n] = f;
		}
	}
	out->site.frames = out->frame_ptrs;
	out->site.n_frames = n;
}

static void emit_report(struct mem_alloc *a, struct alloc_proc *p, const struct site *s, int n)
{
	pb_mem_report x = TAPIO__SENSOR__V1__MEMORY_ALLOCATION_REPORT__INIT;
	int top = n < MEM_ALLOC_TOP_SITES ? n : MEM_ALLOC_TOP_SITES;
	struct site_pb *sp = calloc(top ? top : 1, sizeof(*sp));
	pb_mem_site *ptrs[MEM_ALLOC_TOP_SITES];
	int64_t bytes = 0, count = 0;
	struct mem_event me;

	if (!sp)
		return;
	for (int i = 0; i < n; i++) {
		bytes += s[i].st.bytes;
		count += s[i].st.count;
	}
	for (int i = 0; i < top; i++) {
		fill_site(a, p, &s[i], &sp[i]);
		ptrs[i] = &sp[i].site;
	}
	mem_obs_begin(&me, a->o, p->pid, PB_TYPE(MEMORY_ALLOCATION_REPORT));
	x.sites = ptrs;
	x.n_sites = top;
	x.outstanding_bytes = scaled(a, bytes);
	x.outstanding_allocations = scaled(a, count);
	x.site_count = n;
	x.sample_every = a->cfg.sample;
	x.tracked_time_percent = tracked_percent(a);
	me.c.ev.payload_case = PB_PAYLOAD(MEMORY_ALLOCATION_REPORT);
	me.c.ev.memory_allocation_report = &x;
	event_publish(&me.c);
	free(sp);
}

static void emit_suspect(struct mem_alloc *a, struct alloc_proc *p, const struct site *s,
			 const struct site_hist *h, uint64_t grown, double slope)
{
	pb_mem_leak x = TAPIO__SENSOR__V1__MEMORY_LEAK_SUSPECT__INIT;
	struct site_pb *sp = calloc(1, sizeof(*sp));
	struct mem_event me;

	if (!sp)
		return;
	fill_site(a, p, s, sp);
	mem_obs_begin(&me, a->o, p->pid, PB_TYPE(MEMORY_LEAK_SUSPECT));
	x.site = &sp->site;
	x.grown_bytes = scaled(a, (int64_t)grown);
	x.growth_bytes_per_sec = slope * scale(a);
	x.window_ms = mem_trend_span_ms(&h->trend);
	x.samples = h->trend.n;
	me.c.ev.payload_case = PB_PAYLOAD(MEMORY_LEAK_SUSPECT);
	me.c.ev.memory_leak_suspect = &x;
	event_publish(&me.c);
	free(sp);
}

static struct site_hist *hist_for(struct alloc_proc *p, int32_t stack_id, uint64_t tick)
{
	for (int i = 0; i < p->n_hist; i++)
		if (p->hist[i].stack_id == stack_id)
			return &p->hist[i];
	for (int i = 0; i < p->n_hist; i++) /* reuse a site no longer among the largest */
		if (p->hist[i].tick != tick) {
			memset(&p->hist[i], 0, sizeof(p->hist[i]));
			p->hist[i].stack_id = stack_id;
			return &p->hist[i];
		}
	if (p->n_hist == MEM_ALLOC_HISTORY)
		return NULL;
	memset(&p->hist[p->n_hist], 0, sizeof(p->hist[0]));
	p->hist[p->n_hist].stack_id = stack_id;
	return &p->hist[p->n_hist++];
}

static void watch_leaks(struct mem_alloc *a, struct alloc_proc *p, const struct site *s, int n,
			uint64_t now)
{
	int watched = n < MEM_ALLOC_HISTORY ? n : MEM_ALLOC_HISTORY;
	uint64_t grown;
	double slope;

	for (int i = 0; i < watched; i++) {
		struct site_hist *h = hist_for(p, s[i].stack_id, a->reports);

		if (!h)
			break;
		h->tick = a->reports;
		mem_trend_add(&h->trend, now, s[i].st.bytes > 0 ? (uint64_t)s[i].st.bytes : 0,
			      a->cfg.leak_window_ms);
		if (!mem_trend_leaking(&h->trend, a->cfg.leak_window_ms, &grown, &slope)) {
			h->suspected = 0;
			continue;
		}
		if (h->suspected && now - h->last_emit_ms < a->cfg.leak_window_ms)
			continue;
		h->suspected = 1;
		h->last_emit_ms = now;
		emit_suspect(a, p, &s[i], h, grown, slope);
	}
}

static void report(struct mem_alloc *a, uint64_t now)
{
	struct site_list l = {0};

	a->reports++;
	read_sites(a, &l);
	for (int i = 0; i < l.n;) {
		struct alloc_proc *p = find_proc(a, l.v[i].pid);
		int j = i;

		while (j < l.n && l.v[j].pid == l.v[i].pid)
			j++;
		/* Sites whose blocks were all freed stay in the map with zero bytes. */
		if (p && l.v[i].st.bytes > 0) {
			int live = 0;

			while (i + live < j && l.v[i + live].st.bytes > 0)
				live++;
			emit_report(a, p, &l.v[i], live);
			watch_leaks(a, p, &l.v[i], live, now);
		}
		i = j;
	}
	free(l.v);
}

void mem_alloc_tick(struct mem_alloc *a, uint64_t now_ms)
{
	reap_collect(a, 0);
	select_procs(a);
	if (!a->last_report_ms || now_ms - a->last_report_ms >= a->cfg.report_ms) {
		a->last_report_ms = now_ms ? now_ms : 1;
		report(a, now_ms);
	}
	mem_obs_update_user_counters(a->o);
}

/* ---- lifecycle -------------------------------------------------------------------- */

struct mem_alloc *mem_alloc_new(struct observer *o, const struct mem_alloc_cfg *cfg,
				const struct mem_alloc_bpf *bpf)
{
	struct mem_alloc *a;

	if (!cfg->n_selectors)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->o = o;
	a->cfg = *cfg;
	if (!a->cfg.sample)
		a->cfg.sample = 1;
	if (!a->cfg.duty_milli || a->cfg.duty_milli > MEM_ALLOC_DUTY_FULL)
		a->cfg.duty_milli = MEM_ALLOC_DUTY_FULL;
	if (!a->cfg.window_ms)
		a->cfg.window_ms = 100;
	snprintf(a->root, sizeof(a->root), "%s", cfg->root);
	a->cfg.root = a->root;
	a->bpf = *bpf;
	a->pid_only = 1;
	for (int i = 0; i < cfg->n_selectors; i++)
		a->pid_only &= !strncmp(cfg->selectors[i], "pid:", 4);
	return a;
}

static void on_timer(uv_timer_t *t)
{
	mem_alloc_tick(t->data, uv_now(t->loop));
}

int mem_alloc_start(struct mem_alloc *a, uv_loop_t *loop)
{
	int err;

	uv_timer_init(loop, &a->timer);
	a->timer.data = a;
	a->timer_started = 1;
	a->handles_open = 1;
	err = uv_timer_start(&a->timer, on_timer, 0, MEM_ALLOC_SCAN_MS);
	if (err || !windowed(a))
		return err;
	/* The first window opens right after the first selection pass (same due time,
	 * started later). */
	uv_timer_init(loop, &a->window);
	a->window.data = a;
	a->window_started = 1;
	a->handles_open++;
	return uv_timer_start(&a->window, on_window, 0, 0);
}

int mem_alloc_tracked(const struct mem_alloc *a)
{
	return a ? a->n_procs : 0;
}

uint64_t mem_alloc_untracked(const struct mem_alloc *a)
{
	return a ? a->untracked : 0;
}

uint64_t mem_alloc_frees_inferred(const struct mem_alloc *a)
{
	return a ? a->inferred_frees : 0;
}

static void on_closed(uv_handle_t *h)
{
	struct mem_alloc *a = h->data;

	if (--a->handles_open == 0)
		free(a);
}

void mem_alloc_free(struct mem_alloc *a)
{
	if (!a)
		return;
	reap_collect(a, 1);
	while (a->n_procs)
		untrack(a, a->n_procs - 1, 0);
	if (!a->timer_started) {
		free(a);
		return;
	}
	uv_timer_stop(&a->timer);
	uv_close((uv_handle_t *)&a->timer, on_closed);
	if (a->window_started) {
		uv_timer_stop(&a->window);
		uv_close((uv_handle_t *)&a->window, on_closed);
	}
}
