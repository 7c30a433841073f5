/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-packet classification: Ethernet -> ARP | IPv4 -> ICMP | UDP -> shard
 * steering -> daitn header -> job checks -> slot machine (gw_agg.c).
 *
 * Every received frame ends in exactly one counted fate (dp_drop.h), except
 * a frame handed to its owner shard, which that shard counts. Checks read
 * only bytes inside the first segment's data_len: a frame whose IP length
 * runs past it is a bad header whatever the reason (truncated or chained).
 */
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_prefetch.h>
#include <rte_udp.h>

#include "dp_proto_infer.h"
#include "gw_cp.h"
#include "gw_priv.h"

#define PREFETCH_AHEAD 4

/* The IPv4 header sum over 20 bytes is 0xffff for a valid header: five
 * 32-bit adds and a fold (the sum is the same in any word size). */
static inline bool ipv4_csum_ok(const struct rte_ipv4_hdr *ip)
{
	uint32_t w[5];
	uint64_t s;

	memcpy(w, ip, sizeof(w));
	s = (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4];
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return s == 0xffff;
}

static inline uint16_t be16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * The common case, a well-formed GRAD, accepted with a few wide compares. It
 * accepts a subset of what dp_proto_hdr_check() accepts; anything else
 * (other types, every malformed header) goes to dp_proto_hdr_check(), which
 * names the reason.
 */
static inline bool grad_check_fast(const uint8_t *p, size_t len, struct dp_proto_hdr *h)
{
	uint32_t head;
	unsigned esize;

	if (unlikely(len < DP_PROTO_HDR_SIZE))
		return false;
	memcpy(&head, p, sizeof(head));
	/* Bytes DA 17 02 01: magic, version, type GRAD. */
	if (head != rte_cpu_to_be_32((uint32_t)DP_PROTO_MAGIC << 16 | DP_PROTO_VERSION << 8 |
				     DP_MSG_GRAD))
		return false;
	h->dtype = p[10];
	h->flags = p[11];
	/* A ranks trailer (a partial job's GRAD) sizes itself: the codec
	 * checks that length. */
	if ((unsigned)h->dtype - DP_DTYPE_F32 > DP_DTYPE_F16 - DP_DTYPE_F32 ||
	    (h->flags & (DP_PROTO_FLAG_RESERVED_MASK | DP_PROTO_FLAG_RANKS)) != 0)
		return false;
	esize = h->dtype <= DP_DTYPE_I32 ? 4 : 2;
	h->count = be16_at(p + 12);
	if (h->count == 0 || (size_t)h->count * esize > DP_PROTO_CHUNK_SIZE_MAX ||
	    len != DP_PROTO_HDR_SIZE + (h->flags & DP_PROTO_FLAG_AUTH ? DP_PROTO_TAG_SIZE : 0) +
		   (size_t)h->count * esize)
		return false;
	h->magic = DP_PROTO_MAGIC;
	h->version = DP_PROTO_VERSION;
	h->type = DP_MSG_GRAD;
	h->job = be16_at(p + 4);
	h->rank = be16_at(p + 6);
	h->slot = be16_at(p + 8);
	h->offset = (uint32_t)be16_at(p + 14) << 16 | be16_at(p + 16);
	h->round = (uint32_t)be16_at(p + 18) << 16 | be16_at(p + 20);
	return true;
}

static enum dp_drop pkt_arp(struct gw_lcore *lc, struct rte_mbuf *m, unsigned port,
			    bool *consumed)
{
	const struct gw_port *gp = &lc->gw->ports[port];
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	enum dp_drop fate;
	uint32_t sip;

	if (m->data_len < sizeof(*eth) + sizeof(*arp))
		return DP_DROP_ARP_IGNORED;
	if (arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4)
		return DP_DROP_ARP_IGNORED;
	/* Any ARP may concern a neighbour: a reply we asked for binds it;
	 * one naming another address for a bound node is counted. A request
	 * for our address is answered as well, and binds nothing. */
	fate = gw_neigh_arp(lc, eth, arp, port);
	if (arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST) || arp->arp_data.arp_tip != gp->ip_be)
		return fate;

	/* Answer in place: the request becomes the reply. */
	sip = arp->arp_data.arp_sip;
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_tha = arp->arp_data.arp_sha;
	arp->arp_data.arp_tip = sip;
	arp->arp_data.arp_sha = gp->mac;
	arp->arp_data.arp_sip = gp->ip_be;
	eth->dst_addr = eth->src_addr;
	eth->src_addr = gp->mac;
	m->ol_flags = 0;
	gw_tx_enqueue(lc, port, m);
	*consumed = true;
	return DP_DROP_ARP_REPLIED;
}

static enum dp_drop pkt_icmp(struct gw_lcore *lc, struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
			     unsigned ip_len, unsigned port, bool *consumed)
{
	const struct gw_port *gp = &lc->gw->ports[port];
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);
	uint32_t sum;

	if (ip_len < sizeof(*ip) + sizeof(*icmp) || icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST ||
	    icmp->icmp_code != 0)
		return DP_DROP_IP_NOT_UDP;
	/* The reply's sum is derived from the request's: check it first. */
	if (rte_raw_cksum(icmp, ip_len - sizeof(*ip)) != 0xffff)
		return DP_DROP_ICMP_BAD_CHECKSUM;
	if (!gw_cp_reply_ok(lc, ip->src_addr, 0))
		return DP_DROP_RATE_LIMITED;

	/* Echo reply in place. Type 8 -> 0 changes one 16-bit word by 0x0800
	 * (RFC 1624 incremental update); the payload is echoed untouched. */
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	sum = (uint32_t)(uint16_t)~rte_be_to_cpu_16(icmp->icmp_cksum) + 0xf7ffu;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	icmp->icmp_cksum = rte_cpu_to_be_16((uint16_t)~sum);
	ip->dst_addr = ip->src_addr;
	ip->src_addr = gp->ip_be;
	ip->time_to_live = 64;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	eth->dst_addr = eth->src_addr;
	eth->src_addr = gp->mac;
	/* Exactly the IP datagram back: no Ethernet padding or trailing bytes. */
	m->data_len = (uint16_t)(sizeof(*eth) + ip_len);
	m->pkt_len = m->data_len;
	m->ol_flags = 0;
	gw_tx_enqueue(lc, port, m);
	*consumed = true;
	return DP_DROP_ICMP_REPLIED;
}

/*
 * True if round is further ahead than any worker of the run can be: a worker
 * sends round r + 1 only once the gateway has completed round r, so nothing
 * honest is past one after the newest round the job completed (or its run's
 * base). The common case reads this lcore's state only; the others' are read
 * when a call's chunks completed on another shard.
 */
static inline bool round_ahead(const struct gw *gw, const struct gw_job *job,
			       const struct gw_job_lc *jl, uint32_t round, uint32_t base)
{
	if (likely((int32_t)(round - gw_run_next(jl, base)) <= 0))
		return false;
	for (unsigned k = 0; k < gw->n_lcores; k++)
		if ((int32_t)(round - gw_run_next(job->inst->lc[k], base)) <= 0)
			return false;
	return true;
}

/* A GRAD's tag against its job's key and run (dp_auth.h): DP_DROP_NONE or
 * the reason. The run's salt is read after the run word (acquire). */
static enum dp_drop grad_auth(const struct gw_job *job, const struct dp_proto_hdr *h,
			      const void *hdr, const uint8_t *payload)
{
	if (!job->keyed)
		return DP_DROP_AUTH_BAD;
	if (!(h->flags & DP_PROTO_FLAG_AUTH))
		return DP_DROP_AUTH_MISSING;
	if (!dp_auth_check(&job->key, atomic_load_explicit(&job->inst->salt, memory_order_relaxed),
			   hdr, (const uint8_t *)hdr + DP_PROTO_HDR_SIZE, payload,
			   gw_job_payload_bytes(job, h->count)))
		return DP_DROP_AUTH_BAD;
	return DP_DROP_NONE;
}

/* A fedavg job's chunk ends in its contributor's weight (docs/protocol.md
 * section 5): at least one element before it, and a positive finite value
 * (sign clear, exponent not all ones, not zero), tested on its bits. A
 * zero, negative, infinite or NaN weight would make its use's mean
 * meaningless for every rank. */
static inline bool weight_ok(const struct gw_job *job, const uint8_t *payload, uint16_t count)
{
	const uint8_t *w;

	if (unlikely(count < 2))
		return false;
	w = payload + (size_t)(count - 1) * job->k->esize;
	if (job->k->esize == 4) {
		uint32_t b;

		memcpy(&b, w, 4);
		return (b >> 31) == 0 && (b >> 23) != 0xff && b != 0;
	}
	uint16_t b;

	memcpy(&b, w, 2);
	if (job->dtype == DP_DTYPE_F16)
		return (b >> 15) == 0 && (b >> 10) != 0x1f && b != 0;
	return (b >> 15) == 0 && (b >> 7) != 0xff && b != 0;
}

/* The job-level checks of a GRAD (docs/protocol.md, section 3). */
static enum dp_drop pkt_grad(struct gw_lcore *lc, const struct gw_tables *t,
			     struct rte_mbuf *m, const struct rte_ipv4_hdr *ip,
			     const struct rte_udp_hdr *udp, const struct dp_proto_hdr *h,
			     unsigned port, bool *consumed)
{
	const struct gw_job *job = t != NULL ? gw_tables_job(t, h->job) : NULL;
	const struct gw_addr *w;
	const uint8_t *payload;
	struct gw_job_lc *jl;
	enum dp_drop fate;
	uint32_t idx, local;
	uint64_t run;

	if (unlikely(job == NULL))
		return DP_DROP_JOB_UNKNOWN;
	jl = job->inst->lc[lc->shard];
	if (unlikely(h->rank >= job->n_workers)) {
		fate = DP_DROP_RANK_INVALID;
		goto job_fate;
	}
	w = &job->workers[h->rank];
	if (unlikely(w->ip_be != ip->src_addr || w->port_be != udp->src_port)) {
		fate = DP_DROP_SOURCE_NOT_ADMITTED;
		goto job_fate;
	}
	/* From the address the rank's IP is bound to (gw_neigh.c). */
	fate = gw_neigh_check(lc->gw, w->neigh, &rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr,
			      port);
	if (unlikely(fate != DP_DROP_NONE))
		goto job_fate;
	if (unlikely(h->dtype != job->dtype)) {
		fate = DP_DROP_DTYPE_MISMATCH;
		goto job_fate;
	}
	if (unlikely((uint32_t)h->count * job->k->esize > job->chunk_size)) {
		fate = DP_DROP_CHUNK_TOO_LARGE;
		goto job_fate;
	}

	idx = dp_proto_slot_index(h->slot);
	if (unlikely(idx >= job->n_slots)) {
		fate = DP_DROP_SLOT_OUT_OF_RANGE;
		goto job_fate;
	}
	/* Two divisions per packet would cost more than the rest of the
	 * checks: one multiply-shift gives the local index, a multiply the
	 * shard. */
	local = rte_reciprocal_divide(idx, lc->gw->shard_recip);
	if (unlikely(idx - local * lc->gw->n_lcores != lc->shard)) {
		fate = DP_DROP_SLOT_WRONG_SHARD;
		goto job_fate;
	}
	/* Only the current run's contributions meet in a slot (docs/protocol.md
	 * section 6). A worker of a run that is over is told so. */
	run = atomic_load_explicit(&job->inst->run, memory_order_acquire);
	payload = (const uint8_t *)(udp + 1) + dp_proto_payload_off(h);
	/* A partial job's GRADs carry room for the ranks trailer, sized to
	 * the job; no other job's do (docs/protocol.md section 5). */
	if (unlikely(((h->flags & DP_PROTO_FLAG_RANKS) != 0) != job->partial)) {
		fate = DP_DROP_RANKS_MISMATCH;
		goto job_fate;
	}
	if (job->partial) {
		uint16_t nw, n_in;

		dp_proto_ranks_read(payload + (size_t)h->count * job->k->esize, &nw, &n_in);
		if (unlikely(nw != job->n_workers)) {
			fate = DP_DROP_RANKS_MISMATCH;
			goto job_fate;
		}
	}
	if (job->fedavg && unlikely(!weight_ok(job, payload, h->count))) {
		fate = DP_DROP_WEIGHT_BAD;
		goto job_fate;
	}
	if (unlikely(!gw_run_on(run))) {
		/* A keyed job tells only a worker of its last run, whose GRAD
		 * checks under that run's salt (kept until the next run). */
		if (job->keyed) {
			fate = grad_auth(job, h, udp + 1, payload);
			if (fate != DP_DROP_NONE)
				goto job_fate;
		}
		gw_reply_grad_error(lc, job, m, h, DP_ERR_RUN_ENDED, 0, port, consumed);
		fate = DP_DROP_RUN_NONE;
		goto job_fate;
	}
	if (unlikely(h->round - gw_run_base(run) >= GW_RUN_WINDOW)) {
		fate = DP_DROP_ROUND_OUTSIDE_RUN;
		goto job_fate;
	}
	if (unlikely(round_ahead(lc->gw, job, jl, h->round, gw_run_base(run)))) {
		fate = DP_DROP_ROUND_AHEAD;
		goto job_fate;
	}
	if (unlikely(job->keyed || (h->flags & DP_PROTO_FLAG_AUTH))) {
		fate = grad_auth(job, h, udp + 1, payload);
		if (fate != DP_DROP_NONE)
			goto job_fate;
	}
	/* Admitted (and authentic): the node is alive, and only now is the
	 * packet charged to the tenant's rate, which no stranger can drain. */
	if (unlikely(!gw_cp_admit_grad(lc, t, job, h->rank, m->pkt_len))) {
		fate = DP_DROP_RATE_LIMITED;
		goto job_fate;
	}
	if (job->ordered)
		gw_agg_held_run(lc, job, jl, run);
	fate = gw_agg_grad(lc, job, h, local, payload, m, port, consumed);
job_fate:
	gw_cnt_add(&jl->fate[fate], 1);
	return fate;
}

/* A message only a tree leaf's parent sends (gw_tree.c): its answers are
 * taken there; its RESULT goes to the use that waits for it. */
static enum dp_drop pkt_from_parent(struct gw_lcore *lc, const struct gw_tables *t,
				    const struct rte_mbuf *m, const struct rte_udp_hdr *udp,
				    const struct dp_proto_hdr *h, unsigned port)
{
	const struct gw_job *job;
	enum dp_drop fate;
	uint32_t local;

	fate = gw_tree_rx(lc, t, m, h, port, &local);
	if (fate != DP_DROP_NONE)
		return fate;
	job = gw_tables_job(t, h->job);
	fate = gw_agg_result_down(lc, job, h, local,
				  (const uint8_t *)(udp + 1) + dp_proto_payload_off(h));
	gw_cnt_add(&job->inst->lc[lc->shard]->fate[fate], 1);
	return fate;
}

static enum dp_drop pkt_one(struct gw_lcore *lc, const struct gw_tables *t,
			    struct rte_mbuf *m, unsigned port, bool *consumed)
{
	struct gw *gw = lc->gw;
	uint16_t len = m->data_len;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	struct dp_proto_hdr h;
	unsigned ip_len, udp_len, shard;
	enum dp_drop fate;

	if (unlikely(len < sizeof(*eth)))
		return DP_DROP_L2_SHORT;
	if (unlikely(eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4))) {
		if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP))
			return pkt_arp(lc, m, port, consumed);
		return DP_DROP_L2_NOT_IPV4;
	}
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	if (unlikely(len < sizeof(*eth) + sizeof(*ip) || ip->version_ihl != 0x45))
		return DP_DROP_IP_BAD_HEADER;
	ip_len = rte_be_to_cpu_16(ip->total_length);
	if (unlikely(ip_len < sizeof(*ip) || ip_len > len - sizeof(*eth)))
		return DP_DROP_IP_BAD_HEADER;
	/* The NIC may have checked the header sum; otherwise check it here. */
	if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_BAD)
		return DP_DROP_IP_BAD_HEADER;
	if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) != RTE_MBUF_F_RX_IP_CKSUM_GOOD &&
	    unlikely(!ipv4_csum_ok(ip)))
		return DP_DROP_IP_BAD_HEADER;
	if (unlikely(ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)))
		return DP_DROP_IP_FRAGMENT;
	if (unlikely(ip->dst_addr != gw->ports[port].ip_be))
		return DP_DROP_IP_NOT_FOR_US;
	if (unlikely(ip->next_proto_id != IPPROTO_UDP)) {
		if (ip->next_proto_id == IPPROTO_ICMP)
			return pkt_icmp(lc, m, ip, ip_len, port, consumed);
		return DP_DROP_IP_NOT_UDP;
	}
	udp = (struct rte_udp_hdr *)(ip + 1);
	if (unlikely(ip_len < sizeof(*ip) + sizeof(*udp)))
		return DP_DROP_UDP_BAD_LENGTH;
	udp_len = rte_be_to_cpu_16(udp->dgram_len);
	if (unlikely(udp_len != ip_len - sizeof(*ip)))
		return DP_DROP_UDP_BAD_LENGTH;
	if (unlikely((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_BAD))
		return DP_DROP_UDP_BAD_CHECKSUM;
	shard = (uint16_t)(rte_be_to_cpu_16(udp->dst_port) - gw->udp_base);
	if (unlikely(shard >= gw->n_lcores))
		return DP_DROP_UDP_WRONG_PORT;
	/* A tree leaf's parent sends RESULTs to udp_port_base, the port the
	 * leaf sends from (gw_tree.c): they go to the shard of their slot. */
	if (shard == 0 && gw->n_lcores > 1 && udp_len >= sizeof(*udp) + DP_PROTO_HDR_SIZE &&
	    unlikely(((const uint8_t *)(udp + 1))[3] == DP_MSG_RESULT)) {
		uint32_t idx = dp_proto_slot_index(be16_at((const uint8_t *)(udp + 1) + 8));

		shard = idx - rte_reciprocal_divide(idx, gw->shard_recip) * gw->n_lcores;
	}
	if (unlikely(shard != lc->shard)) {
		/* No flow rule put it on its shard's queue (vdevs, RSS): pass
		 * it to the owner, which counts its fate. Not every PMD
		 * sets m->port, so say where it came from. */
		m->port = gw->ports[port].id;
		if (rte_ring_mp_enqueue(gw->lcores[shard]->handoff, m) != 0)
			return DP_DROP_HANDOFF_FULL;
		gw_cnt_add(&lc->cnt.ev[GW_EV_HANDOFF_OUT], 1);
		*consumed = true;
		return DP_DROP_NONE;
	}

	if (udp_len >= sizeof(*udp) + 4 && dp_proto_infer_is_infer(((const uint8_t *)(udp + 1))[3]))
		return gw_infer_pkt(lc, t, m, ip, udp, udp_len - sizeof(*udp), port, consumed);
	if (likely(grad_check_fast((const uint8_t *)(udp + 1), udp_len - sizeof(*udp), &h)))
		return pkt_grad(lc, t, m, ip, udp, &h, port, consumed);
	fate = dp_drop_of_check(dp_proto_hdr_check(udp + 1, udp_len - sizeof(*udp), &h));
	if (unlikely(fate != DP_DROP_NONE))
		return fate;
	if (h.type == DP_MSG_GRAD)
		return pkt_grad(lc, t, m, ip, udp, &h, port, consumed);
	if (h.type == DP_MSG_HELLO || h.type == DP_MSG_LEAVE) {
		/* Joins are shard 0's alone (gw_hello.c): they go to udp_port_base. */
		if (unlikely(lc->shard != 0))
			return DP_DROP_UDP_WRONG_PORT;
		if (h.type == DP_MSG_LEAVE)
			return gw_hello_leave(lc, t, m, &h, port);
		return gw_hello(lc, t, m, &h, port, consumed);
	}
	/* Only a parent gateway sends a gateway these (a tree leaf's). */
	return pkt_from_parent(lc, t, m, udp, &h, port);
}

void gw_pkt_burst(struct gw_lcore *lc, const struct gw_tables *t,
		  struct rte_mbuf **pkts, unsigned n, int port)
{
	struct rte_mbuf *done[GW_BURST_MAX];
	unsigned n_done = 0;

	for (unsigned i = 0; i < n && i < PREFETCH_AHEAD; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		bool consumed = false;
		enum dp_drop fate;

		if (i + PREFETCH_AHEAD < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + PREFETCH_AHEAD], void *));
		fate = pkt_one(lc, t, m, port >= 0 ? (unsigned)port : lc->gw->port_idx[m->port],
			       &consumed);
		if (fate != DP_DROP_NONE)
			gw_cnt_add(&lc->cnt.fate[fate], 1);
		if (!consumed)
			done[n_done++] = m;
	}
	if (n_done != 0)
		rte_pktmbuf_free_bulk(done, n_done);
}
