/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite kn_sum: every SIMD variant the CPU can run against the scalar
 * reference, bit for bit, on random and edge-case inputs, odd tails,
 * unaligned pointers and in-place narrowing; plus the reference conversions
 * against hand-computed values. Variants the CPU or build cannot run are
 * skipped with a note.
 */
#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kn_sum.h"
#include "kn_test_priv.h"

#define GUARD 64
#define CANARY 0xa5

enum op {
	OP_SUM_F32, OP_SUM_I32, OP_SUM_BF16, OP_SUM_F16,
	OP_LOAD_BF16, OP_LOAD_F16, OP_STORE_BF16, OP_STORE_F16, OP_MAX
};

static const char *const op_names[OP_MAX] = {
	"sum_f32", "sum_i32", "sum_bf16", "sum_f16",
	"load_bf16", "load_f16", "store_bf16", "store_f16",
};

static const struct kn_ops *ref;
static const struct kn_ops *simd[KN_ISA_MAX];
static int n_simd;

/* Bytes per element of the written operand (acc or dst) and of the input. */
static size_t
op_out_size(enum op op)
{
	return op >= OP_STORE_BF16 ? 2 : 4;
}

static size_t
op_in_size(enum op op)
{
	return op == OP_SUM_F32 || op == OP_SUM_I32 || op >= OP_STORE_BF16 ? 4 : 2;
}

static void
op_call(const struct kn_ops *o, enum op op, void *out, const void *in, size_t n)
{
	switch (op) {
	case OP_SUM_F32: o->sum_f32(out, in, n); break;
	case OP_SUM_I32: o->sum_i32(out, in, n); break;
	case OP_SUM_BF16: o->sum_bf16(out, in, n); break;
	case OP_SUM_F16: o->sum_f16(out, in, n); break;
	case OP_LOAD_BF16: o->load_bf16(out, in, n); break;
	case OP_LOAD_F16: o->load_f16(out, in, n); break;
	case OP_STORE_BF16: o->store_bf16(out, in, n); break;
	case OP_STORE_F16: o->store_f16(out, in, n); break;
	default: abort();
	}
}

static const uint32_t f32_specials[] = {
	0x00000000, 0x80000000,             /* +-0 */
	0x7f800000, 0xff800000,             /* +-Inf */
	0x7fc00000, 0xffc00000,             /* default quiet NaNs */
	0x7fa00001, 0xff800001,             /* signalling NaNs with payload */
	0x7fc12345, 0xffdeadbe,             /* quiet NaNs with payload */
	0x7f7fffff, 0xff7fffff,             /* +-FLT_MAX */
	0x00800000, 0x80800000,             /* +-FLT_MIN */
	0x00000001, 0x80000001,             /* smallest denormals */
	0x007fffff, 0x807fffff,             /* largest denormals */
	0x00008000, 0x00018000,             /* denormal bf16 rounding ties */
	0x3f800000, 0xbf800000,             /* +-1 */
	0x3f808000, 0x3f818000,             /* bf16 ties to even, both ways */
	0x477fe000, 0x477ff000, 0x477fefff, /* f16 max, overflow tie, below */
	0x33000000, 0x33000001, 0x33c00000, /* f16 denormal ties */
	0x38800000, 0x387fffff,             /* f16 normal/denormal boundary */
	0x7f7f8000, 0x4b800001,
};
#define N_SPECIALS (sizeof(f32_specials) / sizeof(f32_specials[0]))

static const uint16_t h16_specials[] = {
	0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x7d00, 0xfc01, 0x0001,
	0x03ff, 0x8001, 0x7bff, 0x7f80, 0xff80, 0x7fc0, 0x7f81, 0x0080,
	0x007f, 0x3c00, 0x3f80,
};
#define N_H16_SPECIALS (sizeof(h16_specials) / sizeof(h16_specials[0]))

static uint32_t
gen_f32_bits(void)
{
	uint32_t r = kn_test_rand32();

	switch (r & 3) {
	case 0:
		return f32_specials[(r >> 2) % N_SPECIALS];
	case 1:
		return kn_test_rand32();
	default: {
		/* Ordinary magnitudes, where sums round and cancel. */
		int32_t m = (int32_t)(kn_test_rand32() % 2000001u) - 1000000;
		int e = (int)(kn_test_rand32() % 48u) - 34;
		float f = (float)m;

		for (; e > 0; e--)
			f *= 2.0f;
		for (; e < 0; e++)
			f *= 0.5f;
		return kn_test_bits_of(f);
	}
	}
}

static uint16_t
gen_h16(void)
{
	uint32_t r = kn_test_rand32();

	return (r & 3) == 0 ? h16_specials[(r >> 2) % N_H16_SPECIALS]
			    : (uint16_t)(r >> 16);
}

/* Fill n elements of esize bytes for the input of op (or its accumulator). */
static void
gen_operand(enum op op, int is_acc, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (op == OP_SUM_I32) {
			uint32_t v = kn_test_rand32();

			memcpy(p + 4 * i, &v, 4);
		} else if (is_acc || op_in_size(op) == 4) {
			uint32_t v = gen_f32_bits();

			memcpy(p + 4 * i, &v, 4);
		} else {
			uint16_t v = gen_h16();

			memcpy(p + 2 * i, &v, 2);
		}
	}
}

static int
guards_intact(const uint8_t *arena, size_t size, size_t a_off, size_t a_len,
	      size_t b_off, size_t b_len)
{
	for (size_t i = 0; i < size; i++) {
		int in_a = i >= a_off && i < a_off + a_len;
		int in_b = i >= b_off && i < b_off + b_len;

		if (!in_a && !in_b && arena[i] != CANARY)
			return 0;
	}
	return 1;
}

static unsigned long long
elem_at(const uint8_t *p, size_t es)
{
	uint32_t v32;
	uint16_t v16;

	if (es == 4) {
		memcpy(&v32, p, 4);
		return v32;
	}
	memcpy(&v16, p, 2);
	return v16;
}

/*
 * Run op with the scalar reference and with variant v on identical arenas:
 * guard | out at off_a | guard | in at off_b | guard. acc_init (4n bytes)
 * seeds the accumulator of sums, in_init the input. in_place narrows the
 * input buffer onto itself (stores only). Returns 1 on a mismatch, after
 * printing the first differing element.
 */
static int
run_case(const struct kn_ops *v, enum op op, const uint8_t *acc_init,
	 const uint8_t *in_init, size_t n, size_t off_a, size_t off_b,
	 int in_place)
{
	size_t es = op_out_size(op), in_len = op_in_size(op) * n;
	size_t a = GUARD + off_a, b = a + 4 * n + GUARD + off_b;
	size_t size = b + in_len + GUARD, alloc = (size + 63) & ~(size_t)63;
	size_t base = in_place ? b : a, a_len = in_place ? 0 : es * n;
	uint8_t *ar = aligned_alloc(64, alloc);
	uint8_t *av = aligned_alloc(64, alloc);
	int bad = 0;

	if (ar == NULL || av == NULL) {
		free(ar);
		free(av);
		CU_FAIL_FATAL("out of memory");
		return 1;
	}
	memset(ar, CANARY, size);
	if (acc_init != NULL)
		memcpy(ar + a, acc_init, 4 * n);
	memcpy(ar + b, in_init, in_len);
	memcpy(av, ar, size);

	op_call(ref, op, ar + base, ar + b, n);
	op_call(v, op, av + base, av + b, n);

	if (!guards_intact(ar, size, a, a_len, b, in_len) ||
	    !guards_intact(av, size, a, a_len, b, in_len) ||
	    (!in_place && memcmp(av + b, in_init, in_len) != 0)) {
		printf("\n  %s/%s n=%zu off=%zu/%zu%s: wrote outside its output\n",
		       v->name, op_names[op], n, off_a, off_b,
		       in_place ? " in place" : "");
		bad = 1;
	}
	for (size_t e = 0; e < n && !bad; e++) {
		unsigned long long r = elem_at(ar + base + es * e, es);
		unsigned long long x = elem_at(av + base + es * e, es);

		if (r == x)
			continue;
		printf("\n  %s/%s n=%zu off=%zu/%zu%s: element %zu: input 0x%llx, "
		       "scalar 0x%0*llx, %s 0x%0*llx\n",
		       v->name, op_names[op], n, off_a, off_b,
		       in_place ? " in place" : "", e,
		       elem_at(in_init + op_in_size(op) * e, op_in_size(op)),
		       (int)(2 * es), r, v->name, (int)(2 * es), x);
		bad = 1;
	}
	free(ar);
	free(av);
	return bad;
}

static int
suite_init(void)
{
	static const char *const want[] = { "avx2", "avx512", "avx512bf16" };
	const struct kn_ops *all[8];
	size_t n = kn_ops_list(all, 8);

	kn_test_seed("kn_sum");
	ref = kn_ops_for(KN_ISA_SCALAR);
	if (ref == NULL || n == 0 || all[0] != ref)
		return 1;
	for (size_t i = 1; i < n && n_simd < KN_ISA_MAX; i++)
		simd[n_simd++] = all[i];
	/* Name what is not tested here, and why, rather than pass silently. */
	for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
		int found = 0;

		for (int k = 0; k < n_simd; k++)
			found |= strcmp(simd[k]->name, want[w]) == 0;
		if (!found)
			printf("kn_sum: NOTE: skipping variant %s: this CPU or build "
			       "cannot run it\n", want[w]);
	}
	printf("kn_sum: comparing with scalar:");
	for (int k = 0; k < n_simd; k++)
		printf(" %s", simd[k]->name);
	printf("\n");
	return 0;
}

/* Run op on every SIMD variant; counts mismatching cases. */
static int
run_all(enum op op, const uint8_t *acc_init, const uint8_t *in_init, size_t n,
	size_t off_a, size_t off_b, int in_place)
{
	int bad = 0;

	for (int k = 0; k < n_simd; k++)
		bad += run_case(simd[k], op, acc_init, in_init, n, off_a, off_b,
				in_place);
	return bad;
}

static void
test_zero_count_touches_nothing(void)
{
	const struct kn_ops *all[KN_ISA_MAX + 1] = { ref };
	uint8_t buf[64], in[64];

	memcpy(all + 1, simd, sizeof(simd[0]) * (size_t)n_simd);
	memset(in, 0x3c, sizeof(in));
	for (int k = 0; k <= n_simd; k++)
		for (int op = 0; op < OP_MAX; op++) {
			memset(buf, CANARY, sizeof(buf));
			op_call(all[k], (enum op)op, NULL, NULL, 0);
			op_call(all[k], (enum op)op, buf + 3, in + 1, 0);
			for (size_t i = 0; i < sizeof(buf); i++)
				CU_ASSERT_EQUAL_FATAL(buf[i], CANARY);
		}
}

static void
test_reference_conversions_match_hand_computed_values(void)
{
	static const struct { uint32_t f; uint16_t bf, h; } narrow[] = {
		{ 0x3f800000, 0x3f80, 0x3c00 },  /* 1.0 */
		{ 0x80000000, 0x8000, 0x8000 },  /* -0 */
		{ 0x3f808000, 0x3f80, 0x3c04 },  /* bf16 tie, even stays */
		{ 0x3f818000, 0x3f82, 0x3c0c },  /* bf16 tie, odd goes up */
		{ 0x7f7fffff, 0x7f80, 0x7c00 },  /* FLT_MAX overflows to Inf */
		{ 0xff800000, 0xff80, 0xfc00 },  /* -Inf */
		{ 0x7fa00001, 0x7fe0, 0x7f00 },  /* sNaN quietened, payload kept */
		{ 0xffc00001, 0xffc0, 0xfe00 },  /* -qNaN */
		{ 0x00008000, 0x0000, 0x0000 },  /* denormal tie to even 0 */
		{ 0x00018000, 0x0002, 0x0000 },  /* denormal tie up to even */
		{ 0x807fffff, 0x8080, 0x8000 },  /* largest denormal rounds up */
		{ 0x477fe000, 0x4780, 0x7bff },  /* 65504, f16 max */
		{ 0x477ff000, 0x4780, 0x7c00 },  /* 65520: f16 tie to Inf */
		{ 0x477fefff, 0x4780, 0x7bff },  /* just below the tie */
		{ 0x33800000, 0x3380, 0x0001 },  /* 2^-24, smallest f16 */
		{ 0x33000000, 0x3300, 0x0000 },  /* 2^-25: tie to even 0 */
		{ 0x33000001, 0x3300, 0x0001 },  /* just above it */
		{ 0x33c00000, 0x33c0, 0x0002 },  /* 1.5 * 2^-24: tie to 2 */
		{ 0x387fc000, 0x3880, 0x03ff },  /* largest f16 denormal */
		{ 0x387ff000, 0x3880, 0x0400 },  /* rounds up to the smallest normal */
	};
	static const struct { uint16_t h; uint32_t f; } f16_widen[] = {
		{ 0x0001, 0x33800000 }, { 0x83ff, 0xb87fc000 }, { 0x7c00, 0x7f800000 },
		{ 0x7c01, 0x7fc02000 }, { 0xfe00, 0xffc00000 }, { 0x7bff, 0x477fe000 },
		{ 0x0400, 0x38800000 }, { 0x8000, 0x80000000 },
	};

	for (size_t i = 0; i < sizeof(narrow) / sizeof(narrow[0]); i++) {
		float f = kn_test_f32_of(narrow[i].f);

		CU_ASSERT_EQUAL(kn_f32_to_bf16(f), narrow[i].bf);
		CU_ASSERT_EQUAL(kn_f32_to_f16(f), narrow[i].h);
		if (kn_f32_to_bf16(f) != narrow[i].bf || kn_f32_to_f16(f) != narrow[i].h)
			printf("\n  0x%08x -> bf16 0x%04x f16 0x%04x\n", narrow[i].f,
			       kn_f32_to_bf16(f), kn_f32_to_f16(f));
	}
	for (size_t i = 0; i < sizeof(f16_widen) / sizeof(f16_widen[0]); i++)
		CU_ASSERT_EQUAL(kn_test_bits_of(kn_f16_to_f32(f16_widen[i].h)),
				f16_widen[i].f);
	/* bfloat16 widening is exact bit placement, signalling NaNs included. */
	CU_ASSERT_EQUAL(kn_test_bits_of(kn_bf16_to_f32(0x7f81)), 0x7f810000u);
	CU_ASSERT_EQUAL(kn_test_bits_of(kn_bf16_to_f32(0x8001)), 0x80010000u);
	/* Every f16 value survives a round trip; non-NaN bf16 values too. */
	for (uint32_t h = 0; h < 0x10000; h++) {
		int f16_nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
		int bf16_nan = (h & 0x7f80) == 0x7f80 && (h & 0x7f);

		if (!f16_nan)
			CU_ASSERT_EQUAL_FATAL(kn_f32_to_f16(kn_f16_to_f32((uint16_t)h)), h);
		if (!bf16_nan)
			CU_ASSERT_EQUAL_FATAL(kn_f32_to_bf16(kn_bf16_to_f32((uint16_t)h)), h);
	}
}

static void
test_scalar_sum_keeps_denormals_and_ieee_specials(void)
{
	float acc[6] = { kn_test_f32_of(0x00000001), kn_test_f32_of(0x7f800000),
			 kn_test_f32_of(0x7f7fffff), kn_test_f32_of(0x80000000),
			 kn_test_f32_of(0x7fa00001), kn_test_f32_of(0x3f800000) };
	const float src[6] = { kn_test_f32_of(0x00000001), kn_test_f32_of(0xff800000),
			       kn_test_f32_of(0x7f7fffff), kn_test_f32_of(0x80000000),
			       kn_test_f32_of(0xffc12345), kn_test_f32_of(0xff812345) };
	int32_t iacc[2] = { INT32_MAX, INT32_MIN };
	const int32_t isrc[2] = { 1, -1 };

	ref->sum_f32(acc, src, 6);
	CU_ASSERT_EQUAL(kn_test_bits_of(acc[0]), 0x00000002u); /* no FTZ/DAZ */
	CU_ASSERT_EQUAL(kn_test_bits_of(acc[1]), 0xffc00000u); /* Inf - Inf */
	CU_ASSERT_EQUAL(kn_test_bits_of(acc[2]), 0x7f800000u); /* overflow */
	CU_ASSERT_EQUAL(kn_test_bits_of(acc[3]), 0x80000000u); /* -0 + -0 */
	/* NaN + NaN: the accumulator's, quietened; x + sNaN: the sNaN, quietened. */
	CU_ASSERT_EQUAL(kn_test_bits_of(acc[4]), 0x7fe00001u);
	CU_ASSERT_EQUAL(kn_test_bits_of(acc[5]), 0xffc12345u);
	ref->sum_i32(iacc, isrc, 2);
	CU_ASSERT_EQUAL(iacc[0], INT32_MIN);
	CU_ASSERT_EQUAL(iacc[1], INT32_MAX);
}

static void
test_variants_match_scalar_on_random_inputs_sizes_and_alignments(void)
{
	static const size_t offs[][2] = {
		{ 0, 0 }, { 4, 8 }, { 1, 3 }, { 2, 6 }, { 60, 4 }, { 32, 34 },
	};
	static const size_t big[] = { 127, 128, 129, 255, 256, 257, 1000, 4099 };
	size_t max_n = 4099;
	uint8_t *acc = malloc(4 * max_n), *in = malloc(4 * max_n);
	int bad = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(acc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	for (size_t s = 0; s <= 70 + sizeof(big) / sizeof(big[0]); s++) {
		size_t n = s <= 70 ? s : big[s - 71];

		for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++)
			for (int op = 0; op < OP_MAX; op++) {
				int sum = op <= OP_SUM_F16;

				gen_operand((enum op)op, 1, acc, n);
				gen_operand((enum op)op, 0, in, n);
				bad += run_all((enum op)op, sum ? acc : NULL, in, n,
					       offs[o][0], offs[o][1], 0);
				if (op >= OP_STORE_BF16)
					bad += run_all((enum op)op, NULL, in, n, 0,
						       offs[o][1], 1);
			}
	}
	CU_ASSERT_EQUAL(bad, 0);
	free(acc);
	free(in);
}

static void
test_sum_f32_every_pair_of_specials_matches_scalar(void)
{
	uint32_t acc[N_SPECIALS * N_SPECIALS], src[N_SPECIALS * N_SPECIALS];
	size_t n = 0;

	/* Both orders of every pair: NaN + NaN keeps the accumulator's NaN. */
	for (size_t i = 0; i < N_SPECIALS; i++)
		for (size_t j = 0; j < N_SPECIALS; j++, n++) {
			acc[n] = f32_specials[i];
			src[n] = f32_specials[j];
		}
	CU_ASSERT_EQUAL(run_all(OP_SUM_F32, (uint8_t *)acc, (uint8_t *)src, n,
				0, 0, 0), 0);
	CU_ASSERT_EQUAL(run_all(OP_SUM_F32, (uint8_t *)acc, (uint8_t *)src, n - 5,
				4, 12, 0), 0);
	CU_ASSERT_EQUAL(run_all(OP_STORE_BF16, NULL, (uint8_t *)acc, n, 0, 2, 0), 0);
	CU_ASSERT_EQUAL(run_all(OP_STORE_F16, NULL, (uint8_t *)acc, n, 0, 2, 0), 0);
}

static void
test_sum_i32_wraps_around_like_scalar(void)
{
	static const int32_t vals[] = { INT32_MAX, INT32_MIN, -1, 1, 0,
					INT32_MAX - 7, INT32_MIN + 7, 0x40000000 };
	enum { NV = sizeof(vals) / sizeof(vals[0]) };
	int32_t acc[NV * NV], src[NV * NV], want[NV * NV];

	for (size_t i = 0; i < NV; i++)
		for (size_t j = 0; j < NV; j++) {
			acc[i * NV + j] = vals[i];
			src[i * NV + j] = vals[j];
			want[i * NV + j] = (int32_t)((uint32_t)vals[i] + (uint32_t)vals[j]);
		}
	CU_ASSERT_EQUAL(run_all(OP_SUM_I32, (uint8_t *)acc, (uint8_t *)src, NV * NV,
				0, 4, 0), 0);
	ref->sum_i32(acc, src, NV * NV);
	CU_ASSERT_EQUAL(memcmp(acc, want, sizeof(want)), 0);

	/* Any arrival order gives the exact sum when the total fits, even if a
	 * partial sum wraps: MAX + 5 - 7 = MAX - 2. */
	for (int k = -1; k < n_simd; k++) {
		const struct kn_ops *o = k < 0 ? ref : simd[k];
		int32_t a[3] = { INT32_MAX, INT32_MAX, INT32_MAX };
		const int32_t up[3] = { 5, 5, 5 }, down[3] = { -7, -7, -7 };

		o->sum_i32(a, up, 3);
		CU_ASSERT_EQUAL(a[2], INT32_MIN + 4);
		o->sum_i32(a, down, 3);
		CU_ASSERT_EQUAL(a[0], INT32_MAX - 2);
		CU_ASSERT_EQUAL(a[2], INT32_MAX - 2);
	}
}

static void
test_h16_every_bit_pattern_matches_scalar(void)
{
	enum { N = 0x10000 };
	uint16_t *in = malloc(2 * N);
	uint32_t *acc = malloc(4 * N);
	int bad = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	CU_ASSERT_PTR_NOT_NULL_FATAL(acc);
	for (uint32_t i = 0; i < N; i++)
		in[i] = (uint16_t)i;
	gen_operand(OP_SUM_F32, 1, (uint8_t *)acc, N);
	for (int op = OP_SUM_BF16; op <= OP_LOAD_F16; op++) {
		int sum = op <= OP_SUM_F16;

		bad += run_all((enum op)op, sum ? (uint8_t *)acc : NULL,
			       (uint8_t *)in, N, 0, 0, 0);
		bad += run_all((enum op)op, sum ? (uint8_t *)acc : NULL,
			       (uint8_t *)in + 2, N - 1, 4, 0, 0);
	}
	CU_ASSERT_EQUAL(bad, 0);
	free(in);
	free(acc);
}

static void
test_store_sweep_across_all_exponents_matches_scalar(void)
{
	/* 2^20 values spread over the whole binary32 bit space (step 4097),
	 * both signs, every exponent, NaN and denormal ranges included. */
	enum { CHUNK = 4096 };
	uint32_t buf[CHUNK];
	uint32_t x = 0;
	int bad = 0;

	for (uint32_t c = 0; c < (1u << 20) / CHUNK; c++) {
		for (size_t i = 0; i < CHUNK; i++, x += 4097u)
			buf[i] = x;
		bad += run_all(OP_STORE_BF16, NULL, (uint8_t *)buf, CHUNK, 0, 0, 0);
		bad += run_all(OP_STORE_F16, NULL, (uint8_t *)buf, CHUNK, 0, 0, 0);
		bad += run_all(OP_STORE_BF16, NULL, (uint8_t *)buf, CHUNK - 3, 0, 0, 1);
		bad += run_all(OP_STORE_F16, NULL, (uint8_t *)buf, CHUNK - 3, 0, 0, 1);
		if (bad)
			break;
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static void
test_in_place_store_equals_out_of_place_store(void)
{
	enum { N = 1000 };
	uint32_t acc[N], buf[N];
	uint16_t out[N];

	gen_operand(OP_STORE_BF16, 1, (uint8_t *)acc, N);
	for (int op = OP_STORE_BF16; op <= OP_STORE_F16; op++) {
		const struct kn_ops *all[KN_ISA_MAX + 1] = { ref };

		memcpy(all + 1, simd, sizeof(simd[0]) * (size_t)n_simd);
		for (int k = 0; k <= n_simd; k++) {
			memcpy(buf, acc, sizeof(buf));
			op_call(ref, (enum op)op, out, acc, N);
			op_call(all[k], (enum op)op, buf, buf, N);
			CU_ASSERT_EQUAL(memcmp(buf, out, sizeof(out)), 0);
			/* The upper half of the buffer is input left untouched. */
			CU_ASSERT_EQUAL(memcmp((uint8_t *)buf + sizeof(out),
					       (uint8_t *)acc + sizeof(out),
					       sizeof(acc) - sizeof(out)), 0);
		}
	}
}

int
main(void)
{
	static const struct kn_test_case cases[] = {
		{ "zero_count_touches_nothing", test_zero_count_touches_nothing },
		{ "reference_conversions_match_hand_computed_values",
		  test_reference_conversions_match_hand_computed_values },
		{ "scalar_sum_keeps_denormals_and_ieee_specials",
		  test_scalar_sum_keeps_denormals_and_ieee_specials },
		{ "variants_match_scalar_on_random_inputs_sizes_and_alignments",
		  test_variants_match_scalar_on_random_inputs_sizes_and_alignments },
		{ "sum_f32_every_pair_of_specials_matches_scalar",
		  test_sum_f32_every_pair_of_specials_matches_scalar },
		{ "sum_i32_wraps_around_like_scalar", test_sum_i32_wraps_around_like_scalar },
		{ "h16_every_bit_pattern_matches_scalar",
		  test_h16_every_bit_pattern_matches_scalar },
		{ "store_sweep_across_all_exponents_matches_scalar",
		  test_store_sweep_across_all_exponents_matches_scalar },
		{ "in_place_store_equals_out_of_place_store",
		  test_in_place_store_equals_out_of_place_store },
		{ NULL, NULL },
	};

	return kn_test_run("kn_sum", suite_init, cases);
}
