/* oci.c - find a container's OCI bundle, parse its config.json, and map the annotation keys
 * of each runtime onto struct oci_meta.
 *
 * Where the bundles are (under root; <id> is the container id):
 *   containerd (CRI)   /run/containerd/io.containerd.runtime.v2.task/k8s.io/<id>/config.json
 *   containerd (ctr, nerdctl)                    .../io.containerd.runtime.v2.task/default/<id>/...
 *   CRI-O              /run/containers/storage/overlay-containers/<id>/userdata/config.json
 *   podman (rootful)   /var/lib/containers/storage/overlay-containers/<id>/userdata/config.json
 *                      (CRI-O writes its config.json to both of these directories)
 *   docker             /run/containerd/io.containerd.runtime.v2.task/moby/<id>/config.json with
 *                      the system containerd, /run/docker/containerd/daemon/<same> with its own
 *
 * containerd's CRI plugin writes io.kubernetes.cri.* annotations; CRI-O copies the kubelet's
 * labels (io.kubernetes.pod.*, io.kubernetes.container.name) into the annotations, and
 * `podman run --annotation` can set the same keys. Keys are tried in table order; the first
 * usable value of a field wins.
 *
 * Docker and podman keep their own container name and the image out of config.json: those
 * come from docker's config.v2.json and from containers/storage's containers.json, and only
 * fill fields the annotations left empty. These metadata files are extras: when one is
 * missing or broken the bundle is still reported, with what it alone says.
 *
 * Nothing read is trusted: files must be regular and are size-bounded, JSON is parsed
 * strictly by json-c, and a value is taken only when it is a string that fits its field and
 * holds no NUL.
 */
#include "enrich/oci.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OCI_PATH_MAX 4096
/* config.json is a few hundred KB with a large seccomp profile; containers.json grows by
 * ~1 KB per container on the node. Larger than this, it is not a file we know. */
#define OCI_FILE_MAX (4 << 20)

#define DOCKER_META_DIR "/var/lib/docker/containers/"
#define DOCKER_META_FILE "/config.v2.json"
#define STORAGE_META "/var/lib/containers/storage/overlay-containers/containers.json"

/* Where a runtime keeps the names config.json lacks. */
enum meta_source {
	META_NONE,
	META_DOCKER,  /* config.v2.json: "Name", "Config": {"Image", "Labels"} */
	META_STORAGE, /* containers.json: [{"id", "metadata": "<JSON: image-name, name>"}] */
};

struct bundle_dir {
	const char *prefix, *suffix; /* the bundle's config.json is <root><prefix><id><suffix> */
	enum container_runtime rt;
	enum meta_source meta;
};

static const struct bundle_dir bundle_dirs[] = {
	{"/run/containerd/io.containerd.runtime.v2.task/k8s.io/", "/config.json",
	 CONTAINER_RUNTIME_CONTAINERD, META_NONE},
	{"/run/containerd/io.containerd.runtime.v2.task/default/", "/config.json",
	 CONTAINER_RUNTIME_CONTAINERD, META_NONE},
	{"/run/containers/storage/overlay-containers/", "/userdata/config.json",
	 CONTAINER_RUNTIME_CRIO, META_STORAGE},
	{"/var/lib/containers/storage/overlay-containers/", "/userdata/config.json",
	 CONTAINER_RUNTIME_PODMAN, META_STORAGE},
	{"/run/containerd/io.containerd.runtime.v2.task/moby/", "/config.json",
	 CONTAINER_RUNTIME_DOCKER, META_DOCKER},
	{"/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby/", "/config.json",
	 CONTAINER_RUNTIME_DOCKER, META_DOCKER},
};

/* A field of struct oci_meta as (offset, capacity). */
#define FIELD(name) offsetof(struct oci_meta, name), sizeof(((struct oci_meta *)0)->name)

struct key_field {
	const char *key;
	size_t off, cap;
};

/* containerd CRI first, then the kubelet labels (CRI-O, podman, cri-dockerd). */
static const struct key_field annotation_keys[] = {
	{"io.kubernetes.cri.sandbox-name", FIELD(pod_name)},
	{"io.kubernetes.cri.sandbox-namespace", FIELD(pod_namespace)},
	{"io.kubernetes.cri.sandbox-uid", FIELD(pod_uid)},
	{"io.kubernetes.cri.container-name", FIELD(container_name)},
	{"io.kubernetes.cri.image-name", FIELD(image)},
	{"io.kubernetes.cri.podsandbox.image-name", FIELD(image)}, /* containerd 2 sandboxes */
	{"io.kubernetes.pod.name", FIELD(pod_name)},
	{"io.kubernetes.pod.namespace", FIELD(pod_namespace)},
	{"io.kubernetes.pod.uid", FIELD(pod_uid)},
	{"io.kubernetes.container.name", FIELD(container_name)},
	{"io.kubernetes.cri-o.ImageName", FIELD(image)},
};

/* What marks the sandbox (pause) container of a pod. */
static const struct {
	const char *key, *value;
} sandbox_marks[] = {
	{"io.kubernetes.cri.container-type", "sandbox"},
	{"io.kubernetes.cri-o.ContainerType", "sandbox"},
	{"io.kubernetes.docker.type", "podsandbox"},
};

static bool valid_id(const char *id)
{
	int i;

	if (!id)
		return false;
	for (i = 0; i < CONTAINER_ID_LEN; i++) {
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	}
	return id[CONTAINER_ID_LEN] == '\0';
}

/* <root><prefix><id><suffix>; a root of "/" or "" is the real root. */
static int make_path(char *out, size_t len, const char *root, const char *prefix, const char *id,
		     const char *suffix)
{
	size_t rn = strlen(root);
	int n;

	while (rn > 0 && root[rn - 1] == '/')
		rn--;
	n = snprintf(out, len, "%.*s%s%s%s", (int)rn, root, prefix, id, suffix);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

/* Reads until EOF or cap bytes. Returns the byte count, or -1. */
static ssize_t read_all(int fd, char *buf, size_t cap)
{
	size_t total = 0;
	ssize_t n;

	while (total < cap) {
		n = read(fd, buf + total, cap - total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		total += (size_t)n;
	}
	return (ssize_t)total;
}

/* Reads the regular file at path (at most OCI_FILE_MAX bytes) into a malloc'd buffer.
 * Returns 1 with *buf and *len set, 0 when it does not exist, -1 otherwise. */
static int read_file(const char *path, char **buf, size_t *len)
{
	struct stat st;
	size_t cap;
	ssize_t n;
	char *b;
	int fd;

	/* O_NONBLOCK: a FIFO in the file's place must not hang the sensor. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return (errno == ENOENT || errno == ENOTDIR) ? 0 : -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > OCI_FILE_MAX) {
		close(fd);
		return -1;
	}
	/* One byte more than the size: a file still growing fills it and is refused. */
	cap = (size_t)st.st_size + 1;
	b = malloc(cap);
	n = b ? read_all(fd, b, cap) : -1;
	close(fd);
	if (n < 0 || (size_t)n == cap) {
		free(b);
		return -1;
	}
	*buf = b;
	*len = (size_t)n;
	return 1;
}

static bool json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Parses all of buf[0..len) as one strict JSON value; NULL when it is not one (cut short,
 * trailing bytes, not JSON, nested deeper than json-c's default limit). */
static struct json_object *parse_json(const char *buf, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj;
	size_t end;

	if (!tok)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	if (obj && json_tokener_get_error(tok) == json_tokener_success) {
		end = json_tokener_get_parse_end(tok);
		while (end < len && json_space(buf[end]))
			end++;
		if (end != len) {
			json_object_put(obj);
			obj = NULL;
		}
	} else {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

/* Like read_file, but parsed: 1 with *out set (json_object_put it), 0, or -1. */
static int load_json(const char *path, struct json_object **out)
{
	size_t len;
	char *buf;
	int rc;

	*out = NULL;
	rc = read_file(path, &buf, &len);
	if (rc <= 0)
		return rc;
	*out = parse_json(buf, len);
	free(buf);
	return *out ? 1 : -1;
}

/* The bytes of a JSON string, or NULL when v is not a string. */
static const char *json_str(struct json_object *v, size_t *len)
{
	if (!json_object_is_type(v, json_type_string))
		return NULL;
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/* Copies s[0..len) to dst when it is non-empty, fits with its NUL and has no NUL of its
 * own (C strings cannot carry it); otherwise dst is left as it was. */
static void copy_bounded(char *dst, size_t cap, const char *s, size_t len)
{
	if (len == 0 || len >= cap || memchr(s, '\0', len))
		return;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

/* Sets the field at off/cap from obj[key], unless the field is already set. */
static void fill_field(struct oci_meta *m, size_t off, size_t cap, struct json_object *obj,
		       const char *key)
{
	char *dst = (char *)m + off;
	struct json_object *v;
	const char *s;
	size_t len;

	if (dst[0] != '\0' || !json_object_object_get_ex(obj, key, &v))
		return;
	s = json_str(v, &len);
	if (s)
		copy_bounded(dst, cap, s, len);
}

static bool has_value(struct json_object *obj, const char *key, const char *want)
{
	struct json_object *v;
	const char *s;
	size_t len;

	if (!json_object_object_get_ex(obj, key, &v))
		return false;
	s = json_str(v, &len);
	return s && len == strlen(want) && memcmp(s, want, len) == 0;
}

/* Takes what it knows from a string -> string map (OCI annotations, docker labels). */
static void apply_keys(struct json_object *map, struct oci_meta *m)
{
	size_t i;

	for (i = 0; i < sizeof(annotation_keys) / sizeof(annotation_keys[0]); i++)
		fill_field(m, annotation_keys[i].off, annotation_keys[i].cap, map,
			   annotation_keys[i].key);
	for (i = 0; i < sizeof(sandbox_marks) / sizeof(sandbox_marks[0]); i++) {
		if (has_value(map, sandbox_marks[i].key, sandbox_marks[i].value))
			m->sandbox = true;
	}
}

/* docker's config.v2.json: labels (cri-dockerd puts the kubelet's there), the image as
 * asked for, and the container name, stored as "/<name>". */
static void docker_meta(const char *root, const char *id, struct oci_meta *m)
{
	struct json_object *doc, *config, *labels, *v;
	char path[OCI_PATH_MAX];
	const char *s;
	size_t len;

	if (make_path(path, sizeof(path), root, DOCKER_META_DIR, id, DOCKER_META_FILE) < 0 ||
	    load_json(path, &doc) <= 0)
		return;
	if (json_object_object_get_ex(doc, "Config", &config)) {
		if (json_object_object_get_ex(config, "Labels", &labels))
			apply_keys(labels, m);
		fill_field(m, FIELD(image), config, "Image");
	}
	if (m->container_name[0] == '\0' && json_object_object_get_ex(doc, "Name", &v) &&
	    (s = json_str(v, &len)) != NULL) {
		if (len > 0 && s[0] == '/') {
			s++;
			len--;
		}
		copy_bounded(m->container_name, sizeof(m->container_name), s, len);
	}
	json_object_put(doc);
}

/* The entry of containers.json whose "id" is id, or NULL. */
static struct json_object *storage_entry(struct json_object *list, const char *id)
{
	size_t i, n;

	if (!json_object_is_type(list, json_type_array))
		return NULL;
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(list, i);

		if (has_value(e, "id", id))
			return e;
	}
	return NULL;
}

/* containers/storage's containers.json: each entry's "metadata" is a JSON document in a
 * string, where podman (and CRI-O) keep the image name and the container name. */
static void storage_meta(const char *root, const char *id, struct oci_meta *m)
{
	struct json_object *list, *entry, *v, *md;
	char path[OCI_PATH_MAX];
	const char *s;
	size_t len;

	if (make_path(path, sizeof(path), root, STORAGE_META, "", "") < 0 ||
	    load_json(path, &list) <= 0)
		return;
	entry = storage_entry(list, id);
	if (entry && json_object_object_get_ex(entry, "metadata", &v) &&
	    (s = json_str(v, &len)) != NULL) {
		md = parse_json(s, len);
		fill_field(m, FIELD(image), md, "image-name");
		fill_field(m, FIELD(container_name), md, "name");
		json_object_put(md);
	}
	json_object_put(list);
}

/* Reads one candidate bundle: 1 found, 0 not there, -1 malformed (m untouched). */
static int read_bundle(const char *root, const char *id, const struct bundle_dir *b,
		       struct oci_meta *m)
{
	struct json_object *spec, *ann = NULL;
	char path[OCI_PATH_MAX];
	int rc;

	if (make_path(path, sizeof(path), root, b->prefix, id, b->suffix) < 0)
		return -1;
	rc = load_json(path, &spec);
	if (rc <= 0)
		return rc;
	/* A spec is an object; its annotations, when present and not null, an object. */
	if (!json_object_is_type(spec, json_type_object) ||
	    (json_object_object_get_ex(spec, "annotations", &ann) && ann &&
	     !json_object_is_type(ann, json_type_object))) {
		json_object_put(spec);
		return -1;
	}
	if (ann)
		apply_keys(ann, m);
	json_object_put(spec);
	if (b->meta == META_DOCKER)
		docker_meta(root, id, m);
	else if (b->meta == META_STORAGE)
		storage_meta(root, id, m);
	/* Runtimes disagree on a sandbox's name ("POD", "", the runtime's own name): it runs
	 * no container of the pod spec, so it has none. */
	if (m->sandbox)
		m->container_name[0] = '\0';
	return 1;
}

int oci_lookup(const char *root, const char *id, enum container_runtime runtime,
	       struct oci_meta *out)
{
	const size_t n = sizeof(bundle_dirs) / sizeof(bundle_dirs[0]);
	int pass, rc = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!valid_id(id))
		return 0;
	/* Ids are random 256-bit values: a bundle of this id anywhere is this container. The
	 * runtime only orders the search, so one the cgroup path named wrongly, or not at all,
	 * still finds it. */
	for (pass = 0; pass < 2 && rc == 0; pass++) {
		for (i = 0; i < n && rc == 0; i++) {
			if ((bundle_dirs[i].rt == runtime) == (pass == 0))
				rc = read_bundle(root, id, &bundle_dirs[i], out);
		}
	}
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}
