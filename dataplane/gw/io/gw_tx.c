/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TX buffering: every handler queues its frames with gw_tx_enqueue() (the
 * TX scheduler first, gw_txsched.c, when it takes them); the loop flushes
 * once per iteration. A data lcore's own state only: no locks.
 */
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "gw_priv.h"

static void tx_flush_port(struct gw_lcore *lc, unsigned p)
{
	struct gw_txbuf *tb = &lc->tx[p];
	uint16_t port_id = lc->gw->ports[p].id;
	uint16_t sent = 0;

	/* A few retries ride out a momentarily full descriptor ring; beyond
	 * that the copy is dropped and counted (the worker retransmits). */
	for (int tries = 0; tries < 4 && sent < tb->n; tries++)
		sent += rte_eth_tx_burst(port_id, (uint16_t)lc->shard, tb->m + sent,
					 (uint16_t)(tb->n - sent));
	gw_cnt_add(&lc->cnt.ev[GW_EV_TX], sent);
	if (unlikely(sent < tb->n)) {
		gw_cnt_add(&lc->cnt.fate[DP_DROP_TX_FULL], tb->n - sent);
		rte_pktmbuf_free_bulk(tb->m + sent, tb->n - sent);
	}
	tb->n = 0;
}

void gw_tx_enqueue(struct gw_lcore *lc, unsigned port, struct rte_mbuf *m)
{
	struct gw_txbuf *tb = &lc->tx[port];

	if (likely(gw_sched_enqueue(lc, port, m)))
		return;
	if (unlikely(tb->n == GW_TXBUF_SIZE))
		tx_flush_port(lc, port);
	tb->m[tb->n++] = m;
}

void gw_tx_flush(struct gw_lcore *lc)
{
	gw_sched_flush(lc);
	for (unsigned p = 0; p < lc->gw->n_ports; p++)
		if (lc->tx[p].n != 0)
			tx_flush_port(lc, p);
}
