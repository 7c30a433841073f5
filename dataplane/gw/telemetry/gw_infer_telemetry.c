/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Telemetry for the inference path and the TX scheduler:
 *
 *   /daitn/infer[,K]   shard K (or all): gw_infer counters, route counters
 *                      (dp_route_stats), the time inference frames spent in
 *                      the gateway (histogram and p50/p99/p99.9, since
 *                      start), and per traffic class of the running
 *                      policy the scheduler's packets sent and dropped, summed
 *                      over ports (since the last reload: each policy version
 *                      has its own schedulers)
 *
 * Runs on the telemetry thread under the gateway's control lock, so the
 * published tables and their schedulers cannot be freed while it reads them;
 * the counters themselves are relaxed atomics written by the lcores.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_telemetry.h>

#include "gw_infer_priv.h"

static struct gw *tel_gw;

static void
route_to_dict(struct rte_tel_data *d, const struct dp_route_stats *r)
{
	rte_tel_data_add_dict_u64(d, "route_forwarded", r->forwarded);
	rte_tel_data_add_dict_u64(d, "route_replied", r->replied);
	rte_tel_data_add_dict_u64(d, "route_no_replica", r->no_replica);
	rte_tel_data_add_dict_u64(d, "route_new_sessions", r->new_sessions);
	rte_tel_data_add_dict_u64(d, "route_affinity_hits", r->affinity_hits);
	rte_tel_data_add_dict_u64(d, "route_failovers", r->failovers);
	rte_tel_data_add_dict_u64(d, "route_moved", r->moved);
	rte_tel_data_add_dict_u64(d, "route_evictions", r->evictions);
}

/* The sojourn histogram (bucket counts; gw_infer_priv.h says the bucket
 * bounds) and its percentiles, as bucket upper bounds in nanoseconds. */
static void
sojourn_to_dict(struct rte_tel_data *d, const struct gw *gw, int shard)
{
	static const double pct[3] = { 0.5, 0.99, 0.999 };
	static const char *const names[3] = { "sojourn_ns_p50", "sojourn_ns_p99",
					      "sojourn_ns_p999" };
	uint64_t h[GW_SOJOURN_BUCKETS] = { 0 }, total = 0, acc;
	struct rte_tel_data *arr = rte_tel_data_alloc();
	unsigned k, b, i;

	for (k = 0; k < gw->n_lcores; k++)
		if (shard < 0 || (unsigned)shard == k)
			for (b = 0; b < GW_SOJOURN_BUCKETS; b++)
				h[b] += __atomic_load_n(&gw->lcores[k]->infer->sojourn[b],
							__ATOMIC_RELAXED);
	for (b = 0; b < GW_SOJOURN_BUCKETS; b++)
		total += h[b];
	rte_tel_data_add_dict_u64(d, "sojourn_count", total);
	for (i = 0; i < 3; i++) {
		uint64_t want = (uint64_t)((double)total * pct[i] + 0.5);

		for (b = 0, acc = 0; b < GW_SOJOURN_BUCKETS && total != 0; b++) {
			acc += h[b];
			if (acc >= want && acc != 0)
				break;
		}
		rte_tel_data_add_dict_u64(d, names[i], total ? gw_sojourn_bucket_max(b) : 0);
	}
	if (arr == NULL)
		return;
	rte_tel_data_start_array(arr, RTE_TEL_U64_VAL);
	for (b = 0; b < GW_SOJOURN_BUCKETS; b++)
		rte_tel_data_add_array_u64(arr, h[b]);
	rte_tel_data_add_dict_container(d, "sojourn_hist", arr, 0);
}

static int
tel_infer(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct gw *gw = tel_gw;
	const struct gw_infer_tables *it;
	uint64_t cnt[GW_INFER_CNT_MAX];
	struct dp_route_stats rs, sum;
	char name[CP_ID_MAX + 16];
	int shard = -1;
	unsigned k, i, p;

	(void)cmd;
	if (params != NULL && *params != '\0') {
		unsigned long v;

		if (gw_tel_param_uint(params, gw->n_lcores - 1, &v) != 0)
			return -EINVAL;
		shard = (int)v;
	}
	pthread_mutex_lock(&gw->ctl_lock);
	it = gw->tables != NULL ? gw->tables->infer : NULL;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "tx_scheduler",
				     gw->infer->off ? "off" : gw->infer->fifo ? "fifo" : "priority");
	rte_tel_data_add_dict_u64(d, "tx_rate_bps", gw->infer->rate_bps);
	gw_infer_stats_read(gw, shard, cnt);
	for (i = 0; i < GW_INFER_CNT_MAX; i++)
		rte_tel_data_add_dict_u64(d, gw_infer_cnt_name(i), cnt[i]);
	memset(&sum, 0, sizeof(sum));
	for (k = 0; k < gw->n_lcores; k++) {
		if (shard >= 0 && (unsigned)shard != k)
			continue;
		dp_route_stats_get(gw->lcores[k]->infer->route, &rs);
		for (i = 0; i < sizeof(rs) / sizeof(uint64_t); i++)
			((uint64_t *)&sum)[i] += ((uint64_t *)&rs)[i];
	}
	route_to_dict(d, &sum);
	sojourn_to_dict(d, gw, shard);
	for (i = 0; it != NULL && !it->fifo && i < it->plan->conf.n_classes; i++) {
		struct dp_sched_counters c, t = { 0 };

		for (k = 0; k < gw->n_lcores; k++) {
			if (shard >= 0 && (unsigned)shard != k)
				continue;
			for (p = 0; p < gw->n_ports; p++) {
				dp_sched_class_stats(it->sched[k][p], i, &c);
				t.deq_pkts += c.deq_pkts;
				t.drop_pkts += c.drop_pkts;
			}
		}
		snprintf(name, sizeof(name), "class_%s_sent",
			 it->plan->class_id[i][0] ? it->plan->class_id[i] : "control");
		rte_tel_data_add_dict_u64(d, name, t.deq_pkts);
		snprintf(name, sizeof(name), "class_%s_dropped",
			 it->plan->class_id[i][0] ? it->plan->class_id[i] : "control");
		rte_tel_data_add_dict_u64(d, name, t.drop_pkts);
	}
	pthread_mutex_unlock(&gw->ctl_lock);
	return 0;
}

int
gw_infer_telemetry_register(struct gw *gw)
{
	tel_gw = gw;
	return rte_telemetry_register_cmd("/daitn/infer", tel_infer,
		"Inference and TX scheduler counters. Parameters: shard (optional)");
}
