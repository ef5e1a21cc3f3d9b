/*
 * generic — SQL from the config, with the instance's values bound.
 *
 * The parser is deliberately small: it knows quotes, comments and ';', which
 * is what it takes to split statements and to find placeholders outside
 * string literals. Anything it cannot place with certainty (a literal '?', a
 * placeholder inside quotes or glued to an identifier, an executable comment)
 * is refused rather than guessed.
 */
#include "app/generic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "errf.h"
#include "id.h"
#include "log.h"
#include "validate.h"
#include "xmalloc.h"

#define GENERIC_SQL_MAX 16384

static const char *const value_names[] = {"domain", "id", "prefix", "host"};

const char *
generic_value_name(enum generic_value v)
{
	return value_names[v];
}

static int
is_ident_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '$';
}

/* At p (a '{'): is this "{name}" with name in [a-z_]+? Returns 1 and sets
 * *len (including the braces) and *value (-1 for an unknown name), else 0. */
static int
placeholder_at(const char *p, size_t *len, int *value)
{
	const char *q = p + 1;

	while ((*q >= 'a' && *q <= 'z') || *q == '_')
		q++;
	if (q == p + 1 || *q != '}')
		return 0;
	*len = (size_t)(q - p) + 1;
	*value = -1;
	for (size_t i = 0; i < sizeof(value_names) / sizeof(value_names[0]); i++) {
		if (strlen(value_names[i]) == (size_t)(q - p - 1) &&
		    strncmp(value_names[i], p + 1, (size_t)(q - p - 1)) == 0)
			*value = (int)i;
	}
	return 1;
}

/* Ends the statement in cur: stores it unless it is only white space. */
static int
flush(struct generic_script *s, struct buf *cur, struct generic_stmt *st, char *err, size_t errlen)
{
	const char *start = buf_str(cur);
	size_t len = cur->len;

	while (len > 0 && strchr(" \t\r\n", start[0]) != NULL) {
		start++;
		len--;
	}
	while (len > 0 && strchr(" \t\r\n", start[len - 1]) != NULL)
		len--;
	if (len > 0) {
		if (s->n == GENERIC_MAX_STMTS)
			return errf(err, errlen, "more than %d statements", GENERIC_MAX_STMTS);
		st->sql = xstrndup(start, len);
		s->stmts[s->n++] = *st;
	}
	memset(st, 0, sizeof(*st));
	buf_reset(cur);
	return 0;
}

int
generic_parse(const char *text, struct generic_script *s, char *err, size_t errlen)
{
	struct generic_stmt st;
	struct buf cur;
	const char *p = text;
	char quote = 0, e[256];
	size_t len;
	int value, ret = -1;

	memset(s, 0, sizeof(*s));
	memset(&st, 0, sizeof(st));
	buf_init(&cur, GENERIC_SQL_MAX);
	e[0] = '\0';
	if (text == NULL) {
		ret = 0;
		goto out;
	}
	while (*p != '\0') {
		/* What goes into the statement for the bytes at p, and how many
		 * bytes of the text that consumes. */
		const char *out = p;
		size_t outlen = 1, used = 1;

		if (quote != 0) {
			if (*p == '\\' && quote != '`' && p[1] != '\0') {
				outlen = used = 2;
			} else if (*p == '{' && placeholder_at(p, &len, &value) && value >= 0) {
				errf(e, sizeof(e),
				     "placeholder {%s} inside a quoted string; write it "
				     "unquoted, it is sent as a bound value",
				     value_names[value]);
				goto fail;
			} else if (*p == quote) {
				quote = 0; /* a doubled quote reopens on the next byte */
			}
		} else if (*p == '\'' || *p == '"' || *p == '`') {
			quote = *p;
		} else if (*p == '#' || (p[0] == '-' && p[1] == '-' &&
					 (p[2] == '\0' || strchr(" \t\r\n", p[2]) != NULL))) {
			out = " ";
			used = strcspn(p, "\n");
		} else if (p[0] == '/' && p[1] == '*') {
			const char *end;

			if (p[2] == '!' || (p[2] == 'M' && p[3] == '!')) {
				errf(e, sizeof(e),
				     "executable comments (/*! ... */) are not "
				     "supported");
				goto fail;
			}
			end = strstr(p + 2, "*/");
			if (end == NULL) {
				errf(e, sizeof(e), "unterminated /* comment");
				goto fail;
			}
			out = " ";
			used = (size_t)(end + 2 - p);
		} else if (*p == ';') {
			if (flush(s, &cur, &st, e, sizeof(e)) == -1)
				goto fail;
			outlen = 0;
		} else if (*p == '?') {
			errf(e, sizeof(e),
			     "a literal '?' outside a string; use {domain}, {host}, {id} or "
			     "{prefix}");
			goto fail;
		} else if (*p == '{' && placeholder_at(p, &len, &value)) {
			if (value < 0) {
				errf(e, sizeof(e),
				     "unknown placeholder %.*s; known: {domain}, {host}, {id}, "
				     "{prefix}",
				     (int)len, p);
				goto fail;
			}
			if ((cur.len > 0 && is_ident_char(cur.data[cur.len - 1])) ||
			    is_ident_char(p[len])) {
				errf(e, sizeof(e),
				     "placeholder {%s} is part of a name; placeholders are "
				     "values, not identifiers",
				     value_names[value]);
				goto fail;
			}
			if (st.nparams == GENERIC_MAX_PARAMS) {
				errf(e, sizeof(e), "more than %d placeholders", GENERIC_MAX_PARAMS);
				goto fail;
			}
			st.params[st.nparams++] = (enum generic_value)value;
			out = "?";
			used = len;
		}
		if (outlen > 0 && buf_append(&cur, out, outlen) == -1) {
			errf(e, sizeof(e), "longer than %d bytes", GENERIC_SQL_MAX);
			goto fail;
		}
		p += used;
	}
	if (quote != 0) {
		errf(e, sizeof(e), "unterminated %c quote", quote);
		goto fail;
	}
	if (flush(s, &cur, &st, e, sizeof(e)) == -1)
		goto fail;
	ret = 0;
	goto out;
fail:
	errf(err, errlen, "statement %zu: %s", s->n + 1, e);
	generic_script_free(s);
out:
	buf_free(&cur);
	return ret;
}

void
generic_script_free(struct generic_script *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->stmts[i].sql);
	memset(s, 0, sizeof(*s));
}

/* Validates every value the script uses; nothing is sent before this. */
static int
check_values(const struct generic_script *s, const struct app_instance *inst, char *host,
	     size_t hostlen, char *err, size_t errlen)
{
	int used[GENERIC_VALUES] = {0};
	char e[256];

	for (size_t i = 0; i < s->n; i++)
		for (unsigned int j = 0; j < s->stmts[i].nparams; j++)
			used[s->stmts[i].params[j]] = 1;
	if (used[GENERIC_DOMAIN] && validate_domain(inst->domain, e, sizeof(e)) == -1)
		return errf(err, errlen, "invalid domain: %s", e);
	if (used[GENERIC_ID] && (inst->id == NULL || !id_valid(inst->id)))
		return errf(err, errlen, "invalid instance id");
	if (used[GENERIC_PREFIX] && validate_prefix(inst->prefix, e, sizeof(e)) == -1)
		return errf(err, errlen, "invalid table prefix: %s", e);
	if (used[GENERIC_HOST] && app_site_host(inst, host, hostlen, e, sizeof(e)) == -1)
		return errf(err, errlen, "invalid site address: %s", e);
	return 0;
}

int
generic_run(struct db_conn *c, const struct generic_script *s, const struct app_instance *inst,
	    char *err, size_t errlen)
{
	const char *values[GENERIC_MAX_PARAMS];
	char e[512], host[APP_SITE_HOST_MAX + 1] = "";
	int began = 0, ret = -1;

	if (check_values(s, inst, host, sizeof(host), err, errlen) == -1)
		goto out;
	if (s->n == 0) {
		ret = 0;
		goto out;
	}
	if (db_begin(c, err, errlen) == -1)
		goto out;
	began = 1;
	for (size_t i = 0; i < s->n; i++) {
		const struct generic_stmt *st = &s->stmts[i];

		for (unsigned int j = 0; j < st->nparams; j++)
			values[j] = st->params[j] == GENERIC_DOMAIN ? inst->domain
				    : st->params[j] == GENERIC_ID   ? inst->id
				    : st->params[j] == GENERIC_HOST ? host
								    : inst->prefix;
		if (db_exec(c, st->sql, values, st->nparams, NULL, e, sizeof(e)) == -1) {
			errf(err, errlen, "statement %zu: %s", i + 1, e);
			goto out;
		}
	}
	if (db_commit(c, err, errlen) == -1)
		goto out;
	began = 0;
	ret = 0;
out:
	if (began)
		db_rollback(c);
	return ret;
}

/* Parses text, validates, connects and runs; no statements means no
 * connection. what names the config key for messages. */
static int
run_config_sql(const char *what, const char *text, const struct app_instance *inst, char *err,
	       size_t errlen)
{
	struct generic_script s;
	struct db_conn *c = NULL;
	char e[512], host[APP_SITE_HOST_MAX + 1];
	int ret = -1;

	if (generic_parse(text, &s, e, sizeof(e)) == -1) {
		errf(err, errlen, "%s: %s", what, e);
		return -1;
	}
	if (s.n == 0) {
		ret = 0;
		goto out;
	}
	if (check_values(&s, inst, host, sizeof(host), err, errlen) == -1 ||
	    db_connect(&inst->db, &c, err, errlen) == -1)
		goto out;
	if (generic_run(c, &s, inst, e, sizeof(e)) == -1) {
		errf(err, errlen, "%s: %s", what, e);
		goto out;
	}
	log_info("generic sql done key=%s id=%s statements=%zu", what,
		 inst->id != NULL ? inst->id : "-", s.n);
	ret = 0;
out:
	db_close(c);
	generic_script_free(&s);
	return ret;
}

static int
gen_after_restore(const struct app_instance *inst, char *err, size_t errlen)
{
	char e[256];

	if (validate_domain(inst->domain, e, sizeof(e)) == -1)
		return errf(err, errlen, "invalid domain: %s", e);
	return run_config_sql("generic_after_restore", inst->generic_after_restore, inst, err,
			      errlen);
}

static int
gen_on_release(const struct app_instance *inst, char *err, size_t errlen)
{
	if (run_config_sql("generic_on_release", inst->generic_on_release, inst, err, errlen) == -1)
		return -1;
	return db_release_instance_tables(inst, err, errlen);
}

const struct profile generic_profile = {
    .name = "generic",
    .default_prefix = NULL,
    .health_path = "/",
    .admin_path = NULL,
    .admin_user = NULL,
    .admin_password = NULL,
    .stock_image = NULL,
    .after_restore = gen_after_restore,
    .on_release = gen_on_release,
};
