/*
 * aether.h — declarations shared by the PostgreSQL glue files (aether_*.c).
 *
 * The glue translates: PostgreSQL callbacks become engine calls, engine
 * statuses become ereport()s (aether_error.c is the only place that maps a
 * status to a SQLSTATE). No glue function holds an engine pin or latch: every
 * engine call returns with none held, so an ereport() between calls is safe.
 */
#ifndef AETHER_GLUE_H
#define AETHER_GLUE_H

#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "storage/itemptr.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/snapshot.h"

#include "aether/engine.h"
#include "aether/btree.h"
#include "aether/row.h"

/* Row ids and TIDs (DESIGN §5): block = rowid / 256, offset = rowid % 256 + 1 */
#define AETAM_ROWS_PER_BLOCK 256

static inline void
aetam_rowid_to_tid(uint64 rowid, ItemPointer tid)
{
	ItemPointerSet(tid, (BlockNumber) (rowid / AETAM_ROWS_PER_BLOCK),
				   (OffsetNumber) (rowid % AETAM_ROWS_PER_BLOCK + 1));
}

static inline uint64
aetam_tid_to_rowid(ItemPointer tid)
{
	return (uint64) ItemPointerGetBlockNumberNoCheck(tid) * AETAM_ROWS_PER_BLOCK +
		(ItemPointerGetOffsetNumberNoCheck(tid) - 1);
}

static inline bool
aetam_tid_is_valid(ItemPointer tid)
{
	OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(tid);

	return off >= 1 && off <= AETAM_ROWS_PER_BLOCK &&
		ItemPointerGetBlockNumberNoCheck(tid) != InvalidBlockNumber;
}

/*
 * aether_shmem.c: the engine of this process (ERROR with a hint if not
 * preloaded). aetam_engine() first waits for crash recovery to finish
 * (ERROR if it failed); aetam_engine_nowait() does not, for callers that
 * only forget cached pages (transaction end) and for the recovery itself.
 */
extern ae_engine *aetam_engine(void);
extern ae_engine *aetam_engine_nowait(void);
extern bool aetam_is_loaded(void);
extern bool aetam_recovery_is_done(void);
extern void aetam_recovery_begin(void);
extern void aetam_recovery_done(void);
extern void aetam_recovery_failed(const char *message);
extern void aetam_gate_set_xid_limit(uint64 limit, const uint64 *restored, int n);
extern void aetam_gate_is_worker(void);
extern void aetam_gate_check_commit(void);
extern void aetam_gate_check_abort(void);
extern int	aetam_pool_pages;
extern int	aetam_total_procs(void);

/* aether_host.c */
extern void aetam_host_init(ae_host *host);
extern ae_file_id aetam_file_id(const RelFileNode *rnode);
extern RelFileNode aetam_rnode(ae_file_id f);
extern void aetam_log_dir_ensure(void);
extern void aetam_log_file_name(uint64 lsn, char *buf, size_t size);
extern void aetam_log_preallocate(uint64 lsn);
extern bool aetam_log_space_ready(uint64 lsn);
extern uint64 aetam_log_segments_recycled(void);
extern Size aetam_host_shmem_size(void);
extern void aetam_host_shmem_init(void);

/* aether_undo.c: rows of rolled-back work are removed by the background worker */
extern void aetam_undo_note(Relation rel, uint64 first, int n);
extern void aetam_undo_xact_end(bool abort, bool subxact);
extern Size aetam_undo_shmem_size(void);
extern void aetam_undo_shmem_init(void);
extern uint64 aetam_undo_run(ae_engine *eng);
extern void aetam_undo_note_inserting(Relation rel, uint64 first);
extern ae_status aetam_undo_checkpoint_prepare(ae_engine *eng);
extern ae_status aetam_undo_redo_record(const void *data, size_t len);
extern uint64 aetam_undo_queue_losers(void);

/* Host record types in Aether's log (engine AE_RMGR_HOST) */
#define AETAM_REC_COMMIT	1	/* aether_commit.c: a commit through Aether's log */
#define AETAM_REC_INSERTING	2	/* aether_undo.c: where a transaction began inserting */
#define AETAM_REC_ABORT		3	/* aether_commit.c: a logged commit failed after all */

/* aether_commit.c: commits of transactions that wrote only Aether data */
extern Size aetam_commit_shmem_size(void);
extern void aetam_commit_shmem_init(void);
extern bool aetam_commit_fast(ae_engine *eng);
extern int	aetam_cmp_u64(const void *a, const void *b);
extern FullTransactionId aetam_full_subxid(FullTransactionId top, TransactionId sub);
extern void aetam_commit_xact_end(bool abort);
extern bool aetam_commit_known_durable(TransactionId xid);
extern uint64 aetam_commit_count_aether_only(void);
extern void aetam_flush_pg_wal(void);
extern void aetam_commit_announce_async(void);
extern void aetam_commit_note_async(bool committed);
extern bool aetam_commit_flush_soon(TransactionId xid);
struct Latch;
extern void aetam_commit_set_worker(struct Latch *latch);
extern bool aetam_commit_flush_wanted(void);
extern uint64 aetam_commit_flushes_for_pruning(void);
extern uint64 aetam_commit_flushes_for_commits(void);
extern ae_status aetam_commit_redo_record(const void *data, size_t len);
extern ae_status aetam_commit_redo_abort(const void *data, size_t len);
extern void aetam_commit_init(void);
extern bool aetam_array_grow(void **arr, uint32 *cap, uint32 need, Size esize);
extern ae_status aetam_commit_checkpoint_prepare(uint64 redo_lsn);
extern void aetam_commit_restore(uint64 note);

/* aether_error.c: raise the engine's last error as a PostgreSQL ERROR */
extern void aetam_raise(ae_status st, Relation rel) pg_attribute_noreturn();
#define AETAM_CHECK(call, rel) \
	do { ae_status st__ = (call); if (st__ != AE_OK) aetam_raise(st__, (rel)); } while (0)

/* aether_table.c: the table's B+tree and row ids */
extern void aetam_open_tree(Relation rel, ae_btree *tree);
extern uint64 aetam_next_rowid(Relation rel, int nwanted);
extern bool aetam_fetch_row(Relation rel, uint64 rowid, ae_bytes *out);
extern void aetam_bytes_in_context(ae_bytes *bytes, MemoryContext cxt);
extern void aetam_rowid_cache_reset(void);

/* aether_visibility.c */
/* A parsed row: each version rebuilt as a heap tuple image (all palloc'd). */
typedef struct AetamVersions
{
	int			n;
	HeapTupleHeader *v;
	uint32	   *len;
} AetamVersions;

extern void aetam_parse_versions(Relation rel, uint64 rowid, const ae_bytes *row, AetamVersions *out);
extern void aetam_free_versions(AetamVersions *vers);
extern HeapTuple aetam_single_version_tuple(Relation rel, uint64 rowid, const ae_bytes *row,
											MemoryContext cxt);

/*
 * A row parsed for a reader: vers.v[i] is version i's heap tuple header
 * only (enough for visibility), aetam_headers_tuple builds a whole version.
 */
typedef struct AetamHeaders
{
	AetamVersions vers;
	struct ae_row_version *rv;	/* the decoded versions (pointing into the row) */
	uint64		rowid;
} AetamHeaders;

extern void aetam_parse_headers(Relation rel, uint64 rowid, const ae_bytes *row, AetamHeaders *h);
extern HeapTuple aetam_headers_tuple(Relation rel, AetamHeaders *h, int i, MemoryContext cxt);
extern void aetam_free_headers(AetamHeaders *h);
extern void aetam_headers_materialize(Relation rel, AetamHeaders *h, int i);
extern void aetam_build_row_keeping(Relation rel, uint64 rowid, HeapTupleHeader *v,
									const uint32 *len, int n, const AetamHeaders *h,
									const int *keep, int nkeep, ae_bytes *out);
extern void aetam_build_row(Relation rel, uint64 rowid, HeapTupleHeader *v, const uint32 *len,
							int n, ae_bytes *out);
extern bool aetam_version_visible(Relation rel, HeapTupleHeader tup, Snapshot snapshot);
extern int	aetam_visible_version(Relation rel, AetamVersions *vers, Snapshot snapshot);
extern int	aetam_base_version(AetamVersions *vers);
extern HTSV_Result aetam_version_vacuum_status(HeapTupleHeader tup, TransactionId oldest_xmin);
extern bool aetam_version_dead(HeapTupleHeader tup, GlobalVisState *vistest);
extern bool aetam_xid_committed(TransactionId xid);
extern bool aetam_xmin_hintable(TransactionId xmin, uint16 infomask);

/* aether_modify.c */
extern void aetam_tuple_insert(Relation rel, TupleTableSlot *slot, CommandId cid,
							   int options, struct BulkInsertStateData *bistate);
extern void aetam_multi_insert(Relation rel, TupleTableSlot **slots, int nslots,
							   CommandId cid, int options, struct BulkInsertStateData *bistate);
extern void aetam_tuple_insert_speculative(Relation rel, TupleTableSlot *slot, CommandId cid,
										   int options, struct BulkInsertStateData *bistate,
										   uint32 specToken);
extern void aetam_tuple_complete_speculative(Relation rel, TupleTableSlot *slot,
											 uint32 specToken, bool succeeded);
extern TM_Result aetam_tuple_delete(Relation rel, ItemPointer tid, CommandId cid,
									Snapshot snapshot, Snapshot crosscheck, bool wait,
									TM_FailureData *tmfd, bool changingPart);
extern TM_Result aetam_tuple_update(Relation rel, ItemPointer otid, TupleTableSlot *slot,
									CommandId cid, Snapshot snapshot, Snapshot crosscheck,
									bool wait, TM_FailureData *tmfd, LockTupleMode *lockmode,
									bool *update_indexes);
extern TM_Result aetam_tuple_lock(Relation rel, ItemPointer tid, Snapshot snapshot,
								  TupleTableSlot *slot, CommandId cid, LockTupleMode mode,
								  LockWaitPolicy wait_policy, uint8 flags,
								  TM_FailureData *tmfd);
extern void aetam_store_tuple(TupleTableSlot *slot, HeapTuple tup);
extern void aetam_store_version(TupleTableSlot *slot, HeapTupleHeader tup, uint32 len,
								uint64 rowid, Oid relid);

/* aether_rowlock.c */
extern void aetam_lockers(HeapTupleHeader t, bool *me, TransactionId *other, bool *all_shared);
extern bool aetam_locked_by_me(HeapTupleHeader t);
extern bool aetam_lock_finished(HeapTupleHeader t);
extern void aetam_lock_version(HeapTupleHeader t, LockTupleMode mode);
extern bool aetam_lock_covers(HeapTupleHeader t, LockTupleMode mode);

/* aether_prune.c */
extern void aetam_prune_note(Relation rel, uint64 rowid);
extern void aetam_prune_pending(Relation rel);

/* aether_scan.c */
extern const TupleTableSlotOps *aetam_slot_callbacks(Relation rel);
extern TableScanDesc aetam_scan_begin(Relation rel, Snapshot snapshot, int nkeys,
									  struct ScanKeyData *key, ParallelTableScanDesc pscan,
									  uint32 flags);
extern void aetam_scan_end(TableScanDesc scan);
extern void aetam_scan_rescan(TableScanDesc scan, struct ScanKeyData *key, bool set_params,
							  bool allow_strat, bool allow_sync, bool allow_pagemode);
extern bool aetam_scan_getnextslot(TableScanDesc scan, ScanDirection direction,
								   TupleTableSlot *slot);
extern void aetam_scan_set_tidrange(TableScanDesc scan, ItemPointer mintid, ItemPointer maxtid);
extern bool aetam_scan_getnextslot_tidrange(TableScanDesc scan, ScanDirection direction,
											TupleTableSlot *slot);
extern Size aetam_parallelscan_estimate(Relation rel);
extern Size aetam_parallelscan_initialize(Relation rel, ParallelTableScanDesc pscan);
extern void aetam_parallelscan_reinitialize(Relation rel, ParallelTableScanDesc pscan);
extern struct IndexFetchTableData *aetam_index_fetch_begin(Relation rel);
extern void aetam_index_fetch_reset(struct IndexFetchTableData *data);
extern void aetam_index_fetch_end(struct IndexFetchTableData *data);
extern bool aetam_index_fetch_tuple(struct IndexFetchTableData *scan, ItemPointer tid,
									Snapshot snapshot, TupleTableSlot *slot,
									bool *call_again, bool *all_dead);
extern bool aetam_tuple_fetch_row_version(Relation rel, ItemPointer tid, Snapshot snapshot,
										  TupleTableSlot *slot);
extern bool aetam_tuple_tid_valid(TableScanDesc scan, ItemPointer tid);
extern void aetam_tuple_get_latest_tid(TableScanDesc scan, ItemPointer tid);
extern bool aetam_tuple_satisfies_snapshot(Relation rel, TupleTableSlot *slot, Snapshot snapshot);
extern bool aetam_scan_bitmap_next_block(TableScanDesc scan, struct TBMIterateResult *tbmres);
extern bool aetam_scan_bitmap_next_tuple(TableScanDesc scan, struct TBMIterateResult *tbmres,
										 TupleTableSlot *slot);
extern bool aetam_scan_analyze_next_block(TableScanDesc scan, BlockNumber blockno,
										  BufferAccessStrategy bstrategy);
extern bool aetam_scan_analyze_next_tuple(TableScanDesc scan, TransactionId OldestXmin,
										  double *liverows, double *deadrows,
										  TupleTableSlot *slot);
extern bool aetam_scan_sample_next_block(TableScanDesc scan, struct SampleScanState *scanstate);
extern bool aetam_scan_sample_next_tuple(TableScanDesc scan, struct SampleScanState *scanstate,
										 TupleTableSlot *slot);

extern void aetam_scan_set_range(TableScanDesc sscan, uint64 lo, uint64 hi);
extern bool aetam_scan_next_raw(TableScanDesc sscan, uint64 *rowid, ae_bytes *row);

/* aether_ddl.c */
extern void aetam_relation_set_new_filenode(Relation rel, const RelFileNode *newrnode,
											char persistence, TransactionId *freezeXid,
											MultiXactId *minmulti);
extern void aetam_relation_nontransactional_truncate(Relation rel);
extern void aetam_relation_copy_data(Relation rel, const RelFileNode *newrnode);
extern void aetam_relation_copy_for_cluster(Relation OldTable, Relation NewTable,
											Relation OldIndex, bool use_sort,
											TransactionId OldestXmin, TransactionId *xid_cutoff,
											MultiXactId *multi_cutoff, double *num_tuples,
											double *tups_vacuumed, double *tups_recently_dead);
extern void aetam_relation_vacuum(Relation rel, struct VacuumParams *params,
								  BufferAccessStrategy bstrategy);
extern double aetam_index_build_range_scan(Relation table_rel, Relation index_rel,
										   struct IndexInfo *index_info, bool allow_sync,
										   bool anyvisible, bool progress,
										   BlockNumber start_blockno, BlockNumber numblocks,
										   IndexBuildCallback callback, void *callback_state,
										   TableScanDesc scan);
extern void aetam_index_validate_scan(Relation table_rel, Relation index_rel,
									  struct IndexInfo *index_info, Snapshot snapshot,
									  struct ValidateIndexState *state);
extern uint64 aetam_relation_size(Relation rel, ForkNumber forkNumber);
extern void aetam_relation_estimate_size(Relation rel, int32 *attr_widths, BlockNumber *pages,
										 double *tuples, double *allvisfrac);
extern TransactionId aetam_index_delete_tuples(Relation rel, TM_IndexDeleteOp *delstate);

/* aether_xact.c */
extern void aetam_xact_init(void);
extern void aetam_xact_wrote(void);
extern TransactionId aetam_xid_for_write(void);
/* aether_visibility.c: is xid's (asynchronous) commit record durable yet? */
extern bool aetam_commit_is_durable(TransactionId xid);
extern void aetam_make_commits_durable(void);

/* aether_utility.c */
extern void aetam_utility_init(void);

/* aether_worker.c */
extern void aetam_worker_register(void);
extern int	aetam_max_wal_mb;		/* aether.max_wal_size, in MB */

#endif
