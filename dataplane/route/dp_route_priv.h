/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_route private definitions, shared by the table and pick units only.
 */
#ifndef DP_ROUTE_PRIV_H
#define DP_ROUTE_PRIV_H

#include <stdint.h>

#include "dp_route.h"

#define DP_ROUTE_CACHE_LINE 64u

/* Outstanding messages sent to one node by one lcore; halved once per elapsed
 * half-life epoch (lazily, when next read). */
struct dp_route_load {
	uint32_t out;
	uint32_t epoch;
};

/* One lcore's pick state for one table: written by that lcore only. */
struct dp_route_pick {
	int64_t *cur;                   /* [n_replicas] SWRR credits */
	struct dp_route_load *load;     /* [n_nodes] */
};

#endif /* DP_ROUTE_PRIV_H */
