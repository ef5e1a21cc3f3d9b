/*
 * Unit tests for template: the container specs demux sends (the
 * prestashop-flashlight wrapper, images with demux labels, cold starts),
 * template.json round trips, the template directory and sizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/podman.h"
#include "mkpath.h"
#include "template.h"
#include "template_version.h"

static void
add_label(struct podman_image *img, const char *k, const char *v)
{
	snprintf(img->labels[img->nlabels].key, sizeof(img->labels[0].key), "%s", k);
	snprintf(img->labels[img->nlabels].value, sizeof(img->labels[0].value), "%s", v);
	img->nlabels++;
}

static bool
has(const char *const *list, const char *want)
{
	for (size_t i = 0; list != NULL && list[i] != NULL; i++)
		if (strcmp(list[i], want) == 0)
			return true;
	return false;
}

static const char *
env_value(const char *const *list, const char *key)
{
	size_t n = strlen(key);

	for (size_t i = 0; list != NULL && list[i] != NULL; i++)
		if (strncmp(list[i], key, n) == 0 && list[i][n] == '=')
			return list[i] + n + 1;
	return NULL;
}

/* An image without demux labels + --profile prestashop = prestashop-flashlight. */
static void
test_flashlight_spec(void **state)
{
	struct podman_image img;
	struct template_options opt;
	struct template_meta m;
	struct template_spec_buf sb;
	struct container_spec spec;
	char err[512], *json, path[] = "/tmp/demux-wrapper.XXXXXX", cmd[128];
	json_t *root;
	json_error_t jerr;
	FILE *f;
	int fd;

	(void)state;
	memset(&img, 0, sizeof(img));
	snprintf(img.id, sizeof(img.id), "f00d");
	snprintf(img.start, sizeof(img.start), "/run.sh");
	template_options_init(&opt);
	opt.name = "ps";
	opt.image = "docker.io/prestashop/prestashop-flashlight:latest";
	opt.profile = "prestashop";
	opt.labels[opt.nlabels++] = "demux.test=unit";
	assert_int_equal(template_resolve(&opt, &img, &m, err, sizeof(err)), 0);
	assert_true(m.db_wrapper);
	assert_string_equal(m.profile, "prestashop");
	assert_int_equal(m.app_port, 80);
	assert_int_equal(m.db_port, 3306);
	assert_string_equal(m.db_name, "prestashop");
	assert_string_equal(m.db_user, "prestashop");
	assert_int_equal(strlen(m.db_password), 20); /* generated, not the image's default */
	assert_string_equal(m.db_prefix, "ps_");
	assert_string_equal(m.domain, "ps.template.localhost");
	assert_string_equal(m.health_path, "/admin-dev/robots.txt");
	assert_string_equal(m.admin_path, "/admin-dev");
	assert_string_equal(m.admin_user, "admin@prestashop.com");
	assert_string_equal(m.admin_password, "prestashop");
	assert_string_equal(m.start_command, "/run.sh");
	assert_int_equal(m.nwarm, 1);
	assert_string_equal(m.warm[0], "/");
	assert_int_equal(m.memory_bytes, template_default_memory());
	assert_int_equal(m.pids_limit, TEMPLATE_DEFAULT_PIDS);
	assert_int_equal(m.disk_bytes, TEMPLATE_DEFAULT_DISK);

	assert_int_equal(template_cold_start_spec(&m, "demux-template-ps", 20001, 20002, &spec, &sb,
						  err, sizeof(err)),
			 0);
	assert_string_equal(spec.name, "demux-template-ps");
	assert_string_equal(spec.image, opt.image);
	assert_non_null(spec.entrypoint);
	assert_string_equal(spec.entrypoint[0], "/bin/sh");
	assert_string_equal(spec.entrypoint[1], "-c");
	assert_ptr_equal(spec.entrypoint[2], template_db_wrapper_script());
	assert_null(spec.entrypoint[4]);
	assert_string_equal(spec.command[0], "/run.sh");
	assert_null(spec.command[1]);
	assert_string_equal(env_value(spec.env, "MYSQL_HOST"), "127.0.0.1");
	assert_string_equal(env_value(spec.env, "MYSQL_PORT"), "3306");
	assert_string_equal(env_value(spec.env, "MYSQL_USER"), "prestashop");
	assert_string_equal(env_value(spec.env, "MYSQL_PASSWORD"), m.db_password);
	assert_string_equal(env_value(spec.env, "MYSQL_DATABASE"), "prestashop");
	assert_string_equal(env_value(spec.env, "PS_DOMAIN"), "ps.template.localhost");
	assert_true(has(spec.labels, "demux.managed=1"));
	assert_true(has(spec.labels, "demux.template=ps"));
	assert_true(has(spec.labels, "demux.test=unit"));
	assert_int_equal(spec.nports, 2);
	assert_int_equal(spec.ports[0].host_port, 20001);
	assert_int_equal(spec.ports[0].container_port, 80);
	assert_int_equal(spec.ports[1].host_port, 20002);
	assert_int_equal(spec.ports[1].container_port, 3306);
	assert_int_equal(spec.memory_bytes, template_default_memory());

	/* The wrapper starts MariaDB as root, creates the user, then runs the image. */
	assert_non_null(strstr(template_db_wrapper_script(), "mariadbd"));
	assert_non_null(strstr(template_db_wrapper_script(), "--user=root"));
	assert_non_null(strstr(template_db_wrapper_script(), "'$MYSQL_USER'@'$h'"));
	assert_non_null(strstr(template_db_wrapper_script(), "exec \"$@\""));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(template_db_wrapper_script(), f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "sh -n %s", path);
	assert_int_equal(system(cmd), 0); /* valid POSIX sh */
	unlink(path);

	/* What goes over the wire to libpod's create. */
	assert_int_equal(podman_spec_json(&spec, &json, err, sizeof(err)), 0);
	root = json_loads(json, 0, &jerr);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "name")), "demux-template-ps");
	assert_int_equal(json_array_size(json_object_get(root, "entrypoint")), 4);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(root, "env"), "MYSQL_HOST")),
	    "127.0.0.1");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(root, "labels"), "demux.template")),
	    "ps");
	assert_string_equal(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(root, "portmappings"), 1), "host_ip")),
	    "127.0.0.1");
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_array_get(json_object_get(root, "portmappings"), 1), "container_port")),
	    3306);
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_object_get(json_object_get(root, "resource_limits"), "memory"), "limit")),
	    template_default_memory());
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_object_get(json_object_get(root, "resource_limits"), "cpu"), "quota")),
	    (json_int_t)(template_default_cpus() * 100000 + 0.5));
	/* Least privilege: every capability dropped but the images' few, no new privileges. */
	assert_string_equal(json_string_value(json_array_get(json_object_get(root, "cap_drop"), 0)),
			    "ALL");
	assert_int_equal(json_array_size(json_object_get(root, "cap_add")), 6);
	assert_string_equal(json_string_value(json_array_get(json_object_get(root, "cap_add"), 3)),
			    "NET_BIND_SERVICE");
	assert_true(json_is_true(json_object_get(root, "no_new_privileges")));
	/* The disk bound: Podman's storage_opts, a size in bytes as a string. */
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(root, "storage_opts"), "size")),
	    "1073741824");
	json_decref(root);
	free(json);

	/* No bound: no storage_opts at all (Podman's overlay on ext4 refuses any). */
	spec.disk_bytes = 0;
	assert_int_equal(podman_spec_json(&spec, &json, err, sizeof(err)), 0);
	root = json_loads(json, 0, &jerr);
	assert_non_null(root);
	assert_null(json_object_get(root, "storage_opts"));
	json_decref(root);
	free(json);
}

/* Images built by demux carry labels: no wrapper, labels give the values,
 * options win over labels, and a cold start reuses the same spec. */
static void
test_labelled_image_and_cold_start(void **state)
{
	struct podman_image img;
	struct template_options opt;
	struct template_meta m;
	struct template_spec_buf sb, sb2;
	struct container_spec spec, cold;
	char err[512];

	(void)state;
	memset(&img, 0, sizeof(img));
	snprintf(img.start, sizeof(img.start), "/usr/local/bin/serve");
	add_label(&img, "demux.profile", "prestashop");
	add_label(&img, "demux.app_port", "80");
	add_label(&img, "demux.db_port", "3306");
	add_label(&img, "demux.db_name", "shop");
	add_label(&img, "demux.db_user", "shopuser");
	add_label(&img, "demux.db_password", "s3cret");
	add_label(&img, "demux.db_prefix", "ps_");
	add_label(&img, "demux.domain", "shop.template.localhost");
	add_label(&img, "demux.health", "/");
	add_label(&img, "demux.admin_path", "/admin");
	add_label(&img, "demux.admin_user", "admin");
	add_label(&img, "demux.admin_password", "adminpw");
	template_options_init(&opt);
	opt.name = "shop";
	opt.image = "localhost/demux/shop-fixture:latest";
	opt.memory_bytes = 256LL * 1024 * 1024;
	opt.pids_limit = 200;
	opt.cpus = 0.5;
	opt.disk_bytes = 512LL * 1024 * 1024;
	opt.warm[opt.nwarm++] = "/product/1";
	opt.env[opt.nenv++] = "APP_ENV=demo";
	assert_int_equal(template_resolve(&opt, &img, &m, err, sizeof(err)), 0);
	assert_false(m.db_wrapper);
	assert_string_equal(m.profile, "prestashop");
	assert_string_equal(m.db_name, "shop");
	assert_string_equal(m.db_user, "shopuser");
	assert_string_equal(m.db_password, "s3cret");
	assert_string_equal(m.domain, "shop.template.localhost");
	assert_string_equal(m.admin_path, "/admin");
	assert_string_equal(m.admin_password, "adminpw");
	assert_string_equal(m.warm[0], "/product/1");
	assert_int_equal(m.db_port, 3306);

	assert_int_equal(template_cold_start_spec(&m, "demux-template-shop", 30001, 30002, &spec,
						  &sb, err, sizeof(err)),
			 0);
	assert_null(spec.entrypoint);
	assert_null(spec.command);
	assert_null(env_value(spec.env, "MYSQL_HOST"));
	assert_string_equal(env_value(spec.env, "APP_ENV"), "demo");
	assert_int_equal(spec.memory_bytes, 256LL * 1024 * 1024);
	assert_int_equal(spec.pids_limit, 200);
	assert_true(spec.cpus > 0.49 && spec.cpus < 0.51);
	assert_int_equal(spec.disk_bytes, 512LL * 1024 * 1024);

	assert_int_equal(template_cold_start_spec(&m, "demux-k3f9x2", 21000, 21001, &cold, &sb2,
						  err, sizeof(err)),
			 0);
	assert_string_equal(cold.name, "demux-k3f9x2");
	assert_string_equal(cold.image, spec.image);
	assert_int_equal(cold.ports[0].host_port, 21000);
	assert_int_equal(cold.ports[0].container_port, 80);
	assert_int_equal(cold.ports[1].host_port, 21001);
	assert_int_equal(cold.ports[1].container_port, 3306);
	assert_true(has(cold.labels, "demux.template=shop"));
	assert_true(has(cold.labels, "demux.managed=1"));
	assert_int_equal(cold.memory_bytes, spec.memory_bytes);
	assert_int_equal(cold.disk_bytes, 512LL * 1024 * 1024);
	/* db_host_port 0: the database is not published. */
	assert_int_equal(
	    template_cold_start_spec(&m, "demux-x", 21000, 0, &cold, &sb2, err, sizeof(err)), 0);
	assert_int_equal(cold.nports, 1);

	/* Options override the labels. */
	opt.domain = "other.localhost";
	opt.app_port = 8080;
	opt.health_path = "/healthz";
	opt.profile = "generic";
	assert_int_equal(template_resolve(&opt, &img, &m, err, sizeof(err)), 0);
	assert_string_equal(m.domain, "other.localhost");
	assert_int_equal(m.app_port, 8080);
	assert_string_equal(m.health_path, "/healthz");
	assert_string_equal(m.profile, "generic");
	assert_false(m.db_wrapper);
}

/* Resolves template "shop" of an image whose one label is demux.profile=label
 * (none when NULL), made with --profile profile (none when NULL). */
static void
resolve_plain(const char *label, const char *profile, struct template_meta *m)
{
	struct podman_image img = {0};
	struct template_options opt;
	char err[512];

	if (label != NULL)
		add_label(&img, "demux.profile", label);
	template_options_init(&opt);
	opt.name = "shop";
	opt.image = "localhost/own-shop:latest";
	opt.profile = profile;
	assert_int_equal(template_resolve(&opt, &img, m, err, sizeof(err)), 0);
}

/* What a template takes from its profile (src/app/) where the image's
 * labels and the options say nothing; the flashlight values above apply to
 * a stock image only. */
static void
test_profile_defaults(void **state)
{
	struct template_meta m;

	(void)state;
	resolve_plain("prestashop", NULL, &m);
	assert_false(m.db_wrapper);
	assert_int_equal(m.db_port, 0);
	assert_string_equal(m.db_name, "");
	assert_string_equal(m.db_prefix, "ps_");
	assert_string_equal(m.health_path, "/");
	assert_string_equal(m.admin_path, "/admin-dev");
	assert_string_equal(m.admin_user, "");
	assert_string_equal(m.start_command, "");

	resolve_plain(NULL, "wordpress", &m);
	assert_false(m.db_wrapper); /* no stock image support for wordpress */
	assert_string_equal(m.db_prefix, "wp_");
	assert_string_equal(m.health_path, "/");
	assert_string_equal(m.admin_path, "/wp-admin/");
	assert_string_equal(m.admin_password, "");

	resolve_plain(NULL, "generic", &m);
	assert_string_equal(m.db_prefix, "");
	assert_string_equal(m.health_path, "/");
	assert_string_equal(m.admin_path, "");
}

static void
test_resolve_rejects_bad_input(void **state)
{
	struct podman_image img;
	struct template_options opt;
	struct template_meta m;
	char err[512];

	(void)state;
	memset(&img, 0, sizeof(img));
	template_options_init(&opt);
	opt.name = "t";
	opt.image = "img";

	opt.profile = "magento";
	assert_int_equal(template_resolve(&opt, &img, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown profile 'magento'"));
	opt.profile = NULL;

	opt.labels[0] = "novalue";
	opt.nlabels = 1;
	assert_int_equal(template_resolve(&opt, &img, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "KEY=VALUE"));
	opt.labels[0] = "demux.managed=0";
	assert_int_equal(template_resolve(&opt, &img, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "set by demux"));
	opt.nlabels = 0;

	opt.domain = "bad_domain!";
	assert_int_equal(template_resolve(&opt, &img, &m, err, sizeof(err)), -1);
	opt.domain = NULL;
	opt.health_path = "health";
	assert_int_equal(template_resolve(&opt, &img, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "start with '/'"));
	opt.health_path = NULL;
	opt.db_password = "it's";
	assert_int_equal(template_resolve(&opt, &img, &m, err, sizeof(err)), -1);
	opt.db_password = NULL;
	opt.db_user = "root; DROP";
	assert_int_equal(template_resolve(&opt, &img, &m, err, sizeof(err)), -1);
	opt.db_user = NULL;
	opt.memory_bytes = 1024;
	assert_int_equal(template_resolve(&opt, &img, &m, err, sizeof(err)), -1);
	opt.memory_bytes = -1;
	opt.caps = "CHOWN,cap_sys_admin";
	assert_int_equal(template_resolve(&opt, &img, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "upper case"));
	opt.caps = "CHOWN,,SETUID";
	assert_int_equal(template_resolve(&opt, &img, &m, err, sizeof(err)), -1);
	opt.caps = "NET_BIND_SERVICE";
	assert_int_equal(template_resolve(&opt, &img, &m, err, sizeof(err)), 0);
	assert_string_equal(m.caps, "NET_BIND_SERVICE");
	opt.caps = NULL;
	opt.disk_bytes = 1024 * 1024;
	assert_int_equal(template_resolve(&opt, &img, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--disk"));
	opt.disk_bytes = 0; /* no bound is allowed */
	assert_int_equal(template_resolve(&opt, &img, &m, err, sizeof(err)), 0);
	assert_int_equal(m.disk_bytes, 0);
	opt.disk_bytes = -1;
	opt.name = "../etc";
	assert_int_equal(template_resolve(&opt, &img, &m, err, sizeof(err)), -1);
	opt.name = "t";
	add_label(&img, "demux.app_port", "eighty");
	assert_int_equal(template_resolve(&opt, &img, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "demux.app_port"));
}

static void
fill_meta(struct template_meta *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "shop");
	snprintf(m->image, sizeof(m->image), "localhost/demux/shop-fixture:latest");
	snprintf(m->image_id, sizeof(m->image_id), "0123abcd");
	snprintf(m->profile, sizeof(m->profile), "prestashop");
	m->app_port = 80;
	m->db_port = 3306;
	snprintf(m->db_name, sizeof(m->db_name), "prestashop");
	snprintf(m->db_user, sizeof(m->db_user), "prestashop");
	snprintf(m->db_password, sizeof(m->db_password), "Zx9pw");
	snprintf(m->db_prefix, sizeof(m->db_prefix), "ps_");
	snprintf(m->domain, sizeof(m->domain), "shop.template.localhost");
	snprintf(m->health_path, sizeof(m->health_path), "/");
	snprintf(m->admin_path, sizeof(m->admin_path), "/admin");
	snprintf(m->admin_user, sizeof(m->admin_user), "admin");
	snprintf(m->admin_password, sizeof(m->admin_password), "adm1n");
	m->db_wrapper = true;
	snprintf(m->start_command, sizeof(m->start_command), "/run.sh");
	m->nlabels = 2;
	snprintf(m->labels[0], sizeof(m->labels[0]), "demux.test=unit");
	snprintf(m->labels[1], sizeof(m->labels[1]), "team=shop");
	m->nenv = 1;
	snprintf(m->env[0], sizeof(m->env[0]), "A=1");
	m->nwarm = 2;
	snprintf(m->warm[0], sizeof(m->warm[0]), "/");
	snprintf(m->warm[1], sizeof(m->warm[1]), "/p/1");
	snprintf(m->archive_path, sizeof(m->archive_path), "/var/lib/demux/templates/shop/c.tar");
	m->archive_bytes = 123456789LL;
	m->compressed = true;
	m->checkpoint.wall_ms = 812.25;
	m->checkpoint.podman_ms = 800.5;
	m->checkpoint.criu_ms = 412.125;
	m->checkpoint.pages_written = 22974;
	m->created_at = 1795692727LL;
	m->memory_bytes = 512LL * 1024 * 1024;
	m->pids_limit = 300;
	m->cpus = 1.5;
	m->disk_bytes = 768LL * 1024 * 1024;
	snprintf(m->restore_image, sizeof(m->restore_image),
		 "localhost/demux-restore/shop:1795692727");
	snprintf(m->restore_image_id, sizeof(m->restore_image_id), "751a632caf79");
}

static void
test_meta_round_trip(void **state)
{
	struct template_meta m, back, *list = NULL;
	char dir[] = "/tmp/demux-tmpl.XXXXXX", path[256], err[512];
	struct stat st;
	int n = -1;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	fill_meta(&m);
	assert_int_equal(template_save(dir, &m, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/templates/shop/template.json", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600); /* it holds the database password */
	assert_int_equal(template_load(dir, "shop", &back, err, sizeof(err)), 0);
	assert_string_equal(back.name, m.name);
	assert_string_equal(back.image, m.image);
	assert_string_equal(back.image_id, m.image_id);
	assert_string_equal(back.profile, m.profile);
	assert_int_equal(back.app_port, 80);
	assert_int_equal(back.db_port, 3306);
	assert_string_equal(back.db_password, "Zx9pw");
	assert_string_equal(back.db_prefix, "ps_");
	assert_string_equal(back.domain, m.domain);
	assert_string_equal(back.admin_password, "adm1n");
	assert_true(back.db_wrapper);
	assert_string_equal(back.start_command, "/run.sh");
	assert_int_equal(back.nlabels, 2);
	assert_string_equal(back.labels[1], "team=shop");
	assert_int_equal(back.nenv, 1);
	assert_int_equal(back.nwarm, 2);
	assert_string_equal(back.warm[1], "/p/1");
	assert_string_equal(back.archive_path, m.archive_path);
	assert_int_equal(back.archive_bytes, 123456789LL);
	assert_true(back.compressed);
	assert_true(back.checkpoint.wall_ms == 812.25);
	assert_true(back.checkpoint.criu_ms == 412.125);
	assert_int_equal(back.checkpoint.pages_written, 22974);
	assert_int_equal(back.created_at, 1795692727LL);
	assert_int_equal(back.memory_bytes, 512LL * 1024 * 1024);
	assert_int_equal(back.pids_limit, 300);
	assert_true(back.cpus == 1.5);
	assert_int_equal(back.disk_bytes, 768LL * 1024 * 1024);
	assert_string_equal(back.restore_image, m.restore_image);
	assert_string_equal(back.restore_image_id, "751a632caf79");
	/* The small archive is where the template directory is now. */
	snprintf(path, sizeof(path), "%s/templates/shop/restore.tar", dir);
	assert_string_equal(back.restore_archive_path, path);

	/* Without a prepared restore (an older template): none is derived. */
	m.restore_image[0] = m.restore_image_id[0] = '\0';
	assert_int_equal(template_save(dir, &m, err, sizeof(err)), 0);
	assert_int_equal(template_load(dir, "shop", &back, err, sizeof(err)), 0);
	assert_string_equal(back.restore_archive_path, "");

	/* Removal takes the prepared restore's files with the template. */
	snprintf(path, sizeof(path), "%s/templates/shop/restore/meta", dir);
	assert_int_equal(mkpath(path, 0700, 0700, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/templates/shop/restore/checkpoint", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/templates/shop/restore/checkpoint/pages-1.img", dir);
	f = fopen(path, "w");
	fputs("x", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/templates/shop/restore/meta/checkpoint", dir);
	assert_int_equal(symlink("/nonexistent", path), 0);
	snprintf(path, sizeof(path), "%s/templates/shop/restore.tar", dir);
	f = fopen(path, "w");
	fclose(f);

	assert_int_equal(template_list(dir, &list, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].name, "shop");
	free(list);

	/* A damaged file is reported with its path. */
	snprintf(path, sizeof(path), "%s/templates/shop/template.json", dir);
	f = fopen(path, "w");
	fputs("{\"name\": \"shop\", ", f);
	fclose(f);
	assert_int_equal(template_load(dir, "shop", &back, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "template.json"));

	assert_int_equal(template_remove(dir, "shop", err, sizeof(err)), 0);
	assert_int_equal(template_load(dir, "shop", &back, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no template 'shop'"));
	assert_int_equal(template_remove(dir, "shop", err, sizeof(err)), -1);
	snprintf(path, sizeof(path), "%s/templates", dir);
	rmdir(path);
	assert_int_equal(rmdir(dir), 0); /* nothing left behind */
}

/* The directory of a template being made: locked while a create runs,
 * refused once the template exists, removed again by a failed create. */
static void
test_dir_claim(void **state)
{
	struct template_meta m;
	char base[] = "/tmp/demux-claim.XXXXXX", state_dir[256], dir[512], dir2[512], path[600],
	     err[512];
	struct stat st;
	int lock = -1, lock2 = -1, version = 0, current = 0;

	(void)state;
	assert_non_null(mkdtemp(base));
	snprintf(state_dir, sizeof(state_dir), "%s/state", base); /* made on demand */
	assert_int_equal(template_dir_claim(state_dir, "shop", dir, sizeof(dir), &version, &lock,
					    err, sizeof(err)),
			 0);
	assert_true(lock >= 0);
	assert_int_equal(version, 1);
	snprintf(path, sizeof(path), "%s/templates/shop", state_dir);
	assert_string_equal(dir, path);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	/* A second create of the same name while the first runs. */
	assert_int_equal(template_dir_claim(state_dir, "shop", dir2, sizeof(dir2), &version, &lock2,
					    err, sizeof(err)),
			 -1);
	assert_int_equal(lock2, -1);
	assert_non_null(strstr(err, "is being created by another demux"));

	/* A killed create leaves the directory without template.json: reused. */
	close(lock);
	assert_int_equal(template_dir_claim(state_dir, "shop", dir, sizeof(dir), &version, &lock,
					    err, sizeof(err)),
			 0);
	assert_int_equal(version, 1);

	fill_meta(&m);
	m.version = 1;
	assert_int_equal(template_save(state_dir, &m, err, sizeof(err)), 0);
	close(lock);
	/* The name exists: the next create makes version 2 beside it. */
	assert_int_equal(template_dir_claim(state_dir, "shop", dir2, sizeof(dir2), &version, &lock2,
					    err, sizeof(err)),
			 0);
	assert_int_equal(version, 2);
	snprintf(path, sizeof(path), "%s/templates/shop/versions/2", state_dir);
	assert_string_equal(dir2, path);
	/* ... which is not a version until its template.json is there */
	assert_int_equal(template_current(state_dir, "shop", &current, err, sizeof(err)), 0);
	assert_int_equal(current, 1);
	assert_int_equal(template_version_discard(dir2, true, err, sizeof(err)), 0);
	close(lock2);

	assert_int_equal(template_remove(state_dir, "shop", err, sizeof(err)), 0);
	assert_int_equal(stat(dir, &st), -1);
	snprintf(path, sizeof(path), "%s/templates", state_dir);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(rmdir(state_dir), 0);
	assert_int_equal(rmdir(base), 0); /* nothing else left behind */
}

/* Saves version v of template shop (its directory made as create makes it). */
static void
save_version(const char *state_dir, int v)
{
	struct template_meta m;
	char dir[512], err[512];
	int lock, got;

	assert_int_equal(
	    template_dir_claim(state_dir, "shop", dir, sizeof(dir), &got, &lock, err, sizeof(err)),
	    0);
	assert_int_equal(got, v);
	fill_meta(&m);
	m.version = v;
	snprintf(m.archive_path, sizeof(m.archive_path), "%s/checkpoint.tar", dir);
	assert_int_equal(template_save(state_dir, &m, err, sizeof(err)), 0);
	assert_int_equal(template_set_current(state_dir, "shop", v, err, sizeof(err)), 0);
	close(lock);
}

static void
test_versions(void **state)
{
	char base[] = "/tmp/demux-versions.XXXXXX", err[512], path[600];
	struct template_meta back;
	struct template_pick pk;
	int v[TEMPLATE_MAX_VERSIONS], n, from, to, lock;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(base));
	save_version(base, 1);
	save_version(base, 2);
	save_version(base, 3);
	assert_int_equal(
	    template_versions(base, "shop", v, TEMPLATE_MAX_VERSIONS, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0] * 100 + v[1] * 10 + v[2], 123);
	/* template_load reads the current version, with its own paths */
	assert_int_equal(template_load(base, "shop", &back, err, sizeof(err)), 0);
	assert_int_equal(back.version, 3);
	snprintf(path, sizeof(path), "%s/templates/shop/versions/3/checkpoint.tar", base);
	assert_string_equal(back.archive_path, path);
	assert_int_equal(template_pick(base, "shop", &pk, err, sizeof(err)), 0);
	assert_int_equal(pk.current, 3);
	assert_int_equal(pk.serving, 3);
	assert_int_equal(pk.fallback, 2);

	/* version 3 fails: 2 is served, 1 is the fallback */
	assert_int_equal(
	    template_mark_failed(base, "shop", 3, "health: HTTP 500\nat /", err, sizeof(err)), 0);
	assert_int_equal(template_pick(base, "shop", &pk, err, sizeof(err)), 0);
	assert_int_equal(pk.current, 3);
	assert_int_equal(pk.serving, 2);
	assert_int_equal(pk.fallback, 1);
	assert_string_equal(pk.failed_reason, "health: HTTP 500 at /");
	assert_false(template_version_unneeded(&pk, 3, true, false));  /* current */
	assert_false(template_version_unneeded(&pk, 2, true, false));  /* serving */
	assert_false(template_version_unneeded(&pk, 1, false, false)); /* fallback, 2 unproven */
	assert_true(template_version_unneeded(&pk, 1, true, false));
	assert_false(template_version_unneeded(&pk, 1, true, true)); /* a copy runs it */

	/* rollback: the newest good version before the current one */
	assert_int_equal(template_rollback(base, "shop", &from, &to, err, sizeof(err)), 0);
	assert_int_equal(from, 3);
	assert_int_equal(to, 2);
	assert_int_equal(template_load(base, "shop", &back, err, sizeof(err)), 0);
	assert_int_equal(back.version, 2);
	/* the current version is never removed; another is */
	assert_int_equal(template_version_remove(base, "shop", 2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is the current one"));
	assert_int_equal(template_version_remove(base, "shop", 1, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/templates/shop/template.json", base);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(template_rollback(base, "shop", &from, &to, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no version before 2"));
	/* a create holding the lock: removal waits */
	lock = template_lock(base, "shop", err, sizeof(err));
	assert_true(lock >= 0);
	assert_int_equal(template_version_remove(base, "shop", 3, err, sizeof(err)), 1);
	close(lock);
	/* the next create comes after the newest there, not after the current */
	save_version(base, 4);
	assert_int_equal(template_remove(base, "shop", err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/templates/shop", base);
	assert_int_equal(stat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/templates", base);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(rmdir(base), 0);
}

/* A template.json that says another version than its directory is refused. */
static void
test_version_mismatch(void **state)
{
	char base[] = "/tmp/demux-vmis.XXXXXX", err[512];
	struct template_meta m;

	(void)state;
	assert_non_null(mkdtemp(base));
	save_version(base, 1);
	fill_meta(&m);
	m.version = 1;
	assert_int_equal(template_save(base, &m, err, sizeof(err)), 0);
	assert_int_equal(template_load_version(base, "shop", 2, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "has no version 2"));
	assert_int_equal(template_load_version(base, "shop", 0, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a version number"));
	assert_int_equal(template_remove(base, "shop", err, sizeof(err)), 0);
}

static void
test_parse_bytes(void **state)
{
	long long v;

	(void)state;
	assert_int_equal(template_parse_bytes("1048576", &v), 0);
	assert_int_equal(v, 1048576);
	assert_int_equal(template_parse_bytes("512m", &v), 0);
	assert_int_equal(v, 512LL * 1024 * 1024);
	assert_int_equal(template_parse_bytes("1G", &v), 0);
	assert_int_equal(v, 1024LL * 1024 * 1024);
	assert_int_equal(template_parse_bytes("64kb", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(template_parse_bytes("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(template_parse_bytes("", &v), -1);
	assert_int_equal(template_parse_bytes("-1g", &v), -1);
	assert_int_equal(template_parse_bytes("12x", &v), -1);
	assert_int_equal(template_parse_bytes("1gbb", &v), -1);
	assert_int_equal(template_parse_bytes("99999999999999t", &v), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flashlight_spec),
	    cmocka_unit_test(test_labelled_image_and_cold_start),
	    cmocka_unit_test(test_profile_defaults),
	    cmocka_unit_test(test_resolve_rejects_bad_input),
	    cmocka_unit_test(test_meta_round_trip),
	    cmocka_unit_test(test_dir_claim),
	    cmocka_unit_test(test_versions),
	    cmocka_unit_test(test_version_mismatch),
	    cmocka_unit_test(test_parse_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
