/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite daitn_convert: daitn_allreduce()'s argument checks and element-type
 * paths (float32 data on int32 jobs through fixed point, int32 and 16-bit
 * types passed through bit for bit).
 *
 * The RESULTs come from the test peer (daitn_test_peer.h), which returns each
 * float32/int32 contribution times 2 and 16-bit ones unchanged. It exercises
 * the client's own conversions only; it is not a gateway.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "daitn_test_util.h"
#include "kn_fixed.h"

static void
test_bad_arguments_are_rejected_before_sending(void)
{
	struct tpeer *p = tutil_peer(DP_DTYPE_F32, 64, 4, 1);
	struct daitn_stats st;
	struct daitn *d = NULL;
	float buf[33] = { 1.0f };

	CU_ASSERT_EQUAL(daitn_allreduce(NULL, buf, 4, DAITN_FLOAT32), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 100000, 2000, &d), 0);
	CU_ASSERT_EQUAL(daitn_allreduce(d, NULL, 4, DAITN_FLOAT32), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "buf is NULL"));
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 4, (enum daitn_dtype)9), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "dtype 9 is not"));
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 4, (enum daitn_dtype)0x101), -EINVAL);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 4, DAITN_INT32), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "dtype int32 does not match job 7's float32"));
	CU_ASSERT_EQUAL(daitn_allreduce(d, (char *)buf + 2, 4, DAITN_FLOAT32), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "not aligned"));
	if (sizeof(size_t) > 4) {
		CU_ASSERT_EQUAL(daitn_allreduce(d, buf, (size_t)UINT32_MAX + 1, DAITN_FLOAT32), -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "split the tensor"));
	}
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 0, DAITN_FLOAT32), 0);
	daitn_stats_get(d, &st);
	CU_ASSERT_EQUAL(st.chunks_sent, 0);
	CU_ASSERT_EQUAL(st.allreduces, 0);
	/* The handle is still usable. */
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 33, DAITN_FLOAT32), 0);
	CU_ASSERT_EQUAL(buf[0], 2.0f);
	CU_ASSERT_STRING_EQUAL(daitn_last_error(d), "");
	daitn_close(d);
	tpeer_stop(p);
	CU_ASSERT_EQUAL(p->grads, 3);
	free(p);
}

static void
test_out_of_range_float_fails_before_sending_and_keeps_buf(void)
{
	struct tpeer *p = tutil_peer(DP_DTYPE_I32, 64, 4, 1);
	struct daitn_stats st;
	struct daitn *d = NULL;
	float buf[40], copy[40];
	double lim;

	for (int i = 0; i < 40; i++)
		buf[i] = (float)i - 20.0f;
	CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 100000, 2000, &d), 0);
	lim = kn_fixed_limit(16, 4);
	buf[5] = (float)(lim * 1.01);
	memcpy(copy, buf, sizeof(buf));
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 40, DAITN_FLOAT32), -ERANGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "element 5 ("));
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "4 workers"));
	CU_ASSERT_EQUAL(memcmp(buf, copy, sizeof(buf)), 0);
	buf[5] = NAN;
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 40, DAITN_FLOAT32), -ERANGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(daitn_last_error(d), "element 5 (nan)"));
	daitn_stats_get(d, &st);
	CU_ASSERT_EQUAL(st.chunks_sent, 0);
	buf[5] = 0.0f;
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 40, DAITN_FLOAT32), 0);
	CU_ASSERT_EQUAL(buf[39], 38.0f);
	daitn_close(d);
	tpeer_stop(p);
	free(p);
}

static void
test_float_on_int32_job_goes_through_fixed_point(void)
{
	struct tpeer *p = tutil_peer(DP_DTYPE_I32, 64, 4, 2);
	const size_t n = 100;
	struct daitn *d = NULL;
	float buf[100], want[100];
	int32_t fx[100];
	unsigned bad = 0, quantised = 0;

	for (size_t i = 0; i < n; i++)
		buf[i] = ((float)i - 50.0f) * 1.337f + 1e-6f * (float)i;
	/* What the client must send: round(x * 2^16); the peer doubles it. */
	CU_ASSERT_EQUAL_FATAL(kn_fixed_from_f32(fx, buf, n, 16, 4, NULL), 0);
	for (size_t i = 0; i < n; i++)
		fx[i] = (int32_t)((uint32_t)fx[i] * 2u);
	kn_fixed_to_f32(want, fx, n, 16);
	CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 100000, 2000, &d), 0);
	CU_ASSERT_EQUAL(daitn_job(d)->frac_bits, 16);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, n, DAITN_FLOAT32), 0);
	for (size_t i = 0; i < n; i++)
		bad += memcmp(&buf[i], &want[i], 4) != 0;
	CU_ASSERT_EQUAL(bad, 0);
	/* The input is not all on the 2^-16 grid, so the conversion was real. */
	for (size_t i = 0; i < n; i++)
		quantised += want[i] != 2.0f * (((float)i - 50.0f) * 1.337f + 1e-6f * (float)i);
	CU_ASSERT(quantised > n / 2);
	daitn_close(d);
	tpeer_stop(p);
	CU_ASSERT_EQUAL(p->n_recs, 7);
	CU_ASSERT_EQUAL(p->recs[0].h.dtype, DP_DTYPE_I32);
	free(p);
}

static void
test_int32_data_passes_bit_exact_with_wraparound(void)
{
	struct tpeer *p = tutil_peer(DP_DTYPE_I32, 128, 8, 1);
	int32_t buf[70];
	unsigned bad = 0;
	struct daitn *d = NULL;

	for (int i = 0; i < 70; i++)
		buf[i] = i == 0 ? INT32_MAX : (i == 1 ? INT32_MIN : i * 1000003 - 35000000);
	CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 100000, 2000, &d), 0);
	CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 70, DAITN_INT32), 0);
	CU_ASSERT_EQUAL(buf[0], -2);
	CU_ASSERT_EQUAL(buf[1], 0);
	for (int i = 2; i < 70; i++)
		bad += buf[i] != (int32_t)((uint32_t)(i * 1000003 - 35000000) * 2u);
	CU_ASSERT_EQUAL(bad, 0);
	daitn_close(d);
	tpeer_stop(p);
	free(p);
}

static void
test_sixteen_bit_types_use_half_size_chunks(void)
{
	static const uint8_t types[] = { DP_DTYPE_BF16, DP_DTYPE_F16 };

	for (unsigned t = 0; t < 2; t++) {
		struct tpeer *p = tutil_peer(types[t], 64, 4, 2);
		uint16_t buf[75], copy[75];
		struct daitn *d = NULL;

		for (int i = 0; i < 75; i++)
			buf[i] = (uint16_t)(0x3c00 + i * 7);
		memcpy(copy, buf, sizeof(buf));
		CU_ASSERT_EQUAL_FATAL(tutil_join(p, 0, 100000, 2000, &d), 0);
		CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 75, (enum daitn_dtype)types[t]), 0);
		CU_ASSERT_EQUAL(daitn_allreduce(d, buf, 75, DAITN_FLOAT32), -EINVAL);
		daitn_close(d);
		tpeer_stop(p);
		/* 32 elements per 64-byte chunk: 32, 32, 11. */
		CU_ASSERT_EQUAL(memcmp(buf, copy, sizeof(buf)), 0);
		CU_ASSERT_EQUAL_FATAL(p->n_recs, 3);
		CU_ASSERT_EQUAL(p->recs[0].h.count + p->recs[1].h.count + p->recs[2].h.count, 75);
		for (unsigned i = 0; i < 3; i++)
			CU_ASSERT_EQUAL(p->recs[i].h.count, p->recs[i].h.offset == 64 ? 11 : 32);
		free(p);
	}
}

int
main(void)
{
	static const CU_TestInfo tests[] = {
		{ "bad_arguments_are_rejected_before_sending",
		  test_bad_arguments_are_rejected_before_sending },
		{ "out_of_range_float_fails_before_sending_and_keeps_buf",
		  test_out_of_range_float_fails_before_sending_and_keeps_buf },
		{ "float_on_int32_job_goes_through_fixed_point",
		  test_float_on_int32_job_goes_through_fixed_point },
		{ "int32_data_passes_bit_exact_with_wraparound",
		  test_int32_data_passes_bit_exact_with_wraparound },
		{ "sixteen_bit_types_use_half_size_chunks",
		  test_sixteen_bit_types_use_half_size_chunks },
		CU_TEST_INFO_NULL,
	};

	return tutil_run("daitn_convert", tests);
}
