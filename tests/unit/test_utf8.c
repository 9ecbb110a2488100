/* Kernel strings made valid UTF-8 for protobuf. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/utf8.h"

static void check(const char *in, size_t len, const char *want, size_t fixed)
{
	char buf[64];

	memcpy(buf, in, len);
	cr_assert_eq(utf8_scrub(buf, len), fixed, "%zu fixed", fixed);
	cr_assert_eq(memcmp(buf, want, len), 0);
}

Test(utf8, valid_text_is_untouched)
{
	check("plain ascii", 11, "plain ascii", 0);
	check("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
	      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0);
	check("a\0b\0", 4, "a\0b\0", 0); /* argv separators stay */
}

Test(utf8, invalid_bytes_become_question_marks)
{
	check("\xff\xfe", 2, "??", 2);
	check("ab\x80", 3, "ab?", 1);		 /* lone continuation byte */
	check("\xc3", 1, "?", 1);		 /* cut sequence at the end */
	check("\xc3(", 2, "?(", 1);		 /* bad continuation */
	check("\xc0\xaf", 2, "??", 2);		 /* overlong '/' */
	check("\xe0\x80\xaf", 3, "???", 3);	 /* overlong, 3 bytes */
	check("\xed\xa0\x80", 3, "???", 3);	 /* UTF-16 surrogate */
	check("\xf4\x90\x80\x80", 4, "????", 4); /* above U+10FFFF */
	check("\xf0\x9f\x98", 3, "???", 3);	 /* emoji cut short */
	check("x\xe2\x82\xacy\xe2\x82", 7, "x\xe2\x82\xacy??", 2);
}
