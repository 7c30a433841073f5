/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite daitn_open: configuration checks and the HELLO exchange of
 * daitn_open().
 *
 * Everything stays on 127.0.0.1. The "silent gateway" is a socket this test
 * binds and never answers. Refusals and malformed answers come from the test
 * peer (daitn_test_peer.h): a minimal message source that exercises the
 * client's handling of HELLO_ACK and ERROR. It is not a gateway and stands in
 * for none; the real daitn-gw is tested end to end by the integration tests.
 */
#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daitn_test_util.h"

static struct daitn_config
cfg_base(uint16_t gw_port, uint16_t bind_port)
{
	struct daitn_config c = {
		.gateway = "127.0.0.1",
		.gateway_port = gw_port,
		.bind_addr = "127.0.0.1",
		.bind_port = bind_port,
		.job = 7,
		.rank = 1,
		.hello_timeout_ms = 1000,
	};
	return c;
}

static void
expect_einval(const struct daitn_config *c, const char *needle)
{
	struct daitn *d = (struct daitn *)0x1;
	int rc = daitn_open(c, &d);

	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT_PTR_NULL(d);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(NULL), needle));
}

static void
test_bad_config_is_rejected_with_a_sentence(void)
{
	struct daitn_config c = cfg_base(47000, 40000);
	struct daitn *d;

	CU_ASSERT_EQUAL(daitn_open(&c, NULL), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(NULL), "out is NULL"));
	CU_ASSERT_EQUAL(daitn_open(NULL, &d), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(NULL), "config is NULL"));

	c.gateway = NULL;
	expect_einval(&c, "gateway is NULL");
	c = cfg_base(47000, 40000);
	c.gateway = "10.0.0.300";
	expect_einval(&c, "not an IPv4 address (\"10.0.0.300\")");
	c.gateway = "0.0.0.0";
	expect_einval(&c, "not a unicast address");
	c.gateway = "224.0.0.1";
	expect_einval(&c, "not a unicast address");
	c = cfg_base(47000, 40000);
	c.bind_addr = "localhost";
	expect_einval(&c, "bind_addr: not an IPv4 address");
	c = cfg_base(47000, 0);
	expect_einval(&c, "bind_port is 0");
	c = cfg_base(47000, 40000);
	c.rank = DP_PROTO_WORKERS_MAX;
	expect_einval(&c, "rank 1024");
	c = cfg_base(47000, 40000);
	c.window = DP_PROTO_SLOTS_MAX + 1;
	expect_einval(&c, "window");
	c = cfg_base(47000, 40000);
	c.rto_us = 20u * 1000u * 1000u;
	expect_einval(&c, "rto_us");
	c = cfg_base(47000, 40000);
	c.timeout_ms = UINT32_MAX;
	expect_einval(&c, "timeouts");
}

static void
test_bind_conflict_names_the_port(void)
{
	uint16_t port;
	int fd = tpeer_udp_socket(&port);
	struct daitn_config c = cfg_base(tutil_free_port(), 0);
	struct daitn *d = NULL;

	CU_ASSERT_FATAL(fd >= 0);
	c.bind_port = port;
	CU_ASSERT_EQUAL(daitn_open(&c, &d), -EADDRINUSE);
	CU_ASSERT_PTR_NULL(d);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(NULL), "bind 127.0.0.1:"));
	close(fd);
}

static void
test_silent_gateway_times_out_within_the_bound(void)
{
	uint16_t gw_port;
	int gw = tpeer_udp_socket(&gw_port);
	struct daitn_config c = cfg_base(0, tutil_free_port());
	struct daitn *d = NULL;
	uint8_t buf[128];
	unsigned hellos = 0, good = 0;
	uint32_t round0 = 0;
	uint64_t t0, ms;
	int rc;
	ssize_t n;

	CU_ASSERT_FATAL(gw >= 0);
	c.gateway_port = gw_port;
	c.hello_timeout_ms = 300;
	/* Nothing answers: run the timers in virtual time. */
	tutil_vclock_on();
	t0 = daitn_now_ns();
	rc = daitn_open(&c, &d);
	ms = (daitn_now_ns() - t0) / 1000000u;
	tutil_vclock_off();
	CU_ASSERT_EQUAL(rc, -ETIMEDOUT);
	CU_ASSERT_PTR_NULL(d);
	CU_ASSERT_EQUAL(ms, 300);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(NULL), "no answer from gateway 127.0.0.1:"));

	/* Every HELLO is well formed and carries the same nonce round; they
	 * were resent at 0, 50, 150 ms (gaps of 50, 100, 200 ms: 3 in 300 ms). */
	while ((n = recv(gw, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		struct dp_proto_hdr h;

		hellos++;
		if (dp_proto_hdr_check(buf, (size_t)n, &h) == DP_PROTO_CHECK_OK && h.type == DP_MSG_HELLO &&
		    h.job == 7 && h.rank == 1 && h.dtype == 0 && h.count == 0 && h.slot == 0 &&
		    h.offset == 0 && (good == 0 || h.round == round0)) {
			round0 = h.round;
			good++;
		}
	}
	CU_ASSERT_EQUAL(hellos, 3);
	CU_ASSERT_EQUAL(good, hellos);
	close(gw);
}

static void
test_nothing_listening_fails_fast(void)
{
	struct daitn_config c = cfg_base(tutil_free_port(), tutil_free_port());
	struct daitn *d = NULL;
	uint64_t t0 = daitn_now_ns(), ms;
	int rc;

	c.hello_timeout_ms = 5000;
	rc = daitn_open(&c, &d);
	ms = (daitn_now_ns() - t0) / 1000000u;
	/* Loopback answers with ICMP port unreachable at once. */
	CU_ASSERT_EQUAL(rc, -ECONNREFUSED);
	CU_ASSERT(ms < 1000);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(NULL), "unreachable"));
	CU_ASSERT_PTR_NULL(d);
}

/* A started peer; with TPEER_HELLO_WAIT, the first wait_hellos HELLOs get
 * HELLO_WAIT. */
static struct tpeer *
peer_new_wait(enum tpeer_hello mode, unsigned wait_hellos)
{
	struct tpeer *p = calloc(1, sizeof(*p));

	p->hello = mode;
	p->wait_hellos = wait_hellos;
	p->job_id = 7;
	p->job = (struct dp_proto_job_info){
		.n_workers = 4, .chunk_size = 1024, .n_slots = 16, .n_shards = 2,
		.dtype = DP_DTYPE_F32, .policy_version = 42, .round_base = 1000,
	};
	p->mult = 1;
	CU_ASSERT_FATAL(tpeer_start(p) == 0);
	return p;
}

static struct tpeer *
peer_new(enum tpeer_hello mode)
{
	return peer_new_wait(mode, 0);
}

static void
test_error_answer_is_refusal_with_gateway_text(void)
{
	struct tpeer *p = peer_new(TPEER_HELLO_ERROR);
	struct daitn_config c;
	struct daitn *d = NULL;

	p->err_code = DP_ERR_UNKNOWN_JOB;
	p->err_text = "job 7 is not in policy version 3";
	c = cfg_base(p->job.udp_port_base, tutil_free_port());
	CU_ASSERT_EQUAL(daitn_open(&c, &d), -ECONNREFUSED);
	CU_ASSERT_PTR_NULL(d);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(NULL), "refused job 7 rank 1: unknown job (code 1)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(NULL), "job 7 is not in policy version 3"));
	tpeer_stop(p);
	/* Refused at the first answer; a loaded machine may have resent the
	 * HELLO (50 ms) before the peer thread answered it. */
	CU_ASSERT(p->hellos >= 1);
	free(p);
}

static void
test_malformed_ack_is_a_protocol_error(void)
{
	struct tpeer *p = peer_new(TPEER_HELLO_BAD_ACK);
	struct daitn_config c = cfg_base(p->job.udp_port_base, tutil_free_port());
	struct daitn *d = NULL;

	CU_ASSERT_EQUAL(daitn_open(&c, &d), -EPROTO);
	CU_ASSERT_PTR_NULL(d);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(NULL), "n_slots 0"));
	tpeer_stop(p);
	free(p);
}

static void
test_ack_with_other_round_is_ignored_and_right_one_taken(void)
{
	struct tpeer *p = peer_new(TPEER_HELLO_OTHER_ROUND);
	struct daitn_config c = cfg_base(p->job.udp_port_base, tutil_free_port());
	const struct daitn_job_info *ji;
	struct daitn *d = NULL;

	CU_ASSERT_EQUAL_FATAL(daitn_open(&c, &d), 0);
	ji = daitn_job(d);
	CU_ASSERT_EQUAL(ji->n_workers, 4);
	CU_ASSERT_EQUAL(ji->chunk_size, 1024);
	CU_ASSERT_EQUAL(ji->n_slots, 16);
	CU_ASSERT_EQUAL(ji->n_shards, 2);
	CU_ASSERT_EQUAL(ji->dtype, DAITN_FLOAT32);
	CU_ASSERT_EQUAL(ji->policy_version, 42);
	CU_ASSERT_EQUAL(ji->round_base, 1000);
	CU_ASSERT_STRING_EQUAL(daitn_last_error(d), "");
	daitn_close(d);
	tpeer_stop(p);
	free(p);
}

/* HELLO_WAIT: the gateway is there and the run waits for other ranks. The
 * open waits past hello_timeout_ms (30 waits at 50 ms outlast its 1000 ms)
 * and succeeds when the ACK comes. */
static void
test_open_waits_for_the_other_ranks(void)
{
	struct tpeer *p = peer_new_wait(TPEER_HELLO_WAIT, 30);
	struct daitn_config c = cfg_base(p->job.udp_port_base, tutil_free_port());
	struct daitn *d = NULL;

	c.hello_timeout_ms = 1000;
	c.join_timeout_ms = 600000;
	CU_ASSERT_EQUAL(daitn_open(&c, &d), 0);
	tpeer_stop(p);
	CU_ASSERT_EQUAL(p->hellos, 31);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(daitn_job(d)->round_base, 1000);
	daitn_close(d);
	free(p);
}

/* Ranks that never join: the open gives up after join_timeout_ms and names
 * them. */
static void
test_open_names_the_ranks_that_never_joined(void)
{
	struct tpeer *p = peer_new_wait(TPEER_HELLO_WAIT, UINT32_MAX);
	struct daitn_config c = cfg_base(p->job.udp_port_base, tutil_free_port());
	struct daitn *d = NULL;

	c.join_timeout_ms = 300;
	CU_ASSERT_EQUAL(daitn_open(&c, &d), -ETIMEDOUT);
	tpeer_stop(p);
	CU_ASSERT_PTR_NULL(d);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(NULL),
				      "job 7 rank 1: 2 of 4 ranks joined in 1000 ms; still "
				      "waiting for rank(s) 1, 3"));
	free(p);
}

int
main(void)
{
	static const CU_TestInfo tests[] = {
		{ "bad_config_is_rejected_with_a_sentence",
		  test_bad_config_is_rejected_with_a_sentence },
		{ "bind_conflict_names_the_port", test_bind_conflict_names_the_port },
		{ "silent_gateway_times_out_within_the_bound",
		  test_silent_gateway_times_out_within_the_bound },
		{ "nothing_listening_fails_fast", test_nothing_listening_fails_fast },
		{ "error_answer_is_refusal_with_gateway_text",
		  test_error_answer_is_refusal_with_gateway_text },
		{ "malformed_ack_is_a_protocol_error", test_malformed_ack_is_a_protocol_error },
		{ "ack_with_other_round_is_ignored_and_right_one_taken",
		  test_ack_with_other_round_is_ignored_and_right_one_taken },
		{ "open_waits_for_the_other_ranks", test_open_waits_for_the_other_ranks },
		{ "open_names_the_ranks_that_never_joined",
		  test_open_names_the_ranks_that_never_joined },
		CU_TEST_INFO_NULL,
	};

	return tutil_run("daitn_open", tests);
}
