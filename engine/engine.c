/*
 * engine.c — the shared region (layout in engine_internal.h) and the
 * process-local engine handle.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "buf/buf_internal.h"
#include "wal/wal_internal.h"

#define DEFAULT_SCAN_RING	32

static const ae_file_id no_file;

/* The configuration as the engine uses it: defaults filled in, ring clamped. */
static ae_engine_config
normalise(const ae_engine_config *cfg)
{
	ae_engine_config c = *cfg;

	if (c.scan_ring_pages == 0)
		c.scan_ring_pages = DEFAULT_SCAN_RING;
	if (c.scan_ring_pages > c.pool_pages / 4)
		c.scan_ring_pages = c.pool_pages / 4;
	return c;
}

static ae_status
check_config(const ae_engine_config *c)
{
	if (c->pool_pages < 16)
		return ae_fail(AE_INVALID, no_file, AE_NO_BLOCK,
					   "pool_pages must be at least 16 (got %u)", c->pool_pages);
	if (c->wal_buffer_bytes < 64 * 1024 || (c->wal_buffer_bytes & (c->wal_buffer_bytes - 1)))
		return ae_fail(AE_INVALID, no_file, AE_NO_BLOCK,
					   "wal_buffer_bytes must be a power of two >= 65536 (got %u)",
					   c->wal_buffer_bytes);
	return AE_OK;
}

/* Offsets of the parts; fills *pool_off and *wal_off and returns the total. */
static size_t
layout(const ae_engine_config *c, size_t *pool_off, size_t *wal_off)
{
	size_t		off = ae_align_up(sizeof(engine_shared), AE_SHMEM_ALIGN);

	*pool_off = off;
	off += ae_align_up(ae_buf_shmem_size(c), AE_SHMEM_ALIGN);
	*wal_off = off;
	off += ae_align_up(ae_wal_shmem_size(c), AE_SHMEM_ALIGN);
	return off;
}

size_t
ae_engine_shmem_size(const ae_engine_config *cfg)
{
	ae_engine_config c = normalise(cfg);
	size_t		p,
				w;

	return layout(&c, &p, &w);
}

/* A handle on an initialised region; registers this process's rmgrs. */
static ae_status
make_handle(engine_shared *sh, const ae_host *host, ae_engine **out)
{
	ae_engine  *eng = calloc(1, sizeof(*eng));
	ae_status	st;

	if (!eng)
		return ae_fail(AE_NO_MEMORY, no_file, AE_NO_BLOCK, "out of memory for engine handle");
	eng->host = *host;
	eng->shared = sh;
	eng->pool = (buf_pool *) ((char *) sh + sh->pool_off);
	eng->wal = (wal_shared *) ((char *) sh + sh->wal_off);
	if ((st = ae_buf_ring_init(eng)) != AE_OK)
	{
		free(eng);
		return st;
	}
	ae_wal_register_builtin();
	*out = eng;
	return AE_OK;
}

/*
 * Initialise the shared region shmem (ae_engine_shmem_size(cfg) bytes,
 * 4096-aligned) and return a handle for this process. Not concurrent with
 * any other use of the region.
 */
ae_status
ae_engine_create(void *shmem, const ae_engine_config *cfg,
				 const ae_host *host, ae_engine **out)
{
	ae_engine_config c = normalise(cfg);
	engine_shared *sh = shmem;
	size_t		pool_off,
				wal_off;
	ae_status	st;

	if ((st = check_config(&c)) != AE_OK)
		return st;
	if ((uintptr_t) shmem % AE_SHMEM_ALIGN != 0)
		return ae_fail(AE_INVALID, no_file, AE_NO_BLOCK, "shared region must be 4096-aligned");
	memset(sh, 0, sizeof(*sh));
	sh->version = AE_SHARED_VERSION;
	sh->cfg = c;
	sh->size = layout(&c, &pool_off, &wal_off);
	sh->pool_off = pool_off;
	sh->wal_off = wal_off;
	ae_buf_shmem_init((buf_pool *) ((char *) sh + pool_off), &c);
	ae_wal_shmem_init((wal_shared *) ((char *) sh + wal_off), &c);
	atomic_thread_fence(memory_order_release);
	sh->magic = AE_SHARED_MAGIC;	/* last: attach checks it */
	return make_handle(sh, host, out);
}

ae_status
ae_engine_attach(void *shmem, const ae_host *host, ae_engine **out)
{
	engine_shared *sh = shmem;

	if (sh->magic != AE_SHARED_MAGIC || sh->version != AE_SHARED_VERSION)
		return ae_fail(AE_INVALID, no_file, AE_NO_BLOCK,
					   "shared region is not an initialised Aether engine");
	atomic_thread_fence(memory_order_acquire);
	return make_handle(sh, host, out);
}

void
ae_engine_detach(ae_engine *eng)
{
	if (!eng)
		return;
	ae_buf_ring_free(eng);
	free(eng);
}

const ae_host *
ae_engine_host(ae_engine *eng)
{
	return &eng->host;
}

void
ae_engine_get_stats(ae_engine *eng, ae_engine_stats *out)
{
	memset(out, 0, sizeof(*out));
	ae_buf_get_stats(eng, out);
	ae_wal_get_stats(eng, out);
}
