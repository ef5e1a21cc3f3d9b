/*
 * password — per-copy admin passwords and their bcrypt hashes (libxcrypt).
 */
#include "app/password.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "id.h"
#include "xmalloc.h"

/*
 * bcrypt's cost is there to slow down guessing a weak, human-chosen password
 * from a stolen hash. These passwords are random (16 of 55 symbols, ~92
 * bits): no number of guesses a cost factor could price out comes near that,
 * so the minimum-plus-one cost is enough and keeps the hook fast (5: about
 * 2 ms per hash here, measured in docs/PROFILES.md; PHP's default, 10, is
 * 32 times slower). PrestaShop and WordPress verify any cost.
 */
#define PASSWORD_BCRYPT_COST 5
#define PASSWORD_SALT_BYTES 16 /* what bcrypt's 128-bit salt takes */

static const char alphabet[] = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";

int
password_generate(char out[PASSWORD_SIZE])
{
	const unsigned int n = sizeof(alphabet) - 1;
	/* Bytes at or above the largest multiple of n are drawn again, so every
	 * symbol is equally likely. */
	const unsigned int limit = 256 - 256 % n;
	unsigned char raw[32];
	size_t o = 0;

	while (o < PASSWORD_LEN) {
		if (id_random_bytes(raw, sizeof(raw)) == -1)
			return -1;
		for (size_t i = 0; i < sizeof(raw) && o < PASSWORD_LEN; i++)
			if (raw[i] < limit)
				out[o++] = alphabet[raw[i] % n];
	}
	out[o] = '\0';
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

int
password_hash(const char *password, char *out, size_t outlen, char *err, size_t errlen)
{
	unsigned char salt[PASSWORD_SALT_BYTES];
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *h;
	int ret = -1;

	if (id_random_bytes(salt, sizeof(salt)) == -1) {
		snprintf(err, errlen, "no randomness for a salt");
		goto out;
	}
	if (crypt_gensalt_rn("$2y$", PASSWORD_BCRYPT_COST, (const char *)salt, sizeof(salt),
			     setting, sizeof(setting)) == NULL) {
		snprintf(err, errlen, "bcrypt setting: %s", strerror(errno));
		goto out;
	}
	h = crypt_rn(password, setting, cd, sizeof(*cd));
	/* libxcrypt may answer a failure with a string starting with '*'. */
	if (h == NULL || h[0] == '*') {
		snprintf(err, errlen, "bcrypt: %s", h == NULL ? strerror(errno) : "refused");
		goto out;
	}
	if (strlen(h) >= outlen) {
		snprintf(err, errlen, "bcrypt hash longer than %zu bytes", outlen - 1);
		goto out;
	}
	memcpy(out, h, strlen(h) + 1);
	ret = 0;
out:
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ret;
}
