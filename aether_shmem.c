/*
 * aether_shmem.c — loading the extension: GUCs, the shared memory segment
 * holding the engine, this process's engine handle, and the gate that keeps
 * backends away from Aether data until crash recovery has run.
 *
 * Aether must be in shared_preload_libraries: the buffer pool and log buffer
 * live in one segment requested at postmaster start. Without it, every entry
 * point raises ERROR with a hint instead of crashing.
 *
 * Recovery runs in the background worker after PostgreSQL's own recovery
 * (aether_worker.c). Until it is done, aetam_engine() waits (wait event
 * type Extension); if it failed, aetam_engine() raises the failure.
 */
#include "postgres.h"

#include "access/twophase.h"
#include "access/xact.h"

#include "access/xlog.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "aether.h"
#include "aether/wal.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

int			aetam_pool_pages = 16384;	/* 128 MB */
static int	wal_buffer_kb = 4096;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static ae_host host;
static ae_engine *engine = NULL;
static bool preloaded = false;

/* Recovery state, shared: reset with shared memory after every crash. */
enum
{
	RECOVERY_PENDING = 0,		/* not started: the worker has not run yet */
	RECOVERY_RUNNING,
	RECOVERY_DONE,
	RECOVERY_FAILED
};

#define GATE_MAX_RESTORED 8192

typedef struct AetamGate
{
	pg_atomic_uint32 state;
	char		error[512];		/* set before state becomes RECOVERY_FAILED */
	/*
	 * Set by recovery before the gate opens (aetam_gate_set_xid_limit): every
	 * xid below xid_limit that Aether's log may hold is restored as committed
	 * (restored[], sorted; nrestored -1 when there were too many to list) or
	 * belongs to a transaction in flight at the crash. 0: nothing to check.
	 */
	uint64		xid_limit;
	int			nrestored;
	uint64		restored[GATE_MAX_RESTORED];
} AetamGate;

/* this process is Aether's worker (aetam_gate_is_worker): never held at commit */
static bool gate_is_worker = false;

static AetamGate *gate = NULL;

static ae_engine_config
engine_config(void)
{
	ae_engine_config cfg;

	cfg.pool_pages = (uint32_t) aetam_pool_pages;
	cfg.wal_buffer_bytes = 65536;	/* the engine wants a power of two */
	while ((uint64) cfg.wal_buffer_bytes * 2 <= (uint64) wal_buffer_kb * 1024)
		cfg.wal_buffer_bytes *= 2;
	cfg.scan_ring_pages = 32;
	return cfg;
}

/* PGPROC slots (PGPROC->pgprocno ranges below this): per-process shared state. */
int
aetam_total_procs(void)
{
	return MaxBackends + NUM_AUXILIARY_PROCS + max_prepared_xacts;
}

static void
aether_shmem_request(void)
{
	ae_engine_config cfg = engine_config();

	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(ae_engine_shmem_size(&cfg) + 8192);
	RequestAddinShmemSpace(MAXALIGN(sizeof(AetamGate)) + MAXALIGN(aetam_host_shmem_size()) +
						   aetam_undo_shmem_size() + aetam_commit_shmem_size());
}

/*
 * Create (postmaster, and again after a crash restart) or find the engine's
 * segment. Runs with AddinShmemInitLock held.
 */
static void
aether_shmem_startup(void)
{
	ae_engine_config cfg = engine_config();
	Size		size = ae_engine_shmem_size(&cfg);
	bool		found;
	void	   *mem;
	ae_status	st;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	mem = ShmemInitStruct("aether engine", size + 8192, &found);
	mem = (void *) TYPEALIGN(4096, mem);
	if (!found)
		st = ae_engine_create(mem, &cfg, &host, &engine);
	else
		st = ae_engine_attach(mem, &host, &engine);
	gate = ShmemInitStruct("aether recovery gate", sizeof(AetamGate), &found);
	if (!found)
	{
		pg_atomic_init_u32(&gate->state, RECOVERY_PENDING);
		gate->error[0] = '\0';
		gate->xid_limit = 0;
		gate->nrestored = 0;
	}
	aetam_host_shmem_init();
	aetam_undo_shmem_init();
	aetam_commit_shmem_init();
	LWLockRelease(AddinShmemInitLock);
	if (st != AE_OK)
		ereport(FATAL,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("aether: could not initialise the storage engine: %s",
						ae_error_last()->message)));
	aetam_log_dir_ensure();
}

bool
aetam_is_loaded(void)
{
	return preloaded && engine != NULL;
}

ae_engine *
aetam_engine_nowait(void)
{
	if (!aetam_is_loaded())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("aether is not loaded"),
				 errhint("Add 'aether' to shared_preload_libraries in postgresql.conf and restart the server.")));
	return engine;
}

static void
raise_recovery_failed(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("aether: crash recovery failed: %s", gate->error),
			 errhint("The server log has the details; Aether data is unavailable until the cause is fixed.")));
}

/*
 * The engine, once crash recovery has finished: until then, wait (a backend
 * that arrives early sleeps in 10 ms steps, cancellable, showing wait event
 * type Extension in pg_stat_activity).
 */
ae_engine *
aetam_engine(void)
{
	ae_engine  *eng = aetam_engine_nowait();
	uint32		state = pg_atomic_read_u32(&gate->state);

	TimestampTz start;

	if (likely(state == RECOVERY_DONE))
		return eng;
	start = GetCurrentTimestamp();
	while (state != RECOVERY_DONE)
	{
		if (state == RECOVERY_FAILED)
			raise_recovery_failed();
		if (state == RECOVERY_PENDING &&
			TimestampDifferenceExceeds(start, GetCurrentTimestamp(), 30 * 1000))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("aether: the background worker has not started, so Aether's recovery has not run"),
					 errhint("Check max_worker_processes and the server log.")));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10L,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		state = pg_atomic_read_u32(&gate->state);
	}
	pg_memory_barrier();
	return eng;
}

/*
 * libpq/auth.h's hook, declared here: that header pulls in GSSAPI headers
 * (libpq-be.h) that a server-dev install need not have.
 */
struct Port;
typedef void (*ClientAuthentication_hook_type) (struct Port *, int);
extern PGDLLIMPORT ClientAuthentication_hook_type ClientAuthentication_hook;

static ClientAuthentication_hook_type prev_client_auth_hook = NULL;

/*
 * Sleep in 10 ms steps (cancellable, wait event type Extension) until
 * Aether's recovery has run or failed; false if the worker has not even
 * started it within 30 s (max_worker_processes too low), so that it never
 * locks everyone out.
 */
static bool
wait_for_recovery_end(void)
{
	TimestampTz start = GetCurrentTimestamp();

	for (;;)
	{
		uint32		state = pg_atomic_read_u32(&gate->state);

		if (state == RECOVERY_DONE || state == RECOVERY_FAILED)
			return true;
		if (state == RECOVERY_PENDING &&
			TimestampDifferenceExceeds(start, GetCurrentTimestamp(), 30 * 1000))
			return false;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10L,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Hold new client connections until Aether's recovery has run (or failed):
 * recovery moves PostgreSQL's next xid past every xid Aether's log may hold
 * before anyone may take an xid (aetam_xid_for_write).
 */
static void
aether_client_auth(struct Port *port, int status)
{
	if (prev_client_auth_hook)
		prev_client_auth_hook(port, status);
	if (gate == NULL || RecoveryInProgress())
		return;					/* a hot standby: Aether's worker starts only at promotion */
	if (!wait_for_recovery_end())
		ereport(WARNING,
				(errmsg("aether: the background worker has not started; connecting without waiting for Aether's recovery"),
				 errhint("Check max_worker_processes and the server log.")));
}

/*
 * Recovery, before the gate opens: xids below limit may be in Aether's log;
 * restored (sorted) lists those whose commit the log holds.
 */
void
aetam_gate_set_xid_limit(uint64 limit, const uint64 *restored, int n)
{
	gate->xid_limit = limit;
	gate->nrestored = n <= GATE_MAX_RESTORED ? n : -1;
	if (gate->nrestored > 0)
		memcpy(gate->restored, restored, sizeof(uint64) * n);
}

void
aetam_gate_is_worker(void)
{
	gate_is_worker = true;
}

/*
 * 1: xid is one Aether's log holds committed (recovery restores it); -1: one
 * it may hold for a transaction in flight at the crash; 0: neither, or the
 * list was too long to keep (then nothing is refused).
 */
static int
gate_xid_kind(FullTransactionId fxid)
{
	uint64		x = U64FromFullTransactionId(fxid);

	if (x >= gate->xid_limit || gate->nrestored < 0)
		return 0;
	if (gate->nrestored > 0 &&
		bsearch(&x, gate->restored, gate->nrestored, sizeof(uint64), aetam_cmp_u64) != NULL)
		return 1;
	return -1;
}

/*
 * At PRE_COMMIT and PRE_PREPARE of every transaction with an xid. Client
 * connections wait at the gate, but other processes (autovacuum, background
 * workers such as a subscription's apply worker) may take an xid while
 * recovery still runs, and it may be one that Aether's log holds: recovery
 * moves the next xid past those only as it ends. So such a commit waits
 * here until recovery has run; then a transaction whose xid (or a committed
 * subtransaction's) belongs to a transaction in flight at the crash is
 * refused, since committing it would make that transaction's rows visible.
 * One whose xid the log holds committed goes ahead: its commit is what
 * recovery wants for that xid. After recovery this costs one comparison.
 */
void
aetam_gate_check_commit(void)
{
	FullTransactionId top = GetTopFullTransactionIdIfAny();
	TransactionId *children;
	int			nchildren;

	if (gate == NULL || gate_is_worker || !FullTransactionIdIsValid(top) ||
		RecoveryInProgress())
		return;
	if (unlikely(pg_atomic_read_u32(&gate->state) != RECOVERY_DONE) &&
		!wait_for_recovery_end())
		return;					/* no worker: as at the connection gate */
	pg_read_barrier();			/* the limit was set before the gate opened */
	if (likely(U64FromFullTransactionId(top) >= gate->xid_limit))
		return;					/* every committed subxid is above its parent */
	nchildren = xactGetCommittedChildren(&children);
	for (int i = -1; i < nchildren; i++)
	{
		FullTransactionId f = i < 0 ? top : aetam_full_subxid(top, children[i]);

		if (gate_xid_kind(f) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("aether: transaction id %llu was taken while Aether's recovery ran and belongs to a transaction in flight at the crash",
							(unsigned long long) U64FromFullTransactionId(f)),
					 errdetail("Committing it would make that transaction's rows visible."),
					 errhint("Retry the transaction.")));
	}
}

/*
 * At ABORT: a transaction whose xid Aether's log holds committed (taken
 * while recovery ran, see above) takes that commit with it.
 */
void
aetam_gate_check_abort(void)
{
	FullTransactionId top = GetTopFullTransactionIdIfAny();

	if (gate == NULL || gate_is_worker || !FullTransactionIdIsValid(top) ||
		pg_atomic_read_u32(&gate->state) != RECOVERY_DONE)
		return;
	pg_read_barrier();			/* the limit was set before the gate opened */
	if (gate_xid_kind(top) > 0)
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("aether: transaction %llu committed in Aether's log, but this process took its id during recovery and did not commit",
						(unsigned long long) U64FromFullTransactionId(top))));
}

bool
aetam_recovery_is_done(void)
{
	return pg_atomic_read_u32(&gate->state) == RECOVERY_DONE;
}

void
aetam_recovery_begin(void)
{
	pg_atomic_write_u32(&gate->state, RECOVERY_RUNNING);
}

void
aetam_recovery_done(void)
{
	pg_memory_barrier();
	pg_atomic_write_u32(&gate->state, RECOVERY_DONE);
}

void
aetam_recovery_failed(const char *message)
{
	strlcpy(gate->error, message, sizeof(gate->error));
	pg_memory_barrier();
	pg_atomic_write_u32(&gate->state, RECOVERY_FAILED);
}

static bool aether_wal_compression = true;

static void
assign_wal_compression(bool newval, void *extra)
{
	ae_wal_set_image_compression(newval);
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;					/* entry points report the missing preload */
	preloaded = true;

	DefineCustomIntVariable("aether.buffer_pool_size",
							"Size of Aether's buffer pool.",
							NULL, &aetam_pool_pages, 16384, 64, INT_MAX / 2,
							PGC_POSTMASTER, GUC_UNIT_BLOCKS, NULL, NULL, NULL);
	/*
	 * 4MB, not more: a process maps each page of shared memory on its first
	 * touch (a page fault, about 10-30 us in a virtual machine), and the
	 * log buffer is written all over by every writing backend, so each new
	 * connection pays once per page of it. A commit needs only its own
	 * few KB buffered; bulk loads write the log out as the buffer fills.
	 */
	DefineCustomIntVariable("aether.wal_buffers",
							"Size of Aether's log buffer.",
							NULL, &wal_buffer_kb, 4096, 64, 1024 * 1024,
							PGC_POSTMASTER, GUC_UNIT_KB, NULL, NULL, NULL);
	/*
	 * zstd (its fast level) for the full-page images of first changes after a
	 * checkpoint (most of the log right after one); SUSET like PostgreSQL's
	 * wal_compression.
	 */
	DefineCustomBoolVariable("aether.wal_compression",
							 "Compresses full-page images in Aether's log with zstd.",
							 NULL, &aether_wal_compression, true,
							 PGC_SUSET, 0, NULL, assign_wal_compression, NULL);
	aetam_host_init(&host);
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = aether_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = aether_shmem_startup;

	prev_client_auth_hook = ClientAuthentication_hook;
	ClientAuthentication_hook = aether_client_auth;
	aetam_xact_init();
	aetam_commit_init();
	aetam_utility_init();
	aetam_worker_register();		/* defines aether.checkpoint_timeout, max_wal_size */
	MarkGUCPrefixReserved("aether");	/* after every aether.* GUC */
}
