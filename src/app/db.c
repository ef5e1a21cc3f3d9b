/*
 * db — MariaDB Connector/C for the app profiles: connect with timeouts and a
 * short retry, prepared statements with bound string values, transactions,
 * identifier quoting and the safe form of the seed's DropPrefixedTables.
 */
#include "app/db.h"

#include <errno.h>
#include <mysql.h>
#include <errmsg.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errf.h"
#include "log.h"
#include "mstime.h"
#include "validate.h"
#include "xmalloc.h"

#define DB_DEFAULT_CONNECT_TIMEOUT_S 5
#define DB_DEFAULT_RW_TIMEOUT_S 10
#define DB_RETRY_FIRST_MS 5
#define DB_RETRY_MAX_MS 100
#define DB_DROP_SQL_MAX ((size_t)1024 * 1024)
#define DB_SQL_MAX 512

struct db_conn {
	MYSQL *mysql;
	char where[320]; /* user@host:port, for messages */
	unsigned int last_errno;
	int attempts;
};

static pthread_once_t db_lib_once = PTHREAD_ONCE_INIT;

static void
db_lib_init(void)
{
	/* Not thread-safe if left to the first mysql_init; pthread_once makes it so. */
	if (mysql_library_init(0, NULL, NULL) != 0)
		fatalx("mysql_library_init failed");
}

static int
db_retryable(unsigned int e)
{
	return e == CR_CONNECTION_ERROR || e == CR_CONN_HOST_ERROR || e == CR_SERVER_GONE_ERROR ||
	       e == CR_SERVER_LOST;
}

static void
db_set_options(MYSQL *m, const struct db_params *p)
{
	unsigned int ct = p->connect_timeout_s > 0 ? (unsigned int)p->connect_timeout_s
						   : DB_DEFAULT_CONNECT_TIMEOUT_S;
	unsigned int rw =
	    p->rw_timeout_s > 0 ? (unsigned int)p->rw_timeout_s : DB_DEFAULT_RW_TIMEOUT_S;
	unsigned int proto = p->unix_socket != NULL ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
	unsigned int no = 0;

	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
	mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw);
	mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw);
	/* "localhost" would otherwise mean the client's default unix socket. */
	mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
	mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &no);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
}

int
db_connect(const struct db_params *p, struct db_conn **out, char *err, size_t errlen)
{
	struct db_conn *c = NULL;
	double start, deadline, now;
	long delay = DB_RETRY_FIRST_MS;
	const char *schema;
	int ret = -1;

	*out = NULL;
	if (p->user == NULL || p->user[0] == '\0' ||
	    (p->unix_socket == NULL &&
	     (p->host == NULL || p->host[0] == '\0' || p->port <= 0 || p->port > 65535)) ||
	    (p->unix_socket != NULL && p->unix_socket[0] != '/')) {
		errf(err, errlen, "database host and port, or socket path, and user must be set");
		goto out;
	}
	if (p->name != NULL && p->name[0] != '\0' && db_validate_schema(p->name, err, errlen) == -1)
		goto out;
	pthread_once(&db_lib_once, db_lib_init);
	schema = p->name != NULL && p->name[0] != '\0' ? p->name : NULL;
	c = xcalloc(1, sizeof(*c));
	if (p->unix_socket != NULL)
		snprintf(c->where, sizeof(c->where), "%s@%s", p->user, p->unix_socket);
	else
		snprintf(c->where, sizeof(c->where), "%s@%s:%d", p->user, p->host, p->port);
	start = mstime_now();
	deadline = start + (p->retry_ms > 0 ? p->retry_ms : 0);
	for (;;) {
		MYSQL *m = mysql_init(NULL);

		if (m == NULL)
			fatalx("mysql_init: out of memory");
		db_set_options(m, p);
		c->attempts++;
		if (mysql_real_connect(m, p->unix_socket != NULL ? "localhost" : p->host, p->user,
				       p->password, schema,
				       p->unix_socket != NULL ? 0 : (unsigned int)p->port,
				       p->unix_socket, CLIENT_FOUND_ROWS) != NULL) {
			c->mysql = m;
			break;
		}
		c->last_errno = mysql_errno(m);
		errf(err, errlen, "mariadb %s: connect: %s (%u)", c->where, mysql_error(m),
		     c->last_errno);
		mysql_close(m);
		now = mstime_now();
		if (!db_retryable(c->last_errno) || now >= deadline)
			goto out;
		log_debug("db connect retry where=%s attempt=%d errno=%u", c->where, c->attempts,
			  c->last_errno);
		mstime_sleep(deadline - now < (double)delay ? (long)(deadline - now) + 1 : delay);
		delay = delay * 2 > DB_RETRY_MAX_MS ? DB_RETRY_MAX_MS : delay * 2;
	}
	c->last_errno = 0;
	log_debug("db connected where=%s attempts=%d ms=%.2f", c->where, c->attempts,
		  mstime_now() - start);
	*out = c;
	c = NULL;
	ret = 0;
out:
	if (c != NULL)
		log_debug("db connect failed where=%s attempts=%d", c->where, c->attempts);
	db_close(c);
	return ret;
}

void
db_close(struct db_conn *c)
{
	if (c == NULL)
		return;
	if (c->mysql != NULL)
		mysql_close(c->mysql);
	free(c);
}

unsigned int
db_errno(const struct db_conn *c)
{
	return c->last_errno;
}

int
db_connect_attempts(const struct db_conn *c)
{
	return c->attempts;
}

/* Records the connection's error into err; the SQL text is not repeated (it
 * may be long) but its first words are, to say which statement failed. */
static int
db_mysql_fail(struct db_conn *c, const char *sql, char *err, size_t errlen)
{
	c->last_errno = mysql_errno(c->mysql);
	return errf(err, errlen, "mariadb %s: %.60s: %s (%u)", c->where, sql, mysql_error(c->mysql),
		    c->last_errno);
}

static int
db_stmt_fail(struct db_conn *c, MYSQL_STMT *st, const char *sql, char *err, size_t errlen)
{
	c->last_errno = mysql_stmt_errno(st);
	return errf(err, errlen, "mariadb %s: %.60s: %s (%u)", c->where, sql, mysql_stmt_error(st),
		    c->last_errno);
}

/* Prepares sql, binds params as strings and executes it; *stp receives the
 * executed statement, which the caller closes. */
static int
db_prepare_execute(struct db_conn *c, const char *sql, const char *const *params,
		   unsigned int nparams, MYSQL_STMT **stp, char *err, size_t errlen)
{
	MYSQL_STMT *st;
	MYSQL_BIND *bind = NULL;
	unsigned long *lens = NULL;
	int ret = -1;

	*stp = NULL;
	st = mysql_stmt_init(c->mysql);
	if (st == NULL)
		fatalx("mysql_stmt_init: out of memory");
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		db_stmt_fail(c, st, sql, err, errlen);
		goto out;
	}
	if (mysql_stmt_param_count(st) != nparams) {
		c->last_errno = 0;
		errf(err, errlen, "statement \"%.60s\" has %lu markers but %u values", sql,
		     mysql_stmt_param_count(st), nparams);
		goto out;
	}
	if (nparams > 0) {
		bind = xcalloc(nparams, sizeof(*bind));
		lens = xcalloc(nparams, sizeof(*lens));
		for (unsigned int i = 0; i < nparams; i++) {
			if (params[i] == NULL) {
				bind[i].buffer_type = MYSQL_TYPE_NULL;
				continue;
			}
			lens[i] = strlen(params[i]);
			bind[i].buffer_type = MYSQL_TYPE_STRING;
			bind[i].buffer = (void *)(uintptr_t)params[i];
			bind[i].buffer_length = lens[i];
			bind[i].length = &lens[i];
		}
		if (mysql_stmt_bind_param(st, bind) != 0) {
			db_stmt_fail(c, st, sql, err, errlen);
			goto out;
		}
	}
	if (mysql_stmt_execute(st) != 0) {
		db_stmt_fail(c, st, sql, err, errlen);
		goto out;
	}
	*stp = st;
	st = NULL;
	ret = 0;
out:
	if (st != NULL)
		mysql_stmt_close(st);
	free(bind);
	free(lens);
	return ret;
}

int
db_exec(struct db_conn *c, const char *sql, const char *const *params, unsigned int nparams,
	unsigned long long *affected, char *err, size_t errlen)
{
	MYSQL_STMT *st = NULL;
	MYSQL_RES *res;
	int ret = -1;

	if (nparams == 0) {
		/* One round trip instead of a prepare and an execute. */
		if (mysql_real_query(c->mysql, sql, strlen(sql)) != 0) {
			db_mysql_fail(c, sql, err, errlen);
			goto out;
		}
		res = mysql_store_result(c->mysql);
		if (res != NULL) {
			mysql_free_result(res);
		} else if (mysql_field_count(c->mysql) != 0) {
			db_mysql_fail(c, sql, err, errlen);
			goto out;
		}
		if (affected != NULL)
			*affected = mysql_affected_rows(c->mysql);
	} else {
		if (db_prepare_execute(c, sql, params, nparams, &st, err, errlen) == -1)
			goto out;
		if (affected != NULL)
			*affected = mysql_stmt_affected_rows(st);
	}
	c->last_errno = 0;
	ret = 0;
out:
	if (st != NULL)
		mysql_stmt_close(st);
	return ret;
}

int
db_set_admin_password(struct db_conn *c, db_password_stmt_fn build, const char *prefix,
		      const char *login, const char *hash, char *err, size_t errlen)
{
	struct db_stmt st = {0};
	unsigned long long rows = 0;
	int ret = -1;

	buf_init(&st.sql, DB_SQL_MAX);
	if (build(prefix, login, hash, &st, err, errlen) == -1 ||
	    db_exec(c, buf_str(&st.sql), st.params, st.nparams, &rows, err, errlen) == -1)
		goto out;
	if (rows != 1) {
		snprintf(err, errlen, "%s: %llu rows for the admin login %.80s, want 1",
			 buf_str(&st.sql), rows, login);
		goto out;
	}
	ret = 0;
out:
	buf_free(&st.sql);
	return ret;
}

int
db_query(struct db_conn *c, const char *sql, const char *const *params, unsigned int nparams,
	 db_row_fn fn, void *ctx, char *err, size_t errlen)
{
	MYSQL_STMT *st = NULL;
	MYSQL_RES *meta = NULL;
	MYSQL_BIND *bind = NULL;
	MYSQL_FIELD *fields;
	char **vals = NULL;
	const char **cols = NULL;
	unsigned long *lens = NULL;
	my_bool *nulls = NULL;
	my_bool one = 1;
	unsigned int ncols = 0, i;
	int rc, ret = -1;

	if (db_prepare_execute(c, sql, params, nparams, &st, err, errlen) == -1)
		goto out;
	meta = mysql_stmt_result_metadata(st);
	if (meta == NULL) {
		errf(err, errlen, "statement \"%.60s\" returns no rows", sql);
		goto out;
	}
	ncols = mysql_num_fields(meta);
	fields = mysql_fetch_fields(meta);
	mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &one);
	if (mysql_stmt_store_result(st) != 0) {
		db_stmt_fail(c, st, sql, err, errlen);
		goto out;
	}
	bind = xcalloc(ncols, sizeof(*bind));
	vals = xcalloc(ncols, sizeof(*vals));
	cols = xcalloc(ncols, sizeof(*cols));
	lens = xcalloc(ncols, sizeof(*lens));
	nulls = xcalloc(ncols, sizeof(*nulls));
	for (i = 0; i < ncols; i++) {
		/* max_length is the longest value stored; numbers and dates
		 * converted to text fit in 64. */
		size_t size = (fields[i].max_length > 64 ? fields[i].max_length : 64) + 1;

		vals[i] = xmalloc(size);
		bind[i].buffer_type = MYSQL_TYPE_STRING;
		bind[i].buffer = vals[i];
		bind[i].buffer_length = size;
		bind[i].length = &lens[i];
		bind[i].is_null = &nulls[i];
	}
	if (mysql_stmt_bind_result(st, bind) != 0) {
		db_stmt_fail(c, st, sql, err, errlen);
		goto out;
	}
	while ((rc = mysql_stmt_fetch(st)) == 0) {
		for (i = 0; i < ncols; i++) {
			vals[i][lens[i] < bind[i].buffer_length ? lens[i]
								: bind[i].buffer_length - 1] = '\0';
			cols[i] = nulls[i] ? NULL : vals[i];
		}
		if (fn(ctx, cols, ncols) == -1) {
			errf(err, errlen, "statement \"%.60s\": a row was refused", sql);
			goto out;
		}
	}
	if (rc == MYSQL_DATA_TRUNCATED) {
		errf(err, errlen, "statement \"%.60s\": a value was truncated", sql);
		goto out;
	}
	if (rc != MYSQL_NO_DATA) {
		db_stmt_fail(c, st, sql, err, errlen);
		goto out;
	}
	c->last_errno = 0;
	ret = 0;
out:
	if (meta != NULL)
		mysql_free_result(meta);
	if (st != NULL)
		mysql_stmt_close(st);
	for (i = 0; vals != NULL && i < ncols; i++)
		free(vals[i]);
	free(vals);
	free(cols);
	free(bind);
	free(lens);
	free(nulls);
	return ret;
}

int
db_begin(struct db_conn *c, char *err, size_t errlen)
{
	return db_exec(c, "START TRANSACTION", NULL, 0, NULL, err, errlen);
}

int
db_commit(struct db_conn *c, char *err, size_t errlen)
{
	if (mysql_commit(c->mysql) != 0)
		return db_mysql_fail(c, "COMMIT", err, errlen);
	return 0;
}

void
db_rollback(struct db_conn *c)
{
	if (mysql_rollback(c->mysql) != 0)
		log_warnx("db rollback failed where=%s error=\"%s\"", c->where,
			  mysql_error(c->mysql));
}

int
db_append_ident(struct buf *b, const char *name, char *err, size_t errlen)
{
	size_t chars = 0;
	const char *p;

	if (name == NULL || name[0] == '\0')
		return errf(err, errlen, "identifier is empty");
	for (p = name; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch < 0x20 || ch == 0x7f)
			return errf(err, errlen, "identifier has control character 0x%02x", ch);
		if ((ch & 0xc0) != 0x80 && ++chars > DB_IDENT_MAX)
			return errf(err, errlen, "identifier longer than %d characters",
				    DB_IDENT_MAX);
	}
	if (buf_append(b, "`", 1) == -1)
		goto toolong;
	for (p = name; *p != '\0'; p++) {
		if (*p == '`' && buf_append(b, "`", 1) == -1)
			goto toolong;
		if (buf_append(b, p, 1) == -1)
			goto toolong;
	}
	if (buf_append(b, "`", 1) == -1)
		goto toolong;
	return 0;
toolong:
	return errf(err, errlen, "statement too long");
}

int
db_append_prefixed_ident(struct buf *b, const char *prefix, const char *suffix, char *err,
			 size_t errlen)
{
	char name[DB_IDENT_MAX + 1];
	int n;

	if (validate_prefix(prefix, err, errlen) == -1)
		return -1;
	n = snprintf(name, sizeof(name), "%s%s", prefix, suffix);
	if (n < 0 || (size_t)n >= sizeof(name))
		return errf(err, errlen, "table name %s... longer than %d characters", prefix,
			    DB_IDENT_MAX);
	return db_append_ident(b, name, err, errlen);
}

int
db_validate_schema(const char *schema, char *err, size_t errlen)
{
	size_t i;

	if (schema == NULL || schema[0] == '\0')
		return errf(err, errlen, "database name is empty");
	for (i = 0; schema[i] != '\0'; i++) {
		char ch = schema[i];

		if (i >= DB_IDENT_MAX)
			return errf(err, errlen, "database name longer than %d characters",
				    DB_IDENT_MAX);
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '$'))
			return errf(err, errlen,
				    "database name has character 0x%02x; only A-Z, a-z, 0-9, "
				    "_ and $ are allowed",
				    (unsigned char)ch);
	}
	return 0;
}

int
db_like_escape(const char *s, char *out, size_t outlen)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (*s == DB_LIKE_ESCAPE || *s == '%' || *s == '_') {
			if (n + 1 >= outlen)
				return -1;
			out[n++] = DB_LIKE_ESCAPE;
		}
		if (n + 1 >= outlen)
			return -1;
		out[n++] = *s;
	}
	if (outlen == 0)
		return -1;
	out[n] = '\0';
	return 0;
}

struct db_tables {
	const char *prefix;
	size_t prefixlen;
	char **names;
	int *is_view;
	size_t n;
	size_t skipped;
};

static int
db_collect_table(void *ctx, const char *const *cols, unsigned int ncols)
{
	struct db_tables *t = ctx;

	if (ncols != 2 || cols[0] == NULL)
		return -1;
	/* LIKE on information_schema ignores case: "AB_x" matches "ab!_%". */
	if (strncmp(cols[0], t->prefix, t->prefixlen) != 0) {
		t->skipped++;
		return 0;
	}
	t->names = xrealloc(t->names, (t->n + 1) * sizeof(*t->names));
	t->is_view = xrealloc(t->is_view, (t->n + 1) * sizeof(*t->is_view));
	t->names[t->n] = xstrdup(cols[0]);
	t->is_view[t->n] = cols[1] != NULL && strcmp(cols[1], "VIEW") == 0;
	t->n++;
	return 0;
}

/* Appends head and then every table of t that is (views set) or is not a view,
 * as `schema`.`name` separated by commas; *count receives how many. */
static int
db_build_drop(struct buf *b, const char *head, const char *schema, const struct db_tables *t,
	      int views, size_t *count, char *err, size_t errlen)
{
	*count = 0;
	if (buf_appends(b, head) == -1)
		return errf(err, errlen, "statement too long");
	for (size_t i = 0; i < t->n; i++) {
		if (t->is_view[i] != views)
			continue;
		if ((*count > 0 && buf_appends(b, ", ") == -1) ||
		    db_append_ident(b, schema, err, errlen) == -1 || buf_appends(b, ".") == -1 ||
		    db_append_ident(b, t->names[i], err, errlen) == -1)
			return errf(err, errlen, "cannot build the DROP statement for %zu tables",
				    t->n);
		(*count)++;
	}
	return 0;
}

int
db_drop_tables_with_prefix(struct db_conn *c, const char *schema, const char *prefix,
			   size_t *ndropped, char *err, size_t errlen)
{
	static const char list_sql[] =
	    "SELECT table_name, table_type FROM information_schema.tables "
	    "WHERE table_schema = ? AND table_name LIKE ? ESCAPE '!'";
	struct db_tables t = {0};
	struct buf b;
	char pattern[2 * PREFIX_MAX + 2];
	const char *params[2];
	size_t count, dropped = 0;
	int views, ret = -1;

	buf_init(&b, DB_DROP_SQL_MAX);
	if (ndropped != NULL)
		*ndropped = 0;
	if (validate_prefix(prefix, err, errlen) == -1 ||
	    db_validate_schema(schema, err, errlen) == -1)
		goto out;
	/* The prefix matched literally, then anything. */
	if (db_like_escape(prefix, pattern, sizeof(pattern) - 1) == -1) {
		errf(err, errlen, "prefix too long for a LIKE pattern");
		goto out;
	}
	memcpy(pattern + strlen(pattern), "%", 2);
	t.prefix = prefix;
	t.prefixlen = strlen(prefix);
	params[0] = schema;
	params[1] = pattern;
	if (db_query(c, list_sql, params, 2, db_collect_table, &t, err, errlen) == -1)
		goto out;
	if (t.skipped > 0)
		log_debug("tables matched LIKE but not the prefix, kept schema=%s "
			  "prefix=%s count=%zu",
			  schema, prefix, t.skipped);
	for (views = 1; views >= 0; views--) {
		/* Tables of one instance may reference each other: all go at once,
		 * without foreign key checks. */
		const char *head = views ? "DROP VIEW IF EXISTS "
					 : "SET STATEMENT foreign_key_checks=0 FOR "
					   "DROP TABLE IF EXISTS ";

		buf_reset(&b);
		if (db_build_drop(&b, head, schema, &t, views, &count, err, errlen) == -1)
			goto out;
		if (count == 0)
			continue;
		if (db_exec(c, buf_str(&b), NULL, 0, NULL, err, errlen) == -1)
			goto out;
		dropped += count;
	}
	log_info("dropped prefixed tables schema=%s prefix=%s count=%zu", schema, prefix, dropped);
	if (ndropped != NULL)
		*ndropped = dropped;
	ret = 0;
out:
	for (size_t i = 0; i < t.n; i++)
		free(t.names[i]);
	free(t.names);
	free(t.is_view);
	buf_free(&b);
	return ret;
}

int
db_drop_instance_tables(struct db_conn *c, const char *schema, const char *prefix, size_t *ndropped,
			char *err, size_t errlen)
{
	if (validate_instance_prefix(prefix, err, errlen) == -1)
		return -1;
	return db_drop_tables_with_prefix(c, schema, prefix, ndropped, err, errlen);
}

int
db_release_instance_tables(const struct app_instance *inst, char *err, size_t errlen)
{
	struct db_conn *c = NULL;
	int ret = -1;

	if (!inst->drop_tables_on_release)
		return 0;
	if (validate_instance_prefix(inst->prefix, err, errlen) == -1 ||
	    db_validate_schema(inst->db.name, err, errlen) == -1)
		goto out;
	if (db_connect(&inst->db, &c, err, errlen) == -1)
		goto out;
	if (db_drop_instance_tables(c, inst->db.name, inst->prefix, NULL, err, errlen) == -1)
		goto out;
	ret = 0;
out:
	db_close(c);
	return ret;
}
