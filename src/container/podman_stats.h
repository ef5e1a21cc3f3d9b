/*
 * podman_stats — Podman's and CRIU's checkpoint and restore statistics,
 * parsed for podman.c (which fills them in after each call) and for unit
 * tests. Every function returns 0, or -1 with a one-line reason in err.
 */
#ifndef DEMUX_PODMAN_STATS_H
#define DEMUX_PODMAN_STATS_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "container/runtime.h"

/* Restore report: Podman's REST form ({"runtime_restore_duration", "criu_statistics"})
 * or the CLI's --print-stats form ({"podman_restore_duration", "container_statistics"}). */
int podman_parse_restore_stats(const char *json, struct restore_stats *out, char *err,
			       size_t errlen);
/* Checkpoint report, REST (non-export) or CLI --print-stats form. */
int podman_parse_checkpoint_stats(const char *json, struct checkpoint_stats *out, char *err,
				  size_t errlen);
/* CRIU's binary stats-dump image (found in an exported archive). */
int podman_parse_criu_dump_stats(const unsigned char *img, size_t len, struct checkpoint_stats *out,
				 char *err, size_t errlen);
/* Sets out's criu_ms and pages_written from the stats-dump member of f, an
 * uncompressed checkpoint archive (read from its start). */
int podman_archive_stats(FILE *f, struct checkpoint_stats *out, char *err, size_t errlen);

/* A number Podman wrote as a JSON integer, real or decimal string; 0 for
 * anything else. podman.c reads its inspect and list answers with it too. */
long long podman_json_number(json_t *v);

#endif
