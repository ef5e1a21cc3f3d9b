/*
 * Integration tests for src/app against a real MariaDB: the PrestaShop,
 * WordPress and generic profiles' SQL on PrestaShop- and WordPress-schema
 * fixtures, exact prefix drops, hostile input that must send nothing, and
 * connection retries and timeouts.
 *
 * Run with no arguments it needs MARIADB_PORT, MARIADB_USER,
 * MARIADB_PASSWORD and MARIADB_SOCKET; when they are missing it runs itself
 * again under tests/lib/common.sh's start_mariadb (a private server on a
 * loopback port, removed afterwards). "Nothing was sent" is read from the
 * server's general log (log_output = TABLE): a rejected call must add no row
 * for any connection but the observer's.
 *
 * "integ_app_db hook ..." runs one profile hook and exits; it is the tool
 * tests/integration/app_e2e.sh uses on restored containers (see usage()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <mysql.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app/db.h"
#include "app/generic.h"
#include "app/prestashop.h"
#include "app/profile.h"
#include "app/wordpress.h"
#include "buf.h"
#include "id.h"
#include "log.h"
#include "mstime.h"
#include "validate.h"
#include "xmalloc.h"

#define SCHEMA "demux_it"
#define TEMPLATE_DOMAIN "shop.template.localhost"
#define ALIAS_DOMAIN "alias.template.localhost"

/* PrestaShop 8's definitions of the tables the profile touches (install/data/
 * db_structure.sql), with rows as its installer and a warm front office leave
 * them: two URLs for shop 1 (main and alias), global configuration rows plus
 * one shop-2 override, and cached fragments holding absolute links. */
static const char ps_fixture[] =
    "CREATE TABLE `PREFIX_shop_url` ("
    " `id_shop_url` int(11) unsigned NOT NULL AUTO_INCREMENT,"
    " `id_shop` int(11) unsigned NOT NULL,"
    " `domain` varchar(150) NOT NULL,"
    " `domain_ssl` varchar(150) NOT NULL,"
    " `physical_uri` varchar(64) NOT NULL,"
    " `virtual_uri` varchar(64) NOT NULL,"
    " `main` TINYINT(1) NOT NULL,"
    " `active` TINYINT(1) NOT NULL,"
    " PRIMARY KEY (`id_shop_url`),"
    " KEY `id_shop` (`id_shop`, `main`),"
    " UNIQUE KEY `full_shop_url` (`domain`, `physical_uri`, `virtual_uri`),"
    " UNIQUE KEY `full_shop_url_ssl` (`domain_ssl`, `physical_uri`, `virtual_uri`)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;"
    "CREATE TABLE `PREFIX_configuration` ("
    " `id_configuration` int(10) unsigned NOT NULL AUTO_INCREMENT,"
    " `id_shop_group` INT(11) UNSIGNED DEFAULT NULL,"
    " `id_shop` INT(11) UNSIGNED DEFAULT NULL,"
    " `name` varchar(254) NOT NULL,"
    " `value` text,"
    " `date_add` datetime NOT NULL,"
    " `date_upd` datetime NOT NULL,"
    " PRIMARY KEY (`id_configuration`),"
    " KEY `name` (`name`), KEY `id_shop` (`id_shop`), KEY `id_shop_group` (`id_shop_group`)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;"
    "CREATE TABLE `PREFIX_smarty_cache` ("
    " `id_smarty_cache` char(40) NOT NULL,"
    " `name` char(40) NOT NULL,"
    " `cache_id` varchar(254) DEFAULT NULL,"
    " `modified` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,"
    " `content` longtext NOT NULL,"
    " PRIMARY KEY (`id_smarty_cache`),"
    " KEY `name` (`name`), KEY `cache_id` (`cache_id`), KEY `modified` (`modified`)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;"
    "CREATE TABLE `PREFIX_smarty_lazy_cache` ("
    " `template_hash` varchar(32) NOT NULL DEFAULT '',"
    " `cache_id` varchar(191) NOT NULL DEFAULT '',"
    " `compile_id` varchar(32) NOT NULL DEFAULT '',"
    " `filepath` varchar(255) NOT NULL DEFAULT '',"
    " `last_update` datetime NOT NULL,"
    " PRIMARY KEY (`template_hash`, `cache_id`, `compile_id`)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;"
    "CREATE TABLE `PREFIX_product` ("
    " `id_product` int(10) unsigned NOT NULL AUTO_INCREMENT,"
    " `name` varchar(128) NOT NULL,"
    " `price` decimal(20,6) NOT NULL DEFAULT '0.000000',"
    " PRIMARY KEY (`id_product`)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;"
    "INSERT INTO `PREFIX_shop_url` VALUES"
    " (1, 1, '" TEMPLATE_DOMAIN "', '" TEMPLATE_DOMAIN "', '/', '', 1, 1),"
    " (2, 1, '" ALIAS_DOMAIN "', '" ALIAS_DOMAIN "', '/', '', 0, 1);"
    "INSERT INTO `PREFIX_configuration`"
    " (id_shop_group, id_shop, name, value, date_add, date_upd) VALUES"
    " (NULL, NULL, 'PS_SHOP_DOMAIN', '" TEMPLATE_DOMAIN "', '2025-01-02 03:04:05', "
    "'2025-01-02 03:04:05'),"
    " (NULL, NULL, 'PS_SHOP_DOMAIN_SSL', '" TEMPLATE_DOMAIN "', '2025-01-02 03:04:05', "
    "'2025-01-02 03:04:05'),"
    " (NULL, NULL, 'PS_SHOP_NAME', 'demux test shop', '2025-01-02 03:04:05', "
    "'2025-01-02 03:04:05'),"
    " (NULL, NULL, 'PS_SHOP_EMAIL', 'shop@" TEMPLATE_DOMAIN "', '2025-01-02 03:04:05', "
    "'2025-01-02 03:04:05'),"
    " (NULL, NULL, 'PS_SSL_ENABLED', '0', '2025-01-02 03:04:05', '2025-01-02 03:04:05'),"
    " (NULL, NULL, 'PS_SMARTY_CACHE', '1', '2025-01-02 03:04:05', '2025-01-02 03:04:05'),"
    " (NULL, NULL, 'PS_SMARTY_CACHING_TYPE', 'mysql', '2025-01-02 03:04:05', "
    "'2025-01-02 03:04:05'),"
    " (1, 2, 'PS_SHOP_DOMAIN', 'second.shop.localhost', '2025-01-02 03:04:05', "
    "'2025-01-02 03:04:05');"
    "INSERT INTO `PREFIX_product` (name, price) VALUES"
    " ('Hummingbird printed t-shirt', 23.9), ('Mug The adventure begins', 11.9);"
    "INSERT INTO `PREFIX_smarty_cache` (id_smarty_cache, name, cache_id, content) VALUES"
    " (SHA1('product_list'), 'product_list', 'product_list|shop1',"
    "  '<ul><li><a href=\"http://" TEMPLATE_DOMAIN "/product/1\">t-shirt</a></li></ul>'),"
    " (SHA1('menu'), 'ps_mainmenu', 'ps_mainmenu|1|1',"
    "  '<a href=\"http://" TEMPLATE_DOMAIN "/\">Home</a>');"
    "INSERT INTO `PREFIX_smarty_lazy_cache` VALUES"
    " (MD5('catalog/listing/product-list.tpl'), 'product_list', '', 'product_list/1.tpl', "
    "NOW()),"
    " (MD5('ps_mainmenu.tpl'), 'ps_mainmenu|1|1', '', 'ps_mainmenu/1.tpl', NOW())";

/* WordPress 6's wp_options with the rows demux reads and a few neighbours. */
static const char wp_fixture[] =
    "CREATE TABLE `PREFIX_options` ("
    " `option_id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,"
    " `option_name` varchar(191) NOT NULL DEFAULT '',"
    " `option_value` longtext NOT NULL,"
    " `autoload` varchar(20) NOT NULL DEFAULT 'yes',"
    " PRIMARY KEY (`option_id`),"
    " UNIQUE KEY `option_name` (`option_name`),"
    " KEY `autoload` (`autoload`)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;"
    "INSERT INTO `PREFIX_options` (option_name, option_value, autoload) VALUES"
    " ('siteurl', 'http://wp.template.localhost', 'yes'),"
    " ('home', 'https://wp.template.localhost/blog', 'yes'),"
    " ('blogname', 'demux WordPress demo', 'yes'),"
    " ('admin_email', 'admin@wp.template.localhost', 'yes')";

static MYSQL *obs; /* root over the server's unix socket: setup and checks */
static struct db_params params;
static char prefix_a[PREFIX_MAX + 1], prefix_b[PREFIX_MAX + 1];

/* --- observer helpers ----------------------------------------------------- */

static void
obs_exec(const char *sql)
{
	int status;

	if (mysql_real_query(obs, sql, strlen(sql)) != 0)
		fail_msg("observer: %.200s: %s", sql, mysql_error(obs));
	do {
		MYSQL_RES *r = mysql_store_result(obs);

		if (r != NULL)
			mysql_free_result(r);
		else if (mysql_field_count(obs) != 0)
			fail_msg("observer: %.200s: %s", sql, mysql_error(obs));
		status = mysql_next_result(obs);
		if (status > 0)
			fail_msg("observer: %.200s: %s", sql, mysql_error(obs));
	} while (status == 0);
}

static void obs_execf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
obs_execf(const char *fmt, ...)
{
	va_list ap;
	char *sql = NULL;

	va_start(ap, fmt);
	if (vasprintf(&sql, fmt, ap) < 0)
		fail_msg("vasprintf");
	va_end(ap);
	obs_exec(sql);
	free(sql);
}

/* The first column of the first row, newly allocated ("" for no row, "NULL"
 * for NULL). */
static char *obs_str(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
obs_str(const char *fmt, ...)
{
	va_list ap;
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	char *sql = NULL, *out;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&sql, fmt, ap);
	va_end(ap);
	if (n < 0 || mysql_real_query(obs, sql, (unsigned long)n) != 0 ||
	    (r = mysql_store_result(obs)) == NULL) {
		fail_msg("observer: %.200s: %s", sql != NULL ? sql : fmt, mysql_error(obs));
		return xstrdup("");
	}
	row = mysql_fetch_row(r);
	out = xstrdup(row == NULL ? "" : row[0] == NULL ? "NULL" : row[0]);
	mysql_free_result(r);
	free(sql);
	return out;
}

static long long
obs_int(const char *sql)
{
	char *s = obs_str("%s", sql);
	long long v = strtoll(s, NULL, 10);

	free(s);
	return v;
}

/* Rows the general log holds for every connection but the observer's:
 * connects, queries, prepares, executes. The client sends "Quit" and
 * "Close stmt" without waiting for the server, which may log them a moment
 * later; they are neither a connection nor a statement, so they do not count. */
static long long
log_rows(void)
{
	return obs_int("SELECT COUNT(*) FROM mysql.general_log WHERE thread_id <> CONNECTION_ID() "
		       "AND command_type NOT IN ('Quit', 'Close stmt')");
}

/* Every row of a table as one string, to compare before and after. */
static char *
dump(const char *table, const char *cols)
{
	return obs_str("SELECT IFNULL(GROUP_CONCAT(CONCAT_WS('|', %s) ORDER BY 1 SEPARATOR '\\n'), "
		       "'(empty)') FROM " SCHEMA ".`%s`",
		       cols, table);
}

static char *
dump_ps(const char *prefix)
{
	char *parts[4], *all;
	char t[4][64];

	snprintf(t[0], sizeof(t[0]), "%sshop_url", prefix);
	snprintf(t[1], sizeof(t[1]), "%sconfiguration", prefix);
	snprintf(t[2], sizeof(t[2]), "%ssmarty_cache", prefix);
	snprintf(t[3], sizeof(t[3]), "%ssmarty_lazy_cache", prefix);
	parts[0] =
	    dump(t[0], "id_shop_url, id_shop, domain, domain_ssl, physical_uri, main, active");
	parts[1] = dump(t[1], "id_configuration, IFNULL(id_shop, '-'), name, value, date_upd");
	parts[2] = dump(t[2], "id_smarty_cache, name, content");
	parts[3] = dump(t[3], "template_hash, cache_id, filepath");
	all = xasprintf("%s\n--\n%s\n--\n%s\n--\n%s", parts[0], parts[1], parts[2], parts[3]);
	for (int i = 0; i < 4; i++)
		free(parts[i]);
	return all;
}

static void
load_fixture(const char *fixture, const char *prefix)
{
	struct buf b;
	const char *p = fixture, *hit;

	buf_init(&b, 1 << 20);
	buf_appends(&b, "USE " SCHEMA ";");
	while ((hit = strstr(p, "PREFIX_")) != NULL) {
		buf_append(&b, p, (size_t)(hit - p));
		buf_appends(&b, prefix);
		p = hit + strlen("PREFIX_");
	}
	buf_appends(&b, p);
	obs_exec(buf_str(&b));
	buf_free(&b);
}

static void
reset_schema(void)
{
	obs_exec("DROP DATABASE IF EXISTS " SCHEMA "; CREATE DATABASE " SCHEMA
		 " CHARACTER SET utf8mb4");
}

static struct db_conn *
connect_or_fail(void)
{
	struct db_conn *c = NULL;
	char err[512];

	if (db_connect(&params, &c, err, sizeof(err)) == -1)
		fail_msg("connect: %s", err);
	return c;
}

static void
make_prefix(char *out)
{
	char id[ID_SIZE];

	assert_int_equal(id_generate(id), 0);
	validate_make_instance_prefix(id, out, PREFIX_MAX + 1);
}

static void
instance_for(struct app_instance *inst, const char *domain, const char *prefix)
{
	memset(inst, 0, sizeof(*inst));
	inst->id = "abcdefghijklmnop";
	inst->domain = domain;
	inst->scheme = "http";
	inst->prefix = prefix;
	inst->db = params;
}

static int
setup_ps(void **state)
{
	(void)state;
	reset_schema();
	make_prefix(prefix_a);
	make_prefix(prefix_b);
	load_fixture(ps_fixture, prefix_a);
	load_fixture(ps_fixture, prefix_b);
	return 0;
}

/* --- PrestaShop ------------------------------------------------------------ */

/* The configuration rows UpdateDomain must not touch. */
static char *
other_config(const char *prefix)
{
	return obs_str("SELECT GROUP_CONCAT(CONCAT_WS('|', id_configuration, IFNULL(id_shop, '-'), "
		       "name, value, date_upd) ORDER BY id_configuration) FROM " SCHEMA
		       ".`%sconfiguration` WHERE NOT (name IN ('PS_SHOP_DOMAIN', "
		       "'PS_SHOP_DOMAIN_SSL') AND id_shop IS NULL)",
		       prefix);
}

static void
test_update_domain_touches_only_target(void **state)
{
	struct db_conn *c = connect_or_fail();
	char err[512], *before_b, *after_b, *others_before, *others_after, *v;

	(void)state;
	before_b = dump_ps(prefix_b);
	others_before = other_config(prefix_a);
	if (prestashop_update_domain(c, prefix_a, "k3f9x2.demo.localhost", err, sizeof(err)) == -1)
		fail_msg("update_domain: %s", err);

	v = obs_str("SELECT CONCAT_WS('|', domain, domain_ssl) FROM " SCHEMA
		    ".`%sshop_url` WHERE id_shop_url = 1",
		    prefix_a);
	assert_string_equal(v, "k3f9x2.demo.localhost|k3f9x2.demo.localhost");
	free(v);
	v = obs_str("SELECT CONCAT_WS('|', domain, domain_ssl, main) FROM " SCHEMA
		    ".`%sshop_url` WHERE id_shop_url = 2",
		    prefix_a);
	assert_string_equal(v, ALIAS_DOMAIN "|" ALIAS_DOMAIN "|0");
	free(v);
	v = obs_str("SELECT GROUP_CONCAT(CONCAT(name, '=', value) ORDER BY name) FROM " SCHEMA
		    ".`%sconfiguration` WHERE name IN ('PS_SHOP_DOMAIN', 'PS_SHOP_DOMAIN_SSL') "
		    "AND id_shop IS NULL",
		    prefix_a);
	assert_string_equal(v, "PS_SHOP_DOMAIN=k3f9x2.demo.localhost,"
			       "PS_SHOP_DOMAIN_SSL=k3f9x2.demo.localhost");
	free(v);
	/* Every other configuration row, shop 2's own domain included, is as it was. */
	others_after = other_config(prefix_a);
	assert_string_equal(others_after, others_before);
	assert_non_null(strstr(others_after, "second.shop.localhost"));
	/* The other prefix did not move at all. */
	after_b = dump_ps(prefix_b);
	assert_string_equal(after_b, before_b);
	assert_non_null(strstr(after_b, TEMPLATE_DOMAIN));

	/* Idempotent: the same domain again still finds its rows. */
	if (prestashop_update_domain(c, prefix_a, "k3f9x2.demo.localhost", err, sizeof(err)) == -1)
		fail_msg("second update_domain: %s", err);
	free(before_b);
	free(after_b);
	free(others_before);
	free(others_after);
	db_close(c);
}

static void
test_update_domain_is_one_transaction(void **state)
{
	struct db_conn *c = connect_or_fail();
	char err[512], *before, *after;

	(void)state;
	/* shop_url is written first, then configuration has nothing to match:
	 * the shop_url change must be rolled back. */
	obs_execf("DELETE FROM " SCHEMA ".`%sconfiguration` WHERE name LIKE "
		  "'PS!_SHOP!_DOMAIN%%' ESCAPE '!'",
		  prefix_a);
	before = dump_ps(prefix_a);
	assert_int_equal(
	    prestashop_update_domain(c, prefix_a, "x.demo.localhost", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "PS_SHOP_DOMAIN"));
	after = dump_ps(prefix_a);
	assert_string_equal(after, before);
	free(before);
	free(after);

	/* No main row for shop 1: refused, nothing changed. */
	obs_execf("UPDATE " SCHEMA ".`%sshop_url` SET main = 0", prefix_b);
	before = dump_ps(prefix_b);
	assert_int_equal(
	    prestashop_update_domain(c, prefix_b, "x.demo.localhost", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "main rows"));
	after = dump_ps(prefix_b);
	assert_string_equal(after, before);
	free(before);
	free(after);
	db_close(c);
}

static void
test_clear_caches(void **state)
{
	struct db_conn *c = connect_or_fail(), *ro = NULL;
	struct db_params rop = params;
	char err[512], *before_b, *after_b, sql[256];

	(void)state;
	before_b = dump_ps(prefix_b);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM " SCHEMA ".`%ssmarty_cache`", prefix_a);
	assert_int_equal(obs_int(sql), 2);
	if (prestashop_clear_caches(c, prefix_a, err, sizeof(err)) == -1)
		fail_msg("clear_caches: %s", err);
	assert_int_equal(obs_int(sql), 0);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM " SCHEMA ".`%ssmarty_lazy_cache`",
		 prefix_a);
	assert_int_equal(obs_int(sql), 0);
	after_b = dump_ps(prefix_b);
	assert_string_equal(after_b, before_b);

	/* An older version without smarty_lazy_cache: tolerated. */
	obs_execf("DROP TABLE " SCHEMA ".`%ssmarty_lazy_cache`", prefix_b);
	if (prestashop_clear_caches(c, prefix_b, err, sizeof(err)) == -1)
		fail_msg("clear_caches without lazy cache: %s", err);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM " SCHEMA ".`%ssmarty_cache`", prefix_b);
	assert_int_equal(obs_int(sql), 0);
	/* ... also inside after_restore's single transaction. */
	obs_execf("INSERT INTO " SCHEMA ".`%ssmarty_cache` (id_smarty_cache, name, content) "
		  "VALUES ('x', 'product_list', 'old links')",
		  prefix_b);
	if (prestashop_apply(c, prefix_b, "k3f9x2.demo.localhost", err, sizeof(err)) == -1)
		fail_msg("apply without lazy cache: %s", err);
	assert_int_equal(obs_int(sql), 0);

	/* Any other error is one: a user who may not truncate. */
	obs_exec("CREATE USER IF NOT EXISTS 'demux_ro'@'127.0.0.1' IDENTIFIED BY 'ro-pass-1'; "
		 "GRANT SELECT ON " SCHEMA ".* TO 'demux_ro'@'127.0.0.1'");
	rop.user = "demux_ro";
	rop.password = "ro-pass-1";
	if (db_connect(&rop, &ro, err, sizeof(err)) == -1)
		fail_msg("connect demux_ro: %s", err);
	assert_int_equal(prestashop_clear_caches(ro, prefix_a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "DELETE FROM"));
	assert_non_null(strstr(err, "denied"));
	db_close(ro);
	free(before_b);
	free(after_b);
	db_close(c);
}

static void
test_prestashop_hooks(void **state)
{
	struct app_instance inst;
	const struct profile *p = profile_find("prestashop");
	char err[512], sql[256], *v;

	(void)state;
	/* Shared mode as demux runs it: an instance prefix on a shared server. */
	instance_for(&inst, "k3f9x2.demo.localhost", prefix_a);
	inst.db.retry_ms = 500;
	if (p->after_restore(&inst, err, sizeof(err)) == -1)
		fail_msg("after_restore: %s", err);
	v = obs_str("SELECT domain FROM " SCHEMA ".`%sshop_url` WHERE main = 1", prefix_a);
	assert_string_equal(v, "k3f9x2.demo.localhost");
	free(v);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM " SCHEMA ".`%ssmarty_cache`", prefix_a);
	assert_int_equal(obs_int(sql), 0);

	/* Visitors on port 8088: PrestaShop matches Host with its port, so the
	 * port is stored; port 80 with http is the default and is not. */
	inst.port = 8088;
	if (p->after_restore(&inst, err, sizeof(err)) == -1)
		fail_msg("after_restore port 8088: %s", err);
	v = obs_str("SELECT CONCAT(domain, ' ', domain_ssl) FROM " SCHEMA
		    ".`%sshop_url` WHERE main = 1",
		    prefix_a);
	assert_string_equal(v, "k3f9x2.demo.localhost:8088 k3f9x2.demo.localhost:8088");
	free(v);
	v = obs_str("SELECT GROUP_CONCAT(DISTINCT value) FROM " SCHEMA
		    ".`%sconfiguration` WHERE name LIKE 'PS\\_SHOP\\_DOMAIN%%' "
		    "AND (id_shop IS NULL OR id_shop = 1)",
		    prefix_a);
	assert_string_equal(v, "k3f9x2.demo.localhost:8088");
	free(v);
	inst.port = 80;
	if (p->after_restore(&inst, err, sizeof(err)) == -1)
		fail_msg("after_restore port 80: %s", err);
	v = obs_str("SELECT domain FROM " SCHEMA ".`%sshop_url` WHERE main = 1", prefix_a);
	assert_string_equal(v, "k3f9x2.demo.localhost");
	free(v);
	inst.port = 0;

	/* Embedded mode: release leaves the database alone (the container goes). */
	inst.drop_tables_on_release = 0;
	if (p->on_release(&inst, err, sizeof(err)) == -1)
		fail_msg("on_release embedded: %s", err);
	snprintf(sql, sizeof(sql),
		 "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '" SCHEMA
		 "' AND LEFT(table_name, %zu) = '%s'",
		 strlen(prefix_a), prefix_a);
	assert_int_equal(obs_int(sql), 5);
	/* Shared mode: the instance's tables go, the other instance's stay. */
	inst.drop_tables_on_release = 1;
	if (p->on_release(&inst, err, sizeof(err)) == -1)
		fail_msg("on_release shared: %s", err);
	assert_int_equal(obs_int(sql), 0);
	snprintf(sql, sizeof(sql),
		 "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '" SCHEMA
		 "' AND LEFT(table_name, %zu) = '%s'",
		 strlen(prefix_b), prefix_b);
	assert_int_equal(obs_int(sql), 5);
}

/* --- dropping by prefix ------------------------------------------------------ */

static char *
table_list(void)
{
	return obs_str("SELECT GROUP_CONCAT(table_name ORDER BY BINARY table_name) FROM "
		       "information_schema.tables WHERE table_schema = '" SCHEMA "'");
}

static void
test_drop_exact_prefix(void **state)
{
	struct db_conn *c = connect_or_fail();
	char err[512], *left;
	size_t n = 0;
	long long before;

	(void)state;
	reset_schema();
	obs_exec("USE " SCHEMA "; "
		 "CREATE TABLE ab_one (id INT PRIMARY KEY) ENGINE=InnoDB;"
		 "CREATE TABLE ab_two (id INT PRIMARY KEY, one INT, "
		 "  FOREIGN KEY (one) REFERENCES ab_one (id)) ENGINE=InnoDB;"
		 "CREATE VIEW ab_view AS SELECT id FROM ab_one;"
		 "CREATE TABLE abc_keep (id INT);"
		 "CREATE TABLE ab1_keep (id INT);"
		 "CREATE TABLE abXkeep (id INT);"
		 "CREATE TABLE AB_upper (id INT);"
		 "CREATE TABLE ab (id INT);"
		 "CREATE TABLE `ab%keep` (id INT);"
		 "CREATE DATABASE IF NOT EXISTS demux_other;"
		 "CREATE TABLE IF NOT EXISTS demux_other.ab_elsewhere (id INT);");
	/* The seed's pattern would take the neighbours too: the test can fail. */
	assert_int_equal(obs_int("SELECT COUNT(*) FROM information_schema.tables WHERE "
				 "table_schema = '" SCHEMA "' AND table_name LIKE 'ab_%'"),
			 8);

	if (db_drop_tables_with_prefix(c, SCHEMA, "ab_", &n, err, sizeof(err)) == -1)
		fail_msg("drop: %s", err);
	assert_int_equal(n, 3);
	left = table_list();
	assert_string_equal(left, "AB_upper,ab,ab%keep,ab1_keep,abXkeep,abc_keep");
	free(left);
	assert_int_equal(obs_int("SELECT COUNT(*) FROM information_schema.tables WHERE "
				 "table_schema = 'demux_other' AND table_name = 'ab_elsewhere'"),
			 1);
	/* Nothing left to drop is not an error. */
	if (db_drop_tables_with_prefix(c, SCHEMA, "ab_", &n, err, sizeof(err)) == -1)
		fail_msg("second drop: %s", err);
	assert_int_equal(n, 0);

	/* The public form refuses a prefix another could start with, unsent. */
	before = log_rows();
	assert_int_equal(db_drop_instance_tables(c, SCHEMA, "ab", &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "instance table prefix"));
	assert_int_equal(db_drop_instance_tables(c, SCHEMA, "abc_", &n, err, sizeof(err)), -1);
	assert_int_equal(db_drop_tables_with_prefix(c, "demux`x", "ab", &n, err, sizeof(err)), -1);
	assert_int_equal(log_rows(), before);
	left = table_list();
	assert_string_equal(left, "AB_upper,ab,ab%keep,ab1_keep,abXkeep,abc_keep");
	free(left);
	obs_exec("DROP DATABASE demux_other");
	db_close(c);
}

static void
test_drop_instance_tables(void **state)
{
	struct db_conn *c = connect_or_fail();
	char err[512], sql[256];
	size_t n = 0;

	(void)state;
	if (db_drop_instance_tables(c, SCHEMA, prefix_a, &n, err, sizeof(err)) == -1)
		fail_msg("drop: %s", err);
	assert_int_equal(n, 5);
	snprintf(sql, sizeof(sql),
		 "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '" SCHEMA
		 "' AND LEFT(table_name, %zu) = BINARY '%s'",
		 strlen(prefix_b), prefix_b);
	assert_int_equal(obs_int(sql), 5);
	db_close(c);
}

/* --- hostile input ------------------------------------------------------------- */

static const char *const hostile_prefixes[] = {
    "ps`_", "ps'_", "ps%_", "ps _", "", "abcdefghijklmnopqrstuvwxyz0123456" /* 33 */,
};

static const char *
long_domain(void)
{
	static char d[152];

	/* 151 characters: "aaa…(49).aaa…(49).aaa…(48).aa" */
	memset(d, 'a', 151);
	d[49] = '.';
	d[99] = '.';
	d[148] = '.';
	d[151] = '\0';
	return d;
}

static void
test_hostile_input_sends_nothing(void **state)
{
	const char *domains[] = {"a b.demo.localhost",
				 "a'b.demo.localhost",
				 "a\"b.localhost",
				 "a..demo.localhost",
				 "a.demo.localhost.",
				 long_domain(),
				 "m\xc3\xbcller.demo.localhost",
				 ""};
	const char *names[] = {"prestashop", "wordpress", "generic"};
	struct app_instance inst;
	struct db_conn *c = connect_or_fail();
	char err[512], *before_a, *before_b, *after;
	long long rows;
	size_t n;

	(void)state;
	load_fixture(wp_fixture, "wp_");
	before_a = dump_ps(prefix_a);
	before_b = dump_ps(prefix_b);
	assert_int_equal(strlen(long_domain()), 151);
	rows = log_rows();

	/* Through the profiles: refused before connecting. */
	for (size_t p = 0; p < 3; p++) {
		const struct profile *prof = profile_find(names[p]);

		for (size_t i = 0; i < sizeof(hostile_prefixes) / sizeof(hostile_prefixes[0]);
		     i++) {
			instance_for(&inst, "ok.demo.localhost", hostile_prefixes[i]);
			inst.generic_after_restore = "UPDATE t SET a = {prefix}";
			err[0] = '\0';
			assert_int_equal(prof->after_restore(&inst, err, sizeof(err)), -1);
			if (strstr(err, "invalid table prefix") == NULL)
				fail_msg("%s prefix \"%s\": unclear error \"%s\"", names[p],
					 hostile_prefixes[i], err);
			inst.drop_tables_on_release = 1;
			assert_int_equal(prof->on_release(&inst, err, sizeof(err)), -1);
		}
		for (size_t i = 0; i < sizeof(domains) / sizeof(domains[0]); i++) {
			instance_for(&inst, domains[i],
				     prof->default_prefix != NULL ? prof->default_prefix : "ps_");
			inst.generic_after_restore = "UPDATE t SET a = {domain}";
			err[0] = '\0';
			assert_int_equal(prof->after_restore(&inst, err, sizeof(err)), -1);
			if (strstr(err, "invalid domain") == NULL)
				fail_msg("%s domain #%zu: unclear error \"%s\"", names[p], i, err);
		}
	}
	/* Through the SQL functions, on an open connection. */
	for (size_t i = 0; i < sizeof(hostile_prefixes) / sizeof(hostile_prefixes[0]); i++) {
		assert_int_equal(prestashop_update_domain(c, hostile_prefixes[i],
							  "ok.demo.localhost", err, sizeof(err)),
				 -1);
		assert_non_null(strstr(err, "invalid table prefix"));
		assert_int_equal(prestashop_clear_caches(c, hostile_prefixes[i], err, sizeof(err)),
				 -1);
		assert_int_equal(wordpress_update_urls(c, hostile_prefixes[i], "ok.demo.localhost",
						       err, sizeof(err)),
				 -1);
		assert_int_equal(db_drop_tables_with_prefix(c, SCHEMA, hostile_prefixes[i], &n, err,
							    sizeof(err)),
				 -1);
		assert_int_equal(
		    db_drop_instance_tables(c, SCHEMA, hostile_prefixes[i], &n, err, sizeof(err)),
		    -1);
	}
	for (size_t i = 0; i < sizeof(domains) / sizeof(domains[0]); i++) {
		assert_int_equal(
		    prestashop_update_domain(c, prefix_a, domains[i], err, sizeof(err)), -1);
		assert_non_null(strstr(err, "invalid domain"));
		assert_int_equal(wordpress_update_urls(c, "wp_", domains[i], err, sizeof(err)), -1);
		assert_non_null(strstr(err, "invalid domain"));
	}
	/* Not one connection, not one statement reached the server. */
	assert_int_equal(log_rows(), rows);
	after = dump_ps(prefix_a);
	assert_string_equal(after, before_a);
	free(after);
	after = dump_ps(prefix_b);
	assert_string_equal(after, before_b);
	free(after);
	free(before_a);
	free(before_b);
	/* And the connection still works: the log does see real statements. */
	assert_int_equal(db_exec(c, "SELECT 1", NULL, 0, NULL, err, sizeof(err)), 0);
	assert_true(log_rows() > rows);
	db_close(c);
}

/* --- WordPress ------------------------------------------------------------------ */

static void
test_wordpress_urls(void **state)
{
	const struct profile *p = profile_find("wordpress");
	struct app_instance inst;
	char err[512], *v, *before_other, *after_other;

	(void)state;
	load_fixture(wp_fixture, "wp_");
	load_fixture(wp_fixture, "wq_");
	before_other = dump("wq_options", "option_id, option_name, option_value");
	instance_for(&inst, "k3f9x2.demo.localhost", "wp_");
	if (p->after_restore(&inst, err, sizeof(err)) == -1)
		fail_msg("after_restore: %s", err);
	v = obs_str("SELECT GROUP_CONCAT(CONCAT(option_name, '=', option_value) ORDER BY "
		    "option_id) FROM " SCHEMA ".wp_options");
	/* The visitors' scheme replaces the template's (home was https): one
	 * scheme for the whole site, no mixed content. */
	assert_string_equal(v, "siteurl=http://k3f9x2.demo.localhost,"
			       "home=http://k3f9x2.demo.localhost/blog,"
			       "blogname=demux WordPress demo,"
			       "admin_email=admin@wp.template.localhost");
	free(v);
	/* On port 8088 both URLs name it; the path is kept. */
	inst.port = 8088;
	if (p->after_restore(&inst, err, sizeof(err)) == -1)
		fail_msg("after_restore port 8088: %s", err);
	v = obs_str("SELECT GROUP_CONCAT(option_value ORDER BY option_id) FROM " SCHEMA
		    ".wp_options WHERE option_name IN ('siteurl', 'home')");
	assert_string_equal(v, "http://k3f9x2.demo.localhost:8088,"
			       "http://k3f9x2.demo.localhost:8088/blog");
	free(v);
	/* An https demo: both https, on 443 without a port. */
	inst.scheme = "https";
	inst.port = 443;
	if (p->after_restore(&inst, err, sizeof(err)) == -1)
		fail_msg("after_restore https: %s", err);
	v = obs_str("SELECT GROUP_CONCAT(option_value ORDER BY option_id) FROM " SCHEMA
		    ".wp_options WHERE option_name IN ('siteurl', 'home')");
	assert_string_equal(v, "https://k3f9x2.demo.localhost,"
			       "https://k3f9x2.demo.localhost/blog");
	free(v);
	after_other = dump("wq_options", "option_id, option_name, option_value");
	assert_string_equal(after_other, before_other);
	free(before_other);
	free(after_other);

	/* A missing home row: refused, siteurl left as it was. */
	obs_exec("DELETE FROM " SCHEMA ".wq_options WHERE option_name = 'home'");
	instance_for(&inst, "other.demo.localhost", "wq_");
	assert_int_equal(p->after_restore(&inst, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "home"));
	v = obs_str("SELECT option_value FROM " SCHEMA ".wq_options WHERE option_name = 'siteurl'");
	assert_string_equal(v, "http://wp.template.localhost");
	free(v);
}

/* --- generic ----------------------------------------------------------------------- */

static void
test_generic_binds_values(void **state)
{
	const struct profile *p = profile_find("generic");
	struct app_instance inst;
	char err[512], *v;
	long long prepares;

	(void)state;
	obs_exec("USE " SCHEMA "; CREATE TABLE g_settings (k VARCHAR(32) PRIMARY KEY, v TEXT);"
		 "INSERT INTO g_settings VALUES ('domain', 'tmpl.localhost'), ('x', 'y');"
		 "CREATE TABLE g_log (id VARCHAR(32), prefix VARCHAR(32), note TEXT)");
	instance_for(&inst, "k3f9x2.demo.localhost", "g_");
	inst.generic_after_restore =
	    "UPDATE g_settings SET v = {domain} WHERE k = 'domain';\n"
	    "-- the values go as parameters, in this order\n"
	    "INSERT INTO g_log (id, prefix, note) VALUES ({id}, {prefix}, CONCAT('at ', {domain}))";
	prepares = obs_int("SELECT COUNT(*) FROM mysql.general_log WHERE command_type = 'Prepare' "
			   "AND argument LIKE 'INSERT INTO g!_log (id, prefix, note) VALUES (?, ?, "
			   "CONCAT(''at '', ?))' ESCAPE '!'");
	if (p->after_restore(&inst, err, sizeof(err)) == -1)
		fail_msg("after_restore: %s", err);
	v = obs_str("SELECT GROUP_CONCAT(CONCAT(k, '=', v) ORDER BY k) FROM " SCHEMA ".g_settings");
	assert_string_equal(v, "domain=k3f9x2.demo.localhost,x=y");
	free(v);
	v = obs_str("SELECT CONCAT_WS('|', id, prefix, note) FROM " SCHEMA ".g_log");
	assert_string_equal(v, "abcdefghijklmnop|g_|at k3f9x2.demo.localhost");
	free(v);
	/* The server saw markers, not values, in the statement text. */
	assert_int_equal(obs_int("SELECT COUNT(*) FROM mysql.general_log WHERE command_type = "
				 "'Prepare' AND argument LIKE 'INSERT INTO g!_log (id, prefix, "
				 "note) VALUES (?, ?, CONCAT(''at '', ?))' ESCAPE '!'"),
			 prepares + 1);

	/* {host} carries the public port; {domain} does not. */
	inst.port = 8088;
	inst.generic_after_restore = "UPDATE g_settings SET v = CONCAT({host}, ' ', {domain}) "
				     "WHERE k = 'domain'";
	if (p->after_restore(&inst, err, sizeof(err)) == -1)
		fail_msg("after_restore {host}: %s", err);
	v = obs_str("SELECT v FROM " SCHEMA ".g_settings WHERE k = 'domain'");
	assert_string_equal(v, "k3f9x2.demo.localhost:8088 k3f9x2.demo.localhost");
	free(v);
	inst.port = 0;
	obs_exec("UPDATE " SCHEMA ".g_settings SET v = 'k3f9x2.demo.localhost' WHERE k = 'domain'");

	/* One transaction: a failing second statement undoes the first. */
	inst.domain = "again.demo.localhost";
	inst.generic_after_restore = "UPDATE g_settings SET v = {domain} WHERE k = 'domain';"
				     "INSERT INTO g_missing VALUES ({id})";
	assert_int_equal(p->after_restore(&inst, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "statement 2"));
	v = obs_str("SELECT v FROM " SCHEMA ".g_settings WHERE k = 'domain'");
	assert_string_equal(v, "k3f9x2.demo.localhost");
	free(v);

	/* on_release runs its own statements. */
	inst.generic_on_release = "DELETE FROM g_log WHERE id = {id}";
	if (p->on_release(&inst, err, sizeof(err)) == -1)
		fail_msg("on_release: %s", err);
	assert_int_equal(obs_int("SELECT COUNT(*) FROM " SCHEMA ".g_log"), 0);
}

/* --- connections ---------------------------------------------------------------- */

static int
unused_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s == -1 || bind(s, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    getsockname(s, (struct sockaddr *)&a, &len) == -1)
		fail_msg("socket: %s", strerror(errno));
	port = ntohs(a.sin_port);
	close(s);
	return port;
}

/* Child: after delay_ms, listens on port and relays one connection to the
 * MariaDB port, like a restored server that starts answering late. */
static void
late_relay(int port, int target, int delay_ms)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int ls, in, out, one = 1;
	struct pollfd fds[2];
	char b[16384];

	mstime_sleep(delay_ms);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls == -1 || bind(ls, (struct sockaddr *)&a, sizeof(a)) == -1 || listen(ls, 4) == -1)
		_exit(2);
	in = accept(ls, NULL, NULL);
	a.sin_port = htons((uint16_t)target);
	out = socket(AF_INET, SOCK_STREAM, 0);
	if (in == -1 || out == -1 || connect(out, (struct sockaddr *)&a, sizeof(a)) == -1)
		_exit(3);
	fds[0] = (struct pollfd){.fd = in, .events = POLLIN};
	fds[1] = (struct pollfd){.fd = out, .events = POLLIN};
	for (;;) {
		if (poll(fds, 2, 10000) <= 0)
			_exit(4);
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (!(fds[i].revents & (POLLIN | POLLHUP)))
				continue;
			n = read(fds[i].fd, b, sizeof(b));
			if (n <= 0 || write(fds[1 - i].fd, b, (size_t)n) != n)
				_exit(0);
		}
	}
}

static void
test_connect_retries_refused(void **state)
{
	struct db_params p = params;
	struct db_conn *c = NULL;
	char err[512];
	double t0, took;
	pid_t pid;
	int status;

	(void)state;
	/* Nobody listening: retried for retry_ms, then a clear error. */
	p.port = unused_port();
	p.retry_ms = 400;
	t0 = mstime_now();
	assert_int_equal(db_connect(&p, &c, err, sizeof(err)), -1);
	took = mstime_now() - t0;
	assert_null(c);
	if (took < 380 || took > 3000)
		fail_msg("refused connection gave up after %.0f ms, want about 400", took);
	assert_non_null(strstr(err, "connect"));
	assert_true(strstr(err, "(2002)") != NULL || strstr(err, "(2003)") != NULL);

	/* retry_ms = 0: one attempt. */
	p.retry_ms = 0;
	t0 = mstime_now();
	assert_int_equal(db_connect(&p, &c, err, sizeof(err)), -1);
	assert_true(mstime_now() - t0 < 300);

	/* The server appears 300 ms later: the retry gets it. */
	p.retry_ms = 5000;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		late_relay(p.port, params.port, 300);
	t0 = mstime_now();
	if (db_connect(&p, &c, err, sizeof(err)) == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("connect through the late relay: %s", err);
	}
	took = mstime_now() - t0;
	assert_true(db_connect_attempts(c) > 1);
	assert_true(took >= 250);
	assert_int_equal(db_exec(c, "SELECT 1", NULL, 0, NULL, err, sizeof(err)), 0);
	db_close(c);
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Runs fn with stderr going to a file; returns what was written. */
static char *
capture_stderr(void (*fn)(char *err, size_t errlen), char *err, size_t errlen)
{
	char path[] = "/tmp/demux-app-db-log.XXXXXX", *out;
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	struct buf b;
	char chunk[4096];
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	fn(err, errlen);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	buf_init(&b, 1 << 20);
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&b, chunk, (size_t)n);
	close(fd);
	unlink(path);
	out = buf_take(&b);
	return out;
}

static int wrong_password_attempts;

static void
connect_with_wrong_password(char *err, size_t errlen)
{
	struct db_params p = params;
	struct db_conn *c = NULL;
	struct app_instance inst;
	double t0 = mstime_now();

	p.password = "Wr0ngPassw0rd-Marker";
	p.retry_ms = 2000;
	if (db_connect(&p, &c, err, errlen) == 0) {
		db_close(c);
		snprintf(err, errlen, "connected with a wrong password");
		return;
	}
	/* Access denied is final: not retried for 2 s. */
	wrong_password_attempts = mstime_now() - t0 < 500 ? 1 : 99;
	instance_for(&inst, "k3f9x2.demo.localhost", prefix_a);
	inst.db.password = "Wr0ngPassw0rd-Marker";
	(void)prestashop_profile.after_restore(&inst, err, errlen);
	/* And a good connection, logged at debug level. */
	if (db_connect(&params, &c, err, errlen) == 0)
		db_close(c);
}

static void
test_passwords_never_logged(void **state)
{
	char err[512], *logged;
	enum log_level saved = log_get_level();

	(void)state;
	log_set_level(LOG_LEVEL_DEBUG);
	logged = capture_stderr(connect_with_wrong_password, err, sizeof(err));
	log_set_level(saved);
	assert_int_equal(wrong_password_attempts, 1);
	assert_non_null(strstr(err, "Access denied"));
	assert_null(strstr(err, "Wr0ngPassw0rd-Marker"));
	assert_non_null(strstr(logged, "db connected"));
	assert_null(strstr(logged, "Wr0ngPassw0rd-Marker"));
	assert_null(strstr(logged, params.password));
	free(logged);
}

static void
test_read_timeout(void **state)
{
	struct db_params p = params;
	struct db_conn *c = NULL;
	char err[512];
	double t0, took;

	(void)state;
	p.rw_timeout_s = 1;
	if (db_connect(&p, &c, err, sizeof(err)) == -1)
		fail_msg("connect: %s", err);
	t0 = mstime_now();
	assert_int_equal(db_exec(c, "SELECT SLEEP(5)", NULL, 0, NULL, err, sizeof(err)), -1);
	took = mstime_now() - t0;
	if (took > 3500)
		fail_msg("read timeout of 1 s took %.0f ms", took);
	assert_non_null(strstr(err, "SELECT SLEEP(5)"));
	db_close(c);
}

/* The stored hash checks against password with crypt, as PHP's
 * password_verify (PrestaShop) and WordPress's fallback do. */
static void
assert_hash_verifies(const char *hash, const char *password)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *v;

	assert_non_null(cd);
	assert_memory_equal(hash, "$2y$05$", 7);
	v = crypt_rn(password, hash, cd, sizeof(*cd));
	if (v == NULL || strcmp(v, hash) != 0)
		fail_msg("hash %s does not verify", hash);
	free(cd);
}

/* The copy's own admin password, through each profile against the app's
 * own tables: only the template's login changes, in the hook's transaction
 * (a login with no row fails it and the domain stays), other rows keep
 * theirs. */
static void
test_admin_passwords(void **state)
{
	const struct profile *ps = profile_find("prestashop"), *wp = profile_find("wordpress");
	struct app_instance inst;
	char err[512], *v;

	(void)state;
	obs_execf("CREATE TABLE " SCHEMA ".`%semployee` (id_employee INT UNSIGNED NOT NULL "
		  "AUTO_INCREMENT PRIMARY KEY, email VARCHAR(255) NOT NULL, passwd VARCHAR(255) "
		  "NOT NULL); INSERT INTO " SCHEMA ".`%semployee` (email, passwd) VALUES "
		  "('admin@shop.example', 'template-hash'), ('clerk@shop.example', 'clerk-hash')",
		  prefix_a, prefix_a);
	instance_for(&inst, "k3f9x2.demo.localhost", prefix_a);
	inst.admin_user = "admin@shop.example";
	inst.admin_password = "Xk7mPq2rSt9vWy3z";
	if (ps->after_restore(&inst, err, sizeof(err)) == -1)
		fail_msg("prestashop after_restore: %s", err);
	v = obs_str("SELECT passwd FROM " SCHEMA ".`%semployee` WHERE email = 'admin@shop.example'",
		    prefix_a);
	assert_hash_verifies(v, "Xk7mPq2rSt9vWy3z");
	free(v);
	v = obs_str("SELECT passwd FROM " SCHEMA ".`%semployee` WHERE email = 'clerk@shop.example'",
		    prefix_a);
	assert_string_equal(v, "clerk-hash");
	free(v);
	/* A login the template does not have: nothing changes. */
	instance_for(&inst, "other.demo.localhost", prefix_a);
	inst.admin_user = "nobody@shop.example";
	inst.admin_password = "Hn4bVc8dEf6gJk2m";
	assert_int_equal(ps->after_restore(&inst, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "0 rows for the admin login nobody@shop.example"));
	assert_null(strstr(err, "Hn4bVc8dEf6gJk2m"));
	v = obs_str("SELECT domain FROM " SCHEMA ".`%sshop_url` WHERE main = 1", prefix_a);
	assert_string_equal(v, "k3f9x2.demo.localhost");
	free(v);

	load_fixture(wp_fixture, "wp_");
	obs_exec("CREATE TABLE " SCHEMA ".wp_users (ID BIGINT UNSIGNED NOT NULL AUTO_INCREMENT "
		 "PRIMARY KEY, user_login VARCHAR(60) NOT NULL, user_pass VARCHAR(255) NOT NULL); "
		 "INSERT INTO " SCHEMA ".wp_users (user_login, user_pass) VALUES "
		 "('admin', '$P$Btemplatehash'), ('editor', '$P$Beditorhash')");
	instance_for(&inst, "k3f9x2.demo.localhost", "wp_");
	inst.admin_user = "admin";
	inst.admin_password = "Xk7mPq2rSt9vWy3z";
	if (wp->after_restore(&inst, err, sizeof(err)) == -1)
		fail_msg("wordpress after_restore: %s", err);
	v = obs_str("SELECT user_pass FROM " SCHEMA ".wp_users WHERE user_login = 'admin'");
	assert_hash_verifies(v, "Xk7mPq2rSt9vWy3z");
	free(v);
	v = obs_str("SELECT user_pass FROM " SCHEMA ".wp_users WHERE user_login = 'editor'");
	assert_string_equal(v, "$P$Beditorhash");
	free(v);

	/* generic: generic_admin_password after generic_after_restore. */
	obs_exec("CREATE TABLE " SCHEMA ".g_users (login VARCHAR(60), pass VARCHAR(255), site "
		 "VARCHAR(255)); INSERT INTO " SCHEMA ".g_users VALUES ('root', 'old', '')");
	instance_for(&inst, "k3f9x2.demo.localhost", "wp_");
	inst.generic_after_restore = "UPDATE g_users SET site = {domain}";
	inst.generic_admin_password = "UPDATE g_users SET pass = {password_hash} WHERE login = "
				      "{admin_user}";
	inst.admin_user = "root";
	inst.admin_password = "Xk7mPq2rSt9vWy3z";
	if (generic_profile.after_restore(&inst, err, sizeof(err)) == -1)
		fail_msg("generic after_restore: %s", err);
	v = obs_str("SELECT pass FROM " SCHEMA ".g_users WHERE login = 'root'");
	assert_hash_verifies(v, "Xk7mPq2rSt9vWy3z");
	free(v);
	v = obs_str("SELECT site FROM " SCHEMA ".g_users WHERE login = 'root'");
	assert_string_equal(v, "k3f9x2.demo.localhost");
	free(v);
}

/* --- the hook tool for app_e2e.sh -------------------------------------------- */

static int
usage(void)
{
	fprintf(stderr,
		"usage: integ_app_db hook PROFILE DOMAIN PREFIX DB_PORT|DB_SOCKET DB_USER DB_NAME\n"
		"  (password in DEMUX_HOOK_DB_PASSWORD, visitors' port in DEMUX_HOOK_PORT,\n"
		"  the copy's own admin password for login DEMUX_HOOK_ADMIN_USER in\n"
		"  DEMUX_HOOK_ADMIN_PASSWORD; prints the hook's duration)\n");
	return 2;
}

static int
run_hook(int argc, char **argv)
{
	const struct profile *p;
	struct app_instance inst;
	char err[1024];
	double t0;

	if (argc != 8 || (p = profile_find(argv[2])) == NULL)
		return usage();
	memset(&inst, 0, sizeof(inst));
	inst.id = "hook";
	inst.domain = argv[3];
	inst.scheme = "http";
	inst.port = getenv("DEMUX_HOOK_PORT") != NULL ? atoi(getenv("DEMUX_HOOK_PORT")) : 0;
	inst.prefix = argv[4];
	/* A path is the copy's unix socket (as demux reaches it), else a port. */
	inst.db.host = "127.0.0.1";
	if (argv[5][0] == '/')
		inst.db.unix_socket = argv[5];
	else
		inst.db.port = (int)strtol(argv[5], NULL, 10);
	inst.db.user = argv[6];
	inst.db.password = getenv("DEMUX_HOOK_DB_PASSWORD");
	inst.db.name = argv[7];
	inst.admin_user = getenv("DEMUX_HOOK_ADMIN_USER");
	inst.admin_password = getenv("DEMUX_HOOK_ADMIN_PASSWORD");
	inst.db.connect_timeout_s = 5;
	inst.db.rw_timeout_s = 10;
	inst.db.retry_ms = 3000;
	t0 = mstime_now();
	if (p->after_restore(&inst, err, sizeof(err)) == -1) {
		fprintf(stderr, "after_restore: %s\n", err);
		return 1;
	}
	printf("%.3f\n", mstime_now() - t0);
	return 0;
}

/* --- main --------------------------------------------------------------------- */

/* Runs this program again with a private MariaDB from tests/lib/common.sh. */
static int
rerun_with_mariadb(char **argv)
{
	static const char script[] =
	    ". \"$DEMUX_ROOT/tests/lib/common.sh\"\n"
	    "t_init\n"
	    "_t_planned=1\n"
	    "start_mariadb >&2 || { echo 'Bail out! could not start MariaDB'; exit 1; }\n"
	    "export MARIADB_PORT MARIADB_USER MARIADB_PASSWORD MARIADB_SOCKET\n"
	    "\"$0\"\n";
	const char *root = getenv("DEMUX_ROOT");

	if (root == NULL)
		setenv("DEMUX_ROOT", ".", 1);
	execl("/bin/bash", "bash", "-c", script, argv[0], (char *)NULL);
	perror("exec bash");
	return 1;
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_update_domain_touches_only_target, setup_ps),
	    cmocka_unit_test_setup(test_update_domain_is_one_transaction, setup_ps),
	    cmocka_unit_test_setup(test_clear_caches, setup_ps),
	    cmocka_unit_test_setup(test_prestashop_hooks, setup_ps),
	    cmocka_unit_test_setup(test_drop_exact_prefix, setup_ps),
	    cmocka_unit_test_setup(test_drop_instance_tables, setup_ps),
	    cmocka_unit_test_setup(test_hostile_input_sends_nothing, setup_ps),
	    cmocka_unit_test_setup(test_wordpress_urls, setup_ps),
	    cmocka_unit_test_setup(test_generic_binds_values, setup_ps),
	    cmocka_unit_test_setup(test_admin_passwords, setup_ps),
	    cmocka_unit_test(test_connect_retries_refused),
	    cmocka_unit_test_setup(test_passwords_never_logged, setup_ps),
	    cmocka_unit_test(test_read_timeout),
	};
	const char *port = getenv("MARIADB_PORT");
	int rc;

	if (argc > 1 && strcmp(argv[1], "hook") == 0)
		return run_hook(argc, argv);
	if (port == NULL || getenv("MARIADB_SOCKET") == NULL)
		return rerun_with_mariadb(argv);
	params.host = "127.0.0.1";
	params.port = (int)strtol(port, NULL, 10);
	params.user = getenv("MARIADB_USER");
	params.password = getenv("MARIADB_PASSWORD");
	params.name = SCHEMA;
	params.connect_timeout_s = 5;
	params.rw_timeout_s = 10;
	if (params.user == NULL || params.password == NULL) {
		printf("Bail out! MARIADB_USER and MARIADB_PASSWORD are needed\n");
		return 1;
	}
	obs = mysql_init(NULL);
	if (obs == NULL ||
	    mysql_real_connect(obs, NULL, "root", NULL, NULL, 0, getenv("MARIADB_SOCKET"),
			       CLIENT_MULTI_STATEMENTS) == NULL) {
		printf("Bail out! observer connection: %s\n", obs ? mysql_error(obs) : "no memory");
		return 1;
	}
	/* Every statement any connection sends lands in mysql.general_log. */
	obs_exec("SET GLOBAL log_output = 'TABLE'; SET GLOBAL general_log = 1");
	/* The schema must exist before db_connect names it. */
	reset_schema();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	obs_exec("SET GLOBAL general_log = 0");
	mysql_close(obs);
	return rc;
}
