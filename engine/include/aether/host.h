/*
 * aether/host.h — what the engine needs from the process that hosts it.
 *
 * The engine has no I/O of its own. Block I/O on relation files and the
 * byte-addressed write-ahead log go through this callback table. Two hosts
 * exist: engine/port/posix_host.c (files in a directory; used by the unit
 * tests and the offline tool) and aether_host.c (PostgreSQL smgr; the
 * extension).
 *
 * Rules for implementations:
 *  1. A callback never longjmps and never exits; it returns a status and, on
 *     failure, calls ae_fail() so the message names the file and block.
 *  2. write_block() on a block at or beyond the end of the file extends the
 *     file (zero-filling any gap). Blocks never written read back as zeros.
 *  3. read_block() of a block beyond the end of the file returns AE_NOT_FOUND.
 *  4. log_* address one unbounded byte stream; the host maps it to files.
 *     log_read() past the written end returns the bytes that exist (*got may
 *     be short, zero at the end). log_sync() makes durable every log byte
 *     written so far by any process (log_write and log_sync are only called
 *     under the engine's log flush latch, one process at a time).
 *  5. Callbacks may be called while the engine holds page latches; they must
 *     not call back into the engine.
 *  6. Checkpoints and recovery (aether/checkpoint.h) also need control_read,
 *     control_write, sync_written and log_discard; log_size is optional
 *     (recovery progress estimates). A host that never checkpoints may leave
 *     them NULL.
 */
#ifndef AETHER_HOST_H
#define AETHER_HOST_H

#include <stddef.h>
#include <stdint.h>
#include "aether/status.h"

#define AE_LOG_DEBUG	0
#define AE_LOG_INFO		1
#define AE_LOG_WARNING	2

typedef struct ae_host
{
	ae_status	(*read_block) (void *ctx, ae_file_id f, uint32_t blk, void *page);
	ae_status	(*write_block) (void *ctx, ae_file_id f, uint32_t blk, const void *page);
	ae_status	(*nblocks) (void *ctx, ae_file_id f, uint32_t *nblocks);
	ae_status	(*sync_file) (void *ctx, ae_file_id f);

	ae_status	(*log_write) (void *ctx, uint64_t offset, const void *buf, size_t len);
	ae_status	(*log_read) (void *ctx, uint64_t offset, void *buf, size_t len, size_t *got);
	ae_status	(*log_sync) (void *ctx);

	void		(*message) (void *ctx, int level, const char *msg);

	/*
	 * The control file: read returns AE_NOT_FOUND when there is none (a new
	 * installation); write replaces it atomically and durably (a crash leaves
	 * the old or the new contents, never a mix).
	 */
	ae_status	(*control_read) (void *ctx, void *buf, size_t len, size_t *got);
	ae_status	(*control_write) (void *ctx, const void *buf, size_t len);
	/* Make every block write_block accepted so far durable (all files). */
	ae_status	(*sync_written) (void *ctx);

	/*
	 * Forget log bytes: whole files that end at or before keep_from (removed,
	 * or reused as files for later log: their bytes then sit at other LSNs,
	 * where no record validates, wal/README.md R6), and, when end != 0, every
	 * byte at or after end (a torn tail recovery will overwrite: bytes there
	 * were written at their own LSN and would validate). Fails with
	 * AE_CORRUPT when a file between is missing.
	 */
	ae_status	(*log_discard) (void *ctx, uint64_t keep_from, uint64_t end);
	/*
	 * About where the log's written bytes end, not counting files made
	 * ahead of the writers (for progress estimates; may be NULL).
	 */
	ae_status	(*log_size) (void *ctx, uint64_t *end);
	/*
	 * The engine cannot go on without losing data: a mini-transaction whose
	 * pages are already changed could not be logged (the log device is full
	 * or failing). Must not return (PostgreSQL: PANIC, then crash recovery).
	 * NULL: the engine calls abort().
	 */
	void		(*fatal) (void *ctx, const char *msg);
	/* true when the host wants the current operation abandoned (query cancel) */
	bool		(*interrupted) (void *ctx);

	/*
	 * Host records (ae_wal_log_host; both optional). redo_record receives
	 * each complete one during replay, in log order (a failure stops
	 * recovery). checkpoint_prepare is called by every checkpoint once its
	 * redo point is chosen and before the control file names it: after it
	 * returns, the host records before redo are forgotten, so the host must
	 * have made durable by its own means whatever they stand for. Called
	 * holding no page latch and no log latch; unlike other callbacks it may
	 * call ae_wal_log_host (records it logs land after redo).
	 */
	ae_status	(*redo_record) (void *ctx, uint8_t type, const void *data, size_t len);
	ae_status	(*checkpoint_prepare) (void *ctx, uint64_t redo_lsn);

	void	   *ctx;
} ae_host;

#endif
