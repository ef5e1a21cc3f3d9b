/*
 * firewall — demux's nftables tables that isolate demo copies (firewall.c).
 *
 * Ownership: the caller owns every string it passes; nothing is kept.
 */
#ifndef DEMUX_FIREWALL_H
#define DEMUX_FIREWALL_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define FIREWALL_TABLE "demux"
#define FIREWALL_MAX_NETS 8
#define FIREWALL_IFNAME_MAX 15 /* IFNAMSIZ - 1 */

/* One bridge network whose members are demo copies. */
struct firewall_net {
	const char *interface; /* the bridge device, e.g. "demux0" */
	const char *subnet;    /* its IPv4 subnet, e.g. "10.89.0.0/24" */
	bool egress;	       /* copies may open connections beyond the machine */
};

/* Appends the nftables script that (re)creates both tables for nets to out.
 * Validates every interface name and subnet. 0, or -1 with a reason. */
int firewall_render(const struct firewall_net *nets, int n, struct buf *out, char *err,
		    size_t errlen);
/* Replaces demux's tables in one transaction (needs root). */
int firewall_apply(const struct firewall_net *nets, int n, char *err, size_t errlen);
/* Removes demux's tables; success when they are not there. */
int firewall_remove(char *err, size_t errlen);
/* *present: both tables exist. */
int firewall_present(bool *present, char *err, size_t errlen);

int firewall_validate_interface(const char *name, char *err, size_t errlen);
int firewall_validate_subnet(const char *cidr, char *err, size_t errlen);

#endif
