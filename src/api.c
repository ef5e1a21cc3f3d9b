/*
 * api — JSON handlers of /api/v1 and /healthz (see api.h for the contract
 * and docs/API.md for the wire format).
 *
 * Bodies are parsed with jansson and validated strictly: a body must be one
 * JSON object, every member must be known and of the right type, and the
 * 400 that answers anything else names the member. Responses are built as
 * jansson values and serialised once, so nothing is ever spliced into JSON.
 */
#include "api.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "id.h"
#include "log.h"
#include "origin.h"
#include "validate.h"
#include "version.h"
#include "xmalloc.h"

/* The one answer for an id that does not exist, cannot exist, or is not the
 * token's. */
#define NO_SUCH_DEMO "no such demo"

void
api_response_init(struct api_response *r)
{
	memset(r, 0, sizeof(*r));
	r->status = 200;
	r->content_type = "application/json";
	buf_init(&r->body, API_RESPONSE_MAX);
}

void
api_response_free(struct api_response *r)
{
	buf_free(&r->body);
}

/* Serialises v (taking the reference) as the response body. */
static void
respond_json(struct api_response *r, int status, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII);

	json_decref(v);
	if (s == NULL)
		fatalx("out of memory serialising JSON");
	r->status = status;
	r->content_type = "application/json";
	buf_reset(&r->body);
	if (buf_appends(&r->body, s) == -1 || buf_appends(&r->body, "\n") == -1) {
		buf_reset(&r->body);
		r->status = 500;
		buf_appends(&r->body, "{\"error\":\"response too large\"}\n");
	}
	free(s);
}

static void
error_with(struct api_response *r, int status, const char *reason, const char *msg)
{
	json_t *v = json_pack("{s:s}", "error", msg);

	if (v == NULL)
		fatalx("out of memory building JSON");
	if (reason != NULL)
		json_object_set_new(v, "reason", json_string(reason));
	respond_json(r, status, v);
}

/* A 503 with reason "dependency" naming the dependency that failed. */
static void
error_dependency(struct api_response *r, const char *dependency, const char *msg)
{
	json_t *v = json_pack("{s:s,s:s,s:s}", "error", msg, "reason", "dependency", "dependency",
			      dependency);

	if (v == NULL)
		fatalx("out of memory building JSON");
	respond_json(r, 503, v);
}

void
api_error(struct api_response *r, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	error_with(r, status, NULL, msg);
}

static void
method_not_allowed(struct api_response *r, const char *allow)
{
	snprintf(r->allow, sizeof(r->allow), "%s", allow);
	api_error(r, 405, "method not allowed (allowed: %s)", allow);
}

bool
api_owns_path(const char *path)
{
	return strcmp(path, "/healthz") == 0 || strcmp(path, "/api") == 0 ||
	       strncmp(path, "/api/", 5) == 0;
}

bool
api_is_claim(const struct api_request *req)
{
	return strcmp(req->method, "POST") == 0 && strcmp(req->path, "/api/v1/demos") == 0;
}

bool
api_token_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	/* Walk the expected token's whole length whatever the input is. */
	for (size_t i = 0; i < lb; i++)
		diff |= (unsigned char)(b[i] ^ (i < la ? a[i] : 0));
	return diff == 0;
}

const char *
api_bearer(const struct api_request *req, char *out, size_t outlen)
{
	const char *h = req->authorization;
	size_t n;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	n = strlen(h);
	while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= outlen)
		return NULL;
	memcpy(out, h, n);
	out[n] = '\0';
	return out;
}

bool
api_is_admin(const struct api *a, const struct api_request *req)
{
	char tok[512];

	if (a->admin_token == NULL || strlen(a->admin_token) < 16)
		return false;
	if (api_bearer(req, tok, sizeof(tok)) == NULL)
		return false;
	return api_token_equal(tok, a->admin_token);
}

const char *
api_arg(const struct api_request *req, const char *key)
{
	for (int i = 0; i < req->nargs; i++)
		if (strcmp(req->args[i].key, key) == 0)
			return req->args[i].value;
	return NULL;
}

void
api_set_live(struct api *a, int max_active_per_client, const char *allowed_origins,
	     const struct pages_look *look)
{
	__atomic_store_n(&a->max_active_per_client, max_active_per_client, __ATOMIC_RELAXED);
	__atomic_store_n(&a->allowed_origins, allowed_origins, __ATOMIC_RELEASE);
	__atomic_store_n(&a->look, look, __ATOMIC_RELEASE);
}

int
api_max_active(const struct api *a)
{
	return __atomic_load_n(&a->max_active_per_client, __ATOMIC_RELAXED);
}

const char *
api_allowed_origins(const struct api *a)
{
	return __atomic_load_n(&a->allowed_origins, __ATOMIC_ACQUIRE);
}

const struct pages_look *
api_look(const struct api *a)
{
	return __atomic_load_n(&a->look, __ATOMIC_ACQUIRE);
}

long long
api_now(const struct api *a)
{
	return a->now != NULL ? a->now() : (long long)time(NULL);
}

const char *
api_state_name(enum instance_state s)
{
	switch (s) {
	case INSTANCE_PROVISIONING:
		return "provisioning";
	case INSTANCE_READY:
		return "ready";
	case INSTANCE_CLAIMED:
		return "claimed";
	case INSTANCE_RELEASING:
		return "releasing";
	}
	return "unknown";
}

void
api_iso8601(long long t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "1970-01-01T00:00:00Z");
}

void
api_instance_url(const struct api *a, const char *id, const char *path, char *out, size_t outlen)
{
	const char *scheme = a->public_scheme != NULL ? a->public_scheme : "http";
	char port[URL_PORT_SUFFIX_SIZE];

	url_port_suffix(scheme, a->public_port, port);
	if (path == NULL || path[0] == '\0')
		path = "/";
	snprintf(out, outlen, "%s://%s.%s%s%s%s", scheme, id, a->base_domain, port,
		 path[0] == '/' ? "" : "/", path);
}

int
api_find_template(const struct api *a, const char *name, struct api_template *out)
{
	struct api_pool_info *pools = xcalloc(API_MAX_TEMPLATES, sizeof(*pools));
	int n, rc = -1;

	n = a->backend.ops->pools(a->backend.ctx, pools, API_MAX_TEMPLATES);
	for (int i = 0; i < n; i++) {
		if (name == NULL || name[0] == '\0' || strcmp(pools[i].tmpl.name, name) == 0) {
			*out = pools[i].tmpl;
			rc = 0;
			break;
		}
	}
	free(pools);
	return rc;
}

enum claim_result
api_claim(const struct api *a, const char *template_name, const char *owner_ip, bool unlimited,
	  struct instance *out, struct api_template *tmpl, int *retry_ms, bool *unknown_template,
	  char *err, size_t errlen)
{
	*unknown_template = false;
	*retry_ms = 0;
	if (api_find_template(a, template_name, tmpl) == -1) {
		*unknown_template = true;
		if (template_name != NULL && template_name[0] != '\0')
			snprintf(err, errlen, "no pool for template \"%.64s\"", template_name);
		else
			snprintf(err, errlen, "no template is configured");
		return CLAIM_ERROR;
	}
	return a->backend.ops->claim(a->backend.ctx, tmpl->name, owner_ip,
				     unlimited ? 0 : api_max_active(a), out, retry_ms, err, errlen);
}

/* --- JSON of an instance ------------------------------------------------- */

static json_t *
time_or_null(long long t)
{
	char iso[32];

	if (t <= 0)
		return json_null();
	api_iso8601(t, iso, sizeof(iso));
	return json_string(iso);
}

static json_t *
int_or_null(long long t)
{
	return t > 0 ? json_integer(t) : json_null();
}

/* The admin password the owner of in is shown: the copy's own, or, for a
 * copy that keeps the template's (a profile that cannot set one), the
 * template's. */
const char *
api_admin_password(const struct instance *in, const struct api_template *tmpl)
{
	return in->admin_password[0] != '\0' ? in->admin_password : tmpl->admin_password;
}

/* The instance as the API shows it. tmpl may be NULL (credentials: null).
 * A copy's own admin password is its owner's alone: the admin token's views
 * show it as null. */
static json_t *
instance_json(const struct api *a, const struct instance *in, const struct api_template *tmpl,
	      bool admin)
{
	char url[512], admin_url[768];
	json_t *v, *cred = json_null();
	long long now = api_now(a), left;

	api_instance_url(a, in->id, "/", url, sizeof(url));
	if (tmpl != NULL && tmpl->admin_path[0] != '\0')
		api_instance_url(a, in->id, tmpl->admin_path, admin_url, sizeof(admin_url));
	else
		admin_url[0] = '\0';
	if (tmpl != NULL && tmpl->admin_user[0] != '\0') {
		json_decref(cred);
		cred = json_pack("{s:s,s:o}", "user", tmpl->admin_user, "password",
				 admin && in->admin_password[0] != '\0'
				     ? json_null()
				     : json_string(api_admin_password(in, tmpl)));
	}
	v = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", in->id, "template",
		      in->template_name, "state", api_state_name(in->state), "url", url,
		      "admin_url", admin_url[0] ? json_string(admin_url) : json_null(),
		      "credentials", cred, "created_at", time_or_null(in->created_at),
		      "created_at_unix", int_or_null(in->created_at), "claimed_at",
		      time_or_null(in->claimed_at), "expires_at", time_or_null(in->expires_at),
		      "expires_at_unix", int_or_null(in->expires_at));
	if (v == NULL)
		fatalx("out of memory building JSON");
	if (in->state == INSTANCE_CLAIMED && in->expires_at > 0) {
		left = in->expires_at - now;
		json_object_set_new(v, "seconds_left", json_integer(left > 0 ? left : 0));
	} else {
		json_object_set_new(v, "seconds_left", json_null());
	}
	json_object_set_new(v, "method", in->method[0] ? json_string(in->method) : json_null());
	/* copies made before templates had versions ran the first one */
	json_object_set_new(v, "version", json_integer(in->version > 0 ? in->version : 1));
	if (tmpl != NULL && in->claimed_at > 0)
		json_object_set_new(v, "max_expires_at_unix",
				    json_integer(in->claimed_at + tmpl->max_ttl_s));
	if (in->state == INSTANCE_CLAIMED) {
		json_object_set_new(v, "extends", json_integer(in->extends));
		if (tmpl != NULL)
			json_object_set_new(v, "max_extends", json_integer(tmpl->max_extends));
	}
	if (admin) {
		json_object_set_new(v, "app_port", json_integer(in->app_port));
		json_object_set_new(v, "owner_ip", json_string(in->owner_ip));
		json_object_set_new(v, "node", json_string(in->node));
		json_object_set_new(v, "provision_ms", json_real(in->provision_ms));
	}
	return v;
}

/* --- body parsing -------------------------------------------------------- */

static bool
body_empty(const struct api_request *req)
{
	for (size_t i = 0; i < req->body_len; i++)
		if (strchr(" \t\r\n", req->body[i]) == NULL)
			return false;
	return true;
}

/* Parses the body as one JSON object whose members are all in `allowed`
 * (NULL-terminated). Returns the object, or NULL after answering 400. */
static json_t *
parse_object(const struct api_request *req, struct api_response *resp, const char *const *allowed)
{
	json_error_t jerr;
	json_t *v;
	const char *key;
	json_t *member;

	v = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL) {
		api_error(resp, 400, "invalid JSON at line %d column %d: %s", jerr.line,
			  jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		api_error(resp, 400, "the body must be a JSON object");
		return NULL;
	}
	json_object_foreach(v, key, member)
	{
		bool known = false;

		for (size_t i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				known = true;
		if (!known) {
			api_error(resp, 400, "unknown field \"%.64s\"", key);
			json_decref(v);
			return NULL;
		}
	}
	return v;
}

static const char *
json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "something else";
}

/* --- authorisation ------------------------------------------------------- */

/*
 * Loads instance id into *in and checks that the request carries its owner
 * token or the admin token. Returns 0 when allowed, -1 after answering.
 */
static int
authorize_instance(const struct api *a, const struct api_request *req, struct api_response *resp,
		   const char *id, struct instance *in, bool *admin)
{
	char tok[512], err[256];
	int r;

	if (api_bearer(req, tok, sizeof(tok)) == NULL) {
		resp->www_authenticate = true;
		api_error(resp, 401,
			  "an owner or admin token is required (Authorization: Bearer TOKEN)");
		return -1;
	}
	*admin = api_is_admin(a, req);
	r = a->backend.ops->get(a->backend.ctx, id, in, err, sizeof(err));
	if (r == -1) {
		log_warnx("api get failed id=%s error=\"%s\"", id, err);
		error_with(resp, 503, "dependency", "the state store is unavailable");
		return -1;
	}
	if (r == STORE_NOT_FOUND) {
		api_error(resp, 404, NO_SUCH_DEMO);
		return -1;
	}
	if (*admin)
		return 0;
	if (in->owner_token[0] != '\0' && api_token_equal(tok, in->owner_token)) {
		if (in->state == INSTANCE_CLAIMED)
			return 0;
		/* Its owner is told the truth: it is being taken down. */
		api_error(resp, 404, "demo %s has ended", id);
		return -1;
	}
	/* Not this token's: answered like an id that does not exist, so that
	 * nobody learns which ids do. */
	api_error(resp, 404, NO_SUCH_DEMO);
	return -1;
}

static bool
require_admin(const struct api *a, const struct api_request *req, struct api_response *resp)
{
	char tok[512];

	if (api_bearer(req, tok, sizeof(tok)) == NULL) {
		resp->www_authenticate = true;
		api_error(resp, 401, "the admin token is required (Authorization: Bearer TOKEN)");
		return false;
	}
	if (!api_is_admin(a, req)) {
		api_error(resp, 403, "this token is not the admin token");
		return false;
	}
	return true;
}

/* --- handlers ------------------------------------------------------------ */

/* The dependency behind a failed claim: the first failing health check
 * (store, podman, proxy), else what the pool's last provisioning failure
 * points at (a copy's database, its app); "unknown" when neither tells. */
static void
failed_dependency(const struct api *a, const char *template_name, char *out, size_t outlen)
{
	struct api_health h[API_MAX_HEALTH];
	struct api_pool_info *pools;
	int n;

	memset(h, 0, sizeof(h));
	n = a->backend.ops->health(a->backend.ctx, h, API_MAX_HEALTH);
	for (int i = 0; i < n; i++)
		if (!h[i].ok && strcmp(h[i].name, "provisioning") != 0) {
			snprintf(out, outlen, "%.31s", h[i].name);
			return;
		}
	snprintf(out, outlen, "unknown");
	pools = xcalloc(API_MAX_TEMPLATES, sizeof(*pools));
	n = a->backend.ops->pools(a->backend.ctx, pools, API_MAX_TEMPLATES);
	for (int i = 0; i < n; i++)
		if (strcmp(pools[i].tmpl.name, template_name) == 0 &&
		    pools[i].stats.last_dependency[0] != '\0')
			snprintf(out, outlen, "%.15s", pools[i].stats.last_dependency);
	free(pools);
}

static void
handle_claim(const struct api *a, const struct api_request *req, struct api_response *resp)
{
	static const char *const allowed[] = {"template", NULL};
	char tname[64] = "", err[512];
	struct instance in;
	struct api_template tmpl;
	enum claim_result cr;
	bool unknown;
	int retry_ms;
	json_t *v;

	if (!api_origin_may_claim(a, req->origin)) {
		api_error(resp, 403, "claims from this origin are not allowed");
		return;
	}
	if (!body_empty(req)) {
		json_t *body = parse_object(req, resp, allowed), *t;

		if (body == NULL)
			return;
		t = json_object_get(body, "template");
		if (t != NULL && !json_is_null(t)) {
			char reason[160];

			if (!json_is_string(t)) {
				api_error(resp, 400, "template: must be a string, not %s",
					  json_type_name(t));
				json_decref(body);
				return;
			}
			if (validate_name(json_string_value(t), reason, sizeof(reason)) == -1) {
				api_error(resp, 400, "template: %s", reason);
				json_decref(body);
				return;
			}
			snprintf(tname, sizeof(tname), "%s", json_string_value(t));
		}
		json_decref(body);
	}
	cr = api_claim(a, tname, req->client_ip, api_is_admin(a, req), &in, &tmpl, &retry_ms,
		       &unknown, err, sizeof(err));
	switch (cr) {
	case CLAIM_OK:
		v = instance_json(a, &in, &tmpl, false);
		json_object_set_new(v, "owner_token", json_string(in.owner_token));
		snprintf(resp->location, sizeof(resp->location), "/api/v1/demos/%s", in.id);
		resp->claimed = true;
		respond_json(resp, 201, v);
		return;
	case CLAIM_PROVISIONING:
		resp->retry_after = retry_ms <= 0 ? 1 : (retry_ms + 999) / 1000;
		v = json_pack("{s:s,s:s,s:i,s:i}", "status", "provisioning", "template", tmpl.name,
			      "retry_after", resp->retry_after, "retry_after_ms", retry_ms);
		respond_json(resp, 202, v);
		return;
	case CLAIM_AT_CAPACITY:
		resp->retry_after = 60;
		error_with(resp, 503, "capacity",
			   "all demos are in use, try again in a few minutes");
		return;
	case CLAIM_CLIENT_LIMIT: {
		char msg[256];

		snprintf(msg, sizeof(msg),
			 "your address already has %d demos running, the most allowed; end one "
			 "(DELETE /api/v1/demos/ID) or wait for one to expire",
			 api_max_active(a));
		resp->retry_after = 60;
		error_with(resp, 429, "client_limit", msg);
		return;
	}
	case CLAIM_ERROR: {
		char dep[32], msg[700];

		if (unknown) {
			api_error(resp, 400, "template: %s", err);
			return;
		}
		failed_dependency(a, tmpl.name, dep, sizeof(dep));
		log_warnx("claim failed template=%s ip=%s dependency=%s error=\"%s\"", tmpl.name,
			  req->client_ip, dep, err);
		resp->retry_after = 30;
		if (api_is_admin(a, req))
			snprintf(msg, sizeof(msg), "a dependency (%s) is unavailable: %s", dep,
				 err);
		else
			snprintf(msg, sizeof(msg),
				 "a dependency (%s) is unavailable; try again in a few minutes",
				 dep);
		error_dependency(resp, dep, msg);
		return;
	}
	}
}

static void
handle_get(const struct api *a, const struct api_request *req, struct api_response *resp,
	   const char *id)
{
	struct instance in;
	struct api_template tmpl;
	bool admin;

	if (authorize_instance(a, req, resp, id, &in, &admin) == -1)
		return;
	respond_json(
	    resp, 200,
	    instance_json(a, &in, api_find_template(a, in.template_name, &tmpl) == 0 ? &tmpl : NULL,
			  admin));
}

static void
handle_extend(const struct api *a, const struct api_request *req, struct api_response *resp,
	      const char *id)
{
	static const char *const allowed[] = {"minutes", NULL};
	struct instance in, out;
	struct api_template tmpl;
	char err[256];
	json_t *body, *m;
	long long minutes;
	bool admin;
	int r;

	if (body_empty(req)) {
		api_error(resp, 400, "minutes: required (body {\"minutes\": N})");
		return;
	}
	if ((body = parse_object(req, resp, allowed)) == NULL)
		return;
	m = json_object_get(body, "minutes");
	if (m == NULL) {
		json_decref(body);
		api_error(resp, 400, "minutes: required");
		return;
	}
	if (!json_is_integer(m)) {
		api_error(resp, 400, "minutes: must be an integer, not %s", json_type_name(m));
		json_decref(body);
		return;
	}
	minutes = json_integer_value(m);
	json_decref(body);
	if (minutes < 1 || minutes > API_MAX_MINUTES) {
		api_error(resp, 400, "minutes: must be between 1 and %d", API_MAX_MINUTES);
		return;
	}
	if (authorize_instance(a, req, resp, id, &in, &admin) == -1)
		return;
	if (in.state != INSTANCE_CLAIMED) {
		api_error(resp, 409, "demo %s is %s, not claimed", id, api_state_name(in.state));
		return;
	}
	r = a->backend.ops->extend(a->backend.ctx, id, (int)minutes, &out, err, sizeof(err));
	if (r == EXTEND_LIMIT_REACHED) {
		char msg[256];

		snprintf(msg, sizeof(msg),
			 "demo %s was already extended %d times, the most allowed; it cannot be "
			 "extended again",
			 id, in.extends);
		error_with(resp, 409, "extend_limit", msg);
		return;
	}
	if (r == -1) {
		struct instance again;

		if (a->backend.ops->get(a->backend.ctx, id, &again, err, sizeof(err)) ==
		    STORE_NOT_FOUND) {
			api_error(resp, 404, NO_SUCH_DEMO);
			return;
		}
		log_warnx("extend failed id=%s error=\"%s\"", id, err);
		error_with(resp, 503, "dependency", "could not extend the demo; try again");
		return;
	}
	respond_json(
	    resp, 200,
	    instance_json(a, &out,
			  api_find_template(a, out.template_name, &tmpl) == 0 ? &tmpl : NULL,
			  admin));
}

static void
handle_release(const struct api *a, const struct api_request *req, struct api_response *resp,
	       const char *id)
{
	struct instance in;
	char err[256];
	bool admin;

	if (authorize_instance(a, req, resp, id, &in, &admin) == -1)
		return;
	if (a->backend.ops->release(a->backend.ctx, id, err, sizeof(err)) == -1) {
		log_warnx("release failed id=%s error=\"%s\"", id, err);
		if (admin)
			error_with(resp, 503, "dependency", err);
		else
			error_with(resp, 503, "dependency", "could not end the demo; try again");
		return;
	}
	respond_json(resp, 200, json_pack("{s:s,s:b}", "id", id, "released", 1));
}

static void
handle_list(const struct api *a, const struct api_request *req, struct api_response *resp)
{
	struct api_pool_info *pools;
	struct instance *list = NULL;
	char err[256];
	json_t *arr, *v;
	int n = 0, np;

	if (!require_admin(a, req, resp))
		return;
	if (a->backend.ops->list(a->backend.ctx, &list, &n, err, sizeof(err)) == -1) {
		error_with(resp, 503, "dependency", err);
		return;
	}
	pools = xcalloc(API_MAX_TEMPLATES, sizeof(*pools));
	np = a->backend.ops->pools(a->backend.ctx, pools, API_MAX_TEMPLATES);
	arr = json_array();
	for (int i = 0; i < n; i++) {
		const struct api_template *t = NULL;

		for (int j = 0; j < np; j++)
			if (strcmp(pools[j].tmpl.name, list[i].template_name) == 0)
				t = &pools[j].tmpl;
		json_array_append_new(arr, instance_json(a, &list[i], t, true));
	}
	free(pools);
	free(list);
	v = json_pack("{s:o,s:i}", "demos", arr, "count", n);
	respond_json(resp, 200, v);
}

static json_t *
pool_json(const struct api_pool_info *p)
{
	const struct pool_stats *s = &p->stats;
	static const char *const methods[2] = {"criu_restore", "cold_start"};
	json_t *prov = json_object(), *v;

	for (int m = 0; m < 2; m++)
		json_object_set_new(
		    prov, methods[m],
		    json_pack("{s:I,s:f}", "count", (json_int_t)s->hist_count[m], "mean_seconds",
			      s->hist_count[m] > 0 ? s->hist_sum[m] / (double)s->hist_count[m]
						   : 0.0));
	v = json_pack(
	    "{s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:I,s:{s:I,s:I,s:I},s:I,s:I,s:I,s:I,s:o,"
	    "s:s}",
	    "template", p->tmpl.name, "ready", s->ready, "claimed", s->claimed, "provisioning",
	    s->provisioning, "releasing", s->releasing, "min_ready", p->tmpl.min_ready,
	    "max_instances", p->tmpl.max_instances, "ttl_seconds", p->tmpl.ttl_s, "max_ttl_seconds",
	    p->tmpl.max_ttl_s, "claims", (json_int_t)s->claims, "claim_failures", "provisioning",
	    (json_int_t)s->claim_fail_provisioning, "capacity", (json_int_t)s->claim_fail_capacity,
	    "error", (json_int_t)s->claim_fail_error, "expirations", (json_int_t)s->expirations,
	    "releases", (json_int_t)s->releases, "provision_failures",
	    (json_int_t)s->provision_failures, "lost", (json_int_t)s->lost, "provision", prov,
	    "last_error", s->last_error);
	if (v == NULL)
		fatalx("out of memory building JSON");
	/* the template version served; ready copies of older ones, which go as
	 * new ones become ready; why the newest one is not served */
	json_object_set_new(v, "version", json_integer(s->version));
	json_object_set_new(v, "stale_ready", json_integer(s->stale));
	json_object_set_new(v, "version_error",
			    s->version_error[0] ? json_string(s->version_error) : json_null());
	return v;
}

static void
handle_pool(const struct api *a, const struct api_request *req, struct api_response *resp)
{
	struct api_pool_info *pools;
	json_t *arr, *v;
	int n;

	if (!require_admin(a, req, resp))
		return;
	pools = xcalloc(API_MAX_TEMPLATES, sizeof(*pools));
	n = a->backend.ops->pools(a->backend.ctx, pools, API_MAX_TEMPLATES);
	arr = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(arr, pool_json(&pools[i]));
	free(pools);
	v = json_pack("{s:o}", "pools", arr);
	if (a->backend.ops->nodes != NULL) {
		struct node_view *nodes = xcalloc(NODE_VIEW_MAX, sizeof(*nodes));
		int nn = a->backend.ops->nodes(a->backend.ctx, nodes, NODE_VIEW_MAX);
		json_t *na = json_array();

		for (int i = 0; i < nn; i++)
			json_array_append_new(
			    na,
			    json_pack("{s:s,s:s,s:b,s:b,s:i,s:i,s:i,s:i}", "name", nodes[i].name,
				      "address", nodes[i].address, "alive", nodes[i].alive, "self",
				      nodes[i].self, "ready", nodes[i].ready, "claimed",
				      nodes[i].claimed, "provisioning", nodes[i].provisioning,
				      "releasing", nodes[i].releasing));
		json_object_set_new(v, "nodes", na);
		free(nodes);
	}
	respond_json(resp, 200, v);
}

/* Which dependency failed and why is for the admin: to anyone else it maps
 * demux's insides (socket paths, addresses, error texts), so they get the
 * status code and {"status": "ok"|"degraded"} only. */
static void
handle_healthz(const struct api *a, const struct api_request *req, struct api_response *resp)
{
	struct api_health h[API_MAX_HEALTH];
	json_t *checks = json_object();
	bool all = true;
	int n;

	memset(h, 0, sizeof(h));
	n = a->backend.ops->health(a->backend.ctx, h, API_MAX_HEALTH);
	for (int i = 0; i < n; i++) {
		json_t *c = json_pack("{s:b}", "ok", h[i].ok);

		if (!h[i].ok) {
			all = false;
			json_object_set_new(c, "error", json_string(h[i].detail));
		}
		json_object_set_new(checks, h[i].name, c);
	}
	if (!api_is_admin(a, req)) {
		json_decref(checks);
		respond_json(resp, all ? 200 : 503,
			     json_pack("{s:s}", "status", all ? "ok" : "degraded"));
		return;
	}
	respond_json(resp, all ? 200 : 503,
		     json_pack("{s:s,s:s,s:o}", "status", all ? "ok" : "degraded", "version",
			       DEMUX_VERSION, "checks", checks));
}

static bool
is_get(const struct api_request *req)
{
	return strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
}

bool
api_origin_may_claim(const struct api *a, const char *origin)
{
	return origin == NULL || origin_is_base(a->base_domain, origin) ||
	       origin_in_list(api_allowed_origins(a), origin);
}

/* CORS, for the origins of [server] allowed_origins only: their pages may
 * read the API's answers (never with cookies: the API takes bearer tokens)
 * and send JSON, which needs a preflight. Any other origin gets no CORS
 * header, so its pages can read nothing, and a 403 to its preflight. True
 * when the request was a preflight and is answered. */
static bool
cors(const struct api *a, const struct api_request *req, struct api_response *resp)
{
	bool allowed = req->origin != NULL && origin_in_list(api_allowed_origins(a), req->origin);

	if (allowed)
		snprintf(resp->allow_origin, sizeof(resp->allow_origin), "%s", req->origin);
	if (strcmp(req->method, "OPTIONS") != 0)
		return false;
	if (!allowed) {
		api_error(resp, 403, "cross-origin requests from this origin are not allowed");
		return true;
	}
	resp->status = 204;
	resp->preflight = true;
	buf_reset(&resp->body);
	return true;
}

void
api_handle(const struct api *a, const struct api_request *req, struct api_response *resp)
{
	const char *rest;

	if (cors(a, req, resp))
		return;
	if (strcmp(req->path, "/healthz") == 0) {
		if (is_get(req))
			handle_healthz(a, req, resp);
		else
			method_not_allowed(resp, "GET, HEAD");
		return;
	}
	if (strncmp(req->path, "/api/v1/", 8) != 0) {
		api_error(resp, 404, "no such endpoint; the API lives under /api/v1/");
		return;
	}
	rest = req->path + 8;
	if (strcmp(rest, "demos") == 0) {
		if (strcmp(req->method, "POST") == 0)
			handle_claim(a, req, resp);
		else if (is_get(req))
			handle_list(a, req, resp);
		else
			method_not_allowed(resp, "GET, HEAD, POST");
		return;
	}
	if (strcmp(rest, "pool") == 0) {
		if (is_get(req))
			handle_pool(a, req, resp);
		else
			method_not_allowed(resp, "GET, HEAD");
		return;
	}
	if (strncmp(rest, "demos/", 6) == 0) {
		const char *seg = rest + 6, *slash = strchr(seg, '/');
		size_t len = slash != NULL ? (size_t)(slash - seg) : strlen(seg);
		char id[ID_SIZE];

		if (len != ID_LEN) {
			api_error(resp, 404, NO_SUCH_DEMO);
			return;
		}
		memcpy(id, seg, ID_LEN);
		id[ID_LEN] = '\0';
		if (!id_valid(id)) {
			api_error(resp, 404, NO_SUCH_DEMO);
			return;
		}
		if (slash == NULL) {
			if (is_get(req))
				handle_get(a, req, resp, id);
			else if (strcmp(req->method, "DELETE") == 0)
				handle_release(a, req, resp, id);
			else
				method_not_allowed(resp, "GET, HEAD, DELETE");
			return;
		}
		if (strcmp(slash, "/extend") == 0) {
			if (strcmp(req->method, "POST") == 0)
				handle_extend(a, req, resp, id);
			else
				method_not_allowed(resp, "POST");
			return;
		}
	}
	api_error(resp, 404, "no such endpoint");
}
