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
	/*
	 * Redo point of the checkpoint in progress or last completed: a page whose
	 * LSN is older gets a full-page image in its next mtr group (torn-page
	 * protection, W5). Changed only under insert_latch.
	 */
	_Atomic uint64_t redo_lsn;
	ae_latch	checkpoint_latch;	/* one checkpoint at a time (L0, checkpoint.c) */
	_Atomic uint64_t note_max;	/* largest ae_wal_note value (note.c) */
	_Atomic uint64_t records;
	_Atomic uint64_t bytes;
	_Atomic uint64_t flushes;
	_Atomic uint64_t flush_requests;	/* ae_wal_flush calls that found their LSN not yet durable */
	_Atomic uint64_t page_images;	/* full-page images added by ae_mtr_commit */
	_Atomic uint64_t checkpoints;
	_Atomic uint64_t checkpoint_time;	/* seconds since the epoch of the last completed one */
	_Atomic uint64_t checkpoint_redo;	/* its redo point */
} wal_shared;

size_t		ae_wal_shmem_size(const ae_engine_config *cfg);
void		ae_wal_shmem_init(wal_shared *w, const ae_engine_config *cfg);
void		ae_wal_get_stats(ae_engine *eng, ae_engine_stats *out);

/*
 * Append len bytes of complete, CRC-stamped records (nrecords of them) as one
 * contiguous group; *start and *end receive its LSN range. The one place where
 * log space is reserved.
 *
 * redo_seen: the redo point the caller's full-page-image decisions were made
 * against, or AE_WAL_ANY_REDO. If a checkpoint has moved the redo point since,
 * nothing is inserted and AE_CONFLICT is returned: rebuild the group (W5).
 */
#define AE_WAL_ANY_REDO UINT64_MAX
ae_status	ae_wal_insert(ae_engine *eng, const void *data, size_t len, uint32_t nrecords,
						  ae_lsn redo_seen, ae_lsn *start, ae_lsn *end);

/* The current redo point (see wal_shared.redo_lsn). */
ae_lsn		ae_wal_redo_lsn(ae_engine *eng);

/*
 * Start a checkpoint: under the insertion latch, make the current insert
 * position the redo point and return it. Every group inserted after it
 * images the pages it changes that are older than it.
 */
ae_lsn		ae_wal_begin_checkpoint(ae_engine *eng);

/* Set the redo point without a checkpoint (recovery, before anyone logs). */
void		ae_wal_set_redo_lsn(ae_engine *eng, ae_lsn lsn);

/* Fill the process-local rmgr table with the built-in modules' redo functions. */
void		ae_wal_register_builtin(void);
/* AE_RMGR_PAGE (page_redo.c). */
void		ae_page_register_redo(void);
/* AE_RMGR_NOTE (note.c). */
void		ae_note_register_redo(void);
/* Set the shared note maximum (recovery, from the control file). */
void		ae_wal_set_note_max(ae_engine *eng, uint64_t value);

static inline size_t
ae_wal_align(size_t n)
{
	return (n + 7) & ~(size_t) 7;
}

#endif
