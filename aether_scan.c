/*
 * aether_scan.c — reading Aether tables: sequential, TID-range, parallel,
 * bitmap and ANALYZE scans, index fetches and single-row fetches.
 *
 * A scan walks row ids in order with an engine cursor over a range of the
 * table's B+tree. The cursor copies a leaf at a time into process memory, so
 * nothing is pinned between calls. Each row's version list yields the one
 * version the snapshot sees (aether_visibility.c rule 2).
 */
#include "postgres.h"

#include "access/relscan.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/tidbitmap.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/predicate.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "aether.h"
#include "aether/buf.h"

#define PARALLEL_CHUNK_ROWS ((uint64) 64 * AETAM_ROWS_PER_BLOCK)

typedef struct AetamParallelScan
{
	ParallelTableScanDescData base;
	pg_atomic_uint64 next;		/* next row id to hand out */
	uint64		end;			/* row ids at or above were reserved after the scan began */
} AetamParallelScan;

typedef struct AetamScan
{
	TableScanDescData base;
	MemoryContext cxt;			/* owns the cursor's engine buffers */
	ae_btree	tree;
	ae_btree_cursor cursor;
	bool		cursor_open;
	ScanDirection dir;
	uint64		lo, hi;			/* row id range [lo, hi) of this scan */
	bool		have_pos;		/* pos = last row id returned (for direction changes) */
	uint64		pos;
	/* bitmap scans: which offsets of the current block are wanted */
	uint64		bitmap_words[AETAM_ROWS_PER_BLOCK / 64];
	/* ANALYZE: versions of the current row not yet classified */
	AetamVersions an_vers;
	int			an_next;
	uint64		an_rowid;
	HeapTupleData an_tuple;		/* the sampled version, handed to the slot without a copy */
} AetamScan;

const TupleTableSlotOps *
aetam_slot_callbacks(Relation rel)
{
	return &TTSOpsHeapTuple;
}

/* ---- cursor over a row id range ---- */

static void
close_cursor(AetamScan *scan)
{
	if (scan->cursor_open)
		ae_btree_cursor_close(&scan->cursor);
	scan->cursor_open = false;
}

static void
scan_cleanup_callback(void *arg)
{
	AetamScan  *scan = arg;

	close_cursor(scan);
}

/* Open the cursor on [lo, hi) ∩ the side of pos that dir asks for. */
static void
open_cursor(AetamScan *scan, ScanDirection dir)
{
	unsigned char lo[8], hi[8];
	uint64		from = scan->lo, to = scan->hi;
	bool		lo_incl = true;
	bool		hi_incl = false;
	ae_status	st;

	close_cursor(scan);
	if (scan->have_pos)
	{
		if (ScanDirectionIsForward(dir))
		{
			from = Max(scan->pos, scan->lo);
			lo_incl = scan->pos < scan->lo;
		}
		else
			to = Min(scan->pos, scan->hi);
	}
	ae_row_key(from, lo);
	ae_row_key(to, hi);
	st = ae_btree_cursor_open(&scan->cursor, &scan->tree,
							  ScanDirectionIsForward(dir) ? AE_FORWARD : AE_BACKWARD,
							  (scan->base.rs_flags & SO_TYPE_SEQSCAN) ? AE_BUF_SCAN : 0,
							  lo, 8, lo_incl, to == UINT64_MAX ? NULL : hi, 8, hi_incl);
	if (st != AE_OK)
		aetam_raise(st, scan->base.rs_rd);
	scan->cursor_open = true;
	scan->dir = dir;
}

/* Next row of the open cursor: false at the end of the range. */
static bool
next_row(AetamScan *scan, uint64 *rowid, ae_bytes *row)
{
	const void *key, *val;
	size_t		klen, vlen;
	ae_status	st;

	CHECK_FOR_INTERRUPTS();
	st = ae_btree_cursor_next(&scan->cursor, &key, &klen, &val, &vlen);
	if (st == AE_NOT_FOUND)
		return false;
	if (st != AE_OK)
		aetam_raise(st, scan->base.rs_rd);
	if (klen != 8)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("aether: relation \"%s\" has a row key of %zu bytes",
						RelationGetRelationName(scan->base.rs_rd), klen)));
	*rowid = ae_row_key_decode(key);
	row->data = (char *) val;
	row->len = vlen;
	row->cap = 0;
	return true;
}

/* ---- serializable snapshot isolation: rw-conflicts out of what we read ---- */

static void
conflict_out(Relation rel, AetamVersions *vers, int visible, Snapshot snapshot)
{
	TransactionId xid = InvalidTransactionId;

	if (!IsolationIsSerializable() || !IsMVCCSnapshot(snapshot))
		return;
	if (visible > 0 || (visible < 0 && vers->n > 0))
		xid = HeapTupleHeaderGetRawXmin(vers->v[0]);	/* a write we did not see */
	else if (visible == 0 && !(vers->v[0]->t_infomask & HEAP_XMAX_INVALID) &&
			 !HEAP_XMAX_IS_LOCKED_ONLY(vers->v[0]->t_infomask))
		xid = HeapTupleHeaderGetRawXmax(vers->v[0]);	/* a delete we did not see */
	if (!TransactionIdIsNormal(xid) || TransactionIdPrecedes(xid, TransactionXmin) ||
		TransactionIdIsCurrentTransactionId(xid))
		return;
	CheckForSerializableConflictOut(rel, xid, snapshot);
}

/*
 * Put the version of the row the snapshot sees into slot; false if none.
 * Serializable transactions record the rw-conflict of what they did not
 * see. *xmin (optional) receives the stored version's xmin. *all_dead
 * (optional) is set when no version is visible and every one is dead to
 * every snapshot (index fetches report that to the index AM).
 */
static bool
store_visible(Relation rel, uint64 rowid, const ae_bytes *row, Snapshot snapshot,
			  TupleTableSlot *slot, TransactionId *xmin, bool *all_dead)
{
	AetamVersions vers;
	AetamHeaders h;
	int			i;
	HeapTuple	tup = aetam_single_version_tuple(rel, rowid, row, slot->tts_mcxt);

	if (all_dead)
		*all_dead = false;
	if (tup)
	{
		/* the common case, one version: built once, straight into the slot's memory */
		vers.n = 1;
		vers.v = &tup->t_data;
		vers.len = &tup->t_len;
		i = aetam_visible_version(rel, &vers, snapshot);
		conflict_out(rel, &vers, i, snapshot);
		if (i < 0)
		{
			if (all_dead)
				*all_dead = aetam_version_dead(tup->t_data, GlobalVisTestFor(rel));
			pfree(tup);
			return false;
		}
		if (xmin)
			*xmin = HeapTupleHeaderGetRawXmin(tup->t_data);
		aetam_store_tuple(slot, tup);
		return true;
	}
	/* several versions: judged on their headers, only the visible one is built */
	aetam_parse_headers(rel, rowid, row, &h);
	i = aetam_visible_version(rel, &h.vers, snapshot);
	conflict_out(rel, &h.vers, i, snapshot);
	if (i >= 0)
	{
		if (xmin)
			*xmin = HeapTupleHeaderGetRawXmin(h.vers.v[i]);
		aetam_store_tuple(slot, aetam_headers_tuple(rel, &h, i, slot->tts_mcxt));
	}
	else if (all_dead)
	{
		GlobalVisState *vistest = GlobalVisTestFor(rel);

		*all_dead = true;
		for (int j = 0; j < h.vers.n && *all_dead; j++)
			*all_dead = aetam_version_dead(h.vers.v[j], vistest);
	}
	aetam_free_headers(&h);
	return i >= 0;
}

/* ---- scan lifecycle ---- */

TableScanDesc
aetam_scan_begin(Relation rel, Snapshot snapshot, int nkeys, struct ScanKeyData *key,
				 ParallelTableScanDesc pscan, uint32 flags)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "aether scan",
											  ALLOCSET_SMALL_SIZES);
	AetamScan  *scan = MemoryContextAllocZero(cxt, sizeof(AetamScan));
	MemoryContextCallback *cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));

	if (flags & SO_TYPE_SAMPLESCAN)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("TABLESAMPLE is not supported on aether table \"%s\" yet",
						RelationGetRelationName(rel))));
	scan->base.rs_rd = rel;
	scan->base.rs_snapshot = snapshot;
	scan->base.rs_nkeys = nkeys;
	scan->base.rs_key = key;
	scan->base.rs_flags = flags;
	scan->base.rs_parallel = pscan;
	scan->cxt = cxt;
	scan->lo = 0;
	scan->hi = UINT64_MAX;
	scan->dir = ForwardScanDirection;
	aetam_open_tree(rel, &scan->tree);
	cb->func = scan_cleanup_callback;
	cb->arg = scan;
	MemoryContextRegisterResetCallback(cxt, cb);

	if ((flags & SO_TYPE_SEQSCAN) && snapshot && IsMVCCSnapshot(snapshot))
		PredicateLockRelation(rel, snapshot);
	if (flags & SO_TYPE_SEQSCAN)
		pgstat_count_heap_scan(rel);
	if (pscan)
		scan->hi = 0;			/* empty until the first chunk is taken */
	return &scan->base;
}

void
aetam_scan_end(TableScanDesc sscan)
{
	AetamScan  *scan = (AetamScan *) sscan;

	if (scan->base.rs_flags & SO_TEMP_SNAPSHOT)
		UnregisterSnapshot(scan->base.rs_snapshot);
	MemoryContextDelete(scan->cxt);	/* the callback closes the cursor */
}

void
aetam_scan_rescan(TableScanDesc sscan, struct ScanKeyData *key, bool set_params,
				  bool allow_strat, bool allow_sync, bool allow_pagemode)
{
	AetamScan  *scan = (AetamScan *) sscan;

	close_cursor(scan);
	scan->have_pos = false;
	if (scan->base.rs_parallel)
		scan->lo = scan->hi = 0;
}

/* Take the next chunk of a parallel scan; false when all are taken. */
static bool
next_parallel_chunk(AetamScan *scan)
{
	AetamParallelScan *ps = (AetamParallelScan *) scan->base.rs_parallel;
	uint64		start = pg_atomic_fetch_add_u64(&ps->next, PARALLEL_CHUNK_ROWS);

	if (start >= ps->end)
		return false;
	scan->lo = start;
	scan->hi = Min(start + PARALLEL_CHUNK_ROWS, ps->end);
	scan->have_pos = false;
	close_cursor(scan);
	return true;
}

/* The next row in dir that the snapshot sees, within [lo, hi). */
static bool
getnext(AetamScan *scan, ScanDirection dir, TupleTableSlot *slot)
{
	Relation	rel = scan->base.rs_rd;
	uint64		rowid;
	ae_bytes	row;

	if (!scan->cursor_open || scan->dir != dir)
		open_cursor(scan, dir);
	for (;;)
	{
		if (!next_row(scan, &rowid, &row))
		{
			if (scan->base.rs_parallel && next_parallel_chunk(scan))
			{
				open_cursor(scan, dir);
				continue;
			}
			/* at the end: a scan in the other direction starts from this end */
			close_cursor(scan);
			scan->have_pos = false;
			ExecClearTuple(slot);
			return false;
		}
		scan->have_pos = true;
		scan->pos = rowid;
		if (store_visible(rel, rowid, &row, scan->base.rs_snapshot, slot, NULL, NULL))
		{
			pgstat_count_heap_getnext(rel);
			return true;
		}
	}
}

bool
aetam_scan_getnextslot(TableScanDesc sscan, ScanDirection direction, TupleTableSlot *slot)
{
	return getnext((AetamScan *) sscan, direction, slot);
}

/* Row id of a TID bound, clamping offsets outside 1..256. */
static uint64
tid_bound(ItemPointer tid, bool upper)
{
	uint64		blk = ItemPointerGetBlockNumberNoCheck(tid);
	OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(tid);

	if (off < 1)
		return upper ? (blk * AETAM_ROWS_PER_BLOCK) : blk * AETAM_ROWS_PER_BLOCK;
	if (off > AETAM_ROWS_PER_BLOCK)
		return (blk + 1) * AETAM_ROWS_PER_BLOCK;
	return blk * AETAM_ROWS_PER_BLOCK + off - 1 + (upper ? 1 : 0);
}

void
aetam_scan_set_tidrange(TableScanDesc sscan, ItemPointer mintid, ItemPointer maxtid)
{
	AetamScan  *scan = (AetamScan *) sscan;

	close_cursor(scan);
	scan->have_pos = false;
	scan->lo = tid_bound(mintid, false);
	scan->hi = tid_bound(maxtid, true);
	if (scan->hi < scan->lo)
		scan->hi = scan->lo;
}

bool
aetam_scan_getnextslot_tidrange(TableScanDesc sscan, ScanDirection direction,
								TupleTableSlot *slot)
{
	return getnext((AetamScan *) sscan, direction, slot);
}

/* ---- parallel scans ---- */

Size
aetam_parallelscan_estimate(Relation rel)
{
	return sizeof(AetamParallelScan);
}

Size
aetam_parallelscan_initialize(Relation rel, ParallelTableScanDesc pscan)
{
	AetamParallelScan *ps = (AetamParallelScan *) pscan;
	ae_btree	tree;
	uint64		next_id;

	aetam_open_tree(rel, &tree);
	AETAM_CHECK(ae_btree_peek_ids(&tree, &next_id), rel);
	ps->base.phs_relid = RelationGetRelid(rel);
	ps->base.phs_syncscan = false;
	pg_atomic_init_u64(&ps->next, 0);
	ps->end = next_id;
	return sizeof(AetamParallelScan);
}

void
aetam_parallelscan_reinitialize(Relation rel, ParallelTableScanDesc pscan)
{
	AetamParallelScan *ps = (AetamParallelScan *) pscan;

	pg_atomic_write_u64(&ps->next, 0);
}

/* ---- fetching by TID ---- */

typedef struct AetamIndexFetch
{
	IndexFetchTableData base;
	ae_bytes	row;
} AetamIndexFetch;

struct IndexFetchTableData *
aetam_index_fetch_begin(Relation rel)
{
	AetamIndexFetch *f = palloc0(sizeof(AetamIndexFetch));

	f->base.rel = rel;
	aetam_bytes_in_context(&f->row, CurrentMemoryContext);
	return &f->base;
}

void
aetam_index_fetch_reset(struct IndexFetchTableData *data)
{
}

void
aetam_index_fetch_end(struct IndexFetchTableData *data)
{
	AetamIndexFetch *f = (AetamIndexFetch *) data;

	ae_bytes_free(&f->row);		/* the context callback then finds nothing to free */
}

/*
 * One fetch per TID: a row id holds all its versions, so there is never a
 * chain to continue (*call_again = false). *all_dead tells the index AM that
 * no snapshot can see the row any more (it may mark its entry dead).
 */
bool
aetam_index_fetch_tuple(struct IndexFetchTableData *data, ItemPointer tid,
						Snapshot snapshot, TupleTableSlot *slot,
						bool *call_again, bool *all_dead)
{
	AetamIndexFetch *f = (AetamIndexFetch *) data;
	Relation	rel = f->base.rel;
	uint64		rowid = aetam_tid_to_rowid(tid);
	TransactionId xmin;

	*call_again = false;
	if (all_dead)
		*all_dead = false;
	if (!aetam_tid_is_valid(tid) || !aetam_fetch_row(rel, rowid, &f->row))
	{
		if (all_dead)
			*all_dead = true;
		return false;
	}
	if (!store_visible(rel, rowid, &f->row, snapshot, slot, &xmin, all_dead))
		return false;
	PredicateLockTID(rel, tid, snapshot, xmin);
	return true;
}

bool
aetam_tuple_fetch_row_version(Relation rel, ItemPointer tid, Snapshot snapshot,
							  TupleTableSlot *slot)
{
	ae_bytes	row;
	bool		found = false;

	if (!aetam_tid_is_valid(tid))
		return false;
	memset(&row, 0, sizeof(row));
	PG_TRY();
	{
		if (aetam_fetch_row(rel, aetam_tid_to_rowid(tid), &row))
			found = store_visible(rel, aetam_tid_to_rowid(tid), &row, snapshot, slot, NULL, NULL);
	}
	PG_FINALLY();
	{
		ae_bytes_free(&row);
	}
	PG_END_TRY();
	return found;
}

bool
aetam_tuple_tid_valid(TableScanDesc sscan, ItemPointer tid)
{
	AetamScan  *scan = (AetamScan *) sscan;
	uint64		next_id;

	if (!aetam_tid_is_valid(tid))
		return false;
	AETAM_CHECK(ae_btree_peek_ids(&scan->tree, &next_id), sscan->rs_rd);
	/* row ids start at 1 (the id counter of a new tree), so (0,1) is never a row */
	return aetam_tid_to_rowid(tid) >= 1 && aetam_tid_to_rowid(tid) < next_id;
}

/* Follow an updated row to its newest row id (currtid_byrelname and friends). */
void
aetam_tuple_get_latest_tid(TableScanDesc sscan, ItemPointer tid)
{
	Relation	rel = sscan->rs_rd;
	ae_bytes	row;

	memset(&row, 0, sizeof(row));
	PG_TRY();
	{
		for (int hops = 0; hops < 1000; hops++)
		{
			AetamVersions vers;
			HeapTupleHeader t;
			int			b;

			if (!aetam_fetch_row(rel, aetam_tid_to_rowid(tid), &row))
				break;
			aetam_parse_versions(rel, aetam_tid_to_rowid(tid), &row, &vers);
			b = aetam_base_version(&vers);
			t = b >= 0 ? vers.v[b] : NULL;
			if (t == NULL || (t->t_infomask & HEAP_XMAX_INVALID) ||
				HEAP_XMAX_IS_LOCKED_ONLY(t->t_infomask) ||
				ItemPointerEquals(&t->t_ctid, tid) || !aetam_tid_is_valid(&t->t_ctid))
			{
				aetam_free_versions(&vers);
				break;
			}
			*tid = t->t_ctid;
			aetam_free_versions(&vers);
		}
	}
	PG_FINALLY();
	{
		ae_bytes_free(&row);
	}
	PG_END_TRY();
}

bool
aetam_tuple_satisfies_snapshot(Relation rel, TupleTableSlot *slot, Snapshot snapshot)
{
	bool		shouldFree;
	HeapTuple	tup = ExecFetchSlotHeapTuple(slot, false, &shouldFree);
	bool		res = aetam_version_visible(rel, tup->t_data, snapshot);

	if (shouldFree)
		heap_freetuple(tup);
	return res;
}

/* ---- bitmap scans: a TID bitmap's block is a range of 256 row ids ---- */

bool
aetam_scan_bitmap_next_block(TableScanDesc sscan, struct TBMIterateResult *tbmres)
{
	AetamScan  *scan = (AetamScan *) sscan;

	memset(scan->bitmap_words, 0, sizeof(scan->bitmap_words));
	if (tbmres->ntuples < 0)
		memset(scan->bitmap_words, 0xFF, sizeof(scan->bitmap_words));
	else
		for (int i = 0; i < tbmres->ntuples; i++)
		{
			int			off = tbmres->offsets[i] - 1;

			if (off >= 0 && off < AETAM_ROWS_PER_BLOCK)
				scan->bitmap_words[off / 64] |= UINT64CONST(1) << (off % 64);
		}
	scan->lo = (uint64) tbmres->blockno * AETAM_ROWS_PER_BLOCK;
	scan->hi = scan->lo + AETAM_ROWS_PER_BLOCK;
	scan->have_pos = false;
	open_cursor(scan, ForwardScanDirection);
	return true;
}

bool
aetam_scan_bitmap_next_tuple(TableScanDesc sscan, struct TBMIterateResult *tbmres,
							 TupleTableSlot *slot)
{
	AetamScan  *scan = (AetamScan *) sscan;
	uint64		rowid;
	ae_bytes	row;

	while (next_row(scan, &rowid, &row))
	{
		int			off = (int) (rowid - scan->lo);

		if (!(scan->bitmap_words[off / 64] & (UINT64CONST(1) << (off % 64))))
			continue;
		if (store_visible(sscan->rs_rd, rowid, &row, sscan->rs_snapshot, slot, NULL, NULL))
		{
			pgstat_count_heap_fetch(sscan->rs_rd);
			return true;
		}
	}
	return false;
}

/* ---- ANALYZE: sample virtual blocks, classify every version as heap does ---- */

bool
aetam_scan_analyze_next_block(TableScanDesc sscan, BlockNumber blockno,
							  BufferAccessStrategy bstrategy)
{
	AetamScan  *scan = (AetamScan *) sscan;

	scan->lo = (uint64) blockno * AETAM_ROWS_PER_BLOCK;
	scan->hi = scan->lo + AETAM_ROWS_PER_BLOCK;
	scan->have_pos = false;
	if (scan->an_vers.n > 0)	/* the slot was cleared when the last block ended */
		aetam_free_versions(&scan->an_vers);
	scan->an_next = 0;
	open_cursor(scan, ForwardScanDirection);
	return true;
}

bool
aetam_scan_analyze_next_tuple(TableScanDesc sscan, TransactionId OldestXmin,
							  double *liverows, double *deadrows, TupleTableSlot *slot)
{
	AetamScan  *scan = (AetamScan *) sscan;
	Relation	rel = sscan->rs_rd;

	for (;;)
	{
		while (scan->an_next < scan->an_vers.n)
		{
			HeapTupleHeader t = scan->an_vers.v[scan->an_next];
			uint32		len = scan->an_vers.len[scan->an_next++];
			bool		sample = false;

			switch (aetam_version_vacuum_status(t, OldestXmin))
			{
				case HEAPTUPLE_LIVE:
					sample = true;
					*liverows += 1;
					break;
				case HEAPTUPLE_DEAD:
				case HEAPTUPLE_RECENTLY_DEAD:
					*deadrows += 1;
					break;
				case HEAPTUPLE_INSERT_IN_PROGRESS:
					if (TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetRawXmin(t)))
					{
						sample = true;
						*liverows += 1;
					}
					break;
				case HEAPTUPLE_DELETE_IN_PROGRESS:
					if (TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetRawXmax(t)))
						*deadrows += 1;
					else
					{
						sample = true;
						*liverows += 1;
					}
					break;
			}
			if (sample)
			{
				/*
				 * The version's image lives until the next row is parsed,
				 * and ANALYZE copies what it keeps before asking again.
				 */
				scan->an_tuple.t_data = t;
				scan->an_tuple.t_len = len;
				scan->an_tuple.t_tableOid = RelationGetRelid(rel);
				aetam_rowid_to_tid(scan->an_rowid, &scan->an_tuple.t_self);
				if (TTS_IS_HEAPTUPLE(slot))
					ExecStoreHeapTuple(&scan->an_tuple, slot, false);
				else
					aetam_store_version(slot, t, len, scan->an_rowid, RelationGetRelid(rel));
				return true;
			}
		}
		{
			ae_bytes	row;

			if (!next_row(scan, &scan->an_rowid, &row))
				break;
			ExecClearTuple(slot);	/* it may point into the versions freed here */
			if (scan->an_vers.n > 0)
				aetam_free_versions(&scan->an_vers);
			/* the images are copies: the cursor's row need not outlive this */
			aetam_parse_versions(rel, scan->an_rowid, &row, &scan->an_vers);
			scan->an_next = 0;
		}
	}
	ExecClearTuple(slot);
	return false;
}

bool
aetam_scan_sample_next_block(TableScanDesc scan, struct SampleScanState *scanstate)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("TABLESAMPLE is not supported on aether tables yet")));
	return false;
}

bool
aetam_scan_sample_next_tuple(TableScanDesc scan, struct SampleScanState *scanstate,
							 TupleTableSlot *slot)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("TABLESAMPLE is not supported on aether tables yet")));
	return false;
}

/* ---- raw row iteration for VACUUM, index builds and rewrites ---- */

/* Restrict the scan to row ids [lo, hi). */
void
aetam_scan_set_range(TableScanDesc sscan, uint64 lo, uint64 hi)
{
	AetamScan  *scan = (AetamScan *) sscan;

	close_cursor(scan);
	scan->have_pos = false;
	scan->lo = lo;
	scan->hi = hi;
}

/*
 * Next row id and its whole version list, forward, ignoring the snapshot.
 * row points into the cursor: valid until the next call.
 */
bool
aetam_scan_next_raw(TableScanDesc sscan, uint64 *rowid, ae_bytes *row)
{
	AetamScan  *scan = (AetamScan *) sscan;

	if (!scan->cursor_open)
		open_cursor(scan, ForwardScanDirection);
	for (;;)
	{
		if (next_row(scan, rowid, row))
			return true;
		if (!(scan->base.rs_parallel && next_parallel_chunk(scan)))
			return false;
		open_cursor(scan, ForwardScanDirection);
	}
}
