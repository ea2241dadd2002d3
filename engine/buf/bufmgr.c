/*
 * bufmgr.c — buffer pool: page table, pins, frame allocation (clock sweep and
 * scan rings), reading pages in, latches. Writing, dropping and statistics
 * are in buf_flush.c. The algorithm and the numbered rules B1..B8 cited below
 * are in buf/README.md.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf_internal.h"
#include "aether/wal.h"

#define MAX_HELD	128

/*
 * Latches taken through ae_buf_latch in this process, so ae_buf_release knows
 * whether to unlatch (a shared latch word cannot say who holds it). Process-
 * local by nature, like PostgreSQL's held_lwlocks array.
 */
static ae_buf *held[MAX_HELD];
static int	nheld;

/* ---------------------------------------------------------------- layout */

static uint32_t
nbuckets_for(uint32_t nframes)
{
	uint32_t	n = BUF_PARTITIONS;

	while (n < 2 * nframes)
		n <<= 1;
	return n;
}

static uint32_t
nswz_for(uint32_t nframes)
{
	uint32_t	n = nframes / SWZ_FRAMES_PER_TABLE;

	return n < 4 ? 4 : n;
}

size_t
ae_buf_shmem_size(const ae_engine_config *cfg)
{
	size_t		n = cfg->pool_pages;
	size_t		sz = ae_align_up(sizeof(buf_pool), 64);

	sz += n * sizeof(ae_buf);
	sz += BUF_PARTITIONS * sizeof(buf_partition);
	sz += nbuckets_for(cfg->pool_pages) * sizeof(uint32_t);
	sz = ae_align_up(sz, 64) + SWZ_STRIPES * sizeof(swz_stripe);
	sz = ae_align_up(sz, 64) + (size_t) nswz_for(cfg->pool_pages) * sizeof(swz_table);
	sz = ae_align_up(sz, AE_SHMEM_ALIGN);
	return sz + n * AE_PAGE_SIZE;
}

/* Initialise the pool in a region of ae_buf_shmem_size() bytes (4 KiB aligned). */
void
ae_buf_shmem_init(buf_pool *pool, const ae_engine_config *cfg)
{
	uint32_t	n = cfg->pool_pages;
	size_t		off = ae_align_up(sizeof(buf_pool), 64);
	uint32_t   *buckets;

	memset(pool, 0, sizeof(*pool));
	pool->nframes = n;
	pool->nbuckets = nbuckets_for(n);
	pool->desc_off = off;
	off += (size_t) n * sizeof(ae_buf);
	pool->part_off = off;
	off += BUF_PARTITIONS * sizeof(buf_partition);
	pool->bucket_off = off;
	off += (size_t) pool->nbuckets * sizeof(uint32_t);
	pool->stripe_off = off = ae_align_up(off, 64);
	off += SWZ_STRIPES * sizeof(swz_stripe);
	pool->nswz = nswz_for(n);
	pool->swz_off = off = ae_align_up(off, 64);
	off += (size_t) pool->nswz * sizeof(swz_table);
	pool->page_off = ae_align_up(off, AE_SHMEM_ALIGN);

	for (uint32_t i = 0; i < n; i++)
	{
		ae_buf	   *b = buf_desc(pool, i);
		char	   *page = (char *) pool + pool->page_off + (size_t) i * AE_PAGE_SIZE;

		memset(b, 0, sizeof(*b));
		atomic_init(&b->state, 0);
		ae_latch_init(&b->latch);
		b->block = AE_NO_BLOCK;
		b->id = i;
		b->hash_next = BUF_NONE;
		b->page_off = page - (char *) b;
		atomic_init(&b->swz, SWZ_NONE);
		memset(page, 0, AE_PAGE_SIZE);
	}
	memset((char *) pool + pool->stripe_off, 0, SWZ_STRIPES * sizeof(swz_stripe));
	for (uint32_t t = 0; t < pool->nswz; t++)
	{
		swz_table  *tab = swz_tab(pool, t);

		atomic_init(&tab->owner, SWZ_NONE);
		atomic_init(&tab->ref, 0);
		memset(tab->pad, 0, sizeof(tab->pad));
		for (uint32_t i = 0; i < SWZ_SLOTS; i++)
			atomic_init(&tab->e[i], SWZ_NONE);
	}
	for (uint32_t i = 0; i < BUF_PARTITIONS; i++)
		ae_spin_init(&((buf_partition *) ((char *) pool + pool->part_off))[i].lock);
	buckets = (uint32_t *) ((char *) pool + pool->bucket_off);
	for (uint32_t i = 0; i < pool->nbuckets; i++)
		buckets[i] = BUF_NONE;
}

ae_status
ae_buf_ring_init(ae_engine *eng)
{
	uint32_t	n = eng->shared->cfg.scan_ring_pages;

	eng->ring_size = n;
	eng->ring_pos = 0;
	eng->stripe = (uint32_t) getpid() % SWZ_STRIPES;
	eng->ring = malloc(sizeof(struct ring_slot) * n);
	if (!eng->ring)
		return ae_fail(AE_NO_MEMORY, (ae_file_id) {0}, AE_NO_BLOCK, "out of memory for scan ring");
	for (uint32_t i = 0; i < n; i++)
		eng->ring[i].id = BUF_NONE;
	return AE_OK;
}

void
ae_buf_ring_free(ae_engine *eng)
{
	free(eng->ring);
	eng->ring = NULL;
}

/* ----------------------------------------------------------- page table */

static uint32_t *
bucket_head(buf_pool *pool, uint32_t bucket)
{
	return (uint32_t *) ((char *) pool + pool->bucket_off) + bucket;
}

/* Frame holding (f, blk) or NULL. Partition lock of bucket held. */
static ae_buf *
table_lookup(buf_pool *pool, uint32_t bucket, ae_file_id f, uint32_t blk)
{
	for (uint32_t id = *bucket_head(pool, bucket); id != BUF_NONE;)
	{
		ae_buf	   *b = buf_desc(pool, id);

		if (b->block == blk && ae_file_id_equal(b->file, f))
			return b;
		id = b->hash_next;
	}
	return NULL;
}

static void
table_insert(buf_pool *pool, uint32_t bucket, ae_buf *b)
{
	uint32_t   *head = bucket_head(pool, bucket);

	b->hash_next = *head;
	*head = b->id;
}

void
ae_buf_table_remove(buf_pool *pool, uint32_t bucket, ae_buf *b)
{
	uint32_t   *link = bucket_head(pool, bucket);

	while (*link != b->id)
	{
		assert(*link != BUF_NONE);	/* B2: a tag-valid frame is in its chain */
		link = &buf_desc(pool, *link)->hash_next;
	}
	*link = b->hash_next;
	b->hash_next = BUF_NONE;
}

/* ------------------------------------------------------------------ I/O */

/*
 * Claim the right to do I/O on pinned frame b (rule B5: one I/O at a time per
 * frame). Waits for another process's I/O to finish first. Returns false when
 * there is nothing to do: for a read, the page is already valid; for a write,
 * it is not dirty. On true the caller must call ae_buf_end_io().
 */
bool
ae_buf_start_io(ae_buf *b, bool for_write)
{
	uint32_t	s;

	for (;;)
	{
		s = buf_lock_hdr(b);
		if (!(s & BS_IO))
			break;
		buf_unlock_hdr(b, s);
		for (uint32_t w = atomic_load(&b->state); w & BS_IO; w = atomic_load(&b->state))
			ae_futex_wait(&b->state, w);
	}
	if (for_write ? !(s & BS_DIRTY) : (s & BS_VALID) != 0)
	{
		buf_unlock_hdr(b, s);
		return false;
	}
	buf_unlock_hdr(b, s | BS_IO);
	return true;
}

void
ae_buf_end_io(ae_buf *b, uint32_t set, uint32_t clear)
{
	uint32_t	s = buf_lock_hdr(b);

	buf_unlock_hdr(b, (s & ~(clear | BS_IO)) | set);
	ae_futex_wake_all(&b->state);
}

/* ------------------------------------------------------ frame allocation */

/*
 * Clock sweep: pin and return an unpinned frame whose usage count has run
 * down to zero. AE_POOL_FULL when a full turn finds every frame pinned
 * (the try counter is reset whenever a usage count is decremented).
 */
static ae_status
clock_victim(ae_engine *eng, ae_buf **out)
{
	buf_pool   *pool = eng->pool;
	uint32_t	tries = pool->nframes;

	for (;;)
	{
		uint32_t	id = (uint32_t) (atomic_fetch_add(&pool->clock, 1) % pool->nframes);
		ae_buf	   *b = buf_desc(pool, id);
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
			if (BS_PINS(s) > 0)
			{
				if (--tries == 0)
					return ae_fail(AE_POOL_FULL, (ae_file_id) {0}, AE_NO_BLOCK,
								   "buffer pool full: all %u frames are pinned", pool->nframes);
				break;
			}
			n = BS_USAGE(s) > 0 ? s - BS_USAGE_ONE : s + BS_PIN_ONE;
			if (atomic_compare_exchange_weak_explicit(&b->state, &s, n,
													  memory_order_acq_rel,
													  memory_order_relaxed))
			{
				if (BS_PINS(n) > 0)
				{
					*out = b;
					return AE_OK;
				}
				tries = pool->nframes;
				break;
			}
		}
	}
}

/*
 * The scan ring's next slot: pin and return its frame if it is unpinned,
 * lightly used and still holds what the ring put there (rule B7); else NULL
 * (the caller takes a clock victim and records it in *slot).
 */
static ae_buf *
ring_victim(ae_engine *eng, struct ring_slot **slot)
{
	struct ring_slot *r;
	ae_buf	   *b;
	uint32_t	s;
	bool		ok;

	if (eng->ring_size == 0)
		return NULL;
	r = &eng->ring[eng->ring_pos];
	eng->ring_pos = (eng->ring_pos + 1) % eng->ring_size;
	*slot = r;
	if (r->id == BUF_NONE)
		return NULL;
	b = buf_desc(eng->pool, r->id);
	s = buf_lock_hdr(b);
	ok = BS_PINS(s) == 0 && BS_USAGE(s) <= 1 && (s & BS_TAG_VALID) &&
		b->block == r->block && ae_file_id_equal(b->file, r->file);
	buf_unlock_hdr(b, ok ? s + BS_PIN_ONE : s);
	return ok ? b : NULL;
}

/*
 * Give pinned victim v the tag (f, blk) in bucket nb. Fails (false, v still
 * pinned by us, tag unchanged) if (f, blk) appeared in the table meanwhile or
 * v was re-pinned or re-dirtied since we chose it (rule B6).
 * On success v is tag-valid, not valid, pinned once (by us).
 */
static bool
retag(ae_engine *eng, ae_buf *v, ae_file_id f, uint32_t blk, uint32_t nb, bool scan)
{
	buf_pool   *pool = eng->pool;
	uint32_t	s = atomic_load(&v->state);
	bool		had_tag = (s & BS_TAG_VALID) != 0;
	bool		was_valid = (s & BS_VALID) != 0;
	uint32_t	ob = had_tag ? buf_bucket(pool, v->file, v->block) : nb;	/* tag stable: we pin v */
	ae_spinlock *nl = buf_part_lock(pool, nb);
	ae_spinlock *ol = buf_part_lock(pool, ob);
	ae_spinlock *first = nl < ol ? nl : ol;
	ae_spinlock *second = nl < ol ? ol : nl;
	bool		ok = false;

	/* rule L4: two partition locks in address order */
	ae_spin_lock(first);
	if (second != first)
		ae_spin_lock(second);
	if (!table_lookup(pool, nb, f, blk))
	{
		s = buf_lock_hdr(v);
		if (BS_PINS(s) == 1 && !(s & (BS_DIRTY | BS_IO)))
		{
			if (had_tag)
				ae_buf_table_remove(pool, ob, v);
			v->file = f;
			v->block = blk;
			v->lsn = 0;
			/* S3: the old page's hint table no longer describes this frame */
			atomic_store_explicit(&v->swz, SWZ_NONE, memory_order_relaxed);
			s = (s & BS_PIN_MASK) | BS_TAG_VALID | (scan ? 0 : BS_USAGE_ONE);
			table_insert(pool, nb, v);
			ok = true;
		}
		buf_unlock_hdr(v, s);
	}
	if (second != first)
		ae_spin_unlock(second);
	ae_spin_unlock(first);
	if (ok && was_valid)
		atomic_fetch_add_explicit(&pool->evictions, 1, memory_order_relaxed);
	return ok;
}

/*
 * Pin a frame found in the table (or named by a swizzle hint); raise its
 * usage count unless a scan. Returns the state the pin was added to, plus it.
 */
static uint32_t
pin_hit(ae_buf *b, bool bump)
{
	uint32_t	s = atomic_load_explicit(&b->state, memory_order_relaxed);

	for (;;)
	{
		uint32_t	n = s + BS_PIN_ONE;

		if (s & BS_LOCKED)
		{
			ae_cpu_relax();
			s = atomic_load_explicit(&b->state, memory_order_relaxed);
			continue;
		}
		if (bump && BS_USAGE(s) < BS_USAGE_MAX)
			n += BS_USAGE_ONE;
		if (atomic_compare_exchange_weak_explicit(&b->state, &s, n,
												  memory_order_acq_rel,
												  memory_order_relaxed))
			return n;
	}
}

/*
 * Find or create the frame for (f, blk) and pin it. On return the frame is
 * pinned and tagged but maybe not yet valid (see make_valid). No latch held.
 */
static ae_status
get_frame(ae_engine *eng, ae_file_id f, uint32_t blk, bool scan, ae_buf **out)
{
	buf_pool   *pool = eng->pool;
	uint32_t	nb = buf_bucket(pool, f, blk);
	ae_spinlock *part = buf_part_lock(pool, nb);

	for (uint32_t attempt = 0;; attempt++)
	{
		struct ring_slot *slot = NULL;
		ae_buf	   *b;
		ae_status	st;

		ae_spin_lock(part);
		b = table_lookup(pool, nb, f, blk);
		if (b)
		{
			/* B3: pinned under the partition lock, so it cannot be retagged */
			pin_hit(b, !scan);
			ae_spin_unlock(part);
			atomic_fetch_add_explicit(&pool->hits, 1, memory_order_relaxed);
			*out = b;
			return AE_OK;
		}
		ae_spin_unlock(part);

		if (attempt > 4 * pool->nframes)
			return ae_fail(AE_POOL_FULL, f, blk, "no evictable frame for block %u of file %u/%u/%u",
						   blk, f.spc, f.db, f.rel);
		b = scan ? ring_victim(eng, &slot) : NULL;
		if (!b && (st = clock_victim(eng, &b)) != AE_OK)
			return st;
		if (atomic_load(&b->state) & BS_DIRTY)
		{
			bool		skipped = false;

			/* B4: never wait for a victim's latch: its holder may wait for ours */
			st = ae_buf_write_frame(eng, b, true, &skipped);
			if (st != AE_OK || skipped)
			{
				buf_unpin(b);
				if (st != AE_OK)
					return st;
				continue;
			}
		}
		if (!retag(eng, b, f, blk, nb, scan))
		{
			buf_unpin(b);
			continue;
		}
		if (slot)
			*slot = (struct ring_slot) {.id = b->id, .block = blk, .file = f};
		*out = b;
		return AE_OK;
	}
}

/*
 * Make pinned frame b valid: read it from the host and verify it, or (zero)
 * fill it with zeros. Another process may be doing it: wait for that. On
 * failure the frame stays tag-valid but not valid; the next user retries.
 */
static ae_status
make_valid(ae_engine *eng, ae_buf *b, bool zero)
{
	void	   *page = ae_buf_page(b);
	ae_status	st = AE_OK;

	if (!ae_buf_start_io(b, false))
		return AE_OK;
	if (zero)
		memset(page, 0, AE_PAGE_SIZE);
	else
	{
		st = eng->host.read_block(eng->host.ctx, b->file, b->block, page);
		if (st == AE_NOT_FOUND)
			ae_fail(AE_NOT_FOUND, b->file, b->block,
					"block %u of file %u/%u/%u is beyond the end of the file",
					b->block, b->file.spc, b->file.db, b->file.rel);
		if (st == AE_OK)
			st = ae_page_verify(page, b->file, b->block);
		atomic_fetch_add_explicit(&eng->pool->reads, 1, memory_order_relaxed);
	}
	if (st != AE_OK)
	{
		ae_buf_end_io(b, 0, 0);
		return st;
	}
	b->lsn = ae_page_hdr(page)->lsn;
	ae_buf_end_io(b, BS_VALID, 0);
	return AE_OK;
}

/* ------------------------------------------------------------ public API */

ae_status
ae_buf_read(ae_engine *eng, ae_file_id f, uint32_t blk,
			ae_latch_mode mode, int flags, ae_buf **out)
{
	ae_buf	   *b;
	ae_status	st;

	if (blk == AE_NO_BLOCK)
		return ae_fail(AE_INVALID, f, blk, "ae_buf_read: invalid block number");
	st = get_frame(eng, f, blk, (flags & AE_BUF_SCAN) != 0, &b);
	if (st != AE_OK)
		return st;
	st = make_valid(eng, b, false);
	if (st != AE_OK)
	{
		buf_unpin(b);
		return st;
	}
	ae_buf_latch(b, mode);
	*out = b;
	return AE_OK;
}

ae_status
ae_buf_new(ae_engine *eng, ae_file_id f, uint32_t blk, ae_buf **out)
{
	ae_buf	   *b;
	ae_status	st;

	if (blk == AE_NO_BLOCK)
		return ae_fail(AE_INVALID, f, blk, "ae_buf_new: invalid block number");
	st = get_frame(eng, f, blk, false, &b);
	if (st != AE_OK)
		return st;
	st = make_valid(eng, b, true);
	if (st != AE_OK)
	{
		buf_unpin(b);
		return st;
	}
	ae_buf_latch(b, AE_LATCH_EXCLUSIVE);
	/* it may have been cached with old contents: the caller gets zeros either way */
	memset(ae_buf_page(b), 0, AE_PAGE_SIZE);
	/* S3: so are its child pointers (the hints are dropped, not just outvoted) */
	atomic_store_explicit(&b->swz, SWZ_NONE, memory_order_release);
	*out = b;
	return AE_OK;
}

/* ------------------------------------------------------------ swizzling */

/*
 * Validate a swizzle hint (rule S1): pin frame id and keep the pin only if
 * the frame holds (f, blk). No page-table lookup, no partition lock: the pin
 * is a CAS on the frame's state word, and while it is held the tag cannot
 * change (B3, B6: a retag needs its retagger to be the sole pinner, and
 * invalidate needs no pin at all), so the tag read after pinning is the
 * frame's identity for as long as we keep the pin. A frame that was evicted
 * or reused for another page since the hint was written (ABA) fails the
 * check and is unpinned at once. Returns the frame with *state = its state
 * after our pin, or NULL (nothing pinned).
 */
static ae_buf *
swz_pin(buf_pool *pool, uint32_t id, ae_file_id f, uint32_t blk, bool scan, uint32_t *state)
{
	ae_buf	   *b;
	uint32_t	s;

	if (id >= pool->nframes)
		return NULL;
	b = buf_desc(pool, id);
	s = pin_hit(b, !scan);
	if ((s & BS_TAG_VALID) && b->block == blk && ae_file_id_equal(b->file, f))
	{
		*state = s;
		return b;
	}
	buf_unpin(b);
	return NULL;
}

/*
 * Give pinned frame p a swizzle table (rule S4): run the table clock, giving
 * a table in use whose ref bit is set a second chance, claim one by CAS on its
 * owner, detach it from its previous frame, clear it and attach it to p.
 * Returns p's table (maybe one another process attached meanwhile) or NULL.
 * Entries of a table are hints only (S1), so a stale writer still holding a
 * stolen table can only cause a miss later, never a wrong page.
 */
static swz_table *
swz_attach(ae_engine *eng, ae_buf *p)
{
	buf_pool   *pool = eng->pool;
	uint32_t	none = SWZ_NONE;
	uint32_t	t;

	for (uint32_t tries = 0;; tries++)
	{
		swz_table  *tab;
		uint32_t	owner;
		bool		in_use;

		if (tries > 2 * pool->nswz + 1)
			return NULL;		/* every table kept busy: go without */
		t = (uint32_t) (atomic_fetch_add_explicit(&pool->swz_clock, 1, memory_order_relaxed) % pool->nswz);
		tab = swz_tab(pool, t);
		owner = atomic_load_explicit(&tab->owner, memory_order_acquire);
		in_use = owner != SWZ_NONE && owner < pool->nframes &&
			atomic_load_explicit(&buf_desc(pool, owner)->swz, memory_order_relaxed) == t;
		if (in_use && atomic_exchange_explicit(&tab->ref, 0, memory_order_relaxed))
			continue;			/* second chance */
		if (!atomic_compare_exchange_strong_explicit(&tab->owner, &owner, p->id,
													 memory_order_acq_rel, memory_order_relaxed))
			continue;			/* another process claimed it first */
		if (owner != SWZ_NONE && owner < pool->nframes)
		{
			uint32_t	expect = t;

			if (atomic_compare_exchange_strong_explicit(&buf_desc(pool, owner)->swz, &expect, SWZ_NONE,
														memory_order_acq_rel, memory_order_relaxed) &&
				owner != p->id)
				atomic_fetch_add_explicit(&swz_stripe_of(eng)->steals, 1, memory_order_relaxed);
		}
		for (uint32_t i = 0; i < SWZ_SLOTS; i++)
			atomic_store_explicit(&tab->e[i], SWZ_NONE, memory_order_relaxed);
		atomic_store_explicit(&tab->ref, 1, memory_order_relaxed);
		break;
	}
	if (!atomic_compare_exchange_strong_explicit(&p->swz, &none, t,
												 memory_order_acq_rel, memory_order_relaxed))
	{
		uint32_t	me = p->id;

		/* another pinner attached one meanwhile: give ours back */
		atomic_compare_exchange_strong_explicit(&swz_tab(pool, t)->owner, &me, SWZ_NONE,
												memory_order_acq_rel, memory_order_relaxed);
		t = none;
	}
	return t == SWZ_NONE ? NULL : swz_tab(pool, t);
}

/* Pinned frame b: make it valid and latch it (the tail of every read). */
static ae_status
read_finish(ae_engine *eng, ae_buf *b, uint32_t s, ae_latch_mode mode, ae_buf **out)
{
	if (!(s & BS_VALID))
	{
		ae_status	st = make_valid(eng, b, false);

		if (st != AE_OK)
		{
			buf_unpin(b);
			return st;
		}
	}
	ae_buf_latch(b, mode);
	*out = b;
	return AE_OK;
}

ae_status
ae_buf_read_child(ae_engine *eng, ae_buf *parent, int slot, ae_file_id f, uint32_t blk,
				  ae_latch_mode mode, int flags, ae_buf **out)
{
	buf_pool   *pool = eng->pool;
	bool		scan = (flags & AE_BUF_SCAN) != 0;
	swz_stripe *cnt = swz_stripe_of(eng);
	swz_table  *tab = NULL;
	ae_buf	   *b;
	uint32_t	t,
				s = 0;
	ae_status	st;

	if (blk == AE_NO_BLOCK)
		return ae_fail(AE_INVALID, f, blk, "ae_buf_read_child: invalid block number");
	if (slot < 0 || slot >= SWZ_SLOTS)
		return ae_buf_read(eng, f, blk, mode, flags, out);
	t = atomic_load_explicit(&parent->swz, memory_order_acquire);
	if (t < pool->nswz)
	{
		uint32_t	id;

		tab = swz_tab(pool, t);
		id = atomic_load_explicit(&tab->e[slot], memory_order_relaxed);
		if (id != SWZ_NONE)
		{
			/* hot path (S2): no page-table lookup, no partition lock */
			if ((b = swz_pin(pool, id, f, blk, scan, &s)) != NULL)
			{
				atomic_fetch_add_explicit(&cnt->hits, 1, memory_order_relaxed);
				if (!atomic_load_explicit(&tab->ref, memory_order_relaxed))
					atomic_store_explicit(&tab->ref, 1, memory_order_relaxed);
				return read_finish(eng, b, s, mode, out);
			}
			atomic_fetch_add_explicit(&cnt->stale, 1, memory_order_relaxed);
		}
		else
			atomic_fetch_add_explicit(&cnt->misses, 1, memory_order_relaxed);
	}
	else
		atomic_fetch_add_explicit(&cnt->misses, 1, memory_order_relaxed);

	/* cold path: the page table, then swizzle the slot to the frame found */
	if ((st = get_frame(eng, f, blk, scan, &b)) != AE_OK)
		return st;
	if (!tab)
		tab = swz_attach(eng, parent);
	if (tab)
		atomic_store_explicit(&tab->e[slot], b->id, memory_order_relaxed);
	return read_finish(eng, b, 0, mode, out);
}

ae_status
ae_buf_read_hint(ae_engine *eng, ae_file_id f, uint32_t blk, ae_latch_mode mode,
				 int flags, uint32_t *hint, ae_buf **out)
{
	swz_stripe *cnt = swz_stripe_of(eng);
	bool		scan = (flags & AE_BUF_SCAN) != 0;
	ae_buf	   *b;
	uint32_t	s = 0;
	ae_status	st;

	if (blk == AE_NO_BLOCK)
		return ae_fail(AE_INVALID, f, blk, "ae_buf_read_hint: invalid block number");
	if (*hint != SWZ_NONE)
	{
		if ((b = swz_pin(eng->pool, *hint, f, blk, scan, &s)) != NULL)
		{
			atomic_fetch_add_explicit(&cnt->hits, 1, memory_order_relaxed);
			return read_finish(eng, b, s, mode, out);
		}
		atomic_fetch_add_explicit(&cnt->stale, 1, memory_order_relaxed);
	}
	else
		atomic_fetch_add_explicit(&cnt->misses, 1, memory_order_relaxed);
	if ((st = get_frame(eng, f, blk, scan, &b)) != AE_OK)
		return st;
	*hint = b->id;
	return read_finish(eng, b, 0, mode, out);
}

void
ae_buf_unswizzle(ae_engine *eng, ae_buf *b, int from_slot)
{
	uint32_t	t = atomic_load_explicit(&b->swz, memory_order_acquire);
	swz_table  *tab;

	assert(ae_latch_held_exclusive(&b->latch));	/* S5 */
	if (t >= eng->pool->nswz)
		return;
	tab = swz_tab(eng->pool, t);
	for (int i = from_slot < 0 ? 0 : from_slot; i < SWZ_SLOTS; i++)
		atomic_store_explicit(&tab->e[i], SWZ_NONE, memory_order_relaxed);
}

void *
ae_buf_page(ae_buf *b)
{
	return (char *) b + b->page_off;
}

uint32_t
ae_buf_block(ae_buf *b)
{
	return b->block;
}

ae_file_id
ae_buf_file(ae_buf *b)
{
	return b->file;
}

static void
remember(ae_buf *b)
{
	assert(nheld < MAX_HELD);	/* B1: a call holds a handful of latches */
	if (nheld >= MAX_HELD)
		abort();
	held[nheld++] = b;
}

void
ae_buf_latch(ae_buf *b, ae_latch_mode mode)
{
	if (mode == AE_LATCH_NONE)
		return;
	ae_latch_acquire(&b->latch, mode == AE_LATCH_EXCLUSIVE);
	remember(b);
}

bool
ae_buf_try_latch(ae_buf *b, ae_latch_mode mode)
{
	if (mode == AE_LATCH_NONE)
		return true;
	if (!ae_latch_try_acquire(&b->latch, mode == AE_LATCH_EXCLUSIVE))
		return false;
	remember(b);
	return true;
}

/* Drop this process's most recent latch on b; false if it holds none. */
static bool
forget(ae_buf *b)
{
	for (int i = nheld - 1; i >= 0; i--)
		if (held[i] == b)
		{
			held[i] = held[--nheld];
			ae_latch_release(&b->latch);
			return true;
		}
	return false;
}

void
ae_buf_unlatch(ae_buf *b)
{
	bool		had = forget(b);

	assert(had);
	(void) had;
}

void
ae_buf_release(ae_buf *b)
{
	forget(b);
	buf_unpin(b);
}

int
ae_buf_held_latches(void)
{
	return nheld;
}

/*
 * Raise the page LSN to lsn (never lowers it) and mark the frame dirty.
 * Entry and exit: b pinned and latched exclusively by the caller (B8).
 */
void
ae_buf_mark_dirty(ae_buf *b, ae_lsn lsn)
{
	ae_page_header *h = ae_page_hdr(ae_buf_page(b));

	assert(ae_latch_held_exclusive(&b->latch));	/* B8 */
	if (lsn > h->lsn)
		h->lsn = lsn;
	b->lsn = h->lsn;
	buf_update_state(b, BS_DIRTY, 0, 0);
}
