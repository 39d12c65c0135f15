/* ring/tpacket_v3: Linux AF_PACKET TPACKET_V3 receive rings in one fanout group.
 *
 * One socket and one mmap'd ring per worker. Sockets are created with
 * protocol 0 so they receive nothing until bound; each gets a drop-all BPF
 * filter, is bound to the interface and joins the PACKET_FANOUT_HASH group
 * (the kernel's symmetric flow hash; FLAG_DEFRAG reassembles IP fragments
 * first so they follow their flow). Only when every socket has joined does
 * ring_tpacket_start swap in the real filter, so the kernel's spreading is
 * final before any packet is delivered. A batch is one block the kernel has
 * retired (full, or after the retire timeout); the worker walks its packets
 * in place and hands the block back by writing TP_STATUS_KERNEL.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/filter.h>
#include <net/if_arp.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ring/internal.h"

_Static_assert(sizeof(struct sock_filter) == 8, "classic BPF instruction layout");
_Static_assert(sizeof(struct tpacket_stats_v3) == 12, "tpacket_stats_v3 layout");

#define LO_MAX 64

struct tp_source {
	struct ring_source base;
	int fd;
	uint8_t *map;
	size_t map_len;
	unsigned cur; /* next block to look at */
	bool cooked;  /* SOCK_DGRAM: packets start at the network header */
	int drain;    /* blocks still to hand out after a stop, -1 before */
	uint64_t drops;
	uint64_t freezes;
};

struct ring_tpacket {
	unsigned n;
	int ifindex;
	bool cooked;
	uint64_t lo_mask[LO_MAX / 64 + 1]; /* loopback ifindexes (< LO_MAX) */
	int lo_big; /* a loopback ifindex >= LO_MAX, or 0 */
	struct sock_fprog prog;
	struct tp_source src[];
};

static const struct ring_source_ops tp_ops;

/* Loopback devices deliver each packet twice to a packet socket: once
 * outgoing, once incoming. Remember them so the outgoing copy is skipped. */
static void find_loopbacks(struct ring_tpacket *tp)
{
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa) < 0)
		return;
	for (i = ifa; i; i = i->ifa_next) {
		if (!(i->ifa_flags & IFF_LOOPBACK))
			continue;
		unsigned idx = if_nametoindex(i->ifa_name);
		if (!idx)
			continue;
		if (idx < LO_MAX)
			tp->lo_mask[idx / 64] |= 1ull << (idx % 64);
		else
			tp->lo_big = (int)idx;
	}
	freeifaddrs(ifa);
}

static bool is_loopback(const struct ring_tpacket *tp, int ifindex)
{
	if (ifindex >= 0 && ifindex < LO_MAX)
		return tp->lo_mask[ifindex / 64] >> (ifindex % 64) & 1;
	return ifindex == tp->lo_big;
}

static int iface_hwtype(const char *name)
{
	struct ifreq ifr;
	int fd, type = -1;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0)
		type = ifr.ifr_hwaddr.sa_family;
	close(fd);
	return type;
}

static int tp_socket_open(struct ring_capture *cap, struct tp_source *s, int fanout_id)
{
	struct ring_tpacket *tp = cap->tp;
	const struct ring_config *cfg = &cap->cfg;
	struct sock_filter drop_all = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog drop = {1, &drop_all};
	struct tpacket_req3 req;
	struct sockaddr_ll sll;
	int ver = TPACKET_V3;
	uint32_t fanout;

	s->fd = socket(AF_PACKET, (tp->cooked ? SOCK_DGRAM : SOCK_RAW) | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		int e = errno;
		ring_log(0, "ring: AF_PACKET socket: %s%s", strerror(e),
			e == EPERM ? " (live capture needs root or CAP_NET_RAW)" : "");
		return -e;
	}
	if (setsockopt(s->fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof(ver)) < 0) {
		ring_log(0, "ring: TPACKET_V3 not supported: %s", strerror(errno));
		return -errno;
	}
	memset(&req, 0, sizeof(req));
	req.tp_block_size = cfg->block_size;
	req.tp_block_nr = cfg->block_count;
	req.tp_frame_size = 2048;
	req.tp_frame_nr = (cfg->block_size / req.tp_frame_size) * cfg->block_count;
	req.tp_retire_blk_tov = cfg->block_timeout;
	if (setsockopt(s->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
		int e = errno;
		ring_log(0, "ring: PACKET_RX_RING (%u blocks of %u bytes): %s", cfg->block_count,
			cfg->block_size, strerror(e));
		return -e;
	}
	s->map_len = (size_t)cfg->block_size * cfg->block_count;
	/* Pages are placed on the node of the CPU that first touches them:
	 * populate the ring from the worker's own CPU. */
	int cpu = cfg->cpus ? cfg->cpus[s->base.index] : -1;
	cpu_set_t saved, one;
	bool moved = false;
	if (cpu >= 0 && cpu < CPU_SETSIZE && sched_getaffinity(0, sizeof(saved), &saved) == 0) {
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		moved = sched_setaffinity(0, sizeof(one), &one) == 0;
	}
	s->map = mmap(NULL, s->map_len, PROT_READ | PROT_WRITE,
		MAP_SHARED | MAP_LOCKED | MAP_POPULATE, s->fd, 0);
	if (moved)
		sched_setaffinity(0, sizeof(saved), &saved);
	if (s->map == MAP_FAILED) {
		int e = errno;
		s->map = NULL;
		ring_log(0,
			"ring: cannot map and lock a %zu MiB ring for worker %u: %s (lower "
			"--block-size/--block-count, or raise RLIMIT_MEMLOCK)",
			s->map_len >> 20, s->base.index, strerror(e));
		return -e;
	}
	if (setsockopt(s->fd, SOL_SOCKET, SO_ATTACH_FILTER, &drop, sizeof(drop)) < 0)
		return -errno;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = tp->ifindex;
	if (bind(s->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		int e = errno;
		ring_log(0, "ring: bind to %s: %s", cfg->iface, strerror(e));
		return -e;
	}
	/* A single socket needs no spreading: skip the group and its per-packet
	 * flow hash in the kernel. */
	if (tp->n == 1) {
		s->cooked = tp->cooked;
		return 0;
	}
	fanout = (uint32_t)fanout_id |
		(uint32_t)(PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16;
	if (setsockopt(s->fd, SOL_PACKET, PACKET_FANOUT, &fanout, sizeof(fanout)) < 0) {
		int e = errno;
		ring_log(0, "ring: PACKET_FANOUT group %d: %s", fanout_id, strerror(e));
		return -e;
	}
	s->cooked = tp->cooked;
	return 0;
}

int ring_tpacket_open(struct ring_capture *cap)
{
	const struct ring_config *cfg = &cap->cfg;
	struct ring_tpacket *tp;
	unsigned i;
	int err, fanout_id;
	void *insns = NULL;
	unsigned ninsns = 0;

	tp = calloc(1, sizeof(*tp) + cfg->workers * sizeof(struct tp_source));
	if (!tp)
		return -ENOMEM;
	cap->tp = tp;
	tp->n = cfg->workers;
	for (i = 0; i < tp->n; i++) {
		tp->src[i].fd = -1;
		tp->src[i].drain = -1;
		tp->src[i].base.ops = &tp_ops;
		tp->src[i].base.cap = cap;
		tp->src[i].base.index = i;
	}
	if (!strcmp(cfg->iface, "any")) {
		tp->ifindex = 0;
		tp->cooked = true;
	} else {
		tp->ifindex = (int)if_nametoindex(cfg->iface);
		if (!tp->ifindex) {
			ring_log(0, "ring: no such interface \"%s\"", cfg->iface);
			return -ENODEV;
		}
		int hw = iface_hwtype(cfg->iface);
		tp->cooked = !(hw == ARPHRD_ETHER || hw == ARPHRD_LOOPBACK);
	}
	find_loopbacks(tp);
	err = ring_filter_compile(cfg->filter, tp->cooked ? DLT_RAW : DLT_EN10MB, cfg->snaplen,
		&insns, &ninsns);
	if (err)
		return err;
	tp->prog.filter = insns;
	tp->prog.len = (unsigned short)ninsns;
	/* Group ids are per network namespace; pid keeps concurrent runs apart. */
	fanout_id = getpid() & 0xffff;
	for (i = 0; i < tp->n; i++) {
		err = tp_socket_open(cap, &tp->src[i], fanout_id);
		if (err)
			return err;
	}
	return 0;
}

int ring_tpacket_start(struct ring_capture *cap)
{
	struct ring_tpacket *tp = cap->tp;

	for (unsigned i = 0; i < tp->n; i++) {
		if (setsockopt(tp->src[i].fd, SOL_SOCKET, SO_ATTACH_FILTER, &tp->prog,
			    sizeof(tp->prog)) < 0) {
			int e = errno;
			ring_log(0, "ring: attach filter: %s", strerror(e));
			return -e;
		}
	}
	return 0;
}

void ring_tpacket_free(struct ring_capture *cap)
{
	struct ring_tpacket *tp = cap->tp;

	if (!tp)
		return;
	for (unsigned i = 0; i < tp->n; i++) {
		if (tp->src[i].map)
			munmap(tp->src[i].map, tp->src[i].map_len);
		if (tp->src[i].fd >= 0)
			close(tp->src[i].fd);
	}
	free(tp->prog.filter);
	free(tp);
	cap->tp = NULL;
}

struct ring_source *ring_tpacket_source(struct ring_capture *cap, unsigned i)
{
	return &cap->tp->src[i].base;
}

static inline struct tpacket_block_desc *tp_block(struct tp_source *s, unsigned i)
{
	return (struct tpacket_block_desc *)(s->map + (size_t)i * s->base.cap->cfg.block_size);
}

static inline bool tp_block_ready(struct tpacket_block_desc *bd)
{
	/* Pairs with the kernel's smp_wmb before it flips block_status. */
	return __atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER;
}

static int tp_next(struct ring_source *base, struct ring_batch *b, int timeout_ms)
{
	struct tp_source *s = (struct tp_source *)base;
	struct tpacket_block_desc *bd = tp_block(s, s->cur);

	/* Pairs with the release store in ring_capture_stop. After a stop the
	 * blocks already filled are still delivered, at most one ring's worth,
	 * so what was captured reaches the output and the stop stays prompt. */
	if (atomic_load_explicit(&base->cap->stopping, memory_order_acquire)) {
		if (s->drain < 0) {
			/* Let the kernel retire the block it is filling. */
			struct pollfd pfd = {.fd = s->fd, .events = POLLIN | POLLERR};
			s->drain = (int)base->cap->cfg.block_count;
			if (!tp_block_ready(bd))
				poll(&pfd, 1, (int)base->cap->cfg.block_timeout * 2 + 5);
		}
		if (!tp_block_ready(bd) || s->drain-- == 0)
			return -ENODATA;
	}
	if (!tp_block_ready(bd)) {
		struct pollfd pfd = {.fd = s->fd, .events = POLLIN | POLLERR};
		int r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (!tp_block_ready(bd))
			return 0;
	}
	b->block = bd;
	b->left = bd->hdr.bh1.num_pkts;
	b->cur = (const uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt;
	b->end = (const uint8_t *)bd + base->cap->cfg.block_size;
	b->kind = 0;
	return 1;
}

static bool tp_batch_next(struct ring_source *base, struct ring_batch *b, struct ring_pkt *pkt)
{
	struct tp_source *s = (struct tp_source *)base;
	struct ring_tpacket *tp = base->cap->tp;

	while (b->left) {
		const struct tpacket3_hdr *h = (const struct tpacket3_hdr *)b->cur;
		const struct sockaddr_ll *sll = (const struct sockaddr_ll *)((const uint8_t *)h +
			TPACKET_ALIGN(sizeof(struct tpacket3_hdr)));

		b->left--;
		b->cur += h->tp_next_offset;
		if (sll->sll_pkttype == PACKET_OUTGOING && is_loopback(tp, sll->sll_ifindex))
			continue;
		pkt->ts_ns = (uint64_t)h->tp_sec * 1000000000ull + h->tp_nsec;
		pkt->caplen = h->tp_snaplen;
		pkt->wirelen = h->tp_len;
		pkt->flags = 0;
		pkt->vlan_tci = 0;
		pkt->l3proto = 0;
		if (h->tp_status & TP_STATUS_VLAN_VALID) {
			pkt->flags |= RING_PKT_VLAN_VALID;
			pkt->vlan_tci = (uint16_t)h->hv1.tp_vlan_tci;
		}
		if (s->cooked) {
			pkt->data = (const uint8_t *)h + h->tp_net;
			pkt->linktype = RING_LINK_COOKED;
			pkt->l3proto = ntohs(sll->sll_protocol);
			/* The wire carried the link header the kernel took off. */
			if (sll->sll_hatype == ARPHRD_ETHER || sll->sll_hatype == ARPHRD_LOOPBACK)
				pkt->wirelen += 14;
		} else {
			pkt->data = (const uint8_t *)h + h->tp_mac;
			pkt->linktype = RING_LINK_ETHERNET;
		}
		base->packets++;
		return true;
	}
	return false;
}

static void tp_release(struct ring_source *base, struct ring_batch *b)
{
	struct tp_source *s = (struct tp_source *)base;
	struct tpacket_block_desc *bd = b->block;

	/* Pairs with the kernel's read of block_status before it refills. */
	__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	s->cur = (s->cur + 1) % base->cap->cfg.block_count;
}

static int tp_stats(struct ring_source *base, struct ring_stats *out)
{
	struct tp_source *s = (struct tp_source *)base;
	struct tpacket_stats_v3 st;
	socklen_t len = sizeof(st);

	/* Each read returns the counts since the previous one and resets them. */
	if (getsockopt(s->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
		s->drops += st.tp_drops;
		s->freezes += st.tp_freeze_q_cnt;
	}
	out->packets = base->packets;
	out->drops = s->drops;
	out->freezes = s->freezes;
	out->queue_drops = 0;
	return 0;
}

static const struct ring_source_ops tp_ops = {
	.next = tp_next,
	.batch_next = tp_batch_next,
	.release = tp_release,
	.stats = tp_stats,
};
