/*
 * template_version — the versions of one template on disk.
 *
 * "demux template create" on a name that exists makes a new version beside
 * the ones there. Version 1 lives in templates/NAME (where every template
 * made before versions existed is), version N > 1 in
 * templates/NAME/versions/N; each has its own template.json, checkpoint
 * archive and prepared restore. templates/NAME/current names the version
 * the operator wants served (create and rollback write it, by rename);
 * without it, the newest is current.
 *
 * A pool that cannot make a ready copy of the current version while the
 * version before it still restores marks the current one failed (a file
 * "failed" holding the reason, in the version's directory) and serves the
 * one before: template_pick says which version to serve and which to fall
 * back to. Versions nothing needs any more are removed by the pool
 * (template_version_remove).
 */
#ifndef DEMUX_TEMPLATE_VERSION_H
#define DEMUX_TEMPLATE_VERSION_H

#include <stdbool.h>
#include <stddef.h>

#define TEMPLATE_MAX_VERSIONS 64
#define TEMPLATE_VERSION_MAX 999999

/* Which version of a template to serve. */
struct template_pick {
	int current;  /* what templates/NAME/current (or the newest) names */
	int serving;  /* current, or the newest older one not failed when current failed */
	int fallback; /* the newest not-failed version older than serving; 0 = none */
	char failed_reason[256]; /* why current is not served ("" when it is) */
};

/* The directory of version `version` of template name into out. */
int template_version_dir(const char *state_dir, const char *name, int version, char *out,
			 size_t outlen, char *err, size_t errlen);

/* The versions of name that have a template.json, ascending, into v[0..*n). */
int template_versions(const char *state_dir, const char *name, int *v, int max, int *n, char *err,
		      size_t errlen);

/* The current version of name (an error when it has none). */
int template_current(const char *state_dir, const char *name, int *version, char *err,
		     size_t errlen);
/* Makes version current; the caller holds the template's lock. */
int template_set_current(const char *state_dir, const char *name, int version, char *err,
			 size_t errlen);

/* Marks version failed with reason (one line). */
int template_mark_failed(const char *state_dir, const char *name, int version, const char *reason,
			 char *err, size_t errlen);
/* Whether version is marked failed; its reason into reason ("" if not). */
bool template_version_failed(const char *state_dir, const char *name, int version, char *reason,
			     size_t reasonlen);

/* Which version to serve (struct template_pick); -1 when name has no
 * version, or every version up to the current one failed. */
int template_pick(const char *state_dir, const char *name, struct template_pick *out, char *err,
		  size_t errlen);

/*
 * Removes the files of version (never the current one) under the template's
 * lock: 0 removed, 1 busy (a create holds the lock: try later), -1 error.
 * The image of its prepared restore is the caller's to remove.
 */
int template_version_remove(const char *state_dir, const char *name, int version, char *err,
			    size_t errlen);

/* Makes the newest version older than the current one that is not marked
 * failed current again: *from and *to say which. -1 when there is none. */
int template_rollback(const char *state_dir, const char *name, int *from, int *to, char *err,
		      size_t errlen);

/* Whether a pool may remove version v: not current or serving, not the
 * fallback while serving has not yet made a ready copy, and no copy of it
 * left. */
bool template_version_unneeded(const struct template_pick *pk, int v, bool serving_proven,
			       bool in_use);

#endif
