/*
 * btree_redo.c — redo of AE_RMGR_BTREE records (layouts in btree_format.h).
 *
 * Each function applies exactly the change its record describes to the page
 * image as it was before that change, using the same page-module calls as the
 * live code, so the result is the same page (R1). New roots are logged as
 * page images and sibling links as byte patches, replayed by the wal module
 * (AE_RMGR_PAGE).
 */
#include "btree_internal.h"

static ae_status
bad(const ae_log_record *rec, const char *what)
{
	return ae_fail(AE_CORRUPT, rec->file, rec->block, "btree redo: %s (record type %d)",
				   what, rec->type);
}

static ae_status
redo_meta(const ae_log_record *rec, void *page)
{
	const void *p = ae_log_record_payload(rec);

	if (rec->payload_len != sizeof(ae_bt_meta))
		return bad(rec, "metapage record of the wrong size");
	if (ae_page_is_new(page) || ae_page_opq(page)->kind != AE_PAGE_META ||
		ae_page_nslots(page) != 1)
	{
		ae_page_init(page, AE_PAGE_META, 0);
		if (!ae_page_insert_item(page, 0, p, sizeof(ae_bt_meta)))
			return bad(rec, "metapage item does not fit");
		return AE_OK;
	}
	memcpy(bt_meta_ptr(page), p, sizeof(ae_bt_meta));
	return AE_OK;
}

static ae_status
redo_leaf(const ae_log_record *rec, void *page)
{
	const char *p = ae_log_record_payload(rec);
	uint16_t	slot;
	uint16_t	ilen = (uint16_t) (rec->payload_len - 2);
	int			n = ae_page_nslots(page);

	if (rec->payload_len < 2 || rec->payload_len > 2 + AE_BT_MAX_LEAF_ITEM)
		return bad(rec, "bad payload length");
	if (ae_page_opq(page)->kind != AE_PAGE_BTREE_LEAF)
		return bad(rec, "leaf record on a page that is not a leaf");
	memcpy(&slot, p, 2);
	switch (rec->type)
	{
		case AE_BT_REC_LEAF_INSERT:
			if (slot > n || !ae_page_insert_item(page, slot, p + 2, ilen))
				return bad(rec, "leaf insert does not apply");
			return AE_OK;
		case AE_BT_REC_LEAF_DELETE:
			if (slot >= n)
				return bad(rec, "leaf delete of a missing slot");
			ae_page_delete_item(page, slot);
			return AE_OK;
		default:
			if (slot >= n || !ae_page_replace_item(page, slot, p + 2, ilen))
				return bad(rec, "leaf replace does not apply");
			return AE_OK;
	}
}

/* LEAF_REPLACE_DELTA: the item at slot keeps its head and tail, the middle is new. */
static ae_status
redo_leaf_delta(const ae_log_record *rec, void *page)
{
	const char *p = ae_log_record_payload(rec);
	char		item[AE_BT_MAX_LEAF_ITEM];
	const char *old;
	uint16_t	slot,
				pre,
				suf,
				olen;
	size_t		mid = rec->payload_len - 6;

	if (rec->payload_len < 6 || rec->payload_len > 6 + AE_BT_MAX_LEAF_ITEM)
		return bad(rec, "bad payload length");
	if (ae_page_opq(page)->kind != AE_PAGE_BTREE_LEAF)
		return bad(rec, "leaf record on a page that is not a leaf");
	memcpy(&slot, p, 2);
	memcpy(&pre, p + 2, 2);
	memcpy(&suf, p + 4, 2);
	if (slot >= ae_page_nslots(page))
		return bad(rec, "leaf replace delta of a missing slot");
	old = ae_page_item(page, slot, &olen);
	if ((size_t) pre + suf > olen || (size_t) pre + mid + suf > AE_BT_MAX_LEAF_ITEM)
		return bad(rec, "leaf replace delta does not fit the item it changes");
	memcpy(item, old, pre);
	memcpy(item + pre, p + 6, mid);
	memcpy(item + pre + mid, old + olen - suf, suf);
	if (!ae_page_replace_item(page, slot, item, (uint16_t) (pre + mid + suf)))
		return bad(rec, "leaf replace delta does not apply");
	return AE_OK;
}

/* LEAF_INSERT_MANY: the inserts of one ae_btree_insert_batch leaf, in order. */
static ae_status
redo_leaf_many(const ae_log_record *rec, void *page)
{
	const char *p = ae_log_record_payload(rec);
	size_t		len = rec->payload_len,
				off = 2;
	uint16_t	count;

	if (len < 2)
		return bad(rec, "bad payload length");
	if (ae_page_opq(page)->kind != AE_PAGE_BTREE_LEAF)
		return bad(rec, "leaf record on a page that is not a leaf");
	memcpy(&count, p, 2);
	for (uint16_t i = 0; i < count; i++)
	{
		uint16_t	slot,
					ilen;

		if (off + 4 > len)
			return bad(rec, "truncated insert-many entry");
		memcpy(&slot, p + off, 2);
		memcpy(&ilen, p + off + 2, 2);
		if (off + 4 + ilen > len || ilen > AE_BT_MAX_LEAF_ITEM)
			return bad(rec, "truncated insert-many item");
		if (slot > ae_page_nslots(page) || !ae_page_insert_item(page, slot, p + off + 4, ilen))
			return bad(rec, "leaf insert-many does not apply");
		off += 4 + (size_t) ilen;
	}
	if (off != len)
		return bad(rec, "trailing bytes in an insert-many record");
	return AE_OK;
}

/* PAGE_BUILD: a page rebuilt by a split, from nothing (AE_REC_PAGE_INIT). */
static ae_status
redo_build(const ae_log_record *rec, void *page)
{
	const char *p = ae_log_record_payload(rec);
	size_t		len = rec->payload_len,
				off = 14;
	uint16_t	level,
				count;
	uint8_t		kind;

	if (len < 14)
		return bad(rec, "short page-build record");
	kind = (uint8_t) p[0];
	memcpy(&level, p + 2, 2);
	memcpy(&count, p + 12, 2);
	if (kind != AE_PAGE_BTREE_LEAF && kind != AE_PAGE_BTREE_INNER)
		return bad(rec, "page-build of a page that is not a tree page");
	ae_page_init(page, kind, level);
	memcpy(&ae_page_opq(page)->left, p + 4, 4);
	memcpy(&ae_page_opq(page)->right, p + 8, 4);
	for (uint16_t i = 0; i < count; i++)
	{
		uint16_t	il;

		if (off + 2 > len)
			return bad(rec, "truncated page-build entry");
		memcpy(&il, p + off, 2);
		if (off + 2 + il > len || !ae_page_insert_item(page, i, p + off + 2, il))
			return bad(rec, "page-build item does not apply");
		off += 2 + (size_t) il;
	}
	if (off != len)
		return bad(rec, "trailing bytes in a page-build record");
	return AE_OK;
}

/* INNER_DELETE: the separator of an emptied leaf that was freed. */
static ae_status
redo_inner_delete(const ae_log_record *rec, void *page)
{
	uint16_t	slot;

	if (rec->payload_len != 2)
		return bad(rec, "bad payload length");
	if (ae_page_opq(page)->kind != AE_PAGE_BTREE_INNER)
		return bad(rec, "inner record on a page that is not an inner page");
	memcpy(&slot, ae_log_record_payload(rec), 2);
	if (slot == 0 || slot >= ae_page_nslots(page))
		return bad(rec, "inner delete of a missing or first slot");
	ae_page_delete_item(page, slot);
	return AE_OK;
}

/* INNER_INSERT: a split's new separator in the parent. */
static ae_status
redo_inner_insert(const ae_log_record *rec, void *page)
{
	const char *p = ae_log_record_payload(rec);
	uint16_t	slot;

	if (rec->payload_len < 2 + AE_BT_INNER_HDR || rec->payload_len > 2 + AE_BT_MAX_INNER_ITEM)
		return bad(rec, "bad payload length");
	if (ae_page_opq(page)->kind != AE_PAGE_BTREE_INNER)
		return bad(rec, "inner record on a page that is not an inner page");
	memcpy(&slot, p, 2);
	if (slot > ae_page_nslots(page) ||
		!ae_page_insert_item(page, slot, p + 2, (uint16_t) (rec->payload_len - 2)))
		return bad(rec, "inner insert does not apply");
	return AE_OK;
}

static ae_status
bt_redo(ae_engine *eng, const ae_log_record *rec, void *page)
{
	switch (rec->type)
	{
		case AE_BT_REC_META_SET:
			return redo_meta(rec, page);
		case AE_BT_REC_LEAF_INSERT:
		case AE_BT_REC_LEAF_DELETE:
		case AE_BT_REC_LEAF_REPLACE:
			return redo_leaf(rec, page);
		case AE_BT_REC_LEAF_REPLACE_DELTA:
			return redo_leaf_delta(rec, page);
		case AE_BT_REC_LEAF_INSERT_MANY:
			return redo_leaf_many(rec, page);
		case AE_BT_REC_PAGE_BUILD:
			return redo_build(rec, page);
		case AE_BT_REC_INNER_INSERT:
			return redo_inner_insert(rec, page);
		case AE_BT_REC_INNER_DELETE:
			return redo_inner_delete(rec, page);
		default:
			return bad(rec, "unknown record type");
	}
}

void
ae_btree_register_redo(void)
{
	ae_wal_register_rmgr(AE_RMGR_BTREE, "btree", bt_redo);
	ae_wal_register_rmgr(AE_RMGR_OVERFLOW, "overflow", bt_ovf_redo);
}
