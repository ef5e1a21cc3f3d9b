/*
 * criu_kdat — CRIU's kernel-feature cache on hosts whose /run is not tmpfs.
 *
 * Every CRIU run (each restore) first probes what the kernel can do
 * ("kerndat": userfaultfd, memfd, pagemap, namespaces, ...) unless it finds
 * those results in /run/criu.kdat. CRIU writes that cache only when /run is
 * a tmpfs, so that a reboot (maybe into another kernel) drops it; on a host
 * whose /run is an ordinary directory every restore probes again.
 *
 * demux writes the cache itself there: a child in a mount namespace of its
 * own mounts a tmpfs on /run, lets `criu check` write the cache into it, and
 * copies it to the real /run through a file it opened before. The boot id
 * is stored next to it (/run/demux-criu-kdat.boot), and a cache of another
 * boot is written again, which gives what the tmpfs gives: no cache
 * outlives the kernel it describes. CRIU itself rejects a cache written by
 * another CRIU version.
 */
#include "criu_kdat.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errf.h"
#include "log.h"

#define KDAT_PATH "/run/criu.kdat"
#define KDAT_TMP "/run/criu.kdat.demux-tmp"
#define BOOT_STAMP "/run/demux-criu-kdat.boot"
#define BOOT_ID "/proc/sys/kernel/random/boot_id"
#define KDAT_MAX 65536

static int
read_small(const char *path, char *out, size_t outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd == -1)
		return -1;
	n = read(fd, out, outlen - 1);
	close(fd);
	if (n < 0)
		return -1;
	out[n] = '\0';
	return 0;
}

/* In the child: the cache CRIU writes into a private tmpfs /run, copied to
 * out_fd (the real /run's temporary file). Returns the exit status. */
static int
child_write_cache(int out_fd)
{
	char *argv[] = {"criu", "check", NULL};
	char data[KDAT_MAX];
	int fd, status, devnull;
	ssize_t n;
	pid_t pid;

	if (unshare(CLONE_NEWNS) == -1 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755") == -1)
		return 10;
	pid = fork();
	if (pid == -1)
		return 11;
	if (pid == 0) {
		devnull = open("/dev/null", O_RDWR);
		if (devnull != -1) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDOUT_FILENO);
			dup2(devnull, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return 12;
	/* criu check fails on kernels missing optional features and still
	 * writes the cache: only the file counts. */
	fd = open(KDAT_PATH, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return 13;
	n = read(fd, data, sizeof(data));
	close(fd);
	if (n <= 0 || write(out_fd, data, (size_t)n) != n || fsync(out_fd) == -1)
		return 14;
	return 0;
}

int
criu_kdat_ensure(char *err, size_t errlen)
{
	struct statfs fs;
	struct stat st;
	char boot[64], stamp[64];
	int fd = -1, status, ret = -1;
	pid_t pid;

	if (statfs("/run", &fs) == 0 && fs.f_type == TMPFS_MAGIC)
		return 0; /* CRIU keeps its cache itself */
	if (read_small(BOOT_ID, boot, sizeof(boot)) == -1)
		return errf(err, errlen, "%s: %s", BOOT_ID, strerror(errno));
	if (read_small(BOOT_STAMP, stamp, sizeof(stamp)) == 0 && strcmp(stamp, boot) == 0 &&
	    stat(KDAT_PATH, &st) == 0 && st.st_size > 0)
		return 0;
	unlink(KDAT_TMP);
	fd = open(KDAT_TMP, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1)
		return errf(err, errlen, "%s: %s", KDAT_TMP, strerror(errno));
	pid = fork();
	if (pid == -1) {
		errf(err, errlen, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		_exit(child_write_cache(fd));
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			errf(err, errlen, "waiting for the kdat child: %s", strerror(errno));
			goto out;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		errf(err, errlen,
		     "could not have criu write its kernel-feature cache (step %d): CRIU probes "
		     "the kernel at every restore",
		     WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		goto out;
	}
	if (rename(KDAT_TMP, KDAT_PATH) == -1) {
		errf(err, errlen, "rename to %s: %s", KDAT_PATH, strerror(errno));
		goto out;
	}
	close(fd);
	fd = open(BOOT_STAMP ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1 || write(fd, boot, strlen(boot)) != (ssize_t)strlen(boot) ||
	    rename(BOOT_STAMP ".tmp", BOOT_STAMP) == -1) {
		errf(err, errlen, "%s: %s", BOOT_STAMP, strerror(errno));
		unlink(KDAT_PATH);
		goto out;
	}
	log_info("criu: kernel-feature cache written to %s (/run is not a tmpfs)", KDAT_PATH);
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	unlink(KDAT_TMP);
	return ret;
}
