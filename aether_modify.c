/*
 * aether_modify.c — INSERT, UPDATE, DELETE and row locks on Aether tables.
 *
 * Every change is read-decide-swap: fetch the row's version list, decide with
 * PostgreSQL's rules (aether_visibility.c) while holding nothing, then
 * replace the list with ae_btree_cas(); if another backend changed the row in
 * between, the swap reports AE_CONFLICT and we decide again. Waiting for a
 * conflicting transaction (XactLockTableWait) happens with no engine pin or
 * latch held.
 *
 * UPDATE keeps the row id when no indexed column changes: the new version is
 * added in front of the old one, no index entry is added, and versions that
 * no snapshot can see any more are pruned in the same swap. An UPDATE that
 * changes an indexed column (or a table with AFTER UPDATE row triggers or
 * transition tables, which fetch the old row by TID after the update) moves
 * the row to a new row id, like heap's non-HOT update.
 *
 * A change that must wait for another transaction first takes the row's
 * heavyweight tuple lock (LockTuple, in the mode heap uses for the same
 * strength) and keeps it until the change is made, as heap does: waiters
 * for one row then queue in the lock manager in arrival order, the end of
 * the transaction they wait for wakes only the first of them, and the
 * others wait for the tuple lock, then for that first waiter's transaction.
 * Without it every waiter woke at once and raced for the row, and a loser
 * could be overtaken again and again.
 */
#include "postgres.h"

#include "access/heaptoast.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "nodes/bitmapset.h"
#include "pgstat.h"
#include "catalog/pg_inherits.h"
#include "storage/lmgr.h"
#include "storage/predicate.h"
#include "storage/procarray.h"
#include "utils/combocid.h"
#include "utils/datum.h"
#include "utils/memutils.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"

#include "aether.h"

/* granularity of the lowest row id an in-place UPDATE logs for crash undo */
#define UNDO_UPDATE_GRAIN 65536

/* A version list being read and rewritten. */
typedef struct RowState
{
	uint64		rowid;
	unsigned char key[8];
	ae_bytes   *row;			/* the list as fetched (the swap's expected value) */
	AetamHeaders h;				/* its versions (pointing into *row); h.vers holds
								 * headers only, but the base as a whole image */
	int			base;			/* aetam_base_version() */
} RowState;

/* Per-backend buffers reused by every change (engine memory, malloc'd). */
static ae_bytes fetched;
static ae_bytes rebuilt;

static void
release_big_buffers(void)
{
	if (fetched.cap > 1024 * 1024)
		ae_bytes_free(&fetched);
	if (rebuilt.cap > 1024 * 1024)
		ae_bytes_free(&rebuilt);
}

/*
 * Each change works in a private memory context, reset at the start of the
 * next one: rows read and rebuilt while deciding are garbage once the change
 * is done (an UPDATE of a million rows must not keep a million of them).
 */
static MemoryContext op_cxt = NULL;

static MemoryContext
begin_op(void)
{
	if (op_cxt == NULL)
		op_cxt = AllocSetContextCreate(TopMemoryContext, "aether change",
									   ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(op_cxt);
	return MemoryContextSwitchTo(op_cxt);
}

/* ---- forming versions ---- */

/*
 * A version for the slot's tuple: header stamped with the current
 * transaction and cid, external TOAST values pulled inline (Aether has no
 * TOAST table; large values go to its overflow pages). palloc'd.
 */
static HeapTuple
form_version(Relation rel, TupleTableSlot *slot, CommandId cid, uint16 extra_infomask,
			 ItemPointer tid)
{
	bool		shouldFree;
	HeapTuple	tup = ExecFetchSlotHeapTuple(slot, true, &shouldFree);
	HeapTuple	copy;

	/*
	 * Stamp the slot's own tuple too (as heap_insert does), so RETURNING
	 * xmin and the like see the new version's header.
	 */
	tup->t_data->t_infomask &= ~HEAP_XACT_MASK;
	tup->t_data->t_infomask2 &= ~HEAP2_XACT_MASK;
	tup->t_data->t_infomask |= HEAP_XMAX_INVALID | extra_infomask;
	HeapTupleHeaderSetXmin(tup->t_data, aetam_xid_for_write());
	HeapTupleHeaderSetCmin(tup->t_data, cid);
	HeapTupleHeaderSetXmax(tup->t_data, InvalidTransactionId);
	tup->t_data->t_ctid = *tid;
	tup->t_self = *tid;
	tup->t_tableOid = RelationGetRelid(rel);

	if (HeapTupleHasExternal(tup))
		copy = toast_flatten_tuple(tup, RelationGetDescr(rel));
	else
		copy = heap_copytuple(tup);
	if (shouldFree)
		heap_freetuple(tup);
	copy->t_data->t_ctid = *tid;
	copy->t_self = *tid;
	copy->t_tableOid = RelationGetRelid(rel);
	return copy;
}

/* Store a copy of one version into a heap-tuple slot. */
void
aetam_store_version(TupleTableSlot *slot, HeapTupleHeader tup, uint32 len,
					uint64 rowid, Oid relid)
{
	HeapTupleData td;
	HeapTuple	copy;
	MemoryContext old;

	td.t_len = len;
	td.t_data = tup;
	td.t_tableOid = relid;
	aetam_rowid_to_tid(rowid, &td.t_self);
	/* the slot frees the copy: it must live as long as the slot's memory */
	old = MemoryContextSwitchTo(slot->tts_mcxt);
	copy = heap_copytuple(&td);
	MemoryContextSwitchTo(old);
	aetam_store_tuple(slot, copy);
}

/* Hand tup, allocated in slot->tts_mcxt, to the slot, which frees it. */
void
aetam_store_tuple(TupleTableSlot *slot, HeapTuple tup)
{
	if (TTS_IS_HEAPTUPLE(slot))
		ExecStoreHeapTuple(tup, slot, true);
	else
		ExecForceStoreHeapTuple(tup, slot, true);
}

static void
insert_row(Relation rel, uint64 rowid, HeapTuple tup)
{
	ae_btree	tree;
	unsigned char key[8];
	ae_status	st;

	aetam_build_row(rel, rowid, &tup->t_data, &tup->t_len, 1, &rebuilt);
	ae_row_key(rowid, key);
	aetam_open_tree(rel, &tree);
	st = ae_btree_insert(&tree, key, sizeof(key), rebuilt.data, rebuilt.len);
	release_big_buffers();
	if (st == AE_EXISTS)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("aether: row id %llu of relation \"%s\" is already in use",
						(unsigned long long) rowid, RelationGetRelationName(rel))));
	if (st != AE_OK)
		aetam_raise(st, rel);
	aetam_xact_wrote();
}

/* ---- insert ---- */

static void
do_tuple_insert(Relation rel, TupleTableSlot *slot, CommandId cid,
				   int options, struct BulkInsertStateData *bistate)
{
	uint64		rowid = aetam_next_rowid(rel, 1);
	ItemPointerData tid;
	HeapTuple	tup;

	aetam_rowid_to_tid(rowid, &tid);
	CheckForSerializableConflictIn(rel, NULL, InvalidBlockNumber);
	aetam_prune_pending(rel);
	tup = form_version(rel, slot, cid, 0, &tid);
	insert_row(rel, rowid, tup);
	heap_freetuple(tup);
	slot->tts_tableOid = RelationGetRelid(rel);
	slot->tts_tid = tid;
	pgstat_count_heap_insert(rel, 1);
}

static void
do_multi_insert(Relation rel, TupleTableSlot **slots, int nslots,
				   CommandId cid, int options, struct BulkInsertStateData *bistate)
{
	uint64		first = aetam_next_rowid(rel, nslots);
	const void **keys = palloc(sizeof(void *) * nslots);
	const void **vals = palloc(sizeof(void *) * nslots);
	size_t	   *klens = palloc(sizeof(size_t) * nslots);
	size_t	   *vlens = palloc(sizeof(size_t) * nslots);
	ae_bytes   *rows = palloc0(sizeof(ae_bytes) * nslots);
	unsigned char *keybuf = palloc(8 * nslots);
	ae_btree	tree;
	ae_status	st = AE_OK;
	int			done = 0;

	CheckForSerializableConflictIn(rel, NULL, InvalidBlockNumber);
	PG_TRY();
	{
		for (int i = 0; i < nslots; i++)
		{
			ItemPointerData tid;
			HeapTuple	tup;

			aetam_rowid_to_tid(first + i, &tid);
			tup = form_version(rel, slots[i], cid, 0, &tid);
			aetam_build_row(rel, first + i, &tup->t_data, &tup->t_len, 1, &rows[i]);
			heap_freetuple(tup);
			ae_row_key(first + i, keybuf + 8 * i);
			keys[i] = keybuf + 8 * i;
			klens[i] = 8;
			vals[i] = rows[i].data;
			vlens[i] = rows[i].len;
			slots[i]->tts_tableOid = RelationGetRelid(rel);
			slots[i]->tts_tid = tid;
		}
		/* ascending fresh row ids: one latch and one log record per leaf */
		aetam_open_tree(rel, &tree);
		st = ae_btree_insert_batch(&tree, nslots, keys, klens, vals, vlens, &done);
	}
	PG_FINALLY();
	{
		for (int i = 0; i < nslots; i++)
			ae_bytes_free(&rows[i]);
	}
	PG_END_TRY();
	if (done > 0)
		aetam_xact_wrote();
	if (st == AE_EXISTS)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("aether: row id %llu of relation \"%s\" is already in use",
						(unsigned long long) (first + done), RelationGetRelationName(rel))));
	if (st != AE_OK)
		aetam_raise(st, rel);
	pgstat_count_heap_insert(rel, nslots);
}

/*
 * Speculative insertion (INSERT ... ON CONFLICT): the row is inserted as a
 * normal row of the current transaction. Backends that find it through a
 * unique index wait for the whole transaction instead of the speculative
 * token: correct, and only slower when the conflict is real.
 */
void
aetam_tuple_insert_speculative(Relation rel, TupleTableSlot *slot, CommandId cid,
							   int options, struct BulkInsertStateData *bistate,
							   uint32 specToken)
{
	aetam_tuple_insert(rel, slot, cid, options, bistate);
}

static bool read_row(Relation rel, uint64 rowid, RowState *rs);
static bool indexed_columns_changed(Relation rel, HeapTupleHeader oldt, uint32 oldlen,
									TupleTableSlot *slot, bool *keys_changed);
static void swap_row(Relation rel, RowState *rs, HeapTupleHeader *vers, uint32 *lens, int n,
					 bool *conflict);

static void
do_tuple_complete_speculative(Relation rel, TupleTableSlot *slot,
								 uint32 specToken, bool succeeded)
{
	RowState	rs;
	bool		conflict = true;

	if (succeeded)
		return;
	/* the insert lost: make our version dead to everyone (xmin invalid) */
	while (conflict)
	{
		HeapTupleHeader dead;

		if (!read_row(rel, aetam_tid_to_rowid(&slot->tts_tid), &rs))
			return;
		if (rs.base != 0)
			aetam_headers_materialize(rel, &rs.h, 0);
		dead = palloc(rs.h.vers.len[0]);
		memcpy(dead, rs.h.vers.v[0], rs.h.vers.len[0]);
		dead->t_infomask |= HEAP_XMIN_INVALID;
		dead->t_infomask &= ~HEAP_XMIN_COMMITTED;
		swap_row(rel, &rs, &dead, &rs.h.vers.len[0], 1, &conflict);
	}
}

/* ---- reading and swapping a row ---- */

static bool
read_row(Relation rel, uint64 rowid, RowState *rs)
{
	rs->rowid = rowid;
	ae_row_key(rowid, rs->key);
	rs->row = &fetched;
	if (!aetam_fetch_row(rel, rowid, &fetched))
		return false;
	aetam_parse_headers(rel, rowid, &fetched, &rs->h);
	rs->base = aetam_base_version(&rs->h.vers);
	if (rs->base >= 0)
		aetam_headers_materialize(rel, &rs->h, rs->base);	/* changes act on it */
	return true;
}

/*
 * Replace the row's list by vers[0..n-1] followed by the versions of rs
 * older than its base, dropping those no snapshot can see. *conflict is set
 * when the row changed since read_row (nothing written; read again).
 */
#define HOT_ROW_VERSIONS 4
#define HOT_ROW_MAX_VERSIONS 32

static void
swap_row(Relation rel, RowState *rs, HeapTupleHeader *vers, uint32 *lens, int n,
		 bool *conflict)
{
	GlobalVisState *vistest = GlobalVisTestFor(rel);
	int		   *keep = palloc(sizeof(int) * rs->h.vers.n);
	int			nkeep = 0;
	ae_btree	tree;
	ae_status	st;

	/*
	 * A hot row under asynchronous commits collects versions whose deleters'
	 * commit records are not durable yet (they cannot be pruned before).
	 * Past a few, ask the worker to flush PostgreSQL's WAL; past many more
	 * (or with no worker), flush it here so the row stays short.
	 */
	if (rs->h.vers.n - Max(rs->base, 0) > HOT_ROW_VERSIONS)
	{
		HeapTupleHeader older = rs->h.vers.v[Max(rs->base, 0) + 1];
		TransactionId deleter = HeapTupleHeaderGetRawXmax(older);

		if (!(older->t_infomask & HEAP_XMAX_INVALID) && !HEAP_XMAX_IS_LOCKED_ONLY(older->t_infomask) &&
			!aetam_commit_is_durable(deleter) &&
			(rs->h.vers.n - Max(rs->base, 0) > HOT_ROW_MAX_VERSIONS || !aetam_commit_flush_soon(deleter)))
			aetam_make_commits_durable();
	}
	/* the older versions some snapshot may still see, copied as stored */
	for (int i = Max(rs->base, 0) + 1; i < rs->h.vers.n; i++)
		if (!aetam_version_dead(rs->h.vers.v[i], vistest))
			keep[nkeep++] = i;
	aetam_build_row_keeping(rel, rs->rowid, vers, lens, n, &rs->h, keep, nkeep, &rebuilt);
	pfree(keep);
	aetam_open_tree(rel, &tree);
	st = ae_btree_cas(&tree, rs->key, sizeof(rs->key), rs->row->data, rs->row->len,
					  rebuilt.data, rebuilt.len);
	release_big_buffers();
	*conflict = (st == AE_CONFLICT || st == AE_NOT_FOUND);
	if (st != AE_OK && !*conflict)
		aetam_raise(st, rel);
	if (st == AE_OK)
		aetam_xact_wrote();
}

/* A writable copy of the base version. */
static HeapTupleHeader
copy_base(RowState *rs)
{
	HeapTupleHeader t = palloc(rs->h.vers.len[rs->base]);

	memcpy(t, rs->h.vers.v[rs->base], rs->h.vers.len[rs->base]);
	return t;
}

/* ---- deciding whether a row may be changed ---- */

/*
 * Can the current transaction change (update, delete, lock) the base version
 * at tid? Returns TM_Ok, or the result to report with tmfd filled; for
 * TM_BeingModified *wait_xid is the transaction to wait for. lock_mode is
 * NULL for UPDATE and DELETE, else the row lock wanted: shared locks do not
 * wait for other shared lockers (aether_rowlock.c). `snapshot` is
 * the caller's snapshot: a base version it cannot see means a newer version
 * was committed after it was taken (TM_Updated), unless we hold a lock on it
 * (tuple_lock found and locked the latest version for EvalPlanQual).
 */
static TM_Result
check_change(Relation rel, RowState *rs, ItemPointer tid, CommandId cid, Snapshot snapshot,
			 Snapshot crosscheck, const LockTupleMode *lock_mode, TM_FailureData *tmfd,
			 TransactionId *wait_xid)
{
	HeapTupleHeader t;
	TransactionId xmin, xmax;

	if (rs->base < 0)
		return TM_Invisible;
	t = rs->h.vers.v[rs->base];
	xmin = HeapTupleHeaderGetRawXmin(t);
	tmfd->ctid = *tid;
	tmfd->xmax = InvalidTransactionId;
	tmfd->cmax = InvalidCommandId;

	if (!HeapTupleHeaderXminFrozen(t) && TransactionIdIsCurrentTransactionId(xmin) &&
		HeapTupleHeaderGetCmin(t) >= cid)
	{
		if (!(t->t_infomask & HEAP_UPDATED))
			return TM_Invisible;
		tmfd->xmax = xmin;		/* updated by this very command */
		tmfd->cmax = HeapTupleHeaderGetCmin(t);
		return TM_SelfModified;
	}

	if (!(t->t_infomask & HEAP_XMAX_INVALID))
	{
		xmax = HeapTupleHeaderGetRawXmax(t);
		if (HEAP_XMAX_IS_LOCKED_ONLY(t->t_infomask))
		{
			bool		me, all_shared;
			TransactionId other;
			bool		want_shared = lock_mode &&
				(*lock_mode == LockTupleKeyShare || *lock_mode == LockTupleShare);

			aetam_lockers(t, &me, &other, &all_shared);
			if (TransactionIdIsValid(other) && !(want_shared && all_shared))
			{
				*wait_xid = other;
				tmfd->xmax = other;
				return TM_BeingModified;
			}
		}
		else if (TransactionIdIsCurrentTransactionId(xmax))
		{
			tmfd->xmax = xmax;
			tmfd->cmax = HeapTupleHeaderGetCmax(t);
			return tmfd->cmax >= cid ? TM_SelfModified : TM_Invisible;
		}
		else if (TransactionIdIsInProgress(xmax))
		{
			*wait_xid = xmax;
			tmfd->xmax = xmax;
			return TM_BeingModified;
		}
		else if (aetam_xid_committed(xmax))
		{
			/*
			 * The updater finished between choosing the base (its new version
			 * was still in progress then) and now: not a delete, read again.
			 * (Waiting for a finished xid returns at once.)
			 */
			for (int i = 0; i < rs->base; i++)
				if (TransactionIdEquals(HeapTupleHeaderGetRawXmin(rs->h.vers.v[i]), xmax))
				{
					*wait_xid = xmax;
					tmfd->xmax = xmax;
					return TM_BeingModified;
				}
			tmfd->xmax = xmax;
			if (!ItemPointerEquals(&t->t_ctid, tid))
			{
				tmfd->ctid = t->t_ctid;
				return TM_Updated;
			}
			return TM_Deleted;
		}
	}

	if (snapshot && snapshot->snapshot_type == SNAPSHOT_MVCC && !aetam_locked_by_me(t) &&
		!aetam_version_visible(rel, t, snapshot))
	{
		tmfd->xmax = xmin;
		return TM_Updated;
	}
	if (crosscheck != InvalidSnapshot && !aetam_version_visible(rel, t, crosscheck))
	{
		tmfd->xmax = xmin;
		return TM_Updated;
	}
	return TM_Ok;
}

/* Set xmax of t to the current transaction as an updater or deleter. */
static void
stamp_xmax(HeapTupleHeader t, CommandId cid, ItemPointer next, bool keys_changed)
{
	bool		iscombo;

	t->t_infomask &= ~(HEAP_XMAX_BITS);
	t->t_infomask2 &= ~HEAP_KEYS_UPDATED;
	if (keys_changed)
		t->t_infomask2 |= HEAP_KEYS_UPDATED;
	HeapTupleHeaderSetXmax(t, aetam_xid_for_write());
	HeapTupleHeaderAdjustCmax(t, &cid, &iscombo);
	HeapTupleHeaderSetCmax(t, cid, iscombo);
	t->t_ctid = *next;
}

/* ---- the tuple lock a waiting change holds (see the header) ---- */

/* NOWAIT: the row is locked (by its holder, or by a waiter queued for it). */
static void row_lock_not_available(Relation rel) pg_attribute_noreturn();

static void
row_lock_not_available(Relation rel)
{
	ereport(ERROR,
			(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
			 errmsg("could not obtain lock on row in relation \"%s\"",
					RelationGetRelationName(rel))));
}

static struct
{
	bool		held;
	bool		done;			/* released for the rest of this change */
	Relation	rel;
	ItemPointerData tid;
	LOCKMODE	mode;
	TransactionId base_xmin;	/* xmin of the version we queued for */
}			tuplock;

/* heap's lock manager modes for row lock strengths (they conflict as the strengths do) */
static LOCKMODE
tuplock_mode(LockTupleMode mode)
{
	switch (mode)
	{
		case LockTupleKeyShare:
			return AccessShareLock;
		case LockTupleShare:
			return RowShareLock;
		case LockTupleNoKeyExclusive:
			return ExclusiveLock;
		case LockTupleExclusive:
		default:
			return AccessExclusiveLock;
	}
}

/* At the start of each change: an error released a held lock with its (sub)transaction. */
static void
reset_tuplock(void)
{
	tuplock.held = false;
	tuplock.done = false;
}

static void
release_tuplock(void)
{
	if (tuplock.held)
		UnlockTuple(tuplock.rel, &tuplock.tid, tuplock.mode);
	tuplock.held = false;
}

/* Wait on without the tuple lock for the rest of this change (heap, along an update chain). */
static void
give_up_tuplock(void)
{
	release_tuplock();
	tuplock.done = true;
}

/*
 * Before waiting for the transaction that has the row at tid (version list
 * rs): queue for it by taking its tuple lock, if this change has not yet.
 * Once the row has a newer version than the one we queued for (the waited-
 * for transaction updated it and another took it next), keep waiting
 * without the lock, as heap does when it follows an update chain
 * (heapam_tuple_lock). False: LockWaitSkip and another waiter holds it;
 * LockWaitError raises an error.
 */
static bool
queue_for_row(Relation rel, ItemPointer tid, RowState *rs, LockTupleMode strength,
			  LockWaitPolicy policy)
{
	LOCKMODE	mode = tuplock_mode(strength);
	TransactionId xmin = HeapTupleHeaderGetRawXmin(rs->h.vers.v[rs->base]);

	if (tuplock.done)
		return true;
	if (tuplock.held)
	{
		if (!(tuplock.rel == rel && ItemPointerEquals(&tuplock.tid, tid) &&
			  TransactionIdEquals(tuplock.base_xmin, xmin)))
			give_up_tuplock();
		return true;
	}
	if (policy == LockWaitBlock)
		LockTuple(rel, tid, mode);
	else if (!ConditionalLockTuple(rel, tid, mode))
	{
		if (policy == LockWaitSkip)
			return false;
		row_lock_not_available(rel);
	}
	tuplock.held = true;
	tuplock.rel = rel;
	tuplock.tid = *tid;
	tuplock.mode = mode;
	tuplock.base_xmin = xmin;
	return true;
}

/* The row at tid is gone (removed after every snapshot lost sight of it). */
static TM_Result
row_gone(ItemPointer tid, TM_FailureData *tmfd)
{
	tmfd->ctid = *tid;
	tmfd->xmax = InvalidTransactionId;
	tmfd->cmax = InvalidCommandId;
	return TM_Deleted;
}

/*
 * Read the row at tid into *rs and decide whether the current transaction may
 * update or delete it, waiting (when asked) for a conflicting transaction and
 * reading again. TM_Ok: rs holds the row, serializable conflicts are noted and
 * pending pruning is done. Otherwise the result to report.
 */
static TM_Result
read_for_change(Relation rel, ItemPointer tid, CommandId cid, Snapshot snapshot,
				Snapshot crosscheck, bool wait, XLTW_Oper oper, TupleTableSlot *newslot,
				TM_FailureData *tmfd, RowState *rs)
{
	for (;;)
	{
		TransactionId wait_xid = InvalidTransactionId;
		TM_Result	res;

		if (!read_row(rel, aetam_tid_to_rowid(tid), rs))
			return row_gone(tid, tmfd);
		res = check_change(rel, rs, tid, cid, snapshot, crosscheck, NULL, tmfd, &wait_xid);
		if (res == TM_BeingModified && wait)
		{
			bool		keys_changed = true;

			/* an UPDATE's strength, as heap_update's: does it change a key column? */
			if (newslot)
				(void) indexed_columns_changed(rel, rs->h.vers.v[rs->base],
											   rs->h.vers.len[rs->base], newslot, &keys_changed);
			(void) queue_for_row(rel, tid, rs,
								 keys_changed ? LockTupleExclusive : LockTupleNoKeyExclusive,
								 LockWaitBlock);
			XactLockTableWait(wait_xid, rel, tid, oper);
			continue;
		}
		if (res == TM_Ok)
		{
			CheckForSerializableConflictIn(rel, tid, ItemPointerGetBlockNumber(tid));
			aetam_prune_pending(rel);
		}
		return res;
	}
}

/* ---- delete ---- */

static TM_Result
do_tuple_delete(Relation rel, ItemPointer tid, CommandId cid,
				   Snapshot snapshot, Snapshot crosscheck, bool wait,
				   TM_FailureData *tmfd, bool changingPart)
{
	uint64		rowid = aetam_tid_to_rowid(tid);

	for (;;)
	{
		RowState	rs;
		TM_Result	res;
		HeapTupleHeader t;
		ItemPointerData next = *tid;
		bool		conflict;

		res = read_for_change(rel, tid, cid, snapshot, crosscheck, wait, XLTW_Delete, NULL, tmfd,
							  &rs);
		if (res != TM_Ok)
			return res;
		t = copy_base(&rs);
		if (changingPart)
			ItemPointerSetMovedPartitions(&next);
		stamp_xmax(t, cid, &next, true);
		swap_row(rel, &rs, &t, &rs.h.vers.len[rs.base], 1, &conflict);
		if (!conflict)
		{
			aetam_prune_note(rel, rowid);
			pgstat_count_heap_delete(rel);
			return TM_Ok;
		}
	}
}

/* ---- update ---- */

/* Did any column used by an index change between the stored version and the slot? */
static bool
indexed_columns_changed(Relation rel, HeapTupleHeader oldt, uint32 oldlen,
						TupleTableSlot *newslot, bool *keys_changed)
{
	Bitmapset  *all = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_ALL);
	Bitmapset  *keys = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_KEY);
	TupleDesc	desc = RelationGetDescr(rel);
	HeapTupleData old;
	bool		changed = false;
	int			i = -1;

	*keys_changed = false;
	old.t_data = oldt;
	old.t_len = oldlen;
	while ((i = bms_next_member(all, i)) >= 0)
	{
		AttrNumber	attno = i + FirstLowInvalidHeapAttributeNumber;
		bool		oldnull, newnull, same;
		Datum		oldv, newv;
		Form_pg_attribute att;

		if (attno <= 0)
		{
			same = false;		/* whole-row or system column in an index: assume changed */
		}
		else
		{
			att = TupleDescAttr(desc, attno - 1);
			oldv = heap_getattr(&old, attno, desc, &oldnull);
			newv = slot_getattr(newslot, attno, &newnull);
			same = (oldnull == newnull) &&
				(oldnull || datumIsEqual(oldv, newv, att->attbyval, att->attlen));
		}
		if (!same)
		{
			changed = true;
			if (bms_is_member(i, keys))
				*keys_changed = true;
		}
	}
	bms_free(all);
	bms_free(keys);
	return changed;
}

/*
 * Must an UPDATE move the row to a new row id because someone will fetch
 * both the old and the new version by TID afterwards? AFTER UPDATE row
 * triggers and transition tables do (after the update, by TID, with
 * SnapshotAny); a TID names a row id, not a version. Transition tables of
 * an ancestor apply to rows of partitions and inheritance children, whose own
 * trigger lists do not show them, so those always move.
 */
static bool
needs_old_row_after_update(Relation rel)
{
	TriggerDesc *trig = rel->trigdesc;

	if (trig && (trig->trig_update_after_row || trig->trig_update_old_table ||
				 trig->trig_update_new_table))
		return true;
	if (rel->rd_rel->relispartition)
		return true;
	/* cached per relcache entry: ALTER TABLE [NO] INHERIT invalidates it */
	if (rel->rd_amcache == NULL)
	{
		bool	   *inherits = MemoryContextAlloc(CacheMemoryContext, sizeof(bool));

		*inherits = has_superclass(RelationGetRelid(rel));
		rel->rd_amcache = inherits;
	}
	return *(bool *) rel->rd_amcache;
}

static TM_Result
do_tuple_update(Relation rel, ItemPointer otid, TupleTableSlot *slot,
				   CommandId cid, Snapshot snapshot, Snapshot crosscheck,
				   bool wait, TM_FailureData *tmfd, LockTupleMode *lockmode,
				   bool *update_indexes)
{
	uint64		rowid = aetam_tid_to_rowid(otid);

	for (;;)
	{
		RowState	rs;
		TM_Result	res;
		HeapTupleHeader pair[2];
		uint32		lens[2];
		bool		keys_changed, move, conflict;
		ItemPointerData newtid = *otid;
		uint64		newrowid = rowid;
		HeapTuple	newtup;

		/*
		 * The executor locks the row in *lockmode when we fail with
		 * TM_Updated (EvalPlanQual), so it must be set on every return, as
		 * heap_update does: a stale value (FOR KEY SHARE) let two waiting
		 * updaters share the lock in a MultiXact and then each wait for the
		 * other (a false deadlock).
		 */
		*lockmode = LockTupleExclusive;
		res = read_for_change(rel, otid, cid, snapshot, crosscheck, wait, XLTW_Update, slot, tmfd,
							  &rs);
		if (res != TM_Ok)
		{
			if (res == TM_Updated && rs.base >= 0)
			{
				(void) indexed_columns_changed(rel, rs.h.vers.v[rs.base], rs.h.vers.len[rs.base],
											   slot, &keys_changed);
				*lockmode = keys_changed ? LockTupleExclusive : LockTupleNoKeyExclusive;
			}
			return res;
		}
		move = indexed_columns_changed(rel, rs.h.vers.v[rs.base], rs.h.vers.len[rs.base], slot,
									   &keys_changed) ||
			needs_old_row_after_update(rel);
		*lockmode = keys_changed ? LockTupleExclusive : LockTupleNoKeyExclusive;
		if (move)
		{
			newrowid = aetam_next_rowid(rel, 1);
			aetam_rowid_to_tid(newrowid, &newtid);
		}
		pair[0] = copy_base(&rs);
		lens[0] = rs.h.vers.len[rs.base];
		stamp_xmax(pair[0], cid, &newtid, keys_changed);
		newtup = form_version(rel, slot, cid, HEAP_UPDATED, &newtid);

		if (move)
			swap_row(rel, &rs, pair, lens, 1, &conflict);
		else
		{
			pair[1] = pair[0];
			lens[1] = lens[0];
			pair[0] = newtup->t_data;
			lens[0] = newtup->t_len;
			swap_row(rel, &rs, pair, lens, 2, &conflict);
		}
		if (conflict)
			continue;
		if (move)
			insert_row(rel, newrowid, newtup);
		else
		{
			aetam_undo_note(rel, rowid, 1);	/* our version goes in the background if we roll back */
			/*
			 * ... or after recovery if we are a loser. Rounded down to 64K
			 * row ids: an UPDATE going down the table (a backward index
			 * scan) logs a new lowest row id once per 64K rows, not per row.
			 */
			aetam_undo_note_inserting(rel, rowid - rowid % UNDO_UPDATE_GRAIN);
		}
		heap_freetuple(newtup);
		aetam_prune_note(rel, rowid);
		pgstat_count_heap_update(rel, !move);	/* same row id: like a HOT update */
		slot->tts_tableOid = RelationGetRelid(rel);
		slot->tts_tid = newtid;
		*update_indexes = move;
		return TM_Ok;
	}
}

/* ---- row locks ---- */

/* Wait for xid as the policy says; false means give up with TM_WouldBlock. */
static bool
wait_for_locker(Relation rel, TransactionId xid, ItemPointer tid, LockWaitPolicy policy)
{
	switch (policy)
	{
		case LockWaitSkip:
			return ConditionalXactLockTableWait(xid) ? true : false;
		case LockWaitError:
			if (!ConditionalXactLockTableWait(xid))
				row_lock_not_available(rel);
			return true;
		case LockWaitBlock:
		default:
			XactLockTableWait(xid, rel, tid, XLTW_Lock);
			return true;
	}
}

static TM_Result
do_tuple_lock(Relation rel, ItemPointer tid, Snapshot snapshot,
				 TupleTableSlot *slot, CommandId cid, LockTupleMode mode,
				 LockWaitPolicy wait_policy, uint8 flags, TM_FailureData *tmfd)
{
	bool		find_last = (flags & TUPLE_LOCK_FLAG_FIND_LAST_VERSION) != 0;

	/*
	 * Heap locks the version its TID names without looking at the snapshot;
	 * ours name the row, so the snapshot tells whether the caller saw the
	 * newest version. That matters only where a newer version must fail the
	 * lock (REPEATABLE READ and SERIALIZABLE) or must be followed with
	 * EvalPlanQual (FIND_LAST_VERSION). Otherwise (ON CONFLICT under READ
	 * COMMITTED, whose TID came from a dirty snapshot) lock the newest.
	 */
	if (!find_last && !IsolationUsesXactSnapshot())
		snapshot = NULL;
	tmfd->traversed = false;
	for (;;)
	{
		uint64		rowid = aetam_tid_to_rowid(tid);
		RowState	rs;
		TransactionId wait_xid = InvalidTransactionId;
		TM_Result	res;
		HeapTupleHeader t;
		bool		conflict;

		if (!read_row(rel, rowid, &rs))
			return row_gone(tid, tmfd);
		res = check_change(rel, &rs, tid, cid, snapshot, InvalidSnapshot, &mode, tmfd,
						   &wait_xid);
		if (res == TM_BeingModified)
		{
			if (!queue_for_row(rel, tid, &rs, mode, wait_policy) ||
				!wait_for_locker(rel, wait_xid, tid, wait_policy))
				return TM_WouldBlock;
			continue;
		}
		if (res == TM_Updated && find_last)
		{
			/* follow the row: another row id, or a newer version under this one */
			if (!ItemPointerEquals(&tmfd->ctid, tid))
			{
				give_up_tuplock();
				*tid = tmfd->ctid;
			}
			else
				snapshot = NULL;	/* lock the newest committed version */
			tmfd->traversed = true;
			continue;
		}
		if (res != TM_Ok)
		{
			/* callers read the row on failure too (ON CONFLICT checks its xmin) */
			if (rs.base >= 0)
				aetam_store_version(slot, rs.h.vers.v[rs.base], rs.h.vers.len[rs.base], rowid,
									RelationGetRelid(rel));
			/* a version made by this very command cannot be locked (heap: invisible) */
			if (res == TM_SelfModified && rs.base >= 0 &&
				TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetRawXmin(rs.h.vers.v[rs.base])) &&
				HeapTupleHeaderGetCmin(rs.h.vers.v[rs.base]) >= cid)
				return TM_Invisible;
			return res;
		}

		t = rs.h.vers.v[rs.base];
		if (!aetam_lock_covers(t, mode))
		{
			t = copy_base(&rs);
			aetam_lock_version(t, mode);
			/* keep the versions older than base; newer aborted ones go */
			swap_row(rel, &rs, &t, &rs.h.vers.len[rs.base], 1, &conflict);
			if (conflict)
				continue;
		}
		aetam_store_version(slot, t, rs.h.vers.len[rs.base], rowid, RelationGetRelid(rel));
		return TM_Ok;
	}
}

/* ---- entry points: each change in its own memory context (begin_op) ---- */

void
aetam_tuple_insert(Relation rel, TupleTableSlot *slot, CommandId cid,
				   int options, struct BulkInsertStateData *bistate)
{
	MemoryContext old = begin_op();

	do_tuple_insert(rel, slot, cid, options, bistate);
	MemoryContextSwitchTo(old);
}

void
aetam_multi_insert(Relation rel, TupleTableSlot **slots, int nslots,
				   CommandId cid, int options, struct BulkInsertStateData *bistate)
{
	MemoryContext old = begin_op();

	do_multi_insert(rel, slots, nslots, cid, options, bistate);
	MemoryContextSwitchTo(old);
}

void
aetam_tuple_complete_speculative(Relation rel, TupleTableSlot *slot,
								 uint32 specToken, bool succeeded)
{
	MemoryContext old = begin_op();

	do_tuple_complete_speculative(rel, slot, specToken, succeeded);
	MemoryContextSwitchTo(old);
}

TM_Result
aetam_tuple_delete(Relation rel, ItemPointer tid, CommandId cid,
				   Snapshot snapshot, Snapshot crosscheck, bool wait,
				   TM_FailureData *tmfd, bool changingPart)
{
	MemoryContext old = begin_op();
	TM_Result		res;

	reset_tuplock();
	res = do_tuple_delete(rel, tid, cid, snapshot, crosscheck, wait, tmfd, changingPart);
	release_tuplock();
	MemoryContextSwitchTo(old);
	return res;
}

TM_Result
aetam_tuple_update(Relation rel, ItemPointer otid, TupleTableSlot *slot,
				   CommandId cid, Snapshot snapshot, Snapshot crosscheck,
				   bool wait, TM_FailureData *tmfd, LockTupleMode *lockmode,
				   bool *update_indexes)
{
	MemoryContext old = begin_op();
	TM_Result		res;

	reset_tuplock();
	res = do_tuple_update(rel, otid, slot, cid, snapshot, crosscheck, wait, tmfd, lockmode, update_indexes);
	release_tuplock();
	MemoryContextSwitchTo(old);
	return res;
}

TM_Result
aetam_tuple_lock(Relation rel, ItemPointer tid, Snapshot snapshot,
				 TupleTableSlot *slot, CommandId cid, LockTupleMode mode,
				 LockWaitPolicy wait_policy, uint8 flags, TM_FailureData *tmfd)
{
	MemoryContext old = begin_op();
	TM_Result		res;

	reset_tuplock();
	res = do_tuple_lock(rel, tid, snapshot, slot, cid, mode, wait_policy, flags, tmfd);
	release_tuplock();
	MemoryContextSwitchTo(old);
	return res;
}
