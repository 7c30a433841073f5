/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitn-gw-bench: the data-plane benchmark (scripts/bench-dataplane.sh).
 *
 * One lcore, the gateway's data lcore, runs everything, run to completion
 * (the main lcore only sets up and sleeps): a generator writes the
 * chunks of N workers (1 KiB float32 payloads) into the RX ring of a net_ring
 * port, gw_lcore_poll() runs the real pipeline (parse, validate, slot state
 * machine, kernels, fan-out of every result to all N workers, TX), and a sink
 * drains and frees the TX ring. rdtsc around each phase separates the
 * pipeline's cycles from the generator's and the sink's, so the report has a
 * pipeline-only rate and a whole-loop rate. In the same run an "ideal loop"
 * (allocate an mbuf, add its 1 KiB into an accumulator, free it: no parsing,
 * no slots, no TX) gives the baseline.
 *
 *   daitn-gw-bench [EAL args] -- [--seconds S] [--workers N] [--window SLOTS]
 *                                [--burst B] [--auth-compare | --det-compare |
 *                                 --fedavg-compare]
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include <urcu-qsbr.h>

#include "cp_policy.h"
#include "dp_proto.h"
#include "gw.h"
#include "gw_bench_gen.h"
#include "gw_eal.h"
#include "kn_sum.h"

struct bench_opts {
	double seconds;
	double ideal_seconds;        /* 0: skip the ideal loop (profiling) */
	unsigned samples;            /* pipeline + ideal measurements, alternated */
	unsigned workers;
	unsigned window;             /* slot indices the generator cycles over */
	unsigned burst;              /* frames the generator enqueues per iteration */
	enum { CMP_NONE, CMP_AUTH, CMP_DET, CMP_FEDAVG } compare;
	/* CMP_AUTH: jobs 1..3 without a key, header and payload tags;
	 * CMP_DET: job 1 ordinary, jobs 2 and 3 deterministic, job 3's ranks
	 * arriving highest first (every chunk but the last held);
	 * CMP_FEDAVG: job 1 ordinary, job 2 fedavg (each chunk's weight
	 * checked), job 3 fedavg and deterministic, in rank order. */
};

struct phase {
	uint64_t cycles;
	uint64_t pkts;
};

static struct gw_bench_port bp;
/* Built in main(), read by the generator: job 1, and with --auth-compare
 * jobs 2 (tags cover headers) and 3 (tags cover payloads too). */
static struct gw_bench_gen_tmpl tmpl[3];
static struct dp_auth_key keys[3];

#define BENCH_MODES 3
/* By compare - 1 (CMP_AUTH, CMP_DET, CMP_FEDAVG). */
static const char *const mode_names[3][BENCH_MODES] = {
	{ "no key", "key, tags cover headers", "key, tags cover payloads" },
	{ "ordinary", "rank-order fold, in order", "rank-order fold, reversed" },
	{ "ordinary", "fedavg (weights checked)", "fedavg, rank-order fold" },
};
static const char *const mode_heads[3][BENCH_MODES] = {
	{ "no key", "header tags", "payload tags" },
	{ "ordinary", "det. in order", "det. reversed" },
	{ "ordinary", "fedavg", "fedavg, det." },
};
static const char *const compare_names[3] = { "auth", "det", "fedavg" };

static int opts_parse(int argc, char **argv, struct bench_opts *o)
{
	static const struct option lo[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "workers", required_argument, NULL, 'w' },
		{ "window", required_argument, NULL, 'n' },
		{ "burst", required_argument, NULL, 'b' },
		{ "ideal-seconds", required_argument, NULL, 'i' },
		{ "samples", required_argument, NULL, 'k' },
		{ "auth-compare", no_argument, NULL, 'a' },
		{ "det-compare", no_argument, NULL, 'd' },
		{ "fedavg-compare", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct bench_opts){ .seconds = 1.0, .ideal_seconds = -1, .samples = 5,
				  .workers = 8, .window = 512, .burst = 32 };
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': o->seconds = atof(optarg); break;
		case 'w': o->workers = (unsigned)atoi(optarg); break;
		case 'n': o->window = (unsigned)atoi(optarg); break;
		case 'b': o->burst = (unsigned)atoi(optarg); break;
		case 'i': o->ideal_seconds = atof(optarg); break;
		case 'k': o->samples = (unsigned)atoi(optarg); break;
		case 'a': o->compare = CMP_AUTH; break;
		case 'd': o->compare = CMP_DET; break;
		case 'f': o->compare = CMP_FEDAVG; break;
		default: return -EINVAL;
		}
	}
	if (o->ideal_seconds < 0)
		o->ideal_seconds = o->seconds;
	if (o->samples < 1 || o->samples > 50 || o->seconds * o->samples > 60 ||
	    o->seconds <= 0 || o->seconds > 60 || o->ideal_seconds > 60 || o->workers < 1 || o->workers > 64 ||
	    o->window < 1 || o->window > 8192 || o->burst < 1 || o->burst > 256) {
		fprintf(stderr, "daitn-gw-bench: --seconds 0..60 (x --samples 1..50: 60 s at "
			"most), --workers 1..64, --window 1..8192, --burst 1..256\n");
		return -EINVAL;
	}
	return 0;
}

/* Job 1 of `workers` workers (10.8.1.w, pinned MACs); with a comparison
 * also jobs 2 and 3 on the next UDP ports: keyed (keys[1], keys[2]: the key
 * is set on the parsed policy, as a key_file would) or deterministic. */
static int policy_apply(struct gw *gw, const struct cp_gw_config *cfg, unsigned workers,
			int compare)
{
	unsigned n_jobs = compare == CMP_NONE ? 1 : 3;
	char json[32768], err[256];
	size_t o = 0;
	struct cp_diags diags = { 0 };
	struct cp_limits lim;
	struct cp_policy *p;
	int rc;

	o += (size_t)snprintf(json + o, sizeof(json) - o, "{\"version\": 1, \"nodes\": [");
	for (unsigned w = 0; w < workers; w++)
		o += (size_t)snprintf(json + o, sizeof(json) - o,
				      "%s{\"id\": \"b%u\", \"ip\": \"10.8.1.%u\", \"roles\": [\"worker\"], "
				      "\"mac\": \"02:00:00:00:01:%02x\"}", w ? "," : "", w, w, w);
	o += (size_t)snprintf(json + o, sizeof(json) - o, "], \"jobs\": [");
	for (unsigned j = 1; j <= n_jobs; j++) {
		o += (size_t)snprintf(json + o, sizeof(json) - o, "%s{\"id\": %u, \"dtype\": "
				      "\"float32\", \"chunk_size\": %u, \"slot_memory\": \"16MiB\", "
				      "\"workers\": [", j > 1 ? "," : "", j, GW_BENCH_PAYLOAD);
		for (unsigned w = 0; w < workers; w++)
			o += (size_t)snprintf(json + o, sizeof(json) - o,
					      "%s{\"rank\": %u, \"node\": \"b%u\", \"port\": %u}",
					      w ? "," : "", w, w, GW_BENCH_W_PORT + j - 1);
		o += (size_t)snprintf(json + o, sizeof(json) - o, "]}");
	}
	snprintf(json + o, sizeof(json) - o, "]}");
	cp_limits_from_config(cfg, &lim);
	rc = cp_policy_parse(json, strlen(json), "bench-policy", &lim, &p, &diags);
	cp_diags_print(&diags, stderr);
	cp_diags_free(&diags);
	if (rc != 0)
		return rc;
	for (unsigned j = 1; j < n_jobs; j++) {
		uint8_t kb[DP_AUTH_KEY_SIZE];

		if (compare == CMP_DET) {
			p->jobs[j].deterministic = true;
			continue;
		}
		if (compare == CMP_FEDAVG) {
			/* The generator's payload is all 1.0f: its last element is a
			 * valid weight. */
			p->jobs[j].fedavg = true;
			p->jobs[j].deterministic = j == 2;
			continue;
		}
		for (unsigned i = 0; i < sizeof(kb); i++)
			kb[i] = (uint8_t)(0x40 + 16 * j + i);
		p->jobs[j].keyed = true;
		p->jobs[j].auth_cover = j == 1 ? DP_AUTH_COVER_HEADER : DP_AUTH_COVER_PAYLOAD;
		memcpy(p->jobs[j].key, kb, sizeof(kb));
		dp_auth_key_set(&keys[j], kb, (enum dp_auth_cover)p->jobs[j].auth_cover);
	}
	rc = gw_policy_apply(gw, p, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "daitn-gw-bench: %s\n", err);
		cp_policy_free(p);
	}
	return rc;
}

/* Check a result of every sink burst; say so on a wrong sum. Returns -1 then. */
static int sink_check(struct gw_bench_sink *sk)
{
	if (gw_bench_sink_burst(sk) >= 0)
		return 0;
	fprintf(stderr, "daitn-gw-bench: wrong sum %g (want %u)\n", sk->wrong, sk->workers);
	return -1;
}

/* Iterations longer than this were interrupted or preempted (the machine
 * is shared): they are left out of the filtered figures and counted. */
#define SLICE_MAX_US 100

static void ideal_loop(double seconds, struct phase *out, struct phase *raw)
{
	const struct kn_ops *k = kn_ops_get();
	float acc[GW_BENCH_ELEMS] __rte_aligned(64);
	struct rte_mbuf *m[32];
	uint64_t hz = rte_get_tsc_hz(), start = rte_rdtsc(), end = start + (uint64_t)(seconds * hz);
	uint64_t slice_max = hz * SLICE_MAX_US / 1000000, t0 = start, t1;

	memset(acc, 0, sizeof(acc));
	*out = (struct phase){ 0 };
	*raw = (struct phase){ 0 };
	while (t0 < end) {
		if (rte_pktmbuf_alloc_bulk(bp.pool, m, 32) != 0)
			break;
		for (unsigned i = 0; i < 32; i++)
			k->sum_f32(acc, rte_pktmbuf_mtod_offset(m[i], const float *,
								DP_PROTO_FRAME_HDR_SIZE), GW_BENCH_ELEMS);
		rte_pktmbuf_free_bulk(m, 32);
		t1 = rte_rdtsc();
		raw->pkts += 32;
		if (t1 - t0 <= slice_max) {
			out->pkts += 32;
			out->cycles += t1 - t0;
		}
		t0 = t1;
	}
	raw->cycles = t0 - start;
	if (acc[0] < 0)   /* keep the sums observable */
		printf("%g\n", acc[0]);
}

static double mpps(const struct phase *p)
{
	return p->cycles ? (double)p->pkts / ((double)p->cycles / (double)rte_get_tsc_hz()) / 1e6 : 0;
}

/* One measurement: generator -> gw_lcore_poll() -> sink, then the ideal loop. */
struct sample {
	struct phase pipe, whole, all, ideal, ideal_all;
	uint64_t gen_cycles, sink_cycles, iters, skipped;
};

static int sample_run(struct gw *gw, struct gw_bench_gen *g, const struct bench_opts *o,
		      struct sample *out, struct gw_bench_sink *sk)
{
	struct gw_lcore *lc = gw_lcore_get(gw, 0);
	uint64_t hz = rte_get_tsc_hz(), t0, t1, t2, t3, end;
	uint64_t slice_max = hz * SLICE_MAX_US / 1000000;
	unsigned n;

	memset(out, 0, sizeof(*out));
	t0 = rte_rdtsc();
	end = t0 + (uint64_t)(o->seconds * (double)hz);
	out->all.cycles = t0;
	while (t0 < end) {
		gw_bench_gen_burst(g, o->burst);
		t1 = rte_rdtsc();
		n = gw_lcore_poll(lc);
		rcu_quiescent_state();
		t2 = rte_rdtsc();
		if (sink_check(sk) < 0)
			return -1;
		t3 = rte_rdtsc();
		out->iters++;
		out->all.pkts += n;
		if (t3 - t0 > slice_max) {
			out->skipped++;
		} else {
			out->gen_cycles += t1 - t0;
			out->pipe.cycles += t2 - t1;
			out->sink_cycles += t3 - t2;
			out->pipe.pkts += n;
		}
		t0 = t3;
	}
	out->all.cycles = t0 - out->all.cycles;
	out->whole.pkts = out->pipe.pkts;
	out->whole.cycles = out->gen_cycles + out->pipe.cycles + out->sink_cycles;
	if (o->ideal_seconds > 0)
		ideal_loop(o->ideal_seconds, &out->ideal, &out->ideal_all);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median and best of one figure over the samples. */
static void summary(const char *what, const double *v, unsigned n, const double *ratio)
{
	double s[64], r[64];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	printf("  %-38s median %6.2f Mpps %6.1f Gbit/s, best %6.2f Mpps %6.1f Gbit/s",
	       what, s[n / 2], s[n / 2] * GW_BENCH_PAYLOAD * 8 / 1e3, s[n - 1],
	       s[n - 1] * GW_BENCH_PAYLOAD * 8 / 1e3);
	if (ratio != NULL) {
		memcpy(r, ratio, n * sizeof(*ratio));
		qsort(r, n, sizeof(*r), cmp_double);
		printf(", %.2fx / %.2fx ideal", r[n / 2], r[n - 1]);
	}
	printf("\n");
}

static int bench_run(struct gw *gw, const struct bench_opts *o)
{
	struct gw_lcore *lc = gw_lcore_get(gw, 0);
	struct gw_bench_gen g = { .pool = bp.pool, .rx = bp.rx, .tmpl = &tmpl[0],
				  .workers = o->workers, .window = o->window };
	struct gw_bench_sink sk = { .tx = bp.tx, .workers = o->workers };
	double pipe[64], whole[64], all[64], ideal[64], r_pipe[64], r_whole[64];
	uint64_t results, completed, in, pkts = 0, cyc_gen = 0, cyc_pipe = 0, cyc_sink = 0;
	struct gw_stats st0, st1;
	struct sample sm;

	/* The workers join job 1 (its run starts), then warm up (first touch
	 * of pools and slots), then measure. */
	if (gw_bench_join(gw, &bp, &tmpl[0], o->workers, NULL, &g.lap, NULL) != 0) {
		fprintf(stderr, "daitn-gw-bench: the workers could not join job 1\n");
		return 1;
	}
	for (int i = 0; i < 2000; i++) {
		gw_bench_gen_burst(&g, o->burst);
		gw_lcore_poll(lc);
		if (sink_check(&sk) < 0)
			return 1;
	}
	printf("daitn-gw-bench: %u workers, 1 KiB float32 chunks, window %u slots, burst %u, "
	       "kernels %s, TSC %.2f GHz, %u samples of %.1f s pipeline + %.1f s ideal loop\n",
	       o->workers, o->window, o->burst, kn_ops_get()->name,
	       (double)rte_get_tsc_hz() / 1e9, o->samples, o->seconds, o->ideal_seconds);
	printf("  sample  pipeline-only  whole-loop  ideal-loop  (Mpps; iterations over %u us "
	       "left out)\n", SLICE_MAX_US);
	gw_stats_read(gw, 0, &st0);
	sk.results = 0;
	for (unsigned k = 0; k < o->samples; k++) {
		if (sample_run(gw, &g, o, &sm, &sk) != 0)
			return 1;
		pipe[k] = mpps(&sm.pipe);
		whole[k] = mpps(&sm.whole);
		all[k] = mpps(&sm.all);
		ideal[k] = mpps(&sm.ideal);
		r_pipe[k] = ideal[k] > 0 ? pipe[k] / ideal[k] : 0;
		r_whole[k] = ideal[k] > 0 ? whole[k] / ideal[k] : 0;
		pkts += sm.pipe.pkts;
		cyc_gen += sm.gen_cycles;
		cyc_pipe += sm.pipe.cycles;
		cyc_sink += sm.sink_cycles;
		printf("  %6u  %13.2f  %10.2f  %10.2f  (%.1f%% left out; wall clock %.2f Mpps)\n",
		       k, pipe[k], whole[k], ideal[k],
		       sm.iters ? 100.0 * (double)sm.skipped / (double)sm.iters : 0.0, all[k]);
	}
	gw_stats_read(gw, 0, &st1);
	results = sk.results;
	completed = st1.fate[DP_DROP_COMPLETED] - st0.fate[DP_DROP_COMPLETED];
	in = st1.fate[DP_DROP_AGGREGATED] - st0.fate[DP_DROP_AGGREGATED] + completed;
	printf("  input packets %llu, completed slots %llu, result copies %llu (%.2f per input), "
	       "a result of every sink burst checked (sum == %u)\n", (unsigned long long)in,
	       (unsigned long long)completed, (unsigned long long)results,
	       in ? (double)results / (double)in : 0.0, o->workers);
	printf("  cycles per input packet (all samples): generator %.1f, pipeline %.1f, sink %.1f\n",
	       (double)cyc_gen / (double)pkts, (double)cyc_pipe / (double)pkts,
	       (double)cyc_sink / (double)pkts);
	if (o->ideal_seconds > 0)
		summary("ideal loop (alloc, add 1 KiB, free)", ideal, o->samples, NULL);
	summary("pipeline only (gw_lcore_poll)", pipe, o->samples,
		o->ideal_seconds > 0 ? r_pipe : NULL);
	summary("whole loop (generator+pipeline+sink)", whole, o->samples,
		o->ideal_seconds > 0 ? r_whole : NULL);
	summary("whole loop, wall clock (unfiltered)", all, o->samples, NULL);
	{
		double sp[64], sr[64];

		memcpy(sp, pipe, o->samples * sizeof(*pipe));
		memcpy(sr, r_pipe, o->samples * sizeof(*r_pipe));
		qsort(sp, o->samples, sizeof(*sp), cmp_double);
		qsort(sr, o->samples, sizeof(*sr), cmp_double);
		printf("  targets (median, pipeline only): >= 12 Mpps per core: %s (%.2f); "
		       ">= 0.4x ideal loop: %s (%.2fx)\n", sp[o->samples / 2] >= 12 ? "met" : "NOT met",
		       sp[o->samples / 2], o->ideal_seconds <= 0 ? "not measured" :
		       sr[o->samples / 2] >= 0.4 ? "met" : "NOT met", sr[o->samples / 2]);
	}
	for (unsigned i = 0; i < DP_DROP_MAX; i++) {
		uint64_t d = st1.fate[i] - st0.fate[i];

		if (d != 0 && i != DP_DROP_AGGREGATED && i != DP_DROP_COMPLETED)
			printf("  unexpected fate %s: %llu\n", dp_drop_name(i), (unsigned long long)d);
	}
	if (in == 0 || results != completed * o->workers) {
		fprintf(stderr, "daitn-gw-bench: %llu result copies for %llu completions of %u "
			"workers\n", (unsigned long long)results, (unsigned long long)completed,
			o->workers);
		return 1;
	}
	return 0;
}

/*
 * A comparison of three jobs, one sample of each in turn so that drift and
 * noise hit all three alike; the ratios are per round of samples.
 * --auth-compare: job 1 (no key), job 2 (tags cover headers) and job 3
 * (tags cover payloads too); the generator tags every frame (its cycles are
 * not the pipeline's). --det-compare: job 1 ordinary, job 2 deterministic
 * with each chunk's ranks arriving lowest first (nothing waits), job 3
 * deterministic with them arriving highest first (all but the last wait).
 * --fedavg-compare: job 1 ordinary, job 2 fedavg, job 3 fedavg and
 * deterministic (ranks in order).
 */
static int bench_compare(struct gw *gw, const struct bench_opts *o)
{
	bool auth = o->compare == CMP_AUTH;
	const char *const *names = mode_names[o->compare - 1];
	const char *const *heads = mode_heads[o->compare - 1];
	struct gw_lcore *lc = gw_lcore_get(gw, 0);
	struct gw_bench_gen g[BENCH_MODES];
	struct gw_bench_sink sk = { .tx = bp.tx, .workers = o->workers };
	double mp[BENCH_MODES][64], ratio[BENCH_MODES][64];
	uint64_t cyc[BENCH_MODES] = { 0 }, pk[BENCH_MODES] = { 0 };
	struct gw_stats st0, st1;
	struct bench_opts so = *o;
	struct sample sm;

	so.ideal_seconds = 0;
	for (unsigned m = 0; m < BENCH_MODES; m++) {
		g[m] = (struct gw_bench_gen){ .pool = auth && m ? bp.pool_tagged : bp.pool,
			.rx = bp.rx, .tmpl = &tmpl[m], .key = auth && m ? &keys[m] : NULL,
			.workers = o->workers, .window = o->window,
			.descending = o->compare == CMP_DET && m == 2 };
		if (gw_bench_join(gw, &bp, &tmpl[m], o->workers, g[m].key, &g[m].lap,
				  &g[m].salt) != 0) {
			fprintf(stderr, "daitn-gw-bench: the workers could not join job %u\n", m + 1);
			return 1;
		}
		for (int i = 0; i < 2000; i++) {
			gw_bench_gen_burst(&g[m], o->burst);
			gw_lcore_poll(lc);
			if (sink_check(&sk) < 0)
				return 1;
		}
	}
	printf("daitn-gw-bench --%s-compare: %u workers, 1 KiB float32 chunks, window %u slots, "
	       "burst %u, kernels %s, TSC %.2f GHz, %u rounds of %.1f s per mode\n",
	       compare_names[o->compare - 1], o->workers, o->window, o->burst, kn_ops_get()->name,
	       (double)rte_get_tsc_hz() / 1e9, o->samples, o->seconds);
	printf("  sample  %14s  %14s  %14s  (pipeline-only Mpps)\n", heads[0], heads[1], heads[2]);
	gw_stats_read(gw, 0, &st0);
	for (unsigned k = 0; k < o->samples; k++) {
		for (unsigned m = 0; m < BENCH_MODES; m++) {
			if (sample_run(gw, &g[m], &so, &sm, &sk) != 0)
				return 1;
			mp[m][k] = mpps(&sm.pipe);
			cyc[m] += sm.pipe.cycles;
			pk[m] += sm.pipe.pkts;
		}
		for (unsigned m = 0; m < BENCH_MODES; m++)
			ratio[m][k] = mp[0][k] > 0 ? mp[m][k] / mp[0][k] : 0;
		printf("  %6u  %14.2f  %14.2f  %14.2f\n", k, mp[0][k], mp[1][k], mp[2][k]);
	}
	gw_stats_read(gw, 0, &st1);
	for (unsigned m = 0; m < BENCH_MODES; m++) {
		double r[64];

		memcpy(r, ratio[m], o->samples * sizeof(double));
		qsort(r, o->samples, sizeof(double), cmp_double);
		summary(names[m], mp[m], o->samples, NULL);
		printf("  %-38s %.1f cycles per input packet, %.3fx the %s Mpps (median of "
		       "the per-round ratios)\n", "", pk[m] ? (double)cyc[m] / (double)pk[m] : 0.0,
		       r[o->samples / 2], names[0]);
	}
	for (unsigned i = 0; i < DP_DROP_MAX; i++) {
		uint64_t d = st1.fate[i] - st0.fate[i];

		if (d != 0 && i != DP_DROP_AGGREGATED && i != DP_DROP_COMPLETED)
			printf("  unexpected fate %s: %llu\n", dp_drop_name(i), (unsigned long long)d);
	}
	return 0;
}

struct bench_arg {
	struct gw *gw;
	const struct bench_opts *o;
	int rc;
};

static int bench_lcore(void *arg)
{
	struct bench_arg *a = arg;

	rcu_register_thread();
	a->rc = a->o->compare != CMP_NONE ? bench_compare(a->gw, a->o) : bench_run(a->gw, a->o);
	rcu_unregister_thread();
	return 0;
}

/*
 * Run the benchmark on the gateway's data lcore itself, as the gateway would:
 * the mempool caches it allocates from are the ones it frees into (a TX
 * completion on the same lcore). The main lcore sleeps meanwhile instead of
 * spinning in rte_eal_wait_lcore().
 */
static int bench_on_data_lcore(struct gw *gw, const struct bench_opts *o, unsigned lcore)
{
	struct bench_arg a = { .gw = gw, .o = o, .rc = 1 };

	if (rte_eal_remote_launch(bench_lcore, &a, lcore) != 0) {
		fprintf(stderr, "daitn-gw-bench: cannot launch lcore %u\n", lcore);
		return 1;
	}
	while (rte_eal_get_lcore_state(lcore) == RUNNING)
		usleep(10000);
	rte_eal_wait_lcore(lcore);
	return a.rc;
}

int main(int argc, char **argv)
{
	static struct cp_gw_config cfg;
	struct bench_opts o;
	char dir[PATH_MAX];
	struct rte_ether_addr mac;
	struct gw *gw = NULL;
	uint16_t port;
	int n, rc = 1;

	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "daitn-gw-bench: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	argc -= n;
	argv += n;
	if (opts_parse(argc, argv, &o) != 0)
		goto eal;
	if (rte_lcore_count() < 2) {
		fprintf(stderr, "daitn-gw-bench: needs -l MAIN,DATA (the data lcore runs the "
			"benchmark; the main lcore sleeps)\n");
		goto eal;
	}
	kn_init(KN_ISA_AUTO);
	if (gw_bench_port_create("bench", &bp, &cfg) != 0) {
		fprintf(stderr, "daitn-gw-bench: rings/pool: %s\n", rte_strerror(rte_errno));
		goto eal;
	}
	cfg.burst = o.burst;
	cfg.slot_memory = (o.compare != CMP_NONE ? 64u : 32u) << 20;
	if (o.compare == CMP_AUTH && gw_bench_port_add_tagged("bench", &bp) != 0) {
		fprintf(stderr, "daitn-gw-bench: tagged pool: %s\n", rte_strerror(rte_errno));
		goto eal;
	}
	gw = gw_create(&cfg);
	if (gw == NULL || gw_ports_start(gw, &port) != 0)
		goto destroy;
	rte_eth_macaddr_get(port, &mac);
	for (unsigned m = 0; m < BENCH_MODES; m++)
		gw_bench_gen_tmpl_build(&tmpl[m], o.workers, &mac, (uint16_t)(m + 1),
					o.compare == CMP_AUTH && m ? DP_PROTO_TAG_SIZE : 0);
	if (policy_apply(gw, &cfg, o.workers, o.compare) == 0)
		rc = bench_on_data_lcore(gw, &o, cfg.data_lcores[0]);
	gw_ports_stop(gw);
destroy:
	gw_destroy(gw);
eal:
	rte_eal_cleanup();
	gw_eal_runtime_dir_remove(dir);
	return rc;
}
