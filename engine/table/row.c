/*
 * row.c — encoding of the version list stored under one row id (aether/row.h).
 */
#include <string.h>
#include "aether/row.h"

#define ALIGN8(x) (((x) + 7) & ~(size_t) 7)

static const ae_file_id no_file = {0, 0, 0};

ae_status
ae_row_parse(const void *buf, size_t len, ae_row_version *vers, int maxv, int *n)
{
	const unsigned char *p = buf;
	uint16_t	count;
	size_t		off;

	if (len < 4 || p[0] != AE_ROW_MAGIC || p[1] != AE_ROW_FORMAT)
		return ae_fail(AE_CORRUPT, no_file, AE_NO_BLOCK,
					   "row version list has a bad header (length %zu)", len);
	memcpy(&count, p + 2, 2);
	if (count == 0 || count > AE_ROW_MAX_VERSIONS || 4 + 4 * (size_t) count > len)
		return ae_fail(AE_CORRUPT, no_file, AE_NO_BLOCK,
					   "row version list has a bad version count %u", count);
	off = ALIGN8(4 + 4 * (size_t) count);
	for (int i = 0; i < count; i++)
	{
		uint32_t	vlen;

		memcpy(&vlen, p + 4 + 4 * i, 4);
		if (off + vlen > len)
			return ae_fail(AE_CORRUPT, no_file, AE_NO_BLOCK,
						   "row version %d overruns its list (%zu + %u > %zu)",
						   i, off, vlen, len);
		if (i < maxv)
		{
			vers[i].data = p + off;
			vers[i].len = vlen;
		}
		off = ALIGN8(off + vlen);
	}
	*n = count;
	return AE_OK;
}

size_t
ae_row_size(const ae_row_version *vers, int n)
{
	size_t		size = ALIGN8(4 + 4 * (size_t) n);

	for (int i = 0; i < n; i++)
		size = ALIGN8(size + vers[i].len);
	return size;
}

ae_status
ae_row_build(const ae_row_version *vers, int n, ae_bytes *out)
{
	size_t		size = ae_row_size(vers, n);
	size_t		off;
	uint16_t	count = (uint16_t) n;
	ae_status	st;

	if (n < 1 || n > AE_ROW_MAX_VERSIONS)
		return ae_fail(AE_INVALID, no_file, AE_NO_BLOCK, "bad version count %d", n);
	if ((st = ae_bytes_reserve(out, size)) != AE_OK)
		return st;
	memset(out->data, 0, size);
	out->data[0] = (char) AE_ROW_MAGIC;
	out->data[1] = AE_ROW_FORMAT;
	memcpy(out->data + 2, &count, 2);
	off = ALIGN8(4 + 4 * (size_t) n);
	for (int i = 0; i < n; i++)
	{
		memcpy(out->data + 4 + 4 * i, &vers[i].len, 4);
		memmove(out->data + off, vers[i].data, vers[i].len);
		off = ALIGN8(off + vers[i].len);
	}
	out->len = size;
	return AE_OK;
}
