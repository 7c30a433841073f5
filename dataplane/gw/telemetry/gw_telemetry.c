/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DPDK telemetry commands (read with dpdk-telemetry.py -f <file-prefix>):
 *
 *   /daitn/info            gateway, policy version, reload status, kernels
 *   /daitn/stats[,K]       counters of shard K, or the sum with "lcores"
 *   /daitn/jobs[,FROM]     job ids >= FROM, at most GW_TEL_PAGE per reply,
 *                          with "next" when more remain
 *   /daitn/job,ID          one job: parameters, round state, fates
 *
 * DPDK 22.11 caps a reply at 16 KiB and a dictionary at 256 entries, hence
 * the paging. Callbacks run on the telemetry thread and hold the gateway's
 * control lock, so the tables they read cannot be freed under them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "cp_json.h"
#include "gw_priv.h"

#define GW_TEL_PAGE 200

static struct gw *tel_gw;

void gw_tel_add_str(struct rte_tel_data *d, const char *key, const char *s)
{
	char fit[RTE_TEL_MAX_STRING_LEN];

	dp_proto_text_fit(fit, sizeof(fit), s);
	rte_tel_data_add_dict_string(d, key, fit);
}

int gw_tel_param_uint(const char *params, unsigned long max, unsigned long *out)
{
	char *end;

	if (params == NULL || *params == '\0')
		return -ENOENT;
	errno = 0;
	*out = strtoul(params, &end, 0);
	if (errno != 0 || *end != '\0' || *out > max)
		return -EINVAL;
	return 0;
}

static void stats_to_dict(struct rte_tel_data *d, const struct gw_stats *s)
{
	for (unsigned i = 0; i < GW_EV_MAX; i++)
		rte_tel_data_add_dict_u64(d, gw_event_name(i), s->ev[i]);
	for (unsigned i = 1; i < DP_DROP_MAX; i++)
		rte_tel_data_add_dict_u64(d, dp_drop_name(i), s->fate[i]);
}

static int tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct gw *gw = tel_gw;
	struct gw_stats s;
	unsigned long k;
	int rc;

	RTE_SET_USED(cmd);
	rc = gw_tel_param_uint(params, gw->n_lcores - 1, &k);
	if (rc == -EINVAL)
		return -EINVAL;
	rte_tel_data_start_dict(d);
	if (rc == 0) {
		gw_stats_read(gw, (int)k, &s);
		rte_tel_data_add_dict_u64(d, "shard", k);
		rte_tel_data_add_dict_u64(d, "lcore", gw->lcores[k]->lcore_id);
	} else {
		gw_stats_read(gw, -1, &s);
		rte_tel_data_add_dict_u64(d, "lcores", gw->n_lcores);
	}
	stats_to_dict(d, &s);
	return 0;
}

static int tel_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct gw *gw = tel_gw;
	struct rte_tel_data *ports = rte_tel_data_alloc();

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	if (ports == NULL)
		return -ENOMEM;
	rte_tel_data_start_dict(d);
	pthread_mutex_lock(&gw->ctl_lock);
	rte_tel_data_add_dict_u64(d, "policy_version", gw->tables ? gw->tables->version : 0);
	rte_tel_data_add_dict_u64(d, "tables_generation", gw->gen);
	rte_tel_data_add_dict_u64(d, "jobs", gw->tables ? gw->tables->n_jobs : 0);
	rte_tel_data_add_dict_u64(d, "reloads_ok", gw->reloads_ok);
	rte_tel_data_add_dict_u64(d, "reloads_failed", gw->reloads_failed);
	gw_tel_add_str(d, "last_reload", gw->last_reload);
	rte_tel_data_add_dict_u64(d, "retired_jobs_waiting", gw->n_zombies);
	pthread_mutex_unlock(&gw->ctl_lock);
	rte_tel_data_add_dict_u64(d, "data_lcores", gw->n_lcores);
	rte_tel_data_add_dict_u64(d, "udp_port_base", gw->udp_base);
	rte_tel_data_add_dict_string(d, "kernels", kn_ops_get()->name);
	rte_tel_data_start_array(ports, RTE_TEL_STRING_VAL);
	for (unsigned i = 0; i < gw->n_ports; i++)
		rte_tel_data_add_array_string(ports, gw->ports[i].cfg->name);
	rte_tel_data_add_dict_container(d, "ports", ports, 0);
	return 0;
}

/*
 * A job's place in an aggregation tree (docs/telemetry.md): a leaf's parent
 * and its traffic with it; a job whose ranks include gateways (its
 * children) names them and the slowest (the child that completed the most
 * uses, coming last). Nothing for a job on one gateway. ctl_lock held.
 */
static void tree_add(struct rte_tel_data *d, const struct gw_job *j, const uint64_t *f)
{
	const struct cp_policy *p = tel_gw->tables->policy;
	const struct gw_up *up = &j->inst->up;
	struct rte_tel_data *tree;
	uint64_t sent = 0, resent = 0, lost = 0, slowest_n = 0;
	unsigned children = 0, slowest = UINT16_MAX;
	char a[32];

	for (uint16_t r = 0; r < j->n_workers; r++) {
		uint64_t nl = 0;

		if (!(p->nodes[j->inst->cfg.workers[r].node].roles & CP_ROLE_GATEWAY))
			continue;
		children++;
		for (unsigned k = 0; k < j->inst->n_lc; k++)
			nl += gw_cnt_read(&j->inst->lc[k]->last[r]);
		if (slowest == UINT16_MAX || nl > slowest_n) {
			slowest = r;
			slowest_n = nl;
		}
	}
	if (!j->up && children == 0)
		return;
	tree = rte_tel_data_alloc();
	if (tree == NULL)
		return;
	rte_tel_data_start_dict(tree);
	rte_tel_data_add_dict_string(tree, "role", j->up ? (children ? "inner" : "leaf") : "root");
	if (children != 0) {
		rte_tel_data_add_dict_u64(tree, "children", children);
		rte_tel_data_add_dict_u64(tree, "slowest_child", slowest);
		rte_tel_data_add_dict_u64(tree, "slowest_child_last", slowest_n);
	}
	if (j->up) {
		for (unsigned k = 0; k < j->inst->n_lc; k++) {
			sent += gw_cnt_read(&j->inst->lc[k]->up_sent);
			resent += gw_cnt_read(&j->inst->lc[k]->up_resent);
			lost += gw_cnt_read(&j->inst->lc[k]->up_lost);
		}
		cp_json_ipv4_format(j->inst->cfg.up_ip, a, sizeof(a));
		snprintf(a + strlen(a), sizeof(a) - strlen(a), ":%u", j->inst->cfg.up_port);
		rte_tel_data_add_dict_string(tree, "parent", a);
		rte_tel_data_add_dict_u64(tree, "parent_rank", j->up_rank);
		rte_tel_data_add_dict_string(tree, "parent_state", up->acked ? "joined" :
					     up->refused_code != 0 ? "refused" :
					     gw_cnt_read(&up->hellos) != 0 ? "joining" : "idle");
		if (up->refused_code != 0)
			gw_tel_add_str(tree, "parent_refusal", up->refused);
		rte_tel_data_add_dict_u64(tree, "parent_joined", up->wait_joined);
		rte_tel_data_add_dict_u64(tree, "parent_workers", up->wait_workers);
		rte_tel_data_add_dict_u64(tree, "hellos_up", gw_cnt_read(&up->hellos));
		rte_tel_data_add_dict_u64(tree, "parent_acks", gw_cnt_read(&up->acks));
		rte_tel_data_add_dict_u64(tree, "parent_waits", gw_cnt_read(&up->waits));
		rte_tel_data_add_dict_u64(tree, "parent_refusals", gw_cnt_read(&up->refusals));
		rte_tel_data_add_dict_u64(tree, "runs_ended_by_parent", gw_cnt_read(&up->runs_ended));
		rte_tel_data_add_dict_u64(tree, "partials_up", sent);
		rte_tel_data_add_dict_u64(tree, "partials_resent", resent);
		rte_tel_data_add_dict_u64(tree, "partials_lost", lost);
		rte_tel_data_add_dict_u64(tree, "results_down", f[DP_DROP_TREE_RESULT]);
		rte_tel_data_add_dict_u64(tree, "results_stale", f[DP_DROP_TREE_RESULT_STALE]);
	}
	rte_tel_data_add_dict_container(d, "tree", tree, 0);
}

static int tel_jobs(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct gw *gw = tel_gw;
	struct rte_tel_data *ids;
	const struct gw_tables *t;
	unsigned long from = 0;
	unsigned n = 0;
	uint32_t i;

	RTE_SET_USED(cmd);
	if (gw_tel_param_uint(params, UINT16_MAX, &from) == -EINVAL)
		return -EINVAL;
	ids = rte_tel_data_alloc();
	if (ids == NULL)
		return -ENOMEM;
	rte_tel_data_start_dict(d);
	rte_tel_data_start_array(ids, RTE_TEL_U64_VAL);
	pthread_mutex_lock(&gw->ctl_lock);
	t = gw->tables;
	rte_tel_data_add_dict_u64(d, "policy_version", t ? t->version : 0);
	rte_tel_data_add_dict_u64(d, "total", t ? t->n_jobs : 0);
	/* Jobs are sorted by id in the policy, hence in the table. */
	for (i = 0; t != NULL && i < t->n_jobs; i++) {
		if (t->jobs[i].id < from)
			continue;
		if (n == GW_TEL_PAGE) {
			rte_tel_data_add_dict_u64(d, "next", t->jobs[i].id);
			break;
		}
		rte_tel_data_add_array_u64(ids, t->jobs[i].id);
		n++;
	}
	pthread_mutex_unlock(&gw->ctl_lock);
	rte_tel_data_add_dict_container(d, "jobs", ids, 0);
	return 0;
}

static int tel_job(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct gw *gw = tel_gw;
	struct rte_tel_data *fates;
	const struct gw_job *j;
	unsigned long id;
	uint64_t f[DP_DROP_MAX] = { 0 }, abandoned = 0, held = 0, run;
	uint64_t closed_q = 0, closed_d = 0, late = 0;
	struct rte_tel_data *last = NULL, *missing = NULL;
	uint32_t joined;
	unsigned active = 0, complete = 0;

	RTE_SET_USED(cmd);
	if (gw_tel_param_uint(params, UINT16_MAX, &id) != 0)
		return -EINVAL;
	fates = rte_tel_data_alloc();
	last = rte_tel_data_alloc();
	missing = rte_tel_data_alloc();
	if (fates == NULL || last == NULL || missing == NULL) {
		rte_tel_data_free(fates);
		rte_tel_data_free(last);
		rte_tel_data_free(missing);
		return -ENOMEM;
	}
	pthread_mutex_lock(&gw->ctl_lock);
	j = gw->tables != NULL ? gw_tables_job(gw->tables, (uint16_t)id) : NULL;
	if (j == NULL) {
		pthread_mutex_unlock(&gw->ctl_lock);
		rte_tel_data_free(fates);
		rte_tel_data_free(last);
		rte_tel_data_free(missing);
		return -ENOENT;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "id", j->id);
	rte_tel_data_add_dict_string(d, "dtype", dp_proto_dtype_name(j->dtype));
	rte_tel_data_add_dict_u64(d, "workers", j->n_workers);
	rte_tel_data_add_dict_u64(d, "chunk_size", j->chunk_size);
	rte_tel_data_add_dict_u64(d, "slots", j->n_slots);
	rte_tel_data_add_dict_u64(d, "deterministic", j->inst->cfg.deterministic);
	rte_tel_data_add_dict_string(d, "mode", j->inst->cfg.fedavg ? "fedavg" : "sum");
	if (j->partial) {
		rte_tel_data_add_dict_u64(d, "quorum", j->inst->cfg.quorum);
		rte_tel_data_add_dict_u64(d, "deadline_ms", j->inst->cfg.deadline_ms);
		rte_tel_data_add_dict_u64(d, "min_ranks", j->min_ranks);
	}
	rte_tel_data_add_dict_u64(d, "slot_memory_used", j->n_slots * cp_job_slot_size(&j->inst->cfg));
	run = atomic_load(&j->inst->run);
	rte_tel_data_add_dict_u64(d, "run", gw_run_id(run));
	joined = atomic_load_explicit(&j->inst->join.n_in, memory_order_relaxed);
	rte_tel_data_add_dict_string(d, "run_state", gw_run_on(run) ? "on" :
				     joined != 0 ? "joining" : "idle");
	rte_tel_data_add_dict_u64(d, "round_base", gw_run_base(run));
	rte_tel_data_add_dict_u64(d, "joined", joined);
	rte_tel_data_add_dict_u64(d, "runs_ended", gw_cnt_read(&j->inst->join.runs_ended));
	for (unsigned k = 0; k < j->inst->n_lc; k++) {
		const struct gw_job_lc *jl = j->inst->lc[k];

		for (unsigned i = 0; i < DP_DROP_MAX; i++)
			f[i] += gw_cnt_read(&jl->fate[i]);
		abandoned += gw_cnt_read(&jl->abandoned);
		held += gw_cnt_read(&jl->held_total);
		closed_q += gw_cnt_read(&jl->closed_quorum);
		closed_d += gw_cnt_read(&jl->closed_deadline);
		late += gw_cnt_read(&jl->late);
		/* Racy snapshot of lcore-owned state: a gauge, not a count. */
		for (uint32_t s = 0; s < jl->n_local * 2; s++) {
			const struct dp_slot_set *set = dp_slot_set_get(&jl->slots, s / 2, s & 1);
			uint8_t st = __atomic_load_n(&set->state, __ATOMIC_RELAXED);

			active += st == DP_SLOT_ACTIVE;
			complete += st == DP_SLOT_COMPLETE;
		}
	}
	/* Per rank, the first 512 (a telemetry array's most): uses it
	 * completed, coming last (the straggler shows here), and uses that
	 * closed without it (partial jobs). */
	rte_tel_data_start_array(last, RTE_TEL_U64_VAL);
	rte_tel_data_start_array(missing, RTE_TEL_U64_VAL);
	for (uint16_t r = 0; r < j->n_workers && r < RTE_TEL_MAX_ARRAY_ENTRIES; r++) {
		uint64_t nl = 0, nm = 0;

		for (unsigned k = 0; k < j->inst->n_lc; k++) {
			nl += gw_cnt_read(&j->inst->lc[k]->last[r]);
			nm += gw_cnt_read(&j->inst->lc[k]->missing[r]);
		}
		rte_tel_data_add_array_u64(last, nl);
		rte_tel_data_add_array_u64(missing, nm);
	}
	pthread_mutex_unlock(&gw->ctl_lock);
	rte_tel_data_add_dict_u64(d, "sets_active", active);
	rte_tel_data_add_dict_u64(d, "sets_complete", complete);
	rte_tel_data_add_dict_u64(d, "slots_abandoned", abandoned);
	/* Deterministic jobs: contributions that came before a lower rank's
	 * and waited for their turn in the fold. */
	rte_tel_data_add_dict_u64(d, "held_for_order", held);
	rte_tel_data_add_dict_u64(d, "closed_quorum", closed_q);
	rte_tel_data_add_dict_u64(d, "closed_deadline", closed_d);
	rte_tel_data_add_dict_u64(d, "late", late);
	rte_tel_data_add_dict_container(d, "rank_last", last, 0);
	rte_tel_data_add_dict_container(d, "rank_missing", missing, 0);
	tree_add(d, j, f);
	rte_tel_data_start_dict(fates);
	for (unsigned i = 1; i < DP_DROP_MAX; i++)
		if (f[i] != 0)
			rte_tel_data_add_dict_u64(fates, dp_drop_name(i), f[i]);
	rte_tel_data_add_dict_container(d, "fates", fates, 0);
	return 0;
}

int gw_telemetry_register(struct gw *gw)
{
	int rc;

	tel_gw = gw;
	rc = rte_telemetry_register_cmd("/daitn/info", tel_info,
					"Gateway summary: policy version, reloads, ports. No parameters");
	if (rc == 0)
		rc = rte_telemetry_register_cmd("/daitn/stats", tel_stats,
						"Packet fates and events, summed or of one shard. "
						"Parameter: shard (optional)");
	if (rc == 0)
		rc = rte_telemetry_register_cmd("/daitn/jobs", tel_jobs,
						"Job ids, 200 per page. Parameter: first id (optional)");
	if (rc == 0)
		rc = rte_telemetry_register_cmd("/daitn/job", tel_job,
						"One job: parameters, round state, fates. Parameter: job id");
	return rc;
}
