/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite dp_sched_order: construction errors, bounded queues, and the serving
 * order (strict priority, DRR weights among jobs and among equal-priority
 * classes, bands), plus a randomised check that no packet is lost or
 * duplicated. Tolerance for weights: DRR with a 2048-byte quantum keeps every
 * backlogged leaf within one quantum per weight unit of its share, i.e.
 * within 2% over the 8,000 packets dequeued here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../tu_main.h"

#include "sched_test_util.h"

static void
test_bad_configurations_are_refused(void)
{
	struct dp_sched_class_conf cc = { .priority = 0, .weight = 1 };
	struct dp_sched_leaf_conf lf = { .cls = 0, .weight = 1, .tenant = DP_SCHED_NONE,
		.queue_len = 4 };
	struct dp_sched_rate tn = { .rate = 10, .burst = (1ull << 30) + 1 };
	struct dp_sched_conf conf = { .n_classes = 1, .classes = &cc, .n_leaves = 1,
		.leaves = &lf };
	struct dp_sched *s;

	errno = 0;
	CU_ASSERT_PTR_NULL(dp_sched_create(NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	conf.n_classes = 0;
	CU_ASSERT_PTR_NULL(dp_sched_create(&conf));
	conf.n_classes = DP_SCHED_CLASSES_MAX + 1;
	CU_ASSERT_PTR_NULL(dp_sched_create(&conf));
	conf.n_classes = 1;
	cc.weight = 0;
	CU_ASSERT_PTR_NULL(dp_sched_create(&conf));
	cc.weight = 1;
	lf.cls = 1;
	CU_ASSERT_PTR_NULL(dp_sched_create(&conf));
	lf.cls = 0;
	lf.queue_len = 0;
	CU_ASSERT_PTR_NULL(dp_sched_create(&conf));
	lf.queue_len = 4;
	lf.weight = 0;
	CU_ASSERT_PTR_NULL(dp_sched_create(&conf));
	lf.weight = 1;
	lf.tenant = 0;          /* no tenants configured */
	CU_ASSERT_PTR_NULL(dp_sched_create(&conf));
	conf.n_tenants = 1;
	conf.tenants = &tn;     /* burst over 2^30 */
	errno = 0;
	CU_ASSERT_PTR_NULL(dp_sched_create(&conf));
	CU_ASSERT_EQUAL(errno, EINVAL);
	tn.burst = 16;
	s = dp_sched_create(&conf);
	CU_ASSERT_PTR_NOT_NULL(s);
	CU_ASSERT_EQUAL(dp_sched_free(s), 0);
	CU_ASSERT_EQUAL(dp_sched_free(NULL), 0);
}

static void
test_unknown_leaf_and_empty_packet_are_handed_back(void)
{
	static const uint32_t w[] = { 1 };
	struct dp_sched *s = sched_3class(w, 1, 8, NULL, NULL, 0, NULL);
	struct dp_sched_pkt p[3] = {
		{ .pkt = pk(9, 0), .len = 100, .leaf = 9 },
		{ .pkt = pk(2, 1), .len = 0, .leaf = 2 },
		{ .pkt = pk(2, 2), .len = 100, .leaf = 2 },
	};
	void *dropped[3];

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(dp_sched_enqueue(s, p, 3, dropped), 2);
	CU_ASSERT_PTR_EQUAL(dropped[0], pk(9, 0));
	CU_ASSERT_PTR_EQUAL(dropped[1], pk(2, 1));
	CU_ASSERT_EQUAL(dp_sched_bad_input(s), 2);
	CU_ASSERT_EQUAL(dp_sched_backlog(s), 1);
	/* Not empty: refuses to free (the packet would leak). */
	CU_ASSERT_EQUAL(dp_sched_free(s), -EBUSY);
	CU_ASSERT_EQUAL(sched_drain_free(s), 1);
}

static void
test_full_queue_drops_are_returned_and_counted(void)
{
	static const uint32_t w[] = { 1 };
	struct dp_sched *s = sched_3class(w, 1, 8, NULL, NULL, 0, NULL);
	struct dp_sched_pkt p[12];
	struct dp_sched_counters c;
	void *dropped[12];
	unsigned i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (i = 0; i < 12; i++)
		p[i] = (struct dp_sched_pkt){ .pkt = pk(2, i), .len = 1000, .leaf = 2,
			.band = (uint8_t)(i % 3) };
	CU_ASSERT_EQUAL(dp_sched_enqueue(s, p, 12, dropped), 4);
	for (i = 0; i < 4; i++)
		CU_ASSERT_PTR_EQUAL(dropped[i], pk(2, 8 + i));
	CU_ASSERT_EQUAL(dp_sched_leaf_stats(s, 2, &c), 0);
	CU_ASSERT_EQUAL(c.enq_pkts, 8);
	CU_ASSERT_EQUAL(c.drop_pkts, 4);
	CU_ASSERT_EQUAL(c.drop_bytes, 4000);
	CU_ASSERT_EQUAL(dp_sched_class_stats(s, 2, &c), 0);
	CU_ASSERT_EQUAL(c.drop_pkts, 4);
	CU_ASSERT_EQUAL(dp_sched_class_stats(s, 0, &c), 0);
	CU_ASSERT_EQUAL(c.drop_pkts, 0);
	CU_ASSERT_EQUAL(dp_sched_class_stats(s, 3, &c), -EINVAL);
	CU_ASSERT_EQUAL(dp_sched_leaf_stats(s, 3, &c), -EINVAL);
	/* Other leaves are bounded separately: control still gets in. */
	CU_ASSERT_EQUAL(enq1(s, 0, 0, 64, 0), 0);
	CU_ASSERT_EQUAL(sched_drain_free(s), 9);
}

static void
test_strict_priority_control_then_inference_then_training(void)
{
	static const uint32_t w[] = { 1, 1 };
	struct dp_sched *s = sched_3class(w, 2, 256, NULL, NULL, 0, NULL);
	uint32_t seq[4] = { 0 }, expect_seq[4] = { 0 };
	void *out[256];
	unsigned i, n, k;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	/* Interleave: training first so arrival order alone would be wrong. */
	for (i = 0; i < 100; i++) {
		enq1(s, 2 + (i & 1), seq[2 + (i & 1)]++, 1500, 15);
		if (i % 10 == 0)
			enq1(s, 1, seq[1]++, 600, 15);
		if (i % 20 == 0)
			enq1(s, 0, seq[0]++, 64, 15);
	}
	n = dp_sched_dequeue(s, 0, out, NULL, 256);
	CU_ASSERT_EQUAL(n, 100 + 10 + 5);
	for (i = 0; i < n; i++) {
		uint32_t leaf = pk_leaf(out[i]);
		uint32_t want = i < 5 ? 0 : i < 15 ? 1 : 2;

		CU_ASSERT_EQUAL(leaf < 2 ? leaf : 2, want);
		/* FIFO within each leaf. */
		CU_ASSERT_EQUAL(pk_seq(out[i]), expect_seq[leaf]);
		expect_seq[leaf]++;
	}
	/* Priority holds across calls: control arriving mid-backlog goes next. */
	for (i = 0; i < 20; i++)
		enq1(s, 2, 1000 + i, 1500, 15);
	n = dp_sched_dequeue(s, 0, out, NULL, 4);
	CU_ASSERT_EQUAL(n, 4);
	enq1(s, 1, 500, 600, 15);
	enq1(s, 0, 500, 64, 15);
	n = dp_sched_dequeue(s, 0, out, NULL, 3);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_PTR_EQUAL(out[0], pk(0, 500));
	CU_ASSERT_PTR_EQUAL(out[1], pk(1, 500));
	CU_ASSERT_EQUAL(pk_leaf(out[2]), 2);
	k = sched_drain_free(s);
	CU_ASSERT_EQUAL(k, 15);
}

/* Keep every training job backlogged and count bytes sent per job. */
static void
weighted_run(const uint32_t *w, unsigned n_jobs, const uint32_t *lens, uint64_t *bytes,
	     unsigned total)
{
	struct dp_sched *s = sched_3class(w, n_jobs, 64, NULL, NULL, 0, NULL);
	uint32_t seq[16] = { 0 };
	unsigned sent = 0, i, j, n;
	void *out[16];
	uint32_t olen[16];

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memset(bytes, 0, n_jobs * sizeof(*bytes));
	while (sent < total) {
		for (j = 0; j < n_jobs; j++)
			while (enq1(s, 2 + j, seq[j], lens[j], 15) == 0)
				seq[j]++;
		n = dp_sched_dequeue(s, 0, out, olen, 16);
		CU_ASSERT_FATAL(n > 0);
		for (i = 0; i < n; i++)
			bytes[pk_leaf(out[i]) - 2] += olen[i];
		sent += n;
	}
	sched_drain_free(s);
}

static void
test_training_jobs_share_by_weight(void)
{
	static const uint32_t w[] = { 1, 2, 5 };
	static const uint32_t same[] = { 1000, 1000, 1000 };
	static const uint32_t mixed[] = { 1500, 300, 900 };
	uint64_t bytes[3], sum;
	unsigned j;

	weighted_run(w, 3, same, bytes, 8000);
	sum = bytes[0] + bytes[1] + bytes[2];
	for (j = 0; j < 3; j++) {
		double share = (double)bytes[j] / (double)sum, want = w[j] / 8.0;

		CU_ASSERT(share > want - 0.02 && share < want + 0.02);
	}
	/* Shares are of bytes, whatever the packet sizes. */
	weighted_run(w, 3, mixed, bytes, 8000);
	sum = bytes[0] + bytes[1] + bytes[2];
	for (j = 0; j < 3; j++) {
		double share = (double)bytes[j] / (double)sum, want = w[j] / 8.0;

		CU_ASSERT(share > want - 0.02 && share < want + 0.02);
	}
}

static void
test_bands_order_packets_within_a_job(void)
{
	static const uint32_t w[] = { 1 };
	struct dp_sched *s = sched_3class(w, 1, 64, NULL, NULL, 0, NULL);
	static const uint8_t bands[] = { 15, 4, 0, 15, 4, 0, 9 };
	static const uint32_t order[] = { 2, 5, 1, 4, 6, 0, 3 };
	void *out[8];
	unsigned i, n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (i = 0; i < 7; i++)
		enq1(s, 2, i, 1000, bands[i]);
	n = dp_sched_dequeue(s, 0, out, NULL, 8);
	CU_ASSERT_EQUAL_FATAL(n, 7);
	for (i = 0; i < 7; i++)
		CU_ASSERT_EQUAL(pk_seq(out[i]), order[i]);
	/* Hint mapping: 1 most urgent, none last, bands over 15 clamp. */
	CU_ASSERT_EQUAL(dp_sched_band(1), 0);
	CU_ASSERT_EQUAL(dp_sched_band(15), 14);
	CU_ASSERT_EQUAL(dp_sched_band(0), 15);
	enq1(s, 2, 10, 1000, 200);
	enq1(s, 2, 11, 1000, 14);
	CU_ASSERT_EQUAL(dp_sched_dequeue(s, 0, out, NULL, 8), 2);
	CU_ASSERT_EQUAL(pk_seq(out[0]), 11);
	CU_ASSERT_EQUAL(dp_sched_free(s), 0);
}

static void
test_equal_priority_classes_share_by_class_weight(void)
{
	struct dp_sched_class_conf cc[2] = { { .priority = 3, .weight = 1 },
					     { .priority = 3, .weight = 3 } };
	struct dp_sched_leaf_conf lf[2] = {
		{ .cls = 0, .weight = 1, .tenant = DP_SCHED_NONE, .queue_len = 32 },
		{ .cls = 1, .weight = 1, .tenant = DP_SCHED_NONE, .queue_len = 32 },
	};
	struct dp_sched_conf conf = { .n_classes = 2, .classes = cc, .n_leaves = 2,
		.leaves = lf, .quantum = 1000 };
	struct dp_sched *s = dp_sched_create(&conf);
	unsigned count[2] = { 0, 0 }, i, n, seq = 0;
	void *out[8];

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (i = 0; i < 1000; i++) {
		while (enq1(s, 0, seq, 500, 0) == 0 && ++seq)
			;
		while (enq1(s, 1, seq, 500, 0) == 0 && ++seq)
			;
		n = dp_sched_dequeue(s, 0, out, NULL, 8);
		while (n--)
			count[pk_leaf(out[n])]++;
	}
	CU_ASSERT(count[1] > 2.9 * count[0] && count[1] < 3.1 * count[0]);
	sched_drain_free(s);
}

static void
test_backlog_bound_refuses_beyond_it(void)
{
	struct dp_sched_class_conf cc = { .priority = 0, .weight = 1 };
	struct dp_sched_leaf_conf lf[2] = {
		{ .cls = 0, .weight = 1, .tenant = DP_SCHED_NONE, .queue_len = 100 },
		{ .cls = 0, .weight = 1, .tenant = DP_SCHED_NONE, .queue_len = 100 },
	};
	struct dp_sched_conf conf = { .n_classes = 1, .classes = &cc, .n_leaves = 2,
		.leaves = lf, .max_backlog = 10 };
	struct dp_sched *s = dp_sched_create(&conf);
	struct dp_sched_counters c;
	unsigned i, refused = 0;
	void *out[4];

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (i = 0; i < 8; i++)
		refused += enq1(s, 0, i, 100, 0);
	for (i = 0; i < 4; i++)
		refused += enq1(s, 1, i, 100, 0);
	CU_ASSERT_EQUAL(refused, 2);
	CU_ASSERT_EQUAL(dp_sched_backlog(s), 10);
	dp_sched_leaf_stats(s, 1, &c);
	CU_ASSERT_EQUAL(c.drop_pkts, 2);
	/* Room again once packets leave. */
	CU_ASSERT_EQUAL(dp_sched_dequeue(s, 0, out, NULL, 4), 4);
	CU_ASSERT_EQUAL(enq1(s, 1, 9, 100, 0), 0);
	CU_ASSERT_EQUAL(sched_drain_free(s), 7);
}

/* The owner's fast path: an empty, uncapped scheduler's order for a batch is
 * (level, band), stable; packets sent that way are counted as if queued. */
static void
test_direct_order_and_counts_match_the_scheduler(void)
{
	static const uint32_t w[] = { 1, 1 };
	struct dp_sched_rate caps[3] = { { 0 }, { 0 }, { .rate = 1000, .unit = DP_SCHED_UNIT_BYTES } };
	struct dp_sched *s = sched_3class(w, 2, 64, NULL, NULL, 0, NULL);
	struct dp_sched *capped = sched_3class(w, 2, 64, caps, NULL, 0, NULL);
	struct dp_sched_pkt p[7];
	static const uint32_t leaf[7] = { 2, 3, 1, 2, 0, 1, 9 };
	static const uint8_t band[7] = { 15, 15, 15, 0, 15, 3, 0 };
	static const uint32_t order[7] = { 4, 5, 2, 3, 0, 1, 6 };
	struct dp_sched_counters c;
	void *out[8], *dropped[7];
	unsigned i, n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(capped);
	CU_ASSERT_FALSE(dp_sched_capped(s));
	CU_ASSERT_TRUE(dp_sched_capped(capped));
	for (i = 0; i < 7; i++)
		p[i] = (struct dp_sched_pkt){ .pkt = pk(leaf[i], i), .len = 100 + i,
			.leaf = leaf[i], .band = band[i] };
	dp_sched_order_direct(s, p, 7);
	for (i = 0; i < 7; i++)
		CU_ASSERT_EQUAL(pk_seq(p[i].pkt), order[i]);
	/* The same packets through the scheduler come out in the same order
	 * (the unknown leaf 9, sorted last here, is not offered to it). Leaf
	 * 2's two packets fit its first DRR quantum, so it sends both before
	 * leaf 3. */
	CU_ASSERT_EQUAL(dp_sched_enqueue(s, p, 6, dropped), 0);
	n = dp_sched_dequeue(s, 0, out, NULL, 8);
	CU_ASSERT_EQUAL(n, 6);
	for (i = 0; i < n; i++)
		CU_ASSERT_PTR_EQUAL(out[i], p[i].pkt);
	/* A long mixed batch: sorted by (class level, band), stable. */
	{
		static struct dp_sched_pkt big[1500];
		uint64_t r = 7;
		unsigned bad = 0;

		for (i = 0; i < 1500; i++) {
			r = r * 6364136223846793005ull + 1442695040888963407ull;
			big[i] = (struct dp_sched_pkt){ .pkt = pk((uint32_t)(r >> 60) % 4, i),
				.len = 64, .leaf = (uint32_t)(r >> 60) % 4,
				.band = (uint8_t)((r >> 40) % 16) };
		}
		dp_sched_order_direct(s, big, 1500);
		/* Each chunk of 1024 is sorted on its own. */
		for (i = 1; i < 1500; i++) {
			unsigned lv0 = big[i - 1].leaf < 2 ? big[i - 1].leaf : 2;
			unsigned lv1 = big[i].leaf < 2 ? big[i].leaf : 2;
			unsigned k0 = lv0 * 16 + big[i - 1].band, k1 = lv1 * 16 + big[i].band;

			if (i == 1024)
				continue;
			bad += k0 > k1 || (k0 == k1 && pk_seq(big[i - 1].pkt) > pk_seq(big[i].pkt));
		}
		CU_ASSERT_EQUAL(bad, 0);
	}
	dp_sched_count_direct(s, p, 7);
	dp_sched_class_stats(s, 2, &c);
	CU_ASSERT_EQUAL(c.enq_pkts, 6);     /* 3 queued + 3 direct */
	CU_ASSERT_EQUAL(c.deq_pkts, 6);
	CU_ASSERT_EQUAL(c.deq_bytes, 2 * (100 + 101 + 103));
	dp_sched_leaf_stats(s, 2, &c);
	CU_ASSERT_EQUAL(c.deq_pkts, 4);
	CU_ASSERT_EQUAL(dp_sched_free(s), 0);
	CU_ASSERT_EQUAL(dp_sched_free(capped), 0);
}

/* Random traffic: every packet comes out exactly once (sent, refused or
 * flushed) and the counters add up. */
static void
test_no_packet_is_lost_or_duplicated(void)
{
	static const uint32_t w[] = { 1, 3, 2, 7 };
	struct dp_sched *s = sched_3class(w, 4, 16, NULL, NULL, 0, NULL);
	enum { N = 20000 };
	uint8_t *seen = calloc(N, 1);
	uint64_t rnd = 12345, enq = 0, deq = 0, drop = 0, ce = 0, cd = 0, cx = 0;
	struct dp_sched_pkt p[8];
	void *buf[32];
	uint32_t id = 0, i, n, k;
	struct dp_sched_counters c;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(seen);
	while (id < N) {
		rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
		n = (uint32_t)(rnd >> 60) % 8 + 1;
		for (i = 0; i < n && id < N; i++, id++) {
			uint32_t r = (uint32_t)(rnd >> (i * 4)), leaf = r % 6;

			p[i] = (struct dp_sched_pkt){ .pkt = pk(leaf, id), .len = 64 + r % 1400,
				.leaf = leaf, .band = (uint8_t)((r >> 8) % 16) };
		}
		k = dp_sched_enqueue(s, p, i, buf);
		enq += i - k;
		drop += k;
		while (k--)
			seen[pk_seq(buf[k])]++;
		n = dp_sched_dequeue(s, 0, buf, NULL, (uint32_t)(rnd >> 40) % 12);
		deq += n;
		while (n--)
			seen[pk_seq(buf[n])]++;
	}
	while ((n = dp_sched_flush(s, buf, 32)) != 0)
		while (n--)
			seen[pk_seq(buf[n])]++;
	for (i = 0, k = 0; i < N; i++)
		k += seen[i] == 1;
	CU_ASSERT_EQUAL(k, N);
	CU_ASSERT(drop > 0);
	CU_ASSERT_EQUAL(dp_sched_backlog(s), 0);
	/* Class counters: what was queued, sent and refused. */
	for (i = 0; i < 3; i++) {
		dp_sched_class_stats(s, i, &c);
		ce += c.enq_pkts;
		cd += c.deq_pkts;
		cx += c.drop_pkts;
	}
	CU_ASSERT_EQUAL(ce, enq);
	CU_ASSERT_EQUAL(cd, deq);
	CU_ASSERT_EQUAL(cx, drop);
	CU_ASSERT_EQUAL(dp_sched_free(s), 0);
	free(seen);
}

static CU_TestInfo tests[] = {
	{ "bad_configurations_are_refused", test_bad_configurations_are_refused },
	{ "unknown_leaf_and_empty_packet_are_handed_back",
	  test_unknown_leaf_and_empty_packet_are_handed_back },
	{ "full_queue_drops_are_returned_and_counted", test_full_queue_drops_are_returned_and_counted },
	{ "strict_priority_control_then_inference_then_training",
	  test_strict_priority_control_then_inference_then_training },
	{ "training_jobs_share_by_weight", test_training_jobs_share_by_weight },
	{ "bands_order_packets_within_a_job", test_bands_order_packets_within_a_job },
	{ "equal_priority_classes_share_by_class_weight",
	  test_equal_priority_classes_share_by_class_weight },
	{ "backlog_bound_refuses_beyond_it", test_backlog_bound_refuses_beyond_it },
	{ "direct_order_and_counts_match_the_scheduler",
	  test_direct_order_and_counts_match_the_scheduler },
	{ "no_packet_is_lost_or_duplicated", test_no_packet_is_lost_or_duplicated },
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_main("dp_sched_order", tests);
}
