/*
 * ws_home - from the agent's profile directory (~/.thunderbird) to the
 * open directories the workstation steps act on: the home, the default
 * profile, its Local Folders.
 *
 * Contract. TB_DIR is an absolute path whose last component is
 * ".thunderbird" (Thunderbird's own name: profiles.ini's relative paths
 * are relative to it, absolute ones must lie under its parent, the
 * home). ws_home_open fills H (ws_home_close frees it) and returns 0, or
 * -1 with *err_r (caller frees). ws_home_profile opens the default
 * profile (O_NOFOLLOW at every component). ws_home_local opens the
 * profile's Local Folders directory as prefs.js names it, with
 * *maildir_r 1 for the maildir store; -2 when there is none (nothing to
 * upload), -1 with *err_r.
 */
#ifndef FEDMIG_AGENT_WS_HOME_H
#define FEDMIG_AGENT_WS_HOME_H

struct ws_home {
	char *home;    /* TB_DIR's parent */
	int home_fd;
	char *profile; /* after ws_home_profile: relative to HOME */
};

int ws_home_open(const char *tb_dir, struct ws_home *h, char **err_r);
int ws_home_profile(struct ws_home *h, char **err_r);
int ws_home_local(int profile_fd, int *maildir_r, char **err_r);
void ws_home_close(struct ws_home *h);

#endif
