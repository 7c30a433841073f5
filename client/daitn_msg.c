/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Building and decoding the control messages of the wire protocol
 * (dp_proto.h). Data-path headers are written with dp_proto_hdr_write() and
 * every received message is checked with dp_proto_hdr_check(), so the client
 * and the gateway share one codec. Here: HELLO_ACK payloads are checked for
 * values the data path relies on, ERROR text is made printable.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "daitn_priv.h"

void
daitn_msg_hdr(uint8_t *dst, uint8_t type, uint16_t job, uint16_t rank,
	      uint16_t slot, uint8_t dtype, uint16_t count, uint32_t offset,
	      uint32_t round)
{
	struct dp_proto_hdr h = {
		.magic = DP_PROTO_MAGIC,
		.version = DP_PROTO_VERSION,
		.type = type,
		.job = job,
		.rank = rank,
		.slot = slot,
		.dtype = dtype,
		.flags = 0,
		.count = count,
		.offset = offset,
		.round = round,
	};

	dp_proto_hdr_write(dst, &h);
}

void
daitn_msg_sign(uint8_t *msg, const struct dp_auth_key *key, uint64_t context, size_t n)
{
	msg[offsetof(struct dp_proto_hdr, flags)] |= DP_PROTO_FLAG_AUTH;
	dp_auth_tag_write(msg + DP_PROTO_HDR_SIZE,
			  dp_auth_tag(key, context, msg, msg + DAITN_HDR_MAX, n));
}

bool
daitn_msg_auth_ok(const struct dp_auth_key *key, uint64_t context, const uint8_t *data,
		  uint32_t len, const struct dp_proto_hdr *h)
{
	if (!(h->flags & DP_PROTO_FLAG_AUTH))
		return key == NULL;
	return key != NULL && dp_auth_check(key, context, data, data + DP_PROTO_HDR_SIZE,
					    data + DAITN_HDR_MAX, len - DAITN_HDR_MAX);
}

int
daitn_msg_ctrl_parse(const uint8_t *data, uint32_t len, uint16_t job, uint16_t rank,
		     uint32_t *round)
{
	struct dp_proto_hdr h;

	if (dp_proto_hdr_check(data, len, &h) != DP_PROTO_CHECK_OK)
		return 0;
	if (h.type != DP_MSG_HELLO_ACK && h.type != DP_MSG_ERROR && h.type != DP_MSG_HELLO_WAIT)
		return 0;
	if (h.job != job || h.rank != rank)
		return 0;
	if (round != NULL)
		*round = h.round;
	return h.type;
}

int
daitn_msg_ack_decode(const uint8_t *data, uint32_t len, uint16_t rank,
		     struct daitn_job_info *info, uint16_t *port_base,
		     char *err, size_t err_size)
{
	struct dp_proto_job_info ji;
	size_t es, off = DP_PROTO_HDR_SIZE;

	if (data[offsetof(struct dp_proto_hdr, flags)] & DP_PROTO_FLAG_AUTH)
		off += DP_PROTO_TAG_SIZE;
	if (len < off + sizeof(ji)) {
		snprintf(err, err_size, "HELLO_ACK of %u bytes instead of %zu", len,
			 off + sizeof(ji));
		return -EPROTO;
	}
	dp_proto_job_info_read(data + off, &ji);
	es = dp_proto_dtype_size(ji.dtype);
	if (ji.n_workers == 0 || ji.n_workers > DP_PROTO_WORKERS_MAX || rank >= ji.n_workers) {
		snprintf(err, err_size, "HELLO_ACK: n_workers %u is invalid for rank %u",
			 ji.n_workers, rank);
		return -EPROTO;
	}
	if (es == 0) {
		snprintf(err, err_size, "HELLO_ACK: unknown element type %u", ji.dtype);
		return -EPROTO;
	}
	if (ji.chunk_size < DP_PROTO_CHUNK_SIZE_MIN || ji.chunk_size > DP_PROTO_CHUNK_SIZE_MAX ||
	    ji.chunk_size % es != 0) {
		snprintf(err, err_size,
			 "HELLO_ACK: chunk_size %u is not a multiple of %zu in [%u, %u]",
			 ji.chunk_size, es, DP_PROTO_CHUNK_SIZE_MIN, DP_PROTO_CHUNK_SIZE_MAX);
		return -EPROTO;
	}
	if (ji.n_slots == 0 || ji.n_slots > DP_PROTO_SLOTS_MAX) {
		snprintf(err, err_size, "HELLO_ACK: n_slots %u not in [1, %u]", ji.n_slots,
			 DP_PROTO_SLOTS_MAX);
		return -EPROTO;
	}
	if (ji.n_shards == 0 || ji.udp_port_base == 0 ||
	    (uint32_t)ji.udp_port_base + ji.n_shards - 1 > UINT16_MAX) {
		snprintf(err, err_size, "HELLO_ACK: shard ports %u + [0, %u) are invalid",
			 ji.udp_port_base, ji.n_shards);
		return -EPROTO;
	}
	if (ji.dtype == DP_DTYPE_I32 && ji.frac_bits > 30) {
		snprintf(err, err_size, "HELLO_ACK: frac_bits %u > 30", ji.frac_bits);
		return -EPROTO;
	}
	if (ji.dtype == DP_DTYPE_I32 && (ji.flags & DP_PROTO_JOB_FEDAVG)) {
		snprintf(err, err_size, "HELLO_ACK: a fedavg int32 job (fedavg jobs are float)");
		return -EPROTO;
	}
	info->n_workers = ji.n_workers;
	info->chunk_size = ji.chunk_size;
	info->n_slots = ji.n_slots;
	info->n_shards = ji.n_shards;
	info->dtype = (enum daitn_dtype)ji.dtype;
	info->frac_bits = ji.dtype == DP_DTYPE_I32 ? ji.frac_bits : 0;
	info->policy_version = ji.policy_version;
	info->round_base = ji.round_base;
	info->partial = (ji.flags & DP_PROTO_JOB_PARTIAL) != 0;
	info->fedavg = (ji.flags & DP_PROTO_JOB_FEDAVG) != 0;
	*port_base = ji.udp_port_base;
	return 0;
}

void
daitn_msg_ack_auth(const uint8_t *data, uint64_t *salt, bool *header_only)
{
	struct dp_proto_job_info ji;

	dp_proto_job_info_read(data + DAITN_HDR_MAX, &ji);
	*header_only = (ji.flags & DP_PROTO_JOB_AUTH_HEADER_ONLY) != 0;
	*salt = dp_auth_tag_read(data + DAITN_HDR_MAX + sizeof(ji));
}

void
daitn_msg_error_decode(const uint8_t *data, uint32_t len, uint16_t *code,
		       char *text, size_t text_size)
{
	struct dp_proto_error e;
	size_t i, n = 0, off = DP_PROTO_HDR_SIZE;

	/* A checked ERROR (dp_proto_hdr_check): its payload is 2 .. 64 bytes. */
	if (len > DP_PROTO_HDR_SIZE && (data[offsetof(struct dp_proto_hdr, flags)] & DP_PROTO_FLAG_AUTH))
		off += DP_PROTO_TAG_SIZE;
	memset(&e, 0, sizeof(e));
	if (len >= off + DP_PROTO_ERROR_MIN)
		dp_proto_error_read(data + off, len - off, &e);
	*code = e.code;
	/* The text is for people: keep printable ASCII only. */
	for (i = 0; i < sizeof(e.text) && e.text[i] != '\0' && n + 1 < text_size; i++)
		text[n++] = e.text[i] >= 0x20 && e.text[i] < 0x7f ? e.text[i] : '?';
	if (text_size > 0)
		text[n] = '\0';
}

const char *
daitn_msg_err_name(uint16_t code)
{
	switch (code) {
	case DP_ERR_UNKNOWN_JOB:
		return "unknown job";
	case DP_ERR_NOT_ADMITTED:
		return "not admitted";
	case DP_ERR_BAD_PARAMS:
		return "bad parameters";
	case DP_ERR_OVERLOADED:
		return "overloaded";
	case DP_ERR_RUN_ENDED:
		return "run ended";
	case DP_ERR_ROUND_CLOSED:
		return "round closed";
	default:
		return "unknown error code";
	}
}
