/* Where OpenSSL lives: libssl.so.3 in a root's library directories, the lines of a memory
 * map that map one, and the scan of a proc tree (built by the test in a temporary
 * directory) that finds each process's first such mapping. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "observers/network/net_tls.h"

static char root[] = "/tmp/tapio-net-tls-XXXXXX";

static void setup(void)
{
	cr_assert_not_null(mkdtemp(root));
}

static void teardown(void)
{
	char cmd[PATH_MAX];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(net_tls, .init = setup, .fini = teardown);

/* root/rel with its directories, holding text (NULL: a directory only). */
static void put(const char *rel, const char *text)
{
	char path[PATH_MAX], cmd[PATH_MAX + 16];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", path);
	if (text)
		*strrchr(cmd, '/') = '\0';
	cr_assert_eq(system(cmd), 0);
	if (!text)
		return;
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(net_tls, maps_lines)
{
	struct net_tls_map m;
	const char *lib = "7f1c2a000000-7f1c2a02c000 r--p 00000000 fd:01 1234567"
			  "                    /usr/lib/x86_64-linux-gnu/libssl.so.3\n";

	cr_assert_eq(net_tls_maps_line(lib, &m), 1);
	cr_assert_eq(m.start, 0x7f1c2a000000UL);
	cr_assert_eq(m.end, 0x7f1c2a02c000UL);
	cr_assert_eq(strncmp(m.path, "/usr/lib/x86_64-linux-gnu/libssl.so.3\n", 39), 0);
	cr_assert_eq(net_tls_maps_line("1000-2000 r-xp 00001000 00:2f 88 /opt/app/libssl.so.3 "
				       "(deleted)",
				       &m),
		     1, "a library replaced on disk is still mapped");
	cr_assert_eq(m.start, 0x1000UL);
	static const char *const not_lib[] = {
		"1000-2000 r--p 00000000 fd:01 12 /usr/lib/x86_64-linux-gnu/libssl.so.1.1",
		"1000-2000 r--p 00000000 fd:01 12 /usr/lib/x86_64-linux-gnu/libssl.so.3.bak",
		"1000-2000 r--p 00000000 fd:01 12 /usr/lib/notlibssl.so.3",
		"1000-2000 rw-p 00000000 00:00 0                  [heap]",
		"1000-2000 rw-p 00000000 00:00 0",
		"2000-1000 r--p 00000000 fd:01 12 /usr/lib/libssl.so.3",
		"garbage /usr/lib/libssl.so.3",
		"",
	};
	for (size_t i = 0; i < sizeof(not_lib) / sizeof(not_lib[0]); i++)
		cr_assert_eq(net_tls_maps_line(not_lib[i], &m), 0, "%s", not_lib[i]);
}

struct found {
	int pids[8];
	char paths[8][128];
	int n;
};

static void on_found(void *ctx, int pid, const struct net_tls_map *m)
{
	struct found *f = ctx;

	cr_assert_lt(f->n, 8);
	f->pids[f->n] = pid;
	snprintf(f->paths[f->n++], sizeof(f->paths[0]), "%s", m->path);
}

Test(net_tls, scan_finds_the_first_mapping_of_each_process)
{
	char proc[PATH_MAX];
	struct found f = {0};
	int pid_of_100 = -1;

	put("proc/100/maps", "5000-6000 r--p 00000000 fd:01 7 /usr/bin/python3.11\n"
			     "7000-8000 r--p 00000000 fd:01 9 /usr/lib/libssl.so.3\n"
			     "8000-9000 r-xp 00001000 fd:01 9 /usr/lib/libssl.so.3\n");
	put("proc/200/maps", "5000-6000 r--p 00000000 fd:01 7 /usr/bin/bash\n");
	put("proc/300/maps", "a000-b000 r--p 00000000 00:2f 5 /lib/libssl.so.3 (deleted)\n");
	put("proc/400", NULL); /* gone between the listing and the read */
	put("proc/self/maps", "7000-8000 r--p 00000000 fd:01 9 /usr/lib/libssl.so.3\n");
	snprintf(proc, sizeof(proc), "%s/proc", root);

	cr_assert_eq(net_tls_scan(proc, on_found, &f), 3, "100, 200 and 300 were read");
	cr_assert_eq(f.n, 2);
	for (int i = 0; i < f.n; i++) {
		if (f.pids[i] == 100)
			pid_of_100 = i;
		else
			cr_assert_eq(f.pids[i], 300);
	}
	cr_assert_geq(pid_of_100, 0);
	cr_assert_str_eq(f.paths[pid_of_100], "/usr/lib/libssl.so.3", "the first mapping");
	cr_assert_str_eq(f.paths[1 - pid_of_100], "/lib/libssl.so.3 (deleted)");
	snprintf(proc, sizeof(proc), "%s/none", root);
	cr_assert_lt(net_tls_scan(proc, on_found, &f), 0);
}

Test(net_tls, find_in_a_roots_library_directories)
{
	char out[PATH_MAX], want[PATH_MAX];

	cr_assert_eq(net_tls_find_libssl(root, out, sizeof(out)), -1);
	put("usr/lib64/libssl.so.3", "ELF");
	put("lib/libssl.so.3", "ELF");
	cr_assert_eq(net_tls_find_libssl(root, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s/usr/lib64/libssl.so.3", root);
	cr_assert_str_eq(out, want, "the first directory in the search order");
	cr_assert_eq(net_tls_find_libssl(root, out, 8), -1, "none fits in out");
}
