/*
 * proxy — publishes "<id>.<base_domain>" -> "127.0.0.1:<port>" through a real
 * reverse proxy, and the front door "<base_domain>" -> demux's own listener.
 *
 * Two backends implement struct route_ops: caddy.c (Caddy's admin API; each
 * change reloads Caddy's whole config) and haproxy.c (a Host -> address map
 * changed through HAProxy's runtime API, no reload). Hosts are validated
 * before they reach a proxy (route_check.h); upstreams are always "ip:port".
 * proxy.c only picks the backend; "demux proxy" is proxy_cmd.c.
 */
#ifndef DEMUX_PROXY_H
#define DEMUX_PROXY_H

#include <stddef.h>

struct config;

#define ROUTE_HOST_MAX 256
#define ROUTE_UPSTREAM_MAX 64

struct route {
	char host[ROUTE_HOST_MAX];
	char upstream[ROUTE_UPSTREAM_MAX];
};

/*
 * Every function returns 0 or -1 with a one-line reason in err that names the
 * proxy and its address. remove of a route that is not there succeeds.
 */
struct route_ops {
	const char *name; /* "caddy", "haproxy" */
	int (*ensure_front)(void *ctx, const char *base_domain, const char *demux_listen, char *err,
			    size_t errlen);
	int (*add)(void *ctx, const char *host, const char *upstream, char *err, size_t errlen);
	int (*remove)(void *ctx, const char *host, char *err, size_t errlen);
	/* Routes demux added (not the front door); *out is malloc'ed, caller frees. */
	int (*list)(void *ctx, struct route **out, int *n, char *err, size_t errlen);
	void (*close)(void *ctx);
};

struct proxy {
	const struct route_ops *ops;
	void *ctx;
};

/* Opens the backend chosen by cfg->proxy_backend. */
int proxy_open(struct proxy *p, const struct config *cfg, char *err, size_t errlen);
void proxy_close(struct proxy *p);

#endif
