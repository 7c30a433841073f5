/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Data-driven checks of the loaders (suite cp_cases):
 *
 *   cases/{policy,config}/invalid/NAME.json   must fail with exactly the
 *       diagnostics listed in NAME.expect, one "LINE:COL: /path: message"
 *       per line, in order ('#' lines are comments);
 *   cases/{policy,config}/valid/NAME.json     must load without any;
 *   cases/policy/{valid,invalid}/NAME.gateway.json, if present, is the
 *       gateway configuration whose limits NAME.json is checked against;
 *   configs/gateway-*.json must load, and so must the policy each names,
 *       against its limits; configs/policy-*.json that no gateway names load
 *       on their own; any other file in configs/ is an error.
 *
 * Usage: test_cp_cases CASES_DIR CONFIGS_DIR
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cp_config.h"
#include "cp_json.h"
#include "cp_policy.h"
#include "cp_test.h"

#define NAMES_MAX 256

static const char *cases_dir;
static const char *configs_dir;

struct names {
	unsigned n;
	char *v[NAMES_MAX];
};

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The *.json files of dir, without the *.gateway.json sidecars, sorted. */
static void
names_list(const char *dir, struct names *out)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	out->n = 0;
	if (d == NULL) {
		fprintf(stderr, "cannot open %s: %s\n", dir, strerror(errno));
		return;
	}
	while ((e = readdir(d)) != NULL && out->n < NAMES_MAX)
		if (ends_with(e->d_name, ".json") && !ends_with(e->d_name, ".gateway.json"))
			out->v[out->n++] = strdup(e->d_name);
	closedir(d);
	qsort(out->v, out->n, sizeof(out->v[0]), str_cmp);
}

static void
names_free(struct names *l)
{
	for (unsigned i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

static bool
file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static void
diag_line(const struct cp_diag *g, char *buf, size_t size)
{
	int n = 0;

	if (g->line > 0)
		n = snprintf(buf, size, "%d:%d: ", g->line, g->col);
	snprintf(buf + n, size - (size_t)n, "%s%s%s", g->path, g->path[0] != '\0' ? ": " : "",
		 g->msg);
}

static void
diags_dump(const char *title, const struct cp_diags *d)
{
	char line[1024];

	fprintf(stderr, "  %s (%u):\n", title, d->n);
	for (unsigned i = 0; i < d->n; i++) {
		diag_line(&d->v[i], line, sizeof(line));
		fprintf(stderr, "    %s\n", line);
	}
}

/* Compare the diagnostics with the .expect file, line by line; every one
 * must also name the case file. */
static bool
expect_match(const char *file, const char *expect_path, const struct cp_diags *d)
{
	char *text = NULL, *save = NULL, *line;
	char got[1024];
	size_t len;
	unsigned i = 0;
	bool ok = true;

	if (cp_json_file_read(expect_path, &text, &len) != 0) {
		fprintf(stderr, "%s: missing or unreadable expectation file\n", expect_path);
		return false;
	}
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (i >= d->n) {
			fprintf(stderr, "%s: expected, not reported: %s\n", file, line);
			ok = false;
			continue;
		}
		diag_line(&d->v[i], got, sizeof(got));
		if (strcmp(line, got) != 0 || strcmp(d->v[i].file, file) != 0) {
			fprintf(stderr, "%s: diagnostic %u differs\n  expected: %s\n  reported: %s: %s\n",
				file, i + 1, line, d->v[i].file, got);
			ok = false;
		}
		i++;
	}
	for (; i < d->n; i++) {
		diag_line(&d->v[i], got, sizeof(got));
		fprintf(stderr, "%s: reported, not expected: %s\n", file, got);
		ok = false;
	}
	free(text);
	return ok;
}

/* Load one case; returns the load's result with its diagnostics in d. A
 * policy case's gateway sidecar must itself load cleanly. */
static int
case_load(const char *kind, const char *path, struct cp_diags *d, bool *sidecar_ok)
{
	struct cp_gw_config *cfg;
	struct cp_limits lim = { 0 };
	struct cp_policy *p = NULL;
	char gw[PATH_MAX];
	int rc;

	*sidecar_ok = true;
	if (strcmp(kind, "config") == 0) {
		cfg = malloc(sizeof(*cfg));
		rc = cfg != NULL ? cp_config_load(path, cfg, d) : -ENOMEM;
		free(cfg);
		return rc;
	}
	snprintf(gw, sizeof(gw), "%.*s.gateway.json", (int)(strlen(path) - 5), path);
	if (file_exists(gw)) {
		cfg = malloc(sizeof(*cfg));
		if (cfg == NULL)
			return -ENOMEM;
		rc = cp_config_load(gw, cfg, d);
		if (rc != 0) {
			fprintf(stderr, "%s: the gateway sidecar does not load (%d)\n", gw, rc);
			diags_dump("its diagnostics", d);
			*sidecar_ok = false;
		}
		cp_limits_from_config(cfg, &lim);
		free(cfg);
		cp_diags_clear(d);
	}
	rc = cp_policy_load(path, &lim, &p, d);
	/* The contract: a policy comes back if and only if it is valid. */
	if ((rc == 0) != (p != NULL))
		*sidecar_ok = false;
	cp_policy_free(p);
	return rc;
}

static void
run_cases(const char *kind, bool valid)
{
	char dir[PATH_MAX], path[PATH_MAX + 256], expect[PATH_MAX + 256];
	struct names l;

	snprintf(dir, sizeof(dir), "%s/%s/%s", cases_dir, kind, valid ? "valid" : "invalid");
	names_list(dir, &l);
	CU_ASSERT(l.n > 0);   /* an empty folder must not pass silently */
	for (unsigned i = 0; i < l.n; i++) {
		struct cp_diags d = { 0 };
		bool ok, sidecar_ok;
		int rc;

		snprintf(path, sizeof(path), "%s/%s", dir, l.v[i]);
		rc = case_load(kind, path, &d, &sidecar_ok);
		if (valid) {
			ok = rc == 0 && d.n == 0;
		} else {
			snprintf(expect, sizeof(expect), "%.*s.expect", (int)(strlen(path) - 5), path);
			ok = rc == -EINVAL && d.n > 0 && expect_match(path, expect, &d);
		}
		ok = ok && sidecar_ok;
		if (!ok) {
			fprintf(stderr, "%s: load returned %d\n", path, rc);
			diags_dump("reported", &d);
		}
		CU_assertImplementation(ok, __LINE__, l.v[i], __FILE__, "", CU_FALSE);
		cp_diags_free(&d);
	}
	names_free(&l);
}

static void
test_invalid_policies_report_exact_diagnostics(void)
{
	run_cases("policy", false);
}

static void
test_invalid_configs_report_exact_diagnostics(void)
{
	run_cases("config", false);
}

static void
test_valid_policies_load_without_diagnostics(void)
{
	run_cases("policy", true);
}

static void
test_valid_configs_load_without_diagnostics(void)
{
	run_cases("config", true);
}

static void
test_every_file_in_configs_loads(void)
{
	struct names l, covered = { 0 };
	unsigned n_gateways = 0, n_policies = 0;
	char path[PATH_MAX];

	names_list(configs_dir, &l);
	CU_ASSERT(l.n > 0);
	for (unsigned i = 0; i < l.n; i++) {
		struct cp_gw_config *cfg;
		struct cp_limits lim;
		struct cp_policy *p = NULL;
		struct cp_diags d = { 0 };
		int rc;

		if (strncmp(l.v[i], "gateway-", 8) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", configs_dir, l.v[i]);
		cfg = malloc(sizeof(*cfg));
		CU_ASSERT_FATAL(cfg != NULL);
		rc = cp_config_load(path, cfg, &d);
		CU_assertImplementation(rc == 0 && d.n == 0, __LINE__, l.v[i], __FILE__, "", CU_FALSE);
		cp_limits_from_config(cfg, &lim);
		rc = cp_policy_load(cfg->policy_path, &lim, &p, &d);
		CU_assertImplementation(rc == 0 && p != NULL && d.n == 0, __LINE__, cfg->policy_path,
					__FILE__, "", CU_FALSE);
		if (d.n > 0)
			diags_dump(path, &d);
		if (covered.n < NAMES_MAX)
			covered.v[covered.n++] = strdup(strrchr(cfg->policy_path, '/') + 1);
		n_gateways++;
		cp_policy_free(p);
		cp_diags_free(&d);
		free(cfg);
	}
	for (unsigned i = 0; i < l.n; i++) {
		struct cp_policy *p = NULL;
		struct cp_diags d = { 0 };
		bool named = false;
		int rc;

		if (strncmp(l.v[i], "gateway-", 8) == 0)
			continue;
		/* Anything else must be a policy, so the test knows how to load it. */
		CU_assertImplementation(strncmp(l.v[i], "policy-", 7) == 0, __LINE__, l.v[i],
					__FILE__, "", CU_FALSE);
		for (unsigned k = 0; k < covered.n; k++)
			named = named || strcmp(covered.v[k], l.v[i]) == 0;
		n_policies++;
		if (named)
			continue;
		snprintf(path, sizeof(path), "%s/%s", configs_dir, l.v[i]);
		rc = cp_policy_load(path, NULL, &p, &d);
		CU_assertImplementation(rc == 0 && p != NULL && d.n == 0, __LINE__, l.v[i],
					__FILE__, "", CU_FALSE);
		if (d.n > 0)
			diags_dump(path, &d);
		cp_policy_free(p);
		cp_diags_free(&d);
	}
	CU_ASSERT(n_gateways >= 3);
	CU_ASSERT(n_policies >= 3);
	names_free(&covered);
	names_free(&l);
}

static CU_TestInfo tests[] = {
	{ "invalid_policies_report_exact_diagnostics", test_invalid_policies_report_exact_diagnostics },
	{ "invalid_configs_report_exact_diagnostics", test_invalid_configs_report_exact_diagnostics },
	{ "valid_policies_load_without_diagnostics", test_valid_policies_load_without_diagnostics },
	{ "valid_configs_load_without_diagnostics", test_valid_configs_load_without_diagnostics },
	{ "every_file_in_configs_loads", test_every_file_in_configs_loads },
	CU_TEST_INFO_NULL,
};

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s CASES_DIR CONFIGS_DIR\n", argv[0]);
		return 2;
	}
	cases_dir = argv[1];
	configs_dir = argv[2];
	return cp_test_main("cp_cases", tests);
}
