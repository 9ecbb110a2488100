/* test_procfs.c - reading processes and cgroup placement from /proc: fixture roots under
 * tests/data/procfs (a hybrid host with a podman container, a pure v2 Kubernetes node, a
 * v1-only docker host, awkward mounts) and the real /proc of the test process itself. */
#include <criterion/criterion.h>

#include <errno.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "enrich/container.h"
#include "enrich/proc_cache.h"
#include "enrich/procfs.h"

#define HYBRID TAPIO_TEST_DATA "/procfs/hybrid"
#define V2 TAPIO_TEST_DATA "/procfs/v2"
#define V1ONLY TAPIO_TEST_DATA "/procfs/v1only"
#define ESCAPED TAPIO_TEST_DATA "/procfs/escaped"

#define PODMAN_ID "3f2a9c1e5b7d4a8f9e0c1b2a3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a"
#define CRI_ID "9b1e2c3d4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e"
#define DOCKER_ID "c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc"
#define POD_UID "6f1c2a3b-4d5e-4f60-8a1b-2c3d4e5f6a7b"

static struct pcache *cache;
static char cgpath[4096];

static void setup(void)
{
	cache = pcache_new(16);
	cr_assert_not_null(cache);
	memset(cgpath, 'X', sizeof(cgpath));
}

static void teardown(void)
{
	pcache_free(cache);
}

TestSuite(procfs, .init = setup, .fini = teardown);

static struct pcache_entry *read_ok(const char *root, uint32_t pid)
{
	struct pcache_entry *e = pcache_insert(cache, pid);

	cr_assert_not_null(e);
	cr_assert_eq(procfs_read_process(root, pid, e, cgpath, sizeof(cgpath)), 0,
		     "read %s pid %u: %s", root, pid, strerror(errno));
	return e;
}

static uint64_t ticks_ns(uint64_t ticks)
{
	return ticks * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
}

Test(procfs, podman_container_process_on_hybrid_host)
{
	struct pcache_entry *e = read_ok(HYBRID, 4242);
	struct container_ref ref;

	cr_assert_eq(e->pid, 4242);
	cr_assert_eq(e->ppid, 4230);
	cr_assert_eq(e->uid, 1000, "real uid, not effective/saved/fs");
	cr_assert_eq(e->gid, 2000);
	cr_assert_str_eq(e->comm, "sleep");
	cr_assert_str_eq(e->binary, "/bin/busybox");
	cr_assert_eq(e->args_len, 10);
	cr_assert_eq(memcmp(e->args,
			    "sleep\0"
			    "600\0",
			    10),
		     0);
	cr_assert_eq(e->start_ns, ticks_ns(123456));
	if (sysconf(_SC_CLK_TCK) == 100)
		cr_assert_eq(e->start_ns, 1234560000000ull);
	cr_assert_eq(e->flags, PCACHE_F_PROCFS);
	cr_assert_eq(e->cgroup_id, 0, "procfs does not touch the cgroup id");
	cr_assert_str_eq(cgpath, "/libpod_parent/libpod-" PODMAN_ID);
	cr_assert_eq(container_parse_cgroup_path(cgpath, &ref), 1);
	cr_assert_str_eq(ref.id, PODMAN_ID);
	cr_assert_eq(ref.runtime, CONTAINER_RUNTIME_PODMAN);
}

Test(procfs, comm_with_spaces_and_parens)
{
	/* stat is "777 (x) (y z))) R 1 ...": fields start after the last ')' */
	struct pcache_entry *e = read_ok(HYBRID, 777);

	cr_assert_str_eq(e->comm, "x) (y z))", "from stat, as there is no comm file");
	cr_assert_eq(e->ppid, 1);
	cr_assert_eq(e->start_ns, ticks_ns(5000));
	cr_assert_eq(e->uid, 33);
	cr_assert_eq(e->gid, 44);
	cr_assert_str_eq(e->binary, "/home/u/my app/x) (y z)) (deleted)");
	cr_assert_eq(e->args_len, 19);
	cr_assert_str_eq(e->args, "./x) (y z))");
	cr_assert_str_eq(e->args + 12, "--flag");
	/* "0::/" on a hybrid host: the memory controller's path says more */
	cr_assert_str_eq(cgpath, "/user.slice/user-1000.slice/session-2.scope");
}

Test(procfs, kernel_thread)
{
	struct pcache_entry *e = read_ok(HYBRID, 2);

	cr_assert_str_eq(e->comm, "kthreadd");
	cr_assert_eq(e->ppid, 0);
	cr_assert_str_eq(e->binary, "", "no exe link");
	cr_assert_eq(e->args_len, 0, "empty cmdline");
	cr_assert_eq(e->start_ns, ticks_ns(14));
	cr_assert_str_eq(cgpath, "/");
}

Test(procfs, init_process)
{
	struct pcache_entry *e = read_ok(HYBRID, 1);

	cr_assert_str_eq(e->comm, "systemd");
	cr_assert_str_eq(e->binary, "/usr/lib/systemd/systemd");
	cr_assert_eq(e->args_len, 18);
	cr_assert_eq(memcmp(e->args, "/sbin/init\0splash\0", 18), 0);
	cr_assert_str_eq(cgpath, "/init.scope");
}

Test(procfs, long_cmdline_is_cut_at_4096_bytes)
{
	/* 700 arguments "arg000000".."arg000699" (10 bytes each with the NUL) = 7000 bytes */
	struct pcache_entry *e = read_ok(HYBRID, 5000);

	cr_assert_eq(e->args_len, 4096);
	cr_assert_str_eq(e->args, "arg000000");
	cr_assert_str_eq(e->args + 4080, "arg000408");
	cr_assert_str_eq(e->args + 4090, "arg00", "the cut argument is NUL-terminated");
	cr_assert_eq(e->args[4095], '\0');
	cr_assert_str_eq(cgpath, "/system.slice/app.service");
}

Test(procfs, cmdline_without_final_nul)
{
	struct pcache_entry *e = read_ok(HYBRID, 6001);

	cr_assert_eq(e->args_len, 22);
	cr_assert_str_eq(e->args, "nginx: worker process");
	cr_assert_eq(e->args[21], '\0');
}

Test(procfs, process_gone_between_reads)
{
	/* pid 6000 has stat but no status: it exited while being read */
	struct pcache_entry *e = pcache_insert(cache, 6000);

	errno = 0;
	cr_assert_eq(procfs_read_process(HYBRID, 6000, e, cgpath, sizeof(cgpath)), -1);
	cr_assert_eq(errno, ENOENT);
	cr_assert_eq(e->ppid, 0, "the entry is left alone");
	cr_assert_eq(e->flags, 0);
}

Test(procfs, missing_process)
{
	struct pcache_entry *e = pcache_insert(cache, 31337);

	errno = 0;
	cr_assert_eq(procfs_read_process(HYBRID, 31337, e, cgpath, sizeof(cgpath)), -1);
	cr_assert_eq(errno, ENOENT);
	errno = 0;
	cr_assert_eq(procfs_read_process(TAPIO_TEST_DATA "/procfs/nonexistent", 1, e, NULL, 0), -1);
	cr_assert_eq(errno, ENOENT);
}

Test(procfs, malformed_stat)
{
	struct pcache_entry *e = pcache_insert(cache, 888);

	errno = 0;
	cr_assert_eq(procfs_read_process(HYBRID, 888, e, cgpath, sizeof(cgpath)), -1,
		     "no closing parenthesis");
	cr_assert_eq(errno, EINVAL);
	e = pcache_insert(cache, 889);
	errno = 0;
	cr_assert_eq(procfs_read_process(HYBRID, 889, e, cgpath, sizeof(cgpath)), -1,
		     "ends before field 22");
	cr_assert_eq(errno, EINVAL);
}

Test(procfs, cgroup_path_buffer_too_small_or_absent)
{
	struct pcache_entry *e = pcache_insert(cache, 4242);
	char small[20];

	memset(small, 'X', sizeof(small));
	cr_assert_eq(procfs_read_process(HYBRID, 4242, e, small, sizeof(small)), 0);
	cr_assert_str_eq(small, "", "a cut path would name another cgroup");
	e = pcache_insert(cache, 4242);
	cr_assert_eq(procfs_read_process(HYBRID, 4242, e, NULL, 0), 0);
	cr_assert_str_eq(e->binary, "/bin/busybox");
}

Test(procfs, read_cgroup_alone)
{
	char small[20];

	cr_assert_eq(procfs_read_cgroup(HYBRID, 4242, cgpath, sizeof(cgpath)), 0);
	cr_assert_str_eq(cgpath, "/libpod_parent/libpod-" PODMAN_ID);
	cr_assert_eq(procfs_read_cgroup(HYBRID, 777, cgpath, sizeof(cgpath)), 0);
	cr_assert_str_eq(cgpath, "/user.slice/user-1000.slice/session-2.scope");
	cr_assert_eq(procfs_read_cgroup(V1ONLY, 400, cgpath, sizeof(cgpath)), 0);
	cr_assert_str_eq(cgpath, "/docker/" DOCKER_ID);
	cr_assert_eq(procfs_read_cgroup(V2, 1, cgpath, sizeof(cgpath)), -1, "no placement");
	cr_assert_str_eq(cgpath, "");
	cr_assert_eq(procfs_read_cgroup(HYBRID, 31337, cgpath, sizeof(cgpath)), -1, "gone");
	cr_assert_str_eq(cgpath, "");
	cr_assert_eq(procfs_read_cgroup(HYBRID, 4242, small, sizeof(small)), -1, "too long");
	cr_assert_eq(procfs_read_cgroup(HYBRID, 4242, NULL, 0), -1);
}

Test(procfs, v2_kubernetes_pod)
{
	struct pcache_entry *e = read_ok(V2, 300);
	struct container_ref ref;

	cr_assert_eq(e->uid, 101);
	cr_assert_eq(e->ppid, 250);
	cr_assert_eq(e->args_len, 21);
	cr_assert_str_eq(e->args + 9, "daemon off;");
	cr_assert_str_eq(cgpath, "/kubepods.slice/kubepods-burstable.slice/"
				 "kubepods-burstable-pod6f1c2a3b_4d5e_4f60_8a1b_2c3d4e5f6a7b.slice/"
				 "cri-containerd-" CRI_ID ".scope");
	cr_assert_eq(container_parse_cgroup_path(cgpath, &ref), 1);
	cr_assert_str_eq(ref.id, CRI_ID);
	cr_assert_eq(ref.runtime, CONTAINER_RUNTIME_CONTAINERD);
	cr_assert_str_eq(ref.pod_uid, POD_UID);
}

Test(procfs, v2_root_cgroup_gives_no_path)
{
	read_ok(V2, 1);
	cr_assert_str_eq(cgpath, "");
}

Test(procfs, v1_only_host_uses_memory_controller)
{
	struct pcache_entry *e = read_ok(V1ONLY, 400);
	struct container_ref ref;

	cr_assert_str_eq(e->comm, "redis-server");
	cr_assert_eq(e->uid, 999);
	cr_assert_eq(e->gid, 998);
	cr_assert_str_eq(e->binary, "/usr/local/bin/redis-server");
	cr_assert_str_eq(cgpath, "/docker/" DOCKER_ID);
	cr_assert_eq(container_parse_cgroup_path(cgpath, &ref), 1);
	cr_assert_eq(ref.runtime, CONTAINER_RUNTIME_DOCKER);
}

struct seen {
	uint32_t pids[64];
	int n;
};

static void collect(uint32_t pid, void *arg)
{
	struct seen *s = arg;

	if (s->n < 64)
		s->pids[s->n] = pid;
	s->n++;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

Test(procfs, scan_visits_only_pid_directories)
{
	static const uint32_t want[] = {1, 2, 777, 888, 889, 4242, 5000, 6000, 6001};
	struct seen s = {0};
	size_t i;

	cr_assert_eq(procfs_scan(HYBRID, collect, &s), 9);
	cr_assert_eq(s.n, 9);
	qsort(s.pids, (size_t)s.n, sizeof(s.pids[0]), cmp_u32);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_eq(s.pids[i], want[i], "pid #%zu", i);
}

Test(procfs, scan_of_missing_root)
{
	struct seen s = {0};

	cr_assert_eq(procfs_scan(TAPIO_TEST_DATA "/procfs/nonexistent", collect, &s), -1);
	cr_assert_eq(s.n, 0);
}

Test(procfs, unified_mount)
{
	char m[256];

	cr_assert_eq(procfs_unified_mount(HYBRID, m, sizeof(m)), 0);
	cr_assert_str_eq(m, "/sys/fs/cgroup/unified");
	cr_assert_eq(procfs_unified_mount(V2, m, sizeof(m)), 0);
	cr_assert_str_eq(m, "/sys/fs/cgroup");
	cr_assert_eq(procfs_unified_mount(V1ONLY, m, sizeof(m)), -1);
	cr_assert_eq(procfs_unified_mount(TAPIO_TEST_DATA "/procfs/nonexistent", m, sizeof(m)), -1);
	/* root given with a trailing slash */
	cr_assert_eq(procfs_unified_mount(HYBRID "/", m, sizeof(m)), 0);
	cr_assert_str_eq(m, "/sys/fs/cgroup/unified");
}

Test(procfs, unified_mount_overlong_line_and_escapes)
{
	/* The first line is longer than any line buffer and its tail reads like a cgroup2
	 * mount at "/wrong"; the real first cgroup2 mount has a space in its name. */
	char m[256];

	cr_assert_eq(procfs_unified_mount(ESCAPED, m, sizeof(m)), 0);
	cr_assert_str_eq(m, "/mnt/cgroup v2");
}

Test(procfs, unified_mount_out_too_small)
{
	char m[22]; /* "/sys/fs/cgroup/unified" needs 23 */

	cr_assert_eq(procfs_unified_mount(HYBRID, m, sizeof(m)), -1);
}

static char tmpdir[64];

static void make_tree(void)
{
	char p[128];

	strcpy(tmpdir, "/tmp/test_procfs.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(p, sizeof(p), "%s/a", tmpdir);
	cr_assert_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/a/b", tmpdir);
	cr_assert_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/file", tmpdir);
	fclose(fopen(p, "w"));
}

static void remove_tree(void)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/file", tmpdir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/a/b", tmpdir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/a", tmpdir);
	rmdir(p);
	rmdir(tmpdir);
}

static uint64_t inode_of(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "stat %s", path);
	return st.st_ino;
}

Test(procfs, cgroup_id_is_the_directory_inode)
{
	char p[128];

	make_tree();
	snprintf(p, sizeof(p), "%s/a/b", tmpdir);
	cr_expect_eq(procfs_cgroup_id(tmpdir, "/a/b"), inode_of(p));
	cr_expect_eq(procfs_cgroup_id(tmpdir, "/"), inode_of(tmpdir));
	cr_expect_eq(procfs_cgroup_id(tmpdir, "/missing"), 0);
	cr_expect_eq(procfs_cgroup_id(tmpdir, "/file"), 0, "not a directory");
	cr_expect_eq(procfs_cgroup_id(tmpdir, "a"), 0, "not an absolute cgroup path");
	cr_expect_eq(procfs_cgroup_id(tmpdir, ""), 0);
	remove_tree();
}

/* The "0::" line of the real /proc/self/cgroup. */
static void own_unified_cgroup(char *out, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "r");

	cr_assert_not_null(f);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(out, len, "%s", line + 3);
	}
	fclose(f);
	cr_assert_neq(out[0], '\0', "no 0:: line in /proc/self/cgroup");
}

Test(procfs, real_unified_mount_and_cgroup_ids)
{
	char m[256], own[4096], full[4400];
	struct statfs sfs;

	cr_assert_eq(procfs_unified_mount("/", m, sizeof(m)), 0);
	cr_assert_eq(statfs(m, &sfs), 0, "%s", m);
	cr_assert_eq(sfs.f_type, CGROUP2_SUPER_MAGIC, "%s is not a cgroup2 mount", m);
	cr_assert_eq(procfs_cgroup_id(m, "/"), inode_of(m));
	cr_assert_neq(procfs_cgroup_id(m, "/"), 0);

	own_unified_cgroup(own, sizeof(own));
	snprintf(full, sizeof(full), "%s%s", m, strcmp(own, "/") == 0 ? "" : own);
	cr_assert_neq(procfs_cgroup_id(m, own), 0, "own cgroup %s", own);
	cr_assert_eq(procfs_cgroup_id(m, own), inode_of(full));
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* What procfs_read_process must pick from the real /proc/self/cgroup. */
static void expected_own_path(char *out, size_t len)
{
	char line[4096], unified[4096] = "", memory[4096] = "";
	FILE *f = fopen("/proc/self/cgroup", "r");
	char *c2;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		c2 = strchr(strchr(line, ':') + 1, ':');
		if (strncmp(line, "0::", 3) == 0)
			snprintf(unified, sizeof(unified), "%s", line + 3);
		else if (strstr(line, ":memory:") == strchr(line, ':'))
			snprintf(memory, sizeof(memory), "%s", c2 + 1);
	}
	fclose(f);
	snprintf(out, len, "%s", unified[0] && strcmp(unified, "/") != 0 ? unified : memory);
}

Test(procfs, real_own_process)
{
	struct pcache_entry *e = read_ok("/", (uint32_t)getpid());
	char exe[PATH_MAX + 1], cmdline[8192], want_cg[4096], comm[16] = "";
	size_t cmdline_len;
	struct timespec now;
	uint64_t now_ns, window_ns;
	ssize_t n;
	FILE *f;

	cr_assert_eq(e->ppid, (uint32_t)getppid());
	cr_assert_eq(e->uid, getuid());
	cr_assert_eq(e->gid, getgid());
	/* the kernel's task name, asked directly ("test_procfs", or valgrind's when under it) */
	cr_assert_eq(prctl(PR_GET_NAME, comm), 0);
	cr_assert_str_eq(e->comm, comm);

	n = readlink("/proc/self/exe", exe, PATH_MAX);
	cr_assert_gt(n, 0);
	exe[n] = '\0';
	cr_assert_str_eq(e->binary, exe);
	cr_assert(ends_with(e->binary, "/test_procfs"), "binary %s", e->binary);
	/* Criterion's workers rewrite their argv ("boxfort-worker"), so compare with the
	 * kernel's cmdline read independently. */
	f = fopen("/proc/self/cmdline", "r");
	cr_assert_not_null(f);
	cmdline_len = fread(cmdline, 1, sizeof(cmdline), f);
	fclose(f);
	cr_assert_gt(cmdline_len, 0);
	cr_assert_lt(cmdline_len, 4096);
	cr_assert_eq(e->args_len, cmdline_len);
	cr_assert_eq(memcmp(e->args, cmdline, cmdline_len), 0);

	/* started (forked by Criterion) within the last minutes, clock-tick precision */
	clock_gettime(CLOCK_BOOTTIME, &now);
	now_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	cr_assert_leq(e->start_ns, now_ns);
	/* a machine booted less than the window ago: the bound is boot itself, not a wrap */
	window_ns = 600ull * 1000000000ull;
	cr_assert_geq(e->start_ns, now_ns > window_ns ? now_ns - window_ns : 0);
	cr_assert_eq(e->flags, PCACHE_F_PROCFS);

	expected_own_path(want_cg, sizeof(want_cg));
	cr_assert_str_eq(cgpath, want_cg);
}

struct find_pids {
	uint32_t me, parent;
	int found_me, found_parent, n;
};

static void find_pid(uint32_t pid, void *arg)
{
	struct find_pids *f = arg;

	f->found_me += pid == f->me;
	f->found_parent += pid == f->parent;
	f->n++;
}

Test(procfs, real_scan_includes_own_pid)
{
	struct find_pids f = {.me = (uint32_t)getpid(), .parent = (uint32_t)getppid()};

	cr_assert_eq(procfs_scan("/", find_pid, &f), f.n);
	cr_assert_geq(f.n, 2);
	cr_assert_eq(f.found_me, 1);
	cr_assert_eq(f.found_parent, 1);
}
