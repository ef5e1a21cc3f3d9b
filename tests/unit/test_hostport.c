/* Unit tests for hostport: what splits, into what, and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "hostport.h"

static void
test_splits(void **state)
{
	static const struct {
		const char *in, *host;
		int port;
	} ok[] = {
	    {"127.0.0.1:8080", "127.0.0.1", 8080},
	    {"[::1]:0", "::1", 0},
	    {"[::]:443", "::", 443},
	    {":9", "", 9},
	    {"*:8088", "*", 8088},
	    {"a.localhost:65535", "a.localhost", 65535},
	    {"fe80::1:80", "fe80::1", 80},
	    {"shop.example:080", "shop.example", 80},
	};
	char host[64], err[128];
	int port;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		port = -1;
		if (hostport_split(ok[i].in, host, sizeof(host), &port, err, sizeof(err)) != 0)
			fail_msg("refused '%s': %s", ok[i].in, err);
		assert_string_equal(host, ok[i].host);
		assert_int_equal(port, ok[i].port);
	}
}

static void
test_refuses(void **state)
{
	static const char *const bad[] = {
	    "",
	    "nohost",
	    "1.2.3.4:",
	    "1.2.3.4:99999",
	    "1.2.3.4:65536",
	    "1.2.3.4:80x",
	    "1.2.3.4: 80",
	    "1.2.3.4:+80",
	    "1.2.3.4:-1",
	    "[::1]80",
	    "[::1",
	    "[::1]:",
	    "host:123456",
	};
	char host[64] = "untouched", err[128];
	int port = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (hostport_split(bad[i], host, sizeof(host), &port, err, sizeof(err)) != -1)
			fail_msg("accepted '%s'", bad[i]);
		assert_true(err[0] != '\0');
	}
	assert_string_equal(host, "untouched");
	assert_int_equal(port, 7);
	assert_int_equal(hostport_split(NULL, host, sizeof(host), &port, NULL, 0), -1);
}

static void
test_host_too_long_is_an_error(void **state)
{
	char host[8], err[128] = "";
	int port = 0;

	(void)state;
	assert_int_equal(hostport_split("1234567:80", host, sizeof(host), &port, err, sizeof(err)),
			 0);
	assert_string_equal(host, "1234567");
	assert_int_equal(hostport_split("12345678:80", host, sizeof(host), &port, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "host too long");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_splits),
	    cmocka_unit_test(test_refuses),
	    cmocka_unit_test(test_host_too_long_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
