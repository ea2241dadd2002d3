/*
 * aether_commit.c — one log flush per commit for transactions that changed
 * only Aether data (docs/design-notes.md, "Commits that wrote only Aether
 * data").
 *
 * The general commit protocol (aether_xact.c) flushes Aether's log, then
 * PostgreSQL flushes its WAL with the commit record: two fsyncs in a row.
 * A transaction that wrote Aether rows and no PostgreSQL WAL at all instead
 * logs its commit in Aether's log (a host record: the full xid and its
 * committed subtransaction xids) and flushes that log once; PostgreSQL then
 * writes its own commit record asynchronously (no WAL of the transaction
 * precedes it, so PostgreSQL does that by itself). The commit is durable in
 * Aether's log before the client hears of it and before any other session
 * can see the transaction's rows.
 *
 * After a crash, PostgreSQL's WAL may lack such a commit record. Aether's
 * recovery (aetam_commit_restore, run by the worker between redo and the
 * checkpoint that forgets the log) puts the commit back into clog:
 *  - an xid PostgreSQL's recovery knows (below its next xid) whose status is
 *    neither committed nor aborted is marked committed, with its
 *    subtransactions, and a PostgreSQL checkpoint makes clog durable before
 *    Aether's checkpoint forgets the record;
 *  - an xid PostgreSQL's recovery never saw assigned is committed when the
 *    worker moves the next xid past the log's note (the transactions that
 *    take those xids commit instead of aborting), and that WAL is flushed.
 * An xid PostgreSQL recorded as aborted stays aborted, and so does one whose
 * abort Aether's log holds after its commit: an error after the commit
 * record was logged (a failed flush, NOTIFY failing later in PostgreSQL's
 * commit) logs and flushes an abort record (AETAM_REC_ABORT) from
 * emit_log_hook, which PostgreSQL calls before it sends the error to the
 * client (for that, the fast path requires log_min_messages to let ERROR
 * through; if the abort cannot be made durable the server PANICs, so the
 * client sees a lost connection, never an error for a commit that a
 * restart would bring back).
 *
 * Checkpoints: a commit logged in Aether's log before a checkpoint's redo
 * point is forgotten by that checkpoint, so its PostgreSQL commit record
 * must be durable by then. Each backend between logging its commit and
 * PostgreSQL's commit record advertises the end of its record in shared
 * memory; checkpoint_prepare waits for those before the redo point, then
 * flushes PostgreSQL's WAL.
 *
 * Pruning (aetam_commit_is_durable) may remove versions a transaction
 * replaced once its commit is durable; a ring of recently fast-committed
 * xids answers that without waiting for PostgreSQL's WAL writer. For an
 * asynchronous commit (synchronous_commit = off), pruning asks the worker
 * to flush PostgreSQL's WAL soon (aetam_commit_flush_soon) instead of
 * waiting up to wal_writer_delay, and a backend never waits for that
 * flush itself unless a row or its list of rows to prune grows too long.
 */
#include "postgres.h"

#include "access/clog.h"
#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "miscadmin.h"
#include "postmaster/bgwriter.h"
#include "replication/origin.h"
#include "replication/syncrep.h"
#include "replication/walsender.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/hsearch.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "aether.h"
#include "aether/wal.h"

#define DURABLE_RING_SIZE	16384	/* power of two */
#define MAX_SUBXIDS			8192	/* more committed subtransactions: the general protocol */

typedef struct CommitRecord
{
	uint64		top;			/* FullTransactionId of the top-level transaction */
	uint32		nsub;
	uint32		pad;
	/* uint32 subxids[nsub] follow */
} CommitRecord;

typedef struct CommitShared
{
	/* full xid at xid % DURABLE_RING_SIZE: its commit is durable in Aether's log */
	pg_atomic_uint64 durable[DURABLE_RING_SIZE];
	pg_atomic_uint64 commits;	/* commits through Aether's log alone */
	/*
	 * Pruning waits for asynchronous commit records to be flushed; it asks
	 * the worker to flush PostgreSQL's WAL up to here (aetam_commit_flush_soon).
	 */
	pg_atomic_uint64 pg_flush_wanted;
	/* fast commits ask the worker to flush completed pages of commit records */
	pg_atomic_uint64 page_flush_wanted;
	/*
	 * Asynchronous commits (of transactions that do not commit through
	 * Aether's log) leave PostgreSQL's WAL unflushed; a commit through
	 * Aether's log may have read their changes, so it flushes PostgreSQL's
	 * WAL first, as a synchronous commit in PostgreSQL makes every earlier
	 * one durable. async_pending counts those between PRE_COMMIT (before
	 * they become visible) and the end of their commit, async_commit_end is
	 * the end of the latest one's commit record
	 * (aetam_commit_announce_async, aetam_commit_note_async).
	 */
	pg_atomic_uint32 async_pending;
	pg_atomic_uint64 async_commit_end;
	pg_atomic_uint64 pg_flushes_for_pruning;	/* done by the worker */
	pg_atomic_uint64 pg_flushes_for_commits;	/* done by the worker, for page_flush_wanted */
	Latch	   *worker_latch;	/* NULL: no worker running */
	int			nprocs;
	/*
	 * Per PGPROC: 0, or this backend's commit record is logged (or about to
	 * be: 1) and PostgreSQL's commit record may not be inserted yet; then the
	 * end LSN of that record.
	 */
	pg_atomic_uint64 window[FLEXIBLE_ARRAY_MEMBER];
} CommitShared;

static CommitShared *shared = NULL;

/* this backend's transaction logged its commit in Aether's log (and no abort after it yet) */
static bool logged_commit = false;
static FullTransactionId logged_xid;

static emit_log_hook_type prev_emit_log_hook = NULL;

/*
 * Developer option for tests: fail a commit right after its commit record
 * is durable, and leave PostgreSQL's abort record unflushed, so that only
 * the abort record in Aether's log keeps the transaction aborted.
 */
static bool debug_fail_commit = false;

Size
aetam_commit_shmem_size(void)
{
	return MAXALIGN(add_size(offsetof(CommitShared, window),
							 mul_size(sizeof(pg_atomic_uint64), aetam_total_procs())));
}

void
aetam_commit_shmem_init(void)
{
	bool		found;

	shared = ShmemInitStruct("aether fast commits", aetam_commit_shmem_size(), &found);
	if (!found)
	{
		for (int i = 0; i < DURABLE_RING_SIZE; i++)
			pg_atomic_init_u64(&shared->durable[i], 0);
		pg_atomic_init_u64(&shared->commits, 0);
		pg_atomic_init_u64(&shared->pg_flush_wanted, 0);
		pg_atomic_init_u64(&shared->page_flush_wanted, 0);
		pg_atomic_init_u64(&shared->async_commit_end, 0);
		pg_atomic_init_u32(&shared->async_pending, 0);
		pg_atomic_init_u64(&shared->pg_flushes_for_pruning, 0);
		pg_atomic_init_u64(&shared->pg_flushes_for_commits, 0);
		shared->worker_latch = NULL;
		shared->nprocs = aetam_total_procs();
		for (int i = 0; i < shared->nprocs; i++)
			pg_atomic_init_u64(&shared->window[i], 0);
	}
}

/* A subtransaction's full xid: it was assigned after its parent, within 2^31. */
FullTransactionId
aetam_full_subxid(FullTransactionId top, TransactionId sub)
{
	return FullTransactionIdFromU64(U64FromFullTransactionId(top) +
									(uint32) (sub - XidFromFullTransactionId(top)));
}

static pg_atomic_uint64 *
my_window(void)
{
	Assert(MyProc != NULL && MyProc->pgprocno < shared->nprocs);
	return &shared->window[MyProc->pgprocno];
}

static void
clear_window(int code, Datum arg)
{
	if (shared && MyProc)
		pg_atomic_write_u64(my_window(), 0);
}

/*
 * The full xid of xid, a transaction's that began less than 2^31 xids ago.
 * The next xid is read without XidGenLock (pruning asks often): an aligned
 * 8-byte read, at worst slightly old, which is as good here.
 */
static FullTransactionId
full_xid_of(TransactionId xid)
{
	FullTransactionId next = ((volatile VariableCacheData *) ShmemVariableCache)->nextXid;

	return FullTransactionIdFromU64(U64FromFullTransactionId(next) -
									(uint32) (XidFromFullTransactionId(next) - xid));
}

static void
set_durable(FullTransactionId fxid, bool on)
{
	pg_atomic_uint64 *slot = &shared->durable[XidFromFullTransactionId(fxid) & (DURABLE_RING_SIZE - 1)];

	if (on)
		pg_atomic_write_u64(slot, U64FromFullTransactionId(fxid));
	else
	{
		uint64		expected = U64FromFullTransactionId(fxid);

		(void) pg_atomic_compare_exchange_u64(slot, &expected, 0);
	}
}

/*
 * Flush PostgreSQL's WAL up to everything inserted so far. Not
 * XLogFlush(GetXLogInsertRecPtr()): at the start of a WAL page (after
 * pg_switch_wal, or when a record ended exactly at a page end) the insert
 * position lies past the page header no record has reached yet, and
 * XLogFlush fails ("xlog flush request ... is not satisfied") for a
 * position beyond what was inserted. Back off to the page start, which is
 * the end of the last record.
 */
void
aetam_flush_pg_wal(void)
{
	XLogRecPtr	upto = GetXLogInsertRecPtr();

	if (XLogSegmentOffset(upto, wal_segment_size) == SizeOfXLogLongPHD)
		upto -= SizeOfXLogLongPHD;
	else if (upto % XLOG_BLCKSZ == SizeOfXLogShortPHD)
		upto -= SizeOfXLogShortPHD;
	XLogFlush(upto);
}

/*
 * May this commit go through Aether's log alone? Only when PostgreSQL would
 * write nothing but an asynchronous commit record: no WAL written by the
 * transaction, synchronous commit wanted, and nothing in PostgreSQL's
 * commit that can still fail on purpose (serializable conflicts) or that
 * needs PostgreSQL's WAL (synchronous replication).
 */
static bool
fast_commit_possible(int nsub)
{
	return synchronous_commit > SYNCHRONOUS_COMMIT_OFF &&
		XactLastRecEnd == InvalidXLogRecPtr &&
		log_min_messages <= ERROR &&	/* emit_log_hook sees our errors */
		replorigin_session_origin == InvalidRepOriginId &&	/* its progress is in the commit record */
		!IsolationIsSerializable() &&
		!(SyncRepRequested() && SyncRepStandbyNames != NULL && SyncRepStandbyNames[0] != '\0') &&
		nsub <= MAX_SUBXIDS &&
		TransactionIdIsValid(GetTopTransactionIdIfAny()) &&
		shared != NULL && MyProc != NULL;
}

static bool request_pg_flush(pg_atomic_uint64 *wanted, XLogRecPtr upto);

/*
 * PostgreSQL now writes this transaction's commit record asynchronously
 * (XLogSetAsyncXactLSN), which wakes the WAL writer whenever a completed
 * WAL page is not yet flushed. The WAL writer flushes only every
 * wal_writer_delay (or wal_writer_flush_after), so with only such commits
 * coming, nearly every commit would wake it again, for a write and no
 * flush: a signal and two context switches per commit. So once per page of
 * commit records (about 150 commits), the first commit to see a completed
 * page unflushed asks Aether's worker to flush PostgreSQL's WAL. Not the
 * committing backend itself: that fsync would hold the transaction's row
 * locks (this is PRE_COMMIT), which other sessions may be waiting for. With
 * no worker running, the backend flushes.
 */
static void
keep_wal_writer_asleep(void)
{
	XLogRecPtr	page = GetXLogInsertRecPtr();

	page -= page % XLOG_BLCKSZ;
	if (page > GetFlushRecPtr(NULL) && !request_pg_flush(&shared->page_flush_wanted, page))
		XLogFlush(page);
}

/*
 * At PRE_COMMIT of a transaction that wrote Aether data: log its commit in
 * Aether's log and flush it, if the transaction qualifies. False: use the
 * general protocol (nothing was logged).
 */
bool
aetam_commit_fast(ae_engine *eng)
{
	static bool exit_hook = false;
	TransactionId *children;
	int			nsub = xactGetCommittedChildren(&children);
	CommitRecord *rec;
	size_t		len;
	ae_lsn		at;
	ae_lsn		end;
	ae_status	st;
	XLogRecPtr	needed;

	if (!fast_commit_possible(nsub))
		return false;
	if (!exit_hook)
	{
		before_shmem_exit(clear_window, 0);
		exit_hook = true;
	}
	len = sizeof(CommitRecord) + sizeof(uint32) * nsub;
	rec = palloc(len);
	rec->top = U64FromFullTransactionId(GetTopFullTransactionId());
	rec->nsub = nsub;
	rec->pad = 0;
	memcpy(rec + 1, children, sizeof(uint32) * nsub);

	/*
	 * A full log disk must fail the commit here, cleanly, before a commit
	 * record exists that would have to be taken back (log_abort, which
	 * PANICs if it cannot be made durable). Writing into log files that
	 * already have their full size (preallocated or recycled) cannot fail
	 * for want of space, so when the current and the next segment are such
	 * files, nothing is done here. Otherwise the transaction's changes go to
	 * the kernel first (no sync). That write waits for the flush in
	 * progress, so it is skipped whenever possible: it would make every
	 * commit queue for the log twice and halve group commit. (Only if other
	 * processes reserved more than a whole segment between here and the
	 * commit record, and the disk filled meanwhile, could the record land
	 * in a file that cannot be written: then, as PostgreSQL does for its
	 * WAL, the server PANICs.)
	 */
	at = ae_wal_insert_lsn(eng);
	if (!aetam_log_space_ready(at) && (st = ae_wal_write(eng, at)) != AE_OK)
	{
		pfree(rec);
		aetam_raise(st, NULL);
	}

	/*
	 * Every asynchronous commit before this one becomes durable with it:
	 * those still committing (their records are inserted before they become
	 * visible: flush all that is inserted), and those done.
	 */
	if (pg_atomic_read_u32(&shared->async_pending) > 0)
		aetam_flush_pg_wal();
	needed = pg_atomic_read_u64(&shared->async_commit_end);
	if (needed != InvalidXLogRecPtr && XLogNeedsFlush(needed))
		XLogFlush(needed);

	pg_atomic_write_u64(my_window(), 1);	/* a checkpoint starting now waits */
	st = ae_wal_log_host(eng, AETAM_REC_COMMIT, rec, len, &end);
	pfree(rec);
	if (st != AE_OK)
	{
		pg_atomic_write_u64(my_window(), 0);
		aetam_raise(st, NULL);
	}
	pg_atomic_write_u64(my_window(), end);
	logged_xid = GetTopFullTransactionId();
	logged_commit = true;
	st = ae_wal_flush(eng, end);
	if (st != AE_OK)
		aetam_raise(st, NULL);	/* the abort callback settles it */
	if (debug_fail_commit)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("aether: injected failure after the commit record (aether.debug_fail_commit)")));
	set_durable(GetTopFullTransactionId(), true);
	for (int i = 0; i < nsub; i++)
		set_durable(aetam_full_subxid(GetTopFullTransactionId(), children[i]), true);
	pg_atomic_fetch_add_u64(&shared->commits, 1);
	keep_wal_writer_asleep();
	return true;
}

/* Raise *v to to if it is lower (an atomic max); true if this call raised it. */
static bool
raise_to(pg_atomic_uint64 *v, uint64 to)
{
	uint64		cur = pg_atomic_read_u64(v);

	while (cur < to)
		if (pg_atomic_compare_exchange_u64(v, &cur, to))
			return true;
	return false;
}

/*
 * Ask the worker to flush PostgreSQL's WAL up to upto soon: raise *wanted
 * and wake the worker if this raised it (requests coalesce: the worker
 * flushes everything inserted by then). False when no worker is running.
 */
static bool
request_pg_flush(pg_atomic_uint64 *wanted, XLogRecPtr upto)
{
	Latch	   *latch;

	if (shared == NULL || (latch = shared->worker_latch) == NULL)
		return false;
	if (raise_to(wanted, upto))
		SetLatch(latch);
	return true;
}

/*
 * Ask the worker to flush PostgreSQL's WAL up to xid's commit record soon,
 * so that the versions xid replaced can be pruned (aether_prune.c,
 * aether_modify.c): the asking backend goes on without waiting for an
 * fsync while it may hold row locks others wait for. False when no worker
 * is running (the caller then flushes itself if it cannot wait).
 */
bool
aetam_commit_flush_soon(TransactionId xid)
{
	if (shared == NULL)
		return false;
	/* an unknown commit LSN (invalid, 0) raises nothing and wakes no one */
	return request_pg_flush(&shared->pg_flush_wanted, TransactionIdGetCommitLSN(xid));
}

/* The worker: announce (latch) or withdraw (NULL) itself for aetam_commit_flush_soon. */
void
aetam_commit_set_worker(Latch *latch)
{
	if (shared != NULL)
		shared->worker_latch = latch;
}

/*
 * The worker: flush PostgreSQL's WAL as pruning (aetam_commit_flush_soon)
 * or fast commits (keep_wal_writer_asleep) asked; true if it did.
 */
bool
aetam_commit_flush_wanted(void)
{
	XLogRecPtr	for_pruning, for_pages;
	bool		pruning,
				pages;

	if (shared == NULL || RecoveryInProgress())
		return false;
	for_pruning = pg_atomic_read_u64(&shared->pg_flush_wanted);
	for_pages = pg_atomic_read_u64(&shared->page_flush_wanted);

	if (!XLogNeedsFlush(Max(for_pruning, for_pages)))
		return false;
	pruning = for_pruning != InvalidXLogRecPtr && XLogNeedsFlush(for_pruning);
	pages = for_pages != InvalidXLogRecPtr && XLogNeedsFlush(for_pages);
	/* everything inserted so far: the next requests are likely covered */
	aetam_flush_pg_wal();
	/* counted once done */
	if (pruning)
		pg_atomic_fetch_add_u64(&shared->pg_flushes_for_pruning, 1);
	if (pages)
		pg_atomic_fetch_add_u64(&shared->pg_flushes_for_commits, 1);
	return true;
}

/* Flushes of PostgreSQL's WAL the worker did for pruning (pg_stat_aether_wal). */
uint64
aetam_commit_flushes_for_pruning(void)
{
	return shared ? pg_atomic_read_u64(&shared->pg_flushes_for_pruning) : 0;
}

/*
 * Flushes of PostgreSQL's WAL the worker did for pages of fast commits'
 * records (keep_wal_writer_asleep; pg_stat_aether_wal).
 */
uint64
aetam_commit_flushes_for_commits(void)
{
	return shared ? pg_atomic_read_u64(&shared->pg_flushes_for_commits) : 0;
}

/* this backend's transaction is counted in async_pending */
static bool announced_async = false;

/*
 * At PRE_COMMIT of every transaction (aether or not), after its aether
 * commit was logged, if any: a transaction with an xid that does not
 * commit through Aether's log, and whose commit record PostgreSQL will not
 * flush (synchronous_commit = off, or no WAL written), is counted in
 * async_pending until aetam_commit_note_async. Counting one that turns out
 * synchronous costs only a flush a fast commit did not need.
 */
void
aetam_commit_announce_async(void)
{
	if (shared == NULL || announced_async || !TransactionIdIsValid(GetTopTransactionIdIfAny()) ||
		(MyProc != NULL && pg_atomic_read_u64(my_window()) != 0))
		return;
	if (synchronous_commit > SYNCHRONOUS_COMMIT_OFF && XactLastRecEnd != InvalidXLogRecPtr)
		return;					/* PostgreSQL flushes its commit record */
	pg_atomic_fetch_add_u32(&shared->async_pending, 1);
	announced_async = true;
}

/*
 * At the end of the transaction (COMMIT, ABORT, PREPARE): an announced
 * commit raises async_commit_end to its commit record's end, then leaves
 * async_pending (in that order: a fast commit that no longer counts it sees
 * its end).
 */
void
aetam_commit_note_async(bool committed)
{
	if (!announced_async)
		return;
	if (committed && XactLastCommitEnd != InvalidXLogRecPtr)
		(void) raise_to(&shared->async_commit_end, XactLastCommitEnd);
	pg_atomic_fetch_sub_u32(&shared->async_pending, 1);
	announced_async = false;
}

/* Commits through Aether's log alone since the server started (pg_stat_aether_wal). */
uint64
aetam_commit_count_aether_only(void)
{
	return shared ? pg_atomic_read_u64(&shared->commits) : 0;
}

/*
 * The transaction whose commit this backend logged fails after all: log its
 * abort in Aether's log and make it durable, so that recovery never takes
 * the commit record for a real one. If that is impossible, PANIC: the
 * client must not see an error for a transaction a restart would commit.
 */
static void
log_abort(void)
{
	uint64		xid = U64FromFullTransactionId(logged_xid);
	ae_engine  *eng = aetam_engine_nowait();
	ae_lsn		end;
	ae_status	st;

	if (!logged_commit)
		return;
	logged_commit = false;
	st = ae_wal_log_host(eng, AETAM_REC_ABORT, &xid, sizeof(xid), &end);
	if (st == AE_OK)
		st = ae_wal_flush(eng, end);
	if (st != AE_OK)
		ereport(PANIC,
				(errmsg("aether: could not log the abort of transaction %llu after its commit: %s",
						(unsigned long long) xid, ae_error_last()->message)));
}

/*
 * emit_log_hook: PostgreSQL reports an error (to the server log, then to the
 * client) before it aborts the transaction; an error after this backend
 * logged its commit is made a durable abort first.
 */
static void
commit_emit_log_hook(ErrorData *edata)
{
	if (logged_commit && edata->elevel >= ERROR && edata->elevel < PANIC)
		log_abort();
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

void
aetam_commit_init(void)
{
	DefineCustomBoolVariable("aether.debug_fail_commit",
							 "Fails commits right after their commit record reached Aether's log (for tests).",
							 NULL, &debug_fail_commit, false, PGC_SUSET,
							 GUC_NOT_IN_SAMPLE, NULL, NULL, NULL);
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = commit_emit_log_hook;
}

/*
 * Transaction end. After a logged commit, PostgreSQL's commit record is
 * inserted now (COMMIT), or the transaction failed after all (ABORT): then
 * PostgreSQL's abort record, already inserted, is flushed, so that recovery
 * never takes the commit in Aether's log for a real one (the client is told
 * of the error only after this).
 */
void
aetam_commit_xact_end(bool abort)
{
	if (shared == NULL || MyProc == NULL || pg_atomic_read_u64(my_window()) == 0)
		return;
	if (abort)
	{
		TransactionId *children;
		int			nsub = xactGetCommittedChildren(&children);

		log_abort();			/* if the error report did not already */
		if (!debug_fail_commit)	/* the test shows the abort record above suffices */
			aetam_flush_pg_wal();
		if (FullTransactionIdIsValid(logged_xid))
		{
			set_durable(logged_xid, false);
			for (int i = 0; i < nsub; i++)
				set_durable(aetam_full_subxid(logged_xid, children[i]), false);
		}
	}
	logged_commit = false;
	logged_xid = InvalidFullTransactionId;
	pg_atomic_write_u64(my_window(), 0);
}

/* Is xid's commit known to be durable in Aether's log? (false: not known) */
bool
aetam_commit_known_durable(TransactionId xid)
{
	uint64		v;

	if (shared == NULL)
		return false;
	v = pg_atomic_read_u64(&shared->durable[xid & (DURABLE_RING_SIZE - 1)]);
	return v != 0 && (TransactionId) v == xid &&
		v == U64FromFullTransactionId(full_xid_of(xid));
}

/*
 * For host->checkpoint_prepare: the commits logged before redo must be
 * durable in PostgreSQL's WAL before the checkpoint forgets them. Wait until
 * every backend whose commit record ends at or before redo has inserted
 * PostgreSQL's commit (or abort) record, then flush that WAL.
 */
ae_status
aetam_commit_checkpoint_prepare(uint64 redo_lsn)
{
	if (shared == NULL)
		return AE_OK;
	for (int i = 0; i < shared->nprocs; i++)
	{
		for (;;)
		{
			uint64		v = pg_atomic_read_u64(&shared->window[i]);

			if (v == 0 || v > redo_lsn)
				break;
			pg_usleep(1000L);
		}
	}
	pg_memory_barrier();		/* read the WAL position after the windows closed */
	if (!RecoveryInProgress())
		aetam_flush_pg_wal();
	return AE_OK;
}

/* ---------------------------------------------------------------- recovery */

/*
 * The commits found in the log during redo (the worker's memory; only the
 * worker runs recovery): top-level xids with their subtransactions.
 */
typedef struct FoundCommit
{
	FullTransactionId top;
	uint32		nsub;
	uint32		first_sub;		/* index into found_subs */
} FoundCommit;

static FoundCommit *found = NULL;
static uint64 *found_aborts = NULL;	/* full xids with an abort after their commit record */
static uint32 nfound_aborts = 0,
			found_aborts_cap = 0;
static int	nfound = 0;
static uint32 found_cap = 0;
static TransactionId *found_subs = NULL;
static uint32 nfound_subs = 0,
			found_subs_cap = 0;

/*
 * Grow *arr (elements of size esize, in TopMemoryContext) to hold need;
 * false when out of memory. Never raises an error, so host callbacks
 * (redo_record, host.h rule 1) use it: here and in aether_undo.c.
 */
bool
aetam_array_grow(void **arr, uint32 *cap, uint32 need, Size esize)
{
	uint32		newcap = Max(*cap * 2, 1024);
	void	   *p;

	if (need <= *cap)
		return true;
	while (newcap < need)
		newcap *= 2;
	p = MemoryContextAllocExtended(TopMemoryContext, (Size) newcap * esize,
								   MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	if (p == NULL)
		return false;
	if (*arr)
	{
		memcpy(p, *arr, (Size) *cap * esize);
		pfree(*arr);
	}
	*arr = p;
	*cap = newcap;
	return true;
}

/* host->redo_record for AETAM_REC_COMMIT: remember it (never longjmps: host.h rule 1) */
ae_status
aetam_commit_redo_record(const void *data, size_t len)
{
	CommitRecord rec;

	if (len < sizeof(rec))
		return ae_fail(AE_CORRUPT, (ae_file_id) {0}, AE_NO_BLOCK, "short commit record");
	memcpy(&rec, data, sizeof(rec));
	if (len != sizeof(rec) + sizeof(uint32) * (Size) rec.nsub)
		return ae_fail(AE_CORRUPT, (ae_file_id) {0}, AE_NO_BLOCK,
					   "commit record of %zu bytes for %u subtransactions", len, rec.nsub);
	if (!aetam_array_grow((void **) &found, &found_cap, nfound + 1, sizeof(FoundCommit)) ||
		!aetam_array_grow((void **) &found_subs, &found_subs_cap, nfound_subs + rec.nsub,
			  sizeof(TransactionId)))
		return ae_fail(AE_NO_MEMORY, (ae_file_id) {0}, AE_NO_BLOCK,
					   "out of memory remembering %d commits", nfound);
	found[nfound].top = FullTransactionIdFromU64(rec.top);
	found[nfound].nsub = rec.nsub;
	found[nfound].first_sub = nfound_subs;
	memcpy(found_subs + nfound_subs, (const char *) data + sizeof(rec),
		   sizeof(uint32) * (Size) rec.nsub);
	nfound_subs += rec.nsub;
	nfound++;
	return AE_OK;
}

/* host->redo_record for AETAM_REC_ABORT: this commit record does not count */
ae_status
aetam_commit_redo_abort(const void *data, size_t len)
{
	if (len != sizeof(uint64))
		return ae_fail(AE_CORRUPT, (ae_file_id) {0}, AE_NO_BLOCK, "abort record of %zu bytes", len);
	if (!aetam_array_grow((void **) &found_aborts, &found_aborts_cap, nfound_aborts + 1, sizeof(uint64)))
		return ae_fail(AE_NO_MEMORY, (ae_file_id) {0}, AE_NO_BLOCK,
					   "out of memory remembering %u aborts", nfound_aborts);
	memcpy(&found_aborts[nfound_aborts++], data, sizeof(uint64));
	return AE_OK;
}

int
aetam_cmp_u64(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a,
				y = *(const uint64 *) b;

	return x < y ? -1 : x > y;
}

static bool
aborted_after_commit(FullTransactionId top)
{
	uint64		key = U64FromFullTransactionId(top);

	return nfound_aborts > 0 &&
		bsearch(&key, found_aborts, nfound_aborts, sizeof(uint64), aetam_cmp_u64) != NULL;
}

/*
 * Every xid (top and subtransaction) the log holds committed, sorted, for
 * the gate (aether_shmem.c): processes the connection gate does not hold may
 * have taken some of them while recovery ran, and their commits must go
 * ahead. Call before aetam_commit_restore's loop compacts found_subs.
 */
static uint64 *
logged_commits(int *n)
{
	uint64	   *keys = palloc(sizeof(uint64) * (nfound + nfound_subs + 1));
	int			k = 0;

	for (int i = 0; i < nfound; i++)
	{
		if (aborted_after_commit(found[i].top))
			continue;
		keys[k++] = U64FromFullTransactionId(found[i].top);
		for (uint32 s = 0; s < found[i].nsub; s++)
			keys[k++] = U64FromFullTransactionId(aetam_full_subxid(found[i].top,
																  found_subs[found[i].first_sub + s]));
	}
	qsort(keys, k, sizeof(uint64), aetam_cmp_u64);
	*n = k;
	return keys;
}

/*
 * After redo, before the checkpoint: give every commit found in Aether's
 * log that PostgreSQL's WAL lost back to clog (see the file header), and
 * move PostgreSQL's next xid past note, the log's xid limit: the xids below
 * it that are no such commit are taken by transactions that abort, so that
 * rows of transactions in flight at the crash stay invisible
 * (aetam_xid_for_write). The gate learns the limit and the logged commits
 * first: a process it did not hold that took one of those xids commits
 * only after recovery, and only if the log holds that xid committed
 * (aetam_gate_check_commit). Errors are raised (the worker restarts and
 * recovery runs again; the log is still whole).
 */
void
aetam_commit_restore(uint64 note)
{
	FullTransactionId next = ReadNextFullTransactionId();
	TransactionId oldest = ShmemVariableCache->oldestXid;
	HASHCTL		ctl;
	HTAB	   *later;
	uint64		limit = note;
	uint64		fixed = 0,
				restored = 0,
				consumed = 0;
	uint64	   *committed;
	int			ncommitted;

	ctl.keysize = sizeof(uint64);
	ctl.entrysize = sizeof(uint64);
	later = hash_create("aether commits to restore", 1024, &ctl, HASH_ELEM | HASH_BLOBS);
	if (nfound_aborts > 0)
		qsort(found_aborts, nfound_aborts, sizeof(uint64), aetam_cmp_u64);
	committed = logged_commits(&ncommitted);

	for (int i = 0; i < nfound; i++)
	{
		FoundCommit *c = &found[i];
		TransactionId xid = XidFromFullTransactionId(c->top);
		TransactionId *subs = found_subs + c->first_sub;
		int			nknown = 0;

		if (aborted_after_commit(c->top))
			continue;			/* failed after logging its commit (log_abort) */
		if (FullTransactionIdFollowsOrEquals(c->top, next))
			nknown = -1;		/* PostgreSQL never saw it assigned: all later */
		else if (TransactionIdPrecedes(xid, oldest) ||
				 TransactionIdDidCommit(xid) || TransactionIdDidAbort(xid))
			continue;			/* PostgreSQL's WAL decided it */
		for (uint32 s = 0; s < c->nsub; s++)
		{
			FullTransactionId fs = aetam_full_subxid(c->top, subs[s]);

			if (nknown >= 0 && FullTransactionIdPrecedes(fs, next))
				subs[nknown++] = subs[s];	/* committed with the parent below */
			else
			{
				uint64		key = U64FromFullTransactionId(fs);

				(void) hash_search(later, &key, HASH_ENTER, NULL);
				limit = Max(limit, key + 1);
			}
		}
		if (nknown < 0)
		{
			uint64		key = U64FromFullTransactionId(c->top);

			(void) hash_search(later, &key, HASH_ENTER, NULL);
			limit = Max(limit, key + 1);
			continue;
		}
		TransactionIdCommitTree(xid, nknown, subs);
		fixed++;
	}

	aetam_gate_set_xid_limit(limit, committed, ncommitted);
	pfree(committed);
	while (U64FromFullTransactionId(ReadNextFullTransactionId()) < limit)
	{
		uint64		key;

		StartTransactionCommand();
		key = U64FromFullTransactionId(GetTopFullTransactionId());
		if (hash_search(later, &key, HASH_FIND, NULL) != NULL)
		{
			CommitTransactionCommand();
			restored++;
		}
		else
		{
			AbortCurrentTransaction();
			consumed++;
		}
	}
	hash_destroy(later);

	if (restored > 0)
		aetam_flush_pg_wal();
	if (fixed > 0)
		RequestCheckpoint(CHECKPOINT_IMMEDIATE | CHECKPOINT_FORCE | CHECKPOINT_WAIT);
	if (consumed > 0)
		ereport(LOG,
				(errmsg("aether: skipped %llu transaction ids that the log may hold",
						(unsigned long long) consumed)));
	if (fixed + restored > 0)
		ereport(LOG,
				(errmsg("aether: restored %llu commits that PostgreSQL's WAL had not made durable "
						"(%llu found in Aether's log)",
						(unsigned long long) (fixed + restored), (unsigned long long) nfound),
				 errdetail("%llu marked committed in clog, %llu committed as new transaction ids.",
						   (unsigned long long) fixed, (unsigned long long) restored)));
	if (found)
		pfree(found);
	if (found_subs)
		pfree(found_subs);
	if (found_aborts)
		pfree(found_aborts);
	found_aborts = NULL;
	nfound_aborts = found_aborts_cap = 0;
	found = NULL;
	found_subs = NULL;
	nfound = found_cap = 0;
	nfound_subs = found_subs_cap = 0;
}
