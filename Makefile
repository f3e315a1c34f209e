# fedmig: one non-recursive Makefile. Each part adds its programs, tests,
# fuzz targets and man pages in PART/part.mk; configure writes config.mk.
#
#   make                 build everything into build/ (never installs packages)
#   make check           unit + integration tests, man lint, fuzz smoke
#   make check SANITIZE=1  the same built with ASan+UBSan into build-san/
#   make check-unit      the unit tests only (no lab, nothing installed)
#   make demo            a private federation on loopback migrating a batch
#   make deps            install the Debian packages fedmig needs
#   make bench           every bench/ script with --quick
#   make install         DESTDIR=... too; make uninstall
#   make package-check   build, lint, install, upgrade, purge the .debs (root)
#   WERROR=1             warnings are errors (the default of make check)

.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:
.SECONDARY:

SANITIZE ?=
FUZZ ?=
# Warnings are errors where we choose the compiler (make check, CI), not in
# a plain build: a release must build with the next compiler too.
ifneq ($(filter check check-unit,$(MAKECMDGOALS)),)
WERROR ?= 1
endif
O ?= build$(if $(SANITIZE),-san)
FUZZ_SECONDS ?= $(if $(CI),10,5)

NOCONF_GOALS := deps clean distclean help package-check
ifneq ($(filter-out $(NOCONF_GOALS),$(or $(MAKECMDGOALS),all)),)
include config.mk
endif

# configure.ac or config.mk.in changed: configure again with the options
# it was given. A fresh clone has no config.mk: make check and make demo
# (which install packages anyway, as the README says) install what
# configure looks for and configure with the defaults; any other goal
# says what to run, and never calls apt-get.
config.mk: configure.ac config.mk.in
	@if [ -f config.status ]; then \
		autoreconf -fi && ./config.status --recheck && ./config.status; \
	elif [ -n "$(filter check demo,$(MAKECMDGOALS))" ]; then \
		.ci/deps && autoreconf -fi && ./configure; \
	else \
		echo "fedmig: no config.mk: run ./configure first (autoreconf -fi makes it in a" \
			"git checkout; make deps installs the Debian packages it needs)" >&2; \
		exit 1; \
	fi

# From configure (config.mk) unless given on the command line; a CFLAGS
# or LDFLAGS in the environment of make wins over configure's (config.mk
# sets them with ?=). CPPFLAGS carries _FORTIFY_SOURCE from dpkg-buildflags.
WARN := -Wall -Wextra -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes \
	-Wno-unused-parameter $(if $(filter 1,$(WERROR)),-Werror)
SAN_ON := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_ON := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -DFEDMIG_FUZZ
SAN_FLAGS := $(if $(SANITIZE),$(SAN_ON))
FUZZ_FLAGS := $(if $(FUZZ),$(FUZZ_ON))
# The version and the paths configure chose, for lib/paths.h.
PATH_DEFS := -DFEDMIG_VERSION='"$(VERSION)"' -DFEDMIG_SYSCONFDIR='"$(sysconfdir)"' \
	-DFEDMIG_LOCALSTATEDIR='"$(localstatedir)"' -DFEDMIG_RUNSTATEDIR='"$(runstatedir)"'
ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Ilib $(PATH_DEFS) $(CPPFLAGS) $(WARN) $(CFLAGS) \
	$(SAN_FLAGS) $(FUZZ_FLAGS) $(SQLITE_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS)
# --as-needed: a program records only the libraries it calls, so the
# agent and the API do not load the PIM or LDAP libraries libsmd's and
# libspm's other objects need.
ALL_LDFLAGS := -Wl,--as-needed $(LDFLAGS) $(SAN_FLAGS)
EXT_LIBS := $(SQLITE_LIBS) $(PQ_LIBS) $(EV_LIBS) $(MILTER_LIBS) $(OPENSSL_LIBS) $(JANSSON_LIBS) -lpthread -lm

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

.PHONY: all check check-unit have-check unit integ manlint fuzz fuzz-build deps demo bench clean \
	distclean help install uninstall package-check

all: $(PROGRAMS)

unit: $(UNIT_TESTS)
integ: all
manlint:
fuzz-build: $(FUZZ_TARGETS)

# The daemons build without libcheck (configure only warns); the tests
# need it.
have-check:
	@if [ -z "$(CHECK_LIBS)" ]; then \
		echo "fedmig: the unit tests need libcheck: apt-get install check (or make deps)," \
			"then ./configure again" >&2; exit 1; fi

check-unit: have-check $(UNIT_TESTS)
	@FEDMIG_BUILD=$(O) tests/run --unit "$(UNIT_TESTS)"

# Lab tests that run on SQLite in the plain build and on PostgreSQL
# (tests/integ/on_pg.sh, as NAME_pg) in the SANITIZE=1 one: both backends
# in CI for the time of one run each. A lab test reads the store through
# tests/lab/fedlab.py's store_query(), which asks either backend.
# Not twins: the tests with a store of their own outside the lab
# (miltertest, the fake Postfix, fedmig-smd -u, which PostgreSQL refuses),
# and those with a PostgreSQL variant of their own (*_pg.sh).
PG_TWINS := $(addprefix tests/integ/,$(addsuffix .sh,agent_copy agent_faults agent_many \
	agent_refusals dir_guards dir_switch dir_updown dirsync_lab group_switch \
	group_switch_window milter_postfix plus_lab policyd_postfix prestage_pilot \
	spm_after_lab spm_copy_lab spm_drain_lab spm_fail_lab spm_hostile_lab spm_kill_lab \
	spm_rollback_lab status_page ws_api ws_flow))
CHECK_INTEG = $(if $(SANITIZE),$(filter-out $(PG_TWINS),$(INTEG_TESTS)) $(addprefix pg:,$(filter $(PG_TWINS),$(INTEG_TESTS))),$(INTEG_TESTS))

check: deps have-check all $(UNIT_TESTS) $(if $(SANITIZE),,fuzz)
	@FEDMIG_BUILD=$(O) tests/run --unit "$(UNIT_TESTS)" --integ "$(CHECK_INTEG)" \
		--man "$(MANPAGES)" --fuzz "$(if $(SANITIZE),,$(FUZZ_TARGETS:tests/fuzz/%.c=%))" \
		--fuzz-seconds $(FUZZ_SECONDS) --make "$(MAKE)"

fuzz:
	$(MAKE) O=build-fuzz CC=$(or $(CLANG),clang) FUZZ=1 SANITIZE= WERROR=$(WERROR) \
		$(FUZZ_TARGETS:tests/fuzz/%.c=build-fuzz/tests/fuzz/%)

deps:
	@.ci/deps

demo: deps all
	FEDMIG_BUILD=$(O) tests/demo

bench: all
	@for b in $(BENCHES); do FEDMIG_BUILD=$(O) $$b --quick || exit 1; done

# Programs, man pages, the sample configuration (never over an existing
# one: an upgrade by hand keeps the administrator's file).
SAMPLE_CONF := etc/fedmig.conf
MAN_SECTIONS := 1 5 7 8
install: all
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(sysconfdir)/fedmig \
		$(MAN_SECTIONS:%=$(DESTDIR)$(mandir)/man%)
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(sbindir)/
	for m in $(MANPAGES); do s=$${m##*.}; install -m 0644 $$m $(DESTDIR)$(mandir)/man$$s/; done
	install -d $(DESTDIR)$(docdir)/examples
	install -m 0644 $(SAMPLE_CONF) $(DESTDIR)$(docdir)/examples/fedmig.conf
	[ -e $(DESTDIR)$(sysconfdir)/fedmig/fedmig.conf ] || \
		install -m 0644 $(SAMPLE_CONF) $(DESTDIR)$(sysconfdir)/fedmig/fedmig.conf

# Leaves fedmig.conf if it is not the sample (the administrator's file).
uninstall:
	rm -f $(patsubst %,$(DESTDIR)$(sbindir)/%,$(notdir $(PROGRAMS)))
	for m in $(notdir $(MANPAGES)); do rm -f $(DESTDIR)$(mandir)/man$${m##*.}/$$m; done
	rm -f $(DESTDIR)$(docdir)/examples/fedmig.conf
	-rmdir $(DESTDIR)$(docdir)/examples $(DESTDIR)$(docdir)
	if cmp -s $(SAMPLE_CONF) $(DESTDIR)$(sysconfdir)/fedmig/fedmig.conf; then \
		rm -f $(DESTDIR)$(sysconfdir)/fedmig/fedmig.conf; \
		rmdir $(DESTDIR)$(sysconfdir)/fedmig 2>/dev/null || true; fi

# The Debian packages from this checkout, as CI does (.ci/packages: root).
package-check:
	.ci/packages

clean:
	rm -rf build build-san build-fuzz

distclean: clean
	rm -rf config.mk config.log config.status configure autom4te.cache aclocal.m4

help:
	@sed -n '3,10p' Makefile
