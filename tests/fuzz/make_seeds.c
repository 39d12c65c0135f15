/* make_seeds: writes fuzz seeds from captures. For every flow of the given
 * captures whose app is the wanted one, writes DIR/<capture>-<n> in the
 * input format of fuzz_flow.h (mode byte, then direction-tagged chunks),
 * up to 32 packets and 16 KiB per flow.
 * Usage: make_seeds APP DIR CAPTURE...
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libgen.h>
#include <netinet/in.h>

#include "tests/dissect/pcap_driver.h"

#define MAX_FLOWS 256
#define SEED_MAX 16384
#define SEED_PKTS 32

struct seed {
	const void *flow;
	const char *app;
	uint8_t buf[SEED_MAX];
	size_t n;
	unsigned pkts;
};

struct seeds {
	struct seed *s;
	unsigned n;
};

static void on_pkt(void *ctx, const void *flow, const struct dissect_pkt *pkt, const char *app)
{
	struct seeds *all = ctx;
	struct seed *s = NULL;
	size_t len = pkt->len;

	for (unsigned i = 0; i < all->n; i++)
		if (all->s[i].flow == flow)
			s = &all->s[i];
	if (!s) {
		if (all->n == MAX_FLOWS)
			return;
		s = &all->s[all->n++];
		s->flow = flow;
		s->buf[0] = pkt->l4proto == IPPROTO_UDP ? 1 : 2; /* TCP: no handshake */
		s->n = 1;
	}
	s->app = app;
	if (s->pkts >= SEED_PKTS || s->n + 3 >= SEED_MAX)
		return;
	if (len > SEED_MAX - s->n - 3)
		len = SEED_MAX - s->n - 3;
	s->buf[s->n++] = (uint8_t)(pkt->dir ? 0x80 : 0);
	s->buf[s->n++] = (uint8_t)(len >> 8);
	s->buf[s->n++] = (uint8_t)len;
	memcpy(s->buf + s->n, pkt->data, len);
	s->n += len;
	s->pkts++;
}

int main(int argc, char **argv)
{
	struct seeds all;
	int written = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: %s APP DIR CAPTURE...\n", argv[0]);
		return 2;
	}
	all.s = calloc(MAX_FLOWS, sizeof(*all.s));
	if (!all.s)
		return 1;
	for (int a = 3; a < argc; a++) {
		struct dissect_config cfg = {.pkt_budget = 1000};
		struct dissect_worker *w = dissect_worker_new(&cfg, NULL, NULL);
		char *base = strdup(argv[a]);

		all.n = 0;
		if (!w || !base)
			return 1;
		if (pcap_driver_run(argv[a], w, NULL, on_pkt, &all, NULL) < 0)
			fprintf(stderr, "%s: cannot read\n", argv[a]);
		for (unsigned i = 0; i < all.n; i++) {
			char path[4096];
			FILE *o;

			if (!all.s[i].app || strcmp(all.s[i].app, argv[1]))
				continue;
			snprintf(path, sizeof(path), "%s/%s-%u", argv[2], basename(base), i);
			o = fopen(path, "wb");
			if (!o) {
				fprintf(stderr, "%s: %s\n", path, strerror(errno));
				return 1;
			}
			fwrite(all.s[i].buf, 1, all.s[i].n, o);
			fclose(o);
			written++;
		}
		memset(all.s, 0, MAX_FLOWS * sizeof(*all.s));
		dissect_worker_free(w);
		free(base);
	}
	printf("%d seeds for %s\n", written, argv[1]);
	free(all.s);
	return 0;
}
