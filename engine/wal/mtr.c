/*
 * mtr.c — mini-transactions: stage records in process memory, then append
 * them to the log as one group and stamp the pages. See wal/README.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wal_internal.h"
#include "aether/page.h"

void
ae_mtr_begin(ae_engine *eng, ae_mtr *m)
{
	m->eng = eng;
	m->npages = 0;
	m->len = 0;
	m->failed = AE_OK;
	m->spill = NULL;
	m->spill_cap = 0;
}

static char *
staged(ae_mtr *m)
{
	return m->spill ? m->spill : m->buf;
}

/* Make room for n more staged bytes, spilling to malloc past the fixed buffer. */
static bool
reserve(ae_mtr *m, size_t n)
{
	size_t		cap = m->spill ? m->spill_cap : sizeof(m->buf);
	char	   *p;

	if (m->len + n <= cap)
		return true;
	while (cap < m->len + n)
		cap *= 2;
	p = m->spill ? realloc(m->spill, cap) : malloc(cap);
	if (!p)
	{
		m->failed = ae_fail(AE_NO_MEMORY, (ae_file_id) {0}, AE_NO_BLOCK,
							"out of memory staging a %zu-byte mini-transaction", m->len + n);
		return false;
	}
	if (!m->spill)
		memcpy(p, m->buf, m->len);
	m->spill = p;
	m->spill_cap = cap;
	return true;
}

/* Remember b for LSN stamping (once per page). */
static bool
add_page(ae_mtr *m, ae_buf *b)
{
	for (int i = 0; i < m->npages; i++)
		if (m->pages[i] == b)
			return true;
	if (m->npages == AE_MTR_MAX_PAGES)
	{
		m->failed = ae_fail(AE_INVALID, ae_buf_file(b), ae_buf_block(b),
							"mini-transaction touches more than %d pages", AE_MTR_MAX_PAGES);
		return false;
	}
	m->pages[m->npages++] = b;
	return true;
}

/*
 * Stage a record header for page b (NULL: no page) with room for len payload
 * bytes; returns where the payload goes, or NULL after recording m->failed.
 * The payload is zero padded to 8 bytes; the CRC is computed at commit.
 */
static char *
begin_record(ae_mtr *m, ae_buf *b, uint8_t rmgr, uint8_t type, size_t len)
{
	ae_log_record hdr = {0};
	size_t		total = ae_wal_align(sizeof(hdr) + len);
	char	   *p;

	if (m->failed != AE_OK)
		return NULL;
	if (len > UINT32_MAX - 64)
	{
		m->failed = ae_fail(AE_TOO_LARGE, (ae_file_id) {0}, AE_NO_BLOCK,
							"log record payload of %zu bytes is too large", len);
		return NULL;
	}
	if ((b && !add_page(m, b)) || !reserve(m, total))
		return NULL;
	hdr.total_len = (uint32_t) total;
	hdr.rmgr = rmgr;
	hdr.type = type;
	hdr.block = b ? ae_buf_block(b) : AE_NO_BLOCK;
	hdr.file = b ? ae_buf_file(b) : (ae_file_id) {0};
	if (!b)
	{
		/*
		 * R7: a record about no page (commits, notes) says how far the log
		 * was durable, so that recovery can tell damage from a torn tail.
		 */
		uint64_t	durable = ae_wal_flushed_lsn(m->eng);

		hdr.flags |= AE_REC_DURABLE_HINT;
		memcpy(&hdr.file, &durable, sizeof(durable));
	}
	hdr.payload_len = (uint32_t) len;
	p = staged(m) + m->len;
	memcpy(p, &hdr, sizeof(hdr));
	memset(p + sizeof(hdr) + len, 0, total - sizeof(hdr) - len);
	m->len += total;
	return p + sizeof(hdr);
}

/*
 * Stage one record about page b (b pinned and latched exclusive by the
 * caller, or NULL for a record about no page). Errors are remembered and
 * reported by ae_mtr_commit.
 */
void
ae_mtr_log(ae_mtr *m, ae_buf *b, uint8_t rmgr, uint8_t type,
		   const void *payload, size_t len)
{
	char	   *p = begin_record(m, b, rmgr, type, len);

	if (p && len)
		memcpy(p, payload, len);
}

void
ae_mtr_log_init(ae_mtr *m, ae_buf *b, uint8_t rmgr, uint8_t type,
				const void *payload, size_t len)
{
	char	   *p = begin_record(m, b, rmgr, type, len);

	if (!p)
		return;
	if (len)
		memcpy(p, payload, len);
	((ae_log_record *) (p - sizeof(ae_log_record)))->flags |= AE_REC_PAGE_INIT;
}

/* Is r a record about page b? */
static bool
record_is_for(const ae_log_record *r, ae_buf *b)
{
	return r->block == ae_buf_block(b) && ae_file_id_equal(r->file, ae_buf_file(b));
}

/*
 * Does page b need a full-page image in this group (W5)? Yes when its LSN
 * (not yet stamped by this mtr) is not after the redo point, unless its
 * first record rebuilds the page from nothing anyway.
 */
static bool
needs_image(ae_mtr *m, ae_buf *b, ae_lsn redo)
{
	const char *data = staged(m);

	if (redo == 0 || ae_page_hdr(ae_buf_page(b))->lsn > redo)
		return false;			/* no checkpoint yet; or changed after it (a group ending exactly at redo is before it) */
	for (size_t off = 0; off < m->len;)
	{
		const ae_log_record *r = (const ae_log_record *) (data + off);

		if (record_is_for(r, b))
			return !(r->flags & AE_REC_PAGE_INIT) &&
				!ae_page_image_is(r);
		off += r->total_len;
	}
	return false;					/* registered but never logged: nothing to image */
}

/*
 * The group to insert for redo point redo: the staged records, except that
 * each page in need of an image has its records replaced by one image of
 * its current (after-change) contents. Returns the staged buffer itself when
 * no page needs an image, else a malloc'd copy (NULL: out of memory).
 */
static char *
build_group(ae_mtr *m, ae_lsn redo, size_t *len_out, uint32_t *nimages)
{
	bool		image[AE_MTR_MAX_PAGES];
	uint16_t	hole_off[AE_MTR_MAX_PAGES],
				hole_len[AE_MTR_MAX_PAGES];
	const char *data = staged(m);
	char	   *out;
	size_t		len = 0;
	size_t		images_len = 0;

	*nimages = 0;
	for (int i = 0; i < m->npages; i++)
		if ((image[i] = needs_image(m, m->pages[i], redo)))
		{
			(*nimages)++;
			ae_page_image_hole(ae_buf_page(m->pages[i]), &hole_off[i], &hole_len[i]);
			images_len += ae_wal_align(sizeof(ae_log_record) +
									   ae_page_image_payload_len(hole_len[i]));
		}
	*len_out = m->len;
	if (*nimages == 0)
		return staged(m);
	out = malloc(m->len + images_len);
	if (!out)
		return NULL;
	for (size_t off = 0; off < m->len;)
	{
		const ae_log_record *r = (const ae_log_record *) (data + off);
		bool		skip = false;

		for (int i = 0; i < m->npages && !skip; i++)
			skip = image[i] && record_is_for(r, m->pages[i]);
		if (!skip)
		{
			memcpy(out + len, r, r->total_len);
			len += r->total_len;
		}
		off += r->total_len;
	}
	for (int i = 0; i < m->npages; i++)
	{
		ae_log_record hdr = {0};
		size_t		payload,
					rec_len;

		if (!image[i])
			continue;
		/* images_len allowed for the plain image; a compressed one is smaller */
		payload = ae_page_image_build(ae_buf_page(m->pages[i]), hole_off[i], hole_len[i],
									  out + len + sizeof(hdr), &hdr.type);
		rec_len = ae_wal_align(sizeof(ae_log_record) + payload);
		hdr.total_len = (uint32_t) rec_len;
		hdr.rmgr = AE_RMGR_PAGE;
		hdr.block = ae_buf_block(m->pages[i]);
		hdr.file = ae_buf_file(m->pages[i]);
		hdr.payload_len = (uint32_t) payload;
		memcpy(out + len, &hdr, sizeof(hdr));
		memset(out + len + sizeof(hdr) + payload, 0, rec_len - sizeof(hdr) - payload);
		len += rec_len;
	}
	*len_out = len;
	return out;
}

/*
 * Flag the last record AE_REC_MTR_END (only it) and set every CRC over the
 * record's bytes 8..total (ae_wal_insert continues it over the record's LSN
 * once that is reserved, R6); returns the record count.
 */
static uint32_t
seal_group(char *data, size_t len)
{
	uint32_t	nrec = 0;
	size_t		last = 0;

	for (size_t off = 0; off < len; off += ((ae_log_record *) (data + off))->total_len)
	{
		((ae_log_record *) (data + off))->flags &= ~AE_REC_MTR_END;
		last = off;
		nrec++;
	}
	((ae_log_record *) (data + last))->flags |= AE_REC_MTR_END;
	for (size_t off = 0; off < len;)
	{
		ae_log_record *r = (ae_log_record *) (data + off);

		r->crc = ae_crc32c(0, (char *) r + 8, r->total_len - 8);
		off += r->total_len;
	}
	return nrec;
}

/*
 * Copy the staged group into the log and stamp every registered page with
 * the group's end LSN (marking it dirty). The last record carries
 * AE_REC_MTR_END. A page changed for the first time since the redo point
 * is logged as a full-page image instead of its records (W5); the decision
 * is checked against the redo point in the same critical section that
 * reserves the group's log space (ae_wal_insert) and the group rebuilt if a
 * checkpoint began meanwhile. Pages are marked dirty before the
 * group is inserted, so a checkpoint whose redo point follows the group
 * finds them dirty. Entry/exit: registered pages latched exclusive by the
 * caller (they stay latched). An error while staging (m->failed) is
 * returned with nothing logged; a failure to insert the staged group (the
 * log device failing while the ring is full) calls host->fatal, which does
 * not return.
 */
ae_status
ae_mtr_commit(ae_mtr *m, ae_lsn *end)
{
	ae_lsn		start,
				e = 0;
	ae_status	st = m->failed;

	if (st == AE_OK && m->len == 0)
	{
		if (end)
			*end = ae_wal_insert_lsn(m->eng);
		ae_mtr_abort(m);
		return AE_OK;
	}
	if (st != AE_OK)
	{
		ae_mtr_abort(m);
		return st;
	}
	for (int i = 0; i < m->npages; i++)
		ae_buf_mark_dirty(m->pages[i], 0);
	do
	{
		ae_lsn		redo = ae_wal_redo_lsn(m->eng);
		uint32_t	nimages;
		size_t		len;
		char	   *group = build_group(m, redo, &len, &nimages);
		uint32_t	nrec;

		if (!group)
		{
			st = ae_fail(AE_NO_MEMORY, (ae_file_id) {0}, AE_NO_BLOCK,
						 "out of memory adding page images to a mini-transaction");
			break;
		}
		nrec = seal_group(group, len);
		st = ae_wal_insert(m->eng, group, len, nrec, redo, &start, &e);
		if (st == AE_OK && nimages > 0)
			atomic_fetch_add_explicit(&m->eng->wal->page_images, nimages, memory_order_relaxed);
		if (group != staged(m))
			free(group);
	} while (st == AE_CONFLICT);
	if (st != AE_OK)
	{
		/*
		 * The caller's pages are changed but the change is not in the log: a
		 * later record for the same page would be redone onto a page without
		 * it. Nothing may go on (PostgreSQL PANICs on a WAL write failure too).
		 */
		char		msg[400];

		snprintf(msg, sizeof(msg), "could not log a change already made to %d page(s): %s",
				 m->npages, ae_error_last()->message);
		if (m->eng->host.fatal)
			m->eng->host.fatal(m->eng->host.ctx, msg);
		abort();
	}
	for (int i = 0; i < m->npages; i++)
		ae_buf_mark_dirty(m->pages[i], e);
	if (st == AE_OK && end)
		*end = e;
	ae_mtr_abort(m);
	return st;
}

void
ae_mtr_abort(ae_mtr *m)
{
	free(m->spill);
	m->spill = NULL;
	m->spill_cap = 0;
	m->len = 0;
	m->npages = 0;
	m->failed = AE_OK;
}
