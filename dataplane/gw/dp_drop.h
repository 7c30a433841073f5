/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_drop: the one list of packet fates the gateway counts (the gateway's
 * alone: the wire codec has its own verdicts, dp_proto_check, which
 * dp_drop_of_check() turns into the PROTO_* reasons here).
 *
 * Every received packet ends in exactly one fate: a success fate (the first
 * block) or a drop reason. Counters are indexed by enum dp_drop; names are the
 * strings telemetry and daitnctl print. Add new reasons at the end of a block.
 */
#ifndef DP_DROP_H
#define DP_DROP_H

#include "dp_proto.h"

/* A codec verdict as a fate: PROTO_SHORT, "proto_short", ... */
#define DP_DROP_PROTO_(X, name, str) X(PROTO_##name, "proto_" str)

#define DP_FATES(X)                                                          \
	X(NONE, "none")                       /* not a fate: parse success */ \
	X(AGGREGATED, "aggregated")           /* added into a slot */         \
	X(COMPLETED, "completed")             /* completed a slot (also aggregated) */ \
	X(RESULT_RESENT, "result_resent")     /* retransmission after completion */ \
	X(DUPLICATE, "duplicate")             /* contribution already counted */ \
	X(HELLO, "hello")                     /* HELLO answered */             \
	X(ARP_REPLIED, "arp_replied")                                         \
	X(ICMP_REPLIED, "icmp_replied")                                       \
	/* drop reasons: link and network layers */                          \
	X(L2_SHORT, "l2_short")               /* shorter than an Ethernet header */ \
	X(L2_NOT_IPV4, "l2_not_ipv4")         /* other ethertype (VLAN, IPv6, ...) */ \
	X(ARP_IGNORED, "arp_ignored")         /* ARP not asking for us */       \
	X(IP_BAD_HEADER, "ip_bad_header")     /* version, IHL, options, length */ \
	X(IP_FRAGMENT, "ip_fragment")                                         \
	X(IP_NOT_FOR_US, "ip_not_for_us")                                     \
	X(IP_NOT_UDP, "ip_not_udp")                                           \
	X(UDP_BAD_LENGTH, "udp_bad_length")                                   \
	X(UDP_BAD_CHECKSUM, "udp_bad_checksum") /* flagged by the NIC */     \
	X(UDP_WRONG_PORT, "udp_wrong_port")                                   \
	/* drop reasons: the codec's verdicts on the daitn header, in its      \
	 * order (proto_short, proto_bad_magic, ...: dp_proto.h) */            \
	DP_PROTO_CHECK_FAILURES(DP_DROP_PROTO_, X)                             \
	/* drop reasons: job, admission, slots */                             \
	X(JOB_UNKNOWN, "job_unknown")                                         \
	X(RANK_INVALID, "rank_invalid")       /* rank >= job's workers */      \
	X(SOURCE_NOT_ADMITTED, "source_not_admitted") /* ip/port != rank's */ \
	X(DTYPE_MISMATCH, "dtype_mismatch")   /* differs from the job's */     \
	X(CHUNK_TOO_LARGE, "chunk_too_large") /* count over job chunk size */   \
	X(SLOT_OUT_OF_RANGE, "slot_out_of_range")                             \
	X(SLOT_WRONG_SHARD, "slot_wrong_shard") /* arrived on a non-owner lcore */ \
	X(COUNT_MISMATCH, "count_mismatch")   /* differs from the slot's first */ \
	X(STALE, "stale")                     /* older than the slot's current use */ \
	X(NO_BUFFER, "no_buffer")             /* slot or header memory exhausted */ \
	X(RATE_LIMITED, "rate_limited")                                       \
	X(TX_FULL, "tx_full")                 /* TX ring full; result copy lost */ \
	X(UNEXPECTED_MSG, "unexpected_msg")   /* e.g. a RESULT sent to the gateway */ \
	X(HANDOFF_FULL, "handoff_full")       /* owner lcore's handoff ring full */ \
	/* inference (appended; docs/inference.md) */                         \
	X(INFER_FORWARDED, "infer_forwarded") /* activation sent to a stage replica */ \
	X(INFER_REPLIED, "infer_replied")     /* last stage's output sent as RESULT */ \
	X(INFER_BEAT, "infer_beat")           /* stage node heartbeat */        \
	X(INFER_UNKNOWN_MODEL, "infer_unknown_model")                         \
	X(INFER_BAD_STAGE, "infer_bad_stage") /* stage past the model's last + 1 */ \
	X(INFER_NOT_ADMITTED, "infer_not_admitted") /* not a requester / replica of stage-1 */ \
	X(INFER_BAD_REPLY, "infer_bad_reply") /* reply address not a requester */ \
	X(INFER_NO_REPLICA, "infer_no_replica") /* every replica down: ERROR sent */ \
	/* runs (appended; docs/protocol.md section 6) */                     \
	X(RUN_NONE, "run_none")               /* GRAD while no run of the job is on */ \
	X(ROUND_OUTSIDE_RUN, "round_outside_run") /* round not in the run's window */ \
	X(ICMP_BAD_CHECKSUM, "icmp_bad_checksum") /* echo request with a wrong sum */ \
	X(ROUND_AHEAD, "round_ahead")         /* round past one after the newest completed */ \
	/* neighbours (appended; docs/security.md) */                        \
	X(SRC_MAC_MISMATCH, "src_mac_mismatch") /* not the MAC the sender's IP resolved to */ \
	X(NEIGH_UNRESOLVED, "neigh_unresolved") /* sender's MAC not resolved yet (ARP sent) */ \
	X(ARP_RESOLVED, "arp_resolved")       /* ARP reply that resolved a neighbour */ \
	X(ARP_CONFLICT, "arp_conflict")       /* ARP naming another MAC for a bound neighbour */ \
	/* authenticated jobs (appended; docs/security.md section 2) */        \
	X(AUTH_MISSING, "auth_missing")       /* a keyed job's message without a tag */ \
	X(AUTH_BAD, "auth_bad")               /* tag wrong, or on a job without a key */ \
	X(AUTH_REPLAY, "auth_replay")         /* HELLO with a nonce the rank used before */ \
	/* deterministic jobs */                                              \
	X(HOLD_FULL, "hold_full")             /* early contribution, hold budget spent */ \
	/* partial jobs (docs/protocol.md section 5, "Partial rounds") */        \
	X(LATE, "late")                       /* use closed without it: result or ERROR 6 sent */ \
	X(RANKS_MISMATCH, "ranks_mismatch")   /* ranks trailer missing, unexpected or mis-sized */ \
	/* fedavg jobs (docs/protocol.md section 5, "Federated averaging") */ \
	X(WEIGHT_BAD, "weight_bad")           /* last element not a positive finite weight */ \
	/* trees (docs/protocol.md section 12): a leaf's traffic with its parent */ \
	X(UP_PENDING, "up_pending")           /* retransmission while the sum is up: resent up */ \
	X(TREE_RESULT, "tree_result")         /* the parent's result: sent to the local ranks */ \
	X(TREE_RESULT_STALE, "tree_result_stale") /* parent's RESULT no use waits for */ \
	X(TREE_ANSWER, "tree_answer")         /* the parent's answer to a HELLO or GRAD */

#define DP_DROP_ENUM_(name, str) DP_DROP_##name,
enum dp_drop {
	DP_FATES(DP_DROP_ENUM_)
	DP_DROP_MAX
};
#undef DP_DROP_ENUM_

/* The fate's name as printed by telemetry ("aggregated", "proto_bad_magic").
 * Any thread. */
const char *dp_drop_name(enum dp_drop d);

/* The codec's verdict as a fate: OK is DP_DROP_NONE, each failure its
 * PROTO_* reason (one list, expanded in the same order). */
static inline enum dp_drop
dp_drop_of_check(enum dp_proto_check c)
{
	return c == DP_PROTO_CHECK_OK ? DP_DROP_NONE
				      : (enum dp_drop)(DP_DROP_PROTO_SHORT + (c - DP_PROTO_CHECK_SHORT));
}

#endif /* DP_DROP_H */
