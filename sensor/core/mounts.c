/* mounts.c - see mounts.h. */
#include "core/mounts.h"

#include <errno.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "core/log.h"

#define TRACEFS_DIR "/sys/kernel/tracing"
#define DEBUG_TRACEFS_DIR "/sys/kernel/debug/tracing"

static int mounted_tracefs;

int mounts_is_mounted(const char *dir, const char *fstype)
{
	struct mntent *m;
	int found = 0;
	FILE *f = setmntent("/proc/self/mounts", "r");

	if (!f)
		return 0;
	while (!found && (m = getmntent(f)))
		found = !strcmp(m->mnt_dir, dir) && !strcmp(m->mnt_type, fstype);
	endmntent(f);
	return found;
}

static int mount_fs(const char *dir, const char *fstype)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	if (mount(fstype, dir, fstype, 0, NULL) < 0)
		return -1;
	log_info("mounted %s at %s (not mounted before; unmounted at exit)", fstype, dir);
	return 0;
}

const char *mounts_tracefs(void)
{
	if (mounts_is_mounted(TRACEFS_DIR, "tracefs"))
		return TRACEFS_DIR;
	if (mounts_is_mounted(DEBUG_TRACEFS_DIR, "tracefs"))
		return DEBUG_TRACEFS_DIR;
	if (mount_fs(TRACEFS_DIR, "tracefs") < 0) {
		log_warn("cannot mount tracefs at %s: %s", TRACEFS_DIR, strerror(errno));
		return NULL;
	}
	mounted_tracefs = 1;
	return TRACEFS_DIR;
}

void mounts_release(void)
{
	if (mounted_tracefs && umount2(TRACEFS_DIR, MNT_DETACH) == 0)
		log_info("unmounted tracefs at %s", TRACEFS_DIR);
	mounted_tracefs = 0;
}
