/* The memory observer without a kernel: trend and prediction arithmetic, the OOM record's
 * cgroup chain (which cgroup hit its limit, its path), the cgroup/proc file parsers on a
 * fixture tree, the sampler predicting OOMs of a cgroup and a process on that tree, the
 * pressure line parser and stall windows, and the decoder's events. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decode_fixture.h"
#include "memory.h"
#include "observers/memory/mem_alloc.h"
#include "observers/memory/mem_cgroups.h"
#include "observers/memory/mem_oom.h"
#include "observers/memory/mem_overlap.h"
#include "observers/memory/mem_predict.h"
#include "observers/memory/mem_psi.h"
#include "observers/memory/mem_symbols.h"
#include "observers/memory/mem_trend.h"
#include "observers/memory/memory_obs.h"

#define MiB (1024ULL * 1024)
#define LIBPOD "libpod-3f8a0c1d2e4b5a697887766554433221aabbccddeeff00112233445566778899"

/* ---- trend ------------------------------------------------------------------------ */

Test(mem_trend, slope_of_a_steady_growth_is_exact)
{
	struct mem_trend t = {0};
	double slope;

	for (int i = 0; i < 10; i++)
		mem_trend_add(&t, 1000 + i * 1000, 100 * MiB + i * 2 * MiB, 30000);
	cr_assert_eq(mem_trend_slope(&t, &slope), 0);
	cr_assert_float_eq(slope, 2.0 * MiB, 1.0, "2 MiB/s, got %f", slope);
	cr_assert_eq(mem_trend_last(&t), 118 * MiB);
	cr_assert_eq(mem_trend_span_ms(&t), 9000);
}

Test(mem_trend, least_squares_averages_noise)
{
	struct mem_trend t = {0};
	/* 1 MiB/s with +-0.5 MiB alternating noise: least squares still finds ~1 MiB/s. */
	double slope;

	for (int i = 0; i < 20; i++)
		mem_trend_add(&t, i * 1000, 50 * MiB + i * MiB + (i % 2 ? MiB / 2 : 0), 60000);
	cr_assert_eq(mem_trend_slope(&t, &slope), 0);
	cr_assert(slope > 0.95 * MiB && slope < 1.05 * MiB, "slope %f", slope);
}

Test(mem_trend, too_few_samples_fit_nothing)
{
	struct mem_trend t = {0};
	double slope;

	for (int i = 0; i < MEM_TREND_MIN_SAMPLES - 1; i++)
		mem_trend_add(&t, i * 1000, i, 30000);
	cr_assert_eq(mem_trend_slope(&t, &slope), -1);
	cr_assert_eq(mem_trend_span_ms(&(struct mem_trend){0}), 0);
	cr_assert_eq(mem_trend_last(&(struct mem_trend){0}), 0);
}

Test(mem_trend, window_forgets_old_samples_and_stays_bounded)
{
	struct mem_trend t = {0};

	for (int i = 0; i < 1000; i++)
		mem_trend_add(&t, (uint64_t)i * 100, i, 10000);
	cr_assert_leq(t.n, MEM_TREND_CAP);
	cr_assert_leq(mem_trend_span_ms(&t), 10000 + 10000 / MEM_TREND_CAP + 100);
	cr_assert_geq(mem_trend_span_ms(&t), 10000, "the history reaches back a window");
	cr_assert_eq(mem_trend_last(&t), 999 - (999 % 2), "a sample per 156 ms is kept");
}

Test(mem_trend, jittery_samples_still_cover_the_window)
{
	struct mem_trend t = {0};

	/* A timer that fires every 1001 ms: the window of 4 s still holds 5 samples. */
	for (int i = 0; i < 20; i++)
		mem_trend_add(&t, (uint64_t)i * 1001, i, 4000);
	cr_assert_eq(t.n, 5);
	cr_assert_geq(mem_trend_span_ms(&t), 4000);
}

Test(mem_trend, time_going_back_resets)
{
	struct mem_trend t = {0};

	for (int i = 0; i < 8; i++)
		mem_trend_add(&t, 10000 + i * 1000, i, 30000);
	mem_trend_add(&t, 500, 42, 30000);
	cr_assert_eq(t.n, 1);
	cr_assert_eq(mem_trend_last(&t), 42);
}

Test(mem_trend, prediction_within_and_beyond_the_horizon)
{
	uint64_t eta = 77;

	cr_assert_eq(mem_trend_predict(60 * MiB, 2.0 * MiB, 300000, &eta), 1);
	cr_assert_eq(eta, 30000, "60 MiB at 2 MiB/s is 30 s, got %llu", (unsigned long long)eta);
	cr_assert_eq(mem_trend_predict(60 * MiB, 2.0 * MiB, 29999, &eta), 0);
	cr_assert_eq(mem_trend_predict(60 * MiB, 0.0, 300000, &eta), 0, "flat: no OOM");
	cr_assert_eq(mem_trend_predict(60 * MiB, -1.0 * MiB, 300000, &eta), 0, "shrinking");
	cr_assert_eq(mem_trend_predict(0, 1.0, 1000, &eta), 1);
	cr_assert_eq(eta, 0, "no headroom left: now");
}

/* ---- OOM record ------------------------------------------------------------------- */

static void level(struct mem_oom_event *e, int i, const char *name, uint64_t usage, uint64_t max)
{
	snprintf(e->cg[i].name, sizeof(e->cg[i].name), "%s", name);
	e->cg[i].id = 100 + i;
	e->cg[i].usage_pages = usage;
	e->cg[i].max_pages = max;
	e->cg[i].memsw_usage_pages = usage;
	e->cg[i].memsw_max_pages = 1ULL << 51;
	if ((uint32_t)i + 1 > e->cg_levels)
		e->cg_levels = i + 1;
}

/* ---- mem_overlap ------------------------------------------------------------------ */

static const struct mem_block *block_at(const struct mem_block *v, int n, uint32_t pid,
					uint64_t addr)
{
	for (int i = 0; i < n; i++)
		if (v[i].pid == pid && v[i].addr == addr)
			return &v[i];
	cr_assert_fail("no block %u:%#llx", pid, (unsigned long long)addr);
	return NULL;
}

Test(mem_overlap, the_older_of_two_overlapping_blocks_was_freed)
{
	struct mem_block v[] = {
		{.pid = 1, .addr = 0x2000, .size = 0x100, .ts_ns = 50}, /* newer, inside */
		{.pid = 1, .addr = 0x1f80, .size = 0x200, .ts_ns = 10}, /* older, around it */
		{.pid = 1, .addr = 0x3000, .size = 0x10, .ts_ns = 5},	/* alone */
		{.pid = 1, .addr = 0x2180, .size = 0x10, .ts_ns = 1},	/* touches, no overlap */
	};

	cr_assert_eq(mem_overlap_mark(v, 4), 1);
	cr_assert(block_at(v, 4, 1, 0x1f80)->stale);
	cr_assert_not(block_at(v, 4, 1, 0x2000)->stale);
	cr_assert_not(block_at(v, 4, 1, 0x3000)->stale);
	cr_assert_not(block_at(v, 4, 1, 0x2180)->stale, "[0x1f80,0x2180) ends where it starts");
}

Test(mem_overlap, processes_do_not_overlap_each_other)
{
	struct mem_block v[] = {
		{.pid = 2, .addr = 0x1000, .size = 0x100, .ts_ns = 1},
		{.pid = 1, .addr = 0x1000, .size = 0x100, .ts_ns = 2},
		{.pid = 1, .addr = 0x1010, .size = 0x10, .ts_ns = 3},
	};

	cr_assert_eq(mem_overlap_mark(v, 3), 1);
	cr_assert(block_at(v, 3, 1, 0x1000)->stale);
	cr_assert_not(block_at(v, 3, 1, 0x1010)->stale);
	cr_assert_not(block_at(v, 3, 2, 0x1000)->stale, "another address space");
}

Test(mem_overlap, a_large_block_over_many_marks_each_older_one_once)
{
	struct mem_block v[] = {
		{.pid = 7, .addr = 0x10000, .size = 0x10000, .ts_ns = 100}, /* an mmap, newest */
		{.pid = 7, .addr = 0x10010, .size = 0x20, .ts_ns = 1},
		{.pid = 7, .addr = 0x10020, .size = 0x20, .ts_ns = 2}, /* overlaps the one before */
		{.pid = 7, .addr = 0x1fff0, .size = 0x100, .ts_ns = 3}, /* runs past its end */
		{.pid = 7, .addr = 0x20000, .size = 0, .ts_ns = 4},	/* malloc(0): one byte */
		{.pid = 7, .addr = 0x20000 - 1, .size = 0, .ts_ns = 5},
	};

	cr_assert_eq(mem_overlap_mark(v, 6), 4);
	cr_assert_not(block_at(v, 6, 7, 0x10000)->stale);
	cr_assert(block_at(v, 6, 7, 0x10010)->stale);
	cr_assert(block_at(v, 6, 7, 0x10020)->stale);
	cr_assert(block_at(v, 6, 7, 0x1fff0)->stale);
	cr_assert(block_at(v, 6, 7, 0x1ffff)->stale, "malloc(0) still takes its byte");
	cr_assert_not(block_at(v, 6, 7, 0x20000)->stale, "overlaps only the older 0x1fff0");
}

Test(mem_overlap, empty_and_wrapping_blocks)
{
	struct mem_block v[] = {
		{.pid = 1, .addr = UINT64_MAX - 0x10, .size = 0x100, .ts_ns = 1},
		{.pid = 1, .addr = UINT64_MAX - 0x8, .size = 1, .ts_ns = 2},
	};

	cr_assert_eq(mem_overlap_mark(NULL, 0), 0);
	cr_assert_eq(mem_overlap_mark(v, 2), 1, "a size past the end of memory stops there");
	cr_assert(block_at(v, 2, 1, UINT64_MAX - 0x10)->stale);
}

Test(mem_oom, at_limit_means_within_the_slack)
{
	cr_assert(mem_oom_at_limit(8192, 8192));
	cr_assert(mem_oom_at_limit(8192 - MEM_OOM_SLACK_PAGES, 8192));
	cr_assert_not(mem_oom_at_limit(8192 - MEM_OOM_SLACK_PAGES - 1, 8192));
	cr_assert_not(mem_oom_at_limit(1ULL << 51, 1ULL << 51), "no limit is never reached");
}

Test(mem_oom, nearest_cgroup_at_its_limit_is_the_oom_cgroup)
{
	struct mem_oom_event e = {0};
	char path[512];

	level(&e, 0, "ctr", 1000, 1ULL << 51);	 /* no limit of its own */
	level(&e, 1, "pod", 8190, 8192);	 /* the pod's limit was hit */
	level(&e, 2, "kubepods", 8190, 1 << 20); /* far from its limit */
	cr_assert_eq(mem_oom_limit_level(&e), 1);
	mem_oom_cg_path(&e, 1, path, sizeof(path));
	cr_assert_str_eq(path, "/kubepods/pod");
	mem_oom_cg_path(&e, 0, path, sizeof(path));
	cr_assert_str_eq(path, "/kubepods/pod/ctr");
	mem_oom_cg_path(&e, 3, path, sizeof(path));
	cr_assert_str_eq(path, "", "outside the chain");
	mem_oom_cg_path(&e, -1, path, sizeof(path));
	cr_assert_str_eq(path, "");
}

Test(mem_oom, no_cgroup_at_its_limit_is_a_system_oom)
{
	struct mem_oom_event e = {0};

	cr_assert_eq(mem_oom_limit_level(&e), -1, "no memory cgroup at all");
	level(&e, 0, "svc", 100, 1ULL << 51);
	level(&e, 1, "system.slice", 5000, 1ULL << 51);
	cr_assert_eq(mem_oom_limit_level(&e), -1);
}

Test(mem_oom, v1_memsw_limit_counts_but_v2_swap_does_not)
{
	struct mem_oom_event e = {0};

	level(&e, 0, "job", 1000, 8192);
	e.cg[0].memsw_usage_pages = 4096;
	e.cg[0].memsw_max_pages = 4096; /* memory+swap at its limit */
	cr_assert_eq(mem_oom_limit_level(&e), 0, "v1: memsw limit reached");
	e.cg_flags = MEM_CG_F_V2; /* the same numbers as v2 swap.max: no OOM */
	cr_assert_eq(mem_oom_limit_level(&e), -1);
}

Test(mem_oom, truncated_chain_and_short_buffer)
{
	struct mem_oom_event e = {0};
	char path[512], small[8];

	for (int i = 0; i < MEM_CG_DEPTH; i++)
		level(&e, i, "lvl", 1, 1ULL << 51);
	e.cg_flags = MEM_CG_F_TRUNCATED;
	mem_oom_cg_path(&e, 0, path, sizeof(path));
	cr_assert_str_eq(path, "/.../lvl/lvl/lvl/lvl/lvl/lvl/lvl/lvl");
	e.cg_flags = 0;
	mem_oom_cg_path(&e, 0, small, sizeof(small));
	cr_assert_str_eq(small, "/lvl", "cut at a component, terminated");
}

/* ---- fixture tree ----------------------------------------------------------------- */

static char root[256];

static void put(const char *rel, const char *content)
{
	char path[512], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	for (slash = strchr(path + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = 0;
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(content, f);
	fclose(f);
}

static void make_root(void)
{
	strcpy(root, "/tmp/tapio-memtest-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
}

static void remove_root(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_assert_eq(system(cmd), 0);
}

static void v1_tree(void)
{
	put("/proc/self/mounts", "sysfs /sys sysfs rw 0 0\n"
				 "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid 0 0\n"
				 "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\n"
				 "cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,memory 0 0\n");
	put("/sys/fs/cgroup/unified/cgroup.controllers", "\n");
	put("/sys/fs/cgroup/memory/memory.usage_in_bytes", "5000000000\n");
	put("/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
	put("/sys/fs/cgroup/memory/free/memory.usage_in_bytes", "1000\n");
	put("/sys/fs/cgroup/memory/free/memory.limit_in_bytes", "9223372036854771712\n");
	put("/sys/fs/cgroup/memory/job/memory.limit_in_bytes", "104857600\n");
	put("/sys/fs/cgroup/memory/job/memory.stat", "cache 0\ntotal_inactive_file 4194304\n");
	put("/proc/meminfo", "MemTotal:       16384000 kB\nMemFree: 1 kB\n"
			     "MemAvailable:    8192000 kB\n");
}

static void usage(const char *cg, uint64_t bytes)
{
	char rel[256], val[32];

	snprintf(rel, sizeof(rel), "/sys/fs/cgroup/memory%s/memory.usage_in_bytes", cg);
	snprintf(val, sizeof(val), "%llu\n", (unsigned long long)bytes);
	put(rel, val);
}

static void proc(uint32_t pid, uint64_t rss_pages, const char *memcg)
{
	char rel[64], buf[512];

	snprintf(rel, sizeof(rel), "/proc/%u/stat", pid);
	snprintf(buf, sizeof(buf),
		 "%u (a b) c)) S 1 %u %u 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
		 "4242 123456789 %llu 18446744073709551615\n",
		 pid, pid, pid, (unsigned long long)rss_pages);
	put(rel, buf);
	snprintf(rel, sizeof(rel), "/proc/%u/cgroup", pid);
	snprintf(buf, sizeof(buf), "5:cpu,cpuacct:/\n4:memory:%s\n0::/user.slice\n", memcg);
	put(rel, buf);
}

TestSuite(mem_files, .init = make_root, .fini = remove_root);

Test(mem_files, finds_the_v1_memory_hierarchy_and_reads_a_cgroup)
{
	struct mem_hier h;
	struct mem_cg_sample sample;
	char expect[512];

	v1_tree();
	usage("/job", 50 * MiB);
	cr_assert_eq(mem_hier_find(root, &h), 0);
	cr_assert_eq(h.version, 1);
	snprintf(expect, sizeof(expect), "%s/sys/fs/cgroup/memory", root);
	cr_assert_str_eq(h.mount, expect);
	snprintf(expect, sizeof(expect), "%s/sys/fs/cgroup/unified", root);
	cr_assert_str_eq(h.unified, expect);
	cr_assert_eq(mem_cg_read(&h, "/job", &sample), 0);
	cr_assert_eq(sample.usage, 50 * MiB);
	cr_assert_eq(sample.limit, 100 * MiB);
	cr_assert_eq(sample.inactive_file, 4 * MiB);
	cr_assert_eq(mem_cg_read(&h, "/free", &sample), 0);
	cr_assert_eq(sample.limit, 0, "v1's huge limit means none");
	cr_assert_eq(mem_cg_read(&h, "/gone", &sample), -1);
	cr_assert_neq(mem_cg_inode(h.mount, "/job"), 0);
	cr_assert_eq(mem_cg_inode(h.mount, "/gone"), 0);
}

static int count_paths(const char *path, void *arg)
{
	int *n = arg;

	(*n)++;
	return strcmp(path, "/stop") == 0;
}

Test(mem_files, v2_memory_hierarchy_walk_and_files)
{
	struct mem_hier h;
	struct mem_cg_sample sample;
	int n = 0;

	put("/proc/self/mounts", "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n");
	put("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n");
	put("/sys/fs/cgroup/a/memory.current", "2097152\n");
	put("/sys/fs/cgroup/a/memory.max", "max\n");
	put("/sys/fs/cgroup/a/b/memory.current", "1048576\n");
	put("/sys/fs/cgroup/a/b/memory.max", "8388608\n");
	put("/sys/fs/cgroup/a/b/memory.stat", "anon 1\ninactive_file 4096\n");
	cr_assert_eq(mem_hier_find(root, &h), 0);
	cr_assert_eq(h.version, 2);
	cr_assert_str_eq(h.mount, h.unified);
	cr_assert_eq(mem_cg_read(&h, "/a", &sample), 0);
	cr_assert_eq(sample.limit, 0);
	cr_assert_eq(mem_cg_read(&h, "/a/b", &sample), 0);
	cr_assert_eq(sample.usage, 1048576);
	cr_assert_eq(sample.limit, 8388608);
	cr_assert_eq(sample.inactive_file, 4096);
	cr_assert_eq(mem_cg_read(&h, "", &sample), -1, "the v2 root has no memory files");
	cr_assert_eq(mem_cg_walk(&h, 8, count_paths, &n), 2);
	cr_assert_eq(n, 2);
}

Test(mem_files, walk_stops_when_asked_and_respects_depth)
{
	struct mem_hier h;
	int n = 0;

	put("/proc/self/mounts", "cgroup2 /cg cgroup2 rw 0 0\n");
	put("/cg/cgroup.controllers", "memory\n");
	put("/cg/stop/x/y/file", "");
	cr_assert_eq(mem_hier_find(root, &h), 0);
	cr_assert_eq(mem_cg_walk(&h, 8, count_paths, &n), 1, "stopped at /stop");
	n = 0;
	put("/cg/a/x/y/file", "");
	cr_assert_eq(mem_cg_walk(&h, 1, count_paths, &n), 1, "depth 1: /a only (then /stop)");
}

Test(mem_files, no_memory_controller)
{
	struct mem_hier h;

	put("/proc/self/mounts", "cgroup2 /cg cgroup2 rw 0 0\n");
	put("/cg/cgroup.controllers", "cpu io\n");
	cr_assert_eq(mem_hier_find(root, &h), -1);
	cr_assert_eq(h.version, 0);
	cr_assert_eq(mem_cg_walk(&h, 8, count_paths, NULL), 0);
	cr_assert_eq(mem_hier_find("/nonexistent-root", &h), -1);
}

Test(mem_files, parsers)
{
	uint64_t v;
	int found;

	cr_assert_eq(mem_parse_keyed("a 1\nfoo 42\nfoobar 7\n", "foo", &found), 42);
	cr_assert(found);
	cr_assert_eq(mem_parse_keyed("foobar 7\n", "foo", &found), 0);
	cr_assert_not(found);
	cr_assert_eq(mem_parse_keyed("MemTotal:    123 kB\n", "MemTotal", &found), 123);
	cr_assert_eq(mem_parse_keyed("x junk\n", "x", &found), 0);
	cr_assert_not(found);
	cr_assert_eq(mem_parse_limit("max\n", &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(mem_parse_limit("4096\n", &v), 0);
	cr_assert_eq(v, 4096);
	cr_assert_eq(mem_parse_limit("9223372036854771712", &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(mem_parse_limit("maximum", &v), -1);
	cr_assert_eq(mem_parse_limit("12x", &v), -1);
	cr_assert_eq(mem_parse_limit("", &v), -1);
}

Test(mem_files, meminfo_process_stat_and_memcg)
{
	uint64_t total, avail, rss, start;
	char cg[256];

	v1_tree();
	proc(4321, 2560, "/job");
	cr_assert_eq(mem_meminfo(root, &total, &avail), 0);
	cr_assert_eq(total, 16384000ULL * 1024);
	cr_assert_eq(avail, 8192000ULL * 1024);
	cr_assert_eq(mem_proc_stat(root, 4321, 4096, &rss, &start), 0);
	cr_assert_eq(rss, 2560ULL * 4096, "rss field 24 after a comm with ') '");
	cr_assert_eq(start, 4242);
	cr_assert_eq(mem_proc_stat(root, 9999, 4096, &rss, &start), -1);
	cr_assert_eq(mem_proc_memcg(root, 4321, 1, cg, sizeof(cg)), 0);
	cr_assert_str_eq(cg, "/job");
	cr_assert_eq(mem_proc_memcg(root, 4321, 2, cg, sizeof(cg)), 0);
	cr_assert_str_eq(cg, "/user.slice");
	cr_assert_eq(mem_proc_memcg(root, 9999, 2, cg, sizeof(cg)), -1);
	put("/proc/meminfo", "MemTotal: 1 kB\n");
	cr_assert_eq(mem_meminfo(root, &total, &avail), -1, "no MemAvailable");
}

/* ---- the sampler on the fixture tree ---------------------------------------------- */

#define PRED_MAX 64
static struct mem_prediction preds[PRED_MAX];
static char pred_paths[PRED_MAX][128];
static int n_preds, n_cgroup_calls, last_cgroups;

static void on_pred(void *arg, const struct mem_prediction *p)
{
	cr_assert_lt(n_preds, PRED_MAX);
	preds[n_preds] = *p;
	if (p->cg)
		snprintf(pred_paths[n_preds], sizeof(pred_paths[0]), "%s", p->cg->path);
	n_preds++;
}

static void on_cgs(void *arg, const struct mem_hier *h, const struct mem_pred_cgroup *const *cgs,
		   int n)
{
	n_cgroup_calls++;
	last_cgroups = n;
}

static const struct mem_prediction *find_pred(int subject)
{
	for (int i = 0; i < n_preds; i++)
		if (preds[i].subject == subject)
			return &preds[i];
	return NULL;
}

Test(mem_files, sampler_predicts_a_growing_cgroup_and_process)
{
	struct mem_pred_cfg pcfg = {.root = root,
				    .page_size = 4096,
				    .interval_ms = 1000,
				    .window_ms = 10000,
				    .horizon_ms = 60000};
	struct mem_predict *m;
	const struct mem_prediction *p;
	struct mem_pred_stats st;

	v1_tree();
	n_preds = n_cgroup_calls = 0;
	m = mem_predict_new(&pcfg, on_pred, on_cgs, NULL);
	cr_assert_not_null(m);
	cr_assert_eq(mem_predict_hier(m)->version, 1);
	/* /job grows 2 MiB/s towards 100 MiB, its process with it; pid 77 stays flat. */
	for (int i = 0; i <= 10; i++) {
		usage("/job", 20 * MiB + i * 2 * MiB);
		proc(4321, (16 * MiB + i * 2 * MiB) / 4096, "/job");
		proc(77, 1000, "/");
		mem_predict_tick(m, 100000 + i * 1000);
	}
	cr_assert_geq(n_cgroup_calls, 2, "rediscovered every %d ticks", MEM_PRED_DISCOVER_TICKS);
	cr_assert_eq(last_cgroups, 1, "only /job has a limit");
	p = find_pred(MEM_PRED_CGROUP);
	cr_assert_not_null(p, "the cgroup was predicted");
	cr_assert_str_eq(pred_paths[p - preds], "/job");
	cr_assert_float_eq(p->growth_per_sec, 2.0 * MiB, 1.0);
	cr_assert_eq(p->limit, 100 * MiB);
	/* working set = usage - 4 MiB inactive file; headroom = limit - working set */
	cr_assert_eq(p->headroom, p->limit - p->usage);
	cr_assert(p->eta_ms > 25000 && p->eta_ms < 45000, "eta %llu",
		  (unsigned long long)p->eta_ms);
	cr_assert_geq(p->samples, MEM_TREND_MIN_SAMPLES);
	p = find_pred(MEM_PRED_PROCESS);
	cr_assert_not_null(p, "the process was predicted");
	cr_assert_eq(p->pid, 4321);
	cr_assert_str_eq(pred_paths[p - preds], "/job", "its limit is its cgroup's");
	cr_assert_float_eq(p->growth_per_sec, 2.0 * MiB, 1.0);
	for (int i = 0; i < n_preds; i++)
		cr_assert_neq(preds[i].pid, 77, "a flat process is never predicted");
	mem_predict_stats(m, &st);
	cr_assert_eq(st.cgroups, 1);
	cr_assert_eq(st.procs, 2);
	cr_assert_eq(st.predictions, (uint64_t)n_preds);
	mem_predict_free(m);
}

Test(mem_files, sampler_repeats_once_per_window_and_forgets_unlimited_cgroups)
{
	struct mem_pred_cfg pcfg = {.root = root,
				    .page_size = 4096,
				    .interval_ms = 1000,
				    .window_ms = 6000,
				    .horizon_ms = 600000};
	struct mem_predict *m;
	struct mem_pred_stats st;
	int cg_preds = 0;

	v1_tree();
	n_preds = 0;
	m = mem_predict_new(&pcfg, on_pred, NULL, NULL);
	for (int i = 0; i < 20; i++) {
		usage("/job", 20 * MiB + i * MiB);
		mem_predict_tick(m, i * 1000);
	}
	for (int i = 0; i < n_preds; i++)
		cg_preds += preds[i].subject == MEM_PRED_CGROUP;
	cr_assert_eq(cg_preds, 3, "first at 3 s (half the window), then every 6 s: %d", cg_preds);
	/* The cgroup loses its limit: it is no longer tracked. */
	put("/sys/fs/cgroup/memory/job/memory.limit_in_bytes", "9223372036854771712\n");
	mem_predict_tick(m, 21000);
	mem_predict_stats(m, &st);
	cr_assert_eq(st.cgroups, 0);
	mem_predict_free(m);
}

Test(mem_files, sampler_off_and_node_only)
{
	struct mem_pred_cfg pcfg = {.root = root, .page_size = 4096, .interval_ms = 0};
	struct mem_predict *m;
	const struct mem_prediction *p;

	cr_assert_null(mem_predict_new(&pcfg, on_pred, NULL, NULL), "interval 0: off");
	/* No cgroup hierarchy at all: a growing process is predicted against the node. */
	put("/proc/self/mounts", "proc /proc proc rw 0 0\n");
	put("/proc/meminfo", "MemTotal: 1048576 kB\nMemAvailable: 65536 kB\n");
	pcfg.interval_ms = 1000;
	pcfg.window_ms = 10000;
	pcfg.horizon_ms = 600000;
	n_preds = 0;
	m = mem_predict_new(&pcfg, on_pred, NULL, NULL);
	cr_assert_eq(mem_predict_hier(m)->version, 0);
	for (int i = 0; i < 8; i++) {
		proc(555, (10 * MiB + i * MiB) / 4096, "/");
		mem_predict_tick(m, i * 1000);
	}
	p = find_pred(MEM_PRED_PROCESS);
	cr_assert_not_null(p);
	cr_assert_null(p->cg, "no cgroup: the node's memory");
	cr_assert_eq(p->limit, 1048576ULL * 1024);
	cr_assert_eq(p->headroom, 65536ULL * 1024);
	cr_assert(p->eta_ms > 60000 && p->eta_ms < 68000, "64 MiB at 1 MiB/s: %llu",
		  (unsigned long long)p->eta_ms);
	mem_predict_free(m);
}

/* ---- pressure --------------------------------------------------------------------- */

Test(mem_psi, parses_both_lines)
{
	const char *buf = "some avg10=1.50 avg60=0.25 avg300=0.00 total=123456\n"
			  "full avg10=0.75 avg60=0.10 avg300=0.01 total=6543\n";
	struct mem_psi_line l;

	cr_assert_eq(mem_psi_parse(buf, 0, &l), 0);
	cr_assert_float_eq(l.avg10, 1.5, 1e-9);
	cr_assert_float_eq(l.avg60, 0.25, 1e-9);
	cr_assert_eq(l.total_us, 123456);
	cr_assert_eq(mem_psi_parse(buf, 1, &l), 0);
	cr_assert_float_eq(l.avg10, 0.75, 1e-9);
	cr_assert_float_eq(l.avg300, 0.01, 1e-9);
	cr_assert_eq(l.total_us, 6543);
	cr_assert_eq(mem_psi_parse("some avg10=x\n", 0, &l), -1);
	cr_assert_eq(mem_psi_parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=1\n", 1, &l), -1);
}

static int fired;

static void on_fire(void *arg, const struct mem_psi_fired *f)
{
	fired++;
}

Test(mem_psi, watch_set_on_a_real_loop)
{
	uv_loop_t loop;
	struct mem_psi *p;

	uv_loop_init(&loop);
	p = mem_psi_new(&loop, 100000, 2000000, on_fire, NULL);
	cr_assert_not_null(p);
	cr_assert_lt(mem_psi_watch(p, "/nonexistent/memory.pressure", "/x", 5), 0);
	cr_assert_eq(mem_psi_count(p), 0, "a failed watch leaves nothing");
	if (mem_psi_watch(p, "/proc/pressure/memory", "", 0) == 0) {
		/* Where the kernel allows a trigger: the same file again is the same watch,
		 * and the node's watch survives a sweep. */
		cr_assert_eq(mem_psi_watch(p, "/proc/pressure/memory", "", 0), 0);
		cr_assert_eq(mem_psi_count(p), 1);
		mem_psi_sync_begin(p);
		mem_psi_sync_end(p);
		cr_assert_eq(mem_psi_count(p), 1);
	}
	mem_psi_free(p);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&loop), 0, "every handle closed");
}

Test(mem_psi, recent_stalls_use_one_or_two_windows)
{
	struct mem_stall_stat st = {
		.cur_start = 10000, .cur_ns = 300, .prev_ns = 200, .cur_count = 3, .prev_count = 2};
	uint64_t ns;
	uint32_t n;

	cr_assert_eq(mem_stall_recent(&st, 10500, 1000, &ns, &n), 0);
	cr_assert_eq(ns, 500, "inside the current window: both buckets");
	cr_assert_eq(n, 5);
	cr_assert_eq(mem_stall_recent(&st, 11500, 1000, &ns, &n), 0);
	cr_assert_eq(ns, 300, "a window later: only the newer bucket");
	cr_assert_eq(n, 3);
	cr_assert_eq(mem_stall_recent(&st, 12000, 1000, &ns, &n), -1, "two windows later");
	st.cur_ns = 0;
	st.prev_ns = 0;
	cr_assert_eq(mem_stall_recent(&st, 10500, 1000, &ns, &n), -1, "nothing stalled");
}

/* ---- decoder ---------------------------------------------------------------------- */

extern const struct observer_ops memory_observer;

static struct mem_obs obs;

static void dec_setup(void)
{
	memset(&obs, 0, sizeof(obs));
	decode_setup(&memory_observer, 0);
	obs.page_size = 4096;
	obs.node_total = 8ULL << 30;
	obs.stats_fd = -1;
	o->priv = &obs;
}

TestSuite(mem_decode, .init = dec_setup, .fini = decode_teardown);

static pb_events_response *take(void)
{
	pb_events_response *r = decode_take(100);

	cr_assert_eq(r->n_events, 1);
	return r;
}

Test(mem_decode, oom_kill_in_a_container_cgroup)
{
	static struct mem_oom_event e;
	pb_events_response *r;
	const pb_mem_oom_kill *k;

	memset(&e, 0, sizeof(e));
	e.h.type = TP_EV_MEMORY_OOM_KILL;
	e.h.pid = 4242;
	e.h.tid = 4243;
	e.h.ts_ns = 1000;
	strcpy(e.h.comm, "leaky");
	e.trigger_pid = 4242;
	e.trigger_tid = 4243;
	strcpy(e.trigger_comm, "leaky\xff");
	e.rss_anon_pages = 1000;
	e.rss_file_pages = 20;
	e.rss_shmem_pages = 4;
	e.total_vm_pages = 5000;
	e.oom_score_adj = 500;
	level(&e, 0, LIBPOD, 25600, 25600);
	level(&e, 1, "libpod_parent", 25600, 1ULL << 51);
	cr_assert_eq(memory_observer.decode(o, &e, sizeof(e)), 0);
	r = take();
	k = r->events[0]->memory_oom_kill;
	cr_assert_eq(r->events[0]->type, PB_TYPE(MEMORY_OOM_KILL));
	cr_assert_eq(r->events[0]->observer, PB_OBSERVER(MEMORY));
	cr_assert_eq(r->events[0]->process->pid, 4242);
	cr_assert_str_eq(r->events[0]->process->comm, "leaky");
	cr_assert_eq(k->scope, PB_OOM_SCOPE(CGROUP));
	cr_assert_str_eq(k->cgroup->path, "/libpod_parent/" LIBPOD);
	cr_assert_eq(k->cgroup->limit_bytes, 100 * MiB);
	cr_assert_eq(k->cgroup->usage_bytes, 100 * MiB);
	cr_assert_eq(k->cgroup->cgroup_version, 1);
	cr_assert_eq(k->cgroup->id, 100);
	cr_assert_str_eq(k->victim_cgroup->path, k->cgroup->path);
	cr_assert_eq(k->anon_rss_bytes, 1000 * 4096);
	cr_assert_eq(k->rss_bytes, 1024 * 4096);
	cr_assert_eq(k->total_vm_bytes, 5000 * 4096);
	cr_assert_eq(k->oom_score_adj, 500);
	cr_assert_str_eq(k->trigger_comm, "leaky?", "scrubbed to UTF-8");
	cr_assert_eq(k->node_memory_bytes, 8ULL << 30);
	cr_assert_not_null(r->events[0]->container, "container from the memory cgroup path");
	cr_assert_str_eq(r->events[0]->container->id, LIBPOD + 7);
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);
}

Test(mem_decode, system_oom_and_reclaim_stall)
{
	static struct mem_oom_event e;
	struct mem_reclaim_event rc = {0};
	pb_events_response *r;

	memset(&e, 0, sizeof(e));
	e.h.type = TP_EV_MEMORY_OOM_KILL;
	e.h.pid = 10;
	e.cg_flags = MEM_CG_F_V2;
	level(&e, 0, "svc", 10, 1ULL << 51);
	cr_assert_eq(memory_observer.decode(o, &e, sizeof(e)), 0);
	r = take();
	cr_assert_eq(r->events[0]->memory_oom_kill->scope, PB_OOM_SCOPE(SYSTEM));
	cr_assert_str_eq(r->events[0]->memory_oom_kill->cgroup->path, "/svc");
	cr_assert_eq(r->events[0]->memory_oom_kill->cgroup->limit_bytes, 0);
	cr_assert_eq(r->events[0]->memory_oom_kill->cgroup->cgroup_version, 2);
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);

	rc.h.type = TP_EV_MEMORY_RECLAIM;
	rc.h.pid = 11;
	rc.duration_ns = 5000000;
	rc.nr_reclaimed = 32;
	rc.kind = MEM_RECLAIM_CGROUP;
	rc.order = 2;
	cr_assert_eq(memory_observer.decode(o, &rc, sizeof(rc)), 0);
	r = take();
	cr_assert_eq(r->events[0]->type, PB_TYPE(MEMORY_RECLAIM_STALL));
	cr_assert_eq(r->events[0]->memory_reclaim_stall->kind, PB_RECLAIM_KIND(CGROUP));
	cr_assert_eq(r->events[0]->memory_reclaim_stall->duration_ns, 5000000);
	cr_assert_eq(r->events[0]->memory_reclaim_stall->reclaimed_bytes, 32 * 4096);
	cr_assert_eq(r->events[0]->memory_reclaim_stall->order, 2);
	tapio__sensor__v1__get_events_response__free_unpacked(r, NULL);
}

Test(mem_decode, malformed_records_are_rejected)
{
	static struct mem_oom_event e;
	struct tp_event_header h = {.type = 999};

	memset(&e, 0, sizeof(e));
	e.h.type = TP_EV_MEMORY_OOM_KILL;
	cr_assert_eq(memory_observer.decode(o, &e, sizeof(e) - 1), -1, "short");
	e.cg_levels = MEM_CG_DEPTH + 1;
	cr_assert_eq(memory_observer.decode(o, &e, sizeof(e)), -1, "chain longer than the array");
	e.h.type = TP_EV_MEMORY_RECLAIM;
	cr_assert_eq(memory_observer.decode(o, &e, sizeof(struct mem_reclaim_event) - 1), -1);
	cr_assert_eq(memory_observer.decode(o, &h, sizeof(h)), -1, "unknown type");
	cr_assert_eq(memory_observer.decode(o, &h, 4), -1, "no header");
}

/* ---- leak suspects ---------------------------------------------------------------- */

static struct mem_trend history(const uint64_t *v, int n, uint64_t step_ms)
{
	struct mem_trend t = {0};

	for (int i = 0; i < n; i++)
		mem_trend_add(&t, i * step_ms, v[i], (n - 1) * step_ms);
	return t;
}

Test(mem_leak, steady_growth_is_a_leak)
{
	uint64_t v[] = {1000, 9000, 17000, 25000, 33000, 41000, 49000};
	struct mem_trend t = history(v, 7, 1000);
	uint64_t grown;
	double slope;

	cr_assert_eq(mem_trend_leaking(&t, 6000, &grown, &slope), 1);
	cr_assert_eq(grown, 48000);
	cr_assert_float_eq(slope, 8000.0, 1e-6);
}

Test(mem_leak, growth_with_a_small_dip_is_still_a_leak)
{
	uint64_t v[] = {100, 200, 300, 250, 400, 500, 600, 700, 800, 900, 1000};
	struct mem_trend t = history(v, 11, 1000);
	uint64_t grown;
	double slope;

	cr_assert_eq(mem_trend_leaking(&t, 10000, &grown, &slope), 1, "one drop in ten steps");
}

Test(mem_leak, what_is_not_a_leak)
{
	uint64_t once[] = {100, 5000, 5000, 5000, 5000, 5000, 5000, 5000};
	uint64_t saw[] = {100, 900, 100, 900, 100, 900, 100, 1000};
	uint64_t flat[] = {500, 500, 500, 500, 500, 500};
	uint64_t down[] = {900, 800, 700, 600, 500, 400};
	uint64_t late[] = {1000, 1000, 1000, 1000, 1000, 1000, 1000, 5000};
	uint64_t grown;
	double slope;
	struct mem_trend t;

	t = history(saw, 8, 1000);
	cr_assert_eq(mem_trend_leaking(&t, 7000, &grown, &slope), 0, "sawtooth: freed again");
	t = history(flat, 6, 1000);
	cr_assert_eq(mem_trend_leaking(&t, 5000, &grown, &slope), 0, "flat");
	t = history(down, 6, 1000);
	cr_assert_eq(mem_trend_leaking(&t, 5000, &grown, &slope), 0, "shrinking");
	t = history(once, 8, 1000);
	cr_assert_eq(mem_trend_leaking(&t, 7000, &grown, &slope), 1,
		     "grew at the start and stayed: the halves rule alone cannot tell");
	t = history(late, 8, 1000);
	cr_assert_eq(mem_trend_leaking(&t, 7000, &grown, &slope), 1);
	t = history(flat, 6, 1000);
	cr_assert_eq(mem_trend_leaking(&t, 60000, &grown, &slope), 0,
		     "history shorter than window");
}

/* ---- symbolization (this very test binary) ---------------------------------------- */

__attribute__((noinline)) int mem_test_symbol_target(int x)
{
	return x * 3 + 1;
}

Test(mem_symbols, resolves_a_function_of_this_binary_and_caches_it)
{
	struct mem_sym *sy = mem_sym_new(getpid());
	uint64_t addr = (uint64_t)(uintptr_t)&mem_test_symbol_target + 4;
	struct mem_frame f;
	struct mem_sym_stats st;

	cr_assert_not_null(sy);
	cr_assert_eq(mem_sym_lookup(sy, addr, &f), 0);
	cr_assert_str_eq(f.function, "mem_test_symbol_target");
	cr_assert_eq(f.offset, 4);
	cr_assert_str_eq(f.module, "test_memory");
	cr_assert_str_eq(f.file, "test_memory.c", "DWARF lines of a -g build");
	cr_assert_gt(f.line, 0);
	cr_assert_eq(mem_sym_lookup(sy, addr, &f), 0);
	cr_assert_str_eq(f.function, "mem_test_symbol_target");
	mem_sym_get_stats(sy, &st);
	cr_assert_eq(st.lookups, 2);
	cr_assert_eq(st.cache_hits, 1, "the same frame resolves once");
	cr_assert_eq(mem_sym_lookup(sy, 16, &f), -1, "no mapping there");
	mem_sym_get_stats(sy, &st);
	cr_assert_eq(st.reloads, 1, "an unknown address re-reads the maps once");
	mem_sym_free(sy);
	mem_sym_free(NULL);
}

Test(mem_symbols, libc_frames_name_their_module)
{
	struct mem_sym *sy = mem_sym_new(getpid());
	struct mem_frame f;

	cr_assert_eq(mem_sym_lookup(sy, (uint64_t)(uintptr_t)&malloc + 1, &f), 0);
	cr_assert(strstr(f.module, "libc") || strstr(f.module, "asan"), "module %s", f.module);
	cr_assert_neq(f.function[0], 0);
	mem_sym_free(sy);
	cr_assert_null(mem_sym_new(999999999), "no such process");
}

/* ---- selection -------------------------------------------------------------------- */

TestSuite(mem_select, .init = make_root, .fini = remove_root);

Test(mem_select, selectors_match_pid_cgroup_container_and_pidns)
{
	char sel[128];
	struct stat st;
	char ns[512];

	put("/proc/10/cgroup", "5:cpu:/\n4:memory:/libpod_parent/" LIBPOD "\n0::/work/job\n");
	put("/proc/10/ns/pid", "");
	put("/proc/11/cgroup", "0::/work\n");
	put("/proc/11/ns/pid", "");
	snprintf(ns, sizeof(ns), "%s/proc/10/ns/pid", root);
	cr_assert_eq(stat(ns, &st), 0);
	cr_assert(mem_alloc_match(root, "pid:10", 10));
	cr_assert_not(mem_alloc_match(root, "pid:10", 11));
	cr_assert(mem_alloc_match(root, "cgroup:/work", 10), "below it");
	cr_assert(mem_alloc_match(root, "cgroup:/work", 11), "itself");
	cr_assert_not(mem_alloc_match(root, "cgroup:/wor", 11), "a prefix is not a parent");
	cr_assert(mem_alloc_match(root, "cgroup:/", 11));
	cr_assert(mem_alloc_match(root, "container:3f8a0c1d2e4b", 10));
	cr_assert_not(mem_alloc_match(root, "container:3f8a0c1d2e4b", 11));
	snprintf(sel, sizeof(sel), "pidns:%llu", (unsigned long long)st.st_ino);
	cr_assert(mem_alloc_match(root, sel, 10));
	cr_assert_not(mem_alloc_match(root, sel, 11));
	cr_assert_not(mem_alloc_match(root, "cgroup:/work", 12), "gone");
	cr_assert_not(mem_alloc_match(root, "bogus:1", 10));
	cr_assert_null(mem_alloc_new(NULL, &(struct mem_alloc_cfg){.n_selectors = 0}, NULL),
		       "nothing selected: no tracker");
}
