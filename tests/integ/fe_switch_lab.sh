#!/usr/bin/env bash
# spm_switch_lab's switches under load (real Postfix, milter, Dovecot),
# through two registered front ends (tests/integ/lib_fe.sh): the lab's
# Postfix as front end "a" with its fedmig-frontend, and a front end "b"
# with an empty queue. Every message exactly once, none at S1 after its
# switch, nothing left on hold; both front ends drained, a released.
SPM_LAB_FRONTENDS=1 exec "$(dirname "$0")/spm_switch_lab.sh"
