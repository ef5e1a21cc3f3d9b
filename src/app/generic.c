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

#include "app/password.h"
#include "buf.h"
#include "errf.h"
#include "id.h"
#include "log.h"
#include "validate.h"
#include "xmalloc.h"

#define GENERIC_SQL_MAX 16384

static const char *const value_names[] = {"domain", "id",	  "prefix",
					  "host",   "admin_user", "password_hash"};

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
			     "a literal '?' outside a string; use a placeholder such as "
			     "{domain}");
			goto fail;
		} else if (*p == '{' && placeholder_at(p, &len, &value)) {
			if (value < 0) {
				errf(e, sizeof(e),
				     "unknown placeholder %.*s; known: {domain}, {host}, {id}, "
				     "{prefix}, {admin_user}, {password_hash}",
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

/* The values of one run, in enum generic_value's order. */
struct gen_values {
	const char *v[GENERIC_VALUES];
	char host[APP_SITE_HOST_MAX + 1];
	char hash[PASSWORD_HASH_SIZE];
};

/* Validates every value the n scripts use and fills out; nothing is sent
 * before this. The password is hashed only when hash is set (bcrypt takes
 * milliseconds: the check before connecting does without). */
static int
gen_values(const struct generic_script *const *s, size_t n, const struct app_instance *inst,
	   int hash, struct gen_values *out, char *err, size_t errlen)
{
	int used[GENERIC_VALUES] = {0};
	char e[256];

	memset(out, 0, sizeof(*out));
	for (size_t k = 0; k < n; k++)
		for (size_t i = 0; i < s[k]->n; i++)
			for (unsigned int j = 0; j < s[k]->stmts[i].nparams; j++)
				used[s[k]->stmts[i].params[j]] = 1;
	if (used[GENERIC_DOMAIN] && validate_domain(inst->domain, e, sizeof(e)) == -1)
		return errf(err, errlen, "invalid domain: %s", e);
	if (used[GENERIC_ID] && (inst->id == NULL || !id_valid(inst->id)))
		return errf(err, errlen, "invalid instance id");
	if (used[GENERIC_PREFIX] && validate_prefix(inst->prefix, e, sizeof(e)) == -1)
		return errf(err, errlen, "invalid table prefix: %s", e);
	if (used[GENERIC_HOST] &&
	    app_site_host(inst, out->host, sizeof(out->host), e, sizeof(e)) == -1)
		return errf(err, errlen, "invalid site address: %s", e);
	if ((used[GENERIC_ADMIN_USER] || used[GENERIC_PASSWORD_HASH]) &&
	    (inst->admin_user == NULL || inst->admin_user[0] == '\0'))
		return errf(err, errlen,
			    "{admin_user} has no value: the template names no "
			    "admin login");
	if (used[GENERIC_PASSWORD_HASH] &&
	    (inst->admin_password == NULL || inst->admin_password[0] == '\0'))
		return errf(err, errlen,
			    "{password_hash} has no value: this copy keeps the "
			    "template's password (generic_admin_password is unset)");
	if (used[GENERIC_PASSWORD_HASH] && hash &&
	    app_admin_password_hash(inst, out->hash, sizeof(out->hash), err, errlen) == -1)
		return -1;
	out->v[GENERIC_DOMAIN] = inst->domain;
	out->v[GENERIC_ID] = inst->id;
	out->v[GENERIC_PREFIX] = inst->prefix;
	out->v[GENERIC_HOST] = out->host;
	out->v[GENERIC_ADMIN_USER] = inst->admin_user;
	out->v[GENERIC_PASSWORD_HASH] = out->hash;
	return 0;
}

void
generic_bind(const struct generic_stmt *st, const char *const values[GENERIC_VALUES],
	     const char *out[GENERIC_MAX_PARAMS])
{
	for (unsigned int j = 0; j < st->nparams; j++)
		out[j] = values[st->params[j]];
}

/* Every statement of s with its values bound, inside the caller's
 * transaction; what names the config key for messages. */
static int
gen_exec(struct db_conn *c, const char *what, const struct generic_script *s,
	 const struct gen_values *vals, char *err, size_t errlen)
{
	const char *params[GENERIC_MAX_PARAMS];
	char e[512];

	for (size_t i = 0; i < s->n; i++) {
		generic_bind(&s->stmts[i], vals->v, params);
		if (db_exec(c, s->stmts[i].sql, params, s->stmts[i].nparams, NULL, e, sizeof(e)) ==
		    -1)
			return errf(err, errlen, "%s%sstatement %zu: %s", what,
				    what[0] != '\0' ? ": " : "", i + 1, e);
	}
	return 0;
}

/* The scripts s[0..n) in one transaction, what[i] naming each for messages. */
static int
gen_run(struct db_conn *c, const struct generic_script *const *s, const char *const *what, size_t n,
	const struct app_instance *inst, char *err, size_t errlen)
{
	struct gen_values vals;
	size_t total = 0;
	int began = 0, ret = -1;

	if (gen_values(s, n, inst, 1, &vals, err, errlen) == -1)
		goto out;
	for (size_t k = 0; k < n; k++)
		total += s[k]->n;
	if (total == 0) {
		ret = 0;
		goto out;
	}
	if (db_begin(c, err, errlen) == -1)
		goto out;
	began = 1;
	for (size_t k = 0; k < n; k++)
		if (gen_exec(c, what[k], s[k], &vals, err, errlen) == -1)
			goto out;
	if (db_commit(c, err, errlen) == -1)
		goto out;
	began = 0;
	ret = 0;
out:
	if (began)
		db_rollback(c);
	explicit_bzero(&vals, sizeof(vals));
	return ret;
}

int
generic_run(struct db_conn *c, const struct generic_script *s, const struct app_instance *inst,
	    char *err, size_t errlen)
{
	const char *what = "";

	return gen_run(c, &s, &what, 1, inst, err, errlen);
}

/* Parses the texts (what[i] names each config key), validates, connects and
 * runs them in one transaction; no statements means no connection. */
static int
run_config_sql(const char *const *what, const char *const *text, size_t n,
	       const struct app_instance *inst, char *err, size_t errlen)
{
	struct generic_script s[2];
	const struct generic_script *sp[2] = {&s[0], &s[1]};
	struct gen_values vals;
	struct db_conn *c = NULL;
	char e[512];
	size_t parsed = 0, total = 0;
	int ret = -1;

	for (; parsed < n; parsed++) {
		if (generic_parse(text[parsed], &s[parsed], e, sizeof(e)) == -1) {
			errf(err, errlen, "%s: %s", what[parsed], e);
			goto out;
		}
		total += s[parsed].n;
	}
	if (total == 0) {
		ret = 0;
		goto out;
	}
	if (gen_values(sp, n, inst, 0, &vals, err, errlen) == -1 ||
	    db_connect(&inst->db, &c, err, errlen) == -1 ||
	    gen_run(c, sp, what, n, inst, err, errlen) == -1)
		goto out;
	log_info("generic sql done key=%s id=%s statements=%zu", what[0],
		 inst->id != NULL ? inst->id : "-", total);
	ret = 0;
out:
	db_close(c);
	for (size_t k = 0; k < parsed; k++)
		generic_script_free(&s[k]);
	return ret;
}

/* Only with generic_admin_password configured: without it demux cannot know
 * where the app keeps its login, and the copy keeps the template's. */
static int
gen_sets_admin_password(const struct app_instance *inst)
{
	return inst->generic_admin_password != NULL && inst->generic_admin_password[0] != '\0' &&
	       inst->admin_user != NULL && inst->admin_user[0] != '\0';
}

static int
gen_after_restore(const struct app_instance *inst, char *err, size_t errlen)
{
	const char *const what[2] = {"generic_after_restore", "generic_admin_password"};
	/* The copy's own password only when the pool gave it one. */
	const char *const text[2] = {inst->generic_after_restore,
				     gen_sets_admin_password(inst) &&
					     inst->admin_password != NULL &&
					     inst->admin_password[0] != '\0'
					 ? inst->generic_admin_password
					 : NULL};
	char e[256];

	if (validate_domain(inst->domain, e, sizeof(e)) == -1)
		return errf(err, errlen, "invalid domain: %s", e);
	return run_config_sql(what, text, 2, inst, err, errlen);
}

static int
gen_on_release(const struct app_instance *inst, char *err, size_t errlen)
{
	const char *const what = "generic_on_release";

	if (run_config_sql(&what, &inst->generic_on_release, 1, inst, err, errlen) == -1)
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
    .sets_admin_password = gen_sets_admin_password,
    .after_restore = gen_after_restore,
    .on_release = gen_on_release,
};
