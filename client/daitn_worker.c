/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitn-worker: join a job on a daitn gateway, run allreduce rounds on
 * deterministic inputs and check every element against a reference sum that
 * the worker computes itself from all ranks' regenerated inputs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daitn.h"
#include "daitn_worker_priv.h"
#include "dp_proto.h"

static void
usage(FILE *f)
{
	fprintf(f,
"usage: daitn-worker --gateway IP[:PORT] --bind IP:PORT --job N (--rank R | --ranks A-B)\n"
"                    [--workers N] [--count ELEMS] [--dtype TYPE] [--rounds K]\n"
"                    [--pattern exact|random] [--seed S] [--timeout-ms MS]\n"
"                    [--hello-timeout-ms MS] [--join-timeout-ms MS]\n"
"                    [--rto-us US] [--window W] [--until-file PATH]\n"
"                    [--key-file PATH] [--peer-timeout-ms MS] [--pause ROUND:MS]\n"
"                    [--compute-ms MS] [--slow RANK:FACTOR] [--drop-out RANK:A-B]\n"
"                    [--tree FIRST:N]\n"
"                    [--quiet] [--json] [--digest] [--order-exact]\n"
"\n"
"Joins job N on the gateway as rank R, runs K allreduce rounds (default 10) of\n"
"ELEMS elements (default 262144) and checks every element of every round.\n"
"Inputs are a pure function of (seed, rank, round, index), so each worker\n"
"recomputes all ranks' inputs and the reference sum locally.\n"
"\n"
"  --gateway IP[:PORT]  gateway address (port default 47000)\n"
"  --bind IP:PORT       this rank's address and port from the job policy\n"
"  --job N              the job's id in the gateway's policy\n"
"  --rank R             this worker's rank, 0 .. workers-1\n""  --ranks A-B          ranks A to B in this process, a thread and a socket each:\n"
"                       rank A binds --bind's port, rank A+i that port + i\n"
"                       (exit code: 1 if any rank saw a wrong sum, else the\n"
"                       first other failure's)\n"
"  --workers N          fail unless the job has N workers\n"
"  --count ELEMS        elements per round (default 262144)\n"
"  --rounds K           allreduce rounds (default 10)\n"
"  --seed S             the inputs' seed (default 1): every rank of a run\n"
"                       must use the same\n"
"  --dtype TYPE         float32 (default), int32, bfloat16, float16, or\n"
"                       float32-on-int32 (float data, fixed point on an int32 job)\n"
"  --pattern exact      (default) sums exactly representable in the type:\n"
"                       every element must be bit-exact\n"
"  --pattern random     random values, checked against the exact sum S:\n"
"       float32:  |got - S| <= N * 2^-23 * sum|x|\n"
"       bfloat16, float16 (binary32 accumulation, one rounding at the end):\n"
"                 |got - S| <= g + u*(|S| + g) + t, g = N * 2^-23 * sum|x|,\n"
"                 u = 2^-8 (bfloat16) or 2^-11 (float16),\n"
"                 t = 2^-134 (bfloat16) or 2^-25 (float16)\n"
"       int32:    bit-exact (full-range values; the sum wraps modulo 2^32)\n"
"       float32-on-int32: bit-exact against the fixed-point reference\n"
"                 (each value rounded to k * 2^-frac_bits, integers summed);\n"
"                 that differs from S by at most N * 2^-(frac_bits+1) plus\n"
"                 one binary32 rounding\n"
"  --timeout-ms MS      fail a round after MS without progress (default 5000)\n"
"  --hello-timeout-ms MS  give up joining after MS without an answer (2000)\n"
"  --join-timeout-ms MS give up after MS waiting for the other ranks to join\n"
"                       (default 60000): a run starts when every rank joined\n"
"  --rto-us US          first retransmission timeout (default 10000; it adapts\n"
"                       to the measured round trip, docs/protocol.md section 5)\n"
"  --window W           chunks in flight at most (default: the job's slots)\n"
"  --quiet              no per-round lines\n"
"  --json               print per-round and final results as JSON lines on stdout\n"
"  --digest             print \"digest round K sha256 HEX\" per round: the SHA-256\n"
"                       of the result as received (with --json a \"sha256\" field\n"
"                       in the round's object); printed even with --quiet\n"
"  --order-exact        a deterministic job: float results must be bit-exact\n"
"                       against the rank-order fold (binary32 adds of ranks\n"
"                       0, 1, ..., N-1; 16-bit types rounded once at the end)\n"
"  --peer-timeout-ms MS give up after MS while the gateway says it waits for\n"
"                       other ranks (default 1800000: a slow rank is not a dead\n"
"                       gateway; --timeout-ms bounds a silent gateway)\n"
"  --pause ROUND:MS     sleep MS before round ROUND (a rank that checkpoints)\n"
"  --compute-ms MS      \"compute\" (sleep) MS before every round, as a device\n"
"                       would (default 0; 20 with --slow)\n"
"  --slow RANK:FACTOR   rank RANK computes FACTOR (1 to 1000, e.g. 2.5) times\n"
"                       as long: a slower device. On a partial job (a quorum or\n"
"                       a deadline in its policy) its rounds may close without\n"
"                       it: such a round is reported as missed, not as a\n"
"                       failure, and the rank goes on at the job's round\n"
"  --drop-out RANK:A-B  rank RANK takes no part in rounds A to B (or RANK:A, one\n"
"                       round): its device is away. Only on a partial job, which\n"
"                       closes them without it; the others check that their\n"
"                       results leave it out\n"
"  --tree FIRST:N       the job spans gateways (an aggregation tree) with N\n"
"                       ranks in all, and this gateway's rank R is rank FIRST + R\n"
"                       of those: inputs are that rank's, and every result is\n"
"                       checked as the sum (or mean) of all N ranks' inputs\n"
"  --key-file PATH      the job's key (its policy's key_file): tag every message\n"
"                       and take only tagged answers (docs/security.md)\n"
"  --until-file PATH    run up to K rounds, stopping once PATH exists: every 8\n"
"                       rounds the ranks vote (a one-element allreduce), so all\n"
"                       stop after the same round\n"
"\n"
"On a partial job a result sums the ranks that its chunk's trailer names, and\n"
"each chunk is checked against the sum (or, with --order-exact, the fold) of\n"
"those ranks; the random bounds count them instead of N.\n"
"On a fedavg job (\"mode\": \"fedavg\") rank R's weight in round K is\n"
"1 + (R + K) mod 4, and every element is checked against the weighted mean\n"
"of the ranks in its chunk, computed as the wire does: bit-exact for exact\n"
"patterns and with --order-exact, within the rounding bound otherwise.\n"
"\n"
"Exit: 0 all rounds OK (or missed on a partial job), 1 mismatch, 2 usage,\n"
"3 gateway error or timeout.\n");
}

static int
parse_addr(const char *arg, char *addr, uint16_t *port, int port_required)
{
	const char *colon = strchr(arg, ':');
	size_t n = colon ? (size_t)(colon - arg) : strlen(arg);
	struct in_addr a;
	char *end;
	unsigned long p;

	if (n == 0 || n >= INET_ADDRSTRLEN)
		return -1;
	memcpy(addr, arg, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, &a) != 1)
		return -1;
	if (colon == NULL)
		return port_required ? -1 : 0;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || p == 0 || p > 65535)
		return -1;
	*port = (uint16_t)p;
	return 0;
}

static int
parse_ul(const char *arg, unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(arg, &end, 0);
	return (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' || *out > max) ? -1 : 0;
}

#define USAGE_ERR(...) do { fprintf(stderr, "daitn-worker: " __VA_ARGS__); \
	fprintf(stderr, "\n(see daitn-worker --help)\n"); return EXIT_USAGE; } while (0)

static int
opts_parse(int argc, char **argv, struct wk_opts *o)
{
	static const struct option lo[] = {
		{ "gateway", 1, 0, 'g' }, { "bind", 1, 0, 'b' }, { "job", 1, 0, 'j' },
		{ "rank", 1, 0, 'r' }, { "workers", 1, 0, 'w' }, { "count", 1, 0, 'c' },
		{ "dtype", 1, 0, 'd' }, { "rounds", 1, 0, 'k' }, { "pattern", 1, 0, 'p' },
		{ "seed", 1, 0, 's' }, { "timeout-ms", 1, 0, 't' }, { "hello-timeout-ms", 1, 0, 'H' },
		{ "rto-us", 1, 0, 'R' }, { "window", 1, 0, 'W' }, { "quiet", 0, 0, 'q' },
		{ "json", 0, 0, 'J' }, { "join-timeout-ms", 1, 0, 'T' }, { "help", 0, 0, 'h' },
		{ "until-file", 1, 0, 'U' }, { "key-file", 1, 0, 'K' },
		{ "peer-timeout-ms", 1, 0, 'P' }, { "pause", 1, 0, 'X' }, { "digest", 0, 0, 'D' },
		{ "order-exact", 0, 0, 'O' }, { "ranks", 1, 0, 'A' }, { "slow", 1, 0, 'S' },
		{ "compute-ms", 1, 0, 'C' }, { "drop-out", 1, 0, 'x' }, { "tree", 1, 0, 'G' },
		{ 0, 0, 0, 0 },
	};
	unsigned long long v;
	int c, t, compute_set = 0;

	memset(o, 0, sizeof(*o));
	o->job = o->rank = o->workers = o->rank_last = -1;
	o->count = 262144;
	o->rounds = 10;
	o->seed = 1;
	o->gw_port = DP_PROTO_UDP_PORT_DEFAULT;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'g':
			if (parse_addr(optarg, o->gw_addr, &o->gw_port, 0) < 0)
				USAGE_ERR("--gateway: expected IPv4[:PORT], got \"%s\"", optarg);
			break;
		case 'b':
			if (parse_addr(optarg, o->bind_addr, &o->bind_port, 1) < 0)
				USAGE_ERR("--bind: expected IPv4:PORT, got \"%s\"", optarg);
			break;
		case 'j': case 'r': case 'w':
			if (parse_ul(optarg, c == 'w' ? DP_PROTO_WORKERS_MAX : UINT16_MAX, &v) < 0)
				USAGE_ERR("--%s: expected a number up to %u, got \"%s\"",
					  c == 'j' ? "job" : c == 'r' ? "rank" : "workers",
					  c == 'w' ? DP_PROTO_WORKERS_MAX : UINT16_MAX, optarg);
			*(c == 'j' ? &o->job : c == 'r' ? &o->rank : &o->workers) = (long)v;
			break;
		case 'c':
			if (parse_ul(optarg, UINT32_MAX, &v) < 0 || v == 0)
				USAGE_ERR("--count: expected 1 .. %u elements, got \"%s\"", UINT32_MAX, optarg);
			o->count = (size_t)v;
			break;
		case 'd':
			for (t = 0; t <= WK_F32_ON_I32 && strcmp(optarg, wk_type_name((enum wk_type)t)) != 0; t++)
				;
			if (t > WK_F32_ON_I32)
				USAGE_ERR("--dtype: \"%s\" is not float32, int32, bfloat16, float16 or "
					  "float32-on-int32", optarg);
			o->type = (enum wk_type)t;
			break;
		case 'k':
			if (parse_ul(optarg, 1000000, &v) < 0 || v == 0)
				USAGE_ERR("--rounds: expected 1 .. 1000000, got \"%s\"", optarg);
			o->rounds = (unsigned long)v;
			break;
		case 'p':
			if (strcmp(optarg, "exact") != 0 && strcmp(optarg, "random") != 0)
				USAGE_ERR("--pattern: expected exact or random, got \"%s\"", optarg);
			o->pattern = optarg[0] == 'e' ? WK_EXACT : WK_RANDOM;
			break;
		case 's':
			if (parse_ul(optarg, UINT64_MAX, &v) < 0)
				USAGE_ERR("--seed: expected a number, got \"%s\"", optarg);
			o->seed = v;
			break;
		case 't': case 'H': case 'T': case 'R': case 'W':
			if (parse_ul(optarg, UINT32_MAX, &v) < 0)
				USAGE_ERR("--%s: expected a number, got \"%s\"", c == 't' ? "timeout-ms" :
					  c == 'H' ? "hello-timeout-ms" : c == 'T' ? "join-timeout-ms" :
					  c == 'R' ? "rto-us" : "window", optarg);
			*(c == 't' ? &o->timeout_ms : c == 'H' ? &o->hello_timeout_ms :
			  c == 'T' ? &o->join_timeout_ms : c == 'R' ? &o->rto_us : &o->window) =
				(unsigned long)v;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'U':
			o->until_file = optarg;
			break;
		case 'K':
			o->key_file = optarg;
			break;
		case 'P':
			if (parse_ul(optarg, UINT32_MAX, &v) < 0)
				USAGE_ERR("--peer-timeout-ms: expected a number, got \"%s\"", optarg);
			o->peer_timeout_ms = (unsigned long)v;
			break;
		case 'X': {
			unsigned long r, ms;
			char tail;

			if (sscanf(optarg, "%lu:%lu%c", &r, &ms, &tail) != 2 || ms > 3600000)
				USAGE_ERR("--pause: expected ROUND:MS (MS at most 3600000), got \"%s\"",
					  optarg);
			o->pause_round = r;
			o->pause_ms = ms;
			o->pause = 1;
			break;
		}
		case 'J':
			o->json = 1;
			break;
		case 'D':
			o->digest = 1;
			break;
		case 'A': {
			unsigned long a, b;
			int n = -1;

			if (sscanf(optarg, "%lu-%lu%n", &a, &b, &n) != 2 || optarg[n] != '\0' ||
			    a > b || b >= DP_PROTO_WORKERS_MAX)
				USAGE_ERR("--ranks: expected A-B with A <= B < %u, got \"%s\"",
					  DP_PROTO_WORKERS_MAX, optarg);
			o->rank = (long)a;
			o->rank_last = (long)b;
			break;
		}
		case 'O':
			o->order_exact = 1;
			break;
		case 'C':
			if (parse_ul(optarg, 3600000, &v) < 0)
				USAGE_ERR("--compute-ms: expected 0 .. 3600000, got \"%s\"", optarg);
			o->compute_ms = (unsigned long)v;
			compute_set = 1;
			break;
		case 'S': {
			unsigned long r;
			double f;
			int n = -1;

			if (o->slow)
				USAGE_ERR("--slow: given twice; one rank may be slow");
			if (sscanf(optarg, "%lu:%lf%n", &r, &f, &n) != 2 || optarg[n] != '\0' ||
			    optarg[0] == '-' || r >= DP_PROTO_WORKERS_MAX || !isfinite(f) ||
			    f < 1.0 || f > 1000.0)
				USAGE_ERR("--slow: expected RANK:FACTOR, RANK below %u and FACTOR a number "
					  "from 1 to 1000 (e.g. 2.5), got \"%s\"", DP_PROTO_WORKERS_MAX,
					  optarg);
			o->slow = 1;
			o->slow_rank = (long)r;
			o->slow_factor = f;
			break;
		}
		case 'x': {
			unsigned long r, a, b;
			int n = -1;

			if (o->drop)
				USAGE_ERR("--drop-out: given twice; one rank may drop out");
			if (sscanf(optarg, "%lu:%lu%n", &r, &a, &n) == 2 && optarg[n] == '\0') {
				b = a;
			} else if (sscanf(optarg, "%lu:%lu-%lu%n", &r, &a, &b, &n) != 3 ||
				   optarg[n] != '\0') {
				n = -1;
			}
			if (n < 0 || strchr(optarg, '+') != NULL || optarg[0] == '-' ||
			    strchr(optarg, ' ') != NULL || r >= DP_PROTO_WORKERS_MAX || b < a ||
			    b > UINT32_MAX / 2)
				USAGE_ERR("--drop-out: expected RANK:A-B or RANK:A (rounds A to B, A <= B), "
					  "RANK below %u, got \"%s\"", DP_PROTO_WORKERS_MAX, optarg);
			o->drop = 1;
			o->drop_rank = (long)r;
			o->drop_first = a;
			o->drop_last = b;
			break;
		}
		case 'G': {
			unsigned long first, n;
			int k = -1;

			if (sscanf(optarg, "%lu:%lu%n", &first, &n, &k) != 2 || optarg[k] != '\0' ||
			    strchr(optarg, '-') != NULL || strchr(optarg, '+') != NULL ||
			    strchr(optarg, ' ') != NULL || n == 0 || n > DP_PROTO_WORKERS_MAX ||
			    first >= n)
				USAGE_ERR("--tree: expected FIRST:N, 1 <= N <= %u and FIRST < N, got \"%s\"",
					  DP_PROTO_WORKERS_MAX, optarg);
			o->tree_first = first;
			o->tree_n = n;
			break;
		}
		case 'h':
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "(see daitn-worker --help)\n");
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		USAGE_ERR("unexpected argument \"%s\"", argv[optind]);
	if (o->slow && !compute_set)
		o->compute_ms = 20;
	if (o->drop && o->until_file != NULL)
		USAGE_ERR("--drop-out and --until-file: the stop votes would take skipped rounds' "
			  "places; give one");
	if (o->gw_addr[0] == '\0' || o->bind_addr[0] == '\0' || o->job < 0 || o->rank < 0)
		USAGE_ERR("--gateway, --bind, --job and --rank (or --ranks) are required");
	if (o->tree_n != 0 &&
	    o->tree_first + (unsigned long)(o->rank_last >= 0 ? o->rank_last : o->rank) >= o->tree_n)
		USAGE_ERR("--tree %lu:%lu: rank %ld would be rank %lu of the tree's %lu", o->tree_first,
			  o->tree_n, o->rank_last >= 0 ? o->rank_last : o->rank,
			  o->tree_first + (unsigned long)(o->rank_last >= 0 ? o->rank_last : o->rank),
			  o->tree_n);
	if (o->rank_last >= 0 && o->bind_port + (o->rank_last - o->rank) > 65535)
		USAGE_ERR("--ranks %ld-%ld from port %u runs past port 65535", o->rank, o->rank_last,
			  o->bind_port);
	return 0;
}

/* One rank: join, check the job, run, leave. Returns its exit code. Any
 * thread: every rank has its own handle. */
static int
rank_run(const struct wk_opts *o)
{
	struct daitn_config cfg;
	const struct daitn_job_info *ji;
	struct daitn *d = NULL;
	enum daitn_dtype want;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.gateway = o->gw_addr;
	cfg.gateway_port = o->gw_port;
	cfg.bind_addr = o->bind_addr;
	cfg.bind_port = o->bind_port;
	cfg.job = (uint16_t)o->job;
	cfg.rank = (uint16_t)o->rank;
	cfg.timeout_ms = (uint32_t)o->timeout_ms;
	cfg.hello_timeout_ms = (uint32_t)o->hello_timeout_ms;
	cfg.join_timeout_ms = (uint32_t)o->join_timeout_ms;
	cfg.key_file = o->key_file;
	cfg.peer_timeout_ms = (uint32_t)o->peer_timeout_ms;
	cfg.rto_us = (uint32_t)o->rto_us;
	cfg.window = (uint32_t)o->window;
	rc = daitn_open(&cfg, &d);
	if (rc == -EINVAL) {
		fprintf(stderr, "daitn-worker: rank %ld: %s\n", o->rank, daitn_last_error(NULL));
		return EXIT_USAGE;
	}
	if (rc < 0) {
		fprintf(stderr, "daitn-worker: rank %ld: %s\n", o->rank, daitn_last_error(NULL));
		return EXIT_GATEWAY;
	}
	ji = daitn_job(d);
	want = o->type == WK_F32_ON_I32 ? DAITN_INT32 : o->type == WK_I32 ? DAITN_INT32 :
	       o->type == WK_BF16 ? DAITN_BFLOAT16 :
	       o->type == WK_F16 ? DAITN_FLOAT16 : DAITN_FLOAT32;
	if (ji->dtype != want) {
		fprintf(stderr, "daitn-worker: rank %ld: job %ld is %s; --dtype %s does not fit it\n",
			o->rank, o->job, dp_proto_dtype_name((uint8_t)ji->dtype), wk_type_name(o->type));
		daitn_close(d);
		return EXIT_USAGE;
	}
	if (o->workers >= 0 && o->workers != ji->n_workers) {
		fprintf(stderr, "daitn-worker: rank %ld: job %ld has %u workers, not %ld (--workers)\n",
			o->rank, o->job, ji->n_workers, o->workers);
		daitn_close(d);
		return EXIT_USAGE;
	}
	rc = wk_run(o, d);
	daitn_close(d);
	return rc;
}

struct rank_thread {
	pthread_t tid;
	struct wk_opts o;
	int rc;
};

static void *
rank_thread_main(void *arg)
{
	struct rank_thread *t = arg;

	t->rc = rank_run(&t->o);
	return NULL;
}

/* --ranks A-B: a thread per rank. A wrong sum anywhere is the exit code
 * that matters most; otherwise the first rank's failure. */
static int
ranks_run(const struct wk_opts *o)
{
	unsigned n = (unsigned)(o->rank_last - o->rank + 1), started = 0;
	struct rank_thread *t = calloc(n, sizeof(*t));
	int rc = 0;

	if (t == NULL) {
		fprintf(stderr, "daitn-worker: out of memory for %u ranks\n", n);
		return EXIT_GATEWAY;
	}
	for (; started < n; started++) {
		t[started].o = *o;
		t[started].o.rank = o->rank + (long)started;
		t[started].o.rank_last = -1;
		t[started].o.bind_port = (uint16_t)(o->bind_port + started);
		if (pthread_create(&t[started].tid, NULL, rank_thread_main, &t[started]) != 0) {
			fprintf(stderr, "daitn-worker: cannot start the thread of rank %ld\n",
				t[started].o.rank);
			rc = EXIT_GATEWAY;
			break;
		}
	}
	for (unsigned i = 0; i < started; i++) {
		pthread_join(t[i].tid, NULL);
		if (t[i].rc == EXIT_MISMATCH || rc == 0)
			rc = rc == EXIT_MISMATCH ? rc : t[i].rc;
	}
	free(t);
	return rc;
}

int
main(int argc, char **argv)
{
	struct wk_opts o;
	int rc;

	rc = opts_parse(argc, argv, &o);
	if (rc != 0)
		return rc;
	return o.rank_last >= 0 ? ranks_run(&o) : rank_run(&o);
}
