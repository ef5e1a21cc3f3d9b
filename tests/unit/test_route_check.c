/* Unit tests for the checks every route passes before it reaches a proxy:
 * hosts under the base domain, IPv4 upstreams, demux's listen address as the
 * front door's upstream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "proxy/route_check.h"

#define BD "demo.localhost"

static void
test_host_accepts_and_lowercases(void **state)
{
	char out[ROUTE_HOST_MAX], err[256];

	(void)state;
	assert_int_equal(
	    route_check_host("k3f9x2abcdefgh2a.demo.localhost", BD, out, err, sizeof(err)), 0);
	assert_string_equal(out, "k3f9x2abcdefgh2a.demo.localhost");
	assert_int_equal(route_check_host("AbC.Demo.LOCALHOST", BD, out, err, sizeof(err)), 0);
	assert_string_equal(out, "abc.demo.localhost");
	assert_int_equal(route_check_host("x-1.demo.localhost", BD, out, err, sizeof(err)), 0);
}

static void
test_host_rejects_hostile(void **state)
{
	static const char *const bad[] = {
	    "",
	    BD, /* the front door is not an instance */
	    "evil.com",
	    "ademo.localhost",	  /* not a label of the base domain */
	    "a.b.demo.localhost", /* more than one label */
	    "a..demo.localhost",
	    ".demo.localhost",
	    "-a.demo.localhost",
	    "a-.demo.localhost",
	    "a_b.demo.localhost",
	    "a b.demo.localhost",
	    "a\n.demo.localhost",
	    "a\r\nX-Evil: 1.demo.localhost",
	    "a;rm -rf.demo.localhost",
	    "a\".demo.localhost",
	    "a/b.demo.localhost",
	    "a.demo.localhost.",
	    "a.demo.localhost:80",
	    "a.demo.localhost evil",
	    "\xc3\xa4.demo.localhost",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.demo.localhost",
	};
	char out[ROUTE_HOST_MAX], err[256], longhost[400];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (route_check_host(bad[i], BD, out, err, sizeof(err)) != -1)
			fail_msg("accepted hostile host #%zu '%s'", i, bad[i]);
		assert_true(strlen(err) > 0);
		/* A reason never carries the control bytes it refused. */
		assert_null(strpbrk(err, "\r\n"));
	}
	memset(longhost, 'a', sizeof(longhost));
	longhost[sizeof(longhost) - 1] = '\0';
	assert_int_equal(route_check_host(longhost, BD, out, err, sizeof(err)), -1);
	assert_int_equal(route_check_host(NULL, BD, out, err, sizeof(err)), -1);
}

static void
test_upstream(void **state)
{
	static const char *const good[] = {"127.0.0.1:8080", "10.0.0.5:1", "1.2.3.4:65535"};
	static const char *const bad[] = {
	    "",
	    "127.0.0.1",
	    ":80",
	    "localhost:80",
	    "127.0.0.1:0",
	    "127.0.0.1:65536",
	    "127.0.0.1:080",
	    "127.1:80",
	    "0.0.0.0:80",
	    "[::1]:80",
	    "127.0.0.1:80 x",
	    "127.0.0.1:8a",
	    "1.2.3.4:80:90",
	    "01.2.3.4:80",
	    "1.2.3.4:",
	    "255.255.255.255:80",
	    "127.0.0.1:999999",
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(route_check_upstream(good[i], err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (route_check_upstream(bad[i], err, sizeof(err)) != -1)
			fail_msg("accepted upstream '%s'", bad[i]);
}

static void
test_front_upstream(void **state)
{
	char out[ROUTE_UPSTREAM_MAX], err[256];

	(void)state;
	assert_int_equal(route_check_front_upstream("0.0.0.0:8080", out, err, sizeof(err)), 0);
	assert_string_equal(out, "127.0.0.1:8080");
	assert_int_equal(route_check_front_upstream(":8080", out, err, sizeof(err)), 0);
	assert_string_equal(out, "127.0.0.1:8080");
	assert_int_equal(route_check_front_upstream("localhost:9", out, err, sizeof(err)), 0);
	assert_string_equal(out, "127.0.0.1:9");
	assert_int_equal(route_check_front_upstream("10.1.2.3:9000", out, err, sizeof(err)), 0);
	assert_string_equal(out, "10.1.2.3:9000");
	assert_int_equal(route_check_front_upstream("[::1]:80", out, err, sizeof(err)), -1);
	assert_int_equal(route_check_front_upstream("8080", out, err, sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_host_accepts_and_lowercases),
	    cmocka_unit_test(test_host_rejects_hostile),
	    cmocka_unit_test(test_upstream),
	    cmocka_unit_test(test_front_upstream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
