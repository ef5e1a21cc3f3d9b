/*
 * isolation_cmd — "demux firewall apply|remove|status": the copies' networks
 * and demux's nftables tables by hand. demux serve applies them at start and
 * keeps them in place; an uninstall (make demo-stop, the service's stop)
 * removes the tables with "remove".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "firewall.h"
#include "isolation.h"
#include "xmalloc.h"

static int
usage(void)
{
	fprintf(stderr, "usage: demux firewall apply|remove|status [--config FILE]\n"
			"  apply   create the copies' Podman networks if missing and (re)write\n"
			"          demux's nftables tables (inet demux, bridge demux)\n"
			"  remove  delete those tables (demo copies are then not isolated)\n"
			"  status  say whether the tables are in place (exit 1 when not)\n");
	return 2;
}

int
cmd_firewall(int argc, char **argv)
{
	const char *path = getenv("DEMUX_CONFIG"), *sub;
	struct config *cfg = NULL;
	struct podman *p = NULL;
	struct isolation iso;
	bool present = false;
	char err[1024];
	int rc = 1;

	if (argc < 2)
		return usage();
	sub = argv[1];
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[++i];
		else
			return usage();
	}
	if (strcmp(sub, "remove") == 0) {
		if (firewall_remove(err, sizeof(err)) == -1) {
			fprintf(stderr, "demux: firewall remove: %s\n", err);
			return 1;
		}
		printf("firewall: demux's tables removed\n");
		return 0;
	}
	if (strcmp(sub, "status") == 0) {
		if (firewall_present(&present, err, sizeof(err)) == -1) {
			fprintf(stderr, "demux: firewall status: %s\n", err);
			return 1;
		}
		printf("firewall: %s\n",
		       present ? "in place (inet demux, bridge demux)" : "missing");
		return present ? 0 : 1;
	}
	if (strcmp(sub, "apply") != 0)
		return usage();
	cfg = xcalloc(1, sizeof(*cfg));
	if (config_load(cfg, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: %s\n", err);
		goto out;
	}
	p = podman_open(cfg->podman_socket, cfg->podman_timeout_ms);
	if (podman_ping(p, err, sizeof(err)) == -1 ||
	    isolation_setup(cfg, p, &iso, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: firewall apply: %s\n", err);
		goto out;
	}
	printf("firewall: applied for %s (%s, %s) and %s (%s, %s, egress open)\n", iso.closed.name,
	       iso.closed.interface, iso.closed.subnet, iso.open.name, iso.open.interface,
	       iso.open.subnet);
	rc = 0;
out:
	podman_close(p);
	free(cfg);
	return rc;
}
