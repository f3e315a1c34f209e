/*
 * ws_check - the checks before a workstation's switch (ws_check.h).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "ws_check.h"
#include "ws_file.h"
#include "ws_folders.h"
#include "ws_profile.h"
#include "xalloc.h"

static int add_folder(void *ctx, const struct ws_folder *f)
{
	struct ws_check *c = ctx;

	c->lf_folders++;
	c->lf_bytes += f->size;
	return 0;
}

/* local_folders: the Local Folders of the profile PFD that P names. */
static void local_folders(int pfd, const struct ws_prefs *p, struct ws_check *c)
{
	char *err = NULL;
	int fd;

	if (ws_prefs_local_folders(p, &c->lf_rel, &c->lf_maildir) < 0)
		return;
	fd = ws_open_rel(pfd, c->lf_rel, &err);
	if (fd < 0) {
		free(err); /* configured, never created: nothing to upload */
		return;
	}
	if (ws_folders(fd, add_folder, c, &c->lf_skipped, &err) < 0) {
		c->failure = xasprintf("Local Folders: %s", err ? err : "unreadable");
		free(err);
	}
	close(fd);
}

/* in_profile: the checks on the open profile PFD. */
static void in_profile(int pfd, const struct ws_switch *sw, struct ws_check *c)
{
	struct ws_prefs p;
	struct statvfs vfs;
	char *text, *out, *err = NULL;
	size_t len, olen;

	if (ws_profile_running(pfd, &c->pid, &err) != 0) {
		c->failure = err ? xasprintf("the profile's lock: %s", err)
				 : xasprintf("Thunderbird is running (pid %ld)", (long)c->pid);
		free(err);
		return;
	}
	if (ws_file_read(pfd, WS_PREFS_FILE, WS_PREFS_MAX, &text, &len, NULL, &err) != 0) {
		c->failure = xasprintf("prefs.js: %s", err);
		free(err);
		return;
	}
	ws_prefs_parse(text, len, &p);
	free(text);
	ws_prefs_rewrite(&p, sw, &out, &olen, &c->changes);
	free(out);
	local_folders(pfd, &p, c);
	ws_prefs_free(&p);
	if (fstatvfs(pfd, &vfs) == 0)
		c->free_bytes = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
	if (c->failure == NULL && c->free_bytes < WS_CHECK_MIN_FREE)
		c->failure = xasprintf("%llu bytes free beside prefs.js", c->free_bytes);
}

int ws_check_run(int home_fd, const char *home, const struct ws_switch *sw, struct ws_check *c,
		 char **err_r)
{
	struct ws_profiles l;
	char *err = NULL;
	int pfd;

	memset(c, 0, sizeof(*c));
	if (ws_switch_ok(sw, err_r) < 0)
		return -1;
	if (ws_profiles_load(home_fd, home, &l, NULL, &err) < 0 || l.def < 0) {
		c->failure = xasprintf("no Thunderbird profile: %s", err ? err : "none is the default");
		free(err);
		if (err == NULL)
			ws_profiles_free(&l);
		return 0;
	}
	c->profile = xstrdup(l.v[l.def].rel);
	ws_profiles_free(&l);
	pfd = ws_open_rel(home_fd, c->profile, &err);
	if (pfd < 0) {
		c->failure = xasprintf("the profile: %s", err);
		free(err);
		return 0;
	}
	in_profile(pfd, sw, c);
	close(pfd);
	return 0;
}

void ws_check_free(struct ws_check *c)
{
	free(c->profile);
	free(c->lf_rel);
	free(c->failure);
	memset(c, 0, sizeof(*c));
}
