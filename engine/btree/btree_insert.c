/*
 * btree_insert.c — the write path shared by insert, put, delete and cas:
 * the leaf change (physiological records), the optimistic descent and the
 * pessimistic descent with preemptive splits (README W1..W4).
 */
#include <stdlib.h>
#include "btree_internal.h"

/* ---------------------------------------------------------------- leaf */

static void
log_leaf(ae_mtr *m, ae_buf *leaf, uint8_t type, int slot, const char *item, uint16_t ilen)
{
	char		rec[2 + AE_BT_MAX_LEAF_ITEM];
	uint16_t	s = (uint16_t) slot;

	memcpy(rec, &s, 2);
	if (ilen)
		memcpy(rec + 2, item, ilen);
	ae_mtr_log(m, leaf, AE_RMGR_BTREE, type, rec, 2 + (size_t) ilen);
}

/* Remember an overflow stub that the change removes, to free after commit. */
static void
note_old(bt_op *op, const bt_leaf_item *it)
{
	op->old_ovf = (it->flags & AE_BT_ITEM_OVERFLOW) != 0;
	if (op->old_ovf)
		bt_stub_decode(it->val, &op->old_stub);
}

/* CAS: does the stored value of item it equal op->expected? (leaf latched X) */
static ae_status
cas_matches(ae_btree *t, const bt_op *op, const bt_leaf_item *it, bool *eq)
{
	bt_stub		s;

	if (!(it->flags & AE_BT_ITEM_OVERFLOW))
	{
		*eq = it->vlen == op->elen && (op->elen == 0 || memcmp(it->val, op->expected, op->elen) == 0);
		return AE_OK;
	}
	bt_stub_decode(it->val, &s);
	return bt_ovf_equal(t, &s, op->expected, op->elen, eq);
}

/* Replace (op->item set) or delete the item at slot, which exists. */
static ae_status
change_existing(bt_op *op, ae_buf *leaf, int slot, ae_mtr *m)
{
	void	   *page = ae_buf_page(leaf);
	bt_leaf_item it;

	bt_leaf_item_get(page, slot, &it);
	if (!op->item)
	{
		note_old(op, &it);
		ae_page_delete_item(page, slot);
		log_leaf(m, leaf, AE_BT_REC_LEAF_DELETE, slot, NULL, 0);
		return AE_OK;
	}
	if (!bt_fits_replace(page, slot, op->ilen))
		return BT_NEED_ROOM;
	note_old(op, &it);
	if (!ae_page_replace_item(page, slot, op->item, op->ilen))
		assert(!"replace must fit after bt_fits_replace (I6)");
	log_leaf(m, leaf, AE_BT_REC_LEAF_REPLACE, slot, op->item, op->ilen);
	return AE_OK;
}

/*
 * Apply op to leaf (latched exclusive), logging into m. Returns AE_OK,
 * AE_EXISTS, AE_NOT_FOUND, AE_CONFLICT (leaf unchanged) or BT_NEED_ROOM
 * (leaf unchanged, nothing logged: split and retry).
 */
ae_status
bt_leaf_apply(ae_btree *t, bt_op *op, ae_buf *leaf, ae_mtr *m)
{
	void	   *page = ae_buf_page(leaf);
	bool		found,
				eq;
	int			slot = bt_leaf_search(t, page, op->key, op->klen, &found);
	bt_leaf_item it;
	ae_status	st;

	op->old_ovf = false;
	if (op->kind == BT_OP_INSERT && found)
		return AE_EXISTS;
	if ((op->kind == BT_OP_DELETE || op->kind == BT_OP_CAS) && !found)
		return AE_NOT_FOUND;
	if (found && op->kind == BT_OP_CAS)
	{
		bt_leaf_item_get(page, slot, &it);
		if ((st = cas_matches(t, op, &it, &eq)) != AE_OK)
			return st;
		if (!eq)
			return AE_CONFLICT;
	}
	if (found)
		return change_existing(op, leaf, slot, m);
	if (!bt_fits(page, op->ilen))
		return BT_NEED_ROOM;
	if (!ae_page_insert_item(page, slot, op->item, op->ilen))
		assert(!"insert must fit after bt_fits (I6)");
	log_leaf(m, leaf, AE_BT_REC_LEAF_INSERT, slot, op->item, op->ilen);
	return AE_OK;
}

/* Run bt_leaf_apply in its own mtr; commit on success. Leaf stays latched. */
static ae_status
apply_mtr(ae_btree *t, bt_op *op, ae_buf *leaf)
{
	ae_mtr	   *m = malloc(sizeof(ae_mtr));
	ae_status	st;

	if (!m)
		return ae_fail(AE_NO_MEMORY, t->file, AE_NO_BLOCK, "btree: no memory for an mtr");
	ae_mtr_begin(t->eng, m);
	st = bt_leaf_apply(t, op, leaf, m);
	if (st == AE_OK)
		st = ae_mtr_commit(m, NULL);
	else
		ae_mtr_abort(m);
	free(m);
	return st;
}

/* ---------------------------------------------------------------- optimistic */

/*
 * W1: shared latches from the metapage down, exclusive on the leaf only.
 * BT_NEED_ROOM when the leaf lacks room (nothing changed). Nothing held on exit.
 */
static ae_status
write_optimistic(ae_btree *t, bt_op *op)
{
	ae_buf	   *meta,
			   *node,
			   *child;
	ae_bt_meta *md;
	int			level;
	ae_status	st = bt_meta_read(t, AE_LATCH_SHARED, &meta);

	if (st != AE_OK)
		return st;
	md = bt_meta_ptr(ae_buf_page(meta));
	level = (int) md->height - 1;
	st = ae_buf_read(t->eng, t->file, md->root,
					 level == 0 ? AE_LATCH_EXCLUSIVE : AE_LATCH_SHARED, 0, &node);
	ae_buf_release(meta);
	if (st != AE_OK)
		return st;
	for (; level > 0; level--)
	{
		void	   *page = ae_buf_page(node);

		if ((st = bt_check_page(t, node, AE_PAGE_BTREE_INNER, level)) != AE_OK)
			break;
		st = ae_buf_read(t->eng, t->file,
						 bt_inner_child(page, bt_inner_search(t, page, op->key, op->klen, false)),
						 level == 1 ? AE_LATCH_EXCLUSIVE : AE_LATCH_SHARED, 0, &child);
		if (st != AE_OK)
			break;
		ae_buf_release(node);
		node = child;
	}
	if (st == AE_OK && (st = bt_check_page(t, node, AE_PAGE_BTREE_LEAF, 0)) == AE_OK)
		st = apply_mtr(t, op, node);
	ae_buf_release(node);
	return st;
}

/* ---------------------------------------------------------------- pessimistic */

typedef struct wpath
{
	ae_btree   *t;
	ae_buf	   *meta;			/* pinned throughout */
	bool		meta_latched;	/* exclusive */
	bool		hold_meta;		/* keep the metapage latched to the end */
	ae_buf	   *parent;			/* NULL at the root */
	int			pslot;			/* node's slot in parent */
	ae_buf	   *node;
} wpath;

static void
wpath_release(wpath *w)
{
	if (w->node)
		ae_buf_release(w->node);
	if (w->parent)
		ae_buf_release(w->parent);
	ae_buf_release(w->meta);
}

/* After a split of w->node: keep the half that covers key, release the other. */
static void
pick_half(wpath *w, const bt_op *op, ae_buf *right)
{
	uint16_t	sl;
	const char *sep = bt_inner_key(ae_buf_page(w->parent), w->pslot + 1, &sl);

	if (w->t->cmp(op->key, op->klen, sep, sl) >= 0)
	{
		ae_buf_release(w->node);
		w->node = right;
		w->pslot++;
	}
	else
		ae_buf_release(right);
}

/* Split w->node (W3); at the root, grow the tree first. */
static ae_status
split_node(wpath *w, const bt_op *op)
{
	ae_buf	   *right;
	ae_status	st;

	if (!w->parent)
	{
		assert(w->meta_latched);	/* W2: the root is handled under the metapage */
		if ((st = bt_grow_root(w->t, w->meta, w->node, &w->parent)) != AE_OK)
			return st;
		w->pslot = 0;
	}
	st = bt_split(w->t, w->meta, &w->meta_latched, w->parent, w->pslot, w->node, op, &right);
	if (st != AE_OK)
		return st;
	pick_half(w, op, right);
	return AE_OK;
}

/* The leaf step of the pessimistic descent: apply, split if needed, apply. */
static ae_status
pess_leaf(wpath *w, bt_op *op)
{
	ae_status	st = apply_mtr(w->t, op, w->node);

	if (st != BT_NEED_ROOM)
		return st;
	if ((st = split_node(w, op)) != AE_OK)
		return st;
	st = apply_mtr(w->t, op, w->node);
	assert(st != BT_NEED_ROOM);	/* I6 */
	return st == BT_NEED_ROOM ? ae_fail(AE_INTERNAL, w->t->file, ae_buf_block(w->node),
										"btree: item does not fit after a split") : st;
}

/*
 * W2: exclusive latch coupling from the metapage; an inner page that might not
 * take one more separator is split before descending into it (preemptive),
 * so a split never propagates upwards and each split is one small mtr.
 * Returns BT_RESTART when the metapage was needed but busy (retry with
 * hold_meta). Nothing held on exit.
 */
static ae_status
write_pessimistic(ae_btree *t, bt_op *op, bool hold_meta)
{
	wpath		w = {.t = t, .hold_meta = hold_meta};
	ae_status	st = bt_meta_read(t, AE_LATCH_EXCLUSIVE, &w.meta);

	if (st != AE_OK)
		return st;
	w.meta_latched = true;
	st = ae_buf_read(t->eng, t->file, bt_meta_ptr(ae_buf_page(w.meta))->root,
					 AE_LATCH_EXCLUSIVE, 0, &w.node);
	while (st == AE_OK)
	{
		void	   *page = ae_buf_page(w.node);
		int			level = ae_page_opq(page)->level;
		ae_buf	   *child;

		if (level == 0)
		{
			if ((st = bt_check_page(t, w.node, AE_PAGE_BTREE_LEAF, 0)) == AE_OK)
				st = pess_leaf(&w, op);
			break;
		}
		if ((st = bt_check_page(t, w.node, AE_PAGE_BTREE_INNER, level)) != AE_OK)
			break;
		if (!bt_fits(page, AE_BT_MAX_INNER_ITEM) && (st = split_node(&w, op)) != AE_OK)
			break;
		if (w.parent)
			ae_buf_release(w.parent);
		w.parent = NULL;
		if (w.meta_latched && !w.hold_meta)
		{
			ae_buf_unlatch(w.meta);	/* the root is safe now */
			w.meta_latched = false;
		}
		page = ae_buf_page(w.node);
		w.pslot = bt_inner_search(t, page, op->key, op->klen, false);
		st = ae_buf_read(t->eng, t->file, bt_inner_child(page, w.pslot),
						 AE_LATCH_EXCLUSIVE, 0, &child);
		if (st == AE_OK)
		{
			w.parent = w.node;
			w.node = child;
		}
	}
	wpath_release(&w);
	return st;
}

/*
 * Run op against the tree: optimistic first, then pessimistic, then
 * pessimistic holding the metapage. Nothing held on entry or exit.
 */
ae_status
bt_write(ae_btree *t, bt_op *op)
{
	ae_status	st = write_optimistic(t, op);

	if (st == BT_NEED_ROOM)
		st = write_pessimistic(t, op, false);
	if (st == BT_RESTART)
		st = write_pessimistic(t, op, true);
	assert(st != BT_RESTART && st != BT_NEED_ROOM);
	return st;
}
