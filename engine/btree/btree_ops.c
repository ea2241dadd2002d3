/*
 * btree_ops.c — the public write calls: insert, put, delete, cas. Each builds
 * the new leaf item (writing an overflow chain first when the value is long,
 * O2), runs it through bt_write and frees the chain that lost (O5).
 */
#include <stdlib.h>
#include "btree_internal.h"

static ae_status
check_args(ae_btree *t, const void *key, size_t klen, const void *val, size_t vlen)
{
	if ((klen && !key) || (vlen && !val))
		return ae_fail(AE_INVALID, t->file, AE_NO_BLOCK, "btree: NULL key or value");
	if (klen > AE_BTREE_MAX_KEY)
		return ae_fail(AE_TOO_LARGE, t->file, AE_NO_BLOCK,
					   "btree: key of %zu bytes exceeds %d", klen, AE_BTREE_MAX_KEY);
	if (vlen > AE_BTREE_MAX_VALUE)
		return ae_fail(AE_TOO_LARGE, t->file, AE_NO_BLOCK,
					   "btree: value of %zu bytes exceeds the maximum", vlen);
	return AE_OK;
}

/* True if key is present (a cheap check before writing a chain for insert). */
static bool
key_exists(ae_btree *t, const void *key, size_t klen)
{
	ae_buf	   *leaf;
	bool		found = false;

	if (bt_descend_read(t, key, klen, BT_SEEK_LE, 0, &leaf, NULL, NULL) != AE_OK)
		return false;			/* let the write report the error */
	(void) bt_leaf_search(t, ae_buf_page(leaf), key, klen, &found);
	ae_buf_release(leaf);
	return found;
}

/*
 * Build op's leaf item from val (NULL: delete), writing an overflow chain
 * for a long value, run op, then free whichever chain is no longer referenced.
 * Entry/exit: nothing held.
 */
ae_status
bt_write_value(ae_btree *t, bt_op *op, const void *val, size_t vlen)
{
	char		item[AE_BT_MAX_LEAF_ITEM];
	char		enc[AE_BT_STUB_SIZE];
	bt_stub		stub;
	bool		ovf = val && vlen > AE_BTREE_INLINE_MAX;
	ae_status	st;

	op->item = NULL;
	op->ilen = 0;
	if (ovf)
	{
		if (op->kind == BT_OP_INSERT && key_exists(t, op->key, op->klen))
			return AE_EXISTS;
		if ((st = bt_ovf_write(t, val, vlen, &stub)) != AE_OK)
			return st;
		bt_stub_encode(&stub, enc);
		op->ilen = bt_leaf_item_build(item, op->key, op->klen, AE_BT_ITEM_OVERFLOW,
									  enc, sizeof(enc));
		op->item = item;
	}
	else if (val || op->kind == BT_OP_INSERT || op->kind == BT_OP_PUT)
	{
		op->ilen = bt_leaf_item_build(item, op->key, op->klen, 0, val, vlen);
		op->item = item;
	}
	st = bt_write(t, op);
	if (st != AE_OK && ovf)
		(void) bt_ovf_free(t, &stub);	/* never referenced */
	if (st == AE_OK && op->old_ovf)
		st = bt_ovf_free(t, &op->old_stub);	/* O5: unreachable now */
	if (st == AE_OK && op->emptied)
		st = bt_free_empty_leaf(t, op->key, op->klen);	/* F1 */
	return st;
}

ae_status
ae_btree_insert(ae_btree *t, const void *key, size_t klen, const void *val, size_t vlen)
{
	bt_op		op = {.kind = BT_OP_INSERT, .key = key, .klen = klen};
	ae_status	st = check_args(t, key, klen, val, vlen);

	return st != AE_OK ? st : bt_write_value(t, &op, val ? val : "", vlen);
}

/*
 * Batch insert (README W6): check everything first (nothing is inserted on
 * AE_INVALID / AE_TOO_LARGE), then fill one leaf per bt_insert_run; a key
 * with a long value, or one that needs a split, goes through the single-key
 * path (overflow chain first, O2; the split puts the next keys on the new
 * rightmost leaf, where the following run continues).
 */
ae_status
ae_btree_insert_batch(ae_btree *t, int n, const void *const *keys, const size_t *klens,
					  const void *const *vals, const size_t *vlens, int *ninserted)
{
	bt_batch	b = {.n = n, .keys = keys, .klens = klens, .vals = vals, .vlens = vlens};
	ae_status	st = AE_OK;
	int			i = 0;

	if (ninserted)
		*ninserted = 0;
	if (n < 0 || (n > 0 && (!keys || !klens || !vals || !vlens)))
		return ae_fail(AE_INVALID, t->file, AE_NO_BLOCK, "btree: bad batch arguments");
	for (int j = 0; j < n; j++)
	{
		if ((st = check_args(t, keys[j], klens[j], vals[j], vlens[j])) != AE_OK)
			return st;
		if (j > 0 && t->cmp(keys[j - 1], klens[j - 1], keys[j], klens[j]) >= 0)
			return ae_fail(AE_INVALID, t->file, AE_NO_BLOCK,
						   "btree: batch keys not strictly ascending at %d", j);
	}
	while (i < n && st == AE_OK)
	{
		int			done = 0;

		if (vlens[i] <= AE_BTREE_INLINE_MAX)
		{
			st = bt_insert_run(t, &b, i, &done);
			i += done;
			if (done > 0 || st != AE_OK)
				continue;
		}
		/* a long value, or keys[i] does not fit its leaf: one key, maybe a split */
		st = ae_btree_insert(t, keys[i], klens[i], vals[i], vlens[i]);
		if (st == AE_OK)
			i++;
	}
	if (ninserted)
		*ninserted = i;
	return st;
}

ae_status
ae_btree_put(ae_btree *t, const void *key, size_t klen, const void *val, size_t vlen)
{
	bt_op		op = {.kind = BT_OP_PUT, .key = key, .klen = klen};
	ae_status	st = check_args(t, key, klen, val, vlen);

	return st != AE_OK ? st : bt_write_value(t, &op, val ? val : "", vlen);
}

ae_status
ae_btree_delete(ae_btree *t, const void *key, size_t klen)
{
	bt_op		op = {.kind = BT_OP_DELETE, .key = key, .klen = klen, .emptied = false};
	ae_status	st = check_args(t, key, klen, NULL, 0);

	return st != AE_OK ? st : bt_write_value(t, &op, NULL, 0);
}

/*
 * Compare-and-swap. expected is compared byte for byte with the whole stored
 * value (overflow values too: the chain is read under the leaf latch).
 */
ae_status
ae_btree_cas(ae_btree *t, const void *key, size_t klen,
			 const void *expected, size_t elen, const void *newval, size_t nlen)
{
	bt_op		op = {.kind = BT_OP_CAS, .key = key, .klen = klen,
	.expected = expected ? expected : "", .elen = elen};
	ae_status	st = check_args(t, key, klen, expected, elen);

	if (st == AE_OK && newval)
		st = check_args(t, key, klen, newval, nlen);
	return st != AE_OK ? st : bt_write_value(t, &op, newval, nlen);
}
