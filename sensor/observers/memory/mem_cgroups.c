/* mem_cgroups.c - see mem_cgroups.h. Files are read whole into fixed buffers; what a file
 * says is never trusted for lengths. */
#include "observers/memory/mem_cgroups.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enrich/procfs.h"

#define MEM_FILE_MAX 8192 /* memory.stat is ~1.5 KiB, meminfo ~1.5 KiB */

int mem_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return (int)n;
}

static int has_option(const char *opts, const char *want)
{
	size_t n = strlen(want);

	for (const char *p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, want, n) && (p[n] == ',' || p[n] == 0))
			return 1;
	return 0;
}

static int v2_has_memory(const char *mount)
{
	char path[MEM_PATH_MAX + 32], buf[512];

	snprintf(path, sizeof(path), "%s/cgroup.controllers", mount);
	if (mem_read_file(path, buf, sizeof(buf)) < 0)
		return 0;
	for (char *tok = strtok(buf, " \n"); tok; tok = strtok(NULL, " \n"))
		if (!strcmp(tok, "memory"))
			return 1;
	return 0;
}

static void mounts_line(const char *root, char *line, struct mem_hier *h)
{
	char dev[64], dir[MEM_PATH_MAX], type[32], opts[512];

	if (sscanf(line, "%63s %511s %31s %511s", dev, dir, type, opts) != 4)
		return;
	if (!strcmp(type, "cgroup2")) {
		if (!h->unified[0] && procfs_join(h->unified, sizeof(h->unified), root, dir) < 0)
			h->unified[0] = 0;
	} else if (!strcmp(type, "cgroup") && has_option(opts, "memory") && !h->version) {
		if (procfs_join(h->mount, sizeof(h->mount), root, dir) == 0)
			h->version = 1;
	}
}

int mem_hier_find(const char *root, struct mem_hier *h)
{
	char path[MEM_PATH_MAX], line[2048];
	FILE *f;

	memset(h, 0, sizeof(*h));
	if (procfs_join(path, sizeof(path), root, "/proc/self/mounts") < 0 ||
	    !(f = fopen(path, "re")))
		return -1;
	while (fgets(line, sizeof(line), f))
		mounts_line(root, line, h);
	fclose(f);
	if (!h->version && h->unified[0] && v2_has_memory(h->unified)) {
		h->version = 2;
		snprintf(h->mount, sizeof(h->mount), "%s", h->unified);
	}
	return h->version ? 0 : -1;
}

uint64_t mem_parse_keyed(const char *buf, const char *key, int *found)
{
	size_t n = strlen(key);

	*found = 0;
	for (const char *p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, key, n) || (p[n] != ' ' && p[n] != ':' && p[n] != '\t'))
			continue;
		p += n + 1;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!isdigit((unsigned char)*p))
			return 0;
		*found = 1;
		return strtoull(p, NULL, 10);
	}
	return 0;
}

int mem_parse_limit(const char *buf, uint64_t *bytes)
{
	char *end;
	unsigned long long v;

	if (!strncmp(buf, "max", 3) && (buf[3] == '\n' || buf[3] == 0)) {
		*bytes = 0;
		return 0;
	}
	if (!isdigit((unsigned char)*buf))
		return -1;
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno || (*end != '\n' && *end != 0))
		return -1;
	/* v1 shows "no limit" as LONG_MAX rounded down to a page. */
	*bytes = v >= (1ULL << 62) ? 0 : v;
	return 0;
}

static int read_u64_file(const char *dir, const char *name, char *buf, size_t len)
{
	char path[MEM_PATH_MAX * 2 + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return mem_read_file(path, buf, len);
}

int mem_cg_read(const struct mem_hier *h, const char *path, struct mem_cg_sample *s)
{
	char dir[MEM_PATH_MAX * 2], buf[MEM_FILE_MAX];
	int v1 = h->version == 1, found;

	if (snprintf(dir, sizeof(dir), "%s%s", h->mount, path) >= (int)sizeof(dir))
		return -1;
	if (read_u64_file(dir, v1 ? "memory.usage_in_bytes" : "memory.current", buf, sizeof(buf)) <
	    0)
		return -1;
	s->usage = strtoull(buf, NULL, 10);
	if (read_u64_file(dir, v1 ? "memory.limit_in_bytes" : "memory.max", buf, sizeof(buf)) < 0 ||
	    mem_parse_limit(buf, &s->limit) < 0)
		return -1;
	s->inactive_file = 0;
	if (read_u64_file(dir, "memory.stat", buf, sizeof(buf)) >= 0)
		s->inactive_file =
			mem_parse_keyed(buf, v1 ? "total_inactive_file" : "inactive_file", &found);
	return 0;
}

struct walk {
	const struct mem_hier *h;
	int max_depth;
	int visited;
	int stop;
	int (*fn)(const char *path, void *arg);
	void *arg;
};

static void walk_dir(struct walk *w, const char *rel, int depth)
{
	char dir[MEM_PATH_MAX * 2], child[MEM_PATH_MAX];
	struct dirent *d;
	DIR *dp;

	if (depth > w->max_depth ||
	    snprintf(dir, sizeof(dir), "%s%s", w->h->mount, rel) >= (int)sizeof(dir))
		return;
	dp = opendir(dir);
	if (!dp)
		return;
	while (!w->stop && (d = readdir(dp))) {
		if (d->d_type != DT_DIR || d->d_name[0] == '.')
			continue;
		if (snprintf(child, sizeof(child), "%s/%s", rel, d->d_name) >= (int)sizeof(child))
			continue;
		w->visited++;
		if (w->fn(child, w->arg)) {
			w->stop = 1;
			break;
		}
		walk_dir(w, child, depth + 1);
	}
	closedir(dp);
}

int mem_cg_walk(const struct mem_hier *h, int max_depth, int (*fn)(const char *path, void *arg),
		void *arg)
{
	struct walk w = {.h = h, .max_depth = max_depth, .fn = fn, .arg = arg};

	if (!h->version)
		return 0;
	walk_dir(&w, "", 1);
	return w.visited;
}

int mem_meminfo(const char *root, uint64_t *total, uint64_t *available)
{
	char path[MEM_PATH_MAX], buf[MEM_FILE_MAX];
	int f1, f2;

	if (procfs_join(path, sizeof(path), root, "/proc/meminfo") < 0 ||
	    mem_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	*total = mem_parse_keyed(buf, "MemTotal", &f1) * 1024;
	*available = mem_parse_keyed(buf, "MemAvailable", &f2) * 1024;
	return f1 && f2 ? 0 : -1;
}

int mem_proc_stat(const char *root, uint32_t pid, long page_size, uint64_t *rss,
		  uint64_t *start_ticks)
{
	char path[MEM_PATH_MAX], rel[64], buf[2048];
	unsigned long long start, pages;
	char *p;

	snprintf(rel, sizeof(rel), "/proc/%u/stat", pid);
	if (procfs_join(path, sizeof(path), root, rel) < 0 ||
	    mem_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
	if (!p)
		return -1;
	/* After ") ": state is field 3, starttime 22, vsize 23, rss 24. */
	if (sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
		   "%*d %*d %llu %*u %llu",
		   &start, &pages) != 2)
		return -1;
	*start_ticks = start;
	*rss = (uint64_t)pages * (uint64_t)page_size;
	return 0;
}

static int memcg_line(char *line, int version, char *out, size_t len)
{
	char *c1 = strchr(line, ':'), *c2, *nl;

	if (!c1 || !(c2 = strchr(c1 + 1, ':')))
		return 0;
	*c1 = 0;
	*c2 = 0; /* line: the hierarchy id; c1 + 1: its controllers */
	if (version == 2 ? strcmp(line, "0") || c1[1] : !has_option(c1 + 1, "memory"))
		return 0;
	if ((nl = strchr(c2 + 1, '\n')))
		*nl = 0;
	snprintf(out, len, "%s", c2 + 1);
	return 1;
}

int mem_proc_memcg(const char *root, uint32_t pid, int version, char *out, size_t len)
{
	char path[MEM_PATH_MAX], rel[64], buf[MEM_FILE_MAX];

	snprintf(rel, sizeof(rel), "/proc/%u/cgroup", pid);
	if (procfs_join(path, sizeof(path), root, rel) < 0 ||
	    mem_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (memcg_line(line, version, out, len))
			return 0;
	}
	return -1;
}

uint64_t mem_cg_inode(const char *mount, const char *path)
{
	char full[MEM_PATH_MAX * 2];
	struct stat st;

	if (snprintf(full, sizeof(full), "%s%s", mount, path) >= (int)sizeof(full) ||
	    stat(full, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	return (uint64_t)st.st_ino;
}
