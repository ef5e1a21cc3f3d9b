/*
 * store — where demux keeps its instance records, so that a restarted daemon
 * knows what it had.
 *
 * struct store_ops is the interface; sqlite.c is the embedded default (one
 * WAL file under the state directory), valkey.c the networked one (a Valkey
 * or Redis server several nodes share, docs/NODES.md). Every state change of
 * an instance is written here before the side effect counts as done; claim
 * is atomic (two concurrent claims never get the same instance), which is
 * what lets several daemons share one pool.
 */
#ifndef DEMUX_STORE_H
#define DEMUX_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "id.h"

enum instance_state {
	INSTANCE_PROVISIONING, /* container being restored / prepared */
	INSTANCE_READY,	       /* in the warm pool, route published */
	INSTANCE_CLAIMED,      /* handed to a visitor, expires_at set */
	INSTANCE_RELEASING     /* being taken down: route, tables, container */
};

#define INSTANCE_TOKEN_SIZE 48	  /* 43 base64url chars + NUL, rounded up */
#define INSTANCE_PASSWORD_SIZE 32 /* >= PASSWORD_SIZE (app/password.h) */

struct instance {
	char id[ID_SIZE];
	char template_name[64];
	enum instance_state state;
	char container[80]; /* "demux-<id>" */
	int app_port;	    /* on 127.0.0.1 */
	int db_port;	    /* on 127.0.0.1, 0 when the app has no own database */
	char prefix[40];    /* table prefix in the instance's database */
	char method[16];    /* "criu_restore" or "cold_start" */
	char owner_token[INSTANCE_TOKEN_SIZE]; /* set at claim */
	/* The copy's own back-office password, set at provisioning; "" when the
	 * copy keeps the template's. Shown only to the owner; never logged. */
	char admin_password[INSTANCE_PASSWORD_SIZE];
	char owner_ip[64];
	char node[64];
	long long created_at; /* unix seconds */
	long long ready_at;
	long long claimed_at;
	long long expires_at; /* 0 until claimed */
	long long last_seen_at;
	int extends;	   /* extends since the claim */
	int version;	   /* of the template the copy was restored from (template.h) */
	double restore_ms; /* step durations of provisioning */
	double hook_ms;
	double health_ms;
	double route_ms;
	double provision_ms;
};

/* Return values of get/cas/claim beyond 0 and -1. */
#define STORE_NOT_FOUND 1
#define STORE_LIMIT 2 /* claim: the owner address already has max_per_owner */

struct store_node {
	char name[64];
	char address[256];
	bool alive; /* its heartbeat has not lapsed */
};

struct store_ops {
	/* Inserts or replaces the record with in->id. */
	int (*put)(void *ctx, const struct instance *in, char *err, size_t errlen);
	/* Rewrites the record with in->id only while its stored state is
	 * in->state: 0 done, STORE_NOT_FOUND when the record is missing or was
	 * moved to another state since it was read, -1 error. A read-modify-write
	 * (extend, last_seen_at) thus never writes back a state that a
	 * concurrent cas_state has left. */
	int (*update)(void *ctx, const struct instance *in, char *err, size_t errlen);
	/* 0 found, STORE_NOT_FOUND, -1 error. */
	int (*get)(void *ctx, const char *id, struct instance *out, char *err, size_t errlen);
	/* Records of template (NULL = all) in state (-1 = any); *out malloc'ed. */
	int (*list)(void *ctx, const char *template_name, int state, struct instance **out, int *n,
		    char *err, size_t errlen);
	/* Deleting a missing record succeeds. */
	int (*del)(void *ctx, const char *id, char *err, size_t errlen);
	/* Sets state to `to` only if it is `from`: 0 done, STORE_NOT_FOUND when the
	 * record is missing or in another state, -1 error. */
	int (*cas_state)(void *ctx, const char *id, enum instance_state from,
			 enum instance_state to, char *err, size_t errlen);
	/* Atomically picks the oldest READY instance of template, marks it
	 * CLAIMED with owner fields and expires_at from `claim` (extends 0), and
	 * returns it in *out: 0 done, STORE_NOT_FOUND when none is ready, -1
	 * error. With max_per_owner > 0 it first counts the CLAIMED instances
	 * of every template whose owner_ip is claim->owner_ip, in the same
	 * transaction, and answers STORE_LIMIT (nothing claimed) when there are
	 * already max_per_owner: two concurrent claims from one address cannot
	 * both slip under the limit. */
	int (*claim)(void *ctx, const char *template_name, const struct instance *claim,
		     int max_per_owner, struct instance *out, char *err, size_t errlen);
	/* A cheap read of the instance records, for /healthz: 0 when the store
	 * answers, -1 with the reason (unreachable, file or table gone, I/O). */
	int (*ping)(void *ctx, char *err, size_t errlen);
	void (*close)(void *ctx);

	/* What a store several nodes share adds; NULL in a store of one daemon. */

	/* Inserts in (a new record) only while its template has fewer than
	 * max_total records and fewer than want_ready READY or PROVISIONING
	 * ones, in one step: nodes deciding at the same moment cannot together
	 * pass the pool's limits. 0 inserted, STORE_LIMIT not needed, -1 error. */
	int (*reserve)(void *ctx, const struct instance *in, int max_total, int want_ready,
		       char *err, size_t errlen);
	/* Says node is alive for ttl_ms more, its copies answering on address. */
	int (*heartbeat)(void *ctx, const char *node, const char *address, int ttl_ms, char *err,
			 size_t errlen);
	/* Every node that sent a heartbeat and was not forgotten; *out malloc'ed. */
	int (*nodes)(void *ctx, struct store_node **out, int *n, char *err, size_t errlen);
	/* Drops node from the list (its heartbeat lapsed, its records are gone). */
	int (*forget_node)(void *ctx, const char *node, char *err, size_t errlen);
};

struct store {
	const struct store_ops *ops;
	void *ctx;
};

const char *store_state_name(enum instance_state s);
/* -1 when unknown. */
int store_state_parse(const char *name);

/* SQLite backend: opens (creating, migrating) the database file at path. */
int store_sqlite_open(struct store *st, const char *path, char *err, size_t errlen);

struct store_valkey_options {
	const char *host;
	int port;
	const char *password; /* "" or NULL = no AUTH; never logged */
	const char *prefix;   /* of every key, e.g. "demux:" (valkey.h) */
	int connect_timeout_ms;
	int command_timeout_ms;
};

/* Valkey / Redis backend: connects (and authenticates) once to check the
 * server answers; later calls reconnect by themselves after an outage. */
int store_valkey_open(struct store *st, const struct store_valkey_options *o, char *err,
		      size_t errlen);

struct config;
/* The store cfg's [store] section names (store/open.c). */
int store_open_configured(struct store *st, const struct config *cfg, char *err, size_t errlen);

#endif
