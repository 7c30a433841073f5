/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite daitn_io: the batched socket layer. What daitn_io_flush() puts on
 * the wire is read back datagram by datagram from loopback sockets; GRO
 * buffers handed to daitn_io_rx() must come out split at their gso_size.
 */
#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/udp.h>
#include <string.h>

#include "daitn_test_util.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define SEG_PAYLOAD 1024u
#define SEG_SIZE (DP_PROTO_HDR_SIZE + SEG_PAYLOAD)

static void
big_rcvbuf(int fd)
{
	int size = 8 << 20;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

/* A client socket and an io aimed at n sink sockets on consecutive ports. */
static int
io_setup(struct daitn_io *io, int *sinks, unsigned n, uint32_t seg_size)
{
	struct sockaddr_in gw = { .sin_family = AF_INET };
	uint16_t base, port;
	int fd;

	if (tpeer_udp_range(sinks, n, &base) != 0)
		return -1;
	for (unsigned i = 0; i < n; i++)
		big_rcvbuf(sinks[i]);
	fd = tpeer_udp_socket(&port);
	if (fd < 0)
		return -1;
	gw.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	gw.sin_port = htons(base);
	return daitn_io_init(io, fd, &gw, base, (uint8_t)n, seg_size);
}

static void
io_teardown(struct daitn_io *io, int *sinks, unsigned n)
{
	close(io->fd);
	daitn_io_fini(io);
	for (unsigned i = 0; i < n; i++)
		close(sinks[i]);
}

/* Datagram i of a test batch: header with offset = i, payload from src. */
static void
queue_one(struct daitn_io *io, uint16_t shard, uint32_t i, const uint8_t *src, uint32_t size)
{
	uint8_t hdr[DP_PROTO_HDR_SIZE];

	daitn_msg_hdr(hdr, DP_MSG_GRAD, 7, 1, (uint16_t)i, DP_DTYPE_F32, (uint16_t)(size / 4), i, 5);
	CU_ASSERT_EQUAL(daitn_io_queue(io, shard, hdr, src + (size_t)i * SEG_PAYLOAD, size), 0);
}

/* Read every datagram waiting on fd and check it against queue_one()'s
 * datagram. Returns the number that were right; *n_read counts all. */
static unsigned
drain_check(int fd, const uint8_t *src, const uint32_t *expect_ids, unsigned n_expect,
	    const uint32_t *sizes, unsigned *n_read)
{
	uint8_t buf[2 * SEG_SIZE];
	unsigned good = 0;
	ssize_t n;

	*n_read = 0;
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		struct dp_proto_hdr h;
		unsigned k = (*n_read)++;
		uint32_t id;

		if (k >= n_expect)
			continue;
		id = expect_ids[k];
		if (dp_proto_hdr_check(buf, (size_t)n, &h) == DP_PROTO_CHECK_OK && h.offset == id &&
		    h.slot == (uint16_t)id && h.round == 5 && (uint32_t)n == DP_PROTO_HDR_SIZE + sizes[k] &&
		    memcmp(buf + DP_PROTO_HDR_SIZE, src + (size_t)id * SEG_PAYLOAD, sizes[k]) == 0)
			good++;
	}
	return good;
}

static uint8_t *
pattern(size_t n_chunks)
{
	uint8_t *p = malloc(n_chunks * SEG_PAYLOAD);

	for (size_t i = 0; i < n_chunks * SEG_PAYLOAD; i++)
		p[i] = (uint8_t)(i * 131u + (i >> 10));
	return p;
}

/* Shard 0 gets 130 full datagrams and one short one, shard 1 ten full ones,
 * interleaved as the allreduce queues them. */
static void
run_batch(struct daitn_io *io, int *sinks, const uint8_t *src, unsigned *good0, unsigned *good1,
	  unsigned *read0, unsigned *read1)
{
	uint32_t ids0[131], ids1[10], sizes0[131], sizes1[10];
	unsigned n0 = 0, n1 = 0;

	for (uint32_t i = 0; i < 141; i++) {
		bool to1 = i % 2 == 1 && n1 < 10;
		uint32_t size = (!to1 && n0 == 130) ? 500 : SEG_PAYLOAD;

		queue_one(io, to1 ? 1 : 0, i, src, size);
		if (to1) {
			ids1[n1] = i;
			sizes1[n1++] = size;
		} else {
			ids0[n0] = i;
			sizes0[n0++] = size;
		}
	}
	CU_ASSERT_EQUAL(daitn_io_flush(io), 0);
	*good0 = drain_check(sinks[0], src, ids0, n0, sizes0, read0);
	*good1 = drain_check(sinks[1], src, ids1, n1, sizes1, read1);
}

static void
test_gso_refused_by_kernel_falls_back_to_plain(void)
{
	struct daitn_io io;
	int sinks[2], off = 1;
	unsigned g0, g1, r0, r1;
	uint8_t *src = pattern(141);

	CU_ASSERT_EQUAL_FATAL(io_setup(&io, sinks, 2, SEG_SIZE), 0);
	if (!io.gso) {
		fprintf(stderr, "(kernel without UDP GSO: fallback not exercisable) ");
		io_teardown(&io, sinks, 2);
		free(src);
		return;
	}
	/* UDP GSO needs checksums: with SO_NO_CHECK the kernel refuses it
	 * (EINVAL), as a device or kernel without support would. */
	CU_ASSERT_EQUAL_FATAL(setsockopt(io.fd, SOL_SOCKET, SO_NO_CHECK, &off, sizeof(off)), 0);
	run_batch(&io, sinks, src, &g0, &g1, &r0, &r1);
	CU_ASSERT_EQUAL(io.gso_fallbacks, 1);
	CU_ASSERT_FALSE(io.gso);
	CU_ASSERT_EQUAL(r0, 131);
	CU_ASSERT_EQUAL(g0, 131);
	CU_ASSERT_EQUAL(r1, 10);
	CU_ASSERT_EQUAL(g1, 10);
	CU_ASSERT_EQUAL(io.datagrams_sent, 141);
	CU_ASSERT_EQUAL(io.tx_dropped, 0);
	io_teardown(&io, sinks, 2);
	free(src);
}

static void
test_gso_flush_puts_each_chunk_in_its_own_datagram(void)
{
	struct daitn_io io;
	int sinks[2];
	unsigned g0, g1, r0, r1;
	uint8_t *src = pattern(141);

	CU_ASSERT_EQUAL_FATAL(io_setup(&io, sinks, 2, SEG_SIZE), 0);
	run_batch(&io, sinks, src, &g0, &g1, &r0, &r1);
	CU_ASSERT_EQUAL(r0, 131);
	CU_ASSERT_EQUAL(g0, 131);
	CU_ASSERT_EQUAL(r1, 10);
	CU_ASSERT_EQUAL(g1, 10);
	CU_ASSERT_EQUAL(io.datagrams_sent, 141);
	if (io.gso) {
		/* 62 datagrams of 1046 bytes per GSO send: shard 0 in 3 messages
		 * (62 + 62 + 6 full and the short one last), shard 1 in one, all in
		 * a single sendmmsg. */
		CU_ASSERT_EQUAL(io.gso_segs, 62);
		CU_ASSERT_EQUAL(io.send_calls, 1);
		CU_ASSERT_EQUAL(io.gso_fallbacks, 0);
	} else {
		CU_ASSERT_EQUAL(io.send_calls, 1); /* 141 plain messages, one sendmmsg */
	}
	io_teardown(&io, sinks, 2);
	free(src);
}

static void
test_full_queue_flushes_itself(void)
{
	struct daitn_io io;
	int sink;
	uint8_t hdr[DP_PROTO_HDR_SIZE] = { 0 }, payload[64] = { 0 };
	unsigned got = 0;
	uint8_t buf[256];

	CU_ASSERT_EQUAL_FATAL(io_setup(&io, &sink, 1, DP_PROTO_HDR_SIZE + 64), 0);
	daitn_msg_hdr(hdr, DP_MSG_GRAD, 7, 1, 0, DP_DTYPE_F32, 16, 0, 0);
	for (unsigned i = 0; i < DAITN_TX_QUEUE_MAX + 100; i++)
		CU_ASSERT_EQUAL(daitn_io_queue(&io, 0, hdr, payload, 64), 0);
	CU_ASSERT_EQUAL(io.txq_n, 100);
	CU_ASSERT_EQUAL(daitn_io_flush(&io), 0);
	CU_ASSERT_EQUAL(io.txq_n, 0);
	CU_ASSERT_EQUAL(io.datagrams_sent + io.tx_dropped, DAITN_TX_QUEUE_MAX + 100);
	while (recv(sink, buf, sizeof(buf), MSG_DONTWAIT) == DP_PROTO_HDR_SIZE + 64)
		got++;
	CU_ASSERT_EQUAL(got, io.datagrams_sent);
	io_teardown(&io, &sink, 1);
}

struct rx_log {
	unsigned n;
	uint32_t lens[16];
	uint8_t first[16];
};

static void
rx_record(void *arg, const uint8_t *data, uint32_t len, const struct sockaddr_in *src)
{
	struct rx_log *l = arg;

	(void)src;
	if (l->n < 16) {
		l->lens[l->n] = len;
		l->first[l->n] = data[0];
	}
	l->n++;
}

static void
test_gro_buffer_is_split_at_gso_size(void)
{
	struct daitn_io io;
	int sink, tx;
	uint16_t port;
	uint8_t dgrams[6][SEG_SIZE];
	struct iovec iov[6];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl;
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct msghdr mh = { .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = iov,
			     .msg_iovlen = 6, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm;
	struct rx_log log = { 0 };
	socklen_t sl = sizeof(to);
	int rc;

	/* io's own socket is the receiver here; its "gateway" is unused. */
	CU_ASSERT_EQUAL_FATAL(io_setup(&io, &sink, 1, SEG_SIZE), 0);
	CU_ASSERT_EQUAL_FATAL(getsockname(io.fd, (struct sockaddr *)&to, &sl), 0);
	tx = tpeer_udp_socket(&port);
	for (int i = 0; i < 6; i++) {
		memset(dgrams[i], 0xa0 + i, SEG_SIZE);
		iov[i].iov_base = dgrams[i];
		iov[i].iov_len = i == 5 ? 300 : SEG_SIZE;
	}
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_UDP;
	cm->cmsg_type = UDP_SEGMENT;
	cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
	*(uint16_t *)(void *)CMSG_DATA(cm) = SEG_SIZE;
	if (sendmsg(tx, &mh, 0) < 0) {
		fprintf(stderr, "(UDP GSO send failed: %s; GRO split not exercised) ", strerror(errno));
		close(tx);
		io_teardown(&io, &sink, 1);
		return;
	}
	CU_ASSERT_EQUAL(daitn_io_wait(&io, 1000000000u), 1);
	rc = daitn_io_rx(&io, rx_record, &log);
	CU_ASSERT_EQUAL(rc, 6);
	CU_ASSERT_EQUAL(log.n, 6);
	for (int i = 0; i < 6 && i < (int)log.n; i++) {
		CU_ASSERT_EQUAL(log.lens[i], i == 5 ? 300u : SEG_SIZE);
		CU_ASSERT_EQUAL(log.first[i], 0xa0 + i);
	}
	CU_ASSERT_EQUAL(io.recv_calls, 1);
	close(tx);
	io_teardown(&io, &sink, 1);
}

static void
test_oversized_datagram_is_counted_truncated(void)
{
	struct daitn_io io;
	int sink, tx;
	uint16_t port;
	uint8_t big[2000] = { 0 };
	struct sockaddr_in to;
	socklen_t sl = sizeof(to);
	struct rx_log log = { 0 };

	setenv("DAITN_GRO", "0", 1);
	CU_ASSERT_EQUAL_FATAL(io_setup(&io, &sink, 1, SEG_SIZE), 0);
	unsetenv("DAITN_GRO");
	CU_ASSERT_FALSE(io.gro);
	CU_ASSERT_EQUAL_FATAL(getsockname(io.fd, (struct sockaddr *)&to, &sl), 0);
	tx = tpeer_udp_socket(&port);
	CU_ASSERT_EQUAL(sendto(tx, big, sizeof(big), 0, (struct sockaddr *)&to, sizeof(to)), 2000);
	CU_ASSERT_EQUAL(daitn_io_wait(&io, 1000000000u), 1);
	CU_ASSERT_EQUAL(daitn_io_rx(&io, rx_record, &log), 0);
	CU_ASSERT_EQUAL(log.n, 0);
	CU_ASSERT_EQUAL(io.rx_truncated, 1);
	close(tx);
	io_teardown(&io, &sink, 1);
}

int
main(void)
{
	static const CU_TestInfo tests[] = {
		{ "oversized_datagram_is_counted_truncated",
		  test_oversized_datagram_is_counted_truncated },
		{ "gso_refused_by_kernel_falls_back_to_plain",
		  test_gso_refused_by_kernel_falls_back_to_plain },
		{ "gso_flush_puts_each_chunk_in_its_own_datagram",
		  test_gso_flush_puts_each_chunk_in_its_own_datagram },
		{ "full_queue_flushes_itself", test_full_queue_flushes_itself },
		{ "gro_buffer_is_split_at_gso_size", test_gro_buffer_is_split_at_gso_size },
		CU_TEST_INFO_NULL,
	};

	return tutil_run("daitn_io", tests);
}
