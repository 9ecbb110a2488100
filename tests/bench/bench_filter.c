/* bench_filter: the cost of server-side filtering per event and subscriber, for a
 * typical backend subscription (two allow filters, one with a regex, and a deny filter).
 * Usage: bench_filter [EVENTS] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hub/filter.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 5000000, passed = 0;
	char *obs[] = {"process"}, *types[] = {"process_exec", "process_exit"}, *ns[] = {"shop"};
	Tapio__Sensor__V1__StringMatch rx = TAPIO__SENSOR__V1__STRING_MATCH__INIT;
	Tapio__Sensor__V1__StringMatch *bins[] = {&rx};
	uint32_t deny_pids[] = {1, 2, 3, 4};
	pb_filter a0 = TAPIO__SENSOR__V1__EVENT_FILTER__INIT, a1 = a0, d0 = a0;
	pb_filter *allow[] = {&a0, &a1}, *deny[] = {&d0};
	pb_process p = TAPIO__SENSOR__V1__PROCESS__INIT;
	pb_pod pod = TAPIO__SENSOR__V1__POD__INIT;
	pb_event ev = TAPIO__SENSOR__V1__EVENT__INIT;
	char err[256];
	struct filter_set *fs;
	uint64_t t0, t1;

	rx.match_case = TAPIO__SENSOR__V1__STRING_MATCH__MATCH_REGEX;
	rx.regex = "^/usr/(s?bin|lib)/";
	a0.observers = obs, a0.n_observers = 1;
	a0.event_types = types, a0.n_event_types = 2;
	a0.binary = bins, a0.n_binary = 1;
	a1.pod_namespaces = ns, a1.n_pod_namespaces = 1;
	d0.pids = deny_pids, d0.n_pids = 4;
	fs = filter_compile(allow, 2, deny, 1, err, sizeof(err));
	if (!fs) {
		fprintf(stderr, "bench_filter: %s\n", err);
		return 1;
	}
	p.comm = "worker";
	pod.namespace_ = "web";
	ev.observer = PB_OBSERVER(PROCESS);
	ev.process = &p;
	ev.pod = &pod;
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		p.pid = (uint32_t)(i % 50);
		p.binary = i % 3 ? "/usr/bin/worker" : "/opt/app/bin/server";
		ev.type = i % 2 ? PB_TYPE(PROCESS_EXEC) : PB_TYPE(PROCESS_FORK);
		passed += filter_match(fs, &ev);
	}
	t1 = now_ns();
	printf("bench_filter: %ld events through allow[observers+types+binary regex, pod "
	       "namespace] deny[pids]: %.1f ns/event, %ld passed\n",
	       n, (double)(t1 - t0) / (double)n, passed);
	filter_free(fs);
	return 0;
}
