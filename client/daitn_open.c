/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Joining a job: validate the configuration, bind the socket, HELLO until
 * HELLO_ACK (or ERROR, or the deadline), then size the data path from the
 * job's parameters.
 *
 * HELLO is resent at 50 ms, doubling up to 400 ms, until hello_timeout_ms:
 * a lost HELLO costs little and a gateway that is still starting is found
 * quickly. A run starts only when every rank has joined (docs/protocol.md,
 * section 6): until then the gateway answers HELLO_WAIT, and the HELLO is
 * resent every 50 ms (the answer that completes the run is the ACK of the
 * next HELLO) until join_timeout_ms; a worker that gives up sends LEAVE.
 * Only datagrams from the gateway's address addressed to our job and rank
 * count; anything else is ignored. An ICMP error (nothing listens on the
 * gateway's port, host unreachable) ends the wait at once so that a caller
 * with a fallback (the Python binding) does not wait for the full timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <time.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include "daitn_priv.h"

#define HELLO_TIMEOUT_DEFAULT_MS 2000u
#define JOIN_TIMEOUT_DEFAULT_MS 60000u
#define JOIN_RESEND_MS 50u
#define TIMEOUT_DEFAULT_MS 5000u
#define PEER_TIMEOUT_DEFAULT_MS 1800000u   /* 30 min, as gloo */
#define RTO_DEFAULT_US 10000u  /* docs/protocol.md, section 5: why not 2 ms */
#define HELLO_RESEND_FIRST_MS 50u
#define HELLO_RESEND_MAX_MS 400u
#define TIMEOUT_MAX_MS (24u * 3600u * 1000u)

static int
config_check(const struct daitn_config *cfg, struct sockaddr_in *gw, struct sockaddr_in *local)
{
	memset(gw, 0, sizeof(*gw));
	memset(local, 0, sizeof(*local));
	if (cfg == NULL)
		return daitn_err(NULL, -EINVAL, "daitn_open: config is NULL");
	if (cfg->gateway == NULL)
		return daitn_err(NULL, -EINVAL, "daitn_open: gateway is NULL; set it to the gateway's IPv4 address");
	gw->sin_family = AF_INET;
	if (inet_pton(AF_INET, cfg->gateway, &gw->sin_addr) != 1)
		return daitn_err(NULL, -EINVAL, "daitn_open: gateway: not an IPv4 address (\"%.64s\")",
				 cfg->gateway);
	if (gw->sin_addr.s_addr == htonl(INADDR_ANY) ||
	    gw->sin_addr.s_addr == htonl(INADDR_BROADCAST) ||
	    IN_MULTICAST(ntohl(gw->sin_addr.s_addr)))
		return daitn_err(NULL, -EINVAL,
				 "daitn_open: gateway: %s is not a unicast address", cfg->gateway);
	gw->sin_port = htons(cfg->gateway_port != 0 ? cfg->gateway_port
						     : (uint16_t)DP_PROTO_UDP_PORT_DEFAULT);
	local->sin_family = AF_INET;
	local->sin_addr.s_addr = htonl(INADDR_ANY);
	if (cfg->bind_addr != NULL && inet_pton(AF_INET, cfg->bind_addr, &local->sin_addr) != 1)
		return daitn_err(NULL, -EINVAL, "daitn_open: bind_addr: not an IPv4 address (\"%.64s\")",
				 cfg->bind_addr);
	if (cfg->bind_port == 0)
		return daitn_err(NULL, -EINVAL,
				 "daitn_open: bind_port is 0; set it to this rank's port in the job policy");
	local->sin_port = htons(cfg->bind_port);
	if (cfg->rank >= DP_PROTO_WORKERS_MAX)
		return daitn_err(NULL, -EINVAL, "daitn_open: rank %u is beyond the protocol's %u workers",
				 cfg->rank, DP_PROTO_WORKERS_MAX);
	if (cfg->hello_timeout_ms > TIMEOUT_MAX_MS || cfg->timeout_ms > TIMEOUT_MAX_MS ||
	    cfg->join_timeout_ms > TIMEOUT_MAX_MS)
		return daitn_err(NULL, -EINVAL, "daitn_open: timeouts are limited to %u ms", TIMEOUT_MAX_MS);
	if (cfg->rto_us > 10u * 1000u * 1000u)
		return daitn_err(NULL, -EINVAL, "daitn_open: rto_us %u is over 10 s; use 0 for the default",
				 cfg->rto_us);
	if (cfg->window > DP_PROTO_SLOTS_MAX)
		return daitn_err(NULL, -EINVAL, "daitn_open: window %u is over %u slots; use 0 for the job's slots",
				 cfg->window, DP_PROTO_SLOTS_MAX);
	return 0;
}

static int
socket_open(const struct sockaddr_in *local, const char *bind_name)
{
	int fd, one = 1, pmtu = IP_PMTUDISC_DO;
	char addr[INET_ADDRSTRLEN];

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return daitn_err(NULL, -errno, "daitn_open: socket: %s", strerror(errno));
	/* ICMP errors (port unreachable) come back through the socket, and a
	 * chunk too large for the path fails with EMSGSIZE instead of being
	 * fragmented (the gateway drops fragments). */
	(void)setsockopt(fd, SOL_IP, IP_RECVERR, &one, sizeof(one));
	(void)setsockopt(fd, SOL_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
	if (bind(fd, (const struct sockaddr *)local, sizeof(*local)) != 0) {
		int e = errno;

		inet_ntop(AF_INET, &local->sin_addr, addr, sizeof(addr));
		close(fd);
		return daitn_err(NULL, -e, "daitn_open: bind %s:%u: %s%s", bind_name ? bind_name : addr,
				 ntohs(local->sin_port), strerror(e),
				 e == EADDRINUSE ? " (another worker uses this port?)" : "");
	}
	return fd;
}

/* What one received datagram meant for the HELLO exchange. */
struct hello_state {
	const struct sockaddr_in *gw;
	uint16_t job, rank;
	uint32_t nonce;             /* the HELLO's round, echoed in the answer */
	unsigned unmatched;         /* answers with another round (older HELLOs) */
	int result;                 /* 0: keep waiting; 1: acked; <0: error */
	bool joining;               /* a HELLO_WAIT came: the run waits for ranks */
	struct dp_proto_join_wait wait; /* the last one */
	struct daitn_job_info info;
	uint16_t port_base;
	const struct dp_auth_key *key;  /* the job's, or NULL */
	uint64_t salt;              /* from an authenticated HELLO_ACK */
	bool header_only;           /* its GRAD and RESULT tags cover headers only */
	unsigned unauthentic;       /* answers without a valid tag (or with one, unkeyed) */
	char unauth_text[64];       /* what the last untagged ERROR said */
	char err[DAITN_ERR_SIZE];
};

static void
hello_rx(struct hello_state *st, const uint8_t *data, uint32_t len, const struct sockaddr_in *src)
{
	char text[64], gwname[INET_ADDRSTRLEN];
	struct dp_proto_hdr h;
	uint16_t code;
	uint32_t round = 0;
	int type;

	if (st->result != 0 || src->sin_addr.s_addr != st->gw->sin_addr.s_addr)
		return;
	type = daitn_msg_ctrl_parse(data, len, st->job, st->rank, &round);
	if (type != 0 && round != st->nonce) {
		/* An answer to another process's HELLO from this port. */
		st->unmatched++;
		return;
	}
	if (type == 0)
		return;
	dp_proto_hdr_check(data, len, &h);
	if (!daitn_msg_auth_ok(st->key, 0, data, len, &h)) {
		/* Anyone may send an untagged ERROR: not believed, but its
		 * text may explain a timeout. */
		st->unauthentic++;
		if (type == DP_MSG_ERROR && !(h.flags & DP_PROTO_FLAG_AUTH)) {
			daitn_msg_error_decode(data, len, &code, text, sizeof(text));
			snprintf(st->unauth_text, sizeof(st->unauth_text), "%s", text);
		}
		return;
	}
	inet_ntop(AF_INET, &st->gw->sin_addr, gwname, sizeof(gwname));
	if (type == DP_MSG_HELLO_WAIT) {
		dp_proto_join_wait_read(data + dp_proto_payload_off(&h), &st->wait);
		st->joining = true;
	} else if (type == DP_MSG_HELLO_ACK) {
		char why[160];
		int rc = daitn_msg_ack_decode(data, len, st->rank, &st->info, &st->port_base,
					      why, sizeof(why));

		if (rc == 0 && st->key != NULL &&
		    len != DAITN_HDR_MAX + sizeof(struct dp_proto_job_info) + DP_PROTO_SALT_SIZE) {
			snprintf(why, sizeof(why), "an authenticated HELLO_ACK without the run's salt");
			rc = -EPROTO;
		}
		if (rc < 0) {
			snprintf(st->err, sizeof(st->err), "daitn_open: gateway %s: %s", gwname, why);
			st->result = rc;
		} else {
			if (st->key != NULL)
				daitn_msg_ack_auth(data, &st->salt, &st->header_only);
			st->result = 1;
		}
	} else if (type == DP_MSG_ERROR) {
		daitn_msg_error_decode(data, len, &code, text, sizeof(text));
		snprintf(st->err, sizeof(st->err),
			 "daitn_open: gateway %s:%u refused job %u rank %u: %s (code %u): %s",
			 gwname, ntohs(st->gw->sin_port), st->job, st->rank,
			 daitn_msg_err_name(code), code, text[0] ? text : "(no text)");
		st->result = -ECONNREFUSED;
	}
}

/* "3, 5, 6" from a HELLO_WAIT's list of missing ranks ("..." when cut). */
static void
missing_format(const struct dp_proto_join_wait *w, char *buf, size_t size)
{
	size_t n = 0;
	unsigned listed = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < DP_PROTO_WAIT_LIST && w->missing[i] != DP_PROTO_RANK_NONE; i++) {
		n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%u", i ? ", " : "",
				      w->missing[i]);
		listed++;
	}
	if (listed < (unsigned)(w->n_workers - w->n_joined) && n < size)
		snprintf(buf + n, size - n, ", ...");
}

/* A HELLO or LEAVE of this open (its nonce in round) into msg; with a key
 * tagged, and its offset field the wall clock (ms, low 32 bits): a keyed
 * job's gateway takes it only within 30 s of its own clock, so each resend
 * is built anew. */
static void
hello_build(uint8_t *msg, uint8_t type, const struct daitn_config *cfg,
	    const struct hello_state *st)
{
	uint32_t t = 0;

	if (st->key != NULL) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		t = (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
	}
	daitn_msg_hdr(msg, type, cfg->job, cfg->rank, 0, 0, 0, t, st->nonce);
	if (st->key != NULL)
		daitn_msg_sign(msg, st->key, 0, DP_PROTO_HELLO_PAD);
}

static int
hello_exchange(int fd, const struct sockaddr_in *gw, const struct daitn_config *cfg,
	       uint32_t timeout_ms, uint32_t join_ms, struct hello_state *st)
{
	/* Header, [tag,] zero padding (no answer is larger than a HELLO). */
	uint8_t hello[DAITN_HDR_MAX + DP_PROTO_HELLO_PAD] = { 0 }, buf[512];
	size_t hello_len = (st->key != NULL ? DAITN_HDR_MAX : DP_PROTO_HDR_SIZE) + DP_PROTO_HELLO_PAD;
	uint64_t start = daitn_now_ns(), deadline = start + (uint64_t)timeout_ms * 1000000u;
	bool was_joining = false;
	char missing[64];
	uint64_t next_send = start, gap_ms = HELLO_RESEND_FIRST_MS;
	unsigned sent = 0;
	char gwname[INET_ADDRSTRLEN];
	struct daitn_io io = { .fd = fd, .wake_fd = -1 };

	inet_ntop(AF_INET, &gw->sin_addr, gwname, sizeof(gwname));
	/* HELLO has no payload; its dtype is 0 (the worker learns the type) and
	 * its round a nonce the gateway echoes, so that only answers to this
	 * open count. */
	for (;;) {
		uint64_t now = daitn_now_ns(), until;
		int r;

		if (now >= deadline)
			break;
		if (now >= next_send) {
			hello_build(hello, DP_MSG_HELLO, cfg, st);
			if (sendto(fd, hello, hello_len, 0, (const struct sockaddr *)gw,
				   sizeof(*gw)) < 0 && errno != ENOBUFS && errno != EAGAIN) {
				int e = errno;

				if (e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH)
					return daitn_err(NULL, -e, "daitn_open: gateway %s:%u unreachable: "
							 "%s (is the gateway running?)", gwname,
							 ntohs(gw->sin_port), strerror(e));
				return daitn_err(NULL, -e, "daitn_open: HELLO to %s:%u: %s", gwname,
						 ntohs(gw->sin_port), strerror(e));
			}
			sent++;
			next_send = now + gap_ms * 1000000u;
			gap_ms = st->joining ? JOIN_RESEND_MS
				 : gap_ms * 2 > HELLO_RESEND_MAX_MS ? HELLO_RESEND_MAX_MS : gap_ms * 2;
		}
		until = next_send < deadline ? next_send : deadline;
		r = daitn_io_wait(&io, until > now ? until - now : 0);
		if (r < 0)
			return daitn_err(NULL, r, "daitn_open: gateway %s:%u unreachable: %s "
					 "(is the gateway running?)", gwname, ntohs(gw->sin_port),
					 strerror(-r));
		while (r > 0) {
			struct sockaddr_in src;
			socklen_t sl = sizeof(src);
			ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
					     (struct sockaddr *)&src, &sl);

			if (n < 0)
				break;
			hello_rx(st, buf, (uint32_t)n, &src);
			if (st->result == 1)
				return 0;
			if (st->result < 0)
				return daitn_err(NULL, st->result, "%s", st->err);
		}
		if (st->joining && !was_joining) {
			/* The gateway is there and holds our place: wait for the
			 * other ranks, asking often enough to start soon after
			 * the last one joins. */
			was_joining = true;
			deadline = start + (uint64_t)join_ms * 1000000u;
			gap_ms = JOIN_RESEND_MS;
			next_send = daitn_now_ns() + gap_ms * 1000000u;
		}
	}
	if (st->joining) {
		/* Tell the gateway to stop counting us: a run must not start
		 * with a process that is gone (best effort; it also forgets
		 * ranks that stop asking). */
		hello_build(hello, DP_MSG_LEAVE, cfg, st);
		(void)sendto(fd, hello, hello_len, 0, (const struct sockaddr *)gw, sizeof(*gw));
		missing_format(&st->wait, missing, sizeof(missing));
		/* Every rank is in and the run does not start: the gateway is
		 * a leaf of an aggregation tree whose parent has not let it in. */
		if (st->wait.n_joined == st->wait.n_workers && st->wait.n_workers != 0)
			return daitn_err(NULL, -ETIMEDOUT,
					 "daitn_open: job %u rank %u: all %u ranks joined, and in %u "
					 "ms the gateway's parent gateway did not start the run: a "
					 "gateway or worker elsewhere in the job's aggregation tree "
					 "is missing, or the parent refused this gateway (see its "
					 "/daitn/job telemetry, \"tree\")", cfg->job, cfg->rank,
					 st->wait.n_workers, join_ms);
		return daitn_err(NULL, -ETIMEDOUT,
				 "daitn_open: job %u rank %u: %u of %u ranks joined in %u ms; still "
				 "waiting for rank(s) %s (are all %u workers running?)",
				 cfg->job, cfg->rank, st->wait.n_joined, st->wait.n_workers, join_ms,
				 missing, st->wait.n_workers);
	}
	if (st->unauthentic != 0)
		return daitn_err(NULL, -ETIMEDOUT,
				 "daitn_open: no authentic answer from gateway %s:%u to %u HELLOs "
				 "for job %u rank %u in %u ms: %u answers %s were ignored%s%s (does "
				 "the job have a key_file in the policy, and is it this key?)",
				 gwname, ntohs(gw->sin_port), sent, cfg->job, cfg->rank, timeout_ms,
				 st->unauthentic, st->key != NULL ? "without a valid tag"
				 : "with a tag (this worker has no key_file)",
				 st->unauth_text[0] ? "; an unauthenticated one said: " : "",
				 st->unauth_text);
	return daitn_err(NULL, -ETIMEDOUT,
			 "daitn_open: no answer from gateway %s:%u to %u HELLOs for job %u rank %u "
			 "in %u ms%s (is the gateway running and the job in its policy%s?)",
			 gwname, ntohs(gw->sin_port), sent, cfg->job, cfg->rank, timeout_ms,
			 st->unmatched != 0 ? "; answers without the HELLO's round were ignored" : "",
			 st->key != NULL ? ", with this key" : "");
}

int
daitn_open(const struct daitn_config *cfg, struct daitn **out)
{
	struct sockaddr_in gw, local, data_gw;
	struct hello_state st;
	struct dp_auth_key key;
	struct daitn *d;
	uint32_t hello_ms, join_ms;
	int fd, rc;

	daitn_err_clear(NULL);
	if (out == NULL)
		return daitn_err(NULL, -EINVAL, "daitn_open: out is NULL");
	*out = NULL;
	rc = config_check(cfg, &gw, &local);
	if (rc < 0)
		return rc;
	fd = socket_open(&local, cfg->bind_addr);
	if (fd < 0)
		return fd;

	memset(&st, 0, sizeof(st));
	if (cfg->key_file != NULL) {
		uint8_t kb[DP_AUTH_KEY_SIZE];
		char why[DAITN_ERR_SIZE - 32];

		rc = dp_auth_key_file_read(cfg->key_file, kb, why, sizeof(why));
		if (rc < 0) {
			daitn_err(NULL, rc, "daitn_open: %s", why);
			goto close_fd;
		}
		dp_auth_key_set(&key, kb, DP_AUTH_COVER_PAYLOAD);
		memset(kb, 0, sizeof(kb));
		st.key = &key;
	}
	st.gw = &gw;
	st.job = cfg->job;
	st.rank = cfg->rank;
	if (getrandom(&st.nonce, sizeof(st.nonce), 0) != sizeof(st.nonce))
		st.nonce = (uint32_t)(daitn_now_ns() ^ (uint64_t)getpid() << 16);
	hello_ms = cfg->hello_timeout_ms != 0 ? cfg->hello_timeout_ms : HELLO_TIMEOUT_DEFAULT_MS;
	join_ms = cfg->join_timeout_ms != 0 ? cfg->join_timeout_ms : JOIN_TIMEOUT_DEFAULT_MS;
	rc = hello_exchange(fd, &gw, cfg, hello_ms, join_ms > hello_ms ? join_ms : hello_ms, &st);
	if (rc < 0)
		goto close_fd;

	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		rc = daitn_err(NULL, -ENOMEM, "daitn_open: out of memory");
		goto close_fd;
	}
	d->job = st.info;
	d->job_id = cfg->job;
	d->rank = cfg->rank;
	d->round = st.info.round_base;
	d->timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : TIMEOUT_DEFAULT_MS;
	d->peer_timeout_ms = cfg->peer_timeout_ms != 0 ? cfg->peer_timeout_ms
						       : PEER_TIMEOUT_DEFAULT_MS;
	d->rto_us = cfg->rto_us != 0 ? cfg->rto_us : RTO_DEFAULT_US;
	d->window = cfg->window != 0 && cfg->window < st.info.n_slots ? cfg->window
								      : st.info.n_slots;
	d->cwnd = DAITN_CWND_INIT < (double)d->window ? DAITN_CWND_INIT : (double)d->window;
	d->ssthresh = (double)d->window;
	d->slots = calloc(st.info.n_slots, sizeof(*d->slots));
	if (d->slots == NULL) {
		rc = daitn_err(NULL, -ENOMEM, "daitn_open: out of memory for %u slots",
			       st.info.n_slots);
		goto free_handle;
	}
	d->gone = calloc(((size_t)st.info.n_workers + 63) / 64, sizeof(*d->gone));
	if (d->gone == NULL) {
		rc = daitn_err(NULL, -ENOMEM, "daitn_open: out of memory");
		goto free_slots;
	}
	if (st.info.partial) {
		d->partial = true;
		d->ranks_size = (uint16_t)dp_proto_ranks_size(st.info.n_workers);
		dp_proto_ranks_write(d->grad_trailer, st.info.n_workers, 0, NULL);
	}
	data_gw = gw;
	data_gw.sin_port = htons(st.port_base);
	/* A full datagram, GRAD or RESULT: header [tag], chunk [trailer]. */
	rc = daitn_io_init(&d->io, fd, &data_gw, st.port_base, st.info.n_shards,
			   (st.key != NULL ? DAITN_HDR_MAX : DP_PROTO_HDR_SIZE) + st.info.chunk_size +
			   d->ranks_size);
	if (rc < 0) {
		daitn_err(NULL, rc, "daitn_open: out of memory for socket buffers");
		goto free_gone;
	}
	d->io.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->io.wake_fd < 0) {
		rc = daitn_err(NULL, -errno, "daitn_open: eventfd: %s", strerror(errno));
		goto fini_io;
	}
	if (st.key != NULL) {
		d->keyed = true;
		d->key = key;
		d->key.cover = st.header_only ? DP_AUTH_COVER_HEADER : DP_AUTH_COVER_PAYLOAD;
		d->salt = st.salt;
		d->io.hdr_size = DAITN_HDR_MAX;
	}
	/* The trailer goes out as a third iovec, unless the tag hashes it with
	 * the elements (one contiguous run): then GRADs are staged. */
	d->staged = d->partial && d->keyed && d->key.cover == DP_AUTH_COVER_PAYLOAD;
	if (d->partial && !d->staged)
		daitn_io_trailer_set(&d->io, d->grad_trailer, d->ranks_size);
	memset(&key, 0, sizeof(key));
	*out = d;
	return 0;

fini_io:
	daitn_io_fini(&d->io);
free_gone:
	free(d->gone);
free_slots:
	free(d->slots);
free_handle:
	free(d);
close_fd:
	close(fd);
	return rc;
}

void
daitn_close(struct daitn *d)
{
	if (d == NULL)
		return;
	if (d->io.fd >= 0)
		close(d->io.fd);
	if (d->io.wake_fd >= 0)
		close(d->io.wake_fd);
	daitn_io_fini(&d->io);
	free(d->slots);
	free(d->gone);
	free(d->scratch);
	free(d->stage);
	free(d->ranks);
	free(d->done_map);
	free(d);
}

const struct daitn_job_info *
daitn_job(const struct daitn *d)
{
	return d != NULL ? &d->job : NULL;
}

void
daitn_stats_get(const struct daitn *d, struct daitn_stats *out)
{
	if (out == NULL)
		return;
	if (d == NULL) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = d->stats;
	out->send_calls = d->io.send_calls;
	out->recv_calls = d->io.recv_calls;
}

void
daitn_stats_ext_get(const struct daitn *d, struct daitn_stats_ext *out)
{
	if (out == NULL)
		return;
	memset(out, 0, sizeof(*out));
	if (d == NULL)
		return;
	out->datagrams_sent = d->io.datagrams_sent;
	out->tx_dropped = d->io.tx_dropped;
	out->ignored = d->ignored;
	out->rx_truncated = d->io.rx_truncated;
	out->icmp_errors = d->io.icmp_errors;
	out->gso_fallbacks = d->io.gso_fallbacks;
	out->flags = (d->io.gso ? DAITN_STATS_GSO : 0u) | (d->io.gro ? DAITN_STATS_GRO : 0u);
	out->gso_segs = d->io.gso ? d->io.gso_segs : 1u;
	out->srtt_us = (uint32_t)(d->srtt_ns / 1000u);
	out->cwnd = (uint32_t)d->cwnd;
	out->rto_us = d->rto_us;
	if (d->srtt_ns + 4 * d->rttvar_ns > (uint64_t)d->rto_us * 1000u)
		out->rto_us = (uint32_t)((d->srtt_ns + 4 * d->rttvar_ns) / 1000u);
}
