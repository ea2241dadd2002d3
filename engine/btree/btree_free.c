/*
 * btree_free.c — giving an emptied leaf back to the free list (README F1..F4).
 *
 * A delete that leaves a leaf empty (and the leaf is neither the leftmost nor
 * the rightmost) calls bt_free_empty_leaf with the deleted key. Under the
 * metapage's exclusive latch (needed for the free list anyway, and first in
 * the lock order) it descends with exclusive coupling to the leaf's parent P,
 * and, if the leaf is child i >= 1 of P (so its left sibling is child i-1 of
 * the same P), latches left sibling, leaf, right sibling (left to right) and,
 * if the leaf is still empty, in one mtr:
 *   - removes item i from P (INNER_DELETE): child i-1 now covers the range;
 *   - links left <-> right (two 4-byte patches);
 *   - pushes the leaf on the free list (OVF_FREE + metapage).
 * Child 0 of a parent is never freed, so an inner page keeps its items (I4).
 * Anything unexpected (the leaf refilled, links that do not match) just
 * leaves the leaf in place: freeing is an optimisation, never required.
 */
#include <stddef.h>
#include <string.h>

#include "btree_internal.h"

/* Patch a sibling link of b (latched exclusive) and log it. */
static void
set_link(ae_mtr *m, ae_buf *b, bool right, uint32_t blk)
{
	ae_page_opaque *o = ae_page_opq(ae_buf_page(b));
	uint32_t   *field = right ? &o->right : &o->left;

	*field = blk;
	ae_mtr_log_patch(m, b, (uint16_t) ((char *) field - (char *) ae_buf_page(b)), &blk, 4);
}

/* The leaf is child slot of parent (both latched exclusive): unlink and free it if still empty. */
static ae_status
unlink_leaf(ae_btree *t, ae_buf *meta, ae_buf *parent, int slot)
{
	ae_buf	   *left = NULL,
			   *leaf = NULL,
			   *right = NULL;
	ae_page_opaque *lo;
	ae_mtr	   *m;
	ae_status	st;
	uint16_t	s = (uint16_t) slot;

	st = ae_buf_read_child(t->eng, parent, slot - 1, t->file,
						   bt_inner_child(ae_buf_page(parent), slot - 1),
						   AE_LATCH_EXCLUSIVE, 0, &left);
	if (st == AE_OK)
		st = ae_buf_read_child(t->eng, parent, slot, t->file,
							   bt_inner_child(ae_buf_page(parent), slot),
							   AE_LATCH_EXCLUSIVE, 0, &leaf);
	if (st == AE_OK && (st = bt_check_page(t, leaf, AE_PAGE_BTREE_LEAF, 0)) == AE_OK &&
		(st = bt_check_page(t, left, AE_PAGE_BTREE_LEAF, 0)) == AE_OK)
	{
		lo = ae_page_opq(ae_buf_page(leaf));
		if (ae_page_nslots(ae_buf_page(leaf)) == 0 && lo->right != AE_NO_BLOCK &&
			lo->left == ae_buf_block(left) &&
			ae_page_opq(ae_buf_page(left))->right == ae_buf_block(leaf))
			st = ae_buf_read(t->eng, t->file, lo->right, AE_LATCH_EXCLUSIVE, 0, &right);
	}
	if (st == AE_OK && right &&
		(st = bt_check_page(t, right, AE_PAGE_BTREE_LEAF, 0)) == AE_OK &&
		ae_page_opq(ae_buf_page(right))->left == ae_buf_block(leaf))
	{
		if (!(m = bt_mtr_alloc()))
			st = ae_fail(AE_NO_MEMORY, t->file, AE_NO_BLOCK, "btree: no memory for an mtr");
		else
		{
			ae_mtr_begin(t->eng, m);
			ae_page_delete_item(ae_buf_page(parent), slot);
			ae_buf_unswizzle(t->eng, parent, slot);	/* S5: later children moved left */
			ae_mtr_log(m, parent, AE_RMGR_BTREE, AE_BT_REC_INNER_DELETE, &s, sizeof(s));
			set_link(m, left, true, ae_buf_block(right));
			set_link(m, right, false, ae_buf_block(left));
			bt_free_page(m, meta, leaf);
			st = ae_mtr_commit(m, NULL);
			bt_mtr_free(m);
		}
	}
	if (right)
		ae_buf_release(right);
	if (leaf)
		ae_buf_release(leaf);
	if (left)
		ae_buf_release(left);
	return st;
}

ae_status
bt_free_empty_leaf(ae_btree *t, const void *key, size_t klen)
{
	ae_buf	   *meta,
			   *node;
	ae_status	st = bt_meta_read(t, AE_LATCH_EXCLUSIVE, &meta);
	ae_bt_meta *md;

	if (st != AE_OK)
		return st;
	md = bt_meta_ptr(ae_buf_page(meta));
	if (md->height < 2)
	{
		ae_buf_release(meta);
		return AE_OK;			/* the root is the only leaf */
	}
	st = ae_buf_read_child(t->eng, meta, 0, t->file, md->root, AE_LATCH_EXCLUSIVE, 0, &node);
	while (st == AE_OK)
	{
		void	   *page = ae_buf_page(node);
		int			level = ae_page_opq(page)->level;
		int			slot;
		ae_buf	   *child;

		if ((st = bt_check_page(t, node, AE_PAGE_BTREE_INNER, level)) != AE_OK || level < 1)
		{
			ae_buf_release(node);
			break;
		}
		slot = bt_inner_search(t, page, key, klen, false);
		if (level == 1)
		{
			if (slot >= 1)		/* F2: child 0 stays */
				st = unlink_leaf(t, meta, node, slot);
			ae_buf_release(node);
			break;
		}
		st = ae_buf_read_child(t->eng, node, slot, t->file, bt_inner_child(page, slot),
							   AE_LATCH_EXCLUSIVE, 0, &child);
		ae_buf_release(node);
		node = child;
	}
	ae_buf_release(meta);
	return st;
}
