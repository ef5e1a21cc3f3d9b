/*
 * podman_network — the Podman bridge networks demo copies live on.
 *
 * Every template container, and so every copy restored from its checkpoint
 * (a restore keeps the networks of the checkpointed container), is attached
 * to a network demux owns: a bridge with a fixed interface name, no DNS
 * server (nothing for a copy to query on the host) and an IPv4 subnet. The
 * firewall module names that interface and subnet in its rules
 * (docs/SECURITY.md).
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "container/podman.h"
#include "firewall.h"
#include "log.h"
#include "validate.h"

#define NETWORK_BODY_MAX ((size_t)256 * 1024)

static int
copy_string(char *dst, size_t dstlen, json_t *v)
{
	const char *s = json_string_value(v);

	if (s == NULL || strlen(s) >= dstlen)
		return -1;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

int
podman_parse_network(const char *json, struct podman_network *out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loads(json, 0, &jerr), *subnets, *sub;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (root == NULL) {
		snprintf(err, errlen, "Podman network: not JSON (%s)", jerr.text);
		return -1;
	}
	if (copy_string(out->name, sizeof(out->name), json_object_get(root, "name")) == -1 ||
	    copy_string(out->interface, sizeof(out->interface),
			json_object_get(root, "network_interface")) == -1) {
		snprintf(err, errlen, "Podman network: no name or interface");
		goto out;
	}
	out->internal = json_is_true(json_object_get(root, "internal"));
	subnets = json_object_get(root, "subnets");
	for (size_t i = 0; i < json_array_size(subnets); i++) {
		char s[sizeof(out->subnet)];
		sub = json_array_get(subnets, i);
		/* The IPv4 subnet; an IPv6 one would have a ':'. */
		if (copy_string(s, sizeof(s), json_object_get(sub, "subnet")) == 0 &&
		    strchr(s, ':') == NULL) {
			memcpy(out->subnet, s, sizeof(s));
			break;
		}
	}
	if (out->subnet[0] == '\0') {
		snprintf(err, errlen, "Podman network %s has no IPv4 subnet", out->name);
		goto out;
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

static int
network_get(struct podman *p, const char *name, bool *found, struct podman_network *out, char *err,
	    size_t errlen)
{
	struct buf path, body;
	long status = 0;
	int ret = -1;

	buf_init(&path, 512);
	buf_init(&body, NETWORK_BODY_MAX);
	*found = false;
	if (buf_printf(&path, "/networks/%s/json", name) == -1 ||
	    podman_json_call(p, "GET", buf_str(&path), NULL, &status, &body, err, errlen) == -1)
		goto out;
	if (status == 404) {
		ret = 0;
		goto out;
	}
	if (status != 200) {
		podman_error_message(status, buf_str(&body), err, errlen);
		goto out;
	}
	if (podman_parse_network(buf_str(&body), out, err, errlen) == -1)
		goto out;
	*found = true;
	ret = 0;
out:
	buf_free(&path);
	buf_free(&body);
	return ret;
}

static int
network_create(struct podman *p, const char *name, const char *interface, const char *subnet,
	       char *err, size_t errlen)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:b, s:b}", "name", name, "driver", "bridge",
			      "network_interface", interface, "dns_enabled", 0, "ipv6_enabled", 0,
			      "internal", 0);
	struct buf body;
	long status = 0;
	char *json = NULL;
	int ret = -1;

	buf_init(&body, NETWORK_BODY_MAX);
	if (o == NULL)
		fatalx("json_pack: out of memory");
	if (subnet != NULL && subnet[0] != '\0')
		json_object_set_new(o, "subnets", json_pack("[{s:s}]", "subnet", subnet));
	if ((json = json_dumps(o, JSON_COMPACT)) == NULL)
		fatalx("json_dumps: out of memory");
	if (podman_json_call(p, "POST", "/networks/create", json, &status, &body, err, errlen) ==
	    -1)
		goto out;
	if (status != 200) {
		podman_error_message(status, buf_str(&body), err, errlen);
		goto out;
	}
	log_debug("network created name=%s interface=%s subnet=%s", name, interface,
		  subnet != NULL && subnet[0] != '\0' ? subnet : "(Podman's choice)");
	ret = 0;
out:
	free(json);
	json_decref(o);
	buf_free(&body);
	return ret;
}

int
podman_network_ensure(struct podman *p, const char *name, const char *interface, const char *subnet,
		      struct podman_network *out, char *err, size_t errlen)
{
	bool found = false;

	if (validate_name(name, err, errlen) == -1 ||
	    firewall_validate_interface(interface, err, errlen) == -1 ||
	    (subnet != NULL && subnet[0] != '\0' &&
	     firewall_validate_subnet(subnet, err, errlen) == -1))
		return -1;
	if (network_get(p, name, &found, out, err, errlen) == -1)
		return -1;
	if (!found && (network_create(p, name, interface, subnet, err, errlen) == -1 ||
		       network_get(p, name, &found, out, err, errlen) == -1))
		return -1;
	if (!found) {
		snprintf(err, errlen, "Podman network %s: created but not found", name);
		return -1;
	}
	if (strcmp(out->interface, interface) != 0) {
		snprintf(
		    err, errlen,
		    "Podman network %s uses interface %s, not %s (remove it: podman network rm "
		    "%s)",
		    name, out->interface, interface, name);
		return -1;
	}
	if (subnet != NULL && subnet[0] != '\0' && strcmp(out->subnet, subnet) != 0) {
		snprintf(err, errlen,
			 "Podman network %s has subnet %s, not %s (remove it: podman "
			 "network rm %s)",
			 name, out->subnet, subnet, name);
		return -1;
	}
	return firewall_validate_subnet(out->subnet, err, errlen);
}
