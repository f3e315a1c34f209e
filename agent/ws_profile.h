/*
 * ws_profile - the user's Thunderbird profiles: where they are
 * (~/.thunderbird/profiles.ini), which one Thunderbird opens by default,
 * and whether Thunderbird is running on one.
 *
 * Contract. ws_profiles_parse reads the INI text ([Section], Key=Value,
 * ';' and '#' comments, CRLF or LF) and keeps every [ProfileN] with a
 * usable Path: relative (IsRelative=1, the default) to ~/.thunderbird,
 * or absolute under HOME; in both the path is kept relative to HOME
 * (REL) and may have no empty, "." or ".." component and no control
 * byte; any other profile is dropped and counted in *dropped_r. The
 * default is the [Install...] section's Default= (Thunderbird 68 and
 * later), else the profile with Default=1, else the only profile; DEF is
 * -1 when there is none. ws_profiles_load reads HOME_FD/.thunderbird/
 * profiles.ini (at most WS_INI_MAX bytes); ws_profile_open opens REL
 * from HOME_FD one component at a time with O_NOFOLLOW, so a profile
 * reached through a symbolic link (~/.thunderbird itself included) is
 * refused: a link could take the rewrite of prefs.js out of the home.
 *
 * ws_profile_running: 1 when Thunderbird holds the profile (its "lock"
 * symbolic link names "ADDRESS:+PID" of a live process, or another
 * process holds the fcntl lock on ".parentlock"), with the PID in
 * *pid_r; 0 when not (no lock, or a stale one); -1 with *err_r. XXX a
 * lock of another host sharing the home (NFS) names a PID of that host:
 * the address is not compared with ours yet.
 */
#ifndef FEDMIG_AGENT_WS_PROFILE_H
#define FEDMIG_AGENT_WS_PROFILE_H

#include <stddef.h>
#include <sys/types.h>

#define WS_INI_MAX (64 * 1024)
#define WS_PATH_MAX 1024

struct ws_profile {
	char *name; /* Name=, or "" */
	char *rel;  /* the profile's directory relative to HOME */
};

struct ws_profiles {
	struct ws_profile *v;
	size_t n;
	int def;
};

void ws_profiles_parse(const char *text, size_t len, const char *home, struct ws_profiles *l,
		       unsigned *dropped_r);
void ws_profiles_free(struct ws_profiles *l);
int ws_profiles_load(int home_fd, const char *home, struct ws_profiles *l, unsigned *dropped_r,
		     char **err_r);
int ws_profile_open(int home_fd, const struct ws_profile *p, char **err_r);
/* ws_rel_ok: REL is a relative path of plain components (no empty, "."
 * or ".." one, no control byte, at most WS_PATH_MAX bytes). */
int ws_rel_ok(const char *rel);
/* ws_open_rel: the directory REL below BASE_FD, opened one component at
 * a time with O_NOFOLLOW; -1 with *err_r. */
int ws_open_rel(int base_fd, const char *rel, char **err_r);
int ws_profile_running(int profile_fd, pid_t *pid_r, char **err_r);

#endif
