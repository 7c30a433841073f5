/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitn-worker's rounds: fill, allreduce (timed alone), check, report.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "daitn_worker_priv.h"
#include "dp_proto.h"
#include "wk_sha256.h"

struct wk_rate {
	double seconds;
	double elems_per_s;
	double gbit_s;           /* payload bits sent per second, one direction */
	double chunks_per_s;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct wk_rate
rate(double seconds, double elems, size_t wire_es, double chunks)
{
	struct wk_rate r = { .seconds = seconds };

	if (seconds > 0) {
		r.elems_per_s = elems / seconds;
		r.gbit_s = elems * (double)wire_es * 8.0 / seconds / 1e9;
		r.chunks_per_s = chunks / seconds;
	}
	return r;
}

static void
print_mismatch(const struct wk_opts *o, unsigned long k, const struct wk_mismatch *mm)
{
	if (o->type == WK_I32)
		fprintf(stderr, "daitn-worker: rank %ld: round %lu: MISMATCH at index %zu: expected %d, "
			"got %d (%zu of %zu elements wrong)\n", o->rank, k, mm->index,
			(int32_t)mm->expected_bits, (int32_t)mm->got_bits, mm->n_bad, o->count);
	else
		fprintf(stderr, "daitn-worker: rank %ld: round %lu: MISMATCH at index %zu: expected "
			"%.9g (0x%0*x), got %.9g (0x%0*x), allowed error %.3g (%zu of %zu elements "
			"wrong)\n", o->rank, k, mm->index, mm->expected,
			(int)wk_type_size(o->type) * 2, mm->expected_bits, mm->got, (int)wk_type_size(o->type) * 2,
			mm->got_bits, mm->bound, mm->n_bad, o->count);
}

/* A round's tallies, for the final lines. */
struct wk_tally {
	unsigned long rounds;        /* round index reached (the job's rounds) */
	unsigned long ok;            /* rounds whose result passed */
	unsigned long without;       /* ... of those, a chunk closed without this rank */
	unsigned n_in_min;           /* partial jobs: the fewest ranks in a chunk */
};

static void
print_json_final(const struct wk_opts *o, const struct daitn *d, const struct wk_tally *t,
		 const struct wk_rate *r, const char *error)
{
	struct daitn_stats st;
	struct daitn_stats_ext ext;

	daitn_stats_get(d, &st);
	daitn_stats_ext_get(d, &ext);
	printf("{\"rank\":%ld,\"job\":%ld,\"rounds\":%lu,\"rounds_ok\":%lu,\"ok\":%s,"
	       "\"dtype\":\"%s\",\"pattern\":\"%s\",\"count\":%zu,\"seconds\":%.6f,"
	       "\"elems_per_s\":%.0f,\"gbit_s\":%.3f,\"chunks_per_s\":%.0f,",
	       o->rank, o->job, o->rounds, t->ok, error == NULL ? "true" : "false",
	       wk_type_name(o->type), o->pattern == WK_EXACT ? "exact" : "random", o->count,
	       r->seconds, r->elems_per_s, r->gbit_s, r->chunks_per_s);
	if (daitn_job(d)->partial)
		printf("\"partial\":true,\"rounds_missed\":%lu,\"rounds_without_rank\":%lu,"
		       "\"n_in_min\":%u,", t->rounds > t->ok ? t->rounds - t->ok : 0, t->without,
		       t->n_in_min);
	printf("\"stats\":{\"chunks_sent\":%llu,\"retransmits\":%llu,\"results\":%llu,"
	       "\"stale_results\":%llu,\"send_calls\":%llu,\"recv_calls\":%llu,"
	       "\"datagrams_sent\":%llu,\"tx_dropped\":%llu,\"ignored\":%llu,\"gso\":%s,\"gro\":%s}",
	       (unsigned long long)st.chunks_sent, (unsigned long long)st.retransmits,
	       (unsigned long long)st.results, (unsigned long long)st.stale_results,
	       (unsigned long long)st.send_calls, (unsigned long long)st.recv_calls,
	       (unsigned long long)ext.datagrams_sent, (unsigned long long)ext.tx_dropped,
	       (unsigned long long)ext.ignored, (ext.flags & DAITN_STATS_GSO) ? "true" : "false",
	       (ext.flags & DAITN_STATS_GRO) ? "true" : "false");
	if (error != NULL) {
		printf(",\"error\":\"");
		for (const char *c = error; *c; c++)
			printf(*c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
		printf("\"");
	}
	printf("}\n");
	fflush(stdout);
}

/*
 * --until-file: every WK_VOTE_EVERY rounds the ranks agree whether to stop,
 * with a one-element allreduce of the job's type: each contributes 1 if the
 * file exists, 0 if not, and all stop when the sum is not 0. So every rank
 * stops after the same round, whenever the file appears.
 */
static int
stop_vote(const struct wk_opts *o, struct daitn *d, bool *stop)
{
	const struct daitn_job_info *ji = daitn_job(d);
	bool want = access(o->until_file, F_OK) == 0;
	union { float f; int32_t i; uint16_t h; } v;
	int rc;

	switch (ji->dtype) {
	case DAITN_FLOAT32: v.f = want ? 1.0f : 0.0f; break;
	case DAITN_INT32: v.i = want; break;
	case DAITN_BFLOAT16: v.h = want ? 0x3f80 : 0; break;   /* 1.0 */
	default: v.h = want ? 0x3c00 : 0; break;                /* float16 1.0 */
	}
	/* A fedavg job's vote is a mean: not 0 when any rank wants to stop. */
	rc = ji->fedavg ? daitn_allreduce_weighted(d, &v, 1, ji->dtype, 1.0)
			: daitn_allreduce(d, &v, 1, ji->dtype);
	if (rc < 0)
		return rc;
	*stop = ji->dtype == DAITN_FLOAT32 ? v.f != 0.0f : ji->dtype == DAITN_INT32 ? v.i != 0
									       : v.h != 0;
	return 0;
}

/* Sleep ms milliseconds, through signals (--pause, --compute-ms). */
static void
sleep_ms(double ms)
{
	struct timespec ts;

	if (!(ms > 0.0))
		return;
	ts.tv_sec = (time_t)(ms / 1000.0);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000.0) * 1e6);
	if (ts.tv_nsec > 999999999L)
		ts.tv_nsec = 999999999L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * What the library's call c (daitn_next_round()) is in the worker's
 * schedule: round k, or with --until-file the stop vote that follows every
 * WK_VOTE_EVERY rounds; k counts the rounds before call c. Every rank runs
 * the same schedule, so a rank that a partial job moved on (ERROR 6) does
 * what the others do at that call, with the inputs of that round.
 */
static unsigned long
call_round(const struct wk_opts *o, uint32_t c, bool *vote)
{
	if (o->until_file == NULL) {
		*vote = false;
		return c;
	}
	*vote = c % (WK_VOTE_EVERY + 1) == WK_VOTE_EVERY;
	return c - c / (WK_VOTE_EVERY + 1);
}

/* A partial job's round: which ranks each chunk's result holds, for the
 * check; the fewest in a chunk, and whether this rank is in all of them. */
static void
round_ranks(const struct wk_opts *o, const struct daitn *d, size_t n_chunks, const uint8_t **maps,
	    unsigned *n_in_min, bool *with_me)
{
	unsigned r = (unsigned)o->rank;

	*n_in_min = UINT16_MAX;
	*with_me = true;
	for (size_t c = 0; c < n_chunks; c++) {
		uint16_t n_in = 0;

		maps[c] = NULL;
		if (daitn_result_ranks(d, c, &n_in, &maps[c]) != 0)
			continue;
		if (n_in < *n_in_min)
			*n_in_min = n_in;
		if (!((maps[c][r / 8] >> (r % 8)) & 1u))
			*with_me = false;
	}
}

/* The final line: "K rounds OK", or with rounds missed
 * "K rounds, J OK, M missed (closed without this rank)"; ", P without this
 * rank" when results left it out. */
static void
print_final(const struct wk_opts *o, const struct wk_tally *t, unsigned long votes)
{
	FILE *f = o->json ? stderr : stdout;

	/* One line, whole: with --ranks, other ranks' threads print theirs. */
	flockfile(f);
	if (t->rounds > t->ok)
		fprintf(f, "daitn-worker: rank %ld: %lu rounds, %lu OK, %lu missed (closed without "
			"this rank)", o->rank, t->rounds, t->ok, t->rounds - t->ok);
	else
		fprintf(f, "daitn-worker: rank %ld: %lu rounds OK", o->rank, t->rounds);
	if (t->without != 0)
		fprintf(f, ", %lu without this rank", t->without);
	if (o->until_file != NULL)
		fprintf(f, " (stopped by %s; %lu stop votes)", o->until_file, votes);
	fprintf(f, "\n");
	funlockfile(f);
}

int
wk_run(const struct wk_opts *o, struct daitn *d)
{
	const struct daitn_job_info *ji = daitn_job(d);
	struct wk_gen g = {
		.type = o->type, .pattern = o->pattern, .seed = o->seed,
		.n_workers = o->tree_n != 0 ? (unsigned)o->tree_n : ji->n_workers,
		.frac_bits = ji->frac_bits,
		.order_exact = o->order_exact != 0, .fedavg = ji->fedavg != 0,
	};
	size_t es = wk_type_size(o->type), wire_es = dp_proto_dtype_size((uint8_t)ji->dtype);
	/* A fedavg job's chunks end in their weight. */
	size_t chunk_elems = ji->chunk_size / wire_es - (ji->fedavg ? 1 : 0);
	size_t n_chunks = (o->count + chunk_elems - 1) / chunk_elems;
	double chunks = (double)n_chunks, total = 0.0;
	double compute_ms = (double)o->compute_ms *
			    (o->slow && o->slow_rank == o->rank ? o->slow_factor : 1.0);
	enum daitn_dtype dtype = o->type == WK_F32_ON_I32 ? DAITN_FLOAT32 : ji->dtype;
	struct wk_tally t = { .n_in_min = UINT16_MAX };
	struct wk_ranks ranks = { .chunk_elems = chunk_elems, .n_chunks = n_chunks };
	/* Whose inputs this rank sends: its own, or its place in a tree's. */
	unsigned me = (unsigned)(o->tree_first + (unsigned long)o->rank);
	struct wk_rate r = { 0 };
	struct wk_mismatch mm;
	unsigned long k = 0, votes = 0;
	const uint8_t **maps = NULL;
	void *buf;
	int code = 0;

	if (ji->fedavg && (o->type == WK_I32 || o->type == WK_F32_ON_I32)) {
		fprintf(stderr, "daitn-worker: rank %ld: job %ld is a federated average of floats; "
			"--dtype %s has no weighted mean\n", o->rank, o->job, wk_type_name(o->type));
		return EXIT_USAGE;
	}
	if (o->tree_n != 0 && ji->partial) {
		fprintf(stderr, "daitn-worker: rank %ld: --tree: job %ld is partial, and a tree's "
			"jobs never are\n", o->rank, o->job);
		return EXIT_USAGE;
	}
	if (ji->partial && n_chunks > ji->n_slots) {
		fprintf(stderr, "daitn-worker: rank %ld: job %ld is partial: a round must fit its %u "
			"slots of %zu elements; --count %zu is %zu chunks (at most %zu elements)\n",
			o->rank, o->job, ji->n_slots, chunk_elems, o->count, n_chunks,
			(size_t)ji->n_slots * chunk_elems);
		return EXIT_USAGE;
	}
	buf = aligned_alloc(64, (o->count * es + 63) & ~(size_t)63);
	if (ji->partial)
		maps = calloc(n_chunks, sizeof(*maps));
	if (buf == NULL || (ji->partial && maps == NULL)) {
		fprintf(stderr, "daitn-worker: rank %ld: out of memory for %zu elements\n", o->rank,
			o->count);
		free(buf);
		return EXIT_GATEWAY;
	}
	ranks.maps = maps;
	for (;;) {
		char hex[WK_SHA256_HEX_SIZE] = "";
		unsigned n_in_min = 0;
		bool stop = false, vote, with_me = true;
		double t0, t1, worst;
		int rc;

		k = call_round(o, daitn_next_round(d), &vote);
		if (vote) {
			/* After round k - 1: the last vote may follow the last round. */
			if (k > o->rounds)
				break;
			votes++;
			rc = stop_vote(o, d, &stop);
			if (rc == -ESTALE) {
				/* The others voted on and went on: so does this rank. */
				fprintf(o->json ? stderr : stdout, "daitn-worker: rank %ld: stop vote "
					"after round %lu: missed (closed without this rank)\n", o->rank,
					k - 1);
				continue;
			}
			if (rc < 0) {
				fprintf(stderr, "daitn-worker: rank %ld: stop vote after round %lu: "
					"FAILED: %s\n", o->rank, k - 1, daitn_last_error(d));
				code = EXIT_GATEWAY;
				break;
			}
			if (stop)
				break;
			continue;
		}
		if (k >= o->rounds)
			break;
		if (o->drop && o->drop_rank == o->rank && k >= o->drop_first && k <= o->drop_last) {
			/* Away for rounds k .. B: the job closes them without
			 * this rank, whose next call is round B + 1. */
			rc = daitn_skip_rounds(d, (uint32_t)(o->drop_last - k + 1));
			if (rc < 0) {
				fprintf(stderr, "daitn-worker: rank %ld: --drop-out: %s\n", o->rank,
					daitn_last_error(d));
				code = EXIT_USAGE;
				break;
			}
			fprintf(o->json ? stderr : stdout, "daitn-worker: rank %ld: rounds %lu-%lu: "
				"dropped out (--drop-out)\n", o->rank, k, o->drop_last);
			continue;
		}
		wk_fill(&g, me, (uint32_t)k, buf, o->count);
		if (o->pause && k == o->pause_round)
			sleep_ms((double)o->pause_ms);
		/* --compute-ms, times --slow's factor on its rank: a device's work. */
		sleep_ms(compute_ms);
		t0 = now_s();
		rc = ji->fedavg ? daitn_allreduce_weighted(d, buf, o->count, dtype,
							   wk_weight(me, (uint32_t)k))
				: daitn_allreduce(d, buf, o->count, dtype);
		t1 = now_s();
		if (rc == -ESTALE) {
			/* Not a failure: a partial job closed the round without
			 * this rank, and it joins the job's round. */
			unsigned long x = call_round(o, daitn_next_round(d), &vote);

			fprintf(o->json ? stderr : stdout, "daitn-worker: rank %ld: round %lu: missed "
				"(closed without this rank; the job is at round %lu)\n", o->rank, k, x);
			if (o->json && !o->quiet)
				printf("{\"rank\":%ld,\"round\":%lu,\"missed\":true,\"job_round\":%lu}\n",
				       o->rank, k, x);
			continue;
		}
		if (rc < 0) {
			fprintf(stderr, "daitn-worker: rank %ld: round %lu: FAILED: %s\n", o->rank, k,
				daitn_last_error(d));
			code = EXIT_GATEWAY;
			break;
		}
		total += t1 - t0;
		r = rate(t1 - t0, (double)o->count, wire_es, chunks);
		if (ji->partial) {
			round_ranks(o, d, n_chunks, maps, &n_in_min, &with_me);
			if (n_in_min < t.n_in_min)
				t.n_in_min = n_in_min;
		}
		if (wk_check(&g, (uint32_t)k, buf, o->count, ji->partial ? &ranks : NULL, &mm,
			     &worst) != 0) {
			print_mismatch(o, k, &mm);
			code = EXIT_MISMATCH;
			break;
		}
		t.ok++;
		t.without += !with_me;
		if (o->digest)
			/* The result as the library returned it: the
			 * caller's elements (float32 for float32-on-int32),
			 * host order = the wire's little-endian here. */
			wk_sha256_hex_of(buf, o->count * es, hex);
		/* --quiet drops the per-round lines but not the digests that
		 * --digest asks for, nor the stop vote. */
		if (o->json && !o->quiet) {
			char part[64] = "";

			if (ji->partial)
				snprintf(part, sizeof(part), ",\"n_in_min\":%u,\"with_rank\":%s",
					 n_in_min, with_me ? "true" : "false");
			printf("{\"rank\":%ld,\"round\":%lu,\"ok\":true,\"seconds\":%.6f,"
			       "\"elems_per_s\":%.0f,\"gbit_s\":%.3f,\"chunks_per_s\":%.0f,"
			       "\"worst_error_ratio\":%.3g%s%s%s%s}\n", o->rank, k, r.seconds,
			       r.elems_per_s, r.gbit_s, r.chunks_per_s, worst, part,
			       o->digest ? ",\"sha256\":\"" : "", hex, o->digest ? "\"" : "");
		} else if (o->json && o->digest) {
			printf("{\"rank\":%ld,\"round\":%lu,\"ok\":true,\"sha256\":\"%s\"}\n",
			       o->rank, k, hex);
		}
		if (!o->json && !o->quiet) {
			printf("daitn-worker: rank %ld: round %lu: OK %zu %s in %.3f ms: %.2f Melem/s, "
			       "%.3f Gbit/s payload, %.0f chunks/s\n", o->rank, k, o->count,
			       wk_type_name(o->type), r.seconds * 1e3, r.elems_per_s / 1e6, r.gbit_s,
			       r.chunks_per_s);
			if (ji->partial && (!with_me || n_in_min < ji->n_workers))
				printf("daitn-worker: rank %ld: round %lu: %u of %u ranks in the "
				       "smallest chunk%s\n", o->rank, k, n_in_min, ji->n_workers,
				       with_me ? "" : "; this rank left out");
			if (o->pattern == WK_RANDOM && worst > 0)
				printf("daitn-worker: rank %ld: round %lu: largest error %.3g of the "
				       "bound\n", o->rank, k, worst);
		}
		if (!o->json && o->digest)
			printf("digest round %lu sha256 %s\n", k, hex);
	}
	t.rounds = k < o->rounds ? k : o->rounds;
	if (t.n_in_min == UINT16_MAX)
		t.n_in_min = 0;
	r = rate(total, (double)o->count * (double)t.ok, wire_es, chunks * (double)t.ok);
	if (o->json)
		print_json_final(o, d, &t, &r, code == 0 ? NULL : code == EXIT_MISMATCH ? "mismatch"
										 : daitn_last_error(d));
	if (code == 0) {
		struct daitn_stats st;
		struct daitn_stats_ext ext;

		daitn_stats_get(d, &st);
		daitn_stats_ext_get(d, &ext);
		fprintf(o->json ? stderr : stdout,
			"daitn-worker: rank %ld: %lu rounds of %zu %s: %.2f Melem/s, %.3f Gbit/s payload, "
			"%.0f chunks/s; %llu retransmits, %llu stale results, %llu send calls for %llu "
			"datagrams (GSO %s, GRO %s), srtt %u us, cwnd %u\n", o->rank, t.ok, o->count,
			wk_type_name(o->type), r.elems_per_s / 1e6, r.gbit_s, r.chunks_per_s,
			(unsigned long long)st.retransmits, (unsigned long long)st.stale_results,
			(unsigned long long)st.send_calls, (unsigned long long)ext.datagrams_sent,
			(ext.flags & DAITN_STATS_GSO) ? "on" : "off",
			(ext.flags & DAITN_STATS_GRO) ? "on" : "off", ext.srtt_us, ext.cwnd);
		print_final(o, &t, votes);
	}
	free(maps);
	free(buf);
	return code;
}
