/* test_oci.c - pod and container names from OCI bundles: fixture roots under tests/data/oci
 * (node: one container of each runtime, the podman one trimmed from a real rootful podman
 * 4.3 container; bad: containerd bundles that are odd or broken; order: one id in every
 * runtime's directory), and files made at run time where a fixture cannot hold them (over
 * the size bound, a directory or FIFO in place of config.json). */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enrich/container.h"
#include "enrich/oci.h"

#define NODE TAPIO_TEST_DATA "/oci/node"
#define BAD TAPIO_TEST_DATA "/oci/bad"
#define ORDER TAPIO_TEST_DATA "/oci/order"

#define CRI_CONTAINER "61945a85941115b351b89a407cc0f4c199f25c75cd688302e9f5b609aca96f4b"
#define CRI_SANDBOX "e08f27c78966e257ff7318edddf12f9d4480cb94e7c6e2714341ddd165e937fd"
#define NERDCTL "aa470170773aae4a69e6e0a509eb8c1f304140b1fea1a2d55ec93a07a78e497c"
#define CRIO_CONTAINER "0a6b3e5f414ad08d641f30fcf656d8e75dc5a9be7a6b197dfd9d0ef064d34a37"
#define CRIO_SANDBOX "a18bfabd3cf1d74d0267b59ef276e9c1c94d4e31a9fb482340d884a4c4275b94"
#define PODMAN "643711f1f661e0dd8af1126a77781dbb3ded3b79097a391ba0961f1093b01233"
#define PODMAN_NO_META "c7a44c5a42f56546f3771ec0254acdcc818219468f955c79f034260c669e003c"
#define DOCKER_WEB "f31f384749f9115acf01fcf82f5a966b59dcc0a4cbd7c9740888c0bf32aa2bbb"
#define DOCKER_OWN "9a5b17cef0a97822ee196e81341f58b8b45ed31b9269ba5d356bdddfe319f5a9"
#define DOCKER_BAD_META "446bac16114c2c6d9baa71c7b400c7bad565a930043d07bc063fcbe429c5f405"
#define CRI_DOCKERD_APP "3813e4821a27beacf374135d86240c2a15141430c96389bbe57784e9bdf19703"
#define CRI_DOCKERD_POD "bf1903d003c9830b0e2389d44d4b2e6b0a2ec30ea66796e9851c0e49f1d49585"

#define NO_ANNOTATIONS "b82e54c6ce5370c5f7e92ca8f0ef9b6bd39bff26fd4566c80f8bfd633a095155"
#define NULL_ANNOTATIONS "013b73a221356e40c64e98f5f751405cdd7ce4a4244cb61231be6e3b83bcfcee"
#define MALFORMED "60ec9bb7299d85e0cdd35d4058fabd7cb6bdc9b788c6efde44427e9bb9234e13"
#define TRUNCATED "227b1c2e53cfd4a3dc1cc26c83b9c4fccef2130f905aef3123fdc3dc2c9e4df6"
#define TRAILING "6d388d29cd7aee3b77fb86462745dc8c57a5a417f4620a4d753defba64e33442"
#define TOP_ARRAY "d9f523649f7e1662009faaf25aded5fd3ca1e45691469623aaaf00a909a9eb9e"
#define EMPTY "2e1cfa82b035c26cbbbdae632cea070514eb8b773f616aaeaf668e2f0be8f10d"
#define ANNOTATIONS_ARRAY "a59ebc8eb4211fc520398e97adf7da58c9e9610c37ea701462ea509dcab4a74f"
#define LAX_JSON "1928942e816afffbb6e8a95f433184bc78f3f43436f4988a7bb7368b5fa421cd"
#define NOT_STRINGS "54d3bfe1ee61e2e55a101261b883f1062b1a6b3be0f048ac9885d1b1066519ad"
#define LONG_VALUES "2b726dcaec540e19c4bf129855f7317e03fc4793f733f973f16217844b4f1ccb"
#define TOO_LONG "c4efb9e0ab07075a54285ae726133449700b107816612ab78e72ade4a9d11542"

#define EVERYWHERE "11c209b437262b61e354ca822d4219f6a37070299ac2680b372dc18fa4ff6370"
#define DOCKER_ONLY "c03fe7b09fafa0895792da397a4f775733d3f479e75b1942b0e3416118f83959"

#define CRI_UID "6f1c2a3b-4d5e-4f60-8a1b-2c3d4e5f6a7b"
#define CRIO_UID "0e4d5c6b-7a89-4b0c-9d1e-2f3a4b5c6d7e"
#define DOCKERD_UID "3c2b1a09-8f7e-4d6c-b5a4-93827160f5e4"

#define FILE_MAX (4 << 20)

static struct oci_meta meta;

/* Every call starts from garbage, so a field the code forgets to set shows. */
static int lookup(const char *root, const char *id, enum container_runtime rt)
{
	memset(&meta, 0xa5, sizeof(meta));
	return oci_lookup(root, id, rt, &meta);
}

static void expect_found(const char *root, const char *id, enum container_runtime rt)
{
	cr_assert_eq(lookup(root, id, rt), 1, "no bundle for %s under %s", id, root);
}

static void expect_meta(const char *pod, const char *ns, const char *uid, const char *ctr,
			const char *image, bool sandbox)
{
	cr_expect_str_eq(meta.pod_name, pod);
	cr_expect_str_eq(meta.pod_namespace, ns);
	cr_expect_str_eq(meta.pod_uid, uid);
	cr_expect_str_eq(meta.container_name, ctr);
	cr_expect_str_eq(meta.image, image);
	cr_expect_eq(meta.sandbox, sandbox);
}

static void expect_zeroed(void)
{
	static const struct oci_meta zero;

	cr_expect_eq(memcmp(&meta, &zero, sizeof(meta)), 0, "out not zeroed");
}

static void expect_rc(const char *root, const char *id, int rc)
{
	cr_expect_eq(lookup(root, id, CONTAINER_RUNTIME_NONE), rc, "%s under %s", id, root);
	if (rc != 1)
		expect_zeroed();
}

Test(oci, containerd_cri_container)
{
	expect_found(NODE, CRI_CONTAINER, CONTAINER_RUNTIME_CONTAINERD);
	expect_meta("web-7d9f8b6c5-x2k4q", "shop", CRI_UID, "app",
		    "registry.example.com/shop/app:1.4.2", false);
}

Test(oci, containerd_cri_sandbox)
{
	expect_found(NODE, CRI_SANDBOX, CONTAINER_RUNTIME_CONTAINERD);
	expect_meta("web-7d9f8b6c5-x2k4q", "shop", CRI_UID, "", "registry.k8s.io/pause:3.10", true);
}

Test(oci, containerd_default_namespace)
{
	expect_found(NODE, NERDCTL, CONTAINER_RUNTIME_CONTAINERD);
	expect_meta("", "", "", "", "", false);
}

/* The image comes from the annotation, not from containers.json's metadata (which the
 * fixture gives a different value). */
Test(oci, crio_container)
{
	expect_found(NODE, CRIO_CONTAINER, CONTAINER_RUNTIME_CRIO);
	expect_meta("cart-0", "shop", CRIO_UID, "cart", "registry.example.com/shop/cart:3.1",
		    false);
}

/* CRI-O names its sandbox "POD" (the kubelet's label); a sandbox has no container name. */
Test(oci, crio_sandbox)
{
	expect_found(NODE, CRIO_SANDBOX, CONTAINER_RUNTIME_CRIO);
	expect_meta("cart-0", "shop", CRIO_UID, "", "registry.k8s.io/pause:3.9", true);
}

/* `podman run --annotation io.kubernetes.pod.name=web-1 --annotation
 * io.kubernetes.pod.namespace=shop --annotation io.kubernetes.container.name=app`; the
 * image is in containers/storage's containers.json only. */
Test(oci, podman_annotations_and_storage_metadata)
{
	expect_found(NODE, PODMAN, CONTAINER_RUNTIME_PODMAN);
	expect_meta("web-1", "shop", "", "app", "localhost/tapio-oci-busybox:latest", false);
}

Test(oci, podman_without_metadata_entry)
{
	expect_found(NODE, PODMAN_NO_META, CONTAINER_RUNTIME_PODMAN);
	expect_meta("", "", "", "", "", false);
}

/* Plain docker: no pod; the name ("/web" in config.v2.json) and image from docker's own
 * metadata. */
Test(oci, docker_system_containerd)
{
	expect_found(NODE, DOCKER_WEB, CONTAINER_RUNTIME_DOCKER);
	expect_meta("", "", "", "web", "nginx:1.25", false);
}

Test(oci, docker_own_containerd_without_metadata)
{
	expect_found(NODE, DOCKER_OWN, CONTAINER_RUNTIME_DOCKER);
	expect_meta("", "", "", "", "", false);
}

/* A broken config.v2.json is not a broken bundle. */
Test(oci, docker_broken_metadata)
{
	expect_found(NODE, DOCKER_BAD_META, CONTAINER_RUNTIME_DOCKER);
	expect_meta("", "", "", "", "", false);
}

/* cri-dockerd keeps the kubelet's labels on the docker container; they win over the
 * docker name "k8s_api_api-0_shop_<uid>_0". */
Test(oci, cri_dockerd_container)
{
	expect_found(NODE, CRI_DOCKERD_APP, CONTAINER_RUNTIME_DOCKER);
	expect_meta("api-0", "shop", DOCKERD_UID, "api", "registry.example.com/shop/api:5", false);
}

Test(oci, cri_dockerd_sandbox)
{
	expect_found(NODE, CRI_DOCKERD_POD, CONTAINER_RUNTIME_DOCKER);
	expect_meta("api-0", "shop", DOCKERD_UID, "", "registry.k8s.io/pause:3.9", true);
}

Test(oci, root_with_trailing_slash)
{
	expect_found(NODE "/", CRI_CONTAINER, CONTAINER_RUNTIME_CONTAINERD);
	cr_expect_str_eq(meta.pod_name, "web-7d9f8b6c5-x2k4q");
}

Test(oci, no_annotations)
{
	expect_found(BAD, NO_ANNOTATIONS, CONTAINER_RUNTIME_NONE);
	expect_meta("", "", "", "", "", false);
	expect_found(BAD, NULL_ANNOTATIONS, CONTAINER_RUNTIME_NONE);
	expect_meta("", "", "", "", "", false);
}

Test(oci, malformed)
{
	expect_rc(BAD, MALFORMED, -1);
	expect_rc(BAD, TRUNCATED, -1);
	expect_rc(BAD, TRAILING, -1);
	expect_rc(BAD, TOP_ARRAY, -1);
	expect_rc(BAD, EMPTY, -1);
	expect_rc(BAD, ANNOTATIONS_ARRAY, -1);
	/* single quotes and trailing commas: json-c takes them unless strict */
	expect_rc(BAD, LAX_JSON, -1);
}

/* Numbers, null, arrays, objects, booleans and a string with a NUL are ignored as if
 * absent, so a usable value of a later key for the same field still counts. */
Test(oci, annotations_that_are_not_strings)
{
	expect_found(BAD, NOT_STRINGS, CONTAINER_RUNTIME_NONE);
	expect_meta("fallback-pod", "", "", "", "", false);
}

static void expect_filled(const char *field, size_t len, char c)
{
	char want[1024];

	memset(want, c, len);
	want[len] = '\0';
	cr_expect_str_eq(field, want);
}

Test(oci, longest_values_fit)
{
	expect_found(BAD, LONG_VALUES, CONTAINER_RUNTIME_NONE);
	expect_filled(meta.pod_name, 253, 'p');
	expect_filled(meta.pod_namespace, 63, 'n');
	expect_filled(meta.pod_uid, 36, 'u');
	expect_filled(meta.container_name, 253, 'c');
	expect_filled(meta.image, 511, 'i');
}

/* One byte more than fits: dropped, not cut (a cut name would name something else). */
Test(oci, oversized_values_dropped)
{
	expect_found(BAD, TOO_LONG, CONTAINER_RUNTIME_NONE);
	expect_meta("", "", "", "", "", false);
}

Test(oci, missing_bundle)
{
	static const char *const absent = "00000000000000000000000000000000"
					  "00000000000000000000000000000000";
	enum container_runtime rt;

	for (rt = CONTAINER_RUNTIME_NONE; rt <= CONTAINER_RUNTIME_PODMAN; rt++) {
		cr_expect_eq(lookup(NODE, absent, rt), 0, "runtime %d", rt);
		expect_zeroed();
	}
	expect_rc(TAPIO_TEST_DATA "/oci/no-such-root", CRI_CONTAINER, 0);
}

/* Not a container id: no path is built from it, whatever it holds. */
Test(oci, invalid_ids)
{
	static const char *const ids[] = {
		"",
		"61945a85941115b351b89a407cc0f4c199f25c75cd688302e9f5b609aca96f4",
		"61945a85941115b351b89a407cc0f4c199f25c75cd688302e9f5b609aca96f4b0",
		"61945A85941115B351B89A407CC0F4C199F25C75CD688302E9F5B609ACA96F4B",
		"../../../../../../../../../../../../../../../../../../../etc/passwd",
		"61945a85941115b351b89a407cc0f4c199f25c75cd688302e9f5b609aca96f4/",
	};
	size_t i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		expect_rc(NODE, ids[i], 0);
	expect_rc(NODE, NULL, 0);
}

/* With no runtime, the fixed order: containerd CRI first. */
Test(oci, search_order_without_runtime)
{
	expect_found(ORDER, EVERYWHERE, CONTAINER_RUNTIME_NONE);
	cr_expect_str_eq(meta.pod_name, "from-containerd");
}

/* A runtime's own directories come first. */
Test(oci, search_order_with_runtime)
{
	expect_found(ORDER, EVERYWHERE, CONTAINER_RUNTIME_CONTAINERD);
	cr_expect_str_eq(meta.pod_name, "from-containerd");
	expect_found(ORDER, EVERYWHERE, CONTAINER_RUNTIME_CRIO);
	cr_expect_str_eq(meta.pod_name, "from-crio");
	expect_found(ORDER, EVERYWHERE, CONTAINER_RUNTIME_PODMAN);
	cr_expect_str_eq(meta.pod_name, "from-podman");
	expect_found(ORDER, EVERYWHERE, CONTAINER_RUNTIME_DOCKER);
	cr_expect_str_eq(meta.pod_name, "from-docker");
}

/* Then the other runtimes': a runtime the cgroup path named wrongly still finds it. */
Test(oci, search_falls_back_to_other_runtimes)
{
	enum container_runtime rt;

	for (rt = CONTAINER_RUNTIME_NONE; rt <= CONTAINER_RUNTIME_PODMAN; rt++) {
		expect_found(ORDER, DOCKER_ONLY, rt);
		cr_expect_str_eq(meta.pod_name, "only-docker", "runtime %d", rt);
	}
}

/* Run-time trees for what a fixture cannot hold: <tmp_root>/<BUNDLE_DIR>/config.json. */
#define BUNDLE_DIR "/run/containerd/io.containerd.runtime.v2.task/k8s.io/" CRI_CONTAINER

static char tmp_root[256];
static char tmp_bundle[1024];

static void make_tmp_root(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char cmd[1024];
	int n;

	n = snprintf(tmp_root, sizeof(tmp_root), "%s/tapio-oci-XXXXXX", tmp);
	cr_assert(n > 0 && (size_t)n < sizeof(tmp_root));
	cr_assert_not_null(mkdtemp(tmp_root));
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s" BUNDLE_DIR "'", tmp_root);
	cr_assert_eq(system(cmd), 0);
	snprintf(tmp_bundle, sizeof(tmp_bundle), "%s" BUNDLE_DIR "/config.json", tmp_root);
}

static void remove_tmp_root(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_root);
	cr_expect_eq(system(cmd), 0);
}

/* A config.json of size bytes: a JSON object padded with spaces. */
static void write_padded_object(size_t size)
{
	static const char head[] = "{\"annotations\":{\"io.kubernetes.pod.name\":\"big\"}}";
	char pad[65536];
	size_t left = size - (sizeof(head) - 1), n;
	FILE *f = fopen(tmp_bundle, "w");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(head, 1, sizeof(head) - 1, f), sizeof(head) - 1);
	memset(pad, ' ', sizeof(pad));
	while (left > 0) {
		n = left < sizeof(pad) ? left : sizeof(pad);
		cr_assert_eq(fwrite(pad, 1, n, f), n);
		left -= n;
	}
	cr_assert_eq(fclose(f), 0);
}

TestSuite(oci_files, .init = make_tmp_root, .fini = remove_tmp_root);

Test(oci_files, size_bound)
{
	write_padded_object(FILE_MAX);
	expect_found(tmp_root, CRI_CONTAINER, CONTAINER_RUNTIME_CONTAINERD);
	cr_expect_str_eq(meta.pod_name, "big");
	write_padded_object(FILE_MAX + 1);
	expect_rc(tmp_root, CRI_CONTAINER, -1);
}

Test(oci_files, directory_in_place_of_config)
{
	cr_assert_eq(mkdir(tmp_bundle, 0700), 0);
	expect_rc(tmp_root, CRI_CONTAINER, -1);
}

/* Opening a FIFO for reading would wait for a writer; it must not. */
Test(oci_files, fifo_in_place_of_config, .timeout = 10)
{
	cr_assert_eq(mkfifo(tmp_bundle, 0600), 0);
	expect_rc(tmp_root, CRI_CONTAINER, -1);
}

/* A NUL byte in the file ends no JSON value early. */
Test(oci_files, nul_byte_in_file)
{
	static const char doc[] = "{\"annotations\":{}}\0{\"x\":1}";
	FILE *f = fopen(tmp_bundle, "w");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(doc, 1, sizeof(doc) - 1, f), sizeof(doc) - 1);
	cr_assert_eq(fclose(f), 0);
	expect_rc(tmp_root, CRI_CONTAINER, -1);
}
