# SPDX-License-Identifier: BSD-3-Clause
"""Python exceptions for libdaitn's negative errno returns.

Every exception is a DaitnError (an OSError): .errno is the positive errno,
.strerror the sentence from daitn_last_error() (or daitn_strerror() when no
handle exists yet, e.g. a failed daitn_open()), and .call the C function.
The subclasses also derive from the matching built-in, so callers can catch
TimeoutError / ConnectionRefusedError / ValueError without importing daitn.
"""

import errno as _errno


class DaitnError(OSError):
    """A libdaitn call failed."""

    def __init__(self, err, message, call=None):
        super().__init__(err, message)
        self.call = call

    def __str__(self):
        name = _errno.errorcode.get(self.errno, str(self.errno))
        where = "%s: " % self.call if self.call else ""
        return "%s%s (%s)" % (where, self.strerror, name)


class DaitnTimeoutError(DaitnError, TimeoutError):
    """-ETIMEDOUT: the gateway did not answer in time."""


class DaitnRefusedError(DaitnError, ConnectionRefusedError):
    """-ECONNREFUSED: the gateway refused the job (unknown, not admitted, ...)."""


class DaitnInvalidError(DaitnError):
    """-EINVAL: bad arguments (dtype, count, configuration)."""


class DaitnRangeError(DaitnError):
    """-ERANGE: a value is too large for the int32 job's fixed point."""


class DaitnStaleError(DaitnError):
    """-ESTALE: a partial job closed this call's round without this rank;
    nothing else is wrong, and the next call takes part in the job's round."""


_BY_ERRNO = {
    _errno.ESTALE: DaitnStaleError,
    _errno.ETIMEDOUT: DaitnTimeoutError,
    _errno.ECONNREFUSED: DaitnRefusedError,
    _errno.EINVAL: DaitnInvalidError,
    _errno.ERANGE: DaitnRangeError,
}


def from_rc(rc, message, call=None):
    """The exception for a negative return code rc."""
    err = -rc if rc < 0 else rc
    # libdaitn's sentences often start with the function's name already.
    if call and message.startswith(call + ": "):
        message = message[len(call) + 2:]
    return _BY_ERRNO.get(err, DaitnError)(err, message, call)
