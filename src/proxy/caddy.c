/*
 * caddy — routes as entries of one Caddy HTTP server, changed through the
 * admin API with libcurl and built with jansson.
 *
 * Facts about Caddy 2.6.2 this file relies on (checked against the real
 * thing, see tests/integration/proxy_caddy.sh):
 * - PUT on ".../routes/0" inserts before index 0; PUT on a missing object
 *   key creates it with its parents; both answer 400 "invalid traversal
 *   path" when a parent array is missing.
 * - Caddy does not refuse a second route with an @id already in use, so add
 *   first tries PATCH /id/<id> (replace) and inserts only on 404.
 * - /id/ answers 404 "unknown object ID" for an id it does not know;
 *   nothing is reloaded then, so that probe is cheap.
 * - The admin endpoint checks the Host header against its listen address;
 *   libcurl sends the URL's host:port, which is what it expects.
 */
#include "proxy/caddy.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "errf.h"
#include "log.h"
#include "mstime.h"
#include "proxy/route_check.h"
#include "validate.h"
#include "xmalloc.h"

#define CADDY_DELETE_MAX 16 /* copies of one @id removed by one remove */
#define CADDY_FALLBACK_BODY "no demo at this address\n"

struct caddy {
	pthread_mutex_t lock;
	CURL *curl;
	char admin[CONFIG_STR]; /* base URL without a trailing '/' */
	char server[64];
	char listen[CONFIG_STR];
	char base_domain[CONFIG_STR];
	char front[CADDY_FRONT_MAX]; /* demux's listener(s) as upstreams, ' '-separated */
	struct caddy_tls tls;
	struct buf reply;
	char curlerr[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
}

/* jansson fails only on out-of-memory or invalid UTF-8, and every string
 * here passed route_check_*: either way a broken invariant. */
static json_t *
must(json_t *j)
{
	if (j == NULL)
		fatalx("caddy: building JSON failed");
	return j;
}

static char *
dump(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	if (s == NULL)
		fatalx("caddy: serializing JSON failed");
	return s;
}

int
caddy_route_id(const char *host, char *out, size_t outlen)
{
	const char *dot = strchr(host, '.');
	size_t n = dot != NULL ? (size_t)(dot - host) : strlen(host);
	int w = snprintf(out, outlen, "%s%.*s", CADDY_ROUTE_ID_PREFIX, (int)n, host);

	return (w < 0 || (size_t)w >= outlen || n == 0) ? -1 : 0;
}

static json_t *
proxy_route(const char *id, const char *host, const char *dial)
{
	return must(json_pack("{s:s, s:[{s:[s]}], s:[{s:s, s:[{s:s}]}], s:b}", "@id", id, "match",
			      "host", host, "handle", "handler", "reverse_proxy", "upstreams",
			      "dial", dial, "terminal", 1));
}

/* "a:1 b:2" -> the front door route; with one upstream the plain
 * reverse_proxy route, with several a round robin that leaves a node which
 * refuses connections alone for CADDY_FRONT_FAIL. */
#define CADDY_FRONT_FAIL "10s"

static json_t *
front_route(const char *host, const char *front)
{
	json_t *ups, *r;
	char one[ROUTE_UPSTREAM_MAX];
	const char *p = front;

	if (strchr(front, ' ') == NULL)
		return proxy_route(CADDY_FRONT_ID, host, front);
	ups = must(json_array());
	while (*p != '\0') {
		size_t n = strcspn(p, " ");

		if (n > 0 && n < sizeof(one)) {
			memcpy(one, p, n);
			one[n] = '\0';
			json_array_append_new(ups, must(json_pack("{s:s}", "dial", one)));
		}
		p += n;
		p += strspn(p, " ");
	}
	r = must(json_pack("{s:s, s:[{s:[s]}], s:[{s:s, s:o, s:{s:{s:s}}, s:{s:{s:s}}}], s:b}",
			   "@id", CADDY_FRONT_ID, "match", "host", host, "handle", "handler",
			   "reverse_proxy", "upstreams", ups, "load_balancing", "selection_policy",
			   "policy", "round_robin", "health_checks", "passive", "fail_duration",
			   CADDY_FRONT_FAIL, "terminal", 1));
	return r;
}

int
caddy_front_upstreams(const char *spec, char *out, size_t outlen, char *err, size_t errlen)
{
	char one[ROUTE_UPSTREAM_MAX], norm[ROUTE_UPSTREAM_MAX], reason[256];
	const char *p = spec;
	size_t used = 0;

	out[0] = '\0';
	while (*p != '\0') {
		size_t n;

		p += strspn(p, " ,\t");
		n = strcspn(p, " ,\t");
		if (n == 0)
			break;
		if (n >= sizeof(one))
			return errf(err, errlen, "'%.*s' is too long", (int)n, p);
		memcpy(one, p, n);
		one[n] = '\0';
		p += n;
		if (route_check_front_upstream(one, norm, reason, sizeof(reason)) == -1)
			return errf(err, errlen, "'%s': %s", one, reason);
		if (used + strlen(norm) + 2 > outlen)
			return errf(err, errlen, "too many front upstreams");
		used +=
		    (size_t)snprintf(out + used, outlen - used, "%s%s", used > 0 ? " " : "", norm);
	}
	if (used == 0)
		return errf(err, errlen, "no upstream");
	return 0;
}

static json_t *
fallback_route(void)
{
	return must(json_pack("{s:s, s:[{s:s, s:i, s:s}]}", "@id", CADDY_FALLBACK_ID, "handle",
			      "handler", "static_response", "status_code", 404, "body",
			      CADDY_FALLBACK_BODY));
}

char *
caddy_route_json(const char *host, const char *upstream)
{
	char id[ROUTE_HOST_MAX + 16];
	json_t *r;
	char *s;

	if (caddy_route_id(host, id, sizeof(id)) == -1)
		fatalx("caddy: no route id for host %s", host);
	r = proxy_route(id, host, upstream);
	s = dump(r);
	json_decref(r);
	return s;
}

/* Slow clients: headers must arrive within CADDY_READ_HEADER_TIMEOUT and a
 * whole request within CADDY_READ_TIMEOUT (also a demo's own uploads). */
#define CADDY_READ_HEADER_TIMEOUT "10s"
#define CADDY_READ_TIMEOUT "1m"

/* Automatic HTTPS stays off even with TLS: it would manage a certificate
 * for every host matcher, and per-host certificates publish every demo's id
 * in the public certificate logs. With TLS the listener takes whatever
 * certificate the tls app holds for the SNI: the wildcard. */
static json_t *
server_object(const char *listen, const char *base_domain, const char *front_upstream, bool tls)
{
	json_t *srv = must(json_pack(
	    "{s:[s], s:{s:b}, s:s, s:s, s:[o, o]}", "listen", listen, "automatic_https", "disable",
	    1, "read_header_timeout", CADDY_READ_HEADER_TIMEOUT, "read_timeout", CADDY_READ_TIMEOUT,
	    "routes", front_route(base_domain, front_upstream), fallback_route()));

	if (tls)
		json_object_set_new(srv, "tls_connection_policies", must(json_pack("[{}]")));
	return srv;
}

/* The server's members that ensure_front sets (besides the routes). */
static const char *const server_keys[] = {"listen", "automatic_https", "read_header_timeout",
					  "read_timeout", "tls_connection_policies"};

char *
caddy_server_json(const char *listen, const char *base_domain, const char *front_upstream, bool tls)
{
	json_t *srv = server_object(listen, base_domain, front_upstream, tls);
	char *s = dump(srv);

	json_decref(srv);
	return s;
}

void
caddy_tls_from_config(const struct config *cfg, struct caddy_tls *t)
{
	memset(t, 0, sizeof(*t));
	t->mode = cfg->proxy_tls;
	snprintf(t->cert_file, sizeof(t->cert_file), "%s", cfg->tls_cert_file);
	snprintf(t->key_file, sizeof(t->key_file), "%s", cfg->tls_key_file);
	snprintf(t->acme_email, sizeof(t->acme_email), "%s", cfg->acme_email);
	snprintf(t->acme_dns, sizeof(t->acme_dns), "%s", cfg->acme_dns);
}

/*
 * Caddy's tls app for base_domain, NULL without TLS. One wildcard for every
 * demo: "*.<bd>" (Caddy's certificate manager keeps "<bd>", the front door,
 * as a second certificate), issued by Caddy's internal CA or by ACME with a
 * DNS challenge (the only challenge that gives wildcards), or the
 * operator's own files.
 */
static json_t *
tls_app(const struct caddy_tls *t, const char *base_domain)
{
	char wild[CONFIG_STR + 2];
	json_t *subjects, *issuer, *dns;

	snprintf(wild, sizeof(wild), "*.%s", base_domain);
	switch (t->mode) {
	case PROXY_TLS_FILES:
		return must(json_pack("{s:{s:[{s:s, s:s}]}}", "certificates", "load_files",
				      "certificate", t->cert_file, "key", t->key_file));
	case PROXY_TLS_INTERNAL:
		issuer = must(json_pack("{s:s}", "module", "internal"));
		break;
	case PROXY_TLS_ACME:
		/* config_check made sure it is a JSON object. */
		dns = json_loads(t->acme_dns, 0, NULL);
		if (!json_is_object(dns))
			fatalx("caddy: [proxy] acme_dns is not a JSON object");
		issuer = must(json_pack("{s:s, s:{s:{s:o}}}", "module", "acme", "challenges", "dns",
					"provider", dns));
		if (t->acme_email[0] != '\0')
			json_object_set_new(issuer, "email", must(json_string(t->acme_email)));
		break;
	default:
		return NULL;
	}
	subjects = must(json_pack("[s, s]", wild, base_domain));
	return must(json_pack("{s:{s:O}, s:{s:[{s:o, s:[o]}]}}", "certificates", "automate",
			      subjects, "automation", "policies", "subjects", subjects, "issuers",
			      issuer));
}

/* The pki app: Caddy's internal CA must not try to install its root in the
 * machine's trust stores (it would, by default, on first use). */
static json_t *
pki_app(const struct caddy_tls *t)
{
	if (t->mode != PROXY_TLS_INTERNAL)
		return NULL;
	return must(
	    json_pack("{s:{s:{s:b}}}", "certificate_authorities", "local", "install_trust", 0));
}

char *
caddy_tls_json(const struct caddy_tls *t, const char *base_domain)
{
	json_t *app = tls_app(t, base_domain);
	char *s;

	if (app == NULL)
		return NULL;
	s = dump(app);
	json_decref(app);
	return s;
}

/* "http://127.0.0.1:2019[/]" -> "127.0.0.1:2019". */
static int
admin_listen(const char *url, char *out, size_t outlen, char *err, size_t errlen)
{
	const char *p;
	size_t n;

	if (strncmp(url, "http://", 7) != 0)
		return errf(err, errlen, "[proxy] caddy_admin: '%s' must start with http://", url);
	p = url + 7;
	n = strcspn(p, "/");
	if (n == 0 || n >= outlen || strspn(p + n, "/") != strlen(p + n) || strchr(p, '@') != NULL)
		return errf(err, errlen, "[proxy] caddy_admin: '%s' is not http://HOST:PORT", url);
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int
caddy_config_text(const struct config *cfg, struct buf *out, char *err, size_t errlen)
{
	char admin[CONFIG_STR], front[CADDY_FRONT_MAX];
	struct caddy_tls t;
	json_t *root = NULL, *apps, *tls, *pki;
	char *s = NULL;
	int rc = -1;

	if (admin_listen(cfg->caddy_admin, admin, sizeof(admin), err, errlen) == -1)
		goto out;
	if (caddy_front_upstreams(config_front(cfg), front, sizeof(front), err, errlen) == -1)
		goto out;
	if (cfg->caddy_server[0] == '\0' || cfg->proxy_listen[0] == '\0') {
		errf(err, errlen, "[proxy] caddy_server and listen must not be empty");
		goto out;
	}
	if (config_check(cfg, err, errlen) == -1)
		goto out;
	caddy_tls_from_config(cfg, &t);
	root = must(json_pack(
	    "{s:{s:s}, s:{s:{s:{s:o}}}}", "admin", "listen", admin, "apps", "http", "servers",
	    cfg->caddy_server,
	    server_object(cfg->proxy_listen, cfg->base_domain, front, t.mode != PROXY_TLS_OFF)));
	apps = json_object_get(root, "apps");
	if ((tls = tls_app(&t, cfg->base_domain)) != NULL)
		json_object_set_new(apps, "tls", tls);
	if ((pki = pki_app(&t)) != NULL)
		json_object_set_new(apps, "pki", pki);
	s = json_dumps(root, JSON_INDENT(2));
	if (s == NULL)
		fatalx("caddy: serializing JSON failed");
	if (buf_appends(out, s) == -1 || buf_appends(out, "\n") == -1) {
		errf(err, errlen, "caddy config larger than the output buffer");
		goto out;
	}
	rc = 0;
out:
	free(s);
	json_decref(root);
	return rc;
}

/* host and dial of an instance route, or -1 when it has another shape. */
static int
route_fields(json_t *r, const char **host, const char **dial)
{
	json_t *h, *d;

	h = json_array_get(json_object_get(json_array_get(json_object_get(r, "match"), 0), "host"),
			   0);
	d = json_object_get(
	    json_array_get(
		json_object_get(json_array_get(json_object_get(r, "handle"), 0), "upstreams"), 0),
	    "dial");
	if (!json_is_string(h) || !json_is_string(d))
		return -1;
	*host = json_string_value(h);
	*dial = json_string_value(d);
	return 0;
}

int
caddy_parse_routes(const char *json, struct route **out, int *n, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *r;
	size_t i;
	int count = 0;

	*out = NULL;
	*n = 0;
	root = json_loads(json, JSON_DECODE_ANY, &jerr);
	if (root == NULL)
		return errf(err, errlen, "routes are not JSON: %s (line %d)", jerr.text, jerr.line);
	if (json_is_null(root)) {
		json_decref(root);
		return 0;
	}
	if (!json_is_array(root)) {
		json_decref(root);
		return errf(err, errlen, "routes are not a JSON array");
	}
	*out = xcalloc(json_array_size(root) + 1, sizeof(**out));
	json_array_foreach(root, i, r)
	{
		const char *id = json_string_value(json_object_get(r, "@id"));
		const char *host, *dial;

		if (id == NULL ||
		    strncmp(id, CADDY_ROUTE_ID_PREFIX, strlen(CADDY_ROUTE_ID_PREFIX)) != 0)
			continue;
		if (route_fields(r, &host, &dial) == -1 || strlen(host) >= ROUTE_HOST_MAX ||
		    strlen(dial) >= ROUTE_UPSTREAM_MAX) {
			log_warnx("caddy: route @id=%s has an unexpected shape; ignored", id);
			continue;
		}
		snprintf((*out)[count].host, ROUTE_HOST_MAX, "%s", host);
		snprintf((*out)[count].upstream, ROUTE_UPSTREAM_MAX, "%s", dial);
		count++;
	}
	*n = count;
	json_decref(root);
	return 0;
}

/* ---- HTTP to the admin API ------------------------------------------- */

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;

	if (buf_append(b, data, size * nmemb) == -1)
		return 0; /* curl then fails with CURLE_WRITE_ERROR */
	return size * nmemb;
}

/* The "error" member of Caddy's JSON error reply, or the reply itself. */
static void
reply_reason(const char *reply, char *out, size_t outlen)
{
	json_t *j = json_loads(reply, JSON_DECODE_ANY, NULL);
	const char *e = json_string_value(json_object_get(j, "error"));
	size_t n;

	snprintf(out, outlen, "%s", e != NULL ? e : reply);
	n = strlen(out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	json_decref(j);
}

/* One request; the reply body is left in c->reply, the status in *status.
 * Fails only when no HTTP answer came back. */
static int
http(struct caddy *c, const char *method, const char *path, const char *body, long *status,
     char *err, size_t errlen)
{
	char url[CONFIG_STR + 2 * ROUTE_HOST_MAX];
	struct curl_slist *hdrs = NULL;
	CURLcode cc;
	int w;

	w = snprintf(url, sizeof(url), "%s%s", c->admin, path);
	if (w < 0 || (size_t)w >= sizeof(url))
		return errf(err, errlen, "caddy admin API at %s: URL too long", c->admin);
	buf_reset(&c->reply);
	c->curlerr[0] = '\0';
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (body != NULL)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (hdrs == NULL)
		fatalx("curl_slist_append: out of memory");
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	if (body != NULL) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else {
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	if (cc != CURLE_OK) {
		long oserr = 0;

		if (cc == CURLE_COULDNT_CONNECT) {
			curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &oserr);
			return errf(err, errlen, "caddy admin API at %s: %s (is caddy running?)",
				    c->admin, oserr != 0 ? strerror((int)oserr) : "cannot connect");
		}
		if (cc == CURLE_OPERATION_TIMEDOUT)
			return errf(err, errlen,
				    "caddy admin API at %s: %s %s: no answer within %d ms",
				    c->admin, method, path, CADDY_TIMEOUT_MS);
		return errf(err, errlen, "caddy admin API at %s: %s %s: %s", c->admin, method, path,
			    c->curlerr[0] ? c->curlerr : curl_easy_strerror(cc));
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

static int
http_failed(struct caddy *c, const char *method, const char *path, long status, char *err,
	    size_t errlen)
{
	char reason[512];

	reply_reason(buf_str(&c->reply), reason, sizeof(reason));
	return errf(err, errlen, "caddy admin API at %s: %s %s: HTTP %ld: %s", c->admin, method,
		    path, status, reason);
}

static bool
reply_has(const struct caddy *c, const char *what)
{
	return strstr(buf_str(&c->reply), what) != NULL;
}

/* A 404 from /id/ that really means "no such id", not some other server. */
static bool
unknown_id(const struct caddy *c, long status)
{
	return status == 404 && reply_has(c, "unknown object ID");
}

/* 400 "invalid traversal path": a parent of the path is missing. */
static bool
missing_parent(const struct caddy *c, long status)
{
	return status == 400 && reply_has(c, "invalid traversal path");
}

/* ---- route_ops --------------------------------------------------------- */

/* True when srv already is what ensure_front would make of it. */
static bool
server_current(json_t *srv, json_t *want)
{
	json_t *routes = json_object_get(srv, "routes");
	json_t *wroutes = json_object_get(want, "routes");
	size_t n = json_array_size(routes);

	for (size_t i = 0; i < sizeof(server_keys) / sizeof(server_keys[0]); i++)
		if (!json_equal(json_object_get(srv, server_keys[i]),
				json_object_get(want, server_keys[i])))
			return false;
	return n >= 2 && json_equal(json_array_get(routes, n - 2), json_array_get(wroutes, 0)) &&
	       json_equal(json_array_get(routes, n - 1), json_array_get(wroutes, 1));
}

/* srv with server_keys as wanted and the routes demux does
 * not own kept in order, ahead of a fresh front door and 404. */
static json_t *
server_fixed(json_t *srv, json_t *want)
{
	json_t *fixed = must(json_deep_copy(srv));
	json_t *routes = must(json_array()), *r;
	size_t i;

	json_array_foreach(json_object_get(srv, "routes"), i, r)
	{
		const char *id = json_string_value(json_object_get(r, "@id"));

		if (id != NULL &&
		    (strcmp(id, CADDY_FRONT_ID) == 0 || strcmp(id, CADDY_FALLBACK_ID) == 0))
			continue;
		json_array_append(routes, r);
	}
	json_array_extend(routes, json_object_get(want, "routes"));
	for (size_t k = 0; k < sizeof(server_keys) / sizeof(server_keys[0]); k++) {
		json_t *v = json_object_get(want, server_keys[k]);

		if (v != NULL)
			json_object_set(fixed, server_keys[k], v);
		else
			json_object_del(fixed, server_keys[k]);
	}
	json_object_set_new(fixed, "routes", routes);
	return fixed;
}

static int
ensure_server_locked(struct caddy *c, char *err, size_t errlen)
{
	char path[128];
	json_t *srv = NULL, *want = NULL, *fixed = NULL;
	char *body = NULL;
	long status = 0;
	int rc = -1;

	snprintf(path, sizeof(path), "/config/apps/http/servers/%s", c->server);
	if (http(c, "GET", path, NULL, &status, err, errlen) == -1)
		goto out;
	want = server_object(c->listen, c->base_domain, c->front, c->tls.mode != PROXY_TLS_OFF);
	if (status == 200)
		srv = json_loads(buf_str(&c->reply), JSON_DECODE_ANY, NULL);
	else if (!missing_parent(c, status)) {
		http_failed(c, "GET", path, status, err, errlen);
		goto out;
	}
	if (srv == NULL || json_is_null(srv)) {
		body = dump(want);
		if (http(c, "PUT", path, body, &status, err, errlen) == -1)
			goto out;
		if (status != 200) {
			http_failed(c, "PUT", path, status, err, errlen);
			goto out;
		}
		log_info("caddy: created server=%s listen=%s front=%s->%s", c->server, c->listen,
			 c->base_domain, c->front);
		rc = 0;
		goto out;
	}
	if (!json_is_object(srv)) {
		errf(err, errlen, "caddy admin API at %s: %s is not an object", c->admin, path);
		goto out;
	}
	if (server_current(srv, want)) {
		rc = 0;
		goto out;
	}
	fixed = server_fixed(srv, want);
	body = dump(fixed);
	if (http(c, "PATCH", path, body, &status, err, errlen) == -1)
		goto out;
	if (status != 200) {
		http_failed(c, "PATCH", path, status, err, errlen);
		goto out;
	}
	log_info("caddy: updated server=%s listen=%s front=%s->%s", c->server, c->listen,
		 c->base_domain, c->front);
	rc = 0;
out:
	free(body);
	json_decref(fixed);
	json_decref(want);
	json_decref(srv);
	return rc;
}

/* Sets apps.<name> to want unless it already is that. demux owns the tls
 * and pki apps of its Caddy once TLS is on (docs/PROXY.md). */
static int
ensure_app(struct caddy *c, const char *name, json_t *want, char *err, size_t errlen)
{
	char path[64];
	json_t *have = NULL;
	char *body = NULL;
	long status = 0;
	int rc = -1;

	snprintf(path, sizeof(path), "/config/apps/%s", name);
	if (http(c, "GET", path, NULL, &status, err, errlen) == -1)
		goto out;
	if (status == 200)
		have = json_loads(buf_str(&c->reply), JSON_DECODE_ANY, NULL);
	if (json_equal(have, want)) {
		rc = 0;
		goto out;
	}
	body = dump(want);
	/* POST sets or replaces an object member. */
	if (http(c, "POST", path, body, &status, err, errlen) == -1)
		goto out;
	if (status != 200) {
		http_failed(c, "POST", path, status, err, errlen);
		goto out;
	}
	log_info("caddy: set apps.%s for base_domain=%s", name, c->base_domain);
	rc = 0;
out:
	free(body);
	json_decref(have);
	return rc;
}

/* The server, then (with TLS) the certificate for its wildcard. */
static int
ensure_front_locked(struct caddy *c, char *err, size_t errlen)
{
	json_t *tls = NULL, *pki = NULL;
	int rc = -1;

	if (ensure_server_locked(c, err, errlen) == -1)
		return -1;
	tls = tls_app(&c->tls, c->base_domain);
	pki = pki_app(&c->tls);
	if ((pki != NULL && ensure_app(c, "pki", pki, err, errlen) == -1) ||
	    (tls != NULL && ensure_app(c, "tls", tls, err, errlen) == -1))
		goto out;
	rc = 0;
out:
	json_decref(tls);
	json_decref(pki);
	return rc;
}

static int
caddy_ensure_front(void *ctx, const char *base_domain, const char *demux_listen, char *err,
		   size_t errlen)
{
	struct caddy *c = ctx;
	char front[CADDY_FRONT_MAX], reason[256];
	int rc;

	if (validate_domain(base_domain, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "caddy: base domain '%s': %s", base_domain, reason);
	if (caddy_front_upstreams(demux_listen, front, sizeof(front), reason, sizeof(reason)) == -1)
		return errf(err, errlen, "caddy: demux listen '%s': %s", demux_listen, reason);
	pthread_mutex_lock(&c->lock);
	snprintf(c->base_domain, sizeof(c->base_domain), "%s", base_domain);
	snprintf(c->front, sizeof(c->front), "%s", front);
	/* Another demux sharing this Caddy (a node of the same pool) may be
	 * changing its config at the same moment: Caddy then resets the admin
	 * connection, or the server appears between the GET and the PUT. A few
	 * more tries, a moment apart, see the config it left. */
	rc = ensure_front_locked(c, err, errlen);
	for (int attempt = 0; rc == -1 && attempt < 3; attempt++) {
		mstime_sleep(300);
		rc = ensure_front_locked(c, err, errlen);
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* 1 when Caddy's config lacks demux's server or its routes, 0 when both
 * are there, -1 when Caddy could not tell. Leaves c->reply changed. */
static int
server_missing(struct caddy *c, char *err, size_t errlen)
{
	char path[128];
	long status = 0;
	json_t *routes;
	int missing;

	snprintf(path, sizeof(path), "/config/apps/http/servers/%s/routes", c->server);
	if (http(c, "GET", path, NULL, &status, err, errlen) == -1)
		return -1;
	if (missing_parent(c, status))
		return 1;
	if (status != 200)
		return http_failed(c, "GET", path, status, err, errlen);
	routes = json_loads(buf_str(&c->reply), JSON_DECODE_ANY, NULL);
	missing = !json_is_array(routes);
	json_decref(routes);
	return missing;
}

static int
caddy_add(void *ctx, const char *host, const char *upstream, char *err, size_t errlen)
{
	struct caddy *c = ctx;
	char h[ROUTE_HOST_MAX], id[ROUTE_HOST_MAX + 16], reason[256];
	char idpath[ROUTE_HOST_MAX + 32], inspath[128];
	char *body = NULL;
	long status = 0;
	int rc = -1;

	if (route_check_host(host, c->base_domain, h, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "caddy: refusing route: %s", reason);
	if (route_check_upstream(upstream, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "caddy: refusing route for %s: %s", h, reason);
	if (caddy_route_id(h, id, sizeof(id)) == -1)
		return errf(err, errlen, "caddy: no route id for %s", h);
	snprintf(idpath, sizeof(idpath), "/id/%s", id);
	snprintf(inspath, sizeof(inspath), "/config/apps/http/servers/%s/routes/0", c->server);
	body = caddy_route_json(h, upstream);
	pthread_mutex_lock(&c->lock);
	if (http(c, "PATCH", idpath, body, &status, err, errlen) == -1)
		goto out;
	if (status == 200) {
		rc = 0;
		goto out;
	}
	if (!unknown_id(c, status)) {
		http_failed(c, "PATCH", idpath, status, err, errlen);
		goto out;
	}
	if (http(c, "PUT", inspath, body, &status, err, errlen) == -1)
		goto out;
	if (status != 200) {
		/* Caddy may have restarted without its config (it then answers
		 * 400 or 500 depending on what is missing): put the server back. */
		char first[512];
		int missing;

		http_failed(c, "PUT", inspath, status, first, sizeof(first));
		missing = server_missing(c, err, errlen);
		if (missing == -1)
			goto out;
		if (missing == 0) {
			errf(err, errlen, "%s", first);
			goto out;
		}
		log_warnx("caddy: server=%s missing at %s; recreating it", c->server, c->admin);
		if (ensure_front_locked(c, err, errlen) == -1 ||
		    http(c, "PUT", inspath, body, &status, err, errlen) == -1)
			goto out;
	}
	if (status != 200) {
		http_failed(c, "PUT", inspath, status, err, errlen);
		goto out;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&c->lock);
	free(body);
	return rc;
}

static int
caddy_remove(void *ctx, const char *host, char *err, size_t errlen)
{
	struct caddy *c = ctx;
	char h[ROUTE_HOST_MAX], id[ROUTE_HOST_MAX + 16], path[ROUTE_HOST_MAX + 32], reason[256];
	long status = 0;
	int rc = -1;

	if (route_check_host(host, c->base_domain, h, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "caddy: refusing to remove route: %s", reason);
	if (caddy_route_id(h, id, sizeof(id)) == -1)
		return errf(err, errlen, "caddy: no route id for %s", h);
	snprintf(path, sizeof(path), "/id/%s", id);
	pthread_mutex_lock(&c->lock);
	/* Until Caddy no longer knows the id: copies left by an older writer go too. */
	for (int i = 0; i < CADDY_DELETE_MAX; i++) {
		if (http(c, "DELETE", path, NULL, &status, err, errlen) == -1)
			goto out;
		if (unknown_id(c, status)) {
			rc = 0;
			goto out;
		}
		if (status != 200) {
			http_failed(c, "DELETE", path, status, err, errlen);
			goto out;
		}
	}
	errf(err, errlen, "caddy admin API at %s: %s still present after %d deletes", c->admin, id,
	     CADDY_DELETE_MAX);
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static int
caddy_list(void *ctx, struct route **out, int *n, char *err, size_t errlen)
{
	struct caddy *c = ctx;
	char path[128], reason[256];
	long status = 0;
	int rc = -1;

	*out = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "/config/apps/http/servers/%s/routes", c->server);
	pthread_mutex_lock(&c->lock);
	if (http(c, "GET", path, NULL, &status, err, errlen) == -1)
		goto out;
	if (missing_parent(c, status)) {
		rc = 0; /* no server: no routes */
		goto out;
	}
	if (status != 200) {
		http_failed(c, "GET", path, status, err, errlen);
		goto out;
	}
	if (caddy_parse_routes(buf_str(&c->reply), out, n, reason, sizeof(reason)) == -1) {
		errf(err, errlen, "caddy admin API at %s: GET %s: %s", c->admin, path, reason);
		goto out;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static void
caddy_close(void *ctx)
{
	struct caddy *c = ctx;

	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	buf_free(&c->reply);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static const struct route_ops caddy_ops = {
    .name = "caddy",
    .ensure_front = caddy_ensure_front,
    .add = caddy_add,
    .remove = caddy_remove,
    .list = caddy_list,
    .close = caddy_close,
};

int
caddy_open(struct proxy *p, const struct config *cfg, char *err, size_t errlen)
{
	struct caddy *c;
	char admin[CONFIG_STR];
	size_t n;

	if (admin_listen(cfg->caddy_admin, admin, sizeof(admin), err, errlen) == -1)
		return -1;
	if (cfg->caddy_server[0] == '\0' ||
	    strspn(cfg->caddy_server,
		   "abcdefghijklmnopqrstuvwxyz"
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(cfg->caddy_server))
		return errf(err, errlen,
			    "[proxy] caddy_server: '%s' must be letters, digits, '_' or '-'",
			    cfg->caddy_server);
	pthread_once(&curl_once, curl_init_once);
	c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	buf_init(&c->reply, CADDY_REPLY_MAX);
	snprintf(c->admin, sizeof(c->admin), "%s", cfg->caddy_admin);
	n = strlen(c->admin);
	while (n > 0 && c->admin[n - 1] == '/')
		c->admin[--n] = '\0';
	snprintf(c->server, sizeof(c->server), "%s", cfg->caddy_server);
	snprintf(c->listen, sizeof(c->listen), "%s", cfg->proxy_listen);
	snprintf(c->base_domain, sizeof(c->base_domain), "%s", cfg->base_domain);
	caddy_tls_from_config(cfg, &c->tls);
	/* Until ensure_front says otherwise, the configured listener is the
	 * front door; add needs it to recreate a server Caddy lost. */
	if (caddy_front_upstreams(config_front(cfg), c->front, sizeof(c->front), err, errlen) ==
	    -1) {
		caddy_close(c);
		return -1;
	}
	c->curl = curl_easy_init();
	if (c->curl == NULL)
		fatalx("curl_easy_init failed");
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_PROXY, ""); /* never an http_proxy from the env */
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)CADDY_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, (long)CADDY_TIMEOUT_MS);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &c->reply);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curlerr);
	p->ops = &caddy_ops;
	p->ctx = c;
	return 0;
}
