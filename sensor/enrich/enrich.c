/* enrich.c - see enrich.h. */
#include "enrich/enrich.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "core/log.h"
#include "core/utf8.h"
#include "enrich/procfs.h"
#include "process.h"

/* Open-addressed cgroup table. Cgroups come and go with containers; when the table is
 * full it is emptied and refilled on demand (a miss costs one /proc read). */
#define CGROUP_SLOTS 4096
#define CGROUP_MAX_USED (CGROUP_SLOTS * 3 / 4)

/* /proc start times have clock-tick precision (10 ms at HZ=100) and count from boot
 * including suspend; kernel ones are exact ns of CLOCK_MONOTONIC. */
#define PROCFS_START_SLACK_NS 50000000ULL

/* Pids nobody could tell about (gone before the sensor saw them) are not looked up again
 * for a while: a burst of events from one unknown process costs one /proc attempt. */
#define MISS_SLOTS 1024
#define MISS_RETRY_NS 1000000000ULL

struct enrich {
	struct pcache *cache;
	char root[PATH_MAX];
	char unified[PATH_MAX]; /* "" without a cgroup2 mount */
	int state_fd;
	struct cgroup_info *cgroups; /* CGROUP_SLOTS, id 0 = free */
	uint32_t cgroups_used;
	struct {
		uint32_t pid;
		uint64_t at_ns;
	} misses[MISS_SLOTS];
};

struct enrich *enrich_new(uint32_t cache_capacity, const char *root)
{
	struct enrich *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->cache = pcache_new(cache_capacity);
	e->cgroups = calloc(CGROUP_SLOTS, sizeof(*e->cgroups));
	if (!e->cache || !e->cgroups) {
		enrich_free(e);
		return NULL;
	}
	snprintf(e->root, sizeof(e->root), "%s", root);
	if (procfs_unified_mount(root, e->unified, sizeof(e->unified)) < 0)
		e->unified[0] = 0;
	e->state_fd = -1;
	return e;
}

void enrich_free(struct enrich *e)
{
	if (!e)
		return;
	if (e->cache)
		pcache_free(e->cache);
	free(e->cgroups);
	free(e);
}

struct pcache *enrich_cache(struct enrich *e)
{
	return e->cache;
}

void enrich_set_state_map(struct enrich *e, int fd)
{
	e->state_fd = fd;
}

static uint64_t absdiff(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

static int same_start(const struct pcache_entry *p, uint64_t start_ns)
{
	if (!start_ns || !p->start_ns)
		return 1;
	if (p->flags & PCACHE_F_PROCFS)
		return absdiff(p->start_ns, start_ns) <= PROCFS_START_SLACK_NS;
	return p->start_ns == start_ns;
}

static void learn_from_proc(struct enrich *e, struct pcache_entry *p, const char *cgpath)
{
	uint64_t id;

	if (!cgpath[0] || !e->unified[0])
		return;
	id = procfs_cgroup_id(e->unified, cgpath);
	if (id && (!p->cgroup_id || p->cgroup_id == id)) {
		p->cgroup_id = id;
		enrich_learn_cgroup(e, id, cgpath);
	}
}

/* Reads pid from /proc into the cache; NULL when gone or not the process wanted. */
static struct pcache_entry *from_procfs(struct enrich *e, uint32_t pid, uint64_t start_ns)
{
	char cgpath[256];
	struct pcache_entry *p = pcache_insert(e->cache, pid);

	if (!p)
		return NULL;
	if (procfs_read_process(e->root, pid, p, cgpath, sizeof(cgpath)) < 0 ||
	    !same_start(p, start_ns)) {
		pcache_remove(e->cache, pid);
		return NULL;
	}
	/* /proc gives bytes; the cache holds what can go into a protobuf string. */
	utf8_scrub(p->comm, strlen(p->comm));
	utf8_scrub(p->binary, strlen(p->binary));
	utf8_scrub(p->args, p->args_len);
	learn_from_proc(e, p, cgpath);
	return p;
}

/* Reads pid from the kernel's proc_state map into the cache. */
static struct pcache_entry *from_state_map(struct enrich *e, uint32_t pid, uint64_t start_ns)
{
	struct proc_info info;
	struct pcache_entry *p;

	if (e->state_fd < 0 || bpf_map_lookup_elem(e->state_fd, &pid, &info) != 0)
		return NULL;
	if (start_ns && info.start_ns != start_ns)
		return NULL;
	p = pcache_insert(e->cache, pid);
	if (!p)
		return NULL;
	p->ppid = info.ppid;
	p->uid = info.uid;
	p->gid = info.gid;
	p->start_ns = info.start_ns;
	p->cgroup_id = info.cgroup_id;
	memcpy(p->comm, info.comm, sizeof(p->comm));
	p->comm[sizeof(p->comm) - 1] = 0;
	utf8_scrub(p->comm, strlen(p->comm));
	info.filename[sizeof(info.filename) - 1] = 0;
	utf8_scrub(info.filename, strlen(info.filename));
	pcache_set_binary(p, info.filename);
	if (!info.filename[0])
		p->flags |= PCACHE_F_PARTIAL;
	return p;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct pcache_entry *enrich_process(struct enrich *e, uint32_t pid, uint64_t start_ns)
{
	struct pcache_entry *p;
	uint32_t slot = pid % MISS_SLOTS;
	uint64_t now;

	if (!pid)
		return NULL;
	p = pcache_lookup(e->cache, pid);
	if (p && same_start(p, start_ns))
		return p;
	now = mono_ns();
	if (e->misses[slot].pid == pid && now - e->misses[slot].at_ns < MISS_RETRY_NS)
		return NULL;
	/* Missing, or an older process with the same pid: the kernel map is exact and
	 * cheap; /proc also knows the arguments but only while the process lives. */
	p = from_state_map(e, pid, start_ns);
	if (!p)
		p = from_procfs(e, pid, start_ns);
	if (!p) {
		e->misses[slot].pid = pid;
		e->misses[slot].at_ns = now;
	}
	return p;
}

void enrich_process_exited(struct enrich *e, uint32_t pid, uint64_t start_ns)
{
	struct pcache_entry *p = pcache_peek(e->cache, pid);
	struct proc_info info;

	if (p && (!p->start_ns || same_start(p, start_ns)))
		p->flags |= PCACHE_F_EXITED;
	/* Only this process's entry: a new process may already have the pid. */
	if (e->state_fd >= 0 && bpf_map_lookup_elem(e->state_fd, &pid, &info) == 0 &&
	    (!start_ns || info.start_ns == start_ns))
		bpf_map_delete_elem(e->state_fd, &pid);
}

static void scan_one(uint32_t pid, void *arg)
{
	from_procfs(arg, pid, 0);
}

int enrich_scan_proc(struct enrich *e)
{
	return procfs_scan(e->root, scan_one, e);
}

static struct cgroup_info *slot_for(struct enrich *e, uint64_t id, int *found)
{
	uint32_t i = (uint32_t)(id * 0x9E3779B97F4A7C15ULL >> 52) % CGROUP_SLOTS;

	for (uint32_t n = 0; n < CGROUP_SLOTS; n++, i = (i + 1) % CGROUP_SLOTS) {
		if (e->cgroups[i].id == id) {
			*found = 1;
			return &e->cgroups[i];
		}
		if (e->cgroups[i].id == 0) {
			*found = 0;
			return &e->cgroups[i];
		}
	}
	*found = 0;
	return NULL;
}

/* Bundle strings are the runtime's bytes: made valid UTF-8 like everything else. */
static void adopt_meta(struct cgroup_info *c)
{
	struct oci_meta *m = &c->meta;

	utf8_scrub(m->pod_name, strlen(m->pod_name));
	utf8_scrub(m->pod_namespace, strlen(m->pod_namespace));
	utf8_scrub(m->pod_uid, strlen(m->pod_uid));
	utf8_scrub(m->container_name, strlen(m->container_name));
	utf8_scrub(m->image, strlen(m->image));
	if (!c->ref.pod_uid[0])
		snprintf(c->ref.pod_uid, sizeof(c->ref.pod_uid), "%s", m->pod_uid);
}

const struct cgroup_info *enrich_learn_cgroup(struct enrich *e, uint64_t cgroup_id,
					      const char *path)
{
	struct cgroup_info *c;
	int found;

	if (cgroup_id == 0)
		return NULL;
	c = slot_for(e, cgroup_id, &found);
	if (!found && e->cgroups_used >= CGROUP_MAX_USED) {
		memset(e->cgroups, 0, CGROUP_SLOTS * sizeof(*e->cgroups));
		e->cgroups_used = 0;
		c = slot_for(e, cgroup_id, &found);
	}
	if (!c)
		return NULL;
	if (!found)
		e->cgroups_used++;
	memset(c, 0, sizeof(*c));
	c->id = cgroup_id;
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->is_container = container_parse_cgroup_path(path, &c->ref);
	/* The bundle exists while the container runs: read it once, when first seen. */
	if (c->is_container && oci_lookup(e->root, c->ref.id, c->ref.runtime, &c->meta) == 1)
		adopt_meta(c);
	return c;
}

const struct cgroup_info *enrich_cgroup(struct enrich *e, uint64_t cgroup_id, uint32_t pid)
{
	struct cgroup_info *c;
	char cgpath[256];
	int found;

	if (cgroup_id <= 1) /* no cgroup v2 placement (v1-only host) or the root */
		return NULL;
	c = slot_for(e, cgroup_id, &found);
	if (found)
		return c;
	if (!pid || procfs_read_cgroup(e->root, pid, cgpath, sizeof(cgpath)) < 0)
		cgpath[0] = 0;
	if (cgpath[0] && e->unified[0] && procfs_cgroup_id(e->unified, cgpath) == cgroup_id)
		return enrich_learn_cgroup(e, cgroup_id, cgpath);
	/* Unplaceable now (the process is gone): remember that, so its other events do not
	 * each cost a /proc read. */
	return enrich_learn_cgroup(e, cgroup_id, "");
}
