/* ring/pcap_feed: libpcap sources (pcap/pcapng files, portable live capture)
 * spread over the workers by a software fanout.
 *
 * One feeder thread reads packets with pcap_dispatch and copies each into the
 * SPSC byte queue of the worker chosen by the caller's symmetric flow hash,
 * so both directions of a flow meet on one worker whatever the worker count.
 * For a file the feeder waits for room in a full queue (a file is read whole);
 * for live capture it counts the packet as a queue drop and moves on, since
 * waiting would only move the loss into the kernel. Every second of capture
 * time, and once at the end, the feeder sends each worker a clock tick so
 * that idle workers expire flows on the same input clock as busy ones.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ring/internal.h"

struct feed_rec {
	uint64_t ts_ns;
	uint32_t caplen;
	uint32_t wirelen;
	uint16_t linktype;
	uint8_t flags;
	uint8_t pad[5];
};
_Static_assert(sizeof(struct feed_rec) == 24, "feed record layout");

struct feed_source {
	struct ring_source base;
	struct ring_spsc q;
	_Atomic bool done; /* feeder wrote its last record */
	_Atomic uint64_t queue_drops;
};

struct ring_feed {
	pcap_t *pcap;
	bool live;
	bool started;
	pthread_t thread;
	unsigned n;
	int linktype;
	uint64_t sent;
	uint64_t last_tick_s;
	uint64_t last_ts;
	_Atomic uint64_t pcap_drops;
	int error;
	struct feed_source src[];
};

static const struct ring_source_ops feed_ops;

static pcap_t *feed_open_live(struct ring_capture *cap)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	const struct ring_config *cfg = &cap->cfg;
	pcap_t *p = pcap_create(cfg->iface, errbuf);
	int r;

	if (!p) {
		ring_log(0, "ring: pcap on %s: %s", cfg->iface, errbuf);
		return NULL;
	}
	pcap_set_snaplen(p, (int)cfg->snaplen);
	pcap_set_promisc(p, 1);
	pcap_set_timeout(p, (int)cfg->block_timeout);
	pcap_set_buffer_size(p, (int)(cfg->block_size * cfg->block_count));
	pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
	r = pcap_activate(p);
	if (r < 0) {
		ring_log(0, "ring: pcap on %s: %s%s", cfg->iface, pcap_geterr(p),
			r == PCAP_ERROR_PERM_DENIED ? " (needs root or CAP_NET_RAW)" : "");
		pcap_close(p);
		return NULL;
	}
	if (pcap_setnonblock(p, 1, errbuf) < 0 || pcap_get_selectable_fd(p) < 0) {
		ring_log(0, "ring: pcap on %s: no pollable descriptor: %s", cfg->iface, errbuf);
		pcap_close(p);
		return NULL;
	}
	return p;
}

static pcap_t *feed_open_file(struct ring_capture *cap)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline_with_tstamp_precision(cap->cfg.path,
		PCAP_TSTAMP_PRECISION_NANO, errbuf);

	if (!p)
		ring_log(0, "ring: cannot read %s: %s", cap->cfg.path, errbuf);
	return p;
}

int ring_feed_open(struct ring_capture *cap)
{
	const struct ring_config *cfg = &cap->cfg;
	struct ring_feed *f;
	int err;

	f = calloc(1, sizeof(*f) + cfg->workers * sizeof(struct feed_source));
	if (!f)
		return -ENOMEM;
	cap->feed = f;
	f->n = cfg->workers;
	for (unsigned i = 0; i < f->n; i++) {
		struct feed_source *s = &f->src[i];
		s->base.ops = &feed_ops;
		s->base.cap = cap;
		s->base.index = i;
		err = ring_spsc_init(&s->q, cfg->queue_bytes);
		if (err)
			return err;
	}
	f->live = cfg->backend == RING_BACKEND_PCAP;
	f->pcap = f->live ? feed_open_live(cap) : feed_open_file(cap);
	if (!f->pcap)
		return -EINVAL;
	f->linktype = pcap_datalink(f->pcap);
	cap->linktype = f->linktype;
	if (cfg->filter) {
		struct bpf_program prog;
		if (pcap_compile(f->pcap, &prog, cfg->filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
			ring_log(0, "ring: bad filter \"%s\": %s", cfg->filter,
				pcap_geterr(f->pcap));
			return -EINVAL;
		}
		int r = pcap_setfilter(f->pcap, &prog);
		pcap_freecode(&prog);
		if (r < 0) {
			ring_log(0, "ring: set filter: %s", pcap_geterr(f->pcap));
			return -EINVAL;
		}
	}
	return 0;
}

static void feed_pause(void)
{
	struct timespec ts = {0, 20000};
	nanosleep(&ts, NULL);
}

/* Idle wait that grows from 20 us to 1 ms, so an idle worker costs little. */
static void feed_backoff(unsigned *step)
{
	struct timespec ts = {0, 20000L << (*step < 6 ? *step : 6)};
	if (ts.tv_nsec > 1000000)
		ts.tv_nsec = 1000000;
	(*step)++;
	nanosleep(&ts, NULL);
}

/* Writes one record into worker i's queue; for a file waits for room.
 * Returns false when the capture is stopping. */
static bool feed_put(struct ring_capture *cap, unsigned i, const struct feed_rec *rec,
	const uint8_t *data)
{
	struct ring_feed *f = cap->feed;
	struct feed_source *s = &f->src[i];
	struct feed_rec cut;
	uint8_t *dst;

	/* A record must fit the queue many times over; a giant frame from a
	 * file (some link types allow them) is kept to what fits. */
	if (sizeof(*rec) + (uint64_t)rec->caplen > s->q.size / 8) {
		cut = *rec;
		cut.caplen = (uint32_t)(s->q.size / 8 - sizeof(*rec));
		rec = &cut;
	}
	for (;;) {
		dst = ring_spsc_reserve(&s->q, (uint32_t)sizeof(*rec) + rec->caplen);
		if (dst)
			break;
		if (f->live) {
			atomic_store_explicit(&s->queue_drops,
				atomic_load_explicit(&s->queue_drops, memory_order_relaxed) + 1,
				memory_order_relaxed);
			return true;
		}
		/* Let the worker see what is already queued before waiting. */
		ring_spsc_commit(&s->q);
		if (atomic_load_explicit(&cap->stopping, memory_order_acquire))
			return false;
		feed_pause();
	}
	memcpy(dst, rec, sizeof(*rec));
	if (rec->caplen)
		memcpy(dst + sizeof(*rec), data, rec->caplen);
	return true;
}

static void feed_tick(struct ring_capture *cap, uint64_t ts_ns)
{
	struct feed_rec rec = {.ts_ns = ts_ns, .flags = RING_PKT_TICK};

	for (unsigned i = 0; i < cap->feed->n; i++)
		feed_put(cap, i, &rec, NULL);
}

static void feed_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct ring_capture *cap = (struct ring_capture *)user;
	struct ring_feed *f = cap->feed;
	struct feed_rec rec = {0};
	struct ring_pkt pkt;
	unsigned w = 0;

	if (cap->cfg.count && f->sent >= cap->cfg.count) {
		pcap_breakloop(f->pcap);
		return;
	}
	/* tv_usec carries nanoseconds: the handle was opened with nano precision. */
	rec.ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
	rec.caplen = h->caplen;
	rec.wirelen = h->len;
	rec.linktype = (uint16_t)f->linktype;
	if (f->n > 1 && cap->cfg.hash) {
		pkt.data = bytes;
		pkt.caplen = h->caplen;
		pkt.wirelen = h->len;
		pkt.ts_ns = rec.ts_ns;
		pkt.linktype = rec.linktype;
		pkt.l3proto = 0;
		pkt.vlan_tci = 0;
		pkt.flags = 0;
		w = cap->cfg.hash(cap->cfg.hash_ctx, &pkt) % f->n;
	}
	if (!feed_put(cap, w, &rec, bytes)) {
		pcap_breakloop(f->pcap);
		return;
	}
	f->sent++;
	if (rec.ts_ns > f->last_ts)
		f->last_ts = rec.ts_ns;
	if (f->n > 1 && rec.ts_ns / 1000000000ull > f->last_tick_s) {
		f->last_tick_s = rec.ts_ns / 1000000000ull;
		feed_tick(cap, rec.ts_ns);
	}
}

static void feed_commit_all(struct ring_feed *f)
{
	for (unsigned i = 0; i < f->n; i++)
		ring_spsc_commit(&f->src[i].q);
}

static void *feed_main(void *arg)
{
	struct ring_capture *cap = arg;
	struct ring_feed *f = cap->feed;
	struct timespec last = {0}, now;

	for (;;) {
		/* Pairs with the release store in ring_capture_stop. */
		if (atomic_load_explicit(&cap->stopping, memory_order_acquire))
			break;
		if (cap->cfg.count && f->sent >= cap->cfg.count)
			break;
		int r = pcap_dispatch(f->pcap, 512, feed_packet, (u_char *)cap);
		feed_commit_all(f);
		if (r == PCAP_ERROR) {
			/* A truncated or damaged file: keep what was read. */
			ring_log(1, "ring: %s: %s (stopping here; %llu packets read)",
				f->live ? cap->cfg.iface : cap->cfg.path, pcap_geterr(f->pcap),
				(unsigned long long)f->sent);
			f->error = -EIO;
			break;
		}
		if (r == PCAP_ERROR_BREAK)
			continue;
		if (!f->live && r == 0)
			break; /* end of file */
		if (f->live && r == 0) {
			/* Non-blocking handle: wait here, bounded, so stops are seen. */
			struct pollfd pfd = {.fd = pcap_get_selectable_fd(f->pcap), .events = POLLIN};
			poll(&pfd, 1, 100);
		}
		if (f->live) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec != last.tv_sec) {
				struct pcap_stat ps;
				last = now;
				if (pcap_stats(f->pcap, &ps) == 0)
					atomic_store_explicit(&f->pcap_drops,
						(uint64_t)ps.ps_drop + ps.ps_ifdrop,
						memory_order_relaxed);
			}
		}
	}
	if (f->last_ts)
		feed_tick(cap, f->last_ts);
	feed_commit_all(f);
	for (unsigned i = 0; i < f->n; i++)
		/* Pairs with the acquire load in feed_next. */
		atomic_store_explicit(&f->src[i].done, true, memory_order_release);
	return NULL;
}

int ring_feed_start(struct ring_capture *cap)
{
	struct ring_feed *f = cap->feed;
	int err = pthread_create(&f->thread, NULL, feed_main, cap);

	if (err) {
		ring_log(0, "ring: cannot start the reader thread: %s", strerror(err));
		return -err;
	}
	pthread_setname_np(f->thread, f->live ? "ps-pcap" : "ps-reader");
	f->started = true;
	return 0;
}

void ring_feed_free(struct ring_capture *cap)
{
	struct ring_feed *f = cap->feed;

	if (!f)
		return;
	if (f->started) {
		if (f->pcap)
			pcap_breakloop(f->pcap);
		pthread_join(f->thread, NULL);
	}
	if (f->pcap)
		pcap_close(f->pcap);
	for (unsigned i = 0; i < f->n; i++)
		ring_spsc_fini(&f->src[i].q);
	free(f);
	cap->feed = NULL;
}

struct ring_source *ring_feed_source(struct ring_capture *cap, unsigned i)
{
	return &cap->feed->src[i].base;
}

static int feed_next(struct ring_source *base, struct ring_batch *b, int timeout_ms)
{
	struct feed_source *s = (struct feed_source *)base;
	struct timespec start, now;
	uint32_t len;
	unsigned spins = 0, step = 0;

	for (;;) {
		/* Pairs with the release store at the end of feed_main: once done is
		 * seen, every record the feeder wrote is visible. */
		bool done = atomic_load_explicit(&s->done, memory_order_acquire);
		uint64_t pos = ring_spsc_pos(&s->q);
		if (ring_spsc_peek(&s->q, &pos, &len)) {
			b->pos = ring_spsc_pos(&s->q);
			b->kind = 1;
			/* Bound a batch so the worker returns memory to the feeder
			 * regularly. */
			b->left = 1024;
			return 1;
		}
		if (done)
			return -ENODATA;
		if (++spins < 64) {
			sched_yield();
			continue;
		}
		if (spins == 64)
			clock_gettime(CLOCK_MONOTONIC, &start);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >=
			timeout_ms)
			return 0;
		feed_backoff(&step);
	}
}

static bool feed_batch_next(struct ring_source *base, struct ring_batch *b, struct ring_pkt *pkt)
{
	struct feed_source *s = (struct feed_source *)base;
	uint32_t len;
	const uint8_t *p;

	if (!b->left)
		return false;
	p = ring_spsc_peek(&s->q, &b->pos, &len);
	if (!p)
		return false;
	b->left--;
	const struct feed_rec *rec = (const struct feed_rec *)p;
	pkt->data = p + sizeof(*rec);
	pkt->caplen = rec->caplen;
	pkt->wirelen = rec->wirelen;
	pkt->ts_ns = rec->ts_ns;
	pkt->linktype = rec->linktype;
	pkt->flags = rec->flags;
	pkt->l3proto = 0;
	pkt->vlan_tci = 0;
	if (!(rec->flags & RING_PKT_TICK))
		base->packets++;
	return true;
}

static void feed_release(struct ring_source *base, struct ring_batch *b)
{
	struct feed_source *s = (struct feed_source *)base;

	ring_spsc_consume(&s->q, b->pos);
}

static int feed_stats(struct ring_source *base, struct ring_stats *out)
{
	struct feed_source *s = (struct feed_source *)base;
	struct ring_feed *f = base->cap->feed;

	out->packets = base->packets;
	out->drops = base->index == 0 ?
		atomic_load_explicit(&f->pcap_drops, memory_order_relaxed) : 0;
	out->freezes = 0;
	out->queue_drops = atomic_load_explicit(&s->queue_drops, memory_order_relaxed);
	return 0;
}

static const struct ring_source_ops feed_ops = {
	.next = feed_next,
	.batch_next = feed_batch_next,
	.release = feed_release,
	.stats = feed_stats,
};
