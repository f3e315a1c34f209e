#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "fnv.h"
#include "lock.h"
#include "xalloc.h"

/* offset: FNV-1a of KEY, 62 bits (l_start + l_len stays below OFF_MAX). */
static off_t offset(const char *key)
{
	return (off_t)(fnv1a64(key) >> 2);
}

int smd_lock_take(const char *db_path, const char *key, char **err_r)
{
	char *path;

	if (db_is_url(db_path)) {
		/* Never a file named after a URL in the working directory. */
		*err_r = xasprintf("state_database is a postgresql:// URL: there is no mailbox "
				   "lock file beside it (the workers' leases lock mailboxes)");
		return -1;
	}
	path = xasprintf("%s.smd-lock", db_path);
	/* O_NOFOLLOW, O_NONBLOCK: a link or a FIFO planted here is refused,
	 * never followed or waited on. */
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	struct stat st;
	struct flock fl;

	if (fd < 0) {
		*err_r = errno == ELOOP ? xasprintf("%s is a symbolic link: refusing it (remove it)",
						    path)
					: xasprintf("open(%s): %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    st.st_uid != geteuid()) {
		*err_r = xasprintf("%s is not a plain file of ours (a FIFO, a hard link or another "
				   "user's file): refusing it (remove it)",
				   path);
		close(fd);
		free(path);
		return -1;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = offset(key);
	fl.l_len = 1;
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		int e = errno;

		close(fd);
		if (e == EAGAIN || e == EACCES) {
			free(path);
			return SMD_LOCK_BUSY;
		}
		*err_r = xasprintf("fcntl(%s, F_OFD_SETLK): %s", path, strerror(e));
		free(path);
		return -1;
	}
	free(path);
	return fd;
}
