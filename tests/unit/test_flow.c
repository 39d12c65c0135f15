/* Unit tests for flow keys and the per-worker RCU flow table: symmetry of
 * keys and hashes, insert/lookup, class timeouts and least-recently-seen
 * order, eviction choice, and reclamation while reader threads traverse the
 * table under rcu_read_lock (a premature free shows up under ASan). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "engine/internal.h"

static struct eng_pkt mkpkt(uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp, uint8_t proto)
{
	struct eng_pkt p;
	memset(&p, 0, sizeof(p));
	p.ipver = 4;
	p.l4proto = proto;
	memcpy(p.src, &src, 4);
	memcpy(p.dst, &dst, 4);
	p.sport = sp;
	p.dport = dp;
	return p;
}

static void test_key_symmetry(void **state)
{
	(void)state;
	for (uint32_t i = 0; i < 10000; i++) {
		uint32_t a = 0xc6120000u + i * 7919u, b = 0xc6130000u + i * 104729u;
		uint16_t pa = (uint16_t)(i * 31), pb = (uint16_t)(i * 17 + 1);
		struct eng_pkt fwd = mkpkt(a, pa, b, pb, 6), rev = mkpkt(b, pb, a, pa, 6);
		struct flow_key k1, k2;
		bool s1 = flow_key_make(&fwd, &k1), s2 = flow_key_make(&rev, &k2);
		assert_memory_equal(&k1, &k2, sizeof(k1));
		assert_true(s1 != s2);
		assert_int_equal(flow_key_hash(&k1, 42), flow_key_hash(&k2, 42));
	}
	/* Same addresses, ports swapped relative to them: a different flow. */
	struct eng_pkt x = mkpkt(1, 10, 2, 20, 17), y = mkpkt(1, 20, 2, 10, 17);
	struct flow_key kx, ky;
	flow_key_make(&x, &kx);
	flow_key_make(&y, &ky);
	assert_memory_not_equal(&kx, &ky, sizeof(kx));
	/* The seed changes the hash. */
	assert_int_not_equal(flow_key_hash(&kx, 1), flow_key_hash(&kx, 2));
	/* Protocol and VLAN are part of the key. */
	struct eng_pkt z = x;
	z.vlan = 5;
	struct flow_key kz;
	flow_key_make(&z, &kz);
	assert_memory_not_equal(&kx, &kz, sizeof(kx));
}

static struct flow_key key_n(uint32_t n)
{
	struct eng_pkt p = mkpkt(0x0a000000u + n, (uint16_t)n, 0x0b000000u, 80, 6);
	struct flow_key k;
	flow_key_make(&p, &k);
	return k;
}

static void test_insert_lookup_expire(void **state)
{
	struct flow_table t;
	(void)state;

	rcu_register_thread();
	assert_int_equal(flow_table_init(&t, 1000, 7), 0);
	t.timeout_ns[FC_TCP] = 100;
	t.timeout_ns[FC_UDP] = 10;
	t.timeout_ns[FC_TCP_CLOSED] = 5;
	t.timeout_ns[FC_OTHER] = 50;
	rcu_read_lock();
	for (uint32_t i = 0; i < 500; i++) {
		struct flow_key k = key_n(i);
		assert_null(flow_table_lookup(&t, &k, flow_key_hash(&k, 7)));
		assert_non_null(flow_table_add(&t, &k, flow_key_hash(&k, 7), FC_TCP, 1000 + i));
	}
	assert_int_equal(t.count, 500);
	for (uint32_t i = 0; i < 500; i++) {
		struct flow_key k = key_n(i);
		struct flow *f = flow_table_lookup(&t, &k, flow_key_hash(&k, 7));
		assert_non_null(f);
		assert_memory_equal(&f->key, &k, sizeof(k));
	}
	/* Flow 0 seen again at 1600: it moves to the tail. */
	struct flow_key k0 = key_n(0);
	struct flow *f0 = flow_table_lookup(&t, &k0, flow_key_hash(&k0, 7));
	atomic_store(&f0->last_ns, 1600);
	flow_table_touch(&t, f0, FC_TCP);
	/* At 1200, flows last seen before 1100 are expired, oldest first. */
	struct flow *e = flow_table_expired(&t, 1200);
	assert_non_null(e);
	struct flow_key k1 = key_n(1);
	assert_memory_equal(&e->key, &k1, sizeof(k1));
	uint32_t n = 0;
	while ((e = flow_table_expired(&t, 1200))) {
		flow_table_remove(&t, e);
		n++;
	}
	assert_int_equal(n, 99); /* flows 1..99 last seen 1001..1099 */
	assert_non_null(flow_table_lookup(&t, &k0, flow_key_hash(&k0, 7)));
	assert_null(flow_table_lookup(&t, &k1, flow_key_hash(&k1, 7)));
	/* A flow moved to the closed class expires on its shorter timeout while
	 * established flows seen as long ago do not. */
	t.timeout_ns[FC_TCP] = 1000;
	struct flow_key k2 = key_n(200);
	struct flow *f2 = flow_table_lookup(&t, &k2, flow_key_hash(&k2, 7));
	flow_table_touch(&t, f2, FC_TCP_CLOSED);
	e = flow_table_expired(&t, 1206);
	assert_ptr_equal(e, f2);
	/* The eviction candidate is the least recently seen of all classes:
	 * flow 100 (last seen 1100), not the closed flow 200 (1200). */
	struct flow_key k100 = key_n(100);
	assert_memory_equal(&flow_table_oldest(&t)->key, &k100, sizeof(k100));
	rcu_read_unlock();
	flow_table_reclaim(&t);
	flow_table_fini(&t);
	rcu_barrier();
	rcu_unregister_thread();
}

struct reader_arg {
	struct flow_table *t;
	_Atomic bool stop;
	uint64_t seen;
};

static void *reader(void *arg)
{
	struct reader_arg *ra = arg;
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;

	rcu_register_thread();
	while (!atomic_load(&ra->stop)) {
		rcu_read_lock();
		cds_lfht_for_each (ra->t->ht, &it, n) {
			struct flow *f = caa_container_of(n, struct flow, node);
			/* Each flow's counter mirrors its key: a freed and reused
			 * flow would not match. */
			uint32_t a;
			memcpy(&a, f->key.a, 4);
			uint64_t pk = atomic_load_explicit(&f->pkts[0], memory_order_relaxed);
			if (pk != 0 && pk != a)
				fail_msg("flow read after reuse: %llu vs %u", (unsigned long long)pk, a);
			ra->seen++;
		}
		rcu_read_unlock();
	}
	rcu_unregister_thread();
	return NULL;
}

static void test_concurrent_readers(void **state)
{
	struct flow_table t;
	struct reader_arg ra = {.t = &t};
	pthread_t th[2];
	(void)state;

	rcu_register_thread();
	assert_int_equal(flow_table_init(&t, 1u << 20, 3), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader, &ra), 0);
	for (uint32_t round = 0; round < 200; round++) {
		rcu_read_lock();
		for (uint32_t i = 0; i < 500; i++) {
			struct flow_key k = key_n(round * 500 + i);
			struct flow *f = flow_table_add(&t, &k, flow_key_hash(&k, 3), FC_UDP, round);
			assert_non_null(f);
			uint32_t a;
			memcpy(&a, k.a, 4);
			atomic_store_explicit(&f->pkts[0], a, memory_order_relaxed);
		}
		/* Remove the previous round's flows while readers walk. */
		struct flow *e;
		while ((e = flow_table_oldest(&t)) && atomic_load(&e->last_ns) < round) {
			atomic_store_explicit(&e->pkts[0], 0, memory_order_relaxed);
			flow_table_remove(&t, e);
		}
		rcu_read_unlock();
		flow_table_reclaim(&t);
	}
	atomic_store(&ra.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(t.count, 500);
	assert_true(ra.seen > 0);
	flow_table_fini(&t);
	rcu_barrier();
	rcu_unregister_thread();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_symmetry),
		cmocka_unit_test(test_insert_lookup_expire),
		cmocka_unit_test(test_concurrent_readers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
