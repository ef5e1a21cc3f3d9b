/*
 * storage_cmd — "demux storage setup|teardown|status": demux's container
 * store by hand and from the scripts (storage.h). setup prints the path of
 * storage.conf on stdout, so a script can write
 *   export CONTAINERS_STORAGE_CONF=$(demux storage setup)
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "storage.h"
#include "template.h"

static int
usage(FILE *out, int rc)
{
	fprintf(out,
		"usage: demux storage setup [--dir DIR] [--size SIZE]\n"
		"       demux storage teardown [--dir DIR] [--purge]\n"
		"       demux storage status [--dir DIR]\n"
		"  setup     make the store ready (idempotent; run it again after a reboot):\n"
		"            a sparse btrfs image of SIZE (default 32g) in DIR, loop-mounted,\n"
		"            with simple quotas, and DIR/storage.conf, whose path it prints\n"
		"  teardown  unmount it (it must be unused); --purge also deletes it\n"
		"  status    say whether it is mounted and with which quotas (exit 1 when\n"
		"            it is not ready)\n"
		"DIR defaults to $DEMUX_STORAGE_DIR, else %s. Podman uses the store\n"
		"when CONTAINERS_STORAGE_CONF=DIR/storage.conf is in its environment.\n",
		STORAGE_DEFAULT_DIR);
	return rc;
}

static int
status(const struct storage_paths *sp)
{
	enum storage_quota q = STORAGE_QUOTA_NONE;
	bool mounted = storage_mounted(sp->graph);
	char err[512];
	struct stat st;

	if (stat(sp->image, &st) == -1) {
		printf("storage: no store in %s (demux storage setup makes it)\n", sp->dir);
		return 1;
	}
	if (mounted && storage_quota_mode(sp->graph, &q, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: storage status: %s\n", err);
		return 1;
	}
	printf("storage: %s: %.1f GB image (%.1f GB allocated), %s, %s\n"
	       "CONTAINERS_STORAGE_CONF=%s\n",
	       sp->dir, (double)st.st_size / (1024.0 * 1024 * 1024),
	       (double)st.st_blocks * 512.0 / (1024.0 * 1024 * 1024),
	       mounted ? "mounted" : "not mounted", storage_quota_name(q), sp->conf);
	return mounted && q != STORAGE_QUOTA_NONE ? 0 : 1;
}

int
cmd_storage(int argc, char **argv)
{
	const char *dir = NULL, *sub;
	long long size = STORAGE_DEFAULT_SIZE;
	bool purge = false;
	struct storage_paths sp;
	enum storage_quota q;
	char err[1024];

	if (argc < 2)
		return usage(stderr, 2);
	sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)
		return usage(stdout, 0);
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
			dir = argv[++i];
		} else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc &&
			   strcmp(sub, "setup") == 0) {
			if (template_parse_bytes(argv[++i], &size) == -1 ||
			    size < 1024LL * 1024 * 1024) {
				fprintf(
				    stderr,
				    "demux: storage: --size '%s' must be a size of at least 1g\n",
				    argv[i]);
				return 2;
			}
		} else if (strcmp(argv[i], "--purge") == 0 && strcmp(sub, "teardown") == 0) {
			purge = true;
		} else {
			return usage(stderr, 2);
		}
	}
	if (storage_paths(dir, &sp, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: storage: %s\n", err);
		return 2;
	}
	if (strcmp(sub, "status") == 0)
		return status(&sp);
	if (strcmp(sub, "setup") == 0) {
		if (storage_setup(&sp, size, &q, err, sizeof(err)) == -1) {
			fprintf(stderr, "demux: storage setup: %s\n", err);
			return 1;
		}
		printf("%s\n", sp.conf);
		return 0;
	}
	if (strcmp(sub, "teardown") == 0) {
		if (storage_teardown(&sp, purge, err, sizeof(err)) == -1) {
			fprintf(stderr, "demux: storage teardown: %s\n", err);
			return 1;
		}
		fprintf(stderr, "storage: %s %s\n", sp.dir, purge ? "removed" : "unmounted");
		return 0;
	}
	return usage(stderr, 2);
}
