/* libFuzzer target for the QUIC dissector. Random bytes never pass the
 * AEAD tag, so the input is used three ways: as datagrams through
 * dissect_packet() (long-header parsing, coalesced packets, version and
 * key handling; each datagram is a 2-byte header, bit 15: direction, then
 * up to 2047 bytes), as a decrypted Initial payload (frame walk, CRYPTO
 * reassembly by offset, ClientHello/ServerHello parsing), and, encrypted
 * with real Initial keys of a fixed DCID, as the payload of a client
 * Initial, so the whole decrypt path runs on it.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define dissector_quic dissector_quic_fuzz
#include "dissect/proto_quic.c"
#undef dissector_quic

static void sink(void *ctx, const char *event, enum dissect_dir dir, uint64_t ts_ns,
	const char *fields, size_t len)
{
	volatile char c = len ? fields[len - 1] : event[0];

	(void)c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Seals payload as a v1 client Initial for dcid (RFC 9001 5), pn 0. */
static size_t seal_initial(const uint8_t *payload, size_t n, uint8_t *out, size_t cap)
{
	static const uint8_t dcid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct quic_keys k[2];
	EVP_CIPHER_CTX *c;
	uint8_t mask[16], nonce[12];
	size_t h = 0, len;
	int outl = 0;

	if (n < 20 || n + 64 > cap)
		return 0;
	if (quic_keys_derive(salt_v1, false, dcid, sizeof(dcid), k) < 0)
		return 0;
	len = 1 + n + 16; /* pn (1 byte) + payload + tag */
	out[h++] = 0xc0;  /* Initial, pn length 1 */
	out[h++] = 0;
	out[h++] = 0;
	out[h++] = 0;
	out[h++] = 1;
	out[h++] = sizeof(dcid);
	memcpy(out + h, dcid, sizeof(dcid));
	h += sizeof(dcid);
	out[h++] = 0; /* scid */
	out[h++] = 0; /* token */
	out[h++] = (uint8_t)(0x40 | len >> 8);
	out[h++] = (uint8_t)len;
	out[h++] = 0; /* pn */
	memcpy(nonce, k[0].iv, 12);
	c = EVP_CIPHER_CTX_new();
	if (!c)
		return 0;
	if (!EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, k[0].key, nonce) ||
		!EVP_EncryptUpdate(c, NULL, &outl, out, (int)h) ||
		!EVP_EncryptUpdate(c, out + h, &outl, payload, (int)n) ||
		!EVP_EncryptFinal_ex(c, out + h + n, &outl) ||
		!EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + h + n)) {
		EVP_CIPHER_CTX_free(c);
		return 0;
	}
	/* header protection: sample 4 bytes after the packet number's start */
	if (!EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, k[0].hp, NULL) ||
		!EVP_CIPHER_CTX_set_padding(c, 0) ||
		!EVP_EncryptUpdate(c, mask, &outl, out + h - 1 + 4, 16)) {
		EVP_CIPHER_CTX_free(c);
		return 0;
	}
	EVP_CIPHER_CTX_free(c);
	out[0] ^= mask[0] & 0x0f;
	out[h - 1] ^= mask[1];
	return h + n + 16;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t sealed[8192];
	struct dissect_worker *w = dissect_worker_new(NULL, sink, NULL);
	struct dissect_flow *f = NULL;
	struct quic_state st;
	size_t off = 0, n;

	if (!w)
		return 0;
	/* 1: decrypted payload, as the server's (the ClientHello path, which
	 * needs a flow, runs in 2) */
	memset(&st, 0, sizeof(st));
	st.reported = true;
	quic_frames(w, &st.cs[DISSECT_S2C], size & 1, data, size);
	quic_crypto_check(w, NULL, &st, DISSECT_S2C, 0);
	quic_fini(&st);

	/* 2: a sealed client Initial carrying the input, then the datagrams */
	n = seal_initial(data, size, sealed, sizeof(sealed));
	if (n) {
		struct dissect_pkt pkt = {.data = sealed, .len = (uint32_t)n,
			.l4proto = IPPROTO_UDP, .sport = 40000, .dport = 443};

		dissect_packet(w, &f, &pkt);
		dissect_flow_free(f);
		f = NULL;
	}
	while (off + 2 <= size) {
		struct dissect_pkt pkt = {.l4proto = IPPROTO_UDP};
		unsigned hdr = (unsigned)data[off] << 8 | data[off + 1];

		off += 2;
		n = hdr & 0x7ff;
		if (n > size - off)
			n = size - off;
		pkt.data = data + off;
		pkt.len = (uint32_t)n;
		pkt.dir = (uint8_t)(hdr >> 15);
		pkt.sport = pkt.dir ? 443 : 40000;
		pkt.dport = pkt.dir ? 40000 : 443;
		off += n;
		if (!dissect_packet(w, &f, &pkt))
			break;
	}
	dissect_flow_free(f);
	dissect_worker_free(w);
	return 0;
}
