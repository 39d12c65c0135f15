/* libFuzzer target for the TCP stream helper (dissect/stream.c).
 *
 * The input only chooses where segments go; their bytes are a function of
 * their sequence number, so every byte the helper delivers can be checked to
 * be the one that belongs at its place in the stream, whatever the order,
 * overlaps, duplicates and gaps. The consumer takes a fuzzer-chosen amount
 * each time (sometimes nothing, sometimes more than offered: a skip), and
 * delivery must stay contiguous: each call starts where the last consumption
 * ended.
 *
 * Input: byte 0 window selector, bytes 1-4 initial sequence number, then
 * records of 5 bytes: int16 offset from the previous segment's start,
 * uint16 length (mod 3000), consumer hint.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissect/internal.h"

static uint8_t byte_at(uint32_t seq)
{
	return (uint8_t)(seq * 2654435761u >> 24);
}

struct check {
	const struct dstream *st;
	uint32_t next;   /* sequence number the next delivery must start at */
	uint8_t hint;
};

static int consume(void *ctx, const uint8_t *p, size_t len, size_t *used)
{
	struct check *c = ctx;
	uint32_t start = c->st->seq;

	if (!len || start != c->next)
		abort();
	for (size_t i = 0; i < len; i++)
		if (p[i] != byte_at(start + (uint32_t)i))
			abort();
	switch (c->hint & 3) {
	case 0:
		*used = len;
		break;
	case 1:
		*used = len / 2;
		break;
	case 2:
		*used = 0;
		break;
	default:
		*used = len + (c->hint >> 2); /* skip what has not arrived yet */
		break;
	}
	c->next = start + (uint32_t)*used;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t seg[3000];
	struct dstream st;
	struct check c = {&st, 0, 0};
	uint32_t isn, at;
	size_t off = 5;

	if (size < 5)
		return 0;
	dstream_init(&st, data[0] & 1 ? 4096 : 65536);
	isn = (uint32_t)data[1] << 24 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 8 | data[4];
	dstream_set_seq(&st, isn);
	c.next = isn;
	at = isn;
	while (off + 5 <= size) {
		int16_t delta = (int16_t)(data[off] << 8 | data[off + 1]);
		size_t len = (size_t)(data[off + 2] << 8 | data[off + 3]) % sizeof(seg);
		int r;

		c.hint = data[off + 4];
		off += 5;
		at += (uint32_t)(int32_t)delta;
		for (size_t i = 0; i < len; i++)
			seg[i] = byte_at(at + (uint32_t)i);
		r = dstream_segment(&st, at, seg, len, consume, &c);
		if (r == -ENOBUFS) {
			if (!st.failed || st.buf)
				abort();
			break;
		}
		if (r != 0 && r != 1)
			abort();
		/* What is held never exceeds the window. */
		if (st.cap > st.max || st.in_len > st.max)
			abort();
	}
	dstream_fini(&st);
	return 0;
}
