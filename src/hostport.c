/*
 * hostport — "HOST:PORT" and "[ADDRESS]:PORT" splitting (see hostport.h).
 */
#include "hostport.h"

#include <string.h>

#include "errf.h"

int
hostport_split(const char *s, char *host, size_t hostlen, int *port, char *err, size_t errlen)
{
	const char *h = s, *colon, *digits;
	size_t hl, nd;
	long p = 0;

	if (s == NULL || s[0] == '\0')
		return errf(err, errlen, "address is empty");
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return errf(err, errlen, "expected [ADDRESS]:PORT");
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return errf(err, errlen, "expected HOST:PORT");
		hl = (size_t)(colon - s);
	}
	digits = colon + 1;
	nd = strlen(digits);
	if (nd == 0 || nd > 5 || strspn(digits, "0123456789") != nd)
		return errf(err, errlen, "port must be 0-65535");
	for (size_t i = 0; i < nd; i++)
		p = p * 10 + (digits[i] - '0');
	if (p > 65535)
		return errf(err, errlen, "port must be 0-65535");
	if (hl >= hostlen)
		return errf(err, errlen, "host too long");
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (int)p;
	return 0;
}
