/* SPDX-License-Identifier: BSD-3-Clause */
/* cp_json: loading, positions, strict getters, value parsers (suite cp_json). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cp_json.h"
#include "cp_test.h"

struct fixture {
	struct cp_diags d;
	struct cp_json_ctx c;
	json_t *root;
};

static json_t *
fixture_open(struct fixture *f, const char *text)
{
	memset(f, 0, sizeof(*f));
	cp_json_ctx_init(&f->c, "t.json", text, strlen(text), &f->d);
	f->root = cp_json_ctx_parse(&f->c);
	return f->root;
}

static void
fixture_close(struct fixture *f)
{
	json_decref(f->root);
	cp_json_ctx_fini(&f->c);
	cp_diags_free(&f->d);
}

static bool
diag_is(const struct fixture *f, unsigned i, int line, int col, const char *path,
	const char *msg)
{
	const struct cp_diag *g = &f->d.v[i];

	if (i >= f->d.n)
		return false;
	if (g->line == line && g->col == col && strcmp(g->path, path) == 0 &&
	    strcmp(g->msg, msg) == 0 && strcmp(g->file, "t.json") == 0)
		return true;
	fprintf(stderr, "\n  diag %u: %d:%d: %s: %s\n  wanted: %d:%d: %s: %s\n", i, g->line,
		g->col, g->path, g->msg, line, col, path, msg);
	return false;
}

static void
test_file_read_reports_errno(void)
{
	char *text = NULL;
	size_t len = 0;

	CU_ASSERT_EQUAL(cp_json_file_read("/nonexistent/daitn.json", &text, &len), -ENOENT);
	CU_ASSERT_EQUAL(cp_json_file_read("/", &text, &len), -EISDIR);
	CU_ASSERT_EQUAL(cp_json_file_read("/dev/null", &text, &len), -EINVAL);
	CU_ASSERT_PTR_NULL(text);
}

static void
test_syntax_errors_carry_jansson_positions(void)
{
	struct fixture f;

	CU_ASSERT_PTR_NULL(fixture_open(&f, "{\n  \"a\": [1,\n  }\n"));
	CU_ASSERT_EQUAL(f.d.n, 1);
	CU_ASSERT_EQUAL(f.c.n_errors, 1);
	CU_ASSERT(diag_is(&f, 0, 3, 3, "", "syntax error: unexpected token near '}'"));
	fixture_close(&f);

	CU_ASSERT_PTR_NULL(fixture_open(&f, "{\"k\": 1,\n \"k\": 2}"));
	CU_ASSERT(diag_is(&f, 0, 2, 4, "", "syntax error: duplicate object key near '\"k\"'"));
	fixture_close(&f);

	CU_ASSERT_PTR_NULL(fixture_open(&f, "  [1, 2]"));
	CU_ASSERT(diag_is(&f, 0, 1, 3, "", "expected an object at the top, got an array"));
	fixture_close(&f);
}

static void
test_ipv4_parse_rejects_malformed(void)
{
	static const char *bad[] = {
		"", "10", "10.0.0", "10.0.0.1.", "10.0.0.1.2", "10.0.0.256", "10.0.0.-1",
		"010.0.0.1", "10.00.0.1", " 10.0.0.1", "10.0.0.1 ", "10..0.1", "a.b.c.d",
		"1e1.0.0.1", "10.0.0.0x1", "4294967295",
	};
	uint32_t ip = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_assertImplementation(cp_json_ipv4_parse(bad[i], &ip) == -EINVAL, __LINE__,
					bad[i], __FILE__, "", CU_FALSE);
	CU_ASSERT_EQUAL(ip, 7);
}

static void
test_size_parse_rejects_malformed_and_overflow(void)
{
	static const char *bad[] = {
		"", "MiB", "4MB", "4 mib", "4  MiB", "4MiB ", "-4", "1.5MiB", "4K", "0x10", "4 ",
	};
	uint64_t v = 9;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_assertImplementation(cp_json_size_parse(bad[i], &v) == -EINVAL, __LINE__,
					bad[i], __FILE__, "", CU_FALSE);
	CU_ASSERT_EQUAL(cp_json_size_parse("18446744073709551616", &v), -ERANGE);
	CU_ASSERT_EQUAL(cp_json_size_parse("16777216TiB", &v), -ERANGE);
	CU_ASSERT_EQUAL(v, 9);
	CU_ASSERT_EQUAL(cp_json_size_parse("16777215TiB", &v), 0);
	CU_ASSERT_EQUAL(v, UINT64_C(16777215) << 40);
	CU_ASSERT_EQUAL(cp_json_size_parse("18446744073709551615", &v), 0);
	CU_ASSERT_EQUAL(v, UINT64_MAX);
}

static void
test_ids_are_short_and_plain(void)
{
	CU_ASSERT_FALSE(cp_json_id_valid("", 47));
	CU_ASSERT_FALSE(cp_json_id_valid("a b", 47));
	CU_ASSERT_FALSE(cp_json_id_valid("a/b", 47));
	CU_ASSERT_FALSE(cp_json_id_valid("n\xc3\xa9", 47));
	CU_ASSERT_FALSE(cp_json_id_valid("abcd", 3));
	CU_ASSERT_TRUE(cp_json_id_valid("abc", 3));
	CU_ASSERT_TRUE(cp_json_id_valid("w0.rack-1_a", 47));
}

static void
test_unknown_keys_name_the_closest_or_list_all(void)
{
	static const char *const known[] = { "chunk_size", "name", "weight", NULL };
	struct fixture f;

	fixture_open(&f, "{\"chunk_sise\": 1, \"nmae\": 2, \"WEIGHT\": 3, \"zzz\": 4, \"name\": 5}");
	CU_ASSERT_FALSE(cp_json_keys_check(&f.c, f.root, known));
	CU_ASSERT_EQUAL(f.d.n, 4);
	CU_ASSERT(diag_is(&f, 0, 1, 2, "/chunk_sise",
			  "unknown key \"chunk_sise\" (did you mean \"chunk_size\"?)"));
	CU_ASSERT(diag_is(&f, 1, 1, 19, "/nmae", "unknown key \"nmae\" (did you mean \"name\"?)"));
	CU_ASSERT(diag_is(&f, 2, 1, 30, "/WEIGHT",
			  "unknown key \"WEIGHT\" (did you mean \"weight\"?)"));
	CU_ASSERT(diag_is(&f, 3, 1, 43, "/zzz",
			  "unknown key \"zzz\" (known keys: chunk_size, name, weight)"));
	fixture_close(&f);

	fixture_open(&f, "{\"name\": 5}");
	CU_ASSERT_TRUE(cp_json_keys_check(&f.c, f.root, known));
	CU_ASSERT_EQUAL(f.d.n, 0);
	fixture_close(&f);
}

static void
test_getters_report_type_range_and_missing(void)
{
	struct fixture f;
	uint64_t u = 42;
	bool b = true;
	const char *s = "untouched";
	char id[8] = "keep";
	uint32_t ip = 1;
	json_t *arr = NULL;

	fixture_open(&f, "{\n"
			 "\"u\": 1.0, \"r\": 300, \"neg\": -1,\n"
			 "\"b\": \"yes\", \"s\": \"\", \"long\": \"abcdef\",\n"
			 "\"id\": \"too-long-id\", \"ip\": \"1.2.3\", \"size\": \"4MB\", \"big\": \"2TiB\",\n"
			 "\"a\": [1, 2, 3], \"o\": {}\n}");
	CU_ASSERT_EQUAL(cp_json_get_uint(&f.c, f.root, "u", false, 0, 10, &u), CP_JSON_BAD);
	CU_ASSERT_EQUAL(cp_json_get_uint(&f.c, f.root, "r", false, 0, 255, &u), CP_JSON_BAD);
	CU_ASSERT_EQUAL(cp_json_get_uint(&f.c, f.root, "neg", false, 0, 255, &u), CP_JSON_BAD);
	CU_ASSERT_EQUAL(cp_json_get_uint(&f.c, f.root, "none", true, 0, 255, &u), CP_JSON_BAD);
	CU_ASSERT_EQUAL(cp_json_get_uint(&f.c, f.root, "none", false, 0, 255, &u), CP_JSON_ABSENT);
	CU_ASSERT_EQUAL(u, 42);
	CU_ASSERT_EQUAL(cp_json_get_bool(&f.c, f.root, "b", false, &b), CP_JSON_BAD);
	CU_ASSERT_TRUE(b);
	CU_ASSERT_EQUAL(cp_json_get_string(&f.c, f.root, "s", false, 8, &s), CP_JSON_BAD);
	CU_ASSERT_EQUAL(cp_json_get_string(&f.c, f.root, "long", false, 5, &s), CP_JSON_BAD);
	CU_ASSERT_STRING_EQUAL(s, "untouched");
	CU_ASSERT_EQUAL(cp_json_get_id(&f.c, f.root, "id", false, id, sizeof(id)), CP_JSON_BAD);
	CU_ASSERT_STRING_EQUAL(id, "keep");
	CU_ASSERT_EQUAL(cp_json_get_ipv4(&f.c, f.root, "ip", false, &ip), CP_JSON_BAD);
	CU_ASSERT_EQUAL(ip, 1);
	CU_ASSERT_EQUAL(cp_json_get_size(&f.c, f.root, "size", false, 0, 100, &u), CP_JSON_BAD);
	CU_ASSERT_EQUAL(cp_json_get_size(&f.c, f.root, "big", false, 0, UINT64_C(1) << 40, &u),
			CP_JSON_BAD);
	CU_ASSERT_EQUAL(cp_json_get_array(&f.c, f.root, "a", false, 4, 8, &arr), CP_JSON_BAD);
	CU_ASSERT_EQUAL(cp_json_get_array(&f.c, f.root, "o", false, 0, 8, &arr), CP_JSON_BAD);
	CU_ASSERT_PTR_NULL(arr);
	CU_ASSERT_EQUAL(u, 42);
	CU_ASSERT_EQUAL(f.c.n_errors, 13);
	CU_ASSERT_EQUAL(f.d.n, 13);
	CU_ASSERT(diag_is(&f, 0, 2, 6, "/u", "expected an integer, got a number (1.0)"));
	CU_ASSERT(diag_is(&f, 1, 2, 16, "/r", "must be between 0 and 255 (got 300)"));
	CU_ASSERT(diag_is(&f, 2, 2, 28, "/neg", "must be between 0 and 255 (got -1)"));
	CU_ASSERT(diag_is(&f, 3, 1, 1, "/none", "required key is missing"));
	CU_ASSERT(diag_is(&f, 4, 3, 6, "/b", "expected true or false, got a string (\"yes\")"));
	CU_ASSERT(diag_is(&f, 5, 3, 18, "/s", "must not be empty"));
	CU_ASSERT(diag_is(&f, 6, 3, 30, "/long", "longer than 5 characters"));
	CU_ASSERT(diag_is(&f, 7, 4, 7, "/id", "not a valid id (\"too-long-id\"): use 1 to 7 "
			  "characters from A-Z a-z 0-9 _ - ."));
	CU_ASSERT(diag_is(&f, 8, 4, 28, "/ip", "not an IPv4 address (\"1.2.3\")"));
	CU_ASSERT(diag_is(&f, 9, 4, 45, "/size", "not a size (\"4MB\"): use bytes as an integer, "
			  "or a string like \"4MiB\" or \"512KiB\""));
	CU_ASSERT(diag_is(&f, 10, 4, 59, "/big", "must be between 0B and 1TiB (got 2TiB)"));
	CU_ASSERT(diag_is(&f, 11, 5, 6, "/a", "must have 4 to 8 elements (has 3)"));
	CU_ASSERT(diag_is(&f, 12, 5, 22, "/o", "expected an array, got an object"));
	fixture_close(&f);
}

static void
test_getters_read_valid_members(void)
{
	struct fixture f;
	uint64_t u = 0, sz = 0, sz2 = 0;
	bool b = false;
	const char *s = NULL;
	char id[8] = "";
	uint32_t ip = 0;
	json_t *arr = NULL;

	fixture_open(&f, "{\"u\": 255, \"b\": true, \"s\": \"hello\", \"id\": \"w-0.a_b\", "
			 "\"ip\": \"192.168.0.255\", \"size\": \"2 MiB\", \"n\": 4096, \"a\": []}");
	CU_ASSERT_EQUAL(cp_json_get_uint(&f.c, f.root, "u", true, 0, 255, &u), CP_JSON_OK);
	CU_ASSERT_EQUAL(u, 255);
	CU_ASSERT_EQUAL(cp_json_get_bool(&f.c, f.root, "b", true, &b), CP_JSON_OK);
	CU_ASSERT_TRUE(b);
	CU_ASSERT_EQUAL(cp_json_get_string(&f.c, f.root, "s", true, 5, &s), CP_JSON_OK);
	CU_ASSERT_STRING_EQUAL(s, "hello");
	CU_ASSERT_EQUAL(cp_json_get_id(&f.c, f.root, "id", true, id, sizeof(id)), CP_JSON_OK);
	CU_ASSERT_STRING_EQUAL(id, "w-0.a_b");
	CU_ASSERT_EQUAL(cp_json_get_ipv4(&f.c, f.root, "ip", true, &ip), CP_JSON_OK);
	CU_ASSERT_EQUAL(ip, 0xc0a800ffu);
	CU_ASSERT_EQUAL(cp_json_get_size(&f.c, f.root, "size", true, 0, UINT64_MAX, &sz), CP_JSON_OK);
	CU_ASSERT_EQUAL(sz, 2u << 20);
	CU_ASSERT_EQUAL(cp_json_get_size(&f.c, f.root, "n", true, 4096, 4096, &sz2), CP_JSON_OK);
	CU_ASSERT_EQUAL(sz2, 4096);
	CU_ASSERT_EQUAL(cp_json_get_array(&f.c, f.root, "a", true, 0, 0, &arr), CP_JSON_OK);
	CU_ASSERT_PTR_NOT_NULL(arr);
	CU_ASSERT_EQUAL(f.d.n, 0);
	/* No error, no index: valid files pay nothing for positions. */
	CU_ASSERT_PTR_NULL(f.c.index);
	CU_ASSERT_STRING_EQUAL(f.c.path, "");
	fixture_close(&f);
}

static void
test_pos_index_rejects_malformed_text(void)
{
	static const char *bad[] = { "", "{", "{\"a\" 1}", "[1 2]", "\"open", "{\"a\":}", "{1:2}" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		CU_assertImplementation(cp_json_pos_index_build(bad[i], strlen(bad[i])) == NULL &&
					errno == EINVAL, __LINE__, bad[i], __FILE__, "", CU_FALSE);
	}
	/* A NUL byte is no literal, and the scan never reads past len. */
	CU_ASSERT_PTR_NULL(cp_json_pos_index_build("{\"a\":\0}", 7));
	CU_ASSERT_PTR_NULL(cp_json_pos_index_build("{\"a\": 1}", 7));
}

static void
test_pos_index_maps_pointers_to_keys_and_values(void)
{
	/* Columns count code points: "é" is two bytes, one column. */
	const char *text =
		"{\n"
		"  \"jobs\": [\n"
		"    { \"id\": 1, \"workers\": [ {\"ip\": \"a\"}, {\"ip\":\"10.0.0.300\"} ] },\n"
		"\t{\"\xc3\xa9t\xc3\xa9\": \"\xc3\xa9\", \"a/b\": 1, \"m~n\": [[], {}], \"q\\\"\\u0041\": null}\n"
		"  ]\n"
		"}";
	struct cp_json_pos_index *ix = cp_json_pos_index_build(text, strlen(text));
	int line = 0, col = 0;

	CU_ASSERT_FATAL(ix != NULL);
	CU_ASSERT_EQUAL(cp_json_pos_count(ix), 16);
	CU_ASSERT_TRUE(cp_json_pos_lookup(ix, "", CP_JSON_AT_VALUE, &line, &col));
	CU_ASSERT(line == 1 && col == 1);
	CU_ASSERT_TRUE(cp_json_pos_lookup(ix, "/jobs", CP_JSON_AT_KEY, &line, &col));
	CU_ASSERT(line == 2 && col == 3);
	CU_ASSERT_TRUE(cp_json_pos_lookup(ix, "/jobs", CP_JSON_AT_VALUE, &line, &col));
	CU_ASSERT(line == 2 && col == 11);
	CU_ASSERT_TRUE(cp_json_pos_lookup(ix, "/jobs/0/workers/1/ip", CP_JSON_AT_VALUE, &line, &col));
	CU_ASSERT(line == 3 && col == 48);
	CU_ASSERT_TRUE(cp_json_pos_lookup(ix, "/jobs/0/workers/1", CP_JSON_AT_KEY, &line, &col));
	CU_ASSERT(line == 3 && col == 42);   /* elements have no key: the value */
	CU_ASSERT_TRUE(cp_json_pos_lookup(ix, "/jobs/1", CP_JSON_AT_VALUE, &line, &col));
	CU_ASSERT(line == 4 && col == 2);
	CU_ASSERT_TRUE(cp_json_pos_lookup(ix, "/jobs/1/\xc3\xa9t\xc3\xa9", CP_JSON_AT_VALUE, &line, &col));
	CU_ASSERT(line == 4 && col == 10);
	CU_ASSERT_TRUE(cp_json_pos_lookup(ix, "/jobs/1/\xc3\xa9t\xc3\xa9", CP_JSON_AT_KEY, &line, &col));
	CU_ASSERT(line == 4 && col == 3);
	CU_ASSERT_TRUE(cp_json_pos_lookup(ix, "/jobs/1/a~1b", CP_JSON_AT_KEY, &line, &col));
	CU_ASSERT(line == 4 && col == 15);
	CU_ASSERT_TRUE(cp_json_pos_lookup(ix, "/jobs/1/m~0n/1", CP_JSON_AT_VALUE, &line, &col));
	CU_ASSERT(line == 4 && col == 37);
	CU_ASSERT_TRUE(cp_json_pos_lookup(ix, "/jobs/1/q\"A", CP_JSON_AT_VALUE, &line, &col));
	CU_ASSERT(line == 4 && col == 55);
	CU_ASSERT_TRUE(cp_json_pos_lookup(ix, "/jobs/1/q\"A", CP_JSON_AT_KEY, &line, &col));
	CU_ASSERT(line == 4 && col == 42);
	CU_ASSERT_FALSE(cp_json_pos_lookup(ix, "/jobs/2", CP_JSON_AT_VALUE, &line, &col));
	CU_ASSERT_FALSE(cp_json_pos_lookup(ix, "/jobs/1/a/b", CP_JSON_AT_VALUE, &line, &col));
	cp_json_pos_index_free(ix);
}

static void
test_errors_at_absent_paths_point_at_the_enclosing_value(void)
{
	struct fixture f;

	fixture_open(&f, "{\n  \"jobs\": [ {\n    \"id\": 1 } ]\n}");
	cp_json_push_key(&f.c, "jobs");
	cp_json_push_index(&f.c, 0);
	cp_json_error_missing(&f.c, "workers");
	cp_json_error_at(&f.c, "/jobs/0/chunk_size", CP_JSON_AT_VALUE, "defaulted");
	cp_json_error_at(&f.c, "/nothing/at/all", CP_JSON_AT_KEY, "root");
	CU_ASSERT_PTR_NOT_NULL(f.c.index);
	CU_ASSERT(diag_is(&f, 0, 2, 13, "/jobs/0/workers", "required key is missing"));
	CU_ASSERT(diag_is(&f, 1, 2, 13, "/jobs/0/chunk_size", "defaulted"));
	CU_ASSERT(diag_is(&f, 2, 1, 1, "/nothing/at/all", "root"));
	fixture_close(&f);
}

static void
test_path_escapes_tokens_and_marks_overflow(void)
{
	struct fixture f;
	char key[300];
	size_t m1, m2, m3;

	fixture_open(&f, "{}");
	m1 = cp_json_push_key(&f.c, "a/b~c");
	CU_ASSERT_STRING_EQUAL(f.c.path, "/a~1b~0c");
	m2 = cp_json_push_index(&f.c, 12);
	CU_ASSERT_STRING_EQUAL(f.c.path, "/a~1b~0c/12");
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	m3 = cp_json_push_key(&f.c, key);
	CU_ASSERT_STRING_EQUAL(f.c.path, "/a~1b~0c/12/...");
	CU_ASSERT(strlen(f.c.path) < CP_DIAG_PATH_MAX);
	cp_json_pop(&f.c, m3);
	CU_ASSERT_STRING_EQUAL(f.c.path, "/a~1b~0c/12");
	cp_json_pop(&f.c, m2);
	cp_json_pop(&f.c, m1);
	CU_ASSERT_STRING_EQUAL(f.c.path, "");
	CU_ASSERT_EQUAL(f.c.path_len, 0);
	fixture_close(&f);
}

static void
test_ipv4_parse_and_format_round_trip(void)
{
	static const char *good[] = { "0.0.0.0", "10.77.0.1", "255.255.255.255", "1.22.133.4" };
	uint32_t ip;
	char buf[16];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CU_ASSERT_EQUAL(cp_json_ipv4_parse(good[i], &ip), 0);
		CU_ASSERT_STRING_EQUAL(cp_json_ipv4_format(ip, buf, sizeof(buf)), good[i]);
	}
	CU_ASSERT_EQUAL(cp_json_ipv4_parse("10.77.0.1", &ip), 0);
	CU_ASSERT_EQUAL(ip, 0x0a4d0001u);
}

static void
test_sizes_parse_units_and_format_exactly(void)
{
	static const struct {
		const char *s;
		uint64_t v;
		const char *fmt;
	} cases[] = {
		{ "0", 0, "0B" }, { "1000", 1000, "1000B" }, { "1000B", 1000, "1000B" },
		{ "1024", 1024, "1KiB" }, { "512KiB", 512u << 10, "512KiB" },
		{ "1536KiB", 1536u << 10, "1536KiB" }, { "4MiB", 4u << 20, "4MiB" },
		{ "4 MiB", 4u << 20, "4MiB" }, { "3GiB", UINT64_C(3) << 30, "3GiB" },
		{ "2TiB", UINT64_C(2) << 40, "2TiB" }, { "2048GiB", UINT64_C(2) << 40, "2TiB" },
	};
	char buf[32];
	uint64_t v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_assertImplementation(cp_json_size_parse(cases[i].s, &v) == 0 && v == cases[i].v,
					__LINE__, cases[i].s, __FILE__, "", CU_FALSE);
		CU_ASSERT_STRING_EQUAL(cp_json_size_format(cases[i].v, buf, sizeof(buf)), cases[i].fmt);
	}
}

static void
test_suggestions_catch_typos_not_strangers(void)
{
	static const char *const cands[] = { "slot_memory", "chunk_size", "id", "tenant" };
	static const struct {
		const char *word;
		const char *want;
	} cases[] = {
		{ "slot_memroy", "slot_memory" }, { "slotmemory", "slot_memory" },
		{ "chunk_sise", "chunk_size" }, { "CHUNK_SIZE", "chunk_size" }, { "tennat", "tenant" },
		{ "ID", "id" }, { "ix", NULL }, { "i", NULL }, { "memory", NULL }, { "colour", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cp_json_suggest s;
		const char *got;

		cp_json_suggest_init(&s, cases[i].word);
		for (size_t k = 0; k < sizeof(cands) / sizeof(cands[0]); k++)
			cp_json_suggest_offer(&s, cands[k]);
		got = cp_json_suggest_best(&s);
		CU_assertImplementation(cases[i].want == NULL ? got == NULL :
					got != NULL && strcmp(got, cases[i].want) == 0,
					__LINE__, cases[i].word, __FILE__, "", CU_FALSE);
	}
}

static CU_TestInfo tests[] = {
	{ "file_read_reports_errno", test_file_read_reports_errno },
	{ "syntax_errors_carry_jansson_positions", test_syntax_errors_carry_jansson_positions },
	{ "ipv4_parse_rejects_malformed", test_ipv4_parse_rejects_malformed },
	{ "size_parse_rejects_malformed_and_overflow", test_size_parse_rejects_malformed_and_overflow },
	{ "ids_are_short_and_plain", test_ids_are_short_and_plain },
	{ "unknown_keys_name_the_closest_or_list_all", test_unknown_keys_name_the_closest_or_list_all },
	{ "getters_report_type_range_and_missing", test_getters_report_type_range_and_missing },
	{ "pos_index_rejects_malformed_text", test_pos_index_rejects_malformed_text },
	{ "getters_read_valid_members", test_getters_read_valid_members },
	{ "pos_index_maps_pointers_to_keys_and_values", test_pos_index_maps_pointers_to_keys_and_values },
	{ "errors_at_absent_paths_point_at_the_enclosing_value",
	  test_errors_at_absent_paths_point_at_the_enclosing_value },
	{ "path_escapes_tokens_and_marks_overflow", test_path_escapes_tokens_and_marks_overflow },
	{ "ipv4_parse_and_format_round_trip", test_ipv4_parse_and_format_round_trip },
	{ "sizes_parse_units_and_format_exactly", test_sizes_parse_units_and_format_exactly },
	{ "suggestions_catch_typos_not_strangers", test_suggestions_catch_typos_not_strangers },
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	return cp_test_main("cp_json", tests);
}
