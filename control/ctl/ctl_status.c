/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitnctl status: the policy the gateway runs, the version every data lcore
 * runs, reload counters and the last reload (telemetry /daitn/status).
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_tel.h"

static const char usage[] =
	"usage: daitnctl status [OPTIONS]\n"
	"\n"
	"Show the policy the gateway runs, the policy version each data lcore runs,\n"
	"the reload counters and the last reload with its errors.\n"
	"Exit status: 0 every lcore runs the gateway's current tables, 1 some lcore\n"
	"does not (yet), 2 usage, 3 no gateway answers.\n"
	"\n";

/* The last reload, shared with `daitnctl reload` (keys with prefix). */
void
ctl_reload_print(const json_t *o, const char *prefix)
{
	char k[64];
	const json_t *errs;
	long long n;

#define K(name) (snprintf(k, sizeof(k), "%s%s", prefix, name), k)
	printf("  #%lld %s at %s: %s\n", ctl_tel_int(o, K("seq")), ctl_tel_str(o, K("trigger")),
	       ctl_tel_str(o, K("time")), ctl_tel_str(o, K("result")));
	printf("  %s\n", ctl_tel_str(o, K("message")));
	if (strcmp(ctl_tel_str(o, K("result")), "ok") == 0 && ctl_tel_int(o, K("seq")) > 1)
		printf("  timings: read %.1f ms, parse %.1f ms, build and publish %.1f ms; "
		       "trigger to every lcore on it: %.1f ms\n",
		       ctl_tel_int(o, K("read_us")) / 1e3, ctl_tel_int(o, K("parse_us")) / 1e3,
		       ctl_tel_int(o, K("apply_us")) / 1e3, ctl_tel_int(o, K("total_us")) / 1e3);
	errs = json_object_get(o, K("errors"));
	n = ctl_tel_int(o, K("n_errors"));
	for (size_t i = 0; i < json_array_size(errs); i++)
		printf("    %s\n", json_string_value(json_array_get(errs, i)));
	if (n > (long long)json_array_size(errs))
		printf("    ... and %lld more (the gateway's log has them all)\n",
		       n - (long long)json_array_size(errs));
#undef K
}

int
ctl_status_main(int argc, char **argv)
{
	struct ctl_tel t;
	json_t *root, *s;
	long long gen;
	size_t n;
	int rc = ctl_tel_start(&t, argc, argv, usage), behind = 0;

	if (rc >= 0)
		return rc;
	s = ctl_tel_query(&t, "/daitn/status", &root);
	ctl_tel_close(&t);
	if (s == NULL)
		return CTL_EXIT_UNREACHABLE;
	gen = ctl_tel_int(s, "generation");
	n = ctl_tel_arr_len(s, "lcores");
	for (size_t i = 0; i < n; i++)
		behind += ctl_tel_arr_int(s, "lcore_generations", i) != gen;
	if (!t.json) {
		printf("gateway  %s\n", t.path);
		printf("policy   %s%s\n", ctl_tel_str(s, "policy_path"),
		       ctl_tel_int(s, "watching") ? " (watched for changes)" : "");
		printf("         version %lld (tables generation %lld): %lld jobs, %lld models, "
		       "%lld tenants, %lld nodes (%lld up, %lld down, %lld never seen)\n",
		       ctl_tel_int(s, "policy_version"), gen, ctl_tel_int(s, "jobs"),
		       ctl_tel_int(s, "models"), ctl_tel_int(s, "tenants"), ctl_tel_int(s, "nodes"),
		       ctl_tel_int(s, "nodes_up"), ctl_tel_int(s, "nodes_down"),
		       ctl_tel_int(s, "nodes_never_seen"));
		printf("reloads  %lld ok, %lld invalid, %lld unreadable, %lld refused; by trigger: "
		       "%lld SIGHUP, %lld file change, %lld daitnctl\n",
		       ctl_tel_int(s, "reloads_ok"), ctl_tel_int(s, "reloads_invalid"),
		       ctl_tel_int(s, "reloads_unreadable"), ctl_tel_int(s, "reloads_refused"),
		       ctl_tel_int(s, "reloads_sighup"), ctl_tel_int(s, "reloads_file_change"),
		       ctl_tel_int(s, "reloads_daitnctl"));
		printf("last reload\n");
		ctl_reload_print(s, "last_reload_");
		printf("\n%6s %8s %11s %12s\n", "lcore", "version", "generation", "running for");
		for (size_t i = 0; i < n; i++) {
			long long ms = ctl_tel_arr_int(s, "lcore_switched_ms_ago", i);

			printf("%6lld %8lld %11lld %9lld.%01lld s%s\n", ctl_tel_arr_int(s, "lcores", i),
			       ctl_tel_arr_int(s, "lcore_versions", i),
			       ctl_tel_arr_int(s, "lcore_generations", i), ms / 1000, ms % 1000 / 100,
			       ctl_tel_arr_int(s, "lcore_generations", i) != gen ? "  (behind)" : "");
		}
		if (!ctl_tel_int(s, "launched"))
			printf("(the data lcores are not running)\n");
	}
	json_decref(root);
	return behind != 0 ? CTL_EXIT_INVALID : CTL_EXIT_OK;
}
