/* Unit tests for the SQLite store: records, compare-and-set, atomic claim
 * (also across two connections, as two daemons would have), migrations, the
 * health probe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "store_contract.h"

static char path[64];

static int
setup(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/demux-store-test-XXXXXX");
	fd = mkstemp(path);
	close(fd);
	return 0;
}

static int
teardown(void **state)
{
	char p[80];

	(void)state;
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	return 0;
}

static void
test_put_get_list_del(void **state)
{
	struct store st;
	char err[256];

	(void)state;
	assert_int_equal(store_sqlite_open(&st, path, err, sizeof(err)), 0);
	contract_put_get_list_del(&st);
	st.ops->close(st.ctx);
}

static void
test_cas(void **state)
{
	struct store st;
	char err[256];

	(void)state;
	assert_int_equal(store_sqlite_open(&st, path, err, sizeof(err)), 0);
	contract_cas(&st);
	st.ops->close(st.ctx);
}

static void
test_claim_oldest_ready(void **state)
{
	struct store st;
	char err[256];

	(void)state;
	assert_int_equal(store_sqlite_open(&st, path, err, sizeof(err)), 0);
	contract_claim_oldest_ready(&st);
	st.ops->close(st.ctx);
}

static void
test_claim_limited_per_owner(void **state)
{
	struct store st;
	char err[256];

	(void)state;
	assert_int_equal(store_sqlite_open(&st, path, err, sizeof(err)), 0);
	contract_claim_limited_per_owner(&st);
	st.ops->close(st.ctx);
}

/* extends is stored, and a claim starts it at zero. */
static void
test_extends_round_trip(void **state)
{
	struct store st;
	struct instance a = contract_make("aaaaaaaaaaaaaaaa", INSTANCE_READY, 1), got, want;
	char err[256];

	(void)state;
	a.extends = 4; /* left over from a previous life of the record */
	assert_int_equal(store_sqlite_open(&st, path, err, sizeof(err)), 0);
	assert_int_equal(st.ops->put(st.ctx, &a, err, sizeof(err)), 0);
	assert_int_equal(st.ops->get(st.ctx, a.id, &got, err, sizeof(err)), 0);
	assert_int_equal(got.extends, 4);
	memset(&want, 0, sizeof(want));
	assert_int_equal(st.ops->claim(st.ctx, "shop", &want, 0, &got, err, sizeof(err)), 0);
	assert_int_equal(got.extends, 0);
	got.extends = 2;
	assert_int_equal(st.ops->put(st.ctx, &got, err, sizeof(err)), 0);
	assert_int_equal(st.ops->get(st.ctx, a.id, &got, err, sizeof(err)), 0);
	assert_int_equal(got.extends, 2);
	st.ops->close(st.ctx);
}

static void
test_update_only_in_state(void **state)
{
	struct store st;
	char err[256];

	(void)state;
	assert_int_equal(store_sqlite_open(&st, path, err, sizeof(err)), 0);
	contract_update(&st);
	st.ops->close(st.ctx);
}

/* A version 1 file (before extends) is migrated and keeps its records. */
static void
test_migrates_version_1_extends(void **state)
{
	struct store st;
	struct instance got;
	sqlite3 *db;
	char err[256];

	(void)state;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(
		db,
		"CREATE TABLE instances ("
		" id TEXT PRIMARY KEY, template TEXT NOT NULL, state INTEGER NOT NULL,"
		" container TEXT NOT NULL, app_port INTEGER NOT NULL, db_port INTEGER NOT NULL,"
		" prefix TEXT NOT NULL, method TEXT NOT NULL, owner_token TEXT NOT NULL,"
		" owner_ip TEXT NOT NULL, node TEXT NOT NULL, created_at INTEGER NOT NULL,"
		" ready_at INTEGER NOT NULL, claimed_at INTEGER NOT NULL,"
		" expires_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL,"
		" restore_ms REAL NOT NULL, hook_ms REAL NOT NULL, health_ms REAL NOT NULL,"
		" route_ms REAL NOT NULL, provision_ms REAL NOT NULL);"
		"INSERT INTO instances VALUES ('aaaaaaaaaaaaaaaa', 'shop', 2, 'demux-a', 20000, 0,"
		" '', 'criu_restore', 'tok', '192.0.2.1', 'node1', 1, 2, 3, 4, 3, 0, 0, 0, 0, 0);"
		"PRAGMA user_version = 1;",
		NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_sqlite_open(&st, path, err, sizeof(err)), 0);
	assert_int_equal(st.ops->get(st.ctx, "aaaaaaaaaaaaaaaa", &got, err, sizeof(err)), 0);
	assert_string_equal(got.owner_ip, "192.0.2.1");
	assert_int_equal(got.extends, 0);
	st.ops->close(st.ctx);
}

struct claimer {
	struct store *st;
	char ids[64][ID_SIZE];
	int n;
};

static void *
claim_all(void *arg)
{
	struct claimer *c = arg;
	struct instance want, got;
	char err[256];

	memset(&want, 0, sizeof(want));
	while (c->st->ops->claim(c->st->ctx, "shop", &want, 0, &got, err, sizeof(err)) == 0)
		snprintf(c->ids[c->n++], ID_SIZE, "%s", got.id);
	return NULL;
}

static void
test_claim_atomic_across_connections(void **state)
{
	struct store s1, s2;
	struct claimer c1 = {0}, c2 = {0};
	pthread_t t1, t2;
	char err[256];

	(void)state;
	assert_int_equal(store_sqlite_open(&s1, path, err, sizeof(err)), 0);
	assert_int_equal(store_sqlite_open(&s2, path, err, sizeof(err)), 0);
	for (int i = 0; i < 40; i++) {
		char id[ID_SIZE];
		struct instance in;

		snprintf(id, sizeof(id), "a%015d", i);
		in = contract_make(id, INSTANCE_READY, i);
		assert_int_equal(s1.ops->put(s1.ctx, &in, err, sizeof(err)), 0);
	}
	c1.st = &s1;
	c2.st = &s2;
	pthread_create(&t1, NULL, claim_all, &c1);
	pthread_create(&t2, NULL, claim_all, &c2);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	assert_int_equal(c1.n + c2.n, 40);
	for (int i = 0; i < c1.n; i++)
		for (int j = 0; j < c2.n; j++)
			assert_string_not_equal(c1.ids[i], c2.ids[j]);
	s1.ops->close(s1.ctx);
	s2.ops->close(s2.ctx);
}

/* A copy's own admin password survives put, get, list and claim. */
static void
test_admin_password_round_trip(void **state)
{
	struct store st;
	struct instance a = contract_make("aaaaaaaaaaaaaaaa", INSTANCE_READY, 10), want, got, *v;
	char err[256];
	int n;

	(void)state;
	snprintf(a.admin_password, sizeof(a.admin_password), "Xk7mPq2rSt9vWy3z");
	assert_int_equal(store_sqlite_open(&st, path, err, sizeof(err)), 0);
	assert_int_equal(st.ops->put(st.ctx, &a, err, sizeof(err)), 0);
	assert_int_equal(st.ops->get(st.ctx, a.id, &got, err, sizeof(err)), 0);
	assert_string_equal(got.admin_password, "Xk7mPq2rSt9vWy3z");
	assert_int_equal(st.ops->list(st.ctx, "shop", -1, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].admin_password, "Xk7mPq2rSt9vWy3z");
	free(v);
	memset(&want, 0, sizeof(want));
	snprintf(want.owner_token, sizeof(want.owner_token), "tok");
	assert_int_equal(st.ops->claim(st.ctx, "shop", &want, 0, &got, err, sizeof(err)), 0);
	assert_string_equal(got.admin_password, "Xk7mPq2rSt9vWy3z");
	st.ops->close(st.ctx);
}

/* A store written by a demux before per-copy passwords (schema version 1)
 * is migrated: its records read with an empty password (the copy keeps the
 * template's) and new ones keep theirs. */
static void
test_migrates_version_1(void **state)
{
	struct store st;
	struct instance b = contract_make("bbbbbbbbbbbbbbbb", INSTANCE_READY, 20), got;
	sqlite3 *db;
	sqlite3_stmt *q;
	char err[256];

	(void)state;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(
		db,
		"CREATE TABLE instances ("
		" id TEXT PRIMARY KEY, template TEXT NOT NULL, state INTEGER NOT NULL,"
		" container TEXT NOT NULL, app_port INTEGER NOT NULL, db_port INTEGER NOT NULL,"
		" prefix TEXT NOT NULL, method TEXT NOT NULL, owner_token TEXT NOT NULL,"
		" owner_ip TEXT NOT NULL, node TEXT NOT NULL, created_at INTEGER NOT NULL,"
		" ready_at INTEGER NOT NULL, claimed_at INTEGER NOT NULL, expires_at INTEGER NOT "
		"NULL,"
		" last_seen_at INTEGER NOT NULL, restore_ms REAL NOT NULL, hook_ms REAL NOT NULL,"
		" health_ms REAL NOT NULL, route_ms REAL NOT NULL, provision_ms REAL NOT NULL);"
		"CREATE INDEX instances_by_template_state ON instances(template, state, ready_at);"
		"INSERT INTO instances VALUES ('aaaaaaaaaaaaaaaa', 'shop', 2, 'demux-a', 20000, 0,"
		" 'ps_', 'criu_restore', 'tok', '', '', 1, 1, 1, 9, 1, 1, 1, 1, 1, 1);"
		"PRAGMA user_version = 1;",
		NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_sqlite_open(&st, path, err, sizeof(err)), 0);
	assert_int_equal(st.ops->get(st.ctx, "aaaaaaaaaaaaaaaa", &got, err, sizeof(err)), 0);
	assert_string_equal(got.owner_token, "tok");
	assert_string_equal(got.admin_password, "");
	snprintf(b.admin_password, sizeof(b.admin_password), "own");
	assert_int_equal(st.ops->put(st.ctx, &b, err, sizeof(err)), 0);
	assert_int_equal(st.ops->get(st.ctx, b.id, &got, err, sizeof(err)), 0);
	assert_string_equal(got.admin_password, "own");
	st.ops->close(st.ctx);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	/* the latest: passwords, extends, then template versions */
	assert_int_equal(sqlite3_column_int(q, 0), 4);
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static void
test_newer_schema_refused(void **state)
{
	struct store st;
	sqlite3 *db;
	char err[256];

	(void)state;
	assert_int_equal(store_sqlite_open(&st, path, err, sizeof(err)), 0);
	st.ops->close(st.ctx);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_sqlite_open(&st, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "newer"));
	assert_int_equal(store_sqlite_open(&st, "/nonexistent-dir/x.db", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent-dir/x.db"));
}

/* The health probe is a real read: it fails once the records are gone. */
static void
test_ping(void **state)
{
	struct store st;
	sqlite3 *db;
	char err[256];

	(void)state;
	assert_int_equal(store_sqlite_open(&st, path, err, sizeof(err)), 0);
	assert_int_equal(st.ops->ping(st.ctx, err, sizeof(err)), 0);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE instances", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	err[0] = '\0';
	assert_int_equal(st.ops->ping(st.ctx, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "store ping"));
	assert_non_null(strstr(err, "instances"));
	st.ops->close(st.ctx);
}

static void
test_state_names(void **state)
{
	(void)state;
	assert_string_equal(store_state_name(INSTANCE_READY), "ready");
	assert_int_equal(store_state_parse("claimed"), INSTANCE_CLAIMED);
	assert_int_equal(store_state_parse("bogus"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_put_get_list_del, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cas, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_claim_oldest_ready, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_claim_atomic_across_connections, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_admin_password_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_claim_limited_per_owner, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_extends_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update_only_in_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrates_version_1, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrates_version_1_extends, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ping, setup, teardown),
	    cmocka_unit_test(test_state_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
