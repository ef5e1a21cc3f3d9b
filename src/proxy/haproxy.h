/*
 * haproxy — the route manager over HAProxy's runtime API (struct route_ops).
 *
 * One frontend looks the request's Host up in a map file (host -> ip:port)
 * and sends the request to that address (set-dst, set-dst-port); demux
 * changes the map with "add map" / "set map" / "del map" on the stats socket,
 * which takes effect for the next request with no reload. The map file is
 * rewritten (temporary file + rename) before every runtime change, so a
 * reload or restart of HAProxy loses nothing. The front door (base domain ->
 * demux's listener) is a backend in the generated config; its server is
 * named after the base domain so ensure_front can check it at run time.
 *
 * Every command uses its own connection to the socket: a kept-open
 * connection would go on talking to the old worker after a reload
 * (docs/PROXY.md). One context may be shared by threads: calls are
 * serialized by a mutex.
 */
#ifndef DEMUX_PROXY_HAPROXY_H
#define DEMUX_PROXY_HAPROXY_H

#include <stdbool.h>
#include <stddef.h>

#include "proxy/proxy.h"

struct buf;

#define HAPROXY_TIMEOUT_MS 5000
#define HAPROXY_REPLY_MAX (64u << 20)
#define HAPROXY_FRONT_BACKEND "front"

struct haproxy_options {
	bool fsync_map; /* fsync the map file and its directory on every change */
};

/* Fills p with the haproxy backend for cfg (haproxy_socket, haproxy_map,
 * base_domain). Reads the map file into memory, creating it (and its
 * directory) when missing, since HAProxy refuses to start without it.
 * Sends nothing yet. opt may be NULL for the defaults. */
int haproxy_open(struct proxy *p, const struct config *cfg, const struct haproxy_options *opt,
		 char *err, size_t errlen);

/* The pieces below are pure and exposed for the tests. */

/* The haproxy.cfg `demux proxy config haproxy` prints, appended to out. */
int haproxy_config_text(const struct config *cfg, struct buf *out, char *err, size_t errlen);
/* Parses map entries: "show map" output when with_ids (each line starts
 * with the entry's 0x… id; any other line is HAProxy's error message and
 * fails), else a map file ('#' comments, blank lines). Entries that fail
 * the checks of route_check.h, the base domain itself and repeated hosts are
 * skipped with a warning. *out is malloc'ed, the caller frees it. */
int haproxy_parse_map(const char *text, bool with_ids, const char *base_domain, struct route **out,
		      int *n, char *err, size_t errlen);
/* The map file's text for routes. */
int haproxy_map_text(const struct route *routes, int n, struct buf *out);
/* A path haproxy.cfg and the runtime commands can carry unquoted. */
int haproxy_check_path(const char *what, const char *path, char *err, size_t errlen);

#endif
