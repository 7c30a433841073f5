/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_live_lcore: which version of the RCU-published tables each data lcore
 * runs, for `daitnctl status` and for the reload latency (from the trigger
 * until every lcore runs the new version).
 *
 * Each lcore owns one struct dp_live_lcore and calls dp_live_lcore_note()
 * once per loop iteration with the generation of the tables it just read
 * (rcu_dereference). The note costs a compare when nothing changed; on a
 * change it writes the generation, the policy version and the time (the
 * lcore's clock) under a sequence count, so readers get all three of one
 * note.
 *
 * The control thread (any thread) reads them with dp_live_lcore_read() and
 * waits for a generation with dp_live_lcore_wait(), which is bounded.
 */
#ifndef DP_LIVE_LCORE_H
#define DP_LIVE_LCORE_H

#include <stdint.h>

struct dp_live_lcore {
	uint64_t gen_seen;      /* lcore: private copy of gen */
	uint64_t seq;           /* odd while a note is being written */
	uint64_t gen;           /* any: generation its last iteration used; 0 none */
	uint64_t version;       /* any: that generation's policy version */
	uint64_t since;         /* any: lcore clock when it first used it */
} __attribute__((aligned(64)));

/* Owning lcore, once per loop iteration. */
static inline void
dp_live_lcore_note(struct dp_live_lcore *l, uint64_t gen, uint64_t version, uint64_t now)
{
	if (__builtin_expect(gen == l->gen_seen, 1))
		return;
	l->gen_seen = gen;
	__atomic_store_n(&l->seq, l->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&l->gen, gen, __ATOMIC_RELAXED);
	__atomic_store_n(&l->version, version, __ATOMIC_RELAXED);
	__atomic_store_n(&l->since, now, __ATOMIC_RELAXED);
	__atomic_store_n(&l->seq, l->seq + 1, __ATOMIC_RELEASE);
}

struct dp_live_lcore_view {
	uint64_t gen;
	uint64_t version;
	uint64_t since;
};

/* A consistent snapshot of one lcore's note. Any thread. */
void dp_live_lcore_read(const struct dp_live_lcore *l, struct dp_live_lcore_view *out);

/*
 * Wait until each of the n lcores in l[] has noted generation gen or a newer
 * one, or timeout_ns passed (CLOCK_MONOTONIC). Yields the CPU between checks;
 * never sleeps a fixed time. *latest (if not NULL) gets the largest `since`
 * among them: when the last one switched. Returns 0 or -ETIMEDOUT. Any
 * thread but the lcores themselves.
 */
int dp_live_lcore_wait(struct dp_live_lcore *const *l, unsigned n, uint64_t gen,
		       uint64_t timeout_ns, uint64_t *latest);

#endif /* DP_LIVE_LCORE_H */
