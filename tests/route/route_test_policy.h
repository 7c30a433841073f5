/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hand-built policies for the route and sched suites: the structs of
 * cp_policy.h filled directly, so the tests exercise exactly the placement
 * they state (the parser has suites of its own).
 */
#ifndef ROUTE_TEST_POLICY_H
#define ROUTE_TEST_POLICY_H

#include <stdint.h>
#include <string.h>

#include "cp_policy.h"

#define TP_NODES 64
#define TP_MODELS 8
#define TP_STAGES 8
#define TP_REPLICAS 8
#define TP_REQS 8

struct tp {
	struct cp_policy p;
	struct cp_tenant tenants[2];
	struct cp_class classes[3];
	struct cp_node nodes[TP_NODES];
	struct cp_model models[TP_MODELS];
	struct cp_stage stages[TP_MODELS][TP_STAGES];
	struct cp_replica reps[TP_MODELS][TP_STAGES][TP_REPLICAS];
	uint32_t reqs[TP_MODELS][TP_REQS];
};

/* Node i has address 10.0.(i / 200).(i % 200 + 1). */
static inline uint32_t
tp_ip(uint32_t i)
{
	return (10u << 24) | ((i / 200) << 8) | (i % 200 + 1);
}

/* Two tenants; classes control (prio 0), inference (1), training (2); n_nodes
 * nodes; no models yet. */
static inline void
tp_init(struct tp *t, uint32_t n_nodes)
{
	uint32_t i;

	memset(t, 0, sizeof(*t));
	strcpy(t->tenants[0].id, "t0");
	strcpy(t->tenants[1].id, "t1");
	strcpy(t->classes[0].id, "control");
	t->classes[0].kind = CP_CLASS_CONTROL;
	t->classes[0].priority = 0;
	strcpy(t->classes[1].id, "inference");
	t->classes[1].kind = CP_CLASS_INFERENCE;
	t->classes[1].priority = 1;
	strcpy(t->classes[2].id, "training");
	t->classes[2].kind = CP_CLASS_TRAINING;
	t->classes[2].priority = 2;
	for (i = 0; i < 3; i++) {
		t->classes[i].weight = 1;
		t->classes[i].queue_len = 64;
	}
	for (i = 0; i < n_nodes && i < TP_NODES; i++) {
		t->nodes[i].ip = tp_ip(i);
		t->nodes[i].roles = CP_ROLE_STAGE | CP_ROLE_REQUESTER;
	}
	t->p.version = 1;
	t->p.node_timeout_ms = 1000;
	t->p.n_tenants = 2;
	t->p.tenants = t->tenants;
	t->p.n_classes = 3;
	t->p.classes = t->classes;
	t->p.n_nodes = n_nodes;
	t->p.nodes = t->nodes;
	t->p.models = t->models;
}

/* Append model id (ids must be added in increasing order) with n_stages
 * stages and no replicas yet; replies go to the requester. */
static inline struct cp_model *
tp_model(struct tp *t, uint16_t id, uint16_t n_stages)
{
	uint32_t k = t->p.n_models++;
	struct cp_model *m = &t->models[k];

	m->id = id;
	m->tenant = 0;
	m->class_idx = 1;
	m->n_stages = n_stages;
	m->stages = t->stages[k];
	m->reply_to_requester = true;
	m->requesters = t->reqs[k];
	return m;
}

static inline void
tp_replica(struct tp *t, struct cp_model *m, unsigned stage, uint32_t node, uint32_t weight)
{
	uint32_t k = (uint32_t)(m - t->models);
	struct cp_stage *s = &t->stages[k][stage];

	s->replicas = t->reps[k][stage];
	s->replicas[s->n_replicas].node = node;
	s->replicas[s->n_replicas].ip = tp_ip(node);
	s->replicas[s->n_replicas].port = (uint16_t)(48000 + stage);
	s->replicas[s->n_replicas].weight = weight;
	s->n_replicas++;
}

static inline void
tp_requester(struct tp *t, struct cp_model *m, uint32_t node)
{
	(void)t;
	m->requesters[m->n_requesters++] = node;
}

#endif /* ROUTE_TEST_POLICY_H */
