/*
 * proxy_bench — latency of one route change through demux's route managers.
 *
 * For each size in --routes it first grows the live route set to that size
 * (hosts r000000.<base_domain>, r000001… -> --upstream), then times
 * --changes add+remove pairs of a probe route and prints the median and p95
 * of each, in milliseconds, one key=value line per size. The live routes are
 * left in place so the caller can push traffic through them.
 *
 * --raw-socket instead times bare "add map"/"del map" pairs on HAProxy's
 * socket, without demux's map file: one connection per command, then one
 * kept-open connection in prompt mode. That splits the cost of a change
 * into socket, HAProxy and map file.
 *
 *   proxy_bench --config FILE --routes 10,100,1000 --changes 200
 *               [--upstream 127.0.0.1:PORT] [--fsync] [--raw-socket] [--label TEXT]
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "proxy/haproxy.h"
#include "proxy/proxy.h"
#include "mstime.h"
#include "xmalloc.h"

#define MAX_SIZES 8

struct opts {
	const char *config;
	int sizes[MAX_SIZES];
	int nsizes;
	int changes;
	const char *upstream;
	bool fsync_map;
	bool raw;
	const char *label;
};

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts v in place; p in [0, 1]. */
static double
pct(double *v, int n, double p)
{
	int i;

	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	i = (int)(p * (n - 1) + 0.5);
	return v[i];
}

static void
usage(void)
{
	fprintf(stderr, "usage: proxy_bench --config FILE --routes N[,N...] --changes K "
			"[--upstream IP:PORT] [--fsync] [--raw-socket] [--label TEXT]\n");
	exit(2);
}

static int
parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || (*end != '\0' && *end != ',') || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->changes = 100;
	o->upstream = "127.0.0.1:9";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			o->config = argv[++i];
		} else if (strcmp(argv[i], "--routes") == 0 && i + 1 < argc) {
			for (const char *p = argv[++i]; p != NULL && *p != '\0';) {
				if (o->nsizes == MAX_SIZES ||
				    parse_int(p, 0, 1000000, &o->sizes[o->nsizes++]) == -1)
					usage();
				p = strchr(p, ',');
				p = p != NULL ? p + 1 : NULL;
			}
		} else if (strcmp(argv[i], "--changes") == 0 && i + 1 < argc) {
			if (parse_int(argv[++i], 1, 1000000, &o->changes) == -1)
				usage();
		} else if (strcmp(argv[i], "--upstream") == 0 && i + 1 < argc) {
			o->upstream = argv[++i];
		} else if (strcmp(argv[i], "--fsync") == 0) {
			o->fsync_map = true;
		} else if (strcmp(argv[i], "--label") == 0 && i + 1 < argc) {
			o->label = argv[++i];
		} else if (strcmp(argv[i], "--raw-socket") == 0) {
			o->raw = true;
		} else {
			usage();
		}
	}
	if (o->config == NULL || o->nsizes == 0)
		usage();
}

/* ---- demux's route managers ------------------------------------------------ */

static int
grow(struct proxy *p, const struct config *cfg, int *live, int want, const char *upstream)
{
	char host[CONFIG_STR + 32], err[1024];

	for (; *live < want; (*live)++) {
		snprintf(host, sizeof(host), "r%06d.%s", *live, cfg->base_domain);
		if (p->ops->add(p->ctx, host, upstream, err, sizeof(err)) == -1) {
			fprintf(stderr, "proxy_bench: add %s: %s\n", host, err);
			return -1;
		}
	}
	return 0;
}

static int
bench_changes(struct proxy *p, const struct config *cfg, const struct opts *o, int live)
{
	double *add = xcalloc((size_t)o->changes, sizeof(double));
	double *rm = xcalloc((size_t)o->changes, sizeof(double));
	double *all = xcalloc(2 * (size_t)o->changes, sizeof(double));
	char host[CONFIG_STR + 32], err[1024];
	int rc = -1;

	for (int i = 0; i < o->changes; i++) {
		double t0, t1, t2;

		snprintf(host, sizeof(host), "probe%d.%s", i, cfg->base_domain);
		t0 = mstime_now();
		if (p->ops->add(p->ctx, host, "127.0.0.1:9", err, sizeof(err)) == -1)
			goto fail;
		t1 = mstime_now();
		if (p->ops->remove(p->ctx, host, err, sizeof(err)) == -1)
			goto fail;
		t2 = mstime_now();
		add[i] = t1 - t0;
		rm[i] = t2 - t1;
		all[2 * i] = add[i];
		all[2 * i + 1] = rm[i];
	}
	printf("%-22s routes=%-4d changes=%d add_median_ms=%.3f add_p95_ms=%.3f "
	       "remove_median_ms=%.3f remove_p95_ms=%.3f change_median_ms=%.3f "
	       "change_p95_ms=%.3f\n",
	       o->label != NULL ? o->label : p->ops->name, live, o->changes,
	       pct(add, o->changes, 0.5), pct(add, o->changes, 0.95), pct(rm, o->changes, 0.5),
	       pct(rm, o->changes, 0.95), pct(all, 2 * o->changes, 0.5),
	       pct(all, 2 * o->changes, 0.95));
	fflush(stdout);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "proxy_bench: %s: %s\n", host, err);
out:
	free(add);
	free(rm);
	free(all);
	return rc;
}

static int
run_proxy(const struct config *cfg, const struct opts *o)
{
	struct haproxy_options hopt = {.fsync_map = o->fsync_map};
	struct proxy p = {NULL, NULL};
	char err[1024];
	int live = 0, rc = 1;

	if (cfg->proxy_backend == PROXY_HAPROXY) {
		if (haproxy_open(&p, cfg, &hopt, err, sizeof(err)) == -1)
			goto fail;
	} else if (proxy_open(&p, cfg, err, sizeof(err)) == -1) {
		goto fail;
	}
	if (p.ops->ensure_front(p.ctx, cfg->base_domain, cfg->listen, err, sizeof(err)) == -1)
		goto fail;
	for (int s = 0; s < o->nsizes; s++) {
		if (grow(&p, cfg, &live, o->sizes[s], o->upstream) == -1 ||
		    bench_changes(&p, cfg, o, live) == -1)
			goto out;
	}
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "proxy_bench: %s\n", err);
out:
	proxy_close(&p);
	return rc;
}

/* ---- bare HAProxy socket --------------------------------------------------- */

static int
sock_open(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends cmd and reads until the prompt (prompt mode) or end of stream. */
static int
sock_cmd(int fd, const char *cmd, bool prompt, struct buf *reply)
{
	char chunk[4096];

	buf_reset(reply);
	if (send(fd, cmd, strlen(cmd), MSG_NOSIGNAL) != (ssize_t)strlen(cmd))
		return -1;
	for (;;) {
		ssize_t r = recv(fd, chunk, sizeof(chunk), 0);

		if (r <= 0)
			return prompt ? -1 : 0;
		if (buf_append(reply, chunk, (size_t)r) == -1)
			return -1;
		if (prompt && reply->len >= 3 && strcmp(reply->data + reply->len - 3, "\n> ") == 0)
			return 0;
	}
}

static int
raw_pairs(const struct config *cfg, const struct opts *o, int live, bool prompt)
{
	double *t = xcalloc(2 * (size_t)o->changes, sizeof(double));
	char cmd[1024];
	struct buf reply;
	int fd = -1, rc = -1;

	buf_init(&reply, 1 << 20);
	if (prompt) {
		fd = sock_open(cfg->haproxy_socket);
		if (fd == -1 || sock_cmd(fd, "prompt\n", true, &reply) == -1)
			goto out;
	}
	for (int i = 0; i < 2 * o->changes; i++) {
		double t0 = mstime_now();

		snprintf(cmd, sizeof(cmd),
			 i % 2 == 0 ? "add map %s probe%d.%s 127.0.0.1:9\n"
				    : "del map %s probe%d.%s\n",
			 cfg->haproxy_map, i / 2, cfg->base_domain);
		if (!prompt && (fd = sock_open(cfg->haproxy_socket)) == -1)
			goto out;
		if (sock_cmd(fd, cmd, prompt, &reply) == -1)
			goto out;
		if (!prompt) {
			close(fd);
			fd = -1;
		}
		t[i] = mstime_now() - t0;
		if (reply.data[strspn(reply.data, "\n> ")] != '\0') {
			fprintf(stderr, "proxy_bench: '%s' answered '%s'\n", cmd, reply.data);
			goto out;
		}
	}
	printf("%-22s routes=%-4d changes=%d change_median_ms=%.3f "
	       "change_p95_ms=%.3f\n",
	       prompt ? "socket only, kept-open" : "socket only, per-cmd", live, o->changes,
	       pct(t, 2 * o->changes, 0.5), pct(t, 2 * o->changes, 0.95));
	fflush(stdout);
	rc = 0;
out:
	if (rc == -1)
		fprintf(stderr, "proxy_bench: raw socket %s: %s\n", cfg->haproxy_socket,
			strerror(errno));
	if (fd != -1)
		close(fd);
	buf_free(&reply);
	free(t);
	return rc;
}

static int
run_raw(const struct config *cfg, const struct opts *o)
{
	struct proxy p = {NULL, NULL};
	char err[1024];
	int live = 0, rc = 1;

	/* The live routes go in through demux, so map file and HAProxy agree. */
	if (haproxy_open(&p, cfg, NULL, err, sizeof(err)) == -1) {
		fprintf(stderr, "proxy_bench: %s\n", err);
		return 1;
	}
	for (int s = 0; s < o->nsizes; s++)
		if (grow(&p, cfg, &live, o->sizes[s], o->upstream) == -1 ||
		    raw_pairs(cfg, o, live, false) == -1 || raw_pairs(cfg, o, live, true) == -1)
			goto out;
	rc = 0;
out:
	proxy_close(&p);
	return rc;
}

int
main(int argc, char **argv)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	struct opts o;
	char err[1024];
	int rc;

	parse_opts(argc, argv, &o);
	if (config_load(cfg, o.config, err, sizeof(err)) == -1) {
		fprintf(stderr, "proxy_bench: %s\n", err);
		return 1;
	}
	log_set_level(LOG_LEVEL_WARN);
	rc = o.raw ? run_raw(cfg, &o) : run_proxy(cfg, &o);
	free(cfg);
	return rc;
}
