/* Unit tests for api: the JSON API's routes, validation, authorisation and
 * the JSON of an instance, against the fake backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "fake_api_backend.h"

static struct fake_api fake;
static struct api api;
static struct api_response last;
static json_t *body;

static int
setup(void **state)
{
	(void)state;
	fake_api_init(&fake, &api);
	api_response_init(&last);
	body = NULL;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	api_response_free(&last);
	json_decref(body);
	body = NULL;
	return 0;
}

/* Runs one request; leaves the response in `last` and its parsed JSON in `body`. */
static int
call(const char *method, const char *path, const char *reqbody, const char *auth)
{
	struct api_request req;
	char authz[256];

	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path;
	req.body = reqbody != NULL ? reqbody : "";
	req.body_len = strlen(req.body);
	req.client_ip = "192.0.2.7";
	if (auth != NULL) {
		snprintf(authz, sizeof(authz), "Bearer %s", auth);
		req.authorization = authz;
	}
	api_response_free(&last);
	api_response_init(&last);
	api_handle(&api, &req, &last);
	json_decref(body);
	body = json_loads(buf_str(&last.body), 0, NULL);
	assert_non_null(body); /* every answer is JSON */
	assert_string_equal(last.content_type, "application/json");
	return last.status;
}

/* One request from a page of origin (the browser's Origin header); the
 * answer stays in `last` (a preflight's body is empty, not JSON). */
static int
call_from(const char *origin, const char *method, const char *path, const char *reqbody)
{
	struct api_request req;

	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path;
	req.body = reqbody != NULL ? reqbody : "";
	req.body_len = strlen(req.body);
	req.client_ip = "192.0.2.7";
	req.origin = origin;
	api_response_free(&last);
	api_response_init(&last);
	api_handle(&api, &req, &last);
	return last.status;
}

static const char *
str(const char *key)
{
	json_t *v = json_object_get(body, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void
assert_error_contains(const char *needle)
{
	const char *e = str("error");

	assert_non_null(e);
	if (strstr(e, needle) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", e, needle);
}

/* Claims one demo through the API; returns its id and owner token. */
static void
claim(char *id, char *token)
{
	assert_int_equal(call("POST", "/api/v1/demos", "{\"template\":\"shop\"}", NULL), 201);
	snprintf(id, ID_SIZE, "%s", str("id"));
	snprintf(token, INSTANCE_TOKEN_SIZE, "%s", str("owner_token"));
}

static void
test_claim_returns_everything_a_visitor_needs(void **state)
{
	struct instance *in;
	json_t *cred;
	char url[128];

	(void)state;
	in = fake_api_add(&fake, "shop", INSTANCE_READY);
	assert_int_equal(call("POST", "/api/v1/demos", "{\"template\": \"shop\"}", NULL), 201);
	assert_string_equal(str("id"), in->id);
	assert_string_equal(str("template"), "shop");
	assert_string_equal(str("state"), "claimed");
	snprintf(url, sizeof(url), "http://%s.demo.test:8088/", in->id);
	assert_string_equal(str("url"), url);
	snprintf(url, sizeof(url), "http://%s.demo.test:8088/admin-dev/", in->id);
	assert_string_equal(str("admin_url"), url);
	cred = json_object_get(body, "credentials");
	assert_string_equal(json_string_value(json_object_get(cred, "user")), "demo@example.com");
	assert_string_equal(json_string_value(json_object_get(cred, "password")), "demo-pass-123");
	/* 1800000000 + 1800 s */
	assert_string_equal(str("expires_at"), "2027-01-15T08:30:00Z");
	assert_int_equal(json_integer_value(json_object_get(body, "expires_at_unix")), 1800001800);
	assert_int_equal(json_integer_value(json_object_get(body, "seconds_left")), 1800);
	assert_string_equal(str("method"), "criu_restore");
	assert_true(strlen(str("owner_token")) >= 32);
	assert_string_equal(str("owner_token"), in->owner_token);
	assert_true(last.claimed);
	snprintf(url, sizeof(url), "/api/v1/demos/%s", in->id);
	assert_string_equal(last.location, url);
	assert_string_equal(fake.last_claim_ip, "192.0.2.7");
	/* No internals for a visitor. */
	assert_null(json_object_get(body, "app_port"));
	assert_null(json_object_get(body, "owner_ip"));
}

static void
test_claim_without_body_uses_default_template(void **state)
{
	(void)state;
	fake_api_add(&fake, "shop", INSTANCE_READY);
	assert_int_equal(call("POST", "/api/v1/demos", "", NULL), 201);
	assert_string_equal(fake.last_claim_template, "shop");
	fake_api_add(&fake, "shop", INSTANCE_READY);
	assert_int_equal(call("POST", "/api/v1/demos", " {} ", NULL), 201);
}

static void
test_claim_provisioning_capacity_and_dependency(void **state)
{
	(void)state;
	fake.retry_ms = 1500;
	assert_int_equal(call("POST", "/api/v1/demos", NULL, NULL), 202);
	assert_int_equal(last.retry_after, 2);
	assert_string_equal(str("status"), "provisioning");
	assert_false(last.claimed);

	fake.force = CLAIM_AT_CAPACITY;
	assert_int_equal(call("POST", "/api/v1/demos", NULL, NULL), 503);
	assert_string_equal(str("reason"), "capacity");
	assert_error_contains("all demos are in use");
	assert_true(last.retry_after > 0);

	fake.force = CLAIM_ERROR;
	assert_int_equal(call("POST", "/api/v1/demos", NULL, NULL), 503);
	assert_string_equal(str("reason"), "dependency");
	/* A visitor does not see internal details; the admin does. */
	assert_null(strstr(str("error"), "/secret/socket"));
	assert_int_equal(call("POST", "/api/v1/demos", NULL, FAKE_ADMIN_TOKEN), 503);
	assert_error_contains("/secret/socket");
}

/* A failed claim names the dependency: the failing health check first,
 * else what the pool's last provisioning failure points at. */
static void
test_claim_names_the_failed_dependency(void **state)
{
	(void)state;
	fake.force = CLAIM_ERROR;
	assert_int_equal(call("POST", "/api/v1/demos", NULL, NULL), 503);
	assert_string_equal(str("dependency"), "unknown");
	fake.podman_down = true;
	assert_int_equal(call("POST", "/api/v1/demos", NULL, NULL), 503);
	assert_string_equal(str("reason"), "dependency");
	assert_string_equal(str("dependency"), "podman");
	assert_error_contains("(podman)");
	fake.podman_down = false;
	snprintf(fake.pools[0].stats.last_dependency, sizeof(fake.pools[0].stats.last_dependency),
		 "database");
	assert_int_equal(call("POST", "/api/v1/demos", NULL, NULL), 503);
	assert_string_equal(str("dependency"), "database");
}

static void
test_claim_body_validation_names_the_field(void **state)
{
	(void)state;
	assert_int_equal(call("POST", "/api/v1/demos", "{\"template\": 5}", NULL), 400);
	assert_error_contains("template");
	assert_error_contains("string");
	assert_int_equal(call("POST", "/api/v1/demos", "{\"templat\": \"shop\"}", NULL), 400);
	assert_error_contains("unknown field \"templat\"");
	assert_int_equal(call("POST", "/api/v1/demos", "{\"template\": \"shop\"", NULL), 400);
	assert_error_contains("invalid JSON");
	assert_int_equal(call("POST", "/api/v1/demos", "[\"shop\"]", NULL), 400);
	assert_error_contains("JSON object");
	assert_int_equal(
	    call("POST", "/api/v1/demos", "{\"template\":\"a\",\"template\":\"b\"}", NULL), 400);
	assert_int_equal(call("POST", "/api/v1/demos", "{\"template\": \"../etc\"}", NULL), 400);
	assert_error_contains("template");
	assert_int_equal(call("POST", "/api/v1/demos", "{\"template\": \"wordpress\"}", NULL), 400);
	assert_error_contains("no pool for template \"wordpress\"");
	assert_int_equal(call("POST", "/api/v1/demos", "{} trailing", NULL), 400);
	assert_int_equal(fake.claims, 0);
}

static void
test_get_needs_owner_or_admin(void **state)
{
	char id[ID_SIZE], tok[INSTANCE_TOKEN_SIZE], path[64];

	(void)state;
	fake_api_add(&fake, "shop", INSTANCE_READY);
	claim(id, tok);
	snprintf(path, sizeof(path), "/api/v1/demos/%s", id);

	assert_int_equal(call("GET", path, NULL, NULL), 401);
	assert_true(last.www_authenticate);
	assert_int_equal(call("GET", path, NULL, "not-the-token-at-all"), 404);
	assert_int_equal(call("GET", path, NULL, tok), 200);
	assert_string_equal(str("id"), id);
	assert_null(json_object_get(body, "owner_token"));
	assert_int_equal(call("GET", path, NULL, FAKE_ADMIN_TOKEN), 200);
	assert_non_null(json_object_get(body, "app_port")); /* the admin sees internals */

	/* Another demo's owner token does not open this one. */
	{
		char id2[ID_SIZE], tok2[INSTANCE_TOKEN_SIZE];

		fake_api_add(&fake, "shop", INSTANCE_READY);
		claim(id2, tok2);
		assert_int_equal(call("GET", path, NULL, tok2), 404);
	}
}

/* A wrong token and an unknown id get the same answer, byte for byte, on
 * every route: ids cannot be probed. */
static void
test_wrong_token_answers_like_an_unknown_id(void **state)
{
	static const char *const routes[][3] = {
	    {"GET", "", NULL}, {"POST", "/extend", "{\"minutes\": 5}"}, {"DELETE", "", NULL}};
	char id[ID_SIZE], tok[INSTANCE_TOKEN_SIZE], path[96], mine[512];

	(void)state;
	fake_api_add(&fake, "shop", INSTANCE_READY);
	claim(id, tok);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		snprintf(path, sizeof(path), "/api/v1/demos/%s%s", id, routes[i][1]);
		assert_int_equal(call(routes[i][0], path, routes[i][2], "guessed-token"), 404);
		snprintf(mine, sizeof(mine), "%s", buf_str(&last.body));
		snprintf(path, sizeof(path), "/api/v1/demos/aaaaaaaaaaaaaaaa%s", routes[i][1]);
		assert_int_equal(call(routes[i][0], path, routes[i][2], "guessed-token"), 404);
		assert_string_equal(buf_str(&last.body), mine);
		assert_string_equal(mine, "{\"error\":\"no such demo\"}\n");
	}
	assert_int_equal(fake.extends, 0);
	assert_int_equal(fake.releases, 0);
}

static void
test_malformed_and_unknown_ids_are_404(void **state)
{
	const char *paths[] = {"/api/v1/demos/../x",
			       "/api/v1/demos/..%2Fx",
			       "/api/v1/demos/aaaaaaaaaaaaaaaa/../../pool",
			       "/api/v1/demos/AAAAAAAAAAAAAAAA",
			       "/api/v1/demos/aaaaaaaaaaaaaaa1",
			       "/api/v1/demos/aaaaaaaaaaaaaaaaa",
			       "/api/v1/demos/",
			       "/api/v1/demos/aaaaaaaaaaaaaaaa/nope"};

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_equal(call("GET", paths[i], NULL, FAKE_ADMIN_TOKEN), 404);
		assert_non_null(str("error"));
	}
	/* Well-formed but unknown. */
	assert_int_equal(call("GET", "/api/v1/demos/aaaaaaaaaaaaaaaa", NULL, FAKE_ADMIN_TOKEN),
			 404);
	assert_int_equal(
	    call("POST", "/api/v1/demos/aaaaaaaaaaaaaaaa/extend", "{\"minutes\":5}", "x-token"),
	    404);
	assert_int_equal(call("DELETE", "/api/v1/demos/aaaaaaaaaaaaaaaa", NULL, FAKE_ADMIN_TOKEN),
			 404);
}

static void
test_extend_moves_expiry_and_validates(void **state)
{
	char id[ID_SIZE], tok[INSTANCE_TOKEN_SIZE], path[80];

	(void)state;
	fake_api_add(&fake, "shop", INSTANCE_READY);
	claim(id, tok);
	snprintf(path, sizeof(path), "/api/v1/demos/%s/extend", id);

	assert_int_equal(call("POST", path, "{\"minutes\": 15}", tok), 200);
	assert_int_equal(json_integer_value(json_object_get(body, "expires_at_unix")),
			 1800000000 + 1800 + 900);
	assert_int_equal(fake.extends, 1);

	assert_int_equal(call("POST", path, "{\"minutes\": \"15\"}", tok), 400);
	assert_error_contains("minutes: must be an integer");
	assert_int_equal(call("POST", path, "{\"minutes\": 1.5}", tok), 400);
	assert_error_contains("minutes");
	assert_int_equal(call("POST", path, "{\"minutes\": true}", tok), 400);
	assert_error_contains("minutes");
	assert_int_equal(call("POST", path, "{\"minutes\": 0}", tok), 400);
	assert_error_contains("between 1 and 1440");
	assert_int_equal(call("POST", path, "{\"minutes\": 100000}", tok), 400);
	assert_int_equal(call("POST", path, "{}", tok), 400);
	assert_error_contains("minutes: required");
	assert_int_equal(call("POST", path, "", tok), 400);
	assert_int_equal(call("POST", path, "{\"minutes\": 5, \"hours\": 1}", tok), 400);
	assert_error_contains("unknown field \"hours\"");
	assert_int_equal(call("POST", path, "{\"minutes\": 5}", NULL), 401);
	assert_int_equal(call("POST", path, "{\"minutes\": 5}", "wrong-token"), 404);
	assert_int_equal(fake.extends, 1);

	/* Clamped at max_ttl by the backend. */
	assert_int_equal(call("POST", path, "{\"minutes\": 1440}", FAKE_ADMIN_TOKEN), 200);
	assert_int_equal(json_integer_value(json_object_get(body, "expires_at_unix")),
			 1800000000 + 7200);
	assert_int_equal(call("GET", path, NULL, tok), 405);
	assert_string_equal(last.allow, "POST");
}

/* One address holds at most max_active_per_client claimed demos; a 429 with
 * reason "client_limit" hands out nothing; the admin is not held to it. */
static void
test_claims_limited_per_client(void **state)
{
	char id[ID_SIZE], tok[INSTANCE_TOKEN_SIZE];

	(void)state;
	fake.pools[0].tmpl.max_instances = 10;
	for (int i = 0; i < 6; i++)
		fake_api_add(&fake, "shop", INSTANCE_READY);
	for (int i = 0; i < 3; i++)
		claim(id, tok);
	assert_int_equal(fake.last_claim_max_owned, 3);
	assert_int_equal(call("POST", "/api/v1/demos", NULL, NULL), 429);
	assert_string_equal(str("reason"), "client_limit");
	assert_error_contains("already has 3 demos running");
	assert_false(last.claimed);
	assert_true(last.retry_after > 0);
	assert_null(json_object_get(body, "owner_token"));
	/* The admin (e.g. demux claim) is not limited. */
	assert_int_equal(call("POST", "/api/v1/demos", NULL, FAKE_ADMIN_TOKEN), 201);
	assert_int_equal(fake.last_claim_max_owned, 0);
	/* A configuration reload raises the limit while requests are served
	 * (the admin's demo counts: 4 held). */
	api_set_live(&api, 5, api.allowed_origins, api.look);
	assert_int_equal(call("POST", "/api/v1/demos", NULL, NULL), 201);
	assert_int_equal(call("POST", "/api/v1/demos", NULL, NULL), 429);
	assert_error_contains("already has 5 demos running");
	/* Off when configured 0. */
	api.max_active_per_client = 0;
	assert_int_equal(call("POST", "/api/v1/demos", NULL, NULL), 201);
}

/* Extends are counted; past max_extends: 409 with reason "extend_limit". */
static void
test_extend_limit_is_409(void **state)
{
	char id[ID_SIZE], tok[INSTANCE_TOKEN_SIZE], path[80];

	(void)state;
	fake.pools[0].tmpl.max_extends = 2;
	fake_api_add(&fake, "shop", INSTANCE_READY);
	claim(id, tok);
	assert_int_equal(json_integer_value(json_object_get(body, "extends")), 0);
	assert_int_equal(json_integer_value(json_object_get(body, "max_extends")), 2);
	snprintf(path, sizeof(path), "/api/v1/demos/%s/extend", id);
	assert_int_equal(call("POST", path, "{\"minutes\": 1}", tok), 200);
	assert_int_equal(call("POST", path, "{\"minutes\": 1}", tok), 200);
	assert_int_equal(json_integer_value(json_object_get(body, "extends")), 2);
	assert_int_equal(call("POST", path, "{\"minutes\": 1}", tok), 409);
	assert_string_equal(str("reason"), "extend_limit");
	assert_error_contains("extended 2 times, the most allowed");
}

static void
test_extend_of_unclaimed_is_409(void **state)
{
	struct instance *in;
	char path[80];

	(void)state;
	in = fake_api_add(&fake, "shop", INSTANCE_READY);
	snprintf(path, sizeof(path), "/api/v1/demos/%s/extend", in->id);
	assert_int_equal(call("POST", path, "{\"minutes\": 5}", FAKE_ADMIN_TOKEN), 409);
}

static void
test_release_by_owner_then_gone(void **state)
{
	char id[ID_SIZE], tok[INSTANCE_TOKEN_SIZE], path[64];

	(void)state;
	fake_api_add(&fake, "shop", INSTANCE_READY);
	claim(id, tok);
	snprintf(path, sizeof(path), "/api/v1/demos/%s", id);
	assert_int_equal(call("DELETE", path, NULL, "wrong-token"), 404);
	assert_int_equal(fake.releases, 0);
	assert_int_equal(call("DELETE", path, NULL, tok), 200);
	assert_true(json_is_true(json_object_get(body, "released")));
	assert_int_equal(fake.releases, 1);
	assert_int_equal(call("GET", path, NULL, tok), 404);
	assert_int_equal(call("PUT", path, NULL, tok), 405);
}

static void
test_owner_of_a_demo_being_released_gets_404(void **state)
{
	char id[ID_SIZE], tok[INSTANCE_TOKEN_SIZE], path[64];

	(void)state;
	fake_api_add(&fake, "shop", INSTANCE_READY);
	claim(id, tok);
	fake_api_find(&fake, id)->state = INSTANCE_RELEASING;
	snprintf(path, sizeof(path), "/api/v1/demos/%s", id);
	assert_int_equal(call("GET", path, NULL, tok), 404);
	assert_error_contains("has ended");
	assert_int_equal(call("GET", path, NULL, "someone-else"), 404);
	assert_int_equal(call("GET", path, NULL, FAKE_ADMIN_TOKEN), 200);
	assert_string_equal(str("state"), "releasing");
}

static void
test_store_down_is_503(void **state)
{
	char id[ID_SIZE], tok[INSTANCE_TOKEN_SIZE], path[64];

	(void)state;
	fake_api_add(&fake, "shop", INSTANCE_READY);
	claim(id, tok);
	snprintf(path, sizeof(path), "/api/v1/demos/%s", id);
	fake.store_down = true;
	assert_int_equal(call("GET", path, NULL, tok), 503);
	assert_string_equal(str("reason"), "dependency");
	assert_int_equal(call("GET", "/api/v1/demos", NULL, FAKE_ADMIN_TOKEN), 503);
}

static void
test_list_and_pool_need_admin(void **state)
{
	char id[ID_SIZE], tok[INSTANCE_TOKEN_SIZE];
	json_t *pools, *p;

	(void)state;
	fake_api_add(&fake, "shop", INSTANCE_READY);
	fake_api_add(&fake, "shop", INSTANCE_READY);
	claim(id, tok);
	assert_int_equal(call("GET", "/api/v1/demos", NULL, NULL), 401);
	assert_int_equal(call("GET", "/api/v1/demos", NULL, tok), 403);
	assert_int_equal(call("GET", "/api/v1/pool", NULL, tok), 403);
	/* A token that is a prefix of the admin token is not the admin token. */
	assert_int_equal(call("GET", "/api/v1/demos", NULL, "admin-token-012345678"), 403);

	assert_int_equal(call("GET", "/api/v1/demos", NULL, FAKE_ADMIN_TOKEN), 200);
	assert_int_equal(json_integer_value(json_object_get(body, "count")), 2);
	assert_int_equal(json_array_size(json_object_get(body, "demos")), 2);

	assert_int_equal(call("GET", "/api/v1/pool", NULL, FAKE_ADMIN_TOKEN), 200);
	pools = json_object_get(body, "pools");
	assert_int_equal(json_array_size(pools), 1);
	p = json_array_get(pools, 0);
	assert_string_equal(json_string_value(json_object_get(p, "template")), "shop");
	assert_int_equal(json_integer_value(json_object_get(p, "ready")), 1);
	assert_int_equal(json_integer_value(json_object_get(p, "claimed")), 1);
	assert_int_equal(json_integer_value(json_object_get(p, "claims")), 1);
	assert_int_equal(json_integer_value(json_object_get(p, "max_instances")), 3);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(p, "claim_failures"), "capacity")),
	    0);
	assert_int_equal(call("POST", "/api/v1/pool", NULL, FAKE_ADMIN_TOKEN), 405);
}

static void
test_healthz_reports_dependencies(void **state)
{
	json_t *checks;

	(void)state;
	assert_int_equal(call("GET", "/healthz", NULL, FAKE_ADMIN_TOKEN), 200);
	assert_string_equal(str("status"), "ok");
	fake.podman_down = true;
	assert_int_equal(call("GET", "/healthz", NULL, FAKE_ADMIN_TOKEN), 503);
	assert_string_equal(str("status"), "degraded");
	checks = json_object_get(body, "checks");
	assert_true(json_is_false(json_object_get(json_object_get(checks, "podman"), "ok")));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(checks, "podman"), "error")),
	    "fake: podman socket refused");
	assert_true(json_is_true(json_object_get(json_object_get(checks, "store"), "ok")));
	assert_int_equal(call("POST", "/healthz", NULL, NULL), 405);
}

/* Without the admin token: the status code and one word, nothing about what
 * failed or why. */
static void
test_healthz_details_only_for_the_admin(void **state)
{
	const char *bad[] = {NULL, "not-the-admin-token"};

	(void)state;
	assert_int_equal(call("GET", "/healthz", NULL, NULL), 200);
	assert_string_equal(buf_str(&last.body), "{\"status\":\"ok\"}\n");
	fake.podman_down = true;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(call("GET", "/healthz", NULL, bad[i]), 503);
		assert_string_equal(buf_str(&last.body), "{\"status\":\"degraded\"}\n");
	}
}

static void
test_unknown_endpoints(void **state)
{
	(void)state;
	assert_int_equal(call("GET", "/api/v2/demos", NULL, NULL), 404);
	assert_int_equal(call("GET", "/api/v1/nothing", NULL, NULL), 404);
	assert_int_equal(call("PATCH", "/api/v1/demos", NULL, NULL), 405);
	assert_string_equal(last.allow, "GET, HEAD, POST");
}

static void
test_token_equal(void **state)
{
	(void)state;
	assert_true(api_token_equal("abc", "abc"));
	assert_false(api_token_equal("abc", "abd"));
	assert_false(api_token_equal("ab", "abc"));
	assert_false(api_token_equal("abcd", "abc"));
	assert_false(api_token_equal("", "abc"));
	assert_true(api_token_equal("", ""));
}

static void
test_bearer_parsing(void **state)
{
	struct api_request req;
	char tok[64];

	(void)state;
	memset(&req, 0, sizeof(req));
	req.authorization = "Bearer  abc ";
	assert_string_equal(api_bearer(&req, tok, sizeof(tok)), "abc");
	req.authorization = "bearer xyz";
	assert_string_equal(api_bearer(&req, tok, sizeof(tok)), "xyz");
	req.authorization = "Basic abc";
	assert_null(api_bearer(&req, tok, sizeof(tok)));
	req.authorization = "Bearer ";
	assert_null(api_bearer(&req, tok, sizeof(tok)));
	req.authorization = NULL;
	assert_null(api_bearer(&req, tok, sizeof(tok)));
}

static void
test_instance_url_ports(void **state)
{
	char url[128];

	(void)state;
	api_instance_url(&api, "abc", "/", url, sizeof(url));
	assert_string_equal(url, "http://abc.demo.test:8088/");
	api.public_port = 80;
	api_instance_url(&api, "abc", "admin", url, sizeof(url));
	assert_string_equal(url, "http://abc.demo.test/admin");
	api.public_scheme = "https";
	api.public_port = 443;
	api_instance_url(&api, "abc", NULL, url, sizeof(url));
	assert_string_equal(url, "https://abc.demo.test/");
	api.public_port = 0;
	api_instance_url(&api, "abc", "/x/", url, sizeof(url));
	assert_string_equal(url, "https://abc.demo.test/x/");
}

/* A copy with its own admin password: its owner sees that one, never the
 * template's; the owner of another copy sees that copy's; the admin token's
 * views show it as null; a copy without one shows the template's. */
static void
test_own_admin_password_only_for_its_owner(void **state)
{
	struct instance *a, *b;
	char ida[ID_SIZE], toka[INSTANCE_TOKEN_SIZE], idb[ID_SIZE], tokb[INSTANCE_TOKEN_SIZE];
	char path[64];
	json_t *cred, *demos;

	(void)state;
	a = fake_api_add(&fake, "shop", INSTANCE_READY);
	snprintf(a->admin_password, sizeof(a->admin_password), "Xk7mPq2rSt9vWy3z");
	b = fake_api_add(&fake, "shop", INSTANCE_READY);
	snprintf(b->admin_password, sizeof(b->admin_password), "Hn4bVc8dEf6gJk2m");
	claim(ida, toka);
	assert_string_equal(ida, a->id);
	cred = json_object_get(body, "credentials");
	assert_string_equal(json_string_value(json_object_get(cred, "user")), "demo@example.com");
	assert_string_equal(json_string_value(json_object_get(cred, "password")),
			    "Xk7mPq2rSt9vWy3z");
	assert_null(strstr(buf_str(&last.body), "demo-pass-123"));
	claim(idb, tokb);
	assert_null(strstr(buf_str(&last.body), "Xk7mPq2rSt9vWy3z"));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(body, "credentials"), "password")),
	    "Hn4bVc8dEf6gJk2m");

	snprintf(path, sizeof(path), "/api/v1/demos/%s", ida);
	assert_int_equal(call("GET", path, NULL, toka), 200);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(body, "credentials"), "password")),
	    "Xk7mPq2rSt9vWy3z");
	assert_int_equal(call("GET", path, NULL, tokb), 404); /* as for an unknown id */
	assert_null(strstr(buf_str(&last.body), "Xk7mPq2rSt9vWy3z"));
	assert_int_equal(call("GET", path, NULL, FAKE_ADMIN_TOKEN), 200);
	cred = json_object_get(body, "credentials");
	assert_string_equal(json_string_value(json_object_get(cred, "user")), "demo@example.com");
	assert_true(json_is_null(json_object_get(cred, "password")));
	assert_int_equal(call("GET", "/api/v1/demos", NULL, FAKE_ADMIN_TOKEN), 200);
	demos = json_object_get(body, "demos");
	assert_int_equal(json_array_size(demos), 2);
	assert_null(strstr(buf_str(&last.body), "Xk7mPq2rSt9vWy3z"));
	assert_null(strstr(buf_str(&last.body), "Hn4bVc8dEf6gJk2m"));
}

/* CORS and claims by origin: the allowed origins get CORS answers and may
 * claim; any other browser origin gets neither; no Origin (curl, servers)
 * and the base domain itself work as before. */
static void
test_cors_and_claims_by_origin(void **state)
{
	const char *ok = "https://www.product.test";

	(void)state;
	api.allowed_origins = "https://product.test, https://www.product.test";
	fake_api_add(&fake, "shop", INSTANCE_READY);
	fake_api_add(&fake, "shop", INSTANCE_READY);

	assert_int_equal(call_from(ok, "OPTIONS", "/api/v1/demos", NULL), 204);
	assert_true(last.preflight);
	assert_string_equal(last.allow_origin, ok);
	assert_int_equal(call_from("https://evil.test", "OPTIONS", "/api/v1/demos", NULL), 403);
	assert_string_equal(last.allow_origin, "");
	assert_false(last.preflight);

	assert_int_equal(call_from(ok, "POST", "/api/v1/demos", "{\"template\":\"shop\"}"), 201);
	assert_string_equal(last.allow_origin, ok);
	assert_false(last.preflight);
	assert_int_equal(fake.claims, 1);

	/* A refused origin: 403 before any claim, and no CORS header. */
	assert_int_equal(call_from("https://evil.test", "POST", "/api/v1/demos", NULL), 403);
	assert_string_equal(last.allow_origin, "");
	assert_int_equal(
	    call_from("https://www.product.test.evil.test", "POST", "/api/v1/demos", NULL), 403);
	assert_int_equal(call_from("null", "POST", "/api/v1/demos", NULL), 403);
	assert_int_equal(fake.claims, 1);

	/* The base domain's own pages, and clients that send no Origin. */
	assert_int_equal(call_from("https://demo.test:8088", "POST", "/api/v1/demos", NULL), 201);
	assert_string_equal(last.allow_origin, "");
	assert_int_equal(call("GET", "/api/v1/demos/0000000000000000", NULL, NULL), 404);

	/* No allowed_origins at all (a configuration reload took them away):
	 * every foreign origin is refused. */
	api_set_live(&api, api.max_active_per_client, NULL, api.look);
	assert_int_equal(call_from(ok, "OPTIONS", "/api/v1/demos", NULL), 403);
	assert_int_equal(call_from(ok, "POST", "/api/v1/demos", NULL), 403);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_claims_limited_per_client, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_extend_limit_is_409, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_token_answers_like_an_unknown_id, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_claim_returns_everything_a_visitor_needs, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_own_admin_password_only_for_its_owner, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_claim_without_body_uses_default_template, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_claim_provisioning_capacity_and_dependency, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_claim_body_validation_names_the_field, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_get_needs_owner_or_admin, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_and_unknown_ids_are_404, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_extend_moves_expiry_and_validates, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_extend_of_unclaimed_is_409, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_release_by_owner_then_gone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_owner_of_a_demo_being_released_gets_404, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_store_down_is_503, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_and_pool_need_admin, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_claim_names_the_failed_dependency, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_healthz_reports_dependencies, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_healthz_details_only_for_the_admin, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_endpoints, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_token_equal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bearer_parsing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_instance_url_ports, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cors_and_claims_by_origin, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
