/* mem_selftest.c - the memory observer's --self-test case: a real OOM kill in a memory
 * cgroup of its own.
 *
 * Creates a memory cgroup with a 32 MiB limit (cgroup v1 memory hierarchy, or cgroup v2
 * with the memory controller enabled for the root's children when it is not), spawns
 * /proc/self/exe as SELFTEST_CHILD_NAME "grow", moves it into the cgroup, and lets it
 * allocate until the cgroup's OOM killer ends it. The OOM kill event must name the child
 * as victim and as the task that ran the OOM killer, a cgroup-scoped OOM of exactly that
 * cgroup (path, id, version), its 32 MiB limit with usage at it, and a victim resident
 * size that fills it: values the kernel side read through CO-RE from task, mm and
 * mem_cgroup. Everything it creates is removed at the end, also on failure (destroy);
 * the child dies with the sensor, and a later run removes the cgroup of one that was
 * killed.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/observer.h"
#include "core/selftest.h"
#include "observers/memory/mem_cgroups.h"
#include "observers/memory/memory_obs.h"

#define ST_LIMIT (32ULL << 20)
#define ST_GROW_CAP 512 /* MiB the child allocates at most (a cgroup that did not limit) */

static char *volatile grow_keep[ST_GROW_CAP];

int selftest_child_grow(void)
{
	char go;

	prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the sensor that made the cgroup */
	if (read(0, &go, 1) != 1 || go != 'g')
		return 3; /* the sensor went away before moving us into the cgroup */
	for (int i = 0; i < ST_GROW_CAP; i++) {
		char *p = malloc(1 << 20);

		if (!p)
			return 5;
		memset(p, 0x5a, 1 << 20); /* touched: charged to the cgroup */
		grow_keep[i] = p;
	}
	return 4; /* never killed: the limit did not hold */
}

static struct mem_selftest *st_of(struct observer *o)
{
	return &((struct mem_obs *)o->priv)->st;
}

static int write_file(const char *dir, const char *name, const char *value)
{
	char path[1024];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ok = write(fd, value, strlen(value)) == (ssize_t)strlen(value);
	if (!ok)
		ok = -errno;
	close(fd);
	return ok == 1 ? 0 : ok;
}

/* cgroup v2: the memory controller must be on for the root's children. */
static int enable_v2_memory(struct mem_selftest *t, const char *mount)
{
	char buf[512];

	snprintf(t->subtree, sizeof(t->subtree), "%s/cgroup.subtree_control", mount);
	if (mem_read_file(t->subtree, buf, sizeof(buf)) < 0)
		return -errno;
	if (strstr(buf, "memory"))
		return 0;
	t->enabled_controller = 1;
	return write_file(mount, "cgroup.subtree_control", "+memory");
}

/* Test cgroups of earlier runs that were killed before they could clean up (their
 * sensor's pid is gone) are removed; busy ones stay. */
static void remove_stale(const char *mount)
{
	char path[1024];
	struct dirent *d;
	DIR *dp = opendir(mount);
	long pid;

	while (dp && (d = readdir(dp))) {
		if (strncmp(d->d_name, "tapio-selftest-", 15) ||
		    (pid = strtol(d->d_name + 15, NULL, 10)) <= 0)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", mount, d->d_name);
		rmdir(path);
	}
	if (dp)
		closedir(dp);
}

static int make_cgroup(struct mem_selftest *t, const struct mem_hier *h)
{
	char limit[32];
	int err;

	if (h->version == 2 && (err = enable_v2_memory(t, h->mount)) < 0)
		return err;
	remove_stale(h->mount);
	snprintf(t->rel, sizeof(t->rel), "/tapio-selftest-%d", (int)getpid());
	snprintf(t->cgroup, sizeof(t->cgroup), "%s%s", h->mount, t->rel);
	rmdir(t->cgroup); /* a leftover of a run that was killed */
	if (mkdir(t->cgroup, 0755) < 0) {
		err = -errno;
		t->cgroup[0] = 0;
		return err;
	}
	t->limit = ST_LIMIT;
	snprintf(limit, sizeof(limit), "%llu", (unsigned long long)ST_LIMIT);
	if (h->version == 1) {
		write_file(t->cgroup, "memory.swappiness", "0"); /* OOM, not swap */
		return write_file(t->cgroup, "memory.limit_in_bytes", limit);
	}
	write_file(t->cgroup, "memory.swap.max", "0"); /* absent without swap: fine */
	return write_file(t->cgroup, "memory.max", limit);
}

/* Spawns the child blocked on its stdin, moves it into the cgroup, then lets it go. */
static int spawn_child(struct mem_selftest *t, struct selftest_case *c)
{
	char *argv[] = {SELFTEST_CHILD_NAME, "grow", NULL}, *envp[] = {NULL}, pid[32];
	posix_spawn_file_actions_t fa;
	int p[2], err;

	if (pipe2(p, O_CLOEXEC) < 0)
		return selftest_fail(c, "pipe: %s", strerror(errno)), -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	err = posix_spawn(&t->child, "/proc/self/exe", &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(p[0]);
	if (err) {
		close(p[1]);
		t->child = 0;
		return selftest_fail(c, "posix_spawn /proc/self/exe: %s", strerror(err)), -1;
	}
	snprintf(pid, sizeof(pid), "%d", (int)t->child);
	err = write_file(t->cgroup, "cgroup.procs", pid);
	if (err == 0 && write(p[1], "g", 1) != 1)
		err = -errno;
	close(p[1]); /* on failure the child reads EOF and exits */
	if (err)
		return selftest_fail(c, "moving the child into %s: %s", t->cgroup, strerror(-err)),
		       -1;
	c->v[0] = (uint64_t)t->child;
	return 0;
}

void mem_selftest_start(struct observer *o, struct selftest_case *c)
{
	struct mem_selftest *t = st_of(o);
	struct mem_hier h;
	int err;

	if (mem_hier_find("/", &h) < 0)
		return selftest_fail(c, "no memory cgroup controller mounted (v1 or v2)");
	err = make_cgroup(t, &h);
	if (err)
		return selftest_fail(c, "memory cgroup %s: %s", t->cgroup[0] ? t->cgroup : t->rel,
				     strerror(-err));
	c->v[1] = mem_cg_inode(h.mount, t->rel);
	c->v[2] = (uint64_t)h.version;
	spawn_child(t, c);
}

static void reap(struct mem_selftest *t, int sig)
{
	int status;

	if (t->child <= 0 || t->reaped)
		return;
	if (sig)
		kill(t->child, sig);
	waitpid(t->child, &status, 0);
	t->reaped = 1;
}

void mem_selftest_cleanup(struct observer *o)
{
	struct mem_selftest *t;

	if (!o->priv)
		return;
	t = st_of(o);
	reap(t, SIGKILL);
	/* The memory cgroup may stay busy for a moment after its last task is reaped. */
	for (int i = 0; t->cgroup[0] && i < 50 && rmdir(t->cgroup) < 0 && errno == EBUSY; i++)
		usleep(20000);
	t->cgroup[0] = 0;
	if (t->enabled_controller) {
		int fd = open(t->subtree, O_WRONLY | O_CLOEXEC);

		/* Fails when others now use it on the root's children: then it stays on. */
		if (fd >= 0 && write(fd, "-memory", 7) < 0)
			errno = 0;
		if (fd >= 0)
			close(fd);
		t->enabled_controller = 0;
	}
}

static int check_cgroup(struct selftest_case *c, const struct mem_selftest *t,
			const pb_mem_cgroup *cg, const char *which)
{
	if (!cg)
		return selftest_fail(c, "oom kill: no %s", which), -1;
	if (strcmp(cg->path, t->rel))
		return selftest_fail(c, "oom kill: %s path \"%s\", expected \"%s\"", which,
				     cg->path, t->rel),
		       -1;
	if (cg->id != c->v[1] || cg->cgroup_version != c->v[2])
		return selftest_fail(c, "oom kill: %s id %llu v%u, expected %llu v%llu", which,
				     (unsigned long long)cg->id, cg->cgroup_version,
				     (unsigned long long)c->v[1], (unsigned long long)c->v[2]),
		       -1;
	if (cg->limit_bytes != t->limit || cg->usage_bytes > t->limit ||
	    cg->usage_bytes + (1 << 20) < t->limit)
		return selftest_fail(c, "oom kill: %s usage %llu limit %llu, expected near %llu",
				     which, (unsigned long long)cg->usage_bytes,
				     (unsigned long long)cg->limit_bytes,
				     (unsigned long long)t->limit),
		       -1;
	return 0;
}

void mem_selftest_event(struct observer *o, struct selftest_case *c, const pb_event *ev)
{
	struct mem_selftest *t = st_of(o);
	const pb_mem_oom_kill *k = ev->memory_oom_kill;

	if (ev->payload_case != PB_PAYLOAD(MEMORY_OOM_KILL) || !ev->process ||
	    ev->process->pid != c->v[0] || !c->v[0])
		return;
	if (k->scope != PB_OOM_SCOPE(CGROUP))
		return selftest_fail(c, "oom kill of pid %u: scope %d, expected cgroup",
				     ev->process->pid, k->scope);
	if (check_cgroup(c, t, k->cgroup, "cgroup") < 0 ||
	    check_cgroup(c, t, k->victim_cgroup, "victim cgroup") < 0)
		return;
	if (k->trigger_pid != c->v[0])
		return selftest_fail(c, "oom kill: trigger pid %u, expected the victim %llu",
				     k->trigger_pid, (unsigned long long)c->v[0]);
	if (k->anon_rss_bytes < t->limit / 2 || k->rss_bytes > 2 * t->limit ||
	    k->total_vm_bytes < k->rss_bytes)
		return selftest_fail(
			c, "oom kill: rss %llu (anon %llu) vm %llu, expected ~%llu",
			(unsigned long long)k->rss_bytes, (unsigned long long)k->anon_rss_bytes,
			(unsigned long long)k->total_vm_bytes, (unsigned long long)t->limit);
	reap(t, 0);
	selftest_pass(c,
		      "oom kill of pid %llu in %s (v%llu): scope, cgroup id, limit, usage, rss "
		      "(anon %llu MiB) checked",
		      (unsigned long long)c->v[0], t->rel, (unsigned long long)c->v[2],
		      (unsigned long long)(k->anon_rss_bytes >> 20));
}
