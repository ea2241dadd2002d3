/*
 * aether_host.c — the engine's host table implemented with PostgreSQL.
 *
 * Relation pages: smgr on the relation's main fork, never through shared
 * buffers. Log: 16 MiB segment files under $PGDATA/pg_aether/.
 *
 * Every callback catches PostgreSQL errors (PG_TRY) and returns a status with
 * the message, because the engine may hold latches when it calls us and must
 * never be unwound by a longjmp.
 */
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>

#include "miscadmin.h"
#include "common/file_perm.h"
#include "storage/fd.h"
#include "storage/smgr.h"
#include "utils/memutils.h"

#include "aether.h"

#define LOG_DIR "pg_aether"
#define LOG_SEGMENT_SIZE ((uint64) 16 * 1024 * 1024)

ae_file_id
aetam_file_id(const RelFileNode *rnode)
{
	ae_file_id	f;

	f.spc = rnode->spcNode;
	f.db = rnode->dbNode;
	f.rel = rnode->relNode;
	return f;
}

static RelFileNode
to_rnode(ae_file_id f)
{
	RelFileNode rnode;

	rnode.spcNode = f.spc;
	rnode.dbNode = f.db;
	rnode.relNode = f.rel;
	return rnode;
}

/* Convert the PostgreSQL error being handled into an engine failure. */
static ae_status
caught_error(MemoryContext cxt, ae_file_id f, uint32_t blk, const char *what)
{
	ErrorData  *edata;
	ae_status	st;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	FlushErrorState();
	st = (edata->sqlerrcode == ERRCODE_DISK_FULL) ? AE_DISK_FULL : AE_IO_ERROR;
	st = ae_fail(st, f, blk, "%s: %s", what, edata->message);
	FreeErrorData(edata);
	return st;
}

static ae_status
host_nblocks(void *ctx, ae_file_id f, uint32_t *nblocks)
{
	MemoryContext cxt = CurrentMemoryContext;
	ae_status	st = AE_OK;

	PG_TRY();
	{
		SMgrRelation reln = smgropen(to_rnode(f), InvalidBackendId);

		*nblocks = smgrexists(reln, MAIN_FORKNUM) ? smgrnblocks(reln, MAIN_FORKNUM) : 0;
	}
	PG_CATCH();
	{
		st = caught_error(cxt, f, AE_NO_BLOCK, "could not get the size of an aether file");
	}
	PG_END_TRY();
	return st;
}

static ae_status
host_read_block(void *ctx, ae_file_id f, uint32_t blk, void *page)
{
	MemoryContext cxt = CurrentMemoryContext;
	ae_status	st = AE_OK;

	PG_TRY();
	{
		SMgrRelation reln = smgropen(to_rnode(f), InvalidBackendId);

		if (!smgrexists(reln, MAIN_FORKNUM) || blk >= smgrnblocks(reln, MAIN_FORKNUM))
			st = AE_NOT_FOUND;
		else
			smgrread(reln, MAIN_FORKNUM, blk, page);
	}
	PG_CATCH();
	{
		st = caught_error(cxt, f, blk, "could not read an aether page");
	}
	PG_END_TRY();
	if (st == AE_NOT_FOUND)
		return ae_fail(AE_NOT_FOUND, f, blk, "block %u is beyond the end of the file", blk);
	return st;
}

/*
 * Write one page. A block at or past the end goes through smgrextend at its
 * own number; blocks skipped over stay holes and read back as zeros
 * (host.h rule 2). Dirty segments are queued for PostgreSQL's checkpointer
 * to fsync (skipFsync = false).
 */
static ae_status
host_write_block(void *ctx, ae_file_id f, uint32_t blk, const void *page)
{
	MemoryContext cxt = CurrentMemoryContext;
	ae_status	st = AE_OK;

	PG_TRY();
	{
		SMgrRelation reln = smgropen(to_rnode(f), InvalidBackendId);

		/*
		 * A file that no longer exists was unlinked by a committed DROP (its
		 * pages should have been dropped from the pool; this is the safety
		 * net): the page is of no use to anyone.
		 */
		if (!smgrexists(reln, MAIN_FORKNUM))
			elog(DEBUG1, "aether: discarding page %u of removed file %u/%u/%u",
				 blk, f.spc, f.db, f.rel);
		else if (blk < smgrnblocks(reln, MAIN_FORKNUM))
			smgrwrite(reln, MAIN_FORKNUM, blk, (char *) page, false);
		else
			smgrextend(reln, MAIN_FORKNUM, blk, (char *) page, false);
	}
	PG_CATCH();
	{
		st = caught_error(cxt, f, blk, "could not write an aether page");
	}
	PG_END_TRY();
	return st;
}

static ae_status
host_sync_file(void *ctx, ae_file_id f)
{
	MemoryContext cxt = CurrentMemoryContext;
	ae_status	st = AE_OK;

	PG_TRY();
	{
		SMgrRelation reln = smgropen(to_rnode(f), InvalidBackendId);

		if (smgrexists(reln, MAIN_FORKNUM))
			smgrimmedsync(reln, MAIN_FORKNUM);
	}
	PG_CATCH();
	{
		st = caught_error(cxt, f, AE_NO_BLOCK, "could not sync an aether file");
	}
	PG_END_TRY();
	return st;
}

/* ---- the log: segment files pg_aether/log.<segment number in hex> ---- */

static int	seg_fd = -1;		/* the one segment this process has open */
static uint64 seg_no = 0;
static bool seg_dirty = false;

static const ae_file_id no_file = {0, 0, 0};

static void
segment_path(uint64 segno, char *path, size_t size)
{
	snprintf(path, size, LOG_DIR "/log.%016llx", (unsigned long long) segno);
}

static ae_status
sync_segment(void)
{
	if (seg_fd >= 0 && seg_dirty)
	{
		if (pg_fdatasync(seg_fd) != 0)
			return ae_fail(errno == ENOSPC ? AE_DISK_FULL : AE_IO_ERROR, no_file, AE_NO_BLOCK,
						   "could not fsync aether log segment %llx: %m",
						   (unsigned long long) seg_no);
		seg_dirty = false;
	}
	return AE_OK;
}

/* Make segno the open segment (syncing the previous one if it has unsynced writes). */
static ae_status
open_segment(uint64 segno, bool create)
{
	char		path[MAXPGPATH];
	ae_status	st;

	if (seg_fd >= 0 && seg_no == segno)
		return AE_OK;
	if ((st = sync_segment()) != AE_OK)
		return st;
	if (seg_fd >= 0)
		close(seg_fd);
	seg_fd = -1;
	segment_path(segno, path, sizeof(path));
	seg_fd = open(path, O_RDWR | (create ? O_CREAT : 0) | PG_BINARY, pg_file_create_mode);
	if (seg_fd < 0)
		return ae_fail(errno == ENOENT ? AE_NOT_FOUND : AE_IO_ERROR, no_file, AE_NO_BLOCK,
					   "could not open aether log file \"%s\": %m", path);
	seg_no = segno;
	return AE_OK;
}

static ae_status
host_log_write(void *ctx, uint64_t offset, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0)
	{
		uint64		segno = offset / LOG_SEGMENT_SIZE;
		uint64		segoff = offset % LOG_SEGMENT_SIZE;
		size_t		n = Min(len, LOG_SEGMENT_SIZE - segoff);
		ssize_t		w;
		ae_status	st;

		if ((st = open_segment(segno, true)) != AE_OK)
			return st;
		w = pwrite(seg_fd, p, n, (off_t) segoff);
		if (w != (ssize_t) n)
		{
			if (w >= 0)
				errno = ENOSPC;
			return ae_fail(errno == ENOSPC ? AE_DISK_FULL : AE_IO_ERROR, no_file, AE_NO_BLOCK,
						   "could not write aether log at %llu: %m",
						   (unsigned long long) offset);
		}
		seg_dirty = true;
		p += n;
		offset += n;
		len -= n;
	}
	return AE_OK;
}

static ae_status
host_log_read(void *ctx, uint64_t offset, void *buf, size_t len, size_t *got)
{
	char	   *p = buf;

	*got = 0;
	while (len > 0)
	{
		uint64		segno = offset / LOG_SEGMENT_SIZE;
		uint64		segoff = offset % LOG_SEGMENT_SIZE;
		size_t		n = Min(len, LOG_SEGMENT_SIZE - segoff);
		ssize_t		r;
		ae_status	st = open_segment(segno, false);

		if (st == AE_NOT_FOUND)
			return AE_OK;		/* past the written end */
		if (st != AE_OK)
			return st;
		r = pread(seg_fd, p, n, (off_t) segoff);
		if (r < 0)
			return ae_fail(AE_IO_ERROR, no_file, AE_NO_BLOCK,
						   "could not read aether log at %llu: %m",
						   (unsigned long long) offset);
		*got += r;
		if ((size_t) r < n)
			return AE_OK;
		p += n;
		offset += n;
		len -= n;
	}
	return AE_OK;
}

static ae_status
host_log_sync(void *ctx)
{
	return sync_segment();
}

static void
host_message(void *ctx, int level, const char *msg)
{
	/* may be called with latches held: elog at LOG level does not throw */
	elog(level >= AE_LOG_WARNING ? WARNING : (level == AE_LOG_INFO ? LOG : DEBUG1),
		 "aether: %s", msg);
}

static bool
host_interrupted(void *ctx)
{
	return InterruptPending;
}

void
aetam_host_init(ae_host *host)
{
	memset(host, 0, sizeof(*host));
	host->read_block = host_read_block;
	host->write_block = host_write_block;
	host->nblocks = host_nblocks;
	host->sync_file = host_sync_file;
	host->log_write = host_log_write;
	host->log_read = host_log_read;
	host->log_sync = host_log_sync;
	host->message = host_message;
	host->interrupted = host_interrupted;
	host->ctx = NULL;
}

/*
 * Create pg_aether/ and remove old log segments. Until server recovery
 * replays the log (the crash-safety issue), the log of a previous run is not
 * needed: a clean shutdown writes every page first. Called at (re)start of
 * shared memory, before any backend runs.
 */
void
aetam_log_dir_ensure(void)
{
	DIR		   *dir;
	struct dirent *de;

	if (MakePGDirectory(LOG_DIR) < 0 && errno != EEXIST)
		ereport(FATAL,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", LOG_DIR)));
	dir = AllocateDir(LOG_DIR);
	while ((de = ReadDir(dir, LOG_DIR)) != NULL)
	{
		char		path[MAXPGPATH];

		if (strncmp(de->d_name, "log.", 4) != 0)
			continue;
		snprintf(path, sizeof(path), LOG_DIR "/%s", de->d_name);
		if (unlink(path) != 0)
			ereport(LOG, (errcode_for_file_access(),
						  errmsg("could not remove \"%s\": %m", path)));
	}
	FreeDir(dir);
}

/*
 * Remove log segments that end at or before lsn. The caller has written
 * every page dirtied before lsn, so nothing needs those records (until server
 * recovery exists, nothing reads the log at all; this keeps it bounded).
 */
void
aetam_log_remove_before(uint64 lsn)
{
	DIR		   *dir;
	struct dirent *de;
	uint64		keep_from = lsn / LOG_SEGMENT_SIZE;	/* segment holding lsn stays */

	dir = AllocateDir(LOG_DIR);
	while ((de = ReadDir(dir, LOG_DIR)) != NULL)
	{
		char		path[MAXPGPATH];
		unsigned long long segno;

		if (sscanf(de->d_name, "log.%16llx", &segno) != 1 || segno >= keep_from)
			continue;
		snprintf(path, sizeof(path), LOG_DIR "/%s", de->d_name);
		if (unlink(path) != 0 && errno != ENOENT)
			ereport(LOG, (errcode_for_file_access(),
						  errmsg("could not remove \"%s\": %m", path)));
	}
	FreeDir(dir);
}
