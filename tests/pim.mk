# tests/: contacts and calendars (issue 15) between two real Radicale
# servers in the lab (tests/lab/lab start --pim, tests/lab/pimlab.py).
INTEG_TESTS += tests/integ/pim_faults.sh
# Under the sanitizers only (the vCard and iCalendar parsers tell most
# there), to keep CI under an hour.
INTEG_TESTS += $(if $(SANITIZE),tests/integ/pim_copy.sh tests/integ/pim_twoway.sh)
BENCHES += bench/pim
