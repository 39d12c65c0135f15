/* TLS dissector tests: JA3/JA4 of a ClientHello against published values,
 * handshake reassembly across segments and records, HelloRetryRequest,
 * certificates, malformed input, and every TLS capture of the corpus
 * against tshark 4.0.17's reference (ja3, ja3s, sni, alpn, cipher).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "dissect/dissect.h"
#include "dissect/tls_hello.h"
#include "tests/dissect/pcap_driver.h"

#include "tests/dissect/evcollect.h"

static struct ev *find_event(const char *name, size_t from)
{
	for (size_t i = from; i < n_evs; i++)
		if (!strcmp(evs[i].name, name))
			return &evs[i];
	return NULL;
}

/* ---- ClientHello builder ----------------------------------------------------- */

struct buf {
	uint8_t b[4096];
	size_t n;
};

static void put8(struct buf *b, unsigned v)
{
	b->b[b->n++] = (uint8_t)v;
}

static void put16(struct buf *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v);
}

static void putn(struct buf *b, const void *p, size_t n)
{
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void ext(struct buf *b, unsigned type, const struct buf *body)
{
	put16(b, type);
	put16(b, (unsigned)body->n);
	putn(b, body->b, body->n);
}

/* The ClientHello body of a Chrome hello to www.github.com whose Wireshark
 * dissection shows JA4 t13d1311h2_f57a46bbacb6_e7c285222651 and JA3
 * 50982bb7732015b00f10d5024747686f (key share bytes shortened: they do not
 * enter either fingerprint). */
static void github_hello(struct buf *h)
{
	static const unsigned ciphers[] = {0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc009,
		0xc013, 0xc00a, 0xc014, 0x1301, 0x1302, 0x1303};
	static const unsigned groups[] = {0x6399, 0x001d, 0x0017, 0x0018, 0x0019};
	static const unsigned sigs[] = {0x0804, 0x0403, 0x0807, 0x0805, 0x0806, 0x0401, 0x0501,
		0x0601, 0x0503, 0x0603, 0x0201, 0x0203};
	struct buf e = {.n = 0}, x;
	uint8_t zero[32] = {0};

	h->n = 0;
	put16(h, 0x0303);
	putn(h, zero, 32);
	put8(h, 32);
	putn(h, zero, 32);
	put16(h, 2 * 13);
	for (size_t i = 0; i < 13; i++)
		put16(h, ciphers[i]);
	put8(h, 1);
	put8(h, 0);

	x.n = 0; /* server_name */
	put16(&x, 17);
	put8(&x, 0);
	put16(&x, 14);
	putn(&x, "www.github.com", 14);
	ext(&e, 0, &x);
	x.n = 0;
	put8(&x, 1);
	put8(&x, 0);
	ext(&e, 11, &x);
	x.n = 0;
	put8(&x, 0);
	ext(&e, 65281, &x);
	x.n = 0;
	ext(&e, 23, &x);
	ext(&e, 18, &x);
	put8(&x, 1);
	put16(&x, 0);
	put16(&x, 0);
	ext(&e, 5, &x);
	x.n = 0;
	put16(&x, 10);
	for (size_t i = 0; i < 5; i++)
		put16(&x, groups[i]);
	ext(&e, 10, &x);
	x.n = 0;
	put16(&x, 24);
	for (size_t i = 0; i < 12; i++)
		put16(&x, sigs[i]);
	ext(&e, 13, &x);
	x.n = 0;
	put16(&x, 12);
	put8(&x, 2);
	putn(&x, "h2", 2);
	put8(&x, 8);
	putn(&x, "http/1.1", 8);
	ext(&e, 16, &x);
	x.n = 0;
	put8(&x, 4);
	put16(&x, 0x0304);
	put16(&x, 0x0303);
	ext(&e, 43, &x);
	x.n = 0;
	put16(&x, 36);
	put16(&x, 0x001d);
	put16(&x, 32);
	putn(&x, zero, 32);
	ext(&e, 51, &x);

	put16(h, (unsigned)e.n);
	putn(h, e.b, e.n);
}

static void test_ja3_ja4_published(void **unused)
{
	struct tls_client_hello ch;
	struct buf h;
	char full[1024], md5[33], ja4[37];

	github_hello(&h);
	assert_int_equal(tls_client_hello_parse(h.b, h.n, &ch), 0);
	assert_int_equal(ch.sni_len, 14);
	assert_memory_equal(ch.sni, "www.github.com", 14);
	assert_false(ch.ech);
	assert_int_equal(tls_ja3(&ch, full, sizeof(full), md5), 0);
	assert_string_equal(full, "771,49195-49199-49196-49200-52393-52392-49161-49171-49162-49172-"
				  "4865-4866-4867,0-11-65281-23-18-5-10-13-16-43-51,"
				  "25497-29-23-24-25,0");
	assert_string_equal(md5, "50982bb7732015b00f10d5024747686f");
	assert_int_equal(tls_ja4(&ch, 't', ja4), 0);
	assert_string_equal(ja4, "t13d1311h2_f57a46bbacb6_e7c285222651");
	assert_int_equal(tls_ja4(&ch, 'q', ja4), 0);
	assert_string_equal(ja4, "q13d1311h2_f57a46bbacb6_e7c285222651");
}

static void test_grease_and_truncation(void **unused)
{
	struct tls_client_hello ch;
	struct buf h;
	char full[16], md5[33];

	/* A cut JA3 string still hashes the whole string. */
	github_hello(&h);
	assert_int_equal(tls_client_hello_parse(h.b, h.n, &ch), 0);
	assert_int_equal(tls_ja3(&ch, full, sizeof(full), md5), 0);
	assert_int_equal(strlen(full), sizeof(full) - 1);
	assert_string_equal(md5, "50982bb7732015b00f10d5024747686f");
	/* RFC 8701 GREASE values. */
	assert_true(tls_is_grease(0x0a0a));
	assert_true(tls_is_grease(0xfafa));
	assert_false(tls_is_grease(0x0a1a));
	assert_false(tls_is_grease(0x1301));
	/* Every truncation of a hello fails cleanly or parses a prefix. */
	for (size_t n = 0; n < h.n; n++) {
		if (tls_client_hello_parse(h.b, n, &ch) == 0)
			assert_true(ch.exts_len <= n);
	}
	assert_string_equal(tls_cipher_name(0xc02f), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
	assert_string_equal(tls_cipher_name(0x1303), "TLS_CHACHA20_POLY1305_SHA256");
	assert_null(tls_cipher_name(0x0000));
}

/* ---- through dissect_packet --------------------------------------------------- */

static struct dissect_worker *worker(unsigned budget)
{
	struct dissect_config cfg = {.pkt_budget = budget};
	struct dissect_worker *w = dissect_worker_new(&cfg, collect, NULL);

	assert_non_null(w);
	return w;
}

static bool feed(struct dissect_worker *w, struct dissect_flow **f, int dir, uint8_t flags,
	uint32_t seq, const uint8_t *p, size_t n)
{
	struct dissect_pkt pkt = {
		.data = p,
		.len = (uint32_t)n,
		.l4proto = IPPROTO_TCP,
		.dir = (uint8_t)dir,
		.tcp_flags = flags,
		.sport = dir ? 443 : 50000,
		.dport = dir ? 50000 : 443,
		.tcp_seq = seq,
	};

	return dissect_packet(w, f, &pkt);
}

/* The github hello in two records, the message split across them, each
 * record sent a few bytes per segment: the event is the same as whole. */
static void test_split_records_and_segments(void **unused)
{
	struct dissect_worker *w = worker(100000);
	struct dissect_flow *f = NULL;
	struct buf h, wire = {.n = 0};
	size_t cut, off = 0;
	uint32_t seq = 1000;
	char v[128];
	struct ev *e;

	github_hello(&h);
	/* message: type 1, u24 length, body; records cut the message at cut */
	uint8_t msg[4096];
	size_t mlen = 0;

	msg[mlen++] = 1;
	msg[mlen++] = (uint8_t)(h.n >> 16);
	msg[mlen++] = (uint8_t)(h.n >> 8);
	msg[mlen++] = (uint8_t)h.n;
	memcpy(msg + mlen, h.b, h.n);
	mlen += h.n;
	cut = 100;
	put8(&wire, 22);
	put16(&wire, 0x0301);
	put16(&wire, (unsigned)cut);
	putn(&wire, msg, cut);
	put8(&wire, 22);
	put16(&wire, 0x0301);
	put16(&wire, (unsigned)(mlen - cut));
	putn(&wire, msg + cut, mlen - cut);

	n_evs = 0;
	feed(w, &f, 0, 0x02, seq - 1, NULL, 0); /* SYN */
	while (off < wire.n) {
		size_t n = wire.n - off < 7 ? wire.n - off : 7;

		feed(w, &f, 0, 0x10, seq + (uint32_t)off, wire.b + off, n);
		off += n;
	}
	e = find_event("tls_client_hello", 0);
	assert_non_null(e);
	assert_true(field_str(e->fields, "sni", v, sizeof(v)));
	assert_string_equal(v, "www.github.com");
	assert_true(field_list(e->fields, "alpn", v, sizeof(v)));
	assert_string_equal(v, "h2,http/1.1");
	assert_true(field_str(e->fields, "ja3", v, sizeof(v)));
	assert_string_equal(v, "50982bb7732015b00f10d5024747686f");
	assert_true(field_str(e->fields, "ja4", v, sizeof(v)));
	assert_string_equal(v, "t13d1311h2_f57a46bbacb6_e7c285222651");
	assert_non_null(strstr(e->fields, "\"ech\":false"));
	assert_string_equal(dissect_flow_app(f), "tls");
	assert_true(dissect_flow_summary(f, v, sizeof(v)) > 0);
	assert_non_null(strstr(v, "www.github.com"));
	dissect_flow_free(f);
	dissect_worker_free(w);
	evs_clear();
}

/* Garbage after a valid record start, lengths that lie, and random bytes
 * must not crash, loop or emit a hello; they are counted. */
static void test_malformed(void **unused)
{
	struct dissect_worker *w = worker(64);
	struct dissect_stats st;
	uint8_t p[300];

	for (unsigned round = 0; round < 200; round++) {
		struct dissect_flow *f = NULL;

		srand(round);
		for (size_t i = 0; i < sizeof(p); i++)
			p[i] = (uint8_t)rand();
		/* record header + ClientHello header so the probe accepts it */
		p[0] = 22;
		p[1] = 3;
		p[2] = 1;
		p[5] = 1;
		/* lengths that fit, contents that do not */
		size_t n = sizeof(p) - round % 50;

		p[3] = (uint8_t)((n - 5) >> 8);
		p[4] = (uint8_t)(n - 5);
		p[6] = 0;
		p[7] = (uint8_t)((n - 9) >> 8);
		p[8] = (uint8_t)(n - 9);
		p[43] = 200; /* session id length beyond the record: cannot parse */
		feed(w, &f, 0, 0x18, 1, p, n);
		feed(w, &f, 1, 0x18, 1, p + 7, 100);
		dissect_flow_free(f);
	}
	dissect_worker_stats(w, &st);
	assert_true(st.malformed > 0);
	assert_null(find_event("tls_client_hello", 0));
	dissect_worker_free(w);
	evs_clear();
}

/* A Certificate message beyond the handshake buffer (64 KiB) whose first
 * certificate alone is larger: reported as too large, not parsed, not lost. */
static void test_certificate_too_large(void **unused)
{
	static uint8_t wire[80000];
	/* record, ServerHello: version, zero random, no session id, 0xc02f, null */
	static const uint8_t sh[47] = {22, 3, 3, 0, 42, 2, 0, 0, 38, 3, 3, [43] = 0, [44] = 0xc0,
		[45] = 0x2f, [46] = 0};
	struct dissect_worker *w = worker(100000);
	struct dissect_flow *f = NULL;
	size_t n = 0, body = 70010, off = 0, left;
	uint32_t seq = 1;
	char v[64];
	struct ev *e;

	memcpy(wire, sh, sizeof(sh));
	n = sizeof(sh);
	/* handshake header + list length + first certificate length */
	uint8_t msg[10] = {11, (uint8_t)(body >> 16), (uint8_t)(body >> 8), (uint8_t)body,
		(uint8_t)((body - 3) >> 16), (uint8_t)((body - 3) >> 8), (uint8_t)(body - 3),
		(uint8_t)((body - 6) >> 16), (uint8_t)((body - 6) >> 8), (uint8_t)(body - 6)};
	left = body + 4;
	while (left) {
		size_t r = left < 16384 ? left : 16384;

		wire[n++] = 22;
		wire[n++] = 3;
		wire[n++] = 3;
		wire[n++] = (uint8_t)(r >> 8);
		wire[n++] = (uint8_t)r;
		for (size_t i = 0; i < r; i++, off++)
			wire[n++] = off < sizeof(msg) ? msg[off] : 0x30;
		left -= r;
	}
	n_evs = 0;
	for (off = 0; off < n; off += 1400) {
		size_t k = n - off < 1400 ? n - off : 1400;

		feed(w, &f, 1, 0x18, seq + (uint32_t)off, wire + off, k);
	}
	assert_non_null(find_event("tls_server_hello", 0));
	e = find_event("tls_certificate", 0);
	assert_non_null(e);
	assert_non_null(strstr(e->fields, "\"too_large\":true"));
	snprintf(v, sizeof(v), "\"size\":%zu", body - 6);
	assert_non_null(strstr(e->fields, v));
	dissect_flow_free(f);
	dissect_worker_free(w);
	evs_clear();
}

/* ---- corpus ------------------------------------------------------------------ */

static bool run_capture(const char *rel)
{
	return corpus_run(rel, worker(0));
}

struct expect {
	const char *rel;
	bool *used;
	unsigned checked;
};

/* Marks one unused event whose key equals want (and key2 equals want2). */
static bool take(struct expect *x, const char *event, const char *key, const char *want,
	const char *key2, const char *want2)
{
	char v[4096];

	for (size_t i = 0; i < n_evs; i++) {
		if (strcmp(evs[i].name, event) || x->used[i])
			continue;
		if (!field_str(evs[i].fields, key, v, sizeof(v)) || strcmp(v, want))
			continue;
		if (key2 && (!field_list(evs[i].fields, key2, v, sizeof(v)) || strcmp(v, want2)))
			continue;
		x->used[i] = true;
		return true;
	}
	return false;
}

static bool single(const char *types, const char *t)
{
	return !strcmp(types, t);
}

static void check_fp_line(char **col, int n, void *ctx)
{
	struct expect *x = ctx;

	if (n < 14)
		return;
	if (single(col[9], "1") && *col[10]) {
		if (!take(x, "tls_client_hello", "ja3", col[10], NULL, NULL))
			fail_msg("%s frame %s: ja3 %s not found", x->rel, col[0], col[10]);
		x->checked++;
	}
	if (single(col[9], "2") && *col[12]) {
		if (!take(x, "tls_server_hello", "ja3s", col[12], NULL, NULL))
			fail_msg("%s frame %s: ja3s %s not found", x->rel, col[0], col[12]);
		x->checked++;
	}
}

static void check_main_line(char **col, int n, void *ctx)
{
	struct expect *x = ctx;

	if (n < 21 || (n > 22 && *col[22]))
		return; /* QUIC lines are test_quic's */
	if (single(col[20], "1") && *col[16]) {
		if (!take(x, "tls_client_hello", "sni", col[16], "alpn", col[17]))
			fail_msg("%s frame %s: sni %s alpn %s not found", x->rel, col[0], col[16],
				col[17]);
		x->checked++;
	}
	if (single(col[20], "2") && *col[19]) {
		if (!take(x, "tls_server_hello", "cipher", col[19], NULL, NULL))
			fail_msg("%s frame %s: cipher %s not found", x->rel, col[0], col[19]);
		x->checked++;
	}
}

static unsigned count_events(const char *name)
{
	unsigned n = 0;

	for (size_t i = 0; i < n_evs; i++)
		n += !strcmp(evs[i].name, name);
	return n;
}

static unsigned count_fp_hellos(const char *rel)
{
	char path[1024], line[65536];
	unsigned n = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s.tshark-fp.tsv", corpus_dir(), rel);
	fp = fopen(path, "r");
	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp)) {
		/* column 10: handshake types of the frame */
		char *p = line;

		for (int i = 0; i < 9 && p; i++) {
			p = strchr(p, '\t');
			if (p)
				p++;
		}
		for (; p && *p && *p != '\t'; p++)
			n += *p == '1' && (p[1] == ',' || p[1] == '\t') &&
			     (p == line || p[-1] == '\t' || p[-1] == ',');
	}
	fclose(fp);
	return n;
}

static void test_corpus_tls(void **unused)
{
	static const char *const caps[] = {
		"tls/ndpi-443-curl.pcap",
		"tls/ndpi-chrome.pcap",
		"tls/ndpi-dingtalk.pcap",
		"tls/ndpi-http_ipv6.pcap",
		"tls/ndpi-ja3_lots_of_cipher_suites.pcap",
		"tls/ndpi-reddit.pcap",
		"tls/ndpi-safari.pcap",
		"tls/ndpi-tls_2_reasms.pcapng",
		"tls/ndpi-tls_ech.pcapng",
		"tls/ndpi-tls_missing_ch_frag.pcap",
		"tls/ndpi-tls_verylong_certificate.pcap",
		"tls/ndpi-tls_with_huge_ch.pcapng",
		"tls/suricata-sslv2-tls-upgrade.pcap",
		"tls/suricata-tls-client-hello-frag-mtu300.pcap",
		"tls/zeek-tls-client-certificate.pcap",
		"tls/zeek-tls-conn-with-extensions.pcap",
		"tls/zeek-tls-hrr.pcap",
		"tls/zeek-tls-tls1_1.pcap",
		"tls/zeek-tls13draft16-ff52.pcap",
		"other/ndpi-smtp-starttls.pcap",
		"other/ndpi-ocs.pcap",
	};
	unsigned total = 0;

	if (!corpus_dir())
		skip();
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		struct expect x = {.rel = caps[i]};

		assert_true(run_capture(caps[i]));
		x.used = calloc(n_evs + 1, sizeof(bool));
		assert_non_null(x.used);
		(void)tsv_each(caps[i], ".tshark-fp.tsv", check_fp_line, &x); /* not every capture has one */
		memset(x.used, 0, (n_evs + 1) * sizeof(bool));
		assert_true(tsv_each(caps[i], ".tshark.tsv", check_main_line, &x));
		/* no ClientHello that tshark did not see */
		assert_int_equal(count_events("tls_client_hello"), count_fp_hellos(caps[i]));
		total += x.checked;
		free(x.used);
	}
	printf("checked %u values against tshark\n", total);
	assert_true(total > 300);
	evs_clear();
}

/* tshark 4.0.17 -V on these captures: Certificate subject, issuer, validity
 * and subjectAltName of the first certificate; the HelloRetryRequest. */
static void test_corpus_certificate_and_hrr(void **unused)
{
	char v[512];
	struct ev *e;

	if (!corpus_dir())
		skip();
	assert_true(run_capture("tls/ndpi-443-curl.pcap"));
	e = find_event("tls_certificate", 0);
	assert_non_null(e);
	assert_int_equal(e->dir, DISSECT_S2C);
	assert_true(field_str(e->fields, "subject_cn", v, sizeof(v)));
	assert_string_equal(v, "www.ntop.org");
	assert_true(field_str(e->fields, "issuer", v, sizeof(v)));
	assert_string_equal(v, "CN=Let's Encrypt Authority X3,O=Let's Encrypt,C=US");
	assert_true(field_str(e->fields, "not_before", v, sizeof(v)));
	assert_string_equal(v, "2019-12-17T01:17:28Z");
	assert_true(field_str(e->fields, "not_after", v, sizeof(v)));
	assert_string_equal(v, "2020-03-16T01:17:28Z");
	assert_true(field_list(e->fields, "san", v, sizeof(v)));
	assert_string_equal(v, "www.ntop.org");
	e = find_event("tls_server_hello", 0);
	assert_non_null(e);
	assert_true(field_str(e->fields, "cipher_name", v, sizeof(v)));
	assert_string_equal(v, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
	assert_true(field_str(e->fields, "alpn", v, sizeof(v)));
	assert_string_equal(v, "h2");

	/* mutual TLS: the client's certificate too */
	assert_true(run_capture("tls/zeek-tls-client-certificate.pcap"));
	e = find_event("tls_certificate", 0);
	assert_non_null(e);
	e = find_event("tls_certificate", (size_t)(e - evs) + 1);
	assert_non_null(e);
	assert_int_equal(e->dir, DISSECT_C2S);
	assert_true(field_str(e->fields, "subject_cn", v, sizeof(v)));
	assert_string_equal(v, "johanna@corelight.com");

	assert_true(run_capture("tls/zeek-tls-hrr.pcap"));
	e = find_event("tls_server_hello", 0);
	assert_non_null(e);
	assert_non_null(strstr(e->fields, "\"hello_retry_request\":true"));
	assert_true(field_str(e->fields, "version", v, sizeof(v)));
	assert_string_equal(v, "0x0304");
	/* both ClientHellos reported */
	assert_int_equal(count_events("tls_client_hello"), 2);

	/* ECH (extension 0xfe0d) */
	assert_true(run_capture("tls/ndpi-tls_ech.pcapng"));
	e = find_event("tls_client_hello", 0);
	assert_non_null(e);
	assert_non_null(strstr(e->fields, "\"ech\":true"));
	evs_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ja3_ja4_published),
		cmocka_unit_test(test_grease_and_truncation),
		cmocka_unit_test(test_split_records_and_segments),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_certificate_too_large),
		cmocka_unit_test(test_corpus_tls),
		cmocka_unit_test(test_corpus_certificate_and_hrr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
