/*
 * switch_group - the group switch (DESIGN.md "The switch, exactly"):
 * addresses whose switch is due in the same pilot pass, on the same
 * target system, switch together, at most switch_group_max at a time:
 * ONE hold transaction for all (every address held before the grace
 * starts), one grace, one drain (one round of postqueue scans and
 * postsuper holds for all their old physical addresses), ONE switch
 * transaction (every directory change, every request to switched, every
 * copy job queued) and one release sweep. Each request keeps its own
 * states and history lines (the same steps and crash_point labels as the
 * switch of one, switch.h), the detail naming the group: "(group ID of
 * N)", ID its smallest request id.
 *
 * Contract: sw_group_pass() takes the N request ids the pass stopped at a
 * switch (address-formed, held, or switched and not yet released; no
 * order), forms the groups in id order (a group's id is its smallest
 * request id) and runs every group of two or more; a request alone for its target is left to the switch of one. It
 * returns how many steps it made, or -1 on a store error (logged). A
 * member whose E5-E7 verification fails leaves the group (as the switch
 * of one: sync-mismatch, retried or failed); a drain that fails ends the
 * hold of the whole group (every member back to address-formed and
 * retried, or failed after max_retries), then one sweep. Every phase
 * reads its members again inside its transaction and takes only those in
 * the phase's state: a crash between any two phases resumes the next
 * time they are due together (or one by one), each held address switched
 * or released exactly once.
 */
#ifndef FEDMIG_SPM_SWITCH_GROUP_H
#define FEDMIG_SPM_SWITCH_GROUP_H

#include <stddef.h>

#include "pilot_int.h"

int sw_group_pass(struct pilot *p, const long long *due, size_t n);

#endif
