/*
 * aether/engine.h — creating and attaching the engine.
 *
 * All shared state (buffer pool frames and pages, page table, log buffer,
 * counters) lives in one caller-provided memory region. The host maps that
 * region at the same address in every process (PostgreSQL: fork of the
 * postmaster), so pointers into it are valid everywhere.
 *
 *   size = ae_engine_shmem_size(&cfg);
 *   mem  = <shared mapping of size bytes, 4096-aligned>;
 *   ae_engine_create(mem, &cfg, &host, &eng);   // once, initialises mem
 *   ... fork() ...                              // children inherit eng
 *   ae_engine_attach(mem, &host, &eng);         // or: a process that did not inherit it
 *
 * An ae_engine is a small process-local handle: the host table and a pointer
 * to the shared region. It is never placed in shared memory.
 */
#ifndef AETHER_ENGINE_H
#define AETHER_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include "aether/status.h"
#include "aether/host.h"

typedef struct ae_engine ae_engine;

typedef struct ae_engine_config
{
	uint32_t	pool_pages;		/* buffer pool size in 8 KiB pages (>= 16) */
	uint32_t	wal_buffer_bytes;	/* log buffer size (>= 64 KiB, power of two) */
	uint32_t	scan_ring_pages;	/* frames a bulk scan may recycle (default 32) */
} ae_engine_config;

size_t		ae_engine_shmem_size(const ae_engine_config *cfg);

/* Initialise the shared region and return a handle for this process. */
ae_status	ae_engine_create(void *shmem, const ae_engine_config *cfg,
							 const ae_host *host, ae_engine **out);

/* Return a handle to an already initialised region (handle is malloc'd). */
ae_status	ae_engine_attach(void *shmem, const ae_host *host, ae_engine **out);

/* Free a handle (does not touch shared state). */
void		ae_engine_detach(ae_engine *eng);

const ae_host *ae_engine_host(ae_engine *eng);

/*
 * Statistics for operators (read without locks; values are approximate while
 * the system runs).
 */
typedef struct ae_engine_stats
{
	uint32_t	pool_pages;
	uint32_t	pages_used;
	uint32_t	pages_dirty;
	uint64_t	reads;
	uint64_t	writes;
	uint64_t	hits;
	uint64_t	evictions;
	uint64_t	wal_records;
	uint64_t	wal_bytes;
	uint64_t	wal_flushes;
	uint64_t	wal_insert_lsn;
	uint64_t	wal_flushed_lsn;
	uint64_t	wal_flush_requests;	/* flushes asked for; / wal_flushes = group-commit batch */
	uint64_t	wal_page_images;	/* full-page images logged (first change after a checkpoint) */
	uint64_t	checkpoints;	/* completed since the engine started */
	uint64_t	checkpoint_time;	/* last one, seconds since the epoch (0: none yet) */
	uint64_t	checkpoint_redo_lsn;	/* its redo point */
	/* pointer swizzling (buf/README.md): reads of a child or hinted page */
	uint64_t	swizzle_hits;	/* hint valid: no page-table lookup */
	uint64_t	swizzle_misses;	/* no hint yet: page table, then swizzled */
	uint64_t	swizzle_stale;	/* hint invalidated (frame evicted/reused, slot moved) */
	uint64_t	swizzle_steals;	/* swizzle tables taken from a page still using one */
} ae_engine_stats;

void		ae_engine_get_stats(ae_engine *eng, ae_engine_stats *out);

#endif
