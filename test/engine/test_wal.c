/*
 * test_wal.c — log records and mini-transactions: round trip through
 * ae_wal_scan, CRC checks, torn tails, replay after losing the pool (with a
 * torn page repaired from its image), groups larger than the log buffer,
 * and group flushing from several processes.
 */
#include <stdint.h>
#include <string.h>

#include "ae_test.h"
#include "ae_env.h"
#include "aether/wal.h"

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

int
main(void)
{
	AE_RUN(test_records_roundtrip);
	AE_RUN(test_crc_detects_flip);
	AE_RUN(test_torn_tail);
	AE_RUN(test_replay_reproduces);
	AE_RUN(test_group_larger_than_ring);
	AE_RUN(test_group_flush_processes);
	return ae_test_summary();
}
