/* Unit tests for origin: allowed_origins lists and the Origin header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "origin.h"

static void
test_validate_list(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(origin_validate_list("", err, sizeof(err)), 0);
	assert_int_equal(origin_validate_list(" https://a.example.com,http://localhost:8000\tx",
					      err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "'x'"));
	assert_int_equal(
	    origin_validate_list("https://a.example.com, http://localhost:8000", err, sizeof(err)),
	    0);
	assert_int_equal(origin_validate_list("https://a.example.com/", err, sizeof(err)), -1);
	assert_int_equal(origin_validate_list("https://a.example.com:99999", err, sizeof(err)), -1);
	assert_int_equal(origin_validate_list("null", err, sizeof(err)), -1);
	assert_int_equal(origin_validate_list("*", err, sizeof(err)), -1);
	assert_int_equal(origin_validate_list("https://a b", err, sizeof(err)), -1);
	assert_int_equal(origin_validate_list("https://1.test https://2.test https://3.test "
					      "https://4.test https://5.test https://6.test "
					      "https://7.test https://8.test https://9.test "
					      "https://10.test https://11.test https://12.test "
					      "https://13.test https://14.test https://15.test "
					      "https://16.test https://17.test",
					      err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "more than 16"));
}

static void
test_in_list(void **state)
{
	const char *list = "https://www.example.com, http://localhost:8000";

	(void)state;
	assert_true(origin_in_list(list, "https://www.example.com"));
	assert_true(origin_in_list(list, "HTTPS://WWW.Example.com"));
	assert_true(origin_in_list(list, "http://localhost:8000"));
	assert_false(origin_in_list(list, "http://www.example.com")); /* scheme */
	assert_false(origin_in_list(list, "https://www.example.com:443x"));
	assert_false(origin_in_list(list, "https://www.example.com.evil.test"));
	assert_false(origin_in_list(list, "https://example.com"));
	assert_false(origin_in_list(list, "http://localhost:8001"));
	assert_false(origin_in_list(list, "null"));
	assert_false(origin_in_list(list, ""));
	assert_false(origin_in_list(list, NULL));
	assert_false(origin_in_list(NULL, "https://www.example.com"));
	assert_false(origin_in_list("", "https://www.example.com"));
}

static void
test_is_base(void **state)
{
	(void)state;
	assert_true(origin_is_base("demo.test", "https://demo.test"));
	assert_true(origin_is_base("demo.test", "http://DEMO.test:8088"));
	assert_false(origin_is_base("demo.test", "https://x.demo.test"));
	assert_false(origin_is_base("demo.test", "https://demo.test.evil.test"));
	assert_false(origin_is_base("demo.test", "null"));
	assert_false(origin_is_base("demo.test", NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_validate_list),
	    cmocka_unit_test(test_in_list),
	    cmocka_unit_test(test_is_base),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
