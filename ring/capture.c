/* ring/capture: the capture object that owns one source per worker, the
 * backend dispatch, filter compilation and the library's log sink.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring/internal.h"

static ring_log_fn log_sink;

void ring_set_log(ring_log_fn fn)
{
	log_sink = fn;
}

void ring_logv(int level, const char *fmt, va_list ap)
{
	char msg[512];

	if (!log_sink)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_sink(level, msg);
}

void ring_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ring_logv(level, fmt, ap);
	va_end(ap);
}

int ring_filter_compile(const char *expr, int linktype, uint32_t snaplen, void **insns,
	unsigned *count)
{
	struct bpf_program prog;
	pcap_t *p;
	int err = 0;

	p = pcap_open_dead(linktype, (int)snaplen);
	if (!p)
		return -ENOMEM;
	if (pcap_compile(p, &prog, expr ? expr : "", 1, PCAP_NETMASK_UNKNOWN) < 0) {
		ring_log(0, "ring: bad filter \"%s\": %s", expr ? expr : "", pcap_geterr(p));
		err = -EINVAL;
		goto out;
	}
	*insns = malloc(prog.bf_len * sizeof(struct bpf_insn));
	if (!*insns) {
		err = -ENOMEM;
	} else {
		memcpy(*insns, prog.bf_insns, prog.bf_len * sizeof(struct bpf_insn));
		*count = prog.bf_len;
	}
	pcap_freecode(&prog);
out:
	pcap_close(p);
	return err;
}

static char *dup_opt(const char *s)
{
	return s ? strdup(s) : NULL;
}

struct ring_capture *ring_capture_open(const struct ring_config *cfg)
{
	struct ring_capture *cap;
	int err;

	if (!cfg->workers || (cfg->backend == RING_BACKEND_FILE && !cfg->path) ||
		(cfg->backend != RING_BACKEND_FILE && !cfg->iface)) {
		errno = EINVAL;
		return NULL;
	}
	cap = calloc(1, sizeof(*cap));
	if (!cap) {
		errno = ENOMEM;
		return NULL;
	}
	cap->cfg = *cfg;
	if (!cap->cfg.snaplen)
		cap->cfg.snaplen = 262144;
	if (!cap->cfg.block_size)
		cap->cfg.block_size = 4u << 20;
	if (!cap->cfg.block_count)
		cap->cfg.block_count = 8;
	if (!cap->cfg.block_timeout)
		cap->cfg.block_timeout = 10;
	if (!cap->cfg.queue_bytes)
		cap->cfg.queue_bytes = 16u << 20;
	cap->iface = dup_opt(cfg->iface);
	cap->path = dup_opt(cfg->path);
	cap->filter = dup_opt(cfg->filter);
	cap->cfg.iface = cap->iface;
	cap->cfg.path = cap->path;
	cap->cfg.filter = cap->filter;
	cap->linktype = -1;
	if ((cfg->iface && !cap->iface) || (cfg->path && !cap->path) ||
		(cfg->filter && !cap->filter)) {
		err = -ENOMEM;
		goto fail;
	}
	if (cap->cfg.block_size < (128u << 10) || (cap->cfg.block_size & 4095)) {
		ring_log(0, "ring: block size %u must be a multiple of 4096 and at least 128 KiB",
			cap->cfg.block_size);
		err = -EINVAL;
		goto fail;
	}
	if (cap->cfg.backend == RING_BACKEND_TPACKET)
		err = ring_tpacket_open(cap);
	else
		err = ring_feed_open(cap);
	if (err)
		goto fail;
	return cap;
fail:
	ring_capture_free(cap);
	errno = -err;
	return NULL;
}

int ring_capture_start(struct ring_capture *cap)
{
	if (cap->tp)
		return ring_tpacket_start(cap);
	return ring_feed_start(cap);
}

void ring_capture_stop(struct ring_capture *cap)
{
	/* Pairs with the acquire loads in the sources' next(). */
	atomic_store_explicit(&cap->stopping, true, memory_order_release);
}

void ring_capture_free(struct ring_capture *cap)
{
	if (!cap)
		return;
	ring_capture_stop(cap);
	ring_tpacket_free(cap);
	ring_feed_free(cap);
	free(cap->iface);
	free(cap->path);
	free(cap->filter);
	free(cap);
}

int ring_capture_linktype(const struct ring_capture *cap)
{
	return cap->linktype;
}

struct ring_source *ring_capture_source(struct ring_capture *cap, unsigned i)
{
	if (i >= cap->cfg.workers)
		return NULL;
	return cap->tp ? ring_tpacket_source(cap, i) : ring_feed_source(cap, i);
}

int ring_source_next(struct ring_source *s, struct ring_batch *b, int timeout_ms)
{
	return s->ops->next(s, b, timeout_ms);
}

bool ring_batch_next(struct ring_source *s, struct ring_batch *b, struct ring_pkt *pkt)
{
	return s->ops->batch_next(s, b, pkt);
}

void ring_source_release(struct ring_source *s, struct ring_batch *b)
{
	s->ops->release(s, b);
}

int ring_source_stats(struct ring_source *s, struct ring_stats *out)
{
	return s->ops->stats(s, out);
}
