/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HELLO -> HELLO_ACK (job parameters and round_base) or ERROR, answered in
 * place in the received mbuf.
 *
 * round_base (docs/protocol.md, section 6): a job instance has an epoch and
 * a base round, packed in one 64-bit atomic so that HELLOs handled on
 * different lcores agree. Each lcore marks, per rank, the epoch in which the
 * rank last sent a GRAD. A HELLO from a rank not marked in the current epoch
 * is a first or late joiner of the current run: it gets the current base. A
 * HELLO from a rank that already sent in this epoch is a new process for that
 * rank, i.e. a new run: the epoch advances and the base moves past every
 * round any lcore has seen, so no tag of the new run equals one a set holds.
 */
#include <stdio.h>

#include <rte_ip.h>
#include <rte_udp.h>

#include "gw_priv.h"

static void ip_format(uint32_t ip_be, char *buf, size_t size)
{
	const uint8_t *b = (const uint8_t *)&ip_be;

	snprintf(buf, size, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

static uint32_t hello_round_base(const struct gw *gw, const struct gw_job *job, uint16_t rank)
{
	struct gw_job_inst *in = job->inst;

	for (int tries = 0; tries < 16; tries++) {
		uint64_t eb = atomic_load_explicit(&in->epoch_base, memory_order_acquire);
		uint32_t epoch = (uint32_t)(eb >> 32), base = (uint32_t)eb, next = base;
		bool rejoined = false;

		for (unsigned k = 0; k < gw->n_lcores; k++)
			if (atomic_load_explicit(&in->lc[k]->rank_epoch[rank],
						 memory_order_relaxed) == epoch + 1)
				rejoined = true;
		if (!rejoined)
			return base;
		for (unsigned k = 0; k < gw->n_lcores; k++) {
			struct gw_job_lc *jl = in->lc[k];
			uint32_t r;

			if (!atomic_load_explicit(&jl->seen_any, memory_order_relaxed))
				continue;
			r = atomic_load_explicit(&jl->max_round, memory_order_relaxed) + 1;
			if (dp_proto_tag_cmp(r, 0, next, 0) > 0)
				next = r;
		}
		if (atomic_compare_exchange_strong(&in->epoch_base, &eb,
						   (uint64_t)(epoch + 1) << 32 | next))
			return next;
	}
	return (uint32_t)atomic_load(&in->epoch_base);
}

enum dp_drop gw_hello(struct gw_lcore *lc, const struct gw_tables *t, struct rte_mbuf *m,
		      const struct dp_proto_hdr *h, unsigned port, bool *consumed)
{
	struct gw *gw = lc->gw;
	const struct gw_port *gp = &gw->ports[port];
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint8_t *dh = (uint8_t *)(udp + 1);
	const struct gw_job *job = t != NULL ? gw_tables_job(t, h->job) : NULL;
	struct dp_proto_hdr rh = *h;
	char text[64];
	uint16_t code = 0, payload, sport;
	enum dp_drop fate = DP_DROP_HELLO;
	char a1[16], a2[16];

	/* The answer is built in this mbuf; it must be one segment with room
	 * for the largest answer (an ERROR). */
	if (unlikely(m->nb_segs != 1 || m->buf_len < m->data_off + DP_PROTO_FRAME_HDR_SIZE +
						     sizeof(struct dp_proto_error)))
		return DP_DROP_NO_BUFFER;
	if (job == NULL) {
		code = DP_ERR_UNKNOWN_JOB;
		fate = DP_DROP_JOB_UNKNOWN;
		snprintf(text, sizeof(text), "job %u is not in policy version %llu", h->job,
			 t != NULL ? (unsigned long long)t->version : 0ull);
	} else if (h->rank >= job->n_workers) {
		code = DP_ERR_NOT_ADMITTED;
		fate = DP_DROP_RANK_INVALID;
		snprintf(text, sizeof(text), "job %u has ranks 0..%u, not %u", h->job,
			 job->n_workers - 1u, h->rank);
	} else if (job->workers[h->rank].ip_be != ip->src_addr ||
		   job->workers[h->rank].port_be != udp->src_port) {
		code = DP_ERR_NOT_ADMITTED;
		fate = DP_DROP_SOURCE_NOT_ADMITTED;
		ip_format(job->workers[h->rank].ip_be, a1, sizeof(a1));
		ip_format(ip->src_addr, a2, sizeof(a2));
		snprintf(text, sizeof(text), "rank %u is %s:%u, not %s:%u", h->rank, a1,
			 rte_be_to_cpu_16(job->workers[h->rank].port_be), a2,
			 rte_be_to_cpu_16(udp->src_port));
	} else if (h->dtype != 0 && h->dtype != job->dtype) {
		code = DP_ERR_BAD_PARAMS;
		fate = DP_DROP_DTYPE_MISMATCH;
		snprintf(text, sizeof(text), "job %u is %s, not %s", h->job,
			 dp_proto_dtype_name(job->dtype), dp_proto_dtype_name(h->dtype));
	}
	if (job != NULL)
		gw_cnt_add(&job->inst->lc[lc->shard]->fate[fate], 1);

	rh.type = code == 0 ? DP_MSG_HELLO_ACK : DP_MSG_ERROR;
	rh.dtype = code == 0 ? job->dtype : 0;
	rh.slot = 0;
	rh.flags = 0;
	rh.count = 0;
	if (code == 0) {
		struct dp_proto_job_info ji = {
			.n_workers = job->n_workers, .chunk_size = job->chunk_size,
			.n_slots = (uint16_t)RTE_MIN(job->n_slots, (uint32_t)UINT16_MAX),
			.udp_port_base = gw->udp_base, .n_shards = (uint8_t)gw->n_lcores,
			.dtype = job->dtype, .frac_bits = job->frac_bits,
			.policy_version = (uint32_t)t->version,
			.round_base = hello_round_base(gw, job, h->rank),
		};

		gw_agg_peer_learn(lc, job, job->inst->lc[lc->shard], h->rank, eth, port);
		dp_proto_job_info_write(dh + DP_PROTO_HDR_SIZE, &ji);
		payload = sizeof(ji);
	} else {
		dp_proto_error_write(dh + DP_PROTO_HDR_SIZE, code, text);
		payload = sizeof(struct dp_proto_error);
	}
	dp_proto_hdr_write(dh, &rh);

	/* Turn the frame around. */
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
	*consumed = true;
	return fate;
}
