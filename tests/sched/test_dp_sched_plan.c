/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite dp_sched_plan: the scheduler layout a policy asks for, and moving a
 * backlog from one scheduler to the next on a reload without losing queued
 * packets (issue 4: "packets already queued are not dropped").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../tu_main.h"

#include "cp_plan.h"
#include "route_test_policy.h"
#include "sched_test_util.h"

static struct tp tp;
static struct cp_job jobs[3];

/* tp with three training jobs (ids 10, 20, 30; weights 1, 2, 4; tenants 0,
 * 0, 1) and two models (ids 1, 2). */
static void
policy_init(void)
{
	static const uint16_t ids[] = { 10, 20, 30 };
	static const uint32_t weights[] = { 1, 2, 4 };
	unsigned i;

	tp_init(&tp, 8);
	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < 3; i++) {
		jobs[i].id = ids[i];
		jobs[i].class_idx = 2;
		jobs[i].weight = weights[i];
		jobs[i].tenant = i == 2;
	}
	tp.p.n_jobs = 3;
	tp.p.jobs = jobs;
	tp_model(&tp, 1, 1);
	tp_model(&tp, 2, 1);
	tp.tenants[0].rate_pps = 5000;
	tp.tenants[0].burst = 50;
	tp.classes[2].rate_bps = 8000000;
	tp.classes[2].queue_len = 32;
	tp.classes[1].queue_len = 0;
}

static void
test_too_many_classes_is_refused_with_a_reason(void)
{
	struct cp_class many[DP_SCHED_CLASSES_MAX];
	struct dp_sched_plan *pl = NULL;
	char err[200] = "";
	unsigned i;

	policy_init();
	memset(many, 0, sizeof(many));
	for (i = 0; i < DP_SCHED_CLASSES_MAX; i++) {
		many[i].kind = CP_CLASS_TRAINING;
		many[i].weight = 1;
	}
	tp.p.classes = many;
	tp.p.n_classes = DP_SCHED_CLASSES_MAX;   /* + the implicit control class */
	tp.p.n_jobs = 0;
	tp.p.n_models = 0;
	CU_ASSERT_EQUAL(cp_plan_sched(&tp.p, 0, &pl, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NULL(pl);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "traffic classes"));
}

/* Policies built by hand (tests, benchmarks) may skip what the validator
 * guarantees: no classes at all, or a job naming a class that does not
 * exist. The plan still places everything sensibly. */
static void
test_hand_built_policy_gets_default_classes(void)
{
	struct dp_sched_plan *pl = NULL;
	char err[200] = "";

	policy_init();
	jobs[1].class_idx = 7;
	jobs[2].tenant = 9;
	CU_ASSERT_EQUAL_FATAL(cp_plan_sched(&tp.p, 0, &pl, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(pl->conf.leaves[pl->job_leaf[1]].cls, 2);
	CU_ASSERT_EQUAL(pl->conf.leaves[pl->job_leaf[2]].tenant, DP_SCHED_NONE);
	dp_sched_plan_free(pl);
	tp.p.n_classes = 0;
	tp.p.classes = NULL;
	CU_ASSERT_EQUAL_FATAL(cp_plan_sched(&tp.p, 0, &pl, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(pl->conf.n_classes, 3);
	CU_ASSERT_EQUAL(pl->control_leaf, 0);
	CU_ASSERT_EQUAL(pl->conf.classes[2].priority, 2);
	CU_ASSERT_EQUAL(pl->conf.leaves[pl->job_leaf[0]].cls, 2);
	CU_ASSERT_EQUAL(pl->conf.leaves[pl->model_leaf[0]].cls, 1);
	CU_ASSERT_STRING_EQUAL(pl->class_id[2], "training");
	dp_sched_plan_free(pl);
}

static void
test_plan_follows_policy_classes_jobs_models_tenants(void)
{
	struct dp_sched_plan *pl = NULL;
	const struct dp_sched_conf *c;
	struct dp_sched *s;
	char err[200] = "";

	policy_init();
	CU_ASSERT_EQUAL_FATAL(cp_plan_sched(&tp.p, 0, &pl, err, sizeof(err)), 0);
	c = &pl->conf;
	CU_ASSERT_EQUAL(c->n_classes, 3);
	CU_ASSERT_EQUAL(c->classes[2].priority, 2);
	CU_ASSERT_EQUAL(c->classes[2].cap.rate, 1000000);     /* bytes/s */
	CU_ASSERT_EQUAL(c->classes[2].cap.unit, DP_SCHED_UNIT_BYTES);
	CU_ASSERT_EQUAL(c->classes[0].cap.rate, 0);
	CU_ASSERT_EQUAL(c->n_leaves, 3 + 3 + 2);
	CU_ASSERT_EQUAL(pl->control_leaf, 0);
	CU_ASSERT_EQUAL(pl->job_leaf[1], 4);
	CU_ASSERT_EQUAL(c->leaves[4].cls, 2);
	CU_ASSERT_EQUAL(c->leaves[4].weight, 2);
	CU_ASSERT_EQUAL(c->leaves[4].queue_len, 32);
	CU_ASSERT_EQUAL(c->leaves[5].tenant, 1);
	CU_ASSERT_EQUAL(pl->model_leaf[1], 7);
	CU_ASSERT_EQUAL(c->leaves[7].cls, 1);
	CU_ASSERT_EQUAL(c->leaves[7].queue_len, DP_SCHED_QUEUE_LEN_DEFAULT);
	CU_ASSERT_EQUAL(c->n_tenants, 2);
	CU_ASSERT_EQUAL(c->tenants[0].rate, 5000);
	CU_ASSERT_EQUAL(c->tenants[0].burst, 50);
	CU_ASSERT_EQUAL(c->tenants[0].unit, DP_SCHED_UNIT_PACKETS);
	s = dp_sched_create(c);
	CU_ASSERT_PTR_NOT_NULL(s);
	CU_ASSERT_EQUAL(dp_sched_free(s), 0);
	dp_sched_plan_free(pl);

	/* No control class in the policy: one is added, served first. */
	policy_init();
	tp.classes[0].kind = CP_CLASS_INFERENCE;
	tp.classes[0].priority = 1;
	CU_ASSERT_EQUAL_FATAL(cp_plan_sched(&tp.p, 0, &pl, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(pl->conf.n_classes, 4);
	CU_ASSERT_EQUAL(pl->control_leaf, 3);
	CU_ASSERT_EQUAL(pl->conf.classes[3].priority, 0);
	CU_ASSERT_EQUAL(pl->conf.leaves[pl->control_leaf].cls, 3);
	dp_sched_plan_free(pl);
}

/* Reload: job 20 removed, job 40 added, model 1 removed. Queued packets of
 * job 20 and model 1 are still sent (via their class's default leaf), the
 * rest keep their leaf by id, and order within each leaf survives. */
static void
test_reload_moves_backlog_without_loss(void)
{
	struct dp_sched_plan *a = NULL, *b = NULL;
	struct dp_sched *sa, *sb;
	uint32_t map[16], i, n, last[32];
	void *out[256], *dropped[4];
	unsigned in_order = 0;
	uint64_t now;
	char err[200];

	policy_init();
	CU_ASSERT_EQUAL_FATAL(cp_plan_sched(&tp.p, 0, &a, err, sizeof(err)), 0);
	jobs[1].id = 30;
	jobs[1].weight = 4;
	jobs[1].tenant = 1;
	jobs[2].id = 40;
	tp.models[0].id = 2;
	tp.p.n_models = 1;
	CU_ASSERT_EQUAL_FATAL(cp_plan_sched(&tp.p, 0, &b, err, sizeof(err)), 0);
	dp_sched_plan_leaf_map(a, b, map);
	CU_ASSERT_EQUAL(map[a->job_leaf[0]], b->job_leaf[0]);     /* job 10 */
	CU_ASSERT_EQUAL(map[a->job_leaf[1]], b->class_leaf[2]);   /* job 20 gone */
	CU_ASSERT_EQUAL(map[a->job_leaf[2]], b->job_leaf[1]);     /* job 30 */
	CU_ASSERT_EQUAL(map[a->model_leaf[0]], b->class_leaf[1]); /* model 1 gone */
	CU_ASSERT_EQUAL(map[a->model_leaf[1]], b->model_leaf[0]); /* model 2 */
	CU_ASSERT_EQUAL(map[a->control_leaf], b->control_leaf);

	sa = dp_sched_create(&a->conf);
	sb = dp_sched_create(&b->conf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sa);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sb);
	for (i = 0; i < 20; i++) {
		enq1(sa, a->job_leaf[i % 3], i, 1000, (uint8_t)(i % 2));
		enq1(sa, a->model_leaf[i % 2], 100 + i, 500, 15);
	}
	enq1(sa, a->control_leaf, 999, 64, 0);
	CU_ASSERT_EQUAL(dp_sched_move(sb, sa, map, dropped, 4), 0);
	CU_ASSERT_EQUAL(dp_sched_backlog(sa), 0);
	CU_ASSERT_EQUAL(dp_sched_backlog(sb), 41);
	CU_ASSERT_EQUAL(dp_sched_free(sa), 0);
	/* Everything comes out of the new scheduler (training is capped, so
	 * over several 10 ms steps): control first, and each origin leaf's
	 * packets in order within their band. */
	memset(last, 0, sizeof(last));
	n = dp_sched_dequeue(sb, 0, out, NULL, 256);
	CU_ASSERT_PTR_EQUAL(out[0], pk(a->control_leaf, 999));
	for (now = 10000000; dp_sched_backlog(sb) != 0 && n < 256; now += 10000000)
		n += dp_sched_dequeue(sb, now, out + n, NULL, 256 - n);
	CU_ASSERT_EQUAL(n, 41);
	for (i = 0; i < n; i++) {
		uint32_t seq = pk_seq(out[i]), key = pk_leaf(out[i]) * 2 + (seq < 100 ? seq % 2 : 0);

		in_order += seq + 1 > last[key];
		last[key] = seq + 1;
	}
	CU_ASSERT_EQUAL(in_order, 41);
	CU_ASSERT_EQUAL(dp_sched_free(sb), 0);
	dp_sched_plan_free(a);
	dp_sched_plan_free(b);
}

static void
test_move_into_full_leaf_hands_packets_back(void)
{
	static const uint32_t w[] = { 1 };
	struct dp_sched *sa = sched_3class(w, 1, 16, NULL, NULL, 0, NULL);
	struct dp_sched *sb = sched_3class(w, 1, 4, NULL, NULL, 0, NULL);
	uint32_t map[3] = { 0, 1, 2 };
	void *dropped[16], *out[16];
	unsigned i, n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(sa);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sb);
	for (i = 0; i < 10; i++)
		enq1(sa, 2, i, 100, 0);
	/* Room to return only 2 at a time: the rest stay in the old one. */
	CU_ASSERT_EQUAL(dp_sched_move(sb, sa, map, dropped, 2), 2);
	CU_ASSERT_EQUAL(dp_sched_backlog(sb), 4);
	CU_ASSERT_EQUAL(dp_sched_backlog(sa), 4);
	CU_ASSERT_PTR_EQUAL(dropped[0], pk(2, 4));
	CU_ASSERT_PTR_EQUAL(dropped[1], pk(2, 5));
	CU_ASSERT_EQUAL(dp_sched_move(sb, sa, map, dropped, 16), 4);
	CU_ASSERT_PTR_EQUAL(dropped[3], pk(2, 9));
	CU_ASSERT_EQUAL(dp_sched_backlog(sa), 0);
	n = dp_sched_dequeue(sb, 0, out, NULL, 16);
	CU_ASSERT_EQUAL(n, 4);
	for (i = 0; i < n; i++)
		CU_ASSERT_PTR_EQUAL(out[i], pk(2, i));
	CU_ASSERT_EQUAL(dp_sched_free(sa), 0);
	CU_ASSERT_EQUAL(dp_sched_free(sb), 0);
}

static CU_TestInfo tests[] = {
	{ "too_many_classes_is_refused_with_a_reason", test_too_many_classes_is_refused_with_a_reason },
	{ "hand_built_policy_gets_default_classes", test_hand_built_policy_gets_default_classes },
	{ "plan_follows_policy_classes_jobs_models_tenants",
	  test_plan_follows_policy_classes_jobs_models_tenants },
	{ "reload_moves_backlog_without_loss", test_reload_moves_backlog_without_loss },
	{ "move_into_full_leaf_hands_packets_back", test_move_into_full_leaf_hands_packets_back },
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_main("dp_sched_plan", tests);
}
