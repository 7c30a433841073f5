/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inference tables per policy version, and their hand-over between versions.
 *
 * A version's schedulers are created empty on the control thread; each lcore
 * moves its queued packets into them when it first sees the version and then
 * acknowledges (acked_gen). The previous version is freed only when every
 * lcore that holds anything has acknowledged something newer: waiting for
 * the RCU grace period is not enough, because an lcore adopts at the start of
 * its next poll, after the quiescent state that ended the grace period. The
 * wait is bounded; a version not yet released is kept on a retired list and
 * freed at a later reload or at shutdown.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_mbuf_dyn.h>

#include "cp_plan.h"
#include "gw_infer_priv.h"

static const char *const cnt_names[GW_INFER_CNT_MAX] = {
#define GW_INFER_CNT_NAME_(name, str) [GW_INFER_##name] = str,
	GW_INFER_COUNTERS(GW_INFER_CNT_NAME_)
#undef GW_INFER_CNT_NAME_
};

const char *
gw_infer_cnt_name(enum gw_infer_cnt c)
{
	return (unsigned)c < GW_INFER_CNT_MAX ? cnt_names[c] : "invalid";
}

int
gw_infer_init(struct gw *gw)
{
	const char *mode = getenv("DAITN_TX_SCHED"), *rate = getenv("DAITN_TX_RATE_MBPS");
	unsigned k;

	gw->infer = calloc(1, sizeof(*gw->infer));
	if (gw->infer == NULL)
		goto fail;
	if (mode != NULL && strcmp(mode, "fifo") != 0 && strcmp(mode, "priority") != 0 &&
	    strcmp(mode, "off") != 0) {
		fprintf(stderr, "daitn-gw: DAITN_TX_SCHED=\"%s\": want \"priority\" (default), "
			"\"fifo\" or \"off\"\n", mode);
		return -EINVAL;
	}
	/* The configuration decides; the environment overrides it, so that
	 * benchmarks can compare modes on one configuration. */
	gw->infer->fifo = gw->cfg->tx_scheduler == CP_TX_SCHED_FIFO;
	gw->infer->off = gw->cfg->tx_scheduler == CP_TX_SCHED_OFF;
	gw->infer->rate_bps = (uint64_t)gw->cfg->tx_rate_mbps * 1000000ull;
	if (mode != NULL) {
		gw->infer->fifo = strcmp(mode, "fifo") == 0;
		gw->infer->off = strcmp(mode, "off") == 0;
	}
	if (rate != NULL) {
		char *end;
		unsigned long long mbps = strtoull(rate, &end, 10);

		if (*end != '\0' || mbps > 10000000) {
			fprintf(stderr, "daitn-gw: DAITN_TX_RATE_MBPS=\"%s\": want Mbit/s, "
				"0 .. 10000000\n", rate);
			return -EINVAL;
		}
		gw->infer->rate_bps = mbps * 1000000ull;
	}
	gw->infer->ns_per_tsc = 1e9 / (double)rte_get_tsc_hz();
	gw->infer->stamp_off = rte_mbuf_dynfield_register(&(struct rte_mbuf_dynfield){
		.name = "daitn_infer_rx_ns", .size = sizeof(uint64_t),
		.align = __alignof__(uint64_t) });
	if (gw->infer->stamp_off < 0) {
		fprintf(stderr, "daitn-gw: cannot register an mbuf field: %s\n",
			rte_strerror(rte_errno));
		return -ENOMEM;
	}
	for (k = 0; k < gw->n_lcores; k++) {
		struct dp_route_lcore_conf rc = { .lcore = k };
		struct gw_infer_lc *il = calloc(1, sizeof(*il));

		if (il == NULL)
			goto fail;
		gw->lcores[k]->infer = il;
		il->route = dp_route_lcore_create(&rc);
		il->map = calloc(GW_INFER_LEAVES_MAX, sizeof(*il->map));
		if (il->route == NULL || il->map == NULL)
			goto fail;
		atomic_init(&il->acked_gen, 0);
	}
	return 0;

fail:
	fprintf(stderr, "daitn-gw: out of memory for the inference state\n");
	return -ENOMEM;
}

void
gw_infer_tables_free(struct gw *gw, struct gw_infer_tables *it)
{
	unsigned k, p;

	if (it == NULL)
		return;
	/* Only at shutdown (or for a version that never got published) can an
	 * lcore still hold it: the lcores are stopped then, so let go of it
	 * for them, with what they had dequeued but not sent. */
	for (k = 0; k < gw->n_lcores; k++) {
		struct gw_infer_lc *il = gw->lcores[k]->infer;

		if (il == NULL || il->cur != it)
			continue;
		for (p = 0; p < CP_PORTS_MAX; p++) {
			if (il->n_pending[p] != 0)
				rte_pktmbuf_free_bulk(il->pending[p], il->n_pending[p]);
			il->n_pending[p] = 0;
			if (il->n_stage[p] != 0)
				rte_pktmbuf_free_bulk(il->stage[p], il->n_stage[p]);
			il->n_stage[p] = 0;
			il->sched[p] = NULL;
		}
		il->cur = NULL;
		atomic_store_explicit(&il->acked_gen, 0, memory_order_relaxed);
	}
	for (k = 0; k < gw->n_lcores; k++)
		for (p = 0; p < CP_PORTS_MAX; p++)
			if (it->sched[k][p] != NULL && dp_sched_free(it->sched[k][p]) != 0) {
				/* Not empty: only at shutdown, when the lcore that
				 * owned it is stopped; free what it holds. */
				void *m[64];
				unsigned n;

				while ((n = dp_sched_flush(it->sched[k][p], m, 64)) != 0)
					rte_pktmbuf_free_bulk((struct rte_mbuf **)m, n);
				dp_sched_free(it->sched[k][p]);
			}
	dp_route_table_free(it->route);
	dp_sched_plan_free(it->plan);
	free(it->job_leaf);
	free(it->model_leaf);
	free(it->last_seen);
	free(it->last_beat);
	free(it->mkeys);
	free(it->neigh);
	free(it->by_ip);
	free(it->up);
	free(it);
}

void
gw_infer_fini(struct gw *gw)
{
	unsigned k, i;

	if (gw->infer == NULL)
		return;
	for (k = 0; k < gw->n_lcores; k++) {
		struct gw_infer_lc *il = gw->lcores[k]->infer;

		if (il == NULL)
			continue;
		gw_sched_drain(gw->lcores[k]);
		dp_route_lcore_free(il->route);
		free(il->map);
		free(il);
		gw->lcores[k]->infer = NULL;
	}
	for (i = 0; i < gw->infer->n_retired; i++)
		gw_infer_tables_free(gw, gw->infer->retired[i]);
	free(gw->infer->retired);
	free(gw->infer);
	gw->infer = NULL;
}

static int
ip_cmp(const void *a, const void *b)
{
	const struct gw_infer_node_ip *x = a, *y = b;

	return x->ip < y->ip ? -1 : x->ip > y->ip;
}

/* The first class of a kind in the plan, as its default leaf. */
static uint32_t
kind_leaf(const struct dp_sched_plan *pl, enum dp_sched_kind kind)
{
	uint32_t i;

	for (i = 0; i < pl->conf.n_classes; i++)
		if (pl->class_kind[i] == kind)
			return pl->class_leaf[i];
	return pl->control_leaf;
}

static int
sched_build(struct gw *gw, struct gw_infer_tables *it)
{
	struct dp_sched_class_conf fifo_class = { .priority = 0, .weight = 1 };
	struct dp_sched_leaf_conf fifo_leaf = { .cls = 0, .weight = 1, .tenant = DP_SCHED_NONE,
		.queue_len = DP_SCHED_QUEUE_LEN_DEFAULT };
	struct dp_sched_conf conf = it->plan->conf;
	unsigned k, p;

	if (it->fifo) {
		/* One FIFO as deep as the deepest class queue: the baseline. */
		for (k = 0; k < it->plan->conf.n_leaves; k++)
			if (it->plan->conf.leaves[k].queue_len > fifo_leaf.queue_len)
				fifo_leaf.queue_len = it->plan->conf.leaves[k].queue_len;
		conf = (struct dp_sched_conf){ .n_classes = 1, .classes = &fifo_class,
			.n_leaves = 1, .leaves = &fifo_leaf };
	}
	if (gw->infer->off)
		return 0;
	conf.port_cap = (struct dp_sched_rate){ .rate = gw->infer->rate_bps / 8,
		.unit = DP_SCHED_UNIT_BYTES };
	conf.max_backlog = gw->cfg->mbufs ? gw->cfg->mbufs : 8192;
	it->n_sched_leaves = conf.n_leaves;
	for (k = 0; k < gw->n_lcores; k++)
		for (p = 0; p < gw->n_ports; p++) {
			it->sched[k][p] = dp_sched_create(&conf);
			if (it->sched[k][p] == NULL)
				return -errno;
		}
	return 0;
}

static const struct gw_infer_node_ip *
node_by_ip(const struct gw_infer_tables *it, uint32_t ip)
{
	const struct gw_infer_node_ip *e = bsearch(&(struct gw_infer_node_ip){ .ip = ip },
						   it->by_ip, it->n_nodes, sizeof(*it->by_ip),
						   ip_cmp);

	return e;
}

/* Nodes keep their liveness across versions (looked up by address): a
 * reload must not mark every stage down until it is heard from again. The
 * newer last-seen time wins. (Their MACs live in gw->neigh, which reloads
 * keep.) */
static void
nodes_carry(struct gw_infer_tables *it, const struct gw_infer_tables *oit)
{
	uint32_t i;

	for (i = 0; i < oit->n_nodes; i++) {
		const struct gw_infer_node_ip *e = node_by_ip(it, oit->by_ip[i].ip);
		uint32_t from = oit->by_ip[i].node;
		uint64_t seen;

		if (e == NULL)
			continue;
		seen = __atomic_load_n(&oit->last_seen[from], __ATOMIC_RELAXED);
		if (seen > __atomic_load_n(&it->last_seen[e->node], __ATOMIC_RELAXED))
			__atomic_store_n(&it->last_seen[e->node], seen, __ATOMIC_RELAXED);
		__atomic_store_n(&it->last_beat[e->node],
				 __atomic_load_n(&oit->last_beat[from], __ATOMIC_RELAXED),
				 __ATOMIC_RELAXED);
	}
}

int
gw_infer_tables_build(struct gw *gw, struct gw_tables *t, const struct gw_tables *old,
		      char *err, size_t err_size)
{
	const struct cp_policy *p = t->policy;
	struct gw_infer_tables *it;
	uint32_t i;
	int rc;

	(void)old;      /* nothing is carried at build time: see published */
	it = calloc(1, sizeof(*it));
	if (it == NULL)
		goto nomem;
	t->infer = it;          /* freed by gw_tables_free() on any failure */
	it->gen = t->gen;
	it->fifo = gw->infer->fifo;
	it->route = cp_plan_route_table(p, gw->n_lcores);
	if (it->route == NULL) {
		if (errno == ENOMEM)
			goto nomem;
		snprintf(err, err_size, "inference placements: a model without stages, a stage "
			 "without replicas or a zero weight");
		return -EINVAL;
	}
	rc = cp_plan_sched(p, 0, &it->plan, err, err_size);
	if (rc < 0)
		return rc;
	it->job_leaf = malloc(GW_INFER_IDS * sizeof(*it->job_leaf));
	it->model_leaf = malloc(GW_INFER_IDS * sizeof(*it->model_leaf));
	it->n_nodes = p->n_nodes;
	it->last_seen = calloc(p->n_nodes + 1, sizeof(*it->last_seen));
	it->last_beat = calloc(p->n_nodes + 1, sizeof(*it->last_beat));
	it->mkeys = calloc(p->n_models + 1, sizeof(*it->mkeys));
	it->neigh = calloc(p->n_nodes + 1, sizeof(*it->neigh));
	it->by_ip = calloc(p->n_nodes + 1, sizeof(*it->by_ip));
	it->up = malloc(((p->n_nodes + 63) / 64 + 1) * sizeof(*it->up));
	if (!it->job_leaf || !it->model_leaf || !it->last_seen || !it->last_beat || !it->mkeys || !it->neigh || !it->by_ip ||
	    !it->up)
		goto nomem;
	memset(it->job_leaf, 0xff, GW_INFER_IDS * sizeof(*it->job_leaf));
	memset(it->model_leaf, 0xff, GW_INFER_IDS * sizeof(*it->model_leaf));
	for (i = 0; i < it->plan->n_jobs; i++)
		it->job_leaf[it->plan->job_id[i]] = it->plan->job_leaf[i];
	for (i = 0; i < it->plan->n_models; i++)
		it->model_leaf[it->plan->model_id[i]] = it->plan->model_leaf[i];
	it->control_leaf = it->plan->control_leaf;
	it->training_leaf = kind_leaf(it->plan, DP_SCHED_KIND_TRAINING);
	it->inference_leaf = kind_leaf(it->plan, DP_SCHED_KIND_INFERENCE);
	for (i = 0; i < p->n_nodes; i++) {
		it->by_ip[i] = (struct gw_infer_node_ip){ .ip = p->nodes[i].ip, .node = i };
		it->neigh[i] = t->node_neigh[i];
	}
	for (i = 0; i < p->n_models; i++) {
		it->mkeys[i].keyed = p->models[i].keyed;
		if (p->models[i].keyed)
			dp_auth_key_set(&it->mkeys[i].key, p->models[i].key, DP_AUTH_COVER_PAYLOAD);
	}
	qsort(it->by_ip, p->n_nodes, sizeof(*it->by_ip), ip_cmp);
	memset(it->up, 0xff, ((p->n_nodes + 63) / 64 + 1) * sizeof(*it->up));
	it->live = (struct dp_route_live){ .up = it->up, .n_nodes = p->n_nodes,
		.last_seen_ns = it->last_seen,
		.timeout_ns = (uint64_t)p->node_timeout_ms * 1000000ull };
	rc = sched_build(gw, it);
	if (rc == -ENOMEM)
		goto nomem;
	if (rc < 0) {
		snprintf(err, err_size, "TX scheduler: invalid class or tenant rates");
		return rc;
	}
	/* Published with what the running version knows of its nodes, so that
	 * no replica looks down and no requester's MAC is unknown after the
	 * switch; gw_infer_published() adds what was learnt meanwhile. */
	if (old != NULL && old->infer != NULL)
		nodes_carry(it, old->infer);
	return 0;

nomem:
	snprintf(err, err_size, "out of memory building the inference tables");
	return -ENOMEM;
}

/* True when no lcore holds version gen any more (each either holds nothing
 * or acknowledged a newer one). */
static bool
released(const struct gw *gw, uint64_t gen)
{
	unsigned k;

	for (k = 0; k < gw->n_lcores; k++) {
		uint64_t a = atomic_load_explicit(&gw->lcores[k]->infer->acked_gen,
						  memory_order_acquire);

		if (a != 0 && a <= gen)
			return false;
	}
	return true;
}

static void
retired_reap(struct gw *gw)
{
	struct gw_infer *gi = gw->infer;
	unsigned i, keep = 0;

	for (i = 0; i < gi->n_retired; i++) {
		if (released(gw, gi->retired[i]->gen))
			gw_infer_tables_free(gw, gi->retired[i]);
		else
			gi->retired[keep++] = gi->retired[i];
	}
	gi->n_retired = keep;
}

void
gw_infer_published(struct gw *gw, struct gw_tables *t, struct gw_tables *old)
{
	struct gw_infer_tables **r;
	uint64_t deadline;

	if (old != NULL && old->infer != NULL)
		nodes_carry(t->infer, old->infer);
	retired_reap(gw);
	if (old == NULL || old->infer == NULL)
		return;
	/* Running lcores adopt within a poll; do not wait for lcores that are
	 * not (a test driving the pipeline adopts at its next poll). */
	if (gw->launched) {
		const struct timespec pause = { 0, 100000 };

		deadline = gw_infer_now(gw) + GW_INFER_ACK_WAIT_NS;
		while (!released(gw, old->infer->gen) && gw_infer_now(gw) < deadline)
			nanosleep(&pause, NULL);
	}
	if (released(gw, old->infer->gen))
		return;         /* gw_tables_free(old) frees it */
	r = realloc(gw->infer->retired, (gw->infer->n_retired + 1) * sizeof(*r));
	if (r == NULL) {
		/* Cannot track it: leak it rather than free what an lcore uses. */
		GW_LOG(ERR, "cannot retire inference tables of generation %llu\n",
		       (unsigned long long)old->infer->gen);
	} else {
		gw->infer->retired = r;
		r[gw->infer->n_retired++] = old->infer;
	}
	old->infer = NULL;
}

void
gw_infer_stats_read(const struct gw *gw, int shard, uint64_t out[GW_INFER_CNT_MAX])
{
	unsigned k, i;

	memset(out, 0, GW_INFER_CNT_MAX * sizeof(uint64_t));
	for (k = 0; k < gw->n_lcores; k++) {
		const struct gw_infer_lc *il = gw->lcores[k]->infer;

		if (il == NULL || (shard >= 0 && (unsigned)shard != k))
			continue;
		for (i = 0; i < GW_INFER_CNT_MAX; i++)
			out[i] += __atomic_load_n(&il->cnt[i], __ATOMIC_RELAXED);
	}
}
