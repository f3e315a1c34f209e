/*
 * switch - the switch (DESIGN.md "The switch, exactly"), written once for
 * both ways: hold the access address, let the grace run out, drain what
 * Postfix still has for the old physical address, switch the directory in
 * one transaction, release what was held. SW_FORWARD leads the address
 * from the source to the target (E8-E9); SW_BACK leads it back (the
 * rollback). The step names, which are also the crash_point labels the
 * tests look for, are the direction's: "E8 hold", "E8 drained",
 * "E9 switch", "E9 release" forward; "rollback hold", "rollback drained",
 * "rollback switch", "rollback unhold" back.
 *
 * Contract: every function returns a step result (pilot_int.h).
 * sw_hold() holds R's address in one transaction (forward: R goes to
 * held). sw_switch() does the grace and the drain, then the switch in one
 * transaction (forward: R goes to switched, and the mailbox copy is queued
 * in that transaction); a drain that fails ends the hold (forward: back
 * to address-formed and retried, or failed after max_retries; back: the
 * rollback is retried). sw_release() releases what was held (forward: the
 * release time and count recorded once on R; *N_R: how many, -1 when the
 * sweep failed). sw_unhold_tx() begins a transaction and lifts R's hold
 * in it (the caller commits with its own transition). sw_unhold() lifts a
 * hold left by a rollback that never switched back.
 *
 * The parts a group switch (switch_group.h) shares with the switch of
 * one, so both write the same fields and history: sw_hold_in() and
 * sw_switch_in() are the hold's and the switch's writes inside the
 * caller's transaction, at NOW, with GRP appended to the history detail
 * ("" alone); ERR after a store error (the caller rolls back).
 * sw_switched() follows a committed switch (its crash point, the
 * downward directory sync). sw_ended() ends a forward hold that could not
 * be switched (back to address-formed and retried, or failed after
 * max_retries); SWEEP 0 leaves the release sweep to the caller.
 *
 * The switch transaction leaves the address held: a transaction whose
 * RCPT saw the old physical address before the commit but whose MAIL
 * FROM came after the switch time would otherwise end neither held nor
 * "switched after its MAIL FROM" (the milter's rule) and reach the old
 * mailbox. sw_publish_in() lifts that hold inside the caller's
 * transaction, with NOW (taken after the switch's commit) as the switch
 * time; a no-op unless R still holds the address at its new physical
 * one. sw_release() publishes before its sweep (forward), sw_unhold()
 * after a rollback's switch, sw_publish_tx() begins a transaction and
 * publishes in it (the caller commits). sw_commit_hook() is a test hook
 * called just before a switch transaction commits
 * (FEDMIG_SPM_SWITCH_COMMIT_DELAY_MS: that long a commit).
 * sw_grace_us(): the wait from a hold to its drain: switch_grace, and
 * never less than twice socketmap_cache_time, so every socketmap answer
 * a policyd read before the hold has expired before the switch commits
 * (policyd/mapcache.h; twice: a margin for the hold's own commit). It is
 * counted from the hold, or from when this process began to lead when
 * that is later (pilot_set_led_at()), so a takeover never trusts another
 * host's clock for it.
 */
#ifndef FEDMIG_SPM_SWITCH_H
#define FEDMIG_SPM_SWITCH_H

#include "pilot_int.h"

enum sw_dir { SW_FORWARD, SW_BACK };

long long sw_grace_us(const struct config *cfg);
int sw_hold(struct pilot *p, struct req *r, enum sw_dir dir);
int sw_switch(struct pilot *p, struct req *r, enum sw_dir dir, long long held_since);
int sw_release(struct pilot *p, struct req *r, enum sw_dir dir, int *n_r);
int sw_unhold_tx(struct pilot *p, struct req *r);
int sw_unhold(struct pilot *p, struct req *r);
int sw_hold_in(struct pilot *p, struct req *r, enum sw_dir dir, long long now, const char *grp);
int sw_switch_in(struct pilot *p, struct req *r, enum sw_dir dir, long long now,
		 const char *grp);
void sw_switched(struct pilot *p, const struct req *r, enum sw_dir dir);
int sw_publish_in(struct pilot *p, struct req *r, enum sw_dir dir, long long now);
int sw_publish_tx(struct pilot *p, struct req *r);
void sw_commit_hook(const struct req *r);
int sw_ended(struct pilot *p, struct req *r, const char *why, int sweep);

#endif
