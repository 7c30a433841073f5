/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite daitn_worker: the daitn-worker command (path in argv[1]): exit codes,
 * messages, and its check on a one-worker job.
 *
 * The answers come from the test peer (daitn_test_peer.h) configured as a
 * ONE-worker job: a RESULT equal to the contribution is then the correct sum,
 * so the command's generation, check and reporting run for real. With mult 2
 * the peer's answers are wrong and the command must say where. The peer is
 * not a gateway; multi-worker runs against daitn-gw are integration tests.
 * On a one-worker job the rank-order fold is the contribution itself, so
 * --order-exact must pass there too, and --digest must repeat across runs.
 * A partial job's peer returns rank 0's contribution with a trailer naming
 * rank 0 alone, which is then the correct sum of a 2-rank job too.
 */
#include <CUnit/Basic.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "daitn_test_util.h"

extern char **environ;

static const char *worker_path;
static char out_buf[16384], err_buf[16384];

static void
slurp(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(buf, 1, size - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

/* Run daitn-worker with args (NULL-terminated); returns its exit status. */
static int
run_worker(const char *const *args)
{
	char out_path[] = "/tmp/daitn-worker-outXXXXXX", err_path[] = "/tmp/daitn-worker-errXXXXXX";
	const char *argv[32];
	posix_spawn_file_actions_t fa;
	int ofd = mkstemp(out_path), efd = mkstemp(err_path), status = -1;
	unsigned n = 0;
	pid_t pid;

	argv[n++] = worker_path;
	while (args[n - 1] != NULL && n < 31) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, ofd, 1);
	posix_spawn_file_actions_adddup2(&fa, efd, 2);
	if (posix_spawn(&pid, worker_path, &fa, NULL, (char *const *)argv, environ) == 0)
		waitpid(pid, &status, 0);
	posix_spawn_file_actions_destroy(&fa);
	close(ofd);
	close(efd);
	slurp(out_path, out_buf, sizeof(out_buf));
	slurp(err_path, err_buf, sizeof(err_buf));
	unlink(out_path);
	unlink(err_path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_usage_errors_exit_2(void)
{
	const char *none[] = { NULL };
	const char *bad_dtype[] = { "--gateway", "127.0.0.1", "--bind", "127.0.0.1:40000", "--job", "1",
				    "--rank", "0", "--dtype", "float64", NULL };
	const char *bad_pattern[] = { "--pattern", "zeros", NULL };
	const char *no_port[] = { "--gateway", "127.0.0.1", "--bind", "127.0.0.1", "--job", "1",
				  "--rank", "0", NULL };
	const char *zero_count[] = { "--count", "0", NULL };
	const char *digest_arg[] = { "--digest=yes", NULL };
	const char *ranks_down[] = { "--ranks", "5-3", NULL };
	const char *ranks_big[] = { "--ranks", "0-1024", NULL };
	const char *ranks_port[] = { "--gateway", "127.0.0.1", "--bind", "127.0.0.1:65500",
				     "--job", "1", "--ranks", "0-63", NULL };

	CU_ASSERT_EQUAL(run_worker(none), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "are required"));
	CU_ASSERT_EQUAL(run_worker(bad_dtype), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "--dtype: \"float64\""));
	CU_ASSERT_EQUAL(run_worker(bad_pattern), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "--pattern"));
	CU_ASSERT_EQUAL(run_worker(no_port), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "--bind: expected IPv4:PORT"));
	CU_ASSERT_EQUAL(run_worker(zero_count), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "--count"));
	CU_ASSERT_EQUAL(run_worker(digest_arg), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "digest"));
	CU_ASSERT_EQUAL(run_worker(ranks_down), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "--ranks: expected A-B"));
	CU_ASSERT_EQUAL(run_worker(ranks_big), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "--ranks: expected A-B"));
	CU_ASSERT_EQUAL(run_worker(ranks_port), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "past port 65535"));
}

static void
test_absent_gateway_exits_3_fast(void)
{
	char gw[32], bind[32];
	const char *args[] = { "--gateway", gw, "--bind", bind, "--job", "1", "--rank", "0", NULL };
	uint64_t t0 = daitn_now_ns();

	snprintf(gw, sizeof(gw), "127.0.0.1:%u", tutil_free_port());
	snprintf(bind, sizeof(bind), "127.0.0.1:%u", tutil_free_port());
	CU_ASSERT_EQUAL(run_worker(args), 3);
	CU_ASSERT((daitn_now_ns() - t0) / 1000000u < 2000);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "unreachable"));
}

/* Run the command against a one-worker peer of dtype, with up to four extra
 * arguments (extra ends with NULL); returns the status. */
static int
run_on_peer_v(uint8_t dtype, int mult, const char *type, const char *pattern,
	      const char *const *extra)
{
	struct tpeer *p = tutil_peer(dtype, 1024, 64, 2);
	char gw[32], bind[32];
	const char *args[24] = { "--gateway", gw, "--bind", bind, "--job", "7", "--rank", "0",
				 "--dtype", type, "--pattern", pattern, "--count", "70000",
				 "--rounds", "3", "--timeout-ms", "3000" };
	unsigned n = 18;
	int rc;

	while (*extra != NULL && n < 22)
		args[n++] = *extra++;
	args[n] = NULL;
	p->job.n_workers = 1;
	p->mult = mult;
	if (tpeer_start(p) != 0) {
		free(p);
		return -1;
	}
	snprintf(gw, sizeof(gw), "127.0.0.1:%u", p->job.udp_port_base);
	snprintf(bind, sizeof(bind), "127.0.0.1:%u", tutil_free_port());
	rc = run_worker(args);
	tpeer_stop(p);
	free(p);
	return rc;
}

static int
run_on_peer2(uint8_t dtype, int mult, const char *type, const char *pattern, const char *extra,
	     const char *extra2)
{
	const char *extras[] = { extra, extra2, NULL };

	return run_on_peer_v(dtype, mult, type, pattern, extra != NULL ? extras : extras + 2);
}

static int
run_on_peer(uint8_t dtype, int mult, const char *type, const char *pattern, const char *extra)
{
	return run_on_peer2(dtype, mult, type, pattern, extra, NULL);
}

/* The "digest round K sha256 HEX" lines of out_buf, in order, into lines;
 * returns how many, 0 if one is malformed (HEX not 64 lowercase digits). */
static unsigned
digest_lines(char *lines, size_t size)
{
	const char *p = out_buf, *h;
	unsigned n = 0;
	size_t len = 0;

	lines[0] = '\0';
	while ((p = strstr(p, "digest round ")) != NULL) {
		const char *eol = strchr(p, '\n');

		h = strstr(p, " sha256 ");
		if (eol == NULL || h == NULL || h > eol || eol - (h + 8) != 64 ||
		    strspn(h + 8, "0123456789abcdef") != 64 || len + (size_t)(eol - p) + 2 > size)
			return 0;
		memcpy(lines + len, p, (size_t)(eol - p) + 1);
		len += (size_t)(eol - p) + 1;
		lines[len] = '\0';
		n++;
		p = eol;
	}
	return n;
}

/* --digest: one line per round, also with --quiet; the same job and seed give
 * the same lines, another seed other ones. */
static void
test_digest_lines_repeat_across_runs_even_when_quiet(void)
{
	char first[1024], again[1024];

	CU_ASSERT_EQUAL(run_on_peer(DP_DTYPE_F32, 1, "float32", "random", "--digest"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "round 2: OK 70000"));
	CU_ASSERT_EQUAL(digest_lines(first, sizeof(first)), 3);
	CU_ASSERT_EQUAL(strncmp(first, "digest round 0 sha256 ", 22), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(first, "\ndigest round 2 sha256 "));
	CU_ASSERT_EQUAL(run_on_peer2(DP_DTYPE_F32, 1, "float32", "random", "--quiet", "--digest"), 0);
	CU_ASSERT_PTR_NULL(strstr(out_buf, "round 2: OK"));
	CU_ASSERT_EQUAL(digest_lines(again, sizeof(again)), 3);
	CU_ASSERT_STRING_EQUAL(first, again);
	CU_ASSERT_EQUAL(run_on_peer2(DP_DTYPE_F32, 1, "float32", "random", "--digest", "--seed=2"), 0);
	CU_ASSERT_EQUAL(digest_lines(again, sizeof(again)), 3);
	CU_ASSERT_STRING_NOT_EQUAL(first, again);
	CU_ASSERT_EQUAL(run_on_peer2(DP_DTYPE_BF16, 1, "bfloat16", "random", "--digest", "--quiet"), 0);
	CU_ASSERT_EQUAL(digest_lines(again, sizeof(again)), 3);
}

/* --json --digest: the round's object carries "sha256", the same digest as
 * the text line, and there is no text line; without --digest no "sha256". */
static void
test_digest_in_json_round_objects(void)
{
	char text[1024], want[128];
	const char *h;

	CU_ASSERT_EQUAL(run_on_peer(DP_DTYPE_F16, 1, "float16", "exact", "--digest"), 0);
	CU_ASSERT_EQUAL_FATAL(digest_lines(text, sizeof(text)), 3);
	h = strstr(text, "digest round 2 sha256 ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	snprintf(want, sizeof(want), ",\"sha256\":\"%.64s\"}\n", h + 22);
	CU_ASSERT_EQUAL(run_on_peer2(DP_DTYPE_F16, 1, "float16", "exact", "--json", "--digest"), 0);
	CU_ASSERT_PTR_NULL(strstr(out_buf, "digest round"));
	h = strstr(out_buf, "{\"rank\":0,\"round\":2,\"ok\":true,\"seconds\":");
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_PTR_NOT_NULL(strstr(h, want));
	CU_ASSERT(strstr(h, want) < strchr(h, '\n'));
	CU_ASSERT_EQUAL(run_on_peer2(DP_DTYPE_F16, 1, "float16", "exact", "--json", "--quiet"), 0);
	CU_ASSERT_PTR_NULL(strstr(out_buf, "sha256"));
}

/* --json --quiet --digest: one {"rank","round","ok","sha256"} object a round,
 * with the digest of the text line. */
static void
test_digest_with_json_and_quiet(void)
{
	const char *quiet_json_digest[] = { "--json", "--quiet", "--digest", NULL };
	char want[160];
	const char *h;

	CU_ASSERT_EQUAL(run_on_peer(DP_DTYPE_I32, 1, "int32", "random", "--digest"), 0);
	h = strstr(out_buf, "digest round 1 sha256 ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	snprintf(want, sizeof(want), "{\"rank\":0,\"round\":1,\"ok\":true,\"sha256\":\"%.64s\"}\n",
		 h + 22);
	CU_ASSERT_EQUAL(run_on_peer_v(DP_DTYPE_I32, 1, "int32", "random", quiet_json_digest), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, want));
	CU_ASSERT_PTR_NULL(strstr(out_buf, "digest round"));
	CU_ASSERT_PTR_NULL(strstr(out_buf, "\"round\":1,\"ok\":true,\"seconds\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "\"rounds_ok\":3,\"ok\":true"));
}

/* --order-exact on a one-worker job: the fold is rank 0's value itself, so
 * correct answers pass for every float type and pattern, and doubled ones
 * fail with a bit-exact (allowed error 0) report. */
static void
test_order_exact_on_a_one_worker_job(void)
{
	static const struct { uint8_t dtype; const char *name; } types[] = {
		{ DP_DTYPE_F32, "float32" }, { DP_DTYPE_BF16, "bfloat16" }, { DP_DTYPE_F16, "float16" },
		{ DP_DTYPE_I32, "int32" }, { DP_DTYPE_I32, "float32-on-int32" },
	};

	CU_ASSERT_EQUAL(run_on_peer(DP_DTYPE_F32, 2, "float32", "random", "--order-exact"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "round 0: MISMATCH at index "));
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "allowed error 0 "));
	for (unsigned t = 0; t < 5; t++) {
		CU_ASSERT_EQUAL(run_on_peer2(types[t].dtype, 1, types[t].name, "random",
					     "--order-exact", "--quiet"), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "3 rounds OK"));
		CU_ASSERT_EQUAL(run_on_peer(types[t].dtype, 1, types[t].name, "exact",
					    "--order-exact"), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "round 2: OK 70000"));
	}
}

static void
test_wrong_results_exit_1_naming_the_index(void)
{
	CU_ASSERT_EQUAL(run_on_peer(DP_DTYPE_F32, 2, "float32", "exact", NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "rank 0: round 0: MISMATCH at index "));
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "expected "));
	CU_ASSERT_EQUAL(run_on_peer(DP_DTYPE_I32, 2, "int32", "random", NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "MISMATCH at index 0: expected "));
	CU_ASSERT_EQUAL(run_on_peer(DP_DTYPE_F32, 2, "float32", "random", NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "allowed error"));
}

/* --until-file stops every rank at the next vote, --quiet or not (a quiet
 * worker used to skip the vote and run all its rounds). */
static void
test_until_file_stops_a_quiet_worker(void)
{
	struct tpeer *p = tutil_peer(DP_DTYPE_F32, 1024, 64, 2);
	char gw[32], bind[32], stop[] = "/tmp/daitn_stopXXXXXX";
	const char *args[] = { "--gateway", gw, "--bind", bind, "--job", "7", "--rank", "0",
			       "--count", "1000", "--rounds", "1000000", "--timeout-ms", "3000",
			       "--quiet", "--until-file", stop, NULL };
	int fd = mkstemp(stop);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	p->job.n_workers = 1;
	p->mult = 1;
	CU_ASSERT_EQUAL_FATAL(tpeer_start(p), 0);
	snprintf(gw, sizeof(gw), "127.0.0.1:%u", p->job.udp_port_base);
	snprintf(bind, sizeof(bind), "127.0.0.1:%u", tutil_free_port());
	CU_ASSERT_EQUAL(run_worker(args), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "8 rounds OK"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "1 stop votes"));
	tpeer_stop(p);
	free(p);
	unlink(stop);
}

static void
test_job_mismatches_exit_2(void)
{
	CU_ASSERT_EQUAL(run_on_peer(DP_DTYPE_F32, 1, "float16", "exact", NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "job 7 is float32; --dtype float16 does not fit it"));
	CU_ASSERT_EQUAL(run_on_peer(DP_DTYPE_F32, 1, "float32", "exact", "--workers=4"), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "has 1 workers, not 4"));
}

static void
test_every_type_and_pattern_passes_on_a_one_worker_job(void)
{
	static const struct { uint8_t dtype; const char *name; } types[] = {
		{ DP_DTYPE_F32, "float32" }, { DP_DTYPE_I32, "int32" }, { DP_DTYPE_BF16, "bfloat16" },
		{ DP_DTYPE_F16, "float16" }, { DP_DTYPE_I32, "float32-on-int32" },
	};

	for (unsigned t = 0; t < 5; t++) {
		CU_ASSERT_EQUAL(run_on_peer(types[t].dtype, 1, types[t].name, "exact", NULL), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "daitn-worker: rank 0: 3 rounds OK\n"));
		CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "round 2: OK 70000"));
		CU_ASSERT_EQUAL(run_on_peer(types[t].dtype, 1, types[t].name, "random", "--quiet"), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "3 rounds OK"));
		CU_ASSERT_PTR_NULL(strstr(out_buf, "round 2: OK"));
	}
}

static void
test_json_output_is_one_object_per_line(void)
{
	CU_ASSERT_EQUAL(run_on_peer(DP_DTYPE_F32, 1, "float32", "exact", "--json"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "{\"rank\":0,\"round\":2,\"ok\":true,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "\"rounds_ok\":3,\"ok\":true,\"dtype\":\"float32\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "3 rounds OK"));
}

/* --slow RANK:FACTOR and --compute-ms MS: malformed values, a factor out
 * of 1 .. 1000, a rank past the protocol's, --slow twice. */
static void
test_slow_and_compute_ms_usage_errors(void)
{
	static const char *const slow_bad[] = { "3", "1:0.5", "1:1001", "x:2", "1:2x", "1024:2",
						"-1:2", "1:", ":2", "1:nan", "1:inf" };
	const char *twice[] = { "--slow", "1:2", "--slow", "2:3", NULL };
	const char *compute_bad[] = { "-5", "3600001", "abc", "" };

	for (unsigned i = 0; i < sizeof(slow_bad) / sizeof(slow_bad[0]); i++) {
		const char *args[] = { "--slow", slow_bad[i], NULL };

		CU_ASSERT_EQUAL(run_worker(args), 2);
		CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "--slow: expected RANK:FACTOR"));
	}
	CU_ASSERT_EQUAL(run_worker(twice), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "--slow: given twice"));
	for (unsigned i = 0; i < sizeof(compute_bad) / sizeof(compute_bad[0]); i++) {
		const char *args[] = { "--compute-ms", compute_bad[i], NULL };

		CU_ASSERT_EQUAL(run_worker(args), 2);
		CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "--compute-ms: expected 0 .. 3600000"));
	}
}

/* --drop-out RANK:A-B: malformed values, B before A, a rank past the
 * protocol's, given twice, with --until-file. */
static void
test_drop_out_usage_errors(void)
{
	static const char *const bad[] = { "3", "1:", ":2", "1:3-2", "1:2-", "1:-2", "x:2",
					   "1024:2", "-1:2", "1:2-3x", "1:+2", "1: 2" };
	const char *twice[] = { "--drop-out", "1:2", "--drop-out", "2:3", NULL };
	const char *until[] = { "--drop-out", "1:2-4", "--until-file", "/nonexistent", NULL };

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *args[] = { "--drop-out", bad[i], NULL };

		CU_ASSERT_EQUAL(run_worker(args), 2);
		CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "--drop-out: expected RANK:A-B"));
	}
	CU_ASSERT_EQUAL(run_worker(twice), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "--drop-out: given twice"));
	CU_ASSERT_EQUAL(run_worker(until), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "--drop-out and --until-file"));
}

/* The slow rank computes FACTOR x --compute-ms before each round; another
 * rank's factor does not slow this one; --slow alone means 20 ms. */
static void
test_slow_rank_computes_longer(void)
{
	const char *slow0[] = { "--slow", "0:2.5", "--compute-ms", "20", "--quiet", NULL };
	const char *slow1[] = { "--slow", "1:1000", "--compute-ms", "2", "--quiet", NULL };
	const char *slow_only[] = { "--slow", "0:1", "--quiet", NULL };
	uint64_t t0;

	t0 = daitn_now_ns();
	CU_ASSERT_EQUAL(run_on_peer_v(DP_DTYPE_F32, 1, "float32", "exact", slow0), 0);
	CU_ASSERT((daitn_now_ns() - t0) / 1000000u >= 3 * 50);
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "3 rounds OK"));
	t0 = daitn_now_ns();
	CU_ASSERT_EQUAL(run_on_peer_v(DP_DTYPE_F32, 1, "float32", "exact", slow1), 0);
	CU_ASSERT((daitn_now_ns() - t0) / 1000000u < 3000);        /* not 3 x 2 s */
	t0 = daitn_now_ns();
	CU_ASSERT_EQUAL(run_on_peer_v(DP_DTYPE_F32, 1, "float32", "exact", slow_only), 0);
	CU_ASSERT((daitn_now_ns() - t0) / 1000000u >= 3 * 20);
}

/* Run the command as rank 0 against a partial job of n_workers ranks whose
 * RESULTs hold the ranks in bits (the peer returns rank 0's contribution,
 * correct when bits is 0x1 or the job has one rank): 16 slots of 256
 * floats, --count 4000, 5 rounds. close_round != 0: the GRADs of that round
 * draw ERROR 6 saying the job is at round close_to (rounds relative to the
 * run's first). extra ends with NULL. */
static int
run_on_partial_peer(uint16_t n_workers, uint64_t bits, uint32_t close_round, uint32_t close_to,
		    const char *const *extra)
{
	struct tpeer *p = tutil_peer(DP_DTYPE_F32, 1024, 16, 2);
	char gw[32], bind[32];
	const char *args[24] = { "--gateway", gw, "--bind", bind, "--job", "7", "--rank", "0",
				 "--count", "4000", "--rounds", "5", "--timeout-ms", "3000" };
	unsigned n = 14;
	int rc;

	while (*extra != NULL && n < 22)
		args[n++] = *extra++;
	args[n] = NULL;
	p->job.n_workers = n_workers;
	p->job.flags = DP_PROTO_JOB_PARTIAL;
	p->mult = 1;
	p->partial_results = true;
	for (unsigned i = 0; i < 4; i++)
		p->ranks_bits[i] = bits;
	if (close_round != 0) {
		p->close_enabled = true;
		p->close_round = p->job.round_base + close_round;
		p->close_to = p->job.round_base + close_to;
	}
	if (tpeer_start(p) != 0) {
		free(p);
		return -1;
	}
	snprintf(gw, sizeof(gw), "127.0.0.1:%u", p->job.udp_port_base);
	snprintf(bind, sizeof(bind), "127.0.0.1:%u", tutil_free_port());
	rc = run_worker(args);
	tpeer_stop(p);
	free(p);
	return rc;
}

/* On a partial job each chunk is checked against the ranks its trailer
 * names: on a 2-rank job, results of rank 0 alone pass (the sum of both
 * would not), also bit for bit against the fold; --json reports the fewest
 * ranks of a chunk. */
static void
test_partial_job_checks_the_ranks_of_each_chunk(void)
{
	const char *json[] = { "--json", NULL };
	const char *fold[] = { "--order-exact", "--pattern", "random", NULL };
	const char *none[] = { NULL };

	CU_ASSERT_EQUAL(run_on_partial_peer(2, 0x1, 0, 0, none), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "daitn-worker: rank 0: 5 rounds OK\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "round 4: 1 of 2 ranks in the smallest chunk\n"));
	CU_ASSERT_EQUAL(run_on_partial_peer(2, 0x1, 0, 0, fold), 0);
	CU_ASSERT_EQUAL(run_on_partial_peer(2, 0x1, 0, 0, json), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "{\"rank\":0,\"round\":4,\"ok\":true,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, ",\"n_in_min\":1,\"with_rank\":true}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "\"rounds_missed\":0,\"rounds_without_rank\":0,"
				      "\"n_in_min\":1,"));
	/* Both ranks claimed: the sum of both is expected, rank 0's alone is wrong. */
	CU_ASSERT_EQUAL(run_on_partial_peer(2, 0x3, 0, 0, none), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "round 0: MISMATCH"));
}

/* A round that closed without this rank (ERROR 6) is missed, not failed:
 * the rank goes on with the job's round, its inputs those of that round,
 * and ends after the same round as the others, with exit 0. */
static void
test_round_closed_is_a_missed_round_not_a_failure(void)
{
	const char *digest[] = { "--digest", NULL };
	const char *json[] = { "--json", NULL };
	char lines[1024];

	CU_ASSERT_EQUAL(run_on_partial_peer(1, 0, 1, 3, digest), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "daitn-worker: rank 0: round 1: missed (closed "
				      "without this rank; the job is at round 3)\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "round 3: OK 4000"));
	CU_ASSERT_PTR_NULL(strstr(out_buf, "round 2: OK"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "daitn-worker: rank 0: 5 rounds, 3 OK, 2 missed "
				      "(closed without this rank)\n"));
	CU_ASSERT_EQUAL(digest_lines(lines, sizeof(lines)), 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(lines, "digest round 4 sha256 "));
	CU_ASSERT_EQUAL(run_on_partial_peer(1, 0, 1, 3, json), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "{\"rank\":0,\"round\":1,\"missed\":true,"
				      "\"job_round\":3}\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "\"rounds_ok\":3,\"ok\":true"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "\"rounds_missed\":2,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "5 rounds, 3 OK, 2 missed"));
	/* The job moved past the last round: the rank stops there too. */
	CU_ASSERT_EQUAL(run_on_partial_peer(1, 0, 4, 9, digest), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "5 rounds, 4 OK, 1 missed"));
}

/* With --until-file the schedule has a stop vote after every 8 rounds
 * (call 8 is the first vote, call 9 round 8): a rank moved on to call 8
 * votes next, as the others do, then runs rounds 8 on. */
static void
test_round_closed_lands_on_the_schedule_with_votes(void)
{
	const char *until[] = { "--until-file", "/nonexistent/daitn-stop", "--rounds", "12",
				"--quiet", NULL };

	CU_ASSERT_EQUAL(run_on_partial_peer(1, 0, 2, 8, until), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "round 2: missed (closed without this rank; the "
				      "job is at round 8)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "12 rounds, 6 OK, 6 missed (closed without this "
				      "rank) (stopped by /nonexistent/daitn-stop; 1 stop votes)\n"));
	/* Past the vote: call 10 is round 9. */
	CU_ASSERT_EQUAL(run_on_partial_peer(1, 0, 2, 10, until), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "the job is at round 9)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out_buf, "12 rounds, 5 OK, 7 missed (closed without this "
				      "rank) (stopped by /nonexistent/daitn-stop; 0 stop votes)\n"));
}

/* A partial job's round must fit its slots: a --count over them is a usage
 * error that names the largest count. */
static void
test_partial_count_over_the_slots_exits_2(void)
{
	const char *big[] = { "--count", "5000", NULL };

	CU_ASSERT_EQUAL(run_on_partial_peer(1, 0, 0, 0, big), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "job 7 is partial"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "at most 4096 elements"));
}

int
main(int argc, char **argv)
{
	static const CU_TestInfo tests[] = {
		{ "usage_errors_exit_2", test_usage_errors_exit_2 },
		{ "absent_gateway_exits_3_fast", test_absent_gateway_exits_3_fast },
		{ "wrong_results_exit_1_naming_the_index",
		  test_wrong_results_exit_1_naming_the_index },
		{ "job_mismatches_exit_2", test_job_mismatches_exit_2 },
		{ "until_file_stops_a_quiet_worker", test_until_file_stops_a_quiet_worker },
		{ "every_type_and_pattern_passes_on_a_one_worker_job",
		  test_every_type_and_pattern_passes_on_a_one_worker_job },
		{ "json_output_is_one_object_per_line", test_json_output_is_one_object_per_line },
		{ "digest_lines_repeat_across_runs_even_when_quiet",
		  test_digest_lines_repeat_across_runs_even_when_quiet },
		{ "digest_in_json_round_objects", test_digest_in_json_round_objects },
		{ "digest_with_json_and_quiet", test_digest_with_json_and_quiet },
		{ "order_exact_on_a_one_worker_job", test_order_exact_on_a_one_worker_job },
		{ "slow_and_compute_ms_usage_errors", test_slow_and_compute_ms_usage_errors },
		{ "drop_out_usage_errors", test_drop_out_usage_errors },
		{ "slow_rank_computes_longer", test_slow_rank_computes_longer },
		{ "partial_count_over_the_slots_exits_2", test_partial_count_over_the_slots_exits_2 },
		{ "partial_job_checks_the_ranks_of_each_chunk",
		  test_partial_job_checks_the_ranks_of_each_chunk },
		{ "round_closed_is_a_missed_round_not_a_failure",
		  test_round_closed_is_a_missed_round_not_a_failure },
		{ "round_closed_lands_on_the_schedule_with_votes",
		  test_round_closed_lands_on_the_schedule_with_votes },
		CU_TEST_INFO_NULL,
	};

	if (argc < 2 || access(argv[1], X_OK) != 0) {
		fprintf(stderr, "test_daitn_worker: needs the daitn-worker binary as argument\n");
		return 77;
	}
	worker_path = argv[1];
	return tutil_run("daitn_worker", tests);
}
