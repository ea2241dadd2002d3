/*
 * aether_error.c — the one place where engine statuses become SQLSTATEs.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/lsyscache.h"

#include "aether.h"

static int
sqlstate_of(ae_status st)
{
	switch (st)
	{
		case AE_CORRUPT:
			return ERRCODE_DATA_CORRUPTED;
		case AE_IO_ERROR:
			return ERRCODE_IO_ERROR;
		case AE_DISK_FULL:
			return ERRCODE_DISK_FULL;
		case AE_NO_MEMORY:
			return ERRCODE_OUT_OF_MEMORY;
		case AE_POOL_FULL:
			return ERRCODE_INSUFFICIENT_RESOURCES;
		case AE_TOO_LARGE:
			return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
		case AE_INTERRUPTED:
			return ERRCODE_QUERY_CANCELED;
		case AE_INVALID:
		case AE_INTERNAL:
		default:
			return ERRCODE_INTERNAL_ERROR;
	}
}

/*
 * Raise the engine's last error. No engine pin or latch is held here (every
 * engine call returns with none), so unwinding is safe.
 */
void
aetam_raise(ae_status st, Relation rel)
{
	const ae_error *err = ae_error_last();
	const char *relname = rel ? RelationGetRelationName(rel) : NULL;

	if (st == AE_INTERRUPTED)
		CHECK_FOR_INTERRUPTS();

	if (relname && err->block != AE_NO_BLOCK)
		ereport(ERROR,
				(errcode(sqlstate_of(st)),
				 errmsg("aether: %s", err->message),
				 errcontext("relation \"%s\", block %u", relname, err->block)));
	else if (relname)
		ereport(ERROR,
				(errcode(sqlstate_of(st)),
				 errmsg("aether: %s", err->message),
				 errcontext("relation \"%s\"", relname)));
	ereport(ERROR,
			(errcode(sqlstate_of(st)),
			 errmsg("aether: %s", err->message)));
}
