/* Shared body of the per-dissector libFuzzer targets (fuzz_http, fuzz_dns,
 * fuzz_ssh): the input is one flow, fed through dissect_packet() the way the
 * engine would.
 *
 * Input format (the seed extractor, make_seeds, writes the same):
 *   byte 0       mode: bit 0 UDP (else TCP); bit 1 no handshake (the capture
 *                starts mid-flow); bit 2 the server port is on the initiator
 *                side; bit 3 a small stream window (4 KiB)
 *   then chunks  ctl: bit 7 direction (1 = from the server), bit 6 a signed
 *                sequence shift byte follows (TCP: retransmission, overlap or
 *                gap); then a 2-byte big-endian length, then the payload
 *                (cut to what is left)
 *
 * Every event is checked to be well-formed JSON members made of printable
 * ASCII (the emitter's promise); anything else aborts.
 */
#ifndef PROCSNIFF_FUZZ_FLOW_H
#define PROCSNIFF_FUZZ_FLOW_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "dissect/dissect.h"

/* Aborts unless s[0, n) is JSON object members: balanced brackets outside
 * strings, valid escapes, printable ASCII only. */
static void fuzz_check_json(const char *s, size_t n)
{
	int depth = 0;
	bool str = false;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7e)
			abort();
		if (str) {
			if (c == '\\') {
				if (++i >= n)
					abort();
				if (s[i] == 'u') {
					if (i + 4 >= n)
						abort();
					i += 4;
				} else if (!strchr("\"\\/bfnrt", s[i])) {
					abort();
				}
			} else if (c == '"') {
				str = false;
			}
			continue;
		}
		if (c == '"')
			str = true;
		else if (c == '[' || c == '{')
			depth++;
		else if ((c == ']' || c == '}') && --depth < 0)
			abort();
	}
	if (str || depth)
		abort();
}

static void fuzz_emit(void *ctx, const char *event, enum dissect_dir dir, uint64_t ts_ns,
	const char *fields, size_t len)
{
	(void)ctx;
	(void)ts_ns;
	if (!event || !*event || dir > DISSECT_S2C)
		abort();
	fuzz_check_json(fields, len);
}

static int fuzz_flow(const uint8_t *data, size_t size, uint16_t server_port)
{
	struct dissect_config cfg = {.pkt_budget = 64};
	struct dissect_worker *w;
	struct dissect_flow *f = NULL;
	uint32_t seq[2] = {0xfffff000u, 77777};
	uint8_t mode;
	size_t off = 1;
	char sum[512];
	bool udp, live = true;

	if (!size)
		return 0;
	mode = data[0];
	udp = mode & 1;
	if (mode & 8)
		cfg.stream_max = 4096;
	w = dissect_worker_new(&cfg, fuzz_emit, NULL);
	if (!w)
		return 0;
	if (!udp && !(mode & 2)) {
		for (int d = 0; d < 2; d++) {
			struct dissect_pkt syn = {.l4proto = IPPROTO_TCP, .dir = (uint8_t)d,
				.tcp_flags = (uint8_t)(DISSECT_TCP_SYN | (d ? DISSECT_TCP_ACK : 0)),
				.tcp_seq = seq[d]++};

			dissect_packet(w, &f, &syn);
		}
	}
	while (live && off + 3 <= size) {
		uint8_t ctl = data[off];
		size_t n = (size_t)data[off + 1] << 8 | data[off + 2];
		int dir = ctl >> 7;
		int8_t shift = 0;
		struct dissect_pkt p = {0};

		off += 3;
		if (ctl & 0x40) {
			if (off >= size)
				break;
			shift = (int8_t)data[off++];
		}
		if (n > size - off)
			n = size - off;
		seq[dir] += (uint32_t)(int32_t)shift;
		p.data = data + off;
		p.len = (uint32_t)n;
		p.l4proto = udp ? IPPROTO_UDP : IPPROTO_TCP;
		p.dir = (uint8_t)dir;
		p.tcp_flags = udp ? 0 : DISSECT_TCP_ACK;
		p.tcp_seq = seq[dir];
		/* The client's port is the source from the client, unless the
		 * roles are swapped. */
		if ((dir == 0) != ((mode & 4) != 0)) {
			p.sport = 40000;
			p.dport = server_port;
		} else {
			p.sport = server_port;
			p.dport = 40000;
		}
		p.ts_ns = 1;
		live = dissect_packet(w, &f, &p);
		seq[dir] += (uint32_t)n;
		off += n;
	}
	if (dissect_flow_summary(f, sum, sizeof(sum)) >= sizeof(sum))
		abort();
	fuzz_check_json(sum, strlen(sum));
	(void)dissect_flow_app(f);
	dissect_flow_free(f);
	dissect_worker_free(w);
	return 0;
}

#endif
