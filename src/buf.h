/*
 * buf — a growable byte buffer with a hard maximum (after curl's dynbuf).
 *
 * Appending past the maximum fails with -1 and leaves the buffer as it was,
 * so a hostile peer cannot make demux allocate without bound. The contents
 * are always NUL-terminated. buf_free releases the storage; buf_take hands it
 * to the caller, who then frees it.
 */
#ifndef DEMUX_BUF_H
#define DEMUX_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_appends(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the NUL-terminated contents (never NULL) and resets b. */
char *buf_take(struct buf *b);
const char *buf_str(const struct buf *b);
/* Reads the whole file at path into out (initialised here, at most max
 * bytes; the caller frees it, also after a failure). 0, or -1 with
 * "<path>: <reason>" in err. */
int buf_read_file(const char *path, size_t max, struct buf *out, char *err, size_t errlen);

#endif
