# policyd/: fedmig-policyd, the Postfix policy service and socketmap table.
POLICYD_OBJS := $(O)/policyd/policy_proto.o $(O)/policyd/netstring.o $(O)/policyd/decide.o $(O)/policyd/dirstore.o $(O)/policyd/peer.o $(O)/policyd/stats.o $(O)/policyd/nofile.o $(O)/policyd/mapcache.o
PART_LIBS += $(O)/policyd/libpolicyd.a
$(O)/policyd/libpolicyd.a: $(POLICYD_OBJS)

PROGRAMS += $(O)/policyd/fedmig-policyd
$(O)/policyd/fedmig-policyd: $(O)/policyd/main.o $(O)/policyd/libpolicyd.a $(LIBFEDMIG)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(EXT_LIBS)

UNIT_TESTS += $(O)/tests/unit/test_policy $(O)/tests/unit/test_socketmap $(O)/tests/unit/test_lookup_stats $(O)/tests/unit/test_mapcache
FUZZ_TARGETS += tests/fuzz/fuzz_policy.c tests/fuzz/fuzz_socketmap.c tests/fuzz/fuzz_lookup_stats.c
INTEG_TESTS += tests/integ/policyd_proto.sh

# bench/policyd and its C load generator (built by make, never installed).
BENCHES += bench/policyd
$(O)/bench/policy_load: $(O)/bench/policy_load.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ -lpthread
all: $(O)/bench/policy_load
MANPAGES += man/fedmig-policyd.8
INTEG_TESTS += tests/integ/policyd_postfix.sh
INTEG_TESTS += tests/integ/policyd_load.sh
