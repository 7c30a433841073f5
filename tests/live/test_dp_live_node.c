/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite dp_live_node: node liveness records: the state machine (never seen,
 * up, down after the timeout, up again), totals and rates from per-lcore
 * arrays, the up bitmap (read back through the inference path's
 * dp_route_live, whose layout it shares), and carry-over across policies.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../tu_main.h"

#include "cp_policy.h"
#include "cp_plan.h"
#include "dp_live.h"
#include "dp_route.h"

#define HZ 1000000000ull        /* ticks are nanoseconds */
#define MS 1000000ull

/* A policy with nodes named by ids[] (addresses 10.5.0.i+1), timeout_ms. */
static struct cp_policy *
policy(const char *const ids[], unsigned n, unsigned timeout_ms)
{
	static char text[8192];
	struct cp_diags d = { 0 };
	struct cp_policy *p = NULL;
	size_t len;

	len = (size_t)snprintf(text, sizeof(text), "{\"version\": 1, \"node_timeout_ms\": %u, "
			       "\"nodes\": [", timeout_ms);
	for (unsigned i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"%s{\"id\": \"%s\", \"ip\": \"10.5.0.%u\", \"roles\": [\"worker\"]}",
					i ? ", " : "", ids[i], i + 1);
	len += (size_t)snprintf(text + len, sizeof(text) - len, "]}");
	CU_ASSERT_EQUAL_FATAL(cp_policy_parse(text, len, "test.json", NULL, &p, &d), 0);
	cp_diags_free(&d);
	return p;
}

static void
test_bad_arguments_are_refused(void)
{
	static const char *const ids[] = { "a" };
	struct cp_policy *p = policy(ids, 1, 100);
	struct dp_live *lv;

	errno = 0;
	CU_ASSERT_PTR_NULL(cp_plan_live_create(NULL, HZ, NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(cp_plan_live_create(p, 0, NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	lv = cp_plan_live_create(p, HZ, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lv);
	/* Harvest only from the version it was created from. */
	CU_ASSERT_EQUAL(dp_live_harvest(lv, lv, NULL, 0), -EINVAL);
	CU_ASSERT_EQUAL(dp_live_harvest(lv, NULL, NULL, 0), -EINVAL);
	CU_ASSERT_EQUAL(dp_live_find(lv, "nope"), -1);
	CU_ASSERT_FALSE(dp_live_is_up(lv->up, lv->n_nodes, 1));
	CU_ASSERT_STRING_EQUAL(dp_live_state_name(DP_LIVE_DOWN), "down");
	CU_ASSERT_STRING_EQUAL(dp_live_state_name(99), "invalid");
	dp_live_free(lv);
	dp_live_free(NULL);
	cp_policy_free(p);
}

static void
test_never_seen_node_is_down(void)
{
	static const char *const ids[] = { "a", "b" };
	struct cp_policy *p = policy(ids, 2, 100);
	struct dp_live *lv = cp_plan_live_create(p, HZ, NULL);
	struct dp_live_cnt c0[2] = { 0 }, c1[2] = { 0 };
	struct dp_live_cnt *cnt[2] = { c0, c1 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(lv);
	CU_ASSERT_EQUAL(dp_live_update(lv, cnt, 2, 10 * HZ), 0);
	CU_ASSERT_EQUAL(lv->nodes[0].state, DP_LIVE_NEVER);
	CU_ASSERT_EQUAL(lv->n_never, 2);
	CU_ASSERT_EQUAL(lv->n_up, 0);
	CU_ASSERT_FALSE(dp_live_is_up(lv->up, lv->n_nodes, 0));
	CU_ASSERT_FALSE(dp_live_is_up(lv->up, lv->n_nodes, 1));
	dp_live_free(lv);
	cp_policy_free(p);
}

static void
test_node_goes_down_after_timeout_and_comes_back(void)
{
	static const char *const ids[] = { "a", "b" };
	struct cp_policy *p = policy(ids, 2, 100);
	struct dp_live *lv = cp_plan_live_create(p, HZ, NULL);
	struct dp_live_cnt c0[2] = { 0 }, c1[2] = { 0 };
	struct dp_live_cnt *cnt[2] = { c0, c1 };
	uint64_t t = 10 * HZ;

	CU_ASSERT_PTR_NOT_NULL_FATAL(lv);
	/* Heard on lcore 1: up. */
	dp_live_cnt_hit(&c1[1], 100, t);
	CU_ASSERT_EQUAL(dp_live_update(lv, cnt, 2, t + 1 * MS), 1);
	CU_ASSERT_EQUAL(lv->nodes[1].state, DP_LIVE_UP);
	CU_ASSERT_EQUAL(lv->nodes[1].n_up, 1);
	CU_ASSERT_EQUAL(lv->nodes[1].since, t + 1 * MS);
	CU_ASSERT_TRUE(dp_live_is_up(lv->up, lv->n_nodes, 1));
	CU_ASSERT_FALSE(dp_live_is_up(lv->up, lv->n_nodes, 0));
	CU_ASSERT_EQUAL(lv->n_up, 1);
	/* Exactly at the timeout it is still up, a tick later down. */
	CU_ASSERT_EQUAL(dp_live_update(lv, cnt, 2, t + 100 * MS), 0);
	CU_ASSERT_EQUAL(lv->nodes[1].state, DP_LIVE_UP);
	CU_ASSERT_EQUAL(dp_live_update(lv, cnt, 2, t + 100 * MS + 1), 1);
	CU_ASSERT_EQUAL(lv->nodes[1].state, DP_LIVE_DOWN);
	CU_ASSERT_EQUAL(lv->nodes[1].n_down, 1);
	CU_ASSERT_FALSE(dp_live_is_up(lv->up, lv->n_nodes, 1));
	CU_ASSERT_EQUAL(lv->n_down, 1);
	/* Heard again (on the other lcore): up again. */
	dp_live_cnt_hit(&c0[1], 100, t + 500 * MS);
	CU_ASSERT_EQUAL(dp_live_update(lv, cnt, 2, t + 501 * MS), 1);
	CU_ASSERT_EQUAL(lv->nodes[1].state, DP_LIVE_UP);
	CU_ASSERT_EQUAL(lv->nodes[1].n_up, 2);
	CU_ASSERT_EQUAL(lv->nodes[1].last_seen, t + 500 * MS);
	CU_ASSERT_EQUAL(lv->nodes[1].pkts, 2);
	CU_ASSERT_EQUAL(lv->nodes[1].bytes, 200);
	/* An lcore clock reading a little ahead of the control thread's. */
	dp_live_cnt_hit(&c0[0], 1, t + 600 * MS);
	dp_live_update(lv, cnt, 2, t + 599 * MS);
	CU_ASSERT_EQUAL(lv->nodes[0].state, DP_LIVE_UP);
	dp_live_free(lv);
	cp_policy_free(p);
}

static void
test_rates_follow_the_counters(void)
{
	static const char *const ids[] = { "a" };
	struct cp_policy *p = policy(ids, 1, 3000);
	struct dp_live *lv = cp_plan_live_create(p, HZ, NULL);
	struct dp_live_cnt c0[1] = { 0 }, c1[1] = { 0 };
	struct dp_live_cnt *cnt[2] = { c0, c1 };
	uint64_t t = HZ;

	CU_ASSERT_PTR_NOT_NULL_FATAL(lv);
	dp_live_update(lv, cnt, 2, t);
	for (int i = 0; i < 1000; i++) {
		dp_live_cnt_hit(&c0[0], 1000, t + i * MS);
		dp_live_cnt_hit(&c1[0], 500, t + i * MS);
	}
	/* Too soon for a rate: none yet. */
	dp_live_update(lv, cnt, 2, t + 100 * MS);
	CU_ASSERT_EQUAL(lv->nodes[0].pps, 0);
	dp_live_update(lv, cnt, 2, t + HZ);
	CU_ASSERT_EQUAL(lv->nodes[0].pps, 2000);
	CU_ASSERT_EQUAL(lv->nodes[0].bps, 1500 * 1000 * 8);
	CU_ASSERT_EQUAL(lv->nodes[0].pkts, 2000);
	/* Idle second: rates fall to 0, totals stay. */
	dp_live_update(lv, cnt, 2, t + 2 * HZ);
	CU_ASSERT_EQUAL(lv->nodes[0].pps, 0);
	CU_ASSERT_EQUAL(lv->nodes[0].bytes, 1500000);
	dp_live_free(lv);
	cp_policy_free(p);
}

static void
test_bitmap_is_what_the_inference_path_reads(void)
{
	enum { N = 130 };
	static char names[N][16];
	const char *ids[N];
	struct cp_policy *p;
	struct dp_live *lv;
	struct dp_live_cnt *c0 = calloc(N, sizeof(*c0));
	struct dp_live_cnt *cnt[1] = { c0 };
	struct dp_route_live view;

	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "n%d", i);
		ids[i] = names[i];
	}
	p = policy(ids, N, 100);
	lv = cp_plan_live_create(p, HZ, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lv);
	for (int i = 0; i < N; i += 3)
		dp_live_cnt_hit(&c0[i], 64, HZ);
	dp_live_update(lv, cnt, 1, HZ + MS);
	view = (struct dp_route_live){ .up = lv->up, .n_nodes = lv->n_nodes };
	for (uint32_t i = 0; i < N; i++) {
		CU_ASSERT_EQUAL(dp_live_is_up(lv->up, lv->n_nodes, i), i % 3 == 0);
		CU_ASSERT_EQUAL(dp_route_live_up(&view, i, 0), i % 3 == 0);
	}
	CU_ASSERT_EQUAL(lv->n_up, (N + 2) / 3);
	free(c0);
	dp_live_free(lv);
	cp_policy_free(p);
}

static void
test_records_carry_over_by_id_and_harvest(void)
{
	static const char *const ids1[] = { "a", "b", "gone" };
	static const char *const ids2[] = { "new", "b", "a" };
	struct cp_policy *p1 = policy(ids1, 3, 100), *p2 = policy(ids2, 3, 100);
	struct dp_live *v1 = cp_plan_live_create(p1, HZ, NULL), *v2;
	struct dp_live_cnt o0[3] = { 0 }, n0[3] = { 0 };
	struct dp_live_cnt *ocnt[1] = { o0 }, *ncnt[1] = { n0 };
	uint64_t t = HZ;

	CU_ASSERT_PTR_NOT_NULL_FATAL(v1);
	dp_live_cnt_hit(&o0[0], 10, t);     /* a */
	dp_live_cnt_hit(&o0[2], 10, t);     /* gone */
	dp_live_update(v1, ocnt, 1, t + MS);
	CU_ASSERT_EQUAL(v1->nodes[0].state, DP_LIVE_UP);
	/* Counted after the last refresh, before the old version retires. */
	dp_live_cnt_hit(&o0[0], 10, t + 2 * MS);
	dp_live_cnt_hit(&o0[1], 10, t + 2 * MS);   /* b */

	v2 = cp_plan_live_create(p2, HZ, v1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v2);
	CU_ASSERT_EQUAL(dp_live_find(v2, "a"), 2);
	CU_ASSERT_EQUAL(dp_live_find(v2, "new"), 0);
	CU_ASSERT_EQUAL(dp_live_find(v2, "gone"), -1);
	/* State carried into the new index, and visible in the new bitmap at
	 * once. */
	CU_ASSERT_EQUAL(v2->nodes[2].state, DP_LIVE_UP);
	CU_ASSERT_TRUE(dp_live_is_up(v2->up, v2->n_nodes, 2));
	CU_ASSERT_FALSE(dp_live_is_up(v2->up, v2->n_nodes, 0));
	CU_ASSERT_EQUAL(v2->nodes[0].state, DP_LIVE_NEVER);
	CU_ASSERT_EQUAL(dp_live_harvest(v2, v1, ocnt, 1), 0);
	CU_ASSERT_EQUAL(dp_live_harvest(v2, v1, ocnt, 1), -EINVAL);   /* only once */
	dp_live_free(v1);
	dp_live_cnt_hit(&n0[2], 10, t + 3 * MS);
	dp_live_update(v2, ncnt, 1, t + 4 * MS);
	CU_ASSERT_EQUAL(v2->nodes[2].pkts, 3);          /* a: 2 old + 1 new */
	CU_ASSERT_EQUAL(v2->nodes[2].bytes, 30);
	CU_ASSERT_EQUAL(v2->nodes[2].n_up, 1);          /* never went down */
	CU_ASSERT_EQUAL(v2->nodes[1].pkts, 1);          /* b: counted only in v1's arrays */
	CU_ASSERT_EQUAL(v2->nodes[1].state, DP_LIVE_UP);
	CU_ASSERT_EQUAL(v2->nodes[1].last_seen, t + 2 * MS);
	CU_ASSERT_EQUAL(v2->nodes[0].pkts, 0);
	dp_live_free(v2);
	cp_policy_free(p1);
	cp_policy_free(p2);
}

static CU_TestInfo tests[] = {
	{ "bad_arguments_are_refused", test_bad_arguments_are_refused },
	{ "never_seen_node_is_down", test_never_seen_node_is_down },
	{ "node_goes_down_after_timeout_and_comes_back",
	  test_node_goes_down_after_timeout_and_comes_back },
	{ "rates_follow_the_counters", test_rates_follow_the_counters },
	{ "bitmap_is_what_the_inference_path_reads", test_bitmap_is_what_the_inference_path_reads },
	{ "records_carry_over_by_id_and_harvest", test_records_carry_over_by_id_and_harvest },
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_main("dp_live_node", tests);
}
