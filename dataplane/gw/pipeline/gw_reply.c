/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Small answers sent back in the frame that asked (gw_priv.h): the frame is
 * turned around to its sender, its daitn header rewritten and, for a keyed
 * job, tagged. The join answers (gw_hello.c) and the answers to GRADs that
 * cannot be aggregated (ERROR run_ended or round_closed, WAITING) are built
 * here or on it.
 */
#include <stdio.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_udp.h>

#include "gw_cp.h"
#include "gw_priv.h"

uint8_t *gw_reply_payload(struct rte_mbuf *m, const struct gw_job *signer)
{
	return rte_pktmbuf_mtod_offset(m, uint8_t *, DP_PROTO_FRAME_HDR_SIZE +
				       (signer != NULL ? DP_PROTO_TAG_SIZE : 0));
}

void gw_reply_send(struct gw_lcore *lc, struct rte_mbuf *m, unsigned port,
		   struct dp_proto_hdr *rh, uint16_t payload, const struct gw_job *signer,
		   uint64_t context)
{
	const struct gw_port *gp = &lc->gw->ports[port];
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint8_t *dh = (uint8_t *)(udp + 1);
	uint16_t sport;

	if (signer != NULL)
		rh->flags |= DP_PROTO_FLAG_AUTH;
	dp_proto_hdr_write(dh, rh);
	if (signer != NULL) {
		dp_auth_tag_write(dh + DP_PROTO_HDR_SIZE,
				  dp_auth_tag(&signer->key, context, dh, dh + DP_PROTO_HDR_SIZE +
					      DP_PROTO_TAG_SIZE, payload));
		payload += DP_PROTO_TAG_SIZE;
	}
	eth->dst_addr = eth->src_addr;
	eth->src_addr = gp->mac;
	ip->dst_addr = ip->src_addr;
	ip->src_addr = gp->ip_be;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + sizeof(*udp) +
						       DP_PROTO_HDR_SIZE + payload));
	ip->packet_id = 0;
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	sport = udp->src_port;
	udp->src_port = udp->dst_port;
	udp->dst_port = sport;
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + DP_PROTO_HDR_SIZE + payload));
	udp->dgram_cksum = 0;
	m->data_len = (uint16_t)(DP_PROTO_L2_L4_SIZE + DP_PROTO_HDR_SIZE + payload);
	m->pkt_len = m->data_len;
	m->ol_flags = 0;
	gw_tx_enqueue(lc, port, m);
}

struct dp_proto_hdr gw_reply_hdr(const struct dp_proto_hdr *h, uint8_t type, uint8_t dtype)
{
	struct dp_proto_hdr rh = *h;

	rh.type = type;
	rh.dtype = dtype;
	rh.slot = 0;
	rh.flags = 0;
	rh.count = 0;
	return rh;
}

void gw_reply_grad_error(struct gw_lcore *lc, const struct gw_job *job, struct rte_mbuf *m,
			 const struct dp_proto_hdr *h, uint16_t code, uint32_t round_now,
			 unsigned port, bool *consumed)
{
	struct dp_proto_hdr rh = gw_reply_hdr(h, DP_MSG_ERROR, 0);
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *,
								 sizeof(struct rte_ether_hdr));
	const struct gw_job *signer = job->keyed ? job : NULL;
	uint8_t e[sizeof(struct dp_proto_error)];
	uint16_t n = (uint16_t)RTE_MIN((size_t)gw_job_payload_bytes(job, h->count), sizeof(e));
	char text[sizeof(((struct dp_proto_error *)0)->text)];

	/* No larger than what it answers (no amplification): the ERROR is cut
	 * to the GRAD's payload size (at least its code), in the GRAD's own
	 * segment, and within the reply rate limits; only then is the text
	 * written. */
	if (m->nb_segs != 1 || n < DP_PROTO_ERROR_MIN ||
	    !gw_cp_reply_ok(lc, ip->src_addr, ((const struct rte_udp_hdr *)(ip + 1))->src_port))
		return;
	if (code == DP_ERR_ROUND_CLOSED) {
		/* Where the job is now: the worker's next call goes there. */
		rh.offset = round_now;
		snprintf(text, sizeof(text), "job %u: round %u closed without you; now %u",
			 h->job, h->round, round_now);
	} else {
		snprintf(text, sizeof(text), "job %u: no run on; rejoin with HELLO", h->job);
	}
	dp_proto_error_write(e, code, text);
	memcpy(gw_reply_payload(m, signer), e, n);
	/* Tagged under the run's salt, as its GRADs were: an ERROR recorded
	 * now is worthless in any other run. */
	gw_reply_send(lc, m, port, &rh, n, signer,
		   signer != NULL ? atomic_load_explicit(&job->inst->salt, memory_order_relaxed) : 0);
	*consumed = true;
}

void gw_reply_waiting(struct gw_lcore *lc, const struct gw_job *job, struct rte_mbuf *m,
		      const struct dp_proto_hdr *h, const struct dp_slot_set *s, unsigned port,
		      bool *consumed)
{
	struct dp_proto_hdr rh = gw_reply_hdr(h, DP_MSG_WAITING, h->dtype);
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *,
								 sizeof(struct rte_ether_hdr));
	const struct gw_job *signer = job->keyed ? job : NULL;
	struct dp_proto_join_wait w = { .n_workers = job->n_workers, .n_joined = s->seen };
	uint8_t buf[sizeof(w)];
	uint16_t n = (uint16_t)RTE_MIN((size_t)h->count * job->k->esize, sizeof(buf));
	unsigned listed = 0;

	/* No larger than the GRAD, within the reply limits: a rank resends
	 * every few milliseconds while it waits, and so can a flood. */
	if (m->nb_segs != 1 || n < DP_PROTO_WAITING_MIN ||
	    !gw_cp_reply_ok(lc, ip->src_addr, ((const struct rte_udp_hdr *)(ip + 1))->src_port))
		return;
	rh.slot = h->slot;
	for (uint16_t r = 0; r < job->n_workers && listed < DP_PROTO_WAIT_LIST; r++)
		if (!(s->bitmap[r / 64] & (1ull << (r % 64))))
			w.missing[listed++] = r;
	while (listed < DP_PROTO_WAIT_LIST)
		w.missing[listed++] = DP_PROTO_RANK_NONE;
	dp_proto_join_wait_write(buf, &w);
	memcpy(gw_reply_payload(m, signer), buf, n);
	gw_reply_send(lc, m, port, &rh, n, signer,
		   signer != NULL ? atomic_load_explicit(&job->inst->salt, memory_order_relaxed) : 0);
	gw_cnt_add(&lc->cnt.ev[GW_EV_WAITING_SENT], 1);
	*consumed = true;
}
