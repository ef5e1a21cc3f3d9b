/*
 * serve — "demux serve": the daemon.
 *
 * Start-up order: configuration and admin token (refusing to start without a
 * usable token), state store, Podman, the proxy and its front door
 * (<base_domain> → demux's listener), each pool's template, reconciliation
 * of what a previous run left, pools started, HTTP server. Shut-down on
 * SIGTERM/SIGINT goes the other way: the HTTP server stops accepting and
 * lets requests in flight finish, then the pools stop (claimed and ready
 * instances keep running; the next start adopts them), then the handles are
 * closed, and the process exits 0.
 *
 * SIGHUP re-reads the configuration file (reload.h says which keys apply
 * while demux runs): pools are added, removed (they drain) or changed in
 * place, and a file that is invalid or cannot be applied changes nothing.
 *
 * The HTTP layer reaches the pools through struct api_backend, implemented
 * here over the pools and the store.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "app/profile.h"
#include "commands.h"
#include "container/podman.h"
#include "errf.h"
#include "criu_kdat.h"
#include "hostport.h"
#include "isolation.h"
#include "log.h"
#include "mkpath.h"
#include "nodes.h"
#include "pool.h"
#include "proxy/proxy.h"
#include "reload.h"
#include "server.h"
#include "store/store.h"
#include "template.h"
#include "template_restore.h"
#include "template_version.h"
#include "validate.h"
#include "xmalloc.h"

#define ISOLATION_CHECK_S 5

/* Pools made since start-up, those removed by a reload included (their
 * claimed copies are still served). */
#define DAEMON_MAX_POOLS (4 * CONFIG_MAX_POOLS)

/* One pool the daemon runs or ran: its template, what it works with, the
 * pool. Made by the main thread, published to the HTTP threads through
 * daemon.npools, freed at exit. */
struct daemon_pool {
	struct template_meta tmpl;
	struct pool_env env;
	struct pool *pool;
	bool started; /* its threads run; main thread only */
};

struct daemon {
	/* The running configuration. A reload (SIGHUP) replaces the pointer;
	 * other threads load it with daemon_cfg. Every configuration loaded is
	 * kept in cfgs until exit, since a thread may still read an old one. */
	struct config *cfg;
	struct config **cfgs;
	int ncfgs;
	const char *path; /* the file serve was started with; NULL = none */
	struct store store;
	bool store_open;
	struct proxy proxy;
	bool proxy_open;
	struct podman *podman;
	struct isolation iso;
	struct daemon_pool *pools[DAEMON_MAX_POOLS];
	int npools;	     /* published: written with release, read with acquire */
	struct nodes *nodes; /* NULL with a store of one daemon */
	struct api *api;     /* the HTTP layer's settings, once it serves */
};

static const struct config *
daemon_cfg(const struct daemon *d)
{
	return __atomic_load_n(&d->cfg, __ATOMIC_ACQUIRE);
}

/* Every pool made since start-up, removed ones included; NULL when none is
 * called name. */
static struct daemon_pool *
daemon_pool_named(struct daemon *d, const char *name)
{
	int n = __atomic_load_n(&d->npools, __ATOMIC_ACQUIRE);

	for (int i = 0; i < n; i++)
		if (strcmp(pool_template(d->pools[i]->pool), name) == 0)
			return d->pools[i];
	return NULL;
}

/* --- the api backend over pools and store ---------------------------------- */

static struct pool *
pool_named(struct daemon *d, const char *name)
{
	struct daemon_pool *dp;

	if (config_pool(daemon_cfg(d), name) == NULL || (dp = daemon_pool_named(d, name)) == NULL)
		return NULL;
	return dp->pool;
}

/* The configured pools, in the file's order (the first is the default). */
static int
be_pools(void *ctx, struct api_pool_info *out, int max)
{
	struct daemon *d = ctx;
	const struct config *cfg = daemon_cfg(d);
	int n = 0;

	for (int i = 0; i < cfg->npools && n < max; i++) {
		const struct pool_config *pc = &cfg->pools[i];
		const struct daemon_pool *dp = daemon_pool_named(d, pc->name);
		const struct template_meta *m;
		struct api_template *t = &out[n].tmpl;

		if (dp == NULL)
			continue;
		m = &dp->tmpl;
		memset(&out[n], 0, sizeof(out[n]));
		snprintf(t->name, sizeof(t->name), "%s", pc->name);
		snprintf(t->admin_path, sizeof(t->admin_path), "%s",
			 m->admin_path[0] != '\0'	       ? m->admin_path
			 : dp->env.profile->admin_path != NULL ? dp->env.profile->admin_path
							       : "");
		snprintf(t->admin_user, sizeof(t->admin_user), "%s", m->admin_user);
		snprintf(t->admin_password, sizeof(t->admin_password), "%s", m->admin_password);
		t->min_ready = pc->min_ready;
		t->max_instances = pc->max_instances;
		t->ttl_s = pc->ttl_s;
		t->max_ttl_s = pc->max_ttl_s;
		t->max_extends = pc->max_extends;
		config_pages_look(cfg, pc, &t->look);
		pool_get_stats(dp->pool, &out[n].stats);
		n++;
	}
	return n;
}

static enum claim_result
be_claim(void *ctx, const char *template_name, const char *owner_ip, int max_owned,
	 struct instance *out, int *retry_ms, char *err, size_t errlen)
{
	struct pool *p = pool_named(ctx, template_name);

	if (p == NULL) {
		snprintf(err, errlen, "no pool for template %s", template_name);
		return CLAIM_ERROR;
	}
	return pool_claim(p, owner_ip, max_owned, out, retry_ms, err, errlen);
}

static int
be_get(void *ctx, const char *id, struct instance *out, char *err, size_t errlen)
{
	struct daemon *d = ctx;

	return d->store.ops->get(d->store.ctx, id, out, err, errlen);
}

/* The pool an existing instance belongs to, one a reload removed included
 * (its claimed copies live on): 0, STORE_NOT_FOUND, or -1. */
static int
pool_of(struct daemon *d, const char *id, struct pool **p, char *err, size_t errlen)
{
	struct daemon_pool *dp;
	struct instance in;
	int r = d->store.ops->get(d->store.ctx, id, &in, err, errlen);

	if (r != 0)
		return r;
	dp = daemon_pool_named(d, in.template_name);
	*p = dp != NULL ? dp->pool : NULL;
	if (*p == NULL) {
		snprintf(err, errlen, "demo %s belongs to template %s, which has no pool here", id,
			 in.template_name);
		return -1;
	}
	return 0;
}

static int
be_extend(void *ctx, const char *id, int minutes, struct instance *out, char *err, size_t errlen)
{
	struct pool *p;
	int r = pool_of(ctx, id, &p, err, errlen);

	if (r == STORE_NOT_FOUND)
		snprintf(err, errlen, "demo %s is not active", id);
	if (r != 0)
		return -1;
	return pool_extend(p, id, minutes, out, err, errlen);
}

static int
be_release(void *ctx, const char *id, char *err, size_t errlen)
{
	struct pool *p;
	int r = pool_of(ctx, id, &p, err, errlen);

	if (r == STORE_NOT_FOUND)
		return 0;
	if (r != 0)
		return -1;
	return pool_release(p, id, err, errlen);
}

static int
be_list(void *ctx, struct instance **out, int *n, char *err, size_t errlen)
{
	struct daemon *d = ctx;

	return d->store.ops->list(d->store.ctx, NULL, -1, out, n, err, errlen);
}

static int
be_health(void *ctx, struct api_health *out, int max)
{
	struct daemon *d = ctx;
	struct route *routes = NULL;
	int n = 0, nr = 0;

	if (max < 3)
		return 0;
	snprintf(out[n].name, sizeof(out[n].name), "store");
	out[n].ok = d->store.ops->ping(d->store.ctx, out[n].detail, sizeof(out[n].detail)) == 0;
	n++;
	snprintf(out[n].name, sizeof(out[n].name), "podman");
	out[n].ok = podman_ping(d->podman, out[n].detail, sizeof(out[n].detail)) == 0;
	n++;
	snprintf(out[n].name, sizeof(out[n].name), "proxy");
	out[n].ok = d->proxy.ops->list(d->proxy.ctx, &routes, &nr, out[n].detail,
				       sizeof(out[n].detail)) == 0;
	free(routes);
	n++;
	if (n < max) {
		/* A pool that has nothing ready and whose provisioning keeps
		 * failing: which, and why. */
		const struct config *cfg = daemon_cfg(d);

		snprintf(out[n].name, sizeof(out[n].name), "provisioning");
		out[n].ok = true;
		for (int i = 0; i < cfg->npools && out[n].ok; i++) {
			struct pool *p = pool_named(d, cfg->pools[i].name);
			struct pool_stats ps;

			if (p == NULL)
				continue;
			pool_get_stats(p, &ps);
			if (ps.consecutive_failures == 0 || ps.ready > 0)
				continue;
			out[n].ok = false;
			snprintf(out[n].detail, sizeof(out[n].detail), "pool %.64s: %s: %.150s",
				 pool_template(p), ps.last_dependency, ps.last_error);
		}
		n++;
	}
	return n;
}

/* The entry of node name in out[0..*n), added when missing and there is room. */
static struct node_view *
node_entry(struct node_view *out, int *n, int max, const char *name)
{
	for (int i = 0; i < *n; i++)
		if (strcmp(out[i].name, name) == 0)
			return &out[i];
	if (*n == max)
		return NULL;
	memset(&out[*n], 0, sizeof(out[*n]));
	snprintf(out[*n].name, sizeof(out[*n].name), "%s", name);
	return &out[(*n)++];
}

/* This node first, then the others the store knows, each with its copies. */
static int
be_nodes(void *ctx, struct node_view *out, int max)
{
	struct daemon *d = ctx;
	struct store_node *sn = NULL;
	struct instance *v = NULL;
	struct node_view *e;
	char err[512];
	int nsn = 0, nv = 0, n = 0;

	if (max < 1 || d->store.ops->list(d->store.ctx, NULL, -1, &v, &nv, err, sizeof(err)) == -1)
		return -1;
	if (d->store.ops->nodes != NULL &&
	    d->store.ops->nodes(d->store.ctx, &sn, &nsn, err, sizeof(err)) == -1) {
		free(v);
		return -1;
	}
	e = node_entry(out, &n, max, daemon_cfg(d)->node_name);
	snprintf(e->address, sizeof(e->address), "%s", daemon_cfg(d)->node_address);
	e->alive = 1; /* it answers, and the store does */
	e->self = 1;
	for (int i = 0; i < nsn; i++) {
		e = node_entry(out, &n, max, sn[i].name);
		if (e == NULL || e->self)
			continue;
		snprintf(e->address, sizeof(e->address), "%s", sn[i].address);
		e->alive = sn[i].alive;
	}
	for (int i = 0; i < nv; i++) {
		e = node_entry(out, &n, max, v[i].node);
		if (e == NULL)
			continue;
		e->ready += v[i].state == INSTANCE_READY;
		e->claimed += v[i].state == INSTANCE_CLAIMED;
		e->provisioning += v[i].state == INSTANCE_PROVISIONING;
		e->releasing += v[i].state == INSTANCE_RELEASING;
	}
	free(sn);
	free(v);
	return n;
}

static const struct api_backend_ops daemon_backend_ops = {
    .pools = be_pools,
    .claim = be_claim,
    .get = be_get,
    .extend = be_extend,
    .release = be_release,
    .list = be_list,
    .health = be_health,
    .nodes = be_nodes,
};

/* --- start-up and shut-down -------------------------------------------------- */

/* A copy keeps the network of the template it was restored from: that
 * network decides what the copy can reach, so it must be the one the pool's
 * egress setting names. */
static int
check_template_network(const struct config *cfg, const struct pool_config *pc,
		       const struct template_meta *t, char *err, size_t errlen)
{
	bool egress = pc->egress == EGRESS_OPEN;
	const char *want = isolation_network_name(cfg, egress);

	if (t->network[0] == '\0') {
		snprintf(err, errlen,
			 "[pool %s]: template %s was made before demo copies were isolated (its "
			 "copies would share Podman's default network); make it again: demux "
			 "template rm %s && demux template create --name %s --image %s",
			 pc->name, t->name, t->name, t->name, t->image);
		return -1;
	}
	if (strcmp(t->network, want) != 0) {
		snprintf(err, errlen,
			 "[pool %s]: egress = %s, but template %s runs on network %s, not %s; make "
			 "it again with demux template create --egress %s, or set egress = %s",
			 pc->name, egress ? "open" : "none", t->name, t->network, want,
			 egress ? "open" : "none", t->egress ? "open" : "none");
		return -1;
	}
	return 0;
}

static bool
ksm_running(void)
{
	FILE *f = fopen("/sys/kernel/mm/ksm/run", "re");
	int c = f != NULL ? fgetc(f) : EOF;

	if (f != NULL)
		fclose(f);
	return c == '1';
}

/* Copies restore from the template's prepared restore when it is usable,
 * else from its full archive (template_restore.h). */
static void
choose_restore(struct daemon *d, const struct pool_config *pc, struct template_meta *t)
{
	char e[768];

	if (pc->restore_from == RESTORE_ARCHIVE) {
		t->restore_archive_path[0] = '\0';
		log_info("pool %s restores from the archive %s ([pool] restore = archive)",
			 pc->name, t->archive_path);
		return;
	}
	if (template_restore_check(d->podman, t, e, sizeof(e)) == -1) {
		t->restore_archive_path[0] = '\0';
		log_warnx("pool %s restores from the archive %s (slower): %s; recreate the "
			  "template to prepare it",
			  pc->name, t->archive_path, e);
		return;
	}
	log_info("pool %s restores from the prepared %s (image %s)", pc->name,
		 t->restore_archive_path, t->restore_image);
	if (t->ksm && !ksm_running())
		log_warnx("pool %s: template %s is marked for KSM, but the kernel's KSM is off "
			  "(/sys/kernel/mm/ksm/run is not 1): its copies share no memory",
			  pc->name, t->name);
}

/* --- the versions of each pool's template (template_version.h) ------------- */

static int
source_pick(void *ctx, const char *name, struct template_pick *out, char *err, size_t errlen)
{
	const struct daemon *d = ctx;

	return template_pick(daemon_cfg(d)->state_dir, name, out, err, errlen);
}

/* A version as a pool may serve it: its network is the one the pool's
 * egress names, its restore path chosen (the pool checks its profile). */
static int
source_load(void *ctx, const char *name, int version, struct template_meta *out, char *err,
	    size_t errlen)
{
	struct daemon *d = ctx;
	const struct config *cfg = daemon_cfg(d);
	const struct pool_config *pc = config_pool(cfg, name);

	if (pc == NULL)
		return errf(err, errlen, "no [pool %s] in the configuration", name);
	if (template_load_version(cfg->state_dir, name, version, out, err, errlen) == -1 ||
	    check_template_network(cfg, pc, out, err, errlen) == -1)
		return -1;
	choose_restore(d, pc, out);
	return 0;
}

static int
source_mark_failed(void *ctx, const char *name, int version, const char *reason, char *err,
		   size_t errlen)
{
	const struct daemon *d = ctx;

	return template_mark_failed(daemon_cfg(d)->state_dir, name, version, reason, err, errlen);
}

static int
source_versions(void *ctx, const char *name, int *v, int max, int *n, char *err, size_t errlen)
{
	const struct daemon *d = ctx;

	return template_versions(daemon_cfg(d)->state_dir, name, v, max, n, err, errlen);
}

/* A version's files, then the image of its prepared restore. */
static int
source_remove(void *ctx, const char *name, int version, char *err, size_t errlen)
{
	struct daemon *d = ctx;
	struct template_meta *m = xcalloc(1, sizeof(*m));
	char e[512];
	bool loaded;
	int r;

	loaded =
	    template_load_version(daemon_cfg(d)->state_dir, name, version, m, e, sizeof(e)) == 0;
	r = template_version_remove(daemon_cfg(d)->state_dir, name, version, err, errlen);
	if (r == 0 && loaded && template_restore_remove_image(d->podman, m, e, sizeof(e)) == -1)
		log_warnx("template version removed, its image %s stays: %s", m->restore_image, e);
	explicit_bzero(m, sizeof(*m));
	free(m);
	return r;
}

static const struct template_source_ops daemon_template_source = {
    .pick = source_pick,
    .load = source_load,
    .mark_failed = source_mark_failed,
    .versions = source_versions,
    .remove = source_remove,
};

/* The version a pool starts with: the one to serve (not a failed current
 * one); the current one when no version can be picked. */
static int
load_serving(const struct config *cfg, const char *name, struct template_meta *out, char *err,
	     size_t errlen)
{
	struct template_pick pk;
	char e[512];

	if (template_pick(cfg->state_dir, name, &pk, e, sizeof(e)) == 0) {
		if (pk.serving != pk.current)
			log_warnx("template %s: version %d failed (%s); serving version %d", name,
				  pk.current, pk.failed_reason, pk.serving);
		return template_load_version(cfg->state_dir, name, pk.serving, out, err, errlen);
	}
	if (strstr(e, "no template '") == NULL)
		log_warnx("template %s: %s; trying the current version", name, e);
	return template_load(cfg->state_dir, name, out, err, errlen);
}

/*
 * Loads the template of pool pc and checks it (it exists, its network is
 * the one pc's egress names, its profile is known), then chooses its
 * restore source: what start-up does for every pool and a reload for each
 * pool it adds. Fills dp's template and environment (cfg: the daemon's
 * sections other than the pools, which a reload never changes for a
 * pool); the caller makes the pool. 0, or -1 with "[pool NAME]: reason".
 */
static int
load_pool(struct daemon *d, const struct config *cfg, const struct pool_config *pc,
	  struct daemon_pool *dp, char *err, size_t errlen)
{
	char e[768];

	if (load_serving(cfg, pc->name, &dp->tmpl, e, sizeof(e)) == -1) {
		snprintf(err, errlen,
			 "[pool %s]: %s (create it first: demux template create --name %s "
			 "--image IMAGE)",
			 pc->name, e, pc->name);
		return -1;
	}
	dp->env.cfg = cfg;
	dp->env.pcfg = pc;
	dp->env.tmpl = &dp->tmpl;
	dp->env.versions.ops = &daemon_template_source;
	dp->env.versions.ctx = d;
	if (check_template_network(cfg, pc, &dp->tmpl, err, errlen) == -1)
		return -1;
	choose_restore(d, pc, &dp->tmpl);
	dp->env.profile = profile_find(dp->tmpl.profile);
	if (dp->env.profile == NULL) {
		snprintf(err, errlen, "[pool %s]: template has unknown profile '%s'", pc->name,
			 dp->tmpl.profile);
		return -1;
	}
	dp->env.runtime.ops = &podman_runtime_ops;
	dp->env.runtime.ctx = d->podman;
	dp->env.host_pids = true; /* Podman runs on this machine */
	dp->env.proxy = &d->proxy;
	dp->env.store = &d->store;
	return 0;
}

/* Frees a pool that load_pool filled (template metadata holds database and
 * admin passwords). */
static void
free_pool(struct daemon_pool *dp)
{
	if (dp == NULL)
		return;
	pool_free(dp->pool);
	explicit_bzero(&dp->tmpl, sizeof(dp->tmpl));
	free(dp);
}

/* Makes the pool of a loaded dp and publishes it to the other threads. */
static void
add_pool(struct daemon *d, struct daemon_pool *dp)
{
	const struct pool_config *pc = dp->env.pcfg;

	dp->pool = pool_create(&dp->env);
	d->pools[d->npools] = dp;
	__atomic_store_n(&d->npools, d->npools + 1, __ATOMIC_RELEASE);
	log_info("pool configured template=%s version=%d profile=%s image=%s min_ready=%d "
		 "max_instances=%d ttl_s=%d",
		 pc->name, dp->tmpl.version, dp->tmpl.profile, dp->tmpl.image, pc->min_ready,
		 pc->max_instances, pc->ttl_s);
}

static int
open_pools(struct daemon *d, char *err, size_t errlen)
{
	for (int i = 0; i < d->cfg->npools; i++) {
		struct daemon_pool *dp = xcalloc(1, sizeof(*dp));

		if (load_pool(d, d->cfg, &d->cfg->pools[i], dp, err, errlen) == -1) {
			free_pool(dp);
			return -1;
		}
		add_pool(d, dp);
	}
	return 0;
}

/* The signal that ends the daemon, or 0 after ISOLATION_CHECK_S without one. */
static int
wait_signal(const sigset_t *sigs)
{
	struct timespec ts = {.tv_sec = ISOLATION_CHECK_S, .tv_nsec = 0};
	int sig = sigtimedwait(sigs, NULL, &ts);

	return sig > 0 ? sig : 0;
}

/* Someone may flush the machine's nftables rules (an operator, a firewall
 * service starting); copies would then reach each other until the next
 * start. The tables are put back within ISOLATION_CHECK_S. */
static void
keep_isolation(struct daemon *d)
{
	bool reapplied = false;
	char err[512];

	if (isolation_check(&d->iso, &reapplied, err, sizeof(err)) == -1)
		log_error("firewall check failed: %s", err);
	else if (reapplied)
		log_warnx("firewall tables were missing: applied again");
}

static void
close_daemon(struct daemon *d)
{
	for (int i = 0; i < d->npools; i++)
		free_pool(d->pools[i]);
	if (d->proxy_open)
		proxy_close(&d->proxy);
	if (d->podman != NULL)
		podman_close(d->podman);
	if (d->store_open)
		d->store.ops->close(d->store.ctx);
	for (int i = 0; i < d->ncfgs; i++) {
		explicit_bzero(d->cfgs[i], sizeof(*d->cfgs[i])); /* passwords, tokens */
		free(d->cfgs[i]);
	}
	free(d->cfgs);
}

/* --- configuration reload (SIGHUP) ------------------------------------------- */

static void
keep_config(struct daemon *d, struct config *cfg)
{
	d->cfgs = xrealloc(d->cfgs, (size_t)(d->ncfgs + 1) * sizeof(struct config *));
	d->cfgs[d->ncfgs++] = cfg;
}

/* What a reload adds: a pool made from its template, or one a former reload
 * removed that still drains its claimed copies, taken back with its
 * template as loaded then. */
struct reload_add {
	struct daemon_pool *fresh; /* loaded, not yet published */
	struct daemon_pool *back;
	const struct pool_config *pc;
};

/* Loads and checks every pool the plan adds, before anything changes. */
static int
reload_prepare(struct daemon *d, const struct config *run, const struct reload_plan *plan,
	       struct reload_add *add, char *err, size_t errlen)
{
	int fresh = 0;

	for (int i = 0; i < plan->nadded; i++) {
		struct reload_add *a = &add[i];

		a->pc = config_pool(run, plan->added[i]);
		a->back = daemon_pool_named(d, plan->added[i]);
		if (a->back != NULL) {
			if (reload_pool_check(pool_settings(a->back->pool), a->pc, err, errlen) ==
				-1 ||
			    check_template_network(run, a->pc, &a->back->tmpl, err, errlen) == -1)
				return -1;
			continue;
		}
		if (d->npools + ++fresh > DAEMON_MAX_POOLS) {
			snprintf(err, errlen,
				 "[pool %s]: %d pools were made since demux started, the most it "
				 "holds; restart demux",
				 a->pc->name, DAEMON_MAX_POOLS);
			return -1;
		}
		a->fresh = xcalloc(1, sizeof(*a->fresh));
		if (load_pool(d, d->cfg, a->pc, a->fresh, err, errlen) == -1)
			return -1;
	}
	return 0;
}

static void
start_pool(struct daemon_pool *dp)
{
	if (dp->started)
		return;
	if (pool_start(dp->pool) == -1)
		log_error("pool %s could not start all its threads", pool_template(dp->pool));
	dp->started = true;
}

/* Re-reads the file serve was started with and applies it (reload.h): an
 * invalid file, or one that cannot be applied while demux runs, changes
 * nothing. Main thread only. */
static void
reload(struct daemon *d)
{
	struct config *next = xcalloc(1, sizeof(*next)), *run = xcalloc(1, sizeof(*run));
	struct reload_add add[CONFIG_MAX_POOLS];
	struct reload_plan plan;
	enum log_level lvl;
	char err[1024], summary[2 * RELOAD_LIST];

	memset(add, 0, sizeof(add));
	memset(&plan, 0, sizeof(plan));
	log_info("reloading the configuration path=%s", d->path != NULL ? d->path : "(none)");
	if (config_load(next, d->path, err, sizeof(err)) == -1 ||
	    reload_plan(d->cfg, next, run, &plan, err, sizeof(err)) == -1 ||
	    reload_prepare(d, run, &plan, add, err, sizeof(err)) == -1) {
		log_error("configuration reload refused, the running configuration stays: %s", err);
		/* config_load sets the log level of the file it read */
		if (log_level_parse(d->cfg->log_level, &lvl) == 0)
			log_set_level(lvl);
		for (int i = 0; i < plan.nadded && i < CONFIG_MAX_POOLS; i++)
			free_pool(add[i].fresh);
		explicit_bzero(run, sizeof(*run));
		free(run);
		goto out;
	}
	/* Nothing below fails. The pools first, then the configuration the
	 * HTTP threads look pools up by: a claim finds an added pool only
	 * once it exists, and a removed one no more once it is draining. */
	keep_config(d, run);
	for (int i = 0; i < run->npools; i++) {
		struct daemon_pool *dp = daemon_pool_named(d, run->pools[i].name);

		if (dp != NULL)
			pool_set_config(dp->pool, &run->pools[i]);
	}
	for (int i = 0; i < plan.nadded; i++) {
		struct daemon_pool *dp = add[i].fresh != NULL ? add[i].fresh : add[i].back;

		if (add[i].fresh != NULL)
			add_pool(d, dp);
		pool_set_draining(dp->pool, false);
		start_pool(dp);
	}
	__atomic_store_n(&d->cfg, run, __ATOMIC_RELEASE);
	if (d->api != NULL)
		api_set_live(d->api, run->max_active_per_client, run->allowed_origins, &run->pages);
	for (int i = 0; i < plan.nremoved; i++) {
		struct daemon_pool *dp = daemon_pool_named(d, plan.removed[i]);

		if (dp != NULL)
			pool_set_draining(dp->pool, true);
	}
	reload_summary(&plan, summary, sizeof(summary));
	log_info("configuration reloaded %s", summary);
	if (plan.nrestart > 0)
		log_warnx("configuration reload: %s changed and needs a restart; the running "
			  "value is kept",
			  plan.restart);
out:
	explicit_bzero(next, sizeof(*next));
	free(next);
}

/* A pool a reload removed stops its threads once its last copy is gone
 * (the store holds no record of its template); it stays in memory, idle,
 * until exit, and a later reload may take it back. */
static void
stop_drained(struct daemon *d)
{
	for (int i = 0; i < d->npools; i++) {
		struct daemon_pool *dp = d->pools[i];
		struct pool_stats ps;

		if (!dp->started || !pool_draining(dp->pool))
			continue;
		pool_get_stats(dp->pool, &ps);
		if (ps.ready + ps.claimed + ps.provisioning + ps.releasing > 0)
			continue;
		pool_stop(dp->pool);
		dp->started = false;
		log_info("pool removed from the configuration has no copies left template=%s",
			 pool_template(dp->pool));
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: demux serve [--config FILE]\n");
}

/* Each demo's links name the port visitors use ([server] public_port, 0 =
 * the scheme's default). When the proxy listens on another port, visitors
 * who connect to it directly get links to the wrong port: said once at
 * start-up, since a load balancer in front may map one port to the other. */
static void
warn_public_port(const struct config *cfg)
{
	char host[CONFIG_STR];
	int listen_port = 0;
	int public_port =
	    cfg->public_port != 0 ? cfg->public_port : url_scheme_port(cfg->public_scheme);

	if (hostport_split(cfg->proxy_listen, host, sizeof(host), &listen_port, NULL, 0) == -1)
		listen_port = 0;
	if (listen_port > 0 && listen_port != public_port)
		log_warnx("the proxy listens on port %d but demos' links use port %d "
			  "([server] public_port = %d): right only if something in front maps %d "
			  "to %d; else set public_port = %d",
			  listen_port, public_port, cfg->public_port, public_port, listen_port,
			  listen_port);
}

/* The configuration and the admin token, and what demux serve refuses
 * outright. 0, or -1 after saying why on stderr. */
static int
load_config(struct daemon *d, const char *path, char *token, size_t tokenlen)
{
	char err[1024];

	if (config_load(d->cfg, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: %s\n", err);
		return -1;
	}
	if (config_admin_token(d->cfg, token, tokenlen, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: refusing to start: %s\n", err);
		return -1;
	}
	if (d->cfg->npools == 0) {
		fprintf(stderr,
			"demux: refusing to start: %s has no [pool NAME] section (one per "
			"template to serve)\n",
			path != NULL ? path : "the configuration");
		return -1;
	}
	return 0;
}

/* State store, Podman, the copies' isolation, the proxy and its front door,
 * in that order; close_daemon undoes what was opened. 0, or -1 after saying
 * why on stderr. */
static int
open_dependencies(struct daemon *d)
{
	char err[1024];

	if (mkpath(d->cfg->state_dir, 0755, 0700, err, sizeof(err)) == -1 ||
	    store_open_configured(&d->store, d->cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: state store: %s\n", err);
		return -1;
	}
	d->store_open = true;
	d->podman = podman_open(d->cfg->podman_socket, d->cfg->podman_timeout_ms);
	if (podman_ping(d->podman, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: podman: %s\n", err);
		return -1;
	}
	if (isolation_setup(d->cfg, d->podman, &d->iso, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: isolation of demo copies: %s\n", err);
		return -1;
	}
	if (criu_kdat_ensure(err, sizeof(err)) == -1)
		log_warnx("criu: %s", err);
	log_info("copies isolated network=%s interface=%s subnet=%s egress_network=%s "
		 "egress_subnet=%s firewall=nftables",
		 d->iso.closed.name, d->iso.closed.interface, d->iso.closed.subnet,
		 d->iso.open.name, d->iso.open.subnet);
	if (proxy_open(&d->proxy, d->cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: proxy: %s\n", err);
		return -1;
	}
	d->proxy_open = true;
	if (d->proxy.ops->ensure_front(d->proxy.ctx, d->cfg->base_domain, config_front(d->cfg), err,
				       sizeof(err)) == -1) {
		fprintf(stderr, "demux: proxy front door: %s\n", err);
		return -1;
	}
	return 0;
}

int
cmd_serve(int argc, char **argv)
{
	const char *path = getenv("DEMUX_CONFIG");
	struct daemon d;
	struct api api;
	struct server_options sopt;
	struct server *srv = NULL;
	char token[CONFIG_TOKEN_MAX], err[1024];
	struct pool *pools[CONFIG_MAX_POOLS];
	sigset_t sigs;
	int sig = 0, rc = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			path = argv[++i];
		} else {
			usage();
			return 2;
		}
	}
	memset(&d, 0, sizeof(d));
	memset(&api, 0, sizeof(api));
	d.cfg = xcalloc(1, sizeof(*d.cfg));
	keep_config(&d, d.cfg);
	d.path = path;
	token[0] = '\0';

	/* Every thread started from here on inherits the blocked signals; this
	 * thread collects them with sigwait. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (load_config(&d, path, token, sizeof(token)) == -1 || open_dependencies(&d) == -1)
		goto out;
	if (open_pools(&d, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: %s\n", err);
		goto out;
	}
	/* Alive before judging anything, so that other nodes see this one. */
	if (nodes_heartbeat_once(d.cfg, &d.store, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: store heartbeat: %s\n", err);
		goto out;
	}
	for (int i = 0; i < d.npools; i++)
		pools[i] = d.pools[i]->pool;
	if (pool_reconcile(pools, d.npools, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: reconciliation: %s\n", err);
		goto out;
	}
	for (int i = 0; i < d.npools; i++) {
		d.pools[i]->started = true;
		if (pool_start(d.pools[i]->pool) == -1) {
			fprintf(stderr, "demux: pool %s could not start its threads\n",
				pool_template(d.pools[i]->pool));
			goto out;
		}
	}

	d.nodes = nodes_start(d.cfg, &d.store, &d.proxy);

	api.backend.ops = &daemon_backend_ops;
	api.backend.ctx = &d;
	api.base_domain = d.cfg->base_domain;
	api.public_scheme = d.cfg->public_scheme;
	api.public_port = d.cfg->public_port;
	api.allowed_origins = d.cfg->allowed_origins;
	api.look = &d.cfg->pages;
	api.admin_token = token;
	api.max_active_per_client = d.cfg->max_active_per_client;
	memset(&sopt, 0, sizeof(sopt));
	sopt.listen = d.cfg->listen;
	sopt.max_body_bytes = (size_t)d.cfg->max_body_bytes;
	sopt.claims_per_ip_per_minute = d.cfg->claims_per_ip_per_minute;
	sopt.trust_forwarded_for = d.cfg->trust_forwarded_for;
	sopt.max_connections = d.cfg->max_connections;
	sopt.max_connections_per_ip = d.cfg->max_connections_per_ip;
	sopt.request_timeout_s = d.cfg->request_timeout_s;
	sopt.hist_bounds = pool_hist_bounds;
	sopt.nbounds = POOL_HIST_BUCKETS;
	srv = server_start(&api, &sopt, err, sizeof(err));
	if (srv == NULL) {
		fprintf(stderr, "demux: http server: %s\n", err);
		goto out;
	}
	d.api = &api;
	log_info("demux serving base_domain=%s scheme=%s public_port=%d listen=%s proxy=%s "
		 "pools=%d",
		 d.cfg->base_domain, d.cfg->public_scheme, d.cfg->public_port, d.cfg->listen,
		 d.proxy.ops->name, d.npools);
	warn_public_port(d.cfg);

	/* Reloads (SIGHUP) and the periodic checks run here, in the main thread
	 * only: nothing else changes the set of pools or their settings. */
	while ((sig = wait_signal(&sigs)) == 0 || sig == SIGHUP) {
		if (sig == SIGHUP) {
			reload(&d);
			continue;
		}
		keep_isolation(&d);
		stop_drained(&d);
	}
	log_info("shutting down signal=%s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	rc = 0;
out:
	server_stop(srv);
	nodes_stop(d.nodes);
	for (int i = 0; i < d.npools; i++)
		if (d.pools[i]->started)
			pool_stop(d.pools[i]->pool);
	close_daemon(&d);
	explicit_bzero(token, sizeof(token));
	if (rc == 0)
		log_info("demux stopped");
	return rc;
}
