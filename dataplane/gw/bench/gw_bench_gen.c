/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "gw.h"
#include "gw_bench_gen.h"

/* The payload never changes, so it is written when the pool is made rather
 * than per frame: the generator's per-packet cost stays the headers only. */
static void
gen_obj_init(struct rte_mempool *mp, void *arg, void *obj, unsigned idx)
{
	struct rte_mbuf *m = obj;
	float pl[GW_BENCH_ELEMS];

	RTE_SET_USED(mp);
	RTE_SET_USED(idx);
	for (unsigned e = 0; e < GW_BENCH_ELEMS; e++)
		pl[e] = 1.0f;
	memcpy((uint8_t *)m->buf_addr + RTE_PKTMBUF_HEADROOM + DP_PROTO_FRAME_HDR_SIZE +
	       *(const unsigned *)arg, pl, sizeof(pl));
}

void
gw_bench_gen_pool_init(struct rte_mempool *pool, unsigned tag)
{
	rte_mempool_obj_iter(pool, gen_obj_init, &tag);
}

int
gw_bench_port_add_tagged(const char *name, struct gw_bench_port *bp)
{
	char n[RTE_MEMPOOL_NAMESIZE];

	snprintf(n, sizeof(n), "%s_gent", name);
	bp->pool_tagged = rte_pktmbuf_pool_create(n, GW_BENCH_GEN_POOL, 256, 0,
						  RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (bp->pool_tagged == NULL)
		return -rte_errno;
	gw_bench_gen_pool_init(bp->pool_tagged, DP_PROTO_TAG_SIZE);
	return 0;
}

int
gw_bench_port_create(const char *name, struct gw_bench_port *out, struct cp_gw_config *cfg)
{
	char n[RTE_RING_NAMESIZE];
	int socket = (int)rte_socket_id();

	snprintf(n, sizeof(n), "%s_rx", name);
	out->rx = rte_ring_create(n, 4096, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(n, sizeof(n), "%s_tx", name);
	out->tx = rte_ring_create(n, 8192, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(n, sizeof(n), "%s_gen", name);
	out->pool = rte_pktmbuf_pool_create(n, GW_BENCH_GEN_POOL, 256, 0,
					    RTE_MBUF_DEFAULT_BUF_SIZE, socket);
	if (out->rx == NULL || out->tx == NULL || out->pool == NULL ||
	    rte_eth_from_rings(name, &out->rx, 1, &out->tx, 1, (unsigned)socket) < 0)
		return -rte_errno;
	gw_bench_gen_pool_init(out->pool, 0);

	cfg->n_ports = 1;
	snprintf(cfg->ports[0].name, sizeof(cfg->ports[0].name), "bench0");
	snprintf(cfg->ports[0].device, sizeof(cfg->ports[0].device), "net_ring_%s", name);
	cfg->ports[0].ip = GW_BENCH_GW_IP;
	cfg->main_lcore = rte_get_main_lcore();
	cfg->n_data_lcores = 1;
	cfg->data_lcores[0] = rte_get_next_lcore(cfg->main_lcore, 1, 1);
	cfg->udp_port = DP_PROTO_UDP_PORT_DEFAULT;
	cfg->mbufs = 16383;
	return 0;
}

void
gw_bench_gen_tmpl_build(struct gw_bench_gen_tmpl *t, unsigned workers,
			const struct rte_ether_addr *gw_mac, uint16_t job, unsigned tag)
{
	t->job = job;
	t->tag = (uint8_t)tag;
	for (unsigned w = 0; w < workers; w++) {
		struct rte_ether_hdr *eth = (struct rte_ether_hdr *)t->hdr[w];
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

		eth->dst_addr = *gw_mac;
		eth->src_addr = (struct rte_ether_addr){ { 0x02, 0, 0, 0, 1, (uint8_t)w } };
		eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
		memset(ip, 0, sizeof(*ip));
		ip->version_ihl = 0x45;
		ip->total_length = rte_cpu_to_be_16(20 + 8 + DP_PROTO_HDR_SIZE + tag + GW_BENCH_PAYLOAD);
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_UDP;
		ip->src_addr = rte_cpu_to_be_32(GW_BENCH_W_IP(w));
		ip->dst_addr = rte_cpu_to_be_32(GW_BENCH_GW_IP);
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		udp->src_port = rte_cpu_to_be_16((uint16_t)(GW_BENCH_W_PORT + job - 1));
		udp->dst_port = RTE_BE16(DP_PROTO_UDP_PORT_DEFAULT);
		udp->dgram_len = rte_cpu_to_be_16(8 + DP_PROTO_HDR_SIZE + tag + GW_BENCH_PAYLOAD);
		udp->dgram_cksum = 0;
	}
}

int
gw_bench_join(struct gw *gw, const struct gw_bench_port *bp, const struct gw_bench_gen_tmpl *t,
	      unsigned workers, const struct dp_auth_key *key, uint32_t *round_base,
	      uint64_t *salt)
{
	struct gw_lcore *lc = gw_lcore_get(gw, 0);
	unsigned tag = key != NULL ? DP_PROTO_TAG_SIZE : 0;
	int acked = 0;

	for (unsigned w = 0; w < workers; w++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(bp->pool), *out[64];
		struct timespec ts;
		struct dp_proto_hdr h = {
			.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION, .type = DP_MSG_HELLO,
			.job = t->job, .rank = (uint16_t)w, .round = 0x6a00 + w,
			.flags = key != NULL ? DP_PROTO_FLAG_AUTH : 0,
		};
		struct rte_ipv4_hdr *ip;
		struct rte_udp_hdr *udp;
		uint8_t *f, *dh;
		unsigned n;

		if (m == NULL)
			return -ENOMEM;
		/* A keyed HELLO carries the wall clock (ms) in its offset. */
		clock_gettime(CLOCK_REALTIME, &ts);
		h.offset = (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
		f = rte_pktmbuf_mtod(m, uint8_t *);
		dh = f + DP_PROTO_L2_L4_SIZE;
		memcpy(f, t->hdr[w], DP_PROTO_L2_L4_SIZE);
		ip = (struct rte_ipv4_hdr *)(f + RTE_ETHER_HDR_LEN);
		udp = (struct rte_udp_hdr *)(ip + 1);
		ip->total_length = rte_cpu_to_be_16(20 + 8 + DP_PROTO_HDR_SIZE + tag +
						    DP_PROTO_HELLO_PAD);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		udp->dgram_len = rte_cpu_to_be_16(8 + DP_PROTO_HDR_SIZE + tag + DP_PROTO_HELLO_PAD);
		dp_proto_hdr_write(dh, &h);
		memset(f + DP_PROTO_FRAME_HDR_SIZE + tag, 0, DP_PROTO_HELLO_PAD);
		if (key != NULL)
			dp_auth_tag_write(dh + DP_PROTO_HDR_SIZE,
					  dp_auth_tag(key, 0, dh, f + DP_PROTO_FRAME_HDR_SIZE + tag,
						      DP_PROTO_HELLO_PAD));
		m->data_len = m->pkt_len = DP_PROTO_FRAME_HDR_SIZE + tag + DP_PROTO_HELLO_PAD;
		if (rte_ring_sp_enqueue(bp->rx, m) != 0) {
			rte_pktmbuf_free(m);
			return -ENOBUFS;
		}
		while (gw_lcore_poll(lc) != 0)
			;
		/* Every answer but the last rank's is a HELLO_WAIT. */
		while ((n = rte_ring_sc_dequeue_burst(bp->tx, (void **)out, 64, NULL)) != 0) {
			for (unsigned i = 0; i < n; i++) {
				const uint8_t *a = rte_pktmbuf_mtod(out[i], const uint8_t *);
				const uint8_t *pl = a + DP_PROTO_FRAME_HDR_SIZE + tag;
				struct dp_proto_job_info ji;

				if (out[i]->data_len >= DP_PROTO_FRAME_HDR_SIZE + tag + sizeof(ji) &&
				    a[DP_PROTO_L2_L4_SIZE + 3] == DP_MSG_HELLO_ACK) {
					dp_proto_job_info_read(pl, &ji);
					*round_base = ji.round_base;
					if (key != NULL)
						*salt = dp_auth_tag_read(pl + sizeof(ji));
					acked = 1;
				}
			}
			rte_pktmbuf_free_bulk(out, n);
		}
	}
	/* The answers were written over the payload of the generator's mbufs:
	 * write its 1.0f back (every mbuf is free again here). */
	gw_bench_gen_pool_init(bp->pool, 0);
	return acked ? 0 : -EPROTO;
}
