/* dissect_pcap: runs the dissectors over a capture file without the engine
 * and prints their events as JSON lines (the engine's format, minus what only
 * the engine knows). Usage: dissect_pcap FILE [pkt_budget]
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/dissect/pcap_driver.h"

int main(int argc, char **argv)
{
	struct dissect_config cfg = {0};
	struct dissect_worker *w;
	struct dissect_stats st;
	int r;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE [pkt_budget]\n", argv[0]);
		return 2;
	}
	if (argc > 2)
		cfg.pkt_budget = (unsigned)strtoul(argv[2], NULL, 10);
	w = dissect_worker_new(&cfg, pcap_driver_print, stdout);
	if (!w)
		return 1;
	r = pcap_driver_run(argv[1], w, stdout, NULL, NULL, NULL);
	dissect_worker_stats(w, &st);
	fprintf(stderr, "flows_inspected=%llu events=%llu malformed=%llu stream_gaps=%llu\n",
		(unsigned long long)st.flows_inspected, (unsigned long long)st.events,
		(unsigned long long)st.malformed, (unsigned long long)st.stream_gaps);
	dissect_worker_free(w);
	if (r < 0) {
		fprintf(stderr, "%s: cannot read\n", argv[1]);
		return 1;
	}
	return 0;
}
