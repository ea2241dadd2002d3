/*
 * test_row.c — the row value encoding (aether/row.h): round trips of every
 * optional field, sizes, and rejection of malformed bytes.
 */
#include "aether/row.h"
#include "ae_test.h"

static ae_row_version
make_version(unsigned seed, char *data, uint32_t datalen, char *bits, uint16_t bitslen)
{
	ae_row_version v;

	memset(&v, 0, sizeof(v));
	v.xmin = 100 + seed;
	v.xmax = (seed & 1) ? 200 + seed : 0;
	v.cid = (seed & 2) ? seed : 0;
	v.infomask = (uint16_t) (0x0800 | seed);
	v.infomask2 = (uint16_t) (3 + seed % 7);
	v.has_next = (seed & 4) != 0;
	v.next = v.has_next ? ((seed & 8) ? AE_ROW_NEXT_MOVED : 5000 + seed) : 0;
	for (uint32_t i = 0; i < datalen; i++)
		data[i] = (char) (seed * 31 + i);
	v.data = data;
	v.datalen = datalen;
	if (bitslen)
	{
		for (uint16_t i = 0; i < bitslen; i++)
			bits[i] = (char) (0xA5 ^ i ^ seed);
		v.bits = bits;
		v.bitslen = bitslen;
	}
	return v;
}

static int
same_version(const ae_row_version *a, const ae_row_version *b)
{
	return a->xmin == b->xmin && a->xmax == b->xmax && a->cid == b->cid &&
		a->infomask == b->infomask && a->infomask2 == b->infomask2 &&
		a->has_next == b->has_next && a->next == b->next &&
		a->bitslen == b->bitslen && a->datalen == b->datalen &&
		(a->bitslen == 0 || memcmp(a->bits, b->bits, a->bitslen) == 0) &&
		memcmp(a->data, b->data, a->datalen) == 0;
}

static void
test_round_trip_all_fields(void)
{
	char		data[16][300], bits[16][8];
	ae_row_version in[16], out[16];
	ae_bytes	buf = {0};
	int			n;

	for (int count = 1; count <= 16; count++)
	{
		for (int i = 0; i < count; i++)
			in[i] = make_version((unsigned) (count * 16 + i), data[i], (uint32_t) (i * 19) % 300,
								 bits[i], (uint16_t) (i % 3 == 0 ? 0 : i % 8));
		AE_OKAY(ae_row_build(in, count, &buf));
		AE_CHECK(buf.len == ae_row_size(in, count));
		AE_OKAY(ae_row_parse(buf.data, buf.len, out, 16, &n));
		AE_REQUIRE(n == count);
		for (int i = 0; i < count; i++)
			AE_CHECK(same_version(&in[i], &out[i]));
	}
	ae_bytes_free(&buf);
}

static void
test_fresh_row_is_small(void)
{
	char		data[40];
	ae_row_version v = make_version(0, data, sizeof(data), NULL, 0);

	v.xmax = 0;
	v.cid = 0;
	v.has_next = false;
	/* 1 byte row header + flags, infomask, infomask2, xmin */
	AE_CHECK(ae_row_size(&v, 1) == 1 + 1 + 2 + 2 + 4 + sizeof(data));
}

static void
test_short_array_reports_count(void)
{
	char		data[4][10];
	ae_row_version in[4], out[2];
	ae_bytes	buf = {0};
	int			n = 0;

	for (int i = 0; i < 4; i++)
		in[i] = make_version((unsigned) i, data[i], 10, NULL, 0);
	AE_OKAY(ae_row_build(in, 4, &buf));
	AE_OKAY(ae_row_parse(buf.data, buf.len, out, 2, &n));
	AE_CHECK(n == 4);
	AE_CHECK(same_version(&in[1], &out[1]));
	ae_bytes_free(&buf);
}

static void
test_malformed_rows_are_corrupt(void)
{
	char		data[3][32];
	ae_row_version in[3], out[3];
	ae_bytes	buf = {0};
	int			n;
	unsigned char junk[8] = {0x12, 0, 0, 0, 0, 0, 0, 0};

	AE_CHECK(ae_row_parse(junk, sizeof(junk), out, 3, &n) == AE_CORRUPT);
	AE_CHECK(ae_row_parse(junk, 0, out, 3, &n) == AE_CORRUPT);
	for (int i = 0; i < 3; i++)
		in[i] = make_version((unsigned) i + 1, data[i], 32, NULL, 0);
	AE_OKAY(ae_row_build(in, 3, &buf));
	/* truncated: the last version overruns */
	AE_CHECK(ae_row_parse(buf.data, buf.len - 5, out, 3, &n) == AE_CORRUPT);
	/* trailing garbage */
	AE_OKAY(ae_bytes_reserve(&buf, buf.len + 3));
	AE_CHECK(ae_row_parse(buf.data, buf.len + 3, out, 3, &n) == AE_CORRUPT);
	/* a version count of 1 in the multi-version form */
	buf.data[2] = 1;
	buf.data[3] = 0;
	AE_CHECK(ae_row_parse(buf.data, buf.len, out, 3, &n) == AE_CORRUPT);
	/* unknown flag bits in a single version */
	{
		unsigned char one[12] = {AE_ROW_SINGLE, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0};

		AE_CHECK(ae_row_parse(one, sizeof(one), out, 3, &n) == AE_CORRUPT);
	}
	ae_bytes_free(&buf);
}

static void
test_row_keys_sort_numerically(void)
{
	unsigned char a[8], b[8];
	uint64_t	vals[] = {0, 1, 255, 256, 65535, 1ULL << 32, (1ULL << 63) + 5, UINT64_MAX};

	for (size_t i = 0; i + 1 < sizeof(vals) / sizeof(vals[0]); i++)
	{
		ae_row_key(vals[i], a);
		ae_row_key(vals[i + 1], b);
		AE_CHECK(memcmp(a, b, 8) < 0);
		AE_CHECK(ae_row_key_decode(a) == vals[i]);
	}
}

int
main(void)
{
	AE_RUN(test_round_trip_all_fields);
	AE_RUN(test_fresh_row_is_small);
	AE_RUN(test_short_array_reports_count);
	AE_RUN(test_malformed_rows_are_corrupt);
	AE_RUN(test_row_keys_sort_numerically);
	return ae_test_summary();
}
