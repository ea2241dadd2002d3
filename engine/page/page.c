/*
 * page.c — page initialisation, verification and slotted items.
 *
 * Invariants of an initialised page (numbered as in page/README.md):
 *  P1. sizeof(header) <= lower <= upper <= special == AE_PAGE_SIZE - 32,
 *      lower - 24 is even (a whole number of u16 slots).
 *  P2. Every slot points into [upper, special) at an item that starts with a
 *      u16 length and whose bytes end at or before special.
 *  P3. Items are 2-byte aligned: an item of len bytes occupies
 *      2 + round_up(len, 2) bytes, so lower and upper stay even.
 *  P4. hole_bytes == special - upper - (P3 sizes of the live items): the
 *      bytes of the item area no slot reaches. Kept by every change below,
 *      so ae_page_free_space_total is O(1).
 * Holes (bytes between upper and special not reachable from a slot) appear
 * after delete/replace and are reclaimed by compaction, which keeps slot
 * order and moves item bytes only.
 */
#include <string.h>

#include "aether/page.h"

#define SPECIAL_OFF ((uint16_t) (AE_PAGE_SIZE - sizeof(ae_page_opaque)))
#define HDR_SIZE	((uint16_t) sizeof(ae_page_header))

/* Bytes an item of len data bytes occupies in the item area (P3). */
static inline size_t
item_size(size_t len)
{
	return 2 + ((len + 1) & ~(size_t) 1);
}

static inline uint16_t
item_len_at(const void *page, uint16_t off)
{
	uint16_t	len;

	memcpy(&len, (const char *) page + off, 2);
	return len;
}

void
ae_page_init(void *page, uint8_t kind, uint16_t level)
{
	ae_page_header *h = ae_page_hdr(page);
	ae_page_opaque *o = ae_page_opq(page);

	memset(page, 0, AE_PAGE_SIZE);
	h->lower = HDR_SIZE;
	h->upper = SPECIAL_OFF;
	h->special = SPECIAL_OFF;
	h->size_version = AE_PAGE_SIZE | AE_PAGE_LAYOUT_VERSION;
	o->magic = AE_PAGE_MAGIC;
	o->format = AE_PAGE_FORMAT;
	o->kind = kind;
	o->level = level;
	o->left = AE_NO_BLOCK;
	o->right = AE_NO_BLOCK;
}

bool
ae_page_is_new(const void *page)
{
	const uint64_t *w = page;

	for (size_t i = 0; i < AE_PAGE_SIZE / sizeof(uint64_t); i++)
		if (w[i] != 0)
			return false;
	return true;
}

/*
 * Validate a page just read as block blkno of file f. The checksum is checked
 * first (a torn or bit-flipped page fails there), then the header fields of
 * invariant P1 and the special area's identity.
 */
ae_status
ae_page_verify(const void *page, ae_file_id f, uint32_t blkno)
{
	const ae_page_header *h = page;
	const ae_page_opaque *o = ae_page_opq((void *) page);
	uint16_t	sum;

	if (ae_page_is_new(page))
		return AE_OK;
	sum = ae_page_checksum(page, blkno);
	if (sum != h->checksum)
		return ae_fail(AE_CORRUPT, f, blkno,
					   "page checksum mismatch in file %u/%u/%u block %u: stored %u, computed %u",
					   f.spc, f.db, f.rel, blkno, h->checksum, sum);
	if (h->size_version != (AE_PAGE_SIZE | AE_PAGE_LAYOUT_VERSION))
		return ae_fail(AE_CORRUPT, f, blkno,
					   "bad page size/version 0x%04x in file %u/%u/%u block %u",
					   h->size_version, f.spc, f.db, f.rel, blkno);
	if (o->magic != AE_PAGE_MAGIC || o->format != AE_PAGE_FORMAT)
		return ae_fail(AE_CORRUPT, f, blkno,
					   "not an Aether page (magic 0x%04x format %u) in file %u/%u/%u block %u",
					   o->magic, o->format, f.spc, f.db, f.rel, blkno);
	if (h->lower < HDR_SIZE || h->lower > h->upper || h->upper > h->special ||
		h->special != SPECIAL_OFF || (h->lower - HDR_SIZE) % 2 != 0)
		return ae_fail(AE_CORRUPT, f, blkno,
					   "bad page bounds lower %u upper %u special %u in file %u/%u/%u block %u",
					   h->lower, h->upper, h->special, f.spc, f.db, f.rel, blkno);
	return AE_OK;
}

const void *
ae_page_item(const void *page, int i, uint16_t *len)
{
	const ae_page_header *h = page;
	uint16_t	off = h->slots[i];

	assert(i >= 0 && i < ae_page_nslots(page));
	assert(off >= h->upper && off + 2u <= h->special);	/* P2 */
	*len = item_len_at(page, off);
	return (const char *) page + off + 2;
}

size_t
ae_page_free_space(const void *page)
{
	const ae_page_header *h = page;
	size_t		gap = h->upper - h->lower;

	return gap >= 4 ? gap - 4 : 0;
}

/*
 * Free bytes after compaction, O(1) (P4): the gap plus the hole bytes.
 * special - lower - live bytes == (upper - lower) + hole_bytes.
 */
size_t
ae_page_free_space_total(const void *page)
{
	const ae_page_header *h = page;
	size_t		gap = (size_t) (h->upper - h->lower) + h->hole_bytes;

	return gap >= 4 ? gap - 4 : 0;
}

size_t
ae_page_hole_bytes_scan(const void *page)
{
	const ae_page_header *h = page;
	size_t		used = 0;

	for (int i = 0; i < ae_page_nslots(page); i++)
		used += item_size(item_len_at(page, h->slots[i]));
	return h->special - h->upper - used;
}

/*
 * Rewrite the item area so live items are packed against special, in slot
 * order, dropping slot `skip` (its slot is set to 0; -1 skips nothing).
 */
static void
compact_skipping(void *page, int skip)
{
	ae_page_header *h = page;
	char		copy[AE_PAGE_SIZE];
	uint16_t	upper = h->special;

	memcpy(copy, page, AE_PAGE_SIZE);
	for (int i = 0; i < ae_page_nslots(page); i++)
	{
		uint16_t	len;
		size_t		sz;

		if (i == skip)
		{
			h->slots[i] = 0;
			continue;
		}
		len = item_len_at(copy, h->slots[i]);
		sz = item_size(len);
		upper -= sz;
		memcpy((char *) page + upper, copy + h->slots[i], 2 + (size_t) len);
		h->slots[i] = upper;
	}
	h->upper = upper;
	h->hole_bytes = 0;
}

void
ae_page_compact(void *page)
{
	compact_skipping(page, -1);
}

/* Write an item of len bytes at the top of free space; returns its offset. Space checked by caller. */
static uint16_t
place_item(void *page, const void *data, uint16_t len)
{
	ae_page_header *h = page;

	h->upper -= item_size(len);
	memcpy((char *) page + h->upper, &len, 2);
	memcpy((char *) page + h->upper + 2, data, len);
	if (len % 2)
		((char *) page)[h->upper + 2 + len] = 0;	/* deterministic padding */
	return h->upper;
}

bool
ae_page_insert_item(void *page, int i, const void *data, uint16_t len)
{
	ae_page_header *h = page;
	int			n = ae_page_nslots(page);
	size_t		need = item_size(len) + 2;

	assert(i >= 0 && i <= n);
	if ((size_t) (h->upper - h->lower) < need)
	{
		if ((size_t) (h->upper - h->lower) + h->hole_bytes < need)
			return false;
		ae_page_compact(page);
	}
	/* place the bytes first: the new slot's 2 bytes are taken from the gap below upper */
	uint16_t	off = place_item(page, data, len);

	memmove(&h->slots[i + 1], &h->slots[i], (size_t) (n - i) * 2);
	h->slots[i] = off;
	h->lower += 2;
	return true;
}

void
ae_page_delete_item(void *page, int i)
{
	ae_page_header *h = page;
	int			n = ae_page_nslots(page);

	assert(i >= 0 && i < n);
	if (h->slots[i] == h->upper)
		h->upper += item_size(item_len_at(page, h->slots[i]));	/* lowest item: no hole */
	else
		h->hole_bytes += item_size(item_len_at(page, h->slots[i]));
	memmove(&h->slots[i], &h->slots[i + 1], (size_t) (n - i - 1) * 2);
	h->lower -= 2;
}

bool
ae_page_replace_item(void *page, int i, const void *data, uint16_t len)
{
	ae_page_header *h = page;
	uint16_t	off = h->slots[i];
	size_t		old = item_size(item_len_at(page, off));
	size_t		sz = item_size(len);

	assert(i >= 0 && i < ae_page_nslots(page));
	if (sz <= old)
	{
		/* in place; a shrink leaves a hole after the item */
		memcpy((char *) page + off, &len, 2);
		memmove((char *) page + off + 2, data, len);
		if (len % 2)
			((char *) page)[off + 2 + len] = 0;
		h->hole_bytes += old - sz;
		return true;
	}
	if ((size_t) (h->upper - h->lower) < sz)
	{
		if ((size_t) (h->upper - h->lower) + h->hole_bytes + old < sz)
			return false;
		compact_skipping(page, i);	/* drops the old bytes: no holes */
	}
	else
		h->hole_bytes += old;	/* the old bytes become a hole */
	h->slots[i] = place_item(page, data, len);
	return true;
}
