/*
 * runtime — what demux needs from a container engine, as an interface.
 *
 * The pool manager talks to containers only through struct runtime_ops, so it
 * can be unit-tested with a fake; podman.c implements it over Podman's REST
 * API (see podman.h). Instances are named "demux-<id>" and carry the labels
 * of the template container they were restored from (RUNTIME_LABEL_MANAGED,
 * RUNTIME_LABEL_TEMPLATE), which is how reconciliation finds them.
 */
#ifndef DEMUX_RUNTIME_H
#define DEMUX_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#define RUNTIME_LABEL_MANAGED "demux.managed"
#define RUNTIME_LABEL_TEMPLATE "demux.template"
#define RUNTIME_INSTANCE_PREFIX "demux-"
#define RUNTIME_MAX_PORTS 4
#define RUNTIME_MAX_LIST 4096

struct container_port {
	int host_port;	    /* published on 127.0.0.1 */
	int container_port; /* inside the container */
};

/* A container to create and start (template container, cold start). */
struct container_spec {
	const char *name;
	const char *image;
	const char *const *env;	       /* "K=V", NULL-terminated, may be NULL */
	const char *const *labels;     /* "k=v", NULL-terminated, may be NULL */
	const char *const *command;    /* NULL-terminated, NULL = image default */
	const char *const *entrypoint; /* NULL-terminated, NULL = image default */
	struct container_port ports[RUNTIME_MAX_PORTS];
	int nports;
	const char *network; /* Podman network to attach to; NULL = Podman's default */
	/* When not NULL: every capability is dropped but these ("CHOWN", ...;
	 * NULL-terminated) and no process may gain privileges (no_new_privs).
	 * Restored copies keep both from the checkpointed container. */
	const char *const *cap_keep;
	long long memory_bytes; /* 0 = no limit */
	long long pids_limit;	/* 0 = no limit */
	double cpus;		/* 0 = no limit */
	/* Bound on what the container writes to its root file system (Podman's
	 * storage_opts "size"; needs a store that can enforce it, storage.h).
	 * Restored copies inherit it from the checkpoint. 0 = no bound. */
	long long disk_bytes;
};

/* Restore of a checkpoint archive under a new name with new published ports. */
struct restore_request {
	const char *archive_path;
	const char *name;
	struct container_port ports[RUNTIME_MAX_PORTS];
	int nports;
};

struct restore_stats {
	double wall_ms;	   /* measured by demux around the call */
	double podman_ms;  /* podman_restore_duration */
	double runtime_ms; /* runtime_restore_duration */
	double criu_ms;	   /* CRIU restore_time */
	long long pages_restored;
};

struct checkpoint_stats {
	double wall_ms;
	double podman_ms;
	double runtime_ms;
	double criu_ms; /* CRIU dump (freezing + frozen + memdump) time */
	long long pages_written;
	long long archive_bytes;
};

struct container_info {
	char id[72];
	char name[128];
	char state[32];		/* "running", "exited", ... */
	char template_name[64]; /* value of RUNTIME_LABEL_TEMPLATE, "" if none */
	int exit_code;
	bool running;
	struct container_port ports[RUNTIME_MAX_PORTS];
	int nports;
};

/*
 * Every function returns 0 or -1 with a one-line reason in err (the engine's
 * own message where it gave one). remove of a container that does not exist
 * succeeds: release must be idempotent.
 */
struct runtime_ops {
	int (*restore)(void *ctx, const struct restore_request *req, struct restore_stats *stats,
		       char *err, size_t errlen);
	int (*run)(void *ctx, const struct container_spec *spec, char *err, size_t errlen);
	int (*remove)(void *ctx, const char *name, char *err, size_t errlen);
	/* Containers carrying RUNTIME_LABEL_MANAGED; *out is malloc'ed, caller frees. */
	int (*list)(void *ctx, struct container_info **out, int *n, char *err, size_t errlen);
	/* The host pid of the container's first process into *pid, or -1 (and
	 * 0 returned) when the runtime answers that the container is not running
	 * or does not exist; -1 returned only when the runtime cannot answer.
	 * May be NULL (idle detection by traffic and the claim's liveness check
	 * are then off). */
	int (*pid)(void *ctx, const char *name, int *pid, char *err, size_t errlen);
	/* Sets a running container's CPU limit (cpus of one CPU's time, > 0).
	 * May be NULL: the prepared restore is then not used, since it restores
	 * without the limit and relies on this to put it on. */
	int (*set_cpus)(void *ctx, const char *name, double cpus, char *err, size_t errlen);
};

struct runtime {
	const struct runtime_ops *ops;
	void *ctx;
};

#endif
