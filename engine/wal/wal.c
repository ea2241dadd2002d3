/*
 * wal.c — the shared log buffer: inserting record groups and group-commit
 * flushing. Invariant W1 is in wal_internal.h; rules L1..L6 in engine/README.md.
 */
#include <string.h>

#include "wal_internal.h"

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
	ae_latch_init(&w->insert_latch);
	ae_latch_init(&w->flush_latch);
	ae_latch_init(&w->checkpoint_latch);
	atomic_init(&w->redo_lsn, 0);	/* no checkpoint yet: the whole log is the redo */
	w->insert_pos = AE_WAL_START_LSN;
	atomic_init(&w->insert_lsn, AE_WAL_START_LSN);
	atomic_init(&w->written_lsn, AE_WAL_START_LSN);
	atomic_init(&w->flushed_lsn, AE_WAL_START_LSN);
}

static char *
ring(wal_shared *w)
{
	return (char *) w + w->ring_off;
}

ae_lsn
ae_wal_insert_lsn(ae_engine *eng)
{
	return atomic_load(&eng->wal->insert_lsn);
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

/*
 * Make the log durable up to at least upto (clamped to what is inserted).
 * Group commit: whoever takes the flush latch writes and syncs everything
 * inserted so far; processes that waited for the latch usually find their
 * LSN already flushed and return without I/O.
 * Entry/exit: may hold page latches and the insertion latch (L2 before L3);
 * holds no spinlock.
 */
ae_status
ae_wal_flush(ae_engine *eng, ae_lsn upto)
{
	wal_shared *w = eng->wal;
	uint64_t	target;
	ae_status	st;

	if (upto > atomic_load(&w->insert_lsn))
		upto = atomic_load(&w->insert_lsn);
	if (atomic_load(&w->flushed_lsn) >= upto)
		return AE_OK;
	atomic_fetch_add_explicit(&w->flush_requests, 1, memory_order_relaxed);
	ae_latch_acquire(&w->flush_latch, true);
	if (atomic_load(&w->flushed_lsn) >= upto)
	{
		ae_latch_release(&w->flush_latch);
		return AE_OK;
	}
	target = atomic_load_explicit(&w->insert_lsn, memory_order_acquire);
	st = write_ring(eng, w, atomic_load(&w->written_lsn), target);
	if (st == AE_OK)
		st = eng->host.log_sync(eng->host.ctx);
	if (st == AE_OK)
	{
		atomic_store(&w->flushed_lsn, target);
		atomic_fetch_add_explicit(&w->flushes, 1, memory_order_relaxed);
	}
	ae_latch_release(&w->flush_latch);
	return st;
}

/*
 * Hand the log up to at least upto to the host without syncing it (the
 * bytes then survive a crash of the processes, not of the machine). A later
 * ae_wal_flush syncs them: the host's log_sync covers bytes written by any
 * process.
 */
ae_status
ae_wal_write(ae_engine *eng, ae_lsn upto)
{
	wal_shared *w = eng->wal;
	ae_status	st;

	if (upto > atomic_load(&w->insert_lsn))
		upto = atomic_load(&w->insert_lsn);
	if (atomic_load(&w->written_lsn) >= upto)
		return AE_OK;
	ae_latch_acquire(&w->flush_latch, true);
	st = write_ring(eng, w, atomic_load(&w->written_lsn),
					atomic_load_explicit(&w->insert_lsn, memory_order_acquire));
	ae_latch_release(&w->flush_latch);
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
 * See wal_internal.h. A group that fits the ring is copied in one piece once
 * there is room (flushing to make room); a group larger than the whole ring
 * is copied in pieces, each published and flushed as the ring fills, which
 * is safe because recovery ignores a group whose last record is missing.
 * Entry: the caller may hold page latches (L1), nothing else.
 */
ae_status
ae_wal_insert(ae_engine *eng, const void *data, size_t len, uint32_t nrecords,
			  ae_lsn redo_seen, ae_lsn *start, ae_lsn *end)
{
	wal_shared *w = eng->wal;
	uint64_t	pos;
	size_t		off = 0;
	ae_status	st = AE_OK;

	assert(len % 8 == 0);
	ae_latch_acquire(&w->insert_latch, true);
	if (redo_seen != AE_WAL_ANY_REDO && redo_seen != atomic_load(&w->redo_lsn))
	{
		/* a checkpoint began since the caller chose its page images (W5) */
		ae_latch_release(&w->insert_latch);
		*start = *end = 0;
		return AE_CONFLICT;
	}
	pos = w->insert_pos;
	*start = pos;
	while (off < len)
	{
		size_t		avail = w->size - (pos - atomic_load_explicit(&w->written_lsn, memory_order_acquire));
		size_t		need = (off == 0 && len <= w->size) ? len : 1;
		size_t		n;

		if (avail < need)
		{
			/* ring full: write out everything published so far (L2 then L3) */
			st = ae_wal_flush(eng, pos);
			if (st != AE_OK)
				break;
			continue;
		}
		n = len - off < avail ? len - off : avail;
		copy_in(w, pos, (const char *) data + off, n);
		pos += n;
		off += n;
		if (off < len)
		{
			w->insert_pos = pos;	/* partial publication: only for groups > ring */
			atomic_store_explicit(&w->insert_lsn, pos, memory_order_release);
		}
	}
	if (st == AE_OK)
	{
		w->insert_pos = pos;
		atomic_store_explicit(&w->insert_lsn, pos, memory_order_release);
		atomic_fetch_add_explicit(&w->records, nrecords, memory_order_relaxed);
		atomic_fetch_add_explicit(&w->bytes, len, memory_order_relaxed);
	}
	ae_latch_release(&w->insert_latch);
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
	ae_latch_acquire(&w->insert_latch, true);
	ae_latch_acquire(&w->flush_latch, true);
	w->insert_pos = lsn;
	atomic_store(&w->insert_lsn, lsn);
	atomic_store(&w->written_lsn, lsn);
	atomic_store(&w->flushed_lsn, lsn);
	ae_latch_release(&w->flush_latch);
	ae_latch_release(&w->insert_latch);
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

	ae_latch_acquire(&w->insert_latch, true);
	redo = w->insert_pos;
	atomic_store(&w->redo_lsn, redo);
	ae_latch_release(&w->insert_latch);
	return redo;
}

void
ae_wal_set_redo_lsn(ae_engine *eng, ae_lsn lsn)
{
	wal_shared *w = eng->wal;

	ae_latch_acquire(&w->insert_latch, true);
	atomic_store(&w->redo_lsn, lsn);
	ae_latch_release(&w->insert_latch);
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
	out->wal_insert_lsn = atomic_load(&w->insert_lsn);
	out->wal_flushed_lsn = atomic_load(&w->flushed_lsn);
}
