/*
 * aether_utility.c — database-level commands that copy or remove relation
 * files behind the table AM's back (DESIGN §3):
 *
 *  - CREATE DATABASE copies the template's files: Aether's dirty pages are
 *    written first, so the copy holds every committed row, and the copy is
 *    made with STRATEGY FILE_COPY: the WAL_LOG strategy reads pages through
 *    shared buffers and stamps PostgreSQL LSNs into them, which would make
 *    Aether pages fail their checksum and confuse Aether's own LSNs.
 *  - ALTER DATABASE ... SET TABLESPACE moves the files: pages are written
 *    first and the cached ones, named by the old tablespace, dropped after.
 *  - DROP DATABASE removes the files: cached pages of that database are
 *    dropped so they are never written back.
 */
#include "postgres.h"

#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"

#include "aether.h"
#include "aether/buf.h"

static ProcessUtility_hook_type prev_utility_hook = NULL;

static void
flush_all(void)
{
	AETAM_CHECK(ae_buf_flush_all(aetam_engine()), NULL);
}

static bool
moves_tablespace(AlterDatabaseStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->options)
		if (strcmp(((DefElem *) lfirst(lc))->defname, "tablespace") == 0)
			return true;
	return false;
}

/* Make CREATE DATABASE copy files (STRATEGY FILE_COPY); ERROR if WAL_LOG was asked for. */
static PlannedStmt *
with_file_copy(PlannedStmt *pstmt, bool readOnlyTree)
{
	CreatedbStmt *stmt = (CreatedbStmt *) pstmt->utilityStmt;
	ListCell   *lc;

	foreach(lc, stmt->options)
	{
		DefElem    *opt = lfirst(lc);

		if (strcmp(opt->defname, "strategy") == 0)
		{
			if (pg_strcasecmp(defGetString(opt), "file_copy") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("CREATE DATABASE with STRATEGY %s cannot copy aether tables",
								defGetString(opt)),
						 errhint("Use STRATEGY FILE_COPY, the default when aether is loaded.")));
			return pstmt;
		}
	}
	if (readOnlyTree)
		pstmt = copyObject(pstmt);
	stmt = (CreatedbStmt *) pstmt->utilityStmt;
	stmt->options = lappend(stmt->options,
							makeDefElem("strategy", (Node *) makeString("file_copy"), -1));
	return pstmt;
}

static void
aether_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
			   ProcessUtilityContext context, ParamListInfo params,
			   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *node = pstmt->utilityStmt;
	Oid			dropped_db = InvalidOid;
	Oid			moved_db = InvalidOid;

	if (aetam_is_loaded())
	{
		if (IsA(node, CreatedbStmt))
		{
			pstmt = with_file_copy(pstmt, readOnlyTree);
			flush_all();
		}
		else if (IsA(node, DropdbStmt))
			dropped_db = get_database_oid(((DropdbStmt *) node)->dbname, true);
		else if (IsA(node, AlterDatabaseStmt) && moves_tablespace((AlterDatabaseStmt *) node))
		{
			moved_db = get_database_oid(((AlterDatabaseStmt *) node)->dbname, true);
			flush_all();
		}
	}

	if (prev_utility_hook)
		prev_utility_hook(pstmt, queryString, readOnlyTree, context, params,
						  queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);

	if (OidIsValid(dropped_db))
		ae_buf_drop_db(aetam_engine_nowait(), dropped_db);
	if (OidIsValid(moved_db))
		ae_buf_drop_db(aetam_engine_nowait(), moved_db);
}

void
aetam_utility_init(void)
{
	prev_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = aether_utility;
}
