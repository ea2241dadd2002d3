/*
 * note.c — AE_RMGR_NOTE: one growing number the host keeps with the log
 * (see ae_wal_note in aether/wal.h). Payload: the u64 value. Redo raises the
 * shared maximum; nothing on any page changes.
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

void
ae_note_register_redo(void)
{
	ae_wal_register_rmgr(AE_RMGR_NOTE, "note", note_redo);
}
