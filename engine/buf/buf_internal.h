/*
 * buf_internal.h — buffer pool structures in the shared region (engine-internal).
 *
 * Pool layout (offsets from the pool start, each part aligned):
 *   buf_pool header | ae_buf descriptors[nframes] (64 B each) |
 *   partition spinlocks[BUF_PARTITIONS] (64 B each) | buckets[nbuckets] (u32) |
 *   swizzle counter stripes[SWZ_STRIPES] (64 B each) |
 *   swizzle tables[nswz] (swz_table, 64 B aligned) |
 *   pages[nframes] (8 KiB each, 4 KiB aligned)
 *
 * Page table: bucket = hash(file, block) & (nbuckets - 1); bucket b belongs to
 * partition b % BUF_PARTITIONS. A bucket holds the first frame id of a chain
 * linked through ae_buf.hash_next (BUF_NONE ends it). A frame maps at most one
 * tag, so the chains need no storage beyond the descriptors.
 *
 * Frame state word (ae_buf.state), see buf/README.md:
 *   bits  0..17  pin count
 *   bits 18..21  usage count (clock sweep), at most BS_USAGE_MAX
 *   bit  22      BS_LOCKED       header lock: held for a few instructions
 *   bit  23      BS_DIRTY        page differs from disk
 *   bit  24      BS_VALID        page bytes are the block's contents
 *   bit  25      BS_TAG_VALID    (file, block) is set and in the page table
 *   bit  26      BS_IO           read or write in progress (one at a time)
 */
#ifndef AE_BUF_INTERNAL_H
#define AE_BUF_INTERNAL_H

#include "aether/buf.h"
#include "../engine_internal.h"
#include "../util/latch.h"

#define BS_PIN_ONE		1u
#define BS_PIN_MASK		0x3FFFFu
#define BS_USAGE_SHIFT	18
#define BS_USAGE_ONE	(1u << BS_USAGE_SHIFT)
#define BS_USAGE_MASK	(0xFu << BS_USAGE_SHIFT)
#define BS_USAGE_MAX	5
#define BS_LOCKED		(1u << 22)
#define BS_DIRTY		(1u << 23)
#define BS_VALID		(1u << 24)
#define BS_TAG_VALID	(1u << 25)
#define BS_IO			(1u << 26)

#define BS_PINS(s)		((s) & BS_PIN_MASK)
#define BS_USAGE(s)		(((s) & BS_USAGE_MASK) >> BS_USAGE_SHIFT)

#define BUF_NONE		UINT32_MAX
#define BUF_PARTITIONS	128

/*
 * Swizzling (buf/README.md "Swizzling", rules S1..S6). A swizzle table holds,
 * for child slot i of the page in the frame that owns it, the id of the frame
 * last seen holding that child (a hint, validated on use). SWZ_SLOTS covers
 * every slot a page can have: an item costs at least 2 (slot) + 2 (length) +
 * 4 (child block) bytes, so an 8 KiB page has fewer than 1024 items.
 */
#define SWZ_SLOTS		1024
#define SWZ_NONE		UINT32_MAX
#define SWZ_STRIPES		16
#define SWZ_FRAMES_PER_TABLE 16	/* nswz = max(4, nframes / 16) */

typedef struct swz_table
{
	_Atomic uint32_t owner;		/* frame id it was last claimed for, SWZ_NONE if never */
	_Atomic uint32_t ref;		/* used since the clock last passed (second chance) */
	char		pad[56];
	_Atomic uint32_t e[SWZ_SLOTS];	/* child slot -> frame id or SWZ_NONE */
} swz_table;

/* Swizzle counters, striped by process (ae_engine.stripe) to spare one hot line. */
typedef struct __attribute__((aligned(64))) swz_stripe
{
	_Atomic uint64_t hits;		/* hint valid: no page-table lookup */
	_Atomic uint64_t misses;	/* no hint (no table or empty slot): page table */
	_Atomic uint64_t stale;		/* hint failed validation (evicted, retagged, moved) */
	_Atomic uint64_t steals;	/* a table in use was taken for another page */
} swz_stripe;

/*
 * A frame descriptor. Guards:
 *   state      atomic; flag changes either CAS while !BS_LOCKED or hold BS_LOCKED
 *   latch      protects the page bytes
 *   file/block change only with both page-table partitions and BS_LOCKED held,
 *              and only by the sole pinner; stable while you hold a pin
 *   hash_next  partition spinlock of the frame's tag
 *   lsn        page LSN copy: written under the exclusive latch
 *   swz        swizzle table of this frame's page (SWZ_NONE: none): set by CAS
 *              from SWZ_NONE by a pinner; reset (a) under BS_LOCKED when the
 *              tag changes (retag, invalidate), (b) by a pinner holding the
 *              exclusive latch (ae_buf_new), (c) by CAS from a table's
 *              index by whoever steals that table (S4)
 */
struct __attribute__((aligned(64))) ae_buf
{
	_Atomic uint32_t state;
	ae_latch	latch;
	ae_file_id	file;
	uint32_t	block;
	uint32_t	id;
	uint32_t	hash_next;
	uint64_t	lsn;
	int64_t		page_off;		/* page address minus descriptor address */
	_Atomic uint32_t swz;
};

typedef struct __attribute__((aligned(64))) buf_partition
{
	ae_spinlock lock;
} buf_partition;

typedef struct buf_pool
{
	uint32_t	nframes;
	uint32_t	nbuckets;		/* power of two, >= BUF_PARTITIONS */
	uint64_t	desc_off;
	uint64_t	part_off;
	uint64_t	bucket_off;
	uint64_t	page_off;
	uint32_t	nswz;			/* swizzle tables */
	uint32_t	pad;
	uint64_t	swz_off;
	uint64_t	stripe_off;
	_Atomic uint64_t swz_clock;	/* table clock hand: table = swz_clock % nswz */
	_Atomic uint64_t clock;		/* clock hand: frame = clock % nframes */
	_Atomic uint64_t reads;
	_Atomic uint64_t writes;
	_Atomic uint64_t hits;
	_Atomic uint64_t evictions;
} buf_pool;

/* One entry of a process's AE_BUF_SCAN ring: the frame and what the ring put in it. */
struct ring_slot
{
	uint32_t	id;				/* BUF_NONE when unused */
	uint32_t	block;
	ae_file_id	file;
};

size_t		ae_buf_shmem_size(const ae_engine_config *cfg);
void		ae_buf_shmem_init(buf_pool *pool, const ae_engine_config *cfg);
ae_status	ae_buf_ring_init(ae_engine *eng);	/* per handle; malloc'd ring */
void		ae_buf_ring_free(ae_engine *eng);
void		ae_buf_get_stats(ae_engine *eng, ae_engine_stats *out);

/* ---- helpers shared by bufmgr.c and buf_flush.c ---- */

static inline ae_buf *
buf_desc(buf_pool *pool, uint32_t id)
{
	return (ae_buf *) ((char *) pool + pool->desc_off) + id;
}

static inline swz_table *
swz_tab(buf_pool *pool, uint32_t t)
{
	return (swz_table *) ((char *) pool + pool->swz_off) + t;
}

static inline swz_stripe *
swz_stripe_of(ae_engine *eng)
{
	return (swz_stripe *) ((char *) eng->pool + eng->pool->stripe_off) + eng->stripe % SWZ_STRIPES;
}

static inline ae_spinlock *
buf_part_lock(buf_pool *pool, uint32_t bucket)
{
	return &((buf_partition *) ((char *) pool + pool->part_off))[bucket % BUF_PARTITIONS].lock;
}

static inline uint32_t
buf_bucket(buf_pool *pool, ae_file_id f, uint32_t blk)
{
	uint64_t	h = ((uint64_t) f.rel << 32 | blk) ^ ((uint64_t) f.db << 17) ^ ((uint64_t) f.spc << 45);

	/* murmur3 finaliser */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t) h & (pool->nbuckets - 1);
}

/* Take the header lock (BS_LOCKED); returns the state with BS_LOCKED set. */
static inline uint32_t
buf_lock_hdr(ae_buf *b)
{
	for (;;)
	{
		uint32_t	s = atomic_fetch_or_explicit(&b->state, BS_LOCKED, memory_order_acquire);

		if (!(s & BS_LOCKED))
			return s | BS_LOCKED;
		while (atomic_load_explicit(&b->state, memory_order_relaxed) & BS_LOCKED)
			ae_cpu_relax();
	}
}

/* Publish a new state and drop the header lock in one store. */
static inline void
buf_unlock_hdr(ae_buf *b, uint32_t s)
{
	atomic_store_explicit(&b->state, s & ~BS_LOCKED, memory_order_release);
}

/* Change state by CAS (waiting out the header lock): s = (s & ~clear) | set, pins += dpin. */
static inline uint32_t
buf_update_state(ae_buf *b, uint32_t set, uint32_t clear, int dpin)
{
	uint32_t	s = atomic_load_explicit(&b->state, memory_order_relaxed);

	for (;;)
	{
		uint32_t	n;

		if (s & BS_LOCKED)
		{
			ae_cpu_relax();
			s = atomic_load_explicit(&b->state, memory_order_relaxed);
			continue;
		}
		n = ((s & ~clear) | set) + (uint32_t) dpin;
		if (atomic_compare_exchange_weak_explicit(&b->state, &s, n,
												  memory_order_acq_rel,
												  memory_order_relaxed))
			return n;
	}
}

static inline void
buf_unpin(ae_buf *b)
{
	assert(BS_PINS(atomic_load(&b->state)) > 0);
	buf_update_state(b, 0, 0, -1);
}

/* Begin I/O on a pinned frame (see bufmgr.c); end it, setting/clearing flags. */
bool		ae_buf_start_io(ae_buf *b, bool for_write);
void		ae_buf_end_io(ae_buf *b, uint32_t set, uint32_t clear);

/*
 * Write a pinned frame if dirty, honouring the write-ahead rule (see
 * buf_flush.c). nowait: if the page latch is busy, set *skipped and return.
 */
ae_status	ae_buf_write_frame(ae_engine *eng, ae_buf *b, bool nowait, bool *skipped);

/* Remove frame b from the page-table chain of bucket (partition lock held). */
void		ae_buf_table_remove(buf_pool *pool, uint32_t bucket, ae_buf *b);

#endif
