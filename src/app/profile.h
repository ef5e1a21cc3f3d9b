/*
 * profile — what an application needs after a restore and at release.
 *
 * A restored copy still believes it is the template: its database names the
 * template's domain. after_restore re-points it to the instance's own domain
 * (and clears caches that hold the old one); on_release removes what the
 * instance left outside its container (shared-database mode: its tables).
 * Profiles: prestashop.c, wordpress.c, generic.c (SQL from the config).
 *
 * A profile is also the one place an app's defaults live: the table prefix,
 * health and admin paths and demo login a new template takes where its
 * image's labels say nothing, and how to run the app's stock image
 * (template_resolve in template.c).
 */
#ifndef DEMUX_PROFILE_H
#define DEMUX_PROFILE_H

#include <stddef.h>

/* Where an instance's database is. Never logged: it holds a password. */
struct db_params {
	const char *host; /* "127.0.0.1" */
	int port;
	/* When set, the server's unix socket (host and port are then unused):
	 * a copy's own MariaDB, reached through /proc/<pid>/root, so that its
	 * database needs no published port (docs/SECURITY.md). */
	const char *unix_socket;
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
	/* The port visitors use; 0, or the scheme's default (80, 443), means the
	 * site's address carries none. Otherwise the app's own links must name
	 * it: its site host is "<domain>:<port>" (app_site_host). */
	int port;
	const char *prefix; /* table prefix, validated by the profile */
	struct db_params db;
	const char *generic_after_restore; /* generic profile: ';'-separated SQL */
	const char *generic_on_release;
	const char *generic_admin_password; /* generic: SQL that stores {password_hash} */
	int drop_tables_on_release;	    /* shared-database mode */
	/* The copy's own back-office password, which after_restore stores (as
	 * the app's hash) for the template's login admin_user; NULL or "" keeps
	 * the template's. A secret: never logged, never in an error message. */
	const char *admin_user;
	const char *admin_password;
};

/*
 * The app's stock image: one published without demux.* labels that ships a
 * MariaDB server but expects an external database
 * (prestashop/prestashop-flashlight). A template made from it runs the
 * image through an entrypoint wrapper that starts that MariaDB first
 * (template.c), with these defaults in place of the profile's.
 */
struct profile_stock_image {
	int db_port; /* inside the container */
	const char *db_name;
	const char *db_user;
	const char *health_path;
	const char *admin_user;
	const char *admin_password;
	const char *start_command; /* what the wrapper runs when the image names nothing */
};

struct profile {
	const char *name;
	/* What a new template takes where the image's demux.* labels and the
	 * options of "demux template create" say nothing (template_resolve);
	 * NULL = none. */
	const char *default_prefix;
	const char *health_path;
	const char *admin_path;
	/* The back-office login a visitor is shown, unless the template says
	 * otherwise (its demux.admin_user / demux.admin_password labels); NULL
	 * when the profile knows none. A demo login, shown publicly. */
	const char *admin_user;
	const char *admin_password;
	/* NULL when demux cannot run a stock image of the app. */
	const struct profile_stock_image *stock_image;
	/* Whether after_restore can give inst a password of its own
	 * (inst->admin_password); the pool draws one only then. NULL = never. */
	int (*sets_admin_password)(const struct app_instance *inst);
	/* Both return 0 or -1 with a reason in err. */
	int (*after_restore)(const struct app_instance *inst, char *err, size_t errlen);
	int (*on_release)(const struct app_instance *inst, char *err, size_t errlen);
};

/* The host part of the instance's public address as the app must store it
 * and as browsers send it in Host: the domain, plus ":<port>" when the port
 * is not the scheme's default. Validates the domain and the port; the result
 * is at most APP_SITE_HOST_MAX characters (PrestaShop's shop_url.domain
 * column). 0, or -1 with a reason in err. */
#define APP_SITE_HOST_MAX 150
int app_site_host(const struct app_instance *inst, char *out, size_t outlen, char *err,
		  size_t errlen);

/* The hash an app stores for the copy's own admin password: 1 with the
 * bcrypt hash of inst->admin_password in hash (password_hash), 0 when the
 * copy keeps the template's password (none given), -1 with a reason in err
 * (also when a password comes without admin_user, the login it is for). */
int app_admin_password_hash(const struct app_instance *inst, char *hash, size_t hashlen, char *err,
			    size_t errlen);

/* "prestashop", "wordpress", "generic"; NULL when unknown. */
const struct profile *profile_find(const char *name);
/* The known profiles' names, ", "-separated, into out (cut to outlen). */
void profile_names(char *out, size_t outlen);

#endif
