/* dissect SSH: the identification banners and the two KEXINIT messages.
 *
 * Each side starts with "SSH-protoversion-softwareversion [comments]\r\n"
 * (RFC 4253 section 4.2; a server may send other lines first), then binary
 * packets: uint32 packet_length, byte padding_length, payload, padding. The
 * first payload of each side is SSH_MSG_KEXINIT (20): a 16-byte cookie and
 * ten name-lists (RFC 4253 section 7.1). From those we report the algorithm
 * lists and the HASSH fingerprints as tshark computes them (ssh.kex.hassh,
 * ssh.kex.hasshserver): the MD5 of "kex;ciphers;macs;compression" taken from
 * the client-to-server lists for the client and the server-to-client lists
 * for the server. Inspection ends when both sides sent KEXINIT; everything
 * after that is encrypted.
 */
#include <string.h>
#include <netinet/in.h>
#include <openssl/evp.h>

#include "dissect/internal.h"

#define SSH_LINE_MAX 255     /* RFC 4253: including CR LF */
#define SSH_PRE_LINES 16     /* other lines a server may send first */
#define SSH_PACKET_MAX 35000 /* RFC 4253 section 6.1 */
#define SSH_MSG_KEXINIT 20
#define SSH_NAME_LISTS 10

enum { SSH_BANNER = 0, SSH_PACKETS, SSH_QUIET };

struct ssh_state {
	uint8_t phase[2];
	uint8_t pre_lines[2];
};

static bool ssh_probe(const struct dissect_pkt *pkt)
{
	if (pkt->len >= 4 && !memcmp(pkt->data, "SSH-", 4))
		return true;
	/* A server may send other lines before its banner. */
	return pkt->len <= 4096 && memmem(pkt->data, pkt->len, "\nSSH-2.0-", 9);
}

/* "SSH-2.0-OpenSSH_8.9 comment" -> proto "2.0", software "OpenSSH_8.9". */
static void ssh_banner(struct dissect_worker *w, struct dissect_flow *f, enum dissect_dir dir,
	const uint8_t *line, size_t n, uint64_t ts, uint8_t *phase)
{
	const uint8_t *proto = line + 4, *sw, *sp;
	size_t plen, swlen;

	sw = memchr(proto, '-', n - 4);
	if (!sw) {
		plen = n - 4;
		sw = line + n;
		swlen = 0;
	} else {
		plen = (size_t)(sw - proto);
		sw++;
		swlen = (size_t)(line + n - sw);
	}
	sp = memchr(sw, ' ', swlen);
	dj_begin(w, "ssh_banner", dir, ts);
	dj_str(w, "software", sw, sp ? (size_t)(sp - sw) : swlen);
	dj_str(w, "version", proto, plen);
	if (sp)
		dj_str(w, "comments", sp + 1, (size_t)(line + n - sp - 1));
	dj_end(w);
	if (dir == DISSECT_C2S)
		dissect_summary_set(f, "software", sw, sp ? (size_t)(sp - sw) : swlen);
	/* Version 1 speaks another packet format; 1.99 means 2.0 as well. */
	if (plen == 3 && !memcmp(proto, "2.0", 3))
		*phase = SSH_PACKETS;
	else if (plen == 4 && !memcmp(proto, "1.99", 4))
		*phase = SSH_PACKETS;
	else
		*phase = SSH_QUIET;
}

static void md5_hex(const uint8_t *s, size_t n, char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(s, n, md, &mdlen, EVP_md5(), NULL) || mdlen != 16) {
		out[0] = '\0';
		return;
	}
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[32] = '\0';
}

static void emit_list(struct dissect_worker *w, const char *key, struct dcur l)
{
	const uint8_t *p = l.p, *end = l.p + l.len;

	dj_list_begin(w, key);
	while (p < end) {
		const uint8_t *comma = memchr(p, ',', (size_t)(end - p));
		const uint8_t *e = comma ? comma : end;

		dj_list_str(w, p, (size_t)(e - p));
		p = e + 1;
	}
	dj_list_end(w);
}

/* payload starts after the message number. Returns false if malformed. */
static bool ssh_kexinit(struct dissect_worker *w, enum dissect_dir dir, const uint8_t *payload,
	size_t n, uint64_t ts)
{
	static const char *const names[SSH_NAME_LISTS] = {"kex", "host_key", "ciphers_c2s",
		"ciphers_s2c", "macs_c2s", "macs_s2c", "compression_c2s", "compression_s2c",
		"languages_c2s", "languages_s2c"};
	/* The four lists hashed, per side: kex; ciphers; macs; compression. */
	static const int hashed[2][4] = {{0, 2, 4, 6}, {0, 3, 5, 7}};
	struct dcur c = dcur_make(payload, n), lists[SSH_NAME_LISTS];
	uint8_t buf[SSH_PACKET_MAX + 4];
	size_t blen = 0;
	char hash[33];

	dcur_bytes(&c, 16); /* cookie */
	for (int i = 0; i < SSH_NAME_LISTS; i++) {
		uint32_t l = dcur_u32(&c);

		lists[i] = dcur_sub(&c, l);
	}
	if (!c.ok)
		return false;
	for (int i = 0; i < 4; i++) {
		struct dcur *l = &lists[hashed[dir][i]];

		if (i)
			buf[blen++] = ';';
		memcpy(buf + blen, l->p, l->len);
		blen += l->len;
	}
	md5_hex(buf, blen, hash);

	dj_begin(w, "ssh_kexinit", dir, ts);
	dj_cstr(w, dir == DISSECT_C2S ? "hassh" : "hassh_server", hash);
	for (int i = 0; i < 8; i++)
		emit_list(w, names[i], lists[i]);
	dj_end(w);
	return true;
}

static enum dissect_verdict ssh_parse(struct dissect_worker *w, struct dissect_flow *f,
	void *state, enum dissect_dir dir, const uint8_t *data, size_t len, size_t *used,
	uint64_t ts)
{
	struct ssh_state *s = state;
	size_t c = 0;

	while (s->phase[dir] == SSH_BANNER && c < len) {
		size_t avail = len - c, n;
		const uint8_t *nl = memchr(data + c, '\n', avail < 1024 ? avail : 1024);

		if (!nl) {
			if (avail >= 1024)
				goto bad;
			break;
		}
		n = (size_t)(nl - (data + c));
		if (n >= 4 && !memcmp(data + c, "SSH-", 4)) {
			if (n > SSH_LINE_MAX)
				goto bad;
			ssh_banner(w, f, dir, data + c, n && nl[-1] == '\r' ? n - 1 : n, ts,
				&s->phase[dir]);
		} else if (dir == DISSECT_C2S || ++s->pre_lines[dir] > SSH_PRE_LINES) {
			goto bad;
		}
		c += n + 1;
	}
	while (s->phase[dir] == SSH_PACKETS && c + 6 <= len) {
		uint32_t plen = (uint32_t)data[c] << 24 | (uint32_t)data[c + 1] << 16 |
			(uint32_t)data[c + 2] << 8 | data[c + 3];
		uint8_t pad = data[c + 4], msg = data[c + 5];

		if (plen < 5 || plen > SSH_PACKET_MAX || (uint32_t)pad + 2 > plen)
			goto bad;
		if (msg != SSH_MSG_KEXINIT) {
			/* Anything before KEXINIT (rare) is skipped, received or not. */
			c += 4 + (size_t)plen;
			continue;
		}
		if (len - c < 4 + (size_t)plen)
			break;
		if (!ssh_kexinit(w, dir, data + c + 6, plen - pad - 2, ts))
			goto bad;
		s->phase[dir] = SSH_QUIET;
		c += 4 + (size_t)plen;
	}
	if (s->phase[dir] == SSH_QUIET)
		c = c > len ? c : len;
	*used = c;
	if (s->phase[0] == SSH_QUIET && s->phase[1] == SSH_QUIET)
		return DISSECT_DONE;
	return DISSECT_MORE;
bad:
	dissect_malformed(w);
	return DISSECT_DONE;
}

const struct dissector dissector_ssh = {
	.name = "ssh",
	.transport = IPPROTO_TCP,
	.ports = {22, 0},
	.state_size = sizeof(struct ssh_state),
	.probe = ssh_probe,
	.parse = ssh_parse,
};
