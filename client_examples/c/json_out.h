/* A growable output buffer and the JSON value encoders of the proto3 JSON printer.
 *
 * Every encoder writes exactly what Python's json.dumps(..., ensure_ascii=True) writes for
 * the same value, so the C and Python clients print byte-identical lines. */
#ifndef TAPIO_CLIENT_JSON_OUT_H
#define TAPIO_CLIENT_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_out {
	char *data;
	size_t len;
	size_t cap;
	/* An allocation failed: the contents are incomplete and further writes are dropped,
	 * so callers check once at the end instead of after every write. */
	bool failed;
};

void json_out_init(struct json_out *o);
void json_out_free(struct json_out *o);
/* Empties the buffer and keeps its memory for the next line. */
void json_out_reset(struct json_out *o);

void json_out_raw(struct json_out *o, const char *s, size_t n);
void json_out_cstr(struct json_out *o, const char *s);
void json_out_char(struct json_out *o, char c);

/* A quoted JSON string of n bytes of UTF-8: non-ASCII as \uXXXX (surrogate pairs above
 * U+FFFF), and each ill-formed byte sequence as \ufffd. */
void json_out_string(struct json_out *o, const char *s, size_t n);
void json_out_u64(struct json_out *o, uint64_t v);
void json_out_i64(struct json_out *o, int64_t v);
/* v as Python's repr(float) writes it; NaN and infinities as the proto3 JSON strings. */
void json_out_double(struct json_out *o, double v);
/* v as protobuf's Python printer writes a float field: the fewest digits that give v back
 * as a 32-bit float, then written like a double. */
void json_out_float(struct json_out *o, float v);
/* A quoted standard base64 string (with padding). */
void json_out_base64(struct json_out *o, const uint8_t *p, size_t n);

#endif
