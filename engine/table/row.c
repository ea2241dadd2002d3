/*
 * row.c — encoding of the versions stored under one row id (aether/row.h).
 */
#include <string.h>
#include "aether/row.h"

static const ae_file_id no_file = {0, 0, 0};

static size_t
version_size(const ae_row_version *v)
{
	size_t		size = 1 + 2 + 2 + 4 + v->datalen;

	if (v->xmax != 0)
		size += 4;
	if (v->cid != 0)
		size += 4;
	if (v->has_next)
		size += 8;
	if (v->bitslen > 0)
		size += 2 + v->bitslen;
	return size;
}

static char *
put(char *p, const void *src, size_t len)
{
	memcpy(p, src, len);
	return p + len;
}

static char *
encode_version(char *p, const ae_row_version *v)
{
	uint8_t		flags = 0;

	if (v->xmax != 0)
		flags |= AE_ROWV_XMAX;
	if (v->cid != 0)
		flags |= AE_ROWV_CID;
	if (v->has_next)
		flags |= AE_ROWV_NEXT;
	if (v->bitslen > 0)
		flags |= AE_ROWV_BITS;
	*p++ = (char) flags;
	p = put(p, &v->infomask, 2);
	p = put(p, &v->infomask2, 2);
	p = put(p, &v->xmin, 4);
	if (flags & AE_ROWV_XMAX)
		p = put(p, &v->xmax, 4);
	if (flags & AE_ROWV_CID)
		p = put(p, &v->cid, 4);
	if (flags & AE_ROWV_NEXT)
		p = put(p, &v->next, 8);
	if (flags & AE_ROWV_BITS)
	{
		p = put(p, &v->bitslen, 2);
		p = put(p, v->bits, v->bitslen);
	}
	return put(p, v->data, v->datalen);
}

/* Decode one version of exactly len bytes at p. */
static ae_status
decode_version(const unsigned char *p, size_t len, ae_row_version *v)
{
	const unsigned char *end = p + len;
	uint8_t		flags;
	size_t		fixed = 1 + 2 + 2 + 4;

	if (len < fixed)
		return ae_fail(AE_CORRUPT, no_file, AE_NO_BLOCK, "row version of %zu bytes is too short", len);
	flags = *p++;
	memcpy(&v->infomask, p, 2);
	memcpy(&v->infomask2, p + 2, 2);
	memcpy(&v->xmin, p + 4, 4);
	p += 8;
	v->xmax = v->cid = 0;
	v->has_next = false;
	v->next = 0;
	v->bits = NULL;
	v->bitslen = 0;
	if ((flags & AE_ROWV_XMAX) && end - p >= 4)
		memcpy(&v->xmax, p, 4), p += 4;
	if ((flags & AE_ROWV_CID) && end - p >= 4)
		memcpy(&v->cid, p, 4), p += 4;
	if ((flags & AE_ROWV_NEXT) && end - p >= 8)
		memcpy(&v->next, p, 8), p += 8, v->has_next = true;
	if ((flags & AE_ROWV_BITS) && end - p >= 2)
	{
		memcpy(&v->bitslen, p, 2);
		p += 2;
		if (end - p < v->bitslen)
			return ae_fail(AE_CORRUPT, no_file, AE_NO_BLOCK, "row version null bitmap overruns it");
		v->bits = p;
		p += v->bitslen;
	}
	if (p > end || (flags & ~(AE_ROWV_XMAX | AE_ROWV_CID | AE_ROWV_NEXT | AE_ROWV_BITS)))
		return ae_fail(AE_CORRUPT, no_file, AE_NO_BLOCK, "row version has a bad header (flags 0x%x)", flags);
	v->data = p;
	v->datalen = (uint32_t) (end - p);
	return AE_OK;
}

ae_status
ae_row_parse(const void *buf, size_t len, ae_row_version *vers, int maxv, int *n)
{
	const unsigned char *p = buf;
	uint16_t	count;
	size_t		off;

	if (len >= 1 && p[0] == AE_ROW_SINGLE)
	{
		*n = 1;
		return maxv >= 1 ? decode_version(p + 1, len - 1, &vers[0]) : AE_OK;
	}
	if (len < 4 || p[0] != AE_ROW_MULTI)
		return ae_fail(AE_CORRUPT, no_file, AE_NO_BLOCK,
					   "row value has a bad header (length %zu)", len);
	memcpy(&count, p + 2, 2);
	if (count < 2 || count > AE_ROW_MAX_VERSIONS || 4 + 4 * (size_t) count > len)
		return ae_fail(AE_CORRUPT, no_file, AE_NO_BLOCK, "row value has a bad version count %u", count);
	off = 4 + 4 * (size_t) count;
	for (int i = 0; i < count; i++)
	{
		uint32_t	vlen;

		memcpy(&vlen, p + 4 + 4 * i, 4);
		if (off + vlen > len)
			return ae_fail(AE_CORRUPT, no_file, AE_NO_BLOCK,
						   "row version %d overruns its row (%zu + %u > %zu)", i, off, vlen, len);
		if (i < maxv)
		{
			ae_status	st = decode_version(p + off, vlen, &vers[i]);

			if (st != AE_OK)
				return st;
		}
		off += vlen;
	}
	if (off != len)
		return ae_fail(AE_CORRUPT, no_file, AE_NO_BLOCK,
					   "row value has %zu trailing bytes", len - off);
	*n = count;
	return AE_OK;
}

size_t
ae_row_size(const ae_row_version *vers, int n)
{
	size_t		size = n == 1 ? 1 : 4 + 4 * (size_t) n;

	for (int i = 0; i < n; i++)
		size += version_size(&vers[i]);
	return size;
}

ae_status
ae_row_build(const ae_row_version *vers, int n, ae_bytes *out)
{
	size_t		size = ae_row_size(vers, n);
	char	   *p;
	ae_status	st;

	if (n < 1 || n > AE_ROW_MAX_VERSIONS)
		return ae_fail(AE_INVALID, no_file, AE_NO_BLOCK, "bad version count %d", n);
	if ((st = ae_bytes_reserve(out, size)) != AE_OK)
		return st;
	p = out->data;
	if (n == 1)
		*p++ = (char) AE_ROW_SINGLE;
	else
	{
		uint16_t	count = (uint16_t) n;

		*p++ = (char) AE_ROW_MULTI;
		*p++ = 0;
		p = put(p, &count, 2);
		for (int i = 0; i < n; i++)
		{
			uint32_t	vlen = (uint32_t) version_size(&vers[i]);

			p = put(p, &vlen, 4);
		}
	}
	for (int i = 0; i < n; i++)
		p = encode_version(p, &vers[i]);
	out->len = size;
	return AE_OK;
}
