/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the gateway's frame parser and everything behind it
 * (dataplane/gw: gw_pkt_burst -> ARP, ICMP, UDP, daitn and inference
 * headers, job checks, joins, the slot machine, inference routing). It runs
 * the real gateway of the gateway suites (tests/gw/gw_tu.c: an EAL with
 * --no-huge, two data lcores driven by this thread, a net_ring port, the test
 * policy with every job joined). The input is one Ethernet frame; its first
 * byte picks the RX queue it arrives on. Whatever it is, the frame ends in a
 * counted fate, what the gateway sends is well-formed, and nothing leaks:
 * every mbuf is back in the pool but those a deterministic job holds for
 * their rank's turn (docs/protocol.md section 5), which the lcores count.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "gw_priv.h"
#include "gw_tu.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void teardown(void)
{
	tu_teardown();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (tu_setup() != 0)
		abort();
	atexit(teardown);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rte_mbuf *m;
	unsigned n, queue;

	if (size < 1 || size > 1 + 9000)
		return 0;
	queue = data[0] & 1;
	data++;
	size--;
	m = rte_pktmbuf_alloc(tu.pool);
	assert(m != NULL);
	if (size > rte_pktmbuf_tailroom(m))
		size = rte_pktmbuf_tailroom(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)size), data, size);
	m->port = tu.port_id;
	tu_inject(queue, m);
	tu_poll();
	n = tu_collect();
	for (unsigned i = 0; i < n; i++) {
		/* A daitn answer parses as one. */
		if (tu_out[i].ethertype == 0x0800 &&
		    (tu_out[i].sport == TU_UDP_BASE || tu_out[i].sport == TU_UDP_BASE + 1) &&
		    tu_out[i].len >= 64 && tu_out[i].frame[45] < 16)
			assert(tu_out[i].check == DP_PROTO_CHECK_OK);
	}
	/* Every mbuf went back to the pool (none leaked by a fate), or is
	 * held, and counted, by a deterministic job. */
	unsigned held = 0;

	for (unsigned k = 0; k < TU_SHARDS; k++)
		held += tu.gw->lcores[k]->held -
			atomic_load(&tu.gw->lcores[k]->held_gone);
	assert(rte_mempool_in_use_count(tu.pool) == held);
	return 0;
}
