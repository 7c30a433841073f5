/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite daitn_allreduce: the client's window, slot/set/round assignment,
 * stale and duplicate results, retransmission and timeout, and partial
 * jobs (the ranks trailer, set = round & 1, ERROR 6), and weighted calls
 * of fedavg jobs (the wire form, the mean, the weights).
 *
 * The RESULTs come from the test peer (daitn_test_peer.h), a minimal message
 * source that returns each contribution times 2 (as if two identical workers
 * had sent it) and records what the client sent. It exercises the client's
 * own logic only; it is not a gateway and is no stand-in for one in
 * integration tests.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daitn_test_util.h"
#include "kn_sum.h"

static float *
ramp(size_t n)
{
	float *v = malloc(n * sizeof(*v));

	for (size_t i = 0; i < n; i++)
		v[i] = (float)i * 0.25f - 100.0f;
	return v;
}

/* buf holds 2 * ramp: exact in binary32 for these values. */
static bool
doubled(const float *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] != 2.0f * ((float)i * 0.25f - 100.0f))
			return false;
	return true;
}

/*
 * Join p as rank 1 with (window, rto_us, timeout_ms), run `rounds`
 * allreduces of ramp(n) that must each come back doubled, read the counters
 * into st (and ext unless it is NULL), close the handle and stop p; the
 * caller then checks the counters and p's records.
 */
static void
allreduce_rounds(struct tpeer *p, uint32_t window, uint32_t rto_us, uint32_t timeout_ms,
		 size_t n, unsigned rounds, struct daitn_stats *st, struct daitn_stats_ext *ext)
{
	struct daitn *d = NULL;

	CU_ASSERT_EQUAL_FATAL(tutil_join(p, window, rto_us, timeout_ms, &d), 0);
	for (unsigned r = 0; r < rounds; r++) {
		float *buf = ramp(n);

		CU_ASSERT_EQUAL(daitn_allreduce(d, buf, n, DAITN_FLOAT32), 0);
		CU_ASSERT(doubled(buf, n));
		free(buf);
	}
	daitn_stats_get(d, st);
	if (ext != NULL)
		daitn_stats_ext_get(d, ext);
	daitn_close(d);
	tpeer_stop(p);
}

static void
test_chunks_use_slots_sets_rounds_and_shards_deterministically(void)
{
	struct tpeer *p = tutil_peer(DP_DTYPE_F32, 64, 4, 2);
	const size_t n = 16 * 10 + 5; /* 11 chunks of 16, the last of 5 */
	uint8_t next_set[4] = { 0 };
	uint32_t last_off[2][2] = { { 0 } };
	bool seen[2][2] = { { false } };
	struct daitn_stats st;
	unsigned i, wrong = 0, max_flight = 0;

	allreduce_rounds(p, 3, 500000, 2000, n, 2, &st, NULL);
	CU_ASSERT_EQUAL(st.chunks_sent, 22);
	CU_ASSERT_EQUAL(st.results, 22);
	CU_ASSERT_EQUAL(st.retransmits, 0);
	CU_ASSERT_EQUAL(st.allreduces, 2);
	CU_ASSERT_EQUAL(p->n_recs, 22);
	for (i = 0; i < p->n_recs; i++) {
		const struct tpeer_rec *r = &p->recs[i];
		uint32_t k = r->h.offset / 16, idx = k % 4, call = r->h.round - 1000;
		uint16_t want_count = k == 10 ? 5 : 16;
		unsigned shard = r->port - p->job.udp_port_base;

		if (r->h.job != 7 || r->h.rank != 1 || r->h.dtype != DP_DTYPE_F32 ||
		    r->h.offset % 16 != 0 || dp_proto_slot_index(r->h.slot) != idx ||
		    shard != idx % 2 || call > 1 || r->h.count != want_count ||
		    r->len != DP_PROTO_HDR_SIZE + 4u * want_count || r->retransmission)
			wrong++;
		/* Each slot's uses alternate sets, starting at 0, across calls. */
		if (dp_proto_slot_set(r->h.slot) != next_set[idx])
			wrong++;
		next_set[idx] ^= 1;
		/* Per shard port, chunks of one call leave in increasing offset order. */
		if (seen[shard][call] && r->h.offset <= last_off[shard][call])
			wrong++;
		seen[shard][call] = true;
		last_off[shard][call] = r->h.offset;
		if (r->in_flight > max_flight)
			max_flight = r->in_flight;
	}
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT(max_flight >= 1 && max_flight <= 3);
	free(p);
}

static void
test_gso_batches_many_chunks_per_send_call(void)
{
	struct tpeer *p = tutil_peer(DP_DTYPE_F32, 1024, 256, 2);
	const size_t n = 256 * 64 + 100;
	struct daitn_stats st;
	struct daitn_stats_ext ext;

	allreduce_rounds(p, 0, 200000, 3000, n, 1, &st, &ext);
	CU_ASSERT_EQUAL(st.chunks_sent, 65);
	CU_ASSERT_EQUAL(st.results, 65);
	CU_ASSERT_EQUAL(ext.datagrams_sent, st.chunks_sent + st.retransmits);
	CU_ASSERT_EQUAL(p->grads, ext.datagrams_sent);
	CU_ASSERT_EQUAL(p->bad, 0);
	if (ext.flags & DAITN_STATS_GSO) {
		/* The first window (the initial congestion window's 32 chunks)
		 * leaves in one sendmmsg; the other 33 and any retransmission
		 * follow as results and timers come, in as many calls as the
		 * peer's timing makes (one each at worst, on a loaded
		 * machine), never more. */
		CU_ASSERT(st.send_calls <= 1 + (st.chunks_sent - (uint64_t)DAITN_CWND_INIT) +
					   st.retransmits);
		CU_ASSERT(ext.gso_segs >= 2);
	} else {
		CU_ASSERT_EQUAL(ext.gso_fallbacks, 0);
	}
	free(p);
}

static void
test_stale_duplicate_and_foreign_results_are_counted_not_used(void)
{
	struct tpeer *p = tutil_peer(DP_DTYPE_F32, 256, 8, 1);
	const size_t n = 64 * 40;
	struct daitn_stats st;
	struct daitn_stats_ext ext;

	p->dup_results = true;
	p->stale_before = true;
	p->garbage_before = true;
	allreduce_rounds(p, 0, 500000, 2000, n, 1, &st, &ext);
	CU_ASSERT_EQUAL(st.results, 40);
	/* Every RESULT was preceded by one for round - 1 and followed by a copy
	 * (the copy of the last ones may arrive after the call returned). */
	CU_ASSERT(st.stale_results >= 40 && st.stale_results <= 80);
	CU_ASSERT(ext.ignored >= 40);
	CU_ASSERT_EQUAL(st.retransmits, 0);
	free(p);
}

static void
test_lost_chunk_is_retransmitted_unchanged(void)
{
	struct tpeer *p = tutil_peer(DP_DTYPE_F32, 64, 4, 2);
	const size_t n = 16 * 8;
	struct daitn_stats st;
	const struct tpeer_rec *first = NULL;
	unsigned copies = 0, i;
	bool same = true;

	p->drop_enabled = true;
	p->drop_first_offset = 48;
	allreduce_rounds(p, 0, 2000, 2000, n, 1, &st, NULL);
	CU_ASSERT_EQUAL(p->dropped, 1);
	CU_ASSERT(st.retransmits >= 1);
	CU_ASSERT_EQUAL(st.results, 8);
	for (i = 0; i < p->n_recs; i++) {
		const struct tpeer_rec *r = &p->recs[i];

		if (r->h.offset != 48)
			continue;
		if (first == NULL)
			first = r;
		else if (memcmp(&r->h, &first->h, sizeof(r->h)) != 0 || r->port != first->port)
			same = false;
		copies++;
	}
	CU_ASSERT(copies >= 2);
	CU_ASSERT(same);
	free(p);
}

static void
test_ten_percent_loss_each_way_still_gives_exact_results(void)
{
	struct tpeer *p = tutil_peer(DP_DTYPE_F32, 256, 64, 2);
	const size_t n = 64 * 600;
	struct daitn_stats st;

	p->loss_pct = 10;
	p->rng = 12345;
	allreduce_rounds(p, 0, 1000, 5000, n, 2, &st, NULL);
	CU_ASSERT_EQUAL(st.results, 1200);
	CU_ASSERT(p->dropped > 0 && p->results_lost > 0);
	/* Every lost transmission, GRAD or RESULT, is followed by another one. */
	CU_ASSERT(st.retransmits >= p->dropped + p->results_lost);
	free(p);
}

static void
test_silent_peer_times_out_with_backoff_then_handle_refuses(void)
{
	struct tpeer *p = tutil_peer(DP_DTYPE_F32, 64, 4, 2);
	const size_t n = 16 * 8;
	struct daitn_stats st;
	struct daitn *d = NULL;
	float *buf = ramp(n);
	uint64_t t0, ms;
	int rc;

	p->silent_grads = true;
	CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 1000, 300, &d), 0);
	/* The peer never answers a GRAD: run the timers in virtual time. */
	tutil_vclock_on();
	t0 = daitn_now_ns();
	rc = daitn_allreduce(d, buf, n, DAITN_FLOAT32);
	ms = (daitn_now_ns() - t0) / 1000000u;
	tutil_vclock_off();
	CU_ASSERT_EQUAL(rc, -ETIMEDOUT);
	CU_ASSERT(ms >= 300 && ms <= 364);      /* one longest backoff past the timeout */
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "no result from gateway 127.0.0.1 for 300 ms"));
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "4 outstanding"));
	daitn_stats_get(d, &st);
	CU_ASSERT_EQUAL(st.chunks_sent, 4);
	/* rto 1 ms backed off per retry (the slot's tries plus the handle's
	 * backoff) up to its ceiling: 7 retries per slot in 300 ms, not 300.
	 * Virtual time makes the count exact. */
	CU_ASSERT_EQUAL(st.retransmits, 4 * 7);
	if (st.retransmits != 4 * 7)
		fprintf(stderr, "\n    %llu retransmissions in %llu ms\n",
			(unsigned long long)st.retransmits, (unsigned long long)ms);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, n, DAITN_FLOAT32), -EPIPE);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "out of step"));
	daitn_close(d);
	tpeer_stop(p);
	free(buf);
	free(p);
}

static void
test_gro_coalesced_results_are_split(void)
{
	struct tpeer *p = tutil_peer(DP_DTYPE_F32, 1024, 128, 1);
	const size_t n = 256 * 300;
	struct daitn_stats st;
	struct daitn_stats_ext ext;

	p->gso_results = true;
	allreduce_rounds(p, 0, 200000, 3000, n, 1, &st, &ext);
	CU_ASSERT_EQUAL(st.results, 300);
	CU_ASSERT_EQUAL(ext.rx_truncated, 0);
	CU_ASSERT(p->gso_sends > 0);
	CU_ASSERT_EQUAL(p->send_errors, 0);
	/* With GRO the kernel hands whole GSO sends to the client, so it needs
	 * far fewer receive calls than results. */
	if (ext.flags & DAITN_STATS_GRO)
		CU_ASSERT(st.recv_calls < st.results);
	free(p);
}

/* With the job's key (docs/security.md), a RESULT counts only with the
 * gateway's tag under the run's salt: a forged one sent ahead of every
 * genuine result is ignored and the sums are exact. Without a key the same
 * forgeries are taken, which is why a shared segment needs one. */
static void
test_keyed_handle_takes_only_tagged_results(void)
{
	static const uint8_t kb[DP_AUTH_KEY_SIZE] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0xaa, 0xbb,
		0xcc, 0xdd, 0xee, 0xff };
	char dir[] = "/tmp/daitn_keyXXXXXX", path[64];
	struct dp_auth_key k;
	const size_t n = 64 * 20;
	FILE *f;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/job.key", dir);
	f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	for (unsigned i = 0; i < sizeof(kb); i++)
		fprintf(f, "%02x", kb[i]);
	fclose(f);
	CU_ASSERT_EQUAL(chmod(path, 0600), 0);
	dp_auth_key_set(&k, kb, DP_AUTH_COVER_PAYLOAD);
	for (int keyed = 0; keyed < 2; keyed++) {
		struct tpeer *p = tutil_peer(DP_DTYPE_F32, 256, 16, 2);
		struct daitn_config c = {
			.gateway = "127.0.0.1", .bind_addr = "127.0.0.1",
			.bind_port = tutil_free_port(), .job = 7, .rank = 1,
			.hello_timeout_ms = 2000, .timeout_ms = 5000,
			.key_file = keyed ? path : NULL,
		};
		struct daitn_stats_ext ext;
		struct daitn *d = NULL;
		float *buf = ramp(n);
		unsigned tagged = 0;

		p->forge_before = true;
		if (keyed) {
			p->key = &k;
			p->salt = 0x5a175a17ull;
		}
		CU_ASSERT_EQUAL_FATAL(tpeer_start(p), 0);
		c.gateway_port = p->job.udp_port_base;
		CU_ASSERT_EQUAL_FATAL(daitn_open(&c, &d), 0);
		CU_ASSERT_EQUAL(daitn_allreduce(d, buf, n, DAITN_FLOAT32), 0);
		daitn_stats_ext_get(d, &ext);
		daitn_close(d);
		tpeer_stop(p);
		for (unsigned i = 0; i < p->n_recs; i++)
			tagged += p->recs[i].tag_ok;
		if (keyed) {
			CU_ASSERT(doubled(buf, n));
			CU_ASSERT(ext.ignored > 0);     /* the forgeries, counted */
			CU_ASSERT_EQUAL(tagged, p->n_recs);
		} else {
			CU_ASSERT_FALSE(doubled(buf, n));
			CU_ASSERT_EQUAL(tagged, 0);
		}
		free(buf);
		free(p);
	}
	unlink(path);
	rmdir(dir);
}

/* A gateway that keeps saying a chunk is counted and waits for rank 0 is
 * alive: the call outlives timeout_ms and fails only after peer_timeout_ms,
 * naming the rank it waited for. */
static void
test_waiting_for_peers_is_not_a_dead_gateway(void)
{
	struct tpeer *p = tutil_peer(DP_DTYPE_F32, 256, 16, 2);
	struct daitn_config c = {
		.gateway = "127.0.0.1", .bind_addr = "127.0.0.1", .bind_port = tutil_free_port(),
		.job = 7, .rank = 1, .hello_timeout_ms = 2000, .timeout_ms = 300,
		.rto_us = 20000, .peer_timeout_ms = 1500,
	};
	struct daitn *d = NULL;
	struct daitn_stats st;
	float buf[256] = { 0 };
	uint64_t t0, held_max;
	int rc;

	p->waiting_grads = true;
	CU_ASSERT_EQUAL_FATAL(tpeer_start(p), 0);
	c.gateway_port = p->job.udp_port_base;
	CU_ASSERT_EQUAL_FATAL(daitn_open(&c, &d), 0);
	t0 = daitn_now_ns();
	rc = daitn_allreduce(d, buf, 256, DAITN_FLOAT32);
	CU_ASSERT_EQUAL(rc, -ETIMEDOUT);
	/* Not at timeout_ms: the gateway was heard from all along. */
	CU_ASSERT(daitn_now_ns() - t0 >= 1500ull * 1000000u);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "has waited 1500 ms for rank(s) 0"));
	daitn_close(d);
	/* A chunk the gateway says it holds is not lost: after the WAITING it
	 * is resent only at the timer's largest backoff (64 x the 2 ms floor:
	 * at least 128 ms apart), not at the floor doubling (which resends
	 * each of the 4 chunks about 10 times in 600 ms). That spacing is a
	 * least one, so the bound follows the call's own length: a loaded
	 * machine gives fewer, never more. */
	c.bind_port = tutil_free_port();
	c.rto_us = 2000;
	c.timeout_ms = 3000;
	c.peer_timeout_ms = 600;
	CU_ASSERT_EQUAL_FATAL(daitn_open(&c, &d), 0);
	t0 = daitn_now_ns();
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 256, DAITN_FLOAT32), -ETIMEDOUT);
	held_max = 4 * ((daitn_now_ns() - t0) / (128ull * 1000000u) + 1);
	daitn_stats_get(d, &st);
	CU_ASSERT(st.chunks_sent == 4);
	CU_ASSERT(d->held_resends <= held_max);
	if (d->held_resends > held_max)
		fprintf(stderr, "\n    %llu resends of held chunks, at most %llu expected\n",
			(unsigned long long)d->held_resends, (unsigned long long)held_max);
	daitn_close(d);
	c.rto_us = 20000;
	/* A peer timeout shorter than timeout_ms still ends the wait. */
	c.bind_port = tutil_free_port();
	c.timeout_ms = 3000;
	c.peer_timeout_ms = 400;
	CU_ASSERT_EQUAL_FATAL(daitn_open(&c, &d), 0);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 256, DAITN_FLOAT32), -ETIMEDOUT);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "has waited 400 ms for rank(s) 0"));
	daitn_close(d);
	tpeer_stop(p);
	free(p);
}

/* A RESULT that takes 30 ms to come is a 30 ms round trip: the clock is
 * read after the wait for it, not before (a stale clock made every sample
 * ~0, the timer stayed at its 2 ms floor and chunks that only waited for
 * slower ranks were resent). */
static void
test_rtt_sample_includes_the_wait(void)
{
	struct tpeer *p = tutil_peer(DP_DTYPE_F32, 256, 16, 1);
	struct daitn_config c = {
		.gateway = "127.0.0.1", .bind_addr = "127.0.0.1", .bind_port = tutil_free_port(),
		.job = 7, .rank = 1, .hello_timeout_ms = 2000, .timeout_ms = 5000,
		.rto_us = 200000,
	};
	struct daitn_stats_ext ext;
	struct daitn *d = NULL;
	float buf[64] = { 0 };

	p->result_delay_ms = 30;
	CU_ASSERT_EQUAL_FATAL(tpeer_start(p), 0);
	c.gateway_port = p->job.udp_port_base;
	CU_ASSERT_EQUAL_FATAL(daitn_open(&c, &d), 0);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 64, DAITN_FLOAT32), 0);
	daitn_stats_ext_get(d, &ext);
	CU_ASSERT(ext.srtt_us >= 30000);
	daitn_close(d);
	tpeer_stop(p);
	free(p);
}

struct gone_later_arg {
	struct daitn *d;
	int rc;                 /* daitn_peer_gone()'s, checked by the main thread */
};

static void *
gone_later(void *arg)
{
	struct gone_later_arg *g = arg;
	struct timespec ts = { 0, 200 * 1000000 };

	/* Not a sleep before an assertion: the call under test must outlive
	 * this delay and notice the news whenever it comes. */
	nanosleep(&ts, NULL);
	g->rc = daitn_peer_gone(g->d, 0);
	return NULL;
}

/* A rank known gone (its process group saw it close) that the gateway still
 * waits for ends the wait at once, naming it; a gone rank the gateway does
 * not wait for changes nothing. Any thread may tell the handle. */
static void
test_gone_peer_ends_the_wait_only_when_waited_for(void)
{
	struct tpeer *p = tutil_peer(DP_DTYPE_F32, 256, 16, 2);
	struct daitn_config c = {
		.gateway = "127.0.0.1", .bind_addr = "127.0.0.1", .bind_port = tutil_free_port(),
		.job = 7, .rank = 1, .hello_timeout_ms = 2000, .timeout_ms = 300,
		.rto_us = 20000, .peer_timeout_ms = 60000,
	};
	struct daitn *d = NULL;
	float buf[256] = { 0 };
	struct gone_later_arg gone = { .rc = -1 };
	pthread_t th;
	uint64_t t0;

	p->waiting_grads = true;
	CU_ASSERT_EQUAL_FATAL(tpeer_start(p), 0);
	c.gateway_port = p->job.udp_port_base;
	CU_ASSERT_EQUAL_FATAL(daitn_open(&c, &d), 0);
	CU_ASSERT_EQUAL(daitn_peer_gone(d, 4), -EINVAL);
	/* Told from another thread while the call waits. */
	t0 = daitn_now_ns();
	gone.d = d;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, gone_later, &gone), 0);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 256, DAITN_FLOAT32), -ECONNABORTED);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(gone.rc, 0);
	CU_ASSERT(daitn_now_ns() - t0 < 30000ull * 1000000u); /* not the peer timeout */
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "rank 0 is gone"));
	daitn_close(d);
	/* Only this rank itself is marked: the wait goes on to the peer timeout. */
	c.bind_port = tutil_free_port();
	c.peer_timeout_ms = 600;
	CU_ASSERT_EQUAL_FATAL(daitn_open(&c, &d), 0);
	CU_ASSERT_EQUAL(daitn_peer_gone(d, 1), 0);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 256, DAITN_FLOAT32), -ETIMEDOUT);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "has waited 600 ms for rank(s) 0"));
	daitn_close(d);
	tpeer_stop(p);
	free(p);

	/* Rank 0 gone after contributing everything: its results still count. */
	p = tutil_peer(DP_DTYPE_F32, 256, 16, 2);
	CU_ASSERT_EQUAL_FATAL(tpeer_start(p), 0);
	c.gateway_port = p->job.udp_port_base;
	c.bind_port = tutil_free_port();
	CU_ASSERT_EQUAL_FATAL(daitn_open(&c, &d), 0);
	CU_ASSERT_EQUAL(daitn_peer_gone(d, 0), 0);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 256, DAITN_FLOAT32), 0);
	daitn_close(d);
	tpeer_stop(p);
	free(p);
}

struct abort_later_arg {
	struct daitn *d;
	struct tpeer *p;
	int rc;                 /* daitn_abort()'s, checked by the main thread */
};

/* Abort once the call is provably waiting: the peer has seen every
 * unanswered chunk (4) resent, which the call does only from its wait loop,
 * long after it read the two RESULTs the peer sent at once. The 1 ms naps
 * only pace the polling; the 60 s deadline only bounds a hang. */
static void *
abort_later(void *arg)
{
	struct abort_later_arg *a = arg;
	struct timespec nap = { 0, 1000000 };
	uint64_t deadline = daitn_now_ns() + 60000ull * 1000000u;

	while (__atomic_load_n(&a->p->grads, __ATOMIC_RELAXED) -
	       __atomic_load_n(&a->p->firsts, __ATOMIC_RELAXED) < 4 &&
	       daitn_now_ns() < deadline)
		nanosleep(&nap, NULL);
	a->rc = daitn_abort(a->d);
	return NULL;
}

/* daitn_abort from another thread ends a wait on a gateway that answers
 * only some chunks at once (not at the timeout); daitn_chunks_done names
 * the chunks whose sums are in buf, the others hold this rank's data; the
 * handle then refuses every call before sending. */
static void
test_abort_ends_the_wait_and_chunks_done_names_the_sums(void)
{
	struct tpeer *p = tutil_peer(DP_DTYPE_F32, 64, 16, 2);   /* 16 floats a chunk */
	struct daitn *d = NULL;
	struct abort_later_arg ab = { .p = p, .rc = -1 };
	float buf[16 * 5 + 3];   /* 6 chunks, the last of 3 */
	const uint8_t *map = NULL;
	uint64_t n = 0, t0;
	pthread_t th;

	p->silent_from = true;
	p->silent_offset = 2 * 16;          /* chunks 0 and 1 are answered */
	CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 20000, 60000, &d), 0);
	CU_ASSERT_EQUAL(daitn_chunks_done(d, &n, &map), -ENOENT);   /* no call yet */
	for (size_t i = 0; i < 83; i++)
		buf[i] = (float)i;
	ab.d = d;
	t0 = daitn_now_ns();
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, abort_later, &ab), 0);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 83, DAITN_FLOAT32), -ECANCELED);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(ab.rc, 0);
	CU_ASSERT(daitn_now_ns() - t0 < 30000ull * 1000000u);   /* not the 60 s timeout */
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "abandoned"));
	CU_ASSERT_EQUAL(daitn_chunks_done(d, &n, &map), 0);
	CU_ASSERT_EQUAL(n, 6);
	CU_ASSERT_PTR_NOT_NULL_FATAL(map);
	CU_ASSERT_EQUAL(map[0], 0x03);
	for (size_t i = 0; i < 83; i++)
		CU_ASSERT_EQUAL(buf[i], i < 32 ? 2.0f * (float)i : (float)i);
	/* Abandoned for good: refused before sending, buf untouched. */
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 83, DAITN_FLOAT32), -ECANCELED);
	CU_ASSERT_EQUAL(daitn_chunks_done(d, &n, &map), -ENOENT);
	CU_ASSERT_EQUAL(buf[40], 40.0f);
	daitn_close(d);
	tpeer_stop(p);
	free(p);

	/* A call that succeeds has every chunk's bit; an int32 job's float32
	 * call that fails has none (its sums never reached buf). */
	p = tutil_peer(DP_DTYPE_I32, 64, 16, 2);
	p->silent_from = true;
	p->silent_offset = 2 * 16;
	CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 20000, 400, &d), 0);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 32, DAITN_FLOAT32), 0);
	CU_ASSERT_EQUAL(daitn_chunks_done(d, &n, &map), 0);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(map[0], 0x03);
	for (size_t i = 0; i < 83; i++)
		buf[i] = 1.0f;
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 83, DAITN_FLOAT32), -ETIMEDOUT);
	CU_ASSERT_EQUAL(daitn_chunks_done(d, &n, &map), 0);
	CU_ASSERT_EQUAL(n, 6);
	CU_ASSERT_EQUAL(map[0], 0);
	CU_ASSERT_EQUAL(buf[0], 1.0f);
	CU_ASSERT_EQUAL(daitn_abort(NULL), -EINVAL);
	CU_ASSERT_EQUAL(daitn_chunks_done(NULL, &n, &map), -EINVAL);
	daitn_close(d);
	tpeer_stop(p);
	free(p);
}

/* The clock of the next test: real time, and at the first reading after
 * the peer kept the last chunk's GRAD, that chunk's RESULT is sent (it is in
 * the worker's socket when tpeer_release returns, on loopback) and the
 * handle aborted. The call reads the clock right before it reads its
 * socket, so the last RESULT and the abort meet in one turn of its loop. */
struct abort_with_last_arg {
	struct daitn *d;
	struct tpeer *p;
	bool done;
	int rc;                 /* tpeer_release()'s, then daitn_abort()'s */
};

static uint64_t
abort_with_last_now(void *arg)
{
	struct abort_with_last_arg *a = arg;

	if (!a->done && atomic_load_explicit(&a->p->held, memory_order_acquire)) {
		a->done = true;
		a->rc = tpeer_release(a->p);
		if (a->rc == 0)
			a->rc = daitn_abort(a->d);
	}
	return daitn_mono_ns();
}

static void
abort_with_last_advance(void *arg, uint64_t ns)
{
	(void)arg;
	(void)ns;               /* real time passes on its own */
}

/* An abort that comes with the call's last RESULT does not fail a call
 * that has every sum: it returns 0 with buf summed and every chunk's bit
 * set (before, -ECANCELED with a full map); the abort still holds for the
 * next call. */
static void
test_abort_with_the_last_result_leaves_the_call_done(void)
{
	struct tpeer *p = tutil_peer(DP_DTYPE_F32, 64, 16, 2);   /* 16 floats a chunk */
	struct abort_with_last_arg a = { .p = p, .rc = -1 };
	struct daitn *d = NULL;
	float buf[16 * 5 + 3];   /* 6 chunks, the last of 3 */
	const uint8_t *map = NULL;
	uint64_t n = 0;
	int rc;

	p->silent_from = true;
	p->silent_offset = 5 * 16;          /* the last chunk is held */
	p->hold = true;
	CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 20000, 60000, &d), 0);
	for (size_t i = 0; i < 83; i++)
		buf[i] = (float)i;
	a.d = d;
	daitn_clock_set(abort_with_last_now, abort_with_last_advance, &a);
	rc = daitn_allreduce(d, buf, 83, DAITN_FLOAT32);
	daitn_clock_set(NULL, NULL, NULL);
	CU_ASSERT_TRUE(a.done);
	CU_ASSERT_EQUAL(a.rc, 0);
	CU_ASSERT_EQUAL(rc, 0);
	if (rc != 0)
		fprintf(stderr, "\n  %s\n", daitn_last_error(d));
	for (size_t i = 0; i < 83; i++)
		CU_ASSERT_EQUAL(buf[i], 2.0f * (float)i);
	CU_ASSERT_EQUAL(daitn_chunks_done(d, &n, &map), 0);
	CU_ASSERT_EQUAL(n, 6);
	CU_ASSERT_PTR_NOT_NULL_FATAL(map);
	CU_ASSERT_EQUAL(map[0], 0x3f);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 83, DAITN_FLOAT32), -ECANCELED);
	daitn_close(d);
	tpeer_stop(p);
	free(p);
}

/* ---- fedavg jobs (docs/protocol.md section 5, "Federated averaging") ---- */

/* A fedavg float32 job with 16 elements a chunk; the peer adds a second
 * rank of weight 3 whose elements are all 1. */
static struct tpeer *
fedavg_peer(uint8_t dtype, float other_w)
{
	struct tpeer *p = tutil_peer(dtype, 64, 8, 2);

	p->job.flags = DP_PROTO_JOB_FEDAVG;
	p->mult = 1;
	p->fedavg_w = other_w;
	return p;
}

/* 40 elements make chunks of 15, 15 and 10 elements, each followed by the
 * weight; the result is (w * x + 3 * 1) / (w + 3), element by element, and
 * every chunk's total weight is w + 3. */
static void
test_weighted_call_sends_weights_and_returns_the_mean(void)
{
	struct tpeer *p = fedavg_peer(DP_DTYPE_F32, 3.0f);
	struct daitn *d = NULL;
	float *buf = ramp(40);
	double tw = 0;
	bool ok = true;

	CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 200000, 2000, &d), 0);
	CU_ASSERT_EQUAL(daitn_job(d)->fedavg, 1);
	CU_ASSERT_EQUAL(daitn_result_weight(d, 0, &tw), -ENOENT);
	CU_ASSERT_EQUAL(daitn_allreduce_weighted(d, buf, 40, DAITN_FLOAT32, 0.5), 0);
	for (size_t i = 0; i < 40; i++)
		ok &= buf[i] == (0.5f * ((float)i * 0.25f - 100.0f) + 3.0f) / 3.5f;
	CU_ASSERT(ok);
	for (uint64_t k = 0; k < 3; k++) {
		CU_ASSERT_EQUAL(daitn_result_weight(d, k, &tw), 0);
		CU_ASSERT_EQUAL(tw, 3.5);
	}
	CU_ASSERT_EQUAL(daitn_result_weight(d, 3, &tw), -ERANGE);
	CU_ASSERT_EQUAL(daitn_result_weight(d, 0, NULL), -EINVAL);
	/* The shared checks' failures name the weighted call. */
	CU_ASSERT_EQUAL(daitn_allreduce_weighted(d, buf, 40, DAITN_BFLOAT16, 1.0), -EINVAL);
	CU_ASSERT_EQUAL(strncmp(daitn_last_error(d), "daitn_allreduce_weighted: dtype bfloat16",
				40), 0);
	/* An unweighted call is refused before anything is sent, and the
	 * weights of the last call are gone with it. */
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 40, DAITN_FLOAT32), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "daitn_allreduce_weighted"));
	CU_ASSERT_EQUAL(daitn_result_weight(d, 0, &tw), -ENOENT);
	daitn_close(d);
	tpeer_stop(p);
	CU_ASSERT_EQUAL(p->n_recs, 3);
	/* In any order (two shard ports): offsets 0, 16, 32 on the wire. */
	for (unsigned i = 0, seen = 0; i < p->n_recs; i++) {
		const struct dp_proto_hdr *h = &p->recs[i].h;

		CU_ASSERT(h->offset % 16 == 0 && h->offset <= 32 && !(seen & (1u << h->offset / 16)));
		CU_ASSERT_EQUAL(h->count, h->offset == 32 ? 11 : 16);
		seen |= 1u << h->offset / 16;
	}
	free(buf);
	free(p);
}

/* Bad weights, a weighted call on a job that is not fedavg, and a product
 * that overflows float16 are refused before anything is sent (buf
 * untouched); the handle stays usable. */
static void
test_weighted_call_refuses_bad_weights_before_sending(void)
{
	static const double bad[] = { 0.0, -1.0, 1e-30, 1e9, __builtin_nan(""),
				      __builtin_inf() };
	struct tpeer *p = fedavg_peer(DP_DTYPE_F16, 0.0f);
	struct daitn *d = NULL;
	uint16_t h[20], h0[20];

	for (unsigned i = 0; i < 20; i++)
		h[i] = kn_f32_to_f16(i == 7 ? 30000.0f : (float)i);
	memcpy(h0, h, sizeof(h));
	CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 200000, 2000, &d), 0);
	/* float16: 1e-30 rounds to 0 and 1e9 to infinity. */
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(daitn_allreduce_weighted(d, h, 20, DAITN_FLOAT16, bad[i]), -EINVAL);
	/* A count whose weights push the call past 2^32 - 1 wire elements is
	 * refused before buf is read (h is far smaller: nothing touches it). */
	CU_ASSERT_EQUAL(daitn_allreduce_weighted(d, h, UINT32_MAX - 5, DAITN_FLOAT16, 1.0),
			-EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "over the protocol's"));
	CU_ASSERT_EQUAL(daitn_allreduce_weighted(d, h, 20, DAITN_FLOAT16, 4.0), -ERANGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "element 7 (30000)"));
	CU_ASSERT_EQUAL(memcmp(h, h0, sizeof(h)), 0);
	CU_ASSERT_EQUAL(daitn_next_round(d), 0);
	/* The peer echoes: the mean of one rank is its tensor. */
	h[7] = kn_f32_to_f16(3000.0f);
	memcpy(h0, h, sizeof(h));
	CU_ASSERT_EQUAL(daitn_allreduce_weighted(d, h, 20, DAITN_FLOAT16, 4.0), 0);
	CU_ASSERT_EQUAL(memcmp(h, h0, sizeof(h)), 0);
	daitn_close(d);
	tpeer_stop(p);
	CU_ASSERT_EQUAL(p->grads, 1);
	free(p);

	p = tutil_peer(DP_DTYPE_F32, 64, 8, 2);
	CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 200000, 2000, &d), 0);
	CU_ASSERT_EQUAL(daitn_job(d)->fedavg, 0);
	CU_ASSERT_EQUAL(daitn_allreduce_weighted(d, h, 20, DAITN_FLOAT32, 1.0), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "not a federated average"));
	daitn_close(d);
	tpeer_stop(p);
	CU_ASSERT_EQUAL(p->grads, 0);
	free(p);
}

/* A bfloat16 weight travels as bfloat16 (1234 -> 1232), and the elements
 * are scaled by that value; a result whose total weight is not positive
 * (a rank sent unweighted chunks) fails with -EPROTO, buf untouched. */
static void
test_weighted_result_weights_are_checked(void)
{
	struct tpeer *p = fedavg_peer(DP_DTYPE_BF16, 0.0f);
	struct daitn *d = NULL;
	uint16_t h[4] = { kn_f32_to_bf16(1.0f), kn_f32_to_bf16(-2.0f), kn_f32_to_bf16(0.5f), 0 };
	float x[4] = { 1.0f, 2.0f, 3.0f, 4.0f };
	double tw = 0;

	CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 200000, 2000, &d), 0);
	CU_ASSERT_EQUAL(daitn_allreduce_weighted(d, h, 4, DAITN_BFLOAT16, 1234.0), 0);
	CU_ASSERT_EQUAL(daitn_result_weight(d, 0, &tw), 0);
	CU_ASSERT_EQUAL(tw, 1232.0);
	CU_ASSERT_EQUAL(kn_bf16_to_f32(h[1]), -2.0f);
	daitn_close(d);
	tpeer_stop(p);
	free(p);

	/* A HELLO_ACK that says fedavg on an int32 job is malformed. */
	p = fedavg_peer(DP_DTYPE_I32, 0.0f);
	d = NULL;
	CU_ASSERT_EQUAL(tutil_join(p, 0, 200000, 2000, &d), -EPROTO);
	CU_ASSERT_PTR_NULL(d);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(NULL), "fedavg int32"));
	tpeer_stop(p);
	free(p);

	p = fedavg_peer(DP_DTYPE_F32, -1.0f);
	CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 200000, 2000, &d), 0);
	CU_ASSERT_EQUAL(daitn_allreduce_weighted(d, x, 4, DAITN_FLOAT32, 1.0), -EPROTO);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "total weight 0"));
	CU_ASSERT(x[0] == 1.0f && x[3] == 4.0f);
	CU_ASSERT_EQUAL(daitn_allreduce_weighted(d, x, 4, DAITN_FLOAT32, 2.0), 0);
	CU_ASSERT_EQUAL(x[0], (2.0f - 1.0f) / 1.0f);
	daitn_close(d);
	tpeer_stop(p);
	free(p);
}

/* ---- partial jobs (docs/protocol.md section 5, "Partial rounds") ---- */

/* A peer for a partial job of 4 workers: slots of 16 floats, its RESULTs
 * with the ranks trailer. */
static struct tpeer *
partial_peer(uint16_t n_slots, uint8_t n_shards)
{
	struct tpeer *p = tutil_peer(DP_DTYPE_F32, 64, n_slots, n_shards);

	p->job.flags = DP_PROTO_JOB_PARTIAL;
	p->partial_results = true;
	return p;
}

/* A call of more chunks than slots fails before anything is sent, naming
 * the counts; the handle stays usable and the call takes no round. */
static void
test_partial_call_over_the_slots_fails_before_sending(void)
{
	struct tpeer *p = partial_peer(4, 2);
	struct daitn *d = NULL;
	float *buf = ramp(16 * 4 + 1);

	CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 200000, 2000, &d), 0);
	CU_ASSERT_EQUAL(daitn_job(d)->partial, 1);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 16 * 4 + 1, DAITN_FLOAT32), -EMSGSIZE);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "65 elements make 5 chunks of 16"));
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "its 4 slots"));
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "at most 64 elements"));
	CU_ASSERT_EQUAL(daitn_result_ranks(d, 0, NULL, NULL), -ENOENT);
	CU_ASSERT_EQUAL(daitn_next_round(d), 0);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 16 * 4, DAITN_FLOAT32), 0);
	CU_ASSERT(doubled(buf, 16 * 4));
	CU_ASSERT_EQUAL(daitn_next_round(d), 1);
	daitn_close(d);
	tpeer_stop(p);
	CU_ASSERT_EQUAL(p->grads, 4);
	CU_ASSERT_EQUAL(p->n_recs, 4);
	for (unsigned i = 0; i < p->n_recs; i++)
		CU_ASSERT_EQUAL(p->recs[i].h.round, 1000);
	free(buf);
	free(p);
}

/* daitn_skip_rounds: the next call uses the round n later (set by its
 * parity); a job that is not partial refuses it. */
static void
test_skipped_rounds_move_the_next_call_on(void)
{
	struct tpeer *p = partial_peer(4, 2);
	struct daitn *d = NULL;
	float *buf = ramp(16);

	CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 200000, 2000, &d), 0);
	CU_ASSERT_EQUAL(daitn_skip_rounds(d, 3), 0);
	CU_ASSERT_EQUAL(daitn_next_round(d), 3);
	/* Rounds 2^30 apart are outside any run: refused, nothing moves. */
	CU_ASSERT_EQUAL(daitn_skip_rounds(d, 1u << 30), -EINVAL);
	CU_ASSERT_EQUAL(daitn_next_round(d), 3);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 16, DAITN_FLOAT32), 0);
	CU_ASSERT(doubled(buf, 16));
	CU_ASSERT_EQUAL(daitn_next_round(d), 4);
	daitn_close(d);
	tpeer_stop(p);
	CU_ASSERT_EQUAL(p->n_recs, 1);
	CU_ASSERT_EQUAL(p->recs[0].h.round, 1003);
	CU_ASSERT_EQUAL(p->recs[0].h.slot & DP_PROTO_SLOT_SET_BIT, DP_PROTO_SLOT_SET_BIT);
	free(p);

	p = tutil_peer(DP_DTYPE_F32, 64, 4, 2);
	CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 200000, 2000, &d), 0);
	CU_ASSERT_EQUAL(daitn_skip_rounds(d, 1), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "not partial"));
	CU_ASSERT_EQUAL(daitn_next_round(d), 0);
	CU_ASSERT_EQUAL(daitn_skip_rounds(NULL, 1), -EINVAL);
	daitn_close(d);
	tpeer_stop(p);
	free(p);
	free(buf);
}

/* Every GRAD carries the RANKS flag and a zero trailer for the job's 4
 * ranks right after its elements; chunk k uses slot k and set round & 1 (not
 * the alternating sets of other jobs), whatever the count; every RESULT's
 * ranks are kept per chunk, also when this rank (1) is not among them. */
static void
test_partial_grads_carry_the_trailer_and_set_round_parity(void)
{
	static const size_t counts[] = { 16 * 3 + 5, 16, 16 * 4, 16 * 2 };
	struct tpeer *p = partial_peer(4, 2);
	struct daitn *d = NULL;
	struct daitn_stats st;
	const uint8_t *map = NULL;
	uint16_t n_in = 0;
	unsigned i, wrong = 0;

	p->ranks_bits[0] = 0xf;
	p->ranks_bits[1] = 0xd;         /* rank 1, this one, left out */
	p->ranks_bits[2] = 0x3;
	p->ranks_bits[3] = 0x2;
	CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 200000, 2000, &d), 0);
	CU_ASSERT_EQUAL(daitn_result_ranks(d, 0, &n_in, &map), -ENOENT);   /* no call yet */
	for (unsigned c = 0; c < 4; c++) {
		float *buf = ramp(counts[c]);
		uint64_t chunks = (counts[c] + 15) / 16;

		CU_ASSERT_EQUAL(daitn_next_round(d), c);
		CU_ASSERT_EQUAL(daitn_allreduce(d, buf, counts[c], DAITN_FLOAT32), 0);
		CU_ASSERT(doubled(buf, counts[c]));
		for (uint64_t k = 0; k < chunks; k++) {
			CU_ASSERT_EQUAL(daitn_result_ranks(d, k, &n_in, &map), 0);
			CU_ASSERT_EQUAL(n_in, __builtin_popcountll(p->ranks_bits[k]));
			CU_ASSERT_PTR_NOT_NULL_FATAL(map);
			CU_ASSERT_EQUAL(map[0], p->ranks_bits[k]);
		}
		CU_ASSERT_EQUAL(daitn_result_ranks(d, chunks, &n_in, &map), -ERANGE);
		free(buf);
	}
	CU_ASSERT_EQUAL(daitn_result_ranks(d, 0, NULL, NULL), 0);
	CU_ASSERT_EQUAL(daitn_next_round(d), 4);
	daitn_stats_get(d, &st);
	daitn_close(d);
	tpeer_stop(p);
	CU_ASSERT_EQUAL(st.retransmits, 0);
	CU_ASSERT_EQUAL(p->n_recs, 4 + 1 + 4 + 2);
	for (i = 0; i < p->n_recs; i++) {
		const struct tpeer_rec *r = &p->recs[i];
		uint32_t k = r->h.offset / 16;

		if (!r->ranks || r->ranks_nw != 4 || r->ranks_n_in != 0 || !r->ranks_zero ||
		    !r->ranks_after_elems || r->len != DP_PROTO_HDR_SIZE + 4u * r->h.count + 5u ||
		    dp_proto_slot_index(r->h.slot) != k ||
		    dp_proto_slot_set(r->h.slot) != (r->h.round & 1u) ||
		    (uint32_t)(r->port - p->job.udp_port_base) != k % 2)
			wrong++;
	}
	CU_ASSERT_EQUAL(wrong, 0);
	free(p);
}

/* GSO sends whole datagrams, trailer included: 64 chunks in flight, none
 * cut wrong. */
static void
test_partial_grads_batch_with_their_trailers(void)
{
	struct tpeer *p = tutil_peer(DP_DTYPE_F32, 1024, 64, 2);
	struct daitn_stats_ext ext;
	struct daitn_stats st;
	unsigned wrong = 0;

	p->job.flags = DP_PROTO_JOB_PARTIAL;
	p->partial_results = true;
	allreduce_rounds(p, 0, 200000, 3000, 256 * 64 - 7, 2, &st, &ext);
	CU_ASSERT_EQUAL(st.results, 128);
	CU_ASSERT_EQUAL(p->bad, 0);
	CU_ASSERT_EQUAL(p->grads, ext.datagrams_sent);
	for (unsigned i = 0; i < p->n_recs; i++)
		wrong += !p->recs[i].ranks || !p->recs[i].ranks_after_elems;
	CU_ASSERT_EQUAL(wrong, 0);
	free(p);
}

/* RESULTs whose trailer does not fit the job (another n_workers, n_in 0,
 * n_in not the bits set, a bit past the last rank, no trailer at all) are
 * ignored and counted, wrong elements and all; the good one after them
 * completes the call. */
static void
test_partial_results_with_bad_trailers_are_ignored(void)
{
	struct tpeer *p = partial_peer(8, 2);
	struct daitn_stats_ext ext;
	struct daitn_stats st;

	p->bad_ranks = TPEER_BAD_NWORKERS | TPEER_BAD_N_IN_ZERO | TPEER_BAD_N_IN_COUNT |
		       TPEER_BAD_PAD_BIT | TPEER_BAD_NO_FLAG;
	/* Three of four ranks: n_in one more (4) is still in range, and so is
	 * the count with a padding bit, so only the bits can tell. */
	p->ranks_bits[0] = 0x7;
	p->ranks_bits[1] = 0xb;
	p->ranks_bits[2] = 0xd;
	p->ranks_bits[3] = 0xe;
	allreduce_rounds(p, 0, 500000, 3000, 16 * 8, 3, &st, &ext);
	CU_ASSERT_EQUAL(st.results, 24);
	CU_ASSERT_EQUAL(st.retransmits, 0);
	CU_ASSERT(ext.ignored >= 24 * 5);
	free(p);
}

/* A job that is not partial takes no RESULT with a trailer. */
static void
test_ranks_trailer_on_another_job_is_ignored(void)
{
	struct tpeer *p = tutil_peer(DP_DTYPE_F32, 64, 4, 1);
	struct daitn_stats_ext ext;
	struct daitn *d = NULL;
	float *buf = ramp(32);

	p->partial_results = true;      /* but the HELLO_ACK does not say partial */
	CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 20000, 300, &d), 0);
	CU_ASSERT_EQUAL(daitn_job(d)->partial, 0);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 32, DAITN_FLOAT32), -ETIMEDOUT);
	CU_ASSERT_EQUAL(daitn_result_ranks(d, 0, NULL, NULL), -ENOENT);
	daitn_stats_ext_get(d, &ext);
	CU_ASSERT(ext.ignored >= 2);
	daitn_close(d);
	tpeer_stop(p);
	CU_ASSERT(p->n_recs >= 2 && !p->recs[0].ranks);
	free(buf);
	free(p);
}

/* ERROR 6 for this call's round (after one echoing another round, which
 * is not taken) fails the call with -ESTALE naming both rounds; the handle
 * stays usable and its next call is the job's round, the ones between
 * skipped. An ERROR 6 with an older round fails the call the same way but
 * never moves the counter back; on a job that is not partial it is a
 * refusal like any other ERROR. */
static void
test_round_closed_fails_the_call_and_moves_the_round_on(void)
{
	struct tpeer *p = partial_peer(4, 2);
	struct daitn *d = NULL;
	float *buf = ramp(64);
	unsigned i, after = 0, between = 0;

	p->close_enabled = true;
	p->close_round = 1001;
	p->close_to = 1005;
	p->close_other_first = true;
	CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 200000, 2000, &d), 0);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 64, DAITN_FLOAT32), 0);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 64, DAITN_FLOAT32), -ESTALE);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d),
				      "round 1001 closed without this rank; the job is at round 1005"));
	CU_ASSERT_EQUAL(daitn_result_ranks(d, 0, NULL, NULL), -ENOENT);
	CU_ASSERT_EQUAL(daitn_next_round(d), 5);
	free(buf);
	buf = ramp(64);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 64, DAITN_FLOAT32), 0);
	CU_ASSERT(doubled(buf, 64));
	CU_ASSERT_EQUAL(daitn_result_ranks(d, 3, NULL, NULL), 0);
	CU_ASSERT_EQUAL(daitn_next_round(d), 6);
	daitn_close(d);
	tpeer_stop(p);
	CU_ASSERT(p->closed_sent >= 1);
	for (i = 0; i < p->n_recs; i++) {
		after += p->recs[i].h.round == 1005;
		between += p->recs[i].h.round > 1001 && p->recs[i].h.round < 1005;
	}
	CU_ASSERT_EQUAL(after, 4);
	CU_ASSERT_EQUAL(between, 0);
	free(p);

	/* An older round: no jump back. */
	p = partial_peer(4, 2);
	p->close_enabled = true;
	p->close_round = 1000;
	p->close_to = 990;
	CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 200000, 2000, &d), 0);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 64, DAITN_FLOAT32), -ESTALE);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "not newer: the next call uses round 1001"));
	CU_ASSERT_EQUAL(daitn_next_round(d), 1);
	free(buf);
	buf = ramp(64);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 64, DAITN_FLOAT32), 0);
	CU_ASSERT(doubled(buf, 64));
	daitn_close(d);
	tpeer_stop(p);
	free(p);

	/* Not a partial job: a refusal, and the handle is done. */
	p = tutil_peer(DP_DTYPE_F32, 64, 4, 2);
	p->close_enabled = true;
	p->close_round = 1000;
	p->close_to = 1005;
	CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 200000, 2000, &d), 0);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 64, DAITN_FLOAT32), -ECONNREFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "round closed (code 6)"));
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 64, DAITN_FLOAT32), -EPIPE);
	daitn_close(d);
	tpeer_stop(p);
	free(p);
	free(buf);
}

/* A keyed partial job: the GRAD's tag covers elements and trailer (the
 * peer checks it over both), the RESULT's too; with a header-only cover
 * the trailer rides as it is. */
static void
test_keyed_partial_tags_cover_the_trailer(void)
{
	static const uint8_t kb[DP_AUTH_KEY_SIZE] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
		14, 15, 16 };
	char dir[] = "/tmp/daitn_keyXXXXXX", path[64];
	FILE *f;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/job.key", dir);
	f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	for (unsigned i = 0; i < sizeof(kb); i++)
		fprintf(f, "%02x", kb[i]);
	fclose(f);
	CU_ASSERT_EQUAL(chmod(path, 0600), 0);
	for (int header_only = 0; header_only < 2; header_only++) {
		struct tpeer *p = tutil_peer(DP_DTYPE_F32, 256, 16, 2);
		struct daitn_config c = {
			.gateway = "127.0.0.1", .bind_addr = "127.0.0.1",
			.bind_port = tutil_free_port(), .job = 7, .rank = 1,
			.hello_timeout_ms = 2000, .timeout_ms = 3000, .key_file = path,
		};
		const size_t n = 64 * 16 - 3;
		struct daitn_stats_ext ext;
		struct dp_auth_key k;
		struct daitn *d = NULL;
		unsigned tagged = 0, trailed = 0;

		dp_auth_key_set(&k, kb, header_only ? DP_AUTH_COVER_HEADER : DP_AUTH_COVER_PAYLOAD);
		p->key = &k;
		p->salt = 0x0badcafeull;
		p->job.flags = DP_PROTO_JOB_PARTIAL | (header_only ? DP_PROTO_JOB_AUTH_HEADER_ONLY : 0);
		p->partial_results = true;
		p->ranks_bits[2] = 0x9;
		CU_ASSERT_EQUAL_FATAL(tpeer_start(p), 0);
		c.gateway_port = p->job.udp_port_base;
		CU_ASSERT_EQUAL_FATAL(daitn_open(&c, &d), 0);
		for (int round = 0; round < 2; round++) {
			float *buf = ramp(n);
			uint16_t n_in = 0;

			CU_ASSERT_EQUAL(daitn_allreduce(d, buf, n, DAITN_FLOAT32), 0);
			CU_ASSERT(doubled(buf, n));
			CU_ASSERT_EQUAL(daitn_result_ranks(d, 2, &n_in, NULL), 0);
			CU_ASSERT_EQUAL(n_in, 2);
			free(buf);
		}
		daitn_stats_ext_get(d, &ext);
		daitn_close(d);
		tpeer_stop(p);
		CU_ASSERT_EQUAL(ext.ignored, 0);
		CU_ASSERT_EQUAL(p->n_recs, 32);
		for (unsigned i = 0; i < p->n_recs; i++) {
			tagged += p->recs[i].tag_ok;
			trailed += p->recs[i].ranks && p->recs[i].ranks_zero &&
				   p->recs[i].ranks_after_elems && p->recs[i].ranks_nw == 4;
		}
		CU_ASSERT_EQUAL(tagged, p->n_recs);
		CU_ASSERT_EQUAL(trailed, p->n_recs);
		free(p);
	}
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	static const CU_TestInfo tests[] = {
		{ "silent_peer_times_out_with_backoff_then_handle_refuses",
		  test_silent_peer_times_out_with_backoff_then_handle_refuses },
		{ "keyed_handle_takes_only_tagged_results", test_keyed_handle_takes_only_tagged_results },
		{ "waiting_for_peers_is_not_a_dead_gateway",
		  test_waiting_for_peers_is_not_a_dead_gateway },
		{ "abort_ends_the_wait_and_chunks_done_names_the_sums",
		  test_abort_ends_the_wait_and_chunks_done_names_the_sums },
		{ "abort_with_the_last_result_leaves_the_call_done",
		  test_abort_with_the_last_result_leaves_the_call_done },
		{ "gone_peer_ends_the_wait_only_when_waited_for",
		  test_gone_peer_ends_the_wait_only_when_waited_for },
		{ "rtt_sample_includes_the_wait", test_rtt_sample_includes_the_wait },
		{ "stale_duplicate_and_foreign_results_are_counted_not_used",
		  test_stale_duplicate_and_foreign_results_are_counted_not_used },
		{ "lost_chunk_is_retransmitted_unchanged",
		  test_lost_chunk_is_retransmitted_unchanged },
		{ "ten_percent_loss_each_way_still_gives_exact_results",
		  test_ten_percent_loss_each_way_still_gives_exact_results },
		{ "chunks_use_slots_sets_rounds_and_shards_deterministically",
		  test_chunks_use_slots_sets_rounds_and_shards_deterministically },
		{ "gso_batches_many_chunks_per_send_call",
		  test_gso_batches_many_chunks_per_send_call },
		{ "gro_coalesced_results_are_split", test_gro_coalesced_results_are_split },
		{ "weighted_call_sends_weights_and_returns_the_mean",
		  test_weighted_call_sends_weights_and_returns_the_mean },
		{ "weighted_call_refuses_bad_weights_before_sending",
		  test_weighted_call_refuses_bad_weights_before_sending },
		{ "weighted_result_weights_are_checked", test_weighted_result_weights_are_checked },
		{ "skipped_rounds_move_the_next_call_on", test_skipped_rounds_move_the_next_call_on },
		{ "partial_call_over_the_slots_fails_before_sending",
		  test_partial_call_over_the_slots_fails_before_sending },
		{ "ranks_trailer_on_another_job_is_ignored",
		  test_ranks_trailer_on_another_job_is_ignored },
		{ "partial_results_with_bad_trailers_are_ignored",
		  test_partial_results_with_bad_trailers_are_ignored },
		{ "round_closed_fails_the_call_and_moves_the_round_on",
		  test_round_closed_fails_the_call_and_moves_the_round_on },
		{ "partial_grads_carry_the_trailer_and_set_round_parity",
		  test_partial_grads_carry_the_trailer_and_set_round_parity },
		{ "partial_grads_batch_with_their_trailers",
		  test_partial_grads_batch_with_their_trailers },
		{ "keyed_partial_tags_cover_the_trailer", test_keyed_partial_tags_cover_the_trailer },
		CU_TEST_INFO_NULL,
	};

	return tutil_run("daitn_allreduce", tests);
}
