/*
 * Pool manager against the real parts: Podman + CRIU restores of the
 * shop-fixture template, the prestashop profile on each instance's own
 * MariaDB, Caddy routes, the SQLite store. Driven by pool_real.sh, which
 * starts Caddy and Podman's service and creates the template.
 *
 * Covers: fill to min_ready; 3 concurrent claims -> 3 distinct instances, each
 * serving its own domain through Caddy; refill; max_instances; a corrupt
 * archive -> cold-start fallback recorded, and with the fallback off an error
 * and no half-made container; expiry removes route, container and record; a
 * daemon killed (SIGKILL) in the middle of provisioning and of release, then
 * reconciled: nothing leaked and claimed instances still served.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app/profile.h"
#include "config.h"
#include "container/podman.h"
#include "mstime.h"
#include "pool.h"
#include "proxy/proxy.h"
#include "store/store.h"
#include "template.h"

static struct config cfg;
static struct template_meta tmpl;
static struct podman *pm;
static struct proxy px;
static struct store st;
static const char *proxy_addr; /* 127.0.0.1:PORT where Caddy serves visitors */
static long long clock_offset;

static long long
test_now(void)
{
	return (long long)time(NULL) + clock_offset;
}

static struct pool_env
make_env(struct pool_config *pc)
{
	struct pool_env env;

	memset(&env, 0, sizeof(env));
	env.cfg = &cfg;
	env.pcfg = pc;
	env.tmpl = &tmpl;
	env.profile = profile_find(tmpl.profile);
	env.runtime.ops = &podman_runtime_ops;
	env.runtime.ctx = pm;
	env.proxy = &px;
	env.store = &st;
	env.now = test_now;
	env.host_pids = true; /* as demux serve: claims check /proc, not Podman */
	return env;
}

struct body {
	char data[65536];
	size_t len;
};

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct body *b = userdata;
	size_t n = size * nmemb;

	if (b->len + n >= sizeof(b->data))
		n = sizeof(b->data) - b->len - 1;
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return size * nmemb;
}

/* GET http://<proxy_addr><path> with Host <host>; returns the status. */
static long
http(const char *method, const char *host, const char *path, const char *form, struct body *b)
{
	char url[512], hdr[400];
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();
	long code = 0;

	snprintf(url, sizeof(url), "http://%s%s", proxy_addr, path);
	snprintf(hdr, sizeof(hdr), "Host: %s", host);
	h = curl_slist_append(h, hdr);
	b->len = 0;
	b->data[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (form != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return code;
}

static void
domain_of(const struct instance *in, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s.%s", in->id, cfg.base_domain);
}

static bool
container_exists(const char *name)
{
	struct container_info ci;
	char err[512];

	return podman_inspect(pm, name, &ci, NULL, err, sizeof(err)) == 0;
}

static int
count_managed_instances(void)
{
	struct container_info *v = NULL;
	int n = 0, count = 0;
	char err[512];

	assert_int_equal(podman_list(pm, &v, &n, err, sizeof(err)), 0);
	for (int i = 0; i < n; i++)
		if (strncmp(v[i].name, RUNTIME_INSTANCE_PREFIX, strlen(RUNTIME_INSTANCE_PREFIX)) ==
			0 &&
		    strcmp(v[i].template_name, tmpl.name) == 0)
			count++;
	free(v);
	return count;
}

static int
count_routes(void)
{
	struct route *v = NULL;
	int n = 0;
	char err[512];

	assert_int_equal(px.ops->list(px.ctx, &v, &n, err, sizeof(err)), 0);
	free(v);
	return n;
}

static int
count_records(int state)
{
	struct instance *v = NULL;
	int n = 0;
	char err[512];

	assert_int_equal(st.ops->list(st.ctx, tmpl.name, state, &v, &n, err, sizeof(err)), 0);
	free(v);
	return n;
}

/* Everything that exists has its partners: records = containers = routes. */
static void
assert_consistent(int want)
{
	assert_int_equal(count_records(-1), want);
	assert_int_equal(count_managed_instances(), want);
	assert_int_equal(count_routes(), want);
}

static void
fill(struct pool *p)
{
	char err[1024];
	int r;

	while ((r = pool_provision_one(p, err, sizeof(err))) == 1)
		;
	if (r != 0)
		fail_msg("provisioning failed: %s", err);
}

static void
release_all(struct pool *p)
{
	struct instance *v = NULL;
	int n = 0;
	char err[1024];

	assert_int_equal(st.ops->list(st.ctx, tmpl.name, -1, &v, &n, err, sizeof(err)), 0);
	for (int i = 0; i < n; i++)
		if (pool_release(p, v[i].id, err, sizeof(err)) == -1)
			fail_msg("release %s: %s", v[i].id, err);
	free(v);
	assert_consistent(0);
}

struct claimer {
	struct pool *pool;
	struct instance got;
	enum claim_result r;
	char err[512];
};

static void *
claim_thread(void *arg)
{
	struct claimer *c = arg;
	int retry;

	c->r = pool_claim(c->pool, "127.0.0.1", 0, &c->got, &retry, c->err, sizeof(c->err));
	return NULL;
}

static void
test_fill_claim_refill_capacity(void **state)
{
	struct pool_config pc = *config_pool(&cfg, "pooltest");
	struct pool_env env;
	struct pool *p;
	struct claimer c[3];
	pthread_t t[3];
	struct body b;
	char host[320], other[320];
	struct instance extra;
	char err[512];
	int retry;

	(void)state;
	pc.min_ready = 3;
	pc.max_instances = 4;
	env = make_env(&pc);
	p = pool_create(&env);
	fill(p);
	assert_int_equal(count_records(INSTANCE_READY), 3);
	assert_consistent(3);
	for (int i = 0; i < 3; i++) {
		c[i].pool = p;
		pthread_create(&t[i], NULL, claim_thread, &c[i]);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 3; i++) {
		if (c[i].r != CLAIM_OK)
			fail_msg("claim %d: %s", i, c[i].err);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(c[i].got.id, c[j].got.id);
		domain_of(&c[i].got, host, sizeof(host));
		/* Served through Caddy, under its own domain, not redirected. */
		assert_int_equal(http("GET", host, "/", NULL, &b), 200);
		assert_non_null(strstr(b.data, host));
		assert_null(strstr(b.data, tmpl.domain));
	}
	/* A product added in one is absent from another. */
	domain_of(&c[0].got, host, sizeof(host));
	domain_of(&c[1].got, other, sizeof(other));
	assert_true(http("POST", host, "/add", "name=pool-isolation-probe&price=1", &b) < 400);
	assert_int_equal(http("GET", host, "/", NULL, &b), 200);
	assert_non_null(strstr(b.data, "pool-isolation-probe"));
	assert_int_equal(http("GET", other, "/", NULL, &b), 200);
	assert_null(strstr(b.data, "pool-isolation-probe"));
	/* Refill up to max_instances (4): one more. */
	fill(p);
	assert_int_equal(count_records(INSTANCE_READY), 1);
	assert_int_equal(pool_claim(p, "127.0.0.1", 0, &extra, &retry, err, sizeof(err)), CLAIM_OK);
	fill(p);
	assert_int_equal(count_records(-1), 4);
	assert_int_equal(pool_claim(p, "127.0.0.1", 0, &extra, &retry, err, sizeof(err)),
			 CLAIM_AT_CAPACITY);
	release_all(p);
	pool_free(p);
}

/* A pool of pc fills one READY copy made by method, which answers 200 with
 * its own domain; then it is released. */
static void
one_ready_copy(struct pool_config *pc, const char *method)
{
	struct pool_env env = make_env(pc);
	struct pool *p = pool_create(&env);
	struct instance *v = NULL;
	struct body b;
	char host[320], err[1024];
	int n;

	fill(p);
	assert_int_equal(st.ops->list(st.ctx, tmpl.name, INSTANCE_READY, &v, &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].method, method);
	domain_of(&v[0], host, sizeof(host));
	assert_int_equal(http("GET", host, "/", NULL, &b), 200);
	assert_non_null(strstr(b.data, host));
	free(v);
	release_all(p);
	pool_free(p);
}

static void
test_corrupt_archive(void **state)
{
	struct pool_config pc = *config_pool(&cfg, "pooltest");
	struct template_meta good = tmpl;
	struct pool_env env;
	struct pool *p;
	char path[TEMPLATE_PATH], err[1024];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%.1000s.corrupt", tmpl.archive_path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("this is not a checkpoint archive\n", f);
	fclose(f);
	/* A corrupt prepared restore: the copy comes from the full archive. */
	snprintf(tmpl.restore_archive_path, sizeof(tmpl.restore_archive_path), "%s", path);
	pc.min_ready = 1;
	pc.cold_start_fallback = false;
	one_ready_copy(&pc, "criu_restore");
	/* Only a corrupt archive: */
	tmpl.restore_archive_path[0] = '\0';
	snprintf(tmpl.archive_path, sizeof(tmpl.archive_path), "%s", path);
	tmpl.compressed = false;
	/* fallback off: an error, nothing left behind */
	pc.cold_start_fallback = false;
	env = make_env(&pc);
	p = pool_create(&env);
	assert_int_equal(pool_provision_one(p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "restore"));
	assert_consistent(0);
	pool_free(p);
	/* fallback on: cold start used and recorded */
	pc.cold_start_fallback = true;
	one_ready_copy(&pc, "cold_start");
	tmpl = good;
	unlink(path);
}

/* A pool of pc (min_ready 1) with one instance claimed into *a; its domain
 * goes to host (320 bytes). */
static struct pool *
pool_with_claimed(struct pool_config *pc, struct instance *a, char *host)
{
	struct pool_env env = make_env(pc);
	struct pool *p;
	char err[512];
	int retry;

	pc->min_ready = 1;
	p = pool_create(&env);
	fill(p);
	assert_int_equal(pool_claim(p, "127.0.0.1", 0, a, &retry, err, sizeof(err)), CLAIM_OK);
	domain_of(a, host, 320);
	return p;
}

/* a is gone: record, container and route. */
static void
assert_released(const struct instance *a, const char *host)
{
	struct instance got;
	struct body b;
	char err[512];

	assert_int_equal(st.ops->get(st.ctx, a->id, &got, err, sizeof(err)), STORE_NOT_FOUND);
	assert_false(container_exists(a->container));
	assert_int_not_equal(http("GET", host, "/", NULL, &b), 200);
	assert_consistent(0);
}

static void
test_expiry(void **state)
{
	struct pool_config pc = *config_pool(&cfg, "pooltest");
	struct pool *p;
	struct instance a;
	struct body b;
	char host[320];

	(void)state;
	pc.ttl_s = 60;
	p = pool_with_claimed(&pc, &a, host);
	assert_int_equal(http("GET", host, "/", NULL, &b), 200);
	clock_offset += 61;
	pool_reap(p);
	assert_released(&a, host);
	pool_free(p);
}

/* idle_timeout with a real container: requests through the proxy keep a demo;
 * none for idle_timeout and it is released long before its expiry. */
static void
test_idle_by_traffic(void **state)
{
	struct pool_config pc = *config_pool(&cfg, "pooltest");
	struct pool *p;
	struct instance a, got;
	struct body b;
	char host[320], err[512];

	(void)state;
	pc.ttl_s = 3600;
	pc.idle_timeout_s = 60;
	p = pool_with_claimed(&pc, &a, host);
	pool_reap(p); /* first look */
	/* Quiet containers receive no TCP segments: 2 s of nothing changes nothing. */
	sleep(2);
	pool_reap(p);
	assert_int_equal(st.ops->get(st.ctx, a.id, &got, err, sizeof(err)), 0);
	assert_int_equal(got.last_seen_at, a.claimed_at);
	/* The visitor clicks at +40 s... The proxy keeps its connection to the
	 * container open until nginx closes it (keepalive_timeout 5 s): that
	 * close is traffic too, so the test waits it out before the clock jumps
	 * again. */
	clock_offset += 40;
	assert_int_equal(http("GET", host, "/", NULL, &b), 200);
	pool_reap(p);
	assert_int_equal(st.ops->get(st.ctx, a.id, &got, err, sizeof(err)), 0);
	assert_true(got.last_seen_at >= a.claimed_at + 40);
	sleep(7);
	pool_reap(p);
	/* ...so at +80 s (60 s after the claim has long passed) it stays. */
	clock_offset += 40;
	pool_reap(p);
	assert_int_equal(st.ops->get(st.ctx, a.id, &got, err, sizeof(err)), 0);
	assert_int_equal(got.state, INSTANCE_CLAIMED);
	/* Then nothing for over 60 s: released, container and route gone. */
	clock_offset += 25;
	pool_reap(p);
	assert_released(&a, host);
	pool_free(p);
}

/* A claimed demo whose container is stopped behind demux's back is released
 * by the reaper's sweep: record, container and route gone. */
static void
test_lost_instance(void **state)
{
	struct pool_config pc = *config_pool(&cfg, "pooltest");
	struct pool *p;
	struct instance a;
	struct pool_stats ps;
	char host[320], err[512];

	(void)state;
	pc.ttl_s = 3600;
	p = pool_with_claimed(&pc, &a, host);
	pool_reap(p);
	assert_int_equal(podman_stop(pm, a.container, 0, err, sizeof(err)), 0);
	clock_offset += 16;
	pool_reap(p);
	assert_released(&a, host);
	pool_get_stats(p, &ps);
	assert_int_equal(ps.lost, 1);
	pool_free(p);
}

/* A READY copy whose container was killed (SIGKILL of its first process)
 * is not handed out in the seconds before the sweep would notice: the claim
 * takes the other copy, which answers, and the dead one is taken down. */
static void
test_dead_ready_copy_not_handed_out(void **state)
{
	struct pool_config pc = *config_pool(&cfg, "pooltest");
	struct pool_env env = make_env(&pc);
	struct pool *p;
	struct instance *v = NULL, a, first;
	struct pool_stats ps;
	struct body b;
	char host[320], err[512];
	int n = 0, retry, pid = 0;

	(void)state;
	pc.min_ready = 2;
	pc.ttl_s = 3600;
	p = pool_create(&env);
	fill(p);
	assert_int_equal(st.ops->list(st.ctx, tmpl.name, INSTANCE_READY, &v, &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 2);
	/* the copy the store hands out first: oldest ready_at, then id */
	first = v[0];
	if (v[1].ready_at < first.ready_at ||
	    (v[1].ready_at == first.ready_at && strcmp(v[1].id, first.id) < 0))
		first = v[1];
	free(v);
	assert_int_equal(podman_runtime_ops.pid(pm, first.container, &pid, err, sizeof(err)), 0);
	assert_true(pid > 0);
	assert_int_equal(kill(pid, SIGKILL), 0);
	for (int i = 0; i < 100 && pid > 0; i++) {
		mstime_sleep(50);
		assert_int_equal(
		    podman_runtime_ops.pid(pm, first.container, &pid, err, sizeof(err)), 0);
	}
	assert_true(pid <= 0);
	assert_int_equal(pool_claim(p, "127.0.0.1", 0, &a, &retry, err, sizeof(err)), CLAIM_OK);
	assert_string_not_equal(a.id, first.id);
	domain_of(&a, host, sizeof(host));
	assert_int_equal(http("GET", host, "/", NULL, &b), 200);
	pool_get_stats(p, &ps);
	assert_int_equal(ps.lost, 1);
	pool_reap(p); /* finishes the dead copy's release */
	assert_int_equal(st.ops->get(st.ctx, first.id, &a, err, sizeof(err)), STORE_NOT_FOUND);
	assert_false(container_exists(first.container));
	assert_consistent(1);
	release_all(p);
	pool_free(p);
}

/* Runs fn in a child process and SIGKILLs it once cond() holds (or after
 * timeout_s): a daemon dying in the middle of its work. */
static void
kill_midway(void (*fn)(void), bool (*cond)(void), int timeout_s)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		fn();
		_exit(0);
	}
	for (int i = 0; i < timeout_s * 20 && !cond(); i++)
		mstime_sleep(50);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

static struct pool *child_pool;
static char claimed_id[ID_SIZE];

static void
child_provision(void)
{
	char err[512];

	pool_provision_one(child_pool, err, sizeof(err));
}

/* The restore has created the container but the instance is not ready. */
static bool
provisioning_started(void)
{
	return count_records(INSTANCE_PROVISIONING) == 1 && count_managed_instances() >= 2;
}

static void
child_release(void)
{
	char err[512];

	pool_release(child_pool, claimed_id, err, sizeof(err));
}

static bool
release_started(void)
{
	struct instance in;
	char err[256];

	return st.ops->get(st.ctx, claimed_id, &in, err, sizeof(err)) == 0 &&
	       in.state == INSTANCE_RELEASING;
}

static void
test_kill_and_reconcile(void **state)
{
	struct pool_config pc = *config_pool(&cfg, "pooltest");
	struct pool_env env;
	struct pool *p, *pools[1];
	struct instance a, b2, got;
	struct body body;
	char host[320], err[1024];
	int retry;

	(void)state;
	pc.min_ready = 2;
	env = make_env(&pc);
	p = pool_create(&env);
	fill(p);
	assert_int_equal(pool_claim(p, "127.0.0.1", 0, &a, &retry, err, sizeof(err)), CLAIM_OK);
	assert_int_equal(pool_claim(p, "127.0.0.1", 0, &b2, &retry, err, sizeof(err)), CLAIM_OK);
	pool_free(p);
	/* killed while provisioning */
	pc.min_ready = 3;
	env = make_env(&pc);
	child_pool = pool_create(&env);
	kill_midway(child_provision, provisioning_started, 60);
	pool_free(child_pool);
	/* killed while releasing b2 */
	snprintf(claimed_id, sizeof(claimed_id), "%s", b2.id);
	env = make_env(&pc);
	child_pool = pool_create(&env);
	kill_midway(child_release, release_started, 30);
	pool_free(child_pool);
	/* restart: reconcile */
	pc.min_ready = 2;
	env = make_env(&pc);
	p = pool_create(&env);
	pools[0] = p;
	assert_int_equal(pool_reconcile(pools, 1, err, sizeof(err)), 0);
	assert_int_equal(count_records(INSTANCE_PROVISIONING), 0);
	assert_int_equal(count_records(INSTANCE_RELEASING), 0);
	assert_int_equal(st.ops->get(st.ctx, b2.id, &got, err, sizeof(err)), STORE_NOT_FOUND);
	assert_false(container_exists(b2.container));
	/* the claimed instance survived and is still served */
	assert_int_equal(st.ops->get(st.ctx, a.id, &got, err, sizeof(err)), 0);
	assert_int_equal(got.state, INSTANCE_CLAIMED);
	domain_of(&a, host, sizeof(host));
	assert_int_equal(http("GET", host, "/", NULL, &body), 200);
	assert_consistent(1);
	release_all(p);
	pool_free(p);
}

int
main(int argc, char **argv)
{
	char err[1024];
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fill_claim_refill_capacity),
	    cmocka_unit_test(test_corrupt_archive),
	    cmocka_unit_test(test_idle_by_traffic),
	    cmocka_unit_test(test_lost_instance),
	    cmocka_unit_test(test_dead_ready_copy_not_handed_out),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_kill_and_reconcile),
	};
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CONFIG (run by pool_real.sh)\n", argv[0]);
		return 2;
	}
	cmocka_set_message_output(CM_OUTPUT_TAP);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (config_load(&cfg, argv[1], err, sizeof(err)) == -1 ||
	    template_load(cfg.state_dir, "pooltest", &tmpl, err, sizeof(err)) == -1 ||
	    proxy_open(&px, &cfg, err, sizeof(err)) == -1 ||
	    px.ops->ensure_front(px.ctx, cfg.base_domain, cfg.listen, err, sizeof(err)) == -1 ||
	    store_sqlite_open(&st, cfg.store_path, err, sizeof(err)) == -1) {
		printf("not ok 1 - setup: %s\n", err);
		return 1;
	}
	proxy_addr = cfg.proxy_listen;
	pm = podman_open(cfg.podman_socket, cfg.podman_timeout_ms);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	st.ops->close(st.ctx);
	proxy_close(&px);
	podman_close(pm);
	return rc;
}
