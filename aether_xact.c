/*
 * aether_xact.c — transaction events.
 *
 *  - PRE_COMMIT / PRE_PREPARE: a transaction that wrote Aether data makes
 *    Aether's log durable up to its insert position before PostgreSQL writes
 *    its commit record (DESIGN §4), unless synchronous_commit is off.
 *  - COMMIT / ABORT (and subtransaction abort): pages cached for relation
 *    files that PostgreSQL is about to unlink are dropped from the pool, so
 *    they are never written back to a file that is gone or whose number is
 *    reused.
 *  - End of transaction: row id reservations are forgotten; the row ids a
 *    rolled-back (sub)transaction inserted are queued for removal
 *    (aether_undo.c).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/storage.h"

#include "aether.h"
#include "aether/buf.h"
#include "aether/wal.h"

static bool wrote_this_xact = false;

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

static void
flush_log_for_commit(void)
{
	ae_engine  *eng;
	ae_status	st;

	if (!wrote_this_xact || !aetam_is_loaded())
		return;
	if (synchronous_commit == SYNCHRONOUS_COMMIT_OFF)
		return;					/* the background worker flushes soon */
	eng = aetam_engine();
	st = ae_wal_flush(eng, ae_wal_insert_lsn(eng));
	if (st != AE_OK)
		aetam_raise(st, NULL);
}

static void
aether_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			flush_log_for_commit();
			break;
		case XACT_EVENT_COMMIT:
			drop_pending_deletes(true);
			wrote_this_xact = false;
			aetam_rowid_cache_reset();
			aetam_undo_xact_end(false, false);
			break;
		case XACT_EVENT_ABORT:
			drop_pending_deletes(false);
			wrote_this_xact = false;
			aetam_rowid_cache_reset();
			aetam_undo_xact_end(true, false);
			break;
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
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
