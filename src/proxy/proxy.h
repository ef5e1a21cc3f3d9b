/*
 * proxy — publishes "<id>.<base_domain>" -> "127.0.0.1:<port>" through a real
 * reverse proxy, and the front door "<base_domain>" -> demux's own listener.
 *
 * Two backends implement struct route_ops: caddy.c (Caddy's admin API; each
 * change reloads Caddy's whole config) and haproxy.c (a Host -> address map
 * changed through HAProxy's runtime API, no reload). Hosts are validated
 * before they reach a backend; upstreams are always "ip:port".
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

/*
 * Checks both backends run before anything reaches a proxy.
 * proxy_check_host: host must be one DNS label, '.', then base_domain
 * (compared case-insensitively); the lower-cased host goes to out.
 * proxy_check_upstream: "a.b.c.d:port", an IPv4 literal and a port 1..65535.
 * proxy_front_upstream: demux's listen address as an upstream: "0.0.0.0:8080"
 * and ":8080" become "127.0.0.1:8080".
 */
int proxy_check_host(const char *host, const char *base_domain, char out[ROUTE_HOST_MAX], char *err,
		     size_t errlen);
int proxy_check_upstream(const char *upstream, char *err, size_t errlen);
int proxy_front_upstream(const char *listen, char out[ROUTE_UPSTREAM_MAX], char *err,
			 size_t errlen);
/* ensure_front's checks: base_domain valid, demux_listen usable as the front
 * door's upstream (written to front); errors start with "<backend>: ". */
int proxy_check_front(const char *backend, const char *base_domain, const char *demux_listen,
		      char front[ROUTE_UPSTREAM_MAX], char *err, size_t errlen);

#endif
