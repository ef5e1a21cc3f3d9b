/*
 * validate — checks for everything that reaches SQL, a proxy or a URL.
 *
 * Each function returns 0 when the input is acceptable and -1 otherwise,
 * writing a one-line reason into err (if err is not NULL).
 */
#ifndef DEMUX_VALIDATE_H
#define DEMUX_VALIDATE_H

#include <stddef.h>

#define DOMAIN_MAX 150 /* width of PrestaShop's shop_url.domain column */
#define PREFIX_MAX 32

/* ^[A-Za-z0-9_]{1,32}$ */
int validate_prefix(const char *prefix, char *err, size_t errlen);
/* The per-instance prefix demux generates: "d" + id + "_". Fixed length and
 * ending in "_", so no instance prefix is the prefix of another. */
int validate_instance_prefix(const char *prefix, char *err, size_t errlen);
/* RFC 1123 host name, ASCII, at most DOMAIN_MAX characters, no trailing dot. */
int validate_domain(const char *domain, char *err, size_t errlen);
/* A domain, optionally followed by ":port". */
int validate_host_port(const char *host, char *err, size_t errlen);
/* A container or template name: ^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$ */
int validate_name(const char *name, char *err, size_t errlen);
/* A URL path for health/warm checks: starts with "/", printable ASCII, no spaces. */
int validate_url_path(const char *path, char *err, size_t errlen);
/* A CSS colour as the pages take it: "#rgb" or "#rrggbb" (hex digits). */
int validate_css_color(const char *color, char *err, size_t errlen);
/* A link or image address for the visitor pages: "https://host[:port]/…",
 * "http://host[:port]/…" or a path starting with "/" (not "//"); printable
 * ASCII without spaces, quotes, '<', '>', '\\' or backquotes. */
int validate_page_url(const char *url, char *err, size_t errlen);
/* One line of text for the pages: no control characters, at most max bytes. */
int validate_text_line(const char *text, size_t max, char *err, size_t errlen);
/* The port a URL of scheme (NULL = "http") means when it names none: 443
 * for "https", 80 otherwise. */
int url_scheme_port(const char *scheme);
/* ":<port>" into out, or "" when port is 0 or the scheme's own: the port
 * part of a URL or Host for visitors on that port. */
#define URL_PORT_SUFFIX_SIZE 8
void url_port_suffix(const char *scheme, int port, char out[URL_PORT_SUFFIX_SIZE]);
/* Writes the instance prefix for an id into out (size >= PREFIX_MAX + 1). */
void validate_make_instance_prefix(const char *id, char *out, size_t outlen);

#endif
