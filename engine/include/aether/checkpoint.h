/*
 * aether/checkpoint.h — checkpoints, the control file, crash recovery.
 *
 * A checkpoint makes the log before its redo point unnecessary:
 *   1. redo = current reserved log position (under the log's reservation
 *      spinlock, which also checks each group's redo point); from now
 *      on the first change of a page older than redo logs a full-page image
 *      (torn-page protection);
 *   2. every page dirty at that moment is written, and every file synced;
 *   3. the host makes durable what its own records before redo stand for
 *      (host->checkpoint_prepare), the log is flushed, and the control file
 *      is replaced atomically with { redo, end = flushed position, state };
 *   4. log files wholly before redo are no longer needed: the host removes
 *      them or renames them to future log files (recycling; stale records
 *      in them never validate, because each record's CRC covers its LSN).
 * A crash at any step leaves the previous control file in charge.
 *
 * Recovery (ae_recover) reads the control file, replays every complete
 * mini-transaction group from its redo point to the end of the valid log
 * (idempotent by page LSN; full-page images repair torn pages), cuts off a
 * torn tail, resumes logging there and takes a checkpoint. The log must
 * reach the control file's end position (set by each checkpoint and moved
 * forward every second by ae_control_advance_end): if it stops short, a log
 * file is missing or damaged, and recovery fails with AE_CORRUPT rather than
 * silently losing what the log held. Damage in the log written after that
 * position cannot be told from a torn tail.
 *
 * Control file layout (little endian, 64 bytes):
 *   0 magic "AECT" | 4 version | 8 state | 12 reserved | 16 redo LSN |
 *   24 end LSN | 32 checkpoint time (s since epoch) | 40 checkpoint count |
 *   48 note (ae_wal_note maximum) | 56 reserved (4 bytes) | 60 CRC32C of 0..59
 */
#ifndef AETHER_CHECKPOINT_H
#define AETHER_CHECKPOINT_H

#include "aether/wal.h"

#define AE_CONTROL_MAGIC	0x54434541u	/* "AECT" */

/*
 * Hosts keep the log in files of a size that is a multiple of this (both
 * hosts use 16 MiB): recovery cannot check the bytes before a redo point
 * that falls on such a boundary (the file before it may be removed).
 */
#define AE_LOG_FILE_GRANULE	((uint64_t) 16 * 1024 * 1024)

/*
 * The format of the control file and of the log it describes. 2: each log
 * record's CRC also covers the record's LSN (wal.h). A directory of another
 * version is refused (AE_CORRUPT naming both versions), never misread:
 * version 1 records would all fail the CRC and look like an empty log.
 */
#define AE_CONTROL_VERSION	2

enum
{
	AE_STATE_RUNNING = 1,		/* written by a checkpoint while the server runs */
	AE_STATE_SHUTDOWN = 2		/* written by the shutdown checkpoint: nothing to redo */
};

typedef struct ae_control
{
	uint32_t	magic;
	uint32_t	version;
	uint32_t	state;
	uint32_t	reserved1;
	uint64_t	redo_lsn;
	uint64_t	end_lsn;
	uint64_t	time;
	uint64_t	count;
	uint64_t	note;			/* ae_wal_note_max at the checkpoint */
	uint8_t		reserved2[4];
	uint32_t	crc;
} ae_control;

static_assert(sizeof(ae_control) == 64, "control file is 64 bytes");

typedef struct ae_checkpoint_info
{
	ae_lsn		redo_lsn;
	ae_lsn		end_lsn;
	uint64_t	pages_written;	/* frames written by this checkpoint */
} ae_checkpoint_info;

/*
 * Take a checkpoint (shutdown: the last one before a clean stop). One runs
 * at a time; a caller arriving during another waits for it and then takes
 * its own. Entry: no page latch held. On error the old control file stays.
 */
ae_status	ae_checkpoint(ae_engine *eng, bool shutdown, ae_checkpoint_info *out);

typedef struct ae_recovery_info
{
	bool		fresh;			/* no control file: a new installation */
	bool		clean;			/* the last run ended with a shutdown checkpoint */
	ae_lsn		redo_lsn;		/* replay started here */
	ae_lsn		end_lsn;		/* and the valid log ended here */
	uint64_t	records;		/* records read in complete groups */
	uint64_t	note;			/* the host's note maximum (ae_wal_note) */
	double		seconds;		/* time spent replaying */
} ae_recovery_info;

/*
 * Bring the relation files up to date with the log after a crash (or check
 * that nothing is to be done after a clean stop), then checkpoint. Entry: no
 * other process uses the engine until it returns, and no page in the pool
 * carries an LSN past the durable log (nothing logged since the engine was
 * created, or the pool discarded as after a simulated crash): AE_INVALID
 * otherwise, since redo would later skip new records for such pages. Progress goes to
 * host->message at AE_LOG_INFO every few seconds.
 */
ae_status	ae_recover(ae_engine *eng, ae_recovery_info *out);

/*
 * ae_recover without its final checkpoint: the log stays as it is, so a
 * host that must act on what its records said (host->redo_record) before
 * the log holding them is forgotten does so, then calls ae_checkpoint.
 * Until that checkpoint, a crash simply repeats the whole recovery.
 */
ae_status	ae_recover_redo(ae_engine *eng, ae_recovery_info *out);

/*
 * The start epoch: the LSN where the log ended when recovery ran at this
 * start (0 without recovery). Every start counts, clean or not: a clean
 * control file does not prove that nothing was logged, and lost, after the
 * shutdown checkpoint. It grows from start to start: a page change stamped
 * with one epoch and durable is logged at or past it, so the next start's
 * log ends beyond it. A counter that may have run ahead of the durable log
 * (the B+tree's row-id counter) compares its stamp with this to catch up
 * once per start.
 */
uint64_t	ae_start_epoch(ae_engine *eng);

/*
 * Record in the control file that the log is durable up to the current
 * flushed position (redo point unchanged). Called every second or so by the
 * host, it narrows what recovery must take for a torn tail: a log that
 * ends before that position is reported as damaged. No-op when nothing new
 * was flushed.
 */
ae_status	ae_control_advance_end(ae_engine *eng);

/* Read and validate the control file (AE_NOT_FOUND: none; AE_CORRUPT: bad). */
ae_status	ae_control_read(ae_engine *eng, ae_control *out);

#endif
