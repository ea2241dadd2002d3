# Aether — PostgreSQL 15 table access method, built with PGXS.
#
#   make                 build aether.so (glue + engine, -Werror)
#   make install         install the library, control file and SQL scripts
#   make engine-check    engine unit tests, with ASan/UBSan and without
#   bash scripts/test.sh every suite (engine, pg_regress, isolation, TAP)
#
# `make installcheck` runs sql/*.sql against an already running server that
# has shared_preload_libraries = 'aether'; scripts/test.sh runs them on a
# temporary instance instead (a server cannot run as root).

MODULE_big	= aether
GLUE_SRCS	= $(sort $(wildcard aether_*.c))
ENGINE_SRCS	= $(sort $(wildcard engine/*.c engine/*/*.c))
OBJS		= $(GLUE_SRCS:.c=.o) $(ENGINE_SRCS:.c=.o)

EXTENSION	= aether
DATA		= $(sort $(wildcard aether--*.sql))
PGFILEDESC	= "aether - table access method with its own storage engine"

PG_CPPFLAGS	= -I$(srcdir)/engine/include -Wall -Werror
SHLIB_LINK	= -lzstd

# pg_regress: every sql/*.sql; the order scripts/test.sh uses is test/schedule.
REGRESS		= $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS	= --temp-config=$(srcdir)/test/aether-test.conf

# No LLVM bitcode: it would need clang on every build machine, and JIT
# inlining of this module is of no use.
override with_llvm = no

PG_CONFIG	?= pg_config
PGXS		:= $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Rebuild everything when a header changes (PGXS has no dependency tracking
# unless PostgreSQL was configured with --enable-depend).
$(OBJS): $(wildcard aether.h engine/include/aether/*.h engine/*/*.h)

# The engine is C11 (declarations where they are used); PostgreSQL's C89-style
# warning applies to the glue only.
$(ENGINE_SRCS:.c=.o): CFLAGS += -std=gnu11 -Wno-declaration-after-statement

engine-check:
	$(MAKE) -C test/engine check SAN=1
	$(MAKE) -C test/engine check

.PHONY: engine-check
