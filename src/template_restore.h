/*
 * template_restore — the prepared restore of a template (see the .c file):
 * the template's file system committed as an image, its CRIU images
 * unpacked, and a small archive that Podman imports in their place.
 */
#ifndef DEMUX_TEMPLATE_RESTORE_H
#define DEMUX_TEMPLATE_RESTORE_H

#include <stddef.h>

#include "container/podman.h"
#include "template.h"

/* Repository of the committed template file systems (one image per
 * template, tagged with its creation time). */
#define TEMPLATE_RESTORE_REPO "localhost/demux-restore"
/* The small archive, in the template directory. */
#define TEMPLATE_RESTORE_ARCHIVE "restore.tar"

/* Prepares m's restore from its archive (m->archive_path, already written)
 * and its stopped container; fills m->restore_image, restore_image_id and
 * restore_archive_path. On failure nothing it made is left and those
 * fields are empty: copies then restore from the full archive. */
int template_restore_prepare(struct podman *p, struct template_meta *m, const char *container,
			     char *err, size_t errlen);

/* Before a pool uses m's prepared restore: its image exists with the id
 * committed with the checkpoint, and restore.tar links to this state
 * directory's images (rewritten when the directory moved). -1 with the
 * reason otherwise: copies then restore from the full archive. */
int template_restore_check(struct podman *p, const struct template_meta *m, char *err,
			   size_t errlen);

/* Removes m's restore image (none is no error); Podman refuses while a
 * copy still runs on it. */
int template_restore_remove_image(struct podman *p, const struct template_meta *m, char *err,
				  size_t errlen);

/* Removes <dir>/restore and <dir>/restore.tar. */
int template_restore_discard(const char *dir, char *err, size_t errlen);

#endif
