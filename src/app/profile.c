/*
 * profile — the table of app profiles; see profile.h.
 */
#include "app/profile.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "app/generic.h"
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

int
app_site_host(const struct app_instance *inst, char *out, size_t outlen, char *err, size_t errlen)
{
	const char *scheme = inst->scheme != NULL ? inst->scheme : "http";
	bool default_port = inst->port == 0 || (strcmp(scheme, "http") == 0 && inst->port == 80) ||
			    (strcmp(scheme, "https") == 0 && inst->port == 443);
	char e[200];
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
	if (default_port)
		n = snprintf(out, outlen, "%s", inst->domain);
	else
		n = snprintf(out, outlen, "%s:%d", inst->domain, inst->port);
	if (n < 0 || (size_t)n >= outlen || n > APP_SITE_HOST_MAX) {
		snprintf(err, errlen, "site host %s:%d is longer than %d characters", inst->domain,
			 inst->port, APP_SITE_HOST_MAX);
		return -1;
	}
	return 0;
}
