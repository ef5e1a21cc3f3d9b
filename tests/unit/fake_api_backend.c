/* The fake api backend (see fake_api_backend.h). */
#include "fake_api_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "id.h"
#include "mstime.h"
#include "xmalloc.h"

long long fake_api_clock = 1800000000; /* 2027-01-15T08:00:00Z */

long long
fake_api_now(void)
{
	return __atomic_load_n(&fake_api_clock, __ATOMIC_SEQ_CST);
}

struct instance *
fake_api_find(struct fake_api *f, const char *id)
{
	for (int i = 0; i < f->ninst; i++)
		if (strcmp(f->inst[i].id, id) == 0)
			return &f->inst[i];
	return NULL;
}

static const struct api_pool_info *
find_pool(const struct fake_api *f, const char *name)
{
	for (int i = 0; i < f->npools; i++)
		if (strcmp(f->pools[i].tmpl.name, name) == 0)
			return &f->pools[i];
	return NULL;
}

static void
recount(struct fake_api *f)
{
	for (int p = 0; p < f->npools; p++) {
		struct pool_stats *s = &f->pools[p].stats;

		s->ready = s->claimed = s->provisioning = s->releasing = 0;
		for (int i = 0; i < f->ninst; i++) {
			if (strcmp(f->inst[i].template_name, f->pools[p].tmpl.name) != 0)
				continue;
			switch (f->inst[i].state) {
			case INSTANCE_READY:
				s->ready++;
				break;
			case INSTANCE_CLAIMED:
				s->claimed++;
				break;
			case INSTANCE_PROVISIONING:
				s->provisioning++;
				break;
			case INSTANCE_RELEASING:
				s->releasing++;
				break;
			}
		}
	}
}

static int
fake_pools(void *ctx, struct api_pool_info *out, int max)
{
	struct fake_api *f = ctx;
	int n;

	pthread_mutex_lock(&f->mu);
	recount(f);
	n = f->npools < max ? f->npools : max;
	memcpy(out, f->pools, (size_t)n * sizeof(*out));
	pthread_mutex_unlock(&f->mu);
	return n;
}

static void
make_token(char *out, size_t outlen)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[43];
	size_t i;

	id_random_bytes(raw, sizeof(raw));
	for (i = 0; i < sizeof(raw) && i + 1 < outlen; i++)
		out[i] = b64[raw[i] & 63];
	out[i] = '\0';
}

static enum claim_result
fake_claim(void *ctx, const char *tmpl, const char *ip, int max_owned, struct instance *out,
	   int *retry_ms, char *err, size_t errlen)
{
	struct fake_api *f = ctx;
	struct api_pool_info *p = NULL;
	enum claim_result rc = CLAIM_PROVISIONING;
	int claimed = 0, owned = 0;

	pthread_mutex_lock(&f->mu);
	f->claims++;
	f->last_claim_max_owned = max_owned;
	snprintf(f->last_claim_ip, sizeof(f->last_claim_ip), "%s", ip);
	snprintf(f->last_claim_template, sizeof(f->last_claim_template), "%s", tmpl);
	for (int i = 0; i < f->ninst; i++)
		if (f->inst[i].state == INSTANCE_CLAIMED && strcmp(f->inst[i].owner_ip, ip) == 0)
			owned++;
	if (max_owned > 0 && owned >= max_owned) {
		snprintf(err, errlen, "fake: %s owns %d demos", ip, owned);
		rc = CLAIM_CLIENT_LIMIT;
		goto out;
	}
	for (int i = 0; i < f->npools; i++)
		if (strcmp(f->pools[i].tmpl.name, tmpl) == 0)
			p = &f->pools[i];
	if (p == NULL) {
		snprintf(err, errlen, "fake: no pool %s", tmpl);
		rc = CLAIM_ERROR;
		goto out;
	}
	if (f->force >= 0) {
		rc = (enum claim_result)f->force;
		if (rc == CLAIM_ERROR)
			snprintf(err, errlen, "fake: podman at /secret/socket refused");
		if (rc == CLAIM_PROVISIONING)
			*retry_ms = f->retry_ms;
		goto count;
	}
	for (int i = 0; i < f->ninst; i++) {
		struct instance *in = &f->inst[i];

		if (strcmp(in->template_name, tmpl) != 0)
			continue;
		if (in->state == INSTANCE_CLAIMED)
			claimed++;
		if (in->state == INSTANCE_READY && rc != CLAIM_OK) {
			in->state = INSTANCE_CLAIMED;
			make_token(in->owner_token, sizeof(in->owner_token));
			snprintf(in->owner_ip, sizeof(in->owner_ip), "%s", ip);
			in->claimed_at = fake_api_now();
			in->expires_at = in->claimed_at + p->tmpl.ttl_s;
			*out = *in;
			rc = CLAIM_OK;
		}
	}
	if (rc != CLAIM_OK) {
		if (claimed >= p->tmpl.max_instances) {
			rc = CLAIM_AT_CAPACITY;
		} else {
			rc = CLAIM_PROVISIONING;
			*retry_ms = f->retry_ms;
		}
	}
count:
	if (rc == CLAIM_OK)
		p->stats.claims++;
	else if (rc == CLAIM_PROVISIONING)
		p->stats.claim_fail_provisioning++;
	else if (rc == CLAIM_AT_CAPACITY)
		p->stats.claim_fail_capacity++;
	else
		p->stats.claim_fail_error++;
out:
	pthread_mutex_unlock(&f->mu);
	return rc;
}

static int
fake_get(void *ctx, const char *id, struct instance *out, char *err, size_t errlen)
{
	struct fake_api *f = ctx;
	struct instance *in;
	int rc = 0;

	pthread_mutex_lock(&f->mu);
	if (f->store_down) {
		snprintf(err, errlen, "fake: store down");
		rc = -1;
	} else if ((in = fake_api_find(f, id)) == NULL) {
		rc = STORE_NOT_FOUND;
	} else {
		*out = *in;
	}
	pthread_mutex_unlock(&f->mu);
	return rc;
}

static int
fake_extend(void *ctx, const char *id, int minutes, struct instance *out, char *err, size_t errlen)
{
	struct fake_api *f = ctx;
	struct instance *in;
	const struct api_pool_info *p;
	long long limit, want;
	int rc = -1;

	pthread_mutex_lock(&f->mu);
	f->extends++;
	if (f->store_down || (in = fake_api_find(f, id)) == NULL || in->state != INSTANCE_CLAIMED) {
		snprintf(err, errlen, "fake: demo %s is not active", id);
		goto out;
	}
	p = find_pool(f, in->template_name);
	if (p != NULL && in->extends >= p->tmpl.max_extends) {
		snprintf(err, errlen, "fake: demo %s extended %d times", id, in->extends);
		rc = EXTEND_LIMIT_REACHED;
		goto out;
	}
	in->extends++;
	limit = in->claimed_at + (p != NULL ? p->tmpl.max_ttl_s : 7200);
	want = (in->expires_at > fake_api_now() ? in->expires_at : fake_api_now()) +
	       (long long)minutes * 60;
	in->expires_at = want < limit ? want : limit;
	*out = *in;
	rc = 0;
out:
	pthread_mutex_unlock(&f->mu);
	return rc;
}

static int
fake_release(void *ctx, const char *id, char *err, size_t errlen)
{
	struct fake_api *f = ctx;
	struct instance *in;
	int rc = 0;

	if (f->release_delay_ms > 0)
		mstime_sleep(f->release_delay_ms);
	pthread_mutex_lock(&f->mu);
	f->releases++;
	if (f->store_down) {
		snprintf(err, errlen, "fake: store down");
		rc = -1;
	} else if ((in = fake_api_find(f, id)) != NULL) {
		for (int p = 0; p < f->npools; p++)
			if (strcmp(f->pools[p].tmpl.name, in->template_name) == 0)
				f->pools[p].stats.releases++;
		*in = f->inst[--f->ninst];
	}
	pthread_mutex_unlock(&f->mu);
	return rc;
}

static int
fake_list(void *ctx, struct instance **out, int *n, char *err, size_t errlen)
{
	struct fake_api *f = ctx;
	int rc = 0;

	pthread_mutex_lock(&f->mu);
	if (f->store_down) {
		snprintf(err, errlen, "fake: store down");
		rc = -1;
	} else {
		*out = xcalloc((size_t)f->ninst + 1, sizeof(**out));
		memcpy(*out, f->inst, (size_t)f->ninst * sizeof(**out));
		*n = f->ninst;
	}
	pthread_mutex_unlock(&f->mu);
	return rc;
}

static int
fake_health(void *ctx, struct api_health *out, int max)
{
	struct fake_api *f = ctx;

	if (max < 2)
		return 0;
	snprintf(out[0].name, sizeof(out[0].name), "store");
	out[0].ok = !f->store_down;
	snprintf(out[0].detail, sizeof(out[0].detail), "%s", f->store_down ? "fake: down" : "");
	snprintf(out[1].name, sizeof(out[1].name), "podman");
	out[1].ok = !f->podman_down;
	snprintf(out[1].detail, sizeof(out[1].detail), "%s",
		 f->podman_down ? "fake: podman socket refused" : "");
	return 2;
}

static const struct api_backend_ops fake_ops = {
    .pools = fake_pools,
    .claim = fake_claim,
    .get = fake_get,
    .extend = fake_extend,
    .release = fake_release,
    .list = fake_list,
    .health = fake_health,
};

struct api_pool_info *
fake_api_add_pool(struct fake_api *f, const char *name)
{
	struct api_pool_info *p = &f->pools[f->npools++];

	memset(p, 0, sizeof(*p));
	snprintf(p->tmpl.name, sizeof(p->tmpl.name), "%s", name);
	snprintf(p->tmpl.admin_path, sizeof(p->tmpl.admin_path), "/admin-dev/");
	snprintf(p->tmpl.admin_user, sizeof(p->tmpl.admin_user), "demo@example.com");
	snprintf(p->tmpl.admin_password, sizeof(p->tmpl.admin_password), "demo-pass-123");
	p->tmpl.min_ready = 2;
	p->tmpl.max_instances = 3;
	p->tmpl.ttl_s = 1800;
	p->tmpl.max_ttl_s = 7200;
	p->tmpl.max_extends = 6;
	return p;
}

struct instance *
fake_api_add(struct fake_api *f, const char *tmpl, enum instance_state st)
{
	struct instance *in = &f->inst[f->ninst++];
	char id[ID_SIZE];

	memset(in, 0, sizeof(*in));
	id_generate(id);
	snprintf(in->id, sizeof(in->id), "%s", id);
	snprintf(in->template_name, sizeof(in->template_name), "%s", tmpl);
	snprintf(in->container, sizeof(in->container), "demux-%s", id);
	snprintf(in->method, sizeof(in->method), "criu_restore");
	snprintf(in->node, sizeof(in->node), "node1");
	in->state = st;
	in->app_port = 20000 + f->ninst * 2;
	in->created_at = fake_api_now() - 60;
	in->ready_at = fake_api_now() - 59;
	in->provision_ms = 850.5;
	return in;
}

void
fake_api_init(struct fake_api *f, struct api *a)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->mu, NULL);
	f->force = -1;
	f->retry_ms = 1500;
	fake_api_add_pool(f, "shop");
	memset(a, 0, sizeof(*a));
	a->backend.ops = &fake_ops;
	a->backend.ctx = f;
	a->base_domain = "demo.test";
	a->public_scheme = "http";
	a->public_port = 8088;
	a->admin_token = FAKE_ADMIN_TOKEN;
	a->max_active_per_client = 3;
	a->now = fake_api_now;
}
