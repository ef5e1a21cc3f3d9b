/*
 * http_probe — one GET against a site served on this machine, for its status.
 *
 * Health checks (pool), template creation's readiness and warm-up requests,
 * and the restore benchmark ask a container "do you answer?" the way a
 * visitor would: GET on 127.0.0.1:port with the Host header the browser
 * sends. The body is read and thrown away; only the status matters. A proxy
 * named in the environment is never used.
 */
#ifndef DEMUX_HTTP_PROBE_H
#define DEMUX_HTTP_PROBE_H

#include <stddef.h>

/* GET http://127.0.0.1:<port><path> with "Host: <host>". connect_ms bounds
 * the connection (never more than timeout_ms), timeout_ms the whole exchange.
 * 0 with *status set to the HTTP status (any status, 2xx or not), or -1 with
 * the reason in err and *status 0. */
int http_probe_get(int port, const char *path, const char *host, long connect_ms, long timeout_ms,
		   long *status, char *err, size_t errlen);
/* The same, also saying "X-Forwarded-Proto: <scheme>" as the proxy does in
 * front of a copy: an https-only app (PrestaShop with SSL everywhere)
 * answers a request it does not see as https with a redirect. scheme NULL
 * sends no such header (http_probe_get). */
int http_probe_get_as(int port, const char *path, const char *host, const char *scheme,
		      long connect_ms, long timeout_ms, long *status, char *err, size_t errlen);

#endif
