# tests/: contacts and calendars (issue 15) between two real Radicale
# servers in the lab (tests/lab/lab start --pim, tests/lab/pimlab.py).
INTEG_TESTS += tests/integ/pim_copy.sh tests/integ/pim_twoway.sh tests/integ/pim_faults.sh
BENCHES += bench/pim
