/*
 * aether_worker.c — the background worker.
 *
 * Today it (1) makes the log durable every aether.flush_delay for
 * transactions that committed with synchronous_commit = off, (2) writes dirty
 * pages back every aether.writeback_interval and then removes the log
 * segments no page needs any more, and (3) on shutdown (SIGTERM,
 * which the postmaster sends before PostgreSQL's shutdown checkpoint) writes
 * every dirty page, so a clean restart finds all data in the relation files.
 * Checkpoints and recovery come with the crash-safety work.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/timestamp.h"
#include "utils/guc.h"

#include "aether.h"
#include "aether/buf.h"
#include "aether/wal.h"

PGDLLEXPORT void aether_worker_main(Datum arg);

static int	writeback_interval_s = 30;

static void
report(ae_status st, const char *what)
{
	if (st != AE_OK)
		ereport(LOG,
				(errmsg("aether: %s failed: %s", what, ae_error_last()->message)));
}

void
aether_worker_main(Datum arg)
{
	ae_engine  *eng;
	TimestampTz last_writeback = GetCurrentTimestamp();

	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	eng = aetam_engine();

	while (!ShutdownRequestPending)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 200L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		report(ae_wal_flush(eng, ae_wal_insert_lsn(eng)), "log flush");
		if (TimestampDifferenceExceeds(last_writeback, GetCurrentTimestamp(),
									   writeback_interval_s * 1000))
		{
			ae_lsn		before = ae_wal_insert_lsn(eng);
			ae_status	st = ae_buf_flush_all(eng);

			report(st, "page write-back");
			if (st == AE_OK)
				aetam_log_remove_before(before);
			last_writeback = GetCurrentTimestamp();
		}
	}
	report(ae_wal_flush(eng, ae_wal_insert_lsn(eng)), "final log flush");
	report(ae_buf_flush_all(eng), "final page write-back");
	proc_exit(0);
}

void
aetam_worker_register(void)
{
	BackgroundWorker worker;

	DefineCustomIntVariable("aether.writeback_interval",
							"Seconds between writes of dirty Aether pages.",
							NULL, &writeback_interval_s, 30, 1, 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "aether");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "aether_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "aether background writer");
	snprintf(worker.bgw_type, BGW_MAXLEN, "aether background writer");
	RegisterBackgroundWorker(&worker);
}
