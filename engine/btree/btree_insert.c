/*
 * btree_insert.c — the write path shared by insert, put, delete and cas:
 * the leaf change (physiological records), the right-edge fast path, the
 * optimistic descent and the pessimistic descent with preemptive splits
 * (README W1..W5).
 */
#include <stdlib.h>
#include "btree_internal.h"

/* ---------------------------------------------------------------- mtr memory */

/*
 * An ae_mtr stages up to 64 KiB, too big for the stack of a backend and too
 * costly to malloc per insert: each process keeps one and lends it to the
 * first caller; a nested user (none today) gets a malloc'd one.
 */
static ae_mtr cached_mtr;
static bool cached_mtr_busy;

ae_mtr *
bt_mtr_alloc(void)
{
	if (!cached_mtr_busy)
	{
		cached_mtr_busy = true;
		return &cached_mtr;
	}
	return calloc(1, sizeof(ae_mtr));	/* nested use: callers handle NULL */
}

void
bt_mtr_free(ae_mtr *m)
{
	if (m == &cached_mtr)
		cached_mtr_busy = false;
	else
		free(m);
}

/* ---------------------------------------------------------------- right-edge hint */

/*
 * Process-local: per (engine, file), the block of the rightmost leaf this
 * process last inserted into (README I12, W5). Only a hint: it is validated
 * under the leaf's exclusive latch before use, so a stale entry (the leaf was
 * split by another process, the file was dropped and recreated) costs one
 * page read. Direct mapped; a collision just replaces the entry.
 */
#define BT_HINTS	16

typedef struct bt_hint
{
	ae_engine  *eng;
	ae_file_id	file;
	uint32_t	blk;			/* AE_NO_BLOCK: none */
} bt_hint;

static bt_hint hints[BT_HINTS];

static bt_hint *
hint_slot(const ae_btree *t)
{
	return &hints[bt_file_slot(t, BT_HINTS)];
}

static uint32_t
hint_get(const ae_btree *t)
{
	bt_hint    *e = hint_slot(t);

	return e->eng == t->eng && ae_file_id_equal(e->file, t->file) ? e->blk : AE_NO_BLOCK;
}

static void
hint_set(const ae_btree *t, uint32_t blk)
{
	*hint_slot(t) = (bt_hint) {.eng = t->eng, .file = t->file, .blk = blk};
}

/*
 * W5: pin and exclusively latch the hinted leaf if it is still the rightmost
 * leaf of t and key sorts after every key in it (I12). Returns true with
 * *out latched exclusive; false with nothing held (and the hint dropped).
 */
bool
bt_rightmost_leaf(ae_btree *t, const void *key, size_t klen, ae_buf **out)
{
	uint32_t	blk = hint_get(t);
	ae_buf	   *b;
	void	   *page;
	ae_page_opaque *o;
	bt_leaf_item it;
	int			n;
	bool		ok;

	if (blk == AE_NO_BLOCK)
		return false;
	if (ae_buf_read(t->eng, t->file, blk, AE_LATCH_EXCLUSIVE, 0, &b) != AE_OK)
	{
		hint_set(t, AE_NO_BLOCK);	/* e.g. beyond the end of a recreated file */
		return false;
	}
	page = ae_buf_page(b);
	o = ae_page_opq(page);
	n = ae_page_nslots(page);
	ok = o->magic == AE_PAGE_MAGIC && o->format == AE_PAGE_FORMAT &&
		o->kind == AE_PAGE_BTREE_LEAF && o->level == 0 && o->right == AE_NO_BLOCK;
	if (ok && n > 0)
	{
		bt_leaf_item_get(page, n - 1, &it);
		ok = t->cmp(it.key, it.klen, key, klen) < 0;	/* so key >= the leaf's low fence too */
	}
	else if (ok)
		ok = o->left == AE_NO_BLOCK;	/* empty: only the sole leaf covers every key */
	if (!ok)
	{
		ae_buf_release(b);
		hint_set(t, AE_NO_BLOCK);
		return false;
	}
	*out = b;
	return true;
}

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

/*
 * Log the replacement of the leaf item at slot, whose bytes are still old
 * (olen bytes), by item: as a delta (the middle that differs) when the two
 * share enough of a head and a tail, else whole. An UPDATE puts the new
 * version in front of the ones it keeps, so only the new version and the
 * header of the one it replaced differ.
 */
static void
log_replace(ae_mtr *m, ae_buf *leaf, int slot, const char *old, uint16_t olen,
			const char *item, uint16_t ilen)
{
	uint16_t	max = olen < ilen ? olen : ilen;
	uint16_t	pre = 0,
				suf = 0,
				mid;
	char		rec[6 + AE_BT_MAX_LEAF_ITEM];
	uint16_t	s = (uint16_t) slot;

	while (pre < max && old[pre] == item[pre])
		pre++;
	while (suf < max - pre && old[olen - 1 - suf] == item[ilen - 1 - suf])
		suf++;
	if ((size_t) pre + suf < 4 + AE_BT_DELTA_MIN_SAVING)
	{
		log_leaf(m, leaf, AE_BT_REC_LEAF_REPLACE, slot, item, ilen);
		return;
	}
	mid = (uint16_t) (ilen - pre - suf);
	memcpy(rec, &s, 2);
	memcpy(rec + 2, &pre, 2);
	memcpy(rec + 4, &suf, 2);
	memcpy(rec + 6, item + pre, mid);
	ae_mtr_log(m, leaf, AE_RMGR_BTREE, AE_BT_REC_LEAF_REPLACE_DELTA, rec, 6 + (size_t) mid);
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
		op->emptied = ae_page_nslots(page) == 0 && ae_page_opq(page)->left != AE_NO_BLOCK &&
			ae_page_opq(page)->right != AE_NO_BLOCK;
		return AE_OK;
	}
	if (!bt_fits_replace(page, slot, op->ilen))
		return BT_NEED_ROOM;
	note_old(op, &it);
	{
		uint16_t	olen;
		const char *old = ae_page_item(page, slot, &olen);

		/* logged first: the replace moves the old bytes */
		log_replace(m, leaf, slot, old, olen, op->item, op->ilen);
	}
	if (!ae_page_replace_item(page, slot, op->item, op->ilen))
		assert(!"replace must fit after bt_fits_replace (I6)");
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
	op->emptied = false;
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
	if (!bt_fits_at(page, slot, op->ilen))
		return BT_NEED_ROOM;
	if (!ae_page_insert_item(page, slot, op->item, op->ilen))
		assert(!"insert must fit after bt_fits (I6)");
	log_leaf(m, leaf, AE_BT_REC_LEAF_INSERT, slot, op->item, op->ilen);
	if (ae_page_opq(page)->right == AE_NO_BLOCK)
		hint_set(t, ae_buf_block(leaf));	/* W5: the next append may skip the descent */
	return AE_OK;
}

/* Run bt_leaf_apply in its own mtr; commit on success. Leaf stays latched. */
static ae_status
apply_mtr(ae_btree *t, bt_op *op, ae_buf *leaf)
{
	ae_mtr	   *m = bt_mtr_alloc();
	ae_status	st;

	if (!m)
		return ae_fail(AE_NO_MEMORY, t->file, AE_NO_BLOCK, "btree: no memory for an mtr");
	ae_mtr_begin(t->eng, m);
	st = bt_leaf_apply(t, op, leaf, m);
	if (st == AE_OK)
		st = ae_mtr_commit(m, NULL);
	else
		ae_mtr_abort(m);
	bt_mtr_free(m);
	return st;
}

/* ---------------------------------------------------------------- fast path */

/*
 * W5: insert op's new key at the end of the hinted rightmost leaf without a
 * descent. BT_NEED_ROOM when the fast path does not apply (no valid hint,
 * key not after the leaf's last key, or no room): nothing changed, nothing
 * held, take the normal path.
 */
static ae_status
write_fastpath(ae_btree *t, bt_op *op)
{
	ae_buf	   *leaf;
	void	   *page;
	int			n;
	ae_status	st;

	if (!bt_rightmost_leaf(t, op->key, op->klen, &leaf))
		return BT_NEED_ROOM;
	page = ae_buf_page(leaf);
	n = ae_page_nslots(page);
	if (!bt_fits_at(page, n, op->ilen))
	{
		ae_buf_release(leaf);
		return BT_NEED_ROOM;
	}
	ae_mtr	   *m = bt_mtr_alloc();

	if (!m)
	{
		ae_buf_release(leaf);
		return ae_fail(AE_NO_MEMORY, t->file, AE_NO_BLOCK, "btree: no memory for an mtr");
	}
	op->old_ovf = false;
	ae_mtr_begin(t->eng, m);
	if (!ae_page_insert_item(page, n, op->item, op->ilen))
		assert(!"insert must fit after bt_fits (I6)");
	log_leaf(m, leaf, AE_BT_REC_LEAF_INSERT, n, op->item, op->ilen);
	st = ae_mtr_commit(m, NULL);
	bt_mtr_free(m);
	ae_buf_release(leaf);
	return st;
}

/* ---------------------------------------------------------------- optimistic */

/* The upper bound of a leaf's key range found during a descent (a separator). */
typedef struct bt_fence
{
	bool		has;			/* false: +infinity */
	uint16_t	len;
	char		key[AE_BTREE_MAX_KEY];
} bt_fence;

/*
 * W1 descent: shared latches from the metapage down, exclusive on the leaf.
 * fence (optional): the separator bounding the leaf from above (keys of the
 * leaf are < it). Exit AE_OK: *leaf pinned, latched exclusive, checked;
 * otherwise nothing held.
 */
static ae_status
descend_leaf_x(ae_btree *t, const void *key, size_t klen, ae_buf **leaf, bt_fence *fence)
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
	st = ae_buf_read_child(t->eng, meta, 0, t->file, md->root,
						   level == 0 ? AE_LATCH_EXCLUSIVE : AE_LATCH_SHARED, 0, &node);
	ae_buf_release(meta);
	if (st != AE_OK)
		return st;
	if (fence)
		fence->has = false;
	for (; level > 0; level--)
	{
		void	   *page = ae_buf_page(node);
		int			i;

		if ((st = bt_check_page(t, node, AE_PAGE_BTREE_INNER, level)) != AE_OK)
			break;
		i = bt_inner_search(t, page, key, klen, false);
		if (fence && i + 1 < ae_page_nslots(page))
		{
			/* a lower level's next separator is the tighter bound */
			const char *sep = bt_inner_key(page, i + 1, &fence->len);

			memcpy(fence->key, sep, fence->len);
			fence->has = true;
		}
		st = ae_buf_read_child(t->eng, node, i, t->file, bt_inner_child(page, i),
							   level == 1 ? AE_LATCH_EXCLUSIVE : AE_LATCH_SHARED, 0, &child);
		if (st != AE_OK)
			break;
		ae_buf_release(node);
		node = child;
	}
	if (st == AE_OK)
		st = bt_check_page(t, node, AE_PAGE_BTREE_LEAF, 0);
	if (st != AE_OK)
	{
		ae_buf_release(node);
		return st;
	}
	*leaf = node;
	return AE_OK;
}

/*
 * W1: apply op to the leaf found by descend_leaf_x.
 * BT_NEED_ROOM when the leaf lacks room (nothing changed). Nothing held on exit.
 */
static ae_status
write_optimistic(ae_btree *t, bt_op *op)
{
	ae_buf	   *leaf;
	ae_status	st = descend_leaf_x(t, op->key, op->klen, &leaf, NULL);

	if (st != AE_OK)
		return st;
	st = apply_mtr(t, op, leaf);
	if (st == AE_OK && op->kind != BT_OP_DELETE)
		bt_recent_remember(t, leaf);
	ae_buf_release(leaf);
	return st;
}

/* ---------------------------------------------------------------- batches */

/*
 * One leaf's share of ae_btree_insert_batch (W6): latch the leaf for
 * keys[start] (the W5 fast path, else the W1 descent) and insert keys
 * start, start+1, ... while each is inline, below the leaf's upper fence,
 * absent and fits; one mtr with one LEAF_INSERT_MANY record. *done = items
 * inserted (0 when keys[start] does not fit: the caller splits through the
 * single-key path). AE_EXISTS when the key after the inserted ones is
 * present. Nothing held on entry or exit.
 */
ae_status
bt_insert_run(ae_btree *t, const bt_batch *b, int start, int *done)
{
	/* u16 count, then (u16 slot, u16 len, item)...; each entry takes no more
	 * record bytes than page bytes, plus one item built but not inserted */
	static char rec[2 + AE_PAGE_SIZE + 4 + AE_BT_MAX_LEAF_ITEM];
	static bt_fence fence;
	ae_mtr	   *m = bt_mtr_alloc();
	ae_buf	   *leaf;
	void	   *page;
	size_t		rlen = 2;
	uint16_t	count = 0;
	ae_status	st = AE_OK;
	int			lo = 0;

	*done = 0;
	fence.has = false;
	if (!m)
		return ae_fail(AE_NO_MEMORY, t->file, AE_NO_BLOCK, "btree: no memory for an mtr");
	if (!bt_rightmost_leaf(t, b->keys[start], b->klens[start], &leaf) &&
		(st = descend_leaf_x(t, b->keys[start], b->klens[start], &leaf, &fence)) != AE_OK)
	{
		bt_mtr_free(m);
		return st;
	}
	page = ae_buf_page(leaf);
	for (int i = start; i < b->n && b->vlens[i] <= AE_BTREE_INLINE_MAX; i++)
	{
		const void *key = b->keys[i];
		size_t		klen = b->klens[i];
		bool		found;
		int			slot;
		uint16_t	s,
					ilen;
		char	   *item = rec + rlen + 4;

		if (fence.has && t->cmp(key, klen, fence.key, fence.len) >= 0)
			break;				/* belongs to a leaf further right */
		/* ascending keys: the slot is after the previous one */
		{
			int			hi = ae_page_nslots(page);

			while (lo < hi)
			{
				int			mid = (lo + hi) / 2;
				bt_leaf_item it;
				int			c;

				bt_leaf_item_get(page, mid, &it);
				c = t->cmp(it.key, it.klen, key, klen);
				if (c < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			slot = lo;
			found = false;
			if (slot < ae_page_nslots(page))
			{
				bt_leaf_item it;

				bt_leaf_item_get(page, slot, &it);
				found = t->cmp(it.key, it.klen, key, klen) == 0;
			}
		}
		if (found)
		{
			st = AE_EXISTS;
			break;
		}
		ilen = bt_leaf_item_build(item, key, klen, 0, b->vals[i] ? b->vals[i] : "", b->vlens[i]);
		if (!bt_fits_at(page, slot, ilen))
			break;
		if (!ae_page_insert_item(page, slot, item, ilen))
			assert(!"insert must fit after bt_fits (I6)");
		s = (uint16_t) slot;
		memcpy(rec + rlen, &s, 2);
		memcpy(rec + rlen + 2, &ilen, 2);
		rlen += 4 + (size_t) ilen;
		count++;
		lo = slot + 1;
	}
	if (count > 0)
	{
		ae_status	cst;

		memcpy(rec, &count, 2);
		ae_mtr_begin(t->eng, m);
		ae_mtr_log(m, leaf, AE_RMGR_BTREE, AE_BT_REC_LEAF_INSERT_MANY, rec, rlen);
		cst = ae_mtr_commit(m, NULL);
		if (cst != AE_OK)
			st = cst;
		else
			*done = count;
		if (ae_page_opq(page)->right == AE_NO_BLOCK)
			hint_set(t, ae_buf_block(leaf));
	}
	ae_buf_release(leaf);
	bt_mtr_free(m);
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
	st = ae_buf_read_child(t->eng, w.meta, 0, t->file, bt_meta_ptr(ae_buf_page(w.meta))->root,
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
		st = ae_buf_read_child(t->eng, w.node, w.pslot, t->file, bt_inner_child(page, w.pslot),
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
 * Run op against the tree: the right-edge fast path for a new key, then
 * optimistic, then pessimistic, then pessimistic holding the metapage.
 * Nothing held on entry or exit.
 */
ae_status
bt_write(ae_btree *t, bt_op *op)
{
	ae_status	st = BT_NEED_ROOM;
	ae_buf	   *leaf;
	ae_status	hint = bt_recent_leaf(t, op->key, op->klen, AE_LATCH_EXCLUSIVE, &leaf,
									  NULL, NULL);

	if (hint != AE_OK && hint != AE_NOT_FOUND)
		return hint;
	if (hint == AE_OK)
	{
		/* W7: the leaf covering the key, remembered from recent use: no descent */
		st = apply_mtr(t, op, leaf);
		ae_buf_release(leaf);
	}
	else if (op->item && (op->kind == BT_OP_INSERT || op->kind == BT_OP_PUT))
		st = write_fastpath(t, op);
	if (st == BT_NEED_ROOM)
		st = write_optimistic(t, op);
	if (st == BT_NEED_ROOM)
		st = write_pessimistic(t, op, false);
	if (st == BT_RESTART)
		st = write_pessimistic(t, op, true);
	assert(st != BT_RESTART && st != BT_NEED_ROOM);
	return st;
}
