/* A resumable scan of protobuf wire format: tag, then a varint, a length and its bytes, or
 * a fixed 4 or 8 bytes. Groups (wire types 3 and 4) are not used by proto3 messages and
 * count as malformed. */
#include "wire_count.h"

#include <string.h>

void wire_count_init(struct wire_count *w, uint32_t field)
{
	memset(w, 0, sizeof(*w));
	w->field = field;
	w->state = WIRE_TAG;
}

/* Adds one byte to the varint being read; returns true when it was the last byte. */
static bool varint_byte(struct wire_count *w, uint8_t b)
{
	if (w->shift >= 64) {
		w->malformed = true;
		return false;
	}
	w->acc |= (uint64_t)(b & 0x7f) << w->shift;
	w->shift += 7;
	return (b & 0x80) == 0;
}

static void start_varint(struct wire_count *w, enum wire_state state)
{
	w->state = state;
	w->acc = 0;
	w->shift = 0;
}

static void start_skip(struct wire_count *w, uint64_t n)
{
	if (n == 0) {
		start_varint(w, WIRE_TAG);
		return;
	}
	w->state = WIRE_SKIP;
	w->skip = n;
}

/* A whole tag has been read: decide what follows it. */
static void on_tag(struct wire_count *w)
{
	uint64_t field = w->acc >> 3;
	unsigned type = w->acc & 7;

	w->counting = false;
	if (field == 0) {
		w->malformed = true;
		return;
	}
	switch (type) {
	case 0:
		start_varint(w, WIRE_VARINT);
		break;
	case 1:
		start_skip(w, 8);
		break;
	case 2:
		w->counting = field == w->field;
		start_varint(w, WIRE_LENGTH);
		break;
	case 5:
		start_skip(w, 4);
		break;
	default:
		w->malformed = true;
	}
}

/* Consumes bytes of a varint-shaped state; returns how many it used. */
static size_t feed_varint(struct wire_count *w, const uint8_t *p, size_t n)
{
	size_t i = 0;
	bool done = false;

	while (i < n && !done && !w->malformed)
		done = varint_byte(w, p[i++]);
	if (!done)
		return i;
	if (w->state == WIRE_TAG) {
		on_tag(w);
	} else if (w->state == WIRE_LENGTH) {
		w->count += w->counting;
		start_skip(w, w->acc);
	} else {
		start_varint(w, WIRE_TAG);
	}
	return i;
}

void wire_count_feed(struct wire_count *w, const uint8_t *p, size_t n)
{
	while (n > 0 && !w->malformed) {
		size_t used;
		if (w->state == WIRE_SKIP) {
			used = w->skip < n ? (size_t)w->skip : n;
			w->skip -= used;
			if (w->skip == 0)
				start_varint(w, WIRE_TAG);
		} else {
			used = feed_varint(w, p, n);
		}
		p += used;
		n -= used;
	}
}

bool wire_count_complete(const struct wire_count *w)
{
	return !w->malformed && w->state == WIRE_TAG && w->shift == 0;
}
