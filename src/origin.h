/*
 * origin — which web origins may start demos from their own pages.
 *
 * A browser names the page a request comes from in its Origin header
 * ("https://www.example.com", port only when not the scheme's default, no
 * path). demux's own pages live at the base domain; besides those, only the
 * origins of [server] allowed_origins may post claims (the product page's
 * "Try it" form, docs/EMBED.md) and read the JSON API's answers (CORS).
 */
#ifndef DEMUX_ORIGIN_H
#define DEMUX_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>

#define ORIGIN_MAX 256	   /* one origin */
#define ORIGIN_LIST_MAX 16 /* entries of allowed_origins */

/* A list of origins separated by commas and/or white space, each
 * "http(s)://host[:port]" with a valid host, nothing after it. "" is an
 * empty list. 0, or -1 with a reason naming the entry. */
int origin_validate_list(const char *list, char *err, size_t errlen);
/* True when origin is one of list's entries (scheme and host compared
 * without regard to case). NULL or "" is never in a list. */
bool origin_in_list(const char *list, const char *origin);
/* True when origin names base_domain itself (any scheme or port): demux's
 * own pages. */
bool origin_is_base(const char *base_domain, const char *origin);

#endif
