/*
 * config — demux's settings: an INI file (parsed by inih) plus DEMUX_*
 * environment overrides, every key validated with a message naming the file,
 * the line and the key.
 *
 * Sections: [demux], [server], [podman], [proxy], [store], [database] (the
 * shared MariaDB of shared-database mode), and one [pool NAME] per template
 * that demux keeps a warm pool of. Environment variables override file values:
 * DEMUX_<SECTION>_<KEY> (e.g. DEMUX_SERVER_ADMIN_TOKEN), and for pools
 * DEMUX_POOL_<NAME>_<KEY> with NAME upper-cased and '-' written as '_'.
 * See demux.conf.example for every key.
 */
#ifndef DEMUX_CONFIG_H
#define DEMUX_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_STR 256
#define CONFIG_SQL 2048
#define CONFIG_MAX_POOLS 16
#define CONFIG_TOKEN_MIN 16 /* admin token */
#define CONFIG_TOKEN_MAX 256

enum db_mode { DB_MODE_EMBEDDED, DB_MODE_SHARED };
enum proxy_backend { PROXY_CADDY, PROXY_HAPROXY };
/* "redis" is read as valkey (the same protocol); config_load folds it in. */
enum store_backend { STORE_SQLITE, STORE_VALKEY, STORE_REDIS_ALIAS };
enum egress { EGRESS_NONE, EGRESS_OPEN };
/* Where a copy is restored from (template_restore.h). */
enum restore_from { RESTORE_PREPARED, RESTORE_ARCHIVE };
/* Who holds the one certificate for *.<base_domain> and <base_domain>
 * (docs/PROXY.md): none (plain HTTP), Caddy's own CA, the operator's
 * files, or Caddy's ACME client with a DNS challenge. */
enum proxy_tls { PROXY_TLS_OFF, PROXY_TLS_INTERNAL, PROXY_TLS_FILES, PROXY_TLS_ACME };

/* How the visitor pages present the product ([pages], and per template in
 * its [pool NAME]; "" = the built-in wording and look). Validated by
 * config_check; pages.c escapes every one of them. */
#define PAGES_NAME_MAX 60
#define PAGES_TEXT_MAX 200
struct pages_look {
	char product_name[PAGES_NAME_MAX + 1];
	char description[PAGES_TEXT_MAX + 1];	/* one line under the title */
	char logo_url[CONFIG_STR];		/* https://…, http://… or /path */
	char accent_color[8];			/* #rgb or #rrggbb */
	char lifetime_text[PAGES_TEXT_MAX + 1]; /* replaces "Yours for 30 minutes…" */
};

struct pool_config {
	char name[64]; /* template name */
	int min_ready;
	int max_instances;
	int provision_concurrency;
	int ttl_s;
	int max_ttl_s;
	int max_extends;    /* extends per claimed demo */
	int idle_timeout_s; /* 0 = off */
	int port_min;
	int port_max;
	bool cold_start_fallback;
	enum db_mode db_mode;
	enum egress egress; /* may its copies open connections beyond the machine? */
	enum restore_from restore_from;
	char generic_after_restore[CONFIG_SQL]; /* generic profile; ';'-separated */
	char generic_on_release[CONFIG_SQL];
	/* generic: stores {password_hash} for {admin_user}; "" = copies keep the
	 * template's admin password */
	char generic_admin_password[CONFIG_SQL];
	struct pages_look pages; /* overrides [pages] for this template */
};

struct config {
	char path[CONFIG_STR]; /* file it came from, "" for defaults */
	/* [demux] */
	char state_dir[CONFIG_STR];
	char log_level[16];
	/* [server] */
	char listen[CONFIG_STR];
	char base_domain[CONFIG_STR];
	char public_scheme[8];
	int public_port; /* port visitors use, 0 = scheme default */
	char admin_token[CONFIG_STR];
	char admin_token_file[CONFIG_STR];
	int max_body_bytes;
	int claims_per_ip_per_minute;
	int max_active_per_client; /* claimed demos one address may hold, 0 = no limit */
	bool trust_forwarded_for;
	int max_connections;	    /* open connections to demux's listener */
	int max_connections_per_ip; /* 0 = no limit (the right value behind a proxy) */
	int request_timeout_s;	    /* idle connection, and the longest body upload */
	/* Origins (besides the base domain) whose pages may claim demos:
	 * "https://www.example.com https://example.com" (origin.h). */
	char allowed_origins[CONFIG_SQL];
	/* [pages] */
	struct pages_look pages;
	/* [podman] */
	char podman_socket[CONFIG_STR];
	int podman_timeout_ms;
	/* [network]: the Podman networks of demo copies (docs/SECURITY.md) */
	char net_name[64];
	char net_interface[16];
	char net_subnet[64]; /* "" = Podman's choice */
	char net_egress_name[64];
	char net_egress_interface[16];
	char net_egress_subnet[64];
	/* [proxy] */
	enum proxy_backend proxy_backend;
	char proxy_listen[CONFIG_STR]; /* where the proxy serves visitors */
	/* every node's listener, for the front door of several nodes; "" = listen */
	char front_upstreams[CONFIG_STR * 4];
	char caddy_admin[CONFIG_STR];
	char caddy_server[64];
	char haproxy_socket[CONFIG_STR];
	char haproxy_map[CONFIG_STR];
	enum proxy_tls proxy_tls;
	char tls_cert_file[CONFIG_STR]; /* PROXY_TLS_FILES */
	char tls_key_file[CONFIG_STR];
	char acme_email[CONFIG_STR]; /* PROXY_TLS_ACME */
	char acme_dns[CONFIG_SQL];   /* Caddy's DNS provider object, JSON */
	/* [store] */
	enum store_backend store_backend;
	char store_path[CONFIG_STR];
	char redis_host[CONFIG_STR];
	int redis_port;
	char redis_password[CONFIG_STR];
	char redis_password_file[CONFIG_STR];
	char redis_key_prefix[72];     /* of every key demux writes (store/valkey.h) */
	char node_name[64];	       /* this daemon, among the nodes sharing a store */
	char node_address[CONFIG_STR]; /* where the front proxy reaches this node's copies */
	int heartbeat_timeout_s;       /* a node silent this long is gone */
	/* [database] — shared mode */
	char db_host[CONFIG_STR];
	int db_port;
	char db_user[CONFIG_STR];
	char db_password[CONFIG_STR];
	char db_name[CONFIG_STR];
	int db_connect_timeout_s;
	int db_rw_timeout_s;

	int npools;
	struct pool_config pools[CONFIG_MAX_POOLS];
};

/* Fills cfg with the built-in defaults. */
void config_defaults(struct config *cfg);
/* Fills a pool with defaults for template name. */
void config_pool_defaults(struct pool_config *pool, const char *name);
/* Loads defaults, then path (if not NULL), then the environment, then checks
 * cross-key rules. On failure returns -1 with "file:line: key: reason" in err. */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);
/* Applies one key as if read from a file; for tests and the loader. */
int config_set(struct config *cfg, const char *section, const char *key, const char *value,
	       char *err, size_t errlen);
/* Cross-key checks (min_ready <= max_instances, port ranges, ...). */
int config_check(const struct config *cfg, char *err, size_t errlen);
/* Finds the pool for a template name, or NULL (writable when cfg is). */
struct pool_config *config_pool(const struct config *cfg, const char *name);
/* The look of pool's pages: its own values, else [pages]'s (pool may be NULL). */
void config_pages_look(const struct config *cfg, const struct pool_config *pool,
		       struct pages_look *out);
/* The keys outside [pool NAME] sections whose values differ in a and b:
 * fn(ctx, section, key) for each, never given a value (some are secrets). */
void config_diff(const struct config *a, const struct config *b,
		 void (*fn)(void *ctx, const char *section, const char *key), void *ctx);
/* The [pool NAME] keys whose values differ in a and b, as config_diff
 * (section "pool"). */
void config_pool_diff(const struct pool_config *a, const struct pool_config *b,
		      void (*fn)(void *ctx, const char *section, const char *key), void *ctx);
/* Copies the value of [section] key (not a pool's) from src to dst; -1 for
 * an unknown key. */
int config_copy_key(struct config *dst, const struct config *src, const char *section,
		    const char *key);
/* Copies the value of [pool NAME] key from src to dst; -1 for an unknown key. */
int config_pool_copy_key(struct pool_config *dst, const struct pool_config *src, const char *key);
/* Parses "90", "90s", "30m", "2h" into seconds; -1 on error. */
int config_parse_duration(const char *s, int *out);
/*
 * The admin token: [server] admin_token, else the first line of
 * admin_token_file (trailing white space removed). 0, or -1 with a reason in
 * err (missing, unreadable, shorter than CONFIG_TOKEN_MIN). Never logs it.
 * Used by the daemon and by the CLI, which sends it.
 */
int config_admin_token(const struct config *cfg, char *out, size_t outlen, char *err,
		       size_t errlen);
/* Splits a listen address "host:port" (host may be "", "[v6]"); 0 or -1
 * with a reason. The daemon binds it; the CLI finds the API there. */
int config_parse_listen(const char *listen, char *host, size_t hostlen, int *port, char *err,
			size_t errlen);
/* What the front door (<base_domain>) leads to: [proxy] front_upstreams,
 * else [server] listen. */
const char *config_front(const struct config *cfg);
/* The store's password: [store] redis_password, else the first line of
 * redis_password_file, else "". 0 or -1 with a reason; never logs it. */
int config_store_password(const struct config *cfg, char *out, size_t outlen, char *err,
			  size_t errlen);

#endif
