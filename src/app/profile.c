/*
 * profile — the table of app profiles; see profile.h.
 */
#include "app/profile.h"

#include <string.h>

#include "app/generic.h"
#include "app/prestashop.h"
#include "app/wordpress.h"

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
