/*
 * storage — demux's btrfs container store with simple quotas (see storage.h).
 *
 * Formatting and loop-mounting are left to mkfs.btrfs and mount(8); the
 * quota switch is one ioctl, because Debian 12's btrfs-progs (6.2) cannot ask
 * for simple quotas ("btrfs quota enable --simple" came in 6.7).
 */
#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "errf.h"
#include "log.h"
#include "mkpath.h"
#include "program.h"
#include "xmalloc.h"

/* linux/btrfs.h of older kernels lacks it; the ioctl knows it since 6.7. */
#ifndef BTRFS_QUOTA_CTL_ENABLE_SIMPLE_QUOTA
#define BTRFS_QUOTA_CTL_ENABLE_SIMPLE_QUOTA 4
#endif

const char *
storage_quota_name(enum storage_quota q)
{
	switch (q) {
	case STORAGE_QUOTA_SIMPLE:
		return "simple quotas";
	case STORAGE_QUOTA_FULL:
		return "regular quotas";
	default:
		return "no quotas";
	}
}

static int
join(char *out, size_t outlen, const char *a, const char *b, char *err, size_t errlen)
{
	int n = snprintf(out, outlen, "%s%s", a, b);

	if (n < 0 || (size_t)n >= outlen)
		return errf(err, errlen, "path too long: %s%s", a, b);
	return 0;
}

int
storage_paths(const char *dir, struct storage_paths *out, char *err, size_t errlen)
{
	size_t n;

	memset(out, 0, sizeof(*out));
	if (dir == NULL || dir[0] == '\0')
		dir = getenv("DEMUX_STORAGE_DIR");
	if (dir == NULL || dir[0] == '\0')
		dir = STORAGE_DEFAULT_DIR;
	if (dir[0] != '/')
		return errf(err, errlen, "storage directory '%s' is not an absolute path", dir);
	/* The paths go into storage.conf between double quotes. */
	if (strpbrk(dir, "\"\\\n") != NULL)
		return errf(err, errlen,
			    "storage directory '%s' holds a quote, backslash or newline", dir);
	if (join(out->dir, sizeof(out->dir), dir, "", err, errlen) == -1)
		return -1;
	n = strlen(out->dir);
	while (n > 1 && out->dir[n - 1] == '/')
		out->dir[--n] = '\0';
	if (n <= 1)
		return errf(err, errlen, "storage directory cannot be /");
	if (join(out->image, sizeof(out->image), out->dir, "/btrfs.img", err, errlen) == -1 ||
	    join(out->graph, sizeof(out->graph), out->dir, "/graph", err, errlen) == -1 ||
	    join(out->conf, sizeof(out->conf), out->dir, "/storage.conf", err, errlen) == -1 ||
	    join(out->runroot, sizeof(out->runroot), "/run/demux", out->dir, err, errlen) == -1)
		return -1;
	return 0;
}

void
storage_conf_text(const struct storage_paths *sp, char **text)
{
	size_t len = 512 + strlen(sp->graph) + strlen(sp->runroot);

	*text = xmalloc(len);
	snprintf(*text, len,
		 "# Written by \"demux storage setup\": demux's container store, a loop-mounted\n"
		 "# btrfs with simple quotas so that each demo copy's writes are bounded.\n"
		 "# Podman uses it when CONTAINERS_STORAGE_CONF names this file.\n"
		 "[storage]\n"
		 "driver = \"btrfs\"\n"
		 "graphroot = \"%s\"\n"
		 "runroot = \"%s\"\n",
		 sp->graph, sp->runroot);
}

/* 1 when path is the root of a mounted btrfs, 2 of something else mounted,
 * 0 when nothing is mounted there (or it does not exist). */
static int
mount_state(const char *path)
{
	char parent[STORAGE_PATH + 4];
	struct stat st, pst;
	struct statfs fs;

	snprintf(parent, sizeof(parent), "%s/..", path);
	if (stat(path, &st) == -1 || stat(parent, &pst) == -1)
		return 0;
	if (st.st_dev == pst.st_dev)
		return 0;
	if (statfs(path, &fs) == -1 || fs.f_type != (__typeof__(fs.f_type))BTRFS_SUPER_MAGIC)
		return 2;
	return 1;
}

bool
storage_mounted(const char *path)
{
	return mount_state(path) == 1;
}

int
storage_quota_mode(const char *path, enum storage_quota *out, char *err, size_t errlen)
{
	struct btrfs_ioctl_fs_info_args info;
	const unsigned char *u = info.fsid;
	char sys[160], mode[32] = "";
	struct statfs fs;
	struct stat st;
	FILE *f;
	int fd, ret = -1;

	*out = STORAGE_QUOTA_NONE;
	if (statfs(path, &fs) == -1)
		return errf(err, errlen, "%s: %s", path, strerror(errno));
	if (fs.f_type != (__typeof__(fs.f_type))BTRFS_SUPER_MAGIC)
		return 0;
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return errf(err, errlen, "open %s: %s", path, strerror(errno));
	memset(&info, 0, sizeof(info));
	if (ioctl(fd, BTRFS_IOC_FS_INFO, &info) == -1) {
		errf(err, errlen, "btrfs file system info of %s: %s", path, strerror(errno));
		goto out;
	}
	snprintf(sys, sizeof(sys),
		 "/sys/fs/btrfs/%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x/qgroups",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
	ret = 0;
	if (stat(sys, &st) == -1)
		goto out; /* no qgroups directory: quotas are off */
	*out = STORAGE_QUOTA_FULL;
	strncat(sys, "/mode", sizeof(sys) - strlen(sys) - 1);
	if ((f = fopen(sys, "re")) != NULL) {
		if (fgets(mode, sizeof(mode), f) != NULL && strncmp(mode, "squota", 6) == 0)
			*out = STORAGE_QUOTA_SIMPLE;
		fclose(f);
	}
out:
	close(fd);
	return ret;
}

static int
quota_ctl(const char *path, unsigned long long cmd, char *err, size_t errlen)
{
	struct btrfs_ioctl_quota_ctl_args args = {.cmd = cmd};
	int fd, rc, saved;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return errf(err, errlen, "open %s: %s", path, strerror(errno));
	rc = ioctl(fd, BTRFS_IOC_QUOTA_CTL, &args);
	saved = errno;
	close(fd);
	if (rc == -1)
		return errf(err, errlen, "%s", strerror(saved));
	return 0;
}

/* Simple quotas, else (a kernel before 6.7) regular ones with a warning. */
static int
enable_quotas(const char *graph, char *err, size_t errlen)
{
	char why[256];

	if (quota_ctl(graph, BTRFS_QUOTA_CTL_ENABLE_SIMPLE_QUOTA, why, sizeof(why)) == 0)
		return 0;
	log_warnx("storage: simple quotas refused on %s (%s; they need Linux >= 6.7): enabling "
		  "regular quotas, under which the image every copy shares counts against each "
		  "copy's --disk bound",
		  graph, why);
	if (quota_ctl(graph, BTRFS_QUOTA_CTL_ENABLE, why, sizeof(why)) == -1)
		return errf(err, errlen, "enabling btrfs quotas on %s: %s", graph, why);
	return 0;
}

static int
make_image(const char *image, long long size_bytes, char *err, size_t errlen)
{
	char *mkfs[] = {"mkfs.btrfs", "-q", (char *)image, NULL};
	int fd;

	fd = open(image, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1)
		return errf(err, errlen, "create %s: %s", image, strerror(errno));
	if (ftruncate(fd, (off_t)size_bytes) == -1) {
		errf(err, errlen, "size %s to %lld bytes: %s", image, size_bytes, strerror(errno));
		close(fd);
		unlink(image);
		return -1;
	}
	close(fd);
	if (program_run(mkfs, err, errlen) == -1) {
		unlink(image);
		return -1;
	}
	log_info("storage: formatted %s (%lld bytes, sparse)", image, size_bytes);
	return 0;
}

/* Writes storage.conf when its content differs (temporary file, rename). */
static int
write_conf(const struct storage_paths *sp, char *err, size_t errlen)
{
	char *text, old[2048], tmp[STORAGE_PATH + 8];
	size_t n = 0;
	FILE *f;
	int ret = -1;

	storage_conf_text(sp, &text);
	if ((f = fopen(sp->conf, "re")) != NULL) {
		n = fread(old, 1, sizeof(old) - 1, f);
		fclose(f);
		old[n] = '\0';
		if (strcmp(old, text) == 0) {
			ret = 0;
			goto out;
		}
	}
	snprintf(tmp, sizeof(tmp), "%s.new", sp->conf);
	if ((f = fopen(tmp, "we")) == NULL) {
		errf(err, errlen, "create %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fputs(text, f) == EOF || fclose(f) == EOF) {
		errf(err, errlen, "write %s: %s", tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (chmod(tmp, 0644) == -1 || rename(tmp, sp->conf) == -1) {
		errf(err, errlen, "install %s: %s", sp->conf, strerror(errno));
		unlink(tmp);
		goto out;
	}
	ret = 0;
out:
	free(text);
	return ret;
}

int
storage_setup(const struct storage_paths *sp, long long size_bytes, enum storage_quota *quota,
	      char *err, size_t errlen)
{
	char *mount_cmd[] = {"mount", "-o", "loop", (char *)sp->image, (char *)sp->graph, NULL};
	struct stat st;

	*quota = STORAGE_QUOTA_NONE;
	if (mkpath(sp->dir, 0755, 0700, err, errlen) == -1)
		return -1;
	if (stat(sp->image, &st) == -1) {
		if (errno != ENOENT)
			return errf(err, errlen, "%s: %s", sp->image, strerror(errno));
		if (mount_state(sp->graph) != 0)
			return errf(err, errlen, "%s is mounted but its image %s is gone",
				    sp->graph, sp->image);
		if (make_image(sp->image, size_bytes, err, errlen) == -1)
			return -1;
	}
	if (mkdir(sp->graph, 0700) == -1 && errno != EEXIST)
		return errf(err, errlen, "mkdir %s: %s", sp->graph, strerror(errno));
	switch (mount_state(sp->graph)) {
	case 2:
		return errf(err, errlen, "%s is a mount point, but not of a btrfs file system",
			    sp->graph);
	case 0:
		if (program_run(mount_cmd, err, errlen) == -1)
			return -1;
		if (mount_state(sp->graph) != 1)
			return errf(err, errlen, "mount -o loop %s %s did not mount a btrfs",
				    sp->image, sp->graph);
		log_info("storage: mounted %s on %s", sp->image, sp->graph);
		break;
	default:
		break;
	}
	if (storage_quota_mode(sp->graph, quota, err, errlen) == -1)
		return -1;
	if (*quota == STORAGE_QUOTA_NONE) {
		if (enable_quotas(sp->graph, err, errlen) == -1 ||
		    storage_quota_mode(sp->graph, quota, err, errlen) == -1)
			return -1;
		if (*quota == STORAGE_QUOTA_NONE)
			return errf(err, errlen, "quotas still off on %s after enabling them",
				    sp->graph);
	}
	return write_conf(sp, err, errlen);
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int
storage_teardown(const struct storage_paths *sp, bool purge, char *err, size_t errlen)
{
	if (mount_state(sp->graph) != 0 && umount2(sp->graph, 0) == -1) {
		if (errno == EBUSY)
			return errf(err, errlen,
				    "%s is in use (a container or a Podman service of this store "
				    "runs): stop them first",
				    sp->graph);
		return errf(err, errlen, "umount %s: %s", sp->graph, strerror(errno));
	}
	if (!purge)
		return 0;
	if ((unlink(sp->image) == -1 && errno != ENOENT) ||
	    (unlink(sp->conf) == -1 && errno != ENOENT) ||
	    (rmdir(sp->graph) == -1 && errno != ENOENT))
		return errf(err, errlen, "removing the store in %s: %s", sp->dir, strerror(errno));
	if (nftw(sp->runroot, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) == -1 &&
	    errno != ENOENT)
		return errf(err, errlen, "removing %s: %s", sp->runroot, strerror(errno));
	if (rmdir(sp->dir) == -1 && errno != ENOENT && errno != ENOTEMPTY)
		return errf(err, errlen, "rmdir %s: %s", sp->dir, strerror(errno));
	return 0;
}

int
storage_limit_supported(const char *driver, const char *graph_root, enum storage_quota quota,
			char *warn, size_t warnlen, char *err, size_t errlen)
{
	static const char how[] =
	    "set it up with 'demux storage setup' and run Podman's service with "
	    "CONTAINERS_STORAGE_CONF=" STORAGE_DEFAULT_DIR "/storage.conf (docs/STORAGE.md), "
	    "or pass --disk 0 to make copies whose writes are not bounded";

	if (warnlen > 0)
		warn[0] = '\0';
	if (driver == NULL || strcmp(driver, "btrfs") != 0)
		return errf(
		    err, errlen,
		    "Podman's store (driver %s, %s) cannot bound a copy's disk use; demux's "
		    "own store can: %s",
		    driver != NULL && driver[0] != '\0' ? driver : "unknown",
		    graph_root != NULL ? graph_root : "?", how);
	if (quota == STORAGE_QUOTA_NONE)
		return errf(err, errlen,
			    "quotas are off on the btrfs file system of Podman's store (%s), so a "
			    "copy's disk use cannot be bounded: %s",
			    graph_root != NULL ? graph_root : "?", how);
	if (quota == STORAGE_QUOTA_FULL)
		snprintf(warn, warnlen,
			 "Podman's store (%s) has regular btrfs quotas, not simple ones: the image "
			 "each copy shares counts against --disk too (simple quotas need Linux >= "
			 "6.7 and a store made by 'demux storage setup')",
			 graph_root != NULL ? graph_root : "?");
	return 0;
}
