/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * EAL command line from the gateway configuration, and start-up diagnostics.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw_eal.h"

static int push(struct gw_eal_args *a, const char *s)
{
	if (a->argc >= GW_EAL_ARGV_MAX)
		return -E2BIG;
	snprintf(a->store[a->argc], sizeof(a->store[0]), "%s", s);
	a->argv[a->argc] = a->store[a->argc];
	a->argc++;
	a->argv[a->argc] = NULL;
	return 0;
}

int gw_eal_args_build(const struct cp_gw_config *cfg, const char *file_prefix,
		      int n_extra, char *const *extra, struct gw_eal_args *out)
{
	char buf[320];
	size_t off;
	bool pci = false;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	rc |= push(out, "daitn-gw");
	if (cfg->has_data_cpus) {
		off = (size_t)snprintf(buf, sizeof(buf), "%u@%u", cfg->main_lcore, cfg->main_lcore);
		for (unsigned k = 0; k < cfg->n_data_lcores && off < sizeof(buf); k++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, ",%u@%u",
						cfg->data_lcores[k], cfg->data_cpus[k]);
		rc |= push(out, "--lcores");
	} else {
		off = (size_t)snprintf(buf, sizeof(buf), "%u", cfg->main_lcore);
		for (unsigned k = 0; k < cfg->n_data_lcores && off < sizeof(buf); k++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, ",%u",
						cfg->data_lcores[k]);
		rc |= push(out, "-l");
	}
	if (off >= sizeof(buf))
		rc |= -E2BIG;
	rc |= push(out, buf);
	snprintf(buf, sizeof(buf), "%u", cfg->main_lcore);
	rc |= push(out, "--main-lcore");
	rc |= push(out, buf);
	rc |= push(out, "--file-prefix");
	rc |= push(out, file_prefix);
	snprintf(buf, sizeof(buf), "%u", cfg->memory_mb);
	if (cfg->hugepages) {
		/* Unlinked at once: nothing is left in hugetlbfs, even after a
		 * crash. A capture process (a DPDK secondary) must map the
		 * files, so with capture on they stay until a clean exit; the
		 * next start with the same prefix clears what a crash left. */
		if (!cfg->capture)
			rc |= push(out, "--huge-unlink");
	} else {
		rc |= push(out, "--no-huge");
	}
	rc |= push(out, "-m");
	rc |= push(out, buf);
	for (unsigned i = 0; i < cfg->n_ports; i++) {
		rc |= push(out, cfg->ports[i].is_pci ? "-a" : "--vdev");
		rc |= push(out, cfg->ports[i].device);
		pci |= cfg->ports[i].is_pci;
	}
	if (!pci)
		rc |= push(out, "--no-pci");
	for (unsigned i = 0; i < cfg->n_eal_args; i++)
		rc |= push(out, cfg->eal_args[i]);
	for (int i = 0; i < n_extra; i++)
		rc |= push(out, extra[i]);
	return rc != 0 ? -E2BIG : 0;
}

static long meminfo_get(const char *key)
{
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static bool hugetlbfs_mounted(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/mounts", "r");

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, " hugetlbfs ") != NULL;
	fclose(f);
	return found;
}

int gw_eal_hugepages_check(const struct cp_gw_config *cfg, const char *config_path)
{
	long free_pages = meminfo_get("HugePages_Free");
	long size_kb = meminfo_get("Hugepagesize");
	long need = size_kb > 0 ? ((long)cfg->memory_mb * 1024 + size_kb - 1) / size_kb : 0;
	bool mounted = hugetlbfs_mounted();

	if (!cfg->hugepages || (mounted && free_pages >= need))
		return 0;
	fprintf(stderr,
		"daitn-gw: %s asks for hugepages (\"hugepages\": true, memory_mb %u = %ld pages of "
		"%ld kB) but %s.\n"
		"  Reserve and mount them (as root):\n"
		"    echo %ld > /proc/sys/vm/nr_hugepages\n"
		"    mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages\n"
		"  or set \"hugepages\": false in %s to run with --no-huge (slower).\n",
		config_path, cfg->memory_mb, need, size_kb,
		!mounted ? "no hugetlbfs is mounted" : "too few are free",
		need + (free_pages > 0 ? 0 : 64), config_path);
	if (mounted)
		fprintf(stderr, "  (HugePages_Free: %ld)\n", free_pages);
	return -ENOMEM;
}

void gw_eal_explain_failure(const struct cp_gw_config *cfg, int rte_err)
{
	fprintf(stderr, "daitn-gw: the EAL did not start (%s).\n", strerror(rte_err));
	for (unsigned i = 0; i < cfg->n_ports; i++) {
		const char *dev = cfg->ports[i].device;
		const char *iface = strstr(dev, "iface=");
		char path[128];
		struct stat st;

		if (cfg->ports[i].is_pci) {
			fprintf(stderr, "  port %s: PCI %s must be bound to vfio-pci or uio "
				"(dpdk-devbind.py --status)\n", cfg->ports[i].name, dev);
			continue;
		}
		if (iface != NULL) {
			size_t n = strcspn(iface + 6, ",");

			snprintf(path, sizeof(path), "/sys/class/net/%.*s", (int)n, iface + 6);
			if (stat(path, &st) != 0)
				fprintf(stderr, "  port %s: interface \"%.*s\" does not exist in this "
					"network namespace (ip link show); create it or fix \"vdev\"\n",
					cfg->ports[i].name, (int)n, iface + 6);
		}
		fprintf(stderr, "  port %s: vdev \"%s\": its driver must be in the EAL's plugin "
			"directory (Debian: package librte-net-*)\n", cfg->ports[i].name, dev);
	}
	fprintf(stderr, "  another DPDK process with the same --file-prefix also stops the EAL; "
		"pass --file-prefix NAME or set DAITN_FILE_PREFIX\n");
}

int gw_eal_runtime_dir_remove(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int rc = 0;

	if (dir == NULL || dir[0] == '\0')
		return -EINVAL;
	d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) != 0 && rc == 0)
			rc = -errno;
	}
	closedir(d);
	if (rmdir(dir) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

int gw_eal_hugepage_files_remove(const char *file_prefix)
{
	char line[PATH_MAX + 128], dir[1024], fs[64], path[PATH_MAX], stem[128];
	struct dirent *e;
	size_t n;
	FILE *m;
	DIR *d;
	int removed = 0, rc = 0;

	n = (size_t)snprintf(stem, sizeof(stem), "%smap_", file_prefix);
	if (file_prefix[0] == '\0' || n >= sizeof(stem))
		return -EINVAL;
	m = fopen("/proc/mounts", "r");
	if (m == NULL)
		return -errno;
	while (fgets(line, sizeof(line), m) != NULL) {
		/* "device mountpoint fstype ...": mount points with spaces are
		 * written with octal escapes, and DPDK would not use them. */
		if (sscanf(line, "%*s %1023s %63s", dir, fs) != 2 || strcmp(fs, "hugetlbfs") != 0)
			continue;
		d = opendir(dir);
		if (d == NULL)
			continue;
		while ((e = readdir(d)) != NULL) {
			if (strncmp(e->d_name, stem, n) != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (unlink(path) == 0)
				removed++;
			else if (rc == 0)
				rc = -errno;
		}
		closedir(d);
	}
	fclose(m);
	return rc != 0 ? rc : removed;
}
