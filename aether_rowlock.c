/*
 * aether_rowlock.c — who holds a row lock, and shared locks by several
 * transactions at once (MultiXacts), for aether_modify.c.
 *
 * A row lock is a lock-only xmax on the version being locked, as in heap:
 *  - one locker: xmax = its xid, HEAP_XMAX_LOCK_ONLY plus the strength bits;
 *  - several lockers (FOR SHARE / FOR KEY SHARE only): xmax = a MultiXactId
 *    with HEAP_XMAX_IS_MULTI | HEAP_XMAX_LOCK_ONLY.
 * Aether never stores an updater inside a MultiXact: an UPDATE or DELETE
 * waits until every other locker has finished, and FOR UPDATE / FOR NO KEY
 * UPDATE are exclusive. That is stricter than heap for FOR KEY SHARE against
 * a non-key UPDATE (heap lets both proceed), never looser.
 */
#include "postgres.h"

#include "access/xlog.h"

#include "access/multixact.h"
#include "access/xact.h"
#include "storage/procarray.h"

#include "aether.h"

static bool
lock_only(HeapTupleHeader t)
{
	return !(t->t_infomask & HEAP_XMAX_INVALID) && HEAP_XMAX_IS_LOCKED_ONLY(t->t_infomask);
}

static bool
shared_mode(LockTupleMode mode)
{
	return mode == LockTupleKeyShare || mode == LockTupleShare;
}

static MultiXactStatus
status_for(LockTupleMode mode)
{
	switch (mode)
	{
		case LockTupleKeyShare:
			return MultiXactStatusForKeyShare;
		case LockTupleShare:
			return MultiXactStatusForShare;
		case LockTupleNoKeyExclusive:
			return MultiXactStatusForNoKeyUpdate;
		default:
			return MultiXactStatusForUpdate;
	}
}

/* The strength of a single-xid lock, from its infomask. */
static LockTupleMode
single_lock_mode(HeapTupleHeader t)
{
	if (HEAP_XMAX_IS_KEYSHR_LOCKED(t->t_infomask))
		return LockTupleKeyShare;
	if (HEAP_XMAX_IS_SHR_LOCKED(t->t_infomask))
		return LockTupleShare;
	return LockTupleExclusive;
}

/*
 * Inspect the lockers of a lock-only xmax. Sets *me if the current
 * transaction holds a lock, *other to a running locker that is not us
 * (InvalidTransactionId if none) and *all_shared if every running lock is
 * FOR SHARE / FOR KEY SHARE.
 */
void
aetam_lockers(HeapTupleHeader t, bool *me, TransactionId *other, bool *all_shared)
{
	TransactionId xmax = HeapTupleHeaderGetRawXmax(t);

	*me = false;
	*other = InvalidTransactionId;
	*all_shared = true;
	if (!lock_only(t))
		return;
	if (t->t_infomask & HEAP_XMAX_IS_MULTI)
	{
		MultiXactMember *members;
		int			n = GetMultiXactIdMembers(xmax, &members, false, true);

		for (int i = 0; i < n; i++)
		{
			if (TransactionIdIsCurrentTransactionId(members[i].xid))
				*me = true;
			else if (TransactionIdIsInProgress(members[i].xid))
			{
				*other = members[i].xid;
				if (members[i].status != MultiXactStatusForKeyShare &&
					members[i].status != MultiXactStatusForShare)
					*all_shared = false;
			}
		}
		if (n > 0)
			pfree(members);
		return;
	}
	if (TransactionIdIsCurrentTransactionId(xmax))
		*me = true;
	else if (TransactionIdIsInProgress(xmax))
		*other = xmax;
	*all_shared = shared_mode(single_lock_mode(t));
}

bool
aetam_locked_by_me(HeapTupleHeader t)
{
	bool		me, all_shared;
	TransactionId other;

	aetam_lockers(t, &me, &other, &all_shared);
	return me;
}

/* True if a lock-only xmax no longer protects anything (every locker finished). */
bool
aetam_lock_finished(HeapTupleHeader t)
{
	TransactionId xmax = HeapTupleHeaderGetRawXmax(t);

	if (t->t_infomask & HEAP_XMAX_IS_MULTI)
		return !MultiXactIdIsRunning(xmax, true);
	return !TransactionIdIsCurrentTransactionId(xmax) && !TransactionIdIsInProgress(xmax);
}

/*
 * Set the lock of the current transaction in mode on t (a writable copy),
 * joining the running lockers (all of them shared, checked by the caller)
 * in a MultiXact when there are any.
 */
void
aetam_lock_version(HeapTupleHeader t, LockTupleMode mode)
{
	TransactionId me = aetam_xid_for_write();
	bool		held, all_shared;
	TransactionId other;
	TransactionId newxmax = me;
	uint16		bits;

	aetam_lockers(t, &held, &other, &all_shared);
	if (TransactionIdIsValid(other))
	{
		Assert(shared_mode(mode) && all_shared);
		MultiXactIdSetOldestMember();
		if (t->t_infomask & HEAP_XMAX_IS_MULTI)
			newxmax = MultiXactIdExpand(HeapTupleHeaderGetRawXmax(t), me, status_for(mode));
		else
			newxmax = MultiXactIdCreate(other, status_for(single_lock_mode(t)),
										me, status_for(mode));

		/*
		 * The new MultiXact exists only in PostgreSQL's WAL, and the row
		 * that names it goes to Aether's log, which another commit may make
		 * durable before that WAL is (commits through Aether's log alone do
		 * not flush it). After a crash PostgreSQL would then hand out the id
		 * again, or refuse it ("has not been created yet") when the row is
		 * next locked or updated. So that WAL is made durable first, as
		 * aetam_xid_for_write protects xids.
		 */
		XLogFlush(XactLastRecEnd);
	}
	bits = HEAP_XMAX_LOCK_ONLY;
	if (mode == LockTupleKeyShare)
		bits |= HEAP_XMAX_KEYSHR_LOCK;
	else if (mode == LockTupleShare)
		bits |= HEAP_XMAX_SHR_LOCK;
	else
		bits |= HEAP_XMAX_EXCL_LOCK;
	if (newxmax != me)
	{
		bits |= HEAP_XMAX_IS_MULTI;
		/* a multi of shared lockers is as strong as its strongest member */
		if (!(t->t_infomask & HEAP_XMAX_INVALID) && HEAP_XMAX_IS_SHR_LOCKED(t->t_infomask))
			bits = (bits & ~HEAP_LOCK_MASK) | HEAP_XMAX_SHR_LOCK;
	}
	t->t_infomask &= ~HEAP_XMAX_BITS;
	t->t_infomask |= bits;
	HeapTupleHeaderSetXmax(t, newxmax);
}

/* Does the lock this transaction already holds on t cover mode? */
bool
aetam_lock_covers(HeapTupleHeader t, LockTupleMode mode)
{
	bool		me, all_shared;
	TransactionId other;

	aetam_lockers(t, &me, &other, &all_shared);
	if (!me)
		return false;
	if (t->t_infomask & HEAP_XMAX_IS_MULTI)
		return shared_mode(mode);	/* we are a shared member */
	return single_lock_mode(t) >= mode;
}
