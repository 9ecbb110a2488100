/* net_tls.c - see net_tls.h. */
#include "observers/network/net_tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* Debian and Ubuntu (multiarch, with and without merged /usr), Fedora/RHEL, Alpine and
 * other single-arch layouts. */
static const char *const dirs[] = {
	"/usr/lib/x86_64-linux-gnu",
	"/lib/x86_64-linux-gnu",
	"/usr/lib64",
	"/lib64",
	"/usr/lib",
	"/lib",
};

int net_tls_find_libssl(const char *root, char *out, size_t outlen)
{
	char path[PATH_MAX], real[PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s/libssl.so.3", root[1] ? root : "", dirs[i]);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || !realpath(path, real))
			continue;
		if ((size_t)snprintf(out, outlen, "%s", real) >= outlen)
			continue;
		return 0;
	}
	return -1;
}
