/*
 * metrics — the Prometheus text exposition (version 0.0.4) of /metrics.
 *
 * One set of series per template, built from struct pool_stats, plus the
 * HTTP layer's own counters. Names and labels are documented in docs/API.md.
 * The histogram bucket bounds come from the caller (pool_hist_bounds in the
 * daemon) so that this module does not depend on the pool's code.
 */
#ifndef DEMUX_METRICS_H
#define DEMUX_METRICS_H

#include "buf.h"
#include "pool_view.h"

struct metrics_pool {
	const char *template_name;
	const struct pool_stats *stats;
};

/* Counters kept by the HTTP layer. */
struct metrics_server {
	long long requests;
	long long rate_limited; /* claims refused with 429 */
	long long body_too_large;
};

/* Appends the exposition to out: 0, or -1 when out is full. nbounds <=
 * POOL_HIST_BUCKETS, bounds ascending, in seconds. */
int metrics_render(struct buf *out, const struct metrics_pool *pools, int npools,
		   const double *bounds, int nbounds, const struct metrics_server *srv);

/* Appends the per-node families (label node): whether each node is alive
 * and its copies by state. 0, or -1 when out is full. */
int metrics_render_nodes(struct buf *out, const struct node_view *nodes, int n);

#endif
