/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite dp_admit_tb: the per-tenant token bucket (GCRA) and its split across
 * data lcores, on a synthetic clock.
 */
#include <errno.h>
#include <stdint.h>

#include <CUnit/Basic.h>

#include "../tu_main.h"

#include "dp_admit.h"

#define HZ 1000000000ull        /* ticks are nanoseconds */

/* Packets of one bucket that conform when offered every `gap` ticks from
 * `start` for `span` ticks. */
static uint64_t
offer(struct dp_admit_tb *b, const struct dp_admit_rate *r, uint64_t start, uint64_t span,
      uint64_t gap)
{
	uint64_t ok = 0;

	for (uint64_t t = start; t < start + span; t += gap)
		ok += dp_admit_take(b, r, t);
	return ok;
}

static void
test_bad_arguments_are_refused(void)
{
	struct dp_admit_rate r;

	CU_ASSERT_EQUAL(dp_admit_rate_init(NULL, 100, 10, 1, HZ, 1), -EINVAL);
	CU_ASSERT_EQUAL(dp_admit_rate_init(&r, 100, 10, 0, HZ, 1), -EINVAL);
	CU_ASSERT_EQUAL(dp_admit_rate_init(&r, 100, 10, 1, 0, 1), -EINVAL);
}

static void
test_burst_then_refused_until_refill(void)
{
	struct dp_admit_rate r;
	struct dp_admit_tb b = { 0 };
	uint64_t t0 = 5 * HZ;

	CU_ASSERT_EQUAL(dp_admit_rate_init(&r, 1000, 10, 1, HZ, 1), 0);
	/* A full bucket passes exactly `burst` back-to-back packets. */
	for (int i = 0; i < 10; i++)
		CU_ASSERT_TRUE(dp_admit_take(&b, &r, t0));
	CU_ASSERT_FALSE(dp_admit_take(&b, &r, t0));
	CU_ASSERT_FALSE(dp_admit_take(&b, &r, t0 + 999999));
	/* One packet's worth (1 ms at 1000 pps) later, one more. */
	CU_ASSERT_TRUE(dp_admit_take(&b, &r, t0 + 1000000));
	CU_ASSERT_FALSE(dp_admit_take(&b, &r, t0 + 1000000));
	/* Idle long enough to refill, and the burst is back (not more). */
	CU_ASSERT_EQUAL(offer(&b, &r, t0 + 2 * HZ, 1, 1), 1);
	for (int i = 0; i < 9; i++)
		CU_ASSERT_TRUE(dp_admit_take(&b, &r, t0 + 2 * HZ));
	CU_ASSERT_FALSE(dp_admit_take(&b, &r, t0 + 2 * HZ));
}

static void
test_sustained_rate_is_enforced(void)
{
	struct dp_admit_rate r;
	struct dp_admit_tb b = { 0 };
	uint64_t ok;

	CU_ASSERT_EQUAL(dp_admit_rate_init(&r, 1000, 10, 1, HZ, 1), 0);
	/* Offered 100,000 pps for 2 s: 2 s x 1000 pps plus the burst. */
	ok = offer(&b, &r, HZ, 2 * HZ, 10000);
	CU_ASSERT(ok >= 2000 + 10 - 1 && ok <= 2000 + 10);
	/* Offered below the rate: everything passes. */
	ok = offer(&b, &r, 10 * HZ, HZ, 2000000);
	CU_ASSERT_EQUAL(ok, 500);
}

static void
test_high_rates_keep_precision(void)
{
	struct dp_admit_rate r;
	struct dp_admit_tb b = { 0 };
	uint64_t ok;

	/* 30 Mpps on a 1 GHz clock is 33.33 ticks per packet: rounding the
	 * cost to whole ticks would give 30.3 Mpps. */
	CU_ASSERT_EQUAL(dp_admit_rate_init(&r, 30000000, 1, 1, HZ, 1), 0);
	ok = offer(&b, &r, HZ, HZ / 10, 1);
	CU_ASSERT(ok >= 3000000 - 1 && ok <= 3000000 + 1);
}

static void
test_rate_splits_over_lcores(void)
{
	struct dp_admit_rate r;
	struct dp_admit_tb b[4] = { 0 };
	uint64_t ok = 0, burst = 0;

	CU_ASSERT_EQUAL(dp_admit_burst_per_lcore(10, 4), 3);
	CU_ASSERT_EQUAL(dp_admit_burst_per_lcore(8, 4), 2);
	CU_ASSERT_EQUAL(dp_admit_burst_per_lcore(1, 4), 1);
	CU_ASSERT_EQUAL(dp_admit_burst_per_lcore(0, 4), 1);
	CU_ASSERT_EQUAL(dp_admit_rate_init(&r, 1000, 10, 4, HZ, 1), 0);
	for (int k = 0; k < 4; k++)
		while (dp_admit_take(&b[k], &r, HZ))
			burst++;
	CU_ASSERT_EQUAL(burst, 4 * 3);
	/* Traffic spread evenly: the lcores together admit the tenant's rate
	 * (plus each one's refilled burst). */
	for (int k = 0; k < 4; k++)
		ok += offer(&b[k], &r, 2 * HZ, HZ, 100000);
	CU_ASSERT(ok >= 1000 && ok <= 1000 + 4 * 3);
	/* All of it on one lcore: a quarter. */
	ok = offer(&b[0], &r, 4 * HZ, HZ, 100000);
	CU_ASSERT(ok >= 250 - 1 && ok <= 250 + 3);
}

static void
test_rate_below_one_per_lcore(void)
{
	struct dp_admit_rate r;
	struct dp_admit_tb b = { 0 };

	/* 1 pps over 4 lcores: one packet every 4 s on each. */
	CU_ASSERT_EQUAL(dp_admit_rate_init(&r, 1, 1, 4, HZ, 1), 0);
	CU_ASSERT_EQUAL(offer(&b, &r, HZ, 20 * HZ, HZ / 10), 5);
}

static void
test_unlimited_tenant_always_conforms(void)
{
	struct dp_admit_rate r;
	struct dp_admit_tb b = { 0 };

	CU_ASSERT_EQUAL(dp_admit_rate_init(&r, 0, 0, 2, HZ, 1), 0);
	CU_ASSERT_TRUE(r.unlimited);
	CU_ASSERT_EQUAL(offer(&b, &r, 0, 100000, 1), 100000);
}

static void
test_new_epoch_starts_full(void)
{
	struct dp_admit_rate r1, r2;
	struct dp_admit_tb b = { 0 };

	CU_ASSERT_EQUAL(dp_admit_rate_init(&r1, 10, 2, 1, HZ, 1), 0);
	CU_ASSERT_EQUAL(dp_admit_rate_init(&r2, 10, 2, 1, HZ, 2), 0);
	CU_ASSERT_EQUAL(offer(&b, &r1, HZ, 10, 1), 2);
	/* Same slot, another tenant (epoch): the previous tenant's debt does
	 * not carry over. */
	CU_ASSERT_EQUAL(offer(&b, &r2, HZ, 10, 1), 2);
	CU_ASSERT_EQUAL(b.epoch, 2);
}

static void
test_clock_near_wrap_does_not_overflow(void)
{
	struct dp_admit_rate r;
	struct dp_admit_tb b = { 0 };
	uint64_t t = UINT64_MAX - 10 * HZ;

	/* A TSC after years of uptime: comparisons stay right. */
	CU_ASSERT_EQUAL(dp_admit_rate_init(&r, 100, 5, 1, HZ, 1), 0);
	CU_ASSERT_EQUAL(offer(&b, &r, t, HZ, 1000), 100 + 5 - 1);
}

static CU_TestInfo tests[] = {
	{ "bad_arguments_are_refused", test_bad_arguments_are_refused },
	{ "burst_then_refused_until_refill", test_burst_then_refused_until_refill },
	{ "sustained_rate_is_enforced", test_sustained_rate_is_enforced },
	{ "high_rates_keep_precision", test_high_rates_keep_precision },
	{ "rate_splits_over_lcores", test_rate_splits_over_lcores },
	{ "rate_below_one_per_lcore", test_rate_below_one_per_lcore },
	{ "unlimited_tenant_always_conforms", test_unlimited_tenant_always_conforms },
	{ "new_epoch_starts_full", test_new_epoch_starts_full },
	{ "clock_near_wrap_does_not_overflow", test_clock_near_wrap_does_not_overflow },
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_main("dp_admit_tb", tests);
}
