/* Unit tests for the packet decoder on handcrafted frames: each link type,
 * VLAN stacks, IPv6 extension headers and fragments, and every truncation
 * of a valid frame (run under ASan, an out-of-bounds read fails the test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/engine.h"

struct frame {
	uint8_t b[512];
	uint32_t n;
};

static void put(struct frame *f, const void *p, uint32_t n)
{
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void put16(struct frame *f, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(f, b, 2);
}

static void eth(struct frame *f, uint16_t type)
{
	static const uint8_t macs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
	put(f, macs, 12);
	put16(f, type);
}

/* IPv4 header 198.18.0.1 -> 198.18.0.2 with total length for l4 bytes. */
static void ip4(struct frame *f, uint8_t proto, uint16_t l4, uint16_t frag)
{
	uint8_t h[20] = {0x45, 0, 0, 0, 0, 1, 0, 0, 64, proto, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2};
	h[2] = (uint8_t)((20 + l4) >> 8);
	h[3] = (uint8_t)(20 + l4);
	h[6] = (uint8_t)(frag >> 8);
	h[7] = (uint8_t)frag;
	put(f, h, 20);
}

static void tcp(struct frame *f, uint16_t sp, uint16_t dp, uint8_t flags, const char *data)
{
	uint8_t h[20] = {0};
	h[0] = (uint8_t)(sp >> 8), h[1] = (uint8_t)sp;
	h[2] = (uint8_t)(dp >> 8), h[3] = (uint8_t)dp;
	h[4] = 0x12, h[5] = 0x34, h[6] = 0x56, h[7] = 0x78;
	h[12] = 5 << 4;
	h[13] = flags;
	put(f, h, 20);
	if (data)
		put(f, data, (uint32_t)strlen(data));
}

static void udp(struct frame *f, uint16_t sp, uint16_t dp, const char *data)
{
	uint16_t len = (uint16_t)(8 + strlen(data));
	put16(f, sp);
	put16(f, dp);
	put16(f, len);
	put16(f, 0);
	put(f, data, (uint32_t)strlen(data));
}

static enum eng_decode_result run(const struct frame *f, uint16_t linktype, uint32_t caplen,
	struct eng_pkt *p, enum eng_malformed *why)
{
	struct ring_pkt rp = {.data = f->b, .caplen = caplen, .wirelen = f->n,
		.linktype = linktype};
	return eng_decode(&rp, p, why);
}

static void test_ethernet_ipv4_tcp(void **state)
{
	struct frame f = {0};
	struct eng_pkt p;
	enum eng_malformed why;
	(void)state;

	eth(&f, 0x0800);
	ip4(&f, 6, 20 + 5, 0);
	tcp(&f, 40000, 80, 0x18, "hello");
	put(&f, "\0\0\0\0", 4); /* Ethernet padding is not payload */
	assert_int_equal(run(&f, RING_LINK_ETHERNET, f.n, &p, &why), DEC_OK);
	assert_int_equal(p.ipver, 4);
	assert_int_equal(p.l4proto, 6);
	assert_int_equal(p.sport, 40000);
	assert_int_equal(p.dport, 80);
	assert_int_equal(p.tcp_flags, 0x18);
	assert_int_equal(p.tcp_seq, 0x12345678);
	assert_int_equal(p.payload_len, 5);
	assert_memory_equal(p.payload, "hello", 5);
	assert_int_equal(p.src[3], 1);
	assert_int_equal(p.dst[3], 2);
	assert_int_equal(p.vlan, 0);
}

static void test_qinq_udp(void **state)
{
	struct frame f = {0};
	struct eng_pkt p;
	enum eng_malformed why;
	(void)state;

	eth(&f, 0x88a8);
	put16(&f, 0x2064); /* prio 1, id 100: the outer tag is the key's */
	put16(&f, 0x8100);
	put16(&f, 200);
	put16(&f, 0x0800);
	ip4(&f, 17, 8 + 3, 0);
	udp(&f, 5353, 53, "abc");
	assert_int_equal(run(&f, RING_LINK_ETHERNET, f.n, &p, &why), DEC_OK);
	assert_int_equal(p.vlan, 100);
	assert_int_equal(p.l4proto, 17);
	assert_int_equal(p.sport, 5353);
	assert_int_equal(p.payload_len, 3);
}

static void test_kernel_vlan_tag(void **state)
{
	struct frame f = {0};
	struct eng_pkt p;
	enum eng_malformed why;
	struct ring_pkt rp;
	(void)state;

	eth(&f, 0x0800);
	ip4(&f, 17, 8 + 1, 0);
	udp(&f, 1, 2, "x");
	rp = (struct ring_pkt){.data = f.b, .caplen = f.n, .wirelen = f.n,
		.linktype = RING_LINK_ETHERNET, .vlan_tci = 0x3007, .flags = RING_PKT_VLAN_VALID};
	assert_int_equal(eng_decode(&rp, &p, &why), DEC_OK);
	assert_int_equal(p.vlan, 7);
}

static void test_ipv6_ext_and_fragments(void **state)
{
	struct frame f = {0};
	struct eng_pkt p;
	enum eng_malformed why;
	uint8_t ip6[40] = {0x60, 0, 0, 0, 0, 0, 0 /* hop-by-hop */, 64};
	uint8_t hbh[8] = {44 /* next: fragment */, 0, 1, 4, 0, 0, 0, 0};
	uint8_t frag[8] = {17, 0, 0, 1 /* offset 0, more */, 0, 0, 0, 9};
	(void)state;

	ip6[8] = 0x20, ip6[9] = 0x01, ip6[23] = 1;
	ip6[24] = 0x20, ip6[25] = 0x01, ip6[39] = 2;
	ip6[5] = 8 + 8 + 8 + 4; /* payload length */
	put(&f, ip6, 40);
	put(&f, hbh, 8);
	put(&f, frag, 8);
	put16(&f, 1000);
	put16(&f, 53);
	put16(&f, 100); /* the whole datagram is longer than this fragment */
	put16(&f, 0);
	put(&f, "abcd", 4);
	assert_int_equal(run(&f, RING_LINK_RAW, f.n, &p, &why), DEC_OK);
	assert_int_equal(p.ipver, 6);
	assert_int_equal(p.l4proto, 17);
	assert_false(p.fragment);
	assert_int_equal(p.sport, 1000);
	assert_int_equal(p.dport, 53);
	assert_int_equal(p.payload_len, 4);

	/* A later fragment: no transport header, ports stay 0. */
	f.b[40 + 8 + 2] = 0, f.b[40 + 8 + 3] = 0x10; /* offset 16 bytes, last */
	assert_int_equal(run(&f, RING_LINK_RAW, f.n, &p, &why), DEC_OK);
	assert_true(p.fragment);
	assert_int_equal(p.l4proto, 17);
	assert_int_equal(p.sport, 0);
	assert_int_equal(p.dport, 0);
}

static void test_ipv4_later_fragment(void **state)
{
	struct frame f = {0};
	struct eng_pkt p;
	enum eng_malformed why;
	(void)state;

	eth(&f, 0x0800);
	ip4(&f, 17, 16, 185); /* offset 185*8 */
	put(&f, "0123456789abcdef", 16);
	assert_int_equal(run(&f, RING_LINK_ETHERNET, f.n, &p, &why), DEC_OK);
	assert_true(p.fragment);
	assert_int_equal(p.sport, 0);
	assert_int_equal(p.payload_len, 16);
}

static void test_sll_sll2_null(void **state)
{
	struct frame f = {0};
	struct eng_pkt p;
	enum eng_malformed why;
	(void)state;

	/* SLL: packet type, ARPHRD, addr len, 8-byte addr, protocol. */
	put16(&f, 0);
	put16(&f, 1);
	put16(&f, 6);
	put(&f, "\1\2\3\4\5\6\0\0", 8);
	put16(&f, 0x0800);
	ip4(&f, 6, 20, 0);
	tcp(&f, 22, 50000, 0x10, NULL);
	assert_int_equal(run(&f, RING_LINK_LINUX_SLL, f.n, &p, &why), DEC_OK);
	assert_int_equal(p.sport, 22);

	/* SLL2: protocol first, then reserved, ifindex, ARPHRD, type, len, addr. */
	f.n = 0;
	put16(&f, 0x0800);
	put16(&f, 0);
	put(&f, "\0\0\0\2", 4);
	put16(&f, 1);
	put(&f, "\0\6", 2);
	put(&f, "\1\2\3\4\5\6\0\0", 8);
	ip4(&f, 6, 20, 0);
	tcp(&f, 443, 50001, 0x10, NULL);
	assert_int_equal(run(&f, RING_LINK_LINUX_SLL2, f.n, &p, &why), DEC_OK);
	assert_int_equal(p.sport, 443);

	/* BSD null: host-order family 2. */
	f.n = 0;
	put(&f, "\2\0\0\0", 4);
	ip4(&f, 1, 8, 0);
	put(&f, "\x08\0\0\0\0\0\0\0", 8);
	assert_int_equal(run(&f, RING_LINK_NULL, f.n, &p, &why), DEC_OK);
	assert_int_equal(p.l4proto, 1);
}

static void test_not_ip_and_bad_headers(void **state)
{
	struct frame f = {0};
	struct eng_pkt p;
	enum eng_malformed why;
	(void)state;

	eth(&f, 0x0806); /* ARP */
	put(&f, "\0\1\x08\0\6\4\0\1", 8);
	assert_int_equal(run(&f, RING_LINK_ETHERNET, f.n, &p, &why), DEC_NOT_IP);

	f.n = 0;
	eth(&f, 0x0800);
	ip4(&f, 6, 20, 0);
	tcp(&f, 1, 2, 0, NULL);
	f.b[14] = 0x44; /* IHL 4: shorter than the fixed header */
	assert_int_equal(run(&f, RING_LINK_ETHERNET, f.n, &p, &why), DEC_MALFORMED);
	assert_int_equal(why, MAL_IP4_HDRLEN);
	f.b[14] = 0x45;
	f.b[14 + 20 + 12] = 0x30; /* TCP data offset 3 */
	assert_int_equal(run(&f, RING_LINK_ETHERNET, f.n, &p, &why), DEC_MALFORMED);
	assert_int_equal(why, MAL_TCP_HDRLEN);
	f.b[14] = 0x75; /* version 7 */
	assert_int_equal(run(&f, RING_LINK_ETHERNET, f.n, &p, &why), DEC_MALFORMED);
	assert_int_equal(why, MAL_IP_VERSION);

	f.n = 0;
	eth(&f, 0x0800);
	ip4(&f, 17, 8, 0);
	put16(&f, 1);
	put16(&f, 2);
	put16(&f, 200); /* UDP length beyond the IP payload */
	put16(&f, 0);
	assert_int_equal(run(&f, RING_LINK_ETHERNET, f.n, &p, &why), DEC_MALFORMED);
	assert_int_equal(why, MAL_UDP_LEN);

	assert_int_equal(run(&f, 12345, f.n, &p, &why), DEC_MALFORMED);
	assert_int_equal(why, MAL_LINKTYPE_UNSUPPORTED);
}

/* Tunnels: the inner packet makes the flow; an undecodable inner packet
 * leaves the outer one standing. */
static void test_tunnels(void **state)
{
	struct frame f = {0};
	struct eng_pkt p;
	enum eng_malformed why;
	(void)state;

	/* GRE (with key) carrying IPv4/TCP. */
	eth(&f, 0x0800);
	ip4(&f, 47, 8 + 20 + 20, 0);
	put16(&f, 0x2000);
	put16(&f, 0x0800);
	put(&f, "\0\0\0\7", 4);
	ip4(&f, 6, 20, 0);
	f.b[f.n - 8] = 10; /* inner source 10.18.0.1 */
	tcp(&f, 1111, 22, 0x02, NULL);
	assert_int_equal(run(&f, RING_LINK_ETHERNET, f.n, &p, &why), DEC_OK);
	assert_int_equal(p.l4proto, 6);
	assert_int_equal(p.sport, 1111);
	assert_int_equal(p.dport, 22);
	assert_int_equal(p.src[0], 10);
	assert_int_equal(p.tunnels, 1);

	/* VXLAN: UDP 4789, 8-byte header, Ethernet, IPv4/UDP. */
	f.n = 0;
	eth(&f, 0x0800);
	ip4(&f, 17, 8 + 8 + 14 + 20 + 8 + 2, 0);
	put16(&f, 55555);
	put16(&f, 4789);
	put16(&f, 8 + 8 + 14 + 20 + 8 + 2);
	put16(&f, 0);
	put(&f, "\x08\0\0\0\0\0\x2a\0", 8);
	eth(&f, 0x0800);
	ip4(&f, 17, 8 + 2, 0);
	udp(&f, 5000, 53, "hi");
	assert_int_equal(run(&f, RING_LINK_ETHERNET, f.n, &p, &why), DEC_OK);
	assert_int_equal(p.sport, 5000);
	assert_int_equal(p.dport, 53);
	assert_int_equal(p.payload_len, 2);
	assert_int_equal(p.tunnels, 1);
	/* Without the VXLAN I flag it is plain UDP to port 4789. */
	f.b[14 + 20 + 8] = 0;
	assert_int_equal(run(&f, RING_LINK_ETHERNET, f.n, &p, &why), DEC_OK);
	assert_int_equal(p.dport, 4789);
	assert_int_equal(p.tunnels, 0);

	/* IPv4 in IPv4 whose inner header is cut: the outer packet stands. */
	f.n = 0;
	eth(&f, 0x0800);
	ip4(&f, 4, 10, 0);
	put(&f, "\x45\0\0\0\0\0\0\0\0\0", 10);
	assert_int_equal(run(&f, RING_LINK_ETHERNET, f.n, &p, &why), DEC_OK);
	assert_int_equal(p.l4proto, 4);
	assert_int_equal(p.tunnels, 0);
}

/* Every prefix of a valid frame decodes to malformed or to a packet whose
 * payload lies inside the prefix: never a read past the captured bytes. */
static void test_every_truncation(void **state)
{
	struct frame f = {0};
	struct eng_pkt p;
	enum eng_malformed why;
	(void)state;

	eth(&f, 0x8100);
	put16(&f, 5);
	put16(&f, 0x0800);
	ip4(&f, 6, 20 + 4, 0);
	tcp(&f, 1234, 80, 0x18, "GET ");
	for (uint32_t cut = 0; cut < f.n; cut++) {
		/* Exactly cut bytes on the heap, so a sanitizer sees any overread. */
		uint8_t *buf = malloc(cut ? cut : 1);
		assert_non_null(buf);
		memcpy(buf, f.b, cut);
		struct ring_pkt rp = {.data = buf, .caplen = cut, .wirelen = f.n,
			.linktype = RING_LINK_ETHERNET};
		enum eng_decode_result r = eng_decode(&rp, &p, &why);
		if (cut < 14 + 4 + 20 + 20) {
			assert_int_equal(r, DEC_MALFORMED);
		} else {
			assert_int_equal(r, DEC_OK);
			assert_true(p.payload + p.payload_len <= buf + cut);
			assert_int_equal(p.payload_len, cut - (14 + 4 + 20 + 20));
		}
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ethernet_ipv4_tcp),
		cmocka_unit_test(test_qinq_udp),
		cmocka_unit_test(test_kernel_vlan_tag),
		cmocka_unit_test(test_ipv6_ext_and_fragments),
		cmocka_unit_test(test_ipv4_later_fragment),
		cmocka_unit_test(test_sll_sll2_null),
		cmocka_unit_test(test_not_ip_and_bad_headers),
		cmocka_unit_test(test_tunnels),
		cmocka_unit_test(test_every_truncation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
