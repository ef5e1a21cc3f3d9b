/*
 * valkey — the networked instance store (store.h) over a Valkey or Redis
 * server (>= 6.2), through hiredis. Several demux nodes share one server and
 * so one pool per template.
 *
 * Keys, all under a configurable prefix P ("demux:" by default):
 *   P i:<id>           hash, one instance record (fields: valkey_fields)
 *   P all              set of every record's id
 *   P ready:<template> sorted set of READY ids by ready_at: a claim pops the oldest
 *   P owner:<ip>       set of CLAIMED ids per owner address
 *   P expiry           sorted set, CLAIMED ids scored by expires_at
 *   P node:<name>      a node's heartbeat, a string that expires
 *   P nodes            hash, node name -> the address its copies answer on
 * Every change that touches a record and its indexes is one Lua script (EVAL),
 * so a claim is a single server-side step: two nodes never get the same copy,
 * and a client that dies while claiming leaves either a READY copy or a
 * CLAIMED one with an expiry, never one lost in between. Scripts build key
 * names from the prefix, so a standalone server is needed (no cluster).
 *
 * This header is what the unit tests see of the module: key names and the
 * conversion of a record to and from hash fields.
 */
#ifndef DEMUX_STORE_VALKEY_H
#define DEMUX_STORE_VALKEY_H

#include <stddef.h>

#include "store/store.h"

#define VALKEY_PREFIX_MAX 64
#define VALKEY_NFIELDS 24

/* The prefix must be 1..VALKEY_PREFIX_MAX characters of [A-Za-z0-9_.:-]: it
 * becomes part of every key, and of the keys Lua scripts build. 0 or -1 with
 * a reason. */
int valkey_prefix_check(const char *prefix, char *err, size_t errlen);

/* prefix + kind + name ("demux:" "i:" "<id>") into out; -1 when it does not fit. */
int valkey_key(char *out, size_t outlen, const char *prefix, const char *kind, const char *name);

/* Text of each field of in, in the order of valkey_field_names; each value
 * is written into vals[i] (VALKEY_FIELD_MAX bytes). */
#define VALKEY_FIELD_MAX 96
extern const char *const valkey_field_names[VALKEY_NFIELDS];
void valkey_fields(const struct instance *in, char vals[VALKEY_NFIELDS][VALKEY_FIELD_MAX]);

/* A record from a hash's field/value pairs (HGETALL's reply flattened:
 * kv[0] field, kv[1] value, ...; n strings). Unknown fields are ignored
 * (a newer demux may add some); a missing id or template, an unknown state
 * or a field that is not a number where one is expected is an error. */
int valkey_parse_fields(const char *const *kv, const size_t *lens, size_t n, struct instance *out,
			char *err, size_t errlen);

#endif
