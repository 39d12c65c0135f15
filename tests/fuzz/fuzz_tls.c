/* libFuzzer target for the TLS dissector. The input is parsed twice: whole,
 * as a ClientHello and ServerHello body (the fingerprint code), and as a TCP
 * conversation fed through dissect_packet(): each chunk is one byte of
 * header (bit 7: direction, bits 0-6: n, the segment is 2n + 1 bytes) and
 * the segment, so records and handshake messages get cut everywhere.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>

#include "dissect/dissect.h"
#include "dissect/tls_hello.h"

static void sink(void *ctx, const char *event, enum dissect_dir dir, uint64_t ts_ns,
	const char *fields, size_t len)
{
	/* Touch the event so the sanitizers check it is readable. */
	volatile char c = len ? fields[len - 1] : event[0];

	(void)c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dissect_config cfg = {.pkt_budget = 100000};
	struct dissect_worker *w;
	struct dissect_flow *f = NULL;
	struct tls_client_hello ch;
	struct tls_server_hello sh;
	char full[512], md5[33], ja4[37];
	uint32_t seq[2] = {1000, 5000};
	size_t off = 0;

	if (tls_client_hello_parse(data, size, &ch) == 0) {
		tls_ja3(&ch, full, sizeof(full), md5);
		tls_ja4(&ch, 't', ja4);
	}
	if (tls_server_hello_parse(data, size, &sh) == 0)
		tls_ja3s(&sh, full, sizeof(full), md5);

	w = dissect_worker_new(&cfg, sink, NULL);
	if (!w)
		return 0;
	while (off < size) {
		struct dissect_pkt pkt = {.l4proto = IPPROTO_TCP};
		size_t n;
		int dir;

		dir = data[off] >> 7;
		n = ((size_t)(data[off] & 0x7f) << 1) + 1;
		off++;
		if (n > size - off)
			n = size - off;
		pkt.data = data + off;
		pkt.len = (uint32_t)n;
		off += n;
		pkt.dir = (uint8_t)dir;
		pkt.tcp_flags = 0x18;
		pkt.sport = dir ? 443 : 40000;
		pkt.dport = dir ? 40000 : 443;
		pkt.tcp_seq = seq[dir];
		seq[dir] += pkt.len;
		if (!dissect_packet(w, &f, &pkt))
			break;
	}
	dissect_flow_free(f);
	dissect_worker_free(w);
	return 0;
}
