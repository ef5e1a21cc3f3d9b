/*
 * libFuzzer target for demux's HTTP request parsing: the input is split into
 * a body, a cookie, a query value and a path, and sent through the JSON API
 * (claim, extend) and the visitor pages (start form, extend form, wait form,
 * ready page), against the fake backend.
 *
 *   make fuzz   (each target FUZZ_RUNS inputs, default 1 million)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "fake_api_backend.h"
#include "log.h"
#include "pages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fake_api fake;
static struct api api;
static int ready;

/* The next '\n'-separated part of the input, NUL-terminated (owned by parts). */
static char *
part(char **cur, char *end)
{
	char *p = *cur, *nl;

	if (p >= end)
		return end;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (nl == NULL)
		nl = end;
	*nl = '\0';
	*cur = nl + 1 <= end ? nl + 1 : end;
	return p;
}

static void
run(const char *method, const char *path, const char *body, size_t body_len, const char *cookie,
    const char *auth, const char *wait_template, bool is_api)
{
	struct api_request req;
	struct api_response r;

	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path;
	req.body = body;
	req.body_len = body_len;
	req.client_ip = "192.0.2.1";
	req.cookie = cookie;
	req.authorization = auth;
	req.host = "demo.test";
	req.args[0].key = "template";
	req.args[0].value = wait_template;
	req.args[1].key = "since";
	req.args[1].value = cookie;
	req.nargs = 2;
	api_response_init(&r);
	if (is_api)
		api_handle(&api, &req, &r);
	else
		pages_handle(&api, &req, &r);
	api_response_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *cur = buf, *end = buf + size;
	char *body, *cookie, *query, *path, demo_path[64], api_path[80], auth[96];
	struct instance *in;

	if (!ready) {
		log_set_level(LOG_LEVEL_ERROR);
		ready = 1;
	}
	fake_api_init(&fake, &api);
	in = fake_api_add(&fake, "shop", INSTANCE_CLAIMED);
	snprintf(in->owner_token, sizeof(in->owner_token), "tok");
	fake_api_add(&fake, "shop", INSTANCE_READY);
	memcpy(buf, data, size);
	buf[size] = '\0';
	body = part(&cur, end);
	cookie = part(&cur, end);
	query = part(&cur, end);
	path = part(&cur, end);
	snprintf(demo_path, sizeof(demo_path), "/demos/%s/extend", in->id);
	snprintf(api_path, sizeof(api_path), "/api/v1/demos/%s/extend", in->id);
	snprintf(auth, sizeof(auth), "Bearer %s", cookie);

	run("POST", "/api/v1/demos", body, strlen(body), NULL, NULL, query, true);
	run("POST", api_path, body, strlen(body), NULL, "Bearer tok", query, true);
	run("GET", path, "", 0, NULL, auth, query, true);
	run("POST", "/start", body, strlen(body), cookie, NULL, query, false);
	run("POST", demo_path, body, strlen(body), cookie, NULL, query, false);
	run("GET", "/wait", "", 0, cookie, NULL, query, false);
	run("POST", "/wait", body, strlen(body), cookie, NULL, query, false);
	run("GET", path, "", 0, cookie, NULL, query, false);
	run("GET", "/", "", 0, cookie, NULL, query, false);
	pthread_mutex_destroy(&fake.mu);
	free(buf);
	return 0;
}
