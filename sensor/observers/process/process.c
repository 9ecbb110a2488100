/* process.c - the process lifecycle observer: fork, exec, exit (bpf/process.bpf.c).
 *
 * Besides streaming the three events, it keeps the process cache current: every exec
 * record replaces what the cache knew of the pid, a fork copies the parent's entry to
 * the child, an exit marks the entry (kept for late events of other observers until the
 * LRU drops it). The kernel-side proc_state map covers what the rate limit hid.
 */
#define _GNU_SOURCE /* strerrorname_np */
#include <errno.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/event.h"
#include "core/features.h"
#include "core/mounts.h"
#include "core/observer.h"
#include "core/sensor.h"
#include "core/utf8.h"
#include "enrich/enrich.h"
#include "enrich/procfs.h"
#include "process.h"
#include "process.skel.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sys/syscall.h>

static struct process_bpf *skel_of(struct observer *o)
{
	return o->skel;
}

/* 1 when the kernel's own BTF has a function called name (fexit needs its BTF id). */
static int kernel_has_func(const char *name)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int found = vmlinux && btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC) > 0;

	btf__free(vmlinux);
	return found;
}

/* 1 when the syscalls:sys_exit_<name> tracepoint exists (CONFIG_FTRACE_SYSCALLS). */
static int syscall_tracepoint(const char *name)
{
	const char *tracefs = mounts_tracefs();
	char path[256];

	if (!tracefs)
		return 0;
	snprintf(path, sizeof(path), "%s/events/syscalls/sys_exit_%s/id", tracefs, name);
	return access(path, R_OK) == 0;
}

/* Fork failures: fexit on kernel_clone when fentry works, else the syscall exit
 * tracepoints, else nothing (said in status). */
static void choose_fork_failed(struct observer *o, struct process_bpf *skel,
			       const struct features *f)
{
	struct bpf_program *tps[] = {skel->progs.fork_failed_clone, skel->progs.fork_failed_clone3,
				     skel->progs.fork_failed_fork, skel->progs.fork_failed_vfork};
	const char *names[] = {"clone", "clone3", "fork", "vfork"};
	int use_fexit = features_has(f, FEAT_FENTRY) && kernel_has_func("kernel_clone");

	if (use_fexit) {
		for (int i = 0; i < 4; i++)
			bpf_program__set_autoload(tps[i], false);
		observer_skip(o, "fork_failed (syscall tracepoints)",
			      "not needed: fexit on kernel_clone is attached");
		return;
	}
	bpf_program__set_autoload(skel->progs.fork_failed_fexit, false);
	observer_skip(o, "fork_failed_fexit (fexit/kernel_clone)", "%s",
		      !features_has(f, FEAT_FENTRY) ? features_detail(f, FEAT_FENTRY)
						    : "no kernel_clone in the kernel's BTF");
	for (int i = 0; i < 4; i++) {
		if (features_has(f, FEAT_TRACEPOINT) && syscall_tracepoint(names[i]))
			continue;
		bpf_program__set_autoload(tps[i], false);
		observer_skip(o, bpf_program__name(tps[i]), "no syscalls:sys_exit_%s tracepoint",
			      names[i]);
	}
}

static int proc_open(struct observer *o, const struct features *f)
{
	struct process_bpf *skel;

	if (!features_has(f, FEAT_RAW_TP))
		return -EOPNOTSUPP; /* the lifecycle programs are raw tracepoints */
	skel = process_bpf__open_opts(observer_open_opts(o));
	if (!skel)
		return -errno;
	o->skel = skel;
	o->skeleton = skel->skeleton;
	o->limits = (struct tp_limits *)&skel->rodata->tp_limits;
	choose_fork_failed(o, skel, f);
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

static int decode_fork_failed(struct observer *o, const struct proc_fork_failed_event *e)
{
	struct event_ctx c;
	pb_fork_failed x = TAPIO__SENSOR__V1__PROCESS_FORK_FAILED__INIT;
	const char *name = strerrorname_np(e->err);

	event_begin(&c, o, &e->h, PB_TYPE(PROCESS_FORK_FAILED));
	x.error_number = e->err;
	x.error_name = (char *)(name ? name : "");
	x.clone_flags = e->clone_flags;
	c.ev.payload_case = PB_PAYLOAD(FORK_FAILED);
	c.ev.fork_failed = &x;
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
	case TP_EV_PROCESS_FORK_FAILED:
		if (len < sizeof(struct proc_fork_failed_event))
			return -1;
		return decode_fork_failed(o, data);
	default:
		return -1;
	}
}

/* ---- self-test: spawn ourselves as SELFTEST_CHILD_NAME, which exits with 7 ---------- */

enum { ST_CHILD, ST_SEEN, ST_UID, ST_CGROUP, ST_FEXIT };
#define SEEN_FORK 1
#define SEEN_EXEC 2
#define SEEN_EXIT 4
#define SEEN_FORK_FAILED 8
#define SEEN_ALL (SEEN_FORK | SEEN_EXEC | SEEN_EXIT | SEEN_FORK_FAILED)
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
	/* A clone the kernel refuses (shared signal handlers need a shared VM): EINVAL. */
	if (syscall(SYS_clone, CLONE_SIGHAND, NULL, NULL, NULL, 0) != -1 || errno != EINVAL)
		selftest_fail(c, "clone(CLONE_SIGHAND) did not fail with EINVAL");
}

static void check_fork_failed(struct selftest_case *c, const pb_event *ev)
{
	const pb_fork_failed *f = ev->fork_failed;

	if (f->error_number != EINVAL || strcmp(f->error_name, "EINVAL")) {
		selftest_fail(c, "fork_failed: errno %d (%s), expected EINVAL", f->error_number,
			      f->error_name);
	} else if (f->clone_flags && f->clone_flags != CLONE_SIGHAND) {
		/* Only fexit sees the flags; the tracepoints report 0. */
		selftest_fail(c, "fork_failed: clone flags %#llx, expected %#x",
			      (unsigned long long)f->clone_flags, CLONE_SIGHAND);
	} else {
		c->v[ST_SEEN] |= SEEN_FORK_FAILED;
		c->v[ST_FEXIT] = f->clone_flags != 0;
	}
}

/* Checks what the kernel side read through CO-RE against what we know; 0 when right,
 * else fails the case. */
static int check_exec(struct selftest_case *c, const pb_event *ev)
{
	const pb_process *p = ev->process;

	if (p->ppid != (uint32_t)getpid())
		selftest_fail(c, "exec: ppid %u, expected %d", p->ppid, getpid());
	else if (p->uid != c->v[ST_UID])
		selftest_fail(c, "exec: uid %u, expected %u", p->uid, (unsigned)c->v[ST_UID]);
	else if (ev->exec->n_args != 2 || strcmp(ev->exec->args[0], SELFTEST_CHILD_NAME) ||
		 strcmp(ev->exec->args[1], "7"))
		selftest_fail(c, "exec: argv not [\"%s\", \"7\"]", SELFTEST_CHILD_NAME);
	else if (strcmp(ev->exec->filename, "/proc/self/exe"))
		selftest_fail(c, "exec: filename \"%s\"", ev->exec->filename);
	else if (c->v[ST_CGROUP] && p->cgroup_id != c->v[ST_CGROUP])
		selftest_fail(c, "exec: cgroup id %llu, expected %llu",
			      (unsigned long long)p->cgroup_id,
			      (unsigned long long)c->v[ST_CGROUP]);
	return c->done ? -1 : 0;
}

static int check_exit(struct selftest_case *c, const pb_event *ev)
{
	int status;

	waitpid((pid_t)c->v[ST_CHILD], &status, 0);
	if (ev->exit->exit_code != SELFTEST_EXIT || ev->exit->signal)
		selftest_fail(c, "exit: code %u signal %u, expected code %d", ev->exit->exit_code,
			      ev->exit->signal, SELFTEST_EXIT);
	else if (ev->exit->lifetime_ns == 0 || ev->exit->lifetime_ns > 60000000000ULL)
		selftest_fail(c, "exit: lifetime %llu ns",
			      (unsigned long long)ev->exit->lifetime_ns);
	return c->done ? -1 : 0;
}

static int check_fork(struct selftest_case *c, const pb_event *ev)
{
	if (ev->fork->parent_pid != (uint32_t)getpid())
		selftest_fail(c, "fork: parent %u, expected %d", ev->fork->parent_pid, getpid());
	return c->done ? -1 : 0;
}

static void proc_self_test_event(struct observer *o, struct selftest_case *c, const pb_event *ev)
{
	const pb_process *p = ev->process;

	if (ev->observer != PB_OBSERVER(PROCESS) || !p)
		return;
	if (ev->payload_case == PB_PAYLOAD(FORK_FAILED) && p->pid == (uint32_t)getpid())
		check_fork_failed(c, ev);
	else if (p->pid == c->v[ST_CHILD] && ev->payload_case == PB_PAYLOAD(FORK) &&
		 check_fork(c, ev) == 0)
		c->v[ST_SEEN] |= SEEN_FORK;
	else if (p->pid == c->v[ST_CHILD] && ev->payload_case == PB_PAYLOAD(EXEC) &&
		 check_exec(c, ev) == 0)
		c->v[ST_SEEN] |= SEEN_EXEC;
	else if (p->pid == c->v[ST_CHILD] && ev->payload_case == PB_PAYLOAD(EXIT) &&
		 check_exit(c, ev) == 0)
		c->v[ST_SEEN] |= SEEN_EXIT;
	if (c->v[ST_SEEN] == SEEN_ALL)
		selftest_pass(
			c,
			"fork, exec, exit of pid %llu (ppid, uid, argv, cgroup, exit code) and "
			"a failed clone (EINVAL, via %s)",
			(unsigned long long)c->v[ST_CHILD],
			c->v[ST_FEXIT] ? "fexit kernel_clone" : "a syscall tracepoint");
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
