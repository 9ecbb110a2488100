/* JSON value encoders that match Python's json.dumps(..., ensure_ascii=True) byte for byte.
 *
 * Numbers go through printf/strtod, which read and write '.' only in the C locale: the
 * client never calls setlocale, so that is the locale it runs in. */
#include "json_out.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_out_init(struct json_out *o)
{
	memset(o, 0, sizeof(*o));
}

void json_out_free(struct json_out *o)
{
	free(o->data);
	json_out_init(o);
}

void json_out_reset(struct json_out *o)
{
	o->len = 0;
	o->failed = false;
}

static bool reserve(struct json_out *o, size_t n)
{
	if (o->failed)
		return false;
	if (o->cap - o->len >= n)
		return true;
	size_t cap = o->cap ? o->cap : 256;
	while (cap - o->len < n)
		cap *= 2;
	char *p = realloc(o->data, cap);
	if (!p) {
		o->failed = true;
		return false;
	}
	o->data = p;
	o->cap = cap;
	return true;
}

void json_out_raw(struct json_out *o, const char *s, size_t n)
{
	if (!reserve(o, n))
		return;
	memcpy(o->data + o->len, s, n);
	o->len += n;
}

void json_out_cstr(struct json_out *o, const char *s)
{
	json_out_raw(o, s, strlen(s));
}

void json_out_char(struct json_out *o, char c)
{
	json_out_raw(o, &c, 1);
}

static const char hex_digits[] = "0123456789abcdef";

static void put_u_escape(struct json_out *o, unsigned u)
{
	char b[6] = {'\\',
		     'u',
		     hex_digits[(u >> 12) & 15],
		     hex_digits[(u >> 8) & 15],
		     hex_digits[(u >> 4) & 15],
		     hex_digits[u & 15]};
	json_out_raw(o, b, sizeof(b));
}

static void put_code_point(struct json_out *o, uint32_t cp)
{
	if (cp < 0x10000) {
		put_u_escape(o, cp);
		return;
	}
	cp -= 0x10000;
	put_u_escape(o, 0xd800 | (cp >> 10));
	put_u_escape(o, 0xdc00 | (cp & 0x3ff));
}

/* The escapes json.dumps uses for ASCII bytes that cannot appear as themselves. */
static void put_ascii_escape(struct json_out *o, unsigned char c)
{
	switch (c) {
	case '"':
		json_out_raw(o, "\\\"", 2);
		break;
	case '\\':
		json_out_raw(o, "\\\\", 2);
		break;
	case '\n':
		json_out_raw(o, "\\n", 2);
		break;
	case '\r':
		json_out_raw(o, "\\r", 2);
		break;
	case '\t':
		json_out_raw(o, "\\t", 2);
		break;
	case '\b':
		json_out_raw(o, "\\b", 2);
		break;
	case '\f':
		json_out_raw(o, "\\f", 2);
		break;
	default:
		put_u_escape(o, c);
	}
}

static bool is_plain_ascii(unsigned char c)
{
	return c >= ' ' && c <= '~' && c != '"' && c != '\\';
}

/* What a UTF-8 lead byte announces: how many continuation bytes follow, and the range the
 * first of them must fall in (narrower after E0, ED, F0 and F4, which is what rules out
 * overlong forms, surrogates and code points above U+10FFFF). */
static bool utf8_lead(unsigned char c, size_t *need, uint32_t *cp, unsigned char *lo,
		      unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf) {
		*need = 1;
		*cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		*need = 2;
		*cp = c & 0x0f;
		*lo = c == 0xe0 ? 0xa0 : 0x80;
		*hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		*need = 3;
		*cp = c & 0x07;
		*lo = c == 0xf0 ? 0x90 : 0x80;
		*hi = c == 0xf4 ? 0x8f : 0xbf;
	} else {
		return false;
	}
	return true;
}

/* Decodes the non-ASCII sequence at s (n bytes left). Returns the code point, or -1 when
 * it is ill-formed; *used is then the length of its longest well-formed prefix (at least
 * 1), so each maximal subpart becomes one U+FFFD, as Python's errors="replace" does. */
static int32_t utf8_decode(const unsigned char *s, size_t n, size_t *used)
{
	size_t need;
	uint32_t cp;
	unsigned char lo, hi;

	*used = 1;
	if (!utf8_lead(s[0], &need, &cp, &lo, &hi))
		return -1;
	for (size_t i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
		*used = i + 1;
		lo = 0x80;
		hi = 0xbf;
	}
	return (int32_t)cp;
}

void json_out_string(struct json_out *o, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	json_out_char(o, '"');
	while (i < n) {
		size_t run = i;
		while (run < n && is_plain_ascii(s[run]))
			run++;
		json_out_raw(o, str + i, run - i);
		i = run;
		if (i >= n)
			break;
		if (s[i] < 0x80) {
			put_ascii_escape(o, s[i]);
			i++;
			continue;
		}
		size_t used;
		int32_t cp = utf8_decode(s + i, n - i, &used);
		put_code_point(o, cp < 0 ? 0xfffd : (uint32_t)cp);
		i += used;
	}
	json_out_char(o, '"');
}

void json_out_u64(struct json_out *o, uint64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%" PRIu64, v);
	json_out_raw(o, b, (size_t)n);
}

void json_out_i64(struct json_out *o, int64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%" PRId64, v);
	json_out_raw(o, b, (size_t)n);
}

/* The shortest decimal digits that read back as v (v >= 0, finite): *digits without
 * trailing zeros, and *decpt such that v = 0.DIGITS x 10^decpt. Returns the digit count. */
static int shortest_digits(double v, char digits[static 18], int *decpt)
{
	char b[40];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(b, sizeof(b), "%.*e", prec - 1, v);
		if (strtod(b, NULL) == v)
			break;
	}
	/* b is "D.DDDDe+XX" or "De+XX". */
	int nd = 0;
	const char *p = b;
	for (; *p != 'e'; p++) {
		if (*p != '.')
			digits[nd++] = *p;
	}
	*decpt = atoi(p + 1) + 1;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	return nd;
}

static void put_zeros(struct json_out *o, int n)
{
	for (int i = 0; i < n; i++)
		json_out_char(o, '0');
}

/* Python's repr: positional between 1e-4 and 1e16, otherwise d.ddde+XX. */
static void put_repr_digits(struct json_out *o, const char *d, int nd, int decpt)
{
	if (decpt <= -4 || decpt > 16) {
		char e[8];
		json_out_char(o, d[0]);
		if (nd > 1) {
			json_out_char(o, '.');
			json_out_raw(o, d + 1, (size_t)nd - 1);
		}
		int n = snprintf(e, sizeof(e), "e%c%02d", decpt - 1 < 0 ? '-' : '+',
				 abs(decpt - 1));
		json_out_raw(o, e, (size_t)n);
	} else if (decpt <= 0) {
		json_out_raw(o, "0.", 2);
		put_zeros(o, -decpt);
		json_out_raw(o, d, (size_t)nd);
	} else if (decpt >= nd) {
		json_out_raw(o, d, (size_t)nd);
		put_zeros(o, decpt - nd);
		json_out_raw(o, ".0", 2);
	} else {
		json_out_raw(o, d, (size_t)decpt);
		json_out_char(o, '.');
		json_out_raw(o, d + decpt, (size_t)(nd - decpt));
	}
}

void json_out_double(struct json_out *o, double v)
{
	if (isnan(v)) {
		json_out_cstr(o, "\"NaN\"");
		return;
	}
	if (isinf(v)) {
		json_out_cstr(o, v < 0 ? "\"-Infinity\"" : "\"Infinity\"");
		return;
	}
	if (signbit(v)) {
		json_out_char(o, '-');
		v = -v;
	}
	char digits[18];
	int decpt;
	int nd = shortest_digits(v, digits, &decpt);
	put_repr_digits(o, digits, nd, decpt);
}

void json_out_float(struct json_out *o, float v)
{
	if (isnan(v) || isinf(v)) {
		json_out_double(o, v);
		return;
	}
	/* Nine significant digits always give a float back, so the loop ends by then. */
	double d = v;
	char b[40];
	for (int prec = 6; prec <= 9; prec++) {
		snprintf(b, sizeof(b), "%.*g", prec, (double)v);
		d = strtod(b, NULL);
		if ((float)d == v)
			break;
	}
	json_out_double(o, d);
}

void json_out_base64(struct json_out *o, const uint8_t *p, size_t n)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	json_out_char(o, '"');
	for (size_t i = 0; i < n; i += 3) {
		uint32_t w = (uint32_t)p[i] << 16;
		size_t left = n - i;
		if (left > 1)
			w |= (uint32_t)p[i + 1] << 8;
		if (left > 2)
			w |= p[i + 2];
		char q[4] = {alphabet[(w >> 18) & 63], alphabet[(w >> 12) & 63],
			     left > 1 ? alphabet[(w >> 6) & 63] : '=',
			     left > 2 ? alphabet[w & 63] : '='};
		json_out_raw(o, q, sizeof(q));
	}
	json_out_char(o, '"');
}
