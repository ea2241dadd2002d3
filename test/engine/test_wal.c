/*
 * test_wal.c — log records and mini-transactions: round trip through
 * ae_wal_scan, CRC checks, records valid only at their own LSN (stale
 * bytes of a recycled log file), torn tails, replay after losing the pool (with a
 * torn page repaired from its image), groups larger than the log buffer,
 * group flushing from several processes, and parallel insertion by several
 * processes racing flushes and checkpoints.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ae_test.h"
#include "ae_env.h"
#include "aether/wal.h"
#include "aether/checkpoint.h"
#include "../../engine/util/latch.h"
#include "../../engine/wal/wal_internal.h"	/* ae_wal_insert, ae_wal_begin_checkpoint */

static const ae_file_id F = {1663, 7, 3000};

typedef struct seen
{
	int			n;
	ae_lsn		lsn[64];
	ae_log_record hdr[64];
	uint32_t	sum[64];		/* CRC of the payload, to compare contents */
} seen;

static int
collect(void *arg, ae_lsn lsn, const ae_log_record *rec)
{
	seen	   *s = arg;

	if (s->n < 64)
	{
		s->lsn[s->n] = lsn;
		s->hdr[s->n] = *rec;
		s->sum[s->n] = ae_crc32c(0, ae_log_record_payload(rec), rec->payload_len);
	}
	s->n++;
	return 0;
}

static int
count(void *arg, ae_lsn lsn, const ae_log_record *rec)
{
	(*(uint64_t *) arg)++;
	return 0;
}

static void
test_records_roundtrip(void)
{
	static char big[100000];
	size_t		sizes[] = {0, 1, 7, 8, 100, 9000};
	ae_env		e;
	ae_buf	   *b0,
			   *b1;
	ae_mtr		m;
	ae_lsn		end1,
				end2,
				scan_end;
	seen		s = {0};

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char) (i * 13);
	AE_OKAY(ae_env_open(&e, 16, 64 * 1024, 0));
	AE_CHECK(ae_wal_insert_lsn(e.eng) == AE_WAL_START_LSN);
	AE_OKAY(ae_buf_new(e.eng, F, 0, &b0));
	AE_OKAY(ae_buf_new(e.eng, F, 5, &b1));
	ae_mtr_begin(e.eng, &m);
	for (int i = 0; i < 6; i++)
		ae_mtr_log(&m, i % 2 ? b1 : b0, AE_RMGR_PAGE, (uint8_t) (10 + i), big, sizes[i]);
	AE_OKAY(ae_mtr_commit(&m, &end1));
	ae_mtr_begin(e.eng, &m);	/* bigger than the mtr's fixed buffer: spills */
	ae_mtr_log(&m, b1, AE_RMGR_BTREE, 3, big, sizeof(big));
	AE_OKAY(ae_mtr_commit(&m, &end2));
	AE_CHECK(ae_page_hdr(ae_buf_page(b0))->lsn == end1);
	AE_CHECK(ae_page_hdr(ae_buf_page(b1))->lsn == end2);
	ae_buf_release(b0);
	ae_buf_release(b1);
	AE_CHECK(ae_wal_insert_lsn(e.eng) == end2 && end2 > end1);
	AE_OKAY(ae_wal_flush(e.eng, end2));
	AE_CHECK(ae_wal_flushed_lsn(e.eng) >= end2);

	AE_OKAY(ae_wal_scan(e.eng, AE_WAL_START_LSN, collect, &s, &scan_end));
	AE_REQUIRE(s.n == 7);
	AE_CHECK(scan_end == end2);
	AE_CHECK(s.lsn[0] == AE_WAL_START_LSN);
	for (int i = 0; i < 6; i++)
	{
		AE_CHECK(s.hdr[i].rmgr == AE_RMGR_PAGE && s.hdr[i].type == 10 + i);
		AE_CHECK(s.hdr[i].block == (i % 2 ? 5u : 0u) && ae_file_id_equal(s.hdr[i].file, F));
		AE_CHECK(s.hdr[i].payload_len == sizes[i]);
		AE_CHECK(s.sum[i] == ae_crc32c(0, big, sizes[i]));
		AE_CHECK(s.lsn[i] % 8 == 0 && s.hdr[i].total_len % 8 == 0);
		AE_CHECK((s.hdr[i].flags & AE_REC_MTR_END) == (i == 5 ? AE_REC_MTR_END : 0));
	}
	AE_CHECK(s.lsn[6] == end1 && s.hdr[6].payload_len == sizeof(big) &&
			 s.sum[6] == ae_crc32c(0, big, sizeof(big)) && (s.hdr[6].flags & AE_REC_MTR_END));
	{
		ae_engine_stats st;

		ae_engine_get_stats(e.eng, &st);
		AE_CHECK(st.wal_records == 7 && st.wal_bytes == end2 - AE_WAL_START_LSN);
		AE_CHECK(st.wal_insert_lsn == end2 && st.wal_flushed_lsn == end2);
	}
	ae_env_close(&e);
}

/* Log `n` one-record groups, each patching 8 bytes of page 0. Returns the group ends. */
static ae_status
patch_groups(ae_engine *eng, int n, uint64_t first, ae_lsn *ends)
{
	for (int i = 0; i < n; i++)
	{
		ae_buf	   *b;
		ae_mtr		m;
		uint64_t	v = first + (uint64_t) i;
		ae_status	st = ae_buf_read(eng, F, 0, AE_LATCH_EXCLUSIVE, 0, &b);

		if (st == AE_NOT_FOUND)
		{
			if ((st = ae_buf_new(eng, F, 0, &b)) != AE_OK)
				return st;
			ae_page_init(ae_buf_page(b), AE_PAGE_META, 0);
			ae_mtr_begin(eng, &m);
			ae_mtr_log_page_image(&m, b);
			if ((st = ae_mtr_commit(&m, NULL)) != AE_OK)
				return st;
		}
		else if (st != AE_OK)
			return st;
		memcpy((char *) ae_buf_page(b) + 100, &v, 8);
		ae_mtr_begin(eng, &m);
		ae_mtr_log_patch(&m, b, 100, &v, 8);
		st = ae_mtr_commit(&m, &ends[i]);
		ae_buf_release(b);
		if (st != AE_OK)
			return st;
	}
	return ae_wal_flush(eng, ae_wal_insert_lsn(eng));
}

static void
test_crc_detects_flip(void)
{
	ae_env		e;
	ae_lsn		ends[5],
				end;
	uint64_t	n = 0;
	char		byte;
	size_t		got;

	AE_OKAY(ae_env_open(&e, 16, 64 * 1024, 0));
	AE_OKAY(patch_groups(e.eng, 5, 1, ends));
	AE_OKAY(ae_wal_scan(e.eng, AE_WAL_START_LSN, count, &n, &end));
	AE_CHECK(n == 6 && end == ends[4]);	/* image + 5 patches */
	/* flip one payload byte of the third patch record */
	AE_OKAY(e.host.log_read(e.host.ctx, ends[1] + 36, &byte, 1, &got));
	byte ^= 0x01;
	AE_OKAY(e.host.log_write(e.host.ctx, ends[1] + 36, &byte, 1));
	n = 0;
	AE_OKAY(ae_wal_scan(e.eng, AE_WAL_START_LSN, count, &n, &end));
	AE_CHECK(n == 3 && end == ends[1]);
	ae_env_close(&e);
}

/*
 * A group whose last record is damaged is dropped as a whole, even though
 * its first record is intact; replay ends at the previous group.
 */
static void
test_torn_tail(void)
{
	ae_env		e;
	ae_buf	   *b;
	ae_mtr		m;
	ae_lsn		ends[3],
				end,
				tail;
	uint64_t	nrec,
				v;
	char		zeros[16] = {0};

	AE_OKAY(ae_env_open(&e, 16, 64 * 1024, 0));
	AE_OKAY(patch_groups(e.eng, 3, 1, ends));
	/* a two-record group: 777 then 888 at offsets 100 and 108 */
	AE_OKAY(ae_buf_read(e.eng, F, 0, AE_LATCH_EXCLUSIVE, 0, &b));
	ae_mtr_begin(e.eng, &m);
	v = 777;
	memcpy((char *) ae_buf_page(b) + 100, &v, 8);
	ae_mtr_log_patch(&m, b, 100, &v, 8);
	v = 888;
	memcpy((char *) ae_buf_page(b) + 108, &v, 8);
	ae_mtr_log_patch(&m, b, 108, &v, 8);
	AE_OKAY(ae_mtr_commit(&m, &tail));
	ae_buf_release(b);
	AE_OKAY(ae_wal_flush(e.eng, tail));
	/* tear the last record: zero its header */
	AE_OKAY(e.host.log_write(e.host.ctx, tail - 48, zeros, sizeof(zeros)));

	ae_buf_discard_all(e.eng);
	AE_OKAY(ae_wal_replay(e.eng, AE_WAL_START_LSN, &end, &nrec));
	AE_CHECK(end == ends[2] && nrec == 4);
	AE_OKAY(ae_buf_read(e.eng, F, 0, AE_LATCH_SHARED, 0, &b));
	memcpy(&v, (char *) ae_buf_page(b) + 100, 8);
	AE_CHECK(v == 3);			/* the torn group's first record was not applied */
	AE_CHECK(ae_page_hdr(ae_buf_page(b))->lsn == ends[2]);
	ae_buf_release(b);
	/* logging resumes at the valid end and overwrites the torn group */
	ae_wal_set_insert_lsn(e.eng, end);
	AE_OKAY(patch_groups(e.eng, 1, 50, ends));
	AE_CHECK(ends[0] > end);
	nrec = 0;
	AE_OKAY(ae_wal_scan(e.eng, AE_WAL_START_LSN, count, &nrec, &end));
	AE_CHECK(end == ends[0] && nrec == 5);
	ae_env_close(&e);
}

/*
 * R6: a record's CRC covers its own LSN, so an intact record copied to
 * another position of the log does not validate there: the log ends at it.
 * (Without the LSN in the CRC, the copy would pass and the scan go on.)
 */
static void
test_record_valid_only_at_its_lsn(void)
{
	ae_env		e;
	ae_lsn		ends[5],
				end;
	uint64_t	n = 0;
	char		rec[64];
	size_t		len,
				got;

	AE_OKAY(ae_env_open(&e, 16, 64 * 1024, 0));
	AE_OKAY(patch_groups(e.eng, 5, 1, ends));	/* image, then five one-record groups */
	len = ends[1] - ends[0];
	AE_REQUIRE(len <= sizeof(rec) && ends[3] - ends[2] == len);
	/* the second patch group, intact, over the fourth */
	AE_OKAY(e.host.log_read(e.host.ctx, ends[0], rec, len, &got));
	AE_REQUIRE(got == len);
	AE_OKAY(e.host.log_write(e.host.ctx, ends[2], rec, len));
	AE_OKAY(ae_wal_scan(e.eng, AE_WAL_START_LSN, count, &n, &end));
	AE_CHECK(n == 4 && end == ends[2]);
	/* where it was written, the same bytes are still valid */
	n = 0;
	AE_OKAY(ae_wal_scan(e.eng, ends[0], count, &n, &end));
	AE_CHECK(n == 2 && end == ends[2]);
	ae_env_close(&e);
}

/*
 * A recycled log file: the host renames a file of old log to a later
 * segment number and new log overwrites it from its start. Here the old log
 * (a page image and 12 patch groups, values 1001..1012) is written at LSN 8
 * by one engine; its bytes are put at the start of segment 1 of a second
 * engine's log, which then logs a shorter log of the same shape (an image
 * and 4 patches, values 1..4) from there. The new log ends exactly where an
 * old record begins, and every old record after it is intact, but written
 * for an LSN one segment lower: replay applies the new groups only and
 * leaves the page at 4, not 1012 (R6).
 */
static void
test_recycled_file_stale_tail(void)
{
	ae_env		old,
				e;
	ae_lsn		old_ends[12],
				ends[4],
				end;
	const ae_lsn from = AE_POSIX_LOG_SEGMENT + AE_WAL_START_LSN;
	uint64_t	nrec = 0,
				v;
	char	   *bytes;
	size_t		got;
	ae_buf	   *b;

	AE_OKAY(ae_env_open(&old, 16, 64 * 1024, 0));
	AE_OKAY(patch_groups(old.eng, 12, 1001, old_ends));
	bytes = malloc(old_ends[11]);
	AE_REQUIRE(bytes != NULL);
	AE_OKAY(old.host.log_read(old.host.ctx, 0, bytes, old_ends[11], &got));
	AE_REQUIRE(got == old_ends[11]);
	ae_env_close(&old);

	AE_OKAY(ae_env_open(&e, 16, 64 * 1024, 0));
	AE_OKAY(e.host.log_write(e.host.ctx, AE_POSIX_LOG_SEGMENT, bytes, got));	/* the recycled file */
	ae_wal_set_insert_lsn(e.eng, from);
	AE_OKAY(patch_groups(e.eng, 4, 1, ends));
	/* the shapes match: the new log ends where an intact old record begins */
	AE_REQUIRE(ends[3] - from == old_ends[3] - AE_WAL_START_LSN);

	ae_buf_discard_all(e.eng);
	AE_OKAY(ae_wal_replay(e.eng, from, &end, &nrec));
	AE_CHECK(end == ends[3] && nrec == 5);
	AE_OKAY(ae_buf_read(e.eng, F, 0, AE_LATCH_SHARED, 0, &b));
	memcpy(&v, (char *) ae_buf_page(b) + 100, 8);
	AE_CHECK(v == 4);
	AE_CHECK(ae_page_hdr(ae_buf_page(b))->lsn == ends[3]);
	ae_buf_release(b);
	nrec = 0;
	AE_OKAY(ae_wal_scan(e.eng, from, count, &nrec, &end));
	AE_CHECK(end == ends[3] && nrec == 5);
	free(bytes);
	ae_env_close(&e);
}

/*
 * The full-page image a change after a checkpoint logs (W5) leaves out the
 * page's hole (pd_lower..pd_upper): the group is much smaller than a page,
 * and replay after losing the pool rebuilds every byte outside the hole,
 * with the hole zeroed, and the later patch on top.
 */
static void
test_image_without_hole(void)
{
	ae_env		e;
	ae_recovery_info ri;
	ae_checkpoint_info ci;
	ae_engine_stats s0,
				s1;
	ae_buf	   *b;
	ae_mtr		m;
	ae_lsn		before,
				after;
	ae_page_header *h;
	static char expect[AE_PAGE_SIZE];
	uint16_t	lower,
				upper;
	uint64_t	v = 4242;

	AE_OKAY(ae_env_open(&e, 16, 1 << 20, 0));
	AE_OKAY(ae_recover(e.eng, &ri));
	AE_OKAY(ae_buf_new(e.eng, F, 0, &b));
	ae_page_init(ae_buf_page(b), AE_PAGE_BTREE_LEAF, 0);
	h = ae_page_hdr(ae_buf_page(b));
	h->upper -= 300;			/* 300 bytes of "items" below the special area */
	for (int i = 0; i < 300; i++)
		((char *) ae_buf_page(b))[h->upper + i] = (char) (i * 7 + 1);
	lower = h->lower;
	upper = h->upper;
	memset((char *) ae_buf_page(b) + lower, 0x5a, upper - lower);	/* stale bytes in the hole */
	ae_mtr_begin(e.eng, &m);
	ae_mtr_log_page_image(&m, b);
	AE_OKAY(ae_mtr_commit(&m, NULL));
	ae_buf_release(b);
	AE_OKAY(ae_checkpoint(e.eng, false, &ci));

	/* the first change after the checkpoint: a patch inside the items */
	ae_engine_get_stats(e.eng, &s0);
	before = ae_wal_insert_lsn(e.eng);
	AE_OKAY(ae_buf_read(e.eng, F, 0, AE_LATCH_EXCLUSIVE, 0, &b));
	ae_mtr_begin(e.eng, &m);
	memcpy((char *) ae_buf_page(b) + upper + 16, &v, 8);
	ae_mtr_log_patch(&m, b, upper + 16, &v, 8);
	AE_OKAY(ae_mtr_commit(&m, &after));
	memcpy(expect, ae_buf_page(b), AE_PAGE_SIZE);
	ae_buf_release(b);
	ae_engine_get_stats(e.eng, &s1);
	AE_CHECK(s1.wal_page_images == s0.wal_page_images + 1);
	AE_CHECK(after - before < (ae_lsn) (AE_PAGE_SIZE - (upper - lower) + 200));
	AE_OKAY(ae_wal_flush(e.eng, after));

	ae_buf_discard_all(e.eng);
	AE_OKAY(ae_recover(e.eng, &ri));
	AE_OKAY(ae_buf_read(e.eng, F, 0, AE_LATCH_SHARED, 0, &b));
	{
		const char *page = ae_buf_page(b);
		bool		hole_zero = true;

		for (int i = lower; i < upper; i++)
			hole_zero &= page[i] == 0;
		AE_CHECK(hole_zero);
		AE_CHECK(memcmp(page + 8, expect + 8, lower - 8) == 0);	/* past the LSN */
		AE_CHECK(memcmp(page + upper, expect + upper, AE_PAGE_SIZE - upper) == 0);
	}
	ae_buf_release(b);
	ae_env_close(&e);
}

/*
 * Build 40 pages only through mini-transactions (images, patches, multi-page
 * groups) in a 16-frame pool, so some states reach the disk and some do not;
 * lose the pool, damage one page on disk, replay, compare with the pages as
 * they were. Replaying a second time changes nothing.
 */
#define RP_PAGES 40

static bool
same_page(const char *a, const char *b)
{
	return memcmp(a, b, 8) == 0 && memcmp(a + 10, b + 10, AE_PAGE_SIZE - 10) == 0;
}

static ae_status
build_pages(ae_engine *eng, char (*expect)[AE_PAGE_SIZE])
{
	uint32_t	x = 99;

	for (uint32_t i = 0; i < RP_PAGES; i++)
	{
		ae_buf	   *b;
		ae_mtr		m;
		ae_status	st = ae_buf_new(eng, F, i, &b);

		if (st != AE_OK)
			return st;
		ae_page_init(ae_buf_page(b), AE_PAGE_BTREE_LEAF, 0);
		ae_mtr_begin(eng, &m);
		ae_mtr_log_page_image(&m, b);
		st = ae_mtr_commit(&m, NULL);
		ae_buf_release(b);
		if (st != AE_OK)
			return st;
	}
	for (int step = 0; step < 600; step++)
	{
		ae_buf	   *b[3];
		ae_mtr		m;
		uint32_t	blk[3];
		int			np = 1 + step % 3;
		int			got = 0;
		ae_status	st = AE_OK;

		x = x * 1103515245u + 12345u;
		/* distinct blocks in ascending order (latch order) */
		blk[0] = (x >> 8) % (RP_PAGES - 2);
		blk[1] = blk[0] + 1;
		blk[2] = blk[0] + 2;
		ae_mtr_begin(eng, &m);
		for (int k = 0; k < np && st == AE_OK; k++)
		{
			uint64_t	v = ((uint64_t) step << 8) | (uint64_t) k;
			uint16_t	off = (uint16_t) (200 + ((x >> 4) % 100) * 8);

			if ((st = ae_buf_read(eng, F, blk[k], AE_LATCH_EXCLUSIVE, 0, &b[k])) != AE_OK)
				break;
			got++;
			memcpy((char *) ae_buf_page(b[k]) + off, &v, 8);
			ae_mtr_log_patch(&m, b[k], off, &v, 8);
			if (step % 50 == 0)
			{
				ae_page_insert_item(ae_buf_page(b[k]), 0, &v, 8);
				ae_mtr_log_page_image(&m, b[k]);
			}
		}
		if (st == AE_OK)
			st = ae_mtr_commit(&m, NULL);
		else
			ae_mtr_abort(&m);
		for (int k = 0; k < got; k++)
		{
			if (st == AE_OK)
				memcpy(expect[blk[k]], ae_buf_page(b[k]), AE_PAGE_SIZE);
			ae_buf_release(b[k]);
		}
		if (st != AE_OK)
			return st;
	}
	for (uint32_t i = 0; i < RP_PAGES; i++)
	{
		ae_buf	   *b;
		ae_status	st = ae_buf_read(eng, F, i, AE_LATCH_SHARED, 0, &b);

		if (st != AE_OK)
			return st;
		memcpy(expect[i], ae_buf_page(b), AE_PAGE_SIZE);
		ae_buf_release(b);
	}
	return AE_OK;
}

static int
check_pages(ae_engine *eng, char (*expect)[AE_PAGE_SIZE])
{
	int			bad = 0;

	for (uint32_t i = 0; i < RP_PAGES; i++)
	{
		ae_buf	   *b;

		if (ae_buf_read(eng, F, i, AE_LATCH_SHARED, 0, &b) != AE_OK)
			return -1;
		bad += !same_page(ae_buf_page(b), expect[i]);
		ae_buf_release(b);
	}
	return bad;
}

static void
test_replay_reproduces(void)
{
	static char expect[RP_PAGES][AE_PAGE_SIZE];
	ae_env		e;
	ae_lsn		end;
	uint64_t	nrec,
				nrec2;
	char		junk[AE_PAGE_SIZE];

	AE_OKAY(ae_env_open(&e, 16, 64 * 1024, 0));
	AE_OKAY(build_pages(e.eng, expect));
	AE_OKAY(ae_wal_flush(e.eng, ae_wal_insert_lsn(e.eng)));
	ae_buf_discard_all(e.eng);
	memset(junk, 0x5A, sizeof(junk));	/* a torn page: its first record is an image */
	AE_OKAY(e.host.write_block(e.host.ctx, F, 3, junk));

	AE_OKAY(ae_wal_replay(e.eng, AE_WAL_START_LSN, &end, &nrec));
	AE_CHECK(end == ae_wal_insert_lsn(e.eng));
	AE_CHECK(nrec > 600);
	AE_CHECK(check_pages(e.eng, expect) == 0);
	AE_CHECK(ae_buf_held_latches() == 0);

	/* idempotent: write everything out, lose the pool, replay again */
	AE_OKAY(ae_buf_flush_all(e.eng));
	ae_buf_discard_all(e.eng);
	AE_OKAY(ae_wal_replay(e.eng, AE_WAL_START_LSN, &end, &nrec2));
	AE_CHECK(nrec2 == nrec);
	AE_CHECK(check_pages(e.eng, expect) == 0);
	ae_env_close(&e);
}

/* One group of 8 page images is larger than a 64 KiB log buffer. */
static void
test_group_larger_than_ring(void)
{
	ae_env		e;
	ae_buf	   *b[8];
	ae_mtr		m;
	ae_lsn		end,
				rend;
	uint64_t	n = 0,
				nrec;

	AE_OKAY(ae_env_open(&e, 32, 64 * 1024, 0));
	ae_mtr_begin(e.eng, &m);
	for (uint32_t i = 0; i < 8; i++)
	{
		AE_OKAY(ae_buf_new(e.eng, F, i, &b[i]));
		ae_page_init(ae_buf_page(b[i]), AE_PAGE_OVERFLOW, 0);
		memset((char *) ae_buf_page(b[i]) + 100, (int) i + 1, 4000);
		ae_mtr_log_page_image(&m, b[i]);
	}
	AE_OKAY(ae_mtr_commit(&m, &end));
	for (int i = 0; i < 8; i++)
		ae_buf_release(b[i]);
	AE_CHECK(end - AE_WAL_START_LSN > 64 * 1024);
	AE_OKAY(ae_wal_flush(e.eng, end));
	AE_OKAY(ae_wal_scan(e.eng, AE_WAL_START_LSN, count, &n, NULL));
	AE_CHECK(n == 8);
	ae_buf_discard_all(e.eng);
	AE_OKAY(ae_wal_replay(e.eng, AE_WAL_START_LSN, &rend, &nrec));
	AE_CHECK(rend == end && nrec == 8);
	{
		ae_buf	   *p;

		AE_OKAY(ae_buf_read(e.eng, F, 7, AE_LATCH_SHARED, 0, &p));
		AE_CHECK(((char *) ae_buf_page(p))[4099] == 8);
		ae_buf_release(p);
	}
	ae_env_close(&e);
}

/*
 * W3 hand-off: processes whose flushes find the flush latch held (here by
 * the test, as a writer would) sleep; the release wakes one of them, whose
 * single sync covers all three, and every one returns flushed.
 */
#define HO_CHILDREN 3

static void image_group(ae_engine *eng, uint32_t blk, ae_lsn *end);

static void
test_flush_waiters_handoff(void)
{
	ae_env		e;
	wal_shared *w;
	ae_engine_stats before,
				after;
	_Atomic uint64_t *ends = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	AE_REQUIRE(ends != MAP_FAILED);
	AE_OKAY(ae_env_open(&e, 16, 64 * 1024, 0));
	w = e.eng->wal;
	ae_latch_acquire(&w->flush_latch, true);
	for (int k = 0; k < HO_CHILDREN; k++)
	{
		pid_t		pid = fork();

		AE_REQUIRE(pid >= 0);
		if (pid == 0)
		{
			ae_lsn		end;

			image_group(e.eng, (uint32_t) k, &end);
			atomic_store(&ends[k], end);
			_exit(ae_wal_flush(e.eng, end) != AE_OK ? 2 : ae_wal_flushed_lsn(e.eng) < end ? 1 : 0);
		}
	}
	for (int k = 0; k < HO_CHILDREN; k++)
		while (atomic_load(&ends[k]) == 0)
			usleep(1000);
	usleep(100 * 1000);			/* all three are asleep now */
	ae_engine_get_stats(e.eng, &before);
	AE_CHECK(ae_wal_flushed_lsn(e.eng) < atomic_load(&ends[0]));
	ae_wal_flush_latch_release(w);
	AE_CHECK(ae_env_wait_children(HO_CHILDREN));
	ae_engine_get_stats(e.eng, &after);
	for (int k = 0; k < HO_CHILDREN; k++)
		AE_CHECK(after.wal_flushed_lsn >= atomic_load(&ends[k]));
	AE_CHECK(after.wal_flushes - before.wal_flushes == 1);	/* one sync for all */
	ae_env_close(&e);
	munmap((void *) ends, 4096);
}

/* One group: a full image of block blk of F; *end its end LSN. */
static void
image_group(ae_engine *eng, uint32_t blk, ae_lsn *end)
{
	ae_buf	   *b;
	ae_mtr		m;

	AE_OKAY(ae_buf_new(eng, F, blk, &b));
	ae_page_init(ae_buf_page(b), AE_PAGE_META, 0);
	ae_mtr_begin(eng, &m);
	ae_mtr_log_page_image(&m, b);
	AE_OKAY(ae_mtr_commit(&m, end));
	ae_buf_release(b);
}

/*
 * W6's slot minimum is only a lower bound of what is copied: an inserter
 * that read cur_pos, then was preempted, advertises that old value after a
 * flusher's wait_copies passed. The flush must still make everything below
 * its LSN durable (it once wrote and synced only up to the stale value and
 * returned AE_OK). The preempted inserter is played here step by step; the
 * flush latch is held for a moment only to let it advertise in between.
 */
static void
test_flush_despite_late_lower_bound(void)
{
	ae_env		e;
	wal_shared *w;
	ae_lsn		stale,
				end;
	pid_t		pid;

	AE_OKAY(ae_env_open(&e, 16, 64 * 1024, 0));
	w = e.eng->wal;
	image_group(e.eng, 0, &end);
	AE_OKAY(ae_wal_flush(e.eng, end));
	ae_latch_acquire(&w->slots[3].owner, true);	/* the inserter takes a slot */
	stale = atomic_load(&w->cur_pos);	/* and reads cur_pos: preempted here */
	image_group(e.eng, 1, &end);	/* someone else's group, then its flush */
	AE_CHECK(end > stale && ae_wal_flushed_lsn(e.eng) < end);
	ae_latch_acquire(&w->flush_latch, true);
	pid = fork();
	AE_REQUIRE(pid >= 0);
	if (pid == 0)
	{
		ae_status	st = ae_wal_flush(e.eng, end);	/* wait_copies passes: no slot advertises */

		_exit(st != AE_OK ? 2 : ae_wal_flushed_lsn(e.eng) < end ? 1 : 0);
	}
	usleep(100 * 1000);
	atomic_store(&w->slots[3].at, stale);	/* the inserter resumes and advertises */
	ae_wal_flush_latch_release(w);
	AE_CHECK(ae_env_wait_children(1));	/* the flush reached end */
	AE_CHECK(ae_wal_flushed_lsn(e.eng) >= end && atomic_load(&w->written_lsn) >= end);
	atomic_store(&w->slots[3].at, 0);
	ae_latch_release(&w->slots[3].owner);
	ae_env_close(&e);
}

/* Four processes commit and flush concurrently; the ring wraps many times. */
#define GF_CHILDREN 4
#define GF_COMMITS	300

static int
gf_child(ae_engine *eng, int id)
{
	for (int i = 0; i < GF_COMMITS; i++)
	{
		ae_buf	   *b;
		ae_mtr		m;
		ae_lsn		end;
		uint64_t	v;
		char		pad[400];

		if (ae_buf_read(eng, F, (uint32_t) id, AE_LATCH_EXCLUSIVE, 0, &b) != AE_OK)
			return 1;
		memcpy(&v, (char *) ae_buf_page(b) + 100, 8);
		v++;
		memcpy((char *) ae_buf_page(b) + 100, &v, 8);
		memset(pad, id, sizeof(pad));
		ae_mtr_begin(eng, &m);
		ae_mtr_log_patch(&m, b, 100, &v, 8);
		ae_mtr_log_patch(&m, b, 1000, pad, sizeof(pad));
		memcpy((char *) ae_buf_page(b) + 1000, pad, sizeof(pad));
		if (ae_mtr_commit(&m, &end) != AE_OK)
			return 2;
		ae_buf_release(b);
		if (ae_wal_flush(eng, end) != AE_OK || ae_wal_flushed_lsn(eng) < end)
			return 3;
	}
	return 0;
}

static void
test_group_flush_processes(void)
{
	ae_env		e;
	ae_engine_stats s;
	uint64_t	n = 0,
				nrec;
	ae_lsn		end;

	AE_OKAY(ae_env_open(&e, 16, 64 * 1024, 0));
	for (uint32_t i = 0; i < GF_CHILDREN; i++)
	{
		ae_buf	   *b;
		ae_mtr		m;

		AE_OKAY(ae_buf_new(e.eng, F, i, &b));
		ae_page_init(ae_buf_page(b), AE_PAGE_META, 0);
		ae_mtr_begin(e.eng, &m);
		ae_mtr_log_page_image(&m, b);
		AE_OKAY(ae_mtr_commit(&m, NULL));
		ae_buf_release(b);
	}
	for (int k = 0; k < GF_CHILDREN; k++)
	{
		pid_t		pid = fork();

		AE_REQUIRE(pid >= 0);
		if (pid == 0)
			_exit(gf_child(e.eng, k));
	}
	AE_CHECK(ae_env_wait_children(GF_CHILDREN));
	ae_engine_get_stats(e.eng, &s);
	AE_CHECK(s.wal_flushed_lsn == s.wal_insert_lsn);
	AE_CHECK(s.wal_records == GF_CHILDREN + 2 * GF_CHILDREN * GF_COMMITS);
	AE_CHECK(s.wal_flushes <= GF_CHILDREN * GF_COMMITS);
	AE_CHECK(s.wal_bytes > 4 * 64 * 1024);	/* wrapped the ring */
	AE_OKAY(ae_wal_scan(e.eng, AE_WAL_START_LSN, count, &n, &end));
	AE_CHECK(n == s.wal_records && end == s.wal_insert_lsn);
	/* and the log rebuilds every counter */
	ae_buf_discard_all(e.eng);
	AE_OKAY(ae_wal_replay(e.eng, AE_WAL_START_LSN, &end, &nrec));
	for (uint32_t i = 0; i < GF_CHILDREN; i++)
	{
		ae_buf	   *b;
		uint64_t	v;

		AE_OKAY(ae_buf_read(e.eng, F, i, AE_LATCH_SHARED, 0, &b));
		memcpy(&v, (char *) ae_buf_page(b) + 100, 8);
		ae_buf_release(b);
		AE_CHECK(v == GF_COMMITS);
	}
	ae_env_close(&e);
}


/*
 * Parallel insertion (wal.c: reservation, insertion slots). PI_INSERTERS
 * processes call ae_wal_insert directly with groups of 1..6 records of
 * varied sizes (some groups larger than the 64 KiB ring), flushing or
 * writing now and then; one more process begins checkpoints (moves the
 * redo point) as fast as it can, another flushes and writes all the time.
 * Each record's payload names its process, group, index and the redo point
 * the group was built against, and the rest is a pattern. Then the log is
 * read back: every group exactly once, at the LSNs ae_wal_insert returned,
 * every record intact (CRC and pattern), nothing else; and W5: a group's
 * redo point is the last one begun before its reservation (a group built
 * against an older one never lands at or after a newer one). A writer that
 * wrote bytes before their copy finished leaves stale bytes in the log
 * file (nobody rewrites them): the read-back fails.
 */
#define PI_INSERTERS	4
#define PI_GROUPS		40000	/* at most, per inserter */
#define PI_MAX_REC		6
#define PI_MAX_CP		200000
#define PI_HDR			24		/* u32 child, u32 group, u32 index, u32 nrec, u64 redo seen */
#define PI_RMGR			(AE_RMGR_MAX - 1)	/* no redo registered: only scanned */

typedef struct pi_group
{
	ae_lsn		start,
				end;
	uint64_t	redo;
	uint32_t	nrec;
} pi_group;

typedef struct pi_shared
{
	pi_group	g[PI_INSERTERS][PI_GROUPS];
	uint32_t	ngroups;		/* per inserter */
	bool		tiny;			/* one 56-byte record per group: many more reservations */
	_Atomic int inserters_done;
	_Atomic int conflicts;
	int			ncp;
	ae_lsn		cp[PI_MAX_CP];	/* redo points, in the order they were begun */
} pi_shared;

static uint32_t
pi_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (uint32_t) (*x >> 16);
}

static uint8_t
pi_byte(uint32_t c, uint32_t g, uint32_t i, size_t j)
{
	return (uint8_t) (c * 31 + g * 7 + i * 13 + j * 3 + (j >> 8));
}

/* Build group g of child c against redo point redo; returns its length. */
static size_t
pi_build(char *buf, uint32_t c, uint32_t g, uint32_t nrec, const uint32_t *plen, uint64_t redo)
{
	size_t		len = 0;

	for (uint32_t i = 0; i < nrec; i++)
	{
		ae_log_record *r = (ae_log_record *) (buf + len);
		uint32_t	h[4] = {c, g, i, nrec};
		char	   *p = buf + len + sizeof(*r);

		memset(r, 0, sizeof(*r));
		r->total_len = (uint32_t) ae_wal_align(sizeof(*r) + plen[i]);
		r->rmgr = PI_RMGR;
		r->type = 1;
		r->flags = i == nrec - 1 ? AE_REC_MTR_END : 0;
		r->block = AE_NO_BLOCK;
		r->payload_len = plen[i];
		memcpy(p, h, sizeof(h));
		memcpy(p + 16, &redo, 8);
		for (size_t j = PI_HDR; j < plen[i]; j++)
			p[j] = (char) pi_byte(c, g, i, j);
		memset(p + plen[i], 0, r->total_len - sizeof(*r) - plen[i]);
		r->crc = ae_crc32c(0, (char *) r + 8, r->total_len - 8);	/* ae_wal_insert adds the LSN */
		len += r->total_len;
	}
	return len;
}

static int
pi_insert_groups(ae_engine *eng, pi_shared *sh, uint32_t c)
{
	static char buf[PI_MAX_REC * (32 + 40000)];
	uint64_t	x = 0x9E3779B97F4A7C15ull * (c + 1);

	alarm(300);
	for (uint32_t g = 0; g < sh->ngroups; g++)
	{
		uint32_t	plen[PI_MAX_REC],
					nrec,
					kind = pi_rand(&x) % 40;
		ae_lsn		start,
					end;
		ae_status	st;

		if (sh->tiny)
		{
			nrec = 1;
			plen[0] = PI_HDR;
		}
		else if (kind == 0)
		{
			/* larger than the whole ring: copied in pieces */
			nrec = 3;
			for (uint32_t i = 0; i < nrec; i++)
				plen[i] = 25000 + pi_rand(&x) % 15000;
		}
		else
		{
			nrec = 1 + pi_rand(&x) % PI_MAX_REC;
			for (uint32_t i = 0; i < nrec; i++)
				plen[i] = PI_HDR + (kind < 6 ? pi_rand(&x) % 12000 : pi_rand(&x) % 600);
		}
		do
		{
			uint64_t	redo = ae_wal_redo_lsn(eng);
			size_t		len = pi_build(buf, c, g, nrec, plen, redo);

			st = ae_wal_insert(eng, buf, len, nrec, redo, &start, &end);
			if (st == AE_CONFLICT)
				atomic_fetch_add(&sh->conflicts, 1);
			else if (st == AE_OK)
			{
				if (end - start != len)
					return 2;
				sh->g[c][g] = (pi_group) {start, end, redo, nrec};
			}
		} while (st == AE_CONFLICT);
		if (st != AE_OK)
			return 3;
		/* the glue's commit flushes to ae_wal_insert_lsn: it must cover our group */
		if (ae_wal_insert_lsn(eng) < end)
			return 10;
		switch (pi_rand(&x) % 8)
		{
			case 0:
				if (ae_wal_flush(eng, end) != AE_OK || ae_wal_flushed_lsn(eng) < end)
					return 4;
				break;
			case 2:
				if (ae_wal_flush(eng, ae_wal_insert_lsn(eng)) != AE_OK || ae_wal_flushed_lsn(eng) < end)
					return 11;
				break;
			case 1:
				if (ae_wal_write(eng, end) != AE_OK)
					return 5;
				break;
			default:
				break;
		}
	}
	return 0;
}

/* Counted as done however it ends, so that the checkpointer and the flusher stop. */
static int
pi_inserter(ae_engine *eng, pi_shared *sh, uint32_t c)
{
	int			rc = pi_insert_groups(eng, sh, c);

	if (rc != 0)
		fprintf(stderr, "  inserter %u failed: %d\n", c, rc);
	atomic_fetch_add(&sh->inserters_done, 1);
	return rc;
}

static int
pi_checkpointer(ae_engine *eng, pi_shared *sh)
{
	alarm(300);
	/* as fast as it can: W5 races are between two instructions */
	while (atomic_load(&sh->inserters_done) < PI_INSERTERS && sh->ncp < PI_MAX_CP)
	{
		ae_lsn		redo = ae_wal_begin_checkpoint(eng);

		if (sh->ncp > 0 && redo < sh->cp[sh->ncp - 1])
			return 6;
		sh->cp[sh->ncp++] = redo;
		if (sh->ncp % 64 == 0 && ae_wal_flush(eng, ae_wal_insert_lsn(eng)) != AE_OK)
			return 7;
		if (sh->ncp % 4 == 0)
			sched_yield();
	}
	return 0;
}

static int
pi_flusher(ae_engine *eng, pi_shared *sh)
{
	alarm(300);
	for (int n = 0; atomic_load(&sh->inserters_done) < PI_INSERTERS; n++)
	{
		ae_lsn		upto = ae_wal_insert_lsn(eng);

		if ((n % 3 ? ae_wal_write(eng, upto) : ae_wal_flush(eng, upto)) != AE_OK)
			return 8;
		if (ae_wal_flushed_lsn(eng) > ae_wal_insert_lsn(eng))
			return 9;
		sched_yield();
	}
	return 0;
}

typedef struct pi_scan
{
	pi_shared  *sh;
	uint8_t		seen[PI_INSERTERS][PI_GROUPS];
	int			in_group;		/* records still expected in the current group, 0: between groups */
	uint32_t	c,
				g;
	uint64_t	records;
	int			bad;
} pi_scan;

static int
pi_visit(void *arg, ae_lsn lsn, const ae_log_record *rec)
{
	pi_scan    *s = arg;
	const char *p = ae_log_record_payload(rec);
	uint32_t	h[4];
	uint64_t	redo;
	pi_group   *grp;

	s->records++;
	if (rec->rmgr != PI_RMGR || rec->payload_len < PI_HDR)
		goto bad;
	memcpy(h, p, sizeof(h));
	memcpy(&redo, p + 16, 8);
	if (h[0] >= PI_INSERTERS || h[1] >= s->sh->ngroups || h[3] == 0 || h[3] > PI_MAX_REC || h[2] >= h[3])
		goto bad;
	for (size_t j = PI_HDR; j < rec->payload_len; j++)
		if ((uint8_t) p[j] != pi_byte(h[0], h[1], h[2], j))
			goto bad;
	grp = &s->sh->g[h[0]][h[1]];
	if (s->in_group == 0)
	{
		/* a group's first record, where ae_wal_insert said it starts */
		if (h[2] != 0 || lsn != grp->start || h[3] != grp->nrec || s->seen[h[0]][h[1]]++)
			goto bad;
		s->c = h[0];
		s->g = h[1];
		s->in_group = (int) h[3];
	}
	else if (h[0] != s->c || h[1] != s->g || h[2] != grp->nrec - (uint32_t) s->in_group)
		goto bad;
	if (redo != grp->redo)
		goto bad;
	s->in_group--;
	if ((s->in_group == 0) != ((rec->flags & AE_REC_MTR_END) != 0))
		goto bad;
	if (s->in_group == 0 && lsn + rec->total_len != grp->end)
		goto bad;
	return 0;
bad:
	if (s->bad++ < 5)
		fprintf(stderr, "  unexpected record at LSN %llu (%u/%u/%u of %u)\n",
				(unsigned long long) lsn, rec->payload_len >= PI_HDR ? ((uint32_t *) p)[0] : 0,
				rec->payload_len >= PI_HDR ? ((uint32_t *) p)[1] : 0,
				rec->payload_len >= PI_HDR ? ((uint32_t *) p)[2] : 0,
				rec->payload_len >= PI_HDR ? ((uint32_t *) p)[3] : 0);
	return 1;
}

static void
parallel_insert(uint32_t ngroups, bool tiny)
{
	static pi_scan scan;
	ae_env		e;
	ae_engine_stats s;
	pi_shared  *sh;
	uint64_t	total_rec = 0,
				total_bytes = 0,
				big = 0,
				w5_bad = 0,
				after_cp = 0,
				unseen = 0;
	ae_lsn		end;

	alarm(600);					/* a hang fails the test */
	AE_OKAY(ae_env_open(&e, 16, 64 * 1024, 0));
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	AE_REQUIRE(sh != MAP_FAILED);
	memset(sh, 0, sizeof(*sh));
	sh->ngroups = ngroups;
	sh->tiny = tiny;
	for (int k = 0; k < PI_INSERTERS + 2; k++)
	{
		pid_t		pid = fork();

		AE_REQUIRE(pid >= 0);
		if (pid == 0)
			_exit(k < PI_INSERTERS ? pi_inserter(e.eng, sh, (uint32_t) k)
				  : k == PI_INSERTERS ? pi_checkpointer(e.eng, sh) : pi_flusher(e.eng, sh));
	}
	AE_CHECK(ae_env_wait_children(PI_INSERTERS + 2));
	AE_OKAY(ae_wal_flush(e.eng, ae_wal_insert_lsn(e.eng)));
	ae_engine_get_stats(e.eng, &s);
	for (int c = 0; c < PI_INSERTERS; c++)
		for (uint32_t g = 0; g < ngroups; g++)
		{
			total_rec += sh->g[c][g].nrec;
			total_bytes += sh->g[c][g].end - sh->g[c][g].start;
			big += sh->g[c][g].end - sh->g[c][g].start > 64 * 1024;
		}
	AE_CHECK(big > 0 || tiny);
	AE_CHECK(s.wal_records == total_rec && s.wal_bytes == total_bytes);
	AE_CHECK(s.wal_insert_lsn == AE_WAL_START_LSN + total_bytes);
	AE_CHECK(s.wal_flushed_lsn == s.wal_insert_lsn);

	/* read the log back: every group once, intact, where it was reserved */
	memset(&scan, 0, sizeof(scan));
	scan.sh = sh;
	AE_OKAY(ae_wal_scan(e.eng, AE_WAL_START_LSN, pi_visit, &scan, &end));
	AE_CHECK(scan.bad == 0);
	AE_CHECK(scan.records == total_rec && scan.in_group == 0);
	AE_CHECK(end == s.wal_insert_lsn);
	for (int c = 0; c < PI_INSERTERS; c++)
		for (uint32_t g = 0; g < ngroups; g++)
			unseen += scan.seen[c][g] != 1;
	AE_CHECK(unseen == 0);

	/*
	 * W5: the redo point a group was built against is the last one begun
	 * before the group's reservation, i.e. the largest redo point <= its
	 * start (0 before the first checkpoint).
	 */
	AE_CHECK(sh->ncp > 10);
	for (int c = 0; c < PI_INSERTERS; c++)
		for (uint32_t g = 0; g < ngroups; g++)
		{
			pi_group   *grp = &sh->g[c][g];
			ae_lsn		want = 0;
			int			lo = 0,
						hi = sh->ncp;	/* first redo point > start: binary search */

			while (lo < hi)
			{
				int			mid = (lo + hi) / 2;

				if (sh->cp[mid] <= grp->start)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo > 0)
				want = sh->cp[lo - 1];
			after_cp += want != 0;
			if (grp->redo != want && w5_bad++ < 5)
				fprintf(stderr, "  W5: group %d/%d at %llu built against redo %llu, last redo point before it %llu\n",
						c, g, (unsigned long long) grp->start, (unsigned long long) grp->redo,
						(unsigned long long) want);
		}
	AE_CHECK(w5_bad == 0);
	AE_CHECK(after_cp > 0);
	printf("# %llu records in %u groups, %llu larger than the ring, %d checkpoints, %d conflicts\n",
		   (unsigned long long) total_rec, PI_INSERTERS * ngroups, (unsigned long long) big,
		   sh->ncp, atomic_load(&sh->conflicts));
	munmap(sh, sizeof(*sh));
	ae_env_close(&e);
	alarm(0);
}

/* Groups of 1..6 records, 24 bytes to 40 KB each, some groups larger than the ring. */
static void
test_parallel_insert_processes(void)
{
	parallel_insert(400, false);
}

/*
 * Tiny groups as fast as they can go against checkpoints as fast as they
 * can go: many chances for a checkpoint to fall between an inserter's W5
 * check and its reservation.
 */
static void
test_parallel_insert_checkpoint_race(void)
{
	parallel_insert(40000, true);
}

int
main(void)
{
	AE_RUN(test_records_roundtrip);
	AE_RUN(test_crc_detects_flip);
	AE_RUN(test_torn_tail);
	AE_RUN(test_record_valid_only_at_its_lsn);
	AE_RUN(test_recycled_file_stale_tail);
	AE_RUN(test_image_without_hole);
	AE_RUN(test_replay_reproduces);
	AE_RUN(test_group_larger_than_ring);
	AE_RUN(test_flush_waiters_handoff);
	AE_RUN(test_flush_despite_late_lower_bound);
	AE_RUN(test_group_flush_processes);
	AE_RUN(test_parallel_insert_processes);
	AE_RUN(test_parallel_insert_checkpoint_race);
	return ae_test_summary();
}
