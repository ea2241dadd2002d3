/*
 * wal_internal.h — the shared log buffer (engine-internal). See wal/README.md.
 *
 * The log buffer is a ring of `size` bytes (power of two): byte LSN x lives at
 * ring[x & mask]. At any time
 *
 *     flushed_lsn <= written_lsn <= insert_lsn <= written_lsn + size     (W1)
 *
 * [written_lsn, insert_lsn) are bytes copied but not yet handed to the host;
 * the ring space before written_lsn is free for inserters.
 */
#ifndef AE_WAL_INTERNAL_H
#define AE_WAL_INTERNAL_H

#include "aether/wal.h"
#include "../engine_internal.h"
#include "../util/latch.h"

/*
 * Guards:
 *   insert_latch  (exclusive) insert_pos and the ring bytes at/after it: the
 *                 insertion lock (L2), held across reserve + copy
 *   flush_latch   (exclusive) written_lsn/flushed_lsn advance; one flusher (L3)
 *   insert_lsn    atomic: published end of fully copied bytes
 *   written_lsn, flushed_lsn, counters: atomics (read without locks)
 */
typedef struct wal_shared
{
	uint32_t	size;
	uint32_t	mask;
	uint64_t	ring_off;		/* ring start minus struct start */
	ae_latch	insert_latch;
	ae_latch	flush_latch;
	uint64_t	insert_pos;
	_Atomic uint64_t insert_lsn;
	_Atomic uint64_t written_lsn;
	_Atomic uint64_t flushed_lsn;
	_Atomic uint64_t records;
	_Atomic uint64_t bytes;
	_Atomic uint64_t flushes;
} wal_shared;

size_t		ae_wal_shmem_size(const ae_engine_config *cfg);
void		ae_wal_shmem_init(wal_shared *w, const ae_engine_config *cfg);
void		ae_wal_get_stats(ae_engine *eng, ae_engine_stats *out);

/*
 * Append len bytes of complete, CRC-stamped records (nrecords of them) as one
 * contiguous group; *start and *end receive its LSN range. The one place where
 * log space is reserved.
 */
ae_status	ae_wal_insert(ae_engine *eng, const void *data, size_t len, uint32_t nrecords,
						  ae_lsn *start, ae_lsn *end);

/* Fill the process-local rmgr table with the built-in modules' redo functions. */
void		ae_wal_register_builtin(void);
/* AE_RMGR_PAGE (page_redo.c). */
void		ae_page_register_redo(void);

static inline size_t
ae_wal_align(size_t n)
{
	return (n + 7) & ~(size_t) 7;
}

#endif
