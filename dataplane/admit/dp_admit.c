/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bucket parameters. The cost of one packet on one lcore is
 * hz x n_lcores / rate_pps ticks; it is kept in 32.32 fixed point so that
 * high rates on a GHz clock (a few ticks per packet) lose no precision to
 * rounding: the error is below 2^-32 ticks per packet.
 */
#include <errno.h>
#include <stddef.h>

#include "dp_admit.h"

uint64_t
dp_admit_burst_per_lcore(uint64_t burst, unsigned n_lcores)
{
	uint64_t b;

	if (n_lcores == 0)
		return burst;
	b = burst / n_lcores + (burst % n_lcores != 0);
	return b != 0 ? b : 1;
}

int
dp_admit_rate_init(struct dp_admit_rate *r, uint64_t rate_pps, uint64_t burst,
		   unsigned n_lcores, uint64_t hz, uint32_t epoch)
{
	unsigned __int128 cost, tau;

	if (r == NULL || hz == 0 || n_lcores == 0)
		return -EINVAL;
	*r = (struct dp_admit_rate){ .epoch = epoch };
	if (rate_pps == 0) {
		r->unlimited = true;
		return 0;
	}
	cost = ((unsigned __int128)hz << 32) * n_lcores / rate_pps;
	/* Beyond 2^64 ticks per packet nothing ever conforms twice anyway. */
	if (cost >> 96 != 0)
		cost = ((unsigned __int128)UINT64_MAX << 32);
	r->cost_int = (uint64_t)(cost >> 32);
	r->cost_frac = (uint32_t)cost;
	tau = cost * (dp_admit_burst_per_lcore(burst, n_lcores) - 1) >> 32;
	r->tau = tau >> 64 != 0 ? UINT64_MAX : (uint64_t)tau;
	return 0;
}
