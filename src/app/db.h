/*
 * db — the MariaDB side of the app profiles (MariaDB Connector/C).
 *
 * One connection per hook call: connect with timeouts (retrying a refused
 * connection for db_params.retry_ms, since a just-restored server may need a
 * moment), run prepared statements whose values are always bound, never
 * spliced, and close. Identifiers go through db_append_ident (backticks) after
 * the caller validated them. Nothing here logs a password: error messages name
 * user@host:port only.
 *
 * Every function returns 0 or -1 with a one-line reason in err.
 */
#ifndef DEMUX_APP_DB_H
#define DEMUX_APP_DB_H

#include <stddef.h>

#include "app/profile.h"
#include "buf.h"

/* Escape character used in every LIKE pattern demux builds ("LIKE ? ESCAPE '!'"):
 * unlike '\', its meaning does not depend on sql_mode NO_BACKSLASH_ESCAPES. */
#define DB_LIKE_ESCAPE '!'
#define DB_IDENT_MAX 64 /* MariaDB's limit for table and schema names */

struct db_conn; /* opaque; db_connect creates it, db_close frees it */

/* A statement and the values bound to its '?' markers, in order: what a
 * profile sends with db_exec (and what its unit tests look at). The caller
 * buf_init's and buf_free's sql; params point into the caller's strings. */
#define DB_STMT_MAX_PARAMS 4
struct db_stmt {
	struct buf sql;
	const char *params[DB_STMT_MAX_PARAMS];
	unsigned int nparams;
};

/* A row of a query result: ncols NUL-terminated strings, NULL for SQL NULL. */
typedef int (*db_row_fn)(void *ctx, const char *const *cols, unsigned int ncols);

/* Builds the statement that gives login the password hash (a profile's
 * prestashop_password_stmt, wordpress_password_stmt). */
typedef int (*db_password_stmt_fn)(const char *prefix, const char *login, const char *hash,
				   struct db_stmt *st, char *err, size_t errlen);

/* Connects over TCP to p->host:p->port as p->user into schema p->name (may be
 * NULL or ""). Retries refused / lost connections (client errors 2002, 2003,
 * 2006, 2013) until p->retry_ms have passed. */
int db_connect(const struct db_params *p, struct db_conn **out, char *err, size_t errlen);
/* Closes and frees; NULL is fine. */
void db_close(struct db_conn *c);
/* The server or client error number of the last failed call, 0 if none. */
unsigned int db_errno(const struct db_conn *c);
/* How many connection attempts the last db_connect made. */
int db_connect_attempts(const struct db_conn *c);

/*
 * Runs one statement with nparams string values bound to its '?' markers (a
 * prepared statement; with no parameters a plain query). *affected (may be
 * NULL) receives the number of rows matched (the connection uses
 * CLIENT_FOUND_ROWS, so an UPDATE writing the value a row already has still
 * counts it).
 */
int db_exec(struct db_conn *c, const char *sql, const char *const *params, unsigned int nparams,
	    unsigned long long *affected, char *err, size_t errlen);
/* Runs a query with bound string values and calls fn for each row; fn
 * returning -1 stops and fails the query. */
int db_query(struct db_conn *c, const char *sql, const char *const *params, unsigned int nparams,
	     db_row_fn fn, void *ctx, char *err, size_t errlen);

/* The profiles' password step, inside the caller's transaction: runs the
 * statement build makes and requires it to match exactly one row, the
 * template's admin login (none: the template is not what the profile
 * expects; several: demux would not know whose password it set). */
int db_set_admin_password(struct db_conn *c, db_password_stmt_fn build, const char *prefix,
			  const char *login, const char *hash, char *err, size_t errlen);

int db_begin(struct db_conn *c, char *err, size_t errlen);
int db_commit(struct db_conn *c, char *err, size_t errlen);
/* Best effort; logs a failure. */
void db_rollback(struct db_conn *c);

/* Appends `name` to b with backticks doubled. Refuses an empty name, one
 * longer than DB_IDENT_MAX bytes or holding control characters. */
int db_append_ident(struct buf *b, const char *name, char *err, size_t errlen);
/* Appends `prefix``suffix` as one quoted identifier after validate_prefix. */
int db_append_prefixed_ident(struct buf *b, const char *prefix, const char *suffix, char *err,
			     size_t errlen);
/* A schema name as demux accepts it from config: ^[A-Za-z0-9_$]{1,64}$ */
int db_validate_schema(const char *schema, char *err, size_t errlen);
/* Writes s into out with DB_LIKE_ESCAPE, '%' and '_' escaped by DB_LIKE_ESCAPE,
 * so the pattern matches s literally. -1 when out is too small. */
int db_like_escape(const char *s, char *out, size_t outlen);

/*
 * Drops every table of schema whose name starts with prefix, exactly: the
 * LIKE pattern is escaped, and each name the server lists is checked again
 * in C (case-sensitively: information_schema compares names without regard
 * to case). prefix must pass validate_prefix; this low-level form accepts any
 * such prefix, so it can drop "ab_" tables and leave "abc_" ones, but it does
 * not protect one prefix from being the start of another — use
 * db_drop_instance_tables for instance cleanup. *ndropped may be NULL.
 */
int db_drop_tables_with_prefix(struct db_conn *c, const char *schema, const char *prefix,
			       size_t *ndropped, char *err, size_t errlen);
/* The seed's DropPrefixedTables, made safe: prefix must be an instance prefix
 * (validate_instance_prefix: fixed length, ends in '_'), so it can never
 * reach another instance's tables. */
int db_drop_instance_tables(struct db_conn *c, const char *schema, const char *prefix,
			    size_t *ndropped, char *err, size_t errlen);

/* What every profile's on_release does in shared-database mode: validates the
 * instance prefix and schema, connects, drops the instance's tables. A no-op
 * when inst->drop_tables_on_release is 0 (embedded mode: the container goes). */
int db_release_instance_tables(const struct app_instance *inst, char *err, size_t errlen);

#endif
