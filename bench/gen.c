/*
 * procsniff-gen - traffic generator for the benchmark harness.
 *
 * Builds well-formed Ethernet/IPv4/TCP|UDP frames (correct IPv4, TCP and UDP
 * checksums) for N flows addressed from 198.18.0.0/15, or replays a pcap or
 * pcapng file in a loop, and pushes them into an interface through an
 * AF_PACKET socket with a TPACKET_V2 TX ring and PACKET_QDISC_BYPASS: a batch
 * of frames is written into the ring, then one send() hands the whole batch
 * to the driver. The offered rate (frames/s or bit/s, or "max") is held by a
 * token bucket refilled between batches. With --write the same frames go to a
 * pcap file instead (reproducible for a given --seed).
 *
 * Sizes are Ethernet frame lengths as handed to the driver, without FCS (what
 * rx_bytes and tcpdump count): 64, 512 and 1500 B, or IMIX 7:4:1 of
 * 64/576/1500 B. A share of flows (--dpi-share) replays short application
 * transactions instead of bulk frames: HTTP GET and response, DNS query and
 * answer, TLS ClientHello with SNI and ServerHello, QUIC v1 Initials
 * protected with the RFC 9001 Initial keys (ClientHello with SNI inside, so a
 * decrypting dissector finds it), SSH banners; TCP ones with handshake and
 * FIN exchange.
 * Those frames have their natural sizes, so a mix is exact only for bulk
 * frames; the final report counts the real bytes.
 *
 * At the end one JSON line goes to stdout: frames, bytes, seconds, achieved
 * pps and Gbit/s (Ethernet bytes without FCS), CPU used, where it ran.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>

#include "bench/crypto.h"

#define BENCH_FRAME_MAX 1514		/* Ethernet + 1500 B IP MTU */
#define BENCH_PAYLOAD_MAX 1500
#define BENCH_FLOWS_MAX 1000000u
#define BENCH_SCRATCH 65536		/* largest replayed frame in --write mode */
#define BENCH_REPLAY_MAX_BYTES (1ull << 30)

enum bench_app {
	BENCH_APP_NONE,
	BENCH_APP_HTTP,
	BENCH_APP_DNS,
	BENCH_APP_TLS,
	BENCH_APP_QUIC,
	BENCH_APP_SSH,
	BENCH_APP_COUNT,
};

static const char *const bench_app_names[BENCH_APP_COUNT] = {
	"none", "http", "dns", "tls", "quic", "ssh",
};

/* TCP flags as on the wire. */
#define BENCH_TCP_FIN 0x01
#define BENCH_TCP_SYN 0x02
#define BENCH_TCP_PSH 0x08
#define BENCH_TCP_ACK 0x10

enum bench_rate_unit {
	BENCH_RATE_MAX,
	BENCH_RATE_PPS,
	BENCH_RATE_BPS,
};

struct bench_opts {
	const char *iface;
	const char *write_path;
	const char *replay_path;
	unsigned int sizes[12];		/* cycle of frame sizes for bulk frames */
	unsigned int nsizes;
	const char *mix_name;
	uint32_t flows;
	double udp_share;		/* percent of bulk flows that are UDP */
	double dpi_share;		/* percent of flows that carry applications */
	enum bench_rate_unit rate_unit;
	double rate;
	const char *rate_text;
	double duration;
	uint64_t count;
	int cpu;
	unsigned int batch;
	unsigned int ring_frames;
	uint64_t seed;
	uint8_t src_mac[6];
	uint8_t dst_mac[6];
	bool build_only;
	bool linear;
	bool quiet;
};

/* Per-flow state: how many frames the flow sent and its TCP sequence numbers. */
struct bench_flow {
	uint32_t count;
	uint32_t seq_c;
	uint32_t seq_s;
};

struct bench_replay {
	uint8_t *arena;
	uint32_t *off;
	uint16_t *len;
	size_t nframes;
	size_t next;
	uint64_t skipped;
};

#define BENCH_QUIC_POOL 64

struct bench_quic_pkt {
	uint8_t client[1200];
	uint8_t server[256];
	size_t client_len;
	size_t server_len;
};

struct bench_gen {
	struct bench_opts *o;
	struct bench_quic_pkt quic[BENCH_QUIC_POOL];
	struct bench_flow *flows;
	struct bench_replay replay;
	uint8_t payload[BENCH_PAYLOAD_MAX];
	uint32_t prefix_sum[BENCH_PAYLOAD_MAX + 1];
	uint8_t scratch[BENCH_SCRATCH];
	uint64_t rng;
	uint64_t frame_no;
	uint64_t dpi_frames;
	uint64_t app_frames[BENCH_APP_COUNT];
};

static volatile sig_atomic_t bench_stop;

static void bench_on_signal(int sig)
{
	(void)sig;
	bench_stop = 1;
}

/* splitmix64: the seed expander; also a good stateless hash of a flow index. */
static uint64_t bench_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* xorshift64*: one step of the frame-level random stream. */
static uint64_t bench_rand(struct bench_gen *g)
{
	g->rng ^= g->rng >> 12;
	g->rng ^= g->rng << 25;
	g->rng ^= g->rng >> 27;
	return g->rng * 0x2545f4914f6cdd1dull;
}

static uint64_t bench_flow_hash(const struct bench_gen *g, uint32_t flow)
{
	return bench_mix64(g->o->seed * 0x100000001b3ull + flow);
}

/* Ones' complement sum of big-endian 16-bit words; an odd tail is padded. */
static uint32_t bench_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t bench_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void bench_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void bench_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

struct bench_tuple {
	uint32_t cli_ip;
	uint32_t srv_ip;
	uint16_t cli_port;
	uint16_t srv_port;
	uint8_t proto;
	enum bench_app app;
};

/*
 * Flow index -> 5-tuple. Clients are 198.18.0.1-198.18.253.232 and the
 * client port grows every 65000 flows, so tuples are unique up to 1M flows
 * (198.18.255.0/24 is left to the harness's veth addresses);
 * servers are spread over 198.19.0.1-198.19.255.254 by a hash.
 */
static void bench_flow_tuple(const struct bench_gen *g, uint32_t flow, struct bench_tuple *t)
{
	uint64_t h = bench_flow_hash(g, flow);
	double pick = (double)(h >> 11) / 9007199254740992.0 * 100.0;
	uint64_t h2 = bench_mix64(h);

	t->cli_ip = 0xc6120000u + 1 + flow % 65000;
	t->srv_ip = 0xc6130000u + 1 + (uint32_t)(h2 % 65534);
	t->cli_port = (uint16_t)(40000 + flow / 65000);
	t->app = BENCH_APP_NONE;
	if (pick < g->o->dpi_share) {
		t->app = (enum bench_app)(1 + (h2 >> 32) % (BENCH_APP_COUNT - 1));
	} else {
		/* A second, independent draw decides TCP or UDP for bulk flows. */
		double pick_udp = (double)(h2 >> 40) / 16777216.0 * 100.0;

		t->proto = pick_udp < g->o->udp_share ? IPPROTO_UDP : IPPROTO_TCP;
		/* 20000-39999: clear of every port our dissectors or tunnels claim. */
		t->srv_port = (uint16_t)(20000 + (h2 >> 16) % 20000);
		return;
	}
	switch (t->app) {
	case BENCH_APP_HTTP:
		t->proto = IPPROTO_TCP;
		t->srv_port = 80;
		break;
	case BENCH_APP_DNS:
		t->proto = IPPROTO_UDP;
		t->srv_port = 53;
		break;
	case BENCH_APP_TLS:
		t->proto = IPPROTO_TCP;
		t->srv_port = 443;
		break;
	case BENCH_APP_QUIC:
		t->proto = IPPROTO_UDP;
		t->srv_port = 443;
		break;
	default:
		t->proto = IPPROTO_TCP;
		t->srv_port = 22;
		break;
	}
}

/* Fills the bulk payload template and its prefix checksums (seeded). */
static void bench_payload_init(struct bench_gen *g)
{
	uint64_t s = bench_mix64(g->o->seed ^ 0x5061796c6f6164ull);
	size_t i;

	for (i = 0; i < sizeof(g->payload); i++) {
		s = bench_mix64(s);
		g->payload[i] = (uint8_t)s;
	}
	g->prefix_sum[0] = 0;
	for (i = 1; i <= BENCH_PAYLOAD_MAX; i++) {
		if (i & 1)
			g->prefix_sum[i] = g->prefix_sum[i - 1] + ((uint32_t)g->payload[i - 1] << 8);
		else
			g->prefix_sum[i] = g->prefix_sum[i - 2] +
				((uint32_t)g->payload[i - 2] << 8 | g->payload[i - 1]);
	}
}

/*
 * Writes Ethernet, IPv4 and the L4 header in front of a payload of @plen
 * bytes already at its place (or summed in @psum), then both checksums.
 * Returns the frame length.
 */
static size_t bench_frame_headers(struct bench_gen *g, uint8_t *f, const struct bench_tuple *t,
	bool to_client, uint8_t tcp_flags, uint32_t seq, uint32_t ack, size_t plen, uint32_t psum,
	uint16_t ip_id)
{
	uint8_t *ip = f + 14, *l4 = f + 34;
	size_t l4hdr = t->proto == IPPROTO_TCP ? 20 : 8;
	size_t l4len = l4hdr + plen;
	uint32_t src = to_client ? t->srv_ip : t->cli_ip;
	uint32_t dst = to_client ? t->cli_ip : t->srv_ip;
	uint16_t sport = to_client ? t->srv_port : t->cli_port;
	uint16_t dport = to_client ? t->cli_port : t->srv_port;
	uint32_t sum;

	memcpy(f, g->o->dst_mac, 6);
	memcpy(f + 6, g->o->src_mac, 6);
	bench_put16(f + 12, ETH_P_IP);

	ip[0] = 0x45;
	ip[1] = 0;
	bench_put16(ip + 2, (uint16_t)(20 + l4len));
	bench_put16(ip + 4, ip_id);
	bench_put16(ip + 6, 0x4000);	/* DF */
	ip[8] = 64;
	ip[9] = t->proto;
	bench_put16(ip + 10, 0);
	bench_put32(ip + 12, src);
	bench_put32(ip + 16, dst);
	bench_put16(ip + 10, bench_csum_fold(bench_csum_add(0, ip, 20)));

	bench_put16(l4, sport);
	bench_put16(l4 + 2, dport);
	if (t->proto == IPPROTO_TCP) {
		bench_put32(l4 + 4, seq);
		bench_put32(l4 + 8, (tcp_flags & BENCH_TCP_ACK) ? ack : 0);
		l4[12] = 5 << 4;
		l4[13] = tcp_flags;
		bench_put16(l4 + 14, 64240);
		bench_put16(l4 + 16, 0);
		bench_put16(l4 + 18, 0);
	} else {
		bench_put16(l4 + 4, (uint16_t)l4len);
		bench_put16(l4 + 6, 0);
	}
	/* Pseudo-header, L4 header with a zero checksum field, then payload. */
	sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + t->proto +
		(uint32_t)l4len;
	sum = bench_csum_add(sum, l4, l4hdr);
	sum += psum;
	sum = bench_csum_fold(sum);
	if (t->proto == IPPROTO_UDP && sum == 0)
		sum = 0xffff;	/* RFC 768: zero means "no checksum" */
	bench_put16(l4 + (t->proto == IPPROTO_TCP ? 16 : 6), (uint16_t)sum);
	return 34 + l4len;
}

static size_t bench_dns_name(uint8_t *p, uint32_t site)
{
	int n = snprintf((char *)p + 1, 16, "site%" PRIu32, site);
	size_t off;

	p[0] = (uint8_t)n;
	off = 1 + (size_t)n;
	memcpy(p + off, "\x07" "example" "\x03" "com", 13);
	return off + 13;
}

static uint32_t bench_site(uint32_t flow)
{
	return flow % 1000;
}

/* DNS query (A, RD) or its answer with one A record, RFC 1035 4.1. */
static size_t bench_app_dns(uint8_t *p, uint32_t flow, uint64_t h, bool answer,
	const struct bench_tuple *t)
{
	size_t off = 12;

	bench_put16(p, (uint16_t)h);
	bench_put16(p + 2, answer ? 0x8180 : 0x0100);
	bench_put16(p + 4, 1);
	bench_put16(p + 6, answer ? 1 : 0);
	bench_put16(p + 8, 0);
	bench_put16(p + 10, 0);
	off += bench_dns_name(p + off, bench_site(flow));
	bench_put16(p + off, 1);	/* A */
	bench_put16(p + off + 2, 1);	/* IN */
	off += 4;
	if (answer) {
		bench_put16(p + off, 0xc00c);
		bench_put16(p + off + 2, 1);
		bench_put16(p + off + 4, 1);
		bench_put32(p + off + 6, 300);
		bench_put16(p + off + 10, 4);
		bench_put32(p + off + 12, t->srv_ip ^ 0x00010000u);
		off += 16;
	}
	return off;
}

static size_t bench_put_bytes(uint8_t *p, const void *src, size_t n)
{
	memcpy(p, src, n);
	return n;
}

static void bench_fill_random(uint8_t *p, size_t n, uint64_t h)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((i & 7) == 0)
			h = bench_mix64(h);
		p[i] = (uint8_t)(h >> ((i & 7) * 8));
	}
}

/*
 * TLS 1.3 ClientHello with SNI site<@site>.example.com, ALPN, key share (RFC
 * 8446 4.1.2), inside a TLS record; @extra (QUIC transport parameters) is
 * appended to the extensions as given.
 */
static size_t bench_app_tls_client_hello(uint8_t *p, uint32_t site, uint64_t h, bool quic,
	const uint8_t *extra, size_t extra_len)
{
	static const uint8_t suites[] = { 0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 0xc0, 0x2b,
		0xc0, 0x2f, 0xc0, 0x2c, 0xc0, 0x30, 0xcc, 0xa9, 0xcc, 0xa8 };
	static const uint8_t ext_fixed[] = {
		0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17,	/* groups */
		0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01,
		0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03,		/* versions */
	};
	static const uint8_t alpn_tls[] = { 0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, 'h', '2',
		0x08, 'h', 't', 't', 'p', '/', '1', '.', '1' };
	static const uint8_t alpn_quic[] = { 0x00, 0x10, 0x00, 0x05, 0x00, 0x03, 0x02, 'h', '3' };
	char name[64];
	int nlen = snprintf(name, sizeof(name), "site%" PRIu32 ".example.com", site);
	size_t off = 9, ext_start, hs_len;

	bench_put16(p + off, 0x0303);
	off += 2;
	bench_fill_random(p + off, 32, h);
	off += 32;
	p[off++] = 32;
	bench_fill_random(p + off, 32, h ^ 1);
	off += 32;
	bench_put16(p + off, sizeof(suites));
	off += 2;
	off += bench_put_bytes(p + off, suites, sizeof(suites));
	p[off++] = 1;
	p[off++] = 0;
	ext_start = off;
	off += 2;
	bench_put16(p + off, 0x0000);	/* server_name */
	bench_put16(p + off + 2, (uint16_t)(nlen + 5));
	bench_put16(p + off + 4, (uint16_t)(nlen + 3));
	p[off + 6] = 0;
	bench_put16(p + off + 7, (uint16_t)nlen);
	memcpy(p + off + 9, name, (size_t)nlen);
	off += 9 + (size_t)nlen;
	off += bench_put_bytes(p + off, ext_fixed, sizeof(ext_fixed));
	if (quic)
		off += bench_put_bytes(p + off, alpn_quic, sizeof(alpn_quic));
	else
		off += bench_put_bytes(p + off, alpn_tls, sizeof(alpn_tls));
	if (extra_len)
		off += bench_put_bytes(p + off, extra, extra_len);
	bench_put16(p + off, 0x0033);	/* key_share: x25519 */
	bench_put16(p + off + 2, 38);
	bench_put16(p + off + 4, 36);
	bench_put16(p + off + 6, 0x001d);
	bench_put16(p + off + 8, 32);
	bench_fill_random(p + off + 10, 32, h ^ 2);
	off += 42;
	bench_put16(p + ext_start, (uint16_t)(off - ext_start - 2));

	hs_len = off - 9;
	p[0] = 0x16;
	bench_put16(p + 1, 0x0301);
	bench_put16(p + 3, (uint16_t)(off - 5));
	p[5] = 1;
	p[6] = (uint8_t)(hs_len >> 16);
	bench_put16(p + 7, (uint16_t)hs_len);
	return off;
}

/* TLS 1.3 ServerHello choosing TLS_AES_128_GCM_SHA256. */
static size_t bench_app_tls_server_hello(uint8_t *p, uint64_t h)
{
	size_t off = 9, ext_start, hs_len;

	bench_put16(p + off, 0x0303);
	off += 2;
	bench_fill_random(p + off, 32, h ^ 3);
	off += 32;
	p[off++] = 32;
	bench_fill_random(p + off, 32, h ^ 1);	/* echoes the client's session id */
	off += 32;
	bench_put16(p + off, 0x1301);
	off += 2;
	p[off++] = 0;
	ext_start = off;
	off += 2;
	bench_put16(p + off, 0x002b);
	bench_put16(p + off + 2, 2);
	bench_put16(p + off + 4, 0x0304);
	off += 6;
	bench_put16(p + off, 0x0033);
	bench_put16(p + off + 2, 36);
	bench_put16(p + off + 4, 0x001d);
	bench_put16(p + off + 6, 32);
	bench_fill_random(p + off + 8, 32, h ^ 4);
	off += 40;
	bench_put16(p + ext_start, (uint16_t)(off - ext_start - 2));

	hs_len = off - 9;
	p[0] = 0x16;
	bench_put16(p + 1, 0x0303);
	bench_put16(p + 3, (uint16_t)(off - 5));
	p[5] = 2;
	p[6] = (uint8_t)(hs_len >> 16);
	bench_put16(p + 7, (uint16_t)hs_len);
	return off;
}

/* RFC 9001 5.2: initial salt of QUIC version 1. */
static const uint8_t bench_quic_v1_salt[20] = { 0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3,
	0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a };

/*
 * One protected QUIC v1 Initial (RFC 9000 17.2.2, RFC 9001 5): long header
 * with 8-byte connection IDs, a 4-byte packet number 0, one CRYPTO frame
 * carrying @msg (a TLS handshake message), PADDING up to @total bytes, AEAD
 * AES-128-GCM with the Initial keys of @odcid ("client in" or "server in"),
 * then header protection. Returns the packet length.
 */
static size_t bench_quic_protect(uint8_t *pkt, const uint8_t odcid[8], bool server,
	const uint8_t dcid[8], const uint8_t scid[8], const uint8_t *msg, size_t msg_len,
	size_t total)
{
	const size_t hdr = 30, pn_off = 26;
	uint8_t secret[32], hs[32], key[16], iv[12], hp[16], mask[16];
	struct bench_aes128 aes;
	size_t plain = 4 + msg_len, off = 0, i;

	if (total < hdr + plain + 16)
		total = hdr + plain + 16;
	pkt[off++] = 0xc3;	/* long header, fixed bit, Initial, 4-byte PN */
	bench_put32(pkt + off, 0x00000001);
	off += 4;
	pkt[off++] = 8;
	off += bench_put_bytes(pkt + off, dcid, 8);
	pkt[off++] = 8;
	off += bench_put_bytes(pkt + off, scid, 8);
	pkt[off++] = 0;		/* token length */
	bench_put16(pkt + off, (uint16_t)(0x4000 | (total - pn_off)));
	off += 2;
	bench_put32(pkt + off, 0);	/* packet number */
	off += 4;
	/* Plaintext: CRYPTO(offset 0, 2-byte length), then PADDING (zeros). */
	pkt[off] = 0x06;
	pkt[off + 1] = 0x00;
	bench_put16(pkt + off + 2, (uint16_t)(0x4000 | msg_len));
	memcpy(pkt + off + 4, msg, msg_len);
	memset(pkt + off + plain, 0, total - 16 - off - plain);

	bench_hmac_sha256(bench_quic_v1_salt, sizeof(bench_quic_v1_salt), odcid, 8, secret);
	bench_hkdf_expand_label(secret, server ? "server in" : "client in", hs, 32);
	bench_hkdf_expand_label(hs, "quic key", key, 16);
	bench_hkdf_expand_label(hs, "quic iv", iv, 12);
	bench_hkdf_expand_label(hs, "quic hp", hp, 16);
	/* Packet number 0: the nonce is the IV itself. */
	bench_gcm_seal(key, iv, pkt, hdr, pkt + hdr, pkt + hdr, total - 16 - hdr,
		pkt + total - 16);
	bench_aes128_init(&aes, hp);
	bench_aes128_encrypt(&aes, pkt + pn_off + 4, mask);
	pkt[0] ^= mask[0] & 0x0f;
	for (i = 0; i < 4; i++)
		pkt[pn_off + i] ^= mask[1 + i];
	return total;
}

/*
 * Builds the pool of QUIC exchanges: client Initial (ClientHello with SNI
 * site<k>.example.com, ALPN h3, datagram padded to 1200 bytes, RFC 9000
 * 14.1) and server Initial (ServerHello), protected once here so that the
 * per-frame cost is a copy.
 */
static void bench_quic_pool_init(struct bench_gen *g)
{
	uint8_t msg[1024], tp[32];
	unsigned int k;

	for (k = 0; k < BENCH_QUIC_POOL; k++) {
		struct bench_quic_pkt *q = &g->quic[k];
		uint64_t h = bench_mix64(g->o->seed ^ (0x51554943ull << 16) ^ k);
		uint8_t dcid[8], scid[8], srv[8];
		size_t n, tpl = 0;

		bench_fill_random(dcid, 8, h ^ 5);
		bench_fill_random(scid, 8, h ^ 6);
		bench_fill_random(srv, 8, h ^ 8);
		/* Transport parameters: initial_source_connection_id, initial_max_data. */
		bench_put16(tp, 0x0039);
		bench_put16(tp + 2, 16);
		tp[4] = 0x0f;
		tp[5] = 8;
		memcpy(tp + 6, scid, 8);
		memcpy(tp + 14, "\x04\x04\x80\x10\x00\x00", 6);
		tpl = 20;
		n = bench_app_tls_client_hello(msg, k, h, true, tp, tpl);
		q->client_len = bench_quic_protect(q->client, dcid, false, dcid, scid, msg + 5,
			n - 5, 1200);
		n = bench_app_tls_server_hello(msg, h);
		q->server_len = bench_quic_protect(q->server, dcid, true, scid, srv, msg + 5,
			n - 5, 0);
	}
}

static size_t bench_app_quic_initial(struct bench_gen *g, uint8_t *p, uint64_t flow_hash,
	bool server)
{
	const struct bench_quic_pkt *q = &g->quic[flow_hash % BENCH_QUIC_POOL];

	if (server)
		return bench_put_bytes(p, q->server, q->server_len);
	return bench_put_bytes(p, q->client, q->client_len);
}

/*
 * The next frame of an application flow. TCP transactions are 8 frames:
 * SYN, SYN/ACK, ACK, two payload frames, FIN/ACK both ways, last ACK; then
 * the flow starts again with new sequence numbers. UDP ones are 2 frames.
 */
static size_t bench_frame_app(struct bench_gen *g, uint8_t *f, uint32_t flow,
	const struct bench_tuple *t)
{
	struct bench_flow *fl = &g->flows[flow];
	uint32_t steps = t->proto == IPPROTO_TCP ? 8 : 2;
	uint32_t step = fl->count % steps, gen = fl->count / steps;
	uint64_t h = bench_mix64(bench_flow_hash(g, flow) + gen);
	uint8_t *pl = f + 34 + (t->proto == IPPROTO_TCP ? 20 : 8);
	bool to_client = false;
	uint8_t flags = BENCH_TCP_ACK;
	size_t plen = 0;
	uint32_t seq, ack;
	size_t len;

	fl->count++;
	g->dpi_frames++;
	g->app_frames[t->app]++;
	if (t->proto == IPPROTO_UDP) {
		to_client = step == 1;
		if (t->app == BENCH_APP_DNS)
			plen = bench_app_dns(pl, flow, h, to_client, t);
		else
			plen = bench_app_quic_initial(g, pl, bench_flow_hash(g, flow), to_client);
		return bench_frame_headers(g, f, t, to_client, 0, 0, 0, plen,
			bench_csum_add(0, pl, plen), (uint16_t)h);
	}

	if (step == 0) {
		fl->seq_c = (uint32_t)h;
		fl->seq_s = (uint32_t)(h >> 32);
	}
	switch (step) {
	case 0:
		flags = BENCH_TCP_SYN;
		break;
	case 1:
		flags = BENCH_TCP_SYN | BENCH_TCP_ACK;
		to_client = true;
		break;
	case 2:
	case 7:
		break;
	case 3:
	case 4:
		flags |= BENCH_TCP_PSH;
		/* SSH: the server speaks first (RFC 4253 4.2). */
		to_client = (step == 4) != (t->app == BENCH_APP_SSH);
		if (t->app == BENCH_APP_HTTP && !to_client)
			plen = (size_t)snprintf((char *)pl, 256,
				"GET /bench/%" PRIu32 "/%" PRIu32 " HTTP/1.1\r\n"
				"Host: site%" PRIu32 ".example.com\r\n"
				"User-Agent: procsniff-gen/1\r\nAccept: */*\r\n\r\n",
				flow, gen, bench_site(flow));
		else if (t->app == BENCH_APP_HTTP)
			plen = (size_t)snprintf((char *)pl, 256,
				"HTTP/1.1 200 OK\r\nServer: procsniff-gen\r\n"
				"Content-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n");
		else if (t->app == BENCH_APP_TLS && !to_client)
			plen = bench_app_tls_client_hello(pl, bench_site(flow), h, false, NULL, 0);
		else if (t->app == BENCH_APP_TLS)
			plen = bench_app_tls_server_hello(pl, h);
		else if (to_client)
			plen = (size_t)snprintf((char *)pl, 256,
				"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
		else
			plen = (size_t)snprintf((char *)pl, 256, "SSH-2.0-procsniff_gen_1.0\r\n");
		break;
	case 5:
		flags |= BENCH_TCP_FIN;
		break;
	default:
		flags |= BENCH_TCP_FIN;
		to_client = true;
		break;
	}
	seq = to_client ? fl->seq_s : fl->seq_c;
	ack = to_client ? fl->seq_c : fl->seq_s;
	len = bench_frame_headers(g, f, t, to_client, flags, seq, ack, plen,
		bench_csum_add(0, pl, plen), (uint16_t)(h + step));
	seq += (uint32_t)plen + ((flags & (BENCH_TCP_SYN | BENCH_TCP_FIN)) ? 1 : 0);
	if (to_client)
		fl->seq_s = seq;
	else
		fl->seq_c = seq;
	return len;
}

/* Next synthetic frame into @f (at least BENCH_SCRATCH bytes); returns its length. */
static size_t bench_frame_next(struct bench_gen *g, uint8_t *f)
{
	uint32_t flow = (uint32_t)((bench_rand(g) >> 32) * g->o->flows >> 32);
	struct bench_tuple t;
	struct bench_flow *fl;
	size_t size, hdr, plen;
	uint32_t seq;

	bench_flow_tuple(g, flow, &t);
	if (t.app != BENCH_APP_NONE)
		return bench_frame_app(g, f, flow, &t);

	size = g->o->sizes[g->frame_no % g->o->nsizes];
	hdr = t.proto == IPPROTO_TCP ? 54 : 42;
	plen = size > hdr ? size - hdr : 0;
	fl = &g->flows[flow];
	if (fl->count == 0)
		fl->seq_c = (uint32_t)bench_flow_hash(g, flow);
	fl->count++;
	seq = fl->seq_c;
	fl->seq_c += (uint32_t)plen;
	memcpy(f + hdr, g->payload, plen);
	return bench_frame_headers(g, f, &t, false, BENCH_TCP_ACK | BENCH_TCP_PSH, seq,
		(uint32_t)(bench_flow_hash(g, flow) >> 32), plen, g->prefix_sum[plen],
		(uint16_t)fl->count);
}

static size_t bench_replay_next(struct bench_gen *g, uint8_t *f)
{
	struct bench_replay *r = &g->replay;
	size_t i = r->next;

	r->next = i + 1 == r->nframes ? 0 : i + 1;
	memcpy(f, r->arena + r->off[i], r->len[i]);
	return r->len[i];
}

static size_t bench_next(struct bench_gen *g, uint8_t *f)
{
	size_t len;

	if (g->o->replay_path)
		len = bench_replay_next(g, f);
	else
		len = bench_frame_next(g, f);
	g->frame_no++;
	return len;
}

/*
 * Loads every frame of a pcap/pcapng file into memory as Ethernet frames
 * (raw IP, Linux cooked and BSD loopback captures get an Ethernet header).
 * Frames longer than @max_len are skipped and counted.
 */
static int bench_replay_load(struct bench_gen *g, const char *path, size_t max_len)
{
	struct bench_replay *r = &g->replay;
	char errbuf[PCAP_ERRBUF_SIZE];
	size_t cap = 0, used = 0, nmax = 0;
	struct pcap_pkthdr *ph;
	const uint8_t *data;
	pcap_t *p;
	int dlt, rc, ret = 0;

	p = pcap_open_offline(path, errbuf);
	if (!p) {
		fprintf(stderr, "procsniff-gen: %s: %s\n", path, errbuf);
		return -ENOENT;
	}
	dlt = pcap_datalink(p);
	while ((rc = pcap_next_ex(p, &ph, &data)) == 1) {
		uint8_t eth[14 + 65536];
		size_t len = ph->caplen;
		const uint8_t *src = data;
		uint16_t type = 0;

		/* Rebuild an Ethernet header for link types that lack one. */
		switch (dlt) {
		case DLT_EN10MB:
			break;
		case DLT_RAW:
		case DLT_IPV4:
		case DLT_IPV6:
			if (len < 1)
				goto skip;
			type = (data[0] >> 4) == 6 ? ETH_P_IPV6 : ETH_P_IP;
			break;
		case DLT_LINUX_SLL:
			if (len < 16)
				goto skip;
			type = (uint16_t)(data[14] << 8 | data[15]);
			src += 16;
			len -= 16;
			break;
		case DLT_NULL:
		case DLT_LOOP:
			if (len < 4)
				goto skip;
			type = (data[4] >> 4) == 6 ? ETH_P_IPV6 : ETH_P_IP;
			src += 4;
			len -= 4;
			break;
		default:
			fprintf(stderr, "procsniff-gen: %s: link type %d not replayable\n", path,
				dlt);
			ret = -EPROTONOSUPPORT;
			goto out;
		}
		if (type) {
			if (len + 14 > sizeof(eth))
				goto skip;
			memcpy(eth, g->o->dst_mac, 6);
			memcpy(eth + 6, g->o->src_mac, 6);
			bench_put16(eth + 12, type);
			memcpy(eth + 14, src, len);
			src = eth;
			len += 14;
		}
		if (len < 14 || len > max_len)
			goto skip;
		if (used + len > BENCH_REPLAY_MAX_BYTES)
			break;
		if (r->nframes == nmax) {
			size_t n = nmax ? nmax * 2 : 4096;
			uint32_t *o = realloc(r->off, n * sizeof(*o));
			uint16_t *l;

			if (!o) {
				ret = -ENOMEM;
				goto out;
			}
			r->off = o;
			l = realloc(r->len, n * sizeof(*l));
			if (!l) {
				ret = -ENOMEM;
				goto out;
			}
			r->len = l;
			nmax = n;
		}
		if (used + len > cap) {
			size_t n = cap ? cap * 2 : 1 << 20;
			uint8_t *a;

			while (n < used + len)
				n *= 2;
			a = realloc(r->arena, n);
			if (!a) {
				ret = -ENOMEM;
				goto out;
			}
			r->arena = a;
			cap = n;
		}
		memcpy(r->arena + used, src, len);
		r->off[r->nframes] = (uint32_t)used;
		r->len[r->nframes] = (uint16_t)len;
		r->nframes++;
		used += len;
		continue;
skip:
		r->skipped++;
	}
	if (rc == -1)
		fprintf(stderr, "procsniff-gen: %s: %s (kept %zu frames)\n", path, pcap_geterr(p),
			r->nframes);
	if (r->nframes == 0) {
		fprintf(stderr, "procsniff-gen: %s: no replayable frame (%" PRIu64 " skipped)\n",
			path, r->skipped);
		ret = -ENODATA;
	}
out:
	pcap_close(p);
	return ret;
}

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void bench_sleep(double sec)
{
	struct timespec ts;

	if (sec <= 0)
		return;
	ts.tv_sec = (time_t)sec;
	ts.tv_nsec = (long)((sec - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* Token bucket held over batches; "max" never waits. */
struct bench_bucket {
	double rate;		/* tokens per second: frames or bits */
	double tokens;
	double cap;
	double min_wake;	/* credit needed before a batch starts */
	double last;
	bool bits;
	bool unlimited;
};

static void bench_bucket_init(struct bench_bucket *b, const struct bench_opts *o)
{
	double frame;

	b->unlimited = o->rate_unit == BENCH_RATE_MAX;
	b->bits = o->rate_unit == BENCH_RATE_BPS;
	b->rate = o->rate;
	frame = b->bits ? BENCH_FRAME_MAX * 8.0 : 1.0;
	/*
	 * Credit is capped at one batch and at 10 ms of traffic, so a stall is
	 * never made up later by a burst.
	 */
	b->cap = b->rate * 0.01;
	if (b->cap > (double)o->batch * frame)
		b->cap = (double)o->batch * frame;
	if (b->cap < frame)
		b->cap = frame;
	/* Wake for 1 ms of traffic at least: fewer, fuller batches at low rates. */
	b->min_wake = b->rate * 0.001;
	if (b->min_wake > b->cap)
		b->min_wake = b->cap;
	if (b->min_wake < 1.0)
		b->min_wake = 1.0;
	b->tokens = 0;
	b->last = bench_now();
}

/*
 * Waits until a batch may start (min_wake credit; the last frame of a batch
 * may overdraw in bit/s mode). Returns false to stop.
 */
static bool bench_bucket_wait(struct bench_bucket *b, double deadline)
{
	for (;;) {
		double now = bench_now(), need;

		if (bench_stop || (deadline > 0 && now >= deadline))
			return false;
		if (b->unlimited)
			return true;
		b->tokens += (now - b->last) * b->rate;
		b->last = now;
		if (b->tokens > b->cap)
			b->tokens = b->cap;
		need = b->min_wake - b->tokens;
		if (need <= 0)
			return true;
		need /= b->rate;
		bench_sleep(need > 0.01 ? 0.01 : need);
	}
}

/* Charges one frame; returns whether another frame fits in this batch. */
static bool bench_bucket_take(struct bench_bucket *b, size_t frame_len)
{
	if (b->unlimited)
		return true;
	if (b->bits) {
		b->tokens -= (double)frame_len * 8.0;
		return b->tokens > 0;
	}
	b->tokens -= 1.0;
	return b->tokens >= 1.0;
}

struct bench_result {
	uint64_t frames;
	uint64_t bytes;
	uint64_t send_calls;
	uint64_t tx_errors;
	double seconds;
};

struct bench_tx {
	int fd;
	uint8_t *map;
	size_t map_len;
	unsigned int frame_size;
	unsigned int frame_nr;
	unsigned int head;
	size_t max_len;
	size_t vnet;		/* virtio_net_hdr bytes in front of each frame, or 0 */
};

static void bench_tx_close(struct bench_tx *tx)
{
	if (tx->map && tx->map != MAP_FAILED)
		munmap(tx->map, tx->map_len);
	if (tx->fd >= 0)
		close(tx->fd);
	tx->map = NULL;
	tx->fd = -1;
}

/* Opens the TX ring socket on @o->iface; returns 0 or -errno. */
static int bench_tx_open(struct bench_tx *tx, const struct bench_opts *o)
{
	struct tpacket_req req;
	struct sockaddr_ll sll;
	struct ifreq ifr;
	int one = 1, ver = TPACKET_V2, err;
	unsigned int ifindex, per_block;

	memset(tx, 0, sizeof(*tx));
	tx->fd = socket(AF_PACKET, SOCK_RAW, 0);	/* protocol 0: transmit only */
	if (tx->fd < 0)
		return -errno;
	ifindex = if_nametoindex(o->iface);
	if (!ifindex) {
		err = -errno;
		goto fail;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", o->iface);
	tx->max_len = BENCH_FRAME_MAX;
	if (ioctl(tx->fd, SIOCGIFMTU, &ifr) == 0)
		tx->max_len = (size_t)ifr.ifr_mtu + 14;
	if (tx->max_len > 65535)
		tx->max_len = 65535;
	if (setsockopt(tx->fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof(ver)) ||
		setsockopt(tx->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) ||
		setsockopt(tx->fd, SOL_PACKET, PACKET_LOSS, &one, sizeof(one))) {
		err = -errno;
		goto fail;
	}
	/*
	 * Without a virtio_net_hdr the kernel copies only the Ethernet header
	 * into the skb and maps the rest of the ring slot as zero-copy pages;
	 * a veth must then copy those into fresh pages (skb_copy_ubufs) and the
	 * receiver pull headers out of them. A header whose hdr_len covers the
	 * whole frame makes it one linear copy instead.
	 */
	if (o->linear) {
		if (setsockopt(tx->fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one))) {
			err = -errno;
			goto fail;
		}
		tx->vnet = sizeof(struct virtio_net_hdr);
	}
	tx->frame_size = 2048;
	while (tx->frame_size < TPACKET2_HDRLEN + tx->vnet + tx->max_len)
		tx->frame_size *= 2;
	per_block = (1u << 20) / tx->frame_size;
	if (!per_block)
		per_block = 1;
	tx->frame_nr = (o->ring_frames + per_block - 1) / per_block * per_block;
	memset(&req, 0, sizeof(req));
	req.tp_block_size = per_block * tx->frame_size;
	req.tp_frame_size = tx->frame_size;
	req.tp_block_nr = tx->frame_nr / per_block;
	req.tp_frame_nr = tx->frame_nr;
	if (setsockopt(tx->fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req))) {
		err = -errno;
		goto fail;
	}
	tx->map_len = (size_t)req.tp_block_size * req.tp_block_nr;
	tx->map = mmap(NULL, tx->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, tx->fd, 0);
	if (tx->map == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = (int)ifindex;
	if (bind(tx->fd, (struct sockaddr *)&sll, sizeof(sll))) {
		err = -errno;
		goto fail;
	}
	return 0;
fail:
	bench_tx_close(tx);
	return err;
}

static struct tpacket2_hdr *bench_tx_slot(struct bench_tx *tx, unsigned int i)
{
	return (struct tpacket2_hdr *)(tx->map + (size_t)i * tx->frame_size);
}

/*
 * Sends until the deadline, the frame count or a signal. One send() per
 * batch; frames of a batch are built straight into the ring.
 */
static int bench_tx_run(struct bench_gen *g, struct bench_tx *tx, struct bench_result *res)
{
	const struct bench_opts *o = g->o;
	const size_t data_off = TPACKET_ALIGN(sizeof(struct tpacket2_hdr));
	struct bench_bucket b;
	double t0 = bench_now();
	double deadline = o->duration > 0 ? t0 + o->duration : 0;
	unsigned int batch = o->batch < tx->frame_nr ? o->batch : tx->frame_nr;

	bench_bucket_init(&b, o);
	b.last = t0;
	while (!o->count || res->frames < o->count) {
		unsigned int n = 0;

		if (!bench_bucket_wait(&b, deadline))
			break;
		while (n < batch && (!o->count || res->frames + n < o->count)) {
			struct tpacket2_hdr *h = bench_tx_slot(tx, tx->head);
			uint32_t st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
			size_t len;

			/* Pairs with the kernel's release of the slot after transmit. */
			if (st & TP_STATUS_WRONG_FORMAT) {
				res->tx_errors++;
				st = TP_STATUS_AVAILABLE;
			}
			if (st != TP_STATUS_AVAILABLE)
				break;
			len = bench_next(g, (uint8_t *)h + data_off + tx->vnet);
			if (len > tx->max_len) {
				res->tx_errors++;
				continue;
			}
			if (tx->vnet) {
				struct virtio_net_hdr *vh = (void *)((uint8_t *)h + data_off);

				memset(vh, 0, sizeof(*vh));
				vh->hdr_len = (uint16_t)len;	/* little endian, as the host */
			}
			h->tp_len = (uint32_t)(len + tx->vnet);
			/* Pairs with the kernel's acquire when it scans for SEND_REQUEST. */
			__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
			tx->head = tx->head + 1 == tx->frame_nr ? 0 : tx->head + 1;
			res->bytes += len;
			n++;
			if (!bench_bucket_take(&b, len))
				break;
		}
		if (n == 0 && o->count && res->frames >= o->count)
			break;
		if (o->build_only) {
			unsigned int i, k = tx->head;

			for (i = 0; i < n; i++) {
				k = k == 0 ? tx->frame_nr - 1 : k - 1;
				__atomic_store_n(&bench_tx_slot(tx, k)->tp_status, TP_STATUS_AVAILABLE,
					__ATOMIC_RELEASE);
			}
		} else {
			ssize_t rc;

			do
				rc = send(tx->fd, NULL, 0, 0);
			while (rc < 0 && (errno == EINTR || errno == ENOBUFS) && !bench_stop);
			if (rc < 0 && errno != EINTR) {
				int err = -errno;

				fprintf(stderr, "procsniff-gen: send: %s\n", strerror(errno));
				res->seconds = bench_now() - t0;
				return err;
			}
			res->send_calls++;
		}
		res->frames += n;
	}
	res->seconds = bench_now() - t0;
	return 0;
}

/* Writes the frames to a pcap file, timestamps spaced by the offered rate. */
static int bench_write_run(struct bench_gen *g, struct bench_result *res)
{
	const struct bench_opts *o = g->o;
	uint8_t *buf = g->scratch;
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d;
	double t = 1700000000.0, step = 1e-6, t0 = bench_now();
	uint64_t i, n = o->count;

	if (!dead)
		return -ENOMEM;
	d = pcap_dump_open(dead, o->write_path);
	if (!d) {
		fprintf(stderr, "procsniff-gen: %s: %s\n", o->write_path, pcap_geterr(dead));
		pcap_close(dead);
		return -EIO;
	}
	if (!n && o->duration > 0 && o->rate_unit == BENCH_RATE_PPS)
		n = (uint64_t)(o->duration * o->rate);
	if (o->rate_unit == BENCH_RATE_PPS)
		step = 1.0 / o->rate;
	for (i = 0; i < n && !bench_stop; i++) {
		struct pcap_pkthdr ph;
		size_t len = bench_next(g, buf);
		uint64_t us = (uint64_t)llround(t * 1e6);

		ph.ts.tv_sec = (time_t)(us / 1000000);
		ph.ts.tv_usec = (suseconds_t)(us % 1000000);
		ph.caplen = ph.len = (bpf_u_int32)len;
		pcap_dump((u_char *)d, &ph, buf);
		res->frames++;
		res->bytes += len;
		if (o->rate_unit == BENCH_RATE_BPS)
			t += (double)len * 8.0 / o->rate;
		else
			t += step;
	}
	pcap_dump_close(d);
	pcap_close(dead);
	res->seconds = bench_now() - t0;
	return 0;
}

static int bench_parse_mac(const char *s, uint8_t *mac)
{
	unsigned int b[6];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		if (b[i] > 255)
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

/* "200k", "1.5M", "1Gbps", "300kpps", "max" -> unit and value. */
static int bench_parse_rate(const char *s, struct bench_opts *o)
{
	char *end;
	double v;

	o->rate_text = s;
	if (!strcmp(s, "max")) {
		o->rate_unit = BENCH_RATE_MAX;
		return 0;
	}
	v = strtod(s, &end);
	if (end == s || !(v > 0))
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		v *= 1e3;
		end++;
		break;
	case 'm':
	case 'M':
		v *= 1e6;
		end++;
		break;
	case 'g':
	case 'G':
		v *= 1e9;
		end++;
		break;
	default:
		break;
	}
	if (!*end || !strcasecmp(end, "pps"))
		o->rate_unit = BENCH_RATE_PPS;
	else if (!strcasecmp(end, "bps") || !strcasecmp(end, "bit") || !strcasecmp(end, "bit/s"))
		o->rate_unit = BENCH_RATE_BPS;
	else
		return -EINVAL;
	o->rate = v;
	return 0;
}

static int bench_parse_mix(const char *s, struct bench_opts *o)
{
	static const unsigned int imix[12] = { 64, 576, 64, 64, 1500, 64, 576, 64, 576, 64,
		64, 576 };
	char *end;
	unsigned long v;

	o->mix_name = s;
	if (!strcmp(s, "imix")) {
		memcpy(o->sizes, imix, sizeof(imix));
		o->nsizes = 12;
		return 0;
	}
	v = strtoul(s, &end, 10);
	if (*end || v < 60 || v > BENCH_FRAME_MAX)
		return -EINVAL;
	o->sizes[0] = (unsigned int)v;
	o->nsizes = 1;
	return 0;
}

static void bench_usage(FILE *out)
{
	fprintf(out,
		"usage: procsniff-gen -i IFACE | --write FILE [options]\n"
		"  -i, --iface IFACE      send through IFACE (AF_PACKET TX ring, qdisc bypass)\n"
		"  -w, --write FILE       write a pcap file instead of sending (needs --count)\n"
		"  -r, --replay FILE      replay a pcap/pcapng file in a loop\n"
		"  -m, --mix M            64 | 512 | 1500 | imix (7:4:1 of 64/576/1500) | SIZE\n"
		"                         sizes are Ethernet frames without FCS (default 64)\n"
		"  -n, --flows N          flows, 1..1000000 (default 1024)\n"
		"  -u, --udp-share PCT    percent of bulk flows that are UDP (default 50)\n"
		"  -a, --dpi-share PCT    percent of flows running HTTP/DNS/TLS/QUIC/SSH\n"
		"                         transactions (default 10)\n"
		"  -R, --rate R           max | N[k|M|G][pps] | N[k|M|G]bps (default max)\n"
		"  -d, --duration SEC     stop after SEC seconds\n"
		"  -c, --count N          stop after N frames\n"
		"  -C, --cpu N            pin to CPU N\n"
		"  -b, --batch N          frames per send() (default 256)\n"
		"      --ring-frames N    TX ring frames (default 4096)\n"
		"  -s, --seed N           random seed (default 1)\n"
		"      --src-mac MAC, --dst-mac MAC\n"
		"      --build-only       build frames into the ring but never send\n"
		"      --zerocopy         let the kernel map ring pages into the skb (no\n"
		"                         virtio_net_hdr); slower on veth\n"
		"  -q, --quiet            no message on stderr\n"
		"Ends with one JSON line on stdout.\n");
}

static void bench_print_json(const struct bench_gen *g, const struct bench_result *res,
	int cpu_start, int cpu_end, double cpu_user, double cpu_sys)
{
	const struct bench_opts *o = g->o;
	double secs = res->seconds > 0 ? res->seconds : 1e-9;
	unsigned int i;

	printf("{\"tool\":\"procsniff-gen\",\"mode\":\"%s\",\"iface\":\"%s\"",
		o->write_path ? "write" : o->replay_path ? "replay" : "synthetic",
		o->write_path ? o->write_path : o->iface);
	if (o->replay_path)
		printf(",\"replay_frames\":%zu,\"replay_skipped\":%" PRIu64, g->replay.nframes,
			g->replay.skipped);
	else
		printf(",\"mix\":\"%s\",\"flows\":%" PRIu32 ",\"udp_share\":%g,\"dpi_share\":%g",
			o->mix_name, o->flows, o->udp_share, o->dpi_share);
	printf(",\"rate\":\"%s\",\"seed\":%" PRIu64, o->rate_text, o->seed);
	printf(",\"frames\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"seconds\":%.6f", res->frames,
		res->bytes, res->seconds);
	printf(",\"pps\":%.1f,\"gbps\":%.6f", (double)res->frames / secs,
		(double)res->bytes * 8.0 / secs / 1e9);
	printf(",\"send_calls\":%" PRIu64 ",\"tx_errors\":%" PRIu64, res->send_calls,
		res->tx_errors);
	printf(",\"dpi_frames\":%" PRIu64 ",\"app_frames\":{", g->dpi_frames);
	for (i = 1; i < BENCH_APP_COUNT; i++)
		printf("%s\"%s\":%" PRIu64, i > 1 ? "," : "", bench_app_names[i],
			g->app_frames[i]);
	printf("},\"cpu_pinned\":%d,\"cpu_start\":%d,\"cpu_end\":%d", o->cpu, cpu_start,
		cpu_end);
	printf(",\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f,\"cpu_util\":%.3f}\n", cpu_user, cpu_sys,
		(cpu_user + cpu_sys) / secs);
	fflush(stdout);
}

static int bench_parse_args(int argc, char **argv, struct bench_opts *o)
{
	static const struct option lopts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "write", required_argument, NULL, 'w' },
		{ "replay", required_argument, NULL, 'r' },
		{ "mix", required_argument, NULL, 'm' },
		{ "flows", required_argument, NULL, 'n' },
		{ "udp-share", required_argument, NULL, 'u' },
		{ "dpi-share", required_argument, NULL, 'a' },
		{ "rate", required_argument, NULL, 'R' },
		{ "duration", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'c' },
		{ "cpu", required_argument, NULL, 'C' },
		{ "batch", required_argument, NULL, 'b' },
		{ "ring-frames", required_argument, NULL, 1 },
		{ "seed", required_argument, NULL, 's' },
		{ "src-mac", required_argument, NULL, 2 },
		{ "dst-mac", required_argument, NULL, 3 },
		{ "build-only", no_argument, NULL, 4 },
		{ "zerocopy", no_argument, NULL, 5 },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "i:w:r:m:n:u:a:R:d:c:C:b:s:qh", lopts, NULL)) != -1) {
		errno = 0;
		end = NULL;
		switch (c) {
		case 'i':
			o->iface = optarg;
			break;
		case 'w':
			o->write_path = optarg;
			break;
		case 'r':
			o->replay_path = optarg;
			break;
		case 'm':
			if (bench_parse_mix(optarg, o))
				goto bad;
			break;
		case 'n': {
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || v < 1 || v > BENCH_FLOWS_MAX)
				goto bad;
			o->flows = (uint32_t)v;
			break;
		}
		case 'u':
			o->udp_share = strtod(optarg, &end);
			if (*end || o->udp_share < 0 || o->udp_share > 100)
				goto bad;
			break;
		case 'a':
			o->dpi_share = strtod(optarg, &end);
			if (*end || o->dpi_share < 0 || o->dpi_share > 100)
				goto bad;
			break;
		case 'R':
			if (bench_parse_rate(optarg, o))
				goto bad;
			break;
		case 'd':
			o->duration = strtod(optarg, &end);
			if (*end || !(o->duration > 0))
				goto bad;
			break;
		case 'c':
			o->count = strtoull(optarg, &end, 10);
			if (*end || errno)
				goto bad;
			break;
		case 'C': {
			long v = strtol(optarg, &end, 10);

			if (*end || v < 0 || v >= CPU_SETSIZE)
				goto bad;
			o->cpu = (int)v;
			break;
		}
		case 'b': {
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || v < 1 || v > 65536)
				goto bad;
			o->batch = (unsigned int)v;
			break;
		}
		case 1: {
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || v < 16 || v > 1u << 20)
				goto bad;
			o->ring_frames = (unsigned int)v;
			break;
		}
		case 's':
			o->seed = strtoull(optarg, &end, 0);
			if (*end || errno)
				goto bad;
			break;
		case 2:
			if (bench_parse_mac(optarg, o->src_mac))
				goto bad;
			break;
		case 3:
			if (bench_parse_mac(optarg, o->dst_mac))
				goto bad;
			break;
		case 4:
			o->build_only = true;
			break;
		case 5:
			o->linear = false;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			bench_usage(stdout);
			exit(0);
		default:
			bench_usage(stderr);
			return -EINVAL;
		}
		continue;
bad:
		fprintf(stderr, "procsniff-gen: bad value for option %s: \"%s\"\n",
			argv[optind - 1], optarg);
		return -EINVAL;
	}
	if (optind != argc || (!o->iface) == (!o->write_path)) {
		bench_usage(stderr);
		return -EINVAL;
	}
	if (o->write_path && !o->count &&
		!(o->duration > 0 && o->rate_unit == BENCH_RATE_PPS)) {
		fprintf(stderr, "procsniff-gen: --write needs --count (or --duration with a pps rate)\n");
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const uint8_t def_src[6] = { 0x02, 0x50, 0x53, 0x00, 0x00, 0x01 };
	static const uint8_t def_dst[6] = { 0x02, 0x50, 0x53, 0x00, 0x00, 0x02 };
	struct bench_opts o = {
		.flows = 1024, .udp_share = 50, .dpi_share = 10, .rate_unit = BENCH_RATE_MAX,
		.rate_text = "max", .cpu = -1, .batch = 256, .ring_frames = 4096, .seed = 1,
		.linear = true,
	};
	struct bench_result res = { 0 };
	struct bench_tx tx = { .fd = -1 };
	struct bench_gen *g = NULL;
	struct sigaction sa;
	struct rusage ru0, ru1;
	int cpu_start, cpu_end, err;

	memcpy(o.src_mac, def_src, 6);
	memcpy(o.dst_mac, def_dst, 6);
	bench_parse_mix("64", &o);
	if (bench_parse_args(argc, argv, &o))
		return 2;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bench_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (o.cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(o.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			fprintf(stderr, "procsniff-gen: cannot pin to cpu %d: %s\n", o.cpu,
				strerror(errno));
			return 1;
		}
	}
	cpu_start = sched_getcpu();
	if (!o.quiet)
		fprintf(stderr, "procsniff-gen: %s on cpu %d\n",
			o.cpu >= 0 ? "pinned, running" : "not pinned, starting", cpu_start);

	g = calloc(1, sizeof(*g));
	if (!g) {
		err = -ENOMEM;
		goto out;
	}
	g->o = &o;
	g->rng = bench_mix64(o.seed) | 1;
	bench_payload_init(g);
	bench_quic_pool_init(g);
	if (!o.replay_path) {
		g->flows = calloc(o.flows, sizeof(*g->flows));
		if (!g->flows) {
			err = -ENOMEM;
			goto out;
		}
	}
	if (o.iface) {
		err = bench_tx_open(&tx, &o);
		if (err) {
			fprintf(stderr, "procsniff-gen: %s: TX ring: %s\n", o.iface, strerror(-err));
			goto out;
		}
	}
	if (o.replay_path) {
		err = bench_replay_load(g, o.replay_path, o.iface ? tx.max_len : 65535);
		if (err)
			goto out;
		if (!o.quiet)
			fprintf(stderr, "procsniff-gen: %s: %zu frames loaded, %" PRIu64
				" skipped (too long or truncated)\n", o.replay_path,
				g->replay.nframes, g->replay.skipped);
	}

	getrusage(RUSAGE_SELF, &ru0);
	if (o.write_path)
		err = bench_write_run(g, &res);
	else
		err = bench_tx_run(g, &tx, &res);
	getrusage(RUSAGE_SELF, &ru1);
	cpu_end = sched_getcpu();
	if (!o.quiet && o.cpu < 0 && cpu_end != cpu_start)
		fprintf(stderr, "procsniff-gen: ended on cpu %d\n", cpu_end);
	bench_print_json(g, &res, cpu_start, cpu_end,
		(double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
			(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) * 1e-6,
		(double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
			(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) * 1e-6);
out:
	bench_tx_close(&tx);
	if (g) {
		free(g->flows);
		free(g->replay.arena);
		free(g->replay.off);
		free(g->replay.len);
		free(g);
	}
	return err ? 1 : 0;
}
