/*
 * nodes — heartbeat of this node and the removal of lapsed nodes' copies
 * (see nodes.h).
 */
#include "nodes.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "mstime.h"
#include "xmalloc.h"

struct nodes {
	const struct config *cfg;
	struct store *st;
	struct proxy *px;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	bool running;
	double ok_since_ms; /* start of the current unbroken run of heartbeats, 0 = none */
	struct nodes_stats stats;
};

/* The heartbeat lives two thirds of heartbeat_timeout and is sent every
 * third: one missed beat is forgiven, and with lapses looked for every
 * SWEEP_MS a node is declared gone within heartbeat_timeout of its last
 * beat. */
#define SWEEP_MS 1000

static int
beat_ms(const struct config *cfg)
{
	return cfg->heartbeat_timeout_s * 1000 / 3;
}

int
nodes_heartbeat_once(const struct config *cfg, struct store *st, char *err, size_t errlen)
{
	if (st->ops->heartbeat == NULL)
		return 0;
	return st->ops->heartbeat(st->ctx, cfg->node_name, cfg->node_address, 2 * beat_ms(cfg), err,
				  errlen);
}

int
nodes_take_over(const struct config *cfg, struct store *st, struct proxy *px, const char *node,
		char *err, size_t errlen)
{
	struct instance *v = NULL;
	int n = 0, removed = 0;

	if (st->ops->list(st->ctx, NULL, -1, &v, &n, err, errlen) == -1)
		return -1;
	for (int i = 0; i < n; i++) {
		char domain[320], e[512];

		if (strcmp(v[i].node, node) != 0)
			continue;
		snprintf(domain, sizeof(domain), "%s.%s", v[i].id, cfg->base_domain);
		if (px != NULL && px->ops->remove(px->ctx, domain, e, sizeof(e)) == -1) {
			log_warnx("lapsed node node=%s id=%s: route not removed: %s", node, v[i].id,
				  e);
			continue;
		}
		if (st->ops->del(st->ctx, v[i].id, e, sizeof(e)) == -1) {
			log_warnx("lapsed node node=%s id=%s: record not removed: %s", node,
				  v[i].id, e);
			continue;
		}
		log_warnx("instance lost node=%s template=%s id=%s state=%s (its node is gone); "
			  "route and record removed",
			  node, v[i].template_name, v[i].id, store_state_name(v[i].state));
		removed++;
	}
	free(v);
	return removed;
}

/* Other nodes whose heartbeat lapsed: their copies removed, then the node
 * forgotten (it registers again with its next heartbeat). */
static void
sweep_lapsed(struct nodes *ns)
{
	struct store_node *v = NULL;
	char err[512];
	int n = 0;

	if (ns->st->ops->nodes(ns->st->ctx, &v, &n, err, sizeof(err)) == -1) {
		log_warnx("nodes: %s", err);
		return;
	}
	for (int i = 0; i < n; i++) {
		int removed;

		if (v[i].alive || strcmp(v[i].name, ns->cfg->node_name) == 0)
			continue;
		removed = nodes_take_over(ns->cfg, ns->st, ns->px, v[i].name, err, sizeof(err));
		if (removed == -1) {
			log_warnx("lapsed node node=%s: %s", v[i].name, err);
			continue;
		}
		if (ns->st->ops->forget_node(ns->st->ctx, v[i].name, err, sizeof(err)) == -1)
			log_warnx("lapsed node node=%s: %s", v[i].name, err);
		log_warnx(
		    "node lapsed node=%s address=%s copies_removed=%d (no heartbeat for %d s)",
		    v[i].name, v[i].address, removed, ns->cfg->heartbeat_timeout_s);
		pthread_mutex_lock(&ns->mu);
		ns->stats.lapsed_nodes++;
		ns->stats.lost_copies += removed;
		pthread_mutex_unlock(&ns->mu);
	}
	free(v);
}

static void
beat(struct nodes *ns, double now)
{
	char err[512];
	bool ok = nodes_heartbeat_once(ns->cfg, ns->st, err, sizeof(err)) == 0, was;

	pthread_mutex_lock(&ns->mu);
	was = ns->stats.store_ok;
	ns->stats.store_ok = ok;
	if (ok) {
		ns->stats.heartbeats++;
		if (ns->ok_since_ms == 0)
			ns->ok_since_ms = now;
	} else {
		ns->ok_since_ms = 0;
	}
	pthread_mutex_unlock(&ns->mu);
	if (!ok && was)
		log_error("store unreachable: claims, provisioning and expiry wait for it: %s",
			  err);
	else if (ok && !was)
		log_info("store reachable again node=%s address=%s", ns->cfg->node_name,
			 ns->cfg->node_address);
}

static void *
nodes_main(void *arg)
{
	struct nodes *ns = arg;
	double last_beat = 0;

	pthread_mutex_lock(&ns->mu);
	while (ns->running) {
		struct timespec ts;
		double now = mstime_now();
		bool judge;

		pthread_mutex_unlock(&ns->mu);
		if (now - last_beat >= beat_ms(ns->cfg) || !ns->stats.store_ok) {
			beat(ns, now);
			last_beat = now;
		}
		pthread_mutex_lock(&ns->mu);
		judge = ns->ok_since_ms != 0 &&
			now - ns->ok_since_ms >= ns->cfg->heartbeat_timeout_s * 1000.0;
		pthread_mutex_unlock(&ns->mu);
		if (judge)
			sweep_lapsed(ns);
		pthread_mutex_lock(&ns->mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += SWEEP_MS / 1000;
		if (ns->running)
			pthread_cond_timedwait(&ns->wake, &ns->mu, &ts);
	}
	pthread_mutex_unlock(&ns->mu);
	return NULL;
}

struct nodes *
nodes_start(const struct config *cfg, struct store *st, struct proxy *px)
{
	struct nodes *ns;

	if (st->ops->heartbeat == NULL || st->ops->nodes == NULL)
		return NULL;
	ns = xcalloc(1, sizeof(*ns));
	ns->cfg = cfg;
	ns->st = st;
	ns->px = px;
	ns->running = true;
	ns->stats.store_ok = true; /* the store answered at start-up */
	pthread_mutex_init(&ns->mu, NULL);
	pthread_cond_init(&ns->wake, NULL);
	if (pthread_create(&ns->thread, NULL, nodes_main, ns) != 0) {
		log_warn("nodes: cannot start the heartbeat thread");
		pthread_mutex_destroy(&ns->mu);
		pthread_cond_destroy(&ns->wake);
		free(ns);
		return NULL;
	}
	log_info("node started node=%s address=%s heartbeat_timeout_s=%d", cfg->node_name,
		 cfg->node_address, cfg->heartbeat_timeout_s);
	return ns;
}

void
nodes_stop(struct nodes *ns)
{
	if (ns == NULL)
		return;
	pthread_mutex_lock(&ns->mu);
	ns->running = false;
	pthread_cond_broadcast(&ns->wake);
	pthread_mutex_unlock(&ns->mu);
	pthread_join(ns->thread, NULL);
	pthread_mutex_destroy(&ns->mu);
	pthread_cond_destroy(&ns->wake);
	free(ns);
}

void
nodes_get_stats(struct nodes *ns, struct nodes_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (ns == NULL)
		return;
	pthread_mutex_lock(&ns->mu);
	*out = ns->stats;
	pthread_mutex_unlock(&ns->mu);
}
