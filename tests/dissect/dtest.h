/* Helpers for the dissector tests: a worker whose emit callback records the
 * events, and packet builders for hand-made TCP and UDP flows.
 * Header-only (static functions), included by each test_*.c.
 */
#ifndef PROCSNIFF_TESTS_DTEST_H
#define PROCSNIFF_TESTS_DTEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "dissect/dissect.h"

#define DT_MAX_EVENTS 64

struct dt_event {
	char name[32];
	int dir;
	char *fields; /* JSON members, NUL-terminated */
};

struct dt {
	struct dissect_worker *w;
	struct dissect_flow *f;
	struct dt_event ev[DT_MAX_EVENTS];
	int n;
	uint32_t seq[2]; /* next sequence number per direction */
	bool live;
};

static void dt_emit(void *ctx, const char *event, enum dissect_dir dir, uint64_t ts_ns,
	const char *fields, size_t len)
{
	struct dt *t = ctx;
	struct dt_event *e;

	(void)ts_ns;
	if (t->n >= DT_MAX_EVENTS)
		return;
	e = &t->ev[t->n++];
	snprintf(e->name, sizeof(e->name), "%s", event);
	e->dir = dir;
	e->fields = malloc(len + 1);
	assert_non_null(e->fields);
	memcpy(e->fields, fields, len);
	e->fields[len] = '\0';
}

static inline void dt_init(struct dt *t, unsigned budget)
{
	struct dissect_config cfg = {.pkt_budget = budget};

	memset(t, 0, sizeof(*t));
	t->w = dissect_worker_new(&cfg, dt_emit, t);
	assert_non_null(t->w);
	t->seq[0] = 1000;
	t->seq[1] = 500000;
	t->live = true;
}

static inline void dt_clear_events(struct dt *t)
{
	for (int i = 0; i < t->n; i++)
		free(t->ev[i].fields);
	t->n = 0;
}

static inline void dt_fini(struct dt *t)
{
	dt_clear_events(t);
	dissect_flow_free(t->f);
	dissect_worker_free(t->w);
}

static inline bool dt_packet(struct dt *t, uint8_t l4, int dir, uint8_t flags, uint32_t seq,
	const void *data, size_t len, uint16_t cport, uint16_t sport)
{
	struct dissect_pkt p = {
		.data = data,
		.len = (uint32_t)len,
		.l4proto = l4,
		.dir = (uint8_t)dir,
		.tcp_flags = flags,
		.sport = dir ? sport : cport,
		.dport = dir ? cport : sport,
		.tcp_seq = seq,
		.ts_ns = 1700000000000000000ull,
	};

	t->live = dissect_packet(t->w, &t->f, &p);
	return t->live;
}

/* TCP handshake on ports 40000 -> sport. */
static inline void dt_tcp_open(struct dt *t, uint16_t sport)
{
	dt_packet(t, IPPROTO_TCP, 0, DISSECT_TCP_SYN, t->seq[0]++, NULL, 0, 40000, sport);
	dt_packet(t, IPPROTO_TCP, 1, DISSECT_TCP_SYN | DISSECT_TCP_ACK, t->seq[1]++, NULL, 0,
		40000, sport);
}

/* Next in-order TCP segment of dir carrying the string s. */
static inline bool dt_tcp(struct dt *t, int dir, uint16_t sport, const void *s, size_t n)
{
	bool r = dt_packet(t, IPPROTO_TCP, dir, DISSECT_TCP_ACK, t->seq[dir], s, n, 40000, sport);

	t->seq[dir] += (uint32_t)n;
	return r;
}

static inline bool dt_tcps(struct dt *t, int dir, uint16_t sport, const char *s)
{
	return dt_tcp(t, dir, sport, s, strlen(s));
}

static inline bool dt_udp(struct dt *t, int dir, uint16_t cport, uint16_t sport, const void *d,
	size_t n)
{
	return dt_packet(t, IPPROTO_UDP, dir, 0, 0, d, n, cport, sport);
}

/* Asserts event i is name with exactly these fields. */
static inline void dt_expect(const struct dt *t, int i, const char *name, const char *fields)
{
	assert_true(i < t->n);
	assert_string_equal(t->ev[i].name, name);
	assert_string_equal(t->ev[i].fields, fields);
}

static inline struct dissect_stats dt_stats(const struct dt *t)
{
	struct dissect_stats st;

	dissect_worker_stats(t->w, &st);
	return st;
}

static inline const char *dt_corpus(void)
{
	const char *c = getenv("PROCSNIFF_CORPUS");

	return c && *c ? c : NULL;
}

#endif
