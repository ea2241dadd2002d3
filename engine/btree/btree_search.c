/*
 * btree_search.c — item encoding, binary search inside a page, read-only
 * descent with latch coupling, and ae_btree_get.
 */
#include <stdlib.h>
#include "btree_internal.h"

/* ---------------------------------------------------------------- keys */

int
ae_key_cmp_bytes(const void *a, size_t alen, const void *b, size_t blen)
{
	size_t		n = alen < blen ? alen : blen;
	int			c = n ? memcmp(a, b, n) : 0;

	if (c != 0)
		return c;
	return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

/* ---------------------------------------------------------------- items */

void
bt_stub_encode(const bt_stub *s, char *out)
{
	memcpy(out, &s->first, 4);
	memcpy(out + 4, &s->len, 8);
	memcpy(out + 12, &s->chain, 8);
}

void
bt_stub_decode(const void *in, bt_stub *s)
{
	const char *p = in;

	memcpy(&s->first, p, 4);
	memcpy(&s->len, p + 4, 8);
	memcpy(&s->chain, p + 12, 8);
}

/* Decode leaf item i of page (no checks beyond I3: the item holds its key). */
void
bt_leaf_item_get(const void *page, int i, bt_leaf_item *out)
{
	uint16_t	len;
	const char *p = ae_page_item(page, i, &len);

	memcpy(&out->klen, p, 2);
	assert(len >= AE_BT_LEAF_HDR + out->klen);	/* I3 */
	out->key = p + 2;
	out->flags = (uint8_t) p[2 + out->klen];
	out->val = p + AE_BT_LEAF_HDR + out->klen;
	out->vlen = len - AE_BT_LEAF_HDR - out->klen;
}

/* Encode a leaf item into buf (AE_BT_MAX_LEAF_ITEM bytes); returns its length. */
uint16_t
bt_leaf_item_build(char *buf, const void *key, size_t klen, uint8_t flags,
				   const void *val, size_t vlen)
{
	uint16_t	k = (uint16_t) klen;

	assert(klen <= AE_BTREE_MAX_KEY && vlen <= AE_BTREE_INLINE_MAX);
	memcpy(buf, &k, 2);
	if (klen)
		memcpy(buf + 2, key, klen);
	buf[2 + klen] = (char) flags;
	if (vlen)
		memcpy(buf + AE_BT_LEAF_HDR + klen, val, vlen);
	return (uint16_t) (AE_BT_LEAF_HDR + klen + vlen);
}

const char *
bt_inner_key(const void *page, int i, uint16_t *klen)
{
	uint16_t	len;
	const char *p = ae_page_item(page, i, &len);

	assert(len >= AE_BT_INNER_HDR);
	*klen = len - AE_BT_INNER_HDR;
	return p + AE_BT_INNER_HDR;
}

uint32_t
bt_inner_child(const void *page, int i)
{
	uint16_t	len;
	const char *p = ae_page_item(page, i, &len);
	uint32_t	c;

	memcpy(&c, p, 4);
	return c;
}

/* First slot whose key is >= key (nslots if none); *found if equal. */
int
bt_leaf_search(const ae_btree *t, const void *page, const void *key, size_t klen,
			   bool *found)
{
	int			lo = 0,
				hi = ae_page_nslots(page);
	bt_leaf_item it;

	*found = false;
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;
		int			c;

		bt_leaf_item_get(page, mid, &it);
		c = t->cmp(it.key, it.klen, key, klen);
		if (c < 0)
			lo = mid + 1;
		else
		{
			if (c == 0)
				*found = true;
			hi = mid;
		}
	}
	return lo;
}

/*
 * Index of the child to follow in an inner page: the last i such that i == 0
 * (minus infinity, I4) or key[i] <= key (strict: key[i] < key).
 */
int
bt_inner_search(const ae_btree *t, const void *page, const void *key, size_t klen,
				bool strict)
{
	int			lo = 1,
				hi = ae_page_nslots(page);

	assert(hi >= 1);			/* I4: an inner page is never empty */
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;
		uint16_t	sl;
		const char *s = bt_inner_key(page, mid, &sl);
		int			c = t->cmp(s, sl, key, klen);

		if (c < 0 || (c == 0 && !strict))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

/* Conservative: true if an item of len bytes certainly fits (README I6). */
bool
bt_fits(const void *page, size_t len)
{
	/* free_space_total already excludes one slot and length word */
	return ae_page_free_space_total(page) >= len + 1;
}

/*
 * I13: an insert at the end of the rightmost leaf (an append) leaves
 * AE_BT_APPEND_RESERVE bytes free, so leaves filled by appends keep room for
 * their rows to grow (a row gains a version on UPDATE) before they must split.
 * Any other insert may fill the page.
 */
bool
bt_fits_at(const void *page, int slot, size_t len)
{
	const ae_page_opaque *opq = ae_page_opq((void *) page);
	bool		append = slot == ae_page_nslots(page) && opq->right == AE_NO_BLOCK &&
		opq->level == 0;

	return ae_page_free_space_total(page) >= len + 1 + (append ? AE_BT_APPEND_RESERVE : 0);
}

bool
bt_fits_replace(const void *page, int slot, size_t len)
{
	uint16_t	old;

	(void) ae_page_item(page, slot, &old);
	return ae_page_free_space_total(page) + old >= len + 1;
}

/* AE_CORRUPT unless b is a page of the given kind and level (I2). */
ae_status
bt_check_page(ae_btree *t, ae_buf *b, int kind, int level)
{
	ae_page_opaque *o = ae_page_opq(ae_buf_page(b));

	if (o->magic != AE_PAGE_MAGIC || o->kind != kind || (level >= 0 && o->level != level))
		return ae_fail(AE_CORRUPT, t->file, ae_buf_block(b),
					   "btree: expected page kind %d level %d, found kind %d level %d",
					   kind, level, o->kind, o->level);
	return AE_OK;
}

/* ---------------------------------------------------------------- descent */

static int
seek_child(ae_btree *t, const void *page, const void *key, size_t klen, bt_seek how)
{
	switch (how)
	{
		case BT_SEEK_FIRST:
			return 0;
		case BT_SEEK_LAST:
			return ae_page_nslots(page) - 1;
		case BT_SEEK_LT:
			return bt_inner_search(t, page, key, klen, true);
		default:
			return bt_inner_search(t, page, key, klen, false);
	}
}

/*
 * Descend from the metapage to a leaf with shared latch coupling (README L1).
 * how picks the child at each level. flags go to ae_buf_read for the leaf.
 * lowfence (optional): set to the separator bounding the leaf from below;
 * *has_fence false when the leaf's range starts at minus infinity.
 * Entry: nothing held. Exit AE_OK: *leaf pinned and latched shared; else nothing held.
 */
ae_status
bt_descend_read(ae_btree *t, const void *key, size_t klen, bt_seek how,
				int flags, ae_buf **leaf, ae_bytes *lowfence, bool *has_fence)
{
	ae_buf	   *meta,
			   *node,
			   *child;
	ae_status	st = bt_meta_read(t, AE_LATCH_SHARED, &meta);
	int			level;

	if (st != AE_OK)
		return st;
	level = (int) bt_meta_ptr(ae_buf_page(meta))->height - 1;
	/* the root pointer is swizzled as slot 0 of the metapage (S6) */
	st = ae_buf_read_child(t->eng, meta, 0, t->file, bt_meta_ptr(ae_buf_page(meta))->root,
						   AE_LATCH_SHARED, level == 0 ? flags : 0, &node);
	ae_buf_release(meta);
	if (st != AE_OK)
		return st;
	if (has_fence)
		*has_fence = false;
	for (; level > 0; level--)
	{
		void	   *page = ae_buf_page(node);
		int			i;

		if ((st = bt_check_page(t, node, AE_PAGE_BTREE_INNER, level)) != AE_OK)
			break;
		i = seek_child(t, page, key, klen, how);
		if (lowfence && i > 0)
		{
			uint16_t	sl;
			const char *s = bt_inner_key(page, i, &sl);

			if ((st = bt_bytes_set(lowfence, s, sl)) != AE_OK)
				break;
			*has_fence = true;
		}
		st = ae_buf_read_child(t->eng, node, i, t->file, bt_inner_child(page, i),
							   AE_LATCH_SHARED, level == 1 ? flags : 0, &child);
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

/* ------------------------------------------------------- recent leaves */

/*
 * W7: process-local, per (engine, file), the last BT_RECENT_WAYS leaves this
 * process descended to and found or wrote a key in, each with the key range
 * it held then (its first and last key; a hit moves its entry to the front
 * and leaves the range as it was). A get or a write of a key inside a remembered range
 * latches that leaf alone and uses it if the leaf, under its latch, still
 * covers the key: it is a leaf of the tree and the key is one of its keys or
 * lies strictly between its first and its last. Leaves hold disjoint key
 * intervals, so a leaf holding keys a <= key <= b is the one whose interval
 * contains key (freed leaves are empty and cover nothing). A stale entry
 * costs one page latch and is dropped; a key outside every range costs
 * comparisons. The PostgreSQL glue reads a row, reads it again to change it
 * and writes it, prunes the row a transaction before it changed, and reads
 * rows of small tables again and again: all of these touch only the leaf.
 * 32 sets by file, of BT_RECENT_WAYS entries, most recent first.
 */
#define BT_RECENT_SETS		32
#define BT_RECENT_WAYS		4
#define BT_RECENT_KEY_MAX	16

typedef struct bt_recent
{
	ae_engine  *eng;			/* NULL: empty */
	ae_file_id	file;
	uint32_t	blk;
	uint32_t	frame;			/* ae_buf_read_hint's frame hint */
	uint8_t		lolen;
	uint8_t		hilen;
	char		lo[BT_RECENT_KEY_MAX];	/* the leaf's first key when remembered */
	char		hi[BT_RECENT_KEY_MAX];	/* and its last */
} bt_recent;

static bt_recent recent[BT_RECENT_SETS][BT_RECENT_WAYS];
static uint64_t recent_hits;

static bt_recent *
recent_set(const ae_btree *t)
{
	return recent[bt_file_slot(t, BT_RECENT_SETS)];
}

static bool
recent_is(const bt_recent *e, const ae_btree *t)
{
	return e->eng == t->eng && ae_file_id_equal(e->file, t->file);
}

/* Make way w of set the first (most recently used), the ones before it move down. */
static void
recent_to_front(bt_recent *set, int w)
{
	bt_recent	e = set[w];

	memmove(&set[1], &set[0], sizeof(bt_recent) * w);
	set[0] = e;
}

void
bt_recent_remember(ae_btree *t, ae_buf *leaf)
{
	bt_recent  *set = recent_set(t);
	const void *page = ae_buf_page(leaf);
	int			n = ae_page_nslots(page);
	bt_leaf_item first,
				last;
	int			w;

	if (n == 0)
		return;
	bt_leaf_item_get(page, 0, &first);
	bt_leaf_item_get(page, n - 1, &last);
	if (first.klen > BT_RECENT_KEY_MAX || last.klen > BT_RECENT_KEY_MAX)
		return;
	/* this leaf's entry (keeping its frame hint), or else the oldest, moves to the front */
	for (w = 0; w < BT_RECENT_WAYS - 1; w++)
		if (recent_is(&set[w], t) && set[w].blk == ae_buf_block(leaf))
			break;
	recent_to_front(set, w);
	if (!recent_is(&set[0], t) || set[0].blk != ae_buf_block(leaf))
		set[0].frame = AE_BUF_NO_HINT;
	set[0].eng = t->eng;
	set[0].file = t->file;
	set[0].blk = ae_buf_block(leaf);
	set[0].lolen = (uint8_t) first.klen;
	set[0].hilen = (uint8_t) last.klen;
	memcpy(set[0].lo, first.key, first.klen);
	memcpy(set[0].hi, last.key, last.klen);
}

ae_status
bt_recent_leaf(ae_btree *t, const void *key, size_t klen, ae_latch_mode mode, ae_buf **out,
			   int *slotp, bool *foundp)
{
	bt_recent  *set = recent_set(t);

	for (int w = 0; w < BT_RECENT_WAYS; w++)
	{
		bt_recent  *e = &set[w];
		ae_buf	   *b;
		void	   *page;
		ae_page_opaque *o;
		bool		covers = false;
		bool		found = false;
		int			slot = 0;
		ae_status	st;

		if (!recent_is(e, t) ||
			t->cmp(e->lo, e->lolen, key, klen) > 0 || t->cmp(key, klen, e->hi, e->hilen) > 0)
			continue;
		if ((st = ae_buf_read_hint(t->eng, t->file, e->blk, mode, 0, &e->frame, &b)) != AE_OK)
		{
			/* a block past the end (the file was cut) is just stale; a failed read is an error */
			e->eng = NULL;
			if (st != AE_NOT_FOUND)
				return st;
			continue;
		}
		page = ae_buf_page(b);
		o = ae_page_opq(page);
		if (o->magic == AE_PAGE_MAGIC && o->format == AE_PAGE_FORMAT &&
			o->kind == AE_PAGE_BTREE_LEAF && o->level == 0)
		{
			slot = bt_leaf_search(t, page, key, klen, &found);
			covers = found || (slot > 0 && slot < ae_page_nslots(page));
		}
		if (!covers)
		{
			ae_buf_release(b);
			e->eng = NULL;		/* stale: another way may still cover the key */
			continue;
		}
		recent_hits++;
		recent_to_front(set, w);	/* its range needs no refresh */
		*out = b;
		if (slotp)
			*slotp = slot;
		if (foundp)
			*foundp = found;
		return AE_OK;
	}
	return AE_NOT_FOUND;
}

uint64_t
ae_btree_recent_leaf_hits(void)
{
	return recent_hits;
}

/* ---------------------------------------------------------------- get */

ae_status
ae_btree_get(ae_btree *t, const void *key, size_t klen, ae_bytes *out)
{
	uint64_t	failed_chain = 0;

	if (klen > AE_BTREE_MAX_KEY)
		return ae_fail(AE_TOO_LARGE, t->file, AE_NO_BLOCK, "btree: key of %zu bytes", klen);
	for (;;)
	{
		ae_buf	   *leaf;
		bool		found;
		bt_leaf_item it;
		bt_stub		stub;
		ae_status	st = AE_OK;
		int			slot;
		bool		descended;

		st = bt_recent_leaf(t, key, klen, AE_LATCH_SHARED, &leaf, &slot, &found);
		if ((descended = (st == AE_NOT_FOUND)))
		{
			if ((st = bt_descend_read(t, key, klen, BT_SEEK_LE, 0, &leaf, NULL, NULL)) != AE_OK)
				return st;
			slot = bt_leaf_search(t, ae_buf_page(leaf), key, klen, &found);
		}
		else if (st != AE_OK)
			return st;
		if (!found)
		{
			ae_buf_release(leaf);
			return AE_NOT_FOUND;
		}
		if (descended)
			bt_recent_remember(t, leaf);	/* W7 */
		bt_leaf_item_get(ae_buf_page(leaf), slot, &it);
		if (!(it.flags & AE_BT_ITEM_OVERFLOW))
		{
			st = bt_bytes_set(out, it.val, it.vlen);
			ae_buf_release(leaf);
			return st;
		}
		bt_stub_decode(it.val, &stub);
		ae_buf_release(leaf);	/* README L4: read the chain without the leaf */
		st = bt_ovf_read(t, &stub, 0, out);
		if (st != BT_RETRY)
			return st;
		if (stub.chain == failed_chain)	/* O3: a live stub's chain is broken */
			return ae_fail(AE_CORRUPT, t->file, stub.first,
						   "btree: overflow chain %llu of a live stub is broken",
						   (unsigned long long) stub.chain);
		failed_chain = stub.chain;
	}
}
