/* Test driver: reads a capture with libpcap, does a minimal decode
 * (Ethernet/VLAN, Linux SLL/SLL2, raw IP, DLT_NULL; IPv4/IPv6; TCP/UDP),
 * keeps a small flow table and feeds every packet to dissect_packet(), the
 * way the engine does. Used by the dissector tests, the seed extractor and
 * as a stand-alone tool (dissect_pcap FILE) printing the events as JSON
 * lines.
 */
#ifndef PROCSNIFF_TESTS_PCAP_DRIVER_H
#define PROCSNIFF_TESTS_PCAP_DRIVER_H

#include <stdio.h>

#include "dissect/dissect.h"

/* Called for each packet with payload of a flow (also after inspection
 * ended), with the packet as built, an identifier of its flow and the flow's
 * app so far (for the seed extractor). May be NULL. */
typedef void (*pcap_driver_pkt_fn)(void *ctx, const void *flow, const struct dissect_pkt *pkt,
	const char *app);

struct pcap_driver_stats {
	unsigned long packets;
	unsigned long flows;
};

/* Feeds every packet of path through w. Returns 0 or -errno. Flows still open
 * at the end are freed (their summaries printed to out if out != NULL). */
int pcap_driver_run(const char *path, struct dissect_worker *w, FILE *out,
	pcap_driver_pkt_fn pkt_fn, void *pkt_ctx, struct pcap_driver_stats *st);

/* An emit callback that prints `{"event":..,"dir":..,<fields>}` lines to the
 * FILE given as ctx. */
void pcap_driver_print(void *ctx, const char *event, enum dissect_dir dir, uint64_t ts_ns,
	const char *fields, size_t len);

#endif
