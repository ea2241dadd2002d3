/*
 * engine_internal.h — the process-local engine handle and the shared region
 * header (engine-internal; modules include it, users of the engine do not).
 *
 * Shared region layout (every part 4096-aligned from the region start):
 *
 *   [engine_shared header][buffer pool (buf_internal.h)][log buffer (wal_internal.h)]
 *
 * Parts are found by offsets stored in the header, never by stored pointers,
 * so the region works even if a process maps it at another address.
 */
#ifndef AE_ENGINE_INTERNAL_H
#define AE_ENGINE_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "aether/engine.h"

#define AE_SHARED_MAGIC		0xAE7E0E61E5ull
#define AE_SHARED_VERSION	2
#define AE_SHMEM_ALIGN		4096

static inline size_t
ae_align_up(size_t n, size_t a)
{
	return (n + a - 1) & ~(a - 1);
}

struct buf_pool;
struct wal_shared;
struct ring_slot;

/* Start of the shared region. Written once by ae_engine_create, then read-only. */
typedef struct engine_shared
{
	uint64_t	magic;
	uint32_t	version;
	uint32_t	pad;
	ae_engine_config cfg;		/* normalised (defaults filled in) */
	uint64_t	size;
	uint64_t	pool_off;
	uint64_t	wal_off;
	uint64_t	start_epoch;	/* ae_start_epoch (wal/checkpoint.c) */
} engine_shared;

/* A process-local handle (malloc'd); never in shared memory. */
struct ae_engine
{
	ae_host		host;
	engine_shared *shared;
	struct buf_pool *pool;
	struct wal_shared *wal;
	/* AE_BUF_SCAN ring of this process (buf/bufmgr.c) */
	struct ring_slot *ring;
	uint32_t	ring_size;
	uint32_t	ring_pos;
	uint32_t	stripe;			/* swizzle counter stripe (buf/bufmgr.c) */
};

#endif
