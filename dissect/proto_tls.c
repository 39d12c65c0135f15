/* TLS over TCP: ClientHello (SNI, ALPN, versions, ciphers, extensions, JA3,
 * JA4, ECH), ServerHello (negotiated version, cipher, JA3S, ALPN,
 * HelloRetryRequest) and the first certificate of a TLS <= 1.2 Certificate
 * message (subject CN, issuer, validity, SAN DNS names, via OpenSSL).
 *
 * Detection is by content on any port: a handshake record (type 22, version
 * 3.x) carrying a ClientHello or ServerHello. Each direction's in-order bytes
 * go through two small state machines: the record layer (header bytes kept
 * in the flow state, so every byte handed to us is consumed) and the
 * handshake layer, which hands complete messages to the handlers. A message
 * that lies inside one record chunk is read in place; one that spans records
 * or TCP segments is copied into a per-direction buffer allocated on first
 * need (at most TLS_HS_MAX bytes; a longer Certificate is cut there, which is
 * enough for its first certificate in practice, other long messages are
 * skipped). Inspection ends once both hellos (and, for TLS <= 1.2, the
 * server's flight up to ServerHelloDone) are seen, or when both directions
 * turned to encrypted records (ChangeCipherSpec, application data).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "dissect/internal.h"
#include "dissect/tls_hello.h"

#define TLS_HS_MAX (64u * 1024)       /* bytes of one handshake message kept */
#define TLS_REC_MAX (16384u + 2048u)  /* TLSCiphertext limit (RFC 5246 6.2.3) */
#define TLS_SAN_MAX 64                /* SAN names reported per certificate */

enum {
	REC_CCS = 20,
	REC_ALERT = 21,
	REC_HANDSHAKE = 22,
	REC_APPDATA = 23,
	REC_HEARTBEAT = 24,
};

enum {
	HS_CLIENT_HELLO = 1,
	HS_SERVER_HELLO = 2,
	HS_CERTIFICATE = 11,
	HS_CERTIFICATE_REQUEST = 13,
	HS_SERVER_HELLO_DONE = 14,
};

struct tls_dir {
	uint8_t *buf;        /* message being assembled, NULL until needed */
	uint32_t buf_cap;
	uint32_t msg_len;    /* body length of the current message */
	uint32_t have;       /* body bytes of it seen so far */
	uint8_t hdr[4];      /* handshake header being read */
	uint8_t hdr_have;
	uint8_t rhdr[5];     /* record header being read */
	uint8_t rhdr_have;
	uint8_t rec_type;
	uint16_t rec_left;   /* payload bytes left in the current record */
	bool stopped;        /* encrypted or not TLS from here on */
};

struct tls_state {
	struct tls_dir d[2];
	bool ch_seen;          /* a ClientHello was reported */
	bool sh_seen;          /* a ServerHello that is not a HelloRetryRequest */
	bool hrr;              /* HelloRetryRequest seen, second ClientHello due */
	bool offered13;        /* the client offered TLS 1.3 */
	bool tls13;            /* the server chose TLS 1.3 (or a draft of it) */
	bool shd_seen;         /* ServerHelloDone */
	bool want_client_cert; /* CertificateRequest seen */
	bool client_cert_seen;
	bool server_cert_seen;
};

static bool probe_record(const uint8_t *p, size_t len)
{
	/* record: type 22, version 3.0-3.4; handshake: ClientHello or ServerHello */
	if (len < 6)
		return false;
	if (p[0] != REC_HANDSHAKE || p[1] != 3 || p[2] > 4)
		return false;
	if ((size_t)(p[3] << 8 | p[4]) > TLS_REC_MAX)
		return false;
	return p[5] == HS_CLIENT_HELLO || p[5] == HS_SERVER_HELLO;
}

static bool tls_probe(const struct dissect_pkt *pkt)
{
	return probe_record(pkt->data, pkt->len);
}

static void dir_drop_buf(struct tls_dir *d)
{
	free(d->buf);
	d->buf = NULL;
	d->buf_cap = 0;
}

static void tls_fini(void *state)
{
	struct tls_state *st = state;

	dir_drop_buf(&st->d[0]);
	dir_drop_buf(&st->d[1]);
}

/* ---- handlers ------------------------------------------------------------- */

static void emit_time(struct dissect_worker *w, const char *key, const ASN1_TIME *t)
{
	struct tm tm;
	char buf[32];

	if (!t || !ASN1_TIME_to_tm(t, &tm)) {
		dj_null(w, key);
		return;
	}
	if (!strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		dj_null(w, key);
		return;
	}
	dj_cstr(w, key, buf);
}

static void emit_subject_cn(struct dissect_worker *w, X509 *x)
{
	X509_NAME *name = X509_get_subject_name(x);
	int i = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
	unsigned char *u = NULL;
	int n;

	if (i < 0) {
		dj_null(w, "subject_cn");
		return;
	}
	n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (n < 0) {
		dj_null(w, "subject_cn");
		return;
	}
	dj_str(w, "subject_cn", u, (size_t)n);
	OPENSSL_free(u);
}

static void emit_issuer(struct dissect_worker *w, X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;

	if (!b || X509_NAME_print_ex(b, X509_get_issuer_name(x), 0,
			  XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
		dj_null(w, "issuer");
		BIO_free(b);
		return;
	}
	n = BIO_get_mem_data(b, &p);
	if (n > 0 && p)
		dj_str(w, "issuer", p, (size_t)n);
	else
		dj_null(w, "issuer");
	BIO_free(b);
}

static void emit_san(struct dissect_worker *w, X509 *x)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int n = gens ? sk_GENERAL_NAME_num(gens) : 0;
	int shown = 0;

	dj_list_begin(w, "san");
	for (int i = 0; i < n && shown < TLS_SAN_MAX; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type != GEN_DNS)
			continue;
		dj_list_str(w, ASN1_STRING_get0_data(g->d.dNSName),
			(size_t)ASN1_STRING_length(g->d.dNSName));
		shown++;
	}
	dj_list_end(w);
	GENERAL_NAMES_free(gens);
}

/* body: a TLS <= 1.2 Certificate message body, possibly cut at len. */
static void on_certificate(struct dissect_worker *w, enum dissect_dir dir, uint64_t ts,
	const uint8_t *body, size_t len, uint32_t msg_len)
{
	struct dcur c = dcur_make(body, len);
	const unsigned char *der, *p;
	uint32_t list_len, cert_len;
	X509 *x;

	list_len = dcur_u24(&c);
	if (!c.ok || list_len == 0)
		return; /* an empty list: the client has no certificate */
	cert_len = dcur_u24(&c);
	if (!c.ok)
		return;
	if (cert_len > c.len) {
		if (len < msg_len) {
			/* Cut by our buffer: say so rather than drop it silently. */
			dj_begin(w, "tls_certificate", dir, ts);
			dj_bool(w, "too_large", true);
			dj_u64(w, "size", cert_len);
			dj_end(w);
		} else {
			dissect_malformed(w);
		}
		return;
	}
	der = dcur_bytes(&c, cert_len);
	p = der;
	x = d2i_X509(NULL, &p, (long)cert_len);
	if (!x) {
		dissect_malformed(w);
		return;
	}
	dj_begin(w, "tls_certificate", dir, ts);
	emit_subject_cn(w, x);
	emit_issuer(w, x);
	emit_time(w, "not_before", X509_get0_notBefore(x));
	emit_time(w, "not_after", X509_get0_notAfter(x));
	emit_san(w, x);
	dj_end(w);
	X509_free(x);
}

static bool versions_offer13(const struct tls_client_hello *ch)
{
	for (size_t i = 0; i + 1 < ch->versions_len; i += 2) {
		uint16_t v = (uint16_t)(ch->versions[i] << 8 | ch->versions[i + 1]);

		if (v == 0x0304 || (v >> 8) == 0x7f)
			return true;
	}
	return false;
}

/* One handshake message; len < msg_len when it was cut by our buffer. */
static void on_message(struct dissect_worker *w, struct dissect_flow *f, struct tls_state *st,
	enum dissect_dir dir, uint64_t ts, uint8_t type, const uint8_t *body, size_t len,
	uint32_t msg_len)
{
	if (type == HS_CERTIFICATE) {
		if (dir == DISSECT_S2C)
			st->server_cert_seen = true;
		else
			st->client_cert_seen = true;
		if (!st->tls13)
			on_certificate(w, dir, ts, body, len, msg_len);
		return;
	}
	if (len < msg_len) {
		dissect_malformed(w); /* a hello or other message beyond TLS_HS_MAX */
		return;
	}
	switch (type) {
	case HS_CLIENT_HELLO: {
		struct tls_client_hello ch;

		if (tls_client_hello_parse(body, len, &ch) < 0) {
			dissect_malformed(w);
			return;
		}
		st->ch_seen = true;
		st->hrr = false;
		st->offered13 = versions_offer13(&ch);
		dj_begin(w, "tls_client_hello", dir, ts);
		tls_client_hello_emit(w, &ch, 't');
		dj_end(w);
		if (ch.sni)
			dissect_summary_set(f, "sni", ch.sni, ch.sni_len);
		break;
	}
	case HS_SERVER_HELLO: {
		struct tls_server_hello sh;

		if (tls_server_hello_parse(body, len, &sh) < 0) {
			dissect_malformed(w);
			return;
		}
		if (sh.hello_retry_request) {
			st->hrr = true;
			st->ch_seen = false;
		} else {
			st->sh_seen = true;
			st->tls13 = sh.version == 0x0304 || (sh.version >> 8) == 0x7f;
		}
		dj_begin(w, "tls_server_hello", dir, ts);
		tls_server_hello_emit(w, &sh);
		dj_end(w);
		break;
	}
	case HS_CERTIFICATE_REQUEST:
		if (!st->tls13)
			st->want_client_cert = true;
		break;
	case HS_SERVER_HELLO_DONE:
		st->shd_seen = true;
		break;
	default:
		break;
	}
}

/* ---- handshake layer -------------------------------------------------------- */

static int dir_reserve(struct tls_dir *d, uint32_t need)
{
	uint8_t *nb;

	if (need <= d->buf_cap)
		return 0;
	nb = realloc(d->buf, need);
	if (!nb)
		return -ENOMEM;
	d->buf = nb;
	d->buf_cap = need;
	return 0;
}

static void hs_feed(struct dissect_worker *w, struct dissect_flow *f, struct tls_state *st,
	enum dissect_dir dir, uint64_t ts, const uint8_t *p, size_t n)
{
	struct tls_dir *d = &st->d[dir];

	while (n && !d->stopped) {
		uint32_t keep, want;
		size_t take;

		if (d->hdr_have < 4) {
			d->hdr[d->hdr_have++] = *p++;
			n--;
			if (d->hdr_have < 4)
				continue;
			d->msg_len = (uint32_t)d->hdr[1] << 16 | (uint32_t)d->hdr[2] << 8 | d->hdr[3];
			d->have = 0;
			if (d->msg_len == 0) {
				on_message(w, f, st, dir, ts, d->hdr[0], p, 0, 0);
				d->hdr_have = 0;
			}
			continue;
		}
		want = d->msg_len - d->have;
		if (d->have == 0 && n >= want) {
			/* The whole message is here: read it in place. */
			on_message(w, f, st, dir, ts, d->hdr[0], p, want, d->msg_len);
			p += want;
			n -= want;
			d->hdr_have = 0;
			continue;
		}
		take = n < want ? n : want;
		/* An oversized Certificate is kept cut (its first certificate is
		 * what we read); other oversized messages are only skipped. */
		if (d->msg_len <= TLS_HS_MAX)
			keep = d->msg_len;
		else
			keep = d->hdr[0] == HS_CERTIFICATE ? TLS_HS_MAX : 0;
		if (d->have < keep) {
			uint32_t k = keep - d->have;

			if (k > take)
				k = (uint32_t)take;
			if (dir_reserve(d, keep) < 0) {
				d->stopped = true;
				return;
			}
			memcpy(d->buf + d->have, p, k);
		}
		d->have += (uint32_t)take;
		p += take;
		n -= take;
		if (d->have == d->msg_len) {
			on_message(w, f, st, dir, ts, d->hdr[0], d->buf, keep, d->msg_len);
			d->hdr_have = 0;
			/* Keep small buffers for the next message; drop big ones. */
			if (d->buf_cap > 16384)
				dir_drop_buf(d);
		}
	}
}

/* ---- record layer ------------------------------------------------------------- */

static bool record_header_ok(const uint8_t h[5])
{
	uint16_t len = (uint16_t)(h[3] << 8 | h[4]);

	if (h[0] < REC_CCS || h[0] > REC_HEARTBEAT)
		return false;
	if (h[1] != 3 || h[2] > 4)
		return false;
	return len <= TLS_REC_MAX;
}

static void records_feed(struct dissect_worker *w, struct dissect_flow *f, struct tls_state *st,
	enum dissect_dir dir, uint64_t ts, const uint8_t *p, size_t n)
{
	struct tls_dir *d = &st->d[dir];

	while (n && !d->stopped) {
		size_t take;

		if (d->rec_left == 0) {
			d->rhdr[d->rhdr_have++] = *p++;
			n--;
			if (d->rhdr_have < 5)
				continue;
			d->rhdr_have = 0;
			if (!record_header_ok(d->rhdr)) {
				/* Not TLS records (e.g. an SSLv2 hello): leave this side. */
				if (!st->ch_seen && !st->sh_seen && dir == DISSECT_C2S)
					dissect_malformed(w);
				d->stopped = true;
				break;
			}
			d->rec_type = d->rhdr[0];
			d->rec_left = (uint16_t)(d->rhdr[3] << 8 | d->rhdr[4]);
			if (d->rec_type == REC_APPDATA) {
				d->stopped = true;
				break;
			}
			if (d->rec_type == REC_CCS && !(st->offered13 && (st->tls13 || !st->sh_seen))) {
				/* TLS <= 1.2: what follows is encrypted. TLS 1.3 sends
				 * a dummy CCS (RFC 8446 D.4) and goes on in clear. */
				d->stopped = true;
				break;
			}
			continue;
		}
		take = n < d->rec_left ? n : d->rec_left;
		if (d->rec_type == REC_HANDSHAKE)
			hs_feed(w, f, st, dir, ts, p, take);
		p += take;
		n -= take;
		d->rec_left -= (uint16_t)take;
	}
}

static bool tls_finished(const struct tls_state *st)
{
	bool c_stop = st->d[DISSECT_C2S].stopped, s_stop = st->d[DISSECT_S2C].stopped;

	if (c_stop && s_stop)
		return true;
	if (!(st->ch_seen || c_stop) || !(st->sh_seen || s_stop))
		return false;
	if (!st->tls13 && !st->shd_seen && !s_stop)
		return false; /* the server's certificate flight is still due */
	if (st->want_client_cert && !st->client_cert_seen && !c_stop)
		return false;
	return true;
}

static enum dissect_verdict tls_parse(struct dissect_worker *w, struct dissect_flow *f,
	void *state, enum dissect_dir dir, const uint8_t *data, size_t len, size_t *used,
	uint64_t ts_ns)
{
	struct tls_state *st = state;

	*used = len;
	records_feed(w, f, st, dir, ts_ns, data, len);
	if (st->d[dir].stopped)
		dir_drop_buf(&st->d[dir]);
	return tls_finished(st) ? DISSECT_DONE : DISSECT_MORE;
}

const struct dissector dissector_tls = {
	.name = "tls",
	.transport = IPPROTO_TCP,
	.ports = {443, 853, 993, 995},
	.state_size = sizeof(struct tls_state),
	.probe = tls_probe,
	.parse = tls_parse,
	.fini = tls_fini,
};
