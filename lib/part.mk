# libfedmig: the modules every program shares.
LIB_SRCS := lib/xalloc.c lib/log.c lib/config.c lib/config_parse.c lib/addr.c lib/delim.c lib/csv.c lib/secrets.c lib/store.c lib/store_schema.c lib/store_schema_pg.c lib/store_pg.c lib/store_cfg.c lib/store_dirw.c lib/store_copy.c lib/store_import.c lib/store_dir.c \
	lib/store_file.c lib/daemon.c lib/timeutil.c lib/server.c lib/server_loop.c lib/state.c lib/store_req.c lib/store_smd.c lib/store_agent.c lib/store_buffer.c lib/store_ws.c lib/ws_conf.c lib/netname.c \
	lib/config_check.c lib/qid.c lib/backoff.c lib/mstatus.c lib/sdnotify.c lib/lookup_stats.c
$(LIBFEDMIG): $(LIB_SRCS:%.c=$(O)/%.o)

UNIT_TESTS += $(O)/tests/unit/test_config $(O)/tests/unit/test_addr $(O)/tests/unit/test_delim \
	$(O)/tests/unit/test_csv $(O)/tests/unit/test_store $(O)/tests/unit/test_secrets \
	$(O)/tests/unit/test_log $(O)/tests/unit/test_daemon_sock $(O)/tests/unit/test_config_ref \
	$(O)/tests/unit/test_qid $(O)/tests/unit/test_backoff $(O)/tests/unit/test_mstatus
# test_daemon_sock swaps the socket for a link right after bind.
$(O)/tests/unit/test_daemon_sock: ALL_LDFLAGS += -Wl,--wrap=bind
FUZZ_TARGETS += tests/fuzz/fuzz_config.c tests/fuzz/fuzz_addr.c tests/fuzz/fuzz_csv.c tests/fuzz/fuzz_secrets.c \
	tests/fuzz/fuzz_mstatus.c
MANPAGES += man/fedmig.conf.5 man/fedmig.7
INTEG_TESTS += tests/integ/directory_import.sh
BENCHES += bench/store bench/scale
$(O)/bench/store_lookup: $(O)/bench/store_lookup.o $(LIBFEDMIG)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(EXT_LIBS)
INTEG_TESTS += tests/integ/man_options.sh
INTEG_TESTS += tests/integ/lab_smoke.sh
INTEG_TESTS += tests/integ/store_damage.sh
UNIT_TESTS += $(O)/tests/unit/test_store_agent $(O)/tests/unit/test_store_buffer $(O)/tests/unit/test_ws_store
# The database layer under the store (lib/db.h): SQLite, and PostgreSQL
# through libpq (in EXT_LIBS: every program opens the store with db_open).
DB_SRCS := lib/db.c lib/db_sql.c lib/db_sqlite.c lib/db_pg.c lib/db_lock.c
LIB_SRCS += $(DB_SRCS)
$(LIBFEDMIG): $(DB_SRCS:%.c=$(O)/%.o)
$(O)/lib/db_pg.o: ALL_CFLAGS += $(PQ_CFLAGS)
UNIT_TESTS += $(O)/tests/unit/test_db $(O)/tests/unit/test_db_sql
FUZZ_TARGETS += tests/fuzz/fuzz_db_sql.c
INTEG_TESTS += tests/integ/db_backends.sh
# The store tests on PostgreSQL (tests/unit/testutil.h, tu_store_open).
INTEG_TESTS += tests/integ/store_pg.sh
# fedmigctl store copy: a SQLite store into a new PostgreSQL one.
INTEG_TESTS += tests/integ/store_copy_pg.sh
# fedmig-spm, -milter, -policyd and fedmigctl of the lab on PostgreSQL.
# The lab variants on PostgreSQL run in the plain build only: the
# sanitizer run covers the same code through their SQLite twins, and
# db_pg.c through store_pg and db_backends (README, "Try it, test it").
INTEG_TESTS += $(if $(SANITIZE),,tests/integ/spm_switch_pg.sh)
