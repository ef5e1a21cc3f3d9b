/* Unit tests for buf: growth, the hard maximum, formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void
test_append_and_take(void **state)
{
	struct buf b;
	char *s;

	(void)state;
	buf_init(&b, 1024);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(buf_appends(&b, "hello"), 0);
	assert_int_equal(buf_printf(&b, " %d %s", 42, "x"), 0);
	assert_string_equal(buf_str(&b), "hello 42 x");
	s = buf_take(&b);
	assert_string_equal(s, "hello 42 x");
	assert_int_equal(b.len, 0);
	free(s);
	buf_free(&b);
}

static void
test_maximum_is_enforced(void **state)
{
	struct buf b;
	char big[300];

	(void)state;
	memset(big, 'a', sizeof(big));
	buf_init(&b, 100);
	assert_int_equal(buf_append(&b, big, 100), 0);
	assert_int_equal(buf_append(&b, "x", 1), -1);
	assert_int_equal(b.len, 100); /* unchanged by the refused append */
	buf_reset(&b);
	assert_int_equal(buf_printf(&b, "%.*s", 101, big), -1);
	assert_int_equal(buf_printf(&b, "%.*s", 99, big), 0);
	assert_int_equal(b.len, 99);
	buf_free(&b);
}

static void
test_long_printf(void **state)
{
	struct buf b;
	char big[1000];

	(void)state;
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 4096);
	assert_int_equal(buf_printf(&b, "[%s]", big), 0);
	assert_int_equal(b.len, 1001);
	assert_int_equal(buf_str(&b)[1000], ']');
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_append_and_take),
	    cmocka_unit_test(test_maximum_is_enforced),
	    cmocka_unit_test(test_long_printf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
