/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_admit: per-tenant rate limits on the data path (docs/telemetry.md,
 * "Rate limits"; docs/policy.md, tenants' rate_pps and burst).
 *
 * A token bucket in its virtual-scheduling form (GCRA, as ATM and many
 * policers do it): instead of a token count refilled by a timer, the bucket
 * keeps the theoretical arrival time (TAT) of the next conforming packet. A
 * packet at time now conforms if TAT <= now + tau; it then moves TAT on by
 * one packet's cost. cost = 1 / rate, tau = (burst - 1) x cost, so a full
 * bucket passes `burst` back-to-back packets and then `rate` per second.
 * Integer arithmetic only (cost in 32.32 fixed point of clock ticks), no
 * division on the data path, any clock (the gateway uses the TSC).
 *
 * Splitting across data lcores. A tenant's limit is enforced without any
 * shared state: every data lcore has its own bucket per tenant with
 * rate_pps / n_lcores and ceil(burst / n_lcores). Training traffic spreads
 * evenly over the shards (slot i goes to shard i % n), so the sum is the
 * tenant's rate; a tenant whose packets all land on one lcore gets 1/n of it.
 *
 * Threads: struct dp_admit_rate is built by a control thread and then only
 * read (it is published with the tables it belongs to). A struct dp_admit_tb
 * belongs to one data lcore; dp_admit_take() is called only by that lcore.
 */
#ifndef DP_ADMIT_H
#define DP_ADMIT_H

#include <stdbool.h>
#include <stdint.h>

/* The parameters of one tenant's bucket on one lcore. Immutable. */
struct dp_admit_rate {
	uint64_t cost_int;      /* ticks per packet: whole part */
	uint32_t cost_frac;     /* ... and fraction (1/2^32 ticks) */
	uint32_t epoch;         /* a bucket of another epoch starts full */
	uint64_t tau;           /* ticks of burst tolerance: (burst - 1) x cost */
	bool unlimited;         /* rate 0: every packet conforms */
};

/* One bucket. Owned by its lcore; zero-initialised it is full. */
struct dp_admit_tb {
	uint64_t tat_int;       /* theoretical arrival time, ticks */
	uint32_t tat_frac;      /* 1/2^32 ticks */
	uint32_t epoch;
};

/*
 * Fill r for rate_pps packets per second and a depth of burst packets,
 * split over n_lcores, on a clock of hz ticks per second. rate_pps 0 means
 * unlimited (burst ignored); burst 0 with a rate counts as 1. Returns 0, or
 * -EINVAL if hz or n_lcores is 0. Any thread.
 */
int dp_admit_rate_init(struct dp_admit_rate *r, uint64_t rate_pps, uint64_t burst,
		       unsigned n_lcores, uint64_t hz, uint32_t epoch);

/* The per-lcore depth that dp_admit_rate_init() gives: ceil(burst / n). */
uint64_t dp_admit_burst_per_lcore(uint64_t burst, unsigned n_lcores);

/*
 * Take one packet at time now (the lcore's clock, non-decreasing). Returns
 * true if it conforms (and charges the bucket), false if it must be dropped.
 * Owning lcore only.
 */
static inline bool
dp_admit_take(struct dp_admit_tb *b, const struct dp_admit_rate *r, uint64_t now)
{
	uint64_t frac;

	if (r->unlimited)
		return true;
	if (__builtin_expect(b->epoch != r->epoch, 0)) {
		b->tat_int = 0;
		b->tat_frac = 0;
		b->epoch = r->epoch;
	}
	if (b->tat_int > now && b->tat_int - now > r->tau)
		return false;
	if (b->tat_int < now) {
		b->tat_int = now;
		b->tat_frac = 0;
	}
	frac = (uint64_t)b->tat_frac + r->cost_frac;
	b->tat_int += r->cost_int + (frac >> 32);
	b->tat_frac = (uint32_t)frac;
	return true;
}

#endif /* DP_ADMIT_H */
