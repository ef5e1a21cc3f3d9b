/*
 * claim_load — a burst of claims (POST /api/v1/demos) through the proxy
 * from N concurrent clients, each on its own kept-alive connection (the
 * first request of each includes its loopback connect), with
 * the latency of every answer recorded by its status, so that a 201 (a
 * ready copy handed out) and a 202 (accepted, the copy is being made) are
 * reported apart: wrk reports one latency distribution for all answers.
 *
 *   claim_load [--get] --url http://127.0.0.1:PORT/api/v1/demos
 *              --host demo.localhost --clients N --requests K [--warm URL]
 *              [--label TEXT]
 *
 * --get sends GETs instead (the front page through the same proxy and
 * server is the baseline of a claim). --warm URL: each client first GETs
 * URL on its connection, before the burst, so that the burst measures
 * requests on open connections, as a load tool's steady state does.
 *
 * All clients start together (a barrier), then take requests from one
 * counter until K were sent. Prints one line per status:
 *   label status=201 n=.. median=.. p90=.. p99=.. max=.. ms
 * and a line with the burst's wall time and rate.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mstime.h"
#include "xmalloc.h"

#define MAX_CLIENTS 256
#define MAX_STATUSES 16

struct result {
	long status; /* 0: no answer */
	double ms;
};

struct load {
	const char *url;
	const char *warm_url; /* fetched once per client before the burst, or NULL */
	bool get;	      /* GET instead of POST: the baseline */
	char host_header[300];
	int requests;
	int next;
	struct result *results;
	pthread_mutex_t mu;
	pthread_barrier_t start;
};

static size_t
discard(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

static void *
client(void *arg)
{
	struct load *l = arg;
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();

	h = curl_slist_append(h, l->host_header);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, l->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (!l->get)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (l->warm_url != NULL) {
		/* open the connection before the burst with a GET on it */
		curl_easy_setopt(c, CURLOPT_URL, l->warm_url);
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_perform(c);
		curl_easy_setopt(c, CURLOPT_URL, l->url);
		if (!l->get)
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
	}
	pthread_barrier_wait(&l->start);
	for (;;) {
		int i;
		double t0;
		long status = 0;

		pthread_mutex_lock(&l->mu);
		i = l->next < l->requests ? l->next++ : -1;
		pthread_mutex_unlock(&l->mu);
		if (i < 0)
			break;
		t0 = mstime_now();
		if (curl_easy_perform(c) == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		l->results[i].ms = mstime_now() - t0;
		l->results[i].status = status;
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const double *v, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);

	return v[i < n ? i : n - 1];
}

int
main(int argc, char **argv)
{
	struct load l;
	const char *host = "demo.localhost", *label = "claims";
	pthread_t th[MAX_CLIENTS];
	long statuses[MAX_STATUSES];
	int clients = 1, nstat = 0;
	double t0, wall;

	memset(&l, 0, sizeof(l));
	l.requests = 1;
	for (int i = 1; i < argc && strcmp(argv[i], "--get") == 0; i++)
		l.get = true;
	for (int i = 1 + l.get; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--url") == 0)
			l.url = argv[i + 1];
		else if (strcmp(argv[i], "--host") == 0)
			host = argv[i + 1];
		else if (strcmp(argv[i], "--clients") == 0)
			clients = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--requests") == 0)
			l.requests = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--warm") == 0)
			l.warm_url = argv[i + 1];
		else if (strcmp(argv[i], "--label") == 0)
			label = argv[i + 1];
	}
	if (l.url == NULL || clients < 1 || clients > MAX_CLIENTS || l.requests < 1) {
		fprintf(stderr, "usage: claim_load --url URL [--host H] --clients 1..%d "
				"--requests K [--label TEXT]\n",
			MAX_CLIENTS);
		return 2;
	}
	snprintf(l.host_header, sizeof(l.host_header), "Host: %s", host);
	l.results = xcalloc((size_t)l.requests, sizeof(*l.results));
	pthread_mutex_init(&l.mu, NULL);
	pthread_barrier_init(&l.start, NULL, (unsigned)clients + 1);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (int i = 0; i < clients; i++)
		pthread_create(&th[i], NULL, client, &l);
	pthread_barrier_wait(&l.start);
	t0 = mstime_now();
	for (int i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	wall = mstime_now() - t0;
	for (int i = 0; i < l.requests; i++) {
		int k = 0;

		while (k < nstat && statuses[k] != l.results[i].status)
			k++;
		if (k == nstat && nstat < MAX_STATUSES)
			statuses[nstat++] = l.results[i].status;
	}
	for (int k = 0; k < nstat; k++) {
		double *v = xcalloc((size_t)l.requests, sizeof(*v));
		int n = 0;

		for (int i = 0; i < l.requests; i++)
			if (l.results[i].status == statuses[k])
				v[n++] = l.results[i].ms;
		qsort(v, (size_t)n, sizeof(*v), cmp_double);
		printf("%-28s status=%ld n=%-4d median=%7.2f p90=%7.2f p99=%7.2f max=%7.2f ms\n",
		       label, statuses[k], n, pct(v, n, 0.5), pct(v, n, 0.9), pct(v, n, 0.99),
		       v[n - 1]);
		free(v);
	}
	printf("%-28s %d requests from %d clients in %.1f ms (%.0f/s)\n", label, l.requests,
	       clients, wall, l.requests / (wall / 1000.0));
	free(l.results);
	curl_global_cleanup();
	return 0;
}
