/* Tests of the HTTP/1.x dissector through dissect_packet: request and
 * response fields, keep-alive and pipelining, bodies by Content-Length and
 * chunked coding (RFC 9112 sections 6 and 7), bodiless responses (HEAD, 1xx,
 * 204, 304: RFC 9110 section 6.4.1), headers split over segments, detection
 * on any port, and malformed input. With the corpus, a capture whose
 * User-Agent spans two segments is checked against tshark's reference.
 */
#include "tests/dissect/dtest.h"
#include "tests/dissect/pcap_driver.h"

static void test_get_200(void **state)
{
	struct dt t;
	char sum[256];

	(void)state;
	dt_init(&t, 0);
	dt_tcp_open(&t, 80);
	dt_tcps(&t, 0, 80,
		"GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n"
		"User-Agent: curl/8.0\r\nAccept: */*\r\n\r\n");
	dt_tcps(&t, 1, 80,
		"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
		"Content-Length: 5\r\n\r\nhello");
	assert_int_equal(t.n, 2);
	dt_expect(&t, 0, "http_request",
		"\"method\":\"GET\",\"host\":\"example.com\",\"uri\":\"/index.html?q=1\","
		"\"user_agent\":\"curl/8.0\"");
	assert_int_equal(t.ev[0].dir, DISSECT_C2S);
	dt_expect(&t, 1, "http_response",
		"\"status\":200,\"content_type\":\"text/html; charset=utf-8\","
		"\"content_length\":5");
	assert_int_equal(t.ev[1].dir, DISSECT_S2C);
	assert_string_equal(dissect_flow_app(t.f), "http");
	dissect_flow_summary(t.f, sum, sizeof(sum));
	assert_string_equal(sum, "\"host\":\"example.com\"");
	dt_fini(&t);
}

static void test_absent_headers_null(void **state)
{
	struct dt t;

	(void)state;
	dt_init(&t, 0);
	dt_tcp_open(&t, 8080);
	dt_tcps(&t, 0, 8080, "GET / HTTP/1.0\r\n\r\n");
	dt_tcps(&t, 1, 8080, "HTTP/1.0 404 Not Found\r\n\r\n");
	dt_expect(&t, 0, "http_request",
		"\"method\":\"GET\",\"host\":null,\"uri\":\"/\",\"user_agent\":null");
	dt_expect(&t, 1, "http_response",
		"\"status\":404,\"content_type\":null,\"content_length\":null");
	dt_fini(&t);
}

static void test_keepalive_body_across_segments(void **state)
{
	struct dt t;
	char body[1500];

	(void)state;
	memset(body, 'b', sizeof(body));
	dt_init(&t, 0);
	dt_tcp_open(&t, 80);
	dt_tcps(&t, 0, 80, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
	dt_tcps(&t, 1, 80, "HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n");
	dt_tcp(&t, 1, 80, body, sizeof(body));
	dt_tcp(&t, 1, 80, body, sizeof(body));
	dt_tcps(&t, 0, 80, "GET /b HTTP/1.1\r\nHost: h\r\n\r\n");
	dt_tcps(&t, 1, 80, "HTTP/1.1 304 Not Modified\r\n\r\n");
	dt_tcps(&t, 0, 80, "GET /c HTTP/1.1\r\nHost: h\r\n\r\n");
	dt_tcps(&t, 1, 80, "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(t.n, 6);
	dt_expect(&t, 2, "http_request",
		"\"method\":\"GET\",\"host\":\"h\",\"uri\":\"/b\",\"user_agent\":null");
	dt_expect(&t, 3, "http_response",
		"\"status\":304,\"content_type\":null,\"content_length\":null");
	dt_expect(&t, 5, "http_response",
		"\"status\":204,\"content_type\":null,\"content_length\":0");
	dt_fini(&t);
}

static void test_pipelined_head(void **state)
{
	struct dt t;

	(void)state;
	dt_init(&t, 0);
	dt_tcp_open(&t, 80);
	/* Two requests in one segment; the HEAD response announces a length
	 * but has no body (RFC 9110 section 9.3.2). */
	dt_tcps(&t, 0, 80,
		"HEAD /x HTTP/1.1\r\nHost: h\r\n\r\nGET /y HTTP/1.1\r\nHost: h\r\n\r\n");
	dt_tcps(&t, 1, 80,
		"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
		"HTTP/1.1 500 Oops\r\n\r\n");
	assert_int_equal(t.n, 5);
	dt_expect(&t, 0, "http_request",
		"\"method\":\"HEAD\",\"host\":\"h\",\"uri\":\"/x\",\"user_agent\":null");
	dt_expect(&t, 1, "http_request",
		"\"method\":\"GET\",\"host\":\"h\",\"uri\":\"/y\",\"user_agent\":null");
	dt_expect(&t, 2, "http_response",
		"\"status\":200,\"content_type\":null,\"content_length\":1000");
	dt_expect(&t, 3, "http_response",
		"\"status\":200,\"content_type\":null,\"content_length\":2");
	dt_expect(&t, 4, "http_response",
		"\"status\":500,\"content_type\":null,\"content_length\":null");
	dt_fini(&t);
}

static void test_chunked(void **state)
{
	struct dt t;

	(void)state;
	dt_init(&t, 0);
	dt_tcp_open(&t, 80);
	dt_tcps(&t, 0, 80,
		"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
		"5\r\nhello\r\n");
	dt_tcps(&t, 0, 80, "1A;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n");
	dt_tcps(&t, 0, 80, "Trailer: x\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n");
	/* Chunk sizes split across segments, bare LF line ends. */
	dt_tcps(&t, 1, 80, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1");
	dt_tcps(&t, 1, 80, "0\nxxxxxxxxxxxxxxxx\n0\n\n");
	dt_tcps(&t, 1, 80, "HTTP/1.1 201 Created\r\n\r\n");
	assert_int_equal(t.n, 4);
	dt_expect(&t, 1, "http_request",
		"\"method\":\"GET\",\"host\":\"h\",\"uri\":\"/next\",\"user_agent\":null");
	dt_expect(&t, 3, "http_response",
		"\"status\":201,\"content_type\":null,\"content_length\":null");
	assert_int_equal(dt_stats(&t).malformed, 0);
	dt_fini(&t);
}

static void test_continue(void **state)
{
	struct dt t;

	(void)state;
	dt_init(&t, 0);
	dt_tcp_open(&t, 631);
	dt_tcps(&t, 0, 631,
		"POST /ipp/ HTTP/1.1\r\nHost: p\r\nExpect: 100-continue\r\n"
		"Content-Length: 4\r\n\r\n");
	dt_tcps(&t, 1, 631, "HTTP/1.1 100 Continue\r\n\r\n");
	dt_tcps(&t, 0, 631, "data");
	dt_tcps(&t, 1, 631, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	dt_tcps(&t, 0, 631, "GET /2 HTTP/1.1\r\nHost: p\r\n\r\n");
	assert_int_equal(t.n, 4);
	dt_expect(&t, 1, "http_response",
		"\"status\":100,\"content_type\":null,\"content_length\":null");
	dt_expect(&t, 2, "http_response",
		"\"status\":200,\"content_type\":null,\"content_length\":0");
	dt_expect(&t, 3, "http_request",
		"\"method\":\"GET\",\"host\":\"p\",\"uri\":\"/2\",\"user_agent\":null");
	dt_fini(&t);
}

static void test_header_split(void **state)
{
	struct dt t;

	(void)state;
	dt_init(&t, 0);
	dt_tcp_open(&t, 3128);
	dt_tcps(&t, 0, 3128, "GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\nUser-Ag");
	assert_int_equal(t.n, 0);
	dt_tcps(&t, 0, 3128, "ent: Mozilla/5.0 (X11)\r");
	dt_tcps(&t, 0, 3128, "\n\r\n");
	assert_int_equal(t.n, 1);
	dt_expect(&t, 0, "http_request",
		"\"method\":\"GET\",\"host\":\"a.example\",\"uri\":\"http://a.example/\","
		"\"user_agent\":\"Mozilla/5.0 (X11)\"");
	dt_fini(&t);
}

static void test_until_close_and_escape(void **state)
{
	struct dt t;

	(void)state;
	dt_init(&t, 0);
	dt_tcp_open(&t, 80);
	dt_tcps(&t, 0, 80, "GET /\"q\\\x01\xc3\xa9 HTTP/1.0\r\n\r\n");
	/* No length: the body runs to the end; what looks like a response in
	 * it is not one. */
	dt_tcps(&t, 1, 80, "HTTP/1.0 200 OK\r\n\r\nHTTP/1.1 404 no\r\n\r\n");
	assert_int_equal(t.n, 2);
	/* JSON escapes: quote, backslash, control and non-ASCII bytes. */
	dt_expect(&t, 0, "http_request",
		"\"method\":\"GET\",\"host\":null,\"uri\":\"/\\\"q\\\\\\u0001\\u00c3\\u00a9\","
		"\"user_agent\":null");
	dt_fini(&t);
}

static void test_connect_ends(void **state)
{
	struct dt t;

	(void)state;
	dt_init(&t, 0);
	dt_tcp_open(&t, 8080);
	dt_tcps(&t, 0, 8080, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
	assert_true(dt_tcps(&t, 1, 8080, "HTTP/1.1 200 Connection established\r\n\r\n") == false);
	dt_expect(&t, 0, "http_request",
		"\"method\":\"CONNECT\",\"host\":\"example.com:443\",\"uri\":\"example.com:443\","
		"\"user_agent\":null");
	dt_fini(&t);
}

static void test_any_port_and_not_http(void **state)
{
	struct dt t;

	(void)state;
	dt_init(&t, 0);
	dt_tcp_open(&t, 5555);
	dt_tcps(&t, 0, 5555, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_string_equal(dissect_flow_app(t.f), "http");
	dt_fini(&t);

	dt_init(&t, 0);
	dt_tcp_open(&t, 80);
	dt_tcps(&t, 0, 80, "hello there, general kenobi\r\n");
	dt_tcps(&t, 1, 80, "\x16\x99\x00garbage");
	assert_null(dissect_flow_app(t.f));
	assert_int_equal(t.n, 0);
	dt_fini(&t);
}

static void test_malformed_counted(void **state)
{
	struct dt t;
	char junk[20000];

	(void)state;
	memset(junk, 'z', sizeof(junk));
	dt_init(&t, 0);
	dt_tcp_open(&t, 80);
	dt_tcps(&t, 0, 80, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	dt_tcps(&t, 0, 80, "GET/ nonsense\r\n\r\n"); /* not a request line */
	dt_tcps(&t, 1, 80, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
	assert_int_equal(dt_stats(&t).malformed, 2);
	/* A header block without end: given up, not buffered forever. */
	dt_tcp(&t, 0, 80, junk, sizeof(junk));
	assert_int_equal(dt_stats(&t).malformed, 3);
	assert_int_equal(t.n, 2);
	dt_fini(&t);
}

static void test_budget(void **state)
{
	struct dt t;
	int i;

	(void)state;
	dt_init(&t, 4);
	dt_tcp_open(&t, 80);
	/* Every packet yields a transaction: the flow stays inspected however
	 * many there are, past the budget of 4. */
	for (i = 0; i < 10 && t.live; i++)
		dt_tcps(&t, i & 1, 80,
			i & 1 ? "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" :
				"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_int_equal(i, 10);
	assert_int_equal(t.n, 10);
	assert_true(t.live);
	/* A request trickling in one header line per packet yields nothing:
	 * the fifth such packet ends inspection. */
	dt_tcps(&t, 0, 80, "GET /slow HTTP/1.1\r\n");
	for (i = 1; i < 10 && t.live; i++)
		dt_tcps(&t, 0, 80, "X-Pad: 1\r\n");
	assert_int_equal(i, 5);
	assert_false(t.live);
	assert_int_equal(t.n, 10);
	assert_string_equal(dissect_flow_app(t.f), "http");
	dt_fini(&t);
}

/* ndpi-http_ua_splitted_in_two_pkts.pcapng: 37 keep-alive GETs whose
 * User-Agent spans two segments. tshark: http.request.method GET, host
 * 192.168.1.3:8080 ... on each; we must see all 37 requests and responses. */
struct counter {
	const char *name, *needle;
	int n;
};

static void count_emit(void *ctx, const char *event, enum dissect_dir dir, uint64_t ts_ns,
	const char *fields, size_t len)
{
	struct counter *c = ctx;
	char buf[8192];

	(void)dir;
	(void)ts_ns;
	snprintf(buf, sizeof(buf), "%.*s", (int)len, fields);
	if (!strcmp(event, c->name) && strstr(buf, c->needle))
		c->n++;
}

static int count_events(const char *path, unsigned budget, const char *name, const char *needle)
{
	struct dissect_config cfg = {.pkt_budget = budget};
	struct counter c = {name, needle, 0};
	struct dissect_worker *w = dissect_worker_new(&cfg, count_emit, &c);

	assert_non_null(w);
	assert_int_equal(pcap_driver_run(path, w, NULL, NULL, NULL, NULL), 0);
	dissect_worker_free(w);
	return c.n;
}

static void test_corpus_ua_split(void **state)
{
	char path[1024];
	FILE *ref;
	char line[4096];
	int want = 0;

	(void)state;
	if (!dt_corpus())
		skip();
	snprintf(path, sizeof(path), "%s/http/ndpi-http_ua_splitted_in_two_pkts.pcapng.tshark.tsv",
		dt_corpus());
	ref = fopen(path, "r");
	if (!ref)
		skip();
	while (fgets(line, sizeof(line), ref))
		if (strstr(line, "\tGET\t"))
			want++;
	fclose(ref);
	assert_int_equal(want, 37);
	path[strlen(path) - strlen(".tshark.tsv")] = '\0';
	assert_int_equal(count_events(path, 1000, "http_request", "\"method\":\"GET\""), 37);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_200),
		cmocka_unit_test(test_absent_headers_null),
		cmocka_unit_test(test_keepalive_body_across_segments),
		cmocka_unit_test(test_pipelined_head),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_continue),
		cmocka_unit_test(test_header_split),
		cmocka_unit_test(test_until_close_and_escape),
		cmocka_unit_test(test_connect_ends),
		cmocka_unit_test(test_any_port_and_not_http),
		cmocka_unit_test(test_malformed_counted),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_corpus_ua_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
