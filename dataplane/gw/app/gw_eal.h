/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gw_eal: the EAL command line of daitn-gw, derived from its configuration,
 * and the checks that turn EAL start-up failures into instructions.
 * Main thread, before rte_eal_init().
 */
#ifndef GW_EAL_H
#define GW_EAL_H

#include "cp_config.h"

#define GW_EAL_ARGV_MAX (CP_EAL_ARGS_MAX + 4 * CP_PORTS_MAX + 64)

struct gw_eal_args {
	int argc;
	char *argv[GW_EAL_ARGV_MAX + 1];
	char store[GW_EAL_ARGV_MAX][320];
};

/*
 * Build the EAL arguments for cfg: -l main,data..., --main-lcore,
 * --file-prefix, memory (-m and --huge-unlink, or --no-huge -m), --vdev or -a
 * per port (--no-pci when there is no PCI port), the config's eal_args, then
 * the n_extra arguments from the command line. Returns 0 or -E2BIG.
 */
int gw_eal_args_build(const struct cp_gw_config *cfg, const char *file_prefix,
		      int n_extra, char *const *extra, struct gw_eal_args *out);

/*
 * With hugepages on, check that hugetlbfs is mounted and enough 2 MB pages
 * are free for memory_mb; otherwise print the commands that fix it (or the
 * config change that avoids it) naming config_path. Returns 0 or -ENOMEM.
 */
int gw_eal_hugepages_check(const struct cp_gw_config *cfg, const char *config_path);

/* After a failed rte_eal_init(): print what to check for each vdev port. */
void gw_eal_explain_failure(const struct cp_gw_config *cfg, int rte_err);

/* After rte_eal_cleanup(): remove the runtime directory the EAL left (dir,
 * saved from rte_eal_get_runtime_dir() before the cleanup): its config,
 * fbarray and socket files, then the directory. Hugepage files are never
 * there (--huge-unlink). Returns 0 or a negative errno. */
int gw_eal_runtime_dir_remove(const char *dir);

/* After rte_eal_cleanup() of a gateway with "capture" on (no --huge-unlink):
 * remove its hugepage files, FILE_PREFIX "map_*" in every hugetlbfs mount
 * (/proc/mounts), which the EAL leaves behind. Returns how many were
 * removed, or a negative errno (the first failure). */
int gw_eal_hugepage_files_remove(const char *file_prefix);

#endif /* GW_EAL_H */
