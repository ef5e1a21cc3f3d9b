/*
 * podman_spec — the body of libpod's container create call, built from a
 * struct container_spec (runtime.h): name, image, environment, labels,
 * command, ports on 127.0.0.1, network, capabilities and limits. A pure
 * function, for podman.c and the unit tests.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/podman.h"
#include "log.h"
#include "xmalloc.h"

static int
set_string(json_t *o, const char *key, const char *value)
{
	json_t *s = json_string(value);

	if (s == NULL)
		return -1;
	return json_object_set_new(o, key, s);
}

static json_t *
string_array(const char *const *list)
{
	json_t *a = json_array();

	for (size_t i = 0; list[i] != NULL; i++) {
		json_t *s = json_string(list[i]);

		if (s == NULL || json_array_append_new(a, s) == -1) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* "K=V" pairs into an object; -1 (err set) for an entry without '='. */
static int
pairs_object(json_t *o, const char *const *list, const char *what, char *err, size_t errlen)
{
	for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
		const char *eq = strchr(list[i], '=');
		char *key;
		int rc;

		if (eq == NULL || eq == list[i]) {
			snprintf(err, errlen, "%s '%s' is not KEY=VALUE", what, list[i]);
			return -1;
		}
		key = xstrndup(list[i], (size_t)(eq - list[i]));
		rc = set_string(o, key, eq + 1);
		free(key);
		if (rc == -1) {
			snprintf(err, errlen, "%s '%s' is not valid UTF-8", what, list[i]);
			return -1;
		}
	}
	return 0;
}

int
podman_spec_json(const struct container_spec *spec, char **json, char *err, size_t errlen)
{
	json_t *o = json_object(), *env = json_object(), *labels = json_object();
	json_t *ports = json_array(), *limits = json_object(), *a;
	int ret = -1;

	*json = NULL;
	if (spec->name == NULL || spec->image == NULL || spec->name[0] == '\0' ||
	    spec->image[0] == '\0') {
		snprintf(err, errlen, "container spec needs a name and an image");
		goto out;
	}
	if (set_string(o, "name", spec->name) == -1 || set_string(o, "image", spec->image) == -1) {
		snprintf(err, errlen, "container name or image is not valid UTF-8");
		goto out;
	}
	if (pairs_object(env, spec->env, "environment variable", err, errlen) == -1 ||
	    pairs_object(labels, spec->labels, "label", err, errlen) == -1)
		goto out;
	json_object_set(o, "env", env);
	json_object_set(o, "labels", labels);
	if (spec->command != NULL) {
		if ((a = string_array(spec->command)) == NULL) {
			snprintf(err, errlen, "command is not valid UTF-8");
			goto out;
		}
		json_object_set_new(o, "command", a);
	}
	if (spec->entrypoint != NULL) {
		if ((a = string_array(spec->entrypoint)) == NULL) {
			snprintf(err, errlen, "entrypoint is not valid UTF-8");
			goto out;
		}
		json_object_set_new(o, "entrypoint", a);
	}
	if (spec->nports < 0 || spec->nports > RUNTIME_MAX_PORTS) {
		snprintf(err, errlen, "too many published ports");
		goto out;
	}
	for (int i = 0; i < spec->nports; i++) {
		const struct container_port *cp = &spec->ports[i];

		if (cp->host_port < 1 || cp->host_port > 65535 || cp->container_port < 1 ||
		    cp->container_port > 65535) {
			snprintf(err, errlen, "port mapping %d:%d is out of range", cp->host_port,
				 cp->container_port);
			goto out;
		}
		json_array_append_new(ports,
				      json_pack("{s:s, s:i, s:i, s:s}", "host_ip", "127.0.0.1",
						"host_port", cp->host_port, "container_port",
						cp->container_port, "protocol", "tcp"));
	}
	json_object_set(o, "portmappings", ports);
	if (spec->cap_keep != NULL) {
		if ((a = string_array(spec->cap_keep)) == NULL) {
			snprintf(err, errlen, "capability names are not valid UTF-8");
			goto out;
		}
		json_object_set_new(o, "cap_drop", json_pack("[s]", "ALL"));
		json_object_set_new(o, "cap_add", a);
		json_object_set_new(o, "no_new_privileges", json_true());
	}
	if (spec->network != NULL && spec->network[0] != '\0') {
		json_object_set_new(o, "netns", json_pack("{s:s}", "nsmode", "bridge"));
		json_object_set_new(o, "Networks", json_pack("{s:{}}", spec->network));
	}
	if (spec->memory_bytes > 0)
		json_object_set_new(limits, "memory",
				    json_pack("{s:I}", "limit", (json_int_t)spec->memory_bytes));
	if (spec->pids_limit > 0)
		json_object_set_new(limits, "pids",
				    json_pack("{s:I}", "limit", (json_int_t)spec->pids_limit));
	if (spec->cpus > 0)
		json_object_set_new(limits, "cpu",
				    json_pack("{s:I, s:I}", "quota",
					      (json_int_t)(spec->cpus * 100000.0 + 0.5), "period",
					      (json_int_t)100000));
	if (json_object_size(limits) > 0)
		json_object_set(o, "resource_limits", limits);
	if (spec->disk_bytes > 0) {
		char size[32];

		snprintf(size, sizeof(size), "%lld", spec->disk_bytes);
		json_object_set_new(o, "storage_opts", json_pack("{s:s}", "size", size));
	}
	*json = json_dumps(o, JSON_COMPACT);
	if (*json == NULL)
		fatalx("json_dumps: out of memory");
	ret = 0;
out:
	json_decref(o);
	json_decref(env);
	json_decref(labels);
	json_decref(ports);
	json_decref(limits);
	return ret;
}
