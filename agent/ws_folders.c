/*
 * ws_folders - the Local Folders tree walker (ws_folders.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ws_folders.h"
#include "xalloc.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

struct names {
	char **v;
	size_t n;
};

struct walk {
	ws_folder_fn *fn;
	void *ctx;
	unsigned skipped;
	char **err_r;
};

int ws_utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned cp;
	int n, i;

	while (*p) {
		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				return 0;
			p++;
			continue;
		}
		n = (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
		if (n < 0)
			return 0;
		cp = *p & (0x3f >> n);
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond Unicode: not text. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff)
			return 0;
		p += n + 1;
	}
	return 1;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* list: the names in directory FD but "." and "..", sorted. */
static int list(int fd, struct names *l, char **err_r)
{
	int d = dup(fd);
	DIR *dir = d < 0 ? NULL : fdopendir(d);
	struct dirent *e;

	memset(l, 0, sizeof(*l));
	if (dir == NULL) {
		*err_r = xasprintf("opendir: %s", strerror(errno));
		if (d >= 0)
			close(d);
		return -1;
	}
	rewinddir(dir);
	while ((errno = 0, e = readdir(dir)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		l->v[l->n++] = xstrdup(e->d_name);
	}
	closedir(dir);
	if (l->n > 0) /* qsort's and bsearch's base must not be NULL */
		qsort(l->v, l->n, sizeof(*l->v), cmp);
	return 0;
}

static void names_free(struct names *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int has(const struct names *l, const char *s)
{
	return l->n > 0 && bsearch(&s, l->v, l->n, sizeof(*l->v), cmp) != NULL;
}

static int ends(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Thunderbird's own files beside the folders: never mail. */
static int housekeeping(const char *n)
{
	static const char *const suffix[] = {".msf", ".dat", ".html", ".json", ".bak",
					     ".tmp", ".lock", ".sqlite", ".mab"};
	size_t i;

	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++)
		if (ends(n, suffix[i]))
			return 1;
	return 0;
}

struct md_size {
	unsigned long long size, count;
};

static int add_size(void *ctx, int dirfd, const char *sub, const char *name)
{
	struct md_size *s = ctx;
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		s->size += (unsigned long long)st.st_size;
		s->count++;
	}
	return 0;
}

static int walk(struct walk *w, int dirfd, const char *prefix, int depth);

/* one: the entry NAME of DIRFD (not a .sbd), as a folder when it is one,
 * then its NAME.sbd. */
static int one(struct walk *w, int dirfd, const struct names *l, const char *name,
	       const char *path, int depth)
{
	struct ws_folder f = {path, WS_FOLDER_PARENT, -1, 0, 0};
	struct md_size ms = {0, 0};
	char *sbd = xasprintf("%s.sbd", name);
	struct stat st = {0};
	int r = 0, cur, sub;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
		w->skipped += S_ISLNK(st.st_mode) != 0;
		goto sbd; /* a link, a socket, gone: no folder; its .sbd may be one */
	}
	f.fd = openat(dirfd, name, S_ISDIR(st.st_mode) ? DIR_FLAGS : O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (f.fd < 0)
		goto sbd;
	if (S_ISREG(st.st_mode)) {
		f.kind = WS_FOLDER_MBOX;
		f.size = (unsigned long long)st.st_size;
	} else if ((cur = openat(f.fd, "cur", DIR_FLAGS)) >= 0) {
		close(cur);
		f.kind = WS_FOLDER_MAILDIR;
		r = ws_maildir_each(f.fd, add_size, &ms, w->err_r);
		f.size = ms.size;
		f.count = ms.count;
	} else {
		close(f.fd); /* a directory that is no maildir: not a folder */
		f.fd = -1;
		goto sbd;
	}
	if (r == 0 && w->fn(w->ctx, &f) < 0) {
		*w->err_r = NULL;
		r = -1;
	}
	close(f.fd);
	f.fd = -1;
	if (r < 0)
		goto out;
	goto children;
sbd:
	if (!has(l, sbd))
		goto out;
	f.kind = WS_FOLDER_PARENT;
	f.fd = -1;
	if (w->fn(w->ctx, &f) < 0) {
		*w->err_r = NULL;
		r = -1;
		goto out;
	}
children:
	if (has(l, sbd) && (sub = openat(dirfd, sbd, DIR_FLAGS)) >= 0) {
		r = walk(w, sub, path, depth + 1);
		close(sub);
	}
out:
	free(sbd);
	return r;
}

/* visit: NAME of DIRFD (whose listing is L) as the folder PREFIX/NAME. */
static int visit(struct walk *w, int dirfd, const struct names *l, const char *name,
		 const char *prefix, int depth)
{
	char *path = prefix ? xasprintf("%s/%s", prefix, name) : xstrdup(name);
	int r = 0;

	if (strlen(path) <= WS_FOLDER_MAX)
		r = one(w, dirfd, l, name, path, depth);
	else
		w->skipped++;
	free(path);
	return r;
}

static int walk(struct walk *w, int dirfd, const char *prefix, int depth)
{
	struct names l;
	char *base;
	size_t i;
	int r = 0;

	if (depth >= WS_DEPTH_MAX) {
		w->skipped++;
		return 0;
	}
	if (list(dirfd, &l, w->err_r) < 0)
		return -1;
	for (i = 0; i < l.n && r == 0; i++) {
		if (housekeeping(l.v[i]))
			continue;
		/* X.sbd alone: X is given as its parent, from X's turn. */
		if (ends(l.v[i], ".sbd")) {
			base = xstrndup(l.v[i], strlen(l.v[i]) - 4);
			if (!has(&l, base) && base[0] != '\0' && base[0] != '.' && ws_utf8_ok(base))
				r = visit(w, dirfd, &l, base, prefix, depth);
			free(base);
		} else if (l.v[i][0] == '.' || !ws_utf8_ok(l.v[i])) {
			w->skipped++;
		} else {
			r = visit(w, dirfd, &l, l.v[i], prefix, depth);
		}
	}
	names_free(&l);
	return r;
}

int ws_folders(int root_fd, ws_folder_fn *fn, void *ctx, unsigned *skipped_r, char **err_r)
{
	struct walk w = {fn, ctx, 0, err_r};
	int r;

	*err_r = NULL;
	r = walk(&w, root_fd, NULL, 0);
	if (skipped_r != NULL)
		*skipped_r = w.skipped;
	return r;
}

static int each_in(int folder_fd, const char *sub, ws_file_fn *fn, void *ctx, char **err_r)
{
	int fd = openat(folder_fd, sub, DIR_FLAGS), r = 0;
	struct names l;
	struct stat st;
	size_t i;

	if (fd < 0)
		return errno == ENOENT ? 0 : (*err_r = xasprintf("open(%s): %s", sub, strerror(errno)), -1);
	if (list(fd, &l, err_r) < 0) {
		close(fd);
		return -1;
	}
	for (i = 0; i < l.n && r == 0; i++) {
		if (l.v[i][0] == '.' || fstatat(fd, l.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (fn(ctx, fd, sub, l.v[i]) < 0) {
			*err_r = NULL;
			r = -1;
		}
	}
	names_free(&l);
	close(fd);
	return r;
}

int ws_maildir_each(int folder_fd, ws_file_fn *fn, void *ctx, char **err_r)
{
	*err_r = NULL;
	if (each_in(folder_fd, "cur", fn, ctx, err_r) < 0)
		return -1;
	return each_in(folder_fd, "new", fn, ctx, err_r);
}
