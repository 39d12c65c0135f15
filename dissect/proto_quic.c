/* QUIC: long-header parsing and Initial packet decryption, yielding the
 * ClientHello (SNI, ALPN, JA4 with the "q" prefix) and ServerHello carried in
 * the Initial packets' CRYPTO frames.
 *
 * Detection is by content on any UDP port: a long header with the fixed bit,
 * an Initial packet type, and a version we know: v1 (RFC 9000/9001), v2
 * (RFC 9369: own salt, "quicv2 " key labels, Initial type bits 01), IETF
 * drafts 22-32, Facebook mvfst, Google T050/T051 (TLS inside) and versions
 * of the 0x?a?a?a?a pattern that force version negotiation (keys tried
 * with the salts of draft-29, v1 and draft-23; the AEAD tag picks the one).
 * Google Q050 (not TLS inside) is reported with its header fields only.
 *
 * Initial keys (RFC 9001 5.2): initial_secret = HKDF-Extract(salt, DCID of
 * the client's first Initial), "client in"/"server in" secrets, then
 * key/iv/hp by HKDF-Expand-Label; header protection removed with an AES-128
 * ECB mask over the 16-byte sample, payload opened with AES-128-GCM and the
 * packet-number nonce. The keys are derived once per flow and kept; if a
 * packet does not open with them (after a Retry, or after version
 * negotiation) the DCID and version of that packet are tried once.
 *
 * Each direction's CRYPTO frames are reassembled by offset in a buffer of
 * QUIC_CRYPTO_MAX bytes with a bitmap of the bytes present, allocated on
 * the first Initial that opens, so a ClientHello spread over several
 * Initials, in any order, is still read whole. PADDING, PING, ACK and
 * CONNECTION_CLOSE frames are stepped over; anything else ends the packet.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "dissect/internal.h"
#include "dissect/tls_hello.h"

#define QUIC_CID_MAX 20
#define QUIC_CRYPTO_MAX (16u * 1024)  /* CRYPTO stream bytes kept per direction */
#define QUIC_PT_MAX 65536u            /* largest payload we decrypt */
#define QUIC_MAX_SALTS 3

#define QV_1 0x00000001u
#define QV_2 0x6b3343cfu
#define QV_Q050 0x51303530u
#define QV_T050 0x54303530u
#define QV_T051 0x54303531u
#define QV_MVFST_22 0xfaceb001u
#define QV_MVFST_27 0xfaceb002u
#define QV_MVFST_EXP 0xfaceb00eu

static const uint8_t salt_v1[20] = {
	0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
	0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
};
static const uint8_t salt_v2[20] = {
	0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
	0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9,
};
static const uint8_t salt_d22[20] = {
	0x7f, 0xbc, 0xdb, 0x0e, 0x7c, 0x66, 0xbb, 0xe9, 0x19, 0x3a,
	0x96, 0xcd, 0x21, 0x51, 0x9e, 0xbd, 0x7a, 0x02, 0x64, 0x4a,
};
static const uint8_t salt_d23[20] = {
	0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7,
	0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02,
};
static const uint8_t salt_d29[20] = {
	0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
	0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99,
};
static const uint8_t salt_t50[20] = {
	0x7f, 0xf5, 0x79, 0xe5, 0xac, 0xd0, 0x72, 0x91, 0x55, 0x80,
	0x30, 0x4c, 0x43, 0xa2, 0x36, 0x7c, 0x60, 0x48, 0x83, 0x10,
};
static const uint8_t salt_t51[20] = {
	0x7a, 0x4e, 0xde, 0xf4, 0xe7, 0xcc, 0xee, 0x5f, 0xa4, 0x50,
	0x6c, 0x19, 0x12, 0x4f, 0xc8, 0xcc, 0xda, 0x6e, 0x03, 0x3d,
};

/* What a version needs for its Initial packets. */
struct quic_vinfo {
	const uint8_t *salts[QUIC_MAX_SALTS]; /* candidates, first is likeliest */
	bool v2;                              /* RFC 9369 labels and type bits */
	bool tls;                             /* CRYPTO frames carry TLS */
	bool gquic_frames;                    /* Google T05x: CRYPTO is type 0x08 */
};

static bool quic_version_info(uint32_t v, struct quic_vinfo *vi)
{
	memset(vi, 0, sizeof(*vi));
	vi->tls = true;
	if (v == QV_1) {
		vi->salts[0] = salt_v1;
	} else if (v == QV_2) {
		vi->salts[0] = salt_v2;
		vi->v2 = true;
	} else if ((v >> 8) == 0xff0000 && (v & 0xff) >= 22 && (v & 0xff) <= 32) {
		unsigned d = v & 0xff;

		vi->salts[0] = d == 22 ? salt_d22 : d <= 28 ? salt_d23 : salt_d29;
	} else if (v == QV_MVFST_22) {
		vi->salts[0] = salt_d22;
	} else if (v == QV_MVFST_27 || v == QV_MVFST_EXP) {
		vi->salts[0] = salt_d23;
	} else if (v == QV_T051) {
		vi->salts[0] = salt_t51;
		vi->gquic_frames = true;
	} else if (v == QV_T050) {
		vi->salts[0] = salt_t50;
		vi->gquic_frames = true;
	} else if ((v & 0x0f0f0f0f) == 0x0a0a0a0a) {
		vi->salts[0] = salt_d29;
		vi->salts[1] = salt_v1;
		vi->salts[2] = salt_d23;
	} else if (v == QV_Q050) {
		vi->tls = false;
	} else {
		return false;
	}
	return true;
}

/* Long-header packet type of an Initial for this version. */
static bool quic_is_initial(uint8_t b0, const struct quic_vinfo *vi)
{
	return ((b0 >> 4) & 3) == (vi->v2 ? 1 : 0);
}

static bool quic_is_retry(uint8_t b0, const struct quic_vinfo *vi)
{
	return ((b0 >> 4) & 3) == (vi->v2 ? 0 : 3);
}

/* ---- state ------------------------------------------------------------------- */

struct quic_keys {
	uint8_t key[16];
	uint8_t iv[12];
	uint8_t hp[16];
};

struct quic_crypto {
	uint8_t *buf;      /* QUIC_CRYPTO_MAX data bytes, then the presence bitmap */
	uint32_t contig;   /* bytes [0, contig) are all present */
	bool done;         /* the first handshake message was handled */
};

struct quic_state {
	uint32_t key_version;
	uint8_t key_cid[QUIC_CID_MAX];
	uint8_t key_cid_len;
	bool have_keys;
	struct quic_keys keys[2]; /* [DISSECT_C2S] client, [DISSECT_S2C] server */
	/* the client's first Initial, as reported */
	uint32_t version;
	uint8_t dcid[QUIC_CID_MAX], scid[QUIC_CID_MAX];
	uint8_t dcid_len, scid_len;
	bool ids;
	/* the DCID of the client's latest Initial (changes after a Retry) */
	uint8_t last_cid[QUIC_CID_MAX];
	uint8_t last_cid_len;
	uint32_t last_version;
	bool reported;     /* quic_initial emitted */
	struct quic_crypto cs[2];
	uint8_t *pt;       /* decrypted payload scratch */
	uint32_t pt_cap;
	EVP_CIPHER_CTX *ecb, *gcm;
};

static void quic_fini(void *state)
{
	struct quic_state *st = state;

	free(st->cs[0].buf);
	free(st->cs[1].buf);
	free(st->pt);
	EVP_CIPHER_CTX_free(st->ecb);
	EVP_CIPHER_CTX_free(st->gcm);
	st->cs[0].buf = st->cs[1].buf = st->pt = NULL;
	st->ecb = st->gcm = NULL;
}

/* ---- key schedule ------------------------------------------------------------- */

static int hkdf_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
	uint8_t prk[32])
{
	static const uint8_t empty[1];
	unsigned int n = 0;

	if (!HMAC(EVP_sha256(), salt, (int)salt_len, ikm_len ? ikm : empty, ikm_len, prk, &n) ||
		n != 32)
		return -EINVAL;
	return 0;
}

/* HKDF-Expand-Label (RFC 8446 7.1) with an empty context, out_len <= 32. */
static int hkdf_expand_label(const uint8_t secret[32], const char *label, uint8_t *out,
	size_t out_len)
{
	uint8_t info[2 + 1 + 255 + 1 + 1], md[32];
	size_t ll = strlen(label), n = 0;
	unsigned int mdl = 0;

	if (out_len > 32 || 6 + ll > 255)
		return -EINVAL;
	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)(6 + ll);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, ll);
	n += ll;
	info[n++] = 0;    /* context */
	info[n++] = 0x01; /* HKDF-Expand counter T(1) */
	if (!HMAC(EVP_sha256(), secret, 32, info, n, md, &mdl) || mdl != 32)
		return -EINVAL;
	memcpy(out, md, out_len);
	return 0;
}

/* Derives client (keys[0]) and server (keys[1]) Initial keys. */
static int quic_keys_derive(const uint8_t *salt, bool v2, const uint8_t *cid, size_t cid_len,
	struct quic_keys keys[2])
{
	static const char *const sides[2] = {"client in", "server in"};
	uint8_t initial[32], secret[32];

	if (hkdf_extract(salt, 20, cid, cid_len, initial) < 0)
		return -EINVAL;
	for (int i = 0; i < 2; i++) {
		if (hkdf_expand_label(initial, sides[i], secret, 32) < 0 ||
			hkdf_expand_label(secret, v2 ? "quicv2 key" : "quic key", keys[i].key, 16) < 0 ||
			hkdf_expand_label(secret, v2 ? "quicv2 iv" : "quic iv", keys[i].iv, 12) < 0 ||
			hkdf_expand_label(secret, v2 ? "quicv2 hp" : "quic hp", keys[i].hp, 16) < 0)
			return -EINVAL;
	}
	return 0;
}

/* ---- packet protection ---------------------------------------------------------- */

static int quic_ctx_ready(struct quic_state *st)
{
	if (!st->ecb)
		st->ecb = EVP_CIPHER_CTX_new();
	if (!st->gcm)
		st->gcm = EVP_CIPHER_CTX_new();
	return st->ecb && st->gcm ? 0 : -ENOMEM;
}

/* Opens one long-header packet of pkt_len bytes whose packet number starts
 * at pn_off. On success the payload is in st->pt and its length returned;
 * otherwise a negative errno (-EBADMSG: does not open with these keys). */
static int quic_open(struct quic_state *st, const struct quic_keys *k, const uint8_t *pkt,
	size_t pn_off, size_t pkt_len)
{
	uint8_t mask[16], pnb[4], nonce[12], b0;
	size_t pnl, ct_off, ct_len;
	uint64_t pn = 0;
	int outl = 0, finl = 0;

	if (pn_off + 4 + 16 > pkt_len)
		return -EBADMSG;
	if (quic_ctx_ready(st) < 0)
		return -ENOMEM;
	if (!EVP_EncryptInit_ex(st->ecb, EVP_aes_128_ecb(), NULL, k->hp, NULL) ||
		!EVP_CIPHER_CTX_set_padding(st->ecb, 0) ||
		!EVP_EncryptUpdate(st->ecb, mask, &outl, pkt + pn_off + 4, 16) || outl != 16)
		return -EINVAL;
	b0 = pkt[0] ^ (mask[0] & 0x0f);
	pnl = (size_t)(b0 & 3) + 1;
	for (size_t i = 0; i < pnl; i++) {
		pnb[i] = pkt[pn_off + i] ^ mask[1 + i];
		pn = pn << 8 | pnb[i];
	}
	ct_off = pn_off + pnl;
	if (pkt_len < ct_off + 16 + 1)
		return -EBADMSG;
	ct_len = pkt_len - ct_off - 16;
	if (ct_len > QUIC_PT_MAX)
		return -EBADMSG;
	if (ct_len > st->pt_cap) {
		uint8_t *np = realloc(st->pt, ct_len);

		if (!np)
			return -ENOMEM;
		st->pt = np;
		st->pt_cap = (uint32_t)ct_len;
	}
	memcpy(nonce, k->iv, 12);
	for (int i = 0; i < 8; i++)
		nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
	if (!EVP_DecryptInit_ex(st->gcm, EVP_aes_128_gcm(), NULL, NULL, NULL) ||
		!EVP_CIPHER_CTX_ctrl(st->gcm, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) ||
		!EVP_DecryptInit_ex(st->gcm, NULL, NULL, k->key, nonce))
		return -EINVAL;
	/* AAD: the header with the first byte and packet number unprotected. */
	if (!EVP_DecryptUpdate(st->gcm, NULL, &outl, &b0, 1) ||
		(pn_off > 1 && !EVP_DecryptUpdate(st->gcm, NULL, &outl, pkt + 1, (int)(pn_off - 1))) ||
		!EVP_DecryptUpdate(st->gcm, NULL, &outl, pnb, (int)pnl))
		return -EINVAL;
	if (!EVP_DecryptUpdate(st->gcm, st->pt, &outl, pkt + ct_off, (int)ct_len) ||
		!EVP_CIPHER_CTX_ctrl(st->gcm, EVP_CTRL_GCM_SET_TAG, 16,
			(void *)(pkt + ct_off + ct_len)))
		return -EINVAL;
	if (EVP_DecryptFinal_ex(st->gcm, st->pt + outl, &finl) <= 0)
		return -EBADMSG;
	return outl + finl;
}

/* Tries the salts of version with cid; adopts the keys that open the packet. */
static int quic_open_with(struct quic_state *st, enum dissect_dir dir, uint32_t version,
	const uint8_t *cid, size_t cid_len, const uint8_t *pkt, size_t pn_off, size_t pkt_len)
{
	struct quic_vinfo vi;
	struct quic_keys keys[2];
	int r = -EBADMSG;

	if (!quic_version_info(version, &vi) || !vi.tls)
		return -EPROTONOSUPPORT;
	for (int i = 0; i < QUIC_MAX_SALTS && vi.salts[i]; i++) {
		if (quic_keys_derive(vi.salts[i], vi.v2, cid, cid_len, keys) < 0)
			return -EINVAL;
		r = quic_open(st, &keys[dir], pkt, pn_off, pkt_len);
		if (r >= 0) {
			memcpy(st->keys, keys, sizeof(keys));
			memcpy(st->key_cid, cid, cid_len);
			st->key_cid_len = (uint8_t)cid_len;
			st->key_version = version;
			st->have_keys = true;
			return r;
		}
		if (r != -EBADMSG)
			return r;
	}
	return r;
}

static int quic_decrypt(struct quic_state *st, enum dissect_dir dir, uint32_t version,
	const uint8_t *pkt, size_t pn_off, size_t pkt_len)
{
	int r = -EBADMSG;

	if (st->have_keys && st->key_version == version) {
		r = quic_open(st, &st->keys[dir], pkt, pn_off, pkt_len);
		if (r != -EBADMSG)
			return r;
	}
	if (!st->ids)
		return r;
	/* Keys from the client's first DCID under this packet's version (after
	 * version negotiation), then from the DCID of the client's latest
	 * Initial (after a Retry; for a client packet, its own DCID). */
	if (!st->have_keys || st->key_version != version ||
		st->key_cid_len != st->dcid_len || memcmp(st->key_cid, st->dcid, st->dcid_len)) {
		r = quic_open_with(st, dir, version, st->dcid, st->dcid_len, pkt, pn_off, pkt_len);
		if (r != -EBADMSG)
			return r;
	}
	if (st->last_cid_len != st->dcid_len || memcmp(st->last_cid, st->dcid, st->dcid_len)) {
		r = quic_open_with(st, dir, version, st->last_cid, st->last_cid_len, pkt, pn_off,
			pkt_len);
		if (r != -EBADMSG)
			return r;
	}
	return r;
}

/* ---- CRYPTO stream -------------------------------------------------------------- */

static int crypto_add(struct quic_crypto *cs, uint64_t off, const uint8_t *p, uint64_t len)
{
	uint8_t *bits;
	uint64_t end;

	if (cs->done || off >= QUIC_CRYPTO_MAX)
		return 0;
	if (!cs->buf) {
		cs->buf = calloc(1, QUIC_CRYPTO_MAX + QUIC_CRYPTO_MAX / 8);
		if (!cs->buf)
			return -ENOMEM;
	}
	bits = cs->buf + QUIC_CRYPTO_MAX;
	end = off + len < QUIC_CRYPTO_MAX ? off + len : QUIC_CRYPTO_MAX;
	memcpy(cs->buf + off, p, (size_t)(end - off));
	for (uint64_t i = off; i < end; i++)
		bits[i >> 3] |= (uint8_t)(1u << (i & 7));
	while (cs->contig < QUIC_CRYPTO_MAX && (bits[cs->contig >> 3] & (1u << (cs->contig & 7))))
		cs->contig++;
	return 0;
}

/* The first handshake message of the stream if complete: returns its body
 * length and sets *type, or -EAGAIN (incomplete) / -EMSGSIZE (too large). */
static int crypto_message(const struct quic_crypto *cs, uint8_t *type)
{
	uint32_t len;

	if (cs->contig < 4)
		return -EAGAIN;
	len = (uint32_t)cs->buf[1] << 16 | (uint32_t)cs->buf[2] << 8 | cs->buf[3];
	if (len + 4 > QUIC_CRYPTO_MAX)
		return -EMSGSIZE;
	if (cs->contig < len + 4)
		return -EAGAIN;
	*type = cs->buf[0];
	return (int)len;
}

/* ---- frames ------------------------------------------------------------------------ */

static uint64_t dcur_varint(struct dcur *c)
{
	uint8_t b = dcur_u8(c);
	unsigned n = 1u << (b >> 6);
	uint64_t v = b & 0x3f;

	for (unsigned i = 1; i < n; i++)
		v = v << 8 | dcur_u8(c);
	return c->ok ? v : 0;
}

/* Walks the frames of a decrypted Initial payload; feeds CRYPTO data. */
static int quic_frames(struct dissect_worker *w, struct quic_crypto *cs, bool gquic,
	const uint8_t *p, size_t len)
{
	struct dcur c = dcur_make(p, len);

	while (c.ok && c.len) {
		uint64_t type = dcur_varint(&c), n, off;
		const uint8_t *data;

		if (gquic && type == 0x08)
			type = 0x06; /* Google's CRYPTO frame, same layout */
		else if (gquic && type == 0x06)
			goto bad;
		switch (type) {
		case 0x00: /* PADDING */
			while (c.len && c.p[0] == 0)
				dcur_u8(&c);
			break;
		case 0x01: /* PING */
			break;
		case 0x02: /* ACK */
		case 0x03: /* ACK with ECN counts */
			dcur_varint(&c); /* largest acknowledged */
			dcur_varint(&c); /* delay */
			n = dcur_varint(&c);
			dcur_varint(&c); /* first range */
			for (uint64_t i = 0; i < n && c.ok; i++) {
				dcur_varint(&c);
				dcur_varint(&c);
			}
			if (type == 0x03) {
				dcur_varint(&c);
				dcur_varint(&c);
				dcur_varint(&c);
			}
			break;
		case 0x06: /* CRYPTO */
			off = dcur_varint(&c);
			n = dcur_varint(&c);
			if (!c.ok || n > c.len)
				goto bad;
			data = dcur_bytes(&c, (size_t)n);
			if (crypto_add(cs, off, data, n) < 0)
				return -ENOMEM;
			break;
		case 0x1c: /* CONNECTION_CLOSE (transport) */
		case 0x1d: /* CONNECTION_CLOSE (application) */
			dcur_varint(&c);
			if (type == 0x1c)
				dcur_varint(&c);
			n = dcur_varint(&c);
			if (!c.ok || n > c.len)
				goto bad;
			dcur_bytes(&c, (size_t)n);
			break;
		default:
			goto bad;
		}
	}
	if (c.ok)
		return 0;
bad:
	dissect_malformed(w);
	return -EBADMSG;
}

/* ---- events -------------------------------------------------------------------------- */

static void quic_emit_initial(struct dissect_worker *w, struct dissect_flow *f,
	struct quic_state *st, uint64_t ts, const struct tls_client_hello *ch)
{
	char ver[12];

	snprintf(ver, sizeof(ver), "0x%08x", st->version);
	dj_begin(w, "quic_initial", DISSECT_C2S, ts);
	dj_cstr(w, "version", ver);
	dj_hex(w, "dcid", st->dcid, st->dcid_len);
	dj_hex(w, "scid", st->scid, st->scid_len);
	if (ch) {
		char ja4[37], ja3[1024], md5[33];

		tls_sni_alpn_emit(w, ch);
		if (tls_ja4(ch, 'q', ja4) == 0)
			dj_cstr(w, "ja4", ja4);
		if (tls_ja3(ch, ja3, sizeof(ja3), md5) == 0)
			dj_cstr(w, "ja3", md5);
		dj_bool(w, "ech", ch->ech);
		if (ch->sni)
			dissect_summary_set(f, "sni", ch->sni, ch->sni_len);
	}
	dj_end(w);
	st->reported = true;
}

/* Handles the first handshake message of a direction once complete. */
static void quic_crypto_check(struct dissect_worker *w, struct dissect_flow *f,
	struct quic_state *st, enum dissect_dir dir, uint64_t ts)
{
	struct quic_crypto *cs = &st->cs[dir];
	uint8_t type = 0;
	int len;

	if (cs->done || !cs->buf)
		return;
	len = crypto_message(cs, &type);
	if (len == -EAGAIN)
		return;
	cs->done = true;
	if (len < 0) {
		dissect_malformed(w);
		return;
	}
	if (type == 1 && !st->reported) {
		struct tls_client_hello ch;

		if (tls_client_hello_parse(cs->buf + 4, (size_t)len, &ch) < 0) {
			dissect_malformed(w);
			return;
		}
		quic_emit_initial(w, f, st, ts, &ch);
	} else if (type == 2) {
		struct tls_server_hello sh;

		if (tls_server_hello_parse(cs->buf + 4, (size_t)len, &sh) < 0) {
			dissect_malformed(w);
			return;
		}
		dj_begin(w, "tls_server_hello", dir, ts);
		tls_server_hello_emit(w, &sh);
		dj_end(w);
	}
	/* The buffer is not needed any more. */
	free(cs->buf);
	cs->buf = NULL;
}

/* ---- packets ---------------------------------------------------------------------------- */

struct quic_hdr {
	uint32_t version;
	const uint8_t *dcid, *scid;
	uint8_t dcid_len, scid_len;
	size_t pn_off;  /* from the packet start */
	size_t pkt_len; /* whole packet, up to the end of its Length field's span */
	bool initial, retry;
	struct quic_vinfo vi;
};

/* Parses the long header at p. Returns 0, -EPROTONOSUPPORT for a version we
 * do not know (or version negotiation), -EBADMSG if it does not parse. */
static int quic_hdr_parse(const uint8_t *p, size_t len, struct quic_hdr *h)
{
	struct dcur c = dcur_make(p, len);
	uint8_t b0 = dcur_u8(&c);
	uint64_t n;

	memset(h, 0, sizeof(*h));
	h->version = dcur_u32(&c);
	h->dcid_len = dcur_u8(&c);
	/* The fixed bit may be clear (RFC 9287), so only the form bit counts. */
	if (!c.ok || !(b0 & 0x80))
		return -EBADMSG;
	if (h->dcid_len > QUIC_CID_MAX)
		return -EBADMSG;
	h->dcid = dcur_bytes(&c, h->dcid_len);
	h->scid_len = dcur_u8(&c);
	if (h->scid_len > QUIC_CID_MAX)
		return -EBADMSG;
	h->scid = dcur_bytes(&c, h->scid_len);
	if (!c.ok)
		return -EBADMSG;
	if (!h->version || !quic_version_info(h->version, &h->vi))
		return -EPROTONOSUPPORT;
	h->initial = quic_is_initial(b0, &h->vi);
	h->retry = quic_is_retry(b0, &h->vi);
	if (!h->vi.tls || h->retry) {
		h->pkt_len = len; /* not walked further */
		return 0;
	}
	if (h->initial) {
		n = dcur_varint(&c); /* token */
		if (!c.ok || n > c.len)
			return -EBADMSG;
		dcur_bytes(&c, (size_t)n);
	}
	n = dcur_varint(&c);
	if (!c.ok || n > c.len)
		return -EBADMSG;
	h->pn_off = len - c.len;
	h->pkt_len = h->pn_off + (size_t)n;
	return 0;
}

static bool quic_probe(const struct dissect_pkt *pkt)
{
	struct quic_hdr h;

	if (pkt->l4proto != IPPROTO_UDP)
		return false;
	return quic_hdr_parse(pkt->data, pkt->len, &h) == 0 && h.initial;
}

static void quic_note_client(struct quic_state *st, const struct quic_hdr *h)
{
	if (!st->ids) {
		st->ids = true;
		st->version = h->version;
		memcpy(st->dcid, h->dcid, h->dcid_len);
		st->dcid_len = h->dcid_len;
		memcpy(st->scid, h->scid, h->scid_len);
		st->scid_len = h->scid_len;
	}
	memcpy(st->last_cid, h->dcid, h->dcid_len);
	st->last_cid_len = h->dcid_len;
	st->last_version = h->version;
}

static bool quic_finished(const struct quic_state *st)
{
	return st->reported && st->cs[DISSECT_S2C].done;
}

static enum dissect_verdict quic_parse(struct dissect_worker *w, struct dissect_flow *f,
	void *state, enum dissect_dir dir, const uint8_t *data, size_t len, size_t *used,
	uint64_t ts_ns)
{
	struct quic_state *st = state;
	size_t off = 0;

	*used = len;
	while (off < len) {
		const uint8_t *pkt = data + off;
		struct quic_hdr h;
		int r;

		if (!(pkt[0] & 0x80))
			break; /* a short header takes the rest of the datagram */
		r = quic_hdr_parse(pkt, len - off, &h);
		if (r == -EPROTONOSUPPORT)
			break;
		if (r < 0) {
			dissect_malformed(w);
			break;
		}
		if (!h.vi.tls) {
			/* gQUIC crypto: report the header fields, nothing to decrypt. */
			if (dir == DISSECT_C2S && h.initial && !st->reported) {
				quic_note_client(st, &h);
				quic_emit_initial(w, f, st, ts_ns, NULL);
			}
			return st->reported ? DISSECT_DONE : DISSECT_MORE;
		}
		if (h.retry)
			break;
		if (h.initial && dir == DISSECT_C2S)
			quic_note_client(st, &h);
		if (h.initial && !st->cs[dir].done) {
			r = quic_decrypt(st, dir, h.version, pkt, h.pn_off, h.pkt_len);
			if (r >= 0) {
				if (quic_frames(w, &st->cs[dir], h.vi.gquic_frames, st->pt, (size_t)r) == -ENOMEM)
					return DISSECT_DONE;
				quic_crypto_check(w, f, st, dir, ts_ns);
			}
		}
		off += h.pkt_len;
	}
	return quic_finished(st) ? DISSECT_DONE : DISSECT_MORE;
}

const struct dissector dissector_quic = {
	.name = "quic",
	.transport = IPPROTO_UDP,
	.ports = {443, 784, 853, 0},
	.state_size = sizeof(struct quic_state),
	.probe = quic_probe,
	.parse = quic_parse,
	.fini = quic_fini,
};
