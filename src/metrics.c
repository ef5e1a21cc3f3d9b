/*
 * metrics — Prometheus text format from the pools' statistics.
 *
 * Series are grouped by family (HELP and TYPE once, then one line per
 * template), as the format requires. Template names are validated names, but
 * label values are escaped all the same.
 */
#include "metrics.h"

#include <stdio.h>
#include <string.h>

static const char *const method_names[2] = {"criu_restore", "cold_start"};

static int
label(struct buf *b, const char *value)
{
	int rc = 0;

	for (const char *p = value; *p != '\0' && rc == 0; p++) {
		if (*p == '\\')
			rc = buf_appends(b, "\\\\");
		else if (*p == '"')
			rc = buf_appends(b, "\\\"");
		else if (*p == '\n')
			rc = buf_appends(b, "\\n");
		else
			rc = buf_append(b, p, 1);
	}
	return rc;
}

static int
family(struct buf *b, const char *name, const char *type, const char *help)
{
	return buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{template="T"<extra>} value */
static int
series(struct buf *b, const char *name, const char *tmpl, const char *extra, long long value)
{
	int rc = buf_printf(b, "%s{template=\"", name);

	rc |= label(b, tmpl);
	rc |= buf_printf(b, "\"%s} %lld\n", extra, value);
	return rc;
}

int
metrics_render(struct buf *out, const struct metrics_pool *pools, int npools, const double *bounds,
	       int nbounds, const struct metrics_server *srv)
{
	static const char *const states[4] = {"ready", "claimed", "provisioning", "releasing"};
	static const char *const reasons[3] = {"provisioning", "capacity", "error"};
	int rc = 0;

	if (nbounds > POOL_HIST_BUCKETS)
		nbounds = POOL_HIST_BUCKETS;
	rc |= family(out, "demux_instances", "gauge", "Instances per template and state.");
	for (int i = 0; i < npools; i++) {
		const struct pool_stats *s = pools[i].stats;
		const int v[4] = {s->ready, s->claimed, s->provisioning, s->releasing};

		for (int k = 0; k < 4; k++) {
			char extra[48];

			snprintf(extra, sizeof(extra), ",state=\"%s\"", states[k]);
			rc |= series(out, "demux_instances", pools[i].template_name, extra, v[k]);
		}
	}
	rc |= family(out, "demux_claims_total", "counter", "Demos handed out to visitors.");
	for (int i = 0; i < npools; i++)
		rc |= series(out, "demux_claims_total", pools[i].template_name, "",
			     pools[i].stats->claims);
	rc |= family(out, "demux_claim_failures_total", "counter",
		     "Claims that got no demo, by reason.");
	for (int i = 0; i < npools; i++) {
		const struct pool_stats *s = pools[i].stats;
		const long long v[3] = {s->claim_fail_provisioning, s->claim_fail_capacity,
					s->claim_fail_error};

		for (int k = 0; k < 3; k++) {
			char extra[48];

			snprintf(extra, sizeof(extra), ",reason=\"%s\"", reasons[k]);
			rc |= series(out, "demux_claim_failures_total", pools[i].template_name,
				     extra, v[k]);
		}
	}
	rc |= family(out, "demux_expirations_total", "counter",
		     "Demos released because their time was up.");
	for (int i = 0; i < npools; i++)
		rc |= series(out, "demux_expirations_total", pools[i].template_name, "",
			     pools[i].stats->expirations);
	rc |= family(out, "demux_releases_total", "counter",
		     "Demos taken down (on request, at expiry or at reconciliation).");
	for (int i = 0; i < npools; i++)
		rc |= series(out, "demux_releases_total", pools[i].template_name, "",
			     pools[i].stats->releases);
	rc |= family(out, "demux_provision_failures_total", "counter",
		     "Instances that failed to become ready.");
	for (int i = 0; i < npools; i++)
		rc |= series(out, "demux_provision_failures_total", pools[i].template_name, "",
			     pools[i].stats->provision_failures);
	rc |= family(out, "demux_instances_lost_total", "counter",
		     "Ready or claimed demos released because their container stopped running.");
	for (int i = 0; i < npools; i++)
		rc |= series(out, "demux_instances_lost_total", pools[i].template_name, "",
			     pools[i].stats->lost);
	rc |= family(out, "demux_provision_duration_seconds", "histogram",
		     "Time from the start of provisioning until an instance is ready, by method.");
	for (int i = 0; i < npools; i++) {
		const struct pool_stats *s = pools[i].stats;

		for (int m = 0; m < 2; m++) {
			char extra[96];

			for (int k = 0; k < nbounds; k++) {
				snprintf(extra, sizeof(extra), ",method=\"%s\",le=\"%g\"",
					 method_names[m], bounds[k]);
				rc |= series(out, "demux_provision_duration_seconds_bucket",
					     pools[i].template_name, extra, s->hist_bucket[m][k]);
			}
			snprintf(extra, sizeof(extra), ",method=\"%s\",le=\"+Inf\"",
				 method_names[m]);
			rc |= series(out, "demux_provision_duration_seconds_bucket",
				     pools[i].template_name, extra, s->hist_count[m]);
			rc |= buf_appends(out, "demux_provision_duration_seconds_sum{template=\"");
			rc |= label(out, pools[i].template_name);
			rc |= buf_printf(out, "\",method=\"%s\"} %.9g\n", method_names[m],
					 s->hist_sum[m]);
			snprintf(extra, sizeof(extra), ",method=\"%s\"", method_names[m]);
			rc |= series(out, "demux_provision_duration_seconds_count",
				     pools[i].template_name, extra, s->hist_count[m]);
		}
	}
	if (srv != NULL) {
		rc |= family(out, "demux_http_requests_total", "counter",
			     "HTTP requests answered by demux.");
		rc |= buf_printf(out, "demux_http_requests_total %lld\n", srv->requests);
		rc |= family(out, "demux_claims_rate_limited_total", "counter",
			     "Claims refused because the caller's address was over its limit.");
		rc |= buf_printf(out, "demux_claims_rate_limited_total %lld\n", srv->rate_limited);
		rc |= family(out, "demux_http_body_too_large_total", "counter",
			     "Requests refused because their body was over max_body_bytes.");
		rc |=
		    buf_printf(out, "demux_http_body_too_large_total %lld\n", srv->body_too_large);
	}
	return rc == 0 ? 0 : -1;
}

int
metrics_render_nodes(struct buf *out, const struct node_view *nodes, int n)
{
	static const char *const states[4] = {"ready", "claimed", "provisioning", "releasing"};
	int rc = 0;

	rc |= family(out, "demux_node_up", "gauge",
		     "Nodes sharing the pool: 1 while the node's heartbeat has not lapsed.");
	for (int i = 0; i < n; i++) {
		rc |= buf_appends(out, "demux_node_up{node=\"");
		rc |= label(out, nodes[i].name);
		rc |= buf_printf(out, "\",self=\"%s\"} %d\n", nodes[i].self ? "true" : "false",
				 nodes[i].alive ? 1 : 0);
	}
	rc |= family(out, "demux_node_instances", "gauge",
		     "Instances each node runs, over every template, by state.");
	for (int i = 0; i < n; i++) {
		const int v[4] = {nodes[i].ready, nodes[i].claimed, nodes[i].provisioning,
				  nodes[i].releasing};

		for (int k = 0; k < 4; k++) {
			rc |= buf_appends(out, "demux_node_instances{node=\"");
			rc |= label(out, nodes[i].name);
			rc |= buf_printf(out, "\",state=\"%s\"} %d\n", states[k], v[k]);
		}
	}
	return rc == 0 ? 0 : -1;
}
