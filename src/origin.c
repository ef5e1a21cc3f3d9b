/*
 * origin — allowed_origins and the Origin header (see origin.h).
 */
#include "origin.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "errf.h"
#include "validate.h"

#define ORIGIN_SEPS ", \t"

/* The next entry of list at *p into out; 0, or -1 at the end (or when an
 * entry does not fit: origin_validate_list says so). */
static int
next_entry(const char **p, char *out, size_t outlen, bool *toolong)
{
	size_t n;

	*p += strspn(*p, ORIGIN_SEPS);
	if (**p == '\0')
		return -1;
	n = strcspn(*p, ORIGIN_SEPS);
	*toolong = n >= outlen;
	snprintf(out, outlen, "%.*s", (int)(n < outlen ? n : outlen - 1), *p);
	*p += n;
	return 0;
}

/* "http(s)://host[:port]": 0, or -1 with a reason. */
static int
check_one(const char *o, char *err, size_t errlen)
{
	char e[200];
	const char *h;

	if (strncmp(o, "https://", 8) == 0)
		h = o + 8;
	else if (strncmp(o, "http://", 7) == 0)
		h = o + 7;
	else
		return errf(err, errlen, "'%.80s' must start with https:// or http://", o);
	if (strchr(h, '/') != NULL)
		return errf(err, errlen, "'%.80s' is an origin: scheme and host, no path or '/'",
			    o);
	if (validate_host_port(h, e, sizeof(e)) == -1)
		return errf(err, errlen, "'%.80s': %s", o, e);
	return 0;
}

int
origin_validate_list(const char *list, char *err, size_t errlen)
{
	char o[ORIGIN_MAX];
	const char *p = list;
	bool toolong;
	int n = 0;

	while (next_entry(&p, o, sizeof(o), &toolong) == 0) {
		if (toolong)
			return errf(err, errlen, "an origin is longer than %d characters",
				    ORIGIN_MAX - 1);
		if (++n > ORIGIN_LIST_MAX)
			return errf(err, errlen, "more than %d origins", ORIGIN_LIST_MAX);
		if (check_one(o, err, errlen) == -1)
			return -1;
	}
	return 0;
}

bool
origin_in_list(const char *list, const char *origin)
{
	char o[ORIGIN_MAX];
	const char *p = list;
	bool toolong;

	if (list == NULL || origin == NULL || origin[0] == '\0')
		return false;
	while (next_entry(&p, o, sizeof(o), &toolong) == 0)
		if (!toolong && strcasecmp(o, origin) == 0)
			return true;
	return false;
}

bool
origin_is_base(const char *base_domain, const char *origin)
{
	const char *h, *end;
	size_t bl;

	if (origin == NULL || base_domain == NULL)
		return false;
	h = strstr(origin, "://");
	if (h == NULL)
		return false;
	h += 3;
	end = h + strcspn(h, ":/");
	bl = strlen(base_domain);
	return (size_t)(end - h) == bl && strncasecmp(h, base_domain, bl) == 0 &&
	       (*end == '\0' || *end == ':');
}
