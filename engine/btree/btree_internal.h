/*
 * btree_internal.h — private declarations shared by the files of engine/btree.
 * Invariants I1..I12 are listed in engine/btree/README.md and cited in asserts.
 */
#ifndef AETHER_BTREE_INTERNAL_H
#define AETHER_BTREE_INTERNAL_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "aether/btree.h"
#include "aether/buf.h"
#include "aether/wal.h"
#include "btree_format.h"

/* Internal statuses, never returned by a public call. */
#define BT_RESTART		((ae_status) 100)	/* retry the write holding the metapage */
#define BT_NEED_ROOM	((ae_status) 101)	/* the leaf change does not fit: split */
#define BT_RETRY		((ae_status) 102)	/* overflow chain changed underneath: re-read */

/*
 * Page space accounting (README I6), from page.h/page.c invariant P3: an item
 * of len bytes takes 2 (slot) + 2 (length word) + len rounded up to even.
 * BT_ITEM_COST is an upper bound of that; bt_fits() accepts an item only when
 * ae_page_free_space_total() proves it fits.
 */
#define BT_ITEM_COST(len)	((size_t) (len) + 5)

/* ---- items (btree_search.c) ---- */
typedef struct bt_stub
{
	uint32_t	first;
	uint64_t	len;
	uint64_t	chain;
} bt_stub;

typedef struct bt_leaf_item
{
	const char *key;
	uint16_t	klen;
	uint8_t		flags;
	const char *val;			/* inline bytes or the encoded stub */
	uint32_t	vlen;
} bt_leaf_item;

void		bt_stub_encode(const bt_stub *s, char *out);
void		bt_stub_decode(const void *in, bt_stub *s);
void		bt_leaf_item_get(const void *page, int i, bt_leaf_item *out);
uint16_t	bt_leaf_item_build(char *buf, const void *key, size_t klen, uint8_t flags,
							   const void *val, size_t vlen);
const char *bt_inner_key(const void *page, int i, uint16_t *klen);
uint32_t	bt_inner_child(const void *page, int i);
int			bt_leaf_search(const ae_btree *t, const void *page, const void *key,
						   size_t klen, bool *found);
int			bt_inner_search(const ae_btree *t, const void *page, const void *key,
							size_t klen, bool strict);
bool		bt_fits(const void *page, size_t len);
/* Free space kept by appends to the rightmost leaf (I13). */
#define AE_BT_APPEND_RESERVE (AE_PAGE_SIZE / 20)
bool		bt_fits_at(const void *page, int slot, size_t len);
bool		bt_fits_replace(const void *page, int slot, size_t len);

/* how a read descent picks the child */
typedef enum bt_seek
{
	BT_SEEK_LE,					/* child covering key (last sep <= key) */
	BT_SEEK_LT,					/* child holding the largest keys < key */
	BT_SEEK_FIRST,				/* leftmost leaf */
	BT_SEEK_LAST				/* rightmost leaf */
} bt_seek;

ae_status	bt_descend_read(ae_btree *t, const void *key, size_t klen, bt_seek how,
							int flags, ae_buf **leaf, ae_bytes *lowfence, bool *has_fence);
ae_status	bt_check_page(ae_btree *t, ae_buf *b, int kind, int level);

/* ---- metapage, allocation (btree_meta.c) ---- */
ae_bt_meta *bt_meta_ptr(void *page);
ae_status	bt_meta_read(ae_btree *t, ae_latch_mode mode, ae_buf **out);
void		bt_meta_log(ae_mtr *m, ae_buf *meta);
ae_status	bt_alloc_page(ae_btree *t, ae_mtr *m, ae_buf *meta, ae_buf **out);
void		bt_free_page(ae_mtr *m, ae_buf *meta, ae_buf *page);
ae_status	bt_bytes_set(ae_bytes *b, const void *data, size_t len);

/* ---- overflow chains (overflow.c) ---- */
ae_status	bt_ovf_write(ae_btree *t, const void *val, size_t len, bt_stub *out);
ae_status	bt_ovf_read(ae_btree *t, const bt_stub *s, int flags, ae_bytes *out);
ae_status	bt_ovf_equal(ae_btree *t, const bt_stub *s, const void *val, size_t len, bool *eq);
ae_status	bt_ovf_free(ae_btree *t, const bt_stub *s);
ae_status	bt_ovf_redo(ae_engine *eng, const ae_log_record *rec, void *page);

/* ---- write path (btree_insert.c) ---- */
typedef enum bt_opkind
{
	BT_OP_INSERT,
	BT_OP_PUT,
	BT_OP_DELETE,
	BT_OP_CAS
} bt_opkind;

typedef struct bt_op
{
	bt_opkind	kind;
	const void *key;
	size_t		klen;
	const char *item;			/* new leaf item (NULL: delete) */
	uint16_t	ilen;
	const void *expected;		/* BT_OP_CAS */
	size_t		elen;
	/* out: the value removed or replaced was an overflow stub to free */
	bool		old_ovf;
	bt_stub		old_stub;
	/* out: a delete left its leaf empty, and it is neither first nor last (F1) */
	bool		emptied;
} bt_op;

ae_status	bt_write(ae_btree *t, bt_op *op);

/* Unlink the emptied leaf that held key and free it, if still empty (btree_free.c). */
ae_status	bt_free_empty_leaf(ae_btree *t, const void *key, size_t klen);
/* a process-local mtr when free, else malloc'd (NULL: out of memory) */
ae_mtr	   *bt_mtr_alloc(void);
void		bt_mtr_free(ae_mtr *m);

/* ae_btree_insert_batch's arguments (keys ascending, checked by the caller) */
typedef struct bt_batch
{
	int			n;
	const void *const *keys;
	const size_t *klens;
	const void *const *vals;
	const size_t *vlens;
} bt_batch;

ae_status	bt_insert_run(ae_btree *t, const bt_batch *b, int start, int *done);
bool		bt_rightmost_leaf(ae_btree *t, const void *key, size_t klen, ae_buf **out);
/* Slot of t's file in a process-local direct-mapped table of n entries (W5, W7, W8 hints). */
static inline uint32_t
bt_file_slot(const ae_btree *t, uint32_t n)
{
	uint32_t	h = t->file.rel * 0x9E3779B1u ^ t->file.db * 0x85EBCA77u ^ t->file.spc;

	return (h >> 16) % n;
}

/*
 * W7: AE_OK and *out latched in mode: a recently used leaf that covers key
 * (found, or strictly between its first and last key); *slot and *found
 * (optional) as bt_leaf_search gives them there. AE_NOT_FOUND: none,
 * descend. Anything else: reading the remembered leaf failed.
 */
ae_status	bt_recent_leaf(ae_btree *t, const void *key, size_t klen, ae_latch_mode mode,
						   ae_buf **out, int *slot, bool *found);
/* W7: remember leaf (latched) and the key range it holds now. */
void		bt_recent_remember(ae_btree *t, ae_buf *leaf);
ae_status	bt_leaf_apply(ae_btree *t, bt_op *op, ae_buf *leaf, ae_mtr *m);
ae_status	bt_grow_root(ae_btree *t, ae_buf *meta, ae_buf *root, ae_buf **newroot);
ae_status	bt_split(ae_btree *t, ae_buf *meta, bool *meta_latched, ae_buf *parent,
					 int pslot, ae_buf *node, const bt_op *op, ae_buf **right);

/* write an overflow chain if needed, run op, free chains; shared by put/insert/cas */
ae_status	bt_write_value(ae_btree *t, bt_op *op, const void *val, size_t vlen);

#endif
