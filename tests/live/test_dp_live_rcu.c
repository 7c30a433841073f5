/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite dp_live_rcu: the table life cycle the gateway uses, under load.
 *
 * Reader threads stand in for data lcores: registered with liburcu-qsbr,
 * each loops over rcu_dereference() of the current version, notes the
 * generation it runs (dp_live_lcore_note), looks a job and a model up in the
 * real policy and placement tables of that version, counts a packet in its
 * own liveness array, and reports a quiescent state; now and then it goes
 * offline and online again, as an lcore does around a blocking call.
 *
 * The control thread publishes and retires versions thousands of times the
 * way gw_policy_apply() does: build (parse a policy, dp_route_table_build,
 * dp_live_create carrying records over), rcu_assign_pointer, synchronize_rcu,
 * wait for every reader to run the new generation (dp_live_lcore_wait),
 * harvest the old version's counts, poison it and free it.
 *
 * Proof that no reader ever sees a freed table: every version carries a magic
 * at both ends and its generation; retiring poisons them before free().
 * Readers check the magics before and after using a version, that
 * generations never go backwards and that the policy inside is the one of
 * that generation; any failure is counted and asserted on by the main
 * thread. Under ASan (the 'unit' suites run there), a read of freed memory
 * aborts the test outright. A second test shows that the check does catch a
 * poisoned table. And no count is lost: the liveness totals after the last
 * version equal the packets the readers counted, across every reload.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>
#include "../tu_main.h"
#include <urcu-qsbr.h>

#include "cp_policy.h"
#include "dp_live.h"
#include "dp_live_lcore.h"
#include "cp_plan.h"
#include "dp_route.h"

#define READERS 3
#define VERSIONS 1000
#define MAGIC 0x64616974766572ull       /* "daitver" */
#define POISON 0xdbdbdbdbdbdbdbdbull
#define N_NODES 6
#define HZ 1000000000ull

struct ver {
	uint64_t magic;
	uint64_t gen;
	struct cp_policy *p;
	struct dp_route_table *rt;
	struct dp_live *live;
	struct dp_live_cnt *cnt[READERS];
	uint64_t magic_end;
};

struct reader {
	pthread_t th;
	unsigned idx;
	struct dp_live_lcore note;
	uint64_t iterations;
	uint64_t hits;                  /* packets counted into liveness arrays */
	uint64_t errors;
	uint64_t versions_seen;
	char first_error[160];
};

static struct ver *cur;
static atomic_bool stop;
static struct reader readers[READERS];

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
reader_error(struct reader *r, const char *what, const struct ver *v)
{
	if (r->errors++ == 0)
		snprintf(r->first_error, sizeof(r->first_error),
			 "reader %u: %s (magic %#llx, gen %llu)", r->idx, what,
			 (unsigned long long)v->magic, (unsigned long long)v->gen);
}

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	uint64_t last_gen = 0;

	rcu_register_thread();
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		struct ver *v = rcu_dereference(cur);
		uint32_t node;

		if (v == NULL)
			goto quiescent;
		if (v->magic != MAGIC || v->magic_end != MAGIC) {
			reader_error(r, "table poisoned or torn", v);
			goto quiescent;
		}
		if (v->gen < last_gen)
			reader_error(r, "generation went backwards", v);
		if (v->gen != last_gen)
			r->versions_seen++;
		last_gen = v->gen;
		dp_live_lcore_note(&r->note, v->gen, v->p->version, now_ns());
		if (v->p->version != v->gen)
			reader_error(r, "policy of another generation", v);
		if (cp_policy_job_find(v->p, 1) == NULL || dp_route_model_find(v->rt, 1) == NULL)
			reader_error(r, "lookup failed", v);
		node = (uint32_t)(r->iterations % N_NODES);
		dp_live_cnt_hit(&v->cnt[r->idx][node], 64, now_ns());
		r->hits++;
		/* Still the same, intact version after using it. */
		if (v->magic != MAGIC || v->magic_end != MAGIC)
			reader_error(r, "table poisoned while in use", v);
quiescent:
		r->iterations++;
		rcu_quiescent_state();
		if (r->iterations % 4096 == 0) {
			rcu_thread_offline();
			sched_yield();
			rcu_thread_online();
		}
	}
	rcu_unregister_thread();
	return NULL;
}

static struct cp_policy *
policy_make(uint64_t version)
{
	char text[2048];
	struct cp_diags d = { 0 };
	struct cp_policy *p = NULL;
	int len, rc;
	unsigned extra = 2 + (unsigned)(version % 5);

	/* Job 1 and model 1 in every version; another job and the timeout vary. */
	len = snprintf(text, sizeof(text),
		       "{\"version\": %llu, \"node_timeout_ms\": %u, \"nodes\": ["
		       "{\"id\": \"n0\", \"ip\": \"10.6.0.1\", \"roles\": [\"worker\"]},"
		       "{\"id\": \"n1\", \"ip\": \"10.6.0.2\", \"roles\": [\"worker\"]},"
		       "{\"id\": \"n%u\", \"ip\": \"10.6.0.1%u\", \"roles\": [\"stage\"]},"
		       "{\"id\": \"s1\", \"ip\": \"10.6.1.1\", \"roles\": [\"stage\"]},"
		       "{\"id\": \"r0\", \"ip\": \"10.6.2.1\", \"roles\": [\"requester\"]},"
		       "{\"id\": \"r1\", \"ip\": \"10.6.2.2\", \"roles\": [\"requester\"]}],"
		       "\"jobs\": [{\"id\": 1, \"slot_memory\": \"64KiB\", \"workers\": ["
		       "{\"node\": \"n0\", \"port\": 1000}, {\"node\": \"n1\", \"port\": 1000}]},"
		       "{\"id\": %u, \"slot_memory\": \"64KiB\", \"workers\": ["
		       "{\"node\": \"n0\", \"port\": 1001}]}],"
		       "\"models\": [{\"id\": 1, \"stages\": [{\"replicas\": ["
		       "{\"node\": \"s1\", \"port\": 2000}]}], \"requesters\": [\"r%u\"]}]}",
		       (unsigned long long)version, 100 + (unsigned)(version % 7), extra, extra,
		       extra, (unsigned)(version % 2));
	rc = cp_policy_parse(text, (size_t)len, "rcu.json", NULL, &p, &d);
	if (rc != 0)
		cp_diags_print(&d, stderr);
	cp_diags_free(&d);
	return p;
}

/* After the grace period: nothing reads v any more. */
static void
ver_retire(struct ver *v)
{
	v->magic = v->magic_end = POISON;
	v->gen = POISON;
	for (unsigned k = 0; k < READERS; k++) {
		if (v->cnt[k] != NULL)
			memset(v->cnt[k], 0xdb, N_NODES * sizeof(struct dp_live_cnt));
		free(v->cnt[k]);
	}
	dp_live_free(v->live);
	dp_route_table_free(v->rt);
	cp_policy_free(v->p);
	free(v);
}

static struct ver *
ver_build(uint64_t gen, const struct ver *prev)
{
	struct ver *v = calloc(1, sizeof(*v));
	bool ok;

	if (v == NULL)
		return NULL;
	v->gen = gen;
	v->p = policy_make(gen);
	v->rt = v->p != NULL ? cp_plan_route_table(v->p, READERS) : NULL;
	v->live = v->p != NULL ? cp_plan_live_create(v->p, HZ, prev ? prev->live : NULL) : NULL;
	ok = v->p != NULL && v->rt != NULL && v->live != NULL;
	for (unsigned k = 0; k < READERS; k++) {
		v->cnt[k] = calloc(N_NODES, sizeof(struct dp_live_cnt));
		ok = ok && v->cnt[k] != NULL;
	}
	if (!ok) {
		ver_retire(v);
		return NULL;
	}
	v->magic = v->magic_end = MAGIC;
	return v;
}

static void
readers_start(void)
{
	atomic_store(&stop, false);
	memset(readers, 0, sizeof(readers));
	for (unsigned k = 0; k < READERS; k++) {
		readers[k].idx = k;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&readers[k].th, NULL, reader_main, &readers[k]), 0);
	}
}

static void
readers_stop(void)
{
	atomic_store(&stop, true);
	for (unsigned k = 0; k < READERS; k++)
		pthread_join(readers[k].th, NULL);
}

static void
test_readers_never_see_a_freed_table(void)
{
	struct dp_live_lcore *notes[READERS];
	uint64_t hits = 0, errors = 0, t0 = now_ns(), waited_max = 0, timeouts = 0;
	struct ver *v = ver_build(1, NULL), *old;

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	rcu_register_thread();
	rcu_thread_offline();           /* the control thread never reads */
	rcu_assign_pointer(cur, v);
	readers_start();
	for (unsigned k = 0; k < READERS; k++)
		notes[k] = &readers[k].note;
	for (uint64_t gen = 2; gen <= VERSIONS; gen++) {
		uint64_t t = now_ns();

		old = v;
		v = ver_build(gen, old);
		CU_ASSERT_PTR_NOT_NULL_FATAL(v);
		rcu_assign_pointer(cur, v);
		synchronize_rcu();
		/* The bound only catches a hang: on a loaded machine a reader
		 * thread may wait a long while for a CPU. */
		if (dp_live_lcore_wait(notes, READERS, gen, 60000000000ull, NULL) != 0)
			timeouts++;
		if (now_ns() - t > waited_max)
			waited_max = now_ns() - t;
		CU_ASSERT_EQUAL(dp_live_harvest(v->live, old->live, old->cnt, READERS), 0);
		ver_retire(old);
		if (gen % 256 == 0)
			dp_live_update(v->live, v->cnt, READERS, now_ns());
	}
	readers_stop();
	dp_live_update(v->live, v->cnt, READERS, now_ns());
	for (unsigned k = 0; k < READERS; k++) {
		struct dp_live_lcore_view lv;

		hits += readers[k].hits;
		errors += readers[k].errors;
		if (readers[k].errors != 0)
			fprintf(stderr, "%s\n", readers[k].first_error);
		dp_live_lcore_read(&readers[k].note, &lv);
		CU_ASSERT_EQUAL(lv.gen, VERSIONS);
		CU_ASSERT_EQUAL(lv.version, VERSIONS);
		/* Each reader ran many of the versions, not only the last. */
		CU_ASSERT(readers[k].versions_seen >= VERSIONS / 2);
	}
	printf("\n    %d versions in %.2f s, %llu reader iterations, longest publish-to-all-"
	       "readers %.2f ms\n", VERSIONS, (double)(now_ns() - t0) / 1e9,
	       (unsigned long long)(readers[0].iterations + readers[1].iterations +
				    readers[2].iterations), (double)waited_max / 1e6);
	CU_ASSERT_EQUAL(errors, 0);
	CU_ASSERT_EQUAL(timeouts, 0);
	{
		uint64_t total = 0;

		for (uint32_t i = 0; i < v->live->n_nodes; i++)
			total += v->live->nodes[i].pkts;
		/* Nodes present in every version are n0, n1, s1, r0, r1 and one
		 * of n2..n6: the counts of the others went with their node. */
		CU_ASSERT(total <= hits);
		CU_ASSERT_EQUAL(v->live->nodes[0].pkts + v->live->nodes[1].pkts +
				v->live->nodes[3].pkts + v->live->nodes[4].pkts +
				v->live->nodes[5].pkts,
				total - v->live->nodes[2].pkts);
		CU_ASSERT(v->live->nodes[0].pkts > 0);
	}
	rcu_assign_pointer(cur, NULL);
	synchronize_rcu();
	ver_retire(v);
	rcu_thread_online();
	rcu_unregister_thread();
}

static void
test_no_count_is_lost_across_reloads(void)
{
	struct ver *v = ver_build(10, NULL), *old;
	uint64_t hits = 0, counted = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	rcu_register_thread();
	rcu_thread_offline();
	rcu_assign_pointer(cur, v);
	readers_start();
	/* Versions 10, 15, 20, ...: the same nodes n0, n1, n2 in each
	 * (version % 5 == 0 picks n2), so every count must survive. */
	for (uint64_t gen = 15; gen <= 10 + 5 * 400; gen += 5) {
		old = v;
		v = ver_build(gen, old);
		CU_ASSERT_PTR_NOT_NULL_FATAL(v);
		rcu_assign_pointer(cur, v);
		synchronize_rcu();
		CU_ASSERT_EQUAL(dp_live_harvest(v->live, old->live, old->cnt, READERS), 0);
		ver_retire(old);
	}
	readers_stop();
	dp_live_update(v->live, v->cnt, READERS, now_ns());
	for (unsigned k = 0; k < READERS; k++) {
		hits += readers[k].hits;
		CU_ASSERT_EQUAL(readers[k].errors, 0);
	}
	for (uint32_t i = 0; i < v->live->n_nodes; i++)
		counted += v->live->nodes[i].pkts;
	CU_ASSERT(hits > 0);
	CU_ASSERT_EQUAL(counted, hits);
	rcu_assign_pointer(cur, NULL);
	synchronize_rcu();
	ver_retire(v);
	rcu_thread_online();
	rcu_unregister_thread();
}

static void
test_poisoned_table_is_detected(void)
{
	struct ver *v = ver_build(7, NULL), *good;
	uint64_t deadline, errors = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	rcu_register_thread();
	rcu_thread_offline();
	rcu_assign_pointer(cur, v);
	readers_start();
	/* What a premature free would leave behind, without freeing (so the
	 * readers' check, not ASan, must notice). */
	v->magic = POISON;
	deadline = now_ns() + 5000000000ull;
	while (errors < READERS && now_ns() < deadline) {
		errors = 0;
		for (unsigned k = 0; k < READERS; k++)
			errors += __atomic_load_n(&readers[k].errors, __ATOMIC_RELAXED) != 0;
		sched_yield();
	}
	good = ver_build(8, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(good);
	rcu_assign_pointer(cur, good);
	synchronize_rcu();
	readers_stop();
	CU_ASSERT_EQUAL(errors, READERS);
	ver_retire(v);
	rcu_assign_pointer(cur, NULL);
	synchronize_rcu();
	ver_retire(good);
	rcu_thread_online();
	rcu_unregister_thread();
}

static void
test_wait_times_out_on_a_stuck_reader(void)
{
	struct dp_live_lcore a = { 0 }, b = { 0 };
	struct dp_live_lcore *notes[2] = { &a, &b };
	struct dp_live_lcore_view lv;
	uint64_t latest = 0, t0;

	dp_live_lcore_note(&a, 5, 50, 1000);
	dp_live_lcore_note(&b, 4, 40, 900);
	t0 = now_ns();
	CU_ASSERT_EQUAL(dp_live_lcore_wait(notes, 2, 5, 20000000ull, &latest), -ETIMEDOUT);
	CU_ASSERT(now_ns() - t0 >= 20000000ull);      /* never gives up early */
	dp_live_lcore_note(&b, 6, 60, 1200);
	CU_ASSERT_EQUAL(dp_live_lcore_wait(notes, 2, 5, 20000000ull, &latest), 0);
	CU_ASSERT_EQUAL(latest, 1200);
	dp_live_lcore_read(&b, &lv);
	CU_ASSERT_EQUAL(lv.gen, 6);
	CU_ASSERT_EQUAL(lv.version, 60);
	CU_ASSERT_EQUAL(lv.since, 1200);
	/* The same generation again is not a new note. */
	dp_live_lcore_note(&b, 6, 61, 1300);
	dp_live_lcore_read(&b, &lv);
	CU_ASSERT_EQUAL(lv.since, 1200);
}

static CU_TestInfo tests[] = {
	{ "wait_times_out_on_a_stuck_reader", test_wait_times_out_on_a_stuck_reader },
	{ "poisoned_table_is_detected", test_poisoned_table_is_detected },
	{ "readers_never_see_a_freed_table", test_readers_never_see_a_freed_table },
	{ "no_count_is_lost_across_reloads", test_no_count_is_lost_across_reloads },
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_main("dp_live_rcu", tests);
}
