/*
 * template — what a checkpointed template is: its metadata, how it is
 * resolved from options and image labels, and where it lives on disk.
 *
 * The pool needs only this part (template_load, template_cold_start_spec);
 * making a template is template_create.c, the command template_cmd.c.
 *
 * The metadata (template.json) is written to a temporary file and renamed, so
 * a reader sees the old or the new version, never half of one. A template
 * directory is created first and locked (flock on .lock) for the whole of
 * "create" (template_dir_claim): two creates of one name cannot race, and a
 * directory left by a killed create is recognised (no template.json, lock
 * free) and reused.
 */
#include "template.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/profile.h"
#include "buf.h"
#include "errf.h"
#include "id.h"
#include "log.h"
#include "mkpath.h"
#include "template_restore.h"
#include "template_version.h"
#include "xmalloc.h"

#define META_FILE "template.json"
#define LOCK_FILE ".lock"
#define META_MAX ((size_t)1024 * 1024)

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
    "--port=\"$MYSQL_PORT\" --bind-address=127.0.0.1 --skip-name-resolve "
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
	opt->disk_bytes = -1;
	opt->cpus = -1;
}

/* Database names and users: ^[A-Za-z0-9_]{1,63}$ (they reach SQL unquoted). */
static int
check_ident(const char *what, const char *s, char *err, size_t errlen)
{
	size_t i;

	if (s[0] == '\0')
		return errf(err, errlen, "%s is empty", what);
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return errf(err, errlen, "%s may hold only A-Z, a-z, 0-9 and _", what);
	if (i > 63)
		return errf(err, errlen, "%s is longer than 63 characters", what);
	return 0;
}

/* Secrets end up in shell and SQL strings: no quotes, backslashes, '$' or spaces. */
static int
check_secret(const char *what, const char *s, char *err, size_t errlen)
{
	for (size_t i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr("'\"\\`$", c) != NULL)
			return errf(err, errlen,
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
		return errf(err, errlen, "%s '%s' is not KEY=VALUE", what, s);
	if (strlen(s) >= TEMPLATE_STR)
		return errf(err, errlen, "%s '%.40s...' is longer than %d characters", what, s,
			    TEMPLATE_STR - 1);
	if (reserve_demux &&
	    ((strncmp(s, RUNTIME_LABEL_MANAGED, strlen(RUNTIME_LABEL_MANAGED)) == 0 &&
	      s[strlen(RUNTIME_LABEL_MANAGED)] == '=') ||
	     (strncmp(s, RUNTIME_LABEL_TEMPLATE, strlen(RUNTIME_LABEL_TEMPLATE)) == 0 &&
	      s[strlen(RUNTIME_LABEL_TEMPLATE)] == '=')))
		return errf(err, errlen, "%s '%s' is set by demux itself", what, s);
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
		return errf(err, errlen, "image label %s='%s' is not a port number", key, v);
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
		return errf(err, errlen, "%s is longer than %zu characters", what, dstlen - 1);
	return 0;
}

/* A default from the profile: the stock image's where the template is made
 * from one and it has its own, else the profile's, else def. */
static const char *
profile_default(const char *stock, const char *profile, const char *def)
{
	if (stock != NULL)
		return stock;
	return profile != NULL ? profile : def;
}

/* Name, image and profile; whether the image is run through the MariaDB
 * wrapper (a stock image: no demux.profile label, a profile that knows one).
 * *stock is then its defaults, else NULL. */
static int
resolve_profile(const struct template_options *opt, const struct podman_image *img,
		struct template_meta *m, const struct profile **p,
		const struct profile_stock_image **stock, char *err, size_t errlen)
{
	const char *name;
	bool ours;
	char why[256];

	if (opt->name == NULL)
		return errf(err, errlen, "--name is required");
	if (validate_name(opt->name, why, sizeof(why)) == -1)
		return errf(err, errlen, "template name '%s': %s", opt->name, why);
	if (opt->image == NULL || opt->image[0] == '\0')
		return errf(err, errlen, "--image is required");
	ours = podman_image_label(img, "demux.profile") != NULL;
	name = pick(opt->profile, img, "demux.profile", "generic");
	*p = profile_find(name);
	if (*p == NULL) {
		profile_names(why, sizeof(why));
		return errf(err, errlen, "unknown profile '%s' (known: %s)", name, why);
	}
	*stock = ours ? NULL : (*p)->stock_image;
	m->db_wrapper = *stock != NULL;
	if (set_field(m->name, sizeof(m->name), "name", opt->name, err, errlen) == -1 ||
	    set_field(m->image, sizeof(m->image), "image", opt->image, err, errlen) == -1 ||
	    set_field(m->image_id, sizeof(m->image_id), "image id", img->id, err, errlen) == -1 ||
	    set_field(m->profile, sizeof(m->profile), "profile", name, err, errlen) == -1)
		return -1;
	return 0;
}

/* App and database ports inside the container. */
static int
resolve_ports(const struct template_options *opt, const struct podman_image *img,
	      const struct profile_stock_image *stock, struct template_meta *m, char *err,
	      size_t errlen)
{
	m->app_port = 80;
	if (label_port(img, "demux.app_port", &m->app_port, err, errlen) == -1)
		return -1;
	if (opt->app_port >= 0)
		m->app_port = opt->app_port;
	if (m->app_port < 1 || m->app_port > 65535)
		return errf(err, errlen, "--port %d is not a port number", m->app_port);
	m->db_port = stock != NULL ? stock->db_port : 0;
	if (label_port(img, "demux.db_port", &m->db_port, err, errlen) == -1)
		return -1;
	if (opt->db_port >= 0)
		m->db_port = opt->db_port;
	if (m->db_port > 65535)
		return errf(err, errlen, "--db-port %d is not a port number", m->db_port);
	return 0;
}

/* Database credentials and table prefix. */
static int
resolve_db(const struct template_options *opt, const struct podman_image *img,
	   const struct profile *p, const struct profile_stock_image *stock,
	   struct template_meta *m, char *err, size_t errlen)
{
	const char *v;
	char why[256];

	if (set_field(m->db_name, sizeof(m->db_name), "database name",
		      pick(opt->db_name, img, "demux.db_name", stock != NULL ? stock->db_name : ""),
		      err, errlen) == -1 ||
	    set_field(m->db_user, sizeof(m->db_user), "database user",
		      pick(opt->db_user, img, "demux.db_user", stock != NULL ? stock->db_user : ""),
		      err, errlen) == -1 ||
	    set_field(m->db_password, sizeof(m->db_password), "database password",
		      pick(opt->db_password, img, "demux.db_password", ""), err, errlen) == -1)
		return -1;
	if (m->db_wrapper && m->db_password[0] == '\0' && random_password(m->db_password, 21) == -1)
		return errf(err, errlen, "no randomness for a database password");
	if ((m->db_name[0] != '\0' &&
	     check_ident("database name", m->db_name, err, errlen) == -1) ||
	    (m->db_user[0] != '\0' &&
	     check_ident("database user", m->db_user, err, errlen) == -1) ||
	    check_secret("database password", m->db_password, err, errlen) == -1)
		return -1;
	if (m->db_wrapper && (m->db_name[0] == '\0' || m->db_user[0] == '\0'))
		return errf(err, errlen, "the MariaDB wrapper needs a database name and user");

	v = pick(NULL, img, "demux.db_socket", TEMPLATE_DEFAULT_DB_SOCKET);
	if (v[0] != '/' || strstr(v, "..") != NULL || strlen(v) > 80)
		return errf(err, errlen,
			    "image label demux.db_socket: '%s' is not an absolute path of at most "
			    "80 characters",
			    v);
	if (set_field(m->db_socket, sizeof(m->db_socket), "database socket", v, err, errlen) == -1)
		return -1;
	v = pick(NULL, img, "demux.db_prefix", profile_default(NULL, p->default_prefix, ""));
	if (v[0] != '\0' && validate_prefix(v, why, sizeof(why)) == -1)
		return errf(err, errlen, "image label demux.db_prefix: %s", why);
	return set_field(m->db_prefix, sizeof(m->db_prefix), "table prefix", v, err, errlen);
}

/* Domain, health and admin paths, admin login, the wrapper's start command. */
static int
resolve_site(const struct template_options *opt, const struct podman_image *img,
	     const struct profile *p, const struct profile_stock_image *stock,
	     struct template_meta *m, char *err, size_t errlen)
{
	const char *v;
	char domain[DOMAIN_MAX + 1], why[256];

	snprintf(domain, sizeof(domain), "%s.template.localhost", opt->name);
	if (validate_domain(domain, NULL, 0) == -1)
		snprintf(domain, sizeof(domain), "template.localhost");
	v = pick(opt->domain, img, "demux.domain", domain);
	if (validate_domain(v, why, sizeof(why)) == -1)
		return errf(err, errlen, "domain '%s': %s", v, why);
	if (set_field(m->domain, sizeof(m->domain), "domain", v, err, errlen) == -1)
		return -1;

	v = pick(opt->health_path, img, "demux.health",
		 profile_default(stock != NULL ? stock->health_path : NULL, p->health_path, "/"));
	if (validate_url_path(v, why, sizeof(why)) == -1)
		return errf(err, errlen, "health path '%s': %s", v, why);
	if (set_field(m->health_path, sizeof(m->health_path), "health path", v, err, errlen) == -1)
		return -1;
	if (set_field(m->admin_path, sizeof(m->admin_path), "admin path",
		      pick(NULL, img, "demux.admin_path", profile_default(NULL, p->admin_path, "")),
		      err, errlen) == -1 ||
	    set_field(
		m->admin_user, sizeof(m->admin_user), "admin user",
		pick(NULL, img, "demux.admin_user",
		     profile_default(stock != NULL ? stock->admin_user : NULL, p->admin_user, "")),
		err, errlen) == -1 ||
	    set_field(m->admin_password, sizeof(m->admin_password), "admin password",
		      pick(NULL, img, "demux.admin_password",
			   profile_default(stock != NULL ? stock->admin_password : NULL,
					   p->admin_password, "")),
		      err, errlen) == -1)
		return -1;
	if (stock != NULL &&
	    set_field(m->start_command, sizeof(m->start_command), "start command",
		      img->start[0] != '\0' ? img->start : stock->start_command, err, errlen) == -1)
		return -1;
	return 0;
}

/* Warm pages, extra labels and environment. */
static int
resolve_lists(const struct template_options *opt, struct template_meta *m, char *err, size_t errlen)
{
	char why[256];

	if (opt->nwarm > TEMPLATE_MAX_LIST || opt->nlabels > TEMPLATE_MAX_LIST ||
	    opt->nenv > TEMPLATE_MAX_LIST)
		return errf(err, errlen, "at most %d --warm, --label and --env each",
			    TEMPLATE_MAX_LIST);
	for (int i = 0; i < opt->nwarm; i++) {
		if (validate_url_path(opt->warm[i], why, sizeof(why)) == -1)
			return errf(err, errlen, "warm path '%s': %s", opt->warm[i], why);
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
	return 0;
}

long long
template_default_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	long long mem = pages > 0 && size > 0 ? (long long)pages * size / 32 : 0;
	const long long lo = 256LL * 1024 * 1024, hi = 1024LL * 1024 * 1024;

	return mem < lo ? lo : mem > hi ? hi : mem;
}

double
template_default_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	double c = n > 0 ? (double)n / 4 : 0.25;

	return c < 0.25 ? 0.25 : c > 1.0 ? 1.0 : c;
}

/* Checks a comma-separated list of capability names (CHOWN, not CAP_CHOWN);
 * with buf, also fills buf->caps and the NULL-terminated buf->capp. */
static int
split_caps(const char *list, struct template_spec_buf *buf, char *err, size_t errlen)
{
	int n = 0;
	const char *p = list;

	while (*p != '\0') {
		size_t len = strcspn(p, ",");
		if (len == 0 || len >= sizeof(buf->caps[0]) || n == TEMPLATE_MAX_CAPS)
			return errf(err, errlen,
				    "capabilities '%s': at most %d names of up to 31 characters, "
				    "separated by commas",
				    list, TEMPLATE_MAX_CAPS);
		for (size_t i = 0; i < len; i++)
			if (!((p[i] >= 'A' && p[i] <= 'Z') || p[i] == '_'))
				return errf(
				    err, errlen,
				    "capabilities '%s': names are upper case, such as CHOWN", list);
		if (buf != NULL) {
			memcpy(buf->caps[n], p, len);
			buf->caps[n][len] = '\0';
			buf->capp[n] = buf->caps[n];
		}
		n++;
		p += len;
		if (*p == ',')
			p++;
	}
	if (buf != NULL)
		buf->capp[n] = NULL;
	return 0;
}

int
template_resolve(const struct template_options *opt, const struct podman_image *img,
		 struct template_meta *m, char *err, size_t errlen)
{
	const struct profile *p = NULL;
	const struct profile_stock_image *stock = NULL;

	memset(m, 0, sizeof(*m));
	if (resolve_profile(opt, img, m, &p, &stock, err, errlen) == -1 ||
	    resolve_ports(opt, img, stock, m, err, errlen) == -1 ||
	    resolve_db(opt, img, p, stock, m, err, errlen) == -1 ||
	    resolve_site(opt, img, p, stock, m, err, errlen) == -1 ||
	    resolve_lists(opt, m, err, errlen) == -1)
		return -1;
	m->memory_bytes = opt->memory_bytes >= 0 ? opt->memory_bytes : template_default_memory();
	m->pids_limit = opt->pids_limit >= 0 ? opt->pids_limit : TEMPLATE_DEFAULT_PIDS;
	m->cpus = opt->cpus >= 0 ? opt->cpus : template_default_cpus();
	if (set_field(m->caps, sizeof(m->caps), "capabilities",
		      opt->caps != NULL ? opt->caps : TEMPLATE_DEFAULT_CAPS, err, errlen) == -1 ||
	    split_caps(m->caps, NULL, err, errlen) == -1)
		return -1;
	m->disk_bytes = opt->disk_bytes >= 0 ? opt->disk_bytes : TEMPLATE_DEFAULT_DISK;
	/* btrfs refuses a qgroup limit below what the container already uses */
	if (m->disk_bytes > 0 && m->disk_bytes < 16LL * 1024 * 1024)
		return errf(err, errlen, "--disk below 16 MB leaves a copy no room to run");
	if (m->memory_bytes > 0 && m->memory_bytes < 6LL * 1024 * 1024)
		return errf(err, errlen, "--memory below 6 MB cannot run a container");
	if (m->cpus > 1024)
		return errf(err, errlen, "--cpus %.2f is more than any machine has", m->cpus);
	m->compressed = opt->compress;
	if (opt->network != NULL &&
	    set_field(m->network, sizeof(m->network), "network", opt->network, err, errlen) == -1)
		return -1;
	m->egress = opt->egress;
	m->ksm = opt->ksm;
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
		return errf(err, errlen, "too many environment variables");
	va_start(ap, fmt);
	len = vsnprintf(b->env[*n], sizeof(b->env[*n]), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(b->env[*n]))
		return errf(err, errlen, "environment variable too long");
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
		return errf(err, errlen, "container name missing or too long");
	if (app_host_port < 1 || app_host_port > 65535)
		return errf(err, errlen, "host port %d is not a port number", app_host_port);
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
			return errf(err, errlen, "host port %d is not a port number", db_host_port);
		out->ports[1].host_port = db_host_port;
		out->ports[1].container_port = m->db_port;
		out->nports = 2;
	}
	out->network = m->network[0] != '\0' ? m->network : NULL;
	if (m->caps[0] != '\0') {
		if (split_caps(m->caps, buf, err, errlen) == -1)
			return -1;
		out->cap_keep = buf->capp;
	}
	out->memory_bytes = m->memory_bytes;
	out->pids_limit = m->pids_limit;
	out->cpus = m->cpus;
	out->disk_bytes = m->disk_bytes;
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
		errf(err, errlen, "template metadata holds text that is not UTF-8");
		return -1;
	}
	json_object_set_new(o, "labels", list_json((char(*)[TEMPLATE_STR])m->labels, m->nlabels));
	json_object_set_new(o, "env", list_json((char(*)[TEMPLATE_STR])m->env, m->nenv));
	json_object_set_new(o, "warm", list_json((char(*)[TEMPLATE_STR])m->warm, m->nwarm));
	json_object_set_new(o, "db_socket", json_string(m->db_socket));
	json_object_set_new(o, "caps", json_string(m->caps));
	json_object_set_new(o, "network", json_string(m->network));
	json_object_set_new(o, "egress", json_boolean(m->egress));
	json_object_set_new(o, "ksm", json_boolean(m->ksm));
	json_object_set_new(o, "archive_path", json_string(m->archive_path));
	if (m->restore_image[0] != '\0') {
		json_object_set_new(o, "restore_image", json_string(m->restore_image));
		json_object_set_new(o, "restore_image_id", json_string(m->restore_image_id));
	}
	json_object_set_new(o, "archive_bytes", json_integer(m->archive_bytes));
	json_object_set_new(o, "compressed", json_boolean(m->compressed));
	json_object_set_new(o, "checkpoint",
			    json_pack("{s:f, s:f, s:f, s:f, s:I}", "wall_ms", m->checkpoint.wall_ms,
				      "podman_ms", m->checkpoint.podman_ms, "runtime_ms",
				      m->checkpoint.runtime_ms, "criu_ms", m->checkpoint.criu_ms,
				      "pages_written", (json_int_t)m->checkpoint.pages_written));
	json_object_set_new(o, "created_at", json_integer(m->created_at));
	json_object_set_new(o, "version", json_integer(m->version > 0 ? m->version : 1));
	json_object_set_new(o, "memory_bytes", json_integer(m->memory_bytes));
	json_object_set_new(o, "pids_limit", json_integer(m->pids_limit));
	json_object_set_new(o, "cpus", json_real(m->cpus));
	json_object_set_new(o, "disk_bytes", json_integer(m->disk_bytes));
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
		return errf(err, errlen, "%s: missing or not a string", key);
	if (copy_str(dst, dstlen, json_string_value(v)) == -1)
		return errf(err, errlen, "%s: longer than %zu characters", key, dstlen - 1);
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
		return errf(err, errlen, "%s: not a list of at most %d strings", key,
			    TEMPLATE_MAX_LIST);
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v) ||
		    copy_str(items[i], TEMPLATE_STR, json_string_value(v)) == -1)
			return errf(err, errlen, "%s[%zu]: not a string of at most %d characters",
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
		errf(err, errlen, "not a JSON object (line %d: %s)", jerr.line, jerr.text);
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
	    get_str(o, "db_socket", m->db_socket, sizeof(m->db_socket), false, err, errlen) == -1 ||
	    get_str(o, "network", m->network, sizeof(m->network), false, err, errlen) == -1 ||
	    get_str(o, "caps", m->caps, sizeof(m->caps), false, err, errlen) == -1 ||
	    get_str(o, "archive_path", m->archive_path, sizeof(m->archive_path), true, err,
		    errlen) == -1 ||
	    get_str(o, "restore_image", m->restore_image, sizeof(m->restore_image), false, err,
		    errlen) == -1 ||
	    get_str(o, "restore_image_id", m->restore_image_id, sizeof(m->restore_image_id), false,
		    err, errlen) == -1 ||
	    get_list(o, "labels", m->labels, &m->nlabels, err, errlen) == -1 ||
	    get_list(o, "env", m->env, &m->nenv, err, errlen) == -1 ||
	    get_list(o, "warm", m->warm, &m->nwarm, err, errlen) == -1)
		goto out;
	if (profile_find(m->profile) == NULL) {
		errf(err, errlen, "profile: unknown profile '%s'", m->profile);
		goto out;
	}
	m->app_port = (int)get_num(o, "app_port");
	m->db_port = (int)get_num(o, "db_port");
	if (m->app_port < 1 || m->app_port > 65535 || m->db_port < 0 || m->db_port > 65535) {
		errf(err, errlen, "app_port/db_port: not port numbers");
		goto out;
	}
	m->db_wrapper = json_is_true(json_object_get(o, "db_wrapper"));
	m->egress = json_is_true(json_object_get(o, "egress"));
	m->ksm = json_is_true(json_object_get(o, "ksm"));
	if (m->db_socket[0] == '\0')
		snprintf(m->db_socket, sizeof(m->db_socket), "%s", TEMPLATE_DEFAULT_DB_SOCKET);
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
	m->version = (int)get_num(o, "version");
	if (m->version < 0 || m->version > 999999) {
		errf(err, errlen, "version: not a version number");
		goto out;
	}
	m->memory_bytes = (long long)get_num(o, "memory_bytes");
	m->pids_limit = (long long)get_num(o, "pids_limit");
	m->cpus = get_num(o, "cpus");
	m->disk_bytes = (long long)get_num(o, "disk_bytes");
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
		return errf(err, errlen, "state directory path too long");
	return 0;
}

int
template_save(const char *state_dir, const struct template_meta *m, char *err, size_t errlen)
{
	char dir[TEMPLATE_PATH];
	struct buf path, tmp;
	char *json = NULL;
	size_t len, off = 0;
	int fd = -1, ret = -1;

	buf_init(&path, TEMPLATE_PATH);
	buf_init(&tmp, TEMPLATE_PATH);
	if (template_version_dir(state_dir, m->name, m->version > 0 ? m->version : 1, dir,
				 sizeof(dir), err, errlen) == -1 ||
	    mkpath(dir, 0700, 0700, err, errlen) == -1)
		goto out;
	if (buf_printf(&path, "%s/%s", dir, META_FILE) == -1 ||
	    buf_printf(&tmp, "%s/%s.tmp", dir, META_FILE) == -1) {
		errf(err, errlen, "state directory path too long");
		goto out;
	}
	if (template_meta_to_json(m, &json, err, errlen) == -1)
		goto out;
	fd = open(buf_str(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || fchmod(fd, 0600) == -1) {
		errf(err, errlen, "%s: %s", buf_str(&tmp), strerror(errno));
		goto out;
	}
	len = strlen(json);
	while (off < len) {
		ssize_t n = write(fd, json + off, len - off);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			errf(err, errlen, "%s: %s", buf_str(&tmp), strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (write(fd, "\n", 1) != 1 || fsync(fd) == -1) {
		errf(err, errlen, "%s: %s", buf_str(&tmp), strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		errf(err, errlen, "%s: %s", buf_str(&tmp), strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(buf_str(&tmp), buf_str(&path)) == -1) {
		errf(err, errlen, "rename to %s: %s", buf_str(&path), strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	if (ret == -1 && tmp.len > 0)
		unlink(buf_str(&tmp));
	free(json);
	buf_free(&path);
	buf_free(&tmp);
	return ret;
}

int
template_load_version(const char *state_dir, const char *name, int version,
		      struct template_meta *out, char *err, size_t errlen)
{
	char dir[TEMPLATE_PATH];
	struct buf path, text;
	char why[512];
	int ret = -1;

	buf_init(&path, TEMPLATE_PATH);
	buf_init(&text, 1);
	if (template_version_dir(state_dir, name, version, dir, sizeof(dir), err, errlen) == -1)
		goto out;
	if (buf_printf(&path, "%s/%s", dir, META_FILE) == -1) {
		errf(err, errlen, "state directory path too long");
		goto out;
	}
	if (access(buf_str(&path), F_OK) == -1 && errno == ENOENT) {
		if (version == 1)
			errf(err, errlen, "no template '%s' in %s/templates", name, state_dir);
		else
			errf(err, errlen, "template '%s' has no version %d", name, version);
		goto out;
	}
	if (buf_read_file(buf_str(&path), META_MAX, &text, err, errlen) == -1)
		goto out;
	if (template_meta_from_json(buf_str(&text), out, why, sizeof(why)) == -1) {
		errf(err, errlen, "%s: %s", buf_str(&path), why);
		goto out;
	}
	if (strcmp(out->name, name) != 0) {
		errf(err, errlen, "%s: names template '%s', not '%s'", buf_str(&path), out->name,
		     name);
		goto out;
	}
	/* made before versions existed: the first */
	if (out->version == 0)
		out->version = 1;
	if (out->version != version) {
		errf(err, errlen, "%s: says version %d, not %d", buf_str(&path), out->version,
		     version);
		goto out;
	}
	/* An archive named relative to the version's directory (a moved state dir). */
	if (out->archive_path[0] != '/') {
		char rel[TEMPLATE_PATH];

		snprintf(rel, sizeof(rel), "%s", out->archive_path);
		if (snprintf(out->archive_path, sizeof(out->archive_path), "%s/%s", dir, rel) >=
		    (int)sizeof(out->archive_path)) {
			errf(err, errlen, "%s: archive path too long", buf_str(&path));
			goto out;
		}
	}
	if (out->restore_image[0] != '\0' &&
	    snprintf(out->restore_archive_path, sizeof(out->restore_archive_path), "%s/%s", dir,
		     TEMPLATE_RESTORE_ARCHIVE) >= (int)sizeof(out->restore_archive_path)) {
		errf(err, errlen, "%s: restore archive path too long", buf_str(&path));
		goto out;
	}
	ret = 0;
out:
	buf_free(&path);
	buf_free(&text);
	return ret;
}

int
template_load(const char *state_dir, const char *name, struct template_meta *out, char *err,
	      size_t errlen)
{
	int version;

	if (template_current(state_dir, name, &version, err, errlen) == -1)
		return -1;
	return template_load_version(state_dir, name, version, out, err, errlen);
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
		errf(err, errlen, "state directory path too long");
		goto out;
	}
	d = opendir(buf_str(&dir));
	if (d == NULL) {
		if (errno == ENOENT) {
			ret = 0;
			goto out;
		}
		errf(err, errlen, "%s: %s", buf_str(&dir), strerror(errno));
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

int
template_lock(const char *state_dir, const char *name, char *err, size_t errlen)
{
	char dir[TEMPLATE_PATH];
	int fd, saved;

	if (template_version_dir(state_dir, name, 1, dir, sizeof(dir), err, errlen) == -1) {
		errno = EINVAL;
		return -1;
	}
	fd = lock_dir(dir);
	if (fd == -1) {
		saved = errno;
		errf(err, errlen, "template '%s': lock in %s: %s", name, dir, strerror(saved));
		errno = saved;
	}
	return fd;
}

int
template_version_discard(const char *dir, bool remove_dir, char *err, size_t errlen)
{
	static const char *const files[] = {META_FILE,
					    "template.json.tmp",
					    "checkpoint.tar",
					    "checkpoint.tar.part",
					    "checkpoint.tar.zst",
					    "checkpoint.tar.zst.part",
					    "failed",
					    "failed.tmp",
					    NULL};
	char path[TEMPLATE_PATH];

	if (template_restore_discard(dir, err, errlen) == -1)
		return -1;
	for (size_t i = 0; files[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (unlink(path) == -1 && errno != ENOENT)
			return errf(err, errlen, "remove %s: %s", path, strerror(errno));
	}
	if (!remove_dir)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, LOCK_FILE);
	if (unlink(path) == -1 && errno != ENOENT)
		return errf(err, errlen, "remove %s: %s", path, strerror(errno));
	if (rmdir(dir) == -1 && errno != ENOENT)
		return errf(err, errlen, "remove %s: %s", dir, strerror(errno));
	return 0;
}

/* Removes templates/<name>/versions/N for every N, then versions/ itself. */
static int
discard_later_versions(const char *dir, char *err, size_t errlen)
{
	char sub[TEMPLATE_PATH], vdir[TEMPLATE_PATH + 300];
	DIR *d;
	struct dirent *e;
	int ret = 0;

	snprintf(sub, sizeof(sub), "%s/versions", dir);
	d = opendir(sub);
	if (d == NULL)
		return errno == ENOENT ? 0 : errf(err, errlen, "%s: %s", sub, strerror(errno));
	while (ret == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(vdir, sizeof(vdir), "%s/%s", sub, e->d_name);
		ret = template_version_discard(vdir, true, err, errlen);
	}
	closedir(d);
	if (ret == 0 && rmdir(sub) == -1 && errno != ENOENT)
		ret = errf(err, errlen, "remove %s: %s", sub, strerror(errno));
	return ret;
}

int
template_remove(const char *state_dir, const char *name, char *err, size_t errlen)
{
	struct buf dir, cur;
	struct stat st;
	int lock = -1, ret = -1;

	buf_init(&dir, TEMPLATE_PATH);
	buf_init(&cur, TEMPLATE_PATH);
	if (template_dir(state_dir, name, &dir, err, errlen) == -1)
		goto out;
	if (stat(buf_str(&dir), &st) == -1) {
		errf(err, errlen, "no template '%s' in %s/templates", name, state_dir);
		goto out;
	}
	lock = lock_dir(buf_str(&dir));
	if (lock == -1) {
		errf(err, errlen, "template '%s' is being created right now (%s)", name,
		     strerror(errno));
		goto out;
	}
	if (discard_later_versions(buf_str(&dir), err, errlen) == -1)
		goto out;
	if (buf_printf(&cur, "%s/current", buf_str(&dir)) == -1 ||
	    (unlink(buf_str(&cur)) == -1 && errno != ENOENT)) {
		errf(err, errlen, "remove %s: %s", buf_str(&cur), strerror(errno));
		goto out;
	}
	ret = template_version_discard(buf_str(&dir), true, err, errlen);
out:
	if (lock != -1)
		close(lock);
	buf_free(&dir);
	buf_free(&cur);
	return ret;
}

int
template_dir_claim(const char *state_dir, const char *name, char *dir, size_t dirlen, int *version,
		   int *lock, char *err, size_t errlen)
{
	int v[TEMPLATE_MAX_VERSIONS], n;

	*lock = -1;
	if (template_version_dir(state_dir, name, 1, dir, dirlen, err, errlen) == -1 ||
	    mkpath(dir, 0700, 0700, err, errlen) == -1)
		return -1;
	*lock = lock_dir(dir);
	if (*lock == -1)
		return errf(err, errlen, "template '%s' is being created by another demux (%s)",
			    name, strerror(errno));
	if (template_versions(state_dir, name, v, TEMPLATE_MAX_VERSIONS, &n, err, errlen) == -1)
		goto fail;
	*version = n > 0 ? v[n - 1] + 1 : 1;
	if (*version > TEMPLATE_VERSION_MAX) {
		errf(err, errlen, "template '%s' has reached version %d", name, v[n - 1]);
		goto fail;
	}
	if (template_version_dir(state_dir, name, *version, dir, dirlen, err, errlen) == -1 ||
	    mkpath(dir, 0700, 0700, err, errlen) == -1)
		goto fail;
	return 0;
fail:
	close(*lock);
	*lock = -1;
	return -1;
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
