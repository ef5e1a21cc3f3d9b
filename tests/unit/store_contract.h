/*
 * store_contract — what every instance store (store.h) must do, as cmocka
 * checks over a store the caller opened on an empty database: records,
 * listing, compare-and-set, claim of the oldest ready copy, the per-owner
 * limit. tests/unit/test_store.c runs them against SQLite,
 * tests/integration/store_valkey.c against a real Valkey or Redis server.
 * The caller closes the store.
 */
#ifndef DEMUX_TEST_STORE_CONTRACT_H
#define DEMUX_TEST_STORE_CONTRACT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

static struct instance
contract_make(const char *id, enum instance_state s, long long ready_at)
{
	struct instance in;

	memset(&in, 0, sizeof(in));
	snprintf(in.id, sizeof(in.id), "%s", id);
	snprintf(in.template_name, sizeof(in.template_name), "shop");
	snprintf(in.container, sizeof(in.container), "demux-%s", id);
	snprintf(in.node, sizeof(in.node), "node-a");
	in.state = s;
	in.app_port = 20000;
	in.ready_at = ready_at;
	in.created_at = ready_at;
	in.restore_ms = 812.5;
	return in;
}

static void
contract_put_get_list_del(struct store *st_)
{
	struct instance a = contract_make("aaaaaaaaaaaaaaaa", INSTANCE_READY, 10), got, *v;
	struct instance b = contract_make("bbbbbbbbbbbbbbbb", INSTANCE_PROVISIONING, 5);
	char err[256];
	int n;

	struct store st = *st_;

	assert_int_equal(st.ops->put(st.ctx, &a, err, sizeof(err)), 0);
	assert_int_equal(st.ops->put(st.ctx, &b, err, sizeof(err)), 0);
	assert_int_equal(st.ops->get(st.ctx, a.id, &got, err, sizeof(err)), 0);
	assert_memory_equal(&a, &got, sizeof(a));
	assert_int_equal(st.ops->get(st.ctx, "zzzzzzzzzzzzzzzz", &got, err, sizeof(err)),
			 STORE_NOT_FOUND);
	/* Listed oldest first, filtered by template and state. */
	assert_int_equal(st.ops->list(st.ctx, NULL, -1, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].id, b.id);
	free(v);
	assert_int_equal(st.ops->list(st.ctx, "shop", INSTANCE_READY, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].id, a.id);
	free(v);
	assert_int_equal(st.ops->list(st.ctx, "blog", -1, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	free(v);
	a.state = INSTANCE_CLAIMED;
	assert_int_equal(st.ops->put(st.ctx, &a, err, sizeof(err)), 0); /* replace */
	assert_int_equal(st.ops->list(st.ctx, "shop", INSTANCE_READY, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(st.ops->del(st.ctx, a.id, err, sizeof(err)), 0);
	assert_int_equal(st.ops->del(st.ctx, a.id, err, sizeof(err)), 0);
	assert_int_equal(st.ops->get(st.ctx, a.id, &got, err, sizeof(err)), STORE_NOT_FOUND);
	assert_int_equal(st.ops->ping(st.ctx, err, sizeof(err)), 0);
}

static void
contract_cas(struct store *st_)
{
	struct instance a = contract_make("aaaaaaaaaaaaaaaa", INSTANCE_CLAIMED, 10), got;
	char err[256];

	struct store st = *st_;

	assert_int_equal(st.ops->put(st.ctx, &a, err, sizeof(err)), 0);
	assert_int_equal(
	    st.ops->cas_state(st.ctx, a.id, INSTANCE_READY, INSTANCE_RELEASING, err, sizeof(err)),
	    STORE_NOT_FOUND);
	assert_int_equal(
	    st.ops->cas_state(st.ctx, a.id, INSTANCE_CLAIMED, INSTANCE_RELEASING, err, sizeof(err)),
	    0);
	assert_int_equal(
	    st.ops->cas_state(st.ctx, a.id, INSTANCE_CLAIMED, INSTANCE_RELEASING, err, sizeof(err)),
	    STORE_NOT_FOUND);
	assert_int_equal(st.ops->cas_state(st.ctx, "nnnnnnnnnnnnnnnn", INSTANCE_CLAIMED,
					   INSTANCE_RELEASING, err, sizeof(err)),
			 STORE_NOT_FOUND);
	assert_int_equal(st.ops->get(st.ctx, a.id, &got, err, sizeof(err)), 0);
	assert_int_equal(got.state, INSTANCE_RELEASING);
	assert_string_equal(got.container, a.container); /* the rest untouched */
}

static void
contract_claim_oldest_ready(struct store *st_)
{
	struct instance a = contract_make("aaaaaaaaaaaaaaaa", INSTANCE_READY, 20);
	struct instance b = contract_make("bbbbbbbbbbbbbbbb", INSTANCE_READY, 10);
	struct instance c = contract_make("cccccccccccccccc", INSTANCE_PROVISIONING, 5);
	struct instance want, got;
	char err[256];

	struct store st = *st_;

	assert_int_equal(st.ops->put(st.ctx, &a, err, sizeof(err)), 0);
	assert_int_equal(st.ops->put(st.ctx, &b, err, sizeof(err)), 0);
	assert_int_equal(st.ops->put(st.ctx, &c, err, sizeof(err)), 0);
	memset(&want, 0, sizeof(want));
	snprintf(want.owner_token, sizeof(want.owner_token), "tok");
	snprintf(want.owner_ip, sizeof(want.owner_ip), "192.0.2.9");
	want.claimed_at = 100;
	want.expires_at = 700;
	assert_int_equal(st.ops->claim(st.ctx, "shop", &want, 0, &got, err, sizeof(err)), 0);
	assert_string_equal(got.id, b.id);
	assert_int_equal(got.state, INSTANCE_CLAIMED);
	assert_int_equal(got.expires_at, 700);
	assert_int_equal(got.last_seen_at, 100);
	assert_string_equal(got.owner_token, "tok");
	assert_string_equal(got.owner_ip, "192.0.2.9");
	assert_string_equal(got.node, "node-a");
	assert_int_equal(st.ops->claim(st.ctx, "shop", &want, 0, &got, err, sizeof(err)), 0);
	assert_string_equal(got.id, a.id);
	assert_int_equal(st.ops->claim(st.ctx, "shop", &want, 0, &got, err, sizeof(err)),
			 STORE_NOT_FOUND);
	assert_int_equal(st.ops->claim(st.ctx, "other", &want, 0, &got, err, sizeof(err)),
			 STORE_NOT_FOUND);
	/* A copy that became READY again (adopted) can be claimed again. */
	assert_int_equal(st.ops->get(st.ctx, c.id, &got, err, sizeof(err)), 0);
	got.state = INSTANCE_READY;
	assert_int_equal(st.ops->put(st.ctx, &got, err, sizeof(err)), 0);
	assert_int_equal(st.ops->claim(st.ctx, "shop", &want, 0, &got, err, sizeof(err)), 0);
	assert_string_equal(got.id, c.id);
}

static void
contract_claim_limited_per_owner(struct store *st_)
{
	struct instance want, got, other;
	char err[256], id[ID_SIZE];

	struct store st = *st_;

	for (int i = 0; i < 6; i++) {
		struct instance in;

		snprintf(id, sizeof(id), "a%015d", i);
		in = contract_make(id, INSTANCE_READY, i);
		if (i == 5)
			snprintf(in.template_name, sizeof(in.template_name), "blog");
		assert_int_equal(st.ops->put(st.ctx, &in, err, sizeof(err)), 0);
	}
	memset(&want, 0, sizeof(want));
	snprintf(want.owner_ip, sizeof(want.owner_ip), "192.0.2.1");
	assert_int_equal(st.ops->claim(st.ctx, "shop", &want, 2, &got, err, sizeof(err)), 0);
	assert_int_equal(st.ops->claim(st.ctx, "shop", &want, 2, &got, err, sizeof(err)), 0);
	assert_int_equal(st.ops->claim(st.ctx, "shop", &want, 2, &got, err, sizeof(err)),
			 STORE_LIMIT);
	assert_non_null(strstr(err, "192.0.2.1"));
	assert_int_equal(st.ops->claim(st.ctx, "blog", &want, 2, &got, err, sizeof(err)),
			 STORE_LIMIT);
	assert_int_equal(st.ops->get(st.ctx, "a000000000000002", &other, err, sizeof(err)), 0);
	assert_int_equal(other.state, INSTANCE_READY);
	memset(&other, 0, sizeof(other));
	snprintf(other.owner_ip, sizeof(other.owner_ip), "192.0.2.2");
	assert_int_equal(st.ops->claim(st.ctx, "shop", &other, 2, &got, err, sizeof(err)), 0);
	assert_int_equal(st.ops->claim(st.ctx, "blog", &want, 3, &got, err, sizeof(err)), 0);
	assert_int_equal(st.ops->claim(st.ctx, "shop", &want, 0, &got, err, sizeof(err)), 0);
	/* Releasing one of its demos frees a place; so does deleting one. */
	assert_int_equal(st.ops->claim(st.ctx, "shop", &want, 4, &got, err, sizeof(err)),
			 STORE_LIMIT);
	assert_int_equal(st.ops->cas_state(st.ctx, got.id, INSTANCE_CLAIMED, INSTANCE_RELEASING,
					   err, sizeof(err)),
			 0);
	snprintf(id, sizeof(id), "b%015d", 0);
	other = contract_make(id, INSTANCE_READY, 99);
	assert_int_equal(st.ops->put(st.ctx, &other, err, sizeof(err)), 0);
	assert_int_equal(st.ops->claim(st.ctx, "shop", &want, 4, &got, err, sizeof(err)), 0);
	assert_int_equal(st.ops->del(st.ctx, got.id, err, sizeof(err)), 0);
	snprintf(id, sizeof(id), "b%015d", 1);
	other = contract_make(id, INSTANCE_READY, 100);
	assert_int_equal(st.ops->put(st.ctx, &other, err, sizeof(err)), 0);
	assert_int_equal(st.ops->claim(st.ctx, "shop", &want, 4, &got, err, sizeof(err)), 0);
}

/* update writes only while the stored state is the one in the record, and
 * never creates a record. */
static void
contract_update(struct store *st_)
{
	struct store st = *st_;
	struct instance a = contract_make("aaaaaaaaaaaaaaaa", INSTANCE_CLAIMED, 1), got;
	char err[256];

	assert_int_equal(st.ops->update(st.ctx, &a, err, sizeof(err)), STORE_NOT_FOUND);
	assert_int_equal(st.ops->get(st.ctx, a.id, &got, err, sizeof(err)), STORE_NOT_FOUND);
	assert_int_equal(st.ops->put(st.ctx, &a, err, sizeof(err)), 0);
	a.expires_at = 4242;
	a.extends = 3;
	a.version = 7;
	assert_int_equal(st.ops->update(st.ctx, &a, err, sizeof(err)), 0);
	assert_int_equal(st.ops->get(st.ctx, a.id, &got, err, sizeof(err)), 0);
	assert_int_equal(got.expires_at, 4242);
	assert_int_equal(got.extends, 3);
	assert_int_equal(got.version, 7);
	assert_int_equal(got.state, INSTANCE_CLAIMED);
	assert_int_equal(
	    st.ops->cas_state(st.ctx, a.id, INSTANCE_CLAIMED, INSTANCE_RELEASING, err, sizeof(err)),
	    0);
	a.expires_at = 9999;
	assert_int_equal(st.ops->update(st.ctx, &a, err, sizeof(err)), STORE_NOT_FOUND);
	assert_int_equal(st.ops->get(st.ctx, a.id, &got, err, sizeof(err)), 0);
	assert_int_equal(got.state, INSTANCE_RELEASING);
	assert_int_equal(got.expires_at, 4242);
}

#endif
