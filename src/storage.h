/*
 * storage — demux's own container store, where every demo copy's writes are
 * bounded.
 *
 * A visitor is root inside a copy; with Podman's default overlay store on the
 * host's ext4 root, a copy could fill the host's disk. Podman bounds a
 * container's writable layer ("storage_opts": {"size": ...}) only on XFS with
 * project quotas or on btrfs with quotas. demux therefore keeps its own store:
 * a sparse file formatted as btrfs, loop-mounted, with btrfs "simple quotas"
 * (squota, Linux >= 6.7: only a container's own writes count, not the image
 * it shares with the others), and a storage.conf that Podman reads when
 * CONTAINERS_STORAGE_CONF names it. Every Podman demux uses (its REST service,
 * the scripts' podman commands) runs with that variable.
 *
 * Layout under dir (default STORAGE_DEFAULT_DIR):
 *   btrfs.img     the file system image (sparse)
 *   graph/        its mount point, Podman's graphroot
 *   storage.conf  driver "btrfs", graphroot dir/graph, runroot /run/demux<dir>
 *
 * storage_setup is idempotent and is run again after a reboot (the loop mount
 * does not survive one); storage_teardown unmounts and, with purge, deletes.
 * template_create calls storage_check_limit before it asks for a disk limit.
 */
#ifndef DEMUX_STORAGE_H
#define DEMUX_STORAGE_H

#include <stdbool.h>
#include <stddef.h>

#define STORAGE_DEFAULT_DIR "/var/lib/demux/storage"
#define STORAGE_DEFAULT_SIZE (32LL * 1024 * 1024 * 1024)
#define STORAGE_PATH 1024

/* How a btrfs file system accounts space; STORAGE_QUOTA_NONE also for a
 * path that is not on btrfs. */
enum storage_quota {
	STORAGE_QUOTA_NONE,
	STORAGE_QUOTA_FULL,   /* regular qgroups: shared image extents count too */
	STORAGE_QUOTA_SIMPLE, /* squota: only what a container writes itself */
};

struct storage_paths {
	char dir[STORAGE_PATH];
	char image[STORAGE_PATH];
	char graph[STORAGE_PATH];
	char conf[STORAGE_PATH];
	char runroot[STORAGE_PATH];
};

/* The paths of the store in dir (NULL = $DEMUX_STORAGE_DIR, else the
 * default). dir must be absolute. 0 or -1 with the reason in err. */
int storage_paths(const char *dir, struct storage_paths *out, char *err, size_t errlen);

/* The storage.conf text for paths; *text is malloc'ed, caller frees. */
void storage_conf_text(const struct storage_paths *sp, char **text);

/*
 * Makes the store ready: creates the sparse image of size_bytes and formats it
 * (mkfs.btrfs) when missing, mounts it on graph when not mounted, enables
 * simple quotas when quotas are off (regular qgroups, with a warning, on a
 * kernel without squota), and writes storage.conf when it differs. *quota
 * gets the resulting accounting mode. 0 or -1 with the reason in err.
 */
int storage_setup(const struct storage_paths *sp, long long size_bytes, enum storage_quota *quota,
		  char *err, size_t errlen);

/* Unmounts the store (an error when something still uses it); with purge
 * also deletes the image, storage.conf, the runroot and the directory. */
int storage_teardown(const struct storage_paths *sp, bool purge, char *err, size_t errlen);

/* Whether path is the root of a mounted btrfs file system. */
bool storage_mounted(const char *path);

/* The quota mode of the btrfs file system holding path (read from
 * /sys/fs/btrfs/<fsid>/qgroups/mode). 0 or -1 with the reason in err. */
int storage_quota_mode(const char *path, enum storage_quota *out, char *err, size_t errlen);

const char *storage_quota_name(enum storage_quota q);

/*
 * Whether a Podman store (its graph driver and, for btrfs, the quota mode of
 * its graphroot) can bound each container's writes. 0 when it can (a warning
 * in warn, "" otherwise, when the shared image counts against the bound);
 * -1 with an error in err that says how to set up demux's store.
 */
int storage_limit_supported(const char *driver, const char *graph_root, enum storage_quota quota,
			    char *warn, size_t warnlen, char *err, size_t errlen);

#endif
