/*
 * maildir - the checked pieces of the Maildir++ reader (maildir.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "maildir.h"
#include "proto.h"
#include "xalloc.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

int md_folder_ok(const char *name)
{
	if (!ap_text_ok(name, AP_FOLDER_MAX) || strcmp(name, "INBOX") == 0)
		return strcmp(name, "INBOX") == 0;
	/* No path, no empty hierarchy level ("a..b", ".a", "a."). */
	if (strchr(name, '/') != NULL || strstr(name, "..") != NULL || name[0] == '.' ||
	    name[strlen(name) - 1] == '.')
		return 0;
	return 1;
}

int md_key_ok(const char *base, size_t len)
{
	size_t i;

	if (len == 0 || len > MD_KEY_MAX || base[0] == '.')
		return 0;
	for (i = 0; i < len; i++)
		if (base[i] <= ' ' || base[i] >= 0x7f || base[i] == '/')
			return 0;
	return 1;
}

void md_names_add(struct md_names *l, const char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = xstrdup(s);
}

int md_names_has(const struct md_names *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

void md_names_free(struct md_names *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int md_list_dirs(int root, struct md_names *dirs, char **err_r)
{
	int fd = dup(root);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *de;
	struct stat st;

	if (d == NULL) {
		*err_r = xasprintf("read the Maildir: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(root, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (!md_folder_ok(de->d_name + 1) || strcmp(de->d_name + 1, "INBOX") == 0) {
			log_warn("Maildir folder directory skipped: not a safe folder name");
			continue;
		}
		md_names_add(dirs, de->d_name + 1);
	}
	closedir(d);
	if (dirs->n > 1)
		qsort(dirs->v, dirs->n, sizeof(*dirs->v), cmp_str);
	return 0;
}

void md_missing_parents(const struct md_names *dirs, struct md_names *parents)
{
	size_t i;
	char *p, *dot;

	for (i = 0; i < dirs->n; i++) {
		p = xstrdup(dirs->v[i]);
		while ((dot = strrchr(p, '.')) != NULL) {
			*dot = '\0';
			if (!md_names_has(dirs, p) && !md_names_has(parents, p))
				md_names_add(parents, p);
		}
		free(p);
	}
	if (parents->n > 1)
		qsort(parents->v, parents->n, sizeof(*parents->v), cmp_str);
}

/* read_small: the file NAME in FD, at most MD_FILE_MAX bytes; 1 if absent. */
static int read_small(int fd, const char *name, char **buf_r, size_t *len_r, char **err_r)
{
	int f = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	ssize_t n;

	*buf_r = NULL;
	if (f < 0 && errno == ENOENT)
		return 1;
	if (f < 0 || fstat(f, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MD_FILE_MAX) {
		*err_r = xasprintf("Maildir file %s: %s", name,
				   f < 0 ? strerror(errno) : "not a regular file of at most 1 MiB");
		if (f >= 0)
			close(f);
		return -1;
	}
	*buf_r = xmalloc((size_t)st.st_size + 1);
	n = read(f, *buf_r, (size_t)st.st_size);
	close(f);
	if (n < 0) {
		*err_r = xasprintf("read %s: %s", name, strerror(errno));
		free(*buf_r);
		return -1;
	}
	*len_r = (size_t)n;
	return 0;
}

void md_parse_subscriptions(const char *text, size_t len, struct md_names *subs)
{
	const char *p = text, *end = text + len, *nl;
	int header = len >= 2 && text[0] == 'V' && text[1] == '\t';

	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		char *name = xstrndup(p, (size_t)(nl - p));

		if (header) { /* "V\t2", then up to an empty line */
			header = *name != '\0';
			free(name);
			continue;
		}
		for (char *t = name; *t; t++)
			if (*t == '\t')
				*t = '.';
		name[strcspn(name, "\r")] = '\0';
		if (md_folder_ok(name) && !md_names_has(subs, name))
			md_names_add(subs, name);
		free(name);
	}
}

int md_read_subscriptions(int root, struct md_names *subs, char **err_r)
{
	char *buf;
	size_t len;
	int rc = read_small(root, "subscriptions", &buf, &len, err_r);

	if (rc != 0)
		return rc > 0 ? 0 : -1;
	md_parse_subscriptions(buf, len, subs);
	free(buf);
	return 0;
}

int md_open_folder(int root, const char *folder, char **err_r)
{
	char *name;
	int fd;

	if (!md_folder_ok(folder)) {
		*err_r = xstrdup("folder name refused: not a safe Maildir++ folder name");
		return -1;
	}
	if (strcmp(folder, "INBOX") == 0)
		return openat(root, ".", DIR_FLAGS);
	name = xasprintf(".%s", folder);
	fd = openat(root, name, DIR_FLAGS);
	free(name);
	if (fd < 0)
		*err_r = xasprintf("folder %s: %s", folder, strerror(errno));
	return fd;
}

static void list_add(struct md_list *l, const char *name, size_t blen, int in_new,
		     unsigned long long size)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = (struct md_entry){.name = xstrdup(name), .base = xstrndup(name, blen),
					 .in_new = in_new, .size = size};
}

/* scan_dir: SUB ("cur" or "new") of FD into L. */
static int scan_dir(int fd, const char *sub, struct md_list *l, char **err_r)
{
	int dfd = openat(fd, sub, DIR_FLAGS);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	struct dirent *de;
	struct stat st;

	if (d == NULL) {
		if (dfd >= 0)
			close(dfd);
		if (errno == ENOENT)
			return 0;
		*err_r = xasprintf("%s: %s", sub, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t blen = strcspn(de->d_name, ":");

		if (de->d_name[0] == '.')
			continue;
		if (!md_key_ok(de->d_name, blen)) {
			log_warn("Maildir message skipped: its name is not a safe key");
			continue;
		}
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		list_add(l, de->d_name, blen, strcmp(sub, "new") == 0,
			 (unsigned long long)st.st_size);
	}
	closedir(d);
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct md_entry *x = a, *y = b;
	int c = strcmp(x->base, y->base);

	return c ? c : x->in_new - y->in_new;
}

int md_scan(int fd, const char *cursor, struct md_list *l, char **err_r)
{
	size_t i, o;

	if (scan_dir(fd, "cur", l, err_r) < 0 || scan_dir(fd, "new", l, err_r) < 0)
		return -1;
	if (l->n > 1) /* v is NULL for an empty folder: qsort(NULL, 0) is undefined */
		qsort(l->v, l->n, sizeof(*l->v), cmp_entry);
	/* After the cursor only; one entry per key (a rename caught twice). */
	for (i = o = 0; i < l->n; i++) {
		if (strcmp(l->v[i].base, cursor) <= 0 ||
		    (o > 0 && strcmp(l->v[o - 1].base, l->v[i].base) == 0)) {
			free(l->v[i].name);
			free(l->v[i].base);
			continue;
		}
		l->v[o++] = l->v[i];
	}
	l->n = o;
	return 0;
}

void md_list_free(struct md_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].base);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* find_again: E's file in cur/ under its new flags; -2 when gone. */
static int find_again(int fd, const struct md_entry *e, char **err_r)
{
	struct md_list l = {0};
	int mfd = -2;
	size_t i;

	if (scan_dir(fd, "cur", &l, err_r) < 0)
		return -1;
	for (i = 0; i < l.n && mfd == -2; i++) {
		if (strcmp(l.v[i].base, e->base) != 0)
			continue;
		char *p = xasprintf("cur/%s", l.v[i].name);

		mfd = openat(fd, p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		free(p);
		if (mfd < 0)
			mfd = -2;
	}
	md_list_free(&l);
	return mfd;
}

int md_open_msg(int fd, const struct md_entry *e, char **err_r)
{
	char *p = xasprintf("%s/%s", e->in_new ? "new" : "cur", e->name);
	int mfd = openat(fd, p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	free(p);
	if (mfd >= 0)
		return mfd;
	if (errno == ENOENT)
		return find_again(fd, e, err_r);
	*err_r = xasprintf("open message %s: %s", e->base, strerror(errno));
	return -1;
}

/* atom_ok: a keyword IMAP can carry as an atom. */
static int atom_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || strchr("(){%*\"\\]", s[i]) != NULL)
			return 0;
	return i > 0 && i <= 200;
}

void md_parse_keywords(const char *text, size_t len, struct md_keywords *kw)
{
	const char *p = text, *end = text + len, *nl;
	char *line, *sp, *stop;
	long idx;

	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		line = xstrndup(p, (size_t)(nl - p));
		sp = strchr(line, ' ');
		if (sp != NULL && sp != line) {
			*sp = '\0';
			idx = strtol(line, &stop, 10);
			if (*stop == '\0' && idx >= 0 && idx < 26 && atom_ok(sp + 1) &&
			    kw->kw[idx] == NULL)
				kw->kw[idx] = xstrdup(sp + 1);
		}
		free(line);
	}
}

void md_read_keywords(int fd, struct md_keywords *kw)
{
	char *buf, *err = NULL;
	size_t len;
	int rc = read_small(fd, "dovecot-keywords", &buf, &len, &err);

	if (rc < 0) {
		log_warn("%s: keywords not copied", err);
		free(err);
	}
	if (rc != 0)
		return;
	md_parse_keywords(buf, len, kw);
	free(buf);
}

void md_keywords_free(struct md_keywords *kw)
{
	for (int i = 0; i < 26; i++) {
		free(kw->kw[i]);
		kw->kw[i] = NULL;
	}
}

/* add_flag: " FLAG" (no blank first) to BUF if it fits whole. */
static void add_flag(char *buf, size_t size, const char *flag)
{
	size_t n = strlen(buf);

	if (n + 1 + strlen(flag) < size)
		snprintf(buf + n, size - n, "%s%s", n ? " " : "", flag);
}

void md_flags(const char *name, const struct md_keywords *kw, char *buf, size_t size)
{
	static const char sys[] = "RFTSDP";
	static const char *const names[] = {"\\Answered", "\\Flagged", "\\Deleted",
					    "\\Seen",	  "\\Draft",   "$Forwarded"};
	const char *info = strstr(name, ":2,");
	size_t i;

	buf[0] = '\0';
	if (info == NULL)
		return;
	info += 3;
	for (i = 0; sys[i] != '\0'; i++)
		if (strchr(info, sys[i]) != NULL)
			add_flag(buf, size, names[i]);
	for (i = 0; i < 26; i++)
		if (strchr(info, (int)('a' + i)) != NULL && kw->kw[i] != NULL)
			add_flag(buf, size, kw->kw[i]);
}

void md_date(time_t t, char *buf, size_t size)
{
	static const char mon[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, size, "%02d-%s-%04d %02d:%02d:%02d +0000", tm.tm_mday, mon[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

size_t md_crlf(const char *in, size_t n, char *out, int *cr)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (in[i] == '\n' && !*cr)
			out[o++] = '\r';
		out[o++] = in[i];
		*cr = in[i] == '\r';
	}
	return o;
}
