/*
 * Integration test of the container runtime against real Podman + CRIU:
 * "demux template create" checkpoints a shop-fixture template, then the C
 * module restores three copies of it concurrently (one thread each), each
 * answers on its own port, and they are removed. The bad inputs of a restore
 * (missing, corrupt or truncated archive, a port in use, a taken name), of a
 * create (unknown image, port in use) and a Podman service that is not
 * running are provoked and must leave no container behind.
 *
 * Uses $DEMUX_TEST_PODMAN_SOCKET (tests/run starts the service); run alone,
 * it starts its own "podman system service" on a private socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "container/podman.h"
#include "id.h"
#include "mstime.h"
#include "template.h"
#include "template_create.h"
#include "template_restore.h"

extern char **environ;

#define SHOP_IMAGE "localhost/demux/shop-fixture:latest"
#define TEST_LABEL "demux.test=podman_runtime"
#define TEMPLATE "itshop"
#define MAX_NAMES 64

static struct podman *pm;
static char sock[512];
static char run_dir[] = "/tmp/demux-integ.XXXXXX";
static char state_dir[600];
static pid_t service_pid;
static bool have_shop;
static bool have_template;
static struct template_meta meta;
static char names[MAX_NAMES][64]; /* containers this test made, removed at the end */
static int nnames;
static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER;

static void
track(const char *name)
{
	pthread_mutex_lock(&names_lock);
	if (nnames < MAX_NAMES)
		snprintf(names[nnames++], sizeof(names[0]), "%s", name);
	pthread_mutex_unlock(&names_lock);
}

static void
new_name(char *out, size_t outlen)
{
	char id[ID_SIZE];

	assert_int_equal(id_generate(id), 0);
	snprintf(out, outlen, "%s%s", RUNTIME_INSTANCE_PREFIX, id);
	track(out);
}

static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    getsockname(s, (struct sockaddr *)&a, &len) == -1)
		port = -1;
	else
		port = ntohs(a.sin_port);
	close(s);
	return port;
}

/* A socket listening on 127.0.0.1:*port (chosen by the kernel). */
static int
occupy_port(int *port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) == -1 || listen(s, 1) == -1 ||
	    getsockname(s, (struct sockaddr *)&a, &len) == -1) {
		close(s);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return s;
}

static size_t
collect(char *data, size_t size, size_t n, void *arg)
{
	buf_append(arg, data, size * n);
	return size * n;
}

/* GET with the template's Host; returns the status (0 = no answer). */
static long
http_get(int port, const char *host, struct buf *body)
{
	char url[128], hdr[256];
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();
	long status = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	snprintf(hdr, sizeof(hdr), "Host: %s", host);
	h = curl_slist_append(h, hdr);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

static bool
tcp_accepts(int port)
{
	struct sockaddr_in a;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(s);
	return ok;
}

/* A copy's MariaDB, through its unix socket as demux's hook reaches it (the
 * database listens on the copy's 127.0.0.1 only and has no published port). */
static bool
db_socket_accepts(const char *name)
{
	struct container_info info;
	struct sockaddr_un a;
	char err[512];
	int pid = 0, s;
	bool ok;

	if (podman_inspect(pm, name, &info, &pid, err, sizeof(err)) == -1 || pid <= 0)
		return false;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (snprintf(a.sun_path, sizeof(a.sun_path), "/proc/%d/root%s", pid, meta.db_socket) >=
	    (int)sizeof(a.sun_path))
		return false;
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(s);
	return ok;
}

/* As "template create" does: CRIU refuses connected TCP sockets. */
static void
wait_tcp_quiet(const char *name)
{
	struct container_info info;
	char err[512], path[64], chunk[4096];
	int pid = 0, n = 1;

	assert_int_equal(podman_inspect(pm, name, &info, &pid, err, sizeof(err)), 0);
	for (int i = 0; i < 100 && n > 0; i++) {
		struct buf text;
		FILE *f;
		size_t got;

		buf_init(&text, 1 << 22);
		snprintf(path, sizeof(path), "/proc/%d/net/tcp", pid);
		f = fopen(path, "r");
		assert_non_null(f);
		while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
			buf_append(&text, chunk, got);
		fclose(f);
		n = template_count_tcp_connections(buf_str(&text), NULL, 0);
		buf_free(&text);
		if (n > 0)
			mstime_sleep(100);
	}
	assert_int_equal(n, 0);
}

static bool
container_exists(const char *name)
{
	struct container_info info;
	char err[512];

	return podman_inspect(pm, name, &info, NULL, err, sizeof(err)) == 0;
}

/* Runs argv, capturing stdout+stderr into out; returns the exit status. */
static int
run(char *const argv[], struct buf *out)
{
	char path[700];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status = -1, fd;
	FILE *f;
	char chunk[4096];
	size_t n;

	snprintf(path, sizeof(path), "%s/cmd.out", run_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, 1);
	posix_spawn_file_actions_adddup2(&fa, fd, 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) == 0)
		waitpid(pid, &status, 0);
	posix_spawn_file_actions_destroy(&fa);
	close(fd);
	f = fopen(path, "r");
	while (f != NULL && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(out, chunk, n);
	if (f != NULL)
		fclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *
demux_bin(void)
{
	static char path[600];
	const char *root = getenv("DEMUX_ROOT");

	snprintf(path, sizeof(path), "%s/demux", root != NULL ? root : ".");
	return path;
}

static int
group_setup(void **state)
{
	const char *env = getenv("DEMUX_TEST_PODMAN_SOCKET");
	struct podman_image *img;
	char err[1024];

	(void)state;
	if (mkdtemp(run_dir) == NULL)
		return -1;
	snprintf(state_dir, sizeof(state_dir), "%s/state", run_dir);
	if (env != NULL && env[0] != '\0') {
		snprintf(sock, sizeof(sock), "%s", env);
		pm = podman_open(sock, 300000);
	}
	if (pm == NULL || podman_ping(pm, err, sizeof(err)) == -1) {
		char uri[600];
		char *argv[] = {"podman", "system", "service", "--time=0", uri, NULL};

		podman_close(pm);
		snprintf(sock, sizeof(sock), "%s/podman.sock", run_dir);
		snprintf(uri, sizeof(uri), "unix://%s", sock);
		if (posix_spawnp(&service_pid, "podman", NULL, NULL, argv, environ) != 0)
			return -1;
		pm = podman_open(sock, 300000);
		for (int i = 0; i < 300 && podman_ping(pm, err, sizeof(err)) == -1; i++)
			mstime_sleep(100);
	}
	img = calloc(1, sizeof(*img));
	have_shop = podman_image_inspect(pm, SHOP_IMAGE, img, err, sizeof(err)) == 0;
	free(img);
	return 0;
}

static int
group_teardown(void **state)
{
	char err[1024], cmd[1400];

	(void)state;
	for (int i = 0; i < nnames; i++)
		if (podman_remove(pm, names[i], err, sizeof(err)) == -1)
			fprintf(stderr, "# cleanup %s: %s\n", names[i], err);
	podman_remove(pm, TEMPLATE_CONTAINER_PREFIX TEMPLATE, err, sizeof(err));
	podman_close(pm);
	if (service_pid > 0) {
		kill(service_pid, SIGTERM);
		waitpid(service_pid, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", run_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
need_template(void)
{
	if (!have_shop)
		skip(); /* a TAP SKIP (tests/run counts it apart): build it with make images */
	assert_true(have_template);
}

static void
test_podman_not_running(void **state)
{
	struct podman *none = podman_open("/nonexistent/demux/podman.sock", 2000);
	struct container_info info;
	struct restore_request req;
	struct restore_stats rs;
	char err[1024];

	(void)state;
	assert_int_equal(podman_ping(pm, err, sizeof(err)), 0);
	assert_int_equal(podman_ping(none, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not running on /nonexistent/demux/podman.sock"));
	assert_non_null(strstr(err, "podman system service"));
	memset(&req, 0, sizeof(req));
	req.archive_path = "/etc/hostname";
	req.name = "demux-nope";
	assert_int_equal(podman_restore(none, &req, &rs, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "podman system service"));
	assert_int_equal(podman_inspect(none, "x", &info, NULL, err, sizeof(err)), -1);
	podman_close(none);
}

/* The template every other test restores, made the way a user makes it. */
static void
test_template_create(void **state)
{
	char *argv[] = {
	    (char *)demux_bin(), "template",	"create",  "--name",   TEMPLATE, "--image",
	    SHOP_IMAGE,		 "--state-dir", state_dir, "--socket", sock,	 "--label",
	    TEST_LABEL,		 "--timeout",	"240s",	   "--memory", "768m",	 NULL};
	struct podman_image *img;
	struct buf out;
	char err[1024], path[800];
	struct stat st;
	const char *pw;
	int rc;

	(void)state;
	if (!have_shop)
		skip();
	img = calloc(1, sizeof(*img));
	buf_init(&out, 1 << 20);
	rc = run(argv, &out);
	if (rc != 0)
		fprintf(stderr, "# %s\n", buf_str(&out));
	assert_int_equal(rc, 0);
	assert_non_null(strstr(buf_str(&out), "template " TEMPLATE " version 1: "));
	/* The password is in the metadata, never in the output. */
	assert_int_equal(podman_image_inspect(pm, SHOP_IMAGE, img, err, sizeof(err)), 0);
	pw = podman_image_label(img, "demux.db_password");
	assert_non_null(pw);
	assert_null(strstr(buf_str(&out), pw));
	free(img);
	buf_free(&out);
	assert_int_equal(template_load(state_dir, TEMPLATE, &meta, err, sizeof(err)), 0);
	assert_string_equal(meta.profile, "prestashop");
	assert_int_equal(meta.db_port, 3306);
	assert_true(meta.archive_bytes > 1000000);
	assert_true(meta.checkpoint.pages_written > 0);
	assert_true(meta.checkpoint.criu_ms > 0);
	assert_int_equal(meta.memory_bytes, 768LL * 1024 * 1024);
	snprintf(path, sizeof(path), "%s/templates/%s/template.json", state_dir, TEMPLATE);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(meta.archive_path, &st), 0);
	assert_int_equal(st.st_size, meta.archive_bytes);
	/* The template container itself is gone. */
	assert_false(container_exists(TEMPLATE_CONTAINER_PREFIX TEMPLATE));
	/* Its prepared restore: the file system committed as an image, and a
	 * small archive in place of the full one. */
	assert_true(meta.restore_image[0] != '\0');
	assert_int_equal(stat(meta.restore_archive_path, &st), 0);
	assert_true(st.st_size < 1024 * 1024);
	assert_true(st.st_size * 20 < meta.archive_bytes);
	img = calloc(1, sizeof(*img));
	assert_int_equal(podman_image_inspect(pm, meta.restore_image, img, err, sizeof(err)), 0);
	assert_string_equal(img->id, meta.restore_image_id);
	free(img);
	assert_int_equal(template_restore_check(pm, &meta, err, sizeof(err)), 0);
	have_template = true;
}

struct restore_job {
	struct restore_request req;
	struct restore_stats stats;
	char name[64];
	char err[1024];
	int rc;
};

static void *
restore_thread(void *arg)
{
	struct restore_job *j = arg;

	j->rc = podman_restore(pm, &j->req, &j->stats, j->err, sizeof(j->err));
	return NULL;
}

static void
test_three_concurrent_restores(void **state)
{
	struct restore_job jobs[3];
	pthread_t th[3];
	struct container_info *list = NULL;
	char err[1024];
	int n = 0;

	(void)state;
	need_template();
	memset(jobs, 0, sizeof(jobs));
	for (int i = 0; i < 3; i++) {
		new_name(jobs[i].name, sizeof(jobs[i].name));
		jobs[i].req.archive_path = meta.archive_path;
		jobs[i].req.name = jobs[i].name;
		jobs[i].req.ports[0] = (struct container_port){free_port(), meta.app_port};
		jobs[i].req.nports = 1;
	}
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&th[i], NULL, restore_thread, &jobs[i]), 0);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 3; i++) {
		if (jobs[i].rc != 0)
			fprintf(stderr, "# restore %s: %s\n", jobs[i].name, jobs[i].err);
		assert_int_equal(jobs[i].rc, 0);
		printf("# restore %s: wall %.0f ms, podman %.0f ms, runtime %.0f ms, CRIU %.0f ms, "
		       "%lld pages\n",
		       jobs[i].name, jobs[i].stats.wall_ms, jobs[i].stats.podman_ms,
		       jobs[i].stats.runtime_ms, jobs[i].stats.criu_ms,
		       jobs[i].stats.pages_restored);
		assert_true(jobs[i].stats.criu_ms > 0);
		assert_true(jobs[i].stats.runtime_ms >= jobs[i].stats.criu_ms);
		assert_true(jobs[i].stats.podman_ms >= jobs[i].stats.runtime_ms);
		assert_true(jobs[i].stats.pages_restored > 0);
	}
	/* Each copy answers on its own port, and its database on its own socket. */
	for (int i = 0; i < 3; i++) {
		struct buf body;
		long status;

		buf_init(&body, 1 << 20);
		status = http_get(jobs[i].req.ports[0].host_port, meta.domain, &body);
		assert_int_equal(status, 200);
		assert_non_null(strstr(buf_str(&body), meta.domain));
		buf_free(&body);
		assert_true(db_socket_accepts(jobs[i].name));
	}
	/* Listed by label, with the template's name and their ports. */
	assert_int_equal(podman_list(pm, &list, &n, err, sizeof(err)), 0);
	for (int i = 0; i < 3; i++) {
		bool found = false;

		for (int k = 0; k < n; k++) {
			if (strcmp(list[k].name, jobs[i].name) != 0)
				continue;
			found = true;
			assert_true(list[k].running);
			assert_string_equal(list[k].template_name, TEMPLATE);
			assert_int_equal(list[k].nports, 1); /* the app; the database has no port */
		}
		assert_true(found);
	}
	free(list);
	/* Removed, twice (release is idempotent), and really gone. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(podman_remove(pm, jobs[i].name, err, sizeof(err)), 0);
		assert_int_equal(podman_remove(pm, jobs[i].name, err, sizeof(err)), 0);
		assert_false(container_exists(jobs[i].name));
		assert_false(tcp_accepts(jobs[i].req.ports[0].host_port));
	}
}

/* HostConfig.CpuQuota of a container, as Podman reports it. */
static long long
cpu_quota(const char *name)
{
	struct buf body, path;
	long status = 0;
	char err[512];
	json_t *root;
	long long q;

	buf_init(&body, 1 << 22);
	buf_init(&path, 256);
	buf_printf(&path, "/containers/%s/json", name);
	assert_int_equal(
	    podman_json_call(pm, "GET", buf_str(&path), NULL, &status, &body, err, sizeof(err)), 0);
	assert_int_equal(status, 200);
	root = json_loads(buf_str(&body), 0, NULL);
	q = json_integer_value(json_object_get(json_object_get(root, "HostConfig"), "CpuQuota"));
	json_decref(root);
	buf_free(&body);
	buf_free(&path);
	return q;
}

/* Copies restored from the prepared restore answer like the others, each on
 * a file system of its own, and leave the template's images as they were. */
static void
test_prepared_restore(void **state)
{
	struct restore_job jobs[2];
	pthread_t th[2];
	char err[1024], path[800], inventory[1200];
	int pid[2];
	struct container_info info;
	struct stat st;
	FILE *f;

	(void)state;
	need_template();
	memset(jobs, 0, sizeof(jobs));
	for (int i = 0; i < 2; i++) {
		new_name(jobs[i].name, sizeof(jobs[i].name));
		jobs[i].req.archive_path = meta.restore_archive_path;
		jobs[i].req.name = jobs[i].name;
		jobs[i].req.ports[0] = (struct container_port){free_port(), meta.app_port};
		jobs[i].req.nports = 1;
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, restore_thread, &jobs[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 2; i++) {
		struct buf body;

		if (jobs[i].rc != 0)
			fprintf(stderr, "# restore %s: %s\n", jobs[i].name, jobs[i].err);
		assert_int_equal(jobs[i].rc, 0);
		printf("# prepared restore %s: wall %.0f ms, podman %.0f ms, runtime %.0f ms, CRIU "
		       "%.0f ms, %lld pages\n",
		       jobs[i].name, jobs[i].stats.wall_ms, jobs[i].stats.podman_ms,
		       jobs[i].stats.runtime_ms, jobs[i].stats.criu_ms,
		       jobs[i].stats.pages_restored);
		assert_true(jobs[i].stats.pages_restored > 0);
		buf_init(&body, 1 << 20);
		assert_int_equal(http_get(jobs[i].req.ports[0].host_port, meta.domain, &body), 200);
		assert_non_null(strstr(buf_str(&body), meta.domain));
		buf_free(&body);
		assert_true(db_socket_accepts(jobs[i].name));
		assert_int_equal(podman_inspect(pm, jobs[i].name, &info, &pid[i], err, sizeof(err)),
				 0);
		assert_true(pid[i] > 0);
		assert_string_equal(info.template_name, TEMPLATE);
	}
	/* Restored without the template's CPU quota (CRIU's restorer runs under
	 * it), which the pool then puts on: set here as the pool does. */
	assert_int_equal(cpu_quota(jobs[0].name), 0);
	assert_int_equal(podman_set_cpus(pm, jobs[0].name, 0.5, err, sizeof(err)), 0);
	assert_int_equal(cpu_quota(jobs[0].name), 50000);
	assert_int_equal(podman_set_cpus(pm, "demux-no-such-copy", 0.5, err, sizeof(err)), -1);
	/* A file written in one copy is not in the other. */
	snprintf(path, sizeof(path), "/proc/%d/root/tmp/demux-prepared-mark", pid[0]);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("copy 0\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/root/tmp/demux-prepared-mark", pid[1]);
	assert_int_equal(stat(path, &st), -1);
	/* CRIU only read the template's images: they are all still there. */
	snprintf(inventory, sizeof(inventory), "%.*s/restore/checkpoint/inventory.img",
		 (int)(strrchr(meta.archive_path, '/') - meta.archive_path), meta.archive_path);
	assert_int_equal(stat(inventory, &st), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(podman_remove(pm, jobs[i].name, err, sizeof(err)), 0);
		assert_false(container_exists(jobs[i].name));
	}
}

/* A prepared restore whose image is gone or was replaced is refused before
 * a pool uses it (the pool then restores from the full archive). */
static void
test_prepared_restore_check(void **state)
{
	struct template_meta m = meta;
	char err[1024];

	(void)state;
	need_template();
	memset(m.restore_image_id, '0', 64);
	m.restore_image_id[64] = '\0';
	assert_int_equal(template_restore_check(pm, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not the"));
	m = meta;
	snprintf(m.restore_image, sizeof(m.restore_image), "%s/no-such-template:1",
		 TEMPLATE_RESTORE_REPO);
	assert_int_equal(template_restore_check(pm, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "gone"));
	m = meta;
	m.restore_image[0] = '\0';
	assert_int_equal(template_restore_check(pm, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no prepared restore"));
}

/* A template made with --ksm on: its copies restore, answer, and their
 * private memory is mergeable ("mg" in the kernel's VmFlags). */
static void
test_ksm_template(void **state)
{
	char *create[] = {
	    (char *)demux_bin(), "template",	"create",  "--name",   TEMPLATE "ksm", "--image",
	    SHOP_IMAGE,		 "--state-dir", state_dir, "--socket", sock,	       "--label",
	    TEST_LABEL,		 "--timeout",	"240s",	   "--ksm",    "on",	       NULL};
	char *rm[] = {(char *)demux_bin(), "template",	  "rm",
		      TEMPLATE "ksm",	   "--state-dir", state_dir,
		      "--socket",	   sock,	  NULL};
	struct template_meta *m = calloc(1, sizeof(*m));
	struct restore_job job;
	struct buf out, body;
	char err[1024], path[64], line[512];
	int pid = 0, mergeable = 0, rc;
	struct container_info info;
	FILE *f;

	(void)state;
	if (!have_shop) {
		free(m);
		skip();
	}
	buf_init(&out, 1 << 20);
	rc = run(create, &out);
	if (rc != 0)
		fprintf(stderr, "# %s\n", buf_str(&out));
	assert_int_equal(rc, 0);
	assert_int_equal(template_load(state_dir, TEMPLATE "ksm", m, err, sizeof(err)), 0);
	assert_true(m->ksm);
	assert_true(m->restore_archive_path[0] != '\0');
	memset(&job, 0, sizeof(job));
	new_name(job.name, sizeof(job.name));
	job.req.archive_path = m->restore_archive_path;
	job.req.name = job.name;
	job.req.ports[0] = (struct container_port){free_port(), m->app_port};
	job.req.nports = 1;
	restore_thread(&job);
	if (job.rc != 0)
		fprintf(stderr, "# restore %s: %s\n", job.name, job.err);
	assert_int_equal(job.rc, 0);
	buf_init(&body, 1 << 20);
	assert_int_equal(http_get(job.req.ports[0].host_port, m->domain, &body), 200);
	buf_free(&body);
	assert_int_equal(podman_inspect(pm, job.name, &info, &pid, err, sizeof(err)), 0);
	/* The container's first process (the entry point) was restored with
	 * its areas marked. */
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmFlags:", 8) == 0 && strstr(line, " mg") != NULL)
			mergeable++;
	fclose(f);
	printf("# ksm: %d mergeable areas in the restored entry point\n", mergeable);
	assert_true(mergeable > 0);
	assert_int_equal(podman_remove(pm, job.name, err, sizeof(err)), 0);
	buf_reset(&out);
	assert_int_equal(run(rm, &out), 0);
	buf_free(&out);
	free(m);
}

static void
test_restore_bad_archives(void **state)
{
	struct restore_request req;
	struct restore_stats rs;
	char name[64], err[1024], path[700], chunk[65536];
	FILE *in, *out;
	size_t n;

	(void)state;
	memset(&req, 0, sizeof(req));
	new_name(name, sizeof(name));
	req.name = name;
	req.ports[0] = (struct container_port){free_port(), 80};
	req.nports = 1;

	req.archive_path = "/nonexistent/checkpoint.tar";
	assert_int_equal(podman_restore(pm, &req, &rs, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/checkpoint.tar"));
	assert_non_null(strstr(err, "No such file"));
	assert_false(container_exists(name));

	snprintf(path, sizeof(path), "%s/corrupt.tar", run_dir);
	out = fopen(path, "w");
	for (int i = 0; i < 1000; i++)
		fputs("this is not a checkpoint archive\n", out);
	fclose(out);
	req.archive_path = path;
	assert_int_equal(podman_restore(pm, &req, &rs, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Podman: "));
	assert_null(strchr(err, '\n'));
	assert_false(container_exists(name));

	if (!have_template)
		return;
	/* The first MB of a real archive: a valid start, then nothing. */
	snprintf(path, sizeof(path), "%s/truncated.tar", run_dir);
	in = fopen(meta.archive_path, "r");
	out = fopen(path, "w");
	assert_non_null(in);
	for (int i = 0; i < 16 && (n = fread(chunk, 1, sizeof(chunk), in)) > 0; i++)
		fwrite(chunk, 1, n, out);
	fclose(in);
	fclose(out);
	req.archive_path = path;
	assert_int_equal(podman_restore(pm, &req, &rs, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Podman: "));
	assert_false(container_exists(name));
}

static void
test_restore_port_in_use_and_name_taken(void **state)
{
	struct restore_request req;
	struct restore_stats rs;
	struct buf body;
	char name[64], err[1024];
	int busy = 0, s, first_port;

	(void)state;
	need_template();
	s = occupy_port(&busy);
	assert_true(s >= 0);
	memset(&req, 0, sizeof(req));
	new_name(name, sizeof(name));
	req.archive_path = meta.archive_path;
	req.name = name;
	req.ports[0] = (struct container_port){busy, meta.app_port};
	req.nports = 1;
	assert_int_equal(podman_restore(pm, &req, &rs, err, sizeof(err)), -1);
	close(s);
	assert_non_null(strstr(err, "address already in use"));
	assert_false(container_exists(name)); /* the half-made container was removed */

	/* A taken name fails, and the container holding it is left alone. */
	first_port = free_port();
	req.ports[0].host_port = first_port;
	assert_int_equal(podman_restore(pm, &req, &rs, err, sizeof(err)), 0);
	req.ports[0].host_port = free_port();
	assert_int_equal(podman_restore(pm, &req, &rs, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "name is already in use"));
	assert_true(container_exists(name));
	buf_init(&body, 1 << 20);
	assert_int_equal(http_get(first_port, meta.domain, &body), 200);
	buf_free(&body);
	assert_int_equal(podman_remove(pm, name, err, sizeof(err)), 0);
}

static void
test_create_start_errors(void **state)
{
	struct container_spec spec;
	struct template_spec_buf *sb = calloc(1, sizeof(*sb));
	char name[64], err[1024];
	int busy = 0, s;

	(void)state;
	memset(&spec, 0, sizeof(spec));
	new_name(name, sizeof(name));
	spec.name = name;
	spec.image = "localhost/demux/no-such-image:latest";
	spec.ports[0] = (struct container_port){free_port(), 80};
	spec.nports = 1;
	assert_int_equal(podman_create_start(pm, &spec, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "image not known"));
	assert_false(container_exists(name));

	if (!have_template) {
		free(sb);
		return;
	}
	s = occupy_port(&busy);
	assert_true(s >= 0);
	assert_int_equal(
	    template_cold_start_spec(&meta, name, busy, free_port(), &spec, sb, err, sizeof(err)),
	    0);
	assert_int_equal(podman_create_start(pm, &spec, err, sizeof(err)), -1);
	close(s);
	free(sb);
	assert_non_null(strstr(err, "address already in use"));
	assert_false(container_exists(name));
}

/* Cold start from the template's spec, checkpoint it with the C module
 * (leave running, zstd), restore the compressed archive, stop, logs. */
static void
test_cold_start_checkpoint_zstd(void **state)
{
	struct container_spec spec;
	struct template_spec_buf *sb = calloc(1, sizeof(*sb));
	struct checkpoint_stats cs;
	struct restore_request req;
	struct restore_stats rs;
	struct container_info info;
	struct buf body, logs;
	unsigned char magic[4] = {0};
	char cold[64], copy[64], err[1024], archive[700];
	int port = free_port(), status = 0;
	FILE *f;

	(void)state;
	need_template();
	new_name(cold, sizeof(cold));
	assert_int_equal(
	    template_cold_start_spec(&meta, cold, port, free_port(), &spec, sb, err, sizeof(err)),
	    0);
	assert_int_equal(podman_create_start(pm, &spec, err, sizeof(err)), 0);
	free(sb);
	buf_init(&body, 1 << 20);
	for (int i = 0; i < 1200 && status != 200; i++) {
		buf_reset(&body);
		status = http_get(port, meta.domain, &body);
		if (status != 200)
			mstime_sleep(100);
	}
	assert_int_equal(status, 200);
	wait_tcp_quiet(cold);

	snprintf(archive, sizeof(archive), "%s/cold.tar.zst", run_dir);
	if (podman_checkpoint(pm, cold, archive, true, true, &cs, err, sizeof(err)) == -1)
		fail_msg("checkpoint: %s", err);
	printf("# checkpoint (leave running, zstd): wall %.0f ms, CRIU %.0f ms, %lld pages, "
	       "%lld bytes\n",
	       cs.wall_ms, cs.criu_ms, cs.pages_written, cs.archive_bytes);
	assert_true(cs.pages_written > 0);
	assert_true(cs.archive_bytes > 0);
	f = fopen(archive, "r");
	assert_non_null(f);
	assert_int_equal(fread(magic, 1, 4, f), 4);
	fclose(f);
	assert_int_equal(magic[0], 0x28); /* zstd frame magic 28 b5 2f fd */
	assert_int_equal(magic[3], 0xfd);
	assert_int_equal(podman_inspect(pm, cold, &info, NULL, err, sizeof(err)), 0);
	assert_true(info.running); /* leaveRunning */

	memset(&req, 0, sizeof(req));
	new_name(copy, sizeof(copy));
	req.archive_path = archive;
	req.name = copy;
	req.ports[0] = (struct container_port){free_port(), meta.app_port};
	req.nports = 1;
	assert_int_equal(podman_restore(pm, &req, &rs, err, sizeof(err)), 0);
	buf_reset(&body);
	assert_int_equal(http_get(req.ports[0].host_port, meta.domain, &body), 200);
	buf_free(&body);

	if (podman_stop(pm, cold, 5, err, sizeof(err)) == -1)
		fail_msg("stop: %s", err);
	if (podman_stop(pm, cold, 5, err, sizeof(err)) == -1)
		fail_msg("second stop: %s", err);
	assert_int_equal(podman_inspect(pm, cold, &info, NULL, err, sizeof(err)), 0);
	assert_false(info.running);
	buf_init(&logs, 1 << 20);
	assert_int_equal(podman_logs(pm, cold, 10, &logs, err, sizeof(err)), 0);
	buf_free(&logs);
	assert_int_equal(podman_stop(pm, "demux-no-such-container", 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no such container"));
	assert_int_equal(podman_remove(pm, copy, err, sizeof(err)), 0);
	assert_int_equal(podman_remove(pm, cold, err, sizeof(err)), 0);
}

static void
test_template_rm(void **state)
{
	char *argv[] = {(char *)demux_bin(), "template", "rm", TEMPLATE, "--state-dir",
			state_dir,	     "--socket", sock, NULL};
	struct podman_image *img = calloc(1, sizeof(*img));
	char err[1024];
	struct stat st;
	struct buf out;
	int rc;

	(void)state;
	if (!have_shop) {
		free(img);
		skip();
	}
	assert_true(have_template);
	buf_init(&out, 1 << 16);
	rc = run(argv, &out);
	if (rc != 0)
		fprintf(stderr, "# %s\n", buf_str(&out));
	assert_int_equal(rc, 0);
	buf_free(&out);
	assert_int_equal(stat(meta.archive_path, &st), -1);
	assert_int_equal(stat(meta.restore_archive_path, &st), -1);
	/* The committed file system went with it. */
	assert_int_equal(podman_image_inspect(pm, meta.restore_image, img, err, sizeof(err)), -1);
	free(img);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_podman_not_running),
	    cmocka_unit_test(test_template_create),
	    cmocka_unit_test(test_three_concurrent_restores),
	    cmocka_unit_test(test_prepared_restore),
	    cmocka_unit_test(test_prepared_restore_check),
	    cmocka_unit_test(test_ksm_template),
	    cmocka_unit_test(test_restore_bad_archives),
	    cmocka_unit_test(test_restore_port_in_use_and_name_taken),
	    cmocka_unit_test(test_create_start_errors),
	    cmocka_unit_test(test_cold_start_checkpoint_zstd),
	    cmocka_unit_test(test_template_rm),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
