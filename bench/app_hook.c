/*
 * app_hook — how long an app profile's after_restore takes, against a
 * database holding the shop-fixture schema (a MariaDB started for the
 * benchmark, or the embedded one of a restored shop-fixture container).
 *
 *   app_hook PORT USER SCHEMA PREFIX [RUNS]   (password in DEMUX_BENCH_DB_PASSWORD)
 *   app_hook PORT USER SCHEMA PREFIX first    one after_restore, its ms printed
 *
 * Before each timed run the smarty cache gets its product list back (as in a
 * freshly restored copy) and the domain changes, so every run does the real
 * work. Printed side by side with two baselines: a SELECT 1 on an open
 * connection (one round trip) and connect + SELECT 1 + close. Median, p95,
 * min and max in milliseconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/db.h"
#include "app/prestashop.h"
#include "app/profile.h"
#include "buf.h"
#include "log.h"
#include "mstime.h"
#include "xmalloc.h"

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
report(const char *name, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	printf("%-34s n=%-4d median=%7.3f  p95=%7.3f  min=%7.3f  max=%7.3f ms\n", name, n, v[n / 2],
	       v[(n * 95) / 100 < n ? (n * 95) / 100 : n - 1], v[0], v[n - 1]);
}

/* Puts the template's cached product list back, as a restored copy has it. */
static int
refill_cache(struct db_conn *c, const char *prefix, char *err, size_t errlen)
{
	struct buf b;
	int ret = -1;

	buf_init(&b, 4096);
	if (buf_appends(&b, "INSERT INTO ") == -1 ||
	    db_append_prefixed_ident(&b, prefix, "smarty_cache", err, errlen) == -1 ||
	    buf_appends(&b, " (id_smarty_cache, name, cache_id, content) VALUES (SHA1('product_"
			    "list'), 'product_list', 'product_list|shop1', REPEAT('<li><a href="
			    "\"http://shop.template.localhost/product/1\">x</a></li>', 20)) ON "
			    "DUPLICATE KEY UPDATE content = VALUES(content)") == -1 ||
	    db_exec(c, buf_str(&b), NULL, 0, NULL, err, errlen) == -1)
		goto out;
	buf_reset(&b);
	if (buf_appends(&b, "REPLACE INTO ") == -1 ||
	    db_append_prefixed_ident(&b, prefix, "smarty_lazy_cache", err, errlen) == -1 ||
	    buf_appends(&b, " VALUES (MD5('catalog/listing/product-list.tpl'), 'product_list', '', "
			    "'product_list/1.tpl', NOW())") == -1 ||
	    db_exec(c, buf_str(&b), NULL, 0, NULL, err, errlen) == -1)
		goto out;
	ret = 0;
out:
	buf_free(&b);
	return ret;
}

/* The seed's ClearCaches, timed for comparison with the DELETE demux uses. */
static int
truncate_caches(struct db_conn *c, const char *prefix, char *err, size_t errlen)
{
	static const char *const tables[] = {"smarty_cache", "smarty_lazy_cache"};
	struct buf b;
	int ret = -1;

	buf_init(&b, 256);
	for (size_t i = 0; i < 2; i++) {
		buf_reset(&b);
		if (buf_appends(&b, "TRUNCATE TABLE ") == -1 ||
		    db_append_prefixed_ident(&b, prefix, tables[i], err, errlen) == -1 ||
		    db_exec(c, buf_str(&b), NULL, 0, NULL, err, errlen) == -1)
			goto out;
	}
	ret = 0;
out:
	buf_free(&b);
	return ret;
}

int
main(int argc, char **argv)
{
	struct db_params p = {0};
	struct app_instance inst = {0};
	const struct profile *ps = profile_find("prestashop");
	struct db_conn *c = NULL, *c2 = NULL;
	char err[1024], domain[64];
	double *v, t0;
	int runs = 200, i;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: app_hook PORT USER SCHEMA PREFIX [RUNS|first]\n");
		return 2;
	}
	if (argc == 6)
		runs = (int)strtol(argv[5], NULL, 10);
	if (runs < 1 || runs > 100000)
		runs = 200;
	p.host = "127.0.0.1";
	p.port = (int)strtol(argv[1], NULL, 10);
	p.user = argv[2];
	p.password = getenv("DEMUX_BENCH_DB_PASSWORD");
	p.name = argv[3];
	p.connect_timeout_s = 5;
	p.rw_timeout_s = 10;
	p.retry_ms = 2000;
	log_set_level(LOG_LEVEL_WARN);
	inst.id = "bench";
	inst.scheme = "http";
	inst.prefix = argv[4];
	inst.db = p;
	if (argc == 6 && strcmp(argv[5], "first") == 0) {
		/* The first hook on a fresh restore, nothing sent before it. */
		inst.domain = "first.demo.localhost";
		t0 = mstime_now();
		if (ps->after_restore(&inst, err, sizeof(err)) == -1) {
			fprintf(stderr, "app_hook: %s\n", err);
			return 1;
		}
		printf("%.3f\n", mstime_now() - t0);
		return 0;
	}
	v = xcalloc((size_t)runs, sizeof(*v));
	if (db_connect(&p, &c, err, sizeof(err)) == -1)
		goto fail;

	for (i = 0; i < runs; i++) {
		t0 = mstime_now();
		if (db_exec(c, "SELECT 1", NULL, 0, NULL, err, sizeof(err)) == -1)
			goto fail;
		v[i] = mstime_now() - t0;
	}
	report("baseline SELECT 1 (open conn)", v, runs);

	for (i = 0; i < runs; i++) {
		t0 = mstime_now();
		if (db_connect(&p, &c2, err, sizeof(err)) == -1 ||
		    db_exec(c2, "SELECT 1", NULL, 0, NULL, err, sizeof(err)) == -1)
			goto fail;
		db_close(c2);
		c2 = NULL;
		v[i] = mstime_now() - t0;
	}
	report("baseline connect+SELECT 1+close", v, runs);

	for (i = 0; i < runs; i++) {
		snprintf(domain, sizeof(domain), "u%d.demo.localhost", i);
		t0 = mstime_now();
		if (prestashop_update_domain(c, argv[4], domain, err, sizeof(err)) == -1)
			goto fail;
		v[i] = mstime_now() - t0;
	}
	report("UpdateDomain (open conn)", v, runs);

	for (i = 0; i < runs; i++) {
		if (refill_cache(c, argv[4], err, sizeof(err)) == -1)
			goto fail;
		t0 = mstime_now();
		if (prestashop_clear_caches(c, argv[4], err, sizeof(err)) == -1)
			goto fail;
		v[i] = mstime_now() - t0;
	}
	report("ClearCaches, DELETE (open conn)", v, runs);

	for (i = 0; i < runs; i++) {
		if (refill_cache(c, argv[4], err, sizeof(err)) == -1)
			goto fail;
		snprintf(domain, sizeof(domain), "a%d.demo.localhost", i);
		t0 = mstime_now();
		if (prestashop_apply(c, argv[4], domain, err, sizeof(err)) == -1)
			goto fail;
		v[i] = mstime_now() - t0;
	}
	report("UpdateDomain+ClearCaches (1 tx)", v, runs);

	for (i = 0; i < runs; i++) {
		if (refill_cache(c, argv[4], err, sizeof(err)) == -1)
			goto fail;
		t0 = mstime_now();
		if (truncate_caches(c, argv[4], err, sizeof(err)) == -1)
			goto fail;
		v[i] = mstime_now() - t0;
	}
	report("seed's TRUNCATE x2 (for comparison)", v, runs);

	for (i = 0; i < runs; i++) {
		if (refill_cache(c, argv[4], err, sizeof(err)) == -1)
			goto fail;
		snprintf(domain, sizeof(domain), "h%d.demo.localhost", i);
		inst.domain = domain;
		t0 = mstime_now();
		if (ps->after_restore(&inst, err, sizeof(err)) == -1)
			goto fail;
		v[i] = mstime_now() - t0;
	}
	report("prestashop after_restore (whole)", v, runs);
	db_close(c);
	free(v);
	return 0;
fail:
	fprintf(stderr, "app_hook: %s\n", err);
	db_close(c);
	db_close(c2);
	free(v);
	return 1;
}
