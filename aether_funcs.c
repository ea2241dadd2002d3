/*
 * aether_funcs.c — SQL-callable operator functions (aether--*.sql).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/pg_am.h"
#include "commands/defrem.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/rel.h"

#include "aether.h"
#include "aether/buf.h"
#include "aether/checkpoint.h"

/* Open relid for reading; ERROR unless it is an aether table. */
static Relation
open_aether_table(Oid relid)
{
	Relation	rel = relation_open(relid, AccessShareLock);

	if (rel->rd_rel->relkind != RELKIND_RELATION ||
		rel->rd_rel->relam != get_table_am_oid("aether", false))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an aether table", RelationGetRelationName(rel))));
	return rel;
}

PG_FUNCTION_INFO_V1(aether_check_preloaded);
PG_FUNCTION_INFO_V1(aether_stats);
PG_FUNCTION_INFO_V1(aether_verify);
PG_FUNCTION_INFO_V1(aether_flush);

Datum
aether_check_preloaded(PG_FUNCTION_ARGS)
{
	(void) aetam_engine();		/* ERROR with a hint when not preloaded */
	PG_RETURN_VOID();
}

Datum
aether_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	ae_engine_stats s;
	Datum		values[14];
	bool		nulls[14] = {0};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "aether_stats must return a composite type");
	ae_engine_get_stats(aetam_engine(), &s);
	values[0] = Int64GetDatum(s.pool_pages);
	values[1] = Int64GetDatum(s.pages_used);
	values[2] = Int64GetDatum(s.pages_dirty);
	values[3] = Int64GetDatum((int64) s.reads);
	values[4] = Int64GetDatum((int64) s.writes);
	values[5] = Int64GetDatum((int64) s.hits);
	values[6] = Int64GetDatum((int64) s.evictions);
	values[7] = Int64GetDatum((int64) s.wal_records);
	values[8] = Int64GetDatum((int64) s.wal_bytes);
	values[9] = Int64GetDatum((int64) s.wal_flushes);
	values[10] = Int64GetDatum((int64) s.wal_insert_lsn);
	values[11] = Int64GetDatum((int64) s.wal_flushed_lsn);
	values[12] = Int64GetDatum((int64) s.swizzle_hits);
	values[13] = Int64GetDatum((int64) s.swizzle_misses);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

Datum
aether_verify(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	rel = open_aether_table(relid);
	TupleDesc	desc;
	ae_btree	tree;
	ae_btree_info info;
	uint64		nkeys = 0;
	Datum		values[4];
	bool		nulls[4] = {0};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "aether_verify must return a composite type");
	aetam_open_tree(rel, &tree);
	AETAM_CHECK(ae_btree_verify(&tree, &nkeys), rel);
	AETAM_CHECK(ae_btree_get_info(&tree, &info), rel);
	relation_close(rel, AccessShareLock);
	values[0] = Int64GetDatum((int64) nkeys);
	values[1] = Int32GetDatum((int32) info.height);
	values[2] = Int64GetDatum((int64) info.npages);
	values[3] = Int64GetDatum((int64) info.nfree);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

Datum
aether_flush(PG_FUNCTION_ARGS)
{
	AETAM_CHECK(ae_buf_flush_all(aetam_engine()), NULL);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(aether_checkpoint);
PG_FUNCTION_INFO_V1(aether_wal_stats);

/* Take a checkpoint now (what the background worker does on its schedule); returns its redo LSN. */
Datum
aether_checkpoint(PG_FUNCTION_ARGS)
{
	ae_checkpoint_info ci;

	AETAM_CHECK(ae_checkpoint(aetam_engine(), false, &ci), NULL);
	PG_RETURN_INT64((int64) ci.redo_lsn);
}

/* The log's counters, for the pg_stat_aether_wal view. */
Datum
aether_wal_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	ae_engine_stats s;
	Datum		values[15];
	bool		nulls[15] = {0};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "aether_wal_stats must return a composite type");
	ae_engine_get_stats(aetam_engine(), &s);
	values[0] = Int64GetDatum((int64) s.wal_records);
	values[1] = Int64GetDatum((int64) s.wal_bytes);
	values[2] = Int64GetDatum((int64) s.wal_page_images);
	values[3] = Int64GetDatum((int64) s.wal_flush_requests);
	values[4] = Int64GetDatum((int64) s.wal_flushes);
	if (s.wal_flushes > 0)
		values[5] = Float8GetDatum((double) s.wal_flush_requests / (double) s.wal_flushes);
	else
		nulls[5] = true;
	values[6] = Int64GetDatum((int64) s.wal_insert_lsn);
	values[7] = Int64GetDatum((int64) s.wal_flushed_lsn);
	values[8] = Int64GetDatum((int64) s.checkpoints);
	if (s.checkpoints > 0)
	{
		values[9] = TimestampTzGetDatum(time_t_to_timestamptz((pg_time_t) s.checkpoint_time));
		values[10] = Int64GetDatum((int64) s.checkpoint_redo_lsn);
	}
	else
		nulls[9] = nulls[10] = true;
	values[11] = Int64GetDatum((int64) aetam_commit_count_aether_only());
	values[12] = Int64GetDatum((int64) aetam_log_segments_recycled());
	values[13] = Int64GetDatum((int64) aetam_commit_flushes_for_pruning());
	values[14] = Int64GetDatum((int64) aetam_commit_flushes_for_commits());
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

PG_FUNCTION_INFO_V1(aether_versions);

/*
 * Rows and stored row versions of an aether table, counted without regard to
 * snapshots: shows whether old versions are being pruned; and the versions
 * not marked committed (nor frozen, nor invalid), whose readers ask clog.
 */
Datum
aether_versions(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	rel = open_aether_table(relid);
	TupleDesc	desc;
	TableScanDesc scan;
	uint64		rowid;
	ae_bytes	row;
	int64		nrows = 0, nversions = 0, nunmarked = 0;
	Datum		values[3];
	bool		nulls[3] = {0};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "aether_versions must return a composite type");
	scan = aetam_scan_begin(rel, SnapshotAny, 0, NULL, NULL, SO_TYPE_SEQSCAN);
	while (aetam_scan_next_raw(scan, &rowid, &row))
	{
		AetamVersions vers;

		aetam_parse_versions(rel, rowid, &row, &vers);
		nrows++;
		nversions += vers.n;
		for (int i = 0; i < vers.n; i++)
			if (!HeapTupleHeaderXminCommitted(vers.v[i]) && !HeapTupleHeaderXminInvalid(vers.v[i]))
				nunmarked++;
		aetam_free_versions(&vers);
	}
	aetam_scan_end(scan);
	relation_close(rel, AccessShareLock);
	values[0] = Int64GetDatum(nrows);
	values[1] = Int64GetDatum(nversions);
	values[2] = Int64GetDatum(nunmarked);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
