/*
 * server — libmicrohttpd glue: body accumulation, routing, rate limit,
 * response headers, graceful stop (see server.h).
 *
 * libmicrohttpd calls the access handler several times per request: once
 * with the headers, once per chunk of body, and once more when the body is
 * complete; only then is the request dispatched. A response can be queued on
 * the first call, before any body is read; that is done only for a body
 * announced larger than BODY_DISCARD_MAX. A smaller body over the limit is
 * read and thrown away before the 413: closing a connection whose input has
 * not been read makes the kernel send a reset, and a reverse proxy that is
 * still forwarding the body then answers its client 502 instead of our 413.
 * A body without Content-Length (chunked) is held to the same limits: stored
 * up to max_body_bytes, discarded up to BODY_DISCARD_MAX, and the connection
 * closed beyond that.
 *
 * Slow clients: a connection idle for request_timeout is closed, and so is
 * one whose body is still arriving request_timeout after its headers (a body
 * trickled a byte at a time keeps a connection from ever being idle).
 * Handlers block (a release tears a container down, /healthz asks Podman),
 * so each connection keeps its own thread: a thread pool would let a few
 * slow handlers stall every connection sharing their thread. Threads are
 * cheap next to the fd limit, which bounds max_connections.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "mstime.h"
#include "pages.h"
#include "xmalloc.h"

#define RL_SLOTS 4096
#define RL_PROBE 16
#define RL_WINDOW_MS 60000LL
#define RL_IP_MAX 64
#define STOP_GRACE_MS 5000
/* Bodies over the limit but announced at most this large are read and
 * discarded (never stored) so that their 413 reaches the client. */
#define BODY_DISCARD_MAX ((unsigned long long)8 << 20)
#define SERVER_CONNECTIONS 4096
#define SERVER_TIMEOUT_S 10
/* Descriptors left for everything but the listener's connections: the
 * store, Podman and proxy clients, logs. */
#define FD_RESERVE 256

/* --- rate limiter -------------------------------------------------------- */

struct rl_slot {
	char ip[RL_IP_MAX];
	long long window; /* minute number (now_ms / 60000) of cur */
	int cur, prev;
	long long last_ms;
};

struct server_ratelimit {
	pthread_mutex_t mu;
	int limit;
	struct rl_slot slots[RL_SLOTS];
};

struct server_ratelimit *
server_ratelimit_new(int per_minute)
{
	struct server_ratelimit *rl = xcalloc(1, sizeof(*rl));

	pthread_mutex_init(&rl->mu, NULL);
	rl->limit = per_minute;
	return rl;
}

void
server_ratelimit_free(struct server_ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->mu);
	free(rl);
}

static unsigned int
fnv1a(const char *s)
{
	unsigned int h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* The slot of ip, rotated to now; claims a free or the least recently used
 * slot among the probe sequence when ip has none. Called with mu held. */
static struct rl_slot *
rl_slot(struct server_ratelimit *rl, const char *ip, long long now_ms, bool create)
{
	unsigned int h = fnv1a(ip);
	struct rl_slot *victim = NULL, *sl = NULL;
	long long w = now_ms / RL_WINDOW_MS;

	for (int i = 0; i < RL_PROBE; i++) {
		struct rl_slot *c = &rl->slots[(h + (unsigned int)i) % RL_SLOTS];

		if (c->ip[0] != '\0' && strcmp(c->ip, ip) == 0) {
			sl = c;
			break;
		}
		if (victim == NULL || c->ip[0] == '\0' ||
		    (victim->ip[0] != '\0' && c->last_ms < victim->last_ms))
			victim = c;
	}
	if (sl == NULL) {
		if (!create)
			return NULL;
		sl = victim;
		memset(sl, 0, sizeof(*sl));
		snprintf(sl->ip, sizeof(sl->ip), "%s", ip);
		sl->window = w;
	}
	if (w == sl->window + 1) {
		sl->prev = sl->cur;
		sl->cur = 0;
	} else if (w != sl->window) {
		sl->prev = 0;
		sl->cur = 0;
	}
	sl->window = w;
	sl->last_ms = now_ms;
	return sl;
}

bool
server_ratelimit_take(struct server_ratelimit *rl, const char *ip, long long now_ms)
{
	struct rl_slot *sl;
	double unelapsed, estimate;
	bool ok;

	if (rl == NULL || rl->limit <= 0)
		return true;
	pthread_mutex_lock(&rl->mu);
	sl = rl_slot(rl, ip, now_ms, true);
	unelapsed = (double)(RL_WINDOW_MS - now_ms % RL_WINDOW_MS) / (double)RL_WINDOW_MS;
	estimate = sl->prev * unelapsed + sl->cur;
	ok = estimate + 1.0 <= (double)rl->limit + 1e-9;
	if (ok)
		sl->cur++;
	pthread_mutex_unlock(&rl->mu);
	return ok;
}

void
server_ratelimit_refund(struct server_ratelimit *rl, const char *ip, long long now_ms)
{
	struct rl_slot *sl;

	if (rl == NULL || rl->limit <= 0)
		return;
	pthread_mutex_lock(&rl->mu);
	sl = rl_slot(rl, ip, now_ms, false);
	if (sl != NULL && sl->cur > 0)
		sl->cur--;
	pthread_mutex_unlock(&rl->mu);
}

/* --- addresses ------------------------------------------------------------ */

static bool
ip_literal(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1;
}

/* Keeps the value of the last X-Forwarded-For line: libmicrohttpd keeps
 * each line apart, and its lookup answers the first, which is the one a
 * client can forge. */
static enum MHD_Result
last_xff(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	const char **last = cls;

	(void)kind;
	if (key != NULL && strcasecmp(key, "X-Forwarded-For") == 0)
		*last = value != NULL ? value : "";
	return MHD_YES;
}

void
server_client_ip(const char *peer, const char *xff, bool trust, char *out, size_t outlen)
{
	if (trust && xff != NULL) {
		const char *last = strrchr(xff, ',');
		char cand[RL_IP_MAX];
		size_t n;

		last = last != NULL ? last + 1 : xff;
		while (*last == ' ' || *last == '\t')
			last++;
		n = strcspn(last, " \t");
		if (n > 0 && n < sizeof(cand)) {
			memcpy(cand, last, n);
			cand[n] = '\0';
			if (ip_literal(cand)) {
				snprintf(out, outlen, "%s", cand);
				return;
			}
		}
	}
	snprintf(out, outlen, "%s", peer != NULL && peer[0] != '\0' ? peer : "unknown");
}

/* --- the server ----------------------------------------------------------- */

struct server {
	const struct api *api;
	struct server_options opt;
	struct MHD_Daemon *d;
	struct server_ratelimit *rl;
	int port;
	int timeout_s;
	long long active; /* requests between their first call and completion */
	struct metrics_server counters;
};

struct conn_state {
	struct buf body;
	bool too_large;
	unsigned long long received; /* body bytes, stored or not */
	double start;		     /* mstime_now() at the first call */
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A copy of s safe for a log line: printable ASCII, no quotes, bounded. */
static void
log_safe(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	for (; s != NULL && *s != '\0' && o + 1 < outlen; s++)
		out[o++] = (*s > 0x20 && *s < 0x7f && *s != '"') ? *s : '?';
	out[o] = '\0';
}

static void
peer_address(struct MHD_Connection *c, char *out, size_t outlen)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	out[0] = '\0';
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
			  (socklen_t)outlen);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 =
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a6))
			inet_ntop(AF_INET, &a6->s6_addr[12], out, (socklen_t)outlen);
		else
			inet_ntop(AF_INET6, a6, out, (socklen_t)outlen);
	}
}

static enum MHD_Result
collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct api_request *req = cls;

	(void)kind;
	if (req->nargs < API_MAX_ARGS && key != NULL) {
		req->args[req->nargs].key = key;
		req->args[req->nargs].value = value != NULL ? value : "";
		req->nargs++;
	}
	return MHD_YES;
}

static enum MHD_Result
send_response(struct server *s, struct MHD_Connection *c, const struct api_response *r)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;
	bool html = strncmp(r->content_type, "text/html", 9) == 0;
	char csp[PAGES_CSP_MAX];

	mr = MHD_create_response_from_buffer(r->body.len, (void *)buf_str(&r->body),
					     MHD_RESPMEM_MUST_COPY);
	if (mr == NULL)
		return MHD_NO;
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
	if (html) {
		/* same-origin: the demo's own site never sees the ready page's URL
		 * (which names the demo), while our form posts keep a real Origin
		 * (no-referrer would turn it into "null"). */
		MHD_add_response_header(mr, "Referrer-Policy", "same-origin");
		pages_csp(s->api, csp, sizeof(csp));
		MHD_add_response_header(mr, "Content-Security-Policy", csp);
		MHD_add_response_header(mr, "X-Frame-Options", "DENY");
	} else {
		MHD_add_response_header(mr, "Referrer-Policy", "no-referrer");
	}
	if (r->location[0] != '\0')
		MHD_add_response_header(mr, MHD_HTTP_HEADER_LOCATION, r->location);
	if (r->set_cookie[0] != '\0')
		MHD_add_response_header(mr, MHD_HTTP_HEADER_SET_COOKIE, r->set_cookie);
	if (r->allow[0] != '\0')
		MHD_add_response_header(mr, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (r->allow_origin[0] != '\0') {
		MHD_add_response_header(mr, "Access-Control-Allow-Origin", r->allow_origin);
		if (r->preflight) {
			MHD_add_response_header(mr, "Access-Control-Allow-Methods", "GET, POST");
			MHD_add_response_header(mr, "Access-Control-Allow-Headers",
						"Content-Type, Authorization");
			MHD_add_response_header(mr, "Access-Control-Max-Age", "600");
		}
	}
	/* Answers differ by Origin on the API (CORS) and on claims. */
	MHD_add_response_header(mr, "Vary", "Origin");
	if (r->www_authenticate)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"demux\"");
	if (r->retry_after > 0) {
		char ra[16];

		snprintf(ra, sizeof(ra), "%d", r->retry_after);
		MHD_add_response_header(mr, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	ret = MHD_queue_response(c, (unsigned int)r->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

static void
answer_too_large(struct server *s, const char *url, struct api_response *r)
{
	__atomic_fetch_add(&s->counters.body_too_large, 1, __ATOMIC_RELAXED);
	if (api_owns_path(url))
		api_error(r, 413, "request body larger than %zu bytes", s->opt.max_body_bytes);
	else
		pages_error(r, 413, "Request too large", "The form sent too much data.");
}

static void
answer_metrics(struct server *s, const struct api_request *req, struct api_response *r)
{
	struct api_pool_info *pools;
	struct metrics_pool mp[API_MAX_TEMPLATES];
	struct metrics_server srv;
	int n;

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		snprintf(r->allow, sizeof(r->allow), "GET, HEAD");
		api_error(r, 405, "method not allowed (allowed: GET, HEAD)");
		return;
	}
	pools = xcalloc(API_MAX_TEMPLATES, sizeof(*pools));
	n = s->api->backend.ops->pools(s->api->backend.ctx, pools, API_MAX_TEMPLATES);
	for (int i = 0; i < n; i++) {
		mp[i].template_name = pools[i].tmpl.name;
		mp[i].stats = &pools[i].stats;
	}
	srv.requests = __atomic_load_n(&s->counters.requests, __ATOMIC_RELAXED);
	srv.rate_limited = __atomic_load_n(&s->counters.rate_limited, __ATOMIC_RELAXED);
	srv.body_too_large = __atomic_load_n(&s->counters.body_too_large, __ATOMIC_RELAXED);
	r->status = 200;
	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
	buf_reset(&r->body);
	if (metrics_render(&r->body, mp, n, s->opt.hist_bounds, s->opt.nbounds, &srv) == -1)
		api_error(r, 500, "metrics exposition too large");
	free(pools);
	if (r->status == 200 && s->api->backend.ops->nodes != NULL) {
		struct node_view *nodes = xcalloc(NODE_VIEW_MAX, sizeof(*nodes));
		int nn = s->api->backend.ops->nodes(s->api->backend.ctx, nodes, NODE_VIEW_MAX);

		if (nn > 0 && metrics_render_nodes(&r->body, nodes, nn) == -1)
			api_error(r, 500, "metrics exposition too large");
		free(nodes);
	}
}

static void
dispatch(struct server *s, struct MHD_Connection *c, const char *url, const char *method,
	 struct conn_state *st, struct api_response *r)
{
	struct api_request req;
	char peer[RL_IP_MAX], ip[RL_IP_MAX];
	const char *xff = NULL;
	bool is_api = api_owns_path(url), claim;
	long long t;

	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = url;
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &req);
	req.body = buf_str(&st->body);
	req.body_len = st->body.len;
	peer_address(c, peer, sizeof(peer));
	MHD_get_connection_values(c, MHD_HEADER_KIND, last_xff, &xff);
	server_client_ip(peer, xff, s->opt.trust_forwarded_for, ip, sizeof(ip));
	req.client_ip = ip;
	req.authorization =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	req.cookie = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE);
	req.host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	req.origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");

	if (strcmp(url, "/metrics") == 0) {
		answer_metrics(s, &req, r);
		return;
	}
	claim = is_api ? api_is_claim(&req) : pages_is_claim(&req);
	t = now_ms();
	if (claim && !server_ratelimit_take(s->rl, ip, t)) {
		char safe[RL_IP_MAX];

		__atomic_fetch_add(&s->counters.rate_limited, 1, __ATOMIC_RELAXED);
		log_safe(ip, safe, sizeof(safe));
		log_warnx("claim rate limited ip=%s limit_per_minute=%d", safe,
			  s->opt.claims_per_ip_per_minute);
		if (is_api)
			api_error(r, 429,
				  "too many demos started from your address; try again in "
				  "a minute");
		else
			pages_error(r, 429, "Too many demos",
				    "You started several demos in the last minute. Please try "
				    "again in a minute.");
		r->retry_after = 60;
		return;
	}
	if (is_api)
		api_handle(s->api, &req, r);
	else
		pages_handle(s->api, &req, r);
	if (claim && !r->claimed)
		server_ratelimit_refund(s->rl, ip, t);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
	   const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct server *s = cls;
	struct conn_state *st = *con_cls;
	struct api_response r;
	enum MHD_Result ret;

	(void)version;
	if (st == NULL) {
		const char *cl =
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

		st = xcalloc(1, sizeof(*st));
		buf_init(&st->body, s->opt.max_body_bytes);
		st->start = mstime_now();
		*con_cls = st;
		__atomic_fetch_add(&s->active, 1, __ATOMIC_SEQ_CST);
		if (cl != NULL) {
			char *end;
			unsigned long long n = strtoull(cl, &end, 10);

			if (end != cl && n > s->opt.max_body_bytes) {
				st->too_large = true;
				buf_free(&st->body);
				if (n <= BODY_DISCARD_MAX)
					return MHD_YES; /* read, discard, then 413 */
				api_response_init(&r);
				answer_too_large(s, url, &r);
				ret = send_response(s, c, &r);
				api_response_free(&r);
				return ret;
			}
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		st->received += *upload_data_size;
		if (!st->too_large && buf_append(&st->body, upload_data, *upload_data_size) == -1) {
			st->too_large = true;
			buf_free(&st->body);
		}
		*upload_data_size = 0;
		if (st->received > BODY_DISCARD_MAX) {
			__atomic_fetch_add(&s->counters.body_too_large, 1, __ATOMIC_RELAXED);
			log_warnx("request body beyond %llu bytes, connection closed",
				  BODY_DISCARD_MAX);
			return MHD_NO;
		}
		if (mstime_now() - st->start > 1000.0 * s->timeout_s) {
			log_warnx("request body still arriving after %d s, connection closed",
				  s->timeout_s);
			return MHD_NO;
		}
		return MHD_YES;
	}
	api_response_init(&r);
	if (st->too_large)
		answer_too_large(s, url, &r);
	else
		dispatch(s, c, url, method, st, &r);
	ret = send_response(s, c, &r);
	if (log_get_level() >= LOG_LEVEL_DEBUG) {
		char path[160];

		log_safe(url, path, sizeof(path));
		log_debug("http method=%.10s path=%s status=%d ms=%.1f", method, path, r.status,
			  mstime_now() - st->start);
	}
	api_response_free(&r);
	return ret;
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	struct server *s = cls;
	struct conn_state *st = *con_cls;

	(void)c;
	(void)toe;
	if (st == NULL)
		return;
	buf_free(&st->body);
	free(st);
	*con_cls = NULL;
	__atomic_fetch_add(&s->counters.requests, 1, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&s->active, 1, __ATOMIC_SEQ_CST);
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512], safe[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	for (size_t i = 0; i <= n; i++)
		safe[i] = (msg[i] == '"' || msg[i] == '\n') ? '\'' : msg[i];
	log_warnx("libmicrohttpd error=\"%s\"", safe);
}

/* Binds and listens ourselves (SO_REUSEADDR, so a restart is not refused by
 * connections in TIME_WAIT; no SO_REUSEPORT, so a second daemon is). */
static int
open_listener(const char *listen_addr, int *family, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char host[128], port_s[8];
	int port, gai, fd = -1, one = 1;

	if (config_parse_listen(listen_addr, host, sizeof(host), &port, err, errlen) == -1)
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port_s, sizeof(port_s), "%d", port);
	gai = getaddrinfo(host[0] != '\0' ? host : NULL, port_s, &hints, &res);
	if (gai != 0) {
		snprintf(err, errlen, "listen %s: %s", listen_addr, gai_strerror(gai));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "listen %s: socket: %s", listen_addr, strerror(errno));
		goto out;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1 || listen(fd, SOMAXCONN) == -1) {
		snprintf(err, errlen, "listen %s: %s", listen_addr, strerror(errno));
		close(fd);
		fd = -1;
		goto out;
	}
	*family = res->ai_family;
out:
	freeaddrinfo(res);
	return fd;
}

/* max_connections, lowered when the process may not open that many
 * descriptors (after raising the soft limit as far as the hard one allows). */
static unsigned int
connection_limit(int wanted)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)wanted + FD_RESERVE;
	unsigned int n = (unsigned int)wanted;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return n;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		rl.rlim_cur =
		    rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		n = rl.rlim_cur > FD_RESERVE + 16 ? (unsigned int)(rl.rlim_cur - FD_RESERVE) : 16;
		log_warnx("max_connections lowered from %d to %u: the open file limit is %llu "
			  "(raise LimitNOFILE)",
			  wanted, n, (unsigned long long)rl.rlim_cur);
	}
	return n;
}

struct server *
server_start(const struct api *a, const struct server_options *opt, char *err, size_t errlen)
{
	struct server *s;
	const union MHD_DaemonInfo *di;
	unsigned int flags, conns;
	int fd, family = AF_INET;

	fd = open_listener(opt->listen, &family, err, errlen);
	if (fd == -1)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->api = a;
	s->opt = *opt;
	s->timeout_s = opt->request_timeout_s > 0 ? opt->request_timeout_s : SERVER_TIMEOUT_S;
	conns =
	    connection_limit(opt->max_connections > 0 ? opt->max_connections : SERVER_CONNECTIONS);
	if (opt->claims_per_ip_per_minute > 0)
		s->rl = server_ratelimit_new(opt->claims_per_ip_per_minute);
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO |
		MHD_USE_ERROR_LOG | MHD_USE_ITC;
	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
				mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				MHD_OPTION_CONNECTION_LIMIT, conns, MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned int)s->timeout_s, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				(unsigned int)opt->max_connections_per_ip, MHD_OPTION_END);
	if (s->d == NULL) {
		snprintf(err, errlen, "listen %s: libmicrohttpd could not start", opt->listen);
		close(fd);
		server_ratelimit_free(s->rl);
		free(s);
		return NULL;
	}
	di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di != NULL ? di->port : 0;
	log_info("http server listening listen=%s port=%d max_body_bytes=%zu "
		 "claims_per_ip_per_minute=%d trust_forwarded_for=%s max_connections=%u "
		 "max_connections_per_ip=%d request_timeout_s=%d",
		 opt->listen, s->port, opt->max_body_bytes, opt->claims_per_ip_per_minute,
		 opt->trust_forwarded_for ? "true" : "false", conns, opt->max_connections_per_ip,
		 s->timeout_s);
	return s;
}

int
server_port(const struct server *s)
{
	return s->port;
}

void
server_stop(struct server *s)
{
	MHD_socket fd;
	int waited = 0;

	if (s == NULL)
		return;
	/* Stop accepting: after quiesce the listening socket is ours to close. */
	fd = MHD_quiesce_daemon(s->d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	while (__atomic_load_n(&s->active, __ATOMIC_SEQ_CST) > 0 && waited < STOP_GRACE_MS) {
		mstime_sleep(20);
		waited += 20;
	}
	MHD_stop_daemon(s->d);
	log_info("http server stopped port=%d requests=%lld", s->port, s->counters.requests);
	server_ratelimit_free(s->rl);
	free(s);
}
