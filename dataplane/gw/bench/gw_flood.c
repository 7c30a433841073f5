/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitn-gw-flood: the traffic source of the isolation benchmark
 * (scripts/bench-isolation.sh): daitn datagrams at a steady rate from a
 * kernel UDP socket, sendmmsg() in batches, for a bounded time.
 *
 *   daitn-gw-flood --bind IP:PORT --dst IP[:PORT] --kind grad|hello|capped
 *                  --job J [--rank R] [--pps RATE] [--seconds S]
 *                  [--join IP[:PORT]]
 *
 *   grad    GRADs of job J rank R (256 float32 of 1e6), cycling over 64
 *           slots and both sets of round 0: from an address the job does not
 *           admit, each is dropped as source_not_admitted
 *   hello   HELLOs of job J rank R (nonce i): refused HELLOs, answered
 *           within the reply limits
 *   capped  first join job J as rank R at --join (the gateway: HELLO until
 *           HELLO_ACK), then the same GRAD of the run's first round again
 *           and again: a job of a tenant with a rate cap, over its cap
 *
 * --dst may name another host than the gateway: the same flood "aimed at
 * another host", the benchmark's baseline. Prints "sent N in S s" (N
 * datagrams handed to the kernel). Exit 0, 1 on a socket error, 2 on usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dp_proto.h"

#define BATCH 32u
#define ELEMS 256u
#define VARIANTS 128u

struct opts {
	struct sockaddr_in bind, dst, join;
	const char *kind;
	unsigned job, rank;
	double pps, seconds;
	bool have_join;
};

static int parse_addr(const char *s, struct sockaddr_in *a, uint16_t def_port)
{
	char ip[32];
	const char *colon = strrchr(s, ':');
	size_t n = colon != NULL ? (size_t)(colon - s) : strlen(s);

	if (n >= sizeof(ip))
		return -1;
	memcpy(ip, s, n);
	ip[n] = '\0';
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	if (inet_pton(AF_INET, ip, &a->sin_addr) != 1)
		return -1;
	a->sin_port = htons(colon != NULL ? (uint16_t)atoi(colon + 1) : def_port);
	return a->sin_port != 0 ? 0 : -1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* HELLO until a HELLO_ACK (at most 10 s): the run's first round. */
static int join(int fd, const struct opts *o, uint32_t *round)
{
	uint8_t hello[DP_PROTO_HDR_SIZE + DP_PROTO_HELLO_PAD] = { 0 }, buf[512];
	struct dp_proto_hdr h = {
		.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION, .type = DP_MSG_HELLO,
		.job = (uint16_t)o->job, .rank = (uint16_t)o->rank, .round = (uint32_t)getpid(),
	};
	double end = now_s() + 10;

	dp_proto_hdr_write(hello, &h);
	while (now_s() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct dp_proto_hdr a;
		ssize_t n;

		(void)sendto(fd, hello, sizeof(hello), 0, (const struct sockaddr *)&o->join,
			     sizeof(o->join));
		if (poll(&p, 1, 200) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n > 0 && dp_proto_hdr_check(buf, (size_t)n, &a) == DP_PROTO_CHECK_OK &&
		    a.type == DP_MSG_HELLO_ACK && a.round == h.round) {
			struct dp_proto_job_info ji;

			dp_proto_job_info_read(buf + DP_PROTO_HDR_SIZE, &ji);
			*round = ji.round_base;
			return 0;
		}
	}
	fprintf(stderr, "daitn-gw-flood: no HELLO_ACK for job %u rank %u in 10 s\n", o->job,
		o->rank);
	return -1;
}

/* Datagram variant v of the flood into buf; returns its length. */
static size_t build(const struct opts *o, unsigned v, uint32_t round, uint8_t *buf)
{
	struct dp_proto_hdr h = {
		.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION, .job = (uint16_t)o->job,
		.rank = (uint16_t)o->rank,
	};

	if (strcmp(o->kind, "hello") == 0) {
		h.type = DP_MSG_HELLO;
		h.round = v;
		dp_proto_hdr_write(buf, &h);
		memset(buf + DP_PROTO_HDR_SIZE, 0, DP_PROTO_HELLO_PAD);
		return DP_PROTO_HDR_SIZE + DP_PROTO_HELLO_PAD;
	}
	h.type = DP_MSG_GRAD;
	h.dtype = DP_DTYPE_F32;
	h.count = ELEMS;
	h.round = round;
	if (strcmp(o->kind, "grad") == 0) {
		h.slot = dp_proto_slot_make((uint16_t)(v % 64), (v / 64) & 1);
		h.offset = (v % 64) * ELEMS;
	}
	dp_proto_hdr_write(buf, &h);
	for (unsigned i = 0; i < ELEMS; i++) {
		float f = 1e6f;

		memcpy(buf + DP_PROTO_HDR_SIZE + 4 * i, &f, 4);
	}
	return DP_PROTO_HDR_SIZE + ELEMS * 4;
}

static int usage(void)
{
	fprintf(stderr, "usage: daitn-gw-flood --bind IP:PORT --dst IP[:PORT] "
		"--kind grad|hello|capped --job J [--rank R] [--pps RATE] [--seconds S] "
		"[--join IP[:PORT]]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "bind", 1, 0, 'b' }, { "dst", 1, 0, 'd' }, { "kind", 1, 0, 'k' },
		{ "job", 1, 0, 'j' }, { "rank", 1, 0, 'r' }, { "pps", 1, 0, 'p' },
		{ "seconds", 1, 0, 's' }, { "join", 1, 0, 'J' }, { 0, 0, 0, 0 },
	};
	static uint8_t bufs[VARIANTS][DP_PROTO_HDR_SIZE + ELEMS * 4];
	struct opts o = { .kind = "grad", .pps = 10000, .seconds = 5 };
	struct mmsghdr msgs[BATCH];
	struct iovec iov[VARIANTS];
	uint32_t round = 0;
	uint64_t sent = 0;
	double t0, t;
	int c, fd;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'b': if (parse_addr(optarg, &o.bind, 0) != 0) return usage(); break;
		case 'd': if (parse_addr(optarg, &o.dst, 47000) != 0) return usage(); break;
		case 'J':
			if (parse_addr(optarg, &o.join, 47000) != 0)
				return usage();
			o.have_join = true;
			break;
		case 'k': o.kind = optarg; break;
		case 'j': o.job = (unsigned)atoi(optarg); break;
		case 'r': o.rank = (unsigned)atoi(optarg); break;
		case 'p': o.pps = atof(optarg); break;
		case 's': o.seconds = atof(optarg); break;
		default: return usage();
		}
	}
	if (o.bind.sin_family == 0 || o.dst.sin_family == 0 || o.job == 0 || o.job > 65535 ||
	    o.pps < 1 || o.pps > 1e7 || o.seconds <= 0 || o.seconds > 600 ||
	    (strcmp(o.kind, "grad") != 0 && strcmp(o.kind, "hello") != 0 &&
	     strcmp(o.kind, "capped") != 0) || (strcmp(o.kind, "capped") == 0 && !o.have_join))
		return usage();
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (const struct sockaddr *)&o.bind, sizeof(o.bind)) != 0) {
		fprintf(stderr, "daitn-gw-flood: socket/bind: %s\n", strerror(errno));
		return 1;
	}
	if (strcmp(o.kind, "capped") == 0 && join(fd, &o, &round) != 0)
		return 1;
	for (unsigned v = 0; v < VARIANTS; v++) {
		iov[v].iov_base = bufs[v];
		iov[v].iov_len = build(&o, v, round, bufs[v]);
	}
	t0 = now_s();
	for (unsigned k = 0;; k++) {
		unsigned n = BATCH;
		int r;

		t = now_s() - t0;
		if (t >= o.seconds)
			break;
		/* Paced: never ahead of pps x elapsed. */
		if ((double)sent >= o.pps * t) {
			struct timespec ts = { 0, 50000 };

			nanosleep(&ts, NULL);
			continue;
		}
		for (unsigned i = 0; i < n; i++) {
			msgs[i] = (struct mmsghdr){ .msg_hdr = {
				.msg_name = &o.dst, .msg_namelen = sizeof(o.dst),
				.msg_iov = &iov[(k * BATCH + i) % VARIANTS], .msg_iovlen = 1 } };
		}
		r = sendmmsg(fd, msgs, n, MSG_DONTWAIT);
		if (r > 0)
			sent += (unsigned)r;
		else if (r < 0 && errno != EAGAIN && errno != ENOBUFS && errno != ECONNREFUSED) {
			fprintf(stderr, "daitn-gw-flood: sendmmsg: %s\n", strerror(errno));
			return 1;
		}
	}
	printf("sent %llu in %.2f s\n", (unsigned long long)sent, now_s() - t0);
	close(fd);
	return 0;
}
