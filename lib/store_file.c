#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_file.h"
#include "xalloc.h"

#define HEADER_MAGIC "SQLite format 3"

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void remember(struct store_file *f, const struct stat *st)
{
	f->size = st->st_size;
	f->mtime = st->st_mtim;
	f->ctime = st->st_ctim;
}

static int same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/*
 * whole: the file's header is a database's and the file is at least as
 * long as the header says. An empty file is not: store_open() writes a
 * new database to the file before it looks at it. Writers set a chunk
 * size (store.c) so a checkpoint grows the file before it writes the new
 * header: a reader never sees a longer header than file.
 */
static int whole(struct store_file *f, const struct stat *st, char *err, size_t errsize)
{
	unsigned char h[100];
	ssize_t n;
	uint32_t page, pages;

	if (st->st_size == 0) {
		snprintf(err, errsize,
			 "%s: empty (0 bytes): a database cut short? (restore it whole; or remove it "
			 "and fedmigctl check creates a new one)",
			 f->path);
		return -1;
	}
	n = pread(f->fd, h, sizeof(h), 0);
	if (n < 0) {
		snprintf(err, errsize, "read %s: %s", f->path, strerror(errno));
		return -1;
	}
	if (n < (ssize_t)sizeof(h) || memcmp(h, HEADER_MAGIC, sizeof(HEADER_MAGIC)) != 0) {
		snprintf(err, errsize, "%s: not a database any more (%lld bytes, no SQLite header)",
			 f->path, (long long)st->st_size);
		return -1;
	}
	page = (uint32_t)h[16] << 8 | h[17];
	if (page == 1)
		page = 65536;
	pages = be32(h + 28);
	/* The size in the header counts only when it is current (offset 92,
	 * "version-valid-for", equals the change counter at 24). */
	if (pages && be32(h + 92) == be32(h + 24) && (off_t)page * pages > st->st_size) {
		snprintf(err, errsize,
			 "%s: truncated: %lld bytes, its header says %lld (restore it whole, "
			 "then the daemons reopen it)",
			 f->path, (long long)st->st_size, (long long)page * pages);
		return -1;
	}
	return 0;
}

int store_file_open(struct store_file *f, const char *path, char *err, size_t errsize)
{
	struct stat st;

	char *slash;

	f->path = xstrdup(path);
	f->dirfd = -1;
	f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (f->fd < 0) {
		snprintf(err, errsize, "open %s: %s", path, strerror(errno));
		return -1;
	}
	/* Checked before every lookup: walking the whole path each time
	 * cost a quarter of a lookup. The directory itself being moved away
	 * is not a restore anyone does. */
	slash = strrchr(f->path, '/');
	f->base = slash ? slash + 1 : f->path;
	if (slash == f->path)
		f->dirfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	else if (slash) {
		*slash = '\0';
		f->dirfd = open(f->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		*slash = '/';
	} else
		f->dirfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (f->dirfd < 0) {
		snprintf(err, errsize, "open the directory of %s: %s", path, strerror(errno));
		store_file_close(f);
		return -1;
	}
	if (fstat(f->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsize, "%s: not a regular file", path);
		store_file_close(f);
		return -1;
	}
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	remember(f, &st);
	if (whole(f, &st, err, errsize) < 0) {
		store_file_close(f);
		return -1;
	}
	return 0;
}

void store_file_close(struct store_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->dirfd >= 0)
		close(f->dirfd);
	f->fd = f->dirfd = -1;
	free(f->path);
	f->path = NULL;
}

int store_file_check(struct store_file *f, char *err, size_t errsize)
{
	struct stat st;

	if (f->fd < 0) {
		snprintf(err, errsize, "%s: not open", f->path);
		return -1;
	}
	if (fstatat(f->dirfd, f->base, &st, 0) < 0) {
		snprintf(err, errsize, "stat %s: %s", f->path, strerror(errno));
		return -1;
	}
	if (st.st_dev != f->dev || st.st_ino != f->ino) {
		snprintf(err, errsize, "%s: replaced by another file (reopening)", f->path);
		return -1;
	}
	/* Same inode as the path: our descriptor's view is the same. */
	if (st.st_size == f->size && same_time(&st.st_mtim, &f->mtime) &&
	    same_time(&st.st_ctim, &f->ctime))
		return 0;
	if (whole(f, &st, err, errsize) < 0)
		return -1; /* remember nothing: check again next time */
	remember(f, &st);
	return 1;
}
