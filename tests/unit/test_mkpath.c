/* Unit tests for mkpath: chains of directories made with the modes asked,
 * existing ones kept, too-long paths refused with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mkpath.h"

static char base[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/demux-mkpath-XXXXXX");
	umask(022);
	return mkdtemp(base) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	return st.st_mode & 07777;
}

static void
test_makes_chain_with_modes(void **state)
{
	char path[256], mid[256], err[256];

	(void)state;
	snprintf(mid, sizeof(mid), "%s/a/b", base);
	snprintf(path, sizeof(path), "%s/a/b/c", base);
	assert_int_equal(mkpath(path, 0755, 0700, err, sizeof(err)), 0);
	assert_int_equal(mode_of(mid), 0755);
	assert_int_equal(mode_of(path), 0700);
	/* Again: everything exists, nothing changes. */
	assert_int_equal(mkpath(path, 0700, 0755, err, sizeof(err)), 0);
	assert_int_equal(mode_of(mid), 0755);
	assert_int_equal(mode_of(path), 0700);
}

static void
test_parents_only(void **state)
{
	char file[256], dir[256], err[256];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/x/y", base);
	snprintf(file, sizeof(file), "%s/x/y/routes.map", base);
	assert_int_equal(mkpath_parents(file, 0755, err, sizeof(err)), 0);
	assert_int_equal(mode_of(dir), 0755);
	assert_int_equal(access(file, F_OK), -1);
}

static void
test_too_long_is_an_error(void **state)
{
	static char path[PATH_MAX + 16];
	char err[256] = "";

	(void)state;
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(mkpath(path, 0755, 0700, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "path too long"));
	err[0] = '\0';
	assert_int_equal(mkpath_parents(path, 0755, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "path too long"));
}

static void
test_failure_names_the_directory(void **state)
{
	char file[256], path[256], err[256] = "";
	FILE *f;

	(void)state;
	snprintf(file, sizeof(file), "%s/plain", base);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/plain/sub/dir", base);
	assert_int_equal(mkpath(path, 0755, 0700, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "plain/sub"));
	assert_int_equal(mkpath(path, 0755, 0700, NULL, 0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_makes_chain_with_modes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_parents_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_long_is_an_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failure_names_the_directory, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
