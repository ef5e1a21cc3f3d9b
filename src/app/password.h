/*
 * password — the back-office password each demo copy gets of its own.
 *
 * A restored copy starts with the template's admin password, which every
 * visitor of every copy is shown: the visitor of one copy could log into
 * another. So the pool draws a fresh password per copy (password_generate,
 * from getrandom like instance ids) and the profile's after_restore writes
 * its hash where the app keeps its login (password_hash: bcrypt "$2y$", which
 * PHP's password_verify and crypt() accept).
 */
#ifndef DEMUX_APP_PASSWORD_H
#define DEMUX_APP_PASSWORD_H

#include <stddef.h>

#define PASSWORD_LEN 16
#define PASSWORD_SIZE (PASSWORD_LEN + 1)
/* A bcrypt hash is 60 characters; room to spare. */
#define PASSWORD_HASH_SIZE 128

/* Writes a new NUL-terminated password of PASSWORD_LEN characters from an
 * alphabet without look-alikes (no 0/O/o, 1/l/I/i): 55 symbols, about 92
 * bits. 0, or -1 when the kernel gave no randomness (logged). */
int password_generate(char out[PASSWORD_SIZE]);
/* The bcrypt ("$2y$", PASSWORD_BCRYPT_COST) hash of password, with a random
 * salt, into out. 0, or -1 with a reason in err (never the password). */
int password_hash(const char *password, char *out, size_t outlen, char *err, size_t errlen);

#endif
