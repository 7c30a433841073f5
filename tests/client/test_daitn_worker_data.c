/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite daitn_worker_data: daitn-worker's inputs and reference check.
 *
 * The claims of daitn_worker_data.c are checked here by summing all ranks'
 * inputs the way the gateway's documented arithmetic does (binary32
 * accumulation, 16-bit types rounded once at the end, int32 wrap-around) in
 * several arrival orders: exact patterns must give bit-identical results in
 * every order and pass the check; random ones must pass within the bound;
 * a corrupted element must be caught at its index. With order_exact a float
 * result must be the forward (rank-order) aggregate to the bit. Also the
 * SHA-256 of --digest against the FIPS 180-4 / NIST known answers.
 */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daitn_test_util.h"
#include "daitn_worker_priv.h"
#include "kn_fixed.h"
#include "kn_sum.h"
#include "wk_sha256.h"

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

/* The aggregate of the round-r inputs of the ranks in mask (bit r: rank r;
 * ranks past 63 always), as the gateway computes it. */
static void
aggregate_ranks(const struct wk_gen *g, uint32_t round, void *out, size_t count, enum order o,
		uint64_t mask)
{
	size_t es = wk_type_size(g->type);
	uint8_t *in = malloc(count * es);
	float *acc = calloc(count, sizeof(float));
	uint32_t *iacc = calloc(count, sizeof(uint32_t));
	unsigned out_of_range = 0;

	for (unsigned k = 0; k < g->n_workers; k++) {
		unsigned r = rank_at(k, g->n_workers, o);

		if (r < 64 && !((mask >> r) & 1u))
			continue;
		wk_fill(g, r, round, in, count);
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

/* The aggregate of all ranks' round-r inputs. */
static void
aggregate(const struct wk_gen *g, uint32_t round, void *out, size_t count, enum order o)
{
	aggregate_ranks(g, round, out, count, o, ~0ull);
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
	CU_ASSERT_EQUAL(wk_check(&g, 5, a, count, NULL, &mm, &worst), 0);
	CU_ASSERT(worst <= 1.0);
	CU_ASSERT_EQUAL(wk_check(&g, 5, b, count, NULL, &mm, &worst), 0);
	CU_ASSERT_EQUAL(wk_check(&g, 5, c, count, NULL, &mm, &worst), 0);
	/* Another round's data does not pass for this round. */
	CU_ASSERT(wk_check(&g, 6, a, count, NULL, &mm, &worst) > count / 4);
	corrupt(&g, a, 17);
	CU_ASSERT_EQUAL(wk_check(&g, 5, a, count, NULL, &mm, &worst), 1);
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


static void
test_sha256_known_answers(void)
{
	static const char m448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char hex[WK_SHA256_HEX_SIZE];

	wk_sha256_hex_of("", 0, hex);
	CU_ASSERT_STRING_EQUAL(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	wk_sha256_hex_of(NULL, 0, hex);
	CU_ASSERT_STRING_EQUAL(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	wk_sha256_hex_of("abc", 3, hex);
	CU_ASSERT_STRING_EQUAL(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	wk_sha256_hex_of(m448, strlen(m448), hex);
	CU_ASSERT_STRING_EQUAL(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* One million 'a' in pieces that start and end everywhere in a block, with
 * empty updates between them; and all at once. */
static void
test_sha256_million_a_in_uneven_pieces(void)
{
	static const size_t pieces[] = { 1, 63, 64, 65, 0, 127, 128, 129, 55, 56, 57, 3, 1000 };
	static const char want[] =
		"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	char *a = malloc(1000000), hex[WK_SHA256_HEX_SIZE];
	uint8_t md[WK_SHA256_SIZE];
	struct wk_sha256 c;
	size_t done = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	memset(a, 'a', 1000000);
	wk_sha256_init(&c);
	for (unsigned k = 0; done < 1000000; k++) {
		size_t n = pieces[k % (sizeof(pieces) / sizeof(pieces[0]))];

		if (n > 1000000 - done)
			n = 1000000 - done;
		wk_sha256_update(&c, a + done, n);
		done += n;
	}
	wk_sha256_final(&c, md);
	wk_sha256_hex(md, hex);
	CU_ASSERT_STRING_EQUAL(hex, want);
	wk_sha256_hex_of(a, 1000000, hex);
	CU_ASSERT_STRING_EQUAL(hex, want);
	free(a);
}

static size_t
count_differing(const void *a, const void *b, size_t count, size_t es)
{
	size_t n = 0;

	for (size_t i = 0; i < count; i++)
		n += memcmp((const uint8_t *)a + i * es, (const uint8_t *)b + i * es, es) != 0;
	return n;
}

/* With order_exact, a float result one ulp away from the rank-order fold
 * fails, in both patterns, and any other order passes only where it gives
 * the same bits as the fold. */
static void
test_order_exact_rejects_one_ulp_and_other_orders(void)
{
	static const enum wk_type types[] = { WK_F32, WK_BF16, WK_F16 };
	static const enum wk_pattern patterns[] = { WK_EXACT, WK_RANDOM };
	static const unsigned ns[] = { 1, 4, 7 };

	for (unsigned t = 0; t < 3; t++)
		for (unsigned p = 0; p < 2; p++)
			for (unsigned k = 0; k < 3; k++) {
				struct wk_gen g = { .type = types[t], .pattern = patterns[p], .seed = 9,
						    .n_workers = ns[k], .order_exact = true };
				size_t es = wk_type_size(g.type);
				uint8_t *a = malloc(COUNT * es), *b = malloc(COUNT * es);
				struct wk_mismatch mm;
				uint32_t bits = 0;
				double worst;

				aggregate(&g, 5, a, COUNT, FORWARD);
				CU_ASSERT_EQUAL(wk_check(&g, 5, a, COUNT, NULL, &mm, &worst), 0);
				CU_ASSERT_EQUAL(worst, 0.0);
				aggregate(&g, 5, b, COUNT, REVERSE);
				CU_ASSERT_EQUAL(wk_check(&g, 5, b, COUNT, NULL, &mm, &worst),
						count_differing(a, b, COUNT, es));
				aggregate(&g, 5, b, COUNT, INTERLEAVED);
				CU_ASSERT_EQUAL(wk_check(&g, 5, b, COUNT, NULL, &mm, &worst),
						count_differing(a, b, COUNT, es));
				/* One ulp up in magnitude: the next bit pattern. */
				memcpy(&bits, a + 17 * es, es);
				if (es == 2)
					((uint16_t *)a)[17]++;
				else
					((uint32_t *)a)[17]++;
				CU_ASSERT_EQUAL(wk_check(&g, 5, a, COUNT, NULL, &mm, &worst), 1);
				CU_ASSERT_EQUAL(mm.index, 17);
				CU_ASSERT_EQUAL(mm.expected_bits, bits);
				CU_ASSERT_EQUAL(mm.got_bits, bits + 1);
				CU_ASSERT_EQUAL(mm.bound, 0.0);
				free(a);
				free(b);
			}
}

/* Random float32 on 4 ranks: find (deterministically) an element where the
 * ascending and the descending folds differ. Both pass the bounded check;
 * with order_exact only the ascending one does, failing exactly where they
 * differ. (16-bit types almost never show the order: their inputs have 8 or
 * 11 significant bits, so binary32 partial sums are nearly always exact, and
 * the final narrowing hides the rest; none in 2^20 elements on 4 ranks.) */
static void
test_order_exact_tells_ascending_from_descending_ranks(void)
{
	struct wk_gen g = { .type = WK_F32, .pattern = WK_RANDOM, .n_workers = 4 };
	float *asc = malloc(COUNT * sizeof(float)), *desc = malloc(COUNT * sizeof(float));
	size_t first = COUNT, n_diff = 0;
	struct wk_mismatch mm;
	double worst;

	for (g.seed = 1; g.seed <= 64 && first == COUNT; g.seed++) {
		aggregate(&g, 0, asc, COUNT, FORWARD);
		aggregate(&g, 0, desc, COUNT, REVERSE);
		for (size_t i = 0; i < COUNT && first == COUNT; i++)
			if (memcmp(&asc[i], &desc[i], sizeof(float)) != 0)
				first = i;
	}
	CU_ASSERT_FATAL(first < COUNT);
	g.seed--;
	n_diff = count_differing(asc, desc, COUNT, sizeof(float));
	CU_ASSERT_EQUAL(wk_check(&g, 0, asc, COUNT, NULL, &mm, &worst), 0);
	CU_ASSERT_EQUAL(wk_check(&g, 0, desc, COUNT, NULL, &mm, &worst), 0);
	g.order_exact = true;
	CU_ASSERT_EQUAL(wk_check(&g, 0, asc, COUNT, NULL, &mm, &worst), 0);
	CU_ASSERT_EQUAL(wk_check(&g, 0, desc, COUNT, NULL, &mm, &worst), n_diff);
	CU_ASSERT_EQUAL(mm.index, first);
	CU_ASSERT_EQUAL(mm.expected, asc[first]);
	CU_ASSERT_EQUAL(mm.got, desc[first]);
	free(asc);
	free(desc);
}

/* int32 and float32-on-int32 were bit-exact already: order_exact changes
 * nothing for them (every order passes, a corrupted element fails). */
static void
test_order_exact_leaves_integer_checks_alone(void)
{
	static const enum wk_type types[] = { WK_I32, WK_F32_ON_I32 };

	for (unsigned t = 0; t < 2; t++) {
		struct wk_gen g = { .type = types[t], .pattern = WK_RANDOM, .seed = 9, .n_workers = 4,
				    .frac_bits = 12, .order_exact = true };
		uint32_t a[COUNT], b[COUNT];
		struct wk_mismatch mm;
		double worst;

		aggregate(&g, 5, a, COUNT, FORWARD);
		aggregate(&g, 5, b, COUNT, REVERSE);
		CU_ASSERT_EQUAL(wk_check(&g, 5, a, COUNT, NULL, &mm, &worst), 0);
		CU_ASSERT_EQUAL(wk_check(&g, 5, b, COUNT, NULL, &mm, &worst), 0);
		a[17]++;
		CU_ASSERT_EQUAL(wk_check(&g, 5, a, COUNT, NULL, &mm, &worst), 1);
		CU_ASSERT_EQUAL(mm.index, 17);
	}
}

/* A partial job's result, chunk by chunk: chunk 0 of all 4 ranks, chunk 1
 * without rank 2, chunk 2 of rank 1 alone (the first present rank is not
 * rank 0). With the chunks' masks it passes for every type and pattern,
 * also against the fold (order_exact); against all ranks it fails, and the
 * all-ranks result fails against the masks, only in the masked chunks. */
static void
test_masked_chunks_sum_only_their_ranks(void)
{
	static const enum wk_type types[] = { WK_F32, WK_I32, WK_BF16, WK_F16, WK_F32_ON_I32 };
	static const uint8_t no2[1] = { 0x0b }, only1[1] = { 0x02 };
	const uint8_t *const maps[3] = { NULL, no2, only1 };
	const struct wk_ranks ranks = { .chunk_elems = COUNT / 3, .n_chunks = 3, .maps = maps };

	for (unsigned t = 0; t < 5; t++)
		for (unsigned p = 0; p < 2; p++)
			for (int ox = 0; ox < 2; ox++) {
				struct wk_gen g = { .type = types[t], .pattern = p ? WK_RANDOM : WK_EXACT,
						    .seed = 9, .n_workers = 4, .frac_bits = 12,
						    .order_exact = ox != 0 };
				size_t es = wk_type_size(g.type), third = COUNT / 3 * es;
				uint8_t *full = malloc(COUNT * es), *got = malloc(COUNT * es);
				uint8_t *part = malloc(COUNT * es);
				struct wk_mismatch mm;
				double worst;
				size_t bad;

				aggregate(&g, 5, full, COUNT, FORWARD);
				memcpy(got, full, third);
				aggregate_ranks(&g, 5, part, COUNT, FORWARD, 0x0b);
				memcpy(got + third, part + third, third);
				aggregate_ranks(&g, 5, part, COUNT, FORWARD, 0x02);
				memcpy(got + 2 * third, part + 2 * third, third);
				CU_ASSERT_EQUAL(wk_check(&g, 5, got, COUNT, &ranks, &mm, &worst), 0);
				CU_ASSERT(worst <= 1.0);
				bad = wk_check(&g, 5, got, COUNT, NULL, &mm, &worst);
				CU_ASSERT(bad > COUNT / 3);
				CU_ASSERT(mm.index >= COUNT / 3);
				bad = wk_check(&g, 5, full, COUNT, &ranks, &mm, &worst);
				CU_ASSERT(bad > COUNT / 3);
				CU_ASSERT(mm.index >= COUNT / 3);
				/* A wrong element inside the masked chunk is still found. */
				corrupt(&g, got, COUNT / 3 + 17);
				CU_ASSERT_EQUAL(wk_check(&g, 5, got, COUNT, &ranks, &mm, &worst), 1);
				CU_ASSERT_EQUAL(mm.index, COUNT / 3 + 17);
				free(full);
				free(got);
				free(part);
			}
}

/* A fedavg job's result as the wire makes it, written here independently
 * of the checker: each rank's w * x rounded to the type (weights all 1 when
 * unweighted), products and weights added in order o in binary32, both
 * rounded to the type, one division rounded to the type. */
static void
weighted_mean(const struct wk_gen *g, uint32_t round, void *out, size_t count, enum order o,
	      bool unweighted)
{
	size_t es = wk_type_size(g->type);
	uint8_t *in = malloc(count * es);
	float *num = calloc(count, sizeof(float)), den = 0.0f;

	for (unsigned k = 0; k < g->n_workers; k++) {
		unsigned r = rank_at(k, g->n_workers, o);
		float w = unweighted ? 1.0f : (float)wk_weight(r, round);

		wk_fill(g, r, round, in, count);
		for (size_t i = 0; i < count; i++) {
			if (g->type == WK_BF16)
				num[i] += kn_bf16_to_f32(kn_f32_to_bf16(
					w * kn_bf16_to_f32(((uint16_t *)in)[i])));
			else if (g->type == WK_F16)
				num[i] += kn_f16_to_f32(kn_f32_to_f16(
					w * kn_f16_to_f32(((uint16_t *)in)[i])));
			else
				num[i] += w * ((float *)in)[i];
		}
		den += w;
	}
	for (size_t i = 0; i < count; i++) {
		if (g->type == WK_BF16)
			((uint16_t *)out)[i] = kn_f32_to_bf16(
				kn_bf16_to_f32(kn_f32_to_bf16(num[i])) /
				kn_bf16_to_f32(kn_f32_to_bf16(den)));
		else if (g->type == WK_F16)
			((uint16_t *)out)[i] = kn_f32_to_f16(
				kn_f16_to_f32(kn_f32_to_f16(num[i])) /
				kn_f16_to_f32(kn_f32_to_f16(den)));
		else
			((float *)out)[i] = num[i] / den;
	}
	free(in);
	free(num);
}

/* The weighted mean passes in every order (bit-exact for exact patterns,
 * and against the rank-order fold with order_exact); the plain mean, the
 * sum and a changed element do not. */
static void
test_fedavg_checks_the_weighted_mean(void)
{
	static const enum wk_type types[] = { WK_F32, WK_BF16, WK_F16 };
	static const enum order orders[] = { FORWARD, REVERSE, INTERLEAVED };

	for (unsigned t = 0; t < 3; t++)
		for (unsigned p = 0; p < 2; p++) {
			struct wk_gen g = { .type = types[t], .pattern = p ? WK_RANDOM : WK_EXACT,
					    .seed = 9, .n_workers = 5, .fedavg = true };
			size_t es = wk_type_size(g.type);
			uint8_t *a = malloc(COUNT * es), *b = malloc(COUNT * es);
			struct wk_mismatch mm;
			double worst;

			for (unsigned o = 0; o < 3; o++) {
				weighted_mean(&g, 5, a, COUNT, orders[o], false);
				CU_ASSERT_EQUAL(wk_check(&g, 5, a, COUNT, NULL, &mm, &worst), 0);
				CU_ASSERT(worst <= 1.0);
			}
			weighted_mean(&g, 5, a, COUNT, FORWARD, false);
			g.order_exact = true;
			CU_ASSERT_EQUAL(wk_check(&g, 5, a, COUNT, NULL, &mm, &worst), 0);
			g.order_exact = false;
			weighted_mean(&g, 5, b, COUNT, FORWARD, true);
			CU_ASSERT(wk_check(&g, 5, b, COUNT, NULL, &mm, &worst) > COUNT / 4);
			g.fedavg = false;
			aggregate(&g, 5, b, COUNT, FORWARD);
			g.fedavg = true;
			CU_ASSERT(wk_check(&g, 5, b, COUNT, NULL, &mm, &worst) > COUNT / 4);
			CU_ASSERT(wk_check(&g, 6, a, COUNT, NULL, &mm, &worst) > COUNT / 4);
			if (g.pattern == WK_EXACT) {
				corrupt(&g, a, 17);
				CU_ASSERT_EQUAL(wk_check(&g, 5, a, COUNT, NULL, &mm, &worst), 1);
				CU_ASSERT_EQUAL(mm.index, 17);
			}
			free(a);
			free(b);
		}
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
		{ "order_exact_rejects_one_ulp_and_other_orders",
		  test_order_exact_rejects_one_ulp_and_other_orders },
		{ "order_exact_tells_ascending_from_descending_ranks",
		  test_order_exact_tells_ascending_from_descending_ranks },
		{ "order_exact_leaves_integer_checks_alone",
		  test_order_exact_leaves_integer_checks_alone },
		{ "masked_chunks_sum_only_their_ranks", test_masked_chunks_sum_only_their_ranks },
		{ "fedavg_checks_the_weighted_mean", test_fedavg_checks_the_weighted_mean },
		{ "sha256_known_answers", test_sha256_known_answers },
		{ "sha256_million_a_in_uneven_pieces", test_sha256_million_a_in_uneven_pieces },
		CU_TEST_INFO_NULL,
	};

	return tutil_run("daitn_worker_data", tests);
}
