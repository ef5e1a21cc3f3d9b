/*
 * reload — the plan of a configuration reload (reload.h). The key tables
 * below are the only place that says which key may change while demux runs;
 * config.c's key table says which keys exist, so a new key is a restart key
 * until it is listed here.
 */
#include "reload.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "errf.h"

/* [pool NAME] keys a running pool cannot take. */
static const char *const pool_refused[] = {"port_min", "port_max", "db_mode", "egress", NULL};
/* [pool NAME] keys that wait for a restart: the number of provisioning
 * threads, and the restore source chosen when the template was loaded. */
static const char *const pool_restart[] = {"provision_concurrency", "restore", NULL};

static bool
listed(const char *const *list, const char *key)
{
	for (int i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], key) == 0)
			return true;
	return false;
}

/* What one comparison of two pools found. */
struct pool_cmp {
	const char *name;
	const char *refused; /* the first refused key that differs */
	bool live;	     /* a live key differs */
	struct reload_plan *plan;
	struct pool_config *run; /* gets the running value of restart keys */
	const struct pool_config *cur;
};

static void
append_restart(struct reload_plan *plan, const char *section, const char *key)
{
	size_t n = strlen(plan->restart);

	snprintf(plan->restart + n, sizeof(plan->restart) - n, "%s[%s] %s",
		 plan->nrestart > 0 ? ", " : "", section, key);
	plan->nrestart++;
}

static void
pool_key_differs(void *ctx, const char *section, const char *key)
{
	struct pool_cmp *c = ctx;
	char sec[80];

	(void)section;
	if (listed(pool_refused, key)) {
		if (c->refused == NULL)
			c->refused = key;
	} else if (listed(pool_restart, key)) {
		if (c->plan != NULL) {
			snprintf(sec, sizeof(sec), "pool %s", c->name);
			append_restart(c->plan, sec, key);
		}
		if (c->run != NULL)
			config_pool_copy_key(c->run, c->cur, key);
	} else {
		c->live = true;
	}
}

int
reload_pool_check(const struct pool_config *cur, const struct pool_config *next, char *err,
		  size_t errlen)
{
	struct pool_cmp c = {.name = cur->name};

	config_pool_diff(cur, next, pool_key_differs, &c);
	if (c.refused != NULL)
		return errf(err, errlen,
			    "[pool %s] %s cannot change while demux runs (its copies were made "
			    "with the present value); restart demux to apply it",
			    cur->name, c.refused);
	return 0;
}

/* Keys of the other sections applied while demux runs: the log level
 * (config_load has set it already) and what the HTTP threads read through
 * api_set_live. */
static const char *const global_live[] = {"[demux] log_level", "[server] max_active_per_client",
					  "[server] allowed_origins", NULL};

/* Keys of the other sections: live ones are taken from next, the rest
 * reported. */
struct global_cmp {
	struct reload_plan *plan;
	struct config *run;
	const struct config *next;
};

static void
global_key_differs(void *ctx, const char *section, const char *key)
{
	struct global_cmp *g = ctx;

	char name[96];

	snprintf(name, sizeof(name), "[%s] %s", section, key);
	if (strcmp(section, "pages") == 0 || listed(global_live, name))
		config_copy_key(g->run, g->next, section, key);
	else
		append_restart(g->plan, section, key);
}

int
reload_plan(const struct config *running, const struct config *next, struct config *run,
	    struct reload_plan *plan, char *err, size_t errlen)
{
	struct global_cmp g = {.plan = plan, .run = run, .next = next};
	const char *where = next->path[0] != '\0' ? next->path : "the configuration";

	memset(plan, 0, sizeof(*plan));
	if (next->npools == 0)
		return errf(err, errlen,
			    "%s has no [pool NAME] section (one per template to serve)", where);
	*run = *running;
	config_diff(running, next, global_key_differs, &g);
	run->npools = next->npools;
	for (int i = 0; i < next->npools; i++) {
		const struct pool_config *np = &next->pools[i];
		const struct pool_config *cur = config_pool(running, np->name);
		struct pool_cmp c = {
		    .name = np->name, .plan = plan, .run = &run->pools[i], .cur = cur};

		run->pools[i] = *np;
		if (cur == NULL) {
			snprintf(plan->added[plan->nadded++], sizeof(plan->added[0]), "%s",
				 np->name);
			continue;
		}
		config_pool_diff(cur, np, pool_key_differs, &c);
		if (c.refused != NULL)
			return reload_pool_check(cur, np, err, errlen);
		if (c.live)
			snprintf(plan->changed[plan->nchanged++], sizeof(plan->changed[0]), "%s",
				 np->name);
	}
	for (int i = 0; i < running->npools; i++)
		if (config_pool(next, running->pools[i].name) == NULL)
			snprintf(plan->removed[plan->nremoved++], sizeof(plan->removed[0]), "%s",
				 running->pools[i].name);
	return 0;
}

static void
append_names(char *out, size_t outlen, const char *label, const char names[][64], int n)
{
	size_t len = strlen(out);

	snprintf(out + len, outlen - len, "%s%s=", len > 0 ? " " : "", label);
	for (int i = 0; i < n; i++) {
		len = strlen(out);
		snprintf(out + len, outlen - len, "%s%s", i > 0 ? "," : "", names[i]);
	}
}

void
reload_summary(const struct reload_plan *plan, char *out, size_t outlen)
{
	size_t len;

	out[0] = '\0';
	append_names(out, outlen, "added", plan->added, plan->nadded);
	append_names(out, outlen, "removed", plan->removed, plan->nremoved);
	append_names(out, outlen, "changed", plan->changed, plan->nchanged);
	len = strlen(out);
	snprintf(out + len, outlen - len, " needs_restart=\"%s\"", plan->restart);
}
