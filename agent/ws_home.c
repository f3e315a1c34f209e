/*
 * ws_home - the workstation's directories (ws_home.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ws_file.h"
#include "ws_home.h"
#include "ws_prefs.h"
#include "ws_profile.h"
#include "xalloc.h"

int ws_home_open(const char *tb_dir, struct ws_home *h, char **err_r)
{
	size_t n = strlen(tb_dir);
	const char *base;

	memset(h, 0, sizeof(*h));
	h->home_fd = -1;
	while (n > 1 && tb_dir[n - 1] == '/')
		n--;
	base = n >= 13 ? tb_dir + n - 13 : "";
	if (tb_dir[0] != '/' || strncmp(base, "/.thunderbird", 13) != 0 || n == 13) {
		*err_r = xasprintf("profile directory %s: not an absolute path ending in "
				   "/.thunderbird",
				   tb_dir);
		return -1;
	}
	h->home = n == 13 ? xstrdup("/") : xstrndup(tb_dir, n - 13);
	if (h->home[0] == '\0') {
		free(h->home);
		h->home = xstrdup("/");
	}
	h->home_fd = open(h->home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h->home_fd < 0) {
		*err_r = xasprintf("home directory %s: %s", h->home, strerror(errno));
		ws_home_close(h);
		return -1;
	}
	return 0;
}

int ws_home_profile(struct ws_home *h, char **err_r)
{
	struct ws_profiles l;
	char *err = NULL;
	int fd;

	if (ws_profiles_load(h->home_fd, h->home, &l, NULL, &err) < 0) {
		*err_r = xasprintf("no Thunderbird profile: %s", err);
		free(err);
		return -1;
	}
	if (l.def < 0) {
		*err_r = xstrdup("no Thunderbird profile is the default one");
		ws_profiles_free(&l);
		return -1;
	}
	free(h->profile);
	h->profile = xstrdup(l.v[l.def].rel);
	ws_profiles_free(&l);
	if ((fd = ws_open_rel(h->home_fd, h->profile, &err)) < 0) {
		*err_r = xasprintf("Thunderbird profile %s: %s", h->profile, err);
		free(err);
	}
	return fd;
}

int ws_home_local(int profile_fd, int *maildir_r, char **err_r)
{
	struct ws_prefs p;
	char *text, *rel = NULL, *err = NULL;
	size_t len;
	int fd, r;

	if ((r = ws_file_read(profile_fd, WS_PREFS_FILE, WS_PREFS_MAX, &text, &len, NULL, &err)) != 0) {
		*err_r = xasprintf("prefs.js: %s", r == -2 ? "none in the profile" : err);
		free(err);
		return -1;
	}
	ws_prefs_parse(text, len, &p);
	free(text);
	r = ws_prefs_local_folders(&p, &rel, maildir_r);
	ws_prefs_free(&p);
	if (r < 0)
		return -2;
	fd = ws_open_rel(profile_fd, rel, &err);
	if (fd < 0 && err != NULL && strstr(err, strerror(ENOENT)) != NULL)
		fd = -2; /* configured, never created: nothing to upload */
	else if (fd < 0)
		*err_r = xasprintf("Local Folders %s: %s", rel, err);
	free(err);
	free(rel);
	return fd;
}

void ws_home_close(struct ws_home *h)
{
	if (h->home_fd >= 0)
		close(h->home_fd);
	free(h->home);
	free(h->profile);
	memset(h, 0, sizeof(*h));
	h->home_fd = -1;
}
