/*
 * latch.c — process-shared reader/writer latch, spinlock and futex helpers.
 * See latch.h for the word layout and fairness notes.
 */
#include <limits.h>
#include <sched.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include "latch.h"

#define SPIN_TRIES 100

void
ae_futex_wait(_Atomic uint32_t *addr, uint32_t expected)
{
	/* shared futex: no FUTEX_PRIVATE_FLAG, the word is in a MAP_SHARED region */
	syscall(SYS_futex, (uint32_t *) addr, FUTEX_WAIT, expected, NULL, NULL, 0);
}

void
ae_futex_wake(_Atomic uint32_t *addr, int n)
{
	syscall(SYS_futex, (uint32_t *) addr, FUTEX_WAKE, n, NULL, NULL, 0);
}

void
ae_futex_wake_all(_Atomic uint32_t *addr)
{
	ae_futex_wake(addr, INT_MAX);
}

void
ae_latch_init(ae_latch *l)
{
	atomic_init(&l->word, 0);
}

/* True when the latch, as observed in w, cannot be taken in this mode. */
static inline bool
busy(uint32_t w, bool exclusive)
{
	return exclusive ? (w & (AE_LATCH_EXCL | AE_LATCH_SHARED_MASK)) != 0
		: (w & AE_LATCH_EXCL) != 0;
}

/* One attempt: a CAS from the observed word *w. Updates *w on failure. */
static bool
attempt(ae_latch *l, bool exclusive, uint32_t *w)
{
	if (busy(*w, exclusive))
		return false;
	return atomic_compare_exchange_weak_explicit(&l->word, w,
												 exclusive ? *w | AE_LATCH_EXCL : *w + 1,
												 memory_order_acquire,
												 memory_order_relaxed);
}

bool
ae_latch_try_acquire(ae_latch *l, bool exclusive)
{
	uint32_t	w = atomic_load_explicit(&l->word, memory_order_relaxed);

	for (;;)
	{
		if (attempt(l, exclusive, &w))
			return true;
		if (busy(w, exclusive))
			return false;		/* else a CAS race on a compatible word: retry */
	}
}

/*
 * *w is the busy latch word we saw. Announce a sleeper on it (the CAS fails
 * if it changed, e.g. was released: then *w is the new word and we return
 * at once), then sleep unless it changed since. The release that frees the
 * latch sees the bit and wakes us. *w is reloaded on return.
 */
static void
sleep_while_busy(ae_latch *l, uint32_t *w)
{
	if (!(*w & AE_LATCH_WAITERS))
	{
		if (!atomic_compare_exchange_weak_explicit(&l->word, w, *w | AE_LATCH_WAITERS,
												   memory_order_relaxed,
												   memory_order_relaxed))
			return;
		*w |= AE_LATCH_WAITERS;
	}
	ae_futex_wait(&l->word, *w);
	*w = atomic_load_explicit(&l->word, memory_order_acquire);
}

void
ae_latch_acquire(ae_latch *l, bool exclusive)
{
	uint32_t	w = atomic_load_explicit(&l->word, memory_order_relaxed);
	int			spins = 0;

	for (;;)
	{
		if (attempt(l, exclusive, &w))
			return;
		if (!busy(w, exclusive))
			continue;
		if (spins++ < SPIN_TRIES)
		{
			ae_cpu_relax();
			w = atomic_load_explicit(&l->word, memory_order_relaxed);
			continue;
		}
		sleep_while_busy(l, &w);
	}
}

void
ae_latch_release(ae_latch *l)
{
	uint32_t	w = atomic_load_explicit(&l->word, memory_order_relaxed);
	uint32_t	want;

	do
	{
		if (w & AE_LATCH_EXCL)
			want = w & ~AE_LATCH_EXCL;
		else
			want = w - 1;
		/* the release that frees the latch clears the waiters bit and wakes them */
		if ((want & ~AE_LATCH_WAITERS) == 0)
			want = 0;
	} while (!atomic_compare_exchange_weak_explicit(&l->word, &w, want,
													memory_order_release,
													memory_order_relaxed));
	if ((w & AE_LATCH_WAITERS) && want == 0)
		ae_futex_wake_all(&l->word);
}

void
ae_spin_init(ae_spinlock *s)
{
	atomic_init(&s->word, 0);
}

void
ae_spin_lock(ae_spinlock *s)
{
	int			spins = 0;

	for (;;)
	{
		if (atomic_load_explicit(&s->word, memory_order_relaxed) == 0 &&
			atomic_exchange_explicit(&s->word, 1, memory_order_acquire) == 0)
			return;
		/* the holder may be descheduled: yield instead of burning the slice */
		if (++spins % 1000 == 0)
			sched_yield();
		else
			ae_cpu_relax();
	}
}

void
ae_spin_unlock(ae_spinlock *s)
{
	atomic_store_explicit(&s->word, 0, memory_order_release);
}
