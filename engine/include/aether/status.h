/*
 * aether/status.h — status codes and the per-process last-error record.
 *
 * Every engine call returns an ae_status. AE_OK is zero. On any other value the
 * engine has filled the process-local error record (ae_error_last()) with a
 * message and, where known, the file and block involved. The engine never
 * longjmps and never calls exit(); the host decides what an error means.
 *
 * The engine is used by one thread per process (PostgreSQL backends are
 * processes), so the error record is a plain process-global.
 */
#ifndef AETHER_STATUS_H
#define AETHER_STATUS_H

#include <stdbool.h>
#include <stdint.h>

typedef enum ae_status
{
	AE_OK = 0,
	AE_NOT_FOUND,		/* key / row / record absent (not an error by itself) */
	AE_EXISTS,			/* unique key already present */
	AE_CONFLICT,		/* compare-and-swap lost: the value changed underneath */
	AE_INVALID,			/* bad argument from the caller (a bug in the caller) */
	AE_TOO_LARGE,		/* key or value exceeds a documented limit */
	AE_NO_MEMORY,		/* malloc failed */
	AE_POOL_FULL,		/* every buffer frame is pinned */
	AE_IO_ERROR,		/* the host's read/write/sync failed */
	AE_DISK_FULL,		/* the host reported ENOSPC */
	AE_CORRUPT,			/* checksum mismatch or a structurally impossible page */
	AE_INTERRUPTED,		/* host's interrupt check fired; nothing changed */
	AE_INTERNAL			/* invariant violated inside the engine */
} ae_status;

/* File identity. Opaque to the engine; the PostgreSQL host stores a RelFileNode. */
typedef struct ae_file_id
{
	uint32_t	spc;
	uint32_t	db;
	uint32_t	rel;
} ae_file_id;

static inline bool
ae_file_id_equal(ae_file_id a, ae_file_id b)
{
	return a.spc == b.spc && a.db == b.db && a.rel == b.rel;
}

#define AE_NO_BLOCK ((uint32_t) 0xFFFFFFFF)

typedef struct ae_error
{
	ae_status	status;
	ae_file_id	file;			/* zero when not about a file */
	uint32_t	block;			/* AE_NO_BLOCK when not about a block */
	char		message[256];
} ae_error;

/* The last error set in this process. Valid until the next failing call. */
const ae_error *ae_error_last(void);

/* Record an error and return its status (engine-internal, used as `return ae_fail(...)`). */
ae_status	ae_fail(ae_status st, ae_file_id file, uint32_t block, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

/* A short constant name for a status ("AE_CORRUPT"...). */
const char *ae_status_name(ae_status st);

#endif
