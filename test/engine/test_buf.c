/*
 * test_buf.c — buffer pool: round trips under heavy eviction, pool
 * exhaustion, missing blocks, dropping files, scan rings, corrupt reads,
 * and four forked processes sharing a small pool.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>

#include "ae_test.h"
#include "ae_env.h"
#include "aether/buf.h"
#include "aether/wal.h"

static const ae_file_id FA = {1663, 1, 1000};
static const ae_file_id FB = {1663, 1, 2000};

/* Create block blk of f as an initialised page whose item 0 holds tag. */
static ae_status
make_page(ae_engine *eng, ae_file_id f, uint32_t blk, uint64_t tag)
{
	ae_buf	   *b;
	ae_status	st = ae_buf_new(eng, f, blk, &b);

	if (st != AE_OK)
		return st;
	ae_page_init(ae_buf_page(b), AE_PAGE_BTREE_LEAF, 0);
	if (!ae_page_insert_item(ae_buf_page(b), 0, &tag, sizeof(tag)))
		st = AE_INTERNAL;
	ae_buf_mark_dirty(b, 0);
	ae_buf_release(b);
	return st;
}

static ae_status
page_tag(ae_engine *eng, ae_file_id f, uint32_t blk, int flags, uint64_t *tag)
{
	ae_buf	   *b;
	uint16_t	len;
	ae_status	st = ae_buf_read(eng, f, blk, AE_LATCH_SHARED, flags, &b);

	if (st != AE_OK)
		return st;
	memcpy(tag, ae_page_item(ae_buf_page(b), 0, &len), sizeof(*tag));
	ae_buf_release(b);
	return AE_OK;
}

static void
test_roundtrip_eviction(void)
{
	ae_env		e;
	ae_engine_stats s;
	const uint32_t n = 2000;

	AE_OKAY(ae_env_open(&e, 16, 64 * 1024, 0));
	for (uint32_t i = 0; i < n; i++)
		AE_OKAY(make_page(e.eng, FA, i, 1000000 + i));
	for (uint32_t k = 0; k < 3; k++)
		for (uint32_t i = k; i < n; i += 7)
		{
			uint64_t	tag = 0;

			AE_OKAY(page_tag(e.eng, FA, i, 0, &tag));
			AE_REQUIRE(tag == 1000000 + i);
		}
	ae_engine_get_stats(e.eng, &s);
	AE_CHECK(s.pool_pages == 16 && s.pages_used <= 16);
	AE_CHECK(s.evictions > n - 16 && s.writes >= n - 16 && s.reads > 0);
	AE_CHECK(ae_buf_held_latches() == 0);
	/* what reached the disk carries valid checksums */
	AE_OKAY(ae_buf_flush_all(e.eng));
	{
		_Alignas(8) char pg[AE_PAGE_SIZE];

		for (uint32_t i = 0; i < n; i += 111)
		{
			AE_OKAY(e.host.read_block(e.host.ctx, FA, i, pg));
			AE_OKAY(ae_page_verify(pg, FA, i));
		}
	}
	ae_env_close(&e);
}

static void
test_pool_full(void)
{
	ae_env		e;
	ae_buf	   *pinned[16],
			   *b;

	AE_OKAY(ae_env_open(&e, 16, 64 * 1024, 0));
	for (uint32_t i = 0; i < 17; i++)
		AE_OKAY(make_page(e.eng, FA, i, i));
	for (int i = 0; i < 16; i++)
		AE_OKAY(ae_buf_read(e.eng, FA, (uint32_t) i, AE_LATCH_NONE, 0, &pinned[i]));
	AE_CHECK(ae_buf_read(e.eng, FA, 16, AE_LATCH_SHARED, 0, &b) == AE_POOL_FULL);
	AE_CHECK(ae_error_last()->status == AE_POOL_FULL);
	/* a hit on a pinned page still works */
	AE_OKAY(ae_buf_read(e.eng, FA, 3, AE_LATCH_EXCLUSIVE, 0, &b));
	AE_CHECK(b == pinned[3]);
	ae_buf_release(b);
	ae_buf_release(pinned[5]);
	AE_OKAY(ae_buf_read(e.eng, FA, 16, AE_LATCH_SHARED, 0, &b));
	ae_buf_release(b);
	for (int i = 0; i < 16; i++)
		if (i != 5)
			ae_buf_release(pinned[i]);
	AE_CHECK(ae_buf_held_latches() == 0);
	ae_env_close(&e);
}

static void
test_missing_and_drop(void)
{
	ae_env		e;
	ae_buf	   *b;
	uint64_t	tag;

	AE_OKAY(ae_env_open(&e, 32, 64 * 1024, 0));
	AE_CHECK(ae_buf_read(e.eng, FA, 0, AE_LATCH_SHARED, 0, &b) == AE_NOT_FOUND);
	AE_CHECK(ae_error_last()->block == 0);
	AE_OKAY(make_page(e.eng, FA, 0, 42));	/* the failed read left nothing behind */
	AE_OKAY(page_tag(e.eng, FA, 0, 0, &tag));
	AE_CHECK(tag == 42);
	for (uint32_t i = 0; i < 10; i++)
	{
		AE_OKAY(make_page(e.eng, FA, i, 100 + i));
		AE_OKAY(make_page(e.eng, FB, i, 200 + i));
	}
	AE_OKAY(ae_buf_flush_file(e.eng, FB));
	ae_buf_drop_file(e.eng, FA);	/* FA never reached disk */
	AE_CHECK(ae_buf_read(e.eng, FA, 0, AE_LATCH_SHARED, 0, &b) == AE_NOT_FOUND);
	for (uint32_t i = 0; i < 10; i++)
	{
		AE_OKAY(page_tag(e.eng, FB, i, 0, &tag));
		AE_CHECK(tag == 200 + i);
	}
	ae_buf_discard_all(e.eng);
	{
		ae_engine_stats s;

		ae_engine_get_stats(e.eng, &s);
		AE_CHECK(s.pages_used == 0 && s.pages_dirty == 0);
	}
	AE_OKAY(page_tag(e.eng, FB, 9, 0, &tag));	/* flushed pages come back from disk */
	AE_CHECK(tag == 209);
	ae_env_close(&e);
}

/* A big AE_BUF_SCAN must not push out pages in regular use. */
static void
test_scan_ring(void)
{
	ae_env		e;
	ae_engine_stats before,
				after;
	uint64_t	tag;

	AE_OKAY(ae_env_open(&e, 64, 64 * 1024, 8));
	for (uint32_t i = 0; i < 1000; i++)
		AE_OKAY(make_page(e.eng, FB, i, i));
	AE_OKAY(ae_buf_flush_all(e.eng));
	ae_buf_discard_all(e.eng);
	for (int round = 0; round < 3; round++)	/* 32 hot pages */
		for (uint32_t i = 0; i < 32; i++)
			AE_OKAY(page_tag(e.eng, FB, i, 0, &tag));
	for (uint32_t i = 32; i < 1000; i++)
	{
		AE_OKAY(page_tag(e.eng, FB, i, AE_BUF_SCAN, &tag));
		AE_REQUIRE(tag == i);
	}
	ae_engine_get_stats(e.eng, &before);
	for (uint32_t i = 0; i < 32; i++)
		AE_OKAY(page_tag(e.eng, FB, i, 0, &tag));
	ae_engine_get_stats(e.eng, &after);
	AE_CHECK(after.reads == before.reads);	/* all hot pages were still cached */
	AE_CHECK(after.hits - before.hits == 32);
	ae_env_close(&e);
}

static void
test_corrupt_read(void)
{
	ae_env		e;
	ae_buf	   *b;
	char		path[128];
	int			fd;

	AE_OKAY(ae_env_open(&e, 16, 64 * 1024, 0));
	AE_OKAY(make_page(e.eng, FA, 0, 1));
	AE_OKAY(make_page(e.eng, FA, 1, 2));
	AE_OKAY(ae_buf_flush_all(e.eng));
	ae_buf_discard_all(e.eng);
	snprintf(path, sizeof(path), "%s/%u_%u_%u", e.dir, FA.spc, FA.db, FA.rel);
	fd = open(path, O_WRONLY);
	AE_REQUIRE(fd >= 0);
	AE_REQUIRE(pwrite(fd, "X", 1, AE_PAGE_SIZE + 5000) == 1);
	close(fd);
	AE_CHECK(ae_buf_read(e.eng, FA, 1, AE_LATCH_SHARED, 0, &b) == AE_CORRUPT);
	AE_CHECK(ae_error_last()->block == 1 && ae_file_id_equal(ae_error_last()->file, FA));
	AE_CHECK(ae_buf_read(e.eng, FA, 1, AE_LATCH_SHARED, 0, &b) == AE_CORRUPT);	/* retried, not cached */
	AE_OKAY(ae_buf_read(e.eng, FA, 0, AE_LATCH_SHARED, 0, &b));
	ae_buf_release(b);
	AE_CHECK(ae_buf_held_latches() == 0);
	ae_env_close(&e);
}

/* Each page holds two copies of a counter; writers bump both under X. */
#define MP_PAGES	64
#define MP_CHILDREN 4
#define MP_ITERS	3000

static int
mp_child(ae_engine *eng, int id, uint32_t npages)
{
	uint32_t	x = (uint32_t) id * 7919u + 1;

	for (int i = 0; i < MP_ITERS; i++)
	{
		ae_buf	   *b;
		uint64_t	c[2];
		char	   *p;
		bool		write = i % 3 != 0;

		x = x * 1103515245u + 12345u;
		if (ae_buf_read(eng, FA, (x >> 8) % npages,
						write ? AE_LATCH_EXCLUSIVE : AE_LATCH_SHARED, 0, &b) != AE_OK)
		{
			fprintf(stderr, "  child %d: %s\n", id, ae_error_last()->message);
			return 1;
		}
		p = (char *) ae_buf_page(b) + 64;
		memcpy(c, p, sizeof(c));
		if (c[0] != c[1])
			return 2;			/* a torn update: latching is broken */
		if (write)
		{
			c[0]++;
			memcpy(p, &c[0], 8);
			sched_yield();		/* widen the window a racing writer would need */
			memcpy(p + 8, &c[0], 8);
			ae_buf_mark_dirty(b, 0);
		}
		ae_buf_release(b);
	}
	return ae_buf_held_latches() == 0 ? 0 : 3;
}

/*
 * MP_CHILDREN processes bump counters on npages pages through a 16-frame
 * pool: with 64 pages eviction races dominate, with 1 page latch waits do.
 */
static void
run_multiprocess(uint32_t npages)
{
	ae_env		e;
	uint64_t	total = 0,
				expect = 0;

	AE_OKAY(ae_env_open(&e, 16, 64 * 1024, 0));
	for (uint32_t i = 0; i < npages; i++)
		AE_OKAY(make_page(e.eng, FA, i, i));
	for (int k = 0; k < MP_CHILDREN; k++)
	{
		pid_t		pid = fork();

		AE_REQUIRE(pid >= 0);
		if (pid == 0)
			_exit(mp_child(e.eng, k, npages));
	}
	AE_CHECK(ae_env_wait_children(MP_CHILDREN));
	for (int k = 0; k < MP_CHILDREN; k++)
		for (int i = 0; i < MP_ITERS; i++)
			expect += i % 3 != 0;
	/* read back through the pool: each page is cached or was written on eviction */
	for (uint32_t i = 0; i < npages; i++)
	{
		ae_buf	   *b;
		uint64_t	c[2];

		AE_OKAY(ae_buf_read(e.eng, FA, i, AE_LATCH_SHARED, 0, &b));
		memcpy(c, (char *) ae_buf_page(b) + 64, sizeof(c));
		ae_buf_release(b);
		AE_CHECK(c[0] == c[1]);
		total += c[0];
	}
	AE_CHECK(total == expect);
	if (npages > 16)
	{
		ae_engine_stats s;

		ae_engine_get_stats(e.eng, &s);
		AE_CHECK(s.evictions > 0);
	}
	ae_env_close(&e);
}

/* read child blk of file f through slot of parent; its tag must be want */
static bool
child_tag(ae_engine *eng, ae_buf *parent, int slot, ae_file_id f, uint32_t blk, uint64_t want)
{
	ae_buf	   *c;
	uint16_t	len;
	uint64_t	tag = 0;

	if (ae_buf_read_child(eng, parent, slot, f, blk, AE_LATCH_SHARED, 0, &c) != AE_OK)
		return false;
	memcpy(&tag, ae_page_item(ae_buf_page(c), 0, &len), sizeof(tag));
	ae_buf_release(c);
	return tag == want;
}

/*
 * Swizzling (buf/README.md S1..S6): hinted reads make no page-table lookup;
 * a hint to a frame since evicted and reused for other pages (ABA) is
 * rejected and the right page read; ae_buf_unswizzle drops hints from a slot
 * on; a slot whose child changed (items moved) is not followed; the
 * process-local hint of ae_buf_read_hint works the same way.
 */
static void
test_swizzle(void)
{
	ae_env		e;
	ae_engine_stats s0,
				s1;
	ae_buf	   *p,
			   *b;
	uint32_t	hint = AE_BUF_NO_HINT;

	AE_OKAY(ae_env_open(&e, 16, 64 * 1024, 0));
	AE_OKAY(make_page(e.eng, FA, 0, 7));
	for (uint32_t i = 0; i < 200; i++)
		AE_OKAY(make_page(e.eng, FB, i, 5000 + i));
	AE_OKAY(ae_buf_read(e.eng, FA, 0, AE_LATCH_SHARED, 0, &p));	/* the parent stays pinned */
	for (int i = 0; i < 4; i++)
		AE_CHECK(child_tag(e.eng, p, i, FB, (uint32_t) i, 5000 + (uint64_t) i));

	/* hot path: 40 reads, no page-table lookup */
	ae_engine_get_stats(e.eng, &s0);
	for (int r = 0; r < 10; r++)
		for (int i = 0; i < 4; i++)
			AE_CHECK(child_tag(e.eng, p, i, FB, (uint32_t) i, 5000 + (uint64_t) i));
	ae_engine_get_stats(e.eng, &s1);
	AE_CHECK(s1.swizzle_hits - s0.swizzle_hits == 40);
	AE_CHECK(s1.hits == s0.hits && s1.reads == s0.reads);
	AE_CHECK(s1.swizzle_misses == s0.swizzle_misses && s1.swizzle_stale == s0.swizzle_stale);

	/* evict the children: their frames now hold other pages (or none) */
	for (uint32_t i = 10; i < 200; i++)
	{
		uint64_t	tag = 0;

		AE_OKAY(page_tag(e.eng, FB, i, 0, &tag));
		AE_REQUIRE(tag == 5000 + i);
	}
	ae_engine_get_stats(e.eng, &s0);
	for (int i = 0; i < 4; i++)
		AE_CHECK(child_tag(e.eng, p, i, FB, (uint32_t) i, 5000 + (uint64_t) i));
	ae_engine_get_stats(e.eng, &s1);
	AE_CHECK(s1.swizzle_stale - s0.swizzle_stale == 4);
	AE_CHECK(s1.reads - s0.reads == 4 && s1.swizzle_hits == s0.swizzle_hits);

	/* the slot's child changed: the hint (a frame holding FB/0) is not followed */
	ae_engine_get_stats(e.eng, &s0);
	AE_CHECK(child_tag(e.eng, p, 0, FB, 1, 5001));
	AE_CHECK(child_tag(e.eng, p, 0, FB, 1, 5001));
	ae_engine_get_stats(e.eng, &s1);
	AE_CHECK(s1.swizzle_stale - s0.swizzle_stale == 1 && s1.swizzle_hits - s0.swizzle_hits == 1);
	AE_CHECK(child_tag(e.eng, p, 0, FB, 0, 5000));

	/* unswizzle slots 2.. under the exclusive latch */
	ae_buf_unlatch(p);
	ae_buf_latch(p, AE_LATCH_EXCLUSIVE);
	ae_buf_unswizzle(e.eng, p, 2);
	ae_engine_get_stats(e.eng, &s0);
	for (int i = 0; i < 4; i++)
		AE_CHECK(child_tag(e.eng, p, i, FB, (uint32_t) i, 5000 + (uint64_t) i));
	ae_engine_get_stats(e.eng, &s1);
	AE_CHECK(s1.swizzle_hits - s0.swizzle_hits == 2 && s1.swizzle_misses - s0.swizzle_misses == 2);
	ae_buf_release(p);

	/* a process-local hint */
	AE_OKAY(ae_buf_read_hint(e.eng, FB, 3, AE_LATCH_SHARED, 0, &hint, &b));
	ae_buf_release(b);
	AE_CHECK(hint != AE_BUF_NO_HINT);
	ae_engine_get_stats(e.eng, &s0);
	AE_OKAY(ae_buf_read_hint(e.eng, FB, 3, AE_LATCH_SHARED, 0, &hint, &b));
	ae_buf_release(b);
	AE_OKAY(ae_buf_read_hint(e.eng, FB, 4, AE_LATCH_SHARED, 0, &hint, &b));	/* wrong frame */
	AE_CHECK(ae_buf_block(b) == 4);
	ae_buf_release(b);
	ae_engine_get_stats(e.eng, &s1);
	AE_CHECK(s1.swizzle_hits - s0.swizzle_hits == 1 && s1.swizzle_stale - s0.swizzle_stale == 1);
	AE_CHECK(ae_buf_held_latches() == 0);
	ae_env_close(&e);
}

static void
test_multiprocess(void)
{
	run_multiprocess(MP_PAGES);
}

static void
test_multiprocess_one_page(void)
{
	run_multiprocess(1);
}

int
main(void)
{
	AE_RUN(test_roundtrip_eviction);
	AE_RUN(test_pool_full);
	AE_RUN(test_missing_and_drop);
	AE_RUN(test_scan_ring);
	AE_RUN(test_corrupt_read);
	AE_RUN(test_swizzle);
	AE_RUN(test_multiprocess);
	AE_RUN(test_multiprocess_one_page);
	return ae_test_summary();
}
