/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite gw_hello: HELLO is refused with an ERROR naming the reason, or
 * gathers the job's next run: HELLO_WAIT until every rank joined, then
 * HELLO_ACK with the job's parameters and a round_base that every worker of
 * the run shares and that is past every round the gateway holds. Only the
 * current run's contributions meet in a slot, whatever the join order.
 */
#include <string.h>

#include <CUnit/Basic.h>

#include "gw_tu.h"

/* Send a HELLO from rank to job; return the one answer (or NULL). */
static const struct tu_out *hello(uint16_t job, uint16_t rank, uint8_t dtype, uint16_t sport,
				  uint32_t nonce, enum dp_drop want)
{
	struct gw_stats before;
	struct tu_pkt p;

	tu_pkt_daitn(&p, DP_MSG_HELLO, job, rank, 0, dtype, 0, 0, nonce, tu_hello_pad,
		     DP_PROTO_HELLO_PAD);
	/* A source asks at most 100 times a second (the gateway's per-source
	 * reply rate): 10 ms on the gateway's clock between two HELLOs. */
	tu_clock_advance_ms(10);
	p.dport = TU_UDP_BASE;
	if (sport != 0)
		p.sport = sport;
	tu_snap(&before);
	tu_inject(0, tu_build(&p));
	tu_poll();
	CU_ASSERT_EQUAL(tu_fate_delta(&before, want), 1);
	if (tu_collect() != 1)
		return NULL;
	CU_ASSERT_EQUAL(tu_out[0].check, DP_PROTO_CHECK_OK);
	CU_ASSERT_EQUAL(tu_out[0].h.job, job);
	CU_ASSERT_EQUAL(tu_out[0].h.rank, rank);
	CU_ASSERT_EQUAL(tu_out[0].h.round, nonce);
	CU_ASSERT_EQUAL(tu_out[0].dst_ip, TU_WORKER_IP(rank));
	CU_ASSERT_EQUAL(tu_out[0].dport, sport != 0 ? sport : TU_WORKER_PORT(job));
	CU_ASSERT_EQUAL(tu_out[0].sport, TU_UDP_BASE);
	CU_ASSERT_TRUE(tu_out[0].ip_csum_ok);
	return &tu_out[0];
}

static void expect_error(const struct tu_out *o, uint16_t code, const char *text_part)
{
	struct dp_proto_error err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL_FATAL(o->h.type, DP_MSG_ERROR);
	dp_proto_error_read(o->payload, o->payload_size, &err);
	CU_ASSERT_EQUAL(err.code, code);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, text_part));
	if (strstr(err.text, text_part) == NULL)
		fprintf(stderr, "\n    ERROR text \"%s\" lacks \"%s\"\n", err.text, text_part);
}

static void test_hello_refusals_say_why(void)
{
	expect_error(hello(42, 0, 0, 0, 1, DP_DROP_JOB_UNKNOWN), DP_ERR_UNKNOWN_JOB,
		     "job 42 is not in policy version 7");
	expect_error(hello(1, 9, 0, 0, 2, DP_DROP_RANK_INVALID), DP_ERR_NOT_ADMITTED,
		     "ranks 0..3");
	expect_error(hello(1, 2, 0, 4444, 3, DP_DROP_SOURCE_NOT_ADMITTED), DP_ERR_NOT_ADMITTED,
		     "rank 2 is not admitted from 10.9.0.13:4444");
	/* The rank's own address is no business of a stranger's. */
	CU_ASSERT_PTR_NULL(strstr((const char *)tu_out[0].payload + 4, "47101"));
	expect_error(hello(2, 0, DP_DTYPE_F32, 0, 4, DP_DROP_DTYPE_MISMATCH), DP_ERR_BAD_PARAMS,
		     "job 2 is int32, not float32");
}

static uint32_t ack_base(const struct tu_out *o, struct dp_proto_job_info *ji)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL_FATAL(o->h.type, DP_MSG_HELLO_ACK);
	CU_ASSERT_EQUAL_FATAL(o->payload_size, sizeof(*ji));
	dp_proto_job_info_read(o->payload, ji);
	return ji->round_base;
}

/* The answer o is a HELLO_WAIT: n_joined of 4 joined, `missing` the rest. */
static void expect_wait(const struct tu_out *o, uint16_t n_joined, const uint16_t *missing)
{
	struct dp_proto_join_wait w;

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL_FATAL(o->h.type, DP_MSG_HELLO_WAIT);
	CU_ASSERT_EQUAL_FATAL(o->payload_size, sizeof(w));
	dp_proto_join_wait_read(o->payload, &w);
	CU_ASSERT_EQUAL(w.n_workers, 4);
	CU_ASSERT_EQUAL(w.n_joined, n_joined);
	for (unsigned i = 0; i < DP_PROTO_WAIT_LIST; i++)
		CU_ASSERT_EQUAL(w.missing[i], i < 4u - n_joined ? missing[i] : DP_PROTO_RANK_NONE);
}

static void test_run_starts_when_every_rank_joined(void)
{
	static const uint16_t m023[] = { 0, 2, 3 }, m3[] = { 3 };
	struct dp_proto_job_info ji;
	uint32_t base;

	/* Rank 1's new process ends job 2's run (from the set-up): it waits. */
	expect_wait(hello(2, 1, 0, 0, 77, DP_DROP_HELLO), 1, m023);
	CU_ASSERT_EQUAL(tu_out[0].h.dtype, DP_DTYPE_I32);
	expect_wait(hello(2, 1, 0, 0, 77, DP_DROP_HELLO), 1, m023);   /* resent */
	hello(2, 0, 0, 0, 70, DP_DROP_HELLO);
	/* A rank's process may be replaced before the run starts. */
	hello(2, 2, 0, 0, 72, DP_DROP_HELLO);
	expect_wait(hello(2, 2, DP_DTYPE_I32, 0, 73, DP_DROP_HELLO), 3, m3);
	base = ack_base(hello(2, 3, 0, 0, 74, DP_DROP_HELLO), &ji);
	CU_ASSERT_EQUAL(tu_out[0].h.dtype, DP_DTYPE_I32);
	CU_ASSERT_EQUAL(ji.n_workers, 4);
	CU_ASSERT_EQUAL(ji.chunk_size, 1024);
	CU_ASSERT_EQUAL(ji.n_slots, 128);           /* 256 KiB / (2 sets x 1 KiB) */
	CU_ASSERT_EQUAL(ji.udp_port_base, TU_UDP_BASE);
	CU_ASSERT_EQUAL(ji.n_shards, TU_SHARDS);
	CU_ASSERT_EQUAL(ji.dtype, DP_DTYPE_I32);
	CU_ASSERT_EQUAL(ji.frac_bits, 16);
	CU_ASSERT_EQUAL(ji.policy_version, 7);
	/* The others learn the same base when they ask again; so does a
	 * retransmission whose ACK was lost. */
	CU_ASSERT_EQUAL(ack_base(hello(2, 1, 0, 0, 77, DP_DROP_HELLO), &ji), base);
	CU_ASSERT_EQUAL(ack_base(hello(2, 2, 0, 0, 73, DP_DROP_HELLO), &ji), base);
	CU_ASSERT_EQUAL(ack_base(hello(2, 3, 0, 0, 74, DP_DROP_HELLO), &ji), base);
}

static uint32_t nonce_next = 1u << 20;

/* A full slot of job 1, index 20, set `set`, round `round`, from each rank
 * in `ranks` (value: rank + 1 + tag): returns the RESULTs collected. */
static unsigned contribute(const uint16_t *ranks, unsigned n, unsigned set, uint32_t round,
			   float tag)
{
	static float in[256];

	for (unsigned i = 0; i < n; i++) {
		for (unsigned e = 0; e < 256; e++)
			in[e] = (float)(ranks[i] + 1) + tag;
		tu_grad(1, ranks[i], 20, set, DP_DTYPE_F32, 256, 0, round, in);
		tu_poll();
	}
	return tu_collect();
}

/*
 * The sequence, in every join order: a run where rank 3 never
 * contributed leaves a slot with ranks 0..2's data; then all four ranks
 * start again. Whoever joins first, the new run's slot holds only its own
 * contributions: its result is exactly 1+2+3+4 (+ 4 x tag), never a mix.
 */
static void test_relaunch_in_every_order_sums_only_the_new_run(void)
{
	static const uint16_t old_ranks[] = { 0, 1, 2 }, all[] = { 0, 1, 2, 3 };
	unsigned n_orders = 0;

	for (unsigned p = 0; p < 24; p++) {
		uint16_t order[4], pool[4] = { 0, 1, 2, 3 };
		struct dp_proto_job_info ji;
		struct gw_stats before;
		uint32_t old_base, base = UINT32_MAX, n;
		unsigned q = p;

		/* The p-th permutation of 0..3. */
		for (unsigned i = 0, left = 4; i < 4; i++, left--) {
			unsigned k = q % left;

			q /= left;
			order[i] = pool[k];
			memmove(&pool[k], &pool[k + 1], (left - k - 1) * sizeof(pool[0]));
		}
		old_base = tu_join(1, 4, nonce_next);
		nonce_next += 16;
		CU_ASSERT_EQUAL_FATAL(contribute(old_ranks, 3, 0, old_base, 100.0f), 0);

		tu_snap(&before);
		for (unsigned i = 0; i < 4; i++) {
			const struct tu_out *o = hello(1, order[i], 0, 0, nonce_next + order[i],
						       DP_DROP_HELLO);

			CU_ASSERT_PTR_NOT_NULL_FATAL(o);
			if (i < 3) {
				CU_ASSERT_EQUAL(o->h.type, DP_MSG_HELLO_WAIT);
			} else {
				base = ack_base(o, &ji);
			}
		}
		nonce_next += 16;
		CU_ASSERT(dp_proto_tag_cmp(base, 0, old_base, 0) > 0);
		/* The new run's first rank alone completes nothing; the old run's
		 * late copies are outside the new run. */
		CU_ASSERT_EQUAL(contribute(&order[0], 1, 0, base, 0.0f), 0);
		CU_ASSERT_EQUAL(contribute(old_ranks, 3, 0, old_base, 100.0f), 0);
		CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_ROUND_OUTSIDE_RUN), 3);
		n = contribute(&order[1], 3, 0, base, 0.0f);
		CU_ASSERT_EQUAL_FATAL(n, 4);
		for (unsigned i = 0; i < n; i++) {
			CU_ASSERT_EQUAL(tu_out[i].h.round, base);
			CU_ASSERT_EQUAL(((const float *)tu_out[i].payload)[0], 10.0f);
			CU_ASSERT_EQUAL(((const float *)tu_out[i].payload)[255], 10.0f);
		}
		CU_ASSERT_EQUAL(contribute(all, 0, 0, base, 0.0f), 0);
		n_orders++;
	}
	CU_ASSERT_EQUAL(n_orders, 24);
}

/* One rank restarted alone ends the run for all: the others' contributions
 * are answered with ERROR run_ended (echoing their round) and go nowhere. */
static void test_one_rank_restarted_ends_the_run_for_all(void)
{
	static const uint16_t others[] = { 0, 1, 3 };
	struct dp_proto_job_info ji;
	struct dp_proto_error err;
	struct gw_stats before;
	uint32_t base = tu_join(1, 4, nonce_next), base2;
	const float one = 1.0f;
	unsigned n;

	nonce_next += 16;
	CU_ASSERT_EQUAL(contribute(others, 2, 1, base, 0.0f), 0);
	CU_ASSERT_EQUAL(hello(1, 2, 0, 0, nonce_next, DP_DROP_HELLO)->h.type, DP_MSG_HELLO_WAIT);
	tu_snap(&before);
	n = contribute(others, 3, 1, base, 0.0f);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_RUN_NONE), 3);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	for (unsigned i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(tu_out[i].h.type, DP_MSG_ERROR);
		CU_ASSERT_EQUAL(tu_out[i].h.round, base);
		CU_ASSERT_EQUAL(tu_out[i].sport, TU_UDP_BASE);   /* slot 20: shard 0 */
		CU_ASSERT_TRUE(tu_out[i].ip_csum_ok);
		dp_proto_error_read(tu_out[i].payload, tu_out[i].payload_size, &err);
		CU_ASSERT_EQUAL(err.code, DP_ERR_RUN_ENDED);
	}
	/* A one-element GRAD (the last chunk of a tensor) is told too, by an
	 * ERROR cut to its own payload size: never larger than the GRAD. */
	tu_grad(1, 0, 20, 0, DP_DTYPE_F32, 1, 0, base, &one);
	tu_poll();
	CU_ASSERT_EQUAL_FATAL(tu_collect(), 1);
	CU_ASSERT_EQUAL(tu_out[0].check, DP_PROTO_CHECK_OK);
	CU_ASSERT_EQUAL(tu_out[0].h.type, DP_MSG_ERROR);
	CU_ASSERT_EQUAL(tu_out[0].payload_size, 4);
	dp_proto_error_read(tu_out[0].payload, tu_out[0].payload_size, &err);
	CU_ASSERT_EQUAL(err.code, DP_ERR_RUN_ENDED);
	CU_ASSERT_EQUAL(err.text[0], '\0');
	/* The others restart too: a new run, past the old one. */
	for (unsigned i = 0; i < 2; i++)
		hello(1, others[i], 0, 0, nonce_next + 1 + i, DP_DROP_HELLO);
	base2 = ack_base(hello(1, 3, 0, 0, nonce_next + 3, DP_DROP_HELLO), &ji);
	nonce_next += 16;
	CU_ASSERT(dp_proto_tag_cmp(base2, 0, base, 0) > 0);
}

/* A run accepts rounds in [base, base + 2^30), and none past one after the
 * newest it completed: a worker sends round r + 1 only once round r is done.
 * A burst of GRADs far ahead (as an admitted but buggy or hostile rank could
 * send) is dropped and counted; it cannot make the real ones stale. */
static void test_rounds_outside_the_run_or_ahead_are_dropped(void)
{
	static const uint16_t r0[] = { 0 }, all[] = { 0, 1, 2, 3 };
	struct gw_stats before;
	uint32_t base = tu_join(1, 4, nonce_next);

	nonce_next += 16;
	tu_snap(&before);
	contribute(r0, 1, 0, base - 1, 0.0f);
	contribute(r0, 1, 0, base + (1u << 30), 0.0f);
	contribute(r0, 1, 0, base + (1u << 31), 0.0f);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_ROUND_OUTSIDE_RUN), 3);
	/* The burst: rank 0, far ahead, inside the window; on both sets. */
	for (uint32_t k = 1; k < 128; k++) {
		contribute(r0, 1, 0, base + (k << 20), 0.0f);
		contribute(r0, 1, 1, base + (k << 20), 0.0f);
	}
	contribute(r0, 1, 0, base + 1, 0.0f);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_ROUND_AHEAD), 2 * 127 + 1);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AGGREGATED), 0);
	/* The job goes on: round base, then base + 1. */
	CU_ASSERT_EQUAL(contribute(all, 4, 0, base, 0.0f), 4);
	CU_ASSERT_EQUAL(contribute(all, 4, 1, base + 1, 0.0f), 4);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_COMPLETED), 2);
}

/* A rank that stopped asking (its process gave up or died) is not counted:
 * the run cannot start with it, and starts once a live process joins. */
static void test_a_rank_that_stopped_asking_is_not_counted(void)
{
	static const uint16_t m012[] = { 0, 1, 2 }, m2[] = { 2 };
	struct dp_proto_job_info ji;

	for (uint16_t r = 0; r < 3; r++)
		hello(1, r, 0, 0, nonce_next + r, DP_DROP_HELLO);
	tu_clock_advance_ms(2001);
	expect_wait(hello(1, 3, 0, 0, nonce_next + 3, DP_DROP_HELLO), 1, m012);
	/* Ranks 0 and 1 come back (new processes); rank 2 has still not. */
	hello(1, 0, 0, 0, nonce_next + 10, DP_DROP_HELLO);
	expect_wait(hello(1, 1, 0, 0, nonce_next + 11, DP_DROP_HELLO), 3, m2);
	ack_base(hello(1, 2, 0, 0, nonce_next + 12, DP_DROP_HELLO), &ji);
	nonce_next += 16;
}

/* LEAVE from a rank's process that gives up: a gathering run forgets it (if
 * the nonce is its own); a running run is left alone. No answer either way. */
static void test_leave_forgets_a_joined_rank_only_while_gathering(void)
{
	static const uint16_t m1[] = { 1 };
	struct dp_proto_job_info ji;
	struct gw_stats before;
	struct tu_pkt p;
	uint32_t base;

	for (uint16_t r = 0; r < 3; r++)
		hello(1, r, 0, 0, nonce_next + r, DP_DROP_HELLO);
	tu_snap(&before);
	for (unsigned k = 0; k < 2; k++) {
		/* First with another process's nonce (ignored), then its own. */
		tu_pkt_daitn(&p, DP_MSG_LEAVE, 1, 1, 0, 0, 0, 0, nonce_next + 1 + (k == 0 ? 7 : 0),
			     tu_hello_pad, DP_PROTO_HELLO_PAD);
		p.dport = TU_UDP_BASE;
		tu_inject(0, tu_build(&p));
		tu_poll();
	}
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_HELLO), 2);
	CU_ASSERT_EQUAL(tu_collect(), 0);
	expect_wait(hello(1, 3, 0, 0, nonce_next + 3, DP_DROP_HELLO), 3, m1);
	base = ack_base(hello(1, 1, 0, 0, nonce_next + 11, DP_DROP_HELLO), &ji);
	/* Running: a LEAVE changes nothing, the run still ACKs rank 1. */
	tu_pkt_daitn(&p, DP_MSG_LEAVE, 1, 1, 0, 0, 0, 0, nonce_next + 11, tu_hello_pad,
		     DP_PROTO_HELLO_PAD);
	p.dport = TU_UDP_BASE;
	tu_inject(0, tu_build(&p));
	tu_poll();
	CU_ASSERT_EQUAL(ack_base(hello(1, 1, 0, 0, nonce_next + 11, DP_DROP_HELLO), &ji), base);
	nonce_next += 16;
}

/* Answers to unauthenticated requests are rate-limited per source: a burst
 * of 32, then 100 a second; the requests are still counted under their fate. */
static void test_answers_to_one_source_are_rate_limited(void)
{
	struct gw_stats before;
	struct tu_pkt p;
	unsigned answers = 0;

	tu_clock_advance_ms(1000);     /* every bucket full */
	tu_snap(&before);
	for (unsigned i = 0; i < 100; i++) {
		tu_pkt_daitn(&p, DP_MSG_HELLO, 42, 0, 0, 0, 0, 0, i, tu_hello_pad,
			     DP_PROTO_HELLO_PAD);
		p.src_ip = 0x0a090063;          /* 10.9.0.99, in no job */
		p.sport = 5555;
		p.dport = TU_UDP_BASE;
		tu_inject(0, tu_build(&p));
		if (i % 16 == 15) {
			tu_poll();
			answers += tu_collect();
		}
	}
	tu_poll();
	answers += tu_collect();
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_JOB_UNKNOWN), 100);
	CU_ASSERT_EQUAL(answers, 32);
	CU_ASSERT_EQUAL(tu_ev_delta(&before, GW_EV_REPLIES_LIMITED), 68);
	/* 100 ms later: 10 more. */
	tu_clock_advance_ms(100);
	for (unsigned i = 0; i < 20; i++) {
		tu_pkt_daitn(&p, DP_MSG_HELLO, 42, 0, 0, 0, 0, 0, i, tu_hello_pad,
			     DP_PROTO_HELLO_PAD);
		p.src_ip = 0x0a090063;
		p.sport = 5555;
		p.dport = TU_UDP_BASE;
		tu_inject(0, tu_build(&p));
	}
	tu_poll();
	CU_ASSERT_EQUAL(tu_collect(), 10);
}

/* Joins are shard 0's: a HELLO to another shard's port gets no answer. */
static void test_hello_to_another_shard_port_is_dropped(void)
{
	struct gw_stats before;
	struct tu_pkt p;

	tu_pkt_daitn(&p, DP_MSG_HELLO, 1, 0, 0, 0, 0, 0, 5, tu_hello_pad, DP_PROTO_HELLO_PAD);
	p.dport = TU_UDP_BASE + 1;
	tu_snap(&before);
	tu_inject(1, tu_build(&p));
	tu_poll();
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_UDP_WRONG_PORT), 1);
	CU_ASSERT_EQUAL(tu_collect(), 0);
}

static CU_TestInfo tests[] = {
	{ "hello_refusals_say_why", test_hello_refusals_say_why },
	{ "run_starts_when_every_rank_joined", test_run_starts_when_every_rank_joined },
	{ "relaunch_in_every_order_sums_only_the_new_run",
	  test_relaunch_in_every_order_sums_only_the_new_run },
	{ "one_rank_restarted_ends_the_run_for_all", test_one_rank_restarted_ends_the_run_for_all },
	{ "rounds_outside_the_run_or_ahead_are_dropped",
	  test_rounds_outside_the_run_or_ahead_are_dropped },
	{ "a_rank_that_stopped_asking_is_not_counted",
	  test_a_rank_that_stopped_asking_is_not_counted },
	{ "leave_forgets_a_joined_rank_only_while_gathering",
	  test_leave_forgets_a_joined_rank_only_while_gathering },
	{ "answers_to_one_source_are_rate_limited", test_answers_to_one_source_are_rate_limited },
	{ "hello_to_another_shard_port_is_dropped", test_hello_to_another_shard_port_is_dropped },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo tu_suite_gw_hello = { "gw_hello", NULL, NULL, NULL, NULL, tests };
