/* Prints any protobuf-c message in the proto3 JSON mapping, driven only by its descriptors,
 * so new messages and fields need no change here.
 *
 * The output is what Python's google.protobuf.json_format.MessageToJson(msg, indent=None)
 * prints (protobuf 3.21): lowerCamelCase names, fields in field-number order, defaults
 * omitted, enums by name (by number when unknown), 64-bit integers as strings, bytes as
 * base64, ", " and ": " separators, non-ASCII escaped. Timestamp, Duration, FieldMask,
 * Struct, Value, ListValue and the wrapper types print in their special forms; Any, which
 * needs a type registry, prints as its two plain fields. Maps print as objects, in the
 * order their entries arrived (Python's order is unspecified).
 *
 * Two limits of protobuf-c itself: a string field keeps no length, so a string with a NUL
 * byte prints up to that byte; and descriptors keep no json_name option, so names are
 * always the default lowerCamelCase ones. */
#ifndef TAPIO_CLIENT_PB_JSON_H
#define TAPIO_CLIENT_PB_JSON_H

#include <stdbool.h>
#include <protobuf-c/protobuf-c.h>

#include "json_out.h"

/* Appends msg as one JSON object, without a newline. Returns false when memory ran out. */
bool pb_json_message(struct json_out *o, const ProtobufCMessage *msg);

#endif
