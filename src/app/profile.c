/*
 * profile — the table of app profiles; see profile.h.
 */
#include "app/profile.h"

#include <stdio.h>
#include <string.h>

#include "app/generic.h"
#include "app/password.h"
#include "app/prestashop.h"
#include "app/wordpress.h"
#include "validate.h"

static const struct profile *const profiles[] = {
    &prestashop_profile,
    &wordpress_profile,
    &generic_profile,
};

const struct profile *
profile_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (strcmp(profiles[i]->name, name) == 0)
			return profiles[i];
	return NULL;
}

void
profile_names(char *out, size_t outlen)
{
	size_t off = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]) && off < outlen; i++) {
		int n =
		    snprintf(out + off, outlen - off, "%s%s", i > 0 ? ", " : "", profiles[i]->name);

		if (n < 0)
			return;
		off += (size_t)n;
	}
}

int
app_site_host(const struct app_instance *inst, char *out, size_t outlen, char *err, size_t errlen)
{
	char e[200], port[URL_PORT_SUFFIX_SIZE];
	int n;

	if (inst->domain == NULL || validate_domain(inst->domain, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "invalid domain: %s",
			 inst->domain == NULL ? "none given" : e);
		return -1;
	}
	if (inst->port < 0 || inst->port > 65535) {
		snprintf(err, errlen,
			 "invalid port %d: want 1-65535, or 0 for the scheme's default",
			 inst->port);
		return -1;
	}
	url_port_suffix(inst->scheme, inst->port, port);
	n = snprintf(out, outlen, "%s%s", inst->domain, port);
	if (n < 0 || (size_t)n >= outlen || n > APP_SITE_HOST_MAX) {
		snprintf(err, errlen, "site host %s:%d is longer than %d characters", inst->domain,
			 inst->port, APP_SITE_HOST_MAX);
		return -1;
	}
	return 0;
}

int
app_admin_password_hash(const struct app_instance *inst, char *hash, size_t hashlen, char *err,
			size_t errlen)
{
	char e[200];

	if (inst->admin_password == NULL || inst->admin_password[0] == '\0')
		return 0;
	if (inst->admin_user == NULL || inst->admin_user[0] == '\0') {
		snprintf(err, errlen, "admin password: the template names no admin login");
		return -1;
	}
	if (password_hash(inst->admin_password, hash, hashlen, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "admin password: %s", e);
		return -1;
	}
	return 1;
}
