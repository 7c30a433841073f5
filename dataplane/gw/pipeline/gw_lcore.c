/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Data lcore contexts and the run-to-completion loop.
 *
 * Each data lcore k owns shard k: RX/TX queue k of every port, its mempools,
 * its handoff ring and the slots of every job whose index i has i % n = k.
 * One loop iteration: RX burst per port -> gw_pkt_burst() -> same for the
 * handoff ring -> flush buffered TX (gw_tx.c) -> quiescent state. Everything the loop
 * touches is either lcore-private or read-only under RCU, so there are no
 * locks and no atomic read-modify-writes on the fast path.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/prctl.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include <urcu-qsbr.h>

#include "gw_cp.h"
#include "gw_priv.h"

/* RX mbufs must hold a whole frame of the largest MTU in one segment. Above
 * 1500, the room is rounded up to whole KiB with 160 bytes to spare:
 * net_af_packet wants framesz - 32 bytes in every RX mbuf, and a framesz of
 * whole KiB divides its page-multiple blocks exactly (see gw_port.c). */
static uint16_t rx_data_room(const struct cp_gw_config *cfg)
{
	unsigned mtu = 1500;

	for (unsigned i = 0; i < cfg->n_ports; i++)
		if (cfg->ports[i].mtu > mtu)
			mtu = cfg->ports[i].mtu;
	unsigned room = mtu + RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN + RTE_ETHER_CRC_LEN;

	room = mtu > 1500 ? RTE_ALIGN_CEIL(mtu + 160, 1024) : RTE_ALIGN_CEIL(room, 64);
	room += RTE_PKTMBUF_HEADROOM;
	return (uint16_t)RTE_MAX(room, (unsigned)RTE_MBUF_DEFAULT_BUF_SIZE);
}

static struct rte_mempool *pool_create(const char *what, unsigned shard, unsigned n,
				       uint16_t room, int socket)
{
	char name[RTE_MEMPOOL_NAMESIZE];
	unsigned cache = RTE_MIN(256u, n / 4);
	struct rte_mempool *mp;

	snprintf(name, sizeof(name), "gw_%s_%u", what, shard);
	mp = rte_pktmbuf_pool_create(name, n, cache, 0, room, socket);
	if (mp == NULL)
		fprintf(stderr, "daitn-gw: shard %u: cannot create the %s mempool (%u mbufs of "
			"%u bytes): %s; lower \"mbufs\" or raise \"memory_mb\" in the config\n",
			shard, what, n, room, rte_strerror(rte_errno));
	return mp;
}

static void lcore_free(struct gw_lcore *lc)
{
	if (lc == NULL)
		return;
	rte_ring_free(lc->handoff);
	rte_mempool_free(lc->ext_pool);
	rte_mempool_free(lc->hdr_pool);
	rte_mempool_free(lc->rx_pool);
	rte_free(lc);
}

static struct gw_lcore *lcore_create(struct gw *gw, unsigned shard, unsigned lcore_id)
{
	const struct cp_gw_config *cfg = gw->cfg;
	int socket = (int)rte_lcore_to_socket_id(lcore_id);
	char name[RTE_RING_NAMESIZE];
	struct gw_lcore *lc;

	lc = rte_zmalloc_socket("gw_lcore", sizeof(*lc), RTE_CACHE_LINE_SIZE, socket);
	if (lc == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	lc->gw = gw;
	lc->shard = shard;
	lc->lcore_id = lcore_id;
	lc->burst = (uint16_t)RTE_MIN(cfg->burst ? cfg->burst : 32u, (unsigned)GW_BURST_MAX);
	if (cfg->idle_adaptive) {
		lc->idle_after = cfg->idle_after_polls ? cfg->idle_after_polls : 1024u;
		lc->idle_max_ns = (cfg->idle_sleep_max_us ? cfg->idle_sleep_max_us : 250u) * 1000u;
	}
	lc->slot_capacity = cfg->slot_memory;
	/* Held contributions come from any shard's RX pool (handoff): together
	 * the lcores may hold half of one pool, so RX always finds mbufs for
	 * the contributions that let the held ones go. */
	lc->held_max = RTE_MAX(cfg->mbufs / (2u * RTE_MAX(cfg->n_data_lcores, 1u)), 1u);
	lc->rx_pool = pool_create("rx", shard, cfg->mbufs, rx_data_room(cfg), socket);
	if (lc->rx_pool == NULL)
		goto fail;
	lc->hdr_pool = pool_create("hdr", shard, cfg->mbufs,
				   RTE_PKTMBUF_HEADROOM + GW_HDR_SIZE + DP_PROTO_TAG_SIZE, socket);
	if (lc->hdr_pool == NULL)
		goto fail;
	lc->ext_pool = pool_create("ext", shard, cfg->mbufs, 0, socket);
	if (lc->ext_pool == NULL)
		goto fail;
	lc->hdr_cache = rte_mempool_default_cache(lc->hdr_pool, lcore_id);
	lc->ext_cache = rte_mempool_default_cache(lc->ext_pool, lcore_id);
	snprintf(name, sizeof(name), "gw_handoff_%u", shard);
	lc->handoff = rte_ring_create(name, GW_HANDOFF_RING, socket, RING_F_SC_DEQ);
	if (lc->handoff == NULL) {
		fprintf(stderr, "daitn-gw: shard %u: cannot create its handoff ring: %s\n",
			shard, rte_strerror(rte_errno));
		goto fail;
	}
	return lc;

fail:
	lcore_free(lc);
	rte_errno = ENOMEM;
	return NULL;
}

void gw_clock_set(struct gw *gw, gw_clock_fn fn, void *arg)
{
	struct timespec ts;

	gw->clock_arg = arg;
	gw->clock = fn;
	/* The wall clock goes on from now, on the new clock. */
	clock_gettime(CLOCK_REALTIME, &ts);
	gw->realtime_off_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 -
			      (int64_t)(gw_now(gw) / (rte_get_tsc_hz() / 1000));
}

struct gw *gw_create(const struct cp_gw_config *cfg)
{
	struct gw *gw;

	if (cfg == NULL || cfg->n_data_lcores == 0 || cfg->n_data_lcores > CP_LCORES_MAX ||
	    cfg->n_ports == 0 || cfg->n_ports > CP_PORTS_MAX) {
		fprintf(stderr, "daitn-gw: the config needs 1..%d data lcores and 1..%d ports\n",
			CP_LCORES_MAX, CP_PORTS_MAX);
		rte_errno = EINVAL;
		return NULL;
	}
	for (unsigned k = 0; k < cfg->n_data_lcores; k++) {
		unsigned id = cfg->data_lcores[k];

		if (id >= RTE_MAX_LCORE || !rte_lcore_is_enabled(id) || id == rte_get_main_lcore()) {
			fprintf(stderr, "daitn-gw: data lcore %u is not a worker lcore of this EAL "
				"(main lcore %u); check \"data_lcores\" and the -l list\n",
				id, rte_get_main_lcore());
			rte_errno = EINVAL;
			return NULL;
		}
	}
	gw = calloc(1, sizeof(*gw));
	if (gw == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	gw->cfg = cfg;
	gw->udp_base = cfg->udp_port ? cfg->udp_port : DP_PROTO_UDP_PORT_DEFAULT;
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		gw->realtime_off_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 -
				      (int64_t)(rte_rdtsc() / (rte_get_tsc_hz() / 1000));
	}
	gw->shard_recip = rte_reciprocal_value(cfg->n_data_lcores);
	memset(gw->port_idx, 0xff, sizeof(gw->port_idx));
	pthread_mutex_init(&gw->ctl_lock, NULL);
	atomic_init(&gw->stop, false);
	gw_kern_init(gw);
	for (unsigned k = 0; k < cfg->n_data_lcores; k++) {
		gw->lcores[k] = lcore_create(gw, k, cfg->data_lcores[k]);
		if (gw->lcores[k] == NULL)
			goto free_lcores;
		gw->n_lcores = k + 1;
	}
	if (gw_neigh_init(gw) < 0 || gw_infer_init(gw) < 0 || gw_cp_init(gw) < 0)
		goto free_lcores;
	return gw;

free_lcores:
	gw_cp_fini(gw);
	gw_infer_fini(gw);
	gw_neigh_fini(gw);
	for (unsigned k = 0; k < gw->n_lcores; k++)
		lcore_free(gw->lcores[k]);
	pthread_mutex_destroy(&gw->ctl_lock);
	free(gw);
	rte_errno = ENOMEM;
	return NULL;
}

void gw_destroy(struct gw *gw)
{
	if (gw == NULL)
		return;
	gw_stop(gw);
	if (gw->tables != NULL) {
		struct gw_tables *t = gw->tables;

		rcu_assign_pointer(gw->tables, NULL);
		synchronize_rcu();
		for (uint32_t i = 0; i < t->n_jobs; i++) {
			struct gw_job_inst *in = t->jobs[i].inst;
			struct gw_job_inst **z = realloc(gw->zombies,
							 (gw->n_zombies + 1) * sizeof(*z));

			if (z == NULL)
				break;
			gw->zombies = z;
			gw->zombies[gw->n_zombies++] = in;
		}
		gw_tables_free(gw, t);
	}
	gw_infer_fini(gw);
	gw_cp_fini(gw);
	gw_neigh_fini(gw);
	gw_zombies_reap(gw, true);
	free(gw->zombies);
	for (unsigned k = 0; k < gw->n_lcores; k++)
		lcore_free(gw->lcores[k]);
	pthread_mutex_destroy(&gw->ctl_lock);
	free(gw);
}

unsigned gw_lcore_count(const struct gw *gw)
{
	return gw->n_lcores;
}

struct gw_lcore *gw_lcore_get(struct gw *gw, unsigned shard)
{
	return shard < gw->n_lcores ? gw->lcores[shard] : NULL;
}

unsigned gw_lcore_poll(struct gw_lcore *lc)
{
	struct gw *gw = lc->gw;
	struct rte_mbuf *pkts[GW_BURST_MAX];
	const struct gw_tables *t = rcu_dereference(gw->tables);
	unsigned total = 0, n;

	gw_infer_lcore_sync(lc, t);
	gw_cp_lcore_sync(lc, t);
	gw_neigh_poll(lc, t);
	for (unsigned p = 0; p < gw->n_ports; p++) {
		n = rte_eth_rx_burst(gw->ports[p].id, (uint16_t)lc->shard, pkts, lc->burst);
		if (n == 0)
			continue;
		gw_cnt_add(&lc->cnt.ev[GW_EV_RX], n);
		gw_pkt_burst(lc, t, pkts, n, (int)p);
		total += n;
	}
	n = rte_ring_sc_dequeue_burst(lc->handoff, (void **)pkts, lc->burst, NULL);
	if (n != 0) {
		gw_cnt_add(&lc->cnt.ev[GW_EV_HANDOFF_IN], n);
		gw_pkt_burst(lc, t, pkts, n, -1);
		total += n;
	}
	gw_tx_flush(lc);
	gw_cnt_add(&lc->cnt.ev[GW_EV_POLLS], 1);
	return total;
}

int gw_lcore_main(void *arg)
{
	struct gw_lcore *lc = arg;
	struct gw *gw = lc->gw;

	uint32_t empty = 0, sleep_ns = 1000;

	rcu_register_thread();
	/* Sleeps of microseconds: without this the kernel may add its default
	 * 50 us of timer slack to each. */
	if (lc->idle_after != 0)
		prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	while (!atomic_load_explicit(&gw->stop, memory_order_relaxed)) {
		if (gw_lcore_poll(lc) != 0 || lc->idle_after == 0) {
			empty = 0;
			sleep_ns = 1000;
		} else if (++empty >= lc->idle_after) {
			/* Adaptive polling: nothing came for a while, so sleep,
			 * longer each empty poll up to the bound; the first
			 * packet brings back full-rate polling. Offline while
			 * asleep, so no grace period waits for this lcore. */
			struct timespec ts = { .tv_nsec = sleep_ns };

			rcu_thread_offline();
			nanosleep(&ts, NULL);
			rcu_thread_online();
			gw_cnt_add(&lc->cnt.ev[GW_EV_IDLE_SLEEPS], 1);
			if (sleep_ns < lc->idle_max_ns)
				sleep_ns = sleep_ns * 2 < lc->idle_max_ns ? sleep_ns * 2 : lc->idle_max_ns;
		}
		rcu_quiescent_state();
	}
	/* Unregistering takes the thread offline, so a grace period never
	 * waits for a stopped lcore. */
	rcu_unregister_thread();
	return 0;
}

int gw_launch(struct gw *gw)
{
	atomic_store(&gw->stop, false);
	for (unsigned k = 0; k < gw->n_lcores; k++) {
		int rc = rte_eal_remote_launch(gw_lcore_main, gw->lcores[k],
					       gw->lcores[k]->lcore_id);

		if (rc != 0) {
			fprintf(stderr, "daitn-gw: cannot launch lcore %u: %s\n",
				gw->lcores[k]->lcore_id, rte_strerror(-rc));
			atomic_store(&gw->stop, true);
			for (unsigned j = 0; j < k; j++)
				rte_eal_wait_lcore(gw->lcores[j]->lcore_id);
			return rc;
		}
	}
	gw->launched = true;
	return 0;
}

void gw_stop(struct gw *gw)
{
	if (!gw->launched)
		return;
	atomic_store(&gw->stop, true);
	for (unsigned k = 0; k < gw->n_lcores; k++)
		rte_eal_wait_lcore(gw->lcores[k]->lcore_id);
	gw->launched = false;
}
