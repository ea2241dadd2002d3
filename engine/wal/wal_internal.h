/*
 * wal_internal.h — the shared log buffer (engine-internal). See wal/README.md
 * ("Log buffer") for the insertion protocol in prose.
 *
 * The log buffer is a ring of `size` bytes (power of two): byte LSN x lives at
 * ring[x & mask]. Four positions:
 *
 *     reserved  cur_pos: end of the LSN space handed out to inserters
 *               (ae_wal_insert_lsn returns it: every returned insertion
 *               ends at or before it)
 *     copied    every byte below it is in the ring (computed without
 *               waiting, copied_upto() in wal.c)
 *     written   written_lsn: handed to host->log_write
 *     flushed   flushed_lsn: made durable by host->log_sync
 *
 *     flushed <= written <= copied <= reserved,
 *     and a byte x is copied into the ring only once x < written + size  (W1)
 *
 * so ring space is reused only after the bytes it held were written
 * (copied <= written + size; reserved may run ahead of it: inserters then
 * wait for space).
 *
 * Insertion slots (W6). Each inserting process owns one of
 * AE_WAL_INSERT_SLOTS slots for the whole of ae_wal_insert. A slot's `at` is
 * 0 when its owner has no reservation; otherwise the owner has copied every
 * byte of its reservation below `at` (it has nothing uncopied below `at`).
 * `at` is set to a lower bound of the reservation's start before the
 * atomic add that reserves it (so whoever reads the new cur_pos sees it),
 * then to the start itself; it only grows while owned (a group larger than the ring advertises its
 * progress), and is reset to 0 (release order) after the last byte is
 * copied. Hence everything below min(reserved, every nonzero `at`) is
 * copied, read without waiting; and "everything below x is copied" once
 * every slot has `at` == 0 or `at` >= x (wait_copies). That minimum is only
 * a lower bound: an inserter that read cur_pos long ago may advertise its
 * lower bound after a waiter's wait_copies(x) passed, below x; so a flusher
 * writes to at least the x it waited for (write_copied).
 */
#ifndef AE_WAL_INTERNAL_H
#define AE_WAL_INTERNAL_H

#include "aether/wal.h"
#include "../engine_internal.h"
#include "../util/latch.h"

#define AE_WAL_INSERT_SLOTS 8

typedef struct wal_slot
{
	ae_latch	owner;			/* held exclusive by the inserting process (L2) */
	/*
	 * Futex word for waiters on `at`: bit 0 = someone sleeps, bits 1..31 a
	 * counter the owner bumps (clearing bit 0, waking sleepers) after every
	 * change of `at` that a waiter may need (progress, release).
	 */
	_Atomic uint32_t seq;
	_Atomic uint64_t at;		/* see W6 above */
	char		pad[64 - 16];	/* one cache line per slot */
} wal_slot;

/*
 * Guards:
 *   slots[i].owner (exclusive) the slot; one per inserting process (L2),
 *                 held across the W5 check of redo_lsn, the reservation
 *                 (an atomic add to cur_pos) and the copy of one group;
 *                 ae_wal_begin_checkpoint takes all of them to move redo_lsn
 *   flush_latch   (exclusive) written_lsn/flushed_lsn advance; one writer
 *                 (L3); never held while waiting for a copy
 *   cur_pos: atomic add (reservation); redo_lsn: changed only holding every
 *                 slot (or before anyone logs); both read atomically
 *   written_lsn, flushed_lsn, counters: atomics (read without locks)
 */
typedef struct wal_shared
{
	uint32_t	size;
	uint32_t	mask;
	uint64_t	ring_off;		/* ring start minus struct start */
	_Atomic uint64_t cur_pos;	/* reserved: the next group starts here */
	/*
	 * Redo point of the checkpoint in progress or last completed: a page whose
	 * LSN is older gets a full-page image in its next mtr group (torn-page
	 * protection, W5). Changed only by a process holding every insertion
	 * slot (ae_wal_begin_checkpoint), or before anyone logs.
	 */
	_Atomic uint64_t redo_lsn;
	char		pad1[32];		/* the reservation fields above fill one cache line */
	ae_latch	flush_latch;
	_Atomic uint64_t written_lsn;
	_Atomic uint64_t flushed_lsn;
	/*
	 * 0, or the lowest LSN an inserter reserved but could not copy (its ring
	 * space never came free: the log device failed). Nothing at or after it
	 * is ever written; the process must not go on (ae_mtr_commit: fatal).
	 */
	_Atomic uint64_t failed_lsn;
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
	/*
	 * Waiting for a flush (W3, flush_latch_unless_done): flush n publishes its target,
	 * then sets flush_gen to 2n + 1 while it runs and 2n + 2 when done.
	 * Processes that flush n covers sleep on gen_word[n & 1]; those that need
	 * a later flush sleep on gen_word[(n + 1) & 1], and each release of the
	 * flush latch wakes one of them to lead it.
	 */
	_Atomic uint64_t flush_target;
	_Atomic uint32_t flush_gen;
	_Atomic uint32_t gen_word[2];	/* futex words, bumped on each wake */
	_Atomic uint32_t gen_sleepers[2];
	_Alignas(64) wal_slot slots[AE_WAL_INSERT_SLOTS];
} wal_shared;

static_assert(offsetof(wal_shared, flush_latch) == 64, "reservation fields: one cache line");
static_assert(offsetof(wal_shared, slots) % 64 == 0 && sizeof(wal_slot) == 64,
			  "one cache line per insertion slot");

/* Release the flush latch, waking whoever waits for it (W3); every holder releases it so. */
void		ae_wal_flush_latch_release(wal_shared *w);
size_t		ae_wal_shmem_size(const ae_engine_config *cfg);
void		ae_wal_shmem_init(wal_shared *w, const ae_engine_config *cfg);
void		ae_wal_get_stats(ae_engine *eng, ae_engine_stats *out);

/*
 * Append len bytes of complete records (nrecords of them) as one contiguous
 * group; *start and *end receive its LSN range. The one place where log
 * space is reserved: [start, end) is reserved with an atomic add to cur_pos,
 * then copied, in parallel with other processes' reservations and copies. On entry each
 * record's crc holds the CRC32C of its bytes 8..total; once the group's LSN
 * is known (after the reservation, before the copy) ae_wal_insert continues
 * each one over the record's own LSN, in data itself (ae_wal_crc_at, R6):
 * data is changed whatever the result.
 *
 * redo_seen: the redo point the caller's full-page-image decisions were made
 * against, or AE_WAL_ANY_REDO. It is compared with redo_lsn holding the
 * insertion slot, which a checkpoint needs to move redo_lsn: if a checkpoint has moved the redo point
 * since, nothing is reserved and AE_CONFLICT is returned: rebuild the group
 * (W5). A failure (the log device, while waiting for ring space) leaves the
 * reservation uncopied (failed_lsn): the caller must not go on.
 */
#define AE_WAL_ANY_REDO UINT64_MAX
ae_status	ae_wal_insert(ae_engine *eng, void *data, size_t len, uint32_t nrecords,
						  ae_lsn redo_seen, ae_lsn *start, ae_lsn *end);

/*
 * Start a checkpoint: holding every insertion slot (no reservation can be
 * between its W5 check and its add), make the reserved position the redo
 * point and return it. Every group reserved after it
 * images the pages it changes that are older than it.
 */
ae_lsn		ae_wal_begin_checkpoint(ae_engine *eng);

/* Set the redo point without a checkpoint (recovery, before anyone logs). */
void		ae_wal_set_redo_lsn(ae_engine *eng, ae_lsn lsn);

/* Fill the process-local rmgr table with the built-in modules' redo functions. */
void		ae_wal_register_builtin(void);
/* AE_RMGR_PAGE (page_redo.c). */
void		ae_page_register_redo(void);

/* full-page images (page_redo.c): which records are one, and the hole-free form */
bool		ae_page_image_is(const ae_log_record *r);
void		ae_page_image_hole(const void *page, uint16_t *off, uint16_t *len);
size_t		ae_page_image_payload_len(uint16_t hole_len);
void		ae_page_image_write(const void *page, uint16_t hole_off, uint16_t hole_len, char *out);
size_t		ae_page_image_build(const void *page, uint16_t hole_off, uint16_t hole_len, char *out,
								uint8_t *type);
/* AE_RMGR_NOTE (note.c). */
void		ae_note_register_redo(void);
/* Set the shared note maximum (recovery, from the control file). */
void		ae_wal_set_note_max(ae_engine *eng, uint64_t value);

static inline size_t
ae_wal_align(size_t n)
{
	return (n + 7) & ~(size_t) 7;
}

/*
 * R2/R6: the CRC a record carries at lsn, from the CRC32C of its bytes
 * 8..total (body_crc): that CRC continued over the 8 bytes of lsn, little
 * endian. A record's bytes therefore validate only at the LSN they were
 * written for (wal.h, wal/README.md "Replay").
 */
static inline uint32_t
ae_wal_crc_at(uint32_t body_crc, ae_lsn lsn)
{
	uint8_t		le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t) (lsn >> (8 * i));
	return ae_crc32c(body_crc, le, sizeof(le));
}

#endif
