/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Policy -> liveness and routing specs (cp_plan.h).
 */
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>

#include "cp_plan.h"

_Static_assert(CP_ID_MAX <= DP_LIVE_ID_MAX, "node ids must fit a liveness record");
_Static_assert(CP_ID_MAX <= DP_SCHED_CLASS_ID_MAX, "class ids must fit a scheduler plan");
_Static_assert(alignof(struct dp_route_model_spec) >= alignof(struct dp_route_stage_spec) &&
	       alignof(struct dp_route_stage_spec) >= alignof(struct dp_route_replica_spec) &&
	       alignof(struct dp_route_replica_spec) >= alignof(uint32_t),
	       "cp_plan_route's block is laid out in falling alignment");

int
cp_plan_live(const struct cp_policy *p, struct dp_live_spec *out)
{
	struct dp_live_node_spec *nodes;

	if (p == NULL || out == NULL)
		return -EINVAL;
	nodes = calloc(p->n_nodes + 1, sizeof(*nodes));
	if (nodes == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < p->n_nodes; i++)
		nodes[i] = (struct dp_live_node_spec){ .id = p->nodes[i].id, .ip = p->nodes[i].ip,
			.roles = p->nodes[i].roles };
	*out = (struct dp_live_spec){ .n_nodes = p->n_nodes, .nodes = nodes,
		.timeout_ms = p->node_timeout_ms };
	return 0;
}

void
cp_plan_live_free(struct dp_live_spec *s)
{
	if (s == NULL)
		return;
	free((void *)s->nodes);
	s->nodes = NULL;
}

int
cp_plan_route(const struct cp_policy *p, struct dp_route_spec *out)
{
	struct dp_route_model_spec *models;
	struct dp_route_stage_spec *stages;
	struct dp_route_replica_spec *reps;
	uint32_t *ips, n_stages = 0, n_reps = 0, i, s, r;

	if (p == NULL || out == NULL)
		return -EINVAL;
	for (i = 0; i < p->n_models; i++) {
		/* What the wire can number; a policy built by hand may say
		 * more than it holds (the validator refuses both). */
		if (p->models[i].n_stages == 0 || p->models[i].n_stages > DP_ROUTE_STAGES_MAX)
			return -EINVAL;
		n_stages += p->models[i].n_stages;
		for (s = 0; s < p->models[i].n_stages; s++)
			n_reps += p->models[i].stages[s].n_replicas;
	}
	/* One block: models, stages, replicas, node addresses, in falling
	 * alignment, so each array starts aligned right after the one before. */
	models = calloc(1, (p->n_models + 1) * sizeof(*models) + (n_stages + 1) * sizeof(*stages) +
			(n_reps + 1) * sizeof(*reps) + (p->n_nodes + 1) * sizeof(*ips));
	if (models == NULL)
		return -ENOMEM;
	stages = (struct dp_route_stage_spec *)(models + p->n_models + 1);
	reps = (struct dp_route_replica_spec *)(stages + n_stages + 1);
	ips = (uint32_t *)(reps + n_reps + 1);
	for (i = 0; i < p->n_nodes; i++)
		ips[i] = p->nodes[i].ip;
	n_stages = n_reps = 0;
	for (i = 0; i < p->n_models; i++) {
		const struct cp_model *cm = &p->models[i];

		models[i] = (struct dp_route_model_spec){ .id = cm->id, .tenant = cm->tenant,
			.class_idx = cm->class_idx, .n_stages = cm->n_stages,
			.stages = &stages[n_stages], .reply_to_requester = cm->reply_to_requester,
			.reply_ip = cm->reply_ip, .reply_port = cm->reply_port,
			.n_requesters = cm->n_requesters, .requesters = cm->requesters };
		for (s = 0; s < cm->n_stages; s++) {
			const struct cp_stage *cs = &cm->stages[s];

			stages[n_stages++] = (struct dp_route_stage_spec){
				.n_replicas = cs->n_replicas, .replicas = &reps[n_reps] };
			for (r = 0; r < cs->n_replicas; r++)
				reps[n_reps++] = (struct dp_route_replica_spec){
					.node = cs->replicas[r].node, .ip = cs->replicas[r].ip,
					.port = cs->replicas[r].port,
					.weight = cs->replicas[r].weight };
		}
	}
	*out = (struct dp_route_spec){ .version = p->version, .n_nodes = p->n_nodes,
		.node_ip = ips, .n_models = p->n_models, .models = models };
	return 0;
}

void
cp_plan_route_free(struct dp_route_spec *s)
{
	if (s == NULL)
		return;
	free((void *)s->models);       /* the block's start */
	s->models = NULL;
	s->node_ip = NULL;
}

struct dp_live *
cp_plan_live_create(const struct cp_policy *p, uint64_t hz, const struct dp_live *prev)
{
	struct dp_live_spec spec;
	struct dp_live *lv;
	int rc, e;

	rc = cp_plan_live(p, &spec);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	lv = dp_live_create(&spec, hz, prev);
	e = errno;
	cp_plan_live_free(&spec);
	errno = e;
	return lv;
}

struct dp_route_table *
cp_plan_route_table(const struct cp_policy *p, unsigned n_lcores)
{
	struct dp_route_spec spec;
	struct dp_route_table *t;
	int rc, e;

	rc = cp_plan_route(p, &spec);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	t = dp_route_table_build(&spec, n_lcores);
	e = errno;
	cp_plan_route_free(&spec);
	errno = e;
	return t;
}
