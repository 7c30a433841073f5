/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite dp_slot: the slot state machine. Negative cases first, then the
 * protocol's cases one by one, then whole jobs of 256 and 1024 workers, and a
 * lossy simulation in which workers follow the protocol's rules over a
 * channel that drops and duplicates messages: every completed result must be
 * the exact sum, summed once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../tu_main.h"

#include "dp_slot.h"

static uint64_t actions[DP_SLOT_ACTION_MAX];

static void reset(void)
{
	memset(actions, 0, sizeof(actions));
}

static enum dp_slot_action contrib(struct dp_slot_table *t, uint32_t idx, unsigned set,
				   uint16_t rank, uint32_t round, uint32_t offset,
				   uint16_t count, unsigned *ev)
{
	unsigned dummy;
	enum dp_slot_action a = dp_slot_contribute(t, dp_slot_set_get(t, idx, set), rank,
						   round, offset, count, ev ? ev : &dummy);

	actions[a]++;
	return a;
}

static void test_table_rejects_bad_arguments(void)
{
	struct dp_slot_table t;
	void *mem = aligned_alloc(64, 4096);

	CU_ASSERT_EQUAL(dp_slot_table_mem_size(0, 4), 0);
	CU_ASSERT_EQUAL(dp_slot_table_mem_size(DP_PROTO_SLOTS_MAX + 1, 4), 0);
	CU_ASSERT_EQUAL(dp_slot_table_mem_size(4, 0), 0);
	CU_ASSERT_EQUAL(dp_slot_table_mem_size(4, DP_PROTO_WORKERS_MAX + 1), 0);
	CU_ASSERT_EQUAL(dp_slot_table_init(&t, mem, 0, 4), -EINVAL);
	CU_ASSERT_EQUAL(dp_slot_table_init(&t, NULL, 4, 4), -EINVAL);
	CU_ASSERT_EQUAL(dp_slot_table_init(&t, (char *)mem + 8, 4, 4), -EINVAL);
	CU_ASSERT_EQUAL(dp_slot_table_init(NULL, mem, 4, 4), -EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(dp_slot_table_create(1, DP_PROTO_WORKERS_MAX + 1));
	CU_ASSERT_EQUAL(errno, EINVAL);
	dp_slot_table_free(NULL);
	/* Caller-provided memory: the table fits exactly. */
	CU_ASSERT_EQUAL(dp_slot_table_mem_size(16, 64), 16 * 2 * 64);
	CU_ASSERT_EQUAL(dp_slot_table_init(&t, mem, 16, 64), 0);
	CU_ASSERT_EQUAL(t.stride, 64);
	CU_ASSERT_EQUAL(contrib(&t, 15, 1, 63, 1, 0, 8, NULL), DP_SLOT_LOAD);
	free(mem);
}

static void test_rank_beyond_job_is_refused(void)
{
	struct dp_slot_table *t = dp_slot_table_create(4, 3);
	struct dp_slot_set *s = dp_slot_set_get(t, 0, 0);

	CU_ASSERT_EQUAL(contrib(t, 0, 0, 3, 1, 0, 8, NULL), DP_SLOT_BAD_RANK);
	CU_ASSERT_EQUAL(contrib(t, 0, 0, 0xffff, 1, 0, 8, NULL), DP_SLOT_BAD_RANK);
	CU_ASSERT_EQUAL(s->state, DP_SLOT_EMPTY);
	CU_ASSERT_EQUAL(actions[DP_SLOT_BAD_RANK], 2);
	dp_slot_table_free(t);
}

static void test_older_tag_is_stale(void)
{
	struct dp_slot_table *t = dp_slot_table_create(4, 2);
	struct dp_slot_set *s = dp_slot_set_get(t, 1, 0);

	CU_ASSERT_EQUAL(contrib(t, 1, 0, 0, 10, 512, 8, NULL), DP_SLOT_LOAD);
	CU_ASSERT_EQUAL(contrib(t, 1, 0, 1, 10, 256, 8, NULL), DP_SLOT_STALE);
	CU_ASSERT_EQUAL(contrib(t, 1, 0, 1, 9, 4096, 8, NULL), DP_SLOT_STALE);
	/* Serial order: 0xfffffff0 is older than 10. */
	CU_ASSERT_EQUAL(contrib(t, 1, 0, 1, 0xfffffff0u, 512, 8, NULL), DP_SLOT_STALE);
	CU_ASSERT_EQUAL(s->seen, 1);
	CU_ASSERT_EQUAL(s->round, 10);
	CU_ASSERT_FALSE(dp_slot_has_rank(s, 1));
	CU_ASSERT_EQUAL(actions[DP_SLOT_STALE], 3);
	dp_slot_table_free(t);
}

static void test_count_mismatch_is_refused(void)
{
	struct dp_slot_table *t = dp_slot_table_create(2, 3);
	struct dp_slot_set *s = dp_slot_set_get(t, 0, 1);

	CU_ASSERT_EQUAL(contrib(t, 0, 1, 2, 1, 0, 256, NULL), DP_SLOT_LOAD);
	CU_ASSERT_EQUAL(contrib(t, 0, 1, 0, 1, 0, 255, NULL), DP_SLOT_COUNT_MISMATCH);
	CU_ASSERT_EQUAL(contrib(t, 0, 1, 1, 1, 0, 257, NULL), DP_SLOT_COUNT_MISMATCH);
	CU_ASSERT_EQUAL(s->seen, 1);
	CU_ASSERT_FALSE(dp_slot_has_rank(s, 0));
	/* The right count still gets in afterwards. */
	CU_ASSERT_EQUAL(contrib(t, 0, 1, 0, 1, 0, 256, NULL), DP_SLOT_ADD);
	CU_ASSERT_EQUAL(actions[DP_SLOT_COUNT_MISMATCH], 2);
	dp_slot_table_free(t);
}

static void test_duplicate_contribution_is_ignored(void)
{
	struct dp_slot_table *t = dp_slot_table_create(2, 3);
	struct dp_slot_set *s = dp_slot_set_get(t, 1, 1);

	CU_ASSERT_EQUAL(contrib(t, 1, 1, 0, 5, 0, 16, NULL), DP_SLOT_LOAD);
	CU_ASSERT_EQUAL(contrib(t, 1, 1, 0, 5, 0, 16, NULL), DP_SLOT_DUPLICATE);
	CU_ASSERT_EQUAL(contrib(t, 1, 1, 2, 5, 0, 16, NULL), DP_SLOT_ADD);
	CU_ASSERT_EQUAL(contrib(t, 1, 1, 2, 5, 0, 16, NULL), DP_SLOT_DUPLICATE);
	CU_ASSERT_EQUAL(contrib(t, 1, 1, 0, 5, 0, 16, NULL), DP_SLOT_DUPLICATE);
	CU_ASSERT_EQUAL(s->seen, 2);
	CU_ASSERT_EQUAL(s->state, DP_SLOT_ACTIVE);
	CU_ASSERT_EQUAL(actions[DP_SLOT_DUPLICATE], 3);
	/* The duplicate did not count: the missing rank still completes it. */
	CU_ASSERT_EQUAL(contrib(t, 1, 1, 1, 5, 0, 16, NULL), DP_SLOT_ADD_COMPLETE);
	dp_slot_table_free(t);
}

static void test_retransmission_after_completion_gets_result(void)
{
	struct dp_slot_table *t = dp_slot_table_create(1, 4);
	struct dp_slot_set *s = dp_slot_set_get(t, 0, 0);

	CU_ASSERT_EQUAL(contrib(t, 0, 0, 3, 2, 64, 16, NULL), DP_SLOT_LOAD);
	CU_ASSERT_EQUAL(contrib(t, 0, 0, 1, 2, 64, 16, NULL), DP_SLOT_ADD);
	CU_ASSERT_EQUAL(contrib(t, 0, 0, 0, 2, 64, 16, NULL), DP_SLOT_ADD);
	CU_ASSERT_EQUAL(contrib(t, 0, 0, 2, 2, 64, 16, NULL), DP_SLOT_ADD_COMPLETE);
	CU_ASSERT_EQUAL(s->state, DP_SLOT_COMPLETE);
	for (uint16_t r = 0; r < 4; r++)
		CU_ASSERT_EQUAL(contrib(t, 0, 0, r, 2, 64, 16, NULL), DP_SLOT_RESEND);
	/* Only a request that matches the result gets it: a smaller one (a
	 * 1-element GRAD asking for a 16-element result) would amplify. */
	CU_ASSERT_EQUAL(contrib(t, 0, 0, 1, 2, 64, 1, NULL), DP_SLOT_COUNT_MISMATCH);
	CU_ASSERT_EQUAL(s->seen, 4);
	CU_ASSERT_EQUAL(actions[DP_SLOT_RESEND], 4);
	CU_ASSERT_EQUAL(actions[DP_SLOT_ADD_COMPLETE], 1);
	dp_slot_table_free(t);
}

static void test_sets_are_independent_and_switch(void)
{
	struct dp_slot_table *t = dp_slot_table_create(3, 2);
	unsigned ev;

	/* Use 1 on set 0, use 2 on set 1, use 3 back on set 0 (the switch). */
	CU_ASSERT_EQUAL(contrib(t, 2, 0, 0, 1, 0, 4, &ev), DP_SLOT_LOAD);
	CU_ASSERT_EQUAL(ev, 0);
	CU_ASSERT_EQUAL(contrib(t, 2, 0, 1, 1, 0, 4, NULL), DP_SLOT_ADD_COMPLETE);
	CU_ASSERT_EQUAL(contrib(t, 2, 1, 1, 1, 300, 4, &ev), DP_SLOT_LOAD);
	CU_ASSERT_EQUAL(ev, 0);
	/* Set 0 still has use 1's result for a late retransmission. */
	CU_ASSERT_EQUAL(contrib(t, 2, 0, 0, 1, 0, 4, NULL), DP_SLOT_RESEND);
	CU_ASSERT_EQUAL(contrib(t, 2, 1, 0, 1, 300, 4, NULL), DP_SLOT_ADD_COMPLETE);
	CU_ASSERT_EQUAL(contrib(t, 2, 0, 1, 1, 600, 4, &ev), DP_SLOT_LOAD);
	CU_ASSERT_EQUAL(ev, DP_SLOT_EV_REUSED);
	CU_ASSERT_EQUAL(dp_slot_set_get(t, 2, 0)->offset, 600);
	/* The old use's bits are gone: rank 0 is not a duplicate in the new use. */
	CU_ASSERT_EQUAL(contrib(t, 2, 0, 0, 1, 600, 4, NULL), DP_SLOT_ADD_COMPLETE);
	/* Set 1 and the other indices were not touched. */
	CU_ASSERT_EQUAL(dp_slot_set_get(t, 2, 1)->offset, 300);
	CU_ASSERT_EQUAL(dp_slot_set_get(t, 1, 0)->state, DP_SLOT_EMPTY);
	CU_ASSERT_EQUAL(dp_slot_set_get(t, 1, 1)->state, DP_SLOT_EMPTY);
	dp_slot_table_free(t);
}

static void test_newer_tag_on_incomplete_use_is_abandoned(void)
{
	struct dp_slot_table *t = dp_slot_table_create(1, 3);
	struct dp_slot_set *s = dp_slot_set_get(t, 0, 0);
	unsigned ev;

	CU_ASSERT_EQUAL(contrib(t, 0, 0, 0, 0xffffffffu, 0, 4, NULL), DP_SLOT_LOAD);
	CU_ASSERT_EQUAL(contrib(t, 0, 0, 1, 0xffffffffu, 0, 4, NULL), DP_SLOT_ADD);
	/* Round 0 follows 0xffffffff: newer, the restart case. */
	CU_ASSERT_EQUAL(contrib(t, 0, 0, 2, 0, 0, 8, &ev), DP_SLOT_LOAD);
	CU_ASSERT_EQUAL(ev, DP_SLOT_EV_REUSED | DP_SLOT_EV_ABANDONED);
	CU_ASSERT_EQUAL(s->seen, 1);
	CU_ASSERT_EQUAL(s->count, 8);
	CU_ASSERT_FALSE(dp_slot_has_rank(s, 0));
	CU_ASSERT_TRUE(dp_slot_has_rank(s, 2));
	dp_slot_table_free(t);
}

static void test_cancel_restores_the_state(void)
{
	struct dp_slot_table *t = dp_slot_table_create(1, 2);
	struct dp_slot_set *s = dp_slot_set_get(t, 0, 0);

	CU_ASSERT_EQUAL(contrib(t, 0, 0, 1, 3, 0, 4, NULL), DP_SLOT_LOAD);
	dp_slot_cancel(t, s, 1);
	CU_ASSERT_EQUAL(s->state, DP_SLOT_EMPTY);
	CU_ASSERT_EQUAL(s->seen, 0);
	CU_ASSERT_EQUAL(contrib(t, 0, 0, 1, 3, 0, 4, NULL), DP_SLOT_LOAD);
	CU_ASSERT_EQUAL(contrib(t, 0, 0, 0, 3, 0, 4, NULL), DP_SLOT_ADD_COMPLETE);
	dp_slot_cancel(t, s, 0);
	CU_ASSERT_EQUAL(s->state, DP_SLOT_ACTIVE);
	CU_ASSERT_EQUAL(s->seen, 1);
	/* Cancelling a rank that is not in the use changes nothing. */
	dp_slot_cancel(t, s, 0);
	dp_slot_cancel(t, s, 7);
	CU_ASSERT_EQUAL(s->seen, 1);
	CU_ASSERT_EQUAL(contrib(t, 0, 0, 0, 3, 0, 4, NULL), DP_SLOT_ADD_COMPLETE);
	dp_slot_table_free(t);
}

static void test_single_worker_completes_on_load(void)
{
	struct dp_slot_table *t = dp_slot_table_create(1, 1);

	CU_ASSERT_EQUAL(contrib(t, 0, 0, 0, 1, 0, 4, NULL), DP_SLOT_LOAD_COMPLETE);
	CU_ASSERT_EQUAL(contrib(t, 0, 0, 0, 1, 0, 4, NULL), DP_SLOT_RESEND);
	CU_ASSERT_EQUAL(contrib(t, 0, 0, 0, 2, 0, 4, NULL), DP_SLOT_LOAD_COMPLETE);
	dp_slot_table_free(t);
}

static void shuffle(uint16_t *v, unsigned n, unsigned *seed)
{
	for (unsigned i = n - 1; i > 0; i--) {
		unsigned j = (unsigned)rand_r(seed) % (i + 1);
		uint16_t x = v[i];

		v[i] = v[j];
		v[j] = x;
	}
}

/* A whole job: every rank once in random order with duplicates interleaved,
 * completing exactly on the last new rank; then the next use on each set. */
static void run_big_job(uint16_t n_workers)
{
	struct dp_slot_table *t = dp_slot_table_create(8, n_workers);
	uint16_t *order = malloc(n_workers * sizeof(*order));
	unsigned seed = n_workers;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	for (uint32_t use = 0; use < 4; use++) {
		uint32_t idx = use % 8, set = use & 1, round = 100 + use;
		struct dp_slot_set *s = dp_slot_set_get(t, idx, set);

		for (uint16_t r = 0; r < n_workers; r++)
			order[r] = r;
		shuffle(order, n_workers, &seed);
		reset();
		for (uint16_t i = 0; i < n_workers; i++) {
			enum dp_slot_action a = contrib(t, idx, set, order[i], round, 0, 256, NULL);

			enum dp_slot_action want = i == 0 ? DP_SLOT_LOAD :
				i == n_workers - 1 ? DP_SLOT_ADD_COMPLETE : DP_SLOT_ADD;

			CU_ASSERT_EQUAL(a, want);
			if (i % 7 == 3) {   /* a retransmission of an earlier rank */
				a = contrib(t, idx, set, order[i / 2], round, 0, 256, NULL);
				CU_ASSERT_EQUAL(a, i + 1 < n_workers ? DP_SLOT_DUPLICATE : DP_SLOT_RESEND);
			}
		}
		CU_ASSERT_EQUAL(s->state, DP_SLOT_COMPLETE);
		CU_ASSERT_EQUAL(s->seen, n_workers);
		for (uint16_t r = 0; r < n_workers; r++)
			CU_ASSERT_TRUE(dp_slot_has_rank(s, r));
		CU_ASSERT_EQUAL(actions[DP_SLOT_ADD_COMPLETE], 1);
		CU_ASSERT_EQUAL(actions[DP_SLOT_ADD], n_workers - 2u);
		CU_ASSERT_EQUAL(actions[DP_SLOT_RESEND], (n_workers - 1) % 7 == 3);
		CU_ASSERT_EQUAL(contrib(t, idx, set, n_workers - 1, round, 0, 256, NULL), DP_SLOT_RESEND);
	}
	/* The highest ranks live in the last bitmap word. */
	CU_ASSERT_EQUAL(t->words, (n_workers + 63) / 64);
	free(order);
	dp_slot_table_free(t);
}

static void test_job_of_256_workers_completes_once(void)
{
	run_big_job(256);
}

static void test_job_of_1024_workers_completes_once(void)
{
	run_big_job(DP_PROTO_WORKERS_MAX);
}

/*
 * Lossy simulation. n workers follow the protocol's rules with a window of
 * W slots over a channel that loses 10% of contributions and results and
 * duplicates 5%; the "gateway" sums int64 contributions as the caller of
 * dp_slot_contribute() would. Every worker must end with the exact sum of
 * every chunk, and no contribution may be added twice.
 */
#define SIM_WORKERS 256
#define SIM_SLOTS 4
#define SIM_CHUNKS 64

struct sim_worker {
	uint32_t next_chunk;              /* next chunk to send */
	int32_t slot_chunk[SIM_SLOTS];    /* chunk outstanding on each slot, -1 none */
	uint8_t slot_set[SIM_SLOTS];      /* set of the next use of each slot */
	uint8_t got[SIM_CHUNKS];
	int64_t result[SIM_CHUNKS];
};

static int64_t value(unsigned rank, unsigned chunk)
{
	return (int64_t)rank * 1000003 + chunk * 7919 + 1;
}

static void test_lossy_protocol_sums_every_chunk_exactly_once(void)
{
	struct dp_slot_table *t = dp_slot_table_create(SIM_SLOTS, SIM_WORKERS);
	static struct sim_worker w[SIM_WORKERS];
	int64_t acc[SIM_SLOTS][2] = { { 0 } };
	uint64_t adds[SIM_SLOTS][2] = { { 0 } };
	unsigned seed = 42, done = 0, iter = 0;
	int64_t expect[SIM_CHUNKS];

	for (unsigned c = 0; c < SIM_CHUNKS; c++) {
		expect[c] = 0;
		for (unsigned r = 0; r < SIM_WORKERS; r++)
			expect[c] += value(r, c);
	}
	memset(w, 0, sizeof(w));
	for (unsigned r = 0; r < SIM_WORKERS; r++)
		for (unsigned i = 0; i < SIM_SLOTS; i++)
			w[r].slot_chunk[i] = -1;

	/* Each iteration every worker sends (or resends) what is outstanding. */
	while (done < SIM_WORKERS && iter++ < 10000) {
		for (unsigned r = 0; r < SIM_WORKERS; r++) {
			struct sim_worker *x = &w[r];

			for (unsigned i = 0; i < SIM_SLOTS; i++) {
				if (x->slot_chunk[i] < 0 && x->next_chunk < SIM_CHUNKS &&
				    x->next_chunk % SIM_SLOTS == i)
					x->slot_chunk[i] = (int32_t)x->next_chunk++;
				if (x->slot_chunk[i] < 0)
					continue;
				unsigned c = (unsigned)x->slot_chunk[i], set = x->slot_set[i];
				unsigned copies = rand_r(&seed) % 100 < 5 ? 2 : 1;

				for (unsigned k = 0; k < copies; k++) {
					unsigned ev;
					struct dp_slot_set *s = dp_slot_set_get(t, i, set);
					enum dp_slot_action a;

					if (rand_r(&seed) % 100 < 10)
						continue;   /* contribution lost */
					a = dp_slot_contribute(t, s, (uint16_t)r, 1, c * 256, 256, &ev);
					if (a == DP_SLOT_LOAD) {
						acc[i][set] = value(r, c);
						adds[i][set] = 1;
					} else if (a == DP_SLOT_ADD || a == DP_SLOT_ADD_COMPLETE) {
						acc[i][set] += value(r, c);
						adds[i][set]++;
					}
					CU_ASSERT_EQUAL(ev & DP_SLOT_EV_ABANDONED, 0);
					if (a == DP_SLOT_ADD_COMPLETE || a == DP_SLOT_RESEND) {
						CU_ASSERT_EQUAL(adds[i][set], SIM_WORKERS);
						/* Fan-out (or unicast) loses some results. */
						for (unsigned q = 0; q < SIM_WORKERS; q++) {
							struct sim_worker *y = &w[q];

							if (a == DP_SLOT_RESEND && q != r)
								continue;
							if (rand_r(&seed) % 100 < 10)
								continue;
							if (y->slot_chunk[i] != (int32_t)c)
								continue;
							y->result[c] = acc[i][set];
							y->got[c] = 1;
							y->slot_chunk[i] = -1;
							y->slot_set[i] ^= 1;
						}
					}
				}
			}
		}
		done = 0;
		for (unsigned r = 0; r < SIM_WORKERS; r++) {
			unsigned all = 1;

			for (unsigned c = 0; c < SIM_CHUNKS; c++)
				all &= w[r].got[c];
			done += all;
		}
	}
	CU_ASSERT_EQUAL(done, SIM_WORKERS);
	for (unsigned r = 0; r < SIM_WORKERS; r++)
		for (unsigned c = 0; c < SIM_CHUNKS; c++)
			if (w[r].result[c] != expect[c]) {
				CU_FAIL("wrong sum");
				r = SIM_WORKERS;
				break;
			}
	dp_slot_table_free(t);
}

/* A quorum of 3 of 5: the third contribution completes the use; a rank in
 * it gets the result again, a rank left out is late, never added. */
static void test_quorum_completes_early_and_the_rest_is_late(void)
{
	struct dp_slot_table *t = dp_slot_table_create(2, 5);
	struct dp_slot_set *s = dp_slot_set_get(t, 1, 1);

	CU_ASSERT_EQUAL(dp_slot_table_quorum_set(t, 0), -EINVAL);
	CU_ASSERT_EQUAL(dp_slot_table_quorum_set(t, 6), -EINVAL);
	CU_ASSERT_EQUAL(dp_slot_table_quorum_set(t, 3), 0);
	CU_ASSERT_EQUAL(contrib(t, 1, 1, 4, 7, 0, 8, NULL), DP_SLOT_LOAD);
	CU_ASSERT_EQUAL(contrib(t, 1, 1, 0, 7, 0, 8, NULL), DP_SLOT_ADD);
	CU_ASSERT_EQUAL(contrib(t, 1, 1, 2, 7, 0, 8, NULL), DP_SLOT_ADD_COMPLETE);
	CU_ASSERT_EQUAL(s->state, DP_SLOT_COMPLETE);
	CU_ASSERT_EQUAL(contrib(t, 1, 1, 1, 7, 0, 8, NULL), DP_SLOT_LATE);
	CU_ASSERT_EQUAL(contrib(t, 1, 1, 3, 7, 0, 8, NULL), DP_SLOT_LATE);
	CU_ASSERT_EQUAL(contrib(t, 1, 1, 2, 7, 0, 8, NULL), DP_SLOT_RESEND);
	CU_ASSERT_EQUAL(contrib(t, 1, 1, 3, 7, 0, 4, NULL), DP_SLOT_COUNT_MISMATCH);
	CU_ASSERT_EQUAL(s->seen, 3);
	CU_ASSERT_FALSE(dp_slot_has_rank(s, 1));
	CU_ASSERT_FALSE(dp_slot_has_rank(s, 3));
	CU_ASSERT_TRUE(dp_slot_has_rank(s, 4));
	/* A quorum of 1 completes on the load. */
	CU_ASSERT_EQUAL(dp_slot_table_quorum_set(t, 1), 0);
	CU_ASSERT_EQUAL(contrib(t, 0, 0, 3, 7, 0, 8, NULL), DP_SLOT_LOAD_COMPLETE);
	CU_ASSERT_EQUAL(contrib(t, 0, 0, 1, 7, 0, 8, NULL), DP_SLOT_LATE);
	dp_slot_table_free(t);
}

/* A deadline closes a collecting use only with enough contributions, and
 * only once; late ranks come after. */
static void test_close_needs_the_minimum_and_a_collecting_use(void)
{
	struct dp_slot_table *t = dp_slot_table_create(1, 4);
	struct dp_slot_set *s = dp_slot_set_get(t, 0, 0);

	CU_ASSERT_FALSE(dp_slot_close(s, 1));                /* empty */
	CU_ASSERT_EQUAL(contrib(t, 0, 0, 2, 1, 0, 8, NULL), DP_SLOT_LOAD);
	CU_ASSERT_FALSE(dp_slot_close(s, 2));
	CU_ASSERT_EQUAL(s->state, DP_SLOT_ACTIVE);
	CU_ASSERT_EQUAL(contrib(t, 0, 0, 0, 1, 0, 8, NULL), DP_SLOT_ADD);
	CU_ASSERT_TRUE(dp_slot_close(s, 2));
	CU_ASSERT_EQUAL(s->state, DP_SLOT_COMPLETE);
	CU_ASSERT_FALSE(dp_slot_close(s, 2));                /* already */
	CU_ASSERT_EQUAL(contrib(t, 0, 0, 1, 1, 0, 8, NULL), DP_SLOT_LATE);
	CU_ASSERT_EQUAL(contrib(t, 0, 0, 0, 1, 0, 8, NULL), DP_SLOT_RESEND);
	CU_ASSERT_EQUAL(s->seen, 2);
	/* The next use starts afresh. */
	CU_ASSERT_EQUAL(contrib(t, 0, 0, 1, 2, 0, 8, NULL), DP_SLOT_LOAD);
	CU_ASSERT_EQUAL(s->seen, 1);
	dp_slot_table_free(t);
}

static CU_TestInfo tests[] = {
	{ "table_rejects_bad_arguments", test_table_rejects_bad_arguments },
	{ "rank_beyond_job_is_refused", test_rank_beyond_job_is_refused },
	{ "older_tag_is_stale", test_older_tag_is_stale },
	{ "count_mismatch_is_refused", test_count_mismatch_is_refused },
	{ "duplicate_contribution_is_ignored", test_duplicate_contribution_is_ignored },
	{ "retransmission_after_completion_gets_result", test_retransmission_after_completion_gets_result },
	{ "sets_are_independent_and_switch", test_sets_are_independent_and_switch },
	{ "newer_tag_on_incomplete_use_is_abandoned", test_newer_tag_on_incomplete_use_is_abandoned },
	{ "cancel_restores_the_state", test_cancel_restores_the_state },
	{ "single_worker_completes_on_load", test_single_worker_completes_on_load },
	{ "job_of_256_workers_completes_once", test_job_of_256_workers_completes_once },
	{ "job_of_1024_workers_completes_once", test_job_of_1024_workers_completes_once },
	{ "lossy_protocol_sums_every_chunk_exactly_once", test_lossy_protocol_sums_every_chunk_exactly_once },
	{ "quorum_completes_early_and_the_rest_is_late", test_quorum_completes_early_and_the_rest_is_late },
	{ "close_needs_the_minimum_and_a_collecting_use", test_close_needs_the_minimum_and_a_collecting_use },
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run((CU_SuiteInfo){ "dp_slot", NULL, NULL, reset, NULL, tests });
}
