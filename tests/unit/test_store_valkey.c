/* Unit tests for the logic of the Valkey store that needs no server: key
 * prefixes and names, a record to hash fields and back, malformed hashes,
 * and the [store] keys of the configuration. The store itself runs against
 * a real server in tests/integration/store_valkey. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "store/store.h"
#include "store/valkey.h"

static void
test_prefix_check(void **state)
{
	char err[256], longp[80];

	(void)state;
	assert_int_equal(valkey_prefix_check("demux:", err, sizeof(err)), 0);
	assert_int_equal(valkey_prefix_check("site-a.demux_1:", err, sizeof(err)), 0);
	assert_int_equal(valkey_prefix_check("", err, sizeof(err)), -1);
	assert_int_equal(valkey_prefix_check(NULL, err, sizeof(err)), -1);
	/* Characters that would let a prefix escape into Lua or another key space. */
	assert_int_equal(valkey_prefix_check("de mux", err, sizeof(err)), -1);
	assert_int_equal(valkey_prefix_check("demux'..", err, sizeof(err)), -1);
	assert_int_equal(valkey_prefix_check("a{b}", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "a{b}"));
	memset(longp, 'a', sizeof(longp) - 1);
	longp[VALKEY_PREFIX_MAX] = '\0';
	assert_int_equal(valkey_prefix_check(longp, err, sizeof(err)), 0);
	longp[VALKEY_PREFIX_MAX] = 'a';
	longp[VALKEY_PREFIX_MAX + 1] = '\0';
	assert_int_equal(valkey_prefix_check(longp, err, sizeof(err)), -1);
}

static void
test_key(void **state)
{
	char k[32], small[8];

	(void)state;
	assert_int_equal(valkey_key(k, sizeof(k), "demux:", "i:", "abc"), 0);
	assert_string_equal(k, "demux:i:abc");
	assert_int_equal(valkey_key(k, sizeof(k), "p:", "all", ""), 0);
	assert_string_equal(k, "p:all");
	/* Never a cut key: another record's name could be a prefix of it. */
	assert_int_equal(valkey_key(small, sizeof(small), "demux:", "i:", "abc"), -1);
}

static struct instance
sample(void)
{
	struct instance in;

	memset(&in, 0, sizeof(in));
	snprintf(in.id, sizeof(in.id), "k3x9q2m7w4v8b6n1");
	snprintf(in.template_name, sizeof(in.template_name), "shop-fixture");
	in.state = INSTANCE_CLAIMED;
	snprintf(in.container, sizeof(in.container), "demux-%s", in.id);
	in.app_port = 46002;
	in.db_port = 0;
	snprintf(in.prefix, sizeof(in.prefix), "ps_");
	snprintf(in.method, sizeof(in.method), "criu_restore");
	snprintf(in.owner_token, sizeof(in.owner_token), "tok-AbC_123");
	snprintf(in.admin_password, sizeof(in.admin_password), "pw with space");
	snprintf(in.owner_ip, sizeof(in.owner_ip), "2001:db8::1");
	snprintf(in.node, sizeof(in.node), "node-b");
	in.created_at = 1700000000LL;
	in.ready_at = 1700000003LL;
	in.claimed_at = 1700000100LL;
	in.expires_at = 1700001900LL;
	in.last_seen_at = 1700000200LL;
	in.extends = 3;
	in.restore_ms = 812.5;
	in.hook_ms = 0.1;
	in.health_ms = 1e-3;
	in.route_ms = 12.25;
	in.provision_ms = 1234567.875;
	return in;
}

/* Flattens valkey_fields into HGETALL's shape. */
static void
flatten(char vals[VALKEY_NFIELDS][VALKEY_FIELD_MAX], const char **kv, size_t *lens)
{
	for (int i = 0; i < VALKEY_NFIELDS; i++) {
		kv[2 * i] = valkey_field_names[i];
		lens[2 * i] = strlen(valkey_field_names[i]);
		kv[2 * i + 1] = vals[i];
		lens[2 * i + 1] = strlen(vals[i]);
	}
}

static void
test_fields_round_trip(void **state)
{
	struct instance in = sample(), out;
	char vals[VALKEY_NFIELDS][VALKEY_FIELD_MAX], err[256];
	const char *kv[2 * VALKEY_NFIELDS];
	size_t lens[2 * VALKEY_NFIELDS];

	(void)state;
	valkey_fields(&in, vals);
	assert_string_equal(vals[2], "claimed"); /* states by name, readable with valkey-cli */
	flatten(vals, kv, lens);
	assert_int_equal(valkey_parse_fields(kv, lens, 2 * VALKEY_NFIELDS, &out, err, sizeof(err)),
			 0);
	assert_memory_equal(&in, &out, sizeof(in));
	for (int s = INSTANCE_PROVISIONING; s <= INSTANCE_RELEASING; s++) {
		in.state = (enum instance_state)s;
		valkey_fields(&in, vals);
		flatten(vals, kv, lens);
		assert_int_equal(
		    valkey_parse_fields(kv, lens, 2 * VALKEY_NFIELDS, &out, err, sizeof(err)), 0);
		assert_int_equal(out.state, s);
	}
}

static int
parse_pairs(const char *const *kv, size_t n, struct instance *out, char *err, size_t errlen)
{
	size_t lens[64];

	for (size_t i = 0; i < n; i++)
		lens[i] = strlen(kv[i]);
	return valkey_parse_fields(kv, lens, n, out, err, errlen);
}

static void
test_parse_malformed(void **state)
{
	struct instance out;
	char err[256];
	const char *ok[] = {"id", "abc", "template", "shop", "state", "ready", "future_field", "x"};
	const char *bad_state[] = {"id", "abc", "template", "shop", "state", "gone"};
	const char *bad_num[] = {"id",	  "abc",   "template", "shop",
				 "state", "ready", "app_port", "80x"};
	const char *empty_num[] = {"id",    "abc",   "template",   "shop",
				   "state", "ready", "expires_at", ""};
	const char *big_port[] = {"id",	   "abc",   "template", "shop",
				  "state", "ready", "app_port", "99999999999"};
	const char *no_id[] = {"template", "shop", "state", "ready"};
	const char *no_state[] = {"id", "abc", "template", "shop"};
	const char *odd[] = {"id", "abc", "template"};
	char longid[ID_SIZE + 8];
	const char *too_long[] = {"id", longid, "template", "shop", "state", "ready"};

	(void)state;
	assert_int_equal(parse_pairs(ok, 8, &out, err, sizeof(err)), 0);
	assert_string_equal(out.id, "abc");
	assert_int_equal(out.state, INSTANCE_READY);
	assert_int_equal(parse_pairs(bad_state, 6, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "state"));
	assert_int_equal(parse_pairs(bad_num, 8, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "app_port"));
	assert_int_equal(parse_pairs(empty_num, 8, &out, err, sizeof(err)), -1);
	assert_int_equal(parse_pairs(big_port, 8, &out, err, sizeof(err)), -1);
	assert_int_equal(parse_pairs(no_id, 4, &out, err, sizeof(err)), -1);
	assert_int_equal(parse_pairs(no_state, 4, &out, err, sizeof(err)), -1);
	assert_int_equal(parse_pairs(odd, 3, &out, err, sizeof(err)), -1);
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_int_equal(parse_pairs(too_long, 6, &out, err, sizeof(err)), -1);
}

/* A value with a NUL inside (binary-safe on the server) is refused, not cut. */
static void
test_parse_embedded_nul(void **state)
{
	struct instance out;
	char err[256];
	const char *kv[] = {"id", "ab\0cd", "template", "shop", "state", "ready"};
	size_t lens[] = {2, 5, 8, 4, 5, 5};

	(void)state;
	assert_int_equal(valkey_parse_fields(kv, lens, 6, &out, err, sizeof(err)), -1);
}

static void
test_config_store_keys(void **state)
{
	struct config cfg;
	char err[512], pw[64], path[] = "/tmp/demux-valkey-pw-XXXXXX";
	FILE *f;
	int fd;

	(void)state;
	config_defaults(&cfg);
	snprintf(cfg.path, sizeof(cfg.path), "t.conf");
	assert_string_equal(cfg.redis_key_prefix, "demux:");
	assert_string_equal(cfg.node_address, "127.0.0.1");
	assert_int_equal(config_set(&cfg, "store", "backend", "valkey", err, sizeof(err)), 0);
	assert_int_equal(cfg.store_backend, STORE_VALKEY);
	assert_int_equal(config_set(&cfg, "store", "backend", "redis", err, sizeof(err)), 0);
	assert_int_equal(cfg.store_backend, STORE_REDIS_ALIAS);
	assert_int_equal(config_set(&cfg, "store", "backend", "memcached", err, sizeof(err)), -1);
	assert_int_equal(config_set(&cfg, "store", "heartbeat_timeout", "1s", err, sizeof(err)),
			 -1);
	assert_int_equal(config_set(&cfg, "store", "heartbeat_timeout", "20s", err, sizeof(err)),
			 0);
	assert_int_equal(cfg.heartbeat_timeout_s, 20);
	assert_int_equal(config_check(&cfg, err, sizeof(err)), 0);

	snprintf(cfg.redis_key_prefix, sizeof(cfg.redis_key_prefix), "bad prefix");
	assert_int_equal(config_check(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "redis_key_prefix"));
	snprintf(cfg.redis_key_prefix, sizeof(cfg.redis_key_prefix), "demux:");

	snprintf(cfg.node_name, sizeof(cfg.node_name), "node/1");
	assert_int_equal(config_check(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "node_name"));
	snprintf(cfg.node_name, sizeof(cfg.node_name), "node-b");

	snprintf(cfg.node_address, sizeof(cfg.node_address), "10.0.0.2:8080");
	assert_int_equal(config_check(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "node_address"));
	snprintf(cfg.node_address, sizeof(cfg.node_address), "[fd00::2]");
	assert_int_equal(config_check(&cfg, err, sizeof(err)), 0);

	/* The password from a file, one line, white space trimmed. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("s3cret-pw \n", f);
	fclose(f);
	snprintf(cfg.redis_password_file, sizeof(cfg.redis_password_file), "%s", path);
	assert_int_equal(config_store_password(&cfg, pw, sizeof(pw), err, sizeof(err)), 0);
	assert_string_equal(pw, "s3cret-pw");
	snprintf(cfg.redis_password, sizeof(cfg.redis_password), "inline");
	assert_int_equal(config_check(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not both"));
	cfg.redis_password[0] = '\0';
	unlink(path);
	assert_int_equal(config_store_password(&cfg, pw, sizeof(pw), err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
}

/* Opening refuses a bad prefix before touching the network, and says so
 * when nothing listens. */
static void
test_open_errors(void **state)
{
	struct store st;
	struct store_valkey_options o = {
	    .host = "127.0.0.1", .port = 1, .prefix = "demux:", .connect_timeout_ms = 500};
	char err[256];

	(void)state;
	assert_int_equal(store_valkey_open(&st, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "127.0.0.1:1"));
	o.prefix = "x y";
	assert_int_equal(store_valkey_open(&st, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "prefix"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prefix_check),       cmocka_unit_test(test_key),
	    cmocka_unit_test(test_fields_round_trip),  cmocka_unit_test(test_parse_malformed),
	    cmocka_unit_test(test_parse_embedded_nul), cmocka_unit_test(test_config_store_keys),
	    cmocka_unit_test(test_open_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
