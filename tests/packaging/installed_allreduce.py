# SPDX-License-Identifier: BSD-3-Clause
"""One rank of a float16 job through the installed Python binding, run by
tests/packaging/run.sh as /usr/bin/python3 -I (no PYTHONPATH, no current
folder): the package and the library it loads must be the installed ones.
Rank r contributes (r + 1) * (i % 13); every element of the sum must be
N(N+1)/2 * (i % 13), exact in float16.

  installed_allreduce.py GATEWAY JOB RANK PORT N_WORKERS

Prints "rank R: K of K elements OK (package, library)"; exit 0 when all are.
"""
import sys

import numpy as np

import daitn

gateway = sys.argv[1]
job, rank, port, n = (int(a) for a in sys.argv[2:6])
if not daitn.__file__.startswith("/usr/lib/python3/dist-packages/daitn/"):
    sys.exit("rank %d: daitn imported from %s, not the installed package" % (rank, daitn.__file__))
daitn.load_library()
with open("/proc/self/maps") as f:
    mapped = sorted({line.split()[-1] for line in f if "libdaitn" in line})
if not mapped or not all(m.startswith("/usr/lib/") for m in mapped):
    sys.exit("rank %d: libdaitn mapped from %s, not the installed library" % (rank, mapped))

base = np.arange(4096) % 13
x = (base * (rank + 1)).astype(np.float16)
with daitn.Context(gateway, job=job, rank=rank, bind_port=port,
                   hello_timeout_ms=5000, timeout_ms=10000) as ctx:
    ctx.allreduce(x)
bad = int(np.count_nonzero(x != (base * (n * (n + 1) // 2)).astype(np.float16)))
print("rank %d: %d of %d elements OK (%s, %s)" % (rank, x.size - bad, x.size,
                                                  daitn.__file__, mapped[0]))
sys.exit(1 if bad else 0)
