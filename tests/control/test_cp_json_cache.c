/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite cp_json_cache: the parse cache gives what jansson gives, and reuses.
 *
 *   - text it must not split (syntax errors, duplicate or escaped top-level
 *     keys, NUL bytes, trailing garbage, deep nesting) falls back, and the
 *     policy loader then reports exactly the diagnostics of an uncached parse:
 *     every invalid case under cases/policy/invalid is parsed both ways, twice
 *     through one cache, and the diagnostics compared line by line;
 *   - every valid case and every configs/policy-*.json parses to equal values
 *     (json_equal) and to the same policy version and counts;
 *   - a second parse of a file with one element changed reuses the others
 *     (the same json_t) and parses that one; the cache then holds that file's
 *     elements only.
 *
 * Usage: test_cp_json_cache CASES_DIR CONFIGS_DIR
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_json.h"
#include "cp_policy.h"
#include "cp_test.h"

static const char *cases_dir;
static const char *configs_dir;

static char *
slurp(const char *path, size_t *len)
{
	char *text = NULL;

	CU_ASSERT_EQUAL_FATAL(cp_json_file_read(path, &text, len), 0);
	return text;
}

/* The diagnostics of a policy parse, one formatted line each. */
static char *
diags_text(const struct cp_diags *d)
{
	size_t cap = 256 + (size_t)d->n * 1024, len = 0;
	char *s = malloc(cap);

	s[0] = '\0';
	for (unsigned i = 0; i < d->n; i++) {
		len += (size_t)cp_diag_format(&d->v[i], s + len, cap - len);
		len += (size_t)snprintf(s + len, cap - len, "\n");
	}
	return s;
}

/* Parse text uncached and twice through jc: the same outcome each time. */
static void
same_outcome(struct cp_json_cache *jc, const char *name, const char *text, size_t len)
{
	struct cp_diags d0 = { 0 }, d1 = { 0 }, d2 = { 0 };
	struct cp_policy *p0, *p1, *p2;
	int rc0 = cp_policy_parse(text, len, name, NULL, &p0, &d0);
	int rc1 = cp_policy_parse_cached(text, len, name, NULL, jc, &p1, &d1);
	int rc2 = cp_policy_parse_cached(text, len, name, NULL, jc, &p2, &d2);
	char *s0 = diags_text(&d0), *s1 = diags_text(&d1), *s2 = diags_text(&d2);

	CU_ASSERT_EQUAL(rc1, rc0);
	CU_ASSERT_EQUAL(rc2, rc0);
	if (strcmp(s0, s1) != 0 || strcmp(s0, s2) != 0)
		fprintf(stderr, "\n%s: uncached:\n%scached:\n%s", name, s0, s1);
	CU_ASSERT_STRING_EQUAL(s1, s0);
	CU_ASSERT_STRING_EQUAL(s2, s0);
	if (rc0 == 0 && rc1 == 0 && rc2 == 0) {
		CU_ASSERT_EQUAL(p1->version, p0->version);
		CU_ASSERT_EQUAL(p1->n_jobs, p0->n_jobs);
		CU_ASSERT_EQUAL(p1->n_models, p0->n_models);
		CU_ASSERT_EQUAL(p1->n_nodes, p0->n_nodes);
		CU_ASSERT_EQUAL(p2->n_tenants, p0->n_tenants);
		for (uint32_t i = 0; i < p0->n_jobs && i < p2->n_jobs; i++)
			CU_ASSERT_TRUE(cp_job_same(&p0->jobs[i], &p2->jobs[i]));
	}
	cp_policy_free(p0);
	cp_policy_free(p1);
	cp_policy_free(p2);
	cp_diags_free(&d0);
	cp_diags_free(&d1);
	cp_diags_free(&d2);
	free(s0);
	free(s1);
	free(s2);
}

static void
test_unsplittable_text_falls_back_with_the_same_errors(void)
{
	static const char *const docs[] = {
		"{\"version\": 1, \"jobs\": [ {\"id\": 1} oops ]}",
		"{\"version\": 1, \"version\": 2}",
		"{\"version\": 1, \"jo\\u0062s\": []}",
		"{\"version\": 1}  x",
		"{\"version\": 1,}",
		"{\"version\": 1, \"jobs\": [,]}",
		"{\"version\": 1, \"jobs\": [ {\"id\": 1, \"id\": 2} ]}",
		"{\"version\": 1, \"jobs\": [ {\"id\": 01} ]}",
		"{\"version\": 1, \"nodes\": [ {\"id\": \"a\xff\"} ]}",
		"[1, 2]",
		"",
		"{\"version\": 1, \"jobs\": [ {\"id\": 1 ]}",
		"{\"version\": 1, \"jobs\": [ \"unterminated ]}",
	};
	struct cp_json_cache *jc = cp_json_cache_create();
	struct cp_json_cache_stats st;
	char deep[6000], nul[] = "{\"version\": 1, \"jobs\": [ {\"id\": 1} ]}";
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(jc);
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		same_outcome(jc, "doc.json", docs[i], strlen(docs[i]));
	/* A NUL byte inside the text. */
	nul[30] = '\0';
	same_outcome(jc, "nul.json", nul, sizeof(nul) - 1);
	/* Nesting deeper than jansson takes, inside an element. */
	n += (size_t)snprintf(deep, sizeof(deep), "{\"version\": 1, \"jobs\": [");
	for (int i = 0; i < 2100; i++)
		deep[n++] = '[';
	for (int i = 0; i < 2100; i++)
		deep[n++] = ']';
	n += (size_t)snprintf(deep + n, sizeof(deep) - n, "]}");
	same_outcome(jc, "deep.json", deep, n);
	cp_json_cache_stats_get(jc, &st);
	CU_ASSERT(st.fallbacks >= 2 * 14);
	CU_ASSERT_EQUAL(cp_json_cache_parse(jc, "{\"a\": 1} }", 10), NULL);
	cp_json_cache_free(jc);
	cp_json_cache_free(NULL);
}

static void
check_dir(struct cp_json_cache *jc, const char *dir, const char *prefix, unsigned *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((e = readdir(d)) != NULL) {
		size_t len, nl = strlen(e->d_name);
		char path[4096], *text;

		if (nl < 5 || strcmp(e->d_name + nl - 5, ".json") != 0 ||
		    strncmp(e->d_name, prefix, strlen(prefix)) != 0 ||
		    strstr(e->d_name, ".gateway.json") != NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		text = slurp(path, &len);
		same_outcome(jc, path, text, len);
		free(text);
		(*count)++;
	}
	closedir(d);
}

static void
test_every_case_parses_as_without_a_cache(void)
{
	struct cp_json_cache *jc = cp_json_cache_create();
	char dir[4096];
	unsigned n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(jc);
	snprintf(dir, sizeof(dir), "%s/policy/invalid", cases_dir);
	check_dir(jc, dir, "", &n);
	snprintf(dir, sizeof(dir), "%s/policy/valid", cases_dir);
	check_dir(jc, dir, "", &n);
	check_dir(jc, configs_dir, "policy-", &n);
	CU_ASSERT(n >= 10);
	cp_json_cache_free(jc);
}

static void
test_unchanged_elements_are_reused(void)
{
	static const char *const a =
		"{ \"version\": 1,\n  \"nodes\": [ {\"id\": \"w0\", \"ip\": \"10.0.0.1\"},\n"
		"             {\"id\": \"w1\", \"ip\": \"10.0.0.2\"} ],\n"
		"  \"jobs\": [ {\"id\": 1, \"slot_memory\": 4096},\n"
		"            {\"id\": 2, \"slot_memory\": 8192}, \"x\", 3, [] ],\n"
		"  \"empty\": [], \"o\": {\"k\": [1]} }";
	static const char *const b =
		"{\"version\":2,\"nodes\":[{\"id\": \"w0\", \"ip\": \"10.0.0.1\"},"
		"{\"id\": \"w1\", \"ip\": \"10.0.0.3\"}],\"jobs\":[{\"id\": 1, \"slot_memory\": 4096},"
		"{\"id\": 2, \"slot_memory\": 8192},\"x\",3,[]],\"empty\":[],\"o\":{\"k\":[1]}}";
	struct cp_json_cache *jc = cp_json_cache_create();
	struct cp_json_cache_stats st;
	json_t *ra, *rb, *ja, *jb;

	CU_ASSERT_PTR_NOT_NULL_FATAL(jc);
	ra = cp_json_cache_parse(jc, a, strlen(a));
	CU_ASSERT_PTR_NOT_NULL_FATAL(ra);
	ja = json_loadb(a, strlen(a), JSON_REJECT_DUPLICATES, NULL);
	CU_ASSERT_TRUE(json_equal(ra, ja));
	cp_json_cache_stats_get(jc, &st);
	CU_ASSERT_EQUAL(st.misses, 7);
	CU_ASSERT_EQUAL(st.hits, 0);
	CU_ASSERT_EQUAL(st.entries, 7);
	/* Another layout, version and one node changed: the rest is reused,
	 * the very same values. */
	rb = cp_json_cache_parse(jc, b, strlen(b));
	CU_ASSERT_PTR_NOT_NULL_FATAL(rb);
	jb = json_loadb(b, strlen(b), JSON_REJECT_DUPLICATES, NULL);
	CU_ASSERT_TRUE(json_equal(rb, jb));
	cp_json_cache_stats_get(jc, &st);
	CU_ASSERT_EQUAL(st.hits, 6);
	CU_ASSERT_EQUAL(st.misses, 8);
	CU_ASSERT_EQUAL(st.entries, 7);         /* w1's old text is gone */
	CU_ASSERT_EQUAL(st.fallbacks, 0);
	CU_ASSERT_PTR_EQUAL(json_array_get(json_object_get(rb, "jobs"), 1),
			    json_array_get(json_object_get(ra, "jobs"), 1));
	CU_ASSERT_PTR_NOT_EQUAL(json_array_get(json_object_get(rb, "nodes"), 1),
				json_array_get(json_object_get(ra, "nodes"), 1));
	/* Values outlive the cache while someone holds them. */
	cp_json_cache_free(jc);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(
		json_object_get(rb, "jobs"), 1), "slot_memory")), 8192);
	json_decref(ra);
	json_decref(rb);
	json_decref(ja);
	json_decref(jb);
}

static void
test_large_policy_grows_and_shrinks_the_table(void)
{
	struct cp_json_cache *jc = cp_json_cache_create();
	struct cp_json_cache_stats st;
	size_t cap = 4u << 20, len = 0;
	char *text = malloc(cap);
	json_t *r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	len += (size_t)snprintf(text + len, cap - len, "{\"version\": 1, \"jobs\": [");
	for (int i = 0; i < 5000; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s{\"id\": %d, \"w\": [%d, %d]}",
					i ? ", " : "", i + 1, i, i * 7);
	len += (size_t)snprintf(text + len, cap - len, "]}");
	r = cp_json_cache_parse(jc, text, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(r, "jobs")), 5000);
	json_decref(r);
	cp_json_cache_stats_get(jc, &st);
	CU_ASSERT_EQUAL(st.entries, 5000);
	r = cp_json_cache_parse(jc, "{\"version\": 2, \"jobs\": [{\"id\": 1, \"w\": [0, 0]}]}", 48);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	json_decref(r);
	cp_json_cache_stats_get(jc, &st);
	CU_ASSERT_EQUAL(st.entries, 1);
	CU_ASSERT_EQUAL(st.hits, 1);
	free(text);
	cp_json_cache_free(jc);
}

static CU_TestInfo tests[] = {
	{ "unsplittable_text_falls_back_with_the_same_errors",
	  test_unsplittable_text_falls_back_with_the_same_errors },
	{ "every_case_parses_as_without_a_cache", test_every_case_parses_as_without_a_cache },
	{ "unchanged_elements_are_reused", test_unchanged_elements_are_reused },
	{ "large_policy_grows_and_shrinks_the_table", test_large_policy_grows_and_shrinks_the_table },
	CU_TEST_INFO_NULL,
};

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_cp_json_cache CASES_DIR CONFIGS_DIR\n");
		return 2;
	}
	cases_dir = argv[1];
	configs_dir = argv[2];
	return cp_test_main("cp_json_cache", tests);
}
