/* Unit tests for metrics: the Prometheus text built from pool statistics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"

static const double bounds[3] = {0.5, 1, 2.5};

static void
assert_line(const char *text, const char *line)
{
	char want[512];
	const char *p;

	snprintf(want, sizeof(want), "%s\n", line);
	p = strstr(text, want);
	/* A whole line: at the start or after a newline. */
	while (p != NULL && p != text && p[-1] != '\n')
		p = strstr(p + 1, want);
	if (p == NULL)
		fail_msg("missing line \"%s\" in:\n%s", line, text);
}

static int
count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void
fill(struct pool_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->ready = 2;
	s->claimed = 5;
	s->provisioning = 1;
	s->releasing = 0;
	s->claims = 7;
	s->claim_fail_provisioning = 3;
	s->claim_fail_capacity = 1;
	s->claim_fail_error = 0;
	s->expirations = 1;
	s->releases = 2;
	s->provision_failures = 4;
	s->hist_count[0] = 6;
	s->hist_sum[0] = 5.25;
	s->hist_bucket[0][0] = 1;
	s->hist_bucket[0][1] = 5;
	s->hist_bucket[0][2] = 6;
	s->hist_count[1] = 1;
	s->hist_sum[1] = 7.5;
}

static void
test_series_per_template(void **state)
{
	struct pool_stats a, b;
	struct metrics_pool pools[2] = {{"shop-fixture", &a}, {"wordpress", &b}};
	struct metrics_server srv = {100, 3, 1};
	struct buf out;
	const char *t;

	(void)state;
	fill(&a);
	memset(&b, 0, sizeof(b));
	b.ready = 1;
	buf_init(&out, 1 << 20);
	assert_int_equal(metrics_render(&out, pools, 2, bounds, 3, &srv), 0);
	t = buf_str(&out);

	assert_line(t, "# TYPE demux_instances gauge");
	assert_line(t, "demux_instances{template=\"shop-fixture\",state=\"ready\"} 2");
	assert_line(t, "demux_instances{template=\"shop-fixture\",state=\"claimed\"} 5");
	assert_line(t, "demux_instances{template=\"shop-fixture\",state=\"provisioning\"} 1");
	assert_line(t, "demux_instances{template=\"wordpress\",state=\"ready\"} 1");
	assert_line(t, "demux_claims_total{template=\"shop-fixture\"} 7");
	assert_line(
	    t, "demux_claim_failures_total{template=\"shop-fixture\",reason=\"provisioning\"} 3");
	assert_line(t,
		    "demux_claim_failures_total{template=\"shop-fixture\",reason=\"capacity\"} 1");
	assert_line(t, "demux_claim_failures_total{template=\"shop-fixture\",reason=\"error\"} 0");
	assert_line(t, "demux_expirations_total{template=\"shop-fixture\"} 1");
	assert_line(t, "demux_releases_total{template=\"shop-fixture\"} 2");
	assert_line(t, "demux_provision_failures_total{template=\"shop-fixture\"} 4");
	assert_line(t, "# TYPE demux_provision_duration_seconds histogram");
	assert_line(t, "demux_provision_duration_seconds_bucket{template=\"shop-fixture\","
		       "method=\"criu_restore\",le=\"0.5\"} 1");
	assert_line(t, "demux_provision_duration_seconds_bucket{template=\"shop-fixture\","
		       "method=\"criu_restore\",le=\"2.5\"} 6");
	assert_line(t, "demux_provision_duration_seconds_bucket{template=\"shop-fixture\","
		       "method=\"criu_restore\",le=\"+Inf\"} 6");
	assert_line(t, "demux_provision_duration_seconds_sum{template=\"shop-fixture\","
		       "method=\"criu_restore\"} 5.25");
	assert_line(t, "demux_provision_duration_seconds_count{template=\"shop-fixture\","
		       "method=\"criu_restore\"} 6");
	assert_line(t, "demux_provision_duration_seconds_bucket{template=\"shop-fixture\","
		       "method=\"cold_start\",le=\"+Inf\"} 1");
	assert_line(t, "demux_provision_duration_seconds_sum{template=\"shop-fixture\","
		       "method=\"cold_start\"} 7.5");
	assert_line(t, "demux_http_requests_total 100");
	assert_line(t, "demux_claims_rate_limited_total 3");
	assert_line(t, "demux_http_body_too_large_total 1");
	/* HELP and TYPE once per family, whatever the number of templates. */
	assert_int_equal(count(t, "# TYPE demux_instances "), 1);
	assert_int_equal(count(t, "# TYPE demux_claims_total "), 1);
	assert_int_equal(count(t, "# HELP demux_provision_duration_seconds "), 1);
	/* 2 templates x 2 methods x (3 bounds + Inf) bucket lines. */
	assert_int_equal(count(t, "demux_provision_duration_seconds_bucket{"), 16);
	assert_int_equal(t[strlen(t) - 1], '\n');
	buf_free(&out);
}

static void
test_label_values_are_escaped(void **state)
{
	struct pool_stats a;
	struct metrics_pool pools[1] = {{"we\"ird\\na\nme", &a}};
	struct buf out;

	(void)state;
	memset(&a, 0, sizeof(a));
	buf_init(&out, 1 << 20);
	assert_int_equal(metrics_render(&out, pools, 1, bounds, 3, NULL), 0);
	assert_line(buf_str(&out), "demux_claims_total{template=\"we\\\"ird\\\\na\\nme\"} 0");
	assert_null(strstr(buf_str(&out), "demux_http_requests_total"));
	buf_free(&out);
}

static void
test_no_pools_still_valid(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, 1 << 20);
	assert_int_equal(metrics_render(&out, NULL, 0, bounds, 3, NULL), 0);
	assert_line(buf_str(&out), "# TYPE demux_claims_total counter");
	assert_null(strstr(buf_str(&out), "{template="));
	buf_free(&out);
}

static void
test_full_buffer_fails(void **state)
{
	struct pool_stats a;
	struct metrics_pool pools[1] = {{"shop", &a}};
	struct buf out;

	(void)state;
	fill(&a);
	buf_init(&out, 256);
	assert_int_equal(metrics_render(&out, pools, 1, bounds, 3, NULL), -1);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_series_per_template),
	    cmocka_unit_test(test_label_values_are_escaped),
	    cmocka_unit_test(test_no_pools_still_valid),
	    cmocka_unit_test(test_full_buffer_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
