/*
 * The Valkey store against a real server (valkey-server, else redis-server),
 * started by store_valkey.sh on a loopback port with a password: the store
 * contract the SQLite store's unit tests check (put, get, list, delete,
 * compare-and-set, claim of the oldest ready copy, the per-owner limit,
 * expiry index, release), the pool-wide reservation, node heartbeats, a
 * wrong password, a connection the server closed, and claims from two
 * processes at once: no copy is handed out twice.
 *
 * Each test writes under its own key prefix, so tests do not see each
 * other's records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mstime.h"
#include "store/store.h"
#include "store_contract.h"

static int port;
static const char *password;
static int prefix_seq;
static char prefix[32];

static void
open_store(struct store *st)
{
	struct store_valkey_options o = {.host = "127.0.0.1",
					 .port = port,
					 .password = password,
					 .prefix = prefix,
					 .connect_timeout_ms = 2000,
					 .command_timeout_ms = 5000};
	char err[256];

	if (store_valkey_open(st, &o, err, sizeof(err)) == -1)
		fail_msg("open: %s", err);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(prefix, sizeof(prefix), "t%d-%d:", (int)getpid(), ++prefix_seq);
	return 0;
}

/* A raw connection, for looking at keys the way an operator would. */
static redisContext *
raw(void)
{
	redisContext *c = redisConnect("127.0.0.1", port);
	redisReply *r;

	assert_non_null(c);
	assert_int_equal(c->err, 0);
	r = redisCommand(c, "AUTH %s", password);
	assert_non_null(r);
	assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
	freeReplyObject(r);
	return c;
}

static long long
raw_int(redisContext *c, const char *fmt, const char *a, const char *b)
{
	redisReply *r = redisCommand(c, fmt, a, b);
	long long v = -1;

	assert_non_null(r);
	if (r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	else if (r->type == REDIS_REPLY_STRING)
		v = strtoll(r->str, NULL, 10);
	freeReplyObject(r);
	return v;
}

static void
test_put_get_list_del(void **state)
{
	struct store st;

	(void)state;
	open_store(&st);
	contract_put_get_list_del(&st);
	st.ops->close(st.ctx);
}

static void
test_cas(void **state)
{
	struct store st;

	(void)state;
	open_store(&st);
	contract_cas(&st);
	st.ops->close(st.ctx);
}

static void
test_update(void **state)
{
	struct store st;

	(void)state;
	open_store(&st);
	contract_update(&st);
	st.ops->close(st.ctx);
}

static void
test_claim_oldest_ready(void **state)
{
	struct store st;

	(void)state;
	open_store(&st);
	contract_claim_oldest_ready(&st);
	st.ops->close(st.ctx);
}

static void
test_claim_limited_per_owner(void **state)
{
	struct store st;

	(void)state;
	open_store(&st);
	contract_claim_limited_per_owner(&st);
	st.ops->close(st.ctx);
}

/* Claimed copies are in the expiry set scored by expires_at (what an
 * operator sees with ZRANGE); an extend (put) moves the score, a release
 * takes it out; no READY copy is in it. */
static void
test_expiry_index(void **state)
{
	struct store st;
	struct instance a = contract_make("aaaaaaaaaaaaaaaa", INSTANCE_READY, 1), want, got;
	redisContext *c = raw();
	char err[256], key[64], rk[64];

	(void)state;
	open_store(&st);
	snprintf(key, sizeof(key), "%sexpiry", prefix);
	snprintf(rk, sizeof(rk), "%sready:shop", prefix);
	assert_int_equal(st.ops->put(st.ctx, &a, err, sizeof(err)), 0);
	assert_int_equal(raw_int(c, "ZCARD %s", rk, NULL), 1);
	assert_int_equal(raw_int(c, "ZCARD %s", key, NULL), 0);
	memset(&want, 0, sizeof(want));
	want.claimed_at = 1000;
	want.expires_at = 2800;
	assert_int_equal(st.ops->claim(st.ctx, "shop", &want, 0, &got, err, sizeof(err)), 0);
	assert_int_equal(raw_int(c, "ZCARD %s", rk, NULL), 0);
	assert_int_equal(raw_int(c, "ZSCORE %s %s", key, a.id), 2800);
	got.expires_at = 3400;
	got.extends = 1;
	assert_int_equal(st.ops->put(st.ctx, &got, err, sizeof(err)), 0);
	assert_int_equal(raw_int(c, "ZSCORE %s %s", key, a.id), 3400);
	assert_int_equal(
	    st.ops->cas_state(st.ctx, a.id, INSTANCE_CLAIMED, INSTANCE_RELEASING, err, sizeof(err)),
	    0);
	assert_int_equal(raw_int(c, "ZCARD %s", key, NULL), 0);
	assert_int_equal(st.ops->del(st.ctx, a.id, err, sizeof(err)), 0);
	snprintf(key, sizeof(key), "%sall", prefix);
	assert_int_equal(raw_int(c, "SCARD %s", key, NULL), 0);
	redisFree(c);
	st.ops->close(st.ctx);
}

/* reserve inserts only under the pool's limits: max_total records of the
 * template, want_ready ready-or-provisioning ones. */
static void
test_reserve(void **state)
{
	struct store st;
	struct instance in, *v;
	char err[256], id[ID_SIZE];
	int n;

	(void)state;
	open_store(&st);
	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "r%015d", i);
		in = contract_make(id, INSTANCE_PROVISIONING, i);
		assert_int_equal(st.ops->reserve(st.ctx, &in, 10, 2, err, sizeof(err)),
				 i < 2 ? 0 : STORE_LIMIT);
	}
	snprintf(id, sizeof(id), "c%015d", 0);
	in = contract_make(id, INSTANCE_CLAIMED, 50);
	assert_int_equal(st.ops->put(st.ctx, &in, err, sizeof(err)), 0);
	/* 3 records: a total of 3 is full even though fewer than 5 are ready. */
	snprintf(id, sizeof(id), "r%015d", 3);
	in = contract_make(id, INSTANCE_PROVISIONING, 60);
	assert_int_equal(st.ops->reserve(st.ctx, &in, 3, 5, err, sizeof(err)), STORE_LIMIT);
	assert_int_equal(st.ops->reserve(st.ctx, &in, 4, 3, err, sizeof(err)), 0);
	assert_int_equal(st.ops->list(st.ctx, "shop", -1, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	free(v);
	/* Another template is counted apart. */
	snprintf(in.template_name, sizeof(in.template_name), "blog");
	snprintf(in.id, sizeof(in.id), "x%015d", 0);
	assert_int_equal(st.ops->reserve(st.ctx, &in, 1, 1, err, sizeof(err)), 0);
	st.ops->close(st.ctx);
}

static void
test_heartbeat_nodes(void **state)
{
	struct store st;
	struct store_node *v;
	char err[256];
	int n;

	(void)state;
	open_store(&st);
	assert_int_equal(st.ops->nodes(st.ctx, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(st.ops->heartbeat(st.ctx, "node-a", "10.0.0.1", 400, err, sizeof(err)), 0);
	assert_int_equal(st.ops->heartbeat(st.ctx, "node-b", "10.0.0.2", 60000, err, sizeof(err)),
			 0);
	assert_int_equal(st.ops->nodes(st.ctx, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++) {
		assert_true(v[i].alive);
		assert_string_equal(v[i].address,
				    strcmp(v[i].name, "node-a") == 0 ? "10.0.0.1" : "10.0.0.2");
	}
	free(v);
	mstime_sleep(700);
	assert_int_equal(st.ops->nodes(st.ctx, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++)
		assert_int_equal(v[i].alive, strcmp(v[i].name, "node-b") == 0);
	free(v);
	assert_int_equal(st.ops->forget_node(st.ctx, "node-a", err, sizeof(err)), 0);
	assert_int_equal(st.ops->nodes(st.ctx, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, "node-b");
	free(v);
	st.ops->close(st.ctx);
}

static void
test_wrong_password(void **state)
{
	struct store st;
	struct store_valkey_options o = {
	    .host = "127.0.0.1", .port = port, .password = "not-the-password", .prefix = prefix};
	char err[256];

	(void)state;
	assert_int_equal(store_valkey_open(&st, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "authentication"));
	assert_null(strstr(err, "not-the-password"));
	o.password = NULL;
	assert_int_equal(store_valkey_open(&st, &o, err, sizeof(err)), -1);
}

/* The server closes every client connection (as after a restart): reads
 * carry on over a new one; a write fails once at most, then works. */
static void
test_connection_closed(void **state)
{
	struct store st;
	struct instance a = contract_make("aaaaaaaaaaaaaaaa", INSTANCE_READY, 1), got;
	redisContext *c = raw();
	redisReply *r;
	char err[256];

	(void)state;
	open_store(&st);
	assert_int_equal(st.ops->put(st.ctx, &a, err, sizeof(err)), 0);
	r = redisCommand(c, "CLIENT KILL TYPE normal SKIPME yes");
	assert_non_null(r);
	freeReplyObject(r);
	assert_int_equal(st.ops->get(st.ctx, a.id, &got, err, sizeof(err)), 0);
	r = redisCommand(c, "CLIENT KILL TYPE normal SKIPME yes");
	assert_non_null(r);
	freeReplyObject(r);
	if (st.ops->cas_state(st.ctx, a.id, INSTANCE_READY, INSTANCE_RELEASING, err, sizeof(err)) ==
	    -1)
		assert_int_equal(st.ops->cas_state(st.ctx, a.id, INSTANCE_READY, INSTANCE_RELEASING,
						   err, sizeof(err)),
				 0);
	assert_int_equal(st.ops->get(st.ctx, a.id, &got, err, sizeof(err)), 0);
	assert_int_equal(got.state, INSTANCE_RELEASING);
	redisFree(c);
	st.ops->close(st.ctx);
}

#define RACE_COPIES 300

/* Claims until none is left, writing each id to fd. */
static int
claimer(int fd)
{
	struct store st;
	struct instance want, got;
	char err[256];
	int r, count = 0;

	open_store(&st);
	memset(&want, 0, sizeof(want));
	snprintf(want.owner_ip, sizeof(want.owner_ip), "198.51.100.%d", (int)getpid() % 250);
	want.expires_at = 9999;
	while ((r = st.ops->claim(st.ctx, "shop", &want, 0, &got, err, sizeof(err))) == 0) {
		dprintf(fd, "%s\n", got.id);
		count++;
	}
	st.ops->close(st.ctx);
	return r == STORE_NOT_FOUND && count > 0 ? 0 : 1;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* Two processes, each with its own connection, as two nodes would: every
 * copy is handed out exactly once, and both got some. */
static void
test_two_processes_never_share(void **state)
{
	struct store st;
	char err[256], id[ID_SIZE], path[2][64];
	static char ids[2 * RACE_COPIES][ID_SIZE];
	int total = 0, per[2] = {0, 0};
	pid_t pid[2];

	(void)state;
	open_store(&st);
	for (int i = 0; i < RACE_COPIES; i++) {
		struct instance in;

		snprintf(id, sizeof(id), "q%015d", i);
		in = contract_make(id, INSTANCE_READY, i);
		assert_int_equal(st.ops->put(st.ctx, &in, err, sizeof(err)), 0);
	}
	for (int k = 0; k < 2; k++) {
		int fd;

		snprintf(path[k], sizeof(path[k]), "/tmp/demux-claims-XXXXXX");
		fd = mkstemp(path[k]);
		assert_true(fd >= 0);
		pid[k] = fork();
		assert_true(pid[k] >= 0);
		if (pid[k] == 0)
			_exit(claimer(fd));
		close(fd);
	}
	for (int k = 0; k < 2; k++) {
		int status;
		FILE *f;

		assert_int_equal(waitpid(pid[k], &status, 0), pid[k]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		f = fopen(path[k], "r");
		assert_non_null(f);
		while (total < 2 * RACE_COPIES && fscanf(f, "%16s", ids[total]) == 1) {
			total++;
			per[k]++;
		}
		fclose(f);
		unlink(path[k]);
	}
	print_message("# claims: process 1 %d, process 2 %d\n", per[0], per[1]);
	assert_int_equal(total, RACE_COPIES);
	assert_true(per[0] > 0 && per[1] > 0);
	qsort(ids, (size_t)total, ID_SIZE, cmp_str);
	for (int i = 1; i < total; i++)
		assert_string_not_equal(ids[i - 1], ids[i]);
	st.ops->close(st.ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_put_get_list_del, setup),
	    cmocka_unit_test_setup(test_cas, setup),
	    cmocka_unit_test_setup(test_update, setup),
	    cmocka_unit_test_setup(test_claim_oldest_ready, setup),
	    cmocka_unit_test_setup(test_claim_limited_per_owner, setup),
	    cmocka_unit_test_setup(test_expiry_index, setup),
	    cmocka_unit_test_setup(test_reserve, setup),
	    cmocka_unit_test_setup(test_heartbeat_nodes, setup),
	    cmocka_unit_test_setup(test_wrong_password, setup),
	    cmocka_unit_test_setup(test_connection_closed, setup),
	    cmocka_unit_test_setup(test_two_processes_never_share, setup),
	};
	const char *p = getenv("STORE_PORT");

	password = getenv("STORE_PASSWORD");
	if (p == NULL || password == NULL) {
		printf("1..0 # SKIP STORE_PORT and STORE_PASSWORD not set (run store_valkey.sh)\n");
		return 0;
	}
	port = (int)strtol(p, NULL, 10);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
