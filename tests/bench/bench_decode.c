/* bench_decode: the sensor's user-space cost per event, without the kernel.
 *
 * Feeds synthetic process records (exec, fork, exit in turn) through the real decoder,
 * the enrichment caches and the hub, with one subscriber whose queue is drained into
 * response messages as the gRPC stream would. Prints ns per event and events/s.
 * Usage: bench_decode [EVENTS] [BATCH]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/observer.h"
#include "core/sensor.h"
#include "enrich/enrich.h"
#include "hub/hub.h"
#include "process.h"

extern const struct observer_ops process_observer;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void on_ready(void *ctx)
{
	(void)ctx;
}

static void make_records(struct proc_exec_event *e, struct proc_fork_event *f,
			 struct proc_exit_event *x)
{
	static const char args[] = "/usr/bin/worker\0--mode\0fast\0--id\0000042";

	memset(e, 0, sizeof(*e));
	e->h.type = TP_EV_PROCESS_EXEC;
	e->h.cgroup_id = 777;
	e->info.ppid = 1;
	strcpy(e->info.comm, "worker");
	strcpy(e->info.filename, "/usr/bin/worker");
	memcpy(e->args, args, sizeof(args));
	e->args_len = sizeof(args);
	strcpy(e->cgroup_parent, "libpod_parent");
	strcpy(e->cgroup_name,
	       "libpod-3f8a0c1d2e4b5a697887766554433221aabbccddeeff00112233445566778899");
	memset(f, 0, sizeof(*f));
	f->h.type = TP_EV_PROCESS_FORK;
	f->h.cgroup_id = 777;
	memset(x, 0, sizeof(*x));
	x->h.type = TP_EV_PROCESS_EXIT;
	x->h.cgroup_id = 777;
}

int main(int argc, char **argv)
{
	long events = argc > 1 ? atol(argv[1]) : 1000000;
	uint32_t batch = argc > 2 ? (uint32_t)atoi(argv[2]) : 1000;
	static struct sensor s;
	struct config cfg;
	struct proc_exec_event e;
	struct proc_fork_event f;
	struct proc_exit_event x;
	struct subscriber *sub;
	struct observer *o = &s.observers[0];
	uint64_t t0, t1, bytes = 0;
	size_t len;

	config_init(&cfg);
	s.cfg = &cfg;
	s.enrich = enrich_new(cfg.proc_cache_size, "/nonexistent-root");
	s.hub = hub_new("bench", "bench-node", 0);
	o->ops = &process_observer;
	o->sensor = &s;
	sub = hub_subscribe(s.hub, &(struct subscriber_options){.filters = NULL,
								.queue_size = 65536,
								.ready = on_ready});
	make_records(&e, &f, &x);

	t0 = now_ns();
	for (long i = 0; i < events; i++) {
		uint32_t pid = 1000 + (uint32_t)(i / 3 % 30000);

		if (i % 3 == 0) {
			f.h.pid = f.h.tid = pid;
			f.h.start_ns = f.h.ts_ns = (uint64_t)i + 1;
			f.parent_pid = 1;
			process_observer.decode(o, &f, sizeof(f));
		} else if (i % 3 == 1) {
			e.h.pid = e.h.tid = pid;
			e.h.start_ns = e.info.start_ns = (uint64_t)i;
			e.h.ts_ns = (uint64_t)i + 1;
			process_observer.decode(o, &e, sizeof(e));
		} else {
			x.h.pid = x.h.tid = pid;
			x.h.start_ns = (uint64_t)i - 1;
			x.h.ts_ns = (uint64_t)i + 1;
			x.exit_code = 0;
			process_observer.decode(o, &x, sizeof(x));
		}
		if (subscriber_queued(sub) >= batch) {
			uint8_t *buf = subscriber_take(sub, batch, &len);

			bytes += len;
			free(buf);
		}
	}
	t1 = now_ns();
	printf("bench_decode: %ld process events (fork/exec/exit), batches of %u\n", events, batch);
	printf("  user-space cost: %.0f ns/event (decode + enrich + pack + filter + queue + "
	       "batch)\n",
	       (double)(t1 - t0) / (double)events);
	printf("  throughput:      %.0f events/s on one core\n",
	       (double)events * 1e9 / (double)(t1 - t0));
	printf("  wire size:       %.0f bytes/event\n", (double)bytes / (double)events);
	hub_free(s.hub);
	enrich_free(s.enrich);
	config_free(&cfg);
	return 0;
}
