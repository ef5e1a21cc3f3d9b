/*
 * template — checkpointed templates: how they are described, stored and found.
 *
 * A template is a CRIU checkpoint of a container running the app and its own
 * MariaDB, in <state_dir>/templates/<name>/checkpoint.tar[.zst], and what the
 * pool needs to restore and re-point copies of it, in template.json next to
 * it (mode 0600: it holds the database password). Making one is
 * template_create.h; "demux template" is cmd_template (commands.h).
 *
 * Image labels (demux.profile, demux.app_port, demux.db_port, demux.db_name,
 * demux.db_user, demux.db_password, demux.db_prefix, demux.domain,
 * demux.health, demux.admin_path, demux.admin_user, demux.admin_password) give
 * the defaults; command-line options override them. An image without
 * demux.profile used with --profile prestashop is taken for
 * prestashop/prestashop-flashlight: an entrypoint wrapper starts the MariaDB
 * shipped in the image, then the image's own start script (docs/TEMPLATES.md).
 */
#ifndef DEMUX_TEMPLATE_H
#define DEMUX_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "container/podman.h"
#include "container/runtime.h"
#include "validate.h"

#define TEMPLATE_STR 256
#define TEMPLATE_PATH 1024
#define TEMPLATE_SECRET 128
#define TEMPLATE_MAX_LIST 16 /* labels, env, warm pages */
#define TEMPLATE_CONTAINER_PREFIX "demux-template-"
/* What the images need as root inside a copy (nginx and php-fpm switch to
 * their configured user; nginx binds port 80; module installers chown and
 * write other users' files). Everything else is dropped. */
#define TEMPLATE_DEFAULT_CAPS "CHOWN,DAC_OVERRIDE,FOWNER,NET_BIND_SERVICE,SETGID,SETUID"
#define TEMPLATE_MAX_CAPS 16
#define TEMPLATE_DEFAULT_PIDS 256
#define TEMPLATE_DEFAULT_DISK (1024LL * 1024 * 1024)
#define TEMPLATE_DEFAULT_TIMEOUT_S 300
#define TEMPLATE_DEFAULT_DB_SOCKET "/run/mysqld/mysqld.sock"

struct template_meta {
	char name[64];
	int version; /* 1, 2, ... (template_version.h) */
	char image[TEMPLATE_STR];
	char image_id[72];
	char profile[32]; /* "prestashop", "wordpress", "generic" */
	int app_port;	  /* inside the container */
	int db_port;	  /* inside the container; 0 = no database published */
	char db_name[64];
	char db_user[64];
	char db_password[TEMPLATE_SECRET];
	char db_prefix[PREFIX_MAX + 1];
	char domain[DOMAIN_MAX + 1]; /* the template's own domain (Host it answers to) */
	char health_path[TEMPLATE_STR];
	char admin_path[TEMPLATE_STR];
	char admin_user[TEMPLATE_STR];
	char admin_password[TEMPLATE_SECRET];
	/* The copy's MariaDB socket inside the container: demux's hook reaches
	 * it through /proc/<pid>/root, so no database port is published. */
	char db_socket[TEMPLATE_STR];
	/* The Podman network the template ran on, which every restored copy
	 * keeps; "" for a template made before copies were isolated. */
	char network[64];
	bool egress;	 /* that network lets copies reach beyond the machine */
	bool ksm;	 /* the prepared restore's memory is marked mergeable (criu_image.h) */
	bool db_wrapper; /* entrypoint wrapper starts the image's MariaDB */
	char start_command[TEMPLATE_STR]; /* what the wrapper execs (the image's own start) */
	int nlabels;
	char labels[TEMPLATE_MAX_LIST][TEMPLATE_STR]; /* extra "k=v" from --label */
	int nenv;
	char env[TEMPLATE_MAX_LIST][TEMPLATE_STR]; /* extra "K=V" from --env */
	int nwarm;
	char warm[TEMPLATE_MAX_LIST][TEMPLATE_STR];
	char archive_path[TEMPLATE_PATH]; /* absolute path of the checkpoint archive */
	/* The prepared restore (template_restore.h): the image holding the
	 * template's file system at the dump, and the small archive a restore
	 * imports ("" when the template has none: copies then restore from
	 * archive_path). restore_archive_path is not stored: template_load
	 * derives it from the template directory. */
	char restore_image[TEMPLATE_STR + 40];
	char restore_image_id[72];
	char restore_archive_path[TEMPLATE_PATH];
	long long archive_bytes;
	bool compressed; /* zstd */
	struct checkpoint_stats checkpoint;
	long long created_at; /* unix seconds */
	long long memory_bytes;
	long long pids_limit;
	double cpus;
	char caps[TEMPLATE_STR]; /* capabilities kept, comma-separated */
	long long disk_bytes;	 /* bound on each copy's writes (storage.h); 0 = none */
};

/* What the user asked for; NULL / -1 = take it from the image or the profile. */
struct template_options {
	const char *name;
	const char *image;
	const char *profile;
	const char *domain;
	const char *health_path;
	const char *db_name;
	const char *db_user;
	const char *db_password;
	int app_port;
	int db_port;
	const char *warm[TEMPLATE_MAX_LIST];
	int nwarm;
	const char *labels[TEMPLATE_MAX_LIST];
	int nlabels;
	const char *env[TEMPLATE_MAX_LIST];
	int nenv;
	long long memory_bytes;
	long long pids_limit;
	double cpus;
	long long disk_bytes;
	bool compress;
	const char *caps;    /* --caps, comma-separated; NULL = TEMPLATE_DEFAULT_CAPS */
	const char *network; /* Podman network to run the template on (made by the caller) */
	bool egress;	     /* whether that network is the one open to the outside */
	bool ksm;	     /* mark the checkpoint's private memory mergeable */
};

/* Storage the strings of a built container_spec point into; keep it alive as
 * long as the spec. */
struct template_spec_buf {
	char name[128];
	char env[TEMPLATE_MAX_LIST + 8][TEMPLATE_STR + 64];
	const char *envp[TEMPLATE_MAX_LIST + 9];
	char labels[TEMPLATE_MAX_LIST + 2][TEMPLATE_STR];
	const char *labelp[TEMPLATE_MAX_LIST + 3];
	const char *entrypoint[5];
	const char *command[2];
	char caps[TEMPLATE_MAX_CAPS][32];
	const char *capp[TEMPLATE_MAX_CAPS + 1];
};

/* Limits a copy gets when template create is not told otherwise, sized to
 * this machine: 1/32 of its memory (256 MiB to 1 GiB) and a quarter of its
 * processors (0.25 to 1 CPU). */
long long template_default_memory(void);
double template_default_cpus(void);

/* Fills opt with "unset" values. */
void template_options_init(struct template_options *opt);

/* Builds the metadata of a new template from the options and the image
 * (labels, start command). No I/O except randomness for a generated DB
 * password. 0 or -1 with a one-line reason. */
int template_resolve(const struct template_options *opt, const struct podman_image *img,
		     struct template_meta *out, char *err, size_t errlen);

/*
 * The container spec of the template container, reused for cold starts: same
 * image, environment, entrypoint, labels and limits, under container `name`
 * with the app port published on app_host_port and (when the template has a
 * database port) the database on db_host_port, both on 127.0.0.1. out's
 * strings point into buf.
 */
int template_cold_start_spec(const struct template_meta *m, const char *name, int app_host_port,
			     int db_host_port, struct container_spec *out,
			     struct template_spec_buf *buf, char *err, size_t errlen);

/* The shell script run as the entrypoint of a flashlight-style image. */
const char *template_db_wrapper_script(void);

/* Metadata files: template.json in the directory of the template's version
 * (template_version.h). template_load reads the current version. */
int template_save(const char *state_dir, const struct template_meta *m, char *err, size_t errlen);
int template_load(const char *state_dir, const char *name, struct template_meta *out, char *err,
		  size_t errlen);
int template_load_version(const char *state_dir, const char *name, int version,
			  struct template_meta *out, char *err, size_t errlen);
/* The current version of every readable template, sorted by name; *out is
 * malloc'ed (caller frees). */
int template_list(const char *state_dir, struct template_meta **out, int *n, char *err,
		  size_t errlen);
/* Removes a template: every version (metadata and archives). */
int template_remove(const char *state_dir, const char *name, char *err, size_t errlen);

/* Takes the template's lock (templates/<name>/.lock) without waiting: the
 * descriptor, or -1 (errno EWOULDBLOCK while a create holds it). */
int template_lock(const char *state_dir, const char *name, char *err, size_t errlen);

/*
 * The directory of a new version of a template: locks <state_dir>/templates/
 * <name> (created mode 0700), then creates the directory of the version after
 * the newest one there (1 for a new name; its path into dir, its number into
 * *version). *lock is the lock's descriptor, which the caller closes when
 * done (-1 when none was taken). Fails when another create holds the lock; a
 * directory left by a killed create is reused.
 */
int template_dir_claim(const char *state_dir, const char *name, char *dir, size_t dirlen,
		       int *version, int *lock, char *err, size_t errlen);
/* Removes what demux writes into a version's directory; with remove_dir the
 * directory too (and its lock), else only the version's own files (version
 * 1 shares its directory with the template's). */
int template_version_discard(const char *dir, bool remove_dir, char *err, size_t errlen);

/* JSON form of the metadata; *json malloc'ed. And back. */
int template_meta_to_json(const struct template_meta *m, char **json, char *err, size_t errlen);
int template_meta_from_json(const char *json, struct template_meta *out, char *err, size_t errlen);

/* "512m", "1g", "1048576", "64k" -> bytes; -1 on error. */
int template_parse_bytes(const char *s, long long *out);

#endif
