/*
 * id — random ids from getrandom(2), encoded in RFC 4648 base32, lower case.
 */
#include "id.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"

static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

int
id_random_bytes(void *out, size_t n)
{
	unsigned char *p = out;
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(p + got, n - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			log_warn("getrandom");
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

int
id_generate(char out[ID_SIZE])
{
	unsigned char raw[ID_LEN * 5 / 8];
	unsigned int acc = 0;
	int bits = 0;
	size_t o = 0;

	if (id_random_bytes(raw, sizeof(raw)) == -1)
		return -1;
	for (size_t i = 0; i < sizeof(raw); i++) {
		acc = (acc << 8) | raw[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = alphabet[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	out[o] = '\0';
	return 0;
}

bool
id_valid(const char *s)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= ID_LEN || strchr(alphabet, s[i]) == NULL)
			return false;
	}
	return i == ID_LEN;
}
