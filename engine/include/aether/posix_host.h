/*
 * aether/posix_host.h — a host over POSIX files in one directory.
 *
 * Used by the unit tests and the offline tool. Relation file (spc, db, rel)
 * is "<dir>/<spc>_<db>_<rel>"; the log is a series of 16 MiB segment files
 * "<dir>/log.<segment number, 16 hex digits>". File descriptors are cached
 * per process (the cache is in the host's ctx, process-local memory).
 * Messages go to stderr; interrupted() is always false. log_sync() syncs the
 * log segments this process wrote (host.h rule 4 holds as long as one process
 * writes and syncs, as ae_wal_flush does; ae_wal_write from one process and
 * ae_wal_flush from another would need a shared record, as aether_host.c keeps).
 */
#ifndef AETHER_POSIX_HOST_H
#define AETHER_POSIX_HOST_H

#include "aether/host.h"

#define AE_POSIX_LOG_SEGMENT	((uint64_t) 16 * 1024 * 1024)

/*
 * Fill *host with the POSIX callbacks over directory dir (created if missing,
 * parent must exist). Returns AE_OK, AE_NO_MEMORY or AE_IO_ERROR.
 */
ae_status	ae_posix_host_init(ae_host *host, const char *dir);

/* Close cached descriptors and free ctx. The host must not be used afterwards. */
void		ae_posix_host_close(ae_host *host);

#endif
