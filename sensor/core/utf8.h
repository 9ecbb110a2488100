/* utf8.h - make strings from the kernel safe to put in a protobuf `string`.
 *
 * comm, argv, file and cgroup names are bytes, not text; a proto3 string must be valid
 * UTF-8 or Python, Go and grpcurl clients reject the whole message. Invalid bytes are
 * replaced in place by '?', so lengths never change.
 */
#ifndef TAPIO_UTF8_H
#define TAPIO_UTF8_H

#include <stddef.h>

/* Scrubs len bytes of s (NULs are kept: they separate argv strings). Returns the number
 * of bytes replaced. */
size_t utf8_scrub(char *s, size_t len);

#endif
