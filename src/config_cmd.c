/*
 * config_cmd — "demux config check": load a configuration the way the daemon
 * does and report the first problem, or a summary when it is valid.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"

int
cmd_config(int argc, char **argv)
{
	const char *path = getenv("DEMUX_CONFIG");
	struct config *cfg;
	char err[1024];
	int rc = 1;

	if (argc < 2 || strcmp(argv[1], "check") != 0) {
		fprintf(stderr, "usage: demux config check [--config FILE]\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			path = argv[++i];
		} else {
			fprintf(stderr, "usage: demux config check [--config FILE]\n");
			return 2;
		}
	}
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL)
		return 1;
	if (config_load(cfg, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: %s\n", err);
		goto out;
	}
	printf("%s: ok (%d pool%s, proxy %s, store %s, base_domain %s)\n",
	       path != NULL ? path : "defaults", cfg->npools, cfg->npools == 1 ? "" : "s",
	       cfg->proxy_backend == PROXY_CADDY ? "caddy" : "haproxy",
	       cfg->store_backend == STORE_SQLITE ? "sqlite" : "valkey", cfg->base_domain);
	rc = 0;
out:
	free(cfg);
	return rc;
}
