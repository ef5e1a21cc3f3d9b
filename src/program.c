/*
 * program — runs a helper program (mkfs.btrfs, mount, tar) and turns its
 * failure into one line: the command, its exit status and the last line it
 * printed, which is where such tools put the reason.
 */
#include "program.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errf.h"

#define CMD_OUTPUT_MAX 2048

extern char **environ;

int
program_run(char *const argv[], char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	char out[CMD_OUTPUT_MAX], *last;
	size_t used = 0;
	ssize_t r;
	int fds[2], rc, status, ret = -1;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) == -1)
		return errf(err, errlen, "pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		return errf(err, errlen, "cannot run %s: %s", argv[0], strerror(rc));
	}
	for (;;) {
		char chunk[512];

		r = read(fds[0], chunk, sizeof(chunk));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		/* keep the end: the reason of a failure is on the last lines */
		if (used + (size_t)r >= sizeof(out)) {
			size_t drop = used + (size_t)r - (sizeof(out) - 1);

			if (drop > used)
				drop = used;
			memmove(out, out + drop, used - drop);
			used -= drop;
		}
		if ((size_t)r > sizeof(out) - 1 - used)
			r = (ssize_t)(sizeof(out) - 1 - used);
		memcpy(out + used, chunk, (size_t)r);
		used += (size_t)r;
	}
	close(fds[0]);
	out[used] = '\0';
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return errf(err, errlen, "waiting for %s: %s", argv[0], strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		ret = 0;
	} else {
		while (used > 0 && (out[used - 1] == '\n' || out[used - 1] == ' '))
			out[--used] = '\0';
		last = strrchr(out, '\n');
		last = last != NULL ? last + 1 : out;
		errf(err, errlen, "%s failed (%s %d)%s%s", argv[0],
		     WIFEXITED(status) ? "exit status" : "signal",
		     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
		     last[0] != '\0' ? ": " : "", last);
	}
	return ret;
}
