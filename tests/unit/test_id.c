/* Unit tests for id: form, randomness and validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "id.h"
#include "validate.h"

static void
test_form_is_dns_label(void **state)
{
	char id[ID_SIZE], err[128];

	(void)state;
	for (int i = 0; i < 200; i++) {
		assert_int_equal(id_generate(id), 0);
		assert_int_equal(strlen(id), ID_LEN);
		assert_true(id_valid(id));
		assert_int_equal(validate_domain(id, err, sizeof(err)), 0);
	}
}

static void
test_ids_differ(void **state)
{
	enum { N = 2000 };
	static char ids[N][ID_SIZE];

	(void)state;
	for (int i = 0; i < N; i++)
		assert_int_equal(id_generate(ids[i]), 0);
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			assert_string_not_equal(ids[i], ids[j]);
}

static void
test_every_symbol_appears(void **state)
{
	/* 80 random bits spread over the whole alphabet, not a fixed subset. */
	int seen[256] = {0}, distinct = 0;
	char id[ID_SIZE];

	(void)state;
	for (int i = 0; i < 500; i++) {
		assert_int_equal(id_generate(id), 0);
		for (int k = 0; k < ID_LEN; k++)
			seen[(unsigned char)id[k]]++;
	}
	for (int c = 0; c < 256; c++)
		distinct += seen[c] > 0;
	assert_int_equal(distinct, 32);
}

static void
test_valid_rejects(void **state)
{
	(void)state;
	assert_false(id_valid(NULL));
	assert_false(id_valid(""));
	assert_false(id_valid("abcdefghijklmnop1")); /* 17 */
	assert_false(id_valid("abcdefghijklmno"));   /* 15 */
	assert_false(id_valid("abcdefghijklmno1"));  /* 1 not in base32 */
	assert_false(id_valid("../../etc/passwdx"));
	assert_false(id_valid("ABCDEFGHIJKLMNOP"));
	assert_true(id_valid("abcdefghijklmnop"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_form_is_dns_label),
	    cmocka_unit_test(test_ids_differ),
	    cmocka_unit_test(test_every_symbol_appears),
	    cmocka_unit_test(test_valid_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
