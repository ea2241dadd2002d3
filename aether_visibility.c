/*
 * aether_visibility.c — PostgreSQL's MVCC rules applied to Aether row versions.
 *
 * Each version is a HeapTupleHeader (xmin, xmax, command id or combo id,
 * infomask) followed by the tuple data, so the rules below are PostgreSQL's
 * rules for heap tuples, written for our storage:
 *
 *  1. A version list is newest first; each version's xmax is the xmin of the
 *     version before it (same row id) or names a deleter / an updater that
 *     moved the row to another row id (t_ctid then points there).
 *  2. At most one version of a row is visible to any MVCC snapshot, so a
 *     reader returns the first visible one.
 *  3. Row locks are a lock-only xmax: one locker's xid, or a MultiXact of
 *     shared lockers (aether_rowlock.c). Lock-only xmax never hides a version.
 *  4. Reading a row never writes hint bits back; commit status comes from
 *     clog (TransactionIdDidCommit), and committed xids are remembered per
 *     backend (aetam_xid_committed), which makes repeated checks cheap. A
 *     row rewritten anyway (changed or pruned) gets HEAP_XMIN_COMMITTED on
 *     its versions whose inserters committed durably (aetam_xmin_hintable).
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xlog.h"

#include "access/multixact.h"
#include "access/subtrans.h"
#include "access/transam.h"
#include "access/xact.h"
#include "storage/predicate.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/combocid.h"
#include "utils/snapmgr.h"

#include "aether.h"

/*
 * Rebuild a version as a heap tuple image (HeapTupleHeader, null bitmap,
 * data at t_hoff) in palloc'd memory. t_ctid is this row, or the row the
 * version was moved to.
 */
static uint8
image_hoff(const ae_row_version *rv)
{
	return MAXALIGN(SizeofHeapTupleHeader + rv->bitslen);
}

/*
 * Write version rv of row rowid as a heap tuple image (HeapTupleHeader, null
 * bitmap, data at t_hoff) into t, which has room for image_hoff(rv) +
 * rv->datalen bytes. t_ctid is this row, or the row the version moved to.
 */
static void
fill_image(const ae_row_version *rv, uint64 rowid, HeapTupleHeader t)
{
	uint8		hoff = image_hoff(rv);

	memset(t, 0, hoff);
	t->t_choice.t_heap.t_xmin = rv->xmin;
	t->t_choice.t_heap.t_xmax = rv->xmax;
	t->t_choice.t_heap.t_field3.t_cid = rv->cid;
	t->t_infomask = rv->infomask;
	t->t_infomask2 = rv->infomask2;
	t->t_hoff = hoff;
	if (!rv->has_next)
		aetam_rowid_to_tid(rowid, &t->t_ctid);
	else if (rv->next == AE_ROW_NEXT_MOVED)
		ItemPointerSetMovedPartitions(&t->t_ctid);
	else
		aetam_rowid_to_tid(rv->next, &t->t_ctid);
	if (rv->bitslen > 0)
		memcpy(t->t_bits, rv->bits, rv->bitslen);
	memcpy((char *) t + hoff, rv->data, rv->datalen);
}

/* The version as a palloc'd heap tuple image; *len_out its length. */
static HeapTupleHeader
version_image(const ae_row_version *rv, uint64 rowid, uint32 *len_out)
{
	uint32		len = image_hoff(rv) + rv->datalen;
	HeapTupleHeader t = palloc(len);

	fill_image(rv, rowid, t);
	*len_out = len;
	return t;
}

static void
raise_corrupt_row(Relation rel, uint64 rowid)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("aether: row %llu of relation \"%s\" is corrupt: %s",
					(unsigned long long) rowid, RelationGetRelationName(rel),
					ae_error_last()->message)));
}

/* Version rv of row rowid as a heap tuple in one chunk of cxt (as heap_copytuple makes them). */
static HeapTuple
version_tuple(Relation rel, uint64 rowid, const ae_row_version *rv, MemoryContext cxt)
{
	uint32		len = image_hoff(rv) + rv->datalen;
	HeapTuple	tup = MemoryContextAlloc(cxt, HEAPTUPLESIZE + len);

	tup->t_data = (HeapTupleHeader) ((char *) tup + HEAPTUPLESIZE);
	tup->t_len = len;
	tup->t_tableOid = RelationGetRelid(rel);
	aetam_rowid_to_tid(rowid, &tup->t_self);
	fill_image(rv, rowid, tup->t_data);
	return tup;
}

/*
 * The common case of a read, a row with one version: that version as a heap
 * tuple in one chunk of cxt, ready to hand to a slot. NULL when the row has
 * several versions (take the general path).
 */
HeapTuple
aetam_single_version_tuple(Relation rel, uint64 rowid, const ae_bytes *row, MemoryContext cxt)
{
	ae_row_version rv;
	int			n;

	if (row->len < 1 || (unsigned char) row->data[0] != AE_ROW_SINGLE)
		return NULL;
	if (ae_row_parse(row->data, row->len, &rv, 1, &n) != AE_OK)
		raise_corrupt_row(rel, rowid);
	return version_tuple(rel, rowid, &rv, cxt);
}

/* room for a version's heap tuple header without its null bitmap */
#define HEADER_ONLY_SIZE MAXALIGN(SizeofHeapTupleHeader)

/*
 * Parse row rowid for a reader: h->vers.v[i] is version i's heap tuple
 * header alone (no null bitmap, no data: what visibility looks at), and
 * aetam_headers_tuple builds the one version the reader wants. So the
 * versions a snapshot skips (a hot row holds several) are never copied.
 * h points into row, which must stay valid until aetam_free_headers.
 */
void
aetam_parse_headers(Relation rel, uint64 rowid, const ae_bytes *row, AetamHeaders *h)
{
	ae_row_version small[8];
	int			n;
	char	   *mem;
	ae_status	st = ae_row_parse(row->data, row->len, small, lengthof(small), &n);

	if (st != AE_OK)
		raise_corrupt_row(rel, rowid);
	/*
	 * One chunk: n decoded versions (64 bytes each), n header images
	 * (MAXALIGNed, so each stays MAXALIGNed), the pointer and length arrays.
	 */
	StaticAssertStmt(sizeof(ae_row_version) % MAXIMUM_ALIGNOF == 0,
					 "header images must stay MAXALIGNed");
	mem = palloc(n * (sizeof(ae_row_version) + HEADER_ONLY_SIZE + sizeof(HeapTupleHeader) +
					  sizeof(uint32)));
	h->rowid = rowid;
	h->rv = (ae_row_version *) mem;
	h->vers.n = n;
	h->vers.v = (HeapTupleHeader *) (mem + n * (sizeof(ae_row_version) + HEADER_ONLY_SIZE));
	h->vers.len = (uint32 *) (mem + n * (sizeof(ae_row_version) + HEADER_ONLY_SIZE +
										  sizeof(HeapTupleHeader)));
	if (n <= (int) lengthof(small))
		memcpy(h->rv, small, n * sizeof(ae_row_version));
	else if (ae_row_parse(row->data, row->len, h->rv, n, &n) != AE_OK)
		raise_corrupt_row(rel, rowid);
	for (int i = 0; i < n; i++)
	{
		HeapTupleHeader t = (HeapTupleHeader) (mem + n * sizeof(ae_row_version) +
											   i * HEADER_ONLY_SIZE);
		ae_row_version hdr = h->rv[i];

		hdr.bitslen = 0;		/* the header only: fill_image copies no bitmap, no data */
		hdr.datalen = 0;
		fill_image(&hdr, rowid, t);
		t->t_infomask &= ~HEAP_HASNULL; /* consistent: no bitmap follows */
		h->vers.v[i] = t;
		h->vers.len[i] = HEADER_ONLY_SIZE;
	}
}

/* Version i of a row parsed by aetam_parse_headers, as a whole heap tuple in cxt. */
HeapTuple
aetam_headers_tuple(Relation rel, AetamHeaders *h, int i, MemoryContext cxt)
{
	return version_tuple(rel, h->rowid, &h->rv[i], cxt);
}

void
aetam_free_headers(AetamHeaders *h)
{
	pfree(h->rv);
	h->vers.n = 0;
}

void
aetam_parse_versions(Relation rel, uint64 rowid, const ae_bytes *row, AetamVersions *out)
{
	ae_row_version small[4];
	ae_row_version *vers = small;
	int			n;
	ae_status	st;

	st = ae_row_parse(row->data, row->len, vers, lengthof(small), &n);
	if (st == AE_OK && n > (int) lengthof(small))
	{
		vers = palloc(sizeof(ae_row_version) * n);
		st = ae_row_parse(row->data, row->len, vers, n, &n);
	}
	if (st != AE_OK)
		raise_corrupt_row(rel, rowid);
	out->n = n;
	out->v = palloc(sizeof(HeapTupleHeader) * n);
	out->len = palloc(sizeof(uint32) * n);
	for (int i = 0; i < n; i++)
		out->v[i] = version_image(&vers[i], rowid, &out->len[i]);
	if (vers != small)
		pfree(vers);
}

void
aetam_free_versions(AetamVersions *vers)
{
	for (int i = 0; i < vers->n; i++)
		pfree(vers->v[i]);
	pfree(vers->v);
	pfree(vers->len);
	vers->n = 0;
}

/* Heap tuple image t (len bytes) of row rowid, described as a version to encode. */
static void
image_version(HeapTupleHeader t, uint32 len, uint64 rowid, ae_row_version *rv)
{
	ItemPointerData self;

	rv->xmin = t->t_choice.t_heap.t_xmin;
	rv->xmax = t->t_choice.t_heap.t_xmax;
	rv->cid = t->t_choice.t_heap.t_field3.t_cid;
	rv->infomask = t->t_infomask;
	rv->infomask2 = t->t_infomask2;
	aetam_rowid_to_tid(rowid, &self);
	rv->has_next = !ItemPointerEquals(&t->t_ctid, &self);
	rv->next = ItemPointerIndicatesMovedPartitions(&t->t_ctid) ? AE_ROW_NEXT_MOVED
		: aetam_tid_to_rowid(&t->t_ctid);
	rv->bitslen = (t->t_infomask & HEAP_HASNULL)
		? BITMAPLEN(HeapTupleHeaderGetNatts(t)) : 0;
	rv->bits = t->t_bits;
	rv->data = (char *) t + t->t_hoff;
	rv->datalen = len - t->t_hoff;
}

/*
 * Encode versions v[0..n-1] (heap tuple images of row rowid) as the row's
 * stored value in *out.
 */
void
aetam_build_row(Relation rel, uint64 rowid, HeapTupleHeader *v, const uint32 *len, int n,
				ae_bytes *out)
{
	aetam_build_row_keeping(rel, rowid, v, len, n, NULL, NULL, 0, out);
}

/*
 * Rule 4's exception: may a version with this xmin and infomask, being
 * rewritten anyway (a change to its row, its pruning, VACUUM), store
 * HEAP_XMIN_COMMITTED? Then later readers of the row need not ask clog:
 * without the bit, rows last changed long ago send every reader to clog
 * pages that have left its buffers, a read from pg_xact under the SLRU
 * lock that every commit also takes. As for heap's hint bits:
 *  - only a durable commit counts: the rewrite reaches Aether's log, which
 *    is not ordered with an asynchronous commit's record in PostgreSQL's
 *    WAL (clog keeps one commit LSN per 32 transactions, so an unflushed
 *    asynchronous commit defers its 31 neighbours' marks too, until the
 *    WAL writer's next flush; a later rewrite marks them);
 *  - the inserter must have left the proc array: clog says committed a
 *    moment before that, and until then a dirty snapshot must wait for it.
 */
bool
aetam_xmin_hintable(TransactionId xmin, uint16 infomask)
{
	return (infomask & (HEAP_XMIN_COMMITTED | HEAP_XMIN_INVALID)) == 0 &&
		TransactionIdIsNormal(xmin) && !TransactionIdIsCurrentTransactionId(xmin) &&
		aetam_xid_committed(xmin) && aetam_commit_is_durable(xmin) &&
		!TransactionIdIsInProgress(xmin);
}

/*
 * Encode v[0..n-1] (heap tuple images), then the versions keep[0..nkeep-1]
 * of a row parsed by aetam_parse_headers as they are stored (their bytes
 * are copied, never rebuilt from an image), as row rowid's value in *out.
 */
void
aetam_build_row_keeping(Relation rel, uint64 rowid, HeapTupleHeader *v, const uint32 *len, int n,
						const AetamHeaders *h, const int *keep, int nkeep, ae_bytes *out)
{
	ae_row_version *rv = palloc(sizeof(ae_row_version) * (n + nkeep));
	ae_status	st;

	for (int i = 0; i < n; i++)
		image_version(v[i], len[i], rowid, &rv[i]);
	for (int i = 0; i < nkeep; i++)
		rv[n + i] = h->rv[keep[i]];
	for (int i = 0; i < n + nkeep; i++)
		if (aetam_xmin_hintable(rv[i].xmin, rv[i].infomask))
			rv[i].infomask |= HEAP_XMIN_COMMITTED;
	st = ae_row_build(rv, n + nkeep, out);
	pfree(rv);
	if (st != AE_OK)
		aetam_raise(st, rel);
}

/*
 * Make version i of a row parsed by aetam_parse_headers a whole heap tuple
 * image in h->vers (palloc'd), for a caller that needs its data.
 */
void
aetam_headers_materialize(Relation rel, AetamHeaders *h, int i)
{
	HeapTuple	tup = aetam_headers_tuple(rel, h, i, CurrentMemoryContext);

	h->vers.v[i] = tup->t_data;
	h->vers.len[i] = tup->t_len;
}

/*
 * Xids this backend found committed (rule 4). clog keeps only the last
 * xid looked up; a scan of hot rows asks about a few recent writers again
 * and again, each time through a shared SLRU buffer and its lock. A commit
 * is final, so an entry stays true for as long as the xid names the same
 * transaction: xids are reused only 2^32 transactions later. The cache is
 * emptied whenever the next full (64-bit) xid has moved XID_CACHE_SPAN past
 * the point it was last emptied at; that is checked on the first lookup
 * under each new snapshot or transaction (RecentXmin or the local
 * transaction id changed), which no session can postpone across a
 * wraparound: a lookup always runs under a snapshot taken after every xid
 * it asks about. Direct-mapped by the xid's low bits; 0 (invalid) is empty.
 */
#define XID_CACHE_SIZE	256		/* power of two */
#define XID_CACHE_SPAN	(UINT64CONST(1) << 24)

static TransactionId committed_xids[XID_CACHE_SIZE];
static uint64 xid_cache_base = 0;	/* next full xid when last emptied; 0: never */
static TransactionId xid_cache_xmin = InvalidTransactionId;	/* RecentXmin at the last check */
static LocalTransactionId xid_cache_lxid = InvalidLocalTransactionId;

static void
xid_cache_check_age(void)
{
	uint64		next = U64FromFullTransactionId(ReadNextFullTransactionId());

	xid_cache_xmin = RecentXmin;
	xid_cache_lxid = MyProc ? MyProc->lxid : InvalidLocalTransactionId;
	if (xid_cache_base != 0 && next >= xid_cache_base && next - xid_cache_base < XID_CACHE_SPAN)
		return;
	memset(committed_xids, 0, sizeof(committed_xids));
	xid_cache_base = next;
}

bool
aetam_xid_committed(TransactionId xid)
{
	TransactionId *slot;

	if (!TransactionIdIsNormal(xid))
		return xid == FrozenTransactionId || xid == BootstrapTransactionId;
	if (xid_cache_xmin != RecentXmin || xid_cache_base == 0 ||
		(MyProc && xid_cache_lxid != MyProc->lxid))
		xid_cache_check_age();
	slot = &committed_xids[xid & (XID_CACHE_SIZE - 1)];
	if (*slot == xid)
		return true;
	if (!TransactionIdDidCommit(xid))
		return false;
	*slot = xid;
	return true;
}

/* ---- MVCC snapshots ---- */

static bool
inserted_for_mvcc(HeapTupleHeader t, Snapshot snap)
{
	TransactionId xmin = HeapTupleHeaderGetRawXmin(t);

	if (HeapTupleHeaderXminFrozen(t))
		return true;
	if (HeapTupleHeaderXminInvalid(t))
		return false;
	if (TransactionIdIsCurrentTransactionId(xmin))
		return HeapTupleHeaderGetCmin(t) < snap->curcid;
	if (XidInMVCCSnapshot(xmin, snap))
		return false;
	return HeapTupleHeaderXminCommitted(t) || aetam_xid_committed(xmin);
}

static bool
deleted_for_mvcc(HeapTupleHeader t, Snapshot snap)
{
	TransactionId xmax;

	if ((t->t_infomask & HEAP_XMAX_INVALID) || HEAP_XMAX_IS_LOCKED_ONLY(t->t_infomask))
		return false;
	xmax = HeapTupleHeaderGetRawXmax(t);
	if (TransactionIdIsCurrentTransactionId(xmax))
		return HeapTupleHeaderGetCmax(t) < snap->curcid;
	if (XidInMVCCSnapshot(xmax, snap))
		return false;
	return (t->t_infomask & HEAP_XMAX_COMMITTED) || aetam_xid_committed(xmax);
}

/* ---- SnapshotSelf and SnapshotDirty (dirty reports in-progress xids in snap) ---- */

static bool
visible_self_or_dirty(HeapTupleHeader t, Snapshot snap, bool dirty)
{
	TransactionId xmin = HeapTupleHeaderGetRawXmin(t);
	TransactionId xmax;

	if (dirty)
	{
		snap->xmin = snap->xmax = InvalidTransactionId;
		snap->speculativeToken = 0;
	}
	if (HeapTupleHeaderXminInvalid(t) && !HeapTupleHeaderXminFrozen(t))
		return false;
	if (!HeapTupleHeaderXminCommitted(t) && !TransactionIdIsCurrentTransactionId(xmin))
	{
		if (TransactionIdIsInProgress(xmin))
		{
			if (!dirty)
				return false;
			snap->xmin = xmin;	/* caller may wait for it */
		}
		else if (!aetam_xid_committed(xmin))
			return false;
	}
	if ((t->t_infomask & HEAP_XMAX_INVALID) || HEAP_XMAX_IS_LOCKED_ONLY(t->t_infomask))
		return true;
	xmax = HeapTupleHeaderGetRawXmax(t);
	if (TransactionIdIsCurrentTransactionId(xmax))
		return false;
	if (TransactionIdIsInProgress(xmax))
	{
		if (dirty)
			snap->xmax = xmax;
		return true;
	}
	return !aetam_xid_committed(xmax);
}

/* ---- the vacuum horizon ---- */

/*
 * May a version be removed because xid, its deleter, committed? Only once
 * that commit is durable: the removal goes to Aether's log, which is not
 * ordered with PostgreSQL's WAL, and an asynchronous commit's record may not
 * have reached the disk yet (a crash would bring xid back as aborted with
 * the version it replaced gone). Heap gets this ordering from one WAL
 * stream; like heap's hint bits, such a version simply waits (the WAL writer
 * flushes within wal_writer_delay).
 */
bool
aetam_commit_is_durable(TransactionId xid)
{
	XLogRecPtr	lsn;

	if (aetam_commit_known_durable(xid))
		return true;			/* committed through Aether's log (aether_commit.c) */
	lsn = TransactionIdGetCommitLSN(xid);

	return XLogRecPtrIsInvalid(lsn) || RecoveryInProgress() || !XLogNeedsFlush(lsn);
}

/*
 * Make every commit so far durable (a pruner that cannot wait for one):
 * all of PostgreSQL's WAL inserted so far, so that the versions other
 * recent asynchronous commits replaced can go as well without another flush.
 */
void
aetam_make_commits_durable(void)
{
	if (!RecoveryInProgress())
		aetam_flush_pg_wal();
}

/*
 * Classify a version as VACUUM does. *dead_after receives the xmax that must
 * be older than the horizon for a RECENTLY_DEAD version to become DEAD.
 */
static HTSV_Result
vacuum_status(HeapTupleHeader t, TransactionId *dead_after)
{
	TransactionId xmin = HeapTupleHeaderGetRawXmin(t);
	TransactionId xmax;

	*dead_after = InvalidTransactionId;
	if (!HeapTupleHeaderXminCommitted(t))	/* also set when frozen */
	{
		if (HeapTupleHeaderXminInvalid(t))
			return HEAPTUPLE_DEAD;
		if (TransactionIdIsCurrentTransactionId(xmin))
		{
			if (!(t->t_infomask & HEAP_XMAX_INVALID) &&
				!HEAP_XMAX_IS_LOCKED_ONLY(t->t_infomask) &&
				TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetRawXmax(t)))
				return HEAPTUPLE_DELETE_IN_PROGRESS;
			return HEAPTUPLE_INSERT_IN_PROGRESS;
		}
		if (TransactionIdIsInProgress(xmin))
			return HEAPTUPLE_INSERT_IN_PROGRESS;
		if (!aetam_xid_committed(xmin))
			return HEAPTUPLE_DEAD;
	}
	if ((t->t_infomask & HEAP_XMAX_INVALID) || HEAP_XMAX_IS_LOCKED_ONLY(t->t_infomask))
		return HEAPTUPLE_LIVE;
	xmax = HeapTupleHeaderGetRawXmax(t);
	if (TransactionIdIsCurrentTransactionId(xmax) || TransactionIdIsInProgress(xmax))
		return HEAPTUPLE_DELETE_IN_PROGRESS;
	if (!aetam_xid_committed(xmax))
		return HEAPTUPLE_LIVE;
	/* RECENTLY_DEAD with no dead_after: not removable yet, whatever the horizon */
	if (aetam_commit_is_durable(xmax))
		*dead_after = xmax;
	return HEAPTUPLE_RECENTLY_DEAD;
}

HTSV_Result
aetam_version_vacuum_status(HeapTupleHeader t, TransactionId oldest_xmin)
{
	TransactionId dead_after;
	HTSV_Result res = vacuum_status(t, &dead_after);

	if (res == HEAPTUPLE_RECENTLY_DEAD && TransactionIdIsValid(dead_after) &&
		TransactionIdPrecedes(dead_after, oldest_xmin))
		return HEAPTUPLE_DEAD;
	return res;
}

/* True if no snapshot anywhere can see this version any more. */
bool
aetam_version_dead(HeapTupleHeader t, GlobalVisState *vistest)
{
	TransactionId dead_after;
	HTSV_Result res = vacuum_status(t, &dead_after);

	if (res == HEAPTUPLE_DEAD)
		return true;
	return res == HEAPTUPLE_RECENTLY_DEAD && TransactionIdIsValid(dead_after) &&
		GlobalVisTestIsRemovableXid(vistest, dead_after);
}

/* ---- dispatch ---- */

bool
aetam_version_visible(Relation rel, HeapTupleHeader t, Snapshot snap)
{
	switch (snap->snapshot_type)
	{
		case SNAPSHOT_MVCC:
			return inserted_for_mvcc(t, snap) && !deleted_for_mvcc(t, snap);
		case SNAPSHOT_SELF:
			return visible_self_or_dirty(t, snap, false);
		case SNAPSHOT_DIRTY:
			return visible_self_or_dirty(t, snap, true);
		case SNAPSHOT_ANY:
		case SNAPSHOT_TOAST:
			return true;
		case SNAPSHOT_NON_VACUUMABLE:
			return !aetam_version_dead(t, snap->vistest);
		case SNAPSHOT_HISTORIC_MVCC:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("logical decoding of aether table \"%s\" is not supported",
							RelationGetRelationName(rel))));
	}
	return false;
}

/*
 * Index of the version of *vers visible to snap, or -1 (rule 2 makes "first
 * visible" the answer for every snapshot kind but SnapshotAny).
 */
int
aetam_visible_version(Relation rel, AetamVersions *vers, Snapshot snap)
{
	if (snap->snapshot_type == SNAPSHOT_ANY || snap->snapshot_type == SNAPSHOT_TOAST)
	{
		/*
		 * "The row at this TID, whatever its state": the version a change
		 * would act on (ExecModifyTable fetches the old row this way), else
		 * the newest one (a row whose inserter aborted). The only version
		 * is both, with no clog lookup.
		 */
		int			base = vers->n == 1 ? 0 : aetam_base_version(vers);

		return base >= 0 ? base : 0;
	}
	for (int i = 0; i < vers->n; i++)
		if (aetam_version_visible(rel, vers->v[i], snap))
			return i;
	return -1;
}

/*
 * The version an update, delete or lock acts on: the newest one whose
 * inserter committed or is the current transaction. Newer versions (rule 1)
 * can only be the work of an in-progress or aborted updater, which the
 * caller finds as this version's xmax. -1 if there is none.
 */
int
aetam_base_version(AetamVersions *vers)
{
	for (int i = 0; i < vers->n; i++)
	{
		HeapTupleHeader t = vers->v[i];
		TransactionId xmin = HeapTupleHeaderGetRawXmin(t);

		if (HeapTupleHeaderXminFrozen(t) || HeapTupleHeaderXminCommitted(t))
			return i;
		if (HeapTupleHeaderXminInvalid(t))
			continue;
		if (TransactionIdIsCurrentTransactionId(xmin))
			return i;
		if (!TransactionIdIsInProgress(xmin) && aetam_xid_committed(xmin))
			return i;
	}
	return -1;
}
