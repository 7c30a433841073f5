/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gw_bench_gen: the traffic generator and the result sink that the gateway
 * benchmarks (daitn-gw-bench, daitn-gw-reload-bench) put around
 * gw_lcore_poll() on one data lcore.
 *
 * The generator writes the 1 KiB float32 gradient chunks of job 1 from
 * `workers` workers (10.8.1.w, UDP port GW_BENCH_W_PORT) into the RX ring of
 * a net_ring port, cycling over `window` slots; every chunk's payload is
 * 1.0f, so every result sums to `workers` in each element. The sink drains
 * the TX ring of that port, checks one result per burst and frees them.
 *
 * Threads: gw_bench_port_create(), gw_bench_gen_pool_init() and
 * gw_bench_gen_tmpl_build() run on the main thread during set-up, before the data lcore is launched; the
 * templates are read-only afterwards. gw_bench_gen_burst() and
 * gw_bench_sink_burst() are called by one lcore only: the generator is the
 * single producer of its RX ring, the sink the single consumer of its TX
 * ring, and neither is synchronised. Other threads read the counters only
 * after that lcore has stopped. Keep a struct gw_bench_gen local to the lcore
 * loop: in a global its fields would be reloaded after every frame written.
 */
#ifndef GW_BENCH_GEN_H
#define GW_BENCH_GEN_H

#include <stdint.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "cp_config.h"
#include "dp_auth.h"
#include "dp_proto.h"

#define GW_BENCH_GW_IP 0x0a080001u               /* 10.8.0.1 */
#define GW_BENCH_W_IP(w) (0x0a080100u + (w))     /* 10.8.1.w */
#define GW_BENCH_W_PORT 47100
#define GW_BENCH_ELEMS 256                       /* 1 KiB of float32 */
#define GW_BENCH_PAYLOAD (GW_BENCH_ELEMS * 4)    /* bytes */
#define GW_BENCH_GEN_POOL 16383                  /* mbufs in the generator's pool */
#define GW_BENCH_WORKERS_MAX 64
#define GW_BENCH_BURST_MAX 256

/* The port under test and the generator's mbufs. */
struct gw_bench_port {
	struct rte_ring *rx;         /* the port's RX: the generator fills it */
	struct rte_ring *tx;         /* the port's TX: the sink drains it */
	struct rte_mempool *pool;    /* generator mbufs, payload prefilled */
	struct rte_mempool *pool_tagged; /* the same, payload after a tag (or NULL) */
};

/* Create the rings "<name>_rx"/"<name>_tx", the pool "<name>_gen" and the
 * net_ring port "net_ring_<name>" over the rings, and fill cfg (zeroed by
 * the caller) for a gateway with that one port on the next lcore after the
 * main one, default UDP port and 16383 mbufs; the caller sets burst and
 * slot_memory. Returns 0 or -rte_errno. */
int gw_bench_port_create(const char *name, struct gw_bench_port *out,
			 struct cp_gw_config *cfg);

/* Per worker Ethernet, IPv4 and UDP headers of the generator's frames to
 * one job (its workers send from UDP port GW_BENCH_W_PORT + job - 1). */
struct gw_bench_gen_tmpl {
	uint8_t hdr[GW_BENCH_WORKERS_MAX][DP_PROTO_FRAME_HDR_SIZE];
	uint16_t job;
	uint8_t tag;                 /* DP_PROTO_TAG_SIZE for a keyed job, else 0 */
};

/* Generator: where it sends and the next (slot, worker) to send in lap
 * (round). Set pool (pool_tagged for a keyed job), rx, tmpl, workers,
 * window, and for a keyed job key and the run's salt; the rest starts at 0. */
struct gw_bench_gen {
	struct rte_mempool *pool;    /* filled by gw_bench_gen_pool_init() */
	struct rte_ring *rx;         /* RX ring of the port under test */
	const struct gw_bench_gen_tmpl *tmpl;   /* built for at least workers */
	const struct dp_auth_key *key;          /* NULL: the job has none */
	uint64_t salt;
	unsigned workers, window, slot, worker;
	bool descending;             /* each chunk's ranks highest first, else lowest */
	uint32_t lap;
	uint64_t sent;               /* frames enqueued */
};

/* Sink: the TX ring it drains and what it saw. */
struct gw_bench_sink {
	struct rte_ring *tx;         /* TX ring of the port under test */
	unsigned workers;            /* the expected sum */
	uint64_t results;            /* result frames drained */
	uint64_t wrong_sums;         /* checked results that did not sum to workers */
	float wrong;                 /* the last wrong value (-1: unreadable) */
};

/* Write payload 1.0f into every mbuf of @pool (after a tag's room when
 * @tag), once and for all. */
void gw_bench_gen_pool_init(struct rte_mempool *pool, unsigned tag);

/* Create bp->pool_tagged ("<name>_gent") for keyed jobs. 0 or -rte_errno. */
int gw_bench_port_add_tagged(const char *name, struct gw_bench_port *bp);

/* Build the headers of @workers workers (1..GW_BENCH_WORKERS_MAX) of @job
 * (keyed: @tag = DP_PROTO_TAG_SIZE) to the gateway at @gw_mac into @t. */
void gw_bench_gen_tmpl_build(struct gw_bench_gen_tmpl *t, unsigned workers,
			     const struct rte_ether_addr *gw_mac, uint16_t job, unsigned tag);

/*
 * Join t's job with @workers workers (a HELLO from each, tagged with @key
 * unless NULL, answered by @gw's lcore 0, which the caller has not launched)
 * so that their GRADs count: a run starts when every rank has joined
 * (docs/protocol.md, section 6). *round_base receives the run's first round
 * (start the generator's lap there), *salt its salt (keyed jobs). Returns 0,
 * -ENOMEM, -ENOBUFS, or -EPROTO if no HELLO_ACK came.
 */
struct gw;
int gw_bench_join(struct gw *gw, const struct gw_bench_port *bp, const struct gw_bench_gen_tmpl *t,
		  unsigned workers, const struct dp_auth_key *key, uint32_t *round_base,
		  uint64_t *salt);

/*
 * Allocate @n (1..GW_BENCH_BURST_MAX) frames, write the next @n chunks and
 * enqueue them; frames the ring refuses are freed and not counted as sent.
 * Returns the frames enqueued (0 when the pool is empty).
 */
static inline unsigned
gw_bench_gen_burst(struct gw_bench_gen *g, unsigned n)
{
	struct rte_mbuf *m[GW_BENCH_BURST_MAX];
	unsigned done;

	if (rte_pktmbuf_alloc_bulk(g->pool, m, n) != 0)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *f = rte_pktmbuf_mtod(m[i], uint8_t *);
		unsigned rank = g->descending ? g->workers - 1 - g->worker : g->worker;
		struct dp_proto_hdr h = {
			.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION, .type = DP_MSG_GRAD,
			.job = g->tmpl->job, .rank = (uint16_t)rank,
			.slot = dp_proto_slot_make((uint16_t)g->slot, g->lap & 1),
			.dtype = DP_DTYPE_F32, .flags = g->key != NULL ? DP_PROTO_FLAG_AUTH : 0,
			.count = GW_BENCH_ELEMS, .offset = g->slot * GW_BENCH_ELEMS, .round = g->lap,
		};
		uint8_t *dh = f + DP_PROTO_L2_L4_SIZE;

		memcpy(f, g->tmpl->hdr[rank], DP_PROTO_L2_L4_SIZE);
		dp_proto_hdr_write(dh, &h);
		if (g->key != NULL)
			dp_auth_tag_write(dh + DP_PROTO_HDR_SIZE,
					  dp_auth_tag(g->key, g->salt, dh, f + DP_PROTO_FRAME_HDR_SIZE +
						      DP_PROTO_TAG_SIZE, GW_BENCH_PAYLOAD));
		m[i]->data_len = m[i]->pkt_len = DP_PROTO_FRAME_HDR_SIZE + g->tmpl->tag +
						 GW_BENCH_PAYLOAD;
		if (++g->worker == g->workers) {
			g->worker = 0;
			if (++g->slot == g->window) {
				g->slot = 0;
				g->lap++;
			}
		}
	}
	done = rte_ring_sp_enqueue_burst(g->rx, (void **)m, n, NULL);
	if (done < n)
		rte_pktmbuf_free_bulk(m + done, n - done);
	g->sent += done;
	return done;
}

/*
 * Drain up to 256 frames from the TX ring, check the first one's sum and free
 * them all; they count in s->results either way. Returns the frames drained,
 * or -1 when the checked sum was wrong (s->wrong_sums counts it, s->wrong
 * holds the value).
 */
static inline int
gw_bench_sink_burst(struct gw_bench_sink *s)
{
	struct rte_mbuf *m[256];
	unsigned n = rte_ring_sc_dequeue_burst(s->tx, (void **)m, 256, NULL);
	float buf[GW_BENCH_ELEMS];
	const float *r;
	int rc = (int)n;

	if (n == 0)
		return 0;
	{
		const uint8_t *f = rte_pktmbuf_mtod(m[0], const uint8_t *);
		unsigned off = DP_PROTO_FRAME_HDR_SIZE;

		if (m[0]->data_len > DP_PROTO_L2_L4_SIZE + 11 &&
		    (f[DP_PROTO_L2_L4_SIZE + 11] & DP_PROTO_FLAG_AUTH))
			off += DP_PROTO_TAG_SIZE;
		r = rte_pktmbuf_read(m[0], off, sizeof(buf), buf);
	}
	if (r == NULL || r[0] != (float)s->workers || r[GW_BENCH_ELEMS - 1] != (float)s->workers) {
		s->wrong = r != NULL ? r[0] : -1.0f;
		s->wrong_sums++;
		rc = -1;
	}
	rte_pktmbuf_free_bulk(m, n);
	s->results += n;
	return rc;
}

#endif /* GW_BENCH_GEN_H */
