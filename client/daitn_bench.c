/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitn-bench-client: how many 1 KiB chunks per second one worker core can
 * send through libdaitn's send path, beside plain sendmsg and plain sendmmsg
 * of the same datagrams to the same loopback sink, in the same run.
 *
 * The libdaitn method is the real path of daitn_allreduce: per chunk
 * daitn_msg_hdr() + daitn_io_queue() (header copied, payload referenced in
 * a large tensor), then daitn_io_flush() per batch (one GSO message per
 * shard per <= 64 datagrams, all in one sendmmsg). "batch" is the number of
 * chunks per flush: the allreduce flushes once per receive batch (16..64
 * results) and a whole window at the start of a call.
 *
 * The sink is libdaitn's receive path (daitn_io_rx) on another core, with
 * UDP GRO on or off, so the run also gives receive-side figures.
 *
 * --sink-netns/--sink-ip put the sink in another network namespace behind a
 * veth (scripts/bench-client.sh --veth sets one up, with tx-udp-segmentation
 * off as the demo topology needs): the kernel then cuts every GSO packet at
 * the veth, on the sender's core.
 *
 * On loopback the kernel runs the receive stack up to the sink's socket
 * queue in the sender's context (softirq), so the sender's core pays for
 * that too; with the sink's GRO off it also pays for cutting GSO packets
 * back into datagrams. Both are reported. Everything is bounded by
 * --seconds per method and round.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daitn_priv.h"

#define TENSOR_SIZE (64u << 20)
#define METHODS_MAX 8
#define ROUNDS_MAX 9

enum method { M_SENDMSG, M_SENDMMSG, M_DAITN_PLAIN, M_DAITN_GSO, M_DAITN_GSO_BIG };

static const char *const method_names[] = {
	[M_SENDMSG] = "plain sendmsg", [M_SENDMMSG] = "plain sendmmsg",
	[M_DAITN_PLAIN] = "libdaitn, GSO off", [M_DAITN_GSO] = "libdaitn (GSO)",
	[M_DAITN_GSO_BIG] = "libdaitn (GSO)",
};

struct bench {
	double seconds;
	uint32_t payload;           /* bytes per chunk */
	uint32_t batch;             /* datagrams per sendmmsg / per flush */
	uint32_t big_batch;
	int send_cpu, sink_cpu;
	unsigned rounds;
	uint8_t *tensor;
	struct sockaddr_in sink_addr;
	uint32_t sink_ip, send_ip;  /* network order */
	const char *sink_netns;     /* NULL: loopback */
};

struct sink {
	struct daitn_io io;
	pthread_t thread;
	int cpu;
	atomic_bool stop;
	atomic_uint_fast64_t received;
	atomic_uint_fast64_t cpu_ns;
};

static uint64_t
thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0)
		fprintf(stderr, "daitn-bench-client: cannot pin to cpu %d (ignored)\n", cpu);
}

static void
sink_count(void *arg, const uint8_t *data, uint32_t len, const struct sockaddr_in *src)
{
	(void)data;
	(void)len;
	(void)src;
	(*(uint64_t *)arg)++;
}

static void *
sink_main(void *arg)
{
	struct sink *s = arg;
	uint64_t n = 0, c0;

	pin(s->cpu);
	c0 = thread_cpu_ns();
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		if (daitn_io_wait(&s->io, 20000000u) <= 0)
			continue;
		while (daitn_io_rx(&s->io, sink_count, &n) > 0)
			;
		atomic_store_explicit(&s->received, n, memory_order_relaxed);
		atomic_store_explicit(&s->cpu_ns, thread_cpu_ns() - c0, memory_order_relaxed);
	}
	return NULL;
}

/* A UDP socket bound to ip (network order) on an ephemeral port. */
static int
udp_socket(struct sockaddr_in *bound, uint32_t ip)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t sl = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), size = 8 << 20;

	if (fd < 0)
		return -1;
	a.sin_addr.s_addr = ip;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &sl) != 0) {
		close(fd);
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (bound != NULL)
		*bound = a;
	return fd;
}

/* Chunk k's header and payload address: walk the tensor like an allreduce. */
static inline const uint8_t *
chunk_payload(const struct bench *b, uint64_t k)
{
	uint64_t per = TENSOR_SIZE / b->payload;

	return b->tensor + (k % per) * b->payload;
}

static inline void
chunk_hdr(const struct bench *b, uint8_t *hdr, uint64_t k)
{
	daitn_msg_hdr(hdr, DP_MSG_GRAD, 1, 0, (uint16_t)(k % 512), DP_DTYPE_F32,
		      (uint16_t)(b->payload / 4), (uint32_t)((k % (TENSOR_SIZE / b->payload)) *
							     (b->payload / 4)), (uint32_t)(k >> 16));
}

/* One method for b->seconds. Returns datagrams sent; *send_calls, *cpu_ns. */
static uint64_t
run_plain(const struct bench *b, int fd, bool mmsg, double *secs, uint64_t *calls, uint64_t *cpu)
{
	uint32_t n = mmsg ? b->batch : 1, i;
	uint8_t (*hdrs)[DP_PROTO_HDR_SIZE] = calloc(n, DP_PROTO_HDR_SIZE);
	struct iovec *iov = calloc(2 * n, sizeof(*iov));
	struct mmsghdr *mm = calloc(n, sizeof(*mm));
	uint64_t k = 0, sent = 0, t0 = daitn_now_ns(), c0 = thread_cpu_ns(), end;

	end = t0 + (uint64_t)(b->seconds * 1e9);
	*calls = 0;
	while (daitn_now_ns() < end) {
		for (i = 0; i < n; i++, k++) {
			chunk_hdr(b, hdrs[i], k);
			iov[2 * i].iov_base = hdrs[i];
			iov[2 * i].iov_len = DP_PROTO_HDR_SIZE;
			iov[2 * i + 1].iov_base = (void *)chunk_payload(b, k);
			iov[2 * i + 1].iov_len = b->payload;
			mm[i].msg_hdr = (struct msghdr){ .msg_name = (void *)&b->sink_addr,
							 .msg_namelen = sizeof(b->sink_addr),
							 .msg_iov = &iov[2 * i], .msg_iovlen = 2 };
		}
		if (mmsg) {
			int r = sendmmsg(fd, mm, n, 0);

			sent += r > 0 ? (uint64_t)r : 0;
		} else {
			sent += sendmsg(fd, &mm[0].msg_hdr, 0) > 0;
		}
		(*calls)++;
	}
	*cpu = thread_cpu_ns() - c0;
	*secs = (double)(daitn_now_ns() - t0) * 1e-9;
	free(hdrs);
	free(iov);
	free(mm);
	return sent;
}

static uint64_t
run_daitn(const struct bench *b, bool gso, uint32_t batch, double *secs, uint64_t *calls,
	  uint64_t *cpu, uint32_t *segs)
{
	struct daitn_io io;
	uint8_t hdr[DP_PROTO_HDR_SIZE];
	uint64_t k = 0, t0, c0, end;
	int fd = udp_socket(NULL, b->send_ip);

	if (!gso)
		setenv("DAITN_GSO", "0", 1);
	if (fd < 0 || daitn_io_init(&io, fd, &b->sink_addr, ntohs(b->sink_addr.sin_port), 1,
				    DP_PROTO_HDR_SIZE + b->payload) != 0) {
		fprintf(stderr, "daitn-bench-client: cannot set up libdaitn's io\n");
		exit(1);
	}
	unsetenv("DAITN_GSO");
	*segs = io.gso ? io.gso_segs : 1;
	t0 = daitn_now_ns();
	c0 = thread_cpu_ns();
	end = t0 + (uint64_t)(b->seconds * 1e9);
	while (daitn_now_ns() < end) {
		for (uint32_t i = 0; i < batch; i++, k++) {
			chunk_hdr(b, hdr, k);
			daitn_io_queue(&io, 0, hdr, chunk_payload(b, k), b->payload);
		}
		if (daitn_io_flush(&io) < 0)
			break;
	}
	*cpu = thread_cpu_ns() - c0;
	*secs = (double)(daitn_now_ns() - t0) * 1e-9;
	*calls = io.send_calls;
	k = io.datagrams_sent;
	close(fd);
	daitn_io_fini(&io);
	return k;
}

struct result {
	double mpps;            /* datagrams sent per wall second, millions */
	double cpu_ns;          /* sender thread CPU ns per datagram */
	double per_call;        /* datagrams per send system call */
	double sink_mpps;       /* datagrams the sink received per wall second */
	double sink_cpu_ns;     /* sink CPU ns per received datagram */
	uint32_t segs;
};

static struct result
run_method(const struct bench *b, enum method m, struct sink *s, int fd)
{
	uint64_t calls = 0, cpu = 0, sent, r0, c0, r1, c1;
	struct result r = { .segs = 1 };
	double secs = 0;

	r0 = atomic_load(&s->received);
	c0 = atomic_load(&s->cpu_ns);
	switch (m) {
	case M_SENDMSG:
		sent = run_plain(b, fd, false, &secs, &calls, &cpu);
		break;
	case M_SENDMMSG:
		sent = run_plain(b, fd, true, &secs, &calls, &cpu);
		break;
	case M_DAITN_PLAIN:
		sent = run_daitn(b, false, b->batch, &secs, &calls, &cpu, &r.segs);
		break;
	case M_DAITN_GSO:
		sent = run_daitn(b, true, b->batch, &secs, &calls, &cpu, &r.segs);
		break;
	default:
		sent = run_daitn(b, true, b->big_batch, &secs, &calls, &cpu, &r.segs);
		break;
	}
	usleep(50000); /* let the sink drain what is queued */
	r1 = atomic_load(&s->received);
	c1 = atomic_load(&s->cpu_ns);
	r.mpps = (double)sent / secs / 1e6;
	r.cpu_ns = sent ? (double)cpu / (double)sent : 0;
	r.per_call = calls ? (double)sent / (double)calls : 0;
	r.sink_mpps = (double)(r1 - r0) / secs / 1e6;
	r.sink_cpu_ns = r1 > r0 ? (double)(c1 - c0) / (double)(r1 - r0) : 0;
	return r;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
usage(void)
{
	printf("usage: daitn-bench-client [--seconds S] [--rounds R] [--payload BYTES]\n"
	       "                          [--batch N] [--big-batch N] [--send-cpu C]\n"
	       "                          [--sink-cpu C] [--sink-gro on|off|both]\n"
	       "Sends payload-byte chunks (default 1024) to a loopback sink for S seconds\n"
	       "(default 0.5) per method and round (default 3 rounds; medians printed).\n");
}

/* The sink's socket, created inside netns (a /var/run/netns file) if given:
 * a socket keeps the namespace it was created in, so only this thread
 * switches, and back. */
static int
sink_socket(struct sockaddr_in *addr, uint32_t ip, const char *netns)
{
	int self = -1, target = -1, fd;

	if (netns != NULL) {
		self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		target = open(netns, O_RDONLY | O_CLOEXEC);
		if (self < 0 || target < 0 || setns(target, CLONE_NEWNET) != 0) {
			fprintf(stderr, "daitn-bench-client: cannot enter %s: %s\n", netns,
				strerror(errno));
			exit(1);
		}
	}
	fd = udp_socket(addr, ip);
	if (netns != NULL) {
		if (setns(self, CLONE_NEWNET) != 0) {
			fprintf(stderr, "daitn-bench-client: cannot leave %s\n", netns);
			exit(1);
		}
		close(self);
		close(target);
	}
	return fd;
}

static int
sink_start(struct sink *s, int cpu, bool gro, struct sockaddr_in *addr, uint32_t ip,
	   const char *netns)
{
	int fd = sink_socket(addr, ip, netns);

	if (fd < 0)
		return -1;
	if (!gro)
		setenv("DAITN_GRO", "0", 1);
	memset(s, 0, sizeof(*s));
	s->cpu = cpu;
	if (daitn_io_init(&s->io, fd, addr, ntohs(addr->sin_port), 1, DP_PROTO_HDR_SIZE + 8192) != 0)
		return -1;
	unsetenv("DAITN_GRO");
	if (gro && !s->io.gro)
		fprintf(stderr, "daitn-bench-client: UDP_GRO unsupported; the GRO sink is plain\n");
	return pthread_create(&s->thread, NULL, sink_main, s) == 0 ? 0 : -1;
}

static void
sink_stop(struct sink *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	close(s->io.fd);
	daitn_io_fini(&s->io);
}

static double
median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seconds", 1, 0, 's' }, { "rounds", 1, 0, 'r' }, { "payload", 1, 0, 'p' },
		{ "batch", 1, 0, 'b' }, { "big-batch", 1, 0, 'B' }, { "send-cpu", 1, 0, 'c' },
		{ "sink-cpu", 1, 0, 'C' }, { "sink-gro", 1, 0, 'g' }, { "help", 0, 0, 'h' },
		{ "sink-netns", 1, 0, 'n' }, { "sink-ip", 1, 0, 'i' },
		{ 0, 0, 0, 0 },
	};
	struct bench b = { .seconds = 0.5, .payload = 1024, .batch = 64, .big_batch = 256,
			   .send_cpu = 0, .sink_cpu = 1, .rounds = 3,
			   .sink_ip = htonl(INADDR_LOOPBACK), .send_ip = htonl(INADDR_LOOPBACK) };
	const enum method methods[] = { M_SENDMSG, M_SENDMMSG, M_DAITN_PLAIN, M_DAITN_GSO,
					M_DAITN_GSO_BIG };
	const unsigned n_methods = sizeof(methods) / sizeof(methods[0]);
	const char *gro_mode = "both";
	int c, fd;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': b.seconds = atof(optarg); break;
		case 'r': b.rounds = (unsigned)atoi(optarg); break;
		case 'p': b.payload = (uint32_t)atoi(optarg); break;
		case 'b': b.batch = (uint32_t)atoi(optarg); break;
		case 'B': b.big_batch = (uint32_t)atoi(optarg); break;
		case 'c': b.send_cpu = atoi(optarg); break;
		case 'C': b.sink_cpu = atoi(optarg); break;
		case 'g': gro_mode = optarg; break;
		case 'n': b.sink_netns = optarg; break;
		case 'i':
			if (inet_pton(AF_INET, optarg, &b.sink_ip) != 1) {
				fprintf(stderr, "daitn-bench-client: --sink-ip: not an IPv4 address\n");
				return 2;
			}
			b.send_ip = htonl(INADDR_ANY);
			break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (b.seconds <= 0 || b.seconds > 5 || b.rounds == 0 || b.rounds > ROUNDS_MAX ||
	    b.payload < 64 || b.payload > 8192 || b.payload % 4 || b.batch == 0 ||
	    b.batch > DAITN_TX_QUEUE_MAX || b.big_batch == 0 || b.big_batch > DAITN_TX_QUEUE_MAX ||
	    (strcmp(gro_mode, "on") && strcmp(gro_mode, "off") && strcmp(gro_mode, "both"))) {
		fprintf(stderr, "daitn-bench-client: bad option (seconds 0..5, rounds 1..%u, payload "
			"64..8192 multiple of 4, batches 1..%u, --sink-gro on|off|both)\n", ROUNDS_MAX,
			DAITN_TX_QUEUE_MAX);
		return 2;
	}
	b.tensor = aligned_alloc(64, TENSOR_SIZE);
	if (b.tensor == NULL)
		return 1;
	for (size_t i = 0; i < TENSOR_SIZE; i++)
		b.tensor[i] = (uint8_t)(i * 7u);
	pin(b.send_cpu);
	printf("daitn-bench-client: %u-byte chunks (%u-byte datagrams) to a %s sink, sender on "
	       "cpu %d, sink (libdaitn receive path) on cpu %d, %.2f s per method, median of %u "
	       "rounds\n", b.payload, b.payload + DP_PROTO_HDR_SIZE,
	       b.sink_netns ? "veth/netns" : "loopback", b.send_cpu, b.sink_cpu, b.seconds, b.rounds);
	for (int gro = 0; gro < 2; gro++) {
		double mpps[METHODS_MAX][ROUNDS_MAX], cpu[METHODS_MAX][ROUNDS_MAX];
		double smpps[METHODS_MAX][ROUNDS_MAX], scpu[METHODS_MAX][ROUNDS_MAX];
		struct result last[METHODS_MAX];
		double base = 0;
		bool short_sink = false;
		struct sink s;

		if ((gro == 0 && strcmp(gro_mode, "on") == 0) || (gro == 1 && strcmp(gro_mode, "off") == 0))
			continue;
		if (sink_start(&s, b.sink_cpu, gro, &b.sink_addr, b.sink_ip, b.sink_netns) != 0) {
			fprintf(stderr, "daitn-bench-client: cannot start the sink\n");
			return 1;
		}
		fd = udp_socket(NULL, b.send_ip);
		for (unsigned r = 0; r < b.rounds; r++) {
			for (unsigned m = 0; m < n_methods; m++) {
				last[m] = run_method(&b, methods[m], &s, fd);
				mpps[m][r] = last[m].mpps;
				cpu[m][r] = last[m].cpu_ns;
				smpps[m][r] = last[m].sink_mpps;
				scpu[m][r] = last[m].sink_cpu_ns;
			}
		}
		close(fd);
		sink_stop(&s);
		printf("\nsink GRO %s:\n", gro ? "on " : "off");
		printf("  %-20s %6s %9s %10s %14s %11s %14s %12s\n", "method", "batch", "dgram/call",
		       "sent Mpps", "send CPU ns/dg", "sink Mpps", "sink CPU ns/dg", "vs sendmmsg");
		for (unsigned m = 0; m < n_methods; m++)
			if (methods[m] == M_SENDMMSG)
				base = median(mpps[m], b.rounds);
		for (unsigned m = 0; m < n_methods; m++) {
			double mp = median(mpps[m], b.rounds);
			uint32_t batch = methods[m] == M_SENDMSG ? 1 : methods[m] == M_DAITN_GSO_BIG
					 ? b.big_batch : b.batch;

			double sm = median(smpps[m], b.rounds);

			printf("  %-20s %6u %9.1f %10.3f %14.0f %11.3f %14.0f %11.2fx%s\n",
			       method_names[methods[m]], batch, last[m].per_call, mp,
			       median(cpu[m], b.rounds), sm, median(scpu[m], b.rounds),
			       base > 0 ? mp / base : 0.0, sm < 0.9 * mp ? " *" : "");
			short_sink |= sm < 0.9 * mp;
		}
		if (short_sink)
			printf("  * the sink got under 90%% of what was sent: the rest was dropped at its "
			       "full socket,\n    which costs the sender less than a delivery; such "
			       "rows flatter the sender\n");
	}
	free(b.tensor);
	return 0;
}
