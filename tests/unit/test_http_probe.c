/* Unit tests for http_probe: against a one-shot HTTP server on loopback, the
 * status comes back whatever it is, the Host header is the one given, a large
 * body is read and dropped, and a closed port is an error with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_probe.h"

struct one_shot {
	int fd;
	int port;
	const char *reply_head;
	size_t body_len;
	char request[4096];
};

static void
listen_loopback(struct one_shot *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 1), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
}

static void *
serve_one(void *arg)
{
	struct one_shot *s = arg;
	char head[256], chunk[4096];
	size_t got = 0, sent = 0;
	int c = accept(s->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	while (got < sizeof(s->request) - 1 && strstr(s->request, "\r\n\r\n") == NULL) {
		ssize_t r = read(c, s->request + got, sizeof(s->request) - 1 - got);

		if (r <= 0)
			break;
		got += (size_t)r;
		s->request[got] = '\0';
	}
	snprintf(head, sizeof(head), "%s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		 s->reply_head, s->body_len);
	if (write(c, head, strlen(head)) < 0)
		goto out;
	memset(chunk, 'b', sizeof(chunk));
	while (sent < s->body_len) {
		size_t n = s->body_len - sent < sizeof(chunk) ? s->body_len - sent : sizeof(chunk);
		ssize_t w = write(c, chunk, n);

		if (w <= 0)
			break;
		sent += (size_t)w;
	}
out:
	close(c);
	return NULL;
}

static void
probe(struct one_shot *s, const char *path, const char *host, long *status, int *rc)
{
	pthread_t t;
	char err[256] = "";

	listen_loopback(s);
	assert_int_equal(pthread_create(&t, NULL, serve_one, s), 0);
	*rc = http_probe_get(s->port, path, host, 2000L, 5000L, status, err, sizeof(err));
	pthread_join(t, NULL);
	close(s->fd);
}

static void
test_status_and_host(void **state)
{
	struct one_shot s = {.reply_head = "HTTP/1.1 204 No Content"};
	long status = -1;
	int rc;

	(void)state;
	probe(&s, "/health?x=1", "abc.demo.example:8443", &status, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(status, 204);
	assert_non_null(strstr(s.request, "GET /health?x=1 HTTP/1.1\r\n"));
	assert_non_null(strstr(s.request, "\r\nHost: abc.demo.example:8443\r\n"));
	assert_null(strstr(s.request, "X-Forwarded-Proto"));
}

/* The scheme goes as X-Forwarded-Proto, as the proxy sends it; plain
 * http_probe_get sends none. */
static void
test_scheme_as_forwarded_proto(void **state)
{
	struct one_shot s = {.reply_head = "HTTP/1.1 200 OK"};
	char err[256] = "";
	long status = -1;
	pthread_t t;

	(void)state;
	listen_loopback(&s);
	assert_int_equal(pthread_create(&t, NULL, serve_one, &s), 0);
	assert_int_equal(http_probe_get_as(s.port, "/", "a.demo.example", "https", 2000L, 5000L,
					   &status, err, sizeof(err)),
			 0);
	pthread_join(t, NULL);
	close(s.fd);
	assert_int_equal(status, 200);
	assert_non_null(strstr(s.request, "\r\nX-Forwarded-Proto: https\r\n"));
	assert_int_equal(http_probe_get_as(1, "/", "a.demo.example", "https\r\nX: 1", 1000L, 1000L,
					   &status, err, sizeof(err)),
			 -1);
}

static void
test_error_status_is_still_an_answer(void **state)
{
	struct one_shot s = {.reply_head = "HTTP/1.1 302 Found\r\nLocation: http://other/"};
	long status = -1;
	int rc;

	(void)state;
	probe(&s, "/", "shop.example", &status, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(status, 302);
}

static void
test_large_body_is_dropped(void **state)
{
	struct one_shot s = {.reply_head = "HTTP/1.1 200 OK", .body_len = (size_t)2 * 1024 * 1024};
	long status = -1;
	int rc;

	(void)state;
	probe(&s, "/", "shop.example", &status, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(status, 200);
}

static void
test_closed_port_is_an_error(void **state)
{
	struct one_shot s;
	char err[256] = "";
	long status = -1;

	(void)state;
	listen_loopback(&s);
	close(s.fd); /* nobody listens there any more */
	assert_int_equal(
	    http_probe_get(s.port, "/", "shop.example", 1000L, 1000L, &status, err, sizeof(err)),
	    -1);
	assert_int_equal(status, 0);
	assert_true(err[0] != '\0');
}

static void
test_too_long_host_is_an_error(void **state)
{
	static char host[1024];
	char err[256] = "";
	long status = -1;

	(void)state;
	memset(host, 'h', sizeof(host) - 1);
	assert_int_equal(http_probe_get(1, "/", host, 1000L, 1000L, &status, err, sizeof(err)), -1);
	assert_int_equal(status, 0);
	assert_non_null(strstr(err, "Host too long"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_and_host),
	    cmocka_unit_test(test_scheme_as_forwarded_proto),
	    cmocka_unit_test(test_error_status_is_still_an_answer),
	    cmocka_unit_test(test_large_body_is_dropped),
	    cmocka_unit_test(test_closed_port_is_an_error),
	    cmocka_unit_test(test_too_long_host_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
