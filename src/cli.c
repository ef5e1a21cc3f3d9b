/*
 * cli — "demux ls | claim | release | extend | status": a small client of the
 * JSON API (libcurl), for operators and scripts.
 *
 * Where the API is: DEMUX_API (e.g. http://127.0.0.1:8080), else the
 * configuration's [server] listen (an unspecified address becomes loopback).
 * The token: DEMUX_ADMIN_TOKEN, else the configuration's admin_token or
 * admin_token_file. The configuration is --config FILE, DEMUX_CONFIG, or
 * /etc/demux/demux.conf when it exists; it is read only when one of the two
 * is not given by the environment.
 *
 * Output is for people by default; --json prints the API's JSON unchanged.
 * A non-2xx answer prints the API's error message on stderr and exits 1.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "commands.h"
#include "config.h"
#include "id.h"
#include "log.h"
#include "xmalloc.h"

#define CLI_DEFAULT_CONFIG "/etc/demux/demux.conf"
#define CLI_MAX_RESPONSE ((size_t)64 * 1024 * 1024)

struct cli {
	char api[512]; /* base URL, no trailing slash */
	char token[CONFIG_TOKEN_MAX];
	bool json;
};

struct reply {
	long status;
	struct buf body;
	int retry_after;
};

static const struct option common_opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"json", no_argument, NULL, 'j'},
    {"template", required_argument, NULL, 't'},
    {"minutes", required_argument, NULL, 'm'},
    {"wait", required_argument, NULL, 'w'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Fills c from the environment and, where needed, the configuration. */
static int
cli_setup(struct cli *c, const char *config_path, char *err, size_t errlen)
{
	const char *env_api = getenv("DEMUX_API"), *env_tok = getenv("DEMUX_ADMIN_TOKEN");
	struct config *cfg = NULL;
	int rc = -1;

	if (config_path == NULL)
		config_path = getenv("DEMUX_CONFIG");
	if (config_path == NULL && access(CLI_DEFAULT_CONFIG, R_OK) == 0)
		config_path = CLI_DEFAULT_CONFIG;
	if (env_api == NULL || env_tok == NULL) {
		cfg = xcalloc(1, sizeof(*cfg));
		if (config_load(cfg, config_path, err, errlen) == -1)
			goto out;
	}
	if (env_api != NULL) {
		snprintf(c->api, sizeof(c->api), "%s", env_api);
	} else {
		char host[128];
		int port;

		if (config_parse_listen(cfg->listen, host, sizeof(host), &port, err, errlen) == -1)
			goto out;
		if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0)
			snprintf(host, sizeof(host), "127.0.0.1");
		else if (strcmp(host, "::") == 0)
			snprintf(host, sizeof(host), "::1");
		snprintf(c->api, sizeof(c->api),
			 strchr(host, ':') ? "http://[%s]:%d" : "http://%s:%d", host, port);
	}
	while (c->api[0] != '\0' && c->api[strlen(c->api) - 1] == '/')
		c->api[strlen(c->api) - 1] = '\0';
	if (env_tok != NULL) {
		snprintf(c->token, sizeof(c->token), "%s", env_tok);
	} else if (config_admin_token(cfg, c->token, sizeof(c->token), err, errlen) == -1) {
		/* Without a token only public endpoints work; status still does. */
		c->token[0] = '\0';
	}
	rc = 0;
out:
	free(cfg);
	return rc;
}

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
	struct reply *r = ud;

	if (buf_append(&r->body, p, size * n) == -1)
		return 0;
	return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *ud)
{
	struct reply *r = ud;
	size_t len = size * n;

	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		char tmp[32];
		size_t k = len - 12 < sizeof(tmp) - 1 ? len - 12 : sizeof(tmp) - 1;
		long v;

		memcpy(tmp, p + 12, k);
		tmp[k] = '\0';
		v = strtol(tmp, NULL, 10);
		r->retry_after = v > 0 && v < 3600 ? (int)v : 0;
	}
	return len;
}

/* One API call. Returns 0 with r filled (any HTTP status), or -1 when the
 * API could not be reached (reason in err). */
static int
call(const struct cli *c, const char *method, const char *path, const char *body, struct reply *r,
     char *err, size_t errlen)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char url[1024], auth[CONFIG_TOKEN_MAX + 32], cerr[CURL_ERROR_SIZE] = "";
	CURLcode cc;
	int rc = -1;

	if (h == NULL) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return -1;
	}
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, CLI_MAX_RESPONSE);
	snprintf(url, sizeof(url), "%s%s", c->api, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 180000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (c->token[0] != '\0') {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	if (body != NULL) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		snprintf(err, errlen,
			 "cannot reach the demux API at %s: %s (is 'demux serve' "
			 "running? set DEMUX_API or [server] listen)",
			 c->api, cerr[0] ? cerr : curl_easy_strerror(cc));
		buf_free(&r->body);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	rc = 0;
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return rc;
}

/* Prints the API's error of a non-2xx reply on stderr. */
static void
print_api_error(const struct reply *r)
{
	json_t *v = json_loads(buf_str(&r->body), 0, NULL);
	const char *msg = json_string_value(json_object_get(v, "error"));

	if (msg != NULL)
		fprintf(stderr, "demux: %s (HTTP %ld)\n", msg, r->status);
	else
		fprintf(stderr, "demux: the API answered HTTP %ld\n", r->status);
	json_decref(v);
}

static const char *
jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

static long long
jint(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void
format_left(const json_t *sl, char *out, size_t outlen)
{
	long long s;

	if (!json_is_integer(sl)) {
		snprintf(out, outlen, "-");
		return;
	}
	s = json_integer_value(sl);
	if (s >= 3600)
		snprintf(out, outlen, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
	else
		snprintf(out, outlen, "%lldm%02llds", s / 60, s % 60);
}

static void
print_demo(const json_t *d)
{
	const json_t *cred = json_object_get(d, "credentials");
	char left[32];

	format_left(json_object_get(d, "seconds_left"), left, sizeof(left));
	printf("id:          %s\n", jstr(d, "id"));
	printf("template:    %s (version %lld)\n", jstr(d, "template"),
	       (long long)json_integer_value(json_object_get(d, "version")));
	printf("state:       %s\n", jstr(d, "state"));
	printf("url:         %s\n", jstr(d, "url"));
	printf("admin url:   %s\n", jstr(d, "admin_url"));
	if (json_is_object(cred)) {
		printf("user:        %s\n", jstr(cred, "user"));
		printf("password:    %s\n", jstr(cred, "password"));
	}
	printf("expires at:  %s (%s left)\n", jstr(d, "expires_at"), left);
	if (json_object_get(d, "owner_token") != NULL)
		printf("owner token: %s\n", jstr(d, "owner_token"));
}

/* Prints r for --json or hands its parsed body back; -1 when r is an error
 * (printed) or not JSON. */
static int
finish(const struct cli *c, struct reply *r, json_t **out)
{
	if (r->status < 200 || r->status > 299) {
		print_api_error(r);
		return -1;
	}
	if (c->json) {
		fputs(buf_str(&r->body), stdout);
		*out = NULL;
		return 0;
	}
	*out = json_loads(buf_str(&r->body), 0, NULL);
	if (*out == NULL) {
		fprintf(stderr, "demux: the API answered something that is not JSON\n");
		return -1;
	}
	return 0;
}

/* call + finish: 0 with *out set (NULL under --json), or 1 after printing
 * why. The caller frees *out. */
static int
request(const struct cli *c, const char *method, const char *path, const char *body, json_t **out)
{
	struct reply r;
	char err[1024];
	int rc;

	*out = NULL;
	if (call(c, method, path, body, &r, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: %s\n", err);
		return 1;
	}
	rc = finish(c, &r, out) == -1 ? 1 : 0;
	buf_free(&r.body);
	return rc;
}

static void
usage_client(const char *cmd)
{
	static const struct {
		const char *cmd, *usage;
	} u[] = {
	    {"ls", "demux ls [--json] [--config FILE]"},
	    {"claim", "demux claim [--template T] [--wait SECONDS] [--json] [--config FILE]"},
	    {"release", "demux release ID [--json] [--config FILE]"},
	    {"extend", "demux extend ID --minutes N [--json] [--config FILE]"},
	    {"status", "demux status [--json] [--config FILE]"},
	};

	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (strcmp(u[i].cmd, cmd) == 0)
			fprintf(stderr, "usage: %s\n", u[i].usage);
}

struct args {
	const char *config, *tmpl, *id;
	bool json;
	long minutes;
	long wait_s;
};

/* Parses the options every client command shares; -1 = usage error. */
static int
parse_args(int argc, char **argv, bool want_id, struct args *a)
{
	int ch;
	char *end;

	memset(a, 0, sizeof(*a));
	a->wait_s = 120;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "c:jt:m:w:h", common_opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			a->config = optarg;
			break;
		case 'j':
			a->json = true;
			break;
		case 't':
			a->tmpl = optarg;
			break;
		case 'm':
			errno = 0;
			a->minutes = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || a->minutes < 1 ||
			    a->minutes > 1440) {
				fprintf(stderr, "demux: --minutes must be a whole number 1-1440\n");
				return -1;
			}
			break;
		case 'w':
			errno = 0;
			a->wait_s = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || a->wait_s < 0 ||
			    a->wait_s > 3600) {
				fprintf(stderr, "demux: --wait must be 0-3600 seconds\n");
				return -1;
			}
			break;
		default:
			return -1;
		}
	}
	if (want_id) {
		if (optind != argc - 1)
			return -1;
		a->id = argv[optind];
		if (!id_valid(a->id)) {
			fprintf(stderr, "demux: '%s' is not a demo id\n", a->id);
			return -1;
		}
	} else if (optind != argc) {
		return -1;
	}
	return 0;
}

/* Common start of every command: arguments, then where the API is. */
static int
begin(int argc, char **argv, bool want_id, struct args *a, struct cli *c)
{
	char err[1024];

	if (parse_args(argc, argv, want_id, a) == -1) {
		usage_client(argv[0]);
		return 2;
	}
	memset(c, 0, sizeof(*c));
	c->json = a->json;
	if (cli_setup(c, a->config, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: %s\n", err);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return 0;
}

int
cmd_list(int argc, char **argv)
{
	struct args a;
	struct cli c;
	json_t *v, *demos, *d;
	char left[32];
	size_t i;
	int rc;

	if ((rc = begin(argc, argv, false, &a, &c)) != 0)
		return rc;
	if ((rc = request(&c, "GET", "/api/v1/demos", NULL, &v)) != 0 || v == NULL)
		return rc;
	demos = json_object_get(v, "demos");
	printf("%-16s  %-16s  %-7s  %-12s  %-8s  %s\n", "ID", "TEMPLATE", "VERSION", "STATE",
	       "LEFT", "URL");
	json_array_foreach(demos, i, d)
	{
		format_left(json_object_get(d, "seconds_left"), left, sizeof(left));
		printf("%-16s  %-16.16s  %-7lld  %-12s  %-8s  %s\n", jstr(d, "id"),
		       jstr(d, "template"),
		       (long long)json_integer_value(json_object_get(d, "version")),
		       jstr(d, "state"), left, jstr(d, "url"));
	}
	printf("%zu demo%s\n", json_array_size(demos), json_array_size(demos) == 1 ? "" : "s");
	json_decref(v);
	return 0;
}

int
cmd_claim(int argc, char **argv)
{
	struct args a;
	struct cli c;
	struct reply r;
	json_t *v = NULL, *req;
	char err[1024], *body;
	time_t deadline;
	int rc;

	if ((rc = begin(argc, argv, false, &a, &c)) != 0)
		return rc;
	req = json_object();
	if (a.tmpl != NULL)
		json_object_set_new(req, "template", json_string(a.tmpl));
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (body == NULL)
		fatalx("out of memory");
	deadline = time(NULL) + a.wait_s;
	for (;;) {
		if (call(&c, "POST", "/api/v1/demos", body, &r, err, sizeof(err)) == -1) {
			fprintf(stderr, "demux: %s\n", err);
			free(body);
			return 1;
		}
		if (r.status != 202)
			break;
		if (time(NULL) + (r.retry_after > 0 ? r.retry_after : 1) > deadline) {
			fprintf(stderr,
				"demux: no demo became ready within %ld s (still being "
				"prepared; try again, or use --wait)\n",
				a.wait_s);
			buf_free(&r.body);
			free(body);
			return 1;
		}
		if (!c.json)
			fprintf(stderr, "demux: an instance is being prepared; retrying in %d s\n",
				r.retry_after > 0 ? r.retry_after : 1);
		sleep((unsigned int)(r.retry_after > 0 ? r.retry_after : 1));
		buf_free(&r.body);
	}
	free(body);
	rc = 1;
	if (finish(&c, &r, &v) == -1)
		goto out;
	rc = 0;
	if (v != NULL)
		print_demo(v);
out:
	json_decref(v);
	buf_free(&r.body);
	return rc;
}

int
cmd_release(int argc, char **argv)
{
	struct args a;
	struct cli c;
	json_t *v;
	char path[128];
	int rc;

	if ((rc = begin(argc, argv, true, &a, &c)) != 0)
		return rc;
	snprintf(path, sizeof(path), "/api/v1/demos/%s", a.id);
	if ((rc = request(&c, "DELETE", path, NULL, &v)) == 0 && v != NULL)
		printf("released %s\n", a.id);
	json_decref(v);
	return rc;
}

int
cmd_extend(int argc, char **argv)
{
	struct args a;
	struct cli c;
	json_t *v;
	char path[128], body[64], left[32];
	int rc;

	if ((rc = begin(argc, argv, true, &a, &c)) != 0)
		return rc;
	if (a.minutes == 0) {
		usage_client(argv[0]);
		return 2;
	}
	snprintf(path, sizeof(path), "/api/v1/demos/%s/extend", a.id);
	snprintf(body, sizeof(body), "{\"minutes\":%ld}", a.minutes);
	if ((rc = request(&c, "POST", path, body, &v)) == 0 && v != NULL) {
		format_left(json_object_get(v, "seconds_left"), left, sizeof(left));
		printf("%s expires at %s (%s left)\n", a.id, jstr(v, "expires_at"), left);
	}
	json_decref(v);
	return rc;
}

int
cmd_status(int argc, char **argv)
{
	struct args a;
	struct cli c;
	struct reply h, p;
	json_t *hv = NULL, *pv = NULL, *checks, *chk, *pools, *pl;
	const char *name;
	char err[1024];
	bool have_pools = false;
	size_t i;
	int rc;

	if ((rc = begin(argc, argv, false, &a, &c)) != 0)
		return rc;
	if (call(&c, "GET", "/healthz", NULL, &h, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: %s\n", err);
		return 1;
	}
	memset(&p, 0, sizeof(p));
	if (c.token[0] != '\0' && call(&c, "GET", "/api/v1/pool", NULL, &p, err, sizeof(err)) == 0)
		have_pools = p.status == 200;
	hv = json_loads(buf_str(&h.body), 0, NULL);
	pv = have_pools ? json_loads(buf_str(&p.body), 0, NULL) : NULL;
	if (hv == NULL) {
		fprintf(stderr, "demux: /healthz answered HTTP %ld without JSON\n", h.status);
		rc = 1;
		goto out;
	}
	rc = h.status == 200 ? 0 : 1;
	if (c.json) {
		json_t *all =
		    json_pack("{s:O,s:O}", "health", hv, "pool", pv != NULL ? pv : json_null());
		char *s = json_dumps(all, JSON_COMPACT);

		printf("%s\n", s != NULL ? s : "{}");
		free(s);
		json_decref(all);
		goto out;
	}
	printf("demux %s at %s: %s\n", jstr(hv, "version"), c.api, jstr(hv, "status"));
	checks = json_object_get(hv, "checks");
	json_object_foreach(checks, name, chk)
	{
		if (json_is_true(json_object_get(chk, "ok")))
			printf("  %-8s ok\n", name);
		else
			printf("  %-8s DOWN: %s\n", name, jstr(chk, "error"));
	}
	if (pv == NULL) {
		if (p.status != 0 && p.status != 200)
			print_api_error(&p);
		else
			printf("(pool figures need the admin token: DEMUX_ADMIN_TOKEN or the "
			       "configuration's admin_token)\n");
		goto out;
	}
	pools = json_object_get(pv, "pools");
	json_array_foreach(pools, i, pl)
	{
		json_t *cf = json_object_get(pl, "claim_failures");

		printf("pool %s: %lld ready, %lld claimed, %lld provisioning, %lld releasing "
		       "(min_ready %lld, max %lld)\n",
		       jstr(pl, "template"), jint(pl, "ready"), jint(pl, "claimed"),
		       jint(pl, "provisioning"), jint(pl, "releasing"), jint(pl, "min_ready"),
		       jint(pl, "max_instances"));
		printf(
		    "  claims %lld, refused %lld (provisioning %lld, capacity %lld, error %lld), "
		    "expirations %lld, releases %lld, provision failures %lld, lost %lld\n",
		    jint(pl, "claims"),
		    jint(cf, "provisioning") + jint(cf, "capacity") + jint(cf, "error"),
		    jint(cf, "provisioning"), jint(cf, "capacity"), jint(cf, "error"),
		    jint(pl, "expirations"), jint(pl, "releases"), jint(pl, "provision_failures"),
		    jint(pl, "lost"));
		if (jstr(pl, "last_error")[0] != '\0' && strcmp(jstr(pl, "last_error"), "-") != 0)
			printf("  last error: %s\n", jstr(pl, "last_error"));
	}
	json_array_foreach(json_object_get(pv, "nodes"), i, pl)
	{
		printf("node %s%s at %s: %s, %lld ready, %lld claimed, %lld provisioning, %lld "
		       "releasing\n",
		       jstr(pl, "name"),
		       json_is_true(json_object_get(pl, "self")) ? " (this one)" : "",
		       jstr(pl, "address"),
		       json_is_true(json_object_get(pl, "alive")) ? "alive"
								  : "GONE (heartbeat lapsed)",
		       jint(pl, "ready"), jint(pl, "claimed"), jint(pl, "provisioning"),
		       jint(pl, "releasing"));
	}
out:
	json_decref(hv);
	json_decref(pv);
	buf_free(&h.body);
	buf_free(&p.body);
	return rc;
}
