/*
 * mkpath — "mkdir -p": creates a directory and whatever is missing above it.
 *
 * The state directory, a template's directory and the HAProxy map file's
 * directory are made this way. Directories that exist are left as they are
 * (mode included); a path longer than PATH_MAX is an error, never cut short.
 */
#ifndef DEMUX_MKPATH_H
#define DEMUX_MKPATH_H

#include <stddef.h>
#include <sys/types.h>

/* Creates path with mode, and its missing parents with parent_mode. 0, or -1
 * with the reason in err. */
int mkpath(const char *path, mode_t parent_mode, mode_t mode, char *err, size_t errlen);
/* Creates the missing directories above path (a file's path, the file is not
 * made), each with mode. 0, or -1 with the reason in err. */
int mkpath_parents(const char *path, mode_t mode, char *err, size_t errlen);

#endif
