/*
 * Unit tests of start-up reconciliation (pool_reconcile.c): records, containers
 * and routes left by a previous run, with the pool fixture of fake_deps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "fake_deps.h"
#include "pool.h"
#include "store/store.h"

/* A PROVISIONING record of node and its container, as a worker leaves
 * them in the middle of a restore. */
static void
put_provisioning(struct pool_fixture *f, struct instance *x, const char *id, const char *node,
		 int port)
{
	char err[256];

	memset(x, 0, sizeof(*x));
	snprintf(x->id, sizeof(x->id), "%s", id);
	snprintf(x->template_name, sizeof(x->template_name), "shop");
	snprintf(x->container, sizeof(x->container), "demux-%s", id);
	snprintf(x->node, sizeof(x->node), "%s", node);
	x->state = INSTANCE_PROVISIONING;
	x->app_port = port;
	assert_int_equal(f->store.ops->put(f->store.ctx, x, err, sizeof(err)), 0);
	snprintf(f->rt.names[f->rt.n++], sizeof(f->rt.names[0]), "%s", x->container);
}

static void
test_reconcile(void **state)
{
	struct pool_fixture *f = *state;
	struct instance a, b, half, got;
	struct pool *pools[1];
	char err[256], host[320];
	int retry;

	pool_fixture_fill(f);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &a, &retry, err, sizeof(err)), CLAIM_OK);
	assert_int_equal(pool_claim(f->pool, "ip", 0, &b, &retry, err, sizeof(err)), CLAIM_OK);
	/* a: route lost (proxy restarted without it) -> re-added and adopted */
	snprintf(host, sizeof(host), "%s.demo.localhost", a.id);
	pool_free(f->pool);
	f->px.n = 0;
	snprintf(f->px.routes[f->px.n++].host, sizeof(f->px.routes[0].host), "%s.demo.localhost",
		 b.id);
	/* b: container gone -> route and record removed */
	assert_int_equal(fake_runtime_ops.remove(&f->rt, b.container, err, sizeof(err)), 0);
	/* a half-provisioned record with its container -> undone */
	put_provisioning(f, &half, "cccccccccccccccc", "", 41050);
	/* an orphan container and an orphan route */
	snprintf(f->rt.names[f->rt.n++], sizeof(f->rt.names[0]), "demux-dddddddddddddddd");
	snprintf(f->px.routes[f->px.n++].host, sizeof(f->px.routes[0].host),
		 "eeeeeeeeeeeeeeee.demo.localhost");
	f->pool = pool_create(&f->env);
	pools[0] = f->pool;
	assert_int_equal(pool_reconcile(pools, 1, err, sizeof(err)), 0);
	assert_true(fake_proxy_has(&f->px, host));
	assert_int_equal(f->store.ops->get(f->store.ctx, a.id, &got, err, sizeof(err)), 0);
	assert_int_equal(got.state, INSTANCE_CLAIMED);
	assert_int_equal(f->store.ops->get(f->store.ctx, b.id, &got, err, sizeof(err)),
			 STORE_NOT_FOUND);
	assert_int_equal(f->store.ops->get(f->store.ctx, half.id, &got, err, sizeof(err)),
			 STORE_NOT_FOUND);
	assert_false(fake_runtime_has(&f->rt, "demux-cccccccccccccccc"));
	assert_false(fake_runtime_has(&f->rt, "demux-dddddddddddddddd"));
	assert_false(fake_proxy_has(&f->px, "eeeeeeeeeeeeeeee.demo.localhost"));
	assert_int_equal(f->rt.n, 1); /* only a's container remains */
	assert_int_equal(f->px.n, 1);
	/* A container of a template this daemon does not pool is left alone. */
	snprintf(f->rt.names[f->rt.n++], sizeof(f->rt.names[0]), "demux-ffffffffffffffff");
	snprintf(f->rt.template_name, sizeof(f->rt.template_name), "someone-else");
	assert_int_equal(pool_reconcile(pools, 1, err, sizeof(err)), 0);
	assert_true(fake_runtime_has(&f->rt, "demux-ffffffffffffffff"));
}

/* The store of the fixture, for the list hook below. */
static struct pool_fixture *busy_fixture;
static int busy_lists;

/* Another node sharing the store, the proxy and (as on one test machine)
 * the Podman service reserves a copy and restores it while this node's
 * orphan pass reads its second snapshot. */
static void
other_node_provisions(struct fake_runtime *rt)
{
	struct pool_fixture *f = busy_fixture;
	struct instance x;

	(void)rt; /* the fixture's own */
	if (++busy_lists != 2)
		return;
	put_provisioning(f, &x, "gggggggggggggggg", "node-b", 41060);
	snprintf(f->px.routes[f->px.n++].host, sizeof(f->px.routes[0].host),
		 "gggggggggggggggg.demo.localhost");
}

/* A copy another node prepares during reconciliation is not an orphan:
 * its container and route were read before the records that name it. */
static void
test_reconcile_other_node_busy(void **state)
{
	struct pool_fixture *f = *state;
	struct pool *pools[1];
	char err[256];

	busy_fixture = f;
	busy_lists = 0;
	f->rt.list_hook = other_node_provisions;
	pools[0] = f->pool;
	assert_int_equal(pool_reconcile(pools, 1, err, sizeof(err)), 0);
	f->rt.list_hook = NULL;
	assert_true(busy_lists >= 2);
	assert_true(fake_runtime_has(&f->rt, "demux-gggggggggggggggg"));
	assert_true(fake_proxy_has(&f->px, "gggggggggggggggg.demo.localhost"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reconcile, pool_fixture_setup,
					    pool_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_reconcile_other_node_busy, pool_fixture_setup,
					    pool_fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
