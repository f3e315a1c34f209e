#!/usr/bin/env bash
# spm_switch_lab's switches under load (real Postfix, milter, Dovecot),
# with two Postfix front ends (tests/integ/lib_fe.sh): two labs' Postfix,
# each with its fedmig-milter, fedmig-policyd and fedmig-frontend on one
# store, mail flowing into both. Every message exactly once, none at S1
# after its switch, nothing left in either queue; both front ends drained.
SPM_LAB_FRONTENDS=1 exec "$(dirname "$0")/spm_switch_lab.sh"
