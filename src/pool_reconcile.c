/*
 * pool_reconcile — start-up reconciliation of every pool (pool.h): after a
 * crash or restart, the store's records are compared with the containers
 * Podman holds and the routes the proxy serves.
 *
 * A record says what may exist (pool.c writes it before each side effect),
 * so each one is brought to a state the pool can run with: a half-done
 * provisioning is undone, a half-done release finished, a READY or CLAIMED
 * instance adopted when its container runs (its route re-added if the
 * proxy lost it) and removed when it does not. Then everything is read again
 * and containers and routes that no record names are removed. Each action
 * is logged ("reconcile: ...") with a summary line at the end.
 *
 * With a store several nodes share, only this node's records are judged;
 * a container here that no record names (its records were removed by a
 * surviving node while this one was gone) is an orphan like any other.
 */
#include "pool.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "id.h"
#include "log.h"
#include "pool_internal.h"

static struct pool *
pool_for(struct pool **pools, int npools, const char *template_name)
{
	for (int i = 0; i < npools; i++)
		if (strcmp(pool_template(pools[i]), template_name) == 0)
			return pools[i];
	return NULL;
}

/* "demux-<id>" -> id, or NULL when the name is not an instance's. */
static const char *
container_instance_id(const char *name)
{
	size_t pl = strlen(RUNTIME_INSTANCE_PREFIX);

	if (strncmp(name, RUNTIME_INSTANCE_PREFIX, pl) != 0 || !id_valid(name + pl))
		return NULL;
	return name + pl;
}

/* "<id>.<base_domain>" -> id copied into out, or -1. */
static int
route_instance_id(const char *host, const char *base_domain, char out[ID_SIZE])
{
	const char *dot = strchr(host, '.');

	if (dot == NULL || (size_t)(dot - host) != ID_LEN || strcmp(dot + 1, base_domain) != 0)
		return -1;
	memcpy(out, host, ID_LEN);
	out[ID_LEN] = '\0';
	return id_valid(out) ? 0 : -1;
}

/* What the store, the runtime and the proxy hold at one moment. */
struct snapshot {
	struct instance *recs;
	struct container_info *ctrs;
	struct route *routes;
	int nrecs, nctrs, nroutes;
};

/* What reconciliation did, for its summary line. */
struct tally {
	int adopted, undone, finished, orphans;
};

/* Fills s (the caller frees it with snapshot_free, also on failure).
 *
 * Containers and routes are read before the records. A record is written
 * before its container and route exist and removed after they are gone
 * (pool.c), so whatever the first two lists hold had its record before
 * they were read and still has it when the records are read, unless it was
 * taken down in between. Read the other way round, another node sharing
 * the store (and the proxy, or here the Podman service) could reserve a
 * copy after the records were read and restore it or add its route before
 * the other lists were: its live container or route would look orphaned. */
static int
snapshot_take(const struct pool_env *env, struct snapshot *s, char *err, size_t errlen)
{
	const struct store *st = env->store;
	const struct proxy *px = env->proxy;

	memset(s, 0, sizeof(*s));
	if (env->runtime.ops->list(env->runtime.ctx, &s->ctrs, &s->nctrs, err, errlen) == -1 ||
	    (px != NULL && px->ops->list(px->ctx, &s->routes, &s->nroutes, err, errlen) == -1) ||
	    st->ops->list(st->ctx, NULL, -1, &s->recs, &s->nrecs, err, errlen) == -1)
		return -1;
	return 0;
}

static void
snapshot_free(struct snapshot *s)
{
	free(s->recs);
	free(s->ctrs);
	free(s->routes);
	memset(s, 0, sizeof(*s));
}

static bool
snapshot_has_record(const struct snapshot *s, const char *id)
{
	for (int i = 0; i < s->nrecs; i++)
		if (strcmp(s->recs[i].id, id) == 0)
			return true;
	return false;
}

static bool
snapshot_has_route(const struct snapshot *s, const char *host)
{
	for (int i = 0; i < s->nroutes; i++)
		if (strcmp(s->routes[i].host, host) == 0)
			return true;
	return false;
}

/* A READY or CLAIMED record is adopted when its container runs (its route
 * re-added if the proxy lost it); without a running container it is removed. */
static void
adopt_or_remove(struct pool *p, const struct snapshot *s, const struct instance *in,
		struct tally *t)
{
	const struct pool_env *env = pool_env_of(p);
	const struct container_info *ci = pool_find_container(s->ctrs, s->nctrs, in->container);
	char domain[320], e[1024];

	if (ci == NULL || !ci->running) {
		log_info("reconcile: record without running container id=%s state=%s; removing",
			 in->id, store_state_name(in->state));
		if (pool_teardown(p, in, e, sizeof(e)) == -1)
			log_warnx("reconcile: remove id=%s: %s", in->id, e);
		t->undone++;
		return;
	}
	pool_slot_mark(p, in->app_port, 1);
	pool_instance_domain(env, in, domain, sizeof(domain));
	if (!snapshot_has_route(s, domain) && env->proxy != NULL) {
		if (pool_route_add(env, in, domain, e, sizeof(e)) == -1) {
			log_warnx("reconcile: re-add route id=%s: %s; removing", in->id, e);
			if (pool_teardown(p, in, e, sizeof(e)) == -1)
				log_warnx("reconcile: remove id=%s: %s", in->id, e);
			t->undone++;
			return;
		}
		log_info("reconcile: route re-added id=%s", in->id);
	}
	log_info("reconcile: adopted id=%s template=%s state=%s", in->id, in->template_name,
		 store_state_name(in->state));
	t->adopted++;
}

/* Brings one record to a state the pool can run with: half-done
 * transitions are undone or finished, the rest adopted or removed. */
static void
reconcile_record(struct pool **pools, int npools, const struct snapshot *s,
		 const struct instance *in, struct tally *t)
{
	struct pool *p = pool_for(pools, npools, in->template_name);
	char e[1024];

	/* Another node's copy, in a store several nodes share: its container
	 * is not here to judge by. */
	if (!pool_hosts(pool_env_of(pools[0]), in))
		return;
	if (p == NULL) {
		/* Template no longer configured: nothing can serve or refill it.
		 * Its database mode is unknown, so only route, container and
		 * record are removed. */
		log_warnx("reconcile: template=%s id=%s has no pool; removing", in->template_name,
			  in->id);
		if (pool_teardown_env(pool_env_of(pools[0]), in, false, e, sizeof(e)) == -1)
			log_warnx("reconcile: remove id=%s: %s", in->id, e);
		t->undone++;
		return;
	}
	switch (in->state) {
	case INSTANCE_PROVISIONING:
		log_info("reconcile: undo half-provisioned id=%s template=%s", in->id,
			 in->template_name);
		if (pool_teardown(p, in, e, sizeof(e)) == -1)
			log_warnx("reconcile: undo id=%s: %s", in->id, e);
		t->undone++;
		break;
	case INSTANCE_RELEASING:
		log_info("reconcile: finish release id=%s template=%s", in->id, in->template_name);
		pool_slot_mark(p, in->app_port, 1);
		if (pool_release(p, in->id, e, sizeof(e)) == -1)
			log_warnx("reconcile: release id=%s: %s", in->id, e);
		t->finished++;
		break;
	case INSTANCE_READY:
	case INSTANCE_CLAIMED:
		adopt_or_remove(p, s, in, t);
		break;
	}
}

/* Containers named like an instance that no record names. Only instances of
 * templates this daemon pools are its to judge: another daemon may share the
 * Podman service. */
static void
remove_orphan_containers(struct pool **pools, int npools, const struct snapshot *s, struct tally *t)
{
	const struct pool_env *env = pool_env_of(pools[0]);
	char e[1024];

	for (int i = 0; i < s->nctrs; i++) {
		const struct container_info *c = &s->ctrs[i];
		const char *cid = container_instance_id(c->name);

		if (cid == NULL || pool_for(pools, npools, c->template_name) == NULL ||
		    snapshot_has_record(s, cid))
			continue;
		log_info("reconcile: orphan container name=%s; removing", c->name);
		if (env->runtime.ops->remove(env->runtime.ctx, c->name, e, sizeof(e)) == -1)
			log_warnx("reconcile: remove container %s: %s", c->name, e);
		t->orphans++;
	}
}

/* Routes "<id>.<base_domain>" that no record names. A route for another
 * base domain or of another form is not ours to judge. */
static void
remove_orphan_routes(const struct pool_env *env, const struct snapshot *s, struct tally *t)
{
	char e[1024];

	for (int i = 0; i < s->nroutes; i++) {
		const char *host = s->routes[i].host;
		char rid[ID_SIZE];

		if (route_instance_id(host, env->cfg->base_domain, rid) == -1 ||
		    snapshot_has_record(s, rid))
			continue;
		log_info("reconcile: orphan route host=%s; removing", host);
		if (env->proxy->ops->remove(env->proxy->ctx, host, e, sizeof(e)) == -1)
			log_warnx("reconcile: remove route %s: %s", host, e);
		t->orphans++;
	}
}

int
pool_reconcile(struct pool **pools, int npools, char *err, size_t errlen)
{
	struct snapshot s;
	struct tally t = {0};
	int rc = -1;

	if (npools == 0)
		return 0;
	if (snapshot_take(pool_env_of(pools[0]), &s, err, errlen) == -1)
		goto out;
	for (int i = 0; i < s.nrecs; i++)
		reconcile_record(pools, npools, &s, &s.recs[i], &t);
	/* Containers and routes nobody has a record of. Everything is read
	 * again: the records pass removed some. */
	snapshot_free(&s);
	if (snapshot_take(pool_env_of(pools[0]), &s, err, errlen) == -1)
		goto out;
	remove_orphan_containers(pools, npools, &s, &t);
	remove_orphan_routes(pool_env_of(pools[0]), &s, &t);
	log_info("reconcile done adopted=%d undone=%d finished=%d orphans_removed=%d", t.adopted,
		 t.undone, t.finished, t.orphans);
	rc = 0;
out:
	snapshot_free(&s);
	return rc;
}
