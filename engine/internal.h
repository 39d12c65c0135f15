/* engine internals: flow table, worker and aggregator state, event records.
 * Shared by the files of engine/ and its white-box tests only.
 */
#ifndef PROCSNIFF_ENGINE_INTERNAL_H
#define PROCSNIFF_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <urcu.h>
#include <urcu/rculfhash.h>

#include "dissect/dissect.h"
#include "engine/engine.h"

/* ---- flows ------------------------------------------------------------------ */
enum flow_class { FC_TCP = 0, FC_TCP_CLOSED, FC_UDP, FC_OTHER, FC_COUNT };

enum flow_end { END_FIN = 0, END_RST, END_IDLE, END_EVICTED, END_SHUTDOWN, END_COUNT };
extern const char *const flow_end_names[END_COUNT];

#define FLOW_C2S 0
#define FLOW_S2C 1

/* TCP flags seen, per direction (flow.tcp_seen[dir]). */
#define TCP_SEEN_SYN 0x01
#define TCP_SEEN_FIN 0x02
#define TCP_SEEN_RST 0x04

struct flow {
	struct cds_lfht_node node;
	struct flow_key key;
	uint64_t hash;
	struct flow *lru_prev;
	struct flow *lru_next;
	struct flow *dead_next; /* retired, waiting for a grace period */
	struct rcu_head rcu;
	uint64_t first_ns;
	/* Written by the owning worker with relaxed stores; read by RCU readers. */
	_Atomic uint64_t last_ns;
	_Atomic uint64_t pkts[2]; /* [FLOW_C2S], [FLOW_S2C] */
	_Atomic uint64_t bytes[2];
	uint8_t init_b; /* the initiator is key endpoint b */
	uint8_t cls;    /* enum flow_class */
	uint8_t tcp_seen[2];
	bool dpi_active;
	struct dissect_flow *dpi;
};

struct flow_lru {
	struct flow *head; /* least recently seen */
	struct flow *tail;
};

struct flow_table {
	struct cds_lfht *ht;
	struct flow_lru lru[FC_COUNT];
	uint64_t timeout_ns[FC_COUNT];
	uint64_t seed;
	uint32_t count;
	uint32_t max;
	struct flow *dead; /* retired since the last reclaim */
};

/* Embedded init/fini. max: flows before eviction. Returns 0 or -ENOMEM.
 * Context: any thread registered with RCU; the table then belongs to one
 * writer. */
int flow_table_init(struct flow_table *t, uint32_t max, uint64_t seed);
/* Frees every flow still in the table (no readers may remain); the memory
 * goes back through call_rcu, so call rcu_barrier before checking for leaks.
 * Context: the owning worker, after readers are gone. */
void flow_table_fini(struct flow_table *t);

/* Context: owning worker, RCU read side. */
struct flow *flow_table_lookup(struct flow_table *t, const struct flow_key *key, uint64_t hash);

/* Allocates and inserts a flow for key (counters zero). NULL on ENOMEM.
 * The caller must have made room (flow_table_full). Context: owning worker,
 * RCU read side. */
struct flow *flow_table_add(struct flow_table *t, const struct flow_key *key, uint64_t hash,
	enum flow_class cls, uint64_t ts_ns);

static inline bool flow_table_full(const struct flow_table *t)
{
	return t->count >= t->max;
}

/* Marks f most recently seen in class cls. Context: owning worker. */
void flow_table_touch(struct flow_table *t, struct flow *f, enum flow_class cls);

/* The flow to evict when full: the least recently seen of all classes.
 * Context: owning worker. */
struct flow *flow_table_oldest(struct flow_table *t);

/* The least recently seen flow whose class timeout has passed at now_ns,
 * or NULL. Context: owning worker. */
struct flow *flow_table_expired(struct flow_table *t, uint64_t now_ns);

/* Unlinks f from the table; it stays readable by RCU readers until the next
 * flow_table_reclaim's grace period ends. Context: owning worker, RCU read
 * side. */
void flow_table_remove(struct flow_table *t, struct flow *f);

/* Hands every flow removed since the last call to call_rcu, in one batch.
 * Context: owning worker (registered RCU thread). */
void flow_table_reclaim(struct flow_table *t);

/* ---- worker -> aggregator event records --------------------------------------- */
enum eng_event_type { EV_FLOW = 1, EV_DPI = 2 };

struct eng_event_hdr {
	uint16_t type;
	uint16_t pad;
	uint32_t len; /* bytes after this header */
};

/* The flow as its initiator sees it. */
struct eng_tuple {
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
	uint16_t vlan;
	uint8_t proto;
	uint8_t ipver;
};

struct eng_flow_rec {
	struct eng_tuple t;
	uint64_t first_ns;
	uint64_t last_ns;
	uint64_t pkts[2];
	uint64_t bytes[2];
	uint8_t end;
	char app[15];
	uint32_t summary_len; /* JSON members follow */
};

struct eng_dpi_rec {
	struct eng_tuple t;
	uint64_t ts_ns;
	uint8_t dir;
	char event[23];
	uint32_t fields_len; /* JSON members follow */
};

/* ---- worker ------------------------------------------------------------------- */
struct eng_worker_stats {
	_Atomic uint64_t packets;
	_Atomic uint64_t bytes;
	_Atomic uint64_t malformed;
	_Atomic uint64_t malformed_by[MAL_COUNT];
	_Atomic uint64_t not_ip;
	_Atomic uint64_t fragments;
	_Atomic uint64_t flows;       /* in the table now */
	_Atomic uint64_t flows_total; /* created */
	_Atomic uint64_t evicted;
	_Atomic uint64_t event_drops;
	_Atomic uint64_t kernel_drops;
	_Atomic uint64_t kernel_freezes;
	_Atomic uint64_t queue_drops;
	_Atomic uint64_t dpi_events;
	_Atomic uint64_t alloc_failures;
	_Atomic uint64_t cycles_decode;
	_Atomic uint64_t cycles_flow;
	_Atomic uint64_t cycles_dissect;
	_Atomic uint64_t profiled;
};

struct eng_run;

struct eng_worker {
	unsigned id;
	struct eng_run *run;
	struct ring_source *src;
	pthread_t thread;
	int cpu; /* pinned PU, -1 if not pinned */
	struct flow_table flows;
	struct ring_spsc events;
	struct dissect_worker *dw;
	struct flow *cur_flow; /* for DPI emit */
	bool cur_c2s;
	uint64_t clock_ns; /* input clock: packet time (file) or wall time (live) */
	struct eng_worker_stats st;
	_Atomic bool done;
	int error;
};

struct eng_run {
	const struct eng_config *cfg;
	struct ring_capture *cap;
	unsigned n;
	bool offline;
	uint64_t seed;
	struct eng_worker *w;
};

void *eng_worker_main(void *arg);
/* The dissectors' emit callback; ctx is the struct eng_worker. */
void eng_dpi_emit(void *ctx, const char *event, enum dissect_dir dir, uint64_t ts_ns,
	const char *fields, size_t len);
/* True once eng_request_stop was called. Context: any thread. */
bool eng_stop_pending(void);
void eng_tuple_from_flow(const struct flow *f, struct eng_tuple *t);

/* Aggregator: runs on its own thread until every worker is done and its
 * queue drained. Returns 0 or -errno. */
int eng_aggregate(struct eng_run *run, FILE *out);

/* Writes ip as text into buf (>= 46 bytes). */
void eng_addr_str(uint8_t ipver, const uint8_t *ip, char *buf);

/* CPU placement (cpu.c). */
int eng_cpu_plan(unsigned n, const char *iface, int *cpus);
int eng_cpu_pin_self(int cpu);

#endif
