/*
 * server — demux's HTTP listener (libmicrohttpd, one thread per connection).
 *
 * It accumulates request bodies up to max_body_bytes (413 beyond), limits
 * claims per client address, routes /api/ and /healthz to api.c, /metrics to
 * metrics.c and everything else to pages.c, and adds the headers every
 * response carries (no-store, nosniff, a strict Content-Security-Policy on
 * HTML). server_stop stops accepting, lets requests in flight finish (up to
 * a few seconds) and frees everything.
 *
 * Rate limit: a fixed-size table of client addresses, each with the claim
 * counts of the current and previous minute; the sliding-minute estimate is
 * prev * (unelapsed part of the minute) + cur. Only claims that hand out a
 * demo count (a visitor waiting for one is not punished for retrying). The
 * address is the connection's peer, or with trust_forwarded_for the
 * right-most entry of X-Forwarded-For over all its header lines (that is,
 * the last entry of the last line) — the one the proxy in front of demux
 * wrote. Entries to its left come from the client and are never believed.
 */
#ifndef DEMUX_SERVER_H
#define DEMUX_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "api.h"

struct server_options {
	const char *listen; /* "127.0.0.1:8080", "[::1]:8080", ":8080"; port 0 = any free */
	size_t max_body_bytes;
	int claims_per_ip_per_minute; /* 0 = no limit */
	bool trust_forwarded_for;
	const double *hist_bounds; /* provision histogram bounds for /metrics */
	int nbounds;
	int max_connections;	    /* 0 = SERVER_CONNECTIONS; lowered to fit the fd limit */
	int max_connections_per_ip; /* 0 = no limit */
	int request_timeout_s;	    /* 0 = SERVER_TIMEOUT_S */
};

struct server;

/* Starts listening; api and opt's strings must outlive the server. Returns
 * NULL with a reason in err. */
struct server *server_start(const struct api *a, const struct server_options *opt, char *err,
			    size_t errlen);
/* The port actually bound (useful with port 0). */
int server_port(const struct server *s);
/* Stops accepting, waits up to 5 s for requests in flight, frees s. */
void server_stop(struct server *s);

/* --- the claim rate limiter (exposed for tests) --------------------------- */

struct server_ratelimit;

struct server_ratelimit *server_ratelimit_new(int per_minute);
void server_ratelimit_free(struct server_ratelimit *rl);
/* Counts one claim for ip at now_ms; false (and nothing counted) when ip is
 * over its limit. */
bool server_ratelimit_take(struct server_ratelimit *rl, const char *ip, long long now_ms);
/* Gives back a claim counted by take that handed out nothing. */
void server_ratelimit_refund(struct server_ratelimit *rl, const char *ip, long long now_ms);

/* The address a request is accounted to: with trust, the right-most entry
 * of xff (the last X-Forwarded-For line) when it is an IP address, else
 * peer. An invalid right-most entry falls back to peer, never to an entry
 * further left. */
void server_client_ip(const char *peer, const char *xff, bool trust, char *out, size_t outlen);

#endif
