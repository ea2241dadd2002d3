/*
 * status.c — the process-local last-error record and status names.
 *
 * The engine runs one thread per process, so the record is a plain
 * process-global: it is the only mutable global of the engine besides each
 * handle's scan ring, the held-latch table of bufmgr.c and the rmgr table.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "aether/status.h"

static ae_error last_error = {.status = AE_OK, .block = AE_NO_BLOCK};

const ae_error *
ae_error_last(void)
{
	return &last_error;
}

/*
 * Record an error: status, the file and block it is about (zero file /
 * AE_NO_BLOCK when none) and a printf-style message (truncated to fit).
 * Returns st so callers can write `return ae_fail(...)`.
 */
ae_status
ae_fail(ae_status st, ae_file_id file, uint32_t block, const char *fmt,...)
{
	va_list		ap;

	last_error.status = st;
	last_error.file = file;
	last_error.block = block;
	va_start(ap, fmt);
	vsnprintf(last_error.message, sizeof(last_error.message), fmt, ap);
	va_end(ap);
	return st;
}

const char *
ae_status_name(ae_status st)
{
	switch (st)
	{
		case AE_OK: return "AE_OK";
		case AE_NOT_FOUND: return "AE_NOT_FOUND";
		case AE_EXISTS: return "AE_EXISTS";
		case AE_CONFLICT: return "AE_CONFLICT";
		case AE_INVALID: return "AE_INVALID";
		case AE_TOO_LARGE: return "AE_TOO_LARGE";
		case AE_NO_MEMORY: return "AE_NO_MEMORY";
		case AE_POOL_FULL: return "AE_POOL_FULL";
		case AE_IO_ERROR: return "AE_IO_ERROR";
		case AE_DISK_FULL: return "AE_DISK_FULL";
		case AE_CORRUPT: return "AE_CORRUPT";
		case AE_INTERRUPTED: return "AE_INTERRUPTED";
		case AE_INTERNAL: return "AE_INTERNAL";
	}
	return "AE_UNKNOWN";
}
