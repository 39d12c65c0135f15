/* Tests of the TCP stream helper (dissect/stream.c): segments in order,
 * reordered, duplicated, overlapping, with a gap that never fills, across
 * sequence wrap-around, partial consumption and skipping ahead; and through
 * dissect_packet, a stream gap counted in the worker's stats.
 */
#include "tests/dissect/dtest.h"
#include "dissect/internal.h"

/* Consumer: copies what it consumes into out. rec > 0 consumes whole records
 * of rec bytes only; skip adds bytes to jump over after the data. */
struct sink {
	char out[4096];
	size_t n;
	size_t rec;
	size_t skip;
	int calls;
	bool stop_after;
};

static int sink_fn(void *ctx, const uint8_t *p, size_t len, size_t *used)
{
	struct sink *s = ctx;
	size_t take = s->rec ? len / s->rec * s->rec : len;

	s->calls++;
	assert_true(s->n + take <= sizeof(s->out));
	memcpy(s->out + s->n, p, take);
	s->n += take;
	*used = take + s->skip;
	s->skip = 0;
	return s->stop_after ? 1 : 0;
}

static int seg(struct dstream *st, uint32_t seq, const char *d, struct sink *s)
{
	return dstream_segment(st, seq, (const uint8_t *)d, strlen(d), sink_fn, s);
}

static void expect_out(const struct sink *s, const char *want)
{
	assert_int_equal(s->n, strlen(want));
	assert_memory_equal(s->out, want, s->n);
}

static void test_in_order(void **state)
{
	struct dstream st;
	struct sink s = {0};

	(void)state;
	dstream_init(&st, 65536);
	dstream_set_seq(&st, 100);
	assert_int_equal(seg(&st, 100, "hello ", &s), 0);
	assert_int_equal(seg(&st, 106, "world", &s), 0);
	expect_out(&s, "hello world");
	/* Nothing had to wait: no buffer was ever allocated. */
	assert_null(st.buf);
	dstream_fini(&st);
}

static void test_partial_records(void **state)
{
	struct dstream st;
	struct sink s = {.rec = 4};

	(void)state;
	dstream_init(&st, 65536);
	dstream_set_seq(&st, 1);
	seg(&st, 1, "abcdef", &s); /* "ef" waits */
	expect_out(&s, "abcd");
	assert_int_equal(st.in_len, 2);
	seg(&st, 7, "gh", &s);
	expect_out(&s, "abcdefgh");
	assert_int_equal(st.in_len, 0);
	seg(&st, 9, "i", &s);
	seg(&st, 10, "jkl", &s);
	expect_out(&s, "abcdefghijkl");
	dstream_fini(&st);
}

static void test_reordered(void **state)
{
	struct dstream st;
	struct sink s = {0};

	(void)state;
	dstream_init(&st, 65536);
	dstream_set_seq(&st, 1000);
	seg(&st, 1006, "world", &s);
	seg(&st, 1011, "!", &s);
	assert_int_equal(s.n, 0);
	seg(&st, 1000, "hello ", &s);
	expect_out(&s, "hello world!");
	assert_int_equal(st.n_ooo, 0);
	dstream_fini(&st);
}

static void test_reordered_three_holes(void **state)
{
	struct dstream st;
	struct sink s = {0};

	(void)state;
	dstream_init(&st, 65536);
	dstream_set_seq(&st, 0);
	seg(&st, 8, "89", &s);
	seg(&st, 4, "45", &s);
	seg(&st, 2, "23", &s);
	seg(&st, 6, "67", &s);
	assert_int_equal(s.n, 0);
	seg(&st, 0, "01", &s);
	expect_out(&s, "0123456789");
	dstream_fini(&st);
}

static void test_duplicate(void **state)
{
	struct dstream st;
	struct sink s = {0};

	(void)state;
	dstream_init(&st, 65536);
	dstream_set_seq(&st, 50);
	seg(&st, 50, "abc", &s);
	seg(&st, 50, "abc", &s);
	seg(&st, 53, "def", &s);
	seg(&st, 53, "def", &s);
	/* A duplicate of an out-of-order segment too. */
	seg(&st, 59, "jk", &s);
	seg(&st, 59, "jk", &s);
	seg(&st, 56, "ghi", &s);
	expect_out(&s, "abcdefghijk");
	dstream_fini(&st);
}

static void test_overlap(void **state)
{
	struct dstream st;
	struct sink s = {0};

	(void)state;
	dstream_init(&st, 65536);
	dstream_set_seq(&st, 10);
	seg(&st, 10, "abcdef", &s);
	seg(&st, 13, "defghi", &s); /* starts inside what was taken */
	expect_out(&s, "abcdefghi");
	/* Overlapping out-of-order pieces, then the piece before them. */
	seg(&st, 22, "mnop", &s);
	seg(&st, 21, "lmn", &s);
	seg(&st, 19, "jk", &s);
	expect_out(&s, "abcdefghijklmnop");
	dstream_fini(&st);
}

static void test_overlap_pending(void **state)
{
	struct dstream st;
	struct sink s = {.rec = 8};

	(void)state;
	dstream_init(&st, 65536);
	dstream_set_seq(&st, 0);
	seg(&st, 0, "abcde", &s); /* waits: record incomplete */
	seg(&st, 3, "defgh", &s); /* overlaps the waiting bytes */
	expect_out(&s, "abcdefgh");
	dstream_fini(&st);
}

static void test_gap_gives_up(void **state)
{
	struct dstream st;
	struct sink s = {0};
	char big[1000];
	uint32_t seq = 1;
	int r = 0;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	dstream_init(&st, 8192);
	dstream_set_seq(&st, 1);
	seg(&st, seq, "ab", &s);
	seq += 2 + 100; /* 100 bytes never arrive */
	for (int i = 0; i < 20 && r == 0; i++) {
		r = seg(&st, seq, big, &s);
		seq += (uint32_t)strlen(big);
	}
	assert_int_equal(r, -ENOBUFS);
	assert_true(st.failed);
	assert_null(st.buf); /* freed when giving up */
	expect_out(&s, "ab");
	/* Later segments, even in order, are ignored. */
	assert_int_equal(seg(&st, 3, "cd", &s), -ENOBUFS);
	expect_out(&s, "ab");
	dstream_fini(&st);
}

static void test_segment_beyond_window(void **state)
{
	struct dstream st;
	struct sink s = {0};

	(void)state;
	dstream_init(&st, 4096);
	dstream_set_seq(&st, 1);
	assert_int_equal(seg(&st, 1 + 5000, "late", &s), -ENOBUFS);
	dstream_fini(&st);
}

static void test_wraparound(void **state)
{
	struct dstream st;
	struct sink s = {0};

	(void)state;
	dstream_init(&st, 65536);
	dstream_set_seq(&st, 0xfffffffcu);
	seg(&st, 0xfffffffcu, "ab", &s);
	/* Out of order across the wrap: "ef" at 0, then "cd" at 0xfffffffe. */
	seg(&st, 0x00000000u, "ef", &s);
	seg(&st, 0xfffffffeu, "cd", &s);
	seg(&st, 0x00000002u, "gh", &s);
	/* An old retransmission from before the wrap is trimmed away. */
	seg(&st, 0xfffffffcu, "abcdef", &s);
	expect_out(&s, "abcdefgh");
	assert_int_equal(st.seq, 4u);
	dstream_fini(&st);
}

static void test_skip_ahead(void **state)
{
	struct dstream st;
	struct sink s = {0};

	(void)state;
	dstream_init(&st, 65536);
	dstream_set_seq(&st, 0);
	s.skip = 10; /* e.g. a body of known length */
	seg(&st, 0, "head", &s);
	seg(&st, 4, "01234", &s);  /* skipped */
	seg(&st, 9, "56789X", &s); /* "X" is new data */
	expect_out(&s, "headX");
	dstream_fini(&st);
}

static void test_first_segment_starts(void **state)
{
	struct dstream st;
	struct sink s = {0};

	(void)state;
	/* No SYN seen: the first segment defines the start. */
	dstream_init(&st, 65536);
	seg(&st, 777, "mid", &s);
	seg(&st, 780, "stream", &s);
	expect_out(&s, "midstream");
	dstream_fini(&st);
}

static void test_stop(void **state)
{
	struct dstream st;
	struct sink s = {.stop_after = true};

	(void)state;
	dstream_init(&st, 65536);
	dstream_set_seq(&st, 0);
	assert_int_equal(seg(&st, 0, "x", &s), 1);
	dstream_fini(&st);
}

/* Through dissect_packet: an HTTP flow whose request lost a segment. */
static void test_gap_counted(void **state)
{
	struct dt t;
	char seg1[1200];

	(void)state;
	dt_init(&t, 1000);
	dt_tcp_open(&t, 80);
	memset(seg1, 'a', sizeof(seg1));
	memcpy(seg1, "GET /", 5);
	dt_tcp(&t, 0, 80, seg1, sizeof(seg1)); /* header block not finished */
	t.seq[0] += 1200;                      /* lost segment */
	for (int i = 0; i < 100 && t.live; i++)
		dt_tcp(&t, 0, 80, seg1, sizeof(seg1));
	assert_int_equal(dt_stats(&t).stream_gaps, 1);
	assert_int_equal(t.n, 0);
	dt_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_partial_records),
		cmocka_unit_test(test_reordered),
		cmocka_unit_test(test_reordered_three_holes),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_overlap_pending),
		cmocka_unit_test(test_gap_gives_up),
		cmocka_unit_test(test_segment_beyond_window),
		cmocka_unit_test(test_wraparound),
		cmocka_unit_test(test_skip_ahead),
		cmocka_unit_test(test_first_segment_starts),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_gap_counted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
