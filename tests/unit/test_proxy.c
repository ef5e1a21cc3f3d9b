/* Unit tests for the route managers' pure logic: Caddy JSON, HAProxy config
 * and map text, parsing of what the proxies answer, and the HAProxy map file
 * kept in step when a change fails. The host and upstream checks are in
 * test_route_check.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "proxy/caddy.h"
#include "proxy/haproxy.h"
#include "proxy/proxy.h"

#define BD "demo.localhost"

/* ---- caddy ---------------------------------------------------------------- */

static void
test_caddy_route_json(void **state)
{
	char id[64];
	char *s;
	json_t *r;

	(void)state;
	assert_int_equal(caddy_route_id("k3f9x2.demo.localhost", id, sizeof(id)), 0);
	assert_string_equal(id, "demux-k3f9x2");
	s = caddy_route_json("k3f9x2.demo.localhost", "127.0.0.1:20001");
	r = json_loads(s, 0, NULL);
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "@id")), "demux-k3f9x2");
	assert_string_equal(
	    json_string_value(json_array_get(
		json_object_get(json_array_get(json_object_get(r, "match"), 0), "host"), 0)),
	    "k3f9x2.demo.localhost");
	json_t *h = json_array_get(json_object_get(r, "handle"), 0);
	assert_string_equal(json_string_value(json_object_get(h, "handler")), "reverse_proxy");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(h, "upstreams"), 0), "dial")),
			    "127.0.0.1:20001");
	assert_true(json_is_true(json_object_get(r, "terminal")));
	json_decref(r);
	free(s);
}

static void
test_caddy_server_json(void **state)
{
	char *s = caddy_server_json("127.0.0.1:8088", BD, "127.0.0.1:8080", false);
	json_t *srv = json_loads(s, 0, NULL), *routes, *front, *fb;

	(void)state;
	assert_non_null(srv);
	assert_string_equal(json_string_value(json_array_get(json_object_get(srv, "listen"), 0)),
			    "127.0.0.1:8088");
	assert_true(
	    json_is_true(json_object_get(json_object_get(srv, "automatic_https"), "disable")));
	routes = json_object_get(srv, "routes");
	assert_int_equal(json_array_size(routes), 2);
	front = json_array_get(routes, 0);
	fb = json_array_get(routes, 1);
	assert_string_equal(json_string_value(json_object_get(front, "@id")), CADDY_FRONT_ID);
	assert_string_equal(json_string_value(json_object_get(fb, "@id")), CADDY_FALLBACK_ID);
	/* The 404 matches every host, so it must be last and match nothing specific. */
	assert_null(json_object_get(fb, "match"));
	assert_int_equal(json_integer_value(json_object_get(
			     json_array_get(json_object_get(fb, "handle"), 0), "status_code")),
			 404);
	/* The front door's id can never be an instance's: it does not start "demux-". */
	assert_int_not_equal(
	    strncmp(CADDY_FRONT_ID, CADDY_ROUTE_ID_PREFIX, strlen(CADDY_ROUTE_ID_PREFIX)), 0);
	json_decref(srv);
	free(s);
}

/* TLS: one wildcard (and the base domain) in Caddy's tls app, never a
 * certificate per demo; the listener gets a connection policy. */
static void
test_caddy_tls(void **state)
{
	struct config cfg;
	struct caddy_tls t;
	char *s, *srv;
	json_t *j, *pol;

	(void)state;
	config_defaults(&cfg);
	snprintf(cfg.public_scheme, sizeof(cfg.public_scheme), "https");
	cfg.proxy_tls = PROXY_TLS_OFF;
	caddy_tls_from_config(&cfg, &t);
	assert_null(caddy_tls_json(&t, BD));

	cfg.proxy_tls = PROXY_TLS_INTERNAL;
	caddy_tls_from_config(&cfg, &t);
	s = caddy_tls_json(&t, BD);
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	assert_string_equal(
	    json_string_value(
		json_array_get(json_object_get(json_object_get(j, "certificates"), "automate"), 0)),
	    "*." BD);
	pol = json_array_get(json_object_get(json_object_get(j, "automation"), "policies"), 0);
	assert_int_equal(json_array_size(json_object_get(pol, "subjects")), 2);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(pol, "issuers"), 0), "module")),
			    "internal");
	json_decref(j);
	free(s);

	cfg.proxy_tls = PROXY_TLS_ACME;
	snprintf(cfg.acme_email, sizeof(cfg.acme_email), "ops@example.com");
	snprintf(cfg.acme_dns, sizeof(cfg.acme_dns),
		 "{\"name\":\"cloudflare\",\"api_token\":\"t\"}");
	caddy_tls_from_config(&cfg, &t);
	s = caddy_tls_json(&t, BD);
	j = json_loads(s, 0, NULL);
	pol = json_array_get(
	    json_object_get(
		json_array_get(json_object_get(json_object_get(j, "automation"), "policies"), 0),
		"issuers"),
	    0);
	assert_string_equal(json_string_value(json_object_get(pol, "module")), "acme");
	assert_string_equal(json_string_value(json_object_get(pol, "email")), "ops@example.com");
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(json_object_get(json_object_get(pol, "challenges"), "dns"),
				"provider"),
		"name")),
	    "cloudflare");
	json_decref(j);
	free(s);

	cfg.proxy_tls = PROXY_TLS_FILES;
	snprintf(cfg.tls_cert_file, sizeof(cfg.tls_cert_file), "/etc/t/w.crt");
	snprintf(cfg.tls_key_file, sizeof(cfg.tls_key_file), "/etc/t/w.key");
	caddy_tls_from_config(&cfg, &t);
	s = caddy_tls_json(&t, BD);
	assert_non_null(strstr(
	    s, "\"load_files\":[{\"certificate\":\"/etc/t/w.crt\",\"key\":\"/etc/t/w.key\"}]"));
	assert_null(strstr(s, "automate"));
	free(s);

	srv = caddy_server_json("127.0.0.1:8443", BD, "127.0.0.1:8080", true);
	j = json_loads(srv, 0, NULL);
	assert_int_equal(json_array_size(json_object_get(j, "tls_connection_policies")), 1);
	assert_true(
	    json_is_true(json_object_get(json_object_get(j, "automatic_https"), "disable")));
	json_decref(j);
	free(srv);
}

static void
test_caddy_config_text(void **state)
{
	struct config cfg;
	struct buf out;
	char err[256];
	json_t *root, *srv;

	(void)state;
	config_defaults(&cfg);
	snprintf(cfg.caddy_admin, sizeof(cfg.caddy_admin), "http://127.0.0.1:2999/");
	snprintf(cfg.caddy_server, sizeof(cfg.caddy_server), "edge");
	snprintf(cfg.listen, sizeof(cfg.listen), "0.0.0.0:8081");
	buf_init(&out, 1 << 20);
	assert_int_equal(caddy_config_text(&cfg, &out, err, sizeof(err)), 0);
	root = json_loads(buf_str(&out), 0, NULL);
	assert_non_null(root);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(root, "admin"), "listen")),
	    "127.0.0.1:2999");
	srv = json_object_get(
	    json_object_get(json_object_get(json_object_get(root, "apps"), "http"), "servers"),
	    "edge");
	assert_non_null(srv);
	assert_non_null(strstr(buf_str(&out), "\"dial\": \"127.0.0.1:8081\""));
	assert_non_null(strstr(buf_str(&out), "\"read_header_timeout\": \"10s\""));
	assert_non_null(strstr(buf_str(&out), "\"read_timeout\": \"1m\""));
	json_decref(root);
	buf_reset(&out);
	snprintf(cfg.caddy_admin, sizeof(cfg.caddy_admin), "https://127.0.0.1:2019");
	assert_int_equal(caddy_config_text(&cfg, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "caddy_admin"));
	snprintf(cfg.caddy_admin, sizeof(cfg.caddy_admin), "http://");
	assert_int_equal(caddy_config_text(&cfg, &out, err, sizeof(err)), -1);
	snprintf(cfg.caddy_admin, sizeof(cfg.caddy_admin), "http://127.0.0.1:2019/config");
	assert_int_equal(caddy_config_text(&cfg, &out, err, sizeof(err)), -1);
	buf_free(&out);
}

/* Several nodes: the front door balances over every node's listener, in
 * the printed configuration as in what ensure_front sets. */
static void
test_caddy_front_of_several_nodes(void **state)
{
	struct config cfg;
	struct buf out;
	char err[256], front[CADDY_FRONT_MAX];
	json_t *root, *route, *handle;

	(void)state;
	assert_int_equal(caddy_front_upstreams("127.0.0.1:8081, 10.0.0.2:8082  0.0.0.0:9", front,
					       sizeof(front), err, sizeof(err)),
			 0);
	assert_string_equal(front, "127.0.0.1:8081 10.0.0.2:8082 127.0.0.1:9");
	assert_int_equal(
	    caddy_front_upstreams("127.0.0.1:8081 nohost", front, sizeof(front), err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "nohost"));
	assert_int_equal(caddy_front_upstreams(" , ", front, sizeof(front), err, sizeof(err)), -1);
	assert_int_equal(
	    caddy_front_upstreams("127.0.0.1:1 127.0.0.1:2", front, 12, err, sizeof(err)), -1);

	config_defaults(&cfg);
	snprintf(cfg.front_upstreams, sizeof(cfg.front_upstreams), "127.0.0.1:8081 127.0.0.1:8082");
	buf_init(&out, 1 << 20);
	assert_int_equal(caddy_config_text(&cfg, &out, err, sizeof(err)), 0);
	root = json_loads(buf_str(&out), 0, NULL);
	assert_non_null(root);
	route = json_array_get(
	    json_object_get(
		json_object_get(
		    json_object_get(json_object_get(json_object_get(root, "apps"), "http"),
				    "servers"),
		    "demux"),
		"routes"),
	    0);
	assert_string_equal(json_string_value(json_object_get(route, "@id")), CADDY_FRONT_ID);
	handle = json_array_get(json_object_get(route, "handle"), 0);
	assert_int_equal(json_array_size(json_object_get(handle, "upstreams")), 2);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(handle, "upstreams"), 1), "dial")),
			    "127.0.0.1:8082");
	assert_non_null(strstr(buf_str(&out), "round_robin"));
	json_decref(root);
	/* One node: the front door stays the plain route it always was. */
	cfg.front_upstreams[0] = '\0';
	buf_reset(&out);
	assert_int_equal(caddy_config_text(&cfg, &out, err, sizeof(err)), 0);
	assert_null(strstr(buf_str(&out), "round_robin"));
	buf_free(&out);
}

static void
test_caddy_parse_routes(void **state)
{
	const char *json =
	    "[{\"@id\":\"demux-aaa\",\"match\":[{\"host\":[\"aaa.demo.localhost\"]}],"
	    "\"handle\":[{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"127.0.0.1:"
	    "20001\"}]}],\"terminal\":true},"
	    "{\"match\":[{\"host\":[\"foreign.example\"]}],\"handle\":[]},"
	    "{\"@id\":\"someone-else\",\"match\":[{\"host\":[\"x.example\"]}]},"
	    "{\"@id\":\"demux-broken\",\"handle\":[{\"handler\":\"static_response\"}]},"
	    "{\"@id\":\"demux-bbb\",\"match\":[{\"host\":[\"bbb.demo.localhost\"]}],"
	    "\"handle\":[{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"127.0.0.1:"
	    "20003\"}]}]},"
	    "{\"@id\":\"demux.front\",\"match\":[{\"host\":[\"demo.localhost\"]}],"
	    "\"handle\":[{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"127.0.0.1:"
	    "8080\"}]}]},"
	    "{\"@id\":\"demux.fallback\",\"handle\":[{\"handler\":\"static_response\"}]}]";
	struct route *r = NULL;
	char err[256];
	int n = -1;

	(void)state;
	assert_int_equal(caddy_parse_routes(json, &r, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(r[0].host, "aaa.demo.localhost");
	assert_string_equal(r[0].upstream, "127.0.0.1:20001");
	assert_string_equal(r[1].host, "bbb.demo.localhost");
	assert_string_equal(r[1].upstream, "127.0.0.1:20003");
	free(r);
	assert_int_equal(caddy_parse_routes("null", &r, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	free(r);
	assert_int_equal(caddy_parse_routes("{\"a\":1}", &r, &n, err, sizeof(err)), -1);
	assert_int_equal(caddy_parse_routes("[{", &r, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not JSON"));
}

/* ---- haproxy -------------------------------------------------------------- */

static void
test_haproxy_config_text(void **state)
{
	struct config cfg;
	struct buf out;
	char err[256];

	(void)state;
	config_defaults(&cfg);
	snprintf(cfg.haproxy_socket, sizeof(cfg.haproxy_socket), "/run/x/h.sock");
	snprintf(cfg.haproxy_map, sizeof(cfg.haproxy_map), "/var/lib/x/hosts.map");
	snprintf(cfg.proxy_listen, sizeof(cfg.proxy_listen), "127.0.0.1:9088");
	snprintf(cfg.listen, sizeof(cfg.listen), "0.0.0.0:8085");
	buf_init(&out, 1 << 20);
	assert_int_equal(haproxy_config_text(&cfg, &out, err, sizeof(err)), 0);
	const char *t = buf_str(&out);
	assert_non_null(strstr(t, "stats socket /run/x/h.sock mode 600 level admin\n"));
	assert_non_null(strstr(t, "\tbind 127.0.0.1:9088\n"));
	assert_non_null(strstr(t, "var(txn.host),map(/var/lib/x/hosts.map)"));
	assert_non_null(strstr(t, "acl front_door var(txn.host) -m str demo.localhost\n"));
	assert_non_null(strstr(t, "http-request set-dst var(txn.dst),field(1,:)"));
	assert_non_null(strstr(t, "http-request set-dst-port var(txn.dst),field(2,:)"));
	assert_non_null(strstr(t, "server instance 0.0.0.0:0\n"));
	assert_non_null(strstr(t, "\tserver demo.localhost 127.0.0.1:8085\n"));
	/* One X-Forwarded-For, written by HAProxy: demux believes its last entry. */
	assert_non_null(strstr(t, "\thttp-request set-header X-Forwarded-For %[src]\n"));
	assert_null(strstr(t, "\toption forwardfor"));
	/* Slow requests wait at the proxy; one address cannot hold every connection. */
	assert_non_null(strstr(t, "\ttimeout http-request 10s\n"));
	assert_non_null(strstr(t, "\toption http-buffer-request\n\t# named after"));
	assert_non_null(strstr(t, "\ttcp-request connection reject if { sc0_conn_cur gt 100 }\n"));
	/* The scheme for the apps, whatever a client sent. */
	assert_non_null(
	    strstr(t, "\thttp-request set-header X-Forwarded-Proto http if !{ ssl_fc }\n"));
	/* https: one certificate on the same listener, same routing. */
	buf_reset(&out);
	cfg.proxy_backend = PROXY_HAPROXY;
	snprintf(cfg.public_scheme, sizeof(cfg.public_scheme), "https");
	cfg.proxy_tls = PROXY_TLS_FILES;
	snprintf(cfg.tls_cert_file, sizeof(cfg.tls_cert_file), "/etc/x/wild.pem");
	assert_int_equal(haproxy_config_text(&cfg, &out, err, sizeof(err)), 0);
	t = buf_str(&out);
	assert_non_null(strstr(t, "\tbind 127.0.0.1:9088 ssl crt /etc/x/wild.pem alpn http/1.1\n"));
	assert_non_null(
	    strstr(t, "\thttp-request set-header X-Forwarded-Proto https if { ssl_fc }\n"));
	assert_non_null(strstr(t, "var(txn.host),map(/var/lib/x/hosts.map)"));
	cfg.proxy_tls = PROXY_TLS_INTERNAL;
	buf_reset(&out);
	assert_int_equal(haproxy_config_text(&cfg, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "haproxy takes tls = files"));
	cfg.proxy_tls = PROXY_TLS_OFF;
	snprintf(cfg.public_scheme, sizeof(cfg.public_scheme), "http");
	cfg.proxy_backend = PROXY_CADDY;
	/* Anything that would break the config or a runtime command is refused. */
	buf_reset(&out);
	snprintf(cfg.haproxy_map, sizeof(cfg.haproxy_map), "/var/lib/x/my hosts.map");
	assert_int_equal(haproxy_config_text(&cfg, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "haproxy_map"));
	snprintf(cfg.haproxy_map, sizeof(cfg.haproxy_map), "hosts.map");
	assert_int_equal(haproxy_config_text(&cfg, &out, err, sizeof(err)), -1);
	snprintf(cfg.haproxy_map, sizeof(cfg.haproxy_map), "/var/lib/x/hosts.map");
	snprintf(cfg.proxy_listen, sizeof(cfg.proxy_listen), "127.0.0.1:80\n\tbind :1");
	assert_int_equal(haproxy_config_text(&cfg, &out, err, sizeof(err)), -1);
	buf_free(&out);
}

static void
test_haproxy_parse_show_map(void **state)
{
	const char *reply = "0x55d5c7f6e0a0 aaa.demo.localhost 127.0.0.1:20001\n"
			    "0x55d5c7f6e0b0 demo.localhost 127.0.0.1:8080\n"
			    "0x55d5c7f6e0c0 other.example 127.0.0.1:1\n"
			    "0x55d5c7f6e0d0 ccc.demo.localhost not-an-address\n"
			    "0x55d5c7f6e0e0 bbb.demo.localhost 127.0.0.1:20003\n"
			    "0x55d5c7f6e0f0 aaa.demo.localhost 127.0.0.1:29999\n";
	struct route *r = NULL;
	char err[256];
	int n = -1;

	(void)state;
	assert_int_equal(haproxy_parse_map(reply, true, BD, &r, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(r[0].host, "aaa.demo.localhost");
	assert_string_equal(r[0].upstream, "127.0.0.1:20001"); /* first of a repeated key */
	assert_string_equal(r[1].host, "bbb.demo.localhost");
	free(r);
	assert_int_equal(haproxy_parse_map("", true, BD, &r, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	free(r);
	assert_int_equal(haproxy_parse_map("Unknown map identifier. Please use #<id> or <file>.\n",
					   true, BD, &r, &n, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "Unknown map identifier. Please use #<id> or <file>.");
	assert_null(r);
}

static void
test_haproxy_map_text_round_trip(void **state)
{
	struct route in[3] = {{"aaa.demo.localhost", "127.0.0.1:20001"},
			      {"bbb.demo.localhost", "10.0.0.2:20003"},
			      {"ccc.demo.localhost", "127.0.0.1:20005"}};
	struct route *r = NULL;
	struct buf text;
	char err[256];
	int n = -1;

	(void)state;
	buf_init(&text, 1 << 20);
	assert_int_equal(haproxy_map_text(in, 3, &text), 0);
	assert_int_equal(text.data[0], '#');
	assert_non_null(strstr(buf_str(&text), "\nbbb.demo.localhost 10.0.0.2:20003\n"));
	assert_int_equal(haproxy_parse_map(buf_str(&text), false, BD, &r, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(r, in, sizeof(in));
	free(r);
	/* A hand-edited file: comments, blank lines, CRLF, stray fields. */
	assert_int_equal(haproxy_parse_map("# c\n\naaa.demo.localhost 127.0.0.1:1\r\n"
					   "bad line with fields\n  \n",
					   false, BD, &r, &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].upstream, "127.0.0.1:1");
	free(r);
	buf_free(&text);
}

static void
test_haproxy_check_path(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(
	    haproxy_check_path("m", "/var/lib/demux/haproxy/hosts.map", err, sizeof(err)), 0);
	assert_int_equal(haproxy_check_path("m", "relative.map", err, sizeof(err)), -1);
	assert_int_equal(haproxy_check_path("m", "/a b", err, sizeof(err)), -1);
	assert_int_equal(haproxy_check_path("m", "/a;b", err, sizeof(err)), -1);
	assert_int_equal(haproxy_check_path("m", "/a/../b", err, sizeof(err)), -1);
	assert_int_equal(haproxy_check_path("m", "/a/", err, sizeof(err)), -1);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = calloc(1, 65536);

	assert_non_null(f);
	assert_non_null(s);
	s[fread(s, 1, 65535, f)] = '\0';
	fclose(f);
	return s;
}

/* With HAProxy down, a change fails with the socket's name and leaves the map
 * file as it was; the file is created at open because HAProxy needs it. */
static void
test_haproxy_down_changes_nothing(void **state)
{
	char dir[] = "/tmp/demux-proxy-XXXXXX", err[512], mapfile[CONFIG_STR], *before, *after;
	struct config cfg;
	struct proxy p;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	config_defaults(&cfg);
	snprintf(cfg.haproxy_socket, sizeof(cfg.haproxy_socket), "%s/no.sock", dir);
	snprintf(cfg.haproxy_map, sizeof(cfg.haproxy_map), "%s/sub/hosts.map", dir);
	snprintf(mapfile, sizeof(mapfile), "%s", cfg.haproxy_map);
	assert_int_equal(haproxy_open(&p, &cfg, NULL, err, sizeof(err)), 0);
	assert_int_equal(access(mapfile, R_OK), 0);
	proxy_close(&p);

	f = fopen(mapfile, "w");
	assert_non_null(f);
	fputs("aaa.demo.localhost 127.0.0.1:20001\n", f);
	fclose(f);
	assert_int_equal(haproxy_open(&p, &cfg, NULL, err, sizeof(err)), 0);
	before = slurp(mapfile);
	assert_int_equal(
	    p.ops->add(p.ctx, "bbb.demo.localhost", "127.0.0.1:20003", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "haproxy runtime socket"));
	assert_non_null(strstr(err, cfg.haproxy_socket));
	after = slurp(mapfile);
	assert_non_null(strstr(after, "aaa.demo.localhost 127.0.0.1:20001\n"));
	assert_null(strstr(after, "bbb"));
	free(after);
	assert_int_equal(
	    p.ops->add(p.ctx, "aaa.demo.localhost", "127.0.0.1:29999", err, sizeof(err)), -1);
	assert_int_equal(p.ops->remove(p.ctx, "aaa.demo.localhost", err, sizeof(err)), -1);
	after = slurp(mapfile);
	assert_non_null(strstr(after, "aaa.demo.localhost 127.0.0.1:20001\n"));
	free(after);
	free(before);
	proxy_close(&p);
	unlink(mapfile);
	snprintf(mapfile, sizeof(mapfile), "%s/sub", dir);
	rmdir(mapfile);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_caddy_route_json),
	    cmocka_unit_test(test_caddy_server_json),
	    cmocka_unit_test(test_caddy_tls),
	    cmocka_unit_test(test_caddy_config_text),
	    cmocka_unit_test(test_caddy_front_of_several_nodes),
	    cmocka_unit_test(test_caddy_parse_routes),
	    cmocka_unit_test(test_haproxy_config_text),
	    cmocka_unit_test(test_haproxy_parse_show_map),
	    cmocka_unit_test(test_haproxy_map_text_round_trip),
	    cmocka_unit_test(test_haproxy_check_path),
	    cmocka_unit_test(test_haproxy_down_changes_nothing),
	};
	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
