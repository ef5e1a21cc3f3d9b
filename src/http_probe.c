/*
 * http_probe — a loopback GET with libcurl, body discarded (see http_probe.h).
 */
#include "http_probe.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "errf.h"
#include "log.h"

#define PROBE_URL_MAX 2048
#define PROBE_HOST_MAX 512

static size_t
discard_body(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

int
http_probe_get(int port, const char *path, const char *host, long connect_ms, long timeout_ms,
	       long *status, char *err, size_t errlen)
{
	return http_probe_get_as(port, path, host, NULL, connect_ms, timeout_ms, status, err,
				 errlen);
}

int
http_probe_get_as(int port, const char *path, const char *host, const char *scheme, long connect_ms,
		  long timeout_ms, long *status, char *err, size_t errlen)
{
	char url[PROBE_URL_MAX], hdr[PROBE_HOST_MAX], proto[32];
	struct curl_slist *hdrs = NULL;
	CURL *c = NULL;
	CURLcode rc;
	int n, ret = -1;

	*status = 0;
	n = snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		errf(err, errlen, "URL path too long (%zu bytes)", strlen(path));
		goto out;
	}
	n = snprintf(hdr, sizeof(hdr), "Host: %s", host);
	if (n < 0 || (size_t)n >= sizeof(hdr)) {
		errf(err, errlen, "Host too long (%zu bytes)", strlen(host));
		goto out;
	}
	if (timeout_ms <= 0)
		timeout_ms = 1;
	if (connect_ms <= 0 || connect_ms > timeout_ms)
		connect_ms = timeout_ms;
	c = curl_easy_init();
	if (c == NULL)
		fatalx("curl_easy_init failed");
	hdrs = curl_slist_append(hdrs, hdr);
	if (hdrs == NULL)
		fatalx("curl_slist_append: out of memory");
	if (scheme != NULL) {
		if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
			errf(err, errlen, "scheme must be http or https");
			goto out;
		}
		snprintf(proto, sizeof(proto), "X-Forwarded-Proto: %s", scheme);
		if ((hdrs = curl_slist_append(hdrs, proto)) == NULL)
			fatalx("curl_slist_append: out of memory");
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		errf(err, errlen, "%s", curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	ret = 0;
out:
	curl_slist_free_all(hdrs);
	if (c != NULL)
		curl_easy_cleanup(c);
	return ret;
}
