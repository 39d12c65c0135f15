/* ring internals: the source vtable each backend fills in, the capture object,
 * and the log helper. Not visible outside ring/.
 */
#ifndef PROCSNIFF_RING_INTERNAL_H
#define PROCSNIFF_RING_INTERNAL_H

#include <pthread.h>

#include "ring/ring.h"

struct ring_source_ops {
	int (*next)(struct ring_source *s, struct ring_batch *b, int timeout_ms);
	bool (*batch_next)(struct ring_source *s, struct ring_batch *b, struct ring_pkt *pkt);
	void (*release)(struct ring_source *s, struct ring_batch *b);
	int (*stats)(struct ring_source *s, struct ring_stats *out);
};

struct ring_source {
	const struct ring_source_ops *ops;
	struct ring_capture *cap;
	unsigned index;
	uint64_t packets; /* owning worker only */
};

struct ring_tpacket; /* tpacket_v3.c */
struct ring_feed;    /* pcap_feed.c */

struct ring_capture {
	struct ring_config cfg;
	char *iface;
	char *path;
	char *filter;
	int linktype;
	_Atomic bool stopping;
	struct ring_tpacket *tp;
	struct ring_feed *feed;
};

void ring_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int ring_tpacket_open(struct ring_capture *cap);
int ring_tpacket_start(struct ring_capture *cap);
void ring_tpacket_free(struct ring_capture *cap);
struct ring_source *ring_tpacket_source(struct ring_capture *cap, unsigned i);

int ring_feed_open(struct ring_capture *cap);
int ring_feed_start(struct ring_capture *cap);
void ring_feed_stop(struct ring_capture *cap);
void ring_feed_free(struct ring_capture *cap);
struct ring_source *ring_feed_source(struct ring_capture *cap, unsigned i);

/* Compiles a tcpdump-syntax filter for linktype into a classic BPF program
 * returning snaplen for accepted packets. NULL expr accepts everything.
 * On success *insns is malloc'd. Returns 0 or -EINVAL (message logged). */
int ring_filter_compile(const char *expr, int linktype, uint32_t snaplen, void **insns,
	unsigned *count);

#endif
