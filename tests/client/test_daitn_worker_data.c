/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite daitn_worker_data: daitn-worker's inputs and reference check.
 *
 * The claims of daitn_worker_data.c are checked here by summing all ranks'
 * inputs the way the gateway's documented arithmetic does (binary32
 * accumulation, 16-bit types rounded once at the end, int32 wrap-around) in
 * several arrival orders: exact patterns must give bit-identical results in
 * every order and pass the check; random ones must pass within the bound;
 * a corrupted element must be caught at its index.
 */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daitn_test_util.h"
#include "daitn_worker_priv.h"
#include "kn_fixed.h"
#include "kn_sum.h"

#define COUNT 1500

enum order { FORWARD, REVERSE, INTERLEAVED };

static unsigned
rank_at(unsigned k, unsigned n, enum order o)
{
	if (o == FORWARD)
		return k;
	if (o == REVERSE)
		return n - 1 - k;
	return k % 2 == 0 ? k / 2 : n - 1 - k / 2; /* 0, n-1, 1, n-2, ... */
}

/* The aggregate of all ranks' round-r inputs, as the gateway computes it. */
static void
aggregate(const struct wk_gen *g, uint32_t round, void *out, size_t count, enum order o)
{
	size_t es = wk_type_size(g->type);
	uint8_t *in = malloc(count * es);
	float *acc = calloc(count, sizeof(float));
	uint32_t *iacc = calloc(count, sizeof(uint32_t));
	unsigned out_of_range = 0;

	for (unsigned k = 0; k < g->n_workers; k++) {
		wk_fill(g, rank_at(k, g->n_workers, o), round, in, count);
		for (size_t i = 0; i < count; i++) {
			switch (g->type) {
			case WK_I32:
				iacc[i] += ((uint32_t *)in)[i];
				break;
			case WK_F32_ON_I32: {
				int32_t v;

				if (kn_fixed_from_f32(&v, (float *)in + i, 1, g->frac_bits,
						      g->n_workers, NULL) != 0)
					out_of_range++;
				iacc[i] += (uint32_t)v;
				break;
			}
			case WK_BF16:
				acc[i] += kn_bf16_to_f32(((uint16_t *)in)[i]);
				break;
			case WK_F16:
				acc[i] += kn_f16_to_f32(((uint16_t *)in)[i]);
				break;
			default:
				acc[i] += ((float *)in)[i];
				break;
			}
		}
	}
	for (size_t i = 0; i < count; i++) {
		switch (g->type) {
		case WK_I32:
			((uint32_t *)out)[i] = iacc[i];
			break;
		case WK_F32_ON_I32: {
			int32_t v = (int32_t)iacc[i];

			kn_fixed_to_f32((float *)out + i, &v, 1, g->frac_bits);
			break;
		}
		case WK_BF16:
			((uint16_t *)out)[i] = kn_f32_to_bf16(acc[i]);
			break;
		case WK_F16:
			((uint16_t *)out)[i] = kn_f32_to_f16(acc[i]);
			break;
		default:
			((float *)out)[i] = acc[i];
			break;
		}
	}
	/* The generator stays inside the fixed-point limit. */
	CU_ASSERT_EQUAL(out_of_range, 0);
	free(in);
	free(acc);
	free(iacc);
}

static void
corrupt(const struct wk_gen *g, void *buf, size_t i)
{
	if (wk_type_size(g->type) == 2) {
		((uint16_t *)buf)[i] ^= 0x0004; /* a few ulps */
		return;
	}
	if (g->type == WK_I32) {
		((uint32_t *)buf)[i] += 1;
		return;
	}
	/* float32: 1 ulp for bit-exact checks, far off for bounded ones */
	if (g->pattern == WK_EXACT || g->type == WK_F32_ON_I32)
		((uint32_t *)buf)[i] += 1;
	else
		((float *)buf)[i] = ((float *)buf)[i] * 1.01f + 1.0f;
}

static void
check_case(enum wk_type t, enum wk_pattern p, unsigned n, size_t count)
{
	struct wk_gen g = { .type = t, .pattern = p, .seed = 9, .n_workers = n, .frac_bits = 12 };
	size_t es = wk_type_size(t);
	uint8_t *a = malloc(count * es), *b = malloc(count * es), *c = malloc(count * es);
	struct wk_mismatch mm;
	double worst;

	aggregate(&g, 5, a, count, FORWARD);
	aggregate(&g, 5, b, count, REVERSE);
	aggregate(&g, 5, c, count, INTERLEAVED);
	if (p == WK_EXACT || t == WK_I32 || t == WK_F32_ON_I32) {
		CU_ASSERT_EQUAL(memcmp(a, b, count * es), 0);
		CU_ASSERT_EQUAL(memcmp(a, c, count * es), 0);
	}
	CU_ASSERT_EQUAL(wk_check(&g, 5, a, count, &mm, &worst), 0);
	CU_ASSERT(worst <= 1.0);
	CU_ASSERT_EQUAL(wk_check(&g, 5, b, count, &mm, &worst), 0);
	CU_ASSERT_EQUAL(wk_check(&g, 5, c, count, &mm, &worst), 0);
	/* Another round's data does not pass for this round. */
	CU_ASSERT(wk_check(&g, 6, a, count, &mm, &worst) > count / 4);
	corrupt(&g, a, 17);
	CU_ASSERT_EQUAL(wk_check(&g, 5, a, count, &mm, &worst), 1);
	CU_ASSERT_EQUAL(mm.index, 17);
	CU_ASSERT_EQUAL(mm.n_bad, 1);
	free(a);
	free(b);
	free(c);
}

static void
test_inputs_differ_by_rank_round_and_seed(void)
{
	struct wk_gen g = { .type = WK_F32, .pattern = WK_RANDOM, .seed = 1, .n_workers = 4 };
	float a[64], b[64], c[64], d[64];

	wk_fill(&g, 0, 0, a, 64);
	wk_fill(&g, 1, 0, b, 64);
	wk_fill(&g, 0, 1, c, 64);
	CU_ASSERT(memcmp(a, b, sizeof(a)) != 0);
	CU_ASSERT(memcmp(a, c, sizeof(a)) != 0);
	g.seed = 2;
	wk_fill(&g, 0, 0, d, 64);
	CU_ASSERT(memcmp(a, d, sizeof(a)) != 0);
	g.seed = 1;
	wk_fill(&g, 0, 0, d, 64);
	CU_ASSERT_EQUAL(memcmp(a, d, sizeof(a)), 0);
}

static void
test_exact_patterns_are_order_independent_and_bit_exact(void)
{
	static const enum wk_type types[] = { WK_F32, WK_I32, WK_BF16, WK_F16, WK_F32_ON_I32 };
	static const unsigned ns[] = { 1, 3, 8 };

	for (unsigned t = 0; t < 5; t++)
		for (unsigned k = 0; k < 3; k++)
			check_case(types[t], WK_EXACT, ns[k], COUNT);
}

static void
test_exact_16_bit_patterns_hold_beyond_256_workers(void)
{
	check_case(WK_BF16, WK_EXACT, 300, 200);
	check_case(WK_F16, WK_EXACT, 1024, 100);
	check_case(WK_F32, WK_EXACT, 1024, 100);
}

static void
test_random_patterns_pass_within_the_bound(void)
{
	static const enum wk_type types[] = { WK_F32, WK_I32, WK_BF16, WK_F16, WK_F32_ON_I32 };
	static const unsigned ns[] = { 2, 7, 64 };

	for (unsigned t = 0; t < 5; t++)
		for (unsigned k = 0; k < 3; k++)
			check_case(types[t], WK_RANDOM, ns[k], ns[k] > 8 ? 300 : COUNT);
}

int
main(void)
{
	static const CU_TestInfo tests[] = {
		{ "inputs_differ_by_rank_round_and_seed",
		  test_inputs_differ_by_rank_round_and_seed },
		{ "exact_patterns_are_order_independent_and_bit_exact",
		  test_exact_patterns_are_order_independent_and_bit_exact },
		{ "exact_16_bit_patterns_hold_beyond_256_workers",
		  test_exact_16_bit_patterns_hold_beyond_256_workers },
		{ "random_patterns_pass_within_the_bound",
		  test_random_patterns_pass_within_the_bound },
		CU_TEST_INFO_NULL,
	};

	return tutil_run("daitn_worker_data", tests);
}
