/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite kn_fixed: float32 <-> int32 fixed point. Refusals first (bad
 * arguments, NaN/Inf, values beyond the limit, with bad_index), then the
 * limit arithmetic, rounding, and an N-worker sum through every kernel
 * variant that wraps exactly as the overflow rule promises.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kn_fixed.h"
#include "kn_sum.h"
#include "kn_test_priv.h"

static int
suite_init(void)
{
	kn_test_seed("kn_fixed");
	return 0;
}

static void
test_bad_arguments_are_refused_without_writing(void)
{
	float src[2] = { 1.0f, 2.0f };
	int32_t dst[2] = { 7, 7 };
	size_t bad = 99;

	CU_ASSERT_EQUAL(kn_fixed_from_f32(dst, src, 2, 31, 4, &bad), -EINVAL);
	CU_ASSERT_EQUAL(kn_fixed_from_f32(dst, src, 2, 8, 0, &bad), -EINVAL);
	CU_ASSERT_EQUAL(dst[0], 7);
	CU_ASSERT_EQUAL(bad, 99);
	CU_ASSERT_EQUAL(kn_fixed_limit(8, 0), 0.0);
}

static void
test_nan_and_inf_are_refused_with_their_index(void)
{
	const float specials[] = { NAN, -NAN, INFINITY, -INFINITY };
	float src[8];
	int32_t dst[8];

	for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
		size_t bad = 99;

		for (size_t i = 0; i < 8; i++)
			src[i] = (float)i * 0.25f;
		src[5] = specials[k];
		src[7] = specials[k];
		CU_ASSERT_EQUAL(kn_fixed_from_f32(dst, src, 8, 16, 2, &bad), -ERANGE);
		CU_ASSERT_EQUAL(bad, 5);
		/* Elements before the first bad one were converted. */
		CU_ASSERT_EQUAL(dst[4], 65536);
		/* bad_index is optional. */
		CU_ASSERT_EQUAL(kn_fixed_from_f32(dst, src, 8, 16, 2, NULL), -ERANGE);
	}
}

static void
test_values_beyond_the_limit_are_refused(void)
{
	static const unsigned fracs[] = { 0, 8, 16, 24, 30 };
	static const unsigned workers[] = { 1, 2, 3, 8, 256, 1024 };

	for (size_t f = 0; f < sizeof(fracs) / sizeof(fracs[0]); f++)
		for (size_t w = 0; w < sizeof(workers) / sizeof(workers[0]); w++) {
			double lim = kn_fixed_limit(fracs[f], workers[w]);
			/* The float just above the limit, on both sides. */
			float above = nextafterf((float)lim, INFINITY);
			float src[3] = { 0.0f, 0.0f, 0.0f };
			int32_t dst[3];
			size_t bad = 99;

			if ((double)above <= lim)
				above = nextafterf(above, INFINITY);
			src[1] = above;
			CU_ASSERT_EQUAL(kn_fixed_from_f32(dst, src, 3, fracs[f],
							  workers[w], &bad), -ERANGE);
			CU_ASSERT_EQUAL(bad, 1);
			src[1] = 0.0f;
			src[2] = -above;
			CU_ASSERT_EQUAL(kn_fixed_from_f32(dst, src, 3, fracs[f],
							  workers[w], &bad), -ERANGE);
			CU_ASSERT_EQUAL(bad, 2);
		}
}

static void
test_limit_is_the_largest_safe_magnitude(void)
{
	static const unsigned workers[] = { 1, 2, 3, 7, 256, 1000, 1024 };

	for (size_t w = 0; w < sizeof(workers) / sizeof(workers[0]); w++) {
		unsigned n = workers[w];
		double ilim = floor((double)INT32_MAX / n);

		CU_ASSERT_EQUAL(kn_fixed_limit(0, n), ilim);
		CU_ASSERT_EQUAL(kn_fixed_limit(16, n), ilim / 65536.0);
		CU_ASSERT_EQUAL(kn_fixed_limit(30, n), ldexp(ilim, -30));
		/* n contributions at the limit fit; one more unit would not be
		 * guaranteed to. */
		CU_ASSERT(n * ilim <= (double)INT32_MAX);
		CU_ASSERT(n * (ilim + 1) > (double)INT32_MAX);
	}
}

static void
test_rounding_is_to_nearest_even(void)
{
	const float src[] = { 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 0.49999997f,
			      3.0f, -0.0f, 1e-30f };
	const int32_t want0[] = { 0, 2, 2, 0, -2, -2, 0, 3, 0, 0 };
	/* With frac_bits 1 the same values scale by 2 first. */
	const float src1[] = { 0.25f, 0.75f, 1.25f, -0.25f, -0.75f };
	const int32_t want1[] = { 0, 2, 2, 0, -2 };
	int32_t dst[10];

	CU_ASSERT_EQUAL_FATAL(kn_fixed_from_f32(dst, src, 10, 0, 1, NULL), 0);
	CU_ASSERT_EQUAL(memcmp(dst, want0, sizeof(want0)), 0);
	CU_ASSERT_EQUAL_FATAL(kn_fixed_from_f32(dst, src1, 5, 1, 1, NULL), 0);
	CU_ASSERT_EQUAL(memcmp(dst, want1, sizeof(want1)), 0);
}

static void
test_limit_values_convert_exactly_and_in_place(void)
{
	/* 1 worker, frac 0: the limit 2^31-1 is not a float; the largest float
	 * below it (2^31 - 128) converts exactly. */
	union { float f[4]; int32_t i[4]; } v = {
		.f = { 2147483520.0f, -2147483520.0f, 8388607.5f, 1.0f } };

	CU_ASSERT_EQUAL_FATAL(kn_fixed_from_f32(v.i, v.f, 4, 0, 1, NULL), 0);
	CU_ASSERT_EQUAL(v.i[0], 2147483520);
	CU_ASSERT_EQUAL(v.i[1], -2147483520);
	CU_ASSERT_EQUAL(v.i[2], 8388608);
	CU_ASSERT_EQUAL(v.i[3], 1);
	/* Back, in place: exact where the integer fits in 24 bits. */
	kn_fixed_to_f32(v.f, v.i, 4, 0);
	CU_ASSERT_EQUAL(v.f[0], 2147483520.0f);
	CU_ASSERT_EQUAL(v.f[2], 8388608.0f);
	CU_ASSERT_EQUAL(v.f[3], 1.0f);
}

static void
test_to_f32_divides_with_one_rounding(void)
{
	const int32_t src[] = { INT32_MIN, INT32_MAX, 3, -3, 16777217, 0, -1 };
	float dst[7];

	kn_fixed_to_f32(dst, src, 7, 1);
	CU_ASSERT_EQUAL(dst[0], -1073741824.0f);
	CU_ASSERT_EQUAL(dst[1], 1073741824.0f);  /* (2^31-1)/2 rounds to 2^30 */
	CU_ASSERT_EQUAL(dst[2], 1.5f);
	CU_ASSERT_EQUAL(dst[3], -1.5f);
	CU_ASSERT_EQUAL(dst[4], 8388608.0f);     /* 2^24+1 ties to even, / 2 */
	CU_ASSERT_EQUAL(dst[5], 0.0f);
	CU_ASSERT_EQUAL(dst[6], -0.5f);
	kn_fixed_to_f32(dst, src + 2, 1, 30);
	CU_ASSERT_EQUAL(dst[0], ldexpf(3.0f, -30));
}

/* N workers at +-limit and at random values, summed with every kernel
 * variant's wrapping int32 add: the sum is exact, as the header promises. */
static void
test_worker_sum_through_every_variant_is_exact(void)
{
	enum { N = 64, W = 256, F = 12 };
	static float vals[W][N];
	static int32_t fx[W][N];
	double lim = kn_fixed_limit(F, W);
	int64_t want[N] = { 0 };

	for (int w = 0; w < W; w++)
		for (int i = 0; i < N; i++) {
			float x;

			if (i < 2)
				x = i == 0 ? (float)lim : -(float)lim;
			else
				x = (float)((double)(kn_test_rand32() % 2000001u) /
					    1000000.0 - 1.0) * (float)lim;
			/* (float)lim may round up past the limit: step back. */
			while (fabs((double)x) > lim)
				x = nextafterf(x, 0.0f);
			vals[w][i] = x;
		}
	for (int w = 0; w < W; w++) {
		CU_ASSERT_EQUAL_FATAL(kn_fixed_from_f32(fx[w], vals[w], N, F, W, NULL), 0);
		for (int i = 0; i < N; i++) {
			/* Each conversion is within half a unit of the value. */
			CU_ASSERT_FATAL(fabs(fx[w][i] - ldexp(vals[w][i], F)) <= 0.5);
			want[i] += fx[w][i];
		}
	}
	for (int isa = KN_ISA_SCALAR; isa < KN_ISA_MAX; isa++) {
		const struct kn_ops *o = kn_ops_for((enum kn_isa)isa);
		int32_t acc[N];

		if (o == NULL) {
			printf("(skipping variant %d: not supported here) ", isa);
			continue;
		}
		memcpy(acc, fx[0], sizeof(acc));
		for (int w = 1; w < W; w++)
			o->sum_i32(acc, fx[w], N);
		for (int i = 0; i < N; i++) {
			CU_ASSERT(want[i] >= INT32_MIN && want[i] <= INT32_MAX);
			CU_ASSERT_EQUAL(acc[i], want[i]);
		}
		/* The extremes really reach most of the int32 range. */
		CU_ASSERT(acc[0] > INT32_MAX - W);
		CU_ASSERT(acc[1] < INT32_MIN + W + 1);
	}
}

int
main(void)
{
	static const struct kn_test_case cases[] = {
		{ "bad_arguments_are_refused_without_writing",
		  test_bad_arguments_are_refused_without_writing },
		{ "nan_and_inf_are_refused_with_their_index",
		  test_nan_and_inf_are_refused_with_their_index },
		{ "values_beyond_the_limit_are_refused",
		  test_values_beyond_the_limit_are_refused },
		{ "limit_is_the_largest_safe_magnitude",
		  test_limit_is_the_largest_safe_magnitude },
		{ "rounding_is_to_nearest_even", test_rounding_is_to_nearest_even },
		{ "limit_values_convert_exactly_and_in_place",
		  test_limit_values_convert_exactly_and_in_place },
		{ "to_f32_divides_with_one_rounding", test_to_f32_divides_with_one_rounding },
		{ "worker_sum_through_every_variant_is_exact",
		  test_worker_sum_through_every_variant_is_exact },
		{ NULL, NULL },
	};

	return kn_test_run("kn_fixed", suite_init, cases);
}
