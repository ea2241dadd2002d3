/*
 * aether/buf.h — the buffer pool.
 *
 * A fixed array of 8 KiB frames in the engine's shared region, found through
 * a page table keyed by (file, block). Frames are pinned (a count: the frame
 * is not evicted) and latched (shared/exclusive, across processes). Eviction
 * is a clock sweep over unpinned frames; a dirty victim is written only after
 * the log is durable up to its page LSN (the write-ahead rule). Bulk scans
 * read with AE_BUF_SCAN, which recycles a small per-process ring of frames
 * instead of pushing hot pages out.
 *
 * Rules:
 *  1. Every ae_buf handle returned by ae_buf_read/ae_buf_new is pinned and
 *     latched in the mode asked; release it with ae_buf_release().
 *  2. No pin or latch outlives the public engine call that took it: callers of
 *     the engine (the PostgreSQL glue) never hold a pin between calls.
 *  3. Latch order: parent before child, left before right, metapage before
 *     any other page of the same file. Never wait for a latch while holding
 *     one out of that order (use ae_buf_try_latch instead).
 *  4. A page is modified only under an exclusive latch and only inside a
 *     mini-transaction (aether/wal.h), which marks it dirty and stamps its LSN.
 */
#ifndef AETHER_BUF_H
#define AETHER_BUF_H

#include "aether/engine.h"
#include "aether/page.h"

typedef struct ae_buf ae_buf;	/* a frame descriptor in shared memory */

typedef enum ae_latch_mode
{
	AE_LATCH_NONE = 0,
	AE_LATCH_SHARED = 1,
	AE_LATCH_EXCLUSIVE = 2
} ae_latch_mode;

/* flags for ae_buf_read */
#define AE_BUF_SCAN		0x01	/* bulk scan: use the ring, do not raise the usage count */

/*
 * Pin and latch (file, blk), reading it from the host if not cached.
 * A page read from disk is verified (ae_page_verify): AE_CORRUPT names file and block.
 * Reading a block beyond the end of the file returns AE_NOT_FOUND.
 */
ae_status	ae_buf_read(ae_engine *eng, ae_file_id f, uint32_t blk,
						ae_latch_mode mode, int flags, ae_buf **out);

/*
 * Pin and exclusively latch (file, blk) as a zeroed page without reading it
 * (the caller is about to initialise a freshly allocated block).
 */
ae_status	ae_buf_new(ae_engine *eng, ae_file_id f, uint32_t blk, ae_buf **out);

/*
 * Pointer swizzling (buf/README.md, "Swizzling"). Read child block blk,
 * found in slot `slot` of the page in frame parent, like ae_buf_read; parent
 * must be pinned and latched (either mode) by the caller for the duration.
 * If parent's swizzle table names a frame for that slot and the frame, once
 * pinned, still holds (f, blk), no page-table lookup is made (the hot path).
 * Otherwise the page table is used and the slot is swizzled to the frame
 * found. Pages on disk are never changed: the hint lives beside the frame.
 */
ae_status	ae_buf_read_child(ae_engine *eng, ae_buf *parent, int slot, ae_file_id f,
							  uint32_t blk, ae_latch_mode mode, int flags, ae_buf **out);

/*
 * As ae_buf_read with a caller-owned hint (a frame id; initialise it to
 * AE_BUF_NO_HINT). Validated the same way; updated on a miss. For a
 * process-local pointer to a hot page such as a B+tree's metapage.
 */
#define AE_BUF_NO_HINT	UINT32_MAX
ae_status	ae_buf_read_hint(ae_engine *eng, ae_file_id f, uint32_t blk, ae_latch_mode mode,
							 int flags, uint32_t *hint, ae_buf **out);

/*
 * Forget the swizzled pointers of b's child slots from_slot and up (0: all),
 * because the page's items moved (an item inserted or deleted before them,
 * or the page rebuilt). b latched exclusive. Hints are also validated on
 * every use, so this is hygiene, not what makes a stale hint harmless.
 */
void		ae_buf_unswizzle(ae_engine *eng, ae_buf *b, int from_slot);

void	   *ae_buf_page(ae_buf *b);
uint32_t	ae_buf_block(ae_buf *b);
ae_file_id	ae_buf_file(ae_buf *b);

void		ae_buf_latch(ae_buf *b, ae_latch_mode mode);
bool		ae_buf_try_latch(ae_buf *b, ae_latch_mode mode);
void		ae_buf_unlatch(ae_buf *b);
/* Unlatch (if latched) and unpin. */
void		ae_buf_release(ae_buf *b);

/* Latches this process holds through ae_buf_* (for asserting rule 2 in tests). */
int			ae_buf_held_latches(void);

/* Mark dirty and raise the page LSN (used by ae_mtr_commit; latch held exclusive). */
void		ae_buf_mark_dirty(ae_buf *b, ae_lsn lsn);

/* Write every dirty page of one file (or all files) to the host, honouring the WAL rule. */
ae_status	ae_buf_flush_file(ae_engine *eng, ae_file_id f);
ae_status	ae_buf_flush_all(ae_engine *eng);

/* Forget every cached page of a file without writing (the file is being unlinked). */
void		ae_buf_drop_file(ae_engine *eng, ae_file_id f);

/* Forget every cached page of every file of database db (file.db), without writing. */
void		ae_buf_drop_db(ae_engine *eng, uint32_t db);

/* Forget every cached page without writing (tests: simulate losing the pool). */
void		ae_buf_discard_all(ae_engine *eng);

/* The highest page LSN of any page in the pool (no latches: for quiet moments such as recovery). */
ae_lsn		ae_buf_max_page_lsn(ae_engine *eng);

#endif
