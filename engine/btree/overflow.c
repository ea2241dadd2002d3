/*
 * overflow.c — chains of overflow pages for values longer than
 * AE_BTREE_INLINE_MAX, and the AE_RMGR_OVERFLOW redo.
 *
 * A chain is written back to front (README O1): the last chunk first, so each
 * page is created complete (next link, chain id, payload) in one mtr and is
 * never changed again until it is freed. Each mtr holds two pins: the
 * metapage (allocation, chain id) and the new page. The leaf stub naming the
 * chain is inserted only after the whole chain is committed (O2).
 * Readers copy the stub under the leaf latch, release the leaf and then
 * follow the chain, checking kind and chain id on every page (O3): a page
 * freed or reused underneath is detected and the caller re-reads the key.
 */
#include <stdlib.h>
#include "btree_internal.h"

static bool
interrupted(ae_btree *t)
{
	const ae_host *h = ae_engine_host(t->eng);

	return h && h->interrupted && h->interrupted(h->ctx);
}

/* Make page an overflow page holding one chunk (also the redo of AE_OVF_REC_INIT). */
static bool
ovf_init_page(void *page, uint32_t next, uint64_t chain, const void *data, uint16_t len)
{
	ae_page_opaque *o;

	ae_page_init(page, AE_PAGE_OVERFLOW, 0);
	o = ae_page_opq(page);
	o->left = AE_NO_BLOCK;
	o->right = next;
	o->aux = chain;
	return ae_page_insert_item(page, 0, data, len);
}

/*
 * Create one chain page holding data (clen bytes) linked to next; takes a new
 * chain id into *chain if it is 0. Entry/exit: nothing held.
 */
static ae_status
ovf_write_page(ae_btree *t, uint64_t *chain, uint32_t next, const char *data,
			   uint32_t clen, uint32_t *blk)
{
	static char rec[12 + AE_BT_OVF_CHUNK];
	ae_buf	   *meta,
			   *b;
	ae_bt_meta *md;
	ae_mtr		m;
	bool		newid = (*chain == 0);
	ae_status	st = bt_meta_read(t, AE_LATCH_EXCLUSIVE, &meta);

	if (st != AE_OK)
		return st;
	md = bt_meta_ptr(ae_buf_page(meta));
	if (newid)
		*chain = md->next_chain++;	/* I11: chain ids are never reused */
	ae_mtr_begin(t->eng, &m);
	if ((st = bt_alloc_page(t, &m, meta, &b)) != AE_OK)
	{
		ae_mtr_abort(&m);
		if (newid)
			md->next_chain--, *chain = 0;
		ae_buf_release(meta);
		return st;
	}
	if (!ovf_init_page(ae_buf_page(b), next, *chain, data, (uint16_t) clen))
		assert(!"an overflow chunk always fits an empty page");
	memcpy(rec, &next, 4);
	memcpy(rec + 4, chain, 8);
	memcpy(rec + 12, data, clen);
	ae_mtr_log_init(&m, b, AE_RMGR_OVERFLOW, AE_OVF_REC_INIT, rec, 12 + clen);	/* O1: whole page */
	st = ae_mtr_commit(&m, NULL);
	*blk = ae_buf_block(b);
	ae_buf_release(b);
	ae_buf_release(meta);
	return st;
}

/*
 * Write val (len > AE_BTREE_INLINE_MAX) as a new chain; *out names it.
 * On failure the pages written so far are freed again.
 * Entry/exit: nothing held.
 */
ae_status
bt_ovf_write(ae_btree *t, const void *val, size_t len, bt_stub *out)
{
	size_t		nchunks = (len + AE_BT_OVF_CHUNK - 1) / AE_BT_OVF_CHUNK;
	uint32_t	next = AE_NO_BLOCK;
	uint64_t	chain = 0;
	ae_status	st = AE_OK;

	for (size_t i = nchunks; i-- > 0;)
	{
		size_t		off = i * AE_BT_OVF_CHUNK;
		uint32_t	clen = (uint32_t) (len - off < AE_BT_OVF_CHUNK ? len - off : AE_BT_OVF_CHUNK);
		uint32_t	blk;

		if (interrupted(t))
			st = ae_fail(AE_INTERRUPTED, t->file, AE_NO_BLOCK, "btree: interrupted");
		else
			st = ovf_write_page(t, &chain, next, (const char *) val + off, clen, &blk);
		if (st != AE_OK)
			break;
		next = blk;
	}
	out->first = next;
	out->len = len;
	out->chain = chain;
	if (st != AE_OK && next != AE_NO_BLOCK)
	{
		/* free the tail written so far; its length is whatever was written */
		bt_stub		partial = *out;

		(void) bt_ovf_free(t, &partial);
	}
	return st;
}

/* Read chain page blk shared; BT_RETRY if it is no longer page of chain. */
static ae_status
ovf_page(ae_btree *t, const bt_stub *s, uint32_t blk, int flags, ae_buf **out,
		 const char **data, uint16_t *len)
{
	ae_buf	   *b;
	ae_page_opaque *o;
	ae_status	st;

	if (blk == AE_NO_BLOCK)
		return ae_fail(AE_CORRUPT, t->file, AE_NO_BLOCK,
					   "btree: overflow chain %llu ends early", (unsigned long long) s->chain);
	if ((st = ae_buf_read(t->eng, t->file, blk, AE_LATCH_SHARED, flags, &b)) != AE_OK)
		return st == AE_NOT_FOUND ? BT_RETRY : st;
	o = ae_page_opq(ae_buf_page(b));
	if (o->kind != AE_PAGE_OVERFLOW || o->aux != s->chain || ae_page_nslots(ae_buf_page(b)) != 1)
	{
		ae_buf_release(b);
		return BT_RETRY;		/* O3 */
	}
	*data = ae_page_item(ae_buf_page(b), 0, len);
	*out = b;
	return AE_OK;
}

/*
 * Walk the chain of s; per page call visit (copy or compare). Stops early
 * when *stop is set. Returns BT_RETRY when a page is not (any more) part of
 * the chain. Entry/exit: no chain page held (the caller may hold its leaf).
 */
static ae_status
ovf_walk(ae_btree *t, const bt_stub *s, int flags, char *copy, const char *cmp, bool *eq)
{
	uint32_t	blk = s->first;
	uint64_t	got = 0;

	while (got < s->len)
	{
		ae_buf	   *b = NULL;
		const char *data = NULL;
		uint16_t	len = 0;
		ae_status	st = ovf_page(t, s, blk, flags, &b, &data, &len);

		if (st != AE_OK)
			return st;
		if (len == 0 || got + len > s->len)
		{
			ae_buf_release(b);
			return ae_fail(AE_CORRUPT, t->file, blk, "btree: overflow page too long");
		}
		if (copy)
			memcpy(copy + got, data, len);
		else if (memcmp(cmp + got, data, len) != 0)
			*eq = false;
		got += len;
		blk = ae_page_opq(ae_buf_page(b))->right;
		ae_buf_release(b);
		if (eq && !*eq)
			return AE_OK;
	}
	if (blk != AE_NO_BLOCK)
		return ae_fail(AE_CORRUPT, t->file, blk, "btree: overflow chain too long");
	return AE_OK;
}

/* Copy the value of stub s into out. BT_RETRY: re-read the key (O3). Nothing held. */
ae_status
bt_ovf_read(ae_btree *t, const bt_stub *s, int flags, ae_bytes *out)
{
	ae_status	st = ae_bytes_reserve(out, s->len);

	if (st != AE_OK)
		return st;
	st = ovf_walk(t, s, flags, out->data, NULL, NULL);
	if (st == AE_OK)
		out->len = s->len;
	return st;
}

/*
 * *eq = the stored value of s equals val. The caller holds the leaf holding
 * s latched (exclusive), so the chain cannot be freed (O4): BT_RETRY here
 * means corruption.
 */
ae_status
bt_ovf_equal(ae_btree *t, const bt_stub *s, const void *val, size_t len, bool *eq)
{
	ae_status	st;

	*eq = (len == s->len);
	if (!*eq)
		return AE_OK;
	st = ovf_walk(t, s, 0, NULL, val, eq);
	if (st == BT_RETRY)
		return ae_fail(AE_CORRUPT, t->file, s->first,
					   "btree: overflow chain %llu of a live stub is broken",
					   (unsigned long long) s->chain);
	return st;
}

/*
 * Push every page of chain s on the free list, one mtr per page (meta, page).
 * The stub must no longer be reachable (O5). Entry/exit: nothing held.
 */
ae_status
bt_ovf_free(ae_btree *t, const bt_stub *s)
{
	uint32_t	blk = s->first;

	while (blk != AE_NO_BLOCK)
	{
		ae_buf	   *meta,
				   *b;
		ae_mtr		m;
		ae_page_opaque *o;
		ae_status	st = bt_meta_read(t, AE_LATCH_EXCLUSIVE, &meta);

		if (st != AE_OK)
			return st;
		if ((st = ae_buf_read(t->eng, t->file, blk, AE_LATCH_EXCLUSIVE, 0, &b)) != AE_OK)
		{
			ae_buf_release(meta);
			return st;
		}
		o = ae_page_opq(ae_buf_page(b));
		if (o->kind != AE_PAGE_OVERFLOW || o->aux != s->chain)
		{
			ae_buf_release(b);
			ae_buf_release(meta);
			return ae_fail(AE_CORRUPT, t->file, blk, "btree: freeing a page not of chain %llu",
						   (unsigned long long) s->chain);
		}
		blk = o->right;
		ae_mtr_begin(t->eng, &m);
		bt_free_page(&m, meta, b);
		st = ae_mtr_commit(&m, NULL);
		ae_buf_release(b);
		ae_buf_release(meta);
		if (st != AE_OK)
			return st;
	}
	return AE_OK;
}

/* Redo of AE_RMGR_OVERFLOW records: rebuild the page from the payload. */
ae_status
bt_ovf_redo(ae_engine *eng, const ae_log_record *rec, void *page)
{
	const char *p = ae_log_record_payload(rec);
	uint32_t	next;
	uint64_t	chain;

	if (rec->payload_len < 4)
		return ae_fail(AE_CORRUPT, rec->file, rec->block, "overflow redo: short record");
	memcpy(&next, p, 4);
	if (rec->type == AE_OVF_REC_FREE)
	{
		ae_page_init(page, AE_PAGE_FREE, 0);
		ae_page_opq(page)->left = AE_NO_BLOCK;
		ae_page_opq(page)->right = next;
		return AE_OK;
	}
	if (rec->type != AE_OVF_REC_INIT || rec->payload_len < 12 ||
		rec->payload_len - 12 > AE_BT_OVF_CHUNK)
		return ae_fail(AE_CORRUPT, rec->file, rec->block, "overflow redo: bad record");
	memcpy(&chain, p + 4, 8);
	if (!ovf_init_page(page, next, chain, p + 12, (uint16_t) (rec->payload_len - 12)))
		return ae_fail(AE_CORRUPT, rec->file, rec->block, "overflow redo: chunk does not fit");
	return AE_OK;
}
