/*
 * replay.c — reading the log back: record validation, inspection scans,
 * redo of complete mini-transaction groups, and the rmgr registry.
 *
 * A record at LSN x is valid when its header is sane (R1: total_len >= 32,
 * a multiple of 8, equal to align8(32 + payload_len); rmgr in 1..MAX-1),
 * all its bytes exist and its CRC matches the CRC32C of bytes 8..total
 * continued over x (R2; ae_wal_crc_at), so a record copied intact to any
 * other LSN, such as stale bytes of a recycled log file, is invalid (R6). The
 * first invalid record is the end of the log. A group is the records up to
 * and including one flagged AE_REC_MTR_END; replay applies only complete
 * groups (R3), so a torn tail is dropped as a whole. Records about no page
 * carry how far the log was durable when they were made (R7): an intact one
 * after the end naming a durable LSN past it shows damage, not a torn tail.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "wal_internal.h"

#define READ_WINDOW		(1024 * 1024)
#define MAX_RECORD		((size_t) 1 << 30)

/* ------------------------------------------------------------ rmgr table */

/* Process-local: filled at engine create/attach by each module. */
static struct
{
	const char *name;
	ae_redo_fn	redo;
}			rmgrs[AE_RMGR_MAX];

void
ae_wal_register_rmgr(uint8_t rmgr, const char *name, ae_redo_fn redo)
{
	assert(rmgr > 0 && rmgr < AE_RMGR_MAX);
	rmgrs[rmgr].name = name;
	rmgrs[rmgr].redo = redo;
}

const char *
ae_wal_rmgr_name(uint8_t rmgr)
{
	if (rmgr >= AE_RMGR_MAX || !rmgrs[rmgr].name)
		return "unknown";
	return rmgrs[rmgr].name;
}

/* btree/ registers its own redo; weak so the engine links before it exists */
#pragma weak ae_btree_register_redo
void		ae_btree_register_redo(void);

void
ae_wal_register_builtin(void)
{
	ae_page_register_redo();
	ae_note_register_redo();
	if (ae_btree_register_redo)
		ae_btree_register_redo();
}

/* ---------------------------------------------------------- log reading */

typedef struct reader
{
	ae_engine  *eng;
	char	   *win;			/* bytes [start, start + len) of the log */
	size_t		cap;
	uint64_t	start;
	size_t		len;
} reader;

/*
 * Point *out at n log bytes from lsn (valid until the next call).
 * AE_NOT_FOUND when the log ends first; host errors are passed on.
 */
static ae_status
reader_get(reader *r, uint64_t lsn, size_t n, const char **out)
{
	if (lsn < r->start || lsn + n > r->start + r->len)
	{
		size_t		want = n > READ_WINDOW ? n : READ_WINDOW;

		if (want > r->cap)
		{
			char	   *p = realloc(r->win, want);

			if (!p)
				return ae_fail(AE_NO_MEMORY, (ae_file_id) {0}, AE_NO_BLOCK,
							   "out of memory reading the log");
			r->win = p;
			r->cap = want;
		}
		r->start = lsn;
		r->len = 0;
		while (r->len < want)
		{
			size_t		got = 0;
			ae_status	st = r->eng->host.log_read(r->eng->host.ctx, lsn + r->len,
												   r->win + r->len, want - r->len, &got);

			if (st != AE_OK)
				return st;
			if (got == 0)
				break;
			r->len += got;
		}
		if (r->len < n)
			return AE_NOT_FOUND;
	}
	*out = r->win + (lsn - r->start);
	return AE_OK;
}

/* The valid record at lsn (R1, R2, R6) in *rec, or AE_NOT_FOUND at the end of the log. */
static ae_status
read_record(reader *r, uint64_t lsn, const ae_log_record **rec)
{
	ae_log_record hdr;
	const char *p;
	ae_status	st = reader_get(r, lsn, sizeof(hdr), &p);

	if (st != AE_OK)
		return st;
	memcpy(&hdr, p, sizeof(hdr));
	if (hdr.total_len < sizeof(hdr) || hdr.total_len % 8 != 0 || hdr.total_len > MAX_RECORD ||
		ae_wal_align(sizeof(hdr) + (size_t) hdr.payload_len) != hdr.total_len ||
		hdr.rmgr == 0 || hdr.rmgr >= AE_RMGR_MAX)
		return AE_NOT_FOUND;
	st = reader_get(r, lsn, hdr.total_len, &p);
	if (st != AE_OK)
		return st;
	if (ae_wal_crc_at(ae_crc32c(0, p + 8, hdr.total_len - 8), lsn) != hdr.crc)
		return AE_NOT_FOUND;	/* damaged, torn, or written for another LSN (R6) */
	*rec = (const ae_log_record *) p;
	return AE_OK;
}

ae_status
ae_wal_scan(ae_engine *eng, ae_lsn from, ae_wal_visit_fn fn, void *arg, ae_lsn *end_out)
{
	reader		r = {.eng = eng};
	ae_lsn		lsn = from;
	ae_status	st;

	for (;;)
	{
		const ae_log_record *rec;

		if ((st = read_record(&r, lsn, &rec)) != AE_OK)
		{
			if (st == AE_NOT_FOUND)
				st = AE_OK;		/* the end of the valid log */
			break;
		}
		lsn += rec->total_len;
		if (fn(arg, lsn - rec->total_len, rec) != 0)
			break;
	}
	free(r.win);
	if (end_out)
		*end_out = lsn;
	return st;
}

ae_status
ae_wal_durable_hint_after(ae_engine *eng, ae_lsn from, uint64_t limit, ae_lsn *hint, ae_lsn *at)
{
	reader		r = {.eng = eng};
	ae_lsn		lsn = ae_wal_align(from);
	ae_status	st = AE_OK;

	*hint = 0;
	*at = 0;
	while (lsn < from + limit)
	{
		const ae_log_record *rec;

		st = read_record(&r, lsn, &rec);
		if (st == AE_NOT_FOUND)
		{
			const char *p;

			/* nothing valid here: the next 8-byte position, unless the files end */
			st = reader_get(&r, lsn, sizeof(ae_log_record), &p);
			if (st == AE_NOT_FOUND)
			{
				st = AE_OK;
				break;
			}
			if (st != AE_OK)
				break;
			lsn += 8;
			continue;
		}
		if (st != AE_OK)
			break;
		if (rec->block == AE_NO_BLOCK && (rec->flags & AE_REC_DURABLE_HINT))
		{
			uint64_t	h;

			memcpy(&h, &rec->file, sizeof(h));
			if (h > *hint)
			{
				*hint = h;
				*at = lsn;
			}
		}
		lsn += rec->total_len;	/* intact: the next record follows it */
	}
	free(r.win);
	return st;
}

/* ---------------------------------------------------------------- redo */

typedef struct group_page
{
	ae_buf	   *buf;			/* NULL: the block no longer exists (R5) */
	ae_file_id	file;
	uint32_t	block;
	bool		apply;			/* page LSN was older than the group end */
} group_page;

/*
 * Pin and exclusively latch the page a record changes. A block beyond the
 * end of the file (or of a file that no longer exists) comes back zeroed
 * when the record rebuilds the page from nothing (a full-page image or
 * AE_REC_PAGE_INIT); so does a torn (corrupt) page. A missing block with
 * any other record gives *b = NULL: the file was truncated or dropped after
 * the record was written (while the block existed, its first change after
 * the redo point was an image, W5), so there is nothing to redo (R5).
 */
static ae_status
redo_page(ae_engine *eng, const ae_log_record *rec, ae_buf **b)
{
	ae_status	st = ae_buf_read(eng, rec->file, rec->block, AE_LATCH_EXCLUSIVE, 0, b);
	bool		image = ae_page_image_is(rec) || (rec->flags & AE_REC_PAGE_INIT) != 0;

	if (st == AE_NOT_FOUND && !image)
	{
		*b = NULL;
		return AE_OK;
	}
	if (st == AE_NOT_FOUND || (st == AE_CORRUPT && image))
		st = ae_buf_new(eng, rec->file, rec->block, b);
	return st;
}

/*
 * Apply one complete group ending at LSN end. A page's fate is decided at
 * its first record in the group (R4: skip when page LSN >= end); its LSN is
 * stamped only after the whole group, so later records of the same group
 * are not mistaken for already applied. Exit: no pin or latch held.
 */
static ae_status
apply_group(ae_engine *eng, const char *data, size_t len, ae_lsn end)
{
	group_page	pages[AE_MTR_MAX_PAGES];
	int			npages = 0;
	ae_status	st = AE_OK;

	for (size_t off = 0; off < len && st == AE_OK;)
	{
		const ae_log_record *rec = (const ae_log_record *) (data + off);
		ae_redo_fn	redo = rmgrs[rec->rmgr].redo;
		group_page *gp = NULL;

		off += rec->total_len;
		if (!redo)
		{
			st = ae_fail(AE_CORRUPT, rec->file, rec->block,
						 "no redo function for resource manager %u", rec->rmgr);
			break;
		}
		if (rec->block == AE_NO_BLOCK)
		{
			st = redo(eng, rec, NULL);
			continue;
		}
		for (int i = 0; i < npages && !gp; i++)
			if (pages[i].block == rec->block && ae_file_id_equal(pages[i].file, rec->file))
				gp = &pages[i];
		if (!gp)
		{
			ae_buf	   *b;

			if (npages == AE_MTR_MAX_PAGES)
			{
				st = ae_fail(AE_CORRUPT, rec->file, rec->block,
							 "log group touches more than %d pages", AE_MTR_MAX_PAGES);
				break;
			}
			if ((st = redo_page(eng, rec, &b)) != AE_OK)
				break;
			gp = &pages[npages++];
			gp->buf = b;
			gp->file = rec->file;
			gp->block = rec->block;
			gp->apply = b && ae_page_hdr(ae_buf_page(b))->lsn < end;	/* R4, R5 */
		}
		if (gp->apply)
			st = redo(eng, rec, ae_buf_page(gp->buf));
	}
	for (int i = 0; i < npages; i++)
	{
		if (!pages[i].buf)
			continue;
		if (st == AE_OK && pages[i].apply)
			ae_buf_mark_dirty(pages[i].buf, end);
		ae_buf_release(pages[i].buf);
	}
	return st;
}

/* Append a record to the growing group buffer. */
static ae_status
group_add(char **buf, size_t *len, size_t *cap, const ae_log_record *rec)
{
	if (*len + rec->total_len > *cap)
	{
		size_t		ncap = *cap ? *cap : 64 * 1024;
		char	   *p;

		while (ncap < *len + rec->total_len)
			ncap *= 2;
		if (!(p = realloc(*buf, ncap)))
			return ae_fail(AE_NO_MEMORY, (ae_file_id) {0}, AE_NO_BLOCK,
						   "out of memory collecting a log group");
		*buf = p;
		*cap = ncap;
	}
	memcpy(*buf + *len, rec, rec->total_len);
	*len += rec->total_len;
	return AE_OK;
}

/* Progress of a long replay, for the host's log: every REPORT_SECONDS. */
#define REPORT_SECONDS 10

typedef struct progress
{
	time_t		start,
				last;
	uint64_t	log_end;		/* from host->log_size, 0 if unknown */
} progress;

static void
progress_report(ae_engine *eng, progress *p, ae_lsn from, ae_lsn at, uint64_t nrec)
{
	time_t		now = time(NULL);
	double		rate;
	char		msg[256];

	if (!eng->host.message || now - p->last < REPORT_SECONDS)
		return;
	p->last = now;
	rate = (double) (at - from) / (double) (now - p->start > 0 ? now - p->start : 1);
	if (p->log_end > at && rate > 0)
		snprintf(msg, sizeof(msg),
				 "redo at LSN %llu: %llu records, %.1f MB/s, about %.0f s left",
				 (unsigned long long) at, (unsigned long long) nrec, rate / 1e6,
				 (double) (p->log_end - at) / rate);
	else
		snprintf(msg, sizeof(msg), "redo at LSN %llu: %llu records, %.1f MB/s",
				 (unsigned long long) at, (unsigned long long) nrec, rate / 1e6);
	eng->host.message(eng->host.ctx, AE_LOG_INFO, msg);
}

/*
 * Replay the log from `from` (a group boundary) to its valid end. Entry: no
 * pin or latch held; other processes do not modify pages meanwhile.
 * *end_out = end of the last complete group; *nrecords = records in the
 * complete groups read (applied or skipped as already on the page).
 */
ae_status
ae_wal_replay(ae_engine *eng, ae_lsn from, ae_lsn *end_out, uint64_t *nrecords)
{
	reader		r = {.eng = eng};
	char	   *group = NULL;
	size_t		glen = 0,
				gcap = 0;
	uint64_t	grecs = 0,
				nrec = 0;
	ae_lsn		lsn = from,
				done = from;
	progress	prog = {.start = time(NULL), .last = time(NULL)};
	ae_status	st;

	if (eng->host.log_size && eng->host.log_size(eng->host.ctx, &prog.log_end) != AE_OK)
		prog.log_end = 0;
	for (;;)
	{
		const ae_log_record *rec;

		if ((st = read_record(&r, lsn, &rec)) != AE_OK)
		{
			if (st == AE_NOT_FOUND)
				st = AE_OK;		/* the end of the valid log; a partial group is dropped (R3) */
			break;
		}
		lsn += rec->total_len;
		if ((st = group_add(&group, &glen, &gcap, rec)) != AE_OK)
			break;
		grecs++;
		if (rec->flags & AE_REC_MTR_END)
		{
			if ((st = apply_group(eng, group, glen, lsn)) != AE_OK)
				break;
			nrec += grecs;
			grecs = 0;
			glen = 0;
			done = lsn;
			progress_report(eng, &prog, from, done, nrec);
		}
	}
	free(group);
	free(r.win);
	if (end_out)
		*end_out = done;
	if (nrecords)
		*nrecords = nrec;
	return st;
}
