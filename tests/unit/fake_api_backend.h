/*
 * A fake of struct api_backend for unit tests of the HTTP layer (api.c,
 * pages.c, server.c): an in-memory list of instances and pools that behaves
 * like the pool's contract (claim hands out the oldest READY instance with a
 * fresh owner token; no READY one → provisioning, or at_capacity when
 * max_instances are claimed) and can be told to fail. It stands in for the
 * pools only; the HTTP layer under test is the real one.
 */
#ifndef DEMUX_FAKE_API_BACKEND_H
#define DEMUX_FAKE_API_BACKEND_H

#include <pthread.h>
#include <stdbool.h>

#include "api.h"

#define FAKE_API_MAX 64

struct fake_api {
	pthread_mutex_t mu;
	struct api_pool_info pools[4];
	int npools;
	struct instance inst[FAKE_API_MAX];
	int ninst;
	int force; /* -1, or an enum claim_result every claim returns */
	int retry_ms;
	bool store_down;  /* get/list/extend/release fail */
	bool podman_down; /* health reports podman down */
	int release_delay_ms;
	int claims, extends, releases;
	char last_claim_ip[64];
	int last_claim_max_owned;
	char last_claim_template[64];
};

/* The clock the fake and the api use; tests move it. */
extern long long fake_api_clock;
long long fake_api_now(void);

/* One pool "shop" (admin_path /admin-dev/, user demo@example.com), base
 * domain demo.test, public port 8088, admin token "admin-token-0123456789",
 * max_active_per_client 3. Claims honour the limit they are given the way
 * the store does (claimed demos whose owner_ip is the claimer's). */
void fake_api_init(struct fake_api *f, struct api *a);
/* Adds a pool; returns its info to adjust. */
struct api_pool_info *fake_api_add_pool(struct fake_api *f, const char *name);
/* Adds an instance of template in state; returns it. */
struct instance *fake_api_add(struct fake_api *f, const char *tmpl, enum instance_state st);
/* The instance with id, or NULL. */
struct instance *fake_api_find(struct fake_api *f, const char *id);

#define FAKE_ADMIN_TOKEN "admin-token-0123456789"

#endif
