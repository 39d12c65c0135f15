/* ring/spsc: lock-free single-producer/single-consumer byte queue.
 *
 * Records are [u32 length][u32 reserved][payload, padded to 8 bytes] in a
 * power-of-two buffer addressed by free-running 64-bit positions. A record
 * never wraps: when one would cross the end of the buffer the producer
 * writes a pad record (length with the top bit set) that the consumer skips.
 * The producer publishes with a release store of head (paired with the
 * consumer's acquire load); the consumer frees space with a release store of
 * tail (paired with the producer's acquire load). Each side caches the other's
 * index to touch the shared cache line only when it must.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ring/ring.h"

#define REC_HDR 8u
#define REC_PAD 0x80000000u

static inline uint64_t rec_size(uint32_t len)
{
	return (REC_HDR + (uint64_t)len + 7u) & ~(uint64_t)7u;
}

int ring_spsc_init(struct ring_spsc *q, size_t size)
{
	uint64_t sz = 4096;

	memset(q, 0, sizeof(*q));
	while (sz < size)
		sz <<= 1;
	q->buf = aligned_alloc(64, sz);
	if (!q->buf)
		return -ENOMEM;
	q->size = sz;
	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	return 0;
}

void ring_spsc_fini(struct ring_spsc *q)
{
	if (!q)
		return;
	free(q->buf);
	q->buf = NULL;
}

void *ring_spsc_reserve(struct ring_spsc *q, uint32_t len)
{
	uint64_t need = rec_size(len);
	uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed) + q->pending;
	uint64_t off = head & (q->size - 1);
	uint64_t pad = 0;

	if (need > q->size / 2)
		return NULL;
	if (off + need > q->size)
		pad = q->size - off;
	if (head + pad + need - q->cached_tail > q->size) {
		/* Pairs with the release store of tail in ring_spsc_consume. */
		q->cached_tail = atomic_load_explicit(&q->tail, memory_order_acquire);
		if (head + pad + need - q->cached_tail > q->size)
			return NULL;
	}
	if (pad) {
		uint32_t *p = (uint32_t *)(q->buf + off);
		p[0] = REC_PAD | (uint32_t)pad;
		p[1] = 0;
		head += pad;
		off = 0;
	}
	uint32_t *h = (uint32_t *)(q->buf + off);
	h[0] = len;
	h[1] = 0;
	q->pending += pad + need;
	return q->buf + off + REC_HDR;
}

void ring_spsc_commit(struct ring_spsc *q)
{
	if (!q->pending)
		return;
	uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	/* Pairs with the acquire load of head in ring_spsc_peek. */
	atomic_store_explicit(&q->head, head + q->pending, memory_order_release);
	q->pending = 0;
}

uint64_t ring_spsc_pos(struct ring_spsc *q)
{
	return atomic_load_explicit(&q->tail, memory_order_relaxed);
}

const void *ring_spsc_peek(struct ring_spsc *q, uint64_t *pos, uint32_t *len)
{
	for (;;) {
		if (*pos == q->cached_head) {
			/* Pairs with the release store of head in ring_spsc_commit. */
			q->cached_head = atomic_load_explicit(&q->head, memory_order_acquire);
			if (*pos == q->cached_head)
				return NULL;
		}
		const uint32_t *h = (const uint32_t *)(q->buf + (*pos & (q->size - 1)));
		if (h[0] & REC_PAD) {
			*pos += h[0] & ~REC_PAD;
			continue;
		}
		*len = h[0];
		const void *p = h + 2;
		*pos += rec_size(h[0]);
		return p;
	}
}

void ring_spsc_consume(struct ring_spsc *q, uint64_t pos)
{
	/* Pairs with the acquire load of tail in ring_spsc_reserve. */
	atomic_store_explicit(&q->tail, pos, memory_order_release);
}

uint64_t ring_spsc_used(struct ring_spsc *q)
{
	return atomic_load_explicit(&q->head, memory_order_relaxed) -
		atomic_load_explicit(&q->tail, memory_order_relaxed);
}
