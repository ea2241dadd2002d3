-- aether--0.1.sql: the Aether table access method and its operator functions.
\echo Use "CREATE EXTENSION aether" to load this file. \quit

-- Fails with a hint when aether is not in shared_preload_libraries.
CREATE FUNCTION aether_check_preloaded() RETURNS void
    AS 'MODULE_PATHNAME', 'aether_check_preloaded' LANGUAGE C STRICT;
SELECT aether_check_preloaded();

CREATE FUNCTION aether_tableam_handler(internal) RETURNS table_am_handler
    AS 'MODULE_PATHNAME', 'aether_tableam_handler' LANGUAGE C STRICT;

CREATE ACCESS METHOD aether TYPE TABLE HANDLER aether_tableam_handler;
COMMENT ON ACCESS METHOD aether IS 'Aether: B+tree tables in Aether''s own buffer pool and log';

-- Engine statistics (buffer pool and log counters).
CREATE FUNCTION aether_stats(
    OUT pool_pages bigint, OUT pages_used bigint, OUT pages_dirty bigint,
    OUT reads bigint, OUT writes bigint, OUT hits bigint, OUT evictions bigint,
    OUT wal_records bigint, OUT wal_bytes bigint, OUT wal_flushes bigint,
    OUT wal_insert_lsn bigint, OUT wal_flushed_lsn bigint,
    OUT swizzle_hits bigint, OUT swizzle_misses bigint)
    AS 'MODULE_PATHNAME', 'aether_stats' LANGUAGE C STRICT VOLATILE;

-- Check the structure and checksums of an aether table's B+tree.
CREATE FUNCTION aether_verify(rel regclass, OUT rows bigint, OUT height int,
    OUT pages bigint, OUT free_pages bigint)
    AS 'MODULE_PATHNAME', 'aether_verify' LANGUAGE C STRICT VOLATILE;

-- Write every dirty page of the buffer pool to the relation files.
CREATE FUNCTION aether_flush() RETURNS void
    AS 'MODULE_PATHNAME', 'aether_flush' LANGUAGE C STRICT VOLATILE;
REVOKE EXECUTE ON FUNCTION aether_flush() FROM PUBLIC;

-- Rows and stored versions of an aether table (all versions, any snapshot);
-- unmarked: versions not marked as committed (or frozen) by their inserter,
-- whose status readers look up in pg_xact. Changes, pruning and VACUUM mark
-- the versions they rewrite once the inserter's commit is durable.
CREATE FUNCTION aether_versions(rel regclass, OUT rows bigint, OUT versions bigint,
    OUT unmarked bigint)
    AS 'MODULE_PATHNAME', 'aether_versions' LANGUAGE C STRICT VOLATILE;

-- Take a checkpoint now: write every dirty page, sync the files, record the
-- redo point in pg_aether/control, recycle or remove log files no longer needed.
-- Returns the checkpoint's redo LSN.
CREATE FUNCTION aether_checkpoint() RETURNS bigint
    AS 'MODULE_PATHNAME', 'aether_checkpoint' LANGUAGE C STRICT VOLATILE;
REVOKE EXECUTE ON FUNCTION aether_checkpoint() FROM PUBLIC;

-- Aether's write-ahead log: volume, group commit, checkpoints.
CREATE FUNCTION aether_wal_stats(
    OUT records bigint, OUT bytes bigint, OUT full_page_images bigint,
    OUT flush_requests bigint, OUT flushes bigint, OUT avg_group_commit_batch float8,
    OUT insert_lsn bigint, OUT flushed_lsn bigint,
    OUT checkpoints bigint, OUT last_checkpoint timestamptz, OUT checkpoint_redo_lsn bigint,
    OUT aether_only_commits bigint, OUT recycled_segments bigint,
    OUT pg_wal_flushes_for_pruning bigint, OUT pg_wal_flushes_for_commits bigint)
    AS 'MODULE_PATHNAME', 'aether_wal_stats' LANGUAGE C STRICT VOLATILE;

CREATE VIEW pg_stat_aether_wal AS SELECT * FROM aether_wal_stats();
