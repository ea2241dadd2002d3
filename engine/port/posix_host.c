/*
 * posix_host.c — the ae_host callbacks over POSIX files in one directory
 * (see aether/posix_host.h). Follows the rules of aether/host.h: write past
 * the end extends (the gap reads as zeros), read past the end is
 * AE_NOT_FOUND, errors are reported with ae_fail naming file and block.
 * A block cut short by a crash during extension reads back zero-filled, so
 * verification reports it as corrupt and redo can repair it from an image.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aether/page.h"
#include "aether/posix_host.h"

#define FD_CACHE	32

typedef struct fd_entry
{
	bool		used;
	bool		is_log;
	ae_file_id	file;			/* relation file, when !is_log */
	uint64_t	seg;			/* log segment, when is_log */
	bool		unsynced;		/* written since the last sync (fdatasync'd when evicted) */
	int			fd;
} fd_entry;

typedef struct posix_ctx
{
	char	   *dir;
	int			dirfd;
	fd_entry	fds[FD_CACHE];
	unsigned	next_victim;
} posix_ctx;

static const ae_file_id no_file;

static ae_status
io_fail(ae_file_id f, uint32_t blk, const char *what, const char *name)
{
	int			e = errno;

	return ae_fail(e == ENOSPC || e == EDQUOT ? AE_DISK_FULL : AE_IO_ERROR, f, blk,
				   "could not %s \"%s\" (block %u): %s", what, name, blk, strerror(e));
}

static void
entry_name(posix_ctx *c, const fd_entry *e, char *buf, size_t len)
{
	if (e->is_log)
		snprintf(buf, len, "%s/log.%016" PRIx64, c->dir, e->seg);
	else
		snprintf(buf, len, "%s/%u_%u_%u", c->dir, e->file.spc, e->file.db, e->file.rel);
}

static void
entry_close(fd_entry *e)
{
	if (e->used)
	{
		if (e->unsynced)
			fdatasync(e->fd);	/* keep log_sync's promise for evicted segments */
		close(e->fd);
	}
	e->used = false;
}

/*
 * Descriptor for a relation file or log segment (key), opened on first use.
 * create: create a missing file (and sync the directory entry); otherwise a
 * missing file is AE_NOT_FOUND (no ae_fail: callers decide).
 */
static ae_status
get_fd(posix_ctx *c, const fd_entry *key, bool create, fd_entry **out)
{
	char		name[4096];
	fd_entry   *e;
	int			fd;

	for (int i = 0; i < FD_CACHE; i++)
	{
		e = &c->fds[i];
		if (e->used && e->is_log == key->is_log &&
			(key->is_log ? e->seg == key->seg : ae_file_id_equal(e->file, key->file)))
		{
			*out = e;
			return AE_OK;
		}
	}
	entry_name(c, key, name, sizeof(name));
	fd = open(name, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
	{
		if (!create)
			return AE_NOT_FOUND;
		fd = open(name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0 && fsync(c->dirfd) != 0)
		{
			close(fd);
			return io_fail(key->file, AE_NO_BLOCK, "sync directory for", name);
		}
	}
	if (fd < 0)
		return io_fail(key->file, AE_NO_BLOCK, "open", name);
	e = &c->fds[c->next_victim++ % FD_CACHE];
	entry_close(e);
	*e = *key;
	e->used = true;
	e->unsynced = false;
	e->fd = fd;
	*out = e;
	return AE_OK;
}

static fd_entry
rel_key(ae_file_id f)
{
	return (fd_entry) {.file = f};
}

static ae_status
px_read_block(void *ctx, ae_file_id f, uint32_t blk, void *page)
{
	posix_ctx  *c = ctx;
	fd_entry	key = rel_key(f);
	fd_entry   *e;
	ae_status	st = get_fd(c, &key, false, &e);
	ssize_t		n;

	if (st == AE_NOT_FOUND)
		return AE_NOT_FOUND;
	if (st != AE_OK)
		return st;
	n = pread(e->fd, page, AE_PAGE_SIZE, (off_t) blk * AE_PAGE_SIZE);
	if (n < 0)
	{
		char		name[4096];

		entry_name(c, e, name, sizeof(name));
		return io_fail(f, blk, "read", name);
	}
	if (n == 0)
		return AE_NOT_FOUND;
	if (n < AE_PAGE_SIZE)
		memset((char *) page + n, 0, AE_PAGE_SIZE - (size_t) n);
	return AE_OK;
}

/* pwrite all of len bytes (short writes retried). */
static bool
write_all(int fd, const void *buf, size_t len, off_t off)
{
	while (len > 0)
	{
		ssize_t		n = pwrite(fd, buf, len, off);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			return false;
		}
		buf = (const char *) buf + n;
		len -= (size_t) n;
		off += n;
	}
	return true;
}

static ae_status
px_write_block(void *ctx, ae_file_id f, uint32_t blk, const void *page)
{
	posix_ctx  *c = ctx;
	fd_entry	key = rel_key(f);
	fd_entry   *e;
	ae_status	st = get_fd(c, &key, true, &e);

	if (st != AE_OK)
		return st;
	if (!write_all(e->fd, page, AE_PAGE_SIZE, (off_t) blk * AE_PAGE_SIZE))
	{
		char		name[4096];

		entry_name(c, e, name, sizeof(name));
		return io_fail(f, blk, "write", name);
	}
	e->unsynced = true;			/* synced by sync_written, or when the descriptor is evicted */
	return AE_OK;
}

static ae_status
px_nblocks(void *ctx, ae_file_id f, uint32_t *nblocks)
{
	fd_entry	key = rel_key(f);
	fd_entry   *e;
	ae_status	st = get_fd(ctx, &key, false, &e);
	struct stat sb;

	*nblocks = 0;
	if (st == AE_NOT_FOUND)
		return AE_OK;
	if (st != AE_OK)
		return st;
	if (fstat(e->fd, &sb) != 0)
		return io_fail(f, AE_NO_BLOCK, "stat", "relation file");
	*nblocks = (uint32_t) ((sb.st_size + AE_PAGE_SIZE - 1) / AE_PAGE_SIZE);
	return AE_OK;
}

static ae_status
px_sync_file(void *ctx, ae_file_id f)
{
	fd_entry	key = rel_key(f);
	fd_entry   *e;
	ae_status	st = get_fd(ctx, &key, false, &e);

	if (st == AE_NOT_FOUND)
		return AE_OK;
	if (st != AE_OK)
		return st;
	if (fdatasync(e->fd) != 0)
		return io_fail(f, AE_NO_BLOCK, "fdatasync", "relation file");
	return AE_OK;
}

/* Apply fn to each log segment piece of [offset, offset + len). */
static ae_status
log_io(posix_ctx *c, uint64_t offset, char *buf, size_t len, bool write, size_t *got)
{
	*got = 0;
	while (len > 0)
	{
		fd_entry	key = {.is_log = true, .seg = offset / AE_POSIX_LOG_SEGMENT};
		uint64_t	in_seg = offset % AE_POSIX_LOG_SEGMENT;
		size_t		n = len < AE_POSIX_LOG_SEGMENT - in_seg ? len : AE_POSIX_LOG_SEGMENT - in_seg;
		fd_entry   *e;
		ae_status	st = get_fd(c, &key, write, &e);
		ssize_t		r;

		if (st == AE_NOT_FOUND)
			return AE_OK;		/* reading past the end of the log */
		if (st != AE_OK)
			return st;
		if (write)
		{
			if (!write_all(e->fd, buf, n, (off_t) in_seg))
				return io_fail(no_file, AE_NO_BLOCK, "write", "log segment");
			e->unsynced = true;
			r = (ssize_t) n;
		}
		else if ((r = pread(e->fd, buf, n, (off_t) in_seg)) < 0)
			return io_fail(no_file, AE_NO_BLOCK, "read", "log segment");
		*got += (size_t) r;
		if ((size_t) r < n)
			return AE_OK;		/* short read: the end of the log */
		offset += n;
		buf += n;
		len -= n;
	}
	return AE_OK;
}

static ae_status
px_log_write(void *ctx, uint64_t offset, const void *buf, size_t len)
{
	size_t		got;

	return log_io(ctx, offset, (char *) buf, len, true, &got);
}

static ae_status
px_log_read(void *ctx, uint64_t offset, void *buf, size_t len, size_t *got)
{
	return log_io(ctx, offset, buf, len, false, got);
}

static ae_status
px_log_sync(void *ctx)
{
	posix_ctx  *c = ctx;

	for (int i = 0; i < FD_CACHE; i++)
	{
		fd_entry   *e = &c->fds[i];

		if (e->used && e->is_log && e->unsynced)
		{
			if (fdatasync(e->fd) != 0)
				return io_fail(no_file, AE_NO_BLOCK, "fdatasync", "log segment");
			e->unsynced = false;
		}
	}
	return AE_OK;
}

/* ---- checkpoint support: control file, sync of written files, log discard ---- */

static ae_status
px_sync_written(void *ctx)
{
	posix_ctx  *c = ctx;

	for (int i = 0; i < FD_CACHE; i++)
	{
		fd_entry   *e = &c->fds[i];

		if (!e->used || e->is_log || !e->unsynced)
			continue;
		if (fdatasync(e->fd) != 0)
			return io_fail(e->file, AE_NO_BLOCK, "fdatasync", "relation file");
		e->unsynced = false;
	}
	return AE_OK;
}

static ae_status
px_control_read(void *ctx, void *buf, size_t len, size_t *got)
{
	posix_ctx  *c = ctx;
	char		name[4096];
	int			fd;
	ssize_t		r;

	snprintf(name, sizeof(name), "%s/control", c->dir);
	*got = 0;
	if ((fd = open(name, O_RDONLY | O_CLOEXEC)) < 0)
	{
		if (errno == ENOENT)
			return AE_NOT_FOUND;
		return io_fail(no_file, AE_NO_BLOCK, "open", name);
	}
	r = pread(fd, buf, len, 0);
	close(fd);
	if (r < 0)
		return io_fail(no_file, AE_NO_BLOCK, "read", name);
	*got = (size_t) r;
	return AE_OK;
}

/* Write control.tmp, sync it, rename it over control, sync the directory. */
static ae_status
px_control_write(void *ctx, const void *buf, size_t len)
{
	posix_ctx  *c = ctx;
	char		tmp[4096],
				name[4096];
	int			fd;

	snprintf(tmp, sizeof(tmp), "%s/control.tmp", c->dir);
	snprintf(name, sizeof(name), "%s/control", c->dir);
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return io_fail(no_file, AE_NO_BLOCK, "create", tmp);
	if (!write_all(fd, buf, len, 0) || fsync(fd) != 0)
	{
		ae_status	st = io_fail(no_file, AE_NO_BLOCK, "write", tmp);

		close(fd);
		return st;
	}
	close(fd);
	if (rename(tmp, name) != 0)
		return io_fail(no_file, AE_NO_BLOCK, "rename", tmp);
	if (fsync(c->dirfd) != 0)
		return io_fail(no_file, AE_NO_BLOCK, "sync directory", c->dir);
	return AE_OK;
}

/* Close the cached descriptor of log segment seg, if any. */
static void
forget_segment(posix_ctx *c, uint64_t seg)
{
	for (int i = 0; i < FD_CACHE; i++)
		if (c->fds[i].used && c->fds[i].is_log && c->fds[i].seg == seg)
		{
			c->fds[i].unsynced = false;
			entry_close(&c->fds[i]);
		}
}

/* Segment numbers present in the directory, into segs (at most max), count returned. */
static size_t
list_segments(posix_ctx *c, uint64_t *segs, size_t max)
{
	DIR		   *d = opendir(c->dir);
	struct dirent *de;
	size_t		n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL)
	{
		uint64_t	seg;

		if (strlen(de->d_name) == 20 && sscanf(de->d_name, "log.%16" SCNx64, &seg) == 1 && n < max)
			segs[n++] = seg;
	}
	closedir(d);
	return n;
}

static ae_status
px_log_discard(void *ctx, uint64_t keep_from, uint64_t end)
{
	posix_ctx  *c = ctx;
	uint64_t	segs[4096];
	size_t		n = list_segments(c, segs, 4096);
	uint64_t	end_seg = end / AE_POSIX_LOG_SEGMENT;
	uint64_t	first_after = UINT64_MAX;
	bool		next_present = false;
	char		name[4096];

	for (size_t i = 0; i < n; i++)
		if (end && segs[i] > end_seg)
		{
			next_present |= segs[i] == end_seg + 1;
			if (segs[i] < first_after)
				first_after = segs[i];
		}
	if (end && first_after != UINT64_MAX && !next_present)
		return ae_fail(AE_CORRUPT, no_file, AE_NO_BLOCK,
					   "log segment %016" PRIx64 " is missing, but segment %016" PRIx64 " exists",
					   end_seg + 1, first_after);
	for (size_t i = 0; i < n; i++)
	{
		fd_entry	key = {.is_log = true, .seg = segs[i]};

		entry_name(c, &key, name, sizeof(name));
		if ((segs[i] + 1) * AE_POSIX_LOG_SEGMENT <= keep_from || (end && segs[i] > end_seg))
		{
			forget_segment(c, segs[i]);
			if (unlink(name) != 0 && errno != ENOENT)
				return io_fail(no_file, AE_NO_BLOCK, "remove", name);
		}
		else if (end && segs[i] == end_seg)
		{
			forget_segment(c, segs[i]);
			if (truncate(name, (off_t) (end % AE_POSIX_LOG_SEGMENT)) != 0)
				return io_fail(no_file, AE_NO_BLOCK, "truncate", name);
		}
	}
	if (fsync(c->dirfd) != 0)
		return io_fail(no_file, AE_NO_BLOCK, "sync directory", c->dir);
	return AE_OK;
}

static ae_status
px_log_size(void *ctx, uint64_t *end)
{
	posix_ctx  *c = ctx;
	uint64_t	segs[4096];
	size_t		n = list_segments(c, segs, 4096);
	uint64_t	last = 0;
	bool		any = false;
	struct stat sb;
	char		name[4096];
	fd_entry	key = {.is_log = true};

	*end = 0;
	for (size_t i = 0; i < n; i++)
		if (!any || segs[i] > last)
		{
			last = segs[i];
			any = true;
		}
	if (!any)
		return AE_OK;
	key.seg = last;
	entry_name(c, &key, name, sizeof(name));
	if (stat(name, &sb) == 0)
		*end = last * AE_POSIX_LOG_SEGMENT + (uint64_t) sb.st_size;
	return AE_OK;
}

static void
px_message(void *ctx, int level, const char *msg)
{
	static const char *const names[] = {"debug", "info", "warning"};

	fprintf(stderr, "aether %s: %s\n", level >= 0 && level <= 2 ? names[level] : "log", msg);
}

static void
px_fatal(void *ctx, const char *msg)
{
	fprintf(stderr, "aether fatal: %s\n", msg);
	abort();
}

static bool
px_interrupted(void *ctx)
{
	return false;
}

ae_status
ae_posix_host_init(ae_host *host, const char *dir)
{
	posix_ctx  *c = calloc(1, sizeof(*c));

	if (!c || !(c->dir = strdup(dir)))
	{
		free(c);
		return ae_fail(AE_NO_MEMORY, no_file, AE_NO_BLOCK, "out of memory for POSIX host");
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
	{
		ae_status	st = io_fail(no_file, AE_NO_BLOCK, "create directory", dir);

		free(c->dir);
		free(c);
		return st;
	}
	if ((c->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
	{
		ae_status	st = io_fail(no_file, AE_NO_BLOCK, "open directory", dir);

		free(c->dir);
		free(c);
		return st;
	}
	*host = (ae_host) {
		.read_block = px_read_block,
		.write_block = px_write_block,
		.nblocks = px_nblocks,
		.sync_file = px_sync_file,
		.log_write = px_log_write,
		.log_read = px_log_read,
		.log_sync = px_log_sync,
		.message = px_message,
		.fatal = px_fatal,
		.interrupted = px_interrupted,
		.control_read = px_control_read,
		.control_write = px_control_write,
		.sync_written = px_sync_written,
		.log_discard = px_log_discard,
		.log_size = px_log_size,
		.ctx = c,
	};
	return AE_OK;
}

void
ae_posix_host_close(ae_host *host)
{
	posix_ctx  *c = host->ctx;

	if (!c)
		return;
	for (int i = 0; i < FD_CACHE; i++)
		entry_close(&c->fds[i]);
	close(c->dirfd);
	free(c->dir);
	free(c);
	host->ctx = NULL;
}
