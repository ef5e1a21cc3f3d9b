/*
 * proxy_cmd — "demux proxy": print the proxy config demux expects, and change
 * routes by hand through the backend [proxy] backend names (the same calls
 * the daemon makes, for operators and for the integration tests).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "commands.h"
#include "config.h"
#include "proxy/caddy.h"
#include "proxy/haproxy.h"
#include "proxy/proxy.h"
#include "xmalloc.h"

#define PROXY_CONFIG_MAX (1u << 20)
#define PROXY_BATCH_LINE 1024
#define PROXY_BATCH_ARGS 8

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: demux proxy config caddy|haproxy [--config FILE]\n"
		"       demux proxy front [--config FILE]\n"
		"       demux proxy add HOST UPSTREAM [--config FILE]\n"
		"       demux proxy remove HOST [--config FILE]\n"
		"       demux proxy list [--config FILE]\n"
		"       demux proxy batch [--config FILE]\n\n"
		"config prints the Caddy JSON config or the haproxy.cfg demux expects; start the\n"
		"proxy with it. The other commands act on the proxy chosen by [proxy] backend,\n"
		"as the daemon does: front makes sure the base domain reaches demux's listener;\n"
		"add publishes HOST (<id>.<base_domain>) at UPSTREAM (IPv4:PORT); remove takes\n"
		"it away (a route already gone is not an error); list prints demux's routes.\n"
		"batch reads such commands from standard input, one per line, on one\n"
		"connection setup, and answers each with 'ok' or 'error: REASON'.\n"
		"The configuration comes from --config FILE or $DEMUX_CONFIG.\n");
}

static int
print_config(const struct config *cfg, const char *which)
{
	struct buf out;
	char err[512];
	int rc = 1;

	buf_init(&out, PROXY_CONFIG_MAX);
	if (strcmp(which, "caddy") == 0) {
		if (caddy_config_text(cfg, &out, err, sizeof(err)) == -1)
			goto out;
	} else if (strcmp(which, "haproxy") == 0) {
		if (haproxy_config_text(cfg, &out, err, sizeof(err)) == -1)
			goto out;
	} else {
		usage(stderr);
		rc = 2;
		goto out;
	}
	fputs(buf_str(&out), stdout);
	rc = 0;
out:
	if (rc == 1)
		fprintf(stderr, "demux: %s\n", err);
	buf_free(&out);
	return rc;
}

/* Runs one route command; results to out. 0, 1 (failed) or 2 (usage). */
static int
run(struct proxy *p, const struct config *cfg, int argc, char **argv, FILE *out, char *err,
    size_t errlen)
{
	const struct route_ops *o = p->ops;
	struct route *routes = NULL;
	int n = 0;

	if (argc == 1 && strcmp(argv[0], "front") == 0)
		return o->ensure_front(p->ctx, cfg->base_domain, config_front(cfg), err, errlen)
			   ? 1
			   : 0;
	if (argc == 3 && strcmp(argv[0], "add") == 0)
		return o->add(p->ctx, argv[1], argv[2], err, errlen) ? 1 : 0;
	if (argc == 2 && strcmp(argv[0], "remove") == 0)
		return o->remove(p->ctx, argv[1], err, errlen) ? 1 : 0;
	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		if (o->list(p->ctx, &routes, &n, err, errlen) == -1)
			return 1;
		for (int i = 0; i < n; i++)
			fprintf(out, "%s %s\n", routes[i].host, routes[i].upstream);
		free(routes);
		return 0;
	}
	snprintf(err, errlen,
		 "unknown command or wrong number of arguments (see 'demux proxy --help')");
	return 2;
}

static int
batch(struct proxy *p, const struct config *cfg)
{
	char line[PROXY_BATCH_LINE], err[1024];
	int rc = 0;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		char *args[PROXY_BATCH_ARGS], *save = NULL, *tok;
		int argc = 0;

		if (strchr(line, '\n') == NULL && !feof(stdin)) {
			int c;

			while ((c = getchar()) != EOF && c != '\n')
				;
			printf("error: line longer than %d bytes\n", PROXY_BATCH_LINE - 2);
			rc = 1;
			fflush(stdout);
			continue;
		}
		for (tok = strtok_r(line, " \t\r\n", &save); tok != NULL && argc < PROXY_BATCH_ARGS;
		     tok = strtok_r(NULL, " \t\r\n", &save))
			args[argc++] = tok;
		if (argc == 0 || args[0][0] == '#')
			continue;
		if (run(p, cfg, argc, args, stdout, err, sizeof(err)) == 0) {
			printf("ok\n");
		} else {
			printf("error: %s\n", err);
			rc = 1;
		}
		fflush(stdout);
	}
	return rc;
}

int
cmd_proxy(int argc, char **argv)
{
	const char *path = getenv("DEMUX_CONFIG");
	char **args = xcalloc((size_t)argc + 1, sizeof(*args));
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	struct proxy p = {NULL, NULL};
	char err[1024];
	int nargs = 0, rc = 2;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			rc = 0;
			goto out;
		} else {
			args[nargs++] = argv[i];
		}
	}
	if (nargs == 0) {
		usage(stderr);
		goto out;
	}
	rc = 1;
	if (config_load(cfg, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: %s\n", err);
		goto out;
	}
	if (strcmp(args[0], "config") == 0) {
		if (nargs != 2) {
			usage(stderr);
			rc = 2;
			goto out;
		}
		rc = print_config(cfg, args[1]);
		goto out;
	}
	if (proxy_open(&p, cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: %s\n", err);
		goto out;
	}
	if (nargs == 1 && strcmp(args[0], "batch") == 0) {
		rc = batch(&p, cfg);
		goto out;
	}
	rc = run(&p, cfg, nargs, args, stdout, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "demux: %s\n", err);
out:
	proxy_close(&p);
	free(cfg);
	free(args);
	return rc;
}
