/* container.c - find the container id, runtime and Kubernetes pod UID in a cgroup path.
 *
 * Walks the path's components from the last one up, because a container's processes may
 * sit in sub-cgroups below the container's own cgroup ("/libpod_parent/libpod-<id>/container",
 * systemd inside a container). The first component that names a container wins; its parent
 * component is where the kubelet puts the pod ("pod<uid>" with the cgroupfs driver,
 * "kubepods-<qos>-pod<uid with '_'>.slice" with the systemd driver).
 */
#include "enrich/container.h"

#include <string.h>

/* No cgroup path is longer than PATH_MAX; anything longer is not a path we produced. */
#define CONTAINER_PATH_MAX 4096
#define POD_UID_LEN 36

struct runtime_prefix {
	const char *text;
	enum container_runtime rt;
};

/* Component prefixes before the 64-hex id, as "<prefix><id>" (cgroupfs) or
 * "<prefix><id>.scope" (systemd). The conmon scopes are the runtime monitors of the
 * container with that id; they are reported as that container. */
static const struct runtime_prefix prefixes[] = {
	{"docker-", CONTAINER_RUNTIME_DOCKER},
	{"cri-containerd-", CONTAINER_RUNTIME_CONTAINERD},
	{"nerdctl-", CONTAINER_RUNTIME_CONTAINERD},
	{"crio-conmon-", CONTAINER_RUNTIME_CRIO},
	{"crio-", CONTAINER_RUNTIME_CRIO},
	{"libpod-conmon-", CONTAINER_RUNTIME_PODMAN},
	{"libpod-", CONTAINER_RUNTIME_PODMAN},
};

struct span {
	const char *s;
	size_t n;
};

static int is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int is_id(const char *s, size_t n)
{
	size_t i;

	if (n != CONTAINER_ID_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_lower_hex(s[i]))
			return 0;
	return 1;
}

static int has_prefix(struct span c, const char *prefix)
{
	size_t n = strlen(prefix);

	return c.n >= n && memcmp(c.s, prefix, n) == 0;
}

static int has_suffix(struct span c, const char *suffix)
{
	size_t n = strlen(suffix);

	return c.n >= n && memcmp(c.s + c.n - n, suffix, n) == 0;
}

static int span_eq(struct span c, const char *text)
{
	return c.n == strlen(text) && memcmp(c.s, text, c.n) == 0;
}

/* The component that ends before index end (exclusive), skipping repeated slashes.
 * Returns 0 when there is none. */
static int prev_component(const char *path, size_t end, struct span *out)
{
	size_t start;

	while (end > 0 && path[end - 1] == '/')
		end--;
	if (end == 0)
		return 0;
	start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	out->s = path + start;
	out->n = end - start;
	return 1;
}

/* A bare id names no runtime, except directly under "docker" (cgroupfs driver). */
static int match_bare(struct span c, const struct span *parent, struct container_ref *out)
{
	if (!is_id(c.s, c.n))
		return 0;
	memcpy(out->id, c.s, CONTAINER_ID_LEN);
	out->id[CONTAINER_ID_LEN] = '\0';
	out->runtime = CONTAINER_RUNTIME_NONE;
	if (parent && span_eq(*parent, "docker"))
		out->runtime = CONTAINER_RUNTIME_DOCKER;
	return 1;
}

static int match_prefixed(struct span c, struct container_ref *out)
{
	size_t i, n;

	if (has_suffix(c, ".scope"))
		c.n -= strlen(".scope");
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (!has_prefix(c, prefixes[i].text))
			continue;
		n = strlen(prefixes[i].text);
		if (!is_id(c.s + n, c.n - n))
			continue;
		memcpy(out->id, c.s + n, CONTAINER_ID_LEN);
		out->id[CONTAINER_ID_LEN] = '\0';
		out->runtime = prefixes[i].rt;
		return 1;
	}
	return 0;
}

/* 8-4-4-4-12 lower-case hex digits with sep between the groups. */
static int is_pod_uid(const char *s, char sep)
{
	size_t i;

	for (i = 0; i < POD_UID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != sep)
				return 0;
		} else if (!is_lower_hex(s[i])) {
			return 0;
		}
	}
	return 1;
}

/* Copies a validated UID, turning the systemd driver's '_' back into '-'. */
static void copy_pod_uid(char *dst, const char *src)
{
	size_t i;

	for (i = 0; i < POD_UID_LEN; i++)
		dst[i] = src[i] == '_' ? '-' : src[i];
	dst[POD_UID_LEN] = '\0';
}

/* "pod<uid>" (cgroupfs) or "...-pod<uid_>.slice" (systemd, where '-' separates levels). */
static void match_pod(struct span c, struct container_ref *out)
{
	const size_t slice_len = strlen("-pod") + POD_UID_LEN + strlen(".slice");
	const char *uid;

	if (c.n == strlen("pod") + POD_UID_LEN && has_prefix(c, "pod")) {
		uid = c.s + strlen("pod");
		if (is_pod_uid(uid, '-'))
			copy_pod_uid(out->pod_uid, uid);
		return;
	}
	if (c.n < slice_len || !has_suffix(c, ".slice"))
		return;
	if (memcmp(c.s + c.n - slice_len, "-pod", strlen("-pod")) != 0)
		return;
	uid = c.s + c.n - strlen(".slice") - POD_UID_LEN;
	if (is_pod_uid(uid, '_'))
		copy_pod_uid(out->pod_uid, uid);
}

int container_parse_cgroup_path(const char *path, struct container_ref *out)
{
	struct span c, parent;
	size_t end;
	int has_parent;

	memset(out, 0, sizeof(*out));
	if (!path)
		return 0;
	end = strnlen(path, CONTAINER_PATH_MAX);
	if (end == CONTAINER_PATH_MAX)
		return 0;
	while (prev_component(path, end, &c)) {
		end = (size_t)(c.s - path);
		has_parent = prev_component(path, end, &parent);
		if (match_prefixed(c, out) || match_bare(c, has_parent ? &parent : NULL, out)) {
			if (has_parent)
				match_pod(parent, out);
			return 1;
		}
	}
	return 0;
}

const char *container_runtime_name(enum container_runtime rt)
{
	switch (rt) {
	case CONTAINER_RUNTIME_DOCKER:
		return "docker";
	case CONTAINER_RUNTIME_CONTAINERD:
		return "containerd";
	case CONTAINER_RUNTIME_CRIO:
		return "crio";
	case CONTAINER_RUNTIME_PODMAN:
		return "podman";
	case CONTAINER_RUNTIME_NONE:
		break;
	}
	return "";
}
