/* process.c - the process lifecycle observer: fork, exec, exit (bpf/process.bpf.c).
 *
 * Besides streaming the three events, it keeps the process cache current: every exec
 * record replaces what the cache knew of the pid, a fork copies the parent's entry to
 * the child, an exit marks the entry (kept for late events of other observers until the
 * LRU drops it). The kernel-side proc_state map covers what the rate limit hid.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/event.h"
#include "core/features.h"
#include "core/observer.h"
#include "core/sensor.h"
#include "core/utf8.h"
#include "enrich/enrich.h"
#include "enrich/procfs.h"
#include "process.h"
#include "process.skel.h"

static struct process_bpf *skel_of(struct observer *o)
{
	return o->skel;
}

static int proc_open(struct observer *o, const struct features *f)
{
	struct process_bpf *skel;

	if (!features_has(f, FEAT_RAW_TP))
		return -EOPNOTSUPP; /* every program is a raw tracepoint */
	skel = process_bpf__open_opts(observer_open_opts(o));
	if (!skel)
		return -errno;
	o->skel = skel;
	o->skeleton = skel->skeleton;
	o->limits = (struct tp_limits *)&skel->rodata->tp_limits;
	return 0;
}

static int proc_loaded(struct observer *o)
{
	enrich_set_state_map(o->sensor->enrich, bpf_map__fd(skel_of(o)->maps.proc_state));
	return 0;
}

static void proc_destroy(struct observer *o)
{
	enrich_set_state_map(o->sensor->enrich, -1);
	process_bpf__destroy(skel_of(o));
}

/* Copies a kernel string of fixed size into the cache, always terminated. */
static void terminate(char *s, size_t size)
{
	s[size - 1] = 0;
}

static void cache_exec(struct observer *o, struct proc_exec_event *e)
{
	struct enrich *en = o->sensor->enrich;
	struct pcache_entry *p = pcache_insert(enrich_cache(en), e->h.pid);
	const struct cgroup_info *cg;
	char parts[2 * PROC_CGROUP_NAME + 2];

	if (p) {
		p->ppid = e->info.ppid;
		p->uid = e->info.uid;
		p->gid = e->info.gid;
		p->start_ns = e->info.start_ns;
		p->cgroup_id = e->info.cgroup_id;
		memcpy(p->comm, e->info.comm, sizeof(p->comm));
		pcache_set_binary(p, e->info.filename);
		pcache_set_args(p, e->args, e->args_len);
	}
	/* The full path from /proc when the process still runs, else the kernel's last
	 * two components (enough to recognise a container and its pod). */
	cg = enrich_cgroup(en, e->info.cgroup_id, e->h.pid);
	if ((!cg || !cg->path[0]) && e->cgroup_name[0]) {
		snprintf(parts, sizeof(parts), "%s%s%s", e->cgroup_parent,
			 e->cgroup_parent[0] ? "/" : "", e->cgroup_name);
		enrich_learn_cgroup(en, e->info.cgroup_id, parts);
	}
}

static int decode_exec(struct observer *o, struct proc_exec_event *e)
{
	struct event_ctx c;
	pb_exec x = TAPIO__SENSOR__V1__PROCESS_EXEC__INIT;
	char *args[EVENT_MAX_ARGS];

	terminate(e->info.comm, sizeof(e->info.comm));
	terminate(e->info.filename, sizeof(e->info.filename));
	terminate(e->cgroup_name, sizeof(e->cgroup_name));
	terminate(e->cgroup_parent, sizeof(e->cgroup_parent));
	if (e->args_len >= PROC_ARGS_SIZE) /* keep the last string terminated */
		e->args_len = PROC_ARGS_SIZE - 1;
	e->args[e->args_len] = 0;
	utf8_scrub(e->info.comm, strlen(e->info.comm));
	utf8_scrub(e->info.filename, strlen(e->info.filename));
	utf8_scrub(e->args, e->args_len);
	utf8_scrub(e->cgroup_name, strlen(e->cgroup_name));
	utf8_scrub(e->cgroup_parent, strlen(e->cgroup_parent));
	cache_exec(o, e);

	event_begin(&c, o, &e->h, PB_TYPE(PROCESS_EXEC));
	x.filename = e->info.filename;
	x.n_args = event_split_args(e->args, e->args_len, args, EVENT_MAX_ARGS);
	x.args = args;
	x.args_truncated = !!(e->h.flags & TP_F_TRUNCATED);
	x.old_tid = e->old_tid;
	c.ev.payload_case = PB_PAYLOAD(EXEC);
	c.ev.exec = &x;
	event_publish(&c);
	return 0;
}

static int decode_exit(struct observer *o, const struct proc_exit_event *e)
{
	struct event_ctx c;
	pb_exit x = TAPIO__SENSOR__V1__PROCESS_EXIT__INIT;

	event_begin(&c, o, &e->h, PB_TYPE(PROCESS_EXIT));
	x.exit_code = (e->exit_code >> 8) & 0xff;
	x.signal = e->exit_code & 0x7f;
	x.core_dumped = !!(e->exit_code & 0x80);
	if (e->h.start_ns && e->h.ts_ns > e->h.start_ns)
		x.lifetime_ns = e->h.ts_ns - e->h.start_ns;
	c.ev.payload_case = PB_PAYLOAD(EXIT);
	c.ev.exit = &x;
	event_publish(&c);
	enrich_process_exited(o->sensor->enrich, e->h.pid, e->h.start_ns);
	return 0;
}

static void cache_fork(struct observer *o, const struct proc_fork_event *e)
{
	struct enrich *en = o->sensor->enrich;
	struct pcache_entry *child = pcache_insert(enrich_cache(en), e->h.pid), *parent;

	if (!child)
		return;
	child->ppid = e->parent_pid;
	child->start_ns = e->h.start_ns;
	child->cgroup_id = e->h.cgroup_id;
	memcpy(child->comm, e->h.comm, sizeof(child->comm));
	terminate(child->comm, sizeof(child->comm));
	utf8_scrub(child->comm, strlen(child->comm));
	/* Looked up after the insert: the child is most recently used, so this cannot
	 * evict it. */
	parent = enrich_process(en, e->parent_pid, 0);
	if (!parent) {
		child->flags |= PCACHE_F_PARTIAL;
		return;
	}
	child->uid = parent->uid;
	child->gid = parent->gid;
	child->flags = parent->flags & PCACHE_F_PARTIAL;
	pcache_set_binary(child, parent->binary);
	pcache_set_args(child, parent->args, parent->args_len);
}

static int decode_fork(struct observer *o, const struct proc_fork_event *e)
{
	struct event_ctx c;
	pb_fork x = TAPIO__SENSOR__V1__PROCESS_FORK__INIT;

	cache_fork(o, e);
	event_begin(&c, o, &e->h, PB_TYPE(PROCESS_FORK));
	x.parent_pid = e->parent_pid;
	x.parent_tid = e->parent_tid;
	c.ev.payload_case = PB_PAYLOAD(FORK);
	c.ev.fork = &x;
	event_publish(&c);
	return 0;
}

static int proc_decode(struct observer *o, const void *data, size_t len)
{
	const struct tp_event_header *h = data;

	if (len < sizeof(*h))
		return -1;
	switch (h->type) {
	case TP_EV_PROCESS_EXEC: {
		struct proc_exec_event copy; /* the ring is mapped read-only; strings get cut */

		if (len < sizeof(copy))
			return -1;
		memcpy(&copy, data, sizeof(copy));
		return decode_exec(o, &copy);
	}
	case TP_EV_PROCESS_EXIT:
		if (len < sizeof(struct proc_exit_event))
			return -1;
		return decode_exit(o, data);
	case TP_EV_PROCESS_FORK:
		if (len < sizeof(struct proc_fork_event))
			return -1;
		return decode_fork(o, data);
	default:
		return -1;
	}
}

/* ---- self-test: spawn ourselves as SELFTEST_CHILD_NAME, which exits with 7 ---------- */

enum { ST_CHILD, ST_SEEN, ST_UID, ST_CGROUP };
#define SEEN_FORK 1
#define SEEN_EXEC 2
#define SEEN_EXIT 4
#define SELFTEST_EXIT 7

static uint64_t own_cgroup_id(void)
{
	char path[256], mount[256];

	if (procfs_read_cgroup("/", getpid(), path, sizeof(path)) < 0 ||
	    procfs_unified_mount("/", mount, sizeof(mount)) < 0)
		return 0;
	return procfs_cgroup_id(mount, path);
}

static void proc_self_test_start(struct observer *o, struct selftest_case *c)
{
	char *argv[] = {SELFTEST_CHILD_NAME, "7", NULL}, *envp[] = {NULL};
	pid_t pid;
	int err = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, envp);

	if (err) {
		selftest_fail(c, "posix_spawn /proc/self/exe: %s", strerror(err));
		return;
	}
	c->v[ST_CHILD] = (uint64_t)pid;
	c->v[ST_UID] = getuid();
	c->v[ST_CGROUP] = own_cgroup_id();
}

/* Checks what the kernel side read through CO-RE against what we know. */
static int check_exec(struct selftest_case *c, const pb_event *ev)
{
	const pb_process *p = ev->process;

	if (p->ppid != (uint32_t)getpid())
		return selftest_fail(c, "exec: ppid %u, expected %d", p->ppid, getpid()), -1;
	if (p->uid != c->v[ST_UID])
		return selftest_fail(c, "exec: uid %u, expected %u", p->uid,
				     (unsigned)c->v[ST_UID]),
		       -1;
	if (ev->exec->n_args != 2 || strcmp(ev->exec->args[0], SELFTEST_CHILD_NAME) ||
	    strcmp(ev->exec->args[1], "7"))
		return selftest_fail(c, "exec: argv not [\"%s\", \"7\"]", SELFTEST_CHILD_NAME), -1;
	if (strcmp(ev->exec->filename, "/proc/self/exe"))
		return selftest_fail(c, "exec: filename \"%s\"", ev->exec->filename), -1;
	if (c->v[ST_CGROUP] && p->cgroup_id != c->v[ST_CGROUP])
		return selftest_fail(c, "exec: cgroup id %llu, expected %llu",
				     (unsigned long long)p->cgroup_id,
				     (unsigned long long)c->v[ST_CGROUP]),
		       -1;
	return 0;
}

static int check_exit(struct selftest_case *c, const pb_event *ev)
{
	int status;

	waitpid((pid_t)c->v[ST_CHILD], &status, 0);
	if (ev->exit->exit_code != SELFTEST_EXIT || ev->exit->signal)
		return selftest_fail(c, "exit: code %u signal %u, expected code %d",
				     ev->exit->exit_code, ev->exit->signal, SELFTEST_EXIT),
		       -1;
	if (ev->exit->lifetime_ns == 0 || ev->exit->lifetime_ns > 60000000000ULL)
		return selftest_fail(c, "exit: lifetime %llu ns",
				     (unsigned long long)ev->exit->lifetime_ns),
		       -1;
	return 0;
}

static void proc_self_test_event(struct observer *o, struct selftest_case *c, const pb_event *ev)
{
	if (ev->observer != PB_OBSERVER(PROCESS) || !ev->process ||
	    ev->process->pid != c->v[ST_CHILD])
		return;
	if (ev->payload_case == PB_PAYLOAD(FORK)) {
		if (ev->fork->parent_pid != (uint32_t)getpid())
			return selftest_fail(c, "fork: parent %u, expected %d",
					     ev->fork->parent_pid, getpid());
		c->v[ST_SEEN] |= SEEN_FORK;
	} else if (ev->payload_case == PB_PAYLOAD(EXEC)) {
		if (check_exec(c, ev) < 0)
			return;
		c->v[ST_SEEN] |= SEEN_EXEC;
	} else if (ev->payload_case == PB_PAYLOAD(EXIT)) {
		if (check_exit(c, ev) < 0)
			return;
		c->v[ST_SEEN] |= SEEN_EXIT;
	}
	if (c->v[ST_SEEN] == (SEEN_FORK | SEEN_EXEC | SEEN_EXIT))
		selftest_pass(c,
			      "fork, exec and exit of pid %llu: ppid, uid, argv, cgroup, "
			      "exit code checked",
			      (unsigned long long)c->v[ST_CHILD]);
}

const struct observer_ops process_observer = {
	.name = "process",
	.description = "process lifecycle: fork, exec, exit (sched tracepoints)",
	.proto_id = PB_OBSERVER(PROCESS),
	.default_rate = 100, /* the seed's fork/exec limit */
	.default_sample = 1,
	.default_ringbuf = TP_RINGBUF_MEDIUM,
	.counter_names = (const char *const[]){"proc_state_full", NULL},
	.open = proc_open,
	.loaded = proc_loaded,
	.decode = proc_decode,
	.destroy = proc_destroy,
	.self_test_start = proc_self_test_start,
	.self_test_event = proc_self_test_event,
};
