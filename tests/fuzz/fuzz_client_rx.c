/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: libdaitn's receive path, the code that decides whether a
 * datagram is a result the worker may accept. The allreduce engine's receive
 * handler (result_rx in client/daitn_allreduce.c, included here to reach
 * it) runs with a call in flight: 16 chunks of a float32 tensor on 8 slots,
 * sent to a gateway on 127.0.0.1. The input is a list of datagrams, each
 * [source port - port_base (1 byte), length (2 bytes, little-endian),
 * bytes]. Beyond the sanitizers: a chunk is accepted only from the gateway's
 * shard ports, for this job, rank and round, on the slot, set, offset and
 * count it is outstanding on, and only once; nothing outside the tensor is
 * written; the HELLO decoders (daitn_open.c's, through daitn_msg.c) take the
 * same datagrams. An input whose first byte is odd runs the call on a
 * partial job instead (docs/protocol.md section 5, "Partial rounds": 16
 * chunks on 16 slots, set = round mod 2): a chunk is then accepted only with
 * a ranks trailer that names 1 to 4 ranks and nothing past rank 3.
 * Then the tensor, as the results left it, is read as a fedavg call's wire
 * form (weighted_finish: 4080 elements in 16 chunks of 255 and a weight):
 * it writes its output only when every chunk's weight is positive and
 * finite, and then each element is its chunk's sum divided by that weight.
 */
#include "../../client/daitn_allreduce.c"

#include <assert.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_ELEMS (16 * 256)
#define GUARD 64
#define FEDAVG_COUNT (16 * 255)

static struct daitn handles[2];   /* ordinary, partial */
static float *tensor;      /* N_ELEMS + guards on both sides */
static float *mean;        /* weighted_finish's output, FEDAVG_COUNT */

/* The tensor as a fedavg job's wire form: the mean, or buf untouched. */
static void fedavg_check(struct daitn *d)
{
	struct daitn f = *d;
	int rc;

	f.scratch = tensor + GUARD;
	f.job.fedavg = 1;
	for (size_t i = 0; i < FEDAVG_COUNT; i++)
		mean[i] = -7.0f;
	rc = weighted_finish(&f, mean, FEDAVG_COUNT);
	assert(rc == 0 || rc == -EOVERFLOW || rc == -EPROTO);
	for (size_t k = 0; k < 16; k++) {
		float w = tensor[GUARD + k * 256 + 255];

		assert(rc != 0 || (w > 0 && !isinf(w)));
		for (size_t j = 0; j < 255; j++) {
			float want = rc == 0 ? tensor[GUARD + k * 256 + j] / w : -7.0f;
			float got = mean[k * 255 + j];

			assert(got == want || (isnan(got) && isnan(want)));
		}
	}
	assert(rc == 0 ? f.weight_chunks == 16 : f.weight_chunks == d->weight_chunks);
}

static void handle_init(struct daitn *d, bool partial)
{
	struct sockaddr_in local = { .sin_family = AF_INET,
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in gw = local;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert(fd >= 0 && bind(fd, (struct sockaddr *)&local, sizeof(local)) == 0);
	gw.sin_port = htons(9);     /* discard: nothing listens, sends are harmless */
	d->job = (struct daitn_job_info){ .n_workers = 4, .chunk_size = 1024, .n_slots = 8,
					 .n_shards = 2, .dtype = DAITN_FLOAT32 };
	d->job_id = 7;
	d->rank = 1;
	d->rto_us = 2000;
	d->timeout_ms = 5000;
	d->window = 8;
	d->cwnd = 8;
	d->ssthresh = 8;
	if (partial) {
		d->job.n_slots = 16;
		d->window = 16;
		d->partial = true;
		d->ranks_size = (uint16_t)dp_proto_ranks_size(4);
		dp_proto_ranks_write(d->grad_trailer, 4, 0, NULL);
	}
	d->slots = calloc(d->job.n_slots, sizeof(*d->slots));
	assert(d->slots != NULL);
	assert(daitn_io_init(&d->io, fd, &gw, 9, 2, DP_PROTO_HDR_SIZE + 1024 + d->ranks_size) == 0);
	if (partial)
		daitn_io_trailer_set(&d->io, d->grad_trailer, d->ranks_size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ar_call c;
	uint64_t done_before;
	unsigned bits = 0;
	size_t i = 0;

	if (tensor == NULL) {
		tensor = calloc(N_ELEMS + 2 * GUARD, sizeof(float));
		mean = calloc(FEDAVG_COUNT, sizeof(float));
		assert(tensor != NULL && mean != NULL);
		handle_init(&handles[0], false);
		handle_init(&handles[1], true);
	}
	struct daitn *d = &handles[size > 0 && (data[0] & 1)];

	memset(d->slots, 0, d->job.n_slots * sizeof(*d->slots));
	memset(tensor, 0, (N_ELEMS + 2 * GUARD) * sizeof(float));
	memset(&c, 0, sizeof(c));
	c.d = d;
	c.base = (uint8_t *)(tensor + GUARD);
	c.dtype = DP_DTYPE_F32;
	c.es = 4;
	c.chunk_elems = 256;
	c.count = N_ELEMS;
	c.n_chunks = 16;
	c.round = 1000;
	c.rto_ns = 2000000;
	c.now = 1;
	if (d->partial)
		assert(partial_prepare(d, N_ELEMS, c.n_chunks, c.chunk_elems) == 0);
	assert(done_map_reset(d, c.n_chunks) == 0);
	window_fill(&c);
	(void)daitn_io_flush(&d->io);   /* to 127.0.0.1:9/10, where nothing listens */
	while (i + 3 <= size) {
		struct sockaddr_in src = { .sin_family = AF_INET,
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		uint32_t len = (uint32_t)data[i + 1] | (uint32_t)data[i + 2] << 8;
		uint8_t *dg;
		struct daitn_job_info ji;
		uint16_t port_base, code;
		uint32_t round;
		char text[64], why[160];

		src.sin_port = htons((uint16_t)(9 + data[i]));
		i += 3;
		if (len > size - i)
			len = (uint32_t)(size - i);
		/* An exact-size copy: ASan sees any read past the datagram. */
		dg = malloc(len ? len : 1);
		assert(dg != NULL);
		memcpy(dg, data + i, len);
		i += len;
		done_before = c.done;
		result_rx(&c, dg, len, &src);
		(void)daitn_io_flush(&d->io);
		if (c.done != done_before) {
			struct dp_proto_hdr h;

			/* Accepted: a well-formed RESULT for us, from a shard port. */
			assert(c.done == done_before + 1);
			assert(ntohs(src.sin_port) - 9u < 2u);
			assert(dp_proto_hdr_check(dg, len, &h) == DP_PROTO_CHECK_OK);
			assert(h.type == DP_MSG_RESULT && h.job == 7 && h.rank == 1 &&
			       h.round == 1000 && h.dtype == DP_DTYPE_F32);
			assert(h.offset % 256 == 0 && h.offset + h.count <= N_ELEMS);
			/* A partial job's RESULT, and only it, names its ranks. */
			assert(((h.flags & DP_PROTO_FLAG_RANKS) != 0) == d->partial);
			if (d->partial) {
				uint16_t nw, n_in;

				dp_proto_ranks_read(dg + len - d->ranks_size, &nw, &n_in);
				assert(nw == 4 && n_in >= 1 && n_in <= 4);
			}
		}
		if (daitn_msg_ctrl_parse(dg, len, 7, 1, &round) == DP_MSG_HELLO_ACK)
			(void)daitn_msg_ack_decode(dg, len, 1, &ji, &port_base, why, sizeof(why));
		daitn_msg_error_decode(dg, len, &code, text, sizeof(text));
		assert(strlen(text) < sizeof(text));
		free(dg);
	}
	assert(c.done <= c.n_chunks);
	/* daitn_chunks_done names exactly the chunks whose RESULT was taken. */
	for (unsigned k = 0; k < c.n_chunks; k++)
		bits += (d->done_map[k / 8] >> (k % 8)) & 1u;
	assert(bits == c.done);
	for (unsigned g = 0; g < GUARD; g++)
		assert(tensor[g] == 0.0f && tensor[GUARD + N_ELEMS + g] == 0.0f);
	fedavg_check(d);
	return 0;
}
