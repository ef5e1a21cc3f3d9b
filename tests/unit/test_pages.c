/* Unit tests for pages: the visitor's flow (landing → start → waiting → ready
 * → extend → end), the owner cookie, the capacity page and HTML escaping,
 * against the fake backend. Screenshots in real Chromium are taken by
 * tests/integration/serve_e2e.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "fake_api_backend.h"
#include "pages.h"

static struct fake_api fake;
static struct api api;
static struct api_response last;
static char cookie[256]; /* what the "browser" holds: "demux_owner=..." */

static int
setup(void **state)
{
	(void)state;
	fake_api_init(&fake, &api);
	api_response_init(&last);
	cookie[0] = '\0';
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	api_response_free(&last);
	return 0;
}

static void
add_arg(struct api_request *req, const char *key, const char *value)
{
	req->args[req->nargs].key = key;
	req->args[req->nargs].value = value;
	req->nargs++;
}

/* One request like a browser sends it; keeps the cookie it is given. Query
 * arguments of path ("?a=b&c=d") are split as libmicrohttpd does. */
static int
browse(const char *method, const char *path_and_query, const char *form)
{
	struct api_request req;
	char path[256], *q, *save = NULL;

	snprintf(path, sizeof(path), "%s", path_and_query);
	memset(&req, 0, sizeof(req));
	if ((q = strchr(path, '?')) != NULL) {
		*q++ = '\0';
		for (char *kv = strtok_r(q, "&", &save); kv != NULL;
		     kv = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(kv, '=');

			if (eq != NULL)
				*eq++ = '\0';
			add_arg(&req, kv, eq != NULL ? eq : "");
		}
	}
	req.method = method;
	req.path = path;
	req.body = form != NULL ? form : "";
	req.body_len = strlen(req.body);
	req.client_ip = "198.51.100.4";
	req.host = "demo.test:8088";
	req.cookie = cookie[0] ? cookie : NULL;
	api_response_free(&last);
	api_response_init(&last);
	pages_handle(&api, &req, &last);
	if (last.set_cookie[0] != '\0') {
		size_t n = strcspn(last.set_cookie, ";");

		snprintf(cookie, sizeof(cookie), "%.*s", (int)n, last.set_cookie);
		if (cookie[strlen(cookie) - 1] == '=') /* cleared */
			cookie[0] = '\0';
	}
	return last.status;
}

static const char *
html(void)
{
	return buf_str(&last.body);
}

static void
assert_has(const char *needle)
{
	if (strstr(html(), needle) == NULL)
		fail_msg("page does not contain \"%s\":\n%s", needle, html());
}

static void
assert_lacks(const char *needle)
{
	if (strstr(html(), needle) != NULL)
		fail_msg("page contains \"%s\"", needle);
}

static void
assert_self_contained(void)
{
	assert_string_equal(last.content_type, "text/html; charset=utf-8");
	assert_has("<meta name=\"viewport\"");
	assert_lacks("<link");
	assert_lacks("src=\"http");
	assert_lacks("@import");
}

/* Start → ready: returns the id of the demo the browser now owns. */
static void
start_demo(char id[ID_SIZE])
{
	assert_int_equal(browse("POST", "/start", ""), 303);
	assert_true(strncmp(last.location, "/demo/", 6) == 0);
	snprintf(id, ID_SIZE, "%.16s", last.location + 6);
}

static void
test_landing_has_start_button(void **state)
{
	(void)state;
	assert_int_equal(browse("GET", "/", NULL), 200);
	assert_self_contained();
	assert_has("Start your demo");
	assert_has("<form method=\"post\" action=\"/start\">");
	assert_has("Yours for 30 minutes");
	assert_lacks("already have a demo");
	fake.pools[0].tmpl.ttl_s = 15;
	assert_int_equal(browse("GET", "/", NULL), 200);
	assert_has("Yours for 15 seconds");
	fake.pools[0].tmpl.ttl_s = 7200;
	assert_int_equal(browse("GET", "/", NULL), 200);
	assert_has("Yours for 2 hours");
}

static void
test_start_sets_owner_cookie_and_shows_ready_page(void **state)
{
	struct instance *in;
	char id[ID_SIZE], want[512];

	(void)state;
	in = fake_api_add(&fake, "shop", INSTANCE_READY);
	start_demo(id);
	assert_string_equal(id, in->id);
	assert_true(last.claimed);
	assert_non_null(strstr(last.set_cookie, "HttpOnly"));
	assert_non_null(strstr(last.set_cookie, "SameSite=Strict"));
	assert_non_null(strstr(last.set_cookie, "Path=/"));
	assert_null(strstr(last.set_cookie, "Domain=")); /* never sent to the demo's host */
	assert_null(strstr(last.set_cookie, "Secure"));	 /* http in this setup */
	snprintf(want, sizeof(want), "demux_owner=%s.%s", in->id, in->owner_token);
	assert_string_equal(cookie, want);

	snprintf(want, sizeof(want), "/demo/%s", id);
	assert_int_equal(browse("GET", want, NULL), 200);
	assert_self_contained();
	assert_has("Your demo is ready");
	snprintf(want, sizeof(want), "http://%s.demo.test:8088/", id);
	assert_has(want);
	snprintf(want, sizeof(want), "http://%s.demo.test:8088/admin-dev/", id);
	assert_has(want);
	assert_has("demo@example.com");
	assert_has("demo-pass-123");
	assert_has("data-s=\"1800\"");
	assert_has(">30:00<");
	/* Without a product name, words that fit every app, not only a shop. */
	assert_has("<dt>Site</dt>");
	assert_has(">Open the site</a>");
	assert_lacks("shop");
	assert_has("Ends at <time id=\"until\" datetime=\"1800001800\">08:30 UTC</time>");
	snprintf(want, sizeof(want), "action=\"/demos/%s/extend\"", id);
	assert_has(want);
	snprintf(want, sizeof(want), "action=\"/demos/%s/end\"", id);
	assert_has(want);
	assert_has("<script>");
	assert_lacks("http-equiv=\"refresh\"");

	/* The landing page now offers to go back to it. */
	assert_int_equal(browse("GET", "/", NULL), 200);
	assert_has("already have a demo");
	snprintf(want, sizeof(want), "href=\"/demo/%s\"", id);
	assert_has(want);
}

/* Over https the cookie is __Host-: Secure, Path=/, no Domain; a plain
 * demux_owner cookie (which a page on a sibling subdomain could plant) is
 * not read. */
static void
test_https_owner_cookie_is_host_prefixed(void **state)
{
	struct instance *in;
	char id[ID_SIZE], path[64], want[256], plain[256];

	(void)state;
	api.public_scheme = "https";
	in = fake_api_add(&fake, "shop", INSTANCE_READY);
	start_demo(id);
	assert_true(strncmp(last.set_cookie, "__Host-demux_owner=", 19) == 0);
	assert_non_null(strstr(last.set_cookie, "; Path=/;"));
	assert_non_null(strstr(last.set_cookie, "; Secure"));
	assert_null(strstr(last.set_cookie, "Domain"));
	snprintf(want, sizeof(want), "__Host-demux_owner=%s.%s", in->id, in->owner_token);
	assert_string_equal(cookie, want);
	snprintf(path, sizeof(path), "/demo/%s", id);
	assert_int_equal(browse("GET", path, NULL), 200);
	/* The same value under the plain name does not open it. */
	snprintf(plain, sizeof(plain), "demux_owner=%s.%s", in->id, in->owner_token);
	snprintf(cookie, sizeof(cookie), "%s", plain);
	assert_int_equal(browse("GET", path, NULL), 404);
	assert_lacks("demo-pass-123");
	/* Ending it clears the __Host- cookie, Secure again. */
	snprintf(cookie, sizeof(cookie), "%s", want);
	snprintf(path, sizeof(path), "/demos/%s/end", id);
	assert_int_equal(browse("POST", path, ""), 303);
	assert_true(strncmp(last.set_cookie, "__Host-demux_owner=;", 20) == 0);
	assert_non_null(strstr(last.set_cookie, "Max-Age=0"));
	assert_non_null(strstr(last.set_cookie, "; Secure"));
}

static void
test_ready_page_needs_the_owner_cookie(void **state)
{
	char id[ID_SIZE], path[64];

	(void)state;
	fake_api_add(&fake, "shop", INSTANCE_READY);
	start_demo(id);
	snprintf(path, sizeof(path), "/demo/%s", id);
	cookie[0] = '\0';
	assert_int_equal(browse("GET", path, NULL), 404);
	assert_lacks("demo-pass-123");
	snprintf(cookie, sizeof(cookie), "demux_owner=%s.forgedtokenforgedtokenforgedtokenforged12",
		 id);
	assert_int_equal(browse("GET", path, NULL), 404);
	assert_lacks("demo-pass-123");
	snprintf(path, sizeof(path), "/demos/%s/end", id);
	assert_int_equal(browse("POST", path, ""), 404);
	assert_int_equal(fake.releases, 0);
	snprintf(path, sizeof(path), "/demos/%s/extend", id);
	assert_int_equal(browse("POST", path, "minutes=30"), 404);
	assert_int_equal(fake.extends, 0);
}

/* The ready page shows the copy's own admin password, not the template's,
 * and only to the copy's owner. */
static void
test_ready_page_shows_the_copys_own_password(void **state)
{
	struct instance *in;
	char id[ID_SIZE], path[64], mine[256];

	(void)state;
	in = fake_api_add(&fake, "shop", INSTANCE_READY);
	snprintf(in->admin_password, sizeof(in->admin_password), "Xk7mPq2rSt9vWy3z");
	start_demo(id);
	snprintf(path, sizeof(path), "/demo/%s", id);
	assert_int_equal(browse("GET", path, NULL), 200);
	assert_has("demo@example.com");
	assert_has("<code>Xk7mPq2rSt9vWy3z</code>");
	assert_lacks("demo-pass-123");
	snprintf(mine, sizeof(mine), "%s", cookie);
	cookie[0] = '\0';
	assert_int_equal(browse("GET", path, NULL), 404); /* as for an unknown id */
	assert_lacks("Xk7mPq2rSt9vWy3z");
	/* Another visitor's own demo page does not show it either. */
	in = fake_api_add(&fake, "shop", INSTANCE_READY);
	snprintf(in->admin_password, sizeof(in->admin_password), "Hn4bVc8dEf6gJk2m");
	start_demo(id);
	snprintf(path, sizeof(path), "/demo/%s", id);
	assert_int_equal(browse("GET", path, NULL), 200);
	assert_has("Hn4bVc8dEf6gJk2m");
	assert_lacks("Xk7mPq2rSt9vWy3z");
	assert_true(strcmp(mine, cookie) != 0);
}

/* The page of a demo that never existed and of one that is another
 * browser's are the same, byte for byte; so are their end and extend posts. */
static void
test_not_yours_looks_like_unknown(void **state)
{
	static const char *const routes[][4] = {{"GET", "/demo/", "", NULL},
						{"POST", "/demos/", "/extend", "minutes=30"},
						{"POST", "/demos/", "/end", ""}};
	char id[ID_SIZE], path[64], mine[8192];

	(void)state;
	fake_api_add(&fake, "shop", INSTANCE_READY);
	start_demo(id);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		snprintf(cookie, sizeof(cookie), "demux_owner=%s.guessedtoken", id);
		snprintf(path, sizeof(path), "%s%s%s", routes[i][1], id, routes[i][2]);
		assert_int_equal(browse(routes[i][0], path, routes[i][3]), 404);
		snprintf(mine, sizeof(mine), "%s", html());
		snprintf(cookie, sizeof(cookie), "demux_owner=aaaaaaaaaaaaaaaa.guessedtoken");
		snprintf(path, sizeof(path), "%saaaaaaaaaaaaaaaa%s", routes[i][1], routes[i][2]);
		assert_int_equal(browse(routes[i][0], path, routes[i][3]), 404);
		assert_string_equal(html(), mine);
	}
	assert_int_equal(fake.extends, 0);
	assert_int_equal(fake.releases, 0);
	assert_non_null(fake_api_find(&fake, id));
}

static void
test_waiting_page_claims_only_by_post(void **state)
{
	char loc[sizeof(last.location)], form[96];
	const char *since;

	(void)state;
	fake.retry_ms = 1200;
	assert_int_equal(browse("POST", "/start", "template=shop"), 303);
	assert_true(strncmp(last.location, "/wait?template=shop&since=", 26) == 0);
	assert_false(last.claimed);
	snprintf(loc, sizeof(loc), "%s", last.location);
	since = strstr(loc, "since=") + 6;
	snprintf(form, sizeof(form), "template=shop&since=%s", since);

	assert_int_equal(browse("GET", loc, NULL), 200);
	assert_self_contained();
	assert_has("Preparing your demo");
	assert_has("<form id=\"claim\" method=\"post\" action=\"/wait\">");
	assert_has("<input type=\"hidden\" name=\"template\" value=\"shop\">");
	assert_has("Check now");
	assert_has(".submit();},2000)");
	/* Without JavaScript the page reloads itself (by GET). */
	assert_has("<noscript><meta http-equiv=\"refresh\" content=\"5;url=/wait?template=shop"
		   "&amp;since=");

	/* An instance becomes ready: a GET still claims nothing, it offers the
	 * button (pressed at once by the script). */
	fake_api_add(&fake, "shop", INSTANCE_READY);
	fake.claims = 0;
	assert_int_equal(browse("GET", loc, NULL), 200);
	assert_has("Your demo is ready to open");
	assert_has("Open your demo");
	assert_has(".submit();},0)");
	assert_false(last.claimed);
	assert_int_equal(fake.claims, 0);
	assert_int_equal(browse("HEAD", loc, NULL), 200);
	assert_int_equal(fake.claims, 0);

	/* The form's POST claims it. */
	assert_int_equal(browse("POST", "/wait", form), 303);
	assert_true(strncmp(last.location, "/demo/", 6) == 0);
	assert_true(last.claimed);
	assert_int_equal(fake.pools[0].stats.claims, 1);

	/* A late post or reload of the waiting page does not claim a second demo. */
	fake_api_add(&fake, "shop", INSTANCE_READY);
	assert_int_equal(browse("POST", "/wait", form), 303);
	assert_false(last.claimed);
	assert_int_equal(browse("GET", loc, NULL), 303);
	assert_true(strncmp(last.location, "/demo/", 6) == 0);
	assert_int_equal(fake.pools[0].stats.claims, 1);

	/* While nothing is ready, the POST sends the browser back to the page
	 * (post/redirect/get). */
	cookie[0] = '\0';
	fake.force = CLAIM_PROVISIONING;
	assert_int_equal(browse("POST", "/wait", form), 303);
	assert_true(strncmp(last.location, "/wait?template=shop&since=", 26) == 0);
	assert_false(last.claimed);
}

/* What a hostile page's <img src=".../wait?..."> makes a browser send. */
static void
test_get_wait_never_claims(void **state)
{
	(void)state;
	fake_api_add(&fake, "shop", INSTANCE_READY);
	assert_int_equal(browse("GET", "/wait?template=shop", NULL), 200);
	assert_int_equal(browse("GET", "/wait", NULL), 200);
	assert_int_equal(browse("GET", "/wait?template=shop&since=1", NULL), 200);
	assert_int_equal(fake.claims, 0);
	assert_string_equal(cookie, "");
	assert_int_equal(browse("GET", "/wait?template=../x", NULL), 400);
	assert_int_equal(browse("POST", "/wait", "template=../x"), 400);
	assert_int_equal(fake.claims, 0);
	assert_int_equal(browse("PUT", "/wait", NULL), 405);
	assert_string_equal(last.allow, "GET, HEAD, POST");
}

static void
test_capacity_page(void **state)
{
	(void)state;
	fake.force = CLAIM_AT_CAPACITY;
	assert_int_equal(browse("POST", "/start", ""), 503);
	assert_self_contained();
	assert_has("All demos are in use");
	assert_has("try again in a few minutes");
	assert_true(last.retry_after > 0);
	assert_false(last.claimed);
	fake.force = CLAIM_ERROR;
	assert_int_equal(browse("POST", "/start", ""), 503);
	assert_lacks("/secret/socket");
}

/* A visitor holding max_active_per_client demos gets a readable 429 page and
 * no demo; a visitor from another address still gets one. */
static void
test_client_limit_page(void **state)
{
	char id[ID_SIZE];

	(void)state;
	fake.pools[0].tmpl.max_instances = 10;
	for (int i = 0; i < 5; i++)
		fake_api_add(&fake, "shop", INSTANCE_READY);
	for (int i = 0; i < 3; i++)
		start_demo(id);
	assert_int_equal(browse("POST", "/start", ""), 429);
	assert_self_contained();
	assert_has("You already have 3 demos running");
	assert_has("End one of them");
	assert_false(last.claimed);
	assert_string_equal(last.set_cookie, "");
	assert_int_equal(fake.pools[0].stats.claims, 3);
	assert_int_equal(fake.last_claim_max_owned, 3);
}

/* Past max_extends the button goes and a forged post gets a 409 page. */
static void
test_extend_limit_on_the_page(void **state)
{
	char id[ID_SIZE], path[64];
	struct instance *in;

	(void)state;
	fake.pools[0].tmpl.max_extends = 1;
	fake_api_add(&fake, "shop", INSTANCE_READY);
	start_demo(id);
	in = fake_api_find(&fake, id);
	snprintf(path, sizeof(path), "/demos/%s/extend", id);
	assert_int_equal(browse("POST", path, "minutes=5"), 303);
	snprintf(path, sizeof(path), "/demo/%s", id);
	assert_int_equal(browse("GET", path, NULL), 200);
	assert_lacks("/extend\"");
	assert_has("extended as often as allowed");
	snprintf(path, sizeof(path), "/demos/%s/extend", id);
	assert_int_equal(browse("POST", path, "minutes=5"), 409);
	assert_has("No more extensions");
	assert_int_equal(in->expires_at, 1800000000 + 1800 + 300);
}

static void
test_extend_and_end_from_the_page(void **state)
{
	char id[ID_SIZE], path[64];
	struct instance *in;

	(void)state;
	fake_api_add(&fake, "shop", INSTANCE_READY);
	start_demo(id);
	in = fake_api_find(&fake, id);
	snprintf(path, sizeof(path), "/demos/%s/extend", id);
	assert_int_equal(browse("POST", path, "minutes=30"), 303);
	assert_int_equal(in->expires_at, 1800000000 + 1800 + 1800);
	assert_int_equal(browse("POST", path, "minutes=abc"), 400);
	assert_int_equal(browse("POST", path, "minutes=0"), 400);
	/* Up to max_ttl (7200 s): the button disappears. */
	assert_int_equal(browse("POST", path, "minutes=1440"), 303);
	snprintf(path, sizeof(path), "/demo/%s", id);
	assert_int_equal(browse("GET", path, NULL), 200);
	assert_lacks("/extend\"");
	assert_has("longest allowed");

	snprintf(path, sizeof(path), "/demos/%s/end", id);
	assert_int_equal(browse("POST", path, ""), 303);
	assert_string_equal(last.location, "/?ended=1");
	assert_non_null(strstr(last.set_cookie, "Max-Age=0"));
	assert_string_equal(cookie, "");
	assert_null(fake_api_find(&fake, id));
	assert_int_equal(browse("GET", "/?ended=1", NULL), 200);
	assert_has("Your demo has ended");
	snprintf(path, sizeof(path), "/demo/%s", id);
	assert_int_equal(browse("GET", path, NULL), 404);
	assert_has("This demo is not available");
}

static void
test_values_are_escaped(void **state)
{
	char id[ID_SIZE], path[64];

	(void)state;
	snprintf(fake.pools[0].tmpl.admin_password, sizeof(fake.pools[0].tmpl.admin_password),
		 "<script>alert(1)</script>&\"'");
	fake_api_add(&fake, "shop", INSTANCE_READY);
	start_demo(id);
	snprintf(path, sizeof(path), "/demo/%s", id);
	assert_int_equal(browse("GET", path, NULL), 200);
	assert_lacks("<script>alert");
	assert_has("&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;");
}

static void
test_bad_input_and_unknown_pages(void **state)
{
	(void)state;
	assert_int_equal(browse("POST", "/start", "template=..%2Fx"), 400);
	assert_int_equal(browse("POST", "/start", "template=%zz"), 400);
	assert_int_equal(browse("POST", "/start", "template=nosuch"), 404);
	assert_int_equal(browse("GET", "/wait?template=a%20b", NULL), 400);
	assert_int_equal(browse("GET", "/demo/../etc/passwd", NULL), 404);
	assert_int_equal(browse("GET", "/demo/AAAAAAAAAAAAAAAA", NULL), 404);
	assert_int_equal(browse("GET", "/nothing", NULL), 404);
	assert_self_contained();
	assert_int_equal(browse("GET", "/start", NULL), 405);
	assert_string_equal(last.allow, "POST");
	assert_int_equal(fake.claims, 0);
}

static void
test_multiple_templates_get_one_button_each(void **state)
{
	(void)state;
	fake_api_add_pool(&fake, "wordpress");
	assert_int_equal(browse("GET", "/", NULL), 200);
	assert_has("Start a shop demo");
	assert_has("Start a wordpress demo");
	assert_has("name=\"template\" value=\"wordpress\"");
	fake_api_add(&fake, "wordpress", INSTANCE_READY);
	assert_int_equal(browse("POST", "/start", "template=wordpress"), 303);
	assert_string_equal(fake.last_claim_template, "wordpress");
}

static void
test_form_posts_from_other_sites_are_refused(void **state)
{
	const char *bad[] = {"http://evil.test", "null", "http://x.demo.test:8088",
			     "http://demo.test.evil.test"};
	const char *good[] = {"http://demo.test:8088", "https://DEMO.test"};
	struct api_request req;

	(void)state;
	fake_api_add(&fake, "shop", INSTANCE_READY);
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = "/start";
	req.body = "";
	req.client_ip = "198.51.100.4";
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req.origin = bad[i];
		api_response_free(&last);
		api_response_init(&last);
		pages_handle(&api, &req, &last);
		assert_int_equal(last.status, 403);
	}
	assert_int_equal(fake.claims, 0);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		req.origin = good[i];
		api_response_free(&last);
		api_response_init(&last);
		pages_handle(&api, &req, &last);
		assert_int_not_equal(last.status, 403);
	}
	assert_int_equal(fake.claims, 2);
}

static void
test_host_of_a_gone_demo(void **state)
{
	struct api_request req;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.path = "/";
	req.body = "";
	req.client_ip = "198.51.100.4";
	req.host = "aaaaaaaaaaaaaaaa.demo.test:8088";
	pages_handle(&api, &req, &last);
	assert_int_equal(last.status, 404);
	assert_has("This demo is not available");
}

/* [pages]: name, description, lifetime text, logo and accent reach the
 * pages, escaped; per template values win over [pages]; the logo's origin
 * (and nothing else) is added to the CSP. */
static void
test_pages_look(void **state)
{
	struct pages_look g = {0};
	char csp[PAGES_CSP_MAX], id[ID_SIZE];

	(void)state;
	snprintf(g.product_name, sizeof(g.product_name), "Acme <Shop> & \"Co\"");
	snprintf(g.description, sizeof(g.description), "Sell <b>more</b>");
	snprintf(g.lifetime_text, sizeof(g.lifetime_text), "Yours for an hour & then gone");
	snprintf(g.logo_url, sizeof(g.logo_url), "https://cdn.acme.test/logo.svg");
	snprintf(g.accent_color, sizeof(g.accent_color), "#c0ffee");
	api.look = &g;
	fake.pools[0].tmpl.look = g;
	assert_int_equal(browse("GET", "/", NULL), 200);
	assert_has("<title>Try Acme &lt;Shop&gt; &amp; &quot;Co&quot;</title>");
	assert_has("<h1>Try Acme &lt;Shop&gt; &amp; &quot;Co&quot; live");
	assert_has("<p class=\"lead\">Sell &lt;b&gt;more&lt;/b&gt;</p>");
	assert_has("Yours for an hour &amp; then gone");
	assert_lacks("Yours for 30 minutes");
	assert_has("<img src=\"https://cdn.acme.test/logo.svg\" alt=\"\">");
	assert_has(":root{--acc:#c0ffee}");
	assert_lacks("<b>");
	pages_csp(&api, csp, sizeof(csp));
	assert_non_null(strstr(csp, "img-src 'self' https://cdn.acme.test;"));
	assert_non_null(strstr(csp, "frame-ancestors 'none'"));

	/* The ready page names the product. */
	fake_api_add(&fake, "shop", INSTANCE_READY);
	start_demo(id);
	assert_int_equal(browse("GET", last.location, NULL), 200);
	assert_has("Open Acme &lt;Shop&gt; &amp; &quot;Co&quot;</a>");

	/* Values that config_check would refuse are not used even so. */
	snprintf(fake.pools[0].tmpl.look.accent_color, 8, "red;}");
	snprintf(fake.pools[0].tmpl.look.logo_url, 32, "javascript:alert(1)");
	assert_int_equal(browse("GET", "/", NULL), 200);
	assert_lacks("red;}");
	assert_lacks("javascript:");
	api.look = NULL;
}

/* The product page's form: from an allowed origin a claim is taken and
 * answered with the hand-off page (200, cookie set, link to the ready
 * page), since a 303 after a cross-site POST would reach the ready page
 * without the SameSite=Strict cookie; other origins get 403; /embed.js. */
static void
test_claims_from_allowed_origins(void **state)
{
	struct api_request req;

	(void)state;
	api.allowed_origins = "https://www.product.test";
	fake_api_add(&fake, "shop", INSTANCE_READY);
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = "/start";
	req.body = "";
	req.client_ip = "198.51.100.4";
	req.origin = "https://evil.test";
	pages_handle(&api, &req, &last);
	assert_int_equal(last.status, 403);
	assert_int_equal(fake.claims, 0);

	/* Allowed to claim, not to act on demos. */
	req.origin = "https://www.product.test";
	req.path = "/demos/0000000000000000/end";
	api_response_free(&last);
	api_response_init(&last);
	pages_handle(&api, &req, &last);
	assert_int_equal(last.status, 403);

	req.path = "/start";
	api_response_free(&last);
	api_response_init(&last);
	pages_handle(&api, &req, &last);
	assert_int_equal(last.status, 200);
	assert_int_equal(fake.claims, 1);
	assert_true(strncmp(last.set_cookie, "demux_owner=", 12) == 0);
	assert_string_equal(last.location, "");
	assert_has("href=\"/demo/");
	assert_has("location.replace(");

	assert_int_equal(browse("GET", "/embed.js", NULL), 200);
	assert_string_equal(last.content_type, "text/javascript; charset=utf-8");
	assert_has("form[data-demux]");
	assert_has("'/start'");
	api.allowed_origins = NULL;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_landing_has_start_button, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_start_sets_owner_cookie_and_shows_ready_page,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ready_page_shows_the_copys_own_password, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_https_owner_cookie_is_host_prefixed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ready_page_needs_the_owner_cookie, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_not_yours_looks_like_unknown, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_waiting_page_claims_only_by_post, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_get_wait_never_claims, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_capacity_page, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_limit_page, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_extend_limit_on_the_page, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_extend_and_end_from_the_page, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_values_are_escaped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_input_and_unknown_pages, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_multiple_templates_get_one_button_each, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_form_posts_from_other_sites_are_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_host_of_a_gone_demo, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pages_look, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_claims_from_allowed_origins, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
