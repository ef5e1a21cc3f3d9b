/* Unit tests for config: file parsing with line numbers, validation,
 * environment overrides, cross-key checks, listen addresses and the admin
 * token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char path[64];

static void
write_conf(const char *text)
{
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/demux-conf-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
}

static int
load(struct config *cfg, const char *text, char *err, size_t errlen)
{
	int rc;

	write_conf(text);
	rc = config_load(cfg, path, err, errlen);
	unlink(path);
	return rc;
}

static void
test_defaults_are_valid(void **state)
{
	static struct config cfg;
	char err[512];

	(void)state;
	assert_int_equal(config_load(&cfg, NULL, err, sizeof(err)), 0);
	assert_string_equal(cfg.listen, "127.0.0.1:8080");
	assert_string_equal(cfg.store_path, "/var/lib/demux/demux.db");
	/* The abuse limits are on out of the box. */
	assert_int_equal(cfg.max_active_per_client, 3);
	assert_int_equal(cfg.max_connections, 4096);
	assert_int_equal(cfg.max_connections_per_ip, 0);
	assert_int_equal(cfg.request_timeout_s, 10);
}

static void
test_full_file(void **state)
{
	static struct config cfg;
	char err[512];

	(void)state;
	assert_int_equal(load(&cfg,
			      "[server]\nbase_domain = demo.example.com\n"
			      "admin_token = 0123456789abcdef0123\n"
			      "[proxy]\nbackend = haproxy\n"
			      "[pool shop-fixture]\nmin_ready = 3\nttl = 45m\nmax_ttl = 2h\n"
			      "cold_start_fallback = no\n",
			      err, sizeof(err)),
			 0);
	assert_string_equal(cfg.base_domain, "demo.example.com");
	assert_int_equal(cfg.proxy_backend, PROXY_HAPROXY);
	assert_int_equal(cfg.npools, 1);
	assert_int_equal(cfg.pools[0].min_ready, 3);
	assert_int_equal(cfg.pools[0].ttl_s, 45 * 60);
	assert_false(cfg.pools[0].cold_start_fallback);
	assert_non_null(config_pool(&cfg, "shop-fixture"));
	assert_null(config_pool(&cfg, "nope"));
}

static void
expect_error(const char *text, const char *needle)
{
	static struct config cfg;
	char err[512] = "";

	if (load(&cfg, text, err, sizeof(err)) != -1)
		fail_msg("config was accepted: %s", text);
	if (strstr(err, needle) == NULL)
		fail_msg("error '%s' does not contain '%s'", err, needle);
	assert_non_null(strstr(err, path));
}

static void
test_errors_name_file_line_key(void **state)
{
	(void)state;
	expect_error("[server]\n\nlisten = x\nmax_body_bytes = lots\n",
		     ":4: [server] max_body_bytes");
	expect_error("[server]\nnope = 1\n", ":2: [server] nope: unknown key");
	expect_error("[serverx]\nlisten = 1\n", ":2: [serverx]: unknown section");
	expect_error("[proxy]\nbackend = nginx\n", "'nginx' is not one of caddy, haproxy");
	expect_error("[server]\nbase_domain = a..b\n", ":2: [server] base_domain");
	expect_error("[pool a]\nttl = 5x\n", "not a duration");
	expect_error("[pool a]\nmax_instances = 0\n", "outside 1..10000");
	expect_error("[pool a/b]\nttl = 5m\n", "pool name");
	expect_error("[pool a]\nmin_ready = 5\nmax_instances = 2\n", "min_ready (5) is larger");
	expect_error("[pool a]\nport_min = 20000\nport_max = 20003\nmax_instances = 4\n",
		     "too small");
	expect_error("[pool a]\nttl = 5m\n[pool b]\nttl = 5m\n", "overlaps");
	expect_error("[server]\nadmin_token = short\n", "shorter than 16");
	expect_error("[server]\nthis line has no equals\n", ":2: syntax error");
	expect_error("[pool a]\nttl = 3h\n", "ttl is longer than max_ttl");
}

static void
test_abuse_limits(void **state)
{
	static struct config cfg;
	char err[512];

	(void)state;
	assert_int_equal(load(&cfg,
			      "[server]\nmax_active_per_client = 0\nmax_connections = 10000\n"
			      "max_connections_per_ip = 50\nrequest_timeout = 30s\n"
			      "[pool shop]\nmax_extends = 2\n[pool blog]\nport_min = 30000\n"
			      "port_max = 30099\n",
			      err, sizeof(err)),
			 0);
	assert_int_equal(cfg.max_active_per_client, 0);
	assert_int_equal(cfg.max_connections, 10000);
	assert_int_equal(cfg.max_connections_per_ip, 50);
	assert_int_equal(cfg.request_timeout_s, 30);
	assert_int_equal(config_pool(&cfg, "shop")->max_extends, 2);
	assert_int_equal(config_pool(&cfg, "blog")->max_extends, 6);
	expect_error("[server]\nmax_active_per_client = -1\n", "[server] max_active_per_client");
	expect_error("[server]\nmax_connections = 8\n", "outside 16..1000000");
	expect_error("[server]\nrequest_timeout = 0\n", "[server] request_timeout");
	expect_error("[pool a]\nmax_extends = many\n", "[pool a] max_extends");
}

static void
test_environment_overrides(void **state)
{
	static struct config cfg;
	char err[512];

	(void)state;
	setenv("DEMUX_SERVER_LISTEN", "127.0.0.1:9999", 1);
	setenv("DEMUX_POOL_SHOP_FIXTURE_MIN_READY", "1", 1);
	assert_int_equal(load(&cfg, "[pool shop-fixture]\nmin_ready = 4\n", err, sizeof(err)), 0);
	assert_string_equal(cfg.listen, "127.0.0.1:9999");
	assert_int_equal(cfg.pools[0].min_ready, 1);
	setenv("DEMUX_SERVER_MAX_BODY_BYTES", "-5", 1);
	assert_int_equal(load(&cfg, "", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "DEMUX_SERVER_MAX_BODY_BYTES"));
	unsetenv("DEMUX_SERVER_MAX_BODY_BYTES");
	unsetenv("DEMUX_SERVER_LISTEN");
	unsetenv("DEMUX_POOL_SHOP_FIXTURE_MIN_READY");
}

static void
test_durations(void **state)
{
	int d;

	(void)state;
	assert_int_equal(config_parse_duration("90", &d), 0);
	assert_int_equal(d, 90);
	assert_int_equal(config_parse_duration("2h", &d), 0);
	assert_int_equal(d, 7200);
	assert_int_equal(config_parse_duration("1d", &d), 0);
	assert_int_equal(d, 86400);
	assert_int_equal(config_parse_duration("", &d), -1);
	assert_int_equal(config_parse_duration("-1m", &d), -1);
	assert_int_equal(config_parse_duration("5mm", &d), -1);
	assert_int_equal(config_parse_duration("99999999999h", &d), -1);
}

static void
test_parse_listen(void **state)
{
	char host[64], err[128];
	int port;

	(void)state;
	assert_int_equal(
	    config_parse_listen("127.0.0.1:8080", host, sizeof(host), &port, err, sizeof(err)), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8080);
	assert_int_equal(
	    config_parse_listen("[::1]:0", host, sizeof(host), &port, err, sizeof(err)), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 0);
	assert_int_equal(config_parse_listen(":9", host, sizeof(host), &port, err, sizeof(err)), 0);
	assert_string_equal(host, "");
	assert_int_equal(config_parse_listen("nohost", host, sizeof(host), &port, err, sizeof(err)),
			 -1);
	assert_int_equal(
	    config_parse_listen("1.2.3.4:99999", host, sizeof(host), &port, err, sizeof(err)), -1);
	assert_int_equal(
	    config_parse_listen("1.2.3.4:80x", host, sizeof(host), &port, err, sizeof(err)), -1);
	assert_int_equal(config_parse_listen("[::1", host, sizeof(host), &port, err, sizeof(err)),
			 -1);
}

/* The daemon refuses to start without a usable token; the CLI sends it. */
static void
test_admin_token(void **state)
{
	static struct config cfg;
	char tok[CONFIG_TOKEN_MAX], err[512];

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_admin_token(&cfg, tok, sizeof(tok), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no admin token"));
	snprintf(cfg.admin_token, sizeof(cfg.admin_token), "0123456789abcdef");
	assert_int_equal(config_admin_token(&cfg, tok, sizeof(tok), err, sizeof(err)), 0);
	assert_string_equal(tok, "0123456789abcdef");
	snprintf(cfg.admin_token, sizeof(cfg.admin_token), "short");
	assert_int_equal(config_admin_token(&cfg, tok, sizeof(tok), err, sizeof(err)), -1);
	assert_string_equal(tok, "");

	/* From the file: first line, trailing white space removed. */
	cfg.admin_token[0] = '\0';
	write_conf("fedcba9876543210xyz \r\nsecond line\n");
	snprintf(cfg.admin_token_file, sizeof(cfg.admin_token_file), "%s", path);
	assert_int_equal(config_admin_token(&cfg, tok, sizeof(tok), err, sizeof(err)), 0);
	assert_string_equal(tok, "fedcba9876543210xyz");
	unlink(path);
	assert_int_equal(config_admin_token(&cfg, tok, sizeof(tok), err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
}

/* [network] and [pool] egress: safe defaults, hostile values refused. */
static void
test_networks(void **state)
{
	static struct config cfg;
	char err[512];
	const char *bad[] = {
	    "[network]\ninterface = demux0\" accept\n",
	    "[network]\ninterface = abcdefghijklmnop\n",
	    "[network]\nsubnet = 10.89.0.0\n",
	    "[network]\nsubnet = 10.89.0.0/24; flush ruleset\n",
	    "[network]\negress_interface = demux0\n",
	    "[network]\negress_name = demux\n",
	    "[network]\nsubnet = 10.90.0.0/16\negress_subnet = 10.90.0.0/16\n",
	    "[network]\nname = ../x\n",
	    "[pool shop]\negress = maybe\n",
	};

	(void)state;
	assert_int_equal(config_load(&cfg, NULL, err, sizeof(err)), 0);
	assert_string_equal(cfg.net_name, "demux");
	assert_string_equal(cfg.net_interface, "demux0");
	assert_string_equal(cfg.net_subnet, "");
	assert_string_equal(cfg.net_egress_interface, "demux1");
	assert_int_equal(load(&cfg, "[pool shop]\n", err, sizeof(err)), 0);
	assert_int_equal(cfg.pools[0].egress, EGRESS_NONE);
	assert_int_equal(load(&cfg,
			      "[network]\nsubnet = 10.90.0.0/16\n[pool shop]\negress = open\n", err,
			      sizeof(err)),
			 0);
	assert_int_equal(cfg.pools[0].egress, EGRESS_OPEN);
	assert_string_equal(cfg.net_subnet, "10.90.0.0/16");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(load(&cfg, bad[i], err, sizeof(err)), -1);
		assert_true(strlen(err) > 0);
	}
}

/* [pool] restore: the prepared restore by default, the archive on request. */
static void
test_restore_from(void **state)
{
	static struct config cfg;
	char err[512];

	(void)state;
	assert_int_equal(load(&cfg, "[pool shop]\n", err, sizeof(err)), 0);
	assert_int_equal(cfg.pools[0].restore_from, RESTORE_PREPARED);
	assert_int_equal(load(&cfg, "[pool shop]\nrestore = archive\n", err, sizeof(err)), 0);
	assert_int_equal(cfg.pools[0].restore_from, RESTORE_ARCHIVE);
	assert_int_equal(load(&cfg, "[pool shop]\nrestore = fast\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "restore"));
	assert_non_null(strstr(err, "prepared"));
}

static void
expect_refused(const char *text, const char *needle)
{
	static struct config cfg;
	char err[512];

	if (load(&cfg, text, err, sizeof(err)) != -1)
		fail_msg("accepted:\n%s", text);
	if (strstr(err, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
}

/* [pages] and per-template overrides, allowed_origins. */
static void
test_pages_and_origins(void **state)
{
	static struct config cfg;
	struct pages_look l;
	char err[512];

	(void)state;
	assert_int_equal(load(&cfg,
			      "[server]\nallowed_origins = https://www.acme.test, "
			      "http://localhost:8000\n"
			      "[pages]\nproduct_name = Acme Shop\ndescription = Sell more.\n"
			      "logo_url = https://cdn.acme.test/logo.svg\naccent_color = #0a7\n"
			      "lifetime_text = Yours for 30 minutes.\n"
			      "[pool shop]\nproduct_name = Acme Shop Pro\naccent_color = #112233\n"
			      "[pool blog]\nport_min = 30000\nport_max = 30099\n",
			      err, sizeof(err)),
			 0);
	config_pages_look(&cfg, config_pool(&cfg, "shop"), &l);
	assert_string_equal(l.product_name, "Acme Shop Pro");
	assert_string_equal(l.accent_color, "#112233");
	assert_string_equal(l.description, "Sell more.");
	config_pages_look(&cfg, config_pool(&cfg, "blog"), &l);
	assert_string_equal(l.product_name, "Acme Shop");
	assert_string_equal(l.logo_url, "https://cdn.acme.test/logo.svg");
	assert_int_equal(load(&cfg, "[pages]\nlogo_url = /static/logo.png\n", err, sizeof(err)), 0);

	expect_refused("[pages]\naccent_color = red\n", "[pages] accent_color");
	expect_refused("[pages]\naccent_color = #12345\n", "accent_color");
	expect_refused("[pages]\naccent_color = #12345g\n", "accent_color");
	expect_refused("[pages]\nlogo_url = javascript:alert(1)\n", "[pages] logo_url");
	expect_refused("[pages]\nlogo_url = //evil.test/x.png\n", "logo_url");
	expect_refused("[pages]\nlogo_url = https://a.test/x\"onerror=x\n", "logo_url");
	expect_refused("[pages]\nlogo_url = ftp://a.test/x.png\n", "logo_url");
	expect_refused("[pool shop]\nlogo_url = https://bad host/x\n", "[pool shop] logo_url");
	expect_refused("[pages]\nproduct_name = "
		       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		       "product_name");
	expect_refused("[server]\nallowed_origins = https://www.acme.test/\n",
		       "[server] allowed_origins");
	expect_refused("[server]\nallowed_origins = www.acme.test\n", "allowed_origins");
	expect_refused("[server]\nallowed_origins = *\n", "allowed_origins");
	expect_refused("[server]\nallowed_origins = https://a_b.test\n", "allowed_origins");
}

/* [proxy] tls against public_scheme and the backend. */
static void
test_tls(void **state)
{
	static struct config cfg;
	char err[512];

	(void)state;
	assert_int_equal(load(&cfg, "[server]\npublic_scheme = https\n[proxy]\ntls = internal\n",
			      err, sizeof(err)),
			 0);
	assert_int_equal(cfg.proxy_tls, PROXY_TLS_INTERNAL);
	assert_int_equal(load(&cfg,
			      "[server]\npublic_scheme = https\n[proxy]\nbackend = haproxy\n"
			      "tls = files\ntls_cert_file = /etc/t/w.pem\n"
			      "tls_key_file = /etc/t/w.pem.key\n",
			      err, sizeof(err)),
			 0);
	assert_int_equal(load(&cfg,
			      "[server]\npublic_scheme = https\n[proxy]\ntls = acme\n"
			      "acme_dns = {\"name\":\"cloudflare\",\"api_token\":\"x\"}\n",
			      err, sizeof(err)),
			 0);
	expect_refused("[server]\npublic_scheme = https\n", "needs [proxy] tls");
	expect_refused("[proxy]\ntls = internal\n", "public_scheme = https");
	expect_refused("[server]\npublic_scheme = https\n[proxy]\nbackend = haproxy\n"
		       "tls = internal\n",
		       "haproxy takes tls = files");
	expect_refused("[server]\npublic_scheme = https\n[proxy]\ntls = files\n"
		       "tls_cert_file = /etc/t/w.pem\n",
		       "needs tls_key_file");
	expect_refused("[server]\npublic_scheme = https\n[proxy]\nbackend = haproxy\ntls = files\n"
		       "tls_cert_file = /etc/t/w.pem\ntls_key_file = /etc/t/other.key\n",
		       "haproxy reads the key");
	expect_refused("[server]\npublic_scheme = https\n[proxy]\ntls = acme\nacme_dns = x\n",
		       "needs acme_dns");
	expect_refused("[proxy]\ntls = sometimes\n", "tls");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_are_valid),
	    cmocka_unit_test(test_restore_from),
	    cmocka_unit_test(test_full_file),
	    cmocka_unit_test(test_errors_name_file_line_key),
	    cmocka_unit_test(test_abuse_limits),
	    cmocka_unit_test(test_environment_overrides),
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_parse_listen),
	    cmocka_unit_test(test_admin_token),
	    cmocka_unit_test(test_networks),
	    cmocka_unit_test(test_pages_and_origins),
	    cmocka_unit_test(test_tls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
