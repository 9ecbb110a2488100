/* oci.h - the Kubernetes pod and container names of a container, read from its OCI bundle.
 *
 * A cgroup path gives the container id, runtime and pod UID (container.h); the pod's name
 * and namespace and the container's name are only in the annotations the runtime writes
 * into the bundle's config.json (and, for docker and podman, in the runtime's own
 * per-container metadata). Reads files under a root directory ("/" on a node, a fixture
 * tree in unit tests); no other I/O, no state.
 */
#ifndef TAPIO_OCI_H
#define TAPIO_OCI_H

#include <stdbool.h>

#include "enrich/container.h"

/* Every string is "" when the bundle does not say, or says something that does not fit
 * (a value longer than its field is dropped, never cut: a cut name would be a different,
 * wrong, name). Bytes are copied as found; UTF-8 validity is the caller's business. */
struct oci_meta {
	char pod_name[254];	  /* Kubernetes names are at most 253 bytes */
	char pod_namespace[64];	  /* namespaces are DNS labels: at most 63 */
	char pod_uid[37];	  /* a UUID with dashes */
	char container_name[254]; /* Kubernetes container name, else the runtime's name */
	char image[512];	  /* image reference as the runtime was asked for it */
	bool sandbox;		  /* the pod's sandbox (pause/infra) container; container_name "" */
};

/* Reads the OCI bundle config.json of container `id` (64 lower-case hex digits) under
 * `root`, trying the state directories of `runtime` first, then those of the others (all
 * of them, in a fixed order, for CONTAINER_RUNTIME_NONE). Returns 1 and fills *out when a
 * bundle was found, 0 when none exists (or id is not a container id), -1 when one exists
 * but cannot be read or is not a JSON object with an object of annotations: too large,
 * cut short (a bundle being written), not JSON. *out is zeroed unless 1 is returned. */
int oci_lookup(const char *root, const char *id, enum container_runtime runtime,
	       struct oci_meta *out);

#endif
