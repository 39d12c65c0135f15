/* engine/aggregate: the aggregator thread and its outputs.
 *
 * Every few milliseconds it drains each worker's event queue and writes the
 * records as JSON lines (or keeps them for the plain summary). Once a second
 * it reads the workers' counters, walks their flow tables under
 * rcu_read_lock to count active flows and find the busiest, computes rates
 * over the last second and publishes an immutable snapshot (RCU pointer swap)
 * for readers. It stops the run when the duration or packet count is reached
 * or a stop was requested, and returns only when every worker has finished
 * and its queue is empty, after writing the final statistics.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/internal.h"

#define NS UINT64_C(1000000000)

struct agg_totals {
	uint64_t packets, bytes, drops, freezes, malformed, flows, flows_active, event_drops;
	uint64_t queue_drops, not_ip, fragments, evicted, dpi_events, alloc_failures;
	uint64_t malformed_by[MAL_COUNT];
	uint64_t cyc_decode, cyc_flow, cyc_dissect, profiled;
};

/* What readers (the terminal summary now, the TUI later) see. */
struct eng_snapshot {
	struct rcu_head rcu;
	uint64_t mono_ns;
	struct agg_totals total;
	double pps;
	double bps;
	uint64_t active_flows;
};

struct agg {
	struct eng_run *run;
	FILE *out;
	bool json;
	bool tty;
	struct eng_snapshot *snap; /* RCU-published */
	struct agg_totals prev;
	uint64_t prev_ns;
	uint64_t flows_done;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

void eng_addr_str(uint8_t ipver, const uint8_t *ip, char *buf)
{
	inet_ntop(ipver == 6 ? AF_INET6 : AF_INET, ip, buf, 46);
}

static const char *proto_name(uint8_t p, char *buf)
{
	switch (p) {
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 1:
		return "icmp";
	case 58:
		return "icmpv6";
	case 132:
		return "sctp";
	case 47:
		return "gre";
	case 50:
		return "esp";
	default:
		snprintf(buf, 8, "%u", p);
		return buf;
	}
}

static bool has_ports(uint8_t p)
{
	return p == 6 || p == 17 || p == 132;
}

static void put_ts(FILE *o, const char *key, uint64_t ns)
{
	fprintf(o, ",\"%s\":%" PRIu64 ".%06" PRIu64, key, ns / NS, (ns % NS) / 1000);
}

static void put_tuple(FILE *o, const struct eng_tuple *t)
{
	char a[48], b[48], pb[8];

	eng_addr_str(t->ipver, t->src, a);
	eng_addr_str(t->ipver, t->dst, b);
	fprintf(o, ",\"proto\":\"%s\",\"src\":\"%s\"", proto_name(t->proto, pb), a);
	if (has_ports(t->proto))
		fprintf(o, ",\"sport\":%u", t->sport);
	fprintf(o, ",\"dst\":\"%s\"", b);
	if (has_ports(t->proto))
		fprintf(o, ",\"dport\":%u", t->dport);
	fprintf(o, ",\"vlan\":%u", t->vlan);
}

static void write_flow(struct agg *a, const struct eng_flow_rec *r)
{
	FILE *o = a->out;

	a->flows_done++;
	if (!a->json)
		return;
	fputs("{\"event\":\"flow\"", o);
	put_tuple(o, &r->t);
	put_ts(o, "first_ts", r->first_ns);
	put_ts(o, "last_ts", r->last_ns);
	fprintf(o,
		",\"pkts_c2s\":%" PRIu64 ",\"bytes_c2s\":%" PRIu64 ",\"pkts_s2c\":%" PRIu64
		",\"bytes_s2c\":%" PRIu64,
		r->pkts[0], r->bytes[0], r->pkts[1], r->bytes[1]);
	if (r->app[0])
		fprintf(o, ",\"app\":\"%s\"", r->app);
	else
		fputs(",\"app\":null", o);
	fprintf(o, ",\"end\":\"%s\"", r->end < END_COUNT ? flow_end_names[r->end] : "?");
	if (r->summary_len) {
		fputc(',', o);
		fwrite(r + 1, 1, r->summary_len, o);
	}
	fputs("}\n", o);
}

static void write_dpi(struct agg *a, const struct eng_dpi_rec *r)
{
	FILE *o = a->out;

	if (!a->json)
		return;
	fprintf(o, "{\"event\":\"%s\"", r->event);
	put_ts(o, "ts", r->ts_ns);
	put_tuple(o, &r->t);
	fprintf(o, ",\"dir\":\"%s\"", r->dir == DISSECT_C2S ? "c2s" : "s2c");
	if (r->fields_len) {
		fputc(',', o);
		fwrite(r + 1, 1, r->fields_len, o);
	}
	fputs("}\n", o);
}

/* Drains one worker's queue; returns records handled. */
static unsigned drain(struct agg *a, struct eng_worker *w)
{
	uint64_t pos = ring_spsc_pos(&w->events);
	unsigned n = 0;
	uint32_t len;
	const uint8_t *p;

	while ((p = ring_spsc_peek(&w->events, &pos, &len))) {
		const struct eng_event_hdr *h = (const struct eng_event_hdr *)p;
		if (h->type == EV_FLOW)
			write_flow(a, (const struct eng_flow_rec *)(h + 1));
		else if (h->type == EV_DPI)
			write_dpi(a, (const struct eng_dpi_rec *)(h + 1));
		/* Free the space as we go so a blocked worker can continue. */
		if (++n % 256 == 0)
			ring_spsc_consume(&w->events, pos);
	}
	ring_spsc_consume(&w->events, pos);
	return n;
}

static uint64_t ld(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static void read_worker(struct eng_worker *w, struct agg_totals *t)
{
	struct eng_worker_stats *s = &w->st;

	memset(t, 0, sizeof(*t));
	t->packets = ld(&s->packets);
	t->bytes = ld(&s->bytes);
	t->drops = ld(&s->kernel_drops);
	t->freezes = ld(&s->kernel_freezes);
	t->malformed = ld(&s->malformed);
	t->flows = ld(&s->flows_total);
	t->flows_active = ld(&s->flows);
	t->event_drops = ld(&s->event_drops);
	t->queue_drops = ld(&s->queue_drops);
	t->not_ip = ld(&s->not_ip);
	t->fragments = ld(&s->fragments);
	t->evicted = ld(&s->evicted);
	t->dpi_events = ld(&s->dpi_events);
	t->alloc_failures = ld(&s->alloc_failures);
	for (int i = 0; i < MAL_COUNT; i++)
		t->malformed_by[i] = ld(&s->malformed_by[i]);
	t->cyc_decode = ld(&s->cycles_decode);
	t->cyc_flow = ld(&s->cycles_flow);
	t->cyc_dissect = ld(&s->cycles_dissect);
	t->profiled = ld(&s->profiled);
}

static void add_totals(struct agg_totals *d, const struct agg_totals *s)
{
	const uint64_t *sp = (const uint64_t *)s;
	uint64_t *dp = (uint64_t *)d;

	for (size_t i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
		dp[i] += sp[i];
}

static void write_stats_obj(struct agg *a, const char *worker, const struct agg_totals *t,
	bool final, bool profile)
{
	FILE *o = a->out;

	fprintf(o,
		"{\"event\":\"stats\",\"worker\":%s,\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
		",\"kernel_drops\":%" PRIu64 ",\"kernel_freezes\":%" PRIu64
		",\"malformed\":%" PRIu64 ",\"flows\":%" PRIu64 ",\"event_drops\":%" PRIu64
		",\"flows_active\":%" PRIu64 ",\"flows_evicted\":%" PRIu64 ",\"queue_drops\":%" PRIu64
		",\"not_ip\":%" PRIu64 ",\"fragments\":%" PRIu64 ",\"dpi_events\":%" PRIu64,
		worker, t->packets, t->bytes, t->drops, t->freezes, t->malformed, t->flows,
		t->event_drops, t->flows_active, t->evicted, t->queue_drops, t->not_ip,
		t->fragments, t->dpi_events);
	fputs(",\"malformed_reasons\":{", o);
	bool first = true;
	for (int i = 0; i < MAL_COUNT; i++) {
		if (!t->malformed_by[i])
			continue;
		fprintf(o, "%s\"%s\":%" PRIu64, first ? "" : ",", eng_malformed_names[i],
			t->malformed_by[i]);
		first = false;
	}
	fputc('}', o);
	if (profile)
		fprintf(o,
			",\"profiled_packets\":%" PRIu64 ",\"cycles_decode\":%" PRIu64
			",\"cycles_flow\":%" PRIu64 ",\"cycles_dissect\":%" PRIu64,
			t->profiled, t->cyc_decode, t->cyc_flow, t->cyc_dissect);
	if (final)
		fputs(",\"final\":true", o);
	fputs("}\n", o);
}

static void write_stats(struct agg *a, bool final)
{
	struct eng_run *run = a->run;
	struct agg_totals all = {0}, t;
	char id[16];

	for (unsigned i = 0; i < run->n; i++) {
		read_worker(&run->w[i], &t);
		add_totals(&all, &t);
		snprintf(id, sizeof(id), "%u", i);
		write_stats_obj(a, id, &t, final, run->cfg->profile);
	}
	write_stats_obj(a, "\"all\"", &all, final, run->cfg->profile);
}

static void snap_free(struct rcu_head *h)
{
	free(caa_container_of(h, struct eng_snapshot, rcu));
}

/* Walks every worker's flow table as an RCU reader. */
static uint64_t count_active(struct eng_run *run)
{
	uint64_t n = 0;
	struct cds_lfht_iter it;
	struct cds_lfht_node *node;

	rcu_read_lock();
	for (unsigned i = 0; i < run->n; i++) {
		cds_lfht_for_each (run->w[i].flows.ht, &it, node)
			n++;
	}
	rcu_read_unlock();
	return n;
}

static void human_rate(double bps, char *buf, size_t len)
{
	if (bps >= 1e9)
		snprintf(buf, len, "%.2f Gbit/s", bps / 1e9);
	else if (bps >= 1e6)
		snprintf(buf, len, "%.2f Mbit/s", bps / 1e6);
	else
		snprintf(buf, len, "%.1f kbit/s", bps / 1e3);
}

static void snapshot(struct agg *a)
{
	struct eng_run *run = a->run;
	struct eng_snapshot *s = calloc(1, sizeof(*s));
	struct agg_totals t;

	if (!s)
		return;
	s->mono_ns = mono_ns();
	for (unsigned i = 0; i < run->n; i++) {
		read_worker(&run->w[i], &t);
		add_totals(&s->total, &t);
	}
	s->active_flows = count_active(run);
	if (a->prev_ns) {
		double dt = (double)(s->mono_ns - a->prev_ns) / 1e9;
		s->pps = (double)(s->total.packets - a->prev.packets) / dt;
		s->bps = (double)(s->total.bytes - a->prev.bytes) * 8 / dt;
	}
	a->prev = s->total;
	a->prev_ns = s->mono_ns;
	struct eng_snapshot *old = rcu_xchg_pointer(&a->snap, s);
	if (old)
		call_rcu(&old->rcu, snap_free);
	if (!a->json && a->tty && !run->cfg->quiet) {
		char r[32];
		human_rate(s->bps, r, sizeof(r));
		fprintf(a->out,
			"procsniff: %" PRIu64 " packets, %.0f pps, %s, %" PRIu64
			" flows active, %" PRIu64 " ended, drops %" PRIu64 "\n",
			s->total.packets, s->pps, r, s->active_flows, a->flows_done,
			s->total.drops + s->total.queue_drops);
		fflush(a->out);
	}
}

static void write_summary(struct agg *a)
{
	struct eng_run *run = a->run;
	struct agg_totals all = {0}, t;
	FILE *o = a->out;

	fprintf(o, "\nworker   packets        bytes          flows    malformed  kernel_drops\n");
	for (unsigned i = 0; i < run->n; i++) {
		read_worker(&run->w[i], &t);
		add_totals(&all, &t);
		fprintf(o, "%-8u %-14" PRIu64 " %-14" PRIu64 " %-8" PRIu64 " %-10" PRIu64 " %" PRIu64 "\n",
			i, t.packets, t.bytes, t.flows, t.malformed, t.drops);
	}
	fprintf(o, "%-8s %-14" PRIu64 " %-14" PRIu64 " %-8" PRIu64 " %-10" PRIu64 " %" PRIu64 "\n",
		"all", all.packets, all.bytes, all.flows, all.malformed, all.drops);
}

int eng_aggregate(struct eng_run *run, FILE *out)
{
	const struct eng_config *cfg = run->cfg;
	struct agg a = {.run = run, .out = out, .json = cfg->json};
	uint64_t start = mono_ns(), next_snap = start + NS;
	uint64_t stats_every = (uint64_t)(cfg->stats_interval * 1e9);
	uint64_t next_stats = start + stats_every;
	bool stopping = false;

	a.tty = isatty(fileno(out));
	for (;;) {
		bool all_done = true;
		for (unsigned i = 0; i < run->n; i++) {
			/* Pairs with the release store at the end of eng_worker_main. */
			if (!atomic_load_explicit(&run->w[i].done, memory_order_acquire))
				all_done = false;
		}
		unsigned got = 0;
		for (unsigned i = 0; i < run->n; i++)
			got += drain(&a, &run->w[i]);
		if (all_done) {
			for (unsigned i = 0; i < run->n; i++)
				drain(&a, &run->w[i]);
			break;
		}
		uint64_t now = mono_ns();
		if (!stopping) {
			bool stop = eng_stop_pending();
			if (cfg->duration > 0 && now - start >= (uint64_t)(cfg->duration * 1e9))
				stop = true;
			if (cfg->count && run->cfg->ring.backend == RING_BACKEND_TPACKET) {
				uint64_t seen = 0;
				for (unsigned i = 0; i < run->n; i++)
					seen += ld(&run->w[i].st.packets);
				if (seen >= cfg->count)
					stop = true;
			}
			if (stop) {
				stopping = true;
				ring_capture_stop(run->cap);
			}
		}
		if (now >= next_snap) {
			snapshot(&a);
			next_snap += NS;
			if (next_snap < now)
				next_snap = now + NS;
		}
		if (stats_every && now >= next_stats && a.json) {
			write_stats(&a, false);
			next_stats += stats_every;
		}
		if (a.json)
			fflush(out);
		if (!got) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
	if (a.json)
		write_stats(&a, true);
	else if (!cfg->quiet)
		write_summary(&a);
	fflush(out);
	struct eng_snapshot *last = rcu_xchg_pointer(&a.snap, NULL);
	if (last)
		call_rcu(&last->rcu, snap_free);
	return ferror(out) ? -EIO : 0;
}
