/* container.h - recognise the container (and Kubernetes pod) a cgroup path belongs to.
 *
 * Pure string parsing; no I/O. Knows the path shapes of docker, containerd (plain and
 * CRI), CRI-O and podman, with cgroupfs and systemd cgroup drivers, cgroup v1 and v2,
 * rootful and rootless.
 */
#ifndef TAPIO_CONTAINER_H
#define TAPIO_CONTAINER_H

#include <stddef.h>

#define CONTAINER_ID_LEN 64

enum container_runtime {
	CONTAINER_RUNTIME_NONE = 0, /* an id was found but the path names no runtime */
	CONTAINER_RUNTIME_DOCKER,
	CONTAINER_RUNTIME_CONTAINERD,
	CONTAINER_RUNTIME_CRIO,
	CONTAINER_RUNTIME_PODMAN,
};

struct container_ref {
	char id[CONTAINER_ID_LEN + 1]; /* 64 lower-case hex digits */
	enum container_runtime runtime;
	char pod_uid[37]; /* Kubernetes pod UID (with dashes), "" if none */
};

/* Parses a cgroup path: a full one ("/kubepods.slice/.../cri-containerd-<id>.scope") or its
 * last components ("pod<uid>/<id>"). Returns 1 and fills *out when the path holds a
 * container id, 0 when it does not (out is then zeroed). */
int container_parse_cgroup_path(const char *path, struct container_ref *out);

/* "docker", "containerd", "crio", "podman", or "" for CONTAINER_RUNTIME_NONE. */
const char *container_runtime_name(enum container_runtime rt);

#endif
