/* dissect: application-protocol detection and field extraction.
 *
 * The engine hands each flow's L4 payloads to dissect_packet() on the flow's
 * owning worker. Detection is by content (port numbers are only hints); the
 * chosen dissector keeps per-flow state and reports what it extracts as
 * events through the worker's emit callback. Nothing here locks, blocks or
 * allocates per packet; per-flow state is allocated once per inspected flow
 * and TCP stream buffers only while a handshake spans segments.
 *
 * This library depends on nothing else of procsniff's.
 */
#ifndef PROCSNIFF_DISSECT_H
#define PROCSNIFF_DISSECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dissect_dir {
	DISSECT_C2S = 0, /* from the flow's initiator */
	DISSECT_S2C = 1,
};

/* TCP flag bits as on the wire. */
#define DISSECT_TCP_FIN 0x01
#define DISSECT_TCP_SYN 0x02
#define DISSECT_TCP_RST 0x04
#define DISSECT_TCP_ACK 0x10

/* One packet of a flow, as the engine decoded it. data points into ring
 * memory and is valid only during the dissect_packet() call. */
struct dissect_pkt {
	const uint8_t *data; /* L4 payload (may be empty for TCP control segments) */
	uint32_t len;        /* payload bytes present in data */
	uint8_t l4proto;     /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t dir;         /* enum dissect_dir */
	uint8_t tcp_flags;   /* DISSECT_TCP_* (TCP only) */
	uint16_t sport;      /* this packet's source port */
	uint16_t dport;      /* this packet's destination port */
	uint32_t tcp_seq;    /* TCP sequence number, host order (TCP only) */
	uint64_t ts_ns;      /* capture time, ns since the epoch */
};

/* Called once per extracted record. fields is a JSON object body without the
 * braces (e.g. "\"method\":\"GET\",\"host\":\"a\""), len bytes, not NUL-
 * terminated necessarily; it is valid only during the call. The engine wraps
 * it with the event name, time, flow tuple and direction.
 * Context: owning worker only. */
typedef void (*dissect_emit_fn)(void *ctx, const char *event, enum dissect_dir dir,
	uint64_t ts_ns, const char *fields, size_t len);

struct dissect_config {
	unsigned pkt_budget;    /* packets per flow inspected before fast path (0: default 32) */
	unsigned stream_max;    /* bytes buffered per TCP direction (0: default 64 KiB) */
};

/* Per-worker dissection context: emitter scratch space, config, counters. */
struct dissect_worker;

/* Per-flow state, opaque to the engine. */
struct dissect_flow;

/* Returns a new worker context, or NULL with errno set. cfg may be NULL.
 * Context: any thread; the result belongs to one worker. */
struct dissect_worker *dissect_worker_new(const struct dissect_config *cfg, dissect_emit_fn emit,
	void *emit_ctx);

/* Accepts NULL. Context: the owning worker, after its last dissect call. */
void dissect_worker_free(struct dissect_worker *w);

/* Feeds one packet of a flow. *fp is the flow's state: NULL for a flow not yet
 * inspected (allocated here on its first call). Returns true while the flow
 * wants more packets; once it returns false the engine stops calling it for
 * this flow (fast path), but keeps *fp for dissect_flow_app/summary until the
 * flow ends. Never fails: bad input is counted and the flow given up.
 * Context: owning worker only. */
bool dissect_packet(struct dissect_worker *w, struct dissect_flow **fp,
	const struct dissect_pkt *pkt);

/* The flow's application protocol name ("http", "dns", "tls", "quic", "ssh",
 * ...) or NULL while unknown. The string is static.
 * Context: owning worker only. */
const char *dissect_flow_app(const struct dissect_flow *f);

/* Writes the flow's short summary as JSON object members without braces
 * (e.g. "\"sni\":\"example.com\"") into buf (NUL-terminated, at most len-1
 * bytes, never a partial member). Returns the length written; 0 if none.
 * Context: owning worker only. */
size_t dissect_flow_summary(const struct dissect_flow *f, char *buf, size_t len);

/* Releases a flow's state. Accepts NULL. Context: owning worker only. */
void dissect_flow_free(struct dissect_flow *f);

/* Counters for the worker's stats line. */
struct dissect_stats {
	uint64_t flows_inspected;
	uint64_t events;
	uint64_t malformed; /* records given up as malformed */
	uint64_t stream_gaps;
};

/* Context: owning worker only. */
void dissect_worker_stats(const struct dissect_worker *w, struct dissect_stats *out);

#endif
