/* Test driver: capture file -> minimal decode -> flow table -> dissect.
 * See pcap_driver.h. Simple by design: linear-probe flow table, no IP
 * reassembly, the first packet of a flow (or a SYN without ACK) names the
 * initiator.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pcap/pcap.h>

#include "tests/dissect/pcap_driver.h"

#define MAX_FLOWS 8192

struct drv_flow {
	bool used;
	uint8_t proto;
	uint8_t alen;
	uint8_t a[16], b[16]; /* a: initiator */
	uint16_t pa, pb;
	bool live;
	struct dissect_flow *df;
};

struct drv {
	struct drv_flow *flows;
	FILE *out;
	/* the flow being fed, for the print callback */
	struct drv_flow *cur;
};

static struct drv *cur_drv;

static void print_addr(FILE *o, const uint8_t *a, uint8_t alen)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(alen == 4 ? AF_INET : AF_INET6, a, s, sizeof(s));
	fputs(s, o);
}

static void print_tuple(FILE *o, const struct drv_flow *f)
{
	fprintf(o, "\"proto\":\"%s\",\"src\":\"", f->proto == IPPROTO_TCP ? "tcp" : "udp");
	print_addr(o, f->a, f->alen);
	fprintf(o, "\",\"sport\":%u,\"dst\":\"", f->pa);
	print_addr(o, f->b, f->alen);
	fprintf(o, "\",\"dport\":%u", f->pb);
}

void pcap_driver_print(void *ctx, const char *event, enum dissect_dir dir, uint64_t ts_ns,
	const char *fields, size_t len)
{
	FILE *o = ctx;

	fprintf(o, "{\"event\":\"%s\",\"ts\":%llu.%06llu,", event,
		(unsigned long long)(ts_ns / 1000000000ull),
		(unsigned long long)(ts_ns % 1000000000ull / 1000));
	if (cur_drv && cur_drv->cur) {
		print_tuple(o, cur_drv->cur);
		fputc(',', o);
	}
	fprintf(o, "\"dir\":\"%s\"%s%.*s}\n", dir == DISSECT_C2S ? "c2s" : "s2c", len ? "," : "",
		(int)len, fields);
}

static uint32_t hash_tuple(uint8_t proto, const uint8_t *a, const uint8_t *b, uint16_t pa,
	uint16_t pb, uint8_t alen)
{
	uint32_t h = proto * 31u + (uint32_t)(pa ^ pb);

	for (int i = 0; i < alen; i++)
		h = h * 131u + (uint32_t)(a[i] ^ b[i]);
	return h;
}

static struct drv_flow *lookup(struct drv *d, uint8_t proto, const uint8_t *src,
	const uint8_t *dst, uint16_t sp, uint16_t dp, uint8_t alen, bool syn_only, int *dir)
{
	uint32_t h = hash_tuple(proto, src, dst, sp, dp, alen) % MAX_FLOWS;

	for (unsigned i = 0; i < MAX_FLOWS; i++) {
		struct drv_flow *f = &d->flows[(h + i) % MAX_FLOWS];

		if (!f->used) {
			f->used = true;
			f->live = true;
			f->proto = proto;
			f->alen = alen;
			memcpy(f->a, src, alen);
			memcpy(f->b, dst, alen);
			f->pa = sp;
			f->pb = dp;
			*dir = DISSECT_C2S;
			return f;
		}
		if (f->proto != proto || f->alen != alen)
			continue;
		if (!memcmp(f->a, src, alen) && !memcmp(f->b, dst, alen) && f->pa == sp &&
			f->pb == dp) {
			*dir = DISSECT_C2S;
			return f;
		}
		if (!memcmp(f->a, dst, alen) && !memcmp(f->b, src, alen) && f->pa == dp &&
			f->pb == sp) {
			*dir = DISSECT_S2C;
			return f;
		}
	}
	(void)syn_only;
	return NULL;
}

/* Returns the offset of the IP header and its version, or -1. */
static int l3_offset(int dlt, const uint8_t *p, uint32_t n, int *ver)
{
	uint32_t off = 0;
	uint16_t et = 0;

	switch (dlt) {
	case DLT_EN10MB:
		if (n < 14)
			return -1;
		et = (uint16_t)(p[12] << 8 | p[13]);
		off = 14;
		while ((et == 0x8100 || et == 0x88a8 || et == 0x9100) && off + 4 <= n) {
			et = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
			off += 4;
		}
		break;
	case DLT_LINUX_SLL:
		if (n < 16)
			return -1;
		et = (uint16_t)(p[14] << 8 | p[15]);
		off = 16;
		break;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2:
		if (n < 20)
			return -1;
		et = (uint16_t)(p[0] << 8 | p[1]);
		off = 20;
		break;
#endif
	case DLT_NULL:
	case DLT_LOOP:
		off = 4;
		et = 0;
		break;
	case DLT_RAW:
	case 228:
	case 229:
		off = 0;
		break;
	default:
		return -1;
	}
	if (off >= n)
		return -1;
	if (et && et != 0x0800 && et != 0x86dd)
		return -1;
	*ver = p[off] >> 4;
	if (*ver != 4 && *ver != 6)
		return -1;
	return (int)off;
}

static void handle(struct drv *d, struct dissect_worker *w, int dlt, const struct pcap_pkthdr *h,
	const uint8_t *p, pcap_driver_pkt_fn pkt_fn, void *pkt_ctx, struct pcap_driver_stats *st)
{
	uint32_t n = h->caplen, off, l4len;
	const uint8_t *src, *dst, *l4;
	uint8_t proto, alen;
	struct dissect_pkt pkt;
	struct drv_flow *f;
	int ver, o = l3_offset(dlt, p, n, &ver), dir;

	if (o < 0)
		return;
	off = (uint32_t)o;
	if (ver == 4) {
		uint32_t ihl, tot;

		if (n - off < 20)
			return;
		ihl = (uint32_t)(p[off] & 15) * 4;
		tot = (uint32_t)(p[off + 2] << 8 | p[off + 3]);
		if (ihl < 20 || tot < ihl || n - off < ihl)
			return;
		if ((p[off + 6] & 0x3f) || p[off + 7])
			return; /* fragment */
		proto = p[off + 9];
		src = p + off + 12;
		dst = p + off + 16;
		alen = 4;
		l4 = p + off + ihl;
		l4len = (tot < n - off ? tot : n - off) - ihl;
	} else {
		uint32_t plen;

		if (n - off < 40)
			return;
		plen = (uint32_t)(p[off + 4] << 8 | p[off + 5]);
		proto = p[off + 6];
		src = p + off + 8;
		dst = p + off + 24;
		alen = 16;
		l4 = p + off + 40;
		l4len = plen < n - off - 40 ? plen : n - off - 40;
	}
	memset(&pkt, 0, sizeof(pkt));
	pkt.l4proto = proto;
	pkt.ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec * 1000ull;
	if (proto == IPPROTO_TCP) {
		uint32_t doff;

		if (l4len < 20)
			return;
		doff = (uint32_t)(l4[12] >> 4) * 4;
		if (doff < 20 || doff > l4len)
			return;
		pkt.sport = (uint16_t)(l4[0] << 8 | l4[1]);
		pkt.dport = (uint16_t)(l4[2] << 8 | l4[3]);
		pkt.tcp_seq = (uint32_t)l4[4] << 24 | (uint32_t)l4[5] << 16 | (uint32_t)l4[6] << 8 |
			l4[7];
		pkt.tcp_flags = l4[13];
		pkt.data = l4 + doff;
		pkt.len = l4len - doff;
	} else if (proto == IPPROTO_UDP) {
		uint32_t ul;

		if (l4len < 8)
			return;
		ul = (uint32_t)(l4[4] << 8 | l4[5]);
		pkt.sport = (uint16_t)(l4[0] << 8 | l4[1]);
		pkt.dport = (uint16_t)(l4[2] << 8 | l4[3]);
		pkt.data = l4 + 8;
		pkt.len = (ul >= 8 && ul - 8 < l4len - 8) ? ul - 8 : l4len - 8;
	} else {
		return;
	}
	/* A SYN-ACK seen first names the other side the initiator. */
	if (proto == IPPROTO_TCP && (pkt.tcp_flags & 0x12) == 0x12)
		f = lookup(d, proto, dst, src, pkt.dport, pkt.sport, alen, false, &dir);
	else
		f = NULL;
	if (f)
		dir = !dir;
	else
		f = lookup(d, proto, src, dst, pkt.sport, pkt.dport, alen, false, &dir);
	if (!f)
		return;
	if (!f->df)
		st->flows++;
	pkt.dir = (uint8_t)dir;
	st->packets++;
	d->cur = f;
	if (f->live)
		f->live = dissect_packet(w, &f->df, &pkt);
	if (pkt_fn && pkt.len)
		pkt_fn(pkt_ctx, f, &pkt, dissect_flow_app(f->df));
	d->cur = NULL;
}

int pcap_driver_run(const char *path, struct dissect_worker *w, FILE *out,
	pcap_driver_pkt_fn pkt_fn, void *pkt_ctx, struct pcap_driver_stats *st)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_driver_stats dummy;
	struct pcap_pkthdr *h;
	const u_char *p;
	struct drv d = {0};
	pcap_t *pc;
	int dlt;

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	pc = pcap_open_offline(path, err);
	if (!pc)
		return -ENOENT;
	d.flows = calloc(MAX_FLOWS, sizeof(*d.flows));
	if (!d.flows) {
		pcap_close(pc);
		return -ENOMEM;
	}
	d.out = out;
	cur_drv = &d;
	dlt = pcap_datalink(pc);
	while (pcap_next_ex(pc, &h, &p) == 1)
		handle(&d, w, dlt, h, p, pkt_fn, pkt_ctx, st);
	for (unsigned i = 0; i < MAX_FLOWS; i++) {
		struct drv_flow *f = &d.flows[i];
		char sum[512];

		if (!f->used)
			continue;
		if (out && dissect_flow_app(f->df)) {
			size_t n = dissect_flow_summary(f->df, sum, sizeof(sum));

			fputs("{\"event\":\"flow\",", out);
			print_tuple(out, f);
			fprintf(out, ",\"app\":\"%s\"%s%s}\n", dissect_flow_app(f->df), n ? "," : "",
				sum);
		}
		dissect_flow_free(f->df);
	}
	cur_drv = NULL;
	free(d.flows);
	pcap_close(pc);
	return 0;
}
