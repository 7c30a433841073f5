/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cp_plan: the planning step. A validated policy (cp_policy.h) becomes the
 * narrow specs the DPDK-free data-plane cores build from, so that none of
 * them reads a policy:
 *   cp_plan_live   -> struct dp_live_spec      (dp_live_create)
 *   cp_plan_route  -> struct dp_route_spec     (dp_route_table_build)
 *   cp_plan_sched  -> struct dp_sched_plan     (dp_sched_create and its leaves)
 *
 * Pure functions of the policy; any thread, no shared state. A spec from
 * cp_plan_live or cp_plan_route points into the policy (ids, requester
 * lists): use it while the policy lives, then free it with its _free
 * function. A sched plan owns its memory (dp_sched_plan_free).
 */
#ifndef CP_PLAN_H
#define CP_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "cp_policy.h"
#include "dp_live.h"
#include "dp_route.h"
#include "dp_sched_plan.h"

/* The policy's nodes (by index, ids, addresses, role bits) and its
 * node_timeout_ms. Returns 0, -EINVAL (p or out NULL) or -ENOMEM. */
int cp_plan_live(const struct cp_policy *p, struct dp_live_spec *out);
void cp_plan_live_free(struct dp_live_spec *s);

/* The policy's models: stages, replicas (node, address, weight), the
 * requesters' node indices and the reply address, with the node addresses
 * by index and the policy version. Returns 0, -EINVAL (p or out NULL, a model
 * with no stages or more than DP_ROUTE_STAGES_MAX) or -ENOMEM. */
int cp_plan_route(const struct cp_policy *p, struct dp_route_spec *out);
void cp_plan_route_free(struct dp_route_spec *s);

/* The two steps in one, as the gateway does them: a liveness view or a
 * placement table of p (not kept). NULL with errno as dp_live_create and
 * dp_route_table_build set it (EINVAL, ENOMEM). */
struct dp_live *cp_plan_live_create(const struct cp_policy *p, uint64_t hz,
				    const struct dp_live *prev);
struct dp_route_table *cp_plan_route_table(const struct cp_policy *p, unsigned n_lcores);

/*
 * The TX scheduler plan for p. quantum: DRR bytes per weight unit (0 =
 * default).
 * Classes: policy class i becomes scheduler class i (priority, weight, rate
 * cap rate_bps/8 bytes per second, queue_len per leaf); a policy with no
 * classes at all has the three standard ones (control 0, inference 1,
 * training 2). A policy without a control class gets one appended: priority
 * 0, weight 1, uncapped. A job or model whose class index is invalid or of
 * the wrong kind (only in policies built by hand: the validator refuses
 * them) goes to the first class of the right kind; an invalid tenant to none.
 * Leaves: one default leaf per class (traffic without a job or model: ARP,
 * ICMP, HELLO, ERROR), then one per training job (its class, weight, tenant),
 * then one per model (its inference class, weight 1, tenant).
 * Tenants: the policy tenant's rate_pps/burst as a packet bucket.
 * Returns 0 and *out, -EINVAL with a sentence in err (more classes than the
 * scheduler has), or -ENOMEM.
 */
int cp_plan_sched(const struct cp_policy *p, uint32_t quantum, struct dp_sched_plan **out,
		  char *err, size_t err_size);

#endif /* CP_PLAN_H */
