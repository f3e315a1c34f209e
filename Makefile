# fedmig: one non-recursive Makefile. Each part adds its programs, tests,
# fuzz targets and man pages in PART/part.mk; configure writes config.mk.
#
#   make                 build everything into build/
#   make check           unit + integration tests, man lint, fuzz smoke
#   make check SANITIZE=1  the same built with ASan+UBSan into build-san/
#   make demo            a private federation on loopback migrating a batch
#   make deps            install the Debian packages fedmig needs
#   make bench           every bench/ script with --quick

.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:
.SECONDARY:

SANITIZE ?=
FUZZ ?=
WERROR ?= 1
O ?= build$(if $(SANITIZE),-san)
FUZZ_SECONDS ?= $(if $(CI),30,5)

NOCONF_GOALS := deps clean distclean help
ifneq ($(filter-out $(NOCONF_GOALS),$(or $(MAKECMDGOALS),all)),)
include config.mk
endif

# A fresh clone has no configure and no config.mk: make them, after
# installing what configure looks for.
config.mk: configure.ac config.mk.in
	.ci/deps
	autoreconf -fi
	./configure

CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes \
	-Wno-unused-parameter $(if $(filter 1,$(WERROR)),-Werror)
SAN_ON := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_ON := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -DFEDMIG_FUZZ
SAN_FLAGS := $(if $(SANITIZE),$(SAN_ON))
FUZZ_FLAGS := $(if $(FUZZ),$(FUZZ_ON))
ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Ilib $(WARN) $(CFLAGS) $(SAN_FLAGS) $(FUZZ_FLAGS) \
	$(SQLITE_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS)
# --as-needed: a program records only the libraries it calls, so the
# agent and the API do not load the PIM or LDAP libraries libsmd's and
# libspm's other objects need.
ALL_LDFLAGS := -Wl,--as-needed $(LDFLAGS) $(SAN_FLAGS)
EXT_LIBS := $(SQLITE_LIBS) $(EV_LIBS) $(MILTER_LIBS) $(OPENSSL_LIBS) $(JANSSON_LIBS) -lpthread -lm

PROGRAMS :=
PART_LIBS :=
UNIT_TESTS :=
INTEG_TESTS :=
FUZZ_TARGETS :=
MANPAGES :=
BENCHES :=

LIBFEDMIG := $(O)/lib/libfedmig.a
include lib/part.mk
include $(filter-out lib/part.mk,$(wildcard */part.mk))

$(O)/%.o: %.c config.mk
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(O)/%.a:
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

# Unit tests link every part library so a test can reach any module.
$(O)/tests/unit/%: $(O)/tests/unit/%.o $(PART_LIBS) $(LIBFEDMIG)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(PART_LIBS) $(LIBFEDMIG) $(CHECK_LIBS) $(EXT_LIBS)

# Fuzz targets: built by a sub-make with clang into build-fuzz/.
$(O)/tests/fuzz/%: $(O)/tests/fuzz/%.o $(PART_LIBS) $(LIBFEDMIG)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(PART_LIBS) $(LIBFEDMIG) $(EXT_LIBS)

-include $(shell find $(O) -name '*.d' 2>/dev/null)

.PHONY: all check unit integ manlint fuzz fuzz-build deps demo bench clean distclean help install

all: $(PROGRAMS)

unit: $(UNIT_TESTS)
integ: all
manlint:
fuzz-build: $(FUZZ_TARGETS)

check: deps all $(UNIT_TESTS) $(if $(SANITIZE),,fuzz)
	@FEDMIG_BUILD=$(O) tests/run --unit "$(UNIT_TESTS)" --integ "$(INTEG_TESTS)" \
		--man "$(MANPAGES)" --fuzz "$(if $(SANITIZE),,$(FUZZ_TARGETS:tests/fuzz/%.c=%))" \
		--fuzz-seconds $(FUZZ_SECONDS) --make "$(MAKE)"

fuzz:
	$(MAKE) O=build-fuzz CC=$(or $(CLANG),clang) FUZZ=1 SANITIZE= \
		$(FUZZ_TARGETS:tests/fuzz/%.c=build-fuzz/tests/fuzz/%)

deps:
	@.ci/deps

demo: deps all
	FEDMIG_BUILD=$(O) tests/demo

bench: all
	@for b in $(BENCHES); do FEDMIG_BUILD=$(O) $$b --quick || exit 1; done

install: all
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(mandir)/man1 $(DESTDIR)$(mandir)/man5 \
		$(DESTDIR)$(mandir)/man7 $(DESTDIR)$(mandir)/man8
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(sbindir)/
	for m in $(MANPAGES); do s=$${m##*.}; install -m 0644 $$m $(DESTDIR)$(mandir)/man$$s/; done

clean:
	rm -rf build build-san build-fuzz

distclean: clean
	rm -rf config.mk config.log config.status configure autom4te.cache aclocal.m4

help:
	@sed -n '3,10p' Makefile
