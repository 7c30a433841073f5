/* SPDX-License-Identifier: BSD-3-Clause */
/* cp_policy: parsed values, defaults, lookups, the slot formula and
 * cp_job_same (suite cp_policy). Validation cases are in test_cp_cases.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_config.h"
#include "cp_policy.h"
#include "cp_test.h"
#include "dp_auth.h"
#include "dp_proto.h"

#include <sys/stat.h>
#include <unistd.h>

static const char *configs_dir;

static struct cp_policy *
parse(const char *text, const struct cp_limits *lim, struct cp_diags *d, int *rc)
{
	struct cp_policy *p = (struct cp_policy *)1;

	*rc = cp_policy_parse(text, strlen(text), "mem.json", lim, &p, d);
	if (d->n > 0 && *rc == 0)
		cp_diags_print(d, stderr);
	return p;
}

/* A policy with n jobs of w workers each on w nodes, as text. */
static char *
policy_text(unsigned n_jobs, unsigned n_workers)
{
	size_t cap = 256 + (size_t)n_workers * 96 + (size_t)n_jobs * (160 + n_workers * 40);
	char *t = malloc(cap);
	size_t k = 0;

	if (t == NULL)
		return NULL;
	k += (size_t)snprintf(t + k, cap - k, "{\"version\": 9, \"nodes\": [");
	for (unsigned i = 0; i < n_workers; i++)
		k += (size_t)snprintf(t + k, cap - k, "%s{\"id\":\"n%u\",\"ip\":\"10.%u.%u.%u\","
				      "\"roles\":[\"worker\"]}", i ? "," : "", i, 1 + i / 65536,
				      (i / 256) % 256, i % 256);
	k += (size_t)snprintf(t + k, cap - k, "], \"jobs\": [");
	for (unsigned j = 0; j < n_jobs; j++) {
		/* Listed in descending id order: the loader must sort. */
		k += (size_t)snprintf(t + k, cap - k, "%s{\"id\":%u,\"slot_memory\":\"4KiB\","
				      "\"workers\":[", j ? "," : "", n_jobs - j);
		for (unsigned i = 0; i < n_workers; i++)
			k += (size_t)snprintf(t + k, cap - k, "%s{\"node\":\"n%u\",\"port\":%u}",
					      i ? "," : "", i, 1000 + j);
		k += (size_t)snprintf(t + k, cap - k, "]}");
	}
	snprintf(t + k, cap - k, "]}");
	return t;
}

static void
test_invalid_policy_returns_einval_and_no_object(void)
{
	struct cp_diags d = { 0 };
	struct cp_policy *p;
	int rc;

	p = parse("{\"version\": 1, \"jobs\": 3}", NULL, &d, &rc);
	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_EQUAL(d.n, 1);
	CU_ASSERT_STRING_EQUAL(d.v[0].file, "mem.json");
	CU_ASSERT_STRING_EQUAL(d.v[0].path, "/jobs");
	CU_ASSERT_EQUAL(d.v[0].line, 1);
	CU_ASSERT_EQUAL(d.v[0].col, 24);
	cp_diags_free(&d);

	p = parse("", NULL, &d, &rc);
	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_EQUAL(d.n, 1);
	cp_diags_free(&d);

	CU_ASSERT_EQUAL(cp_policy_load("/nonexistent/p.json", NULL, &p, &d), -ENOENT);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_EQUAL(d.n, 1);
	CU_ASSERT_STRING_EQUAL(d.v[0].msg, "cannot read: No such file or directory");
	cp_diags_free(&d);
	cp_policy_free(NULL);
}

static void
test_worker_count_is_bounded_by_the_protocol(void)
{
	struct cp_diags d = { 0 };
	struct cp_policy *p;
	char *t;
	int rc;

	t = policy_text(1, DP_PROTO_WORKERS_MAX + 1);
	CU_ASSERT_FATAL(t != NULL);
	p = parse(t, NULL, &d, &rc);
	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_EQUAL(d.n, 1);
	CU_ASSERT_STRING_EQUAL(d.v[0].path, "/jobs/0/workers");
	CU_ASSERT_STRING_EQUAL(d.v[0].msg, "must have 1 to 1024 elements (has 1025)");
	free(t);
	cp_diags_free(&d);

	t = policy_text(1, DP_PROTO_WORKERS_MAX);
	CU_ASSERT_FATAL(t != NULL);
	p = parse(t, NULL, &d, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(p->jobs[0].n_workers, 1024);
	CU_ASSERT_EQUAL(p->jobs[0].workers[1023].ip, 0x0a0103ffu);
	CU_ASSERT_EQUAL(p->jobs[0].workers[1023].node, 1023);
	CU_ASSERT_EQUAL(d.n, 0);
	cp_policy_free(p);
	free(t);
}

static void
test_omitted_sections_get_the_documented_defaults(void)
{
	struct cp_diags d = { 0 };
	struct cp_policy *p;
	int rc;

	p = parse("{\"version\": 0}", NULL, &d, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(p->version, 0);
	CU_ASSERT_EQUAL(p->node_timeout_ms, 3000);
	CU_ASSERT_EQUAL(p->n_tenants, 1);
	CU_ASSERT_STRING_EQUAL(p->tenants[0].id, "default");
	CU_ASSERT_EQUAL(p->tenants[0].slot_memory, 0);
	CU_ASSERT_EQUAL(p->tenants[0].rate_pps, 0);
	CU_ASSERT_EQUAL(p->n_classes, 3);
	CU_ASSERT_STRING_EQUAL(p->classes[0].id, "control");
	CU_ASSERT_EQUAL(p->classes[0].kind, CP_CLASS_CONTROL);
	CU_ASSERT_EQUAL(p->classes[0].priority, 0);
	CU_ASSERT_STRING_EQUAL(p->classes[1].id, "inference");
	CU_ASSERT_EQUAL(p->classes[1].kind, CP_CLASS_INFERENCE);
	CU_ASSERT_EQUAL(p->classes[1].priority, 1);
	CU_ASSERT_STRING_EQUAL(p->classes[2].id, "training");
	CU_ASSERT_EQUAL(p->classes[2].kind, CP_CLASS_TRAINING);
	CU_ASSERT_EQUAL(p->classes[2].priority, 2);
	for (unsigned i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(p->classes[i].weight, 1);
		CU_ASSERT_EQUAL(p->classes[i].rate_bps, 0);
		CU_ASSERT_EQUAL(p->classes[i].queue_len, 1024);
	}
	CU_ASSERT_EQUAL(p->n_nodes, 0);
	CU_ASSERT_EQUAL(p->n_jobs, 0);
	CU_ASSERT_EQUAL(p->n_models, 0);
	CU_ASSERT_PTR_NULL(cp_policy_job_find(p, 1));
	CU_ASSERT_PTR_NULL(cp_policy_model_find(p, 1));
	cp_policy_free(p);
}

static void
test_job_and_tenant_defaults(void)
{
	struct cp_diags d = { 0 };
	struct cp_policy *p;
	const struct cp_job *j;
	int rc;

	p = parse("{\"version\": 1,"
		  " \"tenants\": [{\"id\": \"a\", \"rate_pps\": 1000}, {\"id\": \"default\"},"
		  "  {\"id\": \"b\", \"rate_pps\": 100000}, {\"id\": \"c\", \"rate_pps\": 5, \"burst\": 3}],"
		  " \"classes\": [{\"id\": \"ctl\", \"kind\": \"control\"},"
		  "  {\"id\": \"bulk\", \"kind\": \"training\", \"priority\": 5},"
		  "  {\"id\": \"fast\", \"kind\": \"training\"}],"
		  " \"nodes\": [{\"id\": \"w\", \"ip\": \"10.0.0.1\", \"roles\": [\"worker\"]}],"
		  " \"jobs\": [{\"id\": 3, \"slot_memory\": \"2KiB\", \"workers\": [{\"node\": \"w\", \"port\": 9}]},"
		  "  {\"id\": 4, \"dtype\": \"int32\", \"slot_memory\": \"2KiB\","
		  "   \"workers\": [{\"node\": \"w\", \"port\": 9}]}]}",
		  NULL, &d, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(p->tenants[0].burst, 64);      /* at least 64 */
	CU_ASSERT_EQUAL(p->tenants[1].burst, 0);       /* unlimited */
	CU_ASSERT_EQUAL(p->tenants[2].burst, 1000);    /* 10 ms of its rate */
	CU_ASSERT_EQUAL(p->tenants[3].burst, 3);
	CU_ASSERT_EQUAL(p->classes[1].priority, 5);
	CU_ASSERT_EQUAL(p->classes[2].priority, 2);    /* the kind's */
	j = cp_policy_job_find(p, 3);
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT_EQUAL(j->tenant, 1);                 /* "default" */
	CU_ASSERT_EQUAL(j->class_idx, 1);              /* first training class */
	CU_ASSERT_EQUAL(j->weight, 1);
	CU_ASSERT_EQUAL(j->dtype, DP_DTYPE_F32);
	CU_ASSERT_EQUAL(j->chunk_size, 1024);
	CU_ASSERT_EQUAL(j->frac_bits, 0);
	CU_ASSERT_EQUAL(j->slot_memory, 2048);
	CU_ASSERT_EQUAL(j->n_workers, 1);
	CU_ASSERT_EQUAL(j->workers[0].node, 0);
	CU_ASSERT_EQUAL(j->workers[0].ip, 0x0a000001u);
	CU_ASSERT_EQUAL(j->workers[0].port, 9);
	j = cp_policy_job_find(p, 4);
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT_EQUAL(j->dtype, DP_DTYPE_I32);
	CU_ASSERT_EQUAL(j->frac_bits, 16);
	cp_policy_free(p);
}

static void
test_every_field_of_a_full_policy_is_read(void)
{
	struct cp_diags d = { 0 };
	struct cp_policy *p;
	const struct cp_model *m;
	const struct cp_job *j;
	int rc;

	p = parse("{\"version\": 4294967295, \"node_timeout_ms\": 250,"
		  " \"tenants\": [{\"id\": \"t\", \"slot_memory\": \"1MiB\", \"rate_pps\": 7, \"burst\": 2}],"
		  " \"classes\": [{\"id\": \"i\", \"kind\": \"inference\", \"priority\": 3, \"weight\": 4,"
		  "   \"rate_bps\": 5, \"queue_len\": 6},"
		  "  {\"id\": \"tr\", \"kind\": \"training\"}],"
		  " \"nodes\": [{\"id\": \"a\", \"ip\": \"10.0.0.1\", \"roles\": [\"worker\", \"stage\"]},"
		  "  {\"id\": \"b\", \"ip\": \"10.0.0.2\", \"roles\": [\"requester\", \"worker\"]}],"
		  " \"jobs\": [{\"id\": 700, \"tenant\": \"t\", \"class\": \"tr\", \"weight\": 8,"
		  "   \"dtype\": \"bfloat16\", \"chunk_size\": 8192, \"slot_memory\": \"64KiB\","
		  "   \"workers\": [{\"rank\": 0, \"node\": \"b\", \"port\": 5}, {\"rank\": 1, \"node\": \"a\", \"port\": 6}]}],"
		  " \"models\": [{\"id\": 30, \"tenant\": \"t\", \"class\": \"i\","
		  "   \"stages\": [{\"replicas\": [{\"node\": \"a\", \"port\": 1, \"weight\": 3}]},"
		  "                {\"replicas\": [{\"node\": \"a\", \"port\": 2}, {\"node\": \"a\", \"port\": 3}]}],"
		  "   \"reply_to\": {\"node\": \"b\", \"port\": 77}, \"requesters\": [\"b\"]},"
		  "  {\"id\": 20, \"tenant\": \"t\", \"stages\": [{\"replicas\": [{\"node\": \"a\", \"port\": 4}]}],"
		  "   \"requesters\": [\"b\"]}]}",
		  NULL, &d, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(p->version, 4294967295u);
	CU_ASSERT_EQUAL(p->node_timeout_ms, 250);
	CU_ASSERT_EQUAL(p->tenants[0].slot_memory, 1u << 20);
	CU_ASSERT_EQUAL(p->tenants[0].rate_pps, 7);
	CU_ASSERT_EQUAL(p->tenants[0].burst, 2);
	CU_ASSERT_EQUAL(p->classes[0].kind, CP_CLASS_INFERENCE);
	CU_ASSERT_EQUAL(p->classes[0].priority, 3);
	CU_ASSERT_EQUAL(p->classes[0].weight, 4);
	CU_ASSERT_EQUAL(p->classes[0].rate_bps, 5);
	CU_ASSERT_EQUAL(p->classes[0].queue_len, 6);
	CU_ASSERT_EQUAL(p->nodes[0].roles, CP_ROLE_WORKER | CP_ROLE_STAGE);
	CU_ASSERT_EQUAL(p->nodes[1].roles, CP_ROLE_WORKER | CP_ROLE_REQUESTER);
	j = cp_policy_job_find(p, 700);
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT_EQUAL(j->tenant, 0);
	CU_ASSERT_EQUAL(j->class_idx, 1);
	CU_ASSERT_EQUAL(j->weight, 8);
	CU_ASSERT_EQUAL(j->dtype, DP_DTYPE_BF16);
	CU_ASSERT_EQUAL(j->chunk_size, 8192);
	CU_ASSERT_EQUAL(j->workers[0].ip, 0x0a000002u);
	CU_ASSERT_EQUAL(j->workers[1].node, 0);
	CU_ASSERT_EQUAL(j->workers[1].port, 6);
	CU_ASSERT_EQUAL(p->n_models, 2);
	CU_ASSERT_EQUAL(p->models[0].id, 20);          /* sorted by id */
	CU_ASSERT_TRUE(p->models[0].reply_to_requester);
	CU_ASSERT_EQUAL(p->models[0].class_idx, 0);    /* first inference class */
	m = cp_policy_model_find(p, 30);
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_EQUAL(m->n_stages, 2);
	CU_ASSERT_EQUAL(m->stages[0].n_replicas, 1);
	CU_ASSERT_EQUAL(m->stages[0].replicas[0].weight, 3);
	CU_ASSERT_EQUAL(m->stages[1].n_replicas, 2);
	CU_ASSERT_EQUAL(m->stages[1].replicas[1].port, 3);
	CU_ASSERT_EQUAL(m->stages[1].replicas[1].weight, 1);
	CU_ASSERT_EQUAL(m->stages[1].replicas[1].ip, 0x0a000001u);
	CU_ASSERT_FALSE(m->reply_to_requester);
	CU_ASSERT_EQUAL(m->reply_ip, 0x0a000002u);
	CU_ASSERT_EQUAL(m->reply_port, 77);
	CU_ASSERT_EQUAL(m->n_requesters, 1);
	CU_ASSERT_EQUAL(m->requesters[0], 1);
	CU_ASSERT_PTR_NULL(cp_policy_model_find(p, 25));
	cp_policy_free(p);
}

static void
test_jobs_are_sorted_and_found_among_thousands(void)
{
	struct cp_diags d = { 0 };
	struct cp_policy *p;
	char *t = policy_text(3000, 4);
	int rc;

	CU_ASSERT_FATAL(t != NULL);
	p = parse(t, NULL, &d, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(p->n_jobs, 3000);
	for (uint32_t i = 0; i < p->n_jobs; i++)
		CU_ASSERT_EQUAL(p->jobs[i].id, i + 1);
	for (uint16_t id = 1; id <= 3000; id += 7) {
		const struct cp_job *j = cp_policy_job_find(p, id);

		CU_ASSERT(j != NULL && j->id == id);
		/* /jobs/k held id 3000-k with ports 1000+k. */
		CU_ASSERT(j != NULL && j->workers[3].port == 1000 + 3000 - id);
	}
	CU_ASSERT_PTR_NULL(cp_policy_job_find(p, 0));
	CU_ASSERT_PTR_NULL(cp_policy_job_find(p, 3001));
	cp_policy_free(p);
	free(t);
}

static void
test_slot_formula_two_sets_of_32_bit_accumulators(void)
{
	struct cp_job j = { .dtype = DP_DTYPE_F32, .chunk_size = 1024, .slot_memory = 64u << 10 };

	CU_ASSERT_EQUAL(cp_job_slot_size(&j), 2048);
	CU_ASSERT_EQUAL(cp_job_slots(&j, 0), 32);
	CU_ASSERT_EQUAL(cp_job_slots(&j, 1), 32);
	CU_ASSERT_EQUAL(cp_job_slots(&j, 3), 30);      /* a multiple of the shards */
	j.dtype = DP_DTYPE_I32;
	CU_ASSERT_EQUAL(cp_job_slot_size(&j), 2048);
	j.dtype = DP_DTYPE_BF16;
	CU_ASSERT_EQUAL(cp_job_slot_size(&j), 4096);   /* 512 elements x 4 bytes x 2 */
	CU_ASSERT_EQUAL(cp_job_slots(&j, 2), 16);
	j.dtype = DP_DTYPE_F16;
	j.chunk_size = 64;
	CU_ASSERT_EQUAL(cp_job_slot_size(&j), 256);
	j.slot_memory = UINT64_C(1) << 40;
	CU_ASSERT_EQUAL(cp_job_slots(&j, 1), DP_PROTO_SLOTS_MAX);
	CU_ASSERT_EQUAL(cp_job_slots(&j, 3), DP_PROTO_SLOTS_MAX - DP_PROTO_SLOTS_MAX % 3);
	j.slot_memory = 255;
	CU_ASSERT_EQUAL(cp_job_slots(&j, 1), 0);
	j.dtype = 0;
	CU_ASSERT_EQUAL(cp_job_slot_size(&j), 0);
	CU_ASSERT_EQUAL(cp_job_slots(&j, 1), 0);
}

static void
test_job_same_ignores_scheduling_fields_only(void)
{
	struct cp_worker wa[2] = { { 0, 0x0a000001u, 5 }, { 1, 0x0a000002u, 5 } };
	struct cp_worker wb[2] = { { 7, 0x0a000001u, 5 }, { 3, 0x0a000002u, 5 } };
	struct cp_job a = { .id = 1, .tenant = 0, .class_idx = 2, .weight = 1, .dtype = DP_DTYPE_F32,
			    .chunk_size = 1024, .slot_memory = 4096, .frac_bits = 0,
			    .n_workers = 2, .workers = wa };
	struct cp_job b = a;

	b.workers = wb;
	b.tenant = 3;
	b.class_idx = 1;
	b.weight = 9;
	CU_ASSERT_TRUE(cp_job_same(&a, &b));   /* node indices may move too */
	b.slot_memory = 8192;
	CU_ASSERT_FALSE(cp_job_same(&a, &b));
	b = a;
	b.workers = wb;
	wb[1].port = 6;
	CU_ASSERT_FALSE(cp_job_same(&a, &b));
	wb[1].port = 5;
	wb[0].ip = 0x0a000009u;
	CU_ASSERT_FALSE(cp_job_same(&a, &b));
	wb[0].ip = 0x0a000001u;
	b.n_workers = 1;
	CU_ASSERT_FALSE(cp_job_same(&a, &b));
	b = a;
	b.dtype = DP_DTYPE_F16;
	CU_ASSERT_FALSE(cp_job_same(&a, &b));
	b = a;
	b.chunk_size = 2048;
	CU_ASSERT_FALSE(cp_job_same(&a, &b));
	b = a;
	b.frac_bits = 3;
	CU_ASSERT_FALSE(cp_job_same(&a, &b));
	b = a;
	b.deterministic = true;
	CU_ASSERT_FALSE(cp_job_same(&a, &b));
	b = a;
	b.fedavg = true;
	CU_ASSERT_FALSE(cp_job_same(&a, &b));
	b = a;
	b.id = 2;
	CU_ASSERT_FALSE(cp_job_same(&a, &b));
}

/* A leaf's "parent" is read into up_*, a root lists its children as ranks
 * on gateway nodes, and a changed parent is a changed job. */
static void
test_job_parent_is_read_and_makes_a_changed_job(void)
{
	struct cp_diags d = { 0 };
	struct cp_policy *p;
	const struct cp_job *j;
	struct cp_job b;
	int rc;

	p = parse("{\"version\": 1,"
		  " \"nodes\": [{\"id\": \"w\", \"ip\": \"10.0.0.1\", \"roles\": [\"worker\"]},"
		  "  {\"id\": \"up\", \"ip\": \"10.9.0.1\", \"roles\": [\"gateway\"]},"
		  "  {\"id\": \"kid\", \"ip\": \"10.2.0.1\", \"roles\": [\"stage\", \"gateway\"]}],"
		  " \"jobs\": [{\"id\": 5, \"slot_memory\": \"4KiB\","
		  "   \"parent\": {\"rank\": 3, \"node\": \"up\", \"port\": 47001},"
		  "   \"workers\": [{\"node\": \"w\", \"port\": 9}]},"
		  "  {\"id\": 6, \"slot_memory\": \"4KiB\","
		  "   \"workers\": [{\"node\": \"w\", \"port\": 9}, {\"node\": \"kid\", \"port\": 47000}]}]}",
		  NULL, &d, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(p->nodes[1].roles, CP_ROLE_GATEWAY);
	CU_ASSERT_EQUAL(p->nodes[2].roles, CP_ROLE_STAGE | CP_ROLE_GATEWAY);
	j = cp_policy_job_find(p, 5);
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT_TRUE(j->up);
	CU_ASSERT_EQUAL(j->up_node, 1);
	CU_ASSERT_EQUAL(j->up_ip, 0x0a090001u);
	CU_ASSERT_EQUAL(j->up_port, 47001);
	CU_ASSERT_EQUAL(j->up_rank, 3);
	j = cp_policy_job_find(p, 6);
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT_FALSE(j->up);
	CU_ASSERT_EQUAL(j->workers[1].node, 2);
	CU_ASSERT_EQUAL(j->workers[1].ip, 0x0a020001u);
	CU_ASSERT_EQUAL(j->workers[1].port, 47000);

	j = cp_policy_job_find(p, 5);
	b = *j;
	b.up_node = 7;                          /* node indices may move */
	CU_ASSERT_TRUE(cp_job_same(j, &b));
	b = *j;
	b.up = false;
	CU_ASSERT_FALSE(cp_job_same(j, &b));
	b = *j;
	b.up_ip = 0x0a090002u;
	CU_ASSERT_FALSE(cp_job_same(j, &b));
	b = *j;
	b.up_port = 47000;
	CU_ASSERT_FALSE(cp_job_same(j, &b));
	b = *j;
	b.up_rank = 2;
	CU_ASSERT_FALSE(cp_job_same(j, &b));
	cp_policy_free(p);
}

static void
test_limits_come_from_the_gateway_config(void)
{
	struct cp_gw_config *cfg = calloc(1, sizeof(*cfg));
	struct cp_limits lim;

	CU_ASSERT_FATAL(cfg != NULL);
	cfg->n_ports = 3;
	cfg->ports[0] = (struct cp_port_cfg){ .ip = 1, .mtu = 9000 };
	cfg->ports[1] = (struct cp_port_cfg){ .ip = 2, .mtu = 0 };
	cfg->ports[2] = (struct cp_port_cfg){ .ip = 3, .mtu = 4000 };
	cfg->n_data_lcores = 3;
	cfg->slot_memory = 64u << 20;
	cp_limits_from_config(cfg, &lim);
	CU_ASSERT_EQUAL(lim.slot_memory, 192u << 20);
	CU_ASSERT_EQUAL(lim.n_shards, 3);
	CU_ASSERT_EQUAL(lim.mtu, 1500);
	CU_ASSERT_EQUAL(lim.n_gw_ips, 3);
	CU_ASSERT_EQUAL(lim.gw_ips[2], 3);
	cfg->ports[1].mtu = 9216;
	cp_limits_from_config(cfg, &lim);
	CU_ASSERT_EQUAL(lim.mtu, 4000);
	free(cfg);
}

static void
test_demo_policy_has_one_job_per_element_type(void)
{
	struct cp_diags d = { 0 };
	struct cp_policy *p = NULL;
	char path[4096];
	static const uint8_t want[] = { DP_DTYPE_F32, DP_DTYPE_I32, DP_DTYPE_BF16, DP_DTYPE_F16 };

	/* The demo and the integration tests rely on this layout. */
	snprintf(path, sizeof(path), "%s/policy-demo.json", configs_dir);
	CU_ASSERT_EQUAL_FATAL(cp_policy_load(path, NULL, &p, &d), 0);
	CU_ASSERT_EQUAL(p->n_jobs, 4);
	for (uint16_t id = 1; id <= 4; id++) {
		const struct cp_job *j = cp_policy_job_find(p, id);

		CU_ASSERT_FATAL(j != NULL);
		CU_ASSERT_EQUAL(j->dtype, want[id - 1]);
		CU_ASSERT_EQUAL(j->chunk_size, 1024);
		CU_ASSERT_EQUAL(j->n_workers, 4);
		for (unsigned r = 0; r < 4; r++) {
			CU_ASSERT_EQUAL(j->workers[r].ip, 0x0a4d000bu + r);
			CU_ASSERT_EQUAL(j->workers[r].port, 47100 + id - 1);
		}
	}
	CU_ASSERT_EQUAL(p->n_models, 1);
	cp_policy_free(p);
}

/* A job's key_file is read relative to the policy's folder, refused with
 * the file's name when others may read it; the key and what the tags cover
 * are part of what makes a job "the same". */
static void
test_job_key_file_is_read_and_guarded(void)
{
	char dir[] = "/tmp/cp_keyXXXXXX", key[64], pol[64], text[512];
	struct cp_diags d = { 0 };
	struct cp_policy *p = NULL, *q = NULL;
	FILE *f;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(key, sizeof(key), "%s/job.key", dir);
	snprintf(pol, sizeof(pol), "%s/policy.json", dir);
	f = fopen(key, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs("0123456789abcdef0123456789ABCDEF\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(chmod(key, 0600), 0);
	for (int covers = 0; covers < 2; covers++) {
		snprintf(text, sizeof(text), "{\"version\": 1, \"nodes\": [{\"id\": \"n0\", "
			 "\"ip\": \"10.0.0.1\", \"roles\": [\"worker\"]}], \"jobs\": [{\"id\": 1, "
			 "\"slot_memory\": \"4KiB\", \"key_file\": \"job.key\"%s, \"workers\": "
			 "[{\"node\": \"n0\", \"port\": 1}]}]}",
			 covers ? ", \"auth_covers\": \"header\"" : "");
		f = fopen(pol, "w");
		CU_ASSERT_FATAL(f != NULL);
		fputs(text, f);
		fclose(f);
		CU_ASSERT_EQUAL_FATAL(cp_policy_load(pol, NULL, covers ? &q : &p, &d), 0);
	}
	CU_ASSERT_TRUE(p->jobs[0].keyed);
	CU_ASSERT_EQUAL(p->jobs[0].key[0], 0x01);
	CU_ASSERT_EQUAL(p->jobs[0].key[15], 0xef);
	CU_ASSERT_EQUAL(p->jobs[0].auth_cover, DP_AUTH_COVER_PAYLOAD);
	CU_ASSERT_EQUAL(q->jobs[0].auth_cover, DP_AUTH_COVER_HEADER);
	CU_ASSERT_FALSE(cp_job_same(&p->jobs[0], &q->jobs[0]));
	q->jobs[0].auth_cover = DP_AUTH_COVER_PAYLOAD;
	CU_ASSERT_TRUE(cp_job_same(&p->jobs[0], &q->jobs[0]));
	q->jobs[0].key[3] ^= 1;
	CU_ASSERT_FALSE(cp_job_same(&p->jobs[0], &q->jobs[0]));
	cp_policy_free(q);
	q = NULL;

	CU_ASSERT_EQUAL(chmod(key, 0644), 0);
	CU_ASSERT_EQUAL(cp_policy_load(pol, NULL, &q, &d), -EINVAL);
	CU_ASSERT_PTR_NULL(q);
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	CU_ASSERT_STRING_EQUAL(d.v[0].path, "/jobs/0/key_file");
	CU_ASSERT_PTR_NOT_NULL(strstr(d.v[0].msg, key));
	CU_ASSERT_PTR_NOT_NULL(strstr(d.v[0].msg, "chmod 600"));
	cp_diags_free(&d);
	cp_policy_free(p);
	unlink(key);
	unlink(pol);
	rmdir(dir);
}

static CU_TestInfo tests[] = {
	{ "job_key_file_is_read_and_guarded", test_job_key_file_is_read_and_guarded },
	{ "invalid_policy_returns_einval_and_no_object",
	  test_invalid_policy_returns_einval_and_no_object },
	{ "worker_count_is_bounded_by_the_protocol", test_worker_count_is_bounded_by_the_protocol },
	{ "omitted_sections_get_the_documented_defaults",
	  test_omitted_sections_get_the_documented_defaults },
	{ "job_and_tenant_defaults", test_job_and_tenant_defaults },
	{ "every_field_of_a_full_policy_is_read", test_every_field_of_a_full_policy_is_read },
	{ "jobs_are_sorted_and_found_among_thousands",
	  test_jobs_are_sorted_and_found_among_thousands },
	{ "slot_formula_two_sets_of_32_bit_accumulators",
	  test_slot_formula_two_sets_of_32_bit_accumulators },
	{ "job_same_ignores_scheduling_fields_only", test_job_same_ignores_scheduling_fields_only },
	{ "job_parent_is_read_and_makes_a_changed_job",
	  test_job_parent_is_read_and_makes_a_changed_job },
	{ "limits_come_from_the_gateway_config", test_limits_come_from_the_gateway_config },
	{ "demo_policy_has_one_job_per_element_type", test_demo_policy_has_one_job_per_element_type },
	CU_TEST_INFO_NULL,
};

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s CASES_DIR CONFIGS_DIR\n", argv[0]);
		return 2;
	}
	configs_dir = argv[2];
	return cp_test_main("cp_policy", tests);
}
