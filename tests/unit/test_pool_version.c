/*
 * test_pool_version — a pool and the versions of its template
 * (pool_version.c): a new version rolls the ready copies without dropping
 * below min_ready and leaves claimed copies alone; a version that fails
 * while the one before restores is marked failed and the pool serves the
 * one before; a failing machine marks nothing; unneeded versions are
 * removed. Real pool and SQLite store, fake runtime and proxy
 * (fake_deps.h), and a template source held in memory here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_deps.h"
#include "pool.h"
#include "template_version.h"

#define MAXV 8

/* The versions "on disk", as the pool's template source sees them. */
static struct {
	bool on_disk[MAXV];
	int current;
	int failed; /* marked failed; 0 = none */
	char failed_reason[512];
	int removed[MAXV];
	int nremoved;
	struct template_meta meta[MAXV];
} src;

static int
newest_below(int below)
{
	for (int v = below - 1; v >= 1; v--)
		if (src.on_disk[v] && v != src.failed)
			return v;
	return 0;
}

static int
fake_pick(void *ctx, const char *name, struct template_pick *out, char *err, size_t errlen)
{
	(void)ctx;
	(void)name;
	memset(out, 0, sizeof(*out));
	out->current = src.current;
	out->serving = src.current;
	if (src.failed == src.current) {
		out->serving = newest_below(src.current);
		snprintf(out->failed_reason, sizeof(out->failed_reason), "%.200s",
			 src.failed_reason);
		if (out->serving == 0) {
			snprintf(err, errlen, "nothing to serve");
			return -1;
		}
	}
	out->fallback = newest_below(out->serving);
	return 0;
}

static int
fake_load(void *ctx, const char *name, int version, struct template_meta *out, char *err,
	  size_t errlen)
{
	(void)ctx;
	(void)name;
	if (version < 1 || version >= MAXV || !src.on_disk[version]) {
		snprintf(err, errlen, "no version %d", version);
		return -1;
	}
	*out = src.meta[version];
	return 0;
}

static int
fake_mark_failed(void *ctx, const char *name, int version, const char *reason, char *err,
		 size_t errlen)
{
	(void)ctx;
	(void)name;
	(void)err;
	(void)errlen;
	src.failed = version;
	snprintf(src.failed_reason, sizeof(src.failed_reason), "%s", reason);
	return 0;
}

static int
fake_versions(void *ctx, const char *name, int *v, int max, int *n, char *err, size_t errlen)
{
	(void)ctx;
	(void)name;
	(void)err;
	(void)errlen;
	*n = 0;
	for (int k = 1; k < MAXV && *n < max; k++)
		if (src.on_disk[k])
			v[(*n)++] = k;
	return 0;
}

static int
fake_remove_version(void *ctx, const char *name, int version, char *err, size_t errlen)
{
	(void)ctx;
	(void)name;
	(void)err;
	(void)errlen;
	src.on_disk[version] = false;
	src.removed[src.nremoved++] = version;
	return 0;
}

static const struct template_source_ops fake_source = {
    .pick = fake_pick,
    .load = fake_load,
    .mark_failed = fake_mark_failed,
    .versions = fake_versions,
    .remove = fake_remove_version,
};

/* Version v of the fixture's template, restored from /t/vN.tar. */
static void
add_version(struct pool_fixture *f, int v)
{
	src.meta[v] = f->tmpl;
	src.meta[v].version = v;
	snprintf(src.meta[v].archive_path, sizeof(src.meta[v].archive_path), "/t/v%d.tar", v);
	src.on_disk[v] = true;
	src.current = v;
}

/* A pool serving version 1 of "shop", reading versions from src. */
static int
setup(void **state)
{
	struct pool_fixture *f;

	pool_fixture_setup(state);
	f = *state;
	memset(&src, 0, sizeof(src));
	f->pcfg.cold_start_fallback = false;
	add_version(f, 1);
	f->tmpl = src.meta[1];
	f->env.versions.ops = &fake_source;
	pool_fixture_renew(f);
	return 0;
}

/* One reaper pass, far enough in time for it to look at the versions. */
static void
reap_later(struct pool_fixture *f)
{
	fake_clock += 11;
	pool_reap(f->pool);
}

/* Ready (or claimed) copies of version v. */
static int
count_version(struct pool_fixture *f, int state, int v)
{
	struct instance *list;
	char err[256];
	int n, c = 0;

	assert_int_equal(
	    f->store.ops->list(f->store.ctx, "shop", state, &list, &n, err, sizeof(err)), 0);
	for (int i = 0; i < n; i++)
		c += list[i].version == v;
	free(list);
	return c;
}

static void
test_new_version_rolls_ready_copies(void **state)
{
	struct pool_fixture *f = *state;
	struct instance claimed;
	struct pool_stats st;
	char err[256];
	int retry;

	pool_fixture_fill(f);
	assert_int_equal(count_version(f, INSTANCE_READY, 1), 2);
	assert_int_equal(pool_claim(f->pool, "192.0.2.1", 0, &claimed, &retry, err, sizeof(err)),
			 CLAIM_OK);
	assert_int_equal(claimed.version, 1);
	pool_fixture_fill(f);
	assert_int_equal(count_version(f, INSTANCE_READY, 1), 2);

	add_version(f, 2);
	reap_later(f);
	pool_get_stats(f->pool, &st);
	assert_int_equal(st.version, 2);
	assert_int_equal(st.stale, 2);
	/* min_ready is held by old copies: none goes before a new one is ready */
	assert_int_equal(count_version(f, INSTANCE_READY, 1), 2);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(pool_provision_one(f->pool, err, sizeof(err)), 1);
		assert_string_equal(f->rt.last_archive, "/t/v2.tar");
		assert_int_equal(pool_fixture_count(f, INSTANCE_READY), 3);
		reap_later(f); /* one old copy goes */
		assert_int_equal(pool_fixture_count(f, INSTANCE_READY), 2);
		assert_int_equal(count_version(f, INSTANCE_READY, 2), round + 1);
	}
	assert_int_equal(count_version(f, INSTANCE_READY, 1), 0);
	assert_int_equal(pool_provision_one(f->pool, err, sizeof(err)), 0); /* nothing to do */
	/* the claimed copy keeps its version, and version 1 stays for it */
	assert_int_equal(count_version(f, INSTANCE_CLAIMED, 1), 1);
	reap_later(f);
	assert_true(src.on_disk[1]);
	assert_int_equal(pool_release(f->pool, claimed.id, err, sizeof(err)), 0);
	reap_later(f);
	assert_false(src.on_disk[1]);
	assert_int_equal(src.nremoved, 1);
	assert_int_equal(src.removed[0], 1);
	assert_true(src.on_disk[2]);
}

static void
test_failed_version_falls_back(void **state)
{
	struct pool_fixture *f = *state;
	struct pool_stats st;
	char err[256];

	pool_fixture_fill(f);
	add_version(f, 2);
	snprintf(f->rt.fail_restore_from, sizeof(f->rt.fail_restore_from), "/t/v2.tar");
	reap_later(f);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pool_provision_one(f->pool, err, sizeof(err)), -1);
		assert_string_equal(f->rt.last_archive, "/t/v2.tar");
	}
	assert_int_equal(src.failed, 0);
	/* the version before restores: version 2 is at fault */
	assert_int_equal(pool_provision_one(f->pool, err, sizeof(err)), 1);
	assert_string_equal(f->rt.last_archive, "/t/v1.tar");
	assert_int_equal(src.failed, 2);
	assert_non_null(strstr(src.failed_reason, "corrupt archive"));
	reap_later(f);
	pool_get_stats(f->pool, &st);
	assert_int_equal(st.version, 1);
	assert_non_null(strstr(st.version_error, "version 2 failed"));
	/* served again: version 1, and its copies are not stale */
	assert_int_equal(st.stale, 0);
	assert_int_equal(count_version(f, INSTANCE_READY, 2), 0);
	assert_true(src.on_disk[1]);
	assert_true(src.on_disk[2]); /* current, if failed: the operator sees why */
}

static void
test_failing_machine_marks_nothing(void **state)
{
	struct pool_fixture *f = *state;
	char err[256];

	pool_fixture_fill(f);
	add_version(f, 2);
	reap_later(f);
	f->rt.fail_restore = true; /* every restore fails, whatever the version */
	for (int i = 0; i < 3; i++)
		assert_int_equal(pool_provision_one(f->pool, err, sizeof(err)), -1);
	assert_int_equal(pool_provision_one(f->pool, err, sizeof(err)), -1);
	assert_string_equal(f->rt.last_archive, "/t/v1.tar"); /* the probe */
	assert_int_equal(src.failed, 0);
	/* the next attempts go to the new version again */
	assert_int_equal(pool_provision_one(f->pool, err, sizeof(err)), -1);
	assert_string_equal(f->rt.last_archive, "/t/v2.tar");
	f->rt.fail_restore = false;
	assert_int_equal(pool_provision_one(f->pool, err, sizeof(err)), 1);
	assert_int_equal(count_version(f, INSTANCE_READY, 2), 1);
}

static void
test_rollback_serves_the_older_version(void **state)
{
	struct pool_fixture *f = *state;
	char err[256];

	pool_fixture_fill(f);
	add_version(f, 2);
	reap_later(f);
	assert_int_equal(pool_provision_one(f->pool, err, sizeof(err)), 1);
	reap_later(f);
	src.current = 1; /* demux template rollback */
	reap_later(f);
	assert_int_equal(pool_provision_one(f->pool, err, sizeof(err)), 1);
	assert_string_equal(f->rt.last_archive, "/t/v1.tar");
	for (int i = 0; i < 4; i++) {
		reap_later(f);
		pool_fixture_fill(f);
	}
	assert_int_equal(count_version(f, INSTANCE_READY, 2), 0);
	assert_int_equal(count_version(f, INSTANCE_READY, 1), 2);
	assert_false(src.on_disk[2]); /* rolled back from, no copy left */
}

/* A version of another app profile cannot be served by this pool. */
static void
test_version_of_another_profile_is_refused(void **state)
{
	struct pool_fixture *f = *state;
	struct pool_stats st;

	pool_fixture_fill(f);
	add_version(f, 2);
	snprintf(src.meta[2].profile, sizeof(src.meta[2].profile), "wordpress");
	reap_later(f);
	assert_int_equal(src.failed, 2);
	assert_non_null(strstr(src.failed_reason, "profile wordpress"));
	reap_later(f);
	pool_get_stats(f->pool, &st);
	assert_int_equal(st.version, 1);
	assert_int_equal(count_version(f, INSTANCE_READY, 1), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_new_version_rolls_ready_copies, setup,
					    pool_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_failed_version_falls_back, setup,
					    pool_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_failing_machine_marks_nothing, setup,
					    pool_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_rollback_serves_the_older_version, setup,
					    pool_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_version_of_another_profile_is_refused, setup,
					    pool_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
