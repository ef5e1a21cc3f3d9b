/*
 * pages — the visitor's side of demux, served at the base domain: a landing
 * page with "Start your demo", a waiting page while an instance is prepared,
 * the ready page of a demo (links, credentials, a live countdown, "extend"
 * and "end now"), and the "all demos are in use" page.
 *
 * Plain HTML with inline CSS and a few lines of inline JavaScript (countdown,
 * elapsed time); everything works without JavaScript. No external assets.
 *
 * Routes (everything that is not /api/, /healthz or /metrics):
 *   GET  /                    landing page
 *   POST /start               claim (form field template, optional)
 *   GET  /wait?template=T     the waiting page; never claims
 *   POST /wait                claim again (form fields template, since): the
 *                             waiting page's form, submitted by its script
 *   GET  /demo/ID             the ready page (owner cookie required)
 *   POST /demos/ID/extend     form field minutes (default 30)
 *   POST /demos/ID/end        release now
 *   GET  /embed.js            the script of the product page's "Try it"
 *                             form (docs/EMBED.md)
 *
 * Claims (POST /start, /wait) are taken from demux's own pages and from the
 * origins of [server] allowed_origins (a product page's form); a browser
 * naming any other Origin gets 403. A claim from another site answers 200
 * with a page that moves on to /demo/ID by itself rather than a 303: after
 * a cross-site POST, the browser would not send the SameSite=Strict cookie
 * on the redirect.
 *
 * The owner of a demo is the browser holding its owner token in the cookie
 * demux_owner ("<id>.<token>", HttpOnly, SameSite=Strict, host-only so the
 * demo's own subdomain never sees it), set when the claim succeeds. With
 * https it is __Host-demux_owner (Secure, Path=/, no Domain), which a page
 * on a sibling subdomain cannot set: only that name is read then.
 * SameSite=Strict is what makes the two POST forms safe from other sites.
 */
#ifndef DEMUX_PAGES_H
#define DEMUX_PAGES_H

#include <stdbool.h>

#include "api.h"

#define PAGES_COOKIE "demux_owner"
#define PAGES_COOKIE_HOST "__Host-demux_owner" /* its name when public_scheme is https */

/* True for requests that may hand out an instance (POST /start, POST /wait).
 * Only POSTs claim: a GET can be sent by any page a visitor reads. */
bool pages_is_claim(const struct api_request *req);
void pages_handle(const struct api *a, const struct api_request *req, struct api_response *resp);
/* The Content-Security-Policy of the HTML pages: nothing external but the
 * configured logos' origins. */
#define PAGES_CSP_MAX 1024
void pages_csp(const struct api *a, char *out, size_t outlen);
/* Replaces the response with a small HTML page (title and one paragraph). */
void pages_error(struct api_response *resp, int status, const char *title, const char *message);

#endif
