/* SPDX-License-Identifier: BSD-3-Clause */
/* The top level of a policy, its tenants, classes and nodes, and the loaders. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cp_config.h"
#include "cp_policy_priv.h"

static const char *const policy_keys[] = {
	"version", "node_timeout_ms", "tenants", "classes", "nodes", "jobs", "models", NULL,
};
static const char *const tenant_keys[] = { "id", "slot_memory", "rate_pps", "burst", NULL };
static const char *const class_keys[] = {
	"id", "kind", "priority", "weight", "rate_bps", "queue_len", NULL,
};
static const char *const node_keys[] = { "id", "ip", "roles", "mac", NULL };

#define RATE_PPS_MAX UINT64_C(1000000000000)       /* 10^12 packets/s */
#define RATE_BPS_MAX UINT64_C(100000000000000)     /* 100 Tbit/s */
#define BURST_MAX (UINT64_C(1) << 30)
#define TENANT_SLOT_MEMORY_MAX (UINT64_C(1) << 40)

static const struct cp_class default_classes[] = {
	{ "control", CP_CLASS_CONTROL, 0, 1, 0, 1024 },
	{ "inference", CP_CLASS_INFERENCE, 1, 1, 0, 1024 },
	{ "training", CP_CLASS_TRAINING, 2, 1, 0, 1024 },
};

static void *
pol_calloc(struct pol_build *b, size_t n, size_t size)
{
	void *v = calloc(n != 0 ? n : 1, size);

	if (v == NULL)
		b->err = -ENOMEM;
	return v;
}

/* Walk the elements of root's array key: push each index, call fn on each
 * element that is an object. Returns the array, or NULL if absent or bad. */
static json_t *
section_foreach(struct pol_build *b, const json_t *root, const char *key, size_t min,
		size_t max, void (*fn)(struct pol_build *, const json_t *, size_t))
{
	json_t *arr = NULL, *v;
	size_t i, mark;

	if (cp_json_get_array(&b->c, root, key, false, min, max, &arr) != CP_JSON_OK)
		return NULL;
	mark = cp_json_push_key(&b->c, key);
	json_array_foreach(arr, i, v) {
		size_t m = cp_json_push_index(&b->c, i);

		if (cp_json_want_object(&b->c, v))
			fn(b, v, i);
		cp_json_pop(&b->c, m);
	}
	cp_json_pop(&b->c, mark);
	return arr;
}

static void
tenant_read(struct pol_build *b, const json_t *obj, size_t i)
{
	struct cp_json_ctx *c = &b->c;
	struct cp_tenant *t = &b->p->tenants[i];
	int burst_rc;

	cp_json_keys_check(c, obj, tenant_keys);
	cp_json_get_id(c, obj, "id", true, t->id, sizeof(t->id));
	cp_json_get_size(c, obj, "slot_memory", false, 0, TENANT_SLOT_MEMORY_MAX, &t->slot_memory);
	cp_json_get_uint(c, obj, "rate_pps", false, 0, RATE_PPS_MAX, &t->rate_pps);
	burst_rc = cp_json_get_uint(c, obj, "burst", false, 1, BURST_MAX, &t->burst);
	if (burst_rc == CP_JSON_OK && t->rate_pps == 0) {
		size_t m = cp_json_push_key(c, "burst");

		cp_json_error(c, "burst needs a \"rate_pps\" (without one the tenant is not limited)");
		cp_json_pop(c, m);
	}
	/* Ten milliseconds of traffic absorbs scheduling jitter on the sender
	 * without letting a tenant burst far above its rate. */
	if (burst_rc == CP_JSON_ABSENT && t->rate_pps > 0)
		t->burst = t->rate_pps / 100 > 64 ? t->rate_pps / 100 : 64;
	if (t->rate_pps == 0)
		t->burst = 0;
}

static void
tenants_read(struct pol_build *b, const json_t *root)
{
	json_t *arr = json_object_get(root, "tenants");
	size_t n = json_is_array(arr) ? json_array_size(arr) : 0;

	b->tenants_implicit = arr == NULL;
	b->p->tenants = pol_calloc(b, b->tenants_implicit ? 1 : n, sizeof(*b->p->tenants));
	if (b->p->tenants == NULL)
		return;
	if (b->tenants_implicit) {
		snprintf(b->p->tenants[0].id, CP_ID_MAX, "default");
		b->p->n_tenants = 1;
	} else if (section_foreach(b, root, "tenants", 1, CP_TENANTS_MAX, tenant_read) != NULL) {
		b->p->n_tenants = (uint32_t)n;
	}
	pol_names_build(b, &b->tenants, b->p->tenants, sizeof(struct cp_tenant),
			b->p->n_tenants, "tenants", "tenant");
}

static int
kind_parse(const char *s, enum cp_class_kind *out)
{
	for (enum cp_class_kind k = CP_CLASS_CONTROL; k <= CP_CLASS_TRAINING; k++) {
		if (strcmp(s, pol_kind_name(k)) == 0) {
			*out = k;
			return 0;
		}
	}
	return -EINVAL;
}

static void
class_read(struct pol_build *b, const json_t *obj, size_t i)
{
	struct cp_json_ctx *c = &b->c;
	struct cp_class *k = &b->p->classes[i];
	uint64_t prio, weight = 1, queue_len = 1024;
	const char *kind = NULL;

	cp_json_keys_check(c, obj, class_keys);
	cp_json_get_id(c, obj, "id", true, k->id, sizeof(k->id));
	if (cp_json_get_string(c, obj, "kind", true, 32, &kind) != CP_JSON_OK) {
		b->class_kind_bad |= 1u << i;
	} else if (kind_parse(kind, &k->kind) != 0) {
		size_t m = cp_json_push_key(c, "kind");

		cp_json_error(c, "unknown kind \"%s\" (use control, inference or training)", kind);
		cp_json_pop(c, m);
		b->class_kind_bad |= 1u << i;
	}
	prio = default_classes[k->kind].priority;
	cp_json_get_uint(c, obj, "priority", false, 0, CP_PRIORITY_MAX, &prio);
	k->priority = (uint8_t)prio;
	cp_json_get_uint(c, obj, "weight", false, 1, 65535, &weight);
	k->weight = (uint32_t)weight;
	cp_json_get_uint(c, obj, "rate_bps", false, 0, RATE_BPS_MAX, &k->rate_bps);
	cp_json_get_uint(c, obj, "queue_len", false, 1, 65536, &queue_len);
	k->queue_len = (uint32_t)queue_len;
}

static void
classes_read(struct pol_build *b, const json_t *root)
{
	json_t *arr = json_object_get(root, "classes");
	size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
	size_t n_default = sizeof(default_classes) / sizeof(default_classes[0]);

	b->p->classes = pol_calloc(b, arr == NULL ? n_default : n, sizeof(*b->p->classes));
	if (b->p->classes == NULL)
		return;
	if (arr == NULL) {
		memcpy(b->p->classes, default_classes, sizeof(default_classes));
		b->p->n_classes = (uint32_t)n_default;
	} else if (section_foreach(b, root, "classes", 1, CP_CLASSES_MAX, class_read) != NULL) {
		b->p->n_classes = (uint32_t)n;
	}
	pol_names_build(b, &b->classes, b->p->classes, sizeof(struct cp_class),
			b->p->n_classes, "classes", "class");
}

static void
roles_read(struct pol_build *b, const json_t *obj, struct cp_node *nd)
{
	struct cp_json_ctx *c = &b->c;
	json_t *arr = NULL, *v;
	size_t i, mark;

	if (cp_json_get_array(c, obj, "roles", true, 1, SIZE_MAX, &arr) != CP_JSON_OK)
		return;
	mark = cp_json_push_key(c, "roles");
	json_array_foreach(arr, i, v) {
		size_t m = cp_json_push_index(c, i);
		uint32_t role = 0;
		char d[64];

		for (uint32_t r = CP_ROLE_WORKER; r <= CP_ROLE_GATEWAY && json_is_string(v); r <<= 1)
			if (strcmp(json_string_value(v), pol_role_name(r)) == 0)
				role = r;
		if (role == 0)
			cp_json_error(c, "expected a role (\"worker\", \"stage\", \"requester\" or "
				      "\"gateway\"), got %s", cp_json_describe(v, d, sizeof(d)));
		else if (nd->roles & role)
			cp_json_error(c, "role \"%s\" is listed twice", pol_role_name(role));
		nd->roles |= role;
		cp_json_pop(c, m);
	}
	cp_json_pop(c, mark);
}

static void
node_read(struct pol_build *b, const json_t *obj, size_t i)
{
	struct cp_json_ctx *c = &b->c;
	struct cp_node *nd = &b->p->nodes[i];
	char a[16];

	cp_json_keys_check(c, obj, node_keys);
	cp_json_get_id(c, obj, "id", true, nd->id, sizeof(nd->id));
	if (cp_json_get_ipv4(c, obj, "ip", true, &nd->ip) == CP_JSON_OK) {
		size_t m = cp_json_push_key(c, "ip");

		if (!cp_config_ip_unicast(nd->ip))
			cp_json_error(c, "%s is not a unicast address",
				      cp_json_ipv4_format(nd->ip, a, sizeof(a)));
		for (unsigned k = 0; k < b->lim->n_gw_ips; k++)
			if (nd->ip == b->lim->gw_ips[k])
				cp_json_error(c, "%s is the gateway's own address",
					      cp_json_ipv4_format(nd->ip, a, sizeof(a)));
		cp_json_pop(c, m);
	}
	nd->has_mac = cp_json_get_mac(c, obj, "mac", false, nd->mac) == CP_JSON_OK;
	roles_read(b, obj, nd);
}

static void
node_ip_dup(struct pol_build *b, const struct pol_addr *later, const struct pol_addr *first)
{
	char path[32];

	snprintf(path, sizeof(path), "/nodes/%u/ip", later->a);
	cp_json_error_at(&b->c, path, CP_JSON_AT_VALUE, "same ip as node \"%s\" (/nodes/%u)",
			 b->p->nodes[first->a].id, first->a);
}

static void
nodes_read(struct pol_build *b, const json_t *root)
{
	json_t *arr = json_object_get(root, "nodes");
	size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
	struct pol_addr *addrs;
	size_t n_addrs = 0;

	b->p->nodes = pol_calloc(b, n, sizeof(*b->p->nodes));
	if (b->p->nodes == NULL)
		return;
	if (section_foreach(b, root, "nodes", 0, CP_NODES_MAX, node_read) != NULL)
		b->p->n_nodes = (uint32_t)n;
	pol_names_build(b, &b->nodes, b->p->nodes, sizeof(struct cp_node),
			b->p->n_nodes, "nodes", "node");
	addrs = pol_calloc(b, b->p->n_nodes, sizeof(*addrs));
	if (addrs == NULL)
		return;
	for (uint32_t i = 0; i < b->p->n_nodes; i++)
		if (b->p->nodes[i].ip != 0)
			addrs[n_addrs++] = (struct pol_addr){ (uint64_t)b->p->nodes[i].ip << 16, i, 0 };
	pol_addrs_dups(addrs, n_addrs, node_ip_dup, b);
	free(addrs);
}

static void
policy_read(struct pol_build *b, const json_t *root)
{
	struct cp_json_ctx *c = &b->c;
	uint64_t timeout = 3000;

	cp_json_keys_check(c, root, policy_keys);
	cp_json_get_uint(c, root, "version", true, 0, UINT32_MAX, &b->p->version);
	cp_json_get_uint(c, root, "node_timeout_ms", false, 10, 3600000, &timeout);
	b->p->node_timeout_ms = (uint32_t)timeout;
	tenants_read(b, root);
	classes_read(b, root);
	nodes_read(b, root);
	if (b->err != 0)
		return;
	pol_jobs_read(b, root);
	pol_models_read(b, root);
	if (b->err != 0)
		return;
	pol_jobs_check(b);
	pol_models_check(b);
}

static int
job_id_cmp(const void *a, const void *b)
{
	const struct cp_job *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

static int
model_id_cmp(const void *a, const void *b)
{
	const struct cp_model *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

int
cp_policy_parse(const char *text, size_t len, const char *name,
		const struct cp_limits *lim, struct cp_policy **out,
		struct cp_diags *diags)
{
	return cp_policy_parse_cached(text, len, name, lim, NULL, out, diags);
}

int
cp_policy_parse_cached(const char *text, size_t len, const char *name,
		       const struct cp_limits *lim, struct cp_json_cache *cache,
		       struct cp_policy **out, struct cp_diags *diags)
{
	static const struct cp_limits no_limits;
	struct pol_build b = { .lim = lim != NULL ? lim : &no_limits };
	unsigned first = diags->n;
	json_t *root;
	int rc;

	*out = NULL;
	b.p = calloc(1, sizeof(*b.p));
	if (b.p == NULL)
		return -ENOMEM;
	cp_json_ctx_init(&b.c, name, text, len, diags);
	b.c.cache = cache;
	root = cp_json_ctx_parse(&b.c);
	if (root != NULL) {
		policy_read(&b, root);
		json_decref(root);
	}
	cp_json_ctx_fini(&b.c);
	pol_names_free(&b.tenants);
	pol_names_free(&b.classes);
	pol_names_free(&b.nodes);
	free(b.job_mem_ok);
	rc = b.err != 0 ? b.err : b.c.err;
	if (rc == 0 && cp_diags_sort(diags, first) != 0)
		rc = -ENOMEM;
	if (rc == 0 && b.c.n_errors > 0)
		rc = -EINVAL;
	if (rc != 0) {
		cp_policy_free(b.p);
		return rc;
	}
	if (b.p->n_jobs > 0)
		qsort(b.p->jobs, b.p->n_jobs, sizeof(*b.p->jobs), job_id_cmp);
	if (b.p->n_models > 0)
		qsort(b.p->models, b.p->n_models, sizeof(*b.p->models), model_id_cmp);
	*out = b.p;
	return 0;
}

int
cp_policy_load(const char *path, const struct cp_limits *lim,
	       struct cp_policy **out, struct cp_diags *diags)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = cp_json_file_read(path, &text, &len);
	if (rc != 0) {
		if (cp_diags_add(diags, path, 0, 0, "", "cannot read: %s", strerror(-rc)) != 0)
			return -ENOMEM;
		return rc;
	}
	rc = cp_policy_parse(text, len, path, lim, out, diags);
	free(text);
	return rc;
}

void
cp_policy_free(struct cp_policy *p)
{
	if (p == NULL)
		return;
	for (uint32_t i = 0; p->jobs != NULL && i < p->n_jobs; i++)
		free(p->jobs[i].workers);
	for (uint32_t i = 0; p->models != NULL && i < p->n_models; i++) {
		struct cp_model *m = &p->models[i];

		for (uint16_t s = 0; m->stages != NULL && s < m->n_stages; s++)
			free(m->stages[s].replicas);
		free(m->stages);
		free(m->requesters);
	}
	free(p->tenants);
	free(p->classes);
	free(p->nodes);
	free(p->jobs);
	free(p->models);
	free(p);
}
