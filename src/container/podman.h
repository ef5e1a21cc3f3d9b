/*
 * podman — demux's container runtime: a client for Podman's REST API
 * ("podman system service") on its unix socket, spoken with libcurl.
 *
 * It creates and starts containers, checkpoints them into an exported archive
 * and restores copies of that archive under new names and ports (the fast
 * path of every demo instance), and stops, removes, inspects and lists them.
 * podman_runtime_ops adapts it to struct runtime_ops (runtime.h) for the pool.
 *
 * Every call has the timeout given to podman_open and returns 0, or -1 with a
 * one-line reason in err: Podman's own message where it gave one, and how to
 * start the service when nothing answers on the socket.
 *
 * Threads: a struct podman is immutable after podman_open; every call uses its
 * own CURL handle, so several threads may use one struct podman at once.
 * The parse functions at the end are pure (no I/O) and exist for unit tests.
 * Checkpoint and restore statistics are read by podman_stats.h.
 */
#ifndef DEMUX_PODMAN_H
#define DEMUX_PODMAN_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "container/runtime.h"

#define PODMAN_DEFAULT_SOCKET "/run/podman/podman.sock"
#define PODMAN_MAX_LABELS 64

struct podman;

struct podman_label {
	char key[128];
	char value[512];
};

/* What demux reads from an image: its id, labels and start command. */
struct podman_image {
	char id[72];
	char start[256]; /* first word of the image's ENTRYPOINT, else of its CMD; "" if none */
	int nlabels;
	struct podman_label labels[PODMAN_MAX_LABELS];
};

/* Returns a handle (never NULL; out of memory is fatal). The socket path
 * ("/run/podman/podman.sock" or "unix:///run/...", NULL = the default) is
 * copied. timeout_ms bounds every call, from connect to the last byte. */
struct podman *podman_open(const char *socket_path, int timeout_ms);
void podman_close(struct podman *p);
const char *podman_socket_path(const struct podman *p);

/* Where the service keeps containers: its graph driver and graphroot. */
struct podman_store {
	char driver[32]; /* "overlay", "btrfs", ... */
	char graph_root[1024];
};

/* 0 when the service answers /_ping. */
int podman_ping(struct podman *p, char *err, size_t errlen);

/* Fills out from the service's /info. */
int podman_store_info(struct podman *p, struct podman_store *out, char *err, size_t errlen);

/* Creates and starts spec; on any failure removes what was created. */
int podman_create_start(struct podman *p, const struct container_spec *spec, char *err,
			size_t errlen);

/* Fills out; *pid (may be NULL) gets the container's init pid on the host, 0
 * when not running. A missing container is an error. */
int podman_inspect(struct podman *p, const char *name, struct container_info *out, int *pid,
		   char *err, size_t errlen);

/* Fills out (caller-allocated) with an image's id, labels and start command. */
int podman_image_inspect(struct podman *p, const char *image, struct podman_image *out, char *err,
			 size_t errlen);
/* The value of label key, or NULL. */
const char *podman_image_label(const struct podman_image *img, const char *key);

/* Commits the (stopped) container's file system as image repo:tag, without
 * pausing it; image_id gets the new image's id. */
int podman_commit(struct podman *p, const char *container, const char *repo, const char *tag,
		  char *image_id, size_t idlen, char *err, size_t errlen);
/* Removes an image that no container uses; one that does not exist is no
 * error. Podman refuses (and err says so) while a container still uses it. */
int podman_image_remove(struct podman *p, const char *image, char *err, size_t errlen);

/*
 * Checkpoints container name with CRIU (file locks included) and exports it to
 * archive_path (written to archive_path.part, then renamed). compress_zstd
 * compresses it with the zstd program. Without leave_running the container is
 * left stopped. stats gets the time measured around the call (wall, podman =
 * HTTP request), CRIU's dump statistics read from the archive, and the size.
 * Podman's API does not report the runtime's own duration for an export, so
 * runtime_ms is 0.
 */
int podman_checkpoint(struct podman *p, const char *name, const char *archive_path,
		      bool leave_running, bool compress_zstd, struct checkpoint_stats *stats,
		      char *err, size_t errlen);

/*
 * Restores req->archive_path (plain or zstd tar, streamed from disk) as a new
 * container req->name with req->ports published on 127.0.0.1, file locks
 * included. If the restore fails, whatever it left under that name is removed
 * (unless the name already belonged to another container).
 */
int podman_restore(struct podman *p, const struct restore_request *req, struct restore_stats *stats,
		   char *err, size_t errlen);

/* Stops name, killing it after timeout_s. Stopping a stopped container is fine. */
/* Sets a running container's CPU limit to cpus (> 0) of one CPU. */
int podman_set_cpus(struct podman *p, const char *name, double cpus, char *err, size_t errlen);
int podman_stop(struct podman *p, const char *name, int timeout_s, char *err, size_t errlen);
/* Force-removes name (killing it if running); a missing container is success. */
int podman_remove(struct podman *p, const char *name, char *err, size_t errlen);
/* Containers labelled RUNTIME_LABEL_MANAGED, running or not. *out is malloc'ed
 * (caller frees, even when *n is 0). */
int podman_list(struct podman *p, struct container_info **out, int *n, char *err, size_t errlen);
/* Appends the last `lines` lines of the container's stdout+stderr to out. */
int podman_logs(struct podman *p, const char *name, int lines, struct buf *out, char *err,
		size_t errlen);

/* A bridge network as Podman reports it. */
struct podman_network {
	char name[64];
	char interface[16];
	char subnet[64]; /* IPv4 CIDR */
	bool internal;
};

/* Makes sure network name exists as a bridge on interface, with Podman's DNS
 * server off, in subnet (NULL or "": one Podman picks); fills out. A network
 * of that name on another interface or subnet is an error that says how to
 * remove it. */
int podman_network_ensure(struct podman *p, const char *name, const char *interface,
			  const char *subnet, struct podman_network *out, char *err, size_t errlen);
int podman_parse_network(const char *json, struct podman_network *out, char *err, size_t errlen);

/* One JSON request below /libpod (for podman_*.c): 0 when Podman answered,
 * whatever the status; its body is appended to body. */
int podman_json_call(struct podman *p, const char *method, const char *path, const char *json,
		     long *status, struct buf *body, char *err, size_t errlen);

/* The runtime interface; ctx is a struct podman *. */
extern const struct runtime_ops podman_runtime_ops;

/* --- pure helpers, exposed for unit tests ------------------------------- */

/* The libpod "create" body for spec; *json is malloc'ed, caller frees. */
int podman_spec_json(const struct container_spec *spec, char **json, char *err, size_t errlen);
/* Writes "Podman: <message>" (one line) for an error answer into err. */
void podman_error_message(long status, const char *body, char *err, size_t errlen);
/* True for a start error that a second start of the same container cures
 * (runc's init died during its first handshake). */
bool podman_start_error_is_transient(const char *msg);
/* Appends the payload of Podman's multiplexed log stream (8-byte frame headers)
 * to out; data that is not framed is appended as is. */
int podman_demux_logs(const unsigned char *data, size_t len, struct buf *out);
int podman_parse_inspect(const char *json, struct container_info *out, int *pid, char *err,
			 size_t errlen);
int podman_parse_list(const char *json, struct container_info **out, int *n, char *err,
		      size_t errlen);
int podman_parse_image(const char *json, struct podman_image *out, char *err, size_t errlen);
int podman_parse_store(const char *json, struct podman_store *out, char *err, size_t errlen);

#endif
