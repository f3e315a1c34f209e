# tests/: the end-to-end runs over a whole private federation.
INTEG_TESTS += tests/integ/zero_loss.sh
BENCHES += bench/e2e
BENCHES += bench/imap_client
