/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitn-infer stage: receive activations, apply the stage transform, answer
 * with the next stage's activation to the address the message came from (the
 * gateway's shard port, so the session stays on its lcore). With --gateway
 * and --beat it also tells the gateway, from its own port, that it is alive:
 * the gateway marks a stage node down when it stays silent past the policy's
 * node timeout, and learns its MAC from these messages.
 *
 * Batched with recvmmsg/sendmmsg; a reply that the socket refuses (buffer
 * full) is counted, not retried: the requester's timeout covers it.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dp_proto.h"
#include "infer_priv.h"

#define BUF_SIZE (DP_INFER_HDR_SIZE + DP_INFER_PAYLOAD_MAX + 64)

struct stage_stats {
	uint64_t received;
	uint64_t forwarded;
	uint64_t send_failed;
	uint64_t wrong_model;
	uint64_t wrong_type;
	uint64_t bad_stage;     /* stage 255: no next stage number */
	uint64_t bad_payload;   /* not a whole number of float32 */
	uint64_t beats;         /* BEATs sent */
	uint64_t auth_failed;   /* without the model's tag (or with one, unkeyed) */
	uint64_t drops[DP_PROTO_CHECKS];
};

static uint8_t bufs[INFER_BATCH][BUF_SIZE];

/* Check and transform one message in place; true if it is to be answered. */
static bool
stage_one(const struct infer_stage_opts *o, struct stage_stats *st, uint8_t *buf, size_t len)
{
	struct dp_infer_hdr h;
	enum dp_proto_check d;
	size_t off;

	st->received++;
	d = dp_proto_infer_check(buf, len, &h);
	if (d != DP_PROTO_CHECK_OK) {
		st->drops[d]++;
		return false;
	}
	if (!infer_auth_ok(buf, len, &h, o->key)) {
		st->auth_failed++;
		return false;
	}
	if (h.type != DP_MSG_INFER_ACT) {
		st->wrong_type++;
		return false;
	}
	if (o->model >= 0 && h.model != o->model) {
		st->wrong_model++;
		return false;
	}
	if (h.stage == 255) {
		st->bad_stage++;
		return false;
	}
	off = dp_proto_infer_payload_off(&h);
	if ((len - off) % 4 != 0) {
		st->bad_payload++;
		return false;
	}
	infer_transform(buf + off, (len - off) / 4, h.stage);
	h.stage++;
	dp_proto_infer_write(buf, &h);
	if (o->key != NULL)
		infer_sign(buf, o->key, len - off);
	return true;
}

static void
stage_delay(uint32_t us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !infer_stopping())
		;
}

static void
stage_beat(const struct infer_stage_opts *o, int fd, struct stage_stats *st)
{
	struct dp_infer_hdr h = { .magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION,
		.type = DP_MSG_INFER_BEAT, .n_frags = 1 };
	uint8_t buf[DP_INFER_HDR_SIZE + 8];
	unsigned i;

	/* A keyed model's BEAT carries the time, so that a recorded one is
	 * worthless later (the gateway takes only fresh ones, each newer than
	 * the node's last: one ms apart for the replicas of one node). */
	uint32_t t = infer_realtime_ms();

	for (i = 0; i < o->n_beats; i++) {
		h.session = t + i;
		h.model = o->beat_model[i];
		h.stage = o->beat_stage[i];
		dp_proto_infer_write(buf, &h);
		if (o->key != NULL)
			infer_sign(buf, o->key, 0);
		if (sendto(fd, buf, o->key != NULL ? sizeof(buf) : DP_INFER_HDR_SIZE, 0,
			   (const struct sockaddr *)&o->gateway, sizeof(o->gateway)) < 0)
			st->send_failed++;
		else
			st->beats++;
	}
}

static void
stage_report(const struct infer_stage_opts *o, const struct stage_stats *st)
{
	uint64_t malformed = 0;
	unsigned i;

	for (i = 0; i < DP_PROTO_CHECKS; i++)
		malformed += st->drops[i];
	printf("stage port=%u received=%llu forwarded=%llu send_failed=%llu malformed=%llu "
	       "wrong_type=%llu wrong_model=%llu bad_stage=%llu bad_payload=%llu beats=%llu "
	       "auth_failed=%llu\n",
	       ntohs(o->bind.sin_port), (unsigned long long)st->received,
	       (unsigned long long)st->forwarded, (unsigned long long)st->send_failed,
	       (unsigned long long)malformed, (unsigned long long)st->wrong_type,
	       (unsigned long long)st->wrong_model, (unsigned long long)st->bad_stage,
	       (unsigned long long)st->bad_payload, (unsigned long long)st->beats,
	       (unsigned long long)st->auth_failed);
	for (i = 0; i < DP_PROTO_CHECKS; i++)
		if (st->drops[i] != 0)
			printf("stage malformed %s=%llu\n", dp_proto_check_name((enum dp_proto_check)i),
			       (unsigned long long)st->drops[i]);
	fflush(stdout);
}

int
infer_stage_run(const struct infer_stage_opts *o)
{
	struct sockaddr_in from[INFER_BATCH];
	struct mmsghdr rx[INFER_BATCH], tx[INFER_BATCH];
	struct iovec rx_iov[INFER_BATCH], tx_iov[INFER_BATCH];
	struct stage_stats st;
	uint64_t end = o->duration_ns ? infer_now_ns() + o->duration_ns : 0;
	uint64_t beat_ns = (uint64_t)o->beat_ms * 1000000ull, next_beat = 0, now;
	unsigned i;
	int fd;

	memset(&st, 0, sizeof(st));
	fd = infer_socket(&o->bind);
	if (fd < 0)
		return 3;
	infer_signals();
	if (!o->quiet) {
		printf("stage listening on port %u\n", ntohs(o->bind.sin_port));
		fflush(stdout);
	}
	while (!infer_stopping() && (end == 0 || (now = infer_now_ns()) < end)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n, wait_ms = 100;
		unsigned n_tx = 0;

		if (o->have_gateway && o->n_beats != 0) {
			now = infer_now_ns();
			if (now >= next_beat) {
				stage_beat(o, fd, &st);
				next_beat = now + beat_ns;
			}
			wait_ms = (int)((next_beat - now) / 1000000) + 1;
			wait_ms = wait_ms > 100 ? 100 : wait_ms;
		}
		if (poll(&pfd, 1, wait_ms) <= 0)
			continue;
		memset(rx, 0, sizeof(rx));
		for (i = 0; i < INFER_BATCH; i++) {
			rx_iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = BUF_SIZE };
			rx[i].msg_hdr.msg_iov = &rx_iov[i];
			rx[i].msg_hdr.msg_iovlen = 1;
			rx[i].msg_hdr.msg_name = &from[i];
			rx[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		n = recvmmsg(fd, rx, INFER_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			continue;
		for (i = 0; i < (unsigned)n; i++) {
			if (!stage_one(o, &st, bufs[i], rx[i].msg_len))
				continue;
			if (o->delay_us)
				stage_delay(o->delay_us);
			tx_iov[n_tx] = (struct iovec){ .iov_base = bufs[i], .iov_len = rx[i].msg_len };
			memset(&tx[n_tx], 0, sizeof(tx[n_tx]));
			tx[n_tx].msg_hdr.msg_iov = &tx_iov[n_tx];
			tx[n_tx].msg_hdr.msg_iovlen = 1;
			tx[n_tx].msg_hdr.msg_name = &from[i];
			tx[n_tx].msg_hdr.msg_namelen = sizeof(from[i]);
			n_tx++;
		}
		if (n_tx != 0) {
			int sent = sendmmsg(fd, tx, n_tx, 0);

			sent = sent < 0 ? 0 : sent;
			st.forwarded += (unsigned)sent;
			st.send_failed += n_tx - (unsigned)sent;
		}
	}
	close(fd);
	stage_report(o, &st);
	return 0;
}
