/* SPDX-License-Identifier: BSD-3-Clause */
/* cp_diag: the diagnostics list and its format (suite cp_diag). */
#include <stdlib.h>
#include <string.h>

#include "cp_diag.h"
#include "cp_test.h"

static void
test_overlong_fields_are_cut_not_overrun(void)
{
	struct cp_diags d = { 0 };
	char big[1000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(cp_diags_add(&d, big, 1, 1, big, "%s", big), 0);
	CU_ASSERT_EQUAL(d.n, 1);
	CU_ASSERT_EQUAL(strlen(d.v[0].file), CP_DIAG_FILE_MAX - 1);
	CU_ASSERT_EQUAL(strlen(d.v[0].path), CP_DIAG_PATH_MAX - 1);
	CU_ASSERT_EQUAL(strlen(d.v[0].msg), CP_DIAG_MSG_MAX - 1);
	cp_diags_free(&d);
}

static void
test_control_characters_cannot_break_the_line_format(void)
{
	struct cp_diags d = { 0 };
	char buf[256];

	cp_diags_add(&d, "p.json", 2, 3, "/a\nb", "unknown key \"%s\"", "a\nb\t\x1b[31m");
	cp_diag_format(&d.v[0], buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "p.json:2:3: /a?b: unknown key \"a?b??[31m\"");
	cp_diags_free(&d);
}

static void
test_unknown_positions_print_without_numbers(void)
{
	struct cp_diags d = { 0 };
	char buf[512];

	cp_diags_add(&d, "gw.json", 0, 7, "", "cannot read: %s", "No such file or directory");
	cp_diags_add(&d, "gw.json", -3, -3, "/ports", "bad");
	CU_ASSERT_EQUAL(d.v[0].line, 0);
	CU_ASSERT_EQUAL(d.v[0].col, 0);
	cp_diag_format(&d.v[0], buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "gw.json: cannot read: No such file or directory");
	cp_diag_format(&d.v[1], buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "gw.json: /ports: bad");
	cp_diags_free(&d);
}

static void
test_column_zero_from_jansson_becomes_one(void)
{
	struct cp_diags d = { 0 };
	char buf[256];

	cp_diags_add(&d, "p.json", 4, 0, "", "syntax error: x");
	cp_diag_format(&d.v[0], buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "p.json:4:1: syntax error: x");
	cp_diags_free(&d);
}

static void
test_format_is_file_line_col_path_reason(void)
{
	struct cp_diags d = { 0 };
	char buf[512];
	int n;

	cp_diags_add(&d, "policy.json", 12, 34, "/jobs/2/workers/5/ip",
		     "not an IPv4 address (\"%s\")", "10.0.0.300");
	n = cp_diag_format(&d.v[0], buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "policy.json:12:34: /jobs/2/workers/5/ip: not an IPv4 address "
			       "(\"10.0.0.300\")");
	CU_ASSERT_EQUAL(n, (int)strlen(buf));
	cp_diags_free(&d);
}

static void
test_print_writes_one_line_each(void)
{
	struct cp_diags d = { 0 };
	char *out = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);

	CU_ASSERT_FATAL(f != NULL);
	cp_diags_add(&d, "a.json", 1, 2, "/x", "one");
	cp_diags_add(&d, "a.json", 3, 4, "", "two");
	cp_diags_print(&d, f);
	fclose(f);
	CU_ASSERT_STRING_EQUAL(out, "a.json:1:2: /x: one\na.json:3:4: two\n");
	free(out);
	cp_diags_free(&d);
}

static void
test_list_grows_and_clear_keeps_it_usable(void)
{
	struct cp_diags d = { 0 };

	for (int i = 0; i < 1000; i++)
		CU_ASSERT_EQUAL(cp_diags_add(&d, "f", i + 1, 1, "", "%d", i), 0);
	CU_ASSERT_EQUAL(d.n, 1000);
	CU_ASSERT(d.cap >= 1000);
	CU_ASSERT_STRING_EQUAL(d.v[999].msg, "999");
	cp_diags_clear(&d);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_EQUAL(cp_diags_add(&d, "f", 1, 1, "", "again"), 0);
	CU_ASSERT_STRING_EQUAL(d.v[0].msg, "again");
	cp_diags_free(&d);
	CU_ASSERT_PTR_NULL(d.v);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_EQUAL(d.cap, 0);
}

static void
test_sort_orders_by_position_stably_from_an_index(void)
{
	struct cp_diags d = { 0 };

	cp_diags_add(&d, "earlier", 9, 9, "", "kept first");   /* before `from` */
	cp_diags_add(&d, "f", 5, 2, "", "c");
	cp_diags_add(&d, "f", 2, 7, "", "b");
	cp_diags_add(&d, "f", 5, 2, "", "d");                  /* same position as c */
	cp_diags_add(&d, "f", 0, 0, "", "a");                  /* no position: first */
	cp_diags_add(&d, "f", 2, 1, "", "a2");
	CU_ASSERT_EQUAL(cp_diags_sort(&d, 1), 0);
	CU_ASSERT_STRING_EQUAL(d.v[0].msg, "kept first");
	CU_ASSERT_STRING_EQUAL(d.v[1].msg, "a");
	CU_ASSERT_STRING_EQUAL(d.v[2].msg, "a2");
	CU_ASSERT_STRING_EQUAL(d.v[3].msg, "b");
	CU_ASSERT_STRING_EQUAL(d.v[4].msg, "c");
	CU_ASSERT_STRING_EQUAL(d.v[5].msg, "d");
	CU_ASSERT_EQUAL(d.n, 6);
	CU_ASSERT_EQUAL(cp_diags_sort(&d, 6), 0);   /* nothing to sort */
	CU_ASSERT_EQUAL(cp_diags_sort(&d, 99), 0);
	cp_diags_free(&d);
}

static CU_TestInfo tests[] = {
	{ "overlong_fields_are_cut_not_overrun", test_overlong_fields_are_cut_not_overrun },
	{ "control_characters_cannot_break_the_line_format",
	  test_control_characters_cannot_break_the_line_format },
	{ "unknown_positions_print_without_numbers", test_unknown_positions_print_without_numbers },
	{ "column_zero_from_jansson_becomes_one", test_column_zero_from_jansson_becomes_one },
	{ "format_is_file_line_col_path_reason", test_format_is_file_line_col_path_reason },
	{ "print_writes_one_line_each", test_print_writes_one_line_each },
	{ "list_grows_and_clear_keeps_it_usable", test_list_grows_and_clear_keeps_it_usable },
	{ "sort_orders_by_position_stably_from_an_index",
	  test_sort_orders_by_position_stably_from_an_index },
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	return cp_test_main("cp_diag", tests);
}
