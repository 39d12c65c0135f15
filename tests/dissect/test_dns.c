/* Tests of the DNS dissector: queries and responses built byte by byte per
 * RFC 1035 (header, question, compressed names, A/AAAA/CNAME/MX/TXT/SOA/
 * SRV/PTR answers, RFC 2782 SRV, RFC 3596 AAAA, RFC 9460 HTTPS), the root
 * name as tshark prints it, unknown types and rcodes, compression loops and
 * forward pointers, DNS over TCP with several messages per segment and one
 * split across segments, mDNS, and the port requirement over UDP.
 */
#include "tests/dissect/dtest.h"

struct msg {
	uint8_t b[1024];
	size_t n;
};

static void put(struct msg *m, const void *p, size_t n)
{
	assert_true(m->n + n <= sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void u8(struct msg *m, unsigned v)
{
	uint8_t b = (uint8_t)v;

	put(m, &b, 1);
}

static void u16(struct msg *m, unsigned v)
{
	u8(m, v >> 8);
	u8(m, v);
}

static void u32(struct msg *m, uint32_t v)
{
	u16(m, v >> 16);
	u16(m, v & 0xffff);
}

/* "www.example.com" -> labels; "" -> root. */
static void name(struct msg *m, const char *s)
{
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);

		u8(m, (unsigned)l);
		put(m, s, l);
		s += l + (dot ? 1 : 0);
	}
	u8(m, 0);
}

static void header(struct msg *m, unsigned id, unsigned flags, unsigned qd, unsigned an)
{
	m->n = 0;
	u16(m, id);
	u16(m, flags);
	u16(m, qd);
	u16(m, an);
	u16(m, 0);
	u16(m, 0);
}

/* Answer owner is a pointer to offset 12 (the question name). */
static void rr(struct msg *m, unsigned type, uint32_t ttl, const void *rd, size_t rdlen)
{
	u16(m, 0xc00c);
	u16(m, type);
	u16(m, 1);
	u32(m, ttl);
	u16(m, (unsigned)rdlen);
	put(m, rd, rdlen);
}

static void test_query(void **state)
{
	struct dt t;
	struct msg m;
	char sum[256];

	(void)state;
	header(&m, 0x1234, 0x0100, 1, 0);
	name(&m, "www.example.com");
	u16(&m, 1);
	u16(&m, 1);
	dt_init(&t, 0);
	dt_udp(&t, 0, 33333, 53, m.b, m.n);
	assert_string_equal(dissect_flow_app(t.f), "dns");
	dt_expect(&t, 0, "dns_query", "\"id\":4660,\"qname\":\"www.example.com\",\"qtype\":\"A\"");
	dissect_flow_summary(t.f, sum, sizeof(sum));
	assert_string_equal(sum, "\"qname\":\"www.example.com\"");
	dt_fini(&t);
}

static void test_response_answers(void **state)
{
	static const uint8_t a[4] = {93, 184, 216, 34};
	static const uint8_t aaaa[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	struct dt t;
	struct msg m, rd;

	(void)state;
	header(&m, 7, 0x8180, 1, 7);
	name(&m, "example.com");
	u16(&m, 255);
	u16(&m, 1);
	rr(&m, 1, 300, a, 4);
	rr(&m, 28, 60, aaaa, 16);
	/* CNAME "www" + pointer to example.com */
	rd.n = 0;
	u8(&rd, 3);
	put(&rd, "www", 3);
	u16(&rd, 0xc00c);
	rr(&m, 5, 10, rd.b, rd.n);
	/* MX 10 mail.example.com */
	rd.n = 0;
	u16(&rd, 10);
	u8(&rd, 4);
	put(&rd, "mail", 4);
	u16(&rd, 0xc00c);
	rr(&m, 15, 20, rd.b, rd.n);
	/* TXT with two strings */
	rd.n = 0;
	u8(&rd, 6);
	put(&rd, "v=spf1", 6);
	u8(&rd, 5);
	put(&rd, " -all", 5);
	rr(&m, 16, 30, rd.b, rd.n);
	/* SOA ns.icann.org. noc.dns.icann.org. 2024 7200 3600 1209600 3600 */
	rd.n = 0;
	name(&rd, "ns.icann.org");
	name(&rd, "noc.dns.icann.org");
	u32(&rd, 2024);
	u32(&rd, 7200);
	u32(&rd, 3600);
	u32(&rd, 1209600);
	u32(&rd, 3600);
	rr(&m, 6, 40, rd.b, rd.n);
	/* SRV 1 5 5060 sip.example.com */
	rd.n = 0;
	u16(&rd, 1);
	u16(&rd, 5);
	u16(&rd, 5060);
	u8(&rd, 3);
	put(&rd, "sip", 3);
	u16(&rd, 0xc00c);
	rr(&m, 33, 50, rd.b, rd.n);

	dt_init(&t, 0);
	dt_udp(&t, 1, 33333, 53, m.b, m.n);
	dt_expect(&t, 0, "dns_response",
		"\"id\":7,\"qname\":\"example.com\",\"qtype\":\"ANY\",\"rcode\":\"NOERROR\","
		"\"answers\":["
		"{\"type\":\"A\",\"data\":\"93.184.216.34\",\"ttl\":300},"
		"{\"type\":\"AAAA\",\"data\":\"2001:db8::1\",\"ttl\":60},"
		"{\"type\":\"CNAME\",\"data\":\"www.example.com\",\"ttl\":10},"
		"{\"type\":\"MX\",\"data\":\"10 mail.example.com\",\"ttl\":20},"
		"{\"type\":\"TXT\",\"data\":\"v=spf1 -all\",\"ttl\":30},"
		"{\"type\":\"SOA\",\"data\":\"ns.icann.org noc.dns.icann.org 2024 7200 3600 "
		"1209600 3600\",\"ttl\":40},"
		"{\"type\":\"SRV\",\"data\":\"1 5 5060 sip.example.com\",\"ttl\":50}]");
	dt_fini(&t);
}

static void test_https_record(void **state)
{
	struct dt t;
	struct msg m, rd;

	(void)state;
	header(&m, 9, 0x8180, 1, 1);
	name(&m, "cloudflare.com");
	u16(&m, 65);
	u16(&m, 1);
	/* HTTPS 1 . alpn=h3,h2 ipv4hint=104.16.132.229 (RFC 9460) */
	rd.n = 0;
	u16(&rd, 1);
	u8(&rd, 0);
	u16(&rd, 1);
	u16(&rd, 6);
	u8(&rd, 2);
	put(&rd, "h3", 2);
	u8(&rd, 2);
	put(&rd, "h2", 2);
	u16(&rd, 4);
	u16(&rd, 4);
	u8(&rd, 104);
	u8(&rd, 16);
	u8(&rd, 132);
	u8(&rd, 229);
	rr(&m, 65, 300, rd.b, rd.n);
	dt_init(&t, 0);
	dt_udp(&t, 1, 33333, 53, m.b, m.n);
	dt_expect(&t, 0, "dns_response",
		"\"id\":9,\"qname\":\"cloudflare.com\",\"qtype\":\"HTTPS\",\"rcode\":\"NOERROR\","
		"\"answers\":[{\"type\":\"HTTPS\",\"data\":\"1 <Root> alpn=h3,h2 "
		"ipv4hint=104.16.132.229\",\"ttl\":300}]");
	dt_fini(&t);
}

static void test_root_unknown_type_nxdomain(void **state)
{
	struct dt t;
	struct msg m;

	(void)state;
	header(&m, 1, 0x8183, 1, 0);
	name(&m, "");
	u16(&m, 65534);
	u16(&m, 1);
	dt_init(&t, 0);
	dt_udp(&t, 1, 40000, 53, m.b, m.n);
	dt_expect(&t, 0, "dns_response",
		"\"id\":1,\"qname\":\"<Root>\",\"qtype\":\"TYPE65534\",\"rcode\":\"NXDOMAIN\","
		"\"answers\":[]");
	dt_fini(&t);
}

static void test_compression_loop_and_forward(void **state)
{
	struct dt t;
	struct msg m;

	(void)state;
	dt_init(&t, 0);
	header(&m, 1, 0x0100, 1, 0);
	name(&m, "ok");
	u16(&m, 1);
	u16(&m, 1);
	dt_udp(&t, 0, 40000, 53, m.b, m.n);
	/* Question name is a pointer to itself. */
	header(&m, 2, 0x0100, 1, 0);
	u16(&m, 0xc00c);
	u16(&m, 1);
	u16(&m, 1);
	dt_udp(&t, 0, 40000, 53, m.b, m.n);
	/* Answer owner pointing forward, past itself. */
	header(&m, 3, 0x8180, 1, 1);
	name(&m, "a.b");
	u16(&m, 1);
	u16(&m, 1);
	u16(&m, 0xc000 | (unsigned)(m.n + 2));
	u16(&m, 1);
	u16(&m, 1);
	u32(&m, 1);
	u16(&m, 4);
	u32(&m, 0x01020304);
	dt_udp(&t, 1, 40000, 53, m.b, m.n);
	/* Two labels pointing at each other, reached from the answer. */
	header(&m, 4, 0x8180, 1, 1);
	name(&m, "c.d"); /* offsets 12..16 */
	u16(&m, 1);
	u16(&m, 1);
	u8(&m, 1); /* at 21: "x" then pointer to 21 */
	put(&m, "x", 1);
	u16(&m, 0xc000 | 21);
	u16(&m, 1);
	u16(&m, 1);
	u32(&m, 1);
	u16(&m, 4);
	u32(&m, 0x01020304);
	dt_udp(&t, 1, 40000, 53, m.b, m.n);
	/* A truncated header. */
	dt_udp(&t, 0, 40000, 53, "\x12\x34\x01", 3);

	/* The looping question: no event. The bad answers: the events carry
	 * what was readable and each counts as malformed. */
	assert_int_equal(t.n, 3);
	dt_expect(&t, 1, "dns_response",
		"\"id\":3,\"qname\":\"a.b\",\"qtype\":\"A\",\"rcode\":\"NOERROR\",\"answers\":[]");
	dt_expect(&t, 2, "dns_response",
		"\"id\":4,\"qname\":\"c.d\",\"qtype\":\"A\",\"rcode\":\"NOERROR\",\"answers\":[]");
	assert_int_equal(dt_stats(&t).malformed, 4);
	dt_fini(&t);
}

static void test_tcp_messages(void **state)
{
	struct dt t;
	struct msg q1, q2, seg;

	(void)state;
	header(&q1, 0xaaaa, 0x0100, 1, 0);
	name(&q1, "one.example");
	u16(&q1, 28);
	u16(&q1, 1);
	header(&q2, 0xbbbb, 0x0100, 1, 0);
	name(&q2, "two.example");
	u16(&q2, 15);
	u16(&q2, 1);
	seg.n = 0;
	u16(&seg, (unsigned)q1.n);
	put(&seg, q1.b, q1.n);
	u16(&seg, (unsigned)q2.n);
	put(&seg, q2.b, q2.n);
	u16(&seg, (unsigned)q1.n);
	put(&seg, q1.b, 5); /* third message: starts here, ends below */

	dt_init(&t, 0);
	dt_tcp_open(&t, 53);
	dt_tcp(&t, 0, 53, seg.b, seg.n);
	assert_int_equal(t.n, 2);
	dt_tcp(&t, 0, 53, q1.b + 5, q1.n - 5);
	assert_int_equal(t.n, 3);
	dt_expect(&t, 0, "dns_query", "\"id\":43690,\"qname\":\"one.example\",\"qtype\":\"AAAA\"");
	dt_expect(&t, 1, "dns_query", "\"id\":48059,\"qname\":\"two.example\",\"qtype\":\"MX\"");
	dt_expect(&t, 2, "dns_query", "\"id\":43690,\"qname\":\"one.example\",\"qtype\":\"AAAA\"");
	dt_fini(&t);
}

static void test_mdns_and_port_rule(void **state)
{
	struct dt t;
	struct msg m;
	static const uint8_t a[4] = {10, 0, 0, 7};

	(void)state;
	/* mDNS announcement: a response without a question. */
	header(&m, 0, 0x8400, 0, 0);
	m.b[7] = 1;
	name(&m, "printer.local");
	u16(&m, 1);
	u16(&m, 0x8001);
	u32(&m, 120);
	u16(&m, 4);
	put(&m, a, 4);
	dt_init(&t, 0);
	dt_udp(&t, 0, 5353, 5353, m.b, m.n);
	dt_expect(&t, 0, "dns_response",
		"\"id\":0,\"qname\":null,\"qtype\":null,\"rcode\":\"NOERROR\","
		"\"answers\":[{\"type\":\"A\",\"data\":\"10.0.0.7\",\"ttl\":120}]");
	dt_fini(&t);

	/* The same bytes between other ports are not taken for DNS. */
	dt_init(&t, 0);
	dt_udp(&t, 0, 40001, 40002, m.b, m.n);
	assert_null(dissect_flow_app(t.f));
	assert_int_equal(t.n, 0);
	dt_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_response_answers),
		cmocka_unit_test(test_https_record),
		cmocka_unit_test(test_root_unknown_type_nxdomain),
		cmocka_unit_test(test_compression_loop_and_forward),
		cmocka_unit_test(test_tcp_messages),
		cmocka_unit_test(test_mdns_and_port_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
