/*
 * btree_cursor.c — range cursors (README C1..C3).
 *
 * A cursor copies the in-range items of one leaf into its process-local
 * batch under a shared latch and releases the leaf; it never holds a pin
 * between calls. The next batch is found by a fresh descent to the first key
 * strictly after (forward) or before (backward) the last key returned, so
 * concurrent splits cannot make it skip or repeat keys. Forward scans step to
 * the right sibling while still holding the current leaf (L2); backward scans
 * re-descend below the current leaf's low fence instead (no right-to-left
 * latching). Overflow values are read when their item is returned.
 */
#include <stdlib.h>
#include "btree_internal.h"

ae_status
ae_btree_cursor_open(ae_btree_cursor *c, ae_btree *t, ae_scan_dir dir, int flags,
					 const void *lo, size_t lolen, bool lo_incl,
					 const void *hi, size_t hilen, bool hi_incl)
{
	ae_status	st = AE_OK;

	memset(c, 0, sizeof(*c));
	c->tree = t;
	c->dir = dir;
	c->flags = flags;
	if (lolen > AE_BTREE_MAX_KEY || hilen > AE_BTREE_MAX_KEY)
		return ae_fail(AE_TOO_LARGE, t->file, AE_NO_BLOCK, "btree: cursor bound too long");
	if (lo)
	{
		c->has_lo = true;
		c->lo_incl = lo_incl;
		st = bt_bytes_set(&c->lo, lo, lolen);
	}
	if (hi && st == AE_OK)
	{
		c->has_hi = true;
		c->hi_incl = hi_incl;
		st = bt_bytes_set(&c->hi, hi, hilen);
	}
	if (st != AE_OK)
		ae_btree_cursor_close(c);
	return st;
}

void
ae_btree_cursor_close(ae_btree_cursor *c)
{
	ae_bytes_free(&c->lo);
	ae_bytes_free(&c->hi);
	ae_bytes_free(&c->last_key);
	ae_bytes_free(&c->batch);
	ae_bytes_free(&c->value);
	free(c->offsets);
	c->offsets = NULL;
	c->nitems = c->pos = c->cap_items = 0;
	c->done = true;
}

#define ALIGN8(n)	(((n) + 7) & ~(size_t) 7)
#define ENTRY_HDR	8

/*
 * Append leaf item it to the batch as an entry that starts at an 8-byte
 * aligned offset (batch.data is malloc'd, so 8-byte aligned itself):
 *   0 u16 klen, 2 u8 flags, 3 u8 zero, 4 u32 vlen,
 *   8 key, zero padding to 8, then the value (inline bytes or the stub),
 *   zero padding to 8.
 * So every key and value handed out points at an 8-byte aligned address.
 */
static ae_status
batch_add(ae_btree_cursor *c, bt_leaf_item it)
{
	size_t		koff = ENTRY_HDR,
				voff,
				end;
	char	   *e;
	ae_status	st;

	voff = koff + ALIGN8(it.klen);
	end = voff + ALIGN8(it.vlen);
	if ((st = ae_bytes_reserve(&c->batch, c->batch.len + end)) != AE_OK)
		return st;
	if (c->nitems == c->cap_items)
	{
		int			cap = c->cap_items ? c->cap_items * 2 : 256;
		uint32_t   *o = realloc(c->offsets, sizeof(uint32_t) * cap);

		if (!o)
			return ae_fail(AE_NO_MEMORY, c->tree->file, AE_NO_BLOCK, "cursor: out of memory");
		c->offsets = o;
		c->cap_items = cap;
	}
	c->offsets[c->nitems++] = (uint32_t) c->batch.len;
	e = c->batch.data + c->batch.len;
	memset(e, 0, end);
	memcpy(e, &it.klen, 2);
	e[2] = (char) it.flags;
	memcpy(e + 4, &it.vlen, 4);
	memcpy(e + koff, it.key, it.klen);
	memcpy(e + voff, it.val, it.vlen);
	c->batch.len += end;
	return AE_OK;
}

/* Is the item beyond the far bound of the scan (hi forward, lo backward)? */
static bool
beyond_end(ae_btree_cursor *c, const bt_leaf_item *it)
{
	int			r;

	if (c->dir == AE_FORWARD)
	{
		if (!c->has_hi)
			return false;
		r = c->tree->cmp(it->key, it->klen, c->hi.data, c->hi.len);
		return r > 0 || (r == 0 && !c->hi_incl);
	}
	if (!c->has_lo)
		return false;
	r = c->tree->cmp(it->key, it->klen, c->lo.data, c->lo.len);
	return r < 0 || (r == 0 && !c->lo_incl);
}

/* Copy the in-range items of leaf (latched) in scan order; *end if the far bound was hit. */
static ae_status
collect(ae_btree_cursor *c, const void *page, const ae_bytes *bound, bool has_bound,
		bool incl, bool *end)
{
	int			n = ae_page_nslots(page),
				pos = 0;
	bool		found = false;
	ae_status	st = AE_OK;

	if (has_bound)
		pos = bt_leaf_search(c->tree, page, bound->data, bound->len, &found);
	if (c->dir == AE_FORWARD)
		pos += (found && !incl) ? 1 : 0;	/* first slot in range */
	else
		pos += (found && incl) ? 1 : 0;		/* one past the last slot in range */
	if (!has_bound)
		pos = c->dir == AE_FORWARD ? 0 : n;
	for (int j = pos; st == AE_OK && (c->dir == AE_FORWARD ? j < n : j > 0);)
	{
		int			s = c->dir == AE_FORWARD ? j++ : --j;
		bt_leaf_item it;

		bt_leaf_item_get(page, s, &it);
		if (beyond_end(c, &it))
		{
			*end = true;
			break;
		}
		st = batch_add(c, it);
	}
	return st;
}

/* The bound the next batch starts after: last key returned, else the near bound. */
static bool
start_bound(ae_btree_cursor *c, const ae_bytes **b, bool *incl)
{
	if (c->have_last)
	{
		*b = &c->last_key;
		*incl = false;
		return true;
	}
	*b = c->dir == AE_FORWARD ? &c->lo : &c->hi;
	*incl = c->dir == AE_FORWARD ? c->lo_incl : c->hi_incl;
	return c->dir == AE_FORWARD ? c->has_lo : c->has_hi;
}

/* Forward batch (C2): descend, then walk right siblings until items or the end. */
static ae_status
fill_forward(ae_btree_cursor *c, bool *end)
{
	const ae_bytes *b;
	bool		incl,
				has = start_bound(c, &b, &incl);
	ae_buf	   *leaf = NULL,
			   *next;
	ae_status	st = bt_descend_read(c->tree, b->data, b->len, has ? BT_SEEK_LE : BT_SEEK_FIRST,
									 c->flags, &leaf, NULL, NULL);

	while (st == AE_OK)
	{
		uint32_t	right = ae_page_opq(ae_buf_page(leaf))->right;

		st = collect(c, ae_buf_page(leaf), b, has, incl, end);
		if (st != AE_OK || c->nitems > 0 || *end || right == AE_NO_BLOCK)
		{
			*end = *end || (st == AE_OK && c->nitems == 0);
			break;
		}
		st = ae_buf_read(c->tree->eng, c->tree->file, right, AE_LATCH_SHARED, c->flags, &next);
		if (st == AE_OK && (st = bt_check_page(c->tree, next, AE_PAGE_BTREE_LEAF, 0)) != AE_OK)
			ae_buf_release(next);
		if (st == AE_OK)
		{
			ae_buf_release(leaf);
			leaf = next;
		}
	}
	if (leaf)
		ae_buf_release(leaf);
	return st;
}

/* Backward batch (C3): descend; if the leaf has nothing, re-descend below its low fence. */
static ae_status
fill_backward(ae_btree_cursor *c, bool *end)
{
	const ae_bytes *b;
	bool		incl,
				has = start_bound(c, &b, &incl),
				has_fence;
	ae_bytes	fence = {0},
				bound = {0};
	ae_status	st = has ? bt_bytes_set(&bound, b->data, b->len) : AE_OK;

	while (st == AE_OK)
	{
		ae_buf	   *leaf;
		bt_seek		how = !has ? BT_SEEK_LAST : (incl ? BT_SEEK_LE : BT_SEEK_LT);

		if ((st = bt_descend_read(c->tree, bound.data, bound.len, how, c->flags, &leaf,
								  &fence, &has_fence)) != AE_OK)
			break;
		st = collect(c, ae_buf_page(leaf), &bound, has, incl, end);
		ae_buf_release(leaf);
		if (st != AE_OK || c->nitems > 0 || *end)
			break;
		if (!has_fence || (c->has_lo &&
						   c->tree->cmp(fence.data, fence.len, c->lo.data, c->lo.len) <= 0))
		{
			*end = true;		/* nothing left of the fence is in range */
			break;
		}
		st = bt_bytes_set(&bound, fence.data, fence.len);
		has = true;
		incl = false;
	}
	ae_bytes_free(&fence);
	ae_bytes_free(&bound);
	return st;
}

/* Return the value of a batch item; overflow values are assembled (O3). */
static ae_status
item_value(ae_btree_cursor *c, const bt_leaf_item *it, const void **val, size_t *vlen)
{
	bt_stub		s;
	ae_status	st;

	if (!(it->flags & AE_BT_ITEM_OVERFLOW))
	{
		*val = it->val;
		*vlen = it->vlen;
		return AE_OK;
	}
	bt_stub_decode(it->val, &s);
	st = bt_ovf_read(c->tree, &s, c->flags, &c->value);
	if (st == BT_RETRY)			/* replaced or deleted since the batch: re-read */
		st = ae_btree_get(c->tree, it->key, it->klen, &c->value);
	*val = c->value.data;
	*vlen = c->value.len;
	return st;
}

ae_status
ae_btree_cursor_next(ae_btree_cursor *c, const void **key, size_t *klen,
					 const void **val, size_t *vlen)
{
	for (;;)
	{
		bt_leaf_item it;
		const char *p;
		ae_status	st;

		if (c->pos >= c->nitems)
		{
			bool		end = false;

			if (c->done)
				return AE_NOT_FOUND;
			c->batch.len = 0;
			c->nitems = c->pos = 0;
			st = c->dir == AE_FORWARD ? fill_forward(c, &end) : fill_backward(c, &end);
			c->started = true;
			if (st != AE_OK)
				return st;
			c->done = end;
			if (c->nitems == 0)
				return AE_NOT_FOUND;
		}
		p = c->batch.data + c->offsets[c->pos++];	/* entry layout: batch_add */
		memcpy(&it.klen, p, 2);
		it.flags = (uint8_t) p[2];
		memcpy(&it.vlen, p + 4, 4);
		it.key = p + ENTRY_HDR;
		it.val = p + ENTRY_HDR + ALIGN8(it.klen);
		if ((st = bt_bytes_set(&c->last_key, it.key, it.klen)) != AE_OK)
			return st;
		c->have_last = true;
		st = item_value(c, &it, val, vlen);
		if (st == AE_NOT_FOUND)
			continue;			/* deleted since the batch was taken */
		if (st != AE_OK)
			return st;
		*key = it.key;
		*klen = it.klen;
		return AE_OK;
	}
}
