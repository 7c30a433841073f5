/* SPDX-License-Identifier: BSD-3-Clause */
/* cp_config: the gateway configuration (suite cp_config). The data-driven
 * cases are in test_cp_cases.c; this checks values and defaults. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cp_config.h"
#include "cp_test.h"

static const char *cases_dir;
static char tmp_dir[64];

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_FATAL(f != NULL);
	fputs(text, f);
	fclose(f);
}

static int
suite_init(void)
{
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/daitn-cp-config-XXXXXX");
	return mkdtemp(tmp_dir) == NULL ? -1 : 0;
}

static int
suite_fini(void)
{
	char path[PATH_MAX];
	static const char *files[] = { "sub/gw.json", "gw.json", "bad.json", "capture.json" };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmp_dir, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/sub", tmp_dir);
	rmdir(path);
	return rmdir(tmp_dir);
}

static void
test_unreadable_file_is_an_errno_with_one_diagnostic(void)
{
	struct cp_gw_config *cfg = malloc(sizeof(*cfg));
	struct cp_diags d = { 0 };

	CU_ASSERT_FATAL(cfg != NULL);
	CU_ASSERT_EQUAL(cp_config_load("/nonexistent/gw.json", cfg, &d), -ENOENT);
	CU_ASSERT_EQUAL(d.n, 1);
	CU_ASSERT_STRING_EQUAL(d.v[0].file, "/nonexistent/gw.json");
	CU_ASSERT_STRING_EQUAL(d.v[0].msg, "cannot read: No such file or directory");
	CU_ASSERT_EQUAL(d.v[0].line, 0);
	CU_ASSERT_EQUAL(cp_config_load(tmp_dir, cfg, &d), -EISDIR);
	CU_ASSERT_EQUAL(d.n, 2);
	cp_diags_free(&d);
	free(cfg);
}

static void
test_errors_of_two_loads_accumulate_in_order(void)
{
	struct cp_gw_config *cfg = malloc(sizeof(*cfg));
	struct cp_diags d = { 0 };
	char path[PATH_MAX];

	CU_ASSERT_FATAL(cfg != NULL);
	snprintf(path, sizeof(path), "%s/bad.json", tmp_dir);
	write_file(path, "{\n \"policy\": \"p\",\n \"burst\": 0,\n \"ports\": 1 }");
	CU_ASSERT_EQUAL(cp_config_load(path, cfg, &d), -EINVAL);
	CU_ASSERT_EQUAL(d.n, 3);
	CU_ASSERT_EQUAL(cp_config_load(path, cfg, &d), -EINVAL);
	CU_ASSERT_EQUAL(d.n, 6);
	/* Each load sorts only its own: file order within each. */
	CU_ASSERT_STRING_EQUAL(d.v[0].path, "/data_lcores");
	CU_ASSERT_STRING_EQUAL(d.v[1].path, "/burst");
	CU_ASSERT_STRING_EQUAL(d.v[2].path, "/ports");
	CU_ASSERT_STRING_EQUAL(d.v[3].path, "/data_lcores");
	CU_ASSERT_EQUAL(d.v[3].line, 1);
	CU_ASSERT_EQUAL(d.v[5].line, 4);
	cp_diags_free(&d);
	free(cfg);
}

static void
test_defaults_fill_what_a_minimal_config_leaves_out(void)
{
	struct cp_gw_config *cfg = malloc(sizeof(*cfg));
	struct cp_diags d = { 0 };
	char path[PATH_MAX], want[PATH_MAX + 16], *real;

	CU_ASSERT_FATAL(cfg != NULL);
	snprintf(path, sizeof(path), "%s/gw.json", tmp_dir);
	write_file(path, "{ \"ports\": [ { \"name\": \"p0\", \"vdev\": \"net_af_packet0,iface=dgw0\","
			 " \"ip\": \"10.77.0.1\" } ], \"data_lcores\": [1], \"policy\": \"policy.json\" }");
	CU_ASSERT_EQUAL(cp_config_load(path, cfg, &d), 0);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_STRING_EQUAL(cfg->path, path);
	CU_ASSERT_EQUAL(cfg->n_ports, 1);
	CU_ASSERT_STRING_EQUAL(cfg->ports[0].name, "p0");
	CU_ASSERT_STRING_EQUAL(cfg->ports[0].device, "net_af_packet0,iface=dgw0");
	CU_ASSERT_FALSE(cfg->ports[0].is_pci);
	CU_ASSERT_EQUAL(cfg->ports[0].ip, 0x0a4d0001u);
	CU_ASSERT_EQUAL(cfg->ports[0].mtu, 0);
	CU_ASSERT_EQUAL(cfg->main_lcore, 0);
	CU_ASSERT_EQUAL(cfg->n_data_lcores, 1);
	CU_ASSERT_EQUAL(cfg->data_lcores[0], 1);
	CU_ASSERT_EQUAL(cfg->udp_port, 47000);
	CU_ASSERT_TRUE(cfg->hugepages);
	CU_ASSERT_FALSE(cfg->capture);
	CU_ASSERT_FALSE(cfg->idle_adaptive);
	CU_ASSERT_EQUAL(cfg->idle_after_polls, 1024);
	CU_ASSERT_EQUAL(cfg->idle_sleep_max_us, 250);
	CU_ASSERT_EQUAL(cfg->memory_mb, 512);
	CU_ASSERT_EQUAL(cfg->mbufs, 16383);
	CU_ASSERT_EQUAL(cfg->burst, 32);
	CU_ASSERT_EQUAL(cfg->slot_memory, 64u << 20);
	CU_ASSERT_TRUE(cfg->watch_policy);
	CU_ASSERT_EQUAL(cfg->tx_scheduler, CP_TX_SCHED_PRIORITY);
	CU_ASSERT_EQUAL(cfg->tx_rate_mbps, 0);
	CU_ASSERT_EQUAL(cfg->n_eal_args, 0);
	real = realpath(tmp_dir, NULL);
	CU_ASSERT_FATAL(real != NULL);
	snprintf(want, sizeof(want), "%s/policy.json", real);
	CU_ASSERT_STRING_EQUAL(cfg->policy_path, want);
	free(real);
	cp_diags_free(&d);
	free(cfg);
}

static void
test_policy_path_is_taken_from_the_config_folder(void)
{
	struct cp_gw_config *cfg = malloc(sizeof(*cfg));
	struct cp_diags d = { 0 };
	char path[PATH_MAX], want[PATH_MAX + 32], *real;
	char cwd[PATH_MAX];

	CU_ASSERT_FATAL(cfg != NULL);
	CU_ASSERT_FATAL(getcwd(cwd, sizeof(cwd)) != NULL);
	snprintf(path, sizeof(path), "%s/sub", tmp_dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/sub/gw.json", tmp_dir);
	write_file(path, "{ \"ports\": [ { \"name\": \"p0\", \"pci\": \"0000:01:00.0\","
			 " \"ip\": \"10.0.0.1\" } ], \"data_lcores\": [1], \"policy\": \"../p.json\" }");
	/* Loaded by a relative name from elsewhere: still the config's folder. */
	CU_ASSERT_FATAL(chdir(tmp_dir) == 0);
	CU_ASSERT_EQUAL(cp_config_load("sub/gw.json", cfg, &d), 0);
	CU_ASSERT_FATAL(chdir(cwd) == 0);
	real = realpath(tmp_dir, NULL);
	CU_ASSERT_FATAL(real != NULL);
	snprintf(want, sizeof(want), "%s/sub/../p.json", real);
	CU_ASSERT_STRING_EQUAL(cfg->policy_path, want);
	CU_ASSERT_TRUE(cfg->ports[0].is_pci);
	CU_ASSERT_STRING_EQUAL(cfg->ports[0].device, "0000:01:00.0");
	free(real);

	write_file(path, "{ \"ports\": [ { \"name\": \"p0\", \"vdev\": \"net_null0\","
			 " \"ip\": \"10.0.0.1\" } ], \"data_lcores\": [1], \"policy\": \"/etc/p.json\" }");
	CU_ASSERT_EQUAL(cp_config_load(path, cfg, &d), 0);
	CU_ASSERT_STRING_EQUAL(cfg->policy_path, "/etc/p.json");
	CU_ASSERT_EQUAL(d.n, 0);
	cp_diags_free(&d);
	free(cfg);
}

static void
test_every_field_of_a_full_config_is_read(void)
{
	struct cp_gw_config *cfg = malloc(sizeof(*cfg));
	struct cp_diags d = { 0 };
	char path[PATH_MAX];

	CU_ASSERT_FATAL(cfg != NULL);
	snprintf(path, sizeof(path), "%s/config/valid/full.json", cases_dir);
	CU_ASSERT_EQUAL(cp_config_load(path, cfg, &d), 0);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_EQUAL(cfg->n_ports, 8);
	CU_ASSERT_STRING_EQUAL(cfg->ports[0].device, "net_af_packet0,iface=veth0,qpairs=1");
	CU_ASSERT_EQUAL(cfg->ports[0].mtu, 576);
	CU_ASSERT_TRUE(cfg->ports[1].is_pci);
	CU_ASSERT_STRING_EQUAL(cfg->ports[1].device, "0000:3b:00.1");
	CU_ASSERT_EQUAL(cfg->ports[1].mtu, 9216);
	CU_ASSERT_STRING_EQUAL(cfg->ports[2].device, "af:1f.7");
	CU_ASSERT_EQUAL(cfg->ports[2].ip, 0xdf010001u);
	CU_ASSERT_STRING_EQUAL(cfg->ports[7].name, "p7");
	CU_ASSERT_EQUAL(cfg->main_lcore, 3);
	CU_ASSERT_EQUAL(cfg->n_data_lcores, 4);
	CU_ASSERT_EQUAL(cfg->data_lcores[3], 127);
	CU_ASSERT_EQUAL(cfg->udp_port, 65532);
	CU_ASSERT_FALSE(cfg->hugepages);
	CU_ASSERT_EQUAL(cfg->memory_mb, 128);
	CU_ASSERT_EQUAL(cfg->mbufs, 255);
	CU_ASSERT_EQUAL(cfg->burst, 256);
	CU_ASSERT_EQUAL(cfg->slot_memory, 16u << 20);
	CU_ASSERT_STRING_EQUAL(cfg->policy_path, "/etc/daitn/policy.json");
	CU_ASSERT_FALSE(cfg->watch_policy);
	CU_ASSERT_EQUAL(cfg->n_eal_args, 4);
	CU_ASSERT_STRING_EQUAL(cfg->eal_args[0], "--log-level=lib.eal:debug");
	CU_ASSERT_STRING_EQUAL(cfg->eal_args[3], "/usr/lib");
	CU_ASSERT_EQUAL(cfg->tx_scheduler, CP_TX_SCHED_FIFO);
	CU_ASSERT_EQUAL(cfg->tx_rate_mbps, 10000000);
	cp_diags_free(&d);
	free(cfg);
}

static void
test_capture_is_read(void)
{
	struct cp_gw_config *cfg = malloc(sizeof(*cfg));
	struct cp_diags d = { 0 };
	char path[PATH_MAX];

	CU_ASSERT_FATAL(cfg != NULL);
	snprintf(path, sizeof(path), "%s/capture.json", tmp_dir);
	write_file(path, "{ \"ports\": [ { \"name\": \"p0\", \"vdev\": \"net_null0\","
			 " \"ip\": \"10.77.0.1\" } ], \"data_lcores\": [1], \"policy\": \"p.json\","
			 " \"capture\": true, \"idle_poll\": \"adaptive\", \"idle_after_polls\": 8,"
			 " \"idle_sleep_max_us\": 100 }");
	CU_ASSERT_EQUAL(cp_config_load(path, cfg, &d), 0);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_TRUE(cfg->hugepages);
	CU_ASSERT_TRUE(cfg->capture);
	CU_ASSERT_TRUE(cfg->idle_adaptive);
	CU_ASSERT_EQUAL(cfg->idle_after_polls, 8);
	CU_ASSERT_EQUAL(cfg->idle_sleep_max_us, 100);
	cp_diags_free(&d);
	free(cfg);
}

static void
test_unicast_excludes_this_loopback_and_multicast(void)
{
	CU_ASSERT_FALSE(cp_config_ip_unicast(0x00000000u));
	CU_ASSERT_FALSE(cp_config_ip_unicast(0x00ffffffu));
	CU_ASSERT_FALSE(cp_config_ip_unicast(0x7f000001u));
	CU_ASSERT_FALSE(cp_config_ip_unicast(0xe0000001u));
	CU_ASSERT_FALSE(cp_config_ip_unicast(0xf0000001u));
	CU_ASSERT_FALSE(cp_config_ip_unicast(0xffffffffu));
	CU_ASSERT_TRUE(cp_config_ip_unicast(0x01000000u));
	CU_ASSERT_TRUE(cp_config_ip_unicast(0x0a4d0001u));
	CU_ASSERT_TRUE(cp_config_ip_unicast(0xdfffffffu));
}

static CU_TestInfo tests[] = {
	{ "unreadable_file_is_an_errno_with_one_diagnostic",
	  test_unreadable_file_is_an_errno_with_one_diagnostic },
	{ "errors_of_two_loads_accumulate_in_order", test_errors_of_two_loads_accumulate_in_order },
	{ "defaults_fill_what_a_minimal_config_leaves_out",
	  test_defaults_fill_what_a_minimal_config_leaves_out },
	{ "policy_path_is_taken_from_the_config_folder",
	  test_policy_path_is_taken_from_the_config_folder },
	{ "every_field_of_a_full_config_is_read", test_every_field_of_a_full_config_is_read },
	{ "capture_and_idle_polling_are_read", test_capture_is_read },
	{ "unicast_excludes_this_loopback_and_multicast",
	  test_unicast_excludes_this_loopback_and_multicast },
	CU_TEST_INFO_NULL,
};

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s CASES_DIR CONFIGS_DIR\n", argv[0]);
		return 2;
	}
	cases_dir = argv[1];
	return tu_run((CU_SuiteInfo){ "cp_config", suite_init, suite_fini, NULL, NULL, tests });
}
