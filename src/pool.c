/*
 * pool — the warm pool of one template: provisioning workers, claim, extend,
 * release and the reaper (see pool.h). Start-up reconciliation is in
 * pool_reconcile.c, which uses the helpers of pool_internal.h.
 *
 * Every state change goes to the store first: a PROVISIONING record exists
 * before a container does, a RELEASING record before anything is removed.
 * So after a crash each record says what may exist, and reconciliation can
 * finish or undo it. The pool mutex only guards decisions (how many to
 * provision, port slots, counters); slow work (restore, SQL, HTTP) runs
 * outside it.
 */
#include "pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/un.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "activity.h"
#include "http_probe.h"
#include "app/password.h"
#include "id.h"
#include "log.h"
#include "mstime.h"
#include "pool_internal.h"
#include "template.h"
#include "validate.h"
#include "xmalloc.h"

#define RESTORE_DB_RETRY_MS 10000
#define COLD_DB_RETRY_MS 120000
#define RESTORE_HEALTH_MS 15000
#define COLD_HEALTH_MS 180000
#define REAP_INTERVAL_MS 1000
#define IDLE_WAIT_MS 1000
/* How often the reaper checks that READY and CLAIMED instances still run. */
#define SWEEP_INTERVAL_S 15

_Static_assert(INSTANCE_PASSWORD_SIZE >= PASSWORD_SIZE, "instance password field too small");

const double pool_hist_bounds[POOL_HIST_BUCKETS] = {0.25, 0.5, 0.75, 1,	 1.5, 2,
						    3,	  5,   10,   30, 60,  120};

/* Marks id as being released; false when another thread already is. */
static bool
idset_has(const struct idset *s, const char *id)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->v[i], id) == 0)
			return true;
	return false;
}

static void
idset_add(struct idset *s, const char *id)
{
	if (s->n == s->cap) {
		s->cap = s->cap > 0 ? 2 * s->cap : 16;
		s->v = xrealloc(s->v, (size_t)s->cap * sizeof(*s->v));
	}
	snprintf(s->v[s->n++], ID_SIZE, "%s", id);
}

static void
idset_del(struct idset *s, const char *id)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->v[i], id) == 0) {
			memcpy(s->v[i], s->v[--s->n], ID_SIZE);
			break;
		}
}

static bool
release_begin(struct pool *p, const char *id)
{
	bool ok;

	pthread_mutex_lock(&p->mu);
	ok = !idset_has(&p->releasing, id);
	if (ok)
		idset_add(&p->releasing, id);
	pthread_mutex_unlock(&p->mu);
	return ok;
}

static void
release_end(struct pool *p, const char *id)
{
	pthread_mutex_lock(&p->mu);
	idset_del(&p->releasing, id);
	pthread_mutex_unlock(&p->mu);
}

bool
pool_hosts(const struct pool_env *env, const struct instance *in)
{
	return env->store->ops->heartbeat == NULL || strcmp(in->node, env->cfg->node_name) == 0;
}

static long long
now_s(const struct pool *p)
{
	return p->env.now != NULL ? p->env.now() : (long long)time(NULL);
}

/* The pool's settings. A configuration reload swaps env.pcfg while the
 * pool's threads and the HTTP threads run (pool_set_config): every reader
 * loads the pointer here, atomically, and gets one whole, valid
 * pool_config. The daemon keeps every configuration it loaded alive until
 * it exits, so a pointer loaded before a swap stays readable. Two loads in
 * one function may see two configurations; where the values must agree
 * (reserve's decision) the function loads once. */
static const struct pool_config *
pool_pcfg(const struct pool *p)
{
	return __atomic_load_n(&p->env.pcfg, __ATOMIC_ACQUIRE);
}

const struct pool_config *
pool_settings(const struct pool *p)
{
	return pool_pcfg(p);
}

const char *
pool_template(const struct pool *p)
{
	return pool_pcfg(p)->name;
}

const struct pool_env *
pool_env_of(const struct pool *p)
{
	return &p->env;
}

/* ---- port slots ---------------------------------------------------------- */

static int
port_is_free(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, ok;

	if (fd == -1)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* Called with p->mu held. Returns the slot index or -1. */
static int
slot_take(struct pool *p)
{
	for (int k = 0; k < p->nslots; k++) {
		int port = pool_pcfg(p)->port_min + 2 * k;

		if (p->slots[k])
			continue;
		if (!port_is_free(port) || !port_is_free(port + 1))
			continue;
		p->slots[k] = 1;
		return k;
	}
	return -1;
}

void
pool_slot_mark(struct pool *p, int app_port, int used)
{
	int k = (app_port - pool_pcfg(p)->port_min) / 2;

	if (app_port < pool_pcfg(p)->port_min || k >= p->nslots)
		return;
	pthread_mutex_lock(&p->mu);
	p->slots[k] = (unsigned char)used;
	pthread_mutex_unlock(&p->mu);
}

/* ---- building blocks ----------------------------------------------------- */

void
pool_instance_domain(const struct pool_env *env, const struct instance *in, char *out,
		     size_t outlen)
{
	snprintf(out, outlen, "%s.%s", in->id, env->cfg->base_domain);
}

/* Publishes <id>.<base_domain> -> <node_address>:<app port>; without a
 * proxy there is nothing to publish. */
int
pool_route_add(const struct pool_env *env, const struct instance *in, const char *domain, char *err,
	       size_t errlen)
{
	const char *host = env->cfg->node_address[0] != '\0' ? env->cfg->node_address : "127.0.0.1";
	char upstream[ROUTE_UPSTREAM_MAX];

	if (env->proxy == NULL)
		return 0;
	if (snprintf(upstream, sizeof(upstream), "%s:%d", host, in->app_port) >=
	    (int)sizeof(upstream)) {
		snprintf(err, errlen, "[store] node_address %s is too long for a route", host);
		return -1;
	}
	return env->proxy->ops->add(env->proxy->ctx, domain, upstream, err, errlen);
}

static void
app_instance_for(const struct pool *p, const struct instance *in, const struct template_meta *t,
		 const char *domain, int retry_ms, const char *db_socket, struct app_instance *ai)
{
	const struct config *cfg = p->env.cfg;

	memset(ai, 0, sizeof(*ai));
	ai->id = in->id;
	ai->domain = domain;
	ai->scheme = cfg->public_scheme;
	ai->port = cfg->public_port;
	ai->prefix = in->prefix;
	ai->generic_after_restore = pool_pcfg(p)->generic_after_restore;
	ai->generic_on_release = pool_pcfg(p)->generic_on_release;
	ai->generic_admin_password = pool_pcfg(p)->generic_admin_password;
	ai->admin_user = t->admin_user;
	ai->admin_password = in->admin_password;
	ai->db.connect_timeout_s = cfg->db_connect_timeout_s;
	ai->db.rw_timeout_s = cfg->db_rw_timeout_s;
	ai->db.retry_ms = retry_ms;
	if (pool_pcfg(p)->db_mode == DB_MODE_SHARED) {
		ai->db.host = cfg->db_host;
		ai->db.port = cfg->db_port;
		ai->db.user = cfg->db_user;
		ai->db.password = cfg->db_password;
		ai->db.name = cfg->db_name;
		ai->drop_tables_on_release = 1;
	} else {
		ai->db.host = "localhost";
		ai->db.unix_socket = db_socket;
		ai->db.user = t->db_user;
		ai->db.password = t->db_password;
		ai->db.name = t->db_name;
	}
}

/* GET of the health path through the instance's own port, with the Host a
 * visitor's browser sends (port included when it is not the scheme's
 * default) and the scheme the proxy passes on: only a 2xx counts (a 302 to
 * the template's domain is the broken state). */
static int
default_health(const struct pool_env *env, const struct instance *in, char *err, size_t errlen)
{
	char domain[320], site[APP_SITE_HOST_MAX + 1], e[256];
	const char *path = env->tmpl->health_path[0] ? env->tmpl->health_path : "/";
	struct app_instance ai = {
	    .domain = domain, .scheme = env->cfg->public_scheme, .port = env->cfg->public_port};
	long code = 0;

	pool_instance_domain(env, in, domain, sizeof(domain));
	if (app_site_host(&ai, site, sizeof(site), e, sizeof(e)) == -1) {
		snprintf(err, errlen, "health: %s", e);
		return -1;
	}
	if (http_probe_get_as(in->app_port, path, site, env->cfg->public_scheme, 2000L, 10000L,
			      &code, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "health http://127.0.0.1:%d%s: %s", in->app_port, path, e);
		return -1;
	}
	if (code < 200 || code > 299) {
		snprintf(err, errlen, "health http://127.0.0.1:%d%s (Host %s): HTTP %ld, want 2xx",
			 in->app_port, path, site, code);
		return -1;
	}
	return 0;
}

static int
wait_healthy(struct pool *p, const struct instance *in, const struct template_meta *t,
	     int budget_ms, char *err, size_t errlen)
{
	int (*check)(const struct pool_env *, const struct instance *, char *, size_t) =
	    p->env.health != NULL ? p->env.health : default_health;
	double deadline = mstime_now() + budget_ms;
	struct pool_env env = p->env;

	env.tmpl = t; /* the version this copy runs */
	for (;;) {
		if (check(&env, in, err, errlen) == 0)
			return 0;
		if (mstime_now() >= deadline)
			return -1;
		mstime_sleep(100);
	}
}

/* Undoes whatever of an instance exists: route, tables (shared mode),
 * container, record. Each step tolerates "already gone". Returns -1 if a step
 * failed (the record is then kept, state RELEASING, for a later retry). */
int
pool_teardown_env(const struct pool_env *env, const struct instance *in, bool shared_db, char *err,
		  size_t errlen)
{
	char domain[320], e[512];
	struct app_instance ai;

	pool_instance_domain(env, in, domain, sizeof(domain));
	if (env->proxy != NULL &&
	    env->proxy->ops->remove(env->proxy->ctx, domain, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "route: %s", e);
		return -1;
	}
	if (shared_db && env->profile != NULL && env->profile->on_release != NULL) {
		memset(&ai, 0, sizeof(ai));
		ai.id = in->id;
		ai.domain = domain;
		ai.scheme = env->cfg->public_scheme;
		ai.prefix = in->prefix;
		ai.generic_on_release =
		    __atomic_load_n(&env->pcfg, __ATOMIC_ACQUIRE)->generic_on_release;
		ai.db.host = env->cfg->db_host;
		ai.db.port = env->cfg->db_port;
		ai.db.user = env->cfg->db_user;
		ai.db.password = env->cfg->db_password;
		ai.db.name = env->cfg->db_name;
		ai.db.connect_timeout_s = env->cfg->db_connect_timeout_s;
		ai.db.rw_timeout_s = env->cfg->db_rw_timeout_s;
		ai.drop_tables_on_release = 1;
		if (env->profile->on_release(&ai, e, sizeof(e)) == -1) {
			snprintf(err, errlen, "on_release: %s", e);
			return -1;
		}
	}
	if (env->runtime.ops->remove(env->runtime.ctx, in->container, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "container: %s", e);
		return -1;
	}
	if (env->store->ops->del(env->store->ctx, in->id, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "%s", e);
		return -1;
	}
	return 0;
}

int
pool_teardown(struct pool *p, const struct instance *in, char *err, size_t errlen)
{
	bool shared_db = pool_pcfg(p)->db_mode == DB_MODE_SHARED;

	if (pool_teardown_env(&p->env, in, shared_db, err, errlen) == -1)
		return -1;
	pool_slot_mark(p, in->app_port, 0);
	return 0;
}

static void
hist_observe(struct pool_stats *s, int method, double seconds)
{
	s->hist_count[method]++;
	s->hist_sum[method] += seconds;
	for (int i = 0; i < POOL_HIST_BUCKETS; i++)
		if (seconds <= pool_hist_bounds[i])
			s->hist_bucket[method][i]++;
}

/* The dependency a failed provisioning step points at. */
static const char *
step_dependency(const char *step)
{
	static const char *const map[][2] = {{"restore", "podman"},
					     {"after_restore", "database"},
					     {"health", "app"},
					     {"route", "proxy"},
					     {"store", "store"}};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(step, map[i][0]) == 0)
			return map[i][1];
	return "";
}

static void
record_failure(struct pool *p, const char *id, const char *step, const char *reason)
{
	log_warnx("provision failed template=%s id=%s step=%s reason=\"%s\"", pool_template(p), id,
		  step, reason);
	pthread_mutex_lock(&p->mu);
	p->stats.provision_failures++;
	p->consecutive_failures++;
	snprintf(p->stats.last_error, sizeof(p->stats.last_error), "%.40s: %.200s", step, reason);
	snprintf(p->stats.last_dependency, sizeof(p->stats.last_dependency), "%s",
		 step_dependency(step));
	pthread_mutex_unlock(&p->mu);
}

static bool
pool_prepared_restore(const struct pool *p, const struct template_meta *t)
{
	return pool_pcfg(p)->restore_from == RESTORE_PREPARED &&
	       t->restore_archive_path[0] != '\0' &&
	       (t->cpus <= 0 || p->env.runtime.ops->set_cpus != NULL);
}

/* Restore (or cold start) the container of `in` from version t; fills
 * method and restore_ms. */
static int
start_container(struct pool *p, struct instance *in, const struct template_meta *t, char *err,
		size_t errlen)
{
	struct restore_request req;
	struct restore_stats rs;
	struct container_spec spec;
	struct template_spec_buf sbuf;
	char e[1024];
	double t0 = mstime_now();

	memset(&req, 0, sizeof(req));
	req.name = in->container;
	req.ports[req.nports++] = (struct container_port){in->app_port, t->app_port};
	/* The prepared restore first (template_restore.h); the full archive
	 * when there is none or it fails. */
	if (pool_prepared_restore(p, t)) {
		req.archive_path = t->restore_archive_path;
		memset(&rs, 0, sizeof(rs));
		/* restored without its CPU limit (template_restore.c): the limit goes
		 * on now, and a copy that did not get it is never handed out */
		if (p->env.runtime.ops->restore(p->env.runtime.ctx, &req, &rs, e, sizeof(e)) == 0 &&
		    (t->cpus <= 0 || p->env.runtime.ops->set_cpus(p->env.runtime.ctx, in->container,
								  t->cpus, e, sizeof(e)) == 0))
			goto restored;
		log_warnx("prepared restore failed, restoring from the archive template=%s id=%s "
			  "reason=\"%s\"",
			  pool_template(p), in->id, e);
		p->env.runtime.ops->remove(p->env.runtime.ctx, in->container, e, sizeof(e));
	}
	req.archive_path = t->archive_path;
	memset(&rs, 0, sizeof(rs));
	if (p->env.runtime.ops->restore(p->env.runtime.ctx, &req, &rs, e, sizeof(e)) == 0)
		goto restored;
	if (!pool_pcfg(p)->cold_start_fallback) {
		snprintf(err, errlen, "restore: %.900s", e);
		return -1;
	}
	log_warnx("restore failed, cold start fallback template=%s id=%s reason=\"%s\"",
		  pool_template(p), in->id, e);
	/* A failed restore may leave a created container behind. */
	p->env.runtime.ops->remove(p->env.runtime.ctx, in->container, e, sizeof(e));
	if (template_cold_start_spec(t, in->container, in->app_port, in->db_port, &spec, &sbuf, e,
				     sizeof(e)) == -1) {
		snprintf(err, errlen, "cold start: %.900s", e);
		return -1;
	}
	t0 = mstime_now();
	if (p->env.runtime.ops->run(p->env.runtime.ctx, &spec, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "cold start: %.900s", e);
		return -1;
	}
	snprintf(in->method, sizeof(in->method), "cold_start");
	in->restore_ms = mstime_now() - t0;
	return 0;
restored:
	snprintf(in->method, sizeof(in->method), "criu_restore");
	in->restore_ms = mstime_now() - t0;
	log_debug("restored id=%s from=%s podman_ms=%.0f runtime_ms=%.0f criu_ms=%.0f", in->id,
		  req.archive_path, rs.podman_ms, rs.runtime_ms, rs.criu_ms);
	return 0;
}

/* The copy's MariaDB socket as seen from the host: through the root of its
 * first process, so that the database needs no port outside the copy. The
 * copy has run no visitor's code yet, so nothing in it can have turned the
 * path into a link. */
static int
copy_db_socket(struct pool *p, const struct instance *in, const char *db_socket, char *out,
	       size_t outlen, char *err, size_t errlen)
{
	int pid = -1;
	char e[512] = "the runtime cannot tell";

	if (p->env.runtime.ops->pid == NULL ||
	    p->env.runtime.ops->pid(p->env.runtime.ctx, in->container, &pid, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "database socket: process of %s: %s", in->container, e);
		return -1;
	}
	if (pid <= 0) {
		snprintf(err, errlen, "database socket: %s is not running", in->container);
		return -1;
	}
	if (snprintf(out, outlen, "/proc/%d/root%s", pid, db_socket) >= (int)outlen ||
	    strlen(out) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, errlen, "database socket path too long: /proc/%d/root%s", pid,
			 db_socket);
		return -1;
	}
	return 0;
}

/* The start time of process pid (field 22 of /proc/<pid>/stat), 0 when
 * there is no such process. */
static unsigned long long
process_start(int pid)
{
	char path[64], text[1024], *p, *end;
	unsigned long long start;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (f == NULL)
		return 0;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	p = strrchr(text, ')'); /* the command name may hold spaces */
	/* ") S ppid ..." : field 3 follows the first space, starttime is 22 */
	for (int field = 2; p != NULL && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL)
		return 0;
	errno = 0;
	start = strtoull(p + 1, &end, 10);
	if (errno != 0 || end == p + 1)
		return 0;
	return start;
}

/* Notes the first process of a copy that became ready (host_pids only). */
static void
note_alive(struct pool *p, const struct instance *in)
{
	char e[256];
	int pid = -1;
	unsigned long long start;

	if (!p->env.host_pids || p->env.runtime.ops->pid == NULL ||
	    p->env.runtime.ops->pid(p->env.runtime.ctx, in->container, &pid, e, sizeof(e)) == -1 ||
	    pid <= 0 || (start = process_start(pid)) == 0)
		return;
	pthread_mutex_lock(&p->mu);
	snprintf(p->hints[p->next_hint].id, sizeof(p->hints[0].id), "%s", in->id);
	p->hints[p->next_hint].pid = pid;
	p->hints[p->next_hint].start = start;
	p->next_hint = (p->next_hint + 1) % ALIVE_HINTS;
	pthread_mutex_unlock(&p->mu);
}

/* 1: the copy's first process still runs, 0: it is gone, -1: no note. */
static int
alive_by_hint(struct pool *p, const char *id)
{
	int pid = 0, ret = -1;
	unsigned long long start = 0;

	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < ALIVE_HINTS; i++)
		if (p->hints[i].id[0] != '\0' && strcmp(p->hints[i].id, id) == 0) {
			pid = p->hints[i].pid;
			start = p->hints[i].start;
			p->hints[i].id[0] = '\0';
			break;
		}
	pthread_mutex_unlock(&p->mu);
	if (pid > 0)
		ret = process_start(pid) == start;
	return ret;
}

/* Steps whose failure may be the template version's own fault (as opposed
 * to the proxy's or the store's). */
static bool
template_step(const char *step)
{
	return strcmp(step, "restore") == 0 || strcmp(step, "after_restore") == 0 ||
	       strcmp(step, "health") == 0;
}

/* Provisions one instance of version t whose PROVISIONING record and port
 * slot were reserved by the caller. */
static int
provision(struct pool *p, struct instance *in, const struct template_meta *t, char *err,
	  size_t errlen)
{
	char domain[320], e[1024], db_socket[PATH_MAX];
	struct app_instance ai;
	const char *step = "restore";
	double t0 = mstime_now(), t1;
	int cold;

	pool_instance_domain(&p->env, in, domain, sizeof(domain));
	if (start_container(p, in, t, e, sizeof(e)) == -1)
		goto fail;
	cold = strcmp(in->method, "cold_start") == 0;
	step = "after_restore";
	t1 = mstime_now();
	if (p->env.profile != NULL && p->env.profile->after_restore != NULL) {
		if (pool_pcfg(p)->db_mode == DB_MODE_EMBEDDED &&
		    copy_db_socket(p, in, t->db_socket, db_socket, sizeof(db_socket), e,
				   sizeof(e)) == -1)
			goto fail;
		app_instance_for(p, in, t, domain, cold ? COLD_DB_RETRY_MS : RESTORE_DB_RETRY_MS,
				 db_socket, &ai);
		/* Every visitor is shown the admin password: each copy needs its
		 * own, or one copy's visitor could log into another. */
		if (p->env.profile->sets_admin_password != NULL &&
		    p->env.profile->sets_admin_password(&ai) &&
		    password_generate(in->admin_password) == -1) {
			snprintf(e, sizeof(e), "no randomness for an admin password");
			goto fail;
		}
		if (p->env.profile->after_restore(&ai, e, sizeof(e)) == -1)
			goto fail;
	}
	in->hook_ms = mstime_now() - t1;
	step = "health";
	t1 = mstime_now();
	if (wait_healthy(p, in, t,
			 p->env.health_budget_ms > 0 ? p->env.health_budget_ms
			 : cold			     ? COLD_HEALTH_MS
						     : RESTORE_HEALTH_MS,
			 e, sizeof(e)) == -1)
		goto fail;
	in->health_ms = mstime_now() - t1;
	step = "route";
	t1 = mstime_now();
	if (pool_route_add(&p->env, in, domain, e, sizeof(e)) == -1)
		goto fail;
	in->route_ms = mstime_now() - t1;
	note_alive(p, in);
	in->provision_ms = mstime_now() - t0;
	in->state = INSTANCE_READY;
	in->ready_at = now_s(p);
	step = "store";
	if (p->env.store->ops->put(p->env.store->ctx, in, e, sizeof(e)) == -1)
		goto fail;
	log_info("instance ready template=%s version=%d id=%s method=%s port=%d restore_ms=%.0f "
		 "hook_ms=%.1f health_ms=%.0f route_ms=%.1f total_ms=%.0f",
		 pool_template(p), in->version, in->id, in->method, in->app_port, in->restore_ms,
		 in->hook_ms, in->health_ms, in->route_ms, in->provision_ms);
	pthread_mutex_lock(&p->mu);
	p->consecutive_failures = 0;
	hist_observe(&p->stats, cold, in->provision_ms / 1000.0);
	pthread_mutex_unlock(&p->mu);
	pool_version_result(p, t, true, NULL);
	return 0;
fail:
	snprintf(err, errlen, "%s: %.900s", step, e);
	record_failure(p, in->id, step, e);
	if (template_step(step))
		pool_version_result(p, t, false, err);
	/* RELEASING first: if the cleanup fails too (the dependency that made
	 * the provisioning fail is down), the reaper retries it, and the record
	 * does not count as being prepared forever. */
	p->env.store->ops->cas_state(p->env.store->ctx, in->id, INSTANCE_PROVISIONING,
				     INSTANCE_RELEASING, e, sizeof(e));
	if (pool_teardown(p, in, e, sizeof(e)) == -1)
		log_warnx("cleanup after failed provision incomplete id=%s reason=\"%s\" (the "
			  "reaper retries)",
			  in->id, e);
	return -1;
}

struct counts {
	int provisioning, ready, claimed, releasing, total;
	int stale; /* READY copies of this node of a version the pool no longer serves */
};

/* Counts the pool's records by state; `serving` is the version served
 * (read under the mutex by the caller), for the stale count. */
static int
count_instances(struct pool *p, int serving, struct counts *c, char *err, size_t errlen)
{
	struct instance *v = NULL;
	int n = 0;

	memset(c, 0, sizeof(*c));
	if (p->env.store->ops->list(p->env.store->ctx, pool_template(p), -1, &v, &n, err, errlen) ==
	    -1)
		return -1;
	for (int i = 0; i < n; i++) {
		switch (v[i].state) {
		case INSTANCE_PROVISIONING:
			c->provisioning++;
			break;
		case INSTANCE_READY:
			c->ready++;
			c->stale += pool_version_stale(&p->env, &v[i], serving);
			break;
		case INSTANCE_CLAIMED:
			c->claimed++;
			break;
		case INSTANCE_RELEASING:
			c->releasing++;
			break;
		}
	}
	c->total = n;
	free(v);
	return 0;
}

/* Decides, under the pool mutex, whether one more instance should be
 * provisioned and if so reserves its record and ports, and says which
 * version it restores (*t). Ready copies of a version no longer served do
 * not count: they go once new ones are ready (pool_version.c). Returns 1
 * when `in` was reserved, 0 when nothing is needed, -1 on error. */
static int
reserve(struct pool *p, struct instance *in, const struct template_meta **t, char *err,
	size_t errlen)
{
	const struct pool_config *pc = pool_pcfg(p);
	struct counts c;
	int slot, rc = 0;

	pthread_mutex_lock(&p->mu);
	if (p->draining)
		goto out;
	if (count_instances(p, p->tmpl->version, &c, err, errlen) == -1) {
		rc = -1;
		goto out;
	}
	if (c.total >= pc->max_instances)
		goto out;
	if (c.ready - c.stale + c.provisioning >= pc->min_ready &&
	    !(p->demand && c.ready + c.provisioning == 0))
		goto out;
	slot = slot_take(p);
	if (slot == -1) {
		snprintf(err, errlen, "no free port pair in %d-%d", pc->port_min, pc->port_max);
		rc = -1;
		goto out;
	}
	memset(in, 0, sizeof(*in));
	if (id_generate(in->id) == -1) {
		p->slots[slot] = 0;
		snprintf(err, errlen, "no randomness for an instance id");
		rc = -1;
		goto out;
	}
	snprintf(in->template_name, sizeof(in->template_name), "%s", pc->name);
	snprintf(in->container, sizeof(in->container), "%s%s", RUNTIME_INSTANCE_PREFIX, in->id);
	snprintf(in->node, sizeof(in->node), "%s", p->env.cfg->node_name);
	in->state = INSTANCE_PROVISIONING;
	in->app_port = pc->port_min + 2 * slot;
	/* The second port of the pair is no longer published: a copy's database
	 * is reached through its unix socket (copy_db_socket). */
	in->db_port = 0;
	*t = pool_version_next(p);
	in->version = (*t)->version;
	if (pc->db_mode == DB_MODE_SHARED)
		validate_make_instance_prefix(in->id, in->prefix, sizeof(in->prefix));
	else
		snprintf(in->prefix, sizeof(in->prefix), "%s", (*t)->db_prefix);
	in->created_at = now_s(p);
	snprintf(in->method, sizeof(in->method), "criu_restore");
	if (p->env.store->ops->reserve != NULL) {
		/* Other nodes fill the same pool: the limits are checked again
		 * in the same step as the insert. */
		int want = (p->demand && pc->min_ready < 1 ? 1 : pc->min_ready) + c.stale;
		int r = p->env.store->ops->reserve(p->env.store->ctx, in, pc->max_instances, want,
						   err, errlen);

		if (r != 0) {
			p->slots[slot] = 0;
			rc = r == STORE_LIMIT ? 0 : -1;
			goto out;
		}
	} else if (p->env.store->ops->put(p->env.store->ctx, in, err, errlen) == -1) {
		p->slots[slot] = 0;
		p->stats.provision_failures++;
		p->consecutive_failures++;
		snprintf(p->stats.last_error, sizeof(p->stats.last_error), "store: %.200s", err);
		snprintf(p->stats.last_dependency, sizeof(p->stats.last_dependency), "store");
		rc = -1;
		goto out;
	}
	p->demand = false;
	idset_add(&p->provisioning, in->id);
	rc = 1;
out:
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int
pool_provision_one(struct pool *p, char *err, size_t errlen)
{
	struct instance in;
	const struct template_meta *t = NULL;
	int r = reserve(p, &in, &t, err, errlen);

	if (r <= 0)
		return r;
	r = provision(p, &in, t, err, errlen) == 0 ? 1 : -1;
	pthread_mutex_lock(&p->mu);
	idset_del(&p->provisioning, in.id);
	pthread_mutex_unlock(&p->mu);
	return r;
}

static void *
worker_main(void *arg)
{
	struct pool *p = arg;
	char err[1024];

	while (1) {
		int r;

		pthread_mutex_lock(&p->mu);
		if (!p->running) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		pthread_mutex_unlock(&p->mu);
		r = pool_provision_one(p, err, sizeof(err));
		if (r == 1)
			continue;
		pthread_mutex_lock(&p->mu);
		if (p->running) {
			struct timespec ts;
			/* Back off after failures, up to 30 s, so a broken template does
			 * not spin. */
			int ms = IDLE_WAIT_MS;

			if (r == -1) {
				int f = p->consecutive_failures < 5 ? p->consecutive_failures : 5;

				ms = 1000 * (1 << f);
				if (ms > 30000)
					ms = 30000;
			}
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += ms / 1000;
			ts.tv_nsec += (long)(ms % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&p->wake, &p->mu, &ts);
		}
		pthread_mutex_unlock(&p->mu);
	}
	return NULL;
}

/* ---- claim, extend, release ------------------------------------------------ */

static int
owner_token(char out[INSTANCE_TOKEN_SIZE])
{
	static const char b64url[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[32];
	int o = 0;

	if (id_random_bytes(raw, sizeof(raw)) == -1)
		return -1;
	for (size_t i = 0; i < sizeof(raw); i += 3) {
		unsigned v = (unsigned)raw[i] << 16;

		if (i + 1 < sizeof(raw))
			v |= (unsigned)raw[i + 1] << 8;
		if (i + 2 < sizeof(raw))
			v |= raw[i + 2];
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		if (i + 1 < sizeof(raw))
			out[o++] = b64url[(v >> 6) & 63];
		if (i + 2 < sizeof(raw))
			out[o++] = b64url[v & 63];
	}
	out[o] = '\0';
	return 0;
}

/* Whether a copy just taken from the store is known to have stopped (its
 * container died in the seconds before the lost-instance sweep would see
 * it). One inspect of one container; a runtime that cannot answer counts as
 * "running", since the container most likely is. */
static bool
claimed_copy_dead(struct pool *p, const struct instance *in)
{
	char e[512];
	int pid = 0;

	int alive = alive_by_hint(p, in->id);

	if (alive != -1)
		return alive == 0; /* no call to the runtime on the claim's path */
	if (p->env.runtime.ops->pid == NULL)
		return false;
	if (p->env.runtime.ops->pid(p->env.runtime.ctx, in->container, &pid, e, sizeof(e)) == -1) {
		log_debug("claim check skipped template=%s id=%s: %s", pool_template(p), in->id, e);
		return false;
	}
	return pid <= 0;
}

/* How many dead copies one claim puts aside before answering "being
 * prepared". */
#define CLAIM_DEAD_MAX 8

enum claim_result
pool_claim(struct pool *p, const char *owner_ip, int max_owned, struct instance *out, int *retry_ms,
	   char *err, size_t errlen)
{
	struct instance want;
	struct counts c;
	long long now = now_s(p);
	int r;

	if (pool_draining(p)) {
		snprintf(err, errlen, "no pool for template %s", pool_template(p));
		return CLAIM_ERROR;
	}
	memset(&want, 0, sizeof(want));
	if (owner_token(want.owner_token) == -1) {
		snprintf(err, errlen, "no randomness for an owner token");
		return CLAIM_ERROR;
	}
	snprintf(want.owner_ip, sizeof(want.owner_ip), "%s", owner_ip != NULL ? owner_ip : "");
	want.claimed_at = now;
	want.expires_at = now + pool_pcfg(p)->ttl_s;
	for (int dead = 0;; dead++) {
		r = p->env.store->ops->claim(p->env.store->ctx, pool_template(p), &want, max_owned,
					     out, err, errlen);
		if (r != 0 || !claimed_copy_dead(p, out))
			break;
		pthread_mutex_lock(&p->mu);
		if (p->env.store->ops->cas_state(p->env.store->ctx, out->id, INSTANCE_CLAIMED,
						 INSTANCE_RELEASING, err, errlen) == 0)
			p->stats.lost++;
		pthread_cond_broadcast(&p->wake); /* the reaper finishes the release */
		pthread_mutex_unlock(&p->mu);
		log_warnx("instance lost template=%s id=%s container=%s (not running at claim); "
			  "releasing it",
			  pool_template(p), out->id, out->container);
		if (dead + 1 == CLAIM_DEAD_MAX) {
			r = STORE_NOT_FOUND;
			break;
		}
	}
	if (r == STORE_LIMIT)
		return CLAIM_CLIENT_LIMIT; /* not the pool's business: no demand, no count */
	pthread_mutex_lock(&p->mu);
	if (r == 0) {
		p->stats.claims++;
		pthread_cond_broadcast(&p->wake);
		pthread_mutex_unlock(&p->mu);
		log_info("instance claimed template=%s id=%s expires_at=%lld", pool_template(p),
			 out->id, out->expires_at);
		return CLAIM_OK;
	}
	if (r == -1) {
		p->stats.claim_fail_error++;
		pthread_mutex_unlock(&p->mu);
		return CLAIM_ERROR;
	}
	if (count_instances(p, p->tmpl->version, &c, err, errlen) == -1) {
		p->stats.claim_fail_error++;
		pthread_mutex_unlock(&p->mu);
		return CLAIM_ERROR;
	}
	/* Copies stuck in RELEASING while a dependency is down do not make the
	 * pool look full: the failure is the answer then. */
	if (c.claimed >= pool_pcfg(p)->max_instances ||
	    (c.claimed + c.releasing >= pool_pcfg(p)->max_instances &&
	     p->consecutive_failures == 0)) {
		p->stats.claim_fail_capacity++;
		pthread_mutex_unlock(&p->mu);
		snprintf(err, errlen, "all %d demos of %s are in use", pool_pcfg(p)->max_instances,
			 pool_template(p));
		return CLAIM_AT_CAPACITY;
	}
	if (c.provisioning == 0 && p->consecutive_failures > 0) {
		p->stats.claim_fail_error++;
		p->demand = c.ready == 0; /* try again after the workers' back-off */
		snprintf(err, errlen, "cannot prepare demos of %s: %s", pool_template(p),
			 p->stats.last_error);
		pthread_mutex_unlock(&p->mu);
		return CLAIM_ERROR;
	}
	p->stats.claim_fail_provisioning++;
	if (c.ready + c.provisioning == 0)
		p->demand = true;
	pthread_cond_broadcast(&p->wake);
	{
		/* The mean provisioning time is the honest estimate. */
		long long n = p->stats.hist_count[0] + p->stats.hist_count[1];
		double mean = n > 0 ? (p->stats.hist_sum[0] + p->stats.hist_sum[1]) / (double)n : 1;
		*retry_ms = (int)(mean * 1000);
		if (*retry_ms < 250)
			*retry_ms = 250;
		if (*retry_ms > 10000)
			*retry_ms = 10000;
	}
	pthread_mutex_unlock(&p->mu);
	snprintf(err, errlen, "a demo of %s is being prepared", pool_template(p));
	return CLAIM_PROVISIONING;
}

int
pool_extend(struct pool *p, const char *id, int minutes, struct instance *out, char *err,
	    size_t errlen)
{
	struct instance in;
	long long now = now_s(p), limit, want;
	int r, rc = -1;

	if (minutes < 1 || minutes > 24 * 60) {
		snprintf(err, errlen, "minutes must be between 1 and 1440");
		return -1;
	}
	pthread_mutex_lock(&p->mu);
	r = p->env.store->ops->get(p->env.store->ctx, id, &in, err, errlen);
	if (r == STORE_NOT_FOUND || (r == 0 && in.state != INSTANCE_CLAIMED)) {
		snprintf(err, errlen, "demo %s is not active", id);
		goto out;
	}
	if (r == -1)
		goto out;
	if (in.extends >= pool_pcfg(p)->max_extends) {
		snprintf(err, errlen, "demo %s was extended %d times, the most allowed", id,
			 in.extends);
		rc = EXTEND_LIMIT_REACHED;
		goto out;
	}
	limit = in.claimed_at + pool_pcfg(p)->max_ttl_s;
	want = (in.expires_at > now ? in.expires_at : now) + (long long)minutes * 60;
	in.expires_at = want < limit ? want : limit;
	in.last_seen_at = now;
	in.extends++;
	r = p->env.store->ops->update(p->env.store->ctx, &in, err, errlen);
	if (r == STORE_NOT_FOUND)
		snprintf(err, errlen, "demo %s is not active", id);
	if (r != 0)
		goto out;
	*out = in;
	rc = 0;
	log_info("instance extended template=%s id=%s expires_at=%lld extends=%d", pool_template(p),
		 id, in.expires_at, in.extends);
out:
	pthread_mutex_unlock(&p->mu);
	return rc;
}

static int release_locked(struct pool *p, const char *id, char *err, size_t errlen);

int
pool_release(struct pool *p, const char *id, char *err, size_t errlen)
{
	int rc;

	if (!release_begin(p, id))
		return 0; /* another thread is taking it down */
	rc = release_locked(p, id, err, errlen);
	release_end(p, id);
	return rc;
}

static int
release_locked(struct pool *p, const char *id, char *err, size_t errlen)
{
	struct instance in;
	int r;

	for (int attempt = 0; attempt < 3; attempt++) {
		r = p->env.store->ops->get(p->env.store->ctx, id, &in, err, errlen);
		if (r == STORE_NOT_FOUND)
			return 0;
		if (r == -1)
			return -1;
		if (in.state == INSTANCE_PROVISIONING) {
			snprintf(err, errlen, "demo %s is still being prepared", id);
			return -1;
		}
		if (in.state == INSTANCE_RELEASING)
			break;
		r = p->env.store->ops->cas_state(p->env.store->ctx, id, in.state,
						 INSTANCE_RELEASING, err, errlen);
		if (r == -1)
			return -1;
		if (r == 0) {
			in.state = INSTANCE_RELEASING;
			break;
		}
	}
	if (in.state != INSTANCE_RELEASING) {
		snprintf(err, errlen, "demo %s changed state during release", id);
		return -1;
	}
	if (!pool_hosts(&p->env, &in)) {
		/* Marked for release; the node that runs it takes it down (its
		 * reaper finishes RELEASING records). */
		log_info("instance release handed over template=%s id=%s node=%s", pool_template(p),
			 id, in.node);
		return 0;
	}
	if (pool_teardown(p, &in, err, errlen) == -1) {
		log_warnx("release incomplete template=%s id=%s reason=\"%s\" (the reaper retries)",
			  pool_template(p), id, err);
		return -1;
	}
	pthread_mutex_lock(&p->mu);
	p->stats.releases++;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->mu);
	log_info("instance released template=%s id=%s", pool_template(p), id);
	return 0;
}

static struct traffic *
traffic_entry(struct pool *p, const char *id, bool *fresh)
{
	for (int i = 0; i < p->ntraffic; i++)
		if (strcmp(p->traffic[i].id, id) == 0) {
			*fresh = false;
			return &p->traffic[i];
		}
	if (p->ntraffic == p->traffic_cap) {
		p->traffic_cap = p->traffic_cap > 0 ? 2 * p->traffic_cap : 16;
		p->traffic = xrealloc(p->traffic, (size_t)p->traffic_cap * sizeof(*p->traffic));
	}
	memset(&p->traffic[p->ntraffic], 0, sizeof(*p->traffic));
	snprintf(p->traffic[p->ntraffic].id, ID_SIZE, "%s", id);
	*fresh = true;
	return &p->traffic[p->ntraffic++];
}

static int
read_segments(struct pool *p, struct traffic *t, const struct instance *in, long long *segs,
	      char *err, size_t errlen)
{
	if (p->env.tcp_segments != NULL)
		return p->env.tcp_segments(&p->env, in, segs, err, errlen);
	if (p->env.runtime.ops->pid == NULL) {
		snprintf(err, errlen, "the container runtime cannot tell a container's process");
		return -1;
	}
	if (t->pid == 0 && p->env.runtime.ops->pid(p->env.runtime.ctx, in->container, &t->pid, err,
						   errlen) == -1) {
		t->pid = 0;
		return -1;
	}
	if (activity_tcp_segments(t->pid, segs, err, errlen) == -1) {
		t->pid = 0; /* the process is gone or was replaced: look it up again */
		return -1;
	}
	return 0;
}

/* idle_timeout: TCP segments received by a claimed instance's container
 * since the last pass count as the visitor being there (last_seen_at = now).
 * The first look at an instance only records its count. */
static void
note_traffic(struct pool *p, struct instance *in, long long now)
{
	struct traffic *t;
	struct instance cur;
	char err[512];
	long long segs;
	bool fresh;

	t = traffic_entry(p, in->id, &fresh);
	t->live = true;
	if (read_segments(p, t, in, &segs, err, sizeof(err)) == -1) {
		log_debug("idle check template=%s id=%s: %s", pool_template(p), in->id, err);
		return;
	}
	if (!fresh && segs != t->segs) {
		pthread_mutex_lock(&p->mu);
		if (p->env.store->ops->get(p->env.store->ctx, in->id, &cur, err, sizeof(err)) ==
			0 &&
		    cur.state == INSTANCE_CLAIMED) {
			int r;

			cur.last_seen_at = now;
			r = p->env.store->ops->update(p->env.store->ctx, &cur, err, sizeof(err));
			if (r == 0)
				in->last_seen_at = now;
			else if (r == -1)
				log_warnx("idle check template=%s id=%s: %s", pool_template(p),
					  in->id, err);
		}
		pthread_mutex_unlock(&p->mu);
	}
	t->segs = segs;
}

/* Forgets the traffic of instances that are no longer claimed. */
static void
traffic_prune(struct pool *p)
{
	int j = 0;

	for (int i = 0; i < p->ntraffic; i++) {
		if (p->traffic[i].live) {
			p->traffic[i].live = false;
			p->traffic[j++] = p->traffic[i];
		}
	}
	p->ntraffic = j;
}

const struct container_info *
pool_find_container(const struct container_info *v, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* Every SWEEP_INTERVAL_S: a READY or CLAIMED instance whose container no
 * longer runs (it crashed, was killed, or removed behind demux's back) is
 * released, so that no visitor is handed it and a claimed one does not stay
 * broken until its expiry. Podman being unreachable skips the sweep. */
static void
sweep_lost(struct pool *p, const struct instance *v, int n, long long now)
{
	struct container_info *ctrs = NULL;
	char err[1024];
	int nctrs = 0;

	if (now - p->last_sweep < SWEEP_INTERVAL_S)
		return;
	p->last_sweep = now;
	if (p->env.runtime.ops->list(p->env.runtime.ctx, &ctrs, &nctrs, err, sizeof(err)) == -1) {
		log_debug("lost-instance sweep skipped template=%s: %s", pool_template(p), err);
		free(ctrs);
		return;
	}
	for (int i = 0; i < n; i++) {
		const struct instance *in = &v[i];
		const struct container_info *c;
		int r;

		if ((in->state != INSTANCE_READY && in->state != INSTANCE_CLAIMED) ||
		    !pool_hosts(&p->env, in))
			continue;
		c = pool_find_container(ctrs, nctrs, in->container);
		if (c != NULL && c->running)
			continue;
		pthread_mutex_lock(&p->mu);
		r = p->env.store->ops->cas_state(p->env.store->ctx, in->id, in->state,
						 INSTANCE_RELEASING, err, sizeof(err));
		if (r == 0)
			p->stats.lost++;
		pthread_mutex_unlock(&p->mu);
		if (r != 0)
			continue;
		log_warnx(
		    "instance lost template=%s id=%s state=%s container=%s (%s); releasing it",
		    pool_template(p), in->id, store_state_name(in->state), in->container,
		    c == NULL ? "missing" : c->state);
		pool_release(p, in->id, err, sizeof(err));
	}
	free(ctrs);
}

/* A PROVISIONING record of this node that no worker is preparing was left
 * by a provisioning whose cleanup failed too (the store refused the state
 * change, e.g. a full disk): take down what is left, as at start-up. */
static void
finish_abandoned(struct pool *p, const struct instance *in)
{
	char err[1024];
	int r;

	if (strcmp(in->node, p->env.cfg->node_name) != 0)
		return;
	pthread_mutex_lock(&p->mu);
	r = idset_has(&p->provisioning, in->id)
		? STORE_NOT_FOUND
		: p->env.store->ops->cas_state(p->env.store->ctx, in->id, INSTANCE_PROVISIONING,
					       INSTANCE_RELEASING, err, sizeof(err));
	pthread_mutex_unlock(&p->mu);
	if (r != 0)
		return;
	log_warnx("abandoned provisioning template=%s id=%s; releasing it", pool_template(p),
		  in->id);
	pool_release(p, in->id, err, sizeof(err));
}

/* A ready copy of a pool removed from the configuration: nobody can claim
 * it any more. One that a claim took meanwhile lives on. */
static void
release_unwanted(struct pool *p, const struct instance *in)
{
	char err[1024];
	int r;

	pthread_mutex_lock(&p->mu);
	r = p->env.store->ops->cas_state(p->env.store->ctx, in->id, INSTANCE_READY,
					 INSTANCE_RELEASING, err, sizeof(err));
	pthread_mutex_unlock(&p->mu);
	if (r != 0)
		return;
	log_info("ready instance of a removed pool template=%s id=%s; releasing it",
		 pool_template(p), in->id);
	pool_release(p, in->id, err, sizeof(err));
}

void
pool_reap(struct pool *p)
{
	struct instance *v = NULL;
	char err[1024];
	long long now = now_s(p);
	int n = 0;
	bool draining = pool_draining(p);

	if (p->env.store->ops->list(p->env.store->ctx, pool_template(p), -1, &v, &n, err,
				    sizeof(err)) == -1) {
		log_warnx("reaper: %s", err);
		return;
	}
	for (int i = 0; i < n; i++) {
		struct instance *in = &v[i];
		bool expired = in->state == INSTANCE_CLAIMED && in->expires_at <= now;
		bool idle;

		/* Another node's copy: its reaper, or a survivor when that node
		 * is gone (nodes.c), deals with it. */
		if (!pool_hosts(&p->env, in))
			continue;
		if (in->state == INSTANCE_PROVISIONING) {
			finish_abandoned(p, in);
			continue;
		}
		if (in->state == INSTANCE_READY && draining) {
			release_unwanted(p, in);
			continue;
		}

		if (in->state == INSTANCE_CLAIMED && !expired && pool_pcfg(p)->idle_timeout_s > 0)
			note_traffic(p, in, now);
		idle = in->state == INSTANCE_CLAIMED && pool_pcfg(p)->idle_timeout_s > 0 &&
		       in->last_seen_at + pool_pcfg(p)->idle_timeout_s <= now;

		if (expired || idle) {
			pthread_mutex_lock(&p->mu);
			/* extend holds the mutex too: it cannot move expires_at between
			 * this check and the state change. */
			int r = p->env.store->ops->cas_state(p->env.store->ctx, in->id,
							     INSTANCE_CLAIMED, INSTANCE_RELEASING,
							     err, sizeof(err));
			pthread_mutex_unlock(&p->mu);
			if (r != 0)
				continue;
			log_info("instance %s template=%s id=%s", expired ? "expired" : "idle",
				 pool_template(p), in->id);
			pthread_mutex_lock(&p->mu);
			p->stats.expirations++;
			pthread_mutex_unlock(&p->mu);
			pool_release(p, in->id, err, sizeof(err));
		} else if (in->state == INSTANCE_RELEASING) {
			pool_release(p, in->id, err, sizeof(err));
		}
	}
	traffic_prune(p);
	sweep_lost(p, v, n, now);
	if (!draining) /* a removed pool makes no copy of any version */
		pool_version_tick(p, v, n, now);
	free(v);
}

static void *
reaper_main(void *arg)
{
	struct pool *p = arg;

	pthread_mutex_lock(&p->mu);
	while (p->running) {
		struct timespec ts;

		pthread_mutex_unlock(&p->mu);
		pool_reap(p);
		pthread_mutex_lock(&p->mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += REAP_INTERVAL_MS / 1000;
		if (p->running)
			pthread_cond_timedwait(&p->wake, &p->mu, &ts);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* ---- life cycle ---------------------------------------------------------------- */

struct pool *
pool_create(const struct pool_env *env)
{
	struct pool *p = xcalloc(1, sizeof(*p));

	p->env = *env;
	pool_version_init(p);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->wake, NULL);
	p->nslots = (env->pcfg->port_max - env->pcfg->port_min + 1) / 2;
	p->slots = xcalloc((size_t)p->nslots, 1);
	return p;
}

int
pool_start(struct pool *p)
{
	int n = pool_pcfg(p)->provision_concurrency;

	if (n > POOL_MAX_WORKERS)
		n = POOL_MAX_WORKERS;
	pthread_mutex_lock(&p->mu);
	p->running = true;
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < n; i++) {
		if (pthread_create(&p->workers[i], NULL, worker_main, p) != 0) {
			log_warn("pool %s: cannot start worker", pool_template(p));
			break;
		}
		p->nworkers++;
	}
	if (pthread_create(&p->reaper, NULL, reaper_main, p) == 0)
		p->reaper_started = true;
	else
		log_warn("pool %s: cannot start reaper", pool_template(p));
	log_info("pool started template=%s min_ready=%d max_instances=%d workers=%d",
		 pool_template(p), pool_pcfg(p)->min_ready, pool_pcfg(p)->max_instances,
		 p->nworkers);
	return p->nworkers > 0 && p->reaper_started ? 0 : -1;
}

void
pool_stop(struct pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->running = false;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nworkers; i++)
		pthread_join(p->workers[i], NULL);
	p->nworkers = 0;
	if (p->reaper_started)
		pthread_join(p->reaper, NULL);
	p->reaper_started = false;
	log_info("pool stopped template=%s (claimed instances keep running)", pool_template(p));
}

void
pool_set_config(struct pool *p, const struct pool_config *pc)
{
	__atomic_store_n(&p->env.pcfg, pc, __ATOMIC_RELEASE);
	pthread_mutex_lock(&p->mu);
	pthread_cond_broadcast(&p->wake); /* the workers weigh min_ready again */
	pthread_mutex_unlock(&p->mu);
}

void
pool_set_draining(struct pool *p, bool draining)
{
	pthread_mutex_lock(&p->mu);
	__atomic_store_n(&p->draining, draining, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&p->wake); /* the reaper releases ready copies */
	pthread_mutex_unlock(&p->mu);
}

/* Without the mutex: a claim must not wait behind a worker that holds it
 * through a slow store call. */
bool
pool_draining(struct pool *p)
{
	return __atomic_load_n(&p->draining, __ATOMIC_ACQUIRE);
}

void
pool_free(struct pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->wake);
	free(p->slots);
	free(p->traffic);
	free(p->releasing.v);
	free(p->provisioning.v);
	pool_version_free(p);
	free(p);
}

void
pool_get_stats(struct pool *p, struct pool_stats *out)
{
	struct counts c;
	char err[256];

	pthread_mutex_lock(&p->mu);
	*out = p->stats;
	out->consecutive_failures = p->consecutive_failures;
	out->version = p->tmpl->version;
	snprintf(out->version_error, sizeof(out->version_error), "%s", p->version_error);
	pthread_mutex_unlock(&p->mu);
	if (count_instances(p, out->version, &c, err, sizeof(err)) == 0) {
		out->stale = c.stale;
		out->ready = c.ready;
		out->claimed = c.claimed;
		out->provisioning = c.provisioning;
		out->releasing = c.releasing;
	}
}
