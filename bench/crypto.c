/*
 * bench/crypto: the few primitives procsniff-gen needs to protect QUIC v1
 * Initial packets (RFC 9001 section 5), on OpenSSL's libcrypto: SHA-256,
 * HMAC-SHA256 (HKDF-Extract), TLS 1.3 HKDF-Expand-Label, one AES-128 block
 * for the header protection mask, and AES-128-GCM sealing. Used once per
 * prebuilt packet at start-up, never per frame.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "crypto.h"

void bench_sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
	unsigned int n = 32;

	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

void bench_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
	uint8_t out[32])
{
	unsigned int n = 32;

	HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, out, &n);
}

int bench_hkdf_expand_label(const uint8_t secret[32], const char *label, uint8_t *out,
	size_t out_len)
{
	uint8_t info[2 + 1 + 255 + 1 + 1], t[32];
	size_t llen = strlen(label), n = 0;

	if (out_len > 32 || 6 + llen > 255)
		return -EINVAL;
	/* HkdfLabel: length, "tls13 " + label, empty context; one block of
	 * HKDF-Expand suffices for at most 32 bytes: T(1) = HMAC(info | 0x01). */
	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)(6 + llen);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, llen);
	n += llen;
	info[n++] = 0;
	info[n++] = 1;
	bench_hmac_sha256(secret, 32, info, n, t);
	memcpy(out, t, out_len);
	return 0;
}

void bench_aes128_init(struct bench_aes128 *ctx, const uint8_t key[16])
{
	memcpy(ctx->key, key, 16);
}

void bench_aes128_encrypt(const struct bench_aes128 *ctx, const uint8_t in[16], uint8_t out[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t buf[32];
	int n = 0;

	if (!c)
		return;
	if (EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, ctx->key, NULL) == 1) {
		EVP_CIPHER_CTX_set_padding(c, 0);
		if (EVP_EncryptUpdate(c, buf, &n, in, 16) == 1 && n == 16)
			memcpy(out, buf, 16);
	}
	EVP_CIPHER_CTX_free(c);
}

void bench_gcm_seal(const uint8_t key[16], const uint8_t iv[12], const uint8_t *aad,
	size_t aad_len, const uint8_t *in, uint8_t *out, size_t len, uint8_t tag[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0;

	if (!c)
		return;
	if (EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, key, iv) == 1 &&
		(!aad_len || EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len) == 1) &&
		(!len || EVP_EncryptUpdate(c, out, &n, in, (int)len) == 1) &&
		EVP_EncryptFinal_ex(c, out + len, &n) == 1)
		EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
	EVP_CIPHER_CTX_free(c);
}
