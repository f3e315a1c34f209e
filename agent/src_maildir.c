/*
 * src_maildir - a Maildir++ read as Dovecot's IMAP server would present
 * it (source.h): INBOX the root, ".Sub.Folder" the folder Sub.Folder
 * (separator '.'), flags from ":2,", keywords a-z by dovecot-keywords,
 * INTERNALDATE the file's mtime, the "subscriptions" file, bare LF as
 * CRLF. Read only, and never out of the tree: every name the tree or the
 * server gives is checked, and every open is relative to the root with
 * O_NOFOLLOW, so a symbolic link is neither a folder nor a message.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "maildir.h"
#include "source.h"
#include "xalloc.h"

struct md_src {
	struct source base;
	char *root;
};

/* open_root: the Maildir's root directory; errno set on failure. */
static int open_root(const struct md_src *m)
{
	return open(m->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static int md_test(struct source *s, int *permanent_r, char **err_r)
{
	struct md_src *m = (struct md_src *)s;
	int fd = open_root(m), cur;

	*permanent_r = 0;
	if (fd < 0) {
		*permanent_r = errno == ENOENT || errno == ENOTDIR || errno == ELOOP;
		*err_r = xasprintf("Maildir %s: %s", m->root, strerror(errno));
		return -1;
	}
	cur = openat(fd, "cur", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cur < 0) {
		*permanent_r = errno == ENOENT || errno == ENOTDIR || errno == ELOOP;
		*err_r = xasprintf("Maildir %s/cur: %s", m->root, strerror(errno));
		close(fd);
		return -1;
	}
	close(cur);
	close(fd);
	return 0;
}

/* emit_folders: INBOX, the folders found, their missing parents
 * (\Noselect, as Dovecot lists them), then every subscription. */
static int emit_folders(struct md_names *dirs, struct md_names *subs,
			int (*folder)(void *ctx, const struct drv_folder *f), void *ctx)
{
	struct md_names parents = {0};
	size_t i;
	int rc = 0;

	md_missing_parents(dirs, &parents);
	rc = folder(ctx, &(struct drv_folder){.name = "INBOX", .sep = '.'});
	for (i = 0; rc == 0 && i < dirs->n; i++)
		rc = folder(ctx, &(struct drv_folder){.name = dirs->v[i], .sep = '.'});
	for (i = 0; rc == 0 && i < parents.n; i++)
		rc = folder(ctx, &(struct drv_folder){.name = parents.v[i], .sep = '.',
						      .attrs = DRV_F_NOSELECT});
	for (i = 0; rc == 0 && i < subs->n; i++) {
		/* INBOX, the root, is in no directory listing but always exists. */
		unsigned attrs = strcmp(subs->v[i], "INBOX") == 0 || md_names_has(dirs, subs->v[i]) ? 0
				 : md_names_has(&parents, subs->v[i]) ? DRV_F_NOSELECT
								      : DRV_F_NOSELECT | DRV_F_NONEXISTENT;

		rc = folder(ctx, &(struct drv_folder){.name = subs->v[i], .sep = '.',
						      .attrs = attrs, .subscribed = 1});
	}
	md_names_free(&parents);
	return rc;
}

static int md_list(struct source *s, int (*folder)(void *ctx, const struct drv_folder *f),
		   void *ctx, char **err_r)
{
	struct md_src *m = (struct md_src *)s;
	struct md_names dirs = {0}, subs = {0};
	int fd = open_root(m), rc;

	if (fd < 0) {
		*err_r = xasprintf("Maildir %s: %s", m->root, strerror(errno));
		return -1;
	}
	rc = md_list_dirs(fd, &dirs, err_r);
	if (rc == 0)
		rc = md_read_subscriptions(fd, &subs, err_r);
	close(fd);
	if (rc == 0 && (rc = emit_folders(&dirs, &subs, folder, ctx)) < 0)
		*err_r = NULL;
	md_names_free(&dirs);
	md_names_free(&subs);
	return rc;
}

/* copy_body: FD's bytes to EMIT with bare LF as CRLF (IMAP's form). */
static int copy_body(int fd, const struct src_emit *emit, const char *name, char **err_r)
{
	char in[65536], out[2 * sizeof(in)];
	int cr = 0;
	ssize_t n;

	while ((n = read(fd, in, sizeof(in))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*err_r = xasprintf("read %s: %s", name, strerror(errno));
			return -1;
		}
		size_t o = md_crlf(in, (size_t)n, out, &cr);

		if (emit->data(emit->ctx, out, o) < 0) {
			*err_r = NULL;
			return -1;
		}
	}
	return 0;
}

/* emit_one: message E of folder FD; 1 when it vanished (expunged). */
static int emit_one(int fd, const struct md_entry *e, const struct md_keywords *kw,
		    const struct src_emit *emit, char **err_r)
{
	char flags[1024], date[64];
	struct stat st;
	int mfd = md_open_msg(fd, e, err_r);

	if (mfd == -2)
		return 1;
	if (mfd < 0)
		return -1;
	if (fstat(mfd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*err_r = xasprintf("%s: not a regular file", e->name);
		close(mfd);
		return -1;
	}
	md_flags(e->name, kw, flags, sizeof(flags));
	md_date(st.st_mtime, date, sizeof(date));
	int rc = emit->begin(emit->ctx, e->base, flags, date) < 0 ? -1
		 : copy_body(mfd, emit, e->name, err_r) < 0	   ? -1
		 : emit->end(emit->ctx) < 0			   ? -1
								   : 0;
	close(mfd);
	return rc;
}

static int md_items(struct source *s, const char *folder, const char *cursor,
		    long long max_items, long long max_bytes, const struct src_emit *emit,
		    char **cursor_r, int *more_r, char **err_r)
{
	struct md_src *m = (struct md_src *)s;
	struct md_list l = {0};
	struct md_keywords kw = {0};
	int root = open_root(m), fd = -1, rc = -1;
	size_t i, take;
	long long bytes = 0;

	*err_r = NULL;
	*cursor_r = xstrdup(cursor);
	if (root < 0) {
		*err_r = xasprintf("Maildir %s: %s", m->root, strerror(errno));
		return -1;
	}
	if ((fd = md_open_folder(root, folder, err_r)) < 0 || md_scan(fd, cursor, &l, err_r) < 0)
		goto out;
	md_read_keywords(fd, &kw);
	for (take = 0; take < l.n && take < (size_t)max_items; take++) {
		if (take > 0 && bytes + (long long)l.v[take].size > max_bytes)
			break;
		bytes += (long long)l.v[take].size;
	}
	for (i = 0, rc = 0; rc == 0 && i < take; i++) {
		if ((rc = emit_one(fd, &l.v[i], &kw, emit, err_r)) > 0)
			rc = 0; /* expunged meanwhile: as if never there */
		if (rc == 0) {
			free(*cursor_r);
			*cursor_r = xstrdup(l.v[i].base);
		}
	}
	*more_r = take < l.n;
out:
	md_keywords_free(&kw);
	md_list_free(&l);
	if (fd >= 0)
		close(fd);
	close(root);
	return rc;
}

static void md_free(struct source *s)
{
	struct md_src *m = (struct md_src *)s;

	free(m->root);
	free(m);
}

static const struct source_ops md_ops = {
	.test = md_test, .list = md_list, .items = md_items, .free = md_free};

struct source *src_maildir_new(const char *root)
{
	struct md_src *m = xcalloc(1, sizeof(*m));

	m->base.ops = &md_ops;
	m->root = xstrdup(root);
	return &m->base;
}
