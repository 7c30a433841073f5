/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite gw_auth: a job with a key (docs/security.md, section 2). Its HELLO,
 * LEAVE and GRAD count only with a tag made with the key (and, for a GRAD,
 * the run's salt); anything else is dropped before any work, unanswered.
 * Its answers and results carry tags a worker can check; a RESULT's tag is
 * the same for every rank; every run has its own salt; a replayed HELLO of an
 * earlier process cannot end a run.
 *
 * Job 12 (float32, 4 workers n0..n3, port 47112) is added to the fixture's
 * policy with a key file in a temporary folder; the last test puts the
 * fixture's policy back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "dp_auth.h"
#include "dp_proto_infer.h"
#include "gw_infer_priv.h"
#include "gw_tu.h"

#define JOB 13   /* after the fixture's jobs 1 .. TU_JOBS */
_Static_assert(JOB > TU_JOBS, "a job of its own, not one of the fixture's");
static char dir[] = "/tmp/gw_authXXXXXX";
static char key_path[64];
static struct dp_auth_key key;
static char pol[80 * 1024];
static float vals[4] = { 1, 2, 3, 4 };
static uint32_t nonce = 0xa0000000u;

/* Model 9: one stage (replica S_IP:48000) and a requester (Q_IP), keyed. */
#define MODEL 9
#define S_IP 0x0a090201u            /* 10.9.2.1 */
#define Q_IP 0x0a090202u            /* 10.9.2.2 */
static const struct rte_ether_addr s_mac = { { 0x02, 0, 0, 0, 0xaa, 0x01 } };
static const struct rte_ether_addr q_mac = { { 0x02, 0, 0, 0, 0xaa, 0x02 } };

static const char *policy_keyed(unsigned version)
{
	const char *base = tu_policy_make(version, 256, true), *jobs = strstr(base, "], \"jobs\"");
	size_t n = strlen(base);

	/* The fixture's policy: nodes, then its jobs array, last: "...]}". */
	snprintf(pol, sizeof(pol), "%.*s, {\"id\": \"s\", \"ip\": \"10.9.2.1\", \"roles\": "
		 "[\"stage\"], \"mac\": \"02:00:00:00:aa:01\"}, {\"id\": \"q\", \"ip\": "
		 "\"10.9.2.2\", \"roles\": [\"requester\"], \"mac\": \"02:00:00:00:aa:02\"}"
		 "%.*s, {\"id\": %u, \"dtype\": \"float32\", \"chunk_size\": "
		 "1024, \"slot_memory\": \"256KiB\", \"key_file\": \"%s\", \"workers\": ["
		 "{\"node\": \"n0\", \"port\": %u}, {\"node\": \"n1\", \"port\": %u}, "
		 "{\"node\": \"n2\", \"port\": %u}, {\"node\": \"n3\", \"port\": %u}]}], "
		 "\"models\": [{\"id\": %u, \"key_file\": \"%s\", \"stages\": [{\"replicas\": "
		 "[{\"node\": \"s\", \"port\": 48000}]}], \"requesters\": [\"q\"]}]}",
		 (int)(jobs - base), base, (int)(n - 2 - (size_t)(jobs - base)), jobs, JOB,
		 key_path, TU_WORKER_PORT(JOB), TU_WORKER_PORT(JOB), TU_WORKER_PORT(JOB),
		 TU_WORKER_PORT(JOB), MODEL, key_path);
	return pol;
}

static int suite_init(void)
{
	static const uint8_t k[DP_AUTH_KEY_SIZE] = { 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc,
		0xfe, 1, 2, 3, 4, 5, 6, 7, 8 };
	FILE *f;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(key_path, sizeof(key_path), "%s/job12.key", dir);
	f = fopen(key_path, "w");
	if (f == NULL)
		return 1;
	for (unsigned i = 0; i < sizeof(k); i++)
		fprintf(f, "%02x", k[i]);
	fputc('\n', f);
	fclose(f);
	chmod(key_path, 0600);
	dp_auth_key_set(&key, k, DP_AUTH_COVER_PAYLOAD);
	return tu_policy_apply(policy_keyed(400)) == 0 ? 0 : 1;
}

static int suite_fini(void)
{
	unlink(key_path);
	rmdir(dir);
	return 0;
}

/* Build a message of job 12 from rank; tag: 0 none, 1 right, 2 wrong key. */
static struct rte_mbuf *build(uint8_t type, uint16_t rank, uint16_t slot, uint32_t round,
			      const void *payload, size_t size, uint64_t salt, int tag)
{
	uint8_t raw[DP_PROTO_HDR_SIZE + DP_PROTO_TAG_SIZE + 1024];
	struct dp_proto_hdr h = {
		.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION, .type = type, .job = JOB,
		.rank = rank, .slot = slot, .dtype = DP_DTYPE_F32,
		.flags = tag ? DP_PROTO_FLAG_AUTH : 0,
		.count = type == DP_MSG_GRAD ? (uint16_t)(size / 4) : 0, .round = round,
		/* A keyed HELLO's offset is the sender's wall clock (ms). */
		.offset = type == DP_MSG_HELLO ? (uint32_t)gw_realtime_ms(tu.gw) : 0,
	};
	struct dp_auth_key k = key;
	size_t off = tag ? DP_PROTO_HDR_SIZE + DP_PROTO_TAG_SIZE : DP_PROTO_HDR_SIZE;
	struct tu_pkt p;

	if (tag == 2)
		k.k[0] ^= 1;
	dp_proto_hdr_write(raw, &h);
	memcpy(raw + off, payload, size);
	if (tag)
		dp_auth_tag_write(raw + DP_PROTO_HDR_SIZE, dp_auth_tag(&k, salt, raw, payload, size));
	tu_pkt_daitn(&p, type, JOB, rank, slot, DP_DTYPE_F32, 0, 0, round, raw, off + size);
	p.raw = true;
	p.sport = TU_WORKER_PORT(JOB);
	if (type != DP_MSG_GRAD)
		p.dport = TU_UDP_BASE;
	return tu_build(&p);
}

static void send_poll(struct rte_mbuf *m, unsigned queue)
{
	tu_clock_advance_ms(10);
	tu_inject(queue, m);
	tu_poll();
}

/* The tag of a collected answer checks with the key under context. */
static bool out_tag_ok(const struct tu_out *o, uint64_t context)
{
	const uint8_t *dh = o->frame + DP_PROTO_L2_L4_SIZE;

	return (o->h.flags & DP_PROTO_FLAG_AUTH) != 0 &&
	       dp_auth_check(&key, context, dh, o->payload, o->payload + DP_PROTO_TAG_SIZE,
			     o->payload_size - DP_PROTO_TAG_SIZE);
}

/* Join job 12 with tagged HELLOs (nonces n .. n+3): the run's salt. */
static uint64_t join(uint32_t n)
{
	uint64_t salt = 0;

	for (uint16_t r = 0; r < 4; r++) {
		send_poll(build(DP_MSG_HELLO, r, 0, n + r, tu_hello_pad, DP_PROTO_HELLO_PAD, 0, 1), 0);
		CU_ASSERT_EQUAL_FATAL(tu_collect(), 1);
		CU_ASSERT_EQUAL(tu_out[0].check, DP_PROTO_CHECK_OK);
		CU_ASSERT_TRUE(out_tag_ok(&tu_out[0], 0));
		CU_ASSERT_EQUAL(tu_out[0].h.type, r == 3 ? DP_MSG_HELLO_ACK : DP_MSG_HELLO_WAIT);
		if (r == 3)
			salt = dp_auth_tag_read(tu_out[0].payload + DP_PROTO_TAG_SIZE +
						sizeof(struct dp_proto_job_info));
	}
	return salt;
}

static uint32_t run_base(void)
{
	return gw_run_base(atomic_load(&gw_tables_job(tu.gw->tables, JOB)->inst->run));
}

static void test_hello_without_the_key_gets_no_answer(void)
{
	struct gw_stats before;
	uint64_t run = atomic_load(&gw_tables_job(tu.gw->tables, JOB)->inst->run);

	tu_snap(&before);
	send_poll(build(DP_MSG_HELLO, 0, 0, 1, tu_hello_pad, DP_PROTO_HELLO_PAD, 0, 0), 0);
	send_poll(build(DP_MSG_HELLO, 0, 0, 2, tu_hello_pad, DP_PROTO_HELLO_PAD, 0, 2), 0);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AUTH_MISSING), 1);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AUTH_BAD), 1);
	CU_ASSERT_EQUAL(tu_collect(), 0);
	CU_ASSERT_EQUAL(atomic_load(&gw_tables_job(tu.gw->tables, JOB)->inst->run), run);
}

/* GRADs count only with the key and the run's salt; results are tagged,
 * the same tag for every rank; another run has another salt. */
static void test_grads_need_the_key_and_the_runs_salt(void)
{
	uint64_t salt = join(nonce), salt2;
	uint32_t round = run_base();
	uint16_t slot = dp_proto_slot_make(0, round & 1);
	struct gw_stats before;
	unsigned n, results = 0;
	uint64_t tag0 = 0;

	nonce += 16;
	tu_snap(&before);
	send_poll(build(DP_MSG_GRAD, 0, slot, round, vals, sizeof(vals), salt, 0), 0);
	send_poll(build(DP_MSG_GRAD, 0, slot, round, vals, sizeof(vals), salt, 2), 0);
	send_poll(build(DP_MSG_GRAD, 0, slot, round, vals, sizeof(vals), salt ^ 1, 1), 0);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AUTH_MISSING), 1);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AUTH_BAD), 2);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AGGREGATED), 0);
	for (uint16_t r = 0; r < 4; r++)
		send_poll(build(DP_MSG_GRAD, r, slot, round, vals, sizeof(vals), salt, 1), 0);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_COMPLETED), 1);
	n = tu_collect();
	for (unsigned i = 0; i < n; i++) {
		const struct tu_out *o = &tu_out[i];

		if (o->check != DP_PROTO_CHECK_OK || o->h.type != DP_MSG_RESULT)
			continue;
		results++;
		CU_ASSERT_TRUE(out_tag_ok(o, salt));
		CU_ASSERT_FALSE(out_tag_ok(o, salt ^ 1));
		CU_ASSERT_EQUAL(((const float *)(o->payload + DP_PROTO_TAG_SIZE))[3], 16.0f);
		if (results == 1)
			tag0 = dp_auth_tag_read(o->payload);
		CU_ASSERT_EQUAL(dp_auth_tag_read(o->payload), tag0);
	}
	CU_ASSERT_EQUAL(results, 4);

	/* Rank 0 restarts: a new run, a new salt; the old one is worthless. */
	salt2 = join(nonce);
	nonce += 16;
	CU_ASSERT_NOT_EQUAL(salt2, salt);
	round = run_base();
	tu_snap(&before);
	send_poll(build(DP_MSG_GRAD, 0, dp_proto_slot_make(0, round & 1), round, vals,
			sizeof(vals), salt, 1), 0);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AUTH_BAD), 1);
	tu_collect();
}

/* With no run on, a keyed job answers only a GRAD of its last run (tagged
 * under that run's salt), with an ERROR tagged under the same salt; a
 * stranger's untagged GRAD gets nothing. */
static void test_ended_run_is_told_only_to_its_own_workers(void)
{
	uint64_t salt = join(nonce);
	uint32_t round = run_base();
	uint16_t slot = dp_proto_slot_make(1, round & 1);
	struct gw_stats before;

	nonce += 16;
	/* Rank 0's new process: the run ends (HELLO_WAIT for the next). */
	send_poll(build(DP_MSG_HELLO, 0, 0, nonce, tu_hello_pad, DP_PROTO_HELLO_PAD, 0, 1), 0);
	nonce += 16;
	CU_ASSERT_EQUAL(tu_collect(), 1);
	CU_ASSERT_FALSE(gw_run_on(atomic_load(&gw_tables_job(tu.gw->tables, JOB)->inst->run)));
	tu_snap(&before);
	send_poll(build(DP_MSG_GRAD, 1, slot, round, vals, sizeof(vals), salt, 0), 0);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AUTH_MISSING), 1);
	CU_ASSERT_EQUAL(tu_collect(), 0);
	send_poll(build(DP_MSG_GRAD, 1, slot, round, vals, sizeof(vals), salt, 1), 0);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_RUN_NONE), 1);
	CU_ASSERT_EQUAL_FATAL(tu_collect(), 1);
	CU_ASSERT_EQUAL(tu_out[0].h.type, DP_MSG_ERROR);
	CU_ASSERT_EQUAL(tu_out[0].payload_size, DP_PROTO_TAG_SIZE + sizeof(vals));
	CU_ASSERT_TRUE(out_tag_ok(&tu_out[0], salt));
	CU_ASSERT_FALSE(out_tag_ok(&tu_out[0], 0));
}

/* A keyed HELLO carries the sender's clock: one 60 s old (recorded, and
 * replayed) is not answered and ends nothing. */
static void test_stale_hello_is_not_answered(void)
{
	uint8_t raw[DP_PROTO_HDR_SIZE + DP_PROTO_TAG_SIZE + DP_PROTO_HELLO_PAD] = { 0 };
	struct dp_proto_hdr h = {
		.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION, .type = DP_MSG_HELLO,
		.job = JOB, .rank = 2, .flags = DP_PROTO_FLAG_AUTH, .round = nonce,
		.offset = (uint32_t)(gw_realtime_ms(tu.gw) - 60000),
	};
	struct gw_stats before;
	struct tu_pkt p;

	nonce += 16;
	dp_proto_hdr_write(raw, &h);
	dp_auth_tag_write(raw + DP_PROTO_HDR_SIZE, dp_auth_tag(&key, 0, raw, raw +
			  DP_PROTO_HDR_SIZE + DP_PROTO_TAG_SIZE, DP_PROTO_HELLO_PAD));
	tu_pkt_daitn(&p, DP_MSG_HELLO, JOB, 2, 0, 0, 0, 0, 0, raw, sizeof(raw));
	p.raw = true;
	p.sport = TU_WORKER_PORT(JOB);
	p.dport = TU_UDP_BASE;
	tu_snap(&before);
	send_poll(tu_build(&p), 0);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AUTH_REPLAY), 1);
	CU_ASSERT_EQUAL(tu_collect(), 0);
}

/* A HELLO of an earlier process of a rank, replayed with its valid tag,
 * neither ends the run nor gets an answer. */
static void test_replayed_hello_cannot_end_a_run(void)
{
	uint32_t first = nonce;
	struct gw_stats before;
	uint64_t run;

	join(first);
	join(first + 100);      /* every rank's new process: a new run */
	nonce += 200;
	run = atomic_load(&gw_tables_job(tu.gw->tables, JOB)->inst->run);
	CU_ASSERT_TRUE(gw_run_on(run));
	tu_snap(&before);
	send_poll(build(DP_MSG_HELLO, 2, 0, first + 2, tu_hello_pad, DP_PROTO_HELLO_PAD, 0, 1), 0);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AUTH_REPLAY), 1);
	CU_ASSERT_EQUAL(tu_collect(), 0);
	CU_ASSERT_EQUAL(atomic_load(&gw_tables_job(tu.gw->tables, JOB)->inst->run), run);

	CU_ASSERT_EQUAL(tu_policy_apply(tu_policy_make(401, 256, true)), 0);
}

/* An inference message of model 9 from ip:sport with mac; tag: 0 none, 1 the
 * key, 2 another key. Payload n bytes of 0x3f (float ~0.75). */
static struct rte_mbuf *infer_msg(uint8_t type, uint8_t stage, uint32_t session, uint32_t ip,
				  uint16_t sport, const struct rte_ether_addr *mac, size_t n, int tag)
{
	uint8_t raw[DP_INFER_HDR_SIZE + 8 + 256];
	struct dp_infer_hdr h = {
		.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION, .type = type,
		.model = MODEL, .stage = stage, .session = session, .n_frags = 1,
		.flags = tag ? DP_INFER_FLAG_AUTH : 0,
	};
	size_t off = tag ? DP_INFER_HDR_SIZE + 8 : DP_INFER_HDR_SIZE;
	struct dp_auth_key k = key;
	struct tu_pkt p;

	if (tag == 2)
		k.k[1] ^= 1;
	dp_proto_infer_write(raw, &h);
	memset(raw + off, 0x3f, n);
	if (tag)
		dp_auth_tag_write(raw + DP_INFER_HDR_SIZE, dp_auth_tag(&k, 0, raw, raw + off, n));
	tu_pkt_daitn(&p, 0, 0, 0, 0, 0, 0, 0, 0, raw, off + n);
	p.raw = true;
	p.src_ip = ip;
	p.sport = sport;
	p.dport = TU_UDP_BASE;
	p.src_mac = *mac;
	return tu_build(&p);
}

/* A keyed model's BEAT counts only tagged, fresh (its time near the
 * gateway's) and newer than the node's last: a recorded one is worthless. */
static void test_keyed_model_beats_must_be_tagged_and_fresh(void)
{
	uint32_t now = (uint32_t)gw_realtime_ms(tu.gw);
	struct gw_stats before;

	tu_snap(&before);
	send_poll(infer_msg(DP_MSG_INFER_BEAT, 0, now, S_IP, 48000, &s_mac, 0, 0), 0);
	send_poll(infer_msg(DP_MSG_INFER_BEAT, 0, now, S_IP, 48000, &s_mac, 0, 2), 0);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AUTH_MISSING), 1);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AUTH_BAD), 1);
	/* send_poll moved the clock 20 ms: still fresh. */
	send_poll(infer_msg(DP_MSG_INFER_BEAT, 0, now + 20, S_IP, 48000, &s_mac, 0, 1), 0);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_INFER_BEAT), 1);
	/* The same BEAT again, an older one, one from 10 s ago. */
	send_poll(infer_msg(DP_MSG_INFER_BEAT, 0, now + 20, S_IP, 48000, &s_mac, 0, 1), 0);
	send_poll(infer_msg(DP_MSG_INFER_BEAT, 0, now + 10, S_IP, 48000, &s_mac, 0, 1), 0);
	now = (uint32_t)gw_realtime_ms(tu.gw);
	send_poll(infer_msg(DP_MSG_INFER_BEAT, 0, now - 10000, S_IP, 48000, &s_mac, 0, 1), 0);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AUTH_REPLAY), 3);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_INFER_BEAT), 1);
	CU_ASSERT_EQUAL(tu_collect(), 0);
}

/* The first BEAT a node sends counts whatever the clock reads, the top bit
 * of its low 32 bits set included (ms since the epoch wrap every 49.7 days). */
static void test_first_beat_counts_at_any_clock(void)
{
	struct gw_infer_tables *it = tu.gw->tables->infer;
	int64_t now = gw_realtime_ms(tu.gw), shift = 0x80000000ll - (now & 0xffffffffll) + 1000;
	struct gw_stats before;
	uint32_t s = UINT32_MAX;

	for (uint32_t n = 0; n < tu.gw->tables->policy->n_nodes; n++)
		if (tu.gw->tables->policy->nodes[n].ip == S_IP)
			s = n;
	CU_ASSERT_FATAL(s != UINT32_MAX);
	if (shift < 0)
		shift += 0x100000000ll;
	tu.gw->realtime_off_ms += shift;
	__atomic_store_n(&it->last_beat[s], 0, __ATOMIC_RELAXED);
	now = gw_realtime_ms(tu.gw);
	CU_ASSERT_TRUE(((uint32_t)now & 0x80000000u) != 0);
	tu_snap(&before);
	send_poll(infer_msg(DP_MSG_INFER_BEAT, 0, (uint32_t)now, S_IP, 48000, &s_mac, 0, 1), 0);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_INFER_BEAT), 1);
	tu.gw->realtime_off_ms -= shift;
	__atomic_store_n(&it->last_beat[s], 0, __ATOMIC_RELAXED);
}

/* A keyed model's activation is taken only with its tag and sent on with
 * a new one (the gateway wrote the requester's address into it). */
static void test_keyed_model_activations_are_checked_and_signed_anew(void)
{
	struct gw_stats before;
	const uint8_t *dh;
	unsigned n;

	tu_snap(&before);
	send_poll(infer_msg(DP_MSG_INFER_ACT, 0, 7, Q_IP, 41000, &q_mac, 64, 0), 0);
	send_poll(infer_msg(DP_MSG_INFER_ACT, 0, 7, Q_IP, 41000, &q_mac, 64, 2), 0);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AUTH_MISSING), 1);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AUTH_BAD), 1);
	CU_ASSERT_EQUAL(tu_collect(), 0);
	send_poll(infer_msg(DP_MSG_INFER_ACT, 0, 7, Q_IP, 41000, &q_mac, 64, 1), 0);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_INFER_FORWARDED), 1);
	n = tu_collect();
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(tu_out[0].dst_ip, S_IP);
	CU_ASSERT_TRUE(rte_is_same_ether_addr(&tu_out[0].eth.dst_addr, &s_mac));
	dh = tu_out[0].frame + DP_PROTO_L2_L4_SIZE;
	CU_ASSERT_TRUE((dh[7] & DP_INFER_FLAG_AUTH) != 0);
	CU_ASSERT_EQUAL(dh[16] << 24 | dh[17] << 16 | dh[18] << 8 | dh[19], Q_IP);
	CU_ASSERT_TRUE(dp_auth_check(&key, 0, dh, dh + DP_INFER_HDR_SIZE, dh + DP_INFER_HDR_SIZE + 8,
				     64));
}

static CU_TestInfo tests[] = {
	{ "keyed_model_beats_must_be_tagged_and_fresh",
	  test_keyed_model_beats_must_be_tagged_and_fresh },
	{ "keyed_model_activations_are_checked_and_signed_anew",
	  test_keyed_model_activations_are_checked_and_signed_anew },
	{ "first_beat_counts_at_any_clock", test_first_beat_counts_at_any_clock },
	{ "hello_without_the_key_gets_no_answer", test_hello_without_the_key_gets_no_answer },
	{ "grads_need_the_key_and_the_runs_salt", test_grads_need_the_key_and_the_runs_salt },
	{ "ended_run_is_told_only_to_its_own_workers",
	  test_ended_run_is_told_only_to_its_own_workers },
	{ "stale_hello_is_not_answered", test_stale_hello_is_not_answered },
	{ "replayed_hello_cannot_end_a_run", test_replayed_hello_cannot_end_a_run },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo tu_suite_gw_auth = { "gw_auth", suite_init, suite_fini, NULL, NULL, tests };
