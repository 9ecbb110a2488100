/* The process observer's decoder on synthetic kernel records: the events it publishes,
 * what it teaches the process cache, and rejection of malformed records. */
#include <criterion/criterion.h>
#include <string.h>

#include "decode_fixture.h"
#include "process.h"

extern const struct observer_ops process_observer;

#define PODMAN_ID "3f8a0c1d2e4b5a697887766554433221aabbccddeeff00112233445566778899"

static void setup(void)
{
	decode_setup(&process_observer, 0);
	s.mono_to_real_ns = 1000000000000LL;
}

TestSuite(process_decode, .init = setup, .fini = decode_teardown);

static void header(struct tp_event_header *h, int type, uint32_t pid, uint32_t size)
{
	h->ts_ns = 5000000000ULL;
	h->start_ns = 4000000000ULL;
	h->cgroup_id = 777;
	h->pid = pid;
	h->tid = pid;
	h->type = type;
	h->size = size;
	strcpy(h->comm, "worker");
}

static pb_events_response *take(void)
{
	return decode_take(100);
}

static void exec_record(struct proc_exec_event *e, uint32_t pid, uint32_t ppid)
{
	static const char args[] = "/usr/bin/worker\0--mode\0fast";

	memset(e, 0, sizeof(*e));
	header(&e->h, TP_EV_PROCESS_EXEC, pid, sizeof(*e));
	e->info.ppid = ppid;
	e->info.uid = 1000;
	e->info.gid = 100;
	e->info.start_ns = 4000000000ULL;
	e->info.cgroup_id = 777;
	strcpy(e->info.comm, "worker");
	strcpy(e->info.filename, "/usr/bin/worker");
	memcpy(e->args, args, sizeof(args)); /* 28 bytes: last string terminated */
	e->args_len = sizeof(args);
	strcpy(e->cgroup_parent, "libpod_parent");
	strcpy(e->cgroup_name, "libpod-" PODMAN_ID);
}

Test(process_decode, exec_event_and_cache)
{
	struct proc_exec_event e;
	pb_events_response *r;
	pb_event *ev;
	struct pcache_entry *p;

	exec_record(&e, 4242, 1);
	cr_assert_eq(process_observer.decode(o, &e, sizeof(e)), 0);
	r = take();
	cr_assert_eq(r->n_events, 1);
	ev = r->events[0];
	cr_assert_eq(ev->type, PB_TYPE(PROCESS_EXEC));
	cr_assert_eq(ev->observer, PB_OBSERVER(PROCESS));
	cr_assert_str_eq(ev->node, "node-t");
	cr_assert_eq(ev->time->seconds, 1005);
	cr_assert_eq(ev->process->pid, 4242);
	cr_assert_eq(ev->process->ppid, 1);
	cr_assert_eq(ev->process->uid, 1000);
	cr_assert_eq(ev->process->gid, 100);
	cr_assert_eq(ev->process->cgroup_id, 777);
	cr_assert_str_eq(ev->process->comm, "worker");
	cr_assert_str_eq(ev->process->binary, "/usr/bin/worker");
	cr_assert_eq(ev->process->n_args, 3);
	cr_assert_str_eq(ev->process->args[2], "fast");
	cr_assert_eq(ev->payload_case, PB_PAYLOAD(EXEC));
	cr_assert_str_eq(ev->exec->filename, "/usr/bin/worker");
	cr_assert_eq(ev->exec->n_args, 3);
	cr_assert_str_eq(ev->exec->args[0], "/usr/bin/worker");
	cr_assert_str_eq(ev->exec->args[1], "--mode");
	cr_assert_eq(ev->exec->args_truncated, 0);
	cr_assert_not_null(ev->container, "the cgroup names a podman container");
	cr_assert_str_eq(ev->container->id, PODMAN_ID);
	cr_assert_str_eq(ev->container->runtime, "podman");
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);

	p = pcache_peek(enrich_cache(s.enrich), 4242);
	cr_assert_not_null(p);
	cr_assert_str_eq(p->binary, "/usr/bin/worker");
	cr_assert_eq(p->start_ns, 4000000000ULL);
}

Test(process_decode, truncated_args_are_flagged_and_terminated)
{
	struct proc_exec_event e;
	pb_events_response *r;

	exec_record(&e, 4242, 1);
	memset(e.args, 'x', sizeof(e.args)); /* the kernel cut a long argument */
	e.args_len = PROC_ARGS_SIZE;
	e.h.flags = TP_F_TRUNCATED;
	cr_assert_eq(process_observer.decode(o, &e, sizeof(e)), 0);
	r = take();
	cr_assert_eq(r->events[0]->exec->args_truncated, 1);
	cr_assert_eq(r->events[0]->exec->n_args, 1);
	cr_assert_eq(strlen(r->events[0]->exec->args[0]), PROC_ARGS_SIZE - 1);
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);
}

Test(process_decode, fork_inherits_parent_then_exit_codes)
{
	struct proc_exec_event e;
	struct proc_fork_event f;
	struct proc_exit_event x;
	pb_events_response *r;

	exec_record(&e, 4242, 1);
	process_observer.decode(o, &e, sizeof(e));
	memset(&f, 0, sizeof(f));
	header(&f.h, TP_EV_PROCESS_FORK, 4243, sizeof(f));
	f.h.start_ns = 4500000000ULL;
	f.parent_pid = 4242;
	f.parent_tid = 4244;
	cr_assert_eq(process_observer.decode(o, &f, sizeof(f)), 0);

	memset(&x, 0, sizeof(x));
	header(&x.h, TP_EV_PROCESS_EXIT, 4243, sizeof(x));
	x.h.start_ns = 4500000000ULL;
	x.h.ts_ns = 4750000000ULL;
	x.ppid = 4242;
	x.exit_code = 9 << 8;
	cr_assert_eq(process_observer.decode(o, &x, sizeof(x)), 0);

	x.h.pid = x.h.tid = 4242;
	x.h.start_ns = 4000000000ULL;
	x.exit_code = 0x80 | 11; /* SIGSEGV, core dumped */
	cr_assert_eq(process_observer.decode(o, &x, sizeof(x)), 0);

	r = take();
	cr_assert_eq(r->n_events, 4);
	/* fork: the child, with the parent's program, and the parent. */
	cr_assert_eq(r->events[1]->type, PB_TYPE(PROCESS_FORK));
	cr_assert_eq(r->events[1]->process->pid, 4243);
	cr_assert_eq(r->events[1]->process->ppid, 4242);
	cr_assert_str_eq(r->events[1]->process->binary, "/usr/bin/worker");
	cr_assert_eq(r->events[1]->process->n_args, 3);
	cr_assert_eq(r->events[1]->fork->parent_pid, 4242);
	cr_assert_eq(r->events[1]->fork->parent_tid, 4244);
	cr_assert_not_null(r->events[1]->parent);
	cr_assert_eq(r->events[1]->parent->pid, 4242);
	/* exit(9) of the child after 250 ms. */
	cr_assert_eq(r->events[2]->exit->exit_code, 9);
	cr_assert_eq(r->events[2]->exit->signal, 0);
	cr_assert_eq(r->events[2]->exit->lifetime_ns, 250000000ULL);
	/* the parent killed by SIGSEGV with a core dump. */
	cr_assert_eq(r->events[3]->process->pid, 4242);
	cr_assert_eq(r->events[3]->exit->exit_code, 0);
	cr_assert_eq(r->events[3]->exit->signal, 11);
	cr_assert_eq(r->events[3]->exit->core_dumped, 1);
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);
	cr_assert(pcache_peek(enrich_cache(s.enrich), 4242)->flags & PCACHE_F_EXITED);
}

Test(process_decode, reused_pid_is_not_confused_with_the_cached_process)
{
	struct proc_exec_event e;
	struct proc_exit_event x;
	pb_events_response *r;

	exec_record(&e, 4242, 1);
	process_observer.decode(o, &e, sizeof(e));
	/* Another process got pid 4242 later (its exec was not seen): the cache entry of the
	 * old one must not be used for it. */
	memset(&x, 0, sizeof(x));
	header(&x.h, TP_EV_PROCESS_EXIT, 4242, sizeof(x));
	x.h.start_ns = 9000000000ULL;
	x.h.ts_ns = 9100000000ULL;
	strcpy(x.h.comm, "other");
	process_observer.decode(o, &x, sizeof(x));
	r = take();
	cr_assert_eq(r->n_events, 2);
	cr_assert_str_eq(r->events[1]->process->comm, "other");
	cr_assert_str_eq(r->events[1]->process->binary, "");
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);
}

Test(process_decode, malformed_records_are_rejected)
{
	struct proc_exec_event e;
	struct tp_event_header h;

	exec_record(&e, 1, 0);
	cr_assert_eq(process_observer.decode(o, &e, 10), -1, "shorter than a header");
	cr_assert_eq(process_observer.decode(o, &e, sizeof(e) - 1), -1, "short exec");
	memset(&h, 0, sizeof(h));
	h.type = TP_EV_PROCESS_EXIT;
	cr_assert_eq(process_observer.decode(o, &h, sizeof(h)), -1, "short exit");
	h.type = TP_EV_PROCESS_FORK;
	cr_assert_eq(process_observer.decode(o, &h, sizeof(h)), -1, "short fork");
	h.type = 999;
	cr_assert_eq(process_observer.decode(o, &h, sizeof(h)), -1, "unknown type");
	cr_assert_eq(subscriber_queued(sub), 0, "nothing published");
}

Test(process_decode, fork_failure)
{
	struct proc_fork_failed_event f;
	pb_events_response *r;

	memset(&f, 0, sizeof(f));
	header(&f.h, TP_EV_PROCESS_FORK_FAILED, 4242, sizeof(f));
	f.err = 11;
	f.clone_flags = 0x11; /* SIGCHLD */
	cr_assert_eq(process_observer.decode(o, &f, sizeof(f)), 0);
	cr_assert_eq(process_observer.decode(o, &f, sizeof(f) - 1), -1, "short record");
	r = take();
	cr_assert_eq(r->n_events, 1);
	cr_assert_eq(r->events[0]->type, PB_TYPE(PROCESS_FORK_FAILED));
	cr_assert_eq(r->events[0]->fork_failed->error_number, 11);
	cr_assert_str_eq(r->events[0]->fork_failed->error_name, "EAGAIN");
	cr_assert_eq(r->events[0]->fork_failed->clone_flags, 0x11);
	cr_assert_eq(r->events[0]->process->pid, 4242);
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);
}
