/*
 * template_version — the versions of one template on disk
 * (template_version.h). The small files (current, failed) are written to a
 * temporary name and renamed, so a reader sees the old or the new content.
 */
#include "template_version.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "errf.h"
#include "template.h"
#include "validate.h"

#define CURRENT_FILE "current"
#define FAILED_FILE "failed"
#define VERSIONS_DIR "versions"

int
template_version_dir(const char *state_dir, const char *name, int version, char *out, size_t outlen,
		     char *err, size_t errlen)
{
	int n;

	if (validate_name(name, err, errlen) == -1)
		return -1;
	if (version < 1 || version > TEMPLATE_VERSION_MAX)
		return errf(err, errlen, "template %s: %d is not a version number", name, version);
	if (version == 1)
		n = snprintf(out, outlen, "%s/templates/%s", state_dir, name);
	else
		n = snprintf(out, outlen, "%s/templates/%s/" VERSIONS_DIR "/%d", state_dir, name,
			     version);
	if (n < 0 || (size_t)n >= outlen)
		return errf(err, errlen, "state directory path too long");
	return 0;
}

static bool
has_meta(const char *dir)
{
	char path[TEMPLATE_PATH + 32];
	struct stat st;

	snprintf(path, sizeof(path), "%s/template.json", dir);
	return stat(path, &st) == 0;
}

/* "12" -> 12; -1 for anything but a version number. */
static int
parse_version(const char *s)
{
	long v = 0;

	if (s[0] == '\0' || s[0] == '0')
		return -1;
	for (const char *c = s; *c != '\0' && *c != '\n'; c++) {
		if (!isdigit((unsigned char)*c))
			return -1;
		v = v * 10 + (*c - '0');
		if (v > TEMPLATE_VERSION_MAX)
			return -1;
	}
	return (int)v;
}

static int
int_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int
template_versions(const char *state_dir, const char *name, int *v, int max, int *n, char *err,
		  size_t errlen)
{
	char dir[TEMPLATE_PATH], sub[TEMPLATE_PATH + 32];
	DIR *d;
	struct dirent *e;

	*n = 0;
	if (template_version_dir(state_dir, name, 1, dir, sizeof(dir), err, errlen) == -1)
		return -1;
	if (has_meta(dir) && *n < max)
		v[(*n)++] = 1;
	snprintf(sub, sizeof(sub), "%s/" VERSIONS_DIR, dir);
	d = opendir(sub);
	if (d == NULL) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return errf(err, errlen, "%s: %s", sub, strerror(errno));
	}
	while ((e = readdir(d)) != NULL) {
		int ver = parse_version(e->d_name);
		char vdir[TEMPLATE_PATH];

		if (ver < 2 ||
		    template_version_dir(state_dir, name, ver, vdir, sizeof(vdir), NULL, 0) == -1 ||
		    !has_meta(vdir))
			continue;
		if (*n == max) {
			closedir(d);
			return errf(err, errlen,
				    "template %s has more than %d versions (remove some: demux "
				    "template rm)",
				    name, max);
		}
		v[(*n)++] = ver;
	}
	closedir(d);
	qsort(v, (size_t)*n, sizeof(*v), int_cmp);
	return 0;
}

/* Reads a small file into out (NUL-terminated, trailing newline dropped). */
static int
read_small(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(out, 1, outlen - 1, f);
	fclose(f);
	out[n] = '\0';
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	return 0;
}

/* Writes text + "\n" to path through path.tmp and a rename. */
static int
write_small(const char *path, const char *text, char *err, size_t errlen)
{
	char tmp[TEMPLATE_PATH + 40];
	FILE *f;
	int bad;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return errf(err, errlen, "state directory path too long");
	f = fopen(tmp, "we");
	if (f == NULL)
		return errf(err, errlen, "%s: %s", tmp, strerror(errno));
	bad = fprintf(f, "%s\n", text) < 0;
	bad |= fflush(f) != 0 || fsync(fileno(f)) == -1;
	bad |= fclose(f) != 0;
	if (bad || rename(tmp, path) == -1) {
		int saved = errno;

		unlink(tmp);
		return errf(err, errlen, "write %s: %s", path, strerror(saved));
	}
	return 0;
}

static bool
contains(const int *v, int n, int x)
{
	for (int i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

int
template_current(const char *state_dir, const char *name, int *version, char *err, size_t errlen)
{
	int v[TEMPLATE_MAX_VERSIONS], n, want;
	char dir[TEMPLATE_PATH], path[TEMPLATE_PATH + 32], text[32];

	if (template_versions(state_dir, name, v, TEMPLATE_MAX_VERSIONS, &n, err, errlen) == -1 ||
	    template_version_dir(state_dir, name, 1, dir, sizeof(dir), err, errlen) == -1)
		return -1;
	if (n == 0)
		return errf(err, errlen, "no template '%s' in %s/templates", name, state_dir);
	snprintf(path, sizeof(path), "%s/" CURRENT_FILE, dir);
	want = read_small(path, text, sizeof(text)) == 0 ? parse_version(text) : -1;
	/* No pointer, or one to a version that is gone: the newest. */
	*version = want > 0 && contains(v, n, want) ? want : v[n - 1];
	return 0;
}

int
template_set_current(const char *state_dir, const char *name, int version, char *err, size_t errlen)
{
	char dir[TEMPLATE_PATH], path[TEMPLATE_PATH + 32], text[32];

	if (template_version_dir(state_dir, name, 1, dir, sizeof(dir), err, errlen) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/" CURRENT_FILE, dir);
	snprintf(text, sizeof(text), "%d", version);
	return write_small(path, text, err, errlen);
}

int
template_mark_failed(const char *state_dir, const char *name, int version, const char *reason,
		     char *err, size_t errlen)
{
	char dir[TEMPLATE_PATH], path[TEMPLATE_PATH + 32], line[512];
	size_t i;

	if (template_version_dir(state_dir, name, version, dir, sizeof(dir), err, errlen) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/" FAILED_FILE, dir);
	/* one line of printable text */
	snprintf(line, sizeof(line), "%s", reason[0] != '\0' ? reason : "failed");
	for (i = 0; line[i] != '\0'; i++)
		if ((unsigned char)line[i] < 0x20)
			line[i] = ' ';
	return write_small(path, line, err, errlen);
}

bool
template_version_failed(const char *state_dir, const char *name, int version, char *reason,
			size_t reasonlen)
{
	char dir[TEMPLATE_PATH], path[TEMPLATE_PATH + 32], text[512];

	if (reasonlen > 0)
		reason[0] = '\0';
	if (template_version_dir(state_dir, name, version, dir, sizeof(dir), NULL, 0) == -1)
		return false;
	snprintf(path, sizeof(path), "%s/" FAILED_FILE, dir);
	if (read_small(path, text, sizeof(text)) == -1)
		return false;
	if (reasonlen > 0)
		snprintf(reason, reasonlen, "%s", text[0] != '\0' ? text : "failed");
	return true;
}

/* The newest version in v[0..n) below `below` that is not marked failed; 0 = none. */
static int
newest_good_below(const char *state_dir, const char *name, const int *v, int n, int below)
{
	for (int i = n - 1; i >= 0; i--)
		if (v[i] < below && !template_version_failed(state_dir, name, v[i], NULL, 0))
			return v[i];
	return 0;
}

int
template_pick(const char *state_dir, const char *name, struct template_pick *out, char *err,
	      size_t errlen)
{
	int v[TEMPLATE_MAX_VERSIONS], n;

	memset(out, 0, sizeof(*out));
	if (template_current(state_dir, name, &out->current, err, errlen) == -1 ||
	    template_versions(state_dir, name, v, TEMPLATE_MAX_VERSIONS, &n, err, errlen) == -1)
		return -1;
	out->serving = out->current;
	if (template_version_failed(state_dir, name, out->current, out->failed_reason,
				    sizeof(out->failed_reason))) {
		out->serving = newest_good_below(state_dir, name, v, n, out->current);
		if (out->serving == 0)
			return errf(err, errlen,
				    "template %s: version %d failed (%s) and no earlier version is "
				    "left to serve",
				    name, out->current, out->failed_reason);
	}
	out->fallback = newest_good_below(state_dir, name, v, n, out->serving);
	return 0;
}

int
template_version_remove(const char *state_dir, const char *name, int version, char *err,
			size_t errlen)
{
	char dir[TEMPLATE_PATH];
	int lock, current = 0, ret = -1;

	lock = template_lock(state_dir, name, err, errlen);
	if (lock == -1)
		return errno == EWOULDBLOCK ? 1 : -1;
	if (template_current(state_dir, name, &current, err, errlen) == -1)
		goto out;
	if (version == current) {
		errf(err, errlen, "template %s: version %d is the current one", name, version);
		goto out;
	}
	if (template_version_dir(state_dir, name, version, dir, sizeof(dir), err, errlen) == -1 ||
	    template_version_discard(dir, version > 1, err, errlen) == -1)
		goto out;
	ret = 0;
out:
	close(lock);
	return ret;
}

int
template_rollback(const char *state_dir, const char *name, int *from, int *to, char *err,
		  size_t errlen)
{
	int v[TEMPLATE_MAX_VERSIONS], n, lock, ret = -1;

	if (template_current(state_dir, name, from, err, errlen) == -1)
		return -1;
	lock = template_lock(state_dir, name, err, errlen);
	if (lock == -1) {
		if (errno == EWOULDBLOCK)
			errf(err, errlen,
			     "template '%s' is being created right now; try again after", name);
		return -1;
	}
	if (template_current(state_dir, name, from, err, errlen) == -1 ||
	    template_versions(state_dir, name, v, TEMPLATE_MAX_VERSIONS, &n, err, errlen) == -1)
		goto out;
	*to = newest_good_below(state_dir, name, v, n, *from);
	if (*to == 0) {
		errf(err, errlen,
		     "template %s: no version before %d is left to roll back to (a version is "
		     "removed once the pool no longer needs it)",
		     name, *from);
		goto out;
	}
	ret = template_set_current(state_dir, name, *to, err, errlen);
out:
	close(lock);
	return ret;
}

bool
template_version_unneeded(const struct template_pick *pk, int v, bool serving_proven, bool in_use)
{
	if (in_use || v == pk->current || v == pk->serving)
		return false;
	return !(v == pk->fallback && !serving_proven);
}
