/*
 * ws_check - the workstation checks before a switch (E20, again at E22):
 * the default Thunderbird profile, whether Thunderbird runs on it, what
 * the switch would change in prefs.js, the Local Folders' store and size,
 * and the free space beside prefs.js. Read only: nothing is written.
 *
 * Contract. ws_check_run fills C (ws_check_free frees it) and returns 0
 * when the checks could be made; C->failure is then NULL when the
 * request may go on, else the reason to stop it (E24 check-failed): no
 * profile, Thunderbird running, prefs.js unreadable, less than
 * WS_CHECK_MIN_FREE bytes free. No account on the old system is not a
 * failure (CHANGES 0: nothing to switch); no Local Folders neither.
 * Returns -1 with *err_r only for a SW that is not valid.
 */
#ifndef FEDMIG_AGENT_WS_CHECK_H
#define FEDMIG_AGENT_WS_CHECK_H

#include <sys/types.h>

#include "ws_prefs.h"

#define WS_CHECK_MIN_FREE (16ull << 20)

struct ws_check {
	char *profile;  /* the default profile, relative to the home; NULL none */
	pid_t pid;      /* Thunderbird's, when running */
	size_t changes; /* values the switch would change or add in prefs.js */
	char *lf_rel;   /* Local Folders, relative to the profile; NULL none */
	int lf_maildir;
	unsigned lf_folders, lf_skipped;
	unsigned long long lf_bytes, free_bytes;
	char *failure;
};

int ws_check_run(int home_fd, const char *home, const struct ws_switch *sw, struct ws_check *c,
		 char **err_r);
void ws_check_free(struct ws_check *c);

#endif
