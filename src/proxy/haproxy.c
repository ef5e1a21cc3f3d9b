/*
 * haproxy — routes as entries of a HAProxy map, changed on the stats socket
 * with no reload, and kept in the map file so a reload loses nothing.
 *
 * Order of a change: the in-memory copy of the map, then the file (written
 * to "<map>.tmp" and renamed over the map, so HAProxy never reads half a
 * file), then the runtime command. Writing the file first closes the window
 * where a reload between the two steps would drop the change; a runtime
 * command that fails puts memory and file back, so a failed change changes
 * nothing. Each change holds an flock on the map's directory and re-reads
 * the file when another process replaced it, so an operator's
 * `demux proxy add` next to the daemon is not undone by the daemon.
 *
 * Facts about HAProxy 2.6.12 this file relies on (checked against the real
 * thing, see tests/integration/proxy_haproxy.sh): without "prompt" the
 * socket runs one command and closes; a command that succeeds answers an
 * empty line; "add map" on a key already present adds a second entry, so an
 * existing host is changed with "set map" ("entry not found." when absent);
 * "del map" removes every entry of a key and answers "Key not found." when
 * there is none; "show map" lines are "0x<id> <key> <value>".
 */
#include "proxy/haproxy.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "errf.h"
#include "hostport.h"
#include "log.h"
#include "mkpath.h"
#include "proxy/route_check.h"
#include "validate.h"
#include "version.h"
#include "xmalloc.h"

/* Connections one visitor address may hold open at the proxy at once: a
 * browser opens about six per host, so this leaves room for a demo, its admin
 * and a few people behind one NAT, and stops one client from holding them all. */
#define HAPROXY_CONN_PER_IP 100
#define HAPROXY_CMD_MAX (2 * CONFIG_STR + ROUTE_HOST_MAX + ROUTE_UPSTREAM_MAX)
#define HAPROXY_MAP_HEADER                                                                         \
	"# demux routes: <host> <ip:port>. Owned by demux, which rewrites this file\n"             \
	"# on every change; edits made here by hand are lost.\n"

struct haproxy {
	pthread_mutex_t lock;
	char sock[CONFIG_STR];
	char map[CONFIG_STR];
	char base_domain[CONFIG_STR];
	struct haproxy_options opt;
	int dirfd; /* the map's directory: flock'ed around every change */
	dev_t dev; /* identity of the map file last read or written */
	ino_t ino;
	struct route *routes; /* the map, one entry per host, file order */
	int nroutes;
	int cap;
	struct buf reply; /* last reply, one trailing empty line removed */
	struct buf text;  /* scratch for the map file */
};

int
haproxy_check_path(const char *what, const char *path, char *err, size_t errlen)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				 "0123456789/._+-";

	if (path[0] != '/')
		return errf(err, errlen, "%s '%s' must be an absolute path", what, path);
	if (strspn(path, ok) != strlen(path))
		return errf(err, errlen,
			    "%s '%s' may hold only letters, digits and / . _ + - (it is written "
			    "unquoted into haproxy.cfg and runtime commands)",
			    what, path);
	if (strstr(path, "/../") != NULL || strstr(path, "/./") != NULL ||
	    path[strlen(path) - 1] == '/')
		return errf(err, errlen, "%s '%s' is not a plain file path", what, path);
	return 0;
}

/* "127.0.0.1:8088", ":8088", "[::]:8088", "*:8088": what a bind line takes. */
static int
check_bind(const char *listen, char *err, size_t errlen)
{
	static const char ok[] = "0123456789abcdefABCDEF.:[]*";
	char host[CONFIG_STR];
	int port;

	if (listen[0] == '\0' || strspn(listen, ok) != strlen(listen) ||
	    hostport_split(listen, host, sizeof(host), &port, NULL, 0) == -1)
		return errf(err, errlen, "[proxy] listen '%s' is not ADDRESS:PORT", listen);
	return 0;
}

/* ---- config ------------------------------------------------------------ */

int
haproxy_config_text(const struct config *cfg, struct buf *out, char *err, size_t errlen)
{
	char front[ROUTE_UPSTREAM_MAX], reason[256], bind[2 * CONFIG_STR + 16];
	const char *m = cfg->haproxy_map;
	const char *bd = cfg->base_domain;
	int r = 0;

	if (haproxy_check_path("[proxy] haproxy_socket", cfg->haproxy_socket, err, errlen) == -1 ||
	    haproxy_check_path("[proxy] haproxy_map", m, err, errlen) == -1 ||
	    check_bind(cfg->proxy_listen, err, errlen) == -1)
		return -1;
	if (validate_domain(bd, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "[server] base_domain: %s", reason);
	if (route_check_front_upstream(cfg->listen, front, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "[server] listen: %s", reason);
	if (config_check(cfg, err, errlen) == -1)
		return -1;
	/* One certificate (a wildcard for every demo) for the whole listener;
	 * HAProxy finds the key in the same file or in "<file>.key". */
	if (cfg->proxy_tls == PROXY_TLS_FILES) {
		if (haproxy_check_path("[proxy] tls_cert_file", cfg->tls_cert_file, err, errlen) ==
		    -1)
			return -1;
		snprintf(bind, sizeof(bind), "%s ssl crt %s alpn http/1.1", cfg->proxy_listen,
			 cfg->tls_cert_file);
	} else {
		snprintf(bind, sizeof(bind), "%s", cfg->proxy_listen);
	}

	r |= buf_printf(out,
			"# haproxy.cfg for demux %s, printed by `demux proxy config haproxy`\n"
			"# from %s.\n#\n"
			"# Routes are entries of the map %s (host -> ip:port).\n"
			"# demux changes them on the stats socket, with no reload, and rewrites\n"
			"# the file first, so a reload or restart keeps them. HAProxy refuses to\n"
			"# start without the file: demux creates it; before demux ever ran:\n"
			"#   test -e %s || install -D -m 644 /dev/null %s\n"
			"# The directory of the stats socket must exist.\n\n",
			DEMUX_VERSION, cfg->path[0] ? cfg->path : "built-in defaults", m, m, m);
	r |= buf_printf(out,
			"global\n"
			"\tstats socket %s mode 600 level admin\n"
			"\tstats timeout 1m\n\n",
			cfg->haproxy_socket);
	r |= buf_appends(out, "defaults\n"
			      "\tmode http\n"
			      "\ttimeout connect 5s\n"
			      "\ttimeout client 60s\n"
			      "\ttimeout server 120s\n"
			      "\t# headers (and, for demux, bodies) within 10 s\n"
			      "\ttimeout http-request 10s\n"
			      "\ttimeout http-keep-alive 10s\n\n");
	r |= buf_printf(
	    out,
	    "frontend demux\n"
	    "\tbind %s\n"
	    "\t# At most %d connections at once from one address: only here is\n"
	    "\t# the visitor's address the peer (demux sees this proxy's)\n"
	    "\tstick-table type ip size 100k expire 1m store conn_cur\n"
	    "\ttcp-request connection track-sc0 src\n"
	    "\ttcp-request connection reject if { sc0_conn_cur gt %d }\n"
	    "\t# The client's address, replacing whatever X-Forwarded-For it sent\n"
	    "\t# (option forwardfor would add a second line after the client's own)\n"
	    "\thttp-request set-header X-Forwarded-For %%[src]\n"
	    "\t# The scheme the visitor used, replacing whatever a client sent: the\n"
	    "\t# apps' images turn https into HTTPS=on for PHP\n"
	    "\thttp-request set-header X-Forwarded-Proto https if { ssl_fc }\n"
	    "\thttp-request set-header X-Forwarded-Proto http if !{ ssl_fc }\n"
	    "\t# Host without its port, lower-cased, looked up in the route map\n"
	    "\thttp-request set-var(txn.host) req.hdr(host),field(1,:),lower\n"
	    "\tacl front_door var(txn.host) -m str %s\n"
	    "\thttp-request set-var(txn.dst) var(txn.host),map(%s) if !front_door\n"
	    "\thttp-request return status 404 content-type text/plain string \"no demo at "
	    "this address\" if !front_door !{ var(txn.dst) -m found }\n"
	    "\thttp-request set-dst var(txn.dst),field(1,:) if !front_door\n"
	    "\thttp-request set-dst-port var(txn.dst),field(2,:) if !front_door\n"
	    "\tuse_backend %s if front_door\n"
	    "\tdefault_backend instances\n\n",
	    bind, HAPROXY_CONN_PER_IP, HAPROXY_CONN_PER_IP, bd, m, HAPROXY_FRONT_BACKEND);
	r |= buf_appends(out, "backend instances\n"
			      "\t# 0.0.0.0:0 = the address and port set-dst chose\n"
			      "\tserver instance 0.0.0.0:0\n\n");
	r |= buf_printf(out,
			"backend %s\n"
			"\t# The whole request (body included) within timeout http-request\n"
			"\t# before demux sees it: slow senders wait here, not in demux\n"
			"\toption http-buffer-request\n"
			"\t# named after the base domain: demux checks name and address at start\n"
			"\tserver %s %s\n",
			HAPROXY_FRONT_BACKEND, bd, front);
	if (r != 0)
		return errf(err, errlen, "haproxy config larger than the output buffer");
	return 0;
}

/* ---- map text ------------------------------------------------------------ */

int
haproxy_map_text(const struct route *routes, int n, struct buf *out)
{
	if (buf_appends(out, HAPROXY_MAP_HEADER) == -1)
		return -1;
	/* Plain appends: this runs on every change, and printf costs ~10x. */
	for (int i = 0; i < n; i++)
		if (buf_appends(out, routes[i].host) == -1 || buf_append(out, " ", 1) == -1 ||
		    buf_appends(out, routes[i].upstream) == -1 || buf_append(out, "\n", 1) == -1)
			return -1;
	return 0;
}

/* A set of host names, to drop repeated entries in linear time. */
struct hostset {
	const char **slot;
	size_t cap; /* a power of two */
};

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Adds s (which must outlive the set); returns 0, or -1 if already there. */
static int
hostset_add(struct hostset *hs, const char *s)
{
	size_t i = (size_t)fnv1a(s) & (hs->cap - 1);

	while (hs->slot[i] != NULL) {
		if (strcmp(hs->slot[i], s) == 0)
			return -1;
		i = (i + 1) & (hs->cap - 1);
	}
	hs->slot[i] = s;
	return 0;
}

int
haproxy_parse_map(const char *text, bool with_ids, const char *base_domain, struct route **out,
		  int *n, char *err, size_t errlen)
{
	struct hostset hs = {NULL, 16};
	char *copy = xstrdup(text), *line, *save = NULL;
	size_t lines = 1;
	int count = 0, rc = -1;

	*out = NULL;
	*n = 0;
	for (const char *p = text; *p != '\0'; p++)
		lines += *p == '\n';
	while (hs.cap < 2 * lines)
		hs.cap *= 2;
	hs.slot = xcalloc(hs.cap, sizeof(*hs.slot));
	*out = xcalloc(lines, sizeof(**out));
	for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *tsave = NULL, *id, *key, *val, *extra;
		char raw[512], host[ROUTE_HOST_MAX], reason[256];

		line[strcspn(line, "\r")] = '\0';
		if (line[strspn(line, " \t")] == '\0' || (!with_ids && line[0] == '#'))
			continue;
		snprintf(raw, sizeof(raw), "%s", line);
		if (with_ids) {
			id = strtok_r(line, " \t", &tsave);
			if (id == NULL || strncmp(id, "0x", 2) != 0) {
				/* Not an entry: HAProxy's answer is an error message. */
				errf(err, errlen, "%s", raw);
				goto out;
			}
			key = strtok_r(NULL, " \t", &tsave);
		} else {
			key = strtok_r(line, " \t", &tsave);
		}
		val = strtok_r(NULL, " \t", &tsave);
		extra = strtok_r(NULL, " \t", &tsave);
		if (key == NULL || val == NULL || extra != NULL) {
			log_warnx("haproxy: map line '%s' is not 'host ip:port'; ignored", raw);
			continue;
		}
		if (strcasecmp(key, base_domain) == 0)
			continue;
		if (route_check_host(key, base_domain, host, reason, sizeof(reason)) == -1 ||
		    route_check_upstream(val, reason, sizeof(reason)) == -1) {
			log_warnx("haproxy: map entry host=%s value=%s ignored: %s", key, val,
				  reason);
			continue;
		}
		snprintf((*out)[count].host, ROUTE_HOST_MAX, "%s", host);
		snprintf((*out)[count].upstream, ROUTE_UPSTREAM_MAX, "%s", val);
		if (hostset_add(&hs, (*out)[count].host) == -1) {
			log_warnx("haproxy: map holds host=%s more than once; first entry kept",
				  host);
			continue;
		}
		count++;
	}
	*n = count;
	rc = 0;
out:
	if (rc == -1) {
		free(*out);
		*out = NULL;
	}
	free(hs.slot);
	free(copy);
	return rc;
}

/* ---- the runtime socket -------------------------------------------------- */

static int
send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Runs one command on its own connection; the reply goes to h->reply with
 * the empty line that ends every reply removed. Fails only when no whole
 * reply came back. */
static int
command(struct haproxy *h, const char *cmd, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct timeval tv = {HAPROXY_TIMEOUT_MS / 1000, (HAPROXY_TIMEOUT_MS % 1000) * 1000L};
	char line[HAPROXY_CMD_MAX + 2], chunk[16384];
	int fd = -1, rc = -1, w;

	buf_reset(&h->reply);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(h->sock) >= sizeof(sa.sun_path))
		return errf(err, errlen, "haproxy runtime socket %s: path too long", h->sock);
	memcpy(sa.sun_path, h->sock, strlen(h->sock) + 1);
	w = snprintf(line, sizeof(line), "%s\n", cmd);
	if (w < 0 || (size_t)w >= sizeof(line))
		return errf(err, errlen, "haproxy runtime socket %s: command too long", h->sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		errf(err, errlen, "haproxy runtime socket %s: socket: %s", h->sock,
		     strerror(errno));
		goto out;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		int e = errno;

		errf(err, errlen, "haproxy runtime socket %s: %s%s", h->sock, strerror(e),
		     e == ENOENT || e == ECONNREFUSED ? " (is haproxy running?)" : "");
		goto out;
	}
	if (send_all(fd, line, (size_t)w) == -1) {
		errf(err, errlen, "haproxy runtime socket %s: sending '%s': %s", h->sock, cmd,
		     strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t r = recv(fd, chunk, sizeof(chunk), 0);

		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				errf(err, errlen,
				     "haproxy runtime socket %s: '%s': no answer within %d ms",
				     h->sock, cmd, HAPROXY_TIMEOUT_MS);
			else
				errf(err, errlen, "haproxy runtime socket %s: '%s': %s", h->sock,
				     cmd, strerror(errno));
			goto out;
		}
		if (buf_append(&h->reply, chunk, (size_t)r) == -1) {
			errf(err, errlen, "haproxy runtime socket %s: '%s': reply over %u bytes",
			     h->sock, cmd, HAPROXY_REPLY_MAX);
			goto out;
		}
	}
	if (h->reply.len > 0 && h->reply.data[h->reply.len - 1] == '\n')
		h->reply.data[--h->reply.len] = '\0';
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	return rc;
}

static bool
reply_empty(const struct haproxy *h)
{
	const char *s = buf_str(&h->reply);

	return s[strspn(s, " \t\r\n")] == '\0';
}

static bool
reply_is(const struct haproxy *h, const char *what)
{
	return strncmp(buf_str(&h->reply), what, strlen(what)) == 0;
}

/* An error for a reply that is not the one wanted. */
static int
reply_failed(const struct haproxy *h, const char *cmd, char *err, size_t errlen)
{
	const char *s = buf_str(&h->reply);
	int n = (int)strcspn(s, "\n");

	if (strstr(s, "Unknown map identifier") != NULL)
		return errf(err, errlen,
			    "haproxy runtime socket %s: '%s': map %s is not loaded by this haproxy "
			    "(start it with the config from 'demux proxy config haproxy')",
			    h->sock, cmd, h->map);
	return errf(err, errlen, "haproxy runtime socket %s: '%s': %.*s", h->sock, cmd, n, s);
}

/* ---- the map, in memory and on disk ------------------------------------- */

static int
mem_find(const struct haproxy *h, const char *host)
{
	for (int i = 0; i < h->nroutes; i++)
		if (strcmp(h->routes[i].host, host) == 0)
			return i;
	return -1;
}

static void
mem_put(struct haproxy *h, const char *host, const char *upstream)
{
	int i = mem_find(h, host);

	if (i == -1) {
		if (h->nroutes == h->cap) {
			h->cap = h->cap == 0 ? 64 : 2 * h->cap;
			h->routes = xrealloc(h->routes, (size_t)h->cap * sizeof(*h->routes));
		}
		i = h->nroutes++;
		snprintf(h->routes[i].host, ROUTE_HOST_MAX, "%s", host);
	}
	snprintf(h->routes[i].upstream, ROUTE_UPSTREAM_MAX, "%s", upstream);
}

static void
mem_del(struct haproxy *h, const char *host)
{
	int i = mem_find(h, host);

	if (i == -1)
		return;
	memmove(&h->routes[i], &h->routes[i + 1],
		(size_t)(h->nroutes - i - 1) * sizeof(*h->routes));
	h->nroutes--;
}

static void
mem_replace(struct haproxy *h, struct route *routes, int n)
{
	free(h->routes);
	h->routes = routes;
	h->nroutes = n;
	h->cap = n;
}

/* Writes the in-memory map to "<map>.tmp" and renames it over the map. */
static int
write_map(struct haproxy *h, char *err, size_t errlen)
{
	char tmp[CONFIG_STR + 8];
	const char *step = "open";
	struct stat st;
	size_t off = 0;
	int fd = -1, rc = -1;

	buf_reset(&h->text);
	if (haproxy_map_text(h->routes, h->nroutes, &h->text) == -1)
		return errf(err, errlen, "haproxy map file %s: larger than %u bytes", h->map,
			    HAPROXY_REPLY_MAX);
	snprintf(tmp, sizeof(tmp), "%s.tmp", h->map);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		goto out;
	step = "write";
	while (off < h->text.len) {
		ssize_t w = write(fd, h->text.data + off, h->text.len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto out;
		off += (size_t)w;
	}
	step = "fsync";
	if (h->opt.fsync_map && fsync(fd) == -1)
		goto out;
	step = "fstat";
	if (fstat(fd, &st) == -1)
		goto out;
	step = "close";
	if (close(fd) == -1) {
		fd = -1;
		goto out;
	}
	fd = -1;
	step = "rename";
	if (rename(tmp, h->map) == -1)
		goto out;
	h->dev = st.st_dev;
	h->ino = st.st_ino;
	step = "fsync of the directory";
	if (h->opt.fsync_map && fsync(h->dirfd) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1) {
		errf(err, errlen, "haproxy map file %s: %s: %s", h->map, step, strerror(errno));
		if (fd != -1)
			close(fd);
		(void)unlink(tmp);
	}
	return rc;
}

static int
load_map(struct haproxy *h, char *err, size_t errlen)
{
	struct buf text;
	struct route *routes = NULL;
	char chunk[16384], reason[256];
	struct stat st;
	int fd, n = 0, rc = -1;

	buf_init(&text, HAPROXY_REPLY_MAX);
	fd = open(h->map, O_RDONLY | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		log_info("haproxy: creating empty map file %s", h->map);
		mem_replace(h, NULL, 0);
		rc = write_map(h, err, errlen);
		goto out;
	}
	if (fd == -1 || fstat(fd, &st) == -1) {
		errf(err, errlen, "haproxy map file %s: %s", h->map, strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			errf(err, errlen, "haproxy map file %s: %s", h->map, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		if (buf_append(&text, chunk, (size_t)r) == -1) {
			errf(err, errlen, "haproxy map file %s: larger than %u bytes", h->map,
			     HAPROXY_REPLY_MAX);
			goto out;
		}
	}
	if (haproxy_parse_map(buf_str(&text), false, h->base_domain, &routes, &n, reason,
			      sizeof(reason)) == -1) {
		errf(err, errlen, "haproxy map file %s: %s", h->map, reason);
		goto out;
	}
	mem_replace(h, routes, n);
	h->dev = st.st_dev;
	h->ino = st.st_ino;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	buf_free(&text);
	return rc;
}

/* Takes the map file for this process: another demux (an operator's
 * `demux proxy add` next to the daemon) may have rewritten it, in which case
 * the in-memory copy is read again. Released by file_unlock. */
static int
file_lock(struct haproxy *h, char *err, size_t errlen)
{
	struct stat st;

	while (flock(h->dirfd, LOCK_EX) == -1)
		if (errno != EINTR)
			return errf(err, errlen, "haproxy map file %s: lock: %s", h->map,
				    strerror(errno));
	if (stat(h->map, &st) == 0 && (st.st_ino != h->ino || st.st_dev != h->dev) &&
	    load_map(h, err, errlen) == -1) {
		(void)flock(h->dirfd, LOCK_UN);
		return -1;
	}
	return 0;
}

static void
file_unlock(struct haproxy *h)
{
	(void)flock(h->dirfd, LOCK_UN);
}

/* ---- route_ops ------------------------------------------------------------ */

/* Address and name of the front door's server from "show servers state". */
static int
front_server(const char *reply, char *name, size_t namelen, char *addr, size_t addrlen, char *err,
	     size_t errlen)
{
	char *copy = xstrdup(reply), *line, *save = NULL;
	int col_name = -1, col_addr = -1, col_port = -1, rc = -1;

	for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *tok, *tsave = NULL, *f_name = NULL, *f_addr = NULL, *f_port = NULL;
		int i = 0;

		if (strncmp(line, "# ", 2) == 0) {
			for (tok = strtok_r(line + 2, " ", &tsave); tok != NULL;
			     tok = strtok_r(NULL, " ", &tsave), i++) {
				col_name = strcmp(tok, "srv_name") == 0 ? i : col_name;
				col_addr = strcmp(tok, "srv_addr") == 0 ? i : col_addr;
				col_port = strcmp(tok, "srv_port") == 0 ? i : col_port;
			}
			continue;
		}
		if (col_name < 0 || col_addr < 0 || col_port < 0)
			continue; /* the format version line */
		for (tok = strtok_r(line, " ", &tsave); tok != NULL;
		     tok = strtok_r(NULL, " ", &tsave), i++) {
			f_name = i == col_name ? tok : f_name;
			f_addr = i == col_addr ? tok : f_addr;
			f_port = i == col_port ? tok : f_port;
		}
		if (f_name == NULL || f_addr == NULL || f_port == NULL)
			break;
		snprintf(name, namelen, "%s", f_name);
		snprintf(addr, addrlen, "%s:%s", f_addr, f_port);
		rc = 0;
		goto out;
	}
	errf(err, errlen, "%s", reply[0] ? reply : "no server listed");
out:
	free(copy);
	return rc;
}

static int
ensure_front_locked(struct haproxy *h, const char *base_domain, const char *front, char *err,
		    size_t errlen)
{
	char cmd[HAPROXY_CMD_MAX], name[ROUTE_HOST_MAX], addr[ROUTE_HOST_MAX], reason[512];
	char ip[ROUTE_UPSTREAM_MAX];
	struct route *routes = NULL;
	int n = 0, port, rc = -1;

	/* The socket answers and HAProxy knows demux's map. */
	snprintf(cmd, sizeof(cmd), "show map %s", h->map);
	if (command(h, cmd, err, errlen) == -1)
		goto out;
	if (haproxy_parse_map(buf_str(&h->reply), true, base_domain, &routes, &n, reason,
			      sizeof(reason)) == -1) {
		reply_failed(h, cmd, err, errlen);
		goto out;
	}
	snprintf(cmd, sizeof(cmd), "show servers state %s", HAPROXY_FRONT_BACKEND);
	if (command(h, cmd, err, errlen) == -1)
		goto out;
	if (front_server(buf_str(&h->reply), name, sizeof(name), addr, sizeof(addr), reason,
			 sizeof(reason)) == -1) {
		errf(err, errlen,
		     "haproxy runtime socket %s: no front door (backend '%s': %.200s); start "
		     "haproxy with the config from 'demux proxy config haproxy'",
		     h->sock, HAPROXY_FRONT_BACKEND, reason);
		goto out;
	}
	if (strcasecmp(name, base_domain) != 0) {
		errf(err, errlen,
		     "haproxy runtime socket %s: haproxy's front door serves '%s' but demux's base "
		     "domain is '%s'; regenerate the config with 'demux proxy config haproxy' and "
		     "reload haproxy",
		     h->sock, name, base_domain);
		goto out;
	}
	if (strcmp(addr, front) != 0) {
		if (hostport_split(front, ip, sizeof(ip), &port, err, errlen) == -1)
			goto out;
		snprintf(cmd, sizeof(cmd), "set server %s/%s addr %s port %d",
			 HAPROXY_FRONT_BACKEND, name, ip, port);
		if (command(h, cmd, err, errlen) == -1)
			goto out;
		if (strstr(buf_str(&h->reply), "changed") == NULL &&
		    strstr(buf_str(&h->reply), "no need to change") == NULL) {
			reply_failed(h, cmd, err, errlen);
			goto out;
		}
		log_warnx("haproxy: front door %s pointed at %s, now at %s (until the next "
			  "reload: regenerate the config)",
			  base_domain, addr, front);
	}
	rc = 0;
out:
	free(routes);
	return rc;
}

static int
haproxy_ensure_front(void *ctx, const char *base_domain, const char *demux_listen, char *err,
		     size_t errlen)
{
	struct haproxy *h = ctx;
	char front[ROUTE_UPSTREAM_MAX];
	int rc;

	if (route_check_front("haproxy", base_domain, demux_listen, front, err, errlen) == -1)
		return -1;
	pthread_mutex_lock(&h->lock);
	rc = ensure_front_locked(h, base_domain, front, err, errlen);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

static int
haproxy_add(void *ctx, const char *host, const char *upstream, char *err, size_t errlen)
{
	struct haproxy *h = ctx;
	char hn[ROUTE_HOST_MAX], cmd[HAPROXY_CMD_MAX], reason[256], e2[256];
	struct route old;
	bool existed, changed = false;
	int i, rc = -1;

	if (route_check_host(host, h->base_domain, hn, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "haproxy: refusing route: %s", reason);
	if (route_check_upstream(upstream, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "haproxy: refusing route for %s: %s", hn, reason);
	pthread_mutex_lock(&h->lock);
	if (file_lock(h, err, errlen) == -1) {
		pthread_mutex_unlock(&h->lock);
		return -1;
	}
	i = mem_find(h, hn);
	existed = i != -1;
	if (existed)
		old = h->routes[i];
	mem_put(h, hn, upstream);
	changed = true;
	if (write_map(h, err, errlen) == -1)
		goto out;
	snprintf(cmd, sizeof(cmd), "%s map %s %s %s", existed ? "set" : "add", h->map, hn,
		 upstream);
	if (command(h, cmd, err, errlen) == -1)
		goto out;
	if (existed && reply_is(h, "entry not found")) {
		/* Known to the file but not to this HAProxy: add it. */
		snprintf(cmd, sizeof(cmd), "add map %s %s %s", h->map, hn, upstream);
		if (command(h, cmd, err, errlen) == -1)
			goto out;
	}
	if (!reply_empty(h)) {
		reply_failed(h, cmd, err, errlen);
		goto out;
	}
	rc = 0;
out:
	if (rc == -1 && changed) {
		if (existed)
			mem_put(h, old.host, old.upstream);
		else
			mem_del(h, hn);
		if (write_map(h, e2, sizeof(e2)) == -1)
			log_warnx("haproxy: undoing route %s in the map file: %s", hn, e2);
	}
	file_unlock(h);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

static int
haproxy_remove(void *ctx, const char *host, char *err, size_t errlen)
{
	struct haproxy *h = ctx;
	char hn[ROUTE_HOST_MAX], cmd[HAPROXY_CMD_MAX], reason[256], e2[256];
	struct route old;
	bool had;
	int i, rc = -1;

	if (route_check_host(host, h->base_domain, hn, reason, sizeof(reason)) == -1)
		return errf(err, errlen, "haproxy: refusing to remove route: %s", reason);
	pthread_mutex_lock(&h->lock);
	if (file_lock(h, err, errlen) == -1) {
		pthread_mutex_unlock(&h->lock);
		return -1;
	}
	i = mem_find(h, hn);
	had = i != -1;
	if (had) {
		old = h->routes[i];
		mem_del(h, hn);
		if (write_map(h, err, errlen) == -1)
			goto out;
	}
	snprintf(cmd, sizeof(cmd), "del map %s %s", h->map, hn);
	if (command(h, cmd, err, errlen) == -1)
		goto out;
	if (!reply_empty(h) && !reply_is(h, "Key not found")) {
		reply_failed(h, cmd, err, errlen);
		goto out;
	}
	rc = 0;
out:
	if (rc == -1 && had) {
		mem_put(h, old.host, old.upstream);
		if (write_map(h, e2, sizeof(e2)) == -1)
			log_warnx("haproxy: undoing removal of %s in the map file: %s", hn, e2);
	}
	file_unlock(h);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

static bool
same_routes(const struct route *a, int na, const struct route *b, int nb)
{
	if (na != nb)
		return false;
	for (int i = 0; i < na; i++)
		if (strcmp(a[i].host, b[i].host) != 0 || strcmp(a[i].upstream, b[i].upstream) != 0)
			return false;
	return true;
}

/* What HAProxy holds is the truth: memory and file follow it. */
static int
haproxy_list(void *ctx, struct route **out, int *n, char *err, size_t errlen)
{
	struct haproxy *h = ctx;
	char cmd[HAPROXY_CMD_MAX], reason[512], e2[256];
	struct route *routes = NULL;
	int count = 0, rc = -1;

	*out = NULL;
	*n = 0;
	snprintf(cmd, sizeof(cmd), "show map %s", h->map);
	pthread_mutex_lock(&h->lock);
	if (file_lock(h, err, errlen) == -1) {
		pthread_mutex_unlock(&h->lock);
		return -1;
	}
	if (command(h, cmd, err, errlen) == -1)
		goto out;
	if (haproxy_parse_map(buf_str(&h->reply), true, h->base_domain, &routes, &count, reason,
			      sizeof(reason)) == -1) {
		reply_failed(h, cmd, err, errlen);
		goto out;
	}
	*out = xcalloc((size_t)count + 1, sizeof(**out));
	memcpy(*out, routes, (size_t)count * sizeof(**out));
	*n = count;
	if (!same_routes(routes, count, h->routes, h->nroutes)) {
		mem_replace(h, routes, count);
		routes = NULL;
		if (write_map(h, e2, sizeof(e2)) == -1)
			log_warnx("haproxy: syncing the map file with haproxy: %s", e2);
	}
	rc = 0;
out:
	file_unlock(h);
	pthread_mutex_unlock(&h->lock);
	free(routes);
	return rc;
}

static void
haproxy_close(void *ctx)
{
	struct haproxy *h = ctx;

	if (h == NULL)
		return;
	if (h->dirfd != -1)
		close(h->dirfd);
	free(h->routes);
	buf_free(&h->reply);
	buf_free(&h->text);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static const struct route_ops haproxy_ops = {
    .name = "haproxy",
    .ensure_front = haproxy_ensure_front,
    .add = haproxy_add,
    .remove = haproxy_remove,
    .list = haproxy_list,
    .close = haproxy_close,
};

int
haproxy_open(struct proxy *p, const struct config *cfg, const struct haproxy_options *opt,
	     char *err, size_t errlen)
{
	struct haproxy *h;
	char *dir = NULL, reason[PATH_MAX + 64];
	int rc = -1;

	if (haproxy_check_path("[proxy] haproxy_socket", cfg->haproxy_socket, err, errlen) == -1 ||
	    haproxy_check_path("[proxy] haproxy_map", cfg->haproxy_map, err, errlen) == -1)
		return -1;
	h = xcalloc(1, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	h->dirfd = -1;
	buf_init(&h->reply, HAPROXY_REPLY_MAX);
	buf_init(&h->text, HAPROXY_REPLY_MAX);
	snprintf(h->sock, sizeof(h->sock), "%s", cfg->haproxy_socket);
	snprintf(h->map, sizeof(h->map), "%s", cfg->haproxy_map);
	snprintf(h->base_domain, sizeof(h->base_domain), "%s", cfg->base_domain);
	if (opt != NULL)
		h->opt = *opt;
	if (mkpath_parents(h->map, 0755, reason, sizeof(reason)) == -1) {
		errf(err, errlen, "haproxy map file %s: %s", h->map, reason);
		goto out;
	}
	dir = xstrdup(h->map);
	if ((h->dirfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		errf(err, errlen, "haproxy map file %s: its directory: %s", h->map,
		     strerror(errno));
		goto out;
	}
	/* Under the lock: read the map, or create it (HAProxy needs it to start). */
	if (file_lock(h, err, errlen) == -1)
		goto out;
	if (h->ino == 0 && load_map(h, err, errlen) == -1) {
		file_unlock(h);
		goto out;
	}
	file_unlock(h);
	p->ops = &haproxy_ops;
	p->ctx = h;
	h = NULL;
	rc = 0;
out:
	free(dir);
	haproxy_close(h);
	return rc;
}
