/*
 * aether_host.c — the engine's host table implemented with PostgreSQL.
 *
 * Relation pages: smgr on the relation's main fork, never through shared
 * buffers. Writes skip PostgreSQL's fsync queue: the files written are
 * remembered in a shared set that Aether's checkpoint syncs (sync_written),
 * because Aether's checkpoint, not PostgreSQL's, decides when its log may be
 * removed. Log: 16 MiB segment files under $PGDATA/pg_aether/, next to the
 * control file pg_aether/control; a checkpoint renames the segments it no
 * longer needs to future segment numbers (recycling, see host_log_discard).
 * A failed fsync of either PANICs, as PostgreSQL does: the kernel may have
 * dropped the dirty data, and only recovery from the log can restore a
 * known state.
 *
 * Every callback catches PostgreSQL errors (PG_TRY) and returns a status with
 * the message, because the engine may hold latches when it calls us and must
 * never be unwound by a longjmp.
 */
#include "postgres.h"

#include <fcntl.h>
#include <stdio.h>				/* renameat2 (_GNU_SOURCE) */
#include <sys/stat.h>
#include <unistd.h>

#include "miscadmin.h"
#include "common/file_perm.h"
#include "common/hashfn.h"
#include "port/atomics.h"
#include "storage/bufmgr.h"		/* zero_damaged_pages */
#include "storage/fd.h"
#include "storage/shmem.h"
#include "storage/smgr.h"
#include "storage/spin.h"
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

RelFileNode
aetam_rnode(ae_file_id f)
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

/* Blocks in f's file, 0 if it does not exist (smgrexists reopens it: an unlink is noticed). */
static BlockNumber
file_nblocks(ae_file_id f)
{
	SMgrRelation reln = smgropen(aetam_rnode(f), InvalidBackendId);

	return smgrexists(reln, MAIN_FORKNUM) ? smgrnblocks(reln, MAIN_FORKNUM) : 0;
}

static ae_status
host_nblocks(void *ctx, ae_file_id f, uint32_t *nblocks)
{
	MemoryContext cxt = CurrentMemoryContext;
	ae_status	st = AE_OK;

	PG_TRY();
	{
		*nblocks = file_nblocks(f);
	}
	PG_CATCH();
	{
		st = caught_error(cxt, f, AE_NO_BLOCK, "could not get the size of an aether file");
	}
	PG_END_TRY();
	return st;
}

/*
 * Read a block. The usual case, a block of an existing file, is one
 * smgrread: a pread on a file this process keeps open. Only when that fails
 * is the file looked at again (smgrexists closes and reopens it, noticing an
 * unlink; smgrnblocks), so that a block past the end or of a missing file is
 * AE_NOT_FOUND, which the engine treats as a stale hint, and anything else is
 * an I/O error. With zero_damaged_pages on, mdread returns zeros for a block
 * it cannot read, so the file is checked before the read. Files of dropped
 * relations are closed in every backend before any other relation can take
 * their file number (smgr invalidation, processed when that relation is
 * locked), so the one-read path never reads a dropped file through an old
 * descriptor for a new relation.
 */
static ae_status
host_read_block(void *ctx, ae_file_id f, uint32_t blk, void *page)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile ae_status st = AE_OK;	/* set inside PG_TRY, read after a longjmp */
	ErrorData  *volatile edata = NULL;

	PG_TRY();
	{
		if (zero_damaged_pages && blk >= file_nblocks(f))
			st = AE_NOT_FOUND;
		else
			smgrread(smgropen(aetam_rnode(f), InvalidBackendId), MAIN_FORKNUM, blk, page);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
	}
	PG_END_TRY();
	if (edata != NULL)
	{
		/* why did it fail: no such block, or a real read error? */
		PG_TRY();
		{
			/*
			 * smgrexists reopened the file: if the block is there, read it
			 * once more through the new descriptor (the old one may have
			 * been of a file unlinked since)
			 */
			if (blk >= file_nblocks(f))
				st = AE_NOT_FOUND;
			else
			{
				smgrread(smgropen(aetam_rnode(f), InvalidBackendId), MAIN_FORKNUM, blk, page);
				st = AE_OK;
				FreeErrorData(edata);
				edata = NULL;
			}
		}
		PG_CATCH();
		{
			FlushErrorState();	/* report the read's own error */
		}
		PG_END_TRY();
		MemoryContextSwitchTo(cxt);
		if (edata != NULL)
		{
			if (st != AE_NOT_FOUND)
				st = ae_fail(edata->sqlerrcode == ERRCODE_DISK_FULL ? AE_DISK_FULL : AE_IO_ERROR,
							 f, blk, "could not read an aether page: %s", edata->message);
			FreeErrorData(edata);
		}
	}
	if (st == AE_NOT_FOUND)
		return ae_fail(AE_NOT_FOUND, f, blk, "block %u is beyond the end of the file", blk);
	return st;
}

/* ---- files written since the last checkpoint (shared) ---- */

#define SYNC_SLOTS 1024

typedef struct SyncSet
{
	/*
	 * The log segments written since the last log sync, by any process
	 * (host.h rule 4: log writes and syncs are serialised by the engine's
	 * flush latch, which guards these three fields).
	 */
	bool		log_unsynced;
	uint64		log_unsynced_first;
	uint64		log_unsynced_last;
	/* the end of the last log write (one writer: the flush latch), 0 before it */
	pg_atomic_uint64 log_written_end;
	pg_atomic_uint64 log_recycled;	/* segments renamed for reuse since start */

	slock_t		mutex;
	pg_atomic_uint64 generation;	/* advanced each time a checkpoint takes the set */
	bool		used[SYNC_SLOTS];
	ae_file_id	files[SYNC_SLOTS];
} SyncSet;

static SyncSet *sync_set = NULL;

Size
aetam_host_shmem_size(void)
{
	return sizeof(SyncSet);
}

void
aetam_host_shmem_init(void)
{
	bool		found;

	sync_set = ShmemInitStruct("aether written files", sizeof(SyncSet), &found);
	if (!found)
	{
		memset(sync_set, 0, sizeof(SyncSet));
		SpinLockInit(&sync_set->mutex);
		pg_atomic_init_u64(&sync_set->generation, 0);
		pg_atomic_init_u64(&sync_set->log_written_end, 0);
		pg_atomic_init_u64(&sync_set->log_recycled, 0);
	}
}

/* Add f to the set; false when the set is full. */
static bool
sync_set_add(ae_file_id f)
{
	uint32		h = hash_bytes((const unsigned char *) &f, sizeof(f)) % SYNC_SLOTS;
	bool		added = false;

	SpinLockAcquire(&sync_set->mutex);
	for (int i = 0; i < SYNC_SLOTS && !added; i++)
	{
		int			slot = (h + i) % SYNC_SLOTS;

		if (!sync_set->used[slot])
		{
			sync_set->used[slot] = true;
			sync_set->files[slot] = f;
			added = true;
		}
		else if (ae_file_id_equal(sync_set->files[slot], f))
			added = true;
	}
	SpinLockRelease(&sync_set->mutex);
	return added;
}

/*
 * Remember that f was written (after the write). A process skips the shared
 * set while it keeps writing the file it registered in the current
 * generation: a checkpoint advances the generation before it syncs, so a
 * write that saw the old generation finished before that sync began.
 */
static void
remember_written(SMgrRelation reln, ae_file_id f)
{
	static ae_file_id last = {0, 0, 0};
	static uint64 last_gen = UINT64_MAX;
	uint64		gen;

	pg_memory_barrier();
	gen = pg_atomic_read_u64(&sync_set->generation);
	if (gen == last_gen && ae_file_id_equal(f, last))
		return;
	if (!sync_set_add(f))
	{
		smgrimmedsync(reln, MAIN_FORKNUM);	/* set full: sync now (PANICs on failure) */
		return;
	}
	last = f;
	last_gen = gen;
}

static ae_status host_sync_file(void *ctx, ae_file_id f);

/* sync_written: fsync every file in the set (taken as it is now). */
static ae_status
host_sync_written(void *ctx)
{
	ae_file_id *files = palloc(sizeof(ae_file_id) * SYNC_SLOTS);
	int			n = 0;
	ae_status	st = AE_OK;

	SpinLockAcquire(&sync_set->mutex);
	pg_atomic_fetch_add_u64(&sync_set->generation, 1);
	for (int i = 0; i < SYNC_SLOTS; i++)
		if (sync_set->used[i])
		{
			files[n++] = sync_set->files[i];
			sync_set->used[i] = false;
		}
	SpinLockRelease(&sync_set->mutex);
	/* a file dropped meanwhile needs nothing; a failed fsync PANICs */
	for (int i = 0; i < n && st == AE_OK; i++)
		st = host_sync_file(ctx, files[i]);
	/* what was not synced goes back into the set */
	for (int i = 0; i < n && st != AE_OK; i++)
		(void) sync_set_add(files[i]);
	pfree(files);
	return st;
}

/*
 * Write one page. A block at or past the end goes through smgrextend at its
 * own number; blocks skipped over stay holes and read back as zeros
 * (host.h rule 2). The file is remembered for the next checkpoint's sync.
 */
static ae_status
host_write_block(void *ctx, ae_file_id f, uint32_t blk, const void *page)
{
	MemoryContext cxt = CurrentMemoryContext;
	ae_status	st = AE_OK;

	PG_TRY();
	{
		SMgrRelation reln = smgropen(aetam_rnode(f), InvalidBackendId);

		/*
		 * A file that no longer exists was unlinked by a committed DROP (its
		 * pages should have been dropped from the pool; this is the safety
		 * net): the page is of no use to anyone.
		 */
		if (!smgrexists(reln, MAIN_FORKNUM))
			elog(DEBUG1, "aether: discarding page %u of removed file %u/%u/%u",
				 blk, f.spc, f.db, f.rel);
		else
		{
			if (blk < smgrnblocks(reln, MAIN_FORKNUM))
				smgrwrite(reln, MAIN_FORKNUM, blk, (char *) page, true);
			else
				smgrextend(reln, MAIN_FORKNUM, blk, (char *) page, true);
			remember_written(reln, f);
		}
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
		SMgrRelation reln = smgropen(aetam_rnode(f), InvalidBackendId);

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

static const ae_file_id no_file = {0, 0, 0};

static void
segment_path(uint64 segno, char *path, size_t size)
{
	snprintf(path, size, LOG_DIR "/log.%016llx", (unsigned long long) segno);
}

/*
 * Make segno the open segment. Unsynced writes to the previous one need no
 * sync here: log_sync covers every segment written since the last sync.
 */
static ae_status
open_segment(uint64 segno, bool create)
{
	char		path[MAXPGPATH];

	if (seg_fd >= 0 && seg_no == segno)
		return AE_OK;
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
			char		path[MAXPGPATH];

			if (w >= 0)
				errno = ENOSPC;
			segment_path(segno, path, sizeof(path));
			return ae_fail(errno == ENOSPC ? AE_DISK_FULL : AE_IO_ERROR, no_file, AE_NO_BLOCK,
						   "could not write the log file \"%s\" at offset %llu (LSN %llu): %m",
						   path, (unsigned long long) segoff, (unsigned long long) offset);
		}
		if (!sync_set->log_unsynced)
			sync_set->log_unsynced_first = segno;
		sync_set->log_unsynced = true;
		sync_set->log_unsynced_last = Max(sync_set->log_unsynced_last, segno);
		p += n;
		offset += n;
		len -= n;
	}
	pg_atomic_write_u64(&sync_set->log_written_end, offset);
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

/*
 * Make every log byte written so far durable, whoever wrote it: each segment
 * written since the last sync (the one this process has open through its
 * descriptor, others through a transient one). A failure PANICs: the written
 * bytes' ring space is already reused and the kernel may have dropped them,
 * so the log can no longer be trusted (as PostgreSQL does; recovery starts
 * from the last checkpoint).
 */
static ae_status
host_log_sync(void *ctx)
{
	if (!sync_set->log_unsynced)
		return AE_OK;
	for (uint64 segno = sync_set->log_unsynced_first; segno <= sync_set->log_unsynced_last; segno++)
	{
		char		path[MAXPGPATH];
		bool		own = seg_fd >= 0 && segno == seg_no;
		int			fd;

		segment_path(segno, path, sizeof(path));
		fd = own ? seg_fd : OpenTransientFile(path, O_RDWR | PG_BINARY);
		if (fd < 0)
		{
			if (errno == ENOENT)
				continue;		/* removed by a checkpoint: nothing left to sync */
			ereport(PANIC,
					(errcode_for_file_access(),
					 errmsg("could not open aether log file \"%s\": %m", path)));
		}
		if (pg_fdatasync(fd) != 0)
			ereport(PANIC,
					(errcode_for_file_access(),
					 errmsg("could not fsync aether log file \"%s\": %m", path)));
		if (!own)
			CloseTransientFile(fd);
	}
	sync_set->log_unsynced = false;
	return AE_OK;
}

static void
host_message(void *ctx, int level, const char *msg)
{
	/* may be called with latches held: elog at LOG level does not throw */
	elog(level >= AE_LOG_WARNING ? WARNING : (level == AE_LOG_INFO ? LOG : DEBUG1),
		 "aether: %s", msg);
}

static void
host_fatal(void *ctx, const char *msg)
{
	ereport(PANIC,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("aether: %s", msg)));
}

static bool
host_interrupted(void *ctx)
{
	return InterruptPending;
}

/* Create pg_aether/ if it is missing. Called at (re)start of shared memory. */
void
aetam_log_dir_ensure(void)
{
	if (MakePGDirectory(LOG_DIR) < 0 && errno != EEXIST)
		ereport(FATAL,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", LOG_DIR)));
}

/* Write zeros to bytes [from, to) of fd; false with errno set on failure. */
static bool
zero_fill(int fd, off_t from, off_t to)
{
	static const char zeros[65536];

	while (from < to)
	{
		size_t		n = Min((off_t) sizeof(zeros), to - from);
		ssize_t		w = pwrite(fd, zeros, n, from);

		if (w != (ssize_t) n)
		{
			if (w >= 0)
				errno = ENOSPC;
			return false;
		}
		from += n;
	}
	return true;
}

#define PREALLOC_TEMP LOG_DIR "/log.prealloc"

/*
 * Segments the worker keeps ready after the one holding the insert position.
 * Commits check that the current and the next segment exist at full size
 * (aetam_log_space_ready) and otherwise write the log out first, waiting for
 * the flush in progress; with only the next segment ready, every commit
 * would do that from the moment the log enters it until the worker's next
 * round (up to 200 ms) creates the one after. Two ahead, the one after is
 * there already.
 */
#define PREALLOC_AHEAD 2

/* Create log segment segno, 16 MiB of zeros, unless it exists; false if that failed. */
static bool
preallocate_segment(uint64 segno)
{
	char		path[MAXPGPATH];
	int			fd;
	bool		ok;

	segment_path(segno, path, sizeof(path));
	if (access(path, F_OK) == 0)
		return true;
	fd = OpenTransientFile(PREALLOC_TEMP, O_RDWR | O_CREAT | O_TRUNC | PG_BINARY);
	if (fd < 0)
	{
		ereport(LOG, (errcode_for_file_access(),
					  errmsg("aether: could not create \"%s\": %m", PREALLOC_TEMP)));
		return false;
	}
	ok = zero_fill(fd, 0, LOG_SEGMENT_SIZE) && pg_fsync(fd) == 0;
	CloseTransientFile(fd);
	if (ok && link(PREALLOC_TEMP, path) != 0 && errno != EEXIST)
		ok = false;
	if (!ok)
		ereport(LOG, (errcode_for_file_access(),
					  errmsg("aether: could not preallocate log file \"%s\": %m", path)));
	(void) unlink(PREALLOC_TEMP);
	if (ok)
		fsync_fname(LOG_DIR, true);
	return ok;
}

/*
 * Create the PREALLOC_AHEAD log segments after the one holding lsn, filled
 * with zeros, where they do not exist yet (the background worker calls this
 * every 200 ms). The writes that later fill a preallocated segment change no
 * file size, so the commit path's fdatasync need not commit file system
 * metadata (a journal commit on ext4) — PostgreSQL pre-creates its WAL
 * segments for the same reason. Once checkpoints recycle old segments
 * (host_log_discard), the next ones usually exist already and nothing is
 * done. Each file is built under a temporary name and linked into place,
 * which never replaces a segment a writer created or a checkpoint recycled
 * meanwhile (writers create a missing segment themselves, growing it as
 * they go). Failures (a full disk) are logged: the writer then creates the
 * segment itself.
 */
void
aetam_log_preallocate(uint64 lsn)
{
	/* in order, stopping at a failure: recovery takes a gap in the numbers for lost log */
	for (int i = 1; i <= PREALLOC_AHEAD; i++)
		if (!preallocate_segment(lsn / LOG_SEGMENT_SIZE + i))
			break;
}

/* The log file holding lsn (for messages). */
void
aetam_log_file_name(uint64 lsn, char *buf, size_t size)
{
	segment_path(lsn / LOG_SEGMENT_SIZE, buf, size);
}

/*
 * Is the log file space for lsn and the next segment already allocated (the
 * files exist at full size: preallocated or recycled)? Then writing log up
 * to there changes no file size and cannot fail for a full disk. Files at
 * or after the insert position are never shortened or removed while the
 * server runs, so a yes is remembered (per process) until lsn passes it.
 */
bool
aetam_log_space_ready(uint64 lsn)
{
	static uint64 ready_below = 0;	/* every byte below it is in a full-size file */
	uint64		segno = lsn / LOG_SEGMENT_SIZE;

	if (lsn + LOG_SEGMENT_SIZE < ready_below)
		return true;
	for (uint64 s = segno; s <= segno + 1; s++)
	{
		char		path[MAXPGPATH];
		struct stat sb;

		if ((s + 1) * LOG_SEGMENT_SIZE <= ready_below)
			continue;
		segment_path(s, path, sizeof(path));
		if (stat(path, &sb) != 0 || (uint64) sb.st_size < LOG_SEGMENT_SIZE)
			return false;
		ready_below = (s + 1) * LOG_SEGMENT_SIZE;
	}
	return true;
}

/* ---- checkpoint support: the control file, discarding log ---- */

#define CONTROL_FILE LOG_DIR "/control"
#define CONTROL_TEMP LOG_DIR "/control.tmp"

static ae_status
host_control_read(void *ctx, void *buf, size_t len, size_t *got)
{
	int			fd = OpenTransientFile(CONTROL_FILE, O_RDONLY | PG_BINARY);
	ssize_t		r;

	*got = 0;
	if (fd < 0)
	{
		if (errno == ENOENT)
			return AE_NOT_FOUND;
		return ae_fail(AE_IO_ERROR, no_file, AE_NO_BLOCK,
					   "could not open \"%s\": %m", CONTROL_FILE);
	}
	r = pg_pread(fd, buf, len, 0);
	CloseTransientFile(fd);
	if (r < 0)
		return ae_fail(AE_IO_ERROR, no_file, AE_NO_BLOCK,
					   "could not read \"%s\": %m", CONTROL_FILE);
	*got = (size_t) r;
	return AE_OK;
}

/* Write the temporary file, fsync it, rename it over the control file, fsync the directory. */
static ae_status
host_control_write(void *ctx, const void *buf, size_t len)
{
	int			fd = OpenTransientFile(CONTROL_TEMP, O_RDWR | O_CREAT | O_TRUNC | PG_BINARY);

	if (fd < 0)
		return ae_fail(errno == ENOSPC ? AE_DISK_FULL : AE_IO_ERROR, no_file, AE_NO_BLOCK,
					   "could not create \"%s\": %m", CONTROL_TEMP);
	errno = 0;
	if (pg_pwrite(fd, buf, len, 0) != (ssize_t) len)
	{
		if (errno == 0)
			errno = ENOSPC;
		CloseTransientFile(fd);
		return ae_fail(errno == ENOSPC ? AE_DISK_FULL : AE_IO_ERROR, no_file, AE_NO_BLOCK,
					   "could not write \"%s\": %m", CONTROL_TEMP);
	}
	if (pg_fsync(fd) != 0)
		ereport(PANIC,
				(errcode_for_file_access(),
				 errmsg("could not fsync \"%s\": %m", CONTROL_TEMP)));
	CloseTransientFile(fd);
	/* durable_rename fsyncs the file, renames, and fsyncs the directory */
	if (durable_rename(CONTROL_TEMP, CONTROL_FILE, LOG) != 0)
		return ae_fail(AE_IO_ERROR, no_file, AE_NO_BLOCK,
					   "could not rename \"%s\" to \"%s\": %m", CONTROL_TEMP, CONTROL_FILE);
	return AE_OK;
}

/* Segment numbers present in pg_aether/, sorted; *n set. palloc'd. */
static uint64 *
list_segments(int *n)
{
	DIR		   *dir = AllocateDir(LOG_DIR);
	struct dirent *de;
	int			cap = 64;
	uint64	   *segs = palloc(sizeof(uint64) * cap);

	*n = 0;
	while ((de = ReadDir(dir, LOG_DIR)) != NULL)
	{
		unsigned long long segno;

		if (strlen(de->d_name) != 20 || sscanf(de->d_name, "log.%16llx", &segno) != 1)
			continue;
		if (*n == cap)
		{
			cap *= 2;
			segs = repalloc(segs, sizeof(uint64) * cap);
		}
		segs[(*n)++] = segno;
	}
	FreeDir(dir);
	for (int i = 1; i < *n; i++)	/* insertion sort: a few files */
		for (int j = i; j > 0 && segs[j - 1] > segs[j]; j--)
		{
			uint64		t = segs[j];

			segs[j] = segs[j - 1];
			segs[j - 1] = t;
		}
	return segs;
}

static void
forget_open_segment(uint64 segno)
{
	if (seg_fd >= 0 && seg_no == segno)
	{
		close(seg_fd);
		seg_fd = -1;
	}
}

/*
 * The log file numbers have no gap: a writer creates the segment it reaches
 * next, the worker the one after it (aetam_log_preallocate), a checkpoint
 * renames old segments to the next free numbers above the highest, and
 * segments are removed from the low end (a checkpoint) or from the high end
 * (recovery cutting a torn tail), one at a time. So a gap after the end of
 * the valid log means a lost file, never a recycled one.
 */

/* With end != 0 (recovery): AE_CORRUPT if a file is missing between the end and a later file. */
static ae_status
check_no_gap(const uint64 *segs, int n, uint64 end)
{
	uint64		end_seg = end / LOG_SEGMENT_SIZE;
	bool		have_end_seg = false;
	uint64		expect = end_seg + 1;
	char		path[MAXPGPATH];

	for (int i = 0; i < n; i++)
		have_end_seg |= segs[i] == end_seg;
	if (!have_end_seg && end % LOG_SEGMENT_SIZE != 0)
		expect = end_seg;		/* the file holding the end is gone: any later one is an error */
	for (int i = 0; i < n; i++)
	{
		if (segs[i] <= end_seg)
			continue;
		if (segs[i] != expect)
		{
			segment_path(expect, path, sizeof(path));
			return ae_fail(AE_CORRUPT, no_file, AE_NO_BLOCK,
						   "aether log file \"%s\" is missing, but later log files exist", path);
		}
		expect++;
	}
	return AE_OK;
}

/*
 * Recovery: forget every log byte at or after end. The bytes there that the
 * crashed run wrote at their own LSN (a torn tail, or whole groups beyond a
 * hole a power failure left) would still validate after new log ends at a
 * record boundary among them, so the segment holding end is zeroed from
 * there, and later segments, recycled ones among them (harmless, but there
 * is no telling them from written ones), are removed, the highest first so
 * that a crash meanwhile leaves no gap.
 */
static ae_status
cut_log(const uint64 *segs, int n, uint64 end)
{
	uint64		end_seg = end / LOG_SEGMENT_SIZE;
	char		path[MAXPGPATH];

	for (int i = n - 1; i >= 0 && segs[i] > end_seg; i--)
	{
		segment_path(segs[i], path, sizeof(path));
		forget_open_segment(segs[i]);
		if (unlink(path) != 0 && errno != ENOENT)
			return ae_fail(AE_IO_ERROR, no_file, AE_NO_BLOCK, "could not remove \"%s\": %m", path);
	}
	for (int i = 0; i < n; i++)
	{
		int			fd;
		bool		ok;

		if (segs[i] > end_seg)
			continue;
		segment_path(segs[i], path, sizeof(path));
		forget_open_segment(segs[i]);
		fd = OpenTransientFile(path, O_RDWR | PG_BINARY);
		/*
		 * The log recovered up to end counts as durable from now on (later
		 * records say so, R7): sync the segments it lies in, which the
		 * crashed run may have left in the kernel only. The segment holding
		 * end gets zeros, not a shorter file: it stays preallocated.
		 */
		ok = fd >= 0 &&
			(segs[i] < end_seg || zero_fill(fd, (off_t) (end % LOG_SEGMENT_SIZE), LOG_SEGMENT_SIZE)) &&
			pg_fsync(fd) == 0;
		if (!ok)
		{
			ae_status	st = ae_fail(errno == ENOSPC ? AE_DISK_FULL : AE_IO_ERROR, no_file, AE_NO_BLOCK,
									 "could not clear or sync the log file \"%s\" (log end LSN %llu): %m", path,
									 (unsigned long long) end);

			if (fd >= 0)
				CloseTransientFile(fd);
			return st;
		}
		CloseTransientFile(fd);
	}
	return AE_OK;
}

/*
 * Rename segment `from` to the first free number from *to on, and make the
 * rename durable (the directory is synced: after a crash the file has one
 * name or the other, never none; the file's contents need no sync, they are
 * stale either way). The directory sync follows the rename as in
 * durable_rename: a writer reaching the new name in between (only when it
 * is the segment right after the one being written) relies, as
 * PostgreSQL's recycled WAL segments do, on the file system committing the
 * rename with its fdatasync. Never replaces a file: a writer creates the segment it reaches
 * without asking anyone (open_segment) and the worker links in the one after
 * it, so a number found free may be taken meanwhile; renameat2 with
 * RENAME_NOREPLACE then fails and the next number is tried (where
 * durable_rename would replace, losing the log written into the file it
 * replaced). False, with errno set, when the file could not be renamed
 * (then *to is unchanged and the caller removes it).
 */
static bool
recycle_segment(uint64 from, uint64 *to)
{
	char		src[MAXPGPATH],
				dst[MAXPGPATH];

	segment_path(from, src, sizeof(src));
	for (uint64 k = *to; k < *to + 8; k++)
	{
		segment_path(k, dst, sizeof(dst));
		if (renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
		{
			fsync_fname(LOG_DIR, true);
			*to = k;
			return true;
		}
		if (errno != EEXIST)
			return false;		/* EINVAL: the file system cannot rename without replacing */
	}
	return false;
}

/*
 * A checkpoint: the segments wholly before keep_from, lowest first, are
 * renamed to future segment numbers (recycled, as PostgreSQL's
 * InstallXLogFileSegment does), so that writers reach files that exist and
 * are allocated already, while fewer than aether.max_wal_size worth of
 * segments (at least 2) lie ahead of the one being written; the others are
 * removed. Stale records in a recycled file sit one or more segments above
 * the LSN they were written for, where their CRC fails (wal/README.md R6).
 */
static ae_status
retire_old_segments(const uint64 *segs, int n, uint64 keep_from)
{
	uint64		written = pg_atomic_read_u64(&sync_set->log_written_end);
	uint64		cur_seg = Max(keep_from, written) / LOG_SEGMENT_SIZE;
	uint64		limit = Max(2, (uint64) aetam_max_wal_mb * 1024 * 1024 / LOG_SEGMENT_SIZE);
	uint64		ahead = 0;
	uint64		top = n > 0 ? segs[n - 1] : 0;
	char		path[MAXPGPATH];

	for (int i = 0; i < n; i++)
		ahead += segs[i] > cur_seg;
	for (int i = 0; i < n && (segs[i] + 1) * LOG_SEGMENT_SIZE <= keep_from; i++)
	{
		uint64		to = top + 1;

		forget_open_segment(segs[i]);
		segment_path(segs[i], path, sizeof(path));
		if (ahead < limit)
		{
			if (recycle_segment(segs[i], &to))
			{
				top = to;
				ahead++;
				pg_atomic_fetch_add_u64(&sync_set->log_recycled, 1);
				continue;
			}
			elog(DEBUG1, "aether: could not recycle log file \"%s\", removing it: %m", path);
		}
		if (unlink(path) != 0 && errno != ENOENT)
			return ae_fail(AE_IO_ERROR, no_file, AE_NO_BLOCK, "could not remove \"%s\": %m", path);
	}
	return AE_OK;
}

/*
 * Forget the segments wholly before keep_from (a checkpoint: recycled or
 * removed); with end != 0 (recovery), also cut the log at end: the segment
 * holding end is zeroed from there, later ones are removed, unless one is
 * missing in between (then the log is not a torn tail but damaged:
 * AE_CORRUPT naming the missing file).
 */
static ae_status
host_log_discard(void *ctx, uint64_t keep_from, uint64_t end)
{
	int			n;
	uint64	   *segs = list_segments(&n);
	ae_status	st = AE_OK;

	if (end)
	{
		st = check_no_gap(segs, n, end);
		if (st == AE_OK)
			st = cut_log(segs, n, end);
	}
	if (st == AE_OK && keep_from > 0)
		st = retire_old_segments(segs, n, keep_from);
	if (st == AE_OK)
		fsync_fname(LOG_DIR, true);
	pfree(segs);
	return st;
}

/* Log segments renamed for reuse since the server started (pg_stat_aether_wal). */
uint64
aetam_log_segments_recycled(void)
{
	return pg_atomic_read_u64(&sync_set->log_recycled);
}

/*
 * About where the written log ends (recovery's progress estimate). Not the
 * highest segment: recycled ones wait ahead of the writers. Once this server
 * has written, the end of its last write; before (recovery), the end of the
 * segment modified last: a recycled segment keeps the time it was last
 * written as older log, and the one created ahead of the writers is at most
 * one segment further.
 */
static ae_status
host_log_size(void *ctx, uint64_t *end)
{
	int			n;
	uint64	   *segs;
	struct timespec newest = {0, 0};
	char		path[MAXPGPATH];

	*end = pg_atomic_read_u64(&sync_set->log_written_end);
	if (*end != 0)
		return AE_OK;
	segs = list_segments(&n);
	for (int i = 0; i < n; i++)
	{
		struct stat sb;

		segment_path(segs[i], path, sizeof(path));
		if (stat(path, &sb) != 0)
			continue;
		if (sb.st_mtim.tv_sec > newest.tv_sec ||
			(sb.st_mtim.tv_sec == newest.tv_sec && sb.st_mtim.tv_nsec >= newest.tv_nsec))
		{
			newest = sb.st_mtim;
			*end = segs[i] * LOG_SEGMENT_SIZE + (uint64) sb.st_size;
		}
	}
	pfree(segs);
	return AE_OK;
}

/* Host records (aether.h AETAM_REC_*) found by replay go to their module. */
static ae_status
host_redo_record(void *ctx, uint8_t type, const void *data, size_t len)
{
	switch (type)
	{
		case AETAM_REC_COMMIT:
			return aetam_commit_redo_record(data, len);
		case AETAM_REC_INSERTING:
			return aetam_undo_redo_record(data, len);
		case AETAM_REC_ABORT:
			return aetam_commit_redo_abort(data, len);
		default:
			return ae_fail(AE_CORRUPT, no_file, AE_NO_BLOCK,
						   "unknown host record type %u in Aether's log", type);
	}
}

/*
 * Before a checkpoint forgets the log before redo_lsn: the commits logged
 * there must be durable in PostgreSQL's WAL, and the running transactions'
 * first row ids are logged again after it.
 */
static ae_status
host_checkpoint_prepare(void *ctx, uint64_t redo_lsn)
{
	MemoryContext cxt = CurrentMemoryContext;
	ae_status	st = AE_OK;

	PG_TRY();
	{
		st = aetam_commit_checkpoint_prepare(redo_lsn);
		if (st == AE_OK)
			st = aetam_undo_checkpoint_prepare(aetam_engine_nowait());
	}
	PG_CATCH();
	{
		st = caught_error(cxt, no_file, AE_NO_BLOCK, "could not prepare a checkpoint");
	}
	PG_END_TRY();
	return st;
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
	host->fatal = host_fatal;
	host->interrupted = host_interrupted;
	host->control_read = host_control_read;
	host->control_write = host_control_write;
	host->sync_written = host_sync_written;
	host->log_discard = host_log_discard;
	host->log_size = host_log_size;
	host->redo_record = host_redo_record;
	host->checkpoint_prepare = host_checkpoint_prepare;
	host->ctx = NULL;
}
