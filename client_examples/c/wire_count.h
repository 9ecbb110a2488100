/* Counts the entries of one length-delimited field of a protobuf message without decoding
 * them: the quiet mode's way of counting the events of a GetEventsResponse (field 1) at
 * the speed of a scan. The message may arrive in pieces (a gRPC byte buffer's slices), so
 * the scanner keeps its state between calls. */
#ifndef TAPIO_CLIENT_WIRE_COUNT_H
#define TAPIO_CLIENT_WIRE_COUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wire_count {
	uint32_t field;
	uint64_t count;
	bool malformed;
	/* Scanner state: what the next bytes are, the varint being read, bytes to skip. */
	enum wire_state { WIRE_TAG, WIRE_LENGTH, WIRE_VARINT, WIRE_SKIP } state;
	uint64_t acc;
	unsigned shift;
	uint64_t skip;
	bool counting;
};

void wire_count_init(struct wire_count *w, uint32_t field);
/* Scans the next n bytes of the message. */
void wire_count_feed(struct wire_count *w, const uint8_t *p, size_t n);
/* Whether the bytes fed so far form a whole message (they end between two fields). */
bool wire_count_complete(const struct wire_count *w);

#endif
