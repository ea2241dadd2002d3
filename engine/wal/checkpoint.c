/*
 * checkpoint.c — checkpoints, the control file and crash recovery. The
 * protocol is described in include/aether/checkpoint.h; invariants W5 (page
 * images after the redo point) and R5 (redo of dropped files) are in
 * wal/README.md.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "wal_internal.h"
#include "aether/checkpoint.h"

/* how far past the end of the valid log recovery looks for durable hints (R7) */
#define HINT_SEARCH_BYTES	((uint64_t) 16 * 1024 * 1024)

static uint32_t
control_crc(const ae_control *c)
{
	return ae_crc32c(0, c, offsetof(ae_control, crc));
}

static ae_status
need_host(ae_engine *eng, const char *what)
{
	const ae_host *h = &eng->host;

	if (!h->control_read || !h->control_write || !h->sync_written || !h->log_discard)
		return ae_fail(AE_INVALID, (ae_file_id) {0}, AE_NO_BLOCK,
					   "%s needs the host's control file, sync and log callbacks", what);
	return AE_OK;
}

ae_status
ae_control_read(ae_engine *eng, ae_control *out)
{
	size_t		got = 0;
	ae_status	st;

	if ((st = need_host(eng, "reading the control file")) != AE_OK)
		return st;
	memset(out, 0, sizeof(*out));
	st = eng->host.control_read(eng->host.ctx, out, sizeof(*out), &got);
	if (st != AE_OK)
		return st;
	if (got != sizeof(*out) || out->magic != AE_CONTROL_MAGIC)
		return ae_fail(AE_CORRUPT, (ae_file_id) {0}, AE_NO_BLOCK,
					   "the control file is not an Aether control file (%zu bytes)", got);
	if (out->version != AE_CONTROL_VERSION)
		return ae_fail(AE_CORRUPT, (ae_file_id) {0}, AE_NO_BLOCK,
					   "the control file and log have format version %u, this build reads "
					   "version %u only: use the build that wrote them",
					   out->version, AE_CONTROL_VERSION);
	if (control_crc(out) != out->crc)
		return ae_fail(AE_CORRUPT, (ae_file_id) {0}, AE_NO_BLOCK,
					   "the control file's checksum does not match: it is damaged");
	if (out->redo_lsn < AE_WAL_START_LSN || out->end_lsn < out->redo_lsn ||
		(out->state != AE_STATE_RUNNING && out->state != AE_STATE_SHUTDOWN))
		return ae_fail(AE_CORRUPT, (ae_file_id) {0}, AE_NO_BLOCK,
					   "the control file holds impossible values (redo %llu, end %llu, state %u)",
					   (unsigned long long) out->redo_lsn, (unsigned long long) out->end_lsn,
					   out->state);
	return AE_OK;
}

static ae_status
control_write(ae_engine *eng, uint32_t state, ae_lsn redo, ae_lsn end, uint64_t when)
{
	ae_control	c;

	memset(&c, 0, sizeof(c));
	c.magic = AE_CONTROL_MAGIC;
	c.version = AE_CONTROL_VERSION;
	c.state = state;
	c.redo_lsn = redo;
	c.end_lsn = end;
	c.time = when;
	c.count = atomic_load(&eng->wal->checkpoints) + 1;
	c.note = ae_wal_note_max(eng);
	c.crc = control_crc(&c);
	return eng->host.control_write(eng->host.ctx, &c, sizeof(c));
}

ae_status
ae_checkpoint(ae_engine *eng, bool shutdown, ae_checkpoint_info *out)
{
	wal_shared *w = eng->wal;
	ae_engine_stats before,
				after;
	ae_lsn		redo,
				end;
	uint64_t	now;
	ae_status	st;

	if ((st = need_host(eng, "a checkpoint")) != AE_OK)
		return st;
	ae_latch_acquire(&w->checkpoint_latch, true);	/* L0 */
	ae_engine_get_stats(eng, &before);
	redo = ae_wal_begin_checkpoint(eng);
	st = ae_buf_flush_all(eng);
	if (st == AE_OK)
		st = eng->host.sync_written(eng->host.ctx);
	if (st == AE_OK && eng->host.checkpoint_prepare)
		st = eng->host.checkpoint_prepare(eng->host.ctx, redo);
	if (st == AE_OK)
		st = ae_wal_flush(eng, ae_wal_insert_lsn(eng));
	end = ae_wal_flushed_lsn(eng);
	now = (uint64_t) time(NULL);
	if (st == AE_OK)
		st = control_write(eng, shutdown ? AE_STATE_SHUTDOWN : AE_STATE_RUNNING, redo, end, now);
	if (st == AE_OK)
	{
		atomic_store(&w->checkpoint_redo, redo);
		atomic_store(&w->checkpoint_time, now);
		atomic_fetch_add(&w->checkpoints, 1);
		/* the log before redo is needed by nobody now; failing to remove it is harmless */
		if (eng->host.log_discard(eng->host.ctx, redo, 0) != AE_OK && eng->host.message)
			eng->host.message(eng->host.ctx, AE_LOG_WARNING, ae_error_last()->message);
	}
	ae_engine_get_stats(eng, &after);
	ae_latch_release(&w->checkpoint_latch);
	if (out)
	{
		out->redo_lsn = redo;
		out->end_lsn = end;
		out->pages_written = after.writes - before.writes;
	}
	return st;
}

/*
 * The bytes just before the redo point must exist: the checkpoint kept the
 * log file holding it (log files are removed only when wholly before it).
 * If they are gone, replay would find nothing and quietly skip whatever the
 * log held after the redo point. (The very first redo point, at the start
 * of the log, and one exactly at a file boundary cannot be checked so.)
 */
static ae_status
check_log_reaches(ae_engine *eng, ae_lsn redo)
{
	char		buf[8];
	size_t		got = 0;
	ae_status	st;

	if (redo <= AE_WAL_START_LSN || redo % AE_LOG_FILE_GRANULE == 0)
		return AE_OK;
	st = eng->host.log_read(eng->host.ctx, redo - sizeof(buf), buf, sizeof(buf), &got);
	if (st != AE_OK)
		return st;
	if (got < sizeof(buf))
		return ae_fail(AE_CORRUPT, (ae_file_id) {0}, AE_NO_BLOCK,
					   "the log before the redo point (LSN %llu) is missing: "
					   "a log file is missing or damaged at LSN %llu",
					   (unsigned long long) redo, (unsigned long long) redo);
	return AE_OK;
}

ae_status
ae_control_advance_end(ae_engine *eng)
{
	wal_shared *w = eng->wal;
	ae_control	c;
	ae_lsn		flushed = ae_wal_flushed_lsn(eng);
	ae_status	st;

	ae_latch_acquire(&w->checkpoint_latch, true);	/* L0: not during a checkpoint */
	st = ae_control_read(eng, &c);
	if (st == AE_OK && flushed > c.end_lsn)
	{
		c.end_lsn = flushed;
		if (ae_wal_note_max(eng) > c.note)
			c.note = ae_wal_note_max(eng);
		c.crc = control_crc(&c);
		st = eng->host.control_write(eng->host.ctx, &c, sizeof(c));
	}
	ae_latch_release(&w->checkpoint_latch);
	return st;
}

ae_status
ae_recover(ae_engine *eng, ae_recovery_info *out)
{
	ae_status	st = ae_recover_redo(eng, out);

	if (st != AE_OK)
		return st;
	return ae_checkpoint(eng, false, NULL);
}

ae_status
ae_recover_redo(ae_engine *eng, ae_recovery_info *out)
{
	ae_control	c;
	ae_lsn		end = AE_WAL_START_LSN;
	struct timespec t0,
				t1;
	ae_status	st;

	memset(out, 0, sizeof(*out));
	/*
	 * Recovery resumes logging at the end of the durable log; a record logged
	 * but not flushed before it would leave pool pages stamped with LSNs past
	 * that point, and redo would later skip new records for them.
	 */
	if (ae_buf_max_page_lsn(eng) > ae_wal_flushed_lsn(eng))
		return ae_fail(AE_INVALID, (ae_file_id) {0}, AE_NO_BLOCK,
					   "recovery must run before anything is logged, or after the pool was "
					   "discarded (a page has LSN %llu, the log is durable to %llu)",
					   (unsigned long long) ae_buf_max_page_lsn(eng),
					   (unsigned long long) ae_wal_flushed_lsn(eng));
	st = ae_control_read(eng, &c);
	if (st == AE_NOT_FOUND)
	{
		/* a new installation: whatever log exists starts at the beginning */
		out->fresh = true;
		memset(&c, 0, sizeof(c));
		c.redo_lsn = c.end_lsn = AE_WAL_START_LSN;
	}
	else if (st != AE_OK)
		return st;
	out->clean = !out->fresh && c.state == AE_STATE_SHUTDOWN;
	out->redo_lsn = c.redo_lsn;
	if ((st = check_log_reaches(eng, c.redo_lsn)) != AE_OK)
		return st;

	ae_wal_set_note_max(eng, c.note);	/* notes after the redo point raise it */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	st = ae_wal_replay(eng, c.redo_lsn, &end, &out->records);
	out->note = ae_wal_note_max(eng);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	out->seconds = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
	out->end_lsn = end;
	if (st != AE_OK)
		return st;
	if (end < c.end_lsn)
		return ae_fail(AE_CORRUPT, (ae_file_id) {0}, AE_NO_BLOCK,
					   "the log ends at LSN %llu, but the last checkpoint found it durable up to LSN %llu: "
					   "a log file is missing or damaged at LSN %llu",
					   (unsigned long long) end, (unsigned long long) c.end_lsn,
					   (unsigned long long) end);
	/* R7: intact records after the end that knew the log durable past it */
	{
		ae_lsn		hint,
					at;

		if ((st = ae_wal_durable_hint_after(eng, end, HINT_SEARCH_BYTES, &hint, &at)) != AE_OK)
			return st;
		if (hint > end)
			return ae_fail(AE_CORRUPT, (ae_file_id) {0}, AE_NO_BLOCK,
						   "the log ends at LSN %llu, but an intact record at LSN %llu was written when "
						   "the log was durable up to LSN %llu: the log is damaged at LSN %llu",
						   (unsigned long long) end, (unsigned long long) at,
						   (unsigned long long) hint, (unsigned long long) end);
	}
	/* cut off a torn tail so that stale bytes never follow new records */
	if ((st = eng->host.log_discard(eng->host.ctx, 0, end)) != AE_OK)
		return st;
	ae_wal_set_insert_lsn(eng, end);
	ae_wal_set_redo_lsn(eng, c.redo_lsn);
	/*
	 * Every start is a new epoch, a clean one too: "clean" says the control
	 * file's last word was a shutdown checkpoint, not that nothing was logged
	 * (and lost) after it; backends stopped by a fast shutdown may still log.
	 */
	eng->shared->start_epoch = end;
	return AE_OK;
}

uint64_t
ae_start_epoch(ae_engine *eng)
{
	return eng->shared->start_epoch;
}
