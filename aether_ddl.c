/*
 * aether_ddl.c — relation lifecycle and maintenance for Aether tables:
 * new storage, truncation, copies, VACUUM, VACUUM FULL / CLUSTER, index builds,
 * sizes and estimates.
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/multixact.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/storage.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/procarray.h"
#include "storage/smgr.h"
#include "utils/snapmgr.h"
#include "utils/tuplesort.h"

#include "aether.h"
#include "aether/buf.h"

/* ---- storage ---- */

static void
create_tree(Relation rel, const RelFileNode *rnode)
{
	ae_status	st = ae_btree_create(aetam_engine(), aetam_file_id(rnode));

	if (st != AE_OK)
		aetam_raise(st, rel);
	aetam_xact_wrote();			/* the new file's pages must be in the log at commit */
}

void
aetam_relation_set_new_filenode(Relation rel, const RelFileNode *newrnode,
								char persistence, TransactionId *freezeXid,
								MultiXactId *minmulti)
{
	SMgrRelation srel;

	(void) aetam_engine();		/* fail early if not preloaded */
	if (persistence != RELPERSISTENCE_PERMANENT)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("aether does not support %s tables yet",
						persistence == RELPERSISTENCE_TEMP ? "temporary" : "unlogged"),
				 errhint("Use USING heap for this table.")));
	*freezeXid = RecentXmin;
	*minmulti = GetOldestMultiXactId();
	srel = RelationCreateStorage(*newrnode, persistence, true);
	smgrclose(srel);
	create_tree(rel, newrnode);
}

void
aetam_relation_nontransactional_truncate(Relation rel)
{
	ae_buf_drop_file(aetam_engine(), aetam_file_id(&rel->rd_node));
	RelationTruncate(rel, 0);
	create_tree(rel, &rel->rd_node);
	aetam_rowid_cache_reset();	/* chunks reserved from the old tree are not the new one's */
}

/*
 * ALTER TABLE SET TABLESPACE: write our pages, then copy the file block by
 * block. Not through RelationCopyStorage: its log_newpage would stamp
 * PostgreSQL LSNs into Aether pages. The copy is synced before commit
 * instead (Aether's data never travels in PostgreSQL's WAL).
 */
void
aetam_relation_copy_data(Relation rel, const RelFileNode *newrnode)
{
	ae_engine  *eng = aetam_engine();
	SMgrRelation src, dst;
	PGAlignedBlock buf;
	BlockNumber nblocks;

	AETAM_CHECK(ae_buf_flush_file(eng, aetam_file_id(&rel->rd_node)), rel);
	dst = RelationCreateStorage(*newrnode, rel->rd_rel->relpersistence, true);
	src = RelationGetSmgr(rel);
	nblocks = smgrnblocks(src, MAIN_FORKNUM);
	for (BlockNumber blk = 0; blk < nblocks; blk++)
	{
		CHECK_FOR_INTERRUPTS();
		smgrread(src, MAIN_FORKNUM, blk, buf.data);
		smgrextend(dst, MAIN_FORKNUM, blk, buf.data, true);
	}
	smgrimmedsync(dst, MAIN_FORKNUM);
	ae_buf_drop_file(eng, aetam_file_id(&rel->rd_node));
	RelationDropStorage(rel);	/* the old file goes at commit */
	smgrclose(dst);
}

/* ---- pruning and freezing one row (VACUUM, VACUUM FULL) ---- */

typedef struct PruneResult
{
	int			kept;
	int			removed;
	bool		changed;
	bool		kept_multi;		/* a running MultiXact lock stays */
	TransactionId oldest_xid;	/* oldest unfrozen xid left in the kept versions */
} PruneResult;

static void
note_xid(PruneResult *pr, TransactionId xid)
{
	if (TransactionIdIsNormal(xid) && TransactionIdPrecedes(xid, pr->oldest_xid))
		pr->oldest_xid = xid;
}

/*
 * Keep the versions some snapshot may still see (in out[], palloc'd copies);
 * freeze committed xmins older than freeze_limit, mark the other committed
 * ones committed (aetam_xmin_hintable), and clear
 * xmax values that no longer mean anything (aborted, or finished lockers).
 */
static void
prune_versions(AetamVersions *vers, TransactionId oldest_xmin, TransactionId freeze_limit,
			   HeapTupleHeader *out, uint32 *outlen, PruneResult *pr)
{
	pr->kept = pr->removed = 0;
	pr->changed = false;
	pr->kept_multi = false;
	for (int i = 0; i < vers->n; i++)
	{
		HeapTupleHeader t = vers->v[i];
		HTSV_Result res = aetam_version_vacuum_status(t, oldest_xmin);
		HeapTupleHeader copy;
		TransactionId xmin = HeapTupleHeaderGetRawXmin(t);

		if (res == HEAPTUPLE_DEAD)
		{
			pr->removed++;
			pr->changed = true;
			continue;
		}
		copy = palloc(vers->len[i]);
		memcpy(copy, t, vers->len[i]);
		/*
		 * Freezing asserts the commit as the mark does, so it too waits
		 * until the commit is durable: an asynchronous commit's record may
		 * still be unflushed (VACUUM FREEZE right after it), and a frozen
		 * version would outlive that commit's loss in a crash.
		 */
		if (!HeapTupleHeaderXminFrozen(copy) && res != HEAPTUPLE_INSERT_IN_PROGRESS &&
			TransactionIdIsNormal(xmin) && TransactionIdPrecedes(xmin, freeze_limit) &&
			(HeapTupleHeaderXminCommitted(copy) || aetam_commit_is_durable(xmin)))
			HeapTupleHeaderSetXminFrozen(copy);
		else if (res != HEAPTUPLE_INSERT_IN_PROGRESS && aetam_xmin_hintable(xmin, copy->t_infomask))
			copy->t_infomask |= HEAP_XMIN_COMMITTED;
		if (!(copy->t_infomask & HEAP_XMAX_INVALID) &&
			(res == HEAPTUPLE_LIVE || res == HEAPTUPLE_INSERT_IN_PROGRESS) &&
			!(HEAP_XMAX_IS_LOCKED_ONLY(copy->t_infomask) && !aetam_lock_finished(copy)))
		{
			copy->t_infomask &= ~HEAP_XMAX_BITS;
			copy->t_infomask |= HEAP_XMAX_INVALID;
			HeapTupleHeaderSetXmax(copy, InvalidTransactionId);
		}
		if (memcmp(copy, t, SizeofHeapTupleHeader) != 0)
			pr->changed = true;
		if (!HeapTupleHeaderXminFrozen(copy))
			note_xid(pr, HeapTupleHeaderGetRawXmin(copy));
		if (!(copy->t_infomask & HEAP_XMAX_INVALID) && (copy->t_infomask & HEAP_XMAX_IS_MULTI))
			pr->kept_multi = true;
		else if (!(copy->t_infomask & HEAP_XMAX_INVALID))
			note_xid(pr, HeapTupleHeaderGetRawXmax(copy));
		out[pr->kept] = copy;
		outlen[pr->kept++] = vers->len[i];
	}
}

/* ---- VACUUM ---- */

typedef struct DeadRows
{
	uint64	   *ids;			/* ascending */
	int64		n, cap;
} DeadRows;

static void
dead_rows_add(DeadRows *d, uint64 rowid)
{
	if (d->n == d->cap)
	{
		d->cap = Max(1024, d->cap * 2);
		d->ids = d->ids ? repalloc_huge(d->ids, d->cap * sizeof(uint64))
			: palloc_extended(d->cap * sizeof(uint64), MCXT_ALLOC_HUGE);
	}
	d->ids[d->n++] = rowid;
}

static bool
dead_row_callback(ItemPointer tid, void *arg)
{
	DeadRows   *d = arg;
	uint64		rowid = aetam_tid_to_rowid(tid);
	int64		lo = 0, hi = d->n - 1;

	while (lo <= hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (d->ids[mid] == rowid)
			return true;
		if (d->ids[mid] < rowid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

/* Remove index entries of removed rows, then let each index AM clean up. */
static void
vacuum_indexes(Relation rel, DeadRows *dead, double live, BufferAccessStrategy bstrategy)
{
	Relation   *indrels;
	int			nindexes;

	vac_open_indexes(rel, RowExclusiveLock, &nindexes, &indrels);
	for (int i = 0; i < nindexes; i++)
	{
		IndexVacuumInfo ivinfo;
		IndexBulkDeleteResult *stats = NULL;

		memset(&ivinfo, 0, sizeof(ivinfo));
		ivinfo.index = indrels[i];
		ivinfo.estimated_count = true;
		ivinfo.message_level = DEBUG2;
		ivinfo.num_heap_tuples = live;
		ivinfo.strategy = bstrategy;
		if (dead->n > 0)
			stats = index_bulk_delete(&ivinfo, stats, dead_row_callback, dead);
		stats = index_vacuum_cleanup(&ivinfo, stats);
		if (stats && !stats->estimated_count)
			vac_update_relstats(indrels[i], stats->num_pages, stats->num_index_tuples,
								0, false, InvalidTransactionId, InvalidMultiXactId,
								NULL, NULL, false);
	}
	vac_close_indexes(nindexes, indrels, NoLock);
}

void
aetam_relation_vacuum(Relation rel, struct VacuumParams *params,
					  BufferAccessStrategy bstrategy)
{
	TransactionId oldest_xmin, freeze_limit;
	MultiXactId oldest_mxact, multi_cutoff;
	TableScanDesc scan;
	ae_btree	tree;
	DeadRows	dead = {0};
	PruneResult total = {0};
	double		live = 0, removed_versions = 0;
	uint64		rowid;
	ae_bytes	row;
	bool		frozen_updated, minmulti_updated;

	vacuum_set_xid_limits(rel, params->freeze_min_age, params->freeze_table_age,
						  params->multixact_freeze_min_age,
						  params->multixact_freeze_table_age,
						  &oldest_xmin, &oldest_mxact, &freeze_limit, &multi_cutoff);
	total.oldest_xid = oldest_xmin;
	aetam_open_tree(rel, &tree);
	scan = aetam_scan_begin(rel, SnapshotAny, 0, NULL, NULL, SO_TYPE_SEQSCAN);
	while (aetam_scan_next_raw(scan, &rowid, &row))
	{
		AetamVersions vers;
		HeapTupleHeader *out;
		uint32	   *outlen;
		PruneResult pr;
		unsigned char key[8];
		ae_status	st;
		int			ncopies;

		vacuum_delay_point();
		aetam_parse_versions(rel, rowid, &row, &vers);
		out = palloc(sizeof(HeapTupleHeader) * vers.n);
		outlen = palloc(sizeof(uint32) * vers.n);
		pr.oldest_xid = total.oldest_xid;
		prune_versions(&vers, oldest_xmin, freeze_limit, out, outlen, &pr);
		ae_row_key(rowid, key);
		st = AE_OK;
		if (pr.changed && pr.kept == 0)
			st = ae_btree_cas(&tree, key, 8, row.data, row.len, NULL, 0);
		else if (pr.changed)
		{
			ae_bytes	rebuilt = {0};

			aetam_build_row(rel, rowid, out, outlen, pr.kept, &rebuilt);
			st = ae_btree_cas(&tree, key, 8, row.data, row.len, rebuilt.data, rebuilt.len);
			ae_bytes_free(&rebuilt);
		}
		ncopies = pr.kept;		/* out[0..ncopies) are palloc'd copies */
		if (pr.kept_multi)
			total.kept_multi = true;
		if (st == AE_CONFLICT)
		{
			total.kept_multi = true;	/* its xmax is unknown: keep relminmxid */
			/* changed under us: its xids stay, count it as it was */
			pr.kept = vers.n;
			pr.removed = 0;
			for (int i = 0; i < vers.n; i++)
				note_xid(&pr, HeapTupleHeaderGetRawXmin(vers.v[i]));
		}
		else if (st != AE_OK)
			aetam_raise(st, rel);
		else if (pr.changed && pr.kept == 0)
			dead_rows_add(&dead, rowid);
		total.oldest_xid = pr.oldest_xid;
		live += pr.kept > 0 ? 1 : 0;
		removed_versions += pr.removed;
		for (int i = 0; i < ncopies; i++)
			pfree(out[i]);
		pfree(out);
		pfree(outlen);
		aetam_free_versions(&vers);
	}
	aetam_scan_end(scan);
	if (dead.n > 0)
		aetam_xact_wrote();

	vacuum_indexes(rel, &dead, live, bstrategy);
	vac_update_relstats(rel, RelationGetNumberOfBlocks(rel), live, 0,
						rel->rd_rel->relhasindex, total.oldest_xid,
						total.kept_multi ? InvalidMultiXactId : oldest_mxact,
						&frozen_updated, &minmulti_updated, false);
	pgstat_report_vacuum(RelationGetRelid(rel), rel->rd_rel->relisshared,
						 live, removed_versions);
	ereport(params->options & VACOPT_VERBOSE ? INFO : DEBUG2,
			(errmsg("aether: vacuumed \"%s\": %.0f live rows, %.0f dead versions removed, %lld rows removed",
					RelationGetRelationName(rel), live, removed_versions,
					(long long) dead.n)));
}

/* ---- VACUUM FULL and CLUSTER: copy live rows to the new file, same row ids ---- */

void
aetam_relation_copy_for_cluster(Relation OldTable, Relation NewTable,
								Relation OldIndex, bool use_sort,
								TransactionId OldestXmin, TransactionId *xid_cutoff,
								MultiXactId *multi_cutoff, double *num_tuples,
								double *tups_vacuumed, double *tups_recently_dead)
{
	ae_btree	oldtree, newtree;
	TableScanDesc scan;
	uint64		next_id, first, rowid;
	ae_bytes	row, rebuilt = {0};

	aetam_open_tree(OldTable, &oldtree);
	aetam_open_tree(NewTable, &newtree);
	AETAM_CHECK(ae_btree_peek_ids(&oldtree, &next_id), OldTable);
	if (next_id > 0)
		AETAM_CHECK(ae_btree_reserve_ids(&newtree, next_id, &first), NewTable);
	*num_tuples = *tups_vacuumed = *tups_recently_dead = 0;

	scan = aetam_scan_begin(OldTable, SnapshotAny, 0, NULL, NULL, SO_TYPE_SEQSCAN);
	PG_TRY();
	{
		while (aetam_scan_next_raw(scan, &rowid, &row))
		{
			AetamVersions vers;
			HeapTupleHeader *out;
			uint32	   *outlen;
			PruneResult pr;
			unsigned char key[8];

			CHECK_FOR_INTERRUPTS();
			aetam_parse_versions(OldTable, rowid, &row, &vers);
			out = palloc(sizeof(HeapTupleHeader) * vers.n);
			outlen = palloc(sizeof(uint32) * vers.n);
			pr.oldest_xid = OldestXmin;
			prune_versions(&vers, OldestXmin, *xid_cutoff, out, outlen, &pr);
			*tups_vacuumed += pr.removed;
			for (int i = 0; i < pr.kept; i++)
			{
				if (aetam_version_vacuum_status(out[i], OldestXmin) == HEAPTUPLE_RECENTLY_DEAD)
					*tups_recently_dead += 1;
				else
					*num_tuples += 1;
			}
			if (pr.kept > 0)
			{
				ae_row_key(rowid, key);
				aetam_build_row(NewTable, rowid, out, outlen, pr.kept, &rebuilt);
				AETAM_CHECK(ae_btree_insert(&newtree, key, 8, rebuilt.data, rebuilt.len),
							NewTable);
			}
			for (int i = 0; i < pr.kept; i++)
				pfree(out[i]);
			pfree(out);
			pfree(outlen);
			aetam_free_versions(&vers);
		}
	}
	PG_FINALLY();
	{
		ae_bytes_free(&rebuilt);
	}
	PG_END_TRY();
	aetam_scan_end(scan);
	aetam_xact_wrote();
}

/* ---- index builds ---- */

/*
 * Which version of a row goes into a new index: the one the snapshot sees
 * (CREATE INDEX CONCURRENTLY and parallel builds hand us an MVCC snapshot),
 * else the newest version that is not dead. A row with several versions
 * still alive may differ in the new index's columns: like heap's broken HOT
 * chains, the index is then marked unusable for older snapshots.
 */
static int
version_to_index(Relation rel, AetamVersions *vers, Snapshot snapshot,
				 TransactionId oldest_xmin, IndexInfo *ii, bool *alive)
{
	int			pick = -1, nlive = 0;

	if (IsMVCCSnapshot(snapshot))
	{
		*alive = true;
		return aetam_visible_version(rel, vers, snapshot);
	}
	for (int i = 0; i < vers->n; i++)
	{
		HTSV_Result res = aetam_version_vacuum_status(vers->v[i], oldest_xmin);

		if (res == HEAPTUPLE_DEAD)
			continue;
		nlive++;
		if (pick < 0)
		{
			pick = i;
			*alive = (res == HEAPTUPLE_LIVE || res == HEAPTUPLE_INSERT_IN_PROGRESS);
		}
	}
	if (nlive > 1)
		ii->ii_BrokenHotChain = true;
	return pick;
}

double
aetam_index_build_range_scan(Relation table_rel, Relation index_rel,
							 struct IndexInfo *index_info, bool allow_sync,
							 bool anyvisible, bool progress,
							 BlockNumber start_blockno, BlockNumber numblocks,
							 IndexBuildCallback callback, void *callback_state,
							 TableScanDesc scan)
{
	EState	   *estate = CreateExecutorState();
	ExprContext *econtext = GetPerTupleExprContext(estate);
	TupleTableSlot *slot = table_slot_create(table_rel, NULL);
	ExprState  *predicate;
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];
	TransactionId oldest_xmin = InvalidTransactionId;
	Snapshot	snapshot;
	bool		own_scan = (scan == NULL);
	double		reltuples = 0;
	uint64		rowid;
	ae_bytes	row;

	econtext->ecxt_scantuple = slot;
	predicate = ExecPrepareQual(index_info->ii_Predicate, estate);
	if (own_scan)
	{
		snapshot = (IsBootstrapProcessingMode() || index_info->ii_Concurrent)
			? RegisterSnapshot(GetTransactionSnapshot()) : SnapshotAny;
		scan = aetam_scan_begin(table_rel, snapshot, 0, NULL, NULL, SO_TYPE_SEQSCAN);
		if (snapshot != SnapshotAny)
			scan->rs_flags |= SO_TEMP_SNAPSHOT;
	}
	snapshot = scan->rs_snapshot;
	if (!IsMVCCSnapshot(snapshot))
		oldest_xmin = GetOldestNonRemovableTransactionId(table_rel);
	if (numblocks != InvalidBlockNumber)
		aetam_scan_set_range(scan, (uint64) start_blockno * AETAM_ROWS_PER_BLOCK,
							 ((uint64) start_blockno + numblocks) * AETAM_ROWS_PER_BLOCK);

	while (aetam_scan_next_raw(scan, &rowid, &row))
	{
		AetamVersions vers;
		ItemPointerData tid;
		bool		alive = true;
		int			i;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(econtext->ecxt_per_tuple_memory);
		aetam_parse_versions(table_rel, rowid, &row, &vers);
		i = version_to_index(table_rel, &vers, snapshot, oldest_xmin, index_info, &alive);
		if (i >= 0)
		{
			reltuples += 1;
			aetam_store_version(slot, vers.v[i], vers.len[i], rowid, RelationGetRelid(table_rel));
			if (predicate == NULL || ExecQual(predicate, econtext))
			{
				FormIndexDatum(index_info, slot, estate, values, isnull);
				aetam_rowid_to_tid(rowid, &tid);
				callback(index_rel, &tid, values, isnull, alive, callback_state);
			}
		}
		aetam_free_versions(&vers);
	}
	if (own_scan)
		aetam_scan_end(scan);
	ExecDropSingleTupleTableSlot(slot);
	FreeExecutorState(estate);
	index_info->ii_ExpressionsState = NIL;
	index_info->ii_PredicateState = NULL;
	return reltuples;
}

/*
 * CREATE INDEX CONCURRENTLY, last phase: insert the rows the reference
 * snapshot sees that the index does not have yet. The index's TIDs arrive
 * sorted; TID order is row id order, so one merge pass over the table does it.
 */
void
aetam_index_validate_scan(Relation table_rel, Relation index_rel,
						  struct IndexInfo *index_info, Snapshot snapshot,
						  struct ValidateIndexState *state)
{
	EState	   *estate = CreateExecutorState();
	ExprContext *econtext = GetPerTupleExprContext(estate);
	TupleTableSlot *slot = table_slot_create(table_rel, NULL);
	ExprState  *predicate;
	TableScanDesc scan;
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];
	bool		index_done = false;
	uint64		index_rowid = 0;
	uint64		rowid;
	ae_bytes	row;

	econtext->ecxt_scantuple = slot;
	predicate = ExecPrepareQual(index_info->ii_Predicate, estate);
	scan = aetam_scan_begin(table_rel, snapshot, 0, NULL, NULL, SO_TYPE_SEQSCAN);
	while (aetam_scan_next_raw(scan, &rowid, &row))
	{
		AetamVersions vers;
		int			i;

		CHECK_FOR_INTERRUPTS();
		state->htups += 1;
		/* advance the index's sorted TIDs to this row id */
		while (!index_done && (index_rowid < rowid || state->itups == 0))
		{
			Datum		d;
			bool		null;
			ItemPointerData tid;

			if (!tuplesort_getdatum(state->tuplesort, true, &d, &null, NULL))
			{
				index_done = true;
				break;
			}
			itemptr_decode(&tid, DatumGetInt64(d));
			index_rowid = aetam_tid_to_rowid(&tid);
			state->itups += 1;
		}
		if (!index_done && index_rowid == rowid)
			continue;			/* already indexed */

		MemoryContextReset(econtext->ecxt_per_tuple_memory);
		aetam_parse_versions(table_rel, rowid, &row, &vers);
		i = aetam_visible_version(table_rel, &vers, snapshot);
		if (i >= 0)
		{
			ItemPointerData tid;

			aetam_store_version(slot, vers.v[i], vers.len[i], rowid,
								RelationGetRelid(table_rel));
			if (predicate == NULL || ExecQual(predicate, econtext))
			{
				FormIndexDatum(index_info, slot, estate, values, isnull);
				aetam_rowid_to_tid(rowid, &tid);
				index_insert(index_rel, values, isnull, &tid, table_rel,
							 index_info->ii_Unique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
							 false, index_info);
				state->tups_inserted += 1;
			}
		}
		aetam_free_versions(&vers);
	}
	aetam_scan_end(scan);
	ExecDropSingleTupleTableSlot(slot);
	FreeExecutorState(estate);
	index_info->ii_ExpressionsState = NIL;
	index_info->ii_PredicateState = NULL;
}

/* ---- index entry deletion (btree's simple and bottom-up deletion) ---- */

TransactionId
aetam_index_delete_tuples(Relation rel, TM_IndexDeleteOp *delstate)
{
	GlobalVisState *vistest = GlobalVisTestFor(rel);
	TransactionId latest = InvalidTransactionId;
	ae_bytes	row = {0};

	PG_TRY();
	{
		for (int i = 0; i < delstate->ndeltids; i++)
		{
			TM_IndexDelete *d = &delstate->deltids[i];
			uint64		rowid = aetam_tid_to_rowid(&d->tid);
			bool		dead = true;

			if (aetam_tid_is_valid(&d->tid) && aetam_fetch_row(rel, rowid, &row))
			{
				AetamVersions vers;

				aetam_parse_versions(rel, rowid, &row, &vers);
				for (int j = 0; j < vers.n && dead; j++)
				{
					dead = aetam_version_dead(vers.v[j], vistest);
					if (dead && !(vers.v[j]->t_infomask & (HEAP_XMAX_INVALID | HEAP_XMAX_IS_MULTI)) &&
						TransactionIdFollows(HeapTupleHeaderGetRawXmax(vers.v[j]), latest))
						latest = HeapTupleHeaderGetRawXmax(vers.v[j]);
				}
				aetam_free_versions(&vers);
			}
			delstate->status[d->id].knowndeletable = dead;
		}
	}
	PG_FINALLY();
	{
		ae_bytes_free(&row);
	}
	PG_END_TRY();
	return latest;
}

/* ---- sizes ---- */

/* Virtual blocks (AETAM_ROWS_PER_BLOCK row ids each) below the id counter next_id. */
static uint64
blocks_below(uint64 next_id)
{
	return (next_id + AETAM_ROWS_PER_BLOCK - 1) / AETAM_ROWS_PER_BLOCK;
}

static uint64
virtual_blocks(Relation rel)
{
	ae_btree	tree;
	uint64		next_id;

	aetam_open_tree(rel, &tree);
	AETAM_CHECK(ae_btree_peek_ids(&tree, &next_id), rel);
	return blocks_below(next_id);
}

/* DESIGN §5: blocks are virtual (256 row ids each), so ANALYZE and TID scans agree. */
uint64
aetam_relation_size(Relation rel, ForkNumber forkNumber)
{
	if (forkNumber != MAIN_FORKNUM && forkNumber != InvalidForkNumber)
		return 0;
	return virtual_blocks(rel) * BLCKSZ;
}

void
aetam_relation_estimate_size(Relation rel, int32 *attr_widths, BlockNumber *pages,
							 double *tuples, double *allvisfrac)
{
	BlockNumber curpages;
	BlockNumber relpages = rel->rd_rel->relpages;
	double		reltuples = rel->rd_rel->reltuples;
	double		density;
	ae_btree	tree;
	ae_btree_info info;

	aetam_open_tree(rel, &tree);
	AETAM_CHECK(ae_btree_get_info(&tree, &info), rel);
	curpages = (BlockNumber) Min(blocks_below(info.next_id), (uint64) MaxBlockNumber);
	*allvisfrac = 0;
	if (curpages == 0)
	{
		*pages = 0;
		*tuples = 0;
		return;
	}
	/* rows: from the virtual blocks, which ANALYZE's relpages also counts */
	if (reltuples >= 0 && relpages > 0)
		density = reltuples / (double) relpages;
	else
		density = AETAM_ROWS_PER_BLOCK;
	*tuples = floor(density * curpages + 0.5);

	/*
	 * Pages: what a sequential scan reads, the tree's pages in use, which
	 * row versions and wide values can make many more than the virtual
	 * blocks. A small, hot table (100 rows, many versions each) then costs
	 * what its scan costs, and an index scan wins, as it does for heap.
	 */
	*pages = Max(curpages, (BlockNumber) Min((uint64) (info.npages - Min(info.nfree, info.npages)),
											 (uint64) MaxBlockNumber));
}
