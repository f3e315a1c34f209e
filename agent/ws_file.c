/*
 * ws_file - careful reads and atomic replacement in a profile (ws_file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ws_file.h"
#include "xalloc.h"

int ws_name_ok(const char *name)
{
	return name[0] != '\0' && strchr(name, '/') == NULL && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0 && strlen(name) < 200;
}

int ws_file_read(int dirfd, const char *name, size_t max, char **buf_r, size_t *len_r,
		 mode_t *mode_r, char **err_r)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	char *buf;
	int fd;

	if (!ws_name_ok(name)) {
		*err_r = xasprintf("bad file name");
		return -1;
	}
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		*err_r = xasprintf("open(%s): %s", name, strerror(errno));
		return errno == ENOENT ? -2 : -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		*err_r = xasprintf("%s: not a regular file of at most %zu bytes", name, max);
		close(fd);
		return -1;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	/* Read to EOF, not to st_size: the file may change under us, and a
	 * file grown past MAX is refused rather than cut. */
	for (;;) {
		n = read(fd, buf + got, (size_t)st.st_size + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got > (size_t)st.st_size)
			break;
	}
	close(fd);
	if (n < 0 || got > (size_t)st.st_size) {
		*err_r = n < 0 ? xasprintf("read(%s): %s", name, strerror(errno))
			       : xasprintf("%s: changed while read", name);
		free(buf);
		return -1;
	}
	buf[got] = '\0';
	*buf_r = buf;
	*len_r = got;
	if (mode_r != NULL)
		*mode_r = st.st_mode & 07777;
	return 0;
}

static int write_all(int fd, const char *d, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, d, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		d += n;
		len -= (size_t)n;
	}
	return 0;
}

int ws_file_replace(int dirfd, const char *name, const char *data, size_t len, mode_t mode,
		    char **err_r)
{
	char tmp[256];
	int fd, e;

	if (!ws_name_ok(name)) {
		*err_r = xasprintf("bad file name");
		return -1;
	}
	snprintf(tmp, sizeof(tmp), ".%s.fedmig-%ld", name, (long)getpid());
	(void)unlinkat(dirfd, tmp, 0); /* ours, from a run that died */
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777);
	if (fd < 0) {
		*err_r = xasprintf("open(%s): %s", tmp, strerror(errno));
		return -1;
	}
	/* fchmod: the umask must not widen or narrow what the original had. */
	if (fchmod(fd, mode & 0777) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		e = errno;
		close(fd);
		(void)unlinkat(dirfd, tmp, 0);
		*err_r = xasprintf("write(%s): %s", tmp, strerror(e));
		return -1;
	}
	if (close(fd) < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
		e = errno;
		(void)unlinkat(dirfd, tmp, 0);
		*err_r = xasprintf("rename(%s, %s): %s", tmp, name, strerror(e));
		return -1;
	}
	if (fsync(dirfd) < 0) {
		*err_r = xasprintf("fsync(directory of %s): %s", name, strerror(errno));
		return -1;
	}
	return 0;
}
