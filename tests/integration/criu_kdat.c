/*
 * Integration test of criu_kdat on this machine's real CRIU: the cache is
 * written when /run is not a tmpfs, CRIU loads it, it is kept within a
 * boot and written again for another one. Skipped where /run is a tmpfs
 * (CRIU keeps its cache itself there). The machine's own cache and stamp
 * are put back at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "buf.h"
#include "criu_kdat.h"

#define KDAT "/run/criu.kdat"
#define STAMP "/run/demux-criu-kdat.boot"

static void
save(const char *path)
{
	char to[128];

	snprintf(to, sizeof(to), "%s.test-saved", path);
	rename(path, to);
}

static void
restore_saved(const char *path)
{
	char from[128];

	snprintf(from, sizeof(from), "%s.test-saved", path);
	if (rename(from, path) == -1)
		unlink(path);
}

static void
test_cache(void **state)
{
	struct statfs fs;
	struct stat st, st2;
	struct buf stamp, boot, log;
	char err[512];
	int rc;

	(void)state;
	if (statfs("/run", &fs) == 0 && fs.f_type == TMPFS_MAGIC)
		skip();
	if (geteuid() != 0 || system("command -v criu >/dev/null") != 0)
		skip();
	save(KDAT);
	save(STAMP);
	rc = criu_kdat_ensure(err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "# %s\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(stat(KDAT, &st), 0);
	assert_true(st.st_size > 0);
	assert_int_equal(buf_read_file(STAMP, 128, &stamp, err, sizeof(err)), 0);
	assert_int_equal(
	    buf_read_file("/proc/sys/kernel/random/boot_id", 128, &boot, err, sizeof(err)), 0);
	assert_string_equal(buf_str(&stamp), buf_str(&boot));
	/* CRIU loads it. */
	assert_int_equal(system("criu check -v4 -o /tmp/demux-kdat-test.log >/dev/null 2>&1; true"),
			 0);
	assert_int_equal(buf_read_file("/tmp/demux-kdat-test.log", 1 << 22, &log, err, sizeof(err)),
			 0);
	assert_non_null(strstr(buf_str(&log), "Loaded kdat cache from " KDAT));
	unlink("/tmp/demux-kdat-test.log");
	/* Within a boot it is kept as it is. */
	assert_int_equal(criu_kdat_ensure(err, sizeof(err)), 0);
	assert_int_equal(stat(KDAT, &st2), 0);
	assert_int_equal(st2.st_ino, st.st_ino);
	/* Another boot's cache is written again. */
	assert_int_equal(system("echo 00000000-0000-0000-0000-000000000000 > " STAMP), 0);
	assert_int_equal(criu_kdat_ensure(err, sizeof(err)), 0);
	assert_int_equal(stat(KDAT, &st2), 0);
	assert_int_not_equal(st2.st_ino, st.st_ino);
	buf_free(&stamp);
	buf_free(&log);
	restore_saved(KDAT);
	restore_saved(STAMP);
	buf_free(&boot);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cache),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
