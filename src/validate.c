/*
 * validate — input checks shared by the SQL, proxy and HTTP layers.
 */
#include "validate.h"

#include <stdio.h>
#include <string.h>

#include "errf.h"
#include "hostport.h"
#include "id.h"

static int
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int
validate_prefix(const char *prefix, char *err, size_t errlen)
{
	size_t i;

	if (prefix == NULL || prefix[0] == '\0')
		return errf(err, errlen, "table prefix is empty");
	for (i = 0; prefix[i] != '\0'; i++) {
		if (i >= PREFIX_MAX)
			return errf(err, errlen, "table prefix longer than %d characters",
				    PREFIX_MAX);
		if (!is_alnum(prefix[i]) && prefix[i] != '_')
			return errf(err, errlen,
				    "table prefix has character 0x%02x at position %zu; only "
				    "A-Z, a-z, 0-9 and _ are allowed",
				    (unsigned char)prefix[i], i);
	}
	return 0;
}

void
validate_make_instance_prefix(const char *id, char *out, size_t outlen)
{
	snprintf(out, outlen, "d%s_", id);
}

int
validate_instance_prefix(const char *prefix, char *err, size_t errlen)
{
	char idpart[ID_SIZE];
	size_t len;

	if (validate_prefix(prefix, err, errlen) == -1)
		return -1;
	len = strlen(prefix);
	if (len != ID_LEN + 2 || prefix[0] != 'd' || prefix[len - 1] != '_')
		return errf(err, errlen,
			    "instance table prefix must be 'd' + a %d-character id + '_' (so that "
			    "no prefix is the start of another)",
			    ID_LEN);
	memcpy(idpart, prefix + 1, ID_LEN);
	idpart[ID_LEN] = '\0';
	if (!id_valid(idpart))
		return errf(err, errlen, "instance table prefix does not carry a valid id");
	return 0;
}

int
validate_domain(const char *domain, char *err, size_t errlen)
{
	size_t i, label = 0;

	if (domain == NULL || domain[0] == '\0')
		return errf(err, errlen, "domain is empty");
	for (i = 0; domain[i] != '\0'; i++) {
		char c = domain[i];

		if (i >= DOMAIN_MAX)
			return errf(err, errlen, "domain longer than %d characters", DOMAIN_MAX);
		if (c == '.') {
			if (label == 0)
				return errf(err, errlen,
					    "domain has an empty label at position %zu", i);
			if (domain[i - 1] == '-')
				return errf(err, errlen, "domain label ends with '-'");
			label = 0;
			continue;
		}
		if (!is_alnum(c) && c != '-')
			return errf(err, errlen,
				    "domain has character 0x%02x at position %zu; only ASCII "
				    "letters, digits, '-' and '.' are allowed",
				    (unsigned char)c, i);
		if (c == '-' && label == 0)
			return errf(err, errlen, "domain label starts with '-'");
		if (++label > 63)
			return errf(err, errlen, "domain label longer than 63 characters");
	}
	if (label == 0)
		return errf(err, errlen, "domain ends with '.'");
	if (domain[i - 1] == '-')
		return errf(err, errlen, "domain label ends with '-'");
	return 0;
}

int
validate_host_port(const char *host, char *err, size_t errlen)
{
	char name[256];
	int port;

	if (strchr(host, ':') == NULL)
		return validate_domain(host, err, errlen);
	if (hostport_split(host, name, sizeof(name), &port, err, errlen) == -1)
		return -1;
	return validate_domain(name, err, errlen);
}

int
validate_name(const char *name, char *err, size_t errlen)
{
	size_t i;

	if (name == NULL || name[0] == '\0')
		return errf(err, errlen, "name is empty");
	if (!is_alnum(name[0]))
		return errf(err, errlen, "name must start with a letter or digit");
	for (i = 0; name[i] != '\0'; i++) {
		if (i >= 63)
			return errf(err, errlen, "name longer than 63 characters");
		if (!is_alnum(name[i]) && strchr("_.-", name[i]) == NULL)
			return errf(err, errlen,
				    "name has character 0x%02x; only letters, digits, '_', '.' "
				    "and '-' are allowed",
				    (unsigned char)name[i]);
	}
	return 0;
}

int
validate_url_path(const char *path, char *err, size_t errlen)
{
	size_t i;

	if (path == NULL || path[0] != '/')
		return errf(err, errlen, "path must start with '/'");
	for (i = 0; path[i] != '\0'; i++) {
		unsigned char c = (unsigned char)path[i];

		if (i >= 1024)
			return errf(err, errlen, "path longer than 1024 characters");
		if (c <= 0x20 || c >= 0x7f)
			return errf(err, errlen, "path has a space, control or non-ASCII byte");
	}
	return 0;
}

int
url_scheme_port(const char *scheme)
{
	return scheme != NULL && strcmp(scheme, "https") == 0 ? 443 : 80;
}

void
url_port_suffix(const char *scheme, int port, char out[URL_PORT_SUFFIX_SIZE])
{
	if (port == 0 || port == url_scheme_port(scheme))
		out[0] = '\0';
	else
		snprintf(out, URL_PORT_SUFFIX_SIZE, ":%d", port);
}

int
validate_css_color(const char *color, char *err, size_t errlen)
{
	size_t n = strlen(color);

	if (color[0] != '#' || (n != 4 && n != 7) ||
	    strspn(color + 1, "0123456789abcdefABCDEF") != n - 1)
		return errf(err, errlen, "'%.16s' is not a colour #rgb or #rrggbb", color);
	return 0;
}

int
validate_page_url(const char *url, char *err, size_t errlen)
{
	const char *h = NULL;
	char host[DOMAIN_MAX + 8], e[200];
	size_t n;

	for (const char *p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f ||
		    strchr("\"'<>\\`", *p) != NULL)
			return errf(err, errlen,
				    "URL holds a space, a quote, '<', '>', '\\', '`' or a "
				    "non-ASCII or control character");
	if (strncmp(url, "https://", 8) == 0)
		h = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		h = url + 7;
	else if (url[0] == '/' && url[1] != '/')
		return 0;
	else
		return errf(err, errlen, "'%.80s' is neither an http(s) URL nor a path from /",
			    url);
	n = strcspn(h, "/?#");
	if (n == 0 || n >= sizeof(host))
		return errf(err, errlen, "'%.80s' has no valid host", url);
	memcpy(host, h, n);
	host[n] = '\0';
	if (validate_host_port(host, e, sizeof(e)) == -1)
		return errf(err, errlen, "'%.80s': %s", url, e);
	return 0;
}

int
validate_text_line(const char *text, size_t max, char *err, size_t errlen)
{
	if (strlen(text) > max)
		return errf(err, errlen, "longer than %zu bytes", max);
	for (const char *p = text; *p != '\0'; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			return errf(err, errlen, "holds a control character");
	return 0;
}
