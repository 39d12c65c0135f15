/* dissect stream helper: one TCP direction's bytes, in order, to a consumer.
 *
 * The window starts at s->seq, the first byte the consumer has not taken.
 * buf[0, in_len) holds in-order bytes waiting for more data; out-of-order
 * segments sit further on in buf at their offset and are listed in ooo[].
 * A segment that arrives in order while nothing waits is delivered straight
 * from the packet and only its unconsumed tail is copied. Offsets are
 * computed in 32-bit sequence arithmetic, so wrap-around needs no care.
 *
 * The buffer grows by doubling up to the window (a handful of reallocations
 * per flow at most) and is freed with the stream. The stream gives up when a
 * hole does not fill while more than the window, or too many segments, pile
 * up behind it, and when the consumer keeps more than the window unconsumed.
 */
#include <stdlib.h>
#include <string.h>

#include "dissect/internal.h"

#define BUF_MIN 2048u
#define OOO_WAIT_MAX 32 /* segments behind a hole before it counts as lost */
#define SKIP_MAX (1u << 30) /* larger skips end the stream (sequence space) */

void dstream_init(struct dstream *s, uint32_t max)
{
	memset(s, 0, sizeof(*s));
	s->max = max ? max : 65536;
}

void dstream_fini(struct dstream *s)
{
	if (!s)
		return;
	free(s->buf);
	s->buf = NULL;
	s->cap = 0;
	s->in_len = 0;
	s->n_ooo = 0;
}

void dstream_set_seq(struct dstream *s, uint32_t seq)
{
	if (s->init)
		return;
	s->seq = seq;
	s->init = true;
}

static int fail(struct dstream *s)
{
	s->failed = true;
	dstream_fini(s);
	return -ENOBUFS;
}

static int reserve(struct dstream *s, uint32_t need)
{
	uint32_t cap = s->cap ? s->cap : BUF_MIN;
	uint8_t *nb;

	if (need <= s->cap)
		return 0;
	if (need > s->max)
		return -ENOBUFS;
	while (cap < need)
		cap *= 2;
	if (cap > s->max)
		cap = s->max;
	nb = realloc(s->buf, cap);
	if (!nb)
		return -ENOMEM;
	s->buf = nb;
	s->cap = cap;
	return 0;
}

/* Where the held data ends (in-order part or furthest out-of-order range). */
static uint32_t held_end(const struct dstream *s)
{
	uint32_t end = s->in_len;

	for (unsigned i = 0; i < s->n_ooo; i++)
		if (s->ooo[i].off + s->ooo[i].len > end)
			end = s->ooo[i].off + s->ooo[i].len;
	return end;
}

/* Records [off, off+len) as held out of order, merging overlapping ranges. */
static int ooo_add(struct dstream *s, uint32_t off, uint32_t len)
{
	uint32_t end = off + len;
	unsigned i = 0;

	while (i < s->n_ooo) {
		uint32_t o = s->ooo[i].off, e = o + s->ooo[i].len;

		if (o <= end && off <= e) {
			off = o < off ? o : off;
			end = e > end ? e : end;
			s->ooo[i] = s->ooo[--s->n_ooo];
			i = 0;
			continue;
		}
		i++;
	}
	if (s->n_ooo == DSTREAM_MAX_HOLES)
		return -ENOBUFS;
	s->ooo[s->n_ooo].off = off;
	s->ooo[s->n_ooo].len = end - off;
	s->n_ooo++;
	return 0;
}

/* Extends the in-order part over ranges that now touch it. */
static void ooo_merge(struct dstream *s)
{
	unsigned i = 0;

	while (i < s->n_ooo) {
		if (s->ooo[i].off <= s->in_len) {
			uint32_t e = s->ooo[i].off + s->ooo[i].len;

			if (e > s->in_len)
				s->in_len = e;
			s->ooo[i] = s->ooo[--s->n_ooo];
			i = 0;
			continue;
		}
		i++;
	}
	if (!s->n_ooo)
		s->ooo_waits = 0;
}

/* Drops n bytes from the front of the window (n may pass what is held). */
static void advance(struct dstream *s, uint32_t n)
{
	uint32_t end = held_end(s);

	s->seq += n;
	if (n >= end) {
		s->in_len = 0;
		s->n_ooo = 0;
		s->ooo_waits = 0;
		return;
	}
	memmove(s->buf, s->buf + n, end - n);
	s->in_len = s->in_len > n ? s->in_len - n : 0;
	for (unsigned i = 0; i < s->n_ooo;) {
		uint32_t o = s->ooo[i].off, e = o + s->ooo[i].len;

		if (e <= n) {
			s->ooo[i] = s->ooo[--s->n_ooo];
			continue;
		}
		s->ooo[i].off = o > n ? o - n : 0;
		s->ooo[i].len = e - n - s->ooo[i].off;
		i++;
	}
	ooo_merge(s);
}

/* Hands the in-order bytes at p to the consumer; returns the bytes consumed
 * (possibly more than len) through *used. */
static int hand(const uint8_t *p, size_t len, dstream_deliver_fn fn, void *ctx, size_t *used)
{
	int stop;

	*used = 0;
	stop = fn(ctx, p, len, used);
	return stop ? 1 : 0;
}

int dstream_segment(struct dstream *s, uint32_t seq, const uint8_t *p, size_t len,
	dstream_deliver_fn fn, void *ctx)
{
	size_t used;
	int32_t rel;
	uint32_t off, n;
	int r;

	if (s->failed)
		return -ENOBUFS;
	if (!len)
		return 0;
	if (!s->init) {
		s->seq = seq;
		s->init = true;
	}
	rel = (int32_t)(seq - s->seq);
	if (rel < 0) {
		/* Retransmission of bytes already taken: keep only what is new. */
		if ((uint64_t)-(int64_t)rel >= len)
			return 0;
		p += (uint32_t)-(int64_t)rel;
		len -= (uint32_t)-(int64_t)rel;
		rel = 0;
	}
	off = (uint32_t)rel;

	if (off > s->in_len) {
		/* Beyond a hole: hold it until the hole fills. */
		if (off > s->max || len > s->max - off)
			return fail(s);
		r = reserve(s, off + (uint32_t)len);
		if (r == -ENOBUFS)
			return fail(s);
		if (r < 0)
			return r;
		memcpy(s->buf + off, p, len);
		if (ooo_add(s, off, (uint32_t)len) < 0 || ++s->ooo_waits > OOO_WAIT_MAX)
			return fail(s);
		return 0;
	}

	if (!s->in_len && !s->n_ooo) {
		/* The common case: in order, nothing waiting, no copy. */
		r = hand(p, len, fn, ctx, &used);
		if (used >= len) {
			if (used - len >= SKIP_MAX)
				return 1;
			s->seq += (uint32_t)used;
			return r;
		}
		if (r)
			return r;
		n = (uint32_t)(len - used);
		if (reserve(s, n) < 0)
			return fail(s);
		memcpy(s->buf, p + used, n);
		s->in_len = n;
		s->seq += (uint32_t)used;
		return 0;
	}

	if (off + len <= s->in_len)
		return 0; /* nothing new */
	if (off + len > s->max)
		return fail(s);
	r = reserve(s, off + (uint32_t)len);
	if (r == -ENOBUFS)
		return fail(s);
	if (r < 0)
		return r;
	n = s->in_len - off;
	memcpy(s->buf + s->in_len, p + n, len - n);
	s->in_len = off + (uint32_t)len;
	ooo_merge(s);

	r = hand(s->buf, s->in_len, fn, ctx, &used);
	if (used > s->in_len && used - s->in_len >= SKIP_MAX)
		return 1;
	if (used)
		advance(s, (uint32_t)used);
	return r;
}
