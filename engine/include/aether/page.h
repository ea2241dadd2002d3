/*
 * aether/page.h — the 8 KiB page format shared by every Aether page.
 *
 * Byte layout (little-endian host order, as PostgreSQL):
 *
 *   offset size field
 *   0      8    lsn          log position just past the last record that changed the page
 *   8      2    checksum     PostgreSQL's pg_checksum_page() algorithm, block number mixed in
 *   10     2    flags        AE_PAGE_* bits (PostgreSQL's pd_flags position; we use our own bits)
 *   12     2    lower        end of the slot array (PostgreSQL's pd_lower)
 *   14     2    upper        start of item data (PostgreSQL's pd_upper)
 *   16     2    special      start of the special area (PostgreSQL's pd_special)
 *   18     2    size_version 8192 | 4  (PostgreSQL's PG_PAGE_LAYOUT_VERSION 4)
 *   20     4    hole_bytes   (PostgreSQL's pd_prune_xid position) bytes in [upper, special)
 *                            that no slot reaches: holes left by delete/replace,
 *                            0 after compaction. Lets ae_page_free_space_total
 *                            be O(1) (page/README.md P4). Pages written before
 *                            this field was kept have 0 here, which understates
 *                            free space: safe (compaction happens later).
 *   24     2*n  slots        item offsets, sorted by the page's owner (B+tree: key order)
 *   ...         free space
 *   upper       items        each item: u16 length, then bytes
 *   special     ae_page_opaque (32 bytes)
 *
 * The first 24 bytes match PostgreSQL's PageHeaderData and the checksum is the
 * same function, so pg_checksums --check and pg_basebackup accept Aether
 * files. A page of all zeros is "new" (never written) and has no checksum.
 *
 * The special area identifies the page: magic, format version, page kind.
 */
#ifndef AETHER_PAGE_H
#define AETHER_PAGE_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "aether/status.h"

#define AE_PAGE_SIZE		8192
#define AE_PAGE_MAGIC		0xAE7E
#define AE_PAGE_FORMAT		1
#define AE_PAGE_LAYOUT_VERSION 4	/* PostgreSQL's layout version */

typedef uint64_t ae_lsn;

typedef struct ae_page_header
{
	uint64_t	lsn;
	uint16_t	checksum;
	uint16_t	flags;
	uint16_t	lower;
	uint16_t	upper;
	uint16_t	special;
	uint16_t	size_version;
	uint32_t	hole_bytes;		/* pd_prune_xid in PostgreSQL; see above */
	uint16_t	slots[];		/* flexible: item offsets */
} ae_page_header;

static_assert(sizeof(ae_page_header) == 24, "page header must match PostgreSQL's PageHeaderData");

/* Page kinds (ae_page_opaque.kind) */
enum
{
	AE_PAGE_FREE = 0,			/* on the relation's free list */
	AE_PAGE_META = 1,			/* block 0 of every Aether relation */
	AE_PAGE_BTREE_LEAF = 2,
	AE_PAGE_BTREE_INNER = 3,
	AE_PAGE_OVERFLOW = 4
};

typedef struct ae_page_opaque
{
	uint16_t	magic;			/* AE_PAGE_MAGIC */
	uint8_t		format;			/* AE_PAGE_FORMAT */
	uint8_t		kind;			/* AE_PAGE_* */
	uint16_t	level;			/* B+tree: 0 for leaves */
	uint16_t	pflags;			/* kind-specific */
	uint32_t	left;			/* B+tree sibling links, AE_NO_BLOCK when none */
	uint32_t	right;			/* B+tree right sibling / overflow and free-list next */
	uint64_t	aux;			/* kind-specific (overflow: chain id) */
	uint64_t	aux2;			/* kind-specific */
} ae_page_opaque;

static_assert(sizeof(ae_page_opaque) == 32, "special area is 32 bytes");

#define AE_PAGE_USABLE (AE_PAGE_SIZE - sizeof(ae_page_header) - sizeof(ae_page_opaque))

static inline ae_page_header *ae_page_hdr(void *page) { return (ae_page_header *) page; }
static inline ae_page_opaque *
ae_page_opq(void *page)
{
	return (ae_page_opaque *) ((char *) page + AE_PAGE_SIZE - sizeof(ae_page_opaque));
}

/* Initialise an empty page of the given kind (lsn 0, no slots). */
void		ae_page_init(void *page, uint8_t kind, uint16_t level);

/* True if every byte is zero (a block never written). */
bool		ae_page_is_new(const void *page);

/* PostgreSQL-compatible page checksum of page as block blkno (absolute block number). */
uint16_t	ae_page_checksum(const void *page, uint32_t blkno);

/* Stamp the checksum into the header (call on a private copy just before writing). */
void		ae_page_set_checksum(void *page, uint32_t blkno);

/*
 * Validate a page just read: a new (zero) page is fine; otherwise the checksum,
 * size_version, magic and format must match and lower/upper/special be sane.
 * Returns AE_OK or AE_CORRUPT (with ae_fail naming file and block).
 */
ae_status	ae_page_verify(const void *page, ae_file_id f, uint32_t blkno);

/* ---- slotted items ---- */
static inline int ae_page_nslots(const void *page)
{
	const ae_page_header *h = (const ae_page_header *) page;
	return (h->lower - (int) sizeof(ae_page_header)) / 2;
}

/* Item i: pointer to its bytes and length. */
const void *ae_page_item(const void *page, int i, uint16_t *len);

/* Contiguous free bytes available for one more item of len bytes (counts its slot and length word). */
size_t		ae_page_free_space(const void *page);
/* Free bytes after compaction (including holes left by deleted items). O(1). */
size_t		ae_page_free_space_total(const void *page);
/* Hole bytes recomputed from the slots, O(items) (checks of invariant P4). */
size_t		ae_page_hole_bytes_scan(const void *page);

/* Insert an item at slot position i (0..nslots), shifting later slots. Compacts if needed.
 * Returns false if it does not fit even after compaction. */
bool		ae_page_insert_item(void *page, int i, const void *data, uint16_t len);

/* Remove item i (shifting later slots); its bytes become a hole reclaimed by compaction. */
void		ae_page_delete_item(void *page, int i);

/* Replace item i with new bytes; false if it cannot fit (page unchanged). */
bool		ae_page_replace_item(void *page, int i, const void *data, uint16_t len);

/* Squeeze out holes (slot order unchanged). */
void		ae_page_compact(void *page);

#endif
