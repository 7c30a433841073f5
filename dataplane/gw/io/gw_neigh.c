/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The neighbour table: which Ethernet address (and gateway port) each policy
 * node's IPv4 address is bound to (docs/security.md, section 1).
 *
 * An entry is bound by the gateway's own ARP resolution (a reply to a request
 * it sent, the first one wins) or pinned by the policy ("mac" of a node).
 * Nothing else changes it: no GRAD, HELLO, LEAVE or inference frame, and no
 * later ARP naming another address (counted as a conflict). Frames from a
 * node must come from its bound address on its bound port (gw_neigh_check());
 * results and activations go to that address only.
 *
 * Threads: entries are created and re-pinned by the control thread applying a
 * policy (under ctl_lock), bound by whichever data lcore receives the ARP
 * reply (one compare-and-swap), and asked for by shard 0's lcore, which alone
 * sends requests. Entries are never freed while the gateway lives, so a slot
 * index stays valid for any table version that names it.
 */
#include <string.h>

#include <rte_arp.h>
#include <rte_malloc.h>

#include "gw_priv.h"

#define NEIGH_ASK_EVERY_MS 1000u    /* first ARP retry interval per unresolved node */
#define NEIGH_BACKOFF_MAX 6u        /* retries back off up to 64 x that */
#define NEIGH_SCAN_EVERY_MS 1u      /* shard 0 looks at a few entries this often */
#define NEIGH_SCAN_BATCH 64u        /* entries looked at per scan */
#define NEIGH_ASK_BATCH 8u          /* entries asked for per scan: 8000 a second */
#define NEIGH_REPLY_WINDOW_MS 1000u /* a reply binds only this soon after a request */

static inline uint32_t neigh_hash(uint32_t ip_be)
{
	return (ip_be * 2654435761u) >> (32 - GW_NEIGH_BITS);
}

int gw_neigh_init(struct gw *gw)
{
	gw->neigh = calloc(GW_NEIGH_MAX, sizeof(*gw->neigh));
	return gw->neigh != NULL ? 0 : -ENOMEM;
}

void gw_neigh_fini(struct gw *gw)
{
	free(gw->neigh);
	gw->neigh = NULL;
}

/* Any thread: the entry of ip_be, or UINT32_MAX. */
static uint32_t neigh_find(const struct gw *gw, uint32_t ip_be)
{
	for (uint32_t i = neigh_hash(ip_be), n = 0; n < GW_NEIGH_MAX;
	     i = (i + 1) & (GW_NEIGH_MAX - 1), n++) {
		uint32_t e = atomic_load_explicit(&gw->neigh[i].ip_be, memory_order_acquire);

		if (e == ip_be)
			return i;
		if (e == 0)
			break;
	}
	return UINT32_MAX;
}

/* Main: the entry of ip_be, created if there is none; UINT32_MAX when full. */
static uint32_t neigh_get(struct gw *gw, uint32_t ip_be)
{
	uint32_t i = neigh_find(gw, ip_be);

	if (i != UINT32_MAX)
		return i;
	if (gw->n_neigh >= GW_NEIGH_MAX / 2)
		return UINT32_MAX;   /* keep probe chains short */
	for (i = neigh_hash(ip_be);; i = (i + 1) & (GW_NEIGH_MAX - 1))
		if (atomic_load_explicit(&gw->neigh[i].ip_be, memory_order_relaxed) == 0)
			break;
	atomic_store_explicit(&gw->neigh[i].word, 0, memory_order_relaxed);
	gw->neigh[i].gen = UINT64_MAX;          /* in no tables yet */
	atomic_store_explicit(&gw->neigh[i].ip_be, ip_be, memory_order_release);
	gw->n_neigh++;
	return i;
}

int gw_neigh_bind(struct gw *gw, struct gw_tables *t, char *err, size_t err_size)
{
	const struct cp_policy *p = t->policy;

	t->node_neigh = calloc(p->n_nodes + 1, sizeof(*t->node_neigh));
	if (t->node_neigh == NULL) {
		snprintf(err, err_size, "out of memory for the neighbour table");
		return -ENOMEM;
	}
	for (uint32_t n = 0; n < p->n_nodes; n++) {
		uint32_t i = neigh_get(gw, rte_cpu_to_be_32(p->nodes[n].ip));

		if (i == UINT32_MAX) {
			snprintf(err, err_size, "the neighbour table is full (%u addresses since the "
				 "gateway started); restart it to forget old ones", gw->n_neigh);
			return -ENOSPC;
		}
		t->node_neigh[n] = i;
	}
	return 0;
}

void gw_neigh_pin(struct gw *gw, const struct gw_tables *t)
{
	const struct cp_policy *p = t->policy;

	for (uint32_t n = 0; n < p->n_nodes; n++) {
		const struct cp_node *nd = &p->nodes[n];
		struct gw_neigh *e = &gw->neigh[t->node_neigh[n]];
		uint64_t pin = 0;

		if (nd->has_mac)
			pin = gw_mac_word(nd->mac, 0);
		if (e->gen != gw->gen) {
			/* Not in the running tables (new, or back after a
			 * policy without it): nothing it was bound to holds. */
			atomic_store_explicit(&e->pin, pin, memory_order_relaxed);
			atomic_store_explicit(&e->asked, 0, memory_order_relaxed);
			atomic_store_explicit(&e->word, pin != 0 && gw->n_ports == 1 ? pin : 0,
					      memory_order_release);
		} else if (pin != atomic_load_explicit(&e->pin, memory_order_relaxed)) {
			/* Pinned, unpinned or re-pinned: bind anew. With one
			 * port a pin needs no ARP at all; with more, the ARP
			 * reply from the pinned address tells the port. */
			atomic_store_explicit(&e->pin, pin, memory_order_relaxed);
			atomic_store_explicit(&e->asked, 0, memory_order_relaxed);
			atomic_store_explicit(&e->word, pin != 0 && gw->n_ports == 1 ? pin : 0,
					      memory_order_release);
		} else if (pin == 0 &&
			   atomic_load_explicit(&e->conflicts, memory_order_relaxed) != e->conflicts_seen) {
			/* Someone else claimed the address since the last
			 * policy: a reload is the operator's word to resolve
			 * it again (a host replaced under the same IP). */
			atomic_store_explicit(&e->asked, 0, memory_order_relaxed);
			atomic_store_explicit(&e->word, 0, memory_order_release);
		}
		e->conflicts_seen = atomic_load_explicit(&e->conflicts, memory_order_relaxed);
		e->gen = t->gen;
	}
}

enum dp_drop gw_neigh_arp(struct gw_lcore *lc, const struct rte_ether_hdr *eth,
			  const struct rte_arp_hdr *arp, unsigned port)
{
	struct gw *gw = lc->gw;
	const struct gw_port *gp = &gw->ports[port];
	uint32_t i = neigh_find(gw, arp->arp_data.arp_sip);
	uint64_t want = gw_mac_word(arp->arp_data.arp_sha.addr_bytes, port), sha = want & GW_MAC_ADDR_MASK;
	uint64_t pin, cur, asked;
	struct gw_neigh *e;

	if (i == UINT32_MAX)
		return DP_DROP_ARP_IGNORED;
	e = &gw->neigh[i];
	pin = atomic_load_explicit(&e->pin, memory_order_relaxed);
	cur = atomic_load_explicit(&e->word, memory_order_acquire);
	if (cur == want)
		return DP_DROP_ARP_IGNORED;
	if (cur == 0 && (pin == 0 || (pin & GW_MAC_ADDR_MASK) == sha)) {
		/* Only an answer to our own question binds an entry: a reply
		 * to this port's address and MAC, from the MAC it names,
		 * within a second of our latest request for it. */
		asked = atomic_load_explicit(&e->asked, memory_order_relaxed);
		if (arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REPLY) || asked == 0 ||
		    gw_now(gw) - (asked & ~1ull) > rte_get_tsc_hz() / 1000 * NEIGH_REPLY_WINDOW_MS ||
		    arp->arp_data.arp_tip != gp->ip_be ||
		    !rte_is_same_ether_addr(&arp->arp_data.arp_tha, &gp->mac) ||
		    !rte_is_same_ether_addr(&eth->src_addr, &arp->arp_data.arp_sha))
			return DP_DROP_ARP_IGNORED;
		if (atomic_compare_exchange_strong_explicit(&e->word, &cur, want,
							    memory_order_release,
							    memory_order_relaxed))
			return DP_DROP_ARP_RESOLVED;
		if (cur == want)
			return DP_DROP_ARP_IGNORED;
	}
	if (cur == 0 && pin == 0)
		return DP_DROP_ARP_IGNORED;
	/* Another address (or port) for a bound or pinned node: counted and
	 * shown (/daitn/nodes), never followed. */
	atomic_store_explicit(&e->conflict_mac, want, memory_order_relaxed);
	atomic_fetch_add_explicit(&e->conflicts, 1, memory_order_relaxed);
	return DP_DROP_ARP_CONFLICT;
}

/* An ARP request for ip_be out of port p, from shard 0's TX queue. */
static void neigh_ask(struct gw_lcore *lc, unsigned p, uint32_t ip_be)
{
	const struct gw_port *gp = &lc->gw->ports[p];
	struct rte_mbuf *m = rte_pktmbuf_alloc(lc->hdr_pool);
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;

	if (m == NULL) {
		gw_cnt_add(&lc->cnt.ev[GW_EV_FANOUT_NOBUF], 1);
		return;
	}
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	arp = (struct rte_arp_hdr *)(eth + 1);
	memset(eth->dst_addr.addr_bytes, 0xff, RTE_ETHER_ADDR_LEN);
	eth->src_addr = gp->mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = gp->mac;
	arp->arp_data.arp_sip = gp->ip_be;
	memset(&arp->arp_data.arp_tha, 0, RTE_ETHER_ADDR_LEN);
	arp->arp_data.arp_tip = ip_be;
	/* The minimum frame without its FCS, zero-padded. */
	memset(arp + 1, 0, RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN - sizeof(*eth) - sizeof(*arp));
	m->data_len = RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN;
	m->pkt_len = m->data_len;
	gw_tx_enqueue(lc, p, m);
	gw_cnt_add(&lc->cnt.ev[GW_EV_ARP_ASKED], 1);
}

void gw_neigh_poll(struct gw_lcore *lc, const struct gw_tables *t)
{
	struct gw *gw = lc->gw;
	uint64_t now, hz;
	uint32_t n;

	if (lc->shard != 0 || t == NULL || t->policy->n_nodes == 0)
		return;
	now = gw_now(gw);
	hz = rte_get_tsc_hz();
	if (gw->neigh_scan != 0 && now - gw->neigh_scan < hz / 1000 * NEIGH_SCAN_EVERY_MS)
		return;
	gw->neigh_scan = now;
	n = t->policy->n_nodes;
	for (uint32_t k = 0, asks = 0; k < NEIGH_SCAN_BATCH && k < n && asks < NEIGH_ASK_BATCH;
	     k++) {
		struct gw_neigh *e;
		uint64_t asked, wait;

		if (gw->neigh_cursor >= n)
			gw->neigh_cursor = 0;
		e = &gw->neigh[t->node_neigh[gw->neigh_cursor++]];
		if (atomic_load_explicit(&e->word, memory_order_relaxed) != 0)
			continue;
		asked = atomic_load_explicit(&e->asked, memory_order_relaxed);
		if (asked == 0)
			e->tries = 0;
		wait = atomic_load_explicit(&e->want, memory_order_relaxed) ? 1
			: 1ull << RTE_MIN(e->tries, NEIGH_BACKOFF_MAX);
		if (asked != 0 && now - (asked & ~1ull) < hz / 1000 * NEIGH_ASK_EVERY_MS * wait)
			continue;
		atomic_store_explicit(&e->want, 0, memory_order_relaxed);
		atomic_store_explicit(&e->asked, now | 1, memory_order_relaxed);
		e->tries++;
		asks++;
		for (unsigned p = 0; p < gw->n_ports; p++)
			neigh_ask(lc, p, atomic_load_explicit(&e->ip_be, memory_order_relaxed));
	}
}

uint64_t gw_neigh_word(const struct gw *gw, const struct gw_tables *t, uint32_t node,
		       uint64_t *conflicts)
{
	const struct gw_neigh *e;

	if (t == NULL || node >= t->policy->n_nodes) {
		*conflicts = 0;
		return 0;
	}
	e = &gw->neigh[t->node_neigh[node]];
	*conflicts = atomic_load_explicit(&e->conflicts, memory_order_relaxed);
	return atomic_load_explicit(&e->word, memory_order_relaxed) |
	       (atomic_load_explicit(&e->pin, memory_order_relaxed) != 0 ? GW_MAC_PINNED : 0);
}
