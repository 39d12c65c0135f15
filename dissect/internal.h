/* dissect internals shared by the protocol files: the registry entry, the
 * bounds-checked read cursor, the JSON event emitter and the TCP stream helper.
 * Nothing here is visible outside dissect/.
 */
#ifndef PROCSNIFF_DISSECT_INTERNAL_H
#define PROCSNIFF_DISSECT_INTERNAL_H

#include <errno.h>

#include "dissect/dissect.h"

/* ---- bounds-checked cursor ------------------------------------------------
 * Every read checks the remaining length; a short read sets ok=false and
 * returns 0 / leaves the output untouched, and all later reads fail too, so
 * a parser can read a whole structure and test c.ok once. */
struct dcur {
	const uint8_t *p;
	size_t len; /* bytes left at p */
	bool ok;
};

static inline struct dcur dcur_make(const uint8_t *p, size_t len)
{
	struct dcur c = {p, len, true};
	return c;
}

static inline bool dcur_need(struct dcur *c, size_t n)
{
	if (!c->ok || c->len < n) {
		c->ok = false;
		return false;
	}
	return true;
}

static inline uint8_t dcur_u8(struct dcur *c)
{
	if (!dcur_need(c, 1))
		return 0;
	uint8_t v = c->p[0];
	c->p += 1;
	c->len -= 1;
	return v;
}

static inline uint16_t dcur_u16(struct dcur *c)
{
	if (!dcur_need(c, 2))
		return 0;
	uint16_t v = (uint16_t)(c->p[0] << 8 | c->p[1]);
	c->p += 2;
	c->len -= 2;
	return v;
}

static inline uint32_t dcur_u24(struct dcur *c)
{
	if (!dcur_need(c, 3))
		return 0;
	uint32_t v = (uint32_t)c->p[0] << 16 | (uint32_t)c->p[1] << 8 | c->p[2];
	c->p += 3;
	c->len -= 3;
	return v;
}

static inline uint32_t dcur_u32(struct dcur *c)
{
	if (!dcur_need(c, 4))
		return 0;
	uint32_t v = (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 | (uint32_t)c->p[2] << 8 |
		c->p[3];
	c->p += 4;
	c->len -= 4;
	return v;
}

/* Returns a pointer to the next n bytes and advances, or NULL. */
static inline const uint8_t *dcur_bytes(struct dcur *c, size_t n)
{
	if (!dcur_need(c, n))
		return NULL;
	const uint8_t *p = c->p;
	c->p += n;
	c->len -= n;
	return p;
}

/* Splits off a sub-cursor of n bytes (e.g. a length-prefixed vector). */
static inline struct dcur dcur_sub(struct dcur *c, size_t n)
{
	const uint8_t *p = dcur_bytes(c, n);
	struct dcur s = {p, p ? n : 0, p != NULL};
	return s;
}

/* ---- JSON event emitter ----------------------------------------------------
 * A dissector builds one event at a time in the worker's scratch buffer:
 *   dj_begin(w, "http_request", dir, ts);
 *   dj_str(w, "method", p, n); dj_u64(w, "status", 200);
 *   dj_list_begin(w, "alpn"); dj_list_str(w, p, n); dj_list_end(w);
 *   dj_end(w);    -> calls the engine's emit callback
 * Strings are escaped as JSON (control and non-ASCII bytes as \u00XX so the
 * output is always valid UTF-8). If the buffer would overflow, the event is
 * truncated member-wise (never mid-member) and still emitted. */
void dj_begin(struct dissect_worker *w, const char *event, enum dissect_dir dir, uint64_t ts_ns);
void dj_str(struct dissect_worker *w, const char *key, const void *s, size_t n);
void dj_cstr(struct dissect_worker *w, const char *key, const char *s); /* NULL -> null */
void dj_u64(struct dissect_worker *w, const char *key, uint64_t v);
void dj_bool(struct dissect_worker *w, const char *key, bool v);
void dj_null(struct dissect_worker *w, const char *key);
void dj_hex(struct dissect_worker *w, const char *key, const uint8_t *p, size_t n); /* lower-case */
void dj_list_begin(struct dissect_worker *w, const char *key);
void dj_list_str(struct dissect_worker *w, const void *s, size_t n);
void dj_list_u64(struct dissect_worker *w, uint64_t v);
void dj_list_end(struct dissect_worker *w);
void dj_obj_begin(struct dissect_worker *w); /* an object inside the open list */
void dj_obj_end(struct dissect_worker *w);
void dj_end(struct dissect_worker *w);

/* ---- flow summary ----------------------------------------------------------
 * Each flow keeps a small summary (e.g. sni, host) shown in its flow event.
 * dissect_summary_set replaces the value for key (at most 4 keys, values cut
 * to 127 bytes at a UTF-8-safe boundary). */
void dissect_summary_set(struct dissect_flow *f, const char *key, const void *s, size_t n);

/* ---- TCP stream helper -----------------------------------------------------
 * Gives a dissector one direction's bytes in order. Segments are placed by
 * sequence number: retransmissions and overlaps are trimmed, out-of-order
 * segments wait (bounded by stream_max), a gap that does not fill within the
 * window makes the stream give up (dstream_segment returns -ENOBUFS and the
 * worker counts a stream gap). Data is buffered only while the dissector asks
 * for more than what one segment holds: a segment that arrives in order with
 * nothing pending is handed over straight from the packet.
 *
 * The dissect core owns one dstream per TCP direction of an inspected flow;
 * dissectors never call these functions, they only see parse() calls. */
#define DSTREAM_MAX_HOLES 8

struct dstream {
	uint32_t seq;        /* sequence number of buf[0] (first unconsumed byte) */
	uint32_t in_len;     /* contiguous bytes at buf[0] not consumed yet */
	uint32_t cap;        /* bytes allocated at buf */
	uint32_t max;        /* bytes this stream may hold (window) */
	uint8_t *buf;        /* NULL until something must wait */
	uint8_t n_ooo;       /* out-of-order ranges held */
	uint8_t ooo_waits;   /* segments seen since the oldest hole opened */
	bool init;           /* seq is known */
	bool failed;         /* gave up: every later segment is ignored */
	struct {
		uint32_t off, len; /* relative to seq */
	} ooo[DSTREAM_MAX_HOLES];
};

/* Receives in-order bytes. Sets *used to the bytes consumed (up to len; more
 * than len skips bytes not received yet, e.g. a body of known length). Returns
 * 0 to go on, 1 when the consumer wants no more data from this stream. */
typedef int (*dstream_deliver_fn)(void *ctx, const uint8_t *p, size_t len, size_t *used);

/* Prepares s; max is the window in bytes. Allocates nothing.
 * Context: owning worker only. */
void dstream_init(struct dstream *s, uint32_t max);

/* Releases the buffer (s may be reused after dstream_init). Accepts NULL. */
void dstream_fini(struct dstream *s);

/* Sets the next expected sequence number (from a SYN: isn + 1) unless data
 * was placed already. Context: owning worker only. */
void dstream_set_seq(struct dstream *s, uint32_t seq);

/* Places one segment and delivers whatever became contiguous. The first
 * segment of a stream without dstream_set_seq() starts it. Returns 0, 1 when
 * the deliver callback asked to stop, -ENOBUFS when the stream gave up (gap
 * not filled within the window, or more pending data than the window), or
 * -ENOMEM. Context: owning worker only. */
int dstream_segment(struct dstream *s, uint32_t seq, const uint8_t *p, size_t len,
	dstream_deliver_fn fn, void *ctx);

/* True when the flow's payload comes through the stream helper (TCP).
 * Context: owning worker only, during parse(). */
bool dissect_flow_is_tcp(const struct dissect_flow *f);

/* ---- counters ---------------------------------------------------------------
 * A dissector that drops a record (or gives up a flow) as malformed says so,
 * once per record. Context: owning worker only. */
void dissect_malformed(struct dissect_worker *w);

/* ---- dissector registry ----------------------------------------------------- */
enum dissect_verdict {
	DISSECT_MORE = 0, /* keep feeding */
	DISSECT_DONE,     /* finished: stop inspecting this flow */
	DISSECT_NOT_MINE, /* (probe) not this protocol */
};

struct dissector {
	const char *name;       /* "http", also the flow's app name */
	uint8_t transport;      /* IPPROTO_TCP, IPPROTO_UDP, or 0 for both */
	uint16_t ports[4];      /* hint ports (0-terminated): tried first, never required */
	size_t state_size;      /* per-flow private state, zeroed before first use */
	/* Does this payload start this protocol? Looks only at the first payload
	 * of a direction; cheap; no state. */
	bool (*probe)(const struct dissect_pkt *pkt);
	/* In-order bytes of one direction (TCP: reassembled by the stream helper;
	 * UDP: one datagram). Returns how many bytes were consumed via *used
	 * (TCP: unconsumed bytes are kept and offered again with more data; a
	 * value above len skips that many bytes more, not yet received, e.g. a
	 * body of known length). The first call for a flow is with the payload
	 * that probe() accepted. DISSECT_DONE ends inspection of the whole flow;
	 * DISSECT_NOT_MINE from parse gives the flow up as malformed. */
	enum dissect_verdict (*parse)(struct dissect_worker *w, struct dissect_flow *f, void *state,
		enum dissect_dir dir, const uint8_t *data, size_t len, size_t *used, uint64_t ts_ns);
	/* Optional: called when the flow ends or the state is dropped. */
	void (*fini)(void *state);
};

#endif
