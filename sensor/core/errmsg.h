/* errmsg.h - the one way errors become text for the caller: a message in the caller's
 * buffer and -1, so validation code reads `return errmsg(err, len, "...", ...);`. */
#ifndef TAPIO_ERRMSG_H
#define TAPIO_ERRMSG_H

#include <stddef.h>

/* Formats into err (len bytes) and returns -1. */
int errmsg(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
