/*
 * aether_table.c — a table's B+tree, its row ids and whole-row fetches.
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"

#include "aether.h"

void
aetam_open_tree(Relation rel, ae_btree *tree)
{
	ae_btree_open(tree, aetam_engine(), aetam_file_id(&rel->rd_node), NULL);
}

/*
 * Row ids are reserved from the metapage counter in chunks. A chunk belongs
 * to the current transaction only (the cache is reset at transaction end), so
 * ids of a dropped and recreated file are never mixed. Chunks double while a
 * transaction keeps inserting, so single-row transactions waste nothing and
 * bulk loads touch the metapage rarely.
 */
typedef struct RowidChunk
{
	RelFileNode rnode;
	uint64		next;
	uint64		end;
	uint32		chunk;
} RowidChunk;

#define ROWID_CACHE_SIZE 16
#define ROWID_CHUNK_MAX 4096

static RowidChunk rowid_cache[ROWID_CACHE_SIZE];
static int	rowid_cache_used = 0;

void
aetam_rowid_cache_reset(void)
{
	rowid_cache_used = 0;
}

static RowidChunk *
rowid_chunk_for(Relation rel)
{
	for (int i = 0; i < rowid_cache_used; i++)
		if (RelFileNodeEquals(rowid_cache[i].rnode, rel->rd_node))
			return &rowid_cache[i];
	if (rowid_cache_used == ROWID_CACHE_SIZE)
		rowid_cache_used = 0;	/* forget reservations; ids are just skipped */
	rowid_cache[rowid_cache_used].rnode = rel->rd_node;
	rowid_cache[rowid_cache_used].next = rowid_cache[rowid_cache_used].end = 0;
	rowid_cache[rowid_cache_used].chunk = 0;
	return &rowid_cache[rowid_cache_used++];
}

/* Return the first of nwanted consecutive fresh row ids of rel. */
uint64
aetam_next_rowid(Relation rel, int nwanted)
{
	RowidChunk *c = rowid_chunk_for(rel);
	uint64		first;

	if (c->end - c->next < (uint64) nwanted)
	{
		ae_btree	tree;
		uint64		take;

		c->chunk = c->chunk == 0 ? 1 : Min(c->chunk * 2, ROWID_CHUNK_MAX);
		take = Max((uint64) nwanted, c->chunk);
		aetam_open_tree(rel, &tree);
		AETAM_CHECK(ae_btree_reserve_ids(&tree, take, &first), rel);
		c->next = first;
		c->end = first + take;
	}
	first = c->next;
	c->next += nwanted;
	aetam_undo_note(rel, first, nwanted);	/* removed in the background if we roll back */
	aetam_undo_note_inserting(rel, first);	/* ... or are in flight at a crash */
	return first;
}

/* Fetch the version list of rowid into *out. False if the row id holds nothing. */
bool
aetam_fetch_row(Relation rel, uint64 rowid, ae_bytes *out)
{
	ae_btree	tree;
	unsigned char key[8];
	ae_status	st;

	aetam_open_tree(rel, &tree);
	ae_row_key(rowid, key);
	st = ae_btree_get(&tree, key, sizeof(key), out);
	if (st == AE_NOT_FOUND)
		return false;
	if (st != AE_OK)
		aetam_raise(st, rel);
	return true;
}

/* Engine buffers are malloc'd; free them when the owning memory context goes. */
static void
free_bytes_callback(void *arg)
{
	ae_bytes_free((ae_bytes *) arg);
}

void
aetam_bytes_in_context(ae_bytes *bytes, MemoryContext cxt)
{
	MemoryContextCallback *cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));

	memset(bytes, 0, sizeof(*bytes));
	cb->func = free_bytes_callback;
	cb->arg = bytes;
	MemoryContextRegisterResetCallback(cxt, cb);
}
