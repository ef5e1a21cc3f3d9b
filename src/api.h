/*
 * api — the JSON API under /api/v1 and /healthz, and the request/response
 * shapes shared by the HTTP layer (server.c), the visitor pages (pages.c) and
 * the metrics endpoint.
 *
 * api.c never touches a pool: it calls struct api_backend, which the daemon
 * (serve.c) implements over its pools and store and the unit tests implement
 * with a fake (tests/unit/fake_api_backend.c). It never sees a socket either:
 * server.c turns a libmicrohttpd request into a struct api_request and sends
 * back whatever the handler put into struct api_response.
 *
 * Errors are always JSON {"error": "..."}. An id that id_valid() refuses
 * (e.g. "../x") answers 404, like an id that does not exist: an id that cannot
 * exist is simply not found, and a prober learns nothing from the difference.
 * A token that does not own an existing demo gets that same 404, so ids
 * cannot be probed with made-up tokens either.
 *
 * Authorisation: "Authorization: Bearer TOKEN" where TOKEN is the admin token
 * or the owner token handed out at claim. Both are compared in constant time.
 */
#ifndef DEMUX_API_H
#define DEMUX_API_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "pool_view.h"
#include "store/store.h"

#define API_MAX_TEMPLATES CONFIG_MAX_POOLS
#define API_MAX_ARGS 8
#define API_MAX_HEALTH 8
#define API_MAX_MINUTES 1440 /* one extend; the pool also clamps to max_ttl */
#define API_RESPONSE_MAX ((size_t)32 * 1024 * 1024)

/* What the API shows of a template and its pool configuration. */
struct api_template {
	char name[64];
	char admin_path[256]; /* "" when the app has no admin area */
	char admin_user[256]; /* "" when there are no credentials to show */
	char admin_password[128];
	int min_ready, max_instances;
	int ttl_s, max_ttl_s;
	int max_extends;
	struct pages_look look; /* how the visitor pages present it */
};

struct api_pool_info {
	struct api_template tmpl;
	struct pool_stats stats;
};

/* One dependency for /healthz. */
struct api_health {
	char name[32]; /* "store", "podman", "proxy" */
	bool ok;
	char detail[256]; /* why not, when !ok */
};

/*
 * What the HTTP layer needs from the daemon. All calls may come from several
 * threads at once. Functions with err return 0 or -1 with a reason in err;
 * get returns STORE_NOT_FOUND for a missing instance.
 */
struct api_backend_ops {
	/* Every template served, the default first; returns how many (<= max). */
	int (*pools)(void *ctx, struct api_pool_info *out, int max);
	/* max_owned > 0: CLAIM_CLIENT_LIMIT when owner_ip already holds that
	 * many claimed demos. */
	enum claim_result (*claim)(void *ctx, const char *template_name, const char *owner_ip,
				   int max_owned, struct instance *out, int *retry_ms, char *err,
				   size_t errlen);
	int (*get)(void *ctx, const char *id, struct instance *out, char *err, size_t errlen);
	/* 0, -1, or EXTEND_LIMIT_REACHED (pool_view.h) with the reason in err. */
	int (*extend)(void *ctx, const char *id, int minutes, struct instance *out, char *err,
		      size_t errlen);
	int (*release)(void *ctx, const char *id, char *err, size_t errlen);
	/* Every instance; *out is malloc'ed, the caller frees it. */
	int (*list)(void *ctx, struct instance **out, int *n, char *err, size_t errlen);
	/* Checks the dependencies; returns how many entries it filled (<= max). */
	int (*health)(void *ctx, struct api_health *out, int max);
	/* The nodes sharing the pool; how many (<= max), -1 when the store
	 * cannot tell. May be NULL. */
	int (*nodes)(void *ctx, struct node_view *out, int max);
};

struct api_backend {
	const struct api_backend_ops *ops;
	void *ctx;
};

/* Settings of the HTTP layer; the strings are owned by the caller and outlive it.
 * The last three may be replaced while requests are served (api_set_live, a
 * configuration reload): the handlers read them through api_max_active,
 * api_allowed_origins and api_look. */
struct api {
	struct api_backend backend;
	const char *base_domain;   /* "demo.example.com" */
	const char *public_scheme; /* "http" or "https" */
	int public_port;	   /* 0 = the scheme's default */
	const char *admin_token;   /* >= 16 characters; never logged */
	int max_active_per_client; /* claimed demos per client address; 0 = no limit */
	long long (*now)(void);	   /* unix seconds; NULL = time() */
	/* Origins besides the base domain that may claim and read the API
	 * (origin.h); NULL or "" = none. */
	const char *allowed_origins;
	const struct pages_look *look; /* [pages]; NULL = the built-in look */
};

/* Replaces the live settings, each atomically; the strings and look must
 * stay valid as long as the api (a request may hold the old ones). */
void api_set_live(struct api *a, int max_active_per_client, const char *allowed_origins,
		  const struct pages_look *look);
int api_max_active(const struct api *a);
const char *api_allowed_origins(const struct api *a);
const struct pages_look *api_look(const struct api *a);

struct api_kv {
	const char *key;
	const char *value;
};

/* One HTTP request; every pointer is owned by the caller for the request's life. */
struct api_request {
	const char *method;		  /* "GET", "HEAD", "POST", "DELETE", ... */
	const char *path;		  /* decoded path, without the query */
	struct api_kv args[API_MAX_ARGS]; /* query arguments */
	int nargs;
	const char *body; /* NUL-terminated; "" when there is none */
	size_t body_len;
	const char *client_ip;	   /* the address a claim is accounted to */
	const char *authorization; /* header value or NULL */
	const char *cookie;	   /* header value or NULL */
	const char *host;	   /* header value or NULL */
	const char *origin;	   /* header value or NULL */
};

/* What a handler answers. api_response_init before, api_response_free after. */
struct api_response {
	int status;
	const char *content_type; /* static string */
	struct buf body;
	char location[512];
	char set_cookie[256];
	char allow[32];	       /* Allow header of a 405 */
	int retry_after;       /* seconds; 0 = no Retry-After */
	bool www_authenticate; /* add "WWW-Authenticate: Bearer" */
	bool claimed;	       /* the request handed out an instance (rate limiter) */
	/* CORS: Access-Control-Allow-Origin for an allowed origin ("" = none),
	 * and whether this answers a preflight (Allow-Methods/Headers too). */
	char allow_origin[256];
	bool preflight;
};

void api_response_init(struct api_response *r);
void api_response_free(struct api_response *r);
/* Replaces the response with a JSON {"error": message}. */
void api_error(struct api_response *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* May a request with this Origin header claim a demo? No header (not a
 * browser, or a same-origin GET), the base domain, or an allowed origin. */
bool api_origin_may_claim(const struct api *a, const char *origin);

/* True for paths api_handle serves (/api/..., /healthz). */
bool api_owns_path(const char *path);
/* True for POST /api/v1/demos: requests that may hand out an instance. */
bool api_is_claim(const struct api_request *req);
/* Answers a request under /api/ or /healthz. */
void api_handle(const struct api *a, const struct api_request *req, struct api_response *resp);

/* --- shared with pages.c and the CLI ----------------------------------- */

/* Constant-time string equality (length leaks, contents do not). */
bool api_token_equal(const char *a, const char *b);
/* The bearer token of the request, or NULL; copied into out. */
const char *api_bearer(const struct api_request *req, char *out, size_t outlen);
bool api_is_admin(const struct api *a, const struct api_request *req);
/* Query argument by name, or NULL. */
const char *api_arg(const struct api_request *req, const char *key);
long long api_now(const struct api *a);
const char *api_state_name(enum instance_state s);
/* "2026-11-26T11:00:00Z" */
void api_iso8601(long long t, char *out, size_t outlen);
/* "<scheme>://<id>.<base_domain>[:port]<path>" */
void api_instance_url(const struct api *a, const char *id, const char *path, char *out,
		      size_t outlen);
/* The admin password in's owner is shown: the copy's own, else the
 * template's (tmpl->admin_password). Never for anyone but the owner. */
const char *api_admin_password(const struct instance *in, const struct api_template *tmpl);
/* Template by name (NULL or "" = the default): 0, or -1 when there is none. */
int api_find_template(const struct api *a, const char *name, struct api_template *out);
/*
 * Claims an instance of template (NULL = default) for owner_ip, holding it
 * to max_active_per_client unless `unlimited` (the admin). On CLAIM_OK
 * fills out and tmpl; on CLAIM_PROVISIONING *retry_ms; on CLAIM_ERROR err.
 * An unknown template is CLAIM_ERROR with *unknown_template set.
 */
enum claim_result api_claim(const struct api *a, const char *template_name, const char *owner_ip,
			    bool unlimited, struct instance *out, struct api_template *tmpl,
			    int *retry_ms, bool *unknown_template, char *err, size_t errlen);

#endif
