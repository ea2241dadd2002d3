/*
 * aether_shmem.c — loading the extension: GUCs, the shared memory segment
 * holding the engine, and this process's engine handle.
 *
 * Aether must be in shared_preload_libraries: the buffer pool and log buffer
 * live in one segment requested at postmaster start. Without it, every entry
 * point raises ERROR with a hint instead of crashing.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "aether.h"
#include "aether/wal.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

int			aetam_pool_pages = 16384;	/* 128 MB */
static int	wal_buffer_kb = 16384;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static ae_host host;
static ae_engine *engine = NULL;
static bool preloaded = false;

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

static void
aether_shmem_request(void)
{
	ae_engine_config cfg = engine_config();

	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(ae_engine_shmem_size(&cfg) + 8192);
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
aetam_engine(void)
{
	if (!aetam_is_loaded())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("aether is not loaded"),
				 errhint("Add 'aether' to shared_preload_libraries in postgresql.conf and restart the server.")));
	return engine;
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
	DefineCustomIntVariable("aether.wal_buffers",
							"Size of Aether's log buffer.",
							NULL, &wal_buffer_kb, 16384, 64, 1024 * 1024,
							PGC_POSTMASTER, GUC_UNIT_KB, NULL, NULL, NULL);
	aetam_host_init(&host);
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = aether_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = aether_shmem_startup;

	aetam_xact_init();
	aetam_utility_init();
	aetam_worker_register();		/* defines aether.writeback_interval */
	MarkGUCPrefixReserved("aether");	/* after every aether.* GUC */
}
