/* TLS hello parsing, JA3/JA3S/JA4 fingerprints and the hello JSON members,
 * shared by proto_tls.c and proto_quic.c (see tls_hello.h).
 *
 * JA3 follows tshark 4.0: "version,ciphers,extensions,groups,point_formats"
 * with decimal values joined by '-', GREASE values (RFC 8701) left out of the
 * cipher, extension and group lists, empty lists as empty fields. JA3S is
 * "version,cipher,extensions" of the ServerHello. JA4 follows the FoxIO
 * specification: <t|q><version><d|i><#ciphers><#extensions><alpn>_
 * <sha256/12 of sorted ciphers>_<sha256/12 of sorted extensions without SNI
 * and ALPN, "_", signature algorithms in order>.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dissect/internal.h"
#include "dissect/tls_hello.h"

#define EXT_SERVER_NAME 0x0000
#define EXT_SUPPORTED_GROUPS 0x000a
#define EXT_EC_POINT_FORMATS 0x000b
#define EXT_SIGNATURE_ALGORITHMS 0x000d
#define EXT_ALPN 0x0010
#define EXT_SUPPORTED_VERSIONS 0x002b
#define EXT_ECH 0xfe0d

/* JA4 sorts at most this many values; longer lists are hashed cut. */
#define JA4_MAX_VALUES 4096

/* RFC 8446 4.1.3: the Random of a HelloRetryRequest. */
static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---- parsing --------------------------------------------------------------- */

static void ch_ext(struct tls_client_hello *ch, uint16_t type, struct dcur e)
{
	struct dcur l;

	switch (type) {
	case EXT_SERVER_NAME:
		ch->has_sni_ext = true;
		l = dcur_sub(&e, dcur_u16(&e));
		while (l.ok && l.len) {
			uint8_t t = dcur_u8(&l);
			uint16_t n = dcur_u16(&l);
			const uint8_t *name = dcur_bytes(&l, n);

			if (name && t == 0 && !ch->sni) {
				ch->sni = name;
				ch->sni_len = n;
			}
		}
		break;
	case EXT_ALPN:
		l = dcur_sub(&e, dcur_u16(&e));
		if (l.ok) {
			ch->alpn = l.p;
			ch->alpn_len = l.len;
		}
		break;
	case EXT_SUPPORTED_VERSIONS:
		l = dcur_sub(&e, dcur_u8(&e));
		if (l.ok) {
			ch->versions = l.p;
			ch->versions_len = l.len & ~(size_t)1;
		}
		break;
	case EXT_SUPPORTED_GROUPS:
		l = dcur_sub(&e, dcur_u16(&e));
		if (l.ok) {
			ch->groups = l.p;
			ch->groups_len = l.len & ~(size_t)1;
		}
		break;
	case EXT_EC_POINT_FORMATS:
		l = dcur_sub(&e, dcur_u8(&e));
		if (l.ok) {
			ch->ecpf = l.p;
			ch->ecpf_len = l.len;
		}
		break;
	case EXT_SIGNATURE_ALGORITHMS:
		l = dcur_sub(&e, dcur_u16(&e));
		if (l.ok) {
			ch->sigalgs = l.p;
			ch->sigalgs_len = l.len & ~(size_t)1;
		}
		break;
	case EXT_ECH:
		ch->ech = true;
		break;
	default:
		break;
	}
}

int tls_client_hello_parse(const uint8_t *body, size_t len, struct tls_client_hello *ch)
{
	struct dcur c = dcur_make(body, len);
	struct dcur ciphers, exts;

	memset(ch, 0, sizeof(*ch));
	ch->legacy_version = dcur_u16(&c);
	dcur_bytes(&c, 32);
	dcur_bytes(&c, dcur_u8(&c)); /* session id */
	ciphers = dcur_sub(&c, dcur_u16(&c));
	dcur_bytes(&c, dcur_u8(&c)); /* compression methods */
	if (!c.ok)
		return -EBADMSG;
	ch->ciphers = ciphers.p;
	ch->ciphers_len = ciphers.len & ~(size_t)1;
	if (!c.len)
		return 0; /* no extensions (SSL 3.0 style) */
	exts = dcur_sub(&c, dcur_u16(&c));
	if (!exts.ok)
		return -EBADMSG;
	ch->exts = exts.p;
	ch->exts_len = exts.len;
	while (exts.len) {
		uint16_t type = dcur_u16(&exts);
		struct dcur e = dcur_sub(&exts, dcur_u16(&exts));

		if (!exts.ok) {
			/* Keep the extensions that parsed; later walks stop here too. */
			ch->exts_len -= exts.len;
			break;
		}
		ch_ext(ch, type, e);
	}
	return 0;
}

int tls_server_hello_parse(const uint8_t *body, size_t len, struct tls_server_hello *sh)
{
	struct dcur c = dcur_make(body, len);
	struct dcur exts;
	const uint8_t *random;

	memset(sh, 0, sizeof(*sh));
	sh->legacy_version = dcur_u16(&c);
	random = dcur_bytes(&c, 32);
	/* TLS 1.3 drafts before 22 sent no session id and no compression. */
	if ((sh->legacy_version >> 8) == 0x7f && (sh->legacy_version & 0xff) < 22) {
		sh->cipher = dcur_u16(&c);
	} else {
		dcur_bytes(&c, dcur_u8(&c));
		sh->cipher = dcur_u16(&c);
		dcur_u8(&c);
	}
	if (!c.ok)
		return -EBADMSG;
	sh->version = sh->legacy_version;
	sh->hello_retry_request = memcmp(random, hrr_random, sizeof(hrr_random)) == 0;
	if (!c.len)
		return 0;
	exts = dcur_sub(&c, dcur_u16(&c));
	if (!exts.ok)
		return -EBADMSG;
	sh->exts = exts.p;
	sh->exts_len = exts.len;
	while (exts.len) {
		uint16_t type = dcur_u16(&exts);
		struct dcur e = dcur_sub(&exts, dcur_u16(&exts));

		if (!exts.ok) {
			sh->exts_len -= exts.len;
			break;
		}
		if (type == EXT_SUPPORTED_VERSIONS && e.len == 2) {
			sh->version = dcur_u16(&e);
		} else if (type == EXT_ALPN) {
			struct dcur l = dcur_sub(&e, dcur_u16(&e));
			uint8_t n = dcur_u8(&l);
			const uint8_t *name = dcur_bytes(&l, n);

			if (name && n) {
				sh->alpn = name;
				sh->alpn_len = n;
			}
		}
	}
	return 0;
}

/* Calls fn for each extension type in exts (a block that parsed). */
#define EXT_FOREACH(exts, exts_len, type)                                                      \
	for (struct dcur _c = dcur_make((exts), (exts_len));                                    \
		_c.len >= 4 && ((type) = get16(_c.p), dcur_bytes(&_c, 4 + get16(_c.p + 2)), _c.ok);)

/* ---- JA3 / JA3S ------------------------------------------------------------ */

/* Writes into a bounded buffer and feeds the same bytes to a digest. */
struct sink {
	char *buf;
	size_t cap, len;
	EVP_MD_CTX *md;
	bool failed;
};

static void sink_put(struct sink *s, const char *p, size_t n)
{
	if (s->md && !EVP_DigestUpdate(s->md, p, n))
		s->failed = true;
	if (s->cap && s->len + 1 < s->cap) {
		size_t room = s->cap - 1 - s->len;
		size_t k = n < room ? n : room;

		memcpy(s->buf + s->len, p, k);
		s->len += k;
		s->buf[s->len] = '\0';
	}
}

static const char hexdig[] = "0123456789abcdef";

/* Fingerprint strings are built value by value for every hello: formatted by
 * hand, since printf's machinery costs more than the rest of the parse. */
static void sink_num(struct sink *s, const char *sep, unsigned v)
{
	char tmp[16];
	size_t n = 0, k = sizeof(tmp);

	do {
		tmp[--k] = (char)('0' + v % 10);
		v /= 10;
	} while (v && k > 1);
	sink_put(s, sep, strlen(sep));
	n = sizeof(tmp) - k;
	sink_put(s, tmp + k, n);
}

/* A u16 list without GREASE, '-'-joined. */
static void sink_list16(struct sink *s, const uint8_t *p, size_t len)
{
	const char *sep = "";

	for (size_t i = 0; i + 1 < len; i += 2) {
		uint16_t v = get16(p + i);

		if (tls_is_grease(v))
			continue;
		sink_num(s, sep, v);
		sep = "-";
	}
}

static void sink_exts(struct sink *s, const uint8_t *exts, size_t exts_len)
{
	const char *sep = "";
	uint16_t type;

	EXT_FOREACH(exts, exts_len, type) {
		if (tls_is_grease(type))
			continue;
		sink_num(s, sep, type);
		sep = "-";
	}
}

static int sink_open(struct sink *s, char *buf, size_t cap, const EVP_MD *md)
{
	s->buf = buf;
	s->cap = cap;
	s->len = 0;
	s->failed = false;
	if (cap)
		buf[0] = '\0';
	s->md = EVP_MD_CTX_new();
	if (!s->md || !EVP_DigestInit_ex(s->md, md, NULL)) {
		EVP_MD_CTX_free(s->md);
		s->md = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Finishes the digest as lower-case hex (hexcap includes the NUL). */
static int sink_close(struct sink *s, char *hex, size_t hexcap)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int ret = 0;

	hex[0] = '\0';
	if (!s->md || s->failed || !EVP_DigestFinal_ex(s->md, d, &n))
		ret = -ENOMEM;
	EVP_MD_CTX_free(s->md);
	s->md = NULL;
	if (ret)
		return ret;
	for (unsigned int i = 0; i < n && 2 * i + 2 < hexcap; i++) {
		hex[2 * i] = hexdig[d[i] >> 4];
		hex[2 * i + 1] = hexdig[d[i] & 15];
		hex[2 * i + 2] = '\0';
	}
	return 0;
}

int tls_ja3(const struct tls_client_hello *ch, char *full, size_t cap, char md5hex[33])
{
	struct sink s;

	if (sink_open(&s, full, cap, EVP_md5()) < 0) {
		md5hex[0] = '\0';
		return -ENOMEM;
	}
	sink_num(&s, "", ch->legacy_version);
	sink_put(&s, ",", 1);
	sink_list16(&s, ch->ciphers, ch->ciphers_len);
	sink_put(&s, ",", 1);
	sink_exts(&s, ch->exts, ch->exts_len);
	sink_put(&s, ",", 1);
	sink_list16(&s, ch->groups, ch->groups_len);
	sink_put(&s, ",", 1);
	for (size_t i = 0; i < ch->ecpf_len; i++)
		sink_num(&s, i ? "-" : "", ch->ecpf[i]);
	return sink_close(&s, md5hex, 33);
}

int tls_ja3s(const struct tls_server_hello *sh, char *full, size_t cap, char md5hex[33])
{
	struct sink s;

	if (sink_open(&s, full, cap, EVP_md5()) < 0) {
		md5hex[0] = '\0';
		return -ENOMEM;
	}
	sink_num(&s, "", sh->legacy_version);
	sink_num(&s, ",", sh->cipher);
	sink_put(&s, ",", 1);
	sink_exts(&s, sh->exts, sh->exts_len);
	return sink_close(&s, md5hex, 33);
}

/* ---- JA4 ------------------------------------------------------------------- */

static int cmp16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static void sink_hex16(struct sink *s, const uint16_t *v, size_t n)
{
	char tmp[5];

	for (size_t i = 0; i < n; i++) {
		tmp[0] = ',';
		tmp[1] = hexdig[v[i] >> 12 & 15];
		tmp[2] = hexdig[v[i] >> 8 & 15];
		tmp[3] = hexdig[v[i] >> 4 & 15];
		tmp[4] = hexdig[v[i] & 15];
		sink_put(s, i ? tmp : tmp + 1, i ? 5 : 4);
	}
}

/* sha256 of "a" or "a_b" (b may be empty, then without "_"), cut to 12. */
static int ja4_hash(const uint16_t *a, size_t na, const uint16_t *b, size_t nb, char out[13])
{
	struct sink s;
	char hex[65];

	if (!na && !nb) {
		memcpy(out, "000000000000", 13);
		return 0;
	}
	if (sink_open(&s, NULL, 0, EVP_sha256()) < 0)
		return -ENOMEM;
	sink_hex16(&s, a, na);
	if (nb) {
		sink_put(&s, "_", 1);
		sink_hex16(&s, b, nb);
	}
	if (sink_close(&s, hex, sizeof(hex)) < 0)
		return -ENOMEM;
	memcpy(out, hex, 12);
	out[12] = '\0';
	return 0;
}

static const char *ja4_version(uint16_t v)
{
	switch (v) {
	case 0x0304: return "13";
	case 0x0303: return "12";
	case 0x0302: return "11";
	case 0x0301: return "10";
	case 0x0300: return "s3";
	case 0x0002: return "s2";
	case 0xfeff: return "d1";
	case 0xfefd: return "d2";
	case 0xfefc: return "d3";
	default: return "00";
	}
}

static bool is_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int tls_ja4(const struct tls_client_hello *ch, char transport, char out[37])
{
	static const char hexd[] = "0123456789abcdef";
	uint16_t vals[JA4_MAX_VALUES];
	uint16_t sig[JA4_MAX_VALUES / 4];
	size_t nc = 0, ne = 0, nx = 0, ns = 0;
	uint16_t version = ch->legacy_version, type;
	char alpn[3] = "00";
	char hc[13], he[13];

	if (ch->versions_len) {
		uint16_t best = 0;

		for (size_t i = 0; i + 1 < ch->versions_len; i += 2) {
			uint16_t v = get16(ch->versions + i);

			if (!tls_is_grease(v) && v > best)
				best = v;
		}
		if (best)
			version = best;
	}
	if (ch->alpn_len >= 2 && ch->alpn[0] && ch->alpn[0] < ch->alpn_len) {
		const uint8_t *a = ch->alpn + 1;
		uint8_t n = ch->alpn[0];

		if (is_alnum(a[0]) && is_alnum(a[n - 1])) {
			alpn[0] = (char)a[0];
			alpn[1] = (char)a[n - 1];
		} else {
			alpn[0] = hexd[a[0] >> 4];
			alpn[1] = hexd[a[n - 1] & 0xf];
		}
	}

	for (size_t i = 0; i + 1 < ch->ciphers_len; i += 2) {
		uint16_t v = get16(ch->ciphers + i);

		if (tls_is_grease(v))
			continue;
		if (nc < JA4_MAX_VALUES)
			vals[nc] = v;
		nc++;
	}
	qsort(vals, nc < JA4_MAX_VALUES ? nc : JA4_MAX_VALUES, sizeof(vals[0]), cmp16);
	if (ja4_hash(vals, nc < JA4_MAX_VALUES ? nc : JA4_MAX_VALUES, NULL, 0, hc) < 0)
		return -ENOMEM;

	EXT_FOREACH(ch->exts, ch->exts_len, type) {
		if (tls_is_grease(type))
			continue;
		ne++;
		if (type == EXT_SERVER_NAME || type == EXT_ALPN)
			continue;
		if (nx < JA4_MAX_VALUES)
			vals[nx++] = type;
	}
	qsort(vals, nx, sizeof(vals[0]), cmp16);
	for (size_t i = 0; i + 1 < ch->sigalgs_len && ns < JA4_MAX_VALUES / 4; i += 2) {
		uint16_t v = get16(ch->sigalgs + i);

		if (!tls_is_grease(v))
			sig[ns++] = v;
	}
	if (ja4_hash(vals, nx, sig, ns, he) < 0)
		return -ENOMEM;

	snprintf(out, 37, "%c%s%c%02u%02u%c%c_%s_%s", transport, ja4_version(version),
		ch->has_sni_ext ? 'd' : 'i', (unsigned)(nc > 99 ? 99 : nc),
		(unsigned)(ne > 99 ? 99 : ne), alpn[0], alpn[1], hc, he);
	return 0;
}

/* ---- cipher names -------------------------------------------------------- */

static const struct {
	uint16_t id;
	const char *name;
} cipher_names[] = {
	{0x0004, "TLS_RSA_WITH_RC4_128_MD5"},
	{0x0005, "TLS_RSA_WITH_RC4_128_SHA"},
	{0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
	{0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"},
	{0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"},
	{0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA"},
	{0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"},
	{0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"},
	{0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA"},
	{0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"},
	{0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256"},
	{0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256"},
	{0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"},
	{0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"},
	{0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256"},
	{0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384"},
	{0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"},
	{0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"},
	{0x00a2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256"},
	{0x00a3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384"},
	{0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"},
	{0x1301, "TLS_AES_128_GCM_SHA256"},
	{0x1302, "TLS_AES_256_GCM_SHA384"},
	{0x1303, "TLS_CHACHA20_POLY1305_SHA256"},
	{0x1304, "TLS_AES_128_CCM_SHA256"},
	{0x1305, "TLS_AES_128_CCM_8_SHA256"},
	{0x5600, "TLS_FALLBACK_SCSV"},
	{0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"},
	{0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"},
	{0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"},
	{0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"},
	{0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
	{0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"},
	{0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"},
	{0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"},
	{0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"},
	{0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"},
	{0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
	{0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
	{0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
	{0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
	{0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
	{0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
	{0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
};

const char *tls_cipher_name(uint16_t cipher)
{
	size_t lo = 0, hi = sizeof(cipher_names) / sizeof(cipher_names[0]);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (cipher_names[mid].id == cipher)
			return cipher_names[mid].name;
		if (cipher_names[mid].id < cipher)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- JSON members ---------------------------------------------------------- */

static void emit_hex16(struct dissect_worker *w, uint16_t v)
{
	char tmp[8];

	snprintf(tmp, sizeof(tmp), "0x%04x", v);
	dj_list_str(w, tmp, 6);
}

void tls_sni_alpn_emit(struct dissect_worker *w, const struct tls_client_hello *ch)
{
	if (ch->sni)
		dj_str(w, "sni", ch->sni, ch->sni_len);
	else
		dj_null(w, "sni");
	dj_list_begin(w, "alpn");
	for (struct dcur l = dcur_make(ch->alpn, ch->alpn_len); l.ok && l.len;) {
		uint8_t n = dcur_u8(&l);
		const uint8_t *p = dcur_bytes(&l, n);

		if (p)
			dj_list_str(w, p, n);
	}
	dj_list_end(w);
}

/* The emitter cuts events at member boundaries anyway; this bounds the
 * stack buffer for the JA3 string. */
#define JA3_FULL_CAP 4096

void tls_client_hello_emit(struct dissect_worker *w, const struct tls_client_hello *ch,
	char transport)
{
	char ja3[JA3_FULL_CAP], md5[33], ja4[37];
	uint16_t type;

	tls_sni_alpn_emit(w, ch);
	dj_list_begin(w, "versions");
	for (size_t i = 0; i + 1 < ch->versions_len; i += 2)
		emit_hex16(w, get16(ch->versions + i));
	dj_list_end(w);
	dj_list_begin(w, "ciphers");
	for (size_t i = 0; i + 1 < ch->ciphers_len; i += 2)
		emit_hex16(w, get16(ch->ciphers + i));
	dj_list_end(w);
	dj_list_begin(w, "extensions");
	EXT_FOREACH(ch->exts, ch->exts_len, type)
		dj_list_u64(w, type);
	dj_list_end(w);
	if (tls_ja3(ch, ja3, sizeof(ja3), md5) == 0) {
		dj_cstr(w, "ja3", md5);
		dj_cstr(w, "ja3_full", ja3);
	}
	if (tls_ja4(ch, transport, ja4) == 0)
		dj_cstr(w, "ja4", ja4);
	dj_bool(w, "ech", ch->ech);
}

void tls_server_hello_emit(struct dissect_worker *w, const struct tls_server_hello *sh)
{
	char tmp[8], ja3s[1024], md5[33];

	snprintf(tmp, sizeof(tmp), "0x%04x", sh->version);
	dj_cstr(w, "version", tmp);
	snprintf(tmp, sizeof(tmp), "0x%04x", sh->cipher);
	dj_cstr(w, "cipher", tmp);
	dj_cstr(w, "cipher_name", tls_cipher_name(sh->cipher));
	if (tls_ja3s(sh, ja3s, sizeof(ja3s), md5) == 0) {
		dj_cstr(w, "ja3s", md5);
		dj_cstr(w, "ja3s_full", ja3s);
	}
	if (sh->alpn)
		dj_str(w, "alpn", sh->alpn, sh->alpn_len);
	else
		dj_null(w, "alpn");
	if (sh->hello_retry_request)
		dj_bool(w, "hello_retry_request", true);
}
