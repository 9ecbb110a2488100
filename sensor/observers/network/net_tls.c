/* net_tls.c - see net_tls.h. */
#include "observers/network/net_tls.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Debian and Ubuntu (multiarch, with and without merged /usr), Fedora/RHEL, Alpine and
 * other single-arch layouts. */
static const char *const dirs[] = {
	"/usr/lib/x86_64-linux-gnu",
	"/lib/x86_64-linux-gnu",
	"/usr/lib64",
	"/lib64",
	"/usr/lib",
	"/lib",
};

int net_tls_find_libssl(const char *root, char *out, size_t outlen)
{
	char path[PATH_MAX], real[PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s/libssl.so.3", root[1] ? root : "", dirs[i]);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || !realpath(path, real))
			continue;
		if ((size_t)snprintf(out, outlen, "%s", real) >= outlen)
			continue;
		return 0;
	}
	return -1;
}

int net_tls_maps_line(const char *line, struct net_tls_map *m)
{
	static const char name[] = "/libssl.so.3";
	static const char deleted[] = " (deleted)";
	size_t len, n = sizeof(name) - 1;
	int off = -1;

	if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &m->start, &m->end, &off) < 2 || off < 0 ||
	    line[off] != '/')
		return 0;
	m->path = line + off;
	len = strcspn(m->path, "\n");
	if (len > sizeof(deleted) - 1 &&
	    !strncmp(m->path + len - (sizeof(deleted) - 1), deleted, sizeof(deleted) - 1))
		len -= sizeof(deleted) - 1;
	return len >= n && !strncmp(m->path + len - n, name, n) && m->end > m->start;
}

/* The first libssl.so.3 mapping in one maps file: 1 (m filled, path in line), 0 none,
 * -1 unreadable. */
static int maps_find(const char *file, char *line, size_t size, struct net_tls_map *m)
{
	FILE *f = fopen(file, "re");
	int found = 0;

	if (!f)
		return -1;
	while (!found && fgets(line, (int)size, f))
		found = net_tls_maps_line(line, m);
	fclose(f);
	if (found)
		line[strcspn(line, "\n")] = '\0';
	return found;
}

int net_tls_scan(const char *proc, net_tls_found_fn found, void *ctx)
{
	char file[PATH_MAX], line[PATH_MAX + 128];
	struct net_tls_map m;
	struct dirent *d;
	int n = 0, pid, r;
	DIR *dir = opendir(proc);

	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		char *end;

		pid = (int)strtol(d->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		snprintf(file, sizeof(file), "%s/%d/maps", proc, pid);
		r = maps_find(file, line, sizeof(line), &m);
		if (r < 0)
			continue;
		n++;
		if (r)
			found(ctx, pid, &m);
	}
	closedir(dir);
	return n;
}
