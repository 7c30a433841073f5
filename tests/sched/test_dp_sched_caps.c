/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite dp_sched_caps: token-bucket rate caps per class and per tenant, on a
 * simulated clock. A cap is a ceiling: over T seconds a capped class or
 * tenant sends at most rate*T + burst, at least rate*T - one packet while it
 * stays backlogged, and what it may not send goes to lower priorities
 * meanwhile.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../tu_main.h"

#include "sched_test_util.h"

#define STEP_NS 10000ull        /* 10 us per dequeue round */
#define ROUNDS 100000u          /* 1 s of simulated time */

/* Keep the listed leaves backlogged, dequeue up to 8 per step, and sum the
 * bytes and packets each leaf sent. */
static void
run(struct dp_sched *s, const uint32_t *leaves, unsigned n_leaves, uint32_t len,
    uint64_t *bytes, uint64_t *pkts, uint64_t start_ns)
{
	uint32_t seq = 0, i, n;
	uint32_t olen[8];
	void *out[8];
	uint64_t now = start_ns;
	unsigned r;

	for (r = 0; r < ROUNDS; r++, now += STEP_NS) {
		for (i = 0; i < n_leaves; i++)
			while (enq1(s, leaves[i], seq, len, 15) == 0)
				seq++;
		n = dp_sched_dequeue(s, now, out, olen, 8);
		for (i = 0; i < n; i++) {
			bytes[pk_leaf(out[i])] += olen[i];
			pkts[pk_leaf(out[i])]++;
		}
	}
}

static void
test_class_cap_bounds_bytes_and_frees_the_rest_for_lower_classes(void)
{
	static const uint32_t w[] = { 1 };
	/* Inference capped at 1 MB/s with a 16 KiB burst; training uncapped. */
	struct dp_sched_rate caps[3] = { { 0 }, { .rate = 1000000, .burst = 16384,
					   .unit = DP_SCHED_UNIT_BYTES }, { 0 } };
	static const uint32_t leaves[] = { 1, 2 };
	uint64_t bytes[3] = { 0 }, pkts[3] = { 0 };
	struct dp_sched *s = sched_3class(w, 1, 64, caps, NULL, 0, NULL);
	double t = ROUNDS * STEP_NS / 1e9;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	run(s, leaves, 2, 1000, bytes, pkts, 1000);
	CU_ASSERT(bytes[1] <= 1000000 * t + 16384);
	CU_ASSERT(bytes[1] >= 1000000 * t - 1000);
	/* 8 per step: what inference may not send, training does. */
	CU_ASSERT_EQUAL(pkts[1] + pkts[2], 8ull * ROUNDS);
	sched_drain_free(s);
}

static void
test_tenant_cap_spans_its_jobs_and_spares_other_tenants(void)
{
	static const uint32_t w[] = { 1, 1, 1 };
	static const uint32_t tenant[] = { 0, 0, 1 };
	/* Tenant 0: 2000 packets/s, burst 16; tenant 1 uncapped. */
	struct dp_sched_rate tn[2] = { { .rate = 2000, .burst = 16, .unit = DP_SCHED_UNIT_PACKETS },
				       { 0 } };
	static const uint32_t leaves[] = { 2, 3, 4 };
	uint64_t bytes[5] = { 0 }, pkts[5] = { 0 };
	struct dp_sched *s = sched_3class(w, 3, 64, NULL, tn, 2, tenant);
	double t = ROUNDS * STEP_NS / 1e9;
	uint64_t capped;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	run(s, leaves, 3, 1200, bytes, pkts, 0);
	capped = pkts[2] + pkts[3];
	CU_ASSERT(capped <= 2000 * t + 16);
	CU_ASSERT(capped >= 2000 * t - 1);
	/* Its two jobs still split the tenant's share by weight (1:1). */
	CU_ASSERT(pkts[2] > 0.45 * capped && pkts[2] < 0.55 * capped);
	CU_ASSERT_EQUAL(pkts[4] + capped, 8ull * ROUNDS);
	sched_drain_free(s);
}

static void
test_capped_control_does_not_block_lower_priorities(void)
{
	static const uint32_t w[] = { 1 };
	struct dp_sched_rate caps[3] = { { .rate = 100, .burst = 1, .unit = DP_SCHED_UNIT_PACKETS },
					 { 0 }, { 0 } };
	struct dp_sched *s = sched_3class(w, 1, 64, caps, NULL, 0, NULL);
	void *out[8];
	unsigned i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (i = 0; i < 4; i++)
		enq1(s, 0, i, 64, 0);
	enq1(s, 2, 0, 1000, 0);
	/* One control packet (the burst), then training; control waits. */
	CU_ASSERT_EQUAL(dp_sched_dequeue(s, 1, out, NULL, 8), 2);
	CU_ASSERT_PTR_EQUAL(out[0], pk(0, 0));
	CU_ASSERT_PTR_EQUAL(out[1], pk(2, 0));
	CU_ASSERT_EQUAL(dp_sched_dequeue(s, 2, out, NULL, 8), 0);
	CU_ASSERT_EQUAL(dp_sched_backlog(s), 3);
	/* 10 ms later one more token. */
	CU_ASSERT_EQUAL(dp_sched_dequeue(s, 10000002, out, NULL, 8), 1);
	CU_ASSERT_PTR_EQUAL(out[0], pk(0, 1));
	/* A clock that goes backwards earns nothing and breaks nothing. */
	CU_ASSERT_EQUAL(dp_sched_dequeue(s, 5, out, NULL, 8), 0);
	CU_ASSERT_EQUAL(dp_sched_dequeue(s, 20000002, out, NULL, 8), 1);
	CU_ASSERT_EQUAL(sched_drain_free(s), 1);
}

static void
test_burst_allows_back_to_back_then_paces(void)
{
	static const uint32_t w[] = { 1 };
	/* Training at 10 MB/s with a 10 KB burst: ten 1000-byte packets at
	 * once, then one per 100 us. */
	struct dp_sched_rate caps[3] = { { 0 }, { 0 }, { .rate = 10000000, .burst = 10000,
							 .unit = DP_SCHED_UNIT_BYTES } };
	struct dp_sched *s = sched_3class(w, 1, 64, caps, NULL, 0, NULL);
	void *out[64];
	unsigned i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (i = 0; i < 40; i++)
		enq1(s, 2, i, 1000, 0);
	CU_ASSERT_EQUAL(dp_sched_dequeue(s, 0, out, NULL, 64), 10);
	CU_ASSERT_EQUAL(dp_sched_dequeue(s, 50000, out, NULL, 64), 0);
	CU_ASSERT_EQUAL(dp_sched_dequeue(s, 100000, out, NULL, 64), 1);
	CU_ASSERT_EQUAL(dp_sched_dequeue(s, 1100000, out, NULL, 64), 10);
	/* A long pause refills only up to the burst. */
	CU_ASSERT_EQUAL(dp_sched_dequeue(s, 100000000000ull, out, NULL, 64), 10);
	CU_ASSERT_EQUAL(sched_drain_free(s), 9);
}

/* A port cap paces the total, and the order inside it is still strict
 * priority: with the port saturated by training, inference waits only for
 * the tokens of its own packets. */
static void
test_port_cap_paces_everything_in_priority_order(void)
{
	struct dp_sched_class_conf cc[2] = { { .priority = 0, .weight = 1 },
					     { .priority = 1, .weight = 1 } };
	struct dp_sched_leaf_conf lf[2] = {
		{ .cls = 0, .weight = 1, .tenant = DP_SCHED_NONE, .queue_len = 64 },
		{ .cls = 1, .weight = 1, .tenant = DP_SCHED_NONE, .queue_len = 64 },
	};
	struct dp_sched_conf conf = { .n_classes = 2, .classes = cc, .n_leaves = 2, .leaves = lf,
		.port_cap = { .rate = 125000000, .burst = 3000, .unit = DP_SCHED_UNIT_BYTES } };
	struct dp_sched *s = dp_sched_create(&conf);
	uint64_t bytes = 0, now;
	uint32_t seq = 0, olen[8];
	void *out[8];
	unsigned n, i, r, urgent_wait = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	/* 1 Gbit/s, 10 us steps for 10 ms: leaf 1 always backlogged with 1000 B,
	 * one 100 B packet of leaf 0 every 1 ms. */
	for (r = 0, now = 0; r < 1000; r++, now += 10000) {
		while (enq1(s, 1, seq, 1000, 0) == 0)
			seq++;
		if (r % 100 == 0)
			enq1(s, 0, r, 100, 0);
		n = dp_sched_dequeue(s, now, out, olen, 8);
		for (i = 0; i < n; i++)
			bytes += olen[i];
		/* The urgent packet goes out within the step it arrived in. */
		if (r % 100 == 0) {
			for (i = 0; i < n && pk_leaf(out[i]) != 0; i++)
				;
			urgent_wait += i == n;
		}
	}
	CU_ASSERT(bytes <= 125000000ull * 10 / 1000 + 3000);
	CU_ASSERT(bytes >= 125000000ull * 10 / 1000 - 2000);
	CU_ASSERT_EQUAL(urgent_wait, 0);
	sched_drain_free(s);
}

static CU_TestInfo tests[] = {
	{ "class_cap_bounds_bytes_and_frees_the_rest_for_lower_classes",
	  test_class_cap_bounds_bytes_and_frees_the_rest_for_lower_classes },
	{ "tenant_cap_spans_its_jobs_and_spares_other_tenants",
	  test_tenant_cap_spans_its_jobs_and_spares_other_tenants },
	{ "capped_control_does_not_block_lower_priorities",
	  test_capped_control_does_not_block_lower_priorities },
	{ "burst_allows_back_to_back_then_paces", test_burst_allows_back_to_back_then_paces },
	{ "port_cap_paces_everything_in_priority_order",
	  test_port_cap_paces_everything_in_priority_order },
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_main("dp_sched_caps", tests);
}
