/*
 * pool_view — what the HTTP layer (api.c, pages.c, server.c, metrics.c) sees
 * of a pool: the outcome of a claim and the pool's counters. Kept apart from
 * pool.h so that the HTTP layer does not depend on what a pool works with
 * (runtime, proxy, app profiles): pool.c fills these, serve.c hands them to
 * the HTTP layer through struct api_backend.
 */
#ifndef DEMUX_POOL_VIEW_H
#define DEMUX_POOL_VIEW_H

enum claim_result {
	CLAIM_OK,
	CLAIM_PROVISIONING, /* nothing ready yet; retry after retry_ms */
	CLAIM_AT_CAPACITY,  /* max_instances claimed */
	CLAIM_ERROR,	    /* a dependency failed; err says which */
	CLAIM_CLIENT_LIMIT  /* the client address already has its most claimed demos */
};

/* extend's answer, beyond 0 and -1: the demo was extended max_extends times. */
#define EXTEND_LIMIT_REACHED 2

#define POOL_HIST_BUCKETS 12

struct pool_stats {
	int ready, claimed, provisioning, releasing;
	long long claims;
	long long claim_fail_provisioning, claim_fail_capacity, claim_fail_error;
	long long expirations, releases, provision_failures;
	long long lost; /* ready or claimed instances whose container stopped */
	/* provision duration histogram, seconds, per method (0 criu_restore, 1 cold_start) */
	long long hist_count[2];
	double hist_sum[2];
	long long hist_bucket[2][POOL_HIST_BUCKETS]; /* cumulative counts <= pool_hist_bounds[i] */
	char last_error[256];
	/* provisioning failures since the last success, and the dependency the
	 * last one points at: "podman", "database", "app", "proxy", "store" */
	int consecutive_failures;
	char last_dependency[16];
	/* the template version served; ready copies of other versions (they
	 * go as new ones become ready); why the newest version is not served */
	int version;
	int stale;
	char version_error[256];
};

/* One node sharing the pool (docs/NODES.md); with a store of one daemon,
 * only this one. Counts are its copies over every template. */
#define NODE_VIEW_MAX 64
struct node_view {
	char name[64];
	char address[256];
	int alive; /* its heartbeat has not lapsed */
	int self;  /* the node answering */
	int ready, claimed, provisioning, releasing;
};

#endif
