/*
 * pool_internal — what pool.c shares with pool_reconcile.c and
 * pool_version.c: the pool itself, an instance's domain, route and
 * teardown, its port pair, and a lookup in the runtime's container list.
 * Other modules use pool.h.
 */
#ifndef DEMUX_POOL_INTERNAL_H
#define DEMUX_POOL_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "id.h"
#include "pool.h"

#define POOL_MAX_WORKERS 64

/* A set of instance ids; used with the pool mutex held. */
struct idset {
	char (*v)[ID_SIZE];
	int n, cap;
};

/* A ready copy's first process, as noted when it became ready. */
struct alive_hint {
	char id[ID_SIZE];
	int pid;
	unsigned long long start; /* /proc/<pid>/stat starttime */
};
#define ALIVE_HINTS 1024

struct pool {
	struct pool_env env;
	struct alive_hint hints[ALIVE_HINTS]; /* a ring, under mu */
	int next_hint;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	bool running;
	int nworkers;
	pthread_t workers[POOL_MAX_WORKERS];
	pthread_t reaper;
	bool reaper_started;
	unsigned char *slots; /* port pair k = (port_min + 2k, port_min + 2k + 1) in use */
	int nslots;
	int consecutive_failures;
	/* A claim found nothing ready and nothing being prepared: provision one
	 * even when min_ready is already met (min_ready = 0 means on demand). */
	bool demand;
	struct pool_stats stats;
	/* ids being released right now: the API and the reaper may both try;
	 * grows with the releases under way, so none is ever done twice */
	struct idset releasing;
	/* ids a worker of this process is provisioning: a PROVISIONING record of
	 * this node outside it is a leftover (its cleanup failed) */
	struct idset provisioning;
	/* traffic seen per claimed instance (idle_timeout); reaper thread only */
	struct traffic *traffic;
	int ntraffic, traffic_cap;
	long long last_sweep; /* unix seconds of the last lost-instance sweep */
	/* The versions of the template this pool restores (pool_version.c).
	 * Every version loaded stays in metas until pool_free, so a worker may
	 * use the one it took for a whole provisioning. Under mu. */
	struct template_meta **metas;
	const struct template_meta *tmpl;     /* the version served */
	const struct template_meta *fallback; /* the one before it; NULL = none */
	long long last_refresh;		      /* unix seconds of the last look at the versions */
	long long last_collect;		      /* ... and of the last removal of unneeded ones */
	int nmetas;
	int tmpl_failures;	 /* tmpl's failures in a row at steps that may be its fault */
	bool tmpl_proven;	 /* a copy of tmpl became ready */
	bool probing;		 /* a copy of fallback is being made to judge tmpl */
	char tmpl_error[256];	 /* the last of those failures */
	char version_error[256]; /* why the newest version is not served */
	/* Removed from the configuration (pool_set_draining): no provisioning,
	 * no claims, ready copies released; claimed ones live on. Written
	 * under mu, atomically; read atomically. */
	bool draining;
};

/* The TCP segments one claimed instance had received at the reaper's last
 * look. */
struct traffic {
	char id[ID_SIZE];
	int pid; /* cached container pid, 0 = look it up */
	long long segs;
	bool live; /* still claimed in this reaper pass */
};

const struct pool_env *pool_env_of(const struct pool *p);

/* Whether this node runs the copy of in: always with a store of one daemon;
 * with a shared store (store_ops.heartbeat set) when in->node is this node. */
bool pool_hosts(const struct pool_env *env, const struct instance *in);

/* "<id>.<base_domain>" into out. */
void pool_instance_domain(const struct pool_env *env, const struct instance *in, char *out,
			  size_t outlen);

/* Publishes domain -> <node_address>:<app port>; 0 without a proxy. */
int pool_route_add(const struct pool_env *env, const struct instance *in, const char *domain,
		   char *err, size_t errlen);

/* Removes whatever of an instance exists: route, tables (shared_db),
 * container, record. Each step tolerates "already gone"; on -1 the record is
 * kept for a later retry. */
int pool_teardown_env(const struct pool_env *env, const struct instance *in, bool shared_db,
		      char *err, size_t errlen);

/* pool_teardown_env with the pool's database mode, then frees the port pair. */
int pool_teardown(struct pool *p, const struct instance *in, char *err, size_t errlen);

/* Marks the port pair whose app port is app_port as used (1) or free (0). */
void pool_slot_mark(struct pool *p, int app_port, int used);

/* pool_version.c: the versions of the pool's template. */
void pool_version_init(struct pool *p);
void pool_version_free(struct pool *p);
/* The version the next copy restores: the one served, or once its fallback
 * to tell a broken version from a broken machine. Under the mutex. */
const struct template_meta *pool_version_next(struct pool *p);
/* What became of a copy of t: ready (ok), or failed at a step that may be
 * the version's fault, with the reason. */
void pool_version_result(struct pool *p, const struct template_meta *t, bool ok,
			 const char *reason);
/* Whether in is a ready copy of this node of a version other than serving. */
bool pool_version_stale(const struct pool_env *env, const struct instance *in, int serving);
/* Reaper: notices a new version, retires one stale ready copy when the pool
 * can spare it, removes versions nothing needs. v[0..n): the pool's records. */
void pool_version_tick(struct pool *p, const struct instance *v, int n, long long now);

/* The entry of v[0..n) called name, or NULL. */
const struct container_info *pool_find_container(const struct container_info *v, int n,
						 const char *name);

#endif
