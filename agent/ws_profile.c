/*
 * ws_profile - profiles.ini, the profile's directory, its lock
 * (ws_profile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ws_file.h"
#include "ws_profile.h"
#include "xalloc.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* One [Section] being read. */
struct sect {
	int profile, install;
	char *name, *path, *install_def;
	int relative, is_default;
};

int ws_rel_ok(const char *p)
{
	const char *s = p, *e;
	size_t n;

	if (*p == '\0' || *p == '/' || p[strlen(p) - 1] == '/' || strlen(p) > WS_PATH_MAX)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	for (s = p; *s; s = *e ? e + 1 : e) {
		e = strchrnul(s, '/');
		n = (size_t)(e - s);
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
	}
	return 1;
}

/* rel_of: S's path relative to HOME, or NULL when it leaves HOME. */
static char *rel_of(const struct sect *s, const char *home)
{
	size_t h = strlen(home);
	char *r;

	while (h > 1 && home[h - 1] == '/')
		h--;
	if (s->relative)
		r = xasprintf(".thunderbird/%s", s->path);
	else if (home[0] == '/' && strncmp(s->path, home, h) == 0 && s->path[h] == '/')
		r = xstrdup(s->path + h + 1);
	else
		return NULL;
	if (!ws_rel_ok(r)) {
		free(r);
		return NULL;
	}
	return r;
}

static void sect_end(struct sect *s, const char *home, struct ws_profiles *l, char **install_def,
		     unsigned *dropped)
{
	char *rel;

	if (s->install && s->install_def && *install_def == NULL) {
		*install_def = s->install_def;
		s->install_def = NULL;
	}
	if (s->profile) {
		rel = s->path ? rel_of(s, home) : NULL;
		if (rel == NULL) {
			(*dropped)++;
		} else {
			l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
			l->v[l->n].name = xstrdup(s->name ? s->name : "");
			l->v[l->n].rel = rel;
			if (s->is_default && l->def < 0)
				l->def = (int)l->n;
			l->n++;
		}
	}
	free(s->name);
	free(s->path);
	free(s->install_def);
	memset(s, 0, sizeof(*s));
	s->relative = 1;
}

static void keyval(struct sect *s, const char *k, const char *v)
{
	if (s->profile && strcasecmp(k, "Name") == 0 && s->name == NULL)
		s->name = xstrdup(v);
	else if (s->profile && strcasecmp(k, "Path") == 0 && s->path == NULL)
		s->path = xstrdup(v);
	else if (s->profile && strcasecmp(k, "IsRelative") == 0)
		s->relative = strcmp(v, "0") != 0;
	else if (s->profile && strcasecmp(k, "Default") == 0)
		s->is_default = strcmp(v, "1") == 0;
	else if (s->install && strcasecmp(k, "Default") == 0 && s->install_def == NULL)
		s->install_def = xstrdup(v);
}

/* A line, without its end, trimmed of blanks at both ends. */
static void ini_line(char *t, struct sect *s, const char *home, struct ws_profiles *l,
		     char **install_def, unsigned *dropped)
{
	char *eq, *e = t + strlen(t);

	while (*t == ' ' || *t == '\t')
		t++;
	while (e > t && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	if (*t == '\0' || *t == ';' || *t == '#')
		return;
	if (*t == '[') {
		sect_end(s, home, l, install_def, dropped);
		s->profile = strncasecmp(t, "[Profile", 8) == 0 && e[-1] == ']';
		s->install = strncasecmp(t, "[Install", 8) == 0 && e[-1] == ']';
		return;
	}
	if ((eq = strchr(t, '=')) == NULL)
		return;
	*eq = '\0';
	for (e = eq; e > t && (e[-1] == ' ' || e[-1] == '\t'); e--)
		e[-1] = '\0';
	for (eq++; *eq == ' ' || *eq == '\t'; eq++)
		;
	keyval(s, t, eq);
}

void ws_profiles_parse(const char *text, size_t len, const char *home, struct ws_profiles *l,
		       unsigned *dropped_r)
{
	struct sect s = {0};
	char *copy = xstrndup(text, len), *line, *save = NULL, *install_def = NULL, *rel;
	unsigned dropped = 0;
	size_t i;

	memset(l, 0, sizeof(*l));
	l->def = -1;
	s.relative = 1;
	/* strtok_r skips empty lines; a NUL inside ends the text. */
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		ini_line(line, &s, home, l, &install_def, &dropped);
	sect_end(&s, home, l, &install_def, &dropped);
	if (install_def != NULL) {
		/* The Install section names a profile by its Path= as written:
		 * relative to ~/.thunderbird, or absolute. */
		struct sect t = {.path = install_def, .relative = install_def[0] != '/'};

		rel = rel_of(&t, home);
		for (i = 0; rel != NULL && i < l->n; i++)
			if (strcmp(l->v[i].rel, rel) == 0)
				l->def = (int)i;
		free(rel);
		free(install_def);
	}
	if (l->def < 0 && l->n == 1)
		l->def = 0;
	if (dropped_r != NULL)
		*dropped_r = dropped;
	free(copy);
}

void ws_profiles_free(struct ws_profiles *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].rel);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
	l->def = -1;
}

int ws_profiles_load(int home_fd, const char *home, struct ws_profiles *l, unsigned *dropped_r,
		     char **err_r)
{
	int fd = openat(home_fd, ".thunderbird", DIR_FLAGS), r;
	char *text;
	size_t len;

	if (fd < 0) {
		*err_r = xasprintf("open(~/.thunderbird): %s", strerror(errno));
		return -1;
	}
	r = ws_file_read(fd, "profiles.ini", WS_INI_MAX, &text, &len, NULL, err_r);
	close(fd);
	if (r != 0)
		return -1;
	ws_profiles_parse(text, len, home, l, dropped_r);
	free(text);
	return 0;
}

int ws_open_rel(int base_fd, const char *rel, char **err_r)
{
	char *copy, *c, *save = NULL;
	int fd, next;

	if (!ws_rel_ok(rel)) {
		*err_r = xasprintf("not a relative path of plain names");
		return -1;
	}
	copy = xstrdup(rel);
	fd = dup(base_fd);
	if (fd < 0)
		*err_r = xasprintf("dup: %s", strerror(errno));
	for (c = strtok_r(copy, "/", &save); c != NULL && fd >= 0; c = strtok_r(NULL, "/", &save)) {
		next = openat(fd, c, DIR_FLAGS);
		if (next < 0)
			*err_r = xasprintf("open(%s): %s at \"%s\"", rel,
					   errno == ELOOP || errno == ENOTDIR
						   ? "a symbolic link or not a directory"
						   : strerror(errno),
					   c);
		close(fd);
		fd = next;
	}
	free(copy);
	return fd;
}

int ws_profile_open(int home_fd, const struct ws_profile *p, char **err_r)
{
	return ws_open_rel(home_fd, p->rel, err_r);
}

static int alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

int ws_profile_running(int profile_fd, pid_t *pid_r, char **err_r)
{
	char target[256], *p, *end;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	ssize_t n = readlinkat(profile_fd, "lock", target, sizeof(target) - 1);
	long pid;
	int fd;

	*pid_r = 0;
	if (n > 0) {
		target[n] = '\0';
		p = strstr(target, ":+");
		pid = p ? strtol(p + 2, &end, 10) : 0;
		if (p && *end == '\0' && pid > 0 && pid < (1L << 30) && alive((pid_t)pid)) {
			*pid_r = (pid_t)pid;
			return 1;
		}
	}
	fd = openat(profile_fd, ".parentlock", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	if (fcntl(fd, F_GETLK, &fl) < 0) {
		*err_r = xasprintf("fcntl(.parentlock, F_GETLK): %s", strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (fl.l_type == F_UNLCK)
		return 0;
	*pid_r = fl.l_pid;
	return 1;
}
