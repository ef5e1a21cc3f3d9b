/*
 * program — runs a helper program and reports its failure in one line.
 */
#ifndef DEMUX_PROGRAM_H
#define DEMUX_PROGRAM_H

#include <stddef.h>

/* Runs argv (argv[0] looked up in PATH) with stdin from /dev/null and its
 * output collected; 0 when it exits 0, else -1 with err naming the command,
 * its status and the last line it printed. */
int program_run(char *const argv[], char *err, size_t errlen);

#endif
