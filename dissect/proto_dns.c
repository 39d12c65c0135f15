/* dissect DNS: queries and responses over UDP (DNS, mDNS, LLMNR) and TCP.
 *
 * Over UDP a datagram is one message; over TCP each message carries a 2-byte
 * length prefix (RFC 1035 section 4.2.2) and one stream may hold several,
 * split across segments any way. A message gives a dns_query or dns_response
 * event: id, the first question's name and type, and for responses the
 * RCODE and the answer section (type, TTL, data as text).
 *
 * The header has no magic, so over UDP the probe wants a DNS port (53, 5353,
 * 5355) besides a sane header; over TCP it wants port 53 or a header strict
 * enough to be unlikely by chance. Names are read with compression: a pointer
 * must point before the start of the labels being read, so every jump goes
 * strictly backwards, and the number of jumps is bounded as well. Names are
 * printed as tshark prints dns.qry.name: labels joined by dots, the root as
 * "<Root>".
 */
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "dissect/internal.h"

#define DNS_HDR 12
#define DNS_NAME_MAX 256   /* text bytes of a name (wire names are <= 255) */
#define DNS_MAX_HOPS 64
#define DNS_MAX_ANSWERS 32 /* answers reported per response */
#define DNS_DATA_MAX 512   /* text bytes of one answer's data */

struct dns_state {
	bool have_qname;
};

static const struct {
	uint16_t type;
	const char *name;
} dns_types[] = {
	{1, "A"}, {2, "NS"}, {3, "MD"}, {4, "MF"}, {5, "CNAME"}, {6, "SOA"}, {7, "MB"},
	{8, "MG"}, {9, "MR"}, {10, "NULL"}, {11, "WKS"}, {12, "PTR"}, {13, "HINFO"},
	{14, "MINFO"}, {15, "MX"}, {16, "TXT"}, {17, "RP"}, {18, "AFSDB"}, {24, "SIG"},
	{25, "KEY"}, {28, "AAAA"}, {29, "LOC"}, {30, "NXT"}, {33, "SRV"}, {35, "NAPTR"},
	{36, "KX"}, {37, "CERT"}, {38, "A6"}, {39, "DNAME"}, {41, "OPT"}, {42, "APL"},
	{43, "DS"}, {44, "SSHFP"}, {45, "IPSECKEY"}, {46, "RRSIG"}, {47, "NSEC"},
	{48, "DNSKEY"}, {49, "DHCID"}, {50, "NSEC3"}, {51, "NSEC3PARAM"}, {52, "TLSA"},
	{53, "SMIMEA"}, {55, "HIP"}, {59, "CDS"}, {60, "CDNSKEY"}, {61, "OPENPGPKEY"},
	{62, "CSYNC"}, {63, "ZONEMD"}, {64, "SVCB"}, {65, "HTTPS"}, {99, "SPF"},
	{249, "TKEY"}, {250, "TSIG"}, {251, "IXFR"}, {252, "AXFR"}, {253, "MAILB"},
	{254, "MAILA"}, {255, "ANY"}, {256, "URI"}, {257, "CAA"},
};

static const char *const dns_rcodes[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
	"REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"};

/* Writes the type mnemonic, or "TYPEnnn", into out. */
static void dns_type_name(uint16_t t, char out[16])
{
	for (size_t i = 0; i < sizeof(dns_types) / sizeof(dns_types[0]); i++) {
		if (dns_types[i].type == t) {
			snprintf(out, 16, "%s", dns_types[i].name);
			return;
		}
	}
	snprintf(out, 16, "TYPE%u", t);
}

/* Reads the name at *off of msg into out as text; advances *off past the
 * name where it is stored. Returns the text length, or -1 if malformed. */
static int dns_name(const uint8_t *msg, size_t mlen, size_t *off, char *out, size_t cap)
{
	size_t pos = *off, run = *off, o = 0;
	bool jumped = false;
	int hops = 0;

	for (;;) {
		uint8_t l;

		if (pos >= mlen)
			return -1;
		l = msg[pos];
		if ((l & 0xc0) == 0xc0) {
			size_t t;

			if (pos + 1 >= mlen)
				return -1;
			t = (size_t)(l & 0x3f) << 8 | msg[pos + 1];
			if (!jumped)
				*off = pos + 2;
			jumped = true;
			if (t >= run || ++hops > DNS_MAX_HOPS)
				return -1;
			pos = run = t;
			continue;
		}
		if (l & 0xc0)
			return -1; /* extended or binary label types */
		if (!l) {
			if (!jumped)
				*off = pos + 1;
			break;
		}
		if (pos + 1 + l > mlen || o + 1 + l > cap)
			return -1;
		if (o)
			out[o++] = '.';
		memcpy(out + o, msg + pos + 1, l);
		o += l;
		pos += 1 + (size_t)l;
	}
	if (!o) {
		if (cap < 6)
			return -1;
		memcpy(out, "<Root>", 6);
		o = 6;
	}
	return (int)o;
}

/* Appends to a bounded text buffer; the text is cut if it does not fit. */
struct tbuf {
	char *p;
	size_t len, cap;
};

static void tb_add(struct tbuf *t, const char *s, size_t n)
{
	if (n > t->cap - t->len)
		n = t->cap - t->len;
	memcpy(t->p + t->len, s, n);
	t->len += n;
}

/* Appends pre, the decimal v, then post. */
static void tb_num(struct tbuf *t, const char *pre, unsigned long v, const char *post)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%lu", v);

	tb_add(t, pre, strlen(pre));
	if (n > 0)
		tb_add(t, b, (size_t)n);
	tb_add(t, post, strlen(post));
}

static bool tb_name(struct tbuf *t, const uint8_t *msg, size_t mlen, size_t *off)
{
	char name[DNS_NAME_MAX];
	int n = dns_name(msg, mlen, off, name, sizeof(name));

	if (n < 0)
		return false;
	tb_add(t, name, (size_t)n);
	return true;
}

static void tb_addr(struct tbuf *t, int af, const uint8_t *p)
{
	char s[INET6_ADDRSTRLEN];

	if (inet_ntop(af, p, s, sizeof(s)))
		tb_add(t, s, strlen(s));
}

/* SVCB/HTTPS: "prio target" then the parameters we can print. */
static bool dns_svcb(struct tbuf *t, const uint8_t *msg, size_t mlen, size_t off, size_t end)
{
	struct dcur c;

	if (off + 2 > end)
		return false;
	tb_num(t, "", (unsigned long)(msg[off] << 8 | msg[off + 1]), " ");
	off += 2;
	if (!tb_name(t, msg, end, &off))
		return false;
	c = dcur_make(msg + off, end - off);
	while (c.ok && c.len) {
		uint16_t key = dcur_u16(&c), vl = dcur_u16(&c);
		struct dcur v = dcur_sub(&c, vl);

		if (!c.ok)
			return false;
		switch (key) {
		case 1: /* alpn: length-prefixed ids */
			tb_add(t, " alpn=", 6);
			for (bool first = true; v.ok && v.len; first = false) {
				uint8_t l = dcur_u8(&v);
				const uint8_t *id = dcur_bytes(&v, l);

				if (!id)
					return false;
				if (!first)
					tb_add(t, ",", 1);
				tb_add(t, (const char *)id, l);
			}
			break;
		case 2:
			tb_add(t, " no-default-alpn", 16);
			break;
		case 3:
			tb_num(t, " port=", dcur_u16(&v), "");
			break;
		case 4:
		case 6:
			tb_add(t, key == 4 ? " ipv4hint=" : " ipv6hint=", 10);
			for (bool first = true; v.ok && v.len; first = false) {
				const uint8_t *a = dcur_bytes(&v, key == 4 ? 4 : 16);

				if (!a)
					return false;
				if (!first)
					tb_add(t, ",", 1);
				tb_addr(t, key == 4 ? AF_INET : AF_INET6, a);
			}
			break;
		case 5:
			tb_add(t, " ech", 4);
			break;
		default:
			tb_num(t, " key", key, "");
			break;
		}
	}
	(void)mlen;
	return c.ok;
}

/* Renders one answer's RDATA ([off, end) of msg) as text. */
static bool dns_rdata(struct tbuf *t, uint16_t type, const uint8_t *msg, size_t mlen, size_t off,
	size_t end)
{
	size_t n = end - off;
	const uint8_t *p = msg + off;

	switch (type) {
	case 1:
		if (n != 4)
			return false;
		tb_addr(t, AF_INET, p);
		return true;
	case 28:
		if (n != 16)
			return false;
		tb_addr(t, AF_INET6, p);
		return true;
	case 2:
	case 5:
	case 12:
	case 39:
		return tb_name(t, msg, end, &off) && off == end;
	case 15:
		if (n < 3)
			return false;
		tb_num(t, "", (unsigned long)(p[0] << 8 | p[1]), " ");
		off += 2;
		return tb_name(t, msg, end, &off);
	case 16:
		while (off < end) {
			uint8_t l = msg[off];

			if (off + 1 + l > end)
				return false;
			tb_add(t, (const char *)msg + off + 1, l);
			off += 1 + (size_t)l;
		}
		return true;
	case 6: {
		struct dcur c;

		if (!tb_name(t, msg, end, &off))
			return false;
		tb_add(t, " ", 1);
		if (!tb_name(t, msg, end, &off))
			return false;
		c = dcur_make(msg + off, end - off);
		for (int i = 0; i < 5; i++)
			tb_num(t, " ", dcur_u32(&c), "");
		return c.ok;
	}
	case 33: {
		struct dcur c = dcur_make(p, n);

		tb_num(t, "", dcur_u16(&c), " ");
		tb_num(t, "", dcur_u16(&c), " ");
		tb_num(t, "", dcur_u16(&c), " ");
		if (!c.ok)
			return false;
		off += 6;
		return tb_name(t, msg, end, &off);
	}
	case 64:
	case 65:
		return dns_svcb(t, msg, mlen, off, end);
	default: {
		static const char hex[] = "0123456789abcdef";

		for (size_t i = 0; i < n && t->len + 2 <= t->cap; i++) {
			char h[2] = {hex[p[i] >> 4], hex[p[i] & 15]};

			tb_add(t, h, 2);
		}
		return true;
	}
	}
}

static void dns_answers(struct dissect_worker *w, const uint8_t *msg, size_t mlen, size_t off,
	unsigned ancount)
{
	dj_list_begin(w, "answers");
	for (unsigned i = 0; i < ancount && i < DNS_MAX_ANSWERS; i++) {
		char name[DNS_NAME_MAX], data[DNS_DATA_MAX], tn[16];
		struct tbuf t = {data, 0, sizeof(data)};
		uint16_t type, rdlen;
		uint32_t ttl;

		if (dns_name(msg, mlen, &off, name, sizeof(name)) < 0 || off + 10 > mlen)
			goto bad;
		type = (uint16_t)(msg[off] << 8 | msg[off + 1]);
		ttl = (uint32_t)msg[off + 4] << 24 | (uint32_t)msg[off + 5] << 16 |
			(uint32_t)msg[off + 6] << 8 | msg[off + 7];
		rdlen = (uint16_t)(msg[off + 8] << 8 | msg[off + 9]);
		off += 10;
		if (off + rdlen > mlen || !dns_rdata(&t, type, msg, mlen, off, off + rdlen))
			goto bad;
		off += rdlen;
		dns_type_name(type, tn);
		dj_obj_begin(w);
		dj_cstr(w, "type", tn);
		dj_str(w, "data", data, t.len);
		dj_u64(w, "ttl", ttl);
		dj_obj_end(w);
	}
	dj_list_end(w);
	return;
bad:
	dj_list_end(w);
	dissect_malformed(w);
}

/* One whole message. Returns false if the header or question is malformed
 * (nothing is emitted then). */
static bool dns_message(struct dissect_worker *w, struct dissect_flow *f, struct dns_state *s,
	enum dissect_dir dir, const uint8_t *msg, size_t mlen, uint64_t ts)
{
	char qname[DNS_NAME_MAX], tn[16];
	int qlen = -1;
	uint16_t id, flags, qd, an, qtype = 0;
	size_t off = DNS_HDR;
	bool resp;

	if (mlen < DNS_HDR)
		return false;
	id = (uint16_t)(msg[0] << 8 | msg[1]);
	flags = (uint16_t)(msg[2] << 8 | msg[3]);
	qd = (uint16_t)(msg[4] << 8 | msg[5]);
	an = (uint16_t)(msg[6] << 8 | msg[7]);
	resp = flags & 0x8000;
	for (unsigned i = 0; i < qd; i++) {
		char tmp[DNS_NAME_MAX];
		int n = dns_name(msg, mlen, &off, i ? tmp : qname, DNS_NAME_MAX);

		if (n < 0 || off + 4 > mlen)
			return false;
		if (!i) {
			qlen = n;
			qtype = (uint16_t)(msg[off] << 8 | msg[off + 1]);
		}
		off += 4;
	}

	dj_begin(w, resp ? "dns_response" : "dns_query", dir, ts);
	dj_u64(w, "id", id);
	if (qlen >= 0) {
		dj_str(w, "qname", qname, (size_t)qlen);
		dns_type_name(qtype, tn);
		dj_cstr(w, "qtype", tn);
	} else {
		dj_null(w, "qname");
		dj_null(w, "qtype");
	}
	if (resp) {
		unsigned rc = flags & 15;
		char rn[16];

		if (rc < sizeof(dns_rcodes) / sizeof(dns_rcodes[0]))
			snprintf(rn, sizeof(rn), "%s", dns_rcodes[rc]);
		else
			snprintf(rn, sizeof(rn), "RCODE%u", rc);
		dj_cstr(w, "rcode", rn);
		dns_answers(w, msg, mlen, off, an);
	}
	dj_end(w);
	if (qlen >= 0 && !s->have_qname) {
		s->have_qname = true;
		dissect_summary_set(f, "qname", qname, (size_t)qlen);
	}
	return true;
}

/* Header sanity for the probe: opcode QUERY/IQUERY/STATUS/NOTIFY/UPDATE,
 * few questions, and the first question readable. strict asks more. */
static bool dns_header_ok(const uint8_t *msg, size_t mlen, bool strict)
{
	char name[DNS_NAME_MAX];
	size_t off = DNS_HDR;
	unsigned opcode, qd, an, ns, ar;

	if (mlen < DNS_HDR)
		return false;
	opcode = (msg[2] >> 3) & 15;
	qd = (unsigned)(msg[4] << 8 | msg[5]);
	an = (unsigned)(msg[6] << 8 | msg[7]);
	ns = (unsigned)(msg[8] << 8 | msg[9]);
	ar = (unsigned)(msg[10] << 8 | msg[11]);
	if (opcode == 3 || opcode > 5 || qd > 64)
		return false;
	if (!qd)
		return !strict && (msg[2] & 0x80) && an + ns + ar > 0;
	if (dns_name(msg, mlen, &off, name, sizeof(name)) < 0 || off + 4 > mlen)
		return false;
	if (strict) {
		uint16_t qclass = (uint16_t)(msg[off + 2] << 8 | msg[off + 3]);

		return qd == 1 && !(msg[2] & 0x80) && opcode == 0 && (qclass == 1 || qclass == 255) &&
			an == 0 && ns == 0 && ar <= 1;
	}
	return true;
}

static bool dns_port(uint16_t p)
{
	return p == 53 || p == 5353 || p == 5355;
}

static bool dns_probe(const struct dissect_pkt *pkt)
{
	if (pkt->l4proto == IPPROTO_UDP) {
		if (!dns_port(pkt->sport) && !dns_port(pkt->dport))
			return false;
		return dns_header_ok(pkt->data, pkt->len, false);
	}
	if (pkt->len < 2 + DNS_HDR)
		return false;
	/* TCP: the length prefix, then a header; the message may continue in
	 * later segments, so only what is here is checked. */
	if ((size_t)(pkt->data[0] << 8 | pkt->data[1]) < DNS_HDR)
		return false;
	return dns_header_ok(pkt->data + 2, pkt->len - 2,
		!(pkt->sport == 53 || pkt->dport == 53));
}

static enum dissect_verdict dns_parse(struct dissect_worker *w, struct dissect_flow *f,
	void *state, enum dissect_dir dir, const uint8_t *data, size_t len, size_t *used,
	uint64_t ts)
{
	struct dns_state *s = state;
	size_t c = 0;

	if (!dissect_flow_is_tcp(f)) {
		if (!dns_message(w, f, s, dir, data, len, ts))
			dissect_malformed(w);
		*used = len;
		return DISSECT_MORE;
	}
	while (len - c >= 2) {
		size_t mlen = (size_t)(data[c] << 8 | data[c + 1]);

		if (len - c - 2 < mlen)
			break;
		if (!dns_message(w, f, s, dir, data + c + 2, mlen, ts))
			dissect_malformed(w);
		c += 2 + mlen;
	}
	*used = c;
	return DISSECT_MORE;
}

const struct dissector dissector_dns = {
	.name = "dns",
	.transport = 0,
	.ports = {53, 5353, 5355, 0},
	.state_size = sizeof(struct dns_state),
	.probe = dns_probe,
	.parse = dns_parse,
};
