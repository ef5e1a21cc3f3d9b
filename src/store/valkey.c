/*
 * valkey — the instance store on a Valkey or Redis server (see valkey.h for
 * the keys). One connection, guarded by a mutex like sqlite.c's; it is made
 * again on the next call after the server went away, so an outage costs the
 * calls made during it and nothing after. Reads that fail on a connection
 * the server closed are tried once more on a fresh one; writes are not
 * (whether the first one took effect is unknown; the callers retry through
 * their own loops: reaper, workers, the visitor's next claim).
 *
 * Only the part of the hiredis API common to 0.14 and 1.x is used.
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "errf.h"
#include "log.h"
#include "store/store.h"
#include "store/valkey.h"
#include "xmalloc.h"

#define MAX_ARGS (8 + 2 * VALKEY_NFIELDS)

struct valkey_store {
	pthread_mutex_t mu;
	redisContext *c;
	bool fresh; /* c was made for the current call: a failure is not a stale connection */
	char host[256];
	int port;
	char password[256];
	char prefix[VALKEY_PREFIX_MAX + 1];
	int connect_ms, command_ms;
};

/* --- keys and fields (valkey.h) --------------------------------------------- */

int
valkey_prefix_check(const char *prefix, char *err, size_t errlen)
{
	size_t n = prefix != NULL ? strlen(prefix) : 0;

	if (n == 0 || n > VALKEY_PREFIX_MAX)
		return errf(err, errlen, "key prefix must be 1 to %d characters",
			    VALKEY_PREFIX_MAX);
	for (size_t i = 0; i < n; i++) {
		char ch = prefix[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == ':' || ch == '-'))
			return errf(err, errlen,
				    "key prefix '%s': only letters, digits and _ . : - are allowed",
				    prefix);
	}
	return 0;
}

int
valkey_key(char *out, size_t outlen, const char *prefix, const char *kind, const char *name)
{
	int n = snprintf(out, outlen, "%s%s%s", prefix, kind, name);

	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

const char *const valkey_field_names[VALKEY_NFIELDS] = {
    "id",	  "template", "state",	     "container",      "app_port",     "db_port",
    "prefix",	  "method",   "owner_token", "admin_password", "owner_ip",     "node",
    "created_at", "ready_at", "claimed_at",  "expires_at",     "last_seen_at", "extends",
    "restore_ms", "hook_ms",  "health_ms",   "route_ms",       "provision_ms", "version",
};

void
valkey_fields(const struct instance *in, char v[VALKEY_NFIELDS][VALKEY_FIELD_MAX])
{
	int i = 0;

	snprintf(v[i++], VALKEY_FIELD_MAX, "%s", in->id);
	snprintf(v[i++], VALKEY_FIELD_MAX, "%s", in->template_name);
	snprintf(v[i++], VALKEY_FIELD_MAX, "%s", store_state_name(in->state));
	snprintf(v[i++], VALKEY_FIELD_MAX, "%s", in->container);
	snprintf(v[i++], VALKEY_FIELD_MAX, "%d", in->app_port);
	snprintf(v[i++], VALKEY_FIELD_MAX, "%d", in->db_port);
	snprintf(v[i++], VALKEY_FIELD_MAX, "%s", in->prefix);
	snprintf(v[i++], VALKEY_FIELD_MAX, "%s", in->method);
	snprintf(v[i++], VALKEY_FIELD_MAX, "%s", in->owner_token);
	snprintf(v[i++], VALKEY_FIELD_MAX, "%s", in->admin_password);
	snprintf(v[i++], VALKEY_FIELD_MAX, "%s", in->owner_ip);
	snprintf(v[i++], VALKEY_FIELD_MAX, "%s", in->node);
	snprintf(v[i++], VALKEY_FIELD_MAX, "%lld", in->created_at);
	snprintf(v[i++], VALKEY_FIELD_MAX, "%lld", in->ready_at);
	snprintf(v[i++], VALKEY_FIELD_MAX, "%lld", in->claimed_at);
	snprintf(v[i++], VALKEY_FIELD_MAX, "%lld", in->expires_at);
	snprintf(v[i++], VALKEY_FIELD_MAX, "%lld", in->last_seen_at);
	snprintf(v[i++], VALKEY_FIELD_MAX, "%d", in->extends);
	snprintf(v[i++], VALKEY_FIELD_MAX, "%.17g", in->restore_ms);
	snprintf(v[i++], VALKEY_FIELD_MAX, "%.17g", in->hook_ms);
	snprintf(v[i++], VALKEY_FIELD_MAX, "%.17g", in->health_ms);
	snprintf(v[i++], VALKEY_FIELD_MAX, "%.17g", in->route_ms);
	snprintf(v[i++], VALKEY_FIELD_MAX, "%.17g", in->provision_ms);
	snprintf(v[i], VALKEY_FIELD_MAX, "%d", in->version);
}

static int
parse_ll(const char *s, long long *out)
{
	char *end;

	if (s[0] == '\0')
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

static int
parse_int(const char *s, int *out)
{
	long long v;

	if (parse_ll(s, &v) == -1 || v < -2147483647LL || v > 2147483647LL)
		return -1;
	*out = (int)v;
	return 0;
}

static int
parse_double(const char *s, double *out)
{
	char *end;

	if (s[0] == '\0')
		return -1;
	errno = 0;
	*out = strtod(s, &end);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

/* Copies a value into a fixed field; a value that does not fit is an error,
 * not a silently cut id or token. */
static int
copy_field(char *dst, size_t size, const char *v, size_t len)
{
	if (len >= size || memchr(v, '\0', len) != NULL)
		return -1;
	memcpy(dst, v, len);
	dst[len] = '\0';
	return 0;
}

/* One field of a record; -1 when its value is malformed. */
static int
set_field(struct instance *o, const char *name, const char *v, size_t len)
{
	char num[64];
	int st;

	if (strcmp(name, "id") == 0)
		return copy_field(o->id, sizeof(o->id), v, len);
	if (strcmp(name, "template") == 0)
		return copy_field(o->template_name, sizeof(o->template_name), v, len);
	if (strcmp(name, "container") == 0)
		return copy_field(o->container, sizeof(o->container), v, len);
	if (strcmp(name, "prefix") == 0)
		return copy_field(o->prefix, sizeof(o->prefix), v, len);
	if (strcmp(name, "method") == 0)
		return copy_field(o->method, sizeof(o->method), v, len);
	if (strcmp(name, "owner_token") == 0)
		return copy_field(o->owner_token, sizeof(o->owner_token), v, len);
	if (strcmp(name, "admin_password") == 0)
		return copy_field(o->admin_password, sizeof(o->admin_password), v, len);
	if (strcmp(name, "owner_ip") == 0)
		return copy_field(o->owner_ip, sizeof(o->owner_ip), v, len);
	if (strcmp(name, "node") == 0)
		return copy_field(o->node, sizeof(o->node), v, len);
	if (copy_field(num, sizeof(num), v, len) == -1)
		return -1;
	if (strcmp(name, "state") == 0) {
		st = store_state_parse(num);
		if (st < 0)
			return -1;
		o->state = (enum instance_state)st;
		return 0;
	}
	if (strcmp(name, "app_port") == 0)
		return parse_int(num, &o->app_port);
	if (strcmp(name, "db_port") == 0)
		return parse_int(num, &o->db_port);
	if (strcmp(name, "extends") == 0)
		return parse_int(num, &o->extends);
	if (strcmp(name, "version") == 0)
		return parse_int(num, &o->version);
	if (strcmp(name, "created_at") == 0)
		return parse_ll(num, &o->created_at);
	if (strcmp(name, "ready_at") == 0)
		return parse_ll(num, &o->ready_at);
	if (strcmp(name, "claimed_at") == 0)
		return parse_ll(num, &o->claimed_at);
	if (strcmp(name, "expires_at") == 0)
		return parse_ll(num, &o->expires_at);
	if (strcmp(name, "last_seen_at") == 0)
		return parse_ll(num, &o->last_seen_at);
	if (strcmp(name, "restore_ms") == 0)
		return parse_double(num, &o->restore_ms);
	if (strcmp(name, "hook_ms") == 0)
		return parse_double(num, &o->hook_ms);
	if (strcmp(name, "health_ms") == 0)
		return parse_double(num, &o->health_ms);
	if (strcmp(name, "route_ms") == 0)
		return parse_double(num, &o->route_ms);
	if (strcmp(name, "provision_ms") == 0)
		return parse_double(num, &o->provision_ms);
	return 0; /* a field a newer demux added */
}

int
valkey_parse_fields(const char *const *kv, const size_t *lens, size_t n, struct instance *out,
		    char *err, size_t errlen)
{
	bool have_state = false;

	memset(out, 0, sizeof(*out));
	if (n % 2 != 0)
		return errf(err, errlen, "store record: odd number of hash elements (%zu)", n);
	for (size_t i = 0; i < n; i += 2) {
		char name[32];

		if (copy_field(name, sizeof(name), kv[i], lens[i]) == -1)
			continue;
		if (set_field(out, name, kv[i + 1], lens[i + 1]) == -1)
			return errf(err, errlen, "store record %s: field %s has a malformed value",
				    out->id[0] != '\0' ? out->id : "?", name);
		if (strcmp(name, "state") == 0)
			have_state = true;
	}
	if (out->id[0] == '\0' || out->template_name[0] == '\0' || !have_state)
		return errf(err, errlen, "store record %s: id, template or state missing",
			    out->id[0] != '\0' ? out->id : "?");
	return 0;
}

/* --- Lua scripts ------------------------------------------------------------ */

/* ARGV[1] is the key prefix in every script. index/unindex keep the ready
 * lists, owner sets and the expiry set in step with a record's state. */
#define LUA_PRELUDE                                                                                \
	"local P = ARGV[1]\n"                                                                      \
	"local function rec(id)\n"                                                                 \
	"  local v = redis.call('HMGET', P..'i:'..id, 'state', 'template', 'owner_ip',"            \
	" 'expires_at', 'ready_at')\n"                                                             \
	"  if not v[1] then return nil end\n"                                                      \
	"  return {state=v[1], template=v[2] or '', owner_ip=v[3] or '', expires_at=v[4] or "      \
	"'0', ready_at=v[5] or '0'}\n"                                                             \
	"end\n"                                                                                    \
	"local function unindex(id, h)\n"                                                          \
	"  if h.state == 'ready' then redis.call('ZREM', P..'ready:'..h.template, id) end\n"       \
	"  if h.state == 'claimed' then\n"                                                         \
	"    redis.call('SREM', P..'owner:'..h.owner_ip, id)\n"                                    \
	"    redis.call('ZREM', P..'expiry', id)\n"                                                \
	"  end\n"                                                                                  \
	"end\n"                                                                                    \
	"local function index(id, h)\n"                                                            \
	"  if h.state == 'ready' then\n"                                                           \
	"    redis.call('ZADD', P..'ready:'..h.template, h.ready_at, id)\n"                        \
	"  end\n"                                                                                  \
	"  if h.state == 'claimed' then\n"                                                         \
	"    redis.call('SADD', P..'owner:'..h.owner_ip, id)\n"                                    \
	"    redis.call('ZADD', P..'expiry', h.expires_at, id)\n"                                  \
	"  end\n"                                                                                  \
	"end\n"                                                                                    \
	"local function write(id, first)\n"                                                        \
	"  local old = rec(id)\n"                                                                  \
	"  if old then unindex(id, old) end\n"                                                     \
	"  redis.call('DEL', P..'i:'..id)\n"                                                       \
	"  redis.call('HSET', P..'i:'..id, unpack(ARGV, first))\n"                                 \
	"  redis.call('SADD', P..'all', id)\n"                                                     \
	"  index(id, rec(id))\n"                                                                   \
	"end\n"

/* ARGV: P, id, field, value, ... */
static const char lua_put[] = LUA_PRELUDE "write(ARGV[2], 3)\n"
					  "return 1\n";

/* ARGV: P, id, field, value, ... (the record's state among them): written
 * only while the stored record is in that state. */
static const char lua_update[] = LUA_PRELUDE "local old = rec(ARGV[2])\n"
					     "local want\n"
					     "for i = 3, #ARGV - 1, 2 do\n"
					     "  if ARGV[i] == 'state' then want = ARGV[i + 1] end\n"
					     "end\n"
					     "if not old or old.state ~= want then return 0 end\n"
					     "write(ARGV[2], 3)\n"
					     "return 1\n";

/* ARGV: P, template, max_total, want_ready, id, field, value, ... */
static const char lua_reserve[] =
    LUA_PRELUDE "local total, rp = 0, 0\n"
		"for _, id in ipairs(redis.call('SMEMBERS', P..'all')) do\n"
		"  local v = redis.call('HMGET', P..'i:'..id, 'template', 'state')\n"
		"  if v[1] == ARGV[2] then\n"
		"    total = total + 1\n"
		"    if v[2] == 'ready' or v[2] == 'provisioning' then rp = rp + 1 end\n"
		"  end\n"
		"end\n"
		"if total >= tonumber(ARGV[3]) or rp >= tonumber(ARGV[4]) then return 0 end\n"
		"write(ARGV[5], 6)\n"
		"return 1\n";

/* ARGV: P, id, from, to */
static const char lua_cas[] = LUA_PRELUDE "local old = rec(ARGV[2])\n"
					  "if not old or old.state ~= ARGV[3] then return 0 end\n"
					  "unindex(ARGV[2], old)\n"
					  "redis.call('HSET', P..'i:'..ARGV[2], 'state', ARGV[4])\n"
					  "old.state = ARGV[4]\n"
					  "index(ARGV[2], old)\n"
					  "return 1\n";

/* ARGV: P, id */
static const char lua_del[] = LUA_PRELUDE "local old = rec(ARGV[2])\n"
					  "if old then unindex(ARGV[2], old) end\n"
					  "redis.call('DEL', P..'i:'..ARGV[2])\n"
					  "redis.call('SREM', P..'all', ARGV[2])\n"
					  "return 1\n";

/* ARGV: P, template, owner_token, owner_ip, claimed_at, expires_at,
 * max_per_owner. Answers {1, HGETALL}, {0} when nothing is ready, {2, n}
 * when the owner already holds n >= max_per_owner. An id in the ready list
 * whose record is gone or no longer READY is dropped from it. */
static const char lua_claim[] =
    LUA_PRELUDE "local max = tonumber(ARGV[7])\n"
		"if max > 0 then\n"
		"  local owned = redis.call('SCARD', P..'owner:'..ARGV[4])\n"
		"  if owned >= max then return {2, owned} end\n"
		"end\n"
		"local rk = P..'ready:'..ARGV[2]\n"
		"while true do\n"
		"  local v = redis.call('ZPOPMIN', rk)\n"
		"  if #v == 0 then return {0} end\n"
		"  local id = v[1]\n"
		"  local key = P..'i:'..id\n"
		"  if redis.call('HGET', key, 'state') == 'ready' then\n"
		"    redis.call('HSET', key, 'state', 'claimed', 'owner_token', ARGV[3],"
		" 'owner_ip', ARGV[4], 'claimed_at', ARGV[5], 'expires_at', ARGV[6],"
		" 'last_seen_at', ARGV[5], 'extends', '0')\n"
		"    redis.call('SADD', P..'owner:'..ARGV[4], id)\n"
		"    redis.call('ZADD', P..'expiry', ARGV[6], id)\n"
		"    return {1, redis.call('HGETALL', key)}\n"
		"  end\n"
		"end\n";

/* ARGV: P. Every record, as HGETALL arrays. */
static const char lua_list[] = "local P = ARGV[1]\n"
			       "local out = {}\n"
			       "for _, id in ipairs(redis.call('SMEMBERS', P..'all')) do\n"
			       "  local h = redis.call('HGETALL', P..'i:'..id)\n"
			       "  if #h > 0 then out[#out + 1] = h end\n"
			       "end\n"
			       "return out\n";

/* ARGV: P. {name, address, alive (0/1), ...} */
static const char lua_nodes[] = "local P = ARGV[1]\n"
				"local h = redis.call('HGETALL', P..'nodes')\n"
				"local out = {}\n"
				"for i = 1, #h, 2 do\n"
				"  out[#out + 1] = h[i]\n"
				"  out[#out + 1] = h[i + 1]\n"
				"  out[#out + 1] = redis.call('EXISTS', P..'node:'..h[i])\n"
				"end\n"
				"return out\n";

/* --- connection ------------------------------------------------------------- */

static struct timeval
ms_tv(int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (long)(ms % 1000) * 1000L};

	return tv;
}

static void
drop_connection(struct valkey_store *s)
{
	if (s->c != NULL)
		redisFree(s->c);
	s->c = NULL;
}

/* Called with mu held. */
static int
connect_locked(struct valkey_store *s, char *err, size_t errlen)
{
	redisReply *r;

	s->fresh = false;
	if (s->c != NULL && s->c->err == 0)
		return 0;
	drop_connection(s);
	s->c = redisConnectWithTimeout(s->host, s->port, ms_tv(s->connect_ms));
	if (s->c == NULL || s->c->err != 0) {
		errf(err, errlen, "store %s:%d: cannot connect: %s", s->host, s->port,
		     s->c != NULL ? s->c->errstr : "out of memory");
		drop_connection(s);
		return -1;
	}
	redisSetTimeout(s->c, ms_tv(s->command_ms));
	s->fresh = true;
	if (s->password[0] == '\0')
		return 0;
	{
		const char *argv[2] = {"AUTH", s->password};
		size_t lens[2] = {4, strlen(s->password)};

		r = redisCommandArgv(s->c, 2, argv, lens);
	}
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		/* The server's words only: they never contain the password. */
		errf(err, errlen, "store %s:%d: authentication failed: %s", s->host, s->port,
		     r != NULL ? r->str : s->c->errstr);
		if (r != NULL)
			freeReplyObject(r);
		drop_connection(s);
		return -1;
	}
	freeReplyObject(r);
	return 0;
}

/* Runs one command; *out is the reply (an error reply is -1 with its text).
 * retry: a read that may be sent again when a connection the server had
 * closed fails. Called with mu held. */
static int
command_locked(struct valkey_store *s, int argc, const char **argv, const size_t *lens, bool retry,
	       redisReply **out, char *err, size_t errlen)
{
	redisReply *r;

	*out = NULL;
	for (int attempt = 0;; attempt++) {
		if (connect_locked(s, err, errlen) == -1)
			return -1;
		r = redisCommandArgv(s->c, argc, argv, lens);
		if (r != NULL)
			break;
		errf(err, errlen, "store %s:%d: %s", s->host, s->port,
		     s->c->errstr[0] != '\0' ? s->c->errstr : "no reply");
		if (s->fresh || !retry || attempt > 0) {
			drop_connection(s);
			return -1;
		}
		drop_connection(s);
	}
	if (r->type == REDIS_REPLY_ERROR) {
		errf(err, errlen, "store: %s", r->str);
		freeReplyObject(r);
		return -1;
	}
	*out = r;
	return 0;
}

/* EVAL script 0 prefix args...; argv[0..nargs) are the script's ARGV after
 * the prefix. */
static int
eval_locked(struct valkey_store *s, const char *script, int nargs, const char **args,
	    const size_t *arglens, bool retry, redisReply **out, char *err, size_t errlen)
{
	const char *argv[MAX_ARGS];
	size_t lens[MAX_ARGS];
	int n = 0;

	if (nargs + 4 > MAX_ARGS)
		return errf(err, errlen, "internal: too many script arguments");
	argv[n] = "EVAL";
	lens[n++] = 4;
	argv[n] = script;
	lens[n++] = strlen(script);
	argv[n] = "0";
	lens[n++] = 1;
	argv[n] = s->prefix;
	lens[n++] = strlen(s->prefix);
	for (int i = 0; i < nargs; i++) {
		argv[n] = args[i];
		lens[n++] = arglens != NULL ? arglens[i] : strlen(args[i]);
	}
	return command_locked(s, n, argv, lens, retry, out, err, errlen);
}

static int
eval(struct valkey_store *s, const char *script, int nargs, const char **args, bool retry,
     redisReply **out, char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = eval_locked(s, script, nargs, args, NULL, retry, out, err, errlen);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* An array of bulk strings (HGETALL) into a record. */
static int
reply_instance(const redisReply *r, struct instance *out, char *err, size_t errlen)
{
	const char **kv;
	size_t *lens;
	int rc;

	if (r->type != REDIS_REPLY_ARRAY)
		return errf(err, errlen, "store: unexpected reply type %d for a record", r->type);
	kv = xcalloc(r->elements + 1, sizeof(*kv));
	lens = xcalloc(r->elements + 1, sizeof(*lens));
	for (size_t i = 0; i < r->elements; i++) {
		if (r->element[i]->type != REDIS_REPLY_STRING) {
			free(kv);
			free(lens);
			return errf(err, errlen, "store: record field of type %d",
				    r->element[i]->type);
		}
		kv[i] = r->element[i]->str;
		lens[i] = r->element[i]->len;
	}
	rc = valkey_parse_fields(kv, lens, r->elements, out, err, errlen);
	free(kv);
	free(lens);
	return rc;
}

/* args: [id, field, value, ...] (1 + 2 * VALKEY_NFIELDS strings) after `head`
 * leading ones. */
static void
record_args(const struct instance *in, char vals[VALKEY_NFIELDS][VALKEY_FIELD_MAX],
	    const char **args, int head)
{
	valkey_fields(in, vals);
	args[head] = in->id;
	for (int i = 0; i < VALKEY_NFIELDS; i++) {
		args[head + 1 + 2 * i] = valkey_field_names[i];
		args[head + 2 + 2 * i] = vals[i];
	}
}

/* --- store_ops -------------------------------------------------------------- */

static int
valkey_put(void *ctx, const struct instance *in, char *err, size_t errlen)
{
	char vals[VALKEY_NFIELDS][VALKEY_FIELD_MAX];
	const char *args[1 + 2 * VALKEY_NFIELDS];
	redisReply *r;
	int rc;

	record_args(in, vals, args, 0);
	rc = eval(ctx, lua_put, 1 + 2 * VALKEY_NFIELDS, args, false, &r, err, errlen);
	if (rc == 0)
		freeReplyObject(r);
	explicit_bzero(vals, sizeof(vals)); /* owner token, admin password */
	return rc;
}

static int
valkey_update(void *ctx, const struct instance *in, char *err, size_t errlen)
{
	char vals[VALKEY_NFIELDS][VALKEY_FIELD_MAX];
	const char *args[1 + 2 * VALKEY_NFIELDS];
	redisReply *r;
	int rc;

	record_args(in, vals, args, 0);
	rc = eval(ctx, lua_update, 1 + 2 * VALKEY_NFIELDS, args, false, &r, err, errlen);
	explicit_bzero(vals, sizeof(vals)); /* owner token, admin password */
	if (rc == -1)
		return -1;
	rc = r->type == REDIS_REPLY_INTEGER && r->integer == 1 ? 0 : STORE_NOT_FOUND;
	freeReplyObject(r);
	return rc;
}

static int
valkey_reserve(void *ctx, const struct instance *in, int max_total, int want_ready, char *err,
	       size_t errlen)
{
	char vals[VALKEY_NFIELDS][VALKEY_FIELD_MAX], maxs[16], wants[16];
	const char *args[4 + 2 * VALKEY_NFIELDS];
	redisReply *r;
	int rc;

	snprintf(maxs, sizeof(maxs), "%d", max_total);
	snprintf(wants, sizeof(wants), "%d", want_ready);
	args[0] = in->template_name;
	args[1] = maxs;
	args[2] = wants;
	record_args(in, vals, args, 3);
	rc = eval(ctx, lua_reserve, 4 + 2 * VALKEY_NFIELDS, args, false, &r, err, errlen);
	explicit_bzero(vals, sizeof(vals));
	if (rc == -1)
		return -1;
	rc = r->type == REDIS_REPLY_INTEGER && r->integer == 1 ? 0 : STORE_LIMIT;
	freeReplyObject(r);
	return rc;
}

static int
valkey_get(void *ctx, const char *id, struct instance *out, char *err, size_t errlen)
{
	struct valkey_store *s = ctx;
	char key[VALKEY_PREFIX_MAX + 8 + ID_SIZE];
	const char *argv[2] = {"HGETALL", key};
	size_t lens[2];
	redisReply *r;
	int rc;

	if (valkey_key(key, sizeof(key), s->prefix, "i:", id) == -1)
		return STORE_NOT_FOUND; /* no valid id is that long */
	lens[0] = 7;
	lens[1] = strlen(key);
	pthread_mutex_lock(&s->mu);
	rc = command_locked(s, 2, argv, lens, true, &r, err, errlen);
	pthread_mutex_unlock(&s->mu);
	if (rc == -1)
		return -1;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 0)
		rc = STORE_NOT_FOUND;
	else
		rc = reply_instance(r, out, err, errlen);
	freeReplyObject(r);
	return rc;
}

static int
cmp_created(const void *a, const void *b)
{
	const struct instance *x = a, *y = b;

	if (x->created_at != y->created_at)
		return x->created_at < y->created_at ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int
valkey_list(void *ctx, const char *template_name, int state, struct instance **out, int *n,
	    char *err, size_t errlen)
{
	redisReply *r;
	struct instance *v;
	int count = 0;

	if (eval(ctx, lua_list, 0, NULL, true, &r, err, errlen) == -1)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		return errf(err, errlen, "store list: unexpected reply type %d", r->type);
	}
	v = xcalloc(r->elements + 1, sizeof(*v));
	for (size_t i = 0; i < r->elements; i++) {
		struct instance in;

		if (reply_instance(r->element[i], &in, err, errlen) == -1) {
			free(v);
			freeReplyObject(r);
			return -1;
		}
		if ((template_name != NULL && strcmp(in.template_name, template_name) != 0) ||
		    (state >= 0 && (int)in.state != state))
			continue;
		v[count++] = in;
	}
	freeReplyObject(r);
	qsort(v, (size_t)count, sizeof(*v), cmp_created);
	*out = v;
	*n = count;
	return 0;
}

static int
valkey_del(void *ctx, const char *id, char *err, size_t errlen)
{
	const char *args[1] = {id};
	redisReply *r;

	if (eval(ctx, lua_del, 1, args, false, &r, err, errlen) == -1)
		return -1;
	freeReplyObject(r);
	return 0;
}

static int
valkey_cas_state(void *ctx, const char *id, enum instance_state from, enum instance_state to,
		 char *err, size_t errlen)
{
	const char *args[3] = {id, store_state_name(from), store_state_name(to)};
	redisReply *r;
	int rc;

	if (eval(ctx, lua_cas, 3, args, false, &r, err, errlen) == -1)
		return -1;
	rc = r->type == REDIS_REPLY_INTEGER && r->integer == 1 ? 0 : STORE_NOT_FOUND;
	freeReplyObject(r);
	return rc;
}

static int
valkey_claim(void *ctx, const char *template_name, const struct instance *claim, int max_per_owner,
	     struct instance *out, char *err, size_t errlen)
{
	char at[24], exp[24], max[16];
	const char *args[6];
	redisReply *r;
	long long code;
	int rc = -1;

	snprintf(at, sizeof(at), "%lld", claim->claimed_at);
	snprintf(exp, sizeof(exp), "%lld", claim->expires_at);
	snprintf(max, sizeof(max), "%d", max_per_owner);
	args[0] = template_name;
	args[1] = claim->owner_token;
	args[2] = claim->owner_ip;
	args[3] = at;
	args[4] = exp;
	args[5] = max;
	if (eval(ctx, lua_claim, 6, args, false, &r, err, errlen) == -1)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER) {
		errf(err, errlen, "store claim: unexpected reply");
		goto out;
	}
	code = r->element[0]->integer;
	if (code == 0) {
		rc = STORE_NOT_FOUND;
	} else if (code == 2 && r->elements == 2) {
		errf(err, errlen, "%lld demos are already claimed from %s", r->element[1]->integer,
		     claim->owner_ip);
		rc = STORE_LIMIT;
	} else if (code == 1 && r->elements == 2) {
		rc = reply_instance(r->element[1], out, err, errlen);
	} else {
		errf(err, errlen, "store claim: unexpected reply");
	}
out:
	freeReplyObject(r);
	return rc;
}

static int
valkey_ping(void *ctx, char *err, size_t errlen)
{
	struct valkey_store *s = ctx;
	char key[VALKEY_PREFIX_MAX + 8];
	const char *argv[2] = {"SCARD", key};
	size_t lens[2];
	redisReply *r;
	int rc;

	valkey_key(key, sizeof(key), s->prefix, "all", "");
	lens[0] = 5;
	lens[1] = strlen(key);
	pthread_mutex_lock(&s->mu);
	rc = command_locked(s, 2, argv, lens, true, &r, err, errlen);
	pthread_mutex_unlock(&s->mu);
	if (rc == 0)
		freeReplyObject(r);
	return rc;
}

static int
valkey_heartbeat(void *ctx, const char *node, const char *address, int ttl_ms, char *err,
		 size_t errlen)
{
	struct valkey_store *s = ctx;
	char key[VALKEY_PREFIX_MAX + 80], nodes[VALKEY_PREFIX_MAX + 8], ttl[16];
	const char *set[5] = {"SET", key, address, "PX", ttl};
	const char *hset[4] = {"HSET", nodes, node, address};
	size_t setl[5], hsetl[4];
	redisReply *r;
	int rc;

	if (valkey_key(key, sizeof(key), s->prefix, "node:", node) == -1)
		return errf(err, errlen, "node name too long");
	valkey_key(nodes, sizeof(nodes), s->prefix, "nodes", "");
	snprintf(ttl, sizeof(ttl), "%d", ttl_ms);
	for (int i = 0; i < 5; i++)
		setl[i] = strlen(set[i]);
	for (int i = 0; i < 4; i++)
		hsetl[i] = strlen(hset[i]);
	pthread_mutex_lock(&s->mu);
	rc = command_locked(s, 5, set, setl, true, &r, err, errlen);
	if (rc == 0) {
		freeReplyObject(r);
		rc = command_locked(s, 4, hset, hsetl, true, &r, err, errlen);
		if (rc == 0)
			freeReplyObject(r);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
valkey_nodes(void *ctx, struct store_node **out, int *n, char *err, size_t errlen)
{
	redisReply *r;
	struct store_node *v;
	int count = 0;

	if (eval(ctx, lua_nodes, 0, NULL, true, &r, err, errlen) == -1)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY || r->elements % 3 != 0) {
		freeReplyObject(r);
		return errf(err, errlen, "store nodes: unexpected reply");
	}
	v = xcalloc(r->elements / 3 + 1, sizeof(*v));
	for (size_t i = 0; i + 2 < r->elements; i += 3) {
		const redisReply *name = r->element[i], *addr = r->element[i + 1],
				 *alive = r->element[i + 2];

		if (name->type != REDIS_REPLY_STRING || addr->type != REDIS_REPLY_STRING ||
		    copy_field(v[count].name, sizeof(v[count].name), name->str, name->len) == -1 ||
		    copy_field(v[count].address, sizeof(v[count].address), addr->str, addr->len) ==
			-1)
			continue;
		v[count].alive = alive->type == REDIS_REPLY_INTEGER && alive->integer == 1;
		count++;
	}
	freeReplyObject(r);
	*out = v;
	*n = count;
	return 0;
}

static int
valkey_forget_node(void *ctx, const char *node, char *err, size_t errlen)
{
	struct valkey_store *s = ctx;
	char nodes[VALKEY_PREFIX_MAX + 8];
	const char *argv[3] = {"HDEL", nodes, node};
	size_t lens[3];
	redisReply *r;
	int rc;

	valkey_key(nodes, sizeof(nodes), s->prefix, "nodes", "");
	for (int i = 0; i < 3; i++)
		lens[i] = strlen(argv[i]);
	pthread_mutex_lock(&s->mu);
	rc = command_locked(s, 3, argv, lens, false, &r, err, errlen);
	pthread_mutex_unlock(&s->mu);
	if (rc == 0)
		freeReplyObject(r);
	return rc;
}

static void
valkey_close(void *ctx)
{
	struct valkey_store *s = ctx;

	if (s == NULL)
		return;
	drop_connection(s);
	explicit_bzero(s->password, sizeof(s->password));
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static const struct store_ops valkey_ops = {
    .put = valkey_put,
    .update = valkey_update,
    .get = valkey_get,
    .list = valkey_list,
    .del = valkey_del,
    .cas_state = valkey_cas_state,
    .claim = valkey_claim,
    .ping = valkey_ping,
    .close = valkey_close,
    .reserve = valkey_reserve,
    .heartbeat = valkey_heartbeat,
    .nodes = valkey_nodes,
    .forget_node = valkey_forget_node,
};

int
store_valkey_open(struct store *out, const struct store_valkey_options *o, char *err, size_t errlen)
{
	struct valkey_store *s;
	char reason[256];
	int rc;

	if (valkey_prefix_check(o->prefix, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "store: %s", reason);
	if (o->host == NULL || o->host[0] == '\0' || strlen(o->host) >= sizeof(s->host))
		return errf(err, errlen, "store: no usable host");
	if (o->password != NULL && strlen(o->password) >= sizeof(s->password))
		return errf(err, errlen, "store: password longer than %zu characters",
			    sizeof(s->password) - 1);
	s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	snprintf(s->host, sizeof(s->host), "%s", o->host);
	s->port = o->port;
	snprintf(s->password, sizeof(s->password), "%s", o->password != NULL ? o->password : "");
	snprintf(s->prefix, sizeof(s->prefix), "%s", o->prefix);
	s->connect_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 2000;
	s->command_ms = o->command_timeout_ms > 0 ? o->command_timeout_ms : 5000;
	pthread_mutex_lock(&s->mu);
	rc = connect_locked(s, err, errlen);
	pthread_mutex_unlock(&s->mu);
	if (rc == -1 || valkey_ping(s, err, errlen) == -1) {
		valkey_close(s);
		return -1;
	}
	out->ops = &valkey_ops;
	out->ctx = s;
	log_info("store connected backend=valkey host=%s port=%d prefix=%s", s->host, s->port,
		 s->prefix);
	return 0;
}
