/*
 * route_check — the checks every route passes before it reaches a proxy,
 * shared by both backends (caddy.c, haproxy.c) so that Caddy and HAProxy
 * accept exactly the same hosts and upstreams. Pure functions: no proxy is
 * contacted, nothing is allocated; a reason goes to err.
 */
#ifndef DEMUX_PROXY_ROUTE_CHECK_H
#define DEMUX_PROXY_ROUTE_CHECK_H

#include <stddef.h>

#include "proxy/proxy.h"

/*
 * route_check_host: host must be one DNS label, '.', then base_domain
 * (compared case-insensitively); the lower-cased host goes to out.
 * route_check_upstream: "a.b.c.d:port", an IPv4 literal and a port 1..65535.
 * route_check_front_upstream: demux's listen address as an upstream:
 * "0.0.0.0:8080" and ":8080" become "127.0.0.1:8080".
 */
int route_check_host(const char *host, const char *base_domain, char out[ROUTE_HOST_MAX], char *err,
		     size_t errlen);
int route_check_upstream(const char *upstream, char *err, size_t errlen);
int route_check_front_upstream(const char *listen, char out[ROUTE_UPSTREAM_MAX], char *err,
			       size_t errlen);
/* ensure_front's checks: base_domain valid, demux_listen usable as the front
 * door's upstream (written to front); errors start with "<backend>: ". */
int route_check_front(const char *backend, const char *base_domain, const char *demux_listen,
		      char front[ROUTE_UPSTREAM_MAX], char *err, size_t errlen);

#endif
