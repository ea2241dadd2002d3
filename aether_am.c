/*
 * aether_am.c — the table access method routine: PostgreSQL's entry point
 * into Aether. Each callback lives in the file for its group:
 *   aether_scan.c    scans and fetches
 *   aether_modify.c  insert, update, delete, row locks
 *   aether_ddl.c     storage lifecycle, VACUUM, index builds, sizes
 */
#include "postgres.h"

#include "access/tableam.h"
#include "fmgr.h"

#include "aether.h"

static void
aetam_finish_bulk_insert(Relation rel, int options)
{
}

static bool
aetam_relation_needs_toast_table(Relation rel)
{
	return false;				/* large values go to Aether's overflow pages */
}

static const TableAmRoutine aether_routine = {
	.type = T_TableAmRoutine,

	.slot_callbacks = aetam_slot_callbacks,

	.scan_begin = aetam_scan_begin,
	.scan_end = aetam_scan_end,
	.scan_rescan = aetam_scan_rescan,
	.scan_getnextslot = aetam_scan_getnextslot,

	.scan_set_tidrange = aetam_scan_set_tidrange,
	.scan_getnextslot_tidrange = aetam_scan_getnextslot_tidrange,

	.parallelscan_estimate = aetam_parallelscan_estimate,
	.parallelscan_initialize = aetam_parallelscan_initialize,
	.parallelscan_reinitialize = aetam_parallelscan_reinitialize,

	.index_fetch_begin = aetam_index_fetch_begin,
	.index_fetch_reset = aetam_index_fetch_reset,
	.index_fetch_end = aetam_index_fetch_end,
	.index_fetch_tuple = aetam_index_fetch_tuple,

	.tuple_insert = aetam_tuple_insert,
	.tuple_insert_speculative = aetam_tuple_insert_speculative,
	.tuple_complete_speculative = aetam_tuple_complete_speculative,
	.multi_insert = aetam_multi_insert,
	.tuple_delete = aetam_tuple_delete,
	.tuple_update = aetam_tuple_update,
	.tuple_lock = aetam_tuple_lock,
	.finish_bulk_insert = aetam_finish_bulk_insert,

	.tuple_fetch_row_version = aetam_tuple_fetch_row_version,
	.tuple_get_latest_tid = aetam_tuple_get_latest_tid,
	.tuple_tid_valid = aetam_tuple_tid_valid,
	.tuple_satisfies_snapshot = aetam_tuple_satisfies_snapshot,
	.index_delete_tuples = aetam_index_delete_tuples,

	.relation_set_new_filenode = aetam_relation_set_new_filenode,
	.relation_nontransactional_truncate = aetam_relation_nontransactional_truncate,
	.relation_copy_data = aetam_relation_copy_data,
	.relation_copy_for_cluster = aetam_relation_copy_for_cluster,
	.relation_vacuum = aetam_relation_vacuum,
	.scan_analyze_next_block = aetam_scan_analyze_next_block,
	.scan_analyze_next_tuple = aetam_scan_analyze_next_tuple,
	.index_build_range_scan = aetam_index_build_range_scan,
	.index_validate_scan = aetam_index_validate_scan,

	.relation_size = aetam_relation_size,
	.relation_needs_toast_table = aetam_relation_needs_toast_table,

	.relation_estimate_size = aetam_relation_estimate_size,

	.scan_bitmap_next_block = aetam_scan_bitmap_next_block,
	.scan_bitmap_next_tuple = aetam_scan_bitmap_next_tuple,
	.scan_sample_next_block = aetam_scan_sample_next_block,
	.scan_sample_next_tuple = aetam_scan_sample_next_tuple
};

PG_FUNCTION_INFO_V1(aether_tableam_handler);

Datum
aether_tableam_handler(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(&aether_routine);
}
