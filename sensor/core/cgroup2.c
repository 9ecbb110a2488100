/* cgroup2.c - see cgroup2.h. */
#include "core/cgroup2.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "core/log.h"
#include "core/observer.h"
#include "enrich/procfs.h"

/* A mount of cgroup2 made only to get an fd of its root. */
static int root_private(struct observer *o, const char *programs)
{
	static const char *const bases[] = {"/run/tapio-cgroup2.XXXXXX",
					    "/tmp/tapio-cgroup2.XXXXXX"};
	char dir[64];
	int fd = -1, err = ENOENT;

	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]) && fd < 0; i++) {
		snprintf(dir, sizeof(dir), "%s", bases[i]);
		if (!mkdtemp(dir)) {
			err = errno;
			continue;
		}
		if (mount("cgroup2", dir, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0) {
			fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			err = errno;
			umount2(dir, MNT_DETACH);
		} else {
			err = errno;
		}
		rmdir(dir);
	}
	if (fd < 0) {
		observer_skip(o, programs, "cgroup v2 is not mounted and mounting it failed: %s",
			      strerror(err));
		return -err;
	}
	log_info("%s: cgroup v2 is not mounted: attaching to its root through a private mount "
		 "(already removed)",
		 o->ops->name);
	return fd;
}

int cgroup2_root_open(struct observer *o, const char *programs)
{
	char dir[256];
	int fd;

	if (procfs_unified_mount("/", dir, sizeof(dir)) == 0) {
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			log_info("%s: attaching to the cgroup v2 root %s", o->ops->name, dir);
			return fd;
		}
	}
	return root_private(o, programs);
}
