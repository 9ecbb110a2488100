/* procfs.c - read a process's identity and cgroup from /proc, find the cgroup v2 mount.
 *
 * All paths are <root>/proc/..., so unit tests point root at a fixture tree. Every file is
 * read into a fixed-size buffer (what does not fit is cut off, never overrun) and parsed
 * without trusting anything the file says about lengths. A process can exit between two
 * reads: the files that identify it (stat, status) are parsed into locals first, and the
 * entry is only written once both are read.
 */
#include "enrich/procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROCFS_PATH_MAX 4096
#define PROCFS_STAT_MAX 2048	/* /proc/<pid>/stat is ~300 bytes; comm is at most 64 */
#define PROCFS_STATUS_MAX 4096	/* Uid:/Gid: come before the (unbounded) Groups: line */
#define PROCFS_CMDLINE_MAX 4096 /* the args kept per process */
#define PROCFS_CGROUP_MAX 16384 /* ~13 v1 lines of paths up to a few hundred bytes */
#define PROCFS_LINE_MAX 4096	/* one line of /proc/self/mounts */

/* stat fields (1-based, as in proc(5)) counted from the one after the comm field. */
#define STAT_FIELD_PPID 4
#define STAT_FIELD_STARTTIME 22
#define STAT_FIRST_AFTER_COMM 3

struct stat_info {
	uint32_t ppid;
	uint64_t start_ticks;
	char comm[PCACHE_COMM_LEN];
};

int procfs_join(char *out, size_t len, const char *root, const char *rel)
{
	size_t rn = strlen(root);
	int n;

	while (rn > 0 && root[rn - 1] == '/')
		rn--;
	n = snprintf(out, len, "%.*s%s", (int)rn, root, rel);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int pid_path(char *out, size_t len, const char *root, uint32_t pid, const char *file)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "/proc/%u/%s", pid, file);
	return procfs_join(out, len, root, rel);
}

/* Reads at most cap - 1 bytes of path into buf and NUL-terminates. Returns the byte count,
 * or -1 with errno. /proc files may return short reads, hence the loop. */
static ssize_t read_bounded(const char *path, char *buf, size_t cap)
{
	size_t total = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (total < cap - 1) {
		n = read(fd, buf + total, cap - 1 - total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;

			close(fd);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		total += (size_t)n;
	}
	close(fd);
	buf[total] = '\0';
	return (ssize_t)total;
}

static ssize_t read_pid_file(const char *root, uint32_t pid, const char *file, char *buf,
			     size_t cap)
{
	char path[PROCFS_PATH_MAX];

	if (pid_path(path, sizeof(path), root, pid, file) < 0)
		return -1;
	return read_bounded(path, buf, cap);
}

/* Parses a decimal number that must fill the whole token [s, end). */
static int parse_u64(const char *s, const char *end, uint64_t *out)
{
	uint64_t v = 0;

	if (s == end)
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static void copy_comm(char *dst, const char *src, size_t n)
{
	if (n > PCACHE_COMM_LEN - 1)
		n = PCACHE_COMM_LEN - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* "pid (comm) state ppid ...": comm may hold spaces and ')', so the fields after it start
 * after the LAST ')'. */
static int parse_stat(const char *buf, struct stat_info *si)
{
	const char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
	const char *p, *tok;
	uint64_t v;
	int field = STAT_FIRST_AFTER_COMM, got = 0;

	if (!open_paren || !close_paren || close_paren < open_paren)
		return -1;
	copy_comm(si->comm, open_paren + 1, (size_t)(close_paren - open_paren - 1));
	for (p = close_paren + 1; *p && field <= STAT_FIELD_STARTTIME; field++) {
		while (*p == ' ')
			p++;
		tok = p;
		while (*p && *p != ' ' && *p != '\n')
			p++;
		if (field != STAT_FIELD_PPID && field != STAT_FIELD_STARTTIME)
			continue;
		if (parse_u64(tok, p, &v) < 0)
			return -1;
		if (field == STAT_FIELD_PPID) {
			if (v > UINT32_MAX)
				return -1;
			si->ppid = (uint32_t)v;
		} else {
			si->start_ticks = v;
		}
		got++;
	}
	return got == 2 ? 0 : -1;
}

/* The first number after "<key>\t" at the start of a line (the real id of Uid:/Gid:). */
static int status_first_id(const char *buf, const char *key, uint32_t *out)
{
	size_t klen = strlen(key);
	const char *line, *p, *end;
	uint64_t v;

	for (line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, key, klen) != 0)
			continue;
		p = line + klen;
		while (*p == ' ' || *p == '\t')
			p++;
		end = p;
		while (*end >= '0' && *end <= '9')
			end++;
		if (parse_u64(p, end, &v) < 0 || v > UINT32_MAX)
			return -1;
		*out = (uint32_t)v;
		return 0;
	}
	return -1;
}

static int read_stat(const char *root, uint32_t pid, struct stat_info *si)
{
	char buf[PROCFS_STAT_MAX];

	if (read_pid_file(root, pid, "stat", buf, sizeof(buf)) < 0)
		return -1;
	if (parse_stat(buf, si) < 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int read_ids(const char *root, uint32_t pid, uint32_t *uid, uint32_t *gid)
{
	char buf[PROCFS_STATUS_MAX];

	if (read_pid_file(root, pid, "status", buf, sizeof(buf)) < 0)
		return -1;
	if (status_first_id(buf, "Uid:", uid) < 0 || status_first_id(buf, "Gid:", gid) < 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* /proc/<pid>/comm is the name without stat's parentheses; stat's copy is the fallback. */
static void read_comm(const char *root, uint32_t pid, char *comm)
{
	char buf[64];
	ssize_t n = read_pid_file(root, pid, "comm", buf, sizeof(buf));

	if (n <= 0)
		return;
	if (buf[n - 1] == '\n')
		n--;
	copy_comm(comm, buf, (size_t)n);
}

static int read_exe(const char *root, uint32_t pid, struct pcache_entry *e)
{
	char path[PROCFS_PATH_MAX], target[PATH_MAX + 1];
	ssize_t n;

	if (pid_path(path, sizeof(path), root, pid, "exe") < 0)
		return pcache_set_binary(e, NULL);
	n = readlink(path, target, PATH_MAX);
	/* Kernel threads and zombies have no exe; a target that fills the buffer may be cut. */
	if (n <= 0 || n >= PATH_MAX)
		return pcache_set_binary(e, NULL);
	target[n] = '\0';
	return pcache_set_binary(e, target);
}

/* Keeps at most PROCFS_CMDLINE_MAX bytes and makes the last argument NUL-terminated, as
 * args promises, when the kernel's copy was cut or rewritten without a final NUL. */
static int read_args(const char *root, uint32_t pid, struct pcache_entry *e)
{
	char buf[PROCFS_CMDLINE_MAX + 1];
	ssize_t n = read_pid_file(root, pid, "cmdline", buf, sizeof(buf));

	if (n <= 0)
		return pcache_set_args(e, NULL, 0);
	if (buf[n - 1] != '\0') {
		if (n == PROCFS_CMDLINE_MAX)
			buf[n - 1] = '\0';
		else
			buf[n++] = '\0';
	}
	return pcache_set_args(e, buf, (size_t)n);
}

static uint64_t ticks_to_ns(uint64_t ticks)
{
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t per_s = hz > 0 ? (uint64_t)hz : 100;

	/* Split so ticks * 1e9 cannot overflow for any uptime. */
	return ticks / per_s * 1000000000ull + ticks % per_s * 1000000000ull / per_s;
}

static int controllers_have(const char *list, size_t n, const char *name)
{
	size_t nlen = strlen(name), i = 0, start;

	while (i <= n) {
		start = i;
		while (i < n && list[i] != ',')
			i++;
		if (i - start == nlen && memcmp(list + start, name, nlen) == 0)
			return 1;
		i++;
	}
	return 0;
}

static void set_path(char *out, size_t len, const char *path, size_t n)
{
	/* A cut cgroup path would name another cgroup: better none than a wrong one. */
	if (n >= len)
		n = 0;
	memcpy(out, path, n);
	out[n] = '\0';
}

struct span_ref {
	const char *s;
	size_t n;
	int found;
};

/* One "hierarchy:controllers:path" line [line, end). Notes the path of the "0::" line or
 * of the memory controller's line, the first of each. */
static void cgroup_line(const char *line, const char *end, struct span_ref *unified,
			struct span_ref *memory)
{
	const char *c1 = memchr(line, ':', (size_t)(end - line)), *c2;
	struct span_ref *dst;

	if (!c1)
		return;
	c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
	if (!c2)
		return;
	if (c1 - line == 1 && line[0] == '0' && c2 == c1 + 1)
		dst = unified;
	else if (controllers_have(c1 + 1, (size_t)(c2 - c1 - 1), "memory"))
		dst = memory;
	else
		return;
	if (dst->found)
		return;
	dst->s = c2 + 1;
	dst->n = (size_t)(end - c2 - 1);
	dst->found = 1;
}

static void read_cgroup(const char *root, uint32_t pid, char *out, size_t len)
{
	char buf[PROCFS_CGROUP_MAX];
	struct span_ref unified = {0}, memory = {0};
	const char *line, *nl, *end;
	ssize_t n;

	out[0] = '\0';
	n = read_pid_file(root, pid, "cgroup", buf, sizeof(buf));
	if (n <= 0)
		return;
	end = buf + n;
	for (line = buf; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		/* An unterminated last line is whole only if the file ended inside the buffer. */
		if (!nl && (size_t)n == sizeof(buf) - 1)
			break;
		if (!nl)
			nl = end;
		cgroup_line(line, nl, &unified, &memory);
	}
	if (unified.found && !(unified.n == 1 && unified.s[0] == '/'))
		set_path(out, len, unified.s, unified.n);
	else if (memory.found)
		set_path(out, len, memory.s, memory.n);
}

int procfs_read_process(const char *root, uint32_t pid, struct pcache_entry *e, char *cgroup_path,
			size_t cgroup_path_len)
{
	struct stat_info si = {0};
	uint32_t uid, gid;

	if (read_stat(root, pid, &si) < 0 || read_ids(root, pid, &uid, &gid) < 0)
		return -1;
	e->ppid = si.ppid;
	e->uid = uid;
	e->gid = gid;
	e->start_ns = ticks_to_ns(si.start_ticks);
	memcpy(e->comm, si.comm, sizeof(e->comm));
	read_comm(root, pid, e->comm);
	if (read_exe(root, pid, e) < 0 || read_args(root, pid, e) < 0)
		return -1;
	e->flags |= PCACHE_F_PROCFS;
	if (cgroup_path && cgroup_path_len > 0)
		read_cgroup(root, pid, cgroup_path, cgroup_path_len);
	return 0;
}

/* A pid directory name: all digits, no leading zero, fits in 32 bits. */
static int parse_pid_name(const char *name, uint32_t *pid)
{
	uint64_t v;

	if (name[0] == '0' || parse_u64(name, name + strlen(name), &v) < 0 || v > UINT32_MAX)
		return -1;
	*pid = (uint32_t)v;
	return 0;
}

int procfs_scan(const char *root, void (*fn)(uint32_t pid, void *arg), void *arg)
{
	char path[PROCFS_PATH_MAX];
	struct dirent *d;
	uint32_t pid;
	DIR *dir;
	int count = 0;

	if (procfs_join(path, sizeof(path), root, "/proc") < 0)
		return -1;
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir)) != NULL) {
		if (d->d_type != DT_DIR && d->d_type != DT_UNKNOWN)
			continue;
		if (parse_pid_name(d->d_name, &pid) < 0)
			continue;
		fn(pid, arg);
		count++;
	}
	closedir(dir);
	return count;
}

/* Undoes the octal escapes (\040 for ' ', \011, \012, \134) the kernel writes in mount
 * points, in place. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* "device mountpoint fstype options dump pass": 1 and the mount point in out when the
 * fstype is cgroup2. */
static int mounts_line_cgroup2(char *line, char *out, size_t len)
{
	char *save = NULL, *mnt, *fstype;

	if (!strtok_r(line, " \n", &save))
		return 0;
	mnt = strtok_r(NULL, " \n", &save);
	fstype = strtok_r(NULL, " \n", &save);
	if (!mnt || !fstype || strcmp(fstype, "cgroup2") != 0)
		return 0;
	unescape_octal(mnt);
	if (strlen(mnt) >= len)
		return 0;
	strcpy(out, mnt);
	return 1;
}

/* Skips the rest of a line longer than the line buffer, so its tail is not taken for a
 * line of its own. */
static void skip_rest_of_line(FILE *f)
{
	int ch;

	do {
		ch = fgetc(f);
	} while (ch != EOF && ch != '\n');
}

int procfs_unified_mount(const char *root, char *out, size_t len)
{
	char path[PROCFS_PATH_MAX], line[PROCFS_LINE_MAX];
	int found = 0;
	FILE *f;

	if (procfs_join(path, sizeof(path), root, "/proc/self/mounts") < 0)
		return -1;
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f)) {
		if (!strchr(line, '\n') && !feof(f)) {
			skip_rest_of_line(f);
			continue;
		}
		found = mounts_line_cgroup2(line, out, len);
	}
	fclose(f);
	return found ? 0 : -1;
}

uint64_t procfs_cgroup_id(const char *mount, const char *path)
{
	char full[PROCFS_PATH_MAX];
	struct stat st;

	if (!path || path[0] != '/' || procfs_join(full, sizeof(full), mount, path) < 0)
		return 0;
	if (stat(full, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	return (uint64_t)st.st_ino;
}

int procfs_read_cgroup(const char *root, uint32_t pid, char *out, size_t len)
{
	if (!out || len == 0)
		return -1;
	read_cgroup(root, pid, out, len);
	return out[0] ? 0 : -1;
}
