# tests/: the end-to-end runs over a whole private federation.
INTEG_TESTS += tests/integ/zero_loss.sh
BENCHES += bench/e2e
BENCHES += bench/imap_client
BENCHES += bench/soak
$(O)/bench/noop_milter: $(O)/bench/noop_milter.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(MILTER_LIBS)
