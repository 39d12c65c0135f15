/* QUIC dissector tests: the RFC 9001 and RFC 9369 Appendix A vectors (Initial
 * keys, header protection, payload decryption, the sample ClientHello and
 * ServerHello), tampered and truncated packets, and the QUIC captures of the
 * corpus against tshark 4.0.17 (sni, alpn, ja3, ja3s) and Suricata's JA4 for
 * its ja4-quic capture.
 *
 * White-box: includes proto_quic.c (its dissector renamed) to reach the key
 * schedule; the library's own copy is what dissect_packet() runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define dissector_quic dissector_quic_under_test
#include "dissect/proto_quic.c"
#undef dissector_quic

#include "tests/dissect/pcap_driver.h"

/* RFC 9001 A.2/A.3 and RFC 9369 A.2/A.3: protected packets. */
static const char rfc9001_a2_client[] =
	"c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11"
	"d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399"
	"1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c"
	"8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212"
	"30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5"
	"457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208"
	"4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec"
	"4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3"
	"485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db"
	"059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c"
	"7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8"
	"9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556"
	"be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74"
	"68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a"
	"c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
	"f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632"
	"291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964"
	"25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd"
	"14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff"
	"ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198"
	"e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd"
	"c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73"
	"203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f"
	"cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e"
	"fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade"
	"a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047"
	"90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2"
	"162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4"
	"40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0"
	"6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
	"8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0"
	"be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400"
	"54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab"
	"760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9"
	"f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4"
	"056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064"
	"7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241"
	"e221af44860018ab0856972e194cd934";
static const char rfc9001_a3_server[] =
	"cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a"
	"5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3"
	"dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84"
	"022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4"
	"2158407dd074ee";
static const char rfc9369_a2_client[] =
	"d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485"
	"dd04de806071bf03dceebfa162e75d6c96058bdbfb127cdfcbf903388e99ad04"
	"9f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d"
	"250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a"
	"12834e3f249a78d395e0d18f4d766004f1a2674802a747eaa901c3f10cda5500"
	"cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68"
	"18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff33"
	"12ae50b187c1433c0f028edcc4c2838b6a9bfc226ca4b4530e7a4ccee1bfa2a3"
	"d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd"
	"6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520"
	"bcfb7966fc49b393f0061d974a2706df8c4a9449f11d7f3d2dcbb90c6b877045"
	"636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f"
	"ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c12"
	"16ccce2d0193f958bb3850a833f7ae432b65bc5a53975c155aa4bcb4f7b2c4e5"
	"4df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4"
	"fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b"
	"8017c25ca9052ca1079d8b78aebd47876d330a30f6a8c6d61dd1ab5589329de7"
	"14d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9"
	"9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91"
	"abfe43960977c87471cf9ad4074d30e10d6a7f03c63bd5d4317f68ff325ba3bd"
	"80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db"
	"848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18"
	"d703dd84045a274ae8bfa73379661388d6991fe39b0d93debb41700b41f90a15"
	"c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc"
	"7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61"
	"f6b5b984d4d3dfa033c1bb7e4f0037febf406d91c0dccf32acf423cfa1e70710"
	"10d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b"
	"3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e"
	"06ebfde206bfb0fcbc0edc4ebec309661bdd908d532eb0c6adc38b7ca7331dce"
	"8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1"
	"34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1"
	"e86215c2d54e6670e07383a27bbffb5addf47d66aa85a0c6f9f32e59d85a44dd"
	"5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3"
	"8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89"
	"d5974ee12e5cf7d5da4d6a31123041f33e61407e76cffcdcfd7e19ba58cf4b53"
	"6f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19"
	"9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96b"
	"a18b2faa745b6fe189cf772a9f84cbfc";
static const char rfc9369_a3_server[] =
	"dc6b3343cf0008f067a5502a4262b5004075d92faaf16f05d8a4398c47089698"
	"baeea26b91eb761d9b89237bbf87263017915358230035f7fd3945d88965cf17"
	"f9af6e16886c61bfc703106fbaf3cb4cfa52382dd16a393e42757507698075b2"
	"c984c707f0a0812d8cd5a6881eaf21ceda98f4bd23f6fe1a3e2c43edd9ce7ca8"
	"4bed8521e2e140";

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (s[0] && s[1] && n < cap) {
		unsigned v;

		sscanf(s, "%2x", &v);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

static void assert_hex(const uint8_t *p, size_t n, const char *want)
{
	char got[256];

	assert_true(2 * n < sizeof(got));
	for (size_t i = 0; i < n; i++)
		snprintf(got + 2 * i, 3, "%02x", p[i]);
	assert_string_equal(got, want);
}

static const uint8_t rfc_dcid[8] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};

#include "tests/dissect/evcollect.h"

static struct ev *find_event(const char *name)
{
	for (size_t i = 0; i < n_evs; i++)
		if (!strcmp(evs[i].name, name))
			return &evs[i];
	return NULL;
}

static struct dissect_worker *worker(void)
{
	struct dissect_worker *w = dissect_worker_new(NULL, collect, NULL);

	assert_non_null(w);
	return w;
}

static bool feed_udp(struct dissect_worker *w, struct dissect_flow **f, int dir,
	const uint8_t *p, size_t n)
{
	struct dissect_pkt pkt = {
		.data = p,
		.len = (uint32_t)n,
		.l4proto = IPPROTO_UDP,
		.dir = (uint8_t)dir,
		.sport = dir ? 443 : 50000,
		.dport = dir ? 50000 : 443,
	};

	return dissect_packet(w, f, &pkt);
}

/* ---- RFC vectors -------------------------------------------------------------- */

static void test_rfc9001_keys(void **unused)
{
	struct quic_keys k[2];

	/* RFC 9001 A.1 */
	assert_int_equal(quic_keys_derive(salt_v1, false, rfc_dcid, 8, k), 0);
	assert_hex(k[0].key, 16, "1f369613dd76d5467730efcbe3b1a22d");
	assert_hex(k[0].iv, 12, "fa044b2f42a3fd3b46fb255c");
	assert_hex(k[0].hp, 16, "9f50449e04a0e810283a1e9933adedd2");
	assert_hex(k[1].key, 16, "cf3a5331653c364c88f0f379b6067e37");
	assert_hex(k[1].iv, 12, "0ac1493ca1905853b0bba03e");
	assert_hex(k[1].hp, 16, "c206b8d9b9f0f37644430b490eeaa314");
	/* RFC 9369 A.1 */
	assert_int_equal(quic_keys_derive(salt_v2, true, rfc_dcid, 8, k), 0);
	assert_hex(k[0].key, 16, "8b1a0bc121284290a29e0971b5cd045d");
	assert_hex(k[0].iv, 12, "91f73e2351d8fa91660e909f");
	assert_hex(k[0].hp, 16, "45b95e15235d6f45a6b19cbcb0294ba9");
	assert_hex(k[1].key, 16, "82db637861d55e1d011f19ea71d5d2a7");
	assert_hex(k[1].iv, 12, "dd13c276499c0249d3310652");
	assert_hex(k[1].hp, 16, "edf6d05c83121201b436e16877593c3a");
}

/* Opens the A.2 client Initial: header protection off (packet number 2, as
 * the unprotected header c3...00000002 says), the payload is the CRYPTO frame
 * that starts 060040f1010000ed0303ebf8fa56f129 and PADDING up to 1162 bytes. */
static void open_client_initial(const char *hex, bool v2)
{
	struct quic_state st = {0};
	struct quic_keys k[2];
	struct quic_hdr h;
	uint8_t pkt[1200];
	int n;

	assert_int_equal(unhex(hex, pkt, sizeof(pkt)), 1200);
	assert_int_equal(quic_hdr_parse(pkt, sizeof(pkt), &h), 0);
	assert_true(h.initial);
	assert_int_equal(h.version, v2 ? QV_2 : QV_1);
	assert_int_equal(h.pn_off, 18);
	assert_int_equal(h.pkt_len, 1200);
	assert_int_equal(quic_keys_derive(v2 ? salt_v2 : salt_v1, v2, rfc_dcid, 8, k), 0);
	n = quic_open(&st, &k[0], pkt, h.pn_off, h.pkt_len);
	assert_int_equal(n, 1200 - 18 - 4 - 16);
	assert_hex(st.pt, 16, "060040f1010000ed0303ebf8fa56f129");
	for (int i = 245; i < n; i++)
		assert_int_equal(st.pt[i], 0); /* PADDING */
	/* the server keys do not open it: the tag is checked */
	assert_int_equal(quic_open(&st, &k[1], pkt, h.pn_off, h.pkt_len), -EBADMSG);
	quic_fini(&st);
}

static void test_rfc_client_initial_opens(void **unused)
{
	open_client_initial(rfc9001_a2_client, false);
	open_client_initial(rfc9369_a2_client, true);
}

/* Client then server Initial of each RFC through dissect_packet: the
 * ClientHello of A.2 (SNI example.com, ALPN "alpn", TLS_AES_128_GCM_SHA256
 * and TLS_AES_256_GCM_SHA384 offered) and the ServerHello of A.3
 * (TLS_AES_128_GCM_SHA256, TLS 1.3). */
static void rfc_flow(const char *client, const char *server, const char *version)
{
	struct dissect_worker *w = worker();
	struct dissect_flow *f = NULL;
	uint8_t c[1200], s[200];
	size_t sn;
	char v[128];
	struct ev *e;

	assert_int_equal(unhex(client, c, sizeof(c)), 1200);
	sn = unhex(server, s, sizeof(s));
	assert_true(feed_udp(w, &f, 0, c, sizeof(c)));
	e = find_event("quic_initial");
	assert_non_null(e);
	assert_true(field_str(e->fields, "version", v, sizeof(v)));
	assert_string_equal(v, version);
	assert_true(field_str(e->fields, "dcid", v, sizeof(v)));
	assert_string_equal(v, "8394c8f03e515708");
	assert_true(field_str(e->fields, "scid", v, sizeof(v)));
	assert_string_equal(v, "");
	assert_true(field_str(e->fields, "sni", v, sizeof(v)));
	assert_string_equal(v, "example.com");
	assert_true(field_list(e->fields, "alpn", v, sizeof(v)));
	assert_string_equal(v, "alpn");
	assert_true(field_str(e->fields, "ja4", v, sizeof(v)));
	assert_int_equal(v[0], 'q');
	/* 2 ciphers, 11 extensions, ALPN "alpn" (counted by hand from A.2) */
	assert_memory_equal(v, "q13d0211an_", 11);
	assert_string_equal(dissect_flow_app(f), "quic");
	assert_true(dissect_flow_summary(f, v, sizeof(v)) > 0);
	assert_non_null(strstr(v, "example.com"));
	/* the server's Initial opens with keys from the client's DCID */
	assert_false(feed_udp(w, &f, 1, s, sn));
	e = find_event("tls_server_hello");
	assert_non_null(e);
	assert_int_equal(e->dir, DISSECT_S2C);
	assert_true(field_str(e->fields, "cipher", v, sizeof(v)));
	assert_string_equal(v, "0x1301");
	assert_true(field_str(e->fields, "version", v, sizeof(v)));
	assert_string_equal(v, "0x0304");
	dissect_flow_free(f);
	dissect_worker_free(w);
	evs_clear();
}

static void test_rfc_flows(void **unused)
{
	rfc_flow(rfc9001_a2_client, rfc9001_a3_server, "0x00000001");
	rfc_flow(rfc9369_a2_client, rfc9369_a3_server, "0x6b3343cf");
}

/* A flipped ciphertext bit, a cut packet, a wrong length field: no event,
 * no crash, and the flow goes on. */
static void test_tampered(void **unused)
{
	uint8_t pkt[1200];

	for (size_t pos = 0; pos < 1200; pos += 37) {
		struct dissect_worker *w = worker();
		struct dissect_flow *f = NULL;

		unhex(rfc9001_a2_client, pkt, sizeof(pkt));
		pkt[pos] ^= pos < 5 ? 0x01 : 0x40;
		feed_udp(w, &f, 0, pkt, sizeof(pkt));
		if (pos >= 18)
			assert_null(find_event("quic_initial"));
		evs_clear();
		/* every truncation */
		unhex(rfc9001_a2_client, pkt, sizeof(pkt));
		feed_udp(w, &f, 0, pkt, pos);
		assert_null(find_event("quic_initial"));
		dissect_flow_free(f);
		dissect_worker_free(w);
		evs_clear();
	}
}

/* ---- corpus -------------------------------------------------------------------- */

static bool run_capture(const char *rel)
{
	return corpus_run(rel, worker());
}

static bool have_value(const char *event, const char *key, const char *want, const char *lkey,
	const char *lwant)
{
	char v[4096];

	for (size_t i = 0; i < n_evs; i++) {
		if (strcmp(evs[i].name, event))
			continue;
		if (!field_str(evs[i].fields, key, v, sizeof(v)) || strcmp(v, want))
			continue;
		if (lkey && (!field_list(evs[i].fields, lkey, v, sizeof(v)) || strcmp(v, lwant)))
			continue;
		return true;
	}
	return false;
}

struct expect {
	const char *rel;
	unsigned checked;
};

/* Every ClientHello tshark found in a QUIC Initial: same SNI and ALPN list. */
static void check_main(char **col, int n, void *ctx)
{
	struct expect *x = ctx;

	if (n < 23 || !*col[22] || strcmp(col[20], "1") || !*col[16])
		return;
	if (!have_value("quic_initial", "sni", col[16], "alpn", col[17]))
		fail_msg("%s frame %s: sni %s alpn %s not found", x->rel, col[0], col[16], col[17]);
	x->checked++;
}

/* ja3 of each ClientHello, ja3s of each ServerHello. */
static void check_fp(char **col, int n, void *ctx)
{
	struct expect *x = ctx;

	if (n < 14)
		return;
	if (!strcmp(col[9], "1") && *col[10]) {
		if (!have_value("quic_initial", "ja3", col[10], NULL, NULL))
			fail_msg("%s frame %s: ja3 %s not found", x->rel, col[0], col[10]);
		x->checked++;
	}
	if (!strncmp(col[9], "2", 1) && (col[9][1] == ',' || !col[9][1]) && *col[12]) {
		if (!have_value("tls_server_hello", "ja3s", col[12], NULL, NULL))
			fail_msg("%s frame %s: ja3s %s not found", x->rel, col[0], col[12]);
		x->checked++;
	}
}

static void test_corpus_quic(void **unused)
{
	static const char *const caps[] = {
		"quic/ndpi-doq_adguard.pcapng",
		"quic/ndpi-quic-23.pcap",
		"quic/ndpi-quic-27.pcap",
		"quic/ndpi-quic-29.pcap",
		"quic/ndpi-quic-mvfst-27.pcapng",
		"quic/ndpi-quic-v2.pcapng",
		"quic/ndpi-quic_0RTT.pcap",
		"quic/ndpi-quic_frags_ch_out_of_order_same_packet_craziness.pcapng",
		"quic/ndpi-quic_interop_V.pcapng",
		"quic/ndpi-quic_t51.pcap",
		"quic/suricata-ja4-quic.pcap",
		"quic/suricata-quic-frag-unordered.pcap",
		"quic/suricata-quic-ietf.pcap",
		"quic/suricata-quic-retry.pcap",
		"quic/zeek-quic-multiple-initial-fragmented-crypto.pcap",
		"quic/zeek-quic-quicv2-echo-443.pcap",
		"quic/ndpi-quic-forcing-vn-with-data.pcapng",
	};
	unsigned total = 0;

	if (!corpus_dir())
		skip();
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		struct expect x = {.rel = caps[i]};

		assert_true(run_capture(caps[i]));
		assert_true(tsv_each(caps[i], ".tshark.tsv", check_main, &x));
		assert_true(tsv_each(caps[i], ".tshark-fp.tsv", check_fp, &x));
		total += x.checked;
	}
	printf("checked %u values against tshark\n", total);
	assert_true(total > 400);
	evs_clear();
}

/* Suricata's ja4-quic test expects quic.ja4 q13d0310h3_55b375c5d22e_cd85d2d88918
 * for each of the capture's 11 connections. A ClientHello spread over three
 * Initials (CRYPTO frames out of order) yields tshark's SNI. */
static void test_corpus_ja4_and_fragments(void **unused)
{
	char v[128];
	unsigned n = 0;

	if (!corpus_dir())
		skip();
	assert_true(run_capture("quic/suricata-ja4-quic.pcap"));
	for (size_t i = 0; i < n_evs; i++) {
		if (strcmp(evs[i].name, "quic_initial"))
			continue;
		assert_true(field_str(evs[i].fields, "ja4", v, sizeof(v)));
		assert_string_equal(v, "q13d0310h3_55b375c5d22e_cd85d2d88918");
		n++;
	}
	assert_int_equal(n, 11);

	assert_true(run_capture("quic/zeek-quic-multiple-initial-fragmented-crypto.pcap"));
	assert_true(have_value("quic_initial", "sni", "googleads.g.doubleclick.net", NULL, NULL));
	assert_true(have_value("quic_initial", "dcid", "5f6d2fa7a8d40742", NULL, NULL));
	/* Q050 carries no TLS: header fields only */
	assert_true(run_capture("quic/ndpi-quic_q50.pcap"));
	assert_true(have_value("quic_initial", "version", "0x51303530", NULL, NULL));
	assert_true(have_value("quic_initial", "dcid", "df4a089e4eff5e7a", NULL, NULL));
	evs_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc9001_keys),
		cmocka_unit_test(test_rfc_client_initial_opens),
		cmocka_unit_test(test_rfc_flows),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_corpus_quic),
		cmocka_unit_test(test_corpus_ja4_and_fragments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
