/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite gw_tables: a policy that cannot be served is refused and changes
 * nothing; a reload keeps the in-flight slots of unchanged jobs, resets
 * changed ones and drops removed ones.
 */
#include <errno.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "cp_policy.h"
#include "gw_tu.h"

static void test_policy_over_slot_memory_is_refused(void)
{
	struct cp_policy p;
	struct cp_job job;
	struct cp_worker w = { .ip = TU_WORKER_IP(0), .port = 1 };
	char err[256] = "";

	/* Built by hand: the validator would refuse it before the gateway. */
	memset(&p, 0, sizeof(p));
	memset(&job, 0, sizeof(job));
	job.id = 9;
	job.dtype = DP_DTYPE_F32;
	job.chunk_size = 1024;
	job.slot_memory = 64ull << 20;     /* 8x the gateway's 2 x 4 MiB */
	job.n_workers = 1;
	job.workers = &w;
	p.version = 99;
	p.n_jobs = 1;
	p.jobs = &job;
	CU_ASSERT_EQUAL(gw_policy_apply(tu.gw, &p, err, sizeof(err)), -ENOSPC);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "slot memory"));
	job.slot_memory = 1024;            /* less than one slot per shard */
	CU_ASSERT_EQUAL(gw_policy_apply(tu.gw, &p, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "at least one per data lcore"));
	CU_ASSERT_EQUAL(gw_policy_apply(tu.gw, NULL, err, sizeof(err)), -EINVAL);
	/* Nothing changed: job 1 still runs under version 7. */
	struct gw_stats js;

	CU_ASSERT_EQUAL(gw_job_stats_read(tu.gw, 1, &js), 0);
	CU_ASSERT_EQUAL(gw_job_stats_read(tu.gw, 9, &js), -ENOENT);
}

static void test_reload_keeps_unchanged_jobs_in_flight(void)
{
	static float in[256];
	uint32_t round = tu_join(1, 4, 7000), round3 = tu_join(3, 4, 7100);
	struct gw_stats before;

	for (unsigned e = 0; e < 256; e++)
		in[e] = 0.25f;
	/* Half a slot of job 1 and of job 3 before the reload. */
	tu_grad(1, 0, 30, 1, DP_DTYPE_F32, 256, 0, round, in);
	tu_grad(1, 1, 30, 1, DP_DTYPE_F32, 256, 0, round, in);
	tu_grad(3, 0, 31, 1, DP_DTYPE_BF16, 256, 0, round3, in);
	tu_poll();
	CU_ASSERT_EQUAL(tu_collect(), 0);

	/* Version 8: job 3 gets more slot memory (changed), job 4 is removed. */
	CU_ASSERT_EQUAL_FATAL(tu_policy_apply(tu_policy_make(8, 512, false)), 0);

	/* Job 1 completes with the contributions from before the reload. */
	tu_grad(1, 2, 30, 1, DP_DTYPE_F32, 256, 0, round, in);
	tu_grad(1, 3, 30, 1, DP_DTYPE_F32, 256, 0, round, in);
	tu_poll();
	CU_ASSERT_EQUAL_FATAL(tu_collect(), 4);
	CU_ASSERT_EQUAL(((float *)tu_out[0].payload)[0], 1.0f);

	/* Job 3 started afresh, with no run: its workers are told so, and
	 * their contributions go nowhere. */
	tu_snap(&before);
	for (uint16_t w = 1; w < 4; w++)
		tu_grad(3, w, 31, 1, DP_DTYPE_BF16, 256, 0, round3, in);
	tu_poll();
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_RUN_NONE), 3);
	CU_ASSERT_EQUAL_FATAL(tu_collect(), 3);
	for (unsigned i = 0; i < 3; i++) {
		struct dp_proto_error err;

		CU_ASSERT_EQUAL(tu_out[i].h.type, DP_MSG_ERROR);
		CU_ASSERT_EQUAL(tu_out[i].h.round, round3);
		dp_proto_error_read(tu_out[i].payload, &err);
		CU_ASSERT_EQUAL(err.code, DP_ERR_RUN_ENDED);
	}
	/* Its new run starts from round 0; a slot completes with its 4 ranks. */
	CU_ASSERT_EQUAL(tu_join(3, 4, 7200), 0);
	for (uint16_t w = 0; w < 4; w++)
		tu_grad(3, w, 31, 1, DP_DTYPE_BF16, 256, 0, 0, in);
	tu_poll();
	CU_ASSERT_EQUAL(tu_collect(), 4);

	/* Job 4 is gone. */
	tu_snap(&before);
	tu_grad(4, 0, 0, 0, DP_DTYPE_F16, 256, 0, round, in);
	tu_poll();
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_JOB_UNKNOWN), 1);
	gw_housekeeping(tu.gw);
}

static CU_TestInfo tests[] = {
	{ "policy_over_slot_memory_is_refused", test_policy_over_slot_memory_is_refused },
	{ "reload_keeps_unchanged_jobs_in_flight", test_reload_keeps_unchanged_jobs_in_flight },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo tu_suite_gw_tables = { "gw_tables", NULL, NULL, NULL, NULL, tests };
