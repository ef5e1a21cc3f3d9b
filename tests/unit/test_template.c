/*
 * Unit tests for template and the pure parts of the Podman client: the
 * container specs demux sends (the prestashop-flashlight wrapper, images with
 * demux labels, cold starts), template.json round trips, sizes, and the
 * parsers for Podman's and CRIU's statistics, errors, logs and lists.
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
#include "template.h"

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
	assert_int_equal(m.memory_bytes, TEMPLATE_DEFAULT_MEMORY);
	assert_int_equal(m.pids_limit, TEMPLATE_DEFAULT_PIDS);

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
	assert_int_equal(spec.memory_bytes, TEMPLATE_DEFAULT_MEMORY);

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
	    TEMPLATE_DEFAULT_MEMORY);
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_object_get(json_object_get(root, "resource_limits"), "cpu"), "quota")),
	    100000);
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

	assert_int_equal(template_list(dir, &list, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].name, "shop");
	free(list);

	/* A damaged file is reported with its path. */
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
	int lock = -1, lock2 = -1;

	(void)state;
	assert_non_null(mkdtemp(base));
	snprintf(state_dir, sizeof(state_dir), "%s/state", base); /* made on demand */
	assert_int_equal(
	    template_dir_claim(state_dir, "shop", dir, sizeof(dir), &lock, err, sizeof(err)), 0);
	assert_true(lock >= 0);
	snprintf(path, sizeof(path), "%s/templates/shop", state_dir);
	assert_string_equal(dir, path);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	/* A second create of the same name while the first runs. */
	assert_int_equal(
	    template_dir_claim(state_dir, "shop", dir2, sizeof(dir2), &lock2, err, sizeof(err)),
	    -1);
	assert_int_equal(lock2, -1);
	assert_non_null(strstr(err, "is being created by another demux"));

	/* A killed create leaves the directory without template.json: reused. */
	close(lock);
	assert_int_equal(
	    template_dir_claim(state_dir, "shop", dir, sizeof(dir), &lock, err, sizeof(err)), 0);

	fill_meta(&m);
	assert_int_equal(template_save(state_dir, &m, err, sizeof(err)), 0);
	close(lock);
	assert_int_equal(
	    template_dir_claim(state_dir, "shop", dir2, sizeof(dir2), &lock2, err, sizeof(err)),
	    -1);
	assert_int_equal(lock2, -1);
	assert_non_null(strstr(err, "already exists"));

	assert_int_equal(template_dir_discard(dir, err, sizeof(err)), 0);
	assert_int_equal(stat(dir, &st), -1);
	snprintf(path, sizeof(path), "%s/templates", state_dir);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(rmdir(state_dir), 0);
	assert_int_equal(rmdir(base), 0); /* nothing else left behind */
}

static void
test_restore_stats(void **state)
{
	struct restore_stats rs;
	char err[256];

	(void)state;
	/* Podman 5.4's REST answer to import/restore?printStats=true */
	assert_int_equal(podman_parse_restore_stats(
			     "{\"Id\":\"33ad\",\"runtime_restore_duration\":232839,"
			     "\"criu_statistics\":{\"forking_time\":4,\"restore_time\":149820,"
			     "\"pages_restored\":17}}",
			     &rs, err, sizeof(err)),
			 0);
	assert_true(rs.runtime_ms > 232.83 && rs.runtime_ms < 232.84);
	assert_true(rs.criu_ms > 149.81 && rs.criu_ms < 149.83);
	assert_int_equal(rs.pages_restored, 17);
	assert_true(rs.podman_ms == 0);
	/* podman container restore --print-stats */
	assert_int_equal(podman_parse_restore_stats(
			     "{\"podman_restore_duration\":1012345,\"container_statistics\":[{"
			     "\"Id\":\"x\",\"runtime_restore_duration\":400000,"
			     "\"criu_statistics\":{\"restore_time\":300000,"
			     "\"pages_restored\":22974}}]}",
			     &rs, err, sizeof(err)),
			 0);
	assert_true(rs.podman_ms > 1012.3 && rs.podman_ms < 1012.4);
	assert_true(rs.runtime_ms == 400.0);
	assert_true(rs.criu_ms == 300.0);
	assert_int_equal(rs.pages_restored, 22974);
	assert_int_equal(podman_parse_restore_stats("[]", &rs, err, sizeof(err)), -1);
	assert_int_equal(podman_parse_restore_stats("{\"Id\":\"x\"}", &rs, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "criu_statistics"));
	assert_int_equal(podman_parse_restore_stats("not json", &rs, err, sizeof(err)), -1);
}

static void
test_checkpoint_stats(void **state)
{
	/* stats-dump from a real "podman container checkpoint --export" archive */
	static const unsigned char img[] = {
	    0x40, 0x59, 0x10, 0x55, 0x06, 0x33, 0x09, 0x57, 0x22, 0x00, 0x00, 0x00,
	    0x0a, 0x20, 0x08, 0x96, 0x0f, 0x10, 0x85, 0xee, 0x05, 0x18, 0xd8, 0x05,
	    0x20, 0x74, 0x28, 0x18, 0x30, 0x00, 0x38, 0x11, 0x40, 0x00, 0x48, 0x00,
	    0x50, 0x04, 0x58, 0x04, 0x60, 0x00, 0x68, 0x00, 0x70, 0x00};
	unsigned char bad[sizeof(img)];
	struct checkpoint_stats cs;
	char err[256];

	(void)state;
	memset(&cs, 0, sizeof(cs));
	assert_int_equal(podman_parse_criu_dump_stats(img, sizeof(img), &cs, err, sizeof(err)), 0);
	/* freezing 1942 us + frozen 96005 us */
	assert_true(cs.criu_ms > 97.946 && cs.criu_ms < 97.948);
	assert_int_equal(cs.pages_written, 17);
	assert_int_equal(podman_parse_criu_dump_stats(img, 20, &cs, err, sizeof(err)), -1);
	memcpy(bad, img, sizeof(img));
	bad[0] = 0;
	assert_int_equal(podman_parse_criu_dump_stats(bad, sizeof(bad), &cs, err, sizeof(err)), -1);
	memcpy(bad, img, sizeof(img));
	bad[13] = 0x7f; /* sub-message longer than the image */
	assert_int_equal(podman_parse_criu_dump_stats(bad, sizeof(bad), &cs, err, sizeof(err)), -1);

	assert_int_equal(podman_parse_checkpoint_stats(
			     "{\"podman_checkpoint_duration\":950000,\"container_statistics\":[{"
			     "\"Id\":\"x\",\"runtime_checkpoint_duration\":700000,"
			     "\"criu_statistics\":{\"freezing_time\":1000,\"frozen_time\":"
			     "500000,\"memdump_time\":400000,\"memwrite_time\":300000,"
			     "\"pages_scanned\":30000,\"pages_written\":22974}}]}",
			     &cs, err, sizeof(err)),
			 0);
	assert_true(cs.podman_ms == 950.0);
	assert_true(cs.runtime_ms == 700.0);
	assert_true(cs.criu_ms == 501.0);
	assert_int_equal(cs.pages_written, 22974);
	assert_int_equal(podman_parse_checkpoint_stats("{}", &cs, err, sizeof(err)), -1);
}

static void
test_error_messages(void **state)
{
	char err[256];

	(void)state;
	podman_error_message(500,
			     "{\"cause\":\"address already in use\",\"message\":\"cannot listen "
			     "on the TCP port: listen tcp4 127.0.0.1:18081: bind: address already "
			     "in use\",\"response\":500}",
			     err, sizeof(err));
	assert_string_equal(err, "Podman: cannot listen on the TCP port: listen tcp4 "
				 "127.0.0.1:18081: bind: address already in use");
	podman_error_message(500, "{\"message\":\"criu failed\\nlog line 2\"}", err, sizeof(err));
	assert_string_equal(err, "Podman: criu failed log line 2"); /* one line */
	podman_error_message(502, "Bad Gateway\n", err, sizeof(err));
	assert_string_equal(err, "Podman answered HTTP 502: Bad Gateway ");
	podman_error_message(500, "", err, sizeof(err));
	assert_string_equal(err, "Podman answered HTTP 500");
	/* the message Podman relays when runc's init dies during its handshake */
	podman_error_message(500,
			     "{\"message\":\"runc: runc create failed: unable to start container "
			     "process: waiting for init preliminary setup: read init-p: connection "
			     "reset by peer: OCI runtime error\"}",
			     err, sizeof(err));
	assert_true(podman_start_error_is_transient(err));
	assert_false(podman_start_error_is_transient("Podman: cannot listen on the TCP port"));
	assert_false(podman_start_error_is_transient(
	    "Podman: runc: exec: \"/nonexistent\": no such file or directory"));
}

static void
test_demux_logs(void **state)
{
	static const unsigned char framed[] = {1,    0, 0, 0, 0, 0, 0, 6, 'h', 'e', 'l', 'l', 'o',
					       '\n', 2, 0, 0, 0, 0, 0, 0, 4,   'e', 'r', 'r', '\n'};
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(podman_demux_logs(framed, sizeof(framed), &b), 0);
	assert_string_equal(buf_str(&b), "hello\nerr\n");
	buf_reset(&b);
	assert_int_equal(podman_demux_logs((const unsigned char *)"plain text\n", 11, &b), 0);
	assert_string_equal(buf_str(&b), "plain text\n");
	buf_free(&b);
}

static void
test_parse_list_inspect_image(void **state)
{
	struct container_info *list = NULL, info;
	struct podman_image *img = calloc(1, sizeof(*img));
	char err[256];
	int n = 0, pid = 0;

	(void)state;
	assert_int_equal(
	    podman_parse_list(
		"[{\"Id\":\"bee5\",\"Names\":[\"demux-abc\"],\"State\":\"running\","
		"\"ExitCode\":0,\"Labels\":{\"demux.managed\":\"1\",\"demux.template\":"
		"\"shop\"},\"Ports\":[{\"host_ip\":\"127.0.0.1\",\"container_port\":80,"
		"\"host_port\":20001,\"range\":1,\"protocol\":\"tcp\"}]},"
		"{\"Id\":\"c0ff\",\"Names\":[\"demux-def\"],\"State\":\"exited\","
		"\"ExitCode\":137,\"Labels\":null,\"Ports\":null}]",
		&list, &n, err, sizeof(err)),
	    0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name, "demux-abc");
	assert_true(list[0].running);
	assert_string_equal(list[0].template_name, "shop");
	assert_int_equal(list[0].nports, 1);
	assert_int_equal(list[0].ports[0].host_port, 20001);
	assert_int_equal(list[0].ports[0].container_port, 80);
	assert_false(list[1].running);
	assert_int_equal(list[1].exit_code, 137);
	assert_string_equal(list[1].template_name, "");
	free(list);
	assert_int_equal(podman_parse_list("{}", &list, &n, err, sizeof(err)), -1);
	free(list);

	assert_int_equal(
	    podman_parse_inspect("{\"Id\":\"33ad\",\"Name\":\"demux-r1\",\"State\":{\"Status\":"
				 "\"running\",\"Running\":true,\"Pid\":1674,\"ExitCode\":0},"
				 "\"Config\":{\"Labels\":{\"demux.template\":\"x\"}},"
				 "\"NetworkSettings\":{\"Ports\":{\"8080/tcp\":[{\"HostIp\":"
				 "\"127.0.0.1\",\"HostPort\":\"18081\"}]}}}",
				 &info, &pid, err, sizeof(err)),
	    0);
	assert_string_equal(info.name, "demux-r1");
	assert_true(info.running);
	assert_int_equal(pid, 1674);
	assert_string_equal(info.template_name, "x");
	assert_int_equal(info.nports, 1);
	assert_int_equal(info.ports[0].container_port, 8080);
	assert_int_equal(info.ports[0].host_port, 18081);

	assert_int_equal(podman_parse_image("{\"Id\":\"dd3c\",\"Config\":{\"Entrypoint\":"
					    "[\"/run.sh\"],\"Cmd\":null,\"Labels\":{"
					    "\"demux.profile\":\"generic\"}}}",
					    img, err, sizeof(err)),
			 0);
	assert_string_equal(img->id, "dd3c");
	assert_string_equal(img->start, "/run.sh");
	assert_string_equal(podman_image_label(img, "demux.profile"), "generic");
	assert_null(podman_image_label(img, "demux.domain"));
	assert_int_equal(podman_parse_image("{\"Id\":\"e\",\"Config\":{\"Cmd\":[\"/bin/tinyhttp\","
					    "\"8080\"]}}",
					    img, err, sizeof(err)),
			 0);
	assert_string_equal(img->start, "/bin/tinyhttp");
	assert_int_equal(img->nlabels, 0);
	free(img);
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
	    cmocka_unit_test(test_restore_stats),
	    cmocka_unit_test(test_checkpoint_stats),
	    cmocka_unit_test(test_error_messages),
	    cmocka_unit_test(test_demux_logs),
	    cmocka_unit_test(test_parse_list_inspect_image),
	    cmocka_unit_test(test_parse_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
