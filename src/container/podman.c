/*
 * podman — Podman REST client (libpod API v5) over a unix socket.
 *
 * One request = one CURL easy handle, so calls from several threads never
 * share state. Bodies we send are JSON built with jansson, or for a restore
 * the archive itself, streamed from disk; answers are read into a bounded buf,
 * except an exported checkpoint, which goes straight to a file. Podman answers
 * errors as {"cause", "message", "response"}: the message is what the caller
 * gets, flattened to one line.
 */
#include "container/podman.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container/podman_stats.h"
#include "log.h"
#include "mstime.h"
#include "xmalloc.h"

extern char **environ;

#define API_BASE "http://d/v5.0.0/libpod"
#define BODY_MAX ((size_t)32 * 1024 * 1024)
#define PATH_MAX_LEN 8192
#define ZSTD_LEVEL "-3"
#define START_ATTEMPTS 3
#define START_RETRY_DELAY_MS 200

struct podman {
	char *socket;
	int timeout_ms;
};

struct request {
	const char *method; /* "GET", "POST", "DELETE" */
	const char *path;   /* below /libpod, query included */
	const char *json;   /* JSON body, or NULL */
	FILE *upload;	    /* streamed body (application/x-tar), or NULL */
	long long upload_size;
	FILE *download; /* a 200 answer's body goes here instead of resp->body */
};

struct response {
	long status;
	struct buf body;
	double total_ms;
	int download_errno; /* set when writing the downloaded body failed */
	bool sent;	    /* the request reached Podman (it may have acted on it) */
};

struct sink {
	CURL *curl;
	struct response *resp;
	FILE *file;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("curl_global_init failed");
}

/* Control characters (a CRIU log excerpt has newlines) become spaces. */
static void
one_line(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

struct podman *
podman_open(const char *socket_path, int timeout_ms)
{
	struct podman *p = xcalloc(1, sizeof(*p));

	pthread_once(&curl_once, curl_init_once);
	if (socket_path == NULL || socket_path[0] == '\0')
		socket_path = PODMAN_DEFAULT_SOCKET;
	if (strncmp(socket_path, "unix://", 7) == 0) /* the form podman itself prints */
		socket_path += 7;
	p->socket = xstrdup(socket_path);
	p->timeout_ms = timeout_ms > 0 ? timeout_ms : 120000;
	return p;
}

void
podman_close(struct podman *p)
{
	if (p == NULL)
		return;
	free(p->socket);
	free(p);
}

const char *
podman_socket_path(const struct podman *p)
{
	return p->socket;
}

static size_t
on_write(char *data, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;
	long status = 0;

	if (s->file != NULL) {
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
		if (status == 200) {
			if (fwrite(data, 1, len, s->file) != len) {
				s->resp->download_errno = errno != 0 ? errno : EIO;
				return 0;
			}
			return len;
		}
	}
	if (buf_append(&s->resp->body, data, len) == -1)
		return 0;
	return len;
}

static size_t
on_read(char *data, size_t size, size_t n, void *arg)
{
	FILE *f = arg;
	size_t got = fread(data, 1, size * n, f);

	if (got == 0 && ferror(f))
		return CURL_READFUNC_ABORT;
	return got;
}

static void
transport_error(const struct podman *p, CURLcode rc, char *err, size_t errlen)
{
	struct stat st;

	if (stat(p->socket, &st) == -1 || rc == CURLE_COULDNT_CONNECT)
		snprintf(err, errlen,
			 "Podman's service is not running on %s (%s); start it with: podman system "
			 "service --time=0 unix://%s &",
			 p->socket,
			 stat(p->socket, &st) == -1 ? "no such socket" : curl_easy_strerror(rc),
			 p->socket);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		snprintf(err, errlen, "Podman did not answer within %d ms on %s", p->timeout_ms,
			 p->socket);
	else
		snprintf(err, errlen, "talking to Podman on %s: %s", p->socket,
			 curl_easy_strerror(rc));
}

/* Sends one request; 0 when Podman answered (any status), -1 otherwise. */
static int
perform(const struct podman *p, const struct request *req, struct response *resp, char *err,
	size_t errlen)
{
	CURL *c;
	CURLcode rc;
	struct curl_slist *hdrs = NULL;
	struct sink sink;
	struct buf url;
	double t0 = mstime_now();
	int ret = -1;

	resp->status = 0;
	resp->total_ms = 0;
	resp->download_errno = 0;
	resp->sent = false;
	buf_init(&url, PATH_MAX_LEN);
	if (buf_printf(&url, "%s%s", API_BASE, req->path) == -1) {
		snprintf(err, errlen, "request path too long");
		buf_free(&url);
		return -1;
	}
	c = curl_easy_init();
	if (c == NULL)
		fatalx("curl_easy_init failed");
	sink.curl = c;
	sink.resp = resp;
	sink.file = req->download;
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, p->socket);
	curl_easy_setopt(c, CURLOPT_URL, buf_str(&url));
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)p->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(p->timeout_ms < 10000 ? p->timeout_ms : 10000));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (req->json != NULL) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->json);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(req->json));
	} else if (req->upload != NULL) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/x-tar");
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, req->upload);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->upload_size);
		curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
	} else if (strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	}
	if (strcmp(req->method, "POST") != 0 && strcmp(req->method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(c);
	resp->total_ms = mstime_now() - t0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	{
		long sent = 0;

		curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &sent);
		resp->sent = sent > 0;
	}
	if (rc == CURLE_WRITE_ERROR && resp->download_errno != 0) {
		snprintf(err, errlen, "writing Podman's answer to disk: %s",
			 strerror(resp->download_errno));
		goto out;
	}
	if (rc == CURLE_WRITE_ERROR) {
		snprintf(err, errlen, "Podman's answer is larger than %zu bytes", BODY_MAX);
		goto out;
	}
	if (rc != CURLE_OK) {
		transport_error(p, rc, err, errlen);
		goto out;
	}
	ret = 0;
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	buf_free(&url);
	return ret;
}

static void
response_init(struct response *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, BODY_MAX);
}

static int
url_encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			if (buf_append(b, s, 1) == -1)
				return -1;
		} else {
			char enc[3] = {'%', hex[ch >> 4], hex[ch & 15]};

			if (buf_append(b, enc, 3) == -1)
				return -1;
		}
	}
	return 0;
}

/* "/containers/<name><suffix>" with the name escaped. */
static int
container_path(struct buf *b, const char *name, const char *suffix, char *err, size_t errlen)
{
	if (name == NULL || name[0] == '\0') {
		snprintf(err, errlen, "container name is empty");
		return -1;
	}
	if (buf_appends(b, "/containers/") == -1 || url_encode(b, name) == -1 ||
	    buf_appends(b, suffix) == -1) {
		snprintf(err, errlen, "container name too long");
		return -1;
	}
	return 0;
}

void
podman_error_message(long status, const char *body, char *err, size_t errlen)
{
	json_t *root = NULL, *msg;
	json_error_t jerr;

	if (body != NULL && body[0] != '\0')
		root = json_loads(body, 0, &jerr);
	msg = root != NULL ? json_object_get(root, "message") : NULL;
	if (json_is_string(msg))
		snprintf(err, errlen, "Podman: %s", json_string_value(msg));
	else if (body != NULL && body[0] != '\0')
		snprintf(err, errlen, "Podman answered HTTP %ld: %.300s", status, body);
	else
		snprintf(err, errlen, "Podman answered HTTP %ld", status);
	one_line(err);
	json_decref(root);
}

/* perform, then any answer but 200 becomes Podman's message in err. */
static int
perform_ok(const struct podman *p, const struct request *req, struct response *resp, char *err,
	   size_t errlen)
{
	if (perform(p, req, resp, err, errlen) == -1)
		return -1;
	if (resp->status != 200) {
		podman_error_message(resp->status, buf_str(&resp->body), err, errlen);
		return -1;
	}
	return 0;
}

/* A request (with a JSON body, or none) whose answer matters only by its
 * status: 0 when it is one of ok (0-terminated), else -1 with "<what>:
 * <Podman's message>". */
static int
call_expect_json(const struct podman *p, const char *method, const char *path, const char *json,
		 const long *ok, const char *what, char *err, size_t errlen)
{
	struct request req = {.method = method, .path = path, .json = json};
	struct response resp;
	char msg[512];
	int ret = -1;

	response_init(&resp);
	if (perform(p, &req, &resp, err, errlen) == -1)
		goto out;
	for (int i = 0; ok[i] != 0; i++)
		if (resp.status == ok[i]) {
			ret = 0;
			goto out;
		}
	podman_error_message(resp.status, buf_str(&resp.body), msg, sizeof(msg));
	snprintf(err, errlen, "%s: %s", what, msg);
out:
	buf_free(&resp.body);
	return ret;
}

int
podman_json_call(struct podman *p, const char *method, const char *path, const char *json,
		 long *status, struct buf *body, char *err, size_t errlen)
{
	struct request req = {.method = method, .path = path, .json = json};
	struct response resp;
	int ret = -1;

	response_init(&resp);
	if (perform(p, &req, &resp, err, errlen) == -1)
		goto out;
	*status = resp.status;
	if (buf_appends(body, buf_str(&resp.body)) == -1) {
		snprintf(err, errlen, "Podman's answer to %s is too large", path);
		goto out;
	}
	ret = 0;
out:
	buf_free(&resp.body);
	return ret;
}

int
podman_ping(struct podman *p, char *err, size_t errlen)
{
	struct request req = {.method = "GET", .path = "/_ping"};
	struct response resp;
	int ret = -1;

	response_init(&resp);
	if (perform_ok(p, &req, &resp, err, errlen) == -1)
		goto out;
	ret = 0;
out:
	buf_free(&resp.body);
	return ret;
}

/* --- create / start ------------------------------------------------------ */

/*
 * runc sometimes reports "waiting for init preliminary setup: read init-p:
 * connection reset by peer": its "runc init" child died before the first
 * handshake byte, before any of the container's own code ran. Seen about
 * once in a few hundred starts on the development machines (runc 1.1.15,
 * cgroups v1) with no trace in the kernel log; the next start of the same
 * container works. See docs/IMAGES.md.
 */
bool
podman_start_error_is_transient(const char *msg)
{
	return strstr(msg, "waiting for init preliminary setup") != NULL;
}

int
podman_create_start(struct podman *p, const struct container_spec *spec, char *err, size_t errlen)
{
	struct request req = {.method = "POST", .path = "/containers/create"};
	struct response resp;
	struct buf path;
	char *json = NULL, rmerr[256];
	bool created = false;
	int ret = -1;

	response_init(&resp);
	buf_init(&path, PATH_MAX_LEN);
	if (podman_spec_json(spec, &json, err, errlen) == -1)
		goto out;
	req.json = json;
	if (perform(p, &req, &resp, err, errlen) == -1) {
		created = resp.sent; /* a timeout: Podman may have created it */
		goto out;
	}
	if (resp.status != 201 && resp.status != 200) {
		char msg[512];

		podman_error_message(resp.status, buf_str(&resp.body), msg, sizeof(msg));
		snprintf(err, errlen, "create %s from %s: %s", spec->name, spec->image, msg);
		goto out;
	}
	created = true;
	buf_reset(&resp.body);
	if (container_path(&path, spec->name, "/start", err, errlen) == -1)
		goto out;
	for (int attempt = 1;; attempt++) {
		char msg[512];

		req = (struct request){.method = "POST", .path = buf_str(&path)};
		buf_reset(&resp.body);
		if (perform(p, &req, &resp, err, errlen) == -1)
			goto out;
		if (resp.status == 204 || resp.status == 304)
			break;
		podman_error_message(resp.status, buf_str(&resp.body), msg, sizeof(msg));
		snprintf(err, errlen, "start %s: %s", spec->name, msg);
		if (attempt >= START_ATTEMPTS || !podman_start_error_is_transient(msg))
			goto out;
		log_warnx("podman: start failed, retrying name=%s attempt=%d error=\"%s\"",
			  spec->name, attempt, msg);
		mstime_sleep(START_RETRY_DELAY_MS);
	}
	ret = 0;
out:
	if (ret == -1 && created && podman_remove(p, spec->name, rmerr, sizeof(rmerr)) == -1)
		log_warnx("podman: removing failed container name=%s: %s", spec->name, rmerr);
	free(json);
	buf_free(&path);
	buf_free(&resp.body);
	return ret;
}

/* --- inspect / list / images ---------------------------------------------- */

static void
copy_json_string(char *dst, size_t dstlen, json_t *v)
{
	snprintf(dst, dstlen, "%s", json_is_string(v) ? json_string_value(v) : "");
}

int
podman_parse_inspect(const char *json, struct container_info *out, int *pid, char *err,
		     size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loads(json, 0, &jerr), *state, *ports, *v;
	const char *key;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (pid != NULL)
		*pid = 0;
	if (!json_is_object(root)) {
		snprintf(err, errlen, "Podman's inspect answer is not a JSON object: %s",
			 jerr.text);
		goto out;
	}
	copy_json_string(out->id, sizeof(out->id), json_object_get(root, "Id"));
	copy_json_string(out->name, sizeof(out->name), json_object_get(root, "Name"));
	state = json_object_get(root, "State");
	copy_json_string(out->state, sizeof(out->state), json_object_get(state, "Status"));
	out->running = json_is_true(json_object_get(state, "Running"));
	out->exit_code = (int)podman_json_number(json_object_get(state, "ExitCode"));
	if (pid != NULL)
		*pid = (int)podman_json_number(json_object_get(state, "Pid"));
	copy_json_string(out->template_name, sizeof(out->template_name),
			 json_object_get(json_object_get(json_object_get(root, "Config"), "Labels"),
					 RUNTIME_LABEL_TEMPLATE));
	ports = json_object_get(json_object_get(root, "NetworkSettings"), "Ports");
	json_object_foreach(ports, key, v)
	{
		json_t *bind = json_array_get(v, 0);

		if (out->nports >= RUNTIME_MAX_PORTS || bind == NULL)
			continue;
		out->ports[out->nports].container_port = (int)strtol(key, NULL, 10);
		out->ports[out->nports].host_port =
		    (int)podman_json_number(json_object_get(bind, "HostPort"));
		out->nports++;
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

/* GET /containers/<name>/json into resp, whatever the status; the caller
 * frees resp->body. */
static int
inspect_request(struct podman *p, const char *name, struct response *resp, char *err, size_t errlen)
{
	struct request req = {.method = "GET"};
	struct buf path;
	int ret = -1;

	response_init(resp);
	buf_init(&path, PATH_MAX_LEN);
	if (container_path(&path, name, "/json", err, errlen) == -1)
		goto out;
	req.path = buf_str(&path);
	ret = perform(p, &req, resp, err, errlen);
out:
	buf_free(&path);
	return ret;
}

int
podman_inspect(struct podman *p, const char *name, struct container_info *out, int *pid, char *err,
	       size_t errlen)
{
	struct response resp;
	int ret = -1;

	if (inspect_request(p, name, &resp, err, errlen) == -1)
		goto out;
	if (resp.status != 200) {
		podman_error_message(resp.status, buf_str(&resp.body), err, errlen);
		goto out;
	}
	ret = podman_parse_inspect(buf_str(&resp.body), out, pid, err, errlen);
out:
	buf_free(&resp.body);
	return ret;
}

int
podman_parse_list(const char *json, struct container_info **out, int *n, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loads(json, 0, &jerr), *c;
	size_t i, count;
	int ret = -1;

	*out = NULL;
	*n = 0;
	if (!json_is_array(root)) {
		snprintf(err, errlen, "Podman's list answer is not a JSON array: %s", jerr.text);
		goto out;
	}
	count = json_array_size(root);
	if (count > RUNTIME_MAX_LIST)
		count = RUNTIME_MAX_LIST;
	*out = xcalloc(count > 0 ? count : 1, sizeof(**out));
	json_array_foreach(root, i, c)
	{
		struct container_info *ci;
		json_t *ports = json_object_get(c, "Ports"), *pm;
		size_t j;

		if (i >= count)
			break;
		ci = &(*out)[*n];
		copy_json_string(ci->id, sizeof(ci->id), json_object_get(c, "Id"));
		copy_json_string(ci->name, sizeof(ci->name),
				 json_array_get(json_object_get(c, "Names"), 0));
		copy_json_string(ci->state, sizeof(ci->state), json_object_get(c, "State"));
		ci->running = strcmp(ci->state, "running") == 0;
		ci->exit_code = (int)podman_json_number(json_object_get(c, "ExitCode"));
		copy_json_string(
		    ci->template_name, sizeof(ci->template_name),
		    json_object_get(json_object_get(c, "Labels"), RUNTIME_LABEL_TEMPLATE));
		json_array_foreach(ports, j, pm)
		{
			if (ci->nports >= RUNTIME_MAX_PORTS)
				break;
			ci->ports[ci->nports].host_port =
			    (int)podman_json_number(json_object_get(pm, "host_port"));
			ci->ports[ci->nports].container_port =
			    (int)podman_json_number(json_object_get(pm, "container_port"));
			ci->nports++;
		}
		(*n)++;
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

int
podman_list(struct podman *p, struct container_info **out, int *n, char *err, size_t errlen)
{
	struct request req = {.method = "GET"};
	struct response resp;
	struct buf path, filter;
	int ret = -1;

	*out = NULL;
	*n = 0;
	response_init(&resp);
	buf_init(&path, PATH_MAX_LEN);
	buf_init(&filter, 256);
	buf_printf(&filter, "{\"label\":[\"%s=1\"]}", RUNTIME_LABEL_MANAGED);
	if (buf_appends(&path, "/containers/json?all=true&filters=") == -1 ||
	    url_encode(&path, buf_str(&filter)) == -1) {
		snprintf(err, errlen, "list: request path too long");
		goto out;
	}
	req.path = buf_str(&path);
	if (perform_ok(p, &req, &resp, err, errlen) == -1)
		goto out;
	ret = podman_parse_list(buf_str(&resp.body), out, n, err, errlen);
out:
	if (ret == -1 && *out == NULL)
		*out = xcalloc(1, sizeof(**out));
	buf_free(&filter);
	buf_free(&path);
	buf_free(&resp.body);
	return ret;
}

int
podman_parse_image(const char *json, struct podman_image *out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loads(json, 0, &jerr), *config, *labels, *v, *start;
	const char *key;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(root)) {
		snprintf(err, errlen, "Podman's image answer is not a JSON object: %s", jerr.text);
		goto out;
	}
	copy_json_string(out->id, sizeof(out->id), json_object_get(root, "Id"));
	config = json_object_get(root, "Config");
	labels = json_object_get(config, "Labels");
	if (!json_is_object(labels))
		labels = json_object_get(root, "Labels");
	json_object_foreach(labels, key, v)
	{
		if (out->nlabels >= PODMAN_MAX_LABELS || !json_is_string(v))
			continue;
		snprintf(out->labels[out->nlabels].key, sizeof(out->labels[0].key), "%s", key);
		snprintf(out->labels[out->nlabels].value, sizeof(out->labels[0].value), "%s",
			 json_string_value(v));
		out->nlabels++;
	}
	start = json_array_get(json_object_get(config, "Entrypoint"), 0);
	if (!json_is_string(start))
		start = json_array_get(json_object_get(config, "Cmd"), 0);
	copy_json_string(out->start, sizeof(out->start), start);
	ret = 0;
out:
	json_decref(root);
	return ret;
}

const char *
podman_image_label(const struct podman_image *img, const char *key)
{
	for (int i = 0; i < img->nlabels; i++)
		if (strcmp(img->labels[i].key, key) == 0)
			return img->labels[i].value;
	return NULL;
}

int
podman_parse_store(const char *json, struct podman_store *out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loads(json, 0, &jerr), *store;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	store = json_object_get(root, "store");
	if (!json_is_object(store)) {
		snprintf(err, errlen, "Podman's /info answer has no store object");
		goto out;
	}
	copy_json_string(out->driver, sizeof(out->driver),
			 json_object_get(store, "graphDriverName"));
	copy_json_string(out->graph_root, sizeof(out->graph_root),
			 json_object_get(store, "graphRoot"));
	ret = 0;
out:
	json_decref(root);
	return ret;
}

int
podman_store_info(struct podman *p, struct podman_store *out, char *err, size_t errlen)
{
	struct request req = {.method = "GET", .path = "/info"};
	struct response resp;
	int ret = -1;

	response_init(&resp);
	if (perform_ok(p, &req, &resp, err, errlen) == -1)
		goto out;
	ret = podman_parse_store(buf_str(&resp.body), out, err, errlen);
out:
	buf_free(&resp.body);
	return ret;
}

int
podman_image_inspect(struct podman *p, const char *image, struct podman_image *out, char *err,
		     size_t errlen)
{
	struct request req = {.method = "GET"};
	struct response resp;
	struct buf path;
	int ret = -1;

	response_init(&resp);
	buf_init(&path, PATH_MAX_LEN);
	if (image == NULL || image[0] == '\0') {
		snprintf(err, errlen, "image name is empty");
		goto out;
	}
	if (buf_appends(&path, "/images/") == -1 || url_encode(&path, image) == -1 ||
	    buf_appends(&path, "/json") == -1) {
		snprintf(err, errlen, "image name too long");
		goto out;
	}
	req.path = buf_str(&path);
	if (perform(p, &req, &resp, err, errlen) == -1)
		goto out;
	if (resp.status != 200) {
		char msg[512];

		podman_error_message(resp.status, buf_str(&resp.body), msg, sizeof(msg));
		if (resp.status == 404)
			snprintf(err, errlen,
				 "image %s is not in Podman's store (%s); build it (make images) "
				 "or pull it first",
				 image, msg);
		else
			snprintf(err, errlen, "image %s: %s", image, msg);
		goto out;
	}
	ret = podman_parse_image(buf_str(&resp.body), out, err, errlen);
out:
	buf_free(&path);
	buf_free(&resp.body);
	return ret;
}

/* --- stop / remove / logs -------------------------------------------------- */

int
podman_stop(struct podman *p, const char *name, int timeout_s, char *err, size_t errlen)
{
	static const long ok[] = {204, 304, 0};
	struct buf path;
	char suffix[48], what[160];
	int ret = -1;

	buf_init(&path, PATH_MAX_LEN);
	snprintf(suffix, sizeof(suffix), "/stop?timeout=%d", timeout_s < 0 ? 0 : timeout_s);
	snprintf(what, sizeof(what), "stop %s", name);
	if (container_path(&path, name, suffix, err, errlen) == 0)
		ret = call_expect_json(p, "POST", buf_str(&path), NULL, ok, what, err, errlen);
	buf_free(&path);
	return ret;
}

int
podman_remove(struct podman *p, const char *name, char *err, size_t errlen)
{
	struct request req = {.method = "DELETE"};
	struct response resp;
	struct buf path;
	json_t *root = NULL, *rep;
	json_error_t jerr;
	size_t i;
	int ret = -1;

	response_init(&resp);
	buf_init(&path, PATH_MAX_LEN);
	if (container_path(&path, name, "?force=true&timeout=0", err, errlen) == -1)
		goto out;
	req.path = buf_str(&path);
	if (perform(p, &req, &resp, err, errlen) == -1)
		goto out;
	if (resp.status == 404) {
		ret = 0;
		goto out;
	}
	if (resp.status != 200 && resp.status != 204) {
		char msg[512];

		podman_error_message(resp.status, buf_str(&resp.body), msg, sizeof(msg));
		snprintf(err, errlen, "remove %s: %s", name, msg);
		goto out;
	}
	/* 200 carries one report per container; a report may hold an error. */
	root = json_loads(buf_str(&resp.body), 0, &jerr);
	json_array_foreach(root, i, rep)
	{
		json_t *e = json_object_get(rep, "Err");

		if (json_is_string(e) && json_string_length(e) > 0) {
			snprintf(err, errlen, "remove %s: Podman: %s", name, json_string_value(e));
			one_line(err);
			goto out;
		}
	}
	ret = 0;
out:
	json_decref(root);
	buf_free(&path);
	buf_free(&resp.body);
	return ret;
}

int
podman_demux_logs(const unsigned char *data, size_t len, struct buf *out)
{
	size_t off = 0;

	/* Frames: [stream 1|2, 0, 0, 0, size (4 bytes, big endian)] then size bytes. */
	while (off < len) {
		size_t size;

		if (len - off < 8 || data[off] > 2 || data[off + 1] != 0 || data[off + 2] != 0 ||
		    data[off + 3] != 0)
			return buf_append(out, data + off, len - off);
		size = (size_t)data[off + 4] << 24 | (size_t)data[off + 5] << 16 |
		       (size_t)data[off + 6] << 8 | (size_t)data[off + 7];
		off += 8;
		if (size > len - off)
			size = len - off;
		if (buf_append(out, data + off, size) == -1)
			return -1;
		off += size;
	}
	return 0;
}

int
podman_logs(struct podman *p, const char *name, int lines, struct buf *out, char *err,
	    size_t errlen)
{
	struct request req = {.method = "GET"};
	struct response resp;
	struct buf path;
	char suffix[64];
	int ret = -1;

	response_init(&resp);
	buf_init(&path, PATH_MAX_LEN);
	snprintf(suffix, sizeof(suffix), "/logs?stdout=true&stderr=true&tail=%d",
		 lines > 0 ? lines : 1);
	if (container_path(&path, name, suffix, err, errlen) == -1)
		goto out;
	req.path = buf_str(&path);
	if (perform_ok(p, &req, &resp, err, errlen) == -1)
		goto out;
	if (podman_demux_logs((const unsigned char *)resp.body.data, resp.body.len, out) == -1) {
		snprintf(err, errlen, "logs of %s do not fit the buffer", name);
		goto out;
	}
	ret = 0;
out:
	buf_free(&path);
	buf_free(&resp.body);
	return ret;
}

/* --- images made from containers ------------------------------------------ */

int
podman_commit(struct podman *p, const char *container, const char *repo, const char *tag,
	      char *image_id, size_t idlen, char *err, size_t errlen)
{
	struct request req = {.method = "POST"};
	struct response resp;
	struct buf path;
	json_t *root = NULL;
	const char *id;
	int ret = -1;

	response_init(&resp);
	buf_init(&path, PATH_MAX_LEN);
	if (buf_appends(&path, "/commit?pause=false&container=") == -1 ||
	    url_encode(&path, container) == -1 || buf_appends(&path, "&repo=") == -1 ||
	    url_encode(&path, repo) == -1 || buf_appends(&path, "&tag=") == -1 ||
	    url_encode(&path, tag) == -1) {
		snprintf(err, errlen, "commit %s: request path too long", container);
		goto out;
	}
	req.path = buf_str(&path);
	if (perform(p, &req, &resp, err, errlen) == -1)
		goto out;
	if (resp.status != 200 && resp.status != 201) {
		char msg[512];

		podman_error_message(resp.status, buf_str(&resp.body), msg, sizeof(msg));
		snprintf(err, errlen, "commit %s to %s:%s: %s", container, repo, tag, msg);
		goto out;
	}
	root = json_loads(buf_str(&resp.body), 0, NULL);
	id = json_string_value(json_object_get(root, "Id"));
	if (id == NULL || id[0] == '\0' || strlen(id) >= idlen) {
		snprintf(err, errlen, "commit %s: Podman's answer names no image id", container);
		goto out;
	}
	snprintf(image_id, idlen, "%s", id);
	ret = 0;
out:
	json_decref(root);
	buf_free(&path);
	buf_free(&resp.body);
	return ret;
}

int
podman_image_remove(struct podman *p, const char *image, char *err, size_t errlen)
{
	static const long ok[] = {200, 404, 0};
	struct buf path;
	char what[300];
	int ret = -1;

	buf_init(&path, PATH_MAX_LEN);
	snprintf(what, sizeof(what), "remove image %s", image);
	if (buf_appends(&path, "/images/") == -1 || url_encode(&path, image) == -1)
		snprintf(err, errlen, "image name too long");
	else
		ret = call_expect_json(p, "DELETE", buf_str(&path), NULL, ok, what, err, errlen);
	buf_free(&path);
	return ret;
}

/* --- checkpoint ------------------------------------------------------------ */

static int
run_zstd(const char *in, const char *outpath, char *err, size_t errlen)
{
	char *argv[] = {"zstd",		 "-q",	     "-f", "-T0", ZSTD_LEVEL, "-o",
			(char *)outpath, (char *)in, NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc, status;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	rc = posix_spawnp(&pid, "zstd", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		snprintf(err, errlen,
			 "cannot run zstd to compress the checkpoint (%s); install zstd or use "
			 "--compress none",
			 strerror(rc));
		return -1;
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			snprintf(err, errlen, "waiting for zstd: %s", strerror(errno));
			return -1;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "zstd failed to compress %s", in);
		unlink(outpath);
		return -1;
	}
	return 0;
}

int
podman_checkpoint(struct podman *p, const char *name, const char *archive_path, bool leave_running,
		  bool compress_zstd, struct checkpoint_stats *stats, char *err, size_t errlen)
{
	struct request req = {.method = "POST"};
	struct response resp;
	struct buf path, part;
	struct stat st;
	FILE *f = NULL;
	char serr[128];
	double t0 = mstime_now();
	int fd, ret = -1;

	memset(stats, 0, sizeof(*stats));
	response_init(&resp);
	buf_init(&path, PATH_MAX_LEN);
	buf_init(&part, PATH_MAX_LEN);
	if (buf_printf(&part, "%s.part", archive_path) == -1) {
		snprintf(err, errlen, "archive path too long");
		goto out;
	}
	if (container_path(&path, name, "/checkpoint?export=true&fileLocks=true&printStats=true",
			   err, errlen) == -1 ||
	    (leave_running && buf_appends(&path, "&leaveRunning=true") == -1))
		goto out;
	fd = open(buf_str(&part), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || (f = fdopen(fd, "w+b")) == NULL) {
		snprintf(err, errlen, "%s: %s", buf_str(&part), strerror(errno));
		if (fd != -1)
			close(fd);
		goto out;
	}
	req.path = buf_str(&path);
	req.download = f;
	if (perform(p, &req, &resp, err, errlen) == -1)
		goto out;
	if (resp.status != 200) {
		char msg[768];

		podman_error_message(resp.status, buf_str(&resp.body), msg, sizeof(msg));
		snprintf(err, errlen, "checkpoint %s: %s", name, msg);
		goto out;
	}
	stats->podman_ms = resp.total_ms;
	if (fflush(f) == EOF) {
		snprintf(err, errlen, "%s: %s", buf_str(&part), strerror(errno));
		goto out;
	}
	if (podman_archive_stats(f, stats, serr, sizeof(serr)) == -1)
		log_warnx("podman: checkpoint of %s: %s", name, serr);
	if (fclose(f) == EOF) {
		f = NULL;
		snprintf(err, errlen, "%s: %s", buf_str(&part), strerror(errno));
		goto out;
	}
	f = NULL;
	if (compress_zstd) {
		if (run_zstd(buf_str(&part), archive_path, err, errlen) == -1)
			goto out;
		unlink(buf_str(&part));
	} else if (rename(buf_str(&part), archive_path) == -1) {
		snprintf(err, errlen, "rename to %s: %s", archive_path, strerror(errno));
		goto out;
	}
	if (stat(archive_path, &st) == -1) {
		snprintf(err, errlen, "%s: %s", archive_path, strerror(errno));
		goto out;
	}
	stats->archive_bytes = (long long)st.st_size;
	stats->wall_ms = mstime_now() - t0;
	ret = 0;
out:
	if (f != NULL)
		fclose(f);
	if (ret == -1 && part.len > 0)
		unlink(buf_str(&part));
	buf_free(&part);
	buf_free(&path);
	buf_free(&resp.body);
	return ret;
}

/* --- restore --------------------------------------------------------------- */

int
podman_restore(struct podman *p, const struct restore_request *req, struct restore_stats *stats,
	       char *err, size_t errlen)
{
	struct request hreq = {.method = "POST"};
	struct response resp;
	struct buf path, ports;
	struct stat st;
	FILE *f = NULL;
	char rmerr[256];
	double t0 = mstime_now();
	bool cleanup = false;
	int ret = -1;

	memset(stats, 0, sizeof(*stats));
	response_init(&resp);
	buf_init(&path, PATH_MAX_LEN);
	buf_init(&ports, 1024);
	if (req->name == NULL || req->name[0] == '\0') {
		snprintf(err, errlen, "restore: container name is empty");
		goto out;
	}
	if (req->nports < 0 || req->nports > RUNTIME_MAX_PORTS) {
		snprintf(err, errlen, "restore %s: too many published ports", req->name);
		goto out;
	}
	f = fopen(req->archive_path, "rbe");
	if (f == NULL || fstat(fileno(f), &st) == -1) {
		snprintf(err, errlen, "checkpoint archive %s: %s", req->archive_path,
			 strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		snprintf(err, errlen, "checkpoint archive %s is empty or not a file",
			 req->archive_path);
		goto out;
	}
	for (int i = 0; i < req->nports; i++)
		buf_printf(&ports, "%s127.0.0.1:%d:%d", i > 0 ? " " : "", req->ports[i].host_port,
			   req->ports[i].container_port);
	if (buf_appends(&path, "/containers/import/restore?import=true&fileLocks=true"
			       "&printStats=true&name=") == -1 ||
	    url_encode(&path, req->name) == -1 ||
	    (req->nports > 0 && (buf_appends(&path, "&publishPorts=") == -1 ||
				 url_encode(&path, buf_str(&ports)) == -1))) {
		snprintf(err, errlen, "restore %s: request path too long", req->name);
		goto out;
	}
	hreq.path = buf_str(&path);
	hreq.upload = f;
	hreq.upload_size = (long long)st.st_size;
	if (perform(p, &hreq, &resp, err, errlen) == -1) {
		cleanup = resp.sent; /* e.g. a timeout: Podman may still create it */
		goto out;
	}
	if (resp.status != 200) {
		char msg[768];

		podman_error_message(resp.status, buf_str(&resp.body), msg, sizeof(msg));
		snprintf(err, errlen, "restore %s from %s: %s", req->name, req->archive_path, msg);
		/* A name conflict means the container is someone else's. */
		cleanup = strstr(msg, "name is already in use") == NULL;
		goto out;
	}
	if (podman_parse_restore_stats(buf_str(&resp.body), stats, rmerr, sizeof(rmerr)) == -1)
		log_warnx("podman: restore name=%s: %s", req->name, rmerr);
	stats->podman_ms = resp.total_ms;
	stats->wall_ms = mstime_now() - t0;
	ret = 0;
out:
	if (f != NULL)
		fclose(f);
	if (cleanup && podman_remove(p, req->name, rmerr, sizeof(rmerr)) == -1)
		log_warnx("podman: removing failed restore name=%s: %s", req->name, rmerr);
	buf_free(&ports);
	buf_free(&path);
	buf_free(&resp.body);
	return ret;
}

/* --- resources of a running container ------------------------------------ */

int
podman_set_cpus(struct podman *p, const char *name, double cpus, char *err, size_t errlen)
{
	static const long ok[] = {200, 201, 0};
	struct buf path;
	char body[128], what[160];
	int ret = -1;

	buf_init(&path, PATH_MAX_LEN);
	snprintf(what, sizeof(what), "limit the CPU of %s", name);
	/* the quota per 100 ms period, as the create body sets it (podman_spec.c) */
	snprintf(body, sizeof(body), "{\"cpu\":{\"quota\":%lld,\"period\":100000}}",
		 (long long)(cpus * 100000.0 + 0.5));
	if (cpus <= 0 || container_path(&path, name, "/update", err, errlen) == -1) {
		if (cpus <= 0)
			snprintf(err, errlen, "%s: %.2f CPUs is no limit", what, cpus);
		goto out;
	}
	ret = call_expect_json(p, "POST", buf_str(&path), body, ok, what, err, errlen);
out:
	buf_free(&path);
	return ret;
}

/* --- runtime_ops ----------------------------------------------------------- */

static int
ops_restore(void *ctx, const struct restore_request *req, struct restore_stats *stats, char *err,
	    size_t errlen)
{
	return podman_restore(ctx, req, stats, err, errlen);
}

static int
ops_run(void *ctx, const struct container_spec *spec, char *err, size_t errlen)
{
	return podman_create_start(ctx, spec, err, errlen);
}

static int
ops_remove(void *ctx, const char *name, char *err, size_t errlen)
{
	return podman_remove(ctx, name, err, errlen);
}

static int
ops_list(void *ctx, struct container_info **out, int *n, char *err, size_t errlen)
{
	return podman_list(ctx, out, n, err, errlen);
}

/* *pid = -1 when Podman answers that the container is not running or does
 * not exist; -1 only when Podman cannot answer. */
static int
ops_set_cpus(void *ctx, const char *name, double cpus, char *err, size_t errlen)
{
	return podman_set_cpus(ctx, name, cpus, err, errlen);
}

static int
ops_pid(void *ctx, const char *name, int *pid, char *err, size_t errlen)
{
	struct response resp;
	struct container_info info;
	int ret = -1;

	if (inspect_request(ctx, name, &resp, err, errlen) == -1)
		goto out;
	if (resp.status == 404) {
		*pid = -1;
		ret = 0;
		goto out;
	}
	if (resp.status != 200) {
		podman_error_message(resp.status, buf_str(&resp.body), err, errlen);
		goto out;
	}
	if (podman_parse_inspect(buf_str(&resp.body), &info, pid, err, errlen) == -1)
		goto out;
	if (!info.running || *pid <= 0)
		*pid = -1;
	ret = 0;
out:
	buf_free(&resp.body);
	return ret;
}

const struct runtime_ops podman_runtime_ops = {
    .restore = ops_restore,
    .run = ops_run,
    .remove = ops_remove,
    .list = ops_list,
    .pid = ops_pid,
    .set_cpus = ops_set_cpus,
};
