/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The test peer (see daitn_test_peer.h: a message source for the client's
 * unit tests, not a gateway).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daitn_test_peer.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define BATCH 64
#define BUF_SIZE (DP_PROTO_HDR_SIZE + DP_PROTO_TAG_SIZE + DP_PROTO_CHUNK_SIZE_MAX + \
		  DP_PROTO_RANKS_HDR + DP_PROTO_WORKERS_MAX / 8)

int
tpeer_udp_socket(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t sl = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &sl) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

int
tpeer_udp_range(int *fds, unsigned n, uint16_t *base)
{
	unsigned attempt, i, k;

	for (attempt = 0; attempt < 50; attempt++) {
		uint16_t first;
		int fd0 = tpeer_udp_socket(&first);

		if (fd0 < 0)
			return -errno;
		if ((uint32_t)first + n > UINT16_MAX) {
			close(fd0);
			continue;
		}
		fds[0] = fd0;
		for (i = 1; i < n; i++) {
			struct sockaddr_in a = { .sin_family = AF_INET,
						 .sin_port = htons((uint16_t)(first + i)) };

			a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (fds[i] < 0)
				break;
			if (bind(fds[i], (struct sockaddr *)&a, sizeof(a)) != 0) {
				close(fds[i]);
				break;
			}
		}
		if (i == n) {
			*base = first;
			return 0;
		}
		for (k = 0; k < i; k++)
			close(fds[k]);
	}
	return -EADDRINUSE;
}

static void
send_ctrl(int fd, const struct sockaddr_in *to, uint8_t type, const struct tpeer *p,
	  const struct dp_proto_hdr *hello, uint32_t round, const struct dp_proto_job_info *ji)
{
	uint8_t buf[DP_PROTO_HDR_SIZE + DP_PROTO_TAG_SIZE + 64 + DP_PROTO_SALT_SIZE];
	struct dp_proto_hdr h = {
		.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION, .type = type,
		.job = hello->job, .rank = hello->rank, .round = round,
		.flags = p->key != NULL ? DP_PROTO_FLAG_AUTH : 0,
	};
	size_t off = dp_proto_payload_off(&h), len = off;

	if (type == DP_MSG_HELLO_ACK) {
		h.dtype = ji->dtype;
		dp_proto_job_info_write(buf + off, ji);
		len += sizeof(*ji);
		if (p->key != NULL) {
			dp_auth_tag_write(buf + len, p->salt);
			len += DP_PROTO_SALT_SIZE;
		}
	} else if (type == DP_MSG_HELLO_WAIT) {
		struct dp_proto_join_wait w = { .n_workers = ji->n_workers, .n_joined = 2,
						.missing = { 1, 3 } };

		for (unsigned i = 2; i < DP_PROTO_WAIT_LIST; i++)
			w.missing[i] = DP_PROTO_RANK_NONE;
		dp_proto_join_wait_write(buf + off, &w);
		len += sizeof(w);
	} else {
		dp_proto_error_write(buf + off, p->err_code, p->err_text);
		len += sizeof(struct dp_proto_error);
	}
	dp_proto_hdr_write(buf, &h);
	if (p->key != NULL)
		dp_auth_tag_write(buf + DP_PROTO_HDR_SIZE,
				  dp_auth_tag(p->key, 0, buf, buf + off, len - off));
	(void)sendto(fd, buf, len, 0, (const struct sockaddr *)to, sizeof(*to));
}

static void
on_hello(struct tpeer *p, int fd, const struct sockaddr_in *src, const struct dp_proto_hdr *h)
{
	struct dp_proto_job_info ji = p->job;

	p->hellos++;
	p->hello_round = h->round;
	switch (p->hello) {
	case TPEER_HELLO_ACK:
		send_ctrl(fd, src, DP_MSG_HELLO_ACK, p, h, h->round, &ji);
		break;
	case TPEER_HELLO_ERROR:
		send_ctrl(fd, src, DP_MSG_ERROR, p, h, h->round, NULL);
		break;
	case TPEER_HELLO_BAD_ACK:
		ji.n_slots = 0;
		send_ctrl(fd, src, DP_MSG_HELLO_ACK, p, h, h->round, &ji);
		break;
	case TPEER_HELLO_OTHER_ROUND:
		ji.n_workers = 77; /* must not be taken */
		send_ctrl(fd, src, DP_MSG_HELLO_ACK, p, h, h->round + 1, &ji);
		ji = p->job;
		send_ctrl(fd, src, DP_MSG_HELLO_ACK, p, h, h->round, &ji);
		break;
	case TPEER_HELLO_SILENT:
		break;
	case TPEER_HELLO_WAIT:
		send_ctrl(fd, src, p->hellos <= p->wait_hellos ? DP_MSG_HELLO_WAIT : DP_MSG_HELLO_ACK,
			  p, h, h->round, &ji);
		break;
	}
}

/* Results waiting to go out of one socket to one destination, coalesced
 * with UDP_SEGMENT when gso_results is set. */
struct out_batch {
	uint8_t buf[BATCH][BUF_SIZE];
	struct iovec iov[BATCH];
	unsigned n;
	struct sockaddr_in to;
};

static void
batch_flush(struct tpeer *p, int fd, struct out_batch *b)
{
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_name = &b->to, .msg_namelen = sizeof(b->to),
			     .msg_iov = b->iov, .msg_iovlen = b->n };

	if (b->n == 0)
		return;
	if (b->n > 1) {
		struct cmsghdr *cm;

		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_UDP;
		cm->cmsg_type = UDP_SEGMENT;
		cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
		*(uint16_t *)(void *)CMSG_DATA(cm) = (uint16_t)b->iov[0].iov_len;
		p->gso_sends++;
	}
	if (sendmsg(fd, &mh, 0) < 0)
		p->send_errors++;
	b->n = 0;
}

/* A partial job's RESULT r whose elements end at out + end: write the
 * trailer (bad: one TPEER_BAD_* or 0), the header and the tag. Returns the
 * datagram's length. */
static uint32_t
result_ranks_finish(const struct tpeer *p, uint8_t *out, const struct dp_proto_hdr *r,
		    size_t end, unsigned bad)
{
	struct dp_proto_hdr w = *r;
	size_t off = dp_proto_payload_off(r), len = end;
	uint16_t nw = p->job.n_workers, n_in;
	uint64_t bits = p->ranks_bits[dp_proto_slot_index(r->slot) % 4];

	if (bits == 0)
		bits = nw >= 64 ? ~0ull : (1ull << nw) - 1;
	n_in = (uint16_t)__builtin_popcountll(bits);
	if (bad == TPEER_BAD_NWORKERS)
		nw++;
	else if (bad == TPEER_BAD_N_IN_ZERO)
		bits = n_in = 0;
	else if (bad == TPEER_BAD_N_IN_COUNT)
		n_in++;
	else if (bad == TPEER_BAD_PAD_BIT) {
		bits |= 1ull << p->job.n_workers;
		n_in++;
	}
	if (bad == TPEER_BAD_NO_FLAG) {
		w.flags &= (uint8_t)~DP_PROTO_FLAG_RANKS;
	} else {
		w.flags |= DP_PROTO_FLAG_RANKS;
		dp_proto_ranks_write(out + len, nw, n_in, &bits);
		len += dp_proto_ranks_size(nw);
	}
	dp_proto_hdr_write(out, &w);
	if (p->key != NULL)
		dp_auth_tag_write(out + DP_PROTO_HDR_SIZE,
				  dp_auth_tag(p->key, p->salt, out, out + off, len - off));
	return (uint32_t)len;
}

/* The bad_ranks RESULTs: the elements + 1000 (f32), each trailer wrong. */
static void
send_bad_ranks(struct tpeer *p, int fd, const struct sockaddr_in *to, const uint8_t *out,
	       const struct dp_proto_hdr *r, size_t end)
{
	size_t off = dp_proto_payload_off(r);

	for (unsigned bad = 1; bad <= TPEER_BAD_NO_FLAG; bad <<= 1) {
		uint8_t wrong[BUF_SIZE];
		uint32_t n;

		if (!(p->bad_ranks & bad))
			continue;
		memcpy(wrong, out, end);
		for (size_t i = 0; r->dtype == DP_DTYPE_F32 && i < r->count; i++) {
			float f;

			memcpy(&f, wrong + off + i * 4, 4);
			f += 1000.0f;
			memcpy(wrong + off + i * 4, &f, 4);
		}
		n = result_ranks_finish(p, wrong, r, end, bad);
		(void)sendto(fd, wrong, n, 0, (const struct sockaddr *)to, sizeof(*to));
	}
}

static void
send_result(struct tpeer *p, int fd, const struct sockaddr_in *to, const uint8_t *grad,
	    uint32_t len, const struct dp_proto_hdr *h, struct out_batch *b)
{
	uint8_t out[BUF_SIZE];
	struct dp_proto_hdr r = *h;
	size_t es = dp_proto_dtype_size(h->dtype), off = dp_proto_payload_off(h);
	size_t end = off + (size_t)h->count * es;

	r.type = DP_MSG_RESULT;
	memcpy(out, grad, len);
	for (uint32_t i = 0; i < h->count; i++) {
		uint8_t *e = out + off + i * es;

		if (h->dtype == DP_DTYPE_F32) {
			float f;

			memcpy(&f, e, 4);
			f *= (float)p->mult;
			f += p->fedavg_w;
			memcpy(e, &f, 4);
		} else if (h->dtype == DP_DTYPE_I32) {
			uint32_t v;

			memcpy(&v, e, 4);
			v *= (uint32_t)p->mult;
			memcpy(e, &v, 4);
		}
	}
	if (p->garbage_before) {
		uint8_t junk[DP_PROTO_HDR_SIZE] = { 0xbe, 0xef };

		(void)sendto(fd, junk, sizeof(junk), 0, (const struct sockaddr *)to, sizeof(*to));
	}
	if (p->stale_before) {
		struct dp_proto_hdr s = r;

		s.round = r.round - 1;
		dp_proto_hdr_write(out, &s);
		(void)sendto(fd, out, len, 0, (const struct sockaddr *)to, sizeof(*to));
	}
	if (p->forge_before && h->dtype == DP_DTYPE_F32) {
		/* What a forger on the path would send first: the same header,
		 * every value off by 1e6, and a tag it cannot make right. */
		uint8_t forged[BUF_SIZE];

		memcpy(forged, out, len);
		for (uint32_t i = 0; i < h->count; i++) {
			float f;

			memcpy(&f, forged + off + i * 4, 4);
			f += 1e6f;
			memcpy(forged + off + i * 4, &f, 4);
		}
		dp_proto_hdr_write(forged, &r);
		if (p->key != NULL)
			dp_auth_tag_write(forged + DP_PROTO_HDR_SIZE, 0x0123456789abcdefull);
		(void)sendto(fd, forged, len, 0, (const struct sockaddr *)to, sizeof(*to));
	}
	if (p->partial_results) {
		send_bad_ranks(p, fd, to, out, &r, end);
		len = result_ranks_finish(p, out, &r, end, 0);
	} else {
		dp_proto_hdr_write(out, &r);
		if (p->key != NULL)
			dp_auth_tag_write(out + DP_PROTO_HDR_SIZE,
					  dp_auth_tag(p->key, p->salt, out, out + off, len - off));
	}
	if (p->gso_results) {
		/* All but the last datagram of a GSO send must be full-size. */
		if (b->n > 0 && (b->n == BATCH || (b->n + 1) * b->iov[0].iov_len > 65507 ||
				 b->iov[b->n - 1].iov_len != b->iov[0].iov_len ||
				 len > b->iov[0].iov_len || memcmp(&b->to, to, sizeof(*to)) != 0))
			batch_flush(p, fd, b);
		b->to = *to;
		memcpy(b->buf[b->n], out, len);
		b->iov[b->n].iov_base = b->buf[b->n];
		b->iov[b->n].iov_len = len;
		b->n++;
	} else {
		(void)sendto(fd, out, len, 0, (const struct sockaddr *)to, sizeof(*to));
	}
	if (p->dup_results)
		(void)sendto(fd, out, len, 0, (const struct sockaddr *)to, sizeof(*to));
	p->results_sent++;
}

static bool
lose(struct tpeer *p)
{
	if (p->loss_pct == 0)
		return false;
	p->rng = p->rng * 6364136223846793005ull + 1442695040888963407ull;
	return (p->rng >> 33) % 100 < p->loss_pct;
}

static bool
is_copy(const struct tpeer *p, const struct dp_proto_hdr *h)
{
	for (unsigned i = 0; i < p->n_recs; i++) {
		const struct dp_proto_hdr *o = &p->recs[i].h;

		if (o->slot == h->slot && o->round == h->round && o->offset == h->offset)
			return true;
	}
	return false;
}

/* ERROR 6 (round closed) for the GRAD h, echoing round, offset close_to,
 * cut to the GRAD's payload size as the gateway does. */
static void
send_closed(struct tpeer *p, int fd, const struct sockaddr_in *to, const struct dp_proto_hdr *h,
	    uint32_t grad_len, uint32_t round)
{
	uint8_t out[DP_PROTO_HDR_SIZE + DP_PROTO_TAG_SIZE + sizeof(struct dp_proto_error)];
	struct dp_proto_hdr e = {
		.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION, .type = DP_MSG_ERROR,
		.job = h->job, .rank = h->rank, .round = round, .offset = p->close_to,
		.flags = p->key != NULL ? DP_PROTO_FLAG_AUTH : 0,
	};
	size_t off = dp_proto_payload_off(&e), n = grad_len - dp_proto_payload_off(h);

	if (n > sizeof(struct dp_proto_error))
		n = sizeof(struct dp_proto_error);
	dp_proto_error_write(out + off, DP_ERR_ROUND_CLOSED, "round closed without rank");
	dp_proto_hdr_write(out, &e);
	if (p->key != NULL)
		dp_auth_tag_write(out + DP_PROTO_HDR_SIZE,
				  dp_auth_tag(p->key, p->salt, out, out + off, n));
	(void)sendto(fd, out, off + n, 0, (const struct sockaddr *)to, sizeof(*to));
}

static void
on_datagram(struct tpeer *p, unsigned shard, const uint8_t *buf, uint32_t len,
	    const struct sockaddr_in *src, struct out_batch *b)
{
	struct dp_proto_hdr h;
	bool copy;

	if (dp_proto_hdr_check(buf, len, &h) != DP_PROTO_CHECK_OK) {
		p->bad++;
		return;
	}
	if (h.type == DP_MSG_HELLO) {
		on_hello(p, p->fds[shard], src, &h);
		return;
	}
	if (h.type != DP_MSG_GRAD) {
		p->bad++;
		return;
	}
	p->grads++;
	copy = is_copy(p, &h);
	if (!copy)
		p->firsts++;
	if (p->n_recs < TPEER_RECORDS_MAX) {
		struct tpeer_rec *r = &p->recs[p->n_recs++];

		r->h = h;
		r->port = (uint16_t)(p->job.udp_port_base + shard);
		r->len = len;
		r->retransmission = copy;
		r->ranks = (h.flags & DP_PROTO_FLAG_RANKS) != 0;
		if (r->ranks) {
			size_t end = dp_proto_payload_off(&h) + (size_t)h.count *
							       dp_proto_dtype_size(h.dtype);
			const uint8_t *t = buf + end;

			dp_proto_ranks_read(t, &r->ranks_nw, &r->ranks_n_in);
			r->ranks_after_elems = end + dp_proto_ranks_size(r->ranks_nw) == len;
			r->ranks_zero = true;
			for (size_t i = 0; i < ((size_t)r->ranks_nw + 7) / 8; i++)
				r->ranks_zero = r->ranks_zero && t[DP_PROTO_RANKS_HDR + i] == 0;
		}
		r->tag_ok = p->key != NULL && (h.flags & DP_PROTO_FLAG_AUTH) &&
			    dp_auth_check(p->key, p->salt, buf, buf + DP_PROTO_HDR_SIZE,
					  buf + dp_proto_payload_off(&h), len - dp_proto_payload_off(&h));
		/* Exact while every first copy is answered once (no drops). */
		r->in_flight = p->firsts > p->results_sent ? p->firsts - p->results_sent : 0;
	}
	if (p->silent_grads || (p->silent_from && h.offset >= p->silent_offset)) {
		if (p->hold && !atomic_load_explicit(&p->held, memory_order_relaxed) &&
		    len <= sizeof(p->held_buf)) {
			memcpy(p->held_buf, buf, len);
			p->held_len = len;
			p->held_h = h;
			p->held_from = *src;
			p->held_fd = p->fds[shard];
			atomic_store_explicit(&p->held, true, memory_order_release);
		}
		return;
	}
	if (p->close_enabled && h.round == p->close_round) {
		if (p->close_other_first)
			send_closed(p, p->fds[shard], src, &h, len, h.round + 7);
		send_closed(p, p->fds[shard], src, &h, len, h.round);
		p->closed_sent++;
		return;
	}
	if (p->waiting_grads) {
		/* The gateway's answer to a counted chunk whose slot waits: a
		 * 20-byte WAITING, rank 0 missing. */
		struct dp_proto_join_wait w = { .n_workers = p->job.n_workers, .n_joined = 1,
						.missing = { 0 } };
		struct dp_proto_hdr r = h;
		uint8_t out[DP_PROTO_HDR_SIZE + sizeof(w)];

		for (unsigned i = 1; i < DP_PROTO_WAIT_LIST; i++)
			w.missing[i] = DP_PROTO_RANK_NONE;
		r.type = DP_MSG_WAITING;
		r.count = 0;
		dp_proto_hdr_write(out, &r);
		dp_proto_join_wait_write(out + DP_PROTO_HDR_SIZE, &w);
		(void)sendto(p->fds[shard], out, sizeof(out), 0, (const struct sockaddr *)src,
			     sizeof(*src));
		return;
	}
	if ((p->drop_enabled && !copy && h.offset == p->drop_first_offset) || lose(p)) {
		p->dropped++;
		return;
	}
	if (lose(p)) {
		p->results_lost++;
		p->results_sent++;
		return;
	}
	if (p->result_delay_ms != 0) {
		struct timespec ts = { p->result_delay_ms / 1000,
				       (long)(p->result_delay_ms % 1000) * 1000000 };

		nanosleep(&ts, NULL);
	}
	send_result(p, p->fds[shard], src, buf, len, &h, b);
}

static void *
peer_main(void *arg)
{
	struct tpeer *p = arg;
	unsigned n = p->job.n_shards, i;
	struct pollfd pfd[TPEER_SHARDS_MAX];
	uint8_t (*bufs)[BUF_SIZE] = calloc(BATCH, BUF_SIZE);
	struct out_batch *b = calloc(1, sizeof(*b));

	if (b == NULL || bufs == NULL) {
		free(b);
		free(bufs);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		pfd[i].fd = p->fds[i];
		pfd[i].events = POLLIN;
	}
	while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
		if (poll(pfd, n, 10) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			struct mmsghdr mm[BATCH];
			struct iovec iov[BATCH];
			struct sockaddr_in src[BATCH];
			int r, k;

			if (!(pfd[i].revents & POLLIN))
				continue;
			memset(mm, 0, sizeof(mm));
			for (k = 0; k < BATCH; k++) {
				iov[k].iov_base = bufs[k];
				iov[k].iov_len = BUF_SIZE;
				mm[k].msg_hdr.msg_iov = &iov[k];
				mm[k].msg_hdr.msg_iovlen = 1;
				mm[k].msg_hdr.msg_name = &src[k];
				mm[k].msg_hdr.msg_namelen = sizeof(src[k]);
			}
			r = recvmmsg(p->fds[i], mm, BATCH, MSG_DONTWAIT, NULL);
			for (k = 0; k < r; k++)
				on_datagram(p, i, bufs[k], mm[k].msg_len, &src[k], b);
			batch_flush(p, p->fds[i], b);
		}
	}
	free(b);
	free(bufs);
	return NULL;
}

int
tpeer_start(struct tpeer *p)
{
	uint16_t base;
	int rc;

	if (p->job.n_shards == 0 || p->job.n_shards > TPEER_SHARDS_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < TPEER_SHARDS_MAX; i++)
		p->fds[i] = -1;
	rc = tpeer_udp_range(p->fds, p->job.n_shards, &base);
	if (rc < 0)
		return rc;
	p->job.udp_port_base = base;
	atomic_store(&p->stop, false);
	rc = pthread_create(&p->thread, NULL, peer_main, p);
	if (rc != 0) {
		for (unsigned i = 0; i < p->job.n_shards; i++)
			close(p->fds[i]);
		return -rc;
	}
	return 0;
}

int
tpeer_release(struct tpeer *p)
{
	if (!atomic_load_explicit(&p->held, memory_order_acquire))
		return -EAGAIN;
	send_result(p, p->held_fd, &p->held_from, p->held_buf, p->held_len, &p->held_h, NULL);
	return 0;
}

void
tpeer_stop(struct tpeer *p)
{
	atomic_store(&p->stop, true);
	pthread_join(p->thread, NULL);
	for (unsigned i = 0; i < p->job.n_shards; i++)
		close(p->fds[i]);
}
