/*
 * id — unguessable instance ids.
 *
 * An id is ID_LEN characters of lower-case base32 (a-z, 2-7) carrying 80 bits
 * from getrandom(2): safe as a DNS label, in a file name and in a SQL prefix.
 */
#ifndef DEMUX_ID_H
#define DEMUX_ID_H

#include <stdbool.h>
#include <stddef.h>

#define ID_LEN 16
#define ID_SIZE (ID_LEN + 1)

/* Writes a new NUL-terminated id into out; returns 0, or -1 if the kernel
 * gave no randomness (logged). */
int id_generate(char out[ID_SIZE]);
/* True when s has exactly the form id_generate produces. */
bool id_valid(const char *s);
/* Fills out with n random bytes; 0 or -1. */
int id_random_bytes(void *out, size_t n);

#endif
