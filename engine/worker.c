/* engine/worker: one capture worker per core.
 *
 * A worker pulls batches from its own source (a fanout ring or a software
 * fanout queue), decodes each packet, finds or creates its flow in the
 * worker's own flow table, updates the flow's counters and TCP state, and
 * hands payloads to the dissectors while the flow is still being inspected.
 * Flow ends and dissector records go to the aggregator through the worker's
 * SPSC event queue. On the packet path nothing locks, allocates (flows are
 * allocated once per flow) or makes a system call; PACKET_STATISTICS is read
 * about once a second and statistics are published with relaxed stores once
 * per batch.
 *
 * The worker's clock is its input's: packet time for a file (plus the
 * reader's ticks, so every worker count expires the same flows), the later of
 * packet time and wall time for live capture.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "engine/internal.h"

#define NS 1000000000ull

static inline uint64_t cycles_now(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __rdtsc();
#else
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
#endif
}

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* Single-writer counter bump: the owning worker is the only one to store. */
static inline void bump(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
		memory_order_relaxed);
}

void eng_tuple_from_flow(const struct flow *f, struct eng_tuple *t)
{
	const struct flow_key *k = &f->key;

	if (f->init_b) {
		memcpy(t->src, k->b, 16);
		memcpy(t->dst, k->a, 16);
		t->sport = k->pb;
		t->dport = k->pa;
	} else {
		memcpy(t->src, k->a, 16);
		memcpy(t->dst, k->b, 16);
		t->sport = k->pa;
		t->dport = k->pb;
	}
	t->vlan = k->vlan;
	t->proto = k->proto;
	t->ipver = k->ipver;
}

/* Reserves an event record. Offline the worker waits for the aggregator
 * (nothing of a file is dropped); live a full queue counts an event drop. */
static void *event_reserve(struct eng_worker *w, uint32_t len)
{
	for (;;) {
		void *p = ring_spsc_reserve(&w->events, len);
		if (p)
			return p;
		if (!w->run->offline) {
			bump(&w->st.event_drops, 1);
			return NULL;
		}
		ring_spsc_commit(&w->events);
		struct timespec ts = {0, 50000};
		nanosleep(&ts, NULL);
	}
}

static void flow_emit_end(struct eng_worker *w, struct flow *f, enum flow_end why)
{
	char summary[512];
	size_t slen = 0;
	const char *app = NULL;

	if (f->dpi) {
		app = dissect_flow_app(f->dpi);
		slen = dissect_flow_summary(f->dpi, summary, sizeof(summary));
	}
	uint32_t len = (uint32_t)(sizeof(struct eng_event_hdr) + sizeof(struct eng_flow_rec) + slen);
	uint8_t *p = event_reserve(w, len);
	if (!p)
		return;
	struct eng_event_hdr *h = (struct eng_event_hdr *)p;
	struct eng_flow_rec *r = (struct eng_flow_rec *)(h + 1);
	h->type = EV_FLOW;
	h->pad = 0;
	h->len = len - (uint32_t)sizeof(*h);
	memset(r, 0, sizeof(*r));
	eng_tuple_from_flow(f, &r->t);
	r->first_ns = f->first_ns;
	r->last_ns = atomic_load_explicit(&f->last_ns, memory_order_relaxed);
	for (int d = 0; d < 2; d++) {
		r->pkts[d] = atomic_load_explicit(&f->pkts[d], memory_order_relaxed);
		r->bytes[d] = atomic_load_explicit(&f->bytes[d], memory_order_relaxed);
	}
	r->end = (uint8_t)why;
	if (app)
		memcpy(r->app, app, strnlen(app, sizeof(r->app) - 1));
	r->summary_len = (uint32_t)slen;
	memcpy(r + 1, summary, slen);
}

static enum flow_end closed_reason(const struct flow *f)
{
	return ((f->tcp_seen[0] | f->tcp_seen[1]) & TCP_SEEN_RST) ? END_RST : END_FIN;
}

static void flow_end(struct eng_worker *w, struct flow *f, enum flow_end why)
{
	flow_emit_end(w, f, why);
	dissect_flow_free(f->dpi);
	f->dpi = NULL;
	flow_table_remove(&w->flows, f);
	atomic_store_explicit(&w->st.flows, w->flows.count, memory_order_relaxed);
}

/* A flow past its class timeout at now: closed TCP ends as fin/rst. */
static enum flow_end expiry_reason(const struct flow *f)
{
	return f->cls == FC_TCP_CLOSED ? closed_reason(f) : END_IDLE;
}

void eng_dpi_emit(void *ctx, const char *event, enum dissect_dir dir, uint64_t ts_ns,
	const char *fields, size_t flen)
{
	struct eng_worker *w = ctx;
	struct flow *f = w->cur_flow;

	if (!f)
		return;
	uint32_t len = (uint32_t)(sizeof(struct eng_event_hdr) + sizeof(struct eng_dpi_rec) + flen);
	uint8_t *p = event_reserve(w, len);
	if (!p)
		return;
	struct eng_event_hdr *h = (struct eng_event_hdr *)p;
	struct eng_dpi_rec *r = (struct eng_dpi_rec *)(h + 1);
	h->type = EV_DPI;
	h->pad = 0;
	h->len = len - (uint32_t)sizeof(*h);
	memset(r, 0, sizeof(*r));
	eng_tuple_from_flow(f, &r->t);
	r->ts_ns = ts_ns;
	r->dir = (uint8_t)dir;
	memcpy(r->event, event, strnlen(event, sizeof(r->event) - 1));
	r->fields_len = (uint32_t)flen;
	memcpy(r + 1, fields, flen);
	bump(&w->st.dpi_events, 1);
}

static enum flow_class class_of(uint8_t proto)
{
	return proto == 6 ? FC_TCP : proto == 17 ? FC_UDP : FC_OTHER;
}

struct prof {
	uint64_t decode, flow, dissect, n;
};

static void process(struct eng_worker *w, const struct ring_pkt *rp, bool sample, struct prof *pf)
{
	const struct eng_config *cfg = w->run->cfg;
	struct eng_pkt p;
	enum eng_malformed why;
	struct flow_key key;
	uint64_t t0 = 0, t1 = 0, t2 = 0;

	if (rp->ts_ns > w->clock_ns)
		w->clock_ns = rp->ts_ns;
	if (rp->flags & RING_PKT_TICK)
		return;
	bump(&w->st.packets, 1);
	bump(&w->st.bytes, rp->wirelen);
	if (sample)
		t0 = cycles_now();
	enum eng_decode_result dr = eng_decode(rp, &p, &why);
	if (dr == DEC_MALFORMED) {
		bump(&w->st.malformed, 1);
		bump(&w->st.malformed_by[why], 1);
		return;
	}
	if (dr == DEC_NOT_IP) {
		bump(&w->st.not_ip, 1);
		return;
	}
	if (p.fragment)
		bump(&w->st.fragments, 1);
	if (sample)
		t1 = cycles_now();

	bool src_b = flow_key_make(&p, &key);
	uint64_t hash = flow_key_hash(&key, w->run->seed);
	struct flow *f = flow_table_lookup(&w->flows, &key, hash);
	bool tcp = p.l4proto == 6 && !p.fragment;
	bool syn_only = tcp && (p.tcp_flags & 0x12) == 0x02;

	if (f) {
		uint64_t last = atomic_load_explicit(&f->last_ns, memory_order_relaxed);
		if (rp->ts_ns > last + w->flows.timeout_ns[f->cls])
			flow_end(w, f, expiry_reason(f)), f = NULL;
		else if (syn_only && f->cls == FC_TCP_CLOSED)
			flow_end(w, f, closed_reason(f)), f = NULL; /* port reused */
	}
	if (!f) {
		if (flow_table_full(&w->flows)) {
			struct flow *old = flow_table_oldest(&w->flows);
			if (old) {
				flow_end(w, old, END_EVICTED);
				bump(&w->st.evicted, 1);
			}
		}
		f = flow_table_add(&w->flows, &key, hash, class_of(p.l4proto), rp->ts_ns);
		if (!f) {
			bump(&w->st.alloc_failures, 1);
			return;
		}
		/* The initiator sent the SYN; a SYN-ACK seen first came from the
		 * responder; otherwise the first packet's source. */
		bool synack = tcp && (p.tcp_flags & 0x12) == 0x12;
		f->init_b = synack ? !src_b : src_b;
		f->dpi_active = cfg->dpi && (p.l4proto == 6 || p.l4proto == 17);
		bump(&w->st.flows_total, 1);
		atomic_store_explicit(&w->st.flows, w->flows.count, memory_order_relaxed);
	}
	int dir = src_b == f->init_b ? FLOW_C2S : FLOW_S2C;
	bump(&f->pkts[dir], 1);
	bump(&f->bytes[dir], rp->wirelen);
	if (rp->ts_ns > atomic_load_explicit(&f->last_ns, memory_order_relaxed))
		atomic_store_explicit(&f->last_ns, rp->ts_ns, memory_order_relaxed);
	enum flow_class cls = (enum flow_class)f->cls;
	if (tcp) {
		if (p.tcp_flags & 0x02)
			f->tcp_seen[dir] |= TCP_SEEN_SYN;
		if (p.tcp_flags & 0x01)
			f->tcp_seen[dir] |= TCP_SEEN_FIN;
		if (p.tcp_flags & 0x04)
			f->tcp_seen[dir] |= TCP_SEEN_RST;
		if ((f->tcp_seen[dir] & TCP_SEEN_RST) ||
			((f->tcp_seen[0] & TCP_SEEN_FIN) && (f->tcp_seen[1] & TCP_SEEN_FIN)))
			cls = FC_TCP_CLOSED;
	}
	flow_table_touch(&w->flows, f, cls);
	if (sample)
		t2 = cycles_now();

	if (f->dpi_active && !p.fragment) {
		struct dissect_pkt dp = {
			.data = p.payload,
			.len = p.payload_len,
			.l4proto = p.l4proto,
			.dir = (uint8_t)(dir == FLOW_C2S ? DISSECT_C2S : DISSECT_S2C),
			.tcp_flags = p.tcp_flags,
			.sport = p.sport,
			.dport = p.dport,
			.tcp_seq = p.tcp_seq,
			.ts_ns = rp->ts_ns,
		};
		w->cur_flow = f;
		f->dpi_active = dissect_packet(w->dw, &f->dpi, &dp);
		w->cur_flow = NULL;
	}
	if (sample) {
		uint64_t t3 = cycles_now();
		pf->decode += t1 - t0;
		pf->flow += t2 - t1;
		pf->dissect += t3 - t2;
		pf->n++;
	}
}

static void expire(struct eng_worker *w)
{
	struct flow *f;

	while ((f = flow_table_expired(&w->flows, w->clock_ns)))
		flow_end(w, f, expiry_reason(f));
}

static void flush_all(struct eng_worker *w)
{
	struct flow *f;

	while ((f = flow_table_oldest(&w->flows))) {
		enum flow_end why = f->cls == FC_TCP_CLOSED ? closed_reason(f) : END_SHUTDOWN;
		/* An input clock past the timeout means the flow had ended idle. */
		if (atomic_load_explicit(&f->last_ns, memory_order_relaxed) +
				w->flows.timeout_ns[f->cls] <
			w->clock_ns)
			why = expiry_reason(f);
		flow_end(w, f, why);
	}
}

static void publish_kernel_stats(struct eng_worker *w)
{
	struct ring_stats rs;

	if (ring_source_stats(w->src, &rs) == 0) {
		atomic_store_explicit(&w->st.kernel_drops, rs.drops, memory_order_relaxed);
		atomic_store_explicit(&w->st.kernel_freezes, rs.freezes, memory_order_relaxed);
		atomic_store_explicit(&w->st.queue_drops, rs.queue_drops, memory_order_relaxed);
	}
}

void *eng_worker_main(void *arg)
{
	struct eng_worker *w = arg;
	const struct eng_config *cfg = w->run->cfg;
	struct ring_batch b;
	struct ring_pkt rp;
	struct prof pf = {0};
	uint64_t next_stats = 0, seq = 0;
	char name[16];

	rcu_register_thread();
	snprintf(name, sizeof(name), "ps-worker%u", w->id);
	pthread_setname_np(pthread_self(), name);
	if (w->cpu >= 0)
		eng_cpu_pin_self(w->cpu);

	for (;;) {
		int r = ring_source_next(w->src, &b, 100);
		if (r == -ENODATA)
			break;
		if (r < 0) {
			w->error = r;
			eng_log(0, "worker %u: capture failed: %s", w->id, strerror(-r));
			break;
		}
		rcu_read_lock();
		if (r > 0) {
			while (ring_batch_next(w->src, &b, &rp)) {
				bool sample = cfg->profile && (++seq & 63) == 0;
				process(w, &rp, sample, &pf);
			}
			ring_source_release(w->src, &b);
		}
		if (!w->run->offline) {
			uint64_t now = wall_ns();
			if (now > w->clock_ns)
				w->clock_ns = now;
		}
		expire(w);
		rcu_read_unlock();
		flow_table_reclaim(&w->flows);
		ring_spsc_commit(&w->events);
		if (cfg->profile) {
			atomic_store_explicit(&w->st.cycles_decode, pf.decode, memory_order_relaxed);
			atomic_store_explicit(&w->st.cycles_flow, pf.flow, memory_order_relaxed);
			atomic_store_explicit(&w->st.cycles_dissect, pf.dissect, memory_order_relaxed);
			atomic_store_explicit(&w->st.profiled, pf.n, memory_order_relaxed);
		}
		uint64_t m = mono_ns();
		if (m >= next_stats) {
			publish_kernel_stats(w);
			next_stats = m + NS;
		}
	}
	rcu_read_lock();
	flush_all(w);
	rcu_read_unlock();
	flow_table_reclaim(&w->flows);
	publish_kernel_stats(w);
	ring_spsc_commit(&w->events);
	/* Pairs with the acquire load in the aggregator: every event and
	 * counter written above is visible once done is. */
	atomic_store_explicit(&w->done, true, memory_order_release);
	rcu_unregister_thread();
	return NULL;
}
