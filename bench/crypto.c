/*
 * Minimal crypto for procsniff-gen (see crypto.h): SHA-256 (FIPS 180-4),
 * HMAC (RFC 2104), HKDF-Expand-Label (RFC 5869, RFC 8446 7.1), AES-128
 * (FIPS 197, S-box computed at first use) and GCM (SP 800-38D, bitwise
 * GHASH). Straightforward textbook code, not constant time.
 */
#include <errno.h>
#include <string.h>

#include "bench/crypto.h"

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static uint32_t ror32(uint32_t x, unsigned int n)
{
	return x >> n | x << (32 - n);
}

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, k, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
			(uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 64; i++)
		w[i] = w[i - 16] + (ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ w[i - 15] >> 3) +
			w[i - 7] + (ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ w[i - 2] >> 10);
	a = h[0];
	b = h[1];
	c = h[2];
	d = h[3];
	e = h[4];
	f = h[5];
	g = h[6];
	k = h[7];
	for (i = 0; i < 64; i++) {
		t1 = k + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) +
			sha256_k[i] + w[i];
		t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		k = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += k;
}

/* Hashes @n1 bytes of @d1 then @n2 bytes of @d2 (HMAC needs two pieces). */
static void sha256_two(const uint8_t *d1, size_t n1, const uint8_t *d2, size_t n2, uint8_t out[32])
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c,
		0x1f83d9ab, 0x5be0cd19 };
	uint8_t buf[64];
	size_t fill = 0, total = n1 + n2, i;
	uint64_t bits = (uint64_t)total * 8;
	const uint8_t *src[2] = { d1, d2 };
	size_t len[2] = { n1, n2 };
	int part;

	for (part = 0; part < 2; part++) {
		for (i = 0; i < len[part]; i++) {
			buf[fill++] = src[part][i];
			if (fill == 64) {
				sha256_block(h, buf);
				fill = 0;
			}
		}
	}
	buf[fill++] = 0x80;
	if (fill > 56) {
		memset(buf + fill, 0, 64 - fill);
		sha256_block(h, buf);
		fill = 0;
	}
	memset(buf + fill, 0, 56 - fill);
	for (i = 0; i < 8; i++)
		buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256_block(h, buf);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
}

void bench_sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
	sha256_two(data, len, NULL, 0, out);
}

void bench_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
	uint8_t out[32])
{
	uint8_t k[64] = { 0 }, pad[64], inner[32];
	int i;

	if (key_len > 64)
		bench_sha256(key, key_len, k);
	else
		memcpy(k, key, key_len);
	for (i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	sha256_two(pad, 64, msg, msg_len, inner);
	for (i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	sha256_two(pad, 64, inner, 32, out);
}

int bench_hkdf_expand_label(const uint8_t secret[32], const char *label, uint8_t *out,
	size_t out_len)
{
	uint8_t info[2 + 1 + 255 + 1 + 1], t[32];
	size_t llen = strlen(label), n = 0;

	if (out_len > 32 || llen + 6 > 255)
		return -EINVAL;
	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)(6 + llen);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, llen);
	n += llen;
	info[n++] = 0;		/* empty context */
	info[n++] = 1;		/* HKDF-Expand: T(1) = HMAC(PRK, info | 0x01) */
	bench_hmac_sha256(secret, 32, info, n, t);
	memcpy(out, t, out_len);
	return 0;
}

static uint8_t aes_sbox[256];

static uint8_t rotl8(uint8_t x, unsigned int n)
{
	return (uint8_t)(x << n | x >> (8 - n));
}

/* S-box from the GF(2^8) inverse and the affine map (FIPS 197 5.1.1). */
static void aes_sbox_init(void)
{
	uint8_t p = 1, q = 1;

	if (aes_sbox[0] == 0x63)
		return;
	do {
		/* p * 3 and q / 3 walk the multiplicative group in step. */
		p = (uint8_t)(p ^ (p << 1) ^ ((p & 0x80) ? 0x1b : 0));
		q ^= (uint8_t)(q << 1);
		q ^= (uint8_t)(q << 2);
		q ^= (uint8_t)(q << 4);
		if (q & 0x80)
			q ^= 0x09;
		aes_sbox[p] = (uint8_t)(q ^ rotl8(q, 1) ^ rotl8(q, 2) ^ rotl8(q, 3) ^ rotl8(q, 4) ^
			0x63);
	} while (p != 1);
	aes_sbox[0] = 0x63;
}

static uint8_t xtime(uint8_t x)
{
	return (uint8_t)(x << 1 ^ ((x & 0x80) ? 0x1b : 0));
}

void bench_aes128_init(struct bench_aes128 *ctx, const uint8_t key[16])
{
	uint8_t rcon = 1, t[4];
	int i;

	aes_sbox_init();
	memcpy(ctx->rk, key, 16);
	for (i = 16; i < 176; i += 4) {
		memcpy(t, ctx->rk + i - 4, 4);
		if (i % 16 == 0) {
			uint8_t x = t[0];

			t[0] = aes_sbox[t[1]] ^ rcon;
			t[1] = aes_sbox[t[2]];
			t[2] = aes_sbox[t[3]];
			t[3] = aes_sbox[x];
			rcon = xtime(rcon);
		}
		ctx->rk[i] = ctx->rk[i - 16] ^ t[0];
		ctx->rk[i + 1] = ctx->rk[i - 15] ^ t[1];
		ctx->rk[i + 2] = ctx->rk[i - 14] ^ t[2];
		ctx->rk[i + 3] = ctx->rk[i - 13] ^ t[3];
	}
}

void bench_aes128_encrypt(const struct bench_aes128 *ctx, const uint8_t in[16], uint8_t out[16])
{
	uint8_t s[16], t[16];
	int r, i, c;

	for (i = 0; i < 16; i++)
		s[i] = in[i] ^ ctx->rk[i];
	for (r = 1; r <= 10; r++) {
		/* SubBytes and ShiftRows; the state is column-major. */
		for (c = 0; c < 4; c++)
			for (i = 0; i < 4; i++)
				t[4 * c + i] = aes_sbox[s[4 * ((c + i) % 4) + i]];
		if (r < 10) {
			for (c = 0; c < 4; c++) {
				uint8_t *col = t + 4 * c;
				uint8_t a0 = col[0], a1 = col[1], a2 = col[2], a3 = col[3];
				uint8_t all = a0 ^ a1 ^ a2 ^ a3;

				col[0] = a0 ^ all ^ xtime(a0 ^ a1);
				col[1] = a1 ^ all ^ xtime(a1 ^ a2);
				col[2] = a2 ^ all ^ xtime(a2 ^ a3);
				col[3] = a3 ^ all ^ xtime(a3 ^ a0);
			}
		}
		for (i = 0; i < 16; i++)
			s[i] = t[i] ^ ctx->rk[16 * r + i];
	}
	memcpy(out, s, 16);
}

struct gf128 {
	uint64_t hi;
	uint64_t lo;
};

static struct gf128 gf_load(const uint8_t *p)
{
	struct gf128 x = { 0, 0 };
	int i;

	for (i = 0; i < 8; i++) {
		x.hi = x.hi << 8 | p[i];
		x.lo = x.lo << 8 | p[8 + i];
	}
	return x;
}

/* X * Y in GCM's bit-reflected GF(2^128) (SP 800-38D algorithm 1). */
static struct gf128 gf_mul(struct gf128 x, struct gf128 y)
{
	struct gf128 z = { 0, 0 }, v = y;
	int i;

	for (i = 0; i < 128; i++) {
		uint64_t bit = i < 64 ? (x.hi >> (63 - i)) & 1 : (x.lo >> (127 - i)) & 1;
		uint64_t carry = v.lo & 1;

		if (bit) {
			z.hi ^= v.hi;
			z.lo ^= v.lo;
		}
		v.lo = v.lo >> 1 | v.hi << 63;
		v.hi >>= 1;
		if (carry)
			v.hi ^= 0xe100000000000000ull;
	}
	return z;
}

static void ghash_update(struct gf128 *acc, struct gf128 h, const uint8_t *p, size_t len)
{
	uint8_t block[16];
	size_t off;

	for (off = 0; off < len; off += 16) {
		size_t n = len - off < 16 ? len - off : 16;
		struct gf128 b;

		memset(block, 0, sizeof(block));
		memcpy(block, p + off, n);
		b = gf_load(block);
		acc->hi ^= b.hi;
		acc->lo ^= b.lo;
		*acc = gf_mul(*acc, h);
	}
}

void bench_gcm_seal(const uint8_t key[16], const uint8_t iv[12], const uint8_t *aad,
	size_t aad_len, const uint8_t *in, uint8_t *out, size_t len, uint8_t tag[16])
{
	struct bench_aes128 aes;
	uint8_t zero[16] = { 0 }, hbytes[16], ctr[16], ks[16], lens[16];
	struct gf128 h, acc = { 0, 0 }, l;
	uint32_t n = 1;
	size_t off, i;

	bench_aes128_init(&aes, key);
	bench_aes128_encrypt(&aes, zero, hbytes);
	h = gf_load(hbytes);
	memcpy(ctr, iv, 12);
	for (off = 0; off < len; off += 16) {
		n++;
		ctr[12] = (uint8_t)(n >> 24);
		ctr[13] = (uint8_t)(n >> 16);
		ctr[14] = (uint8_t)(n >> 8);
		ctr[15] = (uint8_t)n;
		bench_aes128_encrypt(&aes, ctr, ks);
		for (i = 0; i < 16 && off + i < len; i++)
			out[off + i] = in[off + i] ^ ks[i];
	}
	ghash_update(&acc, h, aad, aad_len);
	ghash_update(&acc, h, out, len);
	for (i = 0; i < 8; i++) {
		lens[i] = (uint8_t)(((uint64_t)aad_len * 8) >> (56 - 8 * i));
		lens[8 + i] = (uint8_t)(((uint64_t)len * 8) >> (56 - 8 * i));
	}
	l = gf_load(lens);
	acc.hi ^= l.hi;
	acc.lo ^= l.lo;
	acc = gf_mul(acc, h);
	ctr[12] = 0;
	ctr[13] = 0;
	ctr[14] = 0;
	ctr[15] = 1;
	bench_aes128_encrypt(&aes, ctr, ks);
	for (i = 0; i < 8; i++) {
		tag[i] = (uint8_t)(acc.hi >> (56 - 8 * i)) ^ ks[i];
		tag[8 + i] = (uint8_t)(acc.lo >> (56 - 8 * i)) ^ ks[8 + i];
	}
}
