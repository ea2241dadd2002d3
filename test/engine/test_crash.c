/*
 * test_crash.c — crash recovery of the B+tree under a fault-injecting host.
 *
 * Fault model. The engine runs on a host (fault_host) that wraps the POSIX
 * host and keeps durability honest, like an OS page cache over a disk:
 *  - write_block puts the page in an in-memory overlay (the latest bytes per
 *    file and block); only sync_file(f) / sync_written() write overlay pages
 *    to the POSIX files. read_block and nblocks see the overlay first.
 *  - log_write appends to an in-memory log overlay; only log_sync writes it
 *    to the POSIX log. log_read and log_size see it.
 *  - control_write and log_discard are atomic and durable at once.
 *  - A crash (power failure) drops both overlays, after first letting a
 *    random subset of the unsynced page writes reach the files, some of them
 *    torn (only the first 4096 bytes of the page written), and a random
 *    prefix of the unsynced log bytes (a torn log tail). The engine side of
 *    a crash is losing the pool (ae_buf_discard_all) or, in the randomized
 *    test, the whole process (a new one re-creates the shared region).
 *  - Faults: the Nth call of one callback fails once with a chosen status
 *    (AE_IO_ERROR, AE_DISK_FULL), or a power cut makes the Nth mutating call
 *    (of any kind, or of one kind) and every one after it fail with
 *    AE_IO_ERROR and no effect, so that a crash can strike in the middle of
 *    an operation, a commit, a checkpoint or a recovery. host->fatal ends the
 *    process in the randomized test and aborts elsewhere.
 *
 * Expectation after a crash: the tree verifies and holds exactly the model's
 * state after some prefix of the operations, at least every operation whose
 * commit (a log flush, or a checkpoint) was acknowledged, and at most the
 * operations started before the crash (later ones may have been made
 * durable by eviction's write-ahead flushes).
 *
 * Tests: the fault host itself; I/O errors reported, not swallowed (log
 * write and sync, each step of a checkpoint, eviction writes, reads during
 * recovery and during a lookup) with nothing committed lost afterwards; a
 * torn log tail cut off by recovery; a crash between the tree's creation and
 * the first checkpoint; recovery interrupted at each of its writes in turn;
 * and randomized crash points (at least 1000).
 *
 * Scratch directories go to /dev/shm when it exists (the POSIX host's
 * fsyncs are then free), else /tmp. CRASH_SEEDS=n runs seeds 1..n of the
 * randomized test (default 64); CRASH_SEED=s runs only seed s (to reproduce
 * a failure).
 */
#define _GNU_SOURCE
#include <assert.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aether/btree.h"
#include "aether/buf.h"
#include "aether/checkpoint.h"
#include "aether/posix_host.h"
#include "aether/wal.h"
#include "ae_env.h"
#include "ae_test.h"

/* ------------------------------------------------------------------ random */

static uint64_t rng_state;

static void
rng_seed(uint64_t seed)
{
	rng_state = seed * 0x9E3779B97F4A7C15ull + 0x1234567ull;
	if (rng_state == 0)
		rng_state = 1;
}

static uint32_t
rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t) (rng_state % n);
}

/* ------------------------------------------------------ fault host: calls */

typedef enum host_call
{
	CALL_READ_BLOCK,
	CALL_WRITE_BLOCK,
	CALL_NBLOCKS,
	CALL_SYNC_FILE,
	CALL_LOG_WRITE,
	CALL_LOG_READ,
	CALL_LOG_SYNC,
	CALL_CONTROL_READ,
	CALL_CONTROL_WRITE,
	CALL_SYNC_WRITTEN,
	CALL_LOG_DISCARD,
	CALL_COUNT,
	CALL_NONE = -1
} host_call;

static const char *const call_names[CALL_COUNT] = {
	"read_block", "write_block", "nblocks", "sync_file", "log_write", "log_read",
	"log_sync", "control_read", "control_write", "sync_written", "log_discard",
};

/* Calls that change what is (or will be) on disk: a power cut stops them. */
static bool
call_mutates(host_call c)
{
	return c == CALL_WRITE_BLOCK || c == CALL_SYNC_FILE || c == CALL_LOG_WRITE ||
		c == CALL_LOG_SYNC || c == CALL_CONTROL_WRITE || c == CALL_SYNC_WRITTEN ||
		c == CALL_LOG_DISCARD;
}

/* ---------------------------------------------- fault host: block overlay */

typedef struct overlay_slot
{
	bool		used;
	ae_file_id	file;
	uint32_t	blk;
	char	   *page;			/* AE_PAGE_SIZE bytes, malloc'd */
} overlay_slot;

/* Unsynced page writes: open addressing over (file, block). */
typedef struct block_overlay
{
	overlay_slot *slots;
	size_t		cap;			/* power of two (0: empty) */
	size_t		n;
} block_overlay;

static size_t
overlay_hash(ae_file_id f, uint32_t blk)
{
	uint64_t	h = ((uint64_t) f.spc * 0x9E3779B1u) ^ ((uint64_t) f.db * 0x85EBCA77u) ^
		((uint64_t) f.rel * 0xC2B2AE3Du) ^ ((uint64_t) blk * 0x27D4EB2Fu);

	return (size_t) (h ^ (h >> 29));
}

static overlay_slot *
overlay_slot_for(block_overlay *o, ae_file_id f, uint32_t blk)
{
	size_t		i = overlay_hash(f, blk) & (o->cap - 1);

	while (o->slots[i].used && !(o->slots[i].blk == blk && ae_file_id_equal(o->slots[i].file, f)))
		i = (i + 1) & (o->cap - 1);
	return &o->slots[i];
}

static const char *
overlay_find(block_overlay *o, ae_file_id f, uint32_t blk)
{
	overlay_slot *s;

	if (o->n == 0)
		return NULL;
	s = overlay_slot_for(o, f, blk);
	return s->used ? s->page : NULL;
}

static void
overlay_grow(block_overlay *o)
{
	block_overlay bigger = {.cap = o->cap ? o->cap * 2 : 256};

	bigger.slots = calloc(bigger.cap, sizeof(overlay_slot));
	if (!bigger.slots)
		abort();
	for (size_t i = 0; i < o->cap; i++)
		if (o->slots[i].used)
		{
			*overlay_slot_for(&bigger, o->slots[i].file, o->slots[i].blk) = o->slots[i];
			bigger.n++;
		}
	free(o->slots);
	*o = bigger;
}

static void
overlay_put(block_overlay *o, ae_file_id f, uint32_t blk, const void *page)
{
	overlay_slot *s;

	if (2 * (o->n + 1) > o->cap)
		overlay_grow(o);
	s = overlay_slot_for(o, f, blk);
	if (!s->used)
	{
		*s = (overlay_slot) {.used = true, .file = f, .blk = blk, .page = malloc(AE_PAGE_SIZE)};
		if (!s->page)
			abort();
		o->n++;
	}
	memcpy(s->page, page, AE_PAGE_SIZE);
}

/* Blocks the overlay implies for file f (one past its highest block). */
static uint32_t
overlay_nblocks(block_overlay *o, ae_file_id f)
{
	uint32_t	n = 0;

	for (size_t i = 0; i < o->cap; i++)
		if (o->slots[i].used && ae_file_id_equal(o->slots[i].file, f) && o->slots[i].blk >= n)
			n = o->slots[i].blk + 1;
	return n;
}

/* Forget the pages of file *f (every page when f is NULL). */
static void
overlay_drop(block_overlay *o, const ae_file_id *f)
{
	block_overlay kept = {0};

	for (size_t i = 0; i < o->cap; i++)
	{
		overlay_slot *s = &o->slots[i];

		if (!s->used)
			continue;
		if (!f || ae_file_id_equal(s->file, *f))
			free(s->page);
		else
		{
			if (2 * (kept.n + 1) > kept.cap)
				overlay_grow(&kept);
			*overlay_slot_for(&kept, s->file, s->blk) = *s;
			kept.n++;
		}
	}
	free(o->slots);
	*o = kept;
}

/* ------------------------------------------------ fault host: log overlay */

/* Unsynced log bytes [start, start + len): the engine writes the log in order. */
typedef struct log_overlay
{
	uint64_t	start;
	char	   *bytes;
	size_t		len;
	size_t		cap;
} log_overlay;

static ae_status
log_overlay_put(log_overlay *l, uint64_t offset, const void *buf, size_t len)
{
	size_t		at;

	if (l->len == 0)
		l->start = offset;
	if (offset < l->start || offset > l->start + l->len)
		return ae_fail(AE_INTERNAL, (ae_file_id) {0}, AE_NO_BLOCK,
					   "fault host: log write at %llu is not contiguous with unsynced [%llu, %llu)",
					   (unsigned long long) offset, (unsigned long long) l->start,
					   (unsigned long long) (l->start + l->len));
	at = (size_t) (offset - l->start);
	if (at + len > l->cap)
	{
		size_t		cap = l->cap ? l->cap : 65536;

		while (cap < at + len)
			cap *= 2;
		if (!(l->bytes = realloc(l->bytes, cap)))
			abort();
		l->cap = cap;
	}
	memcpy(l->bytes + at, buf, len);
	if (at + len > l->len)
		l->len = at + len;
	return AE_OK;
}

/* Overlay the unsynced bytes on a read of [offset, offset + len) that found *got durable bytes. */
static void
log_overlay_read(const log_overlay *l, uint64_t offset, void *buf, size_t len, size_t *got)
{
	uint64_t	lo = offset > l->start ? offset : l->start;
	uint64_t	hi = offset + len < l->start + l->len ? offset + len : l->start + l->len;

	if (l->len == 0 || lo >= hi || l->start > offset + *got)
		return;
	memcpy((char *) buf + (lo - offset), l->bytes + (lo - l->start), hi - lo);
	if (hi - offset > *got)
		*got = (size_t) (hi - offset);
}

/* ------------------------------------------------- fault host: the table */

typedef struct crash_stats
{
	uint64_t	crashes;
	uint64_t	pages_lost;		/* unsynced page writes dropped */
	uint64_t	pages_kept;		/* unsynced page writes that reached the file whole */
	uint64_t	pages_torn;		/* ... or only their first half */
	uint64_t	log_tails_torn; /* crashes that kept part of the unsynced log */
} crash_stats;

typedef struct fault_host
{
	ae_host		inner;			/* the POSIX host */
	ae_host		outer;			/* what the engine is given; ctx is this struct */
	block_overlay blocks;
	log_overlay log;
	/* one-shot fault: the fault_in-th call of fault_call from now fails */
	host_call	fault_call;
	uint64_t	fault_in;
	ae_status	fault_status;
	bool		fault_fired;
	/*
	 * power cut: the cut_in-th call of cut_call (or of any mutating call)
	 * from now, and every mutating call after it, fail
	 */
	uint64_t	cut_in;			/* 0: not armed */
	host_call	cut_call;		/* CALL_NONE: count every mutating call */
	bool		power_cut;
	/* host->fatal (must not return); NULL: print and abort */
	void		(*on_fatal) (struct fault_host *h, const char *msg);
	crash_stats *stats;			/* where crashes are counted: own_stats unless redirected */
	crash_stats own_stats;
} fault_host;

/* Does an injected fault make this call fail? */
static ae_status
fault_check(fault_host *h, host_call c, ae_file_id f, uint32_t blk)
{
	if (call_mutates(c) && (h->power_cut ||
							(h->cut_in && (h->cut_call == CALL_NONE || h->cut_call == c) &&
							 --h->cut_in == 0)))
	{
		h->power_cut = true;
		return ae_fail(AE_IO_ERROR, f, blk, "injected power cut: %s fails", call_names[c]);
	}
	if (h->fault_call == c && --h->fault_in == 0)
	{
		h->fault_call = CALL_NONE;
		h->fault_fired = true;
		return ae_fail(h->fault_status, f, blk, "injected %s in %s",
					   ae_status_name(h->fault_status), call_names[c]);
	}
	return AE_OK;
}

/* Make the nth call of c from now fail once with st. */
static void
fault_arm(fault_host *h, host_call c, uint64_t nth, ae_status st)
{
	h->fault_call = c;
	h->fault_in = nth;
	h->fault_status = st;
	h->fault_fired = false;
}

/* Cut the power at the nth call of c (CALL_NONE: of any mutating call) from now. */
static void
fault_power_cut_at(fault_host *h, host_call c, uint64_t nth)
{
	h->cut_in = nth;
	h->cut_call = c;
	h->power_cut = false;
}

static void
fault_power_cut_after(fault_host *h, uint64_t nth)
{
	fault_power_cut_at(h, CALL_NONE, nth);
}

static void
fault_disarm(fault_host *h)
{
	h->fault_call = CALL_NONE;
	h->fault_fired = false;
	h->cut_in = 0;
	h->cut_call = CALL_NONE;
	h->power_cut = false;
}

static ae_status
fh_read_block(void *ctx, ae_file_id f, uint32_t blk, void *page)
{
	fault_host *h = ctx;
	const char *cached;
	ae_status	st = fault_check(h, CALL_READ_BLOCK, f, blk);

	if (st != AE_OK)
		return st;
	if ((cached = overlay_find(&h->blocks, f, blk)) != NULL)
	{
		memcpy(page, cached, AE_PAGE_SIZE);
		return AE_OK;
	}
	st = h->inner.read_block(h->inner.ctx, f, blk, page);
	if (st == AE_NOT_FOUND && blk < overlay_nblocks(&h->blocks, f))
	{
		/* a gap left by an unsynced extension reads as zeros (host.h rule 2) */
		memset(page, 0, AE_PAGE_SIZE);
		return AE_OK;
	}
	return st;
}

static ae_status
fh_write_block(void *ctx, ae_file_id f, uint32_t blk, const void *page)
{
	fault_host *h = ctx;
	ae_status	st = fault_check(h, CALL_WRITE_BLOCK, f, blk);

	if (st == AE_OK)
		overlay_put(&h->blocks, f, blk, page);
	return st;
}

static ae_status
fh_nblocks(void *ctx, ae_file_id f, uint32_t *nblocks)
{
	fault_host *h = ctx;
	uint32_t	pending;
	ae_status	st = fault_check(h, CALL_NBLOCKS, f, AE_NO_BLOCK);

	if (st == AE_OK)
		st = h->inner.nblocks(h->inner.ctx, f, nblocks);
	if (st == AE_OK && (pending = overlay_nblocks(&h->blocks, f)) > *nblocks)
		*nblocks = pending;
	return st;
}

/* Write the overlay pages of file *f (all files when NULL) to the POSIX files and forget them. */
static ae_status
write_back(fault_host *h, const ae_file_id *f)
{
	for (size_t i = 0; i < h->blocks.cap; i++)
	{
		overlay_slot *s = &h->blocks.slots[i];
		ae_status	st;

		if (s->used && (!f || ae_file_id_equal(s->file, *f)) &&
			(st = h->inner.write_block(h->inner.ctx, s->file, s->blk, s->page)) != AE_OK)
			return st;
	}
	overlay_drop(&h->blocks, f);
	return AE_OK;
}

static ae_status
fh_sync_file(void *ctx, ae_file_id f)
{
	fault_host *h = ctx;
	ae_status	st = fault_check(h, CALL_SYNC_FILE, f, AE_NO_BLOCK);

	if (st == AE_OK)
		st = write_back(h, &f);
	if (st == AE_OK)
		st = h->inner.sync_file(h->inner.ctx, f);
	return st;
}

static ae_status
fh_sync_written(void *ctx)
{
	fault_host *h = ctx;
	ae_status	st = fault_check(h, CALL_SYNC_WRITTEN, (ae_file_id) {0}, AE_NO_BLOCK);

	if (st == AE_OK)
		st = write_back(h, NULL);
	if (st == AE_OK)
		st = h->inner.sync_written(h->inner.ctx);
	return st;
}

static ae_status
fh_log_write(void *ctx, uint64_t offset, const void *buf, size_t len)
{
	fault_host *h = ctx;
	ae_status	st = fault_check(h, CALL_LOG_WRITE, (ae_file_id) {0}, AE_NO_BLOCK);

	if (st == AE_OK)
		st = log_overlay_put(&h->log, offset, buf, len);
	return st;
}

static ae_status
fh_log_read(void *ctx, uint64_t offset, void *buf, size_t len, size_t *got)
{
	fault_host *h = ctx;
	ae_status	st = fault_check(h, CALL_LOG_READ, (ae_file_id) {0}, AE_NO_BLOCK);

	*got = 0;
	if (st == AE_OK)
		st = h->inner.log_read(h->inner.ctx, offset, buf, len, got);
	if (st == AE_OK)
		log_overlay_read(&h->log, offset, buf, len, got);
	return st;
}

static ae_status
fh_log_sync(void *ctx)
{
	fault_host *h = ctx;
	ae_status	st = fault_check(h, CALL_LOG_SYNC, (ae_file_id) {0}, AE_NO_BLOCK);

	if (st == AE_OK && h->log.len > 0)
		st = h->inner.log_write(h->inner.ctx, h->log.start, h->log.bytes, h->log.len);
	if (st == AE_OK)
		st = h->inner.log_sync(h->inner.ctx);
	if (st == AE_OK)
		h->log.len = 0;
	return st;
}

static ae_status
fh_control_read(void *ctx, void *buf, size_t len, size_t *got)
{
	fault_host *h = ctx;
	ae_status	st = fault_check(h, CALL_CONTROL_READ, (ae_file_id) {0}, AE_NO_BLOCK);

	return st != AE_OK ? st : h->inner.control_read(h->inner.ctx, buf, len, got);
}

static ae_status
fh_control_write(void *ctx, const void *buf, size_t len)
{
	fault_host *h = ctx;
	ae_status	st = fault_check(h, CALL_CONTROL_WRITE, (ae_file_id) {0}, AE_NO_BLOCK);

	return st != AE_OK ? st : h->inner.control_write(h->inner.ctx, buf, len);
}

static ae_status
fh_log_discard(void *ctx, uint64_t keep_from, uint64_t end)
{
	fault_host *h = ctx;
	ae_status	st = fault_check(h, CALL_LOG_DISCARD, (ae_file_id) {0}, AE_NO_BLOCK);

	if (st != AE_OK)
		return st;
	if (end && h->log.len)
		h->log.len = h->log.start >= end ? 0 :
			(size_t) (h->log.start + h->log.len < end ? h->log.len : end - h->log.start);
	return h->inner.log_discard(h->inner.ctx, keep_from, end);
}

static ae_status
fh_log_size(void *ctx, uint64_t *end)
{
	fault_host *h = ctx;
	ae_status	st = h->inner.log_size(h->inner.ctx, end);

	if (st == AE_OK && h->log.len && h->log.start + h->log.len > *end)
		*end = h->log.start + h->log.len;
	return st;
}

static void
fh_message(void *ctx, int level, const char *msg)
{
	fault_host *h = ctx;

	if (!h->power_cut && !h->fault_fired)	/* else: an expected warning about the fault */
		h->inner.message(h->inner.ctx, level, msg);
}

static void
fh_fatal(void *ctx, const char *msg)
{
	fault_host *h = ctx;

	if (h->on_fatal)
		h->on_fatal(h, msg);
	fprintf(stderr, "  fatal: %s\n", msg);
	abort();
}

static bool
fh_interrupted(void *ctx)
{
	fault_host *h = ctx;

	return h->inner.interrupted && h->inner.interrupted(h->inner.ctx);
}

static ae_status
fault_host_init(fault_host *h, const char *dir)
{
	ae_status	st;

	memset(h, 0, sizeof(*h));
	fault_disarm(h);
	h->stats = &h->own_stats;
	if ((st = ae_posix_host_init(&h->inner, dir)) != AE_OK)
		return st;
	h->outer = (ae_host) {
		.read_block = fh_read_block,
		.write_block = fh_write_block,
		.nblocks = fh_nblocks,
		.sync_file = fh_sync_file,
		.log_write = fh_log_write,
		.log_read = fh_log_read,
		.log_sync = fh_log_sync,
		.message = fh_message,
		.fatal = fh_fatal,
		.control_read = fh_control_read,
		.control_write = fh_control_write,
		.sync_written = fh_sync_written,
		.log_discard = fh_log_discard,
		.log_size = fh_log_size,
		.interrupted = fh_interrupted,
		.ctx = h,
	};
	return AE_OK;
}

static void
fault_host_close(fault_host *h)
{
	overlay_drop(&h->blocks, NULL);
	free(h->log.bytes);
	ae_posix_host_close(&h->inner);
}

/* ------------------------------------------------ fault host: power loss */

/* Let an unsynced page write reach the file, maybe torn (first half new, second half old). */
static void
persist_page(fault_host *h, const overlay_slot *s, bool torn)
{
	char		page[AE_PAGE_SIZE];

	if (torn)
	{
		if (h->inner.read_block(h->inner.ctx, s->file, s->blk, page) != AE_OK)
			memset(page, 0, sizeof(page));	/* beyond the end: the gap reads as zeros */
		memcpy(page, s->page, AE_PAGE_SIZE / 2);
	}
	else
		memcpy(page, s->page, AE_PAGE_SIZE);
	if (h->inner.write_block(h->inner.ctx, s->file, s->blk, page) != AE_OK)
		abort();
}

/* What a power failure lets reach the disk of the unsynced writes. */
typedef struct crash_plan
{
	int			keep_pct;		/* chance that an unsynced page write reaches its file */
	int			torn_pct;		/* chance that such a write is torn */
	size_t		log_keep;		/* how many unsynced log bytes survive (a prefix) */
} crash_plan;

static crash_plan
random_crash_plan(const fault_host *h)
{
	static const int keep_pct[] = {0, 20, 50, 80, 100};
	static const int torn_pct[] = {0, 10, 50, 100};
	crash_plan	p = {keep_pct[rnd(5)], torn_pct[rnd(4)], 0};
	uint32_t	log_choice = rnd(4);

	if (log_choice == 1)
		p.log_keep = h->log.len;
	else if (log_choice > 1)
		p.log_keep = rnd((uint32_t) h->log.len + 1);
	return p;
}

/*
 * Power failure: some unsynced page writes reach the files (some torn), a
 * prefix of the unsynced log survives, the rest is lost. Injected faults
 * are cleared.
 */
static void
fault_host_crash_as(fault_host *h, const crash_plan *p)
{
	size_t		log_keep = p->log_keep < h->log.len ? p->log_keep : h->log.len;

	for (size_t i = 0; i < h->blocks.cap; i++)
	{
		overlay_slot *s = &h->blocks.slots[i];
		bool		torn;

		if (!s->used)
			continue;
		if ((int) rnd(100) >= p->keep_pct)
		{
			h->stats->pages_lost++;
			continue;
		}
		torn = (int) rnd(100) < p->torn_pct;
		persist_page(h, s, torn);
		if (torn)
			h->stats->pages_torn++;
		else
			h->stats->pages_kept++;
	}
	if (log_keep > 0 &&
		h->inner.log_write(h->inner.ctx, h->log.start, h->log.bytes, log_keep) != AE_OK)
		abort();
	h->stats->log_tails_torn += log_keep > 0 && log_keep < h->log.len;
	overlay_drop(&h->blocks, NULL);
	h->log.len = 0;
	fault_disarm(h);
	h->stats->crashes++;
}

/* A power failure that keeps a random part of the unsynced writes. */
static void
fault_host_crash(fault_host *h)
{
	crash_plan	p = random_crash_plan(h);

	fault_host_crash_as(h, &p);
}

/* ----------------------------------------------------------------- fixture */

#define FILE_ID ((ae_file_id) {1, 2, 3})
#define WAL_BUFFER_BYTES (64 * 1024)

typedef struct cfx
{
	char		dir[64];
	fault_host	fh;
	void	   *mem;
	size_t		size;
	ae_engine  *eng;
	ae_btree	t;
} cfx;

/* An engine on the fault host over dir, in a fresh shared region: small pool and log buffer. */
static ae_status
cfx_start(cfx *x, const char *dir, uint32_t pool_pages)
{
	ae_engine_config cfg = {.pool_pages = pool_pages, .wal_buffer_bytes = WAL_BUFFER_BYTES,
	.scan_ring_pages = 8};
	ae_status	st;

	memset(x, 0, sizeof(*x));
	snprintf(x->dir, sizeof(x->dir), "%s", dir);
	if ((st = fault_host_init(&x->fh, x->dir)) != AE_OK)
		return st;
	if ((st = ae_env_map_engine(&cfg, &x->fh.outer, &x->mem, &x->size, &x->eng)) != AE_OK)
		return st;
	ae_btree_register_redo();
	ae_btree_open(&x->t, x->eng, FILE_ID, NULL);
	return AE_OK;
}

/*
 * Create the empty tree and make it durable in the log. It is flushed before
 * the first ae_recover: recovery resumes logging where the durable log ends,
 * so records logged but not flushed before it would be overwritten while the
 * pages they stamped keep their later LSNs (and redo would skip the new
 * records for those pages).
 */
static ae_status
create_tree(cfx *x)
{
	ae_status	st = ae_btree_create(x->eng, FILE_ID);

	return st != AE_OK ? st : ae_wal_flush(x->eng, ae_wal_insert_lsn(x->eng));
}

/* A new empty directory: in /dev/shm when there is one (fsync costs nothing there), else /tmp. */
static bool
make_scratch_dir(char *dir, size_t len)
{
	return ae_env_make_dir(dir, len, access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", "ae_crash_");
}

/* A new directory, engine and tree, and the first recovery (and checkpoint). */
static ae_status
cfx_open(cfx *x, uint32_t pool_pages)
{
	char		dir[64];
	ae_recovery_info ri;
	ae_status	st;

	if (!make_scratch_dir(dir, sizeof(dir)))
		return AE_IO_ERROR;
	if ((st = cfx_start(x, dir, pool_pages)) != AE_OK || (st = create_tree(x)) != AE_OK)
		return st;
	return ae_recover(x->eng, &ri);
}

static void
cfx_close(cfx *x)
{
	ae_env_unmap_engine(x->eng, x->mem, x->size);
	fault_host_close(&x->fh);
	ae_env_remove_dir(x->dir);
}

/* Power failure: the disk loses unsynced writes (partly), the pool is gone. */
static void
cfx_crash(cfx *x)
{
	fault_host_crash(&x->fh);
	ae_buf_discard_all(x->eng);
}

/* ------------------------------------------------------------ keys, values */

#define NKEYS		600
#define MAX_VALUE	(AE_BTREE_INLINE_MAX + 24000)
#define VALUE_HDR	8			/* u32 seed, u32 key index */

static size_t
make_key(char *k, uint32_t i)
{
	size_t		len = 6 + (i * 7) % 40;
	char		digits[8];

	snprintf(digits, sizeof(digits), "k%05u", i);
	memset(k, '.', len);
	memcpy(k, digits, 6);
	return len;
}

/* A value that names its seed and key, so that one read from the tree can be checked alone. */
static void
make_value(char *v, uint32_t key, uint32_t seed, uint32_t len)
{
	memcpy(v, &seed, 4);
	memcpy(v + 4, &key, 4);
	ae_env_fill(v + VALUE_HDR, seed ^ (key * 2654435761u), len - VALUE_HDR);
}

static bool
value_is_intact(const char *v, size_t len, uint32_t key, uint32_t *seed)
{
	static char expect[MAX_VALUE];
	uint32_t	k;

	if (len < VALUE_HDR || len > MAX_VALUE)
		return false;
	memcpy(seed, v, 4);
	memcpy(&k, v + 4, 4);
	if (k != key)
		return false;
	make_value(expect, key, *seed, (uint32_t) len);
	return memcmp(expect, v, len) == 0;
}

/* Mostly small values; some near and at the inline limit; some overflow chains. */
static uint32_t
random_value_len(void)
{
	uint32_t	r = rnd(100);

	if (r < 4)
		return AE_BTREE_INLINE_MAX + 1 + rnd(MAX_VALUE - AE_BTREE_INLINE_MAX);
	if (r < 6)
		return AE_BTREE_INLINE_MAX + rnd(2);
	if (r < 12)
		return 1000 + rnd(AE_BTREE_INLINE_MAX - 1000);
	return VALUE_HDR + rnd(300);
}

/* ------------------------------------------------------------------ model */

typedef struct kv
{
	bool		present;
	uint32_t	seed;
	uint32_t	len;
} kv;

static bool
kv_equal(kv a, kv b)
{
	return a.present == b.present && (!a.present || (a.seed == b.seed && a.len == b.len));
}

/* One change to one key (an insert, put or delete; a batch logs one per key). */
typedef struct change
{
	uint32_t	key;
	kv			before;
	kv			after;
} change;

#define MAX_HISTORY 8192

/*
 * The working model (state after every change in history) and the history
 * since the last recovery: changes [0, committed) were acknowledged durable.
 */
typedef struct model
{
	kv			keys[NKEYS];
	change		history[MAX_HISTORY];
	int			nhistory;
	int			committed;
} model;

static void
model_apply(model *m, uint32_t key, kv after)
{
	assert(m->nhistory < MAX_HISTORY);
	m->history[m->nhistory++] = (change) {key, m->keys[key], after};
	m->keys[key] = after;
}

static void
model_commit(model *m)
{
	m->committed = m->nhistory;
}

/* After a recovery: the current state is the new durable starting point. */
static void
model_rebase(model *m)
{
	m->nhistory = 0;
	m->committed = 0;
}

/* ------------------------------------------------------------- operations */

static char value_buf[MAX_VALUE];

/* Distinct random keys in ascending order (a batch). */
static int
random_sorted_keys(uint32_t *keys, int n)
{
	int			count = 0;

	for (int tries = 0; count < n && tries < 4 * n; tries++)
	{
		uint32_t	k = rnd(NKEYS);
		int			at = count;

		for (int i = 0; i < count; i++)
			if (keys[i] >= k)
			{
				at = i;
				break;
			}
		if (at < count && keys[at] == k)
			continue;
		memmove(keys + at + 1, keys + at, (size_t) (count - at) * sizeof(*keys));
		keys[at] = k;
		count++;
	}
	return count;
}

/*
 * A batch insert of a few keys: the model logs one change per key, in key
 * order (the engine inserts them in that order, each leaf's share in one
 * mtr), so any crash leaves a prefix of them.
 */
static ae_status
op_insert_batch(ae_btree *t, model *m)
{
	static char keys_mem[8][64];
	static char *vals_mem[8];
	const void *keys[8],
			   *vals[8];
	size_t		klens[8],
				vlens[8];
	uint32_t	idx[8],
				seeds[8];
	int			n = random_sorted_keys(idx, 2 + (int) rnd(7)),
				done = 0,
				expect = 0;
	ae_status	st;

	for (int i = 0; i < n; i++)
	{
		if (!vals_mem[i] && !(vals_mem[i] = malloc(MAX_VALUE)))
			abort();
		seeds[i] = rnd(1u << 30);
		vlens[i] = VALUE_HDR + rnd(rnd(10) ? 200 : AE_BTREE_INLINE_MAX + 3000);
		make_value(vals_mem[i], idx[i], seeds[i], (uint32_t) vlens[i]);
		klens[i] = make_key(keys_mem[i], idx[i]);
		keys[i] = keys_mem[i];
		vals[i] = vals_mem[i];
	}
	while (expect < n && !m->keys[idx[expect]].present)
		expect++;
	/* the model logs every key the batch may insert before the engine runs */
	for (int i = 0; i < expect; i++)
		model_apply(m, idx[i], (kv) {true, seeds[i], (uint32_t) vlens[i]});
	st = ae_btree_insert_batch(t, n, keys, klens, vals, vlens, &done);
	if (st == AE_OK || st == AE_EXISTS)
	{
		if (done != expect || st != (expect < n ? AE_EXISTS : AE_OK))
			return ae_fail(AE_INTERNAL, t->file, AE_NO_BLOCK,
						   "batch of %d inserted %d (%s), the model expects %d", n, done,
						   ae_status_name(st), expect);
		return AE_OK;
	}
	return st;
}

/*
 * One random operation on tree and model. The model records the change
 * before the engine runs it, so an operation cut short by a fault counts as
 * "may have happened". AE_INTERNAL when the engine's answer contradicts the
 * model; otherwise the engine's status when it failed.
 */
static ae_status
random_op(ae_btree *t, model *m)
{
	char		k[64];
	uint32_t	key = rnd(NKEYS),
				op = rnd(100),
				seed = rnd(1u << 30),
				len = random_value_len();
	size_t		klen = make_key(k, key);
	kv			old = m->keys[key],
				now = {true, seed, len};
	ae_status	st,
				expect;

	if (op < 5)
		return op_insert_batch(t, m);
	make_value(value_buf, key, seed, len);
	if (op < 35)
	{
		expect = old.present ? AE_EXISTS : AE_OK;
		if (!old.present)
			model_apply(m, key, now);
		st = ae_btree_insert(t, k, klen, value_buf, len);
	}
	else if (op < 75)
	{
		expect = AE_OK;
		model_apply(m, key, now);
		st = ae_btree_put(t, k, klen, value_buf, len);
	}
	else
	{
		expect = old.present ? AE_OK : AE_NOT_FOUND;
		if (old.present)
			model_apply(m, key, (kv) {false, 0, 0});
		st = ae_btree_delete(t, k, klen);
	}
	if (st == expect)
		return AE_OK;
	if (st == AE_OK || st == AE_EXISTS || st == AE_NOT_FOUND)
		return ae_fail(AE_INTERNAL, t->file, AE_NO_BLOCK, "key %u: %s, the model expects %s",
					   key, ae_status_name(st), ae_status_name(expect));
	return st;
}

/* A commit: the log is durable up to everything inserted so far. */
static ae_status
commit(cfx *x, model *m)
{
	ae_status	st = ae_wal_flush(x->eng, ae_wal_insert_lsn(x->eng));

	if (st == AE_OK)
		model_commit(m);
	return st;
}

/*
 * A successful checkpoint flushes the log too: it acknowledges everything
 * before it. (A "shutdown" one followed by more work is unusual but legal:
 * recovery must still replay what follows it.)
 */
static ae_status
checkpoint(cfx *x, model *m, bool shutdown)
{
	ae_status	st = ae_checkpoint(x->eng, shutdown, NULL);

	if (st == AE_OK)
		model_commit(m);
	return st;
}

/* Work for recovery to redo: operations, a checkpoint half way, all committed at the end. */
static ae_status
committed_workload(cfx *x, model *m, int nops)
{
	ae_status	st = AE_OK;

	for (int i = 0; i < nops && st == AE_OK; i++)
	{
		st = random_op(&x->t, m);
		if (st == AE_OK && i == nops / 3)
			st = checkpoint(x, m, false);
	}
	return st == AE_OK ? commit(x, m) : st;
}

/* Operations that are not yet committed. */
static ae_status
uncommitted_workload(cfx *x, model *m, int nops)
{
	ae_status	st = AE_OK;

	for (int i = 0; i < nops && st == AE_OK; i++)
		st = random_op(&x->t, m);
	return st;
}

/* ------------------------------------------------------ reading the tree */

typedef struct snapshot
{
	kv			keys[NKEYS];
	int			nkeys;
	char		problem[256];	/* non-empty: the tree holds something no model can */
} snapshot;

static int
key_index(const void *key, size_t klen)
{
	const char *k = key;
	char		expect[64];
	unsigned	i = 0;

	if (klen < 6 || k[0] != 'k')
		return -1;
	for (int d = 1; d < 6; d++)
	{
		if (k[d] < '0' || k[d] > '9')
			return -1;
		i = i * 10 + (unsigned) (k[d] - '0');
	}
	if (i >= NKEYS)
		return -1;
	return make_key(expect, i) == klen && memcmp(expect, k, klen) == 0 ? (int) i : -1;
}

/* Scan the whole tree into s, checking each value's bytes; cross-check point reads. */
static ae_status
take_snapshot(ae_btree *t, snapshot *s)
{
	ae_btree_cursor c;
	const void *k,
			   *v;
	size_t		klen,
				vlen;
	ae_bytes	got = {0};
	ae_status	st;

	memset(s, 0, sizeof(*s));
	if ((st = ae_btree_cursor_open(&c, t, AE_FORWARD, 0, NULL, 0, false, NULL, 0, false)) != AE_OK)
		return st;
	while ((st = ae_btree_cursor_next(&c, &k, &klen, &v, &vlen)) == AE_OK)
	{
		int			i = key_index(k, klen);
		uint32_t	seed;

		if (i < 0 || s->keys[i].present)
			snprintf(s->problem, sizeof(s->problem), "a stray or repeated key (%zu bytes)", klen);
		else if (!value_is_intact(v, vlen, (uint32_t) i, &seed))
			snprintf(s->problem, sizeof(s->problem), "key %d: damaged value of %zu bytes", i, vlen);
		else
			s->keys[i] = (kv) {true, seed, (uint32_t) vlen};
		s->nkeys++;
	}
	ae_btree_cursor_close(&c);
	if (st != AE_NOT_FOUND)
		return st;
	for (int n = 0; n < 16 && !s->problem[0]; n++)
	{
		uint32_t	i = rnd(NKEYS);
		char		key[64];
		size_t		kl = make_key(key, i);

		st = ae_btree_get(t, key, kl, &got);
		if (st != (s->keys[i].present ? AE_OK : AE_NOT_FOUND) ||
			(st == AE_OK && got.len != s->keys[i].len))
			snprintf(s->problem, sizeof(s->problem), "key %u: get says %s, the scan differs",
					 i, ae_status_name(st));
	}
	ae_bytes_free(&got);
	return AE_OK;
}

static int
count_differences(const model *m, const snapshot *s)
{
	int			n = 0;

	for (int i = 0; i < NKEYS; i++)
		n += !kv_equal(m->keys[i], s->keys[i]);
	return n;
}

static void
print_differences(const model *m, const snapshot *s)
{
	int			shown = 0;

	for (int i = 0; i < NKEYS && shown < 8; i++)
		if (!kv_equal(m->keys[i], s->keys[i]))
		{
			fprintf(stderr, "    key %d: model %s len %u seed %u, tree %s len %u seed %u\n", i,
					m->keys[i].present ? "present" : "absent", m->keys[i].len, m->keys[i].seed,
					s->keys[i].present ? "present" : "absent", s->keys[i].len, s->keys[i].seed);
			shown++;
		}
}

/*
 * Find the longest prefix of the history, no shorter than the committed
 * part, whose state equals the tree; leave the model at that state. Returns
 * the prefix length, or -1 (the model is then at the committed state).
 */
static int
match_prefix(model *m, const snapshot *s)
{
	int			diff = count_differences(m, s);

	for (int k = m->nhistory;; k--)
	{
		const change *c;

		if (diff == 0)
		{
			m->nhistory = k;
			return k;
		}
		if (k == m->committed)
			return -1;
		c = &m->history[k - 1];
		diff -= !kv_equal(m->keys[c->key], s->keys[c->key]);
		m->keys[c->key] = c->before;
		diff += !kv_equal(m->keys[c->key], s->keys[c->key]);
	}
}

/* The tree verifies, and equals the model at an allowed prefix; rebase the model there. */
static bool
check_recovered(cfx *x, model *m, const char *where)
{
	static snapshot s;
	ae_btree_verify_stats vs;
	ae_status	st;
	int			ops = m->nhistory,
				committed = m->committed;

	if ((st = ae_btree_verify_ex(&x->t, &vs)) != AE_OK)
	{
		fprintf(stderr, "  %s: verify: %s: %s\n", where, ae_status_name(st),
				ae_error_last()->message);
		return false;
	}
	if ((st = take_snapshot(&x->t, &s)) != AE_OK)
	{
		fprintf(stderr, "  %s: scan: %s: %s\n", where, ae_status_name(st),
				ae_error_last()->message);
		return false;
	}
	if (s.problem[0] || (int64_t) vs.nkeys != s.nkeys)
	{
		fprintf(stderr, "  %s: %s (verify counts %llu keys, the scan %d)\n", where, s.problem,
				(unsigned long long) vs.nkeys, s.nkeys);
		return false;
	}
	if (match_prefix(m, &s) < 0)
	{
		fprintf(stderr, "  %s: no state between change %d (committed) and %d matches the tree; "
				"differences from the committed state:\n", where, committed, ops);
		print_differences(m, &s);
		return false;
	}
	model_rebase(m);
	return true;
}

/* ------------------------------------------------------ randomized crashes */

/*
 * Each seed runs its crash rounds in a series of processes ("lives"), each
 * with a freshly initialised shared region, like a server restart. A life
 * recovers, checks the tree against the model, runs a round of work and
 * crashes; then it either exits (the next life restarts the engine) or
 * drops only the pool and recovers in place. A power cut that makes the
 * engine call host->fatal (a change it cannot log) ends the life there. The
 * model and the counts are in a shared mapping, so they outlive each life.
 */
#define ROUNDS_PER_SEED 25
#define MAX_LIVES		1000

enum
{
	LIFE_DONE = 0,				/* every round ran and the last recovery checked out */
	LIFE_CRASHED = 10,			/* crashed: the next life recovers */
	LIFE_FAILED = 11,
	LIFE_HUNG = 12
};

typedef struct crash_totals
{
	int			crash_points;	/* crashes after a round of work */
	int			mid_operation;	/* ... of which inside an operation, commit or checkpoint */
	int			fatal;			/* ... of which ended by host->fatal */
	int			during_recovery;	/* further power cuts inside ae_recover */
	int			restarts;		/* lives started */
	int			ops;
	int			checkpoints;
	crash_stats disk;			/* what the crashes did to the unsynced writes */
} crash_totals;

typedef struct seed_state
{
	model		m;
	bool		tree_created;
	int			rounds_done;
	crash_totals totals;
} seed_state;

static seed_state *life_state;	/* the current life's shared state */
static char watchdog_where[128];

static void
watchdog(int sig)
{
	ssize_t		r = write(2, watchdog_where, strlen(watchdog_where));

	(void) r;
	(void) sig;
	_exit(LIFE_HUNG);
}

/* End of a crash round: the disk loses what it loses. */
static void
round_crashed(fault_host *h)
{
	fault_host_crash(h);
	life_state->totals.crash_points++;
	life_state->rounds_done++;
}

/* host->fatal during a round: the process dies of the power cut. */
static void
die_on_fatal(fault_host *h, const char *msg)
{
	if (!h->power_cut)
	{
		fprintf(stderr, "  fatal error without an injected fault: %s\n", msg);
		_exit(LIFE_FAILED);
	}
	life_state->totals.mid_operation++;
	life_state->totals.fatal++;
	round_crashed(h);
	_exit(LIFE_CRASHED);
}

/*
 * One round of random operations with commits and occasional checkpoints.
 * Half the rounds arm a power cut, most at a random mutating host call, some
 * at a log sync (the only moment written log bytes are not yet durable: a
 * torn log tail); the round stops when it fires. False on an unexpected
 * failure.
 */
static bool
work_round(cfx *x, model *m, const char *where)
{
	int			nops = 1 + (int) rnd(120);
	uint32_t	cut = rnd(8);
	ae_status	st = AE_OK;

	if (cut < 3)
		fault_power_cut_after(&x->fh, 1 + rnd(60));
	else if (cut == 3)
		fault_power_cut_at(&x->fh, CALL_LOG_SYNC, 1 + rnd(6));
	for (int i = 0; i < nops && st == AE_OK; i++)
	{
		st = random_op(&x->t, m);
		life_state->totals.ops++;
		if (st == AE_OK && rnd(100) < 8)
			st = commit(x, m);
		if (st == AE_OK && rnd(1000) < 15)
		{
			st = checkpoint(x, m, rnd(4) == 0);
			life_state->totals.checkpoints += st == AE_OK;
		}
	}
	if (st != AE_OK && !(x->fh.power_cut && st == AE_IO_ERROR))
	{
		fprintf(stderr, "  %s: operation failed: %s: %s\n", where, ae_status_name(st),
				ae_error_last()->message);
		return false;
	}
	life_state->totals.mid_operation += st != AE_OK;
	return true;
}

/* ae_recover, in a quarter of the calls with a power cut at a random mutating host call. */
static ae_status
recover_maybe_cut(cfx *x)
{
	ae_recovery_info ri;
	bool		cut = rnd(4) == 0;
	ae_status	st;

	if (cut)
		fault_power_cut_after(&x->fh, 1 + rnd(50));
	st = ae_recover(x->eng, &ri);
	if (!x->fh.power_cut)
		fault_disarm(&x->fh);
	return st;
}

/*
 * The empty tree, created and checkpointed without faults: a crash before
 * the first checkpoint has its own test (test_crash_before_first_checkpoint).
 */
static ae_status
create_tree_durably(cfx *x)
{
	ae_recovery_info ri;
	ae_status	st = create_tree(x);

	return st != AE_OK ? st : ae_recover(x->eng, &ri);
}

/* One process: recover and check, then rounds of work and crashes until it exits. */
static int
run_life(const char *dir, seed_state *ss, uint64_t seed, int life)
{
	cfx			x;
	char		where[96];
	ae_status	st;

	life_state = ss;
	ss->totals.restarts++;
	rng_seed(seed * 7919 + (uint64_t) life);
	signal(SIGALRM, watchdog);
	if ((st = cfx_start(&x, dir, 16)) != AE_OK ||
		(!ss->tree_created && (st = create_tree_durably(&x)) != AE_OK))
	{
		fprintf(stderr, "  seed %llu: start: %s: %s\n", (unsigned long long) seed,
				ae_status_name(st), ae_error_last()->message);
		return LIFE_FAILED;
	}
	ss->tree_created = true;
	x.fh.on_fatal = die_on_fatal;
	x.fh.stats = &ss->totals.disk;
	for (;;)
	{
		snprintf(where, sizeof(where), "seed %llu round %d (life %d)",
				 (unsigned long long) seed, ss->rounds_done, life);
		snprintf(watchdog_where, sizeof(watchdog_where), "\n  watchdog: %s hangs\n", where);
		alarm(120);
		st = recover_maybe_cut(&x);
		if (x.fh.power_cut)
		{
			/* a crash during recovery: recover again, here or in the next life */
			if (st != AE_OK && st != AE_IO_ERROR)
			{
				fprintf(stderr, "  %s: recovery cut short: %s: %s\n", where, ae_status_name(st),
						ae_error_last()->message);
				return LIFE_FAILED;
			}
			ss->totals.during_recovery++;
			cfx_crash(&x);
			if (rnd(2))
				return LIFE_CRASHED;
			continue;
		}
		if (st != AE_OK)
		{
			fprintf(stderr, "  %s: recovery: %s: %s\n", where, ae_status_name(st),
					ae_error_last()->message);
			return LIFE_FAILED;
		}
		if (!check_recovered(&x, &ss->m, where))
			return LIFE_FAILED;
		if (ss->rounds_done == ROUNDS_PER_SEED)
			return LIFE_DONE;
		if (!work_round(&x, &ss->m, where))
			return LIFE_FAILED;
		round_crashed(&x.fh);
		if (rnd(3) == 0)
			return LIFE_CRASHED;	/* restart: the next life has fresh shared memory */
		ae_buf_discard_all(x.eng);	/* or lose only the pool and recover in place */
	}
}

static void
add_totals(crash_totals *sum, const crash_totals *t)
{
	sum->crash_points += t->crash_points;
	sum->mid_operation += t->mid_operation;
	sum->fatal += t->fatal;
	sum->during_recovery += t->during_recovery;
	sum->restarts += t->restarts;
	sum->ops += t->ops;
	sum->checkpoints += t->checkpoints;
	sum->disk.crashes += t->disk.crashes;
	sum->disk.pages_lost += t->disk.pages_lost;
	sum->disk.pages_kept += t->disk.pages_kept;
	sum->disk.pages_torn += t->disk.pages_torn;
	sum->disk.log_tails_torn += t->disk.log_tails_torn;
}

/* All the lives of one seed; false (having said why) on a failure. */
static bool
crash_seed(uint64_t seed, crash_totals *sum)
{
	seed_state *ss = mmap(NULL, sizeof(seed_state), PROT_READ | PROT_WRITE,
						  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char		dir[64];
	int			code = LIFE_FAILED;

	if (ss == MAP_FAILED || !make_scratch_dir(dir, sizeof(dir)))
		return false;
	memset(ss, 0, sizeof(*ss));
	for (int life = 0; life < MAX_LIVES; life++)
	{
		pid_t		pid;
		int			status;

		fflush(stdout);
		fflush(stderr);
		if ((pid = fork()) == 0)
			_exit(run_life(dir, ss, seed, life));
		if (pid < 0 || waitpid(pid, &status, 0) != pid)
			break;
		code = WIFEXITED(status) ? WEXITSTATUS(status) : LIFE_FAILED;
		if (WIFSIGNALED(status))
			fprintf(stderr, "  seed %llu round %d: killed by signal %d\n",
					(unsigned long long) seed, ss->rounds_done, WTERMSIG(status));
		if (code != LIFE_CRASHED)
			break;
	}
	add_totals(sum, &ss->totals);
	munmap(ss, sizeof(*ss));
	ae_env_remove_dir(dir);
	return code == LIFE_DONE;
}

/* Many seeds, each ROUNDS_PER_SEED crash rounds over one set of files. */
static void
test_random_crash_points(void)
{
	const char *many = getenv("CRASH_SEEDS"),
			   *one = getenv("CRASH_SEED");
	int			first = one ? atoi(one) : 1,
				seeds = one ? 1 : many ? atoi(many) : 64;
	int			failed = 0;
	crash_totals sum = {0};

	for (int s = first; s < first + seeds && failed < 3; s++)
		if (!crash_seed((uint64_t) s, &sum))
		{
			fprintf(stderr, "  failed: seed %d (rerun it alone with CRASH_SEED=%d)\n", s, s);
			failed++;
		}
	printf("# %d crash points (%d inside an operation, %d of them fatal), %d more inside recovery; "
		   "%d restarts, %d operations, %d checkpoints\n",
		   sum.crash_points, sum.mid_operation, sum.fatal, sum.during_recovery, sum.restarts,
		   sum.ops, sum.checkpoints);
	printf("# unsynced page writes at crashes: %llu lost, %llu kept, %llu torn; %llu torn log tails\n",
		   (unsigned long long) sum.disk.pages_lost, (unsigned long long) sum.disk.pages_kept,
		   (unsigned long long) sum.disk.pages_torn, (unsigned long long) sum.disk.log_tails_torn);
	AE_CHECK(failed == 0);
	AE_CHECK(failed || sum.crash_points == seeds * ROUNDS_PER_SEED);
}

/* ----------------------------------------------- crash during recovery */

/*
 * Recovery interrupted by a power cut at its 1st, 2nd, 3rd... mutating host
 * call, each interrupted recovery followed by another crash (keeping a
 * random part of what it wrote), until one recovery completes: the result
 * is the committed state, whatever was interrupted where.
 */
static void
test_crash_during_recovery(void)
{
	static model m;
	cfx			x;
	ae_recovery_info ri;
	int			interrupted = 0;

	for (uint64_t seed = 1000; seed < 1004; seed++)
	{
		rng_seed(seed);
		memset(&m, 0, sizeof(m));
		AE_OKAY(cfx_open(&x, 32));
		AE_OKAY(committed_workload(&x, &m, 400));
		for (uint64_t k = 1;; k++)
		{
			ae_status	st;

			cfx_crash(&x);
			fault_power_cut_after(&x.fh, k);
			st = ae_recover(x.eng, &ri);
			if (!x.fh.power_cut)
			{
				AE_OKAY(st);
				break;
			}
			AE_CHECK(st == AE_OK || st == AE_IO_ERROR);
			interrupted++;
			AE_REQUIRE(k < 10000);
		}
		fault_disarm(&x.fh);
		AE_CHECK(m.committed == m.nhistory);
		AE_CHECK(check_recovered(&x, &m, "after interrupted recoveries"));
		/* and a crash right after the completed recovery changes nothing */
		cfx_crash(&x);
		AE_OKAY(ae_recover(x.eng, &ri));
		AE_CHECK(ri.records == 0);
		AE_CHECK(check_recovered(&x, &m, "recovered twice"));
		cfx_close(&x);
	}
	printf("# %d recoveries interrupted\n", interrupted);
	AE_CHECK(interrupted > 20);
}

/* ------------------------------------------------------ torn log tail */

/*
 * A commit's log is written but the power fails during its sync, and only
 * part of those bytes reached the disk: recovery ends the log at the last
 * complete group and cuts the torn bytes off the log file, so no stale byte
 * can ever follow the records logged after it. Committed work survives; the
 * torn commit's work survives only as a prefix; later work survives the
 * next crash.
 */
static void
test_torn_log_tail_cut(void)
{
	static model m;
	cfx			x;
	ae_recovery_info ri;

	for (uint64_t seed = 7000; seed < 7008; seed++)
	{
		crash_plan	plan = {0};
		uint64_t	written_end,
					log_end;

		rng_seed(seed);
		memset(&m, 0, sizeof(m));
		AE_OKAY(cfx_open(&x, 32));
		AE_OKAY(committed_workload(&x, &m, 100));
		AE_OKAY(uncommitted_workload(&x, &m, 60));
		fault_power_cut_at(&x.fh, CALL_LOG_SYNC, 1);
		AE_CHECK(commit(&x, &m) == AE_IO_ERROR);
		AE_REQUIRE(x.fh.log.len > 0);
		written_end = x.fh.log.start + x.fh.log.len;
		plan.log_keep = 1 + rnd((uint32_t) x.fh.log.len - 1);
		fault_host_crash_as(&x.fh, &plan);
		ae_buf_discard_all(x.eng);
		AE_OKAY(ae_recover(x.eng, &ri));
		AE_CHECK(ri.end_lsn < written_end);
		AE_OKAY(x.fh.inner.log_size(x.fh.inner.ctx, &log_end));
		AE_CHECK(log_end == ri.end_lsn);
		AE_CHECK(check_recovered(&x, &m, "after a torn log tail"));
		AE_OKAY(committed_workload(&x, &m, 60));
		cfx_crash(&x);
		AE_OKAY(ae_recover(x.eng, &ri));
		AE_CHECK(check_recovered(&x, &m, "after a torn log tail and more work"));
		cfx_close(&x);
	}
}

/* ------------------------------------- crash before the first checkpoint */

/* The tree verifies, is empty, and takes an insert. */
static bool
tree_is_empty_and_usable(cfx *x, const char *where)
{
	ae_btree_verify_stats vs;
	ae_bytes	got = {0};
	ae_status	st = ae_btree_verify_ex(&x->t, &vs);

	if (st == AE_OK && vs.nkeys != 0)
		st = ae_fail(AE_CORRUPT, FILE_ID, AE_NO_BLOCK, "%llu keys in a new tree",
					 (unsigned long long) vs.nkeys);
	if (st == AE_OK)
		st = ae_btree_insert(&x->t, "k", 1, "v", 1);
	if (st == AE_OK)
		st = ae_btree_get(&x->t, "k", 1, &got);
	ae_bytes_free(&got);
	if (st != AE_OK)
		fprintf(stderr, "  %s: %s: %s\n", where, ae_status_name(st), ae_error_last()->message);
	return st == AE_OK;
}

/*
 * The tree's creation is committed (its log flushed), then a crash comes
 * before the first checkpoint has made its pages durable: right away, or
 * by a power cut at the 1st, 2nd... mutating host call of the first
 * recovery (which ends with that checkpoint). Recovery must rebuild the
 * empty tree from the log.
 */
static void
test_crash_before_first_checkpoint(void)
{
	for (uint64_t k = 0;; k++)
	{
		cfx			x;
		char		dir[64],
					where[64];
		ae_recovery_info ri;
		bool		cut = true;

		snprintf(where, sizeof(where), "power cut at mutating call %llu", (unsigned long long) k);
		rng_seed(5000 + k);
		AE_REQUIRE(make_scratch_dir(dir, sizeof(dir)));
		AE_OKAY(cfx_start(&x, dir, 32));
		AE_OKAY(create_tree(&x));
		if (k > 0)
		{
			fault_power_cut_after(&x.fh, k);
			(void) ae_recover(x.eng, &ri);
			cut = x.fh.power_cut;
		}
		cfx_crash(&x);
		AE_OKAY(ae_recover(x.eng, &ri));
		AE_CHECK(tree_is_empty_and_usable(&x, k ? where : "crash before any recovery"));
		cfx_close(&x);
		if (!cut)
			break;
		AE_REQUIRE(k < 100);
	}
}

/* ------------------------------------------------------------- I/O errors */

static const ae_status injected_statuses[] = {AE_IO_ERROR, AE_DISK_FULL};

/* The status and the last-error record both carry the injected fault. */
static bool
reports(ae_status got, ae_status want)
{
	const ae_error *e = ae_error_last();

	if (got == want && e->status == want && strstr(e->message, "injected"))
		return true;
	fprintf(stderr, "  expected %s, got %s: %s\n", ae_status_name(want), ae_status_name(got),
			e->message);
	return false;
}

/* The unflushed log crosses the end of the 64 KiB log buffer: a flush writes it in two pieces. */
static bool
unflushed_log_wraps(ae_engine *eng)
{
	ae_lsn		from = ae_wal_flushed_lsn(eng),
				to = ae_wal_insert_lsn(eng);

	return to > from && from / WAL_BUFFER_BYTES != (to - 1) / WAL_BUFFER_BYTES;
}

/*
 * A failed log write makes the flush fail with its status; nothing is
 * acknowledged. Once the fault is gone a flush succeeds and everything
 * survives a crash.
 */
static void
test_log_write_error(void)
{
	static model m;
	cfx			x;
	ae_recovery_info ri;

	for (size_t i = 0; i < 2; i++)
		for (uint64_t nth = 1; nth <= 2; nth++)
		{
			ae_status	want = injected_statuses[i];
			ae_lsn		flushed,
						upto;

			rng_seed(2000 + i * 10 + nth);
			memset(&m, 0, sizeof(m));
			AE_OKAY(cfx_open(&x, 64));
			AE_OKAY(uncommitted_workload(&x, &m, 150));
			flushed = ae_wal_flushed_lsn(x.eng);
			upto = ae_wal_insert_lsn(x.eng);
			AE_REQUIRE(upto > flushed);
			/* nth == 2: the second of the two writes of unflushed bytes that wrap the ring */
			for (int n = 0; nth == 2 && !unflushed_log_wraps(x.eng); n++)
			{
				AE_REQUIRE(n < 100000);
				AE_OKAY(uncommitted_workload(&x, &m, 1));
				flushed = ae_wal_flushed_lsn(x.eng);
				upto = ae_wal_insert_lsn(x.eng);
			}
			fault_arm(&x.fh, CALL_LOG_WRITE, nth, want);
			AE_CHECK(reports(ae_wal_flush(x.eng, upto), want));
			AE_CHECK(x.fh.fault_fired);
			AE_CHECK(ae_wal_flushed_lsn(x.eng) == flushed);
			AE_OKAY(commit(&x, &m));
			AE_CHECK(ae_wal_flushed_lsn(x.eng) >= upto);
			cfx_crash(&x);
			AE_OKAY(ae_recover(x.eng, &ri));
			AE_CHECK(m.committed == m.nhistory);
			AE_CHECK(check_recovered(&x, &m, "after a failed log write"));
			cfx_close(&x);
		}
}

/* A failed log sync is reported by the flush (the host must then treat it as fatal). */
static void
test_log_sync_error(void)
{
	static model m;
	cfx			x;

	for (size_t i = 0; i < 2; i++)
	{
		rng_seed(2100 + i);
		memset(&m, 0, sizeof(m));
		AE_OKAY(cfx_open(&x, 64));
		AE_OKAY(uncommitted_workload(&x, &m, 50));
		fault_arm(&x.fh, CALL_LOG_SYNC, 1, injected_statuses[i]);
		AE_CHECK(reports(ae_wal_flush(x.eng, ae_wal_insert_lsn(x.eng)), injected_statuses[i]));
		AE_CHECK(ae_wal_flushed_lsn(x.eng) < ae_wal_insert_lsn(x.eng));
		cfx_close(&x);
	}
}

/*
 * A checkpoint whose page write, file sync, log write, log sync or control
 * file write fails returns that status and leaves the previous control file
 * in charge; after a crash, recovery from it loses nothing committed.
 */
static void
test_checkpoint_errors(void)
{
	static const host_call calls[] = {
		CALL_WRITE_BLOCK, CALL_SYNC_FILE, CALL_SYNC_WRITTEN, CALL_LOG_WRITE, CALL_LOG_SYNC,
		CALL_CONTROL_WRITE,
	};
	static model m;
	cfx			x;
	ae_recovery_info ri;
	ae_control	before,
				after;

	for (size_t c = 0; c < sizeof(calls) / sizeof(calls[0]); c++)
		for (size_t i = 0; i < 2; i++)
		{
			ae_status	want = injected_statuses[i];
			char		where[64];

			snprintf(where, sizeof(where), "checkpoint failing in %s", call_names[calls[c]]);
			rng_seed(3000 + c * 10 + i);
			memset(&m, 0, sizeof(m));
			AE_OKAY(cfx_open(&x, 64));
			AE_OKAY(committed_workload(&x, &m, 200));
			AE_OKAY(ae_control_read(x.eng, &before));
			AE_OKAY(uncommitted_workload(&x, &m, 100));
			fault_arm(&x.fh, calls[c], 1, want);
			if (!reports(ae_checkpoint(x.eng, false, NULL), want))
			{
				fprintf(stderr, "  %s\n", where);
				AE_CHECK(false);
			}
			AE_CHECK(x.fh.fault_fired);
			AE_OKAY(ae_control_read(x.eng, &after));
			AE_CHECK(after.redo_lsn == before.redo_lsn && after.count == before.count);
			/* the log_sync case is fatal for a real host; here the bytes are still there */
			AE_OKAY(commit(&x, &m));
			cfx_crash(&x);
			AE_OKAY(ae_recover(x.eng, &ri));
			AE_CHECK(ri.redo_lsn == before.redo_lsn);
			AE_CHECK(m.committed == m.nhistory);
			AE_CHECK(check_recovered(&x, &m, where));
			cfx_close(&x);
		}
}

/*
 * A page write failing during eviction surfaces as the operation's status,
 * and the operation either happened or did not: the tree stays usable and
 * consistent, and everything committed afterwards survives a crash.
 */
static void
test_eviction_write_error(void)
{
	static model m;
	cfx			x;
	ae_recovery_info ri;

	for (size_t i = 0; i < 2; i++)
		for (uint64_t nth = 1; nth <= 40; nth += 13)
		{
			ae_status	want = injected_statuses[i];
			ae_status	st = AE_OK;
			int			before = 0;
			char		where[64];

			snprintf(where, sizeof(where), "eviction write %llu failing with %s",
					 (unsigned long long) nth, ae_status_name(want));
			rng_seed(4000 + i * 100 + nth);
			memset(&m, 0, sizeof(m));
			AE_OKAY(cfx_open(&x, 32));
			AE_OKAY(committed_workload(&x, &m, 200));
			fault_arm(&x.fh, CALL_WRITE_BLOCK, nth, want);
			for (int n = 0; n < 5000 && st == AE_OK; n++)
			{
				before = m.nhistory;
				st = random_op(&x.t, &m);
			}
			AE_REQUIRE(x.fh.fault_fired);
			if (!reports(st, want))
			{
				fprintf(stderr, "  %s\n", where);
				AE_CHECK(false);
			}
			/* the failed operation may or may not have happened; nothing else changed */
			m.committed = before;
			AE_CHECK(check_recovered(&x, &m, where));
			AE_OKAY(committed_workload(&x, &m, 200));
			cfx_crash(&x);
			AE_OKAY(ae_recover(x.eng, &ri));
			AE_CHECK(check_recovered(&x, &m, where));
			cfx_close(&x);
		}
}

/*
 * Read errors during recovery (the control file, the log, a page) stop it
 * with that status: never taken for "no control file" or "end of the log",
 * which would lose committed work. The next recovery, fault gone, has it all.
 */
static void
test_recovery_read_errors(void)
{
	static const host_call calls[] = {CALL_CONTROL_READ, CALL_LOG_READ, CALL_READ_BLOCK};
	static model m;
	cfx			x;
	ae_recovery_info ri;
	ae_control	before,
				after;

	for (size_t c = 0; c < sizeof(calls) / sizeof(calls[0]); c++)
		for (size_t i = 0; i < 2; i++)
		{
			ae_status	want = injected_statuses[i];
			char		where[64];

			snprintf(where, sizeof(where), "recovery failing in %s", call_names[calls[c]]);
			rng_seed(6000 + c * 10 + i);
			memset(&m, 0, sizeof(m));
			AE_OKAY(cfx_open(&x, 32));
			AE_OKAY(committed_workload(&x, &m, 300));
			AE_OKAY(ae_control_read(x.eng, &before));
			cfx_crash(&x);
			fault_arm(&x.fh, calls[c], 1, want);
			if (!reports(ae_recover(x.eng, &ri), want))
			{
				fprintf(stderr, "  %s\n", where);
				AE_CHECK(false);
			}
			AE_OKAY(ae_control_read(x.eng, &after));
			AE_CHECK(after.redo_lsn == before.redo_lsn && after.count == before.count);
			cfx_crash(&x);
			AE_OKAY(ae_recover(x.eng, &ri));
			AE_CHECK(ri.redo_lsn == before.redo_lsn && ri.records > 0);
			AE_CHECK(check_recovered(&x, &m, where));
			cfx_close(&x);
		}
}

/* A failed page read is the operation's status, and the next read succeeds. */
static void
test_read_error_reported(void)
{
	static model m;
	cfx			x;
	ae_bytes	got = {0};
	char		k[64];
	size_t		klen = make_key(k, 1);

	rng_seed(6100);
	memset(&m, 0, sizeof(m));
	AE_OKAY(cfx_open(&x, 32));
	AE_OKAY(committed_workload(&x, &m, 100));
	AE_OKAY(ae_checkpoint(x.eng, false, NULL));
	ae_buf_discard_all(x.eng);	/* every page must be read again */
	fault_arm(&x.fh, CALL_READ_BLOCK, 1, AE_IO_ERROR);
	AE_CHECK(reports(ae_btree_get(&x.t, k, klen, &got), AE_IO_ERROR));
	AE_CHECK(ae_btree_get(&x.t, k, klen, &got) == (m.keys[1].present ? AE_OK : AE_NOT_FOUND));
	AE_CHECK(check_recovered(&x, &m, "after a failed read"));
	ae_bytes_free(&got);
	cfx_close(&x);
}

/* ------------------------------------------------- the fault host itself */

/* Unsynced writes are visible until a crash and then lost (or torn); synced ones survive. */
static void
test_fault_host(void)
{
	fault_host	h;
	char		dir[64],
				page[AE_PAGE_SIZE],
				got[AE_PAGE_SIZE],
				log[100];
	ae_file_id	f = {7, 7, 7};
	uint32_t	n;
	size_t		len;
	int			torn = 0,
				lost = 0;

	rng_seed(99);
	AE_REQUIRE(make_scratch_dir(dir, sizeof(dir)));
	AE_OKAY(fault_host_init(&h, dir));
	ae_env_fill(page, 1, sizeof(page));
	AE_OKAY(h.outer.write_block(h.outer.ctx, f, 2, page));
	AE_OKAY(h.outer.nblocks(h.outer.ctx, f, &n));
	AE_CHECK(n == 3);
	AE_OKAY(h.outer.read_block(h.outer.ctx, f, 1, got));	/* the gap reads as zeros */
	AE_CHECK(got[0] == 0 && got[AE_PAGE_SIZE - 1] == 0);
	AE_OKAY(h.outer.read_block(h.outer.ctx, f, 2, got));
	AE_CHECK(memcmp(got, page, sizeof(page)) == 0);
	AE_OKAY(h.outer.sync_file(h.outer.ctx, f));	/* block 2 is durable now */
	ae_env_fill(log, 2, sizeof(log));
	AE_OKAY(h.outer.log_write(h.outer.ctx, 8, log, sizeof(log)));
	AE_OKAY(h.outer.log_read(h.outer.ctx, 8, got, sizeof(got), &len));
	AE_CHECK(len == sizeof(log) && memcmp(got, log, len) == 0);

	/* crashes over an unsynced rewrite of block 2: old, new or torn */
	for (int i = 0; i < 50; i++)
	{
		char		newer[AE_PAGE_SIZE];

		ae_env_fill(newer, 100 + (uint32_t) i, sizeof(newer));
		AE_OKAY(h.outer.write_block(h.outer.ctx, f, 2, newer));
		fault_host_crash(&h);
		AE_OKAY(h.outer.read_block(h.outer.ctx, f, 2, got));
		if (memcmp(got, newer, AE_PAGE_SIZE / 2) == 0 &&
			memcmp(got + AE_PAGE_SIZE / 2, newer + AE_PAGE_SIZE / 2, AE_PAGE_SIZE / 2) != 0)
			torn++;
		else if (memcmp(got, newer, AE_PAGE_SIZE) != 0)
			lost++;
		memcpy(page, got, sizeof(page));
	}
	AE_CHECK(torn > 0 && lost > 0);
	AE_OKAY(h.outer.log_read(h.outer.ctx, 8, got, sizeof(got), &len));
	AE_CHECK(len <= sizeof(log) && memcmp(got, log, len) == 0);	/* a prefix survived */

	/* faults: one-shot, and a power cut stopping every later mutating call */
	fault_arm(&h, CALL_SYNC_WRITTEN, 2, AE_DISK_FULL);
	AE_OKAY(h.outer.sync_written(h.outer.ctx));
	AE_CHECK(h.outer.sync_written(h.outer.ctx) == AE_DISK_FULL);
	AE_OKAY(h.outer.sync_written(h.outer.ctx));
	fault_power_cut_after(&h, 2);
	AE_OKAY(h.outer.write_block(h.outer.ctx, f, 0, page));
	AE_CHECK(h.outer.log_sync(h.outer.ctx) == AE_IO_ERROR);
	AE_OKAY(h.outer.read_block(h.outer.ctx, f, 0, got));
	AE_CHECK(h.outer.sync_written(h.outer.ctx) == AE_IO_ERROR && h.power_cut);
	fault_disarm(&h);
	fault_host_close(&h);
	AE_CHECK(ae_env_remove_dir(dir));
}

int
main(void)
{
	AE_RUN(test_fault_host);
	AE_RUN(test_log_write_error);
	AE_RUN(test_log_sync_error);
	AE_RUN(test_checkpoint_errors);
	AE_RUN(test_eviction_write_error);
	AE_RUN(test_recovery_read_errors);
	AE_RUN(test_read_error_reported);
	AE_RUN(test_torn_log_tail_cut);
	AE_RUN(test_crash_before_first_checkpoint);
	AE_RUN(test_crash_during_recovery);
	AE_RUN(test_random_crash_points);
	return ae_test_summary();
}
