/* Tests of the SSH dissector: banners (RFC 4253 section 4.2) including
 * lines a server sends first and a banner split over segments, KEXINIT
 * (section 7.1) in one segment or several, the HASSH fingerprints, version 1
 * banners, and with the corpus the fingerprints tshark computes
 * (ssh.kex.hassh / ssh.kex.hasshserver in NAME.tshark-fp.tsv).
 *
 * The expected hashes of the hand-made KEXINITs are the MD5 of the
 * "kex;ciphers;macs;compression" strings, computed independently
 * (python3 hashlib.md5).
 */
#include "tests/dissect/dtest.h"
#include "tests/dissect/pcap_driver.h"

struct buf {
	uint8_t b[2048];
	size_t n;
};

static void put(struct buf *m, const void *p, size_t n)
{
	assert_true(m->n + n <= sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void u32(struct buf *m, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	put(m, b, 4);
}

static void namelist(struct buf *m, const char *s)
{
	u32(m, (uint32_t)strlen(s));
	put(m, s, strlen(s));
}

/* A KEXINIT binary packet with the given lists (RFC 4253 sections 6, 7.1). */
static void kexinit(struct buf *pkt, const char *const lists[10])
{
	struct buf pl = {.n = 0};
	uint8_t pad = 4;

	put(&pl, "\x14", 1);
	put(&pl, "0123456789abcdef", 16);
	for (int i = 0; i < 10; i++)
		namelist(&pl, lists[i]);
	put(&pl, "\0\0\0\0\0", 5); /* first_kex_packet_follows, reserved */
	pad = (uint8_t)(8 - (pl.n + 5) % 8);
	if (pad < 4)
		pad = (uint8_t)(pad + 8);
	pkt->n = 0;
	u32(pkt, (uint32_t)(1 + pl.n + pad));
	put(pkt, &pad, 1);
	put(pkt, pl.b, pl.n);
	put(pkt, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", pad);
}

static const char *const client_lists[10] = {
	"curve25519-sha256,diffie-hellman-group14-sha256", "ssh-ed25519",
	"aes128-ctr,aes256-gcm@openssh.com", "aes128-ctr", "hmac-sha2-256", "hmac-sha2-256",
	"none", "none", "", ""};
static const char *const server_lists[10] = {
	"curve25519-sha256,diffie-hellman-group14-sha256", "rsa-sha2-512,ssh-ed25519",
	"aes128-ctr", "chacha20-poly1305@openssh.com", "hmac-sha1", "hmac-sha2-512", "none",
	"none,zlib@openssh.com", "", ""};

static void test_banners_and_kexinit(void **state)
{
	struct dt t;
	struct buf k;
	char sum[128];

	(void)state;
	dt_init(&t, 0);
	dt_tcp_open(&t, 2222);
	/* The server speaks first, with a line before its banner. */
	dt_tcps(&t, 1, 2222, "Welcome\r\nSSH-2.0-OpenSSH_9.6 Debian-1\r\n");
	dt_tcps(&t, 0, 2222, "SSH-2.0-Open");
	dt_tcps(&t, 0, 2222, "SSH_8.9\r\n");
	kexinit(&k, client_lists);
	dt_tcp(&t, 0, 2222, k.b, 10); /* KEXINIT over three segments */
	dt_tcp(&t, 0, 2222, k.b + 10, 50);
	dt_tcp(&t, 0, 2222, k.b + 60, k.n - 60);
	kexinit(&k, server_lists);
	assert_false(dt_tcp(&t, 1, 2222, k.b, k.n)); /* both seen: done */

	assert_int_equal(t.n, 4);
	dt_expect(&t, 0, "ssh_banner",
		"\"software\":\"OpenSSH_9.6\",\"version\":\"2.0\",\"comments\":\"Debian-1\"");
	assert_int_equal(t.ev[0].dir, DISSECT_S2C);
	dt_expect(&t, 1, "ssh_banner", "\"software\":\"OpenSSH_8.9\",\"version\":\"2.0\"");
	dt_expect(&t, 2, "ssh_kexinit",
		"\"hassh\":\"b21aaabfc9d2e45bafeef69aa7e7fada\","
		"\"kex\":[\"curve25519-sha256\",\"diffie-hellman-group14-sha256\"],"
		"\"host_key\":[\"ssh-ed25519\"],"
		"\"ciphers_c2s\":[\"aes128-ctr\",\"aes256-gcm@openssh.com\"],"
		"\"ciphers_s2c\":[\"aes128-ctr\"],\"macs_c2s\":[\"hmac-sha2-256\"],"
		"\"macs_s2c\":[\"hmac-sha2-256\"],\"compression_c2s\":[\"none\"],"
		"\"compression_s2c\":[\"none\"]");
	assert_non_null(strstr(t.ev[3].fields,
		"\"hassh_server\":\"95996ea9539ab6bfa9c6a5bb6b595a15\""));
	dissect_flow_summary(t.f, sum, sizeof(sum));
	assert_string_equal(sum, "\"software\":\"OpenSSH_8.9\"");
	dt_fini(&t);
}

static void test_version1_and_garbage(void **state)
{
	struct dt t;

	(void)state;
	dt_init(&t, 0);
	dt_tcp_open(&t, 22);
	dt_tcps(&t, 1, 22, "SSH-1.5-OldServer\n");
	dt_tcps(&t, 0, 22, "SSH-1.5-OldClient\n\x00\x00\x01\x00garbage");
	assert_int_equal(t.n, 2);
	dt_expect(&t, 1, "ssh_banner", "\"software\":\"OldClient\",\"version\":\"1.5\"");
	assert_int_equal(dt_stats(&t).malformed, 0);
	dt_fini(&t);

	/* A binary packet with an impossible length after the banner. */
	dt_init(&t, 0);
	dt_tcp_open(&t, 22);
	dt_tcps(&t, 0, 22, "SSH-2.0-x\r\n\xff\xff\xff\xff\x04\x14");
	assert_int_equal(dt_stats(&t).malformed, 1);
	dt_fini(&t);
}

struct hassh_seen {
	char client[33], server[33];
};

static void hassh_emit(void *ctx, const char *event, enum dissect_dir dir, uint64_t ts_ns,
	const char *fields, size_t len)
{
	struct hassh_seen *h = ctx;
	const char *key = dir == DISSECT_C2S ? "\"hassh\":\"" : "\"hassh_server\":\"";
	char buf[8192];
	const char *p;

	(void)ts_ns;
	if (strcmp(event, "ssh_kexinit"))
		return;
	snprintf(buf, sizeof(buf), "%.*s", (int)len, fields);
	p = strstr(buf, key);
	assert_non_null(p);
	snprintf(dir == DISSECT_C2S ? h->client : h->server, 33, "%s", p + strlen(key));
}

static void test_corpus_hassh(void **state)
{
	/* From ssh/ndpi-ssh.pcap.tshark-fp.tsv (frames 8 and 10) and
	 * ssh/zeek-ssh-reverse-ssh.pcap.tshark-fp.tsv (frames 6 and 8). */
	static const struct {
		const char *file, *client, *server;
	} cases[] = {
		{"ssh/zeek-ssh-reverse-ssh.pcap", "413e646031ea5204c5ec2fe2d5b7946e",
			"18f369389d126cfeecade20e1ea5ff9b"},
		{"ssh/zeek-ssh_version_199.pcap", "3cc67862bceac0f334c62ad1b76895b4",
			"3cc67862bceac0f334c62ad1b76895b4"},
	};
	char path[1024];

	(void)state;
	if (!dt_corpus())
		skip();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hassh_seen h = {{0}, {0}};
		struct dissect_worker *w = dissect_worker_new(NULL, hassh_emit, &h);

		assert_non_null(w);
		snprintf(path, sizeof(path), "%s/%s", dt_corpus(), cases[i].file);
		assert_int_equal(pcap_driver_run(path, w, NULL, NULL, NULL, NULL), 0);
		assert_string_equal(h.client, cases[i].client);
		assert_string_equal(h.server, cases[i].server);
		dissect_worker_free(w);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_banners_and_kexinit),
		cmocka_unit_test(test_version1_and_garbage),
		cmocka_unit_test(test_corpus_hassh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
