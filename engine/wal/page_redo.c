/*
 * page_redo.c — the generic resource manager AE_RMGR_PAGE: full page images
 * and byte patches, logged and replayed here (STYLE.md habit 9).
 *
 * AE_PAGE_REDO_IMAGE payload: the 8192 page bytes.
 * AE_PAGE_REDO_IMAGE_HOLE payload: u16 hole offset, u16 hole length, then
 *   the page's bytes before and after the hole; redo zeroes the hole. The
 *   images mtr.c adds for W5 leave out the free space between a page's slot
 *   array and its items (pd_lower..pd_upper), as PostgreSQL's do.
 * AE_PAGE_REDO_IMAGE_ZSTD payload: u16 hole offset, u16 hole length (both 0
 *   without a hole), then a zstd frame of the page's bytes without the hole:
 *   what mtr.c adds instead when image compression is on and the frame is
 *   smaller (ae_page_image_build). Redo requires the frame to give exactly
 *   the page's bytes without the hole.
 */
#include <string.h>
#include <zstd.h>

#include "wal_internal.h"

bool
ae_page_image_is(const ae_log_record *r)
{
	return r->rmgr == AE_RMGR_PAGE &&
		(r->type == AE_PAGE_REDO_IMAGE || r->type == AE_PAGE_REDO_IMAGE_HOLE ||
		 r->type == AE_PAGE_REDO_IMAGE_ZSTD);
}

/*
 * zstd's first "fast" level: images are made inside mini-transactions, with
 * the page latched, so speed counts more than the last bytes. On B+tree
 * leaves it takes about 60% of level 1's time for about 2% more bytes.
 */
#define IMAGE_ZSTD_LEVEL (-1)

static bool compress_images = false;	/* process-local */

void
ae_wal_set_image_compression(bool on)
{
	compress_images = on;
}

/* Holes shorter than this are logged (a hole's 4-byte header costs as much). */
#define MIN_HOLE 64

void
ae_page_image_hole(const void *page, uint16_t *off, uint16_t *len)
{
	const ae_page_header *h = page;

	*off = *len = 0;
	if (h->lower >= sizeof(ae_page_header) && h->lower <= h->upper &&
		h->upper <= AE_PAGE_SIZE && h->upper - h->lower >= MIN_HOLE)
	{
		*off = h->lower;
		*len = (uint16_t) (h->upper - h->lower);
	}
}

size_t
ae_page_image_payload_len(uint16_t hole_len)
{
	return hole_len ? 4 + AE_PAGE_SIZE - (size_t) hole_len : AE_PAGE_SIZE;
}

void
ae_page_image_write(const void *page, uint16_t hole_off, uint16_t hole_len, char *out)
{
	if (hole_len == 0)
	{
		memcpy(out, page, AE_PAGE_SIZE);
		return;
	}
	memcpy(out, &hole_off, 2);
	memcpy(out + 2, &hole_len, 2);
	memcpy(out + 4, page, hole_off);
	memcpy(out + 4 + hole_off, (const char *) page + hole_off + hole_len,
		   AE_PAGE_SIZE - (size_t) hole_off - hole_len);
}

/*
 * The payload of page's image with the hole left out, written to out (room
 * for ae_page_image_payload_len(hole_len) bytes): a zstd frame when
 * compression is on and that is smaller, else the bytes as they are. Sets
 * *type; returns the payload length.
 */
size_t
ae_page_image_build(const void *page, uint16_t hole_off, uint16_t hole_len, char *out,
					uint8_t *type)
{
	size_t		raw = ae_page_image_payload_len(hole_len);

	ae_page_image_write(page, hole_off, hole_len, out);
	*type = hole_len ? AE_PAGE_REDO_IMAGE_HOLE : AE_PAGE_REDO_IMAGE;
	if (compress_images)
	{
		static ZSTD_CCtx *cctx = NULL;
		static char dst[ZSTD_COMPRESSBOUND(AE_PAGE_SIZE)];
		const char *bytes = hole_len ? out + 4 : out;	/* the page without the hole */
		size_t		c;

		if (!cctx)
			cctx = ZSTD_createCCtx();	/* NULL (no memory): images stay plain */
		if (cctx)
		{
			c = ZSTD_compressCCtx(cctx, dst, sizeof(dst), bytes, AE_PAGE_SIZE - (size_t) hole_len,
								  IMAGE_ZSTD_LEVEL);
			if (!ZSTD_isError(c) && 4 + c < raw)
			{
				memcpy(out, &hole_off, 2);
				memcpy(out + 2, &hole_len, 2);
				memcpy(out + 4, dst, c);
				*type = AE_PAGE_REDO_IMAGE_ZSTD;
				return 4 + c;
			}
		}
	}
	return raw;
}

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

/* The page from its bytes without the hole [off, off + n), which becomes zeros. */
static void
place_image(void *page, const char *bytes, uint16_t off, uint16_t n)
{
	memcpy(page, bytes, off);
	memset((char *) page + off, 0, n);
	memcpy((char *) page + off + n, bytes + off, AE_PAGE_SIZE - (size_t) off - n);
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
		case AE_PAGE_REDO_IMAGE_HOLE:
			{
				uint16_t	off,
							n;

				if (len < 4)
					return corrupt(rec, "truncated image");
				memcpy(&off, p, 2);
				memcpy(&n, p + 2, 2);
				if ((size_t) off + n > AE_PAGE_SIZE || len != ae_page_image_payload_len(n) || n == 0)
					return corrupt(rec, "image hole out of bounds");
				place_image(page, p + 4, off, n);
				return AE_OK;
			}
		case AE_PAGE_REDO_IMAGE_ZSTD:
			{
				static char bytes[AE_PAGE_SIZE];
				uint16_t	off,
							n;
				size_t		got;

				if (len < 4)
					return corrupt(rec, "truncated image");
				memcpy(&off, p, 2);
				memcpy(&n, p + 2, 2);
				if ((size_t) off + n > AE_PAGE_SIZE || (n == 0 && off != 0))
					return corrupt(rec, "image hole out of bounds");
				got = ZSTD_decompress(bytes, AE_PAGE_SIZE - (size_t) n, p + 4, len - 4);
				if (ZSTD_isError(got) || got != AE_PAGE_SIZE - (size_t) n)
					return corrupt(rec, "compressed image does not give the page");
				place_image(page, bytes, off, n);
				return AE_OK;
			}
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
