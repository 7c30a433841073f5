/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite gw_cp: the control plane's run-time pieces in the real pipeline:
 * per-tenant rate limits (lcore-local buckets, counted per lcore, job and
 * tenant), isolation between jobs, node liveness counted from admitted
 * packets and carried over reloads, the table generation every lcore notes,
 * and gw_ctl_reload_file() refusing an invalid file with its diagnostics.
 *
 * Policy here: tenants "lim" (1000 packets/s, burst 8: 500/s and 4 per
 * lcore over the fixture's 2 shards) and "free" (unlimited); job 1 (tenant
 * lim) and job 2 (tenant free), float32, 4 workers each on the same nodes
 * n0..n3 (fixture addresses) with their own ports; job 2 has fewer slots.
 * The last test puts the fixture's policy back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "gw_cp.h"
#include "gw_ctl.h"
#include "gw_tu.h"

static char pol[16384];
static float ones[256];

static const char *
policy_cp(unsigned version, bool with_lim, const char *extra_tenant)
{
	size_t o = 0, n = sizeof(pol);

	o += (size_t)snprintf(pol + o, n - o, "{\"version\": %u, \"node_timeout_ms\": 100, "
			      "\"tenants\": [{\"id\": \"free\"}", version);
	if (with_lim)
		o += (size_t)snprintf(pol + o, n - o,
				      ", {\"id\": \"lim\", \"rate_pps\": 1000, \"burst\": 8}");
	if (extra_tenant != NULL)
		o += (size_t)snprintf(pol + o, n - o, ", {\"id\": \"%s\"}", extra_tenant);
	o += (size_t)snprintf(pol + o, n - o, "], \"nodes\": [");
	for (unsigned w = 0; w < 4; w++) {
		uint32_t ip = TU_WORKER_IP(w);

		o += (size_t)snprintf(pol + o, n - o, "{\"id\": \"n%u\", \"ip\": \"%u.%u.%u.%u\", "
				      "\"roles\": [\"worker\"], \"mac\": \"02:00:00:00:00:%02x\"},", w,
				      ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, w + 1);
	}
	/* A node in no job (and under an id no earlier policy had). */
	o += (size_t)snprintf(pol + o, n - o, "{\"id\": \"spare\", \"ip\": \"10.9.0.250\", "
			      "\"roles\": [\"worker\"], \"mac\": \"02:00:00:00:00:fa\"}");
	o += (size_t)snprintf(pol + o, n - o, "], \"jobs\": [");
	for (unsigned j = 1; j <= 2; j++) {
		o += (size_t)snprintf(pol + o, n - o, "%s{\"id\": %u, \"tenant\": \"%s\", \"dtype\": "
				      "\"float32\", \"chunk_size\": 1024, \"slot_memory\": \"%s\", "
				      "\"workers\": [", j > 1 ? "," : "", j,
				      j == 1 && with_lim ? "lim" : "free", j == 1 ? "256KiB" : "80KiB");
		for (unsigned w = 0; w < 4; w++)
			o += (size_t)snprintf(pol + o, n - o, "%s{\"node\": \"n%u\", \"port\": %u}",
					      w ? "," : "", w, TU_WORKER_PORT(j));
		o += (size_t)snprintf(pol + o, n - o, "]}");
	}
	snprintf(pol + o, n - o, "]}");
	return pol;
}

static const struct gw_tables *
cur(void)
{
	return tu.gw->tables;
}

static int
tenant_idx(const char *id)
{
	for (uint32_t i = 0; i < cur()->policy->n_tenants; i++)
		if (strcmp(cur()->policy->tenants[i].id, id) == 0)
			return (int)i;
	return -1;
}

static void
tenant_cnt(const char *id, struct gw_cp_tcnt *c)
{
	int i = tenant_idx(id);

	memset(c, 0, sizeof(*c));
	CU_ASSERT_FATAL(i >= 0);
	gw_cp_tenant_read(tu.gw, cur()->cp->tenants[i].slot, c);
}

/* The round_base of the runs of jobs 1 and 2 that apply_and_join() started. */
static uint32_t run_base[3];

/* Apply a policy; jobs 1 and 2, if the reload restarted them (no run on),
 * join again: the rounds grad_from() sends are relative to their runs. The
 * joins' HELLOs are charged to the jobs' tenants: the clock then moves 1 s,
 * so that every bucket is full again for the test's own packets. */
static void
apply_and_join(const char *json)
{
	static uint32_t nonce = 50000;
	bool joined = false;

	CU_ASSERT_EQUAL_FATAL(tu_policy_apply(json), 0);
	for (uint16_t job = 1; job <= 2; job++) {
		uint64_t run = atomic_load(&gw_tables_job(cur(), job)->inst->run);

		if (gw_run_on(run)) {
			run_base[job] = gw_run_base(run);
			continue;
		}
		tu_clock_advance_ms(1000);
		run_base[job] = tu_join(job, 4, nonce);
		nonce += 100;
		joined = true;
		CU_ASSERT_NOT_EQUAL_FATAL(run_base[job], UINT32_MAX);
	}
	if (joined)
		tu_clock_advance_ms(1000);
}

/* The newest round (relative to its run's base) a worker of job may send
 * now: one past the newest the job completed on any lcore (round_ahead). */
static uint32_t
round_now(uint16_t job)
{
	const struct gw_job *j = gw_tables_job(cur(), job);
	uint32_t base = gw_run_base(atomic_load(&j->inst->run)), best = base;

	for (unsigned k = 0; k < TU_SHARDS; k++) {
		uint32_t next = gw_run_next(j->inst->lc[k], base);

		if ((int32_t)(next - best) > 0)
			best = next;
	}
	return best - base;
}

/* A GRAD of job from rank's address and the port of job `as_port_of`. */
static void
grad_from(uint16_t job, uint16_t rank, uint16_t index, uint32_t round, uint16_t as_port_of)
{
	struct tu_pkt p;

	tu_pkt_daitn(&p, DP_MSG_GRAD, job, rank, dp_proto_slot_make(index, round & 1),
		     DP_DTYPE_F32, 256, index * 256u, run_base[job] + round, ones, sizeof(ones));
	p.sport = TU_WORKER_PORT(as_port_of);
	tu_inject(index % TU_SHARDS, tu_build(&p));
}

static void
test_over_rate_tenant_is_dropped_and_counted(void)
{
	struct gw_stats before, job1, job2, job1_0, job2_0;
	struct gw_cp_tcnt lim0, lim1, free0, free1;
	struct dp_live_lcore_view v;

	apply_and_join(policy_cp(100, true, NULL));
	tu_poll();
	/* Full buckets: on shard 0, 20 back-to-back GRADs of job 1 (tenant lim,
	 * 4 per lcore of burst) and 20 of job 2 (unlimited), one poll each. */
	tu_snap(&before);
	CU_ASSERT_EQUAL_FATAL(gw_job_stats_read(tu.gw, 1, &job1_0), 0);
	CU_ASSERT_EQUAL_FATAL(gw_job_stats_read(tu.gw, 2, &job2_0), 0);
	tenant_cnt("lim", &lim0);
	tenant_cnt("free", &free0);
	for (uint16_t i = 0; i < 20; i++)
		grad_from(1, 0, (uint16_t)(2 * i), 0, 1);
	tu_poll();
	for (uint16_t i = 0; i < 20; i++)
		grad_from(2, 0, (uint16_t)(2 * i), round_now(2), 2);
	tu_poll();
	tu_collect();
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_RATE_LIMITED), 16);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AGGREGATED), 4 + 20);
	CU_ASSERT_EQUAL_FATAL(gw_job_stats_read(tu.gw, 1, &job1), 0);
	CU_ASSERT_EQUAL_FATAL(gw_job_stats_read(tu.gw, 2, &job2), 0);
	CU_ASSERT_EQUAL(job1.fate[DP_DROP_RATE_LIMITED] - job1_0.fate[DP_DROP_RATE_LIMITED], 16);
	CU_ASSERT_EQUAL(job1.fate[DP_DROP_AGGREGATED] - job1_0.fate[DP_DROP_AGGREGATED], 4);
	CU_ASSERT_EQUAL(job2.fate[DP_DROP_RATE_LIMITED] - job2_0.fate[DP_DROP_RATE_LIMITED], 0);
	CU_ASSERT_EQUAL(job2.fate[DP_DROP_AGGREGATED] - job2_0.fate[DP_DROP_AGGREGATED], 20);
	tenant_cnt("lim", &lim1);
	tenant_cnt("free", &free1);
	CU_ASSERT_EQUAL(lim1.limited - lim0.limited, 16);
	CU_ASSERT_EQUAL(lim1.pkts - lim0.pkts, 4);
	CU_ASSERT_EQUAL(free1.pkts - free0.pkts, 20);
	CU_ASSERT_EQUAL(free1.limited - free0.limited, 0);
	CU_ASSERT_EQUAL(free1.bytes - free0.bytes,
			20ull * (DP_PROTO_FRAME_HDR_SIZE + sizeof(ones)));
	/* The other lcore's bucket is its own: still full. */
	tu_snap(&before);
	for (uint16_t i = 0; i < 6; i++)
		grad_from(1, 0, (uint16_t)(2 * i + 1), 0, 1);
	tu_poll();
	tu_collect();
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_RATE_LIMITED), 2);
	/* The lcores ran this policy's tables. */
	for (unsigned k = 0; k < TU_SHARDS; k++) {
		dp_live_lcore_read(&gw_lcore_get(tu.gw, k)->cp->note, &v);
		CU_ASSERT_EQUAL(v.gen, cur()->gen);
		CU_ASSERT_EQUAL(v.version, 100);
	}
}

/* Joining is work for the job's tenant: HELLOs are charged to its bucket
 * (lcore 0's: HELLOs go to udp_port_base), and over its rate they are
 * dropped as rate_limited, unanswered. */
static void
test_hello_work_is_charged_to_the_tenant(void)
{
	struct gw_stats before;
	struct gw_cp_tcnt a, b;
	struct tu_pkt p;

	tu_clock_advance_ms(1000);     /* lim's buckets full: 4 per lcore */
	tenant_cnt("lim", &a);
	tu_snap(&before);
	for (unsigned i = 0; i < 10; i++) {
		tu_pkt_daitn(&p, DP_MSG_HELLO, 1, 0, 0, 0, 0, 0, 90000, tu_hello_pad,
			     DP_PROTO_HELLO_PAD);
		p.dport = TU_UDP_BASE;
		tu_inject(0, tu_build(&p));
	}
	tu_poll();
	CU_ASSERT_EQUAL(tu_collect(), 4);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_HELLO), 4);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_RATE_LIMITED), 6);
	tenant_cnt("lim", &b);
	CU_ASSERT_EQUAL(b.pkts - a.pkts, 4);
	CU_ASSERT_EQUAL(b.limited - a.limited, 6);
}

static void
test_bucket_refills_and_survives_a_reload(void)
{
	struct gw_stats before;
	struct gw_cp_tcnt a, b;
	uint32_t slot = cur()->cp->tenants[tenant_idx("lim")].slot;

	tenant_cnt("lim", &a);
	/* The same tenant in the next version keeps its slot, its counters
	 * and its (empty) bucket: a reload is no way around the limit. */
	apply_and_join(policy_cp(101, true, "other"));
	CU_ASSERT_EQUAL(cur()->cp->tenants[tenant_idx("lim")].slot, slot);
	tenant_cnt("lim", &b);
	CU_ASSERT_EQUAL(b.pkts, a.pkts);
	CU_ASSERT_EQUAL(b.limited, a.limited);
	tu_snap(&before);
	grad_from(1, 1, 40, 0, 1);
	tu_poll();
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_RATE_LIMITED), 1);
	/* 500 packets/s per lcore: 20 ms later, several conform again. */
	tu_clock_advance_ms(20);
	tu_snap(&before);
	for (uint16_t i = 0; i < 4; i++)
		grad_from(1, 1, (uint16_t)(42 + 2 * i), 0, 1);
	tu_poll();
	tu_collect();
	CU_ASSERT(tu_fate_delta(&before, DP_DROP_AGGREGATED) >= 4);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_RATE_LIMITED), 0);
}

static void
test_new_tenant_in_a_reused_slot_starts_afresh(void)
{
	struct gw_cp_tcnt c;

	/* Drop "lim", then bring a new tenant: it may get lim's slot, but
	 * with a new epoch (a full bucket) and counters from zero. */
	apply_and_join(policy_cp(102, false, NULL));
	CU_ASSERT_EQUAL(tenant_idx("lim"), -1);
	apply_and_join(policy_cp(103, false, "newcomer"));
	tenant_cnt("newcomer", &c);
	CU_ASSERT_EQUAL(c.pkts, 0);
	CU_ASSERT_EQUAL(c.limited, 0);
	CU_ASSERT_EQUAL(c.bytes, 0);
}

/* A digest of every slot set of a job on every lcore (tags, counts,
 * contributions, states). */
static uint64_t
job_digest(const struct gw_job *j)
{
	uint64_t h = 1469598103934665603ull;

	for (unsigned k = 0; k < TU_SHARDS; k++)
		for (uint32_t s = 0; s < j->inst->lc[k]->n_local * 2; s++) {
			const struct dp_slot_set *set = dp_slot_set_get(&j->inst->lc[k]->slots,
									 s / 2, s & 1);
			uint64_t v[] = { set->round, set->offset, set->count, set->seen, set->state,
					 set->bitmap[0] };

			for (unsigned i = 0; i < 6; i++)
				h = (h ^ v[i]) * 1099511628211ull;
		}
	return h;
}

static void
test_job_never_touches_another_jobs_slots(void)
{
	const struct gw_job *j1, *j2;
	struct gw_stats before;
	uint64_t d1, d2;
	uint32_t round;

	apply_and_join(policy_cp(110, false, NULL));
	round = round_now(1);
	j1 = gw_tables_job(cur(), 1);
	j2 = gw_tables_job(cur(), 2);
	CU_ASSERT_FATAL(j1 != NULL && j2 != NULL && j2->n_slots < j1->n_slots);
	d1 = job_digest(j1);
	d2 = job_digest(j2);
	tu_snap(&before);
	/* Job 2's workers (same hosts, job 2's port) claiming job 1. */
	for (uint16_t w = 0; w < 4; w++)
		grad_from(1, w, 6, round, 2);
	/* Job 2, a slot index only job 1 has. */
	grad_from(2, 0, (uint16_t)(j2->n_slots + 2), round, 2);
	tu_poll();
	CU_ASSERT_EQUAL(tu_collect(), 0);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_SOURCE_NOT_ADMITTED), 4);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_SLOT_OUT_OF_RANGE), 1);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AGGREGATED), 0);
	CU_ASSERT_EQUAL(job_digest(j1), d1);
	CU_ASSERT_EQUAL(job_digest(j2), d2);
	/* A whole round of job 1 on slot 6 completes for job 1 alone. */
	for (uint16_t w = 0; w < 4; w++)
		grad_from(1, w, 6, round, 1);
	tu_poll();
	CU_ASSERT_EQUAL(tu_collect(), 4);
	CU_ASSERT_EQUAL(((float *)tu_out[0].payload)[0], 4.0f);
	CU_ASSERT_EQUAL(tu_out[0].h.job, 1);
	CU_ASSERT_NOT_EQUAL(job_digest(j1), d1);
	CU_ASSERT_EQUAL(job_digest(j2), d2);
}

static void
test_liveness_counts_admitted_packets_and_survives_reloads(void)
{
	const struct dp_live *lv;
	int n0, n1, n4;
	uint64_t pkts;

	apply_and_join(policy_cp(120, false, NULL));
	gw_cp_live_update(tu.gw);
	lv = cur()->cp->live;
	n0 = dp_live_find(lv, "n0");
	n1 = dp_live_find(lv, "n1");
	n4 = dp_live_find(lv, "spare");
	CU_ASSERT_FATAL(n0 >= 0 && n1 >= 0 && n4 >= 0);
	pkts = lv->nodes[n0].pkts;
	CU_ASSERT_EQUAL(lv->nodes[n0].state, DP_LIVE_UP);      /* seen by earlier tests */
	CU_ASSERT_EQUAL(lv->nodes[n4].state, DP_LIVE_NEVER);   /* in no job */
	/* 3 admitted packets from n0, 2 refused ones "from" n1's address. */
	for (uint16_t i = 0; i < 3; i++)
		grad_from(2, 0, (uint16_t)(3 + i * 2), 0, 2);
	grad_from(2, 1, 1, 0, 1);
	grad_from(2, 1, 3, 0, 1);
	tu_poll();
	tu_collect();
	/* Counted in this version's lcore arrays; a reload hands them over. */
	apply_and_join(policy_cp(121, false, NULL));
	gw_cp_live_update(tu.gw);
	lv = cur()->cp->live;
	CU_ASSERT_EQUAL(lv->nodes[dp_live_find(lv, "n0")].pkts, pkts + 3);
	CU_ASSERT_EQUAL(lv->nodes[dp_live_find(lv, "n0")].state, DP_LIVE_UP);
	/* Silent past node_timeout_ms (100 ms): down, and the bitmap says so. */
	tu_clock_advance_ms(150);
	CU_ASSERT(gw_cp_live_update(tu.gw) >= 1);
	lv = cur()->cp->live;
	CU_ASSERT_EQUAL(lv->nodes[dp_live_find(lv, "n0")].state, DP_LIVE_DOWN);
	CU_ASSERT_FALSE(dp_live_is_up(lv->up, lv->n_nodes, (uint32_t)dp_live_find(lv, "n0")));
	/* Heard again: up. */
	grad_from(2, 0, 9, 0, 2);
	tu_poll();
	tu_collect();
	gw_cp_live_update(tu.gw);
	CU_ASSERT_EQUAL(lv->nodes[dp_live_find(lv, "n0")].state, DP_LIVE_UP);
	CU_ASSERT_EQUAL(lv->nodes[dp_live_find(lv, "n0")].n_down, 1);
}

static void
test_invalid_file_is_refused_and_the_running_policy_stays(void)
{
	char path[] = "/tmp/gw_cp_policyXXXXXX";
	struct gw_reload_status r;
	struct cp_limits lim;
	uint64_t gen = cur()->gen, version = cur()->version;
	int fd = mkstemp(path);
	const char *bad = "{\"version\": 130,\n \"jobs\": [{\"id\": 1, \"chunk_sise\": 64}]}\n";
	FILE *f;

	CU_ASSERT_FATAL(fd >= 0);
	f = fdopen(fd, "w");
	fputs(bad, f);
	fclose(f);
	cp_limits_from_config(&tu.cfg, &lim);
	gw_ctl_reload_file(tu.gw, path, &lim, GW_RELOAD_SIGHUP, gw_ctl_now_ns(), &r);
	CU_ASSERT_EQUAL(r.result, GW_RELOAD_INVALID);
	/* Every error, in file order, as FILE:LINE:COL: /path: reason. */
	CU_ASSERT_EQUAL(r.n_errors, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.errors[0], ":2:11: /jobs/0/slot_memory: required key"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.errors[2], ":2:21: /jobs/0/chunk_sise: unknown key "
				      "\"chunk_sise\" (did you mean \"chunk_size\"?)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.message, "3 errors"));
	CU_ASSERT_EQUAL(r.version, version);
	CU_ASSERT_EQUAL(cur()->gen, gen);
	/* The same file made valid: applied, both jobs known to the last one. */
	f = fopen(path, "w");
	fputs(policy_cp(131, false, NULL), f);
	fclose(f);
	gw_ctl_reload_file(tu.gw, path, &lim, GW_RELOAD_SIGHUP, gw_ctl_now_ns(), &r);
	CU_ASSERT_EQUAL(r.result, GW_RELOAD_OK);
	CU_ASSERT_EQUAL(r.version, 131);
	CU_ASSERT_EQUAL(r.jobs_kept, 2);
	CU_ASSERT_EQUAL(r.jobs_added, 0);
	CU_ASSERT_EQUAL(cur()->version, 131);
	unlink(path);
	gw_ctl_reload_file(tu.gw, path, &lim, GW_RELOAD_SIGHUP, gw_ctl_now_ns(), &r);
	CU_ASSERT_EQUAL(r.result, GW_RELOAD_UNREADABLE);
	CU_ASSERT_EQUAL(cur()->version, 131);
	/* Back to the fixture's policy for whatever runs next. */
	CU_ASSERT_EQUAL(tu_policy_apply(tu_policy_make(7, 256, true)), 0);
	tu_poll();
	tu_collect();
}

static int
suite_init(void)
{
	for (unsigned i = 0; i < 256; i++)
		ones[i] = 1.0f;
	return 0;
}

static CU_TestInfo tests[] = {
	{ "over_rate_tenant_is_dropped_and_counted", test_over_rate_tenant_is_dropped_and_counted },
	{ "bucket_refills_and_survives_a_reload", test_bucket_refills_and_survives_a_reload },
	{ "hello_work_is_charged_to_the_tenant", test_hello_work_is_charged_to_the_tenant },
	{ "new_tenant_in_a_reused_slot_starts_afresh",
	  test_new_tenant_in_a_reused_slot_starts_afresh },
	{ "job_never_touches_another_jobs_slots", test_job_never_touches_another_jobs_slots },
	{ "liveness_counts_admitted_packets_and_survives_reloads",
	  test_liveness_counts_admitted_packets_and_survives_reloads },
	{ "invalid_file_is_refused_and_the_running_policy_stays",
	  test_invalid_file_is_refused_and_the_running_policy_stays },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo tu_suite_gw_cp = { "gw_cp", suite_init, NULL, NULL, NULL, tests };
