/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_sched_policy: the scheduler layout a policy asks for (a "plan"), and the
 * leaf correspondence between two plans for a reload.
 *
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
 *
 * Built on a control thread (allocates); the plan is immutable afterwards and
 * may be read by lcores while it is published with the scheduler it built.
 */
#ifndef DP_SCHED_POLICY_H
#define DP_SCHED_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "cp_policy.h"
#include "dp_sched.h"

#define DP_SCHED_QUEUE_LEN_DEFAULT 1024u

struct dp_sched_plan {
	struct dp_sched_conf conf;      /* pass to dp_sched_create() */
	uint32_t control_leaf;          /* ARP, ICMP, HELLO(_ACK), ERROR */
	uint32_t n_policy_classes;
	uint32_t *class_leaf;           /* [conf.n_classes] default leaf */
	uint32_t n_jobs;
	uint32_t *job_leaf;             /* [n_jobs], by policy job index */
	uint16_t *job_id;               /* [n_jobs] */
	uint32_t n_models;
	uint32_t *model_leaf;           /* [n_models], by policy model index */
	uint16_t *model_id;             /* [n_models] */
	char (*class_id)[CP_ID_MAX];    /* [conf.n_classes]; "" for the added one */
	uint8_t *class_kind;            /* [conf.n_classes] enum cp_class_kind */
};

/*
 * Build the plan for p. quantum: DRR bytes per weight unit (0 = default).
 * Returns 0 and *out, -EINVAL with a sentence in err (more classes than the
 * scheduler has), or -ENOMEM.
 */
int dp_sched_plan_build(const struct cp_policy *p, uint32_t quantum, struct dp_sched_plan **out,
			char *err, size_t err_size);

void dp_sched_plan_free(struct dp_sched_plan *pl);

/*
 * Fill map[old->conf.n_leaves] for dp_sched_move(old scheduler -> new one).
 * A class maps to the new class of the same id, else to the first new class
 * of the same kind, else to the new control class. A job's or model's leaf
 * maps to the leaf of the same id in new_plan; if that id is gone, to the
 * default leaf of its mapped class, so packets already queued for a removed
 * job or model are still sent, not dropped. A default leaf maps to the
 * default leaf of its mapped class. Control thread.
 */
void dp_sched_plan_leaf_map(const struct dp_sched_plan *old, const struct dp_sched_plan *new_plan,
			    uint32_t *map);

#endif /* DP_SCHED_POLICY_H */
