/*
 * ae_env.h — a throwaway engine for a test: a temporary directory with the
 * POSIX host, and a MAP_SHARED anonymous region (so forked children share
 * the pool and the log buffer, as PostgreSQL backends do). The pieces
 * (scratch directory, engine region, fill) also serve test fixtures with
 * their own host or struct (test_btree.c, test_crash.c).
 */
#ifndef AE_ENV_H
#define AE_ENV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aether/engine.h"
#include "aether/posix_host.h"

typedef struct ae_env
{
	char		dir[64];
	ae_host		host;
	void	   *mem;
	size_t		size;
	ae_engine  *eng;
	ae_engine_config cfg;
} ae_env;

/* A new empty directory "<parent>/<prefix>XXXXXX" (mkdtemp) in dir. */
static inline bool
ae_env_make_dir(char *dir, size_t len, const char *parent, const char *prefix)
{
	snprintf(dir, len, "%s/%sXXXXXX", parent, prefix);
	return mkdtemp(dir) != NULL;
}

/* rm -rf dir; false (having said so) if that failed. */
static inline bool
ae_env_remove_dir(const char *dir)
{
	char		cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
	{
		fprintf(stderr, "  could not remove %s\n", dir);
		return false;
	}
	return true;
}

/*
 * A new engine over host in a fresh MAP_SHARED anonymous region (*mem, *size
 * bytes). On failure *mem may be MAP_FAILED; ae_env_unmap_engine copes.
 */
static inline ae_status
ae_env_map_engine(const ae_engine_config *cfg, const ae_host *host,
				  void **mem, size_t *size, ae_engine **eng)
{
	*size = ae_engine_shmem_size(cfg);
	*mem = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (*mem == MAP_FAILED)
		return AE_NO_MEMORY;
	return ae_engine_create(*mem, cfg, host, eng);
}

/* Detach the engine (if any) and unmap its region (if mapped). */
static inline void
ae_env_unmap_engine(ae_engine *eng, void *mem, size_t size)
{
	ae_engine_detach(eng);
	if (mem && mem != MAP_FAILED)
		munmap(mem, size);
}

static inline ae_status
ae_env_open(ae_env *e, uint32_t pool_pages, uint32_t wal_bytes, uint32_t ring)
{
	ae_status	st;

	memset(e, 0, sizeof(*e));
	if (!ae_env_make_dir(e->dir, sizeof(e->dir), "/tmp", "aether_test_"))
		return AE_IO_ERROR;
	if ((st = ae_posix_host_init(&e->host, e->dir)) != AE_OK)
		return st;
	e->cfg = (ae_engine_config) {pool_pages, wal_bytes, ring};
	return ae_env_map_engine(&e->cfg, &e->host, &e->mem, &e->size, &e->eng);
}

static inline void
ae_env_close(ae_env *e)
{
	ae_env_unmap_engine(e->eng, e->mem, e->size);
	ae_posix_host_close(&e->host);
	ae_env_remove_dir(e->dir);
}

/* Deterministic pseudo-random bytes: the same seed gives the same bytes. */
static inline void
ae_env_fill(char *buf, uint32_t seed, size_t len)
{
	uint64_t	x = seed * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = 0; i < len; i++)
	{
		if ((i & 7) == 0)
		{
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		buf[i] = (char) (x >> ((i & 7) * 8));
	}
}

/* Wait for n children; true if all exited with status 0. */
static inline bool
ae_env_wait_children(int n)
{
	bool		ok = true;

	for (int i = 0; i < n; i++)
	{
		int			status;

		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			ok = false;
	}
	return ok;
}

#endif
