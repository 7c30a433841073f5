/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading the lcores' version notes: a sequence lock. The lcore makes seq
 * odd, writes the fields, makes it even again (release); a reader that sees
 * the same even seq before and after reading the fields has one whole note.
 */
#include <errno.h>
#include <sched.h>
#include <time.h>

#include "dp_live_lcore.h"

void
dp_live_lcore_read(const struct dp_live_lcore *l, struct dp_live_lcore_view *out)
{
	for (;;) {
		uint64_t s = __atomic_load_n(&l->seq, __ATOMIC_ACQUIRE);

		out->gen = __atomic_load_n(&l->gen, __ATOMIC_RELAXED);
		out->version = __atomic_load_n(&l->version, __ATOMIC_RELAXED);
		out->since = __atomic_load_n(&l->since, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		/* A note is a handful of stores made at most once per loop
		 * iteration, so a retry finds a stable one almost at once. */
		if ((s & 1) == 0 && __atomic_load_n(&l->seq, __ATOMIC_RELAXED) == s)
			return;
		sched_yield();
	}
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int
dp_live_lcore_wait(struct dp_live_lcore *const *l, unsigned n, uint64_t gen,
		   uint64_t timeout_ns, uint64_t *latest)
{
	uint64_t deadline = mono_ns() + timeout_ns, last = 0;
	unsigned k = 0;

	while (k < n) {
		struct dp_live_lcore_view v;

		dp_live_lcore_read(l[k], &v);
		if (v.gen >= gen) {
			if (v.since > last)
				last = v.since;
			k++;
			continue;
		}
		if (mono_ns() >= deadline)
			return -ETIMEDOUT;
		sched_yield();
	}
	if (latest != NULL)
		*latest = last;
	return 0;
}
