/*
 * route_check — what a host or an upstream must look like before a backend
 * sends it to a proxy. The host is strict (one label under the base domain,
 * RFC 1123 via validate_domain) because it ends up in Caddy's JSON and in
 * HAProxy's map file and runtime commands; the upstream is an IPv4 literal
 * and a port, the form HAProxy's set-dst/set-dst-port and Caddy's dial take.
 */
#include "proxy/route_check.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "errf.h"
#include "hostport.h"
#include "validate.h"

int
route_check_host(const char *host, const char *base_domain, char out[ROUTE_HOST_MAX], char *err,
		 size_t errlen)
{
	char h[ROUTE_HOST_MAX], reason[192];
	size_t n, bl;

	if (host == NULL || host[0] == '\0')
		return errf(err, errlen, "host is empty");
	n = strnlen(host, ROUTE_HOST_MAX);
	if (n >= ROUTE_HOST_MAX)
		return errf(err, errlen, "host longer than %d characters", ROUTE_HOST_MAX - 1);
	for (size_t i = 0; i <= n; i++)
		h[i] = (char)tolower((unsigned char)host[i]);
	/* Nothing of a rejected host is echoed: it may hold control bytes. */
	if (validate_domain(h, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "host is not a valid name: %s", reason);
	bl = strlen(base_domain);
	if (n <= bl + 1 || h[n - bl - 1] != '.' || strcasecmp(h + n - bl, base_domain) != 0)
		return errf(err, errlen, "host '%s' is not a name under the base domain '%s'", h,
			    base_domain);
	if (memchr(h, '.', n - bl - 1) != NULL)
		return errf(err, errlen, "host '%s' must be one label followed by '.%s'", h,
			    base_domain);
	memcpy(out, h, n + 1);
	return 0;
}

int
route_check_upstream(const char *upstream, char *err, size_t errlen)
{
	char ip[INET_ADDRSTRLEN], canon[INET_ADDRSTRLEN], spelled[INET_ADDRSTRLEN + 8], reason[128];
	struct in_addr a;
	int port, w;

	if (upstream == NULL || upstream[0] == '\0')
		return errf(err, errlen, "upstream is empty");
	if (hostport_split(upstream, ip, sizeof(ip), &port, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "upstream must be IPv4-ADDRESS:PORT (%s)", reason);
	if (inet_pton(AF_INET, ip, &a) != 1 ||
	    inet_ntop(AF_INET, &a, canon, sizeof(canon)) == NULL || strcmp(ip, canon) != 0)
		return errf(err, errlen, "upstream address must be an IPv4 address like 127.0.0.1");
	if (a.s_addr == htonl(INADDR_ANY) || a.s_addr == htonl(INADDR_BROADCAST))
		return errf(err, errlen, "upstream address %s cannot be connected to", ip);
	if (port == 0)
		return errf(err, errlen, "upstream port must be a number from 1 to 65535");
	/* Routes are compared as text: one spelling each (no brackets, no leading zero). */
	w = snprintf(spelled, sizeof(spelled), "%s:%d", ip, port);
	if (w < 0 || (size_t)w >= sizeof(spelled) || strcmp(spelled, upstream) != 0)
		return errf(err, errlen, "upstream must be written like 127.0.0.1:8080, not '%s'",
			    upstream);
	return 0;
}

int
route_check_front_upstream(const char *listen, char out[ROUTE_UPSTREAM_MAX], char *err,
			   size_t errlen)
{
	static const char *const any[] = {"", "0.0.0.0", "*", "::", "localhost"};
	char addr[ROUTE_UPSTREAM_MAX], reason[128];
	const char *a;
	int port, w;

	if (hostport_split(listen, addr, sizeof(addr), &port, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "'%s' is not ADDRESS:PORT: %s", listen, reason);
	a = addr;
	for (size_t i = 0; i < sizeof(any) / sizeof(any[0]); i++)
		if (strcmp(addr, any[i]) == 0)
			a = "127.0.0.1";
	w = snprintf(out, ROUTE_UPSTREAM_MAX, "%s:%d", a, port);
	if (w < 0 || w >= ROUTE_UPSTREAM_MAX)
		return errf(err, errlen, "'%s' is too long", listen);
	if (route_check_upstream(out, err, errlen) == -1)
		return -1;
	return 0;
}

int
route_check_front(const char *backend, const char *base_domain, const char *demux_listen,
		  char front[ROUTE_UPSTREAM_MAX], char *err, size_t errlen)
{
	char reason[256];

	if (validate_domain(base_domain, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "%s: base domain '%s': %s", backend, base_domain, reason);
	if (route_check_front_upstream(demux_listen, front, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "%s: demux listen '%s': %s", backend, demux_listen,
			    reason);
	return 0;
}
