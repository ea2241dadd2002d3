/*
 * util/latch.h — process-shared synchronisation primitives (engine-internal).
 *
 * All three live in shared memory and work across forked processes: waits use
 * the Linux futex syscall without FUTEX_PRIVATE_FLAG.
 *
 *  ae_latch     reader/writer latch: one 32-bit word = exclusive bit, waiters
 *               bit and a shared count. Spins briefly, then sleeps on the
 *               futex; the release that leaves the latch free wakes all
 *               sleepers (they re-compete). Readers are not blocked by a
 *               waiting writer, so a writer can starve under a continuous
 *               stream of readers (acceptable for page latches, which are
 *               held briefly).
 *  ae_spinlock  test-and-test-and-set lock for a few instructions of work
 *               (page-table partitions). Never sleep, do I/O or malloc while
 *               holding one.
 *  ae_futex_*   raw wait/wake on any 32-bit word, for condition waits (I/O in
 *               progress on a buffer frame).
 */
#ifndef AE_UTIL_LATCH_H
#define AE_UTIL_LATCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define AE_LATCH_EXCL		0x80000000u
#define AE_LATCH_WAITERS	0x40000000u
#define AE_LATCH_SHARED_MASK 0x3FFFFFFFu

typedef struct ae_latch
{
	_Atomic uint32_t word;
} ae_latch;

typedef struct ae_spinlock
{
	_Atomic uint32_t word;
} ae_spinlock;

void		ae_latch_init(ae_latch *l);
/* Block until held, shared (exclusive == false) or exclusive. */
void		ae_latch_acquire(ae_latch *l, bool exclusive);
/* Take the latch only if that needs no waiting; true when taken. */
bool		ae_latch_try_acquire(ae_latch *l, bool exclusive);
/* Release one hold (exclusive if the exclusive bit is set, else one shared hold). */
void		ae_latch_release(ae_latch *l);
/* True when held exclusively by someone (for assertions). */
static inline bool
ae_latch_held_exclusive(ae_latch *l)
{
	return (atomic_load_explicit(&l->word, memory_order_relaxed) & AE_LATCH_EXCL) != 0;
}

void		ae_spin_init(ae_spinlock *s);
void		ae_spin_lock(ae_spinlock *s);
void		ae_spin_unlock(ae_spinlock *s);

/* CPU relax hint for spin loops. */
static inline void
ae_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Sleep while *addr == expected (returns at once otherwise; spurious wakeups happen). */
void		ae_futex_wait(_Atomic uint32_t *addr, uint32_t expected);
/* Wake every process sleeping on addr. */
void		ae_futex_wake_all(_Atomic uint32_t *addr);
/* Wake up to n processes sleeping on addr. */
void		ae_futex_wake(_Atomic uint32_t *addr, int n);

#endif
