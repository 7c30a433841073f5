/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Error reporting. A handle keeps the sentence for its last failure; a failed
 * daitn_open() has no handle to keep it in, so that sentence lives in a
 * thread-local buffer read through daitn_last_error(NULL) (the Python binding
 * calls open and last_error on the same thread).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "daitn_priv.h"

static __thread char daitn_open_error[DAITN_ERR_SIZE];

int
daitn_err(struct daitn *d, int err, const char *fmt, ...)
{
	char *dst = d != NULL ? d->last_error : daitn_open_error;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, DAITN_ERR_SIZE, fmt, ap);
	va_end(ap);
	return err;
}

void
daitn_err_clear(struct daitn *d)
{
	if (d != NULL)
		d->last_error[0] = '\0';
	else
		daitn_open_error[0] = '\0';
}

const char *
daitn_last_error(const struct daitn *d)
{
	return d != NULL ? d->last_error : daitn_open_error;
}

const char *
daitn_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case EINVAL:
		return "invalid argument";
	case ETIMEDOUT:
		return "timed out waiting for the gateway";
	case ECONNREFUSED:
		return "the gateway refused the job (or nothing listens on its port)";
	case ERANGE:
		return "a value is too large for the int32 job's fixed point";
	case EPROTO:
		return "the gateway sent a malformed message";
	case EPIPE:
		return "the handle failed earlier; close it and open a new one";
	case EMSGSIZE:
		return "a chunk does not fit the path MTU, or a partial job's call has more "
		       "chunks than the job has slots";
	case ESTALE:
		return "a partial job's round closed without this rank; the next call joins "
		       "the job's current round";
	default:
		return strerrordesc_np(err) != NULL ? strerrordesc_np(err) : "unknown error";
	}
}
