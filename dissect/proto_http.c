/* dissect HTTP/1.x: every request and response of a connection.
 *
 * The side that sends requests is the one whose first message is not a
 * status line (normally the initiator, but a capture may miss the start).
 * Each direction runs a small state machine over the in-order stream: a
 * header block (request or status line and header fields, up to the empty
 * line; bare LF accepted as tshark does), then the body, skipped without
 * being buffered: Content-Length bytes, or chunks whose sizes are parsed
 * (RFC 9112 section 7.1), or, for a response without either, everything up
 * to the end of the connection. Responses know which request they answer
 * from a small queue of pending request methods, so pipelined HEAD requests
 * get bodiless responses; 1xx, 204 and 304 responses have no body either, a
 * 1xx does not answer the request, and a 101 or a successful CONNECT ends
 * inspection (what follows is another protocol).
 *
 * A request line is "method SP uri [SP version]" with a method token; the
 * URI is what follows the method up to the next space or the end of the line,
 * as tshark's http.request.uri. A header block that does not parse is counted
 * as malformed and skipped whole.
 */
#include <string.h>
#include <netinet/in.h>

#include "dissect/internal.h"

#define HTTP_HDR_MAX 16384 /* header block bytes before we give up */
#define HTTP_LINE_MAX 1024 /* chunk-size and trailer lines */
#define HTTP_METHOD_MAX 24
#define HTTP_PENDING 32 /* requests awaiting a response (power of 2) */
#define HTTP_TX_MAX 256 /* transactions per flow before we stop */

enum http_phase {
	HTTP_HEAD = 0,   /* expecting a request/status line */
	HTTP_BODY,       /* skipping remain bytes of body */
	HTTP_CHUNK_SIZE, /* expecting a chunk-size line */
	HTTP_CHUNK_DATA, /* skipping remain bytes of chunk data */
	HTTP_CHUNK_END,  /* the line end after chunk data (CRLF or LF) */
	HTTP_TRAILER,    /* trailer fields up to an empty line */
	HTTP_QUIET,      /* nothing more to parse in this direction */
};

#define PEND_HEAD 1
#define PEND_CONNECT 2

struct http_dir {
	uint8_t phase;
	uint64_t remain;
};

struct http_state {
	struct http_dir d[2];
	uint8_t pend[HTTP_PENDING];
	uint16_t pend_head, pend_tail;
	uint16_t tx;
	uint8_t resp_dir; /* 0 unknown, else 1 + the direction carrying responses */
	bool have_host;
};

struct http_hdrs {
	const uint8_t *host, *ua, *ctype;
	size_t host_n, ua_n, ctype_n;
	uint64_t clen;
	bool has_clen;
	bool chunked;
};

static bool is_tchar(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		c == '_' || c == '-' || c == '.' || c == '!' || c == '#' || c == '$' || c == '%' ||
		c == '&' || c == '\'' || c == '*' || c == '+' || c == '^' || c == '`' || c == '|' ||
		c == '~';
}

static bool ci_prefix(const uint8_t *p, size_t n, const char *lit)
{
	size_t l = strlen(lit);

	if (n < l)
		return false;
	for (size_t i = 0; i < l; i++) {
		uint8_t a = p[i], b = (uint8_t)lit[i];

		if (a >= 'A' && a <= 'Z')
			a = (uint8_t)(a + 32);
		if (a != b)
			return false;
	}
	return true;
}

static bool ci_contains(const uint8_t *p, size_t n, const char *lit)
{
	size_t l = strlen(lit);

	for (size_t i = 0; i + l <= n; i++)
		if (ci_prefix(p + i, n - i, lit))
			return true;
	return false;
}

static void trim(const uint8_t **p, size_t *n)
{
	while (*n && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t' || (*p)[*n - 1] == '\r'))
		(*n)--;
}

static bool parse_dec(const uint8_t *p, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	if (!n || n > 18)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(p[i] - '0');
	}
	*v = x;
	return true;
}

/* Length of the header block at p (through its empty line), 0 if incomplete. */
static size_t head_len(const uint8_t *p, size_t n)
{
	const uint8_t *s = p, *end = p + n;

	while (s < end) {
		const uint8_t *nl = memchr(s, '\n', (size_t)(end - s));

		if (!nl)
			return 0;
		if (nl + 1 < end && nl[1] == '\n')
			return (size_t)(nl + 2 - p);
		if (nl + 2 < end && nl[1] == '\r' && nl[2] == '\n')
			return (size_t)(nl + 3 - p);
		if (nl + 2 >= end)
			return 0;
		s = nl + 1;
	}
	return 0;
}

/* Reads the header fields after the first line. */
static void parse_fields(const uint8_t *p, const uint8_t *end, struct http_hdrs *h)
{
	memset(h, 0, sizeof(*h));
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *line = p, *colon, *v;
		size_t n, vn;

		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		p = nl ? nl + 1 : end;
		colon = memchr(line, ':', n);
		if (!colon)
			continue;
		v = colon + 1;
		vn = (size_t)(line + n - v);
		trim(&v, &vn);
#define FIELD(name) ((size_t)(colon - line) == sizeof(name) - 1 && ci_prefix(line, n, name))
		if (FIELD("host") && !h->host) {
			h->host = v;
			h->host_n = vn;
		} else if (FIELD("user-agent") && !h->ua) {
			h->ua = v;
			h->ua_n = vn;
		} else if (FIELD("content-type") && !h->ctype) {
			h->ctype = v;
			h->ctype_n = vn;
		} else if (FIELD("content-length") && !h->has_clen) {
			h->has_clen = parse_dec(v, vn, &h->clen);
		} else if (FIELD("transfer-encoding")) {
			h->chunked = ci_contains(v, vn, "chunked");
		}
#undef FIELD
	}
}

static void body_start(struct http_dir *d, const struct http_hdrs *h, bool until_close)
{
	if (h->chunked) {
		d->phase = HTTP_CHUNK_SIZE;
	} else if (h->has_clen && h->clen) {
		d->phase = HTTP_BODY;
		d->remain = h->clen;
	} else if (!h->has_clen && until_close) {
		d->phase = HTTP_QUIET;
	} else {
		d->phase = HTTP_HEAD;
	}
}

/* Returns false if the header block is not a request. */
static bool http_request(struct dissect_worker *w, struct dissect_flow *f, struct http_state *s,
	enum dissect_dir dir, const uint8_t *p, size_t n, uint64_t ts)
{
	const uint8_t *end = p + n, *nl = memchr(p, '\n', n), *sp, *uri, *uend;
	size_t ln = (size_t)(nl - p), mlen;
	struct http_hdrs h;
	uint8_t pend = 0;

	while (ln && p[ln - 1] == '\r')
		ln--;
	for (mlen = 0; mlen < ln && is_tchar(p[mlen]); mlen++)
		;
	if (!mlen || mlen > HTTP_METHOD_MAX || (mlen < ln && p[mlen] != ' '))
		return false;
	uri = mlen < ln ? p + mlen + 1 : p + ln;
	sp = memchr(uri, ' ', (size_t)(p + ln - uri));
	uend = sp ? sp : p + ln;
	parse_fields(nl + 1, end, &h);

	dj_begin(w, "http_request", dir, ts);
	dj_str(w, "method", p, mlen);
	if (h.host)
		dj_str(w, "host", h.host, h.host_n);
	else
		dj_null(w, "host");
	dj_str(w, "uri", uri, (size_t)(uend - uri));
	if (h.ua)
		dj_str(w, "user_agent", h.ua, h.ua_n);
	else
		dj_null(w, "user_agent");
	dj_end(w);
	if (h.host && !s->have_host) {
		s->have_host = true;
		dissect_summary_set(f, "host", h.host, h.host_n);
	}

	if (mlen == 4 && !memcmp(p, "HEAD", 4))
		pend = PEND_HEAD;
	else if (mlen == 7 && !memcmp(p, "CONNECT", 7))
		pend = PEND_CONNECT;
	if ((uint16_t)(s->pend_tail - s->pend_head) < HTTP_PENDING)
		s->pend[s->pend_tail++ % HTTP_PENDING] = pend;
	/* A tunnel's bytes follow a CONNECT; requests have no body otherwise
	 * unless they say so. */
	if (pend == PEND_CONNECT)
		s->d[dir].phase = HTTP_QUIET;
	else
		body_start(&s->d[dir], &h, false);
	return true;
}

/* Returns false if the header block is not a response; sets *stop when the
 * connection turns into something else. */
static bool http_response(struct dissect_worker *w, struct http_state *s, enum dissect_dir dir,
	const uint8_t *p, size_t n, uint64_t ts, bool *stop)
{
	const uint8_t *end = p + n, *nl = memchr(p, '\n', n);
	size_t ln = (size_t)(nl - p);
	struct http_hdrs h;
	uint64_t status;
	uint8_t pend = 0;
	bool nobody;

	if (ln < 12 || memcmp(p, "HTTP/", 5) || p[8] != ' ' || !parse_dec(p + 9, 3, &status) ||
		(ln > 12 && p[12] != ' ' && p[12] != '\r'))
		return false;
	parse_fields(nl + 1, end, &h);

	dj_begin(w, "http_response", dir, ts);
	dj_u64(w, "status", status);
	if (h.ctype)
		dj_str(w, "content_type", h.ctype, h.ctype_n);
	else
		dj_null(w, "content_type");
	if (h.has_clen)
		dj_u64(w, "content_length", h.clen);
	else
		dj_null(w, "content_length");
	dj_end(w);

	if (status >= 100 && status < 200) {
		if (status == 101)
			*stop = true;
		s->d[dir].phase = HTTP_HEAD;
		return true;
	}
	if (s->pend_head != s->pend_tail)
		pend = s->pend[s->pend_head++ % HTTP_PENDING];
	if (pend == PEND_CONNECT && status < 300) {
		*stop = true;
		return true;
	}
	nobody = pend == PEND_HEAD || status == 204 || status == 304;
	if (nobody)
		s->d[dir].phase = HTTP_HEAD;
	else
		body_start(&s->d[dir], &h, true);
	return true;
}

static bool http_probe(const struct dissect_pkt *pkt)
{
	static const char *const methods[] = {"GET ", "POST ", "HEAD ", "PUT ", "DELETE ",
		"OPTIONS ", "CONNECT ", "TRACE ", "PATCH ", "PROPFIND ", "PROPPATCH ", "MKCOL ",
		"COPY ", "MOVE ", "LOCK ", "UNLOCK ", "REPORT ", "SEARCH ", "CCM_POST ", "NOTIFY ",
		"SUBSCRIBE ", "UNSUBSCRIBE ", "M-SEARCH ", "RPC_IN_DATA ", "RPC_OUT_DATA ",
		"MKCALENDAR ", "ACL ", "BIND ", "CHECKIN ", "CHECKOUT ", "LABEL ", "MERGE ",
		"UPDATE ", "MKACTIVITY ", "MKWORKSPACE ", "POLL ", "PURGE ", "LINK ", "UNLINK "};
	const uint8_t *p = pkt->data, *nl;
	size_t n = pkt->len, m;

	if (n >= 9 && !memcmp(p, "HTTP/1.", 7) && p[7] >= '0' && p[7] <= '9' && p[8] == ' ')
		return true;
	for (m = 0; m < n && m <= HTTP_METHOD_MAX &&
		((p[m] >= 'A' && p[m] <= 'Z') || p[m] == '_' || p[m] == '-');
		m++)
		;
	if (!m || m > HTTP_METHOD_MAX || m >= n)
		return false;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t l = strlen(methods[i]) - 1;

		/* A known method alone on its line is a (broken) request too. */
		if (m == l && !memcmp(p, methods[i], l) &&
			(p[m] == ' ' || p[m] == '\r' || p[m] == '\n'))
			return true;
	}
	if (p[m] != ' ')
		return false;
	/* Another method: the request line must end with an HTTP version. */
	nl = memchr(p, '\n', n);
	if (!nl)
		return false;
	for (const uint8_t *q = p; q + 7 <= nl; q++)
		if (!memcmp(q, " HTTP/1", 7))
			return true;
	return false;
}

static enum dissect_verdict http_parse(struct dissect_worker *w, struct dissect_flow *f,
	void *state, enum dissect_dir dir, const uint8_t *data, size_t len, size_t *used,
	uint64_t ts)
{
	struct http_state *s = state;
	struct http_dir *d = &s->d[dir];
	bool stop = false;
	size_t c = 0;

	while (c < len && d->phase != HTTP_QUIET && !stop) {
		const uint8_t *p = data + c, *nl;
		size_t avail = len - c, n;

		switch (d->phase) {
		case HTTP_HEAD:
			/* Stray line ends between messages are tolerated. */
			if (*p == '\r' || *p == '\n') {
				c++;
				break;
			}
			n = head_len(p, avail < HTTP_HDR_MAX ? avail : HTTP_HDR_MAX);
			if (!n) {
				if (avail >= HTTP_HDR_MAX)
					goto bad;
				goto out;
			}
			if (++s->tx > HTTP_TX_MAX)
				return DISSECT_DONE;
			/* Normally the initiator asks; if the capture missed the
			 * start, the first message of either side tells. */
			if (!s->resp_dir)
				s->resp_dir = (uint8_t)(1 + (n >= 5 && !memcmp(p, "HTTP/", 5) ?
								    dir : !dir));
			if (dir + 1 != s->resp_dir ? !http_request(w, f, s, dir, p, n, ts) :
						     !http_response(w, s, dir, p, n, ts, &stop))
				dissect_malformed(w);
			c += n;
			break;
		case HTTP_BODY:
		case HTTP_CHUNK_DATA:
			/* May step past the data at hand: the stream skips it. */
			c += d->remain;
			d->remain = 0;
			d->phase = d->phase == HTTP_BODY ? HTTP_HEAD : HTTP_CHUNK_END;
			break;
		case HTTP_CHUNK_END:
			if (p[0] == '\n') {
				c++;
				d->phase = HTTP_CHUNK_SIZE;
			} else if (p[0] != '\r') {
				goto bad;
			} else if (avail < 2) {
				goto out;
			} else if (p[1] == '\n') {
				c += 2;
				d->phase = HTTP_CHUNK_SIZE;
			} else {
				goto bad;
			}
			break;
		case HTTP_CHUNK_SIZE:
		case HTTP_TRAILER:
			nl = memchr(p, '\n', avail < HTTP_LINE_MAX ? avail : HTTP_LINE_MAX);
			if (!nl) {
				if (avail >= HTTP_LINE_MAX)
					goto bad;
				goto out;
			}
			n = (size_t)(nl - p);
			c += n + 1;
			if (d->phase == HTTP_TRAILER) {
				if (!n || (n == 1 && p[0] == '\r'))
					d->phase = HTTP_HEAD;
				break;
			} else {
				uint64_t sz = 0;
				size_t i = 0, digits = 0;

				while (i < n && (p[i] == ' ' || p[i] == '\t'))
					i++;
				for (; i < n && digits < 15; i++, digits++) {
					uint8_t ch = p[i];

					if (ch >= '0' && ch <= '9')
						sz = sz * 16 + (uint64_t)(ch - '0');
					else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
						sz = sz * 16 + (uint64_t)((ch | 0x20) - 'a' + 10);
					else
						break;
				}
				if (!digits || (i < n && p[i] != ';' && p[i] != ' ' &&
							p[i] != '\t' && p[i] != '\r'))
					goto bad;
				if (sz) {
					d->remain = sz;
					d->phase = HTTP_CHUNK_DATA;
				} else {
					d->phase = HTTP_TRAILER;
				}
			}
			break;
		default:
			goto out;
		}
	}
out:
	if (d->phase == HTTP_QUIET && c < len)
		c = len;
	*used = c;
	if (stop || (s->d[0].phase == HTTP_QUIET && s->d[1].phase == HTTP_QUIET))
		return DISSECT_DONE;
	return DISSECT_MORE;
bad:
	dissect_malformed(w);
	d->phase = HTTP_QUIET;
	*used = len;
	if (s->d[0].phase == HTTP_QUIET && s->d[1].phase == HTTP_QUIET)
		return DISSECT_DONE;
	return DISSECT_MORE;
}

const struct dissector dissector_http = {
	.name = "http",
	.transport = IPPROTO_TCP,
	.ports = {80, 8080, 0},
	.state_size = sizeof(struct http_state),
	.probe = http_probe,
	.parse = http_parse,
};
