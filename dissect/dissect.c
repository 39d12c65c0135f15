/* dissect core: worker context, per-flow state, detection and dispatch, the
 * JSON event emitter and the flow summary.
 *
 * A flow gets a small struct dissect_flow on its first packet. Until a
 * dissector is chosen, each payload-bearing packet is offered to the probes
 * (those whose port hints match first, then the rest); a flow nobody claims
 * within a few payload packets each way is given up. Once chosen, the
 * dissector's private state and, for TCP, the two stream helpers are
 * allocated in one block; UDP datagrams go to parse() directly, TCP payload
 * through the stream helper of its direction. Inspection ends when the
 * dissector says so, when both streams gave up, or once the flow has carried
 * the packet budget's worth of parsed payload packets without producing a
 * record (every event resets the count, and packets the stream helper skips
 * whole, such as a body of known length, are not counted: a DNS or
 * keep-alive HTTP flow keeps being inspected while it yields transactions,
 * and a flow that stopped making sense goes to the fast path); the private block is freed then, the app name and summary
 * stay until dissect_flow_free().
 *
 * The emitter builds one event at a time in the worker's fixed buffer,
 * member by member: a member that does not fit is dropped whole, and room for
 * the closing brackets is always kept, so the output is valid JSON.
 */
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "dissect/internal.h"

/* The registry: dissector_<name> for each protocols.def line whose source
 * file exists (the build writes registry.def from protocols.def). */
#define DISSECTOR(n) extern const struct dissector dissector_##n;
#include "registry.def"
#undef DISSECTOR

static const struct dissector *const registry[] = {
#define DISSECTOR(n) &dissector_##n,
#include "registry.def"
#undef DISSECTOR
};

#define N_REGISTRY (sizeof(registry) / sizeof(registry[0]))

#define DEFAULT_PKT_BUDGET 32
#define DEFAULT_STREAM_MAX (64u * 1024)
#define PROBE_TRIES 3 /* payload packets per direction offered to the probes */
#define PROBE_TRIES_TOTAL 8

#define DJ_CAP 16384
#define DJ_DEPTH 4 /* nesting below the event object: list, object, list */

#define SUM_KEYS 4
#define SUM_VAL 127

struct dissect_worker {
	struct dissect_config cfg;
	dissect_emit_fn emit;
	void *emit_ctx;
	struct dissect_stats st;

	/* event under construction */
	const char *ev;
	uint64_t ev_ts;
	uint8_t ev_dir;
	uint8_t depth;     /* open lists/objects */
	uint8_t skip_from; /* nonzero: levels >= this were dropped for lack of room */
	bool ovf;          /* the member being written did not fit */
	bool comma[DJ_DEPTH + 1];
	char closer[DJ_DEPTH + 1];
	size_t len;
	char buf[DJ_CAP];
};

struct dsum {
	const char *key[SUM_KEYS];
	uint8_t len[SUM_KEYS];
	char val[SUM_KEYS][SUM_VAL];
};

struct dissect_flow {
	const struct dissector *d; /* chosen dissector, kept after inspection */
	void *priv;                /* [2 streams (TCP)] + dissector state */
	struct dstream *st;        /* inside priv, TCP only */
	void *state;               /* inside priv */
	struct dsum *sum;
	uint32_t next_seq[2]; /* TCP, before detection: where each direction is */
	uint32_t pkts;        /* payload packets seen */
	uint8_t tries[2];     /* payloads the probes turned down, per direction */
	uint8_t seq_known;    /* bit per direction: next_seq valid */
	uint8_t st_failed;    /* bit per direction: stream gave up */
	bool done;
};

/* ---- worker ------------------------------------------------------------- */

struct dissect_worker *dissect_worker_new(const struct dissect_config *cfg, dissect_emit_fn emit,
	void *emit_ctx)
{
	struct dissect_worker *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	if (cfg)
		w->cfg = *cfg;
	if (!w->cfg.pkt_budget)
		w->cfg.pkt_budget = DEFAULT_PKT_BUDGET;
	if (!w->cfg.stream_max)
		w->cfg.stream_max = DEFAULT_STREAM_MAX;
	w->emit = emit;
	w->emit_ctx = emit_ctx;
	return w;
}

void dissect_worker_free(struct dissect_worker *w)
{
	free(w);
}

void dissect_worker_stats(const struct dissect_worker *w, struct dissect_stats *out)
{
	*out = w->st;
}

void dissect_malformed(struct dissect_worker *w)
{
	w->st.malformed++;
}

/* ---- flow state ---------------------------------------------------------- */

static void flow_finish(struct dissect_flow *f)
{
	if (f->done)
		return;
	f->done = true;
	if (!f->priv)
		return;
	if (f->d && f->d->fini)
		f->d->fini(f->state);
	if (f->st) {
		dstream_fini(&f->st[0]);
		dstream_fini(&f->st[1]);
	}
	free(f->priv);
	f->priv = NULL;
	f->st = NULL;
	f->state = NULL;
}

void dissect_flow_free(struct dissect_flow *f)
{
	if (!f)
		return;
	flow_finish(f);
	free(f->sum);
	free(f);
}

const char *dissect_flow_app(const struct dissect_flow *f)
{
	return f && f->d ? f->d->name : NULL;
}

bool dissect_flow_is_tcp(const struct dissect_flow *f)
{
	return f->st != NULL;
}

static bool ports_hint(const struct dissector *d, const struct dissect_pkt *pkt)
{
	for (size_t i = 0; i < 4 && d->ports[i]; i++)
		if (d->ports[i] == pkt->sport || d->ports[i] == pkt->dport)
			return true;
	return false;
}

static const struct dissector *detect(const struct dissect_pkt *pkt)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < N_REGISTRY; i++) {
			const struct dissector *d = registry[i];

			if (d->transport && d->transport != pkt->l4proto)
				continue;
			if (ports_hint(d, pkt) != (pass == 0))
				continue;
			if (d->probe(pkt))
				return d;
		}
	}
	return NULL;
}

/* Allocates the private block for the chosen dissector. */
static int flow_choose(struct dissect_worker *w, struct dissect_flow *f,
	const struct dissector *d, uint8_t l4proto)
{
	size_t off = 0;

	if (l4proto == IPPROTO_TCP)
		off = (2 * sizeof(struct dstream) + 15) & ~(size_t)15;
	f->priv = calloc(1, off + d->state_size + 1);
	if (!f->priv)
		return -ENOMEM;
	f->d = d;
	f->state = (char *)f->priv + off;
	if (l4proto == IPPROTO_TCP) {
		f->st = f->priv;
		for (int i = 0; i < 2; i++) {
			dstream_init(&f->st[i], w->cfg.stream_max);
			if (f->seq_known & (1u << i))
				dstream_set_seq(&f->st[i], f->next_seq[i]);
		}
	}
	return 0;
}

struct deliver_ctx {
	struct dissect_worker *w;
	struct dissect_flow *f;
	enum dissect_dir dir;
	uint64_t ts;
	enum dissect_verdict verdict;
	bool parsed; /* the dissector saw bytes (not all skipped by the stream) */
};

static int deliver(void *ctx, const uint8_t *p, size_t len, size_t *used)
{
	struct deliver_ctx *c = ctx;
	enum dissect_verdict v;

	*used = 0;
	c->parsed = true;
	v = c->f->d->parse(c->w, c->f, c->f->state, c->dir, p, len, used, c->ts);
	if (v == DISSECT_MORE)
		return 0;
	c->verdict = v;
	return 1;
}

/* Returns whether the dissector was given bytes: packets the stream helper
 * skips whole (a body of known length) do not count against the budget. */
static bool feed(struct dissect_worker *w, struct dissect_flow *f, const struct dissect_pkt *pkt,
	enum dissect_dir dir, uint32_t seq)
{
	struct deliver_ctx c = {w, f, dir, pkt->ts_ns, DISSECT_MORE, false};

	if (!f->st) {
		size_t used = 0;

		c.parsed = true;
		c.verdict = f->d->parse(w, f, f->state, dir, pkt->data, pkt->len, &used, pkt->ts_ns);
	} else {
		int r;

		if (f->st_failed & (1u << dir))
			return false;
		r = dstream_segment(&f->st[dir], seq, pkt->data, pkt->len, deliver, &c);
		if (r < 0) {
			if (r == -ENOBUFS)
				w->st.stream_gaps++;
			f->st_failed |= 1u << dir;
			if (f->st_failed == 3)
				flow_finish(f);
			return c.parsed;
		}
	}
	if (c.verdict == DISSECT_NOT_MINE)
		w->st.malformed++;
	if (c.verdict != DISSECT_MORE)
		flow_finish(f);
	return c.parsed;
}

bool dissect_packet(struct dissect_worker *w, struct dissect_flow **fp,
	const struct dissect_pkt *pkt)
{
	struct dissect_flow *f = *fp;
	enum dissect_dir dir = pkt->dir ? DISSECT_S2C : DISSECT_C2S;
	bool tcp = pkt->l4proto == IPPROTO_TCP;
	uint32_t seq = pkt->tcp_seq;

	if (!f) {
		f = calloc(1, sizeof(*f));
		if (!f)
			return false;
		*fp = f;
		w->st.flows_inspected++;
	}
	if (f->done)
		return false;
	if (tcp && (pkt->tcp_flags & DISSECT_TCP_SYN)) {
		/* Data on a SYN (TCP Fast Open) starts after the SYN's number. */
		seq++;
		if (!(f->seq_known & (1u << dir))) {
			f->next_seq[dir] = seq;
			f->seq_known |= 1u << dir;
		}
		if (f->st)
			dstream_set_seq(&f->st[dir], seq);
	}
	if (!pkt->len || (!tcp && pkt->l4proto != IPPROTO_UDP))
		return true;
	if (!f->d) {
		const struct dissector *d = detect(pkt);

		if (!d || flow_choose(w, f, d, pkt->l4proto) < 0) {
			f->d = NULL;
			if (tcp) {
				f->next_seq[dir] = seq + pkt->len;
				f->seq_known |= 1u << dir;
			}
			f->tries[dir]++;
			if ((f->tries[0] >= PROBE_TRIES && f->tries[1] >= PROBE_TRIES) ||
				f->tries[0] + f->tries[1] >= PROBE_TRIES_TOTAL)
				flow_finish(f);
			return !f->done;
		}
	}
	uint64_t events = w->st.events;
	bool parsed = feed(w, f, pkt, dir, seq);
	/* A record is progress: the flow's budget starts again. */
	if (w->st.events != events)
		f->pkts = 0;
	else if (!f->done && parsed && ++f->pkts > w->cfg.pkt_budget)
		flow_finish(f);
	return !f->done;
}

/* ---- summary ------------------------------------------------------------- */

void dissect_summary_set(struct dissect_flow *f, const char *key, const void *s, size_t n)
{
	const uint8_t *v = s;
	int slot = -1;

	if (!f->sum) {
		f->sum = calloc(1, sizeof(*f->sum));
		if (!f->sum)
			return;
	}
	for (int i = 0; i < SUM_KEYS; i++) {
		if (f->sum->key[i] && !strcmp(f->sum->key[i], key)) {
			slot = i;
			break;
		}
		if (!f->sum->key[i] && slot < 0)
			slot = i;
	}
	if (slot < 0)
		return;
	if (n > SUM_VAL) {
		/* Cut before the character that straddles the limit. */
		n = SUM_VAL;
		while (n > 0 && (v[n] & 0xc0) == 0x80)
			n--;
	}
	f->sum->key[slot] = key;
	f->sum->len[slot] = (uint8_t)n;
	if (n)
		memcpy(f->sum->val[slot], v, n);
}

/* Bounded writer used by the summary and the emitter. */
struct jw {
	char *p;
	size_t len, cap;
	bool ovf;
};

static void jw_raw(struct jw *j, const char *s, size_t n)
{
	if (j->ovf || n > j->cap - j->len) {
		j->ovf = true;
		return;
	}
	memcpy(j->p + j->len, s, n);
	j->len += n;
}

static void jw_str(struct jw *j, const uint8_t *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	jw_raw(j, "\"", 1);
	for (size_t i = 0; i < n && !j->ovf; i++) {
		uint8_t c = s[i];
		char e[6];

		if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			jw_raw(j, e, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			e[0] = '\\';
			e[1] = 'u';
			e[2] = '0';
			e[3] = '0';
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			jw_raw(j, e, 6);
		} else {
			jw_raw(j, (const char *)&s[i], 1);
		}
	}
	jw_raw(j, "\"", 1);
}

static void jw_u64(struct jw *j, uint64_t v)
{
	char t[24];
	int i = sizeof(t);

	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	jw_raw(j, t + i, sizeof(t) - (size_t)i);
}

static void jw_key(struct jw *j, bool comma, const char *key)
{
	if (comma)
		jw_raw(j, ",", 1);
	if (key) {
		jw_str(j, (const uint8_t *)key, strlen(key));
		jw_raw(j, ":", 1);
	}
}

size_t dissect_flow_summary(const struct dissect_flow *f, char *buf, size_t len)
{
	struct jw j = {buf, 0, len ? len - 1 : 0, false};

	if (!len)
		return 0;
	for (int i = 0; f && f->sum && i < SUM_KEYS; i++) {
		size_t mark = j.len;

		if (!f->sum->key[i])
			continue;
		jw_key(&j, j.len > 0, f->sum->key[i]);
		jw_str(&j, (const uint8_t *)f->sum->val[i], f->sum->len[i]);
		if (j.ovf) {
			j.len = mark;
			break;
		}
	}
	buf[j.len] = '\0';
	return j.len;
}

/* ---- emitter ------------------------------------------------------------- */

/* Members are written with room left for closing every level. */
static struct jw dj_writer(struct dissect_worker *w)
{
	struct jw j = {w->buf, w->len, DJ_CAP - (DJ_DEPTH + 1), false};
	return j;
}

static bool dj_skipping(const struct dissect_worker *w)
{
	return w->skip_from && w->depth >= w->skip_from;
}

/* Commits a member written through j, or drops it whole. */
static bool dj_commit(struct dissect_worker *w, const struct jw *j)
{
	if (j->ovf)
		return false;
	w->len = j->len;
	w->comma[w->depth] = true;
	return true;
}

void dj_begin(struct dissect_worker *w, const char *event, enum dissect_dir dir, uint64_t ts_ns)
{
	w->ev = event;
	w->ev_dir = (uint8_t)dir;
	w->ev_ts = ts_ns;
	w->len = 0;
	w->depth = 0;
	w->skip_from = 0;
	w->comma[0] = false;
}

void dj_str(struct dissect_worker *w, const char *key, const void *s, size_t n)
{
	struct jw j = dj_writer(w);

	if (dj_skipping(w))
		return;
	jw_key(&j, w->comma[w->depth], key);
	jw_str(&j, s, n);
	dj_commit(w, &j);
}

void dj_cstr(struct dissect_worker *w, const char *key, const char *s)
{
	if (s)
		dj_str(w, key, s, strlen(s));
	else
		dj_null(w, key);
}

void dj_u64(struct dissect_worker *w, const char *key, uint64_t v)
{
	struct jw j = dj_writer(w);

	if (dj_skipping(w))
		return;
	jw_key(&j, w->comma[w->depth], key);
	jw_u64(&j, v);
	dj_commit(w, &j);
}

void dj_bool(struct dissect_worker *w, const char *key, bool v)
{
	struct jw j = dj_writer(w);

	if (dj_skipping(w))
		return;
	jw_key(&j, w->comma[w->depth], key);
	jw_raw(&j, v ? "true" : "false", v ? 4 : 5);
	dj_commit(w, &j);
}

void dj_null(struct dissect_worker *w, const char *key)
{
	struct jw j = dj_writer(w);

	if (dj_skipping(w))
		return;
	jw_key(&j, w->comma[w->depth], key);
	jw_raw(&j, "null", 4);
	dj_commit(w, &j);
}

void dj_hex(struct dissect_worker *w, const char *key, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	struct jw j = dj_writer(w);

	if (dj_skipping(w))
		return;
	jw_key(&j, w->comma[w->depth], key);
	jw_raw(&j, "\"", 1);
	for (size_t i = 0; i < n && !j.ovf; i++) {
		char e[2] = {hex[p[i] >> 4], hex[p[i] & 15]};

		jw_raw(&j, e, 2);
	}
	jw_raw(&j, "\"", 1);
	dj_commit(w, &j);
}

/* Opens a list or object level; key NULL inside a list. */
static void dj_open(struct dissect_worker *w, const char *key, char bracket)
{
	struct jw j = dj_writer(w);
	bool fits;

	if (dj_skipping(w)) {
		w->depth++;
		return;
	}
	jw_key(&j, w->comma[w->depth], key);
	jw_raw(&j, &bracket, 1);
	fits = w->depth < DJ_DEPTH && dj_commit(w, &j);
	w->depth++;
	if (!fits) {
		w->skip_from = w->depth;
	} else {
		w->comma[w->depth] = false;
		w->closer[w->depth] = bracket == '[' ? ']' : '}';
	}
}

/* Closes the innermost level with the bracket it was opened with. */
static void dj_close(struct dissect_worker *w)
{
	if (!w->depth)
		return;
	if (!dj_skipping(w))
		w->buf[w->len++] = w->closer[w->depth]; /* room kept by dj_writer */
	w->depth--;
	if (w->skip_from > w->depth)
		w->skip_from = 0;
}

void dj_list_begin(struct dissect_worker *w, const char *key)
{
	dj_open(w, key, '[');
}

void dj_list_str(struct dissect_worker *w, const void *s, size_t n)
{
	dj_str(w, NULL, s, n);
}

void dj_list_u64(struct dissect_worker *w, uint64_t v)
{
	dj_u64(w, NULL, v);
}

void dj_list_end(struct dissect_worker *w)
{
	dj_close(w);
}

void dj_obj_begin(struct dissect_worker *w)
{
	dj_open(w, NULL, '{');
}

void dj_obj_end(struct dissect_worker *w)
{
	dj_close(w);
}

void dj_end(struct dissect_worker *w)
{
	/* A level left open by mistake is closed, so the output stays valid. */
	while (w->depth)
		dj_close(w);
	if (w->emit && w->ev)
		w->emit(w->emit_ctx, w->ev, (enum dissect_dir)w->ev_dir, w->ev_ts, w->buf, w->len);
	w->st.events++;
	w->ev = NULL;
	w->len = 0;
}
