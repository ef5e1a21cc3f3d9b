/*
 * sqlite — the embedded instance store: one SQLite file in WAL mode under
 * demux's state directory, a schema version in PRAGMA user_version and
 * forward-only migrations. A mutex serialises use of the one connection;
 * claim is a single UPDATE ... RETURNING inside an IMMEDIATE transaction
 * (with the owner count before it), so two claims can never take the same
 * row even from two processes.
 *
 * synchronous = NORMAL: in WAL mode a commit is not fsync'ed; the WAL is
 * synced at checkpoints. A crash of demux loses nothing (the OS has the
 * pages); a power failure or kernel crash can roll back the last commits
 * before the most recent sync, never corrupt the file. What that can undo
 * and how the restart covers it is in docs/POOL.md ("Store").
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "log.h"
#include "store/store.h"
#include "xmalloc.h"

struct sqlite_store {
	sqlite3 *db;
	pthread_mutex_t mu;
	char dir[4096]; /* the directory of the file, for the free-space check */
};

/* Below this much free space on the state disk, ping reports the store as
 * failing: the next writes (a claim, a new record) may not fit. */
#define STORE_MIN_FREE_BYTES (1024ULL * 1024)

static const char *const migrations[] = {
    /* version 1 */
    "CREATE TABLE instances ("
    " id TEXT PRIMARY KEY, template TEXT NOT NULL, state INTEGER NOT NULL,"
    " container TEXT NOT NULL, app_port INTEGER NOT NULL, db_port INTEGER NOT NULL,"
    " prefix TEXT NOT NULL, method TEXT NOT NULL, owner_token TEXT NOT NULL,"
    " owner_ip TEXT NOT NULL, node TEXT NOT NULL, created_at INTEGER NOT NULL,"
    " ready_at INTEGER NOT NULL, claimed_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
    " last_seen_at INTEGER NOT NULL, restore_ms REAL NOT NULL, hook_ms REAL NOT NULL,"
    " health_ms REAL NOT NULL, route_ms REAL NOT NULL, provision_ms REAL NOT NULL);"
    "CREATE INDEX instances_by_template_state ON instances(template, state, ready_at);",
    /* version 2: each copy's own admin password; "" for copies made before,
     * which keep the template's */
    "ALTER TABLE instances ADD COLUMN admin_password TEXT NOT NULL DEFAULT '';",
    /* version 3: extends counted per claim; claims counted per owner address */
    "ALTER TABLE instances ADD COLUMN extends INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX instances_by_owner_state ON instances(owner_ip, state);",
    /* version 4: the template version a copy was restored from; 0 for copies
     * made before templates had versions (they run version 1) */
    "ALTER TABLE instances ADD COLUMN version INTEGER NOT NULL DEFAULT 0;",
};

#define COLUMNS                                                                                    \
	"id, template, state, container, app_port, db_port, prefix, method, owner_token, "         \
	"owner_ip, node, created_at, ready_at, claimed_at, expires_at, last_seen_at, restore_ms, " \
	"hook_ms, health_ms, route_ms, provision_ms, admin_password, extends, version"

static const char *const state_names[] = {"provisioning", "ready", "claimed", "releasing"};

const char *
store_state_name(enum instance_state s)
{
	if ((int)s < 0 || (size_t)s >= sizeof(state_names) / sizeof(state_names[0]))
		return "unknown";
	return state_names[s];
}

int
store_state_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (strcmp(name, state_names[i]) == 0)
			return (int)i;
	return -1;
}

static int
db_fail(struct sqlite_store *s, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "store %s: %s", what, sqlite3_errmsg(s->db));
	return -1;
}

static void
copy_text(char *dst, size_t size, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, size, "%s", t != NULL ? (const char *)t : "");
}

static void
row_to_instance(sqlite3_stmt *st, struct instance *in)
{
	memset(in, 0, sizeof(*in));
	copy_text(in->id, sizeof(in->id), st, 0);
	copy_text(in->template_name, sizeof(in->template_name), st, 1);
	in->state = (enum instance_state)sqlite3_column_int(st, 2);
	copy_text(in->container, sizeof(in->container), st, 3);
	in->app_port = sqlite3_column_int(st, 4);
	in->db_port = sqlite3_column_int(st, 5);
	copy_text(in->prefix, sizeof(in->prefix), st, 6);
	copy_text(in->method, sizeof(in->method), st, 7);
	copy_text(in->owner_token, sizeof(in->owner_token), st, 8);
	copy_text(in->owner_ip, sizeof(in->owner_ip), st, 9);
	copy_text(in->node, sizeof(in->node), st, 10);
	in->created_at = sqlite3_column_int64(st, 11);
	in->ready_at = sqlite3_column_int64(st, 12);
	in->claimed_at = sqlite3_column_int64(st, 13);
	in->expires_at = sqlite3_column_int64(st, 14);
	in->last_seen_at = sqlite3_column_int64(st, 15);
	in->restore_ms = sqlite3_column_double(st, 16);
	in->hook_ms = sqlite3_column_double(st, 17);
	in->health_ms = sqlite3_column_double(st, 18);
	in->route_ms = sqlite3_column_double(st, 19);
	in->provision_ms = sqlite3_column_double(st, 20);
	copy_text(in->admin_password, sizeof(in->admin_password), st, 21);
	in->extends = sqlite3_column_int(st, 22);
	in->version = sqlite3_column_int(st, 23);
}

/* Binds every column of in, in COLUMNS order, as parameters 1..24. */
static void
bind_instance(sqlite3_stmt *st, const struct instance *in)
{
	sqlite3_bind_text(st, 1, in->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, in->template_name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, (int)in->state);
	sqlite3_bind_text(st, 4, in->container, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, in->app_port);
	sqlite3_bind_int(st, 6, in->db_port);
	sqlite3_bind_text(st, 7, in->prefix, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, in->method, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, in->owner_token, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, in->owner_ip, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, in->node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 12, in->created_at);
	sqlite3_bind_int64(st, 13, in->ready_at);
	sqlite3_bind_int64(st, 14, in->claimed_at);
	sqlite3_bind_int64(st, 15, in->expires_at);
	sqlite3_bind_int64(st, 16, in->last_seen_at);
	sqlite3_bind_double(st, 17, in->restore_ms);
	sqlite3_bind_double(st, 18, in->hook_ms);
	sqlite3_bind_double(st, 19, in->health_ms);
	sqlite3_bind_double(st, 20, in->route_ms);
	sqlite3_bind_double(st, 21, in->provision_ms);
	sqlite3_bind_text(st, 22, in->admin_password, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 23, in->extends);
	sqlite3_bind_int(st, 24, in->version);
}

/* Runs sql with in bound; *changed = rows changed. */
static int
write_instance(struct sqlite_store *s, const char *sql, const char *what, const struct instance *in,
	       int *changed, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	pthread_mutex_lock(&s->mu);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		db_fail(s, what, err, errlen);
		goto out;
	}
	bind_instance(st, in);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_fail(s, what, err, errlen);
		goto out;
	}
	*changed = sqlite3_changes(s->db);
	rc = 0;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
sqlite_put(void *ctx, const struct instance *in, char *err, size_t errlen)
{
	int changed;

	return write_instance(ctx,
			      "INSERT OR REPLACE INTO instances (" COLUMNS ") VALUES "
			      "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
			      "put", in, &changed, err, errlen);
}

/* One UPDATE whose WHERE checks the state: no window between check and
 * write, even for another process on the same file. */
static int
sqlite_update(void *ctx, const struct instance *in, char *err, size_t errlen)
{
	int changed = 0;

	if (write_instance(ctx,
			   "UPDATE instances SET template = ?2, container = ?4, app_port = ?5,"
			   " db_port = ?6, prefix = ?7, method = ?8, owner_token = ?9,"
			   " owner_ip = ?10, node = ?11, created_at = ?12, ready_at = ?13,"
			   " claimed_at = ?14, expires_at = ?15, last_seen_at = ?16,"
			   " restore_ms = ?17, hook_ms = ?18, health_ms = ?19, route_ms = ?20,"
			   " provision_ms = ?21, admin_password = ?22, extends = ?23, version = ?24"
			   " WHERE id = ?1 AND state = ?3",
			   "update", in, &changed, err, errlen) == -1)
		return -1;
	return changed == 1 ? 0 : STORE_NOT_FOUND;
}

static int
sqlite_get(void *ctx, const char *id, struct instance *out, char *err, size_t errlen)
{
	struct sqlite_store *s = ctx;
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	pthread_mutex_lock(&s->mu);
	if (sqlite3_prepare_v2(s->db, "SELECT " COLUMNS " FROM instances WHERE id = ?", -1, &st,
			       NULL) != SQLITE_OK) {
		db_fail(s, "get", err, errlen);
		goto out;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		row_to_instance(st, out);
		rc = 0;
	} else if (step == SQLITE_DONE) {
		rc = STORE_NOT_FOUND;
	} else {
		db_fail(s, "get", err, errlen);
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
collect_rows(struct sqlite_store *s, sqlite3_stmt *st, struct instance **out, int *n, char *err,
	     size_t errlen)
{
	int cap = 16, count = 0, step;
	struct instance *v = xcalloc((size_t)cap, sizeof(*v));

	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			cap *= 2;
			v = xrealloc(v, (size_t)cap * sizeof(*v));
		}
		row_to_instance(st, &v[count++]);
	}
	if (step != SQLITE_DONE) {
		free(v);
		return db_fail(s, "list", err, errlen);
	}
	*out = v;
	*n = count;
	return 0;
}

static int
sqlite_list(void *ctx, const char *template_name, int state, struct instance **out, int *n,
	    char *err, size_t errlen)
{
	struct sqlite_store *s = ctx;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	pthread_mutex_lock(&s->mu);
	if (sqlite3_prepare_v2(s->db,
			       "SELECT " COLUMNS
			       " FROM instances WHERE (?1 IS NULL OR template = ?1)"
			       " AND (?2 < 0 OR state = ?2) ORDER BY created_at, id",
			       -1, &st, NULL) != SQLITE_OK) {
		db_fail(s, "list", err, errlen);
		goto out;
	}
	if (template_name != NULL)
		sqlite3_bind_text(st, 1, template_name, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 1);
	sqlite3_bind_int(st, 2, state);
	rc = collect_rows(s, st, out, n, err, errlen);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
sqlite_del(void *ctx, const char *id, char *err, size_t errlen)
{
	struct sqlite_store *s = ctx;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	pthread_mutex_lock(&s->mu);
	if (sqlite3_prepare_v2(s->db, "DELETE FROM instances WHERE id = ?", -1, &st, NULL) !=
	    SQLITE_OK) {
		db_fail(s, "delete", err, errlen);
		goto out;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_fail(s, "delete", err, errlen);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
sqlite_cas_state(void *ctx, const char *id, enum instance_state from, enum instance_state to,
		 char *err, size_t errlen)
{
	struct sqlite_store *s = ctx;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	pthread_mutex_lock(&s->mu);
	if (sqlite3_prepare_v2(s->db, "UPDATE instances SET state = ? WHERE id = ? AND state = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		db_fail(s, "cas", err, errlen);
		goto out;
	}
	sqlite3_bind_int(st, 1, (int)to);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, (int)from);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_fail(s, "cas", err, errlen);
		goto out;
	}
	rc = sqlite3_changes(s->db) == 1 ? 0 : STORE_NOT_FOUND;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* CLAIMED instances owned by ip, of every template. Called with mu held. */
static int
count_owned(struct sqlite_store *s, const char *ip, int *n, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT COUNT(*) FROM instances WHERE owner_ip = ? AND state = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		db_fail(s, "claim", err, errlen);
		goto out;
	}
	sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, INSTANCE_CLAIMED);
	if (sqlite3_step(st) != SQLITE_ROW) {
		db_fail(s, "claim", err, errlen);
		goto out;
	}
	*n = sqlite3_column_int(st, 0);
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

static int
sqlite_claim(void *ctx, const char *template_name, const struct instance *claim, int max_per_owner,
	     struct instance *out, char *err, size_t errlen)
{
	struct sqlite_store *s = ctx;
	sqlite3_stmt *st = NULL;
	int rc = -1, step, owned = 0;
	bool txn = false;

	pthread_mutex_lock(&s->mu);
	/* IMMEDIATE takes the write lock before the first read: the owner count
	 * and the claim see the same rows, even with another process claiming
	 * from the same file, and the busy timeout (not an immediate
	 * SQLITE_BUSY) applies when another writer holds the file. */
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(s, "claim", err, errlen);
		goto out;
	}
	txn = true;
	if (max_per_owner > 0) {
		if (count_owned(s, claim->owner_ip, &owned, err, errlen) == -1)
			goto out;
		if (owned >= max_per_owner) {
			snprintf(err, errlen, "%d demos are already claimed from %s", owned,
				 claim->owner_ip);
			rc = STORE_LIMIT;
			goto out;
		}
	}
	if (sqlite3_prepare_v2(
		s->db,
		"UPDATE instances SET state = ?1, owner_token = ?2, owner_ip = ?3,"
		" claimed_at = ?4, expires_at = ?5, last_seen_at = ?4, extends = 0"
		" WHERE id = (SELECT id FROM instances WHERE template = ?6 AND state = ?7"
		" ORDER BY ready_at, id LIMIT 1) AND state = ?7 RETURNING " COLUMNS,
		-1, &st, NULL) != SQLITE_OK) {
		db_fail(s, "claim", err, errlen);
		goto out;
	}
	sqlite3_bind_int(st, 1, INSTANCE_CLAIMED);
	sqlite3_bind_text(st, 2, claim->owner_token, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, claim->owner_ip, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, claim->claimed_at);
	sqlite3_bind_int64(st, 5, claim->expires_at);
	sqlite3_bind_text(st, 6, template_name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, INSTANCE_READY);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		row_to_instance(st, out);
		rc = 0;
		while (sqlite3_step(st) == SQLITE_ROW)
			;
	} else if (step == SQLITE_DONE) {
		rc = STORE_NOT_FOUND;
	} else {
		db_fail(s, "claim", err, errlen);
	}
out:
	sqlite3_finalize(st);
	if (txn &&
	    sqlite3_exec(s->db, rc == -1 ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK &&
	    rc != -1) {
		db_fail(s, "claim commit", err, errlen);
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		rc = -1;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
sqlite_ping(void *ctx, char *err, size_t errlen)
{
	struct sqlite_store *s = ctx;
	int rc = 0;

	struct statvfs vfs;
	unsigned long long avail;

	pthread_mutex_lock(&s->mu);
	if (sqlite3_exec(s->db, "SELECT 1 FROM instances LIMIT 1", NULL, NULL, NULL) != SQLITE_OK)
		rc = db_fail(s, "ping", err, errlen);
	pthread_mutex_unlock(&s->mu);
	if (rc == 0 && statvfs(s->dir, &vfs) == 0) {
		avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
		if (avail < STORE_MIN_FREE_BYTES) {
			snprintf(err, errlen, "store: the state disk is full (%llu KiB free in %s)",
				 avail / 1024, s->dir);
			rc = -1;
		}
	}
	return rc;
}

static void
sqlite_close(void *ctx)
{
	struct sqlite_store *s = ctx;

	if (s == NULL)
		return;
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static const struct store_ops sqlite_ops = {
    .put = sqlite_put,
    .update = sqlite_update,
    .get = sqlite_get,
    .list = sqlite_list,
    .del = sqlite_del,
    .cas_state = sqlite_cas_state,
    .claim = sqlite_claim,
    .ping = sqlite_ping,
    .close = sqlite_close,
};

static int
migrate(struct sqlite_store *s, const char *path, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int version = 0;
	const int latest = (int)(sizeof(migrations) / sizeof(migrations[0]));

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return db_fail(s, "schema version", err, errlen);
	}
	version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version > latest) {
		snprintf(err, errlen,
			 "store %s has schema version %d, newer than this demux knows (%d)", path,
			 version, latest);
		return -1;
	}
	for (int v = version; v < latest; v++) {
		char sql[64], *msg = NULL;

		if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(s->db, migrations[v], NULL, NULL, &msg) != SQLITE_OK) {
			snprintf(err, errlen, "store %s: migration to version %d: %s", path, v + 1,
				 msg != NULL ? msg : "failed");
			sqlite3_free(msg);
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d; COMMIT", v + 1);
		if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
			snprintf(err, errlen, "store %s: migration commit: %s", path,
				 msg != NULL ? msg : "failed");
			sqlite3_free(msg);
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		log_info("store migrated path=%s version=%d", path, v + 1);
	}
	return 0;
}

int
store_sqlite_open(struct store *out, const char *path, char *err, size_t errlen)
{
	struct sqlite_store *s = xcalloc(1, sizeof(*s));
	char *msg = NULL;

	const char *slash = strrchr(path, '/');

	pthread_mutex_init(&s->mu, NULL);
	if (slash == NULL)
		snprintf(s->dir, sizeof(s->dir), ".");
	else if (slash == path)
		snprintf(s->dir, sizeof(s->dir), "/");
	else
		snprintf(s->dir, sizeof(s->dir), "%.*s", (int)(slash - path), path);
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "store %s: cannot open: %s", path,
			 s->db != NULL ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (sqlite3_exec(s->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;", NULL,
			 NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "store %s: %s", path, msg != NULL ? msg : "cannot set WAL");
		sqlite3_free(msg);
		goto fail;
	}
	if (migrate(s, path, err, errlen) == -1)
		goto fail;
	out->ops = &sqlite_ops;
	out->ctx = s;
	return 0;
fail:
	sqlite_close(s);
	return -1;
}
