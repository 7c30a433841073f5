# SPDX-License-Identifier: BSD-3-Clause
"""daitn: allreduce through a daitn gateway from Python (ctypes over libdaitn).

    import daitn
    with daitn.Context("10.77.0.1", job=1, rank=0, bind_port=47100) as ctx:
        ctx.allreduce(array_or_tensor)      # summed in place over the job's workers

daitn.torch holds the DistributedDataParallel communication hook (it imports
torch; this module does not).
"""

from ._lib import (DAITN_BFLOAT16, DAITN_FLOAT16, DAITN_FLOAT32, DAITN_INT32,
                   LibraryNotFound)
from ._lib import load as load_library
from ._lib import path as library_path
from .core import Context, dtype_code, strerror
from .errors import (DaitnError, DaitnInvalidError, DaitnRangeError, DaitnRefusedError,
                     DaitnStaleError, DaitnTimeoutError)

__all__ = [
    "Context", "dtype_code", "strerror", "load_library", "library_path",
    "DaitnError", "DaitnTimeoutError", "DaitnRefusedError", "DaitnInvalidError",
    "DaitnRangeError", "DaitnStaleError", "LibraryNotFound",
    "DAITN_FLOAT32", "DAITN_INT32", "DAITN_BFLOAT16", "DAITN_FLOAT16",
]
