/* bench_stream: events/s from the hub to real gRPC clients, and the sensor's memory.
 *
 * Runs the sensor's real hub and gRPC server (no kernel) on a loopback port, publishes
 * synthetic process events as fast as the subscribers' queues drain, and exits when
 * EVENTS events were published. The clients are separate processes (the C example
 * client with --quiet, started by tests/bench/run.sh), so the figures include the
 * wire, gRPC and the client's parsing. Prints the sensor-side rate, the cost of filtering
 * per event with the clients' filters, and RSS.
 * Usage: bench_stream PORT EVENTS STREAMS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/server.h"
#include "core/config.h"
#include "core/sensor.h"
#include "enrich/enrich.h"
#include "hub/filter.h"
#include "hub/hub.h"

#define CHUNK 2000	 /* events published per loop turn */
#define HIGH_WATER 50000 /* stop publishing while any queue holds this many */

static struct sensor s;
static struct config cfg;
static uv_idle_t idle;
static uv_timer_t wait_timer;
static long target, published;
static int streams;
static uint64_t t_start, t_end;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static long rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = atol(line + 6);
	if (f)
		fclose(f);
	return kib;
}

static void publish_one(uint32_t pid)
{
	static char *args[] = {"/usr/bin/worker", "--mode", "fast"};
	pb_process p = TAPIO__SENSOR__V1__PROCESS__INIT;
	pb_exec x = TAPIO__SENSOR__V1__PROCESS_EXEC__INIT;
	pb_event ev = TAPIO__SENSOR__V1__EVENT__INIT;
	pb_timestamp t = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

	t.seconds = 1764000000;
	p.pid = pid;
	p.ppid = 1;
	p.comm = "worker";
	p.binary = "/usr/bin/worker";
	p.args = args;
	p.n_args = 3;
	x.filename = "/usr/bin/worker";
	x.args = args;
	x.n_args = 3;
	ev.time = &t;
	ev.node = "bench-node";
	ev.observer = PB_OBSERVER(PROCESS);
	ev.type = PB_TYPE(PROCESS_EXEC);
	ev.process = &p;
	ev.payload_case = PB_PAYLOAD(EXEC);
	ev.exec = &x;
	hub_publish(s.hub, &ev);
}

static uint32_t max_queued(void)
{
	uint32_t m = 0;

	for (struct subscriber *sub = hub_next_subscriber(s.hub, NULL); sub;
	     sub = hub_next_subscriber(s.hub, sub))
		if (subscriber_queued(sub) > m)
			m = subscriber_queued(sub);
	return m;
}

static void report(void)
{
	double secs = (double)(t_end - t_start) / 1e9;

	printf("bench_stream: %ld events published to %d stream(s) in %.2f s: %.0f events/s "
	       "from the hub\n",
	       published, streams, secs, (double)published / secs);
	printf("  subscriber queue drops: %llu (0 means every stream kept up)\n",
	       (unsigned long long)hub_total_dropped(s.hub));
	printf("  sensor RSS with %d subscribers: %ld KiB\n", streams, rss_kib());
}

static void on_stopped_timer(uv_timer_t *t)
{
	sensor_stop(&s, 0);
}

static void on_idle(uv_idle_t *h)
{
	if (!t_start && hub_subscriber_count(s.hub) < (uint32_t)streams)
		return; /* wait for every client before starting the clock */
	if (!t_start) {
		t_start = now_ns();
		printf("  sensor RSS with %d idle subscribers: %ld KiB\n", streams, rss_kib());
	}
	if (max_queued() > HIGH_WATER)
		return; /* let the streams drain: measure delivery, not drops */
	for (int i = 0; i < CHUNK && published < target; i++, published++)
		publish_one(1000 + (uint32_t)(published % 30000));
	if (published < target)
		return;
	if (max_queued() == 0) { /* all handed to gRPC */
		t_end = now_ns();
		report();
		uv_idle_stop(h);
		uv_timer_start(&wait_timer, on_stopped_timer, 2000, 0);
	}
}

int main(int argc, char **argv)
{
	char err[256], listen[64];

	if (argc != 4) {
		fprintf(stderr, "usage: bench_stream PORT EVENTS STREAMS\n");
		return 2;
	}
	target = atol(argv[2]);
	streams = atoi(argv[3]);
	config_init(&cfg);
	snprintf(listen, sizeof(listen), "127.0.0.1:%s", argv[1]);
	free(cfg.listeners[0]);
	free(cfg.listeners[1]);
	cfg.listeners[0] = strdup(listen);
	cfg.n_listeners = 1;
	cfg.queue_size = 65536;
	s.cfg = &cfg;
	uv_loop_init(&s.loop);
	strcpy(s.boot_id, "bench");
	s.enrich = enrich_new(64, "/nonexistent-root");
	s.hub = hub_new(s.boot_id, "bench-node", 0);
	s.server = server_start(&s, err, sizeof(err));
	if (!s.server) {
		fprintf(stderr, "bench_stream: %s\n", err);
		return 1;
	}
	uv_idle_init(&s.loop, &idle);
	uv_idle_start(&idle, on_idle);
	uv_timer_init(&s.loop, &wait_timer);
	printf("bench_stream: serving on %s, waiting for %d stream(s)\n", listen, streams);
	fflush(stdout);
	uv_signal_init(&s.loop, &s.sig_int);
	uv_signal_init(&s.loop, &s.sig_term);
	uv_timer_init(&s.loop, &s.stats_timer);
	uv_run(&s.loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&idle, NULL);
	uv_close((uv_handle_t *)&wait_timer, NULL);
	uv_run(&s.loop, UV_RUN_DEFAULT);
	server_free(s.server);
	hub_free(s.hub);
	enrich_free(s.enrich);
	uv_loop_close(&s.loop);
	config_free(&cfg);
	return 0;
}
