/* Unit tests for the SPSC byte queue: record framing, wrap-around padding,
 * full-queue refusal, and a producer and consumer on two threads passing
 * a long checked sequence of variable-length records. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ring/ring.h"

static void test_single_thread_wrap(void **state)
{
	struct ring_spsc q;
	(void)state;

	assert_int_equal(ring_spsc_init(&q, 4096), 0);
	/* Many rounds of odd-sized records force pad records at the end. */
	for (unsigned round = 0; round < 1000; round++) {
		uint32_t len = 1 + (round * 37) % 700;
		uint8_t *p = ring_spsc_reserve(&q, len);
		assert_non_null(p);
		memset(p, (int)(round & 0xff), len);
		ring_spsc_commit(&q);

		uint64_t pos = ring_spsc_pos(&q);
		uint32_t got;
		const uint8_t *r = ring_spsc_peek(&q, &pos, &got);
		assert_non_null(r);
		assert_int_equal(got, len);
		for (uint32_t i = 0; i < len; i++)
			assert_int_equal(r[i], round & 0xff);
		assert_null(ring_spsc_peek(&q, &pos, &got));
		ring_spsc_consume(&q, pos);
	}
	ring_spsc_fini(&q);
}

static void test_full_and_uncommitted(void **state)
{
	struct ring_spsc q;
	uint64_t pos;
	uint32_t len;
	unsigned n = 0;
	(void)state;

	assert_int_equal(ring_spsc_init(&q, 4096), 0);
	while (ring_spsc_reserve(&q, 100))
		n++;
	/* 100-byte records take 112 bytes with the header: 36 fit in 4096. */
	assert_int_equal(n, 4096 / 112);
	pos = ring_spsc_pos(&q);
	assert_null(ring_spsc_peek(&q, &pos, &len)); /* nothing committed yet */
	ring_spsc_commit(&q);
	for (unsigned i = 0; i < n; i++)
		assert_non_null(ring_spsc_peek(&q, &pos, &len));
	assert_null(ring_spsc_peek(&q, &pos, &len));
	assert_null(ring_spsc_reserve(&q, 100)); /* not consumed: still full */
	ring_spsc_consume(&q, pos);
	assert_non_null(ring_spsc_reserve(&q, 100));
	/* A record larger than half the queue is refused outright. */
	assert_null(ring_spsc_reserve(&q, 4000));
	ring_spsc_fini(&q);
}

#define RECORDS 2000000u

static void *producer(void *arg)
{
	struct ring_spsc *q = arg;

	for (uint32_t i = 0; i < RECORDS;) {
		uint32_t len = 4 + i % 61;
		uint8_t *p = ring_spsc_reserve(q, len);
		if (!p) {
			ring_spsc_commit(q);
			continue;
		}
		memcpy(p, &i, 4);
		for (uint32_t k = 4; k < len; k++)
			p[k] = (uint8_t)(i + k);
		if (++i % 16 == 0)
			ring_spsc_commit(q);
	}
	ring_spsc_commit(q);
	return NULL;
}

static void test_two_threads(void **state)
{
	struct ring_spsc q;
	pthread_t t;
	uint32_t expect = 0;
	(void)state;

	assert_int_equal(ring_spsc_init(&q, 1 << 16), 0);
	assert_int_equal(pthread_create(&t, NULL, producer, &q), 0);
	while (expect < RECORDS) {
		uint64_t pos = ring_spsc_pos(&q);
		uint32_t len;
		const uint8_t *p;
		while ((p = ring_spsc_peek(&q, &pos, &len))) {
			uint32_t v;
			memcpy(&v, p, 4);
			assert_int_equal(v, expect);
			assert_int_equal(len, 4 + expect % 61);
			for (uint32_t k = 4; k < len; k++)
				assert_int_equal(p[k], (uint8_t)(expect + k));
			expect++;
		}
		ring_spsc_consume(&q, pos);
	}
	pthread_join(t, NULL);
	ring_spsc_fini(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_thread_wrap),
		cmocka_unit_test(test_full_and_uncommitted),
		cmocka_unit_test(test_two_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
