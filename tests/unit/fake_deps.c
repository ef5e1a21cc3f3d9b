/* Fakes of runtime, proxy and profile for the pool's unit tests, and the
 * pool fixture built on them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_deps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xmalloc.h"

bool
fake_runtime_has(const struct fake_runtime *rt, const char *name)
{
	for (int i = 0; i < rt->n; i++)
		if (strcmp(rt->names[i], name) == 0)
			return true;
	return false;
}

static int
add_container(struct fake_runtime *rt, const char *name, int port, char *err, size_t errlen)
{
	if (fake_runtime_has(rt, name) || rt->n == FAKE_MAX) {
		snprintf(err, errlen, "fake: container %s exists", name);
		return -1;
	}
	snprintf(rt->names[rt->n], sizeof(rt->names[0]), "%s", name);
	rt->stopped[rt->n] = false;
	rt->app_ports[rt->n++] = port;
	return 0;
}

static int
fake_restore(void *ctx, const struct restore_request *req, struct restore_stats *st, char *err,
	     size_t errlen)
{
	struct fake_runtime *rt = ctx;

	rt->restores++;
	memset(st, 0, sizeof(*st));
	snprintf(rt->last_archive, sizeof(rt->last_archive), "%s", req->archive_path);
	if (rt->fail_restore ||
	    (rt->fail_restore_from[0] != '\0' && strcmp(req->archive_path, rt->fail_restore_from) == 0)) {
		snprintf(err, errlen, "fake: restore failed (corrupt archive)");
		return -1;
	}
	return add_container(rt, req->name, req->ports[0].host_port, err, errlen);
}

static int
fake_run(void *ctx, const struct container_spec *spec, char *err, size_t errlen)
{
	struct fake_runtime *rt = ctx;

	rt->runs++;
	if (rt->fail_run) {
		snprintf(err, errlen, "fake: run failed");
		return -1;
	}
	return add_container(rt, spec->name, spec->nports > 0 ? spec->ports[0].host_port : 0, err,
			     errlen);
}

static int
fake_remove(void *ctx, const char *name, char *err, size_t errlen)
{
	struct fake_runtime *rt = ctx;

	if (rt->remove_hook != NULL)
		rt->remove_hook(name);
	rt->removes++;
	if (rt->fail_remove) {
		snprintf(err, errlen, "fake: remove failed");
		return -1;
	}
	for (int i = 0; i < rt->n; i++) {
		if (strcmp(rt->names[i], name) == 0) {
			rt->n--;
			memmove(rt->names[i], rt->names[rt->n], sizeof(rt->names[0]));
			rt->app_ports[i] = rt->app_ports[rt->n];
			rt->stopped[i] = rt->stopped[rt->n];
			rt->stopped[rt->n] = false;
			break;
		}
	}
	return 0;
}

static int
fake_list(void *ctx, struct container_info **out, int *n, char *err, size_t errlen)
{
	struct fake_runtime *rt = ctx;
	struct container_info *v;

	if (rt->list_hook != NULL)
		rt->list_hook(rt);
	v = xcalloc((size_t)rt->n + 1, sizeof(*v));
	(void)err;
	(void)errlen;
	for (int i = 0; i < rt->n; i++) {
		snprintf(v[i].name, sizeof(v[i].name), "%s", rt->names[i]);
		snprintf(v[i].state, sizeof(v[i].state), "%s",
			 rt->stopped[i] ? "exited" : "running");
		snprintf(v[i].template_name, sizeof(v[i].template_name), "%s",
			 rt->template_name[0] ? rt->template_name : "shop");
		v[i].running = !rt->stopped[i];
		v[i].ports[0].host_port = rt->app_ports[i];
		v[i].nports = 1;
	}
	*out = v;
	*n = rt->n;
	return 0;
}

/* A made-up host pid per running container (the pool builds the path of a
 * copy's database socket from it; the fake profiles never open it). */
static int
fake_pid(void *ctx, const char *name, int *pid, char *err, size_t errlen)
{
	struct fake_runtime *rt = ctx;

	for (int i = 0; i < rt->n; i++)
		if (strcmp(rt->names[i], name) == 0) {
			*pid = rt->stopped[i] ? -1 : 40000 + i;
			return 0;
		}
	(void)err;
	(void)errlen;
	*pid = -1;
	return 0;
}

static int
fake_set_cpus(void *ctx, const char *name, double cpus, char *err, size_t errlen)
{
	struct fake_runtime *rt = ctx;

	rt->set_cpus_calls++;
	rt->last_cpus = cpus;
	if (rt->fail_set_cpus || !fake_runtime_has(rt, name)) {
		snprintf(err, errlen, "fake: cannot limit %s", name);
		return -1;
	}
	return 0;
}

const struct runtime_ops fake_runtime_ops = {
    .restore = fake_restore,
    .run = fake_run,
    .remove = fake_remove,
    .list = fake_list,
    .pid = fake_pid,
    .set_cpus = fake_set_cpus,
};

bool
fake_proxy_has(const struct fake_proxy *px, const char *host)
{
	for (int i = 0; i < px->n; i++)
		if (strcmp(px->routes[i].host, host) == 0)
			return true;
	return false;
}

static int
fake_front(void *ctx, const char *base, const char *listen, char *err, size_t errlen)
{
	(void)ctx;
	(void)base;
	(void)listen;
	(void)err;
	(void)errlen;
	return 0;
}

static int
fake_add(void *ctx, const char *host, const char *upstream, char *err, size_t errlen)
{
	struct fake_proxy *px = ctx;

	px->adds++;
	if (px->fail_add || px->n == FAKE_MAX) {
		snprintf(err, errlen, "fake proxy at 127.0.0.1:1: connection refused");
		return -1;
	}
	snprintf(px->routes[px->n].host, sizeof(px->routes[0].host), "%s", host);
	snprintf(px->routes[px->n].upstream, sizeof(px->routes[0].upstream), "%s", upstream);
	px->n++;
	return 0;
}

static int
fake_route_remove(void *ctx, const char *host, char *err, size_t errlen)
{
	struct fake_proxy *px = ctx;

	px->removes++;
	if (px->fail_remove) {
		snprintf(err, errlen, "fake proxy at 127.0.0.1:1: connection refused");
		return -1;
	}
	for (int i = 0; i < px->n; i++) {
		if (strcmp(px->routes[i].host, host) == 0) {
			px->routes[i] = px->routes[--px->n];
			break;
		}
	}
	return 0;
}

static int
fake_route_list(void *ctx, struct route **out, int *n, char *err, size_t errlen)
{
	struct fake_proxy *px = ctx;
	struct route *v = xcalloc((size_t)px->n + 1, sizeof(*v));

	(void)err;
	(void)errlen;
	memcpy(v, px->routes, (size_t)px->n * sizeof(*v));
	*out = v;
	*n = px->n;
	return 0;
}

static void
fake_close(void *ctx)
{
	(void)ctx;
}

const struct route_ops fake_route_ops = {
    .name = "fake",
    .ensure_front = fake_front,
    .add = fake_add,
    .remove = fake_route_remove,
    .list = fake_route_list,
    .close = fake_close,
};

struct fake_profile_state fake_profile_state;

static int
fake_after_restore(const struct app_instance *inst, char *err, size_t errlen)
{
	if (fake_profile_state.after_restore_calls < FAKE_MAX)
		snprintf(fake_profile_state.passwords[fake_profile_state.after_restore_calls],
			 sizeof(fake_profile_state.passwords[0]), "%s",
			 inst->admin_password != NULL ? inst->admin_password : "");
	fake_profile_state.after_restore_calls++;
	snprintf(fake_profile_state.last_domain, sizeof(fake_profile_state.last_domain), "%s",
		 inst->domain);
	snprintf(fake_profile_state.last_db_socket, sizeof(fake_profile_state.last_db_socket), "%s",
		 inst->db.unix_socket != NULL ? inst->db.unix_socket : "");
	if (fake_profile_state.fail_after_restore) {
		snprintf(err, errlen, "fake: UPDATE shop_url failed");
		return -1;
	}
	return 0;
}

static int
fake_on_release(const struct app_instance *inst, char *err, size_t errlen)
{
	(void)inst;
	(void)err;
	(void)errlen;
	fake_profile_state.on_release_calls++;
	return 0;
}

/* Like prestashop and wordpress: a copy gets its own password when the
 * template names an admin login. */
static int
fake_sets_admin_password(const struct app_instance *inst)
{
	return inst->admin_user != NULL && inst->admin_user[0] != '\0';
}

const struct profile fake_profile = {
    .name = "fake",
    .default_prefix = "ps_",
    .health_path = "/",
    .admin_path = "/admin",
    .sets_admin_password = fake_sets_admin_password,
    .after_restore = fake_after_restore,
    .on_release = fake_on_release,
};

void
fake_runtime_stop(struct fake_runtime *rt, const char *name)
{
	for (int i = 0; i < rt->n; i++)
		if (strcmp(rt->names[i], name) == 0)
			rt->stopped[i] = true;
}

long long fake_clock = 1000000;
bool fake_health_fails;

static long long
fake_now(void)
{
	return fake_clock;
}

static int
fake_health(const struct pool_env *env, const struct instance *in, char *err, size_t errlen)
{
	(void)env;
	(void)in;
	if (fake_health_fails) {
		snprintf(err, errlen, "HTTP 302, want 2xx");
		return -1;
	}
	return 0;
}

int
pool_fixture_setup(void **state)
{
	struct pool_fixture *f = calloc(1, sizeof(*f));
	char err[256];
	int fd;

	config_defaults(&f->cfg);
	config_pool_defaults(&f->pcfg, "shop");
	f->pcfg.min_ready = 2;
	f->pcfg.max_instances = 4;
	f->pcfg.port_min = 41000;
	f->pcfg.port_max = 41099;
	f->pcfg.ttl_s = 600;
	f->pcfg.max_ttl_s = 1800;
	snprintf(f->tmpl.name, sizeof(f->tmpl.name), "shop");
	snprintf(f->tmpl.image, sizeof(f->tmpl.image), "localhost/demux/shop-fixture:latest");
	snprintf(f->tmpl.db_prefix, sizeof(f->tmpl.db_prefix), "ps_");
	f->tmpl.app_port = 80;
	f->tmpl.db_port = 3306;
	snprintf(f->tmpl.db_socket, sizeof(f->tmpl.db_socket), "%s", TEMPLATE_DEFAULT_DB_SOCKET);
	snprintf(f->path, sizeof(f->path), "/tmp/demux-pool-test-XXXXXX");
	fd = mkstemp(f->path);
	close(fd);
	assert_int_equal(store_sqlite_open(&f->store, f->path, err, sizeof(err)), 0);
	f->proxy.ops = &fake_route_ops;
	f->proxy.ctx = &f->px;
	f->env.cfg = &f->cfg;
	f->env.pcfg = &f->pcfg;
	f->env.tmpl = &f->tmpl;
	f->env.profile = &fake_profile;
	f->env.runtime.ops = &fake_runtime_ops;
	f->env.runtime.ctx = &f->rt;
	f->env.proxy = &f->proxy;
	f->env.store = &f->store;
	f->env.health = fake_health;
	f->env.now = fake_now;
	f->env.health_budget_ms = 200;
	f->pool = pool_create(&f->env);
	memset(&fake_profile_state, 0, sizeof(fake_profile_state));
	fake_health_fails = false;
	*state = f;
	return 0;
}

void
pool_fixture_renew(struct pool_fixture *f)
{
	pool_free(f->pool);
	f->pool = pool_create(&f->env);
}

int
pool_fixture_teardown(void **state)
{
	struct pool_fixture *f = *state;
	char wal[80];

	pool_free(f->pool);
	f->store.ops->close(f->store.ctx);
	unlink(f->path);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", f->path);
	unlink(wal);
	free(f);
	return 0;
}

void
pool_fixture_fill(struct pool_fixture *f)
{
	char err[512];
	int r;

	while ((r = pool_provision_one(f->pool, err, sizeof(err))) == 1)
		;
	assert_int_equal(r, 0);
}

int
pool_fixture_count(struct pool_fixture *f, int state)
{
	struct instance *v;
	int n;
	char err[256];

	assert_int_equal(f->store.ops->list(f->store.ctx, "shop", state, &v, &n, err, sizeof(err)),
			 0);
	free(v);
	return n;
}
