/*
 * btree_format.h — on-disk format of the Aether B+tree (metapage, leaf and
 * inner items, overflow pages) and of its log records, byte by byte.
 *
 * All integers are host order (little-endian), stored with memcpy (no
 * alignment assumed inside items). Every page uses the common page format of
 * aether/page.h; the kind in the special area says which layout below applies.
 *
 * ---- Metapage: block 0, kind AE_PAGE_META, one slotted item of 64 bytes ----
 *   offset size field
 *   0      4    magic        AE_BT_META_MAGIC ("AEBT")
 *   4      4    version      AE_BT_FORMAT_VERSION
 *   8      4    root         block of the root (a leaf when height == 1)
 *   12     4    height       levels; 1 = the root is a leaf
 *   16     4    npages       high-water mark: next block to allocate when the
 *                            free list is empty (every block < npages is in use
 *                            or on the free list)
 *   20     4    free_head    first free page (AE_NO_BLOCK: list empty)
 *   24     4    nfree        pages on the free list
 *   28     4    reserved0    zero
 *   32     8    next_id      ae_btree_reserve_ids counter (next unreserved id;
 *                            changes below id_limit are not logged, see I11a)
 *   40     8    next_chain   overflow chain id counter (ids are never reused)
 *   48     8    id_limit     every id ever handed out is below this, and the
 *                            record that raised it was flushed before any id
 *                            at or past the previous limit was handed out
 *                            (0 in trees made before it existed)
 *   56     8    id_epoch     the ae_start_epoch at which next_id last caught
 *                            up with id_limit (0: never)
 *
 * ---- Leaf page: kind AE_PAGE_BTREE_LEAF, level 0 ----
 *   opaque.left / opaque.right: sibling leaves (AE_NO_BLOCK at the ends).
 *   Slots sorted by key (strictly increasing, the tree's comparator). Item:
 *   0      2    klen
 *   2      klen key bytes
 *   2+klen 1    flags        AE_BT_ITEM_OVERFLOW: the value is a stub
 *   3+klen ...  value bytes (inline, <= AE_BTREE_INLINE_MAX), or a 20-byte stub:
 *               0 4 first overflow block, 4 8 total value length, 12 8 chain id
 *
 * ---- Inner page: kind AE_PAGE_BTREE_INNER, level >= 1 ----
 *   opaque.left / opaque.right unused (AE_NO_BLOCK). Item i:
 *   0      4    child block (level = this level - 1)
 *   4      ...  separator key (length = item length - 4)
 *   Item 0's key is "minus infinity": it is stored empty and never compared.
 *   Child i holds the keys k with key[i] <= k < key[i+1].
 *
 * ---- Overflow page: kind AE_PAGE_OVERFLOW, level 0 ----
 *   opaque.right = next page of the chain (AE_NO_BLOCK on the last),
 *   opaque.aux = chain id; one slotted item = the payload chunk (up to
 *   AE_BT_OVF_CHUNK bytes; every page but the last is full).
 *
 * ---- Free page: kind AE_PAGE_FREE ----
 *   opaque.right = next free page (AE_NO_BLOCK at the end of the list).
 *
 * ---- Log records (payload layouts) ----
 *   AE_RMGR_BTREE
 *     AE_BT_REC_META_SET     ae_bt_meta (64 bytes): metapage item := payload
 *                            (initialises the page when it is not a metapage)
 *     AE_BT_REC_LEAF_INSERT  u16 slot, item bytes: ae_page_insert_item(slot)
 *     AE_BT_REC_LEAF_DELETE  u16 slot: ae_page_delete_item(slot)
 *     AE_BT_REC_LEAF_REPLACE u16 slot, item bytes: ae_page_replace_item(slot)
 *     AE_BT_REC_LEAF_REPLACE_DELTA  u16 slot, u16 prefix, u16 suffix, then the
 *                            middle bytes: the item at slot becomes its first
 *                            prefix bytes, the middle, its last suffix bytes
 *                            (prefix + suffix <= its length); what an UPDATE
 *                            logs when the new version list shares a head and
 *                            a tail with the old one (the older versions)
 *     AE_BT_REC_LEAF_INSERT_MANY  u16 count, then count entries of
 *                            (u16 slot, u16 len, len item bytes):
 *                            ae_page_insert_item(slot) for each, in order
 *                            (ae_btree_insert_batch: one record per leaf)
 *     AE_BT_REC_PAGE_BUILD   (flagged AE_REC_PAGE_INIT) u8 kind, u8 0, u16 level,
 *                            u32 left, u32 right, u16 count, then count entries
 *                            of (u16 len, len item bytes): ae_page_init(kind,
 *                            level), the links, then each item appended in
 *                            order (a page rebuilt by a split; free space is
 *                            not logged)
 *     AE_BT_REC_INNER_INSERT u16 slot, item bytes: ae_page_insert_item(slot) on
 *                            an inner page (a split's new separator)
 *   Splits log PAGE_BUILD for each page they rebuild, INNER_INSERT for the
 *   parent and AE_RMGR_PAGE byte patches for sibling links that change alone;
 *   new roots log a full page image (AE_RMGR_PAGE, wal module).
 *   AE_RMGR_OVERFLOW
 *     AE_BT_REC_INNER_DELETE u16 slot: ae_page_delete_item(slot) on an inner
 *                            page (an emptied leaf was unlinked, btree_free.c)
 *     AE_OVF_REC_INIT        u32 next, u64 chain id, payload chunk: the page
 *                            becomes an overflow page holding exactly that
 *     AE_OVF_REC_FREE        u32 next: the page becomes a free page
 *   (both flagged AE_REC_PAGE_INIT: redo does not read the old page)
 */
#ifndef AETHER_BTREE_FORMAT_H
#define AETHER_BTREE_FORMAT_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include "aether/btree.h"

#define AE_BT_META_MAGIC		0x41454254u	/* "AEBT" */
#define AE_BT_FORMAT_VERSION	1
#define AE_BT_META_BLOCK		0

typedef struct ae_bt_meta
{
	uint32_t	magic;
	uint32_t	version;
	uint32_t	root;
	uint32_t	height;
	uint32_t	npages;
	uint32_t	free_head;
	uint32_t	nfree;
	uint32_t	reserved0;
	uint64_t	next_id;
	uint64_t	next_chain;
	uint64_t	id_limit;
	uint64_t	id_epoch;
} ae_bt_meta;

static_assert(sizeof(ae_bt_meta) == 64, "metapage item is 64 bytes");
static_assert(offsetof(ae_bt_meta, next_id) == 32, "next_id at offset 32");

/* leaf item flags */
#define AE_BT_ITEM_OVERFLOW		0x01

#define AE_BT_STUB_SIZE			20
#define AE_BT_LEAF_HDR			3	/* klen + flags */
#define AE_BT_INNER_HDR			4	/* child */

/* largest leaf item and largest inner (separator) item, in bytes */
#define AE_BT_MAX_LEAF_ITEM		(AE_BT_LEAF_HDR + AE_BTREE_MAX_KEY + AE_BTREE_INLINE_MAX)
#define AE_BT_MAX_INNER_ITEM	(AE_BT_INNER_HDR + AE_BTREE_MAX_KEY)

static_assert(AE_BTREE_INLINE_MAX >= AE_BT_STUB_SIZE, "a stub must fit where a value fits");
static_assert(2 * (AE_BT_MAX_LEAF_ITEM + 16) <= AE_PAGE_USABLE,
			  "a leaf split must always leave room for the largest item (README I6)");
static_assert(4 * (AE_BT_MAX_INNER_ITEM + 16) < AE_PAGE_USABLE,
			  "an inner page holds at least 4 separators");

/* overflow payload per page: one item on an otherwise empty page */
#define AE_BT_OVF_CHUNK			((uint32_t) (AE_PAGE_USABLE - 16))

/* record types */
enum
{
	AE_BT_REC_META_SET = 1,
	AE_BT_REC_LEAF_INSERT = 2,
	AE_BT_REC_LEAF_DELETE = 3,
	AE_BT_REC_LEAF_REPLACE = 4,
	AE_BT_REC_LEAF_INSERT_MANY = 5,
	AE_BT_REC_PAGE_BUILD = 6,
	AE_BT_REC_INNER_INSERT = 7,
	AE_BT_REC_INNER_DELETE = 8,
	AE_BT_REC_LEAF_REPLACE_DELTA = 9
};

/* a replace is logged as a delta when that saves at least this many bytes */
#define AE_BT_DELTA_MIN_SAVING	16

enum
{
	AE_OVF_REC_INIT = 1,
	AE_OVF_REC_FREE = 2
};

#endif
