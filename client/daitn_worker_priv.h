/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitn-worker internals: deterministic inputs and the reference check.
 *
 * Every element of every rank's input is a pure function of (seed, rank,
 * round, index), so each worker regenerates all N inputs and computes the
 * expected sum itself; no worker needs another's data.
 */
#ifndef DAITN_WORKER_PRIV_H
#define DAITN_WORKER_PRIV_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daitn.h"

#define EXIT_MISMATCH 1
#define EXIT_USAGE 2
#define EXIT_GATEWAY 3

enum wk_type {
	WK_F32,
	WK_I32,
	WK_BF16,
	WK_F16,
	WK_F32_ON_I32,   /* float32 data on an int32 (fixed-point) job */
};

enum wk_pattern {
	WK_EXACT,        /* sums exactly representable: bit-exact check */
	WK_RANDOM,       /* random values: checked within the error bound */
};

struct wk_gen {
	enum wk_type type;
	enum wk_pattern pattern;
	uint64_t seed;
	unsigned n_workers;
	unsigned frac_bits;      /* WK_F32_ON_I32 */
	/* Float types (float32, bfloat16, float16), both patterns: the result
	 * must be bit-exact against the rank-order fold, the contributions
	 * (16-bit ones widened exactly) added in binary32 in ascending rank
	 * order starting from rank 0's value, 16-bit types narrowed once at
	 * the end. int32 and float32-on-int32 are bit-exact either way. */
	bool order_exact;
	/* A fedavg job (float types): each rank's weight is wk_weight(); the
	 * result is the weighted mean of the ranks in a chunk, computed as the
	 * wire does (docs/protocol.md section 5, "Federated averaging"): each
	 * w * x rounded to the type, the products and the weights summed in
	 * binary32 (any order; the rank-order fold with order_exact) and
	 * rounded to the type, then one binary32 division rounded to the type.
	 * Exact patterns leave room for the weights: sums stay exact. */
	bool fedavg;
};

/* The largest weight wk_weight() gives. */
#define WK_WEIGHT_MAX 4u

/* Rank's weight in round (a fedavg job): 1 .. WK_WEIGHT_MAX, exact in
 * every float type, different between ranks and rounds. */
double wk_weight(unsigned rank, uint32_t round);

/* The first element that failed, for the report. */
struct wk_mismatch {
	size_t index;
	size_t n_bad;            /* elements that failed */
	double expected;
	double got;
	uint32_t expected_bits;
	uint32_t got_bits;
	double bound;            /* allowed |got - expected| (0: bit-exact) */
};

struct wk_opts {
	char gw_addr[INET_ADDRSTRLEN];
	uint16_t gw_port;
	char bind_addr[INET_ADDRSTRLEN];
	uint16_t bind_port;
	long job, rank, workers;     /* workers < 0: not checked */
	long rank_last;              /* --ranks A-B: B (rank is A); else -1 */
	size_t count;                /* elements */
	enum wk_type type;
	enum wk_pattern pattern;
	unsigned long long seed;
	unsigned long rounds, timeout_ms, hello_timeout_ms, join_timeout_ms, rto_us, window;
	int quiet, json;
	int digest;                  /* --digest: a SHA-256 of each round's result */
	int order_exact;             /* --order-exact: wk_gen.order_exact */
	const char *until_file;      /* --until-file: run until it exists */
	const char *key_file;        /* --key-file: the job's key */
	unsigned long peer_timeout_ms; /* --peer-timeout-ms */
	int pause;                   /* --pause ROUND:MS given */
	unsigned long pause_round, pause_ms;
	int slow;                    /* --slow RANK:FACTOR given */
	long slow_rank;
	double slow_factor;          /* 1 .. 1000 */
	unsigned long compute_ms;    /* --compute-ms: "compute" before each round */
	int drop;                    /* --drop-out RANK:A-B given */
	long drop_rank;
	unsigned long drop_first, drop_last;  /* rounds A .. B skipped */
	/* --tree FIRST:N: the job spans gateways (an aggregation tree) with N
	 * ranks in all; this process's rank R is rank FIRST + R of those (its
	 * inputs are that rank's, and results sum all N). tree_n 0: off. */
	unsigned long tree_first, tree_n;
};

/* --until-file: rounds between two stop votes. */
#define WK_VOTE_EVERY 8u

/* Run o->rounds rounds on an open handle; returns the exit code. */
int wk_run(const struct wk_opts *o, struct daitn *d);

/* "float32", ..., "float32-on-int32". */
const char *wk_type_name(enum wk_type t);

/* Bytes per element of the caller's buffer. */
size_t wk_type_size(enum wk_type t);

/* Fill buf with rank's input for round. */
void wk_fill(const struct wk_gen *g, unsigned rank, uint32_t round, void *buf, size_t count);

/* Which ranks a result sums, chunk by chunk (a partial job's result:
 * daitn_result_ranks()): element i is in chunk i / chunk_elems, whose sum
 * holds the ranks set in maps[chunk] (rank r: bit r % 8 of byte r / 8); a
 * NULL map, or a chunk past n_chunks, holds every rank. */
struct wk_ranks {
	size_t chunk_elems;
	size_t n_chunks;
	const uint8_t *const *maps;
};

/* Check got (the allreduce result) against the sum of the ranks' inputs,
 * all of them or, with ranks, those its chunk holds (against the rank-order
 * fold of those if g->order_exact: the first present rank's value, then the
 * others added in ascending rank order; the random bounds count them, not
 * N). ranks may be NULL. Returns the number of failing elements (first one
 * in *mm); *worst is the largest |error| / bound seen (0 for bit-exact
 * checks). */
size_t wk_check(const struct wk_gen *g, uint32_t round, const void *got, size_t count,
		const struct wk_ranks *ranks, struct wk_mismatch *mm, double *worst);

#endif /* DAITN_WORKER_PRIV_H */
