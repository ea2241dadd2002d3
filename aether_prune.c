/*
 * aether_prune.c — removing row versions that no snapshot can see any more,
 * during normal work (no VACUUM needed).
 *
 * An UPDATE that keeps the row id leaves the version it replaced in the
 * row's list, and a DELETE leaves the deleted version: some snapshot may still
 * need them. They become garbage once the writer has committed (or aborted)
 * and every snapshot older than that has gone. Like heap's page pruning,
 * cleaning happens on later normal access:
 *
 *  1. Every change rewrites its own row and drops that row's dead versions
 *     (aether_modify.c, swap_row).
 *  2. The backend that left a replaced or deleted version behind remembers
 *     the row (a small per-backend list) and, in a later transaction, when it
 *     next writes to Aether, looks at up to PRUNE_PER_CALL remembered rows:
 *     dead versions are dropped, a row whose versions are all dead is removed
 *     (its row id is never reused; index entries pointing at it are found dead
 *     by index scans and by btree's deletion of dead entries). A row that is
 *     not yet prunable is kept for a few more attempts; one that a later
 *     transaction changed since is left to that transaction's prune.
 *
 * So an update-heavy table stays at about one version per row without VACUUM.
 */
#include "postgres.h"

#include "access/xact.h"
#include "storage/procarray.h"
#include "utils/snapmgr.h"

#include "aether.h"

#define PRUNE_LIST_SIZE 256
#define PRUNE_PER_CALL 4
#define PRUNE_MAX_TRIES 16

typedef struct PruneCandidate
{
	RelFileNode rnode;
	uint64		rowid;
	TransactionId writer;		/* the (top-level) transaction that left the old version */
	TransactionId stamped;		/* the xid it stamped there: its subtransaction's, if any */
	int			tries;
} PruneCandidate;

/* oldest first: this backend's transactions in the order they ended */
static PruneCandidate candidates[PRUNE_LIST_SIZE];
static int	ncandidates = 0;

static void
forget(int i)
{
	memmove(&candidates[i], &candidates[i + 1], sizeof(PruneCandidate) * (ncandidates - i - 1));
	ncandidates--;
}

void
aetam_prune_note(Relation rel, uint64 rowid)
{
	PruneCandidate *c;

	if (ncandidates == PRUNE_LIST_SIZE)
		forget(0);				/* the oldest: VACUUM will find it */
	c = &candidates[ncandidates++];
	c->rnode = rel->rd_node;
	c->rowid = rowid;
	c->writer = GetTopTransactionIdIfAny();
	c->stamped = GetCurrentTransactionIdIfAny();
	c->tries = 0;
}


/*
 * Prune one row. Returns true when the candidate is finished with (pruned,
 * gone, or changed by someone else, who then owns its cleanup).
 */
static bool
prune_row(Relation rel, PruneCandidate *c, GlobalVisState *vistest, ae_bytes *row)
{
	ae_btree	tree;
	unsigned char key[8];
	AetamHeaders h;
	int		   *keep;
	int			nkeep = 0;
	ae_status	st;
	ae_bytes	rebuilt = {0};

	ae_btree_open(&tree, aetam_engine(), aetam_file_id(&c->rnode), NULL);
	ae_row_key(c->rowid, key);
	st = ae_btree_get(&tree, key, sizeof(key), row);
	if (st != AE_OK)
		return true;			/* gone (or its file is): nothing to do */
	aetam_parse_headers(rel, c->rowid, row, &h);	/* the kept versions are copied as stored */

	/*
	 * A later transaction changed the row since (a hot row): the newest
	 * version is neither the writer's nor deleted by it (compared with the
	 * xid the writer stamped: a subtransaction's inside a savepoint). That
	 * transaction noted the row itself, and its prune, or the next change's,
	 * drops what is dead then (or VACUUM, should its note be lost).
	 * Rewriting the row now would only add a write to the hottest rows.
	 */
	if (TransactionIdIsValid(c->stamped) && h.vers.n > 0 &&
		!TransactionIdEquals(HeapTupleHeaderGetRawXmin(h.vers.v[0]), c->stamped) &&
		!TransactionIdEquals(HeapTupleHeaderGetRawXmax(h.vers.v[0]), c->stamped))
	{
		aetam_free_headers(&h);
		return true;
	}
	keep = palloc(sizeof(int) * h.vers.n);
	for (int i = 0; i < h.vers.n; i++)
		if (!aetam_version_dead(h.vers.v[i], vistest))
			keep[nkeep++] = i;
	if (nkeep == h.vers.n)
	{
		pfree(keep);
		aetam_free_headers(&h);
		return false;			/* nothing dead yet */
	}
	if (nkeep == 0)
		st = ae_btree_cas(&tree, key, sizeof(key), row->data, row->len, NULL, 0);
	else
	{
		PG_TRY();
		{
			aetam_build_row_keeping(rel, c->rowid, NULL, NULL, 0, &h, keep, nkeep, &rebuilt);
			st = ae_btree_cas(&tree, key, sizeof(key), row->data, row->len,
							  rebuilt.data, rebuilt.len);
		}
		PG_FINALLY();
		{
			ae_bytes_free(&rebuilt);
		}
		PG_END_TRY();
	}
	if (st != AE_OK && st != AE_CONFLICT && st != AE_NOT_FOUND)
		aetam_raise(st, rel);
	if (st == AE_OK)
		aetam_xact_wrote();
	return true;
}

/*
 * Called before a write to an Aether table (rel gives the database's
 * visibility horizon; remembered rows may belong to other Aether tables of
 * the same database). Cheap when there is nothing to do.
 */
void
aetam_prune_pending(Relation rel)
{
	GlobalVisState *vistest = NULL;
	TransactionId me = GetTopTransactionIdIfAny();
	ae_bytes	row = {0};
	int			done = 0;

	if (ncandidates == 0)
		return;
	PG_TRY();
	{
		for (int i = 0; i < ncandidates && done < PRUNE_PER_CALL;)
		{
			PruneCandidate *c = &candidates[i];

			if (c->rnode.dbNode != rel->rd_node.dbNode)
			{
				i++;
				continue;
			}
			/* the rest are newer: still running, or ours */
			if (TransactionIdIsValid(c->writer) &&
				(TransactionIdEquals(c->writer, me) || TransactionIdIsInProgress(c->writer)))
				break;
			/*
			 * The writer's commit must be durable before the versions it
			 * replaced may go (aetam_commit_is_durable). With asynchronous
			 * commits that takes up to wal_writer_delay: wait for it (the
			 * newer candidates are not durable either) while the list is
			 * short; once it is a quarter full, ask the worker to flush
			 * PostgreSQL's WAL; three quarters full, or with no worker,
			 * flush it here (that covers every older commit too).
			 */
			if (TransactionIdIsValid(c->writer) && !aetam_commit_is_durable(c->writer))
			{
				if (ncandidates < PRUNE_LIST_SIZE / 4 ||
					(ncandidates < PRUNE_LIST_SIZE * 3 / 4 && aetam_commit_flush_soon(c->writer)))
					break;
				aetam_make_commits_durable();
			}
			if (vistest == NULL)
				vistest = GlobalVisTestFor(rel);
			done++;
			if (prune_row(rel, c, vistest, &row) || ++c->tries >= PRUNE_MAX_TRIES)
				forget(i);
			else
				i++;
		}
	}
	PG_FINALLY();
	{
		ae_bytes_free(&row);
	}
	PG_END_TRY();
}
