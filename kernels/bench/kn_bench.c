/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kn-bench: throughput of every kernel variant the CPU runs, beside glibc
 * memcpy of the same payload bytes measured in the same run.
 *
 * What is counted: bytes of wire payload per second, 1 GB = 10^9 bytes. For
 * sums and loads that is the input read (4 bytes per f32/i32 element, 2 per
 * bf16/f16 element); for stores (narrowing) the 16-bit output written. The
 * accumulator traffic (read and write of acc, twice the payload for 16-bit
 * types) is not counted: the kernels move more bytes than memcpy does, and
 * the ratio says what that costs. memcpy copies the same payload bytes from
 * the same source buffer.
 *
 * sum4_f32 and fold4_f32 time a use of four contributions in four buffers,
 * added in arrival order and folded in rank order (a deterministic job's
 * sum): the same kernels, so the fold costs what the sum does; the row
 * "fold4 / sum4" says by how much, in the same run.
 *
 * Each figure is the median (and best) over samples of a fixed number of
 * bytes; run it pinned to one CPU (scripts/bench-kernels.sh does).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "kn_sum.h"

#define ARENA_SIZE (2u << 20)
#define SAMPLE_BYTES (16u << 20)

enum op { OP_MEMCPY, OP_SUM_F32, OP_SUM_I32, OP_SUM_BF16, OP_SUM_F16,
	  OP_LOAD_BF16, OP_LOAD_F16, OP_STORE_BF16, OP_STORE_F16, OP_SUM4_F32, OP_FOLD4_F32,
	  OP_MAX };

static const char *const op_names[OP_MAX] = {
	"memcpy", "sum_f32", "sum_i32", "sum_bf16", "sum_f16",
	"load_bf16", "load_f16", "store_bf16", "store_f16", "sum4_f32", "fold4_f32",
};

/* Four contributions of a use, each in its own buffer (a deterministic
 * job's held mbufs): sum4 adds them in arrival order (here 3, 1, 0, 2, the
 * first one loaded), fold4 in rank order 0, 1, 2, 3 (docs/protocol.md
 * section 5, "Deterministic jobs"). Bytes counted: all four inputs. */
#define N_CONTRIB 4
static const unsigned arrival[N_CONTRIB] = { 3, 1, 0, 2 };

struct bufs {
	uint8_t *acc; /* accumulator: 2 x payload for 16-bit types */
	uint8_t *src; /* wire payload (input of sums and loads) */
	uint8_t *dst; /* memcpy destination and narrowing output */
	uint8_t *contrib[N_CONTRIB]; /* sum4 / fold4 inputs */
};

/* Called through a pointer loaded at run time (a relaxed atomic load the
 * compiler may not fold), so the baseline is as opaque to it as the
 * kernels' function-pointer calls. */
typedef void *(*memcpy_fn_t)(void *, const void *, size_t);
static _Atomic(memcpy_fn_t) memcpy_fn = memcpy;

static uint8_t *arena;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t
op_elem_size(enum op op)
{
	return op == OP_MEMCPY || op == OP_SUM_F32 || op == OP_SUM_I32 || op == OP_SUM4_F32 ||
	       op == OP_FOLD4_F32 ? 4 : 2;
}

static void
op_run(const struct kn_ops *o, enum op op, const struct bufs *b, size_t bytes)
{
	size_t n = bytes / op_elem_size(op);

	switch (op) {
	case OP_MEMCPY: atomic_load_explicit(&memcpy_fn, memory_order_relaxed)(b->dst, b->src, bytes); break;
	case OP_SUM_F32: o->sum_f32((float *)b->acc, (const float *)b->src, n); break;
	case OP_SUM_I32: o->sum_i32((int32_t *)b->acc, (const int32_t *)b->src, n); break;
	case OP_SUM_BF16: o->sum_bf16((float *)b->acc, (const uint16_t *)b->src, n); break;
	case OP_SUM_F16: o->sum_f16((float *)b->acc, (const uint16_t *)b->src, n); break;
	case OP_LOAD_BF16: o->load_bf16((float *)b->acc, (const uint16_t *)b->src, n); break;
	case OP_LOAD_F16: o->load_f16((float *)b->acc, (const uint16_t *)b->src, n); break;
	case OP_STORE_BF16: o->store_bf16((uint16_t *)b->dst, (const float *)b->acc, n); break;
	case OP_STORE_F16: o->store_f16((uint16_t *)b->dst, (const float *)b->acc, n); break;
	case OP_SUM4_F32:
	case OP_FOLD4_F32:
		/* bytes is the four inputs' total: each is a quarter. */
		n /= N_CONTRIB;
		for (unsigned k = 0; k < N_CONTRIB; k++) {
			const float *c = (const float *)b->contrib[op == OP_SUM4_F32 ? arrival[k] : k];

			if (k == 0)
				memcpy(b->acc, c, n * sizeof(float));
			else
				o->sum_f32((float *)b->acc, c, n);
		}
		break;
	default: abort();
	}
}

/* Ordinary values: no NaN, Inf or denormal on the timed path (denormal adds
 * take microcode assists on x86, which would measure the CPU, not the code).
 * Accumulating 2^-10 keeps every sum normal and finite for the whole run. */
static void
fill(void)
{
	for (size_t i = 0; i + 4 <= ARENA_SIZE; i += 4) {
		float f = 0.0009765625f;
		uint16_t h[2] = { 0x3a80, 0x1400 }; /* bf16 / f16 of ~0.001 */

		if (i % 8 == 0)
			memcpy(arena + i, &f, 4);
		else
			memcpy(arena + i, h, 4);
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* GB/s of payload: median into *med, best into *best. */
static void
measure(const struct kn_ops *o, enum op op, const struct bufs *b, size_t bytes,
	int samples, double *med, double *best)
{
	size_t iters = SAMPLE_BYTES / bytes;
	double r[samples];

	if (iters == 0)
		iters = 1;
	fill();
	for (int s = -1; s < samples; s++) {
		uint64_t t0 = now_ns(), t1;

		for (size_t i = 0; i < iters; i++)
			op_run(o, op, b, bytes);
		t1 = now_ns();
		if (s >= 0) /* sample -1 warms caches and branch predictors */
			r[s] = (double)(iters * bytes) / (double)(t1 - t0);
	}
	qsort(r, (size_t)samples, sizeof(r[0]), cmp_double);
	*med = r[samples / 2];
	*best = r[samples - 1];
}

static uint8_t *
arena_alloc(const char **kind)
{
	void *p = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);

	*kind = "one 2 MiB hugetlbfs page";
	if (p != MAP_FAILED)
		return p;
	/* No free hugepage: 4 KiB pages. 64-byte alignment is what matters at
	 * these sizes; note it in the output. */
	p = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	*kind = "4 KiB pages (no free hugepage)";
	return p == MAP_FAILED ? NULL : p;
}

static void
usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-n SAMPLES] [SIZE_BYTES...]\n"
		"  SIZE_BYTES: payload sizes, multiples of 64 up to 262144 "
		"(default 1024 262144)\n", prog);
}

int
main(int argc, char **argv)
{
	size_t sizes[8] = { 1024, 256 * 1024 };
	int n_sizes = 2, samples = 15, argi = 1;
	const struct kn_ops *vars[8];
	int n_vars;
	const char *kind;
	struct bufs al, un;

	if (argi + 1 < argc && strcmp(argv[argi], "-n") == 0) {
		samples = atoi(argv[argi + 1]);
		argi += 2;
	}
	if (samples < 1 || samples > 1000) {
		usage(argv[0]);
		return 2;
	}
	if (argi < argc)
		n_sizes = 0;
	for (; argi < argc && n_sizes < 8; argi++) {
		char *end;
		unsigned long v = strtoul(argv[argi], &end, 0);

		if (*end != '\0' || v == 0 || v % 64 || v > 256 * 1024) {
			fprintf(stderr, "kn-bench: size \"%s\": want a multiple of 64 "
				"between 64 and 262144\n", argv[argi]);
			usage(argv[0]);
			return 2;
		}
		sizes[n_sizes++] = v;
	}

	n_vars = (int)kn_ops_list(vars, sizeof(vars) / sizeof(vars[0]));
	arena = arena_alloc(&kind);
	if (arena == NULL) {
		fprintf(stderr, "kn-bench: cannot map %u bytes: %s\n", ARENA_SIZE,
			strerror(errno));
		return 1;
	}
	/* acc, src and dst 64-byte aligned, at different offsets modulo 4 KiB so
	 * that loads do not falsely alias earlier stores (4K aliasing). */
	al.acc = arena;
	al.src = arena + 640 * 1024 + 1024 + 64;
	al.dst = arena + 1280 * 1024 + 2048 + 128;
	/* Up to 256 KiB each, between acc's and src's (acc needs 2 x payload
	 * for 16-bit types only, not for these float32 rows) and after dst. */
	al.contrib[0] = al.src;
	al.contrib[1] = al.src + 320 * 1024 + 192;
	al.contrib[2] = al.dst;
	al.contrib[3] = al.dst + 320 * 1024 + 256;
	un = al;
	un.acc += 4;
	un.src += 4;
	un.dst += 4;

	printf("kn-bench: GB/s = 10^9 bytes of payload per second (sum/load: input "
	       "elements read; store: 16-bit elements written; accumulator traffic "
	       "not counted);\n"
	       "  memcpy copies the same payload bytes in the same run; median of %d "
	       "samples of %u MiB, best in brackets; (x) = median / memcpy median.\n"
	       "  buffers: %s, 64-byte aligned unless marked +4B (acc, src and dst "
	       "all 4 bytes past a 64-byte boundary).\n", samples, SAMPLE_BYTES >> 20, kind);
	for (int si = 0; si < n_sizes; si++) {
		double mc_med, mc_best, mu_med, mu_best, sum4[8] = { 0 }, fold4[8] = { 0 };

		measure(NULL, OP_MEMCPY, &al, sizes[si], samples, &mc_med, &mc_best);
		measure(NULL, OP_MEMCPY, &un, sizes[si], samples, &mu_med, &mu_best);
		printf("\npayload %zu bytes:\n  %-14s %6.1f [%5.1f]   +4B: %6.1f [%5.1f]\n",
		       sizes[si], "memcpy", mc_med, mc_best, mu_med, mu_best);
		printf("  %-14s", "op");
		for (int v = 0; v < n_vars; v++)
			printf(" %-21s", vars[v]->name);
		printf("\n");
		for (int op = OP_SUM_F32; op < OP_MAX + 1; op++) {
			/* The last row repeats sum_f32 on the +4B buffers. */
			int unal = op == OP_MAX;
			enum op o = unal ? OP_SUM_F32 : (enum op)op;
			double base = unal ? mu_med : mc_med;
			size_t bytes = sizes[si] * (o == OP_SUM4_F32 || o == OP_FOLD4_F32 ?
						    N_CONTRIB : 1);

			printf("  %-14s", unal ? "sum_f32 +4B" : op_names[o]);
			for (int v = 0; v < n_vars; v++) {
				double med, best;

				measure(vars[v], o, unal ? &un : &al, bytes, samples, &med, &best);
				printf(" %5.1f [%5.1f] (%4.2fx)", med, best, med / base);
				if (o == OP_SUM4_F32)
					sum4[v] = med;
				if (o == OP_FOLD4_F32)
					fold4[v] = med;
			}
			printf("\n");
			if (o == OP_FOLD4_F32) {
				printf("  %-14s", "fold4 / sum4");
				for (int v = 0; v < n_vars; v++)
					printf(" %5.2fx%15s", fold4[v] / sum4[v], "");
				printf("\n");
			}
		}
	}
	munmap(arena, ARENA_SIZE);
	return 0;
}
