/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite gw_agg: contributions of N workers through the real pipeline. Each
 * completed slot must send exactly one RESULT to every worker, addressed to
 * it, with the sum bit-exact against a reference computed in the same order
 * with the scalar conversions; duplicates, retransmissions and stale copies
 * must be counted under their fates.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <rte_ip.h>
#include <rte_udp.h>

#include "gw_priv.h"
#include "gw_tu.h"
#include "kn_sum.h"

#define NW 4
#define ELEMS_32 256     /* 1 KiB chunks */
#define ELEMS_16 512

/* Each job's next round: its run started at 0 (the fixture joined it), and
 * a worker sends round r + 1 only after round r completed (round_ahead), so
 * each test completes the round it takes. */
static uint32_t next_round[TU_JOBS + 1];

/* Check that tu_out[0..n) are one RESULT per rank of job with this tag and
 * payload `want` (size bytes). */
static void expect_results(unsigned n, unsigned n_workers, uint16_t job, uint16_t slot,
			   uint32_t round, uint32_t offset, uint16_t count, const void *want,
			   size_t size)
{
	unsigned seen[256] = { 0 };

	CU_ASSERT_EQUAL_FATAL(n, n_workers);
	for (unsigned i = 0; i < n; i++) {
		const struct tu_out *o = &tu_out[i];
		uint16_t r = o->h.rank;

		CU_ASSERT_EQUAL_FATAL(o->check, DP_PROTO_CHECK_OK);
		CU_ASSERT_EQUAL(o->h.type, DP_MSG_RESULT);
		CU_ASSERT_EQUAL(o->h.job, job);
		CU_ASSERT_EQUAL(o->h.slot, slot);
		CU_ASSERT_EQUAL(o->h.round, round);
		CU_ASSERT_EQUAL(o->h.offset, offset);
		CU_ASSERT_EQUAL(o->h.count, count);
		CU_ASSERT_FATAL(r < n_workers);
		seen[r]++;
		CU_ASSERT_EQUAL(o->dst_ip, TU_WORKER_IP(r));
		CU_ASSERT_EQUAL(o->dport, TU_WORKER_PORT(job));
		CU_ASSERT_EQUAL(o->src_ip, TU_GW_IP);
		CU_ASSERT_EQUAL(o->sport, TU_UDP_BASE + dp_proto_slot_index(slot) % TU_SHARDS);
		CU_ASSERT_EQUAL(o->queue, dp_proto_slot_index(slot) % TU_SHARDS);
		CU_ASSERT_EQUAL(o->eth.dst_addr.addr_bytes[5], (uint8_t)(r + 1));
		CU_ASSERT(rte_is_same_ether_addr(&o->eth.src_addr, &tu.gw_mac));
		CU_ASSERT_TRUE(o->ip_csum_ok);
		CU_ASSERT_EQUAL(o->payload_size, size);
		CU_ASSERT(memcmp(o->payload, want, size) == 0);
	}
	for (unsigned r = 0; r < n_workers; r++)
		CU_ASSERT_EQUAL(seen[r], 1);
}

static void test_float32_sum_is_bit_exact_for_every_worker(void)
{
	static float in[NW][ELEMS_32], want[ELEMS_32];
	unsigned seed = 1;
	struct gw_stats before;
	uint32_t round = next_round[1]++;

	for (unsigned e = 0; e < ELEMS_32; e++) {
		for (unsigned w = 0; w < NW; w++)
			in[w][e] = (float)rand_r(&seed) / (float)RAND_MAX * 200.0f - 100.0f;
		in[1][7] = 1e-40f;          /* a denormal */
		in[2][9] = -0.0f;
		/* Arrival order below is rank 2, 0, 3, 1: sum in that order. */
		want[e] = ((in[2][e] + in[0][e]) + in[3][e]) + in[1][e];
	}
	tu_snap(&before);
	for (unsigned i = 0; i < NW; i++) {
		static const unsigned order[NW] = { 2, 0, 3, 1 };
		unsigned w = order[i];

		tu_grad(1, (uint16_t)w, 6, 1, DP_DTYPE_F32, ELEMS_32, 0, round, in[w]);
		tu_poll();
		if (i < NW - 1)
			CU_ASSERT_EQUAL(tu_collect(), 0);
	}
	expect_results(tu_collect(), NW, 1, dp_proto_slot_make(6, 1), round, 0, ELEMS_32,
		       want, sizeof(want));
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AGGREGATED), NW - 1);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_COMPLETED), 1);
	CU_ASSERT_EQUAL(tu_ev_delta(&before, GW_EV_RESULTS_SENT), NW);
}

static void test_int32_sum_wraps_exactly(void)
{
	static int32_t in[NW][ELEMS_32], want[ELEMS_32];
	uint32_t round = next_round[2]++;

	for (unsigned e = 0; e < ELEMS_32; e++) {
		uint32_t s = 0;

		for (unsigned w = 0; w < NW; w++) {
			in[w][e] = (int32_t)(e * 2654435761u + w * 40503u);
			s += (uint32_t)in[w][e];
		}
		want[e] = (int32_t)s;
	}
	in[0][0] = INT32_MAX;
	in[1][0] = INT32_MAX;
	in[2][0] = 2;
	in[3][0] = 0;
	want[0] = (int32_t)((uint32_t)INT32_MAX * 2u + 2u);   /* wraps to 0 */
	for (unsigned w = 0; w < NW; w++)
		tu_grad(2, (uint16_t)w, 3, 0, DP_DTYPE_I32, 100, 4096, round, in[w]);
	tu_poll();
	expect_results(tu_collect(), NW, 2, dp_proto_slot_make(3, 0), round, 4096, 100, want,
		       100 * sizeof(int32_t));
	CU_ASSERT_EQUAL(want[0], 0);
}

/* 16-bit types: widened, summed in binary32 in arrival order, narrowed once. */
static void run_half(uint16_t job, uint8_t dtype, float (*widen)(uint16_t),
		     uint16_t (*narrow)(float))
{
	static uint16_t in[NW][ELEMS_16], want[ELEMS_16];
	unsigned seed = dtype;
	uint32_t round = next_round[job]++;

	for (unsigned e = 0; e < ELEMS_16; e++) {
		float acc = 0;

		for (unsigned w = 0; w < NW; w++) {
			in[w][e] = narrow((float)rand_r(&seed) / (float)RAND_MAX * 8.0f - 4.0f);
			acc = w == 0 ? widen(in[w][e]) : acc + widen(in[w][e]);
		}
		want[e] = narrow(acc);
	}
	in[3][5] = narrow(INFINITY);
	want[5] = narrow(((widen(in[0][5]) + widen(in[1][5])) + widen(in[2][5])) + INFINITY);
	for (unsigned w = 0; w < NW; w++)
		tu_grad(job, (uint16_t)w, 1, 1, dtype, ELEMS_16, 0, round, in[w]);
	tu_poll();
	expect_results(tu_collect(), NW, job, dp_proto_slot_make(1, 1), round, 0, ELEMS_16,
		       want, sizeof(want));
}

static void test_bfloat16_sum_is_bit_exact(void)
{
	run_half(3, DP_DTYPE_BF16, kn_bf16_to_f32, kn_f32_to_bf16);
}

static void test_float16_sum_is_bit_exact(void)
{
	run_half(4, DP_DTYPE_F16, kn_f16_to_f32, kn_f32_to_f16);
}

static void test_duplicates_retransmissions_and_stale_copies(void)
{
	static float in[NW][ELEMS_32], want[ELEMS_32];
	struct gw_stats before;
	uint32_t round = next_round[1]++;

	for (unsigned e = 0; e < ELEMS_32; e++) {
		for (unsigned w = 0; w < NW; w++)
			in[w][e] = (float)(w * 1000 + e);
		want[e] = (float)(6000 + 4 * e);
	}
	tu_snap(&before);
	tu_grad(1, 0, 10, 0, DP_DTYPE_F32, ELEMS_32, 0, round, in[0]);
	tu_grad(1, 0, 10, 0, DP_DTYPE_F32, ELEMS_32, 0, round, in[0]);   /* duplicate */
	tu_grad(1, 1, 10, 0, DP_DTYPE_F32, ELEMS_32, 0, round, in[1]);
	tu_grad(1, 2, 10, 0, DP_DTYPE_F32, 255, 0, round, in[2]);        /* count mismatch */
	tu_poll();
	/* The duplicate is answered with WAITING: counted, 1 of 4 ranks in
	 * when it came, ranks 1, 2, 3 missing; no larger than the GRAD. */
	CU_ASSERT_EQUAL_FATAL(tu_collect(), 1);
	CU_ASSERT_EQUAL(tu_out[0].check, DP_PROTO_CHECK_OK);
	CU_ASSERT_EQUAL(tu_out[0].h.type, DP_MSG_WAITING);
	CU_ASSERT_EQUAL(tu_out[0].h.rank, 0);
	CU_ASSERT_EQUAL(tu_out[0].h.round, round);
	CU_ASSERT_EQUAL(tu_out[0].h.slot, dp_proto_slot_make(10, 0));
	CU_ASSERT_EQUAL(tu_out[0].payload_size, sizeof(struct dp_proto_join_wait));
	{
		struct dp_proto_join_wait w;

		dp_proto_join_wait_read(tu_out[0].payload, &w);
		CU_ASSERT_EQUAL(w.n_workers, NW);
		CU_ASSERT_EQUAL(w.n_joined, 1);
		CU_ASSERT_EQUAL(w.missing[0], 1);
		CU_ASSERT_EQUAL(w.missing[2], 3);
		CU_ASSERT_EQUAL(w.missing[3], DP_PROTO_RANK_NONE);
	}
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_DUPLICATE), 1);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_COUNT_MISMATCH), 1);
	tu_grad(1, 2, 10, 0, DP_DTYPE_F32, ELEMS_32, 0, round, in[2]);
	tu_grad(1, 3, 10, 0, DP_DTYPE_F32, ELEMS_32, 0, round, in[3]);
	tu_poll();
	expect_results(tu_collect(), NW, 1, dp_proto_slot_make(10, 0), round, 0, ELEMS_32,
		       want, sizeof(want));

	/* Rank 2 lost its result and retransmits: it alone gets it again. */
	tu_snap(&before);
	tu_grad(1, 2, 10, 0, DP_DTYPE_F32, ELEMS_32, 0, round, in[2]);
	tu_poll();
	CU_ASSERT_EQUAL_FATAL(tu_collect(), 1);
	CU_ASSERT_EQUAL(tu_out[0].h.rank, 2);
	CU_ASSERT_EQUAL(tu_out[0].dst_ip, TU_WORKER_IP(2));
	CU_ASSERT(memcmp(tu_out[0].payload, want, sizeof(want)) == 0);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_RESULT_RESENT), 1);

	/* The next use of the set, then a late copy of the old one: stale. */
	for (unsigned w = 0; w < NW; w++)
		tu_grad(1, (uint16_t)w, 10, 0, DP_DTYPE_F32, ELEMS_32, 1024, round, in[w]);
	tu_poll();
	CU_ASSERT_EQUAL(tu_collect(), NW);
	tu_grad(1, 1, 10, 0, DP_DTYPE_F32, ELEMS_32, 0, round, in[1]);
	tu_poll();
	CU_ASSERT_EQUAL(tu_collect(), 0);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_STALE), 1);
}

/* A packet on the wrong queue (no flow rule) reaches its shard via the
 * owner's handoff ring and aggregates there. */
static void test_foreign_shard_packets_are_handed_over(void)
{
	static float in[ELEMS_32];
	struct gw_stats before;
	uint32_t round = next_round[1]++;
	struct tu_pkt p;

	for (unsigned e = 0; e < ELEMS_32; e++)
		in[e] = 1.5f;
	tu_snap(&before);
	for (unsigned w = 0; w < NW; w++) {
		tu_pkt_daitn(&p, DP_MSG_GRAD, 1, (uint16_t)w, dp_proto_slot_make(5, 0),
			     DP_DTYPE_F32, ELEMS_32, 0, round, in, sizeof(in));
		tu_inject(0, tu_build(&p));   /* slot 5 is shard 1's; queue 0 is shard 0's */
	}
	tu_poll();
	CU_ASSERT_EQUAL(tu_ev_delta(&before, GW_EV_HANDOFF_OUT), NW);
	CU_ASSERT_EQUAL(tu_ev_delta(&before, GW_EV_HANDOFF_IN), NW);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_COMPLETED), 1);
	CU_ASSERT_EQUAL(tu_collect(), NW);
	CU_ASSERT_EQUAL(tu_out[0].queue, 1);   /* results leave from the owner */
}

/* The set's next use arrives while every copy of its previous result is
 * still queued for TX: the set takes another buffer, the queued copies keep
 * the old sum. */
static void test_reuse_while_tx_holds_the_result(void)
{
	static float a[ELEMS_32], b[ELEMS_32];
	struct gw_stats before;
	uint32_t round = next_round[1]++;
	struct rte_mbuf *held[NW];
	float got[ELEMS_32];

	for (unsigned e = 0; e < ELEMS_32; e++) {
		a[e] = 1.0f;
		b[e] = 2.0f;
	}
	tu_snap(&before);
	for (unsigned w = 0; w < NW; w++)
		tu_grad(1, (uint16_t)w, 12, 0, DP_DTYPE_F32, ELEMS_32, 0, round, a);
	tu_poll();
	CU_ASSERT_EQUAL_FATAL(rte_ring_dequeue_bulk(tu.tx[0], (void **)held, NW, NULL), NW);
	for (unsigned w = 0; w < NW; w++)
		tu_grad(1, (uint16_t)w, 12, 0, DP_DTYPE_F32, ELEMS_32, 256, round, b);
	tu_poll();
	CU_ASSERT_EQUAL(tu_ev_delta(&before, GW_EV_BUF_BUSY), 1);
	CU_ASSERT_EQUAL(tu_collect(), NW);
	CU_ASSERT_EQUAL(((float *)tu_out[0].payload)[0], 8.0f);
	for (unsigned w = 0; w < NW; w++) {
		const float *f = rte_pktmbuf_read(held[w], DP_PROTO_FRAME_HDR_SIZE, sizeof(got), got);

		CU_ASSERT_EQUAL(f[0], 4.0f);
		CU_ASSERT_EQUAL(f[ELEMS_32 - 1], 4.0f);
		rte_pktmbuf_free(held[w]);
	}
}

static void test_job_of_256_workers_fans_out_to_all(void)
{
	static float in[256][64], want[64];
	struct gw_stats before;
	uint32_t round = next_round[5]++;

	for (unsigned e = 0; e < 64; e++) {
		want[e] = 0;
		for (unsigned w = 0; w < 256; w++) {
			in[w][e] = (float)(w + e);
			want[e] += in[w][e];
		}
	}
	tu_snap(&before);
	for (unsigned w = 0; w < 256; w++) {
		tu_grad(5, (uint16_t)w, 7, 1, DP_DTYPE_F32, 64, 128, round, in[w]);
		if (w % 64 == 63)
			tu_poll();
	}
	tu_poll();
	expect_results(tu_collect(), 256, 5, dp_proto_slot_make(7, 1), round, 128, 64, want,
		       sizeof(want));
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_COMPLETED), 1);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AGGREGATED), 255);
}

/*
 * Deterministic jobs (6 float32, 7 bfloat16, 8 float16): whatever order the
 * ranks' chunks arrive in, the result is their fold in rank order
 * (docs/protocol.md, section 5, "Deterministic jobs").
 */
static uint16_t det_job(uint8_t dtype)
{
	return dtype == DP_DTYPE_F32 ? 6 : dtype == DP_DTYPE_BF16 ? 7 : 8;
}

/* Inputs whose sum depends on the order of the adds: a spread of
 * magnitudes, and in element 0 1e8, 1, -1e8, 1, whose fold in rank order
 * is 1 and in the order 3, 1, 0, 2 is 0. in holds NW x n elements of dtype
 * (4 or 2 bytes each); want gets the rank-order fold. */
static void det_inputs(uint8_t dtype, unsigned n, void *in, void *want)
{
	unsigned seed = 7u + dtype;

	for (unsigned e = 0; e < n; e++) {
		float acc = 0;

		for (unsigned w = 0; w < NW; w++) {
			float v = ((float)rand_r(&seed) / (float)RAND_MAX - 0.5f) *
				  ldexpf(1.0f, rand_r(&seed) % 40 - 20);

			if (e == 0)
				v = w == 0 ? 1e8f : w == 2 ? -1e8f : 1.0f;
			if (dtype == DP_DTYPE_F32) {
				((float *)in)[w * n + e] = v;
				acc = w == 0 ? v : acc + v;
			} else {
				uint16_t h = dtype == DP_DTYPE_BF16 ? kn_f32_to_bf16(v) : kn_f32_to_f16(v);
				float x = dtype == DP_DTYPE_BF16 ? kn_bf16_to_f32(h) : kn_f16_to_f32(h);

				((uint16_t *)in)[w * n + e] = h;
				acc = w == 0 ? x : acc + x;
			}
		}
		if (dtype == DP_DTYPE_F32)
			((float *)want)[e] = acc;
		else
			((uint16_t *)want)[e] = dtype == DP_DTYPE_BF16 ? kn_f32_to_bf16(acc)
								    : kn_f32_to_f16(acc);
	}
}

static unsigned lc_held(unsigned shard)
{
	const struct gw_lcore *lc = tu.gw->lcores[shard];

	return lc->held - atomic_load(&lc->held_gone);
}

static void test_deterministic_sum_is_the_rank_order_fold_in_any_arrival_order(void)
{
	static const unsigned orders[][NW] = {
		{ 3, 1, 0, 2 }, { 2, 3, 1, 0 }, { 0, 1, 2, 3 }, { 1, 3, 2, 0 }, { 3, 2, 1, 0 },
	};
	static const uint8_t dtypes[] = { DP_DTYPE_F32, DP_DTYPE_BF16, DP_DTYPE_F16 };
	static uint8_t in[NW * 1024], want[1024];
	unsigned in_use = rte_mempool_in_use_count(tu.pool);

	for (unsigned t = 0; t < 3; t++) {
		uint8_t dtype = dtypes[t];
		uint16_t job = det_job(dtype);
		size_t esize = dp_proto_dtype_size(dtype);
		unsigned n = (unsigned)(1024 / esize);

		det_inputs(dtype, n, in, want);
		for (unsigned o = 0; o < sizeof(orders) / sizeof(orders[0]); o++) {
			uint32_t round = next_round[job]++;
			uint16_t index = (uint16_t)(o % 4);
			struct gw_stats before;

			tu_snap(&before);
			for (unsigned i = 0; i < NW; i++) {
				unsigned w = orders[o][i];

				tu_grad(job, (uint16_t)w, index, 0, dtype, (uint16_t)n, 0, round,
					in + (size_t)w * n * esize);
				tu_poll();
				if (i < NW - 1)
					CU_ASSERT_EQUAL(tu_collect(), 0);
			}
			expect_results(tu_collect(), NW, job, dp_proto_slot_make(index, 0), round, 0,
				       (uint16_t)n, want, n * esize);
			CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AGGREGATED), NW - 1);
			CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_COMPLETED), 1);
			CU_ASSERT_EQUAL(lc_held(index % TU_SHARDS), 0);
		}
	}
	/* Every held contribution went back to its pool. */
	CU_ASSERT_EQUAL(rte_mempool_in_use_count(tu.pool), in_use);
}

/* The same inputs on an ordinary float32 job: the arrival order shows in
 * the result (so the test above could fail). */
static void test_ordinary_sum_depends_on_the_arrival_order(void)
{
	static float in[NW][ELEMS_32], want[ELEMS_32], got[2][ELEMS_32];
	static const unsigned orders[2][NW] = { { 0, 1, 2, 3 }, { 3, 1, 0, 2 } };

	det_inputs(DP_DTYPE_F32, ELEMS_32, in, want);
	for (unsigned o = 0; o < 2; o++) {
		uint32_t round = next_round[1]++;

		for (unsigned i = 0; i < NW; i++)
			tu_grad(1, (uint16_t)orders[o][i], 2, 0, DP_DTYPE_F32, ELEMS_32, 0, round,
				in[orders[o][i]]);
		tu_poll();
		CU_ASSERT_EQUAL_FATAL(tu_collect(), NW);
		memcpy(got[o], tu_out[0].payload, sizeof(got[o]));
	}
	CU_ASSERT(memcmp(got[0], want, sizeof(want)) == 0);
	CU_ASSERT_EQUAL(got[0][0], 1.0f);
	CU_ASSERT_EQUAL(got[1][0], 0.0f);
	CU_ASSERT(memcmp(got[0], got[1], sizeof(want)) != 0);
}

/* Duplicates of a held chunk, the hold budget spent, and a use abandoned
 * with chunks still held: nothing leaks, nothing counts twice. */
static void test_deterministic_holds_duplicates_budget_and_abandonment(void)
{
	static float in[NW][ELEMS_32], want[ELEMS_32];
	struct gw_lcore *lc = tu.gw->lcores[1];
	uint32_t max = lc->held_max, round = next_round[6]++;
	unsigned in_use = rte_mempool_in_use_count(tu.pool);
	struct gw_stats before;

	det_inputs(DP_DTYPE_F32, ELEMS_32, in, want);
	tu_snap(&before);
	/* Slot 5 lives on shard 1. Rank 3 is held; its retransmission is a
	 * duplicate, answered with WAITING. */
	lc->held_max = 1;
	tu_grad(6, 3, 5, 1, DP_DTYPE_F32, ELEMS_32, 0, round, in[3]);
	tu_grad(6, 3, 5, 1, DP_DTYPE_F32, ELEMS_32, 0, round, in[3]);
	tu_poll();
	CU_ASSERT_EQUAL_FATAL(tu_collect(), 1);
	CU_ASSERT_EQUAL(tu_out[0].h.type, DP_MSG_WAITING);
	CU_ASSERT_EQUAL(lc_held(1), 1);
	/* Rank 2 would be held too: over the budget, dropped uncounted. */
	tu_grad(6, 2, 5, 1, DP_DTYPE_F32, ELEMS_32, 0, round, in[2]);
	tu_poll();
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_HOLD_FULL), 1);
	CU_ASSERT_EQUAL(lc_held(1), 1);
	/* Ranks 0 and 1 fold at once; the retransmitted rank 2 lets rank 3 go. */
	tu_grad(6, 0, 5, 1, DP_DTYPE_F32, ELEMS_32, 0, round, in[0]);
	tu_grad(6, 1, 5, 1, DP_DTYPE_F32, ELEMS_32, 0, round, in[1]);
	tu_poll();
	CU_ASSERT_EQUAL(tu_collect(), 0);
	CU_ASSERT_EQUAL(lc_held(1), 1);
	tu_grad(6, 2, 5, 1, DP_DTYPE_F32, ELEMS_32, 0, round, in[2]);
	tu_poll();
	expect_results(tu_collect(), NW, 6, dp_proto_slot_make(5, 1), round, 0, ELEMS_32, want,
		       sizeof(want));
	CU_ASSERT_EQUAL(lc_held(1), 0);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_DUPLICATE), 1);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AGGREGATED), NW - 1);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_COMPLETED), 1);
	lc->held_max = max;

	/* Round r + 1: ranks 2 and 3 reach slot 7 and wait for rank 0, which
	 * never comes; round r + 2 takes the set over and the held chunks go. */
	round = next_round[6]++;
	tu_grad(6, 2, 7, 1, DP_DTYPE_F32, ELEMS_32, 0, round, in[2]);
	tu_grad(6, 3, 7, 1, DP_DTYPE_F32, ELEMS_32, 0, round, in[3]);
	for (unsigned w = 0; w < NW; w++)         /* completes round r + 1 elsewhere */
		tu_grad(6, (uint16_t)w, 5, 0, DP_DTYPE_F32, ELEMS_32, 0, round, in[w]);
	tu_poll();
	CU_ASSERT_EQUAL(tu_collect(), NW);
	CU_ASSERT_EQUAL(lc_held(1), 2);
	round = next_round[6]++;
	tu_snap(&before);
	for (unsigned w = NW; w-- > 0;)
		tu_grad(6, (uint16_t)w, 7, 1, DP_DTYPE_F32, ELEMS_32, 0, round, in[w]);
	tu_poll();
	expect_results(tu_collect(), NW, 6, dp_proto_slot_make(7, 1), round, 0, ELEMS_32, want,
		       sizeof(want));
	CU_ASSERT_EQUAL(tu_ev_delta(&before, GW_EV_SLOTS_ABANDONED), 1);
	CU_ASSERT_EQUAL(lc_held(1), 0);
	CU_ASSERT_EQUAL(rte_mempool_in_use_count(tu.pool), in_use);
}

/*
 * Partial jobs (docs/protocol.md section 5, "Partial rounds"): 9 closes at
 * a quorum of 3 of 4, 10 at a 50 ms deadline with at least 2 ranks, 11 is
 * deterministic with a quorum of 3.
 */

/* want = the float32 sum of the ranks in `in_mask` (bit r: rank r) in rank
 * order, then the trailer; returns its size. */
static size_t partial_want(uint8_t *want, const float in[][ELEMS_32], unsigned in_mask)
{
	uint64_t bm = in_mask;
	unsigned n_in = 0;
	float *w = (float *)(void *)want;

	for (unsigned e = 0; e < ELEMS_32; e++) {
		bool first = true;

		for (unsigned r = 0; r < NW; r++) {
			if (!(in_mask >> r & 1))
				continue;
			w[e] = first ? in[r][e] : w[e] + in[r][e];
			first = false;
		}
	}
	for (unsigned r = 0; r < NW; r++)
		n_in += in_mask >> r & 1;
	dp_proto_ranks_write(want + sizeof(float) * ELEMS_32, NW, (uint16_t)n_in, &bm);
	return sizeof(float) * ELEMS_32 + dp_proto_ranks_size(NW);
}

/* Inputs whose sums are exact in any order (integers). */
static void exact_inputs(float in[][ELEMS_32])
{
	for (unsigned r = 0; r < NW; r++)
		for (unsigned e = 0; e < ELEMS_32; e++)
			in[r][e] = (float)(r * 1000 + e);
}

static struct gw_job_lc *job_lc(uint16_t job, unsigned shard)
{
	return gw_tables_job(tu.gw->tables, job)->inst->lc[shard];
}

static void grads(uint16_t job, const unsigned *ranks, unsigned n, uint16_t index, unsigned set,
		  uint32_t round, const float in[][ELEMS_32])
{
	for (unsigned i = 0; i < n; i++)
		tu_grad(job, (uint16_t)ranks[i], index, set, DP_DTYPE_F32, ELEMS_32, 0, round,
			in[ranks[i]]);
	tu_poll();
}

static void test_quorum_closes_at_three_and_the_fourth_is_late(void)
{
	static float in[NW][ELEMS_32];
	static uint8_t want[8192];
	static const unsigned first[] = { 3, 1, 0 }, second[] = { 0, 2, 3 }, third[] = { 0, 1, 2 };
	uint32_t r0 = next_round[9]++, r1 = next_round[9]++, r2 = next_round[9]++;
	struct gw_job_lc *jl = job_lc(9, 0);
	struct gw_stats before;
	size_t size;

	exact_inputs(in);
	/* Round r0 on slot 2, set 0: ranks 3, 1, 0 close it and every rank
	 * gets the result; rank 2 then comes late and gets it again alone,
	 * not added. */
	tu_snap(&before);
	grads(9, first, 3, 2, 0, r0, in);
	size = partial_want(want, in, 0xb);
	expect_results(tu_collect(), NW, 9, dp_proto_slot_make(2, 0), r0, 0, ELEMS_32, want, size);
	CU_ASSERT(tu_out[0].h.flags & DP_PROTO_FLAG_RANKS);
	tu_grad(9, 2, 2, 0, DP_DTYPE_F32, ELEMS_32, 0, r0, in[2]);
	tu_poll();
	CU_ASSERT_EQUAL_FATAL(tu_collect(), 1);
	CU_ASSERT_EQUAL(tu_out[0].h.rank, 2);
	CU_ASSERT(memcmp(tu_out[0].payload, want, size) == 0);
	CU_ASSERT_FALSE(dp_proto_ranks_has(tu_out[0].payload + 4 * ELEMS_32, 2));
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_COMPLETED), 1);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_LATE), 1);
	/* Round r1 on set 1: ranks 0, 2, 3; every rank gets the result. */
	tu_snap(&before);
	grads(9, second, 3, 2, 1, r1, in);
	size = partial_want(want, in, 0xd);
	expect_results(tu_collect(), NW, 9, dp_proto_slot_make(2, 1), r1, 0, ELEMS_32, want, size);
	tu_grad(9, 1, 2, 1, DP_DTYPE_F32, ELEMS_32, 0, r1, in[1]);
	tu_poll();
	CU_ASSERT_EQUAL_FATAL(tu_collect(), 1);
	CU_ASSERT(memcmp(tu_out[0].payload, want, size) == 0);
	/* Round r2 takes set 0 over: a GRAD of r0 now is answered with
	 * ERROR 6, no larger than it, saying where the job is. */
	grads(9, third, 3, 2, 0, r2, in);
	CU_ASSERT_EQUAL(tu_collect(), NW);
	tu_grad(9, 3, 2, 0, DP_DTYPE_F32, ELEMS_32, 0, r0, in[3]);
	tu_poll();
	CU_ASSERT_EQUAL_FATAL(tu_collect(), 1);
	CU_ASSERT_EQUAL(tu_out[0].h.type, DP_MSG_ERROR);
	CU_ASSERT_EQUAL(tu_out[0].h.round, r0);
	CU_ASSERT_EQUAL(tu_out[0].h.offset, r2);
	CU_ASSERT_EQUAL(tu_out[0].payload[1], DP_ERR_ROUND_CLOSED);
	CU_ASSERT(tu_out[0].payload_size <= size);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_LATE), 2);
	CU_ASSERT_EQUAL(gw_cnt_read(&jl->closed_quorum), 3);
	CU_ASSERT_EQUAL(gw_cnt_read(&jl->missing[2]), 1);
	CU_ASSERT_EQUAL(gw_cnt_read(&jl->missing[1]), 1);
	CU_ASSERT_EQUAL(gw_cnt_read(&jl->missing[3]), 1);
	CU_ASSERT_EQUAL(gw_cnt_read(&jl->late), 3);
	CU_ASSERT_EQUAL(gw_cnt_read(&jl->last[0]) + gw_cnt_read(&jl->last[2]) +
			gw_cnt_read(&jl->last[3]), 3);
}

/* A fedavg job's chunk must end in a positive finite weight: zero, a
 * negative, an infinite or NaN weight, a negative zero and a chunk of the
 * weight alone are dropped (weight_bad) before they touch a slot; chunks
 * with good weights (a denormal one too) sum as any job's, weights and all. */
static void test_fedavg_chunks_need_a_positive_weight(void)
{
	static const float bad[] = { 0.0f, -0.0f, -1.0f, __builtin_inff(), -__builtin_inff(),
				     __builtin_nanf("") };
	static float in[NW][ELEMS_32], want[ELEMS_32];
	const uint16_t job = TU_JOB_FEDAVG;
	struct gw_stats before;
	uint32_t round = next_round[job]++;

	for (unsigned w = 0; w < NW; w++) {
		for (unsigned e = 0; e + 1 < ELEMS_32; e++)
			in[w][e] = (float)(w + 1) * (float)e;
		in[w][ELEMS_32 - 1] = w == 3 ? 1e-40f : (float)(w + 1);
	}
	for (unsigned e = 0; e < ELEMS_32; e++)
		want[e] = ((in[0][e] + in[1][e]) + in[2][e]) + in[3][e];
	tu_snap(&before);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		static float b[ELEMS_32];

		memcpy(b, in[0], sizeof(b));
		b[ELEMS_32 - 1] = bad[i];
		tu_grad(job, 0, 5, 0, DP_DTYPE_F32, ELEMS_32, 0, round, b);
	}
	tu_grad(job, 0, 5, 0, DP_DTYPE_F32, 1, 0, round, in[0]);   /* the weight alone */
	tu_poll();
	CU_ASSERT_EQUAL(tu_collect(), 0);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_WEIGHT_BAD), 7);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AGGREGATED), 0);
	for (unsigned w = 0; w < NW; w++)
		tu_grad(job, (uint16_t)w, 5, 0, DP_DTYPE_F32, ELEMS_32, 0, round, in[w]);
	tu_poll();
	expect_results(tu_collect(), NW, job, dp_proto_slot_make(5, 0), round, 0, ELEMS_32,
		       want, sizeof(want));
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_WEIGHT_BAD), 7);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_COMPLETED), 1);
}

/* A GRAD of a partial job must carry the trailer sized to it; no other
 * job's may. */
static void test_ranks_trailer_must_match_the_job(void)
{
	static float in[ELEMS_32];
	static uint8_t buf[8192];
	struct gw_stats before;
	struct tu_pkt p;
	uint32_t round = next_round[9];

	tu_snap(&before);
	tu_pkt_daitn(&p, DP_MSG_GRAD, 9, 0, dp_proto_slot_make(4, 0), DP_DTYPE_F32, ELEMS_32, 0,
		     round, in, sizeof(in));                 /* partial, no trailer */
	tu_inject(0, tu_build(&p));
	memcpy(buf, in, sizeof(in));
	dp_proto_ranks_write(buf + sizeof(in), 5, 0, NULL);    /* 5 ranks, the job has 4 */
	tu_pkt_daitn(&p, DP_MSG_GRAD, 9, 0, dp_proto_slot_make(4, 0), DP_DTYPE_F32, ELEMS_32, 0,
		     round, buf, sizeof(in) + dp_proto_ranks_size(5));
	p.h.flags = DP_PROTO_FLAG_RANKS;
	tu_inject(0, tu_build(&p));
	dp_proto_ranks_write(buf + sizeof(in), 4, 0, NULL);    /* job 1 is not partial */
	tu_pkt_daitn(&p, DP_MSG_GRAD, 1, 0, dp_proto_slot_make(4, 0), DP_DTYPE_F32, ELEMS_32, 0,
		     next_round[1], buf, sizeof(in) + dp_proto_ranks_size(4));
	p.h.flags = DP_PROTO_FLAG_RANKS;
	tu_inject(0, tu_build(&p));
	tu_poll();
	CU_ASSERT_EQUAL(tu_collect(), 0);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_RANKS_MISMATCH), 3);
	/* The flag with no trailer, the frame padded past the datagram with
	 * what a trailer would be: the datagram's own length rules, so the
	 * padding is never read as one (and nothing answers). */
	{
		struct rte_mbuf *m;
		struct rte_ipv4_hdr *ip;
		struct rte_udp_hdr *udp;

		tu_snap(&before);
		tu_pkt_daitn(&p, DP_MSG_GRAD, 9, 0, dp_proto_slot_make(4, 0), DP_DTYPE_F32, ELEMS_32,
			     0, round, buf, sizeof(in) + dp_proto_ranks_size(4));
		p.h.flags = DP_PROTO_FLAG_RANKS;
		m = tu_build(&p);
		ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
		udp = (struct rte_udp_hdr *)(ip + 1);
		ip->total_length = rte_cpu_to_be_16(rte_be_to_cpu_16(ip->total_length) -
						    (uint16_t)dp_proto_ranks_size(4));
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		udp->dgram_len = rte_cpu_to_be_16(rte_be_to_cpu_16(udp->dgram_len) -
						  (uint16_t)dp_proto_ranks_size(4));
		tu_inject(0, m);
		tu_poll();
		CU_ASSERT_EQUAL(tu_collect(), 0);
		CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_PROTO_LENGTH_MISMATCH), 1);
		CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AGGREGATED), 0);
	}
}

static void test_deadline_closes_at_the_next_grad_with_enough_ranks(void)
{
	static float in[NW][ELEMS_32];
	static uint8_t want[8192];
	static const unsigned all[] = { 0, 1, 2, 3 };
	uint32_t r0 = next_round[10]++, r1 = next_round[10]++, r2 = next_round[10]++;
	struct gw_job_lc *jl = job_lc(10, 0);
	struct gw_stats before;
	size_t size;

	exact_inputs(in);
	/* Every rank in time: the use completes whole. */
	grads(10, all, NW, 4, 0, r0, in);
	size = partial_want(want, in, 0xf);
	expect_results(tu_collect(), NW, 10, dp_proto_slot_make(4, 0), r0, 0, ELEMS_32, want, size);
	/* Ranks 0 and 1 within 50 ms: nothing; rank 2 after it closes the use
	 * with three; rank 3 is late. */
	tu_snap(&before);
	tu_grad(10, 0, 4, 1, DP_DTYPE_F32, ELEMS_32, 0, r1, in[0]);
	tu_poll();                   /* the gateway's clock reads at the poll */
	tu_clock_advance_ms(30);
	tu_grad(10, 1, 4, 1, DP_DTYPE_F32, ELEMS_32, 0, r1, in[1]);
	tu_poll();
	CU_ASSERT_EQUAL(tu_collect(), 0);
	tu_clock_advance_ms(30);
	tu_grad(10, 2, 4, 1, DP_DTYPE_F32, ELEMS_32, 0, r1, in[2]);
	tu_poll();
	size = partial_want(want, in, 0x7);
	expect_results(tu_collect(), NW, 10, dp_proto_slot_make(4, 1), r1, 0, ELEMS_32, want, size);
	tu_grad(10, 3, 4, 1, DP_DTYPE_F32, ELEMS_32, 0, r1, in[3]);
	tu_poll();
	CU_ASSERT_EQUAL(tu_collect(), 1);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_LATE), 1);
	/* One rank is not enough, however old the use: its retransmission
	 * gets WAITING; the second rank's GRAD closes it. */
	tu_grad(10, 0, 4, 0, DP_DTYPE_F32, ELEMS_32, 0, r2, in[0]);
	tu_poll();
	tu_clock_advance_ms(100);
	tu_grad(10, 0, 4, 0, DP_DTYPE_F32, ELEMS_32, 0, r2, in[0]);
	tu_poll();
	CU_ASSERT_EQUAL_FATAL(tu_collect(), 1);
	CU_ASSERT_EQUAL(tu_out[0].h.type, DP_MSG_WAITING);
	tu_grad(10, 3, 4, 0, DP_DTYPE_F32, ELEMS_32, 0, r2, in[3]);
	tu_poll();
	size = partial_want(want, in, 0x9);
	expect_results(tu_collect(), NW, 10, dp_proto_slot_make(4, 0), r2, 0, ELEMS_32, want, size);
	CU_ASSERT_EQUAL(gw_cnt_read(&jl->closed_deadline), 2);
	CU_ASSERT_EQUAL(gw_cnt_read(&jl->closed_quorum), 0);
	CU_ASSERT_EQUAL(gw_cnt_read(&jl->missing[3]), 1);
	CU_ASSERT_EQUAL(gw_cnt_read(&jl->missing[2]), 1);
	CU_ASSERT_EQUAL(gw_cnt_read(&jl->missing[1]), 1);
	CU_ASSERT_EQUAL(gw_cnt_read(&jl->missing[0]), 0);
}

/* Deterministic with a quorum: rank 0 never comes; ranks 3, 1, 2 are held
 * and folded 1, 2, 3 when the quorum closes the use. */
static void test_deterministic_quorum_folds_the_present_ranks_in_order(void)
{
	static float in[NW][ELEMS_32];
	static uint8_t want[8192];
	static const unsigned order[] = { 3, 1, 2 };
	uint32_t round = next_round[11]++;
	unsigned in_use = rte_mempool_in_use_count(tu.pool);
	size_t size;

	det_inputs(DP_DTYPE_F32, ELEMS_32, in, want);
	for (unsigned w = 0; w < NW; w++)       /* every rank known on shard 1 */
		tu_grad(11, (uint16_t)w, 1, 0, DP_DTYPE_F32, ELEMS_32, 0, round, in[w]);
	tu_poll();
	CU_ASSERT_EQUAL(tu_collect(), NW);      /* three copies, then one late */
	round = next_round[11]++;
	grads(11, order, 3, 1, 1, round, in);
	size = partial_want(want, in, 0xe);
	expect_results(tu_collect(), NW, 11, dp_proto_slot_make(1, 1), round, 0, ELEMS_32, want,
		       size);
	CU_ASSERT_EQUAL(lc_held(1), 0);
	CU_ASSERT_EQUAL(rte_mempool_in_use_count(tu.pool), in_use);
}

/* A full hold budget must not keep a deterministic quorum job from closing
 * (the completing chunk is never held), nor make a chunk replace the set's
 * current use; and a new run frees what the last one held. */
static void test_deterministic_holds_never_block_a_close_nor_outlive_their_run(void)
{
	static float in[NW][ELEMS_32];
	static uint8_t want[8192];
	static const unsigned order[] = { 1, 2, 3 }, all[] = { 0, 1, 2, 3 };
	struct gw_lcore *lc = tu.gw->lcores[1];
	uint32_t max = lc->held_max, round = next_round[11]++;
	unsigned in_use = rte_mempool_in_use_count(tu.pool);
	struct gw_stats before;
	size_t size;

	exact_inputs(in);
	/* Job 11, slot 3 (shard 1), rank 0 gone: ranks 1 and 2 fill a budget
	 * of 2; rank 3's chunk completes the quorum all the same. */
	lc->held_max = 2;
	tu_snap(&before);
	grads(11, order, 3, 3, 0, round, in);
	size = partial_want(want, in, 0xe);
	expect_results(tu_collect(), NW, 11, dp_proto_slot_make(3, 0), round, 0, ELEMS_32, want,
		       size);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_HOLD_FULL), 0);
	CU_ASSERT_EQUAL(lc_held(1), 0);
	lc->held_max = max;

	/* Job 6 (all ranks), slot 5 (shard 1): the use of round r completes;
	 * with the budget spent, rank 2's chunk of a later round is refused
	 * without replacing it: rank 1 can still fetch round r's result. */
	round = next_round[6]++;
	grads(6, all, NW, 5, 0, round, in);
	CU_ASSERT_EQUAL(tu_collect(), NW);
	lc->held_max = 0;
	tu_snap(&before);
	tu_grad(6, 2, 5, 0, DP_DTYPE_F32, ELEMS_32, 0, round + 1, in[2]);
	tu_grad(6, 1, 5, 0, DP_DTYPE_F32, ELEMS_32, 0, round, in[1]);
	tu_poll();
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_HOLD_FULL), 1);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_RESULT_RESENT), 1);
	CU_ASSERT_EQUAL(tu_collect(), 1);
	lc->held_max = max;

	/* Ranks 2 and 3 of the next round wait for rank 0 on slot 7; the job
	 * is rejoined (a new run): its first GRAD on the lcore frees them. */
	round = next_round[6]++;
	tu_grad(6, 2, 7, 1, DP_DTYPE_F32, ELEMS_32, 0, round, in[2]);
	tu_grad(6, 3, 7, 1, DP_DTYPE_F32, ELEMS_32, 0, round, in[3]);
	tu_poll();
	CU_ASSERT_EQUAL(lc_held(1), 2);
	round = tu_join(6, NW, 60000);
	CU_ASSERT_NOT_EQUAL_FATAL(round, UINT32_MAX);
	next_round[6] = round + 1;
	tu_grad(6, 0, 1, 0, DP_DTYPE_F32, ELEMS_32, 0, round, in[0]);
	tu_poll();
	CU_ASSERT_EQUAL(lc_held(1), 0);
	for (unsigned w = 1; w < NW; w++)
		tu_grad(6, (uint16_t)w, 1, 0, DP_DTYPE_F32, ELEMS_32, 0, round, in[w]);
	tu_poll();
	CU_ASSERT_EQUAL(tu_collect(), NW);
	CU_ASSERT_EQUAL(rte_mempool_in_use_count(tu.pool), in_use);
}

static CU_TestInfo tests[] = {
	{ "float32_sum_is_bit_exact_for_every_worker", test_float32_sum_is_bit_exact_for_every_worker },
	{ "int32_sum_wraps_exactly", test_int32_sum_wraps_exactly },
	{ "bfloat16_sum_is_bit_exact", test_bfloat16_sum_is_bit_exact },
	{ "float16_sum_is_bit_exact", test_float16_sum_is_bit_exact },
	{ "duplicates_retransmissions_and_stale_copies", test_duplicates_retransmissions_and_stale_copies },
	{ "foreign_shard_packets_are_handed_over", test_foreign_shard_packets_are_handed_over },
	{ "reuse_while_tx_holds_the_result", test_reuse_while_tx_holds_the_result },
	{ "job_of_256_workers_fans_out_to_all", test_job_of_256_workers_fans_out_to_all },
	{ "deterministic_sum_is_the_rank_order_fold_in_any_arrival_order",
	  test_deterministic_sum_is_the_rank_order_fold_in_any_arrival_order },
	{ "ordinary_sum_depends_on_the_arrival_order", test_ordinary_sum_depends_on_the_arrival_order },
	{ "deterministic_holds_duplicates_budget_and_abandonment",
	  test_deterministic_holds_duplicates_budget_and_abandonment },
	{ "quorum_closes_at_three_and_the_fourth_is_late",
	  test_quorum_closes_at_three_and_the_fourth_is_late },
	{ "ranks_trailer_must_match_the_job", test_ranks_trailer_must_match_the_job },
	{ "fedavg_chunks_need_a_positive_weight", test_fedavg_chunks_need_a_positive_weight },
	{ "deadline_closes_at_the_next_grad_with_enough_ranks",
	  test_deadline_closes_at_the_next_grad_with_enough_ranks },
	{ "deterministic_quorum_folds_the_present_ranks_in_order",
	  test_deterministic_quorum_folds_the_present_ranks_in_order },
	{ "deterministic_holds_never_block_a_close_nor_outlive_their_run",
	  test_deterministic_holds_never_block_a_close_nor_outlive_their_run },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo tu_suite_gw_agg = { "gw_agg", NULL, NULL, NULL, NULL, tests };
