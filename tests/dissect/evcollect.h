/* Event collection for the white-box TLS and QUIC tests: an emit callback
 * that keeps every event, readers for string and list members, and the
 * corpus helpers (run a capture, walk its tshark TSV).
 * Header-only (static), included after cmocka, dissect.h and pcap_driver.h.
 */
#ifndef PROCSNIFF_TESTS_EVCOLLECT_H
#define PROCSNIFF_TESTS_EVCOLLECT_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EVENTS 1024

struct ev {
	char name[32];
	int dir;
	char *fields;
};

static struct ev evs[MAX_EVENTS];
static size_t n_evs;

static void collect(void *ctx, const char *event, enum dissect_dir dir, uint64_t ts_ns,
	const char *fields, size_t len)
{
	if (n_evs >= MAX_EVENTS)
		return;
	snprintf(evs[n_evs].name, sizeof(evs[n_evs].name), "%s", event);
	evs[n_evs].dir = dir;
	evs[n_evs].fields = strndup(fields, len);
	assert_non_null(evs[n_evs].fields);
	n_evs++;
}

static void evs_clear(void)
{
	for (size_t i = 0; i < n_evs; i++)
		free(evs[i].fields);
	n_evs = 0;
}

/* Copies the string value of "key" (no escapes expected) into out. */
static bool field_str(const char *fields, const char *key, char *out, size_t cap)
{
	char pat[64];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = strstr(fields, pat);
	if (!p)
		return false;
	p += strlen(pat);
	e = strchr(p, '"');
	if (!e || (size_t)(e - p) >= cap)
		return false;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return true;
}

/* A list of strings as tshark joins them: a,b,c. */
static bool field_list(const char *fields, const char *key, char *out, size_t cap)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\":[", key);
	p = strstr(fields, pat);
	if (!p)
		return false;
	for (p += strlen(pat); *p && *p != ']' && n + 1 < cap; p++)
		if (*p != '"')
			out[n++] = *p;
	out[n] = '\0';
	return true;
}

/* The corpus directory ($PROCSNIFF_CORPUS), or NULL when unset. */
static const char *corpus_dir(void)
{
	const char *d = getenv("PROCSNIFF_CORPUS");

	return d && *d ? d : NULL;
}

/* Runs the corpus capture rel through worker w (then freed), collecting its
 * events afresh. */
static bool corpus_run(const char *rel, struct dissect_worker *w)
{
	char path[1024];
	int r;

	snprintf(path, sizeof(path), "%s/%s", corpus_dir(), rel);
	evs_clear();
	r = pcap_driver_run(path, w, NULL, NULL, NULL, NULL);
	dissect_worker_free(w);
	return r == 0;
}

/* Reads the tshark TSV next to the capture; fn gets each line's columns.
 * False when there is no such file. */
static bool tsv_each(const char *rel, const char *suffix,
	void (*fn)(char **col, int ncol, void *ctx), void *ctx)
{
	char path[1024], line[65536];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s%s", corpus_dir(), rel, suffix);
	fp = fopen(path, "r");
	if (!fp)
		return false;
	while (fgets(line, sizeof(line), fp)) {
		char *col[32];
		int n = 0;
		char *p = line;

		line[strcspn(line, "\n")] = '\0';
		while (n < 32) {
			col[n++] = p;
			p = strchr(p, '\t');
			if (!p)
				break;
			*p++ = '\0';
		}
		fn(col, n, ctx);
	}
	fclose(fp);
	return true;
}

#endif
