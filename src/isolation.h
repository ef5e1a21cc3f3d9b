/*
 * isolation — puts demo copies on demux's networks and keeps the firewall
 * that separates them in place (docs/SECURITY.md).
 *
 * isolation_setup makes sure both Podman networks of [network] exist (the
 * closed one, and the one whose copies may reach beyond the machine) and
 * applies the firewall for them. demux serve runs it at start and re-runs it
 * when the firewall's tables have gone (isolation_check); template create
 * runs it before the template container starts, so the template is
 * isolated too.
 */
#ifndef DEMUX_ISOLATION_H
#define DEMUX_ISOLATION_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "container/podman.h"

struct isolation {
	struct podman_network closed; /* [network] name */
	struct podman_network open;   /* [network] egress_name */
};

/* Ensures both networks and applies the firewall. 0, or -1 with a reason. */
int isolation_setup(const struct config *cfg, struct podman *p, struct isolation *out, char *err,
		    size_t errlen);
/* Re-applies the firewall for iso when its tables are missing; *reapplied
 * says whether it had to. */
int isolation_check(const struct isolation *iso, bool *reapplied, char *err, size_t errlen);
/* The network a template of this egress setting runs on. */
const char *isolation_network_name(const struct config *cfg, bool egress);

#endif
