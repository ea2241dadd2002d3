/*
 * test_page.c — page format: slotted items, compaction, checksum
 * compatibility with PostgreSQL, verification, CRC32C.
 */
#include <stdint.h>
#include <string.h>

#include "ae_test.h"
#include "aether/page.h"
#include "aether/wal.h"

static _Alignas(8) char page[AE_PAGE_SIZE];

static bool
item_is(const void *pg, int i, const char *s)
{
	uint16_t	len;
	const void *p = ae_page_item(pg, i, &len);

	return len == strlen(s) && memcmp(p, s, len) == 0;
}

static void
test_init(void)
{
	ae_page_init(page, AE_PAGE_BTREE_LEAF, 0);
	AE_CHECK(ae_page_nslots(page) == 0);
	AE_CHECK(ae_page_hdr(page)->size_version == (8192 | 4));
	AE_CHECK(ae_page_opq(page)->magic == AE_PAGE_MAGIC);
	AE_CHECK(ae_page_opq(page)->kind == AE_PAGE_BTREE_LEAF);
	AE_CHECK(ae_page_opq(page)->right == AE_NO_BLOCK);
	AE_CHECK(ae_page_free_space(page) == AE_PAGE_USABLE - 4);
	AE_CHECK(ae_page_free_space_total(page) == AE_PAGE_USABLE - 4);
	AE_CHECK(!ae_page_is_new(page));
	memset(page, 0, sizeof(page));
	AE_CHECK(ae_page_is_new(page));
}

static void
test_items(void)
{
	ae_page_init(page, AE_PAGE_BTREE_LEAF, 0);
	AE_REQUIRE(ae_page_insert_item(page, 0, "bbb", 3));
	AE_REQUIRE(ae_page_insert_item(page, 0, "a", 1));
	AE_REQUIRE(ae_page_insert_item(page, 2, "cccc", 4));
	AE_REQUIRE(ae_page_insert_item(page, 1, "", 0));
	AE_CHECK(ae_page_nslots(page) == 4);
	AE_CHECK(item_is(page, 0, "a") && item_is(page, 1, "") &&
			 item_is(page, 2, "bbb") && item_is(page, 3, "cccc"));
	ae_page_delete_item(page, 1);
	AE_CHECK(ae_page_nslots(page) == 3 && item_is(page, 1, "bbb"));
	AE_REQUIRE(ae_page_replace_item(page, 1, "B", 1));	/* shrink in place */
	AE_REQUIRE(ae_page_replace_item(page, 2, "a much longer item", 18));	/* grow */
	AE_CHECK(item_is(page, 0, "a") && item_is(page, 1, "B") && item_is(page, 2, "a much longer item"));
	{
		size_t		before = ae_page_free_space_total(page);

		ae_page_compact(page);
		AE_CHECK(ae_page_free_space(page) == before);
		AE_CHECK(item_is(page, 0, "a") && item_is(page, 1, "B") &&
				 item_is(page, 2, "a much longer item"));
	}
	AE_CHECK(ae_page_verify(page, (ae_file_id) {1, 2, 3}, 0) == AE_CORRUPT);	/* no checksum yet */
	ae_page_set_checksum(page, 0);
	AE_OKAY(ae_page_verify(page, (ae_file_id) {1, 2, 3}, 0));
}

/* Fill, delete every other item, then insert again: needs compaction. */
static void
test_fill_and_compact(void)
{
	char		item[100];
	int			n = 0;

	ae_page_init(page, AE_PAGE_BTREE_LEAF, 0);
	memset(item, 'x', sizeof(item));
	while (ae_page_insert_item(page, n, item, sizeof(item)))
		n++;
	AE_CHECK(n == (int) (AE_PAGE_USABLE / (2 + 2 + sizeof(item))));
	AE_CHECK(ae_page_free_space(page) < sizeof(item));
	for (int i = n - 1; i >= 0; i -= 2)
		ae_page_delete_item(page, i);
	AE_CHECK(ae_page_free_space_total(page) >= 10 * sizeof(item));
	for (int i = 0; i < 10; i++)
	{
		item[0] = (char) ('a' + i);
		AE_REQUIRE(ae_page_insert_item(page, 0, item, sizeof(item)));
	}
	AE_CHECK(ae_page_nslots(page) == n - (n + 1) / 2 + 10);
	{
		uint16_t	len;
		const char *p = ae_page_item(page, 0, &len);

		AE_CHECK(len == sizeof(item) && p[0] == 'j');
	}
	/* an item that can never fit */
	AE_CHECK(!ae_page_replace_item(page, 0, page, (uint16_t) AE_PAGE_SIZE));
}

/* Random operations against a model; checks contents and accounting. */
static void
test_random_model(void)
{
	static char model[600][64];
	static uint16_t mlen[600];
	int			n = 0;
	uint32_t	x = 12345;

	ae_page_init(page, AE_PAGE_BTREE_LEAF, 0);
	for (int step = 0; step < 20000; step++)
	{
		char		buf[64];
		uint16_t	len;
		int			op,
					i;

		x = x * 1103515245u + 12345u;
		op = (x >> 16) % 3;
		len = (uint16_t) ((x >> 8) % 64);
		memset(buf, (char) step, len);
		if (op == 0 || n == 0)
		{
			i = n ? (int) ((x >> 4) % (n + 1)) : 0;
			if (ae_page_insert_item(page, i, buf, len))
			{
				memmove(&model[i + 1], &model[i], sizeof(model[0]) * (n - i));
				memmove(&mlen[i + 1], &mlen[i], sizeof(mlen[0]) * (n - i));
				memcpy(model[i], buf, len);
				mlen[i] = len;
				n++;
			}
			else
				AE_CHECK(ae_page_free_space_total(page) < len + 1u);
		}
		else if (op == 1)
		{
			i = (int) ((x >> 4) % n);
			ae_page_delete_item(page, i);
			memmove(&model[i], &model[i + 1], sizeof(model[0]) * (n - i - 1));
			memmove(&mlen[i], &mlen[i + 1], sizeof(mlen[0]) * (n - i - 1));
			n--;
		}
		else
		{
			i = (int) ((x >> 4) % n);
			if (ae_page_replace_item(page, i, buf, len))
			{
				memcpy(model[i], buf, len);
				mlen[i] = len;
			}
		}
		AE_REQUIRE(ae_page_nslots(page) == n);
		/* P4: the hole counter equals the holes recomputed from the slots */
		AE_REQUIRE(ae_page_hdr(page)->hole_bytes == ae_page_hole_bytes_scan(page));
		if (step % 97 == 0)
			for (int k = 0; k < n; k++)
			{
				const void *p = ae_page_item(page, k, &len);

				AE_REQUIRE(len == mlen[k] && memcmp(p, model[k], len) == 0);
			}
	}
}

/* Known values computed with PostgreSQL 15's pg_checksum_page(). */
static void
test_checksum_known(void)
{
	uint32_t	x = 1;

	for (int i = 0; i < AE_PAGE_SIZE; i++)
		page[i] = (char) (i * 31 + 7);
	AE_CHECK(ae_page_checksum(page, 0) == 51176);
	AE_CHECK(ae_page_checksum(page, 1) == 51177);
	AE_CHECK(ae_page_checksum(page, 123456) == 59944);
	memset(page, 0xFF, sizeof(page));
	AE_CHECK(ae_page_checksum(page, 0) == 3612);
	AE_CHECK(ae_page_checksum(page, 4294967294u) == 61924);
	for (int i = 0; i < AE_PAGE_SIZE; i++)
	{
		x = x * 1103515245u + 12345u;
		page[i] = (char) (x >> 16);
	}
	AE_CHECK(ae_page_checksum(page, 7) == 27570);
	/* the stored checksum does not take part */
	ae_page_hdr(page)->checksum = 0xBEEF;
	AE_CHECK(ae_page_checksum(page, 7) == 27570);
}

static void
test_verify(void)
{
	ae_file_id	f = {1663, 5, 16384};

	memset(page, 0, sizeof(page));
	AE_OKAY(ae_page_verify(page, f, 9));	/* new page */
	ae_page_init(page, AE_PAGE_META, 0);
	AE_REQUIRE(ae_page_insert_item(page, 0, "hello", 5));
	ae_page_set_checksum(page, 9);
	AE_OKAY(ae_page_verify(page, f, 9));
	AE_CHECK(ae_page_verify(page, f, 10) == AE_CORRUPT);	/* block number is mixed in */

	for (int bit = 0; bit < AE_PAGE_SIZE * 8; bit += 997)
	{
		page[bit / 8] ^= (char) (1 << (bit % 8));
		AE_CHECK(ae_page_verify(page, f, 9) == AE_CORRUPT);
		page[bit / 8] ^= (char) (1 << (bit % 8));
	}
	page[4000] ^= 0x10;
	AE_CHECK(ae_page_verify(page, f, 9) == AE_CORRUPT);
	AE_CHECK(ae_error_last()->status == AE_CORRUPT && ae_error_last()->block == 9 &&
			 ae_error_last()->file.rel == 16384);
	AE_CHECK(strstr(ae_error_last()->message, "1663/5/16384") != NULL);
	AE_CHECK(strstr(ae_error_last()->message, "block 9") != NULL);
	page[4000] ^= 0x10;

	/* structurally bad pages with a correct checksum */
	ae_page_opq(page)->magic = 0x1234;
	ae_page_set_checksum(page, 9);
	AE_CHECK(ae_page_verify(page, f, 9) == AE_CORRUPT);
	ae_page_opq(page)->magic = AE_PAGE_MAGIC;
	ae_page_hdr(page)->upper = 20;
	ae_page_set_checksum(page, 9);
	AE_CHECK(ae_page_verify(page, f, 9) == AE_CORRUPT);
	ae_page_hdr(page)->upper = AE_PAGE_SIZE - 32 - 8;
	ae_page_hdr(page)->size_version = 8192 | 5;
	ae_page_set_checksum(page, 9);
	AE_CHECK(ae_page_verify(page, f, 9) == AE_CORRUPT);
}

static void
test_crc32c(void)
{
	const char *s = "123456789";

	AE_CHECK(ae_crc32c(0, s, 9) == 0xE3069283u);
	AE_CHECK(ae_crc32c(ae_crc32c(0, s, 4), s + 4, 5) == 0xE3069283u);
	AE_CHECK(ae_crc32c(0, "", 0) == 0);
	memset(page, 0, 32);
	AE_CHECK(ae_crc32c(0, page, 32) == 0x8A9136AAu);	/* RFC 3720 B.4: 32 zero bytes */
}

int
main(void)
{
	AE_RUN(test_init);
	AE_RUN(test_items);
	AE_RUN(test_fill_and_compact);
	AE_RUN(test_random_model);
	AE_RUN(test_checksum_known);
	AE_RUN(test_verify);
	AE_RUN(test_crc32c);
	return ae_test_summary();
}
