/*
 * wordpress — WordPress after a restore. WordPress builds every link from
 * the siteurl and home options and redirects a request for another host to
 * home, so rewriting those two rows re-points a restored copy. Its admin
 * login is a users row; user_pass takes a bcrypt hash, which wp_check_password
 * accepts (phpass's CheckPassword falls back to crypt() for a hash that is
 * not its own "$P$" kind).
 */
#include "app/wordpress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "app/password.h"
#include "buf.h"
#include "log.h"
#include "mstime.h"
#include "validate.h"
#include "xmalloc.h"

#define WP_SQL_MAX 512
#define WP_URL_MAX 2048

static int
wp_fail(char *err, size_t errlen, const char *what, const char *reason)
{
	snprintf(err, errlen, "%s: %s", what, reason);
	return -1;
}

int
wordpress_rewrite_url(const char *old, const char *scheme, const char *domain, char *out,
		      size_t outlen, char *err, size_t errlen)
{
	const char *sep, *rest;
	size_t schemelen;
	int n;

	sep = strstr(old, "://");
	if (sep == NULL) {
		snprintf(err, errlen, "\"%.80s\" is not an http(s) URL", old);
		return -1;
	}
	schemelen = (size_t)(sep - old);
	if (!((schemelen == 4 && strncasecmp(old, "http", 4) == 0) ||
	      (schemelen == 5 && strncasecmp(old, "https", 5) == 0))) {
		snprintf(err, errlen, "\"%.80s\" is not an http(s) URL", old);
		return -1;
	}
	if (scheme != NULL && strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		snprintf(err, errlen, "scheme \"%.16s\" is not http or https", scheme);
		return -1;
	}
	rest = sep + 3;
	rest += strcspn(rest, "/?#");
	if (scheme != NULL)
		n = snprintf(out, outlen, "%s://%s%s", scheme, domain, rest);
	else
		n = snprintf(out, outlen, "%.*s://%s%s", (int)schemelen, old, domain, rest);
	if (n < 0 || (size_t)n >= outlen) {
		snprintf(err, errlen, "rewritten URL longer than %zu bytes", outlen - 1);
		return -1;
	}
	return 0;
}

struct wp_urls {
	char *siteurl;
	char *home;
};

static int
wp_collect(void *ctx, const char *const *cols, unsigned int ncols)
{
	struct wp_urls *u = ctx;
	char **slot;

	if (ncols != 2 || cols[0] == NULL)
		return -1;
	if (strcmp(cols[0], "siteurl") == 0)
		slot = &u->siteurl;
	else if (strcmp(cols[0], "home") == 0)
		slot = &u->home;
	else
		return 0;
	free(*slot);
	*slot = xstrdup(cols[1] != NULL ? cols[1] : "");
	return 0;
}

int
wordpress_password_stmt(const char *prefix, const char *login, const char *hash, struct db_stmt *st,
			char *err, size_t errlen)
{
	buf_reset(&st->sql);
	if (buf_appends(&st->sql, "UPDATE ") == -1 ||
	    db_append_prefixed_ident(&st->sql, prefix, "users", err, errlen) == -1 ||
	    buf_appends(&st->sql, " SET user_pass = ? WHERE user_login = ?") == -1)
		return -1;
	st->params[0] = hash;
	st->params[1] = login;
	st->nparams = 2;
	return 0;
}

int
wordpress_update_urls(struct db_conn *c, const char *prefix, const char *domain, char *err,
		      size_t errlen)
{
	return wordpress_apply(c, prefix, domain, NULL, NULL, NULL, err, errlen);
}

int
wordpress_apply(struct db_conn *c, const char *prefix, const char *domain, const char *scheme,
		const char *login, const char *hash, char *err, size_t errlen)
{
	struct wp_urls u = {0};
	struct buf select, update;
	char e[256], siteurl[WP_URL_MAX], home[WP_URL_MAX];
	const char *params[2];
	int began = 0, ret = -1;

	buf_init(&select, WP_SQL_MAX);
	buf_init(&update, WP_SQL_MAX);
	if (validate_prefix(prefix, e, sizeof(e)) == -1) {
		wp_fail(err, errlen, "invalid table prefix", e);
		goto out;
	}
	if (validate_host_port(domain, e, sizeof(e)) == -1) {
		wp_fail(err, errlen, "invalid domain", e);
		goto out;
	}
	if (buf_appends(&select, "SELECT option_name, option_value FROM ") == -1 ||
	    db_append_prefixed_ident(&select, prefix, "options", err, errlen) == -1 ||
	    buf_appends(&select, " WHERE option_name IN ('siteurl', 'home') FOR UPDATE") == -1 ||
	    buf_appends(&update, "UPDATE ") == -1 ||
	    db_append_prefixed_ident(&update, prefix, "options", err, errlen) == -1 ||
	    buf_appends(&update, " SET option_value = ? WHERE option_name = ?") == -1)
		goto out;
	if (db_begin(c, err, errlen) == -1)
		goto out;
	began = 1;
	if (db_query(c, buf_str(&select), NULL, 0, wp_collect, &u, err, errlen) == -1)
		goto out;
	if (u.siteurl == NULL || u.home == NULL) {
		snprintf(err, errlen, "%soptions has no %s row", prefix,
			 u.siteurl == NULL ? "siteurl" : "home");
		goto out;
	}
	if (wordpress_rewrite_url(u.siteurl, scheme, domain, siteurl, sizeof(siteurl), e,
				  sizeof(e)) == -1) {
		wp_fail(err, errlen, "siteurl", e);
		goto out;
	}
	if (wordpress_rewrite_url(u.home, scheme, domain, home, sizeof(home), e, sizeof(e)) == -1) {
		wp_fail(err, errlen, "home", e);
		goto out;
	}
	params[0] = siteurl;
	params[1] = "siteurl";
	if (db_exec(c, buf_str(&update), params, 2, NULL, err, errlen) == -1)
		goto out;
	params[0] = home;
	params[1] = "home";
	if (db_exec(c, buf_str(&update), params, 2, NULL, err, errlen) == -1)
		goto out;
	if (hash != NULL && db_set_admin_password(c, wordpress_password_stmt, prefix, login, hash,
						  err, errlen) == -1)
		goto out;
	if (db_commit(c, err, errlen) == -1)
		goto out;
	began = 0;
	log_debug("wordpress urls updated prefix=%s siteurl=%s home=%s", prefix, siteurl, home);
	ret = 0;
out:
	if (began)
		db_rollback(c);
	free(u.siteurl);
	free(u.home);
	buf_free(&select);
	buf_free(&update);
	return ret;
}

static int
wp_after_restore(const struct app_instance *inst, char *err, size_t errlen)
{
	struct db_conn *c = NULL;
	double t0 = mstime_now();
	char e[256], host[APP_SITE_HOST_MAX + 1], hash[PASSWORD_HASH_SIZE];
	int own, ret = -1;

	if (validate_prefix(inst->prefix, e, sizeof(e)) == -1) {
		wp_fail(err, errlen, "invalid table prefix", e);
		goto out;
	}
	/* siteurl and home name the scheme visitors use (an https site behind
	 * the proxy: no mixed content, and is_ssl() agrees, since the image
	 * turns X-Forwarded-Proto into HTTPS=on) and their port, when it is not
	 * the scheme's default. */
	if (app_site_host(inst, host, sizeof(host), e, sizeof(e)) == -1) {
		wp_fail(err, errlen, "invalid site address", e);
		goto out;
	}
	if ((own = app_admin_password_hash(inst, hash, sizeof(hash), err, errlen)) == -1)
		goto out;
	if (db_connect(&inst->db, &c, err, errlen) == -1 ||
	    wordpress_apply(c, inst->prefix, host, inst->scheme, inst->admin_user,
			    own ? hash : NULL, err, errlen) == -1)
		goto out;
	log_info("after_restore profile=wordpress id=%s domain=%s scheme=%s prefix=%s "
		 "admin_password=%s ms=%.2f",
		 inst->id != NULL ? inst->id : "-", host, inst->scheme != NULL ? inst->scheme : "-",
		 inst->prefix, own ? "own" : "template", mstime_now() - t0);
	ret = 0;
out:
	db_close(c);
	return ret;
}

static int
wp_sets_admin_password(const struct app_instance *inst)
{
	return inst->admin_user != NULL && inst->admin_user[0] != '\0';
}

static int
wp_on_release(const struct app_instance *inst, char *err, size_t errlen)
{
	return db_release_instance_tables(inst, err, errlen);
}

const struct profile wordpress_profile = {
    .name = "wordpress",
    .default_prefix = "wp_",
    .health_path = "/",
    .admin_path = "/wp-admin/",
    .admin_user = NULL, /* chosen when the template is built: its labels say */
    .admin_password = NULL,
    .stock_image = NULL,
    .sets_admin_password = wp_sets_admin_password,
    .after_restore = wp_after_restore,
    .on_release = wp_on_release,
};
