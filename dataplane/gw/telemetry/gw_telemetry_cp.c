/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Control-plane telemetry commands (docs/telemetry.md has each reply's
 * shape; names and shapes are stable, new keys are only ever added):
 *
 *   /daitn/status            policy version, every lcore's version, reloads
 *   /daitn/reload            reload the policy now; the outcome
 *   /daitn/last_reload       the last reload's outcome (any trigger)
 *   /daitn/lcores            per data lcore: version, packets, drops, slot memory
 *   /daitn/ports             per port: ethdev counters
 *   /daitn/drops[,K]         packets dropped, by reason (all lcores or shard K)
 *   /daitn/tenants[,FROM]    per tenant: rate limit, packets, bytes, rate_limited
 *   /daitn/nodes[,FROM]      per node: liveness, last seen, packets, rates
 *   /daitn/job_stats[,FROM]  per job: slots in use, fates
 *
 * DPDK 22.11 limits: a reply of 16 KiB, 256 dictionary entries, 512 array
 * entries, strings of 127 characters, containers only one level deep and
 * holding scalars. So listings are dictionaries of parallel arrays, one
 * element per row, paged: FROM is the first index (tenants, nodes: policy
 * order) or job id, and "next" is present when another page follows.
 *
 * Callbacks run on telemetry threads. They read tables under the gateway's
 * control lock (nothing is freed under them) and counters with relaxed
 * loads; /daitn/reload hands the work to the main thread (gw_ctl.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "cp_json.h"
#include "gw_cp.h"
#include "gw_ctl.h"

#define TEL_PAGE_TENANTS 64
#define TEL_PAGE_NODES 64
#define TEL_PAGE_JOBS 64
#define TEL_RELOAD_WAIT_MS 10000

static struct gw *tel_gw;
static struct gw_ctl *tel_ctl;

static bool
fate_is_drop(unsigned f)
{
	return f >= DP_DROP_L2_SHORT && f != DP_DROP_INFER_FORWARDED &&
	       f != DP_DROP_INFER_REPLIED && f != DP_DROP_INFER_BEAT && f != DP_DROP_ARP_RESOLVED;
}

static struct rte_tel_data *
array_new(enum rte_tel_value_type type)
{
	struct rte_tel_data *a = rte_tel_data_alloc();

	if (a != NULL)
		rte_tel_data_start_array(a, type);
	return a;
}

/* Attach arrays[0..n-1] to d under names[]; frees them all if one is
 * missing. Returns 0 or -ENOMEM. */
static int
arrays_attach(struct rte_tel_data *d, struct rte_tel_data **arrays, const char *const *names,
	      unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (arrays[i] == NULL)
			break;
	if (i < n) {
		for (i = 0; i < n; i++)
			rte_tel_data_free(arrays[i]);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		rte_tel_data_add_dict_container(d, names[i], arrays[i], 0);
	return 0;
}

static void
time_format(int64_t ms, char *buf, size_t size)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* One reload's outcome, keys with prefix (e.g. "last_reload_" or ""). */
static void
reload_to_dict(struct rte_tel_data *d, const char *prefix, const struct gw_reload_status *r)
{
	struct rte_tel_data *errs = array_new(RTE_TEL_STRING_VAL);
	char key[64], when[64];

#define KEY(name) (snprintf(key, sizeof(key), "%s%s", prefix, name), key)
	time_format(r->at_ms, when, sizeof(when));
	rte_tel_data_add_dict_u64(d, KEY("seq"), r->seq);
	rte_tel_data_add_dict_string(d, KEY("trigger"), gw_reload_trigger_name(r->trigger));
	rte_tel_data_add_dict_string(d, KEY("result"), gw_reload_result_name(r->result));
	rte_tel_data_add_dict_string(d, KEY("time"), r->seq != 0 ? when : "");
	rte_tel_data_add_dict_u64(d, KEY("version"), r->version);
	rte_tel_data_add_dict_u64(d, KEY("file_version"), r->file_version);
	rte_tel_data_add_dict_u64(d, KEY("generation"), r->gen);
	rte_tel_data_add_dict_u64(d, KEY("jobs"), r->jobs);
	rte_tel_data_add_dict_u64(d, KEY("jobs_kept"), r->jobs_kept);
	rte_tel_data_add_dict_u64(d, KEY("jobs_added"), r->jobs_added);
	rte_tel_data_add_dict_u64(d, KEY("jobs_removed"), r->jobs_removed);
	rte_tel_data_add_dict_u64(d, KEY("models"), r->models);
	rte_tel_data_add_dict_u64(d, KEY("read_us"), r->read_ns / 1000);
	rte_tel_data_add_dict_u64(d, KEY("parse_us"), r->parse_ns / 1000);
	rte_tel_data_add_dict_u64(d, KEY("apply_us"), r->apply_ns / 1000);
	rte_tel_data_add_dict_u64(d, KEY("total_us"), r->total_ns / 1000);
	rte_tel_data_add_dict_u64(d, KEY("done_mono_ns"), r->done_mono_ns);
	rte_tel_data_add_dict_u64(d, KEY("lcores_late"), r->lcores_late);
	rte_tel_data_add_dict_u64(d, KEY("n_errors"), r->n_errors);
	gw_tel_add_str(d, KEY("message"), r->message);
	if (errs != NULL) {
		for (unsigned i = 0; i < r->n_errors && i < GW_RELOAD_ERRORS; i++)
			rte_tel_data_add_array_string(errs, r->errors[i]);
		rte_tel_data_add_dict_container(d, KEY("errors"), errs, 0);
	}
#undef KEY
}

static int
tel_status(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct gw *gw = tel_gw;
	struct gw_reload_status last;
	struct gw_ctl_counts n;
	struct rte_tel_data *a[4];
	static const char *const names[4] = { "lcores", "lcore_versions", "lcore_generations",
					      "lcore_switched_ms_ago" };
	const struct gw_tables *t;
	uint64_t now = gw_now(tel_gw);

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	gw_ctl_status_read(tel_ctl, &last, &n);
	a[0] = array_new(RTE_TEL_U64_VAL);
	a[1] = array_new(RTE_TEL_U64_VAL);
	a[2] = array_new(RTE_TEL_U64_VAL);
	a[3] = array_new(RTE_TEL_U64_VAL);
	rte_tel_data_start_dict(d);
	pthread_mutex_lock(&gw->ctl_lock);
	t = gw->tables;
	rte_tel_data_add_dict_u64(d, "policy_version", t != NULL ? t->version : 0);
	rte_tel_data_add_dict_u64(d, "generation", t != NULL ? t->gen : 0);
	gw_tel_add_str(d, "policy_path", gw_ctl_policy_path(tel_ctl));
	rte_tel_data_add_dict_u64(d, "watching", gw_ctl_watching(tel_ctl));
	rte_tel_data_add_dict_u64(d, "jobs", t != NULL ? t->policy->n_jobs : 0);
	rte_tel_data_add_dict_u64(d, "models", t != NULL ? t->policy->n_models : 0);
	rte_tel_data_add_dict_u64(d, "tenants", t != NULL ? t->policy->n_tenants : 0);
	rte_tel_data_add_dict_u64(d, "nodes", t != NULL ? t->policy->n_nodes : 0);
	if (t != NULL && t->cp != NULL) {
		rte_tel_data_add_dict_u64(d, "nodes_up", t->cp->live->n_up);
		rte_tel_data_add_dict_u64(d, "nodes_down", t->cp->live->n_down);
		rte_tel_data_add_dict_u64(d, "nodes_never_seen", t->cp->live->n_never);
	}
	for (unsigned k = 0; k < gw->n_lcores; k++) {
		struct dp_live_lcore_view v;

		dp_live_lcore_read(&gw->lcores[k]->cp->note, &v);
		rte_tel_data_add_array_u64(a[0], gw->lcores[k]->lcore_id);
		rte_tel_data_add_array_u64(a[1], v.version);
		rte_tel_data_add_array_u64(a[2], v.gen);
		rte_tel_data_add_array_u64(a[3], v.gen != 0 && now > v.since ?
					   (now - v.since) * 1000 / gw->cp->hz : 0);
	}
	pthread_mutex_unlock(&gw->ctl_lock);
	rte_tel_data_add_dict_u64(d, "launched", gw->launched);
	rte_tel_data_add_dict_u64(d, "reloads_ok", n.ok);
	rte_tel_data_add_dict_u64(d, "reloads_invalid", n.invalid);
	rte_tel_data_add_dict_u64(d, "reloads_unreadable", n.unreadable);
	rte_tel_data_add_dict_u64(d, "reloads_refused", n.refused);
	rte_tel_data_add_dict_u64(d, "reloads_sighup", n.by_trigger[GW_RELOAD_SIGHUP]);
	rte_tel_data_add_dict_u64(d, "reloads_file_change", n.by_trigger[GW_RELOAD_INOTIFY]);
	rte_tel_data_add_dict_u64(d, "reloads_daitnctl", n.by_trigger[GW_RELOAD_TELEMETRY]);
	if (arrays_attach(d, a, names, 4) != 0)
		return -ENOMEM;
	reload_to_dict(d, "last_reload_", &last);
	return 0;
}

static int
tel_reload(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct gw_reload_status r;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	gw_ctl_request_reload(tel_ctl, TEL_RELOAD_WAIT_MS, &r);
	rte_tel_data_start_dict(d);
	reload_to_dict(d, "", &r);
	return 0;
}

static int
tel_last_reload(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct gw_reload_status r;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	gw_ctl_status_read(tel_ctl, &r, NULL);
	rte_tel_data_start_dict(d);
	reload_to_dict(d, "", &r);
	return 0;
}

static int
tel_lcores(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static const char *const names[] = { "shard", "lcore", "version", "generation", "rx", "tx",
		"polls", "handoff_in", "handoff_out", "aggregated", "completed", "dropped",
		"slot_memory", "slot_memory_used" };
	enum { N = sizeof(names) / sizeof(names[0]) };
	struct rte_tel_data *a[N];
	struct gw *gw = tel_gw;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	for (unsigned i = 0; i < N; i++)
		a[i] = array_new(RTE_TEL_U64_VAL);
	rte_tel_data_start_dict(d);
	pthread_mutex_lock(&gw->ctl_lock);
	for (unsigned k = 0; k < gw->n_lcores; k++) {
		struct gw_lcore *lc = gw->lcores[k];
		struct dp_live_lcore_view v;
		struct gw_stats s;
		uint64_t dropped = 0, row[N];

		if (a[N - 1] == NULL)
			break;
		gw_stats_read(gw, (int)k, &s);
		for (unsigned f = 0; f < DP_DROP_MAX; f++)
			if (fate_is_drop(f))
				dropped += s.fate[f];
		dp_live_lcore_read(&lc->cp->note, &v);
		row[0] = k;
		row[1] = lc->lcore_id;
		row[2] = v.version;
		row[3] = v.gen;
		row[4] = s.ev[GW_EV_RX];
		row[5] = s.ev[GW_EV_TX];
		row[6] = s.ev[GW_EV_POLLS];
		row[7] = s.ev[GW_EV_HANDOFF_IN];
		row[8] = s.ev[GW_EV_HANDOFF_OUT];
		row[9] = s.fate[DP_DROP_AGGREGATED];
		row[10] = s.fate[DP_DROP_COMPLETED];
		row[11] = dropped;
		row[12] = lc->slot_capacity;
		row[13] = lc->slot_committed;
		for (unsigned i = 0; i < N; i++)
			if (a[i] != NULL)
				rte_tel_data_add_array_u64(a[i], row[i]);
	}
	pthread_mutex_unlock(&gw->ctl_lock);
	return arrays_attach(d, a, names, N);
}

static int
tel_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static const char *const names[] = { "name", "port_id", "ipackets", "opackets", "ibytes",
		"obytes", "imissed", "ierrors", "oerrors", "rx_nombuf", "kernel_drops" };
	enum { N = sizeof(names) / sizeof(names[0]) };
	struct rte_tel_data *a[N];
	struct gw *gw = tel_gw;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	a[0] = array_new(RTE_TEL_STRING_VAL);
	for (unsigned i = 1; i < N; i++)
		a[i] = array_new(RTE_TEL_U64_VAL);
	rte_tel_data_start_dict(d);
	for (unsigned p = 0; p < gw->n_ports; p++) {
		struct rte_eth_stats st;
		uint64_t row[N];

		if (a[N - 1] == NULL || a[0] == NULL)
			break;
		memset(&st, 0, sizeof(st));
		if (gw->ports_started)
			rte_eth_stats_get(gw->ports[p].id, &st);
		row[1] = gw->ports[p].id;
		row[2] = st.ipackets;
		row[3] = st.opackets;
		row[4] = st.ibytes;
		row[5] = st.obytes;
		row[6] = st.imissed;
		row[7] = st.ierrors;
		row[8] = st.oerrors;
		row[9] = st.rx_nombuf;
		pthread_mutex_lock(&gw->ctl_lock);
		row[10] = gw_port_kernel_drops(gw, p);
		pthread_mutex_unlock(&gw->ctl_lock);
		rte_tel_data_add_array_string(a[0], gw->ports[p].cfg->name);
		for (unsigned i = 1; i < N; i++)
			if (a[i] != NULL)
				rte_tel_data_add_array_u64(a[i], row[i]);
	}
	return arrays_attach(d, a, names, N);
}

static int
tel_drops(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct gw *gw = tel_gw;
	struct gw_stats s;
	unsigned long k;
	uint64_t total = 0;
	int rc;

	RTE_SET_USED(cmd);
	rc = gw_tel_param_uint(params, gw->n_lcores - 1, &k);
	if (rc == -EINVAL)
		return -EINVAL;
	gw_stats_read(gw, rc == 0 ? (int)k : -1, &s);
	rte_tel_data_start_dict(d);
	for (unsigned f = 0; f < DP_DROP_MAX; f++)
		if (fate_is_drop(f)) {
			rte_tel_data_add_dict_u64(d, dp_drop_name(f), s.fate[f]);
			total += s.fate[f];
		}
	rte_tel_data_add_dict_u64(d, "total", total);
	return 0;
}

static int
tel_tenants(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static const char *const names[] = { "id", "slot", "rate_pps", "burst", "jobs", "models",
		"packets", "bytes", "rate_limited" };
	enum { N = sizeof(names) / sizeof(names[0]) };
	struct rte_tel_data *a[N];
	struct gw *gw = tel_gw;
	const struct gw_tables *t;
	unsigned long from = 0;
	uint32_t i, shown = 0;

	RTE_SET_USED(cmd);
	if (gw_tel_param_uint(params, CP_TENANTS_MAX, &from) == -EINVAL)
		return -EINVAL;
	a[0] = array_new(RTE_TEL_STRING_VAL);
	for (unsigned c = 1; c < N; c++)
		a[c] = array_new(RTE_TEL_U64_VAL);
	rte_tel_data_start_dict(d);
	pthread_mutex_lock(&gw->ctl_lock);
	t = gw->tables;
	rte_tel_data_add_dict_u64(d, "total", t != NULL ? t->policy->n_tenants : 0);
	rte_tel_data_add_dict_u64(d, "data_lcores", gw->n_lcores);
	for (i = (uint32_t)from; t != NULL && t->cp != NULL && i < t->policy->n_tenants; i++) {
		const struct cp_tenant *tn = &t->policy->tenants[i];
		struct gw_cp_tcnt c;
		uint64_t row[N], jobs = 0, models = 0;

		if (shown == TEL_PAGE_TENANTS) {
			rte_tel_data_add_dict_u64(d, "next", i);
			break;
		}
		if (a[0] == NULL || a[N - 1] == NULL)
			break;
		for (uint32_t j = 0; j < t->policy->n_jobs; j++)
			jobs += t->policy->jobs[j].tenant == i;
		for (uint32_t m = 0; m < t->policy->n_models; m++)
			models += t->policy->models[m].tenant == i;
		gw_cp_tenant_read(gw, t->cp->tenants[i].slot, &c);
		row[1] = t->cp->tenants[i].slot;
		row[2] = tn->rate_pps;
		row[3] = tn->burst;
		row[4] = jobs;
		row[5] = models;
		row[6] = c.pkts;
		row[7] = c.bytes;
		row[8] = c.limited;
		rte_tel_data_add_array_string(a[0], tn->id);
		for (unsigned col = 1; col < N; col++)
			if (a[col] != NULL)
				rte_tel_data_add_array_u64(a[col], row[col]);
		shown++;
	}
	pthread_mutex_unlock(&gw->ctl_lock);
	return arrays_attach(d, a, names, N);
}

static void
roles_format(uint32_t roles, char *buf, size_t size)
{
	static const char *const names[] = { "worker", "stage", "requester", "gateway" };
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]) && n < size; i++)
		if (roles & (1u << i))
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n != 0 ? "," : "", names[i]);
}

static int
tel_nodes(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static const char *const names[] = { "id", "ip", "roles", "state", "mac", "mac_bound_by",
		"last_seen_ms_ago", "packets", "bytes", "pps", "bps", "times_down", "arp_conflicts" };
	enum { N = sizeof(names) / sizeof(names[0]), N_STR = 6 };
	struct rte_tel_data *a[N];
	struct gw *gw = tel_gw;
	const struct gw_tables *t;
	const struct dp_live *lv;
	unsigned long from = 0;
	uint64_t now = gw_now(gw);
	uint32_t i, shown = 0;

	RTE_SET_USED(cmd);
	if (gw_tel_param_uint(params, CP_NODES_MAX, &from) == -EINVAL)
		return -EINVAL;
	for (unsigned c = 0; c < N; c++)
		a[c] = array_new(c < N_STR ? RTE_TEL_STRING_VAL : RTE_TEL_U64_VAL);
	rte_tel_data_start_dict(d);
	pthread_mutex_lock(&gw->ctl_lock);
	t = gw->tables;
	lv = t != NULL && t->cp != NULL ? t->cp->live : NULL;
	rte_tel_data_add_dict_u64(d, "total", lv != NULL ? lv->n_nodes : 0);
	rte_tel_data_add_dict_u64(d, "up", lv != NULL ? lv->n_up : 0);
	rte_tel_data_add_dict_u64(d, "down", lv != NULL ? lv->n_down : 0);
	rte_tel_data_add_dict_u64(d, "never_seen", lv != NULL ? lv->n_never : 0);
	rte_tel_data_add_dict_u64(d, "timeout_ms", t != NULL ? t->policy->node_timeout_ms : 0);
	rte_tel_data_add_dict_u64(d, "refreshed_ms_ago", gw->cp->live_at != 0 && now > gw->cp->live_at ?
				  (now - gw->cp->live_at) * 1000 / gw->cp->hz : 0);
	for (i = (uint32_t)from; lv != NULL && i < lv->n_nodes; i++) {
		const struct dp_live_node *n = &lv->nodes[i];
		char ip[16], roles[32], mac[RTE_ETHER_ADDR_FMT_SIZE] = "";
		uint64_t row[N], conflicts, w = gw_neigh_word(gw, t, i, &conflicts);

		if (shown == TEL_PAGE_NODES) {
			rte_tel_data_add_dict_u64(d, "next", i);
			break;
		}
		if (a[0] == NULL || a[N - 1] == NULL)
			break;
		cp_json_ipv4_format(n->ip, ip, sizeof(ip));
		roles_format(n->roles, roles, sizeof(roles));
		rte_tel_data_add_array_string(a[0], n->id);
		rte_tel_data_add_array_string(a[1], ip);
		rte_tel_data_add_array_string(a[2], roles);
		rte_tel_data_add_array_string(a[3], dp_live_state_name(n->state));
		if (w & GW_MAC_VALID)
			rte_ether_format_addr(mac, sizeof(mac), (const struct rte_ether_addr *)&w);
		rte_tel_data_add_array_string(a[4], mac);
		rte_tel_data_add_array_string(a[5], !(w & GW_MAC_VALID) ? "unresolved" :
					      (w & GW_MAC_PINNED) ? "policy" : "arp");
		row[6] = n->last_seen != 0 && now > n->last_seen ?
			 (now - n->last_seen) * 1000 / gw->cp->hz : 0;
		row[7] = n->pkts;
		row[8] = n->bytes;
		row[9] = n->pps;
		row[10] = n->bps;
		row[11] = n->n_down;
		row[12] = conflicts;
		for (unsigned c = N_STR; c < N; c++)
			if (a[c] != NULL)
				rte_tel_data_add_array_u64(a[c], row[c]);
		shown++;
	}
	pthread_mutex_unlock(&gw->ctl_lock);
	return arrays_attach(d, a, names, N);
}

/* job_stats "kind" bits (docs/telemetry.md): what daitnctl jobs shows. */
#define GW_JOB_KIND_FEDAVG 0x1u
#define GW_JOB_KIND_DETERMINISTIC 0x2u
#define GW_JOB_KIND_PARTIAL 0x4u
#define GW_JOB_KIND_CHILD 0x8u          /* a tree: sends its sums to a parent */
#define GW_JOB_KIND_PARENT 0x10u        /* a tree: some ranks are child gateways */

static int
tel_job_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static const char *const names[] = { "id", "tenant", "dtype", "workers", "slots",
		"sets_active", "sets_complete", "aggregated", "completed", "result_resent",
		"duplicate", "stale", "rate_limited", "dropped", "late", "closed_early",
		"straggler", "straggler_last", "kind" };
	enum { N = sizeof(names) / sizeof(names[0]), N_STR = 3 };
	struct rte_tel_data *a[N];
	struct gw *gw = tel_gw;
	const struct gw_tables *t;
	unsigned long from = 0;
	uint32_t i, shown = 0;

	RTE_SET_USED(cmd);
	if (gw_tel_param_uint(params, UINT16_MAX, &from) == -EINVAL)
		return -EINVAL;
	a[0] = array_new(RTE_TEL_U64_VAL);
	a[1] = array_new(RTE_TEL_STRING_VAL);
	a[2] = array_new(RTE_TEL_STRING_VAL);
	for (unsigned c = N_STR; c < N; c++)
		a[c] = array_new(RTE_TEL_U64_VAL);
	rte_tel_data_start_dict(d);
	pthread_mutex_lock(&gw->ctl_lock);
	t = gw->tables;
	rte_tel_data_add_dict_u64(d, "total", t != NULL ? t->n_jobs : 0);
	for (i = 0; t != NULL && i < t->n_jobs; i++) {
		const struct gw_job *j = &t->jobs[i];
		uint64_t f[DP_DROP_MAX] = { 0 }, row[N], active = 0, complete = 0, dropped = 0;
		uint64_t early = 0, slowest = 0, slowest_n = 0;
		bool parent;

		if (j->id < from)
			continue;
		if (shown == TEL_PAGE_JOBS) {
			rte_tel_data_add_dict_u64(d, "next", j->id);
			break;
		}
		if (a[0] == NULL || a[N - 1] == NULL)
			break;
		for (unsigned k = 0; k < j->inst->n_lc; k++) {
			const struct gw_job_lc *jl = j->inst->lc[k];

			for (unsigned x = 0; x < DP_DROP_MAX; x++)
				f[x] += gw_cnt_read(&jl->fate[x]);
			early += gw_cnt_read(&jl->closed_quorum) + gw_cnt_read(&jl->closed_deadline);
			/* A racy snapshot of lcore-owned state: a gauge. */
			for (uint32_t s = 0; s < jl->n_local * 2; s++) {
				const struct dp_slot_set *set = dp_slot_set_get(&jl->slots, s / 2, s & 1);
				uint8_t st = __atomic_load_n(&set->state, __ATOMIC_RELAXED);

				active += st == DP_SLOT_ACTIVE;
				complete += st == DP_SLOT_COMPLETE;
			}
		}
		for (unsigned x = 0; x < DP_DROP_MAX; x++)
			if (fate_is_drop(x))
				dropped += f[x];
		/* The straggler: the rank that completed the most uses, coming
		 * last (ties: the lowest rank). */
		parent = false;         /* a rank on a gateway node: a child */
		for (uint16_t r = 0; r < j->n_workers; r++) {
			uint64_t n = 0;

			parent |= (t->policy->nodes[j->inst->cfg.workers[r].node].roles &
				   CP_ROLE_GATEWAY) != 0;
			for (unsigned k = 0; k < j->inst->n_lc; k++)
				n += gw_cnt_read(&j->inst->lc[k]->last[r]);
			if (n > slowest_n) {
				slowest_n = n;
				slowest = r;
			}
		}
		row[0] = j->id;
		row[3] = j->n_workers;
		row[4] = j->n_slots;
		row[5] = active;
		row[6] = complete;
		row[7] = f[DP_DROP_AGGREGATED];
		row[8] = f[DP_DROP_COMPLETED];
		row[9] = f[DP_DROP_RESULT_RESENT];
		row[10] = f[DP_DROP_DUPLICATE];
		row[11] = f[DP_DROP_STALE];
		row[12] = f[DP_DROP_RATE_LIMITED];
		row[13] = dropped;
		row[14] = f[DP_DROP_LATE];
		row[15] = early;
		row[16] = slowest;
		row[17] = slowest_n;
		row[18] = (j->inst->cfg.fedavg ? GW_JOB_KIND_FEDAVG : 0u) |
			  (j->ordered ? GW_JOB_KIND_DETERMINISTIC : 0u) |
			  (j->partial ? GW_JOB_KIND_PARTIAL : 0u) |
			  (j->up ? GW_JOB_KIND_CHILD : 0u) | (parent ? GW_JOB_KIND_PARENT : 0u);
		rte_tel_data_add_array_u64(a[0], row[0]);
		rte_tel_data_add_array_string(a[1], t->policy->tenants[t->policy->jobs[i].tenant].id);
		rte_tel_data_add_array_string(a[2], dp_proto_dtype_name(j->dtype));
		for (unsigned c = N_STR; c < N; c++)
			if (a[c] != NULL)
				rte_tel_data_add_array_u64(a[c], row[c]);
		shown++;
	}
	pthread_mutex_unlock(&gw->ctl_lock);
	return arrays_attach(d, a, names, N);
}

int
gw_telemetry_cp_register(struct gw *gw, struct gw_ctl *c)
{
	static const struct {
		const char *name;
		telemetry_cb fn;
		const char *help;
	} cmds[] = {
		{ "/daitn/status", tel_status,
		  "Policy version of the gateway and of every lcore, reload counters and the "
		  "last reload. No parameters" },
		{ "/daitn/reload", tel_reload,
		  "Reload the policy file now and return the outcome. No parameters" },
		{ "/daitn/last_reload", tel_last_reload,
		  "The last reload's outcome, whatever triggered it. No parameters" },
		{ "/daitn/lcores", tel_lcores,
		  "Per data lcore: policy version, packets, drops, slot memory. No parameters" },
		{ "/daitn/ports", tel_ports, "Per port: ethdev counters. No parameters" },
		{ "/daitn/drops", tel_drops,
		  "Dropped packets by reason, summed or of one shard. Parameter: shard (optional)" },
		{ "/daitn/tenants", tel_tenants,
		  "Per tenant: rate limit, packets, bytes, rate_limited; 64 per page. Parameter: "
		  "first index (optional)" },
		{ "/daitn/nodes", tel_nodes,
		  "Per node: liveness, last seen, packets and rates; 64 per page. Parameter: first "
		  "index (optional)" },
		{ "/daitn/job_stats", tel_job_stats,
		  "Per job: slot occupancy and fates; 64 per page. Parameter: first job id "
		  "(optional)" },
	};

	tel_gw = gw;
	tel_ctl = c;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int rc = rte_telemetry_register_cmd(cmds[i].name, cmds[i].fn, cmds[i].help);

		if (rc != 0)
			return rc;
	}
	return 0;
}
