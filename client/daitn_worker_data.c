/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitn-worker inputs and reference sums.
 *
 * Exact patterns: element i of every rank is v * 2^e_i with a small integer
 * v and an exponent e_i shared by all ranks. Every partial sum, in any order,
 * is then an integer times 2^e_i no larger than B * 2^e_i, with B = 2^20
 * (float32), 256 (bfloat16: 8 significant bits), 2048 (float16: 11 bits):
 * exact in the binary32 accumulator and in the result type, so any correct
 * aggregation is bit-exact. For 16-bit types with more than B workers only
 * some ranks contribute to an element, so that the bound holds.
 * float32-on-int32 uses k * 2^-frac_bits with |sum k| <= 2^24.
 *
 * Random patterns and their bounds (u = unit roundoff of the result type):
 *   float32:   |got - S| <= N * 2^-23 * sum|x|        (S the exact sum)
 *   bf16/f16:  |got - S| <= g + u * (|S| + g) + t,   g = N * 2^-23 * sum|x|,
 *              u = 2^-8 (bf16) / 2^-11 (f16), t = half the smallest
 *              subnormal (2^-25 for f16): float32 accumulation, then one
 *              rounding to the 16-bit type.
 *   int32 and float32-on-int32: bit-exact (integer sums are exact; the
 *   fixed-point reference converts each rank's value with kn_fixed_from_f32
 *   and sums the integers).
 *
 * A partial job's result sums only some ranks, chunk by chunk: the
 * reference then sums those (in the fold, the first of them loaded and the
 * others added in ascending order) and the random bounds use their count
 * n_in for N. An exact pattern stays exact: a subset's partial sums are
 * bounded like the whole's.
 *
 * order_exact (a deterministic gateway job): float types in both patterns
 * must equal the rank-order fold bit for bit: acc = x_0, then acc = acc + x_r
 * for r = 1 .. N-1, each a binary32 addition rounded to nearest even, 16-bit
 * inputs widened exactly first and the result narrowed once with the same
 * kn_f32_to_bf16 / kn_f32_to_f16 as the gateway's reference kernels (NaN
 * quietened, denormals kept, overflow to Inf). On x86-64 float adds are SSE
 * binary32 adds; each sum is also assigned to a float, which C11 (c_std=c11:
 * GCC's -fexcess-precision=standard) rounds to binary32 on targets with
 * excess precision too. No -ffast-math: it would let the compiler reassociate.
 */
#include <math.h>
#include <string.h>

#include "daitn_worker_priv.h"
#include "kn_fixed.h"
#include "kn_sum.h"

static inline uint64_t
splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Rank UINT32_MAX keys the per-element values shared by all ranks. */
#define SHARED_RANK 0xffffffffu

static inline uint64_t
key(const struct wk_gen *g, uint32_t rank, uint32_t round, size_t i)
{
	return splitmix(splitmix(splitmix(g->seed ^ ((uint64_t)rank << 32 | round)) + i) ^ g->type);
}

/* Uniform in [-1, 1). */
static inline double
unit(uint64_t h)
{
	return (double)(int64_t)h * 0x1p-63;
}

/* Exact patterns: the magnitude bound B of every partial sum. */
static uint32_t
exact_bound(enum wk_type t)
{
	switch (t) {
	case WK_BF16:
		return 256;
	case WK_F16:
		return 2048;
	default:
		return 1u << 20;
	}
}

static int
exact_exponent(const struct wk_gen *g, uint32_t round, size_t i)
{
	uint64_t h = key(g, SHARED_RANK, round, i);

	return g->type == WK_F16 ? (int)(h % 13) - 8 : (int)(h % 17) - 8;
}

/* The integer v of rank at element i (exact patterns, 16-bit and float32). */
static int32_t
exact_int(const struct wk_gen *g, unsigned rank, uint32_t round, size_t i)
{
	/* A fedavg job's sums are of w * x: room for the weights. */
	uint32_t b = exact_bound(g->type) / (g->fedavg ? WK_WEIGHT_MAX : 1u);
	uint32_t groups = (g->n_workers + b - 1) / b;
	uint32_t contributors = (g->n_workers + groups - 1) / groups, a = b / contributors;

	if ((rank + i) % groups != 0)
		return 0;
	return (int32_t)(key(g, rank, round, i) % (2u * a + 1u)) - (int32_t)a;
}

/* Rank's value at element i as a double (the exact value it sends). */
static double
value(const struct wk_gen *g, unsigned rank, uint32_t round, size_t i)
{
	uint64_t h = key(g, rank, round, i);

	if (g->pattern == WK_EXACT) {
		if (g->type == WK_F32_ON_I32) {
			uint32_t k = (uint32_t)INT32_MAX / g->n_workers;

			if (k > (1u << 24) / g->n_workers)
				k = (1u << 24) / g->n_workers;
			return ldexp((double)((int64_t)(h % (2u * k + 1u)) - k), -(int)g->frac_bits);
		}
		return ldexp(exact_int(g, rank, round, i), exact_exponent(g, round, i));
	}
	switch (g->type) {
	case WK_F32:
		return (float)(unit(h) * ldexp(1.0, (int)(key(g, SHARED_RANK, round, i) % 9) - 4));
	case WK_BF16:
	case WK_F16: {
		float f = (float)(unit(h) * ldexp(1.0, (int)(key(g, SHARED_RANK, round, i) % 11) - 6));

		return g->type == WK_BF16 ? kn_bf16_to_f32(kn_f32_to_bf16(f))
					  : kn_f16_to_f32(kn_f32_to_f16(f));
	}
	case WK_F32_ON_I32:
		return (float)(unit(h) * 0.9 * kn_fixed_limit(g->frac_bits, g->n_workers));
	default:
		return 0.0;
	}
}

static int32_t
value_i32(const struct wk_gen *g, unsigned rank, uint32_t round, size_t i)
{
	uint64_t h = key(g, rank, round, i);

	if (g->pattern == WK_EXACT) {
		/* |v| <= (2^31 - 1) / N: the sum never wraps. */
		int64_t lim = INT32_MAX / (int64_t)g->n_workers;

		return (int32_t)((int64_t)(h % (uint64_t)(2 * lim + 1)) - lim);
	}
	return (int32_t)(uint32_t)h; /* full range: the sum wraps */
}

const char *
wk_type_name(enum wk_type t)
{
	static const char *const names[] = {
		[WK_F32] = "float32", [WK_I32] = "int32", [WK_BF16] = "bfloat16",
		[WK_F16] = "float16", [WK_F32_ON_I32] = "float32-on-int32",
	};

	return (unsigned)t <= WK_F32_ON_I32 ? names[t] : "?";
}

size_t
wk_type_size(enum wk_type t)
{
	return t == WK_BF16 || t == WK_F16 ? 2 : 4;
}

void
wk_fill(const struct wk_gen *g, unsigned rank, uint32_t round, void *buf, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		switch (g->type) {
		case WK_I32:
			((int32_t *)buf)[i] = value_i32(g, rank, round, i);
			break;
		case WK_BF16:
			((uint16_t *)buf)[i] = kn_f32_to_bf16((float)value(g, rank, round, i));
			break;
		case WK_F16:
			((uint16_t *)buf)[i] = kn_f32_to_f16((float)value(g, rank, round, i));
			break;
		default:
			((float *)buf)[i] = (float)value(g, rank, round, i);
			break;
		}
	}
}

static void
note(struct wk_mismatch *mm, size_t n_bad, size_t i, double exp, double got, uint32_t eb,
     uint32_t gb, double bound)
{
	if (n_bad != 1)
		return;
	mm->index = i;
	mm->expected = exp;
	mm->got = got;
	mm->expected_bits = eb;
	mm->got_bits = gb;
	mm->bound = bound;
}

static uint32_t
f32_bits(float f)
{
	uint32_t b;

	memcpy(&b, &f, sizeof(b));
	return b;
}

/* Rank's contribution to element i as the gateway adds it: the value it
 * sends, a 16-bit one widened (exactly) to binary32. */
static float
contribution(const struct wk_gen *g, unsigned rank, uint32_t round, size_t i)
{
	float f = (float)value(g, rank, round, i);

	if (g->type == WK_BF16)
		return kn_bf16_to_f32(kn_f32_to_bf16(f));
	if (g->type == WK_F16)
		return kn_f16_to_f32(kn_f32_to_f16(f));
	return f;
}

/* Is rank in the result (mask NULL: every rank is)? */
static inline bool
has(const uint8_t *mask, unsigned r)
{
	return mask == NULL || ((mask[r / 8] >> (r % 8)) & 1u) != 0;
}

/* The binary32 rank-order fold of element i over the ranks in mask
 * (order_exact): the first one loaded, the others added in ascending
 * order; 0 if there is none. */
static float
rank_order_fold(const struct wk_gen *g, uint32_t round, size_t i, const uint8_t *mask)
{
	float acc = 0.0f;
	bool first = true;

	for (unsigned r = 0; r < g->n_workers; r++) {
		if (!has(mask, r))
			continue;
		acc = first ? contribution(g, r, round, i) : acc + contribution(g, r, round, i);
		first = false;
	}
	return acc;
}

/* order_exact, float types: the bits of the rank-order fold, nothing else. */
static size_t
check_fold(const struct wk_gen *g, uint32_t round, const void *got, size_t i,
	   const uint8_t *mask, size_t n_bad, struct wk_mismatch *mm)
{
	float e = rank_order_fold(g, round, i, mask), gf;
	uint32_t gb, eb;
	double ed, gd;

	if (g->type == WK_F32) {
		memcpy(&gf, (const float *)got + i, sizeof(gf));
		gb = f32_bits(gf);
		eb = f32_bits(e);
		gd = gf;
		ed = e;
	} else {
		uint16_t h = ((const uint16_t *)got)[i];

		gb = h;
		eb = g->type == WK_BF16 ? kn_f32_to_bf16(e) : kn_f32_to_f16(e);
		gd = g->type == WK_BF16 ? kn_bf16_to_f32(h) : kn_f16_to_f32(h);
		ed = g->type == WK_BF16 ? kn_bf16_to_f32((uint16_t)eb) : kn_f16_to_f32((uint16_t)eb);
	}
	if (gb != eb) {
		n_bad++;
		note(mm, n_bad, i, ed, gd, eb, gb, 0.0);
	}
	return n_bad;
}

double
wk_weight(unsigned rank, uint32_t round)
{
	return 1.0 + (double)((rank + round) % WK_WEIGHT_MAX);
}

/* f rounded to the job's float type and widened back. */
static float
as_type(const struct wk_gen *g, float f)
{
	if (g->type == WK_BF16)
		return kn_bf16_to_f32(kn_f32_to_bf16(f));
	if (g->type == WK_F16)
		return kn_f16_to_f32(kn_f32_to_f16(f));
	return f;
}

/* Element i of got, widened, and its bits. */
static float
got_elem(const struct wk_gen *g, const void *got, size_t i, uint32_t *bits)
{
	float f;

	if (g->type == WK_F32) {
		memcpy(&f, (const float *)got + i, sizeof(f));
		*bits = f32_bits(f);
		return f;
	}
	*bits = ((const uint16_t *)got)[i];
	return g->type == WK_BF16 ? kn_bf16_to_f32((uint16_t)*bits) : kn_f16_to_f32((uint16_t)*bits);
}

static uint32_t
type_bits(const struct wk_gen *g, float f)
{
	if (g->type == WK_BF16)
		return kn_f32_to_bf16(f);
	if (g->type == WK_F16)
		return kn_f32_to_f16(f);
	return f32_bits(f);
}

/* A fedavg job's element i: the weighted mean of the ranks in mask, as the
 * wire computes it (struct wk_gen.fedavg). Bit-exact for exact patterns and
 * with order_exact; otherwise within the bound of the sums' rounding, the
 * division's and the result type's. */
static size_t
check_weighted(const struct wk_gen *g, uint32_t round, const void *got, size_t i,
	       const uint8_t *mask, size_t n_bad, struct wk_mismatch *mm, double *worst)
{
	double u = g->type == WK_BF16 ? 0x1p-8 : g->type == WK_F16 ? 0x1p-11 : 0.0;
	double t = g->type == WK_BF16 ? 0x1p-134 : g->type == WK_F16 ? 0x1p-25 : 0x1p-150;
	double s = 0.0, a = 0.0, wsum = 0.0, m, gn, gw, en, ew, em, bound, gd;
	float fn = 0.0f, fw = 0.0f, e;
	unsigned n_in = 0;
	uint32_t gb, eb;

	for (unsigned r = 0; r < g->n_workers; r++) {
		float w = (float)wk_weight(r, round), p;

		if (!has(mask, r))
			continue;
		p = as_type(g, w * contribution(g, r, round, i));
		/* The rank-order fold: the first loaded, the others added. */
		fn = n_in == 0 ? p : fn + p;
		fw = n_in == 0 ? w : fw + w;
		s += p;
		a += fabs(p);
		wsum += w;
		n_in++;
	}
	gd = got_elem(g, got, i, &gb);
	if (g->order_exact || g->pattern == WK_EXACT) {
		/* Exact patterns: every sum is exact in any order. */
		if (!g->order_exact) {
			fn = (float)s;
			fw = (float)wsum;
		}
		e = as_type(g, as_type(g, fn) / as_type(g, fw));
		eb = type_bits(g, e);
		if (gb != eb) {
			n_bad++;
			note(mm, n_bad, i, e, gd, eb, gb, 0.0);
		}
		return n_bad;
	}
	m = s / wsum;
	gn = n_in * 0x1p-23 * a;
	en = gn + u * (fabs(s) + gn) + t;
	gw = n_in * 0x1p-23 * wsum;
	ew = gw + u * (wsum + gw);
	em = (en + fabs(m) * ew) / (wsum - ew);
	bound = em + (0x1p-24 + u) * (fabs(m) + em) + t;
	if (!(fabs(gd - m) <= bound)) {
		n_bad++;
		note(mm, n_bad, i, m, gd, type_bits(g, (float)m), gb, bound);
	} else if (fabs(gd - m) / bound > *worst) {
		*worst = fabs(gd - m) / bound;
	}
	return n_bad;
}

/* Expected bits (or reference and bound) of element i. */
static size_t
check_one(const struct wk_gen *g, uint32_t round, const void *got, size_t i,
	  const uint8_t *mask, size_t n_bad, struct wk_mismatch *mm, double *worst)
{
	unsigned n = g->n_workers, n_in = 0, r;
	double s = 0.0, abs_sum = 0.0, gd, bound;
	uint32_t gb, eb;

	if (g->type == WK_I32) {
		uint32_t sum = 0;

		for (r = 0; r < n; r++)
			if (has(mask, r))
				sum += (uint32_t)value_i32(g, r, round, i);
		gb = ((const uint32_t *)got)[i];
		if (gb != sum) {
			n_bad++;
			note(mm, n_bad, i, (int32_t)sum, (int32_t)gb, sum, gb, 0.0);
		}
		return n_bad;
	}
	if (g->type == WK_F32_ON_I32) {
		int64_t k = 0;
		int32_t ki, kt;
		float x, e;

		for (r = 0; r < n; r++) {
			if (!has(mask, r))
				continue;
			/* Converted as the library does, for the job's N. */
			x = (float)value(g, r, round, i);
			kn_fixed_from_f32(&ki, &x, 1, g->frac_bits, n, NULL);
			k += ki;
		}
		kt = (int32_t)k;
		kn_fixed_to_f32(&e, &kt, 1, g->frac_bits);
		gd = ((const float *)got)[i];
		if (f32_bits((float)gd) != f32_bits(e)) {
			n_bad++;
			note(mm, n_bad, i, e, gd, f32_bits(e), f32_bits((float)gd), 0.0);
		}
		return n_bad;
	}
	if (g->fedavg)
		return check_weighted(g, round, got, i, mask, n_bad, mm, worst);
	if (g->order_exact)
		return check_fold(g, round, got, i, mask, n_bad, mm);
	for (r = 0; r < n; r++) {
		double v;

		if (!has(mask, r))
			continue;
		v = value(g, r, round, i);
		s += v;
		abs_sum += fabs(v);
		n_in++;
	}
	if (g->type == WK_F32) {
		gd = ((const float *)got)[i];
		gb = f32_bits((float)gd);
		eb = f32_bits((float)s);
	} else {
		uint16_t h = ((const uint16_t *)got)[i];

		gd = g->type == WK_BF16 ? kn_bf16_to_f32(h) : kn_f16_to_f32(h);
		gb = h;
		eb = g->type == WK_BF16 ? kn_f32_to_bf16((float)s) : kn_f32_to_f16((float)s);
	}
	if (g->pattern == WK_EXACT) {
		if (gb != eb) {
			n_bad++;
			note(mm, n_bad, i, s, gd, eb, gb, 0.0);
		}
		return n_bad;
	}
	bound = n_in * 0x1p-23 * abs_sum;
	if (g->type != WK_F32) {
		double u = g->type == WK_BF16 ? 0x1p-8 : 0x1p-11;
		double t = g->type == WK_BF16 ? 0x1p-134 : 0x1p-25;

		bound = bound + u * (fabs(s) + bound) + t;
	}
	if (!(fabs(gd - s) <= bound)) {
		n_bad++;
		note(mm, n_bad, i, s, gd, eb, gb, bound);
	} else if (bound > 0.0 && fabs(gd - s) / bound > *worst) {
		*worst = fabs(gd - s) / bound;
	}
	return n_bad;
}

size_t
wk_check(const struct wk_gen *g, uint32_t round, const void *got, size_t count,
	 const struct wk_ranks *ranks, struct wk_mismatch *mm, double *worst)
{
	size_t n_bad = 0;

	*worst = 0.0;
	memset(mm, 0, sizeof(*mm));
	for (size_t i = 0; i < count; i++) {
		const uint8_t *mask = NULL;

		if (ranks != NULL && ranks->chunk_elems != 0 && i / ranks->chunk_elems < ranks->n_chunks)
			mask = ranks->maps[i / ranks->chunk_elems];
		n_bad = check_one(g, round, got, i, mask, n_bad, mm, worst);
	}
	mm->n_bad = n_bad;
	return n_bad;
}
