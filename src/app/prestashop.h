/*
 * prestashop — the PrestaShop profile: the seed's UpdateDomain and
 * ClearCaches after a restore, DropPrefixedTables (db_drop_instance_tables)
 * at release in shared-database mode.
 *
 * The functions below take an open connection so that tests and the
 * benchmark can call each step alone; each validates its inputs before any
 * statement is sent and returns 0 or -1 with a reason in err.
 */
#ifndef DEMUX_APP_PRESTASHOP_H
#define DEMUX_APP_PRESTASHOP_H

#include <stddef.h>

#include "app/db.h"
#include "app/profile.h"

extern const struct profile prestashop_profile;

/* In one transaction: domain and domain_ssl of shop 1's main shop_url row
 * (the row PrestaShop resolves the shop from), and PS_SHOP_DOMAIN and
 * PS_SHOP_DOMAIN_SSL in configuration (global rows and shop 1's). Fails,
 * changing nothing, when there is no main row for shop 1 or no such key. */
int prestashop_update_domain(struct db_conn *c, const char *prefix, const char *domain, char *err,
			     size_t errlen);
/* Empties smarty_cache and smarty_lazy_cache (DELETE, in one transaction;
 * see prestashop.c for why not TRUNCATE). A missing table (older versions)
 * is logged at debug level and skipped; any other error fails. */
int prestashop_clear_caches(struct db_conn *c, const char *prefix, char *err, size_t errlen);
/* Both of the above in one transaction: what after_restore runs, with the
 * copy's admin password (prestashop_password_stmt) in the same transaction. */
/* The statement that gives a copy its own admin password: the employee whose
 * email is login gets passwd = hash. SQL into st->sql, values into
 * st->params. */
int prestashop_password_stmt(const char *prefix, const char *login, const char *hash,
			     struct db_stmt *st, char *err, size_t errlen);
int prestashop_apply(struct db_conn *c, const char *prefix, const char *domain, char *err,
		     size_t errlen);

#endif
