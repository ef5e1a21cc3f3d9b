/*
 * reload — what a new configuration file changes for a running "demux serve"
 * (SIGHUP): which pools come, go or change, which keys must wait for a
 * restart, and which changes are refused outright. Pure logic over two
 * configurations loaded by config_load; serve.c applies the plan.
 *
 * Per key (docs/POOL.md, "Reloading the configuration"):
 *   live     applied to the running daemon: every [pool NAME] key except
 *            those below, [demux] log_level, [server] max_active_per_client
 *            and allowed_origins, and [pages];
 *   restart  the running value is kept and the key is reported as needing
 *            a restart: [pool NAME] provision_concurrency and restore, and
 *            every key of the other sections;
 *   refused  a file changing it is refused as a whole: [pool NAME] port_min,
 *            port_max, db_mode and egress of a pool that runs (its copies
 *            hold ports of the range and were made for that database mode
 *            and network).
 */
#ifndef DEMUX_RELOAD_H
#define DEMUX_RELOAD_H

#include <stddef.h>

#include "config.h"

#define RELOAD_LIST 1024

struct reload_plan {
	char added[CONFIG_MAX_POOLS][64];   /* in next, not in running */
	char removed[CONFIG_MAX_POOLS][64]; /* in running, not in next */
	char changed[CONFIG_MAX_POOLS][64]; /* in both, a live key differs */
	int nadded, nremoved, nchanged;
	/* "[server] listen, [pool shop] restore": the keys whose new value
	 * waits for a restart ("" = none) */
	char restart[RELOAD_LIST];
	int nrestart;
};

/*
 * Compares the running configuration with next and fills run (the
 * configuration to run from now on: running's sections other than the pools
 * with the live keys of next, next's pools with their restart keys at the
 * running values) and plan. 0, or -1 with the reason in err when next
 * cannot be applied while demux runs (a refused key changed, no pool).
 * run may be neither running nor next.
 */
int reload_plan(const struct config *running, const struct config *next, struct config *run,
		struct reload_plan *plan, char *err, size_t errlen);

/* Whether a running pool's settings cur may become next: 0, or -1 with the
 * first refused key that differs in err. */
int reload_pool_check(const struct pool_config *cur, const struct pool_config *next, char *err,
		      size_t errlen);

/* "added=a,b removed=c changed=d restart=..." for the reload's log line. */
void reload_summary(const struct reload_plan *plan, char *out, size_t outlen);

#endif
