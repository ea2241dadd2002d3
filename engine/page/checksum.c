/*
 * checksum.c — the page checksum, bit-compatible with PostgreSQL's
 * pg_checksum_page() (src/include/storage/checksum_impl.h), written from the
 * published algorithm:
 *
 *  1. View the 8 KiB page as 64 rows of 32 little-endian u32 words.
 *  2. Keep 32 running sums, seeded with fixed offsets. For every row, mix
 *     word j into sum j with  t = sum ^ word;  sum = t * FNV_PRIME ^ (t >> 17)
 *     (FNV-1a with an extra shift that mixes high bits down).
 *  3. Mix two rows of zeros into every sum, then XOR the 32 sums together.
 *  4. The 16-bit checksum field counts as zero while summing; the block
 *     number is XORed into the result, which is reduced to 1..65535 so that
 *     a checksum is never zero.
 *
 * The checksum field is bytes 8..9, the low half of word 2 of row 0 on a
 * little-endian machine; we mask it instead of copying the page.
 */
#include <string.h>

#include "aether/page.h"

#define NSUMS		32
#define FNV_PRIME	16777619u
#define NROWS		(AE_PAGE_SIZE / (NSUMS * 4))

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "checksum masking assumes little-endian");
static_assert(offsetof(ae_page_header, checksum) == 8, "checksum is in word 2");

/* PostgreSQL's seeds (checksumBaseOffsets); part of the on-disk format. */
static const uint32_t seeds[NSUMS] = {
	0x5B1F36E9, 0xB8525960, 0x02AB50AA, 0x1DE66D2A,
	0x79FF467A, 0x9BB9F8A3, 0x217E7CD2, 0x83E13D2C,
	0xF8D4474F, 0xE39EB970, 0x42C6AE16, 0x993216FA,
	0x7B093B5D, 0x98DAFF3C, 0xF718902A, 0x0B1C9CDB,
	0xE58F764B, 0x187636BC, 0x5D7B3BB1, 0xE73DE7DE,
	0x92BEC979, 0xCCA6C0B2, 0x304A0979, 0x85AA43D4,
	0x783125BB, 0x6CA8EAA2, 0xE407EAC6, 0x4B5CFC3E,
	0x9FBF8C76, 0x15CA20BE, 0xF2CA9FD3, 0x959BD756
};

static inline uint32_t
mix(uint32_t sum, uint32_t value)
{
	uint32_t	t = sum ^ value;

	return t * FNV_PRIME ^ (t >> 17);
}

uint16_t
ae_page_checksum(const void *page, uint32_t blkno)
{
	uint32_t	sums[NSUMS];
	uint32_t	row[NSUMS];
	uint32_t	result = 0;

	memcpy(sums, seeds, sizeof(sums));
	for (int r = 0; r < NROWS; r++)
	{
		memcpy(row, (const char *) page + r * sizeof(row), sizeof(row));
		if (r == 0)
			row[2] &= 0xFFFF0000u;	/* checksum field counts as zero */
		for (int j = 0; j < NSUMS; j++)
			sums[j] = mix(sums[j], row[j]);
	}
	for (int r = 0; r < 2; r++)
		for (int j = 0; j < NSUMS; j++)
			sums[j] = mix(sums[j], 0);
	for (int j = 0; j < NSUMS; j++)
		result ^= sums[j];
	result ^= blkno;
	return (uint16_t) (result % 65535 + 1);
}

void
ae_page_set_checksum(void *page, uint32_t blkno)
{
	ae_page_hdr(page)->checksum = ae_page_checksum(page, blkno);
}
