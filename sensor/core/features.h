/* features.h - what the running kernel lets the sensor use, probed once at start.
 *
 * Each feature is tried for real (a map created, a minimal program loaded and attached)
 * rather than guessed from the version, and the kernel's answer is kept as the reason
 * when it is missing. Observers choose attach points from this; status reports it.
 */
#ifndef TAPIO_FEATURES_H
#define TAPIO_FEATURES_H

enum feature_id {
	FEAT_BTF = 0,	 /* kernel BTF (or --btf file) for CO-RE relocation */
	FEAT_RINGBUF,	 /* BPF_MAP_TYPE_RINGBUF (5.8+) */
	FEAT_PERFBUF,	 /* BPF_MAP_TYPE_PERF_EVENT_ARRAY */
	FEAT_TRACEPOINT, /* perf tracepoints (needs tracefs) */
	FEAT_RAW_TP,	 /* raw tracepoints */
	FEAT_TP_BTF,	 /* BTF-typed raw tracepoints */
	FEAT_KPROBE,
	FEAT_FENTRY,
	FEAT_LSM,
	FEAT_UPROBE,
	FEAT_COARSE_CLOCK, /* bpf_ktime_get_coarse_ns (5.11+): the rate limits' clock */
	FEAT_MAX,
};

struct feature {
	const char *name;
	int available;
	char detail[200];
};

struct features {
	struct feature f[FEAT_MAX];
};

/* Probes every feature. btf_path: the --btf file, or NULL for the kernel's own. */
void features_probe(struct features *f, const char *btf_path);
int features_has(const struct features *f, enum feature_id id);
const char *features_detail(const struct features *f, enum feature_id id);
void features_log(const struct features *f);

#endif
