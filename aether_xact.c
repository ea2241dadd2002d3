/*
 * aether_xact.c — transaction events.
 *
 *  - PRE_COMMIT / PRE_PREPARE: a transaction that took its xid while
 *    Aether's recovery ran waits for it to end (aetam_gate_check_commit).
 *    A transaction that wrote Aether data makes
 *    Aether's log durable up to its insert position before PostgreSQL writes
 *    its commit record (DESIGN §4); see log_for_commit for
 *    synchronous_commit = off and for transactions that wrote no WAL, and
 *    aether_commit.c for those that commit through Aether's log alone.
 *  - COMMIT / ABORT (and subtransaction abort): pages cached for relation
 *    files that PostgreSQL is about to unlink are dropped from the pool, so
 *    they are never written back to a file that is gone or whose number is
 *    reused.
 *  - End of transaction: row id reservations are forgotten; the row ids a
 *    rolled-back (sub)transaction inserted are queued for removal
 *    (aether_undo.c).
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xloginsert.h"
#include "catalog/pg_control.h"
#include "catalog/storage.h"

#include "aether.h"
#include "aether/buf.h"
#include "aether/wal.h"

static bool wrote_this_xact = false;

/*
 * The transaction id to stamp into an Aether row version. PostgreSQL's
 * recovery moves its next xid past every xid in its own WAL, but Aether's
 * rows are not in that WAL: after a crash, an xid that only Aether's log
 * holds (a transaction in flight) could be handed out again, and its old
 * rows would become visible when the new owner commits. So before an xid
 * first reaches Aether's log, a note in that log raises a limit above it
 * (XID_NOTE_MARGIN ahead, so a note is written about once every so many
 * transactions); recovery then moves PostgreSQL's next xid past the limit
 * (aether_worker.c) before any client connects.
 */
#define XID_NOTE_MARGIN 256

TransactionId
aetam_xid_for_write(void)
{
	static TransactionId checked = InvalidTransactionId;
	TransactionId xid = GetCurrentTransactionId();
	ae_engine  *eng;
	uint64		next;

	if (TransactionIdEquals(xid, checked))
		return xid;
	eng = aetam_engine();
	next = U64FromFullTransactionId(ReadNextFullTransactionId());
	if (next >= ae_wal_note_max(eng))
	{
		ae_status	st = ae_wal_note(eng, next + XID_NOTE_MARGIN);

		if (st != AE_OK)
			aetam_raise(st, NULL);
	}
	checked = xid;
	return xid;
}

void
aetam_xact_wrote(void)
{
	wrote_this_xact = true;
}

static void
drop_pending_deletes(bool for_commit)
{
	RelFileNode *rnodes;
	int			n;

	if (!aetam_is_loaded())
		return;
	n = smgrGetPendingDeletes(for_commit, &rnodes);
	for (int i = 0; i < n; i++)
		ae_buf_drop_file(aetam_engine_nowait(), aetam_file_id(&rnodes[i]));
	if (rnodes)
		pfree(rnodes);
}

/*
 * Before PostgreSQL writes the commit (or PREPARE) record of a transaction
 * that wrote Aether data:
 *  - synchronous_commit on (or local, remote_*): Aether's log is made
 *    durable up to its end, and a no-op record goes into PostgreSQL's WAL.
 *    PostgreSQL flushes a commit record at COMMIT only for a transaction that
 *    wrote WAL; without the no-op, a transaction that changed only Aether
 *    tables would commit asynchronously and could vanish in a crash after
 *    being acknowledged.
 *  - synchronous_commit off: Aether's log is written (not synced) up to its
 *    end, so that it reaches the kernel before PostgreSQL's commit record can
 *    (a server crash then never finds a commit whose Aether changes are
 *    missing); the background worker syncs it within about 200 ms.
 */
static void
log_for_commit(bool prepare)
{
	ae_engine  *eng;
	ae_status	st;
	ae_lsn		end;

	if (!wrote_this_xact || !aetam_is_loaded())
		return;
	eng = aetam_engine();
	if (!prepare && aetam_commit_fast(eng))
		return;
	end = ae_wal_insert_lsn(eng);
	if (synchronous_commit == SYNCHRONOUS_COMMIT_OFF && !prepare)
		st = ae_wal_write(eng, end);
	else
		st = ae_wal_flush(eng, end);
	if (st != AE_OK)
		aetam_raise(st, NULL);
	if (!prepare && synchronous_commit > SYNCHRONOUS_COMMIT_OFF &&
		TransactionIdIsValid(GetTopTransactionIdIfAny()))
	{
		XLogBeginInsert();
		XLogRegisterData((char *) &end, sizeof(end));
		(void) XLogInsert(RM_XLOG_ID, XLOG_NOOP);
	}
}

static void
aether_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			aetam_gate_check_commit();
			log_for_commit(false);
			aetam_commit_announce_async();
			break;
		case XACT_EVENT_PRE_PREPARE:
			aetam_gate_check_commit();
			log_for_commit(true);
			break;
		case XACT_EVENT_COMMIT:
			aetam_commit_note_async(true);
			aetam_commit_xact_end(false);
			drop_pending_deletes(true);
			wrote_this_xact = false;
			aetam_rowid_cache_reset();
			aetam_undo_xact_end(false, false);
			break;
		case XACT_EVENT_ABORT:
			aetam_gate_check_abort();
			aetam_commit_note_async(false);
			aetam_commit_xact_end(true);
			drop_pending_deletes(false);
			wrote_this_xact = false;
			aetam_rowid_cache_reset();
			aetam_undo_xact_end(true, false);
			break;
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			aetam_commit_note_async(false);
			wrote_this_xact = false;
			aetam_rowid_cache_reset();
			aetam_undo_xact_end(false, false);
			break;
		default:
			break;
	}
}

static void
aether_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		drop_pending_deletes(false);
		aetam_undo_xact_end(true, true);
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		aetam_undo_xact_end(false, true);
}

void
aetam_xact_init(void)
{
	RegisterXactCallback(aether_xact_callback, NULL);
	RegisterSubXactCallback(aether_subxact_callback, NULL);
}
