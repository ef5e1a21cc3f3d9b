/*
 * errf — the one way a function fills its caller's char err[].
 *
 * Every module reports failures as "return -1 with the reason in err"; errf
 * writes the reason (truncated to errlen, always NUL-terminated) and returns
 * -1 so a failure path is one line: return errf(err, errlen, "...", ...).
 */
#ifndef DEMUX_ERRF_H
#define DEMUX_ERRF_H

#include <stddef.h>

/* Formats into err (nothing when err is NULL or errlen is 0); returns -1. */
int errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
