/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitn-infer: the inference test tool. Two roles over kernel UDP sockets:
 *   stage      receive activations, apply the stage's transform, answer with
 *              the next stage's activation (through the gateway);
 *   requester  send requests through the gateway, check every answer bit for
 *              bit against the composed transform, report latency.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dp_proto.h"
#include "infer_priv.h"

static void
usage(FILE *f)
{
	fprintf(f,
"usage: daitn-infer stage --bind IP:PORT [--model M] [--duration S] [--delay-us US]\n"
"                         [--gateway IP[:PORT] --beat MODEL:STAGE... [--beat-ms MS]]\n"
"                         [--quiet] [--key-file PATH]\n"
"       daitn-infer requester --gateway IP[:PORT] --bind IP[:PORT] --model M --stages N\n"
"                         [--size BYTES] [--frag BYTES] [--count N] [--duration S]\n"
"                         [--rate R] [--window W] [--sessions K] [--session-base B]\n"
"                         [--shards S] [--timeout-ms MS] [--prio H] [--seed X]\n"
"                         [--max-fail N] [--json] [--key-file PATH]\n"
"\n"
"stage: answers every activation for stage s with y = x * a_s + b_s per float32\n"
"  element (a_s = 1 - (s %% 4 + 1)/16, b_s = (s %% 8 + 1)/32) as stage s + 1, to\n"
"  the address it came from. Runs until SIGINT/SIGTERM or --duration; prints its\n"
"  counters on exit. --model restricts it to one model; --delay-us sleeps per\n"
"  message (a slow replica). --beat MODEL:STAGE (repeatable) sends a BEAT for\n"
"  each replica it serves to --gateway every --beat-ms (default 200) from its\n"
"  port: the gateway's liveness for stage nodes.\n"
"both: --key-file PATH, the model's key (its policy's key_file): every message\n"
"  is tagged and only tagged ones are taken (docs/security.md).\n"
"requester: sends requests of --size bytes (default 4096) in fragments of\n"
"  --frag bytes (default 1024, at most 8192, at most 255 fragments), session\n"
"  B + k %% K for request k, to gateway port PORT + session %% S (PORT default\n"
"  47000, S default 1). --window W requests in flight (default 1: closed loop),\n"
"  or --rate R requests/s open loop (window default 256). Stops after --count\n"
"  N (default 1000 unless --duration) or --duration S, then waits at most one\n"
"  --timeout-ms (default 1000) for the rest. Prints counts and p50/p99/p99.9.\n"
"\n"
"Exit: 0 ok (failures <= --max-fail, default 0), 1 too many failures, 2 usage,\n"
"3 socket error.\n");
}

static int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || *s == '-' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
bad(const char *opt, const char *arg, const char *want)
{
	fprintf(stderr, "daitn-infer: %s \"%s\": %s\n", opt, arg, want);
	return 2;
}

static const struct option long_opts[] = {
	{ "bind", required_argument, NULL, 'b' },
	{ "gateway", required_argument, NULL, 'g' },
	{ "model", required_argument, NULL, 'm' },
	{ "stages", required_argument, NULL, 'n' },
	{ "size", required_argument, NULL, 's' },
	{ "frag", required_argument, NULL, 'f' },
	{ "count", required_argument, NULL, 'c' },
	{ "duration", required_argument, NULL, 'd' },
	{ "rate", required_argument, NULL, 'r' },
	{ "window", required_argument, NULL, 'w' },
	{ "sessions", required_argument, NULL, 'S' },
	{ "session-base", required_argument, NULL, 'B' },
	{ "shards", required_argument, NULL, 'H' },
	{ "timeout-ms", required_argument, NULL, 't' },
	{ "prio", required_argument, NULL, 'p' },
	{ "seed", required_argument, NULL, 'x' },
	{ "max-fail", required_argument, NULL, 'F' },
	{ "delay-us", required_argument, NULL, 'D' },
	{ "beat", required_argument, NULL, 'E' },
	{ "beat-ms", required_argument, NULL, 'M' },
	{ "json", no_argument, NULL, 'j' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "key-file", required_argument, NULL, 'K' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int
main(int argc, char **argv)
{
	struct infer_req_opts ro = { .size = 4096, .frag = INFER_FRAG_DEFAULT, .sessions = 1,
		.shards = 1, .timeout_ms = 1000, .seed = 1, .session_base = 1 };
	struct infer_stage_opts so = { .model = -1 };
	static struct dp_auth_key key;
	bool stage, help, have_bind = false, have_gw = false, have_model = false;
	uint64_t v;
	double d;
	int c;

	help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
			     !strcmp(argv[1], "help"));
	if (argc < 2 || help || (strcmp(argv[1], "stage") && strcmp(argv[1], "requester"))) {
		usage(help ? stdout : stderr);
		return help ? 0 : 2;
	}
	stage = !strcmp(argv[1], "stage");
	ro.gateway.sin_port = htons(DP_PROTO_UDP_PORT_DEFAULT);
	optind = 2;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			/* A requester may leave the port to the kernel. */
			if (infer_parse_addr(optarg, &ro.bind, !!strcmp(argv[1], "requester")) < 0)
				return bad("--bind", optarg, "want IPv4:PORT (requester: IPv4[:PORT])");
			so.bind = ro.bind;
			have_bind = true;
			break;
		case 'g':
			if (infer_parse_addr(optarg, &ro.gateway, false) < 0)
				return bad("--gateway", optarg, "want IPv4[:PORT]");
			so.gateway = ro.gateway;
			so.have_gateway = have_gw = true;
			break;
		case 'm':
			if (parse_u64(optarg, 0, 65535, &v) < 0)
				return bad("--model", optarg, "want a model id 0..65535");
			ro.model = (uint16_t)v;
			so.model = (int)v;
			have_model = true;
			break;
		case 'n':
			if (parse_u64(optarg, 1, 254, &v) < 0)
				return bad("--stages", optarg, "want 1..254");
			ro.n_stages = (unsigned)v;
			break;
		case 's':
		case 'f':
			if (parse_u64(optarg, 4, c == 'f' ? DP_INFER_PAYLOAD_MAX : 255u * 8192,
				      &v) < 0 || v % 4)
				return bad(c == 's' ? "--size" : "--frag", optarg,
					   "want a positive multiple of 4 bytes (--frag <= 8192)");
			*(c == 's' ? &ro.size : &ro.frag) = (uint32_t)v;
			break;
		case 'c':
			if (parse_u64(optarg, 1, UINT32_MAX, &ro.count) < 0)
				return bad("--count", optarg, "want 1..2^32-1");
			break;
		case 'd':
		case 'r':
			d = strtod(optarg, NULL);
			if (!(d > 0 && d < 1e7))
				return bad(c == 'd' ? "--duration" : "--rate", optarg,
					   "want a positive number");
			if (c == 'd')
				ro.duration_ns = so.duration_ns = (uint64_t)(d * 1e9);
			else
				ro.rate = d;
			break;
		case 'w':
			if (parse_u64(optarg, 1, 4096, &v) < 0)
				return bad("--window", optarg, "want 1..4096");
			ro.window = (uint32_t)v;
			break;
		case 'S':
		case 'B':
		case 'H':
			if (parse_u64(optarg, c == 'B' ? 0 : 1, c == 'H' ? 64 : UINT32_MAX, &v) < 0)
				return bad(c == 'S' ? "--sessions" : c == 'B' ? "--session-base"
								       : "--shards",
					   optarg, "out of range");
			if (c == 'S')
				ro.sessions = (uint32_t)v;
			else if (c == 'B')
				ro.session_base = (uint32_t)v;
			else
				ro.shards = (unsigned)v;
			break;
		case 't':
			if (parse_u64(optarg, 1, 600000, &v) < 0)
				return bad("--timeout-ms", optarg, "want 1..600000");
			ro.timeout_ms = (uint32_t)v;
			break;
		case 'p':
			if (parse_u64(optarg, 0, 15, &v) < 0)
				return bad("--prio", optarg, "want 0..15 (1 most urgent, 0 none)");
			ro.prio = (uint8_t)v;
			break;
		case 'x':
			if (parse_u64(optarg, 0, UINT64_MAX, &ro.seed) < 0)
				return bad("--seed", optarg, "want an integer");
			break;
		case 'F':
			if (parse_u64(optarg, 0, UINT64_MAX, &ro.max_fail) < 0)
				return bad("--max-fail", optarg, "want an integer");
			break;
		case 'D':
			if (parse_u64(optarg, 0, 10000000, &v) < 0)
				return bad("--delay-us", optarg, "want 0..10000000");
			so.delay_us = (uint32_t)v;
			break;
		case 'E': {
			unsigned long m, st;
			char *end;

			m = strtoul(optarg, &end, 10);
			st = *end == ':' ? strtoul(end + 1, &end, 10) : 256;
			if (*end != '\0' || m > 65535 || st > 254 || so.n_beats == INFER_BEATS_MAX)
				return bad("--beat", optarg, "want MODEL:STAGE (at most 16 of them)");
			so.beat_model[so.n_beats] = (uint16_t)m;
			so.beat_stage[so.n_beats++] = (uint8_t)st;
			break;
		}
		case 'M':
			if (parse_u64(optarg, 1, 60000, &v) < 0)
				return bad("--beat-ms", optarg, "want 1..60000");
			so.beat_ms = (uint32_t)v;
			break;
		case 'j':
			ro.json = true;
			break;
		case 'q':
			so.quiet = true;
			break;
		case 'K': {
			uint8_t kb[DP_AUTH_KEY_SIZE];
			char err[512];

			if (dp_auth_key_file_read(optarg, kb, err, sizeof(err)) < 0) {
				fprintf(stderr, "daitn-infer: --key-file: %s\n", err);
				return 2;
			}
			dp_auth_key_set(&key, kb, DP_AUTH_COVER_PAYLOAD);
			so.key = ro.key = &key;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc)
		return bad("argument", argv[optind], "unexpected");
	if (!have_bind)
		return bad("--bind", "", "required");
	if (stage) {
		if (so.n_beats != 0 && !so.have_gateway)
			return bad("--beat", "", "needs --gateway");
		if (so.beat_ms == 0)
			so.beat_ms = 200;
		return infer_stage_run(&so);
	}
	if (!have_gw || !have_model || ro.n_stages == 0) {
		fprintf(stderr, "daitn-infer requester: --gateway, --model and --stages are "
			"required\n");
		return 2;
	}
	if ((ro.size + ro.frag - 1) / ro.frag > 255)
		return bad("--size", "", "more than 255 fragments: raise --frag");
	if (ro.count == 0 && ro.duration_ns == 0)
		ro.count = 1000;
	if (ro.window == 0)
		ro.window = ro.rate > 0 ? 256 : 1;
	return infer_requester_run(&ro);
}
