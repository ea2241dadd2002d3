/*
 * btree_split.c — page splits and root growth (README W3, W4).
 *
 * A split is one mtr over at most five pages: the metapage (allocation), the
 * page split, its new right sibling, the parent (one new separator) and, for
 * leaves, the old right neighbour (left link). The rebuilt pages are logged
 * as PAGE_BUILD (their items, no free space), the parent as INNER_INSERT and
 * changed sibling links as 4-byte patches; an append split (every old item
 * stays left) does not rebuild the left page at all. The parent always has
 * room (preemptive splitting, I7).
 */
#include <stdlib.h>
#include "btree_internal.h"

static char split_scratch[AE_PAGE_SIZE];	/* process-local copy of the page being split */

/* Upper bound of the bytes an item of len bytes takes on a page (I6). */
static size_t
cost(size_t len)
{
	return BT_ITEM_COST(len);
}

/* Reinitialise page as an empty page of kind/level keeping its LSN. */
static void
reinit(void *page, int kind, int level)
{
	uint64_t	lsn = ae_page_hdr(page)->lsn;

	ae_page_init(page, (uint8_t) kind, (uint16_t) level);
	ae_page_hdr(page)->lsn = lsn;
	ae_page_opq(page)->left = AE_NO_BLOCK;
	ae_page_opq(page)->right = AE_NO_BLOCK;
}

/*
 * The virtual item list of a split: the page's items with op's change applied
 * (an insert at ins, or the item at rep resized). Fills size[] and returns
 * its length.
 */
static int
virtual_sizes(ae_btree *t, const void *page, const bt_op *op, size_t *size, int *ins)
{
	int			n = ae_page_nslots(page),
				rep = -1,
				nv = 0;
	bool		found;

	*ins = -1;
	if (op && op->item && ae_page_opq((void *) page)->level == 0)
	{
		int			slot = bt_leaf_search(t, page, op->key, op->klen, &found);

		if (found)
			rep = slot;
		else
			*ins = slot;
	}
	for (int j = 0; j < n; j++)
	{
		uint16_t	len;

		(void) ae_page_item(page, j, &len);
		if (j == *ins)
			size[nv++] = cost(op->ilen);
		size[nv++] = j == rep ? cost(op->ilen) + 5 : cost(len);	/* +5: see bt_fits_replace */
	}
	if (*ins == n)
		size[nv++] = cost(op->ilen);
	return nv;
}

/* Split point k: virtual items [0,k) stay, [k,nv) move right; both fit (I6). */
static int
choose_split(const size_t *size, int nv, bool append)
{
	size_t		total = 0,
				left = 0,
				best = (size_t) -1;
	int			k = -1;

	for (int j = 0; j < nv; j++)
		total += size[j];
	if (append && nv >= 2)
		return nv - 1;			/* rightmost append: the old items stay where they fit */
	for (int j = 1; j < nv; j++)
	{
		size_t		worst;

		left += size[j - 1];
		if (left > AE_PAGE_USABLE)
			break;
		worst = left > total - left ? left : total - left;
		if (total - left <= AE_PAGE_USABLE && worst < best)
			best = worst, k = j;
	}
	assert(k > 0);				/* I6 */
	return k;
}

/*
 * Copy the items of split_scratch to node (left) and right per split point k.
 * keep_left: node was not reinitialised (it keeps all its items).
 */
static void
distribute(void *node, void *right, int n, int ins, int k, bool inner, bool keep_left)
{
	bool		first_right = true;

	for (int j = 0; j < n; j++)
	{
		uint16_t	len;
		const char *item = ae_page_item(split_scratch, j, &len);
		int			v = j + (ins >= 0 && j >= ins ? 1 : 0);
		void	   *dst = v >= k ? right : node;
		bool		ok;

		if (dst == node && keep_left)
			continue;
		if (inner && dst == right && first_right)
			len = AE_BT_INNER_HDR;	/* I4: the first separator becomes minus infinity */
		if (dst == right)
			first_right = false;
		ok = ae_page_insert_item(dst, ae_page_nslots(dst), item, len);
		assert(ok);				/* I6 */
		(void) ok;
	}
}

/* The separator key for split point k (the first key of the right page). */
static const char *
separator(ae_btree *t, const bt_op *op, int ins, int k, bool inner, uint16_t *sl)
{
	int			r;

	if (k == ins)
	{
		*sl = (uint16_t) op->klen;
		return op->key;
	}
	r = (ins >= 0 && k > ins) ? k - 1 : k;
	if (inner)
		return bt_inner_key(split_scratch, r, sl);
	{
		bt_leaf_item it;

		bt_leaf_item_get(split_scratch, r, &it);
		*sl = it.klen;
		return it.key;
	}
}

/* Insert (sep -> child) into parent at slot (I7: parent has room). */
static void
parent_insert(ae_buf *parent, int slot, uint32_t child, const char *sep, uint16_t sl)
{
	char		item[AE_BT_MAX_INNER_ITEM];
	void	   *pp = ae_buf_page(parent);
	bool		ok;

	memcpy(item, &child, 4);
	memcpy(item + 4, sep, sl);
	assert(bt_fits(pp, AE_BT_INNER_HDR + (size_t) sl));	/* I7 */
	ok = ae_page_insert_item(pp, slot, item, (uint16_t) (AE_BT_INNER_HDR + sl));
	assert(ok);
	(void) ok;
}

/*
 * Rebuild node and right from split_scratch and link everything (no I/O).
 * Returns true when every old item stayed on node, which was then left as it
 * was except for its right link (append splits).
 */
static bool
split_pages(ae_btree *t, ae_buf *parent, int pslot, ae_buf *node, ae_buf *right,
			ae_buf *rn, const bt_op *op)
{
	static size_t size[AE_PAGE_SIZE / 4];
	void	   *np = ae_buf_page(node),
			   *rp = ae_buf_page(right);
	int			level = ae_page_opq(np)->level,
				n = ae_page_nslots(np),
				ins,
				nv,
				k;
	uint32_t	oldright = ae_page_opq(np)->right;
	uint16_t	sl;
	const char *sep;
	bool		keep_left;

	memcpy(split_scratch, np, AE_PAGE_SIZE);
	nv = virtual_sizes(t, split_scratch, op, size, &ins);
	k = choose_split(size, nv, level == 0 && ins == n && oldright == AE_NO_BLOCK);
	/* the last old item's virtual index is below k: nothing moves right */
	keep_left = n == 0 || n - 1 + (ins >= 0 && n - 1 >= ins ? 1 : 0) < k;
	if (!keep_left)
	{
		reinit(np, level ? AE_PAGE_BTREE_INNER : AE_PAGE_BTREE_LEAF, level);
		ae_buf_unswizzle(t->eng, node, 0);	/* S5: its items are redistributed */
	}
	reinit(rp, level ? AE_PAGE_BTREE_INNER : AE_PAGE_BTREE_LEAF, level);
	distribute(np, rp, n, ins, k, level > 0, keep_left);
	sep = separator(t, op, ins, k, level > 0, &sl);
	parent_insert(parent, pslot + 1, ae_buf_block(right), sep, sl);
	ae_buf_unswizzle(t->eng, parent, pslot + 1);	/* S5: later children moved right */
	if (level == 0)
	{
		ae_page_opq(np)->left = ae_page_opq(split_scratch)->left;
		ae_page_opq(np)->right = ae_buf_block(right);
		ae_page_opq(rp)->left = ae_buf_block(node);
		ae_page_opq(rp)->right = oldright;
		if (rn)
			ae_page_opq(ae_buf_page(rn))->left = ae_buf_block(right);
	}
	return keep_left;
}

/* Log a 4-byte sibling link of b's special area as a byte patch. */
static void
log_link(ae_mtr *m, ae_buf *b, size_t field)
{
	uint16_t	off = (uint16_t) (AE_PAGE_SIZE - sizeof(ae_page_opaque) + field);

	ae_mtr_log_patch(m, b, off, (char *) ae_buf_page(b) + off, 4);
}

/*
 * Log b's whole contents as AE_BT_REC_PAGE_BUILD (format in btree_format.h):
 * kind, level, links and the items in slot order. b must be as ae_page_init
 * followed by appends of those items leaves it (so redo rebuilds it byte for
 * byte); its free space is not logged.
 */
static void
log_build(ae_mtr *m, ae_buf *b)
{
	static char rec[AE_PAGE_SIZE + 16];	/* 14 + (2 + len) per item <= 14 + page used */
	void	   *page = ae_buf_page(b);
	ae_page_opaque *o = ae_page_opq(page);
	uint16_t	n = (uint16_t) ae_page_nslots(page);
	size_t		len = 14;

	rec[0] = (char) o->kind;
	rec[1] = 0;
	memcpy(rec + 2, &o->level, 2);
	memcpy(rec + 4, &o->left, 4);
	memcpy(rec + 8, &o->right, 4);
	memcpy(rec + 12, &n, 2);
	for (int i = 0; i < n; i++)
	{
		uint16_t	il;
		const void *item = ae_page_item(page, i, &il);

		memcpy(rec + len, &il, 2);
		memcpy(rec + len + 2, item, il);
		len += 2 + (size_t) il;
	}
	ae_mtr_log_init(m, b, AE_RMGR_BTREE, AE_BT_REC_PAGE_BUILD, rec, len);
}

/* Log the separator parent_insert put at slot as AE_BT_REC_INNER_INSERT. */
static void
log_inner_insert(ae_mtr *m, ae_buf *parent, int slot)
{
	char		rec[2 + AE_BT_MAX_INNER_ITEM];
	uint16_t	s = (uint16_t) slot,
				il;
	const void *item = ae_page_item(ae_buf_page(parent), slot, &il);

	memcpy(rec, &s, 2);
	memcpy(rec + 2, item, il);
	ae_mtr_log(m, parent, AE_RMGR_BTREE, AE_BT_REC_INNER_INSERT, rec, 2 + (size_t) il);
}

/* Latch the metapage exclusive for an allocation without waiting (L3). */
static bool
meta_try(ae_buf *meta, bool *meta_latched, bool *here)
{
	*here = false;
	if (*meta_latched)
		return true;
	if (!ae_buf_try_latch(meta, AE_LATCH_EXCLUSIVE))
		return false;
	*meta_latched = *here = true;
	return true;
}

/*
 * Split node (child pslot of parent) into node + a new right sibling, placing
 * op's pending change (if any) so it fits afterwards. parent, node: latched
 * exclusive; meta pinned, latched exclusive iff *meta_latched (else tried
 * without waiting: BT_RESTART if busy). Exit AE_OK: parent and node still
 * latched, *right pinned+latched exclusive; the metapage in its entry state.
 * On error nothing changed and *right is not set.
 */
ae_status
bt_split(ae_btree *t, ae_buf *meta, bool *meta_latched, ae_buf *parent,
		 int pslot, ae_buf *node, const bt_op *op, ae_buf **right)
{
	ae_buf	   *rn = NULL;
	uint32_t	rblk = ae_page_opq(ae_buf_page(node))->right;
	ae_mtr	   *m;
	bool		here;
	ae_status	st;

	if (!meta_try(meta, meta_latched, &here))
		return BT_RESTART;
	if (!(m = bt_mtr_alloc()))
		st = ae_fail(AE_NO_MEMORY, t->file, AE_NO_BLOCK, "btree: no memory for an mtr");
	else if (ae_page_opq(ae_buf_page(node))->level == 0 && rblk != AE_NO_BLOCK)
		st = ae_buf_read(t->eng, t->file, rblk, AE_LATCH_EXCLUSIVE, 0, &rn);	/* L2 */
	else
		st = AE_OK;
	if (st == AE_OK)
	{
		ae_mtr_begin(t->eng, m);
		if ((st = bt_alloc_page(t, m, meta, right)) != AE_OK)
			ae_mtr_abort(m);
	}
	if (st == AE_OK)
	{
		if (split_pages(t, parent, pslot, node, *right, rn, op))
			log_link(m, node, offsetof(ae_page_opaque, right));
		else
			log_build(m, node);
		log_build(m, *right);
		log_inner_insert(m, parent, pslot + 1);
		if (rn)
			log_link(m, rn, offsetof(ae_page_opaque, left));
		st = ae_mtr_commit(m, NULL);
	}
	if (rn)
		ae_buf_release(rn);
	if (here)
	{
		ae_buf_unlatch(meta);
		*meta_latched = false;
	}
	bt_mtr_free(m);
	return st;
}

/*
 * Give the tree a new root whose only child is root (W4). meta and root
 * latched exclusive. Exit AE_OK: *newroot pinned and latched exclusive.
 */
ae_status
bt_grow_root(ae_btree *t, ae_buf *meta, ae_buf *root, ae_buf **newroot)
{
	ae_bt_meta *md = bt_meta_ptr(ae_buf_page(meta));
	ae_mtr	   *m = bt_mtr_alloc();
	uint32_t	child = ae_buf_block(root);
	ae_status	st;

	if (!m)
		return ae_fail(AE_NO_MEMORY, t->file, AE_NO_BLOCK, "btree: no memory for an mtr");
	ae_mtr_begin(t->eng, m);
	if ((st = bt_alloc_page(t, m, meta, newroot)) != AE_OK)
	{
		ae_mtr_abort(m);
		bt_mtr_free(m);
		return st;
	}
	reinit(ae_buf_page(*newroot), AE_PAGE_BTREE_INNER, ae_page_opq(ae_buf_page(root))->level + 1);
	if (!ae_page_insert_item(ae_buf_page(*newroot), 0, &child, 4))
		assert(!"empty page");
	md->root = ae_buf_block(*newroot);
	md->height++;
	ae_buf_unswizzle(t->eng, meta, 0);	/* S5/S6: the root pointer changed */
	bt_meta_log(m, meta);
	ae_mtr_log_page_image(m, *newroot);
	st = ae_mtr_commit(m, NULL);
	bt_mtr_free(m);
	return st;
}
