/*
 * template_restore — the prepared restore of a template: what a copy needs,
 * laid out once so that each restore does only CRIU's own work.
 *
 * Podman's import of an exported checkpoint receives the whole archive
 * (67 MB for the shop fixture), unpacks it twice (once for the container's
 * configuration, once into the new container's directory) and unpacks the
 * root file system's changes (rootfs-diff.tar, 25 MB) into the new
 * container. Here that work is done once, when the template is made:
 *
 *   - the stopped template container's file system, exactly as it was at
 *     the dump, is committed as an image (TEMPLATE_RESTORE_REPO/<name>); a
 *     copy's root file system is then a snapshot of that image;
 *   - the CRIU images are unpacked into <dir>/restore/checkpoint;
 *   - <dir>/restore/meta holds config.dump (naming that image as the root
 *     file system), spec.dump, network.status, devshm-checkpoint.tar and a
 *     symbolic link "checkpoint" to the unpacked images;
 *   - <dir>/restore.tar is that small directory as an archive (a few KB).
 *
 * A restore imports restore.tar: Podman creates the container on the
 * committed image, unpacks a few KB and hands the linked images to CRIU,
 * which only reads them. config.dump carries no CPU quota (CRIU's restorer
 * runs under it, which made restores several times slower); the pool sets
 * the template's quota on each copy right after its restore. Podman's own import is used unchanged
 * (name, published ports, network, limits, labels come from the same places), so everything a
 * restore of the full archive gives holds for this one too. The full archive stays: it is what a
 * restore falls back to when the prepared one is missing or fails.
 */
#include "template_restore.h"

#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "criu_image.h"
#include "errf.h"
#include "log.h"
#include "program.h"

#define RESTORE_DIR "restore"
#define META_DIR "restore/meta"
#define IMAGES_DIR "restore/checkpoint"
#define RESTORE_ARCHIVE TEMPLATE_RESTORE_ARCHIVE

/* What of the exported archive a restore needs besides the CRIU images. */
static const char *const meta_files[] = {"config.dump", "spec.dump", "network.status",
					 "devshm-checkpoint.tar", NULL};

static int
join(char *out, size_t outlen, const char *dir, const char *name, char *err, size_t errlen)
{
	if (snprintf(out, outlen, "%s/%s", dir, name) >= (int)outlen)
		return errf(err, errlen, "path too long: %s/%s", dir, name);
	return 0;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) == -1 && errno != ENOENT ? -1 : 0;
}

int
template_restore_discard(const char *dir, char *err, size_t errlen)
{
	char path[TEMPLATE_PATH];
	struct stat st;

	if (join(path, sizeof(path), dir, RESTORE_ARCHIVE, err, errlen) == -1)
		return -1;
	if (unlink(path) == -1 && errno != ENOENT)
		return errf(err, errlen, "remove %s: %s", path, strerror(errno));
	if (join(path, sizeof(path), dir, RESTORE_DIR, err, errlen) == -1)
		return -1;
	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : errf(err, errlen, "%s: %s", path, strerror(errno));
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == -1)
		return errf(err, errlen, "remove %s: %s", path, strerror(errno));
	return 0;
}

/* The image name of a template's committed file system: repositories are
 * lower case, template names need not be. */
static void
image_repo(const char *name, char *out, size_t outlen)
{
	size_t n = (size_t)snprintf(out, outlen, "%s/", TEMPLATE_RESTORE_REPO);

	for (size_t i = 0; name[i] != '\0' && n + 1 < outlen; i++)
		out[n++] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
	out[n < outlen ? n : outlen - 1] = '\0';
}

/* Unpacks what a restore reads from the exported archive into <dir>/restore:
 * the CRIU images into checkpoint/, the rest into meta/. */
static int
unpack(const struct template_meta *m, const char *dir, char *err, size_t errlen)
{
	char restore[TEMPLATE_PATH], meta[TEMPLATE_PATH], from[TEMPLATE_PATH], to[TEMPLATE_PATH];
	char *argv[16];
	int argc = 0;

	argv[argc++] = "tar";
	argv[argc++] = "-x";
	argv[argc++] = "-f";
	argv[argc++] = (char *)m->archive_path;
	argv[argc++] = "-C";
	argv[argc++] = restore;
	if (m->compressed)
		argv[argc++] = "--zstd";
	argv[argc++] = "--exclude=rootfs-diff.tar";
	argv[argc++] = "--exclude=deleted.files";
	argv[argc++] = "--exclude=artifacts";
	argv[argc++] = "--exclude=ctr.log";
	argv[argc++] = "--exclude=stats-dump";
	argv[argc] = NULL;

	if (join(restore, sizeof(restore), dir, RESTORE_DIR, err, errlen) == -1 ||
	    join(meta, sizeof(meta), dir, META_DIR, err, errlen) == -1)
		return -1;
	if (mkdir(restore, 0700) == -1 || mkdir(meta, 0700) == -1)
		return errf(err, errlen, "mkdir %s: %s", meta, strerror(errno));
	if (program_run(argv, err, errlen) == -1)
		return -1;
	for (size_t i = 0; meta_files[i] != NULL; i++) {
		if (join(from, sizeof(from), restore, meta_files[i], err, errlen) == -1 ||
		    join(to, sizeof(to), meta, meta_files[i], err, errlen) == -1)
			return -1;
		if (rename(from, to) == -1 && errno != ENOENT)
			return errf(err, errlen, "rename %s: %s", from, strerror(errno));
	}
	if (join(from, sizeof(from), restore, "checkpoint/inventory.img", err, errlen) == -1)
		return -1;
	if (access(from, R_OK) == -1)
		return errf(err, errlen, "the checkpoint archive holds no CRIU images (%s: %s)",
			    from, strerror(errno));
	if (join(from, sizeof(from), meta, "config.dump", err, errlen) == -1)
		return -1;
	if (access(from, R_OK) == -1)
		return errf(err, errlen, "the checkpoint archive holds no config.dump");
	return 0;
}

/* Removes the CPU quota from an OCI spec (linux.resources.cpu). */
static void
drop_cpu_quota(json_t *spec)
{
	json_t *cpu =
	    json_object_get(json_object_get(json_object_get(spec, "linux"), "resources"), "cpu");

	if (json_is_object(cpu)) {
		json_object_del(cpu, "quota");
		json_object_del(cpu, "period");
	}
}

/* Rewrites the JSON file meta/<name> through edit (0 or -1 with err). */
static int
edit_meta_json(const char *dir, const char *name,
	       int (*edit)(json_t *root, const char *path, const void *arg, char *err,
			   size_t errlen),
	       const void *arg, char *err, size_t errlen)
{
	char path[TEMPLATE_PATH], tmp[TEMPLATE_PATH + 8];
	json_error_t jerr;
	json_t *root;
	int ret = -1;

	if (snprintf(path, sizeof(path), "%s/%s/%s", dir, META_DIR, name) >= (int)sizeof(path))
		return errf(err, errlen, "path too long: %s/%s/%s", dir, META_DIR, name);
	root = json_load_file(path, 0, &jerr);
	if (!json_is_object(root)) {
		errf(err, errlen, "%s: %s (line %d)", path, jerr.text, jerr.line);
		goto out;
	}
	if (edit(root, path, arg, err, errlen) == -1)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (json_dump_file(root, tmp, JSON_INDENT(2)) == -1 || rename(tmp, path) == -1) {
		errf(err, errlen, "write %s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

/* spec.dump, the OCI spec Podman gives the restored container: without its
 * CPU quota (see config_at_image). */
static int
spec_without_cpu_quota(json_t *root, const char *path, const void *arg, char *err, size_t errlen)
{
	(void)path;
	(void)arg;
	(void)err;
	(void)errlen;
	drop_cpu_quota(root);
	return 0;
}

struct image_ref {
	const char *image, *id;
};

/* config.dump pointed at the committed image: the new container's root
 * file system is then that image as it was at the dump. */
static int
config_at_image(json_t *root, const char *path, const void *arg, char *err, size_t errlen)
{
	const struct image_ref *ref = arg;

	if (json_object_get(root, "rootfsImageID") == NULL)
		return errf(err, errlen,
			    "%s names no rootfsImageID: not a Podman checkpoint this version of "
			    "demux knows",
			    path);
	json_object_set_new(root, "rootfsImageID", json_string(ref->id));
	json_object_set_new(root, "rootfsImageName", json_string(ref->image));
	/* No CPU quota while CRIU restores: its restorer runs in the copy's
	 * cgroup, and at the template's 0.5 CPU a restore took 1.3 s of CRIU
	 * instead of 0.77 s. The pool puts the limit on right after the
	 * restore, before the copy can be handed out (pool.c). */
	drop_cpu_quota(json_object_get(root, "spec"));
	return 0;
}

/* (Re)writes restore.tar from meta/, with meta/checkpoint linking to this
 * directory's images: the link is absolute, so a state directory that moved
 * gets a new one. */
static int
write_archive(const char *dir, char *err, size_t errlen)
{
	char abs[PATH_MAX], images[TEMPLATE_PATH], meta[TEMPLATE_PATH], link[TEMPLATE_PATH];
	char current[TEMPLATE_PATH], archive[TEMPLATE_PATH], part[TEMPLATE_PATH + 8];
	char *argv[4 + 8 + 1];
	int argc = 0;
	ssize_t n;

	if (realpath(dir, abs) == NULL)
		return errf(err, errlen, "%s: %s", dir, strerror(errno));
	if (join(images, sizeof(images), abs, IMAGES_DIR, err, errlen) == -1 ||
	    join(meta, sizeof(meta), abs, META_DIR, err, errlen) == -1 ||
	    join(link, sizeof(link), meta, "checkpoint", err, errlen) == -1 ||
	    join(archive, sizeof(archive), abs, RESTORE_ARCHIVE, err, errlen) == -1)
		return -1;
	n = readlink(link, current, sizeof(current) - 1);
	if (n < 0 || (size_t)n != strlen(images) || memcmp(current, images, (size_t)n) != 0) {
		if (unlink(link) == -1 && errno != ENOENT)
			return errf(err, errlen, "remove %s: %s", link, strerror(errno));
		if (symlink(images, link) == -1)
			return errf(err, errlen, "link %s: %s", link, strerror(errno));
	}
	snprintf(part, sizeof(part), "%s.part", archive);
	argv[argc++] = "tar";
	argv[argc++] = "-c";
	argv[argc++] = "-f";
	argv[argc++] = part;
	argv[argc++] = "-C";
	argv[argc++] = meta;
	argv[argc++] = "checkpoint";
	for (size_t i = 0; meta_files[i] != NULL; i++) {
		char f[TEMPLATE_PATH];

		if (join(f, sizeof(f), meta, meta_files[i], err, errlen) == -1)
			return -1;
		if (access(f, F_OK) == 0)
			argv[argc++] = (char *)meta_files[i];
	}
	argv[argc] = NULL;
	if (program_run(argv, err, errlen) == -1) {
		unlink(part);
		return -1;
	}
	if (rename(part, archive) == -1) {
		errf(err, errlen, "rename to %s: %s", archive, strerror(errno));
		unlink(part);
		return -1;
	}
	return 0;
}

static int
mark_mergeable(const char *dir, char *err, size_t errlen)
{
	char images[TEMPLATE_PATH];
	int marked = 0;

	if (join(images, sizeof(images), dir, IMAGES_DIR, err, errlen) == -1 ||
	    criu_images_mark_mergeable(images, &marked, err, errlen) == -1)
		return -1;
	log_info("template: %d memory areas marked mergeable in %s", marked, images);
	return 0;
}

static int
template_dir_of(const struct template_meta *m, char *out, size_t outlen, char *err, size_t errlen)
{
	const char *slash = strrchr(m->archive_path, '/');

	if (slash == NULL || (size_t)(slash - m->archive_path) >= outlen)
		return errf(err, errlen, "template %s: archive path %s has no directory", m->name,
			    m->archive_path);
	memcpy(out, m->archive_path, (size_t)(slash - m->archive_path));
	out[slash - m->archive_path] = '\0';
	return 0;
}

int
template_restore_prepare(struct podman *p, struct template_meta *m, const char *container,
			 char *err, size_t errlen)
{
	char dir[TEMPLATE_PATH], repo[TEMPLATE_STR], tag[32], image[TEMPLATE_STR + 40];
	char id[sizeof(m->restore_image_id)], rmerr[256];
	struct image_ref ref = {image, id};
	bool committed = false;
	int ret = -1;

	if (template_dir_of(m, dir, sizeof(dir), err, errlen) == -1)
		return -1;
	image_repo(m->name, repo, sizeof(repo));
	snprintf(tag, sizeof(tag), "%lld", m->created_at);
	snprintf(image, sizeof(image), "%s:%s", repo, tag);
	if (template_restore_discard(dir, err, errlen) == -1)
		goto out;
	if (podman_commit(p, container, repo, tag, id, sizeof(id), err, errlen) == -1)
		goto out;
	committed = true;
	if (unpack(m, dir, err, errlen) == -1 ||
	    edit_meta_json(dir, "config.dump", config_at_image, &ref, err, errlen) == -1 ||
	    edit_meta_json(dir, "spec.dump", spec_without_cpu_quota, NULL, err, errlen) == -1 ||
	    (m->ksm && mark_mergeable(dir, err, errlen) == -1) ||
	    write_archive(dir, err, errlen) == -1)
		goto out;
	snprintf(m->restore_image, sizeof(m->restore_image), "%s", image);
	snprintf(m->restore_image_id, sizeof(m->restore_image_id), "%s", id);
	if (join(m->restore_archive_path, sizeof(m->restore_archive_path), dir, RESTORE_ARCHIVE,
		 err, errlen) == -1)
		goto out;
	ret = 0;
out:
	if (ret == -1) {
		m->restore_image[0] = m->restore_image_id[0] = m->restore_archive_path[0] = '\0';
		m->ksm = false;
		if (committed && podman_image_remove(p, image, rmerr, sizeof(rmerr)) == -1)
			log_warnx("template: removing image=%s: %s", image, rmerr);
		if (template_restore_discard(dir, rmerr, sizeof(rmerr)) == -1)
			log_warnx("template: cleaning %s: %s", dir, rmerr);
	}
	return ret;
}

int
template_restore_check(struct podman *p, const struct template_meta *m, char *err, size_t errlen)
{
	struct podman_image *img;
	char dir[TEMPLATE_PATH], e[512];
	int ret = -1;

	if (m->restore_image[0] == '\0')
		return errf(err, errlen,
			    "template %s has no prepared restore (made by an older "
			    "demux or its preparation failed)",
			    m->name);
	img = calloc(1, sizeof(*img));
	if (img == NULL)
		return errf(err, errlen, "out of memory");
	if (podman_image_inspect(p, m->restore_image, img, e, sizeof(e)) == -1) {
		errf(err, errlen, "template %s: its restore image is gone: %s", m->name, e);
		goto out;
	}
	if (strcmp(img->id, m->restore_image_id) != 0) {
		errf(err, errlen,
		     "template %s: image %s is %.12s, not the %.12s committed with the checkpoint",
		     m->name, m->restore_image, img->id, m->restore_image_id);
		goto out;
	}
	if (template_dir_of(m, dir, sizeof(dir), err, errlen) == -1 ||
	    write_archive(dir, err, errlen) == -1)
		goto out;
	ret = 0;
out:
	free(img);
	return ret;
}

int
template_restore_remove_image(struct podman *p, const struct template_meta *m, char *err,
			      size_t errlen)
{
	if (m->restore_image[0] == '\0')
		return 0;
	return podman_image_remove(p, m->restore_image, err, errlen);
}
