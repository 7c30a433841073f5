/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitn-gw-reload-bench: the packet rate of the gateway's data lcore while
 * the control thread reloads large policies back to back, beside the rate
 * without reloads, in the same run (scripts/bench-reload.sh).
 *
 * The data lcore runs the pipeline as daitn-gw-bench does, run to
 * completion: a generator puts the 1 KiB float32 chunks of N workers of
 * job 1 into the RX ring of a net_ring port, gw_lcore_poll() runs the real
 * pipeline (admission, rate limit, liveness counting, slots, kernels,
 * fan-out), a sink checks and frees the results; it reports a quiescent
 * state every iteration. The main thread goes through three phases:
 * baseline (idle), storm (reload policy A, B, A, ... as fast as it can, each
 * with gw_ctl_reload_file(), the function daitn-gw's control loop uses:
 * read, parse, validate, build, publish, wait for the lcore to switch),
 * baseline again. Job 1 is the same in A and B, so every reload keeps its
 * slots: no contribution may be lost, none may be stale, every result must
 * be right.
 *
 *   daitn-gw-reload-bench [EAL args] -- --policy-a A --policy-b B
 *                                       [--seconds S] [--workers N]
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include <urcu-qsbr.h>

#include "dp_proto.h"
#include "gw_bench_gen.h"
#include "gw_cp.h"
#include "gw_ctl.h"
#include "gw_eal.h"
#include "gw_priv.h"
#include "kn_sum.h"

#define BURST 32
#define WINDOW 512
#define PHASES 3

static const char *const phase_names[PHASES] = { "baseline", "reload storm", "baseline again" };

struct opts {
	const char *policy[2];
	double seconds;
	unsigned workers;
};

static struct gw_bench_port bp;
static struct gw_bench_gen_tmpl tmpl;   /* built in main(), read by the generator */
static struct gw_bench_sink sink;        /* set in main(), read after the lcore stopped */

/* Between the main thread and the data lcore. */
static atomic_int phase = -1;           /* -1 warm-up; PHASES: stop */
/* lcore-written, read after it stopped: per phase, packets in; the same
 * over iterations that ran undisturbed (under SLICE_MAX_US) and their
 * cycles; iterations; involuntary context switches of the lcore's thread. */
static uint64_t phase_pkts[PHASES], phase_clean_pkts[PHASES], phase_clean_cyc[PHASES];
static uint64_t phase_iters[PHASES], phase_slow[PHASES], phase_nivcsw[PHASES];

/* An iteration longer than this was preempted or interrupted: the machine
 * is shared, and its other work lands on the data lcore's core whenever the
 * control thread keeps the other one busy. */
#define SLICE_MAX_US 100

static int
opts_parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "policy-a", required_argument, NULL, 'a' },
		{ "policy-b", required_argument, NULL, 'b' },
		{ "seconds", required_argument, NULL, 's' },
		{ "workers", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct opts){ .seconds = 3, .workers = 8 };
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'a': o->policy[0] = optarg; break;
		case 'b': o->policy[1] = optarg; break;
		case 's': o->seconds = atof(optarg); break;
		case 'w': o->workers = (unsigned)atoi(optarg); break;
		default: return -EINVAL;
		}
	}
	if (o->policy[0] == NULL || o->policy[1] == NULL || o->seconds <= 0 || o->seconds > 20 ||
	    o->workers < 1 || o->workers > 64) {
		fprintf(stderr, "daitn-gw-reload-bench: --policy-a A --policy-b B (job 1: the "
			"workers 10.8.1.0.. port %u, 1 KiB float32), --seconds 0..20, --workers "
			"1..64\n", GW_BENCH_W_PORT);
		return -EINVAL;
	}
	return 0;
}

struct lcore_arg {
	struct gw *gw;
	unsigned workers;
};

/* The data lcore: generator, pipeline, sink, quiescent state, until told
 * to stop; then it drains what is in flight. */
static int
data_lcore(void *arg)
{
	struct lcore_arg *a = arg;
	struct gw_lcore *lc = gw_lcore_get(a->gw, 0);
	struct gw_bench_gen g = { .pool = bp.pool, .rx = bp.rx, .tmpl = &tmpl,
				  .workers = a->workers, .window = WINDOW };
	uint64_t slice_max = rte_get_tsc_hz() * SLICE_MAX_US / 1000000, t0 = rte_rdtsc(), t1;
	struct rusage ru;
	int ph, last = -1;

	rcu_register_thread();
	/* Without a run, every GRAD would be refused: the figures say so
	 * (nothing completed) if the join fails. */
	if (gw_bench_join(a->gw, &bp, &tmpl, a->workers, NULL, &g.lap, NULL) != 0)
		fprintf(stderr, "daitn-gw-reload-bench: the workers could not join job 1\n");
	while ((ph = atomic_load_explicit(&phase, memory_order_relaxed)) < PHASES) {
		unsigned n;

		if (ph != last) {
			getrusage(RUSAGE_THREAD, &ru);
			if (last >= 0)
				phase_nivcsw[last] += (uint64_t)ru.ru_nivcsw;
			if (ph >= 0)
				phase_nivcsw[ph] -= (uint64_t)ru.ru_nivcsw;
			last = ph;
		}
		gw_bench_gen_burst(&g, BURST);
		n = gw_lcore_poll(lc);
		rcu_quiescent_state();
		gw_bench_sink_burst(&sink);
		t1 = rte_rdtsc();
		if (ph >= 0) {
			phase_pkts[ph] += n;
			phase_iters[ph]++;
			if (t1 - t0 <= slice_max) {
				phase_clean_pkts[ph] += n;
				phase_clean_cyc[ph] += t1 - t0;
			} else {
				phase_slow[ph]++;
			}
		}
		t0 = t1;
	}
	getrusage(RUSAGE_THREAD, &ru);
	if (last >= 0)
		phase_nivcsw[last] += (uint64_t)ru.ru_nivcsw;
	for (int idle = 0; idle < 100;) {
		unsigned n = gw_lcore_poll(lc);

		rcu_quiescent_state();
		gw_bench_sink_burst(&sink);
		idle = n == 0 ? idle + 1 : 0;
	}
	rcu_unregister_thread();
	return 0;
}

static int
cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static int
bench(struct gw *gw, const struct cp_gw_config *cfg, const struct opts *o)
{
	struct lcore_arg la = { .gw = gw, .workers = o->workers };
	struct cp_limits lim;
	struct gw_reload_status r;
	struct gw_stats s0, s1;
	uint64_t hz = rte_get_tsc_hz(), t[PHASES + 1], n_lat = 0, refused = 0;
	static uint64_t lat[4096], lat_parse[4096], lat_apply[4096];
	uint64_t in, completed, bad = 0;
	double rate[PHASES], clean[PHASES], base, cbase;
	unsigned lcore = cfg->data_lcores[0];

	cp_limits_from_config(cfg, &lim);
	gw_ctl_reload_file(gw, o->policy[0], &lim, GW_RELOAD_START, gw_ctl_now_ns(), &r);
	if (r.result != GW_RELOAD_OK) {
		fprintf(stderr, "daitn-gw-reload-bench: %s: %s %s\n", o->policy[0], r.message,
			r.errors[0]);
		return 1;
	}
	printf("daitn-gw-reload-bench: job 1 of %u workers (1 KiB float32 chunks) on one data "
	       "lcore; policies of %u jobs, %u models, %u nodes; %.1f s per phase\n", o->workers,
	       r.jobs, r.models, r.nodes, o->seconds);
	/* The lcore runs the pipeline as a launched gateway does, so reloads
	 * wait for it to switch (gw_ctl_reload_file). */
	gw->launched = true;
	if (rte_eal_remote_launch(data_lcore, &la, lcore) != 0) {
		fprintf(stderr, "daitn-gw-reload-bench: cannot launch lcore %u\n", lcore);
		gw->launched = false;
		return 1;
	}
	usleep(500000);
	gw_stats_read(gw, 0, &s0);
	for (int ph = 0; ph < PHASES; ph++) {
		uint64_t end;

		t[ph] = rte_rdtsc();
		atomic_store(&phase, ph);
		end = t[ph] + (uint64_t)(o->seconds * (double)hz);
		if (ph != 1) {
			usleep((useconds_t)(o->seconds * 1e6));
			continue;
		}
		for (unsigned i = 0; rte_rdtsc() < end; i++) {
			gw_ctl_reload_file(gw, o->policy[(i + 1) % 2], &lim, GW_RELOAD_TELEMETRY,
					   gw_ctl_now_ns(), &r);
			if (r.result != GW_RELOAD_OK || r.jobs_kept == 0)
				refused++;
			else if (n_lat < 4096) {
				lat_parse[n_lat] = r.read_ns + r.parse_ns;
				lat_apply[n_lat] = r.apply_ns;
				lat[n_lat++] = r.total_ns;
			}
		}
	}
	t[PHASES] = rte_rdtsc();
	atomic_store(&phase, PHASES);
	rte_eal_wait_lcore(lcore);
	gw->launched = false;
	gw_stats_read(gw, 0, &s1);

	printf("  %-16s %8s %12s %10s %14s %12s %10s\n", "phase", "seconds", "packets in",
	       "Mpps wall", "Mpps undisturb", "preempted", "ctx sw");
	for (int ph = 0; ph < PHASES; ph++) {
		double sec = (double)(t[ph + 1] - t[ph]) / (double)hz;

		rate[ph] = (double)phase_pkts[ph] / sec / 1e6;
		clean[ph] = phase_clean_cyc[ph] ? (double)phase_clean_pkts[ph] /
			    ((double)phase_clean_cyc[ph] / (double)hz) / 1e6 : 0;
		printf("  %-16s %8.2f %12llu %10.3f %14.3f %11.2f%% %10llu\n", phase_names[ph], sec,
		       (unsigned long long)phase_pkts[ph], rate[ph], clean[ph],
		       phase_iters[ph] ? 100.0 * (double)phase_slow[ph] / (double)phase_iters[ph] : 0,
		       (unsigned long long)phase_nivcsw[ph]);
	}
	base = (rate[0] + rate[2]) / 2;
	cbase = (clean[0] + clean[2]) / 2;
	qsort(lat, n_lat, sizeof(lat[0]), cmp_u64);
	qsort(lat_parse, n_lat, sizeof(lat[0]), cmp_u64);
	qsort(lat_apply, n_lat, sizeof(lat[0]), cmp_u64);
	printf("  reloads during the storm: %llu applied (policy A <-> B, job 1 kept in each), "
	       "%llu refused\n", (unsigned long long)n_lat, (unsigned long long)refused);
	if (n_lat != 0)
		printf("  reload latency under load (read .. every lcore on it): median %.1f ms, "
		       "p90 %.1f ms, max %.1f ms\n", (double)lat[n_lat / 2] / 1e6,
		       (double)lat[n_lat * 9 / 10] / 1e6, (double)lat[n_lat - 1] / 1e6);
	if (n_lat != 0)
		printf("    of which: read and parse median %.1f ms; build, publish, switch (and "
		       "freeing the old version) median %.1f ms\n", (double)lat_parse[n_lat / 2] / 1e6,
		       (double)lat_apply[n_lat / 2] / 1e6);
	{
		struct cp_json_cache_stats cs;

		cp_json_cache_stats_get(gw->cp->jcache, &cs);
		printf("    parse cache: %llu parses, %llu fell back to a full parse; elements "
		       "reused %llu, parsed %llu\n", (unsigned long long)cs.parses,
		       (unsigned long long)cs.fallbacks, (unsigned long long)cs.hits,
		       (unsigned long long)cs.misses);
	}
	printf("  rate during the storm vs the baselines' mean: wall clock %+.1f%%, undisturbed "
	       "iterations (over %u us left out) %+.1f%% (target: a dip under 5%%)\n",
	       base > 0 ? (rate[1] / base - 1) * 100 : 0.0, SLICE_MAX_US,
	       cbase > 0 ? (clean[1] / cbase - 1) * 100 : 0.0);
	completed = s1.fate[DP_DROP_COMPLETED] - s0.fate[DP_DROP_COMPLETED];
	in = s1.fate[DP_DROP_AGGREGATED] - s0.fate[DP_DROP_AGGREGATED] + completed;
	for (unsigned f = 0; f < DP_DROP_MAX; f++)
		if (f != DP_DROP_AGGREGATED && f != DP_DROP_COMPLETED && s1.fate[f] != s0.fate[f]) {
			printf("  unexpected fate %s: %llu\n", dp_drop_name(f),
			       (unsigned long long)(s1.fate[f] - s0.fate[f]));
			bad++;
		}
	bad += s1.ev[GW_EV_SLOTS_ABANDONED] - s0.ev[GW_EV_SLOTS_ABANDONED];
	printf("  job 1 across the reloads: %llu contributions since the baseline began, all "
	       "aggregated; %llu chunks completed; %llu result copies, %llu wrong sums; %llu "
	       "slots abandoned, %llu other fates: %s\n", (unsigned long long)in,
	       (unsigned long long)completed, (unsigned long long)sink.results,
	       (unsigned long long)sink.wrong_sums,
	       (unsigned long long)(s1.ev[GW_EV_SLOTS_ABANDONED] - s0.ev[GW_EV_SLOTS_ABANDONED]),
	       (unsigned long long)bad, bad == 0 && sink.wrong_sums == 0 ? "no loss" : "LOSS");
	return bad == 0 && sink.wrong_sums == 0 && refused == 0 && n_lat > 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	static struct cp_gw_config cfg;
	struct rte_ether_addr mac;
	struct gw *gw = NULL;
	char dir[PATH_MAX];
	struct opts o;
	uint16_t port;
	int n, rc = 1;

	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "daitn-gw-reload-bench: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	if (opts_parse(argc - n, argv + n, &o) != 0)
		goto eal;
	if (rte_lcore_count() < 2) {
		fprintf(stderr, "daitn-gw-reload-bench: needs -l MAIN,DATA\n");
		goto eal;
	}
	kn_init(KN_ISA_AUTO);
	if (gw_bench_port_create("rbench", &bp, &cfg) != 0) {
		fprintf(stderr, "daitn-gw-reload-bench: rings/pool: %s\n", rte_strerror(rte_errno));
		goto eal;
	}
	cfg.burst = BURST;
	cfg.slot_memory = 128u << 20;
	gw = gw_create(&cfg);
	if (gw == NULL || gw_ports_start(gw, &port) != 0)
		goto destroy;
	rte_eth_macaddr_get(port, &mac);
	gw_bench_gen_tmpl_build(&tmpl, o.workers, &mac, 1, 0);
	sink = (struct gw_bench_sink){ .tx = bp.tx, .workers = o.workers };
	rc = bench(gw, &cfg, &o);
	gw_ports_stop(gw);
destroy:
	gw_destroy(gw);
eal:
	rte_eal_cleanup();
	gw_eal_runtime_dir_remove(dir);
	return rc;
}
