/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite gw_hello: HELLO is refused with an ERROR naming the reason, or
 * answered with the job's parameters and a round_base that every worker of
 * a run shares and a new run moves past the rounds the gateway holds.
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

	tu_pkt_daitn(&p, DP_MSG_HELLO, job, rank, 0, dtype, 0, 0, nonce, NULL, 0);
	p.dport = TU_UDP_BASE;
	if (sport != 0)
		p.sport = sport;
	tu_snap(&before);
	tu_inject(0, tu_build(&p));
	tu_poll();
	CU_ASSERT_EQUAL(tu_fate_delta(&before, want), 1);
	if (tu_collect() != 1)
		return NULL;
	CU_ASSERT_EQUAL(tu_out[0].check, DP_DROP_NONE);
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
	dp_proto_error_read(o->payload, &err);
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
		     "rank 2 is 10.9.0.13:47101, not 10.9.0.13:4444");
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

static void test_hello_ack_carries_the_job(void)
{
	struct dp_proto_job_info ji;

	ack_base(hello(2, 1, 0, 0, 77, DP_DROP_HELLO), &ji);
	CU_ASSERT_EQUAL(tu_out[0].h.dtype, DP_DTYPE_I32);
	CU_ASSERT_EQUAL(ji.n_workers, 4);
	CU_ASSERT_EQUAL(ji.chunk_size, 1024);
	CU_ASSERT_EQUAL(ji.n_slots, 128);           /* 256 KiB / (2 sets x 1 KiB) */
	CU_ASSERT_EQUAL(ji.udp_port_base, TU_UDP_BASE);
	CU_ASSERT_EQUAL(ji.n_shards, TU_SHARDS);
	CU_ASSERT_EQUAL(ji.dtype, DP_DTYPE_I32);
	CU_ASSERT_EQUAL(ji.frac_bits, 16);
	CU_ASSERT_EQUAL(ji.policy_version, 7);
	/* A HELLO naming the right type is fine too. */
	ack_base(hello(2, 1, DP_DTYPE_I32, 0, 78, DP_DROP_HELLO), &ji);
}

static void test_round_base_is_shared_by_a_run_and_moves_for_the_next(void)
{
	static float in[256];
	struct dp_proto_job_info ji;
	uint32_t b1, b2;

	/* Every rank of job 1 sent GRADs in earlier suites: rank 0 coming
	 * back is a new run, whose base is past every round seen. */
	b1 = ack_base(hello(1, 0, 0, 0, 10, DP_DROP_HELLO), &ji);
	CU_ASSERT(b1 > 100);
	/* The others join the same run, a retransmitted HELLO too. */
	CU_ASSERT_EQUAL(ack_base(hello(1, 1, 0, 0, 11, DP_DROP_HELLO), &ji), b1);
	CU_ASSERT_EQUAL(ack_base(hello(1, 0, 0, 0, 10, DP_DROP_HELLO), &ji), b1);
	CU_ASSERT_EQUAL(ack_base(hello(1, 2, 0, 0, 12, DP_DROP_HELLO), &ji), b1);
	/* Rank 0 starts before rank 3 has joined: still the same run. */
	tu_grad(1, 0, 20, 0, DP_DTYPE_F32, 256, 0, b1, in);
	tu_poll();
	CU_ASSERT_EQUAL(ack_base(hello(1, 3, 0, 0, 13, DP_DROP_HELLO), &ji), b1);
	for (uint16_t w = 1; w < 4; w++)
		tu_grad(1, w, 20, 0, DP_DTYPE_F32, 256, 0, b1, in);
	tu_poll();
	CU_ASSERT_EQUAL(tu_collect(), 4);

	/* The run ends; a new one starts after round b1. */
	b2 = ack_base(hello(1, 2, 0, 0, 20, DP_DROP_HELLO), &ji);
	CU_ASSERT_EQUAL(b2, b1 + 1);
	CU_ASSERT_EQUAL(ack_base(hello(1, 0, 0, 0, 21, DP_DROP_HELLO), &ji), b2);
	/* Its first chunk on the same set is a new use, not the old result. */
	for (uint16_t w = 0; w < 4; w++)
		tu_grad(1, w, 20, 0, DP_DTYPE_F32, 256, 0, b2, in);
	tu_poll();
	CU_ASSERT_EQUAL_FATAL(tu_collect(), 4);
	CU_ASSERT_EQUAL(tu_out[0].h.round, b2);
}

static CU_TestInfo tests[] = {
	{ "hello_refusals_say_why", test_hello_refusals_say_why },
	{ "hello_ack_carries_the_job", test_hello_ack_carries_the_job },
	{ "round_base_is_shared_by_a_run_and_moves_for_the_next",
	  test_round_base_is_shared_by_a_run_and_moves_for_the_next },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo tu_suite_gw_hello = { "gw_hello", NULL, NULL, NULL, NULL, tests };
