/* Unit tests for validate: prefixes, domains, names and paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "id.h"
#include "validate.h"

static void
test_prefix_accepts_plain(void **state)
{
	char err[128];

	(void)state;
	assert_int_equal(validate_prefix("ps_", err, sizeof(err)), 0);
	assert_int_equal(validate_prefix("AB_12", err, sizeof(err)), 0);
	assert_int_equal(validate_prefix("abcdefghijklmnopqrstuvwxyz012345", err, sizeof(err)), 0);
}

static void
test_prefix_rejects_hostile(void **state)
{
	const char *bad[] = {"",      "ab`_", "ab'_",
			     "a%_",   "a b_", "ab;drop",
			     "ab\"_", "ab-_", "abcdefghijklmnopqrstuvwxyz0123456" /* 33 */};
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(validate_prefix(bad[i], err, sizeof(err)), -1);
		assert_true(strlen(err) > 0);
	}
}

static void
test_instance_prefix_fixed_form(void **state)
{
	char id[ID_SIZE], prefix[PREFIX_MAX + 1], err[160];

	(void)state;
	assert_int_equal(id_generate(id), 0);
	validate_make_instance_prefix(id, prefix, sizeof(prefix));
	assert_int_equal(validate_instance_prefix(prefix, err, sizeof(err)), 0);
	/* Anything that could be the start of another prefix is refused. */
	assert_int_equal(validate_instance_prefix("ab_", err, sizeof(err)), -1);
	assert_int_equal(validate_instance_prefix("d_", err, sizeof(err)), -1);
	prefix[strlen(prefix) - 1] = 'x';
	assert_int_equal(validate_instance_prefix(prefix, err, sizeof(err)), -1);
}

static void
test_domain_accepts(void **state)
{
	char err[128];

	(void)state;
	assert_int_equal(validate_domain("shop.template.localhost", err, sizeof(err)), 0);
	assert_int_equal(validate_domain("k3f9x2.demo.example.com", err, sizeof(err)), 0);
	assert_int_equal(validate_domain("localhost", err, sizeof(err)), 0);
	assert_int_equal(validate_domain("a-b.c", err, sizeof(err)), 0);
}

static void
test_domain_rejects(void **state)
{
	char long151[152], label64[70];
	const char *bad[] = {"",	"a b.com", "a'b.com",  "a\"b.com", "a..b",
			     "a.b.",	".a.b",	   "-a.b",     "a-.b",	   "caf\xc3\xa9.com",
			     "a/b.com", "a_b.com", "x.com:80", "a\nb"};
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(validate_domain(bad[i], err, sizeof(err)), -1);
		assert_true(strlen(err) > 0);
	}
	memset(long151, 'a', sizeof(long151));
	for (size_t i = 60; i < 151; i += 61)
		long151[i] = '.';
	long151[151] = '\0';
	assert_int_equal(validate_domain(long151, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "150"));
	long151[150] = '\0';
	assert_int_equal(validate_domain(long151, err, sizeof(err)), 0);
	memset(label64, 'b', 64);
	label64[64] = '\0';
	assert_int_equal(validate_domain(label64, err, sizeof(err)), -1);
}

static void
test_host_port(void **state)
{
	char err[128];

	(void)state;
	assert_int_equal(validate_host_port("a.localhost:8080", err, sizeof(err)), 0);
	assert_int_equal(validate_host_port("a.localhost", err, sizeof(err)), 0);
	assert_int_equal(validate_host_port("a.localhost:", err, sizeof(err)), -1);
	assert_int_equal(validate_host_port("a.localhost:80x", err, sizeof(err)), -1);
	assert_int_equal(validate_host_port("a.localhost:123456", err, sizeof(err)), -1);
}

static void
test_names_and_paths(void **state)
{
	char err[128];

	(void)state;
	assert_int_equal(validate_name("shop-fixture", err, sizeof(err)), 0);
	assert_int_equal(validate_name("../etc", err, sizeof(err)), -1);
	assert_int_equal(validate_name("a/b", err, sizeof(err)), -1);
	assert_int_equal(validate_name("", err, sizeof(err)), -1);
	assert_int_equal(validate_url_path("/health", err, sizeof(err)), 0);
	assert_int_equal(validate_url_path("health", err, sizeof(err)), -1);
	assert_int_equal(validate_url_path("/a b", err, sizeof(err)), -1);
}

static void
test_url_ports(void **state)
{
	char p[URL_PORT_SUFFIX_SIZE];

	(void)state;
	assert_int_equal(url_scheme_port("http"), 80);
	assert_int_equal(url_scheme_port(NULL), 80);
	assert_int_equal(url_scheme_port("https"), 443);
	url_port_suffix("http", 0, p);
	assert_string_equal(p, "");
	url_port_suffix("http", 80, p);
	assert_string_equal(p, "");
	url_port_suffix("http", 443, p);
	assert_string_equal(p, ":443");
	url_port_suffix("https", 443, p);
	assert_string_equal(p, "");
	url_port_suffix(NULL, 65535, p);
	assert_string_equal(p, ":65535");
}

static void
test_page_values(void **state)
{
	const char *colors_ok[] = {"#fff", "#A0b1C2"};
	const char *colors_bad[] = {"fff", "#ffff", "#ggg", "#fff;", "", "#1234567"};
	const char *urls_ok[] = {"https://cdn.example.com/a/logo.svg?v=2",
				 "http://x.test:8080/l.png", "/static/logo.png"};
	const char *urls_bad[] = {
	    "javascript:alert(1)",	  "//evil.test/x",	"https://",
	    "https://a.test/x y",	  "https://a.test/\"x", "https://a.test/<x",
	    "data:image/png;base64,AAAA", "https://a_b.test/x", "logo.png"};

	(void)state;
	for (size_t i = 0; i < sizeof(colors_ok) / sizeof(colors_ok[0]); i++)
		assert_int_equal(validate_css_color(colors_ok[i], NULL, 0), 0);
	for (size_t i = 0; i < sizeof(colors_bad) / sizeof(colors_bad[0]); i++)
		assert_int_equal(validate_css_color(colors_bad[i], NULL, 0), -1);
	for (size_t i = 0; i < sizeof(urls_ok) / sizeof(urls_ok[0]); i++)
		assert_int_equal(validate_page_url(urls_ok[i], NULL, 0), 0);
	for (size_t i = 0; i < sizeof(urls_bad) / sizeof(urls_bad[0]); i++)
		if (validate_page_url(urls_bad[i], NULL, 0) != -1)
			fail_msg("accepted %s", urls_bad[i]);
	assert_int_equal(validate_text_line("Acme — the shop", 60, NULL, 0), 0);
	assert_int_equal(validate_text_line("two\nlines", 60, NULL, 0), -1);
	assert_int_equal(validate_text_line("tab\there", 60, NULL, 0), -1);
	assert_int_equal(validate_text_line("abcdef", 5, NULL, 0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prefix_accepts_plain),
	    cmocka_unit_test(test_prefix_rejects_hostile),
	    cmocka_unit_test(test_instance_prefix_fixed_form),
	    cmocka_unit_test(test_domain_accepts),
	    cmocka_unit_test(test_domain_rejects),
	    cmocka_unit_test(test_host_port),
	    cmocka_unit_test(test_names_and_paths),
	    cmocka_unit_test(test_url_ports),
	    cmocka_unit_test(test_page_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
