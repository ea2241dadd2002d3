/*
 * page_redo.c — the generic resource manager AE_RMGR_PAGE: full page images
 * and byte patches, logged and replayed here (STYLE.md habit 9).
 *
 * AE_PAGE_REDO_IMAGE payload: the 8192 page bytes.
 * AE_PAGE_REDO_PATCH payload: entries of (u16 offset, u16 len, len bytes),
 *   applied in order; offset + len <= 8192.
 */
#include <string.h>

#include "wal_internal.h"

void
ae_mtr_log_page_image(ae_mtr *m, ae_buf *b)
{
	ae_mtr_log(m, b, AE_RMGR_PAGE, AE_PAGE_REDO_IMAGE, ae_buf_page(b), AE_PAGE_SIZE);
}

void
ae_mtr_log_patch(ae_mtr *m, ae_buf *b, uint16_t off, const void *bytes, uint16_t len)
{
	char		entry[4 + UINT16_MAX];

	assert((size_t) off + len <= AE_PAGE_SIZE);
	memcpy(entry, &off, 2);
	memcpy(entry + 2, &len, 2);
	memcpy(entry + 4, bytes, len);
	ae_mtr_log(m, b, AE_RMGR_PAGE, AE_PAGE_REDO_PATCH, entry, 4 + (size_t) len);
}

static ae_status
corrupt(const ae_log_record *rec, const char *what)
{
	return ae_fail(AE_CORRUPT, rec->file, rec->block,
				   "bad page redo record for block %u of file %u/%u/%u: %s",
				   rec->block, rec->file.spc, rec->file.db, rec->file.rel, what);
}

/* Redo: page is the pinned, exclusively latched target page. */
static ae_status
page_redo(ae_engine *eng, const ae_log_record *rec, void *page)
{
	const char *p = ae_log_record_payload(rec);
	size_t		len = rec->payload_len;

	if (!page)
		return corrupt(rec, "no page");
	switch (rec->type)
	{
		case AE_PAGE_REDO_IMAGE:
			if (len != AE_PAGE_SIZE)
				return corrupt(rec, "image is not a whole page");
			memcpy(page, p, AE_PAGE_SIZE);
			return AE_OK;
		case AE_PAGE_REDO_PATCH:
			for (size_t i = 0; i < len;)
			{
				uint16_t	off,
							n;

				if (len - i < 4)
					return corrupt(rec, "truncated patch entry");
				memcpy(&off, p + i, 2);
				memcpy(&n, p + i + 2, 2);
				if (len - i - 4 < n || (size_t) off + n > AE_PAGE_SIZE)
					return corrupt(rec, "patch out of bounds");
				memcpy((char *) page + off, p + i + 4, n);
				i += 4 + (size_t) n;
			}
			return AE_OK;
	}
	return corrupt(rec, "unknown type");
}

void
ae_page_register_redo(void)
{
	ae_wal_register_rmgr(AE_RMGR_PAGE, "page", page_redo);
}
