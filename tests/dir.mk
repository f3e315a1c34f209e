# tests/: directory sync and coexistence (issue 16) over two private slapd
# (tests/lab/ldaplab.sh) and the lab's Postfix and Dovecots.
INTEG_TESTS += tests/integ/dir_updown.sh tests/integ/dir_guards.sh tests/integ/dir_switch.sh
BENCHES += bench/dirsync
