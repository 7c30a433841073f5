/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_sched_plan: a scheduler layout (a "plan": classes, leaves, tenants, and
 * which leaf serves which job and model), and the leaf correspondence
 * between two plans for a reload. control/plan builds one from a policy
 * (cp_plan_sched, which says the layout).
 *
 * Built on a control thread (allocates); the plan is immutable afterwards and
 * may be read by lcores while it is published with the scheduler it built.
 */
#ifndef DP_SCHED_PLAN_H
#define DP_SCHED_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "dp_sched.h"

#define DP_SCHED_QUEUE_LEN_DEFAULT 1024u
#define DP_SCHED_CLASS_ID_MAX 48u       /* bytes of a class id, NUL included */

/* What a class carries: the data path picks the default leaves of training
 * and inference by it, and a reload maps a vanished class by it. */
enum dp_sched_kind {
	DP_SCHED_KIND_CONTROL = 0,
	DP_SCHED_KIND_INFERENCE,
	DP_SCHED_KIND_TRAINING,
};

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
	char (*class_id)[DP_SCHED_CLASS_ID_MAX];    /* [conf.n_classes]; "" for an added one */
	uint8_t *class_kind;            /* [conf.n_classes] enum dp_sched_kind */
};

/* An empty plan with room for n_classes classes, their default leaves plus
 * one leaf per job and model, and n_tenants tenant buckets; NULL if out of
 * memory. The builder fills it (and its counts). */
struct dp_sched_plan *dp_sched_plan_alloc(uint32_t n_classes, uint32_t n_jobs, uint32_t n_models,
					  uint32_t n_tenants);

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

#endif /* DP_SCHED_PLAN_H */
