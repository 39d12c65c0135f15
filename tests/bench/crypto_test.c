/*
 * Known-answer tests for the generator's QUIC Initial crypto (bench/crypto.c)
 * against published vectors: FIPS 180-4 / FIPS 197 examples, RFC 4231 HMAC
 * case 2, the GCM spec's test cases 1-3 and RFC 9001 appendix A.1 keys.
 */
#include <stdio.h>
#include <string.h>

#include "bench/crypto.h"

static int failures;

static void hex2bin(const char *hex, uint8_t *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned int b;

		sscanf(hex + 2 * i, "%2x", &b);
		out[i] = (uint8_t)b;
	}
}

static void expect(const char *what, const uint8_t *got, const char *hex)
{
	uint8_t want[64];
	size_t n = strlen(hex) / 2, i;

	hex2bin(hex, want, n);
	if (memcmp(got, want, n) == 0)
		return;
	failures++;
	printf("FAIL %s\n  want %s\n  got  ", what, hex);
	for (i = 0; i < n; i++)
		printf("%02x", got[i]);
	printf("\n");
}

int main(void)
{
	static const char msg56[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	uint8_t out[64], key[16], iv[12], pt[64], tag[16], secret[32], salt[20], dcid[8];
	struct bench_aes128 aes;

	bench_sha256((const uint8_t *)"abc", 3, out);
	expect("sha256 abc", out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	bench_sha256((const uint8_t *)msg56, 56, out);
	expect("sha256 56", out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

	bench_hmac_sha256((const uint8_t *)"Jefe", 4, (const uint8_t *)"what do ya want for nothing?",
		28, out);
	expect("hmac rfc4231-2", out,
		"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

	hex2bin("000102030405060708090a0b0c0d0e0f", key, 16);
	hex2bin("00112233445566778899aabbccddeeff", pt, 16);
	bench_aes128_init(&aes, key);
	bench_aes128_encrypt(&aes, pt, out);
	expect("aes128 fips197", out, "69c4e0d86a7b0430d8cdb78070b4c55a");

	memset(key, 0, sizeof(key));
	memset(iv, 0, sizeof(iv));
	memset(pt, 0, sizeof(pt));
	bench_gcm_seal(key, iv, NULL, 0, pt, out, 0, tag);
	expect("gcm tc1 tag", tag, "58e2fccefa7e3061367f1d57a4e7455a");
	bench_gcm_seal(key, iv, NULL, 0, pt, out, 16, tag);
	expect("gcm tc2 ct", out, "0388dace60b6a392f328c2b971b2fe78");
	expect("gcm tc2 tag", tag, "ab6e47d42cec13bdf53a67b21257bddf");
	hex2bin("feffe9928665731c6d6a8f9467308308", key, 16);
	hex2bin("cafebabefacedbaddecaf888", iv, 12);
	hex2bin("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
		"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255", pt, 64);
	bench_gcm_seal(key, iv, NULL, 0, pt, out, 64, tag);
	expect("gcm tc3 ct", out,
		"42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
		"21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985");
	expect("gcm tc3 tag", tag, "4d5c2af327cd64a62cf35abd2ba6fab4");

	/* RFC 9001 A.1: Initial keys for DCID 0x8394c8f03e515708. */
	hex2bin("38762cf7f55934b34d179ae6a4c80cadccbb7f0a", salt, 20);
	hex2bin("8394c8f03e515708", dcid, 8);
	bench_hmac_sha256(salt, 20, dcid, 8, secret);
	expect("quic initial_secret", secret,
		"7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44");
	bench_hkdf_expand_label(secret, "client in", out, 32);
	expect("quic client_initial_secret", out,
		"c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea");
	memcpy(secret, out, 32);
	bench_hkdf_expand_label(secret, "quic key", out, 16);
	expect("quic key", out, "1f369613dd76d5467730efcbe3b1a22d");
	bench_hkdf_expand_label(secret, "quic iv", out, 12);
	expect("quic iv", out, "fa044b2f42a3fd3b46fb255c");
	bench_hkdf_expand_label(secret, "quic hp", out, 16);
	expect("quic hp", out, "9f50449e04a0e810283a1e9933adedd2");

	printf("%s\n", failures ? "crypto: FAILED" : "crypto: all vectors match");
	return failures ? 1 : 0;
}
