/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The socket layer of libdaitn: batched sends and receives.
 *
 * Why GSO: a plain sendmsg walks the whole UDP/IP stack per 1 KiB datagram
 * (~3 us here). With UDP_SEGMENT one sendmsg hands the kernel up to 64
 * equal-size datagrams for one destination; the stack is walked once and
 * the super-packet is cut at the device (in hardware where the NIC can).
 * Datagrams for different shard ports are separate messages of one sendmmsg.
 * Each datagram is two iovecs, the 22-byte header kept in the queue and the
 * payload straight from the caller's tensor, so the payload is copied once,
 * by the kernel; a partial job's GRADs have a third, the ranks trailer that
 * is the same in all of them (one buffer of the handle).
 *
 * Why GRO: with UDP_GRO the kernel may hand one coalesced buffer of many
 * RESULTs (with a gso_size cmsg) instead of one per recvmmsg entry.
 *
 * Fallback: a kernel or device that refuses GSO fails the send with EIO,
 * EINVAL, ENOPROTOOPT or EOPNOTSUPP; the batch is then rebuilt as plain
 * datagrams and GSO stays off for the handle. DAITN_GSO=0 / DAITN_GRO=0
 * turn them off up front (e.g. for af_packet receivers on veth, which see
 * unsegmented super-packets).
 */
#include <errno.h>
#include <stdbool.h>
#include <time.h> /* before linux/errqueue.h, which needs struct timespec */
#include <linux/errqueue.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daitn_priv.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

#define TX_CMSG_SPACE CMSG_SPACE(sizeof(uint16_t))
#define RX_CMSG_SPACE 64u
#define NONE UINT32_MAX

/* Socket buffers: a window of 1 KiB chunks costs ~2.3 KiB of truesize each. */
#define SOCK_BUF_SIZE (16 << 20)

static bool
env_off(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && (strcmp(v, "0") == 0 || strcmp(v, "off") == 0 ||
			     strcmp(v, "no") == 0);
}

static void
sock_buf_size(int fd, int force_opt, int opt)
{
	int size = SOCK_BUF_SIZE;

	/* FORCE needs CAP_NET_ADMIN; otherwise the kernel caps at [rw]mem_max. */
	if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

int
daitn_io_init(struct daitn_io *io, int fd, const struct sockaddr_in *gw,
	      uint16_t port_base, uint8_t n_shards, uint32_t seg_size)
{
	struct timeval sndtimeo = { .tv_sec = 0, .tv_usec = 100000 };
	uint32_t i, n_iov = 3 * DAITN_TX_QUEUE_MAX;
	int one = 1, v = 0;
	socklen_t vlen = sizeof(v);

	memset(io, 0, sizeof(*io));
	io->fd = fd;
	io->wake_fd = -1;
	io->gw = *gw;
	io->port_base = port_base;
	io->n_shards = n_shards;
	io->hdr_size = DP_PROTO_HDR_SIZE;
	io->iov_per = 2;
	io->seg_size = seg_size;
	io->gso_segs = DAITN_UDP_PAYLOAD_MAX / seg_size;
	if (io->gso_segs > DAITN_GSO_SEGS_MAX)
		io->gso_segs = DAITN_GSO_SEGS_MAX;
	io->gso = io->gso_segs >= 2 && !env_off("DAITN_GSO") &&
		  getsockopt(fd, SOL_UDP, UDP_SEGMENT, &v, &vlen) == 0;
	io->gro = !env_off("DAITN_GRO") &&
		  setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;

	sock_buf_size(fd, SO_SNDBUFFORCE, SO_SNDBUF);
	sock_buf_size(fd, SO_RCVBUFFORCE, SO_RCVBUF);
	/* A send never blocks the caller for long: a full buffer that does not
	 * drain in 100 ms drops the batch, and the retransmission timer owns it. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sndtimeo, sizeof(sndtimeo));

	io->txq = calloc(DAITN_TX_QUEUE_MAX, sizeof(*io->txq));
	io->shard_next = calloc(DAITN_TX_QUEUE_MAX, sizeof(*io->shard_next));
	io->shard_head = calloc(n_shards, sizeof(*io->shard_head));
	io->shard_tail = calloc(n_shards, sizeof(*io->shard_tail));
	io->tx_msgs = calloc(DAITN_TX_QUEUE_MAX, sizeof(*io->tx_msgs));
	io->tx_iov = calloc(n_iov, sizeof(*io->tx_iov));
	io->tx_dst = calloc(n_shards, sizeof(*io->tx_dst));
	io->tx_cmsg = calloc(DAITN_TX_QUEUE_MAX, TX_CMSG_SPACE);

	io->rx_msgs_n = io->gro ? DAITN_RX_MSGS_GRO : DAITN_RX_MSGS_PLAIN;
	io->rx_buf_size = io->gro ? DAITN_RX_BUF_GRO : (seg_size + 63u) & ~63u;
	io->rx_arena = aligned_alloc(64, (size_t)io->rx_msgs_n * io->rx_buf_size);
	io->rx_msgs = calloc(io->rx_msgs_n, sizeof(*io->rx_msgs));
	io->rx_iov = calloc(io->rx_msgs_n, sizeof(*io->rx_iov));
	io->rx_src = calloc(io->rx_msgs_n, sizeof(*io->rx_src));
	io->rx_cmsg = calloc(io->rx_msgs_n, RX_CMSG_SPACE);
	if (io->txq == NULL || io->shard_next == NULL || io->shard_head == NULL ||
	    io->shard_tail == NULL || io->tx_msgs == NULL || io->tx_iov == NULL ||
	    io->tx_dst == NULL || io->tx_cmsg == NULL || io->rx_arena == NULL ||
	    io->rx_msgs == NULL || io->rx_iov == NULL || io->rx_src == NULL ||
	    io->rx_cmsg == NULL) {
		daitn_io_fini(io);
		return -ENOMEM;
	}
	for (i = 0; i < n_shards; i++) {
		io->tx_dst[i] = *gw;
		io->tx_dst[i].sin_port = htons((uint16_t)(port_base + i));
		io->shard_head[i] = NONE;
		io->shard_tail[i] = NONE;
	}
	return 0;
}

void
daitn_io_fini(struct daitn_io *io)
{
	free(io->txq);
	free(io->shard_next);
	free(io->shard_head);
	free(io->shard_tail);
	free(io->tx_msgs);
	free(io->tx_iov);
	free(io->tx_dst);
	free(io->tx_cmsg);
	free(io->rx_arena);
	free(io->rx_msgs);
	free(io->rx_iov);
	free(io->rx_src);
	free(io->rx_cmsg);
	memset(io, 0, sizeof(*io));
	io->fd = -1;
	io->wake_fd = -1;
}

void
daitn_io_trailer_set(struct daitn_io *io, const void *trailer, uint32_t size)
{
	io->tx_trailer = size != 0 ? trailer : NULL;
	io->tx_trailer_size = io->tx_trailer != NULL ? size : 0;
	io->iov_per = io->tx_trailer != NULL ? 3 : 2;
}

void
daitn_io_discard(struct daitn_io *io)
{
	for (uint32_t s = 0; s < io->n_shards; s++) {
		io->shard_head[s] = NONE;
		io->shard_tail[s] = NONE;
	}
	io->txq_n = 0;
}

int
daitn_io_queue(struct daitn_io *io, uint16_t shard, const void *hdr,
	       const void *payload, uint32_t payload_size)
{
	struct daitn_tx_chunk *c;
	uint32_t i;
	int rc;

	if (io->txq_n == DAITN_TX_QUEUE_MAX) {
		rc = daitn_io_flush(io);
		if (rc < 0)
			return rc;
	}
	i = io->txq_n++;
	c = &io->txq[i];
	memcpy(c->hdr, hdr, io->hdr_size);
	c->shard = shard;
	c->payload = payload;
	c->payload_size = payload_size;
	io->shard_next[i] = NONE;
	if (io->shard_tail[shard] == NONE)
		io->shard_head[shard] = i;
	else
		io->shard_next[io->shard_tail[shard]] = i;
	io->shard_tail[shard] = i;
	return 0;
}

/* Lay the queued chunks out as messages, starting at the first chunk of
 * order[] not yet sent. order[] lists chunk indices shard by shard; each
 * message covers a contiguous run of it. msg_len is reused on input to hold
 * the run's start in order[] (sendmmsg overwrites it with bytes sent). */
static uint32_t
tx_build(struct daitn_io *io, const uint32_t *order, uint32_t from, uint32_t n,
	 uint32_t *run_start, uint32_t *run_len)
{
	uint32_t k, m = 0, segs = 0, per = io->iov_per;
	struct msghdr *mh = NULL;
	bool last_full = false;
	uint16_t prev_shard = 0;

	for (k = from; k < n; k++) {
		const struct daitn_tx_chunk *c = &io->txq[order[k]];
		uint32_t size = io->hdr_size + c->payload_size + io->tx_trailer_size;
		struct iovec *iov = &io->tx_iov[per * k];

		iov[0].iov_base = (void *)c->hdr;
		iov[0].iov_len = io->hdr_size;
		iov[1].iov_base = (void *)c->payload;
		iov[1].iov_len = c->payload_size;
		if (per == 3) {
			iov[2].iov_base = (void *)io->tx_trailer;
			iov[2].iov_len = io->tx_trailer_size;
		}
		/* GSO cuts at seg_size: only a run of full datagrams may be
		 * followed by another one, and a short one ends the run. */
		if (mh != NULL && io->gso && c->shard == prev_shard && last_full &&
		    segs < io->gso_segs) {
			mh->msg_iovlen += per;
			segs++;
			run_len[m - 1] = segs;
		} else {
			mh = &io->tx_msgs[m].msg_hdr;
			memset(mh, 0, sizeof(*mh));
			mh->msg_name = &io->tx_dst[c->shard];
			mh->msg_namelen = sizeof(struct sockaddr_in);
			mh->msg_iov = iov;
			mh->msg_iovlen = per;
			run_start[m] = k;
			run_len[m] = 1;
			segs = 1;
			m++;
		}
		prev_shard = c->shard;
		last_full = size == io->seg_size;
	}
	for (k = 0; k < m; k++) {
		struct msghdr *h = &io->tx_msgs[k].msg_hdr;
		struct cmsghdr *cm;

		if (run_len[k] < 2)
			continue;
		h->msg_control = io->tx_cmsg + (size_t)k * TX_CMSG_SPACE;
		h->msg_controllen = TX_CMSG_SPACE;
		cm = CMSG_FIRSTHDR(h);
		cm->cmsg_level = SOL_UDP;
		cm->cmsg_type = UDP_SEGMENT;
		cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
		*(uint16_t *)(void *)CMSG_DATA(cm) = (uint16_t)io->seg_size;
	}
	return m;
}

static bool
errno_is_icmp(int e)
{
	return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN;
}

int
daitn_io_flush(struct daitn_io *io)
{
	uint32_t order[DAITN_TX_QUEUE_MAX], run_start[DAITN_TX_QUEUE_MAX];
	uint32_t run_len[DAITN_TX_QUEUE_MAX];
	uint32_t n = 0, m, sent = 0, s, i, icmp_retries = 0;
	int rc = 0;

	if (io->txq_n == 0)
		return 0;
	for (s = 0; s < io->n_shards; s++) {
		for (i = io->shard_head[s]; i != NONE; i = io->shard_next[i])
			order[n++] = i;
		io->shard_head[s] = NONE;
		io->shard_tail[s] = NONE;
	}
	m = tx_build(io, order, 0, n, run_start, run_len);
	while (sent < m) {
		int r = sendmmsg(io->fd, &io->tx_msgs[sent], m - sent, 0);
		int e = errno;

		io->send_calls++;
		if (r > 0) {
			for (i = sent; i < sent + (uint32_t)r; i++)
				io->datagrams_sent += run_len[i];
			sent += (uint32_t)r;
			continue;
		}
		if (e == EINTR)
			continue;
		if (io->gso && run_len[sent] > 1 &&
		    (e == EIO || e == EINVAL || e == ENOPROTOOPT || e == EOPNOTSUPP)) {
			uint32_t from = run_start[sent];

			io->gso = false;
			io->gso_fallbacks++;
			m = tx_build(io, order, from, n, run_start, run_len);
			sent = 0;
			continue;
		}
		if (errno_is_icmp(e) && icmp_retries++ < 4) {
			/* The socket reported an earlier ICMP error instead of
			 * sending; it is cleared now, so the same batch goes again. */
			io->icmp_errors++;
			io->last_icmp_errno = e;
			(void)daitn_io_errqueue(io);
			continue;
		}
		if (e == ENOBUFS) {
			io->tx_dropped += run_len[sent];
			sent++;
			continue;
		}
		if (e == EAGAIN || e == EWOULDBLOCK || errno_is_icmp(e)) {
			for (i = sent; i < m; i++)
				io->tx_dropped += run_len[i];
			break;
		}
		rc = -e;
		break;
	}
	io->txq_n = 0;
	return rc;
}

int
daitn_io_errqueue(struct daitn_io *io)
{
	uint8_t buf[256], ctl[512];
	int err = 0, soerr;
	socklen_t sl = sizeof(soerr);

	for (;;) {
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctl, .msg_controllen = sizeof(ctl) };
		struct cmsghdr *cm;

		if (recvmsg(io->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
			const struct sock_extended_err *ee;

			if (cm->cmsg_level != SOL_IP || cm->cmsg_type != IP_RECVERR)
				continue;
			ee = (const struct sock_extended_err *)(const void *)CMSG_DATA(cm);
			if (ee->ee_errno != 0) {
				err = -(int)ee->ee_errno;
				io->icmp_errors++;
				io->last_icmp_errno = (int)ee->ee_errno;
			}
		}
	}
	/* Reading SO_ERROR clears the pending socket error too. */
	if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr != 0 && err == 0)
		err = -soerr;
	return err;
}

struct daitn_clock daitn_clock;

void
daitn_clock_set(uint64_t (*now)(void *), void (*advance)(void *, uint64_t), void *arg)
{
	daitn_clock.arg = arg;
	daitn_clock.advance = advance;
	daitn_clock.now = now;
}

int
daitn_io_wait(struct daitn_io *io, uint64_t timeout_ns)
{
	struct pollfd pfd[2] = { { .fd = io->fd, .events = POLLIN },
				 { .fd = io->wake_fd, .events = POLLIN } };
	bool virt = daitn_clock.now != NULL;
	struct timespec ts = { .tv_sec = virt ? 0 : (time_t)(timeout_ns / 1000000000u),
			       .tv_nsec = virt ? 0 : (long)(timeout_ns % 1000000000u) };
	int r;

	r = ppoll(pfd, io->wake_fd >= 0 ? 2 : 1, &ts, NULL);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (r == 0) {
		if (virt)
			daitn_clock.advance(daitn_clock.arg, timeout_ns);
		return 0;
	}
	if (pfd[0].revents & POLLERR) {
		int err = daitn_io_errqueue(io);

		if (err < 0)
			return err;
	}
	return (pfd[0].revents & POLLIN) ? 1 : 0;
}

static uint32_t
rx_gso_size(struct msghdr *mh)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
			int v;

			memcpy(&v, CMSG_DATA(cm), sizeof(v));
			return v > 0 ? (uint32_t)v : 0;
		}
	}
	return 0;
}

int
daitn_io_rx(struct daitn_io *io, daitn_io_rx_fn_t fn, void *arg)
{
	uint32_t i, delivered = 0;
	int r;

	for (i = 0; i < io->rx_msgs_n; i++) {
		struct msghdr *mh = &io->rx_msgs[i].msg_hdr;

		io->rx_iov[i].iov_base = io->rx_arena + (size_t)i * io->rx_buf_size;
		io->rx_iov[i].iov_len = io->rx_buf_size;
		mh->msg_name = &io->rx_src[i];
		mh->msg_namelen = sizeof(io->rx_src[i]);
		mh->msg_iov = &io->rx_iov[i];
		mh->msg_iovlen = 1;
		mh->msg_control = io->rx_cmsg + (size_t)i * RX_CMSG_SPACE;
		mh->msg_controllen = RX_CMSG_SPACE;
		mh->msg_flags = 0;
	}
	r = recvmmsg(io->fd, io->rx_msgs, io->rx_msgs_n, MSG_DONTWAIT, NULL);
	io->recv_calls++;
	io->rx_more = r == (int)io->rx_msgs_n;
	if (r < 0) {
		int e = errno;

		if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR)
			return 0;
		if (errno_is_icmp(e)) {
			io->icmp_errors++;
			io->last_icmp_errno = e;
			(void)daitn_io_errqueue(io);
			return 0;
		}
		return -e;
	}
	for (i = 0; i < (uint32_t)r; i++) {
		struct msghdr *mh = &io->rx_msgs[i].msg_hdr;
		const uint8_t *p = io->rx_iov[i].iov_base;
		uint32_t len = io->rx_msgs[i].msg_len, gso;

		if (mh->msg_flags & MSG_TRUNC) {
			io->rx_truncated++;
			continue;
		}
		gso = rx_gso_size(mh);
		if (gso == 0 || gso >= len) {
			fn(arg, p, len, &io->rx_src[i]);
			delivered++;
			continue;
		}
		while (len > 0) {
			uint32_t seg = len < gso ? len : gso;

			fn(arg, p, seg, &io->rx_src[i]);
			delivered++;
			p += seg;
			len -= seg;
		}
	}
	return (int)delivered;
}
