/*
 * bench_wal.c — log insertion throughput from several processes (not part
 * of `make check`; not a timed assertion).
 *
 *   make -C test/engine bench-wal
 *   build/bench_wal [records_per_process [payload_bytes ...]]
 *
 * For P = 1, 2, 4 processes (forked, sharing one engine region as
 * PostgreSQL backends do) and each payload size (default 64 and 1024
 * bytes), every process inserts the same number of one-record groups with
 * ae_wal_insert (CRC of the record's bytes computed once, continued over
 * its LSN by each insertion; the copy into the ring is what is
 * measured, with the reservation and the ring-full writes to the POSIX
 * writes). Then the same with a commit flush (ae_wal_flush of the group's
 * end) after every 32nd group. Each on two log devices: "null" (log_write
 * and log_sync return at once: the engine's own cost, what parallel copying
 * changes) and "posix" (files in a temporary directory, fdatasync: the disk
 * dominates; its flush runs use a tenth of the records). Prints records/s
 * over all processes, from the moment every process is ready until the last
 * one finishes: the median of 3 runs.
 */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aether/wal.h"
#include "ae_env.h"
#include "../../engine/wal/wal_internal.h"

typedef struct shared
{
	_Atomic int ready;
	_Atomic int go;
} shared;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static ae_status
null_log_write(void *ctx, uint64_t offset, const void *buf, size_t len)
{
	return AE_OK;
}

static ae_status
null_log_sync(void *ctx)
{
	return AE_OK;
}

static int
child(ae_engine *eng, shared *sh, uint64_t n, size_t payload, int flush_every)
{
	size_t		len = ae_wal_align(sizeof(ae_log_record) + payload);
	char	   *rec = calloc(1, len);
	ae_log_record *r = (ae_log_record *) rec;
	ae_lsn		start,
				end;
	uint32_t	body_crc;

	r->total_len = (uint32_t) len;
	r->rmgr = AE_RMGR_MAX - 1;
	r->type = 1;
	r->flags = AE_REC_MTR_END;
	r->block = AE_NO_BLOCK;
	r->payload_len = (uint32_t) payload;
	memset(rec + sizeof(*r), 'x', payload);
	body_crc = ae_crc32c(0, rec + 8, len - 8);
	atomic_fetch_add(&sh->ready, 1);
	while (!atomic_load(&sh->go))
		;
	for (uint64_t i = 0; i < n; i++)
	{
		r->crc = body_crc;		/* ae_wal_insert binds it to the record's LSN, in place */
		if (ae_wal_insert(eng, rec, len, 1, AE_WAL_ANY_REDO, &start, &end) != AE_OK)
			return 1;
		if (flush_every && i % flush_every == 0 && ae_wal_flush(eng, end) != AE_OK)
			return 1;
	}
	free(rec);
	return 0;
}

/* One run; returns records/s, or -1 on failure. */
static double
run1(int procs, uint64_t n, size_t payload, int flush_every, bool null_dev)
{
	ae_env		e;
	shared	   *sh = mmap(NULL, sizeof(shared), PROT_READ | PROT_WRITE,
						  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double		t0,
				t1;
	ae_status	st;
	bool		ok;

	if (sh == MAP_FAILED || (st = ae_env_open(&e, 16, 16u << 20, 0)) != AE_OK)
		return -1;
	memset(sh, 0, sizeof(*sh));
	if (null_dev)
	{
		e.eng->host.log_write = null_log_write;
		e.eng->host.log_sync = null_log_sync;
	}
	for (int k = 0; k < procs; k++)
	{
		pid_t		pid = fork();

		if (pid < 0)
			return -1;
		if (pid == 0)
			_exit(child(e.eng, sh, n, payload, flush_every));
	}
	while (atomic_load(&sh->ready) < procs)
		;
	t0 = now_s();
	atomic_store(&sh->go, 1);
	ok = ae_env_wait_children(procs);
	t1 = now_s();
	ae_env_close(&e);
	munmap(sh, sizeof(*sh));
	return ok ? procs * n / (t1 - t0) : -1;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

static int
run(int procs, uint64_t n, size_t payload, int flush_every, bool null_dev)
{
	double		r[3];

	if (!null_dev && flush_every)
		n /= 10;
	for (int i = 0; i < 3; i++)
		if ((r[i] = run1(procs, n, payload, flush_every, null_dev)) < 0)
		{
			printf("run failed\n");
			return 1;
		}
	qsort(r, 3, sizeof(r[0]), cmp_double);
	printf("%-5s %d proc  %5zu-byte payload  %-11s %10.0f records/s  %7.1f MB/s\n",
		   null_dev ? "null" : "posix", procs, payload, flush_every ? "flush/32" : "insert only",
		   r[1], r[1] * ae_wal_align(sizeof(ae_log_record) + payload) / 1e6);
	fflush(stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	uint64_t	n = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000;
	size_t		sizes[8] = {64, 1024};
	int			nsizes = 2,
				rc = 0;

	if (argc > 2)
		for (nsizes = 0; nsizes < 8 && nsizes + 2 < argc; nsizes++)
			sizes[nsizes] = strtoul(argv[nsizes + 2], NULL, 10);
	printf("bench_wal: %llu records per process, 16 MiB log buffer\n", (unsigned long long) n);
	for (int d = 0; d < 2; d++)
		for (int f = 0; f < 2; f++)
			for (int s = 0; s < nsizes; s++)
				for (int p = 1; p <= 4; p *= 2)
					rc |= run(p, n, sizes[s], f ? 32 : 0, d == 0);
	return rc;
}
