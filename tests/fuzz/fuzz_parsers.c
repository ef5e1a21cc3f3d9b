/*
 * libFuzzer target for the parsers that take text from configuration files,
 * Podman, the kernel or a visitor: the first input byte picks the parser,
 * the rest is its input (NUL-terminated). Each must refuse what it cannot
 * read with -1, never crash or read out of bounds.
 *
 *   make fuzz   (each target FUZZ_RUNS inputs, default 1 million)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "activity.h"
#include "app/db.h"
#include "app/generic.h"
#include "app/profile.h"
#include "app/wordpress.h"
#include "buf.h"
#include "config.h"
#include "container/podman.h"
#include "container/podman_stats.h"
#include "hostport.h"
#include "log.h"
#include "proxy/caddy.h"
#include "proxy/haproxy.h"
#include "proxy/route_check.h"
#include "server.h"
#include "store/store.h"
#include "template.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PARSERS 17

/* X-Forwarded-For as a trusting and a distrusting server reads it, and the
 * host:port splitters. */
static void
forwarded_for(const char *s)
{
	char ip[64], host[256], err[256];
	int port;

	server_client_ip("127.0.0.1", s, true, ip, sizeof(ip));
	server_client_ip("127.0.0.1", s, false, ip, sizeof(ip));
	server_client_ip(s, s, true, ip, sizeof(ip));
	server_client_ip("10.0.0.1", s, true, ip, 8);
	(void)hostport_split(s, host, sizeof(host), &port, err, sizeof(err));
	(void)config_parse_listen(s, host, sizeof(host), &port, err, sizeof(err));
}

/* A whole configuration file, read from a memfd, then checked. */
static void
config_text(const char *s)
{
	struct config cfg;
	char err[1024], path[64];
	int fd = memfd_create("fuzz-config", 0);
	size_t len = strlen(s);

	if (fd == -1)
		return;
	if (write(fd, s, len) == (ssize_t)len) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		config_defaults(&cfg);
		if (config_load(&cfg, path, err, sizeof(err)) == 0)
			(void)config_check(&cfg, err, sizeof(err));
	}
	close(fd);
}

/* One setting: "section\nkey\nvalue", with every key a config file may
 * hold reachable by its name. */
static void
config_keys(const char *s)
{
	struct config cfg;
	char buf[4096], err[512], *key, *value;
	int secs;
	long long bytes;
	enum log_level lvl;

	snprintf(buf, sizeof(buf), "%s", s);
	key = strchr(buf, '\n');
	if (key == NULL)
		return;
	*key++ = '\0';
	value = strchr(key, '\n');
	if (value == NULL)
		return;
	*value++ = '\0';
	config_defaults(&cfg);
	if (config_set(&cfg, buf, key, value, err, sizeof(err)) == 0)
		(void)config_check(&cfg, err, sizeof(err));
	(void)config_parse_duration(value, &secs);
	(void)template_parse_bytes(value, &bytes);
	(void)log_level_parse(value, &lvl);
	(void)store_state_parse(value);
}

/* What Caddy's admin API and HAProxy's runtime map answer. */
static void
route_maps(const char *s)
{
	struct route *r = NULL;
	char err[512];
	int n;

	if (caddy_parse_routes(s, &r, &n, err, sizeof(err)) == 0 || r != NULL)
		free(r);
	r = NULL;
	if (haproxy_parse_map(s, true, "demo.localhost", &r, &n, err, sizeof(err)) == 0 ||
	    r != NULL)
		free(r);
	r = NULL;
	if (haproxy_parse_map(s, false, "demo.localhost", &r, &n, err, sizeof(err)) == 0 ||
	    r != NULL)
		free(r);
}

/* Podman's network and store answers, CRIU's dump statistics image and a
 * template's metadata. */
static void
podman_more(const char *s, size_t len)
{
	struct podman_network net;
	struct podman_store store;
	struct checkpoint_stats cs;
	struct template_meta m;
	char err[512];

	(void)podman_parse_network(s, &net, err, sizeof(err));
	(void)podman_parse_store(s, &store, err, sizeof(err));
	(void)podman_parse_criu_dump_stats((const unsigned char *)s, len, &cs, err, sizeof(err));
	(void)template_meta_from_json(s, &m, err, sizeof(err));
}

static void
run(unsigned int which, const char *s, size_t len)
{
	char err[512], out[1024], front[ROUTE_UPSTREAM_MAX], host[ROUTE_HOST_MAX];
	struct generic_script gs;
	struct container_info ci, *list = NULL;
	struct restore_stats rs;
	struct checkpoint_stats cs;
	struct podman_image img;
	struct app_instance inst = {.domain = s, .scheme = "http", .port = 8088};
	struct buf b;
	long long n;
	int pid, count;

	switch (which % PARSERS) {
	case 0:
		if (generic_parse(s, &gs, err, sizeof(err)) == 0)
			generic_script_free(&gs);
		break;
	case 1:
		(void)activity_parse_snmp(s, &n);
		break;
	case 2:
		(void)validate_domain(s, err, sizeof(err));
		(void)validate_host_port(s, err, sizeof(err));
		(void)validate_prefix(s, err, sizeof(err));
		(void)validate_instance_prefix(s, err, sizeof(err));
		(void)validate_name(s, err, sizeof(err));
		(void)validate_url_path(s, err, sizeof(err));
		break;
	case 3:
		(void)wordpress_rewrite_url(s, "https", "a.demo.localhost:8088", out, sizeof(out), err,
					    sizeof(err));
		break;
	case 4:
		(void)app_site_host(&inst, out, sizeof(out), err, sizeof(err));
		break;
	case 5:
		(void)route_check_host(s, "demo.localhost", host, err, sizeof(err));
		(void)route_check_upstream(s, err, sizeof(err));
		(void)route_check_front_upstream(s, front, err, sizeof(err));
		break;
	case 6:
		(void)podman_parse_inspect(s, &ci, &pid, err, sizeof(err));
		break;
	case 7:
		if (podman_parse_list(s, &list, &count, err, sizeof(err)) == 0 || list != NULL)
			free(list);
		break;
	case 8:
		(void)podman_parse_restore_stats(s, &rs, err, sizeof(err));
		(void)podman_parse_checkpoint_stats(s, &cs, err, sizeof(err));
		break;
	case 9:
		(void)podman_parse_image(s, &img, err, sizeof(err));
		break;
	case 10:
		(void)db_like_escape(s, out, sizeof(out));
		(void)db_validate_schema(s, err, sizeof(err));
		break;
	case 11:
		buf_init(&b, 4096);
		(void)db_append_ident(&b, s, err, sizeof(err));
		(void)db_append_prefixed_ident(&b, s, "options", err, sizeof(err));
		(void)podman_demux_logs((const unsigned char *)s, strlen(s), &b);
		buf_free(&b);
		break;
	case 12:
		forwarded_for(s);
		break;
	case 13:
		config_text(s);
		break;
	case 14:
		config_keys(s);
		break;
	case 15:
		route_maps(s);
		break;
	default:
		podman_more(s, len);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1)
		return 0;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	log_set_level(LOG_LEVEL_ERROR);
	run(data[0], s, size - 1);
	free(s);
	return 0;
}
