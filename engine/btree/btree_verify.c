/*
 * btree_verify.c — structural check of a whole tree (README V1).
 *
 * Walks the tree depth first from the root, one page latched (shared) at a
 * time: each page is copied and released before its children are visited.
 * Every block below npages must be reached exactly once: from the tree, from
 * one overflow chain or from the free list (the rest are counted as leaked).
 * The on-disk image of every block is checksum-verified through the host.
 */
#include <stdlib.h>
#include "btree_internal.h"

typedef struct vctx
{
	ae_btree   *t;
	uint32_t	npages;
	uint8_t    *seen;
	uint32_t	prev_leaf;		/* previous leaf in key order */
	uint32_t	prev_right;		/* its right link */
	ae_bytes	prev_key;
	bool		has_prev_key;
	ae_btree_verify_stats *st;
} vctx;

static ae_status
corrupt(vctx *v, uint32_t blk, const char *what)
{
	return ae_fail(AE_CORRUPT, v->t->file, blk, "btree verify: block %u: %s", blk, what);
}

/* Claim blk for one owner (I9). */
static ae_status
mark(vctx *v, uint32_t blk)
{
	if (blk == AE_BT_META_BLOCK || blk >= v->npages)
		return corrupt(v, blk, "reference outside 1..npages-1");
	if (v->seen[blk])
		return corrupt(v, blk, "block referenced twice");
	v->seen[blk] = 1;
	return AE_OK;
}

/* Copy block blk (read shared) into buf. */
static ae_status
copy_page(vctx *v, uint32_t blk, char *buf)
{
	ae_buf	   *b;
	ae_status	st = ae_buf_read(v->t->eng, v->t->file, blk, AE_LATCH_SHARED, 0, &b);

	if (st != AE_OK)
		return st;
	memcpy(buf, ae_buf_page(b), AE_PAGE_SIZE);
	ae_buf_release(b);
	return AE_OK;
}

/* Chain of a stub: kinds, ids, lengths (O1). */
static ae_status
verify_chain(vctx *v, uint32_t leaf, const bt_stub *s)
{
	char		page[AE_PAGE_SIZE];
	uint32_t	blk = s->first;
	uint64_t	got = 0;
	ae_status	st;

	if (s->len <= AE_BTREE_INLINE_MAX || s->len > AE_BTREE_MAX_VALUE)
		return corrupt(v, leaf, "overflow stub with a bad length");
	while (blk != AE_NO_BLOCK)
	{
		uint16_t	len;

		if ((st = mark(v, blk)) != AE_OK || (st = copy_page(v, blk, page)) != AE_OK)
			return st;
		if (ae_page_opq(page)->kind != AE_PAGE_OVERFLOW || ae_page_opq(page)->aux != s->chain ||
			ae_page_nslots(page) != 1)
			return corrupt(v, blk, "not a page of the overflow chain that names it");
		(void) ae_page_item(page, 0, &len);
		got += len;
		if (got > s->len || (len != AE_BT_OVF_CHUNK && got != s->len))
			return corrupt(v, blk, "overflow chunk of the wrong length");
		v->st->overflow_pages++;
		blk = ae_page_opq(page)->right;
	}
	return got == s->len ? AE_OK : corrupt(v, s->first, "overflow chain shorter than its stub");
}

/* Leaf checks: key order (also across leaves), bounds, links, values. */
static ae_status
verify_leaf(vctx *v, uint32_t blk, const char *page, const ae_bytes *lo, const ae_bytes *hi)
{
	const ae_page_opaque *o = ae_page_opq((void *) page);
	ae_status	st;

	if (o->left != v->prev_leaf || (v->prev_leaf != AE_NO_BLOCK && v->prev_right != blk))
		return corrupt(v, blk, "leaf sibling links disagree with key order");
	for (int i = 0; i < ae_page_nslots(page); i++)
	{
		bt_leaf_item it;
		bt_stub		s;

		bt_leaf_item_get(page, i, &it);
		if ((v->has_prev_key && v->t->cmp(v->prev_key.data, v->prev_key.len, it.key, it.klen) >= 0) ||
			(lo && v->t->cmp(it.key, it.klen, lo->data, lo->len) < 0) ||
			(hi && v->t->cmp(it.key, it.klen, hi->data, hi->len) >= 0))
			return corrupt(v, blk, "leaf key out of order or outside its parent's bounds");
		if ((st = bt_bytes_set(&v->prev_key, it.key, it.klen)) != AE_OK)
			return st;
		v->has_prev_key = true;
		if (it.flags & ~AE_BT_ITEM_OVERFLOW)
			return corrupt(v, blk, "unknown leaf item flags");
		if (!(it.flags & AE_BT_ITEM_OVERFLOW))
		{
			if (it.vlen > AE_BTREE_INLINE_MAX)
				return corrupt(v, blk, "inline value longer than AE_BTREE_INLINE_MAX");
			continue;
		}
		if (it.vlen != AE_BT_STUB_SIZE)
			return corrupt(v, blk, "overflow stub of the wrong size");
		bt_stub_decode(it.val, &s);
		if ((st = verify_chain(v, blk, &s)) != AE_OK)
			return st;
	}
	v->st->nkeys += ae_page_nslots(page);
	v->st->leaf_pages++;
	v->prev_leaf = blk;
	v->prev_right = o->right;
	return AE_OK;
}

static ae_status verify_node(vctx *v, uint32_t blk, int level, const ae_bytes *lo,
							 const ae_bytes *hi);

/* Inner checks: separators increasing and within bounds; recurse (I4, I5). */
static ae_status
verify_inner(vctx *v, uint32_t blk, int level, const char *page, const ae_bytes *lo,
			 const ae_bytes *hi)
{
	int			n = ae_page_nslots(page);
	ae_bytes   *keys = calloc(n + 1, sizeof(ae_bytes));
	ae_status	st = AE_OK;

	if (!keys)
		return ae_fail(AE_NO_MEMORY, v->t->file, blk, "verify: out of memory");
	if (n < 1)
		st = corrupt(v, blk, "empty inner page");
	for (int i = 1; i < n && st == AE_OK; i++)
	{
		uint16_t	sl;
		const char *k = bt_inner_key(page, i, &sl);

		keys[i].data = (char *) k;
		keys[i].len = sl;
		if ((i > 1 && v->t->cmp(keys[i - 1].data, keys[i - 1].len, k, sl) >= 0) ||
			(lo && v->t->cmp(k, sl, lo->data, lo->len) < 0) ||
			(hi && v->t->cmp(k, sl, hi->data, hi->len) >= 0))
			st = corrupt(v, blk, "separator out of order or outside its parent's bounds");
	}
	for (int i = 0; i < n && st == AE_OK; i++)
		st = verify_node(v, bt_inner_child(page, i), level - 1, i == 0 ? lo : &keys[i],
						 i == n - 1 ? hi : &keys[i + 1]);
	v->st->inner_pages++;
	free(keys);
	return st;
}

/* Check the subtree at blk: kind, level, keys within [lo, hi). */
static ae_status
verify_node(vctx *v, uint32_t blk, int level, const ae_bytes *lo, const ae_bytes *hi)
{
	char	   *page = malloc(AE_PAGE_SIZE);
	int			kind = level ? AE_PAGE_BTREE_INNER : AE_PAGE_BTREE_LEAF;
	ae_status	st;

	if (!page)
		return ae_fail(AE_NO_MEMORY, v->t->file, blk, "verify: out of memory");
	if ((st = mark(v, blk)) == AE_OK && (st = copy_page(v, blk, page)) == AE_OK)
	{
		if (ae_page_opq(page)->kind != kind || ae_page_opq(page)->level != level)
			st = corrupt(v, blk, "wrong page kind or level for its depth");
		else if (ae_page_hdr(page)->hole_bytes > ae_page_hole_bytes_scan(page))
			st = corrupt(v, blk, "hole_bytes exceeds the page's holes (page P4)");
		else if (level)
			st = verify_inner(v, blk, level, page, lo, hi);
		else
			st = verify_leaf(v, blk, page, lo, hi);
	}
	free(page);
	return st;
}

/* Free list: every page free, no cycle (mark), count matches (I10). */
static ae_status
verify_free(vctx *v, const ae_bt_meta *md)
{
	char		page[AE_PAGE_SIZE];
	uint32_t	blk = md->free_head;
	ae_status	st;

	while (blk != AE_NO_BLOCK)
	{
		if ((st = mark(v, blk)) != AE_OK || (st = copy_page(v, blk, page)) != AE_OK)
			return st;
		if (ae_page_opq(page)->kind != AE_PAGE_FREE)
			return corrupt(v, blk, "page on the free list is not free");
		v->st->free_pages++;
		blk = ae_page_opq(page)->right;
	}
	return v->st->free_pages == md->nfree ? AE_OK : corrupt(v, 0, "nfree differs from the free list");
}

/* On-disk images must pass ae_page_verify (checksums). */
static ae_status
verify_disk(vctx *v)
{
	const ae_host *h = ae_engine_host(v->t->eng);
	char		page[AE_PAGE_SIZE];
	uint32_t	n = 0;
	ae_status	st;

	if (!h || !h->nblocks || h->nblocks(h->ctx, v->t->file, &n) != AE_OK)
		return AE_OK;
	for (uint32_t b = 0; b < n; b++)
	{
		if ((st = h->read_block(h->ctx, v->t->file, b, page)) != AE_OK)
			return st;
		if ((st = ae_page_verify(page, v->t->file, b)) != AE_OK)
			return st;
	}
	return AE_OK;
}

ae_status
ae_btree_verify_ex(ae_btree *t, ae_btree_verify_stats *out)
{
	ae_buf	   *meta;
	ae_bt_meta	md;
	vctx		v = {.t = t, .prev_leaf = AE_NO_BLOCK, .st = out};
	ae_status	st = bt_meta_read(t, AE_LATCH_SHARED, &meta);

	memset(out, 0, sizeof(*out));
	if (st != AE_OK)
		return st;
	md = *bt_meta_ptr(ae_buf_page(meta));
	ae_buf_release(meta);
	v.npages = md.npages;
	if (md.height < 1 || md.npages < 2 || !(v.seen = calloc(md.npages, 1)))
		return md.height < 1 || md.npages < 2 ? corrupt(&v, 0, "bad metapage")
			: ae_fail(AE_NO_MEMORY, t->file, 0, "verify: out of memory");
	v.prev_right = AE_NO_BLOCK;
	st = verify_node(&v, md.root, (int) md.height - 1, NULL, NULL);
	if (st == AE_OK && v.prev_right != AE_NO_BLOCK)
		st = corrupt(&v, v.prev_leaf, "last leaf has a right sibling");
	if (st == AE_OK)
		st = verify_free(&v, &md);
	for (uint32_t b = 1; st == AE_OK && b < md.npages; b++)
		out->leaked_pages += !v.seen[b];
	if (st == AE_OK)
		st = verify_disk(&v);
	free(v.seen);
	ae_bytes_free(&v.prev_key);
	return st;
}

ae_status
ae_btree_verify(ae_btree *t, uint64_t *nkeys)
{
	ae_btree_verify_stats s;
	ae_status	st = ae_btree_verify_ex(t, &s);

	if (nkeys)
		*nkeys = s.nkeys;
	return st;
}
