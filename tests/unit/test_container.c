/* test_container.c - cgroup path -> container id, runtime and pod UID, for the path shapes
 * of docker, containerd, CRI-O and podman under both cgroup drivers, and paths that are not
 * containers. */
#include <criterion/criterion.h>

#include <string.h>

#include "enrich/container.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define UID "2b0c7b54-9a3e-4c1d-8f6e-5d4c3b2a1f0e"
#define UID_ "2b0c7b54_9a3e_4c1d_8f6e_5d4c3b2a1f0e"

static void expect_container(const char *path, const char *id, enum container_runtime rt,
			     const char *pod_uid)
{
	struct container_ref ref;

	memset(&ref, 0xa5, sizeof(ref));
	cr_assert_eq(container_parse_cgroup_path(path, &ref), 1, "not recognised: %s", path);
	cr_expect_str_eq(ref.id, id, "id of %s", path);
	cr_expect_eq(ref.runtime, rt, "runtime of %s: %d", path, ref.runtime);
	cr_expect_str_eq(ref.pod_uid, pod_uid, "pod uid of %s", path);
}

static void expect_none(const char *path)
{
	static const struct container_ref zero;
	struct container_ref ref;

	memset(&ref, 0xa5, sizeof(ref));
	cr_expect_eq(container_parse_cgroup_path(path, &ref), 0, "taken for a container: %s",
		     path ? path : "(null)");
	cr_expect_eq(memcmp(&ref, &zero, sizeof(ref)), 0, "out not zeroed for %s",
		     path ? path : "(null)");
}

Test(container, docker)
{
	expect_container("/docker/" ID, ID, CONTAINER_RUNTIME_DOCKER, "");
	expect_container("/system.slice/docker-" ID ".scope", ID, CONTAINER_RUNTIME_DOCKER, "");
	/* partial path as the kernel sends it */
	expect_container("docker/" ID, ID, CONTAINER_RUNTIME_DOCKER, "");
	expect_container("docker-" ID ".scope", ID, CONTAINER_RUNTIME_DOCKER, "");
}

Test(container, containerd_cri_cgroupfs)
{
	/* A bare id names no runtime, even under kubepods (dockershim used the same shape). */
	expect_container("/kubepods/burstable/pod" UID "/" ID, ID, CONTAINER_RUNTIME_NONE, UID);
	expect_container("/kubepods/besteffort/pod" UID "/" ID, ID, CONTAINER_RUNTIME_NONE, UID);
	expect_container("/kubepods/pod" UID "/" ID, ID, CONTAINER_RUNTIME_NONE, UID);
	expect_container("pod" UID "/" ID, ID, CONTAINER_RUNTIME_NONE, UID);
}

Test(container, containerd_cri_systemd)
{
	expect_container("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
			 ".slice/cri-containerd-" ID ".scope",
			 ID, CONTAINER_RUNTIME_CONTAINERD, UID);
	expect_container("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
			 ".slice/cri-containerd-" ID ".scope",
			 ID, CONTAINER_RUNTIME_CONTAINERD, UID);
	expect_container("/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID ".scope",
			 ID, CONTAINER_RUNTIME_CONTAINERD, UID);
	expect_container("kubepods-burstable-pod" UID_ ".slice/cri-containerd-" ID ".scope", ID,
			 CONTAINER_RUNTIME_CONTAINERD, UID);
	expect_container("cri-containerd-" ID ".scope", ID, CONTAINER_RUNTIME_CONTAINERD, "");
}

Test(container, containerd_plain)
{
	expect_container("/system.slice/nerdctl-" ID ".scope", ID, CONTAINER_RUNTIME_CONTAINERD,
			 "");
	expect_container("/default/" ID, ID, CONTAINER_RUNTIME_NONE, "");
}

Test(container, crio)
{
	expect_container("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
			 ".slice/crio-" ID ".scope",
			 ID, CONTAINER_RUNTIME_CRIO, UID);
	expect_container("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
			 ".slice/crio-conmon-" ID ".scope",
			 ID, CONTAINER_RUNTIME_CRIO, UID);
	expect_container("/kubepods/besteffort/pod" UID "/crio-" ID, ID, CONTAINER_RUNTIME_CRIO,
			 UID);
	expect_container("crio-conmon-" ID ".scope", ID, CONTAINER_RUNTIME_CRIO, "");
}

Test(container, podman)
{
	expect_container("/libpod_parent/libpod-" ID, ID, CONTAINER_RUNTIME_PODMAN, "");
	expect_container("/machine.slice/libpod-" ID ".scope", ID, CONTAINER_RUNTIME_PODMAN, "");
	expect_container("/machine.slice/libpod-conmon-" ID ".scope", ID, CONTAINER_RUNTIME_PODMAN,
			 "");
	expect_container("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID
			 ".scope",
			 ID, CONTAINER_RUNTIME_PODMAN, "");
	expect_container("libpod-" ID, ID, CONTAINER_RUNTIME_PODMAN, "");
}

Test(container, id_in_a_parent_component)
{
	expect_container("/libpod_parent/libpod-" ID "/container", ID, CONTAINER_RUNTIME_PODMAN,
			 "");
	expect_container("libpod-" ID "/container", ID, CONTAINER_RUNTIME_PODMAN, "");
	expect_container("/system.slice/docker-" ID ".scope/init.scope", ID,
			 CONTAINER_RUNTIME_DOCKER, "");
	expect_container("/kubepods/burstable/pod" UID "/" ID "/sub", ID, CONTAINER_RUNTIME_NONE,
			 UID);
}

Test(container, innermost_container_wins)
{
	/* docker in docker: the nested container is the one the process runs in */
	expect_container("/docker/" ID "/docker/" ID2, ID2, CONTAINER_RUNTIME_DOCKER, "");
}

Test(container, tolerates_repeated_and_trailing_slashes)
{
	expect_container("/docker/" ID "/", ID, CONTAINER_RUNTIME_DOCKER, "");
	expect_container("//kubepods//pod" UID "//" ID, ID, CONTAINER_RUNTIME_NONE, UID);
}

Test(container, not_containers)
{
	expect_none(NULL);
	expect_none("");
	expect_none("/");
	expect_none("//");
	expect_none("/user.slice/user-0.slice/session-3.scope");
	expect_none("/system.slice/ssh.service");
	expect_none("/system.slice/docker.service");
	expect_none("/system.slice/containerd.service");
	expect_none("/init.scope");
	expect_none("/docker");
	expect_none("/kubepods/burstable/pod" UID); /* a pod, but no container */
	expect_none("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		    ".slice");
	expect_none("/machine.slice/libpod-pod-1234.slice");
}

Test(container, ids_must_be_64_lower_case_hex)
{
	/* 63 and 65 digits */
	expect_none("/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde");
	expect_none("/docker/" ID "0");
	expect_none("/system.slice/docker-" ID "0.scope");
	/* upper case, non-hex */
	expect_none("/docker/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef");
	expect_none("/docker/0123456789abcdeg0123456789abcdef0123456789abcdef0123456789abcdef");
	expect_none("/machine.slice/libpod-" ID ".slice");
	expect_none("/machine.slice/libpod-" ID ".scope.bak");
	expect_none("/" ID ".scope"); /* a bare id only without a suffix */
	expect_none("/system.slice/unknown-" ID ".scope");
	expect_none("/system.slice/xdocker-" ID ".scope");
}

Test(container, pod_uid_must_have_uuid_shape)
{
	/* wrong separators for the driver, short, upper case: id kept, pod dropped */
	expect_container("/kubepods/pod" UID_ "/" ID, ID, CONTAINER_RUNTIME_NONE, "");
	expect_container("/kubepods.slice/kubepods-pod" UID ".slice/cri-containerd-" ID ".scope",
			 ID, CONTAINER_RUNTIME_CONTAINERD, "");
	expect_container("/kubepods/pod2b0c7b54-9a3e-4c1d-8f6e-5d4c3b2a1f0/" ID, ID,
			 CONTAINER_RUNTIME_NONE, "");
	expect_container("/kubepods/pod2B0C7B54-9a3e-4c1d-8f6e-5d4c3b2a1f0e/" ID, ID,
			 CONTAINER_RUNTIME_NONE, "");
	expect_container("/kubepods/pod" UID "x/" ID, ID, CONTAINER_RUNTIME_NONE, "");
	/* the pod must be the container's parent, not any ancestor */
	expect_container("/kubepods/pod" UID "/x/" ID, ID, CONTAINER_RUNTIME_NONE, "");
}

Test(container, overlong_path_is_rejected)
{
	static char path[5000];

	memset(path, 'a', sizeof(path) - 1);
	memcpy(path + sizeof(path) - 1 - 72, "/docker/" ID, 72);
	expect_none(path);
}

Test(container, runtime_names)
{
	cr_assert_str_eq(container_runtime_name(CONTAINER_RUNTIME_NONE), "");
	cr_assert_str_eq(container_runtime_name(CONTAINER_RUNTIME_DOCKER), "docker");
	cr_assert_str_eq(container_runtime_name(CONTAINER_RUNTIME_CONTAINERD), "containerd");
	cr_assert_str_eq(container_runtime_name(CONTAINER_RUNTIME_CRIO), "crio");
	cr_assert_str_eq(container_runtime_name(CONTAINER_RUNTIME_PODMAN), "podman");
	cr_assert_str_eq(container_runtime_name((enum container_runtime)99), "");
}
