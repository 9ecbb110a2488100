/* mem_psi.c - see mem_psi.h. */
#include "observers/memory/mem_psi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "observers/memory/mem_cgroups.h"

#define MEM_PSI_MAX_WATCHES (MEM_PSI_MAX_CGROUPS + 1)

struct trigger {
	uv_poll_t poll;
	int fd;
	int full;
	struct watch *w;
};

struct watch {
	struct mem_psi *p;
	char file[MEM_PATH_MAX];
	char cgroup_path[MEM_PATH_MAX];
	uint64_t cgroup_id;
	int marked;
	int in_use;
	struct trigger trig[2]; /* some, full */
	int open_handles;
};

struct mem_psi {
	uv_loop_t *loop;
	uint64_t stall_us, window_us;
	mem_psi_fire_fn fn;
	void *arg;
	struct watch *watches[MEM_PSI_MAX_WATCHES];
	int closing;
	int open_handles; /* over all watches: the set is freed when it reaches 0 */
};

int mem_psi_parse(const char *buf, int full, struct mem_psi_line *out)
{
	const char *want = full ? "full " : "some ";
	const char *p = buf;

	while (p && strncmp(p, want, 5))
		p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
	if (!p)
		return -1;
	if (sscanf(p + 5, "avg10=%lf avg60=%lf avg300=%lf total=%llu", &out->avg10, &out->avg60,
		   &out->avg300, (unsigned long long *)&out->total_us) != 4)
		return -1;
	return 0;
}

struct mem_psi *mem_psi_new(uv_loop_t *loop, uint64_t stall_us, uint64_t window_us,
			    mem_psi_fire_fn fn, void *arg)
{
	struct mem_psi *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->loop = loop;
	p->stall_us = stall_us;
	p->window_us = window_us;
	p->fn = fn;
	p->arg = arg;
	return p;
}

static void maybe_free_set(struct mem_psi *p)
{
	if (p->closing && p->open_handles == 0)
		free(p);
}

static void on_closed(uv_handle_t *h)
{
	struct trigger *t = h->data;
	struct watch *w = t->w;
	struct mem_psi *p = w->p;

	close(t->fd);
	t->fd = -1;
	p->open_handles--;
	if (--w->open_handles == 0)
		free(w);
	maybe_free_set(p);
}

static void close_watch(struct mem_psi *p, int i)
{
	struct watch *w = p->watches[i];

	p->watches[i] = NULL;
	for (int k = 0; k < 2; k++) {
		if (w->trig[k].fd < 0)
			continue;
		if (uv_is_active((uv_handle_t *)&w->trig[k].poll))
			uv_poll_stop(&w->trig[k].poll);
		uv_close((uv_handle_t *)&w->trig[k].poll, on_closed);
	}
	if (w->open_handles == 0)
		free(w);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct trigger *t = h->data;
	struct watch *w = t->w;
	struct mem_psi *p = w->p;
	struct mem_psi_fired f = {0};
	char buf[512];

	if (status < 0) { /* the cgroup went away (POLLERR) */
		for (int i = 0; i < MEM_PSI_MAX_WATCHES; i++)
			if (p->watches[i] == w)
				close_watch(p, i);
		return;
	}
	if (!(events & UV_PRIORITIZED))
		return;
	f.full = t->full;
	f.cgroup_path = w->cgroup_path;
	f.cgroup_id = w->cgroup_id;
	f.threshold_us = p->stall_us;
	f.window_us = p->window_us;
	/* A fresh descriptor: the trigger's own is not for reading. */
	f.line_read = mem_read_file(w->file, buf, sizeof(buf)) >= 0 &&
		      mem_psi_parse(buf, t->full, &f.line) == 0;
	p->fn(p->arg, &f);
}

static int arm(struct mem_psi *p, struct watch *w, int full)
{
	struct trigger *t = &w->trig[full];
	char spec[64];
	int n, err;

	t->w = w;
	t->full = full;
	t->fd = open(w->file, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0)
		return -errno;
	n = snprintf(spec, sizeof(spec), "%s %llu %llu", full ? "full" : "some",
		     (unsigned long long)p->stall_us, (unsigned long long)p->window_us);
	if (write(t->fd, spec, n + 1) < 0) {
		err = -errno;
		close(t->fd);
		t->fd = -1;
		return err;
	}
	uv_poll_init(p->loop, &t->poll, t->fd);
	t->poll.data = t;
	w->open_handles++;
	p->open_handles++;
	uv_poll_start(&t->poll, UV_PRIORITIZED, on_poll);
	return 0;
}

static int find(const struct mem_psi *p, const char *file)
{
	for (int i = 0; i < MEM_PSI_MAX_WATCHES; i++)
		if (p->watches[i] && !strcmp(p->watches[i]->file, file))
			return i;
	return -1;
}

static int free_slot(const struct mem_psi *p, int node)
{
	int cgroups = 0, slot = -1;

	for (int i = 0; i < MEM_PSI_MAX_WATCHES; i++) {
		if (!p->watches[i])
			slot = slot < 0 ? i : slot;
		else
			cgroups += p->watches[i]->cgroup_path[0] != 0;
	}
	if (!node && cgroups >= MEM_PSI_MAX_CGROUPS)
		return -1;
	return slot;
}

int mem_psi_watch(struct mem_psi *p, const char *file, const char *cgroup_path, uint64_t cgroup_id)
{
	int i = find(p, file), err;
	struct watch *w;

	if (i >= 0) {
		p->watches[i]->marked = 1;
		return 0;
	}
	i = free_slot(p, !cgroup_path[0]);
	if (i < 0)
		return -ENOSPC;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->p = p;
	w->marked = 1;
	w->trig[0].fd = w->trig[1].fd = -1;
	snprintf(w->file, sizeof(w->file), "%s", file);
	snprintf(w->cgroup_path, sizeof(w->cgroup_path), "%s", cgroup_path);
	w->cgroup_id = cgroup_id;
	p->watches[i] = w;
	for (int full = 0; full < 2; full++) {
		err = arm(p, w, full);
		if (err) {
			close_watch(p, i);
			return err;
		}
	}
	return 0;
}

void mem_psi_sync_begin(struct mem_psi *p)
{
	for (int i = 0; i < MEM_PSI_MAX_WATCHES; i++)
		if (p->watches[i] && p->watches[i]->cgroup_path[0])
			p->watches[i]->marked = 0;
}

void mem_psi_sync_end(struct mem_psi *p)
{
	for (int i = 0; i < MEM_PSI_MAX_WATCHES; i++)
		if (p->watches[i] && !p->watches[i]->marked)
			close_watch(p, i);
}

int mem_psi_count(const struct mem_psi *p)
{
	int n = 0;

	for (int i = 0; i < MEM_PSI_MAX_WATCHES; i++)
		n += p->watches[i] != NULL;
	return n;
}

void mem_psi_free(struct mem_psi *p)
{
	if (!p)
		return;
	for (int i = 0; i < MEM_PSI_MAX_WATCHES; i++)
		if (p->watches[i])
			close_watch(p, i);
	p->closing = 1;
	maybe_free_set(p);
}
