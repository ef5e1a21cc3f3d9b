/*
 * config — table-driven INI + environment configuration.
 *
 * Each key is described once (section, name, type, where it lives, bounds);
 * the same table drives the file parser, the environment overrides and the
 * error messages, so a key cannot be read one way and checked another.
 */
#include "config.h"
#include "firewall.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errf.h"
#include "hostport.h"
#include "log.h"
#include "origin.h"
#include "store/valkey.h"
#include "validate.h"

extern char **environ;

enum key_type { K_STR, K_INT, K_BOOL, K_DURATION, K_ENUM, K_DOMAIN, K_LOGLEVEL };

struct key {
	const char *section; /* "pool" for [pool NAME] */
	const char *name;
	enum key_type type;
	size_t offset;		    /* into struct config, or struct pool_config for "pool" */
	size_t size;		    /* K_STR buffer size */
	int min, max;		    /* K_INT / K_DURATION bounds */
	const char *const *choices; /* K_ENUM, index = value */
};

static const char *const proxy_choices[] = {"caddy", "haproxy", NULL};
static const char *const store_choices[] = {"sqlite", "valkey", "redis", NULL};
static const char *const dbmode_choices[] = {"embedded", "shared", NULL};
static const char *const egress_choices[] = {"none", "open", NULL};
static const char *const restore_choices[] = {"prepared", "archive", NULL};
static const char *const scheme_choices[] = {"http", "https", NULL};
static const char *const tls_choices[] = {"off", "internal", "files", "acme", NULL};

#define C_STR(sec, key, field)                                                                     \
	{                                                                                          \
		sec, key, K_STR, offsetof(struct config, field),                                   \
		    sizeof(((struct config *)0)->field), 0, 0, NULL                                \
	}
#define C_INT(sec, key, field, lo, hi)                                                             \
	{                                                                                          \
		sec, key, K_INT, offsetof(struct config, field), 0, lo, hi, NULL                   \
	}
#define C_BOOL(sec, key, field)                                                                    \
	{                                                                                          \
		sec, key, K_BOOL, offsetof(struct config, field), 0, 0, 0, NULL                    \
	}
#define C_ENUM(sec, key, field, ch)                                                                \
	{                                                                                          \
		sec, key, K_ENUM, offsetof(struct config, field), 0, 0, 0, ch                      \
	}
#define P_INT(key, field, lo, hi)                                                                  \
	{                                                                                          \
		"pool", key, K_INT, offsetof(struct pool_config, field), 0, lo, hi, NULL           \
	}
#define P_DUR(key, field, lo, hi)                                                                  \
	{                                                                                          \
		"pool", key, K_DURATION, offsetof(struct pool_config, field), 0, lo, hi, NULL      \
	}

#define P_STR(key, field)                                                                          \
	{                                                                                          \
		"pool", key, K_STR, offsetof(struct pool_config, field),                           \
		    sizeof(((struct pool_config *)0)->field), 0, 0, NULL                           \
	}

static const struct key keys[] = {
    C_STR("demux", "state_dir", state_dir),
    {"demux", "log_level", K_LOGLEVEL, offsetof(struct config, log_level),
     sizeof(((struct config *)0)->log_level), 0, 0, NULL},
    C_STR("server", "listen", listen),
    {"server", "base_domain", K_DOMAIN, offsetof(struct config, base_domain),
     sizeof(((struct config *)0)->base_domain), 0, 0, NULL},
    {"server", "public_scheme", K_STR, offsetof(struct config, public_scheme),
     sizeof(((struct config *)0)->public_scheme), 0, 0, scheme_choices},
    C_INT("server", "public_port", public_port, 0, 65535),
    C_STR("server", "admin_token", admin_token),
    C_STR("server", "admin_token_file", admin_token_file),
    C_INT("server", "max_body_bytes", max_body_bytes, 64, 1048576),
    C_INT("server", "claims_per_ip_per_minute", claims_per_ip_per_minute, 0, 100000),
    C_INT("server", "max_active_per_client", max_active_per_client, 0, 10000),
    C_BOOL("server", "trust_forwarded_for", trust_forwarded_for),
    C_INT("server", "max_connections", max_connections, 16, 1000000),
    C_INT("server", "max_connections_per_ip", max_connections_per_ip, 0, 1000000),
    {"server", "request_timeout", K_DURATION, offsetof(struct config, request_timeout_s), 0, 1, 600,
     NULL},
    C_STR("podman", "socket", podman_socket),
    C_INT("podman", "timeout_ms", podman_timeout_ms, 100, 3600000),
    C_STR("network", "name", net_name),
    C_STR("network", "interface", net_interface),
    C_STR("network", "subnet", net_subnet),
    C_STR("network", "egress_name", net_egress_name),
    C_STR("network", "egress_interface", net_egress_interface),
    C_STR("network", "egress_subnet", net_egress_subnet),
    C_STR("server", "allowed_origins", allowed_origins),
    C_STR("pages", "product_name", pages.product_name),
    C_STR("pages", "description", pages.description),
    C_STR("pages", "logo_url", pages.logo_url),
    C_STR("pages", "accent_color", pages.accent_color),
    C_STR("pages", "lifetime_text", pages.lifetime_text),
    C_ENUM("proxy", "backend", proxy_backend, proxy_choices),
    C_STR("proxy", "listen", proxy_listen),
    C_STR("proxy", "front_upstreams", front_upstreams),
    C_STR("proxy", "caddy_admin", caddy_admin),
    C_STR("proxy", "caddy_server", caddy_server),
    C_STR("proxy", "haproxy_socket", haproxy_socket),
    C_STR("proxy", "haproxy_map", haproxy_map),
    C_ENUM("proxy", "tls", proxy_tls, tls_choices),
    C_STR("proxy", "tls_cert_file", tls_cert_file),
    C_STR("proxy", "tls_key_file", tls_key_file),
    C_STR("proxy", "acme_email", acme_email),
    C_STR("proxy", "acme_dns", acme_dns),
    C_ENUM("store", "backend", store_backend, store_choices),
    C_STR("store", "path", store_path),
    C_STR("store", "redis_host", redis_host),
    C_INT("store", "redis_port", redis_port, 1, 65535),
    C_STR("store", "redis_password", redis_password),
    C_STR("store", "redis_password_file", redis_password_file),
    C_STR("store", "redis_key_prefix", redis_key_prefix),
    C_STR("store", "node_name", node_name),
    C_STR("store", "node_address", node_address),
    {"store", "heartbeat_timeout", K_DURATION, offsetof(struct config, heartbeat_timeout_s), 0, 3,
     3600, NULL},
    C_STR("database", "host", db_host),
    C_INT("database", "port", db_port, 1, 65535),
    C_STR("database", "user", db_user),
    C_STR("database", "password", db_password),
    C_STR("database", "name", db_name),
    C_INT("database", "connect_timeout_s", db_connect_timeout_s, 1, 600),
    C_INT("database", "rw_timeout_s", db_rw_timeout_s, 1, 3600),
    P_INT("min_ready", min_ready, 0, 1000),
    P_INT("max_instances", max_instances, 1, 10000),
    P_INT("provision_concurrency", provision_concurrency, 1, 64),
    P_DUR("ttl", ttl_s, 10, 7 * 24 * 3600),
    P_DUR("max_ttl", max_ttl_s, 10, 30 * 24 * 3600),
    P_INT("max_extends", max_extends, 0, 10000),
    P_DUR("idle_timeout", idle_timeout_s, 0, 7 * 24 * 3600),
    P_INT("port_min", port_min, 1024, 65535),
    P_INT("port_max", port_max, 1024, 65535),
    {"pool", "cold_start_fallback", K_BOOL, offsetof(struct pool_config, cold_start_fallback), 0, 0,
     0, NULL},
    {"pool", "db_mode", K_ENUM, offsetof(struct pool_config, db_mode), 0, 0, 0, dbmode_choices},
    {"pool", "egress", K_ENUM, offsetof(struct pool_config, egress), 0, 0, 0, egress_choices},
    {"pool", "restore", K_ENUM, offsetof(struct pool_config, restore_from), 0, 0, 0,
     restore_choices},
    {"pool", "generic_after_restore", K_STR, offsetof(struct pool_config, generic_after_restore),
     CONFIG_SQL, 0, 0, NULL},
    {"pool", "generic_on_release", K_STR, offsetof(struct pool_config, generic_on_release),
     CONFIG_SQL, 0, 0, NULL},
    {"pool", "generic_admin_password", K_STR, offsetof(struct pool_config, generic_admin_password),
     CONFIG_SQL, 0, 0, NULL},
    P_STR("product_name", pages.product_name),
    P_STR("description", pages.description),
    P_STR("logo_url", pages.logo_url),
    P_STR("accent_color", pages.accent_color),
    P_STR("lifetime_text", pages.lifetime_text),
};

void
config_pool_defaults(struct pool_config *pool, const char *name)
{
	memset(pool, 0, sizeof(*pool));
	snprintf(pool->name, sizeof(pool->name), "%s", name);
	pool->min_ready = 2;
	pool->max_instances = 10;
	pool->provision_concurrency = 1;
	pool->ttl_s = 30 * 60;
	pool->max_ttl_s = 2 * 3600;
	pool->max_extends = 6;
	pool->idle_timeout_s = 0;
	pool->port_min = 20000;
	pool->port_max = 29999;
	pool->cold_start_fallback = true;
	pool->db_mode = DB_MODE_EMBEDDED;
}

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "/var/lib/demux");
	snprintf(cfg->log_level, sizeof(cfg->log_level), "info");
	snprintf(cfg->listen, sizeof(cfg->listen), "127.0.0.1:8080");
	snprintf(cfg->base_domain, sizeof(cfg->base_domain), "demo.localhost");
	snprintf(cfg->public_scheme, sizeof(cfg->public_scheme), "http");
	cfg->max_body_bytes = 16384;
	cfg->claims_per_ip_per_minute = 10;
	cfg->max_active_per_client = 3;
	cfg->max_connections = 4096;
	cfg->max_connections_per_ip = 0;
	cfg->request_timeout_s = 10;
	snprintf(cfg->podman_socket, sizeof(cfg->podman_socket), "/run/podman/podman.sock");
	cfg->podman_timeout_ms = 120000;
	snprintf(cfg->net_name, sizeof(cfg->net_name), "demux");
	snprintf(cfg->net_interface, sizeof(cfg->net_interface), "demux0");
	snprintf(cfg->net_egress_name, sizeof(cfg->net_egress_name), "demux-egress");
	snprintf(cfg->net_egress_interface, sizeof(cfg->net_egress_interface), "demux1");
	cfg->proxy_backend = PROXY_CADDY;
	snprintf(cfg->proxy_listen, sizeof(cfg->proxy_listen), "127.0.0.1:8088");
	snprintf(cfg->caddy_admin, sizeof(cfg->caddy_admin), "http://127.0.0.1:2019");
	snprintf(cfg->caddy_server, sizeof(cfg->caddy_server), "demux");
	snprintf(cfg->haproxy_socket, sizeof(cfg->haproxy_socket), "/run/demux/haproxy.sock");
	snprintf(cfg->haproxy_map, sizeof(cfg->haproxy_map), "/var/lib/demux/haproxy/hosts.map");
	cfg->store_backend = STORE_SQLITE;
	snprintf(cfg->redis_host, sizeof(cfg->redis_host), "127.0.0.1");
	cfg->redis_port = 6379;
	snprintf(cfg->redis_key_prefix, sizeof(cfg->redis_key_prefix), "demux:");
	snprintf(cfg->node_name, sizeof(cfg->node_name), "node1");
	snprintf(cfg->node_address, sizeof(cfg->node_address), "127.0.0.1");
	cfg->heartbeat_timeout_s = 15;
	snprintf(cfg->db_host, sizeof(cfg->db_host), "127.0.0.1");
	cfg->db_port = 3306;
	cfg->db_connect_timeout_s = 5;
	cfg->db_rw_timeout_s = 10;
}

int
config_parse_duration(const char *s, int *out)
{
	char *end;
	long v, mult = 1;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end == 's' || *end == '\0')
		mult = 1;
	else if (*end == 'm')
		mult = 60;
	else if (*end == 'h')
		mult = 3600;
	else if (*end == 'd')
		mult = 86400;
	else
		return -1;
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (v > INT_MAX / mult)
		return -1;
	*out = (int)(v * mult);
	return 0;
}

static int
parse_bool(const char *v, bool *out)
{
	if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcmp(v, "1") == 0 ||
	    strcasecmp(v, "on") == 0)
		*out = true;
	else if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 || strcmp(v, "0") == 0 ||
		 strcasecmp(v, "off") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

static int
apply_key(const struct key *k, void *base, const char *value, char *err, size_t errlen)
{
	char *field = (char *)base + k->offset;
	char *end;
	long v;
	int d;
	enum log_level lvl;

	switch (k->type) {
	case K_STR:
		if (strlen(value) >= k->size)
			return errf(err, errlen, "value longer than %zu characters", k->size - 1);
		if (k->choices != NULL) {
			size_t i;

			for (i = 0; k->choices[i] != NULL; i++)
				if (strcmp(value, k->choices[i]) == 0)
					break;
			if (k->choices[i] == NULL)
				return errf(err, errlen, "'%s' is not one of the allowed values",
					    value);
		}
		snprintf(field, k->size, "%s", value);
		return 0;
	case K_DOMAIN:
		if (validate_domain(value, err, errlen) == -1)
			return -1;
		snprintf(field, k->size, "%s", value);
		return 0;
	case K_LOGLEVEL:
		if (log_level_parse(value, &lvl) == -1)
			return errf(err, errlen, "'%s' is not one of error, warn, info, debug",
				    value);
		snprintf(field, k->size, "%s", value);
		return 0;
	case K_INT:
		errno = 0;
		v = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0')
			return errf(err, errlen, "'%s' is not a whole number", value);
		if (v < k->min || v > k->max)
			return errf(err, errlen, "%ld is outside %d..%d", v, k->min, k->max);
		*(int *)(void *)field = (int)v;
		return 0;
	case K_DURATION:
		if (config_parse_duration(value, &d) == -1)
			return errf(err, errlen,
				    "'%s' is not a duration (a number with s, m, h or d)", value);
		if (d < k->min || d > k->max)
			return errf(err, errlen, "%d seconds is outside %d..%d", d, k->min, k->max);
		*(int *)(void *)field = d;
		return 0;
	case K_BOOL:
		if (parse_bool(value, (bool *)(void *)field) == -1)
			return errf(err, errlen, "'%s' is not true or false", value);
		return 0;
	case K_ENUM:
		for (int i = 0; k->choices[i] != NULL; i++) {
			if (strcmp(value, k->choices[i]) == 0) {
				*(int *)(void *)field = i;
				return 0;
			}
		}
		{
			char list[128] = "";

			for (int i = 0; k->choices[i] != NULL; i++) {
				strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
				strncat(list, k->choices[i], sizeof(list) - strlen(list) - 1);
			}
			return errf(err, errlen, "'%s' is not one of %s", value, list);
		}
	}
	return errf(err, errlen, "internal: unknown key type");
}

struct pool_config *
config_pool(const struct config *cfg, const char *name)
{
	for (int i = 0; i < cfg->npools; i++)
		if (strcmp(cfg->pools[i].name, name) == 0)
			return (struct pool_config *)&cfg->pools[i]; /* as strchr does */
	return NULL;
}

int
config_set(struct config *cfg, const char *section, const char *key, const char *value, char *err,
	   size_t errlen)
{
	char reason[256];
	void *base = cfg;
	const char *ksec = section;

	if (strncmp(section, "pool ", 5) == 0) {
		const char *pname = section + 5;
		struct pool_config *p;

		if (validate_name(pname, reason, sizeof(reason)) == -1)
			return errf(err, errlen, "[%s]: pool name: %s", section, reason);
		p = config_pool(cfg, pname);
		if (p == NULL) {
			if (cfg->npools == CONFIG_MAX_POOLS)
				return errf(err, errlen, "[%s]: more than %d pools", section,
					    CONFIG_MAX_POOLS);
			p = &cfg->pools[cfg->npools++];
			config_pool_defaults(p, pname);
		}
		base = p;
		ksec = "pool";
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].section, ksec) != 0 || strcmp(keys[i].name, key) != 0)
			continue;
		if (apply_key(&keys[i], base, value, reason, sizeof(reason)) == -1)
			return errf(err, errlen, "[%s] %s: %s", section, key, reason);
		return 0;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].section, ksec) == 0)
			return errf(err, errlen, "[%s] %s: unknown key", section, key);
	return errf(err, errlen, "[%s]: unknown section", section);
}

/* Whether key k holds the same value in a and b (each a struct config, or
 * a struct pool_config for "pool"). */
static bool
key_same(const struct key *k, const void *a, const void *b)
{
	const char *fa = (const char *)a + k->offset, *fb = (const char *)b + k->offset;

	switch (k->type) {
	case K_STR:
	case K_DOMAIN:
	case K_LOGLEVEL:
		return strcmp(fa, fb) == 0;
	case K_BOOL:
		return *(const bool *)(const void *)fa == *(const bool *)(const void *)fb;
	case K_INT:
	case K_DURATION:
	case K_ENUM:
		return *(const int *)(const void *)fa == *(const int *)(const void *)fb;
	}
	return false;
}

void
config_diff(const struct config *a, const struct config *b,
	    void (*fn)(void *ctx, const char *section, const char *key), void *ctx)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].section, "pool") != 0 && !key_same(&keys[i], a, b))
			fn(ctx, keys[i].section, keys[i].name);
}

void
config_pool_diff(const struct pool_config *a, const struct pool_config *b,
		 void (*fn)(void *ctx, const char *section, const char *key), void *ctx)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].section, "pool") == 0 && !key_same(&keys[i], a, b))
			fn(ctx, "pool", keys[i].name);
}

/* Copies the value of key k from src to dst (each a struct config, or a
 * struct pool_config for "pool"). */
static void
key_copy(const struct key *k, void *dst, const void *src)
{
	switch (k->type) {
	case K_STR:
	case K_DOMAIN:
	case K_LOGLEVEL:
		snprintf((char *)dst + k->offset, k->size, "%s", (const char *)src + k->offset);
		break;
	case K_BOOL:
		memcpy((char *)dst + k->offset, (const char *)src + k->offset, sizeof(bool));
		break;
	case K_INT:
	case K_DURATION:
	case K_ENUM:
		memcpy((char *)dst + k->offset, (const char *)src + k->offset, sizeof(int));
		break;
	}
}

static const struct key *
key_find(const char *section, const char *name)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

int
config_copy_key(struct config *dst, const struct config *src, const char *section, const char *key)
{
	const struct key *k = strcmp(section, "pool") != 0 ? key_find(section, key) : NULL;

	if (k == NULL)
		return -1;
	key_copy(k, dst, src);
	return 0;
}

int
config_pool_copy_key(struct pool_config *dst, const struct pool_config *src, const char *key)
{
	const struct key *k = key_find("pool", key);

	if (k == NULL)
		return -1;
	key_copy(k, dst, src);
	return 0;
}

struct parse_state {
	struct config *cfg;
	FILE *fp;
	int line;
	char *err;
	size_t errlen;
	int failed;
};

/* inih hands the handler each line right after reading it, so counting the
 * lines the reader delivered gives the handler its line number. */
static char *
counting_reader(char *str, int num, void *stream)
{
	struct parse_state *st = stream;
	char *r = fgets(str, num, st->fp);

	if (r != NULL)
		st->line++;
	return r;
}

static int
on_ini_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;
	char reason[512];

	if (st->failed)
		return 0;
	if (name == NULL)
		return 1;
	if (config_set(st->cfg, section, name, value, reason, sizeof(reason)) == -1) {
		snprintf(st->err, st->errlen, "%s:%d: %s", st->cfg->path, st->line, reason);
		st->failed = 1;
		return 0;
	}
	return 1;
}

static int
load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct parse_state st = {cfg, NULL, 0, err, errlen, 0};
	int rc;

	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	st.fp = fopen(path, "r");
	if (st.fp == NULL)
		return errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	rc = ini_parse_stream(counting_reader, &st, on_ini_key, &st);
	fclose(st.fp);
	if (st.failed)
		return -1;
	if (rc > 0)
		return errf(err, errlen, "%s:%d: syntax error (expected [section] or key = value)",
			    path, rc);
	if (rc != 0)
		return errf(err, errlen, "%s: cannot parse", path);
	return 0;
}

/* DEMUX_SERVER_ADMIN_TOKEN -> [server] admin_token;
 * DEMUX_POOL_SHOP_FIXTURE_MIN_READY -> [pool shop-fixture] min_ready (the pool
 * must exist already; its name is matched case-insensitively, '-' as '_'). */
static int
load_env(struct config *cfg, char *err, size_t errlen)
{
	for (char **e = environ; *e != NULL; e++) {
		char var[256], section[128], key[64];
		const char *eq, *rest;
		bool matched = false;

		if (strncmp(*e, "DEMUX_", 6) != 0 || (eq = strchr(*e, '=')) == NULL)
			continue;
		if ((size_t)(eq - *e) >= sizeof(var))
			continue;
		memcpy(var, *e, (size_t)(eq - *e));
		var[eq - *e] = '\0';
		for (char *p = var; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		rest = var + 6;
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && !matched; i++) {
			const struct key *k = &keys[i];
			size_t sl = strlen(k->section);

			if (strcmp(k->section, "pool") == 0) {
				for (int p = 0; p < cfg->npools && !matched; p++) {
					char want[192];

					snprintf(want, sizeof(want), "pool_%s_%s",
						 cfg->pools[p].name, k->name);
					for (char *q = want; *q; q++)
						*q = *q == '-' ? '_'
							       : (char)tolower((unsigned char)*q);
					if (strcmp(rest, want) == 0) {
						snprintf(section, sizeof(section), "pool %s",
							 cfg->pools[p].name);
						snprintf(key, sizeof(key), "%s", k->name);
						matched = true;
					}
				}
				continue;
			}
			if (strncmp(rest, k->section, sl) == 0 && rest[sl] == '_' &&
			    strcmp(rest + sl + 1, k->name) == 0) {
				snprintf(section, sizeof(section), "%s", k->section);
				snprintf(key, sizeof(key), "%s", k->name);
				matched = true;
			}
		}
		if (!matched) {
			/* DEMUX_CONFIG and friends are read by the CLI, not here. */
			continue;
		}
		char reason[512];

		if (config_set(cfg, section, key, eq + 1, reason, sizeof(reason)) == -1)
			return errf(err, errlen, "environment %.*s: %s", (int)(eq - *e), *e,
				    reason);
	}
	return 0;
}

/* The two networks of [network]: valid names, interfaces and subnets, and
 * distinct, since the firewall treats them differently. */
static int
check_networks(const struct config *cfg, const char *where, char *err, size_t errlen)
{
	const char *names[] = {cfg->net_name, cfg->net_egress_name};
	const char *ifaces[] = {cfg->net_interface, cfg->net_egress_interface};
	const char *subnets[] = {cfg->net_subnet, cfg->net_egress_subnet};
	char reason[256];

	for (int i = 0; i < 2; i++) {
		if (validate_name(names[i], reason, sizeof(reason)) == -1 ||
		    firewall_validate_interface(ifaces[i], reason, sizeof(reason)) == -1 ||
		    (subnets[i][0] != '\0' &&
		     firewall_validate_subnet(subnets[i], reason, sizeof(reason)) == -1))
			return errf(err, errlen, "%s: [network] %s", where, reason);
	}
	if (strcmp(names[0], names[1]) == 0 || strcmp(ifaces[0], ifaces[1]) == 0 ||
	    (subnets[0][0] != '\0' && strcmp(subnets[0], subnets[1]) == 0))
		return errf(err, errlen,
			    "%s: [network] the egress network needs its own name, interface and "
			    "subnet",
			    where);
	return 0;
}

/* One set of page settings; what names where it comes from. */
static int
check_look(const struct pages_look *l, const char *where, const char *what, char *err,
	   size_t errlen)
{
	char reason[256];
	const char *key = NULL;

	if (validate_text_line(l->product_name, PAGES_NAME_MAX, reason, sizeof(reason)) == -1)
		key = "product_name";
	else if (validate_text_line(l->description, PAGES_TEXT_MAX, reason, sizeof(reason)) == -1)
		key = "description";
	else if (validate_text_line(l->lifetime_text, PAGES_TEXT_MAX, reason, sizeof(reason)) == -1)
		key = "lifetime_text";
	else if (l->logo_url[0] != '\0' &&
		 validate_page_url(l->logo_url, reason, sizeof(reason)) == -1)
		key = "logo_url";
	else if (l->accent_color[0] != '\0' &&
		 validate_css_color(l->accent_color, reason, sizeof(reason)) == -1)
		key = "accent_color";
	if (key != NULL)
		return errf(err, errlen, "%s: [%s] %s: %s", where, what, key, reason);
	return 0;
}

void
config_pages_look(const struct config *cfg, const struct pool_config *pool, struct pages_look *out)
{
	const struct pages_look *g = &cfg->pages, *p = pool != NULL ? &pool->pages : NULL;

#define PICK(f) snprintf(out->f, sizeof(out->f), "%s", p != NULL && p->f[0] != '\0' ? p->f : g->f)
	PICK(product_name);
	PICK(description);
	PICK(logo_url);
	PICK(accent_color);
	PICK(lifetime_text);
#undef PICK
}

/* [proxy] tls against [server] public_scheme and the backend. */
static int
check_tls(const struct config *cfg, const char *where, char *err, size_t errlen)
{
	bool https = strcmp(cfg->public_scheme, "https") == 0;
	const char *cert = cfg->tls_cert_file, *key = cfg->tls_key_file;
	json_t *dns;
	bool dns_ok;

	if (https && cfg->proxy_tls == PROXY_TLS_OFF)
		return errf(
		    err, errlen,
		    "%s: [server] public_scheme = https needs [proxy] tls = internal, files "
		    "or acme (the proxy ends TLS and tells the apps)",
		    where);
	if (!https && cfg->proxy_tls != PROXY_TLS_OFF)
		return errf(err, errlen,
			    "%s: [proxy] tls = %s serves https: set [server] public_scheme = https",
			    where, tls_choices[cfg->proxy_tls]);
	if (cfg->proxy_backend == PROXY_HAPROXY && cfg->proxy_tls != PROXY_TLS_OFF &&
	    cfg->proxy_tls != PROXY_TLS_FILES)
		return errf(err, errlen,
			    "%s: [proxy] tls = %s needs backend = caddy; haproxy takes tls = files",
			    where, tls_choices[cfg->proxy_tls]);
	if (cfg->proxy_tls == PROXY_TLS_FILES) {
		size_t n = strlen(cert);

		if (cert[0] != '/' || (key[0] != '\0' && key[0] != '/'))
			return errf(
			    err, errlen,
			    "%s: [proxy] tls = files needs tls_cert_file (and tls_key_file) "
			    "as absolute paths",
			    where);
		if (cfg->proxy_backend == PROXY_CADDY && key[0] == '\0')
			return errf(err, errlen, "%s: [proxy] tls = files needs tls_key_file",
				    where);
		/* HAProxy reads the key from the certificate's file or from
		 * "<certificate>.key" next to it, nowhere else. */
		if (cfg->proxy_backend == PROXY_HAPROXY && key[0] != '\0' &&
		    strcmp(key, cert) != 0 &&
		    !(strncmp(key, cert, n) == 0 && strcmp(key + n, ".key") == 0))
			return errf(err, errlen,
				    "%s: [proxy] tls_key_file: haproxy reads the key from "
				    "tls_cert_file or from %s.key",
				    where, cert);
	}
	if (cfg->proxy_tls == PROXY_TLS_ACME) {
		dns = json_loads(cfg->acme_dns, 0, NULL);
		dns_ok = json_is_object(dns) && json_is_string(json_object_get(dns, "name"));
		json_decref(dns);
		if (!dns_ok)
			return errf(
			    err, errlen,
			    "%s: [proxy] tls = acme needs acme_dns, Caddy's DNS provider as a "
			    "JSON object with its \"name\" (a wildcard certificate needs the "
			    "DNS challenge)",
			    where);
	}
	return 0;
}

/* A host name or address, without port: what goes before ":port" in a
 * route's upstream. */
static int
check_node_address(const char *a, char *err, size_t errlen)
{
	if (a[0] == '\0')
		return errf(err, errlen, "empty");
	for (const char *p = a; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr(".-:[]", *p) == NULL)
			return errf(err, errlen,
				    "'%s' is not a host name or address (no port: the copies' "
				    "ports are added)",
				    a);
	if (strchr(a, ':') != NULL && a[0] != '[')
		return errf(err, errlen, "'%s': write an IPv6 address in brackets, [::1]", a);
	return 0;
}

static int
check_store(const struct config *cfg, const char *where, char *err, size_t errlen)
{
	char reason[256];

	if (validate_name(cfg->node_name, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "%s: [store] node_name: %s", where, reason);
	if (check_node_address(cfg->node_address, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "%s: [store] node_address: %s", where, reason);
	if (valkey_prefix_check(cfg->redis_key_prefix, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "%s: [store] redis_key_prefix: %s", where, reason);
	if (cfg->redis_password[0] != '\0' && cfg->redis_password_file[0] != '\0')
		return errf(err, errlen,
			    "%s: [store] set redis_password or redis_password_file, not both",
			    where);
	return 0;
}

int
config_check(const struct config *cfg, char *err, size_t errlen)
{
	const char *where = cfg->path[0] ? cfg->path : "config";
	char reason[256];

	for (int i = 0; i < cfg->npools; i++) {
		const struct pool_config *p = &cfg->pools[i];

		if (p->min_ready > p->max_instances)
			return errf(
			    err, errlen,
			    "%s: [pool %s] min_ready (%d) is larger than max_instances (%d)", where,
			    p->name, p->min_ready, p->max_instances);
		if (p->port_min > p->port_max)
			return errf(err, errlen, "%s: [pool %s] port_min (%d) > port_max (%d)",
				    where, p->name, p->port_min, p->port_max);
		if ((p->port_max - p->port_min + 1) < 2 * p->max_instances)
			return errf(err, errlen,
				    "%s: [pool %s] port range %d-%d is too small for %d instances "
				    "(each needs two ports: app and database)",
				    where, p->name, p->port_min, p->port_max, p->max_instances);
		if (p->ttl_s > p->max_ttl_s)
			return errf(err, errlen, "%s: [pool %s] ttl is longer than max_ttl", where,
				    p->name);
		if (p->db_mode == DB_MODE_SHARED && cfg->db_name[0] == '\0')
			return errf(err, errlen,
				    "%s: [pool %s] db_mode = shared needs [database] name", where,
				    p->name);
		for (int j = 0; j < i; j++) {
			const struct pool_config *q = &cfg->pools[j];

			if (p->port_min <= q->port_max && q->port_min <= p->port_max)
				return errf(err, errlen,
					    "%s: [pool %s] port range overlaps [pool %s]", where,
					    p->name, q->name);
		}
	}
	if (cfg->admin_token[0] != '\0' && strlen(cfg->admin_token) < CONFIG_TOKEN_MIN)
		return errf(err, errlen, "%s: [server] admin_token: shorter than %d characters",
			    where, CONFIG_TOKEN_MIN);
	if (cfg->state_dir[0] != '/')
		return errf(err, errlen, "%s: [demux] state_dir: must be an absolute path", where);
	if (check_tls(cfg, where, err, errlen) == -1)
		return -1;
	if (origin_validate_list(cfg->allowed_origins, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "%s: [server] allowed_origins: %s", where, reason);
	if (check_look(&cfg->pages, where, "pages", err, errlen) == -1)
		return -1;
	for (int i = 0; i < cfg->npools; i++) {
		char what[96];

		snprintf(what, sizeof(what), "pool %s", cfg->pools[i].name);
		if (check_look(&cfg->pools[i].pages, where, what, err, errlen) == -1)
			return -1;
	}
	if (check_store(cfg, where, err, errlen) == -1)
		return -1;
	if (cfg->front_upstreams[0] != '\0' && cfg->proxy_backend != PROXY_CADDY)
		return errf(err, errlen,
			    "%s: [proxy] front_upstreams: only the caddy backend balances the "
			    "front door over several nodes",
			    where);
	return check_networks(cfg, where, err, errlen);
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	enum log_level lvl;

	config_defaults(cfg);
	if (path != NULL && load_file(cfg, path, err, errlen) == -1)
		return -1;
	if (load_env(cfg, err, errlen) == -1)
		return -1;
	if (cfg->store_path[0] == '\0')
		snprintf(cfg->store_path, sizeof(cfg->store_path), "%.200s/demux.db",
			 cfg->state_dir);
	if (cfg->store_backend == STORE_REDIS_ALIAS)
		cfg->store_backend = STORE_VALKEY;
	if (config_check(cfg, err, errlen) == -1)
		return -1;
	if (log_level_parse(cfg->log_level, &lvl) == 0)
		log_set_level(lvl);
	return 0;
}

/* --- values derived from the configuration --------------------------------- */

/* The first line of a secret's file, trailing white space removed, into
 * out. 0, or -1 with "[section] key PATH: reason". */
static int
read_secret_file(const char *what, const char *path, char *out, size_t outlen, char *err,
		 size_t errlen)
{
	FILE *f = fopen(path, "r");
	size_t n;

	out[0] = '\0';
	if (f == NULL)
		return errf(err, errlen, "%s %s: %s", what, path, strerror(errno));
	if (fgets(out, (int)outlen, f) == NULL)
		out[0] = '\0';
	fclose(f);
	n = strlen(out);
	while (n > 0 && strchr(" \t\r\n", out[n - 1]) != NULL)
		out[--n] = '\0';
	return 0;
}

int
config_admin_token(const struct config *cfg, char *out, size_t outlen, char *err, size_t errlen)
{
	out[0] = '\0';
	if (cfg->admin_token[0] != '\0') {
		snprintf(out, outlen, "%s", cfg->admin_token);
	} else if (cfg->admin_token_file[0] != '\0') {
		if (read_secret_file("[server] admin_token_file", cfg->admin_token_file, out,
				     outlen, err, errlen) == -1)
			return -1;
	} else {
		snprintf(err, errlen,
			 "no admin token: set [server] admin_token or admin_token_file (or "
			 "DEMUX_SERVER_ADMIN_TOKEN), at least %d characters, e.g. from "
			 "'head -c 24 /dev/urandom | base64'",
			 CONFIG_TOKEN_MIN);
		return -1;
	}
	if (strlen(out) < CONFIG_TOKEN_MIN) {
		snprintf(err, errlen, "the admin token%s%s is shorter than %d characters",
			 cfg->admin_token[0] != '\0' ? "" : " in ",
			 cfg->admin_token[0] != '\0' ? "" : cfg->admin_token_file,
			 CONFIG_TOKEN_MIN);
		out[0] = '\0';
		return -1;
	}
	return 0;
}

int
config_parse_listen(const char *listen, char *host, size_t hostlen, int *port, char *err,
		    size_t errlen)
{
	char reason[128];

	if (listen == NULL || listen[0] == '\0')
		return errf(err, errlen, "listen address is empty");
	if (hostport_split(listen, host, hostlen, port, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "listen '%s': %s", listen, reason);
	return 0;
}

int
config_store_password(const struct config *cfg, char *out, size_t outlen, char *err, size_t errlen)
{
	out[0] = '\0';
	if (cfg->redis_password[0] != '\0') {
		snprintf(out, outlen, "%s", cfg->redis_password);
		return 0;
	}
	if (cfg->redis_password_file[0] == '\0')
		return 0;
	if (read_secret_file("[store] redis_password_file", cfg->redis_password_file, out, outlen,
			     err, errlen) == -1)
		return -1;
	if (out[0] == '\0')
		return errf(err, errlen, "[store] redis_password_file %s is empty",
			    cfg->redis_password_file);
	return 0;
}

const char *
config_front(const struct config *cfg)
{
	return cfg->front_upstreams[0] != '\0' ? cfg->front_upstreams : cfg->listen;
}
