/* TLS hello parsing shared by the TLS and QUIC dissectors: ClientHello and
 * ServerHello field extraction, the JA3/JA3S fingerprints as tshark 4.0
 * computes them (tls.handshake.ja3, ja3_full, ja3s, ja3s_full) and JA4
 * (FoxIO specification), and the JSON members both dissectors emit.
 *
 * The parse functions only point into the message they are given; nothing
 * is copied and nothing allocated, so the results live as long as the
 * message bytes do.
 */
#ifndef PROCSNIFF_DISSECT_TLS_HELLO_H
#define PROCSNIFF_DISSECT_TLS_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dissect_worker;

/* RFC 8701: 0x0a0a, 0x1a1a, ... 0xfafa. */
static inline bool tls_is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* A ClientHello body (after the 4-byte handshake header). Raw lists point
 * at the list bodies without their length prefixes. */
struct tls_client_hello {
	uint16_t legacy_version;
	const uint8_t *ciphers;  /* u16 each */
	size_t ciphers_len;
	const uint8_t *exts;     /* the extensions block: type, length, data ... */
	size_t exts_len;
	const uint8_t *sni;      /* first host_name, NULL if none */
	size_t sni_len;
	const uint8_t *alpn;     /* ProtocolNameList body: u8 length + name ... */
	size_t alpn_len;
	const uint8_t *versions; /* supported_versions: u16 each */
	size_t versions_len;
	const uint8_t *groups;   /* supported_groups: u16 each */
	size_t groups_len;
	const uint8_t *ecpf;     /* ec_point_formats: u8 each */
	size_t ecpf_len;
	const uint8_t *sigalgs;  /* signature_algorithms: u16 each */
	size_t sigalgs_len;
	bool has_sni_ext;        /* extension 0 present (JA4 "d") */
	bool ech;                /* encrypted_client_hello (0xfe0d) present */
};

/* A ServerHello body. */
struct tls_server_hello {
	uint16_t legacy_version; /* the version field as sent */
	uint16_t version;        /* negotiated: supported_versions if present */
	uint16_t cipher;
	const uint8_t *exts;
	size_t exts_len;
	const uint8_t *alpn;     /* selected protocol name, NULL if none */
	size_t alpn_len;
	bool hello_retry_request;
};

/* Fills ch from a ClientHello body of len bytes. Returns 0, or -EBADMSG
 * when the outer structure does not parse (extension contents that do not
 * parse are left out, the rest is kept). Context: any thread. */
int tls_client_hello_parse(const uint8_t *body, size_t len, struct tls_client_hello *ch);

/* Same for a ServerHello body. Context: any thread. */
int tls_server_hello_parse(const uint8_t *body, size_t len, struct tls_server_hello *sh);

/* Writes the JA3 string into full (NUL-terminated, cut at cap - 1 bytes
 * if longer) and the lower-case hex MD5 of the whole, uncut string into
 * md5hex. Returns 0, or -ENOMEM if the digest could not be computed
 * (md5hex is then empty). Context: any thread. */
int tls_ja3(const struct tls_client_hello *ch, char *full, size_t cap, char md5hex[33]);

/* Same for JA3S of a ServerHello. Context: any thread. */
int tls_ja3s(const struct tls_server_hello *sh, char *full, size_t cap, char md5hex[33]);

/* Writes the 36-character JA4 fingerprint (plus NUL) of ch; transport is
 * 't' for TCP, 'q' for QUIC. Returns 0 or -ENOMEM. Context: any thread. */
int tls_ja4(const struct tls_client_hello *ch, char transport, char out[37]);

/* The IANA name of a cipher suite, or NULL if not in our table.
 * Context: any thread. */
const char *tls_cipher_name(uint16_t cipher);

/* Writes the hello's "sni" (or null) and "alpn" list members into the event
 * being built. Context: owning worker only. */
void tls_sni_alpn_emit(struct dissect_worker *w, const struct tls_client_hello *ch);

/* Emits the members sni, alpn, versions, ciphers, extensions, ja3,
 * ja3_full, ja4, ech into the event open on w (between dj_begin and
 * dj_end). Context: owning worker only. */
void tls_client_hello_emit(struct dissect_worker *w, const struct tls_client_hello *ch,
	char transport);

/* Emits the members version, cipher, cipher_name, ja3s, ja3s_full, alpn and
 * hello_retry_request into the open event. Context: owning worker only. */
void tls_server_hello_emit(struct dissect_worker *w, const struct tls_server_hello *sh);

#endif
