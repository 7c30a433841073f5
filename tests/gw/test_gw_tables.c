/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite gw_tables: a policy that cannot be served is refused and changes
 * nothing; a reload keeps the in-flight slots of unchanged jobs, resets
 * changed ones and drops removed ones.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "cp_policy.h"
#include "dp_proto_infer.h"
#include "gw_infer_priv.h"
#include "gw_priv.h"
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
	job.id = 42;
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
	CU_ASSERT_EQUAL(gw_job_stats_read(tu.gw, 42, &js), -ENOENT);
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
		dp_proto_error_read(tu_out[i].payload, tu_out[i].payload_size, &err);
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

/* A policy with one 1-stage model: node s (10.9.0.11, replica on port
 * 48000) and requester r (10.9.0.12). */
static const char *infer_policy(unsigned version)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf),
		 "{\"version\": %u, \"node_timeout_ms\": 400,\n"
		 " \"nodes\": [{\"id\": \"s\", \"ip\": \"10.9.0.11\", \"roles\": [\"stage\"],\n"
		 "              \"mac\": \"02:00:00:00:00:01\"},\n"
		 "            {\"id\": \"r\", \"ip\": \"10.9.0.12\", \"roles\": [\"requester\"],\n"
		 "              \"mac\": \"02:00:00:00:00:02\"}],\n"
		 " \"models\": [{\"id\": 7, \"stages\": [{\"replicas\": [{\"node\": \"s\", "
		 "\"port\": 48000}]}], \"requesters\": [\"r\"]}]}\n", version);
	return buf;
}

/* Tables built for a reload already know what the running ones learnt of
 * the nodes (liveness, and the same neighbour entries), before they are
 * published: a request routed right after the switch finds its replica up
 * and its requester's MAC. */
static void test_reload_tables_carry_node_liveness_before_the_switch(void)
{
	struct cp_diags diags = { 0 };
	struct gw_tables nt = { .gen = 1u << 30 };
	const struct gw_infer_tables *it;
	struct dp_infer_hdr bh = {
		.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION,
		.type = DP_MSG_INFER_BEAT, .model = 7, .n_frags = 1,
	};
	uint8_t beat[DP_INFER_HDR_SIZE];
	struct cp_limits lim;
	struct tu_pkt p;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(tu_policy_apply(infer_policy(20)), 0);
	/* The replica's BEAT: the running tables learn node s. */
	dp_proto_infer_write(beat, &bh);
	tu_pkt_daitn(&p, 0, 0, 0, 0, 0, 0, 0, 0, beat, sizeof(beat));
	p.raw = true;
	p.src_ip = 0x0a09000b;
	p.sport = 48000;
	p.dport = TU_UDP_BASE;
	tu_inject(0, tu_build(&p));
	tu_poll();
	it = tu.gw->tables->infer;
	CU_ASSERT_FATAL(it->last_seen[0] != 0 || it->last_seen[1] != 0);

	cp_limits_from_config(&tu.cfg, &lim);
	CU_ASSERT_EQUAL_FATAL(cp_policy_parse(infer_policy(21), strlen(infer_policy(21)), "t", &lim,
					      &nt.policy, &diags), 0);
	cp_diags_free(&diags);
	CU_ASSERT_EQUAL_FATAL(gw_neigh_bind(tu.gw, &nt, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(gw_infer_tables_build(tu.gw, &nt, tu.gw->tables, err, sizeof(err)), 0);
	for (uint32_t n = 0; n < 2; n++) {
		CU_ASSERT_EQUAL(nt.infer->last_seen[n], it->last_seen[n]);
		CU_ASSERT_EQUAL(nt.infer->neigh[n], it->neigh[n]);
	}
	gw_infer_tables_free(tu.gw, nt.infer);
	free(nt.node_neigh);
	cp_policy_free(nt.policy);
	CU_ASSERT_EQUAL(tu_policy_apply(tu_policy_make(7, 256, true)), 0);
	for (uint16_t job = 1; job <= TU_JOBS; job++)
		tu_join(job, tu_job_workers(job), 9000u + 1000u * job);
}

static CU_TestInfo tests[] = {
	{ "policy_over_slot_memory_is_refused", test_policy_over_slot_memory_is_refused },
	{ "reload_keeps_unchanged_jobs_in_flight", test_reload_keeps_unchanged_jobs_in_flight },
	{ "reload_tables_carry_node_liveness_before_the_switch",
	  test_reload_tables_carry_node_liveness_before_the_switch },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo tu_suite_gw_tables = { "gw_tables", NULL, NULL, NULL, NULL, tests };
