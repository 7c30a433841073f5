/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl_tree: the checks of `daitnctl validate --tree` that span gateways. Each
 * gateway of an aggregation tree (docs/policy.md, "Trees") is validated on
 * its own by cp_config and cp_policy; this unit takes several of them,
 * already loaded and valid, and checks that they fit together.
 *
 * A gateway's address is ip:udp_port for each of its port addresses. A rank
 * on a node with role "gateway", or at a gateway's address, is a child
 * gateway; every other rank is a worker. For every job id that has a
 * "parent" or a child gateway in some policy, across the gateways that have
 * that job:
 *   - a leaf's parent (its up_ip:up_port) is a gateway given;
 *   - the parent has the job, and its rank up_rank is the leaf's address, on
 *     a node with role "gateway";
 *   - every child rank is a gateway given that names this one as its
 *     parent, with that rank; no two leaves name one rank; a job with
 *     children is neither partial nor keyed (a leaf could not join);
 *   - following parents never comes back (no cycle);
 *   - a leaf's job has its parent's dtype, chunk_size, mode and frac_bits,
 *     and not more slots (cp_job_slots() on its own data lcores);
 *   - within one tree, no worker ip:port is a rank on two gateways.
 * Two gateways with one address are an error, after which nothing else is
 * checked.
 *
 * Errors are located in the file they are about (the configuration or the
 * policy, under the name that loaded it) as FILE:LINE:COL: /json/path:
 * reason; the files are read again for positions on the first error only.
 *
 * Main thread only; it allocates.
 */
#ifndef CTL_TREE_H
#define CTL_TREE_H

#include <stdio.h>

#include "cp_config.h"
#include "cp_diag.h"
#include "cp_policy.h"

struct ctl_tree_gw {
	const char *name;                  /* the configuration's path as given: names the gateway */
	const struct cp_gw_config *cfg;    /* loaded from name, valid */
	const char *policy_path;           /* the policy's path as loaded (its diagnostics' name) */
	const struct cp_policy *p;         /* loaded with cfg's limits, valid */
};

/* Check gws[0 .. n-1] together. Every problem goes to diags, appended in the
 * order found (by job id, then by gateway). Returns 0 if they fit, -EINVAL
 * if not, or -ENOMEM (diags may then be incomplete). */
int ctl_tree_check(const struct ctl_tree_gw *gws, unsigned n, struct cp_diags *diags);

/* Print one line per tree of gws (which ctl_tree_check() found valid) to out:
 *   job 1: root r.json <- a.json (rank 0, 4 workers), b.json (rank 1, 4 workers); 8 workers, depth 2
 * a middle gateway's children follow it in brackets, "m.json (rank 1, 1 worker)
 * <- [c.json (rank 0, 2 workers)]"; the root's own workers, if any, follow
 * its name. Without any tree, one line says so. Returns the number of trees. */
unsigned ctl_tree_print(const struct ctl_tree_gw *gws, unsigned n, FILE *out);

#endif /* CTL_TREE_H */
