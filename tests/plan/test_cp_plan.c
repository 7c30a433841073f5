/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite cp_plan: the planning step turns a policy into the specs of the
 * data-plane cores: bad arguments refused, every field of the liveness and
 * routing specs carried (nodes, models, stages, replicas, requesters, reply
 * address, version), a policy that says more stages than the wire numbers
 * refused before anything is read, and the one-call forms keep errno. No EAL.
 */
#include <errno.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../tu_main.h"

#include "cp_plan.h"
#include "route_test_policy.h"

static struct tp tp;

static void
test_bad_arguments_are_refused(void)
{
	struct dp_live_spec ls;
	struct dp_route_spec rs;

	tp_init(&tp, 2);
	CU_ASSERT_EQUAL(cp_plan_live(NULL, &ls), -EINVAL);
	CU_ASSERT_EQUAL(cp_plan_live(&tp.p, NULL), -EINVAL);
	CU_ASSERT_EQUAL(cp_plan_route(NULL, &rs), -EINVAL);
	CU_ASSERT_EQUAL(cp_plan_route(&tp.p, NULL), -EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(cp_plan_live_create(NULL, 1000, NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(cp_plan_route_table(NULL, 1));
	CU_ASSERT_EQUAL(errno, EINVAL);
	cp_plan_live_free(NULL);
	cp_plan_route_free(NULL);
}

static void
test_live_spec_carries_every_node(void)
{
	struct dp_live_spec ls;

	tp_init(&tp, 3);
	strcpy(tp.nodes[0].id, "a");
	strcpy(tp.nodes[1].id, "b");
	strcpy(tp.nodes[2].id, "c");
	tp.nodes[2].roles = CP_ROLE_WORKER;
	tp.p.node_timeout_ms = 1234;
	CU_ASSERT_EQUAL_FATAL(cp_plan_live(&tp.p, &ls), 0);
	CU_ASSERT_EQUAL(ls.n_nodes, 3);
	CU_ASSERT_EQUAL(ls.timeout_ms, 1234);
	for (uint32_t i = 0; i < 3; i++) {
		CU_ASSERT_STRING_EQUAL(ls.nodes[i].id, tp.nodes[i].id);
		CU_ASSERT_EQUAL(ls.nodes[i].ip, tp_ip(i));
		CU_ASSERT_EQUAL(ls.nodes[i].roles, tp.nodes[i].roles);
	}
	cp_plan_live_free(&ls);
	CU_ASSERT_PTR_NULL(ls.nodes);
}

static void
test_route_spec_carries_every_placement(void)
{
	struct dp_route_spec rs;
	struct cp_model *m;

	tp_init(&tp, 8);
	tp.p.version = 42;
	m = tp_model(&tp, 3, 2);
	tp_replica(&tp, m, 0, 1, 5);
	tp_replica(&tp, m, 0, 2, 7);
	tp_replica(&tp, m, 1, 3, 1);
	tp_requester(&tp, m, 4);
	m->tenant = 1;
	m = tp_model(&tp, 9, 1);
	tp_replica(&tp, m, 0, 5, 2);
	m->reply_to_requester = false;
	m->reply_ip = tp_ip(6);
	m->reply_port = 4711;
	CU_ASSERT_EQUAL_FATAL(cp_plan_route(&tp.p, &rs), 0);
	CU_ASSERT_EQUAL(rs.version, 42);
	CU_ASSERT_EQUAL(rs.n_nodes, 8);
	for (uint32_t i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(rs.node_ip[i], tp_ip(i));
	CU_ASSERT_EQUAL_FATAL(rs.n_models, 2);
	CU_ASSERT_EQUAL(rs.models[0].id, 3);
	CU_ASSERT_EQUAL(rs.models[0].tenant, 1);
	CU_ASSERT_EQUAL(rs.models[0].class_idx, 1);
	CU_ASSERT_EQUAL_FATAL(rs.models[0].n_stages, 2);
	CU_ASSERT_EQUAL_FATAL(rs.models[0].stages[0].n_replicas, 2);
	CU_ASSERT_EQUAL(rs.models[0].stages[0].replicas[1].node, 2);
	CU_ASSERT_EQUAL(rs.models[0].stages[0].replicas[1].ip, tp_ip(2));
	CU_ASSERT_EQUAL(rs.models[0].stages[0].replicas[1].port, 48000);
	CU_ASSERT_EQUAL(rs.models[0].stages[0].replicas[1].weight, 7);
	CU_ASSERT_EQUAL(rs.models[0].stages[1].replicas[0].port, 48001);
	CU_ASSERT_EQUAL(rs.models[0].n_requesters, 1);
	CU_ASSERT_EQUAL(rs.models[0].requesters[0], 4);
	CU_ASSERT_TRUE(rs.models[0].reply_to_requester);
	CU_ASSERT_EQUAL(rs.models[1].id, 9);
	CU_ASSERT_FALSE(rs.models[1].reply_to_requester);
	CU_ASSERT_EQUAL(rs.models[1].reply_ip, tp_ip(6));
	CU_ASSERT_EQUAL(rs.models[1].reply_port, 4711);
	CU_ASSERT_EQUAL(rs.models[1].stages[0].replicas[0].weight, 2);
	cp_plan_route_free(&rs);
	CU_ASSERT_PTR_NULL(rs.models);
}

static void
test_more_stages_than_the_wire_numbers_are_refused_unread(void)
{
	struct dp_route_spec rs;
	struct cp_model *m;

	tp_init(&tp, 2);
	m = tp_model(&tp, 1, 1);
	tp_replica(&tp, m, 0, 1, 1);
	/* It says 255 stages and holds 8: nothing past them may be read
	 * (ASan would say so). */
	m->n_stages = DP_ROUTE_STAGES_MAX + 1;
	CU_ASSERT_EQUAL(cp_plan_route(&tp.p, &rs), -EINVAL);
	m->n_stages = 0;
	CU_ASSERT_EQUAL(cp_plan_route(&tp.p, &rs), -EINVAL);
}

static CU_TestInfo tests[] = {
	{ "bad_arguments_are_refused", test_bad_arguments_are_refused },
	{ "live_spec_carries_every_node", test_live_spec_carries_every_node },
	{ "route_spec_carries_every_placement", test_route_spec_carries_every_placement },
	{ "more_stages_than_the_wire_numbers_are_refused_unread",
	  test_more_stages_than_the_wire_numbers_are_refused_unread },
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_main("cp_plan", tests);
}
