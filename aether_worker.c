/*
 * aether_worker.c — the background worker: crash recovery, checkpoints,
 * the asynchronous-commit log flush.
 *
 *  1. At start (after PostgreSQL's own recovery, so relation files created or
 *     dropped by PostgreSQL's WAL are in their final state), it runs Aether's
 *     recovery (redo from the last checkpoint, commits restored to clog, then
 *     a checkpoint: ae_recover_redo, aetam_commit_restore, ae_checkpoint)
 *     while backends wait at aetam_engine(). If recovery fails (a damaged or
 *     missing log, a corrupt page), it logs a FATAL message naming the log
 *     file and position, makes aether data refuse service with that message,
 *     and asks the postmaster for a fast shutdown: the server must not run on
 *     half-recovered data.
 *  2. When pruning asks (aetam_commit_flush_soon), it flushes PostgreSQL's
 *     WAL up to asynchronous commit records, so the versions those
 *     transactions replaced can go without a backend waiting for the fsync;
 *     and when fast commits ask, up to their last completed page of commit
 *     records (aether_commit.c, keep_wal_writer_asleep). Every 200 ms it
 *     makes the log durable for transactions that committed
 *     with synchronous_commit = off (so their tail is durable within about
 *     200 ms), keeps the next two log segments created ahead of the writers
 *     (aetam_log_preallocate), and removes the rows of rolled-back work
 *     (aether_undo.c).
 *  3. It takes a checkpoint every aether.checkpoint_timeout, or sooner once
 *     aether.max_wal_size of log has been written since the last one.
 *  4. Every second it records the durable end of the log in the control file
 *     (ae_control_advance_end), so recovery can tell damage from a torn tail.
 *  5. On shutdown (SIGTERM, sent before PostgreSQL's shutdown checkpoint) it
 *     takes a shutdown checkpoint, so the next start has nothing to redo.
 * A failed checkpoint is logged and retried; a failed fsync PANICs inside
 * the host (aether_host.c).
 */
#include "postgres.h"

#include <signal.h>

#include "access/transam.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/smgr.h"
#include "utils/timestamp.h"
#include "utils/guc.h"

#include "aether.h"
#include "aether/buf.h"
#include "aether/checkpoint.h"
#include "aether/wal.h"

PGDLLEXPORT void aether_worker_main(Datum arg);

static int	aether_checkpoint_timeout_s = 300;
int			aetam_max_wal_mb = 1024;	/* also bounds recycled log files (aether_host.c) */
static bool aether_wal_init_zero = true;
static int	debug_recovery_delay = 0;	/* ms, for tests */

static void
report(ae_status st, const char *what)
{
	if (st != AE_OK)
		ereport(LOG,
				(errmsg("aether: %s failed: %s", what, ae_error_last()->message)));
}

/* Recovery failed: say so where operators look, close the gate, stop the server. */
static void
recovery_failed(ae_engine *eng, const ae_recovery_info *ri)
{
	char		file[MAXPGPATH];
	char		msg[512];

	aetam_log_file_name(ri->end_lsn, file, sizeof(file));
	snprintf(msg, sizeof(msg), "%s (log file \"%s\", LSN %llu)",
			 ae_error_last()->message, file, (unsigned long long) ri->end_lsn);
	aetam_recovery_failed(msg);
	ereport(LOG,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("aether: crash recovery failed: %s", msg),
			 errhint("Restore the missing or damaged files under pg_aether/ or the relation files, "
					 "or restore from a backup; the server is shutting down.")));
	kill(PostmasterPid, SIGINT);	/* fast shutdown */
	ereport(FATAL,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("aether: crash recovery failed: %s", msg)));
}

static void
run_recovery(ae_engine *eng)
{
	ae_recovery_info ri;
	ae_status	st;
	uint64		losers;

	aetam_recovery_begin();
	if (debug_recovery_delay > 0)
		(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, debug_recovery_delay,
						 PG_WAIT_EXTENSION);
	ereport(LOG, (errmsg("aether: recovery starting")));
	st = ae_recover_redo(eng, &ri);
	if (st != AE_OK)
		recovery_failed(eng, &ri);

	/*
	 * Before the checkpoint forgets the log: commits that only Aether's log
	 * holds go back into clog, and no other xid the log may hold is handed
	 * out again (aetam_commit_restore). Clients are held at connection until
	 * the gate opens (aether_shmem.c).
	 */
	aetam_commit_restore(ri.note);
	losers = aetam_undo_queue_losers();
	if (losers > 0)
		ereport(LOG,
				(errmsg("aether: removing the rows of %llu transactions in flight at the crash "
						"in the background", (unsigned long long) losers)));
	st = ae_checkpoint(eng, false, NULL);
	if (st != AE_OK)
		recovery_failed(eng, &ri);
	if (ri.fresh)
		ereport(LOG, (errmsg("aether: no control file, starting a new log")));
	else if (ri.clean && ri.records == 0)
		ereport(LOG,
				(errmsg("aether: clean shutdown, no redo needed (log at LSN %llu)",
						(unsigned long long) ri.end_lsn)));
	else
		ereport(LOG,
				(errmsg("aether: redo done: %llu records from LSN %llu to %llu in %.3f s",
						(unsigned long long) ri.records, (unsigned long long) ri.redo_lsn,
						(unsigned long long) ri.end_lsn, ri.seconds)));
	aetam_recovery_done();
}

static void
checkpoint(ae_engine *eng, bool shutdown, const char *why)
{
	ae_checkpoint_info ci;
	ae_status	st = ae_checkpoint(eng, shutdown, &ci);

	if (st != AE_OK)
	{
		report(st, shutdown ? "shutdown checkpoint" : "checkpoint");
		return;
	}
	ereport(shutdown ? LOG : DEBUG1,
			(errmsg("aether: checkpoint (%s): redo LSN %llu, %llu pages written",
					why, (unsigned long long) ci.redo_lsn,
					(unsigned long long) ci.pages_written)));
}

#define PRUNING_FLUSH_MIN_MS 10

static void
forget_worker(int code, Datum arg)
{
	aetam_commit_set_worker(NULL);
}

void
aether_worker_main(Datum arg)
{
	ae_engine  *eng;
	TimestampTz last_checkpoint;
	TimestampTz last_end_mark = 0;
	TimestampTz last_tick = 0;
	TimestampTz last_pruning_flush = 0;

	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	/* no database: only to run transactions that use up xids (run_recovery) */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	aetam_gate_is_worker();
	eng = aetam_engine_nowait();

	/*
	 * Recovery runs once per shared-memory lifetime: a worker restarted
	 * after an error must not replay (and cut the log) under running backends.
	 */
	if (!aetam_recovery_is_done())
		run_recovery(eng);
	else
		checkpoint(eng, false, "worker restart");	/* the control file may say "shut down" */
	last_checkpoint = GetCurrentTimestamp();

	aetam_commit_set_worker(MyLatch);
	before_shmem_exit(forget_worker, 0);
	while (!ShutdownRequestPending)
	{
		ae_engine_stats s;
		ae_lsn		redo;
		int64		wait_ms = 200 - (GetCurrentTimestamp() - last_tick) / 1000;

		/* woken early by a flush request (pruning, fast commits): only that flush, until the tick */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 (long) Max(Min(wait_ms, 200), 0), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();	/* absorbs barriers, e.g. DROP DATABASE's smgr release */

		/*
		 * At most one flush of PostgreSQL's WAL (for pruning or for pages of
		 * fast-commit records) per PRUNING_FLUSH_MIN_MS: each is an
		 * fsync that holds PostgreSQL's WALWriteLock, and versions may as
		 * well wait that long.
		 */
		{
			int64		since_ms = (GetCurrentTimestamp() - last_pruning_flush) / 1000;

			if (since_ms < PRUNING_FLUSH_MIN_MS)
				(void) WaitLatch(NULL, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
								 PRUNING_FLUSH_MIN_MS - since_ms, PG_WAIT_EXTENSION);
		}
		if (aetam_commit_flush_wanted())
			last_pruning_flush = GetCurrentTimestamp();
		if (!TimestampDifferenceExceeds(last_tick, GetCurrentTimestamp(), 200) &&
			!ShutdownRequestPending && !ConfigReloadPending)
			continue;
		last_tick = GetCurrentTimestamp();
		/* no transactions here: close what write-back and checkpoints opened */
		smgrcloseall();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		report(ae_wal_flush(eng, ae_wal_insert_lsn(eng)), "log flush");
		if (aether_wal_init_zero)
			aetam_log_preallocate(ae_wal_insert_lsn(eng));
		(void) aetam_undo_run(eng);
		if (TimestampDifferenceExceeds(last_end_mark, GetCurrentTimestamp(), 1000))
		{
			/* damage before this point of the log is then reported, not taken for a torn tail */
			report(ae_control_advance_end(eng), "recording the durable log end");
			last_end_mark = GetCurrentTimestamp();
		}
		ae_engine_get_stats(eng, &s);
		redo = s.checkpoint_redo_lsn;
		if (TimestampDifferenceExceeds(last_checkpoint, GetCurrentTimestamp(),
									   aether_checkpoint_timeout_s * 1000))
			checkpoint(eng, false, "time");
		else if (s.wal_insert_lsn - redo >= (uint64) aetam_max_wal_mb * 1024 * 1024)
			checkpoint(eng, false, "log size");
		else
			continue;
		last_checkpoint = GetCurrentTimestamp();
	}
	checkpoint(eng, true, "shutdown");

	/*
	 * Exit code 1, as PostgreSQL's logical replication launcher does: when
	 * the server is shutting down nothing is restarted, and when only this
	 * worker was told to stop (pg_terminate_backend) the postmaster starts
	 * it again after bgw_restart_time; with 0 it would be gone for good, and
	 * with it checkpoints, log flushes and the cleanup of aborted rows.
	 */
	proc_exit(1);
}

void
aetam_worker_register(void)
{
	BackgroundWorker worker;

	DefineCustomIntVariable("aether.checkpoint_timeout",
							"Maximum time between Aether checkpoints.",
							NULL, &aether_checkpoint_timeout_s, 300, 1, 86400,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("aether.max_wal_size",
							"Aether log written since the last checkpoint that triggers a new one.",
							"Also bounds the old log files kept, renamed, for reuse.",
							&aetam_max_wal_mb, 1024, 16, INT_MAX / 2,
							PGC_SIGHUP, GUC_UNIT_MB, NULL, NULL, NULL);

	DefineCustomBoolVariable("aether.wal_init_zero",
							 "Keeps the next two Aether log segments created ahead of time, filled with zeros.",
							 "Commits then sync log writes that change no file size.",
							 &aether_wal_init_zero, true, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("aether.debug_recovery_delay",
							"Delays Aether's crash recovery by this long (for tests).",
							NULL, &debug_recovery_delay, 0, 0, 600 * 1000,
							PGC_POSTMASTER, GUC_UNIT_MS | GUC_NOT_IN_SAMPLE, NULL, NULL, NULL);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "aether");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "aether_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "aether background writer");
	snprintf(worker.bgw_type, BGW_MAXLEN, "aether background writer");
	RegisterBackgroundWorker(&worker);
}
