/*
 * aether/btree.h — B+tree over byte-string keys with a pluggable comparator.
 *
 * One B+tree per relation file. Block 0 is the metapage (root block, tree
 * height, page high-water mark, free-page list head, a 64-bit id counter and
 * two user counters). Leaves hold (key, value) items in key order and are
 * linked both ways. Values longer than AE_BTREE_INLINE_MAX move to a chain of
 * overflow pages; the leaf keeps a small stub, and the chain is freed when the
 * value is deleted or replaced. Freed pages go on the free list and are reused
 * before the file is extended. Keys must not exceed AE_BTREE_MAX_KEY.
 *
 * Concurrency: latch coupling (crabbing) from the metapage down; readers take
 * shared latches, writers take exclusive latches on the path that may split.
 * Safe for many processes at once. Every call returns with no pin or latch held.
 *
 * Memory: results are copied into ae_bytes buffers that the engine grows with
 * malloc/realloc; the caller owns them and frees them with ae_bytes_free().
 */
#ifndef AETHER_BTREE_H
#define AETHER_BTREE_H

#include "aether/engine.h"
#include "aether/page.h"

#define AE_BTREE_MAX_KEY		1024
#define AE_BTREE_INLINE_MAX		2000	/* longer values go to overflow pages */
#define AE_BTREE_MAX_VALUE		((size_t) 1 << 31)	/* 2 GiB */

typedef struct ae_bytes
{
	char	   *data;
	size_t		len;
	size_t		cap;
} ae_bytes;

ae_status	ae_bytes_reserve(ae_bytes *b, size_t cap);
void		ae_bytes_free(ae_bytes *b);

/* Returns <0, 0, >0. Must be a total order; must not fail. */
typedef int (*ae_key_cmp) (const void *a, size_t alen, const void *b, size_t blen);

/* memcmp order, shorter prefix first (the default). */
int			ae_key_cmp_bytes(const void *a, size_t alen, const void *b, size_t blen);

typedef struct ae_btree
{
	ae_engine  *eng;
	ae_file_id	file;
	ae_key_cmp	cmp;
	uint32_t	meta_hint;		/* frame last seen holding the metapage (ae_buf_read_hint) */
} ae_btree;

/*
 * Gets and writes this process served from a recently used leaf without a
 * descent (btree/README.md W7); for tests and diagnostics.
 */
uint64_t	ae_btree_recent_leaf_hits(void);

/* Initialise an empty tree in an empty file (writes metapage and root leaf, logged). */
ae_status	ae_btree_create(ae_engine *eng, ae_file_id file);

/* A process-local handle; no I/O. cmp NULL means ae_key_cmp_bytes. */
void		ae_btree_open(ae_btree *t, ae_engine *eng, ae_file_id file, ae_key_cmp cmp);

/* Insert a new key. AE_EXISTS if present (tree unchanged). */
ae_status	ae_btree_insert(ae_btree *t, const void *key, size_t klen,
							const void *val, size_t vlen);

/*
 * Insert n new keys (COPY, multi_insert). keys[0..n-1] must be strictly
 * ascending under t's comparator; vals[i] may be NULL when vlens[i] is 0.
 * Keys are inserted in order, each leaf filled with as many as fit under one
 * latch and one log record; values longer than AE_BTREE_INLINE_MAX go to
 * overflow pages as with ae_btree_insert. *ninserted (ninserted may be NULL)
 * is always set to how many leading keys were inserted; they stay inserted
 * whatever the status:
 *   AE_OK       all n (n == 0 is fine)
 *   AE_EXISTS   keys[*ninserted] is already present; the keys after it were
 *               not tried
 *   AE_INVALID, AE_TOO_LARGE   bad arguments (not ascending, NULL arrays, a
 *               key or value too long): checked first, *ninserted == 0
 *   other       an error after *ninserted keys (e.g. AE_POOL_FULL)
 */
ae_status	ae_btree_insert_batch(ae_btree *t, int n, const void *const *keys,
								  const size_t *klens, const void *const *vals,
								  const size_t *vlens, int *ninserted);

/* Insert or replace. */
ae_status	ae_btree_put(ae_btree *t, const void *key, size_t klen,
						 const void *val, size_t vlen);

/*
 * Copy the value of key into *out. AE_NOT_FOUND if absent. out->data is
 * malloc'd (or realloc'd) by the engine, so the value starts 8-byte aligned.
 */
ae_status	ae_btree_get(ae_btree *t, const void *key, size_t klen, ae_bytes *out);

/*
 * Replace the value of key with newval only if its current value equals
 * expected (byte for byte). AE_CONFLICT if it differs, AE_NOT_FOUND if absent.
 * newval == NULL deletes the key under the same condition.
 */
ae_status	ae_btree_cas(ae_btree *t, const void *key, size_t klen,
						 const void *expected, size_t elen,
						 const void *newval, size_t nlen);

/* Delete key. AE_NOT_FOUND if absent. */
ae_status	ae_btree_delete(ae_btree *t, const void *key, size_t klen);

/* Atomically add n to the metapage id counter; *first = value before the add. Logged. */
ae_status	ae_btree_reserve_ids(ae_btree *t, uint64_t n, uint64_t *first);
/* Read the id counter (next unreserved id). */
ae_status	ae_btree_peek_ids(ae_btree *t, uint64_t *next);

typedef struct ae_btree_info
{
	uint32_t	height;			/* 1 = root is a leaf */
	uint32_t	npages;			/* high-water mark (file size in blocks) */
	uint32_t	nfree;			/* pages on the free list */
	uint64_t	next_id;
} ae_btree_info;

ae_status	ae_btree_get_info(ae_btree *t, ae_btree_info *out);

/*
 * Check the whole tree: key order within and across pages, sibling links,
 * levels, child bounds, checksums, overflow chains, free list. Returns
 * AE_CORRUPT with a message naming the first bad block.
 */
ae_status	ae_btree_verify(ae_btree *t, uint64_t *nkeys);

/*
 * ae_btree_verify with page counts. Pages below the high-water mark that are
 * neither in the tree, in an overflow chain nor on the free list are counted
 * in leaked_pages (a crash while an overflow chain was being written leaves
 * such pages); they are not an error. Run it on a quiescent tree: concurrent
 * writers can make it report false corruption.
 */
typedef struct ae_btree_verify_stats
{
	uint64_t	nkeys;
	uint32_t	leaf_pages;
	uint32_t	inner_pages;
	uint32_t	overflow_pages;
	uint32_t	free_pages;
	uint32_t	leaked_pages;
} ae_btree_verify_stats;

ae_status	ae_btree_verify_ex(ae_btree *t, ae_btree_verify_stats *out);

/* ---- cursors ---- */
typedef enum ae_scan_dir
{
	AE_FORWARD = 1,
	AE_BACKWARD = -1
} ae_scan_dir;

/*
 * A cursor copies one leaf's worth of items at a time into process-local
 * memory, so it holds no pin or latch between calls; concurrent inserts and
 * deletes elsewhere are allowed and the cursor continues after the last key
 * it returned (each key is returned at most once, in order).
 *
 * Alignment: every key and every value ae_btree_cursor_next returns starts
 * at an 8-byte aligned address, so callers may read a value in place as a
 * struct with 4- or 8-byte fields. In the batch (malloc'd, so aligned) each
 * item is an entry at an 8-byte aligned offset: u16 klen, u8 flags, u8 0,
 * u32 vlen, the key, zero padding to 8, the value, zero padding to 8.
 * Overflow values are assembled in `value` (malloc'd).
 */
typedef struct ae_btree_cursor
{
	ae_btree   *tree;
	ae_scan_dir dir;
	int			flags;			/* AE_BUF_SCAN for bulk scans */
	bool		started;
	bool		done;
	ae_bytes	lo;				/* bounds (len 0 and has_lo false: unbounded) */
	bool		has_lo, lo_incl;
	ae_bytes	hi;
	bool		has_hi, hi_incl;
	ae_bytes	last_key;		/* last key returned */
	bool		have_last;
	/* current batch */
	ae_bytes	batch;			/* items, each entry 8-byte aligned (see above) */
	uint32_t   *offsets;		/* entry offsets into batch (multiples of 8) */
	int			nitems, pos, cap_items;
	ae_bytes	value;			/* current value (overflow values are assembled here) */
} ae_btree_cursor;

/* lo/hi may be NULL (unbounded). flags: 0 or AE_BUF_SCAN. */
ae_status	ae_btree_cursor_open(ae_btree_cursor *c, ae_btree *t, ae_scan_dir dir, int flags,
								 const void *lo, size_t lolen, bool lo_incl,
								 const void *hi, size_t hilen, bool hi_incl);

/*
 * Next item in scan order. Pointers stay valid until the next call or close.
 * AE_NOT_FOUND at the end.
 */
ae_status	ae_btree_cursor_next(ae_btree_cursor *c, const void **key, size_t *klen,
								 const void **val, size_t *vlen);

void		ae_btree_cursor_close(ae_btree_cursor *c);

/* Register the B+tree and overflow redo functions (called once per process by ae_engine_create/attach). */
void		ae_btree_register_redo(void);

#endif
