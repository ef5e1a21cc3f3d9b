/*
 * pool_version — a pool and the versions of its template
 * (template_version.h).
 *
 * The reaper looks at the template's versions every VERSION_REFRESH_S:
 * when the version to serve changes (a new one made, a rollback, one marked
 * failed), new copies restore the new one, and the ready copies of other
 * versions are retired one at a time, each only once the pool has more
 * ready copies than min_ready (new ones first, then the old ones go).
 * Claimed copies keep their version until they end. At max_instances, with
 * nothing being prepared and the new version known to work, one old ready
 * copy goes first to make room.
 *
 * A new version that fails VERSION_FAILURES times in a row at restore, hook
 * or health check is judged by one copy of the version before it: if that
 * one becomes ready, the new version is marked failed (template ls shows the
 * reason) and the pool serves the one before; if it fails too, the machine
 * is the problem, not the version, and nothing is marked.
 *
 * Versions nothing needs any more (template_version_unneeded) are removed
 * every VERSION_COLLECT_S, their restore images with them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pool_internal.h"
#include "template.h"
#include "template_version.h"
#include "xmalloc.h"

#define VERSION_REFRESH_S 2
#define VERSION_COLLECT_S 10
#define VERSION_FAILURES 3

static int
version_of(const struct instance *in)
{
	return in->version > 0 ? in->version : 1; /* records made before versions */
}

/* Keeps a copy of m for the pool's lifetime; the kept one of that version
 * when there is one. Under mu, or before the pool's threads start. */
static const struct template_meta *
keep(struct pool *p, const struct template_meta *m)
{
	for (int i = 0; i < p->nmetas; i++)
		if (p->metas[i]->version == m->version)
			return p->metas[i];
	p->metas = xrealloc(p->metas, (size_t)(p->nmetas + 1) * sizeof(struct template_meta *));
	p->metas[p->nmetas] = xcalloc(1, sizeof(**p->metas));
	*p->metas[p->nmetas] = *m;
	return p->metas[p->nmetas++];
}

static const struct template_meta *
kept(struct pool *p, int version)
{
	for (int i = 0; i < p->nmetas; i++)
		if (p->metas[i]->version == version)
			return p->metas[i];
	return NULL;
}

void
pool_version_init(struct pool *p)
{
	struct template_meta first = *p->env.tmpl;

	if (first.version < 1)
		first.version = 1;
	p->tmpl = keep(p, &first);
	explicit_bzero(&first, sizeof(first));
}

void
pool_version_free(struct pool *p)
{
	/* template metadata holds database and admin passwords */
	for (int i = 0; i < p->nmetas; i++) {
		explicit_bzero(p->metas[i], sizeof(*p->metas[i]));
		free(p->metas[i]);
	}
	free(p->metas);
	p->metas = NULL;
	p->nmetas = 0;
}

const struct template_meta *
pool_version_next(struct pool *p)
{
	if (p->fallback != NULL && p->tmpl_failures >= VERSION_FAILURES && !p->probing) {
		p->probing = true;
		log_warnx("template version failed %d times in a row template=%s version=%d "
			  "reason=\"%s\"; restoring version %d to tell a broken version from a "
			  "broken machine",
			  p->tmpl_failures, pool_template(p), p->tmpl->version, p->tmpl_error,
			  p->fallback->version);
		return p->fallback;
	}
	return p->tmpl;
}

bool
pool_version_stale(const struct pool_env *env, const struct instance *in, int serving)
{
	return in->state == INSTANCE_READY && pool_hosts(env, in) && version_of(in) != serving;
}

/* The served version failed while the one before it restores: marked
 * failed on disk, and the pool serves the one before. */
static void
give_up_version(struct pool *p, const struct template_meta *bad, const struct template_meta *good,
		const char *reason)
{
	char err[512];
	const struct template_source *src = &p->env.versions;

	if (src->ops != NULL && src->ops->mark_failed(src->ctx, pool_template(p), bad->version,
						      reason, err, sizeof(err)) == -1)
		log_warnx("template version not marked failed template=%s version=%d: %s",
			  pool_template(p), bad->version, err);
	log_error("template version failed template=%s version=%d reason=\"%s\"; serving version "
		  "%d",
		  pool_template(p), bad->version, reason, good->version);
	pthread_mutex_lock(&p->mu);
	if (p->tmpl == bad) {
		p->tmpl = good;
		p->fallback = NULL; /* the next look at the versions finds the one before */
		p->tmpl_proven = true;
		p->tmpl_failures = 0;
		snprintf(p->version_error, sizeof(p->version_error), "version %d failed: %.200s",
			 bad->version, reason);
		pthread_cond_broadcast(&p->wake);
	}
	pthread_mutex_unlock(&p->mu);
}

void
pool_version_result(struct pool *p, const struct template_meta *t, bool ok, const char *reason)
{
	const struct template_meta *bad = NULL;
	char why[256] = "";

	pthread_mutex_lock(&p->mu);
	if (t == p->tmpl) {
		if (ok) {
			p->tmpl_proven = true;
			p->tmpl_failures = 0;
		} else {
			p->tmpl_failures++;
			snprintf(p->tmpl_error, sizeof(p->tmpl_error), "%s", reason);
		}
	} else if (t == p->fallback && p->probing) {
		p->probing = false;
		if (ok) {
			bad = p->tmpl;
			snprintf(why, sizeof(why), "%s", p->tmpl_error);
		} else {
			/* both fail: not the version's fault */
			p->tmpl_failures = 0;
			log_warnx("version %d fails too template=%s: the machine, not version %d, "
				  "is at fault",
				  t->version, pool_template(p), p->tmpl->version);
		}
	}
	pthread_mutex_unlock(&p->mu);
	if (bad != NULL)
		give_up_version(p, bad, t, why);
}

/* Version v from the source, if the pool can serve it: 0, or -1 with why. */
static int
fetch_version(struct pool *p, int v, struct template_meta *m, char *err, size_t errlen)
{
	const struct template_source *src = &p->env.versions;
	char profile[sizeof(m->profile)];

	if (src->ops->load(src->ctx, pool_template(p), v, m, err, errlen) == -1)
		return -1;
	/* the pool's app profile is the first version's */
	pthread_mutex_lock(&p->mu);
	snprintf(profile, sizeof(profile), "%s", p->metas[0]->profile);
	pthread_mutex_unlock(&p->mu);
	if (strcmp(m->profile, profile) != 0) {
		snprintf(err, errlen,
			 "version %d has profile %s, the pool's copies run %s: make a template of "
			 "another name for it",
			 v, m->profile, profile);
		return -1;
	}
	return 0;
}

/* Loads version v (kept when it was loaded before); NULL after marking it
 * failed when it cannot be served (its files, network or profile). */
static const struct template_meta *
load_version(struct pool *p, int v)
{
	const struct template_source *src = &p->env.versions;
	struct template_meta *m;
	const struct template_meta *k;
	char err[768], e[256];

	pthread_mutex_lock(&p->mu);
	k = kept(p, v);
	pthread_mutex_unlock(&p->mu);
	if (k != NULL)
		return k;
	m = xcalloc(1, sizeof(*m));
	if (fetch_version(p, v, m, err, sizeof(err)) == -1) {
		log_error("template version cannot be served template=%s version=%d reason=\"%s\"",
			  pool_template(p), v, err);
		if (src->ops->mark_failed(src->ctx, pool_template(p), v, err, e, sizeof(e)) == -1)
			log_warnx("template version not marked failed template=%s version=%d: %s",
				  pool_template(p), v, e);
		k = NULL;
	} else {
		pthread_mutex_lock(&p->mu);
		k = keep(p, m);
		pthread_mutex_unlock(&p->mu);
	}
	explicit_bzero(m, sizeof(*m));
	free(m);
	return k;
}

/* Looks at the versions on disk; switches the served and fallback ones. */
static void
refresh(struct pool *p, struct template_pick *pk)
{
	const struct template_source *src = &p->env.versions;
	const struct template_meta *serve, *fb = NULL;
	char err[512];
	int was;

	if (src->ops->pick(src->ctx, pool_template(p), pk, err, sizeof(err)) == -1) {
		log_warnx("template versions template=%s: %s", pool_template(p), err);
		pk->serving = 0;
		return;
	}
	serve = load_version(p, pk->serving);
	if (serve == NULL) {
		pk->serving = 0; /* marked failed: the next look falls back */
		return;
	}
	if (pk->fallback > 0)
		fb = load_version(p, pk->fallback);
	pthread_mutex_lock(&p->mu);
	was = p->tmpl->version;
	if (serve != p->tmpl) {
		p->tmpl = serve;
		p->tmpl_proven = false;
		p->tmpl_failures = 0;
		p->probing = false;
		pthread_cond_broadcast(&p->wake);
	}
	p->fallback = fb;
	if (pk->serving == pk->current)
		p->version_error[0] = '\0';
	else
		snprintf(p->version_error, sizeof(p->version_error), "version %d failed: %.200s",
			 pk->current, pk->failed_reason);
	pthread_mutex_unlock(&p->mu);
	if (was != pk->serving)
		log_info("template version served template=%s version=%d was=%d", pool_template(p),
			 pk->serving, was);
}

/* Retires one ready copy of an older version when the pool can spare it. */
static void
retire_one(struct pool *p, const struct instance *v, int n)
{
	const struct pool_config *pc = pool_settings(p);
	const struct instance *old = NULL;
	int ready = 0, stale = 0, provisioning = 0, serving, r;
	bool proven;
	char err[512];

	pthread_mutex_lock(&p->mu);
	serving = p->tmpl->version;
	proven = p->tmpl_proven;
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < n; i++) {
		ready += v[i].state == INSTANCE_READY;
		provisioning += v[i].state == INSTANCE_PROVISIONING;
		if (pool_version_stale(&p->env, &v[i], serving)) {
			stale++;
			if (old == NULL || v[i].ready_at < old->ready_at)
				old = &v[i];
		}
	}
	if (old == NULL ||
	    !(ready > pc->min_ready || (n >= pc->max_instances && provisioning == 0 && proven)))
		return;
	pthread_mutex_lock(&p->mu);
	r = p->env.store->ops->cas_state(p->env.store->ctx, old->id, INSTANCE_READY,
					 INSTANCE_RELEASING, err, sizeof(err));
	pthread_mutex_unlock(&p->mu);
	if (r != 0)
		return; /* claimed in the meantime, or the store is down */
	log_info("instance retired template=%s id=%s version=%d serving=%d stale_left=%d",
		 pool_template(p), old->id, version_of(old), serving, stale - 1);
	pool_release(p, old->id, err, sizeof(err));
}

/* Removes the versions nothing needs any more. */
static void
collect(struct pool *p, const struct template_pick *pk, const struct instance *v, int n)
{
	const struct template_source *src = &p->env.versions;
	int vers[TEMPLATE_MAX_VERSIONS], nv = 0;
	bool proven;
	char err[512];

	if (src->ops->versions(src->ctx, pool_template(p), vers, TEMPLATE_MAX_VERSIONS, &nv, err,
			       sizeof(err)) == -1) {
		log_warnx("template versions template=%s: %s", pool_template(p), err);
		return;
	}
	pthread_mutex_lock(&p->mu);
	proven = p->tmpl_proven && p->tmpl->version == pk->serving;
	pthread_mutex_unlock(&p->mu);
	for (int k = 0; k < nv; k++) {
		bool in_use = false;
		int r;

		for (int i = 0; i < n && !in_use; i++)
			in_use = pool_hosts(&p->env, &v[i]) && version_of(&v[i]) == vers[k];
		if (!template_version_unneeded(pk, vers[k], proven, in_use))
			continue;
		r = src->ops->remove(src->ctx, pool_template(p), vers[k], err, sizeof(err));
		if (r == 0)
			log_info(
			    "template version removed template=%s version=%d (no copy uses it)",
			    pool_template(p), vers[k]);
		else if (r == -1)
			log_warnx("template version not removed template=%s version=%d: %s",
				  pool_template(p), vers[k], err);
	}
}

void
pool_version_tick(struct pool *p, const struct instance *v, int n, long long now)
{
	struct template_pick pk;

	if (p->env.versions.ops == NULL)
		return;
	if (now - p->last_refresh >= VERSION_REFRESH_S) {
		p->last_refresh = now;
		refresh(p, &pk);
		if (pk.serving > 0 && now - p->last_collect >= VERSION_COLLECT_S) {
			p->last_collect = now;
			collect(p, &pk, v, n);
		}
	}
	retire_one(p, v, n);
}
