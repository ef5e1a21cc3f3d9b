/*
 * caddy — the route manager over Caddy's admin API (struct route_ops).
 *
 * demux owns one HTTP server in Caddy's config, apps.http.servers.<name>:
 * instance routes first, each tagged "@id": "demux-<instance id>" so it can
 * be replaced or deleted through /id/ without knowing its index; then the
 * front door ("demux.front": base domain -> demux's listener); then a 404
 * for every other host ("demux.fallback"; Caddy alone would answer an empty
 * 200). Every change makes Caddy reload its whole config, so one change
 * costs time in proportion to the number of routes (docs/PROXY.md).
 *
 * One context may be shared by threads: calls are serialized by a mutex.
 */
#ifndef DEMUX_PROXY_CADDY_H
#define DEMUX_PROXY_CADDY_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "proxy/proxy.h"

struct buf;

#define CADDY_CONNECT_TIMEOUT_MS 2000
#define CADDY_TIMEOUT_MS 10000
#define CADDY_REPLY_MAX (64u << 20) /* a config with ~200k routes */
#define CADDY_ROUTE_ID_PREFIX "demux-"
#define CADDY_FRONT_ID "demux.front" /* '.' never appears in an instance label */
#define CADDY_FALLBACK_ID "demux.fallback"

/* [proxy] tls and its keys, as the caddy backend uses them. */
struct caddy_tls {
	enum proxy_tls mode;
	char cert_file[CONFIG_STR];
	char key_file[CONFIG_STR];
	char acme_email[CONFIG_STR];
	char acme_dns[CONFIG_SQL];
};

/* Fills p with the caddy backend for cfg (caddy_admin, caddy_server,
 * proxy_listen, base_domain, listen). Sends nothing yet. */
int caddy_open(struct proxy *p, const struct config *cfg, char *err, size_t errlen);

/* The pieces below are pure and exposed for the tests. Strings they return
 * are malloc'ed and owned by the caller. Inputs must have passed the checks
 * in route_check.h. */

/* "demux-<first label of host>". */
int caddy_route_id(const char *host, char *out, size_t outlen);
/* One instance route, compact JSON. */
char *caddy_route_json(const char *host, const char *upstream);
#define CADDY_FRONT_MAX 1024
/* A list of listeners ("127.0.0.1:8081 127.0.0.1:8082", ',' also separates)
 * as the front door's upstreams, each checked and spelled as an upstream,
 * ' '-separated, into out. 0 or -1 with a reason. */
int caddy_front_upstreams(const char *spec, char *out, size_t outlen, char *err, size_t errlen);

/* The server object demux owns: listen, no automatic HTTPS, front door, 404;
 * with tls, a TLS connection policy (the listener speaks https). */
char *caddy_server_json(const char *listen, const char *base_domain, const char *front_upstream,
			bool tls);
void caddy_tls_from_config(const struct config *cfg, struct caddy_tls *t);
/* Caddy's tls app (the certificate for "*.<base_domain>" and
 * "<base_domain>"), NULL when t->mode is PROXY_TLS_OFF. */
char *caddy_tls_json(const struct caddy_tls *t, const char *base_domain);
/* The whole Caddy config `demux proxy config caddy` prints, appended to out. */
int caddy_config_text(const struct config *cfg, struct buf *out, char *err, size_t errlen);
/* Routes carrying a "demux-" @id in a server's routes array (JSON text);
 * "null" is an empty list. *out is malloc'ed, the caller frees it. */
int caddy_parse_routes(const char *json, struct route **out, int *n, char *err, size_t errlen);

#endif
