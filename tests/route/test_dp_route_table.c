/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite dp_route_table: building the placement table from a policy, and the
 * lookups the data path makes (model, stage, replicas, admitted sources,
 * liveness view).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../tu_main.h"

#include "cp_plan.h"
#include "dp_route.h"
#include "route_test_policy.h"

static struct tp tp;

static void
test_bad_arguments_are_refused(void)
{
	struct cp_model *m;

	tp_init(&tp, 4);
	m = tp_model(&tp, 1, 1);
	tp_replica(&tp, m, 0, 1, 1);
	errno = 0;
	CU_ASSERT_PTR_NULL(cp_plan_route_table(NULL, 1));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(cp_plan_route_table(&tp.p, 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(cp_plan_route_table(&tp.p, DP_ROUTE_LCORES_MAX + 1));
	CU_ASSERT_EQUAL(errno, EINVAL);
}

static void
test_malformed_placements_are_refused(void)
{
	struct dp_route_table *t;
	struct cp_model *m;

	/* A stage without replicas. */
	tp_init(&tp, 4);
	m = tp_model(&tp, 1, 2);
	tp_replica(&tp, m, 0, 1, 1);
	errno = 0;
	CU_ASSERT_PTR_NULL(cp_plan_route_table(&tp.p, 1));
	CU_ASSERT_EQUAL(errno, EINVAL);
	/* A zero weight. */
	tp_replica(&tp, m, 1, 2, 0);
	errno = 0;
	CU_ASSERT_PTR_NULL(cp_plan_route_table(&tp.p, 1));
	CU_ASSERT_EQUAL(errno, EINVAL);
	/* No stages, or more than the wire can number. */
	tp.reps[0][1][0].weight = 1;
	m->n_stages = 0;
	errno = 0;
	CU_ASSERT_PTR_NULL(cp_plan_route_table(&tp.p, 1));
	CU_ASSERT_EQUAL(errno, EINVAL);
	m->n_stages = DP_ROUTE_STAGES_MAX + 1;
	errno = 0;
	CU_ASSERT_PTR_NULL(cp_plan_route_table(&tp.p, 1));
	CU_ASSERT_EQUAL(errno, EINVAL);
	/* Weights whose sum leaves 31 bits. */
	m->n_stages = 2;
	tp.reps[0][0][0].weight = 0x7fffffffu;
	tp_replica(&tp, m, 0, 3, 2);
	errno = 0;
	CU_ASSERT_PTR_NULL(cp_plan_route_table(&tp.p, 1));
	CU_ASSERT_EQUAL(errno, EINVAL);
	tp.reps[0][0][0].weight = 1;
	t = cp_plan_route_table(&tp.p, 1);
	CU_ASSERT_PTR_NOT_NULL(t);
	dp_route_table_free(t);
}

static void
test_empty_policy_builds_and_finds_nothing(void)
{
	struct dp_route_table *t;

	tp_init(&tp, 0);
	t = cp_plan_route_table(&tp.p, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_PTR_NULL(dp_route_model_find(t, 0));
	CU_ASSERT_PTR_NULL(dp_route_model_find(t, 1));
	CU_ASSERT_EQUAL(t->n_models, 0);
	dp_route_table_free(t);
}

static void
test_placement_lookup_returns_policy_replicas(void)
{
	const struct dp_route_model *md;
	const struct dp_route_stage *st;
	struct dp_route_table *t, *t2;
	struct cp_model *m;
	uint32_t i;

	tp_init(&tp, 12);
	m = tp_model(&tp, 7, 3);
	tp_requester(&tp, m, 0);
	tp_requester(&tp, m, 11);
	tp_replica(&tp, m, 0, 1, 1);
	tp_replica(&tp, m, 0, 2, 3);
	tp_replica(&tp, m, 1, 3, 1);
	tp_replica(&tp, m, 2, 4, 2);
	tp_replica(&tp, m, 2, 5, 2);
	tp_replica(&tp, m, 2, 6, 2);
	m = tp_model(&tp, 300, 1);
	tp_requester(&tp, m, 0);
	tp_replica(&tp, m, 0, 7, 1);
	m->reply_to_requester = false;
	m->reply_ip = tp_ip(9);
	m->reply_port = 5555;
	t = cp_plan_route_table(&tp.p, 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(t->n_models, 2);
	CU_ASSERT_EQUAL(t->n_stages, 4);
	CU_ASSERT_EQUAL(t->n_replicas, 7);
	CU_ASSERT_EQUAL(t->policy_version, 1);

	CU_ASSERT_PTR_NULL(dp_route_model_find(t, 8));
	md = dp_route_model_find(t, 7);
	CU_ASSERT_PTR_NOT_NULL_FATAL(md);
	CU_ASSERT_EQUAL(md->id, 7);
	CU_ASSERT_EQUAL(md->n_stages, 3);
	CU_ASSERT_TRUE(md->reply_to_requester);
	CU_ASSERT_PTR_NULL(dp_route_stage_find(t, md, 3));
	st = dp_route_stage_find(t, md, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(st->n_replicas, 2);
	CU_ASSERT_EQUAL(st->weight_sum, 4);
	CU_ASSERT_EQUAL(t->replicas[st->first].ip, tp_ip(1));
	CU_ASSERT_EQUAL(t->replicas[st->first + 1].ip, tp_ip(2));
	CU_ASSERT_EQUAL(t->replicas[st->first + 1].weight, 3);
	CU_ASSERT_EQUAL(t->replicas[st->first + 1].port, 48000);
	st = dp_route_stage_find(t, md, 2);
	CU_ASSERT_EQUAL(st->n_replicas, 3);
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(t->replicas[st->first + i].node, 4 + i);
	/* Admitted sources: requesters of the model, replicas of each stage. */
	CU_ASSERT_EQUAL(dp_route_src_find(t, md->first_req, md->n_req, tp_ip(11), 0), 11);
	CU_ASSERT_EQUAL(dp_route_src_find(t, md->first_req, md->n_req, tp_ip(0), 0), 0);
	CU_ASSERT_EQUAL(dp_route_src_find(t, md->first_req, md->n_req, tp_ip(1), 0), DP_ROUTE_NONE);
	CU_ASSERT_EQUAL(dp_route_src_find(t, st->first_src, st->n_srcs, tp_ip(5), 48002), 5);
	/* A stage source is its replica's ip:port, not just the ip. */
	CU_ASSERT_EQUAL(dp_route_src_find(t, st->first_src, st->n_srcs, tp_ip(5), 48001),
			DP_ROUTE_NONE);
	CU_ASSERT_EQUAL(dp_route_src_find(t, st->first_src, st->n_srcs, tp_ip(3), 48002),
			DP_ROUTE_NONE);

	md = dp_route_model_find(t, 300);
	CU_ASSERT_PTR_NOT_NULL_FATAL(md);
	CU_ASSERT_FALSE(md->reply_to_requester);
	CU_ASSERT_EQUAL(md->reply_ip, tp_ip(9));
	CU_ASSERT_EQUAL(md->reply_port, 5555);

	/* Every build gets a new generation. */
	t2 = cp_plan_route_table(&tp.p, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t2);
	CU_ASSERT_NOT_EQUAL(t->gen, t2->gen);
	dp_route_table_free(t2);
	dp_route_table_free(t);
}

/* Many models: every id present is found, ids absent are not (the hash
 * probes past collisions and stops at a free slot). */
static void
test_lookup_scales_to_thousands_of_models(void)
{
	enum { N = 5000 };
	struct cp_model *models = calloc(N, sizeof(*models));
	struct cp_stage *stages = calloc(N, sizeof(*stages));
	struct cp_replica *reps = calloc(N, sizeof(*reps));
	struct dp_route_table *t;
	uint32_t i, found = 0, absent = 0;

	CU_ASSERT_FATAL(models && stages && reps);
	tp_init(&tp, 8);
	for (i = 0; i < N; i++) {
		models[i].id = (uint16_t)(i * 13 + 1);
		models[i].n_stages = 1;
		models[i].stages = &stages[i];
		stages[i].n_replicas = 1;
		stages[i].replicas = &reps[i];
		reps[i].node = i % 8;
		reps[i].ip = tp_ip(i % 8);
		reps[i].port = (uint16_t)i;
		reps[i].weight = 1;
	}
	tp.p.n_models = N;
	tp.p.models = models;
	t = cp_plan_route_table(&tp.p, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	for (i = 0; i < 65536; i++) {
		const struct dp_route_model *md = dp_route_model_find(t, (uint16_t)i);

		if (i % 13 == 1 && i / 13 < N) {
			found += md != NULL && md->id == i &&
				 t->replicas[t->stages[md->first_stage].first].port == i / 13;
		} else {
			absent += md == NULL;
		}
	}
	CU_ASSERT_EQUAL(found, N);
	CU_ASSERT_EQUAL(absent, 65536 - N);
	dp_route_table_free(t);
	free(reps);
	free(stages);
	free(models);
}

static void
test_liveness_view_reads_what_was_set(void)
{
	uint64_t bits[2] = { ~0ull, ~0ull };
	struct dp_route_live lv = { .up = bits, .n_nodes = 100 };

	CU_ASSERT_TRUE(dp_route_live_up(NULL, 5, 0));
	CU_ASSERT_TRUE(dp_route_live_up(&lv, 70, 0));
	dp_route_live_set(&lv, 70, false);
	CU_ASSERT_FALSE(dp_route_live_up(&lv, 70, 0));
	CU_ASSERT_TRUE(dp_route_live_up(&lv, 69, 0));
	CU_ASSERT_TRUE(dp_route_live_up(&lv, 71, 0));
	CU_ASSERT_EQUAL(bits[1], ~(1ull << 6));
	dp_route_live_set(&lv, 70, true);
	CU_ASSERT_TRUE(dp_route_live_up(&lv, 70, 0));
	/* Outside the view: unknown counts as up, and setting it is ignored. */
	dp_route_live_set(&lv, 100, false);
	CU_ASSERT_TRUE(dp_route_live_up(&lv, 100, 0));
	CU_ASSERT_EQUAL(bits[1], ~0ull);
}

static void
test_liveness_follows_last_seen_and_timeout(void)
{
	uint64_t seen[4] = { 0, 1000, 5000, 9000 }, bits[1] = { ~0ull };
	struct dp_route_live lv = { .n_nodes = 4, .last_seen_ns = seen, .timeout_ns = 3000 };

	CU_ASSERT_FALSE(dp_route_live_up(&lv, 0, 6000));  /* never seen */
	CU_ASSERT_FALSE(dp_route_live_up(&lv, 1, 6000));  /* silent 5000 ns */
	CU_ASSERT_TRUE(dp_route_live_up(&lv, 2, 6000));
	CU_ASSERT_TRUE(dp_route_live_up(&lv, 2, 8000));   /* exactly the timeout */
	CU_ASSERT_FALSE(dp_route_live_up(&lv, 2, 8001));
	CU_ASSERT_TRUE(dp_route_live_up(&lv, 3, 6000));   /* seen "later" by another lcore */
	/* The control thread's verdict still applies. */
	lv.up = bits;
	dp_route_live_set(&lv, 3, false);
	CU_ASSERT_FALSE(dp_route_live_up(&lv, 3, 9000));
}

static CU_TestInfo tests[] = {
	{ "bad_arguments_are_refused", test_bad_arguments_are_refused },
	{ "malformed_placements_are_refused", test_malformed_placements_are_refused },
	{ "empty_policy_builds_and_finds_nothing", test_empty_policy_builds_and_finds_nothing },
	{ "placement_lookup_returns_policy_replicas", test_placement_lookup_returns_policy_replicas },
	{ "lookup_scales_to_thousands_of_models", test_lookup_scales_to_thousands_of_models },
	{ "liveness_view_reads_what_was_set", test_liveness_view_reads_what_was_set },
	{ "liveness_follows_last_seen_and_timeout", test_liveness_follows_last_seen_and_timeout },
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_main("dp_route_table", tests);
}
