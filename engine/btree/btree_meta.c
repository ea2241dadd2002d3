/*
 * btree_meta.c — the metapage: create/open, page allocation and the free
 * list, the id counter, info; plus the ae_bytes helpers.
 *
 * Every metapage change is logged as AE_BT_REC_META_SET carrying the whole
 * 64-byte metapage item (redo copies it: trivially deterministic).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include "btree_internal.h"
#include "aether/checkpoint.h"

/* ---------------------------------------------------------------- ae_bytes */

ae_status
ae_bytes_reserve(ae_bytes *b, size_t cap)
{
	char	   *p;

	if (b->cap >= cap && b->data)
		return AE_OK;
	if (cap < 64)
		cap = 64;
	if (cap < b->cap * 2)
		cap = b->cap * 2;
	p = realloc(b->data, cap);
	if (!p)
		return ae_fail(AE_NO_MEMORY, (ae_file_id) {0}, AE_NO_BLOCK,
					   "out of memory growing a buffer to %zu bytes", cap);
	b->data = p;
	b->cap = cap;
	return AE_OK;
}

void
ae_bytes_free(ae_bytes *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

ae_status
bt_bytes_set(ae_bytes *b, const void *data, size_t len)
{
	ae_status	st = ae_bytes_reserve(b, len);

	if (st != AE_OK)
		return st;
	if (len)
		memcpy(b->data, data, len);
	b->len = len;
	return AE_OK;
}

/* ---------------------------------------------------------------- metapage */

ae_bt_meta *
bt_meta_ptr(void *page)
{
	uint16_t	len;

	return (ae_bt_meta *) ae_page_item(page, 0, &len);
}

/*
 * W8: per process, the frame that last held each tree's metapage (16
 * entries, direct-mapped by file). Every descent starts at the metapage,
 * and a handle from ae_btree_open starts without a hint (the PostgreSQL
 * glue opens one per operation), so without this every descent would look
 * block 0 up in the buffer table, under a partition spinlock all processes
 * share. A stale frame is caught by the pin's tag check (ae_buf_read_hint),
 * so an entry is only ever a hint.
 */
#define BT_META_HINTS 16

typedef struct bt_meta_hint
{
	ae_engine  *eng;			/* NULL: empty */
	ae_file_id	file;
	uint32_t	frame;
} bt_meta_hint;

static bt_meta_hint meta_hints[BT_META_HINTS];

/*
 * Pin and latch the metapage in mode and check it (I1).
 * Exit AE_OK: *out pinned+latched; otherwise nothing held.
 */
ae_status
bt_meta_read(ae_btree *t, ae_latch_mode mode, ae_buf **out)
{
	ae_buf	   *b;
	bt_meta_hint *h = &meta_hints[bt_file_slot(t, BT_META_HINTS)];
	ae_status	st;
	void	   *page;
	uint16_t	len = 0;

	if (t->meta_hint == AE_BUF_NO_HINT && h->eng == t->eng && ae_file_id_equal(h->file, t->file))
		t->meta_hint = h->frame;
	st = ae_buf_read_hint(t->eng, t->file, AE_BT_META_BLOCK, mode, 0, &t->meta_hint, &b);
	if (st != AE_OK)
		return st;
	h->eng = t->eng;
	h->file = t->file;
	h->frame = t->meta_hint;
	page = ae_buf_page(b);
	if (ae_page_opq(page)->kind == AE_PAGE_META && ae_page_nslots(page) == 1)
		(void) ae_page_item(page, 0, &len);
	if (ae_page_opq(page)->magic != AE_PAGE_MAGIC || len != sizeof(ae_bt_meta) ||
		bt_meta_ptr(page)->magic != AE_BT_META_MAGIC ||
		bt_meta_ptr(page)->version != AE_BT_FORMAT_VERSION)
	{
		ae_buf_release(b);
		return ae_fail(AE_CORRUPT, t->file, AE_BT_META_BLOCK,
					   "btree: block 0 is not a B+tree metapage");
	}
	*out = b;
	return AE_OK;
}

/* Log the metapage's current item (meta latched exclusive, already changed). */
void
bt_meta_log(ae_mtr *m, ae_buf *meta)
{
	ae_mtr_log(m, meta, AE_RMGR_BTREE, AE_BT_REC_META_SET,
			   bt_meta_ptr(ae_buf_page(meta)), sizeof(ae_bt_meta));
}

/*
 * Allocate a page (README A1): pop the free list or extend at npages.
 * meta: latched exclusive by the caller. The metapage change is logged in m;
 * the caller must initialise *out completely and log it in the same mtr.
 * On failure nothing was changed. Exit AE_OK: *out pinned, latched exclusive.
 */
ae_status
bt_alloc_page(ae_btree *t, ae_mtr *m, ae_buf *meta, ae_buf **out)
{
	ae_bt_meta *md = bt_meta_ptr(ae_buf_page(meta));
	ae_buf	   *b;
	ae_status	st;

	if (md->free_head != AE_NO_BLOCK)
	{
		st = ae_buf_read(t->eng, t->file, md->free_head, AE_LATCH_EXCLUSIVE, 0, &b);
		if (st != AE_OK)
			return st;
		if (ae_page_opq(ae_buf_page(b))->kind != AE_PAGE_FREE)	/* I10 */
		{
			ae_buf_release(b);
			return ae_fail(AE_CORRUPT, t->file, md->free_head,
						   "btree: free-list page is not free");
		}
		md->free_head = ae_page_opq(ae_buf_page(b))->right;
		md->nfree--;
	}
	else
	{
		if (md->npages >= AE_NO_BLOCK - 1)
			return ae_fail(AE_DISK_FULL, t->file, AE_NO_BLOCK, "btree: file has 2^32 blocks");
		st = ae_buf_new(t->eng, t->file, md->npages, &b);
		if (st != AE_OK)
			return st;
		md->npages++;
	}
	bt_meta_log(m, meta);
	ae_buf_unswizzle(t->eng, b, 0);	/* S5: a reused block's old child hints */
	*out = b;
	return AE_OK;
}

/*
 * Push page on the free list (README A2): page becomes AE_PAGE_FREE.
 * meta and page latched exclusive; both logged in m.
 */
void
bt_free_page(ae_mtr *m, ae_buf *meta, ae_buf *page)
{
	ae_bt_meta *md = bt_meta_ptr(ae_buf_page(meta));
	uint32_t	next = md->free_head;

	ae_page_init(ae_buf_page(page), AE_PAGE_FREE, 0);
	ae_page_opq(ae_buf_page(page))->left = AE_NO_BLOCK;
	ae_page_opq(ae_buf_page(page))->right = next;
	ae_mtr_log_init(m, page, AE_RMGR_OVERFLOW, AE_OVF_REC_FREE, &next, sizeof(next));
	md->free_head = ae_buf_block(page);
	md->nfree++;
	bt_meta_log(m, meta);
}

/* ---------------------------------------------------------------- public */

void
ae_btree_open(ae_btree *t, ae_engine *eng, ae_file_id file, ae_key_cmp cmp)
{
	t->eng = eng;
	t->file = file;
	t->cmp = cmp ? cmp : ae_key_cmp_bytes;
	t->meta_hint = AE_BUF_NO_HINT;
}

/* Metapage at block 0, an empty root leaf at block 1; one mtr. */
ae_status
ae_btree_create(ae_engine *eng, ae_file_id file)
{
	ae_buf	   *meta,
			   *root;
	ae_bt_meta	md = {.magic = AE_BT_META_MAGIC, .version = AE_BT_FORMAT_VERSION,
	.root = 1, .height = 1, .npages = 2, .free_head = AE_NO_BLOCK, .next_id = 1, .next_chain = 1};
	ae_mtr		m;
	ae_status	st = ae_buf_new(eng, file, AE_BT_META_BLOCK, &meta);

	if (st != AE_OK)
		return st;
	if ((st = ae_buf_new(eng, file, 1, &root)) != AE_OK)
	{
		ae_buf_release(meta);
		return st;
	}
	ae_page_init(ae_buf_page(meta), AE_PAGE_META, 0);
	if (!ae_page_insert_item(ae_buf_page(meta), 0, &md, sizeof(md)))
		assert(!"metapage item must fit");
	ae_page_init(ae_buf_page(root), AE_PAGE_BTREE_LEAF, 0);
	ae_page_opq(ae_buf_page(root))->left = AE_NO_BLOCK;
	ae_page_opq(ae_buf_page(root))->right = AE_NO_BLOCK;
	ae_mtr_begin(eng, &m);
	/* images: redo rebuilds both pages from nothing (the file may be empty) */
	ae_mtr_log_page_image(&m, meta);
	ae_mtr_log_page_image(&m, root);
	st = ae_mtr_commit(&m, NULL);
	ae_buf_release(root);
	ae_buf_release(meta);
	return st;
}

/*
 * Ids past the limit that one raise covers: a 32nd of the ids handed out so
 * far, or 16 reservations of this size (a bulk load reserves thousands at a
 * time), between 4096 and 2^20. A raise costs a log flush, and a restart
 * skips at most this many ids, so the gap stays small next to the table.
 */
static uint64_t
bt_id_slack(uint64_t next_id, uint64_t n)
{
	uint64_t	slack = next_id / 32;

	if (n < (UINT64_C(1) << 20) && slack < 16 * n)
		slack = 16 * n;
	return slack < 4096 ? 4096 : slack > (UINT64_C(1) << 20) ? (UINT64_C(1) << 20) : slack;
}

/*
 * The id the next reservation starts at: next_id, or id_limit in the first
 * reservation of a new epoch. Before that reservation, rows may exist at ids
 * past next_id (their reservation went unlogged, below the limit, and the
 * restart lost it), so readers of the counter (scan ends, TID checks, sizes)
 * use this too.
 */
static uint64_t
bt_next_id(const ae_bt_meta *md, uint64_t epoch)
{
	return md->id_epoch < epoch && md->next_id < md->id_limit ? md->id_limit : md->next_id;
}

/*
 * Reserve n ids. The counter's records are not flushed (the caller's commit
 * flushes them, or a crash loses them with the rows they named), yet an id
 * may escape into another log first: the table AM's index entries live in
 * PostgreSQL's WAL. So the id space is handed out below id_limit only, and a
 * reservation that passes it raises it and flushes the log to that record
 * before returning, holding the metapage latch so that nobody uses the new
 * range earlier. After a restart (a new ae_start_epoch) the first
 * reservation moves next_id up to id_limit: an id is never handed out twice.
 */
ae_status
ae_btree_reserve_ids(ae_btree *t, uint64_t n, uint64_t *first)
{
	ae_buf	   *meta;
	ae_bt_meta *md;
	ae_mtr		m;
	ae_lsn		end;
	uint64_t	old_limit;
	bool		raise;
	uint64_t	epoch = ae_start_epoch(t->eng);
	ae_status	st = bt_meta_read(t, AE_LATCH_EXCLUSIVE, &meta);

	if (st != AE_OK)
		return st;
	md = bt_meta_ptr(ae_buf_page(meta));
	*first = bt_next_id(md, epoch);
	if (*first + n < *first)
	{
		ae_buf_release(meta);
		return ae_fail(AE_TOO_LARGE, t->file, 0, "btree: id counter would wrap");
	}
	if (md->id_epoch >= epoch && *first + n <= md->id_limit)
	{
		/*
		 * Under the flushed limit, in this epoch: nothing to log. next_id
		 * only has to hold while the server runs (a restart moves it to the
		 * limit), so the page may change without a record, if a torn write
		 * of it would be repaired: its LSN is past the redo point, so the
		 * log has an image of it since. Dirty first, then read the redo
		 * point (as ae_mtr_commit does, W5): a checkpoint that moves it
		 * afterwards finds the page dirty and writes it, after our latch.
		 */
		ae_buf_mark_dirty(meta, 0);
		atomic_thread_fence(memory_order_seq_cst);	/* pairs with ae_wal_begin_checkpoint's */
		if (ae_page_hdr(ae_buf_page(meta))->lsn > ae_wal_redo_lsn(t->eng))
		{
			md->next_id = *first + n;
			ae_buf_release(meta);
			return AE_OK;
		}
	}
	if (md->id_epoch < epoch)
		md->id_epoch = epoch;
	md->next_id = *first + n;
	old_limit = md->id_limit;
	raise = md->next_id > md->id_limit;
	if (raise)
	{
		uint64_t	slack = bt_id_slack(md->next_id, n);

		md->id_limit = md->next_id + slack < md->next_id ? UINT64_MAX : md->next_id + slack;
	}
	ae_mtr_begin(t->eng, &m);
	bt_meta_log(&m, meta);
	st = ae_mtr_commit(&m, &end);
	if (st == AE_OK && raise)
		st = ae_wal_flush(t->eng, end);
	if (st != AE_OK && raise)
		md->id_limit = old_limit;	/* not durable: the next reservation raises it again */
	ae_buf_release(meta);
	return st;
}

ae_status
ae_btree_peek_ids(ae_btree *t, uint64_t *next)
{
	ae_buf	   *meta;
	ae_status	st = bt_meta_read(t, AE_LATCH_SHARED, &meta);

	if (st != AE_OK)
		return st;
	*next = bt_next_id(bt_meta_ptr(ae_buf_page(meta)), ae_start_epoch(t->eng));
	ae_buf_release(meta);
	return AE_OK;
}

ae_status
ae_btree_get_info(ae_btree *t, ae_btree_info *out)
{
	ae_buf	   *meta;
	ae_bt_meta *md;
	ae_status	st = bt_meta_read(t, AE_LATCH_SHARED, &meta);

	if (st != AE_OK)
		return st;
	md = bt_meta_ptr(ae_buf_page(meta));
	out->height = md->height;
	out->npages = md->npages;
	out->nfree = md->nfree;
	out->next_id = bt_next_id(md, ae_start_epoch(t->eng));
	ae_buf_release(meta);
	return AE_OK;
}
