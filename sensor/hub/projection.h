/* projection.h - field projection (a FieldMask) applied to packed messages.
 *
 * A subscriber may ask for a subset of each Event's fields. The paths are compiled once
 * against the message descriptors into a tree of field numbers; applying it walks the
 * packed bytes and copies only the selected fields (sub-messages are pruned recursively),
 * so an event packed once by the hub is never unpacked to be projected. The output is
 * never longer than the input.
 */
#ifndef TAPIO_PROJECTION_H
#define TAPIO_PROJECTION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

struct projection;

/* Compiles paths ("process.pid", "exec") against root. Fields listed in always_keep
 * (top-level field numbers, 0-terminated) are kept whatever the paths say. Returns NULL
 * with a message naming the bad path in err ("field_mask.paths[1]: no field \"pidd\" in
 * tapio.sensor.v1.Process"). */
struct projection *projection_compile(const ProtobufCMessageDescriptor *root, char *const *paths,
				      size_t n, const uint32_t *always_keep, char *err,
				      size_t errlen);
void projection_free(struct projection *p);

/* Writes the projected form of the packed message msg[0..len) to out (room for len
 * bytes). Returns the bytes written, or -1 when msg is not a well-formed message. */
ssize_t projection_apply(const struct projection *p, const uint8_t *msg, size_t len, uint8_t *out);

#endif
