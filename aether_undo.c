/*
 * aether_undo.c — removing the rows and row versions of rolled-back work.
 *
 * A transaction that aborts (ROLLBACK, ROLLBACK TO SAVEPOINT, an error)
 * leaves the rows it inserted, and the versions it added to rows it updated,
 * invisible (PostgreSQL's clog says aborted) but taking space. Every new row
 * id comes from aetam_next_rowid, and every in-place UPDATE notes its row,
 * against the current subtransaction nesting level (aetam_undo_note); ranges
 * of consecutive ids merge, so a bulk load or a whole-table UPDATE is one
 * entry. When a (sub)transaction aborts, its ranges go to a queue in shared
 * memory; the background worker drops, from every row in them, the newest
 * versions created by aborted transactions, and deletes the rows left with
 * none (aetam_undo_run). Each delete is
 * an ordinary logged B+tree change, so it is redone after a crash like any
 * other (a redo-only compensation record); overflow chains of large values
 * go back to the free list. An aborted bulk load therefore needs no VACUUM.
 *
 * Transactions in flight at a crash (losers): the first time a transaction
 * takes row ids in a table or adds a version to one of its rows (an
 * in-place UPDATE), it logs a host record (AETAM_REC_INSERTING: its full
 * xid, the file, that first row id), again whenever it goes below the
 * lowest row id logged so far, and keeps it in a slot of its PGPROC in
 * shared memory until it ends; a checkpoint logs the slots again
 * after its redo point, so recovery always finds the record of every
 * transaction that may have rows in the log. After the commits are restored
 * (aether_commit.c), every such transaction that did not commit is queued
 * with the range from its first row id to the end of the table; the sweep
 * drops versions of transactions that aborted or were in flight at the
 * crash (neither committed nor running) — redo-only compensation, as above.
 *
 * Limits: a full queue drops ranges (VACUUM removes those rows); rows of a
 * prepared transaction later rolled back are left to VACUUM, as are loser
 * rows of a transaction that wrote more than INSERTING_SLOTS tables when a
 * checkpoint came between its first insert and the crash, or more than
 * INSERTING_LOCAL tables at all.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/transam.h"
#include "access/xact.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/smgr.h"
#include "storage/spin.h"
#include "utils/memutils.h"

#include "aether.h"
#include "aether/buf.h"
#include "aether/row.h"
#include "aether/wal.h"

/* ---- this backend's inserted row-id ranges ---- */

typedef struct UndoRange
{
	RelFileNode rnode;
	uint64		first;
	uint64		last;
	int			level;			/* subtransaction nesting level that inserted */
} UndoRange;

static UndoRange *ranges = NULL;
static int	nranges = 0;
static int	ranges_cap = 0;

/* Past this many ranges a transaction's rollback is left to VACUUM (memory bound). */
#define UNDO_MAX_RANGES 65536

void
aetam_undo_note(Relation rel, uint64 first, int n)
{
	int			level = GetCurrentTransactionNestLevel();
	UndoRange  *r = nranges > 0 ? &ranges[nranges - 1] : NULL;

	if (r && r->level == level && RelFileNodeEquals(r->rnode, rel->rd_node) &&
		first >= r->first && first <= r->last + 1)
	{
		/* the same or the next row ids (an UPDATE of rows just inserted, a scan in order) */
		if (first + n - 1 > r->last)
			r->last = first + n - 1;
		return;
	}
	if (nranges >= UNDO_MAX_RANGES)
		return;
	if (nranges == ranges_cap)
	{
		ranges_cap = ranges_cap ? ranges_cap * 2 : 16;
		ranges = ranges ? repalloc(ranges, sizeof(UndoRange) * ranges_cap)
			: MemoryContextAlloc(TopMemoryContext, sizeof(UndoRange) * ranges_cap);
	}
	r = &ranges[nranges++];
	r->rnode = rel->rd_node;
	r->first = first;
	r->last = first + n - 1;
	r->level = level;
}

/* ---- the shared queue of ranges to clean ---- */

#define UNDO_QUEUE_SIZE 4096

typedef struct UndoItem
{
	ae_file_id	file;
	uint64		first;
	uint64		last;
} UndoItem;

typedef struct UndoQueue
{
	slock_t		mutex;
	uint32		head;			/* next to take */
	uint32		count;
	uint64		dropped;		/* ranges lost to a full queue */
	UndoItem	items[UNDO_QUEUE_SIZE];
} UndoQueue;

static UndoQueue *queue = NULL;

static void queue_push_item(const UndoItem *it);

/* ---- where running transactions began inserting (for crash losers) ---- */

#define INSERTING_SLOTS 8
#define INSERTING_LOCAL 64

typedef struct InsertingRecord
{
	uint64		xid;			/* FullTransactionId of the top-level transaction */
	uint64		first;			/* its first row id in the file */
	ae_file_id	file;
	uint32		pad;
} InsertingRecord;

typedef struct ProcInserting
{
	slock_t		mutex;
	int			n;
	InsertingRecord recs[INSERTING_SLOTS];
} ProcInserting;

static ProcInserting *inserting = NULL;
static int	inserting_procs = 0;

/* the files this transaction already logged a first row id for, and the lowest */
typedef struct LoggedFile
{
	RelFileNode node;
	uint64		first;
} LoggedFile;

static LoggedFile logged_files[INSERTING_LOCAL];
static int	nlogged_files = 0;

Size
aetam_undo_shmem_size(void)
{
	return add_size(sizeof(UndoQueue), mul_size(sizeof(ProcInserting), aetam_total_procs()));
}

void
aetam_undo_shmem_init(void)
{
	bool		found;

	queue = ShmemInitStruct("aether undo queue", sizeof(UndoQueue), &found);
	if (!found)
	{
		memset(queue, 0, sizeof(UndoQueue));
		SpinLockInit(&queue->mutex);
	}
	inserting_procs = aetam_total_procs();
	inserting = ShmemInitStruct("aether inserting transactions",
								mul_size(sizeof(ProcInserting), inserting_procs), &found);
	if (!found)
		for (int i = 0; i < inserting_procs; i++)
		{
			SpinLockInit(&inserting[i].mutex);
			inserting[i].n = 0;
		}
}

/*
 * The current transaction adds versions to rel from row id first on: it
 * takes new row ids (an INSERT) or adds a version to an existing row (an
 * in-place UPDATE of row first). Log where it began (see the file header)
 * the first time per file, and again whenever first is lower than the
 * lowest logged so far (an UPDATE of an older row); recovery sweeps a
 * loser's files from the lowest first it finds. The slot is filled before
 * the record is logged, so a checkpoint either logs it again after its redo
 * point or comes before the record itself.
 */
void
aetam_undo_note_inserting(Relation rel, uint64 first)
{
	InsertingRecord rec;
	LoggedFile *lf = NULL;
	ae_status	st;

	for (int i = 0; i < nlogged_files; i++)
		if (RelFileNodeEquals(logged_files[i].node, rel->rd_node))
		{
			if (first >= logged_files[i].first)
				return;
			lf = &logged_files[i];
			break;
		}
	if (lf == NULL && nlogged_files == INSERTING_LOCAL)
		return;					/* so many tables: a crash leaves the rest to VACUUM */
	memset(&rec, 0, sizeof(rec));
	rec.xid = U64FromFullTransactionId(GetTopFullTransactionId());
	rec.first = first;
	rec.file = aetam_file_id(&rel->rd_node);
	if (inserting && MyProc && MyProc->pgprocno < inserting_procs)
	{
		ProcInserting *mine = &inserting[MyProc->pgprocno];
		int			i;

		SpinLockAcquire(&mine->mutex);
		for (i = 0; i < mine->n; i++)
			if (ae_file_id_equal(mine->recs[i].file, rec.file))
				break;
		if (i < mine->n)
			mine->recs[i].first = first;
		else if (mine->n < INSERTING_SLOTS)
			mine->recs[mine->n++] = rec;
		SpinLockRelease(&mine->mutex);
	}
	st = ae_wal_log_host(aetam_engine(), AETAM_REC_INSERTING, &rec, sizeof(rec), NULL);
	if (st != AE_OK)
		aetam_raise(st, rel);
	if (lf == NULL)
	{
		lf = &logged_files[nlogged_files++];
		lf->node = rel->rd_node;
	}
	lf->first = first;
}

static void
forget_inserting(void)
{
	nlogged_files = 0;
	if (inserting && MyProc && MyProc->pgprocno < inserting_procs)
	{
		ProcInserting *mine = &inserting[MyProc->pgprocno];

		SpinLockAcquire(&mine->mutex);
		mine->n = 0;
		SpinLockRelease(&mine->mutex);
	}
}

/*
 * For host->checkpoint_prepare: log every running transaction's records
 * again, after the redo point, so that recovery from this checkpoint still
 * knows where they began inserting.
 */
ae_status
aetam_undo_checkpoint_prepare(ae_engine *eng)
{
	for (int p = 0; inserting && p < inserting_procs; p++)
	{
		InsertingRecord recs[INSERTING_SLOTS];
		int			n;

		SpinLockAcquire(&inserting[p].mutex);
		n = inserting[p].n;
		memcpy(recs, inserting[p].recs, sizeof(InsertingRecord) * n);
		SpinLockRelease(&inserting[p].mutex);
		for (int i = 0; i < n; i++)
		{
			ae_status	st = ae_wal_log_host(eng, AETAM_REC_INSERTING, &recs[i],
											 sizeof(recs[i]), NULL);

			if (st != AE_OK)
				return st;
		}
	}
	return AE_OK;
}

/* ---- recovery: the records found in the log (the worker's memory) ---- */

static InsertingRecord *found = NULL;
static int	nfound = 0;
static uint32 found_cap = 0;

/* host->redo_record for AETAM_REC_INSERTING (never longjmps) */
ae_status
aetam_undo_redo_record(const void *data, size_t len)
{
	if (len != sizeof(InsertingRecord))
		return ae_fail(AE_CORRUPT, (ae_file_id) {0}, AE_NO_BLOCK,
					   "inserting record of %zu bytes", len);
	if (!aetam_array_grow((void **) &found, &found_cap, nfound + 1, sizeof(InsertingRecord)))
		return ae_fail(AE_NO_MEMORY, (ae_file_id) {0}, AE_NO_BLOCK,
					   "out of memory remembering %d inserting transactions", nfound);
	memcpy(&found[nfound++], data, sizeof(InsertingRecord));
	return AE_OK;
}

/*
 * After the commits are restored: queue, per file, the rows from the first
 * row id of any transaction that did not commit (nor is prepared) to the
 * end of the table. Returns the number of such transactions.
 */
uint64
aetam_undo_queue_losers(void)
{
	FullTransactionId next = ReadNextFullTransactionId();
	TransactionId oldest = ShmemVariableCache->oldestXid;
	uint64		losers = 0;
	int			nitems = 0;
	UndoItem   *items = palloc(sizeof(UndoItem) * Max(nfound, 1));

	for (int i = 0; i < nfound; i++)
	{
		FullTransactionId fx = FullTransactionIdFromU64(found[i].xid);
		TransactionId xid = XidFromFullTransactionId(fx);
		int			j;

		if (!FullTransactionIdPrecedes(fx, next) || TransactionIdPrecedes(xid, oldest) ||
			TransactionIdDidCommit(xid) || TransactionIdIsInProgress(xid))
			continue;			/* committed, prepared, or beyond what clog can tell */
		losers++;
		for (j = 0; j < nitems; j++)
			if (ae_file_id_equal(items[j].file, found[i].file))
				break;
		if (j == nitems)
		{
			items[nitems].file = found[i].file;
			items[nitems].first = found[i].first;
			items[nitems++].last = PG_UINT64_MAX;
		}
		else
			items[j].first = Min(items[j].first, found[i].first);
	}
	for (int j = 0; j < nitems; j++)
		queue_push_item(&items[j]);
	pfree(items);
	if (found)
		pfree(found);
	found = NULL;
	nfound = found_cap = 0;
	return losers;
}

static void
queue_push_item(const UndoItem *it)
{
	SpinLockAcquire(&queue->mutex);
	if (queue->count < UNDO_QUEUE_SIZE)
		queue->items[(queue->head + queue->count++) % UNDO_QUEUE_SIZE] = *it;
	else
		queue->dropped++;
	SpinLockRelease(&queue->mutex);
}

static void
queue_push(const UndoRange *r)
{
	UndoItem	it = {.file = aetam_file_id(&r->rnode), .first = r->first, .last = r->last};

	queue_push_item(&it);
}

static bool
queue_pop(UndoItem *out)
{
	bool		got = false;

	SpinLockAcquire(&queue->mutex);
	if (queue->count > 0)
	{
		*out = queue->items[queue->head];
		queue->head = (queue->head + 1) % UNDO_QUEUE_SIZE;
		queue->count--;
		got = true;
	}
	SpinLockRelease(&queue->mutex);
	return got;
}

/*
 * Transaction end. A (sub)transaction that aborts queues the ranges of its
 * level and deeper ones; a subtransaction that commits hands its ranges to
 * its parent; a top-level end forgets the rest. Never raises an error (this
 * runs during abort).
 */
void
aetam_undo_xact_end(bool abort, bool subxact)
{
	int			level = subxact ? GetCurrentTransactionNestLevel() : 0;
	int			kept = 0;

	if (!queue)
		return;
	if (!subxact)
		forget_inserting();
	for (int i = 0; i < nranges; i++)
	{
		UndoRange  *r = &ranges[i];

		if (r->level < level)
			ranges[kept++] = *r;
		else if (abort)
			queue_push(r);
		else if (subxact)
		{
			r->level = level - 1;
			ranges[kept++] = *r;
		}
	}
	nranges = kept;
}

/* ---- the background worker's part ---- */

#define UNDO_MAX_VERSIONS 64

/*
 * Did xid abort, or end without committing (in flight at a crash)? The
 * in-progress check comes before the second commit check, as in heap's
 * visibility rules: a transaction that commits between them is seen
 * committed.
 */
static bool
xid_aborted(TransactionId xid)
{
	if (!TransactionIdIsNormal(xid))
		return false;
	if (TransactionIdDidAbort(xid))
		return true;
	if (TransactionIdDidCommit(xid) || TransactionIdIsInProgress(xid))
		return false;
	return !TransactionIdDidCommit(xid);
}

/*
 * Was this version created by a transaction that aborted (or was in flight
 * at a crash)? A frozen or hinted-committed version never is, and an xid
 * older than clog's horizon committed long ago (clog cannot be asked).
 */
static bool
version_aborted(const ae_row_version *v)
{
	if (v->infomask & HEAP_XMIN_COMMITTED)	/* also set when frozen */
		return false;
	if (!TransactionIdIsNormal(v->xmin) ||
		TransactionIdPrecedes(v->xmin, ShmemVariableCache->oldestXid))
		return false;
	return xid_aborted(v->xmin);
}

/*
 * How many of the newest versions of this stored row were created by
 * aborted transactions (versions are newest first). -1 if the row cannot be
 * read here (corrupt, or very long: left to VACUUM and verify).
 */
static int
aborted_prefix(const void *val, size_t vlen, ae_row_version *vers, int *n)
{
	int			k = 0;

	if (ae_row_parse(val, vlen, vers, UNDO_MAX_VERSIONS, n) != AE_OK || *n > UNDO_MAX_VERSIONS)
		return -1;
	while (k < *n && version_aborted(&vers[k]))
		k++;
	return k;
}

static bool
file_exists(ae_file_id f)
{
	return smgrexists(smgropen(aetam_rnode(f), InvalidBackendId), MAIN_FORKNUM);
}

/* Remove the aborted versions (and rows) of one range; returns the rows changed. */
static uint64
clean_range(ae_engine *eng, const UndoItem *it)
{
	ae_btree	tree;
	ae_btree_cursor c;
	unsigned char lo[8],
				hi[8];
	const void *key,
			   *val;
	size_t		klen,
				vlen;
	uint64		removed = 0;
	ae_status	st;

	if (!file_exists(it->file))
		return 0;				/* dropped with the transaction that created it */
	ae_btree_open(&tree, eng, it->file, NULL);
	ae_row_key(it->first, lo);
	ae_row_key(it->last, hi);
	st = ae_btree_cursor_open(&c, &tree, AE_FORWARD, AE_BUF_SCAN, lo, 8, true, hi, 8, true);
	while (st == AE_OK && (st = ae_btree_cursor_next(&c, &key, &klen, &val, &vlen)) == AE_OK)
	{
		ae_row_version vers[UNDO_MAX_VERSIONS];
		unsigned char k[8];
		int			n,
					drop = klen == 8 ? aborted_prefix(val, vlen, vers, &n) : -1;

		if (drop <= 0)
			continue;
		memcpy(k, key, 8);
		if (drop == n)
			st = ae_btree_cas(&tree, k, 8, val, vlen, NULL, 0);	/* the whole row */
		else
		{
			ae_bytes	rest = {0};

			/* the versions older than the aborted ones stay as they are */
			st = ae_row_build(vers + drop, n - drop, &rest);
			if (st == AE_OK)
				st = ae_btree_cas(&tree, k, 8, val, vlen, rest.data, rest.len);
			ae_bytes_free(&rest);
		}
		if (st == AE_CONFLICT || st == AE_NOT_FOUND)
			st = AE_OK;			/* changed meanwhile: its writer prunes it */
		else if (st == AE_OK)
			removed++;
	}
	ae_btree_cursor_close(&c);
	if (st != AE_OK && st != AE_NOT_FOUND)
		ereport(LOG,
				(errmsg("aether: removing rolled-back rows %llu..%llu of file %u/%u/%u failed: %s",
						(unsigned long long) it->first, (unsigned long long) it->last,
						it->file.spc, it->file.db, it->file.rel, ae_error_last()->message)));
	return removed;
}

/* Work through the queue (the background worker, every tick). Returns rows removed. */
uint64
aetam_undo_run(ae_engine *eng)
{
	UndoItem	it;
	uint64		removed = 0;

	while (queue_pop(&it))
		removed += clean_range(eng, &it);
	return removed;
}
