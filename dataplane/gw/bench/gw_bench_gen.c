/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "gw_bench_gen.h"

/* The payload never changes, so it is written when the pool is made rather
 * than per frame: the generator's per-packet cost stays the headers only. */
static void
gen_obj_init(struct rte_mempool *mp, void *arg, void *obj, unsigned idx)
{
	struct rte_mbuf *m = obj;
	float *pl = (float *)((uint8_t *)m->buf_addr + RTE_PKTMBUF_HEADROOM +
			      DP_PROTO_FRAME_HDR_SIZE);

	RTE_SET_USED(mp);
	RTE_SET_USED(arg);
	RTE_SET_USED(idx);
	for (unsigned e = 0; e < GW_BENCH_ELEMS; e++)
		pl[e] = 1.0f;
}

void
gw_bench_gen_pool_init(struct rte_mempool *pool)
{
	rte_mempool_obj_iter(pool, gen_obj_init, NULL);
}

void
gw_bench_gen_tmpl_build(struct gw_bench_gen_tmpl *t, unsigned workers,
			const struct rte_ether_addr *gw_mac)
{
	for (unsigned w = 0; w < workers; w++) {
		struct rte_ether_hdr *eth = (struct rte_ether_hdr *)t->hdr[w];
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

		eth->dst_addr = *gw_mac;
		eth->src_addr = (struct rte_ether_addr){ { 0x02, 0, 0, 0, 1, (uint8_t)w } };
		eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
		memset(ip, 0, sizeof(*ip));
		ip->version_ihl = 0x45;
		ip->total_length = rte_cpu_to_be_16(20 + 8 + DP_PROTO_HDR_SIZE + GW_BENCH_PAYLOAD);
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_UDP;
		ip->src_addr = rte_cpu_to_be_32(GW_BENCH_W_IP(w));
		ip->dst_addr = rte_cpu_to_be_32(GW_BENCH_GW_IP);
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		udp->src_port = RTE_BE16(GW_BENCH_W_PORT);
		udp->dst_port = RTE_BE16(DP_PROTO_UDP_PORT_DEFAULT);
		udp->dgram_len = rte_cpu_to_be_16(8 + DP_PROTO_HDR_SIZE + GW_BENCH_PAYLOAD);
		udp->dgram_cksum = 0;
	}
}
