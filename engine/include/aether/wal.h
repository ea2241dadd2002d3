/*
 * aether/wal.h — write-ahead log and mini-transactions.
 *
 * The log is one byte stream; an LSN is a byte position in it. A record is
 *
 *   offset size field
 *   0      4    total length of the record including this header (multiple of 8 after padding)
 *   4      4    CRC32C of bytes 8..total (header tail + payload) continued over
 *               the record's own LSN (8 bytes, little endian), which is not stored
 *   8      1    rmgr       module that owns the record (AE_RMGR_*), which also owns its redo
 *   9      1    type       module-specific operation
 *   10     2    flags      AE_REC_MTR_END on the last record of a mini-transaction;
 *                             AE_REC_PAGE_INIT when redo rebuilds the page from nothing;
 *                             AE_REC_DURABLE_HINT on a record about no page
 *   12     4    block      page the record changes (AE_NO_BLOCK if none)
 *   16     12   file       ae_file_id of that page; for a record about no page
 *                          flagged AE_REC_DURABLE_HINT, bytes 16..23 hold the LSN
 *                          up to which the log was durable when the record was
 *                          made (ae_wal_durable_hint_after)
 *   28     4    payload length
 *   32     ...  payload, then zero padding to a multiple of 8
 *
 * Because the CRC covers the LSN, a record is valid only at the position it
 * was written for (R6 in wal/README.md): intact records left in a recycled
 * log file, or copied anywhere else, end the log instead of passing for new
 * ones. The control file's version (checkpoint.h) names this format.
 *
 * A mini-transaction (mtr) groups the records of one atomic page change (an
 * insert into a leaf, a split touching three pages). Its records are copied
 * into the log buffer contiguously; recovery applies a group only if its
 * AE_REC_MTR_END record is present and every CRC matches. Each page changed
 * by the mtr gets page LSN = end of the group, so "page LSN >= record end"
 * means the change is already on the page and redo skips it (idempotent).
 *
 * Usage, with the pages latched exclusively by the caller:
 *     ae_mtr m; ae_mtr_begin(eng, &m);
 *     <change page bytes>;  ae_mtr_log(&m, buf, AE_RMGR_BTREE, OP, &payload, len);
 *     ae_mtr_commit(&m);     // copies records, stamps LSNs, marks pages dirty
 *     <release latches>
 */
#ifndef AETHER_WAL_H
#define AETHER_WAL_H

#include "aether/buf.h"

/* resource managers: each module registers its redo in its own file */
enum
{
	AE_RMGR_PAGE = 1,			/* generic: full page image, byte patches (wal/page_redo.c) */
	AE_RMGR_BTREE = 2,			/* btree/btree_redo.c */
	AE_RMGR_OVERFLOW = 3,		/* btree/overflow.c */
	AE_RMGR_NOTE = 4,			/* a number the host wants kept with the log (wal/note.c) */
	AE_RMGR_HOST = 5,			/* records whose meaning only the host knows (wal/note.c) */
	AE_RMGR_MAX = 16
};

#define AE_REC_MTR_END	0x0001
#define AE_REC_PAGE_INIT	0x0002	/* redo ignores the page's prior contents (like an image) */
#define AE_REC_DURABLE_HINT	0x0004	/* no page; file field: the log was durable up to this LSN */

typedef struct ae_log_record
{
	uint32_t	total_len;
	uint32_t	crc;
	uint8_t		rmgr;
	uint8_t		type;
	uint16_t	flags;
	uint32_t	block;
	ae_file_id	file;
	uint32_t	payload_len;
	/* payload follows */
} ae_log_record;

static_assert(sizeof(ae_log_record) == 32, "log record header is 32 bytes");
static_assert(sizeof(ae_file_id) >= 8, "the file field holds a durable hint");

static inline const void *
ae_log_record_payload(const ae_log_record *r)
{
	return (const char *) r + sizeof(ae_log_record);
}

#define AE_MTR_MAX_PAGES	8
#define AE_MTR_MAX_BYTES	(64 * 1024)

typedef struct ae_mtr
{
	ae_engine  *eng;
	int			npages;
	ae_buf	   *pages[AE_MTR_MAX_PAGES];
	size_t		len;
	ae_status	failed;			/* first error from ae_mtr_log, reported by commit */
	char		buf[AE_MTR_MAX_BYTES];	/* records staged here; large mtrs spill (see wal/README.md) */
	char	   *spill;			/* malloc'd when buf is too small */
	size_t		spill_cap;
} ae_mtr;

void		ae_mtr_begin(ae_engine *eng, ae_mtr *m);

/* Stage one record about page b (b latched exclusive; b is remembered for LSN stamping). */
void		ae_mtr_log(ae_mtr *m, ae_buf *b, uint8_t rmgr, uint8_t type,
					   const void *payload, size_t len);

/*
 * ae_mtr_log for a record whose redo initialises the whole page without
 * reading it (AE_REC_PAGE_INIT): replay then starts from a zeroed page when
 * the block is missing or torn, as it does for a full-page image.
 */
void		ae_mtr_log_init(ae_mtr *m, ae_buf *b, uint8_t rmgr, uint8_t type,
							const void *payload, size_t len);

/* Stage a full-page image of b's current contents (generic redo). */
void		ae_mtr_log_page_image(ae_mtr *m, ae_buf *b);

/* Append the staged records as one group, stamp and dirty the pages. Returns end LSN in *end (may be NULL). */
ae_status	ae_mtr_commit(ae_mtr *m, ae_lsn *end);

/* Drop staged records (the caller must not have changed the pages). */
void		ae_mtr_abort(ae_mtr *m);

/* AE_RMGR_PAGE record types (wal/page_redo.c) */
enum
{
	AE_PAGE_REDO_IMAGE = 1,		/* payload: the whole 8 KiB page */
	AE_PAGE_REDO_IMAGE_HOLE = 3,	/* payload: u16 hole offset, u16 hole length, the page
								 * without the hole (its bytes are zero after redo) */
	AE_PAGE_REDO_PATCH = 2,		/* payload: entries of (u16 offset, u16 len, len bytes) */
	AE_PAGE_REDO_IMAGE_ZSTD = 4,	/* payload: u16 hole offset, u16 hole length (0, 0: none),
									 * a zstd frame of the page without the hole */
};

/*
 * Compress the full-page images mini-transactions add (W5) with zstd, where
 * that makes them smaller, or not. Process-local (each process sets it from
 * the host's setting); redo reads both kinds.
 */
void		ae_wal_set_image_compression(bool on);

/*
 * Stage a byte patch: after redo, bytes [off, off+len) of b's page equal
 * `bytes`. For small edits (metapage counters). The caller has already made
 * the same change to the page (b latched exclusive).
 */
void		ae_mtr_log_patch(ae_mtr *m, ae_buf *b, uint16_t off, const void *bytes, uint16_t len);

/* ---- log ---- */
#define AE_WAL_START_LSN	((ae_lsn) 8)	/* LSN of the first record; 0 means "never logged" */

/*
 * End of the log space reserved so far: every group whose insertion has
 * returned ends at or before it. Groups still being copied by other
 * processes may lie before it; ae_wal_flush/ae_wal_write to it wait for them.
 */
ae_lsn		ae_wal_insert_lsn(ae_engine *eng);
ae_lsn		ae_wal_flushed_lsn(ae_engine *eng);	/* everything before this is durable */

/*
 * Make the log durable up to at least lsn (group commit: one writer, others
 * wait). Waits for other processes' groups before lsn to be copied.
 */
ae_status	ae_wal_flush(ae_engine *eng, ae_lsn upto);

/*
 * The redo point of the checkpoint in progress or last completed (0 before
 * the first). A page whose LSN is past it has a full-page image (or an
 * init) in the log since then, so a torn write of it is repaired by redo.
 */
ae_lsn		ae_wal_redo_lsn(ae_engine *eng);

/* Hand the log up to at least lsn to the host, without waiting for it to be durable. */
ae_status	ae_wal_write(ae_engine *eng, ae_lsn upto);

/* ---- redo ---- */
typedef ae_status (*ae_redo_fn) (ae_engine *eng, const ae_log_record *rec, void *page);

/* Register the redo function of a resource manager (called once by each module's init). */
void		ae_wal_register_rmgr(uint8_t rmgr, const char *name, ae_redo_fn redo);
const char *ae_wal_rmgr_name(uint8_t rmgr);

/*
 * Read the log from `from` to its end and apply every complete mtr group whose
 * pages are older than the record (page LSN < record end). Stops at the first
 * torn/incomplete group at the tail. *end_out = LSN where valid log ends.
 * Used by engine tests now, and by server recovery later.
 */
ae_status	ae_wal_replay(ae_engine *eng, ae_lsn from, ae_lsn *end_out, uint64_t *nrecords);

/* Iterate records (for inspection tools): calls fn for each valid record; stops on nonzero return. */
typedef int (*ae_wal_visit_fn) (void *arg, ae_lsn lsn, const ae_log_record *rec);
ae_status	ae_wal_scan(ae_engine *eng, ae_lsn from, ae_wal_visit_fn fn, void *arg, ae_lsn *end_out);

/*
 * R7: search the log bytes after `from` (where the valid log ended), up to
 * `limit` bytes or the end of the log files, for intact records flagged
 * AE_REC_DURABLE_HINT. *hint = the highest durable LSN they name (0 if
 * none), *at = where that record lies. A hint above `from` means the log
 * was durable past the point where it stopped being valid: damage, not a
 * torn tail (a tail that was never synced can lose any of its pages, but
 * every record in it names a durable end at or below its own start).
 */
ae_status	ae_wal_durable_hint_after(ae_engine *eng, ae_lsn from, uint64_t limit,
									  ae_lsn *hint, ae_lsn *at);

/* Set the log position to resume at (after replay; the next insert starts there). */
void		ae_wal_set_insert_lsn(ae_engine *eng, ae_lsn lsn);

/*
 * Notes: a host keeps one number with the log that only grows (the
 * PostgreSQL host: a transaction id above every xid its rows carry, so that
 * none is reused after a crash). ae_wal_note logs a record with value and
 * raises the shared maximum; checkpoints store the maximum in the control
 * file and recovery returns it (ae_recovery_info.note), having replayed the
 * notes after the redo point. Logged before the records it covers, so a
 * durable record implies a durable note.
 */
ae_status	ae_wal_note(ae_engine *eng, uint64_t value);
uint64_t	ae_wal_note_max(ae_engine *eng);

/*
 * Host records (AE_RMGR_HOST): the host logs bytes of its own (the
 * PostgreSQL host: the commit of a transaction that changed only Aether
 * data, see aether_commit.c) with a type of its choosing; they change no
 * page. Replay hands each one to host->redo_record in log order, and a
 * checkpoint calls host->checkpoint_prepare before it forgets the log that
 * holds them. *end receives the end LSN of the record (flush up to it to
 * make it durable). len is at most AE_MTR_MAX_BYTES - 64.
 */
ae_status	ae_wal_log_host(ae_engine *eng, uint8_t type, const void *data, size_t len,
							ae_lsn *end);

/* CRC32C (Castagnoli), exposed for tests and other modules. */
uint32_t	ae_crc32c(uint32_t crc, const void *data, size_t len);

#endif
