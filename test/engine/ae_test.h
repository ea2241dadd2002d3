/*
 * ae_test.h — the tiny harness of the engine unit tests.
 *
 * Each test_*.c is its own program: main() calls AE_RUN(fn) for each case and
 * returns ae_test_summary(). A failed check prints file:line and the
 * expression and marks the case failed; AE_REQUIRE also returns from it.
 */
#ifndef AE_TEST_H
#define AE_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int	ae_test_failures_case;
static int	ae_test_passed;
static int	ae_test_failed;

#define AE_CHECK(expr) do { if (!(expr)) { \
	fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
	ae_test_failures_case++; } } while (0)

#define AE_REQUIRE(expr) do { if (!(expr)) { \
	fprintf(stderr, "  %s:%d: requirement failed: %s\n", __FILE__, __LINE__, #expr); \
	ae_test_failures_case++; return; } } while (0)

/* status must be AE_OK; prints the engine's error message otherwise */
#define AE_OKAY(call) do { ae_status st_ = (call); if (st_ != AE_OK) { \
	fprintf(stderr, "  %s:%d: %s -> %s: %s\n", __FILE__, __LINE__, #call, \
			ae_status_name(st_), ae_error_last()->message); \
	ae_test_failures_case++; return; } } while (0)

#define AE_RUN(fn) do { ae_test_failures_case = 0; fn(); \
	if (ae_test_failures_case) { ae_test_failed++; printf("not ok - %s\n", #fn); } \
	else { ae_test_passed++; printf("ok - %s\n", #fn); } fflush(stdout); } while (0)

static inline int
ae_test_summary(void)
{
	printf("# %d passed, %d failed\n", ae_test_passed, ae_test_failed);
	return ae_test_failed ? 1 : 0;
}

#endif
