# milter/: fedmig-milter, the libmilter filter that holds mail during a switch.
MILTER_OBJS := $(O)/milter/filter.o $(O)/milter/decide.o $(O)/milter/txn.o
PROGRAMS += $(O)/milter/fedmig-milter
PART_LIBS += $(O)/milter/libfedmig-milter.a
$(O)/milter/libfedmig-milter.a: $(MILTER_OBJS)
$(O)/milter/fedmig-milter: $(O)/milter/main.o $(O)/milter/libfedmig-milter.a $(LIBFEDMIG)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(EXT_LIBS)
UNIT_TESTS += $(O)/tests/unit/test_milter
$(O)/tests/unit/test_milter.o: ALL_CFLAGS += -Imilter
INTEG_TESTS += tests/integ/milter_scenarios.sh
MANPAGES += man/fedmig-milter.8
INTEG_TESTS += tests/integ/milter_postfix.sh
FUZZ_TARGETS += tests/fuzz/fuzz_milter_rcpt.c
$(O)/tests/fuzz/fuzz_milter_rcpt.o: ALL_CFLAGS += -Imilter
