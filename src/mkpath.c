/*
 * mkpath — creates directory chains one component at a time (see mkpath.h).
 */
#include "mkpath.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "errf.h"

static int
make_dir(const char *dir, mode_t mode, char *err, size_t errlen)
{
	if (mkdir(dir, mode) == -1 && errno != EEXIST)
		return errf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
	return 0;
}

/* Makes every directory above the last component of path (copied into tmp). */
static int
make_parents(char tmp[PATH_MAX], const char *path, mode_t mode, char *err, size_t errlen)
{
	size_t n = strlen(path);

	if (n == 0)
		return errf(err, errlen, "mkdir: empty path");
	if (n >= PATH_MAX)
		return errf(err, errlen, "path too long (%zu bytes, at most %d): %.80s...", n,
			    PATH_MAX - 1, path);
	memcpy(tmp, path, n + 1);
	for (char *s = tmp + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (make_dir(tmp, mode, err, errlen) == -1)
			return -1;
		*s = '/';
	}
	return 0;
}

int
mkpath(const char *path, mode_t parent_mode, mode_t mode, char *err, size_t errlen)
{
	char tmp[PATH_MAX];

	if (make_parents(tmp, path, parent_mode, err, errlen) == -1)
		return -1;
	return make_dir(tmp, mode, err, errlen);
}

int
mkpath_parents(const char *path, mode_t mode, char *err, size_t errlen)
{
	char tmp[PATH_MAX];

	return make_parents(tmp, path, mode, err, errlen);
}
