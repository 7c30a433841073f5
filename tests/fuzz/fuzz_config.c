/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the gateway configuration parser (control/config). The
 * input is a configuration file: accepted, or refused with a diagnostic.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>

#include "cp_config.h"
#include "cp_diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cp_gw_config cfg;
	struct cp_diags d = { 0 };
	int rc = cp_config_parse((const char *)data, size, "fuzz.json", &cfg, &d);

	if (rc == -EINVAL)
		assert(d.n > 0);
	if (rc == 0)
		assert(cfg.n_ports > 0);
	cp_diags_free(&d);
	return 0;
}
