/*
 * Unit tests for storage: the store's paths, the storage.conf Podman reads,
 * and the verdict on whether a Podman store can bound a copy's writes. The
 * store itself (mkfs, loop mount, quota ioctl) runs in the integration tests
 * (tests/run sets it up for every one of them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "container/podman.h"
#include "storage.h"

static void
test_paths(void **state)
{
	struct storage_paths sp;
	char err[256];

	(void)state;
	unsetenv("DEMUX_STORAGE_DIR");
	assert_int_equal(storage_paths(NULL, &sp, err, sizeof(err)), 0);
	assert_string_equal(sp.dir, STORAGE_DEFAULT_DIR);
	assert_string_equal(sp.image, STORAGE_DEFAULT_DIR "/btrfs.img");
	assert_string_equal(sp.graph, STORAGE_DEFAULT_DIR "/graph");
	assert_string_equal(sp.conf, STORAGE_DEFAULT_DIR "/storage.conf");
	/* runroot on /run (tmpfs): Podman's run-time state must not outlive a boot */
	assert_string_equal(sp.runroot, "/run/demux" STORAGE_DEFAULT_DIR);

	setenv("DEMUX_STORAGE_DIR", "/srv/demux-store//", 1);
	assert_int_equal(storage_paths(NULL, &sp, err, sizeof(err)), 0);
	assert_string_equal(sp.graph, "/srv/demux-store/graph");
	assert_int_equal(storage_paths("/data/s", &sp, err, sizeof(err)), 0);
	assert_string_equal(sp.conf, "/data/s/storage.conf");
	unsetenv("DEMUX_STORAGE_DIR");

	assert_int_equal(storage_paths("relative/dir", &sp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "absolute"));
	assert_int_equal(storage_paths("/a\"b", &sp, err, sizeof(err)), -1);
	assert_int_equal(storage_paths("///", &sp, err, sizeof(err)), -1);
}

static void
test_conf_text(void **state)
{
	struct storage_paths sp;
	char err[256], *text;

	(void)state;
	assert_int_equal(storage_paths("/var/lib/demux/storage", &sp, err, sizeof(err)), 0);
	storage_conf_text(&sp, &text);
	assert_non_null(strstr(text, "[storage]\n"));
	assert_non_null(strstr(text, "\ndriver = \"btrfs\"\n"));
	assert_non_null(strstr(text, "\ngraphroot = \"/var/lib/demux/storage/graph\"\n"));
	assert_non_null(strstr(text, "\nrunroot = \"/run/demux/var/lib/demux/storage\"\n"));
	free(text);
}

static void
test_limit_supported(void **state)
{
	char warn[512], err[1024];

	(void)state;
	/* Podman's default store on ext4: refused, with how to set up demux's. */
	assert_int_equal(storage_limit_supported("overlay", "/var/lib/containers/storage",
						 STORAGE_QUOTA_NONE, warn, sizeof(warn), err,
						 sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "driver overlay"));
	assert_non_null(strstr(err, "demux storage setup"));
	assert_non_null(strstr(err, "CONTAINERS_STORAGE_CONF="));
	assert_non_null(strstr(err, "--disk 0"));
	/* btrfs without quotas: Podman would turn on ones that count the image. */
	assert_int_equal(storage_limit_supported("btrfs", "/mnt/x", STORAGE_QUOTA_NONE, warn,
						 sizeof(warn), err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "quotas are off"));
	/* Regular quotas work, with a warning that the image counts too. */
	assert_int_equal(storage_limit_supported("btrfs", "/mnt/x", STORAGE_QUOTA_FULL, warn,
						 sizeof(warn), err, sizeof(err)),
			 0);
	assert_non_null(strstr(warn, "counts against --disk"));
	assert_int_equal(storage_limit_supported("btrfs", "/mnt/x", STORAGE_QUOTA_SIMPLE, warn,
						 sizeof(warn), err, sizeof(err)),
			 0);
	assert_string_equal(warn, "");
	assert_int_equal(storage_limit_supported(NULL, NULL, STORAGE_QUOTA_NONE, warn, sizeof(warn),
						 err, sizeof(err)),
			 -1);
}

/* A path outside any btrfs has no quotas, which is not an error. */
static void
test_quota_mode_elsewhere(void **state)
{
	enum storage_quota q = STORAGE_QUOTA_SIMPLE;
	char err[256];

	(void)state;
	assert_int_equal(storage_quota_mode("/proc", &q, err, sizeof(err)), 0);
	assert_int_equal(q, STORAGE_QUOTA_NONE);
	assert_false(storage_mounted("/proc/self"));
	assert_int_equal(storage_quota_mode("/nonexistent/x", &q, err, sizeof(err)), -1);
}

/* The part of Podman's /info answer demux reads. */
static void
test_parse_store(void **state)
{
	struct podman_store st;
	char err[256];

	(void)state;
	assert_int_equal(
	    podman_parse_store("{\"host\":{\"arch\":\"amd64\"},\"store\":{\"configFile\":"
			       "\"/var/lib/demux/storage/storage.conf\",\"graphDriverName\":"
			       "\"btrfs\",\"graphRoot\":\"/var/lib/demux/storage/graph\"}}",
			       &st, err, sizeof(err)),
	    0);
	assert_string_equal(st.driver, "btrfs");
	assert_string_equal(st.graph_root, "/var/lib/demux/storage/graph");
	assert_int_equal(podman_parse_store("{\"host\":{}}", &st, err, sizeof(err)), -1);
	assert_int_equal(podman_parse_store("not json", &st, err, sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paths),	    cmocka_unit_test(test_conf_text),
	    cmocka_unit_test(test_limit_supported), cmocka_unit_test(test_quota_mode_elsewhere),
	    cmocka_unit_test(test_parse_store),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
