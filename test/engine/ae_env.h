/*
 * ae_env.h — a throwaway engine for a test: a temporary directory with the
 * POSIX host, and a MAP_SHARED anonymous region (so forked children share
 * the pool and the log buffer, as PostgreSQL backends do).
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

static inline ae_status
ae_env_open(ae_env *e, uint32_t pool_pages, uint32_t wal_bytes, uint32_t ring)
{
	ae_status	st;

	memset(e, 0, sizeof(*e));
	strcpy(e->dir, "/tmp/aether_test_XXXXXX");
	if (!mkdtemp(e->dir))
		return AE_IO_ERROR;
	if ((st = ae_posix_host_init(&e->host, e->dir)) != AE_OK)
		return st;
	e->cfg = (ae_engine_config) {pool_pages, wal_bytes, ring};
	e->size = ae_engine_shmem_size(&e->cfg);
	e->mem = mmap(NULL, e->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (e->mem == MAP_FAILED)
		return AE_NO_MEMORY;
	return ae_engine_create(e->mem, &e->cfg, &e->host, &e->eng);
}

static inline void
ae_env_close(ae_env *e)
{
	char		cmd[128];

	ae_engine_detach(e->eng);
	if (e->mem && e->mem != MAP_FAILED)
		munmap(e->mem, e->size);
	ae_posix_host_close(&e->host);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "  could not remove %s\n", e->dir);
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
