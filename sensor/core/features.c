/* features.c - see features.h. Probe programs are two instructions (r0 = 0; exit),
 * loaded with the program type and attach target under test, then attached the way the
 * observers would attach, and closed again. */
#include "core/features.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>

#include "core/log.h"
#include "core/mounts.h"

static const char *const names[FEAT_MAX] = {
	[FEAT_BTF] = "btf",
	[FEAT_RINGBUF] = "ringbuf",
	[FEAT_PERFBUF] = "perf_buffer",
	[FEAT_TRACEPOINT] = "tracepoint",
	[FEAT_RAW_TP] = "raw_tracepoint",
	[FEAT_TP_BTF] = "tp_btf",
	[FEAT_KPROBE] = "kprobe",
	[FEAT_FENTRY] = "fentry",
	[FEAT_LSM] = "lsm",
	[FEAT_UPROBE] = "uprobe",
	[FEAT_COARSE_CLOCK] = "coarse_clock",
};

static const struct bpf_insn ret0[] = {
	{.code = 0xb7 /* BPF_ALU64 | BPF_MOV | BPF_K */, .dst_reg = 0, .imm = 0},
	{.code = 0x95 /* BPF_JMP | BPF_EXIT */},
};

static void set(struct features *f, enum feature_id id, int ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void set(struct features *f, enum feature_id id, int ok, const char *fmt, ...)
{
	va_list ap;

	f->f[id].available = ok;
	va_start(ap, fmt);
	vsnprintf(f->f[id].detail, sizeof(f->f[id].detail), fmt, ap);
	va_end(ap);
}

static int load_prog(enum bpf_prog_type type, enum bpf_attach_type eat, int btf_id)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = eat, .attach_btf_id = btf_id);

	return bpf_prog_load(type, "tp_probe", "GPL", ret0, 2, &opts);
}

static int perf_open(struct perf_event_attr *attr)
{
	return syscall(__NR_perf_event_open, attr, -1 /* any pid */, 0 /* cpu 0 */, -1,
		       PERF_FLAG_FD_CLOEXEC);
}

/* Attaches prog_fd to an opened perf event; returns 0 or -errno. */
static int perf_attach(int pfd, int prog_fd)
{
	int err = 0;

	if (ioctl(pfd, PERF_EVENT_IOC_SET_BPF, prog_fd) < 0)
		err = -errno;
	close(pfd);
	return err;
}

static int read_int_file(const char *path, int *out)
{
	char buf[32] = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	*out = atoi(buf);
	return 0;
}

static void probe_btf(struct features *f, const char *path)
{
	const char *p = path ? path : "/sys/kernel/btf/vmlinux";
	struct btf *btf = btf__parse(p, NULL);

	if (!btf) {
		set(f, FEAT_BTF, 0, "%s: %s", p, strerror(errno));
		return;
	}
	set(f, FEAT_BTF, 1, "%s", p);
	btf__free(btf);
}

static void probe_maps(struct features *f)
{
	int r = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);

	set(f, FEAT_RINGBUF, r == 1, "%s", r == 1 ? "ok" : "map type not supported (kernel < 5.8)");
	r = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_PERF_EVENT_ARRAY, NULL);
	set(f, FEAT_PERFBUF, r == 1, "%s", r == 1 ? "ok" : "map type not supported");
}

/* The tick-precise clock that the token buckets read (tapio_common.bpf.h): every
 * admission decision reads a clock, and the precise one costs more than the rest of
 * the decision on the hot path of a packet. */
static void probe_helpers(struct features *f)
{
	int r = libbpf_probe_bpf_helper(BPF_PROG_TYPE_SOCKET_FILTER, BPF_FUNC_ktime_get_coarse_ns,
					NULL);

	set(f, FEAT_COARSE_CLOCK, r == 1, "%s",
	    r == 1 ? "bpf_ktime_get_coarse_ns"
		   : "helper not supported (kernel < 5.11): rate limits read the precise clock");
}

static void probe_tracepoint(struct features *f)
{
	struct perf_event_attr attr = {.type = PERF_TYPE_TRACEPOINT,
				       .size = sizeof(attr),
				       .sample_period = 1,
				       .wakeup_events = 1};
	const char *tracefs = mounts_tracefs();
	char path[256];
	int id, prog, pfd, err;

	if (!tracefs) {
		set(f, FEAT_TRACEPOINT, 0, "tracefs not available: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/events/sched/sched_process_exec/id", tracefs);
	if ((err = read_int_file(path, &id)) < 0) {
		set(f, FEAT_TRACEPOINT, 0, "%s: %s", path, strerror(-err));
		return;
	}
	prog = load_prog(BPF_PROG_TYPE_TRACEPOINT, 0, 0);
	if (prog < 0) {
		set(f, FEAT_TRACEPOINT, 0, "program load: %s", strerror(-prog));
		return;
	}
	attr.config = id;
	pfd = perf_open(&attr);
	err = pfd < 0 ? -errno : perf_attach(pfd, prog);
	close(prog);
	set(f, FEAT_TRACEPOINT, err == 0, "%s", err ? strerror(-err) : tracefs);
}

static void probe_raw_tp(struct features *f)
{
	int prog = load_prog(BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0), link;

	if (prog < 0) {
		set(f, FEAT_RAW_TP, 0, "program load: %s", strerror(-prog));
		return;
	}
	link = bpf_raw_tracepoint_open("sched_process_exec", prog);
	set(f, FEAT_RAW_TP, link >= 0, "%s", link >= 0 ? "ok" : strerror(-link));
	if (link >= 0)
		close(link);
	close(prog);
}

/* Loads a BTF-attached program (tp_btf, fentry, lsm) against the kernel's own BTF and
 * attaches it. Returns 0 or -errno; *stage says which step failed. */
static int probe_btf_prog(struct btf *vmlinux, enum bpf_prog_type type, enum bpf_attach_type eat,
			  const char *target, int kind, const char **stage)
{
	int id = btf__find_by_name_kind(vmlinux, target, kind), prog, link;

	*stage = "kernel BTF lookup";
	if (id < 0)
		return -ENOENT;
	*stage = "program load";
	prog = load_prog(type, eat, id);
	if (prog < 0)
		return prog;
	*stage = "attach";
	link = bpf_raw_tracepoint_open(NULL, prog);
	close(prog);
	if (link < 0)
		return link;
	close(link);
	return 0;
}

static void probe_btf_progs(struct features *f)
{
	static const struct {
		enum feature_id id;
		enum bpf_prog_type type;
		enum bpf_attach_type eat;
		const char *target;
		int kind;
	} p[] = {
		{FEAT_TP_BTF, BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP,
		 "btf_trace_sched_process_exec", BTF_KIND_TYPEDEF},
		{FEAT_FENTRY, BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, "do_nanosleep",
		 BTF_KIND_FUNC},
		{FEAT_LSM, BPF_PROG_TYPE_LSM, BPF_LSM_MAC, "bpf_lsm_file_open", BTF_KIND_FUNC},
	};
	struct btf *vmlinux = btf__load_vmlinux_btf();

	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		const char *stage;
		int err;

		if (!vmlinux) {
			set(f, p[i].id, 0, "needs the kernel's own BTF (/sys/kernel/btf/vmlinux)");
			continue;
		}
		err = probe_btf_prog(vmlinux, p[i].type, p[i].eat, p[i].target, p[i].kind, &stage);
		if (err)
			set(f, p[i].id, 0, "%s %s: %s", stage, p[i].target, strerror(-err));
		else
			set(f, p[i].id, 1, "ok (%s)", p[i].target);
	}
	btf__free(vmlinux);
}

/* A dynamic PMU (kprobe, uprobe): its type number, or -errno when the kernel lacks it. */
static int pmu_type(const char *pmu)
{
	char path[128];
	int type, err;

	snprintf(path, sizeof(path), "/sys/bus/event_source/devices/%s/type", pmu);
	err = read_int_file(path, &type);
	return err < 0 ? err : type;
}

static void probe_kprobe(struct features *f)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr), .sample_period = 1, .wakeup_events = 1};
	int type = pmu_type("kprobe"), prog, pfd, err;

	if (type < 0) {
		set(f, FEAT_KPROBE, 0, "no kprobe PMU (kernel built without CONFIG_KPROBES?)");
		return;
	}
	prog = load_prog(BPF_PROG_TYPE_KPROBE, 0, 0);
	if (prog < 0) {
		set(f, FEAT_KPROBE, 0, "program load: %s", strerror(-prog));
		return;
	}
	attr.type = type;
	attr.config1 = (uint64_t)(uintptr_t) "do_nanosleep"; /* kprobe_func */
	pfd = perf_open(&attr);
	err = pfd < 0 ? -errno : perf_attach(pfd, prog);
	close(prog);
	set(f, FEAT_KPROBE, err == 0, "%s", err ? strerror(-err) : "ok (do_nanosleep)");
}

/* The uprobe probe target: a function of this very binary. */
__attribute__((noinline)) int features_uprobe_target(int x)
{
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

/* File offset of features_uprobe_target in /proc/self/exe, from /proc/self/maps. */
static long self_offset(void)
{
	uintptr_t addr = (uintptr_t)&features_uprobe_target;
	unsigned long start, end, off;
	char line[512], perms[8];
	long result = -1;
	FILE *m = fopen("/proc/self/maps", "r");

	if (!m)
		return -1;
	while (result < 0 && fgets(line, sizeof(line), m))
		if (sscanf(line, "%lx-%lx %7s %lx", &start, &end, perms, &off) == 4 &&
		    addr >= start && addr < end)
			result = (long)(addr - start + off);
	fclose(m);
	return result;
}

static void probe_uprobe(struct features *f)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr), .sample_period = 1, .wakeup_events = 1};
	int type = pmu_type("uprobe"), prog, pfd, err;
	long off = self_offset();

	if (type < 0) {
		set(f, FEAT_UPROBE, 0, "no uprobe PMU (kernel built without CONFIG_UPROBES?)");
		return;
	}
	if (off < 0) {
		set(f, FEAT_UPROBE, 0, "cannot find a probe target in /proc/self/maps");
		return;
	}
	prog = load_prog(BPF_PROG_TYPE_KPROBE, 0, 0);
	if (prog < 0) {
		set(f, FEAT_UPROBE, 0, "program load: %s", strerror(-prog));
		return;
	}
	attr.type = type;
	attr.config1 = (uint64_t)(uintptr_t) "/proc/self/exe"; /* uprobe_path */
	attr.config2 = (uint64_t)off;			       /* probe_offset */
	pfd = perf_open(&attr);
	err = pfd < 0 ? -errno : perf_attach(pfd, prog);
	close(prog);
	set(f, FEAT_UPROBE, err == 0, "%s", err ? strerror(-err) : "ok");
}

void features_probe(struct features *f, const char *btf_path)
{
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < FEAT_MAX; i++)
		f->f[i].name = names[i];
	probe_btf(f, btf_path);
	probe_maps(f);
	probe_helpers(f);
	probe_tracepoint(f);
	probe_raw_tp(f);
	probe_btf_progs(f);
	probe_kprobe(f);
	probe_uprobe(f);
}

int features_has(const struct features *f, enum feature_id id)
{
	return f->f[id].available;
}

const char *features_detail(const struct features *f, enum feature_id id)
{
	return f->f[id].detail;
}

void features_log(const struct features *f)
{
	for (int i = 0; i < FEAT_MAX; i++)
		log_info("kernel feature %-14s %s (%s)", f->f[i].name,
			 f->f[i].available ? "yes" : "NO ", f->f[i].detail);
}
