/*
 * generic — a profile whose SQL comes from the config: generic_after_restore
 * and generic_on_release of a [pool] section, statements separated by ';'.
 *
 * {domain}, {host}, {id} and {prefix} stand for values and are sent as bound
 * parameters: the parser turns each into a '?' and records which value goes
 * there. They are never spliced into the SQL text, so they cannot name a
 * table ("{prefix}options" is refused) nor appear inside a quoted string.
 * {domain} is "<id>.<base_domain>"; {host} is the site's host as browsers
 * send it, with ":<port>" when visitors use a port that is not the scheme's
 * default (app_site_host). {admin_user} and {password_hash} (the template's
 * admin login, and the bcrypt "$2y$" hash of the copy's own password) have
 * values only when the pool gave the copy a password of its own, that is when
 * generic_admin_password is configured: its statements run after
 * generic_after_restore's, in the same transaction.
 */
#ifndef DEMUX_APP_GENERIC_H
#define DEMUX_APP_GENERIC_H

#include <stddef.h>

#include "app/db.h"
#include "app/profile.h"

#define GENERIC_MAX_STMTS 32
#define GENERIC_MAX_PARAMS 16 /* per statement */

enum generic_value {
	GENERIC_DOMAIN,
	GENERIC_ID,
	GENERIC_PREFIX,
	GENERIC_HOST,
	GENERIC_ADMIN_USER,    /* the template's admin login */
	GENERIC_PASSWORD_HASH, /* bcrypt hash of the copy's own admin password */
	GENERIC_VALUES
};

struct generic_stmt {
	char *sql; /* placeholders replaced by '?'; owned by the script */
	unsigned int nparams;
	enum generic_value params[GENERIC_MAX_PARAMS]; /* value of the i-th '?' */
};

struct generic_script {
	struct generic_stmt stmts[GENERIC_MAX_STMTS];
	size_t n;
};

extern const struct profile generic_profile;

/* Splits text (NULL or "" gives no statement) into statements and translates
 * placeholders. Comments are dropped; quotes ('', "", ``) are honoured. On
 * failure returns -1 with "statement N: reason" in err and s left empty.
 * The caller frees s with generic_script_free. */
int generic_parse(const char *text, struct generic_script *s, char *err, size_t errlen);
void generic_script_free(struct generic_script *s);
/* Fills out[0..st->nparams) with the value each '?' of st takes, from
 * values indexed by enum generic_value. */
void generic_bind(const struct generic_stmt *st, const char *const values[GENERIC_VALUES],
		  const char *out[GENERIC_MAX_PARAMS]);
/* "domain", "id", "prefix", "host", "admin_user", "password_hash" */
const char *generic_value_name(enum generic_value v);
/* Runs every statement of s in one transaction with the instance's values
 * bound; each value a statement uses is validated first. */
int generic_run(struct db_conn *c, const struct generic_script *s, const struct app_instance *inst,
		char *err, size_t errlen);

#endif
