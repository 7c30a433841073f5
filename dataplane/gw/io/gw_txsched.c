/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Priority TX: every packet the gateway sends goes through the lcore's
 * scheduler for its port (dataplane/sched), classified by its own headers so
 * the call sites need not know about classes: ARP, ICMP, HELLO_ACK and
 * ERROR are control; GRAD/RESULT of job j go to j's leaf, in the band of
 * their layer-priority hint; inference messages of model m to m's leaf.
 *
 * Only what the PMD takes is dequeued: a burst it refuses in part stays in a
 * small per-port pending array and goes first at the next flush, so packets
 * wait in the scheduler, in priority order, not in a FIFO behind it.
 */
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf_dyn.h>

#include "gw_infer_priv.h"

#define FLUSH_BURSTS 8          /* per port and poll: RX is not starved */

/* Leaf and band of a frame the gateway built (Ethernet | IPv4 without
 * options | UDP | daitn header, all in the first segment). */
static inline void
classify(const struct gw_infer_tables *it, const struct rte_mbuf *m, uint32_t *leaf,
	 uint8_t *band)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint8_t *h = f + DP_PROTO_L2_L4_SIZE;
	uint16_t id;
	uint32_t l;

	*leaf = it->control_leaf;
	*band = DP_SCHED_BANDS - 1;
	if (it->fifo) {
		*leaf = 0;
		return;
	}
	if (m->data_len < DP_PROTO_FRAME_HDR_SIZE || f[12] != 0x08 || f[13] != 0x00 ||
	    f[23] != IPPROTO_UDP || h[0] != (DP_PROTO_MAGIC >> 8) ||
	    h[1] != (DP_PROTO_MAGIC & 0xff))
		return;
	id = (uint16_t)(h[4] << 8 | h[5]);
	if (h[3] == DP_MSG_GRAD || h[3] == DP_MSG_RESULT) {
		l = it->job_leaf[id];
		*leaf = l != GW_INFER_NIL ? l : it->training_leaf;
		*band = dp_sched_band(h[11]);
	} else if (h[3] == DP_MSG_INFER_ACT || h[3] == DP_MSG_INFER_RESULT) {
		l = it->model_leaf[id];
		*leaf = l != GW_INFER_NIL ? l : it->inference_leaf;
		*band = dp_sched_band(h[7]);
	}
}

/* Queue the frames staged for port p in its scheduler, in one call. */
static void
stage_flush(struct gw_infer_lc *il, unsigned p)
{
	struct dp_sched_pkt in[GW_TXBUF_SIZE];
	void *dropped[GW_TXBUF_SIZE];
	unsigned i, n = il->n_stage[p], k;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = il->stage[p][i];

		in[i].pkt = m;
		in[i].len = m->pkt_len;
		classify(il->cur, m, &in[i].leaf, &in[i].band);
	}
	k = dp_sched_enqueue(il->sched[p], in, n, dropped);
	if (unlikely(k != 0)) {
		rte_pktmbuf_free_bulk((struct rte_mbuf **)dropped, k);
		gw_cnt_add(&il->cnt[GW_INFER_TX_SCHED_DROPS], k);
	}
	il->n_stage[p] = 0;
}

/* Frames are staged and queued in batches at flush time (same poll, so no
 * added delay): one classification loop and one dp_sched_enqueue call per
 * port and poll instead of one per frame. */
bool
gw_sched_enqueue(struct gw_lcore *lc, unsigned port, struct rte_mbuf *m)
{
	struct gw_infer_lc *il = lc->infer;

	if (unlikely(il == NULL || il->cur == NULL || il->sched[port] == NULL))
		return false;
	if (unlikely(il->n_stage[port] == GW_TXBUF_SIZE))
		stage_flush(il, port);
	il->stage[port][il->n_stage[port]++] = m;
	return true;
}

/* Record the gateway sojourn of the inference frames the PMD took. */
static inline void
sojourn_note(struct gw_lcore *lc, struct gw_infer_lc *il, struct rte_mbuf **pkts, unsigned n,
	     uint64_t now)
{
	int off = lc->gw->infer->stamp_off;
	unsigned i;

	for (i = 0; i < n; i++) {
		const uint8_t *f = rte_pktmbuf_mtod(pkts[i], const uint8_t *);
		uint64_t t, *c;

		if (pkts[i]->data_len < DP_PROTO_FRAME_HDR_SIZE ||
		    f[DP_PROTO_L2_L4_SIZE] != (DP_PROTO_MAGIC >> 8) ||
		    !dp_proto_infer_is_infer(f[DP_PROTO_L2_L4_SIZE + 3]))
			continue;
		t = *RTE_MBUF_DYNFIELD(pkts[i], off, uint64_t *);
		c = &il->sojourn[gw_sojourn_bucket(now > t ? now - t : 0)];
		__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
	}
}

/*
 * The fast path: nothing queued, nothing pending, no cap. The scheduler would
 * hand this poll's frames out at once in (level, band) order, so send them
 * in that order now and queue only what the PMD refuses (which then waits
 * in priority order). Saves the enqueue/dequeue of an uncongested port.
 */
static void
direct_send(struct gw_lcore *lc, struct gw_infer_lc *il, unsigned p, uint64_t now)
{
	uint16_t port_id = lc->gw->ports[p].id, q = (uint16_t)lc->shard;
	struct dp_sched_pkt in[GW_TXBUF_SIZE];
	struct rte_mbuf *pkts[GW_TXBUF_SIZE];
	void *dropped[GW_TXBUF_SIZE];
	unsigned i, n = il->n_stage[p], sent, k;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = il->stage[p][i];

		in[i].pkt = m;
		in[i].len = m->pkt_len;
		classify(il->cur, m, &in[i].leaf, &in[i].band);
	}
	dp_sched_order_direct(il->sched[p], in, n);
	for (i = 0; i < n; i++)
		pkts[i] = in[i].pkt;
	il->n_stage[p] = 0;
	sent = rte_eth_tx_burst(port_id, q, pkts, (uint16_t)n);
	gw_cnt_add(&lc->cnt.ev[GW_EV_TX], sent);
	sojourn_note(lc, il, pkts, sent, now);
	dp_sched_count_direct(il->sched[p], in, sent);
	if (sent == n)
		return;
	k = dp_sched_enqueue(il->sched[p], in + sent, n - sent, dropped);
	if (unlikely(k != 0)) {
		rte_pktmbuf_free_bulk((struct rte_mbuf **)dropped, k);
		gw_cnt_add(&il->cnt[GW_INFER_TX_SCHED_DROPS], k);
	}
}

static void
port_flush(struct gw_lcore *lc, struct gw_infer_lc *il, unsigned p, uint64_t now)
{
	uint16_t port_id = lc->gw->ports[p].id, q = (uint16_t)lc->shard, sent;
	struct rte_mbuf *pkts[GW_BURST_MAX];
	unsigned r, n;

	if (il->n_stage[p] != 0) {
		if (il->n_pending[p] == 0 && dp_sched_backlog(il->sched[p]) == 0 &&
		    !dp_sched_capped(il->sched[p])) {
			direct_send(lc, il, p, now);
			return;
		}
		stage_flush(il, p);
	}

	if (il->n_pending[p] != 0) {
		sent = rte_eth_tx_burst(port_id, q, il->pending[p], il->n_pending[p]);
		gw_cnt_add(&lc->cnt.ev[GW_EV_TX], sent);
		sojourn_note(lc, il, il->pending[p], sent, now);
		if (sent < il->n_pending[p]) {
			memmove(il->pending[p], il->pending[p] + sent,
				(il->n_pending[p] - sent) * sizeof(il->pending[p][0]));
			il->n_pending[p] = (uint16_t)(il->n_pending[p] - sent);
			return;
		}
		il->n_pending[p] = 0;
	}
	for (r = 0; r < FLUSH_BURSTS; r++) {
		n = dp_sched_dequeue(il->sched[p], now, (void **)pkts, NULL, lc->burst);
		if (n == 0)
			return;
		sent = rte_eth_tx_burst(port_id, q, pkts, (uint16_t)n);
		gw_cnt_add(&lc->cnt.ev[GW_EV_TX], sent);
		sojourn_note(lc, il, pkts, sent, now);
		if (sent < n) {
			memcpy(il->pending[p], pkts + sent, (n - sent) * sizeof(pkts[0]));
			il->n_pending[p] = (uint16_t)(n - sent);
			gw_cnt_add(&il->cnt[GW_INFER_TX_PENDING], n - sent);
			return;
		}
	}
}

void
gw_sched_flush(struct gw_lcore *lc)
{
	struct gw_infer_lc *il = lc->infer;
	uint64_t now;
	unsigned p;

	if (il == NULL || il->cur == NULL)
		return;
	now = gw_infer_now(lc->gw);
	for (p = 0; p < lc->gw->n_ports; p++)
		if (il->sched[p] != NULL)
			port_flush(lc, il, p, now);
}

void
gw_sched_adopt(struct gw_lcore *lc, const struct gw_infer_tables *it)
{
	struct gw_infer_lc *il = lc->infer;
	const struct gw_infer_tables *old = il->cur;
	unsigned p, i, n;

	if (old != NULL && il->sched[0] != NULL && it->sched[lc->shard][0] != NULL) {
		/* Leaf correspondence computed here, once per reload: the
		 * lcore may have skipped versions, so only it knows which
		 * plan its packets were queued under. */
		if (it->fifo || old->fifo)
			for (i = 0; i < old->n_sched_leaves; i++)
				il->map[i] = it->fifo ? 0 : it->control_leaf;
		else
			dp_sched_plan_leaf_map(old->plan, it->plan, il->map);
		for (p = 0; p < lc->gw->n_ports; p++) {
			uint32_t before, lost = 0;

			if (il->n_stage[p] != 0)
				stage_flush(il, p);
			before = dp_sched_backlog(il->sched[p]);

			do {
				n = dp_sched_move(it->sched[lc->shard][p], il->sched[p], il->map,
						  il->move_drops, RTE_DIM(il->move_drops));
				rte_pktmbuf_free_bulk((struct rte_mbuf **)il->move_drops, n);
				lost += n;
			} while (dp_sched_backlog(il->sched[p]) != 0);
			gw_cnt_add(&il->cnt[GW_INFER_SCHED_MOVED], before - lost);
			gw_cnt_add(&il->cnt[GW_INFER_SCHED_MOVE_DROPS], lost);
		}
	}
	for (p = 0; p < lc->gw->n_ports; p++)
		il->sched[p] = it->sched[lc->shard][p];
	il->cur = it;
	atomic_store_explicit(&il->acked_gen, it->gen, memory_order_release);
}

void
gw_sched_drain(struct gw_lcore *lc)
{
	struct gw_infer_lc *il = lc->infer;
	void *m[64];
	unsigned p, n;

	for (p = 0; p < CP_PORTS_MAX; p++) {
		if (il->n_pending[p] != 0)
			rte_pktmbuf_free_bulk(il->pending[p], il->n_pending[p]);
		il->n_pending[p] = 0;
		if (il->n_stage[p] != 0)
			rte_pktmbuf_free_bulk(il->stage[p], il->n_stage[p]);
		il->n_stage[p] = 0;
		if (il->sched[p] == NULL)
			continue;
		while ((n = dp_sched_flush(il->sched[p], m, RTE_DIM(m))) != 0)
			rte_pktmbuf_free_bulk((struct rte_mbuf **)m, n);
	}
}
