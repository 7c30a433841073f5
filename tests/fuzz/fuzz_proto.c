/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the wire decoders (proto/), as the gateway and
 * libdaitn apply them to every received UDP payload. The input is one UDP
 * payload. Checks, beyond the sanitizers: a header accepted by
 * dp_proto_hdr_check() has the payload length its type and count imply and
 * writes back to the same bytes; the payload readers never read past the
 * sizes the checker allowed.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp_proto.h"
#include "dp_proto_infer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t payload_size(const struct dp_proto_hdr *h)
{
	switch (h->type) {
	case DP_MSG_GRAD:
	case DP_MSG_RESULT:
		return (size_t)h->count * dp_proto_dtype_size(h->dtype);
	case DP_MSG_HELLO_ACK:
		return sizeof(struct dp_proto_job_info);
	case DP_MSG_ERROR:
		return sizeof(struct dp_proto_error);
	case DP_MSG_HELLO_WAIT:
	case DP_MSG_WAITING:
		return sizeof(struct dp_proto_join_wait);
	case DP_MSG_HELLO:
	case DP_MSG_LEAVE:
		return DP_PROTO_HELLO_PAD;
	default:
		return 0;
	}
}

/* The size dp_proto_hdr_check() may accept for h: the header, the tag with
 * the AUTH flag (and a HELLO_ACK's salt), then the payload; an ERROR's
 * payload may be any prefix of at least its code. */
static bool size_ok(const uint8_t *msg, const struct dp_proto_hdr *h, size_t size)
{
	size_t off = dp_proto_payload_off(h), pl = payload_size(h);

	if (h->type == DP_MSG_ERROR)
		return size >= off + DP_PROTO_ERROR_MIN && size <= off + pl;
	if (h->type == DP_MSG_WAITING)
		return size >= off + DP_PROTO_WAITING_MIN && size <= off + pl;
	if (h->type == DP_MSG_HELLO_ACK && (h->flags & DP_PROTO_FLAG_AUTH))
		pl += DP_PROTO_SALT_SIZE;
	if (h->flags & DP_PROTO_FLAG_RANKS) {
		/* Only GRAD and RESULT; the trailer's n_workers sizes it. */
		uint16_t nw, n_in;

		if ((h->type != DP_MSG_GRAD && h->type != DP_MSG_RESULT) ||
		    size < off + pl + DP_PROTO_RANKS_HDR)
			return false;
		dp_proto_ranks_read(msg + off + pl, &nw, &n_in);
		if (nw == 0 || nw > DP_PROTO_WORKERS_MAX)
			return false;
		pl += dp_proto_ranks_size(nw);
	}
	return size == off + pl;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size heap copy, so that ASan sees any read past the end. */
	uint8_t *p = malloc(size ? size : 1);
	struct dp_proto_hdr h;
	struct dp_infer_hdr ih;

	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	if (dp_proto_hdr_check(p, size, &h) == DP_PROTO_CHECK_OK) {
		uint8_t back[DP_PROTO_HDR_SIZE];

		assert(size_ok(p, &h, size));
		dp_proto_hdr_write(back, &h);
		assert(memcmp(back, p, DP_PROTO_HDR_SIZE) == 0);
		assert(dp_proto_msg_name(h.type) != NULL);
		if (h.type == DP_MSG_HELLO_ACK) {
			struct dp_proto_job_info ji;

			dp_proto_job_info_read(p + dp_proto_payload_off(&h), &ji);
		} else if (h.type == DP_MSG_ERROR) {
			struct dp_proto_error e;

			dp_proto_error_read(p + dp_proto_payload_off(&h), size - dp_proto_payload_off(&h),
					    &e);
			assert(memchr(e.text, '\0', sizeof(e.text)) != NULL);
		} else if (h.type == DP_MSG_HELLO_WAIT) {
			struct dp_proto_join_wait w;

			dp_proto_join_wait_read(p + dp_proto_payload_off(&h), &w);
		}
		(void)dp_proto_tag_cmp(h.round, h.offset, 0, 0);
	}
	if (dp_proto_infer_check(p, size, &ih) == DP_PROTO_CHECK_OK && ih.type == DP_MSG_INFER_ERROR) {
		struct dp_infer_error e;

		if (dp_proto_infer_error_read(p + DP_INFER_HDR_SIZE, size - DP_INFER_HDR_SIZE, &e) == 0)
			assert(memchr(e.text, '\0', sizeof(e.text)) != NULL);
	}
	free(p);
	return 0;
}
