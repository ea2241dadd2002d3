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
 * Limits: a full queue drops ranges (VACUUM removes those rows); rows of a
 * prepared transaction later rolled back, and of transactions in flight at a
 * crash, are left to VACUUM as well (Aether's log records carry no xid).
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "storage/shmem.h"
#include "storage/smgr.h"
#include "storage/spin.h"
#include "utils/memutils.h"

#include "aether.h"
#include "aether/buf.h"
#include "aether/row.h"

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

Size
aetam_undo_shmem_size(void)
{
	return sizeof(UndoQueue);
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
}

static void
queue_push(const UndoRange *r)
{
	SpinLockAcquire(&queue->mutex);
	if (queue->count < UNDO_QUEUE_SIZE)
	{
		UndoItem   *it = &queue->items[(queue->head + queue->count) % UNDO_QUEUE_SIZE];

		it->file = aetam_file_id(&r->rnode);
		it->first = r->first;
		it->last = r->last;
		queue->count++;
	}
	else
		queue->dropped++;
	SpinLockRelease(&queue->mutex);
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
	while (k < *n && TransactionIdIsNormal(vers[k].xmin) && TransactionIdDidAbort(vers[k].xmin))
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
