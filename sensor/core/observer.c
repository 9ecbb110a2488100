/* observer.c - the observer runtime: configure, load, attach, drain, count, stop.
 * See observer.h for the split of work between the core and an observer. */
#include "core/observer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/log.h"
#include "core/output.h"
#include "core/sensor.h"

int observer_count(void)
{
	int n = 0;

	while (observer_table[n])
		n++;
	return n;
}

int observer_index(const char *name)
{
	for (int i = 0; observer_table[i]; i++)
		if (!strcmp(observer_table[i]->name, name))
			return i;
	return -1;
}

const struct bpf_object_open_opts *observer_open_opts(const struct observer *o)
{
	static struct bpf_object_open_opts opts;
	const char *btf = o->sensor->cfg->btf_path;

	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.btf_custom_path = btf[0] ? btf : NULL;
	return &opts;
}

void observer_skip(struct observer *o, const char *program, const char *fmt, ...)
{
	struct observer_skip *sk;
	va_list ap;

	if (o->n_skipped == OBSERVER_MAX_LINKS)
		return;
	sk = &o->skipped[o->n_skipped++];
	snprintf(sk->program, sizeof(sk->program), "%s", program);
	va_start(ap, fmt);
	vsnprintf(sk->reason, sizeof(sk->reason), fmt, ap);
	va_end(ap);
	log_info("%s: skipped %s: %s", o->ops->name, sk->program, sk->reason);
}

/* Token cost and burst for a node-wide rate split over per-CPU buckets: each CPU may
 * emit rate/ncpu events per second, with one second of that as burst. */
static void set_limits(struct observer *o, int ncpu)
{
	struct tp_limits *l = o->limits;
	uint64_t per_cpu_burst;

	memset(l, 0, sizeof(*l));
	if (o->rate) {
		l->cost_ns = 1000000000ULL * (uint64_t)ncpu / o->rate;
		if (l->cost_ns == 0)
			l->cost_ns = 1;
		per_cpu_burst = o->rate / (uint64_t)ncpu;
		l->burst_ns = l->cost_ns * (per_cpu_burst ? per_cpu_burst : 1);
	}
	l->sample_every = o->sample;
	l->use_perfbuf = o->use_perfbuf;
	l->coarse_clock = features_has(&o->sensor->features, FEAT_COARSE_CLOCK);
	/* A sixteenth of the ring: a burst wakes the sensor long before the ring fills, a
	 * trickle waits for the drain timer (core/output.c) instead of a wake-up each. */
	l->wakeup_bytes = o->ringbuf_bytes / 16;
}

static int configure_output(struct observer *o)
{
	struct bpf_map *m = bpf_object__find_map_by_name(*o->skeleton->obj, "events");

	if (!m)
		return -ENOENT;
	if (!o->use_perfbuf)
		return bpf_map__set_max_entries(m, o->ringbuf_bytes);
	if (bpf_map__set_type(m, BPF_MAP_TYPE_PERF_EVENT_ARRAY) ||
	    bpf_map__set_key_size(m, sizeof(int)) || bpf_map__set_value_size(m, sizeof(int)))
		return -EINVAL;
	return bpf_map__set_max_entries(m, 0); /* libbpf sizes it to the CPU count */
}

static void record_links(struct observer *o)
{
	const struct bpf_object_skeleton *sk = o->skeleton;

	for (int i = 0; i < sk->prog_cnt && o->n_attached < OBSERVER_MAX_LINKS; i++) {
		struct bpf_program *p = *sk->progs[i].prog;

		if (!*sk->progs[i].link)
			continue;
		snprintf(o->attached[o->n_attached++], sizeof(o->attached[0]), "%s (%s)",
			 bpf_program__name(p), bpf_program__section_name(p));
	}
}

static void apply_config(struct observer *o, const struct config *cfg, const struct features *f)
{
	const struct config_observer *c = &cfg->obs[o - o->sensor->observers];
	const struct observer_ops *ops = o->ops;

	o->rate = c->rate >= 0 ? (uint32_t)c->rate : ops->default_rate;
	if (cfg->self_test && c->rate < 0)
		o->rate = 0; /* the self-test checks the pipeline; a busy node must not fail it */
	o->sample = c->sample >= 0 ? (uint32_t)c->sample : ops->default_sample;
	o->ringbuf_bytes = c->ringbuf >= 0 ? (uint32_t)c->ringbuf : ops->default_ringbuf;
	o->use_perfbuf = cfg->force_perfbuf || !features_has(f, FEAT_RINGBUF);
}

static int start_one(struct observer *o)
{
	struct sensor *s = o->sensor;
	int err, ncpu = libbpf_num_possible_cpus();
	struct bpf_map *events;

	apply_config(o, s->cfg, &s->features);
	err = o->ops->open(o, &s->features);
	if (err)
		return snprintf(o->error, sizeof(o->error), "open: %s", strerror(-err)), err;
	set_limits(o, ncpu > 0 ? ncpu : 1);
	err = configure_output(o);
	if (err)
		return snprintf(o->error, sizeof(o->error), "events map: %s", strerror(-err)), err;
	err = bpf_object__load_skeleton(o->skeleton);
	if (err)
		return snprintf(o->error, sizeof(o->error), "load: %s", strerror(-err)), err;
	if (o->ops->loaded && (err = o->ops->loaded(o)) != 0)
		return snprintf(o->error, sizeof(o->error), "setup: %s", strerror(-err)), err;
	err = bpf_object__attach_skeleton(o->skeleton);
	if (err)
		return snprintf(o->error, sizeof(o->error), "attach: %s", strerror(-err)), err;
	record_links(o);
	events = bpf_object__find_map_by_name(*o->skeleton->obj, "events");
	o->out = output_start(&s->loop, o, bpf_map__fd(events), o->use_perfbuf);
	if (!o->out)
		return snprintf(o->error, sizeof(o->error), "output: %s", strerror(errno)), -errno;
	return 0;
}

static void destroy_one(struct observer *o)
{
	output_stop(o->out);
	o->out = NULL;
	if (o->skel && o->ops->destroy)
		o->ops->destroy(o);
	o->skel = NULL;
	o->skeleton = NULL;
	o->limits = NULL;
}

int observers_start(struct sensor *s)
{
	int running = 0;

	s->n_observers = observer_count();
	for (int i = 0; i < s->n_observers; i++) {
		struct observer *o = &s->observers[i];

		o->ops = observer_table[i];
		o->sensor = s;
		if (!s->cfg->obs[i].enabled) {
			o->state = OBSERVER_DISABLED;
			continue;
		}
		if (start_one(o) != 0) {
			log_error("observer %s failed: %s", o->ops->name, o->error);
			o->state = OBSERVER_FAILED;
			destroy_one(o);
			continue;
		}
		o->state = OBSERVER_RUNNING;
		running++;
		if (o->use_perfbuf)
			log_info("observer %s running: %d programs attached, perf buffer, rate "
				 "%u/s, "
				 "sample 1:%u",
				 o->ops->name, o->n_attached, o->rate, o->sample ? o->sample : 1);
		else
			log_info("observer %s running: %d programs attached, ring buffer %u bytes, "
				 "rate %u/s, sample 1:%u",
				 o->ops->name, o->n_attached, o->ringbuf_bytes, o->rate,
				 o->sample ? o->sample : 1);
	}
	return running;
}

void observers_stop(struct sensor *s)
{
	for (int i = 0; i < s->n_observers; i++) {
		struct observer *o = &s->observers[i];

		if (o->state != OBSERVER_RUNNING)
			continue;
		/* Detach first so nothing new arrives, then take what is still buffered. */
		if (o->skeleton)
			bpf_object__detach_skeleton(o->skeleton);
		if (o->out)
			output_drain(o->out);
		destroy_one(o);
	}
}

void observer_read_stats(const struct observer *o, struct observer_stats *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct bpf_map *m;
	uint64_t *vals;
	int fd;

	memset(out, 0, sizeof(*out));
	out->decoded = o->decoded;
	out->decode_errors = o->decode_errors;
	out->perf_lost = o->perf_lost;
	if (!o->skeleton || ncpu <= 0)
		return;
	m = bpf_object__find_map_by_name(*o->skeleton->obj, "tp_counters");
	fd = m ? bpf_map__fd(m) : -1;
	vals = calloc(ncpu, sizeof(*vals));
	if (fd < 0 || !vals) {
		free(vals);
		return;
	}
	for (uint32_t slot = 0; slot < TP_CNT_MAX; slot++) {
		if (bpf_map_lookup_elem(fd, &slot, vals) != 0)
			continue;
		for (int c = 0; c < ncpu; c++)
			out->counters[slot] += vals[c];
	}
	free(vals);
	/* Samples the perf buffer could not take are ring-buffer-full losses too. */
	out->counters[TP_CNT_RINGBUF_FULL] += o->perf_lost;
}
