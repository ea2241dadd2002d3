/*
 * test_btree.c — unit and property tests of engine/btree: point operations,
 * splits to height >= 3, ranges, a random workload against an in-memory
 * model with a small pool, overflow values up to 100 MB and page reuse, log
 * replay after losing the pool, and several processes at once.
 * AE_BTREE_BIG=1 also round-trips a 1 GiB value.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aether/btree.h"
#include "aether/buf.h"
#include "aether/wal.h"
#include "aether/posix_host.h"
#include "aether/row.h"
#include "aether/checkpoint.h"
#include "../../engine/btree/btree_format.h"	/* AE_BT_REC_LEAF_REPLACE_DELTA */
#include "ae_env.h"
#include "ae_test.h"

/* ---------------------------------------------------------------- fixture */

typedef struct fx
{
	char		dir[64];
	ae_host		host;
	void	   *mem;
	size_t		size;
	ae_engine  *eng;
	ae_btree	t;
	ae_file_id	f;
} fx;

static ae_status
fx_open(fx *x, uint32_t pool_pages)
{
	ae_engine_config cfg = {.pool_pages = pool_pages, .wal_buffer_bytes = 1 << 20,
	.scan_ring_pages = 16};
	ae_status	st;

	memset(x, 0, sizeof(*x));
	if (!ae_env_make_dir(x->dir, sizeof(x->dir), "/tmp", "ae_btree_"))
		return AE_IO_ERROR;
	if ((st = ae_posix_host_init(&x->host, x->dir)) != AE_OK)
		return st;
	if ((st = ae_env_map_engine(&cfg, &x->host, &x->mem, &x->size, &x->eng)) != AE_OK)
		return st;
	ae_btree_register_redo();
	x->f = (ae_file_id) {1, 2, 3};
	if ((st = ae_btree_create(x->eng, x->f)) != AE_OK)
		return st;
	ae_btree_open(&x->t, x->eng, x->f, NULL);
	return AE_OK;
}

static void
fx_close(fx *x)
{
	ae_env_unmap_engine(x->eng, x->mem, x->size);
	ae_posix_host_close(&x->host);
	ae_env_remove_dir(x->dir);
}

/* verify and require no leaked pages; returns the key count or -1 */
static int64_t
verify_all(fx *x)
{
	ae_btree_verify_stats s;
	ae_status	st = ae_btree_verify_ex(&x->t, &s);

	if (st != AE_OK)
	{
		fprintf(stderr, "  verify: %s: %s\n", ae_status_name(st), ae_error_last()->message);
		return -1;
	}
	if (s.leaked_pages)
	{
		fprintf(stderr, "  verify: %u leaked pages\n", s.leaked_pages);
		return -1;
	}
	return (int64_t) s.nkeys;
}

/* deterministic value bytes */
static void
fill(char *buf, uint32_t seed, size_t len)
{
	ae_env_fill(buf, seed, len);
}

static uint64_t rng_state = 88172645463325252ull;

static uint32_t
rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t) (rng_state % n);
}

/* ---------------------------------------------------------------- basics */

static void
test_point_ops(void)
{
	fx			x;
	ae_bytes	v = {0};
	ae_btree_info info;
	uint64_t	first,
				next;

	AE_OKAY(fx_open(&x, 64));
	AE_CHECK(ae_btree_get(&x.t, "a", 1, &v) == AE_NOT_FOUND);
	AE_OKAY(ae_btree_insert(&x.t, "a", 1, "one", 3));
	AE_CHECK(ae_btree_insert(&x.t, "a", 1, "uno", 3) == AE_EXISTS);
	AE_OKAY(ae_btree_get(&x.t, "a", 1, &v));
	AE_CHECK(v.len == 3 && memcmp(v.data, "one", 3) == 0);
	AE_OKAY(ae_btree_insert(&x.t, "", 0, "empty key", 9));
	AE_OKAY(ae_btree_insert(&x.t, "b", 1, "", 0));
	AE_OKAY(ae_btree_get(&x.t, "b", 1, &v));
	AE_CHECK(v.len == 0);
	AE_OKAY(ae_btree_put(&x.t, "a", 1, "ONE", 3));
	AE_OKAY(ae_btree_put(&x.t, "c", 1, "three", 5));
	AE_OKAY(ae_btree_get(&x.t, "a", 1, &v));
	AE_CHECK(v.len == 3 && memcmp(v.data, "ONE", 3) == 0);
	AE_CHECK(ae_btree_cas(&x.t, "a", 1, "one", 3, "x", 1) == AE_CONFLICT);
	AE_CHECK(ae_btree_cas(&x.t, "zz", 2, "one", 3, "x", 1) == AE_NOT_FOUND);
	AE_OKAY(ae_btree_cas(&x.t, "a", 1, "ONE", 3, "won", 3));
	AE_OKAY(ae_btree_get(&x.t, "a", 1, &v));
	AE_CHECK(v.len == 3 && memcmp(v.data, "won", 3) == 0);
	AE_OKAY(ae_btree_cas(&x.t, "a", 1, "won", 3, NULL, 0));	/* conditional delete */
	AE_CHECK(ae_btree_get(&x.t, "a", 1, &v) == AE_NOT_FOUND);
	AE_CHECK(ae_btree_delete(&x.t, "a", 1) == AE_NOT_FOUND);
	AE_OKAY(ae_btree_delete(&x.t, "b", 1));
	AE_OKAY(ae_btree_get(&x.t, "", 0, &v));
	AE_CHECK(v.len == 9);
	{
		char		big[AE_BTREE_MAX_KEY + 1] = {0};

		AE_CHECK(ae_btree_insert(&x.t, big, sizeof(big), "v", 1) == AE_TOO_LARGE);
		AE_OKAY(ae_btree_insert(&x.t, big, AE_BTREE_MAX_KEY, "v", 1));
	}
	AE_OKAY(ae_btree_reserve_ids(&x.t, 10, &first));
	AE_OKAY(ae_btree_peek_ids(&x.t, &next));
	AE_CHECK(next == first + 10);
	AE_OKAY(ae_btree_get_info(&x.t, &info));
	AE_CHECK(info.height == 1 && info.next_id == next);
	AE_CHECK(verify_all(&x) == 3);
	ae_bytes_free(&v);
	fx_close(&x);
}

/* long keys: key i is 1000 bytes, ordered by its 8-digit prefix */
static void
long_key(char *k, uint32_t i)
{
	memset(k, 'k' + (i % 7), 1000);
	snprintf(k, 9, "%08u", i);
	k[8] = '-';
}

static void
test_splits_height3(void)
{
	fx			x;
	char		k[1000];
	ae_bytes	v = {0};
	ae_btree_info info;
	const uint32_t n = 3000;

	AE_OKAY(fx_open(&x, 64));
	for (uint32_t i = 0; i < n; i++)
	{
		uint32_t	j = (i * 7919) % n;	/* scrambled order */

		long_key(k, j);
		AE_OKAY(ae_btree_insert(&x.t, k, sizeof(k), &j, sizeof(j)));
	}
	AE_OKAY(ae_btree_get_info(&x.t, &info));
	AE_CHECK(info.height >= 3);
	AE_CHECK(verify_all(&x) == n);
	for (uint32_t i = 0; i < n; i++)
	{
		long_key(k, i);
		AE_OKAY(ae_btree_get(&x.t, k, sizeof(k), &v));
		AE_CHECK(v.len == 4 && memcmp(v.data, &i, 4) == 0);
	}
	/* largest items: max key with max inline value */
	{
		char		big[AE_BTREE_MAX_KEY],
					val[AE_BTREE_INLINE_MAX];

		for (uint32_t i = 0; i < 300; i++)
		{
			memset(big, 'z', sizeof(big));
			snprintf(big, 9, "%08u", i * 13 % 300);
			fill(val, i, sizeof(val));
			AE_OKAY(ae_btree_put(&x.t, big, sizeof(big), val, sizeof(val)));
		}
	}
	AE_CHECK(verify_all(&x) == n + 300);
	ae_bytes_free(&v);
	fx_close(&x);
}

static void
test_sequential_append_fill(void)
{
	fx			x;
	ae_btree_verify_stats s;

	AE_OKAY(fx_open(&x, 128));
	for (uint64_t i = 0; i < 20000; i++)
	{
		uint64_t	be = __builtin_bswap64(i);

		AE_OKAY(ae_btree_insert(&x.t, &be, 8, "0123456789abcdef0123456789abcdef", 32));
	}
	AE_OKAY(ae_btree_verify_ex(&x.t, &s));
	AE_CHECK(s.nkeys == 20000);
	/* ~ 8136 / (45 + 4) = 166 items per full leaf: appends fill leaves */
	if (s.leaf_pages >= 20000 / 140)
		fprintf(stderr, "  %u leaves, %u inner\n", s.leaf_pages, s.inner_pages);
	AE_CHECK(s.leaf_pages < 20000 / 140);
	fx_close(&x);
}


/*
 * I13: leaves filled by appends keep a twentieth of the page free, so rows
 * that grow a little afterwards (a table row gaining a version) stay in their
 * leaf: growing every 16th value by 32 bytes splits no leaf.
 */
static void
test_append_reserve_absorbs_growth(void)
{
	fx			x;
	ae_btree_verify_stats before, after;
	const char *small = "0123456789abcdef0123456789abcdef";
	char		big[64];

	memset(big, 'g', sizeof(big));
	AE_OKAY(fx_open(&x, 128));
	for (uint64_t i = 0; i < 20000; i++)
	{
		uint64_t	be = __builtin_bswap64(i);

		AE_OKAY(ae_btree_insert(&x.t, &be, 8, small, 32));
	}
	AE_OKAY(ae_btree_verify_ex(&x.t, &before));
	for (uint64_t i = 0; i < 20000; i += 16)
	{
		uint64_t	be = __builtin_bswap64(i);

		AE_OKAY(ae_btree_cas(&x.t, &be, 8, small, 32, big, sizeof(big)));
	}
	AE_OKAY(ae_btree_verify_ex(&x.t, &after));
	AE_CHECK(after.nkeys == 20000);
	if (after.leaf_pages != before.leaf_pages)
		fprintf(stderr, "  %u leaves before growth, %u after\n", before.leaf_pages, after.leaf_pages);
	AE_CHECK(after.leaf_pages == before.leaf_pages);
	fx_close(&x);
}

/* many tiny items (2-byte keys, empty values): splits of ~1000-item leaves */
static void
test_tiny_items(void)
{
	fx			x;
	ae_bytes	v = {0};

	AE_OKAY(fx_open(&x, 64));
	for (uint32_t i = 0; i < 65536; i++)
	{
		uint32_t	j = (i * 40503u) & 0xFFFF;
		unsigned char k[2] = {(unsigned char) (j >> 8), (unsigned char) j};

		AE_OKAY(ae_btree_insert(&x.t, k, 2, NULL, 0));
	}
	AE_CHECK(verify_all(&x) == 65536);
	for (uint32_t i = 0; i < 65536; i += 2)
	{
		unsigned char k[2] = {(unsigned char) (i >> 8), (unsigned char) i};

		AE_OKAY(ae_btree_put(&x.t, k, 2, "grown value", 11));	/* replace may split */
	}
	AE_CHECK(verify_all(&x) == 65536);
	{
		unsigned char k[2] = {0x12, 0x34};

		AE_OKAY(ae_btree_get(&x.t, k, 2, &v));
		AE_CHECK(v.len == 11);
	}
	ae_bytes_free(&v);
	fx_close(&x);
}

/* verify names the block of a damaged leaf; get still works elsewhere */
static void
test_verify_detects(void)
{
	fx			x;
	char		k[16];
	ae_buf	   *b;
	ae_btree_verify_stats s;
	uint32_t	blk;

	AE_OKAY(fx_open(&x, 64));
	for (int i = 0; i < 2000; i++)
	{
		snprintf(k, sizeof(k), "k%05d", i);
		AE_OKAY(ae_btree_insert(&x.t, k, 6, "value-value-value", 17));
	}
	AE_OKAY(ae_btree_verify_ex(&x.t, &s));
	AE_CHECK(s.leaf_pages > 3 && s.inner_pages >= 1);
	/* block 1 was the first root leaf: still the leftmost leaf; damage its key order */
	blk = 1;
	AE_OKAY(ae_buf_read(x.eng, x.f, blk, AE_LATCH_EXCLUSIVE, 0, &b));
	{
		uint16_t	len;
		char	   *item = (char *) ae_page_item(ae_buf_page(b), 0, &len);

		item[2] = 'z';			/* first key now sorts after the second */
	}
	ae_buf_release(b);
	AE_CHECK(ae_btree_verify(&x.t, NULL) == AE_CORRUPT);
	AE_CHECK(ae_error_last()->block == blk);
	fx_close(&x);
}

/* ---------------------------------------------------------------- ranges */

static int
scan(fx *x, ae_scan_dir dir, int lo, bool lo_incl, int hi, bool hi_incl, int *out, int max)
{
	ae_btree_cursor c;
	char		lk[16],
				hk[16];
	const void *k,
			   *v;
	size_t		kl,
				vl;
	int			n = 0;

	snprintf(lk, sizeof(lk), "k%05d", lo);
	snprintf(hk, sizeof(hk), "k%05d", hi);
	if (ae_btree_cursor_open(&c, &x->t, dir, 0, lo >= 0 ? lk : NULL, lo >= 0 ? 6 : 0, lo_incl,
							 hi >= 0 ? hk : NULL, hi >= 0 ? 6 : 0, hi_incl) != AE_OK)
		return -1;
	while (ae_btree_cursor_next(&c, &k, &kl, &v, &vl) == AE_OK && n < max)
	{
		if (kl != 6 || vl != 6 || memcmp(k, v, 6) != 0)
			return -2;
		out[n++] = atoi((const char *) k + 1);
	}
	ae_btree_cursor_close(&c);
	return n;
}

/* expected keys: multiples of 2 in [0, 4000) present (after deleting 1000..2999 except every 50th) */
static bool
present(int i)
{
	return i % 2 == 0 && i < 4000 && (i < 1000 || i >= 3000 || i % 50 == 0);
}

static bool
check_range(fx *x, ae_scan_dir dir, int lo, bool li, int hi, bool hin)
{
	static int	got[5000];
	int			n = scan(x, dir, lo, li, hi, hin, got, 5000),
				m = 0;

	for (int j = 0; j < 4100; j++)
	{
		int			i = dir == AE_FORWARD ? j : 4099 - j;

		if (!present(i) || (lo >= 0 && (i < lo || (i == lo && !li))) ||
			(hi >= 0 && (i > hi || (i == hi && !hin))))
			continue;
		if (m >= n || got[m] != i)
		{
			fprintf(stderr, "  range dir %d [%d %d] (%d %d): at %d expected %d got %d (n %d)\n",
					dir, lo, hi, li, hin, m, i, m < n ? got[m] : -1, n);
			return false;
		}
		m++;
	}
	return m == n;
}

static void
test_ranges(void)
{
	fx			x;
	char		k[16];
	int			b[][2] = {{-1, -1}, {0, 3998}, {10, 20}, {11, 11}, {998, 3002}, {1001, 2999},
	{1500, 1500}, {3998, 5000}, {-1, 500}, {2000, -1}, {1049, 1051}};

	AE_OKAY(fx_open(&x, 64));
	for (int i = 0; i < 4000; i += 2)
	{
		snprintf(k, sizeof(k), "k%05d", i);
		AE_OKAY(ae_btree_insert(&x.t, k, 6, k, 6));
	}
	for (int i = 1000; i < 3000; i += 2)	/* leaves empty leaves behind */
	{
		snprintf(k, sizeof(k), "k%05d", i);
		if (i % 50)
			AE_OKAY(ae_btree_delete(&x.t, k, 6));
	}
	AE_CHECK(verify_all(&x) == 2000 - 1000 + 40);
	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
		for (int incl = 0; incl < 4; incl++)
		{
			AE_CHECK(check_range(&x, AE_FORWARD, b[i][0], incl & 1, b[i][1], incl & 2));
			AE_CHECK(check_range(&x, AE_BACKWARD, b[i][0], incl & 1, b[i][1], incl & 2));
		}
	fx_close(&x);
}

/* ---------------------------------------------------------------- model */

#define NKEYS 20000

typedef struct mval
{
	bool		present;
	uint32_t	seed;
	uint32_t	len;
} mval;

static mval model[NKEYS];

static size_t
model_key(char *k, uint32_t i)
{
	size_t		len = 8 + (i * 37) % 120;

	memset(k, 'p', len);
	snprintf(k, 9, "%08u", i);
	k[8 % len] = k[8 % len];
	if (len > 8)
		k[8] = '.';
	return len;
}

static uint32_t
model_vlen(void)
{
	uint32_t	r = rnd(1000);

	if (r < 10)
		return AE_BTREE_INLINE_MAX + 1 + rnd(30000);	/* overflow */
	if (r < 30)
		return rnd(AE_BTREE_INLINE_MAX + 1);
	return rnd(400);
}

/* one random operation against tree and model; false on a mismatch */
static bool
model_step(fx *x, char *vbuf, ae_bytes *got)
{
	char		k[200];
	uint32_t	i = rnd(NKEYS),
				op = rnd(100),
				seed = rnd(1u << 30),
				len = model_vlen();
	size_t		kl = model_key(k, i);
	mval	   *m = &model[i];
	ae_status	st;

	fill(vbuf, seed, len);
	if (op < 30)
	{
		st = ae_btree_insert(&x->t, k, kl, vbuf, len);
		if (st != (m->present ? AE_EXISTS : AE_OK))
			return false;
		if (!m->present)
			*m = (mval) {true, seed, len};
	}
	else if (op < 50)
	{
		if (ae_btree_put(&x->t, k, kl, vbuf, len) != AE_OK)
			return false;
		*m = (mval) {true, seed, len};
	}
	else if (op < 65)
	{
		if (ae_btree_delete(&x->t, k, kl) != (m->present ? AE_OK : AE_NOT_FOUND))
			return false;
		m->present = false;
	}
	else if (op < 75)
	{
		/* cas with the right (model) or a wrong expected value */
		static char ebuf[AE_BTREE_INLINE_MAX + 40000];
		bool		right = rnd(2);
		uint32_t	elen = m->present ? m->len : 5;

		fill(ebuf, right ? m->seed : m->seed + 1, elen);
		st = ae_btree_cas(&x->t, k, kl, ebuf, elen, vbuf, len);
		if (!m->present)
			return st == AE_NOT_FOUND;
		if (st != (right || elen == 0 ? AE_OK : AE_CONFLICT))
			return false;
		if (st == AE_OK)
			*m = (mval) {true, seed, len};
	}
	else
	{
		st = ae_btree_get(&x->t, k, kl, got);
		if (st != (m->present ? AE_OK : AE_NOT_FOUND))
			return false;
		if (st == AE_OK)
		{
			fill(vbuf, m->seed, m->len);
			return got->len == m->len && memcmp(got->data, vbuf, m->len) == 0 &&
				((uintptr_t) got->data & 7) == 0;
		}
	}
	return true;
}

/* a short cursor from a random key, either direction, against the model */
static bool
model_range(fx *x, char *vbuf)
{
	ae_btree_cursor c;
	char		k[200];
	uint32_t	start = rnd(NKEYS);
	ae_scan_dir dir = rnd(2) ? AE_FORWARD : AE_BACKWARD;
	size_t		kl = model_key(k, start);
	int			i = (int) start;
	const void *ck,
			   *cv;
	size_t		ckl,
				cvl;
	bool		ok = true;

	if (ae_btree_cursor_open(&c, &x->t, dir, 0, dir == AE_FORWARD ? k : NULL, kl, true,
							 dir == AE_BACKWARD ? k : NULL, kl, true) != AE_OK)
		return false;
	for (int n = 0; ok && n < 30; n++)
	{
		while (i >= 0 && i < NKEYS && !model[i].present)
			i += dir;
		if (i < 0 || i >= NKEYS)
		{
			ok = ae_btree_cursor_next(&c, &ck, &ckl, &cv, &cvl) == AE_NOT_FOUND;
			break;
		}
		kl = model_key(k, (uint32_t) i);
		fill(vbuf, model[i].seed, model[i].len);
		ok = ae_btree_cursor_next(&c, &ck, &ckl, &cv, &cvl) == AE_OK && ckl == kl &&
			memcmp(ck, k, kl) == 0 && cvl == model[i].len && memcmp(cv, vbuf, cvl) == 0 &&
			((uintptr_t) ck & 7) == 0 && ((uintptr_t) cv & 7) == 0;	/* btree.h: aligned */
		i += dir;
	}
	ae_btree_cursor_close(&c);
	return ok;
}

static int64_t
model_count(void)
{
	int64_t		n = 0;

	for (int i = 0; i < NKEYS; i++)
		n += model[i].present;
	return n;
}

/* every key of the model, and no other, is in the tree */
static bool
model_compare(fx *x, char *vbuf)
{
	ae_bytes	got = {0};
	bool		ok = verify_all(x) == model_count();

	for (uint32_t i = 0; ok && i < NKEYS; i++)
	{
		char		k[200];
		size_t		kl = model_key(k, i);
		ae_status	st = ae_btree_get(&x->t, k, kl, &got);

		fill(vbuf, model[i].seed, model[i].len);
		ok = model[i].present ? (st == AE_OK && got.len == model[i].len &&
								 memcmp(got.data, vbuf, got.len) == 0) : st == AE_NOT_FOUND;
		if (!ok)
			fprintf(stderr, "  model key %u: %s\n", i, ae_status_name(st));
	}
	ae_bytes_free(&got);
	return ok;
}

/* random workload of nops operations; pool of 64 frames */
static bool
run_model(fx *x, int nops, int verify_every)
{
	static char vbuf[AE_BTREE_INLINE_MAX + 40000];
	ae_bytes	got = {0};

	for (int n = 0; n < nops; n++)
	{
		bool		ok = rnd(100) < 3 ? model_range(x, vbuf) : model_step(x, vbuf, &got);

		if (!ok)
		{
			fprintf(stderr, "  model mismatch at op %d: %s\n", n, ae_error_last()->message);
			return false;
		}
		if (verify_every && n % verify_every == verify_every - 1 && verify_all(x) != model_count())
			return false;
	}
	ae_bytes_free(&got);
	return true;
}

static void
test_property_random(void)
{
	fx			x;
	ae_btree_info info;
	static char vbuf[AE_BTREE_INLINE_MAX + 40000];

	memset(model, 0, sizeof(model));
	AE_OKAY(fx_open(&x, 64));
	AE_CHECK(run_model(&x, 100000, 10000));
	AE_CHECK(model_compare(&x, vbuf));
	AE_OKAY(ae_btree_get_info(&x.t, &info));
	AE_CHECK(info.npages > 8 * 64);	/* data many times the pool */
	{
		/* descents were swizzled, and eviction (and splits) invalidated hints */
		ae_engine_stats es;

		ae_engine_get_stats(x.eng, &es);
		printf("# swizzle: %llu hits, %llu misses, %llu stale, %llu table steals; %llu evictions\n",
			   (unsigned long long) es.swizzle_hits, (unsigned long long) es.swizzle_misses,
			   (unsigned long long) es.swizzle_stale, (unsigned long long) es.swizzle_steals,
			   (unsigned long long) es.evictions);
		AE_CHECK(es.swizzle_hits > 0 && es.swizzle_stale > 0 && es.evictions > 0);
	}
	fx_close(&x);
}

/* ---------------------------------------------------------------- swizzling */

static size_t
swz_key(char *k, uint32_t i)
{
	memset(k, 'z', 300);
	snprintf(k, 12, "k%08u", i);
	k[9] = '.';
	return 300;
}

/* Page accesses so far: through the page table, or through a swizzled pointer or frame hint. */
static uint64_t
page_accesses(ae_engine *eng)
{
	ae_engine_stats s;

	ae_engine_get_stats(eng, &s);
	return s.hits + s.reads + s.swizzle_hits;
}

/*
 * W8: a fresh handle (the glue opens one per operation) finds the metapage
 * through the frame this process last saw holding it, not the buffer table;
 * once that frame holds another page, the tag check sends it to the table,
 * and the answer is still this tree's.
 */
static void
test_meta_hint(void)
{
	fx			x;
	ae_btree	t2, other;
	ae_bytes	got = {0};
	unsigned char k[8];
	char		v[200];
	ae_file_id	f2 = {1, 2, 4};
	ae_engine_stats s0, s1;
	uint64_t	w7;

	AE_OKAY(fx_open(&x, 64));
	ae_row_key(9, k);
	fill(v, 9, 40);
	AE_OKAY(ae_btree_insert(&x.t, k, 8, v, 40));
	ae_row_key(7, k);
	fill(v, 7, 40);
	AE_OKAY(ae_btree_insert(&x.t, k, 8, v, 40));
	ae_row_key(9, k);
	AE_OKAY(ae_btree_get(&x.t, k, 8, &got));	/* remembers the metapage's frame */
	ae_btree_open(&t2, x.eng, x.f, NULL);
	ae_row_key(10, k);			/* after the leaf's last key: W7 cannot serve it, a descent */
	ae_engine_get_stats(x.eng, &s0);
	w7 = ae_btree_recent_leaf_hits();
	AE_CHECK(ae_btree_get(&t2, k, 8, &got) == AE_NOT_FOUND);
	ae_engine_get_stats(x.eng, &s1);
	AE_CHECK(ae_btree_recent_leaf_hits() == w7);
	AE_CHECK(s1.hits == s0.hits);	/* no buffer-table lookup: metapage by its frame, root by swizzle */
	AE_CHECK(s1.swizzle_hits >= s0.swizzle_hits + 2);

	/* another tree fills the 64-frame pool: the remembered frame is reused */
	AE_OKAY(ae_btree_create(x.eng, f2));
	ae_btree_open(&other, x.eng, f2, NULL);
	for (uint32_t i = 0; i < 8000; i++)
	{
		ae_row_key(i, k);
		fill(v, i, 200);
		AE_OKAY(ae_btree_insert(&other, k, 8, v, 200));
	}
	ae_btree_open(&t2, x.eng, x.f, NULL);
	ae_row_key(6, k);			/* before the leaf's first key: a descent, from the metapage */
	ae_engine_get_stats(x.eng, &s0);
	w7 = ae_btree_recent_leaf_hits();
	AE_CHECK(ae_btree_get(&t2, k, 8, &got) == AE_NOT_FOUND);	/* tree 2 has key 6, this one not */
	ae_engine_get_stats(x.eng, &s1);
	AE_CHECK(ae_btree_recent_leaf_hits() == w7);
	AE_CHECK(s1.swizzle_stale > s0.swizzle_stale);	/* the remembered frame holds another page now */
	ae_row_key(9, k);
	fill(v, 9, 40);
	AE_OKAY(ae_btree_get(&t2, k, 8, &got));
	AE_CHECK(got.len == 40 && memcmp(got.data, v, 40) == 0);
	ae_row_key(8, k);
	AE_CHECK(ae_btree_get(&t2, k, 8, &got) == AE_NOT_FOUND);	/* tree 2 has key 8, this one not */
	ae_bytes_free(&got);
	fx_close(&x);
}

/*
 * Get row id (a value written as fill(seed, len)) and check the value;
 * returns the pages the get touched.
 */
static uint64_t
pages_of_get(fx *x, uint64_t id, uint32_t seed, size_t len)
{
	unsigned char k[8];
	char		v[100];
	ae_bytes	got = {0};
	uint64_t	a0 = page_accesses(x->eng);
	uint64_t	n;

	ae_row_key(id, k);
	fill(v, seed, len);
	AE_CHECK(ae_btree_get(&x->t, k, 8, &got) == AE_OK);
	n = page_accesses(x->eng) - a0;
	AE_CHECK(got.len == len && memcmp(got.data, v, len) == 0);
	ae_bytes_free(&got);
	return n;
}

/*
 * W7: reading a key, reading it again and writing it (what an UPDATE does)
 * descends once; the later two touch only the leaf. So does any key inside
 * the range of a recently used leaf (found or not, read or written), up to
 * BT_RECENT_WAYS leaves per tree; a key outside them descends. The hint
 * never serves a key from a leaf that no longer covers it: after splits
 * moved it, and a deleted key is not found.
 */
static void
test_last_key_leaf(void)
{
	fx			x;
	ae_btree_info info;
	ae_bytes	got = {0};
	unsigned char k[8],
				k2[8];
	char		v[100];
	uint64_t	a0,
				a1,
				w0;
	const uint32_t n = 100000;

	AE_OKAY(fx_open(&x, 2048));
	for (uint32_t i = 0; i < n; i++)
	{
		ae_row_key((uint64_t) i * 1000, k);
		fill(v, i, 40);
		AE_OKAY(ae_btree_insert(&x.t, k, 8, v, 40));
	}
	AE_OKAY(ae_btree_get_info(&x.t, &info));
	AE_REQUIRE(info.height >= 3);
	ae_row_key(500 * 1000, k);
	AE_OKAY(ae_btree_get(&x.t, k, 8, &got));	/* descends */
	a0 = page_accesses(x.eng);
	AE_OKAY(ae_btree_get(&x.t, k, 8, &got));
	fill(v, 77, 60);
	AE_OKAY(ae_btree_put(&x.t, k, 8, v, 60));
	AE_OKAY(ae_btree_get(&x.t, k, 8, &got));
	a1 = page_accesses(x.eng);
	AE_CHECK(a1 - a0 == 3);		/* one page each, not height + 1 */
	AE_CHECK(got.len == 60 && memcmp(got.data, v, 60) == 0);

	/* another key of the same leaf: that leaf alone */
	AE_CHECK(pages_of_get(&x, 501 * 1000, 501, 40) == 1);
	/* a key between two of its keys: not found, and no descent either */
	ae_row_key(501 * 1000 + 1, k2);
	a0 = page_accesses(x.eng);
	AE_CHECK(ae_btree_get(&x.t, k2, 8, &got) == AE_NOT_FOUND);
	AE_CHECK(page_accesses(x.eng) - a0 == 1);
	/* inserted there, through the leaf alone, and found */
	a0 = page_accesses(x.eng);
	AE_OKAY(ae_btree_insert(&x.t, k2, 8, "between", 7));
	AE_CHECK(page_accesses(x.eng) - a0 == 1);
	AE_OKAY(ae_btree_get(&x.t, k2, 8, &got));
	AE_CHECK(got.len == 7 && memcmp(got.data, "between", 7) == 0);
	AE_OKAY(ae_btree_delete(&x.t, k2, 8));

	/* keys far apart: a full descent (metapage, each level) for each new leaf */
	for (uint32_t far = 1; far <= 3; far++)
	{
		w0 = ae_btree_recent_leaf_hits();
		AE_CHECK(pages_of_get(&x, (uint64_t) far * 15000 * 1000, far * 15000, 40) == info.height + 1);
		AE_CHECK(ae_btree_recent_leaf_hits() == w0);
	}
	/* four leaves are remembered: the first is still one page away */
	AE_CHECK(pages_of_get(&x, 502 * 1000, 502, 40) == 1);
	/* a fifth and a sixth push out the oldest two: those descend again */
	for (uint32_t far = 4; far <= 5; far++)
		(void) pages_of_get(&x, (uint64_t) far * 15000 * 1000, far * 15000, 40);
	AE_CHECK(pages_of_get(&x, 15000 * 1000, 15000, 40) == info.height + 1);

	/*
	 * Another process splits the key's leaf (keys just below it push it into
	 * the new right page) while this one keeps its hint: the hint is stale,
	 * and reads and writes of the key must find it where it went.
	 */
	ae_row_key(500 * 1000, k);
	fill(v, 77, 60);
	AE_OKAY(ae_btree_get(&x.t, k, 8, &got));	/* the hint: k in its leaf */
	if (fork() == 0)
	{
		bool		ok = true;

		for (uint32_t j = 1; j < 1000 && ok; j++)
		{
			ae_row_key(499 * 1000 + j, k2);
			fill(v, j, 90);
			ok = ae_btree_insert(&x.t, k2, 8, v, 90) == AE_OK;
		}
		_exit(ok ? 0 : 1);
	}
	AE_REQUIRE(ae_env_wait_children(1));
	fill(v, 77, 60);
	AE_OKAY(ae_btree_get(&x.t, k, 8, &got));
	AE_CHECK(got.len == 60 && memcmp(got.data, v, 60) == 0);
	fill(v, 5, 70);
	AE_OKAY(ae_btree_put(&x.t, k, 8, v, 70));
	AE_OKAY(ae_btree_get(&x.t, k, 8, &got));
	AE_CHECK(got.len == 70 && memcmp(got.data, v, 70) == 0);
	AE_OKAY(ae_btree_verify(&x.t, NULL));
	AE_OKAY(ae_btree_delete(&x.t, k, 8));
	AE_CHECK(ae_btree_get(&x.t, k, 8, &got) == AE_NOT_FOUND);
	AE_CHECK(ae_btree_delete(&x.t, k, 8) == AE_NOT_FOUND);
	AE_OKAY(ae_btree_insert(&x.t, k, 8, "again", 5));
	AE_OKAY(ae_btree_get(&x.t, k, 8, &got));
	AE_CHECK(got.len == 5 && memcmp(got.data, "again", 5) == 0);
	ae_bytes_free(&got);
	fx_close(&x);
}

/*
 * A tree that fits in the pool: once every get has run once, further gets
 * make no page-table lookup at all: metapage (handle hint), root (slot 0 of
 * the metapage) and every inner level are reached through swizzled hints.
 */
static void
test_swizzle_hot_path(void)
{
	fx			x;
	ae_btree_info info;
	ae_engine_stats s0,
				s1;
	ae_bytes	got = {0};
	char		k[300],
				v[40];
	const uint32_t n = 6000;

	AE_OKAY(fx_open(&x, 1024));
	for (uint32_t i = 0; i < n; i++)
	{
		uint32_t	j = (uint32_t) (((uint64_t) i * 2654435761u) % n);

		fill(v, j, sizeof(v));
		AE_OKAY(ae_btree_insert(&x.t, k, swz_key(k, j), v, sizeof(v)));
	}
	AE_OKAY(ae_btree_get_info(&x.t, &info));
	AE_REQUIRE(info.height >= 3 && info.npages < 900);
	for (int round = 0; round < 2; round++)
	{
		ae_engine_get_stats(x.eng, &s0);
		for (uint32_t i = 0; i < n; i++)
		{
			fill(v, i, sizeof(v));
			AE_OKAY(ae_btree_get(&x.t, k, swz_key(k, i), &got));
			AE_REQUIRE(got.len == sizeof(v) && memcmp(got.data, v, sizeof(v)) == 0);
		}
		ae_engine_get_stats(x.eng, &s1);
		if (round == 0)
			continue;			/* warm-up: the inserts' splits moved children */
		printf("# height %u: %llu swizzled reads for %u gets, %llu page-table lookups\n",
			   info.height, (unsigned long long) (s1.swizzle_hits - s0.swizzle_hits), n,
			   (unsigned long long) (s1.hits - s0.hits + s1.reads - s0.reads));
		/* metapage + root + one per inner level */
		AE_CHECK(s1.swizzle_hits - s0.swizzle_hits == (uint64_t) n * (info.height + 1));
		AE_CHECK(s1.hits == s0.hits && s1.reads == s0.reads);
		AE_CHECK(s1.swizzle_misses == s0.swizzle_misses && s1.swizzle_stale == s0.swizzle_stale);
	}
	ae_bytes_free(&got);
	fx_close(&x);
}

/*
 * Readers descend (gets and cursors over a stable key set) while writers
 * insert and delete keys between them, splitting and freeing leaves, in a
 * pool so small that nearly every descent meets an evicted or reused frame.
 */
#define SWZ_STABLE 1500
#define SWZ_WRITERS 2
#define SWZ_READERS 2
#define SWZ_WOPS 2500

static size_t
swz_wkey(char *k, int w, uint32_t i)
{
	size_t		len = swz_key(k, i);

	k[9] = (char) ('a' + w);	/* sorts between stable keys i and i + 1 */
	return len - 100;
}

static int
swz_writer(fx *x, int w)
{
	char		k[300],
				v[400];

	rng_state = 1234567u + (uint64_t) w * 7919u;
	for (int n = 0; n < SWZ_WOPS; n++)
	{
		uint32_t	i = rnd(SWZ_STABLE);
		size_t		kl = swz_wkey(k, w, i);
		ae_status	st;

		fill(v, i + 77, sizeof(v));
		st = ae_btree_put(&x->t, k, kl, v, 100 + rnd(300));
		if (st != AE_OK)
			return 30;
		if (rnd(3) == 0 && (st = ae_btree_delete(&x->t, k, kl)) != AE_OK)
			return 31;
	}
	return 0;
}

static int
swz_reader(fx *x, int r)
{
	char		k[300],
				v[64];
	ae_bytes	got = {0};

	rng_state = 7654321u + (uint64_t) r * 104729u;
	for (int n = 0; n < 4 * SWZ_WOPS; n++)
	{
		uint32_t	i = rnd(SWZ_STABLE);

		fill(v, i, sizeof(v));
		if (ae_btree_get(&x->t, k, swz_key(k, i), &got) != AE_OK || got.len != sizeof(v) ||
			memcmp(got.data, v, sizeof(v)) != 0)
			return 40;
		if (n % 200 == 0)
		{
			/* a short cursor: stable keys come back in order, none missing */
			ae_btree_cursor c;
			const void *ck,
					   *cv;
			size_t		ckl,
						cvl;
			uint32_t	next = i;

			if (ae_btree_cursor_open(&c, &x->t, AE_FORWARD, 0, k, swz_key(k, i), true,
									 NULL, 0, false) != AE_OK)
				return 41;
			for (int m = 0; m < 50 && next < SWZ_STABLE; m++)
			{
				if (ae_btree_cursor_next(&c, &ck, &ckl, &cv, &cvl) != AE_OK)
					return 42;
				if (ckl == 300 && memcmp(ck, k, swz_key(k, next)) == 0)
					next++;
				else if (ckl != 200)
					return 43;
			}
			ae_btree_cursor_close(&c);
		}
	}
	ae_bytes_free(&got);
	return 0;
}

static void
test_swizzle_multiprocess(void)
{
	fx			x;
	pid_t		pids[SWZ_WRITERS + SWZ_READERS];
	ae_engine_stats s0,
				s1;
	char		k[300],
				v[64];

	AE_OKAY(fx_open(&x, 32));
	for (uint32_t i = 0; i < SWZ_STABLE; i++)
	{
		fill(v, i, sizeof(v));
		AE_OKAY(ae_btree_insert(&x.t, k, swz_key(k, i), v, sizeof(v)));
	}
	ae_engine_get_stats(x.eng, &s0);
	fflush(NULL);
	for (int p = 0; p < SWZ_WRITERS + SWZ_READERS; p++)
	{
		pids[p] = fork();
		AE_REQUIRE(pids[p] >= 0);
		if (pids[p] == 0)
			_exit(p < SWZ_WRITERS ? swz_writer(&x, p) : swz_reader(&x, p));
	}
	for (int p = 0; p < SWZ_WRITERS + SWZ_READERS; p++)
	{
		int			status;

		AE_REQUIRE(waitpid(pids[p], &status, 0) == pids[p]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fprintf(stderr, "  process %d: status 0x%x\n", p, status);
		AE_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	ae_engine_get_stats(x.eng, &s1);
	printf("# swizzle: %llu hits, %llu misses, %llu stale, %llu table steals; %llu evictions\n",
		   (unsigned long long) (s1.swizzle_hits - s0.swizzle_hits),
		   (unsigned long long) (s1.swizzle_misses - s0.swizzle_misses),
		   (unsigned long long) (s1.swizzle_stale - s0.swizzle_stale),
		   (unsigned long long) (s1.swizzle_steals - s0.swizzle_steals),
		   (unsigned long long) (s1.evictions - s0.evictions));
	AE_CHECK(s1.swizzle_hits > s0.swizzle_hits && s1.swizzle_stale > s0.swizzle_stale);
	AE_CHECK(s1.evictions - s0.evictions > 1000);
	AE_CHECK(verify_all(&x) >= SWZ_STABLE);
	fx_close(&x);
}

/* ---------------------------------------------------------------- overflow */

static void
test_overflow_sizes(void)
{
	fx			x;
	size_t		sizes[] = {1, AE_BTREE_INLINE_MAX, AE_BTREE_INLINE_MAX + 1, 8120, 8121,
	3 * 8120, 100000, 1 << 20, (size_t) 100 << 20};
	size_t		maxlen = (size_t) 100 << 20;
	char	   *val = malloc(maxlen);
	ae_bytes	got = {0};
	ae_btree_info a,
				b;

	AE_REQUIRE(val);
	AE_OKAY(fx_open(&x, 256));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
	{
		char		k[8];

		snprintf(k, sizeof(k), "o%zu", i);
		fill(val, (uint32_t) i, sizes[i]);
		AE_OKAY(ae_btree_put(&x.t, k, strlen(k), val, sizes[i]));
		AE_OKAY(ae_btree_get(&x.t, k, strlen(k), &got));
		AE_CHECK(got.len == sizes[i] && memcmp(got.data, val, got.len) == 0);
	}
	AE_CHECK(verify_all(&x) == 9);
	/* delete + reinsert the same sizes: the file does not grow (free-list reuse) */
	AE_OKAY(ae_btree_get_info(&x.t, &a));
	for (int round = 0; round < 3; round++)
	{
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		{
			char		k[8];

			snprintf(k, sizeof(k), "o%zu", i);
			fill(val, (uint32_t) (i + 100 + round), sizes[i]);
			if (round == 0)
				AE_OKAY(ae_btree_delete(&x.t, k, strlen(k)));
			AE_OKAY(ae_btree_put(&x.t, k, strlen(k), val, sizes[i]));	/* rounds 1, 2: replace */
		}
		AE_OKAY(ae_btree_get_info(&x.t, &b));
		/* a replace writes the new chain before freeing the old: one extra copy, once */
		if (round != 1)
			AE_CHECK(b.npages <= a.npages);
		if (round == 1)
			a = b;
	}
	AE_CHECK(b.nfree + 2 >= (size_t) ((100 << 20) / 8120));
	{
		/* cas on an overflow value compares the whole value */
		fill(val, 110, sizes[8]);
		AE_CHECK(ae_btree_cas(&x.t, "o8", 2, val, sizes[8] - 1, "x", 1) == AE_CONFLICT);
		val[12345678] ^= 1;
		AE_CHECK(ae_btree_cas(&x.t, "o8", 2, val, sizes[8], "x", 1) == AE_CONFLICT);
		val[12345678] ^= 1;
		AE_OKAY(ae_btree_cas(&x.t, "o8", 2, val, sizes[8], "x", 1));
	}
	AE_CHECK(verify_all(&x) == 9);
	ae_bytes_free(&got);
	free(val);
	fx_close(&x);
}

static void
test_overflow_1g(void)
{
	fx			x;
	size_t		len = (size_t) 1 << 30;
	char	   *val;
	ae_bytes	got = {0};

	if (!getenv("AE_BTREE_BIG"))
		return;
	AE_REQUIRE((val = malloc(len)) != NULL);
	AE_OKAY(fx_open(&x, 256));
	fill(val, 7, len);
	AE_OKAY(ae_btree_put(&x.t, "g", 1, val, len));
	AE_OKAY(ae_btree_get(&x.t, "g", 1, &got));
	AE_CHECK(got.len == len && memcmp(got.data, val, len) == 0);
	AE_OKAY(ae_btree_delete(&x.t, "g", 1));
	AE_CHECK(verify_all(&x) == 0);
	ae_bytes_free(&got);
	free(val);
	fx_close(&x);
}

/* ---------------------------------------------------------------- replay */

static void
test_replay(void)
{
	fx			x;
	ae_lsn		end;
	uint64_t	nrec;
	static char vbuf[AE_BTREE_INLINE_MAX + 40000];

	memset(model, 0, sizeof(model));
	AE_OKAY(fx_open(&x, 64));
	AE_REQUIRE(run_model(&x, 30000, 0));
	AE_OKAY(ae_wal_flush(x.eng, ae_wal_insert_lsn(x.eng)));
	ae_buf_discard_all(x.eng);	/* every dirty page is lost */
	AE_OKAY(ae_wal_replay(x.eng, AE_WAL_START_LSN, &end, &nrec));
	AE_CHECK(nrec > 1000);
	AE_CHECK(model_compare(&x, vbuf));
	/* replay again over the recovered pages: idempotent */
	ae_buf_discard_all(x.eng);
	AE_OKAY(ae_wal_replay(x.eng, AE_WAL_START_LSN, &end, &nrec));
	AE_CHECK(model_compare(&x, vbuf));
	/* and the tree keeps working */
	ae_wal_set_insert_lsn(x.eng, end);
	AE_CHECK(run_model(&x, 5000, 0));
	AE_CHECK(model_compare(&x, vbuf));
	fx_close(&x);
}


static char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*len = (size_t) ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(*len + 1);
	if (buf && fread(buf, 1, *len, f) != *len)
	{
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* R1: replaying the whole log onto the initial file rebuilds it byte for byte */
static void
test_replay_byte_identical(void)
{
	fx			x;
	char		path[128];
	size_t		l0,
				l1,
				l2;
	char	   *init,
			   *fin,
			   *again;
	FILE	   *f;

	memset(model, 0, sizeof(model));
	AE_OKAY(fx_open(&x, 64));
	AE_OKAY(ae_buf_flush_all(x.eng));
	snprintf(path, sizeof(path), "%s/1_2_3", x.dir);
	AE_REQUIRE((init = read_file(path, &l0)) != NULL);
	AE_REQUIRE(run_model(&x, 20000, 0));
	AE_OKAY(ae_buf_flush_all(x.eng));
	AE_REQUIRE((fin = read_file(path, &l1)) != NULL);
	ae_buf_discard_all(x.eng);
	AE_REQUIRE((f = fopen(path, "r+b")) != NULL);
	AE_CHECK(fwrite(init, 1, l0, f) == l0);
	fclose(f);
	AE_CHECK(truncate(path, (off_t) l0) == 0);
	AE_OKAY(ae_wal_replay(x.eng, AE_WAL_START_LSN, NULL, NULL));
	AE_OKAY(ae_buf_flush_all(x.eng));
	AE_REQUIRE((again = read_file(path, &l2)) != NULL);
	AE_CHECK(l1 == l2 && memcmp(fin, again, l1) == 0);
	free(init);
	free(fin);
	free(again);
	fx_close(&x);
}

/*
 * Log a forged record of rmgr/type about block 1 (the first leaf), lose the
 * pages and replay from the start: true if replay refuses it as corrupt
 * with a message containing expect. The log is unusable afterwards.
 */
static bool
forged_record_refused(fx *x, uint8_t rmgr, uint8_t type, const void *payload, size_t len,
					  const char *expect)
{
	ae_buf	   *b;
	ae_mtr		m;
	ae_status	st;

	if (ae_buf_read(x->eng, x->f, 1, AE_LATCH_EXCLUSIVE, 0, &b) != AE_OK)
		return false;
	ae_mtr_begin(x->eng, &m);
	ae_mtr_log(&m, b, rmgr, type, payload, len);
	st = ae_mtr_commit(&m, NULL);
	ae_buf_release(b);
	if (st != AE_OK || ae_wal_flush(x->eng, ae_wal_insert_lsn(x->eng)) != AE_OK)
		return false;
	ae_buf_discard_all(x->eng);
	st = ae_wal_replay(x->eng, AE_WAL_START_LSN, NULL, NULL);
	return st == AE_CORRUPT && strstr(ae_error_last()->message, expect) != NULL;
}

/*
 * A replace shaped like an UPDATE (a new version in front of the kept ones,
 * the first of which changes a few header bytes) is logged as a delta: the
 * log grows by about the new bytes, not the whole value. Replay over lost
 * pages, twice, rebuilds every value. A delta whose head and tail do not fit
 * the item it changes is refused as corrupt, never applied.
 */
#define DELTA_KEYS 50
#define DELTA_ROUNDS 10

static void
test_replay_delta(void)
{
	fx			x;
	char		k[16];
	static char vals[DELTA_KEYS][1200];
	static char nv[1200];
	size_t		lens[DELTA_KEYS];
	ae_lsn		before;
	ae_bytes	got = {0};

	AE_OKAY(fx_open(&x, 64));
	for (int i = 0; i < DELTA_KEYS; i++)
	{
		snprintf(k, sizeof(k), "k%05d", i);
		lens[i] = 600;
		fill(vals[i], (uint32_t) i, lens[i]);
		AE_OKAY(ae_btree_insert(&x.t, k, 6, vals[i], lens[i]));
	}
	before = ae_wal_insert_lsn(x.eng);
	for (int r = 0; r < DELTA_ROUNDS; r++)
		for (int i = 0; i < DELTA_KEYS; i++)
		{
			snprintf(k, sizeof(k), "k%05d", i);
			fill(nv, (uint32_t) (1000 + r * DELTA_KEYS + i), 40);	/* the new version */
			memcpy(nv + 40, vals[i], lens[i]);
			memset(nv + 40, 'x' + r % 2, 8);	/* the old one's xmax changes */
			lens[i] += 40;
			memcpy(vals[i], nv, lens[i]);
			AE_OKAY(ae_btree_put(&x.t, k, 6, vals[i], lens[i]));
		}
	/* whole items would be 500 records of 640..1000 bytes; deltas about 100 */
	AE_CHECK(ae_wal_insert_lsn(x.eng) - before < DELTA_KEYS * DELTA_ROUNDS * 160);
	AE_OKAY(ae_wal_flush(x.eng, ae_wal_insert_lsn(x.eng)));
	for (int pass = 0; pass < 2; pass++)
	{
		bool		same = true;

		ae_buf_discard_all(x.eng);	/* every dirty page is lost */
		AE_OKAY(ae_wal_replay(x.eng, AE_WAL_START_LSN, NULL, NULL));
		for (int i = 0; i < DELTA_KEYS; i++)
		{
			snprintf(k, sizeof(k), "k%05d", i);
			got.len = 0;
			same &= ae_btree_get(&x.t, k, 6, &got) == AE_OK && got.len == lens[i] &&
				memcmp(got.data, vals[i], lens[i]) == 0;
		}
		AE_CHECK(same);
	}

	/* a delta too long for its slot 0 */
	{
		uint16_t	rec[4] = {0, 60000, 60000, 0};	/* slot, prefix, suffix, 2 middle bytes */

		AE_CHECK(forged_record_refused(&x, AE_RMGR_BTREE, AE_BT_REC_LEAF_REPLACE_DELTA, rec,
									   sizeof(rec), "does not fit"));
	}
	ae_bytes_free(&got);
	fx_close(&x);
}

/* ---------------------------------------------------------------- processes */

#define MP_WRITERS 4
#define MP_KEYS 3000

static size_t
mp_key(char *k, int w, int i)
{
	return (size_t) snprintf(k, 32, "w%d-%06d", w, i);
}

static size_t
mp_val(char *v, int w, int i, int gen)
{
	size_t		len = (i % 97 == 0) ? 9000 + (size_t) i : 10 + (size_t) (i % 50);

	fill(v, (uint32_t) (w * 1000003 + i * 7 + gen), len);
	memcpy(v, &gen, 4);
	return len;
}

static int
mp_writer(fx *x, int w)
{
	static char v[20000];
	char		k[32];

	for (int i = 0; i < MP_KEYS; i++)
	{
		int			j = (i * 1543) % MP_KEYS;

		if (ae_btree_insert(&x->t, k, mp_key(k, w, j), v, mp_val(v, w, j, 0)) != AE_OK)
			return 1;
		if (j % 3 == 0 && ae_btree_put(&x->t, k, mp_key(k, w, j), v, mp_val(v, w, j, 1)) != AE_OK)
			return 2;
		if (j % 10 == 5 && ae_btree_delete(&x->t, k, mp_key(k, w, j)) != AE_OK)
			return 3;
	}
	return 0;
}

static int
mp_reader(fx *x, int r)
{
	for (int pass = 0; pass < 8; pass++)
	{
		ae_btree_cursor c;
		ae_bytes	prev = {0};
		const void *k,
				   *v;
		size_t		kl,
					vl;
		ae_status	st;

		if (ae_btree_cursor_open(&c, &x->t, (pass + r) % 2 ? AE_BACKWARD : AE_FORWARD,
								 AE_BUF_SCAN, NULL, 0, false, NULL, 0, false) != AE_OK)
			return 10;
		while ((st = ae_btree_cursor_next(&c, &k, &kl, &v, &vl)) == AE_OK)
		{
			int			cmp = prev.data ? ae_key_cmp_bytes(prev.data, prev.len, k, kl) : 0;

			if (prev.data && (c.dir == AE_FORWARD ? cmp >= 0 : cmp <= 0))
				return 11;
			if (vl < 10)
				return 12;
			prev.len = 0;
			ae_bytes_reserve(&prev, kl);
			memcpy(prev.data, k, kl);
			prev.len = kl;
		}
		ae_bytes_free(&prev);
		ae_btree_cursor_close(&c);
		if (st != AE_NOT_FOUND)
			return 13;
	}
	return 0;
}

static void
test_multiprocess(void)
{
	fx			x;
	pid_t		pids[MP_WRITERS + 2];
	char		k[32],
				v[20000];
	ae_bytes	got = {0};
	int64_t		expect = 0;

	AE_OKAY(fx_open(&x, 128));
	fflush(NULL);
	for (int p = 0; p < MP_WRITERS + 2; p++)
	{
		pids[p] = fork();
		AE_REQUIRE(pids[p] >= 0);
		if (pids[p] == 0)
			_exit(p < MP_WRITERS ? mp_writer(&x, p) : mp_reader(&x, p));
	}
	for (int p = 0; p < MP_WRITERS + 2; p++)
	{
		int			status;

		AE_REQUIRE(waitpid(pids[p], &status, 0) == pids[p]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fprintf(stderr, "  process %d: status 0x%x\n", p, status);
		AE_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	for (int w = 0; w < MP_WRITERS; w++)
		for (int i = 0; i < MP_KEYS; i++)
		{
			ae_status	st = ae_btree_get(&x.t, k, mp_key(k, w, i), &got);
			size_t		vl = mp_val(v, w, i, i % 3 == 0);

			if (i % 10 == 5)
				AE_CHECK(st == AE_NOT_FOUND);
			else
			{
				AE_CHECK(st == AE_OK && got.len == vl && memcmp(got.data, v, vl) == 0);
				expect++;
			}
		}
	AE_CHECK(verify_all(&x) == expect);
	ae_bytes_free(&got);
	fx_close(&x);
}


/* several processes: cas increments of one counter, and replacing overflow values under readers */
#define CAS_PROCS 4
#define CAS_INCS 300
#define OVK 8

static int
cas_worker(fx *x, int p)
{
	ae_bytes	cur = {0};
	static char v[320000];

	for (int n = 0; n < CAS_INCS; n++)
	{
		for (;;)
		{
			uint64_t	c,
						nc;
			ae_status	st;

			if (ae_btree_get(&x->t, "ctr", 3, &cur) != AE_OK || cur.len != 8)
				return 20;
			memcpy(&c, cur.data, 8);
			nc = c + 1;
			st = ae_btree_cas(&x->t, "ctr", 3, &c, 8, &nc, 8);
			if (st == AE_OK)
				break;
			if (st != AE_CONFLICT)
				return 21;
		}
		if (p < 2)
		{
			/* replace a long value: self-describing (generation in front) */
			char		k[8];
			uint32_t	gen = (uint32_t) (p * 100000 + n);
			size_t		len = 9000 + (size_t) (gen % 300000);

			snprintf(k, sizeof(k), "ov%d", n % OVK);
			fill(v, gen, len);
			memcpy(v, &gen, 4);
			if (ae_btree_put(&x->t, k, strlen(k), v, len) != AE_OK)
				return 22;
		}
		else
		{
			/* readers of long values: whatever they get must be a whole value */
			char		k[8];
			static char want[320000];
			uint32_t	gen;
			ae_status	st;

			for (int r = 0; r < 20; r++)
			{
				snprintf(k, sizeof(k), "ov%d", (n + r) % OVK);
				st = ae_btree_get(&x->t, k, strlen(k), &cur);
				if (st == AE_NOT_FOUND)
					continue;
				if (st != AE_OK || cur.len < 9000)
					return 23;
				memcpy(&gen, cur.data, 4);
				fill(want, gen, cur.len);
				memcpy(want, &gen, 4);
				if (cur.len != 9000 + gen % 300000 || memcmp(want, cur.data, cur.len) != 0)
					return 24;
			}
		}
	}
	ae_bytes_free(&cur);
	return 0;
}

static void
test_multiprocess_cas(void)
{
	fx			x;
	pid_t		pids[CAS_PROCS];
	uint64_t	zero = 0,
				c;
	ae_bytes	got = {0};
	ae_btree_verify_stats s;

	AE_OKAY(fx_open(&x, 48));
	AE_OKAY(ae_btree_insert(&x.t, "ctr", 3, &zero, 8));
	fflush(NULL);
	for (int p = 0; p < CAS_PROCS; p++)
	{
		pids[p] = fork();
		AE_REQUIRE(pids[p] >= 0);
		if (pids[p] == 0)
			_exit(cas_worker(&x, p));
	}
	for (int p = 0; p < CAS_PROCS; p++)
	{
		int			status;

		AE_REQUIRE(waitpid(pids[p], &status, 0) == pids[p]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fprintf(stderr, "  process %d: status 0x%x\n", p, status);
		AE_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	AE_OKAY(ae_btree_get(&x.t, "ctr", 3, &got));
	memcpy(&c, got.data, 8);
	AE_CHECK(c == CAS_PROCS * CAS_INCS);
	AE_OKAY(ae_btree_verify_ex(&x.t, &s));
	AE_CHECK(s.nkeys == 1 + OVK && s.leaked_pages == 0);
	ae_bytes_free(&got);
	fx_close(&x);
}

/* ---------------------------------------------------------------- right-edge fast path */

static uint64_t
pool_hits(fx *x)
{
	ae_engine_stats es;

	ae_engine_get_stats(x->eng, &es);
	return es.hits + es.reads;
}

static ae_status
put_be(fx *x, uint64_t i, size_t vlen)
{
	uint64_t	be = __builtin_bswap64(i);
	char		v[64];

	memset(v, 'a' + (int) (i % 26), sizeof(v));
	memcpy(v, &i, 8);
	return ae_btree_insert(&x->t, &be, 8, v, vlen);
}

static bool
has_be(fx *x, uint64_t i, size_t vlen, ae_bytes *got)
{
	uint64_t	be = __builtin_bswap64(i);

	return ae_btree_get(&x->t, &be, 8, got) == AE_OK && got->len == vlen &&
		memcmp(got->data, &i, 8) == 0;
}

/*
 * W5/I12 in one process: appends skip the descent (about one page access
 * each); a hint to an emptied rightmost leaf that is not leftmost is not
 * used; a hint into a dropped and recreated file (block now an overflow page,
 * or beyond the end) is rejected.
 */
static void
test_fastpath(void)
{
	fx			x;
	ae_bytes	got = {0};
	ae_btree_info info;
	uint64_t	h0,
				h1;
	char		path[128];
	char	   *big;

	AE_OKAY(fx_open(&x, 256));
	for (uint64_t i = 0; i < 2000; i++)
		AE_OKAY(put_be(&x, i, 60));
	AE_OKAY(ae_btree_get_info(&x.t, &info));
	AE_CHECK(info.height >= 2);
	h0 = pool_hits(&x);
	for (uint64_t i = 2000; i < 4000; i++)
		AE_OKAY(put_be(&x, i, 60));
	h1 = pool_hits(&x);
	/* a descent reads >= 3 pages (meta, root, leaf); the fast path 1, plus splits */
	if (h1 - h0 >= 2000 * 3 / 2)
		fprintf(stderr, "  %llu page accesses for 2000 appends\n", (unsigned long long) (h1 - h0));
	AE_CHECK(h1 - h0 < 2000 * 3 / 2);
	AE_CHECK(put_be(&x, 3999, 60) == AE_EXISTS);	/* key == last key: normal path */
	AE_CHECK(put_be(&x, 10, 60) == AE_EXISTS);
	AE_OKAY(put_be(&x, 5000, 60));
	AE_OKAY(put_be(&x, 4500, 60));	/* before the last key: normal path */

	/* empty the rightmost leaf (and more): the hint still names it */
	for (uint64_t i = 3000; i <= 5000; i++)
		(void) ae_btree_delete(&x.t, &(uint64_t) {__builtin_bswap64(i)}, 8);
	AE_OKAY(put_be(&x, 3001, 60));	/* below the empty leaf's low fence */
	AE_OKAY(put_be(&x, 3002, 60));
	AE_CHECK(verify_all(&x) == 3002);
	for (uint64_t i = 0; i < 3003; i++)
		AE_CHECK(has_be(&x, i, 60, &got) == (i != 3000));

	/* drop and recreate the file: the old hint names a block of another life */
	AE_OKAY(ae_btree_get_info(&x.t, &info));
	AE_OKAY(ae_buf_flush_all(x.eng));
	ae_buf_drop_file(x.eng, x.f);
	snprintf(path, sizeof(path), "%s/1_2_3", x.dir);
	AE_REQUIRE(truncate(path, 0) == 0);
	AE_OKAY(ae_btree_create(x.eng, x.f));
	AE_OKAY(put_be(&x, 7, 60));	/* hinted block beyond the end of the file */
	AE_OKAY(put_be(&x, 8, 60));
	ae_buf_drop_file(x.eng, x.f);
	AE_REQUIRE(truncate(path, 0) == 0);
	AE_OKAY(ae_btree_create(x.eng, x.f));
	AE_OKAY(put_be(&x, 1, 60));	/* hint := block 1 */
	/* blocks 2.. become an overflow chain */
	AE_REQUIRE((big = malloc((size_t) info.npages * 8120)) != NULL);
	fill(big, 5, (size_t) info.npages * 8120);
	AE_OKAY(ae_btree_insert(&x.t, "\x01", 1, big, (size_t) info.npages * 8120));
	for (uint64_t i = 2; i < 400; i++)	/* splits: block 1 stops being rightmost */
		AE_OKAY(put_be(&x, i, 60));
	AE_CHECK(verify_all(&x) == 400);
	for (uint64_t i = 1; i < 400; i++)
		AE_CHECK(has_be(&x, i, 60, &got));
	AE_OKAY(ae_btree_get(&x.t, "\x01", 1, &got));
	AE_CHECK(got.len == (size_t) info.npages * 8120 && memcmp(got.data, big, got.len) == 0);
	free(big);
	ae_bytes_free(&got);
	fx_close(&x);
}

/*
 * Two processes append interleaved runs of row ids (as the table AM's id
 * chunks do) while a third keeps splitting near the right edge and in the
 * middle with large inline values, and allocates/frees overflow pages.
 */
#define FP_APPENDS 6000
#define FP_RUN 16

static uint64_t
fp_key(int p, uint64_t i)
{
	return (i / FP_RUN) * (2 * FP_RUN) + (uint64_t) p * FP_RUN + i % FP_RUN;
}

static int
fp_appender(fx *x, int p, int *done)
{
	for (uint64_t i = 0; i < FP_APPENDS; i++)
		if (put_be(x, fp_key(p, i), 40 + (size_t) (i % 20)) != AE_OK)
			return 30;
	__atomic_fetch_add(done, 1, __ATOMIC_SEQ_CST);
	return 0;
}

/*
 * Splitter keys: an appender key + one byte (they sort right after it), with
 * 1500-byte values, so leaves split often: after the current last key (the
 * rightmost leaf) or at a fraction of it (inner leaves). Runs until both
 * appenders are done; *count = keys inserted.
 */
static int
fp_splitter(fx *x, int *count, int *done)
{
	static char v[AE_BTREE_INLINE_MAX + 20000];
	int			n = 0;

	for (int round = 0; round < 200 || __atomic_load_n(done, __ATOMIC_SEQ_CST) < 2; round++)
	{
		ae_btree_cursor c;
		const void *k,
				   *val;
		size_t		kl,
					vl;
		uint64_t	last = 0;
		char		key[9];
		ae_status	st;

		if (ae_btree_cursor_open(&c, &x->t, AE_BACKWARD, 0, NULL, 0, false, NULL, 0, false) != AE_OK)
			return 40;
		st = ae_btree_cursor_next(&c, &k, &kl, &val, &vl);
		if (st == AE_OK && kl >= 8)
			memcpy(&last, k, 8);
		ae_btree_cursor_close(&c);
		if (st != AE_OK && st != AE_NOT_FOUND)
			return 41;
		last = __builtin_bswap64(last);
		if (round % 2)
			last = last / 8 * (uint64_t) (round % 8);
		last = __builtin_bswap64(last);
		memcpy(key, &last, 8);
		key[8] = (char) (0x80 | (round % 128));
		fill(v, (uint32_t) round, 1500);
		st = ae_btree_insert(&x->t, key, 9, v, 1500);
		if (st == AE_OK)
			n++;
		else if (st != AE_EXISTS)
			return 42;
		/* overflow pages come and go (freed blocks are reused by later chains) */
		if (round % 5 == 0)
		{
			fill(v, (uint32_t) round, sizeof(v));
			if (ae_btree_put(&x->t, "", 0, v, sizeof(v)) != AE_OK)	/* first key */
				return 43;
			if (round % 10 == 0 && ae_btree_delete(&x->t, "", 0) != AE_OK)
				return 44;
		}
	}
	*count = n;
	return 0;
}

static void
test_fastpath_multiprocess(void)
{
	fx			x;
	pid_t		pids[3];
	int		   *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ae_bytes	got = {0};
	int64_t		nkeys;
	bool		ovf;

	AE_REQUIRE(shared != MAP_FAILED);
	AE_OKAY(fx_open(&x, 64));
	fflush(NULL);
	for (int p = 0; p < 3; p++)
	{
		pids[p] = fork();
		AE_REQUIRE(pids[p] >= 0);
		if (pids[p] == 0)
			_exit(p < 2 ? fp_appender(&x, p, &shared[1]) : fp_splitter(&x, &shared[0], &shared[1]));
	}
	for (int p = 0; p < 3; p++)
	{
		int			status;

		AE_REQUIRE(waitpid(pids[p], &status, 0) == pids[p]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fprintf(stderr, "  process %d: status 0x%x\n", p, status);
		AE_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	ovf = ae_btree_get(&x.t, "", 0, &got) == AE_OK;
	nkeys = verify_all(&x);
	if (shared[0] <= 100)
		fprintf(stderr, "  splitter inserted %d keys\n", shared[0]);
	AE_CHECK(shared[0] > 100 && shared[1] == 2);
	AE_CHECK(nkeys == 2 * FP_APPENDS + shared[0] + ovf);
	for (int p = 0; p < 2; p++)
		for (uint64_t i = 0; i < FP_APPENDS; i++)
			AE_CHECK(has_be(&x, fp_key(p, i), 40 + (size_t) (i % 20), &got));
	ae_bytes_free(&got);
	munmap(shared, 4096);
	fx_close(&x);
}

/* ---------------------------------------------------------------- insert_batch */

static int
count_many(void *arg, ae_lsn lsn, const ae_log_record *rec)
{
	if (rec->rmgr == AE_RMGR_BTREE && rec->type == 5)	/* AE_BT_REC_LEAF_INSERT_MANY */
		(*(uint64_t *) arg)++;
	return 0;
}

/*
 * One random batch against the model: an ascending run of model keys (some
 * already present), values of model_vlen() (overflow ones too). The tree must
 * insert exactly the keys before the first present one.
 */
static bool
batch_step(fx *x, int maxn)
{
	static char kbuf[400][200];
	static char *vbufs[400];
	const void *keys[400],
			   *vals[400];
	size_t		klens[400],
				vlens[400];
	uint32_t	seeds[400],
				idx[400];
	uint32_t	k = rnd(NKEYS),
				stride = 1 + rnd(rnd(2) ? 3 : 60);
	int			n = 0,
				expect,
				done = -1;
	ae_status	st;

	for (; n < maxn && k < NKEYS; n++, k += stride)
	{
		idx[n] = k;
		klens[n] = model_key(kbuf[n], k);
		keys[n] = kbuf[n];
		vlens[n] = model_vlen();
		seeds[n] = rnd(1u << 30);
		if (!vbufs[n] && !(vbufs[n] = malloc(AE_BTREE_INLINE_MAX + 40000)))
			return false;
		fill(vbufs[n], seeds[n], vlens[n]);
		vals[n] = vlens[n] ? vbufs[n] : NULL;
	}
	for (expect = 0; expect < n && !model[idx[expect]].present; expect++)
		;
	st = ae_btree_insert_batch(&x->t, n, keys, klens, vals, vlens, &done);
	if (st != (expect == n ? AE_OK : AE_EXISTS) || done != expect)
	{
		fprintf(stderr, "  batch of %d: %s, %d inserted, expected %d\n", n,
				ae_status_name(st), done, expect);
		return false;
	}
	for (int j = 0; j < done; j++)
		model[idx[j]] = (mval) {true, seeds[j], (uint32_t) vlens[j]};
	return true;
}

static void
test_insert_batch(void)
{
	fx			x;
	static char vbuf[AE_BTREE_INLINE_MAX + 40000];
	ae_btree_verify_stats s;
	uint64_t	many = 0;
	int			done = -1,
				novf = 0;
	ae_lsn		end;
	const void *k2[2] = {"b", "a"},
			   *v2[2] = {"x", "y"};
	size_t		l2[2] = {1, 1};

	memset(model, 0, sizeof(model));
	AE_OKAY(fx_open(&x, 64));
	/* argument errors insert nothing */
	AE_CHECK(ae_btree_insert_batch(&x.t, 2, k2, l2, v2, l2, &done) == AE_INVALID && done == 0);
	k2[1] = "b";
	AE_CHECK(ae_btree_insert_batch(&x.t, 2, k2, l2, v2, l2, &done) == AE_INVALID && done == 0);
	AE_OKAY(ae_btree_insert_batch(&x.t, 0, NULL, NULL, NULL, NULL, &done));
	AE_CHECK(done == 0 && verify_all(&x) == 0);
	/* some keys present first, singly */
	AE_REQUIRE(run_model(&x, 3000, 0));
	for (int round = 0; round < 400; round++)
		AE_REQUIRE(batch_step(&x, 1 + (int) rnd(round % 4 ? 40 : 400)));
	for (int i = 0; i < NKEYS; i++)
		novf += model[i].present && model[i].len > AE_BTREE_INLINE_MAX;
	AE_CHECK(novf > 10);
	AE_CHECK(model_compare(&x, vbuf));
	AE_OKAY(ae_btree_verify_ex(&x.t, &s));
	AE_CHECK(s.overflow_pages >= (uint32_t) novf && s.leaked_pages == 0);
	/* LEAF_INSERT_MANY redo: lose the pool, replay, same tree */
	AE_OKAY(ae_wal_flush(x.eng, ae_wal_insert_lsn(x.eng)));
	AE_OKAY(ae_wal_scan(x.eng, AE_WAL_START_LSN, count_many, &many, &end));
	AE_CHECK(many > 100);
	ae_buf_discard_all(x.eng);
	AE_OKAY(ae_wal_replay(x.eng, AE_WAL_START_LSN, &end, NULL));
	AE_CHECK(model_compare(&x, vbuf));
	fx_close(&x);
}

/* right-edge batches fill leaves like single appends, one record per leaf */
static void
test_insert_batch_append(void)
{
	fx			x;
	uint64_t	be[100],
				many = 0;
	const void *keys[100],
			   *vals[100];
	size_t		kl[100],
				vl[100];
	ae_btree_verify_stats s;
	ae_bytes	got = {0};
	int			done;

	AE_OKAY(fx_open(&x, 128));
	for (int j = 0; j < 100; j++)
	{
		keys[j] = &be[j];
		kl[j] = 8;
		vals[j] = "0123456789abcdef0123456789abcdef";
		vl[j] = 32;
	}
	for (uint64_t i = 0; i < 20000; i += 100)
	{
		for (int j = 0; j < 100; j++)
			be[j] = __builtin_bswap64(i + (uint64_t) j);
		if (i == 10000)
		{
			static char big[AE_BTREE_INLINE_MAX + 1];

			vals[50] = big;		/* one overflow value in the middle of a run */
			vl[50] = sizeof(big);
		}
		AE_OKAY(ae_btree_insert_batch(&x.t, 100, keys, kl, vals, vl, &done));
		AE_CHECK(done == 100);
		vals[50] = vals[0];
		vl[50] = 32;
	}
	/* a batch that hits an existing key in the middle */
	for (int j = 0; j < 100; j++)
		be[j] = __builtin_bswap64(19950 + (uint64_t) j);
	AE_CHECK(ae_btree_insert_batch(&x.t, 100, keys, kl, vals, vl, &done) == AE_EXISTS);
	AE_CHECK(done == 0);
	AE_OKAY(ae_btree_verify_ex(&x.t, &s));
	AE_CHECK(s.nkeys == 20000 && s.overflow_pages == 1);
	AE_CHECK(s.leaf_pages < 20000 / 140);
	AE_OKAY(ae_btree_get(&x.t, &(uint64_t) {__builtin_bswap64(10050)}, 8, &got));
	AE_CHECK(got.len == AE_BTREE_INLINE_MAX + 1);
	AE_OKAY(ae_wal_scan(x.eng, AE_WAL_START_LSN, count_many, &many, NULL));
	AE_CHECK(many <= 200 + 2 * s.leaf_pages + 2);	/* per batch, plus one per leaf boundary */
	ae_bytes_free(&got);
	fx_close(&x);
}

/*
 * Torn pages are rebuilt by replay from their first record when it rebuilds
 * the page from nothing (AE_REC_PAGE_INIT: split PAGE_BUILD, overflow INIT).
 */
static void
test_replay_torn_pages(void)
{
	fx			x;
	ae_btree_info info;
	char		path[128],
				junk[4096];
	static char big[20000];
	ae_bytes	got = {0};
	FILE	   *f;

	AE_OKAY(fx_open(&x, 64));
	fill(big, 3, sizeof(big));
	AE_OKAY(ae_btree_insert(&x.t, "", 0, big, sizeof(big)));	/* blocks 2..4: a chain */
	for (uint64_t i = 0; i < 3000; i++)
		AE_OKAY(put_be(&x, i, 60));
	AE_OKAY(ae_btree_get_info(&x.t, &info));
	AE_OKAY(ae_wal_flush(x.eng, ae_wal_insert_lsn(x.eng)));
	AE_OKAY(ae_buf_flush_all(x.eng));
	ae_buf_discard_all(x.eng);
	/* tear an overflow page and the last leaf a split built */
	snprintf(path, sizeof(path), "%s/1_2_3", x.dir);
	memset(junk, 0x5a, sizeof(junk));
	AE_REQUIRE((f = fopen(path, "r+b")) != NULL);
	AE_CHECK(fseek(f, 3L * 8192 + 4096, SEEK_SET) == 0 && fwrite(junk, 1, 4096, f) == 4096);
	AE_CHECK(fseek(f, (long) (info.npages - 1) * 8192 + 4096, SEEK_SET) == 0 &&
			 fwrite(junk, 1, 4096, f) == 4096);
	fclose(f);
	AE_OKAY(ae_wal_replay(x.eng, AE_WAL_START_LSN, NULL, NULL));
	AE_OKAY(ae_buf_flush_all(x.eng));	/* verify checks the checksums on disk */
	AE_CHECK(verify_all(&x) == 3001);
	AE_OKAY(ae_btree_get(&x.t, "", 0, &got));
	AE_CHECK(got.len == sizeof(big) && memcmp(got.data, big, sizeof(big)) == 0);
	for (uint64_t i = 0; i < 3000; i++)
		AE_CHECK(has_be(&x, i, 60, &got));
	ae_bytes_free(&got);
	fx_close(&x);
}

/* ----------------------------------------------------- checkpoint, recovery */

/* Tear (overwrite the second half of) every other block on disk whose LSN is past lsn. */
static int
tear_pages_after(fx *x, ae_lsn lsn)
{
	char		path[128],
				page[AE_PAGE_SIZE],
				junk[AE_PAGE_SIZE / 2];
	FILE	   *f;
	int			torn = 0,
				seen = 0;

	snprintf(path, sizeof(path), "%s/1_2_3", x->dir);
	memset(junk, 0xa5, sizeof(junk));
	if (!(f = fopen(path, "r+b")))
		return -1;
	for (long blk = 0; fseek(f, blk * AE_PAGE_SIZE, SEEK_SET) == 0 &&
		 fread(page, 1, AE_PAGE_SIZE, f) == AE_PAGE_SIZE; blk++)
	{
		if (ae_page_hdr(page)->lsn <= lsn || seen++ % 2)
			continue;
		if (fseek(f, blk * AE_PAGE_SIZE + AE_PAGE_SIZE / 2, SEEK_SET) != 0 ||
			fwrite(junk, 1, sizeof(junk), f) != sizeof(junk))
			break;
		torn++;
	}
	fclose(f);
	return torn;
}

/*
 * A checkpoint, more work (pages evicted and written, some torn on disk),
 * then a crash that loses the pool: recovery from the control file's redo
 * point gives the model's tree, torn pages repaired from the full-page
 * images the first change after the checkpoint logged (W5). A crash right
 * after recovery and a second recovery change nothing; a clean shutdown
 * leaves nothing to redo.
 */
static void
test_checkpoint_recovery(void)
{
	fx			x;
	ae_checkpoint_info ci;
	ae_recovery_info ri;
	ae_engine_stats st;
	ae_control	c;
	static char vbuf[AE_BTREE_INLINE_MAX + 40000];
	int			torn;
	uint64_t	images;

	memset(model, 0, sizeof(model));
	AE_OKAY(fx_open(&x, 64));
	AE_CHECK(ae_recover(x.eng, &ri) == AE_INVALID);	/* the tree's creation is not durable yet */
	AE_OKAY(ae_wal_flush(x.eng, ae_wal_insert_lsn(x.eng)));
	AE_OKAY(ae_recover(x.eng, &ri));
	AE_CHECK(ri.fresh && !ri.clean);
	AE_REQUIRE(run_model(&x, 20000, 0));
	AE_OKAY(ae_wal_note(x.eng, 1000));
	AE_OKAY(ae_checkpoint(x.eng, false, &ci));
	AE_CHECK(ci.pages_written > 0 && ci.redo_lsn > AE_WAL_START_LSN);
	AE_OKAY(ae_wal_note(x.eng, 700));	/* notes only grow */
	AE_CHECK(ae_wal_note_max(x.eng) == 1000);
	AE_OKAY(ae_control_read(x.eng, &c));
	AE_CHECK(c.redo_lsn == ci.redo_lsn && c.state == AE_STATE_RUNNING && c.end_lsn >= c.redo_lsn);
	ae_engine_get_stats(x.eng, &st);
	images = st.wal_page_images;
	AE_REQUIRE(run_model(&x, 20000, 0));
	ae_engine_get_stats(x.eng, &st);
	AE_CHECK(st.wal_page_images > images);	/* first changes after the redo point */
	AE_OKAY(ae_wal_flush(x.eng, ae_wal_insert_lsn(x.eng)));

	/* crash: the pool is lost, and pages written since the checkpoint are torn */
	ae_buf_discard_all(x.eng);
	torn = tear_pages_after(&x, ci.redo_lsn);
	AE_CHECK(torn > 0);
	AE_OKAY(ae_recover(x.eng, &ri));
	AE_CHECK(!ri.fresh && !ri.clean && ri.redo_lsn == ci.redo_lsn && ri.records > 100);
	AE_CHECK(ri.note == 1000);	/* from the control file */
	AE_CHECK(model_compare(&x, vbuf));
	AE_OKAY(ae_wal_note(x.eng, 5000));
	AE_OKAY(ae_wal_flush(x.eng, ae_wal_insert_lsn(x.eng)));

	/* a crash right after recovery: recovering again is harmless */
	ae_buf_discard_all(x.eng);
	AE_OKAY(ae_recover(x.eng, &ri));
	AE_CHECK(ri.note == 5000);	/* replayed after the redo point */
	AE_CHECK(model_compare(&x, vbuf));

	/* the tree keeps working, and a shutdown checkpoint leaves nothing to redo */
	AE_CHECK(run_model(&x, 5000, 0));
	AE_OKAY(ae_checkpoint(x.eng, true, &ci));
	ae_buf_discard_all(x.eng);
	AE_OKAY(ae_recover(x.eng, &ri));
	AE_CHECK(ri.clean && ri.records == 0 && ri.redo_lsn == ci.redo_lsn);
	AE_CHECK(model_compare(&x, vbuf));
	fx_close(&x);
}

/* Work logged but not flushed when the crash comes is lost as a whole; the flushed prefix is kept. */
static void
test_recovery_unflushed_tail(void)
{
	fx			x;
	ae_recovery_info ri;
	ae_bytes	got = {0};
	ae_lsn		flushed;

	AE_OKAY(fx_open(&x, 64));
	AE_OKAY(ae_checkpoint(x.eng, false, NULL));
	for (uint64_t i = 0; i < 2000; i++)
		AE_OKAY(put_be(&x, i, 40));
	AE_OKAY(ae_wal_flush(x.eng, ae_wal_insert_lsn(x.eng)));
	flushed = ae_wal_flushed_lsn(x.eng);
	for (uint64_t i = 2000; i < 2100; i++)	/* stays in the log buffer */
		AE_OKAY(put_be(&x, i, 40));
	ae_buf_discard_all(x.eng);
	AE_OKAY(ae_recover(x.eng, &ri));
	AE_CHECK(ri.end_lsn == flushed);
	for (uint64_t i = 0; i < 2000; i++)
		AE_CHECK(has_be(&x, i, 40, &got));
	AE_CHECK(!has_be(&x, 2000, 40, &got) && !has_be(&x, 2099, 40, &got));
	AE_CHECK(verify_all(&x) == 2000);
	ae_bytes_free(&got);
	fx_close(&x);
}

/* A crash (the pool is lost), recovery, then the first reservation of one id. */
static ae_status
reserve_after_crash(fx *x, ae_recovery_info *ri, uint64_t *first)
{
	ae_status	st;

	ae_buf_discard_all(x->eng);
	if ((st = ae_recover(x->eng, ri)) != AE_OK)
		return st;
	return ae_btree_reserve_ids(&x->t, 1, first);
}

/*
 * Row ids escape the engine's log (the table AM puts them in index entries
 * that another log makes durable), so a crash that loses the tail holding a
 * reservation must not hand those ids out again. A reservation that passes
 * id_limit flushes the log before returning; the first reservation after a
 * restart starts at the limit, a clean restart too (the control file cannot
 * tell that nothing was lost after the shutdown checkpoint).
 */
static void
test_reserved_ids_survive_lost_tail(void)
{
	fx			x;
	ae_recovery_info ri;
	ae_btree_info info;
	uint64_t	first,
				prev,
				highest = 0;
	ae_lsn		durable;
	ae_bytes	got = {0};

	AE_OKAY(fx_open(&x, 64));
	AE_OKAY(ae_wal_flush(x.eng, ae_wal_insert_lsn(x.eng)));
	AE_OKAY(ae_recover(x.eng, &ri));
	AE_CHECK(ae_start_epoch(x.eng) > 0);	/* every start is a new epoch */

	/* the first reservation raises the limit: it is durable when it returns */
	AE_OKAY(ae_btree_reserve_ids(&x.t, 1, &first));
	AE_CHECK(ae_wal_flushed_lsn(x.eng) == ae_wal_insert_lsn(x.eng));
	highest = first;
	/*
	 * The ones under the limit are not even logged (a restart moves the
	 * counter to the limit), unless the metapage needs its image after a
	 * checkpoint; rows logged with them are not flushed.
	 */
	durable = ae_wal_flushed_lsn(x.eng);
	for (int i = 0; i < 100; i++)
	{
		AE_OKAY(ae_btree_reserve_ids(&x.t, 3, &first));
		AE_CHECK(first > highest);
		highest = first + 2;
	}
	AE_CHECK(ae_wal_insert_lsn(x.eng) == durable);
	AE_OKAY(ae_checkpoint(x.eng, false, NULL));
	durable = ae_wal_flushed_lsn(x.eng);
	AE_OKAY(ae_btree_reserve_ids(&x.t, 1, &first));	/* the first after the checkpoint: an image */
	AE_CHECK(first == highest + 1 && ae_wal_insert_lsn(x.eng) > durable);
	highest = first;
	durable = ae_wal_insert_lsn(x.eng);
	AE_OKAY(ae_btree_reserve_ids(&x.t, 1, &first));	/* then nothing again */
	AE_CHECK(first == highest + 1 && ae_wal_insert_lsn(x.eng) == durable);
	highest = first;
	AE_OKAY(put_be(&x, first, 40));	/* a row with that id, durable: its reservation is not */
	AE_OKAY(ae_wal_flush(x.eng, ae_wal_insert_lsn(x.eng)));
	AE_OKAY(ae_btree_reserve_ids(&x.t, 1, &first));
	highest = first;
	AE_OKAY(put_be(&x, 1, 40));	/* a row logged with them: not flushed */
	durable = ae_wal_flushed_lsn(x.eng);
	AE_CHECK(ae_wal_insert_lsn(x.eng) > durable);

	/* crash: the 100 reservations are lost, yet their ids are not handed out again */
	ae_buf_discard_all(x.eng);
	AE_OKAY(ae_recover(x.eng, &ri));
	AE_CHECK(!ri.clean && ri.end_lsn == durable);
	AE_CHECK(!has_be(&x, 1, 40, &got));
	AE_CHECK(has_be(&x, highest - 1, 40, &got) && verify_all(&x) == 1);
	ae_bytes_free(&got);
	/* the counter's readers see past every id that may be in use, the durable row's too */
	AE_OKAY(ae_btree_get_info(&x.t, &info));
	AE_OKAY(ae_btree_peek_ids(&x.t, &prev));
	AE_CHECK(info.next_id > highest && prev == info.next_id);
	AE_OKAY(ae_btree_reserve_ids(&x.t, 1, &first));
	AE_CHECK(first == info.next_id && first <= highest + 4096 + 1);
	highest = first;

	/* a crash right after that, losing it too, still skips it */
	AE_OKAY(reserve_after_crash(&x, &ri, &first));
	AE_CHECK(first > highest);
	highest = first;

	/* a reservation bigger than the slack raises the limit past itself */
	AE_OKAY(ae_btree_reserve_ids(&x.t, 100000, &first));
	AE_CHECK(first == highest + 1 && ae_wal_flushed_lsn(x.eng) == ae_wal_insert_lsn(x.eng));
	highest = first + 100000 - 1;
	AE_OKAY(reserve_after_crash(&x, &ri, &first));
	AE_CHECK(first > highest);
	prev = first;

	/*
	 * A crash, no reservation in that run, then a clean stop: the first
	 * reservation after the clean start still skips what the crash lost.
	 */
	AE_OKAY(ae_btree_reserve_ids(&x.t, 5, &first));
	AE_CHECK(first == prev + 1);
	highest = first + 4;
	ae_buf_discard_all(x.eng);
	AE_OKAY(ae_recover(x.eng, &ri));
	AE_OKAY(ae_checkpoint(x.eng, true, NULL));
	AE_OKAY(reserve_after_crash(&x, &ri, &first));
	AE_CHECK(ri.clean && ae_start_epoch(x.eng) > 0);
	AE_CHECK(first > highest);
	highest = first;

	/*
	 * Logged after the shutdown checkpoint and lost (a backend still busy in
	 * a fast shutdown): the control file says clean, the ids are skipped all
	 * the same.
	 */
	AE_OKAY(ae_checkpoint(x.eng, true, NULL));
	AE_OKAY(ae_btree_reserve_ids(&x.t, 2, &first));
	AE_CHECK(first == highest + 1);
	highest = first + 1;
	AE_OKAY(reserve_after_crash(&x, &ri, &first));
	AE_CHECK(ri.clean);
	AE_CHECK(first > highest);
	AE_CHECK(verify_all(&x) == 1);
	fx_close(&x);
}

/* A damaged control file or a missing log stops recovery with AE_CORRUPT; nothing is replayed. */
static void
test_recovery_refuses_damage(void)
{
	fx			x;
	ae_recovery_info ri;
	char		path[160];
	FILE	   *f;
	ae_status	st;

	AE_OKAY(fx_open(&x, 64));
	AE_OKAY(ae_checkpoint(x.eng, false, NULL));
	for (uint64_t i = 0; i < 500; i++)
		AE_OKAY(put_be(&x, i, 40));
	/* a checkpoint whose end position is past its redo point: log written meanwhile */
	AE_OKAY(ae_wal_flush(x.eng, ae_wal_insert_lsn(x.eng)));
	ae_buf_discard_all(x.eng);

	/* the worker's once-a-second note: the log is durable up to here */
	{
		ae_control	c;

		AE_OKAY(ae_control_advance_end(x.eng));
		AE_OKAY(ae_control_read(x.eng, &c));
		AE_CHECK(c.end_lsn == ae_wal_flushed_lsn(x.eng) && c.end_lsn > c.redo_lsn);
	}
	/* the log file is gone, though the control file says it held records up to end_lsn */
	snprintf(path, sizeof(path), "%s/log.%016x", x.dir, 0);
	AE_CHECK(truncate(path, 0) == 0);	/* (the host keeps it open: unlink would not show) */
	st = ae_recover(x.eng, &ri);
	AE_CHECK(st == AE_CORRUPT && strstr(ae_error_last()->message, "missing or damaged"));

	/* a control file with a flipped byte */
	snprintf(path, sizeof(path), "%s/control", x.dir);
	AE_REQUIRE((f = fopen(path, "r+b")) != NULL);
	AE_CHECK(fseek(f, 17, SEEK_SET) == 0 && fputc(0x7f, f) != EOF);
	fclose(f);
	st = ae_recover(x.eng, &ri);
	AE_CHECK(st == AE_CORRUPT && strstr(ae_error_last()->message, "checksum"));
	fx_close(&x);
}

/*
 * R7: 200 "transactions" (a row, then a host record standing for its
 * commit, flushed), then 20 more whose log is written but never synced.
 * Sets *mid to the LSN of transaction 100's row and *synced_end to where
 * the synced log ends. The control file's durable end stays at the checkpoint
 * taken first, so only the hints tell damage from a torn tail.
 */
static void
hinted_log(fx *x, ae_lsn *mid, ae_lsn *synced_end)
{
	ae_lsn		end = 0;

	AE_OKAY(ae_checkpoint(x->eng, false, NULL));
	for (uint64_t i = 0; i < 220; i++)
	{
		if (i == 100)
			*mid = ae_wal_insert_lsn(x->eng);
		AE_OKAY(put_be(x, i, 40));
		AE_OKAY(ae_wal_log_host(x->eng, 1, &i, sizeof(i), &end));
		if (i < 200)
			AE_OKAY(ae_wal_flush(x->eng, end));
		else
			AE_OKAY(ae_wal_write(x->eng, end));		/* in the file, not synced */
		if (i == 199)
			*synced_end = ae_wal_flushed_lsn(x->eng);
	}
	ae_buf_discard_all(x->eng);	/* the crash: every dirty page is lost */
}

/* Flip the log byte at lsn (posix host: one file per segment). */
static void
damage_log_byte(fx *x, ae_lsn lsn)
{
	char		path[160];
	FILE	   *f;
	int			c;

	snprintf(path, sizeof(path), "%s/log.%016llx", x->dir,
			 (unsigned long long) (lsn / AE_POSIX_LOG_SEGMENT));
	AE_REQUIRE((f = fopen(path, "r+b")) != NULL);
	AE_CHECK(fseek(f, (long) (lsn % AE_POSIX_LOG_SEGMENT), SEEK_SET) == 0);
	c = fgetc(f);
	AE_CHECK(fseek(f, (long) (lsn % AE_POSIX_LOG_SEGMENT), SEEK_SET) == 0 && fputc(c ^ 0x5a, f) != EOF);
	fclose(f);
}

/*
 * Damage in log that was durable is refused even where the control file
 * does not reach (the last second before a crash): later intact records
 * say how far the log was durable when they were made. Damage in log that
 * was never synced is a torn tail: recovery ends there, and the tree holds
 * exactly the transactions before it.
 */
static void
test_recovery_refuses_damage_before_hint(void)
{
	fx			x;
	ae_recovery_info ri;
	ae_lsn		synced,
				mid;
	ae_status	st;
	ae_bytes	got = {0};
	bool		ok = true;

	AE_OKAY(fx_open(&x, 64));
	hinted_log(&x, &mid, &synced);
	damage_log_byte(&x, mid + 20);	/* inside the header of transaction 100's first record */
	st = ae_recover(x.eng, &ri);
	AE_CHECK(st == AE_CORRUPT && strstr(ae_error_last()->message, "the log is damaged at LSN"));
	fx_close(&x);

	AE_OKAY(fx_open(&x, 64));
	hinted_log(&x, &mid, &synced);
	damage_log_byte(&x, synced + 20);	/* the first record that was never synced */
	AE_OKAY(ae_recover(x.eng, &ri));
	AE_CHECK(ri.end_lsn == synced);
	for (uint64_t i = 0; i < 220; i++)
		ok &= has_be(&x, i, 40, &got) == (i < 200);
	AE_CHECK(ok);
	ae_bytes_free(&got);
	fx_close(&x);
}

/*
 * Compressed full-page images: after a checkpoint, the first change of each
 * leaf logs a zstd image, much smaller than the page; torn pages on disk
 * are rebuilt from them by recovery. A compressed image whose frame does
 * not give exactly the page's bytes is refused as corrupt.
 */
static void
test_compressed_images(void)
{
	fx			x;
	ae_recovery_info ri;
	ae_engine_stats s0,
				s1;
	ae_btree_info info;
	char		path[128],
				junk[4096];
	ae_bytes	got = {0};
	bool		ok = true;
	FILE	   *f;
	ae_buf	   *b;
	uint32_t	leaves[64];
	int			nleaves = 0;

	ae_wal_set_image_compression(true);
	AE_OKAY(fx_open(&x, 64));
	for (uint64_t i = 0; i < 3000; i++)
		AE_OKAY(put_be(&x, i, 60));
	AE_OKAY(ae_checkpoint(x.eng, false, NULL));
	ae_engine_get_stats(x.eng, &s0);
	for (uint64_t i = 0; i < 3000; i += 10)	/* touches every leaf */
	{
		uint64_t	be = __builtin_bswap64(i);
		char		v[64];

		memset(v, 'a' + (int) (i % 26), sizeof(v));		/* has_be's value, one byte longer */
		memcpy(v, &i, 8);
		AE_OKAY(ae_btree_put(&x.t, &be, 8, v, 61));
	}
	ae_engine_get_stats(x.eng, &s1);
	AE_CHECK(s1.wal_page_images - s0.wal_page_images >= 10);
	/* plain images alone would be more than 4 KB each (the leaves are full) */
	AE_CHECK(s1.wal_bytes - s0.wal_bytes < (s1.wal_page_images - s0.wal_page_images) * 2048);
	AE_OKAY(ae_wal_flush(x.eng, ae_wal_insert_lsn(x.eng)));
	AE_OKAY(ae_btree_get_info(&x.t, &info));
	for (uint32_t blk = 1; blk < info.npages && nleaves < 64; blk++)
	{
		AE_OKAY(ae_buf_read(x.eng, x.f, blk, AE_LATCH_SHARED, 0, &b));
		if (ae_page_opq(ae_buf_page(b))->kind == AE_PAGE_BTREE_LEAF)
			leaves[nleaves++] = blk;
		ae_buf_release(b);
	}
	AE_CHECK(nleaves >= 10);
	AE_OKAY(ae_buf_flush_all(x.eng));
	ae_buf_discard_all(x.eng);
	/* tear every leaf: only their images can rebuild them */
	snprintf(path, sizeof(path), "%s/1_2_3", x.dir);
	memset(junk, 0x5a, sizeof(junk));
	AE_REQUIRE((f = fopen(path, "r+b")) != NULL);
	for (int i = 0; i < nleaves; i++)
		AE_CHECK(fseek(f, (long) leaves[i] * 8192 + 4096, SEEK_SET) == 0 &&
				 fwrite(junk, 1, 4096, f) == 4096);
	fclose(f);
	AE_OKAY(ae_recover(x.eng, &ri));
	for (uint64_t i = 0; i < 3000; i++)
		ok &= has_be(&x, i, i % 10 == 0 ? 61 : 60, &got);
	AE_CHECK(ok);

	/* a compressed image of garbage */
	{
		char		rec[64];

		memset(rec, 0, 4);		/* no hole */
		memset(rec + 4, 0x77, sizeof(rec) - 4);
		AE_CHECK(forged_record_refused(&x, AE_RMGR_PAGE, AE_PAGE_REDO_IMAGE_ZSTD, rec, sizeof(rec),
									   "compressed image"));
	}
	ae_bytes_free(&got);
	fx_close(&x);
	ae_wal_set_image_compression(false);
}

/* ------------------------------------------------------- freeing empty leaves */

/* Count keys with a full scan, checking order; -1 on error or disorder. */
static int64_t
scan_count(fx *x, ae_scan_dir dir, int stable_mod, int64_t stable_max)
{
	ae_btree_cursor c;
	const void *k,
			   *v;
	size_t		kl,
				vl;
	uint64_t	prev = 0;
	int64_t		n = 0,
				stable = 0;
	ae_status	st = ae_btree_cursor_open(&c, &x->t, dir, 0, NULL, 0, false, NULL, 0, false);

	while (st == AE_OK && (st = ae_btree_cursor_next(&c, &k, &kl, &v, &vl)) == AE_OK)
	{
		uint64_t	be,
					i;

		memcpy(&be, k, 8);
		i = __builtin_bswap64(be);
		if (n > 0 && (dir == AE_FORWARD ? i <= prev : i >= prev))
		{
			ae_btree_cursor_close(&c);
			return -1;
		}
		stable += stable_mod && i % (uint64_t) stable_mod == 0 && (int64_t) i < stable_max;
		prev = i;
		n++;
	}
	ae_btree_cursor_close(&c);
	if (st != AE_NOT_FOUND)
		return -1;
	return stable_mod ? stable : n;
}

/*
 * F1..F4: a delete that empties a leaf (not the first, not the last) gives it
 * back to the free list; scans in both directions, verify and replay agree;
 * new keys in the emptied range reuse the freed pages.
 */
static void
test_free_emptied_leaves(void)
{
	fx			x;
	ae_btree_info a,
				b,
				c;
	ae_bytes	got = {0};

	AE_OKAY(fx_open(&x, 64));
	for (uint64_t i = 0; i < 20000; i++)
		AE_OKAY(put_be(&x, i, 60));
	AE_OKAY(ae_btree_get_info(&x.t, &a));
	for (uint64_t i = 1000; i < 19000; i++)
	{
		uint64_t	be = __builtin_bswap64(i);

		AE_OKAY(ae_btree_delete(&x.t, &be, 8));
	}
	AE_OKAY(ae_btree_get_info(&x.t, &b));
	AE_CHECK(b.nfree > 100 && b.npages == a.npages);
	AE_CHECK(verify_all(&x) == 2000);
	AE_CHECK(scan_count(&x, AE_FORWARD, 0, 0) == 2000);
	AE_CHECK(scan_count(&x, AE_BACKWARD, 0, 0) == 2000);
	for (uint64_t i = 1000; i < 19000; i += 2)
		AE_OKAY(put_be(&x, i, 60));
	AE_OKAY(ae_btree_get_info(&x.t, &c));
	AE_CHECK(c.npages <= a.npages + 2 && c.nfree < b.nfree);
	AE_CHECK(verify_all(&x) == 11000);

	/* the unlinks are logged: replay onto the lost pool gives the same tree */
	AE_OKAY(ae_wal_flush(x.eng, ae_wal_insert_lsn(x.eng)));
	ae_buf_discard_all(x.eng);
	AE_OKAY(ae_wal_replay(x.eng, AE_WAL_START_LSN, NULL, NULL));
	AE_CHECK(verify_all(&x) == 11000);
	for (uint64_t i = 0; i < 20000; i += 7)
		AE_CHECK(has_be(&x, i, 60, &got) == (i < 1000 || i >= 19000 || i % 2 == 0));
	ae_bytes_free(&got);
	fx_close(&x);
}

#define FREE_KEYS 40000
#define FREE_DELETERS 2
#define FREE_STABLE 1999		/* keys i % 1999 == 0 are never deleted */

static int
free_deleter(fx *x, int p)
{
	/* each deleter empties every other block of 500 keys, in its own order */
	for (int round = 0; round < 2; round++)
		for (uint64_t blk = (uint64_t) p; blk < FREE_KEYS / 500; blk += FREE_DELETERS)
			for (uint64_t j = 0; j < 500; j++)
			{
				uint64_t	i = blk * 500 + (round ? 499 - j : j);
				uint64_t	be = __builtin_bswap64(i);
				ae_status	st;

				if (i % FREE_STABLE == 0)
					continue;
				st = ae_btree_delete(&x->t, &be, 8);
				if (st != AE_OK && st != AE_NOT_FOUND)
				{
					fprintf(stderr, "  deleter %d: %s\n", p, ae_error_last()->message);
					return 1;
				}
				if (round == 1 && j % 3 == 0 && put_be(x, i, 60) != AE_OK)
					return 1;
			}
	return 0;
}

static int
free_reader(fx *x, int p)
{
	int64_t		stable = (FREE_KEYS + FREE_STABLE - 1) / FREE_STABLE;

	for (int n = 0; n < 12; n++)
	{
		int64_t		got = scan_count(x, n % 2 ? AE_BACKWARD : AE_FORWARD, FREE_STABLE, FREE_KEYS);

		if (got != stable)
		{
			fprintf(stderr, "  reader %d scan %d: %lld stable keys, want %lld\n", p, n,
					(long long) got, (long long) stable);
			return 1;
		}
	}
	return 0;
}

/* Leaves emptied and freed by some processes while others scan both ways. */
static void
test_free_leaves_multiprocess(void)
{
	fx			x;
	pid_t		pids[FREE_DELETERS + 2];
	ae_btree_info info;

	AE_OKAY(fx_open(&x, 128));
	for (uint64_t i = 0; i < FREE_KEYS; i++)
		AE_OKAY(put_be(&x, i, 60));
	fflush(NULL);
	for (int p = 0; p < FREE_DELETERS + 2; p++)
	{
		pids[p] = fork();
		AE_REQUIRE(pids[p] >= 0);
		if (pids[p] == 0)
			_exit(p < FREE_DELETERS ? free_deleter(&x, p) : free_reader(&x, p));
	}
	for (int p = 0; p < FREE_DELETERS + 2; p++)
	{
		int			status;

		AE_REQUIRE(waitpid(pids[p], &status, 0) == pids[p]);
		AE_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	AE_CHECK(verify_all(&x) >= 0);
	AE_CHECK(scan_count(&x, AE_FORWARD, FREE_STABLE, FREE_KEYS) == (FREE_KEYS + FREE_STABLE - 1) / FREE_STABLE);
	AE_OKAY(ae_btree_get_info(&x.t, &info));
	AE_CHECK(info.nfree > 0);
	fx_close(&x);
}

int
main(void)
{
	AE_RUN(test_point_ops);
	AE_RUN(test_splits_height3);
	AE_RUN(test_sequential_append_fill);
	AE_RUN(test_append_reserve_absorbs_growth);
	AE_RUN(test_tiny_items);
	AE_RUN(test_verify_detects);
	AE_RUN(test_ranges);
	AE_RUN(test_property_random);
	AE_RUN(test_swizzle_hot_path);
	AE_RUN(test_last_key_leaf);
	AE_RUN(test_meta_hint);
	AE_RUN(test_swizzle_multiprocess);
	AE_RUN(test_overflow_sizes);
	AE_RUN(test_overflow_1g);
	AE_RUN(test_replay);
	AE_RUN(test_replay_byte_identical);
	AE_RUN(test_replay_delta);
	AE_RUN(test_recovery_refuses_damage_before_hint);
	AE_RUN(test_compressed_images);
	AE_RUN(test_replay_torn_pages);
	AE_RUN(test_free_emptied_leaves);
	AE_RUN(test_free_leaves_multiprocess);
	AE_RUN(test_checkpoint_recovery);
	AE_RUN(test_recovery_unflushed_tail);
	AE_RUN(test_reserved_ids_survive_lost_tail);
	AE_RUN(test_recovery_refuses_damage);
	AE_RUN(test_multiprocess);
	AE_RUN(test_multiprocess_cas);
	AE_RUN(test_fastpath);
	AE_RUN(test_fastpath_multiprocess);
	AE_RUN(test_insert_batch);
	AE_RUN(test_insert_batch_append);
	return ae_test_summary();
}
