/*
 * isolation — demo copies' networks and firewall (isolation.h).
 */
#include <stdio.h>
#include <string.h>

#include "firewall.h"
#include "isolation.h"
#include "log.h"

const char *
isolation_network_name(const struct config *cfg, bool egress)
{
	return egress ? cfg->net_egress_name : cfg->net_name;
}

static int
apply(const struct isolation *iso, char *err, size_t errlen)
{
	const struct firewall_net nets[] = {
	    {.interface = iso->closed.interface, .subnet = iso->closed.subnet, .egress = false},
	    {.interface = iso->open.interface, .subnet = iso->open.subnet, .egress = true},
	};

	return firewall_apply(nets, 2, err, errlen);
}

int
isolation_setup(const struct config *cfg, struct podman *p, struct isolation *out, char *err,
		size_t errlen)
{
	char e[1024];

	memset(out, 0, sizeof(*out));
	if (podman_network_ensure(p, cfg->net_name, cfg->net_interface, cfg->net_subnet,
				  &out->closed, e, sizeof(e)) == -1 ||
	    podman_network_ensure(p, cfg->net_egress_name, cfg->net_egress_interface,
				  cfg->net_egress_subnet, &out->open, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "copies' network: %s", e);
		return -1;
	}
	if (strcmp(out->closed.subnet, out->open.subnet) == 0) {
		snprintf(err, errlen, "copies' networks %s and %s share subnet %s",
			 out->closed.name, out->open.name, out->closed.subnet);
		return -1;
	}
	if (apply(out, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "firewall: %s", e);
		return -1;
	}
	log_debug("isolation ready network=%s interface=%s subnet=%s egress_network=%s "
		  "egress_interface=%s egress_subnet=%s",
		  out->closed.name, out->closed.interface, out->closed.subnet, out->open.name,
		  out->open.interface, out->open.subnet);
	return 0;
}

int
isolation_check(const struct isolation *iso, bool *reapplied, char *err, size_t errlen)
{
	bool present = false;

	*reapplied = false;
	if (firewall_present(&present, err, errlen) == -1)
		return -1;
	if (present)
		return 0;
	if (apply(iso, err, errlen) == -1)
		return -1;
	*reapplied = true;
	return 0;
}
