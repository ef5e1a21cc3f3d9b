/*
 * pool — one warm pool of restored instances per template.
 *
 * Provisioning workers restore the template's checkpoint under a new id and
 * ports (or cold-start it when restore fails and the config allows), run the
 * app profile's after_restore, check the instance's first page through its
 * own port, publish its route, and only then mark it READY. Visitors claim
 * READY instances (atomically, through the store); claimed instances live
 * until expires_at, bounded by max_ttl, and are released by the reaper or on
 * request: route removed, profile on_release, container removed, record
 * deleted — in that order, each step idempotent so a restart can finish it.
 */
#ifndef DEMUX_POOL_H
#define DEMUX_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "app/profile.h"
#include "config.h"
#include "container/runtime.h"
#include "pool_view.h"
#include "proxy/proxy.h"
#include "store/store.h"

struct template_meta;
struct template_pick;

/* Where a pool finds the versions of its template (template_version.h);
 * serve.c implements it over the state directory and Podman. */
struct template_source_ops {
	/* Which version to serve and which to fall back to. */
	int (*pick)(void *ctx, const char *name, struct template_pick *out, char *err,
		    size_t errlen);
	/* Version `version`, checked as at start-up (network, profile, restore). */
	int (*load)(void *ctx, const char *name, int version, struct template_meta *out, char *err,
		    size_t errlen);
	/* Marks version failed, with the reason. */
	int (*mark_failed)(void *ctx, const char *name, int version, const char *reason, char *err,
			   size_t errlen);
	/* The versions on disk, ascending. */
	int (*versions)(void *ctx, const char *name, int *v, int max, int *n, char *err,
			size_t errlen);
	/* Removes a version nothing needs (files, restore image): 0, 1 busy, -1. */
	int (*remove)(void *ctx, const char *name, int version, char *err, size_t errlen);
};

struct template_source {
	const struct template_source_ops *ops; /* NULL: the template never changes */
	void *ctx;
};

/* What a pool works with; owned by the caller, outlives the pool. */
struct pool_env {
	const struct config *cfg;
	const struct pool_config *pcfg;
	const struct template_meta *tmpl; /* the version to serve first (the pool copies it) */
	struct template_source versions;
	const struct profile *profile;
	struct runtime runtime;
	struct proxy *proxy;
	struct store *store;
	/* Health check of a prepared instance: 0 healthy, -1 with reason. NULL =
	 * HTTP GET of the profile's health path through 127.0.0.1:app_port. */
	int (*health)(const struct pool_env *env, const struct instance *inst, char *err,
		      size_t errlen);
	/* TCP segments a claimed instance's container has received so far (idle
	 * detection, idle_timeout). NULL = from /proc/<pid>/net/snmp of the
	 * container's process (runtime.ops->pid; activity.h). */
	int (*tcp_segments)(const struct pool_env *env, const struct instance *inst,
			    long long *segs, char *err, size_t errlen);
	/* How long a prepared instance may take to answer its health check;
	 * 0 = 15 s after a restore, 180 s after a cold start. */
	int health_budget_ms;
	/* Clock in unix seconds; NULL = time(). Tests move it. */
	long long (*now)(void);
	/* runtime.ops->pid answers this machine's pids: a claim then checks that
	 * a ready copy still runs by its first process in /proc (pid and start
	 * time noted when it became ready) instead of asking the runtime. */
	bool host_pids;
};

extern const double pool_hist_bounds[POOL_HIST_BUCKETS];

struct pool;

struct pool *pool_create(const struct pool_env *env);
/* Starts provisioning workers and the reaper. */
int pool_start(struct pool *p);
/* Stops provisioning and the reaper; claimed instances keep running. */
void pool_stop(struct pool *p);
void pool_free(struct pool *p);
/* A configuration reload: the pool's settings become pc (same name, port
 * range, database mode and egress: reload.h), taken by every thread from
 * its next look. pc must stay valid until pool_free. */
void pool_set_config(struct pool *p, const struct pool_config *pc);
/* Removed from the configuration (true) or back in it (false). A draining
 * pool provisions nothing, refuses claims (as for an unknown template) and
 * its reaper releases its ready copies; claimed copies live until they
 * expire or are released, and extend works for them. */
void pool_set_draining(struct pool *p, bool draining);
bool pool_draining(struct pool *p);
/* The pool's settings now (pool_set_config may replace them). */
const struct pool_config *pool_settings(const struct pool *p);
const char *pool_template(const struct pool *p);

/* Hands out a READY instance to a visitor; fills out (with a fresh owner
 * token) on CLAIM_OK, *retry_ms on CLAIM_PROVISIONING. max_owned > 0:
 * CLAIM_CLIENT_LIMIT when owner_ip already holds that many claimed demos
 * (of any pool sharing the store). */
enum claim_result pool_claim(struct pool *p, const char *owner_ip, int max_owned,
			     struct instance *out, int *retry_ms, char *err, size_t errlen);
/* Moves expires_at by minutes, never past claimed_at + max_ttl, and counts
 * the extend: 0, EXTEND_LIMIT_REACHED once max_extends were made (nothing
 * changed, the reason in err), or -1. */
int pool_extend(struct pool *p, const char *id, int minutes, struct instance *out, char *err,
		size_t errlen);
/* Takes an instance down; a missing instance is not an error. */
int pool_release(struct pool *p, const char *id, char *err, size_t errlen);
/* One pass of the reaper (expired and idle instances); the thread calls it. */
void pool_reap(struct pool *p);
/* One pass of the refill logic run synchronously (tests, start-up). */
int pool_provision_one(struct pool *p, char *err, size_t errlen);
void pool_get_stats(struct pool *p, struct pool_stats *out);

/* Start-up reconciliation across all pools (pool_reconcile.c): compares
 * store, runtime and proxy; adopts consistent instances, finishes half-done
 * transitions and removes orphans. Logs each action. */
int pool_reconcile(struct pool **pools, int npools, char *err, size_t errlen);

#endif
