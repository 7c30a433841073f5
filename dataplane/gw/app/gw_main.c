/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitn-gw: the gateway process.
 *
 *   daitn-gw -c CONFIG [--policy FILE] [--file-prefix NAME] [--stats-interval SEC]
 *            [--print-eal] [-- EAL-ARGS...]
 *
 * Start-up is staged (config -> policy -> EAL -> pools -> ports -> tables ->
 * telemetry -> lcores), each stage undone in reverse on failure. SIGINT,
 * SIGTERM and SIGHUP are blocked in every thread before the EAL starts its
 * threads; the main thread takes them synchronously with sigtimedwait(), so
 * reloads and shutdown run in ordinary context, never in a signal handler.
 *
 * Under a service manager ($NOTIFY_SOCKET, gw_notify.h) it reports READY=1
 * once the ports are up and the lcores run, RELOADING=1/READY=1 around each
 * reload and STOPPING=1. Packet capture: rte_pdump_init() lets dpdk-dumpcap
 * (a secondary process with the same --file-prefix) copy the ports' RX and
 * TX; with no capture running it costs the data path nothing.
 */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_pdump.h>

#include "cp_config.h"
#include "cp_policy.h"
#include "gw.h"
#include "gw_ctl.h"
#include "gw_eal.h"
#include "gw_infer.h"
#include "gw_notify.h"
#include "kn_sum.h"

struct gw_opts {
	const char *config;
	const char *policy;
	const char *file_prefix;
	unsigned stats_interval;    /* seconds, 0 = only at exit */
	bool print_eal;
	int n_extra;
	char **extra;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: daitn-gw -c CONFIG [--policy FILE] [--file-prefix NAME]\n"
		"                [--stats-interval SEC] [--print-eal] [-- EAL-ARGS...]\n"
		"       daitn-gw -h | --help\n"
		"  -c, --config FILE       gateway configuration (ports, lcores, memory)\n"
		"  -p, --policy FILE       job policy (default: the config's \"policy\")\n"
		"      --file-prefix NAME  DPDK file prefix (default $DAITN_FILE_PREFIX or daitn-PID);\n"
		"                          telemetry: dpdk-telemetry.py -f NAME\n"
		"      --stats-interval SEC\n"
		"                          print counters every SEC seconds (0: at exit only)\n"
		"      --print-eal         print the EAL arguments and exit\n"
		"Signals: SIGHUP reloads the policy; SIGINT/SIGTERM stop cleanly.\n"
		"Under a service manager ($NOTIFY_SOCKET): READY=1 once serving, RELOADING=1\n"
		"and READY=1 around reloads, STOPPING=1.\n");
}

static int opts_parse(int argc, char **argv, struct gw_opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "policy", required_argument, NULL, 'p' },
		{ "file-prefix", required_argument, NULL, 'f' },
		{ "stats-interval", required_argument, NULL, 's' },
		{ "print-eal", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "c:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'p': o->policy = optarg; break;
		case 'f': o->file_prefix = optarg; break;
		case 's': {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || optarg[0] == '-' ||
			    v > 86400) {
				fprintf(stderr, "daitn-gw: --stats-interval %s: want whole seconds, "
					"0 (at exit only) to 86400\n", optarg);
				return -EINVAL;
			}
			o->stats_interval = (unsigned)v;
			break;
		}
		case 'e': o->print_eal = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (o->config == NULL) {
		fprintf(stderr, "daitn-gw: no configuration: pass -c CONFIG "
			"(e.g. -c configs/gateway-demo.json)\n");
		usage(stderr);
		return -EINVAL;
	}
	o->n_extra = argc - optind;
	o->extra = argv + optind;
	/* The gateway sets the EAL's file prefix itself and names it in its
	 * messages (telemetry socket, runtime dir); a second one after "--"
	 * would silently win inside the EAL. */
	for (int i = 0; i < o->n_extra; i++) {
		if (strncmp(o->extra[i], "--file-prefix", 13) == 0) {
			fprintf(stderr, "daitn-gw: %s after '--': pass it as daitn-gw "
				"--file-prefix NAME instead\n", o->extra[i]);
			return -EINVAL;
		}
	}
	return 0;
}

static int policy_load(const char *path, const struct cp_gw_config *cfg, struct cp_policy **out)
{
	struct cp_diags diags = { 0 };
	struct cp_limits lim;
	int rc;

	cp_limits_from_config(cfg, &lim);
	rc = cp_policy_load(path, &lim, out, &diags);
	if (rc != 0) {
		cp_diags_print(&diags, stderr);
		if (diags.n == 0)
			fprintf(stderr, "daitn-gw: %s: %s\n", path, strerror(-rc));
	}
	cp_diags_free(&diags);
	return rc;
}

static void policy_reload(struct gw *gw, const char *path, const struct cp_gw_config *cfg)
{
	struct cp_policy *p;
	char err[256];
	uint64_t t0 = gw_ctl_now_ns();
	int rc;

	gw_notify_status("RELOADING=1", "reloading the policy");
	if (policy_load(path, cfg, &p) != 0) {
		fprintf(stderr, "daitn-gw: reload of %s refused; the running policy stays\n", path);
		snprintf(err, sizeof(err), "%.200s does not load (see the gateway's log)", path);
		gw_reload_refused(gw, err);
		gw_notify_status("READY=1", "reload invalid: the running policy stays");
		return;
	}
	rc = gw_policy_apply(gw, p, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "daitn-gw: reload of %s refused: %s; the running policy stays\n",
			path, err);
		cp_policy_free(p);
		gw_notify_status("READY=1", "reload refused: the running policy stays");
		return;
	}
	gw_notify_status("READY=1", "reload ok");
	printf("daitn-gw: reloaded %s: policy version %llu, %u jobs, %.1f ms\n", path,
	       (unsigned long long)p->version, p->n_jobs, (double)(gw_ctl_now_ns() - t0) / 1e6);
}

/* Wait for signals until SIGINT/SIGTERM; SIGHUP reloads. */
static void run(struct gw *gw, const struct gw_opts *o, const char *policy_path,
		const struct cp_gw_config *cfg, const sigset_t *sigs)
{
	struct timespec tick = { .tv_sec = 1 };
	unsigned since_stats = 0;

	for (;;) {
		int sig = sigtimedwait(sigs, NULL, &tick);

		if (sig == SIGINT || sig == SIGTERM) {
			printf("daitn-gw: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
			return;
		}
		if (sig == SIGHUP) {
			policy_reload(gw, policy_path, cfg);
			continue;
		}
		gw_housekeeping(gw);
		if (o->stats_interval != 0 && ++since_stats >= o->stats_interval) {
			gw_stats_print(gw, stdout);
			since_stats = 0;
		}
	}
}

int main(int argc, char **argv)
{
	static struct cp_gw_config cfg;
	struct cp_diags diags = { 0 };
	static struct gw_eal_args eal;
	struct cp_policy *policy = NULL;
	const char *policy_path;
	char prefix[64], err[256], runtime_dir[PATH_MAX];
	struct gw_opts o;
	struct gw *gw;
	struct gw_ctl *ctl;
	sigset_t sigs;
	int rc, status = 1;
	uint64_t start_ns = gw_ctl_now_ns();

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (opts_parse(argc, argv, &o) != 0)
		return 2;
	rc = cp_config_load(o.config, &cfg, &diags);
	if (rc != 0) {
		cp_diags_print(&diags, stderr);
		if (diags.n == 0)
			fprintf(stderr, "daitn-gw: %s: %s\n", o.config, strerror(-rc));
		fprintf(stderr, "daitn-gw: %s is not a valid gateway configuration\n", o.config);
		cp_diags_free(&diags);
		return 1;
	}
	cp_diags_free(&diags);
	policy_path = o.policy != NULL ? o.policy : cfg.policy_path;
	if (policy_path[0] == '\0') {
		fprintf(stderr, "daitn-gw: %s names no \"policy\" and no --policy was given\n",
			o.config);
		return 1;
	}
	if (policy_load(policy_path, &cfg, &policy) != 0) {
		fprintf(stderr, "daitn-gw: %s is not a valid policy; not starting\n", policy_path);
		return 1;
	}

	if (o.file_prefix == NULL)
		o.file_prefix = getenv("DAITN_FILE_PREFIX");
	if (o.file_prefix == NULL) {
		snprintf(prefix, sizeof(prefix), "daitn-%d", (int)getpid());
		o.file_prefix = prefix;
	}
	if (gw_eal_args_build(&cfg, o.file_prefix, o.n_extra, o.extra, &eal) != 0) {
		fprintf(stderr, "daitn-gw: too many EAL arguments\n");
		goto free_policy;
	}
	if (o.print_eal) {
		for (int i = 0; i < eal.argc; i++)
			printf("%s%s", i ? " " : "", eal.argv[i]);
		printf("\n");
		status = 0;
		goto free_policy;
	}
	if (gw_eal_hugepages_check(&cfg, o.config) != 0)
		goto free_policy;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if (rte_eal_init(eal.argc, eal.argv) < 0) {
		int err = rte_errno;
		const char *dir = rte_eal_get_runtime_dir();
		size_t n = strlen(dir), np = strlen(o.file_prefix);

		gw_eal_explain_failure(&cfg, err);
		/* The EAL made its runtime directory before failing; it is
		 * ours (named after our prefix), so remove it. */
		if (n > np && strcmp(dir + n - np, o.file_prefix) == 0 && dir[n - np - 1] == '/')
			gw_eal_runtime_dir_remove(dir);
		goto free_policy;
	}
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	/* Capture is a convenience: without it the gateway still serves. It
	 * needs the hugepage files a secondary process maps ("capture"). */
	if (cfg.capture && rte_pdump_init() != 0)
		fprintf(stderr, "daitn-gw: packet capture unavailable (rte_pdump_init: %s)\n",
			rte_strerror(rte_errno));
	rc = kn_init(KN_ISA_AUTO);
	if (rc != 0) {
		fprintf(stderr, "daitn-gw: kernels: %s (DAITN_KERNELS=%s)\n", strerror(-rc),
			getenv("DAITN_KERNELS") ? getenv("DAITN_KERNELS") : "");
		goto eal_cleanup;
	}
	gw = gw_create(&cfg);
	if (gw == NULL)
		goto eal_cleanup;
	if (gw_ports_start(gw, NULL) != 0)
		goto destroy;
	rc = gw_policy_apply(gw, policy, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "daitn-gw: %s: %s\n", policy_path, err);
		goto ports_stop;
	}
	policy = NULL;      /* the gateway owns it now */
	/* The app registers every telemetry view, so that no room registers
	 * itself from inside another (docs/architecture.md). */
	if (gw_telemetry_register(gw) != 0 || gw_infer_telemetry_register(gw) != 0)
		fprintf(stderr, "daitn-gw: telemetry commands not registered; counters are "
			"printed at exit only\n");
	if (gw_launch(gw) != 0)
		goto ports_stop;
	printf("daitn-gw: running with %u data lcore%s, kernels %s, UDP ports %u..%u; "
	       "telemetry: dpdk-telemetry.py -f %s\n", gw_lcore_count(gw),
	       gw_lcore_count(gw) > 1 ? "s" : "", kn_ops_get()->name, cfg.udp_port,
	       cfg.udp_port + gw_lcore_count(gw) - 1, o.file_prefix);

	/* The control loop (gw_ctl.h): signals, the policy file watch,
	 * daitnctl reload, liveness; the plain signal loop if it cannot start. */
	ctl = gw_ctl_create(gw, &(struct gw_ctl_conf){ .policy_path = policy_path, .cfg = &cfg,
		.sigs = sigs, .stats_interval = o.stats_interval }, start_ns);
	if (ctl != NULL && gw_telemetry_cp_register(gw, ctl) != 0)
		fprintf(stderr, "daitn-gw: control-plane telemetry commands not registered\n");
	/* Ready once everything a manager's next command may use answers:
	 * ports, lcores, every telemetry view, the policy file watch. */
	snprintf(err, sizeof(err), "running: %u data lcore%s, UDP ports %u..%u, file prefix %s",
		 gw_lcore_count(gw), gw_lcore_count(gw) > 1 ? "s" : "", cfg.udp_port,
		 cfg.udp_port + gw_lcore_count(gw) - 1, o.file_prefix);
	gw_notify_status("READY=1", err);
	if (ctl != NULL)
		gw_ctl_run(ctl);
	else
		run(gw, &o, policy_path, &cfg, &sigs);
	gw_ctl_destroy(ctl);
	gw_notify_status("STOPPING=1", "stopping");
	/* No capture may start while the ports close. */
	if (cfg.capture)
		rte_pdump_uninit();
	status = 0;
	gw_stop(gw);
ports_stop:
	gw_ports_stop(gw);
	gw_stats_print(gw, stdout);
destroy:
	gw_destroy(gw);
eal_cleanup:
	rte_eal_cleanup();
	gw_eal_runtime_dir_remove(runtime_dir);
	if (cfg.capture) {
		rc = gw_eal_hugepage_files_remove(o.file_prefix);
		if (rc < 0)
			fprintf(stderr, "daitn-gw: hugepage files %smap_* not all removed: %s\n",
				o.file_prefix, strerror(-rc));
	}
free_policy:
	if (policy != NULL)
		cp_policy_free(policy);
	return status;
}
