/*
 * pages — HTML for visitors (see pages.h for the routes and the cookie).
 *
 * Every value that reaches HTML goes through html_escape; pages are built in
 * a bounded buffer and are a few kilobytes each.
 */
#include "pages.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hostport.h"
#include "id.h"
#include "log.h"
#include "origin.h"
#include "validate.h"
#include "xmalloc.h"

#define EXTEND_MINUTES 30
#define WAIT_SUBMIT_MS 2000 /* the waiting page's script claims again after this */
#define WAIT_REFRESH_S 5    /* without JavaScript it reloads itself after this */

static const char css[] =
    ":root{color-scheme:light dark;--fg:#1d2430;--bg:#f4f5f7;--card:#fff;--acc:#2457d6;"
    "--mut:#5b6472;--bad:#b3261e}"
    "@media(prefers-color-scheme:dark){:root{--fg:#e6e8ec;--bg:#121418;--card:#1c2027;"
    "--acc:#8aadff;--mut:#9aa3b1;--bad:#ff8a80}}"
    "*{box-sizing:border-box}"
    "body{margin:0;font:17px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "background:var(--bg);color:var(--fg)}"
    "main{max-width:34rem;margin:0 auto;padding:1.5rem 1rem}"
    ".card{background:var(--card);border-radius:14px;padding:1.5rem;"
    "box-shadow:0 1px 4px rgba(0,0,0,.12)}"
    "h1{font-size:1.6rem;line-height:1.25;margin:0 0 .75rem}"
    "p{margin:.6rem 0}a{color:var(--acc)}"
    "form{margin:0}"
    ".btn{display:block;width:100%;margin-top:1rem;padding:.9rem 1rem;font:inherit;"
    "font-size:1.1rem;font-weight:600;border:2px solid var(--acc);border-radius:10px;"
    "background:var(--acc);color:#fff;text-align:center;text-decoration:none;cursor:pointer}"
    ".sec{background:transparent;color:var(--acc)}"
    ".bad{background:transparent;color:var(--bad);border-color:var(--bad)}"
    ".row{display:flex;gap:.75rem}.row form{flex:1;display:flex}"
    ".row .btn{font-size:1rem;padding:.8rem .5rem}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:.5rem 1rem;margin:1rem 0}"
    "dt{color:var(--mut)}dd{margin:0;overflow-wrap:anywhere}"
    "code{font:.85em ui-monospace,Menlo,Consolas,monospace;background:rgba(127,127,127,.15);"
    "padding:.1rem .35rem;border-radius:5px}"
    ".timer{font-size:2.4rem;font-weight:700;font-variant-numeric:tabular-nums;margin:.2rem 0}"
    ".mut{color:var(--mut);font-size:.92rem}"
    ".note{border-left:4px solid var(--acc);padding:.4rem .8rem;margin:0 0 1rem}"
    ".spin{width:3rem;height:3rem;margin:1.5rem auto;border:5px solid rgba(127,127,127,.25);"
    "border-top-color:var(--acc);border-radius:50%;animation:s 1s linear infinite}"
    "@keyframes s{to{transform:rotate(360deg)}}"
    "@media(prefers-reduced-motion:reduce){.spin{animation:none}}"
    ".brand{display:flex;align-items:center;gap:.6rem;margin:0 0 1rem;font-weight:600;"
    "font-size:1.05rem}.brand img{height:2rem;width:auto;max-width:10rem}"
    ".lead{font-size:1.05rem}";

static void
html_escape(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			buf_appends(b, "&amp;");
			break;
		case '<':
			buf_appends(b, "&lt;");
			break;
		case '>':
			buf_appends(b, "&gt;");
			break;
		case '"':
			buf_appends(b, "&quot;");
			break;
		case '\'':
			buf_appends(b, "&#39;");
			break;
		default:
			buf_append(b, s, 1);
		}
	}
}

/* Starts a page; refresh_url (already safe: built from validated parts) adds
 * a meta refresh after refresh_s seconds for browsers without JavaScript
 * (the page's script does better when it runs). look (NULL = the built-in
 * one) gives the accent colour and the product's logo and name on top;
 * every value was validated by config_check and is escaped here anyway. */
static void
page_begin_look(struct api_response *r, const struct pages_look *look, int status,
		const char *title, const char *refresh_url, int refresh_s)
{
	struct buf *b = &r->body;
	bool accent = look != NULL && look->accent_color[0] != '\0' &&
		      validate_css_color(look->accent_color, NULL, 0) == 0;
	bool logo = look != NULL && look->logo_url[0] != '\0' &&
		    validate_page_url(look->logo_url, NULL, 0) == 0;
	bool name = look != NULL && look->product_name[0] != '\0';

	r->status = status;
	r->content_type = "text/html; charset=utf-8";
	buf_reset(b);
	buf_appends(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		       "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
		       "<meta name=\"referrer\" content=\"same-origin\">");
	if (refresh_url != NULL) {
		buf_printf(b,
			   "<noscript><meta http-equiv=\"refresh\" content=\"%d;url=", refresh_s);
		html_escape(b, refresh_url);
		buf_appends(b, "\"></noscript>");
	}
	buf_appends(b, "<title>");
	html_escape(b, title);
	buf_printf(b, "</title><style>%s", css);
	if (accent)
		buf_printf(b, ":root{--acc:%s}", look->accent_color);
	buf_appends(b, "</style></head>\n<body><main><div class=\"card\">\n");
	if (logo || name) {
		buf_appends(b, "<header class=\"brand\">");
		if (logo) {
			buf_appends(b, "<img src=\"");
			html_escape(b, look->logo_url);
			buf_appends(b, "\" alt=\"\">");
		}
		if (name) {
			buf_appends(b, "<span>");
			html_escape(b, look->product_name);
			buf_appends(b, "</span>");
		}
		buf_appends(b, "</header>\n");
	}
}

static void
page_begin(struct api_response *r, int status, const char *title, const char *refresh_url,
	   int refresh_s)
{
	page_begin_look(r, NULL, status, title, refresh_url, refresh_s);
}

static void
page_end(struct api_response *r)
{
	buf_appends(&r->body, "</div></main></body></html>\n");
}

static void
start_form(struct buf *b, const char *tmpl, const char *label, const char *cls)
{
	buf_appends(b, "<form method=\"post\" action=\"/start\">");
	if (tmpl != NULL && tmpl[0] != '\0') {
		buf_appends(b, "<input type=\"hidden\" name=\"template\" value=\"");
		html_escape(b, tmpl);
		buf_appends(b, "\">");
	}
	buf_printf(b, "<button class=\"btn%s%s\" type=\"submit\">", cls[0] ? " " : "", cls);
	html_escape(b, label);
	buf_appends(b, "</button></form>\n");
}

void
pages_error(struct api_response *r, int status, const char *title, const char *message)
{
	page_begin(r, status, title, NULL, 0);
	buf_appends(&r->body, "<h1>");
	html_escape(&r->body, title);
	buf_appends(&r->body, "</h1><p>");
	html_escape(&r->body, message);
	buf_appends(&r->body, "</p><a class=\"btn sec\" href=\"/\">Back to the start</a>\n");
	page_end(r);
}

/* --- request helpers ----------------------------------------------------- */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Finds key in an application/x-www-form-urlencoded body and decodes its
 * value into out: 0 found, -1 absent, malformed or too long. */
static int
form_get(const char *body, size_t len, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key), i = 0;

	while (i < len) {
		size_t end = i, o = 0;

		while (end < len && body[end] != '&')
			end++;
		if (end - i > klen && strncmp(body + i, key, klen) == 0 && body[i + klen] == '=') {
			for (size_t p = i + klen + 1; p < end; p++) {
				char c = body[p];

				if (c == '+') {
					c = ' ';
				} else if (c == '%') {
					int hi, lo;

					if (p + 2 >= end)
						return -1;
					hi = hexval(body[p + 1]);
					lo = hexval(body[p + 2]);
					if (hi < 0 || lo < 0)
						return -1;
					c = (char)(hi * 16 + lo);
					p += 2;
				}
				if (c == '\0' || o + 1 >= outlen)
					return -1;
				out[o++] = c;
			}
			out[o] = '\0';
			return 0;
		}
		i = end + 1;
	}
	return -1;
}

static bool
https(const struct api *a)
{
	return a->public_scheme != NULL && strcmp(a->public_scheme, "https") == 0;
}

/* Over https the cookie is __Host-: the browser then only accepts it set by
 * our own host, Secure, Path=/ and without Domain, so a demo's page on a
 * sibling subdomain cannot plant one. Over http browsers refuse __Host-
 * (it needs Secure), so the plain name stays. */
static const char *
cookie_name(const struct api *a)
{
	return https(a) ? PAGES_COOKIE_HOST : PAGES_COOKIE;
}

/* The demo id and owner token from the owner cookie: 0, or -1. */
static int
owner_cookie(const struct api *a, const struct api_request *req, char id[ID_SIZE], char *token,
	     size_t toklen)
{
	const char *c = req->cookie, *v, *end, *dot, *name = cookie_name(a);
	size_t n = strlen(name);

	if (c == NULL)
		return -1;
	while (*c != '\0') {
		while (*c == ' ' || *c == ';')
			c++;
		if (strncmp(c, name, n) == 0 && c[n] == '=') {
			v = c + n + 1;
			end = strchr(v, ';');
			if (end == NULL)
				end = v + strlen(v);
			dot = memchr(v, '.', (size_t)(end - v));
			if (dot == NULL || dot - v != ID_LEN || (size_t)(end - dot - 1) >= toklen ||
			    end - dot - 1 == 0)
				return -1;
			memcpy(id, v, ID_LEN);
			id[ID_LEN] = '\0';
			memcpy(token, dot + 1, (size_t)(end - dot - 1));
			token[end - dot - 1] = '\0';
			return id_valid(id) ? 0 : -1;
		}
		c = strchr(c, ';');
		if (c == NULL)
			break;
	}
	return -1;
}

/* Loads id and checks the cookie owns it. A demo that does not exist (or
 * is being taken down) and one that is not this browser's are one answer,
 * NO_DEMO, so that nobody can probe which ids exist. */
enum ownership { OWNED, NO_DEMO, STORE_DOWN };

static enum ownership
check_owner(const struct api *a, const struct api_request *req, const char *id, struct instance *in)
{
	char cid[ID_SIZE], tok[INSTANCE_TOKEN_SIZE + 8], err[256];
	int r;

	r = a->backend.ops->get(a->backend.ctx, id, in, err, sizeof(err));
	if (r == -1) {
		log_warnx("page get failed id=%s error=\"%s\"", id, err);
		return STORE_DOWN;
	}
	if (r == STORE_NOT_FOUND || in->state != INSTANCE_CLAIMED || in->owner_token[0] == '\0')
		return NO_DEMO;
	if (owner_cookie(a, req, cid, tok, sizeof(tok)) == -1 || strcmp(cid, id) != 0 ||
	    !api_token_equal(tok, in->owner_token))
		return NO_DEMO;
	return OWNED;
}

static void
set_owner_cookie(const struct api *a, struct api_response *r, const struct instance *in,
		 int max_age)
{
	snprintf(r->set_cookie, sizeof(r->set_cookie),
		 "%s=%s.%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s", cookie_name(a),
		 in->id, in->owner_token, max_age, https(a) ? "; Secure" : "");
}

static void
clear_owner_cookie(const struct api *a, struct api_response *r)
{
	snprintf(r->set_cookie, sizeof(r->set_cookie),
		 "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s", cookie_name(a),
		 https(a) ? "; Secure" : "");
}

static void
redirect(struct api_response *r, const char *location)
{
	r->status = 303;
	r->content_type = "text/html; charset=utf-8";
	snprintf(r->location, sizeof(r->location), "%s", location);
	buf_reset(&r->body);
	buf_appends(&r->body, "<!doctype html><a href=\"");
	html_escape(&r->body, location);
	buf_appends(&r->body, "\">Continue</a>\n");
}

/* --- pages --------------------------------------------------------------- */

/* "45 seconds", "1 minute", "30 minutes", "2 hours". */
static void
describe_duration(int s, char *out, size_t outlen)
{
	int v = s < 120 ? s : s < 7200 || s % 3600 != 0 ? s / 60 : s / 3600;
	const char *unit = s < 120 ? "second" : s < 7200 || s % 3600 != 0 ? "minute" : "hour";

	snprintf(out, outlen, "%d %s%s", v, unit, v == 1 ? "" : "s");
}

static void
page_landing(const struct api *a, const struct api_request *req, struct api_response *r)
{
	struct api_pool_info *pools = xcalloc(API_MAX_TEMPLATES, sizeof(*pools));
	char cid[ID_SIZE], tok[INSTANCE_TOKEN_SIZE + 8], title[PAGES_NAME_MAX + 8] = "Try the demo";
	struct pages_look look = {0};
	struct instance in;
	const char *ended = api_arg(req, "ended");
	bool live = false;
	int n;

	n = a->backend.ops->pools(a->backend.ctx, pools, API_MAX_TEMPLATES);
	/* One template: its own look; several: [pages]'s, each button its own. */
	if (n == 1)
		look = pools[0].tmpl.look;
	else if (api_look(a) != NULL)
		look = *api_look(a);
	if (owner_cookie(a, req, cid, tok, sizeof(tok)) == 0 &&
	    check_owner(a, req, cid, &in) == OWNED)
		live = true;
	if (look.product_name[0] != '\0')
		snprintf(title, sizeof(title), "Try %s", look.product_name);
	page_begin_look(r, &look, 200, title, NULL, 0);
	if (ended != NULL)
		buf_appends(&r->body, "<p class=\"note\">Your demo has ended. Everything in it "
				      "was deleted.</p>\n");
	if (look.product_name[0] != '\0') {
		buf_appends(&r->body, "<h1>Try ");
		html_escape(&r->body, look.product_name);
		buf_appends(&r->body, " live, in your own private copy</h1>\n");
	} else {
		buf_appends(&r->body, "<h1>Try it live, in your own private copy</h1>\n");
	}
	if (look.description[0] != '\0') {
		buf_appends(&r->body, "<p class=\"lead\">");
		html_escape(&r->body, look.description);
		buf_appends(&r->body, "</p>\n");
	} else {
		buf_appends(&r->body, "<p>Press the button and get a fully working copy of the "
				      "application, with its admin area, that nobody else can "
				      "see.</p>\n");
	}
	if (look.lifetime_text[0] != '\0') {
		buf_appends(&r->body, "<p class=\"mut\">");
		html_escape(&r->body, look.lifetime_text);
		buf_appends(&r->body, "</p>\n");
	} else if (n > 0) {
		char ttl[32];

		describe_duration(pools[0].tmpl.ttl_s, ttl, sizeof(ttl));
		buf_printf(&r->body,
			   "<p class=\"mut\">Ready in seconds. Yours for %s (you can extend it), "
			   "then it is deleted with everything you changed.</p>\n",
			   ttl);
	}
	if (live) {
		buf_printf(&r->body,
			   "<p class=\"note\">You already have a demo running.</p>"
			   "<a class=\"btn\" href=\"/demo/%s\">Open your demo</a>\n",
			   in.id);
	}
	if (n <= 1) {
		start_form(&r->body, NULL, live ? "Start another demo" : "Start your demo",
			   live ? "sec" : "");
	} else {
		for (int i = 0; i < n; i++) {
			const char *pn = pools[i].tmpl.look.product_name;
			char label[128];

			if (pn[0] != '\0')
				snprintf(label, sizeof(label), "Try %s", pn);
			else
				snprintf(label, sizeof(label), "Start a %s demo",
					 pools[i].tmpl.name);
			start_form(&r->body, pools[i].tmpl.name, label,
				   i == 0 && !live ? "" : "sec");
		}
	}
	page_end(r);
	free(pools);
}

/*
 * The waiting page. It never claims (a GET must not: any site could make
 * its readers' browsers claim demos with an <img>); the claim is the POST
 * of its form to /wait. Its script submits the form every few seconds,
 * which is what the visitor sees happen by itself. Without JavaScript the
 * page refreshes itself by GET and, once a demo is ready, asks for one
 * press of its button.
 */
static void
page_waiting(const struct api *a, struct api_response *r, const char *tmpl, long long since)
{
	struct api_pool_info *pools = xcalloc(API_MAX_TEMPLATES, sizeof(*pools));
	char url[192];
	bool ready = false;
	int n = a->backend.ops->pools(a->backend.ctx, pools, API_MAX_TEMPLATES);

	struct pages_look look = {0};

	if (api_look(a) != NULL)
		look = *api_look(a);
	for (int i = 0; i < n; i++)
		if ((tmpl[0] == '\0' && i == 0) || strcmp(pools[i].tmpl.name, tmpl) == 0) {
			ready = pools[i].stats.ready > 0;
			look = pools[i].tmpl.look;
		}
	free(pools);
	snprintf(url, sizeof(url), "/wait?template=%s&since=%lld", tmpl, since);
	page_begin_look(r, &look, 200, "Preparing your demo", url, WAIT_REFRESH_S);
	if (ready)
		buf_appends(&r->body, "<h1>Your demo is ready to open</h1>\n");
	else
		buf_appends(&r->body, "<h1>Preparing your demo&hellip;</h1>"
				      "<div class=\"spin\"></div>\n");
	buf_appends(&r->body,
		    "<p>Your private copy is being set up. This usually takes a few seconds; "
		    "this page moves on by itself.</p>\n"
		    "<p class=\"mut\" id=\"el\" aria-live=\"polite\"></p>\n"
		    "<form id=\"claim\" method=\"post\" action=\"/wait\">"
		    "<input type=\"hidden\" name=\"template\" value=\"");
	html_escape(&r->body, tmpl);
	buf_printf(&r->body,
		   "\"><input type=\"hidden\" name=\"since\" value=\"%lld\">"
		   "<button class=\"btn%s\" type=\"submit\">%s</button></form>\n",
		   since, ready ? "" : " sec", ready ? "Open your demo" : "Check now");
	buf_printf(
	    &r->body,
	    "<script>(function(){var k='demux_wait',t=+(sessionStorage.getItem(k)||Date.now());"
	    "sessionStorage.setItem(k,t);var e=document.getElementById('el');"
	    "function f(){e.textContent='Waiting for '+Math.round((Date.now()-t)/1000)+' s';}"
	    "f();setInterval(f,1000);setTimeout(function(){"
	    "document.getElementById('claim').submit();},%d);})();</script>\n",
	    ready ? 0 : WAIT_SUBMIT_MS);
	page_end(r);
}

/* A page that says html and offers one button that starts a demo (of tmpl,
 * NULL = the default); retry_after > 0 adds the header. */
static void
page_message(struct api_response *r, int status, const char *title, const char *html,
	     int retry_after, const char *tmpl, const char *button, const char *button_class)
{
	page_begin(r, status, title, NULL, 0);
	r->retry_after = retry_after;
	buf_appends(&r->body, html);
	start_form(&r->body, tmpl, button, button_class);
	page_end(r);
}

static void
page_capacity(struct api_response *r, const char *tmpl)
{
	page_message(r, 503, "All demos are in use",
		     "<h1>All demos are in use</h1>\n"
		     "<p>Every copy is taken right now, try again in a few minutes: "
		     "demos are short-lived and free up all the time.</p>\n",
		     120, tmpl, "Try again", "");
}

static void
page_unavailable(struct api_response *r, const char *tmpl)
{
	page_message(r, 503, "Demos are unavailable",
		     "<h1>Demos are unavailable right now</h1>\n"
		     "<p>Something on our side is not working. Please try again in a few "
		     "minutes.</p>\n",
		     30, tmpl, "Try again", "sec");
}

static void
page_client_limit(const struct api *a, struct api_response *r)
{
	page_begin(r, 429, "Too many demos", NULL, 0);
	r->retry_after = 60;
	buf_printf(&r->body,
		   "<h1>You already have %d demos running</h1>\n"
		   "<p>That is the most one visitor can have at a time. End one of them "
		   "(&ldquo;End now&rdquo; on its page) or wait for one to expire, then start "
		   "a new one.</p>\n"
		   "<a class=\"btn sec\" href=\"/\">Back to the start</a>\n",
		   api_max_active(a));
	page_end(r);
}

static void
format_left(long long s, char *out, size_t outlen)
{
	if (s < 0)
		s = 0;
	snprintf(out, outlen, "%lld:%02lld", s / 60, s % 60);
}

/* "14:05 UTC"; the page's script replaces it with the visitor's local time. */
static void
format_clock(long long t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, outlen, "%H:%M UTC", &tm) == 0)
		snprintf(out, outlen, "-");
}

static void
page_ready(const struct api *a, struct api_response *r, const struct instance *in)
{
	struct api_template t;
	char url[512], admin_url[768], left[32], until[32];
	long long now = api_now(a), secs = in->expires_at - now;
	bool have_t = api_find_template(a, in->template_name, &t) == 0;
	bool at_max_ttl = have_t && in->expires_at >= in->claimed_at + t.max_ttl_s;
	bool out_of_extends = have_t && in->extends >= t.max_extends;
	bool can_extend = !at_max_ttl && !out_of_extends;
	struct buf *b = &r->body;
	const char *name;

	if (secs < 0)
		secs = 0;
	api_instance_url(a, in->id, "/", url, sizeof(url));
	admin_url[0] = '\0';
	if (have_t && t.admin_path[0] != '\0')
		api_instance_url(a, in->id, t.admin_path, admin_url, sizeof(admin_url));
	format_left(secs, left, sizeof(left));
	format_clock(in->expires_at, until, sizeof(until));
	name = have_t && t.look.product_name[0] != '\0' ? t.look.product_name : NULL;
	page_begin_look(r, have_t ? &t.look : api_look(a), 200, "Your demo is ready", NULL, 0);
	buf_appends(b, "<h1>Your demo is ready</h1>\n<dl><dt>");
	html_escape(b, name != NULL ? name : "Site");
	buf_appends(b, "</dt><dd><a href=\"");
	html_escape(b, url);
	buf_appends(b, "\" target=\"_blank\" rel=\"noopener\">");
	html_escape(b, url);
	buf_appends(b, "</a></dd>");
	if (admin_url[0] != '\0') {
		buf_appends(b, "<dt>Admin</dt><dd><a href=\"");
		html_escape(b, admin_url);
		buf_appends(b, "\" target=\"_blank\" rel=\"noopener\">");
		html_escape(b, admin_url);
		buf_appends(b, "</a></dd>");
	}
	if (have_t && t.admin_user[0] != '\0') {
		buf_appends(b, "<dt>User</dt><dd><code>");
		html_escape(b, t.admin_user);
		buf_appends(b, "</code></dd><dt>Password</dt><dd><code>");
		html_escape(b, api_admin_password(in, &t));
		buf_appends(b, "</code></dd>");
	}
	buf_appends(b, "</dl>\n<a class=\"btn\" href=\"");
	html_escape(b, url);
	buf_appends(b, "\" target=\"_blank\" rel=\"noopener\">Open ");
	html_escape(b, name != NULL ? name : "the site");
	buf_appends(b, "</a>\n");
	buf_printf(b,
		   "<p style=\"margin-top:1.5rem\">Time left</p>"
		   "<div class=\"timer\" id=\"left\" data-s=\"%lld\" role=\"timer\">%s</div>\n"
		   "<p class=\"mut\">Ends at <time id=\"until\" datetime=\"%lld\">%s</time>. "
		   "Everything you changed is deleted then.</p>\n",
		   secs, left, in->expires_at, until);
	buf_appends(b, "<div class=\"row\">");
	if (can_extend)
		buf_printf(
		    b,
		    "<form method=\"post\" action=\"/demos/%s/extend\">"
		    "<input type=\"hidden\" name=\"minutes\" value=\"%d\">"
		    "<button class=\"btn sec\" type=\"submit\">Extend %d min</button></form>",
		    in->id, EXTEND_MINUTES, EXTEND_MINUTES);
	buf_printf(b,
		   "<form method=\"post\" action=\"/demos/%s/end\" onsubmit=\"return confirm("
		   "'End your demo now? Everything in it will be deleted.')\">"
		   "<button class=\"btn bad\" type=\"submit\">End now</button></form></div>\n",
		   in->id);
	if (at_max_ttl)
		buf_appends(b, "<p class=\"mut\">This demo has reached its longest allowed "
			       "time.</p>\n");
	else if (out_of_extends)
		buf_appends(b, "<p class=\"mut\">This demo was extended as often as "
			       "allowed.</p>\n");
	buf_appends(b, "<script>(function(){var u=document.getElementById('until');"
		       "u.textContent=new Date(1000*u.getAttribute('datetime'))"
		       ".toLocaleTimeString([],{hour:'2-digit',minute:'2-digit'});"
		       "var e=document.getElementById('left'),"
		       "end=Date.now()+1000*(+e.getAttribute('data-s'));function f(){"
		       "var s=Math.max(0,Math.round((end-Date.now())/1000));"
		       "e.textContent=Math.floor(s/60)+':'+('0'+s%60).slice(-2);"
		       "if(s>0)setTimeout(f,1000);else setTimeout(function(){location.reload()},"
		       "5000);}f();})();</script>\n");
	page_end(r);
}

/* The one answer for a demo that has ended, never existed, or belongs to
 * another browser (see check_owner). */
static void
page_no_demo(struct api_response *r)
{
	page_message(r, 404, "This demo is not available",
		     "<h1>This demo is not available</h1>\n"
		     "<p>It has ended (its time is up or it was ended, and everything in it "
		     "was deleted), or it was started in another browser: a demo can only "
		     "be opened from the browser that started it. You can start a fresh "
		     "one.</p>\n",
		     0, NULL, "Start a new demo", "");
}

/* The answer to a claim posted from another site (an allowed origin): the
 * cookie is set here, and this page, now our own, moves on to the ready
 * page, a same-site navigation that carries it. */
static void
page_handoff(const struct api *a, struct api_response *r, const char *url)
{
	page_begin_look(r, api_look(a), 200, "Your demo is ready", NULL, 0);
	buf_appends(&r->body, "<h1>Your demo is ready</h1>\n<p>Opening it&hellip;</p>\n"
			      "<a class=\"btn\" id=\"go\" href=\"");
	html_escape(&r->body, url);
	buf_appends(&r->body, "\">Open your demo</a>\n<script>location.replace("
			      "document.getElementById('go').getAttribute('href'));</script>\n");
	page_end(r);
}

/* --- actions ------------------------------------------------------------- */

/* since: when the visitor pressed "start" (unix seconds), carried through
 * the waiting page's refreshes. */
static void
do_claim(const struct api *a, const struct api_request *req, struct api_response *r,
	 const char *tmpl_name, long long since)
{
	struct instance in;
	struct api_template t;
	char err[512], url[160];
	bool unknown;
	int retry_ms;

	switch (api_claim(a, tmpl_name, req->client_ip, false, &in, &t, &retry_ms, &unknown, err,
			  sizeof(err))) {
	case CLAIM_OK:
		set_owner_cookie(a, r, &in, t.max_ttl_s > 0 ? t.max_ttl_s : 86400);
		snprintf(url, sizeof(url), "/demo/%s", in.id);
		r->claimed = true;
		if (req->origin != NULL && !origin_is_base(a->base_domain, req->origin))
			page_handoff(a, r, url);
		else
			redirect(r, url);
		return;
	case CLAIM_PROVISIONING:
		/* Post/redirect/get: reloading the waiting page never posts again. */
		snprintf(url, sizeof(url), "/wait?template=%s&since=%lld", t.name, since);
		redirect(r, url);
		return;
	case CLAIM_AT_CAPACITY:
		page_capacity(r, t.name);
		return;
	case CLAIM_CLIENT_LIMIT:
		page_client_limit(a, r);
		return;
	case CLAIM_ERROR:
		if (unknown) {
			pages_error(r, 404, "No such demo", "There is no demo by that name.");
			return;
		}
		log_warnx("page claim failed template=%s ip=%s error=\"%s\"", t.name,
			  req->client_ip, err);
		page_unavailable(r, t.name);
		return;
	}
}

static void
action_start(const struct api *a, const struct api_request *req, struct api_response *r)
{
	char tmpl[64] = "";

	if (strstr(req->body, "template=") != NULL &&
	    (form_get(req->body, req->body_len, "template", tmpl, sizeof(tmpl)) == -1 ||
	     (tmpl[0] != '\0' && validate_name(tmpl, NULL, 0) == -1))) {
		pages_error(r, 400, "Bad request", "The form sent an invalid template name.");
		return;
	}
	do_claim(a, req, r, tmpl, api_now(a));
}

/* since as a browser sent it back: a unix time not in the future, else now. */
static long long
parse_since(const struct api *a, const char *since_s)
{
	long long now = api_now(a), v;
	char *end;

	if (since_s == NULL)
		return now;
	v = strtoll(since_s, &end, 10);
	return end != since_s && *end == '\0' && v > 0 && v <= now ? v : now;
}

/* A wait after this wait's claim went through (a reload, a second tab) must
 * not claim a second demo: the browser already owns one that was claimed
 * after the visitor pressed "start". True after answering with it. */
static bool
already_claimed(const struct api *a, const struct api_request *req, struct api_response *r,
		const char *tmpl, long long since)
{
	char cid[ID_SIZE], tok[INSTANCE_TOKEN_SIZE + 8], url[160];
	struct instance in;

	if (owner_cookie(a, req, cid, tok, sizeof(tok)) == -1 ||
	    check_owner(a, req, cid, &in) != OWNED || in.claimed_at < since ||
	    (tmpl[0] != '\0' && strcmp(tmpl, in.template_name) != 0))
		return false;
	snprintf(url, sizeof(url), "/demo/%s", cid);
	redirect(r, url);
	return true;
}

/* GET /wait: the waiting page; never claims. */
static void
show_wait(const struct api *a, const struct api_request *req, struct api_response *r)
{
	const char *tmpl = api_arg(req, "template");
	long long since = parse_since(a, api_arg(req, "since"));

	if (tmpl == NULL)
		tmpl = "";
	if (tmpl[0] != '\0' && validate_name(tmpl, NULL, 0) == -1) {
		pages_error(r, 400, "Bad request", "Invalid template name.");
		return;
	}
	if (already_claimed(a, req, r, tmpl, since))
		return;
	page_waiting(a, r, tmpl, since);
}

/* POST /wait (form: template, since): claims again. */
static void
action_wait(const struct api *a, const struct api_request *req, struct api_response *r)
{
	char tmpl[64] = "", since_s[24] = "";
	long long since;

	if ((strstr(req->body, "template=") != NULL &&
	     form_get(req->body, req->body_len, "template", tmpl, sizeof(tmpl)) == -1) ||
	    (tmpl[0] != '\0' && validate_name(tmpl, NULL, 0) == -1)) {
		pages_error(r, 400, "Bad request", "The form sent an invalid template name.");
		return;
	}
	since = parse_since(
	    a, form_get(req->body, req->body_len, "since", since_s, sizeof(since_s)) == 0 ? since_s
											  : NULL);
	if (already_claimed(a, req, r, tmpl, since))
		return;
	do_claim(a, req, r, tmpl, since);
}

static void
action_extend(const struct api *a, const struct api_request *req, struct api_response *r,
	      const char *id)
{
	struct instance in, out;
	char mins[16] = "", err[256], url[160];
	long minutes = EXTEND_MINUTES;
	char *end;
	int rc;

	if (form_get(req->body, req->body_len, "minutes", mins, sizeof(mins)) == 0) {
		minutes = strtol(mins, &end, 10);
		if (end == mins || *end != '\0' || minutes < 1 || minutes > API_MAX_MINUTES) {
			pages_error(r, 400, "Bad request", "minutes must be between 1 and 1440.");
			return;
		}
	}
	switch (check_owner(a, req, id, &in)) {
	case OWNED:
		break;
	case NO_DEMO:
		page_no_demo(r);
		return;
	case STORE_DOWN:
		page_unavailable(r, NULL);
		return;
	}
	rc = a->backend.ops->extend(a->backend.ctx, id, (int)minutes, &out, err, sizeof(err));
	if (rc == EXTEND_LIMIT_REACHED) {
		pages_error(r, 409, "No more extensions",
			    "This demo was extended as often as allowed. It ends at the time "
			    "shown on its page.");
		return;
	}
	if (rc == -1) {
		log_warnx("page extend failed id=%s error=\"%s\"", id, err);
		page_unavailable(r, NULL);
		return;
	}
	snprintf(url, sizeof(url), "/demo/%s", id);
	redirect(r, url);
}

static void
action_end(const struct api *a, const struct api_request *req, struct api_response *r,
	   const char *id)
{
	struct instance in;
	char err[256];

	switch (check_owner(a, req, id, &in)) {
	case OWNED:
		break;
	case NO_DEMO: {
		char cid[ID_SIZE], tok[INSTANCE_TOKEN_SIZE + 8];

		/* A cookie for this id is of no use any more; whether the demo
		 * ended or never was this browser's is not told apart. */
		page_no_demo(r);
		if (owner_cookie(a, req, cid, tok, sizeof(tok)) == 0 && strcmp(cid, id) == 0)
			clear_owner_cookie(a, r);
		return;
	}
	case STORE_DOWN:
		page_unavailable(r, NULL);
		return;
	}
	if (a->backend.ops->release(a->backend.ctx, id, err, sizeof(err)) == -1) {
		log_warnx("page release failed id=%s error=\"%s\"", id, err);
		page_unavailable(r, NULL);
		return;
	}
	clear_owner_cookie(a, r);
	redirect(r, "/?ended=1");
}

static void
show_demo(const struct api *a, const struct api_request *req, struct api_response *r,
	  const char *id)
{
	struct instance in;

	switch (check_owner(a, req, id, &in)) {
	case OWNED:
		page_ready(a, r, &in);
		return;
	case NO_DEMO:
		page_no_demo(r);
		return;
	case STORE_DOWN:
		page_unavailable(r, NULL);
		return;
	}
}

/* "/demo/ID" or "/demos/ID/<action>": copies a valid id and returns what
 * follows it ("" or "/action"), or NULL. */
static const char *
path_id(const char *path, const char *prefix, char id[ID_SIZE])
{
	size_t n = strlen(prefix);
	const char *rest;

	if (strncmp(path, prefix, n) != 0 || strlen(path + n) < ID_LEN)
		return NULL;
	memcpy(id, path + n, ID_LEN);
	id[ID_LEN] = '\0';
	rest = path + n + ID_LEN;
	if (!id_valid(id) || (*rest != '\0' && *rest != '/'))
		return NULL;
	return rest;
}

/* True when the Host names a demo ("<id>.<base_domain>"): its route is gone
 * and the front door handed the request to us. */
static bool
host_is_demo(const struct api *a, const char *host)
{
	size_t bl, hl;
	char id[ID_SIZE], bare[256];
	const char *name = host;
	int port;

	if (host == NULL || a->base_domain == NULL)
		return false;
	if (strchr(host, ':') != NULL) {
		if (hostport_split(host, bare, sizeof(bare), &port, NULL, 0) == -1)
			return false;
		name = bare;
	}
	hl = strlen(name);
	bl = strlen(a->base_domain);
	if (hl != ID_LEN + 1 + bl || name[ID_LEN] != '.' ||
	    strncasecmp(name + ID_LEN + 1, a->base_domain, bl) != 0)
		return false;
	memcpy(id, name, ID_LEN);
	id[ID_LEN] = '\0';
	return id_valid(id);
}

/* A form post must come from our own pages or, for a claim, from an origin
 * of allowed_origins: an Origin header, when the browser sends one, must say
 * so. Defence in depth next to the SameSite=Strict cookie (which does not
 * stop a sibling subdomain). */
static bool
origin_ok(const struct api *a, const struct api_request *req)
{
	if (req->origin == NULL || origin_is_base(a->base_domain, req->origin))
		return true;
	return pages_is_claim(req) && origin_in_list(api_allowed_origins(a), req->origin);
}

/* Appends the origin ("scheme://host[:port]") of an absolute URL, once. */
static void
csp_add_origin(struct buf *b, const char *url)
{
	const char *h;
	char o[CONFIG_STR + 2];
	size_t n;

	if (url == NULL || validate_page_url(url, NULL, 0) == -1 ||
	    (h = strstr(url, "://")) == NULL)
		return;
	n = (size_t)(h + 3 - url) + strcspn(h + 3, "/?#");
	if (n >= sizeof(o) - 1)
		return;
	o[0] = ' ';
	memcpy(o + 1, url, n);
	o[n + 1] = '\0';
	if (strstr(buf_str(b), o) == NULL)
		buf_appends(b, o);
}

void
pages_csp(const struct api *a, char *out, size_t outlen)
{
	struct api_pool_info *pools = xcalloc(API_MAX_TEMPLATES, sizeof(*pools));
	struct buf b;
	int n = a->backend.ops->pools(a->backend.ctx, pools, API_MAX_TEMPLATES);

	buf_init(&b, outlen - 1);
	buf_appends(&b,
		    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
		    "img-src 'self'");
	if (api_look(a) != NULL)
		csp_add_origin(&b, api_look(a)->logo_url);
	for (int i = 0; i < n; i++)
		csp_add_origin(&b, pools[i].tmpl.look.logo_url);
	if (buf_appends(&b, "; form-action 'self'; base-uri 'none'; frame-ancestors 'none'") == -1)
		snprintf(out, outlen,
			 "default-src 'none'; style-src 'unsafe-inline'; "
			 "script-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
			 "base-uri 'none'; frame-ancestors 'none'");
	else
		snprintf(out, outlen, "%s", buf_str(&b));
	buf_free(&b);
	free(pools);
}

/*
 * /embed.js, for the operator's product page (docs/EMBED.md): every
 * <form data-demux> posts to this demux's /start (unless it names an
 * action) into a new tab, where the demo's ready page opens. Without the
 * script the same form works, in the same tab or with target="_blank".
 */
static const char embed_js[] =
    "/* demux: the product page's \"Try it\" form (docs/EMBED.md). */\n"
    "(function(){var s=document.currentScript;if(!s)return;"
    "var base=new URL(s.src).origin;"
    "function wire(f){if(!f.getAttribute('action'))f.action=base+'/start';f.method='post';"
    "if(!f.target)f.target='_blank';}"
    "function all(){var fs=document.querySelectorAll('form[data-demux]');"
    "for(var i=0;i<fs.length;i++)wire(fs[i]);}"
    "if(document.readyState==='loading')document.addEventListener('DOMContentLoaded',all);"
    "else all();})();\n";

static void
serve_embed_js(struct api_response *r)
{
	r->status = 200;
	r->content_type = "text/javascript; charset=utf-8";
	buf_reset(&r->body);
	buf_appends(&r->body, embed_js);
}

bool
pages_is_claim(const struct api_request *req)
{
	return strcmp(req->method, "POST") == 0 &&
	       (strcmp(req->path, "/start") == 0 || strcmp(req->path, "/wait") == 0);
}

void
pages_handle(const struct api *a, const struct api_request *req, struct api_response *r)
{
	bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	bool post = strcmp(req->method, "POST") == 0;
	const char *rest;
	char id[ID_SIZE];

	if (host_is_demo(a, req->host)) {
		page_no_demo(r);
		return;
	}
	if (post && !origin_ok(a, req)) {
		pages_error(
		    r, 403, "Not allowed",
		    "This form was sent from another site. Start from the demo's own page.");
		return;
	}
	if (strcmp(req->path, "/") == 0 && get) {
		page_landing(a, req, r);
	} else if (strcmp(req->path, "/start") == 0 && post) {
		action_start(a, req, r);
	} else if (strcmp(req->path, "/wait") == 0 && get) {
		show_wait(a, req, r);
	} else if (strcmp(req->path, "/wait") == 0 && post) {
		action_wait(a, req, r);
	} else if ((rest = path_id(req->path, "/demo/", id)) != NULL && *rest == '\0' && get) {
		show_demo(a, req, r, id);
	} else if ((rest = path_id(req->path, "/demos/", id)) != NULL && post &&
		   strcmp(rest, "/extend") == 0) {
		action_extend(a, req, r, id);
	} else if ((rest = path_id(req->path, "/demos/", id)) != NULL && post &&
		   strcmp(rest, "/end") == 0) {
		action_end(a, req, r, id);
	} else if (strcmp(req->path, "/embed.js") == 0 && get) {
		serve_embed_js(r);
	} else if (strcmp(req->path, "/favicon.ico") == 0) {
		r->status = 204;
		r->content_type = "image/x-icon";
		buf_reset(&r->body);
	} else if (strcmp(req->path, "/start") == 0 || strcmp(req->path, "/") == 0 ||
		   strcmp(req->path, "/wait") == 0) {
		snprintf(r->allow, sizeof(r->allow), "%s",
			 strcmp(req->path, "/start") == 0  ? "POST"
			 : strcmp(req->path, "/wait") == 0 ? "GET, HEAD, POST"
							   : "GET, HEAD");
		pages_error(r, 405, "Method not allowed", "This page does not accept that method.");
	} else {
		pages_error(r, 404, "Page not found", "There is nothing at this address.");
	}
}
