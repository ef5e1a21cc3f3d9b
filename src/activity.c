/*
 * activity — TCP segments received in a container's network namespace; see
 * activity.h.
 */
#include "activity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define SNMP_MAX 65536
#define FIELDS_MAX 32

/* Splits a "Tcp: a b c" line into at most FIELDS_MAX words after the prefix;
 * returns how many, words point into buf (modified). */
static int
words(char *line, char *w[FIELDS_MAX])
{
	char *save = NULL;
	int n = 0;

	for (char *tok = strtok_r(line + 4, " \t", &save); tok != NULL && n < FIELDS_MAX;
	     tok = strtok_r(NULL, " \t", &save))
		w[n++] = tok;
	return n;
}

int
activity_parse_snmp(const char *text, long long *in_segs)
{
	char *copy, *names = NULL, *values = NULL, *line, *save = NULL;
	char *nw[FIELDS_MAX], *vw[FIELDS_MAX];
	int nn, nv, ret = -1;

	copy = strdup(text);
	if (copy == NULL)
		return -1;
	/* The counters come as a pair of lines: names, then values. */
	for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "Tcp: ", 5) != 0)
			continue;
		if (names == NULL) {
			names = line;
		} else {
			values = line;
			break;
		}
	}
	if (names == NULL || values == NULL)
		goto out;
	nn = words(names, nw);
	nv = words(values, vw);
	if (nn != nv)
		goto out;
	for (int i = 0; i < nn; i++) {
		if (strcmp(nw[i], "InSegs") == 0) {
			char *end;
			long long v;

			errno = 0;
			v = strtoll(vw[i], &end, 10);
			if (end == vw[i] || *end != '\0' || errno != 0 || v < 0)
				goto out;
			*in_segs = v;
			ret = 0;
			break;
		}
	}
out:
	free(copy);
	return ret;
}

int
activity_tcp_segments(int pid, long long *in_segs, char *err, size_t errlen)
{
	char path[64];
	struct buf text;
	int ret = -1;

	if (pid <= 0) {
		snprintf(err, errlen, "no process to read the traffic of");
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/net/snmp", pid);
	if (buf_read_file(path, SNMP_MAX, &text, err, errlen) == 0) {
		ret = activity_parse_snmp(buf_str(&text), in_segs);
		if (ret == -1)
			snprintf(err, errlen, "%s: no Tcp InSegs counter", path);
	}
	buf_free(&text);
	return ret;
}
