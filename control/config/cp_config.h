/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cp_config: the gateway's own configuration (ports, lcores, memory), loaded
 * once at start-up from JSON. It is separate from the policy (cp_policy.h),
 * which operators change day to day and which is reloaded at run time.
 * Reference: docs/policy.md, section "Gateway configuration".
 *
 * Main thread only, before the EAL starts.
 */
#ifndef CP_CONFIG_H
#define CP_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "cp_diag.h"

#define CP_PORTS_MAX 8
#define CP_LCORES_MAX 64
#define CP_EAL_ARGS_MAX 16
#define CP_NAME_MAX 48

struct cp_port_cfg {
	char name[CP_NAME_MAX];     /* "p0"; unique */
	char device[256];           /* vdev spec "net_af_packet0,iface=x" or PCI "0000:01:00.0" */
	bool is_pci;
	uint32_t ip;                /* the gateway's IPv4 on this port, host byte order */
	uint16_t mtu;               /* 0 = device default */
};

/* How each (data lcore, port) orders what it sends (docs/inference.md). */
enum cp_tx_sched {
	CP_TX_SCHED_PRIORITY = 0,   /* control > inference > training, weighted jobs */
	CP_TX_SCHED_FIFO,           /* one queue in arrival order (a baseline) */
	CP_TX_SCHED_OFF,            /* straight to the TX ring, no queueing */
};

struct cp_gw_config {
	char path[PATH_MAX];        /* the file it was loaded from */
	unsigned n_ports;
	struct cp_port_cfg ports[CP_PORTS_MAX];
	unsigned main_lcore;        /* control thread; default 0 */
	unsigned n_data_lcores;     /* >= 1 */
	unsigned data_lcores[CP_LCORES_MAX];
	/* "data_cpus": the CPU of each data lcore (EAL --lcores LCORE@CPU);
	 * without it each lcore runs on the CPU of its own number. */
	bool has_data_cpus;
	unsigned data_cpus[CP_LCORES_MAX];
	uint16_t udp_port;          /* base UDP port; shard k listens on udp_port + k */
	bool hugepages;             /* false: run the EAL with --no-huge */
	bool capture;               /* keep hugepage files so that dpdk-dumpcap can attach */
	uint32_t memory_mb;         /* EAL memory (-m) */
	uint32_t mbufs;             /* packet mbufs per data lcore */
	uint32_t burst;             /* RX/TX burst size, 1..256; default 32 */
	uint64_t slot_memory;       /* bytes of slot memory per data lcore */
	char policy_path[PATH_MAX]; /* absolute, resolved against the config's folder */
	bool watch_policy;          /* reload when the policy file changes */
	unsigned n_eal_args;
	char eal_args[CP_EAL_ARGS_MAX][128];  /* passed to the EAL verbatim */
	enum cp_tx_sched tx_scheduler;  /* default priority */
	uint32_t tx_rate_mbps;      /* egress cap per (data lcore, port); 0 = none */
	bool idle_adaptive;         /* "idle_poll": "adaptive" (default "busy") */
	uint32_t idle_after_polls;  /* empty polls before the first sleep */
	uint32_t idle_sleep_max_us; /* sleeps double from 1 us up to this */
};

/* True if ip (host byte order) may be a host's address: not in 0/8, 127/8
 * or 224/3 (multicast, reserved, broadcast). Any thread. */
bool cp_config_ip_unicast(uint32_t ip);

/* Load and check path. Returns 0, or -EINVAL with every problem in diags
 * (FILE:LINE:COL: /path: reason), or -errno if the file cannot be read. */
int cp_config_load(const char *path, struct cp_gw_config *out, struct cp_diags *diags);

/* The same from text already in memory (len bytes, not NUL-terminated);
 * name stands for the file in diagnostics and in out->path. */
int cp_config_parse(const char *text, size_t len, const char *name, struct cp_gw_config *out,
		    struct cp_diags *diags);

#endif /* CP_CONFIG_H */
