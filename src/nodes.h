/*
 * nodes — this daemon among several sharing one store (docs/NODES.md).
 *
 * A thread says every heartbeat_timeout / 3 that this node is alive
 * (store_ops.heartbeat, which also records node_address; the beat lives two
 * of those thirds), and looks every second for nodes whose heartbeat lapsed,
 * which is at most heartbeat_timeout after their last one: their copies
 * cannot be served any more, so their
 * routes are removed from the shared proxy and their records from the store
 * (counted as lost). Their containers stay where they were; that node's own
 * reconciliation removes them when it comes back. A lapse is only judged
 * after this node has reached the store without a break for a whole
 * heartbeat_timeout: after an outage of the store every node needs one
 * heartbeat to be seen again.
 *
 * With a store of one daemon (no heartbeat op) nodes_start does nothing.
 */
#ifndef DEMUX_NODES_H
#define DEMUX_NODES_H

#include <stdbool.h>

#include "config.h"
#include "proxy/proxy.h"
#include "store/store.h"

struct nodes_stats {
	bool store_ok;		/* the last heartbeat reached the store */
	long long heartbeats;	/* sent successfully */
	long long lapsed_nodes; /* other nodes found gone */
	long long lost_copies;	/* their records removed */
};

struct nodes;

/* Starts the thread (NULL when the store is not shared, or the thread could
 * not start, which is logged). The arguments outlive it. */
struct nodes *nodes_start(const struct config *cfg, struct store *st, struct proxy *px);
void nodes_stop(struct nodes *n);
void nodes_get_stats(struct nodes *n, struct nodes_stats *out);

/* One heartbeat now (start-up, before reconciliation): 0 or -1 with a reason. */
int nodes_heartbeat_once(const struct config *cfg, struct store *st, char *err, size_t errlen);

/* Removes routes and records of node (gone): the number removed, or -1. */
int nodes_take_over(const struct config *cfg, struct store *st, struct proxy *px, const char *node,
		    char *err, size_t errlen);

#endif
