/* engine: packet decode, per-worker flow tables, the capture workers, the
 * aggregator and its outputs. main.c parses the command line into a
 * struct eng_config and calls eng_run.
 */
#ifndef PROCSNIFF_ENGINE_H
#define PROCSNIFF_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ring/ring.h"

/* ---- log sink (the only global mutable state) ---------------------------- */
typedef void (*eng_log_fn)(int level, const char *msg);
/* Sets the sink for engine, ring and the rest; call once before eng_run.
 * Context: main thread, before any other thread starts. */
void eng_set_log(eng_log_fn fn);
void eng_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- decode ------------------------------------------------------------------ */
enum eng_malformed {
	MAL_LINK_TRUNCATED = 0,
	MAL_LINKTYPE_UNSUPPORTED,
	MAL_VLAN_TRUNCATED,
	MAL_MPLS_TRUNCATED,
	MAL_PPPOE_TRUNCATED,
	MAL_IP_VERSION,
	MAL_IP4_TRUNCATED,
	MAL_IP4_HDRLEN,
	MAL_IP4_TOTLEN,
	MAL_IP6_TRUNCATED,
	MAL_IP6_PAYLOAD_LEN,
	MAL_IP6_EXT,
	MAL_TCP_TRUNCATED,
	MAL_TCP_HDRLEN,
	MAL_UDP_TRUNCATED,
	MAL_UDP_LEN,
	MAL_ICMP_TRUNCATED,
	MAL_NFLOG,
	MAL_COUNT
};

/* Stable names used in the JSON stats ("malformed_reasons"). */
extern const char *const eng_malformed_names[MAL_COUNT];

enum eng_decode_result {
	DEC_OK = 0,    /* an IP packet: key fields filled */
	DEC_NOT_IP,    /* ARP, LLDP, ...: counted, not a flow */
	DEC_MALFORMED, /* *reason set */
};

struct eng_pkt {
	uint8_t ipver; /* 4 or 6 */
	uint8_t l4proto;
	uint16_t vlan; /* outermost VLAN id, 0 if none */
	uint8_t src[16]; /* IPv4 in the first 4 bytes, rest zero */
	uint8_t dst[16];
	uint16_t sport; /* host order; 0 for protocols without ports */
	uint16_t dport;
	uint8_t tcp_flags;
	bool fragment; /* a later IP fragment: no L4 header in it */
	uint8_t tunnels; /* encapsulations decoded to reach this packet */
	uint32_t tcp_seq;
	const uint8_t *payload; /* L4 payload present in the capture */
	uint32_t payload_len;
};

/* Decodes one captured frame. Never reads outside [data, data+caplen).
 * Context: any thread. */
enum eng_decode_result eng_decode(const struct ring_pkt *rp, struct eng_pkt *out,
	enum eng_malformed *reason);

/* ---- flow keys --------------------------------------------------------------- */
struct flow_key {
	uint8_t a[16]; /* endpoint a: the lower (address, port) */
	uint8_t b[16];
	uint16_t pa;
	uint16_t pb;
	uint16_t vlan;
	uint8_t proto;
	uint8_t ipver;
};
_Static_assert(sizeof(struct flow_key) == 40, "flow key is hashed as 5 words");

/* Fills *key from a decoded packet, canonical so both directions give the
 * same key. Returns true when the packet's source is endpoint b.
 * Context: any thread. */
bool flow_key_make(const struct eng_pkt *p, struct flow_key *key);

/* Seeded hash of a canonical key. Context: any thread. */
uint64_t flow_key_hash(const struct flow_key *key, uint64_t seed);

/* ---- configuration ----------------------------------------------------------- */
struct eng_config {
	struct ring_config ring; /* backend, iface/path, filter, sizes */
	unsigned workers;        /* 0: one per physical core */
	bool dpi;
	bool profile;
	bool json;
	const char *json_path; /* NULL: stdout */
	bool quiet;
	double duration;        /* seconds, 0: unlimited */
	uint64_t count;         /* packets, 0: unlimited */
	double stats_interval;  /* seconds, 0: only at the end */
	uint32_t max_flows;     /* per worker */
	uint32_t timeout_tcp;   /* idle seconds, established TCP */
	uint32_t timeout_tcp_closed; /* after FIN both ways or RST */
	uint32_t timeout_udp;
	uint32_t timeout_other;
	unsigned dpi_budget;
	uint32_t event_queue_bytes; /* per worker */
	bool pin;               /* pin workers with hwloc */
};

/* Fills in defaults. Context: any thread. */
void eng_config_defaults(struct eng_config *cfg);

/* Runs a whole capture: opens the sources, starts workers and the
 * aggregator, returns when the input ends, the duration or count is reached,
 * or eng_request_stop is called. Returns 0 or a negative errno (logged).
 * Context: main thread. */
int eng_run(const struct eng_config *cfg);

/* Asks the running capture to stop. Context: any thread, async-signal-safe. */
void eng_request_stop(void);

/* Physical cores hwloc sees (>= 1). Context: any thread. */
unsigned eng_cpu_cores(void);

#endif
