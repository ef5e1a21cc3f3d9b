/*
 * profile — what an application needs after a restore and at release.
 *
 * A restored copy still believes it is the template: its database names the
 * template's domain. after_restore re-points it to the instance's own domain
 * (and clears caches that hold the old one); on_release removes what the
 * instance left outside its container (shared-database mode: its tables).
 * Profiles: prestashop.c, wordpress.c, generic.c (SQL from the config).
 */
#ifndef DEMUX_PROFILE_H
#define DEMUX_PROFILE_H

#include <stddef.h>

/* Where an instance's database is. Never logged: it holds a password. */
struct db_params {
	const char *host; /* "127.0.0.1" */
	int port;
	const char *user;
	const char *password;
	const char *name; /* schema */
	int connect_timeout_s;
	int rw_timeout_s;
	int retry_ms; /* keep retrying a refused connection this long (restored server warming up)
		       */
};

struct app_instance {
	const char *id;
	const char *domain; /* "<id>.<base_domain>", validated by the profile */
	const char *scheme; /* "http" or "https" */
	const char *prefix; /* table prefix, validated by the profile */
	struct db_params db;
	const char *generic_after_restore; /* generic profile: ';'-separated SQL */
	const char *generic_on_release;
	int drop_tables_on_release; /* shared-database mode */
};

struct profile {
	const char *name;
	const char *default_prefix;
	const char *health_path;
	const char *admin_path;
	/* The back-office login a visitor is shown, unless the template says
	 * otherwise (its demux.admin_user / demux.admin_password labels); NULL
	 * when the profile knows none. A demo login, shown publicly. */
	const char *admin_user;
	const char *admin_password;
	/* Both return 0 or -1 with a reason in err. */
	int (*after_restore)(const struct app_instance *inst, char *err, size_t errlen);
	int (*on_release)(const struct app_instance *inst, char *err, size_t errlen);
};

/* "prestashop", "wordpress", "generic"; NULL when unknown. */
const struct profile *profile_find(const char *name);

#endif
