/* utf8.c - see utf8.h. Validation per RFC 3629: no overlong forms, no surrogates, no
 * code point above U+10FFFF. */
#include "core/utf8.h"

#include <stdint.h>

/* Length of the valid sequence at s (at most n bytes available), 0 when invalid. */
static size_t valid_seq(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

size_t utf8_scrub(char *s, size_t len)
{
	unsigned char *p = (unsigned char *)s;
	size_t i = 0, fixed = 0;

	while (i < len) {
		size_t n = valid_seq(p + i, len - i);

		if (n == 0) {
			p[i++] = '?';
			fixed++;
		} else {
			i += n;
		}
	}
	return fixed;
}
