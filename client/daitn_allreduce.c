/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The allreduce engine: a window of outstanding chunks over the job's slots.
 *
 * Assignment is deterministic so that every worker of the job agrees without
 * talking: chunk k of a call (element offset k * chunk_elems, in increasing
 * order) uses slot k mod n_slots; the round number is the handle's call
 * counter; each slot flips its set bit on every use and keeps it across
 * calls. A slot is reused only after its previous chunk's RESULT arrived,
 * which (as in SwitchML) means every worker has contributed to that use, so
 * every worker has the result of the use before it on the other set and the
 * gateway may recycle that set.
 *
 * Chunks leave in order; chunk k waits for its slot even when the window has
 * room (head-of-line, but it keeps the assignment identical everywhere).
 * RESULTs that match no outstanding (slot, set, round, offset) are stale
 * (late duplicates, answers to retransmissions) and only counted.
 * Each outstanding slot has its own retransmission deadline: rto, doubling
 * per retry up to 64x and never past rto_after()'s ceiling. rto is the
 * configured rto_us or, when larger, the smoothed round-trip time plus four
 * deviations (Jacobson/Karels): a window's RTT includes waiting for the
 * slowest worker, and a fixed 2 ms would resend whole windows needlessly.
 * Samples come from chunks answered without a retransmission (as Karn
 * prescribes) and from chunks whose retransmission drew a WAITING: the
 * gateway held our chunk and waited for slower ranks, so the time to the
 * RESULT is how long a result takes, not a loss (without those, the longest
 * waits never entered the estimate and the timer stayed too short). A
 * counted chunk is no longer retransmitted at rto, only at the ceiling (a
 * lost RESULT still comes back), and its timer is not a loss for the
 * congestion window. Until a call's first RESULT, its chunks also wait for
 * the ranks that have not started the call yet (their skew, tens of ms
 * when a busy host schedules the ranks of a job in turn), so their timer is
 * at least a second estimate, of the time from a call's first send to its
 * first RESULT. A timeout doubles rto for later chunks too until the next
 * sample. The call fails after timeout_ms without any accepted RESULT
 * or WAITING.
 *
 * Congestion: the gateway is software, its receive rings are finite, and N
 * workers that each burst a window of thousands of chunks at the start of a
 * call overflow them; every loss then costs a timeout. So the window in use
 * is also bounded by a congestion window, as TCP's: it starts at
 * DAITN_CWND_INIT, grows by one chunk per RESULT below ssthresh and by
 * 1/cwnd above, and a timeout halves it (at most once per round trip). A
 * timer scan retransmits at most cwnd expired chunks; the rest wait for the
 * next scan. The state is the handle's, so a later call starts where the
 * last one ended.
 *
 * Partial jobs (docs/protocol.md section 5, "Partial rounds"): a use may
 * close before every rank contributed, so a RESULT no longer proves that
 * every rank has the result of the use before it on the other set, and
 * flipping sets per use would let a rank that was left out drift from the
 * others. Instead a call fits the slots (chunk k on slot k, checked before
 * anything is sent) and every chunk of round R uses set R & 1: a rank that
 * skips rounds finds its slots where the others are. Each GRAD carries the
 * ranks trailer (room: n_in 0), each RESULT says in its trailer which ranks
 * it sums; one that does not fit the job is ignored like any malformed
 * answer. A GRAD that comes after its use closed and the set moved on draws
 * ERROR 6 with the job's current round: the call fails with -ESTALE and the
 * handle's round counter jumps there (forward only), so every later call
 * follows the others.
 *
 * Federated averaging (docs/protocol.md section 5, "Federated averaging"):
 * daitn_allreduce_weighted() writes the call's wire form into the scratch,
 * chunk_size / element size - 1 elements a chunk, each times the rank's
 * weight, then the weight, and runs the same engine over it; each chunk of
 * the result is divided by its own total weight (its last element), so a
 * partial job's chunks average exactly the ranks in them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daitn_priv.h"
#include "kn_fixed.h"
#include "kn_sum.h"

#define BACKOFF_MAX_SHIFT 6u /* 64x */
#define RX_DRAIN_MAX 64u     /* full receive batches read before the timers run */

/*
 * Ceiling on any retransmission timer: 8x the configured floor, at least
 * 250 ms, at most a quarter of the call timeout. In-network aggregation
 * makes the round trip of every worker's chunk include the slowest worker's
 * loss recovery, so RTT samples (and then backoff on top of them) feed on
 * each other; without a ceiling, 10% loss grew timers past the call timeout
 * and workers sat idle for seconds while the gateway waited for one GRAD.
 */
#define RTO_CEIL_MIN_NS (250ull * 1000000ull)

struct ar_call {
	struct daitn *d;
	uint8_t *base;              /* the tensor on the wire (user buf or scratch) */
	size_t es;                  /* bytes per wire element */
	uint32_t chunk_elems;
	uint32_t round;
	uint8_t dtype;              /* wire dtype */
	uint64_t count;             /* elements */
	uint64_t n_chunks;
	uint64_t next;              /* next chunk to send */
	uint64_t done;              /* chunks with their RESULT in place */
	uint32_t outstanding;
	uint64_t now;               /* ns, refreshed once per loop */
	uint64_t last_progress;     /* ns of the last accepted RESULT */
	uint64_t last_waiting;      /* ns of the last WAITING: the gateway is alive */
	struct dp_proto_join_wait waiting;  /* what the last WAITING said */
	uint32_t gone_news;         /* d->gone_news as last seen */
	uint64_t gone_since;        /* ns it was seen to change; 0: never */
	uint64_t next_check;        /* ns; no deadline expires before this */
	uint64_t rto_ns;            /* first timeout for new sends (estimator or floor) */
	uint64_t start_rto_ns;      /* ... and its least before the first RESULT */
	uint64_t start_ns;          /* first send */
	int error;                  /* set by the receive handler (ERROR message) */
	uint32_t job_round;         /* ERROR 6: the round the job is at */
	int io_error;               /* first send error inside the handler */
};

static void
chunk_queue(struct ar_call *c, uint32_t slot_idx)
{
	struct daitn *d = c->d;
	struct daitn_slot *s = &d->slots[slot_idx];
	uint8_t hdr[DAITN_HDR_MAX];
	uint16_t slot = (uint16_t)(slot_idx | (s->cur_set ? DP_PROTO_SLOT_SET_BIT : 0u));
	const uint8_t *payload = c->base + (size_t)s->offset * c->es;
	uint32_t size = (uint32_t)(s->count * c->es);
	int rc;

	daitn_msg_hdr(hdr, DP_MSG_GRAD, d->job_id, d->rank, slot, c->dtype, s->count,
		      s->offset, c->round);
	if (d->partial)
		hdr[offsetof(struct dp_proto_hdr, flags)] |= DP_PROTO_FLAG_RANKS;
	if (d->staged) {
		/* The tag covers elements and trailer as one run of bytes. */
		uint8_t *st = d->stage + (size_t)slot_idx * (d->job.chunk_size + d->ranks_size);

		memcpy(st, payload, size);
		memcpy(st + size, d->grad_trailer, d->ranks_size);
		payload = st;
		size += d->ranks_size;
	}
	if (d->keyed) {
		hdr[offsetof(struct dp_proto_hdr, flags)] |= DP_PROTO_FLAG_AUTH;
		dp_auth_tag_write(hdr + DP_PROTO_HDR_SIZE,
				  dp_auth_tag(&d->key, d->salt, hdr, payload, size));
	}
	rc = daitn_io_queue(&d->io, (uint16_t)(slot_idx % d->job.n_shards), hdr, payload, size);
	if (rc < 0 && c->io_error == 0)
		c->io_error = rc;
}

/* The timer for a (re)transmission: rto backed off by shift, capped. */
static uint64_t
rto_after(const struct ar_call *c, unsigned shift)
{
	const struct daitn *d = c->d;
	uint64_t ceil = 8ull * d->rto_us * 1000u, quarter = (uint64_t)d->timeout_ms * 250000u;
	/* Before the call's first RESULT, the ranks' skew too. */
	uint64_t base = c->done == 0 && c->start_rto_ns > c->rto_ns ? c->start_rto_ns : c->rto_ns;

	if (ceil < RTO_CEIL_MIN_NS)
		ceil = RTO_CEIL_MIN_NS;
	if (ceil > quarter)
		ceil = quarter;
	if (shift > BACKOFF_MAX_SHIFT)
		shift = BACKOFF_MAX_SHIFT;
	return (base << shift) < ceil ? base << shift : ceil;
}

/* Send chunks in order while the window has room and the next chunk's slot
 * is free. */
static void
window_fill(struct ar_call *c)
{
	struct daitn *d = c->d;
	/* A partial job's uses close by quorum or deadline, each chunk on
	 * its own slot: all of a call is in flight at once, or a round would
	 * take (chunks / window) deadlines (docs/protocol.md section 5). */
	uint32_t limit = d->partial ? d->window :
			 d->cwnd < (double)d->window ? (uint32_t)d->cwnd : d->window;

	while (c->next < c->n_chunks && c->outstanding < limit) {
		uint32_t idx = (uint32_t)(c->next % d->job.n_slots);
		struct daitn_slot *s = &d->slots[idx];
		uint64_t off = c->next * c->chunk_elems;

		if (s->busy)
			break;
		s->busy = true;
		if (d->partial) {
			s->cur_set = c->round & 1u;
		} else {
			s->cur_set = s->set;
			s->set ^= 1u;
		}
		s->tries = 0;
		s->counted = false;
		s->offset = (uint32_t)off;
		s->count = (uint16_t)(c->count - off < c->chunk_elems ? c->count - off
								    : c->chunk_elems);
		s->sent_ns = c->now;
		s->deadline_ns = c->now + rto_after(c, d->backoff);
		if (s->deadline_ns < c->next_check)
			c->next_check = s->deadline_ns;
		chunk_queue(c, idx);
		d->stats.chunks_sent++;
		c->outstanding++;
		c->next++;
	}
}

/* One sample into RFC 6298's smoothed estimator (srtt, rttvar), in ns. */
static void
estimate(uint64_t *srtt, uint64_t *rttvar, uint64_t rtt)
{
	/* The clock is read once per loop: an answer within the same loop
	 * reads 0, and srtt 0 means "no sample yet". */
	if (rtt == 0)
		rtt = 1;
	if (*srtt == 0) {
		*srtt = rtt;
		*rttvar = rtt / 2;
	} else {
		uint64_t dev = rtt > *srtt ? rtt - *srtt : *srtt - rtt;

		*rttvar = (3 * *rttvar + dev) / 4;
		*srtt = (7 * *srtt + rtt) / 8;
	}
}

/* An RTT sample; rto_ns follows it from the next send on. */
static void
rtt_sample(struct ar_call *c, uint64_t rtt)
{
	struct daitn *d = c->d;
	uint64_t floor = (uint64_t)d->rto_us * 1000u, rto;

	estimate(&d->srtt_ns, &d->rttvar_ns, rtt);
	rto = d->srtt_ns + 4 * d->rttvar_ns;
	c->rto_ns = rto > floor ? rto : floor;
	d->backoff = 0;
}

static void
cwnd_grow(struct daitn *d)
{
	if (d->cwnd < d->ssthresh)
		d->cwnd += 1.0;
	else
		d->cwnd += 1.0 / d->cwnd;
	if (d->cwnd > (double)d->window)
		d->cwnd = (double)d->window;
}

/* A loss (timeout): halve the window, once per round trip. */
static void
cwnd_cut(struct ar_call *c)
{
	struct daitn *d = c->d;

	if (c->now < d->recover_ns)
		return;
	d->ssthresh = d->cwnd / 2.0 > 2.0 ? d->cwnd / 2.0 : 2.0;
	d->cwnd = d->ssthresh;
	d->recover_ns = c->now + rto_after(c, d->backoff);
}

/* A WAITING payload of n bytes (a prefix, section 4): missing ranks not in
 * it read as none listed, an unknown count as 0xffff. */
static void
waiting_read(const uint8_t *p, size_t n, struct dp_proto_join_wait *w)
{
	uint8_t buf[sizeof(*w)];

	memset(buf, 0xff, sizeof(buf));
	memcpy(buf, p, n < sizeof(buf) ? n : sizeof(buf));
	dp_proto_join_wait_read(buf, w);
}

/* A WAITING for one of this call's outstanding chunks: the gateway holds
 * it, so its timer only needs to fetch a lost RESULT (the ceiling). */
static void
waiting_counted(struct ar_call *c, const struct dp_proto_hdr *h)
{
	uint32_t idx = h->slot & DP_PROTO_SLOT_INDEX_MASK;
	struct daitn_slot *s;

	if (idx >= c->d->job.n_slots)
		return;
	s = &c->d->slots[idx];
	if (!s->busy || s->counted || s->cur_set != ((h->slot & DP_PROTO_SLOT_SET_BIT) != 0) ||
	    h->offset != s->offset)
		return;
	s->counted = true;
	s->deadline_ns = c->now + rto_after(c, BACKOFF_MAX_SHIFT);
}

/* Is rank known gone (daitn_peer_gone)? */
static bool
rank_gone(struct daitn *d, uint16_t rank)
{
	return rank < d->job.n_workers &&
	       (atomic_load_explicit(&d->gone[rank / 64], memory_order_relaxed) >>
		(rank % 64) & 1u) != 0;
}

/*
 * The WAITING just read lists the ranks the gateway still waits for. If one
 * of them is known gone, the round can never complete: fail the call. Only
 * a WAITING read well after the news was first seen counts (one sent before
 * the rank's last contributions may still sit in the socket buffer); the
 * margin is a few round trips and 100 ms.
 */
static void
waiting_gone_check(struct ar_call *c)
{
	struct daitn *d = c->d;
	uint64_t margin = 100000000ull + 4 * d->srtt_ns;

	if (c->gone_since == 0 || c->now < c->gone_since + margin)
		return;
	for (unsigned i = 0; i < DP_PROTO_WAIT_LIST; i++) {
		uint16_t r = c->waiting.missing[i];

		if (r == DP_PROTO_RANK_NONE || !rank_gone(d, r))
			continue;
		daitn_err(d, 0, "daitn_allreduce: round %u: job %u: rank %u is gone (its "
			  "process group peers saw its connections close) and the gateway still "
			  "waits for its contribution (%u of %u ranks contributed to the chunk)",
			  c->round, d->job_id, r,
			  c->waiting.n_joined != 0xffff ? c->waiting.n_joined : 0u,
			  c->waiting.n_workers != 0xffff ? c->waiting.n_workers : d->job.n_workers);
		c->error = -ECONNABORTED;
		return;
	}
}

/* A partial job's RESULT trailer (its codec-checked size is the rest of
 * the datagram): the job's n_workers, 1 <= n_in <= n_workers, n_in bits
 * set, and none past the last rank. */
static bool
ranks_valid(const struct daitn *d, const uint8_t *t, size_t size)
{
	const uint8_t *map = t + DP_PROTO_RANKS_HDR;
	uint16_t nw, n_in;
	unsigned bits = 0;
	size_t i, n;

	if (size != d->ranks_size)
		return false;
	dp_proto_ranks_read(t, &nw, &n_in);
	if (nw != d->job.n_workers || n_in == 0 || n_in > nw)
		return false;
	n = ((size_t)nw + 7) / 8;
	for (i = 0; i < n; i++)
		bits += (unsigned)__builtin_popcount(map[i]);
	if (nw % 8 != 0 && (map[n - 1] >> (nw % 8)) != 0)
		return false;
	return bits == n_in;
}

/* An ERROR that echoes this call's round, from a shard port. */
static void
error_rx(struct ar_call *c, const uint8_t *data, uint32_t len, const struct dp_proto_hdr *h)
{
	struct daitn *d = c->d;
	char text[64];
	uint16_t code;

	daitn_msg_error_decode(data, len, &code, text, sizeof(text));
	if (code == DP_ERR_RUN_ENDED) {
		daitn_err(d, 0, "daitn_allreduce: round %u: job %u's run is over at the "
			  "gateway (another process joined as one of its ranks, or the "
			  "gateway restarted or reset the job): %s", c->round, d->job_id,
			  text[0] ? text : "(no text)");
		c->error = -ECONNRESET;
		return;
	}
	if (code == DP_ERR_ROUND_CLOSED && d->partial) {
		/* Header offset: the round the GRAD's set holds now. */
		c->job_round = h->offset;
		if (dp_proto_tag_cmp(h->offset, 0, c->round, 0) > 0)
			daitn_err(d, 0, "daitn_allreduce: round %u closed without this rank; the job "
				  "is at round %u", c->round, h->offset);
		else
			daitn_err(d, 0, "daitn_allreduce: round %u closed without this rank; the job "
				  "is at round %u (not newer: the next call uses round %u)",
				  c->round, h->offset, c->round + 1);
		c->error = -ESTALE;
		return;
	}
	daitn_err(d, 0, "daitn_allreduce: round %u: the gateway refused job %u rank %u: "
		  "%s (code %u): %s", c->round, d->job_id, d->rank,
		  daitn_msg_err_name(code), code, text[0] ? text : "(no text)");
	c->error = -ECONNREFUSED;
}

static void
result_rx(void *arg, const uint8_t *data, uint32_t len, const struct sockaddr_in *src)
{
	struct ar_call *c = arg;
	struct daitn *d = c->d;
	struct dp_proto_hdr h;
	struct daitn_slot *s;
	const uint8_t *trailer = NULL;
	size_t elems;
	uint64_t k;
	uint32_t idx;

	/* The call is over (an ERROR): the rest of the batch is not read. */
	if (c->error != 0)
		return;
	/* Only the gateway's shard ports send results and errors; with a key,
	 * only with their tags. */
	if (src->sin_addr.s_addr != d->io.gw.sin_addr.s_addr ||
	    (uint16_t)(ntohs(src->sin_port) - d->io.port_base) >= d->io.n_shards ||
	    dp_proto_hdr_check(data, len, &h) != DP_PROTO_CHECK_OK || h.job != d->job_id ||
	    h.rank != d->rank) {
		d->ignored++;
		return;
	}
	if ((h.type == DP_MSG_ERROR || h.type == DP_MSG_RESULT || h.type == DP_MSG_WAITING) &&
	    !daitn_msg_auth_ok(d->keyed ? &d->key : NULL, d->salt, data, len, &h)) {
		d->auth_failed++;
		d->ignored++;
		return;
	}
	if (h.type == DP_MSG_ERROR) {
		/* An ERROR answers one of this call's GRADs, whose round it echoes. */
		if (h.round != c->round) {
			d->ignored++;
			return;
		}
		error_rx(c, data, len, &h);
		return;
	}
	if (h.type == DP_MSG_WAITING) {
		/* One of this call's chunks is counted and its slot waits for
		 * other ranks: the gateway is alive (the ranks are slow). */
		if (h.round != c->round) {
			d->ignored++;
			return;
		}
		waiting_read(data + dp_proto_payload_off(&h), len - dp_proto_payload_off(&h),
			     &c->waiting);
		c->last_waiting = c->now;
		waiting_counted(c, &h);
		waiting_gone_check(c);
		return;
	}
	if (h.type != DP_MSG_RESULT || h.dtype != c->dtype) {
		d->ignored++;
		return;
	}
	/* A partial job's RESULTs, and only those, carry a trailer that fits
	 * the job. */
	if (((h.flags & DP_PROTO_FLAG_RANKS) != 0) != d->partial) {
		d->ignored++;
		return;
	}
	elems = dp_proto_payload_off(&h) + (size_t)h.count * c->es;
	if (d->partial) {
		trailer = data + elems;
		if (!ranks_valid(d, trailer, len - elems)) {
			d->ignored++;
			return;
		}
	}
	idx = h.slot & DP_PROTO_SLOT_INDEX_MASK;
	if (idx >= d->job.n_slots) {
		d->ignored++;
		return;
	}
	s = &d->slots[idx];
	if (!s->busy || s->cur_set != ((h.slot & DP_PROTO_SLOT_SET_BIT) != 0) ||
	    h.round != c->round || h.offset != s->offset) {
		d->stats.stale_results++;
		return;
	}
	if (h.count != s->count) {
		d->ignored++;
		return;
	}
	memcpy(c->base + (size_t)s->offset * c->es, data + dp_proto_payload_off(&h),
	       (size_t)h.count * c->es);
	k = s->offset / c->chunk_elems;
	d->done_map[k / 8] |= (uint8_t)(1u << (k % 8));
	/* Chunk k of a partial call is on slot k. */
	if (trailer != NULL)
		memcpy(d->ranks + (size_t)idx * d->ranks_size, trailer, d->ranks_size);
	if (c->done == 0)
		estimate(&d->start_srtt_ns, &d->start_rttvar_ns, c->now - c->start_ns);
	if (s->tries == 0 || s->counted)
		rtt_sample(c, c->now - s->sent_ns);
	s->busy = false;
	c->outstanding--;
	c->done++;
	c->last_progress = c->now;
	d->stats.results++;
	cwnd_grow(d);
	window_fill(c);
}

static void
timers_run(struct ar_call *c)
{
	struct daitn *d = c->d;
	uint64_t min = UINT64_MAX;
	uint32_t i, budget, sent = 0;
	bool expired = false;

	for (i = 0; i < d->job.n_slots && !expired; i++)
		expired = d->slots[i].busy && !d->slots[i].counted &&
			  d->slots[i].deadline_ns <= c->now;
	/* A partial job's chunks wait for a deadline or stragglers by
	 * design: their timeouts are no congestion signal. */
	if (expired && !d->partial)
		cwnd_cut(c);
	budget = d->cwnd > 1.0 ? (uint32_t)d->cwnd : 1u;
	for (i = 0; i < d->job.n_slots; i++) {
		struct daitn_slot *s = &d->slots[i];

		if (!s->busy)
			continue;
		if (s->deadline_ns <= c->now && sent < budget) {
			unsigned shift;

			if (s->tries < UINT8_MAX)
				s->tries++;
			shift = s->counted ? BACKOFF_MAX_SHIFT : s->tries + d->backoff;
			s->deadline_ns = c->now + rto_after(c, shift);
			chunk_queue(c, i);
			d->stats.retransmits++;
			d->held_resends += s->counted;
			sent++;
		} else if (s->deadline_ns <= c->now) {
			/* Over this scan's budget: first in line for the next. */
			s->deadline_ns = c->now + (c->rto_ns >> 2);
		}
		if (s->deadline_ns < min)
			min = s->deadline_ns;
	}
	/* As TCP does: a timeout also backs off the chunks sent from now on,
	 * until a chunk answered without retransmission gives a fresh sample
	 * (a stalled peer or worker would otherwise time out every new chunk
	 * too, and the retransmissions slow it down further). */
	if (expired && d->backoff < BACKOFF_MAX_SHIFT)
		d->backoff++;
	c->next_check = min;
}

/* The oldest outstanding chunk, for the timeout message. */
static const struct daitn_slot *
oldest_outstanding(const struct ar_call *c, uint32_t *idx)
{
	const struct daitn *d = c->d;
	const struct daitn_slot *best = NULL;
	uint32_t i;

	for (i = 0; i < d->job.n_slots; i++) {
		const struct daitn_slot *s = &d->slots[i];

		if (s->busy && (best == NULL || s->offset < best->offset)) {
			best = s;
			*idx = i;
		}
	}
	return best;
}

static int
fail_timeout(struct ar_call *c)
{
	struct daitn *d = c->d;
	const struct daitn_slot *s;
	char gw[INET_ADDRSTRLEN], icmp[96] = "";
	uint32_t idx = 0;

	inet_ntop(AF_INET, &d->io.gw.sin_addr, gw, sizeof(gw));
	if (d->io.icmp_errors != 0)
		snprintf(icmp, sizeof(icmp), "; the network reported \"%s\" %llu times",
			 strerror(d->io.last_icmp_errno), (unsigned long long)d->io.icmp_errors);
	else if (d->auth_failed != 0)
		snprintf(icmp, sizeof(icmp), "; %llu results or errors failed their tag check "
			 "(forged, or not this run's)", (unsigned long long)d->auth_failed);
	s = oldest_outstanding(c, &idx);
	return daitn_err(d, -ETIMEDOUT,
			 "daitn_allreduce: round %u: no result from gateway %s for %u ms; "
			 "%llu of %llu chunks done, %u outstanding (oldest: offset %u, slot %u, "
			 "%u retransmissions)%s; a silent gateway: is it up and reachable?",
			 c->round, gw, d->timeout_ms, (unsigned long long)c->done,
			 (unsigned long long)c->n_chunks, c->outstanding, s ? s->offset : 0u, idx,
			 s ? s->tries : 0u, icmp);
}

/* The gateway kept saying it waits for other ranks, for peer_timeout_ms. */
static int
fail_peers(struct ar_call *c)
{
	struct daitn *d = c->d;
	char ranks[64] = "";
	size_t n = 0;

	for (unsigned i = 0; i < DP_PROTO_WAIT_LIST && c->waiting.missing[i] != DP_PROTO_RANK_NONE;
	     i++)
		n += (size_t)snprintf(ranks + n, n < sizeof(ranks) ? sizeof(ranks) - n : 0, "%s%u",
				      i ? ", " : "", c->waiting.missing[i]);
	/* Every rank is in and the chunk still waits: the gateway is a leaf
	 * of an aggregation tree whose parent has not answered its sum. */
	if (n == 0 && c->waiting.n_workers != 0xffff && c->waiting.n_joined == c->waiting.n_workers)
		return daitn_err(d, -ETIMEDOUT,
				 "daitn_allreduce: round %u: job %u: the gateway has waited %u ms "
				 "for its parent gateway (every one of its %u ranks contributed to "
				 "the oldest chunk): a gateway or worker further up the job's "
				 "aggregation tree is slow, stopped or gone", c->round, d->job_id,
				 d->peer_timeout_ms, c->waiting.n_workers);
	return daitn_err(d, -ETIMEDOUT,
			 "daitn_allreduce: round %u: job %u: the gateway has waited %u ms for "
			 "rank(s) %s%s (%u of %u contributed to the oldest chunk): those workers "
			 "are slow, stopped or gone", c->round, d->job_id, d->peer_timeout_ms,
			 ranks[0] ? ranks : "(not listed)",
			 c->waiting.n_workers != 0xffff && c->waiting.n_workers >
			 c->waiting.n_joined + DP_PROTO_WAIT_LIST ? ", ..." : "",
			 c->waiting.n_joined != 0xffff ? c->waiting.n_joined : 0u,
			 c->waiting.n_workers != 0xffff ? c->waiting.n_workers : d->job.n_workers);
}

static int
fail_io(struct ar_call *c, int rc)
{
	struct daitn *d = c->d;

	if (rc == -EMSGSIZE)
		return daitn_err(d, rc, "daitn_allreduce: a %u-byte chunk does not fit the path MTU "
				 "to the gateway; lower the job's chunk_size or raise the MTU",
				 d->job.chunk_size);
	return daitn_err(d, rc, "daitn_allreduce: round %u: socket error: %s", c->round,
			 strerror(-rc));
}

static int
engine_run(struct ar_call *c)
{
	struct daitn *d = c->d;
	uint64_t alive, timeout_ns = (uint64_t)d->timeout_ms * 1000000u;
	uint64_t peer_ns = (uint64_t)d->peer_timeout_ms * 1000000u;
	uint32_t news, drains = 0;
	int rc;

	c->now = daitn_now_ns();
	c->start_ns = c->now;
	c->last_progress = c->now;
	c->last_waiting = 0;
	c->next_check = UINT64_MAX;
	window_fill(c);
	for (;;) {
		rc = c->io_error != 0 ? c->io_error : daitn_io_flush(&d->io);
		if (rc < 0)
			return fail_io(c, rc);
		if (c->done == c->n_chunks)
			return 0;
		/* Read the clock before the answers: after a wait it is stale by
		 * the wait, and every RTT sample (and so the timer) would miss it. */
		c->now = daitn_now_ns();
		rc = daitn_io_rx(&d->io, result_rx, c);
		if (rc < 0)
			return fail_io(c, rc);
		if (c->error != 0)
			return c->error;
		/* An abort ends a wait; a call that has every sum is done. */
		if (c->done < c->n_chunks &&
		    atomic_load_explicit(&d->aborted, memory_order_acquire))
			return daitn_err(d, -ECANCELED, "daitn_allreduce: round %u: abandoned "
					 "(daitn_abort) with %llu of %llu chunks summed", c->round,
					 (unsigned long long)c->done,
					 (unsigned long long)c->n_chunks);
		news = atomic_load_explicit(&d->gone_news, memory_order_acquire);
		if (news != c->gone_news) {
			c->gone_news = news;
			c->gone_since = c->now;
		}
		/* Answers still queued are read before any timer fires: a
		 * RESULT behind a full batch is no reason to resend its chunk
		 * (bounded, so a flood cannot keep the timers from running). */
		if (d->io.rx_more && ++drains < RX_DRAIN_MAX)
			continue;
		drains = 0;
		if (c->now >= c->next_check)
			timers_run(c);
		if (c->done == c->n_chunks)
			continue;
		/* A silent gateway fails the call after timeout_ms; one that
		 * says it waits for other ranks, after peer_timeout_ms. */
		alive = c->last_waiting > c->last_progress ? c->last_waiting : c->last_progress;
		if (c->now - alive >= timeout_ns)
			return fail_timeout(c);
		if (c->now - c->last_progress >= peer_ns)
			return c->last_waiting > c->last_progress ? fail_peers(c) : fail_timeout(c);
		if (rc == 0 && d->io.txq_n == 0) {
			uint64_t until = alive + timeout_ns;

			if (c->last_progress + peer_ns < until)
				until = c->last_progress + peer_ns;
			if (c->next_check < until)
				until = c->next_check;
			rc = daitn_io_wait(&d->io, until > c->now ? until - c->now : 0);
			/* ICMP errors are counted and named in a timeout message; a
			 * gateway that restarts may be briefly unreachable. */
			if (rc < 0 && rc != -ECONNREFUSED && rc != -EHOSTUNREACH &&
			    rc != -ENETUNREACH && rc != -EHOSTDOWN)
				return fail_io(c, rc);
		}
	}
}

static int
args_check(struct daitn *d, const void *buf, size_t count, enum daitn_dtype dtype)
{
	const char *tname = dp_proto_dtype_name((uint8_t)dtype);

	if (atomic_load_explicit(&d->aborted, memory_order_acquire))
		return daitn_err(d, -ECANCELED, "daitn_allreduce: this handle was abandoned "
				 "(daitn_abort): nothing was sent");
	if (d->failed)
		return daitn_err(d, -EPIPE, "daitn_allreduce: an earlier allreduce on this handle "
				 "failed after sending; it is out of step with the other workers "
				 "(close it and open a new one)");
	if (tname == NULL || (unsigned)dtype > UINT8_MAX)
		return daitn_err(d, -EINVAL, "daitn_allreduce: dtype %d is not a daitn_dtype",
				 (int)dtype);
	if ((uint8_t)dtype != (uint8_t)d->job.dtype &&
	    !(dtype == DAITN_FLOAT32 && d->job.dtype == DAITN_INT32))
		return daitn_err(d, -EINVAL, "daitn_allreduce: dtype %s does not match job %u's %s "
				 "(only float32 data may go to an int32 job)", tname, d->job_id,
				 dp_proto_dtype_name((uint8_t)d->job.dtype));
	if (count > UINT32_MAX)
		return daitn_err(d, -EINVAL, "daitn_allreduce: count %zu is over the protocol's "
				 "%u elements per call; split the tensor", count, UINT32_MAX);
	if (count != 0 && buf == NULL)
		return daitn_err(d, -EINVAL, "daitn_allreduce: buf is NULL for %zu elements", count);
	if ((uintptr_t)buf % dp_proto_dtype_size((uint8_t)dtype) != 0)
		return daitn_err(d, -EINVAL, "daitn_allreduce: buf %p is not aligned to its %zu-byte "
				 "elements", buf, dp_proto_dtype_size((uint8_t)dtype));
	return 0;
}

/* float32 data on an int32 job: convert into the handle's scratch buffer
 * first, so a value out of range fails the call before anything is sent and
 * leaves buf untouched. */
static int
fixed_prepare(struct daitn *d, const float *buf, size_t count)
{
	size_t size = count * sizeof(int32_t), bad = 0;
	int rc;

	if (size > d->scratch_size) {
		void *p = realloc(d->scratch, size);

		if (p == NULL)
			return daitn_err(d, -ENOMEM, "daitn_allreduce: out of memory for a "
					 "%zu-byte fixed-point buffer", size);
		d->scratch = p;
		d->scratch_size = size;
	}
	rc = kn_fixed_from_f32(d->scratch, buf, count, d->job.frac_bits, d->job.n_workers, &bad);
	if (rc < 0)
		return daitn_err(d, rc, "daitn_allreduce: element %zu (%g) is NaN, infinite or "
				 "beyond +-%g, the largest value %u workers can sum in int32 with "
				 "%u fraction bits; scale the tensor or lower frac_bits", bad,
				 (double)buf[bad], kn_fixed_limit(d->job.frac_bits, d->job.n_workers),
				 d->job.n_workers, d->job.frac_bits);
	return 0;
}

/* buf (*cap bytes) grown to hold need bytes: itself, a larger block, or NULL
 * when out of memory (buf is then unchanged). */
static void *
buf_grow(void *buf, size_t *cap, size_t need)
{
	void *p;

	if (need <= *cap)
		return buf;
	p = realloc(buf, need);
	if (p != NULL)
		*cap = need;
	return p;
}

/* A partial job: the call must fit the slots (chunk k on slot k), and the
 * per-chunk trailers and (keyed) the staging room are grown here, before
 * anything is sent, never per packet. */
static int
partial_prepare(struct daitn *d, size_t count, uint64_t n_chunks, uint32_t chunk_elems)
{
	void *p;

	if (n_chunks > d->job.n_slots)
		return daitn_err(d, -EMSGSIZE, "daitn_allreduce: job %u is partial: a call must fit "
				 "its %u slots, and %zu elements make %llu chunks of %u; split the "
				 "tensor into calls of at most %llu elements", d->job_id,
				 d->job.n_slots, count, (unsigned long long)n_chunks, chunk_elems,
				 (unsigned long long)d->job.n_slots * chunk_elems);
	p = buf_grow(d->ranks, &d->ranks_cap, (size_t)n_chunks * d->ranks_size);
	if (p != NULL)
		d->ranks = p;
	if (p != NULL && d->staged) {
		p = buf_grow(d->stage, &d->stage_size,
			     (size_t)n_chunks * (d->job.chunk_size + d->ranks_size));
		if (p != NULL)
			d->stage = p;
	}
	if (p == NULL)
		return daitn_err(d, -ENOMEM, "daitn_allreduce: out of memory for %llu chunks' "
				 "ranks and staging", (unsigned long long)n_chunks);
	return 0;
}

/* A call of n_chunks starts: no chunk of buf holds its sum yet (the map of
 * daitn_chunks_done, grown here, before anything is sent, never per packet). */
static int
done_map_reset(struct daitn *d, uint64_t n_chunks)
{
	size_t size = (size_t)(n_chunks + 7) / 8;
	void *p = buf_grow(d->done_map, &d->done_cap, size);

	if (p == NULL)
		return daitn_err(d, -ENOMEM, "daitn_allreduce: out of memory for %llu chunks' "
				 "map", (unsigned long long)n_chunks);
	d->done_map = p;
	memset(d->done_map, 0, size);
	d->done_chunks = n_chunks;
	return 0;
}

/* -ESTALE: the job closed this call's round without this rank and moved on
 * to round job_round. Nothing is out of step: drop what is queued and the
 * slots' uses, and let the next call take part in the job's round (never
 * an older one than this call's next). */
static void
stale_recover(struct ar_call *c)
{
	struct daitn *d = c->d;

	daitn_io_discard(&d->io);
	for (uint32_t i = 0; i < d->job.n_slots; i++)
		d->slots[i].busy = false;
	if (dp_proto_tag_cmp(c->job_round, 0, c->round, 0) > 0)
		d->round = c->job_round;
}

/* Run one call of count wire elements at base (buf, or the scratch that
 * holds its wire form), checked and converted by the caller. */
static int
call_run(struct daitn *d, void *base, size_t count)
{
	struct ar_call c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.dtype = (uint8_t)d->job.dtype;
	c.es = dp_proto_dtype_size(c.dtype);
	c.chunk_elems = (uint32_t)(d->job.chunk_size / c.es);
	c.n_chunks = (count + c.chunk_elems - 1) / c.chunk_elems;
	if (d->partial) {
		rc = partial_prepare(d, count, c.n_chunks, c.chunk_elems);
		if (rc < 0)
			return rc;
	}
	if (count == 0) {
		d->ranks_ok = true;
		return 0;
	}
	rc = done_map_reset(d, c.n_chunks);
	if (rc < 0)
		return rc;
	c.d = d;
	c.base = base;
	c.count = count;
	c.round = d->round++;
	c.rto_ns = (uint64_t)d->rto_us * 1000u;
	if (d->srtt_ns + 4 * d->rttvar_ns > c.rto_ns)
		c.rto_ns = d->srtt_ns + 4 * d->rttvar_ns;
	c.start_rto_ns = d->start_srtt_ns + 4 * d->start_rttvar_ns;
	rc = engine_run(&c);
	if (rc == -ESTALE) {
		stale_recover(&c);
		return rc;
	}
	if (rc < 0) {
		d->failed = true;
		return rc;
	}
	d->stats.allreduces++;
	d->ranks_chunks = c.n_chunks;
	d->ranks_ok = true;
	return 0;
}

/* A call starts: nothing of the last call's results is valid any more. */
static void
call_begin(struct daitn *d)
{
	daitn_err_clear(d);
	d->ranks_ok = false;
	d->ranks_chunks = 0;
	d->weight_chunks = 0;
	d->done_chunks = 0;
}

int
daitn_allreduce(struct daitn *d, void *buf, size_t count, enum daitn_dtype dtype)
{
	bool fixed;
	int rc;

	if (d == NULL)
		return -EINVAL;
	call_begin(d);
	rc = args_check(d, buf, count, dtype);
	if (rc < 0)
		return rc;
	if (d->job.fedavg)
		return daitn_err(d, -EINVAL, "daitn_allreduce: job %u is a federated average "
				 "(\"mode\": \"fedavg\"): its chunks carry weights; call "
				 "daitn_allreduce_weighted", d->job_id);
	fixed = dtype == DAITN_FLOAT32 && d->job.dtype == DAITN_INT32;
	if (fixed && count != 0) {
		rc = fixed_prepare(d, buf, count);
		if (rc < 0)
			return rc;
	}
	rc = call_run(d, fixed ? d->scratch : buf, count);
	if (rc == 0 && fixed && count != 0)
		kn_fixed_to_f32(buf, d->scratch, count, d->job.frac_bits);
	else if (fixed && d->done_chunks != 0)   /* the sums are in scratch, not buf */
		memset(d->done_map, 0, (size_t)(d->done_chunks + 7) / 8);
	return rc;
}

/* Element i of a float tensor of wire type dtype, widened (exactly). */
static float
elem_get(const void *p, size_t i, uint8_t dtype)
{
	switch (dtype) {
	case DP_DTYPE_BF16:
		return kn_bf16_to_f32(((const uint16_t *)p)[i]);
	case DP_DTYPE_F16:
		return kn_f16_to_f32(((const uint16_t *)p)[i]);
	default:
		return ((const float *)p)[i];
	}
}

/* v rounded to dtype (to nearest, ties to even), widened back. */
static float
elem_round(uint8_t dtype, float v)
{
	switch (dtype) {
	case DP_DTYPE_BF16:
		return kn_bf16_to_f32(kn_f32_to_bf16(v));
	case DP_DTYPE_F16:
		return kn_f16_to_f32(kn_f32_to_f16(v));
	default:
		return v;
	}
}

/* Element i set to v rounded to dtype (to nearest, ties to even); the
 * value stored, widened, is returned. */
static float
elem_put(void *p, size_t i, uint8_t dtype, float v)
{
	switch (dtype) {
	case DP_DTYPE_BF16:
		((uint16_t *)p)[i] = kn_f32_to_bf16(v);
		break;
	case DP_DTYPE_F16:
		((uint16_t *)p)[i] = kn_f32_to_f16(v);
		break;
	default:
		((float *)p)[i] = v;
		break;
	}
	return elem_get(p, i, dtype);
}

/* A fedavg call's wire form in the scratch: chunk k holds elements k * per
 * .. of buf, each times w, then w, all in the job's type (the product of
 * two float16 values, and of two bfloat16 values away from binary32's
 * subnormal range, is exact in binary32, so each wire element is rounded
 * once). Fails before anything is sent: -ERANGE when a product overflows
 * the type, -ENOMEM. */
static int
weighted_prepare(struct daitn *d, const void *buf, size_t count, float w, size_t *wire_count)
{
	uint8_t dt = (uint8_t)d->job.dtype;
	size_t es = dp_proto_dtype_size(dt), per = d->job.chunk_size / es - 1;
	size_t n_chunks = (count + per - 1) / per, wire = count + n_chunks;
	void *p = buf_grow(d->scratch, &d->scratch_size, wire * es);

	if (p == NULL)
		return daitn_err(d, -ENOMEM, "daitn_allreduce_weighted: out of memory for a "
				 "%zu-byte weighted buffer", wire * es);
	d->scratch = p;
	for (size_t k = 0, i = 0, o = 0; k < n_chunks; k++) {
		for (size_t end = i + per < count ? i + per : count; i < end; i++, o++) {
			float x = elem_get(buf, i, dt), y = elem_put(p, o, dt, x * w);

			if (isinf(y) && !isinf(x))
				return daitn_err(d, -ERANGE, "daitn_allreduce_weighted: element %zu "
						 "(%g) times the weight %g overflows %s; scale the "
						 "weights down (the mean does not change)", i,
						 (double)x, (double)w, dp_proto_dtype_name(dt));
		}
		elem_put(p, o++, dt, w);
	}
	*wire_count = wire;
	return 0;
}

/* A fedavg call of count elements, per a chunk: where chunk k's weight is
 * on the wire (after its elements; the last chunk may be short). */
static size_t
weight_at(size_t per, size_t count, size_t k)
{
	size_t n_chunks = (count + per - 1) / per;

	return k * (per + 1) + (k + 1 < n_chunks ? per : count - k * per);
}

/* The weighted call's result back into buf: each chunk's sums divided by
 * its total weight. Every weight is checked before buf is written. */
static int
weighted_finish(struct daitn *d, void *buf, size_t count)
{
	uint8_t dt = (uint8_t)d->job.dtype;
	size_t per = d->job.chunk_size / dp_proto_dtype_size(dt) - 1;
	size_t n_chunks = (count + per - 1) / per;
	const void *wire = d->scratch;

	for (size_t k = 0; k < n_chunks; k++) {
		float tw = elem_get(wire, weight_at(per, count, k), dt);

		if (isinf(tw))
			return daitn_err(d, -EOVERFLOW, "daitn_allreduce_weighted: round %u: the total "
					 "weight of chunk %zu overflowed %s; scale the weights down "
					 "(the mean does not change)", d->round - 1, k,
					 dp_proto_dtype_name(dt));
		if (!(tw > 0))
			return daitn_err(d, -EPROTO, "daitn_allreduce_weighted: round %u: chunk %zu "
					 "came back with total weight %g: a rank of job %u did not "
					 "send weighted chunks", d->round - 1, k, (double)tw,
					 d->job_id);
	}
	for (size_t k = 0, i = 0, o = 0; k < n_chunks; k++, o++) {
		size_t end = i + per < count ? i + per : count;
		float tw = elem_get(wire, weight_at(per, count, k), dt);

		for (; i < end; i++, o++)
			elem_put(buf, i, dt, elem_get(wire, o, dt) / tw);
	}
	d->weight_chunks = n_chunks;
	d->weight_count = count;
	return 0;
}

/* The shared checks and the engine name their failures "daitn_allreduce:";
 * a weighted call's failure names the call that failed. */
static int
weighted_err(struct daitn *d, int rc)
{
	static const char plain[] = "daitn_allreduce: ";
	char tail[DAITN_ERR_SIZE];

	if (rc < 0 && strncmp(d->last_error, plain, sizeof(plain) - 1) == 0) {
		snprintf(tail, sizeof(tail), "%s", d->last_error + sizeof(plain) - 1);
		daitn_err(d, rc, "daitn_allreduce_weighted: %s", tail);
	}
	return rc;
}

int
daitn_allreduce_weighted(struct daitn *d, void *buf, size_t count, enum daitn_dtype dtype,
			 double weight)
{
	size_t wire = 0, per;
	float w;
	int rc;

	if (d == NULL)
		return -EINVAL;
	call_begin(d);
	rc = args_check(d, buf, count, dtype);
	if (rc < 0)
		return weighted_err(d, rc);
	if (!d->job.fedavg)
		return daitn_err(d, -EINVAL, "daitn_allreduce_weighted: job %u is not a federated "
				 "average (its policy has no \"mode\": \"fedavg\"); call "
				 "daitn_allreduce", d->job_id);
	/* The weight as the job's type carries it: the elements are scaled by
	 * the value the gateway adds up. */
	w = elem_round((uint8_t)d->job.dtype, (float)weight);
	if (!(isfinite(weight) && weight > 0 && isfinite(w) && w > 0))
		return daitn_err(d, -EINVAL, "daitn_allreduce_weighted: weight %g is not a positive "
				 "finite %s", weight, dp_proto_dtype_name((uint8_t)d->job.dtype));
	if (count == 0)
		return weighted_err(d, call_run(d, buf, 0));
	per = d->job.chunk_size / dp_proto_dtype_size((uint8_t)d->job.dtype) - 1;
	if (count + (count + per - 1) / per > UINT32_MAX)
		return daitn_err(d, -EINVAL, "daitn_allreduce_weighted: count %zu and its chunks' "
				 "weights make %zu elements, over the protocol's %u per call; "
				 "split the tensor", count, count + (count + per - 1) / per,
				 UINT32_MAX);
	if (d->partial) {
		/* The slot limit in the caller's elements (chunks carry one
		 * fewer than the chunk size). */
		rc = partial_prepare(d, count, (count + per - 1) / per, (uint32_t)per);
		if (rc < 0)
			return weighted_err(d, rc);
	}
	rc = weighted_prepare(d, buf, count, w, &wire);
	if (rc == 0)
		rc = call_run(d, d->scratch, wire);
	d->done_chunks = 0;     /* the map is of the wire form, not of buf */
	if (rc == 0) {
		rc = weighted_finish(d, buf, count);
		d->ranks_ok = rc == 0;
	}
	return weighted_err(d, rc);
}

int
daitn_result_weight(const struct daitn *d, uint64_t chunk, double *weight)
{
	uint8_t dt;
	size_t per;

	if (d == NULL || weight == NULL)
		return -EINVAL;
	if (d->weight_chunks == 0)
		return -ENOENT;
	if (chunk >= d->weight_chunks)
		return -ERANGE;
	dt = (uint8_t)d->job.dtype;
	per = d->job.chunk_size / dp_proto_dtype_size(dt) - 1;
	*weight = elem_get(d->scratch, weight_at(per, d->weight_count, chunk), dt);
	return 0;
}

int
daitn_result_ranks(const struct daitn *d, uint64_t chunk, uint16_t *n_in, const uint8_t **bitmap)
{
	const uint8_t *t;
	uint16_t nw, ni;

	if (d == NULL)
		return -EINVAL;
	if (!d->partial || !d->ranks_ok)
		return -ENOENT;
	if (chunk >= d->ranks_chunks)
		return -ERANGE;
	t = d->ranks + (size_t)chunk * d->ranks_size;
	dp_proto_ranks_read(t, &nw, &ni);
	if (n_in != NULL)
		*n_in = ni;
	if (bitmap != NULL)
		*bitmap = t + DP_PROTO_RANKS_HDR;
	return 0;
}

uint32_t
daitn_next_round(const struct daitn *d)
{
	return d != NULL ? d->round - d->job.round_base : 0;
}

int
daitn_skip_rounds(struct daitn *d, uint32_t n)
{
	if (d == NULL)
		return -EINVAL;
	if (!d->partial)
		return daitn_err(d, -EINVAL, "daitn_skip_rounds: job %u is not partial: its rounds "
				 "wait for every rank", d->job_id);
	if (n >= DAITN_SKIP_MAX)
		return daitn_err(d, -EINVAL, "daitn_skip_rounds: %u rounds is past the %u a run's "
				 "rounds can be apart", n, DAITN_SKIP_MAX);
	d->round += n;
	return 0;
}

int
daitn_peer_gone(struct daitn *d, uint16_t rank)
{
	if (d == NULL || rank >= d->job.n_workers)
		return -EINVAL;
	atomic_fetch_or_explicit(&d->gone[rank / 64], 1ull << (rank % 64), memory_order_relaxed);
	atomic_fetch_add_explicit(&d->gone_news, 1, memory_order_release);
	return 0;
}

int
daitn_abort(struct daitn *d)
{
	uint64_t one = 1;

	if (d == NULL)
		return -EINVAL;
	atomic_store_explicit(&d->aborted, true, memory_order_release);
	if (write(d->io.wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

int
daitn_chunks_done(const struct daitn *d, uint64_t *n_chunks, const uint8_t **bitmap)
{
	if (d == NULL)
		return -EINVAL;
	if (d->done_chunks == 0)
		return -ENOENT;
	if (n_chunks != NULL)
		*n_chunks = d->done_chunks;
	if (bitmap != NULL)
		*bitmap = d->done_map;
	return 0;
}
