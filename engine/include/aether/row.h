/*
 * aether/row.h — the version list stored under one row id.
 *
 * A table is a B+tree keyed by the 8-byte big-endian row id (ae_row_key). The
 * value under a row id is a version list: every version of that row that some
 * snapshot may still need, newest first. The engine treats each version as
 * opaque bytes; the PostgreSQL glue stores a HeapTupleHeader and the tuple
 * data in it and decides visibility.
 *
 * Byte layout of a version list:
 *   offset size field
 *   0      1    magic   AE_ROW_MAGIC
 *   1      1    format  AE_ROW_FORMAT
 *   2      2    nversions (>= 1)
 *   4      4*n  length of each version
 *   ...         the versions, each padded to 8 bytes, in order
 */
#ifndef AETHER_ROW_H
#define AETHER_ROW_H

#include <stddef.h>
#include <stdint.h>
#include "aether/status.h"
#include "aether/btree.h"

#define AE_ROW_MAGIC	0xA7
#define AE_ROW_FORMAT	1
#define AE_ROW_MAX_VERSIONS 4096

/* 8-byte big-endian key of a row id: byte order equals numeric order. */
static inline void
ae_row_key(uint64_t rowid, unsigned char key[8])
{
	for (int i = 7; i >= 0; i--)
	{
		key[i] = (unsigned char) (rowid & 0xFF);
		rowid >>= 8;
	}
}

static inline uint64_t
ae_row_key_decode(const unsigned char key[8])
{
	uint64_t	r = 0;

	for (int i = 0; i < 8; i++)
		r = (r << 8) | key[i];
	return r;
}

typedef struct ae_row_version
{
	const void *data;
	uint32_t	len;
} ae_row_version;

/*
 * Parse a version list. On success *n is the count and vers[0..n-1] point into
 * buf (at most maxv entries are filled). AE_CORRUPT if the bytes are not a
 * well-formed list.
 */
ae_status	ae_row_parse(const void *buf, size_t len, ae_row_version *vers, int maxv, int *n);

/* Size of the list holding these versions. */
size_t		ae_row_size(const ae_row_version *vers, int n);

/* Write the list into out (ae_row_size bytes, grown as needed). */
ae_status	ae_row_build(const ae_row_version *vers, int n, ae_bytes *out);

#endif
