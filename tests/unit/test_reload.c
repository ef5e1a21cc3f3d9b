/* Unit tests for reload: which pools a new configuration adds, removes and
 * changes, which keys wait for a restart (kept at their running value),
 * which changes are refused, and the summary line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "reload.h"

static struct config running, next, run;
static struct reload_plan plan;

static void
set(struct config *cfg, const char *section, const char *key, const char *value)
{
	char err[512];

	if (config_set(cfg, section, key, value, err, sizeof(err)) == -1)
		fail_msg("config_set [%s] %s: %s", section, key, err);
}

/* Two pools, shop (ports 30000-30099) and blog (31000-31099). */
static void
two_pools(struct config *cfg)
{
	config_defaults(cfg);
	set(cfg, "pool shop", "min_ready", "1");
	set(cfg, "pool shop", "port_min", "30000");
	set(cfg, "pool shop", "port_max", "30099");
	set(cfg, "pool blog", "port_min", "31000");
	set(cfg, "pool blog", "port_max", "31099");
	assert_int_equal(config_check(cfg, (char[256]){0}, 256), 0);
}

static int
setup(void **state)
{
	(void)state;
	two_pools(&running);
	two_pools(&next);
	memset(&run, 0xa5, sizeof(run)); /* reload_plan must fill all of it */
	return 0;
}

static int
plan_it(char *err, size_t errlen)
{
	return reload_plan(&running, &next, &run, &plan, err, errlen);
}

static void
test_same_file_changes_nothing(void **state)
{
	char err[512];

	(void)state;
	assert_int_equal(plan_it(err, sizeof(err)), 0);
	assert_int_equal(plan.nadded + plan.nremoved + plan.nchanged + plan.nrestart, 0);
	assert_string_equal(plan.restart, "");
	assert_int_equal(run.npools, 2);
	assert_string_equal(run.pools[0].name, "shop");
	assert_int_equal(run.pools[0].min_ready, 1);
	assert_string_equal(run.listen, running.listen);
}

static void
test_added_removed_changed(void **state)
{
	char err[512];

	(void)state;
	/* next: shop with min_ready 2, blog gone, wiki new */
	config_defaults(&next);
	set(&next, "pool shop", "min_ready", "2");
	set(&next, "pool shop", "port_min", "30000");
	set(&next, "pool shop", "port_max", "30099");
	set(&next, "pool wiki", "port_min", "32000");
	set(&next, "pool wiki", "port_max", "32099");
	assert_int_equal(plan_it(err, sizeof(err)), 0);
	assert_int_equal(plan.nadded, 1);
	assert_string_equal(plan.added[0], "wiki");
	assert_int_equal(plan.nremoved, 1);
	assert_string_equal(plan.removed[0], "blog");
	assert_int_equal(plan.nchanged, 1);
	assert_string_equal(plan.changed[0], "shop");
	assert_int_equal(plan.nrestart, 0);
	/* run holds next's pools, in next's order */
	assert_int_equal(run.npools, 2);
	assert_string_equal(run.pools[0].name, "shop");
	assert_int_equal(run.pools[0].min_ready, 2);
	assert_string_equal(run.pools[1].name, "wiki");
}

static void
test_live_pool_keys(void **state)
{
	static const char *const live[][2] = {
	    {"max_instances", "20"},	{"ttl", "10m"},
	    {"max_ttl", "3h"},		{"idle_timeout", "5m"},
	    {"max_extends", "1"},	{"cold_start_fallback", "false"},
	    {"product_name", "Shop"},	{"generic_after_restore", "UPDATE t SET a = 1"},
	    {"accent_color", "#123456"}};
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
		two_pools(&next);
		set(&next, "pool blog", live[i][0], live[i][1]);
		assert_int_equal(plan_it(err, sizeof(err)), 0);
		if (plan.nchanged != 1 || strcmp(plan.changed[0], "blog") != 0)
			fail_msg("%s: blog not seen as changed", live[i][0]);
		assert_int_equal(plan.nrestart, 0);
		assert_int_equal(plan.nadded + plan.nremoved, 0);
	}
	assert_string_equal(run.pools[1].pages.accent_color, "#123456");
}

static void
test_restart_keys_keep_running_value(void **state)
{
	char err[512];

	(void)state;
	set(&next, "server", "listen", "127.0.0.1:9999");
	set(&next, "proxy", "backend", "haproxy");
	set(&next, "server", "claims_per_ip_per_minute", "7");
	set(&next, "pool shop", "restore", "archive");
	set(&next, "pool shop", "provision_concurrency", "4");
	assert_int_equal(plan_it(err, sizeof(err)), 0);
	assert_int_equal(plan.nrestart, 5);
	assert_non_null(strstr(plan.restart, "[server] listen"));
	assert_non_null(strstr(plan.restart, "[proxy] backend"));
	assert_non_null(strstr(plan.restart, "[server] claims_per_ip_per_minute"));
	assert_non_null(strstr(plan.restart, "[pool shop] restore"));
	assert_non_null(strstr(plan.restart, "[pool shop] provision_concurrency"));
	/* the running values stay */
	assert_string_equal(run.listen, "127.0.0.1:8080");
	assert_int_equal(run.proxy_backend, PROXY_CADDY);
	assert_int_equal(run.claims_per_ip_per_minute, 10);
	assert_int_equal(run.pools[0].restore_from, RESTORE_PREPARED);
	assert_int_equal(run.pools[0].provision_concurrency, 1);
	/* only restart keys differ: the pool is not changed */
	assert_int_equal(plan.nchanged, 0);
}

static void
test_restart_key_with_live_key(void **state)
{
	char err[512];

	(void)state;
	set(&next, "pool shop", "restore", "archive");
	set(&next, "pool shop", "ttl", "5m");
	assert_int_equal(plan_it(err, sizeof(err)), 0);
	assert_int_equal(plan.nchanged, 1);
	assert_int_equal(run.pools[0].ttl_s, 300);
	assert_int_equal(run.pools[0].restore_from, RESTORE_PREPARED);
	assert_string_equal(plan.restart, "[pool shop] restore");
}

static void
test_secrets_are_named_not_shown(void **state)
{
	char err[512];

	(void)state;
	set(&next, "server", "admin_token", "a-new-secret-token-value");
	set(&next, "store", "redis_password", "hunter2hunter2");
	assert_int_equal(plan_it(err, sizeof(err)), 0);
	assert_string_equal(plan.restart, "[server] admin_token, [store] redis_password");
	assert_null(strstr(plan.restart, "secret"));
	assert_string_equal(run.admin_token, "");
}

/* The few keys outside the pools that apply while demux runs. */
static void
test_live_global_keys(void **state)
{
	char err[512];

	(void)state;
	set(&next, "demux", "log_level", "debug");
	set(&next, "server", "max_active_per_client", "7");
	set(&next, "server", "allowed_origins", "https://www.example.com");
	set(&next, "pages", "product_name", "Shop");
	set(&next, "pages", "accent_color", "#abc");
	assert_int_equal(plan_it(err, sizeof(err)), 0);
	assert_int_equal(plan.nrestart, 0);
	assert_int_equal(plan.nadded + plan.nremoved + plan.nchanged, 0);
	assert_string_equal(run.log_level, "debug");
	assert_int_equal(run.max_active_per_client, 7);
	assert_string_equal(run.allowed_origins, "https://www.example.com");
	assert_string_equal(run.pages.product_name, "Shop");
	assert_string_equal(run.pages.accent_color, "#abc");
	/* the rest of the section stays */
	assert_string_equal(run.listen, running.listen);
}

static void
test_refused_keys(void **state)
{
	static const char *const refused[][2] = {{"port_min", "30010"},
						 {"port_max", "30089"},
						 {"db_mode", "shared"},
						 {"egress", "open"}};
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		two_pools(&next);
		set(&next, "pool shop", refused[i][0], refused[i][1]);
		set(&next, "pool shop", "min_ready", "2"); /* a live change too */
		err[0] = '\0';
		assert_int_equal(plan_it(err, sizeof(err)), -1);
		if (strstr(err, refused[i][0]) == NULL || strstr(err, "[pool shop]") == NULL ||
		    strstr(err, "restart demux") == NULL)
			fail_msg("%s: message \"%s\"", refused[i][0], err);
		assert_int_equal(
		    reload_pool_check(&running.pools[0], &next.pools[0], err, sizeof(err)), -1);
	}
	/* a new pool may take any range; a removed one's keys do not matter */
	two_pools(&next);
	set(&next, "pool wiki", "db_mode", "shared");
	set(&next, "database", "name", "demos");
	assert_int_equal(plan_it(err, sizeof(err)), 0);
	assert_int_equal(reload_pool_check(&running.pools[0], &next.pools[0], err, sizeof(err)), 0);
}

static void
test_no_pool_is_refused(void **state)
{
	char err[512];

	(void)state;
	config_defaults(&next);
	snprintf(next.path, sizeof(next.path), "/etc/demux/demux.conf");
	assert_int_equal(plan_it(err, sizeof(err)), -1);
	assert_string_equal(err, "/etc/demux/demux.conf has no [pool NAME] section (one per "
				 "template to serve)");
}

static void
test_summary(void **state)
{
	char err[512], line[2 * RELOAD_LIST];

	(void)state;
	config_defaults(&next);
	set(&next, "pool shop", "min_ready", "3");
	set(&next, "pool shop", "port_min", "30000");
	set(&next, "pool shop", "port_max", "30099");
	set(&next, "pool a", "port_min", "40000");
	set(&next, "pool b", "port_min", "41000");
	set(&next, "server", "base_domain", "demo.example.com");
	assert_int_equal(plan_it(err, sizeof(err)), 0);
	reload_summary(&plan, line, sizeof(line));
	assert_string_equal(line, "added=a,b removed=blog changed=shop "
				  "needs_restart=\"[server] base_domain\"");
	memset(&plan, 0, sizeof(plan));
	reload_summary(&plan, line, sizeof(line));
	assert_string_equal(line, "added= removed= changed= needs_restart=\"\"");
}

/* config_diff and config_pool_diff name every key of the table that
 * differs, and only those. */
static void
count_key(void *ctx, const char *section, const char *key)
{
	(void)section;
	(void)key;
	(*(int *)ctx)++;
}

static void
test_config_diff_counts(void **state)
{
	int n = 0;

	(void)state;
	config_diff(&running, &next, count_key, &n);
	config_pool_diff(&running.pools[0], &next.pools[0], count_key, &n);
	assert_int_equal(n, 0);
	set(&next, "pages", "product_name", "Demo");
	set(&next, "network", "subnet", "10.89.0.0/24");
	set(&next, "pool shop", "lifetime_text", "Yours for a while");
	config_diff(&running, &next, count_key, &n);
	assert_int_equal(n, 2);
	config_pool_diff(&running.pools[0], &next.pools[0], count_key, &n);
	assert_int_equal(n, 3);
	assert_int_equal(config_pool_copy_key(&next.pools[0], &running.pools[0], "lifetime_text"),
			 0);
	assert_string_equal(next.pools[0].pages.lifetime_text, "");
	assert_int_equal(config_pool_copy_key(&next.pools[0], &running.pools[0], "nope"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_same_file_changes_nothing, setup),
	    cmocka_unit_test_setup(test_added_removed_changed, setup),
	    cmocka_unit_test_setup(test_live_pool_keys, setup),
	    cmocka_unit_test_setup(test_restart_keys_keep_running_value, setup),
	    cmocka_unit_test_setup(test_restart_key_with_live_key, setup),
	    cmocka_unit_test_setup(test_secrets_are_named_not_shown, setup),
	    cmocka_unit_test_setup(test_live_global_keys, setup),
	    cmocka_unit_test_setup(test_refused_keys, setup),
	    cmocka_unit_test_setup(test_no_pool_is_refused, setup),
	    cmocka_unit_test_setup(test_summary, setup),
	    cmocka_unit_test_setup(test_config_diff_counts, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
