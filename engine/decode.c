/* engine/decode: link, network and transport headers of one captured frame.
 *
 * Link layers: Ethernet (with 802.1Q/802.1ad/QinQ tags, MPLS label stacks and
 * PPPoE sessions), Linux cooked SLL and SLL2, raw IPv4/IPv6, BSD null/loop,
 * NFLOG, and the kernel's cooked delivery (network header with ethertype
 * known). Network: IPv4 (options skipped, fragments recognised) and IPv6
 * (hop-by-hop, routing, destination options, fragment and AH extension
 * headers walked). Transport: TCP, UDP, ICMP, ICMPv6 headers. Every read is
 * checked against the captured length; what does not fit is reported as
 * malformed with a reason. Payload length comes from the IP length fields,
 * bounded by what was captured (Ethernet padding is not payload).
 */
#include <string.h>

#include "engine/engine.h"

const char *const eng_malformed_names[MAL_COUNT] = {
	[MAL_LINK_TRUNCATED] = "link_truncated",
	[MAL_LINKTYPE_UNSUPPORTED] = "linktype_unsupported",
	[MAL_VLAN_TRUNCATED] = "vlan_truncated",
	[MAL_MPLS_TRUNCATED] = "mpls_truncated",
	[MAL_PPPOE_TRUNCATED] = "pppoe_truncated",
	[MAL_IP_VERSION] = "ip_version",
	[MAL_IP4_TRUNCATED] = "ipv4_truncated",
	[MAL_IP4_HDRLEN] = "ipv4_header_length",
	[MAL_IP4_TOTLEN] = "ipv4_total_length",
	[MAL_IP6_TRUNCATED] = "ipv6_truncated",
	[MAL_IP6_PAYLOAD_LEN] = "ipv6_payload_length",
	[MAL_IP6_EXT] = "ipv6_extension_header",
	[MAL_TCP_TRUNCATED] = "tcp_truncated",
	[MAL_TCP_HDRLEN] = "tcp_header_length",
	[MAL_UDP_TRUNCATED] = "udp_truncated",
	[MAL_UDP_LEN] = "udp_length",
	[MAL_ICMP_TRUNCATED] = "icmp_truncated",
	[MAL_NFLOG] = "nflog",
};

#define ETH_IP4 0x0800
#define ETH_IP6 0x86dd
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8
#define ETH_QINQ_OLD 0x9100
#define ETH_MPLS 0x8847
#define ETH_MPLS_MC 0x8848
#define ETH_PPPOE 0x8864

#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMP6 58

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct dec {
	const uint8_t *p;
	uint32_t len;     /* captured bytes left at p */
	uint16_t vlan;
	bool have_vlan;
	unsigned depth;   /* tunnels entered */
};

#define TUNNEL_DEPTH_MAX 4

static enum eng_decode_result decode_tunnel(struct dec *d, struct eng_pkt *o, uint32_t l4len,
	enum eng_malformed *reason);

static enum eng_decode_result fail(enum eng_malformed *reason, enum eng_malformed r)
{
	*reason = r;
	return DEC_MALFORMED;
}

/* l4len: transport bytes the IP header announces. first_frag: the datagram
 * continues in later fragments, so lengths inside it may exceed l4len. */
static enum eng_decode_result decode_l4(struct dec *d, struct eng_pkt *o, uint32_t l4len,
	bool first_frag, enum eng_malformed *reason)
{
	const uint8_t *p = d->p;
	uint32_t cap = d->len < l4len ? d->len : l4len;

	switch (o->l4proto) {
	case PROTO_TCP: {
		if (cap < 20)
			return fail(reason, MAL_TCP_TRUNCATED);
		uint32_t hl = (uint32_t)(p[12] >> 4) * 4;
		if (hl < 20 || hl > l4len)
			return fail(reason, MAL_TCP_HDRLEN);
		o->sport = rd16(p);
		o->dport = rd16(p + 2);
		o->tcp_seq = rd32(p + 4);
		o->tcp_flags = p[13];
		o->payload = p + (hl < cap ? hl : cap);
		o->payload_len = hl < cap ? cap - hl : 0;
		return DEC_OK;
	}
	case PROTO_UDP: {
		if (cap < 8)
			return fail(reason, MAL_UDP_TRUNCATED);
		uint32_t ulen = rd16(p + 4);
		/* 0 is legal for IPv6 jumbograms; otherwise the header must fit. */
		if (ulen != 0 && (ulen < 8 || (ulen > l4len && !first_frag)))
			return fail(reason, MAL_UDP_LEN);
		if (ulen > l4len)
			ulen = l4len;
		o->sport = rd16(p);
		o->dport = rd16(p + 2);
		uint32_t plen = (ulen ? ulen : l4len) - 8;
		uint32_t have = cap - 8;
		o->payload = p + 8;
		o->payload_len = have < plen ? have : plen;
		if (o->dport == 4789 || o->sport == 4789 || o->dport == 6081 || o->sport == 6081) {
			d->p = o->payload;
			d->len = o->payload_len;
			return decode_tunnel(d, o, o->payload_len, reason);
		}
		return DEC_OK;
	}
	case PROTO_ICMP:
	case PROTO_ICMP6:
		if (cap < 4)
			return fail(reason, MAL_ICMP_TRUNCATED);
		o->payload = p + 4;
		o->payload_len = cap - 4;
		return DEC_OK;
	default:
		/* Other protocols are flows of address pairs. */
		o->payload = p;
		o->payload_len = cap;
		if (o->l4proto == 4 || o->l4proto == 41 || o->l4proto == 47) {
			d->len = cap;
			return decode_tunnel(d, o, l4len, reason);
		}
		return DEC_OK;
	}
}

static enum eng_decode_result decode_ip4(struct dec *d, struct eng_pkt *o,
	enum eng_malformed *reason)
{
	const uint8_t *p = d->p;

	if (d->len < 20)
		return fail(reason, MAL_IP4_TRUNCATED);
	if (p[0] >> 4 != 4)
		return fail(reason, MAL_IP_VERSION);
	uint32_t hl = (uint32_t)(p[0] & 15) * 4;
	uint32_t tot = rd16(p + 2);
	if (hl < 20)
		return fail(reason, MAL_IP4_HDRLEN);
	if (d->len < hl)
		return fail(reason, MAL_IP4_TRUNCATED);
	/* Total length 0 is what TSO/GSO frames carry on capture; take the frame. */
	if (tot == 0)
		tot = d->len;
	if (tot < hl)
		return fail(reason, MAL_IP4_TOTLEN);
	o->ipver = 4;
	o->l4proto = p[9];
	memcpy(o->src, p + 12, 4);
	memcpy(o->dst, p + 16, 4);
	uint16_t frag = rd16(p + 6);
	d->p += hl;
	d->len -= hl;
	if (frag & 0x1fff) {
		o->fragment = true;
		o->payload = d->p;
		o->payload_len = d->len < tot - hl ? d->len : tot - hl;
		return DEC_OK;
	}
	return decode_l4(d, o, tot - hl, (frag & 0x2000) != 0, reason);
}

static bool ip6_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 60 || nh == 51 || nh == 135 ||
		nh == 139 || nh == 140;
}

static enum eng_decode_result decode_ip6(struct dec *d, struct eng_pkt *o,
	enum eng_malformed *reason)
{
	const uint8_t *p = d->p;

	if (d->len < 40)
		return fail(reason, MAL_IP6_TRUNCATED);
	if (p[0] >> 4 != 6)
		return fail(reason, MAL_IP_VERSION);
	uint32_t plen = rd16(p + 4);
	uint8_t nh = p[6];
	bool first_frag = false;
	o->ipver = 6;
	memcpy(o->src, p + 8, 16);
	memcpy(o->dst, p + 24, 16);
	d->p += 40;
	d->len -= 40;
	if (plen == 0 && nh == 0)
		plen = d->len; /* jumbogram: the length is in a hop-by-hop option */
	for (unsigned n = 0; ip6_ext(nh); n++) {
		uint32_t el;
		if (n >= 16 || d->len < 8)
			return fail(reason, n >= 16 ? MAL_IP6_EXT : MAL_IP6_TRUNCATED);
		if (nh == 44) {
			uint16_t off = rd16(d->p + 2) & 0xfff8;
			el = 8;
			nh = d->p[0];
			if (el > plen)
				return fail(reason, MAL_IP6_PAYLOAD_LEN);
			d->p += el;
			d->len -= el;
			plen -= el;
			first_frag = d->p[-5] & 1;
			if (off) {
				o->l4proto = nh;
				o->fragment = true;
				o->payload = d->p;
				o->payload_len = d->len < plen ? d->len : plen;
				return DEC_OK;
			}
			continue;
		}
		el = nh == 51 ? ((uint32_t)d->p[1] + 2) * 4 : ((uint32_t)d->p[1] + 1) * 8;
		if (el > d->len)
			return fail(reason, MAL_IP6_TRUNCATED);
		if (el > plen)
			return fail(reason, MAL_IP6_PAYLOAD_LEN);
		nh = d->p[0];
		d->p += el;
		d->len -= el;
		plen -= el;
	}
	o->l4proto = nh;
	if (nh == 59) { /* no next header */
		o->payload = d->p;
		o->payload_len = 0;
		return DEC_OK;
	}
	return decode_l4(d, o, plen, first_frag, reason);
}

static enum eng_decode_result decode_by_version(struct dec *d, struct eng_pkt *o,
	enum eng_malformed *reason)
{
	if (d->len < 1)
		return fail(reason, MAL_IP4_TRUNCATED);
	switch (d->p[0] >> 4) {
	case 4:
		return decode_ip4(d, o, reason);
	case 6:
		return decode_ip6(d, o, reason);
	default:
		return fail(reason, MAL_IP_VERSION);
	}
}

static void note_vlan(struct dec *d, uint16_t tci)
{
	if (!d->have_vlan) {
		d->vlan = tci & 0x0fff;
		d->have_vlan = true;
	}
}

/* From an ethertype on: VLAN tags, MPLS, PPPoE, then IP. */
static enum eng_decode_result decode_ethertype(struct dec *d, uint16_t type, struct eng_pkt *o,
	enum eng_malformed *reason)
{
	for (unsigned depth = 0; depth < 8; depth++) {
		switch (type) {
		case ETH_IP4:
			return decode_ip4(d, o, reason);
		case ETH_IP6:
			return decode_ip6(d, o, reason);
		case ETH_VLAN:
		case ETH_QINQ:
		case ETH_QINQ_OLD:
			if (d->len < 4)
				return fail(reason, MAL_VLAN_TRUNCATED);
			note_vlan(d, rd16(d->p));
			type = rd16(d->p + 2);
			d->p += 4;
			d->len -= 4;
			continue;
		case ETH_MPLS:
		case ETH_MPLS_MC:
			for (unsigned n = 0;; n++) {
				if (d->len < 4 || n >= 16)
					return fail(reason, MAL_MPLS_TRUNCATED);
				bool bottom = d->p[2] & 1;
				d->p += 4;
				d->len -= 4;
				if (bottom)
					break;
			}
			return decode_by_version(d, o, reason);
		case ETH_PPPOE: {
			if (d->len < 8)
				return fail(reason, MAL_PPPOE_TRUNCATED);
			uint16_t ppp = rd16(d->p + 6);
			d->p += 8;
			d->len -= 8;
			if (ppp == 0x0021)
				return decode_ip4(d, o, reason);
			if (ppp == 0x0057)
				return decode_ip6(d, o, reason);
			return DEC_NOT_IP;
		}
		default:
			return DEC_NOT_IP;
		}
	}
	return fail(reason, MAL_VLAN_TRUNCATED);
}

/* GRE (RFC 2784/2890; version 1 as PPTP uses it). Returns the offset of the
 * payload and its protocol as an ethertype (PPP's IPv4/IPv6 mapped), or 0. */
static uint32_t gre_header(const uint8_t *p, uint32_t len, uint16_t *type)
{
	if (len < 4)
		return 0;
	uint16_t fv = rd16(p);
	uint16_t proto = rd16(p + 2);
	uint32_t off = 4;
	if ((fv & 7) == 0) {
		if (fv & 0x4000) /* routing present: obsolete, not followed */
			return 0;
		off += (fv & 0x8000) ? 4 : 0;
		off += (fv & 0x2000) ? 4 : 0;
		off += (fv & 0x1000) ? 4 : 0;
	} else if ((fv & 7) == 1 && proto == 0x880b) {
		off += 4;                          /* key: payload length, call id */
		off += (fv & 0x1000) ? 4 : 0;      /* sequence */
		off += (fv & 0x0080) ? 4 : 0;      /* acknowledgment */
		if (off + 2 > len)
			return 0;
		if (p[off] == 0xff && p[off + 1] == 0x03)
			off += 2;
		if (off + 2 > len)
			return 0;
		uint16_t ppp = rd16(p + off);
		off += 2;
		proto = ppp == 0x0021 ? ETH_IP4 : ppp == 0x0057 ? ETH_IP6 : 0;
	} else {
		return 0;
	}
	if (off > len)
		return 0;
	*type = proto;
	return off;
}

/* After a tunnel header of off bytes: the payload of ethertype type, where
 * 0x6558 (transparent Ethernet bridging) means an Ethernet frame. */
static enum eng_decode_result decode_encapsulated(struct dec *in, uint32_t off, uint16_t type,
	struct eng_pkt *o, enum eng_malformed *reason)
{
	in->p += off;
	in->len -= off;
	if (type == 0x6558) {
		if (in->len < 14)
			return DEC_NOT_IP;
		type = rd16(in->p + 12);
		in->p += 14;
		in->len -= 14;
	}
	return decode_ethertype(in, type, o, reason);
}

/* The outer header carries another packet (IP-in-IP, GRE, VXLAN, GENEVE):
 * decode the inner one, whose addresses and ports then make the flow. If the
 * inner packet cannot be decoded the outer one stands as it was. */
static enum eng_decode_result decode_tunnel(struct dec *d, struct eng_pkt *o, uint32_t l4len,
	enum eng_malformed *reason)
{
	struct eng_pkt outer = *o;
	struct dec in = *d;
	enum eng_decode_result r;
	uint16_t type = 0;
	uint32_t off;

	if (in.depth >= TUNNEL_DEPTH_MAX)
		return DEC_OK;
	in.depth++;
	if (in.len > l4len)
		in.len = l4len;
	memset(o, 0, sizeof(*o));
	switch (outer.l4proto) {
	case 4:
		r = decode_ip4(&in, o, reason);
		break;
	case 41:
		r = decode_ip6(&in, o, reason);
		break;
	case 47:
		off = gre_header(in.p, in.len, &type);
		if (!off || !type) {
			r = DEC_NOT_IP;
			break;
		}
		r = decode_encapsulated(&in, off, type, o, reason);
		break;
	default: /* UDP: VXLAN (8-byte header) or GENEVE (8 bytes + options) */
		if (in.len < 8) {
			r = DEC_NOT_IP;
			break;
		}
		if (outer.dport == 4789 || outer.sport == 4789) {
			if (!(in.p[0] & 0x08)) {
				r = DEC_NOT_IP;
				break;
			}
			off = 8;
			type = 0x6558;
		} else {
			off = 8 + (uint32_t)(in.p[0] & 0x3f) * 4;
			type = rd16(in.p + 2);
		}
		if (off > in.len) {
			r = DEC_NOT_IP;
			break;
		}
		r = decode_encapsulated(&in, off, type, o, reason);
		break;
	}
	if (r != DEC_OK) {
		*o = outer;
		return DEC_OK;
	}
	o->tunnels = (uint8_t)(outer.tunnels + 1);
	return DEC_OK;
}

/* NFLOG: 4-byte header, then TLVs (little-endian length and type, padded to
 * 4); the packet is the NFULA_PAYLOAD TLV. */
static enum eng_decode_result decode_nflog(struct dec *d, struct eng_pkt *o,
	enum eng_malformed *reason)
{
	if (d->len < 4)
		return fail(reason, MAL_NFLOG);
	uint8_t family = d->p[0];
	d->p += 4;
	d->len -= 4;
	while (d->len >= 4) {
		uint32_t tlen = (uint32_t)d->p[0] | (uint32_t)d->p[1] << 8;
		uint16_t type = (uint16_t)(d->p[2] | d->p[3] << 8);
		if (tlen < 4 || tlen > d->len)
			return fail(reason, MAL_NFLOG);
		if (type == 9) {
			d->p += 4;
			d->len = tlen - 4;
			if (family == 2)
				return decode_ip4(d, o, reason);
			if (family == 10)
				return decode_ip6(d, o, reason);
			return decode_by_version(d, o, reason);
		}
		uint32_t adv = (tlen + 3) & ~3u;
		if (adv > d->len)
			break;
		d->p += adv;
		d->len -= adv;
	}
	return DEC_NOT_IP;
}

enum eng_decode_result eng_decode(const struct ring_pkt *rp, struct eng_pkt *o,
	enum eng_malformed *reason)
{
	struct dec d = {.p = rp->data, .len = rp->caplen};

	memset(o, 0, sizeof(*o));
	if (rp->flags & RING_PKT_VLAN_VALID)
		note_vlan(&d, rp->vlan_tci);
	enum eng_decode_result r;
	switch (rp->linktype) {
	case RING_LINK_ETHERNET:
		if (d.len < 14)
			return fail(reason, MAL_LINK_TRUNCATED);
		d.p += 14;
		d.len -= 14;
		r = decode_ethertype(&d, rd16(rp->data + 12), o, reason);
		break;
	case RING_LINK_COOKED:
		r = decode_ethertype(&d, rp->l3proto, o, reason);
		break;
	case RING_LINK_LINUX_SLL:
		if (d.len < 16)
			return fail(reason, MAL_LINK_TRUNCATED);
		d.p += 16;
		d.len -= 16;
		r = decode_ethertype(&d, rd16(rp->data + 14), o, reason);
		break;
	case RING_LINK_LINUX_SLL2:
		if (d.len < 20)
			return fail(reason, MAL_LINK_TRUNCATED);
		d.p += 20;
		d.len -= 20;
		r = decode_ethertype(&d, rd16(rp->data), o, reason);
		break;
	case RING_LINK_RAW:
	case 12: /* DLT_RAW on Linux */
	case 14: /* DLT_RAW on OpenBSD */
		r = decode_by_version(&d, o, reason);
		break;
	case RING_LINK_IPV4:
		r = decode_ip4(&d, o, reason);
		break;
	case RING_LINK_IPV6:
		r = decode_ip6(&d, o, reason);
		break;
	case RING_LINK_NULL:
	case RING_LINK_LOOP: {
		if (d.len < 4)
			return fail(reason, MAL_LINK_TRUNCATED);
		/* The family's byte order is the capturing host's: accept both. */
		uint32_t fam = (uint32_t)rp->data[0] | (uint32_t)rp->data[3];
		d.p += 4;
		d.len -= 4;
		if (fam == 2)
			r = decode_ip4(&d, o, reason);
		else if (fam == 24 || fam == 28 || fam == 30)
			r = decode_ip6(&d, o, reason);
		else
			r = DEC_NOT_IP;
		break;
	}
	case 9:   /* LINKTYPE_PPP */
	case 50: { /* LINKTYPE_PPP_HDLC */
		/* Optional address/control bytes, then a 1- or 2-byte protocol. */
		if (d.len >= 2 && d.p[0] == 0xff && d.p[1] == 0x03) {
			d.p += 2;
			d.len -= 2;
		}
		if (d.len < 1)
			return fail(reason, MAL_LINK_TRUNCATED);
		uint16_t ppp = d.p[0];
		if (!(ppp & 1)) {
			if (d.len < 2)
				return fail(reason, MAL_LINK_TRUNCATED);
			ppp = rd16(d.p);
			d.p++;
			d.len--;
		}
		d.p++;
		d.len--;
		if (ppp == 0x0021)
			r = decode_ip4(&d, o, reason);
		else if (ppp == 0x0057)
			r = decode_ip6(&d, o, reason);
		else
			r = DEC_NOT_IP;
		break;
	}
	case 239: /* LINKTYPE_NFLOG */
		r = decode_nflog(&d, o, reason);
		break;
	default:
		return fail(reason, MAL_LINKTYPE_UNSUPPORTED);
	}
	o->vlan = d.vlan;
	return r;
}
