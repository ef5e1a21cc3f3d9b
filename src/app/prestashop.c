/*
 * prestashop — PrestaShop after a restore: re-point the shop to the
 * instance's domain and clear the caches that hold rendered links.
 *
 * PrestaShop finds its shop by matching the request's Host against shop_url;
 * with no match it answers 302 to the main URL of shop 1, which after a raw
 * restore is the template's domain. Links are built from PS_SHOP_DOMAIN(_SSL)
 * and cached, rendered, in smarty_cache / smarty_lazy_cache. The back-office
 * login is an employee row (email, passwd = a PHP password_hash, checked
 * with password_verify since 1.7); each copy gets its own password there.
 */
#include "app/prestashop.h"

#include <mysqld_error.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app/password.h"
#include "buf.h"
#include "log.h"
#include "mstime.h"
#include "validate.h"

#define PS_SQL_MAX 512

static int
ps_fail(char *err, size_t errlen, const char *what, const char *reason)
{
	snprintf(err, errlen, "%s: %s", what, reason);
	return -1;
}

/* Builds "<head>`<prefix><table>`<tail>" into b. */
static int
ps_sql(struct buf *b, const char *head, const char *prefix, const char *table, const char *tail,
       char *err, size_t errlen)
{
	buf_reset(b);
	if (buf_appends(b, head) == -1 ||
	    db_append_prefixed_ident(b, prefix, table, err, errlen) == -1 ||
	    buf_appends(b, tail) == -1)
		return -1;
	return 0;
}

/* Validates what reaches SQL; domain may be NULL when none is needed. */
static int
ps_check(const char *prefix, const char *domain, char *err, size_t errlen)
{
	char e[256];

	if (validate_prefix(prefix, e, sizeof(e)) == -1)
		return ps_fail(err, errlen, "invalid table prefix", e);
	if (domain != NULL && validate_host_port(domain, e, sizeof(e)) == -1)
		return ps_fail(err, errlen, "invalid domain", e);
	if (domain != NULL && strlen(domain) > DOMAIN_MAX) {
		snprintf(e, sizeof(e), "%zu characters with its port, the column holds %d",
			 strlen(domain), DOMAIN_MAX);
		return ps_fail(err, errlen, "invalid domain", e);
	}
	return 0;
}

/* UpdateDomain's two statements, inside the caller's transaction. */
static int
ps_update_domain(struct db_conn *c, const char *prefix, const char *domain, char *err,
		 size_t errlen)
{
	const char *params[2] = {domain, domain};
	unsigned long long urls = 0, keys = 0;
	struct buf sql;
	int ret = -1;

	buf_init(&sql, PS_SQL_MAX);
	if (ps_sql(&sql, "UPDATE ", prefix, "shop_url",
		   " SET domain = ?, domain_ssl = ? WHERE id_shop = 1 AND main = 1", err,
		   errlen) == -1 ||
	    db_exec(c, buf_str(&sql), params, 2, &urls, err, errlen) == -1)
		goto out;
	if (urls != 1) {
		snprintf(err, errlen, "%sshop_url: %llu main rows for shop 1, want 1", prefix,
			 urls);
		goto out;
	}
	if (ps_sql(&sql, "UPDATE ", prefix, "configuration",
		   " SET value = ?, date_upd = NOW() WHERE name IN ('PS_SHOP_DOMAIN', "
		   "'PS_SHOP_DOMAIN_SSL') AND (id_shop IS NULL OR id_shop = 1)",
		   err, errlen) == -1 ||
	    db_exec(c, buf_str(&sql), params, 1, &keys, err, errlen) == -1)
		goto out;
	if (keys == 0) {
		snprintf(err, errlen, "%sconfiguration has no PS_SHOP_DOMAIN or PS_SHOP_DOMAIN_SSL",
			 prefix);
		goto out;
	}
	log_debug("prestashop domain updated prefix=%s domain=%s config_rows=%llu", prefix, domain,
		  keys);
	ret = 0;
out:
	buf_free(&sql);
	return ret;
}

/*
 * PS_SSL_ENABLED and PS_SSL_ENABLED_EVERYWHERE to 1 for an https demo (links
 * on https://PS_SHOP_DOMAIN_SSL, no mixed content), 0 for plain http (else a
 * template made with SSL on would send visitors to an https nobody serves).
 * PrestaShop redirects a request it does not see as secure to https, so an
 * https demo needs the proxy's X-Forwarded-Proto turned into HTTPS=on: the
 * images' nginx does that.
 */
static int
ps_set_ssl(struct db_conn *c, const char *prefix, int ssl, char *err, size_t errlen)
{
	const char *params[1] = {ssl ? "1" : "0"};
	unsigned long long rows = 0;
	struct buf sql;
	int ret = -1;

	buf_init(&sql, PS_SQL_MAX);
	if (ps_sql(&sql, "UPDATE ", prefix, "configuration",
		   " SET value = ?, date_upd = NOW() WHERE name IN ('PS_SSL_ENABLED', "
		   "'PS_SSL_ENABLED_EVERYWHERE') AND (id_shop IS NULL OR id_shop = 1)",
		   err, errlen) == -1 ||
	    db_exec(c, buf_str(&sql), params, 1, &rows, err, errlen) == -1)
		goto out;
	if (ssl && rows < 2) {
		snprintf(
		    err, errlen,
		    "%sconfiguration lacks PS_SSL_ENABLED or PS_SSL_ENABLED_EVERYWHERE: cannot "
		    "serve the shop over https",
		    prefix);
		goto out;
	}
	ret = 0;
out:
	buf_free(&sql);
	return ret;
}

int
prestashop_password_stmt(const char *prefix, const char *login, const char *hash,
			 struct db_stmt *st, char *err, size_t errlen)
{
	if (ps_sql(&st->sql, "UPDATE ", prefix, "employee", " SET passwd = ? WHERE email = ?", err,
		   errlen) == -1)
		return -1;
	st->params[0] = hash;
	st->params[1] = login;
	st->nparams = 2;
	return 0;
}

/*
 * ClearCaches, inside the caller's transaction. DELETE rather than the
 * seed's TRUNCATE: TRUNCATE is DDL (InnoDB recreates the table's file, with
 * fsyncs) and cost 5-15 ms per table here, most of the hook's 10 ms budget,
 * while a template's cache holds a few rows that DELETE removes in well under
 * a millisecond — and as DML it commits atomically with the domain change.
 */
static int
ps_clear_caches(struct db_conn *c, const char *prefix, char *err, size_t errlen)
{
	static const char *const tables[] = {"smarty_cache", "smarty_lazy_cache"};
	struct buf sql;
	int ret = -1;

	buf_init(&sql, PS_SQL_MAX);
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if (ps_sql(&sql, "DELETE FROM ", prefix, tables[i], "", err, errlen) == -1)
			goto out;
		if (db_exec(c, buf_str(&sql), NULL, 0, NULL, err, errlen) == 0)
			continue;
		if (db_errno(c) != ER_NO_SUCH_TABLE)
			goto out;
		/* An error inside a transaction undoes only that statement. */
		log_debug("cache table missing, skipped table=%s%s", prefix, tables[i]);
	}
	ret = 0;
out:
	buf_free(&sql);
	return ret;
}

/* Runs the chosen steps in one transaction; ssl -1 leaves the SSL switches
 * alone, hash NULL the admin password. */
static int
ps_run(struct db_conn *c, const char *prefix, const char *domain, int ssl, int clear,
       const char *login, const char *hash, char *err, size_t errlen)
{
	int ret = -1;

	if (ps_check(prefix, domain, err, errlen) == -1 || db_begin(c, err, errlen) == -1)
		return -1;
	if (domain != NULL && ps_update_domain(c, prefix, domain, err, errlen) == -1)
		goto out;
	if (ssl != -1 && ps_set_ssl(c, prefix, ssl, err, errlen) == -1)
		goto out;
	if (hash != NULL && db_set_admin_password(c, prestashop_password_stmt, prefix, login, hash,
						  err, errlen) == -1)
		goto out;
	if (clear && ps_clear_caches(c, prefix, err, errlen) == -1)
		goto out;
	if (db_commit(c, err, errlen) == -1)
		goto out;
	ret = 0;
out:
	if (ret == -1)
		db_rollback(c);
	return ret;
}

int
prestashop_update_domain(struct db_conn *c, const char *prefix, const char *domain, char *err,
			 size_t errlen)
{
	if (domain == NULL)
		return ps_fail(err, errlen, "invalid domain", "domain is empty");
	return ps_run(c, prefix, domain, -1, 0, NULL, NULL, err, errlen);
}

int
prestashop_clear_caches(struct db_conn *c, const char *prefix, char *err, size_t errlen)
{
	return ps_run(c, prefix, NULL, -1, 1, NULL, NULL, err, errlen);
}

int
prestashop_apply(struct db_conn *c, const char *prefix, const char *domain, char *err,
		 size_t errlen)
{
	if (domain == NULL)
		return ps_fail(err, errlen, "invalid domain", "domain is empty");
	return ps_run(c, prefix, domain, -1, 1, NULL, NULL, err, errlen);
}

static int
ps_after_restore(const struct app_instance *inst, char *err, size_t errlen)
{
	struct db_conn *c = NULL;
	double t0 = mstime_now();
	char host[APP_SITE_HOST_MAX + 1], e[256], hash[PASSWORD_HASH_SIZE];
	int https = inst->scheme != NULL && strcmp(inst->scheme, "https") == 0;
	int own, ret = -1;

	/* Everything is checked before connecting: bad input sends nothing.
	 * PrestaShop matches the Host header, port included, against
	 * shop_url.domain (Shop::initialize), so a non-default port is stored. */
	if (app_site_host(inst, host, sizeof(host), e, sizeof(e)) == -1) {
		ps_fail(err, errlen, "invalid site address", e);
		goto out;
	}
	if (ps_check(inst->prefix, host, err, errlen) == -1)
		goto out;
	if ((own = app_admin_password_hash(inst, hash, sizeof(hash), err, errlen)) == -1)
		goto out;
	if (db_connect(&inst->db, &c, err, errlen) == -1 ||
	    ps_run(c, inst->prefix, host, https, 1, inst->admin_user, own ? hash : NULL, err,
		   errlen) == -1)
		goto out;
	log_info("after_restore profile=prestashop id=%s domain=%s ssl=%d prefix=%s "
		 "admin_password=%s ms=%.2f",
		 inst->id != NULL ? inst->id : "-", host, https, inst->prefix,
		 own ? "own" : "template", mstime_now() - t0);
	ret = 0;
out:
	db_close(c);
	return ret;
}

static int
ps_sets_admin_password(const struct app_instance *inst)
{
	return inst->admin_user != NULL && inst->admin_user[0] != '\0';
}

static int
ps_on_release(const struct app_instance *inst, char *err, size_t errlen)
{
	return db_release_instance_tables(inst, err, errlen);
}

/* prestashop/prestashop-flashlight, as its hydrate.sh sets it up. */
static const struct profile_stock_image flashlight = {
    .db_port = 3306,
    .db_name = "prestashop",
    .db_user = "prestashop",
    .health_path = "/admin-dev/robots.txt", /* its HEALTHCHECK: up once the dump is loaded */
    .admin_user = "admin@prestashop.com",
    .admin_password = "prestashop",
    .start_command = "/run.sh",
};

const struct profile prestashop_profile = {
    .name = "prestashop",
    .default_prefix = "ps_",
    .health_path = "/",
    .admin_path = "/admin-dev", /* prestashop-flashlight's back office */
    .admin_user = NULL,		/* an image's own: its labels say */
    .admin_password = NULL,
    .stock_image = &flashlight,
    .sets_admin_password = ps_sets_admin_password,
    .after_restore = ps_after_restore,
    .on_release = ps_on_release,
};
