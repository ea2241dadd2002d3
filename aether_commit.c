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
 * An xid PostgreSQL recorded as aborted stays aborted. That is how an error
 * after the commit record was logged (a failed flush, an error later in
 * PostgreSQL's commit) stays an abort: the abort callback flushes
 * PostgreSQL's abort record before the client hears of the error.
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
 * xids answers that without waiting for PostgreSQL's WAL writer.
 */
#include "postgres.h"

#include "access/clog.h"
#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "postmaster/bgwriter.h"
#include "replication/syncrep.h"
#include "replication/walsender.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/hsearch.h"
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
	/* xid at xid % DURABLE_RING_SIZE: its commit is durable in Aether's log */
	pg_atomic_uint32 durable[DURABLE_RING_SIZE];
	pg_atomic_uint64 commits;	/* commits through Aether's log alone */
	int			nprocs;
	/*
	 * Per PGPROC: 0, or this backend's commit record is logged (or about to
	 * be: 1) and PostgreSQL's commit record may not be inserted yet; then the
	 * end LSN of that record.
	 */
	pg_atomic_uint64 window[FLEXIBLE_ARRAY_MEMBER];
} CommitShared;

static CommitShared *shared = NULL;

/* this backend's transaction logged its commit in Aether's log */
static bool logged_commit = false;

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
			pg_atomic_init_u32(&shared->durable[i], InvalidTransactionId);
		pg_atomic_init_u64(&shared->commits, 0);
		shared->nprocs = aetam_total_procs();
		for (int i = 0; i < shared->nprocs; i++)
			pg_atomic_init_u64(&shared->window[i], 0);
	}
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

static void
set_durable(TransactionId xid, bool on)
{
	pg_atomic_uint32 *slot = &shared->durable[xid & (DURABLE_RING_SIZE - 1)];

	if (on)
		pg_atomic_write_u32(slot, xid);
	else
	{
		uint32		expected = xid;

		(void) pg_atomic_compare_exchange_u32(slot, &expected, InvalidTransactionId);
	}
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
		!IsolationIsSerializable() &&
		!(SyncRepRequested() && SyncRepStandbyNames != NULL && SyncRepStandbyNames[0] != '\0') &&
		nsub <= MAX_SUBXIDS &&
		TransactionIdIsValid(GetTopTransactionIdIfAny()) &&
		shared != NULL && MyProc != NULL;
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
	ae_lsn		end;
	ae_status	st;

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

	pg_atomic_write_u64(my_window(), 1);	/* a checkpoint starting now waits */
	st = ae_wal_log_host(eng, AETAM_REC_COMMIT, rec, len, &end);
	pfree(rec);
	if (st != AE_OK)
	{
		pg_atomic_write_u64(my_window(), 0);
		aetam_raise(st, NULL);
	}
	pg_atomic_write_u64(my_window(), end);
	logged_commit = true;
	st = ae_wal_flush(eng, end);
	if (st != AE_OK)
		aetam_raise(st, NULL);	/* the abort callback settles it */
	set_durable(GetTopTransactionId(), true);
	for (int i = 0; i < nsub; i++)
		set_durable(children[i], true);
	pg_atomic_fetch_add_u64(&shared->commits, 1);
	return true;
}

/* Commits through Aether's log alone since the server started (pg_stat_aether_wal). */
uint64
aetam_commit_count_aether_only(void)
{
	return shared ? pg_atomic_read_u64(&shared->commits) : 0;
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
	if (!logged_commit)
		return;
	logged_commit = false;
	if (abort)
	{
		TransactionId *children;
		int			nsub = xactGetCommittedChildren(&children);

		XLogFlush(GetXLogInsertRecPtr());
		if (TransactionIdIsValid(GetTopTransactionIdIfAny()))
			set_durable(GetTopTransactionIdIfAny(), false);
		for (int i = 0; i < nsub; i++)
			set_durable(children[i], false);
	}
	pg_atomic_write_u64(my_window(), 0);
}

/* Is xid's commit known to be durable in Aether's log? (false: not known) */
bool
aetam_commit_known_durable(TransactionId xid)
{
	return shared != NULL &&
		pg_atomic_read_u32(&shared->durable[xid & (DURABLE_RING_SIZE - 1)]) == xid;
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
	if (!RecoveryInProgress())
		XLogFlush(GetXLogInsertRecPtr());
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
static int	nfound = 0,
			found_cap = 0;
static TransactionId *found_subs = NULL;
static uint32 nfound_subs = 0,
			found_subs_cap = 0;

/* Grow *arr (elements of size esize) to hold need; false when out of memory. */
static bool
grow(void **arr, uint32 *cap, uint32 need, Size esize)
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
	uint32		cap = (uint32) found_cap;

	if (len < sizeof(rec))
		return ae_fail(AE_CORRUPT, (ae_file_id) {0}, AE_NO_BLOCK, "short commit record");
	memcpy(&rec, data, sizeof(rec));
	if (len != sizeof(rec) + sizeof(uint32) * (Size) rec.nsub)
		return ae_fail(AE_CORRUPT, (ae_file_id) {0}, AE_NO_BLOCK,
					   "commit record of %zu bytes for %u subtransactions", len, rec.nsub);
	if (!grow((void **) &found, &cap, nfound + 1, sizeof(FoundCommit)) ||
		!grow((void **) &found_subs, &found_subs_cap, nfound_subs + rec.nsub,
			  sizeof(TransactionId)))
		return ae_fail(AE_NO_MEMORY, (ae_file_id) {0}, AE_NO_BLOCK,
					   "out of memory remembering %d commits", nfound);
	found_cap = (int) cap;
	found[nfound].top = FullTransactionIdFromU64(rec.top);
	found[nfound].nsub = rec.nsub;
	found[nfound].first_sub = nfound_subs;
	memcpy(found_subs + nfound_subs, (const char *) data + sizeof(rec),
		   sizeof(uint32) * (Size) rec.nsub);
	nfound_subs += rec.nsub;
	nfound++;
	return AE_OK;
}

/* A subtransaction's full xid: it was assigned after its parent, within 2^31. */
static FullTransactionId
full_sub(FullTransactionId top, TransactionId sub)
{
	return FullTransactionIdFromU64(U64FromFullTransactionId(top) +
									(uint32) (sub - XidFromFullTransactionId(top)));
}

/*
 * After redo, before the checkpoint: give every commit found in Aether's
 * log that PostgreSQL's WAL lost back to clog (see the file header), and
 * move PostgreSQL's next xid past note, the log's xid limit: the xids below
 * it that are no such commit are taken by transactions that abort, so that
 * rows of transactions in flight at the crash stay invisible
 * (aetam_xid_for_write). Errors are raised (the worker restarts and
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

	ctl.keysize = sizeof(uint64);
	ctl.entrysize = sizeof(uint64);
	later = hash_create("aether commits to restore", 1024, &ctl, HASH_ELEM | HASH_BLOBS);

	for (int i = 0; i < nfound; i++)
	{
		FoundCommit *c = &found[i];
		TransactionId xid = XidFromFullTransactionId(c->top);
		TransactionId *subs = found_subs + c->first_sub;
		int			nknown = 0;

		if (FullTransactionIdFollowsOrEquals(c->top, next))
			nknown = -1;		/* PostgreSQL never saw it assigned: all later */
		else if (TransactionIdPrecedes(xid, oldest) ||
				 TransactionIdDidCommit(xid) || TransactionIdDidAbort(xid))
			continue;			/* PostgreSQL's WAL decided it */
		for (uint32 s = 0; s < c->nsub; s++)
		{
			FullTransactionId fs = full_sub(c->top, subs[s]);

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
		XLogFlush(GetXLogInsertRecPtr());
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
	found = NULL;
	found_subs = NULL;
	nfound = found_cap = 0;
	nfound_subs = found_subs_cap = 0;
}
