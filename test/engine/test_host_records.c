/*
 * test_host_records.c — host records (ae_wal_log_host): replay hands the
 * durable ones after the redo point to host->redo_record in log order; a
 * checkpoint calls host->checkpoint_prepare with its redo point before it
 * forgets them; ae_recover_redo leaves the log in place, so a crash before
 * the host's checkpoint replays the same records again.
 */
#include "aether/checkpoint.h"
#include "ae_env.h"
#include "ae_test.h"

#define MAX_SEEN 16

typedef struct seen_record
{
	uint8_t		type;
	size_t		len;
	char		first;
} seen_record;

static seen_record seen[MAX_SEEN];
static int	nseen;
static int	nprepare;
static uint64_t prepared_redo;
static bool fail_redo;

static ae_status
record_redo(void *ctx, uint8_t type, const void *data, size_t len)
{
	if (fail_redo)
		return ae_fail(AE_IO_ERROR, (ae_file_id) {0}, AE_NO_BLOCK, "host refuses record %u", type);
	if (nseen < MAX_SEEN)
		seen[nseen++] = (seen_record) {type, len, len ? ((const char *) data)[0] : 0};
	return AE_OK;
}

static ae_status
record_prepare(void *ctx, uint64_t redo_lsn)
{
	nprepare++;
	prepared_redo = redo_lsn;
	return AE_OK;
}

/* The env's engine again, with the host record callbacks installed. */
static ae_status
open_env(ae_env *e)
{
	ae_status	st = ae_env_open(e, 64, 1 << 20, 8);

	if (st != AE_OK)
		return st;
	ae_engine_detach(e->eng);
	e->host.redo_record = record_redo;
	e->host.checkpoint_prepare = record_prepare;
	return ae_engine_create(e->mem, &e->cfg, &e->host, &e->eng);
}

static ae_status
log_str(ae_env *e, uint8_t type, const char *s, ae_lsn *end)
{
	return ae_wal_log_host(e->eng, type, s, strlen(s), end);
}

static void
reset_seen(void)
{
	nseen = 0;
	nprepare = 0;
	prepared_redo = 0;
}

static void
test_host_records_replay(void)
{
	ae_env		e;
	ae_recovery_info ri;
	ae_checkpoint_info ci;
	ae_lsn		end1,
				end2,
				end;
	static char big[4000];

	AE_OKAY(open_env(&e));
	reset_seen();
	AE_OKAY(ae_recover(e.eng, &ri));
	AE_CHECK(ri.fresh && nseen == 0);
	AE_CHECK(nprepare == 1);	/* recovery's own checkpoint */

	/* before a checkpoint: never replayed again once it is taken */
	AE_OKAY(log_str(&e, 1, "a", &end1));
	AE_OKAY(log_str(&e, 2, "bb", &end2));
	AE_CHECK(end2 > end1);
	reset_seen();
	AE_OKAY(ae_checkpoint(e.eng, false, &ci));
	AE_CHECK(nprepare == 1 && prepared_redo == ci.redo_lsn && prepared_redo >= end2);

	/* after it: two durable records, one lost with the crash */
	AE_OKAY(log_str(&e, 3, "ccc", &end));
	memset(big, 'z', sizeof(big));
	AE_OKAY(ae_wal_log_host(e.eng, 4, big, sizeof(big), &end));
	AE_OKAY(ae_wal_flush(e.eng, end));
	AE_OKAY(log_str(&e, 5, "lost", &end));

	ae_buf_discard_all(e.eng);
	reset_seen();
	AE_OKAY(ae_recover_redo(e.eng, &ri));
	AE_CHECK(nprepare == 0);	/* no checkpoint: the records stay in the log */
	AE_REQUIRE(nseen == 2);
	AE_CHECK(seen[0].type == 3 && seen[0].len == 3 && seen[0].first == 'c');
	AE_CHECK(seen[1].type == 4 && seen[1].len == sizeof(big) && seen[1].first == 'z');

	/* a crash before the host's checkpoint: the same records again */
	ae_buf_discard_all(e.eng);
	reset_seen();
	AE_OKAY(ae_recover_redo(e.eng, &ri));
	AE_CHECK(nseen == 2 && seen[0].type == 3 && seen[1].type == 4);

	/* a host that cannot take a record stops recovery with its error */
	ae_buf_discard_all(e.eng);
	fail_redo = true;
	AE_CHECK(ae_recover_redo(e.eng, &ri) == AE_IO_ERROR);
	fail_redo = false;

	/* once the host checkpoints, they are gone */
	ae_buf_discard_all(e.eng);
	AE_OKAY(ae_recover_redo(e.eng, &ri));
	reset_seen();
	AE_OKAY(ae_checkpoint(e.eng, false, &ci));
	AE_CHECK(nprepare == 1 && prepared_redo == ci.redo_lsn);
	ae_buf_discard_all(e.eng);
	reset_seen();
	AE_OKAY(ae_recover(e.eng, &ri));
	AE_CHECK(nseen == 0);
	ae_env_close(&e);
}

int
main(void)
{
	AE_RUN(test_host_records_replay);
	return ae_test_summary();
}
