/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench-dp-sched: cost per packet of enqueue + dequeue through dp_sched and
 * through DPDK's rte_sched, on the same mbufs and the same traffic mix, in
 * one run; an rte_ring SP/SC round trip is the FIFO baseline. Run by
 * scripts/bench-sched.sh; not a test.
 *
 * Mix (deterministic): 10% control, 20% inference, 70% training spread over
 * J jobs with weights 1..4 and random layer bands; frames 64..1500 bytes.
 * Steady state: a backlog of B packets stays queued; every round enqueues a
 * burst of 32 and dequeues 32. rte_sched: one subport, one pipe, control in
 * TC0, inference in TC1, training jobs in the best-effort TC's 4 WRR queues
 * (job j -> queue j % 4: rte_sched has only four), port rate 100 Gbit/s so
 * shaping never binds. dp_sched: the same three classes, one leaf per job,
 * bands from the hint, no caps.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_sched.h>

#include "dp_sched.h"

#define BURST 32u
#define JOBS_MAX 64u

struct mix {
	uint32_t leaf;          /* 0 control, 1 inference, 2+j job j */
	uint8_t band;
	uint16_t len;
};

#define REPS 5u

static struct mix *mixes;
static unsigned n_jobs = 4, backlog = 256;
static uint64_t rounds = 200000;

static void
mix_build(unsigned n)
{
	uint64_t r = 88172645463325252ull;
	unsigned i;

	mixes = calloc(n, sizeof(*mixes));
	if (mixes == NULL)
		exit(1);
	for (i = 0; i < n; i++) {
		unsigned p;

		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		p = (unsigned)(r % 100);
		mixes[i].leaf = p < 10 ? 0 : p < 30 ? 1 : 2 + (unsigned)((r >> 8) % n_jobs);
		mixes[i].band = (uint8_t)((r >> 16) % 16);
		mixes[i].len = (uint16_t)(64 + (r >> 24) % 1437);
	}
}

static struct dp_sched *
dp_build(void)
{
	struct dp_sched_class_conf cc[3] = {
		{ .priority = 0, .weight = 1 }, { .priority = 1, .weight = 1 },
		{ .priority = 2, .weight = 1 } };
	struct dp_sched_leaf_conf lf[2 + JOBS_MAX];
	struct dp_sched_conf conf = { .n_classes = 3, .classes = cc, .n_leaves = 2 + n_jobs,
		.leaves = lf };
	unsigned i;

	for (i = 0; i < 2 + n_jobs; i++)
		lf[i] = (struct dp_sched_leaf_conf){ .cls = i < 2 ? i : 2,
			.weight = i < 2 ? 1 : 1 + (i - 2) % 4, .tenant = DP_SCHED_NONE,
			.queue_len = 4096 };
	return dp_sched_create(&conf);
}

static struct rte_sched_port *
rs_build(void)
{
	static struct rte_sched_pipe_params pipe = {
		.tb_rate = 12500000000ull, .tb_size = 1000000, .tc_period = 10,
		.tc_ov_weight = 1, .wrr_weights = { 1, 2, 3, 4 } };
	static struct rte_sched_subport_profile_params spp = {
		.tb_rate = 12500000000ull, .tb_size = 1000000, .tc_period = 10 };
	struct rte_sched_subport_params sp = { .n_pipes_per_subport_enabled = 1,
		.pipe_profiles = &pipe, .n_pipe_profiles = 1, .n_max_pipe_profiles = 1 };
	struct rte_sched_port_params pp = { .name = "bench_rs", .socket = (int)rte_socket_id(),
		.rate = 12500000000ull, .mtu = 1522, .frame_overhead = RTE_SCHED_FRAME_OVERHEAD_DEFAULT,
		.n_subports_per_port = 1, .subport_profiles = &spp, .n_subport_profiles = 1,
		.n_max_subport_profiles = 1, .n_pipes_per_subport = 1 };
	struct rte_sched_port *port;
	unsigned i;

	for (i = 0; i < RTE_SCHED_TRAFFIC_CLASSES_PER_PIPE; i++) {
		pipe.tc_rate[i] = spp.tc_rate[i] = 12500000000ull;
		sp.qsize[i] = 4096;
	}
	port = rte_sched_port_config(&pp);
	if (port == NULL)
		return NULL;
	if (rte_sched_subport_config(port, 0, &sp, 0) != 0 ||
	    rte_sched_pipe_config(port, 0, 0, 0) != 0) {
		rte_sched_port_free(port);
		return NULL;
	}
	return port;
}

static void
rs_classify(struct rte_sched_port *port, struct rte_mbuf *m, const struct mix *x)
{
	uint32_t tc = x->leaf == 0 ? 0 : x->leaf == 1 ? 1 : RTE_SCHED_TRAFFIC_CLASS_BE;
	uint32_t q = x->leaf >= 2 ? (x->leaf - 2) % 4 : 0;

	m->pkt_len = m->data_len = x->len;
	rte_sched_port_pkt_write(port, m, 0, 0, tc, q, RTE_COLOR_GREEN);
}

/* Packets not queued: each variant takes from and returns to this stack, so
 * an mbuf is never queued twice (rte_sched would be corrupted). */
struct pool {
	void **free;
	unsigned n_free;
};

static void
pool_init(struct pool *p, struct rte_mbuf **mb, unsigned n_mb)
{
	p->free = (void **)mb;
	p->n_free = n_mb;
}

/*
 * Each variant: queue the backlog, then rounds of "enqueue BURST from the
 * stack, dequeue up to BURST, return them to the stack", so the backlog
 * stays put. Returns cycles per packet dequeued (enqueue + dequeue +
 * classification, everything in the loop).
 */
static double
run_dp(struct pool *p, uint64_t *out_pkts)
{
	struct dp_sched *s = dp_build();
	struct dp_sched_pkt in[BURST];
	void *out[BURST], *dropped[BURST];
	unsigned next = 0, i, n, k;
	uint64_t deq = 0, t0, r, now = 0;

	for (i = 0; i < backlog; i++, next++) {
		const struct mix *x = &mixes[next % backlog];

		in[0] = (struct dp_sched_pkt){ .pkt = p->free[--p->n_free], .len = x->len,
			.leaf = x->leaf, .band = x->band };
		dp_sched_enqueue(s, in, 1, dropped);
	}
	t0 = rte_rdtsc();
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < BURST && p->n_free != 0; i++, next++) {
			const struct mix *x = &mixes[next % backlog];

			in[i] = (struct dp_sched_pkt){ .pkt = p->free[--p->n_free], .len = x->len,
				.leaf = x->leaf, .band = x->band };
		}
		k = dp_sched_enqueue(s, in, i, dropped);
		while (k--)
			p->free[p->n_free++] = dropped[k];
		n = dp_sched_dequeue(s, now += 100, out, NULL, BURST);
		for (i = 0; i < n; i++)
			p->free[p->n_free++] = out[i];
		deq += n;
	}
	t0 = rte_rdtsc() - t0;
	while ((n = dp_sched_flush(s, out, BURST)) != 0)
		while (n--)
			p->free[p->n_free++] = out[n];
	dp_sched_free(s);
	*out_pkts = deq;
	return (double)t0 / (double)deq;
}

static double
run_rs(struct pool *p, uint64_t *out_pkts)
{
	struct rte_sched_port *port = rs_build();
	struct rte_mbuf *in[BURST], *out[BURST];
	unsigned next = 0, i;
	uint64_t deq = 0, t0, r;
	int n;

	if (port == NULL) {
		fprintf(stderr, "bench: rte_sched_port_config failed: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	for (i = 0; i < backlog; i++, next++) {
		in[0] = p->free[--p->n_free];
		rs_classify(port, in[0], &mixes[next % backlog]);
		rte_sched_port_enqueue(port, in, 1);
	}
	t0 = rte_rdtsc();
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < BURST && p->n_free != 0; i++, next++) {
			in[i] = p->free[--p->n_free];
			rs_classify(port, in[i], &mixes[next % backlog]);
		}
		/* rte_sched frees what it cannot queue; with 4096-deep queues
		 * and this backlog nothing is refused. */
		rte_sched_port_enqueue(port, in, i);
		n = rte_sched_port_dequeue(port, out, BURST);
		for (i = 0; i < (unsigned)n; i++)
			p->free[p->n_free++] = out[i];
		deq += (uint64_t)n;
	}
	t0 = rte_rdtsc() - t0;
	while ((n = rte_sched_port_dequeue(port, out, BURST)) > 0)
		while (n--)
			p->free[p->n_free++] = out[n];
	rte_sched_port_free(port);
	*out_pkts = deq;
	return (double)t0 / (double)deq;
}

static double
run_ring(struct pool *p, uint64_t *out_pkts)
{
	struct rte_ring *ring = rte_ring_create("bench_fifo", 8192, (int)rte_socket_id(),
						RING_F_SP_ENQ | RING_F_SC_DEQ);
	void *out[BURST];
	unsigned i, n;
	uint64_t deq = 0, t0, r;

	if (ring == NULL)
		return -1;
	for (i = 0; i < backlog; i++)
		rte_ring_sp_enqueue(ring, p->free[--p->n_free]);
	t0 = rte_rdtsc();
	for (r = 0; r < rounds; r++) {
		n = p->n_free < BURST ? p->n_free : BURST;
		rte_ring_sp_enqueue_burst(ring, &p->free[p->n_free - n], n, NULL);
		p->n_free -= n;
		n = rte_ring_sc_dequeue_burst(ring, out, BURST, NULL);
		for (i = 0; i < n; i++)
			p->free[p->n_free++] = out[i];
		deq += n;
	}
	t0 = rte_rdtsc() - t0;
	while ((n = rte_ring_sc_dequeue_burst(ring, out, BURST, NULL)) != 0)
		while (n--)
			p->free[p->n_free++] = out[n];
	rte_ring_free(ring);
	*out_pkts = deq;
	return (double)t0 / (double)deq;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct rte_mempool *mp;
	struct rte_mbuf **mb;
	struct pool pool;
	unsigned n_mb, i;
	static const char *const names[3] = { "fifo (rte_ring sp/sc)", "dp_sched", "rte_sched" };
	double hz, c[3][REPS];
	uint64_t pkts = 0;
	unsigned rep;
	int rc = rte_eal_init(argc, argv);

	if (rc < 0) {
		fprintf(stderr, "bench: rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= rc;
	argv += rc;
	if (argc > 1)
		n_jobs = (unsigned)atoi(argv[1]);
	if (argc > 2)
		backlog = (unsigned)atoi(argv[2]);
	if (argc > 3)
		rounds = strtoull(argv[3], NULL, 0);
	if (n_jobs < 1 || n_jobs > JOBS_MAX || backlog < BURST || backlog > 4000) {
		fprintf(stderr, "usage: bench-dp-sched [EAL args] -- [JOBS 1..64] [BACKLOG 32..4000] "
			"[ROUNDS]\n");
		return 2;
	}
	/* Enough mbufs for the backlog plus a burst in flight: each packet is
	 * queued at most once at a time (rte_sched would corrupt otherwise). */
	n_mb = backlog + 2 * BURST;
	mix_build(backlog);
	mp = rte_pktmbuf_pool_create("bench_mb", n_mb + 64, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     (int)rte_socket_id());
	mb = calloc(n_mb, sizeof(*mb));
	if (mp == NULL || mb == NULL || rte_pktmbuf_alloc_bulk(mp, mb, n_mb) != 0) {
		fprintf(stderr, "bench: no mbufs: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	hz = (double)rte_get_tsc_hz();
	pool_init(&pool, mb, n_mb);
	/* Interleaved repetitions: the machine is shared, so report the best
	 * (least disturbed) and the median of each variant. */
	for (rep = 0; rep < REPS; rep++) {
		c[0][rep] = run_ring(&pool, &pkts);
		c[1][rep] = run_dp(&pool, &pkts);
		c[2][rep] = run_rs(&pool, &pkts);
		if (c[0][rep] < 0 || c[1][rep] < 0 || c[2][rep] < 0)
			return 1;
	}
	printf("%-22s %12s %12s %10s\n", "variant", "best cyc/pkt", "median", "best ns");
	for (i = 0; i < 3; i++) {
		qsort(c[i], REPS, sizeof(double), cmp_double);
		printf("%-22s %12.1f %12.1f %10.1f\n", names[i], c[i][0], c[i][REPS / 2],
		       c[i][0] * 1e9 / hz);
	}
	printf("rte_sched / dp_sched = %.2f (best), %.2f (median)\n", c[2][0] / c[1][0],
	       c[2][REPS / 2] / c[1][REPS / 2]);
	printf("jobs=%u backlog=%u burst=%u rounds=%" PRIu64 " reps=%u pkts/rep=%" PRIu64
	       " tsc_hz=%.0f\n", n_jobs, backlog, BURST, rounds, REPS, pkts, hz);
	for (i = 0; i < n_mb; i++)
		rte_pktmbuf_free(mb[i]);
	free(mb);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return 0;
}
