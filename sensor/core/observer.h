/* observer.h - what an observer is, and the runtime that loads, attaches and drains them.
 *
 * An observer is one BPF object (bpf/<name>.bpf.c), one sensor file
 * (observers/<name>.c) that fills a `struct observer_ops`, and one line in the table of
 * observers/registry.c. The core does everything common: applies the configuration to
 * the object's rodata and maps (rate limit, sampling, ring buffer size or perf buffer
 * fallback), loads it, attaches it, polls its output from the libuv loop, and reads its
 * drop counters. The observer opens its skeleton, picks attach points that the probed
 * kernel features allow, and decodes its records into events.
 */
#ifndef TAPIO_OBSERVER_H
#define TAPIO_OBSERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/pb.h"
#include "core/selftest.h"
#include "tapio_event.h"

struct bpf_object;
struct bpf_object_skeleton;
struct bpf_object_open_opts;
struct sensor;
struct observer;
struct features;

#define OBSERVER_MAX_LINKS 24

struct observer_ops {
	const char *name;	 /* "process": flag and filter name */
	const char *description; /* one line for --help */
	int proto_id;		 /* Tapio__Sensor__V1__Observer value */
	uint32_t default_rate;	 /* events/s the kernel side may emit; 0 = unlimited */
	uint32_t default_sample; /* keep 1 of N; 1 = all */
	uint32_t default_ringbuf;
	/* Names of the observer's own counter slots, from TP_CNT_OBSERVER on (NULL ends). */
	const char *const *counter_names;

	/* Opens the skeleton (not loaded): sets o->skel, o->skeleton, o->limits (the
	 * object's `tp_limits` rodata), and disables programs the kernel cannot run,
	 * recording why with observer_skip(). Returns 0 or a negative errno. */
	int (*open)(struct observer *o, const struct features *f);
	/* Optional: after load, before attach (e.g. to fill maps). */
	int (*loaded)(struct observer *o);
	/* Decodes one record from the kernel. Returns 0, or -1 for a malformed record
	 * (counted as a decode error). */
	int (*decode)(struct observer *o, const void *data, size_t len);
	/* Destroys the skeleton (detaches and frees). */
	void (*destroy)(struct observer *o);

	/* --self-test: cause a representative event (selftest.h)... */
	void (*self_test_start)(struct observer *o, struct selftest_case *c);
	/* ...and look at every event while the test runs; done when c->done is set. */
	void (*self_test_event)(struct observer *o, struct selftest_case *c, const pb_event *ev);
};

enum observer_state {
	OBSERVER_DISABLED = 0, /* not selected by the configuration */
	OBSERVER_RUNNING,
	OBSERVER_FAILED,
};

struct observer_skip {
	char program[64];
	char reason[192];
};

struct observer_stats {
	uint64_t counters[TP_CNT_MAX]; /* summed over CPUs, read from tp_counters */
	uint64_t decoded;
	uint64_t decode_errors;
	uint64_t perf_lost; /* perf buffer fallback: samples the kernel could not write */
};

struct observer {
	const struct observer_ops *ops;
	struct sensor *sensor;
	enum observer_state state;
	char error[256];

	/* Set by ops->open. */
	void *skel;
	struct bpf_object_skeleton *skeleton;
	struct tp_limits *limits;

	/* Configuration in effect. */
	uint32_t rate;
	uint32_t sample;
	uint32_t ringbuf_bytes;
	int use_perfbuf;

	char attached[OBSERVER_MAX_LINKS][128];
	int n_attached;
	struct observer_skip skipped[OBSERVER_MAX_LINKS];
	int n_skipped;

	uint64_t decoded;
	uint64_t decode_errors;
	uint64_t perf_lost;
	uint64_t announced[TP_CNT_MAX]; /* kernel drops already told to subscribers */

	struct output *out; /* ring buffer / perf buffer consumer (core/output.c) */
	struct selftest_case self_test;
	void *priv; /* the observer's own state */
};

/* The table (observers/registry.c). */
extern const struct observer_ops *const observer_table[];
int observer_count(void);
/* Index in observer_table of the observer called name, or -1. */
int observer_index(const char *name);

/* Open options for the observer's skeleton (the --btf file when one was given). */
const struct bpf_object_open_opts *observer_open_opts(const struct observer *o);

/* Records that a program was not attached, and why (shown in status and at start). */
void observer_skip(struct observer *o, const char *program, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Starts every enabled observer of the sensor; an observer that fails is logged,
 * marked FAILED and the others go on. Returns the number running. */
int observers_start(struct sensor *s);
void observers_stop(struct sensor *s);
/* Reads the kernel-side counters of o (summed over CPUs). */
void observer_read_stats(const struct observer *o, struct observer_stats *out);

#endif
