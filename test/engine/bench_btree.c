/*
 * bench_btree.c — B+tree insert/get micro-benchmark (not part of `make check`).
 *
 *   make -C test/engine bench              # N = 1,000,000
 *   make -C test/engine bench BENCH_N=200000
 *   build/bench_btree [N [phases]]         # phases: letters of "sbgr" (default all)
 *
 * One engine over the POSIX host in a temporary directory, a 16384-frame
 * pool (128 MiB) and a 64 MiB log buffer. Each phase prints ns per operation,
 * wall clock and CPU time of the process (user + system: log writes
 * included), and log bytes per operation:
 *   seq insert    N keys 0..N-1 as 8-byte big-endian row ids, ~60-byte values
 *                 (the Aether table's INSERT ... SELECT pattern: right-edge appends)
 *   get random    N point gets of random present keys in the seq tree
 *                 (the tree fits in the pool; this pass also swizzles it)
 *   get again     the same N gets once more (every hint in place)
 *   get 2 procs   N gets split over two forked processes (wall clock; the
 *                 cpu column is the parent's only, so not meaningful)
 *                 Where the engine has swizzling, each get phase also prints
 *                 swizzled reads and page-table lookups per get.
 *   seq batch     the same keys as seq insert through ae_btree_insert_batch,
 *                 64 per call (the COPY / multi_insert pattern)
 *   rand insert   N keys in a scrambled order into a fresh tree
 * Each insert phase uses its own file; the previous file's pages are dropped
 * from the pool first (not timed) so every phase starts with the same pool.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aether/btree.h"
#include "aether/buf.h"
#include "aether/wal.h"
#include "ae_env.h"

#define VLEN	60
#define BATCH	64

static double cpu0;
static uint64_t wal0;
static ae_engine *bench_eng;

static double
clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* wall clock; also notes the process CPU time for report() */
static double
now_ns(void)
{
	ae_engine_stats es;

	ae_engine_get_stats(bench_eng, &es);
	wal0 = es.wal_bytes;
	cpu0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	return clock_ns(CLOCK_MONOTONIC);
}

static void
make_val(char *v, uint64_t i)
{
	memset(v, 'v', VLEN);
	memcpy(v, &i, 8);
}

static int
die(const char *what, ae_status st)
{
	fprintf(stderr, "bench_btree: %s: %s: %s\n", what, ae_status_name(st),
			ae_error_last()->message);
	return 1;
}

/* keys 0..n-1 in a scrambled order: i * odd mod 2^k, skipping >= n */
static uint64_t
scramble(uint64_t i, uint64_t mask)
{
	return (i * 0x9E3779B97F4A7C15ull) & mask;
}

/* t0 from now_ns() at the start of the phase; cpu = user + system time of this process */
static void
report(const char *name, uint64_t n, double t0)
{
	double		cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0,
				t1 = clock_ns(CLOCK_MONOTONIC);
	ae_engine_stats es;

	ae_engine_get_stats(bench_eng, &es);
	printf("%-12s %9llu ops %8.1f ns/op wall %8.1f ns/op cpu %6.1f log bytes/op\n", name,
		   (unsigned long long) n, (t1 - t0) / n, cpu / n, (double) (es.wal_bytes - wal0) / n);
	fflush(stdout);
}

/* counters noted by get_stats_begin, printed by get_stats_end */
static ae_engine_stats gs0;

static void
get_stats_begin(void)
{
	ae_engine_get_stats(bench_eng, &gs0);
}

static void
get_stats_end(uint64_t n)
{
	ae_engine_stats s;

	ae_engine_get_stats(bench_eng, &s);
#ifdef AE_BUF_NO_HINT
	printf("             per get: %.2f swizzled reads, %.2f page-table lookups, %.4f stale hints\n",
		   (double) (s.swizzle_hits - gs0.swizzle_hits) / n,
		   (double) (s.hits - gs0.hits + s.reads - gs0.reads) / n,
		   (double) (s.swizzle_stale - gs0.swizzle_stale) / n);
#else
	printf("             per get: %.2f page-table lookups\n",
		   (double) (s.hits - gs0.hits + s.reads - gs0.reads) / n);
#endif
}

/* gets of keys i with i % step == first (scrambled order); 0 or a failing status */
static ae_status
get_pass(ae_btree *t, uint64_t n, uint64_t mask, uint64_t first, uint64_t step, ae_bytes *out)
{
	for (uint64_t i = 0, done = 0; done < n; i++)
	{
		uint64_t	j = scramble(i, mask),
					k = __builtin_bswap64(j);
		ae_status	st;

		if (j >= n)
			continue;
		done++;
		if (done % step != first)
			continue;
		if ((st = ae_btree_get(t, &k, 8, out)) != AE_OK || out->len != VLEN)
			return st == AE_OK ? AE_CORRUPT : st;
	}
	return AE_OK;
}

static int
check_count(ae_btree *t, uint64_t n)
{
	uint64_t	nkeys = 0;
	ae_status	st = ae_btree_verify(t, &nkeys);

	if (st != AE_OK)
		return die("verify", st);
	if (nkeys != n)
	{
		fprintf(stderr, "bench_btree: %llu keys, expected %llu\n",
				(unsigned long long) nkeys, (unsigned long long) n);
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	uint64_t	n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	const char *phases = argc > 2 ? argv[2] : "sbgr";	/* s seq, b batch, g get, r rand */
	ae_env		e;
	ae_btree	t;
	ae_file_id	f1 = {1, 1, 1},
				f2 = {1, 1, 2},
				f3 = {1, 1, 3};
	char		v[VLEN];
	ae_bytes	out = {0};
	uint64_t	mask = 1;
	double		t0;
	ae_status	st;
	int			rc = 0;

	while (mask < n)
		mask <<= 1;
	mask--;
	if ((st = ae_env_open(&e, 16384, 64u << 20, 32)) != AE_OK)
		return die("engine", st);
	bench_eng = e.eng;
	ae_btree_register_redo();
	printf("bench_btree: N = %llu, pool 16384 frames, %d-byte values\n", (unsigned long long) n, VLEN);

	/* sequential single inserts (also the tree of the get phase) */
	if ((st = ae_btree_create(e.eng, f1)) != AE_OK)
		return die("create", st);
	ae_btree_open(&t, e.eng, f1, NULL);
	t0 = now_ns();
	for (uint64_t i = 0; i < n; i++)
	{
		uint64_t	k = __builtin_bswap64(i);

		make_val(v, i);
		if ((st = ae_btree_insert(&t, &k, 8, v, VLEN)) != AE_OK)
			return die("seq insert", st);
	}
	if (strchr(phases, 's'))
		report("seq insert", n, t0);
	if ((rc = check_count(&t, n)) != 0)
		goto done;

	/* random point gets on the sequential tree */
	if (strchr(phases, 'g'))
	{
		get_stats_begin();
		t0 = now_ns();
		if ((st = get_pass(&t, n, mask, 0, 1, &out)) != AE_OK)
			return die("get", st);
		report("get random", n, t0);
		get_stats_end(n);
		get_stats_begin();
		t0 = now_ns();
		if ((st = get_pass(&t, n, mask, 0, 1, &out)) != AE_OK)
			return die("get", st);
		report("get again", n, t0);
		get_stats_end(n);
		get_stats_begin();
		t0 = now_ns();
		fflush(NULL);
		for (int p = 0; p < 2; p++)
		{
			pid_t		pid = fork();

			if (pid < 0)
				return die("fork", AE_INTERNAL);
			if (pid == 0)
				_exit(get_pass(&t, n, mask, (uint64_t) p, 2, &out) == AE_OK ? 0 : 1);
		}
		for (int p = 0; p < 2; p++)
		{
			int			status;

			if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
				return die("get in a child", AE_INTERNAL);
		}
		report("get 2 procs", n, t0);
		get_stats_end(n);
	}
	ae_buf_drop_file(e.eng, f1);

	/* sequential batches */
	if (!strchr(phases, 'b'))
		goto rand;
	if ((st = ae_btree_create(e.eng, f2)) != AE_OK)
		return die("create", st);
	{
		static uint64_t keys[BATCH];
		static char vals[BATCH][VLEN];
		const void *kp[BATCH],
				   *vp[BATCH];
		size_t		kl[BATCH],
					vl[BATCH];
		ae_btree	t2;

		ae_btree_open(&t2, e.eng, f2, NULL);
		for (int j = 0; j < BATCH; j++)
		{
			kp[j] = &keys[j];
			vp[j] = vals[j];
			kl[j] = 8;
			vl[j] = VLEN;
		}
		t0 = now_ns();
		for (uint64_t i = 0; i < n; i += BATCH)
		{
			int			m = (int) (n - i < BATCH ? n - i : BATCH);
			int			done = 0;

			for (int j = 0; j < m; j++)
			{
				keys[j] = __builtin_bswap64(i + j);
				make_val(vals[j], i + j);
			}
			if ((st = ae_btree_insert_batch(&t2, m, kp, kl, vp, vl, &done)) != AE_OK || done != m)
				return die("batch insert", st);
		}
		report("seq batch", n, t0);
		if ((rc = check_count(&t2, n)) != 0)
			goto done;
	}
	ae_buf_drop_file(e.eng, f2);

rand:
	/* random-order inserts */
	if (!strchr(phases, 'r'))
		goto done;
	if ((st = ae_btree_create(e.eng, f3)) != AE_OK)
		return die("create", st);
	ae_btree_open(&t, e.eng, f3, NULL);
	t0 = now_ns();
	for (uint64_t i = 0, done = 0; done < n; i++)
	{
		uint64_t	j = scramble(i, mask),
					k = __builtin_bswap64(j);

		if (j >= n)
			continue;
		make_val(v, j);
		if ((st = ae_btree_insert(&t, &k, 8, v, VLEN)) != AE_OK)
			return die("rand insert", st);
		done++;
	}
	report("rand insert", n, t0);
	rc = check_count(&t, n);
done:
	ae_bytes_free(&out);
	ae_env_close(&e);
	return rc;
}
