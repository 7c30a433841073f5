/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Scheduler plans: allocation, release, and the leaf map between two plans.
 * (A policy becomes a plan in control/plan: cp_plan_sched.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_sched_plan.h"

void
dp_sched_plan_free(struct dp_sched_plan *pl)
{
	if (pl == NULL)
		return;
	free((void *)pl->conf.classes);
	free((void *)pl->conf.leaves);
	free((void *)pl->conf.tenants);
	free(pl->class_leaf);
	free(pl->job_leaf);
	free(pl->job_id);
	free(pl->model_leaf);
	free(pl->model_id);
	free(pl->class_id);
	free(pl->class_kind);
	free(pl);
}

struct dp_sched_plan *
dp_sched_plan_alloc(uint32_t n_classes, uint32_t n_jobs, uint32_t n_models, uint32_t n_tenants)
{
	struct dp_sched_plan *pl = calloc(1, sizeof(*pl));
	uint32_t n_leaves = n_classes + n_jobs + n_models;

	if (pl == NULL)
		return NULL;
	pl->conf.classes = calloc(n_classes + 1, sizeof(struct dp_sched_class_conf));
	pl->conf.leaves = calloc(n_leaves + 1, sizeof(struct dp_sched_leaf_conf));
	pl->conf.tenants = calloc(n_tenants + 1, sizeof(struct dp_sched_rate));
	pl->class_leaf = calloc(n_classes + 1, sizeof(uint32_t));
	pl->class_id = calloc(n_classes + 1, sizeof(*pl->class_id));
	pl->class_kind = calloc(n_classes + 1, sizeof(uint8_t));
	pl->job_leaf = calloc(n_jobs + 1, sizeof(uint32_t));
	pl->job_id = calloc(n_jobs + 1, sizeof(uint16_t));
	pl->model_leaf = calloc(n_models + 1, sizeof(uint32_t));
	pl->model_id = calloc(n_models + 1, sizeof(uint16_t));
	if (!pl->conf.classes || !pl->conf.leaves || !pl->conf.tenants || !pl->class_leaf ||
	    !pl->class_id || !pl->class_kind || !pl->job_leaf || !pl->job_id ||
	    !pl->model_leaf || !pl->model_id) {
		dp_sched_plan_free(pl);
		return NULL;
	}
	return pl;
}

static uint32_t
class_map(const struct dp_sched_plan *old, const struct dp_sched_plan *np, uint32_t c)
{
	uint32_t i;

	if (old->class_id[c][0] != '\0')
		for (i = 0; i < np->conf.n_classes; i++)
			if (strcmp(np->class_id[i], old->class_id[c]) == 0)
				return i;
	for (i = 0; i < np->conf.n_classes; i++)
		if (np->class_kind[i] == old->class_kind[c])
			return i;
	return np->conf.leaves[np->control_leaf].cls;
}

/* The new leaf for an id in (ids, leaves, n), or UINT32_MAX. Both policies
 * keep ids sorted, so this is a binary search. */
static uint32_t
id_leaf(const uint16_t *ids, const uint32_t *leaves, uint32_t n, uint16_t id)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ids[mid] == id)
			return leaves[mid];
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return UINT32_MAX;
}

void
dp_sched_plan_leaf_map(const struct dp_sched_plan *old, const struct dp_sched_plan *np,
		       uint32_t *map)
{
	uint32_t i, to;

	for (i = 0; i < old->conf.n_classes; i++)
		map[old->class_leaf[i]] = np->class_leaf[class_map(old, np, i)];
	for (i = 0; i < old->n_jobs; i++) {
		to = id_leaf(np->job_id, np->job_leaf, np->n_jobs, old->job_id[i]);
		if (to == UINT32_MAX)
			to = np->class_leaf[class_map(old, np, old->conf.leaves[old->job_leaf[i]].cls)];
		map[old->job_leaf[i]] = to;
	}
	for (i = 0; i < old->n_models; i++) {
		to = id_leaf(np->model_id, np->model_leaf, np->n_models, old->model_id[i]);
		if (to == UINT32_MAX)
			to = np->class_leaf[class_map(old, np,
						      old->conf.leaves[old->model_leaf[i]].cls)];
		map[old->model_leaf[i]] = to;
	}
}
