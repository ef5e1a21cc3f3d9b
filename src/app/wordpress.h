/*
 * wordpress — the WordPress profile: after a restore, rewrite wp_options
 * siteurl and home to the instance's domain, keeping each URL's scheme and
 * path; at release in shared-database mode, drop the instance's tables.
 */
#ifndef DEMUX_APP_WORDPRESS_H
#define DEMUX_APP_WORDPRESS_H

#include <stddef.h>

#include "app/db.h"
#include "app/profile.h"

extern const struct profile wordpress_profile;

/* Replaces the authority (host and port) of an http or https URL with domain,
 * and its scheme with scheme ("http", "https"; NULL keeps the old one):
 * "http://old.example:8080/blog" -> "https://<domain>/blog". 0, or -1 with a
 * reason when old is not such a URL or out is too small. */
int wordpress_rewrite_url(const char *old, const char *scheme, const char *domain, char *out,
			  size_t outlen, char *err, size_t errlen);
/* In one transaction: reads siteurl and home from <prefix>options and writes
 * them back rewritten by wordpress_rewrite_url. Fails, changing nothing, if
 * either option is missing or not an http(s) URL. */
int wordpress_update_urls(struct db_conn *c, const char *prefix, const char *domain, char *err,
			  size_t errlen);
/* wordpress_update_urls with the visitors' scheme (NULL keeps the
 * template's) and, when hash is not NULL, the admin password of login in the
 * same transaction: what after_restore runs. */
int wordpress_apply(struct db_conn *c, const char *prefix, const char *domain, const char *scheme,
		    const char *login, const char *hash, char *err, size_t errlen);
/* The statement that gives a copy its own admin password: the user whose
 * user_login is login gets user_pass = hash. SQL into st->sql, values into
 * st->params. */
int wordpress_password_stmt(const char *prefix, const char *login, const char *hash,
			    struct db_stmt *st, char *err, size_t errlen);

#endif
