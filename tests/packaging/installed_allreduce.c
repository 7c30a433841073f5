/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A program built the way a user builds one against the installed library:
 *   cc installed_allreduce.c $(pkg-config --cflags --libs daitn)
 * (tests/packaging/run.sh). One rank of an int32 job: it contributes
 * (rank + 1) * v(i), and every element of the sum must be N(N+1)/2 * v(i).
 *
 *   installed_allreduce GATEWAY BIND_IP PORT JOB RANK N_WORKERS
 *
 * Prints "rank R: K of K elements OK"; exit 0 when every element is right.
 */
#include <daitn.h>
#include <stdio.h>
#include <stdlib.h>

#define COUNT 10000

static int32_t value(int i)
{
	return i % 1000 - 500;
}

int main(int argc, char **argv)
{
	static int32_t buf[COUNT];
	struct daitn_config cfg = { 0 };
	struct daitn *d;
	int n, bad = 0, rc;

	if (argc != 7) {
		fprintf(stderr, "usage: %s GATEWAY BIND_IP PORT JOB RANK N_WORKERS\n", argv[0]);
		return 2;
	}
	cfg.gateway = argv[1];
	cfg.bind_addr = argv[2];
	cfg.bind_port = (uint16_t)atoi(argv[3]);
	cfg.job = (uint16_t)atoi(argv[4]);
	cfg.rank = (uint16_t)atoi(argv[5]);
	cfg.hello_timeout_ms = 5000;
	cfg.timeout_ms = 10000;
	n = atoi(argv[6]);
	for (int i = 0; i < COUNT; i++)
		buf[i] = (cfg.rank + 1) * value(i);

	rc = daitn_open(&cfg, &d);
	if (rc < 0) {
		fprintf(stderr, "rank %u: daitn_open: %s (%s)\n", cfg.rank, daitn_strerror(rc),
			daitn_last_error(NULL));
		return 1;
	}
	if (daitn_job(d)->n_workers != n) {
		fprintf(stderr, "rank %u: the job has %u workers, not %d\n", cfg.rank,
			daitn_job(d)->n_workers, n);
		daitn_close(d);
		return 1;
	}
	rc = daitn_allreduce(d, buf, COUNT, DAITN_INT32);
	if (rc < 0) {
		fprintf(stderr, "rank %u: daitn_allreduce: %s (%s)\n", cfg.rank, daitn_strerror(rc),
			daitn_last_error(d));
		daitn_close(d);
		return 1;
	}
	daitn_close(d);
	for (int i = 0; i < COUNT; i++)
		bad += buf[i] != n * (n + 1) / 2 * value(i);
	printf("rank %u: %d of %d elements OK\n", cfg.rank, COUNT - bad, COUNT);
	return bad != 0;
}
