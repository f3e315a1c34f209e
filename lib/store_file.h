/*
 * store_file - watching the database file under an open SQLite handle.
 *
 * SQLite trusts the file it opened: a database truncated in place (a
 * backup restored with cp or rsync --inplace, truncate, a full disk
 * during a rewrite) is read through pages it cached before, and with
 * mmap a read past the new end kills the process with SIGBUS. The store
 * never maps the file (mmap_size=0); this module tells it, before each
 * lookup, whether the file is still the one opened and still whole.
 *
 * store_file_open: open PATH read-only (close-on-exec) and remember what
 * it is. 0, or -1 with the reason in ERR (ERRSIZE bytes).
 * store_file_check: 0 when nothing changed since the last check; 1 when
 * the file changed but looks whole (another process wrote it: the caller
 * drops its page cache, which may hold pages the file no longer has); -1
 * with the reason in ERR when PATH now names another file or none, or
 * the file is shorter than its header says, or is not a database at all.
 * Costs one fstatat() of the last component in the directory opened
 * with the file; a 100-byte pread() only after a change.
 * A file that stays broken stays -1; the caller reopens.
 */
#ifndef FEDMIG_STORE_FILE_H
#define FEDMIG_STORE_FILE_H

#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

struct store_file {
	int fd;
	int dirfd; /* the directory PATH was in: one component to walk per check */
	char *path;
	const char *base; /* PATH's last component, inside path */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

int store_file_open(struct store_file *f, const char *path, char *err, size_t errsize);
void store_file_close(struct store_file *f);
int store_file_check(struct store_file *f, char *err, size_t errsize);

#endif
