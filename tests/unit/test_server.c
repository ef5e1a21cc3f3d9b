/* Unit tests for server: a real libmicrohttpd listener on 127.0.0.1 with the
 * fake backend behind it, spoken to with libcurl — body limits, the claim rate
 * limiter, forwarded addresses, response headers, /metrics and a graceful stop
 * with a request in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "fake_api_backend.h"
#include "mstime.h"
#include "server.h"

static const double bounds[2] = {1, 5};

struct fixture {
	struct fake_api fake;
	struct api api;
	struct server *srv;
};

struct reply {
	long status;
	struct buf body;
	struct buf headers;
};

static struct fixture *
start_with(struct server_options *opt)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char err[256];

	opt->listen = "127.0.0.1:0";
	opt->max_body_bytes = 4096;
	opt->hist_bounds = bounds;
	opt->nbounds = 2;
	fake_api_init(&fx->fake, &fx->api);
	fx->srv = server_start(&fx->api, opt, err, sizeof(err));
	if (fx->srv == NULL)
		fail_msg("server_start: %s", err);
	assert_true(server_port(fx->srv) > 0);
	return fx;
}

static struct fixture *
start(int limit, bool trust)
{
	struct server_options opt = {.claims_per_ip_per_minute = limit,
				     .trust_forwarded_for = trust};

	return start_with(&opt);
}

static void
stop(struct fixture *fx)
{
	server_stop(fx->srv);
	free(fx);
}

static size_t
on_data(char *p, size_t size, size_t n, void *ud)
{
	buf_append(ud, p, size * n);
	return size * n;
}

struct upload {
	size_t left;
};

static size_t
on_read(char *p, size_t size, size_t n, void *ud)
{
	struct upload *u = ud;
	size_t k = size * n < u->left ? size * n : u->left;

	memset(p, 'a', k);
	u->left -= k;
	return k;
}

/* One request. body: NULL = none; chunked_len > 0 sends that many bytes
 * chunked instead. hdrs: NULL-terminated extra header lines. */
static void
http(struct fixture *fx, const char *method, const char *path, const char *body, size_t chunked_len,
     const char *const *hdrs, struct reply *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct upload up = {chunked_len};
	char url[256];

	buf_init(&r->body, 1 << 22);
	buf_init(&r->headers, 1 << 16);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", server_port(fx->srv), path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	for (int i = 0; hdrs != NULL && hdrs[i] != NULL; i++)
		h = curl_slist_append(h, hdrs[i]);
	if (chunked_len > 0) {
		h = curl_slist_append(h, "Transfer-Encoding: chunked");
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &up);
	} else if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (curl_easy_perform(c) != CURLE_OK)
		r->status = -1;
	else
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

static void
reply_free(struct reply *r)
{
	buf_free(&r->body);
	buf_free(&r->headers);
}

static void
assert_contains(const struct buf *b, const char *needle)
{
	if (strcasestr(buf_str(b), needle) == NULL)
		fail_msg("\"%s\" not in:\n%s", needle, buf_str(b));
}

static long
claim_api(struct fixture *fx, const char *xff)
{
	struct reply r;
	char h[128];
	const char *hdrs[2] = {NULL, NULL};
	long st;

	if (xff != NULL) {
		snprintf(h, sizeof(h), "X-Forwarded-For: %s", xff);
		hdrs[0] = h;
	}
	http(fx, "POST", "/api/v1/demos", "{}", 0, hdrs, &r);
	st = r.status;
	if (st == 429) {
		assert_contains(&r.headers, "Retry-After: 60");
		assert_contains(&r.body, "\"error\"");
	}
	reply_free(&r);
	return st;
}

static void
test_healthz_and_common_headers(void **state)
{
	struct fixture *fx = start(0, false);
	struct reply r;

	(void)state;
	http(fx, "GET", "/healthz", NULL, 0, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_contains(&r.headers, "Content-Type: application/json");
	assert_contains(&r.headers, "Cache-Control: no-store");
	assert_contains(&r.headers, "X-Content-Type-Options: nosniff");
	assert_contains(&r.body, "\"status\":\"ok\"");
	reply_free(&r);

	http(fx, "GET", "/", NULL, 0, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_contains(&r.headers, "Content-Type: text/html");
	assert_contains(&r.headers, "Content-Security-Policy: default-src 'none'");
	assert_contains(&r.body, "Start your demo");
	reply_free(&r);

	http(fx, "HEAD", "/", NULL, 0, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	reply_free(&r);
	stop(fx);
}

static void
test_body_over_limit_is_413(void **state)
{
	struct fixture *fx = start(0, false);
	struct reply r;
	char *big = malloc(1024 * 1024 + 1);
	char id_path[64];
	struct instance *in;

	(void)state;
	memset(big, ' ', 1024 * 1024);
	big[1024 * 1024] = '\0';
	/* Announced by Content-Length. */
	http(fx, "POST", "/api/v1/demos", big, 0, NULL, &r);
	assert_int_equal(r.status, 413);
	assert_contains(&r.headers, "application/json");
	assert_contains(&r.body, "{\"error\":\"request body larger than 4096 bytes\"}");
	reply_free(&r);
	/* Chunked, so only counting tells. */
	in = fake_api_add(&fx->fake, "shop", INSTANCE_CLAIMED);
	snprintf(id_path, sizeof(id_path), "/api/v1/demos/%s/extend", in->id);
	http(fx, "POST", id_path, NULL, 1024 * 1024, NULL, &r);
	assert_int_equal(r.status, 413);
	assert_contains(&r.body, "larger than 4096 bytes");
	reply_free(&r);
	/* A page form gets an HTML answer. */
	http(fx, "POST", "/start", big, 0, NULL, &r);
	assert_int_equal(r.status, 413);
	assert_contains(&r.headers, "text/html");
	reply_free(&r);
	assert_int_equal(fx->fake.claims, 0);
	assert_int_equal(fx->fake.extends, 0);
	/* The server still answers after all that. */
	http(fx, "GET", "/metrics", NULL, 0, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_contains(&r.body, "demux_http_body_too_large_total 3");
	reply_free(&r);
	free(big);
	stop(fx);
}

/* Sends raw request headers and returns what arrives within 3 s (the
 * connection is left open: nothing more is sent). */
static void
raw_headers(struct fixture *fx, const char *head, char *out, size_t outlen)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct timeval tv = {.tv_sec = 3};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t got = 0;
	ssize_t n;

	assert_true(fd >= 0);
	a.sin_port = htons((uint16_t)server_port(fx->srv));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	while (got + 1 < outlen && (n = read(fd, out + got, outlen - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(fd);
}

/* A body announced far beyond what demux would read and discard is refused
 * at once, before a byte of it arrives. */
static void
test_huge_announced_body_is_413_at_once(void **state)
{
	struct fixture *fx = start(0, false);
	char out[4096];

	(void)state;
	raw_headers(fx,
		    "POST /api/v1/demos HTTP/1.1\r\nHost: demo.test\r\n"
		    "Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n",
		    out, sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 413"));
	assert_non_null(strstr(out, "larger than 4096 bytes"));
	assert_int_equal(fx->fake.claims, 0);
	stop(fx);
}

/* A chunked body announces nothing: past what demux reads and discards
 * (8 MiB) the connection is closed, without a claim. */
static void
test_endless_chunked_body_is_cut_off(void **state)
{
	struct fixture *fx = start(0, false);
	struct reply r;

	(void)state;
	http(fx, "POST", "/api/v1/demos", NULL, (size_t)9 << 20, NULL, &r);
	assert_int_not_equal(r.status, 201);
	assert_int_not_equal(r.status, 200);
	reply_free(&r);
	assert_int_equal(fx->fake.claims, 0);
	http(fx, "GET", "/metrics", NULL, 0, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_contains(&r.body, "demux_http_body_too_large_total 1");
	reply_free(&r);
	stop(fx);
}

struct trickle {
	int port, n;
	int fds[32];
	volatile bool stop;
};

/* Opens n connections that announce a body and send it a byte every 200 ms:
 * never idle, never done. */
static void *
trickle_run(void *arg)
{
	struct trickle *t = arg;
	static const char head[] = "POST /start HTTP/1.1\r\nHost: demo.test\r\n"
				   "Content-Type: application/x-www-form-urlencoded\r\n"
				   "Content-Length: 1000\r\n\r\n";

	for (int i = 0; i < t->n; i++) {
		struct sockaddr_in a = {.sin_family = AF_INET};

		t->fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		a.sin_port = htons((uint16_t)t->port);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (connect(t->fds[i], (struct sockaddr *)&a, sizeof(a)) == 0)
			(void)send(t->fds[i], head, sizeof(head) - 1, MSG_NOSIGNAL);
	}
	while (!t->stop) {
		for (int i = 0; i < t->n; i++)
			(void)send(t->fds[i], "a", 1, MSG_NOSIGNAL);
		usleep(200 * 1000);
	}
	for (int i = 0; i < t->n; i++)
		close(t->fds[i]);
	return NULL;
}

/* More slow bodies than max_connections: they are closed request_timeout
 * after their headers, and the server answers others again. */
static void
test_slow_bodies_do_not_lock_out_others(void **state)
{
	struct server_options opt = {.max_connections = 16, .request_timeout_s = 1};
	struct fixture *fx = start_with(&opt);
	struct trickle t = {.port = server_port(fx->srv), .n = 24};
	struct reply r;
	pthread_t th;

	(void)state;
	pthread_create(&th, NULL, trickle_run, &t);
	sleep(3); /* still trickling: without the body deadline all 16 places stay taken */
	http(fx, "GET", "/healthz", NULL, 0, NULL, &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	t.stop = true;
	pthread_join(th, NULL);
	assert_int_equal(fx->fake.claims, 0);
	stop(fx);
}

static void
test_claims_rate_limited_per_address(void **state)
{
	struct fixture *fx = start(2, false);
	struct reply r;

	(void)state;
	for (int i = 0; i < 6; i++)
		fake_api_add(&fx->fake, "shop", INSTANCE_READY);
	assert_int_equal(claim_api(fx, NULL), 201);
	assert_int_equal(claim_api(fx, NULL), 201);
	assert_int_equal(claim_api(fx, NULL), 429);
	/* X-Forwarded-For is not trusted here: a forged one changes nothing. */
	assert_int_equal(claim_api(fx, "203.0.113.50"), 429);
	assert_int_equal(fx->fake.claims, 2);
	/* The visitor page is limited too, with an HTML answer. */
	http(fx, "POST", "/start", "", 0, NULL, &r);
	assert_int_equal(r.status, 429);
	assert_contains(&r.headers, "text/html");
	assert_contains(&r.body, "Too many demos");
	reply_free(&r);
	/* Other requests are not limited. */
	http(fx, "GET", "/", NULL, 0, NULL, &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	http(fx, "GET", "/metrics", NULL, 0, NULL, &r);
	assert_contains(&r.body, "demux_claims_rate_limited_total 3");
	assert_contains(&r.body, "demux_claims_total{template=\"shop\"} 2");
	assert_contains(&r.headers, "Content-Type: text/plain; version=0.0.4");
	reply_free(&r);
	stop(fx);
}

static void
test_forwarded_for_when_trusted(void **state)
{
	struct fixture *fx = start(1, true);

	(void)state;
	for (int i = 0; i < 6; i++)
		fake_api_add(&fx->fake, "shop", INSTANCE_READY);
	assert_int_equal(claim_api(fx, "203.0.113.1"), 201);
	assert_string_equal(fx->fake.last_claim_ip, "203.0.113.1");
	assert_int_equal(claim_api(fx, "203.0.113.1"), 429);
	/* The proxy appends the real peer: the last entry counts. */
	assert_int_equal(claim_api(fx, "203.0.113.1, 203.0.113.2"), 201);
	assert_string_equal(fx->fake.last_claim_ip, "203.0.113.2");
	/* Garbage falls back to the peer address. */
	assert_int_equal(claim_api(fx, "not-an-address"), 201);
	assert_string_equal(fx->fake.last_claim_ip, "127.0.0.1");
	stop(fx);
}

/* A client's own X-Forwarded-For line comes first and the proxy's (HAProxy's
 * option forwardfor adds one) last: the first line must not win. */
static void
test_forwarded_for_last_line_wins(void **state)
{
	struct fixture *fx = start(0, true);
	struct reply r;
	const char *two[] = {"X-Forwarded-For: 203.0.113.66", "X-Forwarded-For: 198.51.100.9",
			     NULL};
	const char *three[] = {"X-Forwarded-For: 198.51.100.9",
			       "x-forwarded-for: 203.0.113.1, 203.0.113.2",
			       "X-Forwarded-For: 203.0.113.77", NULL};
	const char *bad_last[] = {"X-Forwarded-For: 203.0.113.66", "X-Forwarded-For: junk", NULL};

	(void)state;
	for (int i = 0; i < 6; i++)
		fake_api_add(&fx->fake, "shop", INSTANCE_READY);
	fx->fake.pools[0].tmpl.max_instances = 10;
	http(fx, "POST", "/api/v1/demos", "{}", 0, two, &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(fx->fake.last_claim_ip, "198.51.100.9");
	reply_free(&r);
	http(fx, "POST", "/api/v1/demos", "{}", 0, three, &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(fx->fake.last_claim_ip, "203.0.113.77");
	reply_free(&r);
	/* A bad right-most entry means the peer, not the forged line before it. */
	http(fx, "POST", "/api/v1/demos", "{}", 0, bad_last, &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(fx->fake.last_claim_ip, "127.0.0.1");
	reply_free(&r);
	stop(fx);
}

static void
test_waiting_claims_do_not_use_up_the_limit(void **state)
{
	struct fixture *fx = start(1, false);

	(void)state;
	for (int i = 0; i < 5; i++)
		assert_int_equal(claim_api(fx, NULL), 202);
	fake_api_add(&fx->fake, "shop", INSTANCE_READY);
	fake_api_add(&fx->fake, "shop", INSTANCE_READY);
	assert_int_equal(claim_api(fx, NULL), 201);
	assert_int_equal(claim_api(fx, NULL), 429);
	stop(fx);
}

static void
test_owner_cookie_round_trip(void **state)
{
	struct fixture *fx = start(0, false);
	struct reply r;
	char cookie[256], path[64], hdr[300];
	const char *sc, *hdrs[2] = {hdr, NULL};
	struct instance *in;

	(void)state;
	in = fake_api_add(&fx->fake, "shop", INSTANCE_READY);
	http(fx, "POST", "/start", "", 0, NULL, &r);
	assert_int_equal(r.status, 303);
	snprintf(path, sizeof(path), "Location: /demo/%s", in->id);
	assert_contains(&r.headers, path);
	sc = strcasestr(buf_str(&r.headers), "Set-Cookie: ");
	assert_non_null(sc);
	sc += 12;
	snprintf(cookie, sizeof(cookie), "%.*s", (int)strcspn(sc, ";"), sc);
	assert_contains(&r.headers, "HttpOnly; SameSite=Strict");
	reply_free(&r);

	snprintf(hdr, sizeof(hdr), "Cookie: other=1; %s", cookie);
	snprintf(path, sizeof(path), "/demo/%s", in->id);
	http(fx, "GET", path, NULL, 0, hdrs, &r);
	assert_int_equal(r.status, 200);
	assert_contains(&r.body, "Your demo is ready");
	reply_free(&r);
	http(fx, "GET", path, NULL, 0, NULL, &r);
	assert_int_equal(r.status, 404);
	reply_free(&r);
	stop(fx);
}

struct slow_call {
	struct fixture *fx;
	char path[64];
	long status;
};

static void *
slow_delete(void *arg)
{
	struct slow_call *sc = arg;
	struct reply r;
	const char *hdrs[2] = {"Authorization: Bearer " FAKE_ADMIN_TOKEN, NULL};

	http(sc->fx, "DELETE", sc->path, NULL, 0, hdrs, &r);
	sc->status = r.status;
	reply_free(&r);
	return NULL;
}

static void
test_stop_lets_requests_in_flight_finish(void **state)
{
	struct fixture *fx = start(0, false);
	struct slow_call sc = {fx, "", 0};
	struct instance *in;
	pthread_t th;
	int port;
	char err[256];

	(void)state;
	in = fake_api_add(&fx->fake, "shop", INSTANCE_CLAIMED);
	snprintf(sc.path, sizeof(sc.path), "/api/v1/demos/%s", in->id);
	fx->fake.release_delay_ms = 600;
	port = server_port(fx->srv);
	pthread_create(&th, NULL, slow_delete, &sc);
	mstime_sleep(200);
	server_stop(fx->srv);
	pthread_join(th, NULL);
	assert_int_equal(sc.status, 200);
	assert_int_equal(fx->fake.releases, 1);
	/* The port is free again. */
	{
		char listen[32];
		struct server_options opt = {
		    .listen = listen, .max_body_bytes = 4096, .hist_bounds = bounds, .nbounds = 2};

		snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
		fx->srv = server_start(&fx->api, &opt, err, sizeof(err));
		assert_non_null(fx->srv);
		/* ...and a second listener on it is refused with a reason. */
		assert_null(server_start(&fx->api, &opt, err, sizeof(err)));
		assert_non_null(strstr(err, listen));
	}
	stop(fx);
}

static void
test_ratelimit_sliding_minute(void **state)
{
	struct server_ratelimit *rl = server_ratelimit_new(3);
	long long t0 = 1800000000LL * 1000; /* a minute boundary */

	(void)state;
	assert_true(server_ratelimit_take(rl, "192.0.2.1", t0));
	assert_true(server_ratelimit_take(rl, "192.0.2.1", t0 + 1000));
	assert_true(server_ratelimit_take(rl, "192.0.2.1", t0 + 2000));
	assert_false(server_ratelimit_take(rl, "192.0.2.1", t0 + 3000));
	assert_true(server_ratelimit_take(rl, "192.0.2.2", t0 + 3000));
	/* A refund gives one back. */
	server_ratelimit_refund(rl, "192.0.2.1", t0 + 4000);
	assert_true(server_ratelimit_take(rl, "192.0.2.1", t0 + 5000));
	assert_false(server_ratelimit_take(rl, "192.0.2.1", t0 + 59000));
	/* Half-way through the next minute the last minute weighs 1.5 of 3. */
	assert_true(server_ratelimit_take(rl, "192.0.2.1", t0 + 90000));
	assert_false(server_ratelimit_take(rl, "192.0.2.1", t0 + 90000));
	/* Two minutes later it is all forgotten. */
	for (int i = 0; i < 3; i++)
		assert_true(server_ratelimit_take(rl, "192.0.2.1", t0 + 180000));
	assert_false(server_ratelimit_take(rl, "192.0.2.1", t0 + 180000));
	server_ratelimit_free(rl);
}

static void
test_ratelimit_table_is_bounded(void **state)
{
	struct server_ratelimit *rl = server_ratelimit_new(1);
	long long t0 = 1800000000LL * 1000;
	char ip[64];

	(void)state;
	assert_true(server_ratelimit_take(rl, "192.0.2.1", t0));
	/* Many other addresses later (each takes one slot), the table has not grown. */
	for (int i = 0; i < 20000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		assert_true(server_ratelimit_take(rl, ip, t0 + 1 + i));
	}
	server_ratelimit_free(rl);
	/* No limit: always allowed. */
	rl = server_ratelimit_new(0);
	for (int i = 0; i < 100; i++)
		assert_true(server_ratelimit_take(rl, "192.0.2.1", t0));
	server_ratelimit_free(rl);
}

static void
test_client_ip(void **state)
{
	char out[64];

	(void)state;
	server_client_ip("127.0.0.1", "203.0.113.9", false, out, sizeof(out));
	assert_string_equal(out, "127.0.0.1");
	server_client_ip("127.0.0.1", "203.0.113.9", true, out, sizeof(out));
	assert_string_equal(out, "203.0.113.9");
	server_client_ip("127.0.0.1", "1.1.1.1,  2001:db8::7 ", true, out, sizeof(out));
	assert_string_equal(out, "2001:db8::7");
	server_client_ip("127.0.0.1", "1.1.1.1, evil", true, out, sizeof(out));
	assert_string_equal(out, "127.0.0.1");
	server_client_ip("127.0.0.1", "", true, out, sizeof(out));
	assert_string_equal(out, "127.0.0.1");
	server_client_ip("127.0.0.1", NULL, true, out, sizeof(out));
	assert_string_equal(out, "127.0.0.1");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_healthz_and_common_headers),
	    cmocka_unit_test(test_body_over_limit_is_413),
	    cmocka_unit_test(test_huge_announced_body_is_413_at_once),
	    cmocka_unit_test(test_endless_chunked_body_is_cut_off),
	    cmocka_unit_test(test_slow_bodies_do_not_lock_out_others),
	    cmocka_unit_test(test_claims_rate_limited_per_address),
	    cmocka_unit_test(test_forwarded_for_when_trusted),
	    cmocka_unit_test(test_forwarded_for_last_line_wins),
	    cmocka_unit_test(test_waiting_claims_do_not_use_up_the_limit),
	    cmocka_unit_test(test_owner_cookie_round_trip),
	    cmocka_unit_test(test_stop_lets_requests_in_flight_finish),
	    cmocka_unit_test(test_ratelimit_sliding_minute),
	    cmocka_unit_test(test_ratelimit_table_is_bounded),
	    cmocka_unit_test(test_client_ip),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
