/*
 * template_create — start, health, warm, TCP check and checkpoint of a
 * template container; see template_create.h.
 *
 * The steps run in one process and one thread: "demux template create" is a
 * command, not part of the daemon. Each wait polls with a deadline and gives
 * up early on SIGINT/SIGTERM, and every failure leaves nothing behind: the
 * template container is removed and a directory made by this create is
 * removed with what it holds.
 */
#include "template_create.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "http_probe.h"
#include "log.h"
#include "mstime.h"
#include "storage.h"
#include "template_restore.h"
#include "template_version.h"
#include "xmalloc.h"

#define TCP_QUIET_WAIT_MS 10000
#define HEALTH_POLL_MS 250
#define LOG_TAIL_LINES 5

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

struct create {
	struct podman *p;
	struct template_meta m;
	const char *state_dir;
	char dir[TEMPLATE_PATH];
	char container[128];
	int app_host_port;
	int timeout_s;
	bool tty;
	bool created_container;
};

static void progress(const struct create *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
progress(const struct create *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->tty)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

/* A port on 127.0.0.1 that nothing listens on right now. */
static int
free_port(char *err, size_t errlen)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (s == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    getsockname(s, (struct sockaddr *)&a, &alen) == -1)
		snprintf(err, errlen, "choosing a free port: %s", strerror(errno));
	else
		port = ntohs(a.sin_port);
	close(s);
	return port;
}

/* The container's last log lines as one line ("a | b | c"). */
static void
log_tail(struct create *c, char *out, size_t outlen)
{
	struct buf logs;
	char lerr[256];
	size_t o = 0;
	bool sep = false;

	buf_init(&logs, (size_t)64 * 1024);
	out[0] = '\0';
	if (podman_logs(c->p, c->container, LOG_TAIL_LINES, &logs, lerr, sizeof(lerr)) == -1) {
		snprintf(out, outlen, "(no logs: %s)", lerr);
		buf_free(&logs);
		return;
	}
	for (const char *s = buf_str(&logs); *s != '\0' && o + 4 < outlen; s++) {
		if (*s == '\n' || *s == '\r') {
			sep = o > 0;
			continue;
		}
		if (sep) {
			o += (size_t)snprintf(out + o, outlen - o, " | ");
			sep = false;
			if (o + 1 >= outlen)
				break;
		}
		out[o++] = (unsigned char)*s < 0x20 ? ' ' : *s;
	}
	if (o >= outlen)
		o = outlen - 1;
	out[o] = '\0';
	if (o == 0)
		snprintf(out, outlen, "(no output)");
	buf_free(&logs);
}

static int
wait_healthy(struct create *c, char *err, size_t errlen)
{
	double start = mstime_now(), deadline = start + c->timeout_s * 1000.0, next_check = 0;
	char last[256] = "no answer yet", tail[768];
	struct container_info info;

	for (;;) {
		double now = mstime_now();
		long status;

		if (interrupted) {
			snprintf(err, errlen, "interrupted");
			return -1;
		}
		if (now >= next_check) {
			if (podman_inspect(c->p, c->container, &info, NULL, err, errlen) == -1)
				return -1;
			if (!info.running) {
				log_tail(c, tail, sizeof(tail));
				snprintf(err, errlen,
					 "template container %s stopped (%s, exit code %d) "
					 "before %s answered; its last log lines: %s",
					 c->container, info.state, info.exit_code, c->m.health_path,
					 tail);
				return -1;
			}
			next_check = now + 1000;
		}
		progress(c, "\rdemux: waiting for http://127.0.0.1:%d%s (Host: %s) %ds ",
			 c->app_host_port, c->m.health_path, c->m.domain,
			 (int)((now - start) / 1000));
		if (http_probe_get(c->app_host_port, c->m.health_path, c->m.domain, 5000L,
				   (long)(deadline - now), &status, last, sizeof(last)) == 0) {
			if (status >= 200 && status < 300) {
				progress(c, "- answered in %.1f s\n",
					 (mstime_now() - start) / 1000);
				return 0;
			}
			snprintf(last, sizeof(last), "HTTP %ld", status);
		}
		if (mstime_now() + HEALTH_POLL_MS >= deadline)
			break;
		mstime_sleep(HEALTH_POLL_MS);
	}
	progress(c, "\n");
	log_tail(c, tail, sizeof(tail));
	snprintf(err, errlen,
		 "health check http://127.0.0.1:%d%s (Host: %s) did not answer 2xx within %d s "
		 "(last: %s); container's last log lines: %s",
		 c->app_host_port, c->m.health_path, c->m.domain, c->timeout_s, last, tail);
	return -1;
}

static int
warm_pages(struct create *c, char *err, size_t errlen)
{
	char why[256];
	long status;

	for (int i = 0; i < c->m.nwarm; i++) {
		double t0 = mstime_now();

		if (interrupted) {
			snprintf(err, errlen, "interrupted");
			return -1;
		}
		progress(c, "demux: warming %s ", c->m.warm[i]);
		if (http_probe_get(c->app_host_port, c->m.warm[i], c->m.domain, 5000L, 120000L,
				   &status, why, sizeof(why)) == -1) {
			progress(c, "\n");
			snprintf(err, errlen, "warm page %s: %s", c->m.warm[i], why);
			return -1;
		}
		progress(c, "- HTTP %ld in %.0f ms\n", status, mstime_now() - t0);
		if (status >= 400) {
			snprintf(err, errlen, "warm page %s answered HTTP %ld", c->m.warm[i],
				 status);
			return -1;
		}
	}
	return 0;
}

int
template_count_tcp_connections(const char *text, char *first, size_t firstlen)
{
	const char *line = text;
	int count = 0;

	if (first != NULL && firstlen > 0)
		first[0] = '\0';
	while (line != NULL && *line != '\0') {
		const char *nl = strchr(line, '\n');
		size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
		char copy[512], *save = NULL, *f[10];
		int nf = 0;

		if (len < sizeof(copy)) {
			memcpy(copy, line, len);
			copy[len] = '\0';
			for (char *t = strtok_r(copy, " \t", &save); t != NULL && nf < 10;
			     t = strtok_r(NULL, " \t", &save))
				f[nf++] = t;
		}
		/* sl local remote st tx:rx tr:when retrnsmt uid timeout inode */
		if (nf == 10 && strchr(f[0], ':') != NULL && isdigit((unsigned char)f[0][0])) {
			unsigned long st = strtoul(f[3], NULL, 16);
			unsigned long long inode = strtoull(f[9], NULL, 10);

			/* 0x0A LISTEN, 0x07 CLOSE; inode 0 = orphan no process holds */
			if (st != 0x0A && st != 0x07 && inode != 0) {
				if (count == 0 && first != NULL && firstlen > 0) {
					const char *lp = strrchr(f[1], ':'),
						   *rp = strrchr(f[2], ':');

					snprintf(first, firstlen,
						 "port %lu -> port %lu, state %02lX",
						 lp != NULL ? strtoul(lp + 1, NULL, 16) : 0,
						 rp != NULL ? strtoul(rp + 1, NULL, 16) : 0, st);
				}
				count++;
			}
		}
		line = nl != NULL ? nl + 1 : NULL;
	}
	return count;
}

/* Waits until no process in the container holds a connected TCP socket. */
static int
wait_tcp_quiet(struct create *c, char *err, size_t errlen)
{
	double deadline = mstime_now() + TCP_QUIET_WAIT_MS;
	struct container_info info;
	char first[128] = "";
	int pid, n = 0;

	if (podman_inspect(c->p, c->container, &info, &pid, err, errlen) == -1)
		return -1;
	if (pid <= 0) {
		snprintf(err, errlen, "template container %s is not running (%s)", c->container,
			 info.state);
		return -1;
	}
	for (;;) {
		static const char *const files[] = {"tcp", "tcp6"};

		n = 0;
		for (size_t i = 0; i < 2; i++) {
			char path[64], why[256];
			struct buf text;

			snprintf(path, sizeof(path), "/proc/%d/net/%s", pid, files[i]);
			if (buf_read_file(path, (size_t)16 * 1024 * 1024, &text, why,
					  sizeof(why)) == -1) {
				buf_free(&text);
				if (i == 1)
					continue; /* no IPv6 in the container */
				{
					snprintf(err, errlen, "reading the container's sockets: %s",
						 why);
					return -1;
				}
			}
			n += template_count_tcp_connections(buf_str(&text), n == 0 ? first : NULL,
							    sizeof(first));
			buf_free(&text);
		}
		if (n == 0)
			return 0;
		if (interrupted) {
			snprintf(err, errlen, "interrupted");
			return -1;
		}
		if (mstime_now() >= deadline)
			break;
		progress(c, "\rdemux: waiting for %d TCP connection%s to close ", n,
			 n == 1 ? "" : "s");
		mstime_sleep(200);
	}
	progress(c, "\n");
	snprintf(err, errlen,
		 "%d TCP connection%s still open inside the template after %d s (%s); CRIU "
		 "cannot checkpoint them: close them (e.g. database clients) and retry",
		 n, n == 1 ? "" : "s", TCP_QUIET_WAIT_MS / 1000, first);
	return -1;
}

/* A disk bound needs a store that enforces it; without one Podman would
 * refuse it with a message about XFS, or (btrfs without quotas) turn on
 * quotas that count the shared image against every copy. */
static int
check_disk_bound(struct create *c, char *err, size_t errlen)
{
	struct podman_store store;
	enum storage_quota quota = STORAGE_QUOTA_NONE;
	char warn[512];

	if (c->m.disk_bytes <= 0)
		return 0;
	if (podman_store_info(c->p, &store, err, errlen) == -1)
		return -1;
	if (strcmp(store.driver, "btrfs") == 0 &&
	    storage_quota_mode(store.graph_root, &quota, err, errlen) == -1)
		return -1;
	if (storage_limit_supported(store.driver, store.graph_root, quota, warn, sizeof(warn), err,
				    errlen) == -1)
		return -1;
	if (warn[0] != '\0')
		log_warnx("template: %s", warn);
	return 0;
}

static int
create_template(struct create *c, const struct template_options *opt, char *err, size_t errlen)
{
	struct podman_image *img = xcalloc(1, sizeof(*img));
	struct template_spec_buf *sb = xcalloc(1, sizeof(*sb));
	struct container_spec spec;
	char rmerr[256], why[768];
	int lock = -1, ret = -1;
	bool made_dir = false;

	if (podman_image_inspect(c->p, opt->image, img, err, errlen) == -1 ||
	    template_resolve(opt, img, &c->m, err, errlen) == -1 ||
	    check_disk_bound(c, err, errlen) == -1)
		goto out;
	snprintf(c->container, sizeof(c->container), "%s%s", TEMPLATE_CONTAINER_PREFIX, c->m.name);
	if (template_dir_claim(c->state_dir, c->m.name, c->dir, sizeof(c->dir), &c->m.version,
			       &lock, err, errlen) == -1)
		goto out;
	made_dir = true;
	if (snprintf(c->m.archive_path, sizeof(c->m.archive_path), "%s/checkpoint.tar%s", c->dir,
		     c->m.compressed ? ".zst" : "") >= (int)sizeof(c->m.archive_path)) {
		snprintf(err, errlen, "state directory path too long");
		goto out;
	}
	if (c->app_host_port == 0 && (c->app_host_port = free_port(err, errlen)) == -1)
		goto out;
	/* The database port stays unpublished (0): nothing outside the container
	 * needs it (docs/SECURITY.md). */
	if (template_cold_start_spec(&c->m, c->container, c->app_host_port, 0, &spec, sb, err,
				     errlen) == -1)
		goto out;
	/* A template container left by a killed create holds the name. */
	if (podman_remove(c->p, c->container, err, errlen) == -1)
		goto out;
	progress(c, "demux: starting %s from %s (app on 127.0.0.1:%d%s)\n", c->container,
		 c->m.image, c->app_host_port, c->m.db_wrapper ? ", MariaDB wrapper" : "");
	c->created_container = true;
	if (podman_create_start(c->p, &spec, err, errlen) == -1)
		goto out;
	if (wait_healthy(c, err, errlen) == -1 || warm_pages(c, err, errlen) == -1 ||
	    wait_tcp_quiet(c, err, errlen) == -1)
		goto out;
	progress(c, "demux: checkpointing %s into %s\n", c->container, c->m.archive_path);
	if (podman_checkpoint(c->p, c->container, c->m.archive_path, false, c->m.compressed,
			      &c->m.checkpoint, err, errlen) == -1)
		goto out;
	c->m.archive_bytes = c->m.checkpoint.archive_bytes;
	c->m.created_at = (long long)time(NULL);
	progress(c, "demux: preparing the restore of %s\n", c->m.name);
	if (template_restore_prepare(c->p, &c->m, c->container, why, sizeof(why)) == -1)
		log_warnx("template: no prepared restore name=%s reason=\"%s\"; copies restore "
			  "from the full archive (slower)",
			  c->m.name, why);
	/* The new version is served once it is complete on disk. */
	if (template_save(c->state_dir, &c->m, err, errlen) == -1 ||
	    template_set_current(c->state_dir, c->m.name, c->m.version, err, errlen) == -1)
		goto out;
	ret = 0;
out:
	if (c->created_container && podman_remove(c->p, c->container, rmerr, sizeof(rmerr)) == -1)
		log_warnx("template: removing container name=%s: %s", c->container, rmerr);
	if (ret == -1 && c->m.restore_image[0] != '\0' &&
	    template_restore_remove_image(c->p, &c->m, rmerr, sizeof(rmerr)) == -1)
		log_warnx("template: removing image=%s: %s", c->m.restore_image, rmerr);
	if (ret == -1 && made_dir &&
	    template_version_discard(c->dir, true, rmerr, sizeof(rmerr)) == -1)
		log_warnx("template: cleaning %s: %s", c->dir, rmerr);
	if (lock != -1)
		close(lock);
	free(sb);
	free(img);
	return ret;
}

int
template_create(struct podman *p, const struct template_options *opt, const char *state_dir,
		int host_port, int timeout_s, struct template_meta *out, char *err, size_t errlen)
{
	struct create *c = xcalloc(1, sizeof(*c));
	struct sigaction sa, old_int, old_term;
	int ret;

	c->p = p;
	c->state_dir = state_dir;
	c->app_host_port = host_port;
	c->timeout_s = timeout_s;
	c->tty = isatty(STDERR_FILENO) == 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	ret = create_template(c, opt, err, errlen);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (ret == 0)
		*out = c->m;
	free(c);
	return ret;
}
