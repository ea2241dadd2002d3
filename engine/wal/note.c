/*
 * note.c — what the host keeps in the log besides page changes (aether/wal.h):
 *  - AE_RMGR_NOTE: one growing number (ae_wal_note). Payload: the u64 value.
 *    Redo raises the shared maximum.
 *  - AE_RMGR_HOST: opaque records (ae_wal_log_host), type chosen by the host.
 *    Redo hands them to host->redo_record.
 * Neither changes a page.
 */
#include <string.h>

#include "wal_internal.h"

static void
raise_max(ae_engine *eng, uint64_t value)
{
	uint64_t	cur = atomic_load(&eng->wal->note_max);

	while (value > cur && !atomic_compare_exchange_weak(&eng->wal->note_max, &cur, value))
		;
}

ae_status
ae_wal_note(ae_engine *eng, uint64_t value)
{
	ae_mtr		m;
	ae_status	st;

	ae_mtr_begin(eng, &m);
	ae_mtr_log(&m, NULL, AE_RMGR_NOTE, 1, &value, sizeof(value));
	st = ae_mtr_commit(&m, NULL);
	if (st == AE_OK)
		raise_max(eng, value);
	return st;
}

uint64_t
ae_wal_note_max(ae_engine *eng)
{
	return atomic_load(&eng->wal->note_max);
}

void
ae_wal_set_note_max(ae_engine *eng, uint64_t value)
{
	atomic_store(&eng->wal->note_max, value);
}

static ae_status
note_redo(ae_engine *eng, const ae_log_record *rec, void *page)
{
	uint64_t	value;

	if (rec->payload_len != sizeof(value) || page != NULL)
		return ae_fail(AE_CORRUPT, rec->file, rec->block, "bad note record");
	memcpy(&value, ae_log_record_payload(rec), sizeof(value));
	raise_max(eng, value);
	return AE_OK;
}

ae_status
ae_wal_log_host(ae_engine *eng, uint8_t type, const void *data, size_t len, ae_lsn *end)
{
	ae_mtr		m;

	ae_mtr_begin(eng, &m);
	ae_mtr_log(&m, NULL, AE_RMGR_HOST, type, data, len);
	return ae_mtr_commit(&m, end);
}

static ae_status
host_redo(ae_engine *eng, const ae_log_record *rec, void *page)
{
	if (page != NULL)
		return ae_fail(AE_CORRUPT, rec->file, rec->block, "host record names a page");
	if (!eng->host.redo_record)
		return AE_OK;
	return eng->host.redo_record(eng->host.ctx, rec->type, ae_log_record_payload(rec),
								 rec->payload_len);
}

void
ae_note_register_redo(void)
{
	ae_wal_register_rmgr(AE_RMGR_NOTE, "note", note_redo);
	ae_wal_register_rmgr(AE_RMGR_HOST, "host", host_redo);
}
