/*
 * Fakes of the interfaces the pool depends on (runtime, proxy, profile), for
 * unit tests of the pool's state machine. They record what was asked and can
 * be told to fail. Not a stand-in for the real integrations, which have their
 * own integration tests.
 *
 * struct pool_fixture assembles a real pool from them, with the real SQLite
 * store in a temporary file, for the tests of pool.c and pool_reconcile.c.
 */
#ifndef DEMUX_FAKE_DEPS_H
#define DEMUX_FAKE_DEPS_H

#include <stdbool.h>

#include "app/profile.h"
#include "config.h"
#include "container/runtime.h"
#include "pool.h"
#include "proxy/proxy.h"
#include "store/store.h"
#include "template.h"

#define FAKE_MAX 64

struct fake_runtime {
	char names[FAKE_MAX][128];
	int app_ports[FAKE_MAX];
	bool stopped[FAKE_MAX]; /* listed as exited */
	int n;
	int restores, runs, removes;
	bool fail_restore, fail_run, fail_remove;
	char fail_restore_from[256]; /* restores of this archive fail */
	int set_cpus_calls;
	double last_cpus;
	bool fail_set_cpus;
	char last_archive[256];	     /* the archive of the last restore */
	char template_name[64];	     /* label of every container, default "shop" */
	/* Called at the start of every remove, before anything changes (may block). */
	void (*remove_hook)(const char *name);
	/* Called at the start of every list, before it reads anything. */
	void (*list_hook)(struct fake_runtime *rt);
};

struct fake_proxy {
	struct route routes[FAKE_MAX];
	int n;
	int adds, removes;
	bool fail_add, fail_remove;
};

struct fake_profile_state {
	int after_restore_calls, on_release_calls;
	bool fail_after_restore;
	char last_domain[320];
	char last_db_socket[256]; /* "" when the hook got host and port */
	/* the admin password each after_restore call was given ("" = none) */
	char passwords[FAKE_MAX][32];
};

extern const struct runtime_ops fake_runtime_ops;
extern const struct route_ops fake_route_ops;
extern struct fake_profile_state fake_profile_state;
extern const struct profile fake_profile;

bool fake_runtime_has(const struct fake_runtime *rt, const char *name);
/* The container stops running (it stays listed, as exited). */
void fake_runtime_stop(struct fake_runtime *rt, const char *name);
bool fake_proxy_has(const struct fake_proxy *px, const char *host);

/* Pool "shop": min_ready 2, max_instances 4, ports 41000-41099, ttl 10 min,
 * max_ttl 30 min, a 200 ms health budget. */
struct pool_fixture {
	struct config cfg;
	struct pool_config pcfg;
	struct template_meta tmpl;
	struct fake_runtime rt;
	struct fake_proxy px;
	struct proxy proxy;
	struct store store;
	struct pool_env env;
	struct pool *pool;
	char path[64];
};

/* The pool's clock (unix seconds); tests move it. */
extern long long fake_clock;
/* Health checks fail while set; pool_fixture_setup clears it. */
extern bool fake_health_fails;

/* cmocka setup and teardown: *state is a struct pool_fixture. */
int pool_fixture_setup(void **state);
int pool_fixture_teardown(void **state);
/* Provisions until the pool needs no more. */
void pool_fixture_fill(struct pool_fixture *f);
/* A new pool over the fixture, after a test changed f->tmpl (a pool copies
 * its template when it is made). */
void pool_fixture_renew(struct pool_fixture *f);
/* Instances of "shop" in state (-1: any). */
int pool_fixture_count(struct pool_fixture *f, int state);

#endif
