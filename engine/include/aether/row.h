/*
 * aether/row.h — what is stored under one row id: the row's versions, each
 * with its MVCC header (DESIGN §4), in a compact encoding.
 *
 * A table is a B+tree keyed by the 8-byte big-endian row id (ae_row_key). The
 * value under a row id lists every version of that row that some snapshot may
 * still need, newest first. The engine encodes and decodes the header fields;
 * the PostgreSQL glue gives them their meaning (they are heap's xmin, xmax,
 * command id, infomask bits) and decides visibility.
 *
 * Byte layout of a row value (little-endian):
 *   single version:  u8 AE_ROW_SINGLE, then the version
 *   several:         u8 AE_ROW_MULTI, u8 0, u16 n (2..AE_ROW_MAX_VERSIONS),
 *                    u32 length of each encoded version, then the versions
 *
 * Byte layout of one encoded version:
 *   u8  flags       AE_ROWV_* below
 *   u16 infomask
 *   u16 infomask2   (its low 11 bits are the attribute count)
 *   u32 xmin
 *   u32 xmax        only with AE_ROWV_XMAX   (absent: 0)
 *   u32 cid         only with AE_ROWV_CID    (absent: 0)
 *   u64 next        only with AE_ROWV_NEXT   (row id of the newer version; absent: this row)
 *   u16 bitslen, bitslen bytes of null bitmap   only with AE_ROWV_BITS
 *   the attribute data (to the end of the version)
 *
 * A freshly inserted row costs 10 bytes of header (1 + 9) besides its data.
 */
#ifndef AETHER_ROW_H
#define AETHER_ROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "aether/status.h"
#include "aether/btree.h"

#define AE_ROW_SINGLE	0xA8
#define AE_ROW_MULTI	0xA9
#define AE_ROW_MAX_VERSIONS 4096

#define AE_ROWV_XMAX	0x01
#define AE_ROWV_CID		0x02
#define AE_ROWV_NEXT	0x04
#define AE_ROWV_BITS	0x08

/* next value meaning "moved to another partition" (no row id) */
#define AE_ROW_NEXT_MOVED	UINT64_MAX

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

/* One version, decoded. bits/data point into the encoded bytes (or the caller's). */
typedef struct ae_row_version
{
	uint32_t	xmin;
	uint32_t	xmax;
	uint32_t	cid;
	uint16_t	infomask;
	uint16_t	infomask2;
	bool		has_next;
	uint64_t	next;
	const void *bits;
	uint16_t	bitslen;
	const void *data;
	uint32_t	datalen;
} ae_row_version;

/*
 * Decode a row value. On success *n is the version count and vers[0..] are
 * filled (at most maxv of them; call again with a bigger array when *n > maxv).
 * AE_CORRUPT if the bytes are not a well-formed row.
 */
ae_status	ae_row_parse(const void *buf, size_t len, ae_row_version *vers, int maxv, int *n);

/* Encoded size of a row holding these versions. */
size_t		ae_row_size(const ae_row_version *vers, int n);

/* Encode the row into out (grown as needed). vers must not point into out. */
ae_status	ae_row_build(const ae_row_version *vers, int n, ae_bytes *out);

#endif
