/* Unit tests for errf: the reason lands in err, bounded, and -1 comes back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "errf.h"

static void
test_formats_and_returns_minus_one(void **state)
{
	char err[64] = "";

	(void)state;
	assert_int_equal(errf(err, sizeof(err), "port %d: %s", 80, "busy"), -1);
	assert_string_equal(err, "port 80: busy");
}

static void
test_truncates_within_errlen(void **state)
{
	char err[8];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(errf(err, 5, "%s", "abcdefgh"), -1);
	assert_string_equal(err, "abcd");
	assert_int_equal(err[5], 'x');
}

static void
test_tolerates_no_buffer(void **state)
{
	char err[4] = "old";

	(void)state;
	assert_int_equal(errf(NULL, 64, "ignored %d", 1), -1);
	assert_int_equal(errf(err, 0, "ignored %d", 2), -1);
	assert_string_equal(err, "old");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_formats_and_returns_minus_one),
	    cmocka_unit_test(test_truncates_within_errlen),
	    cmocka_unit_test(test_tolerates_no_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
