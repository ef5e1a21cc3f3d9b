/*
 * xmalloc — allocation that never returns NULL: out of memory is fatal, so
 * callers never handle it. The caller owns what these return and frees it.
 */
#ifndef DEMUX_XMALLOC_H
#define DEMUX_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
