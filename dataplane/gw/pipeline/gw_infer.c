/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The inference path on a data lcore: an activation is checked, routed by
 * placement (dp_route: admission, replica choice, affinity, liveness), its
 * headers rewritten in place and queued for TX in the model's scheduler leaf.
 * The last stage's output becomes a RESULT for the requester; a stage with
 * every replica down turns the message into an ERROR for the requester.
 *
 * Forwarded frames leave from this shard's UDP port, so a stage node's answer
 * (sent to where the activation came from) returns to this lcore and finds
 * the session's affinity entries here.
 */
#include <stdio.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf_dyn.h>
#include <rte_udp.h>

#include "gw_cp.h"
#include "gw_infer_priv.h"

void
gw_infer_lcore_sync(struct gw_lcore *lc, const struct gw_tables *t)
{
	struct gw_infer_lc *il = lc->infer;

	if (il == NULL)
		return;
	il->now_ns = gw_infer_now(lc->gw);
	if (t != NULL && t->infer != NULL && t->infer != il->cur)
		gw_sched_adopt(lc, t->infer);
}

/* A frame from policy node `node` on port: it must come from the address the
 * node's IP is bound to (gw_neigh.c). Then the node is alive: the time is
 * stored at most once a millisecond, so the line is not bounced on every
 * packet. Returns DP_DROP_NONE or the reason. */
static inline enum dp_drop
node_heard(const struct gw *gw, const struct gw_infer_tables *it, uint32_t node,
	   const struct rte_ether_addr *src, unsigned port, uint64_t now)
{
	enum dp_drop fate;

	if (node >= it->n_nodes)
		return DP_DROP_NONE;
	fate = gw_neigh_check(gw, it->neigh[node], src, port);
	if (unlikely(fate != DP_DROP_NONE))
		return fate;
	if (now - __atomic_load_n(&it->last_seen[node], __ATOMIC_RELAXED) > 1000000)
		__atomic_store_n(&it->last_seen[node], now, __ATOMIC_RELAXED);
	return DP_DROP_NONE;
}

static uint32_t
node_of_ip(const struct gw_infer_tables *it, uint32_t ip)
{
	uint32_t lo = 0, hi = it->n_nodes;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (it->by_ip[mid].ip == ip)
			return it->by_ip[mid].node;
		if (it->by_ip[mid].ip < ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return GW_INFER_NIL;
}

/*
 * Rewrite m (the received frame, one segment) as daitn message h with
 * payload_len bytes of payload already in place (after the header, or after
 * a tag's room for a keyed model: mk), addressed to ip:port (host order) of
 * node, tag it with mk if any, and queue it. to_sender: the destination is
 * the frame's sender (same MAC and port). Otherwise the node's IP must be
 * bound to an Ethernet address (gw_neigh.c): false, with m untouched, when
 * it is not.
 */
static bool
infer_send(struct gw_lcore *lc, const struct gw_infer_tables *it, struct rte_mbuf *m,
	   const struct dp_infer_hdr *hin, unsigned payload_len, uint32_t ip, uint16_t port,
	   uint32_t node, unsigned in_port, bool to_sender, const struct dp_auth_key *mk)
{
	struct dp_infer_hdr hv = *hin, *h = &hv;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *iph = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(iph + 1);
	uint64_t w = node < it->n_nodes ? atomic_load_explicit(&lc->gw->neigh[it->neigh[node]].word,
							       memory_order_relaxed) : 0;
	unsigned out = in_port;
	uint16_t l4;

	h->flags = (uint8_t)((h->flags & ~DP_INFER_FLAG_AUTH) | (mk != NULL ? DP_INFER_FLAG_AUTH : 0));
	l4 = (uint16_t)(sizeof(*udp) + dp_proto_infer_payload_off(h) + payload_len);

	if (to_sender) {
		/* Back to whoever sent m: its MAC is the frame's source. */
		eth->dst_addr = eth->src_addr;
	} else if (likely(w & GW_MAC_VALID) && gw_mac_port(w) < lc->gw->n_ports) {
		out = gw_mac_port(w);
		memcpy(eth->dst_addr.addr_bytes, &w, RTE_ETHER_ADDR_LEN);
	} else {
		/* Never to broadcast: activations are for their node only. */
		gw_cnt_add(&lc->infer->cnt[GW_INFER_MAC_UNKNOWN], 1);
		return false;
	}
	eth->src_addr = lc->gw->ports[out].mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	iph->version_ihl = 0x45;
	iph->type_of_service = 0;
	iph->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*iph) + l4));
	iph->packet_id = 0;
	iph->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	iph->time_to_live = 64;
	iph->next_proto_id = IPPROTO_UDP;
	iph->src_addr = lc->gw->ports[out].ip_be;
	iph->dst_addr = rte_cpu_to_be_32(ip);
	iph->hdr_checksum = 0;
	iph->hdr_checksum = rte_ipv4_cksum(iph);
	udp->src_port = rte_cpu_to_be_16((uint16_t)(lc->gw->udp_base + lc->shard));
	udp->dst_port = rte_cpu_to_be_16(port);
	udp->dgram_len = rte_cpu_to_be_16(l4);
	udp->dgram_cksum = 0;
	dp_proto_infer_write(udp + 1, h);
	if (mk != NULL) {
		uint8_t *dh = (uint8_t *)(udp + 1);

		dp_auth_tag_write(dh + DP_INFER_HDR_SIZE,
				  dp_auth_tag(mk, 0, dh, dh + DP_INFER_HDR_SIZE + 8, payload_len));
	}
	*RTE_MBUF_DYNFIELD(m, lc->gw->infer->stamp_off, uint64_t *) = lc->infer->now_ns;
	m->data_len = (uint16_t)(DP_PROTO_L2_L4_SIZE + l4 - sizeof(*udp));
	m->pkt_len = m->data_len;
	m->ol_flags = 0;
	gw_tx_enqueue(lc, out, m);
	return true;
}

/* Turn m into an ERROR for the requester (reply_ip:reply_port), tagged with
 * mk (a keyed model's) unless NULL. */
static enum dp_drop
infer_error(struct gw_lcore *lc, const struct gw_infer_tables *it, struct rte_mbuf *m,
	    struct dp_infer_hdr *h, uint16_t code, uint32_t reply_ip, uint16_t reply_port,
	    unsigned in_port, enum dp_drop fate, bool *consumed, const struct dp_auth_key *mk)
{
	unsigned off = DP_PROTO_FRAME_HDR_SIZE + (mk != NULL ? 8u : 0u);
	uint8_t *payload = rte_pktmbuf_mtod_offset(m, uint8_t *, off);
	char text[56];

	if (unlikely(m->nb_segs != 1 || m->buf_len < m->data_off + off +
						     sizeof(struct dp_infer_error)))
		return fate;
	snprintf(text, sizeof(text), code == DP_INFER_ERR_NO_REPLICA ?
		 "model %u stage %u: every replica is down" : "model %u: not in the policy",
		 h->model, h->stage);
	dp_proto_infer_error_write(payload, code, h->model, h->stage, text);
	h->type = DP_MSG_INFER_ERROR;
	h->reply_ip = reply_ip;
	h->reply_port = reply_port;
	if (!infer_send(lc, it, m, h, sizeof(struct dp_infer_error), reply_ip, reply_port,
			node_of_ip(it, reply_ip), in_port, h->stage == 0, mk))
		return fate;
	gw_cnt_add(&lc->infer->cnt[GW_INFER_ERRORS_SENT], 1);
	*consumed = true;
	return fate;
}

/* A keyed model's BEAT of node: its time (session field, ms) must be near the
 * gateway's and newer than the node's last accepted one (last_beat 0: none
 * yet; a time of 0 is taken as 1, so the two never meet). Per node (host):
 * the BEATs of two stage processes on one host share one clock and come in
 * its order; one that crosses another in flight is dropped, and the next,
 * a BEAT interval later, counts. */
static inline bool
beat_fresh(struct gw_lcore *lc, const struct gw_infer_tables *it, uint32_t node, uint32_t t_ms)
{
	uint32_t now = (uint32_t)gw_realtime_ms(lc->gw);
	uint32_t last = __atomic_load_n(&it->last_beat[node], __ATOMIC_RELAXED);
	int32_t skew = (int32_t)(t_ms - now);

	if (t_ms == 0)
		t_ms = 1;
	if (skew > GW_INFER_BEAT_SKEW_MS || skew < -GW_INFER_BEAT_SKEW_MS ||
	    (last != 0 && (int32_t)(t_ms - last) <= 0))
		return false;
	__atomic_store_n(&it->last_beat[node], t_ms, __ATOMIC_RELAXED);
	return true;
}

static enum dp_drop
infer_beat(struct gw_lcore *lc, const struct gw_infer_tables *it, const struct dp_infer_hdr *h,
	   const struct rte_ether_hdr *eth, uint32_t src_ip, uint16_t src_port, unsigned port,
	   uint32_t bytes, bool keyed)
{
	const struct dp_route_model *md = dp_route_model_find(it->route, h->model);
	const struct dp_route_stage *st = dp_route_stage_find(it->route, md, h->stage);
	enum dp_drop fate;
	uint32_t node;

	if (st == NULL)
		return DP_DROP_INFER_NOT_ADMITTED;
	node = dp_route_src_find(it->route, st->first_src, st->n_srcs, src_ip, src_port);
	if (node == DP_ROUTE_NONE)
		return DP_DROP_INFER_NOT_ADMITTED;
	/* The address first: a BEAT from another MAC must not use up a time
	 * the real node's next BEAT needs. */
	fate = gw_neigh_check(lc->gw, it->neigh[node], &eth->src_addr, port);
	if (fate != DP_DROP_NONE)
		return fate;
	if (keyed && !beat_fresh(lc, it, node, h->session))
		return DP_DROP_AUTH_REPLAY;
	fate = node_heard(lc->gw, it, node, &eth->src_addr, port, lc->infer->now_ns);
	if (fate != DP_DROP_NONE)
		return fate;
	gw_cp_node_seen(lc, node, bytes);
	return DP_DROP_INFER_BEAT;
}

enum dp_drop
gw_infer_pkt(struct gw_lcore *lc, const struct gw_tables *t, struct rte_mbuf *m,
	     struct rte_ipv4_hdr *ip, struct rte_udp_hdr *udp, unsigned udp_payload_len,
	     unsigned port, bool *consumed)
{
	struct gw_infer_lc *il = lc->infer;
	const struct gw_infer_tables *it = il->cur;
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct dp_auth_key *mk = NULL;
	const struct dp_route_model *md;
	struct dp_route_dest d;
	struct dp_route_msg rm;
	struct dp_infer_hdr h;
	enum dp_route_verdict v;
	enum dp_drop fate;
	unsigned payload;

	if (unlikely(t == NULL || it == NULL))
		return DP_DROP_INFER_UNKNOWN_MODEL;
	fate = dp_drop_of_check(dp_proto_infer_check(udp + 1, udp_payload_len, &h));
	if (unlikely(fate != DP_DROP_NONE))
		return fate;
	/* A keyed model's messages count only with its tag (docs/protocol.md
	 * section 11); what the gateway sends on is tagged anew. */
	md = dp_route_model_find(it->route, h.model);
	if (md != NULL && it->mkeys[md->policy_idx].keyed)
		mk = &it->mkeys[md->policy_idx].key;
	if (unlikely(mk != NULL || (h.flags & DP_INFER_FLAG_AUTH))) {
		const uint8_t *dh = (const uint8_t *)(udp + 1);

		if (mk == NULL)
			return DP_DROP_AUTH_BAD;
		if (!(h.flags & DP_INFER_FLAG_AUTH))
			return DP_DROP_AUTH_MISSING;
		if (!dp_auth_check(mk, 0, dh, dh + DP_INFER_HDR_SIZE, dh + DP_INFER_HDR_SIZE + 8,
				   udp_payload_len - DP_INFER_HDR_SIZE - 8))
			return DP_DROP_AUTH_BAD;
	}
	rm = (struct dp_route_msg){ .model = h.model, .stage = h.stage, .session = h.session,
		.src_ip = rte_be_to_cpu_32(ip->src_addr), .src_port = rte_be_to_cpu_16(udp->src_port),
		.reply_ip = h.reply_ip, .reply_port = h.reply_port };
	if (h.type == DP_MSG_INFER_BEAT)
		return infer_beat(lc, it, &h, eth, rm.src_ip, rm.src_port, port, m->pkt_len,
				  mk != NULL);
	if (h.type != DP_MSG_INFER_ACT)
		return DP_DROP_UNEXPECTED_MSG;
	payload = udp_payload_len - (unsigned)dp_proto_infer_payload_off(&h);
	v = dp_route_resolve(il->route, it->route, &it->live, il->now_ns, &rm, &d);
	if (d.src_node != DP_ROUTE_NONE) {
		fate = node_heard(lc->gw, it, d.src_node, &eth->src_addr, port, il->now_ns);
		if (unlikely(fate != DP_DROP_NONE))
			return fate;
		/* Admitted: the sender is alive; what is forwarded or replied
		 * is charged to the model tenant's rate (gw_cp.h). */
		if (!gw_cp_admit(lc, t->cp, d.model != NULL && (v == DP_ROUTE_FORWARD ||
				 v == DP_ROUTE_REPLY) ? d.model->tenant : UINT32_MAX, d.src_node,
				 m->pkt_len))
			return DP_DROP_RATE_LIMITED;
	}
	switch (v) {
	case DP_ROUTE_FORWARD:
		/* Stage 0: the gateway names the requester for every later hop. */
		h.reply_ip = d.reply_ip;
		h.reply_port = d.reply_port;
		if (!infer_send(lc, it, m, &h, payload, d.ip, d.port, d.node, port, false, mk))
			return DP_DROP_NEIGH_UNRESOLVED;
		*consumed = true;
		return DP_DROP_INFER_FORWARDED;
	case DP_ROUTE_REPLY:
		h.type = DP_MSG_INFER_RESULT;
		if (!infer_send(lc, it, m, &h, payload, d.ip, d.port, node_of_ip(it, d.ip), port,
				false, mk))
			return DP_DROP_NEIGH_UNRESOLVED;
		*consumed = true;
		return DP_DROP_INFER_REPLIED;
	case DP_ROUTE_NO_REPLICA:
		return infer_error(lc, it, m, &h, DP_INFER_ERR_NO_REPLICA, d.reply_ip,
				   d.reply_port, port, DP_DROP_INFER_NO_REPLICA, consumed, mk);
	case DP_ROUTE_UNKNOWN_MODEL:
		/* Answer only a would-be request (stage 0), to its sender. */
		if (h.stage == 0)
			return infer_error(lc, it, m, &h, DP_INFER_ERR_UNKNOWN_MODEL, d.reply_ip,
					   d.reply_port, port, DP_DROP_INFER_UNKNOWN_MODEL,
					   consumed, NULL);
		return DP_DROP_INFER_UNKNOWN_MODEL;
	case DP_ROUTE_BAD_STAGE:
		return DP_DROP_INFER_BAD_STAGE;
	case DP_ROUTE_BAD_REPLY:
		return DP_DROP_INFER_BAD_REPLY;
	default:
		return DP_DROP_INFER_NOT_ADMITTED;
	}
}
