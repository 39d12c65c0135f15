/* Event collection for the white-box TLS and QUIC tests: an emit callback
 * that keeps every event, and readers for string and list members.
 * Header-only (static), included after cmocka and dissect.h.
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

#endif
