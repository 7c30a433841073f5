/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ports: one RX and one TX queue per data lcore (queue k belongs to shard
 * k), and steering of shard k's UDP port to queue k.
 *
 * Steering: on PMDs that take rte_flow rules (most PCI NICs; net_tap where
 * the kernel has sch_multiq, cls_flower and act_skbedit) a rule
 * "IPv4/UDP dst port udp_port+k -> queue k" per shard puts every packet on
 * its owner's queue. Where the PMD has no rte_flow (net_af_packet spreads by
 * its own fanout hash, net_ring has one ring per queue) packets may arrive
 * on any queue; the receiving lcore hands a foreign one to its owner's ring
 * (gw_pkt.c) and counts it, so the slot state still has a single writer.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_flow.h>

#include "gw_priv.h"

/* True if the vdev spec names an existing interface to attach to (iface=,
 * not net_tap's, which names the interface the PMD creates) that this
 * namespace lacks. */
static bool iface_missing(const char *spec, char *ifname, size_t size)
{
	const char *at = strstr(spec, "iface=");

	if (strncmp(spec, "net_tap", 7) == 0)
		return false;
	char path[128];
	size_t n;

	if (at == NULL)
		return false;
	at += strlen("iface=");
	n = strcspn(at, ",");
	snprintf(ifname, size, "%.*s", (int)n, at);
	snprintf(path, sizeof(path), "/sys/class/net/%s", ifname);
	return access(path, F_OK) != 0;
}

static int port_resolve(const struct cp_port_cfg *pc, uint16_t *id)
{
	char name[RTE_ETH_NAME_MAX_LEN], ifname[64];
	size_t n = pc->is_pci ? strlen(pc->device) : strcspn(pc->device, ",");

	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, pc->device, n);
	name[n] = '\0';
	if (rte_eth_dev_get_port_by_name(name, id) == 0)
		return 0;
	if (pc->is_pci)
		fprintf(stderr, "daitn-gw: port %s: no ethdev for PCI device %s: is it bound to a "
			"DPDK driver (dpdk-devbind.py --status) and its PMD installed?\n",
			pc->name, name);
	else if (iface_missing(pc->device, ifname, sizeof(ifname)))
		fprintf(stderr, "daitn-gw: port %s: vdev \"%s\" was not created: interface "
			"\"%s\" does not exist in this network namespace (ip link show); create "
			"it, run the gateway in its namespace, or fix \"vdev\" in the config\n",
			pc->name, name, ifname);
	else
		fprintf(stderr, "daitn-gw: port %s: the EAL did not create vdev \"%s\" (see its "
			"messages above): is its driver installed (ls "
			"/usr/lib/x86_64-linux-gnu/dpdk/pmds-*/)?\n", pc->name, name);
	return -ENODEV;
}

/* Install one rule per shard; all or none. */
static bool port_flows_install(struct gw *gw, struct gw_port *gp)
{
	struct rte_flow_error ferr;
	unsigned k;

	for (k = 0; k < gw->n_lcores; k++) {
		struct rte_flow_attr attr = { .ingress = 1 };
		struct rte_flow_item_udp spec = {
			.hdr.dst_port = rte_cpu_to_be_16((uint16_t)(gw->udp_base + k)),
		};
		struct rte_flow_item_udp mask = { .hdr.dst_port = RTE_BE16(0xffff) };
		struct rte_flow_item pattern[] = {
			{ .type = RTE_FLOW_ITEM_TYPE_ETH },
			{ .type = RTE_FLOW_ITEM_TYPE_IPV4 },
			{ .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &spec, .mask = &mask },
			{ .type = RTE_FLOW_ITEM_TYPE_END },
		};
		struct rte_flow_action_queue queue = { .index = (uint16_t)k };
		struct rte_flow_action actions[] = {
			{ .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &queue },
			{ .type = RTE_FLOW_ACTION_TYPE_END },
		};

		memset(&ferr, 0, sizeof(ferr));
		if (rte_flow_validate(gp->id, &attr, pattern, actions, &ferr) != 0 ||
		    rte_flow_create(gp->id, &attr, pattern, actions, &ferr) == NULL)
			break;
	}
	if (k == gw->n_lcores)
		return true;
	rte_flow_flush(gp->id, NULL);
	GW_LOG(INFO, "port %s: no rte_flow steering (%s); packets for another shard are "
	       "handed to its lcore in software\n", gp->cfg->name,
	       ferr.message != NULL ? ferr.message : "not supported");
	return false;
}

/* A numeric "key=" argument of a vdev spec, or dflt. */
static unsigned long vdev_arg(const char *spec, const char *key, unsigned long dflt)
{
	size_t n = strlen(key);

	for (const char *p = strchr(spec, ','); p != NULL; p = strchr(p + 1, ','))
		if (strncmp(p + 1, key, n) == 0 && p[1 + n] == '=')
			return strtoul(p + 2 + n, NULL, 0);
	return dflt;
}

/*
 * DPDK 22.11's net_af_packet finds RX frame i at i * framesz from the start
 * of its ring, but the kernel starts every block on a block boundary: when
 * blocksz is not a multiple of framesz, every frame after the first block
 * is read at the wrong place and RX stops for good (seen: 4 frames, then
 * nothing). Refuse such a spec instead of starting a deaf port.
 */
static int port_vdev_check(const struct cp_port_cfg *pc, const char *cfg_path)
{
	unsigned long fs, bs;

	if (pc->is_pci || strncmp(pc->device, "net_af_packet", 13) != 0)
		return 0;
	fs = vdev_arg(pc->device, "framesz", 2048);
	bs = vdev_arg(pc->device, "blocksz", 4096);
	if (fs != 0 && bs % fs == 0)
		return 0;
	fprintf(stderr, "daitn-gw: port %s (%s): blocksz %lu is not a multiple of framesz %lu; "
		"net_af_packet would read frames at the wrong offsets after the first block: "
		"make blocksz a multiple of both framesz and the page size in %s\n",
		pc->name, pc->device, bs, fs, cfg_path);
	return -EINVAL;
}

static int port_setup(struct gw *gw, unsigned i)
{
	struct gw_port *gp = &gw->ports[i];
	const struct cp_port_cfg *pc = gp->cfg;
	uint16_t nq = (uint16_t)gw->n_lcores, nrxd = GW_RXD, ntxd = GW_TXD;
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	int socket, rc;

	rc = port_vdev_check(pc, gw->cfg->path);
	if (rc != 0)
		return rc;
	rc = rte_eth_dev_info_get(gp->id, &info);
	if (rc != 0)
		return rc;
	if (info.max_rx_queues < nq || info.max_tx_queues < nq) {
		fprintf(stderr, "daitn-gw: port %s (%s) has at most %u RX and %u TX queues; the "
			"gateway needs one per data lcore (%u): give the vdev more queues "
			"(net_af_packet: qpairs=%u) or use fewer data lcores\n",
			pc->name, pc->device, info.max_rx_queues, info.max_tx_queues, nq, nq);
		return -EINVAL;
	}
	memset(&conf, 0, sizeof(conf));
	conf.txmode.offloads = info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	if (nq > 1 && (info.flow_type_rss_offloads & RTE_ETH_RSS_UDP) != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads & RTE_ETH_RSS_UDP;
	}
	if (pc->mtu != 0) {
		uint32_t frame = pc->mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;

		if (frame <= info.max_rx_pktlen) {
			conf.rxmode.mtu = pc->mtu;
		} else if (pc->is_pci) {
			fprintf(stderr, "daitn-gw: port %s (%s): mtu %u needs %u-byte frames, the "
				"NIC takes at most %u: lower \"mtu\" in %s\n", pc->name,
				pc->device, pc->mtu, frame, info.max_rx_pktlen, gw->cfg->path);
			return -EINVAL;
		} else {
			/* net_af_packet advertises 1518-byte frames whatever its ring
			 * holds; its RX takes any frame up to its framesz and our RX
			 * mbufs are sized from the configured mtu, so leave the MTU
			 * to the device instead of failing configure. */
			printf("daitn-gw: port %s: %s advertises frames up to %u bytes; mtu %u "
			       "is left to the device (net_af_packet: framesz %u .. %u)\n",
			       pc->name, pc->device, info.max_rx_pktlen, pc->mtu,
			       RTE_ALIGN_CEIL(frame + 64u, 16u),
			       (unsigned)(rte_pktmbuf_data_room_size(gw->lcores[0]->rx_pool) -
					  RTE_PKTMBUF_HEADROOM + 32u));
		}
	}
	rc = rte_eth_dev_configure(gp->id, nq, nq, &conf);
	if (rc != 0) {
		fprintf(stderr, "daitn-gw: port %s: configure with %u queues: %s\n", pc->name, nq,
			rte_strerror(-rc));
		return rc;
	}
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(gp->id, &nrxd, &ntxd);
	if (rc != 0)
		return rc;
	socket = rte_eth_dev_socket_id(gp->id);
	for (uint16_t q = 0; q < nq; q++) {
		struct gw_lcore *lc = gw->lcores[q];

		if (socket < 0)
			socket = (int)rte_lcore_to_socket_id(lc->lcore_id);
		rc = rte_eth_rx_queue_setup(gp->id, q, nrxd, (unsigned)socket, NULL, lc->rx_pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(gp->id, q, ntxd, (unsigned)socket, NULL);
		if (rc != 0) {
			fprintf(stderr, "daitn-gw: port %s: queue %u setup: %s (mbufs: the RX pool "
				"must hold %u descriptors per port)\n", pc->name, q,
				rte_strerror(-rc), nrxd);
			return rc;
		}
	}
	rc = rte_eth_macaddr_get(gp->id, &gp->mac);
	if (rc != 0)
		return rc;
	gp->tx_offloads = conf.txmode.offloads;
	rc = rte_eth_dev_start(gp->id);
	if (rc != 0) {
		fprintf(stderr, "daitn-gw: port %s: start: %s\n", pc->name, rte_strerror(-rc));
		return rc;
	}
	gp->hw_steer = nq > 1 && port_flows_install(gw, gp);
	if (strstr(pc->device, "af_packet") != NULL) {
		char ifname[IF_NAMESIZE + 1];

		if (!iface_missing(pc->device, ifname, sizeof(ifname)))
			gp->ifindex = (int)if_nametoindex(ifname);
	}
	return 0;
}

uint64_t gw_port_kernel_drops(struct gw *gw, unsigned p)
{
	struct gw_port *gp = &gw->ports[p];
	struct dirent *e;
	DIR *dir;

	if (gp->ifindex == 0 || !gw->ports_started)
		return gp->kernel_drops;
	dir = opendir("/proc/self/fd");
	if (dir == NULL)
		return gp->kernel_drops;
	while ((e = readdir(dir)) != NULL) {
		struct tpacket_stats_v3 st;
		struct sockaddr_ll sll;
		int fd, dom;
		socklen_t len = sizeof(dom);
		char *end;

		fd = (int)strtol(e->d_name, &end, 10);
		if (*end != '\0' || end == e->d_name ||
		    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) != 0 || dom != AF_PACKET)
			continue;
		len = sizeof(sll);
		if (getsockname(fd, (struct sockaddr *)&sll, &len) != 0 ||
		    sll.sll_ifindex != gp->ifindex)
			continue;
		/* Read and reset by the kernel: added up here. */
		len = sizeof(st);
		if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
			gp->kernel_drops += st.tp_drops;
	}
	closedir(dir);
	return gp->kernel_drops;
}

int gw_ports_start(struct gw *gw, uint16_t *ports_out)
{
	const struct cp_gw_config *cfg = gw->cfg;
	int rc;

	for (unsigned i = 0; i < cfg->n_ports; i++) {
		struct gw_port *gp = &gw->ports[i];

		gp->cfg = &cfg->ports[i];
		gp->ip_be = rte_cpu_to_be_32(cfg->ports[i].ip);
		rc = port_resolve(gp->cfg, &gp->id);
		if (rc != 0)
			goto stop;
		if (gw->port_idx[gp->id] != 0xff) {
			fprintf(stderr, "daitn-gw: ports %s and %s are the same device\n",
				cfg->ports[gw->port_idx[gp->id]].name, gp->cfg->name);
			rc = -EINVAL;
			goto stop;
		}
		gw->port_idx[gp->id] = (uint8_t)i;
		gw->n_ports = i + 1;
		rc = port_setup(gw, i);
		if (rc != 0)
			goto stop;
		if (ports_out != NULL)
			ports_out[i] = gp->id;
		GW_LOG(INFO, "port %s: %s, ethdev %u, " RTE_ETHER_ADDR_PRT_FMT ", %u queue pair%s, "
		       "%s steering\n", gp->cfg->name, gp->cfg->device, gp->id,
		       RTE_ETHER_ADDR_BYTES(&gp->mac), gw->n_lcores, gw->n_lcores > 1 ? "s" : "",
		       gw->n_lcores == 1 ? "no" : gp->hw_steer ? "rte_flow" : "software");
	}
	gw->ports_started = true;
	return 0;

stop:
	gw->ports_started = true;
	gw_ports_stop(gw);
	return rc;
}

void gw_ports_stop(struct gw *gw)
{
	if (!gw->ports_started)
		return;
	for (unsigned i = 0; i < gw->n_ports; i++) {
		struct gw_port *gp = &gw->ports[i];

		/* Buffered copies go back to their pools before the queues do. */
		for (unsigned k = 0; k < gw->n_lcores; k++) {
			struct gw_txbuf *tb = &gw->lcores[k]->tx[i];

			rte_pktmbuf_free_bulk(tb->m, tb->n);
			tb->n = 0;
		}
		if (gp->hw_steer)
			rte_flow_flush(gp->id, NULL);
		rte_eth_dev_stop(gp->id);
		rte_eth_dev_close(gp->id);
		gw->port_idx[gp->id] = 0xff;
	}
	gw->n_ports = 0;
	gw->ports_started = false;
}
