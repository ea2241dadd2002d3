/*
 * aether_undo.c — removing the rows of rolled-back work.
 *
 * A transaction that aborts (ROLLBACK, ROLLBACK TO SAVEPOINT, an error)
 * leaves the rows it inserted invisible (PostgreSQL's clog says aborted) but
 * taking space. Every new row id comes from aetam_next_rowid, which notes the
 * ids it hands out against the current subtransaction nesting level
 * (aetam_undo_note); ranges of consecutive ids merge, so a bulk load is one
 * entry. When a (sub)transaction aborts, its ranges go to a queue in shared
 * memory; the background worker deletes every row in them whose versions
 * were all created by aborted transactions (aetam_undo_run). Each delete is
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

void
aetam_undo_note(Relation rel, uint64 first, int n)
{
	int			level = GetCurrentTransactionNestLevel();
	UndoRange  *r = nranges > 0 ? &ranges[nranges - 1] : NULL;

	if (r && r->level == level && r->last + 1 == first &&
		RelFileNodeEquals(r->rnode, rel->rd_node))
	{
		r->last = first + n - 1;
		return;
	}
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

/* Were all versions of this stored row created by aborted transactions? */
static bool
row_is_aborted(const void *val, size_t vlen)
{
	ae_row_version vers[64];
	int			n;

	if (ae_row_parse(val, vlen, vers, 64, &n) != AE_OK || n > 64)
		return false;			/* corrupt or very long: leave it to VACUUM / verify */
	for (int i = 0; i < n; i++)
	{
		TransactionId xmin = vers[i].xmin;

		if (!TransactionIdIsNormal(xmin) || !TransactionIdDidAbort(xmin))
			return false;
	}
	return n > 0;
}

static bool
file_exists(ae_file_id f)
{
	return smgrexists(smgropen(aetam_rnode(f), InvalidBackendId), MAIN_FORKNUM);
}

/* Delete the aborted rows of one range; returns how many. */
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
		unsigned char k[8];

		if (klen != 8 || !row_is_aborted(val, vlen))
			continue;
		memcpy(k, key, 8);
		st = ae_btree_delete(&tree, k, 8);
		if (st == AE_NOT_FOUND)
			st = AE_OK;			/* VACUUM was faster */
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
