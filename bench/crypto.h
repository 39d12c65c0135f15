/*
 * Crypto for procsniff-gen, on OpenSSL's libcrypto: just what protecting
 * QUIC v1 Initial packets (RFC 9001 section 5) takes: SHA-256, HMAC,
 * HKDF-Expand-Label, one AES-128 block and AES-128-GCM sealing. The
 * generator protects a fixed pool of packets once at start-up, never per
 * frame.
 */
#ifndef PROCSNIFF_BENCH_CRYPTO_H
#define PROCSNIFF_BENCH_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

struct bench_aes128 {
	uint8_t key[16];
};

/*
 * bench_sha256 - SHA-256 of @len bytes at @data into @out (32 bytes).
 * Context: any thread.
 */
void bench_sha256(const uint8_t *data, size_t len, uint8_t out[32]);

/*
 * bench_hmac_sha256 - HMAC-SHA256 (RFC 2104) of @msg under @key into @out.
 * Keys longer than 64 bytes are hashed first.
 * Context: any thread.
 */
void bench_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
	uint8_t out[32]);

/*
 * bench_hkdf_expand_label - TLS 1.3 HKDF-Expand-Label (RFC 8446 7.1) with an
 * empty context: @out_len (<= 32) bytes from @secret and @label (without the
 * "tls13 " prefix). Returns 0, or -EINVAL for a length or label too long.
 * Context: any thread.
 */
int bench_hkdf_expand_label(const uint8_t secret[32], const char *label, uint8_t *out,
	size_t out_len);

/*
 * bench_aes128_init - expands @key into @ctx.
 * Context: any thread.
 */
void bench_aes128_init(struct bench_aes128 *ctx, const uint8_t key[16]);

/*
 * bench_aes128_encrypt - encrypts one block (in and out may alias).
 * Context: any thread.
 */
void bench_aes128_encrypt(const struct bench_aes128 *ctx, const uint8_t in[16], uint8_t out[16]);

/*
 * bench_gcm_seal - AES-128-GCM (NIST SP 800-38D) with a 96-bit @iv: encrypts
 * @len bytes of @in into @out (may alias) and writes the 16-byte @tag over
 * @aad and the ciphertext.
 * Context: any thread.
 */
void bench_gcm_seal(const uint8_t key[16], const uint8_t iv[12], const uint8_t *aad,
	size_t aad_len, const uint8_t *in, uint8_t *out, size_t len, uint8_t tag[16]);

#endif
