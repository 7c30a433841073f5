/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Policy -> TX scheduler plan (the layout is described in cp_plan.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_plan.h"

static uint8_t
kind_of(enum cp_class_kind k)
{
	return k == CP_CLASS_CONTROL ? DP_SCHED_KIND_CONTROL
	     : k == CP_CLASS_INFERENCE ? DP_SCHED_KIND_INFERENCE : DP_SCHED_KIND_TRAINING;
}

/* The classes a policy without "classes" has (docs/policy.md). */
static const struct cp_class default_classes[3] = {
	{ .id = "control", .kind = CP_CLASS_CONTROL, .priority = 0, .weight = 1 },
	{ .id = "inference", .kind = CP_CLASS_INFERENCE, .priority = 1, .weight = 1 },
	{ .id = "training", .kind = CP_CLASS_TRAINING, .priority = 2, .weight = 1 },
};

/* cls if it is a valid index of kind kind, else the first class of that kind
 * (policies built by hand, without the validator, may lack one). */
static uint32_t
class_fix(const struct cp_class *classes, uint32_t n, uint32_t cls, enum cp_class_kind kind,
	  uint32_t fallback)
{
	uint32_t i;

	if (cls < n && classes[cls].kind == kind)
		return cls;
	for (i = 0; i < n; i++)
		if (classes[i].kind == kind)
			return i;
	return fallback;
}

int
cp_plan_sched(const struct cp_policy *p, uint32_t quantum, struct dp_sched_plan **out,
	      char *err, size_t err_size)
{
	const struct cp_class *classes = p->n_classes ? p->classes : default_classes;
	uint32_t n_pc = p->n_classes ? p->n_classes : 3;
	struct dp_sched_class_conf *cc;
	struct dp_sched_leaf_conf *lf;
	struct dp_sched_rate *tn;
	struct dp_sched_plan *pl;
	uint32_t nc, i, leaf, control = UINT32_MAX;
	uint32_t *qlen;
	int rc;

	for (i = 0; i < n_pc; i++)
		if (classes[i].kind == CP_CLASS_CONTROL && control == UINT32_MAX)
			control = i;
	nc = n_pc + (control == UINT32_MAX);
	if (nc > DP_SCHED_CLASSES_MAX) {
		snprintf(err, err_size, "policy has %u traffic classes (plus an implicit control "
			 "class) but the TX scheduler supports %u: merge classes",
			 n_pc, DP_SCHED_CLASSES_MAX);
		return -EINVAL;
	}
	pl = dp_sched_plan_alloc(nc, p->n_jobs, p->n_models, p->n_tenants);
	qlen = calloc(nc, sizeof(*qlen));
	if (pl == NULL || qlen == NULL) {
		rc = -ENOMEM;
		goto fail_plan;
	}
	cc = (struct dp_sched_class_conf *)pl->conf.classes;
	lf = (struct dp_sched_leaf_conf *)pl->conf.leaves;
	tn = (struct dp_sched_rate *)pl->conf.tenants;
	for (i = 0; i < n_pc; i++) {
		const struct cp_class *c = &classes[i];

		cc[i].priority = c->priority;
		cc[i].weight = c->weight ? c->weight : 1;
		cc[i].cap.rate = c->rate_bps / 8;
		cc[i].cap.unit = DP_SCHED_UNIT_BYTES;
		qlen[i] = c->queue_len ? c->queue_len : DP_SCHED_QUEUE_LEN_DEFAULT;
		memcpy(pl->class_id[i], c->id, CP_ID_MAX);     /* NUL-terminated */
		pl->class_kind[i] = kind_of(c->kind);
	}
	if (control == UINT32_MAX) {
		control = n_pc;
		cc[control].priority = 0;
		cc[control].weight = 1;
		qlen[control] = DP_SCHED_QUEUE_LEN_DEFAULT;
		pl->class_kind[control] = DP_SCHED_KIND_CONTROL;
	}
	for (i = 0; i < p->n_tenants; i++) {
		tn[i].rate = p->tenants[i].rate_pps;
		tn[i].burst = p->tenants[i].burst;
		tn[i].unit = DP_SCHED_UNIT_PACKETS;
	}
	for (leaf = 0; leaf < nc; leaf++) {
		lf[leaf] = (struct dp_sched_leaf_conf){ .cls = leaf, .weight = 1,
			.tenant = DP_SCHED_NONE, .queue_len = qlen[leaf] };
		pl->class_leaf[leaf] = leaf;
	}
	for (i = 0; i < p->n_jobs; i++, leaf++) {
		const struct cp_job *j = &p->jobs[i];
		uint32_t c = class_fix(classes, n_pc, j->class_idx, CP_CLASS_TRAINING, control);

		lf[leaf] = (struct dp_sched_leaf_conf){ .cls = c, .weight = j->weight ? j->weight : 1,
			.tenant = j->tenant < p->n_tenants ? j->tenant : DP_SCHED_NONE,
			.queue_len = qlen[c] };
		pl->job_leaf[i] = leaf;
		pl->job_id[i] = j->id;
	}
	for (i = 0; i < p->n_models; i++, leaf++) {
		const struct cp_model *m = &p->models[i];
		uint32_t c = class_fix(classes, n_pc, m->class_idx, CP_CLASS_INFERENCE, control);

		lf[leaf] = (struct dp_sched_leaf_conf){ .cls = c, .weight = 1,
			.tenant = m->tenant < p->n_tenants ? m->tenant : DP_SCHED_NONE,
			.queue_len = qlen[c] };
		pl->model_leaf[i] = leaf;
		pl->model_id[i] = m->id;
	}
	pl->conf.n_classes = nc;
	pl->conf.n_leaves = leaf;
	pl->conf.n_tenants = p->n_tenants;
	pl->conf.quantum = quantum;
	pl->control_leaf = pl->class_leaf[control];
	pl->n_policy_classes = n_pc;
	pl->n_jobs = p->n_jobs;
	pl->n_models = p->n_models;
	free(qlen);
	*out = pl;
	return 0;

fail_plan:
	free(qlen);
	dp_sched_plan_free(pl);
	return rc;
}

