/* engine/flow: symmetric flow keys and the per-worker flow table.
 *
 * The table is a liburcu lock-free hash table (cds_lfht) with one writer, the
 * owning worker, and any number of readers under rcu_read_lock. Beside the
 * hash table the worker keeps one least-recently-seen list per timeout class
 * (established TCP, closed TCP, UDP, other): touching a flow moves it to its
 * list's tail, so expiry and eviction look only at list heads, never scan.
 * Removed flows stay readable until a grace period passes; the worker hands
 * all flows removed in one batch to a single call_rcu.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

const char *const flow_end_names[END_COUNT] = {
	[END_FIN] = "fin",
	[END_RST] = "rst",
	[END_IDLE] = "idle",
	[END_EVICTED] = "evicted",
	[END_SHUTDOWN] = "shutdown",
};

bool flow_key_make(const struct eng_pkt *p, struct flow_key *key)
{
	int c = memcmp(p->src, p->dst, 16);
	bool swap = c > 0 || (c == 0 && p->sport > p->dport);

	if (swap) {
		memcpy(key->a, p->dst, 16);
		memcpy(key->b, p->src, 16);
		key->pa = p->dport;
		key->pb = p->sport;
	} else {
		memcpy(key->a, p->src, 16);
		memcpy(key->b, p->dst, 16);
		key->pa = p->sport;
		key->pb = p->dport;
	}
	key->vlan = p->vlan;
	key->proto = p->l4proto;
	key->ipver = p->ipver;
	return swap;
}

static inline uint64_t rotl64(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

static inline uint64_t fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	k ^= k >> 33;
	return k;
}

uint64_t flow_key_hash(const struct flow_key *key, uint64_t seed)
{
	uint64_t w[5], h = seed ^ 0x9e3779b97f4a7c15ull;

	memcpy(w, key, sizeof(w));
	for (int i = 0; i < 5; i++) {
		h ^= rotl64(w[i] * 0x87c37b91114253d5ull, 31) * 0x4cf5ad432745937full;
		h = rotl64(h, 27) * 5 + 0x52dce729;
	}
	return fmix64(h ^ sizeof(w));
}

int flow_table_init(struct flow_table *t, uint32_t max, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	t->max = max ? max : 1;
	t->seed = seed;
	t->ht = cds_lfht_new(1u << 16, 1024, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, NULL);
	return t->ht ? 0 : -ENOMEM;
}

static void flow_free_cb(struct rcu_head *head)
{
	struct flow *f = caa_container_of(head, struct flow, rcu);

	while (f) {
		struct flow *next = f->dead_next;
		free(f);
		f = next;
	}
}

void flow_table_fini(struct flow_table *t)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;

	if (!t->ht)
		return;
	rcu_read_lock();
	/* Walk nodes, not entries: liburcu's entry macro does pointer
	 * arithmetic on the NULL that ends the walk. */
	cds_lfht_for_each (t->ht, &it, n) {
		struct flow *f = caa_container_of(n, struct flow, node);
		cds_lfht_del(t->ht, n);
		f->dead_next = t->dead;
		t->dead = f;
	}
	rcu_read_unlock();
	/* The nodes are out of the table: it can go now; their memory is freed
	 * by the callbacks (callers wait with rcu_barrier when they must). */
	flow_table_reclaim(t);
	cds_lfht_destroy(t->ht, NULL);
	t->ht = NULL;
}

static int flow_match(struct cds_lfht_node *node, const void *key)
{
	const struct flow *f = caa_container_of(node, struct flow, node);

	return memcmp(&f->key, key, sizeof(f->key)) == 0;
}

struct flow *flow_table_lookup(struct flow_table *t, const struct flow_key *key, uint64_t hash)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;

	cds_lfht_lookup(t->ht, (unsigned long)hash, flow_match, key, &it);
	n = cds_lfht_iter_get_node(&it);
	return n ? caa_container_of(n, struct flow, node) : NULL;
}

static void lru_unlink(struct flow_table *t, struct flow *f)
{
	struct flow_lru *l = &t->lru[f->cls];

	if (f->lru_prev)
		f->lru_prev->lru_next = f->lru_next;
	else
		l->head = f->lru_next;
	if (f->lru_next)
		f->lru_next->lru_prev = f->lru_prev;
	else
		l->tail = f->lru_prev;
	f->lru_prev = f->lru_next = NULL;
}

static void lru_append(struct flow_table *t, struct flow *f)
{
	struct flow_lru *l = &t->lru[f->cls];

	f->lru_next = NULL;
	f->lru_prev = l->tail;
	if (l->tail)
		l->tail->lru_next = f;
	else
		l->head = f;
	l->tail = f;
}

struct flow *flow_table_add(struct flow_table *t, const struct flow_key *key, uint64_t hash,
	enum flow_class cls, uint64_t ts_ns)
{
	struct flow *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	cds_lfht_node_init(&f->node);
	f->key = *key;
	f->hash = hash;
	f->cls = (uint8_t)cls;
	f->first_ns = ts_ns;
	atomic_store_explicit(&f->last_ns, ts_ns, memory_order_relaxed);
	lru_append(t, f);
	t->count++;
	/* The node is published here; readers see a fully built flow. */
	cds_lfht_add(t->ht, (unsigned long)hash, &f->node);
	return f;
}

void flow_table_touch(struct flow_table *t, struct flow *f, enum flow_class cls)
{
	if (f->cls == cls && t->lru[cls].tail == f)
		return;
	lru_unlink(t, f);
	f->cls = (uint8_t)cls;
	lru_append(t, f);
}

struct flow *flow_table_oldest(struct flow_table *t)
{
	struct flow *best = NULL;

	for (int c = 0; c < FC_COUNT; c++) {
		struct flow *h = t->lru[c].head;
		if (h && (!best || atomic_load_explicit(&h->last_ns, memory_order_relaxed) <
				   atomic_load_explicit(&best->last_ns, memory_order_relaxed)))
			best = h;
	}
	return best;
}

struct flow *flow_table_expired(struct flow_table *t, uint64_t now_ns)
{
	for (int c = 0; c < FC_COUNT; c++) {
		struct flow *h = t->lru[c].head;
		if (h && atomic_load_explicit(&h->last_ns, memory_order_relaxed) + t->timeout_ns[c] <
				now_ns)
			return h;
	}
	return NULL;
}

void flow_table_remove(struct flow_table *t, struct flow *f)
{
	lru_unlink(t, f);
	cds_lfht_del(t->ht, &f->node);
	t->count--;
	f->dead_next = t->dead;
	t->dead = f;
}

void flow_table_reclaim(struct flow_table *t)
{
	if (!t->dead)
		return;
	call_rcu(&t->dead->rcu, flow_free_cb);
	t->dead = NULL;
}
