# tests/: the end-to-end runs over a whole private federation.
INTEG_TESTS += $(if $(SANITIZE),,tests/integ/zero_loss.sh)
# The same on a lab PostgreSQL, two front ends, pilots and copy workers.
INTEG_TESTS += $(if $(SANITIZE),,tests/integ/zero_loss_pg.sh)
BENCHES += bench/e2e
BENCHES += bench/imap_client
BENCHES += bench/soak
$(O)/bench/noop_milter: $(O)/bench/noop_milter.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(MILTER_LIBS)
# No test or bench calls Postfix or Dovecot without its own configuration.
INTEG_TESTS += tests/integ/host_config_lint.sh
# Every configuration key is read by something, or setting it is an error.
INTEG_TESTS += tests/integ/config_keys_used.sh
INTEG_TESTS += tests/integ/spm_start_checks.sh
INTEG_TESTS += tests/integ/ctl_report.sh
# The README's fedmig.conf, CSV and Postfix blocks work as printed.
INTEG_TESTS += tests/integ/readme_config.sh
# The test machinery fails a skip in CI and a man check with nothing built.
INTEG_TESTS += tests/integ/runner_self.sh
# The unit tests' shared scaffolding (tests/unit/testutil.h): an archive
# among the part libraries, which every unit test links (a program never).
PART_LIBS += $(O)/tests/libtestutil.a
$(O)/tests/libtestutil.a: $(O)/tests/unit/testutil.o $(O)/tests/unit/tu_store.o
# SIGHUP reloads policyd's and spm's configuration (lib/server.h).
INTEG_TESTS += tests/integ/reload.sh
include tests/agent.mk
include tests/dir.mk
include tests/pim.mk
