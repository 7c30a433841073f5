/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite dp_route_pick: dp_route_resolve verdicts, admission, replica choice
 * (weights, load, liveness) and session affinity (kept, failed over, moved by
 * a reload, evicted). Every case asserts on the verdict and on the counters.
 *
 * Tolerances: when each forward is answered before the next pick (nothing
 * outstanding) smooth weighted round robin is exact to one pick per replica;
 * without answers the least-outstanding rule keeps outstanding/weight level,
 * within 1% of N = 10,000 sessions of the weight share.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../tu_main.h"

#include "cp_plan.h"
#include "dp_route.h"
#include "route_test_policy.h"

#define REQ 0           /* the requester's node */
#define PORT 40000

static struct tp tp;
static struct dp_route_table *tbl;
static struct dp_route_lcore *lc;

static void
setup_lcore(uint32_t entries, uint64_t half_life_ns)
{
	struct dp_route_lcore_conf conf = { .lcore = 1, .affinity_entries = entries,
		.load_half_life_ns = half_life_ns };

	dp_route_lcore_free(lc);
	lc = dp_route_lcore_create(&conf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lc);
}

static void
build(void)
{
	dp_route_table_free(tbl);
	tbl = cp_plan_route_table(&tp.p, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tbl);
}

static int
cleanup(void)
{
	dp_route_table_free(tbl);
	dp_route_lcore_free(lc);
	tbl = NULL;
	lc = NULL;
	return 0;
}

/* An activation for (model, stage, session) from node src, on behalf of the
 * requester node reply. */
static enum dp_route_verdict
act(const struct dp_route_live *lv, uint64_t now, uint16_t model, uint8_t stage,
    uint32_t session, uint32_t src, uint32_t reply, struct dp_route_dest *d)
{
	struct dp_route_msg m = {
		.model = model, .stage = stage, .session = session,
		/* a stage node sends from its replica port, 48000 + its stage */
		.src_ip = tp_ip(src), .src_port = stage ? 48000 + stage - 1 : PORT,
		.reply_ip = tp_ip(reply), .reply_port = PORT,
	};

	return dp_route_resolve(lc, tbl, lv, now, &m, d);
}

/* Model 1, one stage, replicas on nodes 1.. with the given weights. */
static void
one_stage(const uint32_t *weights, unsigned n)
{
	struct cp_model *m;
	unsigned i;

	tp_init(&tp, 16);
	m = tp_model(&tp, 1, 1);
	tp_requester(&tp, m, REQ);
	for (i = 0; i < n; i++)
		tp_replica(&tp, m, 0, 1 + i, weights[i]);
	build();
}

static void
test_bad_lcore_conf_is_refused(void)
{
	struct dp_route_lcore_conf conf = { .lcore = 0, .affinity_entries = 3 };

	errno = 0;
	CU_ASSERT_PTR_NULL(dp_route_lcore_create(NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(dp_route_lcore_create(&conf));
	CU_ASSERT_EQUAL(errno, EINVAL);
	conf.affinity_entries = 0;
	conf.lcore = DP_ROUTE_LCORES_MAX;
	errno = 0;
	CU_ASSERT_PTR_NULL(dp_route_lcore_create(&conf));
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_STRING_EQUAL(dp_route_verdict_name(DP_ROUTE_NO_REPLICA), "no_replica");
	CU_ASSERT_STRING_EQUAL(dp_route_verdict_name((enum dp_route_verdict)99), "unknown");
}

static void
test_unadmitted_and_malformed_messages_are_refused(void)
{
	static const uint32_t w[] = { 1, 1 };
	struct dp_route_stats st;
	struct dp_route_msg m2;
	struct dp_route_dest d;
	struct cp_model *m;

	tp_init(&tp, 16);
	m = tp_model(&tp, 1, 2);
	tp_requester(&tp, m, REQ);
	tp_replica(&tp, m, 0, 1, w[0]);
	tp_replica(&tp, m, 1, 2, w[1]);
	build();
	setup_lcore(0, 0);
	CU_ASSERT_EQUAL(act(NULL, 0, 9, 0, 1, REQ, REQ, &d), DP_ROUTE_UNKNOWN_MODEL);
	CU_ASSERT_PTR_NULL(d.model);
	CU_ASSERT_EQUAL(d.reply_ip, tp_ip(REQ));
	CU_ASSERT_EQUAL(act(NULL, 0, 1, 3, 1, 2, REQ, &d), DP_ROUTE_BAD_STAGE);
	/* Stage 0 only from a requester; stage s only from a stage s-1 node. */
	CU_ASSERT_EQUAL(act(NULL, 0, 1, 0, 1, 5, 5, &d), DP_ROUTE_NOT_ADMITTED);
	CU_ASSERT_EQUAL(d.src_node, DP_ROUTE_NONE);
	CU_ASSERT_EQUAL(act(NULL, 0, 1, 1, 1, 2, REQ, &d), DP_ROUTE_NOT_ADMITTED);
	CU_ASSERT_EQUAL(act(NULL, 0, 1, 2, 1, 1, REQ, &d), DP_ROUTE_NOT_ADMITTED);
	/* The right node from another port is not the replica. */
	m2 = (struct dp_route_msg){ .model = 1, .stage = 1, .session = 1, .src_ip = tp_ip(1),
		.src_port = 48001, .reply_ip = tp_ip(REQ), .reply_port = PORT };
	CU_ASSERT_EQUAL(dp_route_resolve(lc, tbl, NULL, 0, &m2, &d), DP_ROUTE_NOT_ADMITTED);
	/* A stage node may not redirect the answer to a non-requester. */
	CU_ASSERT_EQUAL(act(NULL, 0, 1, 1, 1, 1, 7, &d), DP_ROUTE_BAD_REPLY);
	dp_route_stats_get(lc, &st);
	CU_ASSERT_EQUAL(st.unknown_model, 1);
	CU_ASSERT_EQUAL(st.bad_stage, 1);
	CU_ASSERT_EQUAL(st.not_admitted, 4);
	CU_ASSERT_EQUAL(st.bad_reply, 1);
	CU_ASSERT_EQUAL(st.forwarded + st.replied + st.new_sessions, 0);
}

static void
test_chain_walks_every_stage_and_replies_to_requester(void)
{
	struct dp_route_stats st;
	struct dp_route_dest d;
	struct cp_model *m;
	unsigned s;

	tp_init(&tp, 16);
	m = tp_model(&tp, 4, 3);
	tp_requester(&tp, m, REQ);
	tp_replica(&tp, m, 0, 1, 1);
	tp_replica(&tp, m, 1, 2, 1);
	tp_replica(&tp, m, 2, 3, 1);
	m = tp_model(&tp, 5, 1);
	tp_requester(&tp, m, REQ);
	tp_replica(&tp, m, 0, 4, 1);
	m->reply_to_requester = false;
	m->reply_ip = tp_ip(9);
	m->reply_port = 6000;
	build();
	setup_lcore(0, 0);
	CU_ASSERT_EQUAL(act(NULL, 0, 4, 0, 77, REQ, 5, &d), DP_ROUTE_FORWARD);
	CU_ASSERT_EQUAL(d.ip, tp_ip(1));
	CU_ASSERT_EQUAL(d.port, 48000);
	CU_ASSERT_EQUAL(d.node, 1);
	CU_ASSERT_EQUAL(d.reply_ip, tp_ip(REQ));   /* stage 0: the source */
	CU_ASSERT_EQUAL(d.reply_port, PORT);
	CU_ASSERT_EQUAL(d.src_node, REQ);
	for (s = 1; s < 3; s++) {
		CU_ASSERT_EQUAL(act(NULL, 0, 4, (uint8_t)s, 77, s, REQ, &d), DP_ROUTE_FORWARD);
		CU_ASSERT_EQUAL(d.ip, tp_ip(1 + s));
		CU_ASSERT_EQUAL(d.port, 48000 + s);
		CU_ASSERT_EQUAL(d.src_node, s);
	}
	CU_ASSERT_EQUAL(act(NULL, 0, 4, 3, 77, 3, REQ, &d), DP_ROUTE_REPLY);
	CU_ASSERT_EQUAL(d.ip, tp_ip(REQ));
	CU_ASSERT_EQUAL(d.port, PORT);
	CU_ASSERT_EQUAL(d.node, DP_ROUTE_NONE);
	/* A model whose policy names the destination. */
	CU_ASSERT_EQUAL(act(NULL, 0, 5, 0, 1, REQ, REQ, &d), DP_ROUTE_FORWARD);
	CU_ASSERT_EQUAL(act(NULL, 0, 5, 1, 1, 4, REQ, &d), DP_ROUTE_REPLY);
	CU_ASSERT_EQUAL(d.ip, tp_ip(9));
	CU_ASSERT_EQUAL(d.port, 6000);
	dp_route_stats_get(lc, &st);
	CU_ASSERT_EQUAL(st.forwarded, 4);
	CU_ASSERT_EQUAL(st.replied, 2);
	CU_ASSERT_EQUAL(st.new_sessions, 4);
}

/* count[i] = sessions sent to replica node 1+i, over n new sessions. If
 * answer, each forward is answered (retired) before the next pick. */
static void
run_sessions(const struct dp_route_live *lv, unsigned n, bool answer, uint64_t step_ns,
	     unsigned *count, unsigned n_rep)
{
	struct dp_route_dest d;
	uint64_t now = 0;
	unsigned s;

	memset(count, 0, n_rep * sizeof(*count));
	for (s = 0; s < n; s++, now += step_ns) {
		if (act(lv, now, 1, 0, 1000 + s, REQ, REQ, &d) != DP_ROUTE_FORWARD)
			continue;
		CU_ASSERT_FATAL(d.node >= 1 && d.node <= n_rep);
		count[d.node - 1]++;
		if (answer)
			CU_ASSERT_EQUAL(act(lv, now, 1, 1, 1000 + s, d.node, REQ, &d), DP_ROUTE_REPLY);
	}
}

static void
test_weights_are_honoured_exactly_at_equal_load(void)
{
	static const uint32_t w[] = { 1, 2, 3, 4 };
	unsigned count[4], i;
	struct dp_route_stats st;

	one_stage(w, 4);
	setup_lcore(1u << 16, 0);
	run_sessions(NULL, 10000, true, 0, count, 4);
	for (i = 0; i < 4; i++) {
		CU_ASSERT(count[i] >= 1000 * w[i] - 1 && count[i] <= 1000 * w[i] + 1);
	}
	dp_route_stats_get(lc, &st);
	CU_ASSERT_EQUAL(st.new_sessions, 10000);
	CU_ASSERT_EQUAL(st.forwarded, 10000);
	CU_ASSERT_EQUAL(st.replied, 10000);
}

static void
test_weights_are_honoured_under_outstanding_load(void)
{
	static const uint32_t w[] = { 1, 2, 3, 4 };
	unsigned count[4], i;

	/* Nothing answered and no time passes: loads only grow. */
	one_stage(w, 4);
	setup_lcore(1u << 16, 0);
	run_sessions(NULL, 10000, false, 0, count, 4);
	for (i = 0; i < 4; i++)
		CU_ASSERT(abs((int)count[i] - (int)(1000 * w[i])) <= 100);
	/* Nothing answered, 1 us per pick, loads halving every ~0.5 ms. */
	one_stage(w, 4);
	setup_lcore(1u << 16, 1000000);
	run_sessions(NULL, 10000, false, 1000, count, 4);
	for (i = 0; i < 4; i++)
		CU_ASSERT(abs((int)count[i] - (int)(1000 * w[i])) <= 100);
}

static void
test_slow_replica_gets_fewer_sessions_until_its_load_decays(void)
{
	static const uint32_t w[] = { 1, 1 };
	struct dp_route_dest d;
	unsigned count[2] = { 0, 0 }, s;
	uint64_t now = 0;

	one_stage(w, 2);
	setup_lcore(1u << 16, 1u << 20);
	/* Node 1 answers at once, node 2 never does. */
	for (s = 0; s < 1000; s++) {
		CU_ASSERT_EQUAL_FATAL(act(NULL, now, 1, 0, s, REQ, REQ, &d), DP_ROUTE_FORWARD);
		count[d.node - 1]++;
		if (d.node == 1)
			act(NULL, now, 1, 1, s, 1, REQ, &d);
	}
	CU_ASSERT_EQUAL(count[1], 1);
	CU_ASSERT_EQUAL(count[0], 999);
	/* 64 half-lives later node 2's one lost message is forgotten. */
	now += 64ull << 20;
	count[0] = count[1] = 0;
	for (s = 1000; s < 1010; s++) {
		CU_ASSERT_EQUAL_FATAL(act(NULL, now, 1, 0, s, REQ, REQ, &d), DP_ROUTE_FORWARD);
		count[d.node - 1]++;
		if (d.node == 1)
			act(NULL, now, 1, 1, s, 1, REQ, &d);
	}
	CU_ASSERT_EQUAL(count[1], 1);
}

static void
test_down_replica_is_never_chosen(void)
{
	static const uint32_t w[] = { 1, 3, 5 };
	uint64_t bits[1] = { ~0ull };
	struct dp_route_live lv = { .up = bits, .n_nodes = 16 };
	unsigned count[3];

	one_stage(w, 3);
	setup_lcore(1u << 16, 0);
	dp_route_live_set(&lv, 3, false);
	run_sessions(&lv, 4000, true, 0, count, 3);
	CU_ASSERT_EQUAL(count[2], 0);
	CU_ASSERT(count[0] >= 999 && count[0] <= 1001);
	CU_ASSERT(count[1] >= 2999 && count[1] <= 3001);
}

/* Liveness by last-seen time: a replica silent past the timeout is skipped
 * (its sessions fail over) and comes back when it is heard from again. */
static void
test_silent_replica_fails_over_after_timeout(void)
{
	static const uint32_t w[] = { 1, 1 };
	uint64_t seen[16] = { 0 };
	struct dp_route_live lv = { .n_nodes = 16, .last_seen_ns = seen,
		.timeout_ns = 500000000 };
	struct dp_route_stats st;
	struct dp_route_dest d;
	uint32_t first;

	one_stage(w, 2);
	setup_lcore(0, 0);
	/* Nothing heard yet: no replica. */
	CU_ASSERT_EQUAL(act(&lv, 1000, 1, 0, 9, REQ, REQ, &d), DP_ROUTE_NO_REPLICA);
	seen[1] = seen[2] = 1000;
	CU_ASSERT_EQUAL(act(&lv, 2000, 1, 0, 9, REQ, REQ, &d), DP_ROUTE_FORWARD);
	first = d.node;
	/* Only the other replica keeps being heard from. */
	seen[3 - first] = 400000000;
	CU_ASSERT_EQUAL(act(&lv, 400000000, 1, 0, 9, REQ, REQ, &d), DP_ROUTE_FORWARD);
	CU_ASSERT_EQUAL(d.node, first);
	CU_ASSERT_EQUAL(act(&lv, 500001001, 1, 0, 9, REQ, REQ, &d), DP_ROUTE_FORWARD);
	CU_ASSERT_EQUAL(d.node, 3 - first);
	dp_route_stats_get(lc, &st);
	CU_ASSERT_EQUAL(st.no_replica, 1);
	CU_ASSERT_EQUAL(st.failovers, 1);
	CU_ASSERT_EQUAL(st.affinity_hits, 1);
}

static void
test_all_replicas_down_gives_no_replica(void)
{
	static const uint32_t w[] = { 1, 2 };
	uint64_t bits[1] = { ~0ull };
	struct dp_route_live lv = { .up = bits, .n_nodes = 16 };
	struct dp_route_stats st;
	struct dp_route_dest d;
	unsigned s;

	one_stage(w, 2);
	setup_lcore(0, 0);
	CU_ASSERT_EQUAL(act(&lv, 0, 1, 0, 5, REQ, REQ, &d), DP_ROUTE_FORWARD);
	dp_route_live_set(&lv, 1, false);
	dp_route_live_set(&lv, 2, false);
	for (s = 0; s < 10; s++) {
		CU_ASSERT_EQUAL(act(&lv, 0, 1, 0, 5 + s, REQ, REQ, &d), DP_ROUTE_NO_REPLICA);
		CU_ASSERT_EQUAL(d.node, DP_ROUTE_NONE);
		CU_ASSERT_EQUAL(d.reply_ip, tp_ip(REQ));
		CU_ASSERT_EQUAL(d.reply_port, PORT);
	}
	dp_route_stats_get(lc, &st);
	CU_ASSERT_EQUAL(st.no_replica, 10);
	CU_ASSERT_EQUAL(st.forwarded, 1);
	/* One comes back: served again. */
	dp_route_live_set(&lv, 2, true);
	CU_ASSERT_EQUAL(act(&lv, 0, 1, 0, 5, REQ, REQ, &d), DP_ROUTE_FORWARD);
	CU_ASSERT_EQUAL(d.node, 2);
}

static void
test_session_affinity_is_kept(void)
{
	static const uint32_t w[] = { 1, 1, 1 };
	struct dp_route_stats st;
	struct dp_route_dest d;
	uint32_t node;
	unsigned i, moved = 0;

	one_stage(w, 3);
	setup_lcore(0, 0);
	CU_ASSERT_EQUAL(act(NULL, 0, 1, 0, 42, REQ, REQ, &d), DP_ROUTE_FORWARD);
	node = d.node;
	/* Later fragments and requests of session 42 interleaved with new
	 * sessions that move the round robin on. */
	for (i = 0; i < 199; i++) {
		CU_ASSERT_EQUAL(act(NULL, i, 1, 0, 100 + i, REQ, REQ, &d), DP_ROUTE_FORWARD);
		CU_ASSERT_EQUAL(act(NULL, i, 1, 0, 42, REQ, REQ, &d), DP_ROUTE_FORWARD);
		moved += d.node != node;
	}
	CU_ASSERT_EQUAL(moved, 0);
	dp_route_stats_get(lc, &st);
	CU_ASSERT_EQUAL(st.new_sessions, 200);
	CU_ASSERT_EQUAL(st.affinity_hits, 199);
	CU_ASSERT_EQUAL(st.failovers + st.moved + st.evictions, 0);
	/* The same session number from another requester is another session. */
	tp_requester(&tp, &tp.models[0], 9);
	build();
	CU_ASSERT_EQUAL(act(NULL, 0, 1, 0, 42, 9, 9, &d), DP_ROUTE_FORWARD);
	dp_route_stats_get(lc, &st);
	CU_ASSERT_EQUAL(st.new_sessions, 201);
}

static void
test_affinity_fails_over_when_replica_goes_down_and_sticks(void)
{
	static const uint32_t w[] = { 1, 1, 1 };
	uint64_t bits[1] = { ~0ull };
	struct dp_route_live lv = { .up = bits, .n_nodes = 16 };
	struct dp_route_stats st;
	struct dp_route_dest d;
	uint32_t first, second;

	one_stage(w, 3);
	setup_lcore(0, 0);
	CU_ASSERT_EQUAL(act(&lv, 0, 1, 0, 5, REQ, REQ, &d), DP_ROUTE_FORWARD);
	first = d.node;
	dp_route_live_set(&lv, first, false);
	CU_ASSERT_EQUAL(act(&lv, 0, 1, 0, 5, REQ, REQ, &d), DP_ROUTE_FORWARD);
	second = d.node;
	CU_ASSERT_NOT_EQUAL(second, first);
	/* The old replica recovers: the session stays where it failed over. */
	dp_route_live_set(&lv, first, true);
	CU_ASSERT_EQUAL(act(&lv, 0, 1, 0, 5, REQ, REQ, &d), DP_ROUTE_FORWARD);
	CU_ASSERT_EQUAL(d.node, second);
	dp_route_stats_get(lc, &st);
	CU_ASSERT_EQUAL(st.failovers, 1);
	CU_ASSERT_EQUAL(st.affinity_hits, 1);
	CU_ASSERT_EQUAL(st.new_sessions, 1);
}

static void
test_affinity_follows_policy_moves_across_reload(void)
{
	static const uint32_t w[] = { 1, 1, 1 };
	struct dp_route_stats st;
	struct dp_route_dest d;
	uint32_t a, b;

	one_stage(w, 3);
	setup_lcore(0, 0);
	CU_ASSERT_EQUAL(act(NULL, 0, 1, 0, 1, REQ, REQ, &d), DP_ROUTE_FORWARD);
	a = d.node;
	CU_ASSERT_EQUAL(act(NULL, 0, 1, 0, 2, REQ, REQ, &d), DP_ROUTE_FORWARD);
	b = d.node;
	CU_ASSERT_NOT_EQUAL(a, b);
	/* Reload: session 1's replica leaves the stage, session 2's stays but
	 * at another index (order changed). */
	tp_init(&tp, 16);
	tp_model(&tp, 1, 1);
	tp_requester(&tp, &tp.models[0], REQ);
	tp_replica(&tp, &tp.models[0], 0, 6, 1);
	tp_replica(&tp, &tp.models[0], 0, b, 1);
	build();
	CU_ASSERT_EQUAL(act(NULL, 0, 1, 0, 1, REQ, REQ, &d), DP_ROUTE_FORWARD);
	CU_ASSERT_NOT_EQUAL(d.node, a);
	CU_ASSERT_EQUAL(act(NULL, 0, 1, 0, 2, REQ, REQ, &d), DP_ROUTE_FORWARD);
	CU_ASSERT_EQUAL(d.node, b);
	CU_ASSERT_EQUAL(d.replica, 1);
	dp_route_stats_get(lc, &st);
	CU_ASSERT_EQUAL(st.moved, 1);
	CU_ASSERT_EQUAL(st.affinity_hits, 1);
	CU_ASSERT_EQUAL(st.new_sessions, 2);
}

static void
test_full_cache_evicts_least_recently_used(void)
{
	static const uint32_t w[] = { 1, 1, 1, 1, 1 };
	struct dp_route_stats st;
	struct dp_route_dest d;
	uint32_t s;

	one_stage(w, 5);
	setup_lcore(4, 0);   /* one bucket of four */
	for (s = 1; s <= 4; s++)
		CU_ASSERT_EQUAL(act(NULL, (uint64_t)s << 20, 1, 0, s, REQ, REQ, &d), DP_ROUTE_FORWARD);
	/* Touch 1 again so 2 is now the least recently used. */
	CU_ASSERT_EQUAL(act(NULL, 5ull << 20, 1, 0, 1, REQ, REQ, &d), DP_ROUTE_FORWARD);
	CU_ASSERT_EQUAL(act(NULL, 6ull << 20, 1, 0, 5, REQ, REQ, &d), DP_ROUTE_FORWARD);
	dp_route_stats_get(lc, &st);
	CU_ASSERT_EQUAL(st.evictions, 1);
	CU_ASSERT_EQUAL(st.new_sessions, 5);
	CU_ASSERT_EQUAL(st.affinity_hits, 1);
	/* 1, 3, 4 and 5 are cached; 2 was evicted. */
	CU_ASSERT_EQUAL(act(NULL, 7ull << 20, 1, 0, 1, REQ, REQ, &d), DP_ROUTE_FORWARD);
	CU_ASSERT_EQUAL(act(NULL, 7ull << 20, 1, 0, 3, REQ, REQ, &d), DP_ROUTE_FORWARD);
	dp_route_stats_get(lc, &st);
	CU_ASSERT_EQUAL(st.affinity_hits, 3);
	CU_ASSERT_EQUAL(act(NULL, 8ull << 20, 1, 0, 2, REQ, REQ, &d), DP_ROUTE_FORWARD);
	dp_route_stats_get(lc, &st);
	CU_ASSERT_EQUAL(st.new_sessions, 6);
	CU_ASSERT_EQUAL(st.evictions, 2);
}

static CU_TestInfo tests[] = {
	{ "bad_lcore_conf_is_refused", test_bad_lcore_conf_is_refused },
	{ "unadmitted_and_malformed_messages_are_refused",
	  test_unadmitted_and_malformed_messages_are_refused },
	{ "chain_walks_every_stage_and_replies_to_requester",
	  test_chain_walks_every_stage_and_replies_to_requester },
	{ "weights_are_honoured_exactly_at_equal_load", test_weights_are_honoured_exactly_at_equal_load },
	{ "weights_are_honoured_under_outstanding_load",
	  test_weights_are_honoured_under_outstanding_load },
	{ "slow_replica_gets_fewer_sessions_until_its_load_decays",
	  test_slow_replica_gets_fewer_sessions_until_its_load_decays },
	{ "down_replica_is_never_chosen", test_down_replica_is_never_chosen },
	{ "silent_replica_fails_over_after_timeout", test_silent_replica_fails_over_after_timeout },
	{ "all_replicas_down_gives_no_replica", test_all_replicas_down_gives_no_replica },
	{ "session_affinity_is_kept", test_session_affinity_is_kept },
	{ "affinity_fails_over_when_replica_goes_down_and_sticks",
	  test_affinity_fails_over_when_replica_goes_down_and_sticks },
	{ "affinity_follows_policy_moves_across_reload",
	  test_affinity_follows_policy_moves_across_reload },
	{ "full_cache_evicts_least_recently_used", test_full_cache_evicts_least_recently_used },
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run((CU_SuiteInfo){ "dp_route_pick", NULL, cleanup, NULL, NULL, tests });
}
