/*
 * template — making, describing and listing checkpointed templates.
 *
 * The metadata (template.json) is written to a temporary file and renamed, so
 * a reader sees the old or the new version, never half of one. A template
 * directory is created first and locked (flock on .lock) for the whole of
 * "create": two creates of one name cannot race, and a directory left by a
 * killed create is recognised (no template.json, lock free) and reused.
 */
#include "template.h"

#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "commands.h"
#include "config.h"
#include "id.h"
#include "log.h"
#include "xmalloc.h"

#define META_FILE "template.json"
#define LOCK_FILE ".lock"
#define META_MAX ((size_t)1024 * 1024)
#define TCP_QUIET_WAIT_MS 10000
#define HEALTH_POLL_MS 250
#define LOG_TAIL_LINES 5

static const char *const known_profiles[] = {"prestashop", "wordpress", "generic", NULL};

/*
 * Entrypoint wrapper for images that ship a MariaDB server but expect an
 * external one (prestashop/prestashop-flashlight): start it inside the
 * container, as root (CRIU on hosts without CAP_SYS_RESOURCE needs that),
 * small buffers (every restored copy carries them), create the database and
 * user named by MYSQL_*, then exec the image's own start script ("$@").
 */
static const char db_wrapper_script[] =
    "set -e\n"
    "db=$(command -v mariadbd || command -v mysqld || true)\n"
    "cli=$(command -v mariadb || command -v mysql || true)\n"
    "inst=$(command -v mariadb-install-db || command -v mysql_install_db || true)\n"
    "if [ -z \"$db\" ] || [ -z \"$cli\" ] || [ -z \"$inst\" ]; then\n"
    "  echo 'demux: this image has no MariaDB server (mariadbd, mariadb, "
    "mariadb-install-db); build one FROM it that adds MariaDB (see demux "
    "docs/TEMPLATES.md)' >&2\n"
    "  exit 70\n"
    "fi\n"
    "data=/var/lib/mysql sock=/run/mysqld/mysqld.sock\n"
    "mkdir -p /run/mysqld \"$data\"\n"
    "[ -d \"$data/mysql\" ] || \"$inst\" --user=root --datadir=\"$data\" >/dev/null\n"
    "\"$db\" --no-defaults --user=root --datadir=\"$data\" --socket=\"$sock\" "
    "--port=\"$MYSQL_PORT\" --bind-address=0.0.0.0 --skip-name-resolve "
    "--innodb-buffer-pool-size=16M --innodb-log-file-size=8M --innodb-log-buffer-size=2M "
    "--key-buffer-size=64K --aria-pagecache-buffer-size=1M --performance-schema=OFF "
    "--max-connections=30 &\n"
    "n=0\n"
    "until \"$cli\" --no-defaults --protocol=socket -h localhost -S \"$sock\" -uroot -e 'SELECT 1' "
    ">/dev/null "
    "2>&1; do\n"
    "  n=$((n + 1))\n"
    "  [ \"$n\" -lt 600 ] || { echo 'demux: MariaDB did not start within 120 s' >&2; exit 71; }\n"
    "  sleep 0.2\n"
    "done\n"
    "sql=\"CREATE DATABASE IF NOT EXISTS \\`$MYSQL_DATABASE\\`;\"\n"
    "for h in % localhost 127.0.0.1; do\n"
    "  sql=\"$sql CREATE USER IF NOT EXISTS '$MYSQL_USER'@'$h' IDENTIFIED BY '$MYSQL_PASSWORD';"
    " ALTER USER '$MYSQL_USER'@'$h' IDENTIFIED BY '$MYSQL_PASSWORD';"
    " GRANT ALL PRIVILEGES ON *.* TO '$MYSQL_USER'@'$h';\"\n"
    "done\n"
    "\"$cli\" --no-defaults --protocol=socket -h localhost -S \"$sock\" -uroot "
    "-e \"$sql FLUSH PRIVILEGES;\"\n"
    "echo 'demux: MariaDB is up; starting the image'\n"
    "exec \"$@\"\n";

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Copies src into dst; -1 when it does not fit. */
static int
copy_str(char *dst, size_t dstlen, const char *src)
{
	size_t n = strlen(src);

	if (n >= dstlen)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

const char *
template_db_wrapper_script(void)
{
	return db_wrapper_script;
}

void
template_options_init(struct template_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->app_port = -1;
	opt->db_port = -1;
	opt->memory_bytes = -1;
	opt->pids_limit = -1;
	opt->cpus = -1;
}

static bool
profile_known(const char *name)
{
	for (size_t i = 0; known_profiles[i] != NULL; i++)
		if (strcmp(known_profiles[i], name) == 0)
			return true;
	return false;
}

/* Database names and users: ^[A-Za-z0-9_]{1,63}$ (they reach SQL unquoted). */
static int
check_ident(const char *what, const char *s, char *err, size_t errlen)
{
	size_t i;

	if (s[0] == '\0')
		return fail(err, errlen, "%s is empty", what);
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return fail(err, errlen, "%s may hold only A-Z, a-z, 0-9 and _", what);
	if (i > 63)
		return fail(err, errlen, "%s is longer than 63 characters", what);
	return 0;
}

/* Secrets end up in shell and SQL strings: no quotes, backslashes, '$' or spaces. */
static int
check_secret(const char *what, const char *s, char *err, size_t errlen)
{
	for (size_t i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr("'\"\\`$", c) != NULL)
			return fail(err, errlen,
				    "%s may not hold spaces, quotes, backslashes, '`' or '$'",
				    what);
	}
	return 0;
}

/* "k=v" with a non-empty key that is not one demux sets itself. */
static int
check_pair(const char *what, const char *s, bool reserve_demux, char *err, size_t errlen)
{
	const char *eq = strchr(s, '=');

	if (eq == NULL || eq == s)
		return fail(err, errlen, "%s '%s' is not KEY=VALUE", what, s);
	if (strlen(s) >= TEMPLATE_STR)
		return fail(err, errlen, "%s '%.40s...' is longer than %d characters", what, s,
			    TEMPLATE_STR - 1);
	if (reserve_demux &&
	    ((strncmp(s, RUNTIME_LABEL_MANAGED, strlen(RUNTIME_LABEL_MANAGED)) == 0 &&
	      s[strlen(RUNTIME_LABEL_MANAGED)] == '=') ||
	     (strncmp(s, RUNTIME_LABEL_TEMPLATE, strlen(RUNTIME_LABEL_TEMPLATE)) == 0 &&
	      s[strlen(RUNTIME_LABEL_TEMPLATE)] == '=')))
		return fail(err, errlen, "%s '%s' is set by demux itself", what, s);
	return 0;
}

static int
random_password(char *out, size_t len)
{
	static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
	unsigned char raw[64];

	if (len > sizeof(raw) + 1 || len < 2 || id_random_bytes(raw, len - 1) == -1)
		return -1;
	for (size_t i = 0; i + 1 < len; i++)
		out[i] = alphabet[raw[i] % (sizeof(alphabet) - 1)];
	out[len - 1] = '\0';
	return 0;
}

static int
label_port(const struct podman_image *img, const char *key, int *out, char *err, size_t errlen)
{
	const char *v = podman_image_label(img, key);
	char *end;
	long n;

	if (v == NULL)
		return 0;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < 0 || n > 65535)
		return fail(err, errlen, "image label %s='%s' is not a port number", key, v);
	*out = (int)n;
	return 1;
}

/* First non-NULL of an option, an image label and a default. */
static const char *
pick(const char *opt, const struct podman_image *img, const char *label, const char *def)
{
	const char *v;

	if (opt != NULL)
		return opt;
	if (label != NULL && (v = podman_image_label(img, label)) != NULL)
		return v;
	return def;
}

static int
set_field(char *dst, size_t dstlen, const char *what, const char *value, char *err, size_t errlen)
{
	if (copy_str(dst, dstlen, value) == -1)
		return fail(err, errlen, "%s is longer than %zu characters", what, dstlen - 1);
	return 0;
}

int
template_resolve(const struct template_options *opt, const struct podman_image *img,
		 struct template_meta *m, char *err, size_t errlen)
{
	const char *profile, *v;
	bool ours, ps;
	char domain[DOMAIN_MAX + 1], why[256];

	memset(m, 0, sizeof(*m));
	if (opt->name == NULL)
		return fail(err, errlen, "--name is required");
	if (validate_name(opt->name, why, sizeof(why)) == -1)
		return fail(err, errlen, "template name '%s': %s", opt->name, why);
	if (opt->image == NULL || opt->image[0] == '\0')
		return fail(err, errlen, "--image is required");
	ours = podman_image_label(img, "demux.profile") != NULL;
	profile = pick(opt->profile, img, "demux.profile", "generic");
	if (!profile_known(profile))
		return fail(err, errlen,
			    "unknown profile '%s' (known: prestashop, wordpress, generic)",
			    profile);
	ps = strcmp(profile, "prestashop") == 0;
	m->db_wrapper = ps && !ours;
	if (set_field(m->name, sizeof(m->name), "name", opt->name, err, errlen) == -1 ||
	    set_field(m->image, sizeof(m->image), "image", opt->image, err, errlen) == -1 ||
	    set_field(m->image_id, sizeof(m->image_id), "image id", img->id, err, errlen) == -1 ||
	    set_field(m->profile, sizeof(m->profile), "profile", profile, err, errlen) == -1)
		return -1;

	m->app_port = 80;
	if (label_port(img, "demux.app_port", &m->app_port, err, errlen) == -1)
		return -1;
	if (opt->app_port >= 0)
		m->app_port = opt->app_port;
	if (m->app_port < 1 || m->app_port > 65535)
		return fail(err, errlen, "--port %d is not a port number", m->app_port);
	m->db_port = m->db_wrapper ? 3306 : 0;
	if (label_port(img, "demux.db_port", &m->db_port, err, errlen) == -1)
		return -1;
	if (opt->db_port >= 0)
		m->db_port = opt->db_port;
	if (m->db_port > 65535)
		return fail(err, errlen, "--db-port %d is not a port number", m->db_port);

	if (set_field(m->db_name, sizeof(m->db_name), "database name",
		      pick(opt->db_name, img, "demux.db_name", m->db_wrapper ? "prestashop" : ""),
		      err, errlen) == -1 ||
	    set_field(m->db_user, sizeof(m->db_user), "database user",
		      pick(opt->db_user, img, "demux.db_user", m->db_wrapper ? "prestashop" : ""),
		      err, errlen) == -1 ||
	    set_field(m->db_password, sizeof(m->db_password), "database password",
		      pick(opt->db_password, img, "demux.db_password", ""), err, errlen) == -1)
		return -1;
	if (m->db_wrapper && m->db_password[0] == '\0' && random_password(m->db_password, 21) == -1)
		return fail(err, errlen, "no randomness for a database password");
	if ((m->db_name[0] != '\0' &&
	     check_ident("database name", m->db_name, err, errlen) == -1) ||
	    (m->db_user[0] != '\0' &&
	     check_ident("database user", m->db_user, err, errlen) == -1) ||
	    check_secret("database password", m->db_password, err, errlen) == -1)
		return -1;
	if (m->db_wrapper && (m->db_name[0] == '\0' || m->db_user[0] == '\0'))
		return fail(err, errlen, "the MariaDB wrapper needs a database name and user");

	v = pick(NULL, img, "demux.db_prefix",
		 ps				     ? "ps_"
		 : strcmp(profile, "wordpress") == 0 ? "wp_"
						     : "");
	if (v[0] != '\0' && validate_prefix(v, why, sizeof(why)) == -1)
		return fail(err, errlen, "image label demux.db_prefix: %s", why);
	if (set_field(m->db_prefix, sizeof(m->db_prefix), "table prefix", v, err, errlen) == -1)
		return -1;

	snprintf(domain, sizeof(domain), "%s.template.localhost", opt->name);
	if (validate_domain(domain, NULL, 0) == -1)
		snprintf(domain, sizeof(domain), "template.localhost");
	v = pick(opt->domain, img, "demux.domain", domain);
	if (validate_domain(v, why, sizeof(why)) == -1)
		return fail(err, errlen, "domain '%s': %s", v, why);
	if (set_field(m->domain, sizeof(m->domain), "domain", v, err, errlen) == -1)
		return -1;

	v = pick(opt->health_path, img, "demux.health",
		 m->db_wrapper ? "/admin-dev/robots.txt" : "/");
	if (validate_url_path(v, why, sizeof(why)) == -1)
		return fail(err, errlen, "health path '%s': %s", v, why);
	if (set_field(m->health_path, sizeof(m->health_path), "health path", v, err, errlen) == -1)
		return -1;
	if (set_field(m->admin_path, sizeof(m->admin_path), "admin path",
		      pick(NULL, img, "demux.admin_path",
			   m->db_wrapper		       ? "/admin-dev"
			   : strcmp(profile, "wordpress") == 0 ? "/wp-admin/"
							       : ""),
		      err, errlen) == -1 ||
	    set_field(
		m->admin_user, sizeof(m->admin_user), "admin user",
		pick(NULL, img, "demux.admin_user", m->db_wrapper ? "admin@prestashop.com" : ""),
		err, errlen) == -1 ||
	    set_field(m->admin_password, sizeof(m->admin_password), "admin password",
		      pick(NULL, img, "demux.admin_password", m->db_wrapper ? "prestashop" : ""),
		      err, errlen) == -1)
		return -1;
	if (m->db_wrapper &&
	    set_field(m->start_command, sizeof(m->start_command), "start command",
		      img->start[0] != '\0' ? img->start : "/run.sh", err, errlen) == -1)
		return -1;

	if (opt->nwarm > TEMPLATE_MAX_LIST || opt->nlabels > TEMPLATE_MAX_LIST ||
	    opt->nenv > TEMPLATE_MAX_LIST)
		return fail(err, errlen, "at most %d --warm, --label and --env each",
			    TEMPLATE_MAX_LIST);
	for (int i = 0; i < opt->nwarm; i++) {
		if (validate_url_path(opt->warm[i], why, sizeof(why)) == -1)
			return fail(err, errlen, "warm path '%s': %s", opt->warm[i], why);
		if (set_field(m->warm[i], sizeof(m->warm[i]), "warm path", opt->warm[i], err,
			      errlen) == -1)
			return -1;
	}
	m->nwarm = opt->nwarm;
	if (m->nwarm == 0) {
		snprintf(m->warm[0], sizeof(m->warm[0]), "/");
		m->nwarm = 1;
	}
	for (int i = 0; i < opt->nlabels; i++) {
		if (check_pair("label", opt->labels[i], true, err, errlen) == -1)
			return -1;
		snprintf(m->labels[i], sizeof(m->labels[i]), "%s", opt->labels[i]);
	}
	m->nlabels = opt->nlabels;
	for (int i = 0; i < opt->nenv; i++) {
		if (check_pair("environment variable", opt->env[i], false, err, errlen) == -1)
			return -1;
		snprintf(m->env[i], sizeof(m->env[i]), "%s", opt->env[i]);
	}
	m->nenv = opt->nenv;
	m->memory_bytes = opt->memory_bytes >= 0 ? opt->memory_bytes : TEMPLATE_DEFAULT_MEMORY;
	m->pids_limit = opt->pids_limit >= 0 ? opt->pids_limit : TEMPLATE_DEFAULT_PIDS;
	m->cpus = opt->cpus >= 0 ? opt->cpus : TEMPLATE_DEFAULT_CPUS;
	if (m->memory_bytes > 0 && m->memory_bytes < 6LL * 1024 * 1024)
		return fail(err, errlen, "--memory below 6 MB cannot run a container");
	if (m->cpus > 1024)
		return fail(err, errlen, "--cpus %.2f is more than any machine has", m->cpus);
	m->compressed = opt->compress;
	return 0;
}

static int add_env(struct template_spec_buf *b, int *n, char *err, size_t errlen, const char *fmt,
		   ...) __attribute__((format(printf, 5, 6)));

static int
add_env(struct template_spec_buf *b, int *n, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (*n >= (int)(sizeof(b->env) / sizeof(b->env[0])))
		return fail(err, errlen, "too many environment variables");
	va_start(ap, fmt);
	len = vsnprintf(b->env[*n], sizeof(b->env[*n]), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(b->env[*n]))
		return fail(err, errlen, "environment variable too long");
	b->envp[*n] = b->env[*n];
	(*n)++;
	return 0;
}

int
template_cold_start_spec(const struct template_meta *m, const char *name, int app_host_port,
			 int db_host_port, struct container_spec *out,
			 struct template_spec_buf *buf, char *err, size_t errlen)
{
	int nenv = 0, nlab = 0;

	memset(out, 0, sizeof(*out));
	memset(buf, 0, sizeof(*buf));
	if (name == NULL || copy_str(buf->name, sizeof(buf->name), name) == -1)
		return fail(err, errlen, "container name missing or too long");
	if (app_host_port < 1 || app_host_port > 65535)
		return fail(err, errlen, "host port %d is not a port number", app_host_port);
	if (m->db_wrapper) {
		if (add_env(buf, &nenv, err, errlen, "MYSQL_HOST=127.0.0.1") == -1 ||
		    add_env(buf, &nenv, err, errlen, "MYSQL_PORT=%d", m->db_port) == -1 ||
		    add_env(buf, &nenv, err, errlen, "MYSQL_USER=%s", m->db_user) == -1 ||
		    add_env(buf, &nenv, err, errlen, "MYSQL_PASSWORD=%s", m->db_password) == -1 ||
		    add_env(buf, &nenv, err, errlen, "MYSQL_DATABASE=%s", m->db_name) == -1 ||
		    add_env(buf, &nenv, err, errlen, "PS_DOMAIN=%s", m->domain) == -1)
			return -1;
	}
	for (int i = 0; i < m->nenv && i < TEMPLATE_MAX_LIST; i++)
		if (add_env(buf, &nenv, err, errlen, "%s", m->env[i]) == -1)
			return -1;
	buf->envp[nenv] = NULL;

	snprintf(buf->labels[nlab], sizeof(buf->labels[0]), "%s=1", RUNTIME_LABEL_MANAGED);
	buf->labelp[nlab] = buf->labels[nlab];
	nlab++;
	snprintf(buf->labels[nlab], sizeof(buf->labels[0]), "%s=%s", RUNTIME_LABEL_TEMPLATE,
		 m->name);
	buf->labelp[nlab] = buf->labels[nlab];
	nlab++;
	for (int i = 0; i < m->nlabels && i < TEMPLATE_MAX_LIST; i++) {
		snprintf(buf->labels[nlab], sizeof(buf->labels[0]), "%s", m->labels[i]);
		buf->labelp[nlab] = buf->labels[nlab];
		nlab++;
	}
	buf->labelp[nlab] = NULL;

	out->name = buf->name;
	out->image = m->image;
	out->env = buf->envp;
	out->labels = buf->labelp;
	if (m->db_wrapper) {
		buf->entrypoint[0] = "/bin/sh";
		buf->entrypoint[1] = "-c";
		buf->entrypoint[2] = db_wrapper_script;
		buf->entrypoint[3] = "demux-db-wrapper";
		buf->entrypoint[4] = NULL;
		buf->command[0] = m->start_command;
		buf->command[1] = NULL;
		out->entrypoint = buf->entrypoint;
		out->command = buf->command;
	}
	out->ports[0].host_port = app_host_port;
	out->ports[0].container_port = m->app_port;
	out->nports = 1;
	if (m->db_port > 0 && db_host_port > 0) {
		if (db_host_port > 65535)
			return fail(err, errlen, "host port %d is not a port number", db_host_port);
		out->ports[1].host_port = db_host_port;
		out->ports[1].container_port = m->db_port;
		out->nports = 2;
	}
	out->memory_bytes = m->memory_bytes;
	out->pids_limit = m->pids_limit;
	out->cpus = m->cpus;
	return 0;
}

/* --- metadata JSON ---------------------------------------------------------- */

static json_t *
list_json(char (*items)[TEMPLATE_STR], int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_string(items[i]));
	return a;
}

int
template_meta_to_json(const struct template_meta *m, char **json, char *err, size_t errlen)
{
	json_t *o;
	char *text;

	*json = NULL;
	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
		      "s:s, s:b, s:s}",
		      "format", 1, "name", m->name, "image", m->image, "image_id", m->image_id,
		      "profile", m->profile, "app_port", m->app_port, "db_port", m->db_port,
		      "db_name", m->db_name, "db_user", m->db_user, "db_password", m->db_password,
		      "db_prefix", m->db_prefix, "domain", m->domain, "health_path", m->health_path,
		      "admin_path", m->admin_path, "admin_user", m->admin_user, "admin_password",
		      m->admin_password, "db_wrapper", m->db_wrapper, "start_command",
		      m->start_command);
	if (o == NULL) {
		fail(err, errlen, "template metadata holds text that is not UTF-8");
		return -1;
	}
	json_object_set_new(o, "labels", list_json((char(*)[TEMPLATE_STR])m->labels, m->nlabels));
	json_object_set_new(o, "env", list_json((char(*)[TEMPLATE_STR])m->env, m->nenv));
	json_object_set_new(o, "warm", list_json((char(*)[TEMPLATE_STR])m->warm, m->nwarm));
	json_object_set_new(o, "archive_path", json_string(m->archive_path));
	json_object_set_new(o, "archive_bytes", json_integer(m->archive_bytes));
	json_object_set_new(o, "compressed", json_boolean(m->compressed));
	json_object_set_new(o, "checkpoint",
			    json_pack("{s:f, s:f, s:f, s:f, s:I}", "wall_ms", m->checkpoint.wall_ms,
				      "podman_ms", m->checkpoint.podman_ms, "runtime_ms",
				      m->checkpoint.runtime_ms, "criu_ms", m->checkpoint.criu_ms,
				      "pages_written", (json_int_t)m->checkpoint.pages_written));
	json_object_set_new(o, "created_at", json_integer(m->created_at));
	json_object_set_new(o, "memory_bytes", json_integer(m->memory_bytes));
	json_object_set_new(o, "pids_limit", json_integer(m->pids_limit));
	json_object_set_new(o, "cpus", json_real(m->cpus));
	text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(12));
	json_decref(o);
	if (text == NULL)
		fatalx("json_dumps: out of memory");
	*json = text;
	return 0;
}

static int
get_str(json_t *o, const char *key, char *dst, size_t dstlen, bool required, char *err,
	size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL && !required) {
		dst[0] = '\0';
		return 0;
	}
	if (!json_is_string(v))
		return fail(err, errlen, "%s: missing or not a string", key);
	if (copy_str(dst, dstlen, json_string_value(v)) == -1)
		return fail(err, errlen, "%s: longer than %zu characters", key, dstlen - 1);
	return 0;
}

static double
get_num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : 0;
}

static int
get_list(json_t *o, const char *key, char (*items)[TEMPLATE_STR], int *n, char *err, size_t errlen)
{
	json_t *a = json_object_get(o, key), *v;
	size_t i;

	*n = 0;
	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > TEMPLATE_MAX_LIST)
		return fail(err, errlen, "%s: not a list of at most %d strings", key,
			    TEMPLATE_MAX_LIST);
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v) ||
		    copy_str(items[i], TEMPLATE_STR, json_string_value(v)) == -1)
			return fail(err, errlen, "%s[%zu]: not a string of at most %d characters",
				    key, i, TEMPLATE_STR - 1);
		(*n)++;
	}
	return 0;
}

int
template_meta_from_json(const char *json, struct template_meta *m, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *o = json_loads(json, 0, &jerr), *ck;
	int ret = -1;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(o)) {
		fail(err, errlen, "not a JSON object (line %d: %s)", jerr.line, jerr.text);
		goto out;
	}
	if (get_str(o, "name", m->name, sizeof(m->name), true, err, errlen) == -1 ||
	    get_str(o, "image", m->image, sizeof(m->image), true, err, errlen) == -1 ||
	    get_str(o, "image_id", m->image_id, sizeof(m->image_id), false, err, errlen) == -1 ||
	    get_str(o, "profile", m->profile, sizeof(m->profile), true, err, errlen) == -1 ||
	    get_str(o, "db_name", m->db_name, sizeof(m->db_name), false, err, errlen) == -1 ||
	    get_str(o, "db_user", m->db_user, sizeof(m->db_user), false, err, errlen) == -1 ||
	    get_str(o, "db_password", m->db_password, sizeof(m->db_password), false, err, errlen) ==
		-1 ||
	    get_str(o, "db_prefix", m->db_prefix, sizeof(m->db_prefix), false, err, errlen) == -1 ||
	    get_str(o, "domain", m->domain, sizeof(m->domain), true, err, errlen) == -1 ||
	    get_str(o, "health_path", m->health_path, sizeof(m->health_path), true, err, errlen) ==
		-1 ||
	    get_str(o, "admin_path", m->admin_path, sizeof(m->admin_path), false, err, errlen) ==
		-1 ||
	    get_str(o, "admin_user", m->admin_user, sizeof(m->admin_user), false, err, errlen) ==
		-1 ||
	    get_str(o, "admin_password", m->admin_password, sizeof(m->admin_password), false, err,
		    errlen) == -1 ||
	    get_str(o, "start_command", m->start_command, sizeof(m->start_command), false, err,
		    errlen) == -1 ||
	    get_str(o, "archive_path", m->archive_path, sizeof(m->archive_path), true, err,
		    errlen) == -1 ||
	    get_list(o, "labels", m->labels, &m->nlabels, err, errlen) == -1 ||
	    get_list(o, "env", m->env, &m->nenv, err, errlen) == -1 ||
	    get_list(o, "warm", m->warm, &m->nwarm, err, errlen) == -1)
		goto out;
	if (!profile_known(m->profile)) {
		fail(err, errlen, "profile: unknown profile '%s'", m->profile);
		goto out;
	}
	m->app_port = (int)get_num(o, "app_port");
	m->db_port = (int)get_num(o, "db_port");
	if (m->app_port < 1 || m->app_port > 65535 || m->db_port < 0 || m->db_port > 65535) {
		fail(err, errlen, "app_port/db_port: not port numbers");
		goto out;
	}
	m->db_wrapper = json_is_true(json_object_get(o, "db_wrapper"));
	m->compressed = json_is_true(json_object_get(o, "compressed"));
	m->archive_bytes = (long long)get_num(o, "archive_bytes");
	ck = json_object_get(o, "checkpoint");
	m->checkpoint.wall_ms = get_num(ck, "wall_ms");
	m->checkpoint.podman_ms = get_num(ck, "podman_ms");
	m->checkpoint.runtime_ms = get_num(ck, "runtime_ms");
	m->checkpoint.criu_ms = get_num(ck, "criu_ms");
	m->checkpoint.pages_written = (long long)get_num(ck, "pages_written");
	m->checkpoint.archive_bytes = m->archive_bytes;
	m->created_at = (long long)get_num(o, "created_at");
	m->memory_bytes = (long long)get_num(o, "memory_bytes");
	m->pids_limit = (long long)get_num(o, "pids_limit");
	m->cpus = get_num(o, "cpus");
	ret = 0;
out:
	json_decref(o);
	return ret;
}

/* --- files ------------------------------------------------------------------ */

static int
template_dir(const char *state_dir, const char *name, struct buf *out, char *err, size_t errlen)
{
	if (validate_name(name, err, errlen) == -1)
		return -1;
	if (buf_printf(out, "%s/templates/%s", state_dir, name) == -1)
		return fail(err, errlen, "state directory path too long");
	return 0;
}

static int
mkdir_p(const char *path, mode_t mode, char *err, size_t errlen)
{
	char tmp[TEMPLATE_PATH];

	if (copy_str(tmp, sizeof(tmp), path) == -1)
		return fail(err, errlen, "path too long: %s", path);
	for (char *s = tmp + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(tmp, mode) == -1 && errno != EEXIST)
			return fail(err, errlen, "mkdir %s: %s", tmp, strerror(errno));
		*s = '/';
	}
	if (mkdir(tmp, mode) == -1 && errno != EEXIST)
		return fail(err, errlen, "mkdir %s: %s", tmp, strerror(errno));
	return 0;
}

int
template_save(const char *state_dir, const struct template_meta *m, char *err, size_t errlen)
{
	struct buf dir, path, tmp;
	char *json = NULL;
	size_t len, off = 0;
	int fd = -1, ret = -1;

	buf_init(&dir, TEMPLATE_PATH);
	buf_init(&path, TEMPLATE_PATH);
	buf_init(&tmp, TEMPLATE_PATH);
	if (template_dir(state_dir, m->name, &dir, err, errlen) == -1 ||
	    mkdir_p(buf_str(&dir), 0700, err, errlen) == -1)
		goto out;
	if (buf_printf(&path, "%s/%s", buf_str(&dir), META_FILE) == -1 ||
	    buf_printf(&tmp, "%s/%s.tmp", buf_str(&dir), META_FILE) == -1) {
		fail(err, errlen, "state directory path too long");
		goto out;
	}
	if (template_meta_to_json(m, &json, err, errlen) == -1)
		goto out;
	fd = open(buf_str(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || fchmod(fd, 0600) == -1) {
		fail(err, errlen, "%s: %s", buf_str(&tmp), strerror(errno));
		goto out;
	}
	len = strlen(json);
	while (off < len) {
		ssize_t n = write(fd, json + off, len - off);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fail(err, errlen, "%s: %s", buf_str(&tmp), strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (write(fd, "\n", 1) != 1 || fsync(fd) == -1) {
		fail(err, errlen, "%s: %s", buf_str(&tmp), strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		fail(err, errlen, "%s: %s", buf_str(&tmp), strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(buf_str(&tmp), buf_str(&path)) == -1) {
		fail(err, errlen, "rename to %s: %s", buf_str(&path), strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	if (ret == -1 && tmp.len > 0)
		unlink(buf_str(&tmp));
	free(json);
	buf_free(&dir);
	buf_free(&path);
	buf_free(&tmp);
	return ret;
}

int
template_load(const char *state_dir, const char *name, struct template_meta *out, char *err,
	      size_t errlen)
{
	struct buf dir, path, text;
	char why[512];
	int ret = -1;

	buf_init(&dir, TEMPLATE_PATH);
	buf_init(&path, TEMPLATE_PATH);
	buf_init(&text, 1);
	if (template_dir(state_dir, name, &dir, err, errlen) == -1)
		goto out;
	if (buf_printf(&path, "%s/%s", buf_str(&dir), META_FILE) == -1) {
		fail(err, errlen, "state directory path too long");
		goto out;
	}
	if (access(buf_str(&path), F_OK) == -1 && errno == ENOENT) {
		fail(err, errlen, "no template '%s' in %s/templates", name, state_dir);
		goto out;
	}
	if (buf_read_file(buf_str(&path), META_MAX, &text, err, errlen) == -1)
		goto out;
	if (template_meta_from_json(buf_str(&text), out, why, sizeof(why)) == -1) {
		fail(err, errlen, "%s: %s", buf_str(&path), why);
		goto out;
	}
	if (strcmp(out->name, name) != 0) {
		fail(err, errlen, "%s: names template '%s', not '%s'", buf_str(&path), out->name,
		     name);
		goto out;
	}
	/* An archive named relative to the template directory (a moved state dir). */
	if (out->archive_path[0] != '/') {
		char rel[TEMPLATE_PATH];

		snprintf(rel, sizeof(rel), "%s", out->archive_path);
		if (snprintf(out->archive_path, sizeof(out->archive_path), "%s/%s", buf_str(&dir),
			     rel) >= (int)sizeof(out->archive_path)) {
			fail(err, errlen, "%s: archive path too long", buf_str(&path));
			goto out;
		}
	}
	ret = 0;
out:
	buf_free(&dir);
	buf_free(&path);
	buf_free(&text);
	return ret;
}

static int
meta_cmp(const void *a, const void *b)
{
	return strcmp(((const struct template_meta *)a)->name,
		      ((const struct template_meta *)b)->name);
}

int
template_list(const char *state_dir, struct template_meta **out, int *n, char *err, size_t errlen)
{
	struct buf dir;
	DIR *d = NULL;
	struct dirent *e;
	int cap = 8, ret = -1;
	char why[512];

	*n = 0;
	*out = xcalloc((size_t)cap, sizeof(**out));
	buf_init(&dir, TEMPLATE_PATH);
	if (buf_printf(&dir, "%s/templates", state_dir) == -1) {
		fail(err, errlen, "state directory path too long");
		goto out;
	}
	d = opendir(buf_str(&dir));
	if (d == NULL) {
		if (errno == ENOENT) {
			ret = 0;
			goto out;
		}
		fail(err, errlen, "%s: %s", buf_str(&dir), strerror(errno));
		goto out;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || validate_name(e->d_name, NULL, 0) == -1)
			continue;
		if (*n == cap) {
			cap *= 2;
			*out = xrealloc(*out, (size_t)cap * sizeof(**out));
		}
		if (template_load(state_dir, e->d_name, &(*out)[*n], why, sizeof(why)) == -1) {
			/* No template.json yet: a create in progress (or killed). */
			if (strstr(why, "no template '") != NULL)
				log_debug("template: skipping name=%s: %s", e->d_name, why);
			else
				log_warnx("template: skipping name=%s: %s", e->d_name, why);
			continue;
		}
		(*n)++;
	}
	qsort(*out, (size_t)*n, sizeof(**out), meta_cmp);
	ret = 0;
out:
	if (d != NULL)
		closedir(d);
	buf_free(&dir);
	return ret;
}

/* Opens and locks <dir>/.lock without waiting; -1 with errno EWOULDBLOCK if held. */
static int
lock_dir(const char *dir)
{
	char path[TEMPLATE_PATH];
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, LOCK_FILE) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Removes what demux writes into a template directory, then the directory. */
static int
remove_dir_files(const char *dir, char *err, size_t errlen)
{
	static const char *const files[] = {META_FILE,
					    "template.json.tmp",
					    "checkpoint.tar",
					    "checkpoint.tar.part",
					    "checkpoint.tar.zst",
					    "checkpoint.tar.zst.part",
					    LOCK_FILE,
					    NULL};
	char path[TEMPLATE_PATH];

	for (size_t i = 0; files[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (unlink(path) == -1 && errno != ENOENT)
			return fail(err, errlen, "remove %s: %s", path, strerror(errno));
	}
	if (rmdir(dir) == -1 && errno != ENOENT)
		return fail(err, errlen, "remove %s: %s", dir, strerror(errno));
	return 0;
}

int
template_remove(const char *state_dir, const char *name, char *err, size_t errlen)
{
	struct buf dir;
	struct stat st;
	int lock = -1, ret = -1;

	buf_init(&dir, TEMPLATE_PATH);
	if (template_dir(state_dir, name, &dir, err, errlen) == -1)
		goto out;
	if (stat(buf_str(&dir), &st) == -1) {
		fail(err, errlen, "no template '%s' in %s/templates", name, state_dir);
		goto out;
	}
	lock = lock_dir(buf_str(&dir));
	if (lock == -1) {
		fail(err, errlen, "template '%s' is being created right now (%s)", name,
		     strerror(errno));
		goto out;
	}
	ret = remove_dir_files(buf_str(&dir), err, errlen);
out:
	if (lock != -1)
		close(lock);
	buf_free(&dir);
	return ret;
}

/* --- checks on a running template container ---------------------------------- */

int
template_count_tcp_connections(const char *text, char *first, size_t firstlen)
{
	const char *line = text;
	int count = 0;

	if (first != NULL && firstlen > 0)
		first[0] = '\0';
	while (line != NULL && *line != '\0') {
		const char *nl = strchr(line, '\n');
		size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
		char copy[512], *save = NULL, *f[10];
		int nf = 0;

		if (len < sizeof(copy)) {
			memcpy(copy, line, len);
			copy[len] = '\0';
			for (char *t = strtok_r(copy, " \t", &save); t != NULL && nf < 10;
			     t = strtok_r(NULL, " \t", &save))
				f[nf++] = t;
		}
		/* sl local remote st tx:rx tr:when retrnsmt uid timeout inode */
		if (nf == 10 && strchr(f[0], ':') != NULL && isdigit((unsigned char)f[0][0])) {
			unsigned long st = strtoul(f[3], NULL, 16);
			unsigned long long inode = strtoull(f[9], NULL, 10);

			/* 0x0A LISTEN, 0x07 CLOSE; inode 0 = orphan no process holds */
			if (st != 0x0A && st != 0x07 && inode != 0) {
				if (count == 0 && first != NULL && firstlen > 0) {
					const char *lp = strrchr(f[1], ':'),
						   *rp = strrchr(f[2], ':');

					snprintf(first, firstlen,
						 "port %lu -> port %lu, state %02lX",
						 lp != NULL ? strtoul(lp + 1, NULL, 16) : 0,
						 rp != NULL ? strtoul(rp + 1, NULL, 16) : 0, st);
				}
				count++;
			}
		}
		line = nl != NULL ? nl + 1 : NULL;
	}
	return count;
}

int
template_parse_bytes(const char *s, long long *out)
{
	char *end;
	long long v, mult = 1;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (tolower((unsigned char)*end)) {
	case '\0':
		break;
	case 'k':
		mult = 1024LL;
		break;
	case 'm':
		mult = 1024LL * 1024;
		break;
	case 'g':
		mult = 1024LL * 1024 * 1024;
		break;
	case 't':
		mult = 1024LL * 1024 * 1024 * 1024;
		break;
	default:
		return -1;
	}
	if (*end != '\0') {
		end++;
		if (tolower((unsigned char)*end) == 'b')
			end++;
		if (*end != '\0')
			return -1;
	}
	if (v > (1LL << 62) / mult)
		return -1;
	*out = v * mult;
	return 0;
}

/* --- demux template create ----------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

struct create {
	struct podman *p;
	struct template_meta m;
	const char *state_dir;
	char dir[TEMPLATE_PATH];
	char container[128];
	int app_host_port;
	int db_host_port;
	int timeout_s;
	bool tty;
	bool created_container;
};

static double
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void progress(const struct create *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
progress(const struct create *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->tty)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

/* A port on 127.0.0.1 that nothing listens on right now. */
static int
free_port(char *err, size_t errlen)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (s == -1)
		return fail(err, errlen, "socket: %s", strerror(errno));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    getsockname(s, (struct sockaddr *)&a, &alen) == -1)
		fail(err, errlen, "choosing a free port: %s", strerror(errno));
	else
		port = ntohs(a.sin_port);
	close(s);
	return port;
}

static size_t
discard_body(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

/* GET http://127.0.0.1:port/path with "Host: domain". 0 with *status, or -1. */
static int
http_get(int port, const char *domain, const char *path, long timeout_ms, long *status, char *err,
	 size_t errlen)
{
	char url[TEMPLATE_STR + 64], host[DOMAIN_MAX + 16];
	struct curl_slist *hdrs = NULL;
	CURL *c = curl_easy_init();
	CURLcode rc;

	if (c == NULL)
		fatalx("curl_easy_init failed");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	snprintf(host, sizeof(host), "Host: %s", domain);
	hdrs = curl_slist_append(hdrs, host);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
	rc = curl_easy_perform(c);
	*status = 0;
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	else
		snprintf(err, errlen, "%s", curl_easy_strerror(rc));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return rc == CURLE_OK ? 0 : -1;
}

/* The container's last log lines as one line ("a | b | c"). */
static void
log_tail(struct create *c, char *out, size_t outlen)
{
	struct buf logs;
	char lerr[256];
	size_t o = 0;
	bool sep = false;

	buf_init(&logs, (size_t)64 * 1024);
	out[0] = '\0';
	if (podman_logs(c->p, c->container, LOG_TAIL_LINES, &logs, lerr, sizeof(lerr)) == -1) {
		snprintf(out, outlen, "(no logs: %s)", lerr);
		buf_free(&logs);
		return;
	}
	for (const char *s = buf_str(&logs); *s != '\0' && o + 4 < outlen; s++) {
		if (*s == '\n' || *s == '\r') {
			sep = o > 0;
			continue;
		}
		if (sep) {
			o += (size_t)snprintf(out + o, outlen - o, " | ");
			sep = false;
			if (o + 1 >= outlen)
				break;
		}
		out[o++] = (unsigned char)*s < 0x20 ? ' ' : *s;
	}
	if (o >= outlen)
		o = outlen - 1;
	out[o] = '\0';
	if (o == 0)
		snprintf(out, outlen, "(no output)");
	buf_free(&logs);
}

static int
wait_healthy(struct create *c, char *err, size_t errlen)
{
	double start = mono_ms(), deadline = start + c->timeout_s * 1000.0, next_check = 0;
	char last[256] = "no answer yet", tail[768];
	struct container_info info;

	for (;;) {
		double now = mono_ms();
		long status;

		if (interrupted)
			return fail(err, errlen, "interrupted");
		if (now >= next_check) {
			if (podman_inspect(c->p, c->container, &info, NULL, err, errlen) == -1)
				return -1;
			if (!info.running) {
				log_tail(c, tail, sizeof(tail));
				return fail(err, errlen,
					    "template container %s stopped (%s, exit code %d) "
					    "before %s answered; its last log lines: %s",
					    c->container, info.state, info.exit_code,
					    c->m.health_path, tail);
			}
			next_check = now + 1000;
		}
		progress(c, "\rdemux: waiting for http://127.0.0.1:%d%s (Host: %s) %ds ",
			 c->app_host_port, c->m.health_path, c->m.domain,
			 (int)((now - start) / 1000));
		if (http_get(c->app_host_port, c->m.domain, c->m.health_path,
			     (long)(deadline - now), &status, last, sizeof(last)) == 0) {
			if (status >= 200 && status < 300) {
				progress(c, "- answered in %.1f s\n", (mono_ms() - start) / 1000);
				return 0;
			}
			snprintf(last, sizeof(last), "HTTP %ld", status);
		}
		if (mono_ms() + HEALTH_POLL_MS >= deadline)
			break;
		sleep_ms(HEALTH_POLL_MS);
	}
	progress(c, "\n");
	log_tail(c, tail, sizeof(tail));
	return fail(err, errlen,
		    "health check http://127.0.0.1:%d%s (Host: %s) did not answer 2xx within %d s "
		    "(last: %s); container's last log lines: %s",
		    c->app_host_port, c->m.health_path, c->m.domain, c->timeout_s, last, tail);
}

static int
warm_pages(struct create *c, char *err, size_t errlen)
{
	char why[256];
	long status;

	for (int i = 0; i < c->m.nwarm; i++) {
		double t0 = mono_ms();

		if (interrupted)
			return fail(err, errlen, "interrupted");
		progress(c, "demux: warming %s ", c->m.warm[i]);
		if (http_get(c->app_host_port, c->m.domain, c->m.warm[i], 120000L, &status, why,
			     sizeof(why)) == -1) {
			progress(c, "\n");
			return fail(err, errlen, "warm page %s: %s", c->m.warm[i], why);
		}
		progress(c, "- HTTP %ld in %.0f ms\n", status, mono_ms() - t0);
		if (status >= 400)
			return fail(err, errlen, "warm page %s answered HTTP %ld", c->m.warm[i],
				    status);
	}
	return 0;
}

/* Waits until no process in the container holds a connected TCP socket. */
static int
wait_tcp_quiet(struct create *c, char *err, size_t errlen)
{
	double deadline = mono_ms() + TCP_QUIET_WAIT_MS;
	struct container_info info;
	char first[128] = "";
	int pid, n = 0;

	if (podman_inspect(c->p, c->container, &info, &pid, err, errlen) == -1)
		return -1;
	if (pid <= 0)
		return fail(err, errlen, "template container %s is not running (%s)", c->container,
			    info.state);
	for (;;) {
		static const char *const files[] = {"tcp", "tcp6"};

		n = 0;
		for (size_t i = 0; i < 2; i++) {
			char path[64], why[256];
			struct buf text;

			snprintf(path, sizeof(path), "/proc/%d/net/%s", pid, files[i]);
			if (buf_read_file(path, (size_t)16 * 1024 * 1024, &text, why,
					  sizeof(why)) == -1) {
				buf_free(&text);
				if (i == 1)
					continue; /* no IPv6 in the container */
				return fail(err, errlen, "reading the container's sockets: %s",
					    why);
			}
			n += template_count_tcp_connections(buf_str(&text), n == 0 ? first : NULL,
							    sizeof(first));
			buf_free(&text);
		}
		if (n == 0)
			return 0;
		if (interrupted)
			return fail(err, errlen, "interrupted");
		if (mono_ms() >= deadline)
			break;
		progress(c, "\rdemux: waiting for %d TCP connection%s to close ", n,
			 n == 1 ? "" : "s");
		sleep_ms(200);
	}
	progress(c, "\n");
	return fail(err, errlen,
		    "%d TCP connection%s still open inside the template after %d s (%s); CRIU "
		    "cannot checkpoint them: close them (e.g. database clients) and retry",
		    n, n == 1 ? "" : "s", TCP_QUIET_WAIT_MS / 1000, first);
}

static void
format_bytes(long long n, char *out, size_t outlen)
{
	if (n >= 1024LL * 1024 * 1024)
		snprintf(out, outlen, "%.1f GB", (double)n / (1024.0 * 1024 * 1024));
	else if (n >= 1024LL * 1024)
		snprintf(out, outlen, "%.1f MB", (double)n / (1024.0 * 1024));
	else if (n >= 1024)
		snprintf(out, outlen, "%.1f KB", (double)n / 1024.0);
	else
		snprintf(out, outlen, "%lld B", n);
}

static int
create_template(struct create *c, const struct template_options *opt, char *err, size_t errlen)
{
	struct podman_image *img = xcalloc(1, sizeof(*img));
	struct template_spec_buf *sb = xcalloc(1, sizeof(*sb));
	struct container_spec spec;
	struct stat st;
	char rmerr[256], size[32];
	int lock = -1, ret = -1;
	bool made_dir = false;

	if (podman_image_inspect(c->p, opt->image, img, err, errlen) == -1 ||
	    template_resolve(opt, img, &c->m, err, errlen) == -1)
		goto out;
	snprintf(c->container, sizeof(c->container), "%s%s", TEMPLATE_CONTAINER_PREFIX, c->m.name);
	if (snprintf(c->dir, sizeof(c->dir), "%s/templates/%s", c->state_dir, c->m.name) >=
	    (int)sizeof(c->dir)) {
		fail(err, errlen, "state directory path too long");
		goto out;
	}
	if (mkdir_p(c->state_dir, 0700, err, errlen) == -1)
		goto out;
	{
		char tdir[TEMPLATE_PATH];

		snprintf(tdir, sizeof(tdir), "%s/templates", c->state_dir);
		if (mkdir_p(tdir, 0700, err, errlen) == -1)
			goto out;
	}
	if (mkdir(c->dir, 0700) == -1 && errno != EEXIST) {
		fail(err, errlen, "mkdir %s: %s", c->dir, strerror(errno));
		goto out;
	}
	lock = lock_dir(c->dir);
	if (lock == -1) {
		fail(err, errlen, "template '%s' is being created by another demux (%s)", c->m.name,
		     strerror(errno));
		goto out;
	}
	{
		char meta[TEMPLATE_PATH + 32];

		snprintf(meta, sizeof(meta), "%s/%s", c->dir, META_FILE);
		if (stat(meta, &st) == 0) {
			fail(err, errlen,
			     "template '%s' already exists (remove it first: demux template rm %s)",
			     c->m.name, c->m.name);
			goto out;
		}
	}
	made_dir = true;
	if (snprintf(c->m.archive_path, sizeof(c->m.archive_path), "%s/checkpoint.tar%s", c->dir,
		     c->m.compressed ? ".zst" : "") >= (int)sizeof(c->m.archive_path)) {
		fail(err, errlen, "state directory path too long");
		goto out;
	}
	if (c->app_host_port == 0 && (c->app_host_port = free_port(err, errlen)) == -1)
		goto out;
	if (c->m.db_port > 0 && (c->db_host_port = free_port(err, errlen)) == -1)
		goto out;
	if (template_cold_start_spec(&c->m, c->container, c->app_host_port, c->db_host_port, &spec,
				     sb, err, errlen) == -1)
		goto out;
	/* A template container left by a killed create holds the name. */
	if (podman_remove(c->p, c->container, err, errlen) == -1)
		goto out;
	progress(c, "demux: starting %s from %s (app on 127.0.0.1:%d%s)\n", c->container,
		 c->m.image, c->app_host_port, c->m.db_wrapper ? ", MariaDB wrapper" : "");
	c->created_container = true;
	if (podman_create_start(c->p, &spec, err, errlen) == -1)
		goto out;
	if (wait_healthy(c, err, errlen) == -1 || warm_pages(c, err, errlen) == -1 ||
	    wait_tcp_quiet(c, err, errlen) == -1)
		goto out;
	progress(c, "demux: checkpointing %s into %s\n", c->container, c->m.archive_path);
	if (podman_checkpoint(c->p, c->container, c->m.archive_path, false, c->m.compressed,
			      &c->m.checkpoint, err, errlen) == -1)
		goto out;
	c->m.archive_bytes = c->m.checkpoint.archive_bytes;
	c->m.created_at = (long long)time(NULL);
	if (template_save(c->state_dir, &c->m, err, errlen) == -1)
		goto out;
	format_bytes(c->m.archive_bytes, size, sizeof(size));
	printf("template %s: %s (%s), checkpoint %.0f ms (CRIU %.0f ms, %lld pages)\n", c->m.name,
	       c->m.archive_path, size, c->m.checkpoint.wall_ms, c->m.checkpoint.criu_ms,
	       c->m.checkpoint.pages_written);
	ret = 0;
out:
	if (c->created_container && podman_remove(c->p, c->container, rmerr, sizeof(rmerr)) == -1)
		log_warnx("template: removing container name=%s: %s", c->container, rmerr);
	if (ret == -1 && made_dir && remove_dir_files(c->dir, rmerr, sizeof(rmerr)) == -1)
		log_warnx("template: cleaning %s: %s", c->dir, rmerr);
	if (lock != -1)
		close(lock);
	free(sb);
	free(img);
	return ret;
}

/* --- command line ------------------------------------------------------------- */

enum {
	OPT_CONFIG = 1000,
	OPT_STATE_DIR,
	OPT_SOCKET,
	OPT_NAME,
	OPT_IMAGE,
	OPT_PROFILE,
	OPT_PORT,
	OPT_HOST_PORT,
	OPT_DB_PORT,
	OPT_WARM,
	OPT_HEALTH,
	OPT_TIMEOUT,
	OPT_MEMORY,
	OPT_PIDS,
	OPT_CPUS,
	OPT_LABEL,
	OPT_ENV,
	OPT_DOMAIN,
	OPT_COMPRESS,
	OPT_DB_NAME,
	OPT_DB_USER,
	OPT_DB_PASSWORD,
	OPT_HELP,
};

static const struct option long_options[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"socket", required_argument, NULL, OPT_SOCKET},
    {"name", required_argument, NULL, OPT_NAME},
    {"image", required_argument, NULL, OPT_IMAGE},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"port", required_argument, NULL, OPT_PORT},
    {"host-port", required_argument, NULL, OPT_HOST_PORT},
    {"db-port", required_argument, NULL, OPT_DB_PORT},
    {"warm", required_argument, NULL, OPT_WARM},
    {"health", required_argument, NULL, OPT_HEALTH},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"memory", required_argument, NULL, OPT_MEMORY},
    {"pids", required_argument, NULL, OPT_PIDS},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"label", required_argument, NULL, OPT_LABEL},
    {"env", required_argument, NULL, OPT_ENV},
    {"domain", required_argument, NULL, OPT_DOMAIN},
    {"compress", required_argument, NULL, OPT_COMPRESS},
    {"db-name", required_argument, NULL, OPT_DB_NAME},
    {"db-user", required_argument, NULL, OPT_DB_USER},
    {"db-password", required_argument, NULL, OPT_DB_PASSWORD},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static void
usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: demux template create --name NAME --image IMAGE [options]\n"
	    "       demux template ls\n"
	    "       demux template rm NAME\n"
	    "\n"
	    "create options (image labels demux.* give the defaults):\n"
	    "  --profile prestashop|wordpress|generic\n"
	    "  --port N            app port inside the container (demux.app_port, else 80)\n"
	    "  --db-port N         database port inside the container (demux.db_port)\n"
	    "  --host-port N       publish the app on 127.0.0.1:N (default: a free port)\n"
	    "  --health PATH       must answer 2xx before the checkpoint (demux.health)\n"
	    "  --warm PATH         page to fetch before the checkpoint (repeatable; default /)\n"
	    "  --timeout DURATION  how long to wait for the health URL (default 300s)\n"
	    "  --domain HOST       the template's own domain, sent as Host (demux.domain)\n"
	    "  --memory SIZE --pids N --cpus F   limits every restored copy inherits\n"
	    "                      (default 1g, 1024, 1.0; 0 = no limit)\n"
	    "  --label K=V --env K=V             extra labels / environment (repeatable)\n"
	    "  --db-name, --db-user, --db-password   database credentials (demux.db_*)\n"
	    "  --compress none|zstd              archive compression (default none)\n"
	    "common options: --config FILE (or DEMUX_CONFIG), --state-dir DIR, --socket PATH\n");
}

static int
parse_int_arg(const char *opt, const char *v, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || *out < lo || *out > hi) {
		fprintf(stderr, "demux: template: %s '%s' must be a number in %ld..%ld\n", opt, v,
			lo, hi);
		return -1;
	}
	return 0;
}

static int
add_list(const char **list, int *n, const char *opt, const char *v)
{
	if (*n >= TEMPLATE_MAX_LIST) {
		fprintf(stderr, "demux: template: at most %d %s options\n", TEMPLATE_MAX_LIST, opt);
		return -1;
	}
	list[(*n)++] = v;
	return 0;
}

static int
cmd_ls(const char *state_dir)
{
	struct template_meta *list = NULL;
	char err[1024], size[32], when[32];
	int n = 0;

	if (template_list(state_dir, &list, &n, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: template ls: %s\n", err);
		free(list);
		return 1;
	}
	if (n == 0) {
		printf("no templates in %s/templates\n", state_dir);
		free(list);
		return 0;
	}
	printf("%-20s %-40s %-10s %-10s %10s %10s  %s\n", "NAME", "IMAGE", "PROFILE", "ARCHIVE",
	       "SIZE", "CHECKPOINT", "CREATED");
	for (int i = 0; i < n; i++) {
		time_t t = (time_t)list[i].created_at;
		struct tm tm;

		format_bytes(list[i].archive_bytes, size, sizeof(size));
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
		printf("%-20s %-40s %-10s %-10s %10s %7.0f ms  %s\n", list[i].name, list[i].image,
		       list[i].profile, list[i].compressed ? "tar.zst" : "tar", size,
		       list[i].checkpoint.wall_ms, when);
	}
	free(list);
	return 0;
}

int
cmd_template(int argc, char **argv)
{
	struct template_options opt;
	struct create *c = NULL;
	struct config *cfg = NULL;
	struct sigaction sa, old_int, old_term;
	const char *config_path = getenv("DEMUX_CONFIG"), *state_dir = NULL, *socket = NULL;
	const char *sub;
	char **av = argv + 1, err[2048];
	long n;
	int ch, host_port = 0, timeout_s = TEMPLATE_DEFAULT_TIMEOUT_S, rc = 2;
	enum log_level lvl;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	sub = argv[1];
	if (strcmp(sub, "create") != 0 && strcmp(sub, "ls") != 0 && strcmp(sub, "rm") != 0) {
		fprintf(stderr, "demux: template: unknown subcommand '%s' (create, ls, rm)\n", sub);
		return 2;
	}
	template_options_init(&opt);
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc - 1, av, "", long_options, NULL)) != -1) {
		bool create_only = ch >= OPT_NAME && ch < OPT_HELP;

		if (create_only && strcmp(sub, "create") != 0) {
			fprintf(stderr, "demux: template %s: option %s is for create only\n", sub,
				av[optind - 1]);
			goto out;
		}
		switch (ch) {
		case OPT_CONFIG:
			config_path = optarg;
			break;
		case OPT_STATE_DIR:
			state_dir = optarg;
			break;
		case OPT_SOCKET:
			socket = optarg;
			break;
		case OPT_NAME:
			opt.name = optarg;
			break;
		case OPT_IMAGE:
			opt.image = optarg;
			break;
		case OPT_PROFILE:
			opt.profile = optarg;
			break;
		case OPT_PORT:
			if (parse_int_arg("--port", optarg, 1, 65535, &n) == -1)
				goto out;
			opt.app_port = (int)n;
			break;
		case OPT_HOST_PORT:
			if (parse_int_arg("--host-port", optarg, 1, 65535, &n) == -1)
				goto out;
			host_port = (int)n;
			break;
		case OPT_DB_PORT:
			if (parse_int_arg("--db-port", optarg, 0, 65535, &n) == -1)
				goto out;
			opt.db_port = (int)n;
			break;
		case OPT_WARM:
			if (add_list(opt.warm, &opt.nwarm, "--warm", optarg) == -1)
				goto out;
			break;
		case OPT_HEALTH:
			opt.health_path = optarg;
			break;
		case OPT_TIMEOUT:
			if (config_parse_duration(optarg, &timeout_s) == -1 || timeout_s < 1) {
				fprintf(stderr,
					"demux: template: --timeout '%s' is not a duration (30s, "
					"5m)\n",
					optarg);
				goto out;
			}
			break;
		case OPT_MEMORY:
			if (template_parse_bytes(optarg, &opt.memory_bytes) == -1) {
				fprintf(stderr,
					"demux: template: --memory '%s' is not a size (512m, 1g)\n",
					optarg);
				goto out;
			}
			break;
		case OPT_PIDS:
			if (parse_int_arg("--pids", optarg, 0, 4194304, &n) == -1)
				goto out;
			opt.pids_limit = n;
			break;
		case OPT_CPUS: {
			char *end;

			errno = 0;
			opt.cpus = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' || opt.cpus < 0) {
				fprintf(stderr, "demux: template: --cpus '%s' is not a number\n",
					optarg);
				goto out;
			}
			break;
		}
		case OPT_LABEL:
			if (add_list(opt.labels, &opt.nlabels, "--label", optarg) == -1)
				goto out;
			break;
		case OPT_ENV:
			if (add_list(opt.env, &opt.nenv, "--env", optarg) == -1)
				goto out;
			break;
		case OPT_DOMAIN:
			opt.domain = optarg;
			break;
		case OPT_COMPRESS:
			if (strcmp(optarg, "zstd") != 0 && strcmp(optarg, "none") != 0) {
				fprintf(stderr,
					"demux: template: --compress must be none or zstd\n");
				goto out;
			}
			opt.compress = strcmp(optarg, "zstd") == 0;
			break;
		case OPT_DB_NAME:
			opt.db_name = optarg;
			break;
		case OPT_DB_USER:
			opt.db_user = optarg;
			break;
		case OPT_DB_PASSWORD:
			opt.db_password = optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			rc = 0;
			goto out;
		default:
			fprintf(stderr, "demux: template %s: unknown or incomplete option '%s'\n",
				sub, av[optind - 1]);
			goto out;
		}
	}
	optind++; /* index into argv, not argv + 1 */
	if (strcmp(sub, "rm") == 0 ? optind != argc - 1 : optind != argc) {
		fprintf(stderr, "demux: template %s: unexpected arguments\n", sub);
		usage(stderr);
		goto out;
	}
	cfg = xcalloc(1, sizeof(*cfg));
	rc = 1;
	if (config_load(cfg, config_path, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: %s\n", err);
		goto out;
	}
	if (log_level_parse(cfg->log_level, &lvl) == 0)
		log_set_level(lvl);
	if (state_dir == NULL)
		state_dir = cfg->state_dir;
	if (socket == NULL)
		socket = cfg->podman_socket;
	if (strcmp(sub, "ls") == 0) {
		rc = cmd_ls(state_dir);
		goto out;
	}
	if (strcmp(sub, "rm") == 0) {
		if (template_remove(state_dir, argv[optind], err, sizeof(err)) == -1) {
			fprintf(stderr, "demux: template rm: %s\n", err);
			goto out;
		}
		printf("template %s removed\n", argv[optind]);
		rc = 0;
		goto out;
	}

	/* create: check what needs no Podman first, so bad input fails fast. */
	if (opt.name == NULL || opt.image == NULL) {
		fprintf(stderr, "demux: template create: --name and --image are required\n");
		rc = 2;
		goto out;
	}
	if (validate_name(opt.name, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: template create: template name '%s': %s\n", opt.name, err);
		goto out;
	}
	if (opt.profile != NULL && !profile_known(opt.profile)) {
		fprintf(stderr,
			"demux: template create: unknown profile '%s' (known: prestashop, "
			"wordpress, generic)\n",
			opt.profile);
		goto out;
	}
	c = xcalloc(1, sizeof(*c));
	c->state_dir = state_dir;
	c->app_host_port = host_port;
	c->timeout_s = timeout_s;
	c->tty = isatty(STDERR_FILENO) == 1;
	c->p = podman_open(socket, cfg->podman_timeout_ms);
	if (podman_ping(c->p, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: template create: %s\n", err);
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	rc = create_template(c, &opt, err, sizeof(err)) == 0 ? 0 : 1;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (rc != 0)
		fprintf(stderr, "demux: template create: %s\n", err);
out:
	if (c != NULL)
		podman_close(c->p);
	free(c);
	free(cfg);
	return rc;
}
