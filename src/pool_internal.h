/*
 * pool_internal — what pool.c shares with pool_reconcile.c: an instance's
 * domain, route and teardown, its port pair, and a lookup in the runtime's
 * container list. Other modules use pool.h.
 */
#ifndef DEMUX_POOL_INTERNAL_H
#define DEMUX_POOL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "pool.h"

const struct pool_env *pool_env_of(const struct pool *p);

/* Whether this node runs the copy of in: always with a store of one daemon;
 * with a shared store (store_ops.heartbeat set) when in->node is this node. */
bool pool_hosts(const struct pool_env *env, const struct instance *in);

/* "<id>.<base_domain>" into out. */
void pool_instance_domain(const struct pool_env *env, const struct instance *in, char *out,
			  size_t outlen);

/* Publishes domain -> <node_address>:<app port>; 0 without a proxy. */
int pool_route_add(const struct pool_env *env, const struct instance *in, const char *domain,
		   char *err, size_t errlen);

/* Removes whatever of an instance exists: route, tables (shared_db),
 * container, record. Each step tolerates "already gone"; on -1 the record is
 * kept for a later retry. */
int pool_teardown_env(const struct pool_env *env, const struct instance *in, bool shared_db,
		      char *err, size_t errlen);

/* pool_teardown_env with the pool's database mode, then frees the port pair. */
int pool_teardown(struct pool *p, const struct instance *in, char *err, size_t errlen);

/* Marks the port pair whose app port is app_port as used (1) or free (0). */
void pool_slot_mark(struct pool *p, int app_port, int used);

/* The entry of v[0..n) called name, or NULL. */
const struct container_info *pool_find_container(const struct container_info *v, int n,
						 const char *name);

#endif
