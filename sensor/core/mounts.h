/* mounts.h - tracefs, mounted when the sensor needs it and it is not.
 *
 * (No observer pins objects, so nothing needs bpffs: the sensor never mounts it.)
 *
 * Owns what it mounted: mounts_release() unmounts exactly those, so a sensor that exits
 * leaves the node's mount table as it found it.
 */
#ifndef TAPIO_MOUNTS_H
#define TAPIO_MOUNTS_H

#include <stddef.h>

/* Returns the tracefs directory ("/sys/kernel/tracing" or "/sys/kernel/debug/tracing"),
 * mounting tracefs at /sys/kernel/tracing when neither is mounted; NULL with errno set
 * when it cannot. */
const char *mounts_tracefs(void);
/* 1 when a filesystem of type fstype is mounted at dir (per /proc/self/mounts). */
int mounts_is_mounted(const char *dir, const char *fstype);
void mounts_release(void);

#endif
