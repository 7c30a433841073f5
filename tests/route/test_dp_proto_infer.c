/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite dp_proto_infer: inference messages. Every malformed header is refused
 * under its own drop reason; each case runs on an exact-size heap copy so ASan
 * catches any read past len.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../tu_main.h"

#include "dp_proto.h"
#include "dp_proto_infer.h"

static uint64_t counters[DP_PROTO_CHECKS];

static enum dp_proto_check
check_exact(const uint8_t *buf, size_t len, struct dp_infer_hdr *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum dp_proto_check d;

	memcpy(copy, buf, len);
	d = dp_proto_infer_check(copy, len, out);
	free(copy);
	counters[d]++;
	return d;
}

static const struct dp_infer_hdr proto_hdr = {
	.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION, .type = DP_MSG_INFER_ACT,
	.model = 0x1234, .stage = 2, .flags = 3, .session = 0xa1b2c3d4, .request = 0xbeef,
	.frag = 1, .n_frags = 4, .reply_ip = 0x0a000105, .reply_port = 47123,
};

static size_t
build(uint8_t *buf, const struct dp_infer_hdr *h, size_t payload)
{
	dp_proto_infer_write(buf, h);
	memset(buf + DP_INFER_HDR_SIZE, 0x5a, payload);
	return DP_INFER_HDR_SIZE + payload;
}

static void
reset(void)
{
	memset(counters, 0, sizeof(counters));
}

static void
test_short_header_is_dropped(void)
{
	uint8_t buf[64];
	struct dp_infer_hdr h;
	size_t len;

	build(buf, &proto_hdr, 8);
	for (len = 0; len < DP_INFER_HDR_SIZE; len++)
		CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_SHORT);
	CU_ASSERT_EQUAL(counters[DP_PROTO_CHECK_SHORT], DP_INFER_HDR_SIZE);
	CU_ASSERT_EQUAL(counters[DP_PROTO_CHECK_OK], 0);
}

static void
test_bad_magic_and_version_are_dropped(void)
{
	uint8_t buf[128];
	struct dp_infer_hdr h = proto_hdr, out;
	size_t len;

	h.magic = 0x17da;
	len = build(buf, &h, 16);
	CU_ASSERT_EQUAL(check_exact(buf, len, &out), DP_PROTO_CHECK_BAD_MAGIC);
	h = proto_hdr;
	h.version = DP_PROTO_VERSION + 1;
	len = build(buf, &h, 16);
	CU_ASSERT_EQUAL(check_exact(buf, len, &out), DP_PROTO_CHECK_BAD_VERSION);
	CU_ASSERT_EQUAL(counters[DP_PROTO_CHECK_BAD_MAGIC], 1);
	CU_ASSERT_EQUAL(counters[DP_PROTO_CHECK_BAD_VERSION], 1);
}

static void
test_unassigned_and_training_types_are_dropped(void)
{
	static const uint8_t types[] = { 0, DP_MSG_GRAD, DP_MSG_ERROR, 15, 20, 31, 32, 255 };
	uint8_t buf[128];
	struct dp_infer_hdr h = proto_hdr, out;
	size_t i, len;

	for (i = 0; i < sizeof(types); i++) {
		h.type = types[i];
		len = build(buf, &h, 16);
		CU_ASSERT_EQUAL(check_exact(buf, len, &out), DP_PROTO_CHECK_BAD_TYPE);
	}
	CU_ASSERT_EQUAL(counters[DP_PROTO_CHECK_BAD_TYPE], sizeof(types));
	CU_ASSERT_TRUE(dp_proto_infer_is_infer(16));
	CU_ASSERT_TRUE(dp_proto_infer_is_infer(31));
	CU_ASSERT_FALSE(dp_proto_infer_is_infer(15));
	CU_ASSERT_FALSE(dp_proto_infer_is_infer(32));
}

static void
test_reserved_flags_are_dropped(void)
{
	uint8_t buf[128];
	struct dp_infer_hdr h = proto_hdr, out;
	unsigned bit;

	/* Bit 4 is DP_INFER_FLAG_AUTH: a tag follows, counted in the length. */
	for (bit = 5; bit < 8; bit++) {
		h.flags = (uint8_t)(1u << bit);
		CU_ASSERT_EQUAL(check_exact(buf, build(buf, &h, 16), &out), DP_PROTO_CHECK_BAD_FLAGS);
	}
	CU_ASSERT_EQUAL(counters[DP_PROTO_CHECK_BAD_FLAGS], 3);
	h.flags = DP_INFER_FLAG_AUTH;
	CU_ASSERT_EQUAL(dp_proto_infer_check(buf, build(buf, &h, 16), &out), DP_PROTO_CHECK_OK);
	CU_ASSERT_EQUAL(dp_proto_infer_payload_off(&out), DP_INFER_HDR_SIZE + 8);
	h.type = DP_MSG_INFER_BEAT;
	CU_ASSERT_EQUAL(dp_proto_infer_check(buf, build(buf, &h, 0), &out),
			DP_PROTO_CHECK_LENGTH_MISMATCH);
	CU_ASSERT_EQUAL(dp_proto_infer_check(buf, build(buf, &h, 8), &out), DP_PROTO_CHECK_OK);
}

static void
test_bad_fragment_numbers_are_dropped(void)
{
	uint8_t buf[128];
	struct dp_infer_hdr h = proto_hdr, out;

	h.n_frags = 0;
	h.frag = 0;
	CU_ASSERT_EQUAL(check_exact(buf, build(buf, &h, 16), &out), DP_PROTO_CHECK_BAD_COUNT);
	h.n_frags = 4;
	h.frag = 4;
	CU_ASSERT_EQUAL(check_exact(buf, build(buf, &h, 16), &out), DP_PROTO_CHECK_BAD_COUNT);
	h.frag = 255;
	CU_ASSERT_EQUAL(check_exact(buf, build(buf, &h, 16), &out), DP_PROTO_CHECK_BAD_COUNT);
	CU_ASSERT_EQUAL(counters[DP_PROTO_CHECK_BAD_COUNT], 3);
}

static void
test_payload_length_rules_are_enforced(void)
{
	static uint8_t buf[DP_INFER_HDR_SIZE + DP_INFER_PAYLOAD_MAX + 64];
	struct dp_infer_hdr h = proto_hdr, out;

	/* ACT and RESULT: 1 .. 8192 bytes. */
	CU_ASSERT_EQUAL(check_exact(buf, build(buf, &h, 0), &out), DP_PROTO_CHECK_LENGTH_MISMATCH);
	CU_ASSERT_EQUAL(check_exact(buf, build(buf, &h, DP_INFER_PAYLOAD_MAX + 1), &out),
			DP_PROTO_CHECK_LENGTH_MISMATCH);
	h.type = DP_MSG_INFER_RESULT;
	CU_ASSERT_EQUAL(check_exact(buf, build(buf, &h, 0), &out), DP_PROTO_CHECK_LENGTH_MISMATCH);
	/* ERROR: exactly 64. */
	h.type = DP_MSG_INFER_ERROR;
	CU_ASSERT_EQUAL(check_exact(buf, build(buf, &h, 63), &out), DP_PROTO_CHECK_LENGTH_MISMATCH);
	CU_ASSERT_EQUAL(check_exact(buf, build(buf, &h, 65), &out), DP_PROTO_CHECK_LENGTH_MISMATCH);
	/* BEAT: no payload at all. */
	h.type = DP_MSG_INFER_BEAT;
	CU_ASSERT_EQUAL(check_exact(buf, build(buf, &h, 1), &out), DP_PROTO_CHECK_LENGTH_MISMATCH);
	CU_ASSERT_EQUAL(check_exact(buf, build(buf, &h, 0), &out), DP_PROTO_CHECK_OK);
	CU_ASSERT_EQUAL(counters[DP_PROTO_CHECK_LENGTH_MISMATCH], 6);
	h.type = DP_MSG_INFER_ERROR;
	CU_ASSERT_EQUAL(check_exact(buf, build(buf, &h, 64), &out), DP_PROTO_CHECK_OK);
	h.type = DP_MSG_INFER_ACT;
	CU_ASSERT_EQUAL(check_exact(buf, build(buf, &h, 1), &out), DP_PROTO_CHECK_OK);
	CU_ASSERT_EQUAL(check_exact(buf, build(buf, &h, DP_INFER_PAYLOAD_MAX), &out), DP_PROTO_CHECK_OK);
	CU_ASSERT_EQUAL(counters[DP_PROTO_CHECK_OK], 4);
}

static void
test_valid_header_round_trips_big_endian(void)
{
	uint8_t buf[128];
	struct dp_infer_hdr out;
	size_t len = build(buf, &proto_hdr, 40);

	/* Wire layout: big-endian fields at their documented offsets. */
	CU_ASSERT_EQUAL(buf[0], 0xda);
	CU_ASSERT_EQUAL(buf[1], 0x17);
	CU_ASSERT_EQUAL(buf[3], DP_MSG_INFER_ACT);
	CU_ASSERT_EQUAL(buf[4], 0x12);
	CU_ASSERT_EQUAL(buf[5], 0x34);
	CU_ASSERT_EQUAL(buf[6], 2);
	CU_ASSERT_EQUAL(buf[8], 0xa1);
	CU_ASSERT_EQUAL(buf[11], 0xd4);
	CU_ASSERT_EQUAL(buf[12], 0xbe);
	CU_ASSERT_EQUAL(buf[14], 1);
	CU_ASSERT_EQUAL(buf[15], 4);
	CU_ASSERT_EQUAL(buf[16], 0x0a);
	CU_ASSERT_EQUAL(buf[19], 0x05);
	CU_ASSERT_EQUAL(buf[20], 47123 >> 8);
	CU_ASSERT_EQUAL(check_exact(buf, len, &out), DP_PROTO_CHECK_OK);
	CU_ASSERT_EQUAL(memcmp(&out, &proto_hdr, sizeof(out)), 0);
	/* The payload starts on a cache line in a frame: 14+20+8+22 = 64. */
	CU_ASSERT_EQUAL(DP_PROTO_L2_L4_SIZE + DP_INFER_HDR_SIZE, 64);
}

static void
test_error_payload_round_trips(void)
{
	uint8_t wire[64];
	struct dp_infer_error e;
	char longtext[100];

	memset(wire, 0, sizeof(wire));
	CU_ASSERT_EQUAL(dp_proto_infer_error_read(wire, 63, &e), -EINVAL);
	dp_proto_infer_error_write(wire, DP_INFER_ERR_NO_REPLICA, 0x0102, 3, "stage 3 down");
	CU_ASSERT_EQUAL(wire[0], 0);
	CU_ASSERT_EQUAL(wire[1], DP_INFER_ERR_NO_REPLICA);
	CU_ASSERT_EQUAL(dp_proto_infer_error_read(wire, 64, &e), 0);
	CU_ASSERT_EQUAL(e.code, DP_INFER_ERR_NO_REPLICA);
	CU_ASSERT_EQUAL(e.model, 0x0102);
	CU_ASSERT_EQUAL(e.stage, 3);
	CU_ASSERT_STRING_EQUAL(e.text, "stage 3 down");
	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	dp_proto_infer_error_write(wire, DP_INFER_ERR_OVERLOADED, 1, 0, longtext);
	CU_ASSERT_EQUAL(dp_proto_infer_error_read(wire, 64, &e), 0);
	CU_ASSERT_EQUAL(strlen(e.text), 55);
	CU_ASSERT_STRING_EQUAL(dp_proto_infer_err_name(DP_INFER_ERR_NO_REPLICA), "no_replica");
	CU_ASSERT_STRING_EQUAL(dp_proto_infer_err_name(99), "unknown");
}

static CU_TestInfo tests[] = {
	{ "short_header_is_dropped", test_short_header_is_dropped },
	{ "bad_magic_and_version_are_dropped", test_bad_magic_and_version_are_dropped },
	{ "unassigned_and_training_types_are_dropped", test_unassigned_and_training_types_are_dropped },
	{ "reserved_flags_are_dropped", test_reserved_flags_are_dropped },
	{ "bad_fragment_numbers_are_dropped", test_bad_fragment_numbers_are_dropped },
	{ "payload_length_rules_are_enforced", test_payload_length_rules_are_enforced },
	{ "valid_header_round_trips_big_endian", test_valid_header_round_trips_big_endian },
	{ "error_payload_round_trips", test_error_payload_round_trips },
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run((CU_SuiteInfo){ "dp_proto_infer", NULL, NULL, reset, NULL, tests });
}
