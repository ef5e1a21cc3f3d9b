/*
 * restore_bench — how long a restore through demux's Podman module takes, and
 * where the time goes (podman = the whole REST call, runtime = runc, CRIU =
 * CRIU's own restore_time), plus the time until the copy answers HTTP 200 and
 * the time to remove it.
 *
 *   restore_bench SOCKET ARCHIVE APP_PORT DB_PORT DOMAIN RUNS [CONCURRENCY]
 *
 * RUNS restores in batches of CONCURRENCY (one thread each); every copy is
 * removed after its batch. DB_PORT 0 publishes only the app. Median, min and
 * max in milliseconds.
 */
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "container/podman.h"
#include "http_probe.h"
#include "id.h"
#include "mstime.h"
#include "xmalloc.h"

struct job {
	struct podman *p;
	struct restore_request req;
	struct restore_stats stats;
	const char *domain;
	char name[64];
	char err[1024];
	double ready_ms;
	double remove_ms;
	int rc;
};

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
report(const char *what, double *v, int n)
{
	if (n == 0)
		return;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	printf("  %-28s n=%-3d median=%8.1f  min=%8.1f  max=%8.1f ms\n", what, n, v[n / 2], v[0],
	       v[n - 1]);
}

static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(s);
	return port;
}

static void *
restore_one(void *arg)
{
	struct job *j = arg;
	double t0 = mstime_now();

	j->rc = podman_restore(j->p, &j->req, &j->stats, j->err, sizeof(j->err));
	if (j->rc != 0)
		return NULL;
	for (;;) {
		char why[256];
		long status = 0;

		if (http_probe_get(j->req.ports[0].host_port, "/", j->domain, 30000L, 30000L,
				   &status, why, sizeof(why)) == 0 &&
		    status == 200)
			break;
		if (mstime_now() - t0 > 30000) {
			snprintf(j->err, sizeof(j->err), "%s never answered 200", j->name);
			j->rc = -1;
			return NULL;
		}
		mstime_sleep(5);
	}
	j->ready_ms = mstime_now() - t0;
	return NULL;
}

int
main(int argc, char **argv)
{
	struct podman *p;
	struct job *jobs;
	double *wall, *podman, *runtime, *criu, *ready, *removal, batch_max = 0;
	long long pages = 0;
	int runs, conc, app_port, db_port, n = 0, failures = 0;

	if (argc < 7) {
		fprintf(stderr, "usage: restore_bench SOCKET ARCHIVE APP_PORT DB_PORT DOMAIN RUNS "
				"[CONCURRENCY]\n");
		return 2;
	}
	app_port = (int)strtol(argv[3], NULL, 10);
	db_port = (int)strtol(argv[4], NULL, 10);
	runs = (int)strtol(argv[6], NULL, 10);
	conc = argc > 7 ? (int)strtol(argv[7], NULL, 10) : 1;
	if (runs < 1 || conc < 1 || conc > 64 || app_port < 1) {
		fprintf(stderr, "restore_bench: bad numbers\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	p = podman_open(argv[1], 300000);
	jobs = xcalloc((size_t)conc, sizeof(*jobs));
	wall = xcalloc((size_t)runs, sizeof(double));
	podman = xcalloc((size_t)runs, sizeof(double));
	runtime = xcalloc((size_t)runs, sizeof(double));
	criu = xcalloc((size_t)runs, sizeof(double));
	ready = xcalloc((size_t)runs, sizeof(double));
	removal = xcalloc((size_t)runs, sizeof(double));
	for (int done = 0; done < runs; done += conc) {
		int batch = runs - done < conc ? runs - done : conc;
		pthread_t th[64];
		double b0 = mstime_now();

		for (int i = 0; i < batch; i++) {
			char id[ID_SIZE];
			struct job *j = &jobs[i];

			memset(j, 0, sizeof(*j));
			id_generate(id);
			snprintf(j->name, sizeof(j->name), "demux-bench-%s", id);
			j->p = p;
			j->domain = argv[5];
			j->req.archive_path = argv[2];
			j->req.name = j->name;
			j->req.ports[j->req.nports++] =
			    (struct container_port){free_port(), app_port};
			if (db_port > 0)
				j->req.ports[j->req.nports++] =
				    (struct container_port){free_port(), db_port};
			pthread_create(&th[i], NULL, restore_one, j);
		}
		for (int i = 0; i < batch; i++)
			pthread_join(th[i], NULL);
		if (mstime_now() - b0 > batch_max)
			batch_max = mstime_now() - b0;
		for (int i = 0; i < batch; i++) {
			struct job *j = &jobs[i];
			char err[512];
			double r0 = mstime_now();

			if (podman_remove(p, j->name, err, sizeof(err)) == -1)
				fprintf(stderr, "remove %s: %s\n", j->name, err);
			if (j->rc != 0) {
				fprintf(stderr, "restore %s: %s\n", j->name, j->err);
				failures++;
				continue;
			}
			wall[n] = j->stats.wall_ms;
			podman[n] = j->stats.podman_ms;
			runtime[n] = j->stats.runtime_ms;
			criu[n] = j->stats.criu_ms;
			ready[n] = j->ready_ms;
			removal[n] = mstime_now() - r0;
			pages = j->stats.pages_restored;
			n++;
		}
	}
	report("restore (demux wall)", wall, n);
	report("  podman (REST call)", podman, n);
	report("    runtime (runc restore)", runtime, n);
	report("      CRIU restore_time", criu, n);
	report("restore + first HTTP 200", ready, n);
	report("remove (force)", removal, n);
	printf("  pages restored: %lld; slowest batch of %d: %.1f ms; failures: %d\n", pages, conc,
	       batch_max, failures);
	podman_close(p);
	return failures > 0 ? 1 : 0;
}
