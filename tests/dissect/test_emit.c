/* Tests of the event emitter and the flow summary (dissect/dissect.c):
 * JSON escaping (RFC 8259 section 7), member-wise truncation of an event
 * that outgrows the worker's buffer, lists of objects, and summary values
 * cut at a UTF-8 character boundary.
 */
#include "tests/dissect/dtest.h"
#include "dissect/internal.h"

static void test_escaping(void **state)
{
	struct dt t;
	static const uint8_t raw[] = {'a', '"', '\\', '\n', 0x01, 0x7f, 0xe9, 'z'};

	(void)state;
	dt_init(&t, 0);
	dj_begin(t.w, "x", DISSECT_C2S, 1);
	dj_str(t.w, "s", raw, sizeof(raw));
	dj_cstr(t.w, "n", NULL);
	dj_bool(t.w, "b", false);
	dj_u64(t.w, "u", 18446744073709551615ull);
	dj_hex(t.w, "h", (const uint8_t *)"\x00\xff", 2);
	dj_list_begin(t.w, "l");
	dj_list_u64(t.w, 0);
	dj_obj_begin(t.w);
	dj_cstr(t.w, "k", "v");
	dj_obj_end(t.w);
	dj_list_end(t.w);
	dj_end(t.w);
	dt_expect(&t, 0, "x",
		"\"s\":\"a\\\"\\\\\\u000a\\u0001\\u007f\\u00e9z\",\"n\":null,\"b\":false,"
		"\"u\":18446744073709551615,\"h\":\"00ff\",\"l\":[0,{\"k\":\"v\"}]");
	assert_int_equal(dt_stats(&t).events, 1);
	dt_fini(&t);
}

static void test_truncation(void **state)
{
	struct dt t;
	static char big[6000];
	const char *f;
	size_t n;

	(void)state;
	memset(big, 'q', sizeof(big));
	dt_init(&t, 0);
	dj_begin(t.w, "big", DISSECT_S2C, 1);
	dj_cstr(t.w, "first", "kept");
	dj_list_begin(t.w, "items");
	for (int i = 0; i < 5; i++)
		dj_list_str(t.w, big, sizeof(big)); /* two fit in 16 KiB */
	dj_list_end(t.w);
	dj_str(t.w, "late", big, sizeof(big)); /* does not fit any more */
	dj_cstr(t.w, "tail", "small");         /* fits */
	dj_end(t.w);
	assert_int_equal(t.n, 1);
	f = t.ev[0].fields;
	n = strlen(f);
	assert_true(n < 16384);
	assert_memory_equal(f, "\"first\":\"kept\",\"items\":[\"", 25);
	assert_null(strstr(f, "\"late\""));
	assert_string_equal(f + n - strlen("],\"tail\":\"small\""), "],\"tail\":\"small\"");
	/* Exactly two whole items, never a partial one. */
	assert_int_equal(n, strlen("\"first\":\"kept\",\"items\":[") + 2 * (sizeof(big) + 2) + 1 +
		strlen("],\"tail\":\"small\""));
	dt_fini(&t);
}

static void test_summary(void **state)
{
	struct dt t;
	char s[400], small[20];
	char val[200];

	(void)state;
	dt_init(&t, 0);
	/* A flow needs to exist: one UDP packet nobody claims. */
	dt_udp(&t, 0, 1, 2, "?", 1);
	assert_non_null(t.f);
	assert_int_equal(dissect_flow_summary(t.f, s, sizeof(s)), 0);
	assert_string_equal(s, "");
	/* 126 ASCII bytes then a 2-byte character straddling byte 127. */
	memset(val, 'a', 126);
	val[126] = (char)0xc3;
	val[127] = (char)0xa9;
	val[128] = 'b';
	dissect_summary_set(t.f, "host", val, 129);
	dissect_summary_set(t.f, "sni", "x\"y", 3);
	dissect_summary_set(t.f, "sni", "z", 1); /* replaces */
	dissect_flow_summary(t.f, s, sizeof(s));
	assert_int_equal(strlen(s), strlen("\"host\":\"\"") + 126 + strlen(",\"sni\":\"z\""));
	assert_non_null(strstr(s, "aaaa\",\"sni\":\"z\""));
	/* Too small for the first member: nothing, never half of it. */
	assert_int_equal(dissect_flow_summary(t.f, small, sizeof(small)), 0);
	assert_string_equal(small, "");
	dt_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_summary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
