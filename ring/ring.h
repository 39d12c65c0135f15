/* ring: packet sources behind one small interface, and the lock-free
 * single-producer/single-consumer queues used between threads.
 *
 * A capture (struct ring_capture) owns one source per worker. Worker i pulls
 * batches from ring_capture_source(cap, i) and hands each batch back when it
 * is done with the packets in it:
 *
 *   tpacket  Linux AF_PACKET TPACKET_V3 rx ring per worker, all sockets in one
 *            PACKET_FANOUT_HASH group (the kernel spreads flows symmetrically);
 *            a batch is one retired ring block.
 *   pcap     libpcap live capture (portable; BPF/Npcap); a feeder thread
 *            spreads packets over the workers through SPSC byte queues.
 *   file     pcap/pcapng file through libpcap, spread the same way; the
 *            feeder waits for room rather than drop, so a file is read whole.
 *
 * The software fanout places packets by the caller's flow hash (ring knows
 * nothing about protocols), the same hash for every worker count.
 */
#ifndef PROCSNIFF_RING_H
#define PROCSNIFF_RING_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Link types of ring_pkt.linktype: libpcap LINKTYPE_* values, plus one of ours
 * for frames that start at the network header with the ethertype known. */
#define RING_LINK_ETHERNET 1
#define RING_LINK_RAW 101
#define RING_LINK_LINUX_SLL 113
#define RING_LINK_LINUX_SLL2 276
#define RING_LINK_NULL 0
#define RING_LINK_LOOP 108
#define RING_LINK_IPV4 228
#define RING_LINK_IPV6 229
#define RING_LINK_COOKED 0xfff0 /* network header; ring_pkt.l3proto is its ethertype */

#define RING_PKT_VLAN_VALID 0x01 /* vlan_tci holds a tag the kernel took off */
#define RING_PKT_TICK 0x02 /* no packet: the input clock reached ts_ns (file/pcap feeder) */

struct ring_pkt {
	const uint8_t *data; /* valid until the batch is released */
	uint32_t caplen;
	uint32_t wirelen;
	uint64_t ts_ns;
	uint16_t linktype;
	uint16_t l3proto; /* ethertype, host order (RING_LINK_COOKED) */
	uint16_t vlan_tci;
	uint8_t flags;
};

enum ring_backend {
	RING_BACKEND_TPACKET = 0,
	RING_BACKEND_PCAP,
	RING_BACKEND_FILE,
};

/* Flow hash used by the software fanout: must give both directions of a
 * flow the same value. Context: the feeder thread. */
typedef uint32_t (*ring_hash_fn)(void *ctx, const struct ring_pkt *pkt);

/* Log sink for the whole library (set once, before any other call).
 * level: 0 error, 1 warning, 2 info, 3 debug. */
typedef void (*ring_log_fn)(int level, const char *msg);
void ring_set_log(ring_log_fn fn);
/* Formats a message for the sink set with ring_set_log (the process's one
 * sink: the engine logs through it too). Context: any thread. */
void ring_logv(int level, const char *fmt, va_list ap);

struct ring_config {
	enum ring_backend backend;
	const char *iface;      /* live backends; "any" allowed */
	const char *path;       /* file backend */
	unsigned workers;       /* sources to make, >= 1 */
	const char *filter;     /* tcpdump syntax, or NULL */
	uint32_t snaplen;       /* 0: default 262144 */
	uint32_t block_size;    /* tpacket: bytes per block (0: 4 MiB) */
	uint32_t block_count;   /* tpacket: blocks per worker ring (0: 8) */
	uint32_t block_timeout; /* tpacket: retire timeout in ms (0: 10) */
	uint32_t queue_bytes;   /* software fanout: bytes per worker queue (0: 16 MiB) */
	uint64_t count;         /* file/pcap: stop after this many packets (0: all) */
	ring_hash_fn hash;      /* software fanout (pcap, file) */
	void *hash_ctx;
	const int *cpus;        /* tpacket: CPU of each worker, or NULL / -1: the
	                         * ring is faulted in from that CPU so its memory
	                         * is local to the worker's NUMA node */
};

struct ring_capture;
struct ring_source;

/* A batch: iterate with ring_batch_next, then ring_source_release. */
struct ring_batch {
	const uint8_t *cur;
	const uint8_t *end;
	uint32_t left;
	uint32_t kind;
	void *block;
	uint64_t pos;
};

struct ring_stats {
	uint64_t packets;     /* packets handed to the worker */
	uint64_t drops;       /* kernel (tp_drops) or libpcap (ps_drop + ps_ifdrop) drops */
	uint64_t freezes;     /* tp_freeze_q_cnt */
	uint64_t queue_drops; /* software fanout: dropped on a full worker queue (live pcap) */
};

/* Opens every source and, for tpacket, joins all sockets to the fanout group
 * with a drop-all filter in place, so no packet is counted before the group
 * is whole. Returns NULL with errno set; the reason is logged.
 * Context: any thread, once. */
struct ring_capture *ring_capture_open(const struct ring_config *cfg);

/* Starts delivery: installs the real filter on every socket, or starts the
 * feeder thread. Context: the thread that opened it. */
int ring_capture_start(struct ring_capture *cap);

/* Asks every source to end: workers then see -ENODATA once the data already
 * delivered is consumed. Context: any thread, async-signal-safe. */
void ring_capture_stop(struct ring_capture *cap);

/* Context: any thread. Accepts NULL. Call after the workers have exited. */
void ring_capture_free(struct ring_capture *cap);

/* The link type a source's packets carry when all share one (file, pcap),
 * or -1 when it varies per packet (tpacket). */
int ring_capture_linktype(const struct ring_capture *cap);

/* Worker i's source; owned by the capture. Context: any thread. */
struct ring_source *ring_capture_source(struct ring_capture *cap, unsigned i);

/* Waits up to timeout_ms for a batch. Returns 1 with *b filled, 0 on timeout,
 * -ENODATA when the source has ended and everything was delivered, or
 * another negative errno. Context: owning worker only. */
int ring_source_next(struct ring_source *s, struct ring_batch *b, int timeout_ms);

/* Next packet of the batch, false at its end. Context: owning worker only. */
bool ring_batch_next(struct ring_source *s, struct ring_batch *b, struct ring_pkt *pkt);

/* Hands the batch's memory back. Context: owning worker only. */
void ring_source_release(struct ring_source *s, struct ring_batch *b);

/* Reads the source's counters (tpacket: PACKET_STATISTICS, accumulated in
 * 64 bits since each read resets the kernel's). Makes a syscall: call it
 * about once a second, never per packet. Context: owning worker only. */
int ring_source_stats(struct ring_source *s, struct ring_stats *out);

/* ---- SPSC byte queue ----------------------------------------------------------
 * Variable-length records in a power-of-two byte ring; one producer thread,
 * one consumer thread, no locks. A record never wraps: the producer pads to
 * the end of the buffer when needed. */
struct ring_spsc {
	_Alignas(64) _Atomic uint64_t head; /* producer writes */
	uint64_t cached_tail;               /* producer's view */
	_Alignas(64) _Atomic uint64_t tail; /* consumer writes */
	uint64_t cached_head;               /* consumer's view */
	_Alignas(64) uint8_t *buf;
	uint64_t size; /* power of two */
	uint64_t pending; /* producer: bytes reserved, not committed */
};

/* size is rounded up to a power of two (>= 4096). Returns 0 or -ENOMEM.
 * Context: any thread, before the queue is shared. */
int ring_spsc_init(struct ring_spsc *q, size_t size);
void ring_spsc_fini(struct ring_spsc *q);

/* Reserves len bytes for one record; NULL when the queue has no room.
 * Nothing is visible to the consumer until ring_spsc_commit.
 * Context: producer only. */
void *ring_spsc_reserve(struct ring_spsc *q, uint32_t len);
/* Publishes every record reserved since the last commit.
 * Context: producer only. */
void ring_spsc_commit(struct ring_spsc *q);

/* The next record and its length, or NULL when empty. Records stay valid
 * until ring_spsc_consume releases them. *pos is a consumer cursor: start it
 * with ring_spsc_pos(q), pass it back for the following record.
 * Context: consumer only. */
uint64_t ring_spsc_pos(struct ring_spsc *q);
const void *ring_spsc_peek(struct ring_spsc *q, uint64_t *pos, uint32_t *len);
/* Releases every record before pos. Context: consumer only. */
void ring_spsc_consume(struct ring_spsc *q, uint64_t pos);
/* Bytes in use (approximate from any thread). */
uint64_t ring_spsc_used(struct ring_spsc *q);

#endif
