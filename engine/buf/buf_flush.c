/*
 * buf_flush.c — writing frames (write-ahead rule, checksums), flushing files,
 * forgetting files, statistics. Rules B1..B8 are in buf/README.md.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf_internal.h"
#include "aether/wal.h"

/*
 * Write pinned frame b to the host if it is dirty.
 *
 * Entry: b pinned by the caller, no latch on b held by the caller.
 * Steps: share-latch b (or, with nowait, give up with *skipped = true if the
 * latch is busy), claim the frame's I/O (B5), copy the page and clear DIRTY
 * under the latch, unlatch, flush the log up to the copy's LSN (B6: the
 * write-ahead rule), stamp the checksum on the copy and write it.
 * A page changed after the copy is dirty again and written later.
 * Exit: b still pinned, not latched. On a failed write the frame is dirty again.
 */
ae_status
ae_buf_write_frame(ae_engine *eng, ae_buf *b, bool nowait, bool *skipped)
{
	_Alignas(64) char copy[AE_PAGE_SIZE];
	ae_lsn		lsn;
	ae_status	st = AE_OK;

	if (skipped)
		*skipped = false;
	if (nowait)
	{
		if (!ae_latch_try_acquire(&b->latch, false))
		{
			*skipped = true;
			return AE_OK;
		}
	}
	else
		ae_latch_acquire(&b->latch, false);
	if (!ae_buf_start_io(b, true))
	{
		ae_latch_release(&b->latch);
		return AE_OK;
	}
	memcpy(copy, ae_buf_page(b), AE_PAGE_SIZE);
	buf_update_state(b, 0, BS_DIRTY, 0);
	ae_latch_release(&b->latch);

	lsn = ae_page_hdr(copy)->lsn;
	if (lsn != 0)
		st = ae_wal_flush(eng, lsn);
	if (st == AE_OK)
	{
		if (!ae_page_is_new(copy))
			ae_page_set_checksum(copy, b->block);
		st = eng->host.write_block(eng->host.ctx, b->file, b->block, copy);
	}
	if (st != AE_OK)
	{
		ae_buf_end_io(b, BS_DIRTY, 0);
		return st;
	}
	atomic_fetch_add_explicit(&eng->pool->writes, 1, memory_order_relaxed);
	ae_buf_end_io(b, 0, 0);
	return AE_OK;
}

/* Pin b if it is tag-valid, valid, dirty and (f == NULL or its file is *f). */
static bool
pin_if_dirty(ae_buf *b, const ae_file_id *f)
{
	uint32_t	s = buf_lock_hdr(b);
	bool		ok = (s & (BS_TAG_VALID | BS_VALID | BS_DIRTY)) == (BS_TAG_VALID | BS_VALID | BS_DIRTY) &&
		(!f || ae_file_id_equal(b->file, *f));

	buf_unlock_hdr(b, ok ? s + BS_PIN_ONE : s);
	return ok;
}

typedef struct file_set
{
	ae_file_id *ids;
	size_t		n, cap;
} file_set;

static ae_status
file_set_add(file_set *fs, ae_file_id f)
{
	for (size_t i = 0; i < fs->n; i++)
		if (ae_file_id_equal(fs->ids[i], f))
			return AE_OK;
	if (fs->n == fs->cap)
	{
		size_t		cap = fs->cap ? fs->cap * 2 : 16;
		ae_file_id *ids = realloc(fs->ids, cap * sizeof(*ids));

		if (!ids)
			return ae_fail(AE_NO_MEMORY, f, AE_NO_BLOCK, "out of memory in flush");
		fs->ids = ids;
		fs->cap = cap;
	}
	fs->ids[fs->n++] = f;
	return AE_OK;
}

/*
 * Wait until no frame has I/O in progress. A write by another process (an
 * eviction) clears DIRTY when it copies the page, before the host has the
 * bytes; a checkpoint must not believe such a page written until the write
 * is done, or its sync could miss it.
 */
static void
wait_for_writes(buf_pool *pool)
{
	for (uint32_t i = 0; i < pool->nframes; i++)
	{
		ae_buf	   *b = buf_desc(pool, i);

		for (uint32_t w = atomic_load(&b->state); w & BS_IO; w = atomic_load(&b->state))
			ae_futex_wait(&b->state, w);
	}
}

/*
 * Write every dirty page of file *f (all files when f is NULL), then sync
 * each file written. Entry/exit: the caller holds no latch (writing waits
 * for page latches). Pages dirtied concurrently may or may not be written.
 */
static ae_status
flush_matching(ae_engine *eng, const ae_file_id *f)
{
	buf_pool   *pool = eng->pool;
	file_set	fs = {0};
	ae_status	st = AE_OK;

	for (uint32_t i = 0; i < pool->nframes && st == AE_OK; i++)
	{
		ae_buf	   *b = buf_desc(pool, i);

		if (!(atomic_load_explicit(&b->state, memory_order_relaxed) & BS_DIRTY) ||
			!pin_if_dirty(b, f))
			continue;
		st = ae_buf_write_frame(eng, b, false, NULL);
		if (st == AE_OK)
			st = file_set_add(&fs, b->file);
		buf_unpin(b);
	}
	if (st == AE_OK && !f)
		wait_for_writes(pool);
	if (st == AE_OK && f && fs.n == 0)
		st = file_set_add(&fs, *f);
	for (size_t i = 0; i < fs.n && st == AE_OK; i++)
		st = eng->host.sync_file(eng->host.ctx, fs.ids[i]);
	free(fs.ids);
	return st;
}

ae_status
ae_buf_flush_file(ae_engine *eng, ae_file_id f)
{
	return flush_matching(eng, &f);
}

/*
 * Every page dirty when this is called is written (and its file synced) on
 * return, including pages another process was writing meanwhile: what a
 * checkpoint needs.
 */
ae_status
ae_buf_flush_all(ae_engine *eng)
{
	return flush_matching(eng, NULL);
}

/*
 * Remove b from the page table and clear it if it is tag-valid and (f NULL or
 * its file is *f), without writing. Waits (sleeping) while it is pinned: by
 * rule 2 of buf.h pins are short, and an evictor writing it holds one.
 */
static void
invalidate(ae_engine *eng, ae_buf *b, const ae_file_id *f, bool db_only)
{
	buf_pool   *pool = eng->pool;

	for (;;)
	{
		uint32_t	s = buf_lock_hdr(b);
		ae_file_id	file = b->file;
		uint32_t	block = b->block;
		uint32_t	bucket;
		ae_spinlock *part;

		buf_unlock_hdr(b, s);
		if (!(s & BS_TAG_VALID) ||
			(f && !db_only && !ae_file_id_equal(file, *f)) ||
			(f && db_only && file.db != f->db))
			return;
		bucket = buf_bucket(pool, file, block);
		part = buf_part_lock(pool, bucket);
		ae_spin_lock(part);		/* L4 before L5 */
		s = buf_lock_hdr(b);
		if ((s & BS_TAG_VALID) && BS_PINS(s) == 0 &&
			b->block == block && ae_file_id_equal(b->file, file))
		{
			ae_buf_table_remove(pool, bucket, b);
			b->block = AE_NO_BLOCK;
			b->file = (ae_file_id) {0};
			b->lsn = 0;
			atomic_store_explicit(&b->swz, SWZ_NONE, memory_order_relaxed);	/* S3 */
			buf_unlock_hdr(b, 0);
			ae_spin_unlock(part);
			return;
		}
		buf_unlock_hdr(b, s);
		ae_spin_unlock(part);
		if (BS_PINS(s) > 0)
			usleep(50);
	}
}

void
ae_buf_drop_file(ae_engine *eng, ae_file_id f)
{
	for (uint32_t i = 0; i < eng->pool->nframes; i++)
		invalidate(eng, buf_desc(eng->pool, i), &f, false);
}

void
ae_buf_drop_db(ae_engine *eng, uint32_t db)
{
	ae_file_id	f = {0, db, 0};

	for (uint32_t i = 0; i < eng->pool->nframes; i++)
		invalidate(eng, buf_desc(eng->pool, i), &f, true);
}

void
ae_buf_discard_all(ae_engine *eng)
{
	for (uint32_t i = 0; i < eng->pool->nframes; i++)
		invalidate(eng, buf_desc(eng->pool, i), NULL, false);
}

ae_lsn
ae_buf_max_page_lsn(ae_engine *eng)
{
	ae_lsn		max = 0;

	for (uint32_t i = 0; i < eng->pool->nframes; i++)
	{
		ae_buf	   *b = buf_desc(eng->pool, i);

		if ((atomic_load(&b->state) & BS_VALID) && ae_page_hdr(ae_buf_page(b))->lsn > max)
			max = ae_page_hdr(ae_buf_page(b))->lsn;
	}
	return max;
}

void
ae_buf_get_stats(ae_engine *eng, ae_engine_stats *out)
{
	buf_pool   *pool = eng->pool;

	out->pool_pages = pool->nframes;
	out->pages_used = 0;
	out->pages_dirty = 0;
	for (uint32_t i = 0; i < pool->nframes; i++)
	{
		uint32_t	s = atomic_load_explicit(&buf_desc(pool, i)->state, memory_order_relaxed);

		out->pages_used += (s & BS_VALID) != 0;
		out->pages_dirty += (s & BS_DIRTY) != 0;
	}
	out->reads = atomic_load(&pool->reads);
	out->writes = atomic_load(&pool->writes);
	out->hits = atomic_load(&pool->hits);
	out->evictions = atomic_load(&pool->evictions);
	out->swizzle_hits = out->swizzle_misses = out->swizzle_stale = out->swizzle_steals = 0;
	for (uint32_t i = 0; i < SWZ_STRIPES; i++)
	{
		swz_stripe *c = (swz_stripe *) ((char *) pool + pool->stripe_off) + i;

		out->swizzle_hits += atomic_load_explicit(&c->hits, memory_order_relaxed);
		out->swizzle_misses += atomic_load_explicit(&c->misses, memory_order_relaxed);
		out->swizzle_stale += atomic_load_explicit(&c->stale, memory_order_relaxed);
		out->swizzle_steals += atomic_load_explicit(&c->steals, memory_order_relaxed);
	}
}
