/*
 * Unit tests for the app profiles' pure logic: LIKE escaping, identifier
 * quoting, the generic profile's placeholder translation, WordPress URL
 * rewriting, the per-copy admin password (generation, bcrypt hash, the
 * statements and values that store it), and the validation gates that stop
 * hostile input before any connection is attempted. The SQL itself is
 * tested against a real MariaDB in tests/integration/app_db.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include "app/db.h"
#include "app/generic.h"
#include "app/password.h"
#include "app/prestashop.h"
#include "app/profile.h"
#include "app/wordpress.h"
#include "buf.h"
#include "id.h"
#include "validate.h"

static void
test_like_escape(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(db_like_escape("ab_", out, sizeof(out)), 0);
	assert_string_equal(out, "ab!_");
	assert_int_equal(db_like_escape("a%b_c!d\\e", out, sizeof(out)), 0);
	assert_string_equal(out, "a!%b!_c!!d\\e");
	assert_int_equal(db_like_escape("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* Too small: "ab!_" needs 5 bytes with its NUL. */
	assert_int_equal(db_like_escape("ab_", out, 4), -1);
	assert_int_equal(db_like_escape("ab_", out, 5), 0);
	assert_int_equal(db_like_escape("x", out, 0), -1);
}

static void
test_quote_ident(void **state)
{
	struct buf b;
	char err[128];
	char long_name[80];

	(void)state;
	buf_init(&b, 256);
	assert_int_equal(db_append_ident(&b, "ps_shop_url", err, sizeof(err)), 0);
	assert_string_equal(buf_str(&b), "`ps_shop_url`");
	buf_reset(&b);
	assert_int_equal(db_append_ident(&b, "we`ird", err, sizeof(err)), 0);
	assert_string_equal(buf_str(&b), "`we``ird`");
	buf_reset(&b);
	assert_int_equal(db_append_ident(&b, "", err, sizeof(err)), -1);
	assert_int_equal(db_append_ident(&b, "a\nb", err, sizeof(err)), -1);
	memset(long_name, 'x', 65);
	long_name[65] = '\0';
	assert_int_equal(db_append_ident(&b, long_name, err, sizeof(err)), -1);
	long_name[64] = '\0';
	assert_int_equal(db_append_ident(&b, long_name, err, sizeof(err)), 0);
	/* 64 two-byte characters are 64 characters, not 128. */
	buf_reset(&b);
	assert_int_equal(db_append_ident(&b,
					 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
					 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
					 err, sizeof(err)),
			 0);

	buf_reset(&b);
	assert_int_equal(db_append_prefixed_ident(&b, "ps_", "configuration", err, sizeof(err)), 0);
	assert_string_equal(buf_str(&b), "`ps_configuration`");
	buf_reset(&b);
	assert_int_equal(db_append_prefixed_ident(&b, "p`s_", "configuration", err, sizeof(err)),
			 -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void
test_schema_names(void **state)
{
	char err[128];

	(void)state;
	assert_int_equal(db_validate_schema("prestashop", err, sizeof(err)), 0);
	assert_int_equal(db_validate_schema("demo_1$", err, sizeof(err)), 0);
	assert_int_equal(db_validate_schema("", err, sizeof(err)), -1);
	assert_int_equal(db_validate_schema("a`b", err, sizeof(err)), -1);
	assert_int_equal(db_validate_schema("a.b", err, sizeof(err)), -1);
	assert_int_equal(db_validate_schema("a b", err, sizeof(err)), -1);
}

static void
test_generic_translates_in_order(void **state)
{
	struct generic_script s;
	char err[256];

	(void)state;
	assert_int_equal(generic_parse("UPDATE t SET a = {domain}, b = {id} WHERE p = {prefix};\n"
				       "  -- a comment with {domain}; and a ? \n"
				       "INSERT INTO log (msg) VALUES (CONCAT('x;y', {domain}))  ;"
				       " ; /* c ; ? */ DELETE FROM c",
				       &s, err, sizeof(err)),
			 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.stmts[0].sql, "UPDATE t SET a = ?, b = ? WHERE p = ?");
	assert_int_equal(s.stmts[0].nparams, 3);
	assert_int_equal(s.stmts[0].params[0], GENERIC_DOMAIN);
	assert_int_equal(s.stmts[0].params[1], GENERIC_ID);
	assert_int_equal(s.stmts[0].params[2], GENERIC_PREFIX);
	assert_string_equal(s.stmts[1].sql, "INSERT INTO log (msg) VALUES (CONCAT('x;y', ?))");
	assert_int_equal(s.stmts[1].nparams, 1);
	assert_int_equal(s.stmts[1].params[0], GENERIC_DOMAIN);
	assert_string_equal(s.stmts[2].sql, "DELETE FROM c");
	assert_int_equal(s.stmts[2].nparams, 0);
	generic_script_free(&s);

	/* {host}: the site's host with its port. */
	assert_int_equal(
	    generic_parse("UPDATE t SET h = {host}, d = {domain}", &s, err, sizeof(err)), 0);
	assert_string_equal(s.stmts[0].sql, "UPDATE t SET h = ?, d = ?");
	assert_int_equal(s.stmts[0].params[0], GENERIC_HOST);
	assert_int_equal(s.stmts[0].params[1], GENERIC_DOMAIN);
	assert_string_equal(generic_value_name(GENERIC_HOST), "host");
	generic_script_free(&s);

	/* Quotes with escapes and doubled quotes; braces that are not ours. */
	assert_int_equal(generic_parse("SELECT 'it''s; \\' {x}', \"{\\\"a\\\": 1}\", `c;d` "
				       "FROM t WHERE a = {id}",
				       &s, err, sizeof(err)),
			 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(
	    s.stmts[0].sql,
	    "SELECT 'it''s; \\' {x}', \"{\\\"a\\\": 1}\", `c;d` FROM t WHERE a = ?");
	assert_int_equal(s.stmts[0].nparams, 1);
	assert_int_equal(s.stmts[0].params[0], GENERIC_ID);
	generic_script_free(&s);

	assert_int_equal(generic_parse(NULL, &s, err, sizeof(err)), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(generic_parse("  ; \n ;", &s, err, sizeof(err)), 0);
	assert_int_equal(s.n, 0);
	assert_string_equal(generic_value_name(GENERIC_PREFIX), "prefix");
}

static void
test_generic_refuses(void **state)
{
	static const struct {
		const char *sql;
		const char *why;
	} bad[] = {
	    {"UPDATE {prefix}options SET v = 1", "part of a name"},
	    {"UPDATE t SET v = x{domain}", "part of a name"},
	    {"UPDATE t SET v = '{domain}'", "inside a quoted string"},
	    {"UPDATE t SET v = \"x{id}\"", "inside a quoted string"},
	    {"UPDATE t SET v = {domian}", "unknown placeholder {domian}"},
	    {"UPDATE t SET v = ?", "literal '?'"},
	    {"UPDATE t SET v = 'open", "unterminated ' quote"},
	    {"UPDATE t SET v = 1 /* open", "unterminated /*"},
	    {"/*! DROP TABLE x */ SELECT 1", "executable comments"},
	    {"SELECT 1; SELECT {prefix}x", "statement 2"},
	};
	struct generic_script s;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(generic_parse(bad[i].sql, &s, err, sizeof(err)), -1);
		assert_int_equal(s.n, 0);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("%s: error \"%s\" does not say \"%s\"", bad[i].sql, err,
				 bad[i].why);
	}
}

static void
test_generic_limits(void **state)
{
	struct generic_script s;
	struct buf b;
	char err[256];

	(void)state;
	buf_init(&b, 65536);
	for (int i = 0; i < GENERIC_MAX_STMTS + 1; i++)
		assert_int_equal(buf_printf(&b, "SELECT %d;", i), 0);
	assert_int_equal(generic_parse(buf_str(&b), &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than"));
	buf_reset(&b);
	assert_int_equal(buf_appends(&b, "SELECT {id}"), 0);
	for (int i = 0; i < GENERIC_MAX_PARAMS; i++)
		assert_int_equal(buf_appends(&b, ", {id}"), 0);
	assert_int_equal(generic_parse(buf_str(&b), &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "placeholders"));
	buf_free(&b);
}

static void
test_wordpress_rewrite(void **state)
{
	char out[256], err[128];

	(void)state;
	assert_int_equal(wordpress_rewrite_url("http://wp.template.localhost", NULL,
					       "a.demo.localhost", out, sizeof(out), err,
					       sizeof(err)),
			 0);
	assert_string_equal(out, "http://a.demo.localhost");
	assert_int_equal(wordpress_rewrite_url("https://old.example:8443/blog/?x=1", NULL,
					       "a.demo.localhost", out, sizeof(out), err,
					       sizeof(err)),
			 0);
	assert_string_equal(out, "https://a.demo.localhost/blog/?x=1");
	assert_int_equal(wordpress_rewrite_url("HTTPS://Old.Example#top", NULL, "a.b", out,
					       sizeof(out), err, sizeof(err)),
			 0);
	assert_string_equal(out, "HTTPS://a.b#top");
	/* The visitors' scheme replaces the template's: an https demo. */
	assert_int_equal(wordpress_rewrite_url("http://wp.template.localhost/blog", "https",
					       "a.demo.localhost:8443", out, sizeof(out), err,
					       sizeof(err)),
			 0);
	assert_string_equal(out, "https://a.demo.localhost:8443/blog");
	assert_int_equal(wordpress_rewrite_url("https://x.example/", "http", "a.b", out,
					       sizeof(out), err, sizeof(err)),
			 0);
	assert_string_equal(out, "http://a.b/");
	assert_int_equal(wordpress_rewrite_url("http://x/", "javascript", "a.b", out, sizeof(out),
					       err, sizeof(err)),
			 -1);
	assert_int_equal(
	    wordpress_rewrite_url("ftp://x/", NULL, "a.b", out, sizeof(out), err, sizeof(err)), -1);
	assert_int_equal(wordpress_rewrite_url("wp.template.localhost", NULL, "a.b", out,
					       sizeof(out), err, sizeof(err)),
			 -1);
	assert_int_equal(
	    wordpress_rewrite_url("http://x/long/path", NULL, "a.b", out, 12, err, sizeof(err)),
	    -1);
}

static void
test_profile_find(void **state)
{
	const struct profile *p;
	char names[64];

	(void)state;
	p = profile_find("prestashop");
	assert_non_null(p);
	assert_string_equal(p->name, "prestashop");
	assert_string_equal(p->default_prefix, "ps_");
	assert_non_null(p->after_restore);
	assert_non_null(p->on_release);
	assert_non_null(p->stock_image); /* prestashop-flashlight */
	assert_string_equal(p->stock_image->health_path, "/admin-dev/robots.txt");
	p = profile_find("wordpress");
	assert_non_null(p);
	assert_string_equal(p->default_prefix, "wp_");
	assert_null(p->stock_image);
	assert_non_null(profile_find("generic"));
	assert_null(profile_find("joomla"));
	assert_null(profile_find(NULL));
	assert_null(profile_find(""));
	profile_names(names, sizeof(names));
	assert_string_equal(names, "prestashop, wordpress, generic");
	profile_names(names, 5);
	assert_string_equal(names, "pres");
}

/* A database that is not there: had a hook tried to connect, its error would
 * name the connection ("mariadb ...") instead of the bad input. */
static void
fill_unreachable(struct app_instance *inst, const char *domain, const char *prefix)
{
	memset(inst, 0, sizeof(*inst));
	inst->id = "abcdefghijklmnop";
	inst->domain = domain;
	inst->scheme = "http";
	inst->prefix = prefix;
	inst->db.host = "127.0.0.1";
	inst->db.port = 1;
	inst->db.user = "nobody";
	inst->db.password = "secret";
	inst->db.name = "demux";
	inst->db.connect_timeout_s = 1;
	inst->db.rw_timeout_s = 1;
}

static void
test_hooks_refuse_before_connecting(void **state)
{
	static const char *const bad_prefixes[] = {
	    "ab`_", "ab'_", "a%_", "a b_", "", "abcdefghijklmnopqrstuvwxyz0123456"};
	static const char *const bad_domains[] = {"a b.localhost", "a'b.localhost", "a..b",
						  "a.localhost.", "sh\xc3\xb6p.localhost"};
	const char *names[] = {"prestashop", "wordpress"};
	struct app_instance inst;
	char err[256];

	(void)state;
	for (size_t n = 0; n < 2; n++) {
		const struct profile *p = profile_find(names[n]);

		for (size_t i = 0; i < sizeof(bad_prefixes) / sizeof(bad_prefixes[0]); i++) {
			fill_unreachable(&inst, "a.demo.localhost", bad_prefixes[i]);
			err[0] = '\0';
			assert_int_equal(p->after_restore(&inst, err, sizeof(err)), -1);
			assert_non_null(strstr(err, "invalid table prefix"));
		}
		for (size_t i = 0; i < sizeof(bad_domains) / sizeof(bad_domains[0]); i++) {
			fill_unreachable(&inst, bad_domains[i], p->default_prefix);
			err[0] = '\0';
			assert_int_equal(p->after_restore(&inst, err, sizeof(err)), -1);
			assert_non_null(strstr(err, "invalid domain"));
		}
		/* Shared mode release refuses a prefix that another could start with. */
		fill_unreachable(&inst, "a.demo.localhost", "ab_");
		inst.drop_tables_on_release = 1;
		assert_int_equal(p->on_release(&inst, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "instance table prefix"));
		/* Embedded mode: nothing to do, nothing contacted. */
		inst.drop_tables_on_release = 0;
		assert_int_equal(p->on_release(&inst, err, sizeof(err)), 0);
	}
	/* A NULL prefix is refused too. */
	fill_unreachable(&inst, "a.demo.localhost", NULL);
	assert_int_equal(prestashop_profile.after_restore(&inst, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "invalid table prefix"));
}

static void
test_domain_length_gate(void **state)
{
	char domain[160], err[256];
	struct app_instance inst;

	(void)state;
	/* 151 characters in four labels. */
	memset(domain, 'a', 151);
	domain[49] = '.';
	domain[99] = '.';
	domain[148] = '.';
	domain[151] = '\0';
	fill_unreachable(&inst, domain, "ps_");
	assert_int_equal(prestashop_profile.after_restore(&inst, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "invalid domain"));
	assert_non_null(strstr(err, "150"));
	/* 150 passes validation and reaches the (absent) database. */
	domain[150] = '\0';
	assert_int_equal(prestashop_profile.after_restore(&inst, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mariadb nobody@127.0.0.1:1"));
	assert_null(strstr(err, "secret"));
}

static void
test_site_host(void **state)
{
	struct app_instance inst = {.domain = "k3f9.demo.localhost", .scheme = "http"};
	char out[APP_SITE_HOST_MAX + 1], err[256], domain[160];

	(void)state;
	assert_int_equal(app_site_host(&inst, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "k3f9.demo.localhost");
	inst.port = 80;
	assert_int_equal(app_site_host(&inst, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "k3f9.demo.localhost");
	inst.port = 8088;
	assert_int_equal(app_site_host(&inst, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "k3f9.demo.localhost:8088");
	inst.port = 443; /* not https's default when the scheme is http */
	assert_int_equal(app_site_host(&inst, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "k3f9.demo.localhost:443");
	inst.scheme = "https";
	assert_int_equal(app_site_host(&inst, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "k3f9.demo.localhost");
	inst.port = 70000;
	assert_int_equal(app_site_host(&inst, out, sizeof(out), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "invalid port 70000"));
	inst.port = 8088;
	inst.domain = "a..b";
	assert_int_equal(app_site_host(&inst, out, sizeof(out), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "invalid domain"));
	/* 146 characters are a valid domain, but with ":8088" they no longer fit
	 * PrestaShop's 150-character column. */
	memset(domain, 'a', 146);
	domain[49] = '.';
	domain[99] = '.';
	domain[146] = '\0';
	inst.domain = domain;
	assert_int_equal(app_site_host(&inst, out, sizeof(out), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than 150"));
	fill_unreachable(&inst, domain, "ps_");
	inst.port = 8088;
	assert_int_equal(prestashop_profile.after_restore(&inst, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than 150"));
}

static void
test_generic_gates(void **state)
{
	struct app_instance inst;
	char err[256];

	(void)state;
	fill_unreachable(&inst, "a.demo.localhost", "ps_");
	/* No statements: nothing to connect to. */
	inst.generic_after_restore = "  ";
	assert_int_equal(generic_profile.after_restore(&inst, err, sizeof(err)), 0);
	inst.generic_after_restore = "UPDATE t SET d = {prefix}x";
	assert_int_equal(generic_profile.after_restore(&inst, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "generic_after_restore: statement 1"));
	inst.generic_after_restore = "UPDATE t SET d = {id}";
	inst.id = "not-an-id";
	assert_int_equal(generic_profile.after_restore(&inst, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "invalid instance id"));
	inst.id = "abcdefghijklmnop";
	inst.generic_after_restore = "UPDATE t SET d = {prefix}";
	inst.prefix = "x y";
	assert_int_equal(generic_profile.after_restore(&inst, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "invalid table prefix"));
	inst.prefix = "ps_";
	inst.domain = "a b";
	assert_int_equal(generic_profile.after_restore(&inst, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "invalid domain"));
}

static void
test_password_generate(void **state)
{
	static const char look_alikes[] = "0O1lIio";
	char a[PASSWORD_SIZE], b[PASSWORD_SIZE];
	int seen[256] = {0}, kinds = 0;

	(void)state;
	assert_int_equal(password_generate(a), 0);
	assert_int_equal(password_generate(b), 0);
	assert_int_equal(strlen(a), PASSWORD_LEN);
	assert_string_not_equal(a, b);
	/* Over many draws: only unambiguous letters and digits, and all 55 of
	 * them used. */
	for (int i = 0; i < 500; i++) {
		assert_int_equal(password_generate(a), 0);
		for (size_t j = 0; j < PASSWORD_LEN; j++) {
			unsigned char ch = (unsigned char)a[j];

			assert_true((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				    (ch >= '2' && ch <= '9'));
			assert_null(strchr(look_alikes, ch));
			kinds += seen[ch] == 0;
			seen[ch] = 1;
		}
	}
	assert_int_equal(kinds, 55);
}

/* The hash is bcrypt "$2y$" at cost 5, verifies with crypt (what PHP's
 * password_verify and WordPress's fallback call) for the password and only
 * for it, and is salted afresh each time. */
static void
test_password_hash(void **state)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char h1[PASSWORD_HASH_SIZE], h2[PASSWORD_HASH_SIZE], err[128];
	const char *v;

	(void)state;
	assert_non_null(cd);
	assert_int_equal(password_hash("Xk7mPq2rSt9vWy3z", h1, sizeof(h1), err, sizeof(err)), 0);
	assert_int_equal(strlen(h1), 60);
	assert_memory_equal(h1, "$2y$05$", 7);
	v = crypt_rn("Xk7mPq2rSt9vWy3z", h1, cd, sizeof(*cd));
	assert_non_null(v);
	assert_string_equal(v, h1);
	v = crypt_rn("Xk7mPq2rSt9vWy3Z", h1, cd, sizeof(*cd));
	assert_true(v == NULL || strcmp(v, h1) != 0);
	assert_int_equal(password_hash("Xk7mPq2rSt9vWy3z", h2, sizeof(h2), err, sizeof(err)), 0);
	assert_string_not_equal(h1, h2);
	/* Too small an output is refused, not cut. */
	assert_int_equal(password_hash("x", h2, 60, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than"));
	free(cd);
}

static void
test_password_statements(void **state)
{
	struct db_stmt st = {0};
	char err[128];

	(void)state;
	buf_init(&st.sql, 512);
	assert_int_equal(prestashop_password_stmt("ps_", "admin@shop.example", "$2y$05$h", &st, err,
						  sizeof(err)),
			 0);
	assert_string_equal(buf_str(&st.sql),
			    "UPDATE `ps_employee` SET passwd = ? WHERE email = ?");
	assert_int_equal(st.nparams, 2);
	assert_string_equal(st.params[0], "$2y$05$h");
	assert_string_equal(st.params[1], "admin@shop.example");
	memset(st.params, 0, sizeof(st.params));
	assert_int_equal(wordpress_password_stmt("wp_", "admin", "$2y$05$h", &st, err, sizeof(err)),
			 0);
	assert_string_equal(buf_str(&st.sql),
			    "UPDATE `wp_users` SET user_pass = ? WHERE user_login = ?");
	assert_int_equal(st.nparams, 2);
	assert_string_equal(st.params[0], "$2y$05$h");
	assert_string_equal(st.params[1], "admin");
	assert_int_equal(prestashop_password_stmt("p`s_", "a", "h", &st, err, sizeof(err)), -1);
	assert_int_equal(wordpress_password_stmt("w p_", "a", "h", &st, err, sizeof(err)), -1);
	buf_free(&st.sql);
}

/* generic_admin_password: {password_hash} and {admin_user} are bound values
 * like the others, in the order they appear. */
static void
test_generic_password_values(void **state)
{
	struct generic_script s;
	const char *values[GENERIC_VALUES] = {
	    "d.demo.localhost", "abcdefghijklmnop", "ps_", "d.demo.localhost:8088", "admin",
	    "$2y$05$h"};
	const char *bound[GENERIC_MAX_PARAMS];
	char err[256];

	(void)state;
	assert_int_equal(generic_parse("UPDATE users SET pass = {password_hash}, site = {host} "
				       "WHERE login = {admin_user}",
				       &s, err, sizeof(err)),
			 0);
	assert_string_equal(s.stmts[0].sql, "UPDATE users SET pass = ?, site = ? WHERE login = ?");
	generic_bind(&s.stmts[0], values, bound);
	assert_string_equal(bound[0], "$2y$05$h");
	assert_string_equal(bound[1], "d.demo.localhost:8088");
	assert_string_equal(bound[2], "admin");
	generic_script_free(&s);
	assert_int_equal(
	    generic_parse("UPDATE users SET pass = '{password_hash}'", &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "inside a quoted string"));
}

/* Which profiles give a copy its own password, and the gates before any
 * connection: a password without a login, {password_hash} with no password. */
static void
test_password_gates(void **state)
{
	const struct profile *ps = profile_find("prestashop"), *wp = profile_find("wordpress");
	struct app_instance inst;
	char err[256], hash[PASSWORD_HASH_SIZE];

	(void)state;
	fill_unreachable(&inst, "a.demo.localhost", "ps_");
	assert_false(ps->sets_admin_password(&inst));
	assert_false(wp->sets_admin_password(&inst));
	assert_false(generic_profile.sets_admin_password(&inst));
	inst.admin_user = "admin";
	assert_true(ps->sets_admin_password(&inst));
	assert_true(wp->sets_admin_password(&inst));
	/* generic: only with a statement that says where the password goes. */
	assert_false(generic_profile.sets_admin_password(&inst));
	inst.generic_admin_password = "UPDATE u SET p = {password_hash} WHERE l = {admin_user}";
	assert_true(generic_profile.sets_admin_password(&inst));

	fill_unreachable(&inst, "a.demo.localhost", "ps_");
	assert_int_equal(app_admin_password_hash(&inst, hash, sizeof(hash), err, sizeof(err)), 0);
	inst.admin_password = "Xk7mPq2rSt9vWy3z";
	assert_int_equal(app_admin_password_hash(&inst, hash, sizeof(hash), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no admin login"));
	assert_null(strstr(err, "Xk7mPq2rSt9vWy3z"));
	assert_int_equal(ps->after_restore(&inst, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no admin login"));
	assert_int_equal(wp->after_restore(&inst, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no admin login"));
	inst.admin_user = "admin";
	assert_int_equal(app_admin_password_hash(&inst, hash, sizeof(hash), err, sizeof(err)), 1);
	assert_memory_equal(hash, "$2y$05$", 7);

	/* {password_hash} used where the copy has no password of its own. */
	fill_unreachable(&inst, "a.demo.localhost", "ps_");
	inst.admin_user = "admin";
	inst.generic_after_restore = "UPDATE u SET p = {password_hash}";
	assert_int_equal(generic_profile.after_restore(&inst, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "{password_hash} has no value"));
	inst.generic_after_restore = NULL;
	inst.generic_admin_password = "UPDATE u SET p = {pasword_hash}";
	inst.admin_password = "Xk7mPq2rSt9vWy3z";
	assert_int_equal(generic_profile.after_restore(&inst, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "generic_admin_password: statement 1: unknown placeholder"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_like_escape),
	    cmocka_unit_test(test_quote_ident),
	    cmocka_unit_test(test_schema_names),
	    cmocka_unit_test(test_generic_translates_in_order),
	    cmocka_unit_test(test_generic_refuses),
	    cmocka_unit_test(test_generic_limits),
	    cmocka_unit_test(test_wordpress_rewrite),
	    cmocka_unit_test(test_profile_find),
	    cmocka_unit_test(test_hooks_refuse_before_connecting),
	    cmocka_unit_test(test_domain_length_gate),
	    cmocka_unit_test(test_site_host),
	    cmocka_unit_test(test_generic_gates),
	    cmocka_unit_test(test_password_generate),
	    cmocka_unit_test(test_password_hash),
	    cmocka_unit_test(test_password_statements),
	    cmocka_unit_test(test_generic_password_values),
	    cmocka_unit_test(test_password_gates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
