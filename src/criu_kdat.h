/*
 * criu_kdat — keeps CRIU's kernel-feature cache (/run/criu.kdat) on hosts
 * whose /run is not a tmpfs, where CRIU would probe the kernel at every
 * restore (see the .c file).
 */
#ifndef DEMUX_CRIU_KDAT_H
#define DEMUX_CRIU_KDAT_H

#include <stddef.h>

/* Writes the cache when /run is not a tmpfs and no cache of this boot is
 * there; 0 when there is one (or CRIU keeps its own), else -1 with the
 * reason (restores still work, only slower). Needs root. */
int criu_kdat_ensure(char *err, size_t errlen);

#endif
