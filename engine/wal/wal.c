/*
 * wal.c — the shared log buffer: inserting record groups (reservation by an
 * atomic add, copies in parallel, insertion slots) and group-commit flushing.
 * Invariants W1 and W6 are in wal_internal.h, W7 (no deadlock) in
 * wal/README.md; lock order L0..L5 and rule L9 in engine/README.md.
 */
#include <limits.h>
#include <string.h>

#include "wal_internal.h"

#define SLOT_SPINS 200			/* spins on a slot before sleeping on its futex */

/* Process-local: the slot this process took last (inherited by fork, then it drifts). */
static int	my_slot;

size_t
ae_wal_shmem_size(const ae_engine_config *cfg)
{
	return ae_align_up(sizeof(wal_shared), 64) + cfg->wal_buffer_bytes;
}

void
ae_wal_shmem_init(wal_shared *w, const ae_engine_config *cfg)
{
	memset(w, 0, sizeof(*w));
	w->size = cfg->wal_buffer_bytes;
	w->mask = cfg->wal_buffer_bytes - 1;
	w->ring_off = ae_align_up(sizeof(wal_shared), 64);
	ae_latch_init(&w->flush_latch);
	ae_latch_init(&w->checkpoint_latch);
	atomic_init(&w->redo_lsn, 0);	/* no checkpoint yet: the whole log is the redo */
	atomic_init(&w->cur_pos, AE_WAL_START_LSN);
	atomic_init(&w->written_lsn, AE_WAL_START_LSN);
	atomic_init(&w->flushed_lsn, AE_WAL_START_LSN);
	atomic_init(&w->failed_lsn, 0);
	for (int i = 0; i < AE_WAL_INSERT_SLOTS; i++)
	{
		ae_latch_init(&w->slots[i].owner);
		atomic_init(&w->slots[i].seq, 0);
		atomic_init(&w->slots[i].at, 0);
	}
}

static char *
ring(wal_shared *w)
{
	return (char *) w + w->ring_off;
}

/* ---------------------------------------------------------- slots (W6) */

/* Take a free slot (preferring the one taken last), else wait for that one. */
static wal_slot *
slot_acquire(wal_shared *w)
{
	for (int i = 0; i < AE_WAL_INSERT_SLOTS; i++)
	{
		int			k = (my_slot + i) % AE_WAL_INSERT_SLOTS;

		if (ae_latch_try_acquire(&w->slots[k].owner, true))
		{
			my_slot = k;
			return &w->slots[k];
		}
	}
	ae_latch_acquire(&w->slots[my_slot].owner, true);
	return &w->slots[my_slot];
}

/*
 * The owner changes its slot's `at` (progress, or 0: done) after the copies
 * it covers (release order), then wakes whoever sleeps on the slot.
 */
static void
slot_set(wal_slot *s, uint64_t at)
{
	uint32_t	q = atomic_load_explicit(&s->seq, memory_order_relaxed);

	atomic_store_explicit(&s->at, at, memory_order_release);
	while (!atomic_compare_exchange_weak(&s->seq, &q, (q + 2) & ~1u))
		;
	if (q & 1)
		ae_futex_wake_all(&s->seq);
}

static void
slot_release(wal_slot *s)
{
	slot_set(s, 0);
	ae_latch_release(&s->owner);
}

/* True when the slot's owner has nothing uncopied below upto. */
static inline bool
slot_past(uint64_t at, uint64_t upto)
{
	return at == 0 || at >= upto;
}

/*
 * Wait until every byte below upto is copied; upto must not exceed cur_pos
 * as read before the call (a reservation made later starts at or after it,
 * whatever slot it uses). Caller holds no flush latch, and, if it owns a
 * slot itself, that slot's `at` is >= upto (W7).
 */
static void
wait_copies(wal_shared *w, uint64_t upto)
{
	for (int i = 0; i < AE_WAL_INSERT_SLOTS; i++)
	{
		wal_slot   *s = &w->slots[i];

		for (int spins = 0;; spins++)
		{
			/* seq before at: a change of `at` after this load bumps seq, so the futex wait returns */
			uint32_t	q = atomic_load(&s->seq);

			if (slot_past(atomic_load_explicit(&s->at, memory_order_acquire), upto))
				break;
			if (spins < SLOT_SPINS)
			{
				ae_cpu_relax();
				continue;
			}
			if (!(q & 1))
			{
				if (!atomic_compare_exchange_weak(&s->seq, &q, q | 1))
					continue;
				q |= 1;
			}
			ae_futex_wait(&s->seq, q);
		}
	}
}

/*
 * Every byte below the result is copied (W6), without waiting: the reserved
 * end, lowered to the lowest `at` of a slot in use. cur_pos is read first
 * (acquire): every reservation below it has set its slot's `at` by then.
 */
static uint64_t
copied_upto(wal_shared *w)
{
	uint64_t	p = atomic_load_explicit(&w->cur_pos, memory_order_acquire);

	for (int i = 0; i < AE_WAL_INSERT_SLOTS; i++)
	{
		uint64_t	at = atomic_load_explicit(&w->slots[i].at, memory_order_acquire);

		if (at != 0 && at < p)
			p = at;
	}
	return p;
}

/*
 * Clamp a write target to the failed reservation, if any; an error if the
 * caller needs bytes at or after it.
 */
static ae_status
check_failed(wal_shared *w, uint64_t *target, uint64_t upto)
{
	uint64_t	f = atomic_load(&w->failed_lsn);

	if (f == 0)
		return AE_OK;
	if (*target > f)
		*target = f;
	if (upto > f)
		return ae_fail(AE_IO_ERROR, (ae_file_id) {0}, AE_NO_BLOCK,
					   "the log cannot be written past LSN %llu: inserting a record there failed",
					   (unsigned long long) f);
	return AE_OK;
}

/*
 * The reserved end: every group whose ae_wal_insert has returned ends at or
 * before it (a commit flushes to it). Groups other processes are still
 * copying may end before it too; ae_wal_flush/ae_wal_write to it wait for
 * them. (Not "copied up to here": that would stop before a group still
 * being copied by another process and miss groups inserted after it.)
 */
ae_lsn
ae_wal_insert_lsn(ae_engine *eng)
{
	return atomic_load_explicit(&eng->wal->cur_pos, memory_order_acquire);
}

ae_lsn
ae_wal_flushed_lsn(ae_engine *eng)
{
	return atomic_load(&eng->wal->flushed_lsn);
}

/* Hand ring bytes [from, to) to the host. Caller holds the flush latch. */
static ae_status
write_ring(ae_engine *eng, wal_shared *w, uint64_t from, uint64_t to)
{
	while (from < to)
	{
		size_t		off = from & w->mask;
		size_t		n = to - from;
		ae_status	st;

		if (n > w->size - off)
			n = w->size - off;
		st = eng->host.log_write(eng->host.ctx, from, ring(w) + off, n);
		if (st != AE_OK)
			return st;
		from += n;
		/* free the ring space as soon as it is written (W1) */
		atomic_store_explicit(&w->written_lsn, from, memory_order_release);
	}
	return AE_OK;
}

/* upto, or the reserved end if that is lower. */
static uint64_t
clamp_to_reserved(wal_shared *w, uint64_t upto)
{
	uint64_t	cur = atomic_load_explicit(&w->cur_pos, memory_order_acquire);

	return upto > cur ? cur : upto;
}

/*
 * Where a write of every copied byte not written yet ends (at least upto,
 * unless an insertion failed below it). Caller holds the flush latch and
 * has waited for the copies below upto.
 */
static ae_status
copied_target(wal_shared *w, uint64_t upto, uint64_t *target)
{
	/*
	 * copied_upto is a lower bound of what is copied, not more: an inserter
	 * may advertise its lower bound (W6) after our wait_copies passed, a
	 * value below upto. The wait proved everything below upto copied.
	 */
	*target = copied_upto(w);
	if (*target < upto)
		*target = upto;
	return check_failed(w, target, upto);
}

/*
 * Bump flush word k and wake up to n of its sleepers. Bumping before
 * reading the sleeper count makes a process about to sleep on the old
 * value return at once.
 */
static void
wake_word(wal_shared *w, int k, int n)
{
	atomic_fetch_add(&w->gen_word[k], 1);
	if (atomic_load(&w->gen_sleepers[k]) > 0)
		ae_futex_wake(&w->gen_word[k], n);
}

/*
 * Release the flush latch and wake, after flush gen / 2 - 1 (the last one;
 * also after a write that started none), every process it covered and one
 * process waiting for the next flush, to lead it (W3).
 */
void
ae_wal_flush_latch_release(wal_shared *w)
{
	uint32_t	next = atomic_load(&w->flush_gen) / 2;

	ae_latch_release(&w->flush_latch);
	wake_word(w, (next + 1) & 1, INT_MAX);	/* the last flush's word */
	wake_word(w, next & 1, 1);
}

/*
 * W3, acquire or wait: take the flush latch, unless *done reaches upto
 * first (false). While another process holds it, sleep: until the end of
 * the flush in progress if its published target covers upto, else until a
 * release hands the latch on (one such sleeper is woken per release, so
 * the processes that the next flush will cover are not all woken to find
 * the latch taken again). A process that sleeps for the next flush and
 * finds it started by someone else sleeps on as one that flush covers; one
 * woken to lead that finds nothing left to do passes the wake on.
 */
static bool
flush_latch_unless_done(wal_shared *w, _Atomic uint64_t *done, uint64_t upto)
{
	int			woke_from = -1;	/* the word we last slept on as a next-flush waiter */

	for (;;)
	{
		uint32_t	gen,
					v,
					n;
		int			k;
		bool		next;

		if (atomic_load(done) >= upto)
		{
			if (woke_from >= 0 && !ae_latch_held_exclusive(&w->flush_latch))
				wake_word(w, woke_from, 1);
			return false;
		}
		if (ae_latch_try_acquire(&w->flush_latch, true))
			return true;
		gen = atomic_load(&w->flush_gen);
		n = gen / 2;			/* gen odd: flush n runs; even: flush n is next */
		next = !(gen & 1) || atomic_load(&w->flush_target) < upto;
		if ((gen & 1) && next)
			n++;				/* the flush in progress does not cover us */
		k = n & 1;
		v = atomic_load(&w->gen_word[k]);
		atomic_fetch_add(&w->gen_sleepers[k], 1);
		if (atomic_load(done) < upto && ae_latch_held_exclusive(&w->flush_latch) &&
			atomic_load(&w->flush_gen) == gen)
			ae_futex_wait(&w->gen_word[k], v);
		atomic_fetch_sub(&w->gen_sleepers[k], 1);
		woke_from = next ? k : -1;
	}
}

/*
 * Make the log durable up to at least upto (clamped to what is reserved).
 * Group commit: wait (holding no latch) until every byte below upto is
 * copied; then whoever takes the flush latch writes and syncs everything
 * copied so far, and processes that waited for the latch usually find
 * their LSN already flushed and return without I/O.
 * Entry/exit: may hold page latches and an insertion slot whose `at` is >=
 * upto (the ring-full path of ae_wal_insert); holds no spinlock and no
 * flush latch.
 */
ae_status
ae_wal_flush(ae_engine *eng, ae_lsn upto)
{
	wal_shared *w = eng->wal;
	uint64_t	target;
	ae_status	st;

	upto = clamp_to_reserved(w, upto);
	if (atomic_load(&w->flushed_lsn) >= upto)
		return AE_OK;
	atomic_fetch_add_explicit(&w->flush_requests, 1, memory_order_relaxed);
	wait_copies(w, upto);
	if (!flush_latch_unless_done(w, &w->flushed_lsn, upto))
		return AE_OK;
	if (atomic_load(&w->flushed_lsn) >= upto)
	{
		ae_wal_flush_latch_release(w);
		return AE_OK;
	}
	st = copied_target(w, upto, &target);
	atomic_store(&w->flush_target, target);
	atomic_fetch_add(&w->flush_gen, 1);	/* odd: this flush runs */
	if (st == AE_OK)
		st = write_ring(eng, w, atomic_load(&w->written_lsn), target);
	if (st == AE_OK)
		st = eng->host.log_sync(eng->host.ctx);
	if (st == AE_OK)
	{
		if (target > atomic_load(&w->flushed_lsn))	/* only we move it (flush latch) */
			atomic_store(&w->flushed_lsn, target);
		atomic_fetch_add_explicit(&w->flushes, 1, memory_order_relaxed);
	}
	atomic_fetch_add(&w->flush_gen, 1);	/* even: done */
	ae_wal_flush_latch_release(w);
	return st;
}

/*
 * Hand the log up to at least upto to the host without syncing it (the
 * bytes then survive a crash of the processes, not of the machine). A later
 * ae_wal_flush syncs them: the host's log_sync covers bytes written by any
 * process. Waits for copies as ae_wal_flush does.
 */
ae_status
ae_wal_write(ae_engine *eng, ae_lsn upto)
{
	wal_shared *w = eng->wal;
	uint64_t	target;
	ae_status	st;

	upto = clamp_to_reserved(w, upto);
	if (atomic_load(&w->written_lsn) >= upto)
		return AE_OK;
	wait_copies(w, upto);
	if (!flush_latch_unless_done(w, &w->written_lsn, upto))
		return AE_OK;
	st = copied_target(w, upto, &target);
	if (st == AE_OK)
		st = write_ring(eng, w, atomic_load(&w->written_lsn), target);
	ae_wal_flush_latch_release(w);
	return st;
}

/* Copy n bytes to the ring at LSN pos (space already reserved). */
static void
copy_in(wal_shared *w, uint64_t pos, const char *src, size_t n)
{
	size_t		off = pos & w->mask;
	size_t		first = n < w->size - off ? n : w->size - off;

	memcpy(ring(w) + off, src, first);
	memcpy(ring(w), src + first, n - first);
}

/*
 * Bind each record of the group at lsn to its position (R6): continue its
 * CRC (over bytes 8..total, computed by the caller) over its own LSN.
 */
static void
seal_at(char *data, size_t len, uint64_t lsn)
{
	for (size_t off = 0; off < len;)
	{
		ae_log_record *r = (ae_log_record *) (data + off);

		assert(r->total_len >= sizeof(*r) && r->total_len % 8 == 0 && r->total_len <= len - off);
		r->crc = ae_wal_crc_at(r->crc, lsn + off);
		off += r->total_len;
	}
}

/*
 * See wal_internal.h and wal/README.md. Holding an insertion slot, check the
 * redo point (W5), reserve [start, start + len) with an atomic add, then
 * copy. A group that fits the ring is copied in one piece once there is room
 * for all of it (writing out the log to make room); a group larger than the
 * whole ring is copied in pieces, its slot advertising each piece (W2: a
 * group without its last record is ignored by recovery). Each record's CRC
 * is bound to its LSN in data between the two (seal_at, R6).
 * Entry: the caller may hold page latches (L1), nothing else.
 */
ae_status
ae_wal_insert(ae_engine *eng, void *data, size_t len, uint32_t nrecords,
			  ae_lsn redo_seen, ae_lsn *start, ae_lsn *end)
{
	wal_shared *w = eng->wal;
	wal_slot   *slot;
	uint64_t	pos;
	size_t		off = 0;
	ae_status	st = AE_OK;

	assert(len % 8 == 0);
	slot = slot_acquire(w);		/* L2: a checkpoint cannot move the redo point until we are done */
	if (redo_seen != AE_WAL_ANY_REDO &&
		redo_seen != atomic_load_explicit(&w->redo_lsn, memory_order_acquire))
	{
		/* a checkpoint began since the caller chose its page images (W5) */
		ae_latch_release(&slot->owner);
		*start = *end = 0;
		return AE_CONFLICT;
	}
	/*
	 * W6: a lower bound of our start is in the slot before the add makes the
	 * reservation visible (seq_cst store, then the add: whoever reads the new
	 * cur_pos sees it), and the start itself after.
	 */
	atomic_store(&slot->at, atomic_load(&w->cur_pos));
	pos = atomic_fetch_add(&w->cur_pos, len);
	slot_set(slot, pos);

	*start = pos;
	seal_at(data, len, pos);	/* our slot holds copies at pos back: keep it short */
	while (off < len)
	{
		uint64_t	limit = atomic_load_explicit(&w->written_lsn, memory_order_acquire) + w->size;
		size_t		need = (off == 0 && len <= w->size) ? len : 1;
		size_t		n;

		if (pos + need > limit)
		{
			/*
			 * Ring full (W1): write out everything before pos. Our slot says
			 * we have nothing uncopied below pos, so that wait never waits
			 * for us (W7).
			 */
			st = ae_wal_flush(eng, pos);
			if (st != AE_OK)
				break;
			continue;
		}
		n = len - off < limit - pos ? len - off : limit - pos;
		copy_in(w, pos, (const char *) data + off, n);
		pos += n;
		off += n;
		if (off < len)
			slot_set(slot, pos);	/* partial publication: only for groups > ring */
	}
	if (st == AE_OK)
	{
		atomic_fetch_add_explicit(&w->records, nrecords, memory_order_relaxed);
		atomic_fetch_add_explicit(&w->bytes, len, memory_order_relaxed);
	}
	else
	{
		/* [pos, start + len) stays uncopied: nothing from pos on may be written */
		uint64_t	f = atomic_load(&w->failed_lsn);

		while ((f == 0 || pos < f) && !atomic_compare_exchange_weak(&w->failed_lsn, &f, pos))
			;
	}
	slot_release(slot);
	*end = pos;
	return st;
}

/*
 * Resume logging at lsn (after replay found the valid end). Everything
 * before lsn counts as durable. Call when no process is inserting.
 */
void
ae_wal_set_insert_lsn(ae_engine *eng, ae_lsn lsn)
{
	wal_shared *w = eng->wal;

	assert(lsn % 8 == 0 && lsn >= AE_WAL_START_LSN);
	ae_latch_acquire(&w->flush_latch, true);
	atomic_store(&w->cur_pos, lsn);
	atomic_store(&w->written_lsn, lsn);
	atomic_store(&w->flushed_lsn, lsn);
	atomic_store(&w->failed_lsn, 0);
	ae_wal_flush_latch_release(w);
}

ae_lsn
ae_wal_redo_lsn(ae_engine *eng)
{
	return atomic_load(&eng->wal->redo_lsn);
}

ae_lsn
ae_wal_begin_checkpoint(ae_engine *eng)
{
	wal_shared *w = eng->wal;
	ae_lsn		redo;

	/*
	 * Every slot, in order (L2; the checkpoint latch L0 makes this the only
	 * process holding more than one): no insert is between its W5 check and
	 * its add, so every group reserved from here on sees the new redo point.
	 */
	for (int i = 0; i < AE_WAL_INSERT_SLOTS; i++)
		ae_latch_acquire(&w->slots[i].owner, true);
	redo = atomic_load(&w->cur_pos);
	atomic_store(&w->redo_lsn, redo);
	/*
	 * Before the checkpoint looks at which pages are dirty: a writer that
	 * dirties a page and then reads the redo point without a slot
	 * (ae_btree_reserve_ids' unlogged change) either sees this point or has
	 * its page found dirty (a fence on each side).
	 */
	atomic_thread_fence(memory_order_seq_cst);
	for (int i = AE_WAL_INSERT_SLOTS - 1; i >= 0; i--)
		ae_latch_release(&w->slots[i].owner);
	return redo;
}

void
ae_wal_set_redo_lsn(ae_engine *eng, ae_lsn lsn)
{
	atomic_store(&eng->wal->redo_lsn, lsn);	/* nobody logs yet */
}

void
ae_wal_get_stats(ae_engine *eng, ae_engine_stats *out)
{
	wal_shared *w = eng->wal;

	out->wal_flush_requests = atomic_load(&w->flush_requests);
	out->wal_page_images = atomic_load(&w->page_images);
	out->checkpoints = atomic_load(&w->checkpoints);
	out->checkpoint_time = atomic_load(&w->checkpoint_time);
	out->checkpoint_redo_lsn = atomic_load(&w->checkpoint_redo);

	out->wal_records = atomic_load(&w->records);
	out->wal_bytes = atomic_load(&w->bytes);
	out->wal_flushes = atomic_load(&w->flushes);
	out->wal_insert_lsn = atomic_load(&w->cur_pos);
	out->wal_flushed_lsn = atomic_load(&w->flushed_lsn);
}
