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
 *   first looks the id up (replace) and inserts only on 404.
 * - /id/ answers 404 "unknown object ID" for an id it does not know;
 *   nothing is reloaded then, so that probe is cheap.
 * - An edit through /id/<id> is not atomic: Caddy maps the id to its path
 *   (".../routes/5") before it takes its config lock, so another client's
 *   insert at ".../routes/0" in between makes the edit hit the route that
 *   moved to index 5. Every edit of an existing route therefore reads the
 *   route's path and Etag first ("<path> <hash>", sent as a trailer of
 *   the chunked reply) and edits that path with If-Match: Caddy compares
 *   under its lock and answers 412 when the route moved or changed, and
 *   the edit is tried again. Several demux nodes share one Caddy.
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
#include <strings.h>

#include "buf.h"
#include "config.h"
#include "errf.h"
#include "id.h"
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
	char etag[256]; /* the Etag of the last reply ("" = none) */
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

/* Keeps the reply's Etag in c->etag. Caddy sends it as a trailer of its
 * chunked replies, which libcurl hands to this callback as well. */
static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct caddy *c = arg;
	size_t n = size * nmemb, k = sizeof("etag:") - 1;

	if (n > k && strncasecmp(data, "etag:", k) == 0) {
		const char *v = data + k;
		size_t len = n - k;

		while (len > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			len--;
		}
		while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
			len--;
		if (len < sizeof(c->etag)) {
			memcpy(c->etag, v, len);
			c->etag[len] = '\0';
		}
	}
	return n;
}

/* The connection closed before an answer came back. */
static bool
connection_dropped(CURLcode cc)
{
	return cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR || cc == CURLE_GOT_NOTHING;
}

/* Whether a request Caddy may already have applied can be sent again:
 * a read, an edit conditional on what it changes (If-Match), or a PUT
 * (inserting a route: a second copy of a route is tolerated, since remove
 * takes every copy and replace edits one). */
static bool
may_repeat(const char *method, const char *if_match)
{
	return strcmp(method, "GET") == 0 || strcmp(method, "PUT") == 0 || if_match != NULL;
}

/* One request, made by Caddy only while the config at the Etag's path
 * still hashes as it says (if_match; NULL: unconditionally; else 412). The
 * reply body is left in c->reply, its Etag in c->etag, the status in
 * *status. Fails only when no HTTP answer came back. */
static int
http_if(struct caddy *c, const char *method, const char *path, const char *body,
	const char *if_match, long *status, char *err, size_t errlen)
{
	char url[CONFIG_STR + 2 * ROUTE_HOST_MAX], cond[sizeof(c->etag) + 16];
	struct curl_slist *hdrs = NULL;
	CURLcode cc;
	int w;

	w = snprintf(url, sizeof(url), "%s%s", c->admin, path);
	if (w < 0 || (size_t)w >= sizeof(url))
		return errf(err, errlen, "caddy admin API at %s: URL too long", c->admin);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (body != NULL && hdrs != NULL)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (if_match != NULL && hdrs != NULL) {
		snprintf(cond, sizeof(cond), "If-Match: %s", if_match);
		hdrs = curl_slist_append(hdrs, cond);
	}
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
	for (int attempt = 0;; attempt++) {
		buf_reset(&c->reply);
		c->etag[0] = '\0';
		c->curlerr[0] = '\0';
		cc = curl_easy_perform(c->curl);
		if (attempt > 0 || !connection_dropped(cc) || !may_repeat(method, if_match))
			break;
		/* Caddy closes its admin connections when another client's
		 * change reloads its config: once more, on a new connection. */
		curl_easy_setopt(c->curl, CURLOPT_FRESH_CONNECT, 1L);
	}
	curl_easy_setopt(c->curl, CURLOPT_FRESH_CONNECT, 0L);
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
http(struct caddy *c, const char *method, const char *path, const char *body, long *status,
     char *err, size_t errlen)
{
	return http_if(c, method, path, body, NULL, status, err, errlen);
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

/* json_equal, with two missing members equal too. */
static bool
same_json(json_t *a, json_t *b)
{
	return (a == NULL && b == NULL) || json_equal(a, b);
}

/* True when srv already is what ensure_front would make of it. */
static bool
server_current(json_t *srv, json_t *want)
{
	json_t *routes = json_object_get(srv, "routes");
	json_t *wroutes = json_object_get(want, "routes");
	size_t n = json_array_size(routes);

	for (size_t i = 0; i < sizeof(server_keys) / sizeof(server_keys[0]); i++)
		if (!same_json(json_object_get(srv, server_keys[i]),
			       json_object_get(want, server_keys[i])))
			return false;
	return n >= 2 && json_equal(json_array_get(routes, n - 2), json_array_get(wroutes, 0)) &&
	       json_equal(json_array_get(routes, n - 1), json_array_get(wroutes, 1));
}

/* How often an edit of a route is tried again when the route moved or
 * changed between its read and the edit, a random 5-50 ms apart. */
#define CADDY_EDIT_RACES 20

/* 0..n-1, from the id generator's randomness (0 without it). */
static int
jitter(int n)
{
	unsigned char b = 0;

	(void)id_random_bytes(&b, 1);
	return b % n;
}

/* Whether the reply is the object tagged id. */
static bool
reply_is_id(const struct caddy *c, const char *id)
{
	json_t *j = json_loads(buf_str(&c->reply), JSON_DECODE_ANY, NULL);
	const char *got = json_string_value(json_object_get(j, "@id"));
	bool same = got != NULL && strcmp(got, id) == 0;

	json_decref(j);
	return same;
}

/* Where the object tagged id is now: its path and Etag. 1 found, 0 no such
 * id, 2 read what moved into its place (a GET through /id/ is as racy as
 * an edit: read it again), -1 error. A Caddy that sends no Etag gets the
 * /id/ path and no condition (its edits are then as racy as /id/ itself). */
static int
locate_id(struct caddy *c, const char *id, char *path, size_t pathlen, char *etag, size_t etaglen,
	  char *err, size_t errlen)
{
	char idpath[ROUTE_HOST_MAX + 32];
	long status = 0;
	size_t n;

	snprintf(idpath, sizeof(idpath), "/id/%s", id);
	snprintf(path, pathlen, "%s", idpath);
	etag[0] = '\0';
	if (http(c, "GET", idpath, NULL, &status, err, errlen) == -1)
		return -1;
	if (unknown_id(c, status))
		return 0;
	if (status != 200)
		return http_failed(c, "GET", idpath, status, err, errlen);
	if (!reply_is_id(c, id))
		return 2;
	/* "\"/config/apps/http/servers/demux/routes/5 8737457e\"" */
	n = strcspn(c->etag + 1, " ");
	if (c->etag[0] != '"' || c->etag[1] != '/' || c->etag[1 + n] != ' ' || n >= pathlen ||
	    strlen(c->etag) >= etaglen) {
		log_debug("caddy: no usable Etag for %s (\"%s\"); editing it unconditionally", id,
			  c->etag);
		return 1;
	}
	memcpy(path, c->etag + 1, n);
	path[n] = '\0';
	snprintf(etag, etaglen, "%s", c->etag);
	return 1;
}

/* DELETE (body NULL) or PATCH (replace with body) of the object tagged id,
 * made where it was just read and only while it is still there (see the
 * head of this file). 1 done, 0 no such id, -1 error. */
static int
edit_id(struct caddy *c, const char *method, const char *id, const char *body, char *err,
	size_t errlen)
{
	char path[512], etag[sizeof(c->etag)];
	long status = 0;

	for (int race = 0; race < CADDY_EDIT_RACES; race++) {
		int r = locate_id(c, id, path, sizeof(path), etag, sizeof(etag), err, errlen);

		if (r <= 0)
			return r;
		if (r == 2) {
			log_debug("caddy: %s moved while it was read; reading it again", id);
			continue;
		}
		if (http_if(c, method, path, body, etag[0] != '\0' ? etag : NULL, &status, err,
			    errlen) == -1)
			return -1;
		if (status == 200)
			return 1;
		/* 412: it moved or changed; 400: its index is past the end now. */
		if (status != 412 && !(status == 400 && reply_has(c, "out of bounds")))
			return http_failed(c, method, path, status, err, errlen);
		log_debug("caddy: %s moved while it was edited; reading it again", id);
		mstime_sleep(5 + jitter(46));
	}
	return errf(err, errlen, "caddy admin API at %s: %s %s: it kept moving (%d tries)",
		    c->admin, method, id, CADDY_EDIT_RACES);
}

/* Removes every object tagged id (0 when none is left). */
static int
delete_id(struct caddy *c, const char *id, char *err, size_t errlen)
{
	/* Until Caddy no longer knows the id: copies left by an older writer go too. */
	for (int i = 0; i < CADDY_DELETE_MAX; i++) {
		int r = edit_id(c, "DELETE", id, NULL, err, errlen);

		if (r <= 0)
			return r;
	}
	return errf(err, errlen, "caddy admin API at %s: %s still present after %d deletes",
		    c->admin, id, CADDY_DELETE_MAX);
}

/* One request that must answer 200. */
static int
http_ok(struct caddy *c, const char *method, const char *path, json_t *body, char *err,
	size_t errlen)
{
	char *text = body != NULL ? dump(body) : NULL;
	long status = 0;
	int rc = http(c, method, path, text, &status, err, errlen);

	free(text);
	if (rc == 0 && status != 200)
		rc = http_failed(c, method, path, status, err, errlen);
	return rc;
}

/* Replaces the object tagged id with v (-1 also when it is gone). */
static int
replace_id(struct caddy *c, const char *id, json_t *v, char *err, size_t errlen)
{
	char *body = dump(v);
	int r = edit_id(c, "PATCH", id, body, err, errlen);

	free(body);
	if (r == 0)
		return errf(err, errlen, "caddy admin API at %s: %s vanished while it was replaced",
			    c->admin, id);
	return r == 1 ? 0 : -1;
}

static const char *
route_id(json_t *r)
{
	const char *id = json_string_value(json_object_get(r, "@id"));

	return id != NULL ? id : "";
}

/* The front door and the 404 as want's routes have them, last in the
 * server's routes. Each change is one edit of Caddy's config that leaves
 * the other routes alone: another node sharing this Caddy may add a demo's
 * route at the same moment, and writing back the routes read a moment
 * earlier would drop it. */
static int
fix_front_routes(struct caddy *c, const char *path, json_t *srv, json_t *want, char *err,
		 size_t errlen)
{
	json_t *routes = json_object_get(srv, "routes"), *wroutes = json_object_get(want, "routes");
	size_t n = json_array_size(routes);
	char rpath[160];

	if (n >= 2 && strcmp(route_id(json_array_get(routes, n - 2)), CADDY_FRONT_ID) == 0 &&
	    strcmp(route_id(json_array_get(routes, n - 1)), CADDY_FALLBACK_ID) == 0) {
		/* In place: PATCH on the element's path replaces it. */
		if (!json_equal(json_array_get(routes, n - 2), json_array_get(wroutes, 0)) &&
		    replace_id(c, CADDY_FRONT_ID, json_array_get(wroutes, 0), err, errlen) == -1)
			return -1;
		if (!json_equal(json_array_get(routes, n - 1), json_array_get(wroutes, 1)) &&
		    replace_id(c, CADDY_FALLBACK_ID, json_array_get(wroutes, 1), err, errlen) == -1)
			return -1;
		return 0;
	}
	/* Missing or not last: taken out wherever they are, appended at the end. */
	if (delete_id(c, CADDY_FRONT_ID, err, errlen) == -1 ||
	    delete_id(c, CADDY_FALLBACK_ID, err, errlen) == -1)
		return -1;
	/* POST on a member sets it; on ".../routes/..." it appends each
	 * element of the body. */
	snprintf(rpath, sizeof(rpath), "%s/routes%s", path, json_is_array(routes) ? "/..." : "");
	return http_ok(c, "POST", rpath, wroutes, err, errlen);
}

/* Makes demux's server what server_object says: each member of server_keys
 * set (or removed) on its own, then the front door and the 404; the other
 * routes are never written. */
static int
ensure_server_locked(struct caddy *c, char *err, size_t errlen)
{
	char path[128], kpath[192];
	json_t *srv = NULL, *want = NULL;
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
		if (http_ok(c, "PUT", path, want, err, errlen) == -1)
			goto out;
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
	for (size_t k = 0; k < sizeof(server_keys) / sizeof(server_keys[0]); k++) {
		json_t *v = json_object_get(want, server_keys[k]);

		if (same_json(json_object_get(srv, server_keys[k]), v))
			continue;
		snprintf(kpath, sizeof(kpath), "%s/%s", path, server_keys[k]);
		if (v != NULL ? http_ok(c, "POST", kpath, v, err, errlen) == -1
			      : http_ok(c, "DELETE", kpath, NULL, err, errlen) == -1)
			goto out;
	}
	if (fix_front_routes(c, path, srv, want, err, errlen) == -1)
		goto out;
	log_info("caddy: updated server=%s listen=%s front=%s->%s", c->server, c->listen,
		 c->base_domain, c->front);
	rc = 0;
out:
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
	char inspath[128];
	char *body = NULL;
	long status = 0;
	int rc = -1, r;

	if (route_check_host(host, c->base_domain, h, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "caddy: refusing route: %s", reason);
	if (route_check_upstream(upstream, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "caddy: refusing route for %s: %s", h, reason);
	if (caddy_route_id(h, id, sizeof(id)) == -1)
		return errf(err, errlen, "caddy: no route id for %s", h);
	snprintf(inspath, sizeof(inspath), "/config/apps/http/servers/%s/routes/0", c->server);
	body = caddy_route_json(h, upstream);
	pthread_mutex_lock(&c->lock);
	r = edit_id(c, "PATCH", id, body, err, errlen);
	if (r != 0) {
		rc = r == 1 ? 0 : -1;
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
	char h[ROUTE_HOST_MAX], id[ROUTE_HOST_MAX + 16], reason[256];
	int rc;

	if (route_check_host(host, c->base_domain, h, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "caddy: refusing to remove route: %s", reason);
	if (caddy_route_id(h, id, sizeof(id)) == -1)
		return errf(err, errlen, "caddy: no route id for %s", h);
	pthread_mutex_lock(&c->lock);
	rc = delete_id(c, id, err, errlen);
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
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curlerr);
	p->ops = &caddy_ops;
	p->ctx = c;
	return 0;
}
