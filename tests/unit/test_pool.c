/*
 * Unit tests of the pool's state machine: every transition and failure edge,
 * with fake runtime, proxy and profile, and the real SQLite store in a
 * temporary file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fake_deps.h"
#include "pool.h"
#include "store/store.h"
#include "template.h"

/* TCP segments received per instance, for idle detection: index 0 for the first
 * instance claimed in a test, 1 for the second */
static long long fake_rx[2];
static char fake_rx_ids[2][ID_SIZE];

static int
fake_tcp_segments(const struct pool_env *env, const struct instance *in, long long *segs, char *err,
		  size_t errlen)
{
	(void)env;
	for (int i = 0; i < 2; i++)
		if (strcmp(fake_rx_ids[i], in->id) == 0) {
			*segs = fake_rx[i];
			return 0;
		}
	snprintf(err, errlen, "no traffic figure for %s", in->id);
	return -1;
}

/* The fixture's pool again with idle_timeout 60 s and the fake traffic
 * figures, filled. */
static void
idle_pool(struct pool_fixture *f)
{
	f->pcfg.idle_timeout_s = 60;
	f->env.tcp_segments = fake_tcp_segments;
	pool_free(f->pool);
	f->pool = pool_create(&f->env);
	pool_fixture_fill(f);
}

static void
test_fills_to_min_ready(void **state)
{
	struct pool_fixture *f = *state;
	struct instance *v;
	int n;
	char err[256], host[320];

	pool_fixture_fill(f);
	assert_int_equal(pool_fixture_count(f, INSTANCE_READY), 2);
	assert_int_equal(f->rt.restores, 2);
	assert_int_equal(f->rt.n, 2);
	assert_int_equal(f->px.n, 2);
	assert_int_equal(fake_profile_state.after_restore_calls, 2);
	assert_int_equal(
	    f->store.ops->list(f->store.ctx, "shop", INSTANCE_READY, &v, &n, err, sizeof(err)), 0);
	for (int i = 0; i < n; i++) {
		snprintf(host, sizeof(host), "%s.demo.localhost", v[i].id);
		assert_true(fake_proxy_has(&f->px, host));
		assert_string_equal(v[i].method, "criu_restore");
		assert_string_equal(v[i].prefix, "ps_");
		/* No database port is published: the hook uses the copy's socket. */
		assert_int_equal(v[i].db_port, 0);
		assert_true(v[i].app_port >= 41000 && v[i].app_port <= 41098);
	}
	assert_int_not_equal(v[0].app_port, v[1].app_port);
	assert_true(strncmp(fake_profile_state.last_db_socket, "/proc/4000", 10) == 0);
	assert_non_null(strstr(fake_profile_state.last_db_socket, "/root/run/mysqld/mysqld.sock"));
	free(v);
}

static void
test_claims_distinct_and_refill(void **state)
{
	struct pool_fixture *f = *state;
	struct instance a, b, c;
	char err[256];
	int retry = 0;

	pool_fixture_fill(f);
	assert_int_equal(pool_claim(f->pool, "192.0.2.1", 0, &a, &retry, err, sizeof(err)),
			 CLAIM_OK);
	assert_int_equal(pool_claim(f->pool, "192.0.2.2", 0, &b, &retry, err, sizeof(err)),
			 CLAIM_OK);
	assert_string_not_equal(a.id, b.id);
	assert_string_not_equal(a.owner_token, b.owner_token);
	assert_true(strlen(a.owner_token) >= 43);
	assert_int_equal(a.expires_at, fake_clock + 600);
	/* Nothing ready: the caller is told to retry. */
	assert_int_equal(pool_claim(f->pool, "192.0.2.3", 0, &c, &retry, err, sizeof(err)),
			 CLAIM_PROVISIONING);
	assert_true(retry >= 250);
	/* Refill: max_instances 4 allows 2 more. */
	pool_fixture_fill(f);
	assert_int_equal(pool_fixture_count(f, INSTANCE_READY), 2);
	assert_int_equal(pool_fixture_count(f, INSTANCE_CLAIMED), 2);
	assert_int_equal(pool_claim(f->pool, "192.0.2.3", 0, &c, &retry, err, sizeof(err)),
			 CLAIM_OK);
	assert_string_not_equal(c.id, a.id);
	assert_string_not_equal(c.id, b.id);
}

static void
test_max_instances_respected(void **state)
{
	struct pool_fixture *f = *state;
	struct instance in;
	char err[256];
	int retry;

	for (int i = 0; i < 4; i++) {
		pool_fixture_fill(f);
		assert_int_equal(pool_claim(f->pool, "ip", 0, &in, &retry, err, sizeof(err)),
				 CLAIM_OK);
	}
	pool_fixture_fill(f);
	assert_int_equal(pool_fixture_count(f, -1), 4);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &in, &retry, err, sizeof(err)),
			 CLAIM_AT_CAPACITY);
	assert_non_null(strstr(err, "in use"));
}

/* min_ready = 0: nothing is kept warm, a claim that finds nothing starts one
 * provisioning, and a failure does not leave the pool stuck. */
static void
test_min_ready_zero_provisions_on_demand(void **state)
{
	struct pool_fixture *f = *state;
	struct instance a, b;
	char err[512];
	int retry = 0;

	f->pcfg.min_ready = 0;
	pool_fixture_fill(f);
	assert_int_equal(pool_fixture_count(f, -1), 0);
	assert_int_equal(pool_claim(f->pool, "192.0.2.1", 0, &a, &retry, err, sizeof(err)),
			 CLAIM_PROVISIONING);
	pool_fixture_fill(f);
	assert_int_equal(pool_fixture_count(f, INSTANCE_READY), 1); /* one, not more */
	assert_int_equal(pool_claim(f->pool, "192.0.2.1", 0, &a, &retry, err, sizeof(err)),
			 CLAIM_OK);
	pool_fixture_fill(f);
	assert_int_equal(pool_fixture_count(f, INSTANCE_READY), 0); /* no demand left */

	/* A failed provisioning: the claim after it reports the error, and the
	 * next worker round tries again for it. */
	f->rt.fail_restore = true;
	f->pcfg.cold_start_fallback = false;
	assert_int_equal(pool_claim(f->pool, "192.0.2.2", 0, &b, &retry, err, sizeof(err)),
			 CLAIM_PROVISIONING);
	assert_int_equal(pool_provision_one(f->pool, err, sizeof(err)), -1);
	assert_int_equal(pool_claim(f->pool, "192.0.2.2", 0, &b, &retry, err, sizeof(err)),
			 CLAIM_ERROR);
	f->rt.fail_restore = false;
	assert_int_equal(pool_provision_one(f->pool, err, sizeof(err)), 1);
	assert_int_equal(pool_claim(f->pool, "192.0.2.2", 0, &b, &retry, err, sizeof(err)),
			 CLAIM_OK);
	assert_string_not_equal(a.id, b.id);
}

static void
test_cold_start_fallback(void **state)
{
	struct pool_fixture *f = *state;
	struct instance *v;
	int n;
	char err[256];

	f->rt.fail_restore = true;
	pool_fixture_fill(f);
	assert_int_equal(f->rt.runs, 2);
	assert_int_equal(
	    f->store.ops->list(f->store.ctx, "shop", INSTANCE_READY, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].method, "cold_start");
	free(v);
}

/* A template with a prepared restore: copies come from it; when it fails,
 * from the full archive, and the failed attempt leaves nothing behind. */
static void
test_prepared_restore_and_its_fallback(void **state)
{
	struct pool_fixture *f = *state;
	struct instance *v;
	int n;
	char err[256];

	snprintf(f->tmpl.archive_path, sizeof(f->tmpl.archive_path), "/t/shop/checkpoint.tar");
	snprintf(f->tmpl.restore_archive_path, sizeof(f->tmpl.restore_archive_path),
		 "/t/shop/restore.tar");
	f->tmpl.cpus = 0.5;
	f->pcfg.min_ready = 1;
	pool_fixture_renew(f);
	pool_fixture_fill(f);
	assert_int_equal(f->rt.restores, 1);
	assert_string_equal(f->rt.last_archive, "/t/shop/restore.tar");
	/* restored without its CPU limit, which goes on before it is ready */
	assert_int_equal(f->rt.set_cpus_calls, 1);
	assert_true(f->rt.last_cpus == 0.5);

	snprintf(f->rt.fail_restore_from, sizeof(f->rt.fail_restore_from), "/t/shop/restore.tar");
	f->pcfg.min_ready = 2;
	pool_fixture_fill(f);
	assert_int_equal(f->rt.restores, 3); /* the prepared one, then the archive */
	assert_string_equal(f->rt.last_archive, "/t/shop/checkpoint.tar");
	assert_int_equal(f->rt.runs, 0);
	assert_int_equal(f->rt.n, 2); /* no container of the failed attempt */
	assert_int_equal(
	    f->store.ops->list(f->store.ctx, "shop", INSTANCE_READY, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].method, "criu_restore");
	free(v);

	/* [pool] restore = archive: the prepared restore is not tried. */
	f->rt.fail_restore_from[0] = '\0';
	f->pcfg.restore_from = RESTORE_ARCHIVE;
	f->pcfg.min_ready = 3;
	pool_fixture_fill(f);
	assert_int_equal(f->rt.restores, 4);
	assert_string_equal(f->rt.last_archive, "/t/shop/checkpoint.tar");
	assert_int_equal(f->rt.set_cpus_calls, 1); /* the archive's copies have it */

	/* A copy whose limit cannot be set is not kept: it is removed, and the
	 * archive's copy, limited from its start, takes its place. */
	f->pcfg.restore_from = RESTORE_PREPARED;
	f->rt.fail_set_cpus = true;
	f->pcfg.min_ready = 4;
	pool_fixture_fill(f);
	assert_int_equal(f->rt.restores, 6);
	assert_int_equal(f->rt.set_cpus_calls, 2);
	assert_string_equal(f->rt.last_archive, "/t/shop/checkpoint.tar");
	assert_int_equal(f->rt.n, 4);
}

static void
assert_nothing_left(struct pool_fixture *f)
{
	assert_int_equal(f->rt.n, 0);
	assert_int_equal(f->px.n, 0);
	assert_int_equal(pool_fixture_count(f, -1), 0);
}

static void
test_restore_failure_without_fallback(void **state)
{
	struct pool_fixture *f = *state;
	struct instance in;
	char err[512];
	int retry;

	f->rt.fail_restore = true;
	f->pcfg.cold_start_fallback = false;
	assert_int_equal(pool_provision_one(f->pool, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "corrupt archive"));
	assert_int_equal(f->rt.runs, 0);
	assert_nothing_left(f);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &in, &retry, err, sizeof(err)), CLAIM_ERROR);
	assert_non_null(strstr(err, "corrupt archive"));
}

static void
test_hook_failure_destroys(void **state)
{
	struct pool_fixture *f = *state;
	char err[512];
	struct pool_stats st;

	fake_profile_state.fail_after_restore = true;
	assert_int_equal(pool_provision_one(f->pool, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "after_restore"));
	assert_nothing_left(f);
	pool_get_stats(f->pool, &st);
	assert_int_equal(st.provision_failures, 1);
}

static void
test_health_failure_destroys(void **state)
{
	struct pool_fixture *f = *state;
	char err[512];

	fake_health_fails = true;
	assert_int_equal(pool_provision_one(f->pool, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "health"));
	assert_nothing_left(f);
}

static void
test_route_failure_destroys(void **state)
{
	struct pool_fixture *f = *state;
	char err[512];

	f->px.fail_add = true;
	assert_int_equal(pool_provision_one(f->pool, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "route"));
	assert_nothing_left(f);
}

static void
test_expiry_and_extend(void **state)
{
	struct pool_fixture *f = *state;
	struct instance a, b, ext;
	char err[256], host[320];
	int retry;
	struct pool_stats st;

	pool_fixture_fill(f);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &a, &retry, err, sizeof(err)), CLAIM_OK);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &b, &retry, err, sizeof(err)), CLAIM_OK);
	/* extend moves expires_at, bounded by claimed_at + max_ttl */
	assert_int_equal(pool_extend(f->pool, b.id, 10, &ext, err, sizeof(err)), 0);
	assert_int_equal(ext.expires_at, b.expires_at + 600);
	assert_int_equal(pool_extend(f->pool, b.id, 600, &ext, err, sizeof(err)), 0);
	assert_int_equal(ext.expires_at, b.claimed_at + 1800);
	assert_int_equal(pool_extend(f->pool, b.id, 0, &ext, err, sizeof(err)), -1);
	assert_int_equal(pool_extend(f->pool, "aaaaaaaaaaaaaaaa", 5, &ext, err, sizeof(err)), -1);
	fake_clock += 601;
	pool_reap(f->pool);
	snprintf(host, sizeof(host), "%s.demo.localhost", a.id);
	assert_false(fake_proxy_has(&f->px, host));
	assert_false(fake_runtime_has(&f->rt, a.container));
	assert_int_equal(f->store.ops->get(f->store.ctx, a.id, &ext, err, sizeof(err)),
			 STORE_NOT_FOUND);
	/* b was extended and is still there */
	assert_int_equal(f->store.ops->get(f->store.ctx, b.id, &ext, err, sizeof(err)), 0);
	assert_int_equal(ext.state, INSTANCE_CLAIMED);
	pool_get_stats(f->pool, &st);
	assert_int_equal(st.expirations, 1);
	assert_int_equal(st.releases, 1);
	fake_clock += 1800;
	pool_reap(f->pool);
	assert_int_equal(pool_fixture_count(f, -1), 0);
}

/* A configuration reload hands the running pool new settings: a higher
 * min_ready fills up, a new ttl applies to the next claim, a claimed demo
 * keeps its route and container. */
static void
test_settings_replaced_while_running(void **state)
{
	struct pool_fixture *f = *state;
	static struct pool_config pc;
	struct instance a, b;
	char err[256], host[320];
	int retry;

	pool_fixture_fill(f);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &a, &retry, err, sizeof(err)), CLAIM_OK);
	assert_int_equal(a.expires_at, fake_clock + 600);
	pc = f->pcfg;
	pc.min_ready = 3;
	pc.ttl_s = 1200;
	pool_set_config(f->pool, &pc);
	assert_ptr_equal(pool_settings(f->pool), &pc);
	pool_fixture_fill(f);
	assert_int_equal(pool_fixture_count(f, INSTANCE_READY), 3);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &b, &retry, err, sizeof(err)), CLAIM_OK);
	assert_int_equal(b.expires_at, fake_clock + 1200);
	snprintf(host, sizeof(host), "%s.demo.localhost", a.id);
	assert_true(fake_proxy_has(&f->px, host));
	assert_true(fake_runtime_has(&f->rt, a.container));
	/* a lower min_ready keeps the ready copies until they are claimed */
	pc.min_ready = 0;
	pool_fixture_fill(f);
	pool_reap(f->pool);
	assert_int_equal(pool_fixture_count(f, INSTANCE_READY), 2);
}

/* A pool removed from the configuration: no claims, no provisioning, its
 * ready copies released by the reaper; a claimed one lives on, can be
 * extended and released, or expires. Taken back, it fills again. */
static void
test_draining(void **state)
{
	struct pool_fixture *f = *state;
	struct instance a, b, ext;
	char err[256], host[320];
	int retry;

	pool_fixture_fill(f);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &a, &retry, err, sizeof(err)), CLAIM_OK);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &b, &retry, err, sizeof(err)), CLAIM_OK);
	pool_fixture_fill(f);
	assert_int_equal(pool_fixture_count(f, INSTANCE_READY), 2);
	assert_int_equal(f->rt.n, 4);
	pool_set_draining(f->pool, true);
	assert_true(pool_draining(f->pool));
	assert_int_equal(pool_claim(f->pool, "ip", 0, &ext, &retry, err, sizeof(err)), CLAIM_ERROR);
	assert_string_equal(err, "no pool for template shop");
	pool_reap(f->pool);
	assert_int_equal(pool_fixture_count(f, INSTANCE_READY), 0);
	assert_int_equal(pool_fixture_count(f, INSTANCE_CLAIMED), 2);
	assert_int_equal(f->rt.n, 2);
	assert_int_equal(f->px.n, 2);
	/* nothing is provisioned, whatever min_ready says */
	assert_int_equal(pool_provision_one(f->pool, err, sizeof(err)), 0);
	assert_int_equal(f->rt.n, 2);
	/* the claimed copies: extend, release, expiry */
	assert_int_equal(pool_extend(f->pool, a.id, 10, &ext, err, sizeof(err)), 0);
	assert_int_equal(pool_release(f->pool, a.id, err, sizeof(err)), 0);
	snprintf(host, sizeof(host), "%s.demo.localhost", a.id);
	assert_false(fake_proxy_has(&f->px, host));
	assert_false(fake_runtime_has(&f->rt, a.container));
	snprintf(host, sizeof(host), "%s.demo.localhost", b.id);
	assert_true(fake_proxy_has(&f->px, host));
	fake_clock += 601;
	pool_reap(f->pool);
	assert_int_equal(pool_fixture_count(f, -1), 0);
	assert_int_equal(f->rt.n, 0);
	assert_int_equal(f->px.n, 0);
	/* back in the configuration */
	pool_set_draining(f->pool, false);
	pool_fixture_fill(f);
	assert_int_equal(pool_fixture_count(f, INSTANCE_READY), 2);
}

/* idle_timeout: an instance whose container receives traffic stays; one that
 * receives none for idle_timeout is released, well before its expiry. */
static void
test_idle_by_traffic(void **state)
{
	struct pool_fixture *f = *state;
	struct instance a, b, cur;
	char err[256];
	int retry;

	idle_pool(f);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &a, &retry, err, sizeof(err)), CLAIM_OK);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &b, &retry, err, sizeof(err)), CLAIM_OK);
	snprintf(fake_rx_ids[0], ID_SIZE, "%s", a.id);
	snprintf(fake_rx_ids[1], ID_SIZE, "%s", b.id);
	fake_rx[0] = fake_rx[1] = 5000;
	pool_reap(f->pool); /* first look: counts recorded, nothing touched */
	for (int minute = 0; minute < 4; minute++) {
		fake_clock += 30;
		fake_rx[0] += 1200; /* a's visitor keeps clicking */
		pool_reap(f->pool);
		fake_clock += 30;
		pool_reap(f->pool);
		if (minute == 0) { /* b: 60 s without a byte */
			assert_int_equal(
			    f->store.ops->get(f->store.ctx, b.id, &cur, err, sizeof(err)),
			    STORE_NOT_FOUND);
			assert_false(fake_runtime_has(&f->rt, b.container));
		}
	}
	/* 4 minutes later a is still there, last seen 30 s ago. */
	assert_int_equal(f->store.ops->get(f->store.ctx, a.id, &cur, err, sizeof(err)), 0);
	assert_int_equal(cur.state, INSTANCE_CLAIMED);
	assert_int_equal(cur.last_seen_at, fake_clock - 30);
	/* Its visitor leaves: released once idle_timeout has passed. */
	fake_clock += 29; /* 59 s without a byte */
	pool_reap(f->pool);
	assert_int_equal(f->store.ops->get(f->store.ctx, a.id, &cur, err, sizeof(err)), 0);
	fake_clock += 2;
	pool_reap(f->pool);
	assert_int_equal(f->store.ops->get(f->store.ctx, a.id, &cur, err, sizeof(err)),
			 STORE_NOT_FOUND);
	f->env.tcp_segments = NULL;
}

/* A ready or claimed instance whose container stops is released by the
 * reaper's sweep: nobody is handed it, its route goes, the pool refills. */
static void
test_lost_instances_released(void **state)
{
	struct pool_fixture *f = *state;
	struct instance a, cur, *v;
	struct pool_stats st;
	char err[256], host[320];
	int retry, n;

	pool_fixture_fill(f);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &a, &retry, err, sizeof(err)), CLAIM_OK);
	pool_reap(f->pool); /* sweeps: everything runs */
	assert_int_equal(pool_fixture_count(f, -1), 2);
	assert_int_equal(
	    f->store.ops->list(f->store.ctx, "shop", INSTANCE_READY, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	fake_runtime_stop(&f->rt, a.container);
	fake_runtime_stop(&f->rt, v[0].container);
	fake_clock += 5; /* within the sweep interval: nothing yet */
	pool_reap(f->pool);
	assert_int_equal(pool_fixture_count(f, -1), 2);
	fake_clock += 15;
	pool_reap(f->pool);
	assert_int_equal(f->store.ops->get(f->store.ctx, a.id, &cur, err, sizeof(err)),
			 STORE_NOT_FOUND);
	assert_int_equal(f->store.ops->get(f->store.ctx, v[0].id, &cur, err, sizeof(err)),
			 STORE_NOT_FOUND);
	snprintf(host, sizeof(host), "%s.demo.localhost", v[0].id);
	assert_false(fake_proxy_has(&f->px, host));
	assert_false(fake_runtime_has(&f->rt, v[0].container));
	free(v);
	pool_get_stats(f->pool, &st);
	assert_int_equal(st.lost, 2);
	pool_fixture_fill(f);
	assert_int_equal(pool_fixture_count(f, INSTANCE_READY), 2);
}

static void
test_release_idempotent_and_retried(void **state)
{
	struct pool_fixture *f = *state;
	struct instance a, got;
	char err[256];
	int retry;

	pool_fixture_fill(f);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &a, &retry, err, sizeof(err)), CLAIM_OK);
	f->rt.fail_remove = true;
	assert_int_equal(pool_release(f->pool, a.id, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "container"));
	assert_int_equal(f->store.ops->get(f->store.ctx, a.id, &got, err, sizeof(err)), 0);
	assert_int_equal(got.state, INSTANCE_RELEASING);
	/* A releasing instance is never handed out and the reaper retries it. */
	f->rt.fail_remove = false;
	pool_reap(f->pool);
	assert_int_equal(f->store.ops->get(f->store.ctx, a.id, &got, err, sizeof(err)),
			 STORE_NOT_FOUND);
	assert_false(fake_runtime_has(&f->rt, a.container));
	assert_int_equal(pool_release(f->pool, a.id, err, sizeof(err)), 0);
	assert_int_equal(pool_release(f->pool, "bbbbbbbbbbbbbbbb", err, sizeof(err)), 0);
}

static void
test_shared_mode_prefix_and_release(void **state)
{
	struct pool_fixture *f = *state;
	struct instance a;
	char err[256];
	int retry;

	f->pcfg.db_mode = DB_MODE_SHARED;
	pool_fixture_fill(f);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &a, &retry, err, sizeof(err)), CLAIM_OK);
	assert_int_equal(strlen(a.prefix), 18);
	assert_int_equal(a.prefix[0], 'd');
	assert_int_equal(a.prefix[17], '_');
	assert_int_equal(pool_release(f->pool, a.id, err, sizeof(err)), 0);
	assert_int_equal(fake_profile_state.on_release_calls, 1);
}

struct claimer {
	struct pool *pool;
	struct instance got;
	enum claim_result r;
};

static void *
claim_thread(void *arg)
{
	struct claimer *c = arg;
	char err[256];
	int retry;

	c->r = pool_claim(c->pool, "ip", 0, &c->got, &retry, err, sizeof(err));
	return NULL;
}

static void
test_concurrent_claims_distinct(void **state)
{
	struct pool_fixture *f = *state;
	struct claimer c[6];
	pthread_t t[6];
	int ok = 0;

	f->pcfg.min_ready = 4;
	pool_fixture_fill(f);
	for (int i = 0; i < 6; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].pool = f->pool;
		pthread_create(&t[i], NULL, claim_thread, &c[i]);
	}
	for (int i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 6; i++) {
		if (c[i].r != CLAIM_OK)
			continue;
		ok++;
		for (int j = 0; j < i; j++)
			if (c[j].r == CLAIM_OK)
				assert_string_not_equal(c[i].got.id, c[j].got.id);
	}
	assert_int_equal(ok, 4);
}

/* A client address at its limit is refused without the pool counting a
 * failure or asking for more instances; other addresses are served. */
static void
test_claims_limited_per_client(void **state)
{
	struct pool_fixture *f = *state;
	struct instance a, b;
	struct pool_stats before, after;
	char err[256];
	int retry = 0;

	pool_fixture_fill(f);
	assert_int_equal(pool_claim(f->pool, "192.0.2.1", 1, &a, &retry, err, sizeof(err)),
			 CLAIM_OK);
	pool_get_stats(f->pool, &before);
	assert_int_equal(pool_claim(f->pool, "192.0.2.1", 1, &b, &retry, err, sizeof(err)),
			 CLAIM_CLIENT_LIMIT);
	assert_non_null(strstr(err, "192.0.2.1"));
	pool_get_stats(f->pool, &after);
	assert_int_equal(after.claims, before.claims);
	assert_int_equal(
	    after.claim_fail_provisioning + after.claim_fail_capacity + after.claim_fail_error,
	    before.claim_fail_provisioning + before.claim_fail_capacity + before.claim_fail_error);
	assert_int_equal(pool_claim(f->pool, "192.0.2.2", 1, &b, &retry, err, sizeof(err)),
			 CLAIM_OK);
	/* Once its demo is released, the first address may claim again. */
	assert_int_equal(pool_release(f->pool, a.id, err, sizeof(err)), 0);
	pool_fixture_fill(f);
	assert_int_equal(pool_claim(f->pool, "192.0.2.1", 1, &a, &retry, err, sizeof(err)),
			 CLAIM_OK);
}

/* Extends are counted per claim and refused past max_extends. */
static void
test_extends_counted(void **state)
{
	struct pool_fixture *f = *state;
	struct instance a, ext;
	char err[256];
	int retry = 0;

	f->pcfg.max_extends = 2;
	pool_fixture_fill(f);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &a, &retry, err, sizeof(err)), CLAIM_OK);
	assert_int_equal(a.extends, 0);
	assert_int_equal(pool_extend(f->pool, a.id, 1, &ext, err, sizeof(err)), 0);
	assert_int_equal(ext.extends, 1);
	assert_int_equal(pool_extend(f->pool, a.id, 1, &ext, err, sizeof(err)), 0);
	assert_int_equal(ext.extends, 2);
	err[0] = '\0';
	assert_int_equal(pool_extend(f->pool, a.id, 1, &ext, err, sizeof(err)),
			 EXTEND_LIMIT_REACHED);
	assert_non_null(strstr(err, "extended 2 times"));
	assert_int_equal(f->store.ops->get(f->store.ctx, a.id, &ext, err, sizeof(err)), 0);
	assert_int_equal(ext.extends, 2);
	assert_int_equal(ext.expires_at, a.expires_at + 120);
}

/* A test on a fresh pool_fixture. */
#define POOL_TEST(t) cmocka_unit_test_setup_teardown(t, pool_fixture_setup, pool_fixture_teardown)

/* Each copy gets a fresh admin password before its after_restore, which
 * stores it; the record keeps it for the owner. Without an admin login in
 * the template there is nothing to give one to. */
static void
test_each_copy_gets_its_own_admin_password(void **state)
{
	struct pool_fixture *f = *state;
	struct instance *v;
	char err[256];
	int n;

	snprintf(f->tmpl.admin_user, sizeof(f->tmpl.admin_user), "admin");
	snprintf(f->tmpl.admin_password, sizeof(f->tmpl.admin_password), "template-pass");
	pool_fixture_renew(f);
	pool_fixture_fill(f);
	assert_int_equal(fake_profile_state.after_restore_calls, 2);
	assert_int_equal(
	    f->store.ops->list(f->store.ctx, "shop", INSTANCE_READY, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++) {
		assert_int_equal(strlen(v[i].admin_password), 16);
		assert_string_not_equal(v[i].admin_password, "template-pass");
		/* what the hook stored is what the record keeps */
		assert_true(strcmp(v[i].admin_password, fake_profile_state.passwords[0]) == 0 ||
			    strcmp(v[i].admin_password, fake_profile_state.passwords[1]) == 0);
	}
	assert_string_not_equal(v[0].admin_password, v[1].admin_password);
	free(v);
}

static void
test_no_admin_login_no_own_password(void **state)
{
	struct pool_fixture *f = *state;
	struct instance *v;
	char err[256];
	int n;

	f->tmpl.admin_user[0] = '\0';
	pool_fixture_renew(f);
	pool_fixture_fill(f);
	assert_string_equal(fake_profile_state.passwords[0], "");
	assert_int_equal(
	    f->store.ops->list(f->store.ctx, "shop", INSTANCE_READY, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].admin_password, "");
	free(v);
}

/* A store whose get of one record lets a release move that record to
 * RELEASING right after the read: the interleaving of a release with an
 * extend or an idle check that read the record just before it. */
static struct store racing_inner;
static char racing_id[ID_SIZE];

static int
racing_get(void *ctx, const char *id, struct instance *out, char *err, size_t errlen)
{
	int r = racing_inner.ops->get(racing_inner.ctx, id, out, err, errlen);

	(void)ctx;
	if (r == 0 && strcmp(id, racing_id) == 0) {
		racing_id[0] = '\0';
		assert_int_equal(racing_inner.ops->cas_state(racing_inner.ctx, id, INSTANCE_CLAIMED,
							     INSTANCE_RELEASING, err, errlen),
				 0);
	}
	return r;
}

static struct store_ops racing_ops;

static void
racing_store_install(struct pool_fixture *f, const char *id)
{
	racing_inner = f->store;
	racing_ops = *f->store.ops;
	racing_ops.get = racing_get;
	snprintf(racing_id, sizeof(racing_id), "%s", id);
	f->store.ops = &racing_ops;
}

/* Puts the plain store back; id must still be RELEASING. */
static void
racing_store_check(struct pool_fixture *f, const char *id)
{
	struct instance cur;
	char err[256];

	f->store = racing_inner;
	assert_int_equal(f->store.ops->get(f->store.ctx, id, &cur, err, sizeof(err)), 0);
	assert_int_equal(cur.state, INSTANCE_RELEASING);
}

/* An extend that read the record before a release marked it RELEASING must
 * not write it back as CLAIMED: the copy is being taken down. */
static void
test_extend_never_revives_a_released_copy(void **state)
{
	struct pool_fixture *f = *state;
	struct instance a, cur;
	char err[256];
	int retry;

	pool_fixture_fill(f);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &a, &retry, err, sizeof(err)), CLAIM_OK);
	racing_store_install(f, a.id);
	assert_int_equal(pool_extend(f->pool, a.id, 10, &cur, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not active"));
	racing_store_check(f, a.id);
}

/* The same for the reaper's idle check, which writes last_seen_at. */
static void
test_traffic_never_revives_a_released_copy(void **state)
{
	struct pool_fixture *f = *state;
	struct instance a;
	char err[256];
	int retry;

	idle_pool(f);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &a, &retry, err, sizeof(err)), CLAIM_OK);
	snprintf(fake_rx_ids[0], ID_SIZE, "%s", a.id);
	fake_rx_ids[1][0] = '\0';
	fake_rx[0] = 100;
	pool_reap(f->pool); /* first look: records the count */
	fake_rx[0] = 200;
	fake_clock += 10;
	racing_store_install(f, a.id);
	pool_reap(f->pool);
	racing_store_check(f, a.id);
}

/* A READY copy whose container died since it was prepared is not handed
 * out: the claim takes another copy, the dead one is taken down. */
static void
test_claim_skips_a_dead_ready_copy(void **state)
{
	struct pool_fixture *f = *state;
	struct instance *v, a, cur;
	struct pool_stats st;
	char err[256], dead[ID_SIZE];
	int retry, n;

	pool_fixture_fill(f);
	assert_int_equal(
	    f->store.ops->list(f->store.ctx, "shop", INSTANCE_READY, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	/* both are equally old: stop whichever the store would hand out first */
	assert_int_equal(pool_claim(f->pool, "probe", 0, &a, &retry, err, sizeof(err)), CLAIM_OK);
	assert_int_equal(f->store.ops->cas_state(f->store.ctx, a.id, INSTANCE_CLAIMED,
						 INSTANCE_READY, err, sizeof(err)),
			 0);
	snprintf(dead, sizeof(dead), "%s", a.id);
	fake_runtime_stop(&f->rt, a.container);
	free(v);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &a, &retry, err, sizeof(err)), CLAIM_OK);
	assert_string_not_equal(a.id, dead);
	assert_int_equal(f->store.ops->get(f->store.ctx, dead, &cur, err, sizeof(err)) == 0 &&
			     cur.state != INSTANCE_RELEASING,
			 0);
	pool_get_stats(f->pool, &st);
	assert_int_equal(st.lost, 1);
	pool_reap(f->pool); /* finishes the release */
	assert_int_equal(f->store.ops->get(f->store.ctx, dead, &cur, err, sizeof(err)),
			 STORE_NOT_FOUND);
	/* with every ready copy dead, the claim answers "being prepared" */
	fake_runtime_stop(&f->rt, a.container);
	assert_int_equal(f->store.ops->cas_state(f->store.ctx, a.id, INSTANCE_CLAIMED,
						 INSTANCE_READY, err, sizeof(err)),
			 0);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &cur, &retry, err, sizeof(err)),
			 CLAIM_PROVISIONING);
}

/* Releases of many copies at once: each copy is still taken down once, even
 * past 64 releases under way. */
#define MANY_RELEASES 70
static pthread_mutex_t hook_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hook_cv = PTHREAD_COND_INITIALIZER;
static int hook_blocked, hook_calls_last;
static bool hook_open;
static char hook_last[128];

static void
blocking_remove_hook(const char *name)
{
	pthread_mutex_lock(&hook_mu);
	if (strcmp(name, hook_last) == 0)
		hook_calls_last++;
	if (hook_blocked < MANY_RELEASES) {
		hook_blocked++;
		pthread_cond_broadcast(&hook_cv);
		while (!hook_open)
			pthread_cond_wait(&hook_cv, &hook_mu);
	}
	pthread_mutex_unlock(&hook_mu);
}

struct releaser {
	struct pool *pool;
	char id[ID_SIZE];
	int r;
};

static void *
release_thread(void *arg)
{
	struct releaser *r = arg;
	char err[256];

	r->r = pool_release(r->pool, r->id, err, sizeof(err));
	return NULL;
}

static void
test_release_dedup_beyond_64(void **state)
{
	struct pool_fixture *f = *state;
	static struct releaser rel[MANY_RELEASES];
	pthread_t t[MANY_RELEASES];
	struct instance in;
	char err[256];

	f->pcfg.port_max = 41999;
	for (int i = 0; i < MANY_RELEASES; i++) {
		memset(&in, 0, sizeof(in));
		snprintf(in.id, sizeof(in.id), "r%015d", i);
		snprintf(in.template_name, sizeof(in.template_name), "shop");
		snprintf(in.container, sizeof(in.container), "demux-%s", in.id);
		in.state = INSTANCE_RELEASING;
		in.app_port = 41000 + 2 * i;
		assert_int_equal(f->store.ops->put(f->store.ctx, &in, err, sizeof(err)), 0);
		rel[i].pool = f->pool;
		snprintf(rel[i].id, sizeof(rel[i].id), "%s", in.id);
	}
	snprintf(hook_last, sizeof(hook_last), "demux-%s", rel[MANY_RELEASES - 1].id);
	hook_blocked = hook_calls_last = 0;
	hook_open = false;
	f->rt.remove_hook = blocking_remove_hook;
	for (int i = 0; i < MANY_RELEASES; i++)
		pthread_create(&t[i], NULL, release_thread, &rel[i]);
	pthread_mutex_lock(&hook_mu);
	while (hook_blocked < MANY_RELEASES)
		pthread_cond_wait(&hook_cv, &hook_mu);
	pthread_mutex_unlock(&hook_mu);
	/* all 70 are inside remove: a second release of the last one must wait
	 * for nothing and remove nothing */
	assert_int_equal(pool_release(f->pool, rel[MANY_RELEASES - 1].id, err, sizeof(err)), 0);
	pthread_mutex_lock(&hook_mu);
	assert_int_equal(hook_calls_last, 1);
	hook_open = true;
	pthread_cond_broadcast(&hook_cv);
	pthread_mutex_unlock(&hook_mu);
	for (int i = 0; i < MANY_RELEASES; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(rel[i].r, 0);
	}
	f->rt.remove_hook = NULL;
	assert_int_equal(pool_fixture_count(f, -1), 0);
}

/* Podman down: the failed provisioning cannot remove its container either.
 * Its record goes to RELEASING (the reaper retries), not PROVISIONING
 * forever; claims answer the failure, naming Podman, even once the records
 * fill max_instances; the pool refills once Podman is back. */
static void
test_dependency_down_then_back(void **state)
{
	struct pool_fixture *f = *state;
	struct instance a;
	struct pool_stats st;
	char err[256];
	int retry;

	f->pcfg.cold_start_fallback = false;
	f->rt.fail_restore = true;
	f->rt.fail_remove = true;
	for (int i = 0; i < 6; i++)
		pool_provision_one(f->pool, err, sizeof(err));
	assert_int_equal(pool_fixture_count(f, INSTANCE_PROVISIONING), 0);
	assert_int_equal(pool_fixture_count(f, INSTANCE_RELEASING), 4);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &a, &retry, err, sizeof(err)), CLAIM_ERROR);
	assert_non_null(strstr(err, "restore"));
	pool_get_stats(f->pool, &st);
	assert_string_equal(st.last_dependency, "podman");
	assert_true(st.consecutive_failures >= 4);
	f->rt.fail_restore = false;
	f->rt.fail_remove = false;
	pool_reap(f->pool);
	assert_int_equal(pool_fixture_count(f, -1), 0);
	pool_fixture_fill(f);
	assert_int_equal(pool_fixture_count(f, INSTANCE_READY), 2);
	pool_get_stats(f->pool, &st);
	assert_int_equal(st.consecutive_failures, 0);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &a, &retry, err, sizeof(err)), CLAIM_OK);
}

/* A PROVISIONING record of this node that no worker prepares (its cleanup
 * failed: the store refused every write, e.g. a full disk) is taken down by
 * the reaper, so that it does not hold the pool's place forever; another
 * node's is left alone. */
static void
test_abandoned_provisioning_finished(void **state)
{
	struct pool_fixture *f = *state;
	struct instance in;
	char err[256];

	memset(&in, 0, sizeof(in));
	snprintf(in.id, sizeof(in.id), "abandoned0000000");
	snprintf(in.template_name, sizeof(in.template_name), "shop");
	snprintf(in.container, sizeof(in.container), "demux-%s", in.id);
	snprintf(in.node, sizeof(in.node), "%s", f->cfg.node_name);
	in.state = INSTANCE_PROVISIONING;
	in.app_port = 41000;
	assert_int_equal(f->store.ops->put(f->store.ctx, &in, err, sizeof(err)), 0);
	snprintf(in.id, sizeof(in.id), "othernode0000000");
	snprintf(in.node, sizeof(in.node), "elsewhere");
	assert_int_equal(f->store.ops->put(f->store.ctx, &in, err, sizeof(err)), 0);
	pool_reap(f->pool);
	assert_int_equal(f->store.ops->get(f->store.ctx, "abandoned0000000", &in, err, sizeof(err)),
			 STORE_NOT_FOUND);
	assert_int_equal(f->store.ops->get(f->store.ctx, "othernode0000000", &in, err, sizeof(err)),
			 0);
	assert_int_equal(in.state, INSTANCE_PROVISIONING);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    POOL_TEST(test_fills_to_min_ready),
	    POOL_TEST(test_each_copy_gets_its_own_admin_password),
	    POOL_TEST(test_no_admin_login_no_own_password),
	    POOL_TEST(test_min_ready_zero_provisions_on_demand),
	    POOL_TEST(test_claims_distinct_and_refill),
	    POOL_TEST(test_max_instances_respected),
	    POOL_TEST(test_prepared_restore_and_its_fallback),
	    POOL_TEST(test_cold_start_fallback),
	    POOL_TEST(test_restore_failure_without_fallback),
	    POOL_TEST(test_hook_failure_destroys),
	    POOL_TEST(test_health_failure_destroys),
	    POOL_TEST(test_route_failure_destroys),
	    POOL_TEST(test_settings_replaced_while_running),
	    POOL_TEST(test_draining),
	    POOL_TEST(test_expiry_and_extend),
	    POOL_TEST(test_idle_by_traffic),
	    POOL_TEST(test_lost_instances_released),
	    POOL_TEST(test_release_idempotent_and_retried),
	    POOL_TEST(test_shared_mode_prefix_and_release),
	    POOL_TEST(test_concurrent_claims_distinct),
	    POOL_TEST(test_claims_limited_per_client),
	    POOL_TEST(test_extends_counted),
	    POOL_TEST(test_extend_never_revives_a_released_copy),
	    POOL_TEST(test_traffic_never_revives_a_released_copy),
	    POOL_TEST(test_claim_skips_a_dead_ready_copy),
	    POOL_TEST(test_release_dedup_beyond_64),
	    POOL_TEST(test_dependency_down_then_back),
	    POOL_TEST(test_abandoned_provisioning_finished),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
